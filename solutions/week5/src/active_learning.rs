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
// STUB: #![allow(unused_variables, unused_imports, unused_mut, dead_code)] // remove once you have solved a few

use super::adversarial::{accuracy, robust_training, Cnn};
use candle_core::{Result, Tensor, D};
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

/// ## entropy
/// The entropy of each row of `probs` `[n, C]`, in nats: `−Σ_c p_c · ln p_c` → `[n]`, with
/// `0 · ln 0 = 0` (the limit), so a one-hot row scores exactly 0 and never NaN.
// HINT: The uniform distribution is the most uncertain and a one-hot one the least; the only trap is a probability of exactly zero, whose logarithm is minus infinity although its term contributes nothing.
// HINT: Clamp the probabilities to a tiny positive minimum (say 1e-30) before the log, so that a zero's term is 0 · (a large negative number) = 0; multiply by the probabilities, sum over dim 1 and negate.
// HINT: (probs * probs.clamp(1e-30f32, 1f32)?.log()?)?.sum(1)?.neg()
pub fn entropy(probs: &Tensor) -> Result<Tensor> {
    // BEGIN SOLUTION
    let plogp = (probs * probs.clamp(1e-30f32, 1f32)?.log()?)?;
    plogp.sum(1)?.neg()
    // END SOLUTION
}

/// ## margin
/// The margin score of each row of `probs` `[n, C]` (C ≥ 2): `−(p_top1 − p_top2)`, the
/// negated difference between the largest and the second-largest probability → `[n]`. A row
/// whose two best classes are nearly tied scores near 0, the highest possible; a confident
/// row scores near −1.
// HINT: Only the two most likely classes matter: when they are close, the model cannot decide between them, whatever the other classes do. Negate the gap so that larger means less sure.
// HINT: Sort each row in descending order (sort_last_dim(false) returns the sorted values and their indices), take the first two columns with narrow, and subtract.
// HINT: let (sorted, _) = probs.sort_last_dim(false)?; (sorted.narrow(1, 1, 1)? - sorted.narrow(1, 0, 1)?)?.squeeze(1)
pub fn margin(probs: &Tensor) -> Result<Tensor> {
    // BEGIN SOLUTION
    let (sorted, _) = probs.contiguous()?.sort_last_dim(false)?;
    (sorted.narrow(1, 1, 1)? - sorted.narrow(1, 0, 1)?)?.squeeze(1)
    // END SOLUTION
}

/// ## least_confidence
/// The least-confidence score of each row of `probs` `[n, C]`: `1 − max_c p_c` → `[n]`.
// HINT: A model that gives its favourite class a low probability is unsure; subtract that probability from one so that larger means less sure.
// HINT: The maximum over dim 1, then affine(-1, 1).
// HINT: probs.max(D::Minus1)?.affine(-1.0, 1.0)
pub fn least_confidence(probs: &Tensor) -> Result<Tensor> {
    // BEGIN SOLUTION
    probs.max(D::Minus1)?.affine(-1.0, 1.0)
    // END SOLUTION
}

/// ## select
/// The `k` unlabelled examples with the highest `scores`: indices `i` with `labelled[i]`
/// false, ordered by score from the highest (ties: the lower index first), the first `k` of
/// them (fewer if fewer are unlabelled).
// HINT: Labelled examples are out of the running, whatever their score; among the rest, sort by score from the highest and keep the first k.
// HINT: Collect the indices i with !labelled[i], sort them by scores[i] descending (sort_by with partial_cmp, reversed; a stable sort keeps lower indices first on ties), truncate to k.
// HINT: free.sort_by(|&a, &b| scores[b].partial_cmp(&scores[a]).unwrap_or(std::cmp::Ordering::Equal)); free.truncate(k);
pub fn select(scores: &[f32], labelled: &[bool], k: usize) -> Vec<usize> {
    // BEGIN SOLUTION
    let mut free: Vec<usize> = (0..scores.len()).filter(|&i| !labelled[i]).collect();
    free.sort_by(|&a, &b| scores[b].partial_cmp(&scores[a]).unwrap_or(std::cmp::Ordering::Equal));
    free.truncate(k);
    free
    // END SOLUTION
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
// HINT: The model's logits become probabilities with a softmax over the classes; then one of your three scores, and select picks the most uncertain unlabelled examples. The random baseline never looks at the model.
// HINT: match on the acquisition: Random → the unlabelled indices, shuffle(rng), truncate(k); otherwise probs = candle_nn::ops::softmax(&model.forward(x)?, 1), the score tensor by entropy, margin or least_confidence, to_vec1::<f32>(), and select(&scores, labelled, k).
// HINT: let s = match acq { Acquisition::Entropy => entropy(&probs)?, Acquisition::Margin => margin(&probs)?, _ => least_confidence(&probs)? }; Ok(select(&s.to_vec1::<f32>()?, labelled, k))
pub fn query(model: &Cnn, x: &Tensor, labelled: &[bool], k: usize, acq: Acquisition, rng: &mut ChaCha8Rng) -> Result<Vec<usize>> {
    // BEGIN SOLUTION
    if acq == Acquisition::Random {
        let mut free: Vec<usize> = (0..labelled.len()).filter(|&i| !labelled[i]).collect();
        free.shuffle(rng);
        free.truncate(k);
        return Ok(free);
    }
    let probs = candle_nn::ops::softmax(&model.forward(x)?, 1)?;
    let s = match acq {
        Acquisition::Entropy => entropy(&probs)?,
        Acquisition::Margin => margin(&probs)?,
        _ => least_confidence(&probs)?,
    };
    Ok(select(&s.to_vec1::<f32>()?, labelled, k))
    // END SOLUTION
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
// HINT: Each round starts from scratch: a fresh model trained on every label so far. Only the choice of the next labels differs between the strategies, so everything else, the random start included, must be the same for all of them.
// HINT: labelled: Vec<bool> of n; shuffle (0..n) and mark the first start; per round: ids = the labelled indices as a u32 tensor, xs = x.index_select(&ids, 0), ys likewise; model = robust_training(&xs, &ys, epochs, None, rng); push (ids.len(), accuracy(&model, test_x, test_y)); if not the last round, mark query(&model, x, &labelled, per_round, acq, rng).
// HINT: for i in query(&model, x, &labelled, cfg.per_round, acq, rng)? { labelled[i] = true; }
pub fn active_learning(
    x: &Tensor,
    y: &Tensor,
    test_x: &Tensor,
    test_y: &Tensor,
    acq: Acquisition,
    cfg: &ActiveConfig,
    rng: &mut ChaCha8Rng,
) -> Result<Vec<(usize, f64)>> {
    // BEGIN SOLUTION
    let n = x.dim(0)?;
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(rng);
    let mut labelled = vec![false; n];
    for &i in order.iter().take(cfg.start) {
        labelled[i] = true;
    }
    let mut curve = Vec::with_capacity(cfg.rounds);
    for r in 0..cfg.rounds {
        let ids: Vec<u32> = (0..n).filter(|&i| labelled[i]).map(|i| i as u32).collect();
        let idx = Tensor::new(ids.as_slice(), x.device())?;
        let model = robust_training(&x.index_select(&idx, 0)?, &y.index_select(&idx, 0)?, cfg.epochs, None, rng)?;
        curve.push((ids.len(), accuracy(&model, test_x, test_y)?));
        if r + 1 < cfg.rounds {
            for i in query(&model, x, &labelled, cfg.per_round, acq, rng)? {
                labelled[i] = true;
            }
        }
    }
    Ok(curve)
    // END SOLUTION
}
