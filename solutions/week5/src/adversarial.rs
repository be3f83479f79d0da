//! # Adversarial examples
//!
//! A classifier that is right 95 % of the time can be made wrong almost always by changes to
//! its input too small for a person to notice. The fast gradient sign method (FGSM, Goodfellow
//! et al. 2015) takes one step of size `ε` along the sign of the loss's gradient with respect to
//! the *input*; projected gradient descent (PGD, Madry et al. 2018) takes many small such steps
//! and projects back into the `ε`-ball around the original after each, optionally from a random
//! start inside the ball. Both stay within `ε` of the original in every pixel (the L∞ norm) and
//! inside the valid pixel range [0, 1].
//!
//! The model is a small MNIST CNN (given), trained by the fixture script; its weights are in
//! `fixtures/week5/adversarial.safetensors`.
// STUB: #![allow(unused_variables, unused_imports, unused_mut, dead_code)] // remove once you have solved a few

use candle_core::{DType, Device, Result, Tensor, Var};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;

/// A small MNIST CNN (given): conv 1→8 (3×3, stride 2, padding 1), ReLU; conv 8→16 (the same),
/// ReLU; a linear layer 784 → 10. (Strided convolutions instead of max-pooling: where a ReLU
/// layer is constant over the blank background, a pool's maxima tie, and torch sends their
/// gradient to one input where candle sends it to all: the attacks would differ from torch's
/// for reasons that are not yours.) Weights by torch's names (`conv1.weight`, `conv1.bias`,
/// `conv2.weight`, `conv2.bias`, `fc.weight`, `fc.bias`). Its convolutions run on
/// `fastops::conv2d` and `fastops::add_channel_bias`, the course's fast CPU kernels: candle's
/// `conv2d` and bias add, same values and gradients, at matmul speed.
pub struct Cnn {
    pub weights: BTreeMap<String, Tensor>,
}

impl Cnn {
    fn w(&self, name: &str) -> Result<&Tensor> {
        self.weights.get(name).ok_or_else(|| candle_core::Error::Msg(format!("the CNN has no {name}")))
    }

    /// The second convolution's activations after its ReLU, `[b, 16, 7, 7]`, for images `x`
    /// `[b, 784]`: the features the linear layer reads.
    pub fn features(&self, x: &Tensor) -> Result<Tensor> {
        let b = x.dim(0)?;
        let conv = |h: &Tensor, n: &str| -> Result<Tensor> {
            let bias = self.w(&format!("{n}.bias"))?;
            fastops::relu(&fastops::add_channel_bias(&fastops::conv2d(h, self.w(&format!("{n}.weight"))?, 1, 2)?, bias)?)
        };
        conv(&conv(&x.reshape((b, 1, 28, 28))?, "conv1")?, "conv2")
    }

    /// Logits `[b, 10]` for images `x` `[b, 784]` (pixels in [0, 1]).
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let b = x.dim(0)?;
        let conv = |h: &Tensor, n: &str| -> Result<Tensor> {
            let bias = self.w(&format!("{n}.bias"))?;
            fastops::relu(&fastops::add_channel_bias(&fastops::conv2d(h, self.w(&format!("{n}.weight"))?, 1, 2)?, bias)?)
        };
        let h = conv(&conv(&x.reshape((b, 1, 28, 28))?, "conv1")?, "conv2")?.flatten_from(1)?;
        h.broadcast_matmul(&self.w("fc.weight")?.t()?)?.broadcast_add(self.w("fc.bias")?)
    }
}

/// The gradient of the mean cross-entropy of `model` on `(x, y)` with respect to the images `x`
/// `[b, 784]` (given).
pub fn input_gradient(model: &Cnn, x: &Tensor, y: &Tensor) -> Result<Tensor> {
    let v = Var::from_tensor(&x.detach())?;
    let loss = candle_nn::loss::cross_entropy(&model.forward(v.as_tensor())?, y)?;
    let grads = loss.backward()?;
    grads.get(v.as_tensor()).cloned().ok_or_else(|| candle_core::Error::Msg("no gradient reached the images".into()))
}

/// ## fgsm
/// The fast gradient sign method: `clamp(x + eps · sign(∇ₓ loss), 0, 1)` for images `x`
/// `[b, 784]` and labels `y` `[b]` (u32), with the loss of [`input_gradient`]. A gradient of
/// exactly 0 has sign 0.
// HINT: One step in the direction that raises the loss fastest under a per-pixel budget: the sign of the input gradient times epsilon, then back into the valid pixel range.
// HINT: g = input_gradient(model, x, y) (given); its sign (0 stays 0) times eps, added to x, clamped to [0, 1].
// HINT: (x + (input_gradient(model, x, y)?.sign()? * eps)?)?.clamp(0f32, 1f32)
pub fn fgsm(model: &Cnn, x: &Tensor, y: &Tensor, eps: f64) -> Result<Tensor> {
    // BEGIN SOLUTION
    (x + (input_gradient(model, x, y)?.sign()? * eps)?)?.clamp(0f32, 1f32)
    // END SOLUTION
}

/// ## pgd
/// Projected gradient descent in the L∞ ball of radius `eps` around `x`: start from `x` or,
/// when `start` holds a generator, from `clamp(x + δ, 0, 1)` with `δ` uniform in ±`eps`
/// (`rng.random_range(-eps..eps)` in f32 for each pixel, row-major); then `steps` times
/// `x' ← clamp(clip(x' + alpha · sign(∇ loss at x'), x − eps, x + eps), 0, 1)`.
// HINT: Each step is a small FGSM step from the current image followed by two projections, in this order: back into the epsilon box around the original image, then into the pixel range; the random start, when there is one, is clamped to the pixel range too.
// HINT: lo = x − eps and hi = x + eps around the original; cur = x, or with a generator clamp(x + δ, 0, 1) with δ drawn per pixel, row-major, by rng.random_range(-eps..eps) in f32; then steps times: s = the sign of input_gradient(model, &cur, y); cur = clamp(min(max(cur + alpha·s, lo), hi), 0, 1).
// HINT: cur = (cur + (s * alpha)?)?.maximum(&lo)?.minimum(&hi)?.clamp(0f32, 1f32)?;
pub fn pgd(model: &Cnn, x: &Tensor, y: &Tensor, eps: f64, alpha: f64, steps: usize, start: Option<&mut ChaCha8Rng>) -> Result<Tensor> {
    // BEGIN SOLUTION
    let (lo, hi) = ((x - eps)?, (x + eps)?);
    let mut cur = match start {
        Some(rng) => {
            let delta: Vec<f32> = (0..x.elem_count()).map(|_| rng.random_range(-eps as f32..eps as f32)).collect();
            (x + Tensor::from_vec(delta, x.shape(), x.device())?)?.clamp(0f32, 1f32)?
        }
        None => x.clone(),
    };
    for _ in 0..steps {
        let s = input_gradient(model, &cur, y)?.sign()?;
        cur = (cur + (s * alpha)?)?.maximum(&lo)?.minimum(&hi)?.clamp(0f32, 1f32)?;
    }
    Ok(cur)
    // END SOLUTION
}

// HINT(robustness): Nothing new to write: your two attacks run on held-out images against the same model torch attacked, and your accuracies under attack must match torch's.
// HINT(robustness): If the accuracies differ by more than a few images, check the projection in pgd (clip to x ± eps around the original image, then clamp to [0, 1]), the step size alpha, and that a zero gradient has sign 0.
// HINT(robustness): The pgd step to compare: cur = (cur + (input_gradient(model, &cur, y)?.sign()? * alpha)?)?.maximum(&lo)?.minimum(&hi)?.clamp(0f32, 1f32)? with lo = (x − eps) and hi = (x + eps) from the original x.
/// The fraction of `x` `[b, 784]` that `model` labels as `y` (given).
pub fn accuracy(model: &Cnn, x: &Tensor, y: &Tensor) -> Result<f64> {
    let right = model.forward(x)?.argmax(1)?.eq(y)?.to_dtype(DType::F32)?.mean_all()?;
    Ok(right.to_scalar::<f32>()? as f64)
}

/// A fresh CNN with torch's default initialisation (given): every weight and bias uniform in
/// ±1/√fan_in (fan_in 9 for conv1, 72 for conv2, 784 for fc), drawn from `rng` in the order
/// conv1.weight, conv1.bias, conv2.weight, conv2.bias, fc.weight, fc.bias, row-major. The
/// model's tensors are the returned variables' own, so an optimiser stepping the variables
/// trains the model.
pub fn init_cnn(rng: &mut ChaCha8Rng, dev: &Device) -> Result<(Cnn, Vec<Var>)> {
    let shapes: [(&str, Vec<usize>, usize); 6] = [
        ("conv1.weight", vec![8, 1, 3, 3], 9),
        ("conv1.bias", vec![8], 9),
        ("conv2.weight", vec![16, 8, 3, 3], 72),
        ("conv2.bias", vec![16], 72),
        ("fc.weight", vec![10, 784], 784),
        ("fc.bias", vec![10], 784),
    ];
    let (mut weights, mut vars) = (BTreeMap::new(), Vec::new());
    for (name, shape, fan_in) in shapes {
        let bound = 1.0 / (fan_in as f32).sqrt();
        let n: usize = shape.iter().product();
        let v: Vec<f32> = (0..n).map(|_| rng.random_range(-bound..bound)).collect();
        let var = Var::from_tensor(&Tensor::from_vec(v, shape, dev)?)?;
        weights.insert(name.to_string(), var.as_tensor().clone());
        vars.push(var);
    }
    Ok((Cnn { weights }, vars))
}

/// ## targeted_pgd
/// Targeted PGD: like [`pgd`] without a random start, but *descending* the loss towards labels
/// `target`: `steps` times `x' ← clamp(clip(x' − alpha · sign(∇ CE(model(x'), target)), x − eps,
/// x + eps), 0, 1)`.
// HINT: A targeted attack walks down the loss towards the label you want, so the step is subtracted instead of added; everything else is your projected gradient descent without a random start.
// HINT: Your pgd loop with target in place of y, no random start, and x' ← x' − alpha · sign(∇) followed by the same two projections (x ± eps, then [0, 1]).
// HINT: cur = (cur - (input_gradient(model, &cur, target)?.sign()? * alpha)?)?.maximum(&lo)?.minimum(&hi)?.clamp(0f32, 1f32)?;
pub fn targeted_pgd(model: &Cnn, x: &Tensor, target: &Tensor, eps: f64, alpha: f64, steps: usize) -> Result<Tensor> {
    // BEGIN SOLUTION
    let (lo, hi) = ((x - eps)?, (x + eps)?);
    let mut cur = x.clone();
    for _ in 0..steps {
        let s = input_gradient(model, &cur, target)?.sign()?;
        cur = (cur - (s * alpha)?)?.maximum(&lo)?.minimum(&hi)?.clamp(0f32, 1f32)?;
    }
    Ok(cur)
    // END SOLUTION
}

// HINT(not_bugs_features): Nothing new to write: your targeted attack relabels images towards chosen targets, and your training loop (without an attack) trains a fresh model on those relabelled images alone; it should still classify clean test images far above chance.
// HINT(not_bugs_features): If the fresh model stays near chance, check that targeted_pgd descends the loss towards the target (x − alpha · sign), projects to x ± eps and then to [0, 1], and reaches most targets at ε 0.3; and that robust_training with no attack trains on the images as given.
// HINT(not_bugs_features): targeted_pgd's step: cur = (cur - (input_gradient(model, &cur, target)?.sign()? * alpha)?)?.maximum(&lo)?.minimum(&hi)?.clamp(0f32, 1f32)?, with lo and hi = x ∓ eps around the original.
/// An attack to train against: PGD with `eps`, `alpha`, `steps` and a random start.
#[derive(Clone, Copy, Debug)]
pub struct Attack {
    pub eps: f64,
    pub alpha: f64,
    pub steps: usize,
}

/// ## robust_training
/// Train a fresh CNN ([`init_cnn`] from `rng`) on images `x` `[n, 784]` and labels `y` `[n]`:
/// `epochs` epochs; each epoch shuffles the row indices `0..n` with `shuffle(rng)` (rand's
/// `SliceRandom`) and takes batches of 64 in that order (the last one may be smaller); with
/// `attack`, each batch is first replaced by your [`pgd`] against the current model (random
/// start from `rng`); one step of Adam (lr 1e-3, candle's `AdamW` with `weight_decay: 0.0`) on
/// the mean cross-entropy of the batch. After each batch,
/// `candlecamp::progress(batch, total_batches, loss)` (counting batches over all the epochs)
/// lets the grader show the run live.
// HINT: Adversarial training replaces each batch by an attack on the current model before the optimiser step; every random draw (the initialisation, the shuffles, the attacks' random starts) comes from the one RNG, in the order it happens.
// HINT: let (model, vars) = init_cnn(rng, x.device()); candle_nn AdamW over vars (lr 1e-3, betas 0.9 and 0.999, eps 1e-8, weight_decay 0.0); per epoch shuffle the indices 0..n with SliceRandom's shuffle(rng) and take chunks of 64; xb and yb by index_select; with an attack, xb = pgd(&model, &xb, &yb, eps, alpha, steps, Some(&mut *rng)); loss = cross_entropy(model.forward(&xb), &yb); backward_step; candlecamp::progress(done, total, loss) with total = epochs · ⌈n / 64⌉.
// HINT: if let Some(a) = attack { xb = pgd(&model, &xb, &yb, a.eps, a.alpha, a.steps, Some(&mut *rng))?; } let loss = candle_nn::loss::cross_entropy(&model.forward(&xb)?, &yb)?; opt.backward_step(&loss)?;
pub fn robust_training(x: &Tensor, y: &Tensor, epochs: usize, attack: Option<Attack>, rng: &mut ChaCha8Rng) -> Result<Cnn> {
    // BEGIN SOLUTION
    let (model, vars) = init_cnn(rng, x.device())?;
    let mut opt = AdamW::new(vars, ParamsAdamW { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.0 })?;
    let n = x.dim(0)?;
    let total = epochs * n.div_ceil(64);
    let mut done = 0;
    for _ in 0..epochs {
        let mut order: Vec<u32> = (0..n as u32).collect();
        order.shuffle(rng);
        for chunk in order.chunks(64) {
            let idx = Tensor::new(chunk, x.device())?;
            let (mut xb, yb) = (x.index_select(&idx, 0)?, y.index_select(&idx, 0)?);
            if let Some(a) = attack {
                xb = pgd(&model, &xb, &yb, a.eps, a.alpha, a.steps, Some(&mut *rng))?;
            }
            let loss = candle_nn::loss::cross_entropy(&model.forward(&xb)?, &yb)?;
            opt.backward_step(&loss)?;
            candlecamp::progress(done, total, loss.to_scalar::<f32>()?);
            done += 1;
        }
    }
    Ok(model)
    // END SOLUTION
}

/// A common corruption of an image ("the many faces of robustness": Hendrycks & Dietterich
/// 2019; Hendrycks et al. 2021).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Corruption {
    /// `clamp(x + sigma · z, 0, 1)`, `z` standard normal by Box–Muller: for each pixel, row-major,
    /// draw `u1 = rng.random::<f32>()` then `u2 = rng.random::<f32>()`, and
    /// `z = √(−2 ln(1 − u1)) · cos(2π u2)` (in f32).
    Noise { sigma: f64 },
    /// A 3×3 Gaussian blur: weights `exp(−(i² + j²) / 2σ²)` for `i, j ∈ {−1, 0, 1}`, divided by
    /// their sum; zero padding (the image keeps its size).
    Blur { sigma: f64 },
    /// Rotation by `degrees` counter-clockwise about the centre (13.5, 13.5), nearest source
    /// pixel: output pixel (row r, column c) has `x = c − 13.5`, `y = 13.5 − r`; its source is
    /// `x' = x cos θ + y sin θ`, `y' = −x sin θ + y cos θ`, at column `⌊x' + 13.5 + ½⌋` and row
    /// `⌊13.5 − y' + ½⌋` (in f64), or 0 outside the image.
    Rotate { degrees: f64 },
    /// `clamp(m + factor · (x − m), 0, 1)` with `m` the image's mean pixel.
    Contrast { factor: f64 },
}

/// ## corruptions
/// Images `x` `[b, 784]` under corruption `c` (`rng` is used by `Noise` only).
// HINT: Four separate corruptions, each specified exactly: draw the noise in the stated order with the stated formula, blur with a normalised 3 by 3 kernel and zero padding, rotate by looking up each output pixel's nearest source pixel, and stretch contrast about each image's own mean.
// HINT: Noise: per pixel draw u1 then u2, z = √(−2 ln(1 − u1)) cos(2π u2) in f32, x + σ z clamped to [0, 1]. Blur: a [1, 1, 3, 3] kernel of exp(−(i² + j²)/2σ²) divided by its sum; x.reshape((b, 1, 28, 28)).conv2d(&k, 1, 1, 1, 1) (padding 1, stride 1, dilation 1, groups 1), back to [b, 784]. Rotate: compute each output pixel's source index once (a Vec<Option<usize>> of 784) and gather on the host. Contrast: m = x.mean_keepdim(1), clamp(m + factor · (x − m), 0, 1).
// HINT: Rotation, for output pixel p: let (px, py) = ((p % 28) as f64 - 13.5, 13.5 - (p / 28) as f64); let (sx, sy) = (px * cos + py * sin, -px * sin + py * cos); let (col, row) = ((sx + 13.5 + 0.5).floor(), (13.5 - sy + 0.5).floor()); Some(row as usize * 28 + col as usize) when both lie in 0..28, else None.
pub fn corrupt(x: &Tensor, c: Corruption, rng: &mut ChaCha8Rng) -> Result<Tensor> {
    // BEGIN SOLUTION
    let b = x.dim(0)?;
    match c {
        Corruption::Noise { sigma } => {
            let z: Vec<f32> = (0..x.elem_count())
                .map(|_| {
                    let (u1, u2) = (rng.random::<f32>(), rng.random::<f32>());
                    (-2.0 * (1.0 - u1).ln()).sqrt() * (2.0 * std::f32::consts::PI * u2).cos()
                })
                .collect();
            (x + (Tensor::from_vec(z, x.shape(), x.device())? * sigma)?)?.clamp(0f32, 1f32)
        }
        Corruption::Blur { sigma } => {
            let mut k = Vec::with_capacity(9);
            for i in -1i32..=1 {
                for j in -1i32..=1 {
                    k.push((-((i * i + j * j) as f64) / (2.0 * sigma * sigma)).exp());
                }
            }
            let total: f64 = k.iter().sum();
            let k: Vec<f32> = k.iter().map(|v| (v / total) as f32).collect();
            let k = Tensor::from_vec(k, (1, 1, 3, 3), x.device())?;
            x.reshape((b, 1, 28, 28))?.conv2d(&k, 1, 1, 1, 1)?.reshape((b, 784))
        }
        Corruption::Rotate { degrees } => {
            let (sin, cos) = degrees.to_radians().sin_cos();
            let src: Vec<Option<usize>> = (0..784)
                .map(|p| {
                    let (px, py) = ((p % 28) as f64 - 13.5, 13.5 - (p / 28) as f64);
                    let (sx, sy) = (px * cos + py * sin, -px * sin + py * cos);
                    let (col, row) = ((sx + 13.5 + 0.5).floor(), (13.5 - sy + 0.5).floor());
                    ((0.0..28.0).contains(&col) && (0.0..28.0).contains(&row)).then(|| row as usize * 28 + col as usize)
                })
                .collect();
            let rows = x.to_vec2::<f32>()?;
            let out: Vec<f32> = rows.iter().flat_map(|r| src.iter().map(move |s| s.map_or(0.0, |i| r[i]))).collect();
            Tensor::from_vec(out, (b, 784), x.device())
        }
        Corruption::Contrast { factor } => {
            let m = x.mean_keepdim(1)?;
            (x.broadcast_sub(&m)? * factor)?.broadcast_add(&m)?.clamp(0f32, 1f32)
        }
    }
    // END SOLUTION
}
