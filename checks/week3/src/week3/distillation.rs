//! Checks for week3 day "distillation": the distillation loss and its gradient against torch
//! (fixtures/gen/week3_distillation.py), no gradient into the teacher, and (long) a student of
//! half the width distilled from week 3's char-GPT by the learner's own train loop must end
//! with a lower validation loss than the same student trained from the labels alone.

use crate::cases::FixtureFile;
use crate::check::{ensure, Ctx, Fail, Learner};
use crate::compare::{close_with, scalar_close, Candidate, Tol};
use crate::registry::{Day, Exercise};
use crate::subject::week3::chargpt as cg;
use crate::subject::week3::distillation as ds;
use crate::subject::week3::train_loop as tl;
use candle_core::{DType, Tensor, Var, D};
use std::time::{Duration, Instant};

const FX: FixtureFile = FixtureFile::new("week3/distillation.safetensors");

const DAY: Day = Day::new("week3", "distillation", "src/distillation.rs");

pub fn exercises() -> Vec<Exercise> {
    vec![
        DAY.exercise("distill_loss", "T² · KL(teacher ‖ student) mixed with the hard-label loss").pace(2, 25).function("distill_loss").check(
            "value and gradient vs torch (five temperatures and mixes)",
            |ctx| {
                for c in FX.cases(ctx, "distill")? {
                    let (t, a) = (c.f("temperature")?, c.f("alpha")?);
                    let student = Var::from_tensor(&c.t("student")?).grader()?;
                    let teacher = Var::from_tensor(&c.t("teacher")?).grader()?;
                    let y = c.t("targets")?.to_dtype(DType::U32).grader()?;
                    let loss = ds::distill_loss(student.as_tensor(), teacher.as_tensor(), &y, t, a).learner()?;
                    ensure(loss.dims().is_empty(), || format!("{}: the loss has shape {:?}, expected a scalar", c.label(), loss.dims()))?;
                    let got = loss.to_scalar::<f32>().on_learner()? as f64;
                    let want = c.values("out")?[0];
                    // Near-misses, computed by the grader from the same logits.
                    let (ls, lt) = (soft(&c.t("student")?, t)?, soft(&c.t("teacher")?, t)?);
                    let n = ls.dim(0).grader()? as f64;
                    let kl = |p: &Tensor, q: &Tensor| -> Result<f64, Fail> {
                        Ok((p.exp().grader()? * (p - q).grader()?).grader()?.sum_all().grader()?.to_scalar::<f32>().grader()? as f64 / n)
                    };
                    let ce = candle_nn::loss::cross_entropy(&c.t("student")?, &y).grader()?.to_scalar::<f32>().grader()? as f64;
                    let (fwd, rev) = (kl(&lt, &ls)?, kl(&ls, &lt)?);
                    for (what, v) in [
                        ("the KL term without the factor T²", a * fwd + (1.0 - a) * ce),
                        ("KL(student ‖ teacher): the KL is the other way round", a * t * t * rev + (1.0 - a) * ce),
                        ("the KL averaged over every element instead of over rows", a * t * t * fwd / c.t("student")?.dim(1).grader()? as f64 + (1.0 - a) * ce),
                    ] {
                        if (v - want).abs() > 1e-4 * want.abs().max(1.0) && (got - v).abs() <= 1e-5 * v.abs().max(1.0) {
                            return Err(Fail::Mismatch(format!("{}: loss {got:.6}, expected {want:.6}: this is {what}", c.label())));
                        }
                    }
                    // Sums of ≤ 65 f32 terms per row: a few ulps of values of order 1.
                    scalar_close(&format!("{}: loss", c.label()), got, want, Tol::new(1e-5, 1e-5))?;
                    let grads = loss.backward().on_learner()?;
                    let g = grads.get(student.as_tensor()).ok_or_else(|| Fail::Mismatch(format!("{}: no gradient reached the student's logits", c.label())))?;
                    let none = Candidate { description: "nothing (the gradient is empty)", tensor: g.zeros_like().grader()? };
                    close_with(&format!("{}: d loss / d student", c.label()), g, &c.t("grad")?, Tol::new(1e-6, 1e-4), &[none])?;
                    ensure(grads.get(teacher.as_tensor()).is_none(), || format!("{}: a gradient flowed into the teacher's logits: detach them", c.label()))?;
                }
                Ok(())
            },
        ),
        DAY.exercise("distill", "a half-width student distilled from the char-GPT beats the same student trained alone (long)")
            .pace(2, 20)
            .long()
            .timeout(Duration::from_secs(3600))
            .check("your train, 600 steps each: distilled validation loss below the scratch run's", distill_run),
    ]
}

fn soft(logits: &Tensor, t: f64) -> Result<Tensor, Fail> {
    candle_nn::ops::log_softmax(&(logits / t).grader()?, D::Minus1).grader()
}

/// The student: the baby GPT's recipe at half its width, for 600 steps.
const STUDENT: &str = r#"
lr = 0.002
min_lr = 0.0002
warmup_steps = 50
max_steps = 600
batch_size = 12
accumulate = 1
weight_decay = 0.1
beta2 = 0.99
grad_clip = 1.0
seed = 1337
checkpoint_every = 300

[model]
n_layer = 4
n_head = 4
block_size = 64
n_embd = 64
n_hidden = 256
dropout = 0.0
"#;

/// The distillation settings: temperature and the weight of the soft targets.
const TEMPERATURE: f64 = 2.0;
const ALPHA: f64 = 0.9;

/// Week 3's saved char-GPT as the teacher, or why not.
fn saved_teacher(ctx: &Ctx, chars: &[char]) -> Result<(cg::CharGpt, f64), String> {
    let saved = super::chargpt::saved_chargpt(ctx)?;
    let (cfg, val) = (saved.model.cfg, saved.val_loss);
    ensure_str(saved.chars == chars, "its vocabulary is not Tiny Shakespeare's")?;
    ensure_str(val <= 2.2, &format!("its validation loss {val:.3} is above 2.2"))?;
    ensure_str(cfg.block_size >= 64 && cfg.n_embd >= 128, "it is smaller than the baby GPT")?;
    Ok((saved.model, val))
}

fn ensure_str(ok: bool, why: &str) -> Result<(), String> {
    if ok {
        Ok(())
    } else {
        Err(why.to_string())
    }
}

fn distill_run(ctx: &Ctx) -> Result<(), Fail> {
    let (ids, chars) = super::shakespeare(usize::MAX)?;
    let split = ids.len() * 9 / 10;
    let (train, val) = (&ids[..split], &ids[split..]);
    let start = Instant::now();
    let teacher = match saved_teacher(ctx, &chars) {
        Ok((m, v)) => {
            ctx.note(format!("teacher: week 3's char-GPT ({} layers, {} wide, validation loss {v:.3})", m.cfg.n_layer, m.cfg.n_embd));
            m
        }
        Err(why) => {
            // The baby GPT's recipe for 800 steps: a weaker teacher, minutes instead of twelve.
            let mut cfg = super::config(super::chargpt::BABY)?;
            cfg.max_steps = 800;
            let g = &cfg.model;
            let gcfg = cg::GptConfig { vocab: chars.len(), n_layer: g.n_layer, n_head: g.n_head, n_embd: g.n_embd, block_size: g.block_size, dropout: 0.0 };
            let m = cg::CharGpt::new(gcfg, cfg.seed, &ctx.device).grader()?;
            let dir = super::train_loop::scratch(ctx, "teacher")?;
            tl::train(&cfg, &m, train, &dir).learner()?;
            let v = super::chargpt::val_loss(ctx, &m, val, gcfg.block_size)?;
            ctx.note(format!(
                "teacher: week 3's char-GPT is not used ({why}); a baby GPT trained here for 800 steps instead (validation loss {v:.3}, {:.0}s)",
                start.elapsed().as_secs_f64()
            ));
            m
        }
    };
    let cfg = super::config(STUDENT)?;
    let g = &cfg.model;
    let scfg = cg::GptConfig { vocab: chars.len(), n_layer: g.n_layer, n_head: g.n_head, n_embd: g.n_embd, block_size: g.block_size, dropout: 0.0 };
    let mut result = Vec::new();
    for distilled in [false, true] {
        let t0 = Instant::now();
        let student = cg::CharGpt::new(scfg, cfg.seed, &ctx.device).grader()?;
        let dir = super::train_loop::scratch(ctx, if distilled { "distilled" } else { "alone" })?;
        let losses = if distilled {
            let m = ds::Distilled { student: &student, teacher: &teacher, temperature: TEMPERATURE, alpha: ALPHA };
            tl::train(&cfg, &m, train, &dir).learner()?
        } else {
            tl::train(&cfg, &student, train, &dir).learner()?
        };
        ensure(losses.len() == cfg.max_steps, || format!("train returned {} losses for {} steps", losses.len(), cfg.max_steps))?;
        result.push((super::chargpt::val_loss(ctx, &student, val, scfg.block_size)?, t0.elapsed().as_secs_f64()));
    }
    let ((alone, ta), (dist, td)) = (result[0], result[1]);
    ctx.note(format!(
        "student (4 layers, 64 wide, {} steps): validation loss {alone:.3} trained alone ({ta:.0}s), {dist:.3} distilled at T = {TEMPERATURE}, α = {ALPHA} ({td:.0}s)",
        cfg.max_steps
    ));
    ensure(dist < alone, || format!("the distilled student's validation loss {dist:.3} is not below the one trained alone ({alone:.3})"))
}
