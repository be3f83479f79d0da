//! Checks for week3 day "lora": LoRA on week 3's fixture GPT against Hugging Face `peft`
//! (fixtures/gen/week3_lora.py, r = 4, α = 8, targets c_attn / c_proj / c_fc): which weights
//! get adapters and the trainable count, the initialisation's distribution, the adapted
//! model's logits, loss and adapter gradients (none into the frozen base), one AdamW step, and
//! merge / unmerge.

use crate::cases::FixtureFile;
use crate::check::{ensure, CheckResult, Ctx, Fail, Learner};
use crate::compare::{close, scalar_close, Tol};
use crate::registry::{Day, Exercise};
use crate::subject::week3::chargpt as cg;
use crate::subject::week3::lora as lr;
use crate::subject::week3::model::Model;
use crate::subject::week3::train_loop as tl;
use candle_core::{DType, Tensor, Var};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;

const FX: FixtureFile = FixtureFile::new("week3/lora.safetensors");

const DAY: Day = Day::new("week3", "lora", "src/lora.rs");

/// peft's `target_modules` in the fixture (and the QLoRA day's quantised weights).
pub(crate) const TARGETS: [&str; 3] = ["c_attn", "c_proj", "c_fc"];

/// Week 3's fixture GPT, and its batch.
fn base(ctx: &Ctx) -> Result<(cg::CharGpt, Tensor, Tensor), Fail> {
    let (m, fx) = super::chargpt::fixture_model(ctx)?;
    let ids = |k: &str| -> Result<Tensor, Fail> { fx.get(k)?.to_dtype(DType::U32).grader() };
    Ok((m, ids("fwd.x")?, ids("fwd.y")?))
}

/// The adapted weights' names, from the fixture.
fn adapted(ctx: &Ctx) -> Result<Vec<String>, Fail> {
    Ok(FX.open(ctx)?.names_with_prefix("a.").iter().map(|n| n["a.".len()..].to_string()).collect())
}

/// peft's adapters (the fixture's A and B values) as a `Lora` of the grader's making.
pub(crate) fn fixture_lora(ctx: &Ctx) -> Result<lr::Lora, Fail> {
    let fx = FX.open(ctx)?;
    let mut adapters = BTreeMap::new();
    for name in adapted(ctx)? {
        let a = Var::from_tensor(&fx.get(&format!("a.{name}"))?).grader()?;
        let b = Var::from_tensor(&fx.get(&format!("b.{name}"))?).grader()?;
        adapters.insert(name, (a, b));
    }
    Ok(lr::Lora { r: 4, alpha: 8.0, adapters })
}

pub fn exercises() -> Vec<Exercise> {
    vec![
        DAY.exercise("lora_init", "adapters on c_attn, c_proj and c_fc, chosen by name as peft chooses them")
            .pace(2, 25)
            .function("lora_init")
            .check("the same weights adapted as peft's target_modules, the same trainable count, B = 0", |ctx| {
                let (m, _, _) = base(ctx)?;
                let l = lr::lora_init(&m, &TARGETS, 4, 8.0, &mut ChaCha8Rng::seed_from_u64(0)).learner()?;
                let want = adapted(ctx)?;
                let got: Vec<String> = l.adapters.keys().cloned().collect();
                ensure(got == want, || format!("adapters on {got:?}; peft adapts {want:?}"))?;
                ensure(l.r == 4 && l.alpha == 8.0, || format!("r = {}, α = {}: expected the 4 and 8 passed in", l.r, l.alpha))?;
                let fx = FX.open(ctx)?;
                for (name, (a, b)) in &l.adapters {
                    let (wa, wb) = (fx.get(&format!("a.{name}"))?, fx.get(&format!("b.{name}"))?);
                    ensure(a.dims() == wa.dims() && b.dims() == wb.dims(), || {
                        format!("{name}: A {:?} and B {:?}, peft's are {:?} and {:?}", a.dims(), b.dims(), wa.dims(), wb.dims())
                    })?;
                    let zero = b.as_tensor().abs().grader()?.max_all().grader()?.to_scalar::<f32>().grader()?;
                    ensure(zero == 0.0, || format!("{name}: B is not zero (largest |B| {zero}): training must start from the base model exactly"))?;
                }
                let count: usize = l.vars().iter().map(|(_, v)| v.elem_count()).sum();
                let peft = fx.values("count")?[0] as usize;
                ensure(count == peft, || format!("{count} trainable parameters; peft's model has {peft}"))?;
                let only = lr::lora_init(&m, &["c_attn"], 2, 4.0, &mut ChaCha8Rng::seed_from_u64(0)).learner()?;
                let names: Vec<&String> = only.adapters.keys().collect();
                ensure(names.len() == super::chargpt::TINY.n_layer && names.iter().all(|n| n.ends_with(".attn.c_attn.weight")), || {
                    format!("targets [\"c_attn\"] adapted {names:?}")
                })
            })
            .check("A uniform in ±1/√in (peft's kaiming_uniform_ with a = √5)", |ctx| {
                let (m, _, _) = base(ctx)?;
                let l = lr::lora_init(&m, &TARGETS, 8, 16.0, &mut ChaCha8Rng::seed_from_u64(5)).learner()?;
                let (mut n, mut sq) = (0usize, 0f64);
                for (name, (a, _)) in &l.adapters {
                    let bound = 1.0 / (a.dim(1).grader()? as f64).sqrt();
                    for v in a.as_tensor().flatten_all().grader()?.to_vec1::<f32>().grader()? {
                        let u = v as f64 / bound;
                        ensure(u.abs() <= 1.0 + 1e-6, || format!("{name}: A holds {v}, outside ±1/√in = ±{bound:.4}"))?;
                        sq += u * u;
                        n += 1;
                    }
                }
                // u uniform in [−1, 1]: E[u²] = 1/3, sd of u² = √(4/45) ≈ 0.298; 5 σ of the mean.
                let mean = sq / n as f64;
                let tol = 5.0 * (4.0f64 / 45.0).sqrt() / (n as f64).sqrt();
                ensure((mean - 1.0 / 3.0).abs() <= tol, || {
                    format!("mean of (A / bound)² over {n} values is {mean:.4}, a uniform draw in ±1/√in gives 1/3 ± {tol:.4} (the bound uses the input width)")
                })
            }),
        DAY.exercise("lora_model", "the adapted model: W + (α/r)·B·A, gradients only into A and B")
            .pace(2, 30)
            .function("Lora::apply")
            .check("logits, loss and adapter gradients vs peft; no gradient into the base", |ctx| {
                let (m, x, y) = base(ctx)?;
                let fx = FX.open(ctx)?;
                let l = fixture_lora(ctx)?;
                let am = l.apply(&m).learner()?;
                let names: Vec<String> = am.vars.keys().cloned().collect();
                let want: Vec<String> = l.vars().into_iter().map(|(n, _)| n).collect::<std::collections::BTreeSet<_>>().into_iter().collect();
                ensure(names == want, || format!("the adapted model's variables are {names:?}; expected only the adapters {want:?}"))?;
                let logits = am.forward(&x, false, &mut ChaCha8Rng::seed_from_u64(0)).learner()?;
                // Two blocks of f32 matmuls, W + (α/r)·B·A merged before the product (peft adds
                // the two products): a few ulps of values of order 1.
                close("logits [2, 32, 65]", &logits, &fx.get("logits")?, Tol::new(2e-5, 1e-4))?;
                let loss = am.loss(&x, &y, false, &mut ChaCha8Rng::seed_from_u64(0)).learner()?;
                scalar_close("loss", loss.to_scalar::<f32>().on_learner()? as f64, fx.f64("loss")?, Tol::new(1e-5, 1e-5))?;
                let grads = loss.backward().on_learner()?;
                for (name, var) in &m.vars {
                    ensure(grads.get(var.as_tensor()).is_none(), || format!("a gradient reached the frozen base weight {name}: detach W"))?;
                }
                for (name, (a, b)) in &l.adapters {
                    for (what, v, key) in [("A", a, "grad_a"), ("B", b, "grad_b")] {
                        let g = grads.get(v.as_tensor()).ok_or_else(|| Fail::Mismatch(format!("no gradient reached {what} of {name}")))?;
                        close(&format!("d loss / d {what} of {name}"), g, &fx.get(&format!("{key}.{name}"))?, Tol::new(1e-6, 1e-3))?;
                    }
                }
                Ok(())
            })
            .check("one step of your AdamW on the adapters equals torch's; the base stays bit for bit", |ctx| {
                let (m, x, y) = base(ctx)?;
                let before: Vec<Vec<f32>> = super::snapshot(m.vars.values().map(|v| v.as_tensor()))?;
                let fx = FX.open(ctx)?;
                let l = fixture_lora(ctx)?;
                let model = lr::LoraModel { base: &m, lora: &l };
                let mut opt = tl::AdamW::new(model.vars(), 0.1).learner()?;
                let loss = model.loss(&x, &y, false, &mut ChaCha8Rng::seed_from_u64(0)).learner()?;
                let grads = loss.backward().on_learner()?;
                let gs = super::grads_of(&grads, &model.vars())?;
                opt.step(&gs, 1e-2).learner()?;
                for (name, (a, b)) in &l.adapters {
                    // One Adam step of size ≈ lr = 1e-2 from f32 gradients.
                    close(&format!("A of {name} after the step"), a.as_tensor(), &fx.get(&format!("step_a.{name}"))?, Tol::new(1e-6, 1e-5))?;
                    close(&format!("B of {name} after the step"), b.as_tensor(), &fx.get(&format!("step_b.{name}"))?, Tol::new(1e-6, 1e-5))?;
                }
                let after: Vec<Vec<f32>> = super::snapshot(m.vars.values().map(|v| v.as_tensor()))?;
                ensure(before == after, || "a base weight changed during the step".into())
            }),
        DAY.exercise("merge", "merge B·A into W, and take it out again")
            .pace(2, 20)
            .function("Lora::merge")
            .check("merged weights vs peft's merge_and_unload; its logits equal the adapted model's; unmerge restores W", merge_check),
    ]
}

fn merge_check(ctx: &Ctx) -> CheckResult {
    let (m, x, _) = base(ctx)?;
    let fx = FX.open(ctx)?;
    let l = fixture_lora(ctx)?;
    let merged = l.merge(&m).learner()?;
    for name in adapted(ctx)? {
        // W + 2 · (B·A) with r = 4 terms per entry: an ulp or two.
        close(&format!("merged {name}"), merged.w(&name).on_learner()?, &fx.get(&format!("merged.{name}"))?, Tol::new(1e-6, 1e-6))?;
    }
    let names: Vec<&String> = merged.vars.keys().collect();
    let want: Vec<&String> = m.vars.keys().collect();
    ensure(names == want, || format!("the merged model's variables are {} names; a plain model has the base's {}", names.len(), want.len()))?;
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let adapted_logits = l.apply(&m).learner()?.forward(&x, false, &mut rng).learner()?;
    let logits = merged.forward(&x, false, &mut rng).learner()?;
    close("merged model's logits vs the adapted model's", &logits, &adapted_logits, Tol::new(1e-5, 1e-5))?;
    close("merged model's logits vs peft's merged model", &logits, &fx.get("merged_logits")?, Tol::new(2e-5, 1e-4))?;
    // The merged model owns its weights: changing them leaves the base as it was.
    for v in merged.vars.values() {
        v.set(&v.as_tensor().zeros_like().grader()?).grader()?;
    }
    let back = l.unmerge(&l.merge(&m).learner()?).learner()?;
    for (name, var) in &m.vars {
        let w = var.as_tensor();
        ensure(w.abs().grader()?.max_all().grader()?.to_scalar::<f32>().grader()? > 0.0 || name.ends_with(".bias"), || {
            format!("{name} of the base model became zero when the merged model's weights were: merge must copy, not share")
        })?;
        // (W + Δ) − Δ in f32: an ulp of W + Δ.
        close(&format!("unmerge(merge(·)) {name}"), back.w(name).on_learner()?, w, Tol::new(1e-6, 1e-6))?;
    }
    Ok(())
}
