//! # Memorisation
//!
//! A model trained too long on too little data learns its training set by heart, and that
//! shows from the outside. Two ways to see it:
//!
//! - *extraction* (Carlini et al. 2021): sample from the model and count the samples found
//!   verbatim in the training set, against a held-out set of the same size from the same
//!   distribution;
//! - *membership inference* by a loss threshold (Yeom et al. 2018): a training example has a
//!   lower loss than a new one, so "loss below τ" is a guess that the example was trained on.
//!   Sweeping τ traces a ROC curve (true-positive against false-positive rate); its area says
//!   how well membership leaks (0.5: not at all).
//!
//! The model is the names language model of the steering day (your `AttnOnly::run`), trained
//! on only 2,000 names for 6,000 steps: its training loss is 1.39 nats per token, its held-out
//! loss 3.87.
#![allow(unused_variables, unused_imports, unused_mut, dead_code)] // remove once you have solved a few

use super::hooks::{AttnOnly, Hooks};
use candle_core::{DType, Device, Result, Tensor, D};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// ## name_losses
/// Each name's mean loss per predicted token `[b]` for names `[b, 25]` (`.` + letters + `.`,
/// padded with 0): the cross-entropy of predicting token `i + 1` from position `i`, for `i` from
/// 0 up to and including the prediction of the closing `.` (a name of `k` letters has `k + 1`
/// predictions).
pub fn name_losses(model: &AttnOnly, names: &Tensor) -> Result<Tensor> {
    todo!()
}

/// ## sample_name
/// One name sampled from the model: start from `.` (a `[1, 25]` row of zeros); at step `i`
/// (from 0) take the softmax of the logits at position `i` over the 27 tokens names use (`.`
/// and `a`..`z`, logits 0..27: the other rows of the vocabulary are never used), draw
/// `u = rng.random::<f32>()` and pick the first token whose cumulative probability exceeds `u`
/// (the last token if none does); stop at `.` or after 24 letters. The letters, as a `String`.
pub fn sample_name(model: &AttnOnly, rng: &mut ChaCha8Rng, dev: &Device) -> Result<String> {
    todo!()
}

/// A ROC curve: false- and true-positive rates at every threshold, and the area under it.
#[derive(Clone, Debug, PartialEq)]
pub struct Roc {
    pub fpr: Vec<f64>,
    pub tpr: Vec<f64>,
    pub auc: f64,
}

/// ## roc
/// The ROC curve of the guess "member when score ≥ τ", for `members`' and `others`' scores,
/// as scikit-learn's `roc_curve(drop_intermediate=False)` draws it: a first point (0, 0), then
/// one point per distinct score, from the highest down, each the rates of scores ≥ it; the
/// area by the trapezoid rule over those points.
pub fn roc(members: &[f32], others: &[f32]) -> Roc {
    todo!()
}
