//! # Day 4: an MLP language model (Bengio et al. 2003)
//!
//! Predict the next character from the previous `block_size` characters (3 here). Each
//! character is looked up in an embedding table `C: [27, n_embd]`; the `block_size` embeddings
//! are concatenated into one vector of length `block_size · n_embd`, passed through a tanh
//! hidden layer and a linear layer to 27 logits:
//!
//! ```text
//! emb    = C[X]                      [B, block, n_embd]  → view as [B, block·n_embd]
//! h      = tanh(emb @ W1 + b1)       [B, n_hidden]
//! logits = h @ W2 + b2               [B, 27]
//! ```
//!
//! Weights are `[in, out]` (input times weight, as in the lecture; candle-nn's `Linear` stores
//! the transpose). All tensors are f32. Rules for the day: no `candle_nn::ops::softmax*`,
//! `log_softmax` or `candle_nn::loss` (you wrote them yesterday), no `candle_nn::BatchNorm`.
// STUB: #![allow(unused_variables, unused_imports, dead_code)] // remove once you have solved a few

use super::util::{randn, stoi, VOCAB};
use candle_core::{Device, Result, Tensor, Var, D};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// The parameters of the MLP language model.
#[derive(Clone)]
pub struct MlpParams {
    /// Embedding table `[27, n_embd]`.
    pub c: Tensor,
    /// `[block · n_embd, n_hidden]`
    pub w1: Tensor,
    /// `[n_hidden]`
    pub b1: Tensor,
    /// `[n_hidden, 27]`
    pub w2: Tensor,
    /// `[27]`
    pub b2: Tensor,
}

/// ## dataset
/// The training examples of a context-`block_size` model: for every name, start with a
/// context of `block_size` zeros (`...`); for each character of the name followed by the end
/// marker, emit (context, character) and slide the context left by one, appending the
/// character. `emma` with block 3 gives `... → e`, `..e → m`, `.em → m`, `emm → a`,
/// `mma → .`. Returns `X: [n, block_size]` and `Y: [n]`, both u32 on `dev`.
// HINT: Slide a window of block_size characters along each name: it starts as all start markers, the end marker is the last target, and every name starts again from a fresh window.
// HINT: Per name: ctx = vec![0u32; block_size]; for each stoi index c of the name followed by 0: extend xs with ctx, push c to ys, then drop ctx's first entry and append c. X = Tensor::from_vec(xs, (n, block_size), dev) and Y = Tensor::from_vec(ys, n, dev), both u32.
// HINT: xs.extend_from_slice(&ctx); ys.push(c as u32); ctx.remove(0); ctx.push(c as u32);
pub fn build_dataset(words: &[String], block_size: usize, dev: &Device) -> Result<(Tensor, Tensor)> {
    // BEGIN SOLUTION
    let (mut xs, mut ys) = (Vec::new(), Vec::new());
    for w in words {
        let mut ctx = vec![0u32; block_size];
        for c in w.chars().map(stoi).chain(std::iter::once(0)) {
            xs.extend_from_slice(&ctx);
            ys.push(c as u32);
            ctx.remove(0);
            ctx.push(c as u32);
        }
    }
    let n = ys.len();
    Ok((Tensor::from_vec(xs, (n, block_size), dev)?, Tensor::from_vec(ys, n, dev)?))
    // END SOLUTION
}

/// ## forward
/// The logits `[B, 27]` of the model for contexts `x: [B, block]` (u32), as in the module doc.
/// Gather the embeddings with `index_select` on the flattened `x`, then `reshape` to
/// `[B, block · n_embd]` (row-major: the first character's embedding first), `matmul`,
/// `broadcast_add`, `tanh`.
// HINT: Look up all the embeddings of the batch in one go from the flattened contexts, then reshape so that each example's block embeddings sit side by side in one row; the rest is two affine layers with a tanh between them.
// HINT: (b, block) = x.dims2() and n_embd = c.dim(1); emb = c.index_select(&x.flatten_all()?, 0) reshaped to (b, block * n_embd); h = tanh(emb matmul w1, broadcast_add b1); logits = h matmul w2, broadcast_add b2.
// HINT: let emb = p.c.index_select(&x.flatten_all()?, 0)?.reshape((b, block * n_embd))?; let h = emb.matmul(&p.w1)?.broadcast_add(&p.b1)?.tanh()?;
pub fn mlp_forward(p: &MlpParams, x: &Tensor) -> Result<Tensor> {
    // BEGIN SOLUTION
    let (b, block) = x.dims2()?;
    let n_embd = p.c.dim(1)?;
    let emb = p.c.index_select(&x.flatten_all()?, 0)?.reshape((b, block * n_embd))?;
    let h = emb.matmul(&p.w1)?.broadcast_add(&p.b1)?.tanh()?;
    h.matmul(&p.w2)?.broadcast_add(&p.b2)
    // END SOLUTION
}

/// ## cross_entropy
/// `F.cross_entropy(logits, y)`: the mean over the batch of `-log_softmax(logits)[b, y[b]]`
/// for `logits: [B, C]` and `y: [B]` u32, as a scalar tensor; numerically stable
/// (`l - max - ln Σ exp(l - max)`) and differentiable.
// HINT: It is yesterday's loss without the row lookup: shift each row by its maximum, take the log-softmax as the shifted logits minus the logarithm of the summed exponentials, and average the negated entries of the true classes.
// HINT: m = logits.max_keepdim(D::Minus1) (detached), shifted = logits.broadcast_sub(&m), lse = shifted exp, sum_keepdim(D::Minus1), log; logp = shifted.broadcast_sub(&lse); gather y.unsqueeze(1) along axis 1, then mean_all and neg.
// HINT: shifted.broadcast_sub(&lse)?.gather(&y.unsqueeze(1)?, 1)?.mean_all()?.neg()
pub fn cross_entropy(logits: &Tensor, y: &Tensor) -> Result<Tensor> {
    // BEGIN SOLUTION
    let m = logits.max_keepdim(D::Minus1)?.detach();
    let shifted = logits.broadcast_sub(&m)?;
    let lse = shifted.exp()?.sum_keepdim(D::Minus1)?.log()?;
    shifted.broadcast_sub(&lse)?.gather(&y.unsqueeze(1)?, 1)?.mean_all()?.neg()
    // END SOLUTION
}

/// ## init
/// A well-initialised model (draw in this order with [`randn`]: `C`, `W1`, `b1`, `W2`, `b2`):
///
/// - `C ~ N(0, 1)`;
/// - `W1 ~ N(0, σ²)` with Kaiming's `σ = (5/3) / √(block · n_embd)`: the gain 5/3 makes up for
///   tanh squashing, `1/√fan_in` keeps the pre-activations at unit scale, so the tanh units
///   are neither saturated (dead gradients) nor linear;
/// - `b1 ~ N(0, 0.01²)`;
/// - `W2 ~ N(0, 0.01²)` and `b2 = 0` (zeros): the initial logits are almost equal, so the
///   model starts out predicting the uniform distribution and the initial loss is `ln 27 ≈ 3.30`
///   instead of the ~20 of a `N(0, 1)` output layer ("the initial-loss fix").
///
/// Draw `b2` too (`randn` with std 0), so that the sequence of draws is fixed.
// HINT: The order of the draws matters as much as their scales: five tensors from one generator, in the order C, W1, b1, W2, b2, the last one drawn with a spread of zero, so that it is all zeros but still uses up its draws.
// HINT: Shapes C [27, n_embd], W1 [block·n_embd, n_hidden], b1 [n_hidden], W2 [n_hidden, 27], b2 [27]; standard deviations 1, (5/3)/√(block·n_embd), 0.01, 0.01 and 0, each with randn(rng, shape, std, dev), in that order.
// HINT: w1: randn(rng, &[fan_in, n_hidden], (5.0 / 3.0) / (fan_in as f64).sqrt(), dev)? with fan_in = block * n_embd, and b2: randn(rng, &[VOCAB], 0.0, dev)?
pub fn init_mlp(n_embd: usize, n_hidden: usize, block: usize, rng: &mut ChaCha8Rng, dev: &Device) -> Result<MlpParams> {
    // BEGIN SOLUTION
    let fan_in = block * n_embd;
    Ok(MlpParams {
        c: randn(rng, &[VOCAB, n_embd], 1.0, dev)?,
        w1: randn(rng, &[fan_in, n_hidden], (5.0 / 3.0) / (fan_in as f64).sqrt(), dev)?,
        b1: randn(rng, &[n_hidden], 0.01, dev)?,
        w2: randn(rng, &[n_hidden, VOCAB], 0.01, dev)?,
        b2: randn(rng, &[VOCAB], 0.0, dev)?,
    })
    // END SOLUTION
}

/// ## batchnorm
/// `nn.BatchNorm1d` in training mode on `x: [B, d]`: normalise each column with the batch
/// mean and the *biased* batch variance (divide by B), then scale and shift:
/// `y = gamma · (x - mean) / √(var + eps) + beta`. Also return the updated running statistics:
/// `running_mean ← (1 - momentum) · running_mean + momentum · mean` and the same for
/// `running_var` with the *unbiased* batch variance (divide by B - 1), as PyTorch does.
/// Returns `(y, new_running_mean, new_running_var)`; all `[d]` except `y`.
// HINT: Normalise with the biased variance (divide by B) but update the running variance with the unbiased one (divide by B − 1), as PyTorch does; eps goes inside the square root.
// HINT: mean = x.mean_keepdim(0) gives [1, d]; diff = x − mean (broadcast_sub); var = diff.sqr().mean_keepdim(0); y = diff / sqrt(var + eps) · gamma + beta (broadcast_div, broadcast_mul, broadcast_add). For the running statistics squeeze(0) mean and var to [d], scale var by B/(B − 1) and blend with momentum. batchnorm_eval is the same normalisation with running_mean and running_var.
// HINT: let rv = ((running_var * (1.0 - momentum))? + (var.squeeze(0)? * (b / (b - 1.0) * momentum))?)?; where b = x.dim(0)? as f64.
pub fn batchnorm_train(
    x: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    running_mean: &Tensor,
    running_var: &Tensor,
    momentum: f64,
    eps: f64,
) -> Result<(Tensor, Tensor, Tensor)> {
    // BEGIN SOLUTION
    let b = x.dim(0)? as f64;
    let mean = x.mean_keepdim(0)?;
    let diff = x.broadcast_sub(&mean)?;
    let var = diff.sqr()?.mean_keepdim(0)?;
    let y = diff.broadcast_div(&(var.clone() + eps)?.sqrt()?)?.broadcast_mul(gamma)?.broadcast_add(beta)?;
    let mean = mean.squeeze(0)?;
    let var_unbiased = (var.squeeze(0)? * (b / (b - 1.0)))?;
    let rm = ((running_mean * (1.0 - momentum))? + (mean * momentum)?)?;
    let rv = ((running_var * (1.0 - momentum))? + (var_unbiased * momentum)?)?;
    Ok((y, rm, rv))
    // END SOLUTION
}

/// `nn.BatchNorm1d` in evaluation mode: as [`batchnorm_train`] with the running statistics in
/// place of the batch's: `y = gamma · (x - running_mean) / √(running_var + eps) + beta`.
pub fn batchnorm_eval(x: &Tensor, gamma: &Tensor, beta: &Tensor, running_mean: &Tensor, running_var: &Tensor, eps: f64) -> Result<Tensor> {
    // BEGIN SOLUTION
    x.broadcast_sub(running_mean)?.broadcast_div(&(running_var + eps)?.sqrt()?)?.broadcast_mul(gamma)?.broadcast_add(beta)
    // END SOLUTION
}

/// ## train_long
/// Train the MLP language model on `train = (X, Y)` and return the trained parameters and
/// their loss on `dev = (X, Y)` (all of it, one forward pass). You choose everything: sizes
/// (the lecture: `n_embd = 10`, `n_hidden = 200`), initialisation ([`init_mlp`]), batch size,
/// optimiser (plain SGD with a learning-rate decay reaches it; `candle_nn::AdamW` is allowed
/// here and gets there in fewer steps), number of steps. Draw minibatch indices from `rng`.
/// Target: dev loss ≤ 2.2 within 10 minutes (`--long`).
/// Call `candlecamp::progress(step, steps, loss)` once a step (the step counting from 0, the
/// loss as a number): the grader shows the step, the loss and the time left while it runs.
// HINT: The dev loss target needs a good initialisation plus enough minibatch steps with a learning rate that decays; every parameter must be a Var that the optimiser updates, and the returned model should hold plain (detached) tensors.
// HINT: init_mlp(10, 200, block, rng, device) and wrap the five tensors as Vars; each step draw a few hundred random indices from rng, index_select the batch from X and Y, loss = cross_entropy(mlp_forward(..)), opt.backward_step(&loss). AdamW (lr about 3e-3, decayed) for ~20k steps, or SGD with lr 0.1 → 0.01 over 200k steps as in the lecture. Finally one cross_entropy over all of dev.
// HINT: let mut opt = AdamW::new(vars.clone(), ParamsAdamW { lr: 3e-3, weight_decay: 0.0, ..Default::default() })?; each step opt.set_learning_rate(3e-3 * (0.1 + 0.9 * 0.5 * (1.0 + (PI * step as f64 / steps as f64).cos()))); opt.backward_step(&loss)?;
pub fn train_mlp(train: &(Tensor, Tensor), dev: &(Tensor, Tensor), rng: &mut ChaCha8Rng) -> Result<(MlpParams, f32)> {
    // BEGIN SOLUTION
    use candle_nn::{AdamW, Optimizer, ParamsAdamW};
    let device = train.0.device();
    let p = init_mlp(10, 200, train.0.dim(1)?, rng, device)?;
    let vars: Vec<Var> = [&p.c, &p.w1, &p.b1, &p.w2, &p.b2].iter().map(|t| Var::from_tensor(t)).collect::<Result<_>>()?;
    let model = |v: &[Var]| MlpParams {
        c: v[0].as_tensor().clone(),
        w1: v[1].as_tensor().clone(),
        b1: v[2].as_tensor().clone(),
        w2: v[3].as_tensor().clone(),
        b2: v[4].as_tensor().clone(),
    };
    let mut opt = AdamW::new(vars.clone(), ParamsAdamW { lr: 3e-3, weight_decay: 0.0, ..Default::default() })?;
    let n = train.0.dim(0)?;
    let (steps, batch) = (MLP_STEPS, 256);
    for step in 0..steps {
        let idx: Vec<u32> = (0..batch).map(|_| rng.random_range(0..n) as u32).collect();
        let idx = Tensor::from_vec(idx, batch, device)?;
        let (xb, yb) = (train.0.index_select(&idx, 0)?, train.1.index_select(&idx, 0)?);
        let loss = cross_entropy(&mlp_forward(&model(&vars), &xb)?, &yb)?;
        // Cosine decay to a tenth of the initial rate.
        let t = step as f64 / steps as f64;
        opt.set_learning_rate(3e-3 * (0.1 + 0.9 * 0.5 * (1.0 + (std::f64::consts::PI * t).cos())));
        opt.backward_step(&loss)?;
        candlecamp::progress(step, steps, loss.to_scalar::<f32>()?);
    }
    let p = model(&vars);
    let p = MlpParams { c: p.c.detach(), w1: p.w1.detach(), b1: p.b1.detach(), w2: p.w2.detach(), b2: p.b2.detach() };
    let dev_loss = cross_entropy(&mlp_forward(&p, &dev.0)?, &dev.1)?.to_scalar::<f32>()?;
    Ok((p, dev_loss))
    // END SOLUTION
}
// BEGIN SOLUTION ONLY
const MLP_STEPS: usize = 20_000;
// END SOLUTION
