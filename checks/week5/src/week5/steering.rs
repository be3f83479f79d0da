//! Checks for week5 day "steering": activations gathered at stated positions, the
//! difference-of-means and PCA reading vectors, and steering and projection on a names language
//! model, against torch on the same weights (fixtures/gen/week5_names_lm.py); as independent
//! properties, the probability of ending rising with α, and projecting the direction out
//! lowering it where names end.

use crate::cases::FixtureFile;
use crate::check::{ensure, CheckResult, Ctx, Fail, Learner};
use crate::compare::{close, to_f64, Tol};
use crate::registry::{Day, Exercise};
use crate::subject::week5::hooks as hk;
use crate::subject::week5::steering as st;
use candle_core::{DType, Tensor, D};

pub(crate) const FX: FixtureFile = FixtureFile::new("week5/names_lm.safetensors");

const DAY: Day = Day::new("week5", "steering", "src/steering.rs");

const POINT: &str = "blocks.1.resid_pre";

pub(crate) fn model(ctx: &Ctx) -> Result<hk::AttnOnly, Fail> {
    super::hooks::load_model(ctx, FX)
}

pub(crate) fn names(ctx: &Ctx, set: &str) -> Result<Tensor, Fail> {
    FX.open(ctx)?.get(set)?.to_dtype(DType::U32).grader()
}

fn pairs(ctx: &Ctx, key: &str) -> Result<Vec<(usize, usize)>, Fail> {
    Ok(to_f64(&FX.open(ctx)?.get(key)?)?.chunks(2).map(|r| (r[0] as usize, r[1] as usize)).collect())
}

/// The learner's activations at the fixture's positive and negative positions.
fn contrast(ctx: &Ctx) -> Result<(Tensor, Tensor), Fail> {
    let (m, tok) = (model(ctx)?, names(ctx, "train")?.narrow(0, 0, 200).grader()?);
    let pos = st::gather_activations(&m, &tok, POINT, &pairs(ctx, "steer.pos_at")?).learner()?;
    let neg = st::gather_activations(&m, &tok, POINT, &pairs(ctx, "steer.neg_at")?).learner()?;
    Ok((pos, neg))
}

/// The grader's measurement: mean p(`.`) at each name's true end and at its other
/// letters (positions 1 .. length − 1).
fn p_end(logits: &Tensor, tok: &Tensor) -> Result<[f64; 2], Fail> {
    let pe = to_f64(&candle_nn::ops::softmax(logits, D::Minus1).grader()?.narrow(2, 0, 1).grader()?)?;
    let rows = tok.to_vec2::<u32>().grader()?;
    let (mut end, mut other, mut n_other) = (0.0, 0.0, 0usize);
    for (b, r) in rows.iter().enumerate() {
        let len = r[1..].iter().take_while(|&&c| c != 0).count();
        end += pe[b * 25 + len];
        for i in 1..len {
            other += pe[b * 25 + i];
            n_other += 1;
        }
    }
    Ok([end / rows.len() as f64, other / n_other as f64])
}

fn gather(ctx: &Ctx) -> CheckResult {
    let m = model(ctx)?;
    let tok = names(ctx, "train")?.narrow(0, 0, 200).grader()?;
    let at = pairs(ctx, "steer.pos_at")?;
    let got = st::gather_activations(&m, &tok, POINT, &at).learner()?;
    ensure(got.dims() == [200, 64], || format!("shape {:?}, expected [200, 64]", got.dims()))?;
    let act = super::hooks::recorded(&m, &tok, POINT)?;
    for &i in &[0usize, 57, 199] {
        let (s, p) = at[i];
        close(&format!("row {i} vs the activation of name {s} at position {p}"), &got.get(i).grader()?, &act.get(s).grader()?.get(p).grader()?, Tol::EXACT)?;
    }
    Ok(())
}

fn reading(ctx: &Ctx) -> CheckResult {
    let fx = FX.open(ctx)?;
    let (pos, neg) = contrast(ctx)?;
    let (diff, pc) = st::reading_vectors(&pos, &neg).learner()?;
    close("difference of means vs torch", &diff, &fx.get("steer.diff")?, Tol::new(1e-4, 1e-4))?;
    // A unit vector from 500 power iterations against an exact SVD in f64.
    close(
        "PCA reading vector vs the top right singular vector of the centred differences (torch.linalg.svd)",
        &pc,
        &fx.get("steer.pca")?,
        Tol::new(1e-3, 0.0),
    )?;
    let norm = to_f64(&pc)?.iter().map(|v| v * v).sum::<f64>().sqrt();
    ensure((norm - 1.0).abs() < 1e-4, || format!("the PCA reading vector has length {norm:.5}, not 1"))
}

fn steer(ctx: &Ctx) -> CheckResult {
    let fx = FX.open(ctx)?;
    let m = model(ctx)?;
    let tok = names(ctx, "heldout")?.narrow(0, 0, 500).grader()?;
    let diff = fx.get("steer.diff")?;
    let unit = diff.broadcast_div(&diff.sqr().grader()?.sum_all().grader()?.sqrt().grader()?).grader()?;
    let want = to_f64(&fx.get("steer.p_end")?)?;
    let mut curve = Vec::new();
    for (k, alpha) in [-4.0, -2.0, 0.0, 2.0, 4.0].into_iter().enumerate() {
        let got = p_end(&st::steer(&m, &tok, POINT, &unit, alpha).learner()?, &tok)?;
        ensure((got[0] - want[2 * k]).abs() < 2e-4 && (got[1] - want[2 * k + 1]).abs() < 2e-4, || {
            format!("α = {alpha}: mean p(end) at the end {:.4}, elsewhere {:.4}; torch {:.4}, {:.4}", got[0], got[1], want[2 * k], want[2 * k + 1])
        })?;
        curve.push(got);
    }
    // Independent: pushing along "the name ends here" makes ending likelier, everywhere.
    ensure(curve.windows(2).all(|w| w[1][0] > w[0][0] && w[1][1] > w[0][1]), || format!("p(end) should rise with α; got {curve:.3?}"))?;
    let png = ctx.artefact("week5/steering.png")?;
    let (a, b): (Vec<f32>, Vec<f32>) = curve.iter().map(|c| (c[0] as f32, c[1] as f32)).unzip();
    crate::picture::lines(&png, &[&a, &b], 400, 240)?;
    ctx.note(format!(
        "mean p(end) at the true end / elsewhere for α = −4, −2, 0, 2, 4: {}; picture: {}",
        curve.iter().map(|c| format!("{:.3}/{:.3}", c[0], c[1])).collect::<Vec<_>>().join(", "),
        png.display()
    ));
    Ok(())
}

fn project(ctx: &Ctx) -> CheckResult {
    let fx = FX.open(ctx)?;
    let m = model(ctx)?;
    let tok = names(ctx, "heldout")?.narrow(0, 0, 500).grader()?;
    // Not unit length: the learner normalises.
    let diff = fx.get("steer.diff")?;
    let got = p_end(&st::project_out(&m, &tok, POINT, &diff).learner()?, &tok)?;
    let want = to_f64(&fx.get("steer.projected")?)?;
    ensure((got[0] - want[0]).abs() < 2e-4 && (got[1] - want[1]).abs() < 2e-4, || {
        format!("with the direction projected out: mean p(end) at the end {:.4}, elsewhere {:.4}; torch {:.4}, {:.4}", got[0], got[1], want[0], want[1])
    })?;
    // Independent: the model needs the direction to end names: p(end) where names end at most
    // half of the unsteered run's (torch: 0.53 → 0.22).
    let plain = p_end(&m.run(&tok, &mut hk::Hooks::none()).learner()?, &tok)?;
    ensure(got[0] < 0.5 * plain[0], || format!("projecting the direction out left p(end) at the end at {:.3}, the model alone {:.3}", got[0], plain[0]))?;
    ctx.note(format!("mean p(end) where held-out names end: {:.3} as trained, {:.3} with the direction projected out", plain[0], got[0]));
    Ok(())
}

pub fn exercises() -> Vec<Exercise> {
    vec![
        DAY.exercise("gather_activations", "activations at chosen positions")
            .pace(1, 10)
            .function("gather_activations")
            .check("rows vs the grader's recording of your run", gather),
        DAY.exercise("reading_vectors", "difference of means and the PCA reading vector")
            .pace(2, 25)
            .function("reading_vectors")
            .check("both vs torch on the same activations", reading),
        DAY.exercise("steer", "adding a direction").pace(1, 10).function("steer").check("an α-sweep vs torch; ending rises with α", steer),
        DAY.exercise("project_out", "removing a direction")
            .pace(1, 10)
            .function("project_out")
            .check("vs torch; the model ends names far less without it", project),
    ]
}
