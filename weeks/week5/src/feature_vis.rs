//! # Feature visualisation
//!
//! What does a unit of a trained network respond to? Ask the network itself: start from a
//! grey, slightly noisy image and climb the gradient of the unit's activation with respect to
//! the *pixels* (Erhan et al. 2009; Simonyan et al. 2014; DeepDream, 2015). Unregularised, the
//! climb finds high-frequency patterns that excite the unit but look like nothing. Regularisers
//! pull the image towards what natural images look like (Olah et al. 2017, "Feature
//! Visualization"):
//!
//! - **L2**: `− λ · Σ x²` keeps pixel values small;
//! - **a frequency penalty**: `− λ · TV(x)`, the total variation, sums the squared differences
//!   of neighbouring pixels, so sharp pixel-to-pixel changes cost;
//! - **jitter**: each step looks at the image shifted by a few random pixels, so a pattern only
//!   survives if it excites the unit wherever it sits;
//! - **blur** after each step (the 3 × 3 Gaussian of the corruptions exercise) removes the
//!   finest detail.
//!
//! The network is the trained MNIST CNN of the adversarial day. Images are `[b, 784]` rows of
//! 28 × 28 pictures, as there.
#![allow(unused_variables, unused_imports, unused_mut, dead_code)] // remove once you have solved a few

use super::adversarial::{corrupt, Cnn, Corruption};
use candle_core::{Result, Tensor, Var};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// ## jitter
/// Each 28 × 28 image of `x` `[b, 784]` shifted by `dy` rows and `dx` columns with wrap-around
/// (`torch.roll`): output pixel `(r, c)` is input pixel `((r − dy) mod 28, (c − dx) mod 28)`.
/// Negative and large shifts are fine (`dy = 30` is `dy = 2`). Build it from `narrow` and
/// `cat` so that gradients flow through it; candle's own `roll` is not allowed here.
pub fn jitter(x: &Tensor, dy: i64, dx: i64) -> Result<Tensor> {
    todo!()
}

/// ## total_variation
/// The squared total variation of the images `x` `[b, 784]`, summed over all of them: for each
/// 28 × 28 image, `Σ (x[r+1, c] − x[r, c])² + Σ (x[r, c+1] − x[r, c])²` over every pair of
/// vertical and horizontal neighbours → a scalar. It is large for images that change sharply
/// from pixel to pixel, and its gradient flows into `x`.
pub fn total_variation(x: &Tensor) -> Result<Tensor> {
    todo!()
}

/// What to maximise.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Target {
    /// The mean over the 7 × 7 positions of channel `c` of `Cnn::features` (after its ReLU).
    Channel(usize),
    /// Logit `k` of `Cnn::forward`.
    Class(usize),
}

/// The regularisers' weights (0 turns one off).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Regularisers {
    pub l2: f64,
    pub tv: f64,
    /// σ of the blur after each step; 0 means no blur.
    pub blur: f64,
}

/// ## objective
/// The regularised objective of one image `x` `[1, 784]`: the target's activation (see
/// `Target`) `− reg.l2 · Σ x² − reg.tv · total_variation(x)`, a scalar that gradients flow
/// through into `x`. (`reg.blur` is not part of it: blurring happens between steps.)
pub fn objective(model: &Cnn, x: &Tensor, target: Target, reg: &Regularisers) -> Result<Tensor> {
    todo!()
}

/// ## visualise
/// Gradient ascent on the pixels from `x0` `[1, 784]`, one step per entry of `shifts`: with
/// `(dy, dx) = shifts[t]`, the gradient `g` of `objective(model, jitter(x, dy, dx), …)` with
/// respect to `x` (the jitter is inside the graph, so `g` is already in `x`'s own frame), then
/// `x ← clamp(x + lr · g, 0, 1)`, then, when `reg.blur > 0`, the corruptions exercise's
/// `Corruption::Blur { sigma: reg.blur }`. Return the final image. (`shifts` of all zeros is
/// no jitter.)
pub fn visualise(model: &Cnn, x0: &Tensor, target: Target, reg: &Regularisers, lr: f64, shifts: &[(i64, i64)]) -> Result<Tensor> {
    todo!()
}
