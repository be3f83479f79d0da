//! Checks for week4 day "policy_gradients": returns and GAE against a torch reference
//! computation with episode boundaries, REINFORCE and PPO losses with their gradients against
//! torch autograd (fixtures/gen/week4_policy_gradients.py), and (`--long`) PPO solving CartPole
//! on the grader's own CartPole.

use super::{argmax, bools, cartpole_returns, grad_of, same_len, vecf};
use crate::cases::FixtureFile;
use crate::check::{ensure, Ctx, Fail, Learner};
use crate::compare::{close, close_with, Candidate, Tol};
use crate::registry::{Day, Exercise};
use crate::subject::week4::policy_gradients as pg;
use candle_core::{Tensor, Var};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::time::Duration;

const FX: FixtureFile = FixtureFile::new("week4/policy_gradients.safetensors");

/// Backward recursions of ≤ 24 steps on values of order 1–10 in f32: rounding accumulates
/// over the steps, a few ulps each (observed ≤ 1e-6).
const REC: Tol = Tol { abs: 1e-5, rel: 1e-5 };
/// Losses and gradients: a log-softmax, an exp and a mean of ≤ 16 terms.
const LOSS: Tol = Tol { abs: 1e-5, rel: 1e-5 };

fn t1(v: Vec<f32>, ctx: &Ctx) -> Result<Tensor, Fail> {
    let n = v.len();
    Tensor::from_vec(v, n, &ctx.device).grader()
}

const DAY: Day = Day::new("week4", "policy_gradients", "src/policy_gradients.rs");

pub fn exercises() -> Vec<Exercise> {
    vec![
        DAY.exercise("discounted_returns", "discounted returns per episode").pace(2, 30).function("discounted_returns").check(
            "vs torch, with episode boundaries",
            |ctx| {
                for c in FX.cases(ctx, "returns")? {
                    let (r, d) = (vecf(&c.t("rewards")?)?, bools(&c.t("dones")?)?);
                    let got = pg::discounted_returns(&r, &d, c.f("gamma")? as f32);
                    same_len(&c.label(), got.len(), r.len())?;
                    let no_bound = pg_no_boundaries(&r, c.f("gamma")? as f32);
                    close_with(
                        &c.label(),
                        &t1(got, ctx)?,
                        &c.out()?,
                        REC,
                        &[Candidate { description: "the returns ignoring the episode boundaries (reset the sum where dones[t])", tensor: t1(no_bound, ctx)? }],
                    )?;
                }
                Ok(())
            },
        ),
        DAY.exercise("gae", "generalised advantage estimation").pace(2, 35).function("gae").check(
            "advantages and returns vs torch (λ ∈ {0, 0.8, 0.95, 1}, with episode boundaries)",
            |ctx| {
                for c in FX.cases(ctx, "gae")? {
                    let (r, v, d) = (vecf(&c.t("rewards")?)?, vecf(&c.t("values")?)?, bools(&c.t("dones")?)?);
                    let (adv, ret) = pg::gae(&r, &v, &d, c.f("last_value")? as f32, c.f("gamma")? as f32, c.f("lam")? as f32);
                    same_len(&format!("advantages, {}", c.label()), adv.len(), r.len())?;
                    same_len(&format!("returns, {}", c.label()), ret.len(), r.len())?;
                    let ignore = Candidate {
                        description: "GAE computed as if no episode ended (mask δ's bootstrap and the recursion with 1 − dones[t])",
                        tensor: t1(gae_no_dones(&r, &v, c.f("last_value")? as f32, c.f("gamma")? as f32, c.f("lam")? as f32), ctx)?,
                    };
                    close_with(&format!("advantages, {}", c.label()), &t1(adv, ctx)?, &c.out()?, REC, &[ignore])?;
                    close(&format!("returns, {}", c.label()), &t1(ret, ctx)?, &c.t("returns")?, REC)?;
                }
                Ok(())
            },
        ),
        DAY.exercise("reinforce_loss", "REINFORCE with a baseline")
            .pace(1, 10)
            .function("reinforce_loss")
            .check("vs torch (value and d loss / d logits)", |ctx| {
                for c in FX.cases(ctx, "reinforce")? {
                    let x = Var::from_tensor(&c.t("logits")?).grader()?;
                    let loss = pg::reinforce_loss(x.as_tensor(), &c.t("actions")?, &c.t("returns")?, &c.t("baseline")?).learner()?;
                    close(&c.label(), &loss, &c.out()?, LOSS)?;
                    close(&format!("gradient, {}", c.label()), &grad_of(&loss, &x, "logits")?, &c.t("grad_logits")?, LOSS)?;
                }
                Ok(())
            })
            .check("no gradient flows into the baseline", |ctx| {
                let c = &FX.cases(ctx, "reinforce")?[1];
                let b = Var::from_tensor(&c.t("baseline")?).grader()?;
                let loss = pg::reinforce_loss(&c.t("logits")?, &c.t("actions")?, &c.t("returns")?, b.as_tensor()).learner()?;
                let grads = loss.backward().learner()?;
                let leak = match grads.get(b.as_tensor()) {
                    Some(g) => g.abs().grader()?.sum_all().grader()?.to_scalar::<f32>().grader()?,
                    None => 0.0,
                };
                ensure(leak == 0.0, || format!("the baseline received a gradient (|g| summed = {leak}): detach it"))
            }),
        DAY.exercise("ppo_loss", "PPO: clipped surrogate, value loss, entropy bonus").pace(2, 30).function("ppo_loss").check(
            "vs torch: the four parts and the gradients of total",
            |ctx| {
                for c in FX.cases(ctx, "ppo")? {
                    let x = Var::from_tensor(&c.t("logits")?).grader()?;
                    let v = Var::from_tensor(&c.t("values")?).grader()?;
                    let out = pg::ppo_loss(
                        x.as_tensor(),
                        &c.t("old_logp")?,
                        &c.t("actions")?,
                        &c.t("advantages")?,
                        v.as_tensor(),
                        &c.t("returns")?,
                        c.f("clip")?,
                        c.f("vf_coef")?,
                        c.f("ent_coef")?,
                    )
                    .learner()?;
                    let l = c.label();
                    let unclipped = Candidate {
                        description: "the unclipped surrogate −mean(ratio·A)",
                        tensor: unclipped_surrogate(&c.t("logits")?, &c.t("old_logp")?, &c.t("actions")?, &c.t("advantages")?).grader()?,
                    };
                    close_with(&format!("policy, {l}"), &out.policy, &c.t("policy")?, LOSS, &[unclipped])?;
                    close(&format!("value, {l}"), &out.value, &c.t("value")?, LOSS)?;
                    close(&format!("entropy, {l}"), &out.entropy, &c.t("entropy")?, LOSS)?;
                    close(&format!("total, {l}"), &out.total, &c.out()?, LOSS)?;
                    let grads = out.total.backward().learner()?;
                    let gl = grads.get(x.as_tensor()).ok_or_else(|| Fail::Mismatch("no gradient reached the logits".into()))?;
                    let gv = grads.get(v.as_tensor()).ok_or_else(|| Fail::Mismatch("no gradient reached the values".into()))?;
                    close(&format!("d total / d logits, {l}"), gl, &c.t("grad_logits")?, LOSS)?;
                    close(&format!("d total / d values, {l}"), gv, &c.t("grad_values")?, LOSS)?;
                }
                Ok(())
            },
        ),
        DAY.exercise("ppo_cartpole", "PPO solves CartPole (long)").pace(3, 45).function("train_ppo").long().timeout(Duration::from_secs(1800)).check(
            "greedy mean return ≥ 475 over 100 episodes",
            |ctx| {
                let start = std::time::Instant::now();
                let run = pg::train_ppo(&pg::PpoConfig::default(), &mut ChaCha8Rng::seed_from_u64(0), &ctx.device).learner()?;
                let secs = start.elapsed().as_secs_f64();
                let rets = cartpole_returns(100, 4321, |o| {
                    let l = run
                        .policy
                        .forward(&Tensor::from_slice(o, (1, 4), &ctx.device).on_learner()?)
                        .learner()?
                        .flatten_all()
                        .on_learner()?
                        .to_vec1::<f32>()
                        .on_learner()?;
                    Ok(argmax(&l) == 1)
                })?;
                let mean = rets.iter().sum::<f32>() / rets.len() as f32;
                if !run.episode_returns.is_empty() {
                    crate::picture::lines(&ctx.artefact("week4/ppo_cartpole_returns.png")?, &[&run.episode_returns], 480, 240)?;
                }
                ctx.note(format!(
                    "{} environment steps, {} training episodes, {secs:.0}s; greedy mean return {mean:.1} over 100 episodes",
                    run.steps,
                    run.episode_returns.len()
                ));
                ensure(mean >= 475.0, || format!("greedy mean return {mean:.1} over 100 episodes, needs ≥ 475"))
            },
        ),
    ]
}

/// GAE without episode boundaries (a diagnosis), computed here.
fn gae_no_dones(r: &[f32], v: &[f32], last: f32, gamma: f32, lam: f32) -> Vec<f32> {
    let mut out = vec![0f32; r.len()];
    let mut a = 0f32;
    for t in (0..r.len()).rev() {
        let next = if t + 1 == r.len() { last } else { v[t + 1] };
        a = r[t] + gamma * next - v[t] + gamma * lam * a;
        out[t] = a;
    }
    out
}

fn pg_no_boundaries(r: &[f32], gamma: f32) -> Vec<f32> {
    let mut out = vec![0f32; r.len()];
    let mut run = 0f32;
    for t in (0..r.len()).rev() {
        run = r[t] + gamma * run;
        out[t] = run;
    }
    out
}

fn unclipped_surrogate(logits: &Tensor, old: &Tensor, actions: &Tensor, adv: &Tensor) -> candle_core::Result<Tensor> {
    let lp = candle_nn::ops::log_softmax(logits, 1)?.gather(&actions.unsqueeze(1)?, 1)?.squeeze(1)?;
    ((lp - old)?.exp()? * adv)?.mean_all()?.neg()
}
