//! Comparison helpers used by every check.
//!
//! Order of business: device, dtype and shape first (the cheapest things to get wrong and the
//! most confusing when reported as numbers), then values: NaN/Inf by position, the worst element
//! with its index and both values, and a diagnosis when the output matches a recognisable wrong
//! answer (the transpose, a constant factor, a constant offset, the right values in another
//! shape, or any candidate the check itself supplies).

use crate::check::{CheckResult, Fail};
use candle_core::{DType, Tensor};

/// `|got - want| <= abs + rel * |want|`, element-wise (numpy's `allclose` rule).
#[derive(Clone, Copy, Debug)]
pub struct Tol {
    pub abs: f64,
    pub rel: f64,
}

impl Tol {
    /// Default for f32 results of a few operations on the CPU: accumulation order differs from
    /// PyTorch's, so allow a few ulps of f32 (eps ≈ 1.2e-7) on values of order one.
    pub const F32: Tol = Tol { abs: 1e-5, rel: 1e-5 };
    /// Bit-for-bit equality, for integer results and for outputs that are copies of inputs.
    pub const EXACT: Tol = Tol { abs: 0.0, rel: 0.0 };
    pub fn new(abs: f64, rel: f64) -> Tol {
        Tol { abs, rel }
    }
}

/// A plausible wrong answer a check can name, so that the report says "this is the transpose
/// of the expected value" instead of only printing numbers.
pub struct Candidate<'a> {
    pub description: &'a str,
    pub tensor: Tensor,
}

/// Compare `got` (the learner's result) against `want` (the fixture) within `tol`.
pub fn close(label: &str, got: &Tensor, want: &Tensor, tol: Tol) -> CheckResult {
    close_with(label, got, want, tol, &[])
}

/// Exact equality (integers, indices, masks, copies).
pub fn exact(label: &str, got: &Tensor, want: &Tensor) -> CheckResult {
    close(label, got, want, Tol::EXACT)
}

/// Like [`close`], and when the values are wrong, tries each candidate: if the learner's output
/// matches one, the diagnosis names it.
pub fn close_with(label: &str, got: &Tensor, want: &Tensor, tol: Tol, candidates: &[Candidate]) -> CheckResult {
    if !got.device().same_device(want.device()) {
        return Err(Fail::Mismatch(format!(
            "{label}: result is on {:?}, expected {:?} (create tensors on the device you were given)",
            got.device().location(),
            want.device().location()
        )));
    }
    if got.dtype() != want.dtype() {
        return Err(Fail::Mismatch(format!("{label}: dtype is {:?}, expected {:?}{}", got.dtype(), want.dtype(), dtype_hint(got.dtype(), want.dtype()))));
    }
    let g = to_f64(got)?;
    crate::parity::record(label, &g, tol);
    let w = to_f64(want)?;
    if got.dims() != want.dims() {
        return Err(Fail::Mismatch(format!(
            "{label}: shape is {:?}, expected {:?}{}",
            got.dims(),
            want.dims(),
            shape_hint(got.dims(), &g, want.dims(), &w, tol)
        )));
    }
    let dims = want.dims();
    let mut bad = 0usize;
    let mut nonfinite = Vec::new();
    let mut worst: Option<(usize, f64)> = None;
    // Relative error only where it means something: over expected values larger than the
    // absolute tolerance (err / 0 printed "max rel err 4.494e307" next to expected zeros).
    let (mut max_abs, mut max_rel) = (0f64, None::<f64>);
    for (i, (&a, &b)) in g.iter().zip(w.iter()).enumerate() {
        let ok = elem_ok(a, b, tol);
        if !a.is_finite() && b.is_finite() {
            nonfinite.push(i);
        }
        if ok {
            continue;
        }
        bad += 1;
        let err = (a - b).abs();
        let err = if err.is_nan() { f64::INFINITY } else { err };
        max_abs = max_abs.max(err);
        if b.is_finite() && b.abs() > tol.abs.max(1e-12) {
            max_rel = Some(max_rel.unwrap_or(0.0).max(err / b.abs()));
        }
        let excess = err - tol.abs - tol.rel * b.abs();
        if worst.is_none_or(|(_, e)| excess > e) {
            worst = Some((i, excess));
        }
    }
    let Some((wi, _)) = worst else { return Ok(()) };
    let mut msg = String::new();
    if !nonfinite.is_empty() {
        let shown: Vec<String> = nonfinite.iter().take(3).map(|&i| format!("{} at {}", g[i], fmt_index(i, dims))).collect();
        msg.push_str(&format!(
            "{label}: {} non-finite value(s) where the expected values are finite: {}{}\n",
            nonfinite.len(),
            shown.join(", "),
            if nonfinite.len() > 3 { ", …" } else { "" }
        ));
    }
    msg.push_str(&format!(
        "{label}: {bad} of {} element(s) differ; worst at {}: got {}, expected {} (max abs err {:.3e}{}; tolerance abs {:.0e} + rel {:.0e})",
        w.len(),
        fmt_index(wi, dims),
        fmt_val(g[wi]),
        fmt_val(w[wi]),
        max_abs,
        max_rel.map(|r| format!(", max rel err {r:.3e}")).unwrap_or_default(),
        tol.abs,
        tol.rel
    ));
    if let Some(d) = diagnose(label, got, &g, want, &w, tol, candidates) {
        msg.push_str("\n  diagnosis: ");
        msg.push_str(&d);
    }
    Err(Fail::Mismatch(msg))
}

/// Assert a scalar property (used by property checks: e.g. cumsum's last element equals sum).
pub fn scalar_close(label: &str, got: f64, want: f64, tol: Tol) -> CheckResult {
    crate::parity::record(label, &[got], tol);
    if elem_ok(got, want, tol) {
        Ok(())
    } else {
        Err(Fail::Mismatch(format!("{label}: got {}, expected {} (abs err {:.3e})", fmt_val(got), fmt_val(want), (got - want).abs())))
    }
}

fn elem_ok(a: f64, b: f64, tol: Tol) -> bool {
    if a.is_nan() || b.is_nan() {
        return a.is_nan() && b.is_nan();
    }
    if a.is_infinite() || b.is_infinite() {
        return a == b;
    }
    (a - b).abs() <= tol.abs + tol.rel * b.abs()
}

fn all_ok(g: &[f64], w: &[f64], tol: Tol) -> bool {
    g.len() == w.len() && g.iter().zip(w).all(|(&a, &b)| elem_ok(a, b, tol))
}

/// Every value of `t` in row-major order, as f64. The tensor is first copied to the host as it
/// is laid out (any strides, broadcast or sliced), and only there made contiguous and converted:
/// the device is asked for nothing but a copy of its buffer, so no CUDA kernel is needed for
/// the dtype or the layout, and an empty tensor never touches the device at all.
pub fn to_f64(t: &Tensor) -> Result<Vec<f64>, Fail> {
    if t.elem_count() == 0 {
        return Ok(Vec::new());
    }
    let flat = t.to_device(&candle_core::Device::Cpu).and_then(|t| t.flatten_all()).and_then(|t| t.to_dtype(DType::F64)).and_then(|t| t.to_vec1::<f64>());
    flat.map_err(|e| Fail::Mismatch(format!("could not read the tensor's values: {e}")))
}

fn fmt_val(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        format!("{v:.6}")
    }
}

pub fn fmt_index(mut flat: usize, dims: &[usize]) -> String {
    let mut idx = vec![0; dims.len()];
    for (k, &d) in dims.iter().enumerate().rev() {
        if d > 0 {
            idx[k] = flat % d;
            flat /= d;
        }
    }
    format!("{idx:?}")
}

fn dtype_hint(got: DType, want: DType) -> &'static str {
    match (got.is_float(), want.is_float()) {
        (true, true) => " (convert with .to_dtype(), or build your tensors with the dtype of the inputs)",
        (false, true) => " (an integer result where floats are expected: .to_dtype(DType::F32)?)",
        (true, false) => " (a float result where integers are expected: indices and counts are integers)",
        (false, false) => " (pick the integer dtype the doc comment asks for)",
    }
}

fn shape_hint(gd: &[usize], g: &[f64], wd: &[usize], w: &[f64], tol: Tol) -> String {
    if g.len() == w.len() {
        if all_ok(g, w, tol) {
            return "; the values are right in row-major order: reshape the result".into();
        }
        if gd.len() == 2 && wd.len() == 2 && gd[0] == wd[1] && gd[1] == wd[0] && all_ok(&transpose(g, gd[0], gd[1]), w, tol) {
            return "; your result is the transpose of the expected one".into();
        }
    }
    let squeeze = |d: &[usize]| d.iter().copied().filter(|&x| x != 1).collect::<Vec<_>>();
    if squeeze(gd) == squeeze(wd) {
        return "; they differ only in dimensions of size 1 (squeeze / unsqueeze, or keepdim)".into();
    }
    String::new()
}

fn transpose(v: &[f64], rows: usize, cols: usize) -> Vec<f64> {
    let mut out = vec![0.0; v.len()];
    for r in 0..rows {
        for c in 0..cols {
            out[c * rows + r] = v[r * cols + c];
        }
    }
    out
}

/// Whether a comparison's label names a gradient (`d loss / d w`, `gradient of …`, `… grad …`).
fn is_gradient(label: &str) -> bool {
    let l = label.to_lowercase();
    l.starts_with("d ") || l.starts_with("∂") || l.contains("gradient") || l.contains("grad ") || l.contains("grad.") || l.contains(" / d")
}

/// Sums of `v` (shaped `dims`) over axis `axis`, one per position of the other axes.
fn sums_over(v: &[f64], dims: &[usize], axis: usize) -> Vec<f64> {
    let n = dims[axis];
    let inner: usize = dims[axis + 1..].iter().product();
    let outer: usize = dims[..axis].iter().product();
    let mut out = vec![0.0; outer * inner];
    for o in 0..outer {
        for k in 0..n {
            for i in 0..inner {
                out[o * inner + i] += v[(o * n + k) * inner + i];
            }
        }
    }
    out
}

fn diagnose(label: &str, got: &Tensor, g: &[f64], want: &Tensor, w: &[f64], tol: Tol, candidates: &[Candidate]) -> Option<String> {
    for c in candidates {
        if c.tensor.dims() == got.dims() {
            if let Ok(cv) = to_f64(&c.tensor) {
                if all_ok(g, &cv, tol) {
                    return Some(format!("your output equals {}", c.description));
                }
            }
        }
    }
    let dims = want.dims();
    // Exactly 0 wherever it differs, where the expected value is not: nothing arrived there.
    let off: Vec<usize> = (0..g.len()).filter(|&i| !elem_ok(g[i], w[i], tol)).collect();
    if !off.is_empty() && off.iter().all(|&i| g[i] == 0.0 && w[i] != 0.0) {
        let n = off.len();
        return Some(if is_gradient(label) {
            format!(
                "{n} element(s) of your gradient are exactly 0 where torch's are not: no gradient reached {}: a fused op without a backward pass on the way (e.g. candle_nn::ops::softmax_last_dim, candle_nn::LayerNorm), a detach, or values rebuilt from a Vec?",
                if n == g.len() { "it at all" } else { "those elements" }
            )
        } else {
            format!("{n} element(s) are exactly 0 where the expected values are not: a mask, a clamp or a relu applied where it should not be, or part of the result never written?")
        });
    }
    let loose = Tol { abs: tol.abs.max(1e-6), rel: tol.rel.max(1e-4) };
    let r = dims.len();
    if r >= 2 && dims[r - 1] == dims[r - 2] && dims[r - 1] > 1 {
        let n = dims[r - 1];
        let mut t = Vec::with_capacity(g.len());
        for chunk in g.chunks(n * n) {
            t.extend(transpose(chunk, n, n));
        }
        if all_ok(&t, w, loose) {
            return Some("your output is the transpose of the expected one (last two dimensions swapped)".into());
        }
    }
    // A softmax over the wrong axis: the expected rows sum to 1 over the last axis, yours over
    // another one.
    if r >= 2 && g.iter().all(|x| x.is_finite()) && w.iter().all(|x| *x >= -1e-6) {
        let near_one = |v: &[f64]| v.iter().all(|s| (s - 1.0).abs() < 1e-3);
        if near_one(&sums_over(w, dims, r - 1)) && !near_one(&sums_over(g, dims, r - 1)) {
            if let Some(axis) = (0..r - 1).find(|&a| dims[a] > 1 && near_one(&sums_over(g, dims, a))) {
                return Some(format!(
                    "the expected values sum to 1 over the last dimension (a softmax over it, as over the keys of attention), yours over dimension {axis}: a softmax over the wrong axis?"
                ));
            }
            return Some("the expected values sum to 1 over the last dimension (a softmax over it), yours do not: a softmax over the wrong axis, or a mask added after it?".into());
        }
    }
    // Constant factor: got = c * want, fitted by least squares.
    let ww: f64 = w.iter().map(|x| x * x).sum();
    if ww > 0.0 && g.iter().all(|x| x.is_finite()) {
        let c = g.iter().zip(w).map(|(a, b)| a * b).sum::<f64>() / ww;
        if c.abs() > 1e-12 && (c - 1.0).abs() > 1e-3 {
            let scaled: Vec<f64> = w.iter().map(|x| c * x).collect();
            if all_ok(g, &scaled, loose) {
                let what = if (c + 1.0).abs() < 1e-3 {
                    "your output is the negative of the expected one (a sign error)".to_string()
                } else {
                    format!("your output is the expected one times {c:.6} (a missing or extra scale factor; 1/{:.4} = {:.6})", c, 1.0 / c)
                };
                return Some(what);
            }
        }
        // Constant offset: got = want + k.
        let k = g.iter().zip(w).map(|(a, b)| a - b).sum::<f64>() / g.len() as f64;
        if k.abs() > tol.abs {
            let shifted: Vec<f64> = w.iter().map(|x| x + k).collect();
            if all_ok(g, &shifted, loose) {
                return Some(format!("your output is the expected one plus a constant {k:.6} (an off-by-one or a missing offset?)"));
            }
        }
    }
    // Shifted by one along some axis (a classic off-by-one).
    for (axis, &n) in dims.iter().enumerate() {
        if n < 2 {
            continue;
        }
        for shift in [1i32, -1] {
            if let Ok(rolled) = want.roll(shift, axis) {
                if let Ok(rv) = to_f64(&rolled) {
                    if all_ok(g, &rv, loose) {
                        return Some(format!("your output is the expected one shifted by {shift} along dimension {axis} (off by one)"));
                    }
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    fn t(v: &[f32], shape: &[usize]) -> Tensor {
        Tensor::from_slice(v, shape, &Device::Cpu).unwrap()
    }
    /// Half-precision results read back within their own rounding: half an ulp is 2⁻¹¹ relative
    /// for f16 and 2⁻⁸ for bf16.
    #[test]
    fn half_precision_reads_back_within_its_rounding() {
        let want = [0.1f64, 1.0 / 3.0, 1000.5, -2.5e-3];
        let x = Tensor::new(&want.map(|v| v as f32), &Device::Cpu).unwrap();
        for (dt, rel) in [(candle_core::DType::F16, 2f64.powi(-11)), (candle_core::DType::BF16, 2f64.powi(-8))] {
            let got = to_f64(&x.to_dtype(dt).unwrap()).unwrap();
            for (g, w) in got.iter().zip(want) {
                approx::assert_relative_eq!(*g, w, max_relative = rel);
            }
        }
    }

    /// What the GPU run broke (week1 autograd on an H100): results that are views, broadcasts or
    /// empty must read back and compare as their contiguous equivalents do.
    #[test]
    fn strided_broadcast_and_empty_results_read_back() {
        let a = t(&[1., 2., 3., 4., 5., 6.], &[2, 3]);
        assert_eq!(to_f64(&a.t().unwrap()).unwrap(), vec![1., 4., 2., 5., 3., 6.]);
        let row = t(&[7., 8., 9.], &[3]);
        let b = row.broadcast_as((2, 3)).unwrap();
        assert_eq!(b.stride(), &[0, 1]);
        assert_eq!(to_f64(&b).unwrap(), vec![7., 8., 9., 7., 8., 9.]);
        let wide = t(&(0..30).map(|x| x as f32).collect::<Vec<_>>(), &[2, 3, 5]);
        let step = wide.narrow(1, 1, 1).unwrap().squeeze(1).unwrap();
        assert!(!step.is_contiguous());
        assert_eq!(to_f64(&step).unwrap(), vec![5., 6., 7., 8., 9., 20., 21., 22., 23., 24.]);
        let empty = Tensor::zeros((0, 3), DType::F32, &Device::Cpu).unwrap();
        assert!(to_f64(&empty).unwrap().is_empty());
        close("empty", &empty, &Tensor::zeros((0, 3), DType::F32, &Device::Cpu).unwrap(), Tol::EXACT).unwrap();
        close("broadcast", &b, &t(&[7., 8., 9., 7., 8., 9.], &[2, 3]), Tol::EXACT).unwrap();
        close("slice", &step, &step.contiguous().unwrap(), Tol::EXACT).unwrap();
        let i32s = Tensor::new(&[3i32, -1, 7], &Device::Cpu).unwrap();
        assert_eq!(to_f64(&i32s).unwrap(), vec![3., -1., 7.]);
    }

    #[test]
    fn zeros_where_torch_has_a_gradient_are_named() {
        let m = msg(close("d loss / d c_attn.bias", &t(&[0., 0., 3.], &[3]), &t(&[1., 2., 3.], &[3]), Tol::F32));
        assert!(m.contains("no gradient reached those elements") && m.contains("softmax_last_dim"), "{m}");
        let m = msg(close("y", &t(&[0., 0., 3.], &[3]), &t(&[1., 2., 3.], &[3]), Tol::F32));
        assert!(m.contains("exactly 0 where the expected values are not") && !m.contains("gradient"), "{m}");
    }

    #[test]
    fn a_softmax_over_the_wrong_axis_is_named() {
        // Expected: rows of a 2×3 softmax; got: columns normalised instead.
        let want = t(&[0.2, 0.3, 0.5, 0.1, 0.1, 0.8], &[2, 3]);
        let got = t(&[0.6, 0.75, 0.3846154, 0.4, 0.25, 0.6153846], &[2, 3]);
        let m = msg(close("pattern", &got, &want, Tol::F32));
        assert!(m.contains("yours over dimension 0"), "{m}");
    }

    #[test]
    fn relative_error_is_reported_only_against_non_zero_expectations() {
        let m = msg(close("y", &t(&[1., 0.5], &[2]), &t(&[0., 0.], &[2]), Tol::F32));
        assert!(m.contains("max abs err 1.000e0") && !m.contains("rel err"), "{m}");
        let m = msg(close("y", &t(&[3., 0.5], &[2]), &t(&[2., 0.], &[2]), Tol::F32));
        assert!(m.contains("max rel err 5.000e-1"), "{m}");
    }

    fn msg(r: CheckResult) -> String {
        match r {
            Err(Fail::Mismatch(m)) => m,
            other => panic!("expected a mismatch, got {other:?}"),
        }
    }

    #[test]
    fn equal_passes_and_within_tolerance_passes() {
        let a = t(&[1.0, 2.0, 3.0], &[3]);
        assert!(close("x", &a, &a, Tol::F32).is_ok());
        let b = t(&[1.0, 2.0, 3.000001], &[3]);
        assert!(close("x", &b, &a, Tol::F32).is_ok());
    }

    #[test]
    fn dtype_then_shape_are_reported_before_values() {
        let a = t(&[1.0, 2.0], &[2]);
        let b = a.to_dtype(DType::F64).unwrap();
        assert!(msg(close("x", &b, &a, Tol::F32)).contains("dtype is F64, expected F32"));
        let c = t(&[1.0, 2.0], &[1, 2]);
        let m = msg(close("x", &c, &a, Tol::F32));
        assert!(m.contains("shape is [1, 2], expected [2]") && m.contains("reshape"), "{m}");
    }

    #[test]
    fn worst_index_and_values_are_named() {
        let want = t(&[1.0, 2.0, 3.0, 4.0], &[2, 2]);
        let got = t(&[1.0, 2.0, 3.0, 9.0], &[2, 2]);
        let m = msg(close("x", &got, &want, Tol::F32));
        assert!(m.contains("worst at [1, 1]: got 9, expected 4"), "{m}");
        assert!(m.contains("1 of 4"), "{m}");
    }

    #[test]
    fn nan_is_reported_by_position() {
        let want = t(&[1.0, 2.0, 3.0], &[3]);
        let got = t(&[1.0, f32::NAN, 3.0], &[3]);
        let m = msg(close("x", &got, &want, Tol::F32));
        assert!(m.contains("NaN at [1]"), "{m}");
    }

    #[test]
    fn recognises_transpose_factor_offset_and_shift() {
        let want = t(&[1.0, 2.0, 3.0, 5.0], &[2, 2]);
        let tr = t(&[1.0, 3.0, 2.0, 5.0], &[2, 2]);
        assert!(msg(close("x", &tr, &want, Tol::F32)).contains("transpose"));
        let scaled = (&want * 0.125).unwrap();
        assert!(msg(close("x", &scaled, &want, Tol::F32)).contains("times 0.125"));
        let neg = want.neg().unwrap();
        assert!(msg(close("x", &neg, &want, Tol::F32)).contains("sign error"));
        let off = (&want + 1.0).unwrap();
        assert!(msg(close("x", &off, &want, Tol::F32)).contains("plus a constant 1"));
        let v = t(&[1.0, 2.0, 4.0, 8.0, 16.0], &[5]);
        let rolled = v.roll(1, 0).unwrap();
        assert!(msg(close("x", &rolled, &v, Tol::F32)).contains("shifted by 1"));
    }

    #[test]
    fn check_supplied_candidates_are_named() {
        let want = t(&[1.0, 2.0], &[2]);
        let got = t(&[7.0, 0.5], &[2]);
        let cand = Candidate { description: "softmax over the wrong axis", tensor: got.clone() };
        let m = msg(close_with("x", &got, &want, Tol::F32, &[cand]));
        assert!(m.contains("softmax over the wrong axis"), "{m}");
    }

    #[test]
    fn exact_rejects_any_difference() {
        let a = Tensor::new(&[1i64, 2, 3], &Device::Cpu).unwrap();
        let b = Tensor::new(&[1i64, 2, 4], &Device::Cpu).unwrap();
        assert!(exact("x", &a, &a).is_ok());
        assert!(exact("x", &b, &a).is_err());
    }
}
