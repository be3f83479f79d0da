//! Fast CPU kernels for candlecamp's reference code, its benchmarks and the long targets'
//! provided scaffolding (issue 15). A learner's own implementations never call these: the
//! exercises ask for candle's operations, and the checks compare against PyTorch either way.
//!
//! Each function here gives the same values as the candle operation it replaces (up to the
//! order of floating-point sums) and keeps a backward pass, so training code can switch to it
//! without other changes. Off the CPU, or for dtypes other than f32, those with a candle
//! equivalent fall back to it; the others are errors, and their callers (the reference's
//! solution code) branch on [`on_cpu_f32`]. This crate ships in the learner's copy, so it
//! spells out no exercise's formula in candle's operations; its tests, which compare against
//! those formulas, live in `fastops/tests/` and do not ship.
//!
//! - [`conv2d`]: candle's CPU `conv2d` computes its input gradient with a direct
//!   `conv_transpose2d` loop (~10 GFLOP/s here, against ~200 for its matmul). This one lowers
//!   the convolution to one matrix product over an im2col matrix, [`Im2Col`], whose backward
//!   (col2im) is a scatter-add: forward, input and weight gradients then all run in gemm.
//! - [`layer_norm`], [`batch_norm`], [`softmax_last_dim`], [`causal_softmax`], [`gelu_erf`],
//!   [`gelu_tanh`], [`cross_entropy`], [`cross_entropy_ignoring`], [`add_bias`] and [`linear`]:
//!   fused row-wise kernels with their backward, for models made of many small operations (the
//!   char-GPT, GPT-2, the WaveNet), where candle's per-operation cost and its single-threaded
//!   sums over broadcast dimensions dominate.
//!
//! Every parallel loop runs on candle's own worker threads (see `par`).
//! - [`adamw_step`]: one AdamW update in two passes over memory.
//! - [`causal_self_attention`]: GPT-style attention from the fused `qkv` projection to the
//!   merged heads, one node in the graph instead of some twenty.

use candle_core::{CpuStorage, CustomOp1, DType, Layout, Result, Shape, Tensor};
use par::rows_mut;

mod adamw;
mod attention;
mod fused;
mod par;
pub use adamw::{adamw_step, AdamWStep};
pub use attention::causal_self_attention;
pub use fused::{
    add_bias, batch_norm, causal_softmax, cross_entropy, cross_entropy_ignoring, gelu_erf, gelu_tanh, layer_norm, linear, on_cpu_f32, softmax_last_dim,
};

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
    /// Columns of the im2col matrix: one per (image, output row, output column).
    pub fn cols(&self) -> usize {
        self.batch * self.out_h() * self.out_w()
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

/// `x: [b, c, h, w]` → the im2col matrix `[c·kh·kw, b·oh·ow]`: entry
/// `((ci·kh + ki)·kw + kj, (bi·oh + oy)·ow + ox)` is `x[bi, ci, oy·s + ki − p, ox·s + kj − p]`,
/// or 0 in the padding. Its backward is [`Col2Im`].
#[derive(Clone, Copy, Debug)]
pub struct Im2Col(pub Geometry);

/// The adjoint of [`Im2Col`]: `[c·kh·kw, b·oh·ow]` → `[b, c, h, w]`, each entry added to the
/// pixel it was read from. Its backward is [`Im2Col`].
#[derive(Clone, Copy, Debug)]
pub struct Col2Im(pub Geometry);

impl CustomOp1 for Im2Col {
    fn name(&self) -> &'static str {
        "fastops-im2col"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let g = self.0;
        let x = contiguous_f32(storage, layout, self.name(), g.batch * g.channels * g.h * g.w, &g)?;
        let (oh, ow, n) = (g.out_h(), g.out_w(), g.cols());
        let mut out = vec![0f32; g.rows() * n];
        rows_mut(&mut out, n, |row, dst| {
            let (ci, ki, kj) = (row / (g.kh * g.kw), (row / g.kw) % g.kh, row % g.kw);
            let (lo, hi) = g.valid_x(kj);
            if lo == hi {
                return; // this kernel column reads only padding: the row stays zero
            }
            for bi in 0..g.batch {
                let image = &x[(bi * g.channels + ci) * g.h * g.w..][..g.h * g.w];
                for oy in 0..oh {
                    let Some(iy) = g.in_y(oy, ki) else { continue };
                    let src = &image[iy * g.w..][..g.w];
                    let d = &mut dst[(bi * oh + oy) * ow..][..ow];
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
        Ok((CpuStorage::F32(out), Shape::from((g.rows(), n))))
    }

    fn bwd(&self, _arg: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        Ok(Some(grad.contiguous()?.apply_op1(Col2Im(self.0))?))
    }
}

impl CustomOp1 for Col2Im {
    fn name(&self) -> &'static str {
        "fastops-col2im"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let g = self.0;
        let cols = contiguous_f32(storage, layout, self.name(), g.rows() * g.cols(), &g)?;
        let (oh, ow, n) = (g.out_h(), g.out_w(), g.cols());
        let mut out = vec![0f32; g.batch * g.channels * g.h * g.w];
        // One task per (image, channel): the pixels it writes are its own.
        rows_mut(&mut out, g.h * g.w, |bc, image| {
            let (bi, ci) = (bc / g.channels, bc % g.channels);
            for ki in 0..g.kh {
                for kj in 0..g.kw {
                    let (lo, hi) = g.valid_x(kj);
                    let row = &cols[((ci * g.kh + ki) * g.kw + kj) * n..][..n];
                    for oy in 0..oh {
                        let Some(iy) = g.in_y(oy, ki) else { continue };
                        let src = &row[(bi * oh + oy) * ow..][..ow];
                        let d = &mut image[iy * g.w..][..g.w];
                        for ox in lo..hi {
                            d[ox * g.stride + kj - g.padding] += src[ox];
                        }
                    }
                }
            }
        });
        Ok((CpuStorage::F32(out), Shape::from((g.batch, g.channels, g.h, g.w))))
    }

    fn bwd(&self, _arg: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        Ok(Some(grad.contiguous()?.apply_op1(Im2Col(self.0))?))
    }
}

/// `x.conv2d(weight, padding, stride, 1, 1)` for `x: [b, c, h, w]`, `weight: [c_out, c, kh, kw]`
/// (no bias), with the same values and gradients, lowered to one matmul over [`Im2Col`]. Off the
/// CPU, for a dtype other than f32, or for shapes candle would reject, it is candle's `conv2d`.
pub fn conv2d(x: &Tensor, weight: &Tensor, padding: usize, stride: usize) -> Result<Tensor> {
    let slow = || x.conv2d(weight, padding, stride, 1, 1);
    if !x.device().is_cpu() || x.dtype() != DType::F32 || weight.dtype() != DType::F32 || x.rank() != 4 || weight.rank() != 4 || stride == 0 {
        return slow();
    }
    let (batch, channels, h, w) = x.dims4()?;
    let (c_out, c_in, kh, kw) = weight.dims4()?;
    if c_in != channels || h + 2 * padding < kh || w + 2 * padding < kw || batch == 0 || c_out == 0 {
        return slow();
    }
    let g = Geometry { batch, channels, h, w, kh, kw, stride, padding };
    let cols = x.contiguous()?.apply_op1(Im2Col(g))?;
    let y = weight.reshape((c_out, g.rows()))?.matmul(&cols)?;
    y.reshape((c_out, batch, g.out_h(), g.out_w()))?.transpose(0, 1)?.contiguous()
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};
    use rand::{Rng, SeedableRng};

    fn randn(rng: &mut rand_chacha::ChaCha8Rng, shape: &[usize]) -> Tensor {
        let n = shape.iter().product();
        let v: Vec<f32> = (0..n).map(|_| rng.random_range(-1.0f32..1.0)).collect();
        Tensor::from_vec(v, shape, &Device::Cpu).unwrap()
    }

    fn max_diff(a: &Tensor, b: &Tensor) -> f32 {
        assert_eq!(a.dims(), b.dims());
        (a - b).unwrap().abs().unwrap().flatten_all().unwrap().max(0).unwrap().to_scalar::<f32>().unwrap()
    }

    /// Values and both gradients against candle's own conv2d (itself checked against torch by
    /// week 1's fixtures), over strides, paddings, kernels wider than tall, and odd sizes.
    #[test]
    fn conv2d_matches_candle_forward_and_backward() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
        let cases = [
            // (b, c, h, w, c_out, kh, kw, stride, padding)
            (2, 3, 9, 7, 4, 3, 3, 1, 1),
            (1, 1, 28, 28, 8, 3, 3, 2, 1),
            (3, 2, 8, 8, 5, 3, 3, 2, 0),
            (2, 4, 7, 10, 3, 2, 5, 1, 2),
            (1, 3, 11, 11, 2, 7, 7, 2, 3),
            (2, 5, 6, 6, 4, 1, 1, 1, 0),
            (2, 5, 6, 6, 4, 1, 1, 2, 0),
            (1, 2, 5, 5, 3, 5, 5, 3, 0),
            (1, 2, 3, 3, 2, 3, 3, 1, 2),
        ];
        for (b, c, h, w, co, kh, kw, s, p) in cases {
            let x = Var::from_tensor(&randn(&mut rng, &[b, c, h, w])).unwrap();
            let k = Var::from_tensor(&randn(&mut rng, &[co, c, kh, kw])).unwrap();
            let slow = x.conv2d(&k, p, s, 1, 1).unwrap();
            let up = randn(&mut rng, slow.dims());
            let fast = conv2d(&x, &k, p, s).unwrap();
            let case = format!("b{b} c{c} {h}×{w} → {co}, {kh}×{kw}, stride {s}, padding {p}");
            assert!(fast.is_contiguous(), "{case}");
            assert!(max_diff(&fast, &slow) < 1e-5, "{case}: forward differs by {}", max_diff(&fast, &slow));
            let gs = (slow * &up).unwrap().sum_all().unwrap().backward().unwrap();
            let gf = (fast * &up).unwrap().sum_all().unwrap().backward().unwrap();
            for (name, v) in [("input", &x), ("weight", &k)] {
                let (a, e) = (gf.get(v).unwrap(), gs.get(v).unwrap());
                assert!(max_diff(a, e) < 1e-4, "{case}: {name} gradient differs by {}", max_diff(a, e));
            }
        }
    }

    /// col2im is the adjoint of im2col: ⟨im2col(x), y⟩ = ⟨x, col2im(y)⟩ for random x and y; an
    /// independent property (no candle convolution involved).
    #[test]
    fn col2im_is_the_adjoint_of_im2col() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        for g in [
            Geometry { batch: 2, channels: 3, h: 6, w: 5, kh: 3, kw: 2, stride: 1, padding: 1 },
            Geometry { batch: 1, channels: 2, h: 9, w: 9, kh: 3, kw: 3, stride: 2, padding: 2 },
        ] {
            let x = randn(&mut rng, &[g.batch, g.channels, g.h, g.w]);
            let y = randn(&mut rng, &[g.rows(), g.cols()]);
            let lhs = (x.apply_op1(Im2Col(g)).unwrap() * &y).unwrap().sum_all().unwrap().to_scalar::<f32>().unwrap();
            let rhs = (x * y.apply_op1(Col2Im(g)).unwrap()).unwrap().sum_all().unwrap().to_scalar::<f32>().unwrap();
            assert!((lhs - rhs).abs() < 1e-3 * lhs.abs().max(1.0), "{g:?}: {lhs} vs {rhs}");
        }
    }

    #[test]
    fn other_dtypes_and_non_contiguous_inputs_still_work() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2);
        let x = randn(&mut rng, &[2, 3, 8, 6]).transpose(2, 3).unwrap();
        let k = randn(&mut rng, &[4, 3, 3, 3]);
        assert!(max_diff(&conv2d(&x, &k, 1, 1).unwrap(), &x.conv2d(&k, 1, 1, 1, 1).unwrap()) < 1e-5);
        let (x64, k64) = (x.to_dtype(DType::F64).unwrap(), k.to_dtype(DType::F64).unwrap());
        assert_eq!(conv2d(&x64, &k64, 1, 1).unwrap().dtype(), DType::F64);
    }
}
