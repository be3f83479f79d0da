//! # Distillation
//!
//! A small *student* model learns from a large *teacher* (Hinton, Vinyals & Dean 2015): besides
//! the one correct next character, the teacher's whole distribution says which other characters
//! were plausible ("dark knowledge"), a richer signal per example than the hard label. Both
//! distributions are softened by a temperature `T > 1` so that the small probabilities matter,
//! and the KL term is scaled by `T²` so that its gradients keep their size as `T` changes.
//!
//! The student here is your week-3 GPT at half the teacher's width, trained by your own `train`
//! through the given [`Distilled`] model, whose loss is your `distill_loss`.
#![allow(unused_variables, unused_imports, unused_mut, dead_code)] // remove once you have solved a few

use super::chargpt::CharGpt;
use super::model::Model;
use candle_core::{Result, Tensor, Var, D};
use candle_nn::ops::log_softmax;
use rand_chacha::ChaCha8Rng;

/// ## distill_loss
/// `alpha · T² · KL(p_t ‖ p_s) + (1 − alpha) · CE(student, targets)` for logits `student` and
/// `teacher` `[N, V]` and `targets` `[N]` (u32), where `p = softmax(logits / T)` over the
/// vocabulary, `KL(p_t ‖ p_s) = Σ_v p_t · (log p_t − log p_s)` summed over the vocabulary and
/// averaged over the `N` rows (torch's `reduction="batchmean"`), and `CE` is the mean
/// cross-entropy of the student's unsoftened logits. No gradient may flow into `teacher`
/// (detach it). A scalar.
pub fn distill_loss(student: &Tensor, teacher: &Tensor, targets: &Tensor, temperature: f64, alpha: f64) -> Result<Tensor> {
    todo!()
}

/// A student trained towards a frozen teacher, as a [`Model`] your `train` can train (given):
/// its variables are the student's, its loss is `distill_loss` of the student's logits against
/// the teacher's (evaluation mode) on the same batch.
pub struct Distilled<'a> {
    pub student: &'a CharGpt,
    pub teacher: &'a CharGpt,
    pub temperature: f64,
    pub alpha: f64,
}

impl Model for Distilled<'_> {
    fn vars(&self) -> Vec<(String, Var)> {
        self.student.vars()
    }

    fn loss(&self, x: &Tensor, y: &Tensor, train: bool, rng: &mut ChaCha8Rng) -> Result<Tensor> {
        let s = self.student.forward(x, train, rng)?;
        let t = self.teacher.forward(x, false, rng)?.detach();
        distill_loss(&s.flatten_to(1)?, &t.flatten_to(1)?, &y.flatten_all()?, self.temperature, self.alpha)
    }
}
