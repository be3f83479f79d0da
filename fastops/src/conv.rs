//! 2-D convolution lowered to gemm over im2col, one slab of output columns at a time.
//!
//! The forward pass copies a slab of the im2col matrix (a few whole images, or a strip of
//! output rows of one image: at most [`SLAB`] floats) into a buffer that stays in cache and
//! multiplies the weight by it straight into the output, which is already `[b, c_out, oh, ow]`.
//! The backward pass does the same per slab: the input gradient is `Wᵀ · dy` scattered back by
//! col2im, the weight gradient `Σ dy · colsᵀ` over the slabs in order (so the sum's order does
//! not depend on the thread count). No buffer grows with the batch, and no transpose is needed.
//!
//! At stride 1, with enough channels and positions, every pass skips im2col instead:
//! - the forward pass reads the padded image copied channels-last, one product per kernel row
//!   ([`forward_stride_1`]);
//! - the input gradient is the same kind of convolution, of `dy` with the kernel turned round
//!   ([`input_grad_as_conv`]);
//! - the weight gradient reads the image copied channels-last, one product per kernel row
//!   ([`weight_grad_stride_1`]).

use crate::matmul::{gemm_into, mm, Mat};
use crate::par::{assume_init, for_ranges, rows_mut, threads, uninit, SyncPtr};
use candle_core::{CpuStorage, CustomOp2, DType, Layout, Result, Shape, Tensor};
use std::mem::MaybeUninit;

/// The shape of one 2-D convolution (`groups = 1`, `dilation = 1`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Geometry {
    pub batch: usize,
    pub channels: usize,
    pub h: usize,
    pub w: usize,
    pub kh: usize,
    pub kw: usize,
    pub stride: usize,
    pub padding: usize,
}

impl Geometry {
    pub fn out_h(&self) -> usize {
        (self.h + 2 * self.padding - self.kh) / self.stride + 1
    }
    pub fn out_w(&self) -> usize {
        (self.w + 2 * self.padding - self.kw) / self.stride + 1
    }
    /// Rows of the im2col matrix: one per (channel, kernel row, kernel column).
    pub fn rows(&self) -> usize {
        self.channels * self.kh * self.kw
    }
    /// The output columns `ox` whose input column `ox·stride + kj − padding` lies inside the
    /// image, as a half-open range.
    fn valid_x(&self, kj: usize) -> (usize, usize) {
        let (s, p) = (self.stride, self.padding);
        let lo = if p > kj { (p - kj).div_ceil(s) } else { 0 };
        let hi = if self.w + p > kj { ((self.w + p - kj - 1) / s + 1).min(self.out_w()) } else { 0 };
        (lo.min(hi), hi)
    }
    /// The input row of output row `oy` under kernel row `ki`, if it lies inside the image.
    fn in_y(&self, oy: usize, ki: usize) -> Option<usize> {
        (oy * self.stride + ki).checked_sub(self.padding).filter(|&y| y < self.h)
    }
    fn image_len(&self) -> usize {
        self.channels * self.h * self.w
    }
    /// The slabs that cover every column once, in order: whole images, as many as fit in
    /// [`SLAB`] floats of im2col, or strips of output rows when one image does not fit.
    fn slabs(&self) -> Vec<Slab> {
        let (oh, ow) = (self.out_h(), self.out_w());
        let fit = (SLAB / self.rows().max(1)).max(ow);
        let mut out = Vec::new();
        if oh * ow <= fit {
            let per = fit / (oh * ow);
            let mut i = 0;
            while i < self.batch {
                let n = per.min(self.batch - i);
                out.push(Slab { image: i, images: n, oy: 0, rows: oh });
                i += n;
            }
        } else {
            let per = fit / ow;
            for i in 0..self.batch {
                let mut oy = 0;
                while oy < oh {
                    let rows = per.min(oh - oy);
                    out.push(Slab { image: i, images: 1, oy, rows });
                    oy += rows;
                }
            }
        }
        out
    }
}

/// The most floats of im2col held at once (4 MiB).
const SLAB: usize = 1 << 20;

/// The stride-1 forward pass without im2col ([`forward_stride_1`]) needs products deep enough
/// (input channels) and wide enough (output positions) to pay for `kh·kw` calls to gemm. Below
/// these, as in ResNet-18's deeper layers (14×14 and 7×7 at batch 8), im2col was faster. Since
/// each thread runs whole images, 512 positions are enough (ResNet-18's 28×28 layers; the speed
/// page has the measurements).
const STRIDE_1_MIN_CHANNELS: usize = 32;
const STRIDE_1_MIN_POSITIONS: usize = 512;
/// The weight gradient without im2col ([`weight_grad_stride_1`]) runs a group of images per
/// thread, so it needs a few images to keep the threads busy. A fixed number rather than the
/// thread count, so that which sum is taken does not depend on the machine.
const WEIGHT_GRAD_MIN_BATCH: usize = 4;

/// Columns of the im2col matrix: `images` whole images from `image` on, or output rows
/// `oy..oy + rows` of one image.
#[derive(Clone, Copy, Debug)]
struct Slab {
    image: usize,
    images: usize,
    oy: usize,
    rows: usize,
}

impl Slab {
    fn per_image(&self, g: &Geometry) -> usize {
        self.rows * g.out_w()
    }
    fn cols(&self, g: &Geometry) -> usize {
        self.images * self.per_image(g)
    }
    /// Where the slab's image `i` starts in a `[b, c_out, oh, ow]` tensor (the output, or its
    /// gradient): its first output row, channel 0.
    fn out_offset(&self, g: &Geometry, c_out: usize, i: usize) -> usize {
        (self.image + i) * c_out * g.out_h() * g.out_w() + self.oy * g.out_w()
    }
}

/// Writes the slab's columns of im2col(`x`) into `out` (`[g.rows(), slab.cols()]`): entry
/// `((ci·kh + ki)·kw + kj, (i·rows + oy')·ow + ox)` is `x[image + i, ci, (oy + oy')·s + ki − p,
/// ox·s + kj − p]`, or 0 in the padding.
fn im2col(g: &Geometry, x: &[f32], slab: Slab, out: &mut [f32]) {
    let (ow, n) = (g.out_w(), slab.cols(g));
    rows_mut(out, n, |row, dst| {
        let (ci, ki, kj) = (row / (g.kh * g.kw), (row / g.kw) % g.kh, row % g.kw);
        let (lo, hi) = g.valid_x(kj);
        for (i, dst) in dst.chunks_exact_mut(slab.per_image(g)).enumerate() {
            let image = &x[((slab.image + i) * g.channels + ci) * g.h * g.w..][..g.h * g.w];
            for (r, d) in dst.chunks_exact_mut(ow).enumerate() {
                let Some(iy) = g.in_y(slab.oy + r, ki).filter(|_| lo < hi) else {
                    d.fill(0.0);
                    continue;
                };
                let src = &image[iy * g.w..][..g.w];
                d[..lo].fill(0.0);
                d[hi..].fill(0.0);
                if g.stride == 1 {
                    d[lo..hi].copy_from_slice(&src[lo + kj - g.padding..hi + kj - g.padding]);
                } else {
                    for ox in lo..hi {
                        d[ox] = src[ox * g.stride + kj - g.padding];
                    }
                }
            }
        }
    });
}

/// The adjoint of [`im2col`] (a test checks it): adds each entry of `cols` (`[g.rows(), slab.cols()]`) to the
/// pixel of `dx` (the whole `[b, c, h, w]` gradient) it was read from.
fn col2im_add(g: &Geometry, cols: &[f32], slab: Slab, dx: &mut [f32]) {
    let (ow, n, hw) = (g.out_w(), slab.cols(g), g.h * g.w);
    let images = &mut dx[slab.image * g.image_len()..][..slab.images * g.image_len()];
    // One task per (image, channel): the pixels it writes are its own.
    rows_mut(images, hw, |ic, image| {
        let (i, ci) = (ic / g.channels, ic % g.channels);
        for ki in 0..g.kh {
            for kj in 0..g.kw {
                let (lo, hi) = g.valid_x(kj);
                let row = &cols[((ci * g.kh + ki) * g.kw + kj) * n + i * slab.per_image(g)..][..slab.per_image(g)];
                for (r, src) in row.chunks_exact(ow).enumerate() {
                    let Some(iy) = g.in_y(slab.oy + r, ki) else { continue };
                    let d = &mut image[iy * g.w..][..g.w];
                    if g.stride == 1 {
                        // Contiguous on both sides: a loop the compiler vectorises.
                        for (d, s) in d[lo + kj - g.padding..hi + kj - g.padding].iter_mut().zip(&src[lo..hi]) {
                            *d += s;
                        }
                    } else {
                        for ox in lo..hi {
                            d[ox * g.stride + kj - g.padding] += src[ox];
                        }
                    }
                }
            }
        }
    });
}

/// The first `n` floats of `buf`, grown if needed (its contents are overwritten by the caller).
fn slab_buffer(buf: &mut Vec<f32>, n: usize) -> &mut [f32] {
    if buf.len() < n {
        buf.resize(n, 0.0);
    }
    &mut buf[..n]
}

/// The op's input as a contiguous f32 slice of `len` elements (the length `g` implies).
fn contiguous_f32<'a>(storage: &'a CpuStorage, layout: &Layout, op: &str, len: usize, g: &Geometry) -> Result<&'a [f32]> {
    let CpuStorage::F32(v) = storage else { candle_core::bail!("{op}: f32 only") };
    let Some((a, b)) = layout.contiguous_offsets() else { candle_core::bail!("{op}: the input must be contiguous") };
    if b - a != len {
        candle_core::bail!("{op}: input of {} elements for {g:?}", b - a)
    }
    Ok(&v[a..b])
}

impl Geometry {
    /// All the columns, as one slab.
    #[cfg(test)]
    fn whole(&self) -> Slab {
        Slab { image: 0, images: self.batch, oy: 0, rows: self.out_h() }
    }
}

/// The stride-1 forward pass without im2col. Each image is copied channels-last into a
/// zero-padded buffer `xc: [hp, wp, c]`, so that for kernel row `ki` the kernel's columns and
/// channels together are one product: `d[q', o] (+)= Σ_{kj, c} xc[q' + ki·wp + kj, c] ·
/// w[o, c, ki, kj]`, `[q, kw·c]` by `[kw·c, c_out]`, where the left matrix is `xc` itself read
/// from row `ki·wp` (rows `c` floats apart, each `kw·c` long, overlapping) and `d: [q, c_out]`
/// holds the output at the padded width (`q = (oh − 1)·wp + ow`; the columns past each row's `ow`
/// are computed and dropped). With the positions as the product's rows and the output channels
/// as its columns, gemm runs this product faster than the same one the other way round (`[c_out, c] · [c, q]` per kernel offset, which this replaced).
/// With at least as many images as threads, each thread takes whole images with buffers of its
/// own (no waiting on the others between products); with fewer, the images go one at a time,
/// each product split across the threads. Every output is the same sum either way. `wt` is the
/// weight as [`kernel_major`] lays it out.
fn forward_stride_1(g: &Geometry, co: usize, x: &[f32], wt: &[f32]) -> Vec<f32> {
    let (hp, wp, c) = (g.h + 2 * g.padding, g.w + 2 * g.padding, g.channels);
    let out_len = co * g.out_h() * g.out_w();
    let q = (g.out_h() - 1) * wp + g.out_w();
    let mut y = uninit(g.batch * out_len);
    // The padding stays 0; each image overwrites the interior.
    let buffers = || (vec![0f32; hp * wp * c], vec![0f32; q * co]);
    if g.batch >= threads() {
        let y = SyncPtr::new(y.as_mut_ptr());
        for_ranges(g.batch, |images| {
            let (mut xc, mut d) = buffers();
            for image in images {
                // Safety: image `image`'s outputs, written by this task alone.
                let y = unsafe { std::slice::from_raw_parts_mut(y.at(image * out_len), out_len) };
                image_stride_1(g, co, &x[image * g.image_len()..][..g.image_len()], wt, &mut xc, &mut d, y, false);
            }
        });
    } else {
        let (mut xc, mut d) = buffers();
        for (image, y) in y.chunks_exact_mut(out_len).enumerate() {
            image_stride_1(g, co, &x[image * g.image_len()..][..g.image_len()], wt, &mut xc, &mut d, y, true);
        }
    }
    // Safety: every image's every output was written above.
    unsafe { assume_init(y) }
}

/// A weight as `[kh·kw, c_in, c_out]`, element `[k, i, o]` being `at(k, i, o)`: kernel row
/// `ki`'s right-hand matrix in [`forward_stride_1`] is then `[kw·c_in, c_out]`, contiguous.
fn kernel_major(kk: usize, c_in: usize, c_out: usize, at: impl Fn(usize, usize, usize) -> f32 + Sync) -> Vec<f32> {
    let mut wt = vec![0f32; kk * c_in * c_out];
    rows_mut(&mut wt, c_in * c_out, |k, block| {
        for (i, row) in block.chunks_exact_mut(c_out).enumerate() {
            for (o, v) in row.iter_mut().enumerate() {
                *v = at(k, i, o);
            }
        }
    });
    wt
}

/// Copies the image `src: [c, h, w]` into padded row `pr` (`wp·c` floats) of a channels-last
/// buffer `[hp, wp, c]`: the rows and columns of padding are left as they are (zero).
fn channels_last_row(g: &Geometry, src: &[f32], pr: usize, row: &mut [f32]) {
    let (p, c) = (g.padding, g.channels);
    let Some(r) = pr.checked_sub(p).filter(|&r| r < g.h) else { return };
    let interior = &mut row[p * c..][..g.w * c];
    // Safety: the source is c rows of w values, h·w apart, from row r of plane 0, inside
    // `src` ([c, h, w]); the destination is w rows of c values, c apart: `interior` itself.
    unsafe { transpose(src[r * g.w..].as_ptr(), g.h * g.w, c, g.w, interior.as_mut_ptr(), c) }
}

/// `dst[j·dst_rs + i] = src[i·src_rs + j]` for `i < rows`, `j < cols`: a `[rows, cols]` block
/// written transposed, four by four with SSE2's shuffles on x86-64 (the copies in and out of
/// the channels-last buffers took 14 % of the direct convolution one element at a time).
///
/// # Safety
/// Every element addressed must lie inside its buffer, and the two must not overlap.
unsafe fn transpose(src: *const f32, src_rs: usize, rows: usize, cols: usize, dst: *mut f32, dst_rs: usize) {
    #[cfg(target_arch = "x86_64")]
    // Safety: the caller's contract.
    let done = unsafe { transpose_by_fours(src, src_rs, rows, cols, dst, dst_rs) };
    #[cfg(not(target_arch = "x86_64"))]
    let done = 0;
    // The rows past the last block of four (every row off x86-64). Safety: inside the block.
    unsafe { transpose_one_by_one(src, src_rs, done..rows, 0..cols, dst, dst_rs) }
}

/// [`transpose`] for the rows `rows` and columns `cols` of the block, one element at a time.
///
/// # Safety
/// As [`transpose`].
unsafe fn transpose_one_by_one(src: *const f32, src_rs: usize, rows: std::ops::Range<usize>, cols: std::ops::Range<usize>, dst: *mut f32, dst_rs: usize) {
    for i in rows {
        for j in cols.clone() {
            // Safety: inside the block (the caller's contract).
            unsafe { *dst.add(j * dst_rs + i) = *src.add(i * src_rs + j) }
        }
    }
}

/// [`transpose`]'s rows in blocks of four, four columns at a time with SSE2's shuffles (the
/// last columns one at a time); the number of rows done.
///
/// # Safety
/// As [`transpose`].
#[cfg(target_arch = "x86_64")]
unsafe fn transpose_by_fours(src: *const f32, src_rs: usize, rows: usize, cols: usize, dst: *mut f32, dst_rs: usize) -> usize {
    use std::arch::x86_64::*;
    let (blocks, tail) = (rows / 4 * 4, cols / 4 * 4);
    for i in (0..blocks).step_by(4) {
        for j in (0..tail).step_by(4) {
            // Safety: rows i..i + 4 and columns j..j + 4 lie in the block (the caller's
            // contract); SSE2 is part of x86-64.
            unsafe {
                let s = src.add(i * src_rs + j);
                let (r0, r1, r2, r3) = (_mm_loadu_ps(s), _mm_loadu_ps(s.add(src_rs)), _mm_loadu_ps(s.add(2 * src_rs)), _mm_loadu_ps(s.add(3 * src_rs)));
                let (t0, t1) = (_mm_unpacklo_ps(r0, r1), _mm_unpacklo_ps(r2, r3));
                let (t2, t3) = (_mm_unpackhi_ps(r0, r1), _mm_unpackhi_ps(r2, r3));
                let d = dst.add(j * dst_rs + i);
                _mm_storeu_ps(d, _mm_movelh_ps(t0, t1));
                _mm_storeu_ps(d.add(dst_rs), _mm_movehl_ps(t1, t0));
                _mm_storeu_ps(d.add(2 * dst_rs), _mm_movelh_ps(t2, t3));
                _mm_storeu_ps(d.add(3 * dst_rs), _mm_movehl_ps(t3, t2));
            }
        }
        // The columns past the last block of four. Safety: inside the block.
        unsafe { transpose_one_by_one(src, src_rs, i..i + 4, tail..cols, dst, dst_rs) }
    }
    blocks
}

/// One image of [`forward_stride_1`]: `x` its `[c, h, w]` values, `wt` the weight as
/// `[kh, kw, c, c_out]`, `xc` and `d` the padded channels-last image and the wide output
/// (`[q, c_out]`), `y` its `[c_out, oh, ow]` output, all written; with `split`, each step is
/// split across the threads, otherwise this thread does it all.
#[allow(clippy::too_many_arguments)]
fn image_stride_1(g: &Geometry, co: usize, x: &[f32], wt: &[f32], xc: &mut [f32], d: &mut [f32], y: &mut [MaybeUninit<f32>], split: bool) {
    let (wp, c) = (g.w + 2 * g.padding, g.channels);
    let (oh, ow, kwc) = (g.out_h(), g.out_w(), g.kw * g.channels);
    let q = (oh - 1) * wp + ow;
    if split {
        rows_mut(xc, wp * c, |pr, row| channels_last_row(g, x, pr, row));
    } else {
        xc.chunks_exact_mut(wp * c).enumerate().for_each(|(pr, row)| channels_last_row(g, x, pr, row));
    }
    for ki in 0..g.kh {
        let a = Mat { p: xc[ki * wp * c..].as_ptr(), rs: c, cs: 1 };
        let b = Mat { p: wt[ki * kwc * co..].as_ptr(), rs: co, cs: 1 };
        // Safety: a reads xc[(ki·wp + q')·c + j] for q' < q and j < kw·c, at most
        // c·hp·wp − 1 since oh − 1 + ki < hp and ow − 1 + kw = wp; b reads wt[ki·kw·c·co + j·co
        // + o] < kh·kw·c·co; d is [q, co].
        unsafe {
            if split {
                gemm_into((q, co, kwc), d.as_mut_ptr(), co, ki > 0, a, b)
            } else {
                mm(q, co, kwc, d.as_mut_ptr(), co, ki > 0, a.p, a.rs, a.cs, b.p, b.rs, b.cs, 1.0)
            }
        }
    }
    // d[oy·wp + ox, o] → y[o, oy, ox].
    let y = SyncPtr::new(y.as_mut_ptr());
    let unpad = |oy: usize| {
        let block = &d[oy * wp * co..][..ow * co];
        // Safety: the source is ow rows of co values (`block`); the destination row oy of
        // every plane o, at (o·oh + oy)·ow + ox, is inside y and written by this task alone.
        unsafe { transpose(block.as_ptr(), co, ow, co, y.at(oy * ow).cast::<f32>(), oh * ow) }
    };
    if split {
        for_ranges(oh, |r| r.for_each(unpad));
    } else {
        (0..oh).for_each(unpad);
    }
}

/// At stride 1 with a square kernel, the input gradient is itself a stride-1 convolution, of
/// `dy` (`c_out` channels, `oh × ow`) with the weight's channel axes swapped and its kernel
/// turned by 180°, padded by `k − 1 − p`: the geometry of that convolution, when it holds and
/// [`forward_stride_1`] would run it (the same thresholds as the forward pass).
fn input_grad_as_conv(g: &Geometry, co: usize) -> Option<Geometry> {
    let padding = (g.kh - 1).checked_sub(g.padding)?;
    let t = Geometry { batch: g.batch, channels: co, h: g.out_h(), w: g.out_w(), kh: g.kh, kw: g.kw, stride: 1, padding };
    (g.stride == 1 && g.kh == g.kw && runs_stride_1(&t)).then_some(t)
}

/// Whether the forward pass of `g` runs without im2col ([`forward_stride_1`]).
fn runs_stride_1(g: &Geometry) -> bool {
    g.stride == 1 && g.channels >= STRIDE_1_MIN_CHANNELS && g.out_h() * g.out_w() >= STRIDE_1_MIN_POSITIONS
}

/// The weight gradient at stride 1 with no im2col. Each image is copied channels-last into a
/// zero-padded buffer `xc: [hp, wp, c]`, and its output gradient into rows as wide as the padded
/// input (`dp: [c_out, q]`, zero past each row's `ow` values; `q` as in [`forward_stride_1`]).
/// Then for kernel row `ki`, the kernel columns and channels together: `dw[o, ki, kj, c] =
/// Σ_q dp[o, q] · xc[q + ki·wp + kj, c]`, one product of `[c_out, q]` by a `[q, kw·c]` matrix that
/// is `xc` itself read from row `ki·wp` (rows `c` floats apart, each `kw·c` long, overlapping).
/// Images are taken in fixed groups (at most 8 partial sums, however many threads run), each
/// group by one thread, and the partial sums added in order.
fn weight_grad_stride_1(g: &Geometry, co: usize, x: &[f32], dy: &[f32]) -> Vec<f32> {
    let (hp, wp, c) = (g.h + 2 * g.padding, g.w + 2 * g.padding, g.channels);
    let (oh, ow, kk) = (g.out_h(), g.out_w(), g.kh * g.kw);
    let q = (oh - 1) * wp + ow;
    let (kwc, len) = (g.kw * c, co * kk * c);
    let group = g.batch.div_ceil(8);
    let groups = g.batch.div_ceil(group);
    let mut partials = vec![0f32; groups * len];
    let out = SyncPtr::new(partials.as_mut_ptr());
    for_ranges(groups, |r| {
        // Buffers for this task's groups: the padding of both stays 0, each image overwrites
        // the rest.
        let (mut xc, mut dp) = (vec![0f32; hp * wp * c], vec![0f32; co * q]);
        for gi in r {
            // Safety: group gi's partial sum, written by this task alone.
            let part = unsafe { std::slice::from_raw_parts_mut(out.at(gi * len), len) };
            for (n, image) in (gi * group..((gi + 1) * group).min(g.batch)).enumerate() {
                let src = &x[image * g.image_len()..][..g.image_len()];
                xc.chunks_exact_mut(wp * c).enumerate().for_each(|(pr, row)| channels_last_row(g, src, pr, row));
                let d = &dy[image * co * oh * ow..][..co * oh * ow];
                for o in 0..co {
                    for oy in 0..oh {
                        dp[o * q + oy * wp..][..ow].copy_from_slice(&d[(o * oh + oy) * ow..][..ow]);
                    }
                }
                for ki in 0..g.kh {
                    // Safety: dp is [co, q]; xc is read at (ki·wp + q')·c + j for q' < q and
                    // j < kw·c, at most c·hp·wp − 1 since oh − 1 + ki < hp and ow − 1 + kw = wp.
                    unsafe { mm(co, kwc, q, part[ki * kwc..].as_mut_ptr(), kk * c, n > 0, dp.as_ptr(), q, 1, xc[ki * wp * c..].as_ptr(), c, 1, 1.0) }
                }
            }
        }
    });
    let (sum, rest) = partials.split_at_mut(len);
    for part in rest.chunks_exact(len) {
        for (s, v) in sum.iter_mut().zip(part) {
            *s += v;
        }
    }
    // [o, ki, kj, c] → [o, c, ki, kj].
    let mut dw = vec![0f32; len];
    for o in 0..co {
        for k in 0..kk {
            for ch in 0..c {
                dw[(o * c + ch) * kk + k] = sum[(o * kk + k) * c + ch];
            }
        }
    }
    dw
}

/// What one convolution op computes from its two (contiguous, f32) inputs.
#[derive(Clone, Copy, Debug)]
enum Pass {
    /// `(x, w)` → `y: [b, c_out, oh, ow]`.
    Forward,
    /// `(w, dy)` → `dx: [b, c, h, w]`.
    InputGrad,
    /// `(x, dy)` → `dw: [c_out, c, kh, kw]`.
    WeightGrad,
}

#[derive(Clone, Copy, Debug)]
struct Conv {
    g: Geometry,
    c_out: usize,
    pass: Pass,
}

impl CustomOp2 for Conv {
    fn name(&self) -> &'static str {
        match self.pass {
            Pass::Forward => "fastops-conv2d",
            Pass::InputGrad => "fastops-conv2d-input-grad",
            Pass::WeightGrad => "fastops-conv2d-weight-grad",
        }
    }

    fn cpu_fwd(&self, s1: &CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout) -> Result<(CpuStorage, Shape)> {
        let (g, co, name) = (self.g, self.c_out, self.name());
        let (k, hw_out) = (g.rows(), g.out_h() * g.out_w());
        let (x_len, w_len, y_len) = (g.batch * g.image_len(), co * k, g.batch * co * hw_out);
        let mut buf = Vec::new();
        // Safety (of every gemm_into below): the operands are slices of the lengths checked
        // above, and the strides keep each access inside them.
        let out = match self.pass {
            Pass::Forward if runs_stride_1(&g) => {
                let x = contiguous_f32(s1, l1, name, x_len, &g)?;
                let w = contiguous_f32(s2, l2, name, w_len, &g)?;
                let (c, kk) = (g.channels, g.kh * g.kw);
                forward_stride_1(&g, co, x, &kernel_major(kk, c, co, |k, ci, o| w[(o * c + ci) * kk + k]))
            }
            Pass::Forward => {
                let x = contiguous_f32(s1, l1, name, x_len, &g)?;
                let w = contiguous_f32(s2, l2, name, w_len, &g)?;
                // No zeroing first: the slabs cover every column, and gemm writes each element
                // of its part of y without reading it (`accumulate` false).
                let mut y = Vec::<f32>::with_capacity(y_len);
                for slab in g.slabs() {
                    let cols = slab_buffer(&mut buf, k * slab.cols(&g));
                    im2col(&g, x, slab, cols);
                    let (n, per) = (slab.cols(&g), slab.per_image(&g));
                    for i in 0..slab.images {
                        let dst = y.as_mut_ptr().wrapping_add(slab.out_offset(&g, co, i));
                        let a = Mat { p: w.as_ptr(), rs: k, cs: 1 };
                        let b = Mat { p: cols[i * per..].as_ptr(), rs: n, cs: 1 };
                        // SAFETY: w is [co, k], cols holds the slab's [k, n] im2col matrix (this
                        // image's `per` columns from i·per), and dst is image i's [co, hw_out]
                        // block of y's capacity, which no other product writes.
                        unsafe { gemm_into((co, per, k), dst, hw_out, false, a, b) }
                    }
                }
                // Safety: every element of y was written above.
                unsafe { y.set_len(y_len) };
                y
            }
            Pass::InputGrad if input_grad_as_conv(&g, co).is_some() => {
                let w = contiguous_f32(s1, l1, name, w_len, &g)?;
                let dy = contiguous_f32(s2, l2, name, y_len, &g)?;
                let t = input_grad_as_conv(&g, co).expect("checked by the guard");
                // Its weight is w[o, c, ki, kj] as [c, o, kh − 1 − ki, kw − 1 − kj]: input
                // channel o, output channel c, the kernel turned round.
                let (kk, c) = (g.kh * g.kw, g.channels);
                forward_stride_1(&t, c, dy, &kernel_major(kk, co, c, |k, o, ci| w[(o * c + ci) * kk + kk - 1 - k]))
            }
            Pass::InputGrad => {
                let w = contiguous_f32(s1, l1, name, w_len, &g)?;
                let dy = contiguous_f32(s2, l2, name, y_len, &g)?;
                let mut dx = vec![0f32; x_len];
                for slab in g.slabs() {
                    let cols = slab_buffer(&mut buf, k * slab.cols(&g));
                    let (n, per) = (slab.cols(&g), slab.per_image(&g));
                    for i in 0..slab.images {
                        let dst = cols[i * per..].as_mut_ptr();
                        let a = Mat { p: w.as_ptr(), rs: 1, cs: k };
                        let b = Mat { p: dy[slab.out_offset(&g, co, i)..].as_ptr(), rs: hw_out, cs: 1 };
                        // SAFETY: wᵀ is [k, co] (w read transposed), dy's image i block is
                        // [co, per] with rows hw_out apart, and dst is this image's [k, per]
                        // columns of the slab buffer, apart from both inputs.
                        unsafe { gemm_into((k, per, co), dst, n, false, a, b) }
                    }
                    col2im_add(&g, cols, slab, &mut dx);
                }
                dx
            }
            Pass::WeightGrad if g.stride == 1 && g.channels >= STRIDE_1_MIN_CHANNELS && g.batch >= WEIGHT_GRAD_MIN_BATCH => {
                let x = contiguous_f32(s1, l1, name, x_len, &g)?;
                let dy = contiguous_f32(s2, l2, name, y_len, &g)?;
                weight_grad_stride_1(&g, co, x, dy)
            }
            Pass::WeightGrad => {
                let x = contiguous_f32(s1, l1, name, x_len, &g)?;
                let dy = contiguous_f32(s2, l2, name, y_len, &g)?;
                let mut dw = vec![0f32; w_len];
                for (s, slab) in g.slabs().into_iter().enumerate() {
                    let cols = slab_buffer(&mut buf, k * slab.cols(&g));
                    im2col(&g, x, slab, cols);
                    let (n, per) = (slab.cols(&g), slab.per_image(&g));
                    for i in 0..slab.images {
                        let a = Mat { p: dy[slab.out_offset(&g, co, i)..].as_ptr(), rs: hw_out, cs: 1 };
                        let b = Mat { p: cols[i * per..].as_ptr(), rs: 1, cs: n };
                        // SAFETY: dy's image i block is [co, per], the slab's columns read
                        // transposed are [per, k], and dw is its own [co, k] buffer.
                        unsafe { gemm_into((co, k, per), dw.as_mut_ptr(), k, s + i > 0, a, b) }
                    }
                }
                dw
            }
        };
        let shape = match self.pass {
            Pass::Forward => Shape::from((g.batch, co, g.out_h(), g.out_w())),
            Pass::InputGrad => Shape::from((g.batch, g.channels, g.h, g.w)),
            Pass::WeightGrad => Shape::from((co, g.channels, g.kh, g.kw)),
        };
        Ok((CpuStorage::F32(out), shape))
    }

    fn bwd(&self, a1: &Tensor, a2: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let Pass::Forward = self.pass else { candle_core::bail!("{}: no second derivative", self.name()) };
        let dy = grad.contiguous()?;
        // The input gradient only when the input needs one (the images fed to a first layer
        // do not), as PyTorch skips it.
        let dx = if a1.track_op() { Some(a2.apply_op2(&dy, Conv { pass: Pass::InputGrad, ..*self })?) } else { None };
        let dw = if a2.track_op() { Some(a1.apply_op2(&dy, Conv { pass: Pass::WeightGrad, ..*self })?) } else { None };
        Ok((dx, dw))
    }
}

/// `x.conv2d(weight, padding, stride, 1, 1)` for `x: [b, c, h, w]`, `weight: [c_out, c, kh, kw]`
/// (no bias), with the same values and gradients, lowered to gemm over im2col one slab at a
/// time (see the module's notes). Off the CPU, for a dtype other than f32, or for shapes candle
/// would reject, it is candle's `conv2d`.
pub fn conv2d(x: &Tensor, weight: &Tensor, padding: usize, stride: usize) -> Result<Tensor> {
    let slow = || x.conv2d(weight, padding, stride, 1, 1);
    if !x.device().is_cpu() || x.dtype() != DType::F32 || weight.dtype() != DType::F32 || x.rank() != 4 || weight.rank() != 4 || stride == 0 {
        return slow();
    }
    let (batch, channels, h, w) = x.dims4()?;
    let (c_out, c_in, kh, kw) = weight.dims4()?;
    if c_in != channels || kh == 0 || kw == 0 || h + 2 * padding < kh || w + 2 * padding < kw || batch == 0 || c_out == 0 {
        return slow();
    }
    let g = Geometry { batch, channels, h, w, kh, kw, stride, padding };
    x.contiguous()?.apply_op2(&weight.contiguous()?, Conv { g, c_out, pass: Pass::Forward })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    /// col2im is the adjoint of im2col: ⟨im2col(x), y⟩ = ⟨x, col2im(y)⟩ for random x and y, over
    /// the whole matrix and slab by slab; an independent property (no candle convolution
    /// involved).
    #[test]
    fn col2im_is_the_adjoint_of_im2col() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let dot = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(a, b)| (a * b) as f64).sum::<f64>();
        for g in [
            Geometry { batch: 2, channels: 3, h: 6, w: 5, kh: 3, kw: 2, stride: 1, padding: 1 },
            Geometry { batch: 1, channels: 2, h: 9, w: 9, kh: 3, kw: 3, stride: 2, padding: 2 },
            Geometry { batch: 3, channels: 64, h: 40, w: 40, kh: 5, kw: 5, stride: 1, padding: 2 },
        ] {
            let x: Vec<f32> = (0..g.batch * g.image_len()).map(|_| rng.random_range(-1.0..1.0)).collect();
            let slabs = g.slabs();
            for slab in std::iter::once(g.whole()).chain(slabs.iter().copied()) {
                let y: Vec<f32> = (0..g.rows() * slab.cols(&g)).map(|_| rng.random_range(-1.0..1.0)).collect();
                let mut cols = vec![f32::NAN; y.len()];
                im2col(&g, &x, slab, &mut cols);
                let mut back = vec![0f32; x.len()];
                col2im_add(&g, &y, slab, &mut back);
                let (lhs, rhs) = (dot(&cols, &y), dot(&x, &back));
                assert!((lhs - rhs).abs() < 1e-3 * lhs.abs().max(1.0), "{g:?} {slab:?}: {lhs} vs {rhs}");
            }
            assert!(slabs.len() > 1 || g.channels < 64, "{g:?}: the big case must span several slabs");
        }
    }
}
