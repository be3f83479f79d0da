//! Checks for week3 day "adapters_prompts": Houlsby adapters (against a torch version written
//! from the paper: peft has none), prompt tuning and prefix tuning (against Hugging Face `peft`
//! on transformers' GPT-2 carrying week 3's fixture GPT; fixtures/gen/week3_adapters.py): the
//! logits, the loss and the trainable tensors' gradients, no gradient into the frozen base, the
//! trainable counts, the length limit, and a few steps of the learner's AdamW lowering the loss.

use crate::cases::FixtureFile;
use crate::check::{ensure, CheckResult, Ctx, Fail, Learner};
use crate::compare::{close, scalar_close, Tol};
use crate::registry::{Day, Exercise};
use crate::subject::week3::adapters as ad;
use crate::subject::week3::chargpt as cg;
use crate::subject::week3::model::Model;
use crate::subject::week3::train_loop as tl;
use candle_core::{DType, Tensor, Var};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;

const FX: FixtureFile = FixtureFile::new("week3/adapters.safetensors");

const DAY: Day = Day::new("week3", "adapters_prompts", "src/adapters.rs");

/// The fixture's number of virtual tokens (prompt and prefix) and the adapters' bottleneck.
const P: usize = 6;
const M: usize = 8;

/// Week 3's fixture GPT with the layer norms' gains and biases of this fixture (moved away from 1
/// and 0, so that a layer norm's mistakes show), and the fixture's batch (26 positions: 6
/// virtual tokens fill the rest).
fn base(ctx: &Ctx) -> Result<(cg::CharGpt, Tensor, Tensor), Fail> {
    let (m, _) = super::chargpt::fixture_model(ctx)?;
    let fx = FX.open(ctx)?;
    let mut w: BTreeMap<String, Tensor> = m.weights.clone();
    for name in fx.names_with_prefix("base.transformer.") {
        w.insert(name["base.".len()..].to_string(), fx.get(&name)?);
    }
    let m = cg::CharGpt::from_tensors(m.cfg, &w).grader()?;
    let ids = |k: &str| -> Result<Tensor, Fail> { fx.get(k)?.to_dtype(DType::U32).grader() };
    Ok((m, ids("x")?, ids("y")?))
}

fn var(fx: &crate::check::Fixture, name: &str) -> Result<Var, Fail> {
    Var::from_tensor(&fx.get(name)?).grader()
}

/// The logits `[2, 26, 65]`, the loss through `Tuned` (the learner's forward and the given
/// cross-entropy) and every trainable tensor's gradient against the fixture; no gradient into
/// the base.
fn against_fixture<P: ad::Peft>(ctx: &Ctx, method: &P, what: &str, grad_key: impl Fn(&str) -> String) -> CheckResult {
    let (m, x, y) = base(ctx)?;
    let fx = FX.open(ctx)?;
    let logits = method.logits(&m, &x).learner()?;
    ensure(logits.dims() == [2, 26, 65], || format!("logits of shape {:?}; expected [2, 26, 65], one row per real token", logits.dims()))?;
    // Two blocks of f32 arithmetic on values of order 1: a few ulps.
    close("logits [2, 26, 65]", &logits, &fx.get(&format!("{what}.logits"))?, Tol::new(2e-5, 1e-4))?;
    let tuned = ad::Tuned { base: &m, method };
    let loss = tuned.loss(&x, &y, false, &mut ChaCha8Rng::seed_from_u64(0)).learner()?;
    scalar_close("loss", loss.to_scalar::<f32>().on_learner()? as f64, fx.f64(&format!("{what}.loss"))?, Tol::new(1e-5, 1e-5))?;
    let grads = loss.backward().on_learner()?;
    for (name, v) in &m.vars {
        ensure(grads.get(v.as_tensor()).is_none(), || format!("a gradient reached the frozen base weight {name}: run on frozen(base)"))?;
    }
    for (name, v) in method.vars() {
        let g = grads.get(v.as_tensor()).ok_or_else(|| Fail::Mismatch(format!("no gradient reached {name}")))?;
        close(&format!("d loss / d {name}"), g, &fx.get(&grad_key(&name))?, Tol::new(1e-6, 1e-3))?;
    }
    Ok(())
}

/// Twenty steps of the learner's AdamW (lr 1e-2) on the fixture batch lower the loss, and leave
/// every base weight as it was.
fn trains<P: ad::Peft>(ctx: &Ctx, m: &cg::CharGpt, method: &P) -> CheckResult {
    let (_, x, y) = base(ctx)?;
    let before: Vec<Vec<f32>> = super::snapshot(m.vars.values().map(|v| v.as_tensor()))?;
    let tuned = ad::Tuned { base: m, method };
    let mut opt = tl::AdamW::new(tuned.vars(), 0.0).learner()?;
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let mut losses = Vec::new();
    for _ in 0..20 {
        let loss = tuned.loss(&x, &y, true, &mut rng).learner()?;
        losses.push(loss.to_scalar::<f32>().on_learner()? as f64);
        let grads = loss.backward().on_learner()?;
        let gs = super::grads_of(&grads, &tuned.vars())?;
        opt.step(&gs, 1e-2).learner()?;
    }
    let after: Vec<Vec<f32>> = super::snapshot(m.vars.values().map(|v| v.as_tensor()))?;
    ensure(before == after, || "a base weight changed during training".into())?;
    // The fixture GPT is untrained (weights of size 0.02), so little steers it: the reference
    // lowers this batch's loss by 0.16 (adapters), 0.018 (prompt) and 0.026 (prefix) nats in
    // these 20 steps. Nothing here is random (no dropout, one batch), so any real drop means
    // the gradients reach the method's variables and point downhill; 0.005 asks for one.
    let (first, last) = (losses[0], losses[losses.len() - 1]);
    ensure(last < first - 0.005, || format!("20 steps of AdamW at lr 1e-2 on one batch took the loss from {first:.4} to {last:.4}; expected it to fall"))
}

/// The method run on a batch that does not fit beside its `P` virtual tokens must be an error.
fn too_long<P: ad::Peft>(ctx: &Ctx, method: &P) -> CheckResult {
    let (m, _, _) = base(ctx)?;
    let x = Tensor::zeros((1, m.cfg.block_size - P + 1), DType::U32, &ctx.device).grader()?;
    ensure(method.logits(&m, &x).is_err(), || {
        format!("{} tokens after {P} virtual ones (block size {}) gave no error", m.cfg.block_size - P + 1, m.cfg.block_size)
    })
}

fn fixture_houlsby(ctx: &Ctx) -> Result<ad::Houlsby, Fail> {
    let fx = FX.open(ctx)?;
    let mut vars = BTreeMap::new();
    for name in fx.names_with_prefix("houlsby.transformer.") {
        vars.insert(name["houlsby.".len()..].to_string(), var(&fx, &name)?);
    }
    Ok(ad::Houlsby { bottleneck: M, vars })
}

fn fixture_prompt(ctx: &Ctx) -> Result<ad::SoftPrompt, Fail> {
    Ok(ad::SoftPrompt { embedding: var(&*FX.open(ctx)?, "prompt.embedding")? })
}

fn fixture_prefix(ctx: &Ctx) -> Result<ad::Prefix, Fail> {
    let fx = FX.open(ctx)?;
    let n = super::chargpt::TINY.n_layer;
    let keys = (0..n).map(|i| var(&fx, &format!("prefix.key.{i}"))).collect::<Result<_, _>>()?;
    let values = (0..n).map(|i| var(&fx, &format!("prefix.value.{i}"))).collect::<Result<_, _>>()?;
    Ok(ad::Prefix { keys, values })
}

/// The method's trainable count equals peft's for the same method.
fn count<P: ad::Peft>(ctx: &Ctx, method: &P, what: &str) -> CheckResult {
    let got: usize = method.vars().iter().map(|(_, v)| v.elem_count()).sum();
    let want = FX.open(ctx)?.values(&format!("{what}.count"))?[0] as usize;
    ensure(got == want, || format!("{got} trainable numbers; peft's model has {want}"))
}

pub fn exercises() -> Vec<Exercise> {
    vec![
        DAY.exercise("houlsby", "bottleneck adapters after every attention and every MLP")
            .pace(2, 30)
            .function("Houlsby::forward")
            .check("logits, loss and adapter gradients vs the paper's adapters in torch; no gradient into the base", |ctx| {
                let h = fixture_houlsby(ctx)?;
                against_fixture(ctx, &h, "houlsby", |name| format!("houlsby.grad.{name}"))
            })
            .check("new adapters (up = 0) leave the logits as they were; 20 AdamW steps lower the loss; the base stays bit for bit", |ctx| {
                let (m, x, _) = base(ctx)?;
                let h = ad::Houlsby::new(&m.cfg, M, &mut ChaCha8Rng::seed_from_u64(1), &ctx.device).grader()?;
                let plain = m.forward(&x, false, &mut ChaCha8Rng::seed_from_u64(0)).learner()?;
                let adapted = h.forward(&m, &x).learner()?;
                // The identity adapter adds exact zeros: the same operations as the plain forward.
                close("logits with identity adapters vs your plain forward", &adapted, &plain, Tol::new(1e-6, 1e-6))?;
                trains(ctx, &m, &h)
            }),
        DAY.exercise("prompt_tuning", "a soft prompt of 6 trainable embeddings before the real tokens")
            .pace(2, 25)
            .function("SoftPrompt::forward")
            .check("logits of the real tokens, loss and the prompt's gradient vs peft's prompt tuning; no gradient into the base", |ctx| {
                let sp = fixture_prompt(ctx)?;
                count(ctx, &sp, "prompt")?;
                against_fixture(ctx, &sp, "prompt", |_| "prompt.grad".into())
            })
            .check("a batch that does not fit beside the prompt is an error; 20 AdamW steps lower the loss", |ctx| {
                let (m, _, _) = base(ctx)?;
                let sp = ad::SoftPrompt::new(&m, P, &mut ChaCha8Rng::seed_from_u64(1)).grader()?;
                too_long(ctx, &sp)?;
                trains(ctx, &m, &sp)
            }),
        DAY.exercise("prefix_tuning", "6 trainable keys and values in front of every layer's attention")
            .pace(3, 35)
            .function("Prefix::forward")
            .check("logits, loss and the prefix's gradients vs peft's prefix tuning; no gradient into the base", |ctx| {
                let pr = fixture_prefix(ctx)?;
                count(ctx, &pr, "prefix")?;
                against_fixture(ctx, &pr, "prefix", |name| format!("prefix.grad.{}", &name["prefix.".len()..]))
            })
            .check("a batch that does not fit after the prefix is an error; 20 AdamW steps lower the loss", |ctx| {
                let (m, _, _) = base(ctx)?;
                let pr = ad::Prefix::new(&m.cfg, P, &mut ChaCha8Rng::seed_from_u64(1), &ctx.device).grader()?;
                too_long(ctx, &pr)?;
                trains(ctx, &m, &pr)
            }),
    ]
}
