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
#![allow(unused_variables, unused_imports)] // remove once you have solved a few

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
pub fn solve(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    todo!()
}

/// ## linear_closed_form
/// The least-squares line: the `w: [d]` and bias `b` minimising `Σ (x_i · w + b − y_i)²` for
/// `x: [n, d]`, `y: [n]` (f64). Append a column of ones to `x` (call it `X: [n, d + 1]`, so the
/// bias is the last weight); setting the gradient to zero gives the normal equations
/// `(Xᵀ X) θ = Xᵀ y`. Solve them with your `solve`. Returns `θ: [d + 1]` = `[w_1 … w_d, b]`.
pub fn linear_closed_form(x: &Tensor, y: &Tensor) -> Result<Tensor> {
    todo!()
}

/// ## linear_gd
/// Fit the same model by full-batch gradient descent on the mean squared error, starting from
/// `w = 0`, `b = 0`: for each of `steps` steps, compute the residual `r = x · w + b − y`, the
/// loss `L = mean(r²)` (record it *before* the update), the gradients `∂L/∂w = (2/n) xᵀ r` and
/// `∂L/∂b = (2/n) Σ r`, and step `w -= lr · ∂L/∂w`, `b -= lr · ∂L/∂b`. `x: [n, d]`, `y: [n]`,
/// f32. Returns `(θ, losses)`: `θ: [d + 1]` = `[w_1 … w_d, b]` after the last step and
/// `losses: [steps]`.
pub fn linear_gd(x: &Tensor, y: &Tensor, lr: f64, steps: usize) -> Result<(Tensor, Tensor)> {
    todo!()
}

/// ## cross_entropy
/// The mean cross-entropy of `logits: [n, k]` against class `labels: [n]` (u32):
/// `L = −(1/n) Σ_i log softmax(logits_i)[labels_i]`. Compute `log softmax` stably: subtract the
/// row maximum before `exp` (the check includes logits of size ~100, where a naive `exp`
/// overflows f32), `log_softmax = z − max − log Σ exp(z − max)`; pick each row's label with
/// `gather`. Returns a scalar (rank 0) tensor. No `candle_nn::loss` / `candle_nn::ops`.
pub fn cross_entropy(logits: &Tensor, labels: &Tensor) -> Result<Tensor> {
    todo!()
}

/// ## softmax_regression_grad
/// The gradients of `cross_entropy(x · w + b, labels)` with respect to `w: [d, k]` and
/// `b: [k]`, for `x: [n, d]`, by hand: with `p = softmax(x · w + b)` and `Y` the one-hot
/// labels (`[n, k]`), `∂L/∂logits = (p − Y) / n`, so `∂L/∂w = xᵀ (p − Y) / n` and
/// `∂L/∂b = Σ_rows (p − Y) / n`. Returns `(dw, db)`. No autograd (`Var`, `backward`).
pub fn softmax_regression_grad(x: &Tensor, labels: &Tensor, w: &Tensor, b: &Tensor) -> Result<(Tensor, Tensor)> {
    todo!()
}

/// ## train_softmax_regression
/// Train softmax regression on MNIST by minibatch stochastic gradient descent: `w: [784, 10]`
/// and `b: [10]` start at zero; for each of `epochs` passes over the data, shuffle the example
/// indices with `rng` (`SliceRandom::shuffle` on a `Vec<u32>`), cut them into batches of
/// `batch` (the last may be smaller), and for each batch step `w -= lr · dw`, `b -= lr · db`
/// with your `softmax_regression_grad`. `images: [n, 784]` f32 in [0, 1], `labels: [n]` u32.
/// Returns `(w, b)`. The check trains on MNIST's training part and needs ≥ 90 % accuracy on
/// the held-out images (the grader computes the accuracy itself).
pub fn train_softmax_regression(images: &Tensor, labels: &Tensor, epochs: usize, batch: usize, lr: f64, rng: &mut ChaCha8Rng) -> Result<(Tensor, Tensor)> {
    todo!()
}

/// ## predict
/// Class predictions `argmax(x · w + b)` for `x: [n, d]`: `[n]` u32.
pub fn predict(x: &Tensor, w: &Tensor, b: &Tensor) -> Result<Tensor> {
    todo!()
}
