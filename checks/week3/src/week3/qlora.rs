//! Checks for week3 day "qlora": week 3's fixture GPT with its linear layers in NF4 and
//! double-quantised scales against the numpy implementation (fixtures/gen/quant.py via
//! week3_lora.py: packed codes, dequantised weights, torch's logits of the dequantised model,
//! peft's logits with LoRA on top), and a short fine-tune of the adapters over the 4-bit base by
//! the learner's own train loop: the loss falls and the stored base does not change.

use crate::cases::FixtureFile;
use crate::check::{ensure, CheckResult, Ctx, Fail, Learner};
use crate::compare::{close, Tol};
use crate::registry::{Day, Exercise};
use crate::subject::week3::chargpt as cg;
use crate::subject::week3::lora as lr;
use crate::subject::week3::qlora as ql;
use crate::subject::week3::train_loop as tl;
use candle_core::{DType, Tensor};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;
use std::time::Duration;

const FX: FixtureFile = FixtureFile::new("week3/lora.safetensors");

const DAY: Day = Day::new("week3", "qlora", "src/qlora.rs");

use super::lora::TARGETS;

/// Week 3's fixture GPT, and its batch's inputs.
fn base(ctx: &Ctx) -> Result<(cg::CharGpt, Tensor), Fail> {
    let (m, fx) = super::chargpt::fixture_model(ctx)?;
    Ok((m, fx.get("fwd.x")?.to_dtype(DType::U32).grader()?))
}

fn quantised_names(ctx: &Ctx) -> Result<Vec<String>, Fail> {
    Ok(FX.open(ctx)?.names_with_prefix("q.packed.").iter().map(|n| n["q.packed.".len()..].to_string()).collect())
}

/// One quantised weight's name, packed codes, scale codes, and offset with scales.
type Stored = (String, Vec<u8>, Vec<i8>, Vec<f32>);

/// Every stored byte and value of a quantised model, to compare before and after training.
fn storage(q: &ql::QuantGpt) -> Vec<Stored> {
    q.quantised
        .iter()
        .map(|(n, (d, _))| (n.clone(), d.nf4.packed.clone(), d.scales.codes.clone(), [vec![d.offset], d.scales.scales.clone()].concat()))
        .collect()
}

pub fn exercises() -> Vec<Exercise> {
    vec![
        DAY.exercise("quantise_model", "the linear layers in NF4 with double quantisation, the rest in f32").pace(2, 20).function("quantise_model").check(
            "the same weights quantised as LoRA adapts, packed codes vs numpy, the rest kept bit for bit",
            |ctx| {
                let (m, _) = base(ctx)?;
                let fx = FX.open(ctx)?;
                let q = ql::quantise_model(&m, &TARGETS).learner()?;
                let names: Vec<String> = q.quantised.keys().cloned().collect();
                let want = quantised_names(ctx)?;
                ensure(names == want, || format!("quantised {names:?}; LoRA's targets are {want:?}"))?;
                for (name, (d, shape)) in &q.quantised {
                    ensure(shape.as_slice() == m.w(name).grader()?.dims(), || {
                        format!("{name}: shape {shape:?} kept, the weight is {:?}", m.w(name).map(|w| w.dims().to_vec()))
                    })?;
                    let want: Vec<u8> = fx.values(&format!("q.packed.{name}"))?.iter().map(|&v| v as u8).collect();
                    ensure(d.nf4.packed == want, || format!("{name}: the packed NF4 codes differ from numpy's (flatten row-major, blocks of 64)"))?;
                    ensure(d.nf4.block == 64 && d.scales.block == 256 && d.scales.bits == 8, || {
                        format!("{name}: blocks of {} and {} at {} bits; QLoRA's are 64 and 256 at 8", d.nf4.block, d.scales.block, d.scales.bits)
                    })?;
                }
                let kept: Vec<&String> = q.kept.keys().collect();
                let others: Vec<&String> = m.weights.keys().filter(|n| !want.contains(n)).collect();
                ensure(kept == others, || format!("kept in f32: {kept:?}; expected every other weight {others:?}"))?;
                for (name, t) in &q.kept {
                    close(&format!("kept {name}"), t, m.w(name).grader()?, Tol::EXACT)?;
                }
                let f32_bytes: usize = m.weights.values().map(|t| 4 * t.elem_count()).sum();
                let qw: usize = q.quantised.values().map(|(d, _)| d.nf4.len).sum();
                ctx.note(format!(
                    "{} of {} bytes ({:.1} %): {qw} weights in NF4 with double quantisation, {} kept in f32",
                    q.bytes(),
                    f32_bytes,
                    100.0 * q.bytes() as f64 / f32_bytes as f64,
                    q.kept.values().map(|t| t.elem_count()).sum::<usize>()
                ));
                Ok(())
            },
        ),
        DAY.exercise("dequantise_model", "the 4-bit model, dequantised for the forward pass").pace(1, 15).function("QuantGpt::dequantise").check(
            "dequantised weights vs numpy, logits vs torch's on them, no variables",
            |ctx| {
                let (m, x) = base(ctx)?;
                let fx = FX.open(ctx)?;
                let q = ql::quantise_model(&m, &TARGETS).learner()?;
                let d = q.dequantise(&ctx.device).learner()?;
                ensure(d.vars.is_empty(), || format!("the dequantised model has {} variables: it is frozen, LoRA adds the trainable ones", d.vars.len()))?;
                for name in quantised_names(ctx)? {
                    // The same f32 products as numpy: an ulp.
                    close(&format!("dequantised {name}"), d.w(&name).on_learner()?, &fx.get(&format!("q.deq.{name}"))?, Tol::new(1e-7, 1e-6))?;
                }
                let logits = d.forward(&x, false, &mut ChaCha8Rng::seed_from_u64(0)).learner()?;
                close("logits of the dequantised model", &logits, &fx.get("q.logits")?, Tol::new(2e-5, 1e-4))
            },
        ),
        DAY.exercise("qlora", "LoRA over the 4-bit base: peft's logits, a short fine-tune, the base unchanged")
            .pace(1, 20)
            .timeout(Duration::from_secs(120))
            .check("your LoRA on your dequantised model vs peft on numpy's", |ctx| {
                let (m, x) = base(ctx)?;
                let fx = FX.open(ctx)?;
                let d = ql::quantise_model(&m, &TARGETS).learner()?.dequantise(&ctx.device).learner()?;
                let l = super::lora::fixture_lora(ctx)?;
                let logits = l.apply(&d).learner()?.forward(&x, false, &mut ChaCha8Rng::seed_from_u64(0)).learner()?;
                close("QLoRA logits", &logits, &fx.get("q.lora_logits")?, Tol::new(2e-5, 1e-4))
            })
            .check("80 steps of your train on the adapters: the loss falls as over the f32 base, the 4-bit base is bit-identical", fine_tune),
    ]
}

/// A short run on Tiny Shakespeare over the fixture model. Its weights are random and its
/// output head is tied to the frozen embedding, so adapters alone lower the loss only a little
/// (4.17 → 4.03 for the reference): enough to see training work, and to compare the 4-bit base
/// with the f32 one under the same run.
const QLORA: &str = r#"
lr = 0.03
min_lr = 0.003
warmup_steps = 5
max_steps = 80
batch_size = 8
accumulate = 1
weight_decay = 0.0
beta2 = 0.95
grad_clip = 1.0
seed = 3
checkpoint_every = 40

[model]
n_layer = 2
n_head = 4
block_size = 32
n_embd = 32
n_hidden = 128
dropout = 0.0
"#;

/// `train` on r = 8 adapters over `base`: the losses and the adapters' size in bytes.
fn adapt(ctx: &Ctx, base: &cg::CharGpt, name: &str) -> Result<(Vec<f32>, usize), Fail> {
    let l = lr::lora_init(base, &TARGETS, 8, 16.0, &mut ChaCha8Rng::seed_from_u64(1)).learner()?;
    let (ids, _) = super::shakespeare(200_000)?;
    let cfg = super::config(QLORA)?;
    let dir = super::train_loop::scratch(ctx, name)?;
    let losses = tl::train(&cfg, &lr::LoraModel { base, lora: &l }, &ids, &dir).learner()?;
    ensure(losses.len() == cfg.max_steps, || format!("train returned {} losses for {} steps", losses.len(), cfg.max_steps))?;
    Ok((losses, l.vars().iter().map(|(_, v)| 4 * v.elem_count()).sum()))
}

fn fine_tune(ctx: &Ctx) -> CheckResult {
    let (m, _) = base(ctx)?;
    let q = ql::quantise_model(&m, &TARGETS).learner()?;
    let before = storage(&q);
    let d = q.dequantise(&ctx.device).learner()?;
    let weights = |g: &cg::CharGpt| super::snapshot(g.weights.values());
    let weights_before = weights(&d)?;
    let (losses, adapter_bytes) = adapt(ctx, &d, "qlora")?;
    ensure(storage(&q) == before, || "the quantised storage changed during training".into())?;
    ensure(weights(&d)? == weights_before, || "a dequantised base weight changed during training: only the adapters may".into())?;
    let frozen = cg::CharGpt { cfg: m.cfg, vars: BTreeMap::new(), weights: m.weights.iter().map(|(k, v)| (k.clone(), v.detach())).collect() };
    let (plain, _) = adapt(ctx, &frozen, "lora-f32")?;
    let tail = |l: &[f32]| l[l.len() - 10..].iter().sum::<f32>() / 10.0;
    let (first, last, last_f32) = (losses[0], tail(&losses), tail(&plain));
    let f32_bytes: usize = m.weights.values().map(|t| 4 * t.elem_count()).sum();
    ctx.note(format!(
        "loss {first:.3} → {last:.3} over the 4-bit base, {:.3} → {last_f32:.3} over the f32 base (means of the last 10 of {} steps); parameters: {} bytes (4-bit base {} + f32 adapters {adapter_bytes}) against {f32_bytes} for the f32 model",
        plain[0],
        losses.len(),
        q.bytes() + adapter_bytes,
        q.bytes()
    ));
    ensure(last < first - 0.1, || format!("the loss went from {first:.3} to {last:.3}: needs to fall by more than 0.1"))?;
    // The dequantised weights differ from the f32 ones by a few percent of each block's absmax;
    // the reference's two runs end 0.002 apart.
    ensure((last - last_f32).abs() < 0.02, || {
        format!("over the 4-bit base the loss ends at {last:.3}, over the f32 base at {last_f32:.3}: more than 0.02 apart")
    })
}
