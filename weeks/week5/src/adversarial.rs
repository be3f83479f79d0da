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
#![allow(unused_variables, unused_imports, unused_mut, dead_code)] // remove once you have solved a few

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
pub fn fgsm(model: &Cnn, x: &Tensor, y: &Tensor, eps: f64) -> Result<Tensor> {
    todo!()
}

/// ## pgd
/// Projected gradient descent in the L∞ ball of radius `eps` around `x`: start from `x` or,
/// when `start` holds a generator, from `clamp(x + δ, 0, 1)` with `δ` uniform in ±`eps`
/// (`rng.random_range(-eps..eps)` in f32 for each pixel, row-major); then `steps` times
/// `x' ← clamp(clip(x' + alpha · sign(∇ loss at x'), x − eps, x + eps), 0, 1)`.
pub fn pgd(model: &Cnn, x: &Tensor, y: &Tensor, eps: f64, alpha: f64, steps: usize, start: Option<&mut ChaCha8Rng>) -> Result<Tensor> {
    todo!()
}

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
pub fn targeted_pgd(model: &Cnn, x: &Tensor, target: &Tensor, eps: f64, alpha: f64, steps: usize) -> Result<Tensor> {
    todo!()
}

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
pub fn robust_training(x: &Tensor, y: &Tensor, epochs: usize, attack: Option<Attack>, rng: &mut ChaCha8Rng) -> Result<Cnn> {
    todo!()
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
pub fn corrupt(x: &Tensor, c: Corruption, rng: &mut ChaCha8Rng) -> Result<Tensor> {
    todo!()
}
