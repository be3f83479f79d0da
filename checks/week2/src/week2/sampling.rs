//! Checks for week2 day "sampling": logits processors against transformers' own processors on
//! fixed logits, samplers with a chi-square goodness-of-fit test, and generation with the tiny
//! GPT-2 of `fixtures/gen/week2_sampling.py` against `GPT2LMHeadModel` and `generate`.

use crate::cases::FixtureFile;
use crate::check::{ensure, shape_is, CheckResult, Ctx, Fail, Learner};
use crate::compare::{close, close_with, exact, Candidate, Tol};
use crate::registry::{Day, Exercise};
use crate::subject::week2::gpt2 as g;
use crate::subject::week2::sampling as sm;
use candle_core::{DType, IndexOp, Tensor, D};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::time::Duration;

const FX: FixtureFile = FixtureFile::new("week2/sampling.safetensors");
const MODEL: &str = "week2/tiny-gpt2-sampling";

/// Scaling or offsetting logits by a float: torch and candle may round `x / t` (a division)
/// and `x * (1 / t)` (candle's affine) differently by one ulp; logits are O(1–10).
const ARITH: Tol = Tol::F32;
/// Full GPT-2 forward passes (2 layers, width 64, logits std ≈ 1.3): candle's and torch's
/// matmuls and layer norms sum in different orders; the largest observed difference is 3.1e-6, and an
/// off-by-one position or a missing cache entry changes logits by O(1).
const MODEL_TOL: Tol = Tol { abs: 1e-4, rel: 1e-4 };

/// The gpt2 day's fixtures (block 0 of its tiny model) for the cached attention, and that day's
/// tolerance for one layer's output (see there: measured ≤ 5e-7).
use super::gpt2::{config as gpt2_config, vb as gpt2_vb, FX as GPT2_FX, LAYER as GPT2_LAYER};

const DAY: Day = Day::new("week2", "sampling", "src/sampling.rs");

fn u32s(t: &Tensor) -> Result<Tensor, Fail> {
    t.to_dtype(DType::U32).grader()
}

/// The fixture model loaded by the learner's own GPT-2 (`Gpt2::from_dir` calls their `load`).
fn model(ctx: &Ctx) -> Result<g::Gpt2, Fail> {
    for f in ["config.json", "model.safetensors"] {
        crate::check::fixture_path(&format!("{MODEL}/{f}"))?;
    }
    g::Gpt2::from_dir(&crate::fixtures::dir().join(MODEL), &ctx.device).learner()
}

fn ids_of(t: &Tensor) -> Result<Vec<u32>, Fail> {
    t.to_dtype(DType::U32).grader()?.flatten_all().grader()?.to_vec1::<u32>().grader()
}

/// `n` draws of the learner's `sample` with a seeded RNG, tested against `softmax(logits)`
/// (computed here in f64) with Pearson's chi-square over the tokens of non-zero probability.
/// The threshold is a p-value of 10⁻⁴ (exact, `crate::stats`): a correct sampler fails with
/// probability 10⁻⁴ per seed (and the seed is fixed, so it passes or fails the same way every
/// time), while a wrong distribution (greedy, no softmax, inverted CDF off by one, temperature
/// ignored) is far beyond it at n = 20,000.
fn chi_square(label: &str, logits: &[f32], n: usize, seed: u64, dev: &candle_core::Device) -> CheckResult {
    let t = Tensor::new(logits, dev).grader()?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let max = logits.iter().cloned().fold(f32::NEG_INFINITY, f32::max) as f64;
    let w: Vec<f64> = logits.iter().map(|&l| ((l as f64) - max).exp()).collect();
    let z: f64 = w.iter().sum();
    let p: Vec<f64> = w.iter().map(|x| x / z).collect();
    let mut counts = vec![0usize; logits.len()];
    for i in 0..n {
        let s = sm::sample(&t, &mut rng).learner()? as usize;
        ensure(s < logits.len(), || format!("{label}: draw {i} is token {s}, but there are only {} tokens", logits.len()))?;
        ensure(p[s] > 0.0, || format!("{label}: draw {i} is token {s}, whose logit is -inf (probability 0)"))?;
        counts[s] += 1;
    }
    let support: Vec<usize> = (0..p.len()).filter(|&i| p[i] > 0.0).collect();
    let stat: f64 = support.iter().map(|&i| (counts[i] as f64 - n as f64 * p[i]).powi(2) / (n as f64 * p[i])).sum();
    let df = support.len().saturating_sub(1).max(1);
    let pval = crate::stats::chi_square_tail(stat, df);
    let worst = support
        .iter()
        .max_by(|&&a, &&b| ((counts[a] as f64 - n as f64 * p[a]).abs()).total_cmp(&(counts[b] as f64 - n as f64 * p[b]).abs()))
        .copied()
        .unwrap_or(0);
    ensure(pval >= 1e-4, || {
        format!(
            "{label}: chi-square {stat:.1} (df {df}, p = {pval:.1e} < 1e-4) over {n} draws: the samples do not follow softmax(logits); e.g. token {worst} came {} times, expected {:.0}",
            counts[worst],
            n as f64 * p[worst]
        )
    })
}

pub fn exercises() -> Vec<Exercise> {
    vec![
        DAY.exercise("greedy", "greedy decoding: the argmax").pace(1, 10).function("greedy").check("vs torch.argmax", |ctx| {
            for c in FX.cases(ctx, "greedy")? {
                exact(&c.label(), &sm::greedy(&c.t("logits")?).learner()?, &u32s(&c.out()?)?)?;
            }
            Ok(())
        }),
        DAY.exercise("temperature", "temperature")
            .pace(1, 10)
            .function("apply_temperature")
            .check("vs TemperatureLogitsWarper", |ctx| FX.vs_torch(ctx, "temperature", ARITH, |c| sm::apply_temperature(&c.t("logits")?, c.f("t")?).learner())),
        DAY.exercise("top_k", "top-k filtering").pace(2, 15).function("top_k_filter").check(
            "vs TopKLogitsWarper (kept logits exactly, the rest -inf)",
            |ctx| {
                for c in FX.cases(ctx, "top_k")? {
                    let x = c.t("logits")?;
                    let k = c.n("k")?;
                    let got = sm::top_k_filter(&x, k).learner()?;
                    let cand = [Candidate { description: "the logits unfiltered", tensor: x.clone() }];
                    close_with(&c.label(), &got, &c.out()?, Tol::EXACT, &cand)?;
                }
                Ok(())
            },
        ),
        DAY.exercise("top_p", "top-p (nucleus) filtering")
            .pace(3, 40)
            .function("top_p_filter")
            .check("vs TopPLogitsWarper (kept logits exactly, the rest -inf)", |ctx| {
                FX.vs_torch(ctx, "top_p", Tol::EXACT, |c| sm::top_p_filter(&c.t("logits")?, c.f("p")?).learner())
            })
            .check("p = 0 keeps exactly the most likely token (never every token removed)", |ctx| {
                let x = FX.cases(ctx, "top_p")?[0].t("logits")?;
                let got = sm::top_p_filter(&x, 0.0).learner()?;
                let (v, m) = (crate::compare::to_f64(&x)?, *x.dims().last().unwrap_or(&1));
                let want: Vec<f32> = v
                    .chunks(m)
                    .flat_map(|row| {
                        let best = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                        row.iter().map(move |&l| if l == best { l as f32 } else { f32::NEG_INFINITY }).collect::<Vec<_>>()
                    })
                    .collect();
                close("top_p_filter(logits, 0)", &got, &Tensor::from_vec(want, x.shape(), &ctx.device).grader()?, Tol::EXACT)
            }),
        DAY.exercise("repetition_penalty", "repetition penalty (CTRL)")
            .pace(1, 10)
            .function("repetition_penalty")
            .check("vs RepetitionPenaltyLogitsProcessor", |ctx| {
                FX.vs_torch(ctx, "repetition_penalty", ARITH, |c| sm::repetition_penalty(&c.t("logits")?, &u32s(&c.t("history")?)?, c.f("penalty")?).learner())
            })
            .check("logits just either side of 0, every token seen: x < 0 multiplied, x ≥ 0 divided", |ctx| {
                // The sign test is `x < 0`: a test against any other threshold moves the small
                // positive or negative logits here to the wrong side. Expected values by the rule.
                let xs = [-1.0f32, -0.09, -0.05, -0.01, 0.0, 0.01, 0.05, 0.09, 1.0];
                let logits = Tensor::new(&[xs], &ctx.device).grader()?;
                let history = Tensor::new(&[[0u32, 1, 2, 3, 4, 5, 6, 7, 8]], &ctx.device).grader()?;
                let want: Vec<f32> = xs.iter().map(|&x| if x < 0.0 { x * 2.0 } else { x / 2.0 }).collect();
                let want = Tensor::from_vec(want, (1, xs.len()), &ctx.device).grader()?;
                close("repetition_penalty(logits, every token, 2.0)", &sm::repetition_penalty(&logits, &history, 2.0).learner()?, &want, ARITH)
            }),
        DAY.exercise("frequency_penalty", "frequency penalty")
            .pace(1, 10)
            .function("frequency_penalty")
            .check("vs torch (logits - alpha * bincount(history))", |ctx| {
                FX.vs_torch(ctx, "frequency_penalty", ARITH, |c| sm::frequency_penalty(&c.t("logits")?, &u32s(&c.t("history")?)?, c.f("alpha")?).learner())
            }),
        DAY.exercise("sample", "sampling with a seeded RNG")
            .pace(3, 40)
            .function("sample")
            .check("the same seed gives the same tokens", |ctx| {
                let x = FX.open(ctx)?.get("sample.logits")?;
                let draw = |seed: u64| -> Result<Vec<u32>, Fail> {
                    let mut rng = ChaCha8Rng::seed_from_u64(seed);
                    (0..200).map(|_| sm::sample(&x, &mut rng).learner()).collect()
                };
                let (a, b) = (draw(7)?, draw(7)?);
                ensure(a == b, || "two runs with the seed 7 gave different tokens: use only the rng you are given".into())?;
                ensure(a.iter().any(|&t| t != a[0]), || format!("200 draws all gave token {}: this is not sampling", a[0]))
            })
            .check("chi-square: 20,000 draws follow softmax(logits) (12 tokens)", |ctx| {
                let x = FX.open(ctx)?.get("sample.logits")?.to_vec1::<f32>().grader()?;
                chi_square("sample(logits)", &x, 20_000, 11, &ctx.device)
            })
            .check("chi-square after temperature 0.5 and after top-k (k = 5) and top-p (p = 0.8) of transformers' warpers: -inf never drawn", |ctx| {
                let fx = FX.open(ctx)?;
                let x: Vec<f32> = fx.get("sample.logits")?.to_vec1::<f32>().grader()?.iter().map(|v| v / 0.5).collect();
                chi_square("sample(logits / 0.5)", &x, 20_000, 12, &ctx.device)?;
                let k5 = fx.get("top_k.1.out")?.i(0).grader()?.to_vec1::<f32>().grader()?;
                chi_square("sample(TopKLogitsWarper(5)(logits))", &k5, 20_000, 13, &ctx.device)?;
                let p8 = fx.get("top_p.1.out")?.i(0).grader()?.to_vec1::<f32>().grader()?;
                chi_square("sample(TopPLogitsWarper(0.8)(logits))", &p8, 20_000, 14, &ctx.device)
            })
            .timeout(Duration::from_secs(30)), // 80,000 draws, each a small softmax through the learner's debug build
        DAY.exercise("mix_contexts", "sampling from a pair of contexts (guidance)").pace(1, 10).function("mix_contexts").check(
            "vs torch (log_softmax(a) + w · (log_softmax(a) − log_softmax(b)))",
            |ctx| {
                // log-probabilities of 50 tokens are O(1–10): f32 rounding of the log-sum-exp
                FX.vs_torch(ctx, "mix_contexts", ARITH, |c| sm::mix_contexts(&c.t("cond")?, &c.t("uncond")?, c.f("weight")?).learner())
            },
        ),
        DAY.exercise("causal_mask", "a causal mask with a cache offset")
            .pace(2, 20)
            .function("causal_mask")
            .check("vs torch.full(-inf).triu(diagonal = t_total - t_new + 1)", |ctx| {
                FX.vs_torch(ctx, "causal_mask", Tol::EXACT, |c| sm::causal_mask(c.n("t_new")?, c.n("t_total")?, &ctx.device).learner())
            }),
        DAY.exercise("kv_cache", "a KV cache: append the new keys and values").pace(2, 20).function("KvCache::append").check(
            "pieces of 5, 1 and 10 positions appended to two layers reassemble each layer's keys and values exactly",
            |ctx| {
                // Keys and values [1, 4, 16, 250] cut from the fixture's logits (any numbers do):
                // appended in pieces, every return value must be the first `at + n` positions of
                // the whole tensor, bit for bit (a copy, no arithmetic).
                let fx = FX.open(ctx)?;
                let base = fx.get("kv.logits")?.reshape((1, 16, 4, 250)).grader()?.transpose(1, 2).grader()?.contiguous().grader()?;
                let whole = [(base.clone(), base.neg().grader()?), ((&base + 1.0).grader()?, (&base * 2.0).grader()?)];
                let mut cache = sm::KvCache::new(2);
                ensure(cache.is_empty(), || "a new cache is not empty (KvCache::new is given: do not change it)".into())?;
                let mut at = 0;
                for n in [5, 1, 10] {
                    for (layer, (k, v)) in whole.iter().enumerate() {
                        let (gk, gv) = cache.append(layer, &k.narrow(2, at, n).on_learner()?, &v.narrow(2, at, n).on_learner()?).learner()?;
                        let stale =
                            [Candidate { description: "only the new positions (nothing kept from earlier calls)", tensor: k.narrow(2, at, n).grader()? }];
                        close_with(
                            &format!("layer {layer}: keys returned after appending positions {at}..{}", at + n),
                            &gk,
                            &k.narrow(2, 0, at + n).on_learner()?,
                            Tol::EXACT,
                            &stale,
                        )?;
                        close(
                            &format!("layer {layer}: values returned after appending positions {at}..{}", at + n),
                            &gv,
                            &v.narrow(2, 0, at + n).on_learner()?,
                            Tol::EXACT,
                        )?;
                    }
                    at += n;
                    ensure(cache.len() == at, || {
                        format!("after appending {at} positions the cache holds {} (KvCache::len reads layers[0]'s keys, axis 2)", cache.len())
                    })?;
                }
                Ok(())
            },
        ),
        Exercise::new("week2.sampling.cached_attention", "GPT-2 attention with a KV cache", "src/gpt2.rs")
            .pace(3, 40)
            .function("forward_cached")
            .check("no cache: equals GPT2Attention (block 0; causal, then causal + padding) with the bias additive_mask(t, mask)", |ctx| {
                let (dev, cfg) = (&ctx.device, gpt2_config()?);
                let attn = g::Attention::load(gpt2_vb(dev)?.pp("transformer.h.0.attn"), &cfg).learner()?;
                for c in GPT2_FX.cases(ctx, "attention")? {
                    let x = c.t("x")?;
                    let mask = c.opt("mask")?;
                    let bias = g::additive_mask(x.dim(1).on_learner()?, mask.as_ref(), dev).learner()?;
                    close(&c.label(), &attn.forward_cached(&x, &bias, None, 0).learner()?, &c.out()?, GPT2_LAYER)?;
                }
                Ok(())
            })
            .check("pieces of 3, 1 and 2 positions with one cache give GPT2Attention's output on the whole sequence", |ctx| {
                let (dev, cfg) = (&ctx.device, gpt2_config()?);
                let attn = g::Attention::load(gpt2_vb(dev)?.pp("transformer.h.0.attn"), &cfg).learner()?;
                let c = GPT2_FX.cases(ctx, "attention")?.into_iter().next().ok_or_else(|| Fail::Fixture(format!("{GPT2_FX} has no attention case")))?;
                let (x, want) = (c.t("x")?, c.out()?);
                let t = x.dim(1).grader()?;
                // queries at..at+n over keys 0..at+n: rows at..at+n of the full causal mask
                let full = g::additive_mask(t, None, dev).learner()?;
                let mut cache = sm::KvCache::new(1);
                let mut at = 0;
                for n in [3, 1, 2] {
                    let bias = full.narrow(2, at, n).on_learner()?.narrow(3, 0, at + n).on_learner()?;
                    let piece = x.narrow(1, at, n).grader()?;
                    let got = attn.forward_cached(&piece, &bias, Some(&mut cache), 0).learner()?;
                    let alone = if at > 0 {
                        attn.forward_cached(&piece, &g::additive_mask(n, None, dev).learner()?, None, 0)
                            .ok()
                            .map(|tensor| Candidate { description: "the new positions attending only to themselves: the cache was not used", tensor })
                    } else {
                        None
                    };
                    close_with(
                        &format!("positions {at}..{} after {at} cached", at + n),
                        &got,
                        &want.narrow(1, at, n).on_learner()?,
                        GPT2_LAYER,
                        alone.as_slice(),
                    )?;
                    at += n;
                    ensure(cache.len() == at, || {
                        format!("after positions 0..{at} the cache holds {} positions: append the new keys and values of every call", cache.len())
                    })?;
                }
                Ok(())
            }),
        Exercise::new("week2.sampling.cached_model", "GPT-2 with a KV cache, position ids and a key mask", "src/gpt2.rs")
            .pace(3, 80)
            .function("forward_with")
            .check("one token at a time: every step's logits equal GPT2LMHeadModel's on the whole sequence", |ctx| {
                let m = model(ctx)?;
                let fx = FX.open(ctx)?;
                let ids = u32s(&fx.get("kv.ids")?)?;
                let want = fx.get("kv.logits")?;
                let t = ids.dim(1).grader()?;
                let mut cache = sm::KvCache::new(m.cfg.n_layer);
                for i in 0..t {
                    let got = m.forward_with(&ids.narrow(1, i, 1).on_learner()?, None, None, Some(&mut cache)).learner()?;
                    shape_is(&format!("logits at step {i}"), &got, &[1, 1, m.cfg.vocab_size])?;
                    let stale = if i > 0 {
                        m.forward_with(&ids.narrow(1, i, 1).on_learner()?, None, None, None)
                            .ok()
                            .map(|tensor| Candidate { description: "the logits of the token fed alone, as if nothing were cached", tensor })
                    } else {
                        None
                    };
                    close_with(&format!("step {i} (position {i} after {i} cached)"), &got, &want.narrow(1, i, 1).on_learner()?, MODEL_TOL, stale.as_slice())?;
                    ensure(cache.len() == i + 1, || format!("after step {i} the cache holds {} positions, expected {}", cache.len(), i + 1))?;
                }
                Ok(())
            })
            .check("chunks of 5, 1 and 10 tokens give the same logits as the whole sequence", |ctx| {
                let m = model(ctx)?;
                let fx = FX.open(ctx)?;
                let ids = u32s(&fx.get("kv.ids")?)?;
                let want = fx.get("kv.logits")?;
                let mut cache = sm::KvCache::new(m.cfg.n_layer);
                let mut at = 0;
                for n in [5, 1, 10] {
                    let got = m.forward_with(&ids.narrow(1, at, n).on_learner()?, None, None, Some(&mut cache)).learner()?;
                    close(&format!("positions {at}..{} after {at} cached", at + n), &got, &want.narrow(1, at, n).on_learner()?, MODEL_TOL)?;
                    at += n;
                }
                Ok(())
            })
            .check("three pads on the left, with position ids and a key mask, in chunks of 11 and 8: the real tokens' logits are unchanged", |ctx| {
                let m = model(ctx)?;
                let fx = FX.open(ctx)?;
                let ids = u32s(&fx.get("kv.ids")?)?;
                let want = fx.get("kv.logits")?;
                let (t, pad) = (ids.dim(1).grader()?, 3);
                let dev = &ctx.device;
                let padded = Tensor::cat(&[&Tensor::zeros((1, pad), DType::U32, dev).grader()?, &ids], 1).grader()?;
                let key_mask =
                    Tensor::cat(&[&Tensor::zeros((1, pad), DType::U32, dev).grader()?, &Tensor::ones((1, t), DType::U32, dev).grader()?], 1).grader()?;
                let positions = Tensor::cat(
                    &[&Tensor::zeros((1, pad), DType::U32, dev).grader()?, &Tensor::arange(0u32, t as u32, dev).grader()?.unsqueeze(0).grader()?],
                    1,
                )
                .grader()?;
                let mut cache = sm::KvCache::new(m.cfg.n_layer);
                let first = m
                    .forward_with(
                        &padded.narrow(1, 0, 11).on_learner()?,
                        Some(&positions.narrow(1, 0, 11).on_learner()?),
                        Some(&key_mask.narrow(1, 0, 11).on_learner()?),
                        Some(&mut cache),
                    )
                    .learner()?;
                close(
                    "positions 0..8 of the first chunk (after 3 pads)",
                    &first.narrow(1, pad, 11 - pad).on_learner()?,
                    &want.narrow(1, 0, 11 - pad).on_learner()?,
                    MODEL_TOL,
                )?;
                let rest = m
                    .forward_with(
                        &padded.narrow(1, 11, t + pad - 11).on_learner()?,
                        Some(&positions.narrow(1, 11, t + pad - 11).on_learner()?),
                        Some(&key_mask),
                        Some(&mut cache),
                    )
                    .learner()?;
                close("positions 8..16 (the second chunk, 11 cached)", &rest, &want.narrow(1, 11 - pad, t + pad - 11).on_learner()?, MODEL_TOL)
            })
            .check("next_logits: the last position's logits, without and with a cache", |ctx| {
                let m = model(ctx)?;
                let fx = FX.open(ctx)?;
                let ids = u32s(&fx.get("kv.ids")?)?;
                let want = fx.get("kv.logits")?;
                let t = ids.dim(1).grader()?;
                let got = m.next_logits(&ids, None).learner()?;
                close("next_logits(ids, None)", &got, &want.i((.., t - 1, ..)).on_learner()?, MODEL_TOL)?;
                let mut cache = sm::KvCache::new(m.cfg.n_layer);
                m.next_logits(&ids.narrow(1, 0, 10).on_learner()?, Some(&mut cache)).learner()?;
                let got = m.next_logits(&ids.narrow(1, 10, t - 10).on_learner()?, Some(&mut cache)).learner()?;
                close("next_logits(ids[10..], cache of 10)", &got, &want.i((.., t - 1, ..)).on_learner()?, MODEL_TOL)
            }),
        DAY.exercise("generate_greedy", "greedy generation with the cache").pace(2, 30).function("generate_greedy").check(
            "vs GPT2LMHeadModel.generate(do_sample=False), 20 new tokens",
            |ctx| {
                let m = model(ctx)?;
                let fx = FX.open(ctx)?;
                let prompt = ids_of(&fx.get("greedy_gen.prompt")?)?;
                let want = ids_of(&fx.get("greedy_gen.out")?)?;
                let got = sm::generate_greedy(&m, &prompt, want.len() - prompt.len(), &ctx.device).learner()?;
                ensure(got == want, || format!("generate_greedy(prompt {prompt:?}) = {got:?}, transformers gives {want:?}"))
            },
        ),
        DAY.exercise("generate_batch", "batched generation with left padding and attention masks")
            .pace(3, 90)
            .function("generate_batch")
            .check("greedy: each row equals GPT2LMHeadModel.generate on its prompt alone (prompts of 3, 8 and 5 tokens)", |ctx| {
                let m = model(ctx)?;
                let fx = FX.open(ctx)?;
                let mut prompts = Vec::new();
                let mut want = Vec::new();
                for i in 0..3 {
                    prompts.push(ids_of(&fx.get(&format!("batch.{i}.prompt"))?)?);
                    want.push(ids_of(&fx.get(&format!("batch.{i}.out"))?)?);
                }
                let n = want[0].len() - prompts[0].len();
                let mut rngs: Vec<ChaCha8Rng> = (0..3).map(ChaCha8Rng::seed_from_u64).collect();
                let got = sm::generate_batch(&m, &prompts, n, None, 0, &mut rngs, &ctx.device).learner()?;
                ensure(got.len() == 3, || format!("generate_batch returned {} rows for 3 prompts", got.len()))?;
                for i in 0..3 {
                    ensure(got[i] == want[i], || {
                        format!("row {i} (prompt of {} tokens, padded to 8): got {:?}, transformers alone gives {:?}", prompts[i].len(), got[i], want[i])
                    })?;
                }
                Ok(())
            })
            .check("sampling at temperature 1: each row equals the same prompt sampled alone with the same seed", |ctx| {
                let m = model(ctx)?;
                let fx = FX.open(ctx)?;
                let prompts: Vec<Vec<u32>> = (0..3).map(|i| ids_of(&fx.get(&format!("batch.{i}.prompt"))?)).collect::<Result<_, Fail>>()?;
                let mut rngs: Vec<ChaCha8Rng> = (0..3).map(|i| ChaCha8Rng::seed_from_u64(100 + i)).collect();
                let got = sm::generate_batch(&m, &prompts, 12, Some(1.0), 0, &mut rngs, &ctx.device).learner()?;
                ensure(got.len() == 3, || format!("generate_batch returned {} rows for 3 prompts", got.len()))?;
                for (i, p) in prompts.iter().enumerate() {
                    let mut rng = [ChaCha8Rng::seed_from_u64(100 + i as u64)];
                    let alone = sm::generate_batch(&m, std::slice::from_ref(p), 12, Some(1.0), 0, &mut rng, &ctx.device).learner()?;
                    ensure(alone.len() == 1 && got[i] == alone[0], || {
                        format!("row {i}: batched {:?}, alone {:?}: padding changed the samples (masked keys? position ids?)", got[i], alone.first())
                    })?;
                }
                Ok(())
            }),
        DAY.exercise("beam_search", "beam search").pace(3, 70).function("beam_search").check(
            "vs GPT2LMHeadModel.generate(num_beams=4), 12 new tokens",
            |ctx| {
                let m = model(ctx)?;
                let fx = FX.open(ctx)?;
                let prompt = ids_of(&fx.get("beam.prompt")?)?;
                let want = ids_of(&fx.get("beam.out")?)?;
                let f = |ids: &Tensor| m.forward(ids);
                let got = sm::beam_search(&f, &prompt, 4, want.len() - prompt.len(), &ctx.device).learner()?;
                let greedy: Vec<u32> = {
                    let mut s = prompt.clone();
                    for _ in prompt.len()..want.len() {
                        let ids = Tensor::new(s.as_slice(), &ctx.device).grader()?.unsqueeze(0).grader()?;
                        s.push(m.next_logits(&ids, None).learner()?.argmax(D::Minus1).on_learner()?.to_vec1::<u32>().on_learner()?[0]);
                    }
                    s
                };
                ensure(got == want, || {
                    let note = if got == greedy { " (your result is the greedy sequence: are the beams kept by their total log-probability?)" } else { "" };
                    format!("beam_search(prompt {prompt:?}, 4 beams) = {got:?}, transformers gives {want:?}{note}")
                })
            },
        ),
        DAY.exercise("score_continuations", "scoring continuations with one cached prefix pass")
            .pace(2, 35)
            .function("score_continuations")
            .check("vs GPT2LMHeadModel log-probabilities of prefix + candidate, 6 candidates", |ctx| {
                let m = model(ctx)?;
                let fx = FX.open(ctx)?;
                let prefix = ids_of(&fx.get("score.prefix")?)?;
                let cands = u32s(&fx.get("score.cands")?)?;
                // sums of 5 log-probabilities of magnitude ~7 from two different GPT-2
                // implementations: the model tolerance, scaled by the 5 terms
                close("score_continuations", &sm::score_continuations(&m, &prefix, &cands).learner()?, &fx.get("score.out")?, Tol { abs: 5e-4, rel: 1e-4 })
            })
            .check("candidates of 1 and 2 tokens equal scoring prefix + candidate from scratch with the model's forward", |ctx| {
                let m = model(ctx)?;
                let fx = FX.open(ctx)?;
                let prefix = ids_of(&fx.get("score.prefix")?)?;
                let cands = u32s(&fx.get("score.cands")?)?;
                for l in [1, 2] {
                    let short = cands.narrow(1, 0, l).grader()?.contiguous().grader()?;
                    let n = short.dim(0).grader()?;
                    // From scratch: the model over prefix + candidate, the log-probabilities of the
                    // candidate's tokens at the positions that predict them.
                    let p = prefix.len();
                    let full =
                        Tensor::cat(&[&Tensor::new(prefix.as_slice(), &ctx.device).grader()?.unsqueeze(0).grader()?.repeat((n, 1)).grader()?, &short], 1)
                            .grader()?;
                    let lp = candle_nn::ops::log_softmax(&m.forward(&full).learner()?.narrow(1, p - 1, l).on_learner()?, D::Minus1).on_learner()?;
                    let want = lp.gather(&short.unsqueeze(2).grader()?, 2).on_learner()?.squeeze(2).on_learner()?.sum(1).on_learner()?;
                    close(
                        &format!("score_continuations with {l}-token candidates"),
                        &sm::score_continuations(&m, &prefix, &short).learner()?,
                        &want,
                        Tol { abs: 5e-4, rel: 1e-4 },
                    )?;
                }
                Ok(())
            }),
    ]
}

// ------------------------------------------------------------------------------------------------
// Benchmarks: what the KV cache and the shared prefix save, on a GPT-2-small-shaped random model
// ------------------------------------------------------------------------------------------------

/// A model of GPT-2 small's shape (124M parameters) with random weights N(0, 0.02²), layer
/// norms 1 and 0, loaded by the reference `Gpt2::load` as constants (a `VarMap`'s variables
/// would make every cached key and value keep its computation graph alive).
fn random_small(dev: &candle_core::Device) -> candle_core::Result<g::Gpt2> {
    let cfg = g::Config::gpt2_small();
    let vm = candle_nn::VarMap::new();
    g::Gpt2::load(candle_nn::VarBuilder::from_varmap(&vm, DType::F32, dev), &cfg)?; // registers every name and shape
    let mut weights = std::collections::HashMap::new();
    let vars = crate::check::variables(&vm);
    for (name, var) in vars {
        let layer_norm = name.contains("ln_");
        let t = if layer_norm && name.ends_with("weight") {
            Tensor::ones(var.shape(), DType::F32, dev)?
        } else if name.ends_with("bias") {
            Tensor::zeros(var.shape(), DType::F32, dev)?
        } else {
            Tensor::randn(0f32, 0.02, var.shape(), dev)?
        };
        weights.insert(name, t);
    }
    g::Gpt2::load(candle_nn::VarBuilder::from_tensors(weights, DType::F32, dev), &cfg)
}

fn prompt_ids(n: usize) -> Vec<u32> {
    (0..n as u32).map(|i| (i * 7919 + 13) % 50257).collect()
}

/// Greedy generation without a cache: the whole sequence through the model at every step (only
/// the last position goes through `ln_f` and the head, as with the cache).
fn generate_uncached(m: &g::Gpt2, prompt: &[u32], n: usize, dev: &candle_core::Device) -> candle_core::Result<Vec<u32>> {
    let mut s = prompt.to_vec();
    for _ in 0..n {
        let ids = Tensor::new(s.as_slice(), dev)?.unsqueeze(0)?;
        s.push(m.next_logits(&ids, None)?.argmax(D::Minus1)?.to_vec1::<u32>()?[0]);
    }
    Ok(s)
}

/// Score `cands` after `prefix` from scratch: one full forward pass per candidate.
fn score_uncached(m: &g::Gpt2, prefix: &[u32], cands: &[Vec<u32>], dev: &candle_core::Device) -> candle_core::Result<Vec<f32>> {
    let mut out = Vec::new();
    for c in cands {
        let seq: Vec<u32> = prefix.iter().chain(c).copied().collect();
        let lp = candle_nn::ops::log_softmax(&m.forward(&Tensor::new(seq.as_slice(), dev)?.unsqueeze(0)?)?, D::Minus1)?.squeeze(0)?;
        let mut s = 0f32;
        for (j, &tok) in c.iter().enumerate() {
            s += lp.i((prefix.len() + j - 1, tok as usize))?.to_scalar::<f32>()?;
        }
        out.push(s);
    }
    Ok(out)
}

/// Greedy generation of `new` tokens after an 8-token prompt, with or without the cache.
fn kv_bench(dev: &candle_core::Device, new: usize, cached: bool) -> candle_core::Result<crate::bench::Iteration> {
    let m = random_small(dev)?;
    let dev = dev.clone();
    Ok(Box::new(move || {
        let out = if cached { sm::generate_greedy(&m, &prompt_ids(8), new, &dev)? } else { generate_uncached(&m, &prompt_ids(8), new, &dev)? };
        std::hint::black_box(out);
        Ok(())
    }))
}

pub fn benches() -> Vec<crate::bench::Bench> {
    use crate::bench::{Bench, Iteration};
    vec![
        Bench {
            id: "week2.kv.cached",
            about: "generate_greedy, GPT-2-small shape (random weights), 8-token prompt + 32 new tokens, KV cache (library: fastops::matmul_bias, in the given Conv1D)",
            setup: |dev| kv_bench(dev, 32, true),
        },
        Bench {
            id: "week2.kv.uncached",
            about: "the same generation recomputing the whole sequence at every step (no cache) (library: fastops::matmul_bias, in the given Conv1D)",
            setup: |dev| kv_bench(dev, 32, false),
        },
        Bench {
            id: "week2.kv.cached_256",
            about: "SLOW (runs only when a filter names it, once): generate_greedy as week2.kv.cached, 256 new tokens",
            setup: |dev| kv_bench(dev, 256, true),
        },
        Bench {
            id: "week2.kv.uncached_256",
            about: "SLOW (about 5 minutes on a 2-core CPU; runs only when a filter names it, once): 256 new tokens recomputing the whole sequence every step",
            setup: |dev| kv_bench(dev, 256, false),
        },
        Bench {
            id: "week2.score.shared_prefix",
            about: "score_continuations: 8 candidates of 4 tokens after a 64-token prefix, one cached prefix pass (GPT-2-small shape) (library: fastops::matmul_bias, in the given Conv1D)",
            setup: |dev| -> candle_core::Result<Iteration> {
                let m = random_small(dev)?;
                let prefix = prompt_ids(64);
                let cands = Tensor::from_vec((0..32u32).map(|i| (i * 104729 + 5) % 50257).collect::<Vec<u32>>(), (8, 4), dev)?;
                Ok(Box::new(move || {
                    std::hint::black_box(sm::score_continuations(&m, &prefix, &cands)?);
                    Ok(())
                }))
            },
        },
        Bench {
            id: "week2.score.separate",
            about: "the same scores with one full forward pass per candidate (prefix recomputed 8 times) (library: fastops::matmul_bias, in the given Conv1D)",
            setup: |dev| -> candle_core::Result<Iteration> {
                let m = random_small(dev)?;
                let prefix = prompt_ids(64);
                let cands: Vec<Vec<u32>> = (0..8u32).map(|r| (0..4u32).map(|j| ((r * 4 + j) * 104729 + 5) % 50257).collect()).collect();
                let dev = dev.clone();
                Ok(Box::new(move || {
                    std::hint::black_box(score_uncached(&m, &prefix, &cands, &dev)?);
                    Ok(())
                }))
            },
        },
    ]
}
