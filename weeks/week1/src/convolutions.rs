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
#![allow(unused_variables, unused_imports)] // remove once you have solved a few

use candle_core::{Device, Result, Tensor, D};
use ndarray::{Array2, ArrayView2, ArrayView4, ShapeBuilder};

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
pub fn strided_view(x: &[f32], window: usize, stride: usize) -> ArrayView2<'_, f32> {
    todo!()
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
pub fn windows_2d<'a>(x: &ArrayView2<'a, f32>, kernel: (usize, usize), stride: (usize, usize)) -> ArrayView4<'a, f32> {
    todo!()
}

/// ## conv2d_single
/// The cross-correlation of the matrix `x: [h, w]` with the kernel `k: [kh, kw]` at `stride`
/// (one input and one output channel, no padding): `out[[i, j]] = Σ_a Σ_b x[[i·sh + a, j·sw +
/// b]] · k[[a, b]]`, of shape `[oh, ow]`. Use `windows_2d`: each output is the sum of one
/// window multiplied elementwise by `k` (`(&window * &k).sum()`), no copy of the input.
pub fn conv2d_single(x: &ArrayView2<'_, f32>, k: &ArrayView2<'_, f32>, stride: (usize, usize)) -> Array2<f32> {
    todo!()
}

/// ## strided_windows
/// The windows of `x: [n]` of length `window`, one every `stride` elements, as the rows of a
/// `[num_windows, window]` matrix with `num_windows = (n - window) / stride + 1`: row `o` is
/// `x[o * stride .. o * stride + window]`: `strided_view` again, but a candle tensor cannot be
/// a view with overlapping strides, so here the windows are gathered into a new one. Rules: build the `[num_windows, window]` index
/// matrix `o * stride + j` from `arange` and broadcasting, then gather (`index_select` on the
/// flattened indices, then `reshape`). No `unfold`.
/// Example: `[0, 1, 2, 3, 4]`, window 3, stride 2 → `[[0, 1, 2], [2, 3, 4]]`.
pub fn strided_windows(x: &Tensor, window: usize, stride: usize) -> Result<Tensor> {
    todo!()
}

/// ## conv1d_minimal
/// A 1-D convolution (PyTorch's cross-correlation: the kernel is not flipped) with no stride,
/// padding or bias: `x: [b, c_in, w]`, `weight: [c_out, c_in, k]` →
/// `out[b, o, t] = Σ_c Σ_j x[b, c, t + j] · weight[o, c, j]`, shape `[b, c_out, w - k + 1]`.
/// Rules: gather the windows (`[b, c_in, w - k + 1, k]`), then one matmul with the weight
/// flattened to `[c_out, c_in · k]`. No `conv1d`, no `unfold`.
pub fn conv1d_minimal(x: &Tensor, weight: &Tensor) -> Result<Tensor> {
    todo!()
}

/// ## conv1d
/// `F.conv1d(x, weight, bias, stride, padding, dilation)`: `x: [b, c_in, w]`,
/// `weight: [c_out, c_in, k]`, optional `bias: [c_out]`; zero `padding` on both ends; kernel
/// tap `j` reads input position `t · stride + j · dilation` (of the padded input). Output
/// `[b, c_out, (w + 2·padding - dilation·(k - 1) - 1) / stride + 1]`. Rules: as
/// `conv1d_minimal`; `pad_with_zeros` is allowed. No `conv1d`, no `unfold`.
pub fn conv1d(x: &Tensor, weight: &Tensor, bias: Option<&Tensor>, stride: usize, padding: usize, dilation: usize) -> Result<Tensor> {
    todo!()
}

/// ## conv2d_minimal
/// A 2-D convolution with no stride, padding or bias: `x: [b, c, h, w]`,
/// `weight: [o, c, kh, kw]` → `out[b, o, i, j] = Σ_c Σ_u Σ_v x[b, c, i + u, j + v] · weight[o, c, u, v]`,
/// shape `[b, o, h - kh + 1, w - kw + 1]`. Rules: gather the windows of the rows, then of the
/// columns, arrange them as `[b, oh · ow, c · kh · kw]` (im2col) and matmul with the flattened
/// weight. No `conv2d`, no `unfold`.
pub fn conv2d_minimal(x: &Tensor, weight: &Tensor) -> Result<Tensor> {
    todo!()
}

/// ## conv2d
/// `F.conv2d(x, weight, bias, stride, padding, dilation)` with `groups = 1`: `x: [b, c, h, w]`,
/// `weight: [o, c, kh, kw]`, optional `bias: [o]`. Each pair is (rows, columns); padding is
/// symmetric per axis (`padding.0` zero rows above and below, `padding.1` zero columns left and
/// right). Output `[b, o, oh, ow]` with `oh = (h + 2·padding.0 - dilation.0·(kh - 1) - 1) / stride.0 + 1`
/// and `ow` likewise. Rules: as `conv2d_minimal`; `pad_with_zeros` is allowed. No `conv2d`,
/// no `unfold`.
pub fn conv2d(x: &Tensor, weight: &Tensor, bias: Option<&Tensor>, stride: (usize, usize), padding: (usize, usize), dilation: (usize, usize)) -> Result<Tensor> {
    todo!()
}

/// ## pad2d
/// `F.pad(x, (left, right, top, bottom), value=value)` for `x: [b, c, h, w]`: `left` columns of
/// `value` before each row, `right` after, `top` rows above, `bottom` below; the result is
/// `[b, c, h + top + bottom, w + left + right]`. Any of the four may be 0. Rules: no
/// `pad_with_zeros` / `pad_with_same`; build blocks with `Tensor::full` and join them with
/// `Tensor::cat`.
pub fn pad2d(x: &Tensor, pad: (usize, usize, usize, usize), value: f32) -> Result<Tensor> {
    todo!()
}

/// ## maxpool2d
/// `F.max_pool2d(x, kernel, stride, padding)` for `x: [b, c, h, w]`: the maximum of each
/// `kernel.0 × kernel.1` window, windows `stride` apart, after padding each side with
/// `padding` rows/columns of `-inf` (so padding never wins; PyTorch requires
/// `padding ≤ kernel / 2`). Output size as for a convolution with dilation 1. Rules: pad (your
/// `pad2d` with `f32::NEG_INFINITY`), gather the windows, `max` over them. No `max_pool2d`,
/// no `unfold`.
pub fn maxpool2d(x: &Tensor, kernel: (usize, usize), stride: (usize, usize), padding: (usize, usize)) -> Result<Tensor> {
    todo!()
}

/// ## avgpool2d
/// `F.avg_pool2d(x, kernel, stride, padding)` with PyTorch's defaults (`ceil_mode=False`,
/// `count_include_pad=True`): the mean of each window after zero padding, always dividing by
/// `kernel.0 · kernel.1`, padded zeros included. Rules: as `maxpool2d`. No `avg_pool2d`,
/// no `unfold`.
pub fn avgpool2d(x: &Tensor, kernel: (usize, usize), stride: (usize, usize), padding: (usize, usize)) -> Result<Tensor> {
    todo!()
}

/// ## adaptive_avgpool2d
/// `F.adaptive_avg_pool2d(x, (oh, ow))` for `x: [b, c, h, w]`: output row `i` averages input
/// rows `floor(i·h/oh) .. ceil((i+1)·h/oh)` (end exclusive), and columns likewise, so windows
/// may differ in size and overlap when `oh` does not divide `h`. Rules: no pooling functions;
/// one way is an `[oh, h]` averaging matrix `A` and a `[ow, w]` matrix `B`, and
/// `out = A · x · Bᵀ` over the last two axes (`broadcast_matmul`).
pub fn adaptive_avgpool2d(x: &Tensor, out: (usize, usize)) -> Result<Tensor> {
    todo!()
}
