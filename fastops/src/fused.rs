//! Fused row-wise kernels with their backward: layer norm, softmax, the exact GELU, ReLU and
//! cross-entropy. Each replaces a chain of small candle
//! operations (each of which allocates its output and, for the gradients of broadcast
//! parameters, sums over leading dimensions on candle's one-element-at-a-time path) with one
//! pass over the rows, split across threads.
//!
//! Every reduction across rows (a bias's or a gain's gradient, the loss) adds fixed blocks of
//! rows in parallel and then the blocks' partial sums in order, so a result never depends on
//! the number of threads or on how work was stolen.

use crate::par::{make_chunks, map_indexed, rows_mut};
use candle_core::{CpuStorage, CustomOp1, CustomOp2, CustomOp3, DType, Layout, Result, Shape, Tensor, D};

/// The op's input as a contiguous f32 slice.
pub(crate) fn f32s<'a>(storage: &'a CpuStorage, layout: &Layout, op: &str) -> Result<&'a [f32]> {
    let CpuStorage::F32(v) = storage else { candle_core::bail!("{op}: f32 only") };
    let Some((a, b)) = layout.contiguous_offsets() else { candle_core::bail!("{op}: the input must be contiguous") };
    Ok(&v[a..b])
}

/// The length of the last dimension (the row), and the number of rows.
fn rows_of(layout: &Layout, op: &str) -> Result<(usize, usize)> {
    let n = *layout.dims().last().ok_or_else(|| candle_core::Error::Msg(format!("{op}: a scalar has no rows")))?;
    let count = layout.shape().elem_count();
    Ok((n, count.checked_div(n).unwrap_or(0)))
}

/// The rows of `x` (each `n` long) cut into at most 16 blocks of whole rows, fixed by the
/// shape alone; `f(first_row, block)` runs on each block in parallel and the results come back
/// in block order.
fn blocks<T: Send>(x: &[f32], n: usize, f: impl Fn(usize, &[f32]) -> T + Sync) -> Vec<T> {
    let rows = x.len().checked_div(n).unwrap_or(0);
    let per = rows.div_ceil(16).max(1);
    map_indexed(rows.div_ceil(per), |k| f(k * per, &x[k * per * n..((k + 1) * per).min(rows) * n]))
}

/// Whether every tensor is f32 on the CPU, where the fused kernels run; elsewhere each op runs
/// the candle operations it equals.
pub(crate) fn is_cpu_f32(ts: &[&Tensor]) -> bool {
    ts.iter().all(|t| t.device().is_cpu() && t.dtype() == DType::F32)
}

// ---------------------------------------------------------------------------------------------
// Layer norm

struct LayerNorm {
    eps: f32,
}

/// A row's mean and reciprocal standard deviation (biased variance, two passes).
fn moments(row: &[f32], eps: f32) -> (f32, f32) {
    let n = row.len() as f32;
    let mu = row.iter().sum::<f32>() / n;
    let var = row.iter().map(|v| (v - mu) * (v - mu)).sum::<f32>() / n;
    (mu, 1.0 / (var + eps).sqrt())
}

impl CustomOp3 for LayerNorm {
    fn name(&self) -> &'static str {
        "fastops-layer-norm"
    }

    fn cpu_fwd(&self, s1: &CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout, s3: &CpuStorage, l3: &Layout) -> Result<(CpuStorage, Shape)> {
        let (x, w, b) = (f32s(s1, l1, self.name())?, f32s(s2, l2, self.name())?, f32s(s3, l3, self.name())?);
        let (n, _) = rows_of(l1, self.name())?;
        if w.len() != n || b.len() != n {
            candle_core::bail!("{}: rows of {n} with a gain of {} and a bias of {}", self.name(), w.len(), b.len())
        }
        let mut out = vec![0f32; x.len()];
        rows_mut(&mut out, n, |r, y| {
            let x = &x[r * n..][..n];
            let (mu, rstd) = moments(x, self.eps);
            for i in 0..n {
                y[i] = (x[i] - mu) * rstd * w[i] + b[i];
            }
        });
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }

    fn bwd(&self, x: &Tensor, w: &Tensor, _b: &Tensor, _res: &Tensor, g: &Tensor) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let g = g.contiguous()?;
        let dx = x.apply_op3_no_bwd(w, &g, &LayerNormGradInput { eps: self.eps })?;
        let params = x.apply_op2_no_bwd(&g, &LayerNormGradParams { eps: self.eps })?;
        Ok((Some(dx), Some(params.get(0)?), Some(params.get(1)?)))
    }
}

/// `(x, w, g)` → the layer norm's input gradient:
/// `rstd · (g·w − mean(g·w) − x̂ · mean(g·w·x̂))` per row, with `x̂ = (x − μ)·rstd`.
struct LayerNormGradInput {
    eps: f32,
}

impl CustomOp3 for LayerNormGradInput {
    fn name(&self) -> &'static str {
        "fastops-layer-norm-grad-input"
    }

    fn cpu_fwd(&self, s1: &CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout, s3: &CpuStorage, l3: &Layout) -> Result<(CpuStorage, Shape)> {
        let (x, w, g) = (f32s(s1, l1, self.name())?, f32s(s2, l2, self.name())?, f32s(s3, l3, self.name())?);
        let (n, _) = rows_of(l1, self.name())?;
        let mut out = vec![0f32; x.len()];
        rows_mut(&mut out, n, |r, dx| {
            let (x, g) = (&x[r * n..][..n], &g[r * n..][..n]);
            let (mu, rstd) = moments(x, self.eps);
            let (mut a, mut c) = (0f32, 0f32);
            for i in 0..n {
                let gw = g[i] * w[i];
                a += gw;
                c += gw * (x[i] - mu) * rstd;
            }
            let (a, c) = (a / n as f32, c / n as f32);
            for i in 0..n {
                dx[i] = rstd * (g[i] * w[i] - a - (x[i] - mu) * rstd * c);
            }
        });
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }
}

/// `(x, g)` → `[2, n]`: the gain's gradient `Σ_rows g·x̂` and the bias's `Σ_rows g`.
struct LayerNormGradParams {
    eps: f32,
}

impl CustomOp2 for LayerNormGradParams {
    fn name(&self) -> &'static str {
        "fastops-layer-norm-grad-params"
    }

    fn cpu_fwd(&self, s1: &CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout) -> Result<(CpuStorage, Shape)> {
        let (x, g) = (f32s(s1, l1, self.name())?, f32s(s2, l2, self.name())?);
        let (n, _) = rows_of(l1, self.name())?;
        let partial = blocks(x, n, |first, xs| {
            let mut acc = vec![0f32; 2 * n];
            for (r, x) in xs.chunks(n).enumerate() {
                let g = &g[(first + r) * n..][..n];
                let (mu, rstd) = moments(x, self.eps);
                for i in 0..n {
                    acc[i] += g[i] * (x[i] - mu) * rstd;
                    acc[n + i] += g[i];
                }
            }
            acc
        });
        Ok((CpuStorage::F32(sum_in_order(partial, 2 * n)), Shape::from((2, n))))
    }
}

fn sum_in_order(partial: Vec<Vec<f32>>, len: usize) -> Vec<f32> {
    let mut out = vec![0f32; len];
    for p in partial {
        for (o, v) in out.iter_mut().zip(p) {
            *o += v;
        }
    }
    out
}

/// Layer norm over the last dimension: `(x − mean)/√(var + eps) · w + b` (biased variance),
/// as torch's `F.layer_norm`, with its gradients for `x`, `w` and `b`. Off the CPU, or in
/// another dtype, those candle operations.
pub fn layer_norm(x: &Tensor, w: &Tensor, b: &Tensor, eps: f64) -> Result<Tensor> {
    if !is_cpu_f32(&[x, w, b]) {
        let xc = x.broadcast_sub(&x.mean_keepdim(D::Minus1)?)?;
        let var = xc.sqr()?.mean_keepdim(D::Minus1)?;
        return xc.broadcast_div(&(var + eps)?.sqrt()?)?.broadcast_mul(w)?.broadcast_add(b);
    }
    x.contiguous()?.apply_op3(&w.contiguous()?, &b.contiguous()?, LayerNorm { eps: eps as f32 })
}

// ---------------------------------------------------------------------------------------------
// Softmax

/// Softmax over the last dimension.
#[derive(Clone, Copy)]
struct Softmax;

impl CustomOp1 for Softmax {
    fn name(&self) -> &'static str {
        "fastops-softmax"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = f32s(storage, layout, self.name())?;
        let (n, _) = rows_of(layout, self.name())?;
        let mut out = vec![0f32; x.len()];
        rows_mut(&mut out, n, |r, y| {
            y.copy_from_slice(&x[r * n..][..n]);
            softmax_in_place(y);
        });
        Ok((CpuStorage::F32(out), layout.shape().clone()))
    }

    fn bwd(&self, _arg: &Tensor, res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        Ok(Some(res.apply_op2_no_bwd(&grad.contiguous()?, &SoftmaxGrad)?))
    }
}

/// `(y, g)` → `y · (g − Σ g·y)` per row.
struct SoftmaxGrad;

impl CustomOp2 for SoftmaxGrad {
    fn name(&self) -> &'static str {
        "fastops-softmax-grad"
    }

    fn cpu_fwd(&self, s1: &CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout) -> Result<(CpuStorage, Shape)> {
        let (y, g) = (f32s(s1, l1, self.name())?, f32s(s2, l2, self.name())?);
        let (n, _) = rows_of(l1, self.name())?;
        let mut out = vec![0f32; y.len()];
        rows_mut(&mut out, n, |r, dx| {
            dx.copy_from_slice(&g[r * n..][..n]);
            softmax_grad_in_place(&y[r * n..][..n], dx);
        });
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }
}

/// `e^x` in plain f32 arithmetic with no call and no branch, so that a loop over a slice
/// compiles to vector instructions (libm's `expf` is one call per element). `x = n·ln 2 + r`
/// with `n` an integer and `|r| ≤ ln 2 / 2` (ln 2 in two parts, so `r` is exact); `e^r` by a
/// degree-7 polynomial (the Taylor series with its top coefficients adjusted for the interval,
/// Cephes' `expf`); `2^n` built from its exponent bits, as two factors so that results down to
/// the smallest subnormal and up to `f32::MAX` need no special case. Within 2 ulp of the
/// correctly rounded value where that is normal (a test checks it against f64), 0 below
/// −104, ∞ above ln(f32::MAX), NaN for NaN.
#[inline(always)]
pub(crate) fn exp(x: f32) -> f32 {
    // 1.5·2²³: adding it rounds to an integer, which then sits in the low mantissa bits.
    const ROUND: f32 = 12_582_912.0;
    const HI: f32 = 88.722_84;
    const LO: f32 = -104.0;
    // NaN stays NaN.
    let xc = x.clamp(LO, HI);
    let t = xc * std::f32::consts::LOG2_E + ROUND;
    let n = t - ROUND;
    let ni = t.to_bits().wrapping_sub(ROUND.to_bits()) as i32;
    let r = xc - n * 0.693_359_4 + n * 2.121_944_4e-4;
    let p = 1.987_569_2e-4;
    let p = p * r + 1.398_199_9e-3;
    let p = p * r + 8.333_452e-3;
    let p = p * r + 4.166_579_6e-2;
    let p = p * r + 0.166_666_65;
    let p = p * r + 0.5;
    let er = p * r * r + r + 1.0;
    let half = ni >> 1;
    let s1 = f32::from_bits(((half + 127) as u32) << 23);
    let s2 = f32::from_bits(((ni - half + 127) as u32) << 23);
    let y = er * s1 * s2;
    if x > HI {
        f32::INFINITY
    } else if x < LO {
        0.0
    } else {
        y
    }
}

/// The largest of `row` (−∞ for an empty row; a NaN is passed over, as by `f32::max`), in
/// eight running maxima so that the loop compiles to vector instructions.
fn max_of(row: &[f32]) -> f32 {
    let mut acc = [f32::NEG_INFINITY; 8];
    let mut chunks = row.chunks_exact(8);
    for c in &mut chunks {
        for (a, &v) in acc.iter_mut().zip(c) {
            *a = a.max(v);
        }
    }
    let tail = chunks.remainder().iter().fold(f32::NEG_INFINITY, |a, &v| a.max(v));
    acc.iter().fold(tail, |a, &v| a.max(v))
}

/// The sum of `row` in eight running sums (so that the loop compiles to vector instructions).
fn sum_of(row: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let mut eights = row.chunks_exact(8);
    for c in &mut eights {
        for (a, &v) in acc.iter_mut().zip(c) {
            *a += v;
        }
    }
    acc.iter().sum::<f32>() + eights.remainder().iter().sum::<f32>()
}

/// `row` ← its softmax.
fn softmax_in_place(row: &mut [f32]) {
    let max = max_of(row);
    for v in row.iter_mut() {
        *v = exp(*v - max);
    }
    let sum = sum_of(row);
    let inv = 1.0 / sum;
    for v in row.iter_mut() {
        *v *= inv;
    }
}

/// `g` ← `y · (g − Σ g·y)`: the gradient of a softmax's input from the gradient `g` of its
/// output `y`.
fn softmax_grad_in_place(y: &[f32], g: &mut [f32]) {
    let dot: f32 = y.iter().zip(g.iter()).map(|(a, b)| a * b).sum();
    for (g, &y) in g.iter_mut().zip(y) {
        *g = y * (*g - dot);
    }
}

/// Softmax over the last dimension, with its gradient (candle's fused
/// `candle_nn::ops::softmax_last_dim` has none): `candle_nn::ops::softmax(x, D::Minus1)`, in
/// one pass each way on the CPU in f32.
pub fn softmax_last_dim(x: &Tensor) -> Result<Tensor> {
    let y = if is_cpu_f32(&[x]) { x.contiguous()?.apply_op1(Softmax)? } else { candle_nn::ops::softmax(x, D::Minus1)? };
    SOFTMAXES.with(|r| {
        if let Some(seen) = r.borrow_mut().as_mut() {
            seen.push(y.clone());
        }
    });
    Ok(y)
}

thread_local! {
    static SOFTMAXES: std::cell::RefCell<Option<Vec<Tensor>>> = const { std::cell::RefCell::new(None) };
}

/// Runs `f` and returns, beside its result, every output of [`softmax_last_dim`] computed during
/// it on this thread, in order. A model that takes its attention weights from
/// `softmax_last_dim` shows them this way without returning them: the book's page "Your model,
/// live" draws a char-GPT's attention from the softmaxes of one forward pass.
pub fn record_softmaxes<R>(f: impl FnOnce() -> R) -> (R, Vec<Tensor>) {
    let outer = SOFTMAXES.with(|r| r.borrow_mut().replace(Vec::new()));
    let out = f();
    let seen = SOFTMAXES.with(|r| std::mem::replace(&mut *r.borrow_mut(), outer)).unwrap_or_default();
    (out, seen)
}

// ---------------------------------------------------------------------------------------------
// Element-wise activations: GELU and ReLU

/// An element-wise activation with its gradient, one pass each way: the exact GELU (erf) or
/// ReLU.
#[derive(Clone, Copy)]
enum Pointwise {
    GeluErf,
    Relu,
}

/// `(erf(z), e^(−z²))` by Abramowitz and Stegun's formula 7.1.26 (absolute error below
/// 1.5·10⁻⁷ in exact arithmetic, 5·10⁻⁷ in f32; ATen's vectorised CPU `erf` uses the same formula).
/// Unlike libm's `erff` it has no branches but the sign, and the Gaussian factor it needs is
/// the one GELU's derivative needs too.
#[inline(always)]
fn erf_and_gauss(z: f32) -> (f32, f32) {
    let a = z.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * a);
    let poly = t * (0.254_829_6 + t * (-0.284_496_74 + t * (1.421_413_8 + t * (-1.453_152 + t * 1.061_405_4))));
    let gauss = exp(-z * z);
    ((1.0 - poly * gauss).copysign(z), gauss)
}

impl Pointwise {
    #[inline(always)]
    fn value(self, x: f32) -> f32 {
        match self {
            Pointwise::GeluErf => 0.5 * x * (1.0 + erf_and_gauss(x * std::f32::consts::FRAC_1_SQRT_2).0),
            // A NaN stays NaN, as in torch.
            Pointwise::Relu => {
                if x < 0.0 {
                    0.0
                } else {
                    x
                }
            }
        }
    }

    /// The input's gradient from the input `x` and the output's gradient `g`.
    #[inline(always)]
    fn grad(self, x: f32, g: f32) -> f32 {
        match self {
            Pointwise::GeluErf => {
                let (erf, gauss) = erf_and_gauss(x * std::f32::consts::FRAC_1_SQRT_2);
                g * (0.5 * (1.0 + erf) + x * gauss * 0.398_942_3) // Φ(x) + x·φ(x), φ(x) = e^(−x²/2)/√(2π)
            }
            // torch's threshold_backward: nothing where the output is ≤ 0 (x ≤ 0 exactly when
            // relu(x) ≤ 0), the gradient itself elsewhere (a NaN input included).
            Pointwise::Relu => {
                if x <= 0.0 {
                    0.0
                } else {
                    g
                }
            }
        }
    }
}

impl CustomOp1 for Pointwise {
    fn name(&self) -> &'static str {
        match self {
            Pointwise::GeluErf => "fastops-gelu",
            Pointwise::Relu => "fastops-relu",
        }
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = f32s(storage, layout, self.name())?;
        // One loop per activation, each with its formula inlined (and vectorised).
        fn map(x: &[f32], f: impl Fn(f32) -> f32 + Sync) -> Vec<f32> {
            make_chunks(x.len(), 4096, |start, y| {
                for (y, &x) in y.iter_mut().zip(&x[start..]) {
                    y.write(f(x));
                }
            })
        }
        let out = match self {
            Pointwise::GeluErf => map(x, |x| Pointwise::GeluErf.value(x)),
            Pointwise::Relu => map(x, |x| Pointwise::Relu.value(x)),
        };
        Ok((CpuStorage::F32(out), layout.shape().clone()))
    }

    fn bwd(&self, arg: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        Ok(Some(arg.apply_op2_no_bwd(&grad.contiguous()?, &PointwiseGrad(*self))?))
    }
}

/// `(x, g)` → the input's gradient, element by element.
struct PointwiseGrad(Pointwise);

impl CustomOp2 for PointwiseGrad {
    fn name(&self) -> &'static str {
        match self.0 {
            Pointwise::GeluErf => "fastops-gelu-grad",
            Pointwise::Relu => "fastops-relu-grad",
        }
    }

    fn cpu_fwd(&self, s1: &CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout) -> Result<(CpuStorage, Shape)> {
        let (x, g) = (f32s(s1, l1, self.name())?, f32s(s2, l2, self.name())?);
        if x.len() != g.len() {
            candle_core::bail!("{}: {} inputs, {} gradients", self.name(), x.len(), g.len())
        }
        fn map(x: &[f32], g: &[f32], f: impl Fn(f32, f32) -> f32 + Sync) -> Vec<f32> {
            make_chunks(x.len(), 4096, |start, d| {
                for (d, (&x, &g)) in d.iter_mut().zip(x[start..].iter().zip(&g[start..])) {
                    d.write(f(x, g));
                }
            })
        }
        let out = match self.0 {
            Pointwise::GeluErf => map(x, g, |x, g| Pointwise::GeluErf.grad(x, g)),
            Pointwise::Relu => map(x, g, |x, g| Pointwise::Relu.grad(x, g)),
        };
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }
}

/// The exact GELU, `x·Φ(x)` (candle's `gelu_erf`, torch's `F.gelu`), with its gradient, in
/// one pass each way.
pub fn gelu_erf(x: &Tensor) -> Result<Tensor> {
    if !is_cpu_f32(&[x]) {
        return x.gelu_erf();
    }
    x.contiguous()?.apply_op1(Pointwise::GeluErf)
}

/// torch's `relu`, `max(x, 0)`, with its gradient in one pass (candle's backward takes four:
/// zeros, a comparison, a cast and a product, and passes the gradient at `x = 0`, where torch
/// passes none).
pub fn relu(x: &Tensor) -> Result<Tensor> {
    if !is_cpu_f32(&[x]) {
        return x.relu();
    }
    x.contiguous()?.apply_op1(Pointwise::Relu)
}

// ---------------------------------------------------------------------------------------------
// Linear layers

/// `[.., n]` → `[n]`, the sum of the rows.
pub(crate) struct SumRows;

impl CustomOp1 for SumRows {
    fn name(&self) -> &'static str {
        "fastops-sum-rows"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = f32s(storage, layout, self.name())?;
        let (n, _) = rows_of(layout, self.name())?;
        let partial = blocks(x, n, |_, xs| {
            let mut acc = vec![0f32; n];
            for row in xs.chunks(n) {
                for (a, v) in acc.iter_mut().zip(row) {
                    *a += v;
                }
            }
            acc
        });
        Ok((CpuStorage::F32(sum_in_order(partial, n)), Shape::from(n)))
    }
}

/// A torch `nn.Linear`: `x · wᵀ + b` for `x: [.., in]`, `w: [out, in]`, `b: [out]`, with no
/// reshape in the graph. With a bias it is one op on the CPU in f32 ([`crate::matmul`]'s
/// `Linear`: the product added into rows that start as the bias); without, [`crate::matmul_t`]
/// over all rows.
pub fn linear(x: &Tensor, w: &Tensor, b: Option<&Tensor>) -> Result<Tensor> {
    match x.rank() {
        0 => candle_core::bail!("fastops::linear: a scalar input"),
        1 => linear(&x.unsqueeze(0)?, w, b)?.squeeze(0),
        _ => match b {
            Some(b) => crate::matmul::linear_with_bias(x, w, b),
            None => crate::matmul::matmul_t(x, w),
        },
    }
}

// ---------------------------------------------------------------------------------------------
// Cross-entropy

/// `(logits [.., v], targets [..])` (as `[rows, v]` and `[rows]`) → the mean over the rows of
/// `logsumexp(row) − row[target]`.
struct CrossEntropy;

/// Each row's target; a target outside `0..v` is an error.
fn targets_of(s: &CpuStorage, l: &Layout, rows: usize, v: usize) -> Result<Vec<usize>> {
    let Some((a, b)) = l.contiguous_offsets() else { candle_core::bail!("fastops cross-entropy: the targets must be contiguous") };
    let t: Vec<i64> = match s {
        CpuStorage::U32(t) => t[a..b].iter().map(|&x| x as i64).collect(),
        CpuStorage::I64(t) => t[a..b].to_vec(),
        CpuStorage::U8(t) => t[a..b].iter().map(|&x| x as i64).collect(),
        _ => candle_core::bail!("fastops cross-entropy: integer targets only"),
    };
    if t.len() != rows {
        candle_core::bail!("fastops cross-entropy: {} targets for {rows} rows", t.len())
    }
    t.into_iter()
        .map(|x| match x {
            x if (0..v as i64).contains(&x) => Ok(x as usize),
            x => Err(candle_core::Error::Msg(format!("fastops cross-entropy: target {x} outside 0..{v}"))),
        })
        .collect()
}

fn logsumexp(row: &[f32]) -> f32 {
    let max = max_of(row);
    // The exponentials a block at a time into a buffer (a plain loop, which compiles to vector
    // instructions; with the sum in the same loop it does not), then summed.
    let (mut buf, mut sum) = ([0f32; 256], 0f32);
    for block in row.chunks(256) {
        let e = &mut buf[..block.len()];
        for (e, &v) in e.iter_mut().zip(block) {
            *e = exp(v - max);
        }
        sum += sum_of(e);
    }
    max + sum.ln()
}

impl CustomOp2 for CrossEntropy {
    fn name(&self) -> &'static str {
        "fastops-cross-entropy"
    }

    fn cpu_fwd(&self, s1: &CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = f32s(s1, l1, self.name())?;
        let (v, rows) = rows_of(l1, self.name())?;
        let t = targets_of(s2, l2, rows, v)?;
        let partial = blocks(x, v, |first, xs| xs.chunks(v).enumerate().map(|(r, row)| logsumexp(row) - row[t[first + r]]).sum::<f32>());
        let loss = partial.into_iter().sum::<f32>() / rows as f32;
        Ok((CpuStorage::F32(vec![loss]), Shape::from(())))
    }

    fn bwd(&self, logits: &Tensor, targets: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<(Option<Tensor>, Option<Tensor>)> {
        // The loss is a scalar: its gradient scales the logits' in the same pass.
        let scale = grad.to_dtype(candle_core::DType::F32)?.to_scalar::<f32>()?;
        Ok((Some(logits.apply_op2_no_bwd(targets, &CrossEntropyGrad { scale })?), None))
    }
}

/// `(logits, targets)` → `scale · (softmax(row) − onehot(target)) / rows`.
struct CrossEntropyGrad {
    scale: f32,
}

impl CustomOp2 for CrossEntropyGrad {
    fn name(&self) -> &'static str {
        "fastops-cross-entropy-grad"
    }

    fn cpu_fwd(&self, s1: &CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = f32s(s1, l1, self.name())?;
        let (v, rows) = rows_of(l1, self.name())?;
        let t = targets_of(s2, l2, rows, v)?;
        let inv = self.scale / rows as f32;
        let mut out = vec![0f32; x.len()];
        rows_mut(&mut out, v, |r, d| {
            let c = t[r];
            let x = &x[r * v..][..v];
            let lse = logsumexp(x);
            for (d, &x) in d.iter_mut().zip(x) {
                *d = exp(x - lse) * inv;
            }
            d[c] -= inv;
        });
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }
}

/// The mean cross-entropy of `logits: [.., v]` against class indices `targets: [..]` (u8,
/// u32 or i64; as many as there are rows of logits), as `candle_nn::loss::cross_entropy` and
/// torch's `F.cross_entropy` on the rows, with the logits' gradient, in one pass each way on
/// the CPU in f32 (elsewhere, `candle_nn::loss::cross_entropy` on the rows). A target outside
/// `0..v` is an error. Logits of rank above 2 need no reshape.
pub fn cross_entropy(logits: &Tensor, targets: &Tensor) -> Result<Tensor> {
    if logits.rank() < 2 {
        candle_core::bail!("fastops cross-entropy: logits of shape {:?} (rows of classes expected)", logits.dims())
    }
    if !is_cpu_f32(&[logits]) || logits.elem_count() == 0 {
        return candle_nn::loss::cross_entropy(&logits.flatten_to(logits.rank() - 2)?, &targets.flatten_all()?);
    }
    logits.contiguous()?.apply_op2(&targets.contiguous()?, CrossEntropy)
}

#[cfg(test)]
mod tests {
    /// `exp` against f64's `exp` rounded to f32, over a fine sweep of its whole range: within
    /// 2 ulp where the result is normal, within the smallest normal where it is subnormal or
    /// flushed to 0, and exactly at the special values.
    #[test]
    fn exp_is_within_two_ulp() {
        let mut worst = 0f64;
        let mut x = -110f32;
        while x < 89.0 {
            let (got, want) = (super::exp(x), (x as f64).exp());
            let want32 = want as f32;
            if want32.is_infinite() {
                assert!(got.is_infinite() && got > 0.0, "exp({x}) = {got}, want ∞");
            } else if want32 < f32::MIN_POSITIVE {
                assert!(got.abs() <= f32::MIN_POSITIVE, "exp({x}) = {got}, want {want32}");
            } else {
                let ulp = f32::from_bits(want32.to_bits() + 1) as f64 - want32 as f64;
                worst = worst.max((got as f64 - want).abs() / ulp);
            }
            x += 0.000_37;
        }
        assert!(worst <= 2.0, "worst error {worst} ulp");
        assert_eq!(super::exp(0.0), 1.0);
        assert_eq!(super::exp(f32::NEG_INFINITY), 0.0);
        assert_eq!(super::exp(f32::INFINITY), f32::INFINITY);
        assert!(super::exp(f32::NAN).is_nan());
    }
}
