//! Checks for week3 day "analysis": the paired t-test and the bootstrap interval against
//! scipy on the same numbers (fixtures/gen/week3_analysis.py), the bootstrap's stated
//! resampling replayed by the grader, the power-law fit against scipy's `curve_fit` (the same
//! least-squares optimum: parameters and residuals), and the worst examples against torch's
//! per-example cross-entropy.

use crate::cases::FixtureFile;
use crate::check::{ensure, Ctx, Fail, Learner};
use crate::compare::{scalar_close, Tol};
use crate::registry::{Day, Exercise};
use crate::subject::week3::analysis as an;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const FX: FixtureFile = FixtureFile::new("week3/analysis.safetensors");

const DAY: Day = Day::new("week3", "analysis", "src/analysis.rs");

fn floats(v: &serde_json::Value, key: &str) -> Result<Vec<f64>, Fail> {
    v[key]
        .as_array()
        .ok_or_else(|| Fail::Fixture(format!("analysis.json: no {key}")))?
        .iter()
        .map(|x| x.as_f64().ok_or_else(|| Fail::Fixture(format!("analysis.json: {key} is not numbers"))))
        .collect()
}

fn num(v: &serde_json::Value, key: &str) -> Result<f64, Fail> {
    v[key].as_f64().ok_or_else(|| Fail::Fixture(format!("analysis.json: no {key}")))
}

fn entries(ctx: &Ctx, key: &str) -> Result<Vec<serde_json::Value>, Fail> {
    ctx.json("week3/analysis.json")?[key].as_array().cloned().ok_or_else(|| Fail::Fixture(format!("analysis.json has no {key}")))
}

pub fn exercises() -> Vec<Exercise> {
    vec![
        DAY.exercise("paired_t_test", "a paired t-test over seeds").pace(1, 20).function("paired_t_test").check("vs scipy.stats.ttest_rel", |ctx| {
            for (k, e) in entries(ctx, "ttest")?.iter().enumerate() {
                let (a, b) = (floats(e, "a")?, floats(e, "b")?);
                let r = an::paired_t_test(&a, &b);
                let mean: f64 = a.iter().zip(&b).map(|(x, y)| x - y).sum::<f64>() / a.len() as f64;
                // f64 arithmetic on a handful of numbers; the p-value's continued fraction is
                // good to ~1e-12 relative.
                scalar_close(&format!("case {k} (n = {}): mean difference", a.len()), r.mean_diff, mean, Tol::new(1e-12, 1e-10))?;
                scalar_close(&format!("case {k} (n = {}): t", a.len()), r.t, num(e, "t")?, Tol::new(1e-10, 1e-9))?;
                scalar_close(&format!("case {k} (n = {}): df", a.len()), r.df, num(e, "df")?, Tol::EXACT)?;
                scalar_close(&format!("case {k} (n = {}): p", a.len()), r.p, num(e, "p")?, Tol::new(1e-10, 1e-8))?;
            }
            Ok(())
        }),
        DAY.exercise("bootstrap_ci", "a bootstrap confidence interval")
            .pace(2, 25)
            .function("bootstrap_ci")
            .check("the stated resampling and numpy's quantiles, replayed", |ctx| {
                for (k, e) in entries(ctx, "bootstrap")?.iter().enumerate() {
                    let (a, b) = (floats(e, "a")?, floats(e, "b")?);
                    for (resamples, level) in [(1000, 0.95), (37, 0.9), (1, 0.5)] {
                        let got = an::bootstrap_ci(&a, &b, resamples, level, &mut ChaCha8Rng::seed_from_u64(k as u64));
                        let want = replay(&a, &b, resamples, level, k as u64);
                        let label = format!("case {k}, {resamples} resamples, level {level}");
                        scalar_close(&format!("{label}: low"), got.0, want.0, Tol::new(1e-12, 1e-12))?;
                        scalar_close(&format!("{label}: high"), got.1, want.1, Tol::new(1e-12, 1e-12))?;
                    }
                }
                Ok(())
            })
            .check("20,000 resamples agree with scipy.stats.bootstrap's percentile interval (200,000 resamples)", |ctx| {
                for (k, e) in entries(ctx, "bootstrap")?.iter().enumerate() {
                    let (a, b) = (floats(e, "a")?, floats(e, "b")?);
                    let (lo, hi) = an::bootstrap_ci(&a, &b, 20_000, num(e, "level")?, &mut ChaCha8Rng::seed_from_u64(99));
                    let (wlo, whi) = (num(e, "low")?, num(e, "high")?);
                    // Monte Carlo error of a 2.5 % quantile from 20,000 draws: ~2 % of the
                    // interval's width; allow 8 %.
                    let slack = 0.08 * (whi - wlo);
                    ensure((lo - wlo).abs() < slack && (hi - whi).abs() < slack, || {
                        format!("case {k}: ({lo:.5}, {hi:.5}), scipy's ({wlo:.5}, {whi:.5}) ± {slack:.5}")
                    })?;
                }
                Ok(())
            }),
        DAY.exercise("fit_power_law", "a scaling law L(N) = a·N^(−α) + c").pace(3, 40).function("fit_power_law").check(
            "vs scipy.optimize.curve_fit (the last case at the bound alpha = 3)",
            |ctx| {
                for (k, e) in entries(ctx, "power_law")?.iter().enumerate() {
                    let (n, l) = (floats(e, "n")?, floats(e, "loss")?);
                    let fit = an::fit_power_law(&n, &l);
                    let sse: f64 = n.iter().zip(&l).map(|(x, y)| (fit.a * x.powf(-fit.alpha) + fit.c - y).powi(2)).sum();
                    let label = format!("case {k}");
                    // Both find the least-squares optimum; its parameters are determined to ~1e-6
                    // relative by 5 noisy points (the residual surface is flat along a ridge).
                    scalar_close(&format!("{label}: alpha"), fit.alpha, num(e, "alpha")?, Tol::new(1e-6, 1e-4))?;
                    scalar_close(&format!("{label}: a"), fit.a, num(e, "a")?, Tol::new(1e-6, 1e-3))?;
                    scalar_close(&format!("{label}: c"), fit.c, num(e, "c")?, Tol::new(1e-6, 1e-4))?;
                    ensure(fit.alpha > 0.0 && fit.alpha <= 3.0, || format!("{label}: alpha = {} is outside (0, 3]", fit.alpha))?;
                    let best = num(e, "sse")?;
                    ensure(sse <= best * (1.0 + 1e-6) + 1e-15, || format!("{label}: sum of squared residuals {sse:e}, scipy's {best:e}"))?;
                }
                Ok(())
            },
        ),
        DAY.exercise("worst_examples", "the examples a model gets most wrong").pace(1, 20).function("worst_examples").check(
            "vs torch's per-example cross-entropy, ties by index",
            |ctx| {
                for c in FX.cases(ctx, "worst")? {
                    let (logits, targets) = (c.t("logits")?, c.t("targets")?.to_dtype(candle_core::DType::U32).grader()?);
                    let want = crate::compare::to_f64(&c.out()?)?;
                    let b = want.len();
                    let mut order: Vec<usize> = (0..b).collect();
                    order.sort_by(|&i, &j| want[j].total_cmp(&want[i]).then(i.cmp(&j)));
                    for k in [1, 3, b] {
                        let got = an::worst_examples(&logits, &targets, k).learner()?;
                        ensure(got.len() == k, || format!("{}: {} examples for k = {k}", c.label(), got.len()))?;
                        for (r, ((i, loss), w)) in got.iter().zip(&order).enumerate() {
                            // The fixture's one tie is an exact copy of a row: the lower index first.
                            ensure(*i == *w, || format!("{}, k = {k}: rank {r} is example {i}, expected {w} (loss {:.5})", c.label(), want[*w]))?;
                            scalar_close(&format!("{}: loss of example {i}", c.label()), *loss as f64, want[*i], Tol::new(1e-5, 1e-5))?;
                        }
                    }
                }
                Ok(())
            },
        ),
    ]
}

/// The grader's replay of the stated bootstrap.
fn replay(a: &[f64], b: &[f64], resamples: usize, level: f64, seed: u64) -> (f64, f64) {
    let d: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut m: Vec<f64> = (0..resamples)
        .map(|_| {
            let mut s = 0.0;
            for _ in 0..d.len() {
                s += d[rng.random_range(0..d.len())];
            }
            s / d.len() as f64
        })
        .collect();
    m.sort_by(f64::total_cmp);
    let q = |p: f64| {
        let h = p * (m.len() as f64 - 1.0);
        let i = h.floor() as usize;
        let j = if i + 1 < m.len() { i + 1 } else { i };
        m[i] + (h - i as f64) * (m[j] - m[i])
    };
    (q((1.0 - level) / 2.0), q((1.0 + level) / 2.0))
}
