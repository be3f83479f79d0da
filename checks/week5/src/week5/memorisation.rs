//! Checks for week5 day "memorisation": per-name losses of the names language model against
//! torch (fixtures/gen/week5_names_lm.py), sampling against the grader's replay of the stated
//! draws, the share of samples found verbatim in the training and held-out sets as a property,
//! and the loss-threshold ROC curve against scikit-learn's roc_curve and roc_auc_score.

use crate::check::{ensure, CheckResult, Ctx, Fail, Learner};
use crate::compare::{close, to_f64, Tol};
use crate::registry::{Day, Exercise};
use crate::subject::week5::hooks as hk;
use crate::subject::week5::memorisation as me;
use candle_core::Tensor;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::HashSet;

use super::steering::{model, names, FX};

const DAY: Day = Day::new("week5", "memorisation", "src/memorisation.rs");

fn losses(ctx: &Ctx) -> CheckResult {
    let fx = FX.open(ctx)?;
    let m = model(ctx)?;
    for (set, key) in [("train", "loss.train"), ("heldout", "loss.heldout")] {
        let got = me::name_losses(&m, &names(ctx, set)?).learner()?;
        close(&format!("losses of the 2,000 {set} names vs torch"), &got, &fx.get(key)?, Tol::new(1e-4, 1e-4))?;
    }
    Ok(())
}

fn spell(tokens: &Tensor, row: usize) -> Result<String, Fail> {
    let r = tokens.get(row).grader()?.to_vec1::<u32>().grader()?;
    Ok(r[1..].iter().take_while(|&&c| c != 0).map(|&c| char::from(b'a' + c as u8 - 1)).collect())
}

/// The grader's sampler, from the stated recipe: inverse-CDF draws over the softmax.
fn replay(m: &hk::AttnOnly, rng: &mut ChaCha8Rng, ctx: &Ctx) -> Result<String, Fail> {
    let mut seq = [0u32; 25];
    let mut out = String::new();
    for step in 0..24 {
        let row = Tensor::new(&seq[..], &ctx.device).grader()?.unsqueeze(0).grader()?;
        let z = m.run(&row, &mut hk::Hooks::none()).learner()?.get(0).grader()?.get(step).grader()?;
        let probs = to_f64(&candle_nn::ops::softmax(&z.narrow(0, 0, 27).grader()?, 0).grader()?)?;
        let draw = rng.random::<f32>() as f64;
        // Cumulative sums in f32, as the recipe's walk adds them.
        let mut total = 0f32;
        let pick = probs.iter().position(|&p| {
            total += p as f32;
            total as f64 > draw
        });
        let tok = pick.unwrap_or(probs.len() - 1);
        if tok == 0 {
            break;
        }
        seq[step + 1] = tok as u32;
        out.push(char::from(b'a' + tok as u8 - 1));
    }
    Ok(out)
}

fn sampling(ctx: &Ctx) -> CheckResult {
    let m = model(ctx)?;
    for seed in 0..4u64 {
        let got = me::sample_name(&m, &mut ChaCha8Rng::seed_from_u64(seed), &ctx.device).learner()?;
        let want = replay(&m, &mut ChaCha8Rng::seed_from_u64(seed), ctx)?;
        ensure(got == want, || format!("seed {seed}: sampled \"{got}\"; the stated draws give \"{want}\""))?;
    }
    // Extraction: 200 samples from one generator.
    let (tr, ho) = (names(ctx, "train")?, names(ctx, "heldout")?);
    let train: HashSet<String> = (0..2000).map(|i| spell(&tr, i)).collect::<Result<_, _>>()?;
    let held: HashSet<String> = (0..2000).map(|i| spell(&ho, i)).collect::<Result<_, _>>()?;
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let samples: Vec<String> = (0..200).map(|_| me::sample_name(&m, &mut rng, &ctx.device).learner()).collect::<Result<_, _>>()?;
    let in_t = samples.iter().filter(|s| train.contains(*s)).count() as f64 / 200.0;
    let in_h = samples.iter().filter(|s| held.contains(*s)).count() as f64 / 200.0;
    // torch's 1,000 samples: 45.1 % verbatim in the training set, 0.6 % in the held-out set. At
    // p = 0.451 a share of 200 below 0.25 is 5.7 standard deviations away; at p = 0.006, more
    // than 10 of 200 has probability below 1e-4.
    ensure(in_t >= 0.25 && in_h <= 0.05, || {
        format!("of 200 samples {:.1} % are training names and {:.1} % held-out names; torch: 45.1 % and 0.6 %", 100.0 * in_t, 100.0 * in_h)
    })?;
    ctx.note(format!(
        "200 samples: {:.1} % verbatim in the training set, {:.1} % in the held-out set; e.g. {}",
        100.0 * in_t,
        100.0 * in_h,
        samples[..6].join(", ")
    ));
    Ok(())
}

fn roc(ctx: &Ctx) -> CheckResult {
    let fx = FX.open(ctx)?;
    let neg = |v: Vec<f64>| -> Vec<f32> { v.iter().map(|&x| -(x as f32)).collect() };
    let (mem, oth) = (neg(to_f64(&fx.get("loss.train")?)?), neg(to_f64(&fx.get("loss.heldout")?)?));
    let r = me::roc(&mem, &oth);
    let (fpr, tpr) = (to_f64(&fx.get("roc.fpr")?)?, to_f64(&fx.get("roc.tpr")?)?);
    ensure(r.fpr.len() == fpr.len() && r.tpr.len() == tpr.len(), || {
        format!("{} and {} points, scikit-learn's roc_curve has {}", r.fpr.len(), r.tpr.len(), fpr.len())
    })?;
    let worst = (0..fpr.len()).map(|i| (r.fpr[i] - fpr[i]).abs().max((r.tpr[i] - tpr[i]).abs())).fold(0.0, f64::max);
    ensure(worst < 1e-12, || format!("the curve differs from scikit-learn's roc_curve by up to {worst:.2e}"))?;
    let auc = fx.f64("roc.auc")?;
    ensure((r.auc - auc).abs() < 1e-9, || format!("area {:.6}, scikit-learn's roc_auc_score {auc:.6}", r.auc))?;
    // Independent: the curve of a perfect separation and of identical scores.
    let perfect = me::roc(&[3.0, 2.0], &[1.0, 0.0]);
    ensure((perfect.auc - 1.0).abs() < 1e-12, || format!("members all above others: area {}, expected 1", perfect.auc))?;
    let ties = me::roc(&[1.0, 1.0], &[1.0, 1.0]);
    ensure((ties.auc - 0.5).abs() < 1e-12 && ties.fpr.len() == 2, || {
        format!("all scores equal: area {} over {} points, expected 0.5 over 2 (one threshold)", ties.auc, ties.fpr.len())
    })?;
    // On the learner's own losses: the same leak.
    let m = model(ctx)?;
    let own = |set: &str| -> Result<Vec<f32>, Fail> { Ok(neg(to_f64(&me::name_losses(&m, &names(ctx, set)?).learner()?)?)) };
    let mine = me::roc(&own("train")?, &own("heldout")?);
    ensure((mine.auc - auc).abs() < 1e-3, || format!("area on your losses {:.4}, on torch's {auc:.4}", mine.auc))?;
    // The picture: the true-positive rate at false-positive rates 0, 0.01, …, 1.
    let grid: Vec<f32> = (0..=100)
        .map(|k| {
            let x = k as f64 / 100.0;
            r.fpr.iter().zip(&r.tpr).filter(|(f, _)| **f <= x).map(|(_, t)| *t).fold(0.0, f64::max) as f32
        })
        .collect();
    let diagonal: Vec<f32> = (0..=100).map(|k| k as f32 / 100.0).collect();
    let png = ctx.artefact("week5/membership_roc.png")?;
    crate::picture::lines(&png, &[&grid, &diagonal], 300, 300)?;
    let at = |x: f64| r.fpr.iter().zip(&r.tpr).filter(|(f, _)| **f <= x).map(|(_, t)| *t).fold(0.0, f64::max);
    ctx.note(format!(
        "loss-threshold membership test: area {:.4}; true positives at 1 % false positives {:.3}, at 10 % {:.3}; picture: {}",
        r.auc,
        at(0.01),
        at(0.1),
        png.display()
    ));
    Ok(())
}

pub fn exercises() -> Vec<Exercise> {
    vec![
        DAY.exercise("name_losses", "each name's loss").pace(1, 20).function("name_losses").check("2,000 training and 2,000 held-out names vs torch", losses),
        DAY.exercise("sample_name", "sampling, and what comes out verbatim")
            .pace(1, 20)
            .function("sample_name")
            .check("the stated draws replayed; most samples are training names, almost none held-out ones", sampling),
        DAY.exercise("roc", "the membership test's ROC curve")
            .pace(2, 25)
            .function("roc")
            .check("vs scikit-learn's roc_curve and roc_auc_score; edge cases; on your own losses", roc),
    ]
}
