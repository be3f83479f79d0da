//! # Day 6: a WaveNet-style hierarchical model
//!
//! The MLP of day 4 squashes all `block_size` characters into one hidden layer at once. A
//! WaveNet fuses them gradually, two at a time, in a tree: with a context of 8 characters,
//! layer 1 combines pairs (8 → 4 positions), layer 2 pairs of pairs (4 → 2), layer 3 the last
//! two (2 → 1). Each level is `FlattenConsecutive(2) → Linear (no bias) → BatchNorm → tanh`:
//!
//! ```text
//! x       [B, 8]            u32 contexts
//! emb     [B, 8, n_embd]    C[x]
//! level 1 [B, 4, n_hidden]  flatten_consecutive(·, 2) → [B, 4, 2·n_embd] → @ W → BN → tanh
//! level 2 [B, 2, n_hidden]  flatten_consecutive(·, 2) → [B, 2, 2·n_hidden] → …
//! level 3 [B, n_hidden]     flatten_consecutive(·, 2) → [B, 2·n_hidden] (the middle axis of size 1 is dropped) → …
//! logits  [B, 27]           @ W_out + b_out
//! ```
//!
//! BatchNorm on a 3-D input `[B, T, d]` normalises each of the `d` channels over both the
//! batch and the position axes (the statistics of all `B·T` rows), as in the lecture's fixed
//! `BatchNorm1d`. The linear layers multiply a 3-D input by a 2-D weight: `broadcast_matmul`.
#![allow(unused_variables, unused_imports, dead_code)] // remove once you have solved a few

use super::mlp::cross_entropy;
use super::util::{randn, VOCAB};
use candle_core::{Result, Tensor, Var, D};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// One level: linear weight (no bias) `[in, n_hidden]`, BatchNorm gain and bias `[n_hidden]`
/// and running statistics `[n_hidden]` (used in evaluation mode).
#[derive(Clone)]
pub struct Level {
    pub w: Tensor,
    pub gamma: Tensor,
    pub beta: Tensor,
    pub running_mean: Tensor,
    pub running_var: Tensor,
}

/// The model: embedding table `[27, n_embd]`, the levels in order, output layer.
#[derive(Clone)]
pub struct WaveNet {
    pub c: Tensor,
    pub levels: Vec<Level>,
    pub w_out: Tensor,
    pub b_out: Tensor,
}

/// ## flatten_consecutive
/// `x: [B, T, C]` → `[B, T/n, C·n]`: concatenate every `n` consecutive positions' vectors (row
/// `t` of the result is `x[b, n·t], x[b, n·t + 1], …` one after the other). That is a plain
/// `reshape` of the contiguous tensor — no data moves. When `T/n == 1` return `[B, C·n]` (drop
/// the middle axis). `T` is a multiple of `n`.
/// Example: `[[[1], [2], [3], [4]]]` with `n = 2` → `[[[1, 2], [3, 4]]]`.
pub fn flatten_consecutive(x: &Tensor, n: usize) -> Result<Tensor> {
    todo!()
}

/// ## batchnorm_nd
/// BatchNorm over every axis but the last: `x: [B, d]` or `[B, T, d]`. Training mode: the
/// mean and the *biased* variance of each channel over all other axes; evaluation mode
/// (`training == false`): the level's running statistics instead. Then
/// `gamma · (x - mean) / √(var + 1e-5) + beta`. Running statistics are not updated here.
pub fn batchnorm_nd(x: &Tensor, level: &Level, training: bool) -> Result<Tensor> {
    todo!()
}

/// ## forward
/// The logits `[B, 27]` of the WaveNet for `x: [B, 8]` (u32), as in the module doc, with
/// BatchNorm in training or evaluation mode.
pub fn wavenet_forward(m: &WaveNet, x: &Tensor, training: bool) -> Result<Tensor> {
    todo!()
}

/// ## train_long
/// Train a WaveNet on `train = (X, Y)` (contexts of 8) and return it with its dev loss
/// (evaluation mode, all of `dev` at once). You choose the sizes (the lecture: `n_embd = 24`,
/// `n_hidden = 128`, three levels), the initialisation (Kaiming for the levels' weights, a
/// small output layer), batch size, optimiser and steps; draw batches from `rng`. Before
/// evaluating, set each level's running statistics: either update them during training
/// (momentum 0.001 in the lecture) or compute them once afterwards over a large sample of the
/// training set. Target: dev loss ≤ 2.03 (`--long`).
/// Call `candlecamp::progress(step, steps, loss)` once a step (the step counting from 0, the
/// loss as a number): the grader shows the step, the loss and the time left while it runs.
pub fn train_wavenet(train: &(Tensor, Tensor), dev: &(Tensor, Tensor), rng: &mut ChaCha8Rng) -> Result<(WaveNet, f32)> {
    todo!()
}
