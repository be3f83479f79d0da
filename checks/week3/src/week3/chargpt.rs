//! Checks for week3 day "chargpt": the character vocabulary against the grader's own, the
//! GPT's logits, loss and every gradient against torch (fixtures/gen/week3_chargpt.py), 20
//! steps of nanoGPT's recipe built from the learner's train-loop pieces against torch's run
//! from the same weights and batches, sampling replayed, a short run of the learner's `train`
//! that must beat the unigram baseline on held-out text, and (long) nanoGPT's CPU "baby GPT",
//! saved for weeks 4 and 5.

use crate::cases::FixtureFile;
use crate::check::{ensure, CheckResult, Ctx, Fail, Learner};
use crate::compare::{close, scalar_close, Tol};
use crate::registry::{Day, Exercise};
use crate::subject::week3::chargpt as cg;
use crate::subject::week3::model::Model;
use crate::subject::week3::train_loop as tl;
use candle_core::{DType, Device, Tensor};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const FX: FixtureFile = FixtureFile::new("week3/chargpt.safetensors");

const DAY: Day = Day::new("week3", "chargpt", "src/chargpt.rs");

/// The fixture's model: vocab 65, 2 layers, 4 heads, 32 wide, 32 positions, no dropout.
pub(crate) const TINY: cg::GptConfig = cg::GptConfig { vocab: 65, n_layer: 2, n_head: 4, n_embd: 32, block_size: 32, dropout: 0.0 };

pub fn exercises() -> Vec<Exercise> {
    vec![
        DAY.exercise("vocab", "a character vocabulary").pace(1, 10).function("Vocab::new").check(
            "Tiny Shakespeare's 65 characters, sorted; round trips; unknown characters refused",
            |_| {
                let text = crate::data::text(&crate::data::TINY_SHAKESPEARE)?;
                let v = cg::Vocab::new(&text);
                let mine: Vec<char> = text.chars().collect::<std::collections::BTreeSet<char>>().into_iter().collect();
                ensure(v.chars == mine, || {
                    format!(
                        "{} characters {:?}…, expected the {} distinct characters in sorted order",
                        v.chars.len(),
                        &v.chars[..v.chars.len().min(8)],
                        mine.len()
                    )
                })?;
                let sample = &text[..2000];
                let ids = v.encode(sample).learner()?;
                let want: Vec<u32> = sample.chars().map(|c| mine.binary_search(&c).unwrap_or(0) as u32).collect();
                ensure(ids == want, || "encode gives ids other than each character's index in the sorted vocabulary".into())?;
                ensure(v.decode(&ids) == sample, || "decode(encode(text)) is not the text".into())?;
                ensure(v.encode("to be or not to be — ").is_err(), || "encode accepted '—', which Tiny Shakespeare does not contain".into())
            },
        ),
        DAY.exercise("forward", "nanoGPT's GPT: logits, loss and gradients vs torch")
            .pace(3, 60)
            .function("CharGpt::forward")
            .check("logits vs torch", |ctx| {
                let (m, fx) = fixture_model(ctx)?;
                let x = fx.get("fwd.x")?.to_dtype(DType::U32).grader()?;
                // Where it first goes wrong: the same model cut to its first k blocks (ln_f and
                // the head after them) against torch's, k = 0 (the embeddings alone) upwards.
                for k in 0..TINY.n_layer {
                    let cfg = cg::GptConfig { n_layer: k, ..TINY };
                    let mut w = BTreeMap::new();
                    for (name, _) in cg::CharGpt::shapes(&cfg) {
                        w.insert(name.clone(), fx.get(&format!("w.{name}"))?);
                    }
                    let cut = cg::CharGpt::from_tensors(cfg, &w).grader()?;
                    let got = cut.forward(&x, false, &mut ChaCha8Rng::seed_from_u64(0)).learner()?;
                    let what = if k == 0 { "the embeddings (wte[x] + wpe) then ln_f and the head, no block".to_string() } else { format!("the first {k} block(s) then ln_f and the head") };
                    close(&format!("first difference with {what}"), &got, &fx.get(&format!("depth.{k}.logits"))?, Tol::new(2e-5, 1e-4))?;
                }
                let logits = m.forward(&x, false, &mut ChaCha8Rng::seed_from_u64(0)).learner()?;
                // Two blocks of f32 matmuls over 32-wide rows: a few ulps of values of order 1.
                close("logits [2, 32, 65]", &logits, &fx.get("fwd.logits")?, Tol::new(2e-5, 1e-4))
            })
            .check("the exact (erf) GELU, on MLP pre-activations of order 1", |ctx| {
                let (m, fx) = fixture_model(ctx)?;
                let big = scaled_mlp(&m, fx.f64("big.scale")?)?;
                let x = fx.get("fwd.x")?.to_dtype(DType::U32).grader()?;
                let logits = big.forward(&x, false, &mut ChaCha8Rng::seed_from_u64(0)).learner()?;
                // The tanh approximation moves these logits by ~1.4e-4; the reference is within 1e-6.
                close("logits with the MLP weights scaled", &logits, &fx.get("big.logits")?, Tol::new(5e-6, 2e-5))
            })
            .check("the loss's gradient reaches every weight, as in torch", |ctx| {
                let (m, fx) = fixture_model(ctx)?;
                let ids = |k: &str| -> Result<Tensor, Fail> { fx.get(k)?.to_dtype(DType::U32).grader() };
                let loss = m.loss(&ids("fwd.x")?, &ids("fwd.y")?, false, &mut ChaCha8Rng::seed_from_u64(0)).learner()?;
                scalar_close("loss", loss.to_scalar::<f32>().on_learner()? as f64, fx.f64("fwd.loss")?, Tol::new(1e-5, 1e-5))?;
                let grads = loss.backward().on_learner()?;
                for (name, var) in &m.vars {
                    let g = grads.get(var.as_tensor()).ok_or_else(|| {
                        Fail::Mismatch(format!("no gradient reached {name} (candle's fused LayerNorm and softmax_last_dim have no backward)"))
                    })?;
                    // Gradients of order 1e-3..1e-1 through two blocks: f32 rounding ~1e-6.
                    close(&format!("d loss / d {name}"), g, &fx.get(&format!("fwd.grad.{name}"))?, Tol::new(1e-5, 1e-3))?;
                }
                Ok(())
            })
            .check("dropout only in training mode, one draw per element of the stated tensors", |ctx| {
                let (m, fx) = fixture_model(ctx)?;
                let x = fx.get("fwd.x")?.to_dtype(DType::U32).grader()?;
                let plain = m.forward(&x, false, &mut ChaCha8Rng::seed_from_u64(0)).learner()?;
                let mut w = BTreeMap::new();
                for (name, var) in &m.vars {
                    w.insert(name.clone(), var.as_tensor().clone());
                }
                let dropped = cg::CharGpt::from_tensors(cg::GptConfig { dropout: 0.1, ..TINY }, &w).grader()?;
                // The stream position of a ChaCha8Rng after `n` f32 draws from seed 9.
                let after = |n: usize| {
                    let mut r = ChaCha8Rng::seed_from_u64(9);
                    (0..n).for_each(|_| {
                        r.random::<f32>();
                    });
                    r.random::<u64>()
                };
                for (model, train, what) in [(&m, true, "training mode with dropout 0"), (&dropped, false, "evaluation mode with dropout 0.1")] {
                    let mut rng = ChaCha8Rng::seed_from_u64(9);
                    let out = model.forward(&x, train, &mut rng).learner()?;
                    close(&format!("logits in {what}"), &out, &plain, Tol::new(1e-6, 1e-6))?;
                    ensure(rng.random::<u64>() == after(0), || format!("the forward drew from the RNG in {what}: dropout must be skipped"))?;
                }
                let mut rng = ChaCha8Rng::seed_from_u64(9);
                let out = dropped.forward(&x, true, &mut rng).learner()?;
                let (b, t, c, h, l) = (2, 32, TINY.n_embd, TINY.n_head, TINY.n_layer);
                let draws = b * t * c + l * (b * h * t * t + 2 * b * t * c);
                ensure(rng.random::<u64>() == after(draws), || {
                    format!("in training mode with dropout 0.1 the forward did not draw exactly {draws} values (one per element of the embeddings, then per layer the attention weights, the attention output and the MLP output)")
                })?;
                let diff = (&out - &plain).on_learner()?.abs().on_learner()?.max_all().on_learner()?.to_scalar::<f32>().on_learner()?;
                ensure(diff > 1e-3, || "training mode with dropout 0.1 gave the same logits as evaluation mode".into())
            })
            .check("causal: changing the last character changes no earlier position's logits", |ctx| {
                let (m, fx) = fixture_model(ctx)?;
                let x = fx.get("fwd.x")?.to_dtype(DType::U32).grader()?;
                let mut v = x.to_vec2::<u32>().grader()?;
                let before = m.forward(&x, false, &mut ChaCha8Rng::seed_from_u64(0)).learner()?;
                for row in v.iter_mut() {
                    let last = row.len() - 1;
                    row[last] = (row[last] + 7) % 65;
                }
                let after = m.forward(&Tensor::new(v, &ctx.device).grader()?, false, &mut ChaCha8Rng::seed_from_u64(0)).learner()?;
                close(
                    "logits of positions 0..31 after the last character changed",
                    &after.narrow(1, 0, 31).on_learner()?,
                    &before.narrow(1, 0, 31).on_learner()?,
                    Tol::new(1e-6, 1e-6),
                )
            }),
        DAY.exercise("recipe", "20 steps of nanoGPT's recipe track torch's")
            .pace(2, 20)
            .check("losses, gradient norms and weights after 20 steps, from your train-loop pieces", recipe),
        DAY.exercise("sample", "sampling characters").pace(1, 20).function("sample").check("the stated draws, replayed on your model", |ctx| {
            let (m, _) = fixture_model(ctx)?;
            let prompt: Vec<u32> = (0..40).map(|i| (i * 7 % 65) as u32).collect();
            for (temp, seed) in [(1.0, 3u64), (0.5, 4), (2.0, 5)] {
                let got = cg::sample(&m, &prompt, 12, temp, &mut ChaCha8Rng::seed_from_u64(seed)).learner()?;
                let want = replay_sample(&m, &prompt, 12, temp, seed)?;
                ensure(got == want, || {
                    format!("temperature {temp}, seed {seed}: sampled {got:?}, expected {want:?} (the context is the last block_size = 32 ids)")
                })?;
            }
            Ok(())
        }),
        DAY.exercise("train_chargpt", "a short run beats the unigram baseline on held-out text").pace(2, 20).timeout(Duration::from_secs(120)).check(
            "300 steps of your train on your GPT: validation loss below the unigram entropy",
            |ctx| {
                let cfg = super::config(SHORT)?;
                let r = run(ctx, &cfg, "chargpt-short")?;
                ensure(r.val < r.unigram - 0.5, || {
                    format!(
                        "validation loss {:.3} after {} steps, needs < {:.3} (the unigram entropy {:.3} − 0.5)",
                        r.val,
                        cfg.max_steps,
                        r.unigram - 0.5,
                        r.unigram
                    )
                })
            },
        ),
        DAY.exercise("baby_gpt", "nanoGPT's baby GPT to validation loss ≤ 1.90 (CPU) or ≤ 1.55 (CUDA)").pace(2, 30).long().timeout(Duration::from_secs(3600)).check(
            "CPU: 4 layers, 128 wide, 64 positions, batch 12, 1,600 steps at lr 2e-3, ≤ 1.90; CUDA: 6 layers, 384 wide, 256 positions, batch 64, 5,000 steps, ≤ 1.55; saved for weeks 4 and 5",
            |ctx| {
                let (recipe, bar) = if ctx.device.is_cuda() { (GPU, 1.55) } else { (BABY, 1.90) };
                let cfg = super::config(recipe)?;
                let r = run(ctx, &cfg, "chargpt")?;
                ensure(r.val <= bar, || format!("validation loss {:.3} after {} steps, needs ≤ {bar}", r.val, cfg.max_steps))
            },
        ),
    ]
}

/// The short default-grade run: a 2-layer, 64-wide GPT.
const SHORT: &str = r#"
lr = 0.003
min_lr = 0.0003
warmup_steps = 20
max_steps = 300
batch_size = 8
accumulate = 1
weight_decay = 0.1
beta2 = 0.95
grad_clip = 1.0
seed = 1
checkpoint_every = 100

[model]
n_layer = 2
n_head = 4
block_size = 32
n_embd = 64
n_hidden = 256
dropout = 0.0
"#;

/// nanoGPT's `config/train_shakespeare_char.py` as its README's CPU run changes it
/// (`--n_layer=4 --n_head=4 --n_embd=128 --block_size=64 --batch_size=12 --dropout=0.0`), with
/// its warmup 100, weight decay 0.1, clip 1.0 and β2 0.99, but twice its learning rate (2e-3
/// to 2e-4) over 1,600 steps instead of 1e-3 to 1e-4 over 2,000: for a model this small the
/// higher rate learns faster. The reference reached 1.861 this way against 1.897 with
/// nanoGPT's rate and length, in four fifths of the time.
pub(crate) const BABY: &str = r#"
lr = 0.002
min_lr = 0.0002
warmup_steps = 100
max_steps = 1600
batch_size = 12
accumulate = 1
weight_decay = 0.1
beta2 = 0.99
grad_clip = 1.0
seed = 1337
checkpoint_every = 250

[model]
n_layer = 4
n_head = 4
block_size = 64
n_embd = 128
n_hidden = 512
dropout = 0.0
"#;

/// nanoGPT's GPU recipe for the same data (its config/train_shakespeare_char.py: 6 layers, 6
/// heads, 384 wide, 256 positions, batch 64, dropout 0.2, lr 1e-3 → 1e-4 over 5,000 steps,
/// β2 0.99), which nanoGPT reports at a validation loss of about 1.47. Used on `--device
/// cuda`; the bar 1.55 leaves 0.08 for a different initialisation stream and loader. Not yet
/// run to the end on a GPU (see the book's week-3 results).
const GPU: &str = r#"
lr = 0.001
min_lr = 0.0001
warmup_steps = 100
max_steps = 5000
batch_size = 64
accumulate = 1
weight_decay = 0.1
beta2 = 0.99
grad_clip = 1.0
seed = 1337
checkpoint_every = 500

[model]
n_layer = 6
n_head = 6
block_size = 256
n_embd = 384
n_hidden = 1536
dropout = 0.2
"#;

/// `m` with both MLP weights of every block multiplied by `k` (as the fixture's `big` model).
fn scaled_mlp(m: &cg::CharGpt, k: f64) -> Result<cg::CharGpt, Fail> {
    let mut w = BTreeMap::new();
    for (name, t) in &m.weights {
        let scaled = name.ends_with("mlp.c_fc.weight") || name.ends_with("mlp.c_proj.weight");
        w.insert(name.clone(), if scaled { (t * k).grader()? } else { t.clone() });
    }
    cg::CharGpt::from_tensors(m.cfg, &w).grader()
}

/// The fixture's GPT (`TINY`, torch's initial weights), and the fixture (its batch and expected
/// values). The LoRA and QLoRA days adapt and quantise this model too.
pub(crate) fn fixture_model(ctx: &Ctx) -> Result<(cg::CharGpt, std::rc::Rc<crate::check::Fixture>), Fail> {
    let fx = FX.open(ctx)?;
    let mut w = BTreeMap::new();
    for (name, _) in cg::CharGpt::shapes(&TINY) {
        w.insert(name.clone(), fx.get(&format!("w.{name}"))?);
    }
    Ok((cg::CharGpt::from_tensors(TINY, &w).grader()?, fx))
}

fn recipe(ctx: &Ctx) -> CheckResult {
    let (m, fx) = fixture_model(ctx)?;
    let mut cfg = super::config(SHORT)?;
    (cfg.lr, cfg.min_lr, cfg.warmup_steps, cfg.max_steps, cfg.weight_decay, cfg.grad_clip) = (1e-3, 1e-4, 4, 20, 0.1, 1.0);
    let want_loss = crate::compare::to_f64(&fx.get("train.loss")?)?;
    let want_norm = crate::compare::to_f64(&fx.get("train.grad_norm")?)?;
    let mut opt = tl::AdamW::new(m.vars(), cfg.weight_decay).learner()?;
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    for s in 0..20 {
        let ids = |k: String| -> Result<Tensor, Fail> { fx.get(&k)?.to_dtype(DType::U32).grader() };
        let micro = vec![(ids(format!("train.x.{s}.0"))?, ids(format!("train.y.{s}.0"))?), (ids(format!("train.x.{s}.1"))?, ids(format!("train.y.{s}.1"))?)];
        let (loss, grads) = tl::accumulate(&m, &micro, true, &mut rng).learner()?;
        let (grads, norm) = tl::clip_grad_norm(&grads, cfg.grad_clip).learner()?;
        // The trajectories drift apart slowly through f32 rounding (~1e-6 per step): 2e-4
        // relative over 20 steps is far below the effect of any change to the recipe (a wrong
        // schedule, decay group or clip moves the loss by 1e-3 or more within a few steps).
        scalar_close(&format!("loss before step {s}"), loss as f64, want_loss[s], Tol::new(1e-5, 2e-4))?;
        scalar_close(&format!("gradient norm at step {s}"), norm, want_norm[s], Tol::new(1e-5, 2e-3))?;
        opt.step(&grads, tl::lr_at(s, &cfg)).learner()?;
    }
    for (name, var) in &m.vars {
        close(&format!("{name} after 20 steps"), var.as_tensor(), &fx.get(&format!("train.after.{name}"))?, Tol::new(2e-5, 1e-3))?;
    }
    Ok(())
}

fn replay_sample(m: &cg::CharGpt, prompt: &[u32], n: usize, temp: f64, seed: u64) -> Result<Vec<u32>, Fail> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut seq: Vec<u32> = Vec::from(prompt);
    for _ in 0..n {
        let window = seq[seq.len().saturating_sub(m.cfg.block_size)..].to_vec();
        let t = window.len();
        let dev = m.w("transformer.wte.weight").grader()?.device().clone();
        let logits = m.forward(&Tensor::new(window, &dev).grader()?.unsqueeze(0).grader()?, false, &mut rng).learner()?;
        let last: Vec<f64> = crate::compare::to_f64(&logits.narrow(1, t - 1, 1).on_learner()?)?.iter().map(|v| v / temp).collect();
        let top = last.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let z: f64 = last.iter().map(|v| (v - top).exp()).sum();
        let u = rng.random::<f32>() as f64;
        let mut acc = 0.0;
        let mut pick = last.len() - 1;
        for (i, v) in last.iter().enumerate() {
            acc += (v - top).exp() / z;
            if acc > u {
                pick = i;
                break;
            }
        }
        seq.push(pick as u32);
    }
    Ok(seq.split_off(prompt.len()))
}

struct RunResult {
    val: f64,
    unigram: f64,
}

/// Train a GPT of `cfg`'s sizes with the learner's `train` on the first 90 % of Tiny Shakespeare, then
/// measure the loss on the last 10 % and the unigram entropy of the training text.
/// Week 3's saved char-GPT (what `baby_gpt` writes below), read back for the days that build on
/// it: the model, its vocabulary and its validation loss, or why it cannot be read.
pub(crate) struct Saved {
    pub model: cg::CharGpt,
    pub chars: Vec<char>,
    pub val_loss: f64,
}

pub(crate) fn saved_chargpt(ctx: &Ctx) -> Result<Saved, String> {
    let path = ctx.out_dir.join("week3/chargpt.safetensors");
    let meta = std::fs::read_to_string(path.with_extension("json"))
        .map_err(|_| "target/candlecamp/week3/chargpt.json was not found (run `just grade week3 baby_gpt --long` to make it)".to_string())?;
    let meta: serde_json::Value = serde_json::from_str(&meta).map_err(|e| format!("chargpt.json does not parse: {e}"))?;
    let size = |k: &str| meta["config"][k].as_u64().map(|v| v as usize).ok_or_else(|| format!("chargpt.json has no config.{k}"));
    let cfg = cg::GptConfig {
        vocab: size("vocab")?,
        n_layer: size("n_layer")?,
        n_head: size("n_head")?,
        n_embd: size("n_embd")?,
        block_size: size("block_size")?,
        dropout: 0.0,
    };
    let chars = meta["chars"].as_str().unwrap_or_default().chars().collect();
    let val_loss = meta["val_loss"].as_f64().unwrap_or(f64::NAN);
    let loaded = candle_core::safetensors::load(&path, &ctx.device).map_err(|e| format!("chargpt.safetensors does not load: {e}"))?;
    let w: BTreeMap<String, Tensor> = loaded.into_iter().collect();
    let model = cg::CharGpt::from_tensors(cfg, &w).map_err(|e| format!("chargpt.safetensors does not fit its config: {e}"))?;
    Ok(Saved { model, chars, val_loss })
}

/// Save a char-GPT's weights as `target/candlecamp/week3/NAME.safetensors` and `meta` (its
/// config and characters, which `saved_chargpt` and the live page read) beside them as
/// `NAME.json`; the weights' path.
pub(crate) fn save_model(ctx: &Ctx, name: &str, model: &cg::CharGpt, meta: serde_json::Value) -> Result<std::path::PathBuf, Fail> {
    let out = ctx.artefact(&format!("week3/{name}.safetensors"))?;
    let tensors: std::collections::HashMap<String, Tensor> = model.vars.iter().map(|(k, v)| (k.clone(), v.as_tensor().clone())).collect();
    candle_core::safetensors::save(&tensors, &out).grader()?;
    std::fs::write(out.with_extension("json"), meta.to_string()).map_err(|e| Fail::Internal(e.to_string()))?;
    Ok(out)
}

/// The validation loss over the whole held-out 10 %: every non-overlapping window of `t`
/// characters, in batches of 64 windows, weighted by their sizes.
pub(crate) fn val_loss(ctx: &Ctx, model: &dyn Model, val: &[u32], t: usize) -> Result<f64, Fail> {
    let windows = (val.len() - 1) / t;
    let (mut total, mut rng) = (0.0, ChaCha8Rng::seed_from_u64(7));
    for first in (0..windows).step_by(64) {
        let ws: Vec<usize> = (first..windows.min(first + 64)).collect();
        let x: Vec<u32> = ws.iter().flat_map(|&w| val[w * t..(w + 1) * t].to_vec()).collect();
        let y: Vec<u32> = ws.iter().flat_map(|&w| val[w * t + 1..(w + 1) * t + 1].to_vec()).collect();
        let xt = Tensor::from_vec(x, (ws.len(), t), &ctx.device).grader()?;
        let yt = Tensor::from_vec(y, (ws.len(), t), &ctx.device).grader()?;
        total += ws.len() as f64 * model.loss(&xt, &yt, false, &mut rng).learner()?.to_scalar::<f32>().on_learner()? as f64;
    }
    Ok(total / windows as f64)
}

fn run(ctx: &Ctx, cfg: &tl::Config, name: &str) -> Result<RunResult, Fail> {
    let (ids, chars) = super::shakespeare(usize::MAX)?;
    let split = ids.len() * 9 / 10;
    let (train, val) = (&ids[..split], &ids[split..]);
    let m = &cfg.model;
    let gcfg = cg::GptConfig {
        vocab: chars.len(),
        n_layer: m.n_layer,
        n_head: m.n_head,
        n_embd: cfg.model.n_embd,
        block_size: cfg.model.block_size,
        dropout: cfg.model.dropout,
    };
    let model = cg::CharGpt::new(gcfg, cfg.seed, &ctx.device).grader()?;
    let dir = super::train_loop::scratch(ctx, name)?;
    let start = Instant::now();
    let losses = tl::train(cfg, &model, train, &dir).learner()?;
    let secs = start.elapsed().as_secs_f64();
    ensure(losses.len() == cfg.max_steps, || format!("train returned {} losses for {} steps", losses.len(), cfg.max_steps))?;

    let mut counts = vec![0f64; chars.len()];
    train.iter().for_each(|&i| counts[i as usize] += 1.0);
    let unigram = -counts.iter().filter(|&&c| c > 0.0).map(|c| c / train.len() as f64 * (c / train.len() as f64).ln()).sum::<f64>();
    let val_loss = val_loss(ctx, &model, val, cfg.model.block_size)?;
    let curve: Vec<f32> = losses.chunks(10).map(|c| c.iter().sum::<f32>() / c.len() as f32).collect();
    let png = ctx.artefact(&format!("week3/{name}_loss.png"))?;
    crate::picture::lines(&png, &[&curve], 480, 240)?;
    let vocab = cg::Vocab { chars: chars.clone() };
    let prompt = vocab.encode("ROMEO:\n").learner()?;
    let text_out = cg::sample(&model, &prompt, 200, 0.8, &mut ChaCha8Rng::seed_from_u64(1)).learner()?;
    ctx.note(format!(
        "{} steps in {secs:.1}s ({:.0} ms/step): training loss {:.3} → {:.3}, validation loss {val_loss:.3} (unigram entropy {unigram:.3}); curve in {}",
        cfg.max_steps,
        1000.0 * secs / cfg.max_steps as f64,
        losses[0],
        losses[losses.len() - 1],
        png.display()
    ));
    ctx.note(format!("sample: ROMEO:\n{}", vocab.decode(&text_out)));
    if name == "chargpt" {
        // Saved for weeks 4 and 5: the weights, and the sizes and vocabulary beside them.
        let meta = serde_json::json!({ "config": gcfg, "chars": chars.iter().collect::<String>(), "val_loss": val_loss, "steps": cfg.max_steps });
        let out = save_model(ctx, "chargpt", &model, meta)?;
        ctx.note(format!(
            "saved {} (and its config and vocabulary beside it, .json); `just book` puts it on the page \"Your model, live\" (read it through `just serve`)",
            out.display()
        ));
    }
    Ok(RunResult { val: val_loss, unigram })
}

/// Benchmarks of this day (`grader bench`, `just bench chargpt` against bench/week3.py).
pub fn benches() -> Vec<crate::bench::Bench> {
    vec![crate::bench::Bench {
        id: "week3.chargpt.train_step",
        about: "one step of the baby GPT (4 layers, 128 wide, 64 positions, batch 12): forward, loss, backward, clip, AdamW (library: fastops::linear, layer_norm, gelu_erf, softmax_last_dim, and cross_entropy in the given loss)",
        setup: train_step_bench,
    }, crate::bench::Bench {
        id: "week3.chargpt.first_char",
        about: "the first character of a generation with the baby GPT (`just serve`, the book's live page): the forward pass in evaluation mode over a 7-character prompt, the last position's logits read back",
        setup: |dev| next_char_bench(dev, 7),
    }, crate::bench::Bench {
        id: "week3.chargpt.next_char",
        about: "each later character of a generation with the baby GPT: the forward pass in evaluation mode over a full 64-character window (no cache), the last position's logits read back",
        setup: |dev| next_char_bench(dev, 64),
    }]
}

/// The baby GPT's sizes, as the benchmarks time it.
const BABY_SIZES: cg::GptConfig = cg::GptConfig { vocab: 65, n_layer: 4, n_head: 4, n_embd: 128, block_size: 64, dropout: 0.0 };

fn next_char_bench(dev: &Device, t: usize) -> candle_core::Result<crate::bench::Iteration> {
    let model = cg::CharGpt::new(BABY_SIZES, 0, dev)?;
    let x: Vec<u32> = (0..t).map(|i| (i * 7919 % 65) as u32).collect();
    let x = Tensor::from_vec(x, (1, t), dev)?;
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    Ok(Box::new(move || {
        let logits = model.forward(&x, false, &mut rng)?;
        logits.narrow(1, t - 1, 1)?.flatten_all()?.to_vec1::<f32>().map(|_| ())
    }))
}

fn train_step_bench(dev: &Device) -> candle_core::Result<crate::bench::Iteration> {
    let model = cg::CharGpt::new(BABY_SIZES, 0, dev)?;
    let (b, t) = (12usize, 64usize);
    let x: Vec<u32> = (0..b * t).map(|i| (i * 7919 % 65) as u32).collect();
    let y: Vec<u32> = x.iter().map(|v| (v + 1) % 65).collect();
    let micro = vec![(Tensor::from_vec(x, (b, t), dev)?, Tensor::from_vec(y, (b, t), dev)?)];
    let mut opt = tl::AdamW::new(model.vars(), 0.1)?;
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    Ok(Box::new(move || {
        let (_, grads) = tl::accumulate(&model, &micro, false, &mut rng)?;
        let (grads, _) = tl::clip_grad_norm(&grads, 1.0)?;
        opt.step(&grads, 1e-3)
    }))
}
