//! Checks for week5 day "probes": features and labels against the fixture
//! (fixtures/gen/week5_probes.py), the learner's logistic regression against scikit-learn's
//! optimum and torch's Adam on the same objective, and the probe table (accuracy by layer on
//! the task and a control task) against scikit-learn's accuracies; as an independent property,
//! selectivity growing with depth.

use crate::cases::FixtureFile;
use crate::check::{ensure, CheckResult, Ctx, Fail, Learner};
use crate::compare::{close, to_f64, Tol};
use crate::registry::{Day, Exercise};
use crate::subject::week5::probes as pr;
use candle_core::{DType, Tensor};

const FX: FixtureFile = FixtureFile::new("week5/probes.safetensors");

const DAY: Day = Day::new("week5", "probes", "src/probes.rs");

/// The stated recipe: scikit-learn's C = 1, Adam at lr 0.05 for 1,000 full-batch steps (torch
/// reaches scikit-learn's optimum to 5e-5 with it).
const C: f64 = 1.0;
const LR: f64 = 0.05;
const STEPS: usize = 1000;

fn tokens(ctx: &Ctx) -> Result<Tensor, Fail> {
    FX.open(ctx)?.get("tokens")?.to_dtype(DType::U32).grader()
}

fn table(ctx: &Ctx) -> Result<Vec<u32>, Fail> {
    Ok(to_f64(&FX.open(ctx)?.get("control_table")?)?.iter().map(|&v| v as u32).collect())
}

fn features(ctx: &Ctx) -> CheckResult {
    let m = super::hooks::model(ctx)?;
    let tok = tokens(ctx)?;
    let h = crate::subject::week5::hooks::STREAM;
    let x = pr::probe_features(&m, &tok, h[2]).learner()?;
    ensure(x.dims() == [200 * 24, 64], || format!("features at resid_final: shape {:?}, expected [4800, 64] (positions 1..25 of 200 sequences)", x.dims()))?;
    // Row 24·s + (i − 1) is sequence s at position i: compare with the grader's own recording.
    let want = super::hooks::recorded(&m, &tok.narrow(0, 3, 1).grader()?, "resid_final")?.get(0).grader()?.narrow(0, 1, 24).grader()?;
    close("features rows 72..96 vs sequence 3's resid_final at positions 1..24", &x.narrow(0, 72, 24).grader()?, &want, Tol::new(1e-5, 1e-5))
}

fn labels(ctx: &Ctx) -> CheckResult {
    let fx = FX.open(ctx)?;
    let tok = tokens(ctx)?;
    let r = pr::repeat_labels(&tok).learner()?;
    close("repeat labels [4800] vs the fixture's", &r, &fx.get("repeat")?.flatten_all().grader()?.to_dtype(DType::F32).grader()?, Tol::EXACT)?;
    let c = pr::control_labels(&tok, &table(ctx)?).learner()?;
    close("control labels [4800] vs the fixture's", &c, &fx.get("control")?.flatten_all().grader()?.to_dtype(DType::F32).grader()?, Tol::EXACT)
}

fn train(ctx: &Ctx) -> CheckResult {
    let fx = FX.open(ctx)?;
    let m = super::hooks::model(ctx)?;
    let tok = tokens(ctx)?.narrow(0, 0, 150).grader()?;
    // The grader's own features and labels (the recording of the learner's run is checked above).
    let act = super::hooks::recorded(&m, &tok, "resid_final")?;
    let x = act.narrow(1, 1, 24).grader()?.reshape((150 * 24, 64)).grader()?;
    let y = fx.get("repeat")?.narrow(0, 0, 150).grader()?.flatten_all().grader()?.to_dtype(DType::F32).grader()?;
    let p = pr::train_probe(&x, &y, C, LR, STEPS).learner()?;
    // Adam's path in f32 with sums in another order: 1e-3 on weights of up to ~2.
    close("probe weights vs torch's Adam (same objective, same steps)", &p.w, &fx.get("adam.w")?, Tol::new(1e-3, 1e-3))?;
    close("probe bias vs torch's Adam", &p.b, &fx.get("adam.b")?, Tol::new(1e-3, 1e-3))?;
    close("probe weights vs scikit-learn's optimum (C = 1)", &p.w, &fx.get("sk.resid_final.repeat.coef")?, Tol::new(2e-3, 1e-3))?;
    close("probe bias vs scikit-learn's", &p.b, &fx.get("sk.resid_final.repeat.intercept")?, Tol::new(2e-3, 1e-3))?;
    // Every step counts early on; and a penalty other than C = 1, where 2·c·n and 2·n/c agree.
    let early = pr::train_probe(&x, &y, C, LR, 50).learner()?;
    close("probe weights after 50 steps vs torch's Adam", &early.w, &fx.get("adam50.w")?, Tol::new(1e-4, 1e-4))?;
    let strong = pr::train_probe(&x, &y, 0.05, LR, STEPS).learner()?;
    close("probe weights with C = 0.05 vs torch's Adam", &strong.w, &fx.get("adam.c0.05.w")?, Tol::new(1e-3, 1e-3))?;
    close("probe bias with C = 0.05 vs torch's Adam", &strong.b, &fx.get("adam.c0.05.b")?, Tol::new(1e-3, 1e-3))
}

fn table_check(ctx: &Ctx) -> CheckResult {
    let fx = FX.open(ctx)?;
    let m = super::hooks::model(ctx)?;
    let rows = pr::probe_table(&m, &tokens(ctx)?, &table(ctx)?, 150, C, LR, STEPS).learner()?;
    ensure(rows.len() == 3, || format!("{} rows, expected one per residual-stream point (3)", rows.len()))?;
    let mut lines = Vec::new();
    for (row, point) in rows.iter().zip(crate::subject::week5::hooks::STREAM) {
        for (what, got, key) in [("task", row.task, "repeat"), ("control", row.control, "control")] {
            let want = to_f64(&fx.get(&format!("sk.{point}.{key}.acc"))?)?;
            // A probe a hair from scikit-learn's can put a few samples on the other side of
            // the boundary: 0.5 points is 18 of 3,600 training and 6 of 1,200 test samples.
            ensure((got.0 - want[0]).abs() <= 0.005 && (got.1 - want[1]).abs() <= 0.005, || {
                format!("{point}, {what}: train/test accuracy {:.4}/{:.4}, scikit-learn's {:.4}/{:.4}", got.0, got.1, want[0], want[1])
            })?;
        }
        lines.push(format!("{point}: task {:.3}, control {:.3}, selectivity {:.3}", row.task.1, row.control.1, row.selectivity()));
    }
    // Independent: the embeddings hold token identity, which the control task memorises, while
    // attention turns it into context. scikit-learn: selectivity 0.014, 0.111, 0.232.
    ensure(rows[2].selectivity() >= rows[0].selectivity() + 0.1, || {
        format!("selectivity at the end ({:.3}) should exceed that of the embeddings ({:.3}) by at least 0.1", rows[2].selectivity(), rows[0].selectivity())
    })?;
    let png = ctx.artefact("week5/probes.png")?;
    let task: Vec<f32> = rows.iter().map(|r| r.task.1 as f32).collect();
    let control: Vec<f32> = rows.iter().map(|r| r.control.1 as f32).collect();
    crate::picture::lines(&png, &[&task, &control], 360, 240)?;
    ctx.note(format!("held-out accuracy: {}; picture (task, control by depth): {}", lines.join("; "), png.display()));
    Ok(())
}

pub fn exercises() -> Vec<Exercise> {
    vec![
        DAY.exercise("probe_features", "residual-stream activations as samples")
            .pace(1, 10)
            .function("probe_features")
            .check("shape and row order vs the grader's recording", features),
        DAY.exercise("probe_labels", "the task and the control task").pace(1, 15).function("repeat_labels").check("vs the fixture's labels", labels),
        DAY.exercise("train_probe", "logistic regression by Adam")
            .pace(2, 25)
            .function("train_probe")
            .check("weights vs torch's Adam and scikit-learn's optimum", train),
        DAY.exercise("probe_table", "accuracy and selectivity by depth")
            .pace(1, 15)
            .function("probe_table")
            .timeout(std::time::Duration::from_secs(30))
            .check("6 probes vs scikit-learn's accuracies; selectivity grows with depth", table_check),
    ]
}
