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
// HINT: The gradient of the mean cross-entropy with respect to the logits is the softmax minus the one-hot of the target, divided by the batch size; compute the softmax stably (subtract each row's maximum) or it overflows for large logits.
// HINT: Softmax of the logits (max_keepdim, broadcast_sub, exp, broadcast_div by sum_keepdim), minus a one-hot built from y.unsqueeze(1) broadcast_eq Tensor::arange(0u32, C, dev).unsqueeze(0), converted with to_dtype(DType::F32), all divided by B.
// HINT: let onehot = y.unsqueeze(1)?.broadcast_eq(&Tensor::arange(0u32, c as u32, logits.device())?.unsqueeze(0)?)?.to_dtype(DType::F32)?; (p - onehot)? / b as f64
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
// HINT: Go back one line at a time; whenever a [B, 1] value was broadcast across a row its gradient is the row sum, and counts is used twice (in probs and in counts_sum), so its two contributions add.
// HINT: Recompute the forward steps (max_keepdim(1), broadcast_sub, exp, sum_keepdim(1), recip, broadcast_mul) and build one-hots with broadcast_eq against arange(0, C); then go back: dlogprobs, dprobs, dcounts_sum_inv, dcounts_sum, dcounts, dnorm_logits, dlogit_maxes, dlogits. Sums over axis 1 keep the axis; the maximum passes its gradient to the argmax position.
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
// HINT: Each gradient has the shape of its variable; that shape tells you which matrix to transpose and in which order to multiply, and the bias, broadcast over the batch, collects the sum over the batch.
// HINT: dx is [B, i]: dout [B, o] times the transpose of w; dw is [i, o]: the transpose of x times dout; db is [o]: dout summed over axis 0. Use matmul, t() and sum(0).
// HINT: let dx = dout.matmul(&w.t()?)?; let dw = x.t()?.matmul(dout)?; let db = dout.sum(0)?;
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
// HINT: The derivative of tanh is one minus the square of its output, so you never need the pre-activation: use the h you are given.
// HINT: Square h, turn it into 1 − h² (affine with multiplier −1 and offset 1) and multiply elementwise by dh.
// HINT: (h.sqr()?.affine(-1.0, 1.0)? * dh)?.contiguous()
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
// HINT: The batch mean and variance depend on every row, so each input's gradient has three parts: its own upstream gradient, minus the batch average of the upstream gradient, minus a part along the normalised input; eps stays inside the square root.
// HINT: Recompute the batch mean, biased variance, inv_std = 1/√(var + eps) and x̂ = (x − mean) · inv_std (mean_keepdim(0), sqr, sqrt, recip). dbeta = Σ_batch dy and dgamma = Σ_batch dy · x̂ with sum(0) (shape [d]); dx = gamma · inv_std / B · (B·dy − Σ dy − x̂ · Σ(dy · x̂)), the sums over the batch with sum_keepdim(0).
// HINT: let inner = ((dy * b)?.broadcast_sub(&dy.sum_keepdim(0)?)? - xhat.broadcast_mul(&(dy * &xhat)?.sum_keepdim(0)?)?)?; dx = inner.broadcast_mul(&(gamma.unsqueeze(0)?.broadcast_mul(&inv_std)? / b)?)
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
// HINT: Go through the steps in reverse; a [1, d] value broadcast over the batch collects the sum over the batch, a mean over the batch sends 1/B of its gradient to every row, and bndiff feeds two steps, so its two contributions add.
// HINT: Recompute bnmeani, bndiff, bnvar and bnvar_inv; then dbnraw = dhpreact · gamma; dbnvar_inv = Σ_b(bndiff · dbnraw) (sum_keepdim(0)); dbnvar from the derivative of (v + eps)^(-1/2); dbndiff2 = dbnvar / B copied to every row ([B, d]); dbndiff adds both uses; dbnmeani = −Σ_b dbndiff; dhprebn = dbndiff + dbnmeani / B.
// HINT: dbnvar = −½ (bnvar + eps)^(−3/2) · dbnvar_inv, i.e. (var_eps.powf(-1.5)? * -0.5)?.mul(&dbnvar_inv)?; and dbndiff = dbnraw · bnvar_inv + 2 · bndiff · dbndiff2, i.e. (dbnraw.broadcast_mul(&bnvar_inv)? + ((&bndiff * 2.0)? * &dbndiff2)?)?
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
// HINT: The lookup copied rows of the table, so the backward pass adds each gradient row back into the row it came from; a character used several times collects several gradients, which an assignment would lose.
// HINT: Flatten x to [B·block] indices and reshape demb to [B·block, n_embd]; start from zeros of shape (vocab, n_embd) with demb's dtype and device and call index_add along axis 0.
// HINT: Tensor::zeros((vocab, n_embd), demb.dtype(), demb.device())?.index_add(&x.flatten_all()?, &demb.reshape(((), n_embd))?, 0)
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
// HINT: Run the forward pass keeping every intermediate that the backward functions need, then chain your own backward functions from the logits back to the embedding table, each one's input gradient becoming the next one's upstream gradient.
// HINT: Forward as in the module doc (eps 1e-5), keeping embcat, hprebn, h and logits; then cross_entropy_backward → linear_backward(h, W2) gives (dh, dW2, db2) → tanh_backward gives dhpreact → batchnorm_backward gives (dhprebn, dgamma, dbeta) → linear_backward(embcat, W1) gives (dembcat, dW1, db1) → embedding_backward gives dC.
// HINT: let (demb, dw1, db1) = linear_backward(&emb, &p.w1, &dhprebn)?; let dc = embedding_backward(x, &demb.reshape((b, block, n_embd))?, p.c.dim(0)?)?;
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
