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
// STUB: #![allow(unused_variables, unused_imports, unused_mut, dead_code)] // remove once you have solved a few

use super::adversarial::{corrupt, Cnn, Corruption};
use candle_core::{Result, Tensor, Var};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// ## jitter
/// Each 28 × 28 image of `x` `[b, 784]` shifted by `dy` rows and `dx` columns with wrap-around
/// (`torch.roll`): output pixel `(r, c)` is input pixel `((r − dy) mod 28, (c − dx) mod 28)`.
/// Negative and large shifts are fine (`dy = 30` is `dy = 2`). Build it from `narrow` and
/// `cat` so that gradients flow through it; candle's own `roll` is not allowed here.
// HINT: A shift with wrap-around cuts the image into two pieces along one axis and swaps them; do it along the rows, then along the columns. Reduce the shift modulo 28 first, so that negative and large shifts become a cut in 0..28.
// HINT: View x as [b, 28, 28]; with s = dy.rem_euclid(28) as usize the rows become cat of the last s rows and the first 28 − s rows along dim 1; the same along dim 2 with dx; reshape back to [b, 784].
// HINT: let s = dy.rem_euclid(28) as usize; let im = Tensor::cat(&[im.narrow(1, 28 - s, s)?, im.narrow(1, 0, 28 - s)?], 1)?;
pub fn jitter(x: &Tensor, dy: i64, dx: i64) -> Result<Tensor> {
    // BEGIN SOLUTION
    let b = x.dim(0)?;
    let mut im = x.reshape((b, 28, 28))?;
    for (dim, shift) in [(1, dy), (2, dx)] {
        let s = shift.rem_euclid(28) as usize;
        if s > 0 {
            im = Tensor::cat(&[im.narrow(dim, 28 - s, s)?, im.narrow(dim, 0, 28 - s)?], dim)?;
        }
    }
    im.reshape((b, 784))
    // END SOLUTION
}

/// ## total_variation
/// The squared total variation of the images `x` `[b, 784]`, summed over all of them: for each
/// 28 × 28 image, `Σ (x[r+1, c] − x[r, c])² + Σ (x[r, c+1] − x[r, c])²` over every pair of
/// vertical and horizontal neighbours → a scalar. It is large for images that change sharply
/// from pixel to pixel, and its gradient flows into `x`.
// HINT: Compare the image with itself moved by one pixel: once downwards, once to the right. Only pairs inside the image count, so each comparison covers 27 rows (or columns), not 28.
// HINT: View x as [b, 28, 28]; the vertical differences are narrow(1, 1, 27) − narrow(1, 0, 27), the horizontal ones the same along dim 2; square both, sum_all each, add.
// HINT: let down = (im.narrow(1, 1, 27)? - im.narrow(1, 0, 27)?)?.sqr()?.sum_all()?;
pub fn total_variation(x: &Tensor) -> Result<Tensor> {
    // BEGIN SOLUTION
    let b = x.dim(0)?;
    let im = x.reshape((b, 28, 28))?;
    let down = (im.narrow(1, 1, 27)? - im.narrow(1, 0, 27)?)?.sqr()?.sum_all()?;
    let right = (im.narrow(2, 1, 27)? - im.narrow(2, 0, 27)?)?.sqr()?.sum_all()?;
    down + right
    // END SOLUTION
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
// HINT: The activation to maximise comes straight from the model (a channel's mean or a logit); the two penalties are subtracted with their weights, so that maximising the objective also keeps the image small and smooth.
// HINT: Channel(c): model.features(x) is [1, 16, 7, 7]; take channel c with narrow or i((0, c)) and mean_all. Class(k): model.forward(x) is [1, 10]; take column k. Then subtract l2 · x.sqr().sum_all() and tv · total_variation(x).
// HINT: let act = match target { Target::Channel(c) => model.features(x)?.narrow(1, c, 1)?.mean_all()?, Target::Class(k) => model.forward(x)?.narrow(1, k, 1)?.sum_all()? };
pub fn objective(model: &Cnn, x: &Tensor, target: Target, reg: &Regularisers) -> Result<Tensor> {
    // BEGIN SOLUTION
    let act = match target {
        Target::Channel(c) => model.features(x)?.narrow(1, c, 1)?.mean_all()?,
        Target::Class(k) => model.forward(x)?.narrow(1, k, 1)?.sum_all()?,
    };
    let l2 = (x.sqr()?.sum_all()? * reg.l2)?;
    let tv = (total_variation(x)? * reg.tv)?;
    (act - l2)? - tv
    // END SOLUTION
}

/// ## visualise
/// Gradient ascent on the pixels from `x0` `[1, 784]`, one step per entry of `shifts`: with
/// `(dy, dx) = shifts[t]`, the gradient `g` of `objective(model, jitter(x, dy, dx), …)` with
/// respect to `x` (the jitter is inside the graph, so `g` is already in `x`'s own frame), then
/// `x ← clamp(x + lr · g, 0, 1)`, then, when `reg.blur > 0`, the corruptions exercise's
/// `Corruption::Blur { sigma: reg.blur }`. Return the final image. (`shifts` of all zeros is
/// no jitter.)
// HINT: Each step needs a fresh leaf to differentiate against: wrap the current image in a variable, jitter it, score it, and ask for the gradient with respect to the unjittered variable. Ascent means adding the gradient.
// HINT: For each (dy, dx): let v = Var::from_tensor(&x)?; obj = objective(model, &jitter(v.as_tensor(), dy, dx)?, target, reg)?; g = obj.backward()?.get(v.as_tensor()); x = (x + lr · g).clamp(0, 1); if reg.blur > 0, x = corrupt(&x, Corruption::Blur { sigma: reg.blur }, &mut rng) with any rng (blur draws nothing).
// HINT: x = (&x + (g * lr)?)?.clamp(0f32, 1f32)?; if reg.blur > 0.0 { x = corrupt(&x, Corruption::Blur { sigma: reg.blur }, &mut rng)?; }
pub fn visualise(model: &Cnn, x0: &Tensor, target: Target, reg: &Regularisers, lr: f64, shifts: &[(i64, i64)]) -> Result<Tensor> {
    // BEGIN SOLUTION
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let mut x = x0.clone();
    for &(dy, dx) in shifts {
        let v = Var::from_tensor(&x)?;
        let obj = objective(model, &jitter(v.as_tensor(), dy, dx)?, target, reg)?;
        let grads = obj.backward()?;
        let g = grads.get(v.as_tensor()).ok_or_else(|| candle_core::Error::Msg("no gradient reached the image".into()))?;
        x = (&x + (g * lr)?)?.clamp(0f32, 1f32)?;
        if reg.blur > 0.0 {
            x = corrupt(&x, Corruption::Blur { sigma: reg.blur }, &mut rng)?;
        }
    }
    Ok(x)
    // END SOLUTION
}
