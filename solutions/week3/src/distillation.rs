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
// STUB: #![allow(unused_variables, unused_imports, unused_mut, dead_code)] // remove once you have solved a few

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
// HINT: Soften both distributions with the same temperature, compare them with a KL divergence averaged over rows (not over every element), scale it by the temperature squared, and keep the teacher out of the graph; the hard-label part uses the student's raw logits.
// HINT: n = the number of rows; ls = log_softmax(student / T) and lt = log_softmax(teacher.detach() / T) over the last dimension; kl = Σ exp(lt) · (lt − ls) over everything, divided by n; ce = candle_nn::loss::cross_entropy(student, targets); return alpha · T² · kl + (1 − alpha) · ce.
// HINT: let kl = ((lt.exp()? * (&lt - &ls)?)?.sum_all()? / n)?; (kl * (alpha * temperature * temperature))? + (ce * (1.0 - alpha))?
pub fn distill_loss(student: &Tensor, teacher: &Tensor, targets: &Tensor, temperature: f64, alpha: f64) -> Result<Tensor> {
    // BEGIN SOLUTION
    let n = student.dim(0)? as f64;
    let ls = log_softmax(&(student / temperature)?, D::Minus1)?;
    let lt = log_softmax(&(teacher.detach() / temperature)?, D::Minus1)?;
    let kl = ((lt.exp()? * (&lt - &ls)?)?.sum_all()? / n)?;
    let ce = candle_nn::loss::cross_entropy(student, targets)?;
    (kl * (alpha * temperature * temperature))? + (ce * (1.0 - alpha))?
    // END SOLUTION
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

// HINT(distill): Nothing new to write: your train runs twice on a half-width GPT, once on the labels alone and once through the distilled loss against week 3's saved char-GPT; the distilled student must end better.
// HINT(distill): It needs week 3's saved char-GPT (baby_gpt writes it). If the distilled run is worse, check distill_loss: both logits divided by the same T before the log-softmax, the KL averaged over rows, the factor T², the teacher detached (Distilled runs it without dropout).
// HINT(distill): The soft term: ((lt.exp()? * (&lt - &ls)?)?.sum_all()? / n)? * (alpha * temperature * temperature); without the T² the soft term's gradients are T² times too small.
