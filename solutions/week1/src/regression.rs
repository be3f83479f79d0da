//! # Regression
//!
//! Fitting a line two ways — solving the normal equations exactly, and walking downhill with
//! gradient descent — then softmax ("multinomial logistic") regression on MNIST, the
//! first model of the course that learns from real data. Gradients are written by hand today;
//! autograd comes later in the week.
//!
//! Conventions: a linear model is `ŷ = x · w + b` with `x: [n, d]`, `w: [d]`, `b` a scalar; the
//! mean squared error is `L = (1/n) Σ (ŷ_i − y_i)²`. Class labels are `u32` tensors. Make new
//! tensors on the inputs' device and with their dtype.
// STUB: #![allow(unused_variables, unused_imports)] // remove once you have solved a few

use candle_core::{DType, Result, Tensor, D};
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

/// ## solve
/// Solve the linear system `a · x = b` for `x`, with `a: [d, d]` invertible and `b: [d]`
/// (both f64), by Gaussian elimination with partial pivoting: for each column `k`, swap up
/// the row (at or below `k`) whose entry in column `k` is largest in absolute value, then
/// subtract multiples of row `k` from the rows below to zero the column; finally substitute
/// backwards from the last row. Returns `x: [d]` (f64).
///
/// candle has no `linalg.solve`: this is the building block for the closed-form fit. `d` is
/// small (≤ 20), so work on the rows of the augmented matrix `[a | b]` as tensors (one
/// tensor operation per row and step), or copy it into a `Vec<f64>` — both are fine here.
/// Without pivoting, a zero on the diagonal (one of the checks has one) divides by zero.
// HINT: Eliminate column by column, but before each column bring up the row with the largest entry (in absolute value) in that column: otherwise a zero on the diagonal divides by zero. Then solve from the last unknown back to the first.
// HINT: Copy a and b into a Vec<Vec<f64>> and a Vec<f64> (to_dtype(F64), then to_vec2 / to_vec1). For k in 0..d: find the row p ≥ k with the largest |m[p][k]|, swap rows k and p in both, subtract m[i][k]/m[k][k] times row k from every row i > k (right-hand side included). Then back-substitute from i = d − 1 down to 0: x[i] = (r[i] − Σ over j > i of m[i][j]·x[j]) / m[i][i]; Tensor::from_vec(x, d, device).
// HINT: let p = (k..d).max_by(|&i, &j| m[i][k].abs().total_cmp(&m[j][k].abs())).unwrap(); m.swap(k, p); r.swap(k, p);
pub fn solve(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    // BEGIN SOLUTION
    let d = a.dim(0)?;
    let mut m: Vec<Vec<f64>> = a.to_dtype(DType::F64)?.to_vec2()?;
    let mut r: Vec<f64> = b.to_dtype(DType::F64)?.to_vec1()?;
    for k in 0..d {
        let p = (k..d).max_by(|&i, &j| m[i][k].abs().total_cmp(&m[j][k].abs())).unwrap();
        m.swap(k, p);
        r.swap(k, p);
        for i in k + 1..d {
            let f = m[i][k] / m[k][k];
            for j in k..d {
                m[i][j] -= f * m[k][j];
            }
            r[i] -= f * r[k];
        }
    }
    let mut x = vec![0f64; d];
    for i in (0..d).rev() {
        let s: f64 = (i + 1..d).map(|j| m[i][j] * x[j]).sum();
        x[i] = (r[i] - s) / m[i][i];
    }
    Tensor::from_vec(x, d, a.device())
    // END SOLUTION
}

/// ## linear_closed_form
/// The least-squares line: the `w: [d]` and bias `b` minimising `Σ (x_i · w + b − y_i)²` for
/// `x: [n, d]`, `y: [n]` (f64). Append a column of ones to `x` (call it `X: [n, d + 1]`, so the
/// bias is the last weight); setting the gradient to zero gives the normal equations
/// `(Xᵀ X) θ = Xᵀ y`. Solve them with your `solve`. Returns `θ: [d + 1]` = `[w_1 … w_d, b]`.
// HINT: Treat the bias as one more weight whose input is always 1; least squares then becomes a square linear system (the normal equations) that your solve handles.
// HINT: X = x with a column of ones appended (Tensor::cat along dim 1 with ones of shape (n, 1), x's dtype and device) → [n, d + 1]; A = Xᵀ·X ([d + 1, d + 1]); rhs = Xᵀ·y, with y unsqueezed to [n, 1] for the matmul and squeezed back; return solve(&A, &rhs).
// HINT: let xtx = xa.t()?.matmul(&xa)?; let xty = xa.t()?.matmul(&y.unsqueeze(1)?)?.squeeze(1)?; solve(&xtx, &xty)
pub fn linear_closed_form(x: &Tensor, y: &Tensor) -> Result<Tensor> {
    // BEGIN SOLUTION
    let n = x.dim(0)?;
    let xa = Tensor::cat(&[x.clone(), Tensor::ones((n, 1), x.dtype(), x.device())?], 1)?;
    let xtx = xa.t()?.matmul(&xa)?;
    let xty = xa.t()?.matmul(&y.unsqueeze(1)?)?.squeeze(1)?;
    solve(&xtx, &xty)
    // END SOLUTION
}

/// ## linear_gd
/// Fit the same model by full-batch gradient descent on the mean squared error, starting from
/// `w = 0`, `b = 0`: for each of `steps` steps, compute the residual `r = x · w + b − y`, the
/// loss `L = mean(r²)` (record it *before* the update), the gradients `∂L/∂w = (2/n) xᵀ r` and
/// `∂L/∂b = (2/n) Σ r`, and step `w -= lr · ∂L/∂w`, `b -= lr · ∂L/∂b`. `x: [n, d]`, `y: [n]`,
/// f32. Returns `(θ, losses)`: `θ: [d + 1]` = `[w_1 … w_d, b]` after the last step and
/// `losses: [steps]`.
// HINT: Record the loss before you update, and update w and b from the same residual: the gradient of the mean squared error is the residual, sent back through x, times 2/n.
// HINT: Keep w [d] and b [1] as tensors of zeros; per step: r = x·w + b − y (matmul with w unsqueezed to [d, 1], squeezed back, broadcast_add b); push mean(r²) as a scalar tensor; gw = (2/n)·xᵀr and gb = (2/n)·Σr (sum_keepdim(0) keeps it [1]); w −= lr·gw, b −= lr·gb. At the end cat w and b into θ and stack the recorded losses.
// HINT: let gw = (x.t()?.matmul(&r.unsqueeze(1)?)?.squeeze(1)? * (2.0 / n as f64))?; let gb = (r.sum_keepdim(0)? * (2.0 / n as f64))?;
pub fn linear_gd(x: &Tensor, y: &Tensor, lr: f64, steps: usize) -> Result<(Tensor, Tensor)> {
    // BEGIN SOLUTION
    let (n, d) = x.dims2()?;
    let mut w = Tensor::zeros(d, x.dtype(), x.device())?;
    let mut b = Tensor::zeros(1, x.dtype(), x.device())?;
    let mut losses = Vec::with_capacity(steps);
    for _ in 0..steps {
        let pred = x.matmul(&w.unsqueeze(1)?)?.squeeze(1)?.broadcast_add(&b)?;
        let r = (pred - y)?;
        losses.push(r.sqr()?.mean_all()?);
        let gw = (x.t()?.matmul(&r.unsqueeze(1)?)?.squeeze(1)? * (2.0 / n as f64))?;
        let gb = (r.sum_keepdim(0)? * (2.0 / n as f64))?;
        w = (w - (gw * lr)?)?;
        b = (b - (gb * lr)?)?;
    }
    Ok((Tensor::cat(&[w, b], 0)?, Tensor::stack(&losses, 0)?))
    // END SOLUTION
}

/// ## cross_entropy
/// The mean cross-entropy of `logits: [n, k]` against class `labels: [n]` (u32):
/// `L = −(1/n) Σ_i log softmax(logits_i)[labels_i]`. Compute `log softmax` stably: subtract the
/// row maximum before `exp` (the check includes logits of size ~100, where a naive `exp`
/// overflows f32), `log_softmax = z − max − log Σ exp(z − max)`; pick each row's label with
/// `gather`. Returns a scalar (rank 0) tensor. No `candle_nn::loss` / `candle_nn::ops`.
// HINT: Work in log space: the log-probabilities are the logits minus their log-sum-exp, and subtracting the row maximum first keeps exp from overflowing. Then pick each row's label entry, average, and negate.
// HINT: z = logits broadcast_sub their max_keepdim over the last axis; lse = log of the sum_keepdim of exp(z); logp = z broadcast_sub lse; gather logp along dim 1 with the labels (as u32) unsqueezed to [n, 1]; mean_all, then neg, gives a rank-0 scalar.
// HINT: let picked = logp.gather(&labels.to_dtype(DType::U32)?.unsqueeze(1)?, 1)?; picked.mean_all()?.neg()
pub fn cross_entropy(logits: &Tensor, labels: &Tensor) -> Result<Tensor> {
    // BEGIN SOLUTION
    let max = logits.max_keepdim(D::Minus1)?;
    let z = logits.broadcast_sub(&max)?;
    let lse = z.exp()?.sum_keepdim(D::Minus1)?.log()?;
    let logp = z.broadcast_sub(&lse)?;
    let picked = logp.gather(&labels.to_dtype(DType::U32)?.unsqueeze(1)?, 1)?;
    picked.mean_all()?.neg()
    // END SOLUTION
}

/// ## softmax_regression_grad
/// The gradients of `cross_entropy(x · w + b, labels)` with respect to `w: [d, k]` and
/// `b: [k]`, for `x: [n, d]`, by hand: with `p = softmax(x · w + b)` and `Y` the one-hot
/// labels (`[n, k]`), `∂L/∂logits = (p − Y) / n`, so `∂L/∂w = xᵀ (p − Y) / n` and
/// `∂L/∂b = Σ_rows (p − Y) / n`. Returns `(dw, db)`. No autograd (`Var`, `backward`).
// HINT: For softmax with cross-entropy, the gradient at the logits is simply the probabilities minus the one-hot targets, divided by the batch size; the weight and bias gradients follow through the linear layer by the chain rule.
// HINT: logits = x·w + b (matmul, broadcast_add); p = the softmax of each row, computed stably (subtract the row max before exp: the check uses logits in the hundreds); Y = one-hot labels (arange(k) compared with labels as a column, in x's dtype); G = (p − Y)/n; dw = xᵀ·G ([d, k]); db = G summed over the rows ([k]).
// HINT: let g = ((p - y_onehot)? / n as f64)?; Ok((x.t()?.matmul(&g)?, g.sum(0)?))
pub fn softmax_regression_grad(x: &Tensor, labels: &Tensor, w: &Tensor, b: &Tensor) -> Result<(Tensor, Tensor)> {
    // BEGIN SOLUTION
    let n = x.dim(0)?;
    let logits = x.matmul(w)?.broadcast_add(b)?;
    let dlogits = ((softmax_rows(&logits)? - one_hot(labels, w.dim(1)?, x.dtype())?)? / n as f64)?;
    Ok((x.t()?.matmul(&dlogits)?, dlogits.sum(0)?))
    // END SOLUTION
}

// BEGIN SOLUTION ONLY
fn softmax_rows(z: &Tensor) -> Result<Tensor> {
    let e = z.broadcast_sub(&z.max_keepdim(D::Minus1)?)?.exp()?;
    e.broadcast_div(&e.sum_keepdim(D::Minus1)?)
}

fn one_hot(labels: &Tensor, k: usize, dtype: DType) -> Result<Tensor> {
    let n = labels.dim(0)?;
    let classes = Tensor::arange(0u32, k as u32, labels.device())?.unsqueeze(0)?.broadcast_as((n, k))?;
    classes.broadcast_eq(&labels.to_dtype(DType::U32)?.unsqueeze(1)?)?.to_dtype(dtype)
}
// END SOLUTION

/// ## train_softmax_regression
/// Train softmax regression on MNIST by minibatch stochastic gradient descent: `w: [784, 10]`
/// and `b: [10]` start at zero; for each of `epochs` passes over the data, shuffle the example
/// indices with `rng` (`SliceRandom::shuffle` on a `Vec<u32>`), cut them into batches of
/// `batch` (the last may be smaller), and for each batch step `w -= lr · dw`, `b -= lr · db`
/// with your `softmax_regression_grad`. `images: [n, 784]` f32 in [0, 1], `labels: [n]` u32.
/// Returns `(w, b)`. The check trains on MNIST's training part and needs ≥ 90 % accuracy on
/// the held-out images (the grader computes the accuracy itself).
// HINT: Minibatch SGD: each epoch shuffles the order of the examples with the given rng, walks it in chunks, and takes one gradient step per chunk with the gradient you just wrote.
// HINT: w = zeros (784, 10) and b = zeros (10), f32; order = the Vec<u32> 0..n; per epoch order.shuffle(rng); for chunk in order.chunks(batch): idx = Tensor::new(chunk, device), the batch's rows and labels by index_select on dim 0, (dw, db) = softmax_regression_grad(…), then w = w − lr·dw and b = b − lr·db.
// HINT: for chunk in order.chunks(batch) { let idx = Tensor::new(chunk, dev)?; let (dw, db) = softmax_regression_grad(&images.index_select(&idx, 0)?, &labels.index_select(&idx, 0)?, &w, &b)?; w = (w - (dw * lr)?)?; b = (b - (db * lr)?)?; }
pub fn train_softmax_regression(images: &Tensor, labels: &Tensor, epochs: usize, batch: usize, lr: f64, rng: &mut ChaCha8Rng) -> Result<(Tensor, Tensor)> {
    // BEGIN SOLUTION
    let (n, d) = images.dims2()?;
    let dev = images.device();
    let mut w = Tensor::zeros((d, 10), DType::F32, dev)?;
    let mut b = Tensor::zeros(10, DType::F32, dev)?;
    let mut order: Vec<u32> = (0..n as u32).collect();
    for _ in 0..epochs {
        order.shuffle(rng);
        for chunk in order.chunks(batch) {
            let idx = Tensor::new(chunk, dev)?;
            let (xb, yb) = (images.index_select(&idx, 0)?, labels.index_select(&idx, 0)?);
            let (dw, db) = softmax_regression_grad(&xb, &yb, &w, &b)?;
            w = (w - (dw * lr)?)?;
            b = (b - (db * lr)?)?;
        }
    }
    Ok((w, b))
    // END SOLUTION
}

/// ## predict
/// Class predictions `argmax(x · w + b)` for `x: [n, d]`: `[n]` u32.
// HINT: The prediction is the class with the largest logit; softmax keeps the order, so there is no need to compute probabilities.
// HINT: logits = x matmul w, broadcast_add b ([n, k]); the argmax over the last axis gives the u32 class indices [n].
// HINT: x.matmul(w)?.broadcast_add(b)?.argmax(D::Minus1)
pub fn predict(x: &Tensor, w: &Tensor, b: &Tensor) -> Result<Tensor> {
    // BEGIN SOLUTION
    x.matmul(w)?.broadcast_add(b)?.argmax(D::Minus1)
    // END SOLUTION
}
