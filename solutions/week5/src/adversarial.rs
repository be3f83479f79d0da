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

use candle_core::{DType, Result, Tensor, Var};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;

/// A small MNIST CNN (given): conv 1→8 (3×3, stride 2, padding 1), ReLU; conv 8→16 (the same),
/// ReLU; a linear layer 784 → 10. (Strided convolutions instead of max-pooling: where a ReLU
/// layer is constant over the blank background, a pool's maxima tie, and torch sends their
/// gradient to one input where candle sends it to all: the attacks would differ from torch's
/// for reasons that are not yours.) Weights by torch's names (`conv1.weight`, `conv1.bias`,
/// `conv2.weight`, `conv2.bias`, `fc.weight`, `fc.bias`).
pub struct Cnn {
    pub weights: BTreeMap<String, Tensor>,
}

impl Cnn {
    fn w(&self, name: &str) -> Result<&Tensor> {
        self.weights.get(name).ok_or_else(|| candle_core::Error::Msg(format!("the CNN has no {name}")))
    }

    /// Logits `[b, 10]` for images `x` `[b, 784]` (pixels in [0, 1]).
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let b = x.dim(0)?;
        let conv = |h: &Tensor, n: &str| -> Result<Tensor> {
            let bias = self.w(&format!("{n}.bias"))?;
            h.conv2d(self.w(&format!("{n}.weight"))?, 1, 2, 1, 1)?.broadcast_add(&bias.reshape((1, bias.dim(0)?, 1, 1))?)?.relu()
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
// HINT: input_gradient(model, x, y)?.sign()? times eps, added to x, then clamp(0f32, 1f32).
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
// HINT: Keep x0 = x; lo = (x0 − eps), hi = (x0 + eps); each step: let s = input_gradient(model, &cur, y)?.sign()?; cur = (cur + s * alpha)?.maximum(&lo)?.minimum(&hi)?.clamp(0f32, 1f32)?.
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

// HINT(robustness): Nothing new to write: your fgsm and pgd on 200 held-out images, against torch's attacks on the same model. If the accuracies differ by more than a few images, check the projection (clip to x ± eps before clamping to [0, 1]) and the step size.
/// The fraction of `x` `[b, 784]` that `model` labels as `y` (given).
pub fn accuracy(model: &Cnn, x: &Tensor, y: &Tensor) -> Result<f64> {
    let right = model.forward(x)?.argmax(1)?.eq(y)?.to_dtype(DType::F32)?.mean_all()?;
    Ok(right.to_scalar::<f32>()? as f64)
}
