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
// STUB: #![allow(unused_variables, unused_imports, dead_code)] // remove once you have solved a few

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
// HINT: In row-major order the n consecutive positions of one example are already stored side by side, so grouping them is only a change of shape; the middle axis disappears when it would have size one.
// HINT: (b, t, c) = x.dims3(); make x contiguous, reshape it to (b, t / n, c * n) and, if t / n == 1, squeeze axis 1.
// HINT: let x = x.contiguous()?.reshape((b, t / n, c * n))?; if t / n == 1 { x.squeeze(1) } else { Ok(x) }
pub fn flatten_consecutive(x: &Tensor, n: usize) -> Result<Tensor> {
    // BEGIN SOLUTION
    let (b, t, c) = x.dims3()?;
    let x = x.contiguous()?.reshape((b, t / n, c * n))?;
    if t / n == 1 {
        x.squeeze(1)
    } else {
        Ok(x)
    }
    // END SOLUTION
}

/// ## batchnorm_nd
/// BatchNorm over every axis but the last: `x: [B, d]` or `[B, T, d]`. Training mode: the
/// mean and the *biased* variance of each channel over all other axes; evaluation mode
/// (`training == false`): the level's running statistics instead. Then
/// `gamma · (x - mean) / √(var + 1e-5) + beta`. Running statistics are not updated here.
// HINT: For a 3-D input each channel's statistics come from all batch and position rows together, not position by position; flatten the leading axes to compute them and broadcast them back onto the original shape.
// HINT: d = x.dim(D::Minus1); training: flat = x.reshape(((), d)), mean = flat.mean(0) and the biased var = (flat − mean)² averaged over axis 0, both [d]; evaluation: the level's running_mean and running_var. Then broadcast_sub, broadcast_div by sqrt(var + 1e-5), broadcast_mul gamma and broadcast_add beta on the original x.
// HINT: x.broadcast_sub(&mean)?.broadcast_div(&(var + 1e-5)?.sqrt()?)?.broadcast_mul(&level.gamma)?.broadcast_add(&level.beta)
pub fn batchnorm_nd(x: &Tensor, level: &Level, training: bool) -> Result<Tensor> {
    // BEGIN SOLUTION
    let d = x.dim(D::Minus1)?;
    let (mean, var) = if training {
        let flat = x.reshape(((), d))?;
        let mean = flat.mean(0)?;
        let var = flat.broadcast_sub(&mean)?.sqr()?.mean(0)?;
        (mean, var)
    } else {
        (level.running_mean.clone(), level.running_var.clone())
    };
    x.broadcast_sub(&mean)?.broadcast_div(&(var + 1e-5)?.sqrt()?)?.broadcast_mul(&level.gamma)?.broadcast_add(&level.beta)
    // END SOLUTION
}

/// ## forward
/// The logits `[B, 27]` of the WaveNet for `x: [B, 8]` (u32), as in the module doc, with
/// BatchNorm in training or evaluation mode.
// HINT: Each level halves the number of positions by fusing neighbours, so after three levels on 8 characters one position remains and the middle axis is gone; the linear layers multiply a 3-D input by a 2-D weight.
// HINT: emb = C[x] with index_select on the flattened x, reshaped to [B, 8, n_embd]; for each level: flatten_consecutive(h, 2) → broadcast_matmul(W) → batchnorm_nd(·, level, training) → tanh; then h.matmul(W_out) and broadcast_add b_out.
// HINT: h = batchnorm_nd(&flatten_consecutive(&h, 2)?.broadcast_matmul(&level.w)?, level, training)?.tanh()?;
pub fn wavenet_forward(m: &WaveNet, x: &Tensor, training: bool) -> Result<Tensor> {
    // BEGIN SOLUTION
    let (b, t) = x.dims2()?;
    let n_embd = m.c.dim(1)?;
    let mut h = m.c.index_select(&x.flatten_all()?, 0)?.reshape((b, t, n_embd))?;
    for level in &m.levels {
        let f = if h.rank() == 3 { flatten_consecutive(&h, 2)? } else { h.clone() };
        h = batchnorm_nd(&f.broadcast_matmul(&level.w)?, level, training)?.tanh()?;
    }
    h.matmul(&m.w_out)?.broadcast_add(&m.b_out)
    // END SOLUTION
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
// HINT: Evaluation mode uses the running statistics, so a well-trained model evaluated with the zeros and ones it started with scores badly: set them from the training data before measuring the dev loss.
// HINT: Three levels with Kaiming weights ((5/3)/√fan_in), gamma ones, beta zeros and a small output layer; n_embd 24, n_hidden 128, AdamW around 2e-3 with cosine decay, batches of 64, tens of thousands of steps, forward in training mode. Afterwards run ~20k training contexts through the levels, store each level's mean and biased variance of its pre-activations as its running statistics, then evaluate dev in evaluation mode.
// HINT: Per level when calibrating: let pre = f.broadcast_matmul(&w)?; let flat = pre.reshape(((), n_hidden))?; running_mean = flat.mean(0)?, running_var = flat.broadcast_sub(&running_mean)?.sqr()?.mean(0)?; then h = batchnorm_nd(&pre, &level, false)?.tanh()? feeds the next level.
pub fn train_wavenet(train: &(Tensor, Tensor), dev: &(Tensor, Tensor), rng: &mut ChaCha8Rng) -> Result<(WaveNet, f32)> {
    // BEGIN SOLUTION
    use candle_nn::{AdamW, Optimizer, ParamsAdamW};
    let device = train.0.device();
    let (n_embd, n_hidden) = (WN_EMBD, WN_HIDDEN);
    let c = Var::from_tensor(&randn(rng, &[VOCAB, n_embd], 1.0, device)?)?;
    let mut level_vars = Vec::new();
    let mut fan_in = 2 * n_embd;
    for _ in 0..3 {
        let w = Var::from_tensor(&randn(rng, &[fan_in, n_hidden], (5.0 / 3.0) / (fan_in as f64).sqrt(), device)?)?;
        let g = Var::from_tensor(&Tensor::ones(n_hidden, candle_core::DType::F32, device)?)?;
        let be = Var::from_tensor(&Tensor::zeros(n_hidden, candle_core::DType::F32, device)?)?;
        level_vars.push((w, g, be));
        fan_in = 2 * n_hidden;
    }
    let w_out = Var::from_tensor(&randn(rng, &[n_hidden, VOCAB], 0.1 / (n_hidden as f64).sqrt(), device)?)?;
    let b_out = Var::from_tensor(&Tensor::zeros(VOCAB, candle_core::DType::F32, device)?)?;
    let zeros = Tensor::zeros(n_hidden, candle_core::DType::F32, device)?;
    let ones = Tensor::ones(n_hidden, candle_core::DType::F32, device)?;
    let build = |rm: &[(Tensor, Tensor)]| WaveNet {
        c: c.as_tensor().clone(),
        levels: level_vars
            .iter()
            .zip(rm)
            .map(|((w, g, b), (m, v))| Level {
                w: w.as_tensor().clone(),
                gamma: g.as_tensor().clone(),
                beta: b.as_tensor().clone(),
                running_mean: m.clone(),
                running_var: v.clone(),
            })
            .collect(),
        w_out: w_out.as_tensor().clone(),
        b_out: b_out.as_tensor().clone(),
    };
    let mut all: Vec<Var> = vec![c.clone(), w_out.clone(), b_out.clone()];
    for (w, g, b) in &level_vars {
        all.extend([w.clone(), g.clone(), b.clone()]);
    }
    let lr0 = 2.5e-3;
    let mut opt = AdamW::new(all, ParamsAdamW { lr: lr0, weight_decay: 0.0, ..Default::default() })?;
    let n = train.0.dim(0)?;
    let stats = vec![(zeros.clone(), ones.clone()); 3];
    for step in 0..WN_STEPS {
        let idx: Vec<u32> = (0..WN_BATCH).map(|_| rng.random_range(0..n) as u32).collect();
        let idx = Tensor::from_vec(idx, WN_BATCH, device)?;
        let (xb, yb) = (train.0.index_select(&idx, 0)?, train.1.index_select(&idx, 0)?);
        let loss = cross_entropy(&wavenet_forward(&build(&stats), &xb, true)?, &yb)?;
        let t = step as f64 / WN_STEPS as f64;
        opt.set_learning_rate(lr0 * (0.05 + 0.95 * 0.5 * (1.0 + (std::f64::consts::PI * t).cos())));
        opt.backward_step(&loss)?;
        candlecamp::progress(step, WN_STEPS, loss.to_scalar::<f32>()?);
    }
    // Calibrate the running statistics on a large sample of the training set.
    let m = build(&stats);
    let take = n.min(20_000);
    let idx: Vec<u32> = (0..take).map(|_| rng.random_range(0..n) as u32).collect();
    let idx = Tensor::from_vec(idx, take, device)?;
    let x = train.0.index_select(&idx, 0)?;
    let (b, t) = x.dims2()?;
    let mut h = m.c.detach().index_select(&x.flatten_all()?, 0)?.reshape((b, t, n_embd))?;
    let mut calibrated = Vec::new();
    for level in &m.levels {
        let f = if h.rank() == 3 { flatten_consecutive(&h, 2)? } else { h.clone() };
        let pre = f.broadcast_matmul(&level.w.detach())?;
        let flat = pre.reshape(((), n_hidden))?;
        let mean = flat.mean(0)?;
        let var = flat.broadcast_sub(&mean)?.sqr()?.mean(0)?;
        let lv = Level { w: level.w.detach(), gamma: level.gamma.detach(), beta: level.beta.detach(), running_mean: mean, running_var: var };
        h = batchnorm_nd(&pre, &lv, false)?.tanh()?;
        calibrated.push(lv);
    }
    let model = WaveNet { c: m.c.detach(), levels: calibrated, w_out: m.w_out.detach(), b_out: m.b_out.detach() };
    let dev_loss = cross_entropy(&wavenet_forward(&model, &dev.0, false)?, &dev.1)?.to_scalar::<f32>()?;
    Ok((model, dev_loss))
    // END SOLUTION
}
// BEGIN SOLUTION ONLY
const WN_EMBD: usize = 24;
const WN_HIDDEN: usize = 128;
const WN_STEPS: usize = 24_000;
const WN_BATCH: usize = 64;
// END SOLUTION
