//! # Array puzzles
//!
//! Thirty-odd small puzzles on candle tensors. Each has rules: the operations it may use. The
//! toolkit, unless a puzzle says otherwise:
//!
//! - creation: `Tensor::arange`, `Tensor::new`, `Tensor::zeros`, `Tensor::full`
//! - shape: `reshape`, `unsqueeze`, `squeeze`, `narrow`, `t`, `transpose`, `permute`, `contiguous`
//! - arithmetic and comparison, with broadcasting: `broadcast_add/sub/mul/div`, `broadcast_eq/lt/le/gt/ge`,
//!   `affine`, `exp`, `sqrt`, `abs`, `neg`
//! - selection: `where_cond` (shapes must match: broadcast first), `index_select`, `gather`
//! - reduction: `sum` / `sum_keepdim`, `max` / `max_keepdim`, `mean`, `matmul`, `to_dtype`
//!
//! A puzzle that reimplements a library function forbids that function (the grader checks your
//! source). Values are f32, indices i64, masks u8 (0/1), as PyTorch's outputs in the fixtures.
//! Every function receives its inputs on the device to use; make new tensors on `x.device()`.
#![allow(unused_variables, unused_imports)] // remove once you have solved a few

use candle_core::{DType, Device, Result, Tensor, D};

/// ## ones
/// A vector of `n` ones (f32). Rules: no `ones`/`ones_like`; build it from `arange`.
/// Example: `ones(3)` → `[1, 1, 1]`.
pub fn ones(n: usize, dev: &Device) -> Result<Tensor> {
    todo!()
}

/// ## sum
/// The sum of a vector `a: [n]`, as a `[1]` tensor. Rules: no `sum`/`sum_all`/`sum_keepdim`; use
/// `matmul` (a dot product with a vector of ones). Example: `[1, 2, 3]` → `[6]`.
pub fn sum(a: &Tensor) -> Result<Tensor> {
    todo!()
}

/// ## outer
/// The outer product of `a: [i]` and `b: [j]`: `out[r, c] = a[r] * b[c]`. Rules: broadcasting,
/// no `matmul`. Example: `[1, 2]`, `[3, 4, 5]` → `[[3, 4, 5], [6, 8, 10]]`.
pub fn outer(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    todo!()
}

/// ## diag
/// The diagonal of a square matrix `a: [n, n]` as `[n]`. Rules: no `eye`; compare index grids.
/// Example: `[[1, 2], [3, 4]]` → `[1, 4]`.
pub fn diag(a: &Tensor) -> Result<Tensor> {
    todo!()
}

/// ## eye
/// The `n × n` identity matrix (f32). Rules: no `eye`. Example: `eye(2)` → `[[1, 0], [0, 1]]`.
pub fn eye(n: usize, dev: &Device) -> Result<Tensor> {
    todo!()
}

/// ## triu
/// The `n × n` upper-triangular matrix of ones, diagonal included (f32), like
/// `torch.triu(torch.ones(n, n))`. Rules: no `triu2`/`tril2`. Example: `triu(2)` → `[[1, 1], [0, 1]]`.
pub fn triu(n: usize, dev: &Device) -> Result<Tensor> {
    todo!()
}

/// ## cumsum
/// Running sum of `a: [n]`: `out[i] = a[0] + … + a[i]`. Rules: no `cumsum`; a triangular
/// matrix and `matmul` do it. Example: `[1, 2, 3]` → `[1, 3, 6]`.
pub fn cumsum(a: &Tensor) -> Result<Tensor> {
    todo!()
}

/// ## diff
/// Differences of neighbours, `out[i] = a[i + 1] - a[i]` for `a: [n]`, giving `[n - 1]` (like
/// `torch.diff`). Rules: `narrow` and arithmetic. Example: `[1, 4, 9]` → `[3, 5]`.
pub fn diff(a: &Tensor) -> Result<Tensor> {
    todo!()
}

/// ## vstack
/// Stack `a: [n]` and `b: [n]` as the rows of a `[2, n]` matrix. Rules: no `stack`/`cat`; use
/// `where_cond` on a row-index mask. Example: `[1, 2]`, `[3, 4]` → `[[1, 2], [3, 4]]`.
pub fn vstack(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    todo!()
}

/// ## roll
/// Rotate `a: [n]` left by one: `out[i] = a[(i + 1) % n]` (`torch.roll(a, -1)`). Rules: no
/// `roll`; build the index vector and use `index_select`. Example: `[1, 2, 3]` → `[2, 3, 1]`.
pub fn roll(a: &Tensor) -> Result<Tensor> {
    todo!()
}

/// ## flip
/// Reverse `a: [n]`. Rules: no `flip`; index arithmetic. Example: `[1, 2, 3]` → `[3, 2, 1]`.
pub fn flip(a: &Tensor) -> Result<Tensor> {
    todo!()
}

/// ## compress
/// Keep the values of `v: [n]` where the mask `g: [n]` (u8) is 1, packed to the front of a
/// vector of length `len`, the rest zero (assume at most `len` are kept). Rules: `cumsum` of the
/// mask gives each kept value its slot; a one-hot matrix and `matmul` move it there.
/// Example: `g = [0, 1, 0, 1]`, `v = [5, 6, 7, 8]`, `len = 3` → `[6, 8, 0]`.
pub fn compress(g: &Tensor, v: &Tensor, len: usize) -> Result<Tensor> {
    todo!()
}

/// ## pad_to
/// Cut `a: [n]` to length `len`, or pad it with zeros on the right to that length.
/// Rules: no `pad_with_zeros`. Example: `[1, 2, 3]`, 5 → `[1, 2, 3, 0, 0]`; `[1, 2, 3]`, 2 → `[1, 2]`.
pub fn pad_to(a: &Tensor, len: usize) -> Result<Tensor> {
    todo!()
}

/// ## sequence_mask
/// Zero the positions of each row of `values: [b, n]` at or past that row's length
/// (`lengths: [b]`, i64). Example: `[[1, 2, 3], [4, 5, 6]]`, `[2, 0]` → `[[1, 2, 0], [0, 0, 0]]`.
pub fn sequence_mask(values: &Tensor, lengths: &Tensor) -> Result<Tensor> {
    todo!()
}

/// ## bincount
/// Count how often each value `0..len` occurs in `a: [n]` (i64), as i64 `[len]`
/// (`torch.bincount(a, minlength=len)`; all values are below `len`). Rules: compare with an
/// index vector and sum. Example: `[1, 1, 3]`, 4 → `[0, 2, 0, 1]`.
pub fn bincount(a: &Tensor, len: usize) -> Result<Tensor> {
    todo!()
}

/// ## scatter_add
/// Sum `values: [n]` into `len` buckets: `out[k] = Σ values[i] for link[i] == k` (`link: [n]`,
/// i64). Rules: no `scatter_add`/`index_add`. Example: `[1, 2, 4]`, `[0, 2, 0]`, 3 → `[5, 0, 2]`.
pub fn scatter_add(values: &Tensor, link: &Tensor, len: usize) -> Result<Tensor> {
    todo!()
}

/// ## flatten
/// Flatten `a: [i, j]` row by row into `[i * j]`. Rules: no `reshape`/`flatten*`: element `k` of
/// the output is `a[k / j, k % j]`: select rows with `index_select`, then pick the column with a
/// mask. Example: `[[1, 2], [3, 4]]` → `[1, 2, 3, 4]`.
pub fn flatten(a: &Tensor) -> Result<Tensor> {
    todo!()
}

/// ## linspace
/// `n` evenly spaced values from `start` to `end`, both included (`torch.linspace`; `n >= 2`).
/// Example: `linspace(0, 1, 5)` → `[0, 0.25, 0.5, 0.75, 1]`.
pub fn linspace(start: f32, end: f32, n: usize, dev: &Device) -> Result<Tensor> {
    todo!()
}

/// ## heaviside
/// The step function `torch.heaviside(a, b)`: 0 where `a < 0`, `b` where `a == 0`, 1 where
/// `a > 0` (`a`, `b` of the same shape). Example: `[-1, 0, 2]`, `[5, 5, 5]` → `[0, 5, 1]`.
pub fn heaviside(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    todo!()
}

/// ## repeat
/// `d` copies of `a: [n]` as the rows of `[d, n]`. Rules: no `repeat`; broadcasting.
/// Example: `[1, 2]`, 3 → `[[1, 2], [1, 2], [1, 2]]`.
pub fn repeat(a: &Tensor, d: usize) -> Result<Tensor> {
    todo!()
}

/// ## bucketize
/// For each value of `v: [n]`, the index of its bucket among the sorted `boundaries: [k]`: the
/// number of boundaries strictly below it (`torch.bucketize(v, boundaries)`), as i64.
/// Example: `[0.5, 2, 7]`, `[1, 2, 5]` → `[0, 1, 3]`.
pub fn bucketize(v: &Tensor, boundaries: &Tensor) -> Result<Tensor> {
    todo!()
}

/// ## gather_rows
/// One element per row: `out[r] = a[r, idx[r]]` for `a: [n, m]`, `idx: [n]` (i64). This is how
/// cross-entropy picks the target's log-probability. Use `gather`.
/// Example: `[[1, 2], [3, 4]]`, `[1, 0]` → `[2, 3]`.
pub fn gather_rows(a: &Tensor, idx: &Tensor) -> Result<Tensor> {
    todo!()
}

/// ## select_rows
/// The rows of `a: [n, m]` listed in `rows: [k]` (i64, repeats allowed), as `[k, m]`: an
/// embedding lookup. Use `index_select`. Example: `[[1, 2], [3, 4]]`, `[1, 1, 0]` → `[[3, 4], [3, 4], [1, 2]]`.
pub fn select_rows(a: &Tensor, rows: &Tensor) -> Result<Tensor> {
    todo!()
}

/// ## place
/// Write `values: [n]` into a zero vector of length `len` at the distinct positions `at: [n]`
/// (i64): `out[at[i]] = values[i]`. Use `Tensor::scatter` (or `index_add`).
/// Example: `[7, 9]`, `[2, 0]`, 3 → `[9, 0, 7]`.
pub fn place(values: &Tensor, at: &Tensor, len: usize) -> Result<Tensor> {
    todo!()
}

/// ## one_hot
/// Rows of the identity: `out[i, c] = 1.0` if `idx[i] == c` else 0, for `idx: [n]` (i64), as f32
/// `[n, classes]`. Rules: no `candle_nn::encoding::one_hot`. Example: `[2, 0]`, 3 → `[[0, 0, 1], [1, 0, 0]]`.
pub fn one_hot(idx: &Tensor, classes: usize) -> Result<Tensor> {
    todo!()
}

/// ## masked_fill
/// `a` with `value` wherever `mask` (u8, same shape) is 1 — candle has no `masked_fill`, but
/// `where_cond` does it. Used for attention masks (with `f32::NEG_INFINITY`).
/// Example: `[1, 2, 3]`, `[0, 1, 0]`, -1 → `[1, -1, 3]`.
pub fn masked_fill(a: &Tensor, mask: &Tensor, value: f32) -> Result<Tensor> {
    todo!()
}

/// ## softmax
/// Softmax over the last dimension of `a: [n, m]`, stable for large inputs (subtract the row
/// maximum first). Rules: no `candle_nn::ops::softmax*`. Example: `[[0, ln 3]]` → `[[0.25, 0.75]]`.
pub fn softmax(a: &Tensor) -> Result<Tensor> {
    todo!()
}

/// ## standardize
/// Per row of `a: [n, m]`: subtract the mean, divide by `sqrt(var + 1e-5)` with the population
/// variance (divide by `m`): layer norm without weights, `F.layer_norm(a, (m,))`.
/// Example: `[[1, 3]]` → `[[-0.999995, 0.999995]]`.
pub fn standardize(a: &Tensor) -> Result<Tensor> {
    todo!()
}

/// ## topk_mask
/// A u8 mask of `a: [n, m]` with 1 at the `k` largest entries of each row (no ties in the
/// inputs). candle has no `topk`: sort with `arg_sort_last_dim`, or count how many entries of
/// the row beat each one. Example: `[[3, 1, 2]]`, 2 → `[[1, 0, 1]]`.
pub fn topk_mask(a: &Tensor, k: usize) -> Result<Tensor> {
    todo!()
}

/// ## batched_matmul
/// `out[b] = x[b] @ y[b]` for `x: [b, n, k]`, `y: [b, k, m]`. Rules: no `matmul`/`broadcast_matmul`:
/// broadcast-multiply to `[b, n, k, m]` and sum over `k`.
pub fn batched_matmul(x: &Tensor, y: &Tensor) -> Result<Tensor> {
    todo!()
}

/// ## pairwise_distances
/// Euclidean distances between the rows of `x: [n, d]` and `y: [m, d]`, as `[n, m]`
/// (`torch.cdist(x, y)`). Example: `[[0, 0]]`, `[[3, 4], [0, 1]]` → `[[5, 1]]`.
pub fn pairwise_distances(x: &Tensor, y: &Tensor) -> Result<Tensor> {
    todo!()
}

/// ## two_sum
/// The indices `[i, j]` (i64, `i < j`) of the one pair of `nums: [n]` (i64) that adds up to
/// `target` — vectorised: no loops over elements. Build the `[n, n]` table of pair sums, mask
/// out `i >= j`, and find the hit. Example: `[2, 7, 11, 15]`, 9 → `[0, 1]`.
pub fn two_sum(nums: &Tensor, target: i64) -> Result<Tensor> {
    todo!()
}

/// ## einsum
/// A small `einsum`: `spec` like `"ij,jk->ik"` over one or two operands, with an explicit `->`.
/// Must support at least `ij,jk->ik`, `bij,bjk->bik`, `ii->i`, `ij->ji`, `ij->` and `i,j->ij`.
/// Letters repeated within one operand take its diagonal; letters missing from the output are
/// summed. Plan: give every letter an axis, bring each operand to all axes (diagonals, then
/// `permute` and `unsqueeze`), multiply with broadcasting, sum the dropped axes, order the rest.
pub fn einsum(spec: &str, operands: &[&Tensor]) -> Result<Tensor> {
    todo!()
}
