//! Checks for week1 day "convolutions": each exercise against torch.nn.functional on the fixture
//! cases (fixtures/gen/week1_convolutions.py), plus consistency checks against the minimal
//! versions and against candle's own kernels (which the learner may not call).

use crate::check::{CheckResult, Ctx, Fail, Fixture, Learner};
use crate::compare::{close, close_with, Candidate, Tol};
use crate::registry::Exercise;
use crate::subject::week1::convolutions as cv;
use candle_core::{Tensor, D};
use std::rc::Rc;

const FX: &str = "week1/convolutions.safetensors";

/// Convolutions sum up to c_in·kh·kw (here ≤ 50) products of N(0, 1) values, giving outputs of
/// magnitude up to ~20. An im2col matmul adds them in a different order (and with different
/// blocking) from PyTorch's kernels, so f32 results differ by a few ulps of the partial sums:
/// up to 7.6e-6 absolute on these fixtures (CPU). abs 1e-4 + rel 1e-4 leaves >10× headroom
/// across CPUs and GPUs (and for outputs near zero, where only `abs` counts) while any real
/// mistake (a missing tap, a shifted window, a lost bias) is off by O(0.1) or more.
const CONV: Tol = Tol { abs: 1e-4, rel: 1e-4 };
/// Averages of up to 35 values: a mean (sum, then divide) or a matmul with 1/n weights rounds
/// differently from PyTorch by a few ulps.
const AVG: Tol = Tol::F32;

/// One fixture case: tensors `name.k.*`.
struct Case {
    name: &'static str,
    k: usize,
    fx: Rc<Fixture>,
}

impl Case {
    fn key(&self, arg: &str) -> String {
        format!("{}.{}.{}", self.name, self.k, arg)
    }
    fn t(&self, arg: &str) -> Result<Tensor, Fail> {
        self.fx.get(&self.key(arg))
    }
    fn opt(&self, arg: &str) -> Result<Option<Tensor>, Fail> {
        if self.fx.names_with_prefix(&self.key(arg)).contains(&self.key(arg)) {
            Ok(Some(self.t(arg)?))
        } else {
            Ok(None)
        }
    }
    fn n(&self, arg: &str) -> Result<usize, Fail> {
        self.fx.usize(&self.key(arg))
    }
    fn f(&self, arg: &str) -> Result<f64, Fail> {
        self.fx.f64(&self.key(arg))
    }
    /// A small int64 vector (a pair such as a stride, or the four pads).
    fn ints(&self, arg: &str, len: usize) -> Result<Vec<usize>, Fail> {
        let v = crate::compare::to_f64(&self.t(arg)?)?;
        if v.len() != len || v.iter().any(|x| *x < 0.0 || x.fract() != 0.0) {
            return Err(Fail::Fixture(format!("fixture {FX} / {}: expected {len} non-negative integers, found {v:?}", self.key(arg))));
        }
        Ok(v.into_iter().map(|x| x as usize).collect())
    }
    fn pair(&self, arg: &str) -> Result<(usize, usize), Fail> {
        let v = self.ints(arg, 2)?;
        Ok((v[0], v[1]))
    }
    fn out(&self) -> Result<Tensor, Fail> {
        self.t("out")
    }
    fn label(&self) -> String {
        let args: Vec<String> = self
            .fx
            .names_with_prefix(&format!("{}.{}.", self.name, self.k))
            .iter()
            .filter(|n| !n.ends_with(".out"))
            .filter_map(|n| self.fx.get(n).ok().map(|t| (n.rsplit('.').next().unwrap_or("").to_string(), t)))
            .map(|(arg, t)| match t.rank() {
                0 => format!("{arg}={}", crate::compare::to_f64(&t).ok().and_then(|v| v.first().copied()).unwrap_or(f64::NAN)),
                1 if t.dtype() == candle_core::DType::I64 => format!("{arg}={:?}", t.to_vec1::<i64>().unwrap_or_default()),
                _ => format!("{arg}: {:?}", t.dims()),
            })
            .collect();
        format!("{}({}) [fixture case {}]", self.name, args.join(", "), self.k)
    }
}

fn cases(ctx: &Ctx, name: &'static str) -> Result<Vec<Case>, Fail> {
    let fx = ctx.fixture(FX)?;
    let n = fx.names_with_prefix(&format!("{name}.")).iter().filter(|k| k.ends_with(".out")).count();
    if n == 0 {
        return Err(Fail::Fixture(format!("{FX} has no cases for {name}; {}", crate::fixtures::REMAKE)));
    }
    Ok((0..n).map(|k| Case { name, k, fx: fx.clone() }).collect())
}

/// Run the learner's function on every fixture case and compare with PyTorch's output.
fn vs_torch(ctx: &Ctx, name: &'static str, tol: Tol, f: impl Fn(&Case) -> Result<Tensor, Fail>) -> CheckResult {
    for case in cases(ctx, name)? {
        let got = f(&case)?;
        close(&case.label(), &got, &case.out()?, tol)?;
    }
    Ok(())
}

macro_rules! ex {
    ($name:ident, $title:expr, $hint:expr) => {
        Exercise::new(concat!("week1.convolutions.", stringify!($name)), $title, "src/convolutions.rs").function(stringify!($name)).hint($hint)
    };
}

/// What the rules forbid in every exercise of the day: candle's own kernels.
const NO_KERNELS: &[&str] = &[".conv1d(", ".conv2d(", "conv_transpose", "max_pool", "avg_pool", ".unfold("];
const NO_KERNELS_OR_PAD: &[&str] = &[".conv1d(", ".conv2d(", "conv_transpose", "max_pool", "avg_pool", ".unfold(", "pad_with_zeros", "pad_with_same"];

pub fn exercises() -> Vec<Exercise> {
    vec![
        ex!(strided_windows, "overlapping windows by gathering", "Row o starts at o * stride: arange_step(0, nw * stride, stride) as a column plus arange(window) as a row is the [nw, window] index matrix; flatten it, index_select on dim 0, reshape.")
            .forbid(NO_KERNELS)
            .check("vs torch (x.unfold)", |ctx| vs_torch(ctx, "strided_windows", Tol::EXACT, |c| cv::strided_windows(&c.t("x")?, c.n("window")?, c.n("stride")?).learner())),
        ex!(conv1d_minimal, "conv1d: batch and channels, no stride or padding", "Gather windows along the last axis ([b, c_in, ow, k]), permute to [b, ow, c_in, k], reshape to [b, ow, c_in·k]; broadcast_matmul with weight reshaped to [c_out, c_in·k] and transposed; transpose back to [b, c_out, ow].")
            .forbid(NO_KERNELS)
            .check("vs torch (F.conv1d)", |ctx| {
                for c in cases(ctx, "conv1d_minimal")? {
                    let (x, w) = (c.t("x")?, c.t("weight")?);
                    let got = cv::conv1d_minimal(&x, &w).learner()?;
                    let flipped = Candidate { description: "a true convolution (kernel flipped); PyTorch's conv is a cross-correlation", tensor: x.conv1d(&flip_last(&w)?, 0, 1, 1, 1)? };
                    close_with(&c.label(), &got, &c.out()?, CONV, &[flipped])?;
                }
                Ok(())
            }),
        ex!(conv1d, "conv1d with stride, padding and dilation", "Pad the last axis with zeros first; window o, tap j reads o·stride + j·dilation, so the index matrix is arange_step(0, ow·stride, stride) (column) + arange_step(0, k·dilation, dilation) (row). Then as conv1d_minimal, and broadcast_add the bias to [b, ow, c_out] before transposing.")
            .forbid(NO_KERNELS)
            .check("vs torch (F.conv1d)", |ctx| {
                vs_torch(ctx, "conv1d", CONV, |c| {
                    let bias = c.opt("bias")?;
                    cv::conv1d(&c.t("x")?, &c.t("weight")?, bias.as_ref(), c.n("stride")?, c.n("padding")?, c.n("dilation")?).learner()
                })
            })
            .check("stride 1, padding 0, dilation 1, no bias equals conv1d_minimal's cases", |ctx| {
                vs_torch(ctx, "conv1d_minimal", CONV, |c| cv::conv1d(&c.t("x")?, &c.t("weight")?, None, 1, 0, 1).learner())
            }),
        ex!(conv2d_minimal, "conv2d: im2col and one matmul", "Gather row windows on axis 2 ([b, c, oh, kh, w]), then column windows on the last axis ([b, c, oh, kh, ow, kw]); permute to [b, oh, ow, c, kh, kw], reshape to [b, oh·ow, c·kh·kw], matmul with the weight as [c·kh·kw, o], then back to [b, o, oh, ow].")
            .forbid(NO_KERNELS)
            .check("vs torch (F.conv2d)", |ctx| {
                for c in cases(ctx, "conv2d_minimal")? {
                    let (x, w) = (c.t("x")?, c.t("weight")?);
                    let got = cv::conv2d_minimal(&x, &w).learner()?;
                    let flipped = Candidate { description: "a true convolution (kernel flipped); PyTorch's conv is a cross-correlation", tensor: x.conv2d(&flip_last(&flip_last(&w)?.transpose(2, 3)?)?.transpose(2, 3)?, 0, 1, 1, 1)? };
                    close_with(&c.label(), &got, &c.out()?, CONV, &[flipped])?;
                }
                Ok(())
            }),
        ex!(conv2d, "conv2d with stride, padding, dilation and bias", "Zero-pad rows and columns (pad_with_zeros on axes 2 and 3), then conv2d_minimal's im2col with index matrices o·stride + j·dilation per axis; add the bias as [1, o, 1, 1] (or to the [b, oh·ow, o] matmul result).")
            .forbid(NO_KERNELS)
            .check("vs torch (F.conv2d)", |ctx| {
                for c in cases(ctx, "conv2d")? {
                    let (x, w, bias) = (c.t("x")?, c.t("weight")?, c.opt("bias")?);
                    let (s, p, d) = (c.pair("stride")?, c.pair("padding")?, c.pair("dilation")?);
                    let got = cv::conv2d(&x, &w, bias.as_ref(), s, p, d).learner()?;
                    let mut candidates = Vec::new();
                    if bias.is_some() && s.0 == s.1 && p.0 == p.1 && d.0 == d.1 {
                        candidates.push(Candidate { description: "the convolution without the bias", tensor: x.conv2d(&w, p.0, s.0, d.0, 1)? });
                    }
                    close_with(&c.label(), &got, &c.out()?, CONV, &candidates)?;
                }
                Ok(())
            })
            .check("stride 1, padding 0, dilation 1, no bias equals conv2d_minimal's cases", |ctx| {
                vs_torch(ctx, "conv2d_minimal", CONV, |c| cv::conv2d(&c.t("x")?, &c.t("weight")?, None, (1, 1), (0, 0), (1, 1)).learner())
            }),
        ex!(pad2d, "constant padding on four sides", "Tensor::full(value, (b, c, h, left), dev) and (b, c, h, right), cat on axis 3; then blocks of width w + left + right above and below, cat on axis 2. Skip the blocks of size 0.")
            .forbid(NO_KERNELS_OR_PAD)
            .check("vs torch (F.pad)", |ctx| {
                vs_torch(ctx, "pad2d", Tol::EXACT, |c| {
                    let p = c.ints("pad", 4)?;
                    cv::pad2d(&c.t("x")?, (p[0], p[1], p[2], p[3]), c.f("value")? as f32).learner()
                })
            }),
        ex!(maxpool2d, "max pooling with stride and -inf padding", "pad2d with f32::NEG_INFINITY, gather windows along rows and columns as for conv2d ([b, c, oh, kh, ow, kw]), permute the two kernel axes to the end, reshape to [b, c, oh, ow, kh·kw], max(D::Minus1).")
            .forbid(NO_KERNELS)
            .check("vs torch (F.max_pool2d)", |ctx| {
                vs_torch(ctx, "maxpool2d", Tol::EXACT, |c| cv::maxpool2d(&c.t("x")?, c.pair("kernel")?, c.pair("stride")?, c.pair("padding")?).learner())
            }),
        ex!(avgpool2d, "average pooling (padded zeros count)", "As maxpool2d with zero padding and mean(D::Minus1): count_include_pad=True divides every window by kh·kw, padding included.")
            .forbid(NO_KERNELS)
            .check("vs torch (F.avg_pool2d)", |ctx| {
                vs_torch(ctx, "avgpool2d", AVG, |c| cv::avgpool2d(&c.t("x")?, c.pair("kernel")?, c.pair("stride")?, c.pair("padding")?).learner())
            }),
        ex!(adaptive_avgpool2d, "adaptive average pooling to any output size", "Window i of an axis of size n pooled to m is [floor(i·n/m), ceil((i+1)·n/m)). Build an [m, n] matrix with 1/len on each window (a plain Rust Vec is fine: it is m·n numbers) for rows and for columns, then A.broadcast_matmul(x).broadcast_matmul(Bᵀ).")
            .forbid(NO_KERNELS)
            .check("vs torch (F.adaptive_avg_pool2d)", |ctx| {
                vs_torch(ctx, "adaptive_avgpool2d", AVG, |c| cv::adaptive_avgpool2d(&c.t("x")?, c.pair("size")?).learner())
            })
            .check("output size = input size is the identity", |ctx| {
                let x = ctx.fixture(FX)?.get("conv2d.1.x")?;
                let (h, w) = (x.dim(2)?, x.dim(3)?);
                close("adaptive_avgpool2d(x, (h, w))", &cv::adaptive_avgpool2d(&x, (h, w)).learner()?, &x, AVG)
            }),
    ]
}

/// Reverse the last axis (for the "flipped kernel" diagnosis).
fn flip_last(w: &Tensor) -> candle_core::Result<Tensor> {
    let k = w.dim(D::Minus1)? as i64;
    let idx = Tensor::new((0..k).rev().collect::<Vec<i64>>(), w.device())?;
    w.contiguous()?.index_select(&idx, w.rank() - 1)?.contiguous()
}
