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
// STUB: #![allow(unused_variables, unused_imports, dead_code)] // remove once you have solved a few

use super::util::{randn, stoi, VOCAB};
use candle_core::{Device, Result, Tensor, Var, D};
use rand_chacha::ChaCha8Rng;

/// ## pairs
/// The training set of the bigram network: for every pair `(a, b)` of the framed names (as on
/// day 2, in order: name by name, left to right), `xs` holds `a` and `ys` holds `b`, both as u32
/// tensors of shape `[M]` on `dev`. names.txt gives M = 228,146 pairs.
// HINT: Each name gives one example per character plus one for the end marker: the input is the previous character (the start marker at first) and the target is the character that follows, name by name, left to right.
// HINT: Loop over the names with prev = 0; for each stoi index c of the name followed by 0, push prev to xs and c to ys, then set prev = c. Build both tensors with Tensor::from_vec(v, m, dev) from Vec<u32>, so that they are u32.
// HINT: for c in w.chars().map(stoi).chain(std::iter::once(0)) { xs.push(prev); ys.push(c as u32); prev = c as u32; }
pub fn bigram_pairs(words: &[String], dev: &Device) -> Result<(Tensor, Tensor)> {
    // BEGIN SOLUTION
    let (mut xs, mut ys) = (Vec::new(), Vec::new());
    for w in words {
        let mut prev = 0u32;
        for c in w.chars().map(stoi).chain(std::iter::once(0)) {
            xs.push(prev);
            ys.push(c as u32);
            prev = c as u32;
        }
    }
    let m = xs.len();
    Ok((Tensor::from_vec(xs, m, dev)?, Tensor::from_vec(ys, m, dev)?))
    // END SOLUTION
}

/// ## softmax
/// Softmax over the last axis of `logits: [n, c]`: `exp(l - max) / Σ exp(l - max)` per row.
/// Subtracting the row maximum changes nothing mathematically (it cancels) but keeps `exp` from
/// overflowing on large logits (try 1000). Use `max_keepdim`, `broadcast_sub`, `exp`,
/// `sum_keepdim`, `broadcast_div`.
// HINT: Subtract each row's largest value before exponentiating: the result is unchanged, but no exponential can overflow; every reduction keeps its axis so that the row statistic broadcasts back over the row.
// HINT: max_keepdim(D::Minus1) gives [n, 1]; broadcast_sub it, exp, then divide by sum_keepdim(D::Minus1) with broadcast_div. The maximum is a constant shift, so it may be detached.
// HINT: let m = logits.max_keepdim(D::Minus1)?.detach(); let e = logits.broadcast_sub(&m)?.exp()?; e.broadcast_div(&e.sum_keepdim(D::Minus1)?)
pub fn softmax(logits: &Tensor) -> Result<Tensor> {
    // BEGIN SOLUTION
    let m = logits.max_keepdim(D::Minus1)?.detach();
    let e = logits.broadcast_sub(&m)?.exp()?;
    e.broadcast_div(&e.sum_keepdim(D::Minus1)?)
    // END SOLUTION
}

/// ## loss
/// The mean cross-entropy of the network `W: [27, 27]` on pairs `xs`, `ys` (u32 `[M]`):
/// `logits = W[xs]` (row indexing: `index_select`), then
/// `loss = -(1/M) Σ_m ln softmax(logits)[m, ys[m]]`, a scalar tensor. For stability compute
/// the log-probabilities as `l - max - ln Σ exp(l - max)` rather than `ln(softmax)`; pick the
/// entries with `gather` on `ys` reshaped to `[M, 1]`. It must be differentiable with respect to
/// `W` (the grader compares your gradient with PyTorch's).
// HINT: Picking row x of W is what multiplying a one-hot vector by W does; after that you only need the log-probability of the true next character in each row, computed as a log-softmax so that tiny probabilities never round to zero before the logarithm.
// HINT: logits = w.index_select(xs, 0) gives [M, 27]; shifted = logits − row max (max_keepdim, broadcast_sub); lse = ln Σ exp(shifted) (exp, sum_keepdim, log); logp = shifted − lse (broadcast_sub); pick the targets with gather on ys.unsqueeze(1) along axis 1; then mean_all and neg.
// HINT: let picked = shifted.broadcast_sub(&lse)?.gather(&ys.unsqueeze(1)?, 1)?; picked.mean_all()?.neg()
pub fn nll_loss(w: &Tensor, xs: &Tensor, ys: &Tensor) -> Result<Tensor> {
    // BEGIN SOLUTION
    let logits = w.index_select(xs, 0)?;
    let m = logits.max_keepdim(D::Minus1)?.detach();
    let shifted = logits.broadcast_sub(&m)?;
    let lse = shifted.exp()?.sum_keepdim(D::Minus1)?.log()?;
    let logp = shifted.broadcast_sub(&lse)?;
    let picked = logp.gather(&ys.unsqueeze(1)?, 1)?;
    picked.mean_all()?.neg()
    // END SOLUTION
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
// HINT: W must be a Var so that backward has something to differentiate with respect to; each step reads W's gradient from the returned gradient store and moves W against it, with a large learning rate because the gradients are small.
// HINT: w = Var::from_tensor(&randn(rng, &[27, 27], 1.0, xs.device())?); per step: loss = nll_loss(w.as_tensor(), xs, ys), record loss.to_scalar::<f32>() and call candlecamp::progress, grads = loss.backward()?, g = grads.get(w.as_tensor()), then w.set(..). lr = 50 and a few hundred steps; return w.as_tensor().detach() and the losses.
// HINT: w.set(&(w.as_tensor() - (g * lr)?)?)? with g = grads.get(w.as_tensor()).ok_or_else(|| candle_core::Error::Msg("no gradient for W".into()))?
pub fn train(xs: &Tensor, ys: &Tensor, rng: &mut ChaCha8Rng) -> Result<(Tensor, Vec<f32>)> {
    // BEGIN SOLUTION
    let w = Var::from_tensor(&randn(rng, &[VOCAB, VOCAB], 1.0, xs.device())?)?;
    let mut losses = Vec::new();
    for step in 0..STEPS {
        let loss = nll_loss(w.as_tensor(), xs, ys)?;
        losses.push(loss.to_scalar::<f32>()?);
        candlecamp::progress(step, STEPS, losses[step]);
        let grads = loss.backward()?;
        let g = grads.get(w.as_tensor()).ok_or_else(|| candle_core::Error::Msg("no gradient for W".into()))?;
        w.set(&(w.as_tensor() - (g * LR)?)?)?;
    }
    Ok((w.as_tensor().detach(), losses))
    // END SOLUTION
}
// BEGIN SOLUTION ONLY
const STEPS: usize = 300;
const LR: f64 = 50.0;
// END SOLUTION
