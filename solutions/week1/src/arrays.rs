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
// STUB: #![allow(unused_variables, unused_imports)] // remove once you have solved a few

use candle_core::{DType, Device, Result, Tensor, D};

// BEGIN SOLUTION ONLY
/// 0, 1, …, n-1 as i64 on `dev`.
fn idx(n: usize, dev: &Device) -> Result<Tensor> {
    Tensor::arange(0i64, n as i64, dev)
}

/// [n, n] f32 with 1 where `keep(row, col)` holds for the broadcast index grids.
fn mask2(n: usize, dev: &Device, keep: impl Fn(&Tensor, &Tensor) -> Result<Tensor>) -> Result<Tensor> {
    let r = idx(n, dev)?.unsqueeze(1)?;
    let c = idx(n, dev)?.unsqueeze(0)?;
    keep(&r, &c)?.to_dtype(DType::F32)
}

/// Quotient and remainder of an i64 index tensor by `n` (`affine` cannot divide integers: its
/// factor 1/n would be cast to an integer first).
fn divmod(k: &Tensor, n: usize) -> Result<(Tensor, Tensor)> {
    let q = (k.to_dtype(DType::F64)? / n as f64)?.floor()?.to_dtype(DType::I64)?;
    let r = (k - q.affine(n as f64, 0.0)?)?;
    Ok((q, r))
}
// END SOLUTION

/// ## ones
/// A vector of `n` ones (f32). Rules: no `ones`/`ones_like`; build it from `arange`.
/// Example: `ones(3)` → `[1, 1, 1]`.
// HINT: What does arange(0, n) become if every element is multiplied by zero? One more operation turns it into what you need.
// HINT: Multiply arange by zero and add one: `affine(mul, add)` does both.
pub fn ones(n: usize, dev: &Device) -> Result<Tensor> {
    // BEGIN SOLUTION
    Tensor::arange(0f32, n as f32, dev)?.affine(0.0, 1.0)
    // END SOLUTION
}

/// ## sum
/// The sum of a vector `a: [n]`, as a `[1]` tensor. Rules: no `sum`/`sum_all`/`sum_keepdim`; use
/// `matmul` (a dot product with a vector of ones). Example: `[1, 2, 3]` → `[6]`.
// HINT: A sum is a dot product with a vector of ones; a dot product is a matmul of a row and a column.
// HINT: A [1, n] row times an [n, 1] column of ones is a [1, 1] matrix; reshape it to [1].
pub fn sum(a: &Tensor) -> Result<Tensor> {
    // BEGIN SOLUTION
    let n = a.dim(0)?;
    let ones = Tensor::full(1f32, (n, 1), a.device())?;
    a.unsqueeze(0)?.matmul(&ones)?.reshape(1)
    // END SOLUTION
}

/// ## outer
/// The outer product of `a: [i]` and `b: [j]`: `out[r, c] = a[r] * b[c]`. Rules: broadcasting,
/// no `matmul`. Example: `[1, 2]`, `[3, 4, 5]` → `[[3, 4, 5], [6, 8, 10]]`.
// HINT: out[i, j] = a[i] · b[j]: if a varies along rows and b along columns, one broadcast multiplication fills the table.
// HINT: Make a a column ([i, 1]) and b a row ([1, j]); broadcast_mul gives [i, j].
pub fn outer(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    // BEGIN SOLUTION
    a.unsqueeze(1)?.broadcast_mul(&b.unsqueeze(0)?)
    // END SOLUTION
}

/// ## diag
/// The diagonal of a square matrix `a: [n, n]` as `[n]`. Rules: no `eye`; compare index grids.
/// Example: `[[1, 2], [3, 4]]` → `[1, 4]`.
// HINT: The diagonal entries are those where the row index equals the column index: build that mask from two aranges.
// HINT: Compare a column of row indices with a row of column indices: that mask is the identity; multiply and sum a row.
pub fn diag(a: &Tensor) -> Result<Tensor> {
    // BEGIN SOLUTION
    let n = a.dim(0)?;
    let m = mask2(n, a.device(), |r, c| r.broadcast_eq(c))?;
    (a * m)?.sum(1)
    // END SOLUTION
}

/// ## eye
/// The `n × n` identity matrix (f32). Rules: no `eye`. Example: `eye(2)` → `[[1, 0], [0, 1]]`.
// HINT: The identity is 1 exactly where row index == column index: compare a column of indices with a row of indices.
// HINT: arange as a column, arange as a row, broadcast_eq, then to_dtype(F32).
pub fn eye(n: usize, dev: &Device) -> Result<Tensor> {
    // BEGIN SOLUTION
    mask2(n, dev, |r, c| r.broadcast_eq(c))
    // END SOLUTION
}

/// ## triu
/// The `n × n` upper-triangular matrix of ones, diagonal included (f32), like
/// `torch.triu(torch.ones(n, n))`. Rules: no `triu2`/`tril2`. Example: `triu(2)` → `[[1, 1], [0, 1]]`.
// HINT: Which entries are kept? Those where the row index is at most the column index: the same construction as eye, another comparison.
// HINT: Like eye, with broadcast_le instead of broadcast_eq: row <= column.
pub fn triu(n: usize, dev: &Device) -> Result<Tensor> {
    // BEGIN SOLUTION
    mask2(n, dev, |r, c| r.broadcast_le(c))
    // END SOLUTION
}

/// ## cumsum
/// Running sum of `a: [n]`: `out[i] = a[0] + … + a[i]`. Rules: no `cumsum`; a triangular
/// matrix and `matmul` do it. Example: `[1, 2, 3]` → `[1, 3, 6]`.
// HINT: Write the running sum as a matrix product: which n × n matrix M makes (a · M)[i] = a[0] + … + a[i]? You built it two exercises ago.
// HINT: out = a (as a [1, n] row) @ triu(n): column i of triu sums a[0..=i].
pub fn cumsum(a: &Tensor) -> Result<Tensor> {
    // BEGIN SOLUTION
    let n = a.dim(0)?;
    a.unsqueeze(0)?.matmul(&triu(n, a.device())?)?.squeeze(0)
    // END SOLUTION
}

/// ## diff
/// Differences of neighbours, `out[i] = a[i + 1] - a[i]` for `a: [n]`, giving `[n - 1]` (like
/// `torch.diff`). Rules: `narrow` and arithmetic. Example: `[1, 4, 9]` → `[3, 5]`.
// HINT: out[i] = a[i + 1] − a[i]: the input without its first element, minus the input without its last.
// HINT: Two narrows of length n-1, one starting at 1 and one at 0, subtracted.
pub fn diff(a: &Tensor) -> Result<Tensor> {
    // BEGIN SOLUTION
    let n = a.dim(0)?;
    a.narrow(0, 1, n - 1)? - a.narrow(0, 0, n - 1)?
    // END SOLUTION
}

/// ## vstack
/// Stack `a: [n]` and `b: [n]` as the rows of a `[2, n]` matrix. Rules: no `stack`/`cat`; use
/// `where_cond` on a row-index mask. Example: `[1, 2]`, `[3, 4]` → `[[1, 2], [3, 4]]`.
// HINT: Without cat: make both inputs [2, n] by broadcasting, and let a mask decide which row comes from which.
// HINT: A [2, n] mask that is 1 on row 0; broadcast a and b to [2, n]; where_cond picks.
pub fn vstack(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    // BEGIN SOLUTION
    let n = a.dim(0)?;
    let row = idx(2, a.device())?.unsqueeze(1)?.broadcast_as((2, n))?;
    let first = row.eq(0i64)?;
    first.where_cond(&a.unsqueeze(0)?.broadcast_as((2, n))?, &b.unsqueeze(0)?.broadcast_as((2, n))?)
    // END SOLUTION
}

/// ## roll
/// Rotate `a: [n]` left by one: `out[i] = a[(i + 1) % n]` (`torch.roll(a, -1)`). Rules: no
/// `roll`; build the index vector and use `index_select`. Example: `[1, 2, 3]` → `[2, 3, 1]`.
// HINT: Rolling by one is reading from shifted positions: write down, for each output position, which input index it reads.
// HINT: Indices 1..=n, with n replaced by 0 (where_cond on a comparison), then index_select.
pub fn roll(a: &Tensor) -> Result<Tensor> {
    // BEGIN SOLUTION
    let n = a.dim(0)?;
    let i = Tensor::arange(1i64, n as i64 + 1, a.device())?;
    let wrapped = i.ge(n as i64)?.where_cond(&i.affine(1.0, -(n as f64))?, &i)?;
    a.index_select(&wrapped, 0)
    // END SOLUTION
}

/// ## flip
/// Reverse `a: [n]`. Rules: no `flip`; index arithmetic. Example: `[1, 2, 3]` → `[3, 2, 1]`.
// HINT: Output position i reads input position n − 1 − i: an index tensor and one gather-like op.
// HINT: Index i of the output reads n-1-i of the input: affine(-1, n-1) on arange.
pub fn flip(a: &Tensor) -> Result<Tensor> {
    // BEGIN SOLUTION
    let n = a.dim(0)?;
    let i = idx(n, a.device())?.affine(-1.0, n as f64 - 1.0)?;
    a.index_select(&i, 0)
    // END SOLUTION
}

/// ## compress
/// Keep the values of `v: [n]` where the mask `g: [n]` (u8) is 1, packed to the front of a
/// vector of length `len`, the rest zero (assume at most `len` are kept). Rules: `cumsum` of the
/// mask gives each kept value its slot; a one-hot matrix and `matmul` move it there.
/// Example: `g = [0, 1, 0, 1]`, `v = [5, 6, 7, 8]`, `len = 3` → `[6, 8, 0]`.
// HINT: Each kept value has a destination slot: the number of kept values before it. A running count gives every slot at once.
// HINT: slot = cumsum(mask) - 1 is where each kept value goes; compare slots with arange(len) for a one-hot [n, len], zero the dropped rows, and matmul.
pub fn compress(g: &Tensor, v: &Tensor, len: usize) -> Result<Tensor> {
    // BEGIN SOLUTION
    let gf = g.to_dtype(DType::F32)?;
    let slot = (cumsum(&gf)? - 1.0)?; // target position of each kept value
    let pos = Tensor::arange(0f32, len as f32, v.device())?;
    let onehot = slot.unsqueeze(1)?.broadcast_eq(&pos.unsqueeze(0)?)?.to_dtype(DType::F32)?;
    let onehot = onehot.broadcast_mul(&gf.unsqueeze(1)?)?; // [n, len]
    (v * &gf)?.unsqueeze(0)?.matmul(&onehot)?.squeeze(0)
    // END SOLUTION
}

/// ## pad_to
/// Cut `a: [n]` to length `len`, or pad it with zeros on the right to that length.
/// Rules: no `pad_with_zeros`. Example: `[1, 2, 3]`, 5 → `[1, 2, 3, 0, 0]`; `[1, 2, 3]`, 2 → `[1, 2]`.
// HINT: Keeping the first len values, or adding zeros after them, are both a matmul with a slice of the identity.
// HINT: Narrow to min(n, len), then matmul with a [min, len] slice of the identity.
pub fn pad_to(a: &Tensor, len: usize) -> Result<Tensor> {
    // BEGIN SOLUTION
    let n = a.dim(0)?;
    let keep = n.min(len);
    let m = mask2(len, a.device(), |r, c| r.broadcast_eq(c))?.narrow(0, 0, keep)?; // [keep, len]
    a.narrow(0, 0, keep)?.unsqueeze(0)?.matmul(&m)?.squeeze(0)
    // END SOLUTION
}

/// ## sequence_mask
/// Zero the positions of each row of `values: [b, n]` at or past that row's length
/// (`lengths: [b]`, i64). Example: `[[1, 2, 3], [4, 5, 6]]`, `[2, 0]` → `[[1, 2, 0], [0, 0, 0]]`.
// HINT: Position t of row b is kept when t < lengths[b]: compare positions (a row) with lengths (a column).
// HINT: arange(n) as a row against lengths as a column: broadcast_lt gives the keep mask.
pub fn sequence_mask(values: &Tensor, lengths: &Tensor) -> Result<Tensor> {
    // BEGIN SOLUTION
    let (_, n) = values.dims2()?;
    let keep = idx(n, values.device())?.unsqueeze(0)?.broadcast_lt(&lengths.unsqueeze(1)?)?;
    values.broadcast_mul(&keep.to_dtype(values.dtype())?)
    // END SOLUTION
}

/// ## bincount
/// Count how often each value `0..len` occurs in `a: [n]` (i64), as i64 `[len]`
/// (`torch.bincount(a, minlength=len)`; all values are below `len`). Rules: compare with an
/// index vector and sum. Example: `[1, 1, 3]`, 4 → `[0, 2, 0, 1]`.
// HINT: Count of value v = how many entries equal v: a comparison table of entries against 0..len, summed.
// HINT: Compare a (as a column) with arange(len) (as a row), convert to I64, sum over rows.
pub fn bincount(a: &Tensor, len: usize) -> Result<Tensor> {
    // BEGIN SOLUTION
    let hits = a.unsqueeze(1)?.broadcast_eq(&idx(len, a.device())?.unsqueeze(0)?)?;
    hits.to_dtype(DType::I64)?.sum(0)
    // END SOLUTION
}

/// ## scatter_add
/// Sum `values: [n]` into `len` buckets: `out[k] = Σ values[i] for link[i] == k` (`link: [n]`,
/// i64). Rules: no `scatter_add`/`index_add`. Example: `[1, 2, 4]`, `[0, 2, 0]`, 3 → `[5, 0, 2]`.
// HINT: Each value goes to the bin link[i]: a one-hot matrix of link says where, and a matmul adds the values up.
// HINT: The one-hot [n, len] matrix of link, then values (as a row) @ it.
pub fn scatter_add(values: &Tensor, link: &Tensor, len: usize) -> Result<Tensor> {
    // BEGIN SOLUTION
    let hits = link.unsqueeze(1)?.broadcast_eq(&idx(len, link.device())?.unsqueeze(0)?)?.to_dtype(DType::F32)?;
    values.unsqueeze(0)?.matmul(&hits)?.squeeze(0)
    // END SOLUTION
}

/// ## flatten
/// Flatten `a: [i, j]` row by row into `[i * j]`. Rules: no `reshape`/`flatten*`: element `k` of
/// the output is `a[k / j, k % j]`: select rows with `index_select`, then pick the column with a
/// mask. Example: `[[1, 2], [3, 4]]` → `[1, 2, 3, 4]`.
// HINT: Row k of the output lists element (k / j, k % j): compute both indices from arange, then pick.
// HINT: k / j and k % j for k in 0..i*j (integer division: go through f64 and floor); index_select the rows, then mask the column and sum.
pub fn flatten(a: &Tensor) -> Result<Tensor> {
    // BEGIN SOLUTION
    let (i, j) = a.dims2()?;
    let k = idx(i * j, a.device())?;
    let (row, col) = divmod(&k, j)?;
    let rows = a.index_select(&row, 0)?; // [i*j, j]
    let pick = col.unsqueeze(1)?.broadcast_eq(&idx(j, a.device())?.unsqueeze(0)?)?.to_dtype(a.dtype())?;
    (rows * pick)?.sum(1)
    // END SOLUTION
}

/// ## linspace
/// `n` evenly spaced values from `start` to `end`, both included (`torch.linspace`; `n >= 2`).
/// Example: `linspace(0, 1, 5)` → `[0, 0.25, 0.5, 0.75, 1]`.
// HINT: The points are start, start + step, start + 2·step, … with step = (end − start) / (n − 1): arange and one affine.
// HINT: arange(n) times (end - start) / (n - 1), plus start: one affine.
pub fn linspace(start: f32, end: f32, n: usize, dev: &Device) -> Result<Tensor> {
    // BEGIN SOLUTION
    let step = (end as f64 - start as f64) / (n - 1) as f64;
    Tensor::arange(0f32, n as f32, dev)?.affine(step, start as f64)
    // END SOLUTION
}

/// ## heaviside
/// The step function `torch.heaviside(a, b)`: 0 where `a < 0`, `b` where `a == 0`, 1 where
/// `a > 0` (`a`, `b` of the same shape). Example: `[-1, 0, 2]`, `[5, 5, 5]` → `[0, 5, 1]`.
// HINT: Three cases (negative, zero, positive): two masks and a choice between b and the 0/1 step.
// HINT: Two masks: a > 0 (as 0/1 floats) and a == 0; where_cond on the second picks b.
pub fn heaviside(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    // BEGIN SOLUTION
    let pos = a.gt(0f32)?.to_dtype(DType::F32)?;
    a.eq(0f32)?.where_cond(b, &pos)
    // END SOLUTION
}

/// ## repeat
/// `d` copies of `a: [n]` as the rows of `[d, n]`. Rules: no `repeat`; broadcasting.
/// Example: `[1, 2]`, 3 → `[[1, 2], [1, 2], [1, 2]]`.
// HINT: Repeating a row d times is broadcasting it against something of d rows.
// HINT: A [d, 1] column of ones broadcast_mul a [1, n] row.
pub fn repeat(a: &Tensor, d: usize) -> Result<Tensor> {
    // BEGIN SOLUTION
    Tensor::full(1f32, (d, 1), a.device())?.broadcast_mul(&a.unsqueeze(0)?)
    // END SOLUTION
}

/// ## bucketize
/// For each value of `v: [n]`, the index of its bucket among the sorted `boundaries: [k]`: the
/// number of boundaries strictly below it (`torch.bucketize(v, boundaries)`), as i64.
/// Example: `[0.5, 2, 7]`, `[1, 2, 5]` → `[0, 1, 3]`.
// HINT: The bucket of a value is the number of boundaries below it.
// HINT: Count the boundaries strictly below each value: broadcast_gt of v (column) against boundaries (row), summed as I64.
pub fn bucketize(v: &Tensor, boundaries: &Tensor) -> Result<Tensor> {
    // BEGIN SOLUTION
    let below = v.unsqueeze(1)?.broadcast_gt(&boundaries.unsqueeze(0)?)?;
    below.to_dtype(DType::I64)?.sum(1)
    // END SOLUTION
}

/// ## gather_rows
/// One element per row: `out[r] = a[r, idx[r]]` for `a: [n, m]`, `idx: [n]` (i64). This is how
/// cross-entropy picks the target's log-probability. Use `gather`.
/// Example: `[[1, 2], [3, 4]]`, `[1, 0]` → `[2, 3]`.
// HINT: out[i] = a[i, idx[i]]: one element per row, chosen by idx — candle's gather does exactly this, with an index of a's rank.
// HINT: gather wants an index tensor of the same rank: unsqueeze idx to [n, 1], gather on dim 1, squeeze.
pub fn gather_rows(a: &Tensor, idx: &Tensor) -> Result<Tensor> {
    // BEGIN SOLUTION
    a.gather(&idx.unsqueeze(1)?, 1)?.squeeze(1)
    // END SOLUTION
}

/// ## select_rows
/// The rows of `a: [n, m]` listed in `rows: [k]` (i64, repeats allowed), as `[k, m]`: an
/// embedding lookup. Use `index_select`. Example: `[[1, 2], [3, 4]]`, `[1, 1, 0]` → `[[3, 4], [3, 4], [1, 2]]`.
// HINT: Picking whole rows by index is one call.
// HINT: index_select(rows, 0).
pub fn select_rows(a: &Tensor, rows: &Tensor) -> Result<Tensor> {
    // BEGIN SOLUTION
    a.index_select(rows, 0)
    // END SOLUTION
}

/// ## place
/// Write `values: [n]` into a zero vector of length `len` at the distinct positions `at: [n]`
/// (i64): `out[at[i]] = values[i]`. Use `Tensor::scatter` (or `index_add`).
/// Example: `[7, 9]`, `[2, 0]`, 3 → `[9, 0, 7]`.
// HINT: Start from zeros and write the values at the given positions: the inverse of gathering.
// HINT: Start from zeros(len) and call scatter(at, values, 0).
pub fn place(values: &Tensor, at: &Tensor, len: usize) -> Result<Tensor> {
    // BEGIN SOLUTION
    Tensor::zeros(len, values.dtype(), values.device())?.scatter(at, values, 0)
    // END SOLUTION
}

/// ## one_hot
/// Rows of the identity: `out[i, c] = 1.0` if `idx[i] == c` else 0, for `idx: [n]` (i64), as f32
/// `[n, classes]`. Rules: no `candle_nn::encoding::one_hot`. Example: `[2, 0]`, 3 → `[[0, 0, 1], [1, 0, 0]]`.
// HINT: Row i is 1 at column idx[i]: compare idx with every class number.
// HINT: idx as a column against arange(classes) as a row.
pub fn one_hot(idx: &Tensor, classes: usize) -> Result<Tensor> {
    // BEGIN SOLUTION
    let c = Tensor::arange(0i64, classes as i64, idx.device())?;
    idx.unsqueeze(1)?.broadcast_eq(&c.unsqueeze(0)?)?.to_dtype(DType::F32)
    // END SOLUTION
}

/// ## masked_fill
/// `a` with `value` wherever `mask` (u8, same shape) is 1 — candle has no `masked_fill`, but
/// `where_cond` does it. Used for attention masks (with `f32::NEG_INFINITY`).
/// Example: `[1, 2, 3]`, `[0, 1, 0]`, -1 → `[1, -1, 3]`.
// HINT: Choose per element between a tensor full of value and a itself: a where-condition.
// HINT: Tensor::full(value, a.shape(), device), then mask.where_cond(&full, a).
pub fn masked_fill(a: &Tensor, mask: &Tensor, value: f32) -> Result<Tensor> {
    // BEGIN SOLUTION
    let fill = Tensor::full(value, a.shape(), a.device())?;
    mask.where_cond(&fill, a)
    // END SOLUTION
}

/// ## softmax
/// Softmax over the last dimension of `a: [n, m]`, stable for large inputs (subtract the row
/// maximum first). Rules: no `candle_nn::ops::softmax*`. Example: `[[0, ln 3]]` → `[[0.25, 0.75]]`.
// HINT: Try it with a row of 1000s first: what does exp give in f32? softmax does not change when you subtract the same number from a whole row.
// HINT: exp(1000) is inf in f32: subtract max_keepdim(D::Minus1) before exp, then divide by the row sums.
pub fn softmax(a: &Tensor) -> Result<Tensor> {
    // BEGIN SOLUTION
    let e = a.broadcast_sub(&a.max_keepdim(D::Minus1)?)?.exp()?;
    e.broadcast_div(&e.sum_keepdim(D::Minus1)?)
    // END SOLUTION
}

/// ## standardize
/// Per row of `a: [n, m]`: subtract the mean, divide by `sqrt(var + 1e-5)` with the population
/// variance (divide by `m`): layer norm without weights, `F.layer_norm(a, (m,))`.
/// Example: `[[1, 3]]` → `[[-0.999995, 0.999995]]`.
// HINT: Mean and variance along the last axis, kept as [n, 1] so that they broadcast back over each row.
// HINT: Population variance: mean of squared deviations (divide by m, not m - 1), and the 1e-5 goes inside the sqrt.
pub fn standardize(a: &Tensor) -> Result<Tensor> {
    // BEGIN SOLUTION
    let mu = a.mean_keepdim(D::Minus1)?;
    let centred = a.broadcast_sub(&mu)?;
    let var = centred.sqr()?.mean_keepdim(D::Minus1)?;
    centred.broadcast_div(&(var + 1e-5)?.sqrt()?)
    // END SOLUTION
}

/// ## topk_mask
/// A u8 mask of `a: [n, m]` with 1 at the `k` largest entries of each row (no ties in the
/// inputs). candle has no `topk`: sort with `arg_sort_last_dim`, or count how many entries of
/// the row beat each one. Example: `[[3, 1, 2]]`, 2 → `[[1, 0, 1]]`.
// HINT: An entry is in its row's top k when fewer than k entries of the row are larger than it: count them with a 3-D comparison.
// HINT: For each entry count the entries of its row that are larger (broadcast a [n, m, 1] against [n, 1, m]); keep those with fewer than k.
pub fn topk_mask(a: &Tensor, k: usize) -> Result<Tensor> {
    // BEGIN SOLUTION
    // rank[i, j] = number of entries in row i larger than a[i, j]
    let larger = a.unsqueeze(1)?.broadcast_gt(&a.unsqueeze(2)?)?; // [n, j, j'] = a[i, j'] > a[i, j]
    let rank = larger.to_dtype(DType::I64)?.sum(2)?;
    rank.lt(k as i64)
    // END SOLUTION
}

/// ## batched_matmul
/// `out[b] = x[b] @ y[b]` for `x: [b, n, k]`, `y: [b, k, m]`. Rules: no `matmul`/`broadcast_matmul`:
/// broadcast-multiply to `[b, n, k, m]` and sum over `k`.
// HINT: out[b, n, m] = Σ_k x[b, n, k] · y[b, k, m]: line up the four axes by broadcasting, multiply, sum over k.
// HINT: x.unsqueeze(3) is [b, n, k, 1], y.unsqueeze(1) is [b, 1, k, m]: multiply, sum dim 2.
pub fn batched_matmul(x: &Tensor, y: &Tensor) -> Result<Tensor> {
    // BEGIN SOLUTION
    x.unsqueeze(3)?.broadcast_mul(&y.unsqueeze(1)?)?.sum(2)
    // END SOLUTION
}

/// ## pairwise_distances
/// Euclidean distances between the rows of `x: [n, d]` and `y: [m, d]`, as `[n, m]`
/// (`torch.cdist(x, y)`). Example: `[[0, 0]]`, `[[3, 4], [0, 1]]` → `[[5, 1]]`.
// HINT: Every pair (i, j) needs x[i] − y[j]: broadcast x as [n, 1, d] against y as [1, m, d].
// HINT: x as [n, 1, d] minus y as [1, m, d], squared, summed over d, sqrt.
pub fn pairwise_distances(x: &Tensor, y: &Tensor) -> Result<Tensor> {
    // BEGIN SOLUTION
    let d = x.unsqueeze(1)?.broadcast_sub(&y.unsqueeze(0)?)?;
    d.sqr()?.sum(2)?.sqrt()
    // END SOLUTION
}

/// ## two_sum
/// The indices `[i, j]` (i64, `i < j`) of the one pair of `nums: [n]` (i64) that adds up to
/// `target` — vectorised: no loops over elements. Build the `[n, n]` table of pair sums, mask
/// out `i >= j`, and find the hit. Example: `[2, 7, 11, 15]`, 9 → `[0, 1]`.
// HINT: Build the table of all sums nums[i] + nums[j] at once, then find the entry equal to target with i < j.
// HINT: sums = nums (column) + nums (row); keep i < j; eq(target); argmax of the flattened table is i * n + j.
pub fn two_sum(nums: &Tensor, target: i64) -> Result<Tensor> {
    // BEGIN SOLUTION
    let n = nums.dim(0)?;
    let dev = nums.device();
    let sums = nums.unsqueeze(1)?.broadcast_add(&nums.unsqueeze(0)?)?;
    let upper = idx(n, dev)?.unsqueeze(1)?.broadcast_lt(&idx(n, dev)?.unsqueeze(0)?)?;
    let hit = (sums.eq(target)?.to_dtype(DType::U32)? * upper.to_dtype(DType::U32)?)?;
    let k = hit.flatten_all()?.argmax(0)?.to_dtype(DType::I64)?;
    let (i, j) = divmod(&k.reshape(1)?, n)?;
    Tensor::cat(&[i, j], 0)
    // END SOLUTION
}

/// ## einsum
/// A small `einsum`: `spec` like `"ij,jk->ik"` over one or two operands, with an explicit `->`.
/// Must support at least `ij,jk->ik`, `bij,bjk->bik`, `ii->i`, `ij->ji`, `ij->` and `i,j->ij`.
/// Letters repeated within one operand take its diagonal; letters missing from the output are
/// summed. Plan: give every letter an axis, bring each operand to all axes (diagonals, then
/// `permute` and `unsqueeze`), multiply with broadcasting, sum the dropped axes, order the rest.
// HINT: Start with two operands and no repeated letters: each letter is an axis; broadcast all operands to one shape over every letter, multiply, sum the letters that are not in the output.
// HINT: Give every letter an axis. Per operand: take diagonals for repeated letters, permute to letter order, unsqueeze missing letters. Multiply all, sum the letters not in the output, permute to the output order.
pub fn einsum(spec: &str, operands: &[&Tensor]) -> Result<Tensor> {
    // BEGIN SOLUTION
    let (lhs, out) = spec.split_once("->").ok_or_else(|| candle_core::Error::msg("einsum needs an explicit `->`"))?;
    let inputs: Vec<&str> = lhs.split(',').map(str::trim).collect();
    let out = out.trim();
    if inputs.len() != operands.len() {
        candle_core::bail!("einsum: {} operand specs for {} tensors", inputs.len(), operands.len());
    }
    // Every letter in order of first appearance.
    let mut letters: Vec<char> = Vec::new();
    for c in lhs.chars().filter(|c| c.is_ascii_alphabetic()) {
        if !letters.contains(&c) {
            letters.push(c);
        }
    }
    let mut product: Option<Tensor> = None;
    for (spec, t) in inputs.iter().zip(operands) {
        let mut t = (*t).clone();
        let mut labels: Vec<char> = spec.chars().collect();
        if labels.len() != t.rank() {
            candle_core::bail!("einsum: {spec:?} names {} axes, the tensor has {}", labels.len(), t.rank());
        }
        // Repeated letter: keep the diagonal of the two axes, drop the second one.
        while let Some((a, b)) = repeated(&labels) {
            let n = t.dim(a)?;
            let mut shape = vec![1; t.rank()];
            shape[a] = n;
            shape[b] = n;
            let eye = eye(n, t.device())?.to_dtype(t.dtype())?.reshape(shape)?;
            t = t.broadcast_mul(&eye)?.sum(b)?;
            labels.remove(b);
        }
        // Permute to global letter order, then unsqueeze the letters this operand lacks.
        let mut order: Vec<usize> = (0..labels.len()).collect();
        order.sort_by_key(|&k| letters.iter().position(|&c| c == labels[k]));
        t = t.permute(order.clone())?;
        let present: Vec<char> = order.iter().map(|&k| labels[k]).collect();
        for (axis, c) in letters.iter().enumerate() {
            if !present.contains(c) {
                t = t.unsqueeze(axis)?;
            }
        }
        product = Some(match product {
            None => t,
            Some(p) => p.broadcast_mul(&t)?,
        });
    }
    let mut t = product.ok_or_else(|| candle_core::Error::msg("einsum needs an operand"))?;
    // Broadcast to the full extent before summing (an axis of size 1 may stand for a real one).
    let mut kept: Vec<char> = Vec::new();
    for (axis, c) in letters.iter().enumerate().rev() {
        if out.contains(*c) {
            kept.insert(0, *c);
        } else {
            t = t.sum(axis)?;
        }
    }
    let order: Vec<usize> = out.chars().map(|c| kept.iter().position(|&k| k == c).unwrap()).collect();
    if order.is_empty() {
        return Ok(t);
    }
    t.permute(order)?.contiguous()
    // END SOLUTION
}

// BEGIN SOLUTION ONLY
fn repeated(labels: &[char]) -> Option<(usize, usize)> {
    for a in 0..labels.len() {
        for b in a + 1..labels.len() {
            if labels[a] == labels[b] {
                return Some((a, b));
            }
        }
    }
    None
}
// END SOLUTION
