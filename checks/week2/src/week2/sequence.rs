//! Checks for week2 day "sequence": skip-gram negative sampling (loss and gradients vs torch
//! autograd; a training run tested by its effect on cosine similarities), n-gram perplexities
//! (vs an independent Python implementation in fixtures/gen/week2_sequence.py), and RNN / LSTM
//! / GRU cells and sequences vs `torch.nn`.

use crate::cases::{Case, FixtureFile};
use crate::check::{ensure, Ctx, Fail, Learner};
use crate::compare::{close, close_with, scalar_close, Candidate, Tol};
use crate::registry::{Day, Exercise};
use crate::subject::week2::sequence as sq;
use candle_core::{DType, Tensor, Var};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const FX: FixtureFile = FixtureFile::new("week2/sequence.safetensors");
const NGRAM: &str = "week2/ngram.json";

/// Recurrent outputs are tanh / sigmoid of sums of ≤ 15 products; after up to 12 steps the
/// rounding differences of the matmuls (a few ulps per step) stay below 1e-6 (measured ≤ 3e-7).
/// 1e-5 keeps >10× headroom; a wrong gate order or a reset gate applied before the projection
/// is off by 1e-2 or more.
const RNN: Tol = Tol::F32;
/// Perplexities from f64 sums of a few hundred logarithms: both sides compute in f64; only the
/// summation order may differ (≈ 1e-13 relative). 1e-9 relative says "the same model".
const PPL: Tol = Tol { abs: 0.0, rel: 1e-9 };

fn weights(c: &Case) -> Result<sq::RnnWeights, Fail> {
    Ok(sq::RnnWeights { w_ih: c.t("w_ih")?, w_hh: c.t("w_hh")?, b_ih: c.t("b_ih")?, b_hh: c.t("b_hh")? })
}

/// `x: [b, in]` as the sequence functions hand it to a cell: the middle time step of a
/// `[b, 3, in]` tensor, its rows `3·in` apart (not contiguous). CPU and CUDA must give the same
/// answer for it; candle's CUDA `matmul` refuses this layout unless the cell makes it contiguous.
fn time_step(x: &Tensor) -> Result<Tensor, Fail> {
    let z = x.zeros_like().grader()?;
    Tensor::stack(&[&z, x, &z], 1).grader()?.narrow(1, 1, 1).grader()?.squeeze(1).grader()
}

const DAY: Day = Day::new("week2", "sequence", "src/sequence.rs");

/// The n-gram fixture: (vocab, train, test, cases).
fn ngram(ctx: &Ctx) -> Result<(usize, Vec<u32>, Vec<u32>, serde_json::Value), Fail> {
    let j = ctx.json(NGRAM)?;
    let ids = |k: &str| -> Result<Vec<u32>, Fail> {
        j[k].as_array()
            .ok_or_else(|| Fail::Fixture(format!("{NGRAM}: no {k}")))?
            .iter()
            .map(|v| v.as_u64().map(|x| x as u32).ok_or_else(|| Fail::Fixture(format!("{NGRAM}: {k} holds a non-integer"))))
            .collect()
    };
    let vocab = j["vocab"].as_u64().ok_or_else(|| Fail::Fixture(format!("{NGRAM}: no vocab")))? as usize;
    Ok((vocab, ids("train")?, ids("test")?, j["cases"].clone()))
}

/// The grader's replay of `train_sgns` (its doc's draws, in order) with its own loss: per pair
/// −log σ(u·v) − Σ log σ(−n·v), each log-sigmoid as (x − |x|)/2 − ln(1 + e^−|x|) (exact at 0),
/// averaged over the batch; one `candle_nn::AdamW` step (weight decay 0) a step.
#[allow(clippy::too_many_arguments)]
fn replay_sgns(
    corpus: &[u32],
    vocab: usize,
    dim: usize,
    window: usize,
    k: usize,
    steps: usize,
    batch: usize,
    lr: f64,
    rng: &mut ChaCha8Rng,
) -> candle_core::Result<Tensor> {
    use candle_nn::optim::Optimizer;
    let dev = candle_core::Device::Cpu;
    let table: Vec<f32> = (0..vocab * dim).map(|_| rng.random_range(-0.5f32..0.5) / dim as f32).collect();
    let centers = Var::from_tensor(&Tensor::from_vec(table, (vocab, dim), &dev)?)?;
    let contexts = Var::zeros((vocab, dim), DType::F32, &dev)?;
    let mut adam = candle_nn::optim::AdamW::new(
        vec![centers.clone(), contexts.clone()],
        candle_nn::optim::ParamsAdamW { weight_decay: 0.0, lr, ..candle_nn::optim::ParamsAdamW::default() },
    )?;
    let log_sig = |x: &Tensor| -> candle_core::Result<Tensor> { ((x - x.abs()?)? * 0.5)? - (x.abs()?.neg()?.exp()? + 1.0)?.log()? };
    for _ in 0..steps {
        let mut pairs: Vec<(u32, u32, Vec<u32>)> = Vec::new();
        while pairs.len() < batch {
            let i = rng.random_range(0..corpus.len());
            let step = rng.random_range(1..=window) as i64;
            let j = if rng.random::<bool>() { i as i64 + step } else { i as i64 - step };
            if !(0..corpus.len() as i64).contains(&j) {
                continue;
            }
            let neg: Vec<u32> = (0..k).map(|_| rng.random_range(0..vocab as u32)).collect();
            pairs.push((corpus[i], corpus[j as usize], neg));
        }
        let mut total: Option<Tensor> = None;
        for (c, o, neg) in &pairs {
            let v = centers.as_tensor().get(*c as usize)?;
            let mut term = log_sig(&(contexts.as_tensor().get(*o as usize)? * &v)?.sum_all()?)?;
            for w in neg {
                term = (term + log_sig(&(contexts.as_tensor().get(*w as usize)? * &v)?.sum_all()?.neg()?)?)?;
            }
            total = Some(match total {
                Some(t) => (t + term)?,
                None => term,
            });
        }
        let loss = (total.expect("a batch of at least one pair").neg()? / batch as f64)?;
        adam.backward_step(&loss)?;
    }
    Ok(centers.as_tensor().clone())
}

/// The perplexity of an interpolated Kneser–Ney bigram model, written from its definition
/// (the exercise's doc) with plain loops over the bigram list.
fn kneser_ney(train: &[u32], test: &[u32], d: f64) -> f64 {
    let pairs: Vec<(u32, u32)> = train.windows(2).map(|w| (w[0], w[1])).collect();
    let mut types = pairs.clone();
    types.sort();
    types.dedup();
    let mut nll = 0.0;
    for w in test.windows(2) {
        let (v, x) = (w[0], w[1]);
        let p_cont = types.iter().filter(|p| p.1 == x).count() as f64 / types.len() as f64;
        let c_v = pairs.iter().filter(|p| p.0 == v).count() as f64;
        let p = if c_v == 0.0 {
            p_cont
        } else {
            let c_vx = pairs.iter().filter(|p| **p == (v, x)).count() as f64;
            let followers = types.iter().filter(|p| p.0 == v).count() as f64;
            (c_vx - d).max(0.0) / c_v + d * followers / c_v * p_cont
        };
        nll -= p.ln();
    }
    (nll / (test.len() - 1) as f64).exp()
}

fn num(v: &serde_json::Value, k: &str) -> Result<f64, Fail> {
    v[k].as_f64().ok_or_else(|| Fail::Fixture(format!("{NGRAM}: case without {k}")))
}

fn cases_of(all: &serde_json::Value, k: &str) -> Result<Vec<serde_json::Value>, Fail> {
    all[k].as_array().cloned().ok_or_else(|| Fail::Fixture(format!("{NGRAM}: no {k} cases")))
}

/// A corpus of 5 topics × 8 words: each 10-word sentence uses one topic's words only.
fn topic_corpus(rng: &mut ChaCha8Rng) -> Vec<u32> {
    let mut out = Vec::new();
    for _ in 0..600 {
        let topic = rng.random_range(0..5u32);
        for _ in 0..10 {
            out.push(topic * 8 + rng.random_range(0..8u32));
        }
    }
    out
}

/// Mean cosine similarity within topics and across topics.
fn topic_similarity(emb: &Tensor) -> Result<(f64, f64), Fail> {
    let (mut within, mut across, mut nw, mut na) = (0f64, 0f64, 0, 0);
    for a in 0..40 {
        for b in (a + 1)..40 {
            let c = sq::cosine(emb, a, b).learner()? as f64;
            if a / 8 == b / 8 {
                within += c;
                nw += 1;
            } else {
                across += c;
                na += 1;
            }
        }
    }
    Ok((within / nw as f64, across / na as f64))
}

pub fn exercises() -> Vec<Exercise> {
    vec![
        DAY.exercise("sgns_loss", "skip-gram negative-sampling loss").pace(3, 40).function("sgns_loss")
            .check("loss vs torch", |ctx| {
                FX.vs_torch(ctx, "sgns", Tol::F32, |c| sq::sgns_loss(&c.t("center_emb")?, &c.t("context_emb")?, &c.t("centers")?, &c.t("contexts")?, &c.t("negatives")?).learner())
            })
            .check("gradients of both tables vs torch autograd", |ctx| {
                for c in FX.cases(ctx, "sgns")? {
                    let ce = Var::from_tensor(&c.t("center_emb")?).grader()?;
                    let co = Var::from_tensor(&c.t("context_emb")?).grader()?;
                    let loss = sq::sgns_loss(ce.as_tensor(), co.as_tensor(), &c.t("centers")?, &c.t("contexts")?, &c.t("negatives")?).learner()?;
                    let grads = loss.backward().on_learner()?;
                    let gc = grads.get(&ce).ok_or_else(|| Fail::Mismatch("no gradient reached center_emb (a non-differentiable op on its path?)".into()))?;
                    let gx = grads.get(&co).ok_or_else(|| Fail::Mismatch("no gradient reached context_emb (a non-differentiable op on its path?)".into()))?;
                    // Gradients are sums of ≤ 6 terms of O(0.1): f32 rounding only.
                    close(&format!("{} d loss / d center_emb", c.label()), gc, &c.t("grad_center")?, Tol::F32)?;
                    close(&format!("{} d loss / d context_emb", c.label()), gx, &c.t("grad_context")?, Tol::F32)?;
                }
                Ok(())
            })
            .check("at a zero context table (where training starts): loss (1 + K)·ln 2 and the exact gradients", |ctx| {
                // Every score is 0 and d/dx log σ(x) = σ(−x) = 1/2 there: the center rows get no
                // gradient, a positive context row −v/(2B) and a negative one +v/(2B) per use.
                let c = &FX.cases(ctx, "sgns")?[0];
                let (ce, centers, contexts, negatives) = (c.t("center_emb")?, c.t("centers")?, c.t("contexts")?, c.t("negatives")?);
                let zero = Var::from_tensor(&c.t("context_emb")?.zeros_like().grader()?).grader()?;
                let cv = Var::from_tensor(&ce).grader()?;
                let loss = sq::sgns_loss(cv.as_tensor(), zero.as_tensor(), &centers, &contexts, &negatives).learner()?;
                let (bsz, k) = negatives.dims2().grader()?;
                let l = crate::compare::to_f64(&loss)?.first().copied().unwrap_or(f64::NAN);
                crate::compare::scalar_close("loss at a zero context table", l, (1 + k) as f64 * std::f64::consts::LN_2, Tol::F32)?;
                let grads = loss.backward().on_learner()?;
                let gx = grads.get(&zero).ok_or_else(|| Fail::Mismatch("no gradient reached context_emb".into()))?;
                let (emb, d) = (crate::compare::to_f64(&ce)?, ce.dim(1).grader()?);
                let idx = |t: &Tensor| -> Result<Vec<usize>, Fail> { Ok(crate::compare::to_f64(t)?.into_iter().map(|x| x as usize).collect()) };
                let (cs, os, ns) = (idx(&centers)?, idx(&contexts)?, idx(&negatives)?);
                let mut want = vec![0f64; zero.as_tensor().elem_count()];
                for b in 0..bsz {
                    for j in 0..d {
                        let v = emb[cs[b] * d + j] / (2.0 * bsz as f64);
                        want[os[b] * d + j] -= v;
                        for kk in 0..k {
                            want[ns[b * k + kk] * d + j] += v;
                        }
                    }
                }
                let want = Tensor::from_vec(want, zero.as_tensor().shape(), &ctx.device).grader()?.to_dtype(gx.dtype()).grader()?;
                let double = Candidate { description: "twice the exact gradient: a subgradient of minimum at the tie x = 0 (write min(x, 0) as (x − |x|)/2)", tensor: (&want * 2.0).grader()? };
                close_with("d loss / d context_emb at a zero context table", gx, &want, Tol::F32, &[double])
            }),
        DAY.exercise("train_sgns", "training word2vec: related words move together").pace(3, 80).function("train_sgns")
            .check("within-topic cosine similarity rises above across-topic (5 topics × 8 words); picture: target/candlecamp/week2/word2vec_similarity.png", |ctx| {
                let mut rng = ChaCha8Rng::seed_from_u64(3);
                let corpus = topic_corpus(&mut rng);
                let dev = candle_core::Device::Cpu;
                let emb = sq::train_sgns(&corpus, 40, 16, 2, 4, 300, 128, 0.05, &mut rng, &dev).learner()?;
                ensure(emb.dims() == [40, 16], || format!("train_sgns returned shape {:?}, expected [40, 16]", emb.dims()))?;
                let (within, across) = topic_similarity(&emb)?;
                let norm = emb.sqr().on_learner()?.sum_keepdim(1).on_learner()?.sqrt().on_learner()?.clamp(1e-12f64, f64::MAX).on_learner()?;
                let unit = emb.broadcast_div(&norm).on_learner()?;
                super::picture(ctx, "word2vec_similarity", &unit.matmul(&unit.t().on_learner()?).on_learner()?, 8)?;
                // Untrained embeddings are independent random vectors: both means are ≈ 0
                // (± 0.25 / sqrt(#pairs)). Words that share contexts must end up clearly
                // closer: a margin of 0.3 is a few times what noise can produce.
                ensure(within - across > 0.3, || format!("after training, the mean cosine similarity within topics is {within:.3} and across topics {across:.3}: expected within − across > 0.3 (is the gradient step applied? are negatives drawn from the whole vocabulary?)"))
            })
            .check("steps = 0 returns the initial center table: uniform in ±0.5 / dim", |_| {
                let dim = 16;
                let mut rng = ChaCha8Rng::seed_from_u64(5);
                let corpus: Vec<u32> = (0..200).map(|i| i % 40).collect();
                let emb = sq::train_sgns(&corpus, 40, dim, 2, 4, 0, 8, 0.05, &mut rng, &candle_core::Device::Cpu).learner()?;
                let v = crate::compare::to_f64(&emb)?;
                let bound = 0.5 / dim as f64;
                let (lo, hi) = v.iter().fold((f64::MAX, f64::MIN), |(l, h), &x| (l.min(x), h.max(x)));
                // 640 uniform draws: each end of the range is approached within 2 % of its width
                // with probability 1 − 0.98^640 > 1 − 1e-5.
                ensure(lo >= -bound - 1e-7 && hi <= bound + 1e-7, || format!("values range over [{lo:.4}, {hi:.4}], outside ±0.5/dim = ±{bound:.4}"))?;
                ensure(lo < -0.96 * bound && hi > 0.96 * bound, || format!("values range over [{lo:.4}, {hi:.4}]: a uniform draw in ±{bound:.4} reaches nearer both ends"))?;
                // Two steps from the same seed must move the center table (the first only moves
                // the context table: it starts at zero, so the centers' gradient is zero; the
                // second moves every center row used by ±lr): the loop runs `steps` times.
                let twice = sq::train_sgns(&corpus, 40, dim, 2, 4, 2, 8, 0.05, &mut ChaCha8Rng::seed_from_u64(5), &candle_core::Device::Cpu).learner()?;
                let moved = crate::compare::to_f64(&twice)?.iter().zip(&v).filter(|(a, b)| (*a - *b).abs() > 1e-3).count();
                ensure(moved > 0, || "train_sgns with steps = 2 returned the initial center table: fewer training steps were taken than asked".into())
            })
            .check("three steps replayed by the grader from the same seed (the doc's order of draws), equal", |_| {
                // A short corpus: pairs at its two ends (the bounds of i + o) come up in every step.
                let corpus: Vec<u32> = (0..12).map(|i| ((i * 7) % 13) as u32).collect();
                let dev = candle_core::Device::Cpu;
                let got = sq::train_sgns(&corpus, 13, 6, 2, 3, 3, 32, 0.05, &mut ChaCha8Rng::seed_from_u64(8), &dev).learner()?;
                let want = replay_sgns(&corpus, 13, 6, 2, 3, 3, 32, 0.05, &mut ChaCha8Rng::seed_from_u64(8)).grader()?;
                // Three Adam steps of ±0.05 from the same draws. The two loss formulas round
                // differently, and Adam divides a gradient by its own size, so an entry whose
                // gradient is nearly zero can differ more than its rounding (measured 1.8e-5);
                // 2e-3 is far below what a different draw, window, bound (moves of ~lr = 0.05)
                // or a weight decay of 1 (~1.5e-2 over three steps) produces.
                close("center table after 3 steps", &got, &want, Tol { abs: 2e-3, rel: 0.0 })
            }),
        DAY.exercise("addk_perplexity", "n-gram LM with add-k smoothing").pace(2, 30).function("addk_perplexity")
            .check("perplexities vs an independent Python implementation", |ctx| {
                let (v, train, test, all) = ngram(ctx)?;
                for c in cases_of(&all, "addk")? {
                    let (n, k) = (num(&c, "n")? as usize, num(&c, "k")?);
                    scalar_close(&format!("add-{k} {n}-gram perplexity"), sq::addk_perplexity(&train, &test, v, n, k), num(&c, "perplexity")?, PPL)?;
                }
                Ok(())
            }),
        DAY.exercise("interpolated_perplexity", "interpolating trigram, bigram and unigram").pace(3, 55).function("interpolated_perplexity")
            .check("perplexities vs an independent Python implementation", |ctx| {
                let (v, train, test, all) = ngram(ctx)?;
                for c in cases_of(&all, "interpolated")? {
                    let l: Vec<f64> = c["lambdas"].as_array().map(|a| a.iter().filter_map(|x| x.as_f64()).collect()).unwrap_or_default();
                    ensure(l.len() == 3, || "fixture case without 3 lambdas".into())?;
                    scalar_close(&format!("interpolated perplexity, λ = {l:?}"), sq::interpolated_perplexity(&train, &test, v, [l[0], l[1], l[2]]), num(&c, "perplexity")?, PPL)?;
                }
                Ok(())
            })
            .check("a test text with a word unseen in training and unseen contexts, vs the formula in f64", |_| {
                // Word 7 never occurs in training: only the add-one unigram gives it mass; the
                // contexts (7, x) and (x, 7) are unseen, so their ML estimates are 0.
                let train = [1u32, 2, 3, 1, 2, 4, 2, 3, 1];
                let test = [1u32, 2, 7, 3, 1, 2, 3];
                let (vocab, l) = (8usize, [0.5, 0.3, 0.2]);
                let count = |gram: &[u32]| train.windows(gram.len()).filter(|w| *w == gram).count() as f64;
                let ml = |gram: &[u32]| {
                    // c(h) counts h where it is followed by a word, as ngram_counts does.
                    let h = train[..train.len() - 1].windows(gram.len() - 1).filter(|w| *w == &gram[..gram.len() - 1]).count() as f64;
                    if h == 0.0 {
                        0.0
                    } else {
                        count(gram) / h
                    }
                };
                let nll: f64 = (2..test.len())
                    .map(|i| -(l[0] * ml(&test[i - 2..=i]) + l[1] * ml(&test[i - 1..=i]) + l[2] * (count(&test[i..=i]) + 1.0) / (train.len() + vocab) as f64).ln())
                    .sum();
                let want = (nll / (test.len() - 2) as f64).exp();
                scalar_close(&format!("interpolated perplexity of {test:?} after {train:?}"), sq::interpolated_perplexity(&train, &test, vocab, l), want, PPL)
            }),
        DAY.exercise("kneser_ney_perplexity", "interpolated Kneser–Ney").pace(3, 70).function("kneser_ney_perplexity")
            .check("perplexities vs an independent Python implementation", |ctx| {
                let (_, train, test, all) = ngram(ctx)?;
                for c in cases_of(&all, "kneser_ney")? {
                    let d = num(&c, "d")?;
                    scalar_close(&format!("Kneser–Ney bigram perplexity, d = {d}"), sq::kneser_ney_perplexity(&train, &test, d), num(&c, "perplexity")?, PPL)?;
                }
                Ok(())
            })
            .check("contexts seen once, several times and never, vs the formula in f64", |_| {
                // Word 4 is a context once, 1 and 2 several times, 6 never (it opens the test text):
                // each branch of the definition decides some test positions.
                let train = [1u32, 2, 3, 1, 2, 4, 5, 1, 3, 2, 3];
                let test = [6u32, 1, 2, 4, 3, 1, 5, 2, 1];
                for d in [0.5, 0.75] {
                    scalar_close(&format!("Kneser–Ney perplexity of {test:?} after {train:?}, d = {d}"), sq::kneser_ney_perplexity(&train, &test, d), kneser_ney(&train, &test, d), PPL)?;
                }
                // A test word that never follows anything in training has P_cont = 0, so
                // probability 0 whatever its context: the perplexity is infinite.
                let never = sq::kneser_ney_perplexity(&train, &[1, 9, 2], 0.5);
                ensure(never == f64::INFINITY, || format!("a word never seen after any word in training has probability 0 (P_cont = 0): the perplexity of [1, 9, 2] must be infinite, got {never}"))?;
                Ok(())
            }),
        DAY.exercise("rnn_cell", "an Elman RNN cell").pace(1, 10).function("rnn_cell")
            .check("vs torch (nn.RNNCell)", |ctx| FX.vs_torch(ctx, "rnn_cell", RNN, |c| sq::rnn_cell(&c.t("x")?, &c.t("h")?, &weights(c)?).learner()))
            .check("x sliced out of a sequence (rows not contiguous)", |ctx| FX.vs_torch(ctx, "rnn_cell", RNN, |c| sq::rnn_cell(&time_step(&c.t("x")?)?, &c.t("h")?, &weights(c)?).learner())),
        DAY.exercise("lstm_cell", "an LSTM cell").pace(2, 20).function("lstm_cell")
            .check("vs torch (nn.LSTMCell): h' and c'", |ctx| {
                FX.vs_torch(ctx, "lstm_cell", RNN, |c| {
                    let (h, cc) = sq::lstm_cell(&c.t("x")?, &c.t("h")?, &c.t("c")?, &weights(c)?).learner()?;
                    Tensor::stack(&[h, cc], 0).on_learner()
                })
            })
            .check("x sliced out of a sequence (rows not contiguous)", |ctx| {
                FX.vs_torch(ctx, "lstm_cell", RNN, |c| {
                    let (h, cc) = sq::lstm_cell(&time_step(&c.t("x")?)?, &c.t("h")?, &c.t("c")?, &weights(c)?).learner()?;
                    Tensor::stack(&[h, cc], 0).on_learner()
                })
            }),
        DAY.exercise("gru_cell", "a GRU cell").pace(2, 20).function("gru_cell")
            .check("vs torch (nn.GRUCell)", |ctx| FX.vs_torch(ctx, "gru_cell", RNN, |c| sq::gru_cell(&c.t("x")?, &c.t("h")?, &weights(c)?).learner()))
            .check("x sliced out of a sequence (rows not contiguous)", |ctx| FX.vs_torch(ctx, "gru_cell", RNN, |c| sq::gru_cell(&time_step(&c.t("x")?)?, &c.t("h")?, &weights(c)?).learner())),
        DAY.exercise("rnn", "an RNN over a sequence").pace(2, 25).function("rnn")
            .check("vs torch (nn.RNN, batch_first): outputs and h_n", |ctx| {
                for c in FX.cases(ctx, "rnn")? {
                    let (out, hn) = sq::rnn(&c.t("x")?, &c.t("h0")?, &weights(&c)?).learner()?;
                    close(&format!("{} out", c.label()), &out, &c.out()?, RNN)?;
                    close(&format!("{} h_n", c.label()), &hn, &c.t("h_n")?, RNN)?;
                }
                Ok(())
            }),
        DAY.exercise("lstm", "an LSTM over a sequence").pace(2, 25).function("lstm")
            .check("vs torch (nn.LSTM, batch_first): outputs, h_n and c_n", |ctx| {
                for c in FX.cases(ctx, "lstm")? {
                    let (out, hn, cn) = sq::lstm(&c.t("x")?, &c.t("h0")?, &c.t("c0")?, &weights(&c)?).learner()?;
                    close(&format!("{} out", c.label()), &out, &c.out()?, RNN)?;
                    close(&format!("{} h_n", c.label()), &hn, &c.t("h_n")?, RNN)?;
                    close(&format!("{} c_n", c.label()), &cn, &c.t("c_n")?, RNN)?;
                }
                Ok(())
            }),
        DAY.exercise("gru", "a GRU over a sequence").pace(2, 25).function("gru")
            .check("vs torch (nn.GRU, batch_first): outputs and h_n", |ctx| {
                for c in FX.cases(ctx, "gru")? {
                    let (out, hn) = sq::gru(&c.t("x")?, &c.t("h0")?, &weights(&c)?).learner()?;
                    close(&format!("{} out", c.label()), &out, &c.out()?, RNN)?;
                    close(&format!("{} h_n", c.label()), &hn, &c.t("h_n")?, RNN)?;
                }
                Ok(())
            }),
    ]
}
