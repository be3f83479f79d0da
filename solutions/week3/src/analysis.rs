//! # Knowing whether an experiment worked
//!
//! A change to a recipe "lowered the validation loss from 1.52 to 1.50". Did it? Training is
//! noisy: the same recipe with another seed moves the loss too. The honest comparison runs
//! both recipes over the same seeds and asks whether the paired differences are further from
//! zero than their own spread allows: a paired t-test, and a bootstrap confidence interval,
//! which makes no assumption about the shape of the noise. Then two tools for looking at a
//! model rather than at a number: its worst validation examples, and a scaling law fitted to
//! runs of several sizes, `L(N) = a · N^(−α) + c`, whose `c` is the loss no amount of
//! parameters removes at this data and recipe.
// STUB: #![allow(unused_variables, unused_imports, unused_mut, dead_code)] // remove once you have solved a few

use candle_core::{DType, Result, Tensor, D};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// A paired t-test's result.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TTest {
    /// `mean(a − b)`.
    pub mean_diff: f64,
    /// The t statistic.
    pub t: f64,
    /// Degrees of freedom, `n − 1`.
    pub df: f64,
    /// Two-sided p-value.
    pub p: f64,
}

/// ## paired_t_test
/// The paired t-test of two runs over the same `n` seeds (`scipy.stats.ttest_rel(a, b)`): with
/// the differences `d = a − b`, `t = mean(d) / (s / √n)` where `s` is their sample standard
/// deviation (divide by `n − 1`), `df = n − 1`, and the two-sided p-value
/// `P(|T| ≥ |t|) = two_sided_p(t, df)` (given below). `n ≥ 2`.
// HINT: Work with the paired differences only; their standard deviation is the sample one (divide by n − 1), and the p-value function is already given.
// HINT: d = a − b elementwise; mean = Σd / n; s = sqrt(Σ (d − mean)² / (n − 1)); t = mean / (s / √n); df = n − 1; p = two_sided_p(t, df); return TTest { mean_diff: mean, t, df, p }.
// HINT: let s = (d.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1.0)).sqrt(); let t = mean / (s / n.sqrt());
pub fn paired_t_test(a: &[f64], b: &[f64]) -> TTest {
    // BEGIN SOLUTION
    let n = a.len() as f64;
    let d: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
    let mean = d.iter().sum::<f64>() / n;
    let s = (d.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1.0)).sqrt();
    let t = mean / (s / n.sqrt());
    TTest { mean_diff: mean, t, df: n - 1.0, p: two_sided_p(t, n - 1.0) }
    // END SOLUTION
}

/// ## bootstrap_ci
/// A percentile bootstrap confidence interval for `mean(a − b)` over paired runs: draw
/// `resamples` resamples of the `n` differences with replacement (resample `r` draws `n`
/// indices, each `rng.random_range(0..n)`, in order), take each resample's mean, and return the
/// `(1 − level)/2` and `(1 + level)/2` quantiles of those means, each computed as numpy's
/// default `np.quantile` does: sort the `m` values, position `q · (m − 1)`, linear
/// interpolation between the two neighbours.
// HINT: Resample the paired differences (not a and b separately), with the random indices drawn in exactly the stated order; then take numpy's linearly interpolated quantiles of the sorted resample means.
// HINT: d = a − b; for each of the resamples, draw n indices with rng.random_range(0..n) and average d at them; sort the means (total_cmp); the interval is quantile((1 − level)/2) and quantile((1 + level)/2), where quantile q sits at position q · (m − 1) between two neighbours of the sorted means.
// HINT: let pos = q * (m - 1) as f64; let lo = pos.floor() as usize; let hi = (lo + 1).min(m - 1); means[lo] + pos.fract() * (means[hi] - means[lo])
pub fn bootstrap_ci(a: &[f64], b: &[f64], resamples: usize, level: f64, rng: &mut ChaCha8Rng) -> (f64, f64) {
    // BEGIN SOLUTION
    let d: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
    let n = d.len();
    let mut means: Vec<f64> = (0..resamples).map(|_| (0..n).map(|_| d[rng.random_range(0..n)]).sum::<f64>() / n as f64).collect();
    means.sort_by(|x, y| x.total_cmp(y));
    let quantile = |q: f64| {
        let pos = q * (means.len() - 1) as f64;
        let lo = pos.floor() as usize;
        let hi = (lo + 1).min(means.len() - 1);
        means[lo] + pos.fract() * (means[hi] - means[lo])
    };
    (quantile((1.0 - level) / 2.0), quantile((1.0 + level) / 2.0))
    // END SOLUTION
}

/// A fitted scaling law `L(N) = a · N^(−alpha) + c`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PowerLaw {
    pub a: f64,
    pub alpha: f64,
    pub c: f64,
}

impl PowerLaw {
    pub fn predict(&self, n: f64) -> f64 {
        self.a * n.powf(-self.alpha) + self.c
    }
}

/// ## fit_power_law
/// The least-squares fit of `L(N) = a · N^(−α) + c` to points `(n[i], loss[i])` (what
/// `scipy.optimize.curve_fit` finds from a good start), with `α` in `(0, 3]`. The model is
/// linear in `a` and `c` once `α` is fixed, so the fit is a one-dimensional search: for a
/// given `α`, regress `loss` on `x = N^(−α)` (ordinary least squares with an intercept gives
/// `a` and `c` in closed form) and keep its sum of squared residuals; minimise that over `α`
/// (a grid, then refine around the best grid point, e.g. by golden-section search, to a
/// relative precision of 1e-10). At least 3 points with distinct `n`.
// HINT: Once the exponent is fixed the rest is an ordinary straight-line fit with a closed form, so search over the exponent alone, scoring each candidate by the squared error of its best line.
// HINT: For fixed α: x_i = n_i^(−α); a = Σ(x − x̄)(L − L̄) / Σ(x − x̄)², c = L̄ − a·x̄; SSE = Σ (a x_i + c − L_i)². Grid α over 0.001..=3 in steps of 0.001 and keep the best; then golden-section search on [best − 0.001, best + 0.001], clamped to stay inside (0, 3], until the bracket is below 1e-10 relative; return the fit at its middle.
// HINT: let g = (5f64.sqrt() - 1.0) / 2.0; while hi - lo > 1e-10 * hi { let (p, q) = (hi - g * (hi - lo), lo + g * (hi - lo)); if sse(p) < sse(q) { hi = q } else { lo = p } } fit((lo + hi) / 2.0)
pub fn fit_power_law(n: &[f64], loss: &[f64]) -> PowerLaw {
    // BEGIN SOLUTION
    let fit = |alpha: f64| -> (f64, PowerLaw) {
        let x: Vec<f64> = n.iter().map(|v| v.powf(-alpha)).collect();
        let m = x.len() as f64;
        let (mx, ml) = (x.iter().sum::<f64>() / m, loss.iter().sum::<f64>() / m);
        let cov: f64 = x.iter().zip(loss).map(|(xi, li)| (xi - mx) * (li - ml)).sum();
        let var: f64 = x.iter().map(|xi| (xi - mx) * (xi - mx)).sum();
        let a = cov / var;
        let c = ml - a * mx;
        let sse = x.iter().zip(loss).map(|(xi, li)| (a * xi + c - li).powi(2)).sum();
        (sse, PowerLaw { a, alpha, c })
    };
    let best = (1..=3000).map(|k| k as f64 * 1e-3).min_by(|p, q| fit(*p).0.total_cmp(&fit(*q).0)).unwrap_or(1.0);
    let (mut lo, mut hi) = ((best - 1e-3).max(1e-6), (best + 1e-3).min(3.0));
    let g = (5f64.sqrt() - 1.0) / 2.0;
    while hi - lo > 1e-10 * hi {
        let (p, q) = (hi - g * (hi - lo), lo + g * (hi - lo));
        if fit(p).0 < fit(q).0 {
            hi = q;
        } else {
            lo = p;
        }
    }
    fit((lo + hi) / 2.0).1
    // END SOLUTION
}

// HINT(scaling): Nothing new to write: five model widths run as jobs through your queue, your worker and your train loop, and your power-law fit is applied to their validation losses.
// HINT(scaling): The jobs' overrides are dotted keys (model.n_embd=16), so parse_config must reach into the [model] table; work must run all five jobs and return once none is pending or running; your fit's squared error must be no worse than a grid search over α in steps of 0.001 inside (0, 3]: if it fails here but fit_power_law passed against scipy, check that α stays in (0, 3] and that the refinement starts from the best grid point.
// HINT(scaling): let (mut lo, mut hi) = ((best - 1e-3).max(1e-6), (best + 1e-3).min(3.0)); golden-section on sse(α) inside that bracket, then fit((lo + hi) / 2.0): the result can only improve on the best grid point.
/// ## worst_examples
/// The validation examples a model gets most wrong. `logits` `[b, T, V]` and `targets`
/// `[b, T]` (u32) are `b` sequences; an example's loss is its mean cross-entropy over its `T`
/// positions (`F.cross_entropy(..., reduction="none").mean(1)` in torch). Return the `k`
/// examples with the highest loss as `(index, loss)`, highest first; equal losses keep the
/// lower index first.
// HINT: An example's loss is the mean over its positions of the negative log-probability of its target, computed with a log-softmax (not the log of a softmax); rank with a stable sort so that equal losses keep the lower index first.
// HINT: log_softmax over the last dimension of the f32 logits; gather the targets (unsqueezed to [b, T, 1]) along dimension 2; squeeze, negate and mean over dimension 1 → [b]; to_vec1, enumerate into (index, loss) pairs, sort by loss descending with the stable sort_by, truncate to k.
// HINT: let nll = lp.gather(&targets.unsqueeze(2)?, 2)?.squeeze(2)?.neg()?.mean(1)?; … v.sort_by(|x, y| y.1.total_cmp(&x.1)); v.truncate(k);
pub fn worst_examples(logits: &Tensor, targets: &Tensor, k: usize) -> Result<Vec<(usize, f32)>> {
    // BEGIN SOLUTION
    let lp = candle_nn::ops::log_softmax(&logits.to_dtype(DType::F32)?, D::Minus1)?;
    let nll = lp.gather(&targets.unsqueeze(2)?, 2)?.squeeze(2)?.neg()?.mean(1)?;
    let mut v: Vec<(usize, f32)> = nll.to_vec1::<f32>()?.into_iter().enumerate().collect();
    v.sort_by(|x, y| y.1.total_cmp(&x.1));
    v.truncate(k);
    Ok(v)
    // END SOLUTION
}

/// The two-sided p-value of a t statistic with `df` degrees of freedom, `P(|T| ≥ |t|)`
/// (given): the regularised incomplete beta function `I_x(df/2, 1/2)` at
/// `x = df / (df + t²)`, by its continued fraction.
pub fn two_sided_p(t: f64, df: f64) -> f64 {
    if t.is_nan() || df.is_nan() {
        return f64::NAN;
    }
    let x = df / (df + t * t);
    incomplete_beta(df / 2.0, 0.5, x)
}

fn ln_gamma(x: f64) -> f64 {
    // Lanczos approximation (g = 7, n = 9): about 15 significant digits for x > 0.
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        return (std::f64::consts::PI / (std::f64::consts::PI * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut s = C[0];
    for (i, c) in C.iter().enumerate().skip(1) {
        s += c / (x + i as f64);
    }
    let t = x + 7.5;
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + s.ln()
}

fn incomplete_beta(a: f64, b: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let front = (ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln()).exp();
    // The continued fraction converges fast for x < (a + 1) / (a + b + 2); use the symmetry
    // I_x(a, b) = 1 − I_{1−x}(b, a) otherwise.
    if x < (a + 1.0) / (a + b + 2.0) {
        front * beta_fraction(a, b, x) / a
    } else {
        1.0 - front * beta_fraction(b, a, 1.0 - x) / b
    }
}

/// Lentz's method for the continued fraction of the incomplete beta function.
fn beta_fraction(a: f64, b: f64, x: f64) -> f64 {
    let tiny = 1e-300;
    let (mut c, mut d) = (1.0, 1.0 - (a + b) * x / (a + 1.0));
    if d.abs() < tiny {
        d = tiny;
    }
    d = 1.0 / d;
    let mut h = d;
    for m in 1..500 {
        let m = m as f64;
        for num in [m * (b - m) * x / ((a + 2.0 * m - 1.0) * (a + 2.0 * m)), -(a + m) * (a + b + m) * x / ((a + 2.0 * m) * (a + 2.0 * m + 1.0))] {
            d = 1.0 + num * d;
            if d.abs() < tiny {
                d = tiny;
            }
            c = 1.0 + num / c;
            if c.abs() < tiny {
                c = tiny;
            }
            d = 1.0 / d;
            h *= d * c;
        }
        if (d * c - 1.0).abs() < 1e-15 {
            break;
        }
    }
    h
}
