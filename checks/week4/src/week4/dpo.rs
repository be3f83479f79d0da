//! Checks for week4 day "dpo": sequence log-probabilities and the DPO loss, its implicit
//! rewards and its gradients against torch autograd (fixtures/gen/week4_dpo.py); a short DPO
//! run on the character language model with preference pairs "a positive Shakespeare line is
//! preferred to a negative one" (the lines and labels of the lm_rl day).

use super::grad_of;
use crate::cases::FixtureFile;
use crate::check::{ensure, Ctx};
use crate::check::{Fail, Learner};
use crate::compare::{close, close_with, Candidate, Tol};
use crate::registry::{Day, Exercise};
use crate::subject::week4::dpo as dp;
use crate::subject::week4::lm_rl as lm;
use crate::subject::week4::lm_rl::CharLm;
use candle_core::Var;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

const FX: FixtureFile = FixtureFile::new("week4/dpo.safetensors");

/// A log-softmax over ≤ 27 logits and a masked sum of ≤ 6 terms: a few ulps of values of
/// order 10.
const SEQ: Tol = Tol { abs: 1e-5, rel: 1e-5 };
/// Log-probabilities of order 10 multiplied by β ≤ 2 and differenced: the log-sigmoid's input
/// carries ~1e-6 absolute rounding, so compare at 1e-5.
const DPO: Tol = Tol { abs: 1e-5, rel: 1e-5 };

const DAY: Day = Day::new("week4", "dpo", "src/dpo.rs");

pub fn exercises() -> Vec<Exercise> {
    vec![
        DAY.exercise("seq_logprob", "the log-probability of a sequence").pace(1, 10).function("seq_logprob").check("vs torch", |ctx| {
            for c in FX.cases(ctx, "seq_logprob")? {
                let (l, t, m) = (c.t("logits")?, c.t("tokens")?, c.t("mask")?);
                let got = dp::seq_logprob(&l, &t, &m).learner()?;
                let lp = candle_nn::ops::log_softmax(&l, 2).grader()?.gather(&t.unsqueeze(2).grader()?, 2).grader()?.squeeze(2).grader()?;
                let unmasked = Candidate { description: "the sum over every position: multiply by the mask first", tensor: lp.sum(1).grader()? };
                close_with(&c.label(), &got, &c.out()?, SEQ, &[unmasked])?;
            }
            Ok(())
        }),
        DAY.exercise("dpo_loss", "the DPO loss and its gradients")
            .pace(2, 20)
            .function("dpo_loss")
            .check("loss, implicit rewards and gradients vs torch", |ctx| {
                for c in FX.cases(ctx, "dpo")? {
                    let (pc, pr) = (Var::from_tensor(&c.t("policy_chosen")?).grader()?, Var::from_tensor(&c.t("policy_rejected")?).grader()?);
                    let (rc, rr, beta) = (c.t("ref_chosen")?, c.t("ref_rejected")?, c.f("beta")?);
                    let out = dp::dpo_loss(pc.as_tensor(), pr.as_tensor(), &rc, &rr, beta).learner()?;
                    let l = c.label();
                    let swapped = Candidate {
                        description: "the loss with chosen and rejected swapped",
                        tensor: dpo_ref(&c.t("policy_rejected")?, &c.t("policy_chosen")?, &rr, &rc, beta).grader()?,
                    };
                    close_with(&format!("loss, {l}"), &out.loss, &c.out()?, DPO, &[swapped])?;
                    close(&format!("chosen_rewards, {l}"), &out.chosen_rewards, &c.t("chosen_rewards")?, DPO)?;
                    close(&format!("rejected_rewards, {l}"), &out.rejected_rewards, &c.t("rejected_rewards")?, DPO)?;
                    let grads = out.loss.backward().learner()?;
                    let gc = grads.get(pc.as_tensor()).ok_or_else(|| Fail::Mismatch("no gradient reached policy_chosen".into()))?;
                    let gr = grads.get(pr.as_tensor()).ok_or_else(|| Fail::Mismatch("no gradient reached policy_rejected".into()))?;
                    close(&format!("d loss / d policy_chosen, {l}"), gc, &c.t("grad_chosen")?, DPO)?;
                    close(&format!("d loss / d policy_rejected, {l}"), gr, &c.t("grad_rejected")?, DPO)?;
                }
                Ok(())
            })
            .check("at the start of training (policy = reference): loss ln 2, gradients ∓β/(2b) exactly", |ctx| {
                // d/dz −log σ(z) = −σ(−z) = −1/2 at z = 0: every pair starts there in DPO.
                let lp = FX.cases(ctx, "dpo")?[0].t("ref_chosen")?;
                let lr = FX.cases(ctx, "dpo")?[0].t("ref_rejected")?;
                let (b, beta) = (lp.dim(0).grader()?, 0.5);
                let (pc, pr) = (Var::from_tensor(&lp).grader()?, Var::from_tensor(&lr).grader()?);
                let out = dp::dpo_loss(pc.as_tensor(), pr.as_tensor(), &lp, &lr, beta).learner()?;
                crate::compare::scalar_close(
                    "loss at z = 0",
                    crate::compare::to_f64(&out.loss)?.first().copied().unwrap_or(f64::NAN),
                    std::f64::consts::LN_2,
                    DPO,
                )?;
                let grads = out.loss.backward().learner()?;
                let g = |v: &Var, what: &str| grads.get(v.as_tensor()).cloned().ok_or_else(|| Fail::Mismatch(format!("no gradient reached {what}")));
                let want = beta / (2.0 * b as f64);
                let half = Candidate {
                    description: "twice the derivative: a subgradient of minimum or relu at the tie z = 0 (write min(z, 0) as (z − |z|)/2)",
                    tensor: (lp.ones_like().grader()? * (-2.0 * want)).grader()?,
                };
                close_with("d loss / d policy_chosen at z = 0", &g(&pc, "policy_chosen")?, &(lp.ones_like().grader()? * -want).grader()?, DPO, &[half])?;
                close("d loss / d policy_rejected at z = 0", &g(&pr, "policy_rejected")?, &(lp.ones_like().grader()? * want).grader()?, DPO)
            })
            .check("a large margin does not overflow", |ctx| {
                // log σ(z) for z = −400: the naive log(1/(1+exp(400))) is −inf in f32.
                let dev = &ctx.device;
                let pc = Var::new(&[-500f32], dev).grader()?;
                let t = |v: f32| candle_core::Tensor::new(&[v], dev);
                let out = dp::dpo_loss(pc.as_tensor(), &t(-100.0).on_learner()?, &t(-100.0).on_learner()?, &t(-100.0).on_learner()?, 1.0).learner()?;
                let want = t(400.0).grader()?.squeeze(0).grader()?;
                // Exact values are 400 + log(1 + e^-400) and −σ(400) = −1 (to f32 precision);
                // the f32 ulp at 400 is 3e-5, so allow 1e-3 there and 1e-5 on the gradient. The
                // naive form gives inf / NaN.
                close("loss with β(π_w − ref_w) − β(π_l − ref_l) = −400 (= 400)", &out.loss, &want, Tol::new(1e-3, 1e-5))?;
                close("its gradient (= −1)", &grad_of(&out.loss, &pc, "policy_chosen")?, &t(-1.0).on_learner()?, Tol::new(1e-5, 1e-5))
            }),
        DAY.exercise("dpo_train", "a short DPO run raises the preference margin")
            .pace(3, 45)
            .function("dpo_train")
            .timeout(std::time::Duration::from_secs(60))
            .check("the mean margin on the training pairs grows to ≥ 1", dpo_run)
            .check("four steps on 16 pairs: the margins of full-batch Adam steps (no weight decay) on the DPO loss", |ctx| {
                let (train, _) = super::lm_rl::labelled(ctx)?;
                let train = pairs(&train, 16);
                let reference = lm::CharMlp::new(&mut ChaCha8Rng::seed_from_u64(1), &ctx.device).learner()?;
                let (policy, mine) = (reference.copy().on_learner()?, reference.copy().on_learner()?);
                let (steps, beta, lr) = (4, 0.1, 1e-2);
                let got = dp::dpo_train(&policy, &reference, &train, steps, beta, lr).learner()?;
                let want = adam_dpo(&mine, &reference, &train, steps, beta, lr).grader()?;
                ensure(got.len() == steps, || format!("dpo_train returned {} margins for {steps} steps", got.len()))?;
                // Margins of order 0.1 from sums of 16 × 32 log-probabilities: the two loops agree
                // to ~1e-6; weight decay 1 (AdamW's default is 0.01) moves them by ~1e-3 from the
                // second step on.
                for (k, (g, w)) in got.iter().zip(&want).enumerate() {
                    crate::compare::scalar_close(&format!("margin before step {}", k + 1), *g as f64, *w as f64, Tol::new(2e-5, 1e-4))?;
                }
                Ok(())
            }),
    ]
}

const ANSWER: usize = 32;

/// Pairs (positive line, negative line), answers cut or padded with spaces to 32 characters,
/// after a prompt of `CONTEXT` newlines.
fn pairs(examples: &[(String, bool)], n: usize) -> Vec<dp::Pair> {
    let enc = |s: &str| {
        let mut ids = lm::encode(s);
        ids.resize(ANSWER, 0);
        ids
    };
    let pos = examples.iter().filter(|e| e.1).map(|e| enc(&e.0));
    let neg = examples.iter().filter(|e| !e.1).map(|e| enc(&e.0));
    let prompt = lm::encode(&"\n".repeat(lm::CONTEXT));
    pos.zip(neg).take(n).map(|(chosen, rejected)| dp::Pair { prompt: prompt.clone(), chosen, rejected }).collect()
}

fn dpo_run(ctx: &Ctx) -> Result<(), Fail> {
    let (train, test) = super::lm_rl::labelled(ctx)?;
    let (train, test) = (pairs(&train, 128), pairs(&test, 128));
    let reference = lm::CharMlp::new(&mut ChaCha8Rng::seed_from_u64(0), &ctx.device).learner()?;
    let policy = reference.copy().on_learner()?;
    let start = std::time::Instant::now();
    let steps = 12;
    let margins = dp::dpo_train(&policy, &reference, &train, steps, 0.1, 1e-2).learner()?;
    let secs = start.elapsed().as_secs_f64();
    ensure(margins.len() == steps, || format!("dpo_train returned {} margins for {steps} steps", margins.len()))?;
    crate::picture::lines(&ctx.artefact("week4/dpo_margin.png")?, &[&margins], 480, 240)?;
    // Held-out pairs: is the chosen answer's implicit reward above the rejected one's?
    let lp = |m: &lm::CharMlp, which: fn(&dp::Pair) -> &Vec<u32>| -> Result<Vec<f32>, Fail> {
        let prompts: Vec<Vec<u32>> = test.iter().map(|p| p.prompt.clone()).collect();
        let answers: Vec<Vec<u32>> = test.iter().map(|p| which(p).clone()).collect();
        m.token_logps(&prompts, &answers).learner()?.sum(1).on_learner()?.to_vec1::<f32>().on_learner()
    };
    let (pc, pr, rc, rr) = (lp(&policy, |p| &p.chosen)?, lp(&policy, |p| &p.rejected)?, lp(&reference, |p| &p.chosen)?, lp(&reference, |p| &p.rejected)?);
    let right = (0..test.len()).filter(|&i| (pc[i] - rc[i]) > (pr[i] - rr[i])).count();
    let (first, last) = (margins[0], margins[steps - 1]);
    ctx.note(format!(
        "{steps} steps on {} pairs in {secs:.1}s: mean margin {first:.3} → {last:.3}; held-out pairs ranked right: {right} of {}",
        train.len(),
        test.len()
    ));
    ensure(first.abs() < 1e-4, || {
        format!("the first margin is {first}, expected 0 (the policy starts as a copy of the reference; record the margin before the step)")
    })?;
    ensure(last >= 1.0, || format!("the mean margin reached {last:.3}, needs ≥ 1"))
}

/// The grader's DPO loop, written independently of the exercise: one `token_logps` call per
/// model and step on the chosen answers followed by the rejected ones, the summed log-ratios
/// split in halves, the mean margin, then one `candle_nn::AdamW` step (weight decay 0) on
/// `dpo_ref`.
fn adam_dpo(policy: &lm::CharMlp, reference: &lm::CharMlp, pairs: &[dp::Pair], steps: usize, beta: f64, lr: f64) -> candle_core::Result<Vec<f32>> {
    use candle_nn::optim::Optimizer;
    let n = pairs.len();
    let both: Vec<Vec<u32>> = pairs.iter().map(|p| p.chosen.clone()).chain(pairs.iter().map(|p| p.rejected.clone())).collect();
    let twice: Vec<Vec<u32>> = pairs.iter().chain(pairs).map(|p| p.prompt.clone()).collect();
    let sums = |m: &lm::CharMlp| m.token_logps(&twice, &both).and_then(|t| t.sum(1));
    let fixed = sums(reference)?.detach();
    let params = candle_nn::optim::ParamsAdamW { weight_decay: 0.0, lr, ..candle_nn::optim::ParamsAdamW::default() };
    let mut adam = candle_nn::optim::AdamW::new(policy.vars(), params)?;
    let mut out = Vec::with_capacity(steps);
    for _ in 0..steps {
        let now = sums(policy)?;
        let (w, l) = (now.narrow(0, 0, n)?, now.narrow(0, n, n)?);
        let (rw, rl) = (fixed.narrow(0, 0, n)?, fixed.narrow(0, n, n)?);
        let ratio = (now.detach() - &fixed)?;
        out.push(((ratio.narrow(0, 0, n)? - ratio.narrow(0, n, n)?)?.mean_all()? * beta)?.to_scalar::<f32>()?);
        adam.backward_step(&dpo_ref(&w, &l, &rw, &rl, beta)?)?;
    }
    Ok(out)
}

fn dpo_ref(
    pc: &candle_core::Tensor,
    pr: &candle_core::Tensor,
    rc: &candle_core::Tensor,
    rr: &candle_core::Tensor,
    beta: f64,
) -> candle_core::Result<candle_core::Tensor> {
    let z = (((pc - rc)? - (pr - rr)?)? * beta)?;
    // −log σ(z) = softplus(−z) = (|z| − z)/2 + log(1 + exp(−|z|)): stable, and with the exact
    // derivative −1/2 at z = 0 (relu or minimum would take a subgradient there).
    let sp = (((z.abs()? - &z)? * 0.5)? + (z.abs()?.neg()?.exp()? + 1.0)?.log()?)?;
    sp.mean_all()
}
