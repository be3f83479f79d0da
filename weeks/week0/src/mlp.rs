//! # Day 4: an MLP language model (Bengio et al. 2003)
//!
//! Predict the next character from the previous `block_size` characters (3 here). Each
//! character is looked up in an embedding table `C: [27, n_embd]`; the `block_size` embeddings
//! are concatenated into one vector of length `block_size · n_embd`, passed through a tanh
//! hidden layer and a linear layer to 27 logits:
//!
//! ```text
//! emb    = C[X]                      [B, block, n_embd]  → view as [B, block·n_embd]
//! h      = tanh(emb @ W1 + b1)       [B, n_hidden]
//! logits = h @ W2 + b2               [B, 27]
//! ```
//!
//! Weights are `[in, out]` (input times weight, as in the lecture; candle-nn's `Linear` stores
//! the transpose). All tensors are f32. Rules for the day: no `candle_nn::ops::softmax*`,
//! `log_softmax` or `candle_nn::loss` (you wrote them yesterday), no `candle_nn::BatchNorm`.
#![allow(unused_variables, unused_imports, dead_code)] // remove once you have solved a few

use super::util::{randn, stoi, VOCAB};
use candle_core::{Device, Result, Tensor, Var, D};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// The parameters of the MLP language model.
#[derive(Clone)]
pub struct MlpParams {
    /// Embedding table `[27, n_embd]`.
    pub c: Tensor,
    /// `[block · n_embd, n_hidden]`
    pub w1: Tensor,
    /// `[n_hidden]`
    pub b1: Tensor,
    /// `[n_hidden, 27]`
    pub w2: Tensor,
    /// `[27]`
    pub b2: Tensor,
}

/// ## dataset
/// The training examples of a context-`block_size` model: for every name, start with a
/// context of `block_size` zeros (`...`); for each character of the name followed by the end
/// marker, emit (context, character) and slide the context left by one, appending the
/// character. `emma` with block 3 gives `... → e`, `..e → m`, `.em → m`, `emm → a`,
/// `mma → .`. Returns `X: [n, block_size]` and `Y: [n]`, both u32 on `dev`.
pub fn build_dataset(words: &[String], block_size: usize, dev: &Device) -> Result<(Tensor, Tensor)> {
    todo!()
}

/// ## forward
/// The logits `[B, 27]` of the model for contexts `x: [B, block]` (u32), as in the module doc.
/// Gather the embeddings with `index_select` on the flattened `x`, then `reshape` to
/// `[B, block · n_embd]` (row-major: the first character's embedding first), `matmul`,
/// `broadcast_add`, `tanh`.
pub fn mlp_forward(p: &MlpParams, x: &Tensor) -> Result<Tensor> {
    todo!()
}

/// ## cross_entropy
/// `F.cross_entropy(logits, y)`: the mean over the batch of `-log_softmax(logits)[b, y[b]]`
/// for `logits: [B, C]` and `y: [B]` u32, as a scalar tensor; numerically stable
/// (`l - max - ln Σ exp(l - max)`) and differentiable.
pub fn cross_entropy(logits: &Tensor, y: &Tensor) -> Result<Tensor> {
    todo!()
}

/// ## init
/// A well-initialised model (draw in this order with [`randn`]: `C`, `W1`, `b1`, `W2`, `b2`):
///
/// - `C ~ N(0, 1)`;
/// - `W1 ~ N(0, σ²)` with Kaiming's `σ = (5/3) / √(block · n_embd)`: the gain 5/3 makes up for
///   tanh squashing, `1/√fan_in` keeps the pre-activations at unit scale, so the tanh units
///   are neither saturated (dead gradients) nor linear;
/// - `b1 ~ N(0, 0.01²)`;
/// - `W2 ~ N(0, 0.01²)` and `b2 = 0` (zeros): the initial logits are almost equal, so the
///   model starts out predicting the uniform distribution and the initial loss is `ln 27 ≈ 3.30`
///   instead of the ~20 of a `N(0, 1)` output layer ("the initial-loss fix").
///
/// Draw `b2` too (`randn` with std 0), so that the sequence of draws is fixed.
pub fn init_mlp(n_embd: usize, n_hidden: usize, block: usize, rng: &mut ChaCha8Rng, dev: &Device) -> Result<MlpParams> {
    todo!()
}

/// ## batchnorm
/// `nn.BatchNorm1d` in training mode on `x: [B, d]`: normalise each column with the batch
/// mean and the *biased* batch variance (divide by B), then scale and shift:
/// `y = gamma · (x - mean) / √(var + eps) + beta`. Also return the updated running statistics:
/// `running_mean ← (1 - momentum) · running_mean + momentum · mean` and the same for
/// `running_var` with the *unbiased* batch variance (divide by B - 1), as PyTorch does.
/// Returns `(y, new_running_mean, new_running_var)`; all `[d]` except `y`.
pub fn batchnorm_train(
    x: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    running_mean: &Tensor,
    running_var: &Tensor,
    momentum: f64,
    eps: f64,
) -> Result<(Tensor, Tensor, Tensor)> {
    todo!()
}

/// `nn.BatchNorm1d` in evaluation mode: as [`batchnorm_train`] with the running statistics in
/// place of the batch's: `y = gamma · (x - running_mean) / √(running_var + eps) + beta`.
pub fn batchnorm_eval(x: &Tensor, gamma: &Tensor, beta: &Tensor, running_mean: &Tensor, running_var: &Tensor, eps: f64) -> Result<Tensor> {
    todo!()
}

/// ## train_long
/// Train the MLP language model on `train = (X, Y)` and return the trained parameters and
/// their loss on `dev = (X, Y)` (all of it, one forward pass). You choose everything: sizes
/// (the lecture: `n_embd = 10`, `n_hidden = 200`), initialisation ([`init_mlp`]), batch size,
/// optimiser (plain SGD with a learning-rate decay reaches it; `candle_nn::AdamW` is allowed
/// here and gets there in fewer steps), number of steps. Draw minibatch indices from `rng`.
/// Target: dev loss ≤ 2.2 within 10 minutes (`--long`).
/// Call `candlecamp::progress(step, steps, loss)` once a step (the step counting from 0, the
/// loss as a number): the grader shows the step, the loss and the time left while it runs.
pub fn train_mlp(train: &(Tensor, Tensor), dev: &(Tensor, Tensor), rng: &mut ChaCha8Rng) -> Result<(MlpParams, f32)> {
    todo!()
}
