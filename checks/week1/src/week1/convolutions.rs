//! Checks for week1 day "convolutions": each exercise against torch.nn.functional on the fixture
//! cases (fixtures/gen/week1_convolutions.py), plus consistency checks against the minimal
//! versions and against candle's own kernels (which the learner may not call).

use crate::cases::FixtureFile;
use crate::check::{ensure, CheckResult, Fail, Learner};
use crate::compare::{close, close_with, Candidate, Tol};
use crate::registry::{Day, Exercise};
use crate::subject::week1::convolutions as cv;
use candle_core::{Tensor, D};
use ndarray::{Array2, IntoDimension};

const FX: FixtureFile = FixtureFile::new("week1/convolutions.safetensors");

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

const DAY: Day = Day::new("week1", "convolutions", "src/convolutions.rs");

/// What the rules forbid in every exercise of the day: candle's own kernels.
const NO_KERNELS: &[&str] = &[".conv1d(", ".conv2d(", "conv_transpose", "max_pool", "avg_pool", ".unfold("];
const NO_KERNELS_OR_PAD: &[&str] = &[".conv1d(", ".conv2d(", "conv_transpose", "max_pool", "avg_pool", ".unfold(", "pad_with_zeros", "pad_with_same"];

/// Every element of `view` must be the element of `buf` at `at(index)`: the same address, not
/// an equal copy.
fn is_view_of<D: ndarray::Dimension>(what: &str, view: &ndarray::ArrayView<'_, f32, D>, buf: &[f32], at: impl Fn(&[usize]) -> usize) -> CheckResult {
    for (idx, v) in view.indexed_iter() {
        let idx = idx.into_dimension();
        let k = at(idx.slice());
        ensure(k < buf.len() && std::ptr::eq(v, &buf[k]), || {
            format!("{what}: element {:?} is not x's element {k} itself but a copy (or another element): a view reads x's own buffer through strides, it copies nothing", idx.slice())
        })?;
    }
    Ok(())
}

/// The fixture's f32 values of `t`, in logical order, on the host.
fn host(t: &Tensor) -> Result<Vec<f32>, Fail> {
    Ok(crate::compare::to_f64(t)?.into_iter().map(|v| v as f32).collect())
}

pub fn exercises() -> Vec<Exercise> {
    vec![
        DAY.exercise("strided_view", "overlapping windows as an ndarray view (no copy)").pace(1, 10).function("strided_view")
            .check("vs torch (x.unfold), and every element is x's own", |ctx| {
                for c in FX.cases(ctx, "strided_windows")? {
                    let (x, window, stride) = (host(&c.t("x")?)?, c.n("window")?, c.n("stride")?);
                    let v = cv::strided_view(&x, window, stride);
                    let want = c.out()?;
                    ensure(v.dim() == (want.dims()[0], want.dims()[1]), || format!("{}: shape {:?}, expected {:?}", c.label(), v.dim(), want.dims()))?;
                    let got = Tensor::new(v.iter().copied().collect::<Vec<f32>>(), &ctx.device).on_learner()?.reshape(want.shape()).on_learner()?;
                    close(&c.label(), &got, &want, Tol::EXACT)?;
                    is_view_of(&c.label(), &v, &x, |i| i[0] * stride + i[1])?;
                }
                Ok(())
            })
            .check("edge cases: one window, stride past the window, a window longer than x", |_| {
                let x: Vec<f32> = (0..7).map(|v| v as f32).collect();
                for (window, stride, rows) in [(7, 1, 1), (2, 3, 2), (3, 1, 5), (8, 1, 0)] {
                    let v = cv::strided_view(&x, window, stride);
                    ensure(v.dim() == (rows, window), || format!("strided_view(0..7, window {window}, stride {stride}): shape {:?}, expected [{rows}, {window}]", v.dim()))?;
                    is_view_of(&format!("strided_view(0..7, window {window}, stride {stride})"), &v, &x, |i| i[0] * stride + i[1])?;
                }
                Ok(())
            }),
        DAY.exercise("windows_2d", "2-D windows as a 4-D view, strides taken from the input").pace(2, 20).function("windows_2d")
            .check("a row-major matrix, its transpose and every other column: element [i, j, a, b] is x[[i·sh + a, j·sw + b]] itself", |_| {
                let buf: Vec<f32> = (0..35).map(|v| v as f32).collect();
                let x = ndarray::ArrayView2::from_shape((5, 7), &buf).map_err(|e| Fail::Internal(format!("a fixture matrix: {e}")))?;
                let base = buf.as_ptr();
                let index_of = |e: &f32| (e as *const f32 as usize - base as usize) / std::mem::size_of::<f32>();
                for (name, m) in [("x [5, 7]", x.view()), ("x.t() [7, 5]", x.t()), ("every other column of x [5, 4]", x.slice(ndarray::s![.., ..;2]))] {
                    for (kernel, stride) in [((3, 3), (1, 1)), ((2, 4), (2, 1)), ((1, 2), (3, 2))] {
                        let v = cv::windows_2d(&m, kernel, stride);
                        let (h, w) = m.dim();
                        let want = ((h - kernel.0) / stride.0 + 1, (w - kernel.1) / stride.1 + 1, kernel.0, kernel.1);
                        let label = format!("windows_2d({name}, kernel {kernel:?}, stride {stride:?})");
                        ensure(v.dim() == want, || format!("{label}: shape {:?}, expected {want:?}", v.dim()))?;
                        for ((i, j, a, b), e) in v.indexed_iter() {
                            let src = &m[[i * stride.0 + a, j * stride.1 + b]];
                            ensure(std::ptr::eq(e, src), || format!("{label}: element [{i}, {j}, {a}, {b}] holds {e} at buffer position {}, expected x[[{}, {}]] = {src} (position {}); take the strides from x.strides()", index_of(e), i * stride.0 + a, j * stride.1 + b, index_of(src)))?;
                        }
                    }
                }
                Ok(())
            })
            .check("a kernel as large as the matrix gives one window; a larger one along either axis gives none", |_| {
                let buf: Vec<f32> = (0..12).map(|v| v as f32).collect();
                let x = ndarray::ArrayView2::from_shape((3, 4), &buf).map_err(|e| Fail::Internal(format!("a test matrix: {e}")))?;
                for (kernel, want) in [((3, 4), (1, 1, 3, 4)), ((4, 2), (0, 0, 4, 2)), ((2, 5), (0, 0, 2, 5)), ((4, 5), (0, 0, 4, 5))] {
                    let v = cv::windows_2d(&x, kernel, (1, 1));
                    ensure(v.dim() == want, || format!("windows_2d(x [3, 4], kernel {kernel:?}): shape {:?}, expected {want:?}", v.dim()))?;
                }
                Ok(())
            }),
        DAY.exercise("conv2d_single", "a single-channel conv2d over the windows").pace(1, 10).function("conv2d_single")
            .check("vs torch (F.conv2d), summed over the input channels", |ctx| {
                // torch's multi-channel output is the sum over input channels of single-channel
                // correlations (plus the bias): exactly what conv2d_single computes per pair.
                for (name, strided) in [("conv2d_minimal", false), ("conv2d", true)] {
                    for c in FX.cases(ctx, name)? {
                        let (stride, ok) = if strided { (c.pair("stride")?, c.pair("padding")? == (0, 0) && c.pair("dilation")? == (1, 1)) } else { ((1, 1), true) };
                        if !ok {
                            continue;
                        }
                        let (x, w, want) = (c.t("x")?, c.t("weight")?, c.out()?);
                        let (b, cin, h, wd) = x.dims4().grader()?;
                        let (cout, _, kh, kw) = w.dims4().grader()?;
                        let (xs, ws) = (host(&x)?, host(&w)?);
                        let bias = c.opt("bias")?.map(|t| host(&t)).transpose()?;
                        let mut out = Vec::new();
                        for bi in 0..b {
                            for o in 0..cout {
                                let mut acc: Option<Array2<f32>> = None;
                                for ci in 0..cin {
                                    let xm = ndarray::ArrayView2::from_shape((h, wd), &xs[(bi * cin + ci) * h * wd..][..h * wd]).map_err(|e| Fail::Internal(format!("a fixture matrix: {e}")))?;
                                    let km = ndarray::ArrayView2::from_shape((kh, kw), &ws[(o * cin + ci) * kh * kw..][..kh * kw]).map_err(|e| Fail::Internal(format!("a fixture matrix: {e}")))?;
                                    let r = cv::conv2d_single(&xm, &km, stride);
                                    acc = Some(match acc {
                                        Some(a) if a.dim() == r.dim() => a + r,
                                        Some(a) => return Err(Fail::Mismatch(format!("{}: conv2d_single gave shapes {:?} and {:?} for the same input shape", c.label(), a.dim(), r.dim()))),
                                        None => r,
                                    });
                                }
                                let acc = acc.unwrap_or_default();
                                out.extend(acc.iter().map(|v| v + bias.as_ref().map_or(0.0, |bb| bb[o])));
                            }
                        }
                        let got = Tensor::from_vec(out.clone(), out.len(), &ctx.device).on_learner()?;
                        ensure(out.len() == want.elem_count(), || format!("{}: {} outputs, expected {} (shape {:?})", c.label(), out.len(), want.elem_count(), want.dims()))?;
                        close(&c.label(), &got, &want.flatten_all().grader()?, CONV)?;
                    }
                }
                Ok(())
            }),
        DAY.exercise("strided_windows", "overlapping windows by gathering").pace(1, 10).function("strided_windows")
            .forbid(NO_KERNELS)
            .check("vs torch (x.unfold)", |ctx| FX.vs_torch(ctx, "strided_windows", Tol::EXACT, |c| cv::strided_windows(&c.t("x")?, c.n("window")?, c.n("stride")?).learner())),
        DAY.exercise("conv1d_minimal", "conv1d: batch and channels, no stride or padding").pace(2, 20).function("conv1d_minimal")
            .forbid(NO_KERNELS)
            .check("vs torch (F.conv1d)", |ctx| {
                for c in FX.cases(ctx, "conv1d_minimal")? {
                    let (x, w) = (c.t("x")?, c.t("weight")?);
                    let got = cv::conv1d_minimal(&x, &w).learner()?;
                    let flipped = Candidate { description: "a true convolution (kernel flipped); PyTorch's conv is a cross-correlation", tensor: x.conv1d(&flip_last(&w).grader()?, 0, 1, 1, 1).grader()? };
                    close_with(&c.label(), &got, &c.out()?, CONV, &[flipped])?;
                }
                Ok(())
            }),
        DAY.exercise("conv1d", "conv1d with stride, padding and dilation").pace(2, 35).function("conv1d")
            .forbid(NO_KERNELS)
            .check("vs torch (F.conv1d)", |ctx| {
                FX.vs_torch(ctx, "conv1d", CONV, |c| {
                    let bias = c.opt("bias")?;
                    cv::conv1d(&c.t("x")?, &c.t("weight")?, bias.as_ref(), c.n("stride")?, c.n("padding")?, c.n("dilation")?).learner()
                })
            })
            .check("stride 1, padding 0, dilation 1, no bias equals conv1d_minimal's cases", |ctx| {
                FX.vs_torch(ctx, "conv1d_minimal", CONV, |c| cv::conv1d(&c.t("x")?, &c.t("weight")?, None, 1, 0, 1).learner())
            }),
        DAY.exercise("conv2d_minimal", "conv2d: im2col and one matmul").pace(2, 20).function("conv2d_minimal")
            .forbid(NO_KERNELS)
            .check("vs torch (F.conv2d)", |ctx| {
                for c in FX.cases(ctx, "conv2d_minimal")? {
                    let (x, w) = (c.t("x")?, c.t("weight")?);
                    let got = cv::conv2d_minimal(&x, &w).learner()?;
                    let flipped = Candidate { description: "a true convolution (kernel flipped); PyTorch's conv is a cross-correlation", tensor: x.conv2d(&flip_last(&flip_last(&w).grader()?.transpose(2, 3).grader()?).grader()?.transpose(2, 3).grader()?, 0, 1, 1, 1).grader()? };
                    close_with(&c.label(), &got, &c.out()?, CONV, &[flipped])?;
                }
                Ok(())
            }),
        DAY.exercise("conv2d", "conv2d with stride, padding, dilation and bias").pace(2, 30).function("conv2d")
            .forbid(NO_KERNELS)
            .check("vs torch (F.conv2d)", |ctx| {
                for c in FX.cases(ctx, "conv2d")? {
                    let (x, w, bias) = (c.t("x")?, c.t("weight")?, c.opt("bias")?);
                    let (s, p, d) = (c.pair("stride")?, c.pair("padding")?, c.pair("dilation")?);
                    let got = cv::conv2d(&x, &w, bias.as_ref(), s, p, d).learner()?;
                    let mut candidates = Vec::new();
                    if bias.is_some() && s.0 == s.1 && p.0 == p.1 && d.0 == d.1 {
                        candidates.push(Candidate { description: "the convolution without the bias", tensor: x.conv2d(&w, p.0, s.0, d.0, 1).grader()? });
                    }
                    close_with(&c.label(), &got, &c.out()?, CONV, &candidates)?;
                }
                Ok(())
            })
            .check("stride 1, padding 0, dilation 1, no bias equals conv2d_minimal's cases", |ctx| {
                FX.vs_torch(ctx, "conv2d_minimal", CONV, |c| cv::conv2d(&c.t("x")?, &c.t("weight")?, None, (1, 1), (0, 0), (1, 1)).learner())
            }),
        DAY.exercise("pad2d", "constant padding on four sides").pace(3, 60).function("pad2d")
            .forbid(NO_KERNELS_OR_PAD)
            .check("vs torch (F.pad)", |ctx| {
                FX.vs_torch(ctx, "pad2d", Tol::EXACT, |c| {
                    let p = c.ints("pad", 4)?;
                    cv::pad2d(&c.t("x")?, (p[0], p[1], p[2], p[3]), c.f("value")? as f32).learner()
                })
            }),
        DAY.exercise("maxpool2d", "max pooling with stride and -inf padding").pace(1, 10).function("maxpool2d")
            .forbid(NO_KERNELS)
            .check("vs torch (F.max_pool2d)", |ctx| {
                FX.vs_torch(ctx, "maxpool2d", Tol::EXACT, |c| cv::maxpool2d(&c.t("x")?, c.pair("kernel")?, c.pair("stride")?, c.pair("padding")?).learner())
            }),
        DAY.exercise("avgpool2d", "average pooling (padded zeros count)").pace(1, 10).function("avgpool2d")
            .forbid(NO_KERNELS)
            .check("vs torch (F.avg_pool2d)", |ctx| {
                FX.vs_torch(ctx, "avgpool2d", AVG, |c| cv::avgpool2d(&c.t("x")?, c.pair("kernel")?, c.pair("stride")?, c.pair("padding")?).learner())
            }),
        DAY.exercise("adaptive_avgpool2d", "adaptive average pooling to any output size").pace(2, 15).function("adaptive_avgpool2d")
            .forbid(NO_KERNELS)
            .check("vs torch (F.adaptive_avg_pool2d)", |ctx| {
                FX.vs_torch(ctx, "adaptive_avgpool2d", AVG, |c| cv::adaptive_avgpool2d(&c.t("x")?, c.pair("size")?).learner())
            })
            .check("output size = input size is the identity", |ctx| {
                let x = FX.open(ctx)?.get("conv2d.1.x")?;
                let (h, w) = (x.dim(2).grader()?, x.dim(3).grader()?);
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
