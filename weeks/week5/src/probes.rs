//! # Linear probes
//!
//! Does a layer's residual stream *know* something? Train a linear classifier (a *probe*) to
//! read it off the activations: if a logistic regression on layer `l`'s vectors predicts the
//! property on held-out data, the information is there, linearly. Accuracy alone can mislead: a
//! probe on 64 dimensions can memorise a lot. Hewitt & Liang (2019) pair each probe with a
//! *control task*, the same samples with labels that are a random function of the token type,
//! learnable only by memorising which token is where. *Selectivity*, accuracy on the task minus
//! accuracy on the control, says how much the probe found rather than memorised.
//!
//! The model is the attention-only transformer of the hooks day, on sequences like those it was
//! trained on (a block of 4 to 12 random tokens repeated). The property: *has the current token
//! appeared before in this sequence?*, which the model needs for induction.
#![allow(unused_variables, unused_imports, unused_mut, dead_code)] // remove once you have solved a few

use super::hooks::{AttnOnly, Hooks, STREAM};
use candle_core::{DType, Result, Tensor, Var};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};

/// ## probe_features
/// The activations at hook point `point` (one of the residual-stream points of
/// [`STREAM`]) of a recording run on `tokens` `[b, t]`, positions `1..t` (not BOS), as samples
/// `[b · (t − 1), 64]`, sequence-major.
pub fn probe_features(model: &AttnOnly, tokens: &Tensor, point: &str) -> Result<Tensor> {
    todo!()
}

/// ## probe_labels
/// Labels for the samples of [`probe_features`], `[b · (t − 1)]` f32 (0 or 1):
/// `repeat_labels`: 1 when the token at position `i` also stands at some position `1..i`
/// before it (BOS at 0 does not count). `control_labels`: `table[token at i]`.
pub fn repeat_labels(tokens: &Tensor) -> Result<Tensor> {
    todo!()
}

/// See [`repeat_labels`].
pub fn control_labels(tokens: &Tensor, table: &[u32]) -> Result<Tensor> {
    todo!()
}

/// A linear probe: `w` `[d]`, `b` `[1]`; the logit of sample `x` is `x · w + b`.
pub struct Probe {
    pub w: Tensor,
    pub b: Tensor,
}

impl Probe {
    /// Logits `[n]` of samples `x` `[n, d]` (given).
    pub fn logits(&self, x: &Tensor) -> Result<Tensor> {
        x.matmul(&self.w.unsqueeze(1)?)?.squeeze(1)?.broadcast_add(&self.b)
    }

    /// The share of samples whose logit has the sign of their label (logit > 0 means 1) (given).
    pub fn accuracy(&self, x: &Tensor, y: &Tensor) -> Result<f64> {
        let pred = self.logits(x)?.gt(0.0)?.to_dtype(DType::F32)?;
        Ok(pred.eq(y)?.to_dtype(DType::F32)?.mean_all()?.to_scalar::<f32>()? as f64)
    }
}

/// ## train_probe
/// Logistic regression as scikit-learn fits it with `C = c`: minimise the mean binary
/// cross-entropy of `sigmoid(x · w + b)` against `y` plus `‖w‖² / (2 · c · n)` (the bias is not
/// penalised), for samples `x` `[n, d]` and labels `y` `[n]`. Start from zeros and take `steps`
/// full-batch steps of Adam (`lr`, betas 0.9 and 0.999, eps 1e-8, no weight decay: candle's
/// `AdamW` with `weight_decay: 0.0` is Adam). Compute the cross-entropy from the logits in the
/// stable form `max(z, 0) − z y + log(1 + e^(−|z|))`.
pub fn train_probe(x: &Tensor, y: &Tensor, c: f64, lr: f64, steps: usize) -> Result<Probe> {
    todo!()
}

/// One row of [`probe_table`]: train and test accuracy of the probe on the task and on the
/// control task.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ProbeRow {
    pub task: (f64, f64),
    pub control: (f64, f64),
}

impl ProbeRow {
    /// Test accuracy on the task minus test accuracy on the control task.
    pub fn selectivity(&self) -> f64 {
        self.task.1 - self.control.1
    }
}

/// ## probe_table
/// For each point of [`STREAM`], in order: features of `tokens`, both label sets (control by
/// `table`), probes trained (`c`, `lr`, `steps` as in [`train_probe`]) on the samples of the
/// first `train` sequences, and their accuracies on those and on the samples of the rest.
pub fn probe_table(model: &AttnOnly, tokens: &Tensor, table: &[u32], train: usize, c: f64, lr: f64, steps: usize) -> Result<Vec<ProbeRow>> {
    todo!()
}
