//! Checks for week5 day "active_learning": the three uncertainty scores and the selection
//! against torch (fixtures/gen/week5_active_learning.py); one query round on the trained
//! week-5 CNN against torch's choice on the same weights and images; and (`--long`) the whole
//! procedure, margin sampling against random, beside torch's run of the same procedure.

use super::adversarial::model;
use crate::cases::FixtureFile;
use crate::check::{ensure, Ctx, Fail, Learner};
use crate::compare::{close_with, Candidate, Tol};
use crate::registry::{Day, Exercise};
use crate::subject::week5::active_learning as al;
use candle_core::{DType, Tensor, D};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::time::Duration;

const FX: FixtureFile = FixtureFile::new("week5/active_learning.safetensors");

/// Sums of ≤ 10 products p·ln p (and a max, a difference): f32 rounding in another order.
const SCORE: Tol = Tol::F32;

const DAY: Day = Day::new("week5", "active_learning", "src/active_learning.rs");

/// Torch's pool: the first 2,000 images of the grader's training split.
fn pool(ctx: &Ctx) -> Result<Tensor, Fail> {
    let data = crate::data::mnist(&ctx.device)?;
    data.train_images.narrow(0, 0, 2000).grader()
}

/// The labels needed to reach `target`: the first point of `curve` at or above it.
fn labels_to_reach(curve: &[(usize, f64)], target: f64) -> Option<usize> {
    curve.iter().find(|(_, a)| *a >= target).map(|(n, _)| *n)
}

pub fn exercises() -> Vec<Exercise> {
    vec![
        DAY.exercise("entropy", "the entropy of a predicted distribution").pace(1, 15).function("entropy")
            .check("vs torch (rows with exact zeros, a one-hot row)", |ctx| {
                for c in FX.cases(ctx, "entropy")? {
                    let p = c.t("probs")?;
                    let got = al::entropy(&p).learner()?;
                    let safe = p.clamp(1e-30f32, 1f32).grader()?;
                    let plogp = (&p * safe.log().grader()?).grader()?.sum(1).grader()?;
                    let log2 = Candidate { description: "the entropy in bits (log base 2): use the natural log", tensor: (plogp.neg().grader()? / std::f64::consts::LN_2).grader()? };
                    let sign = Candidate { description: "Σ p ln p without the minus sign: entropy is −Σ p ln p, never negative", tensor: plogp };
                    close_with(&c.label(), &got, &c.out()?, SCORE, &[log2, sign])?;
                }
                Ok(())
            }),
        DAY.exercise("margin", "the margin between the two most likely classes").pace(1, 15).function("margin")
            .check("vs torch", |ctx| {
                for c in FX.cases(ctx, "margin")? {
                    let p = c.t("probs")?;
                    let got = al::margin(&p).learner()?;
                    let unsigned = Candidate { description: "p_top1 − p_top2 without the minus sign: a larger score must mean a less sure model", tensor: (c.out()? * -1.0).grader()? };
                    let to_min = Candidate { description: "the gap between the largest and the smallest probability: the margin is to the second largest", tensor: (p.min(D::Minus1).grader()? - p.max(D::Minus1).grader()?).grader()? };
                    close_with(&c.label(), &got, &c.out()?, SCORE, &[unsigned, to_min])?;
                }
                Ok(())
            }),
        DAY.exercise("least_confidence", "one minus the largest probability").pace(1, 5).function("least_confidence")
            .check("vs torch", |ctx| {
                for c in FX.cases(ctx, "least_confidence")? {
                    let p = c.t("probs")?;
                    let got = al::least_confidence(&p).learner()?;
                    let max = Candidate { description: "the largest probability itself: the score is 1 − max p, larger when less sure", tensor: p.max(D::Minus1).grader()? };
                    close_with(&c.label(), &got, &c.out()?, SCORE, &[max])?;
                }
                Ok(())
            }),
        DAY.exercise("select", "the k most uncertain unlabelled examples").pace(1, 15).function("select")
            .check("vs torch.topk over the unlabelled scores", |ctx| {
                for c in FX.cases(ctx, "select")? {
                    let scores: Vec<f32> = c.t("scores")?.to_vec1::<f32>().grader()?;
                    let labelled: Vec<bool> = c.t("labelled")?.to_vec1::<f32>().grader()?.iter().map(|&v| v != 0.0).collect();
                    let k = c.n("k")?;
                    let want: Vec<usize> = c.out()?.to_vec1::<i64>().grader()?.iter().map(|&v| v as usize).collect();
                    let got = al::select(&scores, &labelled, k);
                    if let Some(&bad) = got.iter().find(|&&i| i < labelled.len() && labelled[i]) {
                        return Err(Fail::Mismatch(format!("{}: selected index {bad}, which is already labelled", c.label())));
                    }
                    let lowest: Vec<usize> = {
                        let mut free: Vec<usize> = (0..scores.len()).filter(|&i| !labelled[i]).collect();
                        free.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
                        free.truncate(k);
                        free
                    };
                    ensure(got == want, || {
                        let hint = if got == lowest { ": these are the lowest scores; the most uncertain have the highest" } else { "" };
                        format!("{}: selected {got:?}, torch's top-{k} of the unlabelled is {want:?} (highest first){hint}", c.label())
                    })?;
                }
                Ok(())
            })
            .check("fewer unlabelled than k: all of them, highest first", |_ctx| {
                let got = al::select(&[0.5, 0.1, 0.9, 0.3], &[true, false, true, false], 3);
                ensure(got == vec![3, 1], || format!("select(scores [0.5, 0.1, 0.9, 0.3], labelled [yes, no, yes, no], k = 3) = {got:?}, expected [3, 1]: the two unlabelled, highest score first"))?;
                let got = al::select(&[0.9, 0.1, 0.5, 0.3], &[false, false, true, false], 5);
                ensure(got == vec![0, 3, 1], || format!("select(scores [0.9, 0.1, 0.5, 0.3], labelled [no, no, yes, no], k = 5) = {got:?}, expected [0, 3, 1]: every unlabelled index, the first one included"))
            }),
        DAY.exercise("query", "one round: the CNN chooses what to label").pace(2, 20).function("query")
            .check("the 50 images torch's CNN is least sure about, by each score", |ctx| {
                let fx = FX.open(ctx)?;
                let cnn = model(ctx)?;
                let x = pool(ctx)?;
                let labelled: Vec<bool> = fx.get("query.labelled")?.to_vec1::<f32>().grader()?.iter().map(|&v| v != 0.0).collect();
                for (acq, name) in [(al::Acquisition::Entropy, "entropy"), (al::Acquisition::Margin, "margin"), (al::Acquisition::LeastConfidence, "least_confidence")] {
                    let got = al::query(&cnn, &x, &labelled, 50, acq, &mut ChaCha8Rng::seed_from_u64(0)).learner()?;
                    if acq == al::Acquisition::Margin && got.len() >= 16 && got.iter().all(|&i| i < 2000) {
                        // The first 16 chosen images, 4 × 4.
                        let idx = Tensor::new(got[..16].iter().map(|&i| i as u32).collect::<Vec<_>>(), &ctx.device).grader()?;
                        let grid = x.index_select(&idx, 0).grader()?.reshape((4, 4, 28, 28)).grader()?.transpose(1, 2).grader()?.reshape((112, 112)).grader()?;
                        crate::picture::heatmap(&ctx.artefact("week5/active_learning_queries.png")?, &grid, 3)?;
                    }
                    let want: Vec<usize> = fx.get(&format!("query.{name}"))?.to_vec1::<i64>().grader()?.iter().map(|&v| v as usize).collect();
                    let scores: Vec<f32> = fx.get(&format!("query.{name}.scores"))?.to_vec1::<f32>().grader()?;
                    ensure(got.len() == 50, || format!("{name}: {} images chosen, expected 50", got.len()))?;
                    // Torch's and candle's probabilities differ in the last bits: where two images'
                    // scores lie within 1e-5, either order is right.
                    for (r, (&g, &w)) in got.iter().zip(&want).enumerate() {
                        ensure(g < scores.len() && !labelled[g], || format!("{name}: choice {r} is image {g}, which is labelled or outside the pool"))?;
                        ensure(g == w || (scores[g] - scores[w]).abs() <= 1e-5, || {
                            format!("{name}: choice {r} is image {g} (torch's score {:.6}), torch chose image {w} (score {:.6}); the first {r} agreed", scores[g], scores[w])
                        })?;
                    }
                }
                Ok(())
            })
            .check("random: k distinct unlabelled images, the model unused", |ctx| {
                let x = pool(ctx)?;
                let cnn = model(ctx)?;
                let labelled: Vec<bool> = (0..2000).map(|i| i % 3 == 0).collect();
                let got = al::query(&cnn, &x, &labelled, 100, al::Acquisition::Random, &mut ChaCha8Rng::seed_from_u64(1)).learner()?;
                let mut seen = std::collections::BTreeSet::new();
                for &i in &got {
                    ensure(i < 2000 && !labelled[i], || format!("random query chose image {i}, which is labelled or outside the pool"))?;
                    ensure(seen.insert(i), || format!("random query chose image {i} twice"))?;
                }
                ensure(got.len() == 100, || format!("random query chose {} images, expected 100", got.len()))?;
                let few: Vec<bool> = (0..2000).map(|i| ![0, 5, 1999].contains(&i)).collect();
                let mut all = al::query(&cnn, &x, &few, 5, al::Acquisition::Random, &mut ChaCha8Rng::seed_from_u64(2)).learner()?;
                all.sort();
                ensure(all == vec![0, 5, 1999], || format!("with only images 0, 5 and 1999 unlabelled, a random query of 5 chose {all:?}: it must return every unlabelled image, the first and the last included"))?;
                let spread = got.iter().filter(|&&i| i >= 1000).count();
                ensure((25..=75).contains(&spread), || format!("{spread} of 100 random choices in the upper half of the pool: not uniform"))
            }),
        DAY.exercise("active_learning", "margin sampling against random labels (long)").pace(2, 40).function("active_learning")
            .long()
            .timeout(Duration::from_secs(2400))
            .check("margin reaches random's final accuracy with at most 60 % of its labels (or torch's share)", |ctx| {
                let fx = FX.open(ctx)?;
                let data = crate::data::mnist(&ctx.device)?;
                let (x, y) = (data.train_images.narrow(0, 0, 8000).grader()?, data.train_labels.narrow(0, 0, 8000).grader()?.to_dtype(DType::U32).grader()?);
                let n = data.test_images.dim(0).grader()?;
                let (tx, ty) = (data.test_images.narrow(0, n - 2000, 2000).grader()?, data.test_labels.narrow(0, n - 2000, 2000).grader()?.to_dtype(DType::U32).grader()?);
                let cfg = al::ActiveConfig::default();
                let start = std::time::Instant::now();
                let random = al::active_learning(&x, &y, &tx, &ty, al::Acquisition::Random, &cfg, &mut ChaCha8Rng::seed_from_u64(0)).learner()?;
                let margin = al::active_learning(&x, &y, &tx, &ty, al::Acquisition::Margin, &cfg, &mut ChaCha8Rng::seed_from_u64(0)).learner()?;
                ensure(!random.is_empty() && random.len() == margin.len(), || format!("curves of {} and {} points", random.len(), margin.len()))?;
                let torch = |name: &str| -> Result<Vec<(usize, f64)>, Fail> {
                    Ok(fx.get(&format!("curve.{name}"))?.to_vec2::<f32>().grader()?.iter().map(|r| (r[0] as usize, r[1] as f64)).collect())
                };
                let (t_random, t_margin) = (torch("random")?, torch("margin")?);
                let share = |rand: &[(usize, f64)], unc: &[(usize, f64)]| -> Option<f64> {
                    let (last_n, last_acc) = *rand.last()?;
                    labels_to_reach(unc, last_acc).map(|k| k as f64 / last_n as f64)
                };
                let t_share = share(&t_random, &t_margin).unwrap_or(1.0);
                let fmt = |c: &[(usize, f64)]| c.iter().map(|(n, a)| format!("{n}: {:.1} %", 100.0 * a)).collect::<Vec<_>>().join(", ");
                ctx.note(format!("random: {}", fmt(&random)));
                ctx.note(format!("margin: {}", fmt(&margin)));
                ctx.note(format!("torch, same procedure: random {}; margin {}", fmt(&t_random), fmt(&t_margin)));
                let series: Vec<Vec<f32>> = [&random, &margin, &t_random, &t_margin].iter().map(|c| c.iter().map(|(_, a)| *a as f32).collect()).collect();
                crate::picture::lines(&ctx.artefact("week5/active_learning.png")?, &series.iter().map(|s| s.as_slice()).collect::<Vec<_>>(), 480, 240)?;
                ctx.note(format!("the picture: held-out accuracy against labels, yours (random blue, margin red) and torch's (random green, margin purple); {:.0}s", start.elapsed().as_secs_f64()));
                let bar = t_share.max(0.6);
                let (last_n, last_acc) = *random.last().unwrap_or(&(0, 0.0));
                match share(&random, &margin) {
                    Some(s) => {
                        ctx.note(format!("margin reached random's final {:.1} % with {:.0} % of its {last_n} labels (torch: {:.0} %; the bar: {:.0} %)", 100.0 * last_acc, 100.0 * s, 100.0 * t_share, 100.0 * bar));
                        ensure(s <= bar + 1e-9, || format!("margin sampling needed {:.0} % of random's {last_n} labels to reach its final accuracy {:.1} %; the bar is {:.0} % (torch's run: {:.0} %)", 100.0 * s, 100.0 * last_acc, 100.0 * bar, 100.0 * t_share))
                    }
                    None => Err(Fail::Mismatch(format!("margin sampling never reached random's final accuracy {:.1} % (its best: {:.1} %)", 100.0 * last_acc, 100.0 * margin.iter().map(|(_, a)| *a).fold(0.0, f64::max)))),
                }
            }),
    ]
}
