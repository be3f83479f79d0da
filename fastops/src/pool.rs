//! Per-channel kernels for `[b, c, h, w]` images: max pooling and the bias add that follows a
//! convolution, each with its backward. candle spells both as a chain of small operations
//! whose gradients sum over leading dimensions one element at a time.

use crate::fused::f32s;
use crate::par::{make_chunks, map_indexed, rows_mut};
use candle_core::{CpuStorage, CustomOp1, CustomOp2, Layout, Result, Shape, Tensor};

/// One max-pooling window geometry: square kernel `k`, stride `s`, padding `p` (padding never
/// wins a maximum, as if it were −∞).
#[derive(Clone, Copy, Debug)]
struct Pool {
    c: usize,
    h: usize,
    w: usize,
    k: usize,
    s: usize,
    p: usize,
}

impl Pool {
    fn out(&self) -> (usize, usize) {
        ((self.h + 2 * self.p - self.k) / self.s + 1, (self.w + 2 * self.p - self.k) / self.s + 1)
    }
    /// The input rows (or columns, with `n` the width) of window `o`, clipped to the image.
    fn span(&self, o: usize, n: usize) -> std::ops::Range<usize> {
        let start = o * self.s;
        start.saturating_sub(self.p)..(start + self.k).saturating_sub(self.p).min(n)
    }
    /// For each window of `image` (`[h, w]`), `f(window index, index in image of its first
    /// largest entry, in row-major order)`. Every window holds at least one pixel.
    fn argmax(&self, image: &[f32], mut f: impl FnMut(usize, usize)) {
        let (oh, ow) = self.out();
        for oy in 0..oh {
            for ox in 0..ow {
                let mut best = (f32::NEG_INFINITY, usize::MAX);
                for y in self.span(oy, self.h) {
                    for x in self.span(ox, self.w) {
                        let v = image[y * self.w + x];
                        // The first maximum wins, and a NaN wins as in torch.
                        if best.1 == usize::MAX || v > best.0 || v.is_nan() && !best.0.is_nan() {
                            best = (v, y * self.w + x);
                        }
                    }
                }
                f(oy * ow + ox, best.1)
            }
        }
    }

    /// Each window's largest value of `image` (`[h, w]`) into `out` (`[oh, ow]`): a NaN when the
    /// window holds one, as torch's, and otherwise the value at [`Pool::argmax`]'s index. An
    /// output row at a time, one kernel offset at a time over the whole row, with no branch in
    /// the inner loop: the per-window loop of `argmax` took 5 % of ResNet-18's forward pass.
    fn max_values(&self, image: &[f32], out: &mut [f32]) {
        let ow = self.out().1;
        for (oy, row) in out.chunks_exact_mut(ow).enumerate() {
            row.fill(f32::NEG_INFINITY);
            for y in self.span(oy, self.h) {
                let line = &image[y * self.w..][..self.w];
                for kj in 0..self.k {
                    // The outputs whose input column ox·s + kj − p lies in the image.
                    let lo = self.p.saturating_sub(kj).div_ceil(self.s);
                    let hi = if self.w + self.p > kj { ((self.w + self.p - kj - 1) / self.s + 1).min(ow) } else { 0 };
                    if lo < hi {
                        let (row, src) = (&mut row[lo..hi], &line[lo * self.s + kj - self.p..]);
                        match self.s {
                            1 => max_into::<1>(row, src),
                            2 => max_into::<2>(row, src),
                            s => row.iter_mut().zip(src.iter().step_by(s)).for_each(|(b, &v)| *b = nan_max(*b, v)),
                        }
                    }
                }
            }
        }
    }
}

/// `b` or `v`, whichever is larger, or `v` if it is a NaN: a window's running maximum in
/// [`Pool::max_values`] (the first of equal values stays, as in torch).
#[inline(always)]
fn nan_max(b: f32, v: f32) -> f32 {
    if v > b || v.is_nan() {
        v
    } else {
        b
    }
}

/// `row[i] = nan_max(row[i], src[i·S])`, with the stride a constant so that the loop compiles
/// to vector loads and shuffles.
fn max_into<const S: usize>(row: &mut [f32], src: &[f32]) {
    row.iter_mut().zip(src.iter().step_by(S)).for_each(|(b, &v)| *b = nan_max(*b, v));
}

impl CustomOp1 for Pool {
    fn name(&self) -> &'static str {
        "fastops-max-pool2d"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = f32s(storage, layout, self.name())?;
        let ((oh, ow), hw) = (self.out(), self.h * self.w);
        let mut out = vec![0f32; x.len() / hw * oh * ow];
        rows_mut(&mut out, oh * ow, |i, y| self.max_values(&x[i * hw..][..hw], y));
        let b = x.len() / (self.c * hw);
        Ok((CpuStorage::F32(out), Shape::from((b, self.c, oh, ow))))
    }

    fn bwd(&self, arg: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        Ok(Some(arg.apply_op2(&grad.contiguous()?, PoolGrad(*self))?))
    }
}

/// `(x, dy)` → `dx`: each window's gradient goes to its first largest input, as torch's.
struct PoolGrad(Pool);

impl CustomOp2 for PoolGrad {
    fn name(&self) -> &'static str {
        "fastops-max-pool2d-grad"
    }

    fn cpu_fwd(&self, s1: &CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout) -> Result<(CpuStorage, Shape)> {
        let (x, dy) = (f32s(s1, l1, self.name())?, f32s(s2, l2, self.name())?);
        let ((oh, ow), hw) = (self.0.out(), self.0.h * self.0.w);
        let mut out = vec![0f32; x.len()];
        rows_mut(&mut out, hw, |i, dx| {
            let g = &dy[i * oh * ow..][..oh * ow];
            self.0.argmax(&x[i * hw..][..hw], |o, at| dx[at] += g[o]);
        });
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }
}

/// `F.max_pool2d(x, k, stride, padding)` for `x: [b, c, h, w]` (square windows, torch's
/// defaults otherwise), with its gradient (to each window's first largest input, as torch's).
/// The padding must be at most half the kernel, as torch requires. Off the CPU, or in another
/// dtype, it gathers the windows with `index_select` from the input padded with `−∞` and
/// takes their maxima (a tie then shares the gradient, as candle's `max` does).
pub fn max_pool2d(x: &Tensor, k: usize, stride: usize, padding: usize) -> Result<Tensor> {
    let (_, c, h, w) = x.dims4()?;
    if k == 0 || stride == 0 || 2 * padding > k || h + 2 * padding < k || w + 2 * padding < k {
        candle_core::bail!("fastops::max_pool2d: a kernel that fits, padding ≤ kernel / 2 (got {k}, {stride}, {padding} on {:?})", x.dims())
    }
    if !crate::fused::is_cpu_f32(&[x]) {
        return max_pool2d_composed(x, k, stride, padding);
    }
    x.contiguous()?.apply_op1(Pool { c, h, w, k, s: stride, p: padding })
}

/// [`max_pool2d`] in candle's operations.
fn max_pool2d_composed(x: &Tensor, k: usize, s: usize, p: usize) -> Result<Tensor> {
    let (b, c, h, w) = x.dims4()?;
    let pad = |x: &Tensor, axis: usize| -> Result<Tensor> {
        if p == 0 {
            return Ok(x.clone());
        }
        let mut dims = x.dims().to_vec();
        dims[axis] = p;
        let edge = Tensor::full(f32::NEG_INFINITY, dims, x.device())?.to_dtype(x.dtype())?;
        Tensor::cat(&[&edge, x, &edge], axis)
    };
    let xp = pad(&pad(x, 2)?, 3)?;
    let (oh, ow) = ((h + 2 * p - k) / s + 1, (w + 2 * p - k) / s + 1);
    let windows = |n: usize| -> Result<Tensor> {
        let idx: Vec<u32> = (0..n).flat_map(|o| (0..k).map(move |d| (o * s + d) as u32)).collect();
        Tensor::from_vec(idx, n * k, x.device())
    };
    let rows = xp.index_select(&windows(oh)?, 2)?.reshape((b, c, oh, k, w + 2 * p))?;
    let cols = rows.index_select(&windows(ow)?, 4)?.reshape((b, c, oh, k, ow, k))?;
    cols.max(5)?.max(3)
}

/// `(y, bias)` → `y + bias` broadcast over `[b, c, h, w]`'s channels.
struct ChannelBias;

impl CustomOp2 for ChannelBias {
    fn name(&self) -> &'static str {
        "fastops-channel-bias"
    }

    fn cpu_fwd(&self, s1: &CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout) -> Result<(CpuStorage, Shape)> {
        let (y, bias) = (f32s(s1, l1, self.name())?, f32s(s2, l2, self.name())?);
        let hw: usize = l1.dims()[2..].iter().product();
        let out = make_chunks(y.len(), hw, |start, plane| {
            let b = bias[(start / hw) % bias.len()];
            for (o, &v) in plane.iter_mut().zip(&y[start..]) {
                o.write(v + b);
            }
        });
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }

    fn bwd(&self, _y: &Tensor, bias: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let db = grad.contiguous()?.apply_op1_no_bwd(&ChannelSums(bias.dim(0)?))?;
        Ok((Some(grad.clone()), Some(db)))
    }
}

/// `[b, c, h, w]` → `[c]`: each channel's sum, over the images in order.
struct ChannelSums(usize);

impl CustomOp1 for ChannelSums {
    fn name(&self) -> &'static str {
        "fastops-channel-sums"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let g = f32s(storage, layout, self.name())?;
        let c = self.0;
        let hw: usize = layout.dims()[2..].iter().product();
        let sums = map_indexed(c, |ci| g.chunks_exact(hw).skip(ci).step_by(c).map(|plane| plane.iter().sum::<f32>()).sum());
        Ok((CpuStorage::F32(sums), Shape::from(c)))
    }
}

/// `y + bias.reshape((1, c, 1, 1))` for `y: [b, c, h, w]` and `bias: [c]`, with both gradients
/// (the bias's is one pass over `y`'s gradient, channel by channel). Off the CPU or for another
/// dtype it is that broadcast add.
pub fn add_channel_bias(y: &Tensor, bias: &Tensor) -> Result<Tensor> {
    let c = bias.dim(0)?;
    if !crate::fused::is_cpu_f32(&[y, bias]) || y.rank() != 4 || y.dim(1)? != c || bias.rank() != 1 || y.elem_count() == 0 {
        return y.broadcast_add(&bias.reshape((1, c, 1, 1))?);
    }
    y.contiguous()?.apply_op2(&bias.contiguous()?, ChannelBias)
}
