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
// STUB: #![allow(unused_variables, unused_imports, unused_mut, dead_code)] // remove once you have solved a few

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
    // HINT: Subtract the decoder bias before encoding and add it back after decoding; the loss adds, for each row, the squared reconstruction error summed over its dimensions and λ times the L1 norm of its latents, both averaged over the rows.
    // HINT: f = relu((x − b_dec) · W_enc + b_enc) with broadcast_sub and broadcast_add; x̂ = f · W_dec + b_dec; return (x̂, f). sae_loss: (x − x̂)² summed over dimension 1 and averaged, plus l1 times |f| summed over dimension 1 and averaged.
    // HINT: let f = x.broadcast_sub(self.b_dec.as_tensor())?.matmul(self.w_enc.as_tensor())?.broadcast_add(self.b_enc.as_tensor())?.relu()?; and the loss: (x - x_hat)?.sqr()?.sum(1)?.mean_all()? + (f.abs()?.sum(1)?.mean_all()? * l1)?
    pub fn forward(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        // BEGIN SOLUTION
        let f = x.broadcast_sub(self.b_dec.as_tensor())?.matmul(self.w_enc.as_tensor())?.broadcast_add(self.b_enc.as_tensor())?.relu()?;
        let x_hat = f.matmul(self.w_dec.as_tensor())?.broadcast_add(self.b_dec.as_tensor())?;
        Ok((x_hat, f))
        // END SOLUTION
    }
}

/// See [`Sae::forward`]: the loss `mean over rows of ‖x − x̂‖² + l1 · mean over rows of ‖f‖₁`
/// (a scalar).
pub fn sae_loss(x: &Tensor, x_hat: &Tensor, f: &Tensor, l1: f64) -> Result<Tensor> {
    // BEGIN SOLUTION(sae_forward)
    let recon = (x - x_hat)?.sqr()?.sum(1)?.mean_all()?;
    recon + (f.abs()?.sum(1)?.mean_all()? * l1)?
    // END SOLUTION
}

/// ## normalise_decoder
/// Scale every row of `w_dec` to unit length, in place (`Var::set`).
// HINT: Each latent's direction is a row of the decoder: divide every row by its own length and write the result back into the variable.
// HINT: w = the tensor of w_dec [d_sae, d_in]; the row lengths are the square root of sqr summed over dimension 1 with keepdim ([d_sae, 1]); broadcast_div; then Var::set.
// HINT: sae.w_dec.set(&w.broadcast_div(&w.sqr()?.sum_keepdim(1)?.sqrt()?)?)
pub fn normalise_decoder(sae: &Sae) -> Result<()> {
    // BEGIN SOLUTION
    let w = sae.w_dec.as_tensor();
    sae.w_dec.set(&w.broadcast_div(&w.sqr()?.sum_keepdim(1)?.sqrt()?)?)
    // END SOLUTION
}

/// ## resample_dead
/// Point the latents `dead` at the inputs of `x` `[n, d_in]` reconstructed worst: rank the rows
/// by `‖x − x̂‖²`, largest first (ties: lower row first); the `k`-th dead latent takes the
/// `k`-th row's error `e = x − x̂` (unit length): `W_dec[latent] = ê`, `W_enc[:, latent] =
/// 0.2 · ê`, `b_enc[latent] = 0`. (Anthropic's recipe also samples rows by error and rescales
/// by the alive latents' norms; this simplified rule is deterministic.)
// HINT: Rank the inputs by how badly the current SAE reconstructs them, and give the k-th dead latent the direction of the k-th worst input's error: as its decoder row at unit length, as its encoder column at a fifth of that, with a zero encoder bias.
// HINT: Run forward on x and bring the errors e = x − x̂ to the host (to_vec2); sort the row indices by squared norm, largest first, ties by lower index; copy w_enc, b_enc and w_dec to the host; for the k-th dead latent and row order[k]: w_dec[latent] = ê, w_enc[i][latent] = 0.2 · ê_i, b_enc[latent] = 0; set each Var from the edited Vecs (Tensor::new).
// HINT: order.sort_by(|&a, &b| norm2(&err[b]).total_cmp(&norm2(&err[a])).then(a.cmp(&b))); … w_dec[lat][i] = v / len; w_enc[i][lat] = 0.2 * v / len;
pub fn resample_dead(sae: &Sae, x: &Tensor, dead: &[usize]) -> Result<()> {
    // BEGIN SOLUTION
    let (x_hat, _) = sae.forward(x)?;
    let err = (x - x_hat)?.to_vec2::<f32>()?;
    let norm2 = |r: &Vec<f32>| r.iter().map(|v| v * v).sum::<f32>();
    let mut order: Vec<usize> = (0..err.len()).collect();
    order.sort_by(|&a, &b| norm2(&err[b]).total_cmp(&norm2(&err[a])).then(a.cmp(&b)));
    let (mut w_enc, mut b_enc, mut w_dec) =
        (sae.w_enc.as_tensor().to_vec2::<f32>()?, sae.b_enc.as_tensor().to_vec1::<f32>()?, sae.w_dec.as_tensor().to_vec2::<f32>()?);
    for (k, &lat) in dead.iter().enumerate() {
        let e = &err[order[k]];
        let len = norm2(e).sqrt();
        for (i, v) in e.iter().enumerate() {
            w_dec[lat][i] = v / len;
            w_enc[i][lat] = 0.2 * v / len;
        }
        b_enc[lat] = 0.0;
    }
    let dev = x.device();
    sae.w_enc.set(&Tensor::new(w_enc, dev)?)?;
    sae.b_enc.set(&Tensor::new(b_enc, dev)?)?;
    sae.w_dec.set(&Tensor::new(w_dec, dev)?)
    // END SOLUTION
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
// HINT: Three things happen around each optimiser step: the batch is a wrapped window of 256 rows, the decoder rows are renormalised after the step, and a record of which latents fired is kept so that the dead ones are resampled every 200 steps, after which the record starts afresh.
// HINT: candle_nn AdamW (betas 0.9 and 0.999, eps 1e-8, weight_decay 0) over sae.vars(); step s: rows (256 s + i) % n for i in 0..256, by index_select; forward, backward_step on sae_loss, normalise_decoder; forward the batch again and mark in a Vec<bool> every latent whose max over the batch is above 0; when (s + 1) % 200 == 0, resample_dead the unmarked latents on this batch and clear the marks. Then measure on all of x: FVU = Σ‖x − x̂‖² / Σ‖x − mean‖², L0 = the mean count of f > 0 per row, dead = the share of latents above 0 on no row.
// HINT: for (j, m) in f.max(0)?.to_vec1::<f32>()?.iter().enumerate() { fired[j] |= *m > 0.0; } if (s + 1) % 200 == 0 { let dead: Vec<usize> = (0..d_sae).filter(|&j| !fired[j]).collect(); resample_dead(sae, &xb, &dead)?; fired = vec![false; d_sae]; }
pub fn train_sae(sae: &Sae, x: &Tensor, l1: f64, lr: f64, steps: usize) -> Result<SaeStats> {
    // BEGIN SOLUTION
    let n = x.dim(0)?;
    let d_sae = sae.b_enc.as_tensor().dim(0)?;
    let mut opt = AdamW::new(sae.vars(), ParamsAdamW { lr, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.0 })?;
    let mut fired = vec![false; d_sae];
    for s in 0..steps {
        let idx: Vec<u32> = (0..256).map(|i| ((256 * s + i) % n) as u32).collect();
        let xb = x.index_select(&Tensor::new(idx, x.device())?, 0)?;
        let (x_hat, f) = sae.forward(&xb)?;
        opt.backward_step(&sae_loss(&xb, &x_hat, &f, l1)?)?;
        normalise_decoder(sae)?;
        let (_, f) = sae.forward(&xb)?;
        for (j, m) in f.max(0)?.to_vec1::<f32>()?.iter().enumerate() {
            fired[j] |= *m > 0.0;
        }
        if (s + 1) % 200 == 0 {
            let dead: Vec<usize> = (0..d_sae).filter(|&j| !fired[j]).collect();
            resample_dead(sae, &xb, &dead)?;
            fired = vec![false; d_sae];
        }
    }
    let (x_hat, f) = sae.forward(x)?;
    let sse = (x - &x_hat)?.sqr()?.sum_all()?.to_scalar::<f32>()? as f64;
    let sst = x.broadcast_sub(&x.mean_keepdim(0)?)?.sqr()?.sum_all()?.to_scalar::<f32>()? as f64;
    let active = f.gt(0.0)?.to_dtype(candle_core::DType::F32)?;
    let l0 = active.sum(D::Minus1)?.mean_all()?.to_scalar::<f32>()? as f64;
    let dead = active.max(0)?.eq(0.0)?.to_dtype(candle_core::DType::F32)?.mean_all()?.to_scalar::<f32>()? as f64;
    Ok(SaeStats { fvu: sse / sst, l0, dead })
    // END SOLUTION
}
