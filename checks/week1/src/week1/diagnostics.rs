//! Checks for week1 day "diagnostics": histograms, layer statistics, dead units and update
//! ratios against torch (fixtures/gen/week1_diagnostics.py), then every number of a deep tanh
//! MLP's forward and backward pass against the same numbers of torch's run, for a healthy and a
//! saturated initialisation, with the activation histograms drawn side by side.

use crate::cases::FixtureFile;
use crate::check::{ensure, Fail, Learner};
use crate::compare::{scalar_close, to_f64, Tol};
use crate::registry::{Day, Exercise};
use crate::subject::week1::diagnostics as dg;
use candle_core::{DType, Tensor, Var};

const FX: FixtureFile = FixtureFile::new("week1/diagnostics.safetensors");

/// A mean or a standard deviation of ≤ 6,400 f32 values: torch sums pairwise, a plain sum in
/// another order differs by a few parts in 1e6; a log10 of their ratio likewise.
const STAT: Tol = Tol { abs: 1e-5, rel: 1e-4 };

/// Fractions of counted elements: the same comparisons on the same values give the same count,
/// and the fraction's f32 rounding is below 1e-7; one element of 6,400 is 1.6e-4.
const COUNT: Tol = Tol { abs: 1e-6, rel: 0.0 };

const DAY: Day = Day::new("week1", "diagnostics", "src/diagnostics.rs");

fn stats_of(t: &Tensor, threshold: f64) -> Result<dg::Stats, Fail> {
    let v = to_f64(t)?;
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1.0);
    Ok(dg::Stats { mean, std: var.sqrt(), saturated: v.iter().filter(|x| x.abs() > threshold).count() as f64 / n })
}

fn same_stats(label: &str, got: &dg::Stats, want: &dg::Stats) -> Result<(), Fail> {
    scalar_close(&format!("{label}: mean"), got.mean, want.mean, STAT)?;
    scalar_close(&format!("{label}: std"), got.std, want.std, STAT)?;
    scalar_close(&format!("{label}: saturated fraction"), got.saturated, want.saturated, COUNT)
}

/// The deep MLP of the fixture, under initialisation `init`.
fn mlp(fx: &crate::check::Fixture, init: &str) -> Result<dg::DeepMlp, Fail> {
    let (mut weights, mut biases) = (Vec::new(), Vec::new());
    for i in 0..5 {
        weights.push(Var::from_tensor(&fx.get(&format!("{init}.w.{i}"))?).grader()?);
        biases.push(Var::from_tensor(&fx.get(&format!("{init}.b.{i}"))?).grader()?);
    }
    Ok(dg::DeepMlp { weights, biases })
}

pub fn exercises() -> Vec<Exercise> {
    vec![
        DAY.exercise("histogram", "counts in equal bins, as torch.histc").pace(1, 15).function("histogram").check(
            "vs torch.histc (the upper edge counts, values outside do not)",
            |ctx| {
                for c in FX.cases(ctx, "histogram")? {
                    let (x, bins, lo, hi) = (c.t("x")?, c.n("bins")?, c.f("lo")?, c.f("hi")?);
                    let got = dg::histogram(&x, bins, lo, hi).learner()?;
                    let want: Vec<u64> = c.out()?.to_vec1::<i64>().grader()?.iter().map(|&v| v as u64).collect();
                    ensure(got == want, || {
                        let (g, w): (u64, u64) = (got.iter().sum(), want.iter().sum());
                        let why = if g == w + 1 {
                            ": one value too many, the one outside [lo, hi]?"
                        } else if g + 1 == w {
                            ": one value missing, the one equal to hi (it belongs in the last bin)?"
                        } else {
                            ""
                        };
                        format!("{}: counts {got:?}, torch.histc gives {want:?} ({g} counted, torch {w}){why}", c.label())
                    })?;
                }
                Ok(())
            },
        ),
        DAY.exercise("layer_stats", "mean, standard deviation and the saturated share")
            .pace(1, 15)
            .function("layer_stats")
            .check("vs torch (.mean(), .std(), (x.abs() > t).float().mean())", |ctx| {
                for c in FX.cases(ctx, "stats")? {
                    let got = dg::layer_stats(&c.t("x")?, c.f("threshold")?).learner()?;
                    let want = to_f64(&c.out()?)?;
                    scalar_close(&format!("{}: mean", c.label()), got.mean, want[0], STAT)?;
                    let n = c.t("x")?.elem_count() as f64;
                    let biased = want[1] * ((n - 1.0) / n).sqrt();
                    if (got.std - biased).abs() < 1e-7 && (got.std - want[1]).abs() > 1e-7 {
                        return Err(Fail::Mismatch(format!(
                            "{}: std {:.6}, torch's {:.6}: yours divides by n, torch's .std() by n − 1 (Bessel's correction)",
                            c.label(),
                            got.std,
                            want[1]
                        )));
                    }
                    scalar_close(&format!("{}: std", c.label()), got.std, want[1], STAT)?;
                    scalar_close(&format!("{}: saturated fraction", c.label()), got.saturated, want[2], COUNT)?;
                }
                Ok(())
            })
            .check("the threshold itself is not beyond it (|v| > t, strictly)", |ctx| {
                let x = Tensor::new(&[0.5f32, 0.97, -0.97, 0.99], &ctx.device).grader()?;
                let got = dg::layer_stats(&x, 0.97).learner()?;
                scalar_close(
                    "saturated fraction of [0.5, 0.97, −0.97, 0.99] (f32) at threshold 0.97: only 0.99 is beyond it (compared in f64, the f32 value 0.97 is 0.97000002 and lands above 0.97: compare in f32, with gt on the tensor)",
                    got.saturated,
                    0.25,
                    COUNT,
                )
            }),
        DAY.exercise("dead_units", "units saturated for every example")
            .pace(1, 15)
            .function("dead_units")
            .check("vs torch ((x.abs() > t).all(dim=0).float().mean())", |ctx| {
                for c in FX.cases(ctx, "dead")? {
                    let x = c.t("x")?;
                    let got = dg::dead_units(&x, c.f("threshold")?).learner()?;
                    let want = c.out()?.to_scalar::<f32>().grader()? as f64;
                    let any = stats_of(&x, c.f("threshold")?)?.saturated;
                    if (got - any).abs() < 1e-9 && (want - any).abs() > 1e-9 {
                        return Err(Fail::Mismatch(format!(
                            "{}: {got:.4} is the share of saturated values; a dead unit is a column saturated in every row (torch: {want:.4})",
                            c.label()
                        )));
                    }
                    scalar_close(&c.label(), got, want, COUNT)?;
                }
                Ok(())
            })
            .check("a column exactly at the threshold is not dead (|v| > t, strictly)", |ctx| {
                let x = Tensor::new(&[[0.97f32, 0.99, 0.1], [-0.97, -0.995, 0.99]], &ctx.device).grader()?;
                let got = dg::dead_units(&x, 0.97).learner()?;
                scalar_close(
                    "dead units of [[0.97, 0.99, 0.1], [−0.97, −0.995, 0.99]] (f32) at threshold 0.97: only the middle column (compare in f32, with gt on the tensor)",
                    got,
                    1.0 / 3.0,
                    COUNT,
                )
            }),
        DAY.exercise("update_ratio", "the update-to-weight ratio, log10").pace(1, 10).function("update_ratio").check("vs torch", |ctx| {
            for c in FX.cases(ctx, "ratio")? {
                let (w, g, lr) = (c.t("w")?, c.t("grad")?, c.f("lr")?);
                let got = dg::update_ratio(&w, &g, lr).learner()?;
                let want = c.out()?.to_scalar::<f32>().grader()? as f64;
                if (got - (want - lr.log10())).abs() < 1e-4 && lr != 1.0 {
                    return Err(Fail::Mismatch(format!(
                        "{}: {got:.4}, torch {want:.4}: the update is lr · grad, and yours leaves out the learning rate",
                        c.label()
                    )));
                }
                scalar_close(&c.label(), got, want, STAT)?;
            }
            Ok(())
        }),
        DAY.exercise("diagnose", "every number of one forward and backward pass")
            .pace(2, 30)
            .function("diagnose")
            .check("a healthy and a saturated deep tanh MLP vs torch's run (pictures: activation histograms)", |ctx| {
                let fx = FX.open(ctx)?;
                for init in ["healthy", "saturated"] {
                    let model = mlp(&fx, init)?;
                    let y = fx.get(&format!("{init}.y"))?.to_dtype(DType::U32).grader()?;
                    let d = dg::diagnose(&model, &fx.get(&format!("{init}.x"))?, &y, 0.1).learner()?;
                    ensure(d.act.len() == 4 && d.grad.len() == 4 && d.act_hist.len() == 4 && d.dead.len() == 4, || {
                        format!(
                            "{init}: {} activation, {} gradient, {} histogram and {} dead-unit entries; the MLP has 4 hidden layers",
                            d.act.len(),
                            d.grad.len(),
                            d.act_hist.len(),
                            d.dead.len()
                        )
                    })?;
                    ensure(d.ratio.len() == 5, || format!("{init}: {} update ratios; the MLP has 5 weight matrices", d.ratio.len()))?;
                    for i in 0..4 {
                        let act = fx.get(&format!("{init}.act.{i}"))?;
                        same_stats(&format!("{init}, layer {i} activations"), &d.act[i], &stats_of(&act, 0.97)?)?;
                        let grad = fx.get(&format!("{init}.grad.{i}"))?;
                        let want = stats_of(&grad, f64::INFINITY)?;
                        scalar_close(&format!("{init}, layer {i} gradient: mean"), d.grad[i].mean, want.mean, Tol { abs: 1e-8, rel: 1e-3 })?;
                        scalar_close(&format!("{init}, layer {i} gradient: std"), d.grad[i].std, want.std, Tol { abs: 1e-8, rel: 1e-3 })?;
                        let dead = (act
                            .abs()
                            .grader()?
                            .gt(0.97)
                            .grader()?
                            .to_dtype(DType::F32)
                            .grader()?
                            .min(0)
                            .grader()?
                            .mean_all()
                            .grader()?
                            .to_scalar::<f32>()
                            .grader()?) as f64;
                        scalar_close(&format!("{init}, layer {i}: dead units"), d.dead[i], dead, COUNT)?;
                        let hist: Vec<u64> = {
                            let mut h = vec![0u64; 20];
                            for v in to_f64(&act)? {
                                h[(((v + 1.0) / 2.0 * 20.0) as usize).min(19)] += 1;
                            }
                            h
                        };
                        let off: u64 = d.act_hist[i].iter().zip(&hist).map(|(a, b)| a.abs_diff(*b)).sum();
                        // Values within an f32 ulp of a bin edge may fall either side.
                        ensure(d.act_hist[i].len() == 20 && off <= 4, || {
                            format!("{init}, layer {i}: histogram {:?}, torch's activations give {hist:?}", d.act_hist[i])
                        })?;
                    }
                    let ratio = to_f64(&fx.get(&format!("{init}.ratio"))?)?;
                    for (i, (&g, &w)) in d.ratio.iter().zip(&ratio).enumerate() {
                        scalar_close(&format!("{init}, weight {i}: update ratio"), g, w, Tol { abs: 1e-3, rel: 1e-4 })?;
                    }
                    let series: Vec<Vec<f32>> = d.act_hist.iter().map(|h| h.iter().map(|&c| c as f32).collect()).collect();
                    crate::picture::lines(
                        &ctx.artefact(&format!("week1/diagnostics_{init}.png"))?,
                        &series.iter().map(|s| s.as_slice()).collect::<Vec<_>>(),
                        360,
                        200,
                    )?;
                    ctx.note(format!(
                        "{init}: saturated {}; dead units {}; update ratios {}",
                        d.act.iter().map(|s| format!("{:.0} %", 100.0 * s.saturated)).collect::<Vec<_>>().join(", "),
                        d.dead.iter().map(|v| format!("{:.0} %", 100.0 * v)).collect::<Vec<_>>().join(", "),
                        d.ratio.iter().map(|v| format!("{v:.2}")).collect::<Vec<_>>().join(", ")
                    ));
                }
                Ok(())
            })
            .check("units pinned at +1 for every example are reported dead", |ctx| {
                let fx = FX.open(ctx)?;
                let model = mlp(&fx, "healthy")?;
                // Ten units of the first layer get a bias of 20: tanh(≈ 20) = 1 for every input.
                let b0 = model.biases[0].as_tensor().clone();
                let pinned = Tensor::cat(&[Tensor::full(20f32, 10, &ctx.device).grader()?, b0.narrow(0, 10, 90).grader()?], 0).grader()?;
                model.biases[0].set(&pinned).grader()?;
                let x = fx.get("healthy.x")?;
                let y = fx.get("healthy.y")?.to_dtype(DType::U32).grader()?;
                let d = dg::diagnose(&model, &x, &y, 0.1).learner()?;
                let h = x.matmul(&model.weights[0].as_tensor().t().grader()?).grader()?.broadcast_add(&pinned).grader()?.tanh().grader()?;
                let want =
                    h.abs().grader()?.gt(0.97).grader()?.to_dtype(DType::F32).grader()?.min(0).grader()?.mean_all().grader()?.to_scalar::<f32>().grader()?
                        as f64;
                ensure(!d.dead.is_empty(), || "no dead-unit entries".into())?;
                scalar_close("layer 0's dead units with ten units pinned at +1 (threshold 0.97)", d.dead[0], want, COUNT)
            }),
    ]
}
