//! # Active learning
//!
//! Labels are the expensive part of supervised learning: someone has to look at each image.
//! Active learning lets the model choose what to label next. Train on what is labelled, score
//! every unlabelled example by how unsure the model is about it, label the most uncertain
//! ones, retrain, repeat. Three classic uncertainty scores (Settles 2009, "Active Learning
//! Literature Survey") are the exercises, each larger when the model is less sure:
//!
//! - **entropy** of the predicted distribution, `−Σ_c p_c ln p_c`;
//! - **margin**: the negated gap between the two most likely classes, `−(p_top1 − p_top2)`;
//! - **least confidence**: `1 − max_c p_c`.
//!
//! The model is the small MNIST CNN of the adversarial day, retrained from scratch each round
//! by your `robust_training` (without an attack). Probabilities are `[n, C]` f32 rows that sum
//! to 1; they may hold exact zeros.
#![allow(unused_variables, unused_imports, unused_mut, dead_code)] // remove once you have solved a few

use super::adversarial::{accuracy, robust_training, Cnn};
use candle_core::{Result, Tensor, D};
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

/// ## entropy
/// The entropy of each row of `probs` `[n, C]`, in nats: `−Σ_c p_c · ln p_c` → `[n]`, with
/// `0 · ln 0 = 0` (the limit), so a one-hot row scores exactly 0 and never NaN.
pub fn entropy(probs: &Tensor) -> Result<Tensor> {
    todo!()
}

/// ## margin
/// The margin score of each row of `probs` `[n, C]` (C ≥ 2): `−(p_top1 − p_top2)`, the
/// negated difference between the largest and the second-largest probability → `[n]`. A row
/// whose two best classes are nearly tied scores near 0, the highest possible; a confident
/// row scores near −1.
pub fn margin(probs: &Tensor) -> Result<Tensor> {
    todo!()
}

/// ## least_confidence
/// The least-confidence score of each row of `probs` `[n, C]`: `1 − max_c p_c` → `[n]`.
pub fn least_confidence(probs: &Tensor) -> Result<Tensor> {
    todo!()
}

/// ## select
/// The `k` unlabelled examples with the highest `scores`: indices `i` with `labelled[i]`
/// false, ordered by score from the highest (ties: the lower index first), the first `k` of
/// them (fewer if fewer are unlabelled).
pub fn select(scores: &[f32], labelled: &[bool], k: usize) -> Vec<usize> {
    todo!()
}

/// How to choose the next examples to label.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Acquisition {
    /// `k` unlabelled examples uniformly at random: the baseline.
    Random,
    Entropy,
    Margin,
    LeastConfidence,
}

/// ## query
/// The `k` pool examples to label next. For `Random`: shuffle the unlabelled indices (in
/// increasing order) with `shuffle(rng)` (rand's `SliceRandom`) and keep the first `k`. For an
/// uncertainty score: the model's probabilities on the pool images `x` `[n, 784]` (a softmax
/// over its logits), scored by the acquisition's function above, then `select`.
pub fn query(model: &Cnn, x: &Tensor, labelled: &[bool], k: usize, acq: Acquisition, rng: &mut ChaCha8Rng) -> Result<Vec<usize>> {
    todo!()
}

/// The schedule of an active-learning run (the grader passes `ActiveConfig::default()`).
#[derive(Clone, Debug)]
pub struct ActiveConfig {
    /// Randomly labelled examples to start from.
    pub start: usize,
    /// Examples labelled per round.
    pub per_round: usize,
    /// Models trained (and accuracies measured); the last one is not followed by a query.
    pub rounds: usize,
    /// Epochs of `robust_training` per model.
    pub epochs: usize,
}

impl Default for ActiveConfig {
    fn default() -> Self {
        ActiveConfig { start: 100, per_round: 100, rounds: 10, epochs: 30 }
    }
}

/// ## active_learning
/// The whole procedure on a pool `x` `[n, 784]`, `y` `[n]` (u32) with a held-out test set.
/// Start from `cfg.start` random labels: shuffle the indices `0..n` with `shuffle(rng)` and
/// label the first `cfg.start`. Then `cfg.rounds` times: train a fresh CNN with
/// `robust_training` (no attack, `cfg.epochs` epochs, `rng`) on the labelled examples (in
/// increasing index order), record `(labels used, its accuracy on the test set)`, and, except
/// after the last round, label `query(…, cfg.per_round, acq, rng)` more. Return the curve.
pub fn active_learning(
    x: &Tensor,
    y: &Tensor,
    test_x: &Tensor,
    test_y: &Tensor,
    acq: Acquisition,
    cfg: &ActiveConfig,
    rng: &mut ChaCha8Rng,
) -> Result<Vec<(usize, f64)>> {
    todo!()
}
