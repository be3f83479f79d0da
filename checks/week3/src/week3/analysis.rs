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
        DAY.exercise("scaling", "a scaling law from a search over model sizes")
            .pace(2, 20)
            .timeout(std::time::Duration::from_secs(120))
            .check("five widths trained through your queue and loop; your fit beats a grid search's", scaling),
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

/// Five widths of TinyLm (n_embd 4 … 64, n_hidden 4·n_embd), each 150 steps of the learner's
/// `train` on Tiny Shakespeare's first 100,000 characters, run as jobs of the learner's queue
/// (SQLite, one in-process worker); the validation loss (the next 20,000 characters) against
/// the parameter count, fitted with the learner's `fit_power_law`.
fn scaling(ctx: &Ctx) -> crate::check::CheckResult {
    use crate::subject::week3::model::{Model, TinyLm, TinyLmConfig};
    use crate::subject::week3::search as sr;
    use crate::subject::week3::train_loop as tl;
    let (ids, chars) = super::shakespeare(120_000)?;
    let (train, val) = ids.split_at(100_000);
    let vocab = chars.len();
    let base = "lr = 0.01\nmin_lr = 0.001\nwarmup_steps = 10\nmax_steps = 150\nbatch_size = 16\naccumulate = 1\nweight_decay = 0.0\nbeta2 = 0.95\ngrad_clip = 1.0\nseed = 1\ncheckpoint_every = 1000\n[model]\nn_layer = 1\nn_head = 1\nblock_size = 32\nn_embd = 8\nn_hidden = 32\ndropout = 0.0\n";
    let dir = super::train_loop::scratch(ctx, "scaling")?;
    let run = |overrides: &[String]| -> candle_core::Result<f64> {
        let refs: Vec<&str> = overrides.iter().map(String::as_str).collect();
        let mut cfg = tl::parse_config(base, &refs).map_err(candle_core::Error::Msg)?;
        cfg.model.n_hidden = 4 * cfg.model.n_embd;
        let m = &cfg.model;
        let model = TinyLm::new(TinyLmConfig { vocab, n_embd: m.n_embd, n_hidden: m.n_hidden, dropout: 0.0 }, 1, &candle_core::Device::Cpu)?;
        tl::train(&cfg, &model, train, &dir.join(overrides.join("_")))?;
        let t = val.len() - 1;
        let x = candle_core::Tensor::new(&val[..t], &candle_core::Device::Cpu)?.unsqueeze(0)?;
        let y = candle_core::Tensor::new(&val[1..], &candle_core::Device::Cpu)?.unsqueeze(0)?;
        Ok(model.loss(&x, &y, false, &mut ChaCha8Rng::seed_from_u64(0))?.to_scalar::<f32>()? as f64)
    };
    let url = format!("sqlite:{}", dir.join("queue.sqlite").display());
    let mut q = sr::Queue::open(&url, 30.0).grader()?;
    let widths = [4usize, 8, 16, 32, 64];
    sr::create_search_jobs(&mut q, &[("model.n_embd", widths.iter().map(|w| w.to_string()).collect())]).learner()?;
    sr::work(&mut q, "scaling", &run).learner()?;
    let rows = sr::open_db(&url).grader()?.query("SELECT config, result FROM jobs WHERE state = 'done' ORDER BY id", &[]).grader()?;
    ensure(rows.len() == widths.len(), || format!("{} of {} jobs done", rows.len(), widths.len()))?;
    let params = |d: usize| (vocab * d + 2 * d + 4 * d * d + 4 * d + vocab * 4 * d + vocab) as f64;
    let n: Vec<f64> = widths.iter().map(|&d| params(d)).collect();
    let loss: Vec<f64> = rows.iter().map(|r| r[1].real()).collect::<candle_core::Result<_>>().grader()?;
    let fit = an::fit_power_law(&n, &loss);
    let sse = |a: f64, alpha: f64, c: f64| n.iter().zip(&loss).map(|(x, y)| (a * x.powf(-alpha) + c - y).powi(2)).sum::<f64>();
    // The grader's own fit: α on a grid of 0.001 in (0, 3], a and c by least squares for each.
    let mine = (1..=3000)
        .map(|k| {
            let alpha = k as f64 / 1000.0;
            let z: Vec<f64> = n.iter().map(|x| x.powf(-alpha)).collect();
            let m = z.len() as f64;
            let (sz, sl) = (z.iter().sum::<f64>(), loss.iter().sum::<f64>());
            let szz: f64 = z.iter().map(|v| v * v).sum();
            let szl: f64 = z.iter().zip(&loss).map(|(a, b)| a * b).sum();
            let a = (m * szl - sz * sl) / (m * szz - sz * sz);
            let c = (sl - a * sz) / m;
            sse(a, alpha, c)
        })
        .fold(f64::INFINITY, f64::min);
    let got = sse(fit.a, fit.alpha, fit.c);
    let png = ctx.artefact("week3/scaling.png")?;
    let fitted: Vec<f32> = n.iter().map(|x| fit.predict(*x) as f32).collect();
    let points: Vec<f32> = loss.iter().map(|v| *v as f32).collect();
    crate::picture::lines(&png, &[&points, &fitted], 480, 240)?;
    ctx.note(format!(
        "validation loss by parameter count: {}; fit L(N) = {:.3}·N^(−{:.3}) + {:.3} (the loss no width removes); picture (measured, fitted) in {}",
        n.iter().zip(&loss).map(|(x, y)| format!("{x:.0}: {y:.3}")).collect::<Vec<_>>().join(", "),
        fit.a,
        fit.alpha,
        fit.c,
        png.display()
    ));
    ensure(got <= mine * (1.0 + 1e-9) + 1e-12, || format!("your fit's sum of squared residuals is {got:e}; a grid search over α finds {mine:e}"))
}
