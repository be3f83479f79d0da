//! # Day 3: the bigram model as a neural network
//!
//! The same model as day 2, now learned by gradient descent: a `[27, 27]` weight matrix `W`
//! whose row `i` holds the logits (log-counts) of the character after `i`. The input of a
//! one-layer network is the one-hot vector of the previous character, and
//! `one_hot(x) @ W` is simply row `x` of `W`: we index rows (`index_select`) instead of
//! multiplying by one-hot vectors, which is the same computation without the 27× waste.
//! softmax turns logits into probabilities; the loss is the mean negative log-likelihood of
//! the true next characters (cross-entropy). At its minimum the network reproduces the counting
//! model's probabilities, so its loss approaches the counting model's NLL.
//!
//! Rules for the day: `candle_nn::ops::softmax*`, `log_softmax` and `candle_nn::loss` are off
//! limits (write them); everything must stay differentiable (candle's autograd computes
//! the gradient of your loss with respect to `W`).
#![allow(unused_variables, unused_imports, dead_code)] // remove once you have solved a few

use super::util::{randn, stoi, VOCAB};
use candle_core::{Device, Result, Tensor, Var, D};
use rand_chacha::ChaCha8Rng;

/// ## pairs
/// The training set of the bigram network: for every pair `(a, b)` of the framed names (as on
/// day 2, in order: name by name, left to right), `xs` holds `a` and `ys` holds `b`, both as u32
/// tensors of shape `[M]` on `dev`. names.txt gives M = 228,146 pairs.
pub fn bigram_pairs(words: &[String], dev: &Device) -> Result<(Tensor, Tensor)> {
    todo!()
}

/// ## softmax
/// Softmax over the last axis of `logits: [n, c]`: `exp(l - max) / Σ exp(l - max)` per row.
/// Subtracting the row maximum changes nothing mathematically (it cancels) but keeps `exp` from
/// overflowing on large logits (try 1000). Use `max_keepdim`, `broadcast_sub`, `exp`,
/// `sum_keepdim`, `broadcast_div`.
pub fn softmax(logits: &Tensor) -> Result<Tensor> {
    todo!()
}

/// ## loss
/// The mean cross-entropy of the network `W: [27, 27]` on pairs `xs`, `ys` (u32 `[M]`):
/// `logits = W[xs]` (row indexing: `index_select`), then
/// `loss = -(1/M) Σ_m ln softmax(logits)[m, ys[m]]`, a scalar tensor. For stability compute
/// the log-probabilities as `l - max - ln Σ exp(l - max)` rather than `ln(softmax)`; pick the
/// entries with `gather` on `ys` reshaped to `[M, 1]`. It must be differentiable with respect to
/// `W` (the grader compares your gradient with PyTorch's).
pub fn nll_loss(w: &Tensor, xs: &Tensor, ys: &Tensor) -> Result<Tensor> {
    todo!()
}

/// ## train
/// Train the bigram network by plain gradient descent on all pairs at once: start from
/// `W ~ N(0, 1)` drawn with [`randn`]`(rng, &[27, 27], 1.0, xs.device())` as a `Var`, then repeat:
/// loss = [`nll_loss`], `grads = loss.backward()`, `W ← W - lr · grad`. You choose the number
/// of steps and the learning rate (large ones work: the gradient of a row is scaled by how
/// rarely that character occurs; try lr = 50). Return the trained `W` (a plain tensor) and the
/// loss of every step. The grader requires the final full-data loss within 0.01 of the
/// counting model's NLL (k = 0). Runs with `--long`: each full-data step takes a fraction of a
/// second, and a few hundred are needed.
/// Call `candlecamp::progress(step, steps, loss)` once a step (the step counting from 0, the
/// loss as a number): the grader shows the step, the loss and the time left while it runs.
pub fn train(xs: &Tensor, ys: &Tensor, rng: &mut ChaCha8Rng) -> Result<(Tensor, Vec<f32>)> {
    todo!()
}
