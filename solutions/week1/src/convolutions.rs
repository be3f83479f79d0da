//! # Convolutions and pooling
//!
//! Convolutions, padding and pooling built from tensor operations, checked against
//! `torch.nn.functional`. The recipe is always the same ("im2col"): gather every window of the
//! input into its own row with a computed index tensor, then reduce the rows (a matmul with the
//! flattened kernel for a convolution, `max` or `mean` for pooling). No element loops: learner
//! code is compiled in debug mode, candle's kernels are not.
//!
//! The day opens with the same idea in `ndarray`, where it can be shown as it is: a window is
//! not a copy but a *view* with its own strides over the input's buffer (numpy's `as_strided`,
//! what PyTorch's `unfold` returns). candle has no such view — its `narrow`, `index_select` and
//! `unfold` copy — so the candle exercises that follow gather the windows instead.
//!
//! Rules for the whole day: no `conv1d`, `conv2d`, `max_pool2d`, `avg_pool2d` or `unfold` from
//! candle (the grader checks your source). `pad_with_zeros` is fine except in `pad2d`, which
//! reimplements it. Values are f32; make new tensors on `x.device()`.
//!
//! Output length along an axis of size `n`, kernel `k`, stride `s`, padding `p` (each side) and
//! dilation `d`: `(n + 2p - d(k - 1) - 1) / s + 1` (integer division).
// STUB: #![allow(unused_variables, unused_imports)] // remove once you have solved a few

use candle_core::{Device, Result, Tensor, D};
use ndarray::{Array2, ArrayView2, ArrayView4, ShapeBuilder};

// BEGIN SOLUTION ONLY
/// Output length of a sliding window over `n` values already padded (the module doc's formula
/// with the padding inside `n`).
fn out_len(n: usize, k: usize, stride: usize, dilation: usize) -> usize {
    (n - dilation * (k - 1) - 1) / stride + 1
}

/// `[num_windows, k]` i64 indices `o * stride + j * dilation` on `dev`.
fn window_index(num_windows: usize, k: usize, stride: usize, dilation: usize, dev: &Device) -> Result<Tensor> {
    let starts = Tensor::arange_step(0i64, (num_windows * stride) as i64, stride as i64, dev)?;
    let taps = Tensor::arange_step(0i64, (k * dilation) as i64, dilation as i64, dev)?;
    starts.unsqueeze(1)?.broadcast_add(&taps.unsqueeze(0)?)
}

/// Replace axis `dim` (size n) of `x` by two axes `[num_windows, k]`: the windows of that axis.
fn windows_along(x: &Tensor, dim: usize, k: usize, stride: usize, dilation: usize) -> Result<Tensor> {
    let n = x.dim(dim)?;
    let nw = out_len(n, k, stride, dilation);
    let idx = window_index(nw, k, stride, dilation, x.device())?.flatten_all()?;
    let picked = x.index_select(&idx, dim)?;
    let mut shape = x.dims().to_vec();
    shape.splice(dim..=dim, [nw, k]);
    picked.reshape(shape)
}

/// im2col for 2-D: `[b, c, h, w]` (already padded) → `[b, oh * ow, c * kh * kw]`, plus (oh, ow).
fn im2col(x: &Tensor, k: (usize, usize), stride: (usize, usize), dilation: (usize, usize)) -> Result<(Tensor, usize, usize)> {
    let (b, c, _, _) = x.dims4()?;
    let rows = windows_along(x, 2, k.0, stride.0, dilation.0)?; // [b, c, oh, kh, w]
    let cols = windows_along(&rows, 4, k.1, stride.1, dilation.1)?; // [b, c, oh, kh, ow, kw]
    let (oh, ow) = (cols.dim(2)?, cols.dim(4)?);
    let cols = cols.permute((0, 2, 4, 1, 3, 5))?.reshape((b, oh * ow, c * k.0 * k.1))?;
    Ok((cols, oh, ow))
}

/// Pooling windows: `[b, c, h, w]` (already padded) → `[b, c, oh, ow, kh * kw]`.
fn pool_windows(x: &Tensor, k: (usize, usize), stride: (usize, usize)) -> Result<Tensor> {
    let (b, c, _, _) = x.dims4()?;
    let rows = windows_along(x, 2, k.0, stride.0, 1)?; // [b, c, oh, kh, w]
    let cols = windows_along(&rows, 4, k.1, stride.1, 1)?; // [b, c, oh, kh, ow, kw]
    let (oh, ow) = (cols.dim(2)?, cols.dim(4)?);
    cols.permute((0, 1, 2, 4, 3, 5))?.reshape((b, c, oh, ow, k.0 * k.1))
}

/// `[out, n]` matrix whose row i averages PyTorch's adaptive window i of an axis of size n.
fn adaptive_matrix(n: usize, out: usize, dev: &Device) -> Result<Tensor> {
    let mut m = vec![0f32; out * n];
    for i in 0..out {
        let start = i * n / out;
        let end = ((i + 1) * n).div_ceil(out);
        for j in start..end {
            m[i * n + j] = 1.0 / (end - start) as f32;
        }
    }
    Tensor::from_vec(m, (out, n), dev)
}
// END SOLUTION

/// ## strided_view
/// The windows of `x` of length `window`, one every `stride` elements, as an `ndarray` view of
/// shape `[num_windows, window]` (`num_windows = (n - window) / stride + 1`, 0 when
/// `window > n`) over `x` itself: no element is copied. Element `[o, j]` is `x[o * stride + j]`,
/// so the view's strides are `[stride, 1]` (ndarray counts strides in elements): consecutive
/// windows overlap in memory when `stride < window`. Build it with
/// `ArrayView::from_shape((rows, cols).strides((s, 1)), x)` (`ShapeBuilder::strides`), which
/// checks that every element lies inside `x`.
/// Example: `[0, 1, 2, 3, 4]`, window 3, stride 2 → `[[0, 1, 2], [2, 3, 4]]`, reading
/// `x[2]` twice.
// HINT: A view copies nothing: it only describes how to walk x's buffer. Moving to the next window jumps by stride elements, moving within a window jumps by one, and windows may overlap.
// HINT: num_windows = (len − window) / stride + 1, or 0 when the window is longer than x; build an ArrayView2 with from_shape over x itself, with the shape (num_windows, window) given the strides (stride, 1) (ShapeBuilder's strides method). from_shape returns a Result: every window lies inside x, so expect it.
// HINT: ArrayView2::from_shape((n, window).strides((stride, 1)), x).expect("every window lies inside x")
pub fn strided_view(x: &[f32], window: usize, stride: usize) -> ArrayView2<'_, f32> {
    // BEGIN SOLUTION
    let n = if window == 0 || window > x.len() { 0 } else { (x.len() - window) / stride + 1 };
    ArrayView2::from_shape((n, window).strides((stride, 1)), x).expect("every window lies inside x")
    // END SOLUTION
}

/// ## windows_2d
/// Every `kh × kw` window of the matrix `x`, one every `stride = (sh, sw)` rows and columns, as a
/// view of shape `[oh, ow, kh, kw]` (`oh = (h - kh) / sh + 1`, `ow = (w - kw) / sw + 1`; no
/// window at all, `[0, 0, kh, kw]`, when the kernel is larger than `x` along either axis) over
/// `x`'s buffer: element `[i, j, a, b]` is `x[[i * sh + a, j * sw + b]]`. Take the strides from
/// `x.strides()` (`[rs, cs]`, in elements) rather than assuming a row-major matrix: a
/// transposed view (`x.t()`) or every other column (`x.slice(s![.., ..;2])`) has other strides
/// over the same buffer, and its windows must be that matrix's (strides are not negative here:
/// ndarray's `from_shape_ptr` refuses negative custom strides). The view's strides are `[sh·rs, sw·cs, rs, cs]`; start it at
/// `x.as_ptr()` (`ArrayView4::from_shape_ptr`, an `unsafe` promise that every element lies in
/// `x`'s buffer: check the last window's corner against `x`'s shape first).
// HINT: The output indices pick a window's corner, the kernel indices a step within it, and both walk the same buffer: all four strides come from x's own two strides, never from assuming a row-major matrix.
// HINT: oh = (h − kh) / sh + 1 and ow = (w − kw) / sw + 1, or both 0 when the kernel is larger along either axis; (rs, cs) = x.strides() (as usize); the view has shape (oh, ow, kh, kw), strides (sh·rs, sw·cs, rs, cs), and starts at x.as_ptr(). from_shape_ptr is unsafe: assert first that the last window's far corner lies inside x.
// HINT: unsafe { ArrayView4::from_shape_ptr((oh, ow, kh, kw).strides((sh * rs, sw * cs, rs, cs)), x.as_ptr()) }
pub fn windows_2d<'a>(x: &ArrayView2<'a, f32>, kernel: (usize, usize), stride: (usize, usize)) -> ArrayView4<'a, f32> {
    // BEGIN SOLUTION
    let (h, w) = x.dim();
    let (kh, kw) = kernel;
    let (sh, sw) = stride;
    let (oh, ow) = if kh > h || kw > w { (0, 0) } else { ((h - kh) / sh + 1, (w - kw) / sw + 1) };
    let (rs, cs) = (x.strides()[0] as usize, x.strides()[1] as usize);
    assert!(oh == 0 || ((oh - 1) * sh + kh <= h && (ow - 1) * sw + kw <= w));
    // SAFETY: element [i, j, a, b] is x[[i·sh + a, j·sw + b]], inside x by the assertion above,
    // and the view borrows x's buffer for 'a.
    unsafe { ArrayView4::from_shape_ptr((oh, ow, kh, kw).strides((sh * rs, sw * cs, rs, cs)), x.as_ptr()) }
    // END SOLUTION
}

/// ## conv2d_single
/// The cross-correlation of the matrix `x: [h, w]` with the kernel `k: [kh, kw]` at `stride`
/// (one input and one output channel, no padding): `out[[i, j]] = Σ_a Σ_b x[[i·sh + a, j·sw +
/// b]] · k[[a, b]]`, of shape `[oh, ow]`. Use `windows_2d`: each output is the sum of one
/// window multiplied elementwise by `k` (`(&window * &k).sum()`), no copy of the input.
// HINT: Each output value is one window times the kernel, element by element, summed: your windows view already gives you every window without copying.
// HINT: win = windows_2d(x, k.dim(), stride) has shape [oh, ow, kh, kw]; build the [oh, ow] output with Array2::from_shape_fn, where entry (i, j) multiplies the window at [i, j] by k element-wise and sums.
// HINT: Array2::from_shape_fn((oh, ow), |(i, j)| (&win.slice(ndarray::s![i, j, .., ..]) * k).sum())
pub fn conv2d_single(x: &ArrayView2<'_, f32>, k: &ArrayView2<'_, f32>, stride: (usize, usize)) -> Array2<f32> {
    // BEGIN SOLUTION
    let win = windows_2d(x, k.dim(), stride);
    let (oh, ow) = (win.dim().0, win.dim().1);
    Array2::from_shape_fn((oh, ow), |(i, j)| (&win.slice(ndarray::s![i, j, .., ..]) * k).sum())
    // END SOLUTION
}

/// ## strided_windows
/// The windows of `x: [n]` of length `window`, one every `stride` elements, as the rows of a
/// `[num_windows, window]` matrix with `num_windows = (n - window) / stride + 1`: row `o` is
/// `x[o * stride .. o * stride + window]`: `strided_view` again, but a candle tensor cannot be
/// a view with overlapping strides, so here the windows are gathered into a new one. Rules: build the `[num_windows, window]` index
/// matrix `o * stride + j` from `arange` and broadcasting, then gather (`index_select` on the
/// flattened indices, then `reshape`). No `unfold`.
/// Example: `[0, 1, 2, 3, 4]`, window 3, stride 2 → `[[0, 1, 2], [2, 3, 4]]`.
// HINT: Windows can be gathered instead of viewed: if you know the source index of every element of every window, one selection copies them all. Row o of that index table starts at o times stride and counts up.
// HINT: nw = (n − window) / stride + 1; the [nw, window] index matrix is arange_step(0, nw·stride, stride) as a column plus arange(window) as a row (broadcast_add, i64); flatten_all it, index_select on dim 0, reshape to (nw, window).
// HINT: let idx = Tensor::arange_step(0i64, (nw * stride) as i64, stride as i64, dev)?.unsqueeze(1)?.broadcast_add(&Tensor::arange(0i64, window as i64, dev)?.unsqueeze(0)?)?; x.index_select(&idx.flatten_all()?, 0)?.reshape((nw, window))
pub fn strided_windows(x: &Tensor, window: usize, stride: usize) -> Result<Tensor> {
    // BEGIN SOLUTION
    windows_along(x, 0, window, stride, 1)
    // END SOLUTION
}

/// ## conv1d_minimal
/// A 1-D convolution (PyTorch's cross-correlation: the kernel is not flipped) with no stride,
/// padding or bias: `x: [b, c_in, w]`, `weight: [c_out, c_in, k]` →
/// `out[b, o, t] = Σ_c Σ_j x[b, c, t + j] · weight[o, c, j]`, shape `[b, c_out, w - k + 1]`.
/// Rules: gather the windows (`[b, c_in, w - k + 1, k]`), then one matmul with the weight
/// flattened to `[c_out, c_in · k]`. No `conv1d`, no `unfold`.
// HINT: A convolution is a matrix product in disguise: put every window of every input channel into one row, and the flattened kernel does the rest. The work is arranging the axes so that each window's channel and tap line up with the weight's.
// HINT: Gather the windows along the last axis (index_select on dim 2 with the flattened [ow, k] index matrix, then reshape) to [b, c_in, ow, k]; permute to [b, ow, c_in, k] and reshape to [b, ow, c_in·k]; broadcast_matmul with the weight reshaped to [c_out, c_in·k] and transposed; transpose(1, 2) back to [b, c_out, ow].
// HINT: win.permute((0, 2, 1, 3))?.reshape((b, ow, c * k))?.broadcast_matmul(&weight.reshape((o, c * k))?.t()?)?.transpose(1, 2)?.contiguous()
pub fn conv1d_minimal(x: &Tensor, weight: &Tensor) -> Result<Tensor> {
    // BEGIN SOLUTION
    let (b, c, _) = x.dims3()?;
    let (o, _, k) = weight.dims3()?;
    let win = windows_along(x, 2, k, 1, 1)?; // [b, c, ow, k]
    let ow = win.dim(2)?;
    let cols = win.permute((0, 2, 1, 3))?.reshape((b, ow, c * k))?;
    let w = weight.reshape((o, c * k))?.t()?;
    cols.broadcast_matmul(&w)?.transpose(1, 2)?.contiguous()
    // END SOLUTION
}

/// ## conv1d
/// `F.conv1d(x, weight, bias, stride, padding, dilation)`: `x: [b, c_in, w]`,
/// `weight: [c_out, c_in, k]`, optional `bias: [c_out]`; zero `padding` on both ends; kernel
/// tap `j` reads input position `t · stride + j · dilation` (of the padded input). Output
/// `[b, c_out, (w + 2·padding - dilation·(k - 1) - 1) / stride + 1]`. Rules: as
/// `conv1d_minimal`; `pad_with_zeros` is allowed. No `conv1d`, no `unfold`.
// HINT: Padding, stride and dilation only change which input positions a window reads: pad first, then tap j of window o reads position o·stride + j·dilation. The rest is your minimal convolution plus one bias per output channel.
// HINT: Pad the last axis with zeros (pad_with_zeros on dim 2, padding on each side); ow from the module doc's formula; the index matrix is arange_step(0, ow·stride, stride) as a column plus arange_step(0, k·dilation, dilation) as a row. Then as conv1d_minimal, and broadcast_add the bias to the [b, ow, c_out] product before transposing.
// HINT: let idx = Tensor::arange_step(0i64, (ow * stride) as i64, stride as i64, dev)?.unsqueeze(1)?.broadcast_add(&Tensor::arange_step(0i64, (k * dilation) as i64, dilation as i64, dev)?.unsqueeze(0)?)?; with ow = (w + 2 * padding - dilation * (k - 1) - 1) / stride + 1
pub fn conv1d(x: &Tensor, weight: &Tensor, bias: Option<&Tensor>, stride: usize, padding: usize, dilation: usize) -> Result<Tensor> {
    // BEGIN SOLUTION
    let (b, c, _) = x.dims3()?;
    let (o, _, k) = weight.dims3()?;
    let x = x.pad_with_zeros(2, padding, padding)?;
    let win = windows_along(&x, 2, k, stride, dilation)?; // [b, c, ow, k]
    let ow = win.dim(2)?;
    let cols = win.permute((0, 2, 1, 3))?.reshape((b, ow, c * k))?;
    let w = weight.reshape((o, c * k))?.t()?;
    let mut out = cols.broadcast_matmul(&w)?; // [b, ow, o]
    if let Some(bias) = bias {
        out = out.broadcast_add(bias)?;
    }
    out.transpose(1, 2)?.contiguous()
    // END SOLUTION
}

/// ## conv2d_minimal
/// A 2-D convolution with no stride, padding or bias: `x: [b, c, h, w]`,
/// `weight: [o, c, kh, kw]` → `out[b, o, i, j] = Σ_c Σ_u Σ_v x[b, c, i + u, j + v] · weight[o, c, u, v]`,
/// shape `[b, o, h - kh + 1, w - kw + 1]`. Rules: gather the windows of the rows, then of the
/// columns, arrange them as `[b, oh · ow, c · kh · kw]` (im2col) and matmul with the flattened
/// weight. No `conv2d`, no `unfold`.
// HINT: The one-dimensional idea twice: gather the windows of the rows, then of the columns, and arrange each output pixel's whole receptive field (every channel, kernel row and kernel column) into one row of a matrix: im2col.
// HINT: Gather row windows on axis 2 ([b, c, oh, kh, w]), then column windows on the last axis ([b, c, oh, kh, ow, kw]); permute to [b, oh, ow, c, kh, kw], reshape to [b, oh·ow, c·kh·kw]; broadcast_matmul with the weight as [c·kh·kw, o] (reshape to (o, c·kh·kw), then t()); transpose(1, 2) and reshape to [b, o, oh, ow].
// HINT: cols.permute((0, 2, 4, 1, 3, 5))?.reshape((b, oh * ow, c * kh * kw))?.broadcast_matmul(&weight.reshape((o, c * kh * kw))?.t()?)?.transpose(1, 2)?.reshape((b, o, oh, ow))
pub fn conv2d_minimal(x: &Tensor, weight: &Tensor) -> Result<Tensor> {
    // BEGIN SOLUTION
    let b = x.dim(0)?;
    let (o, c, kh, kw) = weight.dims4()?;
    let (cols, oh, ow) = im2col(x, (kh, kw), (1, 1), (1, 1))?;
    let w = weight.reshape((o, c * kh * kw))?.t()?;
    cols.broadcast_matmul(&w)?.transpose(1, 2)?.reshape((b, o, oh, ow))
    // END SOLUTION
}

/// ## conv2d
/// `F.conv2d(x, weight, bias, stride, padding, dilation)` with `groups = 1`: `x: [b, c, h, w]`,
/// `weight: [o, c, kh, kw]`, optional `bias: [o]`. Each pair is (rows, columns); padding is
/// symmetric per axis (`padding.0` zero rows above and below, `padding.1` zero columns left and
/// right). Output `[b, o, oh, ow]` with `oh = (h + 2·padding.0 - dilation.0·(kh - 1) - 1) / stride.0 + 1`
/// and `ow` likewise. Rules: as `conv2d_minimal`; `pad_with_zeros` is allowed. No `conv2d`,
/// no `unfold`.
// HINT: Everything new is about which input positions a window reads: pad rows and columns first, then along each axis tap j of window o reads o·stride + j·dilation. The bias is one number per output channel.
// HINT: Zero-pad rows and columns (pad_with_zeros on axes 2 and 3 with padding.0 and padding.1); build each axis's index matrix as in conv1d (arange_step by the stride for the windows plus arange_step by the dilation for the taps); gather rows, then columns, as in conv2d_minimal; matmul; broadcast_add the bias to the [b, oh·ow, o] product before transposing (or add it as [1, o, 1, 1] at the end).
// HINT: Per axis of padded size n: out = (n - dil * (k - 1) - 1) / s + 1; idx = Tensor::arange_step(0i64, (out * s) as i64, s as i64, dev)?.unsqueeze(1)?.broadcast_add(&Tensor::arange_step(0i64, (k * dil) as i64, dil as i64, dev)?.unsqueeze(0)?)?; then index_select(&idx.flatten_all()?, axis) and reshape that axis into (out, k).
pub fn conv2d(x: &Tensor, weight: &Tensor, bias: Option<&Tensor>, stride: (usize, usize), padding: (usize, usize), dilation: (usize, usize)) -> Result<Tensor> {
    // BEGIN SOLUTION
    let b = x.dim(0)?;
    let (o, c, kh, kw) = weight.dims4()?;
    let x = x.pad_with_zeros(2, padding.0, padding.0)?.pad_with_zeros(3, padding.1, padding.1)?;
    let (cols, oh, ow) = im2col(&x, (kh, kw), stride, dilation)?;
    let w = weight.reshape((o, c * kh * kw))?.t()?;
    let mut out = cols.broadcast_matmul(&w)?; // [b, oh * ow, o]
    if let Some(bias) = bias {
        out = out.broadcast_add(bias)?;
    }
    out.transpose(1, 2)?.reshape((b, o, oh, ow))
    // END SOLUTION
}

/// ## pad2d
/// `F.pad(x, (left, right, top, bottom), value=value)` for `x: [b, c, h, w]`: `left` columns of
/// `value` before each row, `right` after, `top` rows above, `bottom` below; the result is
/// `[b, c, h + top + bottom, w + left + right]`. Any of the four may be 0. Rules: no
/// `pad_with_zeros` / `pad_with_same`; build blocks with `Tensor::full` and join them with
/// `Tensor::cat`.
// HINT: Padding is concatenation: blocks filled with the value to the left and right of every row, then blocks as wide as the widened rows above and below.
// HINT: Tensor::full(value, (b, c, h, left), dev) and (b, c, h, right), cat with x on axis 3; then blocks (b, c, top, w + left + right) and (b, c, bottom, w + left + right), cat on axis 2. Skip the blocks of size 0, and give the blocks x's dtype.
// HINT: let mut parts = Vec::new(); if left > 0 { parts.push(Tensor::full(value, (b, c, h, left), dev)?.to_dtype(x.dtype())?) } parts.push(x.clone()); if right > 0 { … } let wide = Tensor::cat(&parts, 3)?; then the same on axis 2 with top and bottom blocks of width w + left + right.
pub fn pad2d(x: &Tensor, pad: (usize, usize, usize, usize), value: f32) -> Result<Tensor> {
    // BEGIN SOLUTION
    let (b, c, h, w) = x.dims4()?;
    let (left, right, top, bottom) = pad;
    let dev = x.device();
    let block = |rows: usize, cols: usize| Tensor::full(value, (b, c, rows, cols), dev)?.to_dtype(x.dtype());
    let mut parts = Vec::new();
    if left > 0 {
        parts.push(block(h, left)?);
    }
    parts.push(x.clone());
    if right > 0 {
        parts.push(block(h, right)?);
    }
    let wide = Tensor::cat(&parts, 3)?;
    let w2 = w + left + right;
    let mut parts = Vec::new();
    if top > 0 {
        parts.push(block(top, w2)?);
    }
    parts.push(wide);
    if bottom > 0 {
        parts.push(block(bottom, w2)?);
    }
    Tensor::cat(&parts, 2)
    // END SOLUTION
}

/// ## maxpool2d
/// `F.max_pool2d(x, kernel, stride, padding)` for `x: [b, c, h, w]`: the maximum of each
/// `kernel.0 × kernel.1` window, windows `stride` apart, after padding each side with
/// `padding` rows/columns of `-inf` (so padding never wins; PyTorch requires
/// `padding ≤ kernel / 2`). Output size as for a convolution with dilation 1. Rules: pad (your
/// `pad2d` with `f32::NEG_INFINITY`), gather the windows, `max` over them. No `max_pool2d`,
/// no `unfold`.
// HINT: Pooling is a convolution's windows without the matmul: gather each window, then take its maximum. Pad with minus infinity so that padding never wins.
// HINT: pad2d with f32::NEG_INFINITY (its order is left, right, top, bottom: padding.1, padding.1, padding.0, padding.0); gather windows along rows and columns as for conv2d with dilation 1 ([b, c, oh, kh, ow, kw]); permute the two kernel axes to the end, reshape to [b, c, oh, ow, kh·kw], max over the last axis.
// HINT: windows.permute((0, 1, 2, 4, 3, 5))?.reshape((b, c, oh, ow, kh * kw))?.max(D::Minus1) after let x = pad2d(x, (padding.1, padding.1, padding.0, padding.0), f32::NEG_INFINITY)?
pub fn maxpool2d(x: &Tensor, kernel: (usize, usize), stride: (usize, usize), padding: (usize, usize)) -> Result<Tensor> {
    // BEGIN SOLUTION
    let x = pad2d(x, (padding.1, padding.1, padding.0, padding.0), f32::NEG_INFINITY)?;
    pool_windows(&x, kernel, stride)?.max(D::Minus1)
    // END SOLUTION
}

/// ## avgpool2d
/// `F.avg_pool2d(x, kernel, stride, padding)` with PyTorch's defaults (`ceil_mode=False`,
/// `count_include_pad=True`): the mean of each window after zero padding, always dividing by
/// `kernel.0 · kernel.1`, padded zeros included. Rules: as `maxpool2d`. No `avg_pool2d`,
/// no `unfold`.
// HINT: The same windows as max pooling, averaged instead; with PyTorch's defaults the padded zeros count as values, so every window is divided by the full kernel size.
// HINT: pad2d with 0.0 (left, right, top, bottom = padding.1, padding.1, padding.0, padding.0); gather the windows as in maxpool2d into [b, c, oh, ow, kh·kw]; the mean over the last axis divides by kh·kw, padding included, as count_include_pad=True does.
// HINT: windows.mean(D::Minus1), where windows is the [b, c, oh, ow, kh * kw] gather of pad2d(x, (padding.1, padding.1, padding.0, padding.0), 0.0)?
pub fn avgpool2d(x: &Tensor, kernel: (usize, usize), stride: (usize, usize), padding: (usize, usize)) -> Result<Tensor> {
    // BEGIN SOLUTION
    let x = pad2d(x, (padding.1, padding.1, padding.0, padding.0), 0.0)?;
    pool_windows(&x, kernel, stride)?.mean(D::Minus1)
    // END SOLUTION
}

/// ## adaptive_avgpool2d
/// `F.adaptive_avg_pool2d(x, (oh, ow))` for `x: [b, c, h, w]`: output row `i` averages input
/// rows `floor(i·h/oh) .. ceil((i+1)·h/oh)` (end exclusive), and columns likewise, so windows
/// may differ in size and overlap when `oh` does not divide `h`. Rules: no pooling functions;
/// one way is an `[oh, h]` averaging matrix `A` and a `[ow, w]` matrix `B`, and
/// `out = A · x · Bᵀ` over the last two axes (`broadcast_matmul`).
// HINT: Each output row averages a range of input rows that depends on its index, and the ranges may differ in size and overlap. An average over a range is a row of a matrix with equal weights, so pooling both axes is two matrix products.
// HINT: Window i of an axis of size n pooled to m is [floor(i·n/m), ceil((i+1)·n/m)). Build an [m, n] matrix with 1/len on each window (a plain Rust Vec of m·n numbers, then Tensor::from_vec) for the rows (A: [oh, h]) and for the columns (B: [ow, w]); out = A · x · Bᵀ over the last two axes with broadcast_matmul.
// HINT: let start = i * n / m; let end = ((i + 1) * n).div_ceil(m); for j in start..end { v[i * n + j] = 1.0 / (end - start) as f32 } … then a.broadcast_matmul(x)?.broadcast_matmul(&b.t()?)
pub fn adaptive_avgpool2d(x: &Tensor, out: (usize, usize)) -> Result<Tensor> {
    // BEGIN SOLUTION
    let (_, _, h, w) = x.dims4()?;
    let a = adaptive_matrix(h, out.0, x.device())?.to_dtype(x.dtype())?;
    let bt = adaptive_matrix(w, out.1, x.device())?.to_dtype(x.dtype())?.t()?;
    a.broadcast_matmul(x)?.broadcast_matmul(&bt)
    // END SOLUTION
}
