//! # Day 5: backpropagation by hand
//!
//! The gradients of the MLP language model with BatchNorm, written out layer by layer instead
//! of calling `backward()`. The forward pass (batch `B`, f32):
//!
//! ```text
//! emb     = C[X]                          [B, block, n_embd]
//! embcat  = emb viewed as                 [B, block·n_embd]
//! hprebn  = embcat @ W1 + b1              [B, n_hidden]
//! hpreact = batchnorm(hprebn; gamma, beta) (training mode: batch mean, biased batch variance, eps)
//! h       = tanh(hpreact)
//! logits  = h @ W2 + b2                   [B, 27]
//! loss    = cross_entropy(logits, Y)      (mean over the batch)
//! ```
//!
//! Every function receives the upstream gradient `d<output>` = ∂loss/∂output and returns the
//! gradients of its inputs; the grader compares each with PyTorch autograd on the same batch.
//! Rule for the day: no `.backward(` — the point is to derive it yourself.
// STUB: #![allow(unused_variables, unused_imports, dead_code)] // remove once you have solved a few

use candle_core::{DType, Result, Tensor, D};

/// ## cross_entropy_backward
/// ∂loss/∂logits for `loss = cross_entropy(logits, y)` (mean over the batch `B`):
/// `dlogits = (softmax(logits) - one_hot(y)) / B`. The fused formula: no intermediate
/// gradients of max, exp, sum or log. Build `one_hot(y)` by comparing `y` (as `[B, 1]`) with
/// `arange(0, C)` (as `[1, C]`) (`broadcast_eq`, then `to_dtype(F32)`).
// HINT: Softmax of the logits (subtract the row max first), minus a one-hot built as y.unsqueeze(1).broadcast_eq(&arange(0, C).unsqueeze(0)).to_dtype(F32), divided by the batch size.
pub fn cross_entropy_backward(logits: &Tensor, y: &Tensor) -> Result<Tensor> {
    // BEGIN SOLUTION
    let (b, c) = logits.dims2()?;
    let m = logits.max_keepdim(D::Minus1)?;
    let e = logits.broadcast_sub(&m)?.exp()?;
    let p = e.broadcast_div(&e.sum_keepdim(D::Minus1)?)?;
    let classes = Tensor::arange(0u32, c as u32, logits.device())?.unsqueeze(0)?;
    let onehot = y.unsqueeze(1)?.broadcast_eq(&classes)?.to_dtype(DType::F32)?;
    (p - onehot)? / b as f64
    // END SOLUTION
}

/// The gradient of every elementary step of the cross-entropy (each field: ∂loss/∂that step,
/// with that step's shape).
pub struct CeSteps {
    pub logprobs: Tensor,
    pub probs: Tensor,
    pub counts_sum_inv: Tensor,
    pub counts_sum: Tensor,
    pub counts: Tensor,
    pub norm_logits: Tensor,
    pub logit_maxes: Tensor,
    pub logits: Tensor,
}

/// ## cross_entropy_steps
/// The cross-entropy written as the lecture's elementary steps (`[B, C]` logits, u32 `y`):
///
/// ```text
/// logit_maxes    = max(logits, axis 1, keepdim)     [B, 1]
/// norm_logits    = logits - logit_maxes             [B, C]
/// counts         = exp(norm_logits)
/// counts_sum     = Σ_axis1 counts (keepdim)         [B, 1]
/// counts_sum_inv = counts_sum⁻¹
/// probs          = counts · counts_sum_inv
/// logprobs       = ln probs
/// loss           = -mean_b logprobs[b, y[b]]
/// ```
///
/// Go backwards one step at a time: `dlogprobs` is `-1/B` at each `(b, y[b])`, 0 elsewhere;
/// `dprobs = dlogprobs / probs`; a broadcast factor's gradient sums over the broadcast axis
/// (`dcounts_sum_inv = Σ_axis1 counts · dprobs`); a variable used twice (`counts` feeds
/// `probs` and `counts_sum`) adds both contributions; the max passes its gradient to the
/// position of the maximum (one-hot of `argmax`). `dlogit_maxes` comes out ~0: the loss does not
/// depend on the shift.
// HINT: Backwards from dlogprobs = -one_hot(y)/B: dprobs = dlogprobs / probs; dcounts_sum_inv = Σ_axis1(counts · dprobs); dcounts_sum = -counts_sum⁻² · dcounts_sum_inv; dcounts = dprobs · counts_sum_inv + dcounts_sum (both uses); dnorm_logits = counts · dcounts; dlogit_maxes = -Σ_axis1 dnorm_logits; dlogits = dnorm_logits + one_hot(argmax) · dlogit_maxes.
pub fn cross_entropy_steps(logits: &Tensor, y: &Tensor) -> Result<CeSteps> {
    // BEGIN SOLUTION
    let (b, c) = logits.dims2()?;
    let dev = logits.device();
    let classes = Tensor::arange(0u32, c as u32, dev)?.unsqueeze(0)?;
    let onehot = |ix: &Tensor| ix.unsqueeze(1)?.broadcast_eq(&classes)?.to_dtype(DType::F32);
    let logit_maxes = logits.max_keepdim(1)?;
    let norm_logits = logits.broadcast_sub(&logit_maxes)?;
    let counts = norm_logits.exp()?;
    let counts_sum = counts.sum_keepdim(1)?;
    let counts_sum_inv = counts_sum.recip()?;
    let probs = counts.broadcast_mul(&counts_sum_inv)?;
    let dlogprobs = (onehot(y)? * (-1.0 / b as f64))?;
    let dprobs = (&dlogprobs / &probs)?;
    let dcounts_sum_inv = (&counts * &dprobs)?.sum_keepdim(1)?;
    let dcounts_sum = (counts_sum.sqr()?.recip()?.neg()? * &dcounts_sum_inv)?;
    let dcounts = (dprobs.broadcast_mul(&counts_sum_inv)? + dcounts_sum.broadcast_as((b, c))?)?;
    let dnorm_logits = (&counts * &dcounts)?;
    let dlogit_maxes = dnorm_logits.sum_keepdim(1)?.neg()?;
    let argmax = logits.argmax(1)?;
    let dlogits = (&dnorm_logits + onehot(&argmax)?.broadcast_mul(&dlogit_maxes)?)?;
    Ok(CeSteps {
        logprobs: dlogprobs,
        probs: dprobs,
        counts_sum_inv: dcounts_sum_inv,
        counts_sum: dcounts_sum,
        counts: dcounts,
        norm_logits: dnorm_logits,
        logit_maxes: dlogit_maxes,
        logits: dlogits,
    })
    // END SOLUTION
}

/// ## linear_backward
/// For `out = x @ w + b` with `x: [B, i]`, `w: [i, o]`, `b: [o]` and the upstream `dout: [B, o]`:
/// `dx = dout @ wᵀ`, `dw = xᵀ @ dout`, `db = Σ_batch dout`. Check the shapes: each gradient has
/// its variable's shape. Returns `(dx, dw, db)`.
// HINT: dx = dout.matmul(&w.t()?), dw = x.t()?.matmul(dout), db = dout.sum(0). Every gradient has the shape of its variable.
pub fn linear_backward(x: &Tensor, w: &Tensor, dout: &Tensor) -> Result<(Tensor, Tensor, Tensor)> {
    // BEGIN SOLUTION
    let dx = dout.matmul(&w.t()?)?;
    let dw = x.t()?.matmul(dout)?;
    let db = dout.sum(0)?;
    Ok((dx, dw, db))
    // END SOLUTION
}

/// ## tanh_backward
/// For `h = tanh(pre)`, given the output `h` and upstream `dh`: `dpre = (1 - h²) · dh`.
// HINT: Use the output: dpre = (1 - h²) · dh (h.sqr(), affine(-1, 1), multiply).
pub fn tanh_backward(h: &Tensor, dh: &Tensor) -> Result<Tensor> {
    // BEGIN SOLUTION
    (h.sqr()?.affine(-1.0, 1.0)? * dh)?.contiguous()
    // END SOLUTION
}

/// ## batchnorm_backward
/// Training-mode batch normalisation `y = gamma · x̂ + beta`, `x̂ = (x - μ) / √(σ² + eps)` with
/// the batch mean `μ` and biased batch variance `σ²` of each column of `x: [B, d]`. Given the
/// upstream `dy: [B, d]`, return `(dx, dgamma, dbeta)`:
///
/// ```text
/// dbeta  = Σ_b dy
/// dgamma = Σ_b dy · x̂
/// dx     = gamma / (B · √(σ² + eps)) · (B · dy - Σ_b dy - x̂ · Σ_b (dy · x̂))
/// ```
///
/// (the fused formula: μ and σ² depend on every row, which is where the two sums come from).
// HINT: Recompute mean, biased var, inv_std = 1/sqrt(var+eps), x̂. dbeta = Σ dy, dgamma = Σ dy·x̂, dx = gamma·inv_std/B · (B·dy − Σdy − x̂·Σ(dy·x̂)), sums over the batch with keepdim.
pub fn batchnorm_backward(x: &Tensor, gamma: &Tensor, dy: &Tensor, eps: f64) -> Result<(Tensor, Tensor, Tensor)> {
    // BEGIN SOLUTION
    let b = x.dim(0)? as f64;
    let mean = x.mean_keepdim(0)?;
    let diff = x.broadcast_sub(&mean)?;
    let var = diff.sqr()?.mean_keepdim(0)?;
    let inv_std = (var + eps)?.sqrt()?.recip()?;
    let xhat = diff.broadcast_mul(&inv_std)?;
    let dbeta = dy.sum(0)?;
    let dgamma = (dy * &xhat)?.sum(0)?;
    let inner = ((dy * b)?.broadcast_sub(&dy.sum_keepdim(0)?)? - xhat.broadcast_mul(&(dy * &xhat)?.sum_keepdim(0)?)?)?;
    let scale = (gamma.unsqueeze(0)?.broadcast_mul(&inv_std)? / b)?;
    let dx = inner.broadcast_mul(&scale)?;
    Ok((dx, dgamma, dbeta))
    // END SOLUTION
}

/// The gradient of every elementary step of batch normalisation (each field: ∂loss/∂that step).
pub struct BnSteps {
    pub bnraw: Tensor,
    pub bnvar_inv: Tensor,
    pub bnvar: Tensor,
    pub bndiff2: Tensor,
    pub bndiff: Tensor,
    pub bnmeani: Tensor,
    pub hprebn: Tensor,
}

/// ## batchnorm_steps
/// Training-mode BatchNorm of `hprebn: [B, d]` written as elementary steps:
///
/// ```text
/// bnmeani   = (1/B) Σ_b hprebn          [1, d]
/// bndiff    = hprebn - bnmeani          [B, d]
/// bndiff2   = bndiff²
/// bnvar     = (1/B) Σ_b bndiff2         [1, d]   (biased, as in training mode)
/// bnvar_inv = (bnvar + eps)^(-1/2)
/// bnraw     = bndiff · bnvar_inv
/// hpreact   = gamma · bnraw + beta
/// ```
///
/// Given `dhpreact`, go back one step at a time and return every step's gradient, ending with
/// `dhprebn`. `bndiff` is used twice (in `bndiff2` and `bnraw`): add both contributions. A
/// `[1, d]` factor broadcast over the batch gets the sum over the batch; a sum over the batch
/// passes its gradient back to every row.
// HINT: dbnraw = dhpreact · gamma; dbnvar_inv = Σ_b(bndiff · dbnraw); dbnvar = -½(bnvar + eps)^(-3/2) · dbnvar_inv; dbndiff2 = dbnvar / B on every row; dbndiff = dbnraw · bnvar_inv + 2 · bndiff · dbndiff2; dbnmeani = -Σ_b dbndiff; dhprebn = dbndiff + dbnmeani / B.
pub fn batchnorm_steps(hprebn: &Tensor, gamma: &Tensor, dhpreact: &Tensor, eps: f64) -> Result<BnSteps> {
    // BEGIN SOLUTION
    let n = hprebn.dim(0)?;
    let bnmeani = hprebn.mean_keepdim(0)?;
    let bndiff = hprebn.broadcast_sub(&bnmeani)?;
    let bnvar = bndiff.sqr()?.mean_keepdim(0)?;
    let var_eps = (bnvar + eps)?;
    let bnvar_inv = var_eps.sqrt()?.recip()?;
    let dbnraw = dhpreact.broadcast_mul(gamma)?;
    let dbnvar_inv = (&bndiff * &dbnraw)?.sum_keepdim(0)?;
    let dbnvar = (var_eps.powf(-1.5)? * -0.5)?.mul(&dbnvar_inv)?;
    let dbndiff2 = (dbnvar.broadcast_as(hprebn.shape())? / n as f64)?.contiguous()?;
    let dbndiff = (dbnraw.broadcast_mul(&bnvar_inv)? + ((&bndiff * 2.0)? * &dbndiff2)?)?;
    let dbnmeani = dbndiff.sum_keepdim(0)?.neg()?;
    let dhprebn = dbndiff.broadcast_add(&(&dbnmeani / n as f64)?)?;
    Ok(BnSteps { bnraw: dbnraw, bnvar_inv: dbnvar_inv, bnvar: dbnvar, bndiff2: dbndiff2, bndiff: dbndiff, bnmeani: dbnmeani, hprebn: dhprebn })
    // END SOLUTION
}

/// ## embedding_backward
/// For `emb = C[x]` with `x: [B, block]` (u32) and `C: [vocab, n_embd]`, given
/// `demb: [B, block, n_embd]`: `dC[v] = Σ of demb[b, t] over every (b, t) with x[b, t] = v` — a
/// row used several times collects several gradients (the same rule as micrograd's reused
/// nodes). Rule: no loop over the batch; `Tensor::index_add` on zeros does it in one call.
// HINT: Tensor::zeros((vocab, n_embd))?.index_add(&x.flatten_all()?, &demb.reshape(((), n_embd))?, 0): rows used several times add up.
pub fn embedding_backward(x: &Tensor, demb: &Tensor, vocab: usize) -> Result<Tensor> {
    // BEGIN SOLUTION
    let n_embd = demb.dim(D::Minus1)?;
    let flat = demb.reshape(((), n_embd))?;
    Tensor::zeros((vocab, n_embd), demb.dtype(), demb.device())?.index_add(&x.flatten_all()?, &flat, 0)
    // END SOLUTION
}

/// The parameters of the MLP with BatchNorm (shapes as in the module doc; `gamma`, `beta`: `[n_hidden]`).
#[derive(Clone)]
pub struct MlpBn {
    pub c: Tensor,
    pub w1: Tensor,
    pub b1: Tensor,
    pub gamma: Tensor,
    pub beta: Tensor,
    pub w2: Tensor,
    pub b2: Tensor,
}

/// ## full_backward
/// The whole backward pass: run the forward pass of the module doc on the batch `(x, y)` (eps
/// `1e-5`), then chain your backward functions from the loss back to the embedding table.
/// Returns the gradients in an `MlpBn` (each field the gradient of that parameter; note that
/// `b1` gets a gradient even though BatchNorm subtracts it out again: it is ~0).
// HINT: Forward as in the module doc, keeping emb, hprebn, h and logits; then dlogits → (dh, dW2, db2) → dhpreact → (dhprebn, dgamma, dbeta) → (demb, dW1, db1) → dC, reshaping demb to [B, block, n_embd].
pub fn full_backward(p: &MlpBn, x: &Tensor, y: &Tensor) -> Result<MlpBn> {
    // BEGIN SOLUTION
    let (b, block) = x.dims2()?;
    let n_embd = p.c.dim(1)?;
    let emb = p.c.index_select(&x.flatten_all()?, 0)?.reshape((b, block * n_embd))?;
    let hprebn = emb.matmul(&p.w1)?.broadcast_add(&p.b1)?;
    let mean = hprebn.mean_keepdim(0)?;
    let diff = hprebn.broadcast_sub(&mean)?;
    let var = diff.sqr()?.mean_keepdim(0)?;
    let hpreact = diff.broadcast_div(&(var + 1e-5)?.sqrt()?)?.broadcast_mul(&p.gamma)?.broadcast_add(&p.beta)?;
    let h = hpreact.tanh()?;
    let logits = h.matmul(&p.w2)?.broadcast_add(&p.b2)?;
    let dlogits = cross_entropy_backward(&logits, y)?;
    let (dh, dw2, db2) = linear_backward(&h, &p.w2, &dlogits)?;
    let dhpreact = tanh_backward(&h, &dh)?;
    let (dhprebn, dgamma, dbeta) = batchnorm_backward(&hprebn, &p.gamma, &dhpreact, 1e-5)?;
    let (demb, dw1, db1) = linear_backward(&emb, &p.w1, &dhprebn)?;
    let dc = embedding_backward(x, &demb.reshape((b, block, n_embd))?, p.c.dim(0)?)?;
    Ok(MlpBn { c: dc, w1: dw1, b1: db1, gamma: dgamma, beta: dbeta, w2: dw2, b2: db2 })
    // END SOLUTION
}
