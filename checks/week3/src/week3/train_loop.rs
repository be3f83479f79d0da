//! Checks for week3 day "train_loop": the config (parsed values, keys refused by name), the
//! loader (the stated shuffled order, replayed by the grader; resumption at any reported
//! position), the prefetch thread (order, overlap measured in time, bounded depth, a drop that
//! does not hang), dropout (statistics and the stated draws), nanoGPT's schedule, clipping,
//! accumulation and AdamW with decay groups against torch (fixtures/gen/week3_train_loop.py),
//! metrics and checkpoints on disk (torn lines, corrupt files, a save by rename), and `train`:
//! a replay of its first steps by the grader's own loop, and a run killed twice with SIGKILL in
//! child processes and resumed, which must end bit for bit where an uninterrupted run ends.

use crate::cases::FixtureFile;
use crate::check::{ensure, CheckResult, Ctx, Fail, Learner};
use crate::compare::{close, scalar_close, Tol};
use crate::registry::{Day, Exercise};
use crate::subject::week3::model::{Model, TinyLm, TinyLmConfig};
use crate::subject::week3::train_loop as tl;
use candle_core::{DType, Device, Tensor};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

const FX: FixtureFile = FixtureFile::new("week3/train_loop.safetensors");

const DAY: Day = Day::new("week3", "train_loop", "src/train_loop.rs");

/// The config file the checks start from.
const BASE: &str = r#"
lr = 0.01
min_lr = 0.001
warmup_steps = 5
max_steps = 40
batch_size = 8
accumulate = 2
weight_decay = 0.1
beta2 = 0.95
grad_clip = 1.0
seed = 3
checkpoint_every = 5

[model]
n_layer = 1
n_head = 1
block_size = 16
n_embd = 24
n_hidden = 64
dropout = 0.1
"#;

pub fn exercises() -> Vec<Exercise> {
    vec![
        DAY.exercise("config", "a typed TOML config with --set overrides")
            .pace(2, 30)
            .function("parse_config")
            .check("the file's values, then overrides in order (dotted keys reach into [model])", |_| {
                let c = tl::parse_config(BASE, &["lr=3e-4", "model.n_embd=64", "seed = 7", "model.dropout=0", "seed=9"]).map_err(Fail::LearnerError)?;
                ensure(c.lr == 3e-4 && c.min_lr == 0.001 && c.warmup_steps == 5 && c.max_steps == 40, || format!("top-level values wrong: {c:?}"))?;
                ensure(c.seed == 9, || format!("seed is {}, expected 9 (overrides apply in order: the last wins)", c.seed))?;
                ensure(c.model.n_embd == 64 && c.model.block_size == 16 && c.model.n_hidden == 64, || format!("[model] values wrong: {:?}", c.model))?;
                ensure(c.model.dropout == 0.0, || format!("model.dropout is {}, expected 0 (an integer override of a float key)", c.model.dropout))?;
                let plain = tl::parse_config(BASE, &[]).map_err(Fail::LearnerError)?;
                ensure(plain.lr == 0.01 && plain.seed == 3 && plain.model.dropout == 0.1, || format!("without overrides: {plain:?}"))
            })
            .check("unknown keys, wrong types and malformed overrides are refused, naming the key", |_| {
                let cases: [(String, Vec<&str>, &str); 7] = [
                    (BASE.replace("lr = 0.01", "learning_rate = 0.01\nlr = 0.01"), vec![], "learning_rate"),
                    (BASE.to_string(), vec!["model.n_layr=4"], "n_layr"),
                    (BASE.to_string(), vec!["warmup_steps=ten"], "warmup_steps"),
                    (BASE.replace("dropout = 0.1", "dropout = \"high\""), vec![], "dropout"),
                    (BASE.replace("seed = 3\n", ""), vec![], "seed"),
                    (BASE.to_string(), vec!["max_steps"], "max_steps"),
                    (BASE.to_string(), vec!["grad_clip.x=1"], "grad_clip"),
                ];
                for (text, overrides, key) in cases {
                    match tl::parse_config(&text, &overrides) {
                        Ok(c) => return Err(Fail::Mismatch(format!("accepted a config with a bad {key} (overrides {overrides:?}): {c:?}"))),
                        Err(m) => ensure(m.contains(key), || format!("the error for a bad {key} (overrides {overrides:?}) does not name it: {m}"))?,
                    }
                }
                Ok(())
            }),
        DAY.exercise("loader", "a seeded loader that can resume exactly")
            .pace(2, 30)
            .function("Loader::next_batch")
            .check("the stated order: a phase and a shuffle per epoch from seed + epoch, remainders skipped", |_| {
                // Lengths with len − 1 a multiple of the block (a phase of 0 leaves no character
                // over), epochs whose window count is a multiple of the batch, and a single batch
                // of every window.
                for (len, block, batch) in [(201u32, 8, 4), (193, 8, 4), (41, 8, 4), (49, 8, 5)] {
                    let data: Vec<u32> = (0..len).map(|i| (i * 7 + i / 13) % 50).collect();
                    let seed = 11;
                    let mut l = tl::Loader::new(data.clone(), block, batch, seed, tl::Position::default());
                    let want = replay_batches(&data, block, batch, seed, 20);
                    let case = format!("{len} ids, block {block}, batch {batch}");
                    for (k, w) in want.iter().enumerate() {
                        let pos = l.position();
                        let got = l.next_batch();
                        ensure(got.x == w.x, || format!("{case}: batch {k} (epoch {}, batch {}): x differs from the stated order", pos.epoch, pos.batch))?;
                        ensure(got.y == w.y, || format!("{case}: batch {k}: y is not x's windows shifted by one character"))?;
                        ensure(got.next == w.next, || format!("{case}: batch {k}: next is {:?}, expected {:?}", got.next, w.next))?;
                    }
                }
                Ok(())
            })
            .check("a new loader started at any reported position returns the same batches", |_| {
                let data: Vec<u32> = (0..97u32).map(|i| i % 17).collect();
                let (block, batch, seed) = (5, 3, 2);
                let mut l = tl::Loader::new(data.clone(), block, batch, seed, tl::Position::default());
                let mut seen = Vec::new();
                for _ in 0..16 {
                    seen.push((l.position(), l.next_batch()));
                }
                for (k, (pos, _)) in seen.iter().enumerate().step_by(3) {
                    let mut r = tl::Loader::new(data.clone(), block, batch, seed, *pos);
                    for (j, (_, b)) in seen.iter().enumerate().skip(k).take(5) {
                        ensure(r.position() == seen[j].0, || format!("a loader started at {pos:?} reports {:?} before batch {j}", r.position()))?;
                        ensure(&r.next_batch() == b, || format!("a loader started at {pos:?} returned a different batch {j}"))?;
                    }
                }
                Ok(())
            }),
        DAY.exercise("prefetch", "a background prefetch thread")
            .pace(2, 25)
            .function("Prefetch::new")
            .timeout(Duration::from_secs(20))
            .check("items in order, then None", |_| {
                let mut n = 0u32;
                let mut p = tl::Prefetch::new(2, move || {
                    n += 1;
                    (n <= 50).then_some(n)
                });
                let got: Vec<u32> = std::iter::from_fn(|| p.next()).collect();
                ensure(got == (1..=50).collect::<Vec<_>>(), || format!("got {got:?}, expected 1..=50"))?;
                ensure(p.next().is_none(), || "next after the end returned an item".into())
            })
            .check("the producer works while the consumer does (8 items of 40 ms each side in well under 640 ms)", |ctx| {
                let step = Duration::from_millis(40);
                let start = Instant::now();
                let mut n = 0;
                let mut p = tl::Prefetch::new(2, move || {
                    n += 1;
                    std::thread::sleep(step);
                    (n <= 8).then_some(n)
                });
                let mut got = 0;
                while p.next().is_some() {
                    std::thread::sleep(step);
                    got += 1;
                }
                let took = start.elapsed();
                ctx.note(format!("8 items, 40 ms to make and 40 ms to use each: {} ms (one after the other: 680 ms)", took.as_millis()));
                ensure(got == 8, || format!("got {got} items, expected 8"))?;
                // Overlapped: 9 × 40 ms to make (the last call returns None) ≈ 360 ms plus the
                // last item's use; serial would be 16 × 40 + 40 = 680 ms.
                ensure(took < Duration::from_millis(540), || format!("took {} ms: the producer does not run ahead of the consumer", took.as_millis()))
            })
            .check("a slow consumer holds at most depth items waiting, and dropping early does not hang", |_| {
                use std::sync::atomic::{AtomicUsize, Ordering};
                use std::sync::Arc;
                let made = Arc::new(AtomicUsize::new(0));
                let m = made.clone();
                let mut p = tl::Prefetch::new(3, move || {
                    m.fetch_add(1, Ordering::SeqCst);
                    Some(vec![0u8; 16])
                });
                std::thread::sleep(Duration::from_millis(150));
                let ahead = made.load(Ordering::SeqCst);
                // 3 waiting in the channel and one more made and blocked in send.
                ensure(ahead <= 4, || {
                    format!("the producer made {ahead} items while none was taken: a channel of depth 3 holds 3 (plus one waiting to be sent)")
                })?;
                ensure(ahead >= 1, || "the producer made nothing in 150 ms: it should start at once".into())?;
                ensure(p.next().is_some(), || "no item".into())?;
                let start = Instant::now();
                drop(p);
                ensure(start.elapsed() < Duration::from_secs(2), || "dropping a Prefetch with an endless producer took over 2 s".into())
            }),
        DAY.exercise("dropout", "inverted dropout drawn from the loop's RNG")
            .pace(1, 15)
            .function("dropout")
            .check("the kept fraction is 1 − p and survivors are scaled by 1/(1 − p)", |ctx| {
                for p in [0.1, 0.5, 0.9] {
                    let n = 100_000usize;
                    let x = Tensor::ones(n, DType::F32, &ctx.device).grader()?;
                    let y = tl::dropout(&x, p, &mut ChaCha8Rng::seed_from_u64(5)).learner()?;
                    crate::check::shape_is("dropout(x)", &y, &[n])?;
                    let v = y.to_vec1::<f32>().on_learner()?;
                    let kept = v.iter().filter(|&&a| a != 0.0).count() as f64 / n as f64;
                    // Binomial: sd of the kept fraction = sqrt(p(1 − p)/n) ≤ 0.0016; allow 5 sd.
                    let sd = (p * (1.0 - p) / n as f64).sqrt();
                    ensure((kept - (1.0 - p)).abs() < 5.0 * sd, || {
                        format!("p = {p}: kept {kept:.4} of the elements, expected {:.4} ± {:.4}", 1.0 - p, 5.0 * sd)
                    })?;
                    let scale = (1.0 / (1.0 - p)) as f32;
                    let off = v.iter().find(|&&a| a != 0.0 && (a - scale).abs() > 1e-5 * scale);
                    ensure(off.is_none(), || format!("p = {p}: a kept element of ones is {:?}, expected 1/(1 − p) = {scale}", off.unwrap_or(&0.0)))?;
                }
                let x = Tensor::new(&[1f32, -2.0, 3.0], &ctx.device).grader()?;
                close("dropout with p = 0", &tl::dropout(&x, 0.0, &mut ChaCha8Rng::seed_from_u64(0)).learner()?, &x, Tol::EXACT)
            })
            .check("the masks are the RNG's draws in row-major order, and the gradient is mask/(1 − p)", |ctx| {
                let x = candle_core::Var::from_tensor(&Tensor::arange(1f32, 13.0, &ctx.device).grader()?.reshape((3, 4)).grader()?).grader()?;
                let p = 0.4;
                let mut rng = ChaCha8Rng::seed_from_u64(17);
                let y = tl::dropout(x.as_tensor(), p, &mut rng).learner()?;
                let mut mine = ChaCha8Rng::seed_from_u64(17);
                let keep: Vec<f32> = (0..12).map(|_| if mine.random::<f32>() >= p as f32 { 1.0 / (1.0 - p as f32) } else { 0.0 }).collect();
                let mask = Tensor::from_vec(keep, (3, 4), &ctx.device).grader()?;
                close("dropout(arange(1, 13).reshape(3, 4), 0.4) with ChaCha8Rng seed 17", &y, &(x.as_tensor() * &mask).grader()?, Tol::new(1e-6, 1e-6))?;
                ensure(rng.random::<u64>() == mine.random::<u64>(), || "dropout drew a different number of values from the RNG than one per element".into())?;
                let g = y.sum_all().on_learner()?.backward().on_learner()?;
                let gx = g.get(x.as_tensor()).ok_or_else(|| Fail::Mismatch("no gradient reached x".into()))?;
                close("d sum(dropout(x)) / dx", gx, &mask, Tol::new(1e-6, 1e-6))
            }),
        DAY.exercise("lr_at", "warmup and cosine decay (nanoGPT's get_lr)").pace(1, 10).function("lr_at").check("vs nanoGPT's get_lr on four configs", |ctx| {
            let j = ctx.json("week3/lr_schedule.json")?;
            let configs = j["configs"].as_array().ok_or_else(|| Fail::Fixture("lr_schedule.json has no configs".into()))?;
            for c in configs {
                let num = |k: &str| c[k].as_f64().ok_or_else(|| Fail::Fixture(format!("lr_schedule.json: no {k}")));
                let mut cfg = super::config(BASE)?;
                cfg.lr = num("lr")?;
                cfg.min_lr = num("min_lr")?;
                cfg.warmup_steps = num("warmup_steps")? as usize;
                cfg.max_steps = num("max_steps")? as usize;
                let steps = c["steps"].as_array().cloned().unwrap_or_default();
                let want = c["want"].as_array().cloned().unwrap_or_default();
                for (s, w) in steps.iter().zip(&want) {
                    let s = s.as_u64().unwrap_or(0) as usize;
                    let label = format!("lr_at({s}) with lr {}, min_lr {}, warmup {}, max_steps {}", cfg.lr, cfg.min_lr, cfg.warmup_steps, cfg.max_steps);
                    scalar_close(&label, tl::lr_at(s, &cfg), w.as_f64().unwrap_or(f64::NAN), Tol::new(1e-15, 1e-12))?;
                }
            }
            Ok(())
        }),
        DAY.exercise("clip_grad_norm", "global-norm gradient clipping").pace(1, 15).function("clip_grad_norm").check(
            "vs torch.nn.utils.clip_grad_norm_",
            |ctx| {
                for c in FX.cases(ctx, "clip")? {
                    let grads = vec![c.t("g0")?, c.t("g1")?, c.t("g2")?];
                    let max_norm = c.f("max_norm")?;
                    let (out, total) = tl::clip_grad_norm(&grads, max_norm).learner()?;
                    ensure(out.len() == 3, || format!("{} gradients returned for 3", out.len()))?;
                    // The norm of ~30 f32 values and one multiplication per element: a few ulps,
                    // compared relatively (one case's gradients are of order 1e-5, where the
                    // 1e-6 in the factor max_norm / (total + 1e-6) changes them by 0.2 %).
                    let rel = Tol::new(1e-12, 1e-5);
                    scalar_close(&format!("total norm, {}", c.label()), total, c.f("out")?, rel)?;
                    for (i, g) in out.iter().enumerate() {
                        close(&format!("clipped gradient {i}, {}", c.label()), g, &c.t(&format!("out.{i}"))?, rel)?;
                    }
                }
                Ok(())
            },
        ),
        DAY.exercise("accumulate", "gradient accumulation over micro-batches")
            .pace(2, 20)
            .function("accumulate")
            .check("four micro-batches give the big batch's loss and gradients (vs torch)", |ctx| {
                let (model, micro) = fixture_model(ctx)?;
                let (loss, grads) = tl::accumulate(&model, &micro, false, &mut ChaCha8Rng::seed_from_u64(0)).learner()?;
                let fx = FX.open(ctx)?;
                // Mean cross-entropies of 64 positions over 11 classes: f32 sums of order 10.
                scalar_close("mean loss of the 4 micro-batches", loss as f64, fx.f64("tinylm.loss")?, Tol::new(1e-5, 1e-5))?;
                ensure(grads.len() == 7, || format!("{} gradients for 7 variables", grads.len()))?;
                for ((name, _), g) in model.vars().iter().zip(&grads) {
                    close(&format!("gradient of {name}"), g, &fx.get(&format!("tinylm.grad.{name}"))?, Tol::new(1e-5, 1e-4))?;
                }
                Ok(())
            })
            .check("one micro-batch is an ordinary backward pass", |ctx| {
                let (model, micro) = fixture_model(ctx)?;
                let (loss, grads) = tl::accumulate(&model, &micro[..1], false, &mut ChaCha8Rng::seed_from_u64(0)).learner()?;
                let direct = model.loss(&micro[0].0, &micro[0].1, false, &mut ChaCha8Rng::seed_from_u64(0)).grader()?;
                scalar_close("loss of one micro-batch", loss as f64, direct.to_scalar::<f32>().grader()? as f64, Tol::new(1e-6, 1e-6))?;
                let g = direct.backward().grader()?;
                for ((name, v), got) in model.vars().iter().zip(&grads) {
                    let want = g.get(v.as_tensor()).ok_or_else(|| Fail::Internal(format!("no gradient for {name}")))?;
                    close(&format!("gradient of {name}"), got, want, Tol::new(1e-6, 1e-5))?;
                }
                Ok(())
            }),
        DAY.exercise("adamw", "AdamW with nanoGPT's decay groups")
            .pace(2, 30)
            .function("AdamW::step")
            .check("three steps vs torch.optim.AdamW with two parameter groups", |ctx| {
                let fx = FX.open(ctx)?;
                let vars = adamw_vars(ctx)?;
                let mut opt = tl::AdamW::new(vars.clone(), 0.1).learner()?;
                for (name, v) in &vars {
                    ensure(tl::AdamW::decays(v) == (v.rank() >= 2), || format!("decays({name}) is {}: only variables of rank ≥ 2 decay", v.rank() < 2))?;
                }
                for step in 0..3 {
                    let grads: Vec<Tensor> = vars.iter().map(|(n, _)| fx.get(&format!("adamw.grad.{step}.{n}"))).collect::<Result<_, _>>()?;
                    opt.step(&grads, fx.f64(&format!("adamw.lr.{step}"))?).learner()?;
                    for (n, v) in &vars {
                        // Adam's update is ±lr per element at most; its f32 arithmetic differs from
                        // torch's by ~1e-7 relative.
                        close(&format!("{n} after step {}", step + 1), v.as_tensor(), &fx.get(&format!("adamw.after.{step}.{n}"))?, Tol::new(1e-6, 1e-5))?;
                    }
                }
                Ok(())
            })
            .check("with beta2 = 0.99 (nanoGPT's character model): three steps vs candle-nn's AdamW, one per group", |ctx| {
                use candle_nn::optim::{Optimizer, ParamsAdamW};
                let fx = FX.open(ctx)?;
                let (a, b) = (adamw_vars(ctx)?, adamw_vars(ctx)?);
                let mut opt = tl::AdamW::new(a.clone(), 0.1).learner()?;
                opt.beta2 = 0.99;
                let group = |decay: bool| b.iter().filter(|(_, v)| (v.rank() >= 2) == decay).map(|(_, v)| v.clone()).collect::<Vec<_>>();
                let params = |wd| ParamsAdamW { lr: 1e-2, beta1: 0.9, beta2: 0.99, eps: 1e-8, weight_decay: wd };
                let mut mine =
                    [candle_nn::optim::AdamW::new(group(true), params(0.1)).grader()?, candle_nn::optim::AdamW::new(group(false), params(0.0)).grader()?];
                for step in 0..3 {
                    let grads: Vec<Tensor> = a.iter().map(|(n, _)| fx.get(&format!("adamw.grad.{step}.{n}"))).collect::<Result<_, _>>()?;
                    opt.step(&grads, 1e-2).learner()?;
                    let loss = b.iter().zip(&grads).map(|((_, v), g)| (v.as_tensor() * g).and_then(|p| p.sum_all())).try_fold(
                        None::<Tensor>,
                        |acc, t| -> candle_core::Result<Option<Tensor>> {
                            let t = t?;
                            Ok(Some(match acc {
                                None => t,
                                Some(s) => (s + t)?,
                            }))
                        },
                    );
                    let loss = loss.grader()?.ok_or_else(|| Fail::Internal("no variables".into()))?;
                    let g = loss.backward().grader()?;
                    for o in mine.iter_mut() {
                        o.step(&g).grader()?;
                    }
                }
                for ((n, va), (_, vb)) in a.iter().zip(&b) {
                    close(&format!("{n} after 3 steps with beta2 = 0.99"), va.as_tensor(), vb.as_tensor(), Tol::new(1e-6, 1e-5))?;
                }
                Ok(())
            })
            .check("its averages keep no gradient's graph: 40 steps whose gradients each reference a 16 MB input leave memory flat", |ctx| {
                // A gradient from backward() can reference the forward pass that made it: here
                // w's gradient is aᵀ · dz, and a = x · u is an activation whose graph holds the
                // step's fresh 16 MB input x. An m or v built from it without detach() chains
                // every step's graph to the next, and memory grows by ~16 MB a step.
                let (rows, cols, steps) = (4096usize, 1024usize, 40usize);
                let var = |shape: (usize, usize)| -> Result<candle_core::Var, Fail> {
                    candle_core::Var::from_tensor(&Tensor::full(0.01f32, shape, &ctx.device).grader()?).grader()
                };
                let (u, w) = (var((cols, 8))?, var((8, 1))?);
                let mut opt = tl::AdamW::new(vec![("u".to_string(), u.clone()), ("w".to_string(), w.clone())], 0.0).learner()?;
                let step = |k: usize, opt: &mut tl::AdamW| -> CheckResult {
                    let x = Tensor::full(1.0 + k as f32 * 1e-3, (rows, cols), &ctx.device).grader()?;
                    let z = x.matmul(u.as_tensor()).and_then(|a| a.matmul(w.as_tensor())).grader()?;
                    let grads = z.sqr().and_then(|z| z.sum_all()).and_then(|l| l.backward()).grader()?;
                    let g = |v: &candle_core::Var| grads.get(v.as_tensor()).cloned().ok_or_else(|| Fail::Internal("no gradient".into()));
                    opt.step(&[g(&u)?, g(&w)?], 1e-3).learner()
                };
                // A few steps first, so that the allocator's steady state is the baseline.
                for k in 0..4 {
                    step(k, &mut opt)?;
                }
                let Some(before) = crate::check::resident_bytes() else { return Ok(()) };
                for k in 4..4 + steps {
                    step(k, &mut opt)?;
                }
                let after = crate::check::resident_bytes().unwrap_or(before);
                let grown = after.saturating_sub(before) as f64 / (1 << 20) as f64;
                ensure(grown < 250.0, || {
                    format!(
                        "memory grew by {grown:.0} MB over {steps} steps whose gradients each reference a 16 MB input: m or v keeps a gradient's graph alive (store `(...)?.detach()`)"
                    )
                })
            })
            .check("state() and load_state() let a new optimiser take the third step exactly", |ctx| {
                let fx = FX.open(ctx)?;
                let (a, b) = (adamw_vars(ctx)?, adamw_vars(ctx)?);
                let grads = |step: usize| -> Result<Vec<Tensor>, Fail> { a.iter().map(|(n, _)| fx.get(&format!("adamw.grad.{step}.{n}"))).collect() };
                let mut first = tl::AdamW::new(a.clone(), 0.1).learner()?;
                for step in 0..2 {
                    first.step(&grads(step)?, 1e-2).learner()?;
                }
                for ((_, va), (_, vb)) in a.iter().zip(&b) {
                    vb.set(va.as_tensor()).grader()?;
                }
                let state = first.state().learner()?;
                for (n, _) in &a {
                    for k in [format!("m.{n}"), format!("v.{n}")] {
                        ensure(state.contains_key(&k), || format!("state() has no {k}"))?;
                    }
                }
                let mut second = tl::AdamW::new(b.clone(), 0.1).learner()?;
                second.load_state(&state).learner()?;
                first.step(&grads(2)?, 1e-2).learner()?;
                second.step(&grads(2)?, 1e-2).learner()?;
                for ((n, va), (_, vb)) in a.iter().zip(&b) {
                    close(&format!("{n} after the third step, resumed vs continuous"), vb.as_tensor(), va.as_tensor(), Tol::EXACT)?;
                }
                Ok(())
            }),
        DAY.exercise("metrics", "metrics as JSON Lines")
            .pace(1, 20)
            .function("MetricsLog::append")
            .check("one JSON object per line, appended, read back", |ctx| {
                let dir = scratch(ctx, "metrics")?;
                let log = tl::MetricsLog { path: dir.join("metrics.jsonl") };
                let recs: Vec<tl::Record> = (0..3).map(record).collect();
                for r in &recs {
                    log.append(r).learner()?;
                }
                let text = std::fs::read_to_string(&log.path).map_err(|e| Fail::Mismatch(format!("cannot read {}: {e}", log.path.display())))?;
                ensure(text.ends_with('\n') && text.lines().count() == 3, || format!("expected 3 lines each ending in \\n, the file is:\n{text}"))?;
                for (i, (line, r)) in text.lines().zip(&recs).enumerate() {
                    let v: serde_json::Value = serde_json::from_str(line).map_err(|e| Fail::Mismatch(format!("line {} is not JSON: {e}", i + 1)))?;
                    ensure(
                        v["step"] == r.step && v["loss"] == r.loss && v["lr"] == r.lr && v["layer_grad_norms"]["fc.weight"] == r.layer_grad_norms["fc.weight"],
                        || format!("line {} is {line}", i + 1),
                    )?;
                }
                let back = tl::MetricsLog::read(&log.path).learner()?;
                ensure(back == recs, || format!("read returned {} records that differ from the 3 appended", back.len()))
            })
            .check("read skips a torn last line and refuses a broken line elsewhere", |ctx| {
                let dir = scratch(ctx, "metrics-torn")?;
                let path = dir.join("metrics.jsonl");
                let lines: Vec<String> = (0..3).map(|i| serde_json::to_string(&record(i)).unwrap_or_default()).collect();
                let torn = &lines[2][..lines[2].len() / 2];
                std::fs::write(&path, format!("{}\n{}\n{torn}", lines[0], lines[1])).map_err(|e| Fail::Internal(e.to_string()))?;
                let back = tl::MetricsLog::read(&path).learner()?;
                ensure(back == vec![record(0), record(1)], || {
                    format!("a file whose last line was cut mid-write gave {} records, expected the 2 complete ones", back.len())
                })?;
                std::fs::write(&path, format!("{}\n{torn}\n{}\n", lines[0], lines[1])).map_err(|e| Fail::Internal(e.to_string()))?;
                ensure(tl::MetricsLog::read(&path).is_err(), || "a broken line in the middle of the file was accepted (or skipped): it must be an error".into())
            }),
        DAY.exercise("checkpoint", "checkpoints that survive a crash")
            .pace(3, 40)
            .function("Checkpoint::save")
            .check("round trip: tensors, metadata and the sha256 entry", |ctx| {
                let dir = scratch(ctx, "ckpt")?;
                let path = dir.join("c.safetensors");
                let c = sample_checkpoint()?;
                c.save(&path).learner()?;
                let bytes = std::fs::read(&path).map_err(|e| Fail::Mismatch(format!("save wrote no {}: {e}", path.display())))?;
                let (_, header) =
                    safetensors::SafeTensors::read_metadata(&bytes).map_err(|e| Fail::Mismatch(format!("the saved file is not safetensors: {e}")))?;
                let meta = header.metadata().clone().unwrap_or_default();
                ensure(meta.get("sha256") == Some(&digest(&c.tensors)?), || {
                    format!("the file's sha256 entry is {:?}, expected {}", meta.get("sha256"), digest(&c.tensors).unwrap_or_default())
                })?;
                let back = tl::Checkpoint::load(&path, &Device::Cpu).learner()?;
                ensure(back.meta == c.meta, || format!("metadata read back: {:?}, saved {:?}", back.meta, c.meta))?;
                ensure(back.tensors.len() == c.tensors.len(), || format!("{} tensors read back, {} saved", back.tensors.len(), c.tensors.len()))?;
                for (k, t) in &c.tensors {
                    let got = back.tensors.get(k).ok_or_else(|| Fail::Mismatch(format!("{k} not read back")))?;
                    close(k, got, t, Tol::EXACT)?;
                }
                Ok(())
            })
            .check("truncated, bit-flipped and unsigned files are refused", |ctx| {
                let dir = scratch(ctx, "ckpt-bad")?;
                let good = dir.join("good.safetensors");
                sample_checkpoint()?.save(&good).learner()?;
                let bytes = std::fs::read(&good).map_err(|e| Fail::Internal(e.to_string()))?;
                let mut flipped = bytes.clone();
                let last = flipped.len() - 3;
                flipped[last] ^= 0x10;
                let unsigned = safetensors::serialize(sample_checkpoint()?.tensors.iter(), None).map_err(|e| Fail::Internal(e.to_string()))?;
                for (what, b) in [
                    ("cut to half its length", bytes[..bytes.len() / 2].to_vec()),
                    ("with one bit of a tensor flipped", flipped),
                    ("without a sha256 entry", unsigned),
                    ("empty", Vec::new()),
                ] {
                    let p = dir.join("bad.safetensors");
                    std::fs::write(&p, &b).map_err(|e| Fail::Internal(e.to_string()))?;
                    ensure(tl::Checkpoint::load(&p, &Device::Cpu).is_err(), || format!("a checkpoint {what} was loaded: it must be refused"))?;
                }
                Ok(())
            })
            .check("save replaces the file by renaming a finished one (the old file is never written into)", |ctx| {
                let dir = scratch(ctx, "ckpt-rename")?;
                let path = dir.join("c.safetensors");
                let old = dir.join("old.safetensors");
                sample_checkpoint()?.save(&path).learner()?;
                let before = std::fs::read(&path).map_err(|e| Fail::Internal(e.to_string()))?;
                // A second name for the same file: written in place, both names change; replaced
                // by a rename, the second name keeps the old bytes.
                std::fs::hard_link(&path, &old).map_err(|e| Fail::Internal(e.to_string()))?;
                let mut c = sample_checkpoint()?;
                c.meta.insert("step".into(), "99".into());
                c.save(&path).learner()?;
                let kept = std::fs::read(&old).map_err(|e| Fail::Internal(e.to_string()))?;
                ensure(kept == before, || {
                    "save wrote into the existing checkpoint file: a crash mid-write would leave half a checkpoint (write a temporary file, then rename it)"
                        .into()
                })?;
                let back = tl::Checkpoint::load(&path, &Device::Cpu).learner()?;
                ensure(back.meta.get("step").map(String::as_str) == Some("99"), || "the new checkpoint is not at the path after save".into())?;
                let names: Vec<String> = std::fs::read_dir(&dir)
                    .map_err(|e| Fail::Internal(e.to_string()))?
                    .filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect();
                ensure(names.len() == 2, || format!("files left beside the checkpoint: {names:?} (the temporary file should be renamed away)"))
            }),
        DAY.exercise("train", "the loop: killed, resumed, and equal to the uninterrupted run")
            .pace(3, 60)
            .function("train")
            .timeout(Duration::from_secs(120))
            .check("the first four steps equal the grader's own loop (no dropout)", replay_first_steps)
            .check("a run killed twice with SIGKILL and resumed ends bit for bit where an uninterrupted run ends", kill_and_resume),
    ]
}

/// The grader's replay of the loader's stated order.
fn replay_batches(data: &[u32], block: usize, batch: usize, seed: u64, count: usize) -> Vec<tl::Batch> {
    let mut out = Vec::new();
    let mut epoch = 0u64;
    while out.len() < count {
        let mut rng = ChaCha8Rng::seed_from_u64(seed + epoch);
        let shift: usize = rng.random_range(0..block);
        let n = (data.len() - 1 - shift) / block;
        let per_epoch = n / batch;
        let mut perm = Vec::from_iter(0..n);
        SliceRandom::shuffle(perm.as_mut_slice(), &mut rng);
        for b in 0..per_epoch {
            let ws = &perm[b * batch..(b + 1) * batch];
            let at = |w: usize, off: usize| data[shift + w * block + off..shift + (w + 1) * block + off].to_vec();
            let x = ws.iter().flat_map(|&w| at(w, 0)).collect();
            let y = ws.iter().flat_map(|&w| at(w, 1)).collect();
            out.push(tl::Batch { x, y, next: tl::Position { epoch, batch: b + 1 } });
        }
        epoch += 1;
    }
    out.truncate(count);
    out
}

/// The fixture's TinyLm and its four micro-batches.
fn fixture_model(ctx: &Ctx) -> Result<(TinyLm, Vec<(Tensor, Tensor)>), Fail> {
    let fx = FX.open(ctx)?;
    let names = ["wte.weight", "ln.weight", "ln.bias", "fc.weight", "fc.bias", "head.weight", "head.bias"];
    let tensors = names.iter().map(|n| Ok((*n, fx.get(&format!("tinylm.{n}"))?))).collect::<Result<Vec<_>, Fail>>()?;
    let model = TinyLm::from_tensors(TinyLmConfig { vocab: 11, n_embd: 6, n_hidden: 10, dropout: 0.0 }, tensors).grader()?;
    let ids = |k: String| -> Result<Tensor, Fail> { fx.get(&k)?.to_dtype(DType::U32).grader() };
    let micro = (0..4).map(|k| Ok((ids(format!("tinylm.x.{k}"))?, ids(format!("tinylm.y.{k}"))?))).collect::<Result<_, Fail>>()?;
    Ok((model, micro))
}

fn adamw_vars(ctx: &Ctx) -> Result<Vec<(String, candle_core::Var)>, Fail> {
    let fx = FX.open(ctx)?;
    ["wte.weight", "fc.weight", "fc.bias", "ln.weight"]
        .iter()
        .map(|n| Ok((n.to_string(), candle_core::Var::from_tensor(&fx.get(&format!("adamw.init.{n}"))?).grader()?)))
        .collect()
}

fn record(i: usize) -> tl::Record {
    let layer_grad_norms = BTreeMap::from([("fc.weight".to_string(), 0.5 + i as f64), ("head.bias".to_string(), 0.125)]);
    tl::Record { step: i, loss: 3.0 - 0.25 * i as f64, lr: 1e-3 * (i + 1) as f64, grad_norm: 1.5, tokens_per_s: 1000.0, layer_grad_norms }
}

fn sample_checkpoint() -> Result<tl::Checkpoint, Fail> {
    let dev = Device::Cpu;
    let mut c = tl::Checkpoint::default();
    c.tensors.insert("model.w".into(), Tensor::arange(0f32, 12.0, &dev).grader()?.reshape((3, 4)).grader()?);
    c.tensors.insert("opt.t".into(), Tensor::new(&[7f64], &dev).grader()?);
    c.tensors.insert("ids".into(), Tensor::new(&[1u32, 2, 3], &dev).grader()?);
    c.meta.insert("step".into(), "10".into());
    c.meta.insert("rng".into(), "ab:0:12".into());
    Ok(c)
}

/// The grader's own sha256 of a checkpoint's tensors: names and little-endian bytes in name
/// order.
fn digest(tensors: &BTreeMap<String, Tensor>) -> Result<String, Fail> {
    use sha2::Digest;
    let mut bytes: Vec<u8> = Vec::new();
    for (key, tensor) in tensors.iter() {
        bytes.extend_from_slice(key.as_bytes());
        let flat = tensor.flatten_all().grader()?;
        match tensor.dtype() {
            DType::F32 => flat.to_vec1::<f32>().grader()?.iter().for_each(|v| bytes.extend(v.to_le_bytes())),
            DType::F64 => flat.to_vec1::<f64>().grader()?.iter().for_each(|v| bytes.extend(v.to_le_bytes())),
            DType::U32 => flat.to_vec1::<u32>().grader()?.iter().for_each(|v| bytes.extend(v.to_le_bytes())),
            d => return Err(Fail::Internal(format!("digest of {d:?}"))),
        }
    }
    let sum = sha2::Sha256::digest(&bytes);
    Ok(sum.iter().fold(String::new(), |mut hex, byte| {
        use std::fmt::Write;
        let _ = write!(hex, "{byte:02x}");
        hex
    }))
}

/// An empty folder for one check, in the system's temporary folder, removed when dropped.
pub(crate) struct Scratch(std::path::PathBuf);

impl std::ops::Deref for Scratch {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<Path> for Scratch {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub(crate) fn scratch(_ctx: &Ctx, name: &str) -> Result<Scratch, Fail> {
    let dir = std::env::temp_dir().join(format!("candlecamp-week3-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| Fail::Internal(format!("cannot make {}: {e}", dir.display())))?;
    Ok(Scratch(dir))
}

/// Tiny Shakespeare's first 60,000 characters as ids, and the size of their character set.
fn shakespeare_ids() -> Result<(Vec<u32>, usize), Fail> {
    let (ids, chars) = super::shakespeare(60_000)?;
    Ok((ids, chars.len()))
}

fn model_for(cfg: &tl::Config, vocab: usize) -> candle_core::Result<TinyLm> {
    let m = &cfg.model;
    TinyLm::new(TinyLmConfig { vocab, n_embd: m.n_embd, n_hidden: m.n_hidden, dropout: m.dropout }, 0, &Device::Cpu)
}

/// The grader's own loop for the first steps without dropout: its own batches (the stated
/// order), candle-nn's AdamW (one optimiser per decay group), its own clipping and schedule.
fn replay_first_steps(ctx: &Ctx) -> CheckResult {
    use candle_nn::optim::{AdamW, Optimizer, ParamsAdamW};
    let (ids, vocab) = shakespeare_ids()?;
    let mut cfg = super::config(BASE)?;
    cfg.max_steps = 4;
    cfg.model.dropout = 0.0;
    let dir = scratch(ctx, "train-replay")?;
    let theirs = model_for(&cfg, vocab).grader()?;
    let start = Instant::now();
    let losses = tl::train(&cfg, &theirs, &ids, &dir).learner()?;
    let wall = start.elapsed().as_secs_f64();
    ensure(losses.len() == 4, || format!("train returned {} losses for 4 steps", losses.len()))?;

    let mine = model_for(&cfg, vocab).grader()?;
    let vars = mine.vars();
    let group = |decay: bool| vars.iter().filter(|(_, v)| (v.rank() >= 2) == decay).map(|(_, v)| v.clone()).collect::<Vec<_>>();
    let params = |wd| ParamsAdamW { lr: cfg.lr, beta1: 0.9, beta2: cfg.beta2, eps: 1e-8, weight_decay: wd };
    let mut opts = [AdamW::new(group(true), params(cfg.weight_decay)).grader()?, AdamW::new(group(false), params(0.0)).grader()?];
    let (b, t) = (cfg.batch_size, cfg.model.block_size);
    let batches = replay_batches(&ids, t, b, cfg.seed, 4 * cfg.accumulate);
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    for step in 0..4 {
        let mut loss_sum = 0f64;
        let mut total: Option<Tensor> = None;
        for batch in &batches[step * cfg.accumulate..(step + 1) * cfg.accumulate] {
            let x = Tensor::from_vec(batch.x.clone(), (b, t), &Device::Cpu).grader()?;
            let y = Tensor::from_vec(batch.y.clone(), (b, t), &Device::Cpu).grader()?;
            let l = mine.loss(&x, &y, false, &mut rng).grader()?;
            loss_sum += l.to_scalar::<f32>().grader()? as f64;
            total = Some(match total {
                None => l,
                Some(s) => (s + l).grader()?,
            });
        }
        let mean = (total.ok_or_else(|| Fail::Internal("no micro-batch".into()))? / cfg.accumulate as f64).grader()?;
        scalar_close(&format!("loss of step {step}"), losses[step] as f64, loss_sum / cfg.accumulate as f64, Tol::new(1e-5, 1e-5))?;
        let mut grads = mean.backward().grader()?;
        let norm: f64 = vars
            .iter()
            .map(|(_, v)| {
                grads.get(v.as_tensor()).map(|g| g.sqr().and_then(|s| s.sum_all()).and_then(|s| s.to_scalar::<f32>()).unwrap_or(0.0) as f64).unwrap_or(0.0)
            })
            .sum::<f64>()
            .sqrt();
        let scale = (cfg.grad_clip / (norm + 1e-6)).min(1.0);
        for (_, v) in &vars {
            if let Some(g) = grads.remove(v.as_tensor()) {
                grads.insert(v.as_tensor(), (g * scale).grader()?);
            }
        }
        // nanoGPT's schedule (all four steps are in the warmup of BASE's 5 steps).
        let lr = cfg.lr * (step + 1) as f64 / (cfg.warmup_steps + 1) as f64;
        for o in opts.iter_mut() {
            o.set_learning_rate(lr);
            o.step(&grads).grader()?;
        }
    }
    for ((name, want), (_, got)) in vars.iter().zip(theirs.vars()) {
        // Four AdamW steps of ≤ lr each, in a different order of f32 operations than
        // candle-nn's: a few ulps.
        close(&format!("{name} after 4 steps"), got.as_tensor(), want.as_tensor(), Tol::new(1e-5, 1e-4))?;
    }
    let recs = tl::MetricsLog::read(&dir.join("metrics.jsonl")).learner()?;
    ensure(recs.iter().map(|r| r.step).collect::<Vec<_>>() == vec![0, 1, 2, 3], || {
        format!("metrics.jsonl has steps {:?}, expected 0..4", recs.iter().map(|r| r.step).collect::<Vec<_>>())
    })?;
    for r in &recs {
        let sum: f64 = r.layer_grad_norms.values().map(|v| v * v).sum();
        ensure(r.layer_grad_norms.len() == 7, || {
            format!("step {}: layer_grad_norms has {} entries, expected one per variable (7)", r.step, r.layer_grad_norms.len())
        })?;
        scalar_close(&format!("step {}: sqrt(Σ layer_grad_norms²) = grad_norm", r.step), sum.sqrt(), r.grad_norm, Tol::new(1e-5, 1e-4))?;
        scalar_close(&format!("step {}: the logged lr", r.step), r.lr, tl::lr_at(r.step, &cfg), Tol::EXACT)?;
    }
    // tokens_per_s: each step's tokens (batch × block × accumulate) over its time. The step
    // times they imply must add up to no more than the call to train took, and to a fair part
    // of it (the steps are most of the work).
    let tokens = (cfg.batch_size * cfg.model.block_size * cfg.accumulate) as f64;
    let implied: f64 = recs.iter().map(|r| tokens / r.tokens_per_s).sum();
    ensure(implied.is_finite() && implied <= 1.05 * wall + 0.005 && implied >= 0.1 * wall, || {
        format!("the logged tokens_per_s imply {implied:.4} s of steps, but train took {wall:.4} s (tokens per step: batch × block × accumulate = {tokens})")
    })?;
    Ok(())
}

/// The environment variable that makes this program a training child (its run folder).
const CHILD_ENV: &str = "CANDLECAMP_WEEK3_TRAIN_CHILD";

/// The training child's entry point: runs `train` in the folder `CANDLECAMP_WEEK3_TRAIN_CHILD`
/// names (its config.toml), each loss call slowed by `CANDLECAMP_WEEK3_SLOW_MS` so that a
/// parent can kill it mid-run.
pub fn child_entry() -> Option<std::process::ExitCode> {
    let dir = std::path::PathBuf::from(std::env::var_os(CHILD_ENV)?);
    let code = match run_child(&dir) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("training child: {e}");
            3
        }
    };
    Some(std::process::ExitCode::from(code))
}

fn run_child(dir: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(dir.join("config.toml")).map_err(|e| e.to_string())?;
    let cfg: tl::Config = toml::from_str(&text).map_err(|e| e.to_string())?;
    let (ids, vocab) = shakespeare_ids().map_err(|e| e.to_string())?;
    let slow = std::env::var("CANDLECAMP_WEEK3_SLOW_MS").ok().and_then(|v| v.parse().ok()).unwrap_or(0u64);
    let model = Slow(model_for(&cfg, vocab).map_err(|e| e.to_string())?, Duration::from_millis(slow));
    let losses = tl::train(&cfg, &model, &ids, dir).map_err(|e| e.to_string())?;
    std::fs::write(dir.join("steps-run.txt"), losses.len().to_string()).map_err(|e| e.to_string())
}

struct Slow(TinyLm, Duration);

impl Model for Slow {
    fn vars(&self) -> Vec<(String, candle_core::Var)> {
        self.0.vars()
    }
    fn loss(&self, x: &Tensor, y: &Tensor, train: bool, rng: &mut ChaCha8Rng) -> candle_core::Result<Tensor> {
        std::thread::sleep(self.1);
        self.0.loss(x, y, train, rng)
    }
}

fn spawn_child(dir: &Path, slow_ms: u64) -> Result<std::process::Child, Fail> {
    let exe = std::env::current_exe().map_err(|e| Fail::Internal(e.to_string()))?;
    std::process::Command::new(exe)
        .env(CHILD_ENV, dir)
        .env("CANDLECAMP_WEEK3_SLOW_MS", slow_ms.to_string())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| Fail::Internal(format!("cannot start a training child: {e}")))
}

fn finish(child: std::process::Child, what: &str) -> CheckResult {
    let out = child.wait_with_output().map_err(|e| Fail::Internal(e.to_string()))?;
    ensure(out.status.success(), || format!("the {what} run failed ({}): {}", out.status, String::from_utf8_lossy(&out.stderr).trim()))
}

fn metric_lines(dir: &Path) -> usize {
    std::fs::read_to_string(dir.join("metrics.jsonl")).map(|t| t.matches('\n').count()).unwrap_or(0)
}

fn kill_and_resume(ctx: &Ctx) -> CheckResult {
    let cfg_text = BASE.to_string();
    let cfg = super::config(&cfg_text)?;
    let (whole, broken) = (scratch(ctx, "train-whole")?, scratch(ctx, "train-killed")?);
    for d in [&whole, &broken] {
        std::fs::write(d.join("config.toml"), &cfg_text).map_err(|e| Fail::Internal(e.to_string()))?;
    }
    // One step in this process first: a todo!() in train or a helper it calls is reported as
    // such (a child process would only show its panic message).
    let mut one = cfg.clone();
    one.max_steps = 1;
    let (ids, vocab) = shakespeare_ids()?;
    tl::train(&one, &model_for(&one, vocab).grader()?, &ids, &scratch(ctx, "train-one")?).learner()?;
    let start = Instant::now();
    finish(spawn_child(&whole, 0)?, "uninterrupted")?;
    let whole_secs = start.elapsed().as_secs_f64();
    // Killed twice: after step 12 (the last checkpoint at 10) and after step 27 (at 25).
    let mut kills = Vec::new();
    for at in [13, 28] {
        let mut child = spawn_child(&broken, 15)?;
        let t0 = Instant::now();
        while metric_lines(&broken) < at {
            if let Some(status) = child.try_wait().map_err(|e| Fail::Internal(e.to_string()))? {
                return Err(Fail::Mismatch(format!(
                    "the run ended ({status}) before the grader could kill it at step {at}: it should resume from its checkpoint and go on to step {}",
                    cfg.max_steps
                )));
            }
            ensure(t0.elapsed() < Duration::from_secs(40), || format!("the run did not reach step {at} in 40 s"))?;
            std::thread::sleep(Duration::from_millis(2));
        }
        child.kill().map_err(|e| Fail::Internal(e.to_string()))?;
        let _ = child.wait();
        kills.push(metric_lines(&broken));
    }
    let saved = tl::Checkpoint::load(&broken.join("checkpoint.safetensors"), &Device::Cpu).learner()?;
    let resume_at: usize = saved
        .meta
        .get("step")
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| Fail::Mismatch(format!("the checkpoint left by the killed run has no step: {:?}", saved.meta)))?;
    ensure(resume_at.is_multiple_of(cfg.checkpoint_every) && resume_at + cfg.checkpoint_every >= kills[1].min(cfg.max_steps), || {
        format!(
            "killed after {} steps, the run's checkpoint is at step {resume_at}: checkpoints go after every {} steps (the last at a multiple of it)",
            kills[1], cfg.checkpoint_every
        )
    })?;
    finish(spawn_child(&broken, 0)?, "resumed")?;
    let ran = std::fs::read_to_string(broken.join("steps-run.txt")).unwrap_or_default();
    ensure(ran.trim() == (cfg.max_steps - resume_at).to_string(), || {
        format!(
            "the last run started from a checkpoint at step {resume_at} but ran {} steps, expected {} (resume from the checkpoint, not from the start)",
            ran.trim(),
            cfg.max_steps - resume_at
        )
    })?;
    ctx.note(format!("uninterrupted run of {} steps in {whole_secs:.1}s; the other killed with SIGKILL at metrics lines {kills:?} and resumed", cfg.max_steps));

    let a = tl::Checkpoint::load(&whole.join("checkpoint.safetensors"), &Device::Cpu).learner()?;
    let b = tl::Checkpoint::load(&broken.join("checkpoint.safetensors"), &Device::Cpu).learner()?;
    ensure(a.meta.get("step").map(String::as_str) == Some("40"), || format!("the final checkpoint's step is {:?}, expected \"40\"", a.meta.get("step")))?;
    ensure(a.tensors.keys().collect::<Vec<_>>() == b.tensors.keys().collect::<Vec<_>>(), || "the two final checkpoints hold different tensors".into())?;
    for (k, t) in &a.tensors {
        close(&format!("{k}, resumed vs uninterrupted"), &b.tensors[k], t, Tol::EXACT)?;
    }
    let (ra, rb) = (tl::MetricsLog::read(&whole.join("metrics.jsonl")).learner()?, tl::MetricsLog::read(&broken.join("metrics.jsonl")).learner()?);
    ensure(ra.iter().map(|r| r.step).eq(0..cfg.max_steps), || {
        format!("the uninterrupted metrics have steps {:?}", ra.iter().map(|r| r.step).collect::<Vec<_>>())
    })?;
    ensure(rb.iter().map(|r| r.step).eq(0..cfg.max_steps), || {
        format!("after two kills and resumption the metrics have steps {:?}: each step once, in order", rb.iter().map(|r| r.step).collect::<Vec<_>>())
    })?;
    for (x, y) in ra.iter().zip(&rb) {
        ensure(x.loss == y.loss && x.grad_norm == y.grad_norm && x.lr == y.lr, || {
            format!("step {}: loss {} / grad norm {} resumed, {} / {} uninterrupted", x.step, y.loss, y.grad_norm, x.loss, x.grad_norm)
        })?;
    }
    // The uninterrupted run stays under target/candlecamp/week3/runs/train, and its dashboard
    // must draw a point for every step the metrics file holds.
    let kept = ctx.artefact("week3/runs/train/metrics.jsonl")?;
    std::fs::copy(whole.join("metrics.jsonl"), &kept).map_err(|e| Fail::Internal(format!("cannot keep the run's metrics: {e}")))?;
    let page = ctx.artefact("week3/dashboard.html")?;
    let run_dir = kept.parent().map(|p| p.to_path_buf()).unwrap_or_default();
    let shown = crate::dashboard::write(&[run_dir], &page, Some(cfg.grad_clip), false).map_err(|e| Fail::Internal(format!("the dashboard: {e:#}")))?;
    ensure(shown[0].steps.len() == ra.len(), || {
        format!("the dashboard read {} steps from metrics.jsonl, your MetricsLog::read {}", shown[0].steps.len(), ra.len())
    })?;
    ctx.note("`just dashboard` opens the page; `just dashboard --watch` keeps it live while a run writes");
    let la: Vec<f32> = ra.iter().map(|r| r.loss as f32).collect();
    let lr: Vec<f32> = ra.iter().map(|r| (r.lr / cfg.lr) as f32 * la[0]).collect();
    let path = ctx.artefact("week3/train_loss.png")?;
    crate::picture::lines(&path, &[&la, &lr], 480, 240)?;
    ctx.note(format!("loss {:.3} → {:.3}; curves (loss, and lr scaled to the first loss) in {}", la[0], la[la.len() - 1], path.display()));
    let first: f32 = la[..5].iter().sum::<f32>() / 5.0;
    let last: f32 = la[la.len() - 5..].iter().sum::<f32>() / 5.0;
    ensure(last < first - 0.3, || format!("the loss did not fall: mean of the first 5 steps {first:.3}, of the last 5 {last:.3}"))
}
