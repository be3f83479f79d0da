//! Independent implementations for property checks: plain loops in f64 over values read on the
//! host, written from the definitions and sharing nothing with the code under test or with
//! candle's kernels. They give expected values where a fixture has no case (large logits, a
//! variance below eps), so that a check can pin what a near-miss gets wrong.

use crate::check::Fail;
use crate::compare::to_f64;
use candle_core::{DType, Tensor};

/// Rows of the last axis of `t`, in f64.
fn rows(t: &Tensor) -> Result<(Vec<f64>, usize), Fail> {
    let cols = *t.dims().last().ok_or_else(|| Fail::Internal("a row operation on a scalar".into()))?;
    Ok((to_f64(t)?, cols))
}

fn back(v: Vec<f64>, like: &Tensor) -> Result<Tensor, Fail> {
    Tensor::from_vec(v, like.shape(), like.device()).and_then(|t| t.to_dtype(like.dtype())).map_err(|e| Fail::Internal(format!("independent reference: {e}")))
}

/// Softmax over the last axis, each row shifted by its maximum before `exp` (so any finite
/// logits give finite probabilities), in the dtype and on the device of `t`.
pub fn softmax_last(t: &Tensor) -> Result<Tensor, Fail> {
    let (v, cols) = rows(t)?;
    let mut out = Vec::with_capacity(v.len());
    for row in v.chunks(cols.max(1)) {
        let m = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let e: Vec<f64> = row.iter().map(|x| (x - m).exp()).collect();
        let s: f64 = e.iter().sum();
        out.extend(e.iter().map(|x| x / s));
    }
    back(out, t)
}

/// `∂ mean cross-entropy / ∂ logits = (softmax(logits) − one_hot(y)) / B` for `logits: [B, C]`
/// and class indices `y` (read on the host), with the stable softmax of [`softmax_last`].
pub fn xent_grad(logits: &Tensor, y: &Tensor) -> Result<Tensor, Fail> {
    let p = to_f64(&softmax_last(logits)?)?;
    let ys = to_f64(y)?;
    let (b, c) = (ys.len(), *logits.dims().last().unwrap_or(&1));
    if p.len() != b * c {
        return Err(Fail::Internal(format!("xent_grad: {} probabilities for {b} labels of {c} classes", p.len())));
    }
    let g: Vec<f64> = p.iter().enumerate().map(|(i, &pi)| (pi - if ys[i / c] as usize == i % c { 1.0 } else { 0.0 }) / b as f64).collect();
    back(g, logits)
}

/// `aᵀ · g` for `a: [n, d]`, `g: [n, k]` (in f64 on the host), in the dtype and on the device of `g`.
pub fn t_matmul(a: &Tensor, g: &Tensor) -> Result<Tensor, Fail> {
    let (av, gv) = (to_f64(a)?, to_f64(g)?);
    let (n, d) = (a.dims()[0], a.dims()[1]);
    let k = g.dims()[1];
    let mut out = vec![0f64; d * k];
    for r in 0..n {
        for i in 0..d {
            for j in 0..k {
                out[i * k + j] += av[r * d + i] * gv[r * k + j];
            }
        }
    }
    Tensor::from_vec(out, (d, k), g.device()).and_then(|t| t.to_dtype(g.dtype())).map_err(|e| Fail::Internal(format!("t_matmul: {e}")))
}

/// Each row of the last axis minus its mean, divided by `sqrt(var + eps)` with the population
/// variance (`F.layer_norm` without weights), in the dtype and on the device of `t`.
pub fn standardize_last(t: &Tensor, eps: f64) -> Result<Tensor, Fail> {
    let (v, cols) = rows(t)?;
    let mut out = Vec::with_capacity(v.len());
    for row in v.chunks(cols.max(1)) {
        let n = row.len() as f64;
        let mean = row.iter().sum::<f64>() / n;
        let var = row.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
        out.extend(row.iter().map(|x| (x - mean) / (var + eps).sqrt()));
    }
    back(out, t)
}

/// A `[rows, cols]` f32 tensor whose rows are nearly constant: `base + spread · k / cols` for
/// `k = 0..cols`, so that their variance (about `spread² / 12`) is far below a normalisation's
/// eps when `spread` is small. There eps decides the output, and `var − eps` has no square root.
pub fn nearly_constant(rows: usize, cols: usize, base: f32, spread: f32, dev: &candle_core::Device) -> Result<Tensor, Fail> {
    let v: Vec<f32> = (0..rows * cols).map(|i| base + (i / cols) as f32 + spread * (i % cols) as f32 / cols as f32).collect();
    Tensor::from_vec(v, (rows, cols), dev).and_then(|t| t.to_dtype(DType::F32)).map_err(|e| Fail::Internal(format!("nearly_constant: {e}")))
}

/// A `[rows, cols]` f32 tensor whose columns are nearly constant: `col / cols + spread · row /
/// rows`, so that each feature's variance over the batch (about `spread² / 12`) is far below a
/// BatchNorm's eps when `spread` is small, while the values stay below 1 (f32 keeps their
/// differences to a few parts in 1e5).
pub fn nearly_constant_columns(rows: usize, cols: usize, spread: f32, dev: &candle_core::Device) -> Result<Tensor, Fail> {
    let v: Vec<f32> = (0..rows * cols).map(|i| (i % cols) as f32 / cols as f32 + spread * (i / cols) as f32 / rows as f32).collect();
    Tensor::from_vec(v, (rows, cols), dev).map_err(|e| Fail::Internal(format!("nearly_constant_columns: {e}")))
}

/// BatchNorm over the batch axis of `x: [n, d]` (biased variance, `gamma · x̂ + beta`), in the
/// dtype and on the device of `x`.
pub fn batchnorm_rows(x: &Tensor, gamma: &Tensor, beta: &Tensor, eps: f64) -> Result<Tensor, Fail> {
    let (v, d) = rows(x)?;
    let (g, b) = (to_f64(gamma)?, to_f64(beta)?);
    let n = v.len() / d.max(1);
    let mut out = vec![0f64; v.len()];
    for j in 0..d {
        let col: Vec<f64> = (0..n).map(|i| v[i * d + j]).collect();
        let mean = col.iter().sum::<f64>() / n as f64;
        let var = col.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
        for i in 0..n {
            out[i * d + j] = g[j] * (col[i] - mean) / (var + eps).sqrt() + b[j];
        }
    }
    back(out, x)
}

/// The gradients `(dx, dgamma, dbeta)` of `y = gamma · x̂ + beta`, BatchNorm over the batch axis
/// of `x: [n, d]` with the biased variance, given `dy`: written from the chain rule through the
/// mean and the variance (each term summed separately, not the fused formula).
pub fn batchnorm_rows_backward(x: &Tensor, gamma: &Tensor, dy: &Tensor, eps: f64) -> Result<(Tensor, Tensor, Tensor), Fail> {
    let (v, d) = rows(x)?;
    let (g, dyv) = (to_f64(gamma)?, to_f64(dy)?);
    let n = v.len() / d.max(1);
    let nf = n as f64;
    let (mut dx, mut dg, mut db) = (vec![0f64; v.len()], vec![0f64; d], vec![0f64; d]);
    for j in 0..d {
        let col: Vec<f64> = (0..n).map(|i| v[i * d + j]).collect();
        let mean = col.iter().sum::<f64>() / nf;
        let var = col.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / nf;
        let s = (var + eps).sqrt();
        // y_i = g · (x_i − μ) / s + b. Through x̂: dx̂_i = g · dy_i.
        let dxhat: Vec<f64> = (0..n).map(|i| g[j] * dyv[i * d + j]).collect();
        // d/dvar of Σ dx̂_i (x_i − μ) (var + eps)^(−1/2)
        let dvar: f64 = (0..n).map(|i| dxhat[i] * (col[i] - mean)).sum::<f64>() * -0.5 * (var + eps).powf(-1.5);
        // d/dμ: directly through (x_i − μ), and through var (whose derivative in μ is
        // −2/n Σ (x_i − μ), zero up to rounding but kept).
        let dmean: f64 = (0..n).map(|i| -dxhat[i] / s).sum::<f64>() + dvar * (0..n).map(|i| -2.0 * (col[i] - mean)).sum::<f64>() / nf;
        for i in 0..n {
            dx[i * d + j] = dxhat[i] / s + dvar * 2.0 * (col[i] - mean) / nf + dmean / nf;
            dg[j] += dyv[i * d + j] * (col[i] - mean) / s;
            db[j] += dyv[i * d + j];
        }
    }
    Ok((back(dx, x)?, back(dg, gamma)?, back(db, gamma)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn softmax_of_huge_logits_is_finite_and_matches_the_definition() {
        let t = Tensor::new(&[[1000f32, 999.0, 0.0], [0.0, 0.0, 0.0]], &Device::Cpu).unwrap();
        let p = to_f64(&softmax_last(&t).unwrap()).unwrap();
        let e = (-1f64).exp();
        approx::assert_relative_eq!(p[0], 1.0 / (1.0 + e), max_relative = 1e-6);
        approx::assert_relative_eq!(p[1], e / (1.0 + e), max_relative = 1e-6);
        approx::assert_relative_eq!(p[3], 1.0 / 3.0, max_relative = 1e-6);
    }

    #[test]
    fn standardizing_a_nearly_constant_row_is_decided_by_eps() {
        let t = nearly_constant(1, 4, 1.0, 1e-3, &Device::Cpu).unwrap();
        let y = to_f64(&standardize_last(&t, 1e-5).unwrap()).unwrap();
        // var ≈ 7.8e-8, far below eps: the outputs are about (x − mean) / √eps.
        // (the inputs are f32 values near 1, so their deviations carry ~1e-4 relative rounding)
        approx::assert_relative_eq!(y[3], 3.75e-4 / (1e-5f64 + 7.8125e-8).sqrt(), max_relative = 1e-3);
        assert!(y.iter().sum::<f64>().abs() < 1e-9);
    }

    /// The BatchNorm backward agrees with central finite differences of the forward (f64).
    #[test]
    fn batchnorm_backward_is_the_derivative_of_the_forward() {
        let dev = Device::Cpu;
        let x = Tensor::new(&[[0.3f64, -1.0], [1.2, 0.5], [-0.7, 0.25], [0.1, 2.0]], &dev).unwrap();
        let (gamma, beta) = (Tensor::new(&[1.5f64, -0.5], &dev).unwrap(), Tensor::new(&[0.1f64, 0.2], &dev).unwrap());
        let dy = Tensor::new(&[[0.2f64, -0.1], [0.4, 0.3], [-0.5, 0.7], [0.05, -0.2]], &dev).unwrap();
        let eps = 1e-3;
        let loss = |x: &Tensor, g: &Tensor, b: &Tensor| -> f64 {
            let y = to_f64(&batchnorm_rows(x, g, b, eps).unwrap()).unwrap();
            y.iter().zip(to_f64(&dy).unwrap()).map(|(a, b)| a * b).sum()
        };
        let (dx, dg, db) = batchnorm_rows_backward(&x, &gamma, &dy, eps).unwrap();
        let numeric = |t: &Tensor, k: usize, f: &dyn Fn(&Tensor) -> f64| {
            let mut v = to_f64(t).unwrap();
            let h = 1e-6;
            v[k] += h;
            let up = f(&Tensor::from_vec(v.clone(), t.shape(), &dev).unwrap());
            v[k] -= 2.0 * h;
            let down = f(&Tensor::from_vec(v, t.shape(), &dev).unwrap());
            (up - down) / (2.0 * h)
        };
        for (k, want) in to_f64(&dx).unwrap().into_iter().enumerate() {
            approx::assert_abs_diff_eq!(numeric(&x, k, &|x| loss(x, &gamma, &beta)), want, epsilon = 1e-6);
        }
        for (k, want) in to_f64(&dg).unwrap().into_iter().enumerate() {
            approx::assert_abs_diff_eq!(numeric(&gamma, k, &|g| loss(&x, g, &beta)), want, epsilon = 1e-6);
        }
        for (k, want) in to_f64(&db).unwrap().into_iter().enumerate() {
            approx::assert_abs_diff_eq!(numeric(&beta, k, &|b| loss(&x, &gamma, b)), want, epsilon = 1e-6);
        }
    }
}
