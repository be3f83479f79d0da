//! Checks for week4 day "lm_rl": the KL-penalised per-token reward and FUDGE's reweighted
//! next-token distribution against torch (fixtures/gen/week4_lm_rl.py); the sentiment reward
//! model's held-out accuracy on rule-labelled Tiny Shakespeare lines; (`--long`) KL-penalised
//! RL of a character language model towards positive continuations.
//!
//! The labelled set: every non-empty line of Tiny Shakespeare, lower-cased and split into
//! words; a line with more words from `POSITIVE` than from `NEGATIVE` is positive, one with
//! more from `NEGATIVE` negative, any other line is left out (about 4,700 lines remain, 64 %
//! positive). Every fifth labelled line is held out.

use crate::cases::FixtureFile;
use crate::check::{ensure, Ctx, Fail, Learner};
use crate::compare::{close_with, Candidate, Tol};
use crate::registry::{Day, Exercise};
use crate::subject::week4::lm_rl as lm;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::time::Duration;

const FX: FixtureFile = FixtureFile::new("week4/lm_rl.safetensors");

const DAY: Day = Day::new("week4", "lm_rl", "src/lm_rl.rs");

/// `steps` full-batch Adam steps (β 0.9 / 0.999, eps 1e-8, no weight decay, as `candle_nn::AdamW`
/// computes them) on the logistic loss of one example with features `x` and label `y`, from
/// zero weights, in f64: `(w, b)`.
fn adam_logistic(x: &[f64], y: f64, steps: usize, lr: f64) -> (Vec<f64>, f64) {
    let (b1, b2, eps) = (0.9f64, 0.999f64, 1e-8);
    let n = x.len();
    // Parameter n is the bias.
    let (mut p, mut m, mut v) = (vec![0f64; n + 1], vec![0f64; n + 1], vec![0f64; n + 1]);
    for t in 1..=steps {
        let z: f64 = x.iter().zip(&p).map(|(a, w)| a * w).sum::<f64>() + p[n];
        let err = 1.0 / (1.0 + (-z).exp()) - y;
        for j in 0..=n {
            let g = if j < n { err * x[j] } else { err };
            m[j] = b1 * m[j] + (1.0 - b1) * g;
            v[j] = b2 * v[j] + (1.0 - b2) * g * g;
            let (mh, vh) = (m[j] / (1.0 - b1.powi(t as i32)), v[j] / (1.0 - b2.powi(t as i32)));
            p[j] -= lr * mh / (vh.sqrt() + eps);
        }
    }
    let b = p[n];
    p.truncate(n);
    (p, b)
}

pub fn exercises() -> Vec<Exercise> {
    vec![
        DAY.exercise("kl_rewards", "the KL-penalised reward per token")
            .pace(2, 15)
            .function("kl_rewards")
            // A subtraction, a product and one addition in f32: a few ulps.
            .check("vs torch", |ctx| {
                for c in FX.cases(ctx, "kl_rewards")? {
                    let (lp, lr, sc, beta) = (c.t("logp_policy")?, c.t("logp_ref")?, c.t("scores")?, c.f("beta")?);
                    let got = lm::kl_rewards(&lp, &lr, &sc, beta).learner()?;
                    let kl = ((&lp - &lr).grader()? * (-beta)).grader()?;
                    let everywhere = Candidate {
                        description: "the score added to every token (it belongs to the last token only)",
                        tensor: kl.broadcast_add(&sc.unsqueeze(1).grader()?).grader()?,
                    };
                    let sign = Candidate {
                        description: "the KL term with the wrong sign (tokens the policy likes more than the reference should pay)",
                        tensor: (c.out()? - (&kl * 2.0).grader()?).grader()?,
                    };
                    close_with(&c.label(), &got, &c.out()?, Tol::F32, &[everywhere, sign])?;
                }
                Ok(())
            }),
        DAY.exercise("fudge", "FUDGE: a prefix classifier reweights the next token")
            .pace(2, 25)
            .function("fudge")
            // Two log-softmaxes and a sum over ≤ 27 tokens in f32; −∞ entries must match exactly.
            .check("vs torch (top-k of the LM, renormalised)", |ctx| {
                for c in FX.cases(ctx, "fudge")? {
                    let (l, a) = (c.t("lm_logits")?, c.t("attr_logp")?);
                    let got = lm::fudge(&l, &a, c.n("top_k")?).learner()?;
                    let all = Candidate {
                        description: "the reweighted distribution over all tokens: keep only the LM's top_k and give the others −∞",
                        tensor: candle_nn::ops::log_softmax(&(candle_nn::ops::log_softmax(&l, 1).grader()? + &a).grader()?, 1).grader()?,
                    };
                    close_with(&c.label(), &got, &c.out()?, Tol::F32, &[all])?;
                }
                Ok(())
            }),
        DAY.exercise("sentiment_model", "a sentiment reward model")
            .pace(3, 45)
            .function("train_sentiment")
            .timeout(Duration::from_secs(120))
            .check("held-out accuracy ≥ 90 % on rule-labelled Shakespeare lines", |ctx| {
                let (train, test) = labelled(ctx)?;
                let start = std::time::Instant::now();
                let rm = lm::train_sentiment(&train, 3, 1e-2, &mut ChaCha8Rng::seed_from_u64(0), &ctx.device).learner()?;
                let acc = accuracy(&rm, &test)?;
                let pos = test.iter().filter(|e| e.1).count() as f64 / test.len() as f64;
                ctx.note(format!(
                    "{} training lines, {} held out ({:.1} % positive); trained in {:.1}s; held-out accuracy {:.1} %",
                    train.len(),
                    test.len(),
                    100.0 * pos,
                    start.elapsed().as_secs_f64(),
                    100.0 * acc
                ));
                ensure(acc >= 0.9, || {
                    format!("held-out accuracy {:.1} %, needs ≥ 90 % (always answering \"positive\" scores {:.1} %)", 100.0 * acc, 100.0 * pos)
                })
            })
            .check("65 copies of one line, 2 epochs: w and b after Adam's four steps, in f64", |ctx| {
                // Identical examples make the order irrelevant and every minibatch's gradient the
                // one example's, so the recipe alone decides the result: minibatches of 64 (two
                // steps an epoch for 65 examples), the epochs asked for, Adam without weight decay.
                let (text, lr) = ("to be, or not to be: that is the question".to_string(), 1e-2);
                let examples = vec![(text.clone(), true); 65];
                let rm = lm::train_sentiment(&examples, 2, lr, &mut ChaCha8Rng::seed_from_u64(0), &ctx.device).learner()?;
                let x = crate::compare::to_f64(&lm::trigram_features(std::slice::from_ref(&text), &ctx.device).grader()?)?;
                let (w, b) = adam_logistic(&x, 1.0, 4, lr);
                let dev = &ctx.device;
                let want_w = candle_core::Tensor::new(w.iter().map(|&v| v as f32).collect::<Vec<_>>(), dev).grader()?.reshape((lm::FEATURES, 1)).grader()?;
                // Four f32 Adam steps of size ≈ lr: rounding stays near 1e-8; one weight-decay step
                // of 1 would move the weights by ~1e-4, one step more or less by ~1e-2.
                let tol = Tol { abs: 1e-6, rel: 1e-4 };
                let candidates = [Candidate {
                    description: "two Adam steps (one per epoch: minibatches larger than 64, or one epoch fewer)",
                    tensor: candle_core::Tensor::new(adam_logistic(&x, 1.0, 2, lr).0.iter().map(|&v| v as f32).collect::<Vec<_>>(), dev)
                        .grader()?
                        .reshape((lm::FEATURES, 1))
                        .grader()?,
                }];
                close_with("w after training", rm.w.as_tensor(), &want_w, tol, &candidates)?;
                crate::compare::scalar_close("b after training", crate::compare::to_f64(rm.b.as_tensor())?.first().copied().unwrap_or(f64::NAN), b, tol)
            }),
        DAY.exercise("rl_finetune", "KL-penalised RL towards positive text (long)")
            .pace(3, 45)
            .function("rl_finetune")
            .long()
            .timeout(Duration::from_secs(1800))
            .check("the reward rises by ≥ 0.15 with a final KL below 8 nats", rl_run),
        DAY.exercise("value_head", "a value function over prefixes (long)")
            .pace(3, 45)
            .function("train_value_head")
            .long()
            .timeout(Duration::from_secs(1800))
            .check("R² ≥ 0.5 on full continuations, > 0 from half of them", value_run),
        DAY.exercise("fudge_decode", "FUDGE-guided sampling raises the reward without training (long)")
            .pace(3, 45)
            .function("fudge_sample")
            .long()
            .timeout(Duration::from_secs(1800))
            .check("guided samples score ≥ 0.1 higher than plain ones", fudge_run),
    ]
}

const POSITIVE: &[&str] = &[
    "love",
    "loved",
    "loves",
    "loving",
    "sweet",
    "good",
    "gentle",
    "fair",
    "joy",
    "happy",
    "kind",
    "dear",
    "noble",
    "honour",
    "honest",
    "grace",
    "gracious",
    "blessed",
    "bless",
    "merry",
    "glad",
    "peace",
    "smile",
    "true",
    "heaven",
    "beauty",
    "beautiful",
    "best",
    "friend",
    "friends",
];
const NEGATIVE: &[&str] = &[
    "hate", "hated", "death", "dead", "die", "kill", "killed", "murder", "blood", "bloody", "foul", "vile", "false", "traitor", "villain", "grief", "woe",
    "sorrow", "curse", "cursed", "fear", "evil", "wicked", "enemy", "enemies", "poison", "tears", "weep", "war", "sick",
];

/// The rule: more positive than negative words → Some(true), more negative → Some(false).
fn label(line: &str) -> Option<bool> {
    let lower = line.to_lowercase();
    let words = lower.split(|c: char| !(c.is_ascii_lowercase() || c == '\'')).filter(|w| !w.is_empty());
    let (mut p, mut n) = (0, 0);
    for w in words {
        p += POSITIVE.contains(&w) as i32;
        n += NEGATIVE.contains(&w) as i32;
    }
    (p != n).then_some(p > n)
}

pub(crate) type Examples = Vec<(String, bool)>;

pub(crate) fn labelled(_ctx: &Ctx) -> Result<(Examples, Examples), Fail> {
    let text = crate::data::text(&crate::data::TINY_SHAKESPEARE)?;
    let all: Examples = text.lines().filter(|l| !l.trim().is_empty()).filter_map(|l| label(l).map(|y| (l.to_string(), y))).collect();
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for (i, e) in all.into_iter().enumerate() {
        if i % 5 == 4 {
            test.push(e);
        } else {
            train.push(e);
        }
    }
    Ok((train, test))
}

fn accuracy(rm: &lm::Sentiment, test: &Examples) -> Result<f64, Fail> {
    let texts: Vec<String> = test.iter().map(|e| e.0.clone()).collect();
    let p = rm.prob_positive(&texts).learner()?;
    ensure(p.len() == test.len(), || format!("prob_positive returned {} values for {} texts", p.len(), test.len()))?;
    Ok(p.iter().zip(test).filter(|(p, e)| (**p > 0.5) == e.1).count() as f64 / test.len() as f64)
}

/// The shared setup of the long language-model checks: a pretrained character model (the given
/// `pretrain`), the learner's reward model, and prompts.
struct Setup {
    policy: lm::CharMlp,
    pre_loss: f32,
    rm: lm::Sentiment,
    acc: f64,
    prompts: Vec<Vec<u32>>,
}

fn setup(ctx: &Ctx) -> Result<Setup, Fail> {
    let text = crate::data::text(&crate::data::TINY_SHAKESPEARE)?;
    let ids = lm::encode(&text);
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let policy = lm::CharMlp::new(&mut rng, &ctx.device).learner()?;
    let losses = lm::pretrain(&policy, &ids, 3000, 128, 3e-3, &mut rng).learner()?;
    let pre_loss = losses[losses.len() - 100..].iter().sum::<f32>() / 100.0;
    let (train, test) = labelled(ctx)?;
    let rm = lm::train_sentiment(&train, 3, 1e-2, &mut ChaCha8Rng::seed_from_u64(0), &ctx.device).learner()?;
    let acc = accuracy(&rm, &test)?;
    // Prompts: 16 characters of Shakespeare ending at a space, every 4,999th character.
    let prompts: Vec<Vec<u32>> = (1..ids.len() / 4999)
        .map(|k| {
            let mut end = k * 4999;
            while ids[end - 1] != 0 {
                end += 1;
            }
            ids[end - 16..end].to_vec()
        })
        .collect();
    Ok(Setup { policy, pre_loss, rm, acc, prompts })
}

fn value_run(ctx: &Ctx) -> Result<(), Fail> {
    let start = std::time::Instant::now();
    let Setup { policy, rm, prompts, .. } = setup(ctx)?;
    let len = 24;
    let v = lm::train_value_head(&policy, &rm, &prompts, 300, 64, len, 1e-2, &mut ChaCha8Rng::seed_from_u64(3)).learner()?;
    // Fresh samples, scored by the reward model; R² of the value's prediction per prefix length.
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let ps: Vec<Vec<u32>> = (0..512).map(|i| prompts[(i * 7) % prompts.len()].clone()).collect();
    let toks = policy.sample(&ps, len, &mut rng).learner()?;
    let finals = rm.prob_positive(&toks.iter().map(|t| lm::decode(t)).collect::<Vec<_>>()).learner()?;
    let mean = finals.iter().sum::<f32>() / finals.len() as f32;
    let var: f32 = finals.iter().map(|f| (f - mean).powi(2)).sum::<f32>();
    let mut r2 = Vec::new();
    for k in [len / 4, len / 2, 3 * len / 4, len] {
        let pred = v.prob_positive(&toks.iter().map(|t| lm::decode(&t[..k])).collect::<Vec<_>>()).learner()?;
        let err: f32 = pred.iter().zip(&finals).map(|(p, f)| (p - f).powi(2)).sum();
        r2.push((k, 1.0 - err / var));
    }
    ctx.note(format!(
        "R² of the final score by prefix length (of {len}): {} ({:.0}s)",
        r2.iter().map(|(k, r)| format!("{k}: {r:.3}")).collect::<Vec<_>>().join(", "),
        start.elapsed().as_secs_f64()
    ));
    ensure(r2[3].1 >= 0.5, || format!("R² on full continuations {:.3}, needs ≥ 0.5", r2[3].1))?;
    ensure(r2[1].1 > 0.0, || format!("R² from half of each continuation {:.3}, needs > 0 (better than predicting the mean)", r2[1].1))
}

fn fudge_run(ctx: &Ctx) -> Result<(), Fail> {
    let start = std::time::Instant::now();
    let Setup { policy, rm, prompts, .. } = setup(ctx)?;
    let len = 24;
    let v = lm::train_value_head(&policy, &rm, &prompts, 300, 64, len, 1e-2, &mut ChaCha8Rng::seed_from_u64(3)).learner()?;
    let ps: Vec<Vec<u32>> = (0..256).map(|i| prompts[(i * 5) % prompts.len()].clone()).collect();
    let plain = policy.sample(&ps, len, &mut ChaCha8Rng::seed_from_u64(5)).learner()?;
    let guided = lm::fudge_sample(&policy, &v, &ps, len, 10, 4.0, &mut ChaCha8Rng::seed_from_u64(5)).learner()?;
    ensure(guided.len() == ps.len() && guided.iter().all(|g| g.len() == len), || format!("fudge_sample must return {} continuations of {len} ids", ps.len()))?;
    let score = |s: &[Vec<u32>]| -> Result<f32, Fail> {
        let p = rm.prob_positive(&s.iter().map(|t| lm::decode(t)).collect::<Vec<_>>()).learner()?;
        Ok(p.iter().sum::<f32>() / p.len() as f32)
    };
    let (a, b) = (score(&plain)?, score(&guided)?);
    for (p, g) in plain.iter().zip(&guided).take(3) {
        ctx.note(format!("plain {:?} · guided {:?}", lm::decode(p), lm::decode(g)));
    }
    ctx.note(format!(
        "mean reward-model score of 256 continuations: plain {a:.3}, FUDGE-guided (top 10, strength 4) {b:.3} ({:.0}s)",
        start.elapsed().as_secs_f64()
    ));
    ensure(b >= a + 0.1, || format!("guided samples score {b:.3}, plain ones {a:.3}: needs a rise of ≥ 0.1"))
}

fn rl_run(ctx: &Ctx) -> Result<(), Fail> {
    let start = std::time::Instant::now();
    let Setup { policy, pre_loss, rm, acc, prompts } = setup(ctx)?;
    let reference = policy.copy().on_learner()?;
    let setup = start.elapsed().as_secs_f64();
    let cfg = lm::RlConfig::default();
    let rep = lm::rl_finetune(&policy, &reference, &rm, &prompts, &cfg, &mut ChaCha8Rng::seed_from_u64(1)).learner()?;
    ensure(rep.scores.len() == cfg.steps && rep.kls.len() == cfg.steps, || {
        format!("the report has {} scores and {} KL values for {} steps", rep.scores.len(), rep.kls.len(), cfg.steps)
    })?;
    let mean = |v: &[f32]| v.iter().sum::<f32>() / v.len() as f32;
    let (first, last) = (mean(&rep.scores[..10]), mean(&rep.scores[cfg.steps - 10..]));
    let kl = mean(&rep.kls[cfg.steps - 10..]);
    crate::picture::lines(&ctx.artefact("week4/rl_reward.png")?, &[&rep.scores], 480, 240)?;
    crate::picture::lines(&ctx.artefact("week4/rl_kl.png")?, &[&rep.kls], 480, 240)?;
    let mut srng = ChaCha8Rng::seed_from_u64(2);
    let shown: Vec<Vec<u32>> = prompts[..4].to_vec();
    let before = reference.sample(&shown, cfg.len, &mut srng).learner()?;
    let after = policy.sample(&shown, cfg.len, &mut srng).learner()?;
    for ((p, b), a) in shown.iter().zip(&before).zip(&after) {
        ctx.note(format!("{:?} → before {:?} · after {:?}", lm::decode(p), lm::decode(b), lm::decode(a)));
    }
    ctx.note(format!(
        "pretraining loss {pre_loss:.3} nats/char, reward model held-out accuracy {:.1} %, setup {setup:.0}s; RL {} steps of {} in {:.0}s: mean score {first:.3} → {last:.3}, KL {kl:.2} nats per continuation",
        100.0 * acc,
        cfg.steps,
        cfg.batch,
        start.elapsed().as_secs_f64() - setup
    ));
    ensure(last >= first + 0.15, || format!("mean score of the first 10 steps {first:.3}, of the last 10 {last:.3}: needs a rise of ≥ 0.15"))?;
    ensure(kl < 8.0, || format!("final KL estimate {kl:.2} nats per continuation, needs < 8 (the policy drifted far from the reference)"))
}
