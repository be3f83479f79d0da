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
// HINT: What does arange from 0 to n become if every element is multiplied by zero? One more step turns that into ones, and a single operation does both steps.
// HINT: Build an f32 arange over 0..n on dev (0f32, n as f32, so the result is f32), then affine with multiplier 0 and offset 1: affine(mul, add) computes x·mul + add element-wise.
// HINT: Tensor::arange(0f32, n as f32, dev)?.affine(0.0, 1.0)
pub fn ones(n: usize, dev: &Device) -> Result<Tensor> {
    // BEGIN SOLUTION
    Tensor::arange(0f32, n as f32, dev)?.affine(0.0, 1.0)
    // END SOLUTION
}

/// ## sum
/// The sum of a vector `a: [n]`, as a `[1]` tensor. Rules: no `sum`/`sum_all`/`sum_keepdim`; use
/// `matmul` (a dot product with a vector of ones). Example: `[1, 2, 3]` → `[6]`.
// HINT: A sum is a dot product with a vector of ones, and a dot product is the matrix product of a row and a column.
// HINT: Make a a [1, n] row with unsqueeze(0), build an [n, 1] column of ones with Tensor::full on a's device, matmul them into a [1, 1] matrix, and reshape that to [1].
// HINT: a.unsqueeze(0)?.matmul(&Tensor::full(1f32, (n, 1), a.device())?)?.reshape(1)
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
// HINT: out[i, j] = a[i] · b[j]: if a varies along the rows and b along the columns, one broadcast multiplication fills the whole table.
// HINT: Make a a column ([i, 1]) and b a row ([1, j]) with unsqueeze; broadcast_mul stretches both to [i, j].
// HINT: a.unsqueeze(1)?.broadcast_mul(&b.unsqueeze(0)?)
pub fn outer(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    // BEGIN SOLUTION
    a.unsqueeze(1)?.broadcast_mul(&b.unsqueeze(0)?)
    // END SOLUTION
}

/// ## diag
/// The diagonal of a square matrix `a: [n, n]` as `[n]`. Rules: no `eye`; compare index grids.
/// Example: `[[1, 2], [3, 4]]` → `[1, 4]`.
// HINT: The diagonal entries are those where the row index equals the column index: build that 0/1 mask yourself from index vectors (calling eye, even your own, breaks this puzzle's rule), keep only those entries, and collapse each row to its one survivor.
// HINT: Compare an arange(n) column ([n, 1]) with an arange(n) row ([1, n]) using broadcast_eq, convert the u8 mask to f32, multiply a by it element-wise, and sum over dim 1: each row keeps only its diagonal entry.
// HINT: let i = Tensor::arange(0i64, n as i64, a.device())?; let m = i.unsqueeze(1)?.broadcast_eq(&i.unsqueeze(0)?)?.to_dtype(DType::F32)?; (a * m)?.sum(1)
pub fn diag(a: &Tensor) -> Result<Tensor> {
    // BEGIN SOLUTION
    let n = a.dim(0)?;
    let m = mask2(n, a.device(), |r, c| r.broadcast_eq(c))?;
    (a * m)?.sum(1)
    // END SOLUTION
}

/// ## eye
/// The `n × n` identity matrix (f32). Rules: no `eye`. Example: `eye(2)` → `[[1, 0], [0, 1]]`.
// HINT: The identity is 1 exactly where the row index equals the column index: compare a column of indices with a row of indices and let broadcasting build the whole grid.
// HINT: arange(n) as a column [n, 1] and as a row [1, n]; broadcast_eq gives an [n, n] u8 mask, and to_dtype(DType::F32) makes it the identity.
// HINT: let i = Tensor::arange(0i64, n as i64, dev)?; i.unsqueeze(1)?.broadcast_eq(&i.unsqueeze(0)?)?.to_dtype(DType::F32)
pub fn eye(n: usize, dev: &Device) -> Result<Tensor> {
    // BEGIN SOLUTION
    mask2(n, dev, |r, c| r.broadcast_eq(c))
    // END SOLUTION
}

/// ## triu
/// The `n × n` upper-triangular matrix of ones, diagonal included (f32), like
/// `torch.triu(torch.ones(n, n))`. Rules: no `triu2`/`tril2`. Example: `triu(2)` → `[[1, 1], [0, 1]]`.
// HINT: Which entries are kept? Those where the row index is at most the column index: the same construction as the identity, with another comparison.
// HINT: As in eye: arange(n) as a column [n, 1] against arange(n) as a row [1, n], but with broadcast_le (row <= column) instead of broadcast_eq, then to_dtype(DType::F32).
// HINT: let i = Tensor::arange(0i64, n as i64, dev)?; i.unsqueeze(1)?.broadcast_le(&i.unsqueeze(0)?)?.to_dtype(DType::F32)
pub fn triu(n: usize, dev: &Device) -> Result<Tensor> {
    // BEGIN SOLUTION
    mask2(n, dev, |r, c| r.broadcast_le(c))
    // END SOLUTION
}

/// ## cumsum
/// Running sum of `a: [n]`: `out[i] = a[0] + … + a[i]`. Rules: no `cumsum`; a triangular
/// matrix and `matmul` do it. Example: `[1, 2, 3]` → `[1, 3, 6]`.
// HINT: Write the running sum as a matrix product: which n × n matrix M makes (a · M)[i] = a[0] + … + a[i]? You built it two exercises ago.
// HINT: Column i of triu(n) has ones in rows 0..=i, so a [1, n] row times triu(n) is the row of prefix sums: unsqueeze a to [1, n], matmul with your triu(n, a.device()), squeeze back to [n].
// HINT: a.unsqueeze(0)?.matmul(&triu(n, a.device())?)?.squeeze(0)
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
// HINT: Two narrows of length n − 1 on dim 0, one starting at 1 and one at 0, subtracted element-wise (equal shapes, no broadcasting needed).
// HINT: a.narrow(0, 1, n - 1)? - a.narrow(0, 0, n - 1)?
pub fn diff(a: &Tensor) -> Result<Tensor> {
    // BEGIN SOLUTION
    let n = a.dim(0)?;
    a.narrow(0, 1, n - 1)? - a.narrow(0, 0, n - 1)?
    // END SOLUTION
}

/// ## vstack
/// Stack `a: [n]` and `b: [n]` as the rows of a `[2, n]` matrix. Rules: no `stack`/`cat`; use
/// `where_cond` on a row-index mask. Example: `[1, 2]`, `[3, 4]` → `[[1, 2], [3, 4]]`.
// HINT: Without stacking functions: make both inputs full [2, n] tables by broadcasting, then let a mask on the row index decide which table each row comes from.
// HINT: A [2, n] u8 mask that is 1 on row 0: an arange(2) column compared with 0, broadcast_as (2, n). Broadcast a and b to [2, n] too (unsqueeze(0), then broadcast_as): where_cond does not broadcast, so all three must already be [2, n]. where_cond takes a where the mask is 1, b elsewhere.
// HINT: let first = Tensor::arange(0i64, 2, dev)?.unsqueeze(1)?.broadcast_as((2, n))?.eq(0i64)?; first.where_cond(&a.unsqueeze(0)?.broadcast_as((2, n))?, &b.unsqueeze(0)?.broadcast_as((2, n))?)
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
// HINT: Rolling is reading from shifted positions: write down, for each output position, which input index it reads, and deal with the one index that falls off the end.
// HINT: Output i reads input i + 1: the indices 1, 2, …, n (an i64 arange from 1 to n + 1), except that the last one, n, must wrap to 0. A comparison with n and where_cond replace it by i − n (affine can add −n to an i64 tensor); then index_select on dim 0.
// HINT: let i = Tensor::arange(1i64, n as i64 + 1, a.device())?; let wrapped = i.ge(n as i64)?.where_cond(&i.affine(1.0, -(n as f64))?, &i)?;
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
// HINT: Output position i reads input position n − 1 − i: build that index vector and select with it.
// HINT: An i64 arange(n) mapped by affine(-1, n − 1) gives n − 1 − i (affine is fine on integers for whole-number factors); index_select on dim 0 with it.
// HINT: let i = Tensor::arange(0i64, n as i64, a.device())?.affine(-1.0, n as f64 - 1.0)?; a.index_select(&i, 0)
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
// HINT: Each kept value has a destination slot: the number of kept values before it. A running count over the mask gives every slot at once; a dropped value must then be sent nowhere.
// HINT: gf = g as f32; slot = cumsum(gf) − 1 (your cumsum); compare the slots (a column [n, 1]) with an f32 arange(len) (a row [1, len]) for a one-hot [n, len] matrix; multiply its rows by gf (a dropped value shares its slot with the kept value before it, so zero its row); then v as a [1, n] row matmul that matrix, squeezed to [len].
// HINT: let onehot = (cumsum(&gf)? - 1.0)?.unsqueeze(1)?.broadcast_eq(&pos.unsqueeze(0)?)?.to_dtype(DType::F32)?.broadcast_mul(&gf.unsqueeze(1)?)?; with pos = Tensor::arange(0f32, len as f32, v.device())?
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
// HINT: Keeping the first len values, or adding zeros after them, are both a matrix product with a slice of the identity: which 0/1 matrix moves value i to position i and has len columns?
// HINT: keep = min(n, len); narrow a to its first keep values; build the len × len identity from two aranges and broadcast_eq (as f32) and narrow it to its first keep rows ([keep, len]); a [1, keep] row times that matrix, squeezed, has zeros past position keep.
// HINT: a.narrow(0, 0, keep)?.unsqueeze(0)?.matmul(&id.narrow(0, 0, keep)?)?.squeeze(0) with id the [len, len] f32 identity
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
// HINT: Position t of row b is kept when t < lengths[b]: compare the positions (a row) with the lengths (a column), and broadcasting gives the whole mask.
// HINT: An i64 arange(n) as a [1, n] row, broadcast_lt against lengths as a [b, 1] column, gives a [b, n] u8 keep mask; convert it to the values' dtype and multiply (where_cond with zeros works too).
// HINT: let keep = Tensor::arange(0i64, n as i64, values.device())?.unsqueeze(0)?.broadcast_lt(&lengths.unsqueeze(1)?)?; values.broadcast_mul(&keep.to_dtype(values.dtype())?)
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
// HINT: The count of value v is how many entries equal v: a comparison table of every entry against every value 0..len, summed down the entries.
// HINT: a as an [n, 1] column, broadcast_eq an i64 arange(len) as a [1, len] row: an [n, len] u8 table. Convert it to I64 before summing (the result must be i64, and a u8 sum would wrap past 255), then sum over dim 0.
// HINT: a.unsqueeze(1)?.broadcast_eq(&Tensor::arange(0i64, len as i64, a.device())?.unsqueeze(0)?)?.to_dtype(DType::I64)?.sum(0)
pub fn bincount(a: &Tensor, len: usize) -> Result<Tensor> {
    // BEGIN SOLUTION
    let hits = a.unsqueeze(1)?.broadcast_eq(&idx(len, a.device())?.unsqueeze(0)?)?;
    hits.to_dtype(DType::I64)?.sum(0)
    // END SOLUTION
}

/// ## scatter_add
/// Sum `values: [n]` into `len` buckets: `out[k] = Σ values[i] for link[i] == k` (`link: [n]`,
/// i64). Rules: no `scatter_add`/`index_add`. Example: `[1, 2, 4]`, `[0, 2, 0]`, 3 → `[5, 0, 2]`.
// HINT: Each value goes to bucket link[i]: a one-hot matrix of link says where, and a matrix product adds up everything that lands in the same bucket.
// HINT: The one-hot of link: link as an [n, 1] column, broadcast_eq an i64 arange(len) row [1, len], converted to f32 → [n, len]. Then values as a [1, n] row matmul it gives [1, len]; squeeze to [len].
// HINT: values.unsqueeze(0)?.matmul(&hits)?.squeeze(0) with hits = link.unsqueeze(1)?.broadcast_eq(&Tensor::arange(0i64, len as i64, link.device())?.unsqueeze(0)?)?.to_dtype(DType::F32)?
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
// HINT: Output element k is a[k / j, k % j]: compute both indices for every k at once, use the first to pick rows and the second to pick one entry of each row. Integer division is the awkward part.
// HINT: k = an i64 arange(i·j). row = k / j: go through f64 (to_dtype, divide, floor, back to I64), because affine would round the factor 1/j to an integer first; col = k − row·j. index_select(row, 0) gives [i·j, j]; a one-hot of col against arange(j) ([i·j, j], a's dtype) times those rows, summed over dim 1, picks each column. No reshape or flatten anywhere.
// HINT: let row = (k.to_dtype(DType::F64)? / j as f64)?.floor()?.to_dtype(DType::I64)?; let col = (&k - row.affine(j as f64, 0.0)?)?;
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
// HINT: The points are start, start + step, start + 2·step, … with step = (end − start) / (n − 1): n points have n − 1 gaps between them.
// HINT: An f32 arange(n) times step plus start is one affine; compute step in f64 from start, end and n − 1.
// HINT: Tensor::arange(0f32, n as f32, dev)?.affine((end as f64 - start as f64) / (n - 1) as f64, start as f64)
pub fn linspace(start: f32, end: f32, n: usize, dev: &Device) -> Result<Tensor> {
    // BEGIN SOLUTION
    let step = (end as f64 - start as f64) / (n - 1) as f64;
    Tensor::arange(0f32, n as f32, dev)?.affine(step, start as f64)
    // END SOLUTION
}

/// ## heaviside
/// The step function `torch.heaviside(a, b)`: 0 where `a < 0`, `b` where `a == 0`, 1 where
/// `a > 0` (`a`, `b` of the same shape). Example: `[-1, 0, 2]`, `[5, 5, 5]` → `[0, 5, 1]`.
// HINT: Three cases (negative, zero, positive): a 0/1 step covers two of them, and a choice between b and that step covers zero.
// HINT: pos = (a > 0) converted to f32 is 0 for negatives and zero, 1 for positives; then where_cond on (a == 0) picks b there and pos elsewhere. gt and eq compare with a scalar and return u8 masks.
// HINT: a.eq(0f32)?.where_cond(b, &a.gt(0f32)?.to_dtype(DType::F32)?)
pub fn heaviside(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    // BEGIN SOLUTION
    let pos = a.gt(0f32)?.to_dtype(DType::F32)?;
    a.eq(0f32)?.where_cond(b, &pos)
    // END SOLUTION
}

/// ## repeat
/// `d` copies of `a: [n]` as the rows of `[d, n]`. Rules: no `repeat`; broadcasting.
/// Example: `[1, 2]`, 3 → `[[1, 2], [1, 2], [1, 2]]`.
// HINT: Repeating a row d times is broadcasting it against something that has d rows.
// HINT: A [d, 1] column of ones (Tensor::full on a's device) broadcast_mul a as a [1, n] row (unsqueeze(0)) gives [d, n].
// HINT: Tensor::full(1f32, (d, 1), a.device())?.broadcast_mul(&a.unsqueeze(0)?)
pub fn repeat(a: &Tensor, d: usize) -> Result<Tensor> {
    // BEGIN SOLUTION
    Tensor::full(1f32, (d, 1), a.device())?.broadcast_mul(&a.unsqueeze(0)?)
    // END SOLUTION
}

/// ## bucketize
/// For each value of `v: [n]`, the index of its bucket among the sorted `boundaries: [k]`: the
/// number of boundaries strictly below it (`torch.bucketize(v, boundaries)`), as i64.
/// Example: `[0.5, 2, 7]`, `[1, 2, 5]` → `[0, 1, 3]`.
// HINT: The bucket of a value is the number of boundaries strictly below it: count them, no search needed.
// HINT: v as an [n, 1] column, broadcast_gt the boundaries as a [1, k] row: an [n, k] u8 table of value > boundary; convert to I64 and sum over dim 1.
// HINT: v.unsqueeze(1)?.broadcast_gt(&boundaries.unsqueeze(0)?)?.to_dtype(DType::I64)?.sum(1)
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
// HINT: One element per row, chosen by idx: gather does exactly this, but it wants an index with as many axes as a has.
// HINT: unsqueeze idx to [n, 1], gather along dim 1 (giving [n, 1]), then squeeze dim 1 to get [n].
// HINT: a.gather(&idx.unsqueeze(1)?, 1)?.squeeze(1)
pub fn gather_rows(a: &Tensor, idx: &Tensor) -> Result<Tensor> {
    // BEGIN SOLUTION
    a.gather(&idx.unsqueeze(1)?, 1)?.squeeze(1)
    // END SOLUTION
}

/// ## select_rows
/// The rows of `a: [n, m]` listed in `rows: [k]` (i64, repeats allowed), as `[k, m]`: an
/// embedding lookup. Use `index_select`. Example: `[[1, 2], [3, 4]]`, `[1, 1, 0]` → `[[3, 4], [3, 4], [1, 2]]`.
// HINT: Picking whole rows by a list of indices, repeats included, is a single selection along the first axis: no masks needed.
// HINT: index_select with rows as the index along dim 0: one row of a per entry of rows, [k, m].
// HINT: a.index_select(rows, 0)
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
// HINT: Make zeros of length len with the values' dtype and device, then scatter the values into it along dim 0 at the positions in at (index_add onto zeros works too, as the positions are distinct).
// HINT: Tensor::zeros(len, values.dtype(), values.device())?.scatter(at, values, 0)
pub fn place(values: &Tensor, at: &Tensor, len: usize) -> Result<Tensor> {
    // BEGIN SOLUTION
    Tensor::zeros(len, values.dtype(), values.device())?.scatter(at, values, 0)
    // END SOLUTION
}

/// ## one_hot
/// Rows of the identity: `out[i, c] = 1.0` if `idx[i] == c` else 0, for `idx: [n]` (i64), as f32
/// `[n, classes]`. Rules: no `candle_nn::encoding::one_hot`. Example: `[2, 0]`, 3 → `[[0, 0, 1], [1, 0, 0]]`.
// HINT: Row i is 1 at column idx[i]: compare idx with every class number at once, and broadcasting builds the table.
// HINT: idx as an [n, 1] column, broadcast_eq an i64 arange(classes) as a [1, classes] row: a u8 [n, classes] mask; to_dtype(DType::F32).
// HINT: idx.unsqueeze(1)?.broadcast_eq(&Tensor::arange(0i64, classes as i64, idx.device())?.unsqueeze(0)?)?.to_dtype(DType::F32)
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
// HINT: Choose per element between a tensor full of the value and a itself: a where-condition, with the mask as the condition.
// HINT: Build a tensor of a's shape filled with value (Tensor::full), then the mask's where_cond takes the fill where the mask is 1 and a elsewhere.
// HINT: mask.where_cond(&Tensor::full(value, a.shape(), a.device())?, a)
pub fn masked_fill(a: &Tensor, mask: &Tensor, value: f32) -> Result<Tensor> {
    // BEGIN SOLUTION
    let fill = Tensor::full(value, a.shape(), a.device())?;
    mask.where_cond(&fill, a)
    // END SOLUTION
}

/// ## softmax
/// Softmax over the last dimension of `a: [n, m]`, stable for large inputs (subtract the row
/// maximum first). Rules: no `candle_nn::ops::softmax*`. Example: `[[0, ln 3]]` → `[[0.25, 0.75]]`.
// HINT: Try it with a row of 1000s first: what does exp give in f32? Softmax does not change when you subtract the same number from a whole row.
// HINT: exp overflows f32 above about 88: subtract each row's maximum (max_keepdim over the last axis, [n, 1]) with broadcast_sub before exp, then divide by the row sums (sum_keepdim, broadcast_div).
// HINT: let e = a.broadcast_sub(&a.max_keepdim(D::Minus1)?)?.exp()?; e.broadcast_div(&e.sum_keepdim(D::Minus1)?)
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
// HINT: Mean and variance are per row and must stay column-shaped so that they broadcast back over each row. The variance is the population one, and the small constant goes inside the square root.
// HINT: mu = mean_keepdim over the last axis ([n, 1]); centred = a broadcast_sub mu; var = mean_keepdim of centred squared (divide by m, not m − 1); divide centred by sqrt(var + 1e-5) with broadcast_div.
// HINT: centred.broadcast_div(&(centred.sqr()?.mean_keepdim(D::Minus1)? + 1e-5)?.sqrt()?)
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
// HINT: With no ties, an entry is among its row's k largest exactly when fewer than k entries of the same row are larger than it: count, for every entry, how many beat it.
// HINT: Compare every entry with every entry of its row in a 3-D table: a as [n, 1, m] broadcast_gt a as [n, m, 1] gives [n, m, m] (at [r, j, j']: entry j' beats entry j); convert to I64, sum over the last axis for each entry's rank, and lt(k) gives the u8 mask. (Sorting with arg_sort_last_dim works too.)
// HINT: let rank = a.unsqueeze(1)?.broadcast_gt(&a.unsqueeze(2)?)?.to_dtype(DType::I64)?.sum(2)?; rank.lt(k as i64)
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
// HINT: out[b, n, m] = Σ over k of x[b, n, k] · y[b, k, m]: line up four axes by broadcasting, multiply, and sum away the shared one.
// HINT: unsqueeze x to [b, n, k, 1] and y to [b, 1, k, m]; broadcast_mul gives [b, n, k, m]; sum over dim 2 (k) leaves [b, n, m].
// HINT: x.unsqueeze(3)?.broadcast_mul(&y.unsqueeze(1)?)?.sum(2)
pub fn batched_matmul(x: &Tensor, y: &Tensor) -> Result<Tensor> {
    // BEGIN SOLUTION
    x.unsqueeze(3)?.broadcast_mul(&y.unsqueeze(1)?)?.sum(2)
    // END SOLUTION
}

/// ## pairwise_distances
/// Euclidean distances between the rows of `x: [n, d]` and `y: [m, d]`, as `[n, m]`
/// (`torch.cdist(x, y)`). Example: `[[0, 0]]`, `[[3, 4], [0, 1]]` → `[[5, 1]]`.
// HINT: Every pair (i, j) needs x[i] − y[j]: put the two sets on different axes so that one subtraction forms all pairs. The distance is the square root of the summed squares, not the sum itself.
// HINT: x as [n, 1, d] broadcast_sub y as [1, m, d] gives [n, m, d]; square, sum over dim 2, sqrt.
// HINT: x.unsqueeze(1)?.broadcast_sub(&y.unsqueeze(0)?)?.sqr()?.sum(2)?.sqrt()
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
// HINT: Build the table of all sums nums[i] + nums[j] at once, keep only the cells with i < j, and find the one equal to the target: its position in the flattened table encodes both indices.
// HINT: sums = nums as a column broadcast_add nums as a row ([n, n]); an upper mask i < j from two aranges and broadcast_lt; multiply eq(target) by the mask (both as U32); flatten_all and argmax give k = i·n + j; split it into i = k / n (integer division through f64 and floor) and j = k − i·n, and cat them into an i64 [2].
// HINT: let k = hit.flatten_all()?.argmax(0)?.to_dtype(DType::I64)?.reshape(1)?; let i = (k.to_dtype(DType::F64)? / n as f64)?.floor()?.to_dtype(DType::I64)?; let j = (&k - i.affine(n as f64, 0.0)?)?; Tensor::cat(&[i, j], 0)
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
// HINT: Start with two operands and no repeated letters: each letter is an axis; broadcast all operands to one shape over every letter, multiply, and sum the letters that are not in the output.
// HINT: Split the spec at the arrow and the commas, and list every letter once in order of first appearance: each gets an axis. Per operand: take diagonals for repeated letters, permute its axes into that letter order, unsqueeze the letters it lacks. Multiply all operands with broadcast_mul, sum the letters not in the output, permute the rest into the output's order.
// HINT: A letter repeated at axes p < q of an operand: let shape be all 1s except n at p and at q; t = t.broadcast_mul(&eye(n, t.device())?.reshape(shape)?)?.sum(q)?; then remove label q, and repeat until no letter repeats.
// HINT: To finish: walk the letters from the last axis to the first, summing each one missing from the output (so the earlier axis numbers stay valid) and collecting the kept ones; then permute(order) with order[i] = the position of the output's i-th letter among the kept ones, and contiguous (a scalar output skips the permute).
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
