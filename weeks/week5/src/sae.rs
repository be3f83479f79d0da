//! # Sparse autoencoders
//!
//! Superposition says a layer can hold more features than it has dimensions, each a direction,
//! few active at once. A *sparse autoencoder* (SAE; Bricken et al. 2023, Cunningham et al.
//! 2023) tries to recover them: it encodes an activation `x` into many more latents than `x`
//! has dimensions, penalises how many are active (an L1 penalty), and decodes them back:
//!
//! `f = ReLU((x − b_dec) W_enc + b_enc)`, `x̂ = f W_dec + b_dec`,
//! `loss = mean over the batch of ‖x − x̂‖² + λ ‖f‖₁`.
//!
//! Each row of `W_dec` is a latent's direction; they are kept at unit length (otherwise the
//! model would shrink `f` and grow `W_dec` to dodge the penalty). Latents that stop firing
//! (*dead* latents) are *resampled*: pointed at inputs the SAE reconstructs worst. The numbers
//! to watch are the fraction of variance unexplained (FVU), the mean number of active latents
//! per input (L0) and the fraction of dead latents.
//!
//! The activations are the names language model's residual stream entering layer 1 (your
//! `AttnOnly::run`), one 64-dimensional vector per letter of 2,000 names; the SAE has 256
//! latents.
#![allow(unused_variables, unused_imports, unused_mut, dead_code)] // remove once you have solved a few

use candle_core::{Result, Tensor, Var, D};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};

/// The SAE's parameters: `w_enc` `[d_in, d_sae]`, `b_enc` `[d_sae]`, `w_dec` `[d_sae, d_in]`,
/// `b_dec` `[d_in]`.
pub struct Sae {
    pub w_enc: Var,
    pub b_enc: Var,
    pub w_dec: Var,
    pub b_dec: Var,
}

impl Sae {
    /// The four parameters, in the order above (given).
    pub fn vars(&self) -> Vec<Var> {
        vec![self.w_enc.clone(), self.b_enc.clone(), self.w_dec.clone(), self.b_dec.clone()]
    }

    /// ## sae_forward
    /// `(x̂, f)` for a batch `x` `[n, d_in]`: the latents `f = ReLU((x − b_dec) W_enc + b_enc)`
    /// `[n, d_sae]` and the reconstruction `x̂ = f W_dec + b_dec` `[n, d_in]`.
    pub fn forward(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        todo!()
    }
}

/// See [`Sae::forward`]: the loss `mean over rows of ‖x − x̂‖² + l1 · mean over rows of ‖f‖₁`
/// (a scalar).
pub fn sae_loss(x: &Tensor, x_hat: &Tensor, f: &Tensor, l1: f64) -> Result<Tensor> {
    todo!()
}

/// ## normalise_decoder
/// Scale every row of `w_dec` to unit length, in place (`Var::set`).
pub fn normalise_decoder(sae: &Sae) -> Result<()> {
    todo!()
}

/// ## resample_dead
/// Point the latents `dead` at the inputs of `x` `[n, d_in]` reconstructed worst: rank the rows
/// by `‖x − x̂‖²`, largest first (ties: lower row first); the `k`-th dead latent takes the
/// `k`-th row's error `e = x − x̂` (unit length): `W_dec[latent] = ê`, `W_enc[:, latent] =
/// 0.2 · ê`, `b_enc[latent] = 0`. (Anthropic's recipe also samples rows by error and rescales
/// by the alive latents' norms; this simplified rule is deterministic.)
pub fn resample_dead(sae: &Sae, x: &Tensor, dead: &[usize]) -> Result<()> {
    todo!()
}

/// What training reports, measured on all the activations.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SaeStats {
    /// `Σ ‖x − x̂‖² / Σ ‖x − mean(x)‖²`.
    pub fvu: f64,
    /// The mean number of latents above 0 per row.
    pub l0: f64,
    /// The share of latents above 0 on no row.
    pub dead: f64,
}

/// ## train_sae
/// Train `sae` on the activations `x` `[n, d_in]` for `steps` steps, then measure it:
/// - Adam (`lr`, betas 0.9 and 0.999, eps 1e-8; candle's `AdamW` with `weight_decay: 0.0`) on
///   the four parameters, loss [`sae_loss`] with `l1`;
/// - step `s` (from 0) uses rows `256 s .. 256 s + 256` of `x`, wrapping around at `n`;
/// - after each step, [`normalise_decoder`]; after every 200th step, [`resample_dead`] the
///   latents that fired (were above 0) on none of the last 200 batches, on that step's batch,
///   and start counting afresh.
pub fn train_sae(sae: &Sae, x: &Tensor, l1: f64, lr: f64, steps: usize) -> Result<SaeStats> {
    todo!()
}
