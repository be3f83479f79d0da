//! # Policy gradients
//!
//! Instead of learning action values, learn the policy `π_θ(a | s)` directly: raise the
//! log-probability of actions in proportion to how much better than expected they turned out.
//! The policy-gradient theorem gives `∇J = E[∇ log π_θ(a_t | s_t) · A_t]`; the exercises build the
//! advantage estimates `A_t` (discounted returns, a baseline, GAE) and the two classic losses
//! (REINFORCE and PPO's clipped surrogate), then train PPO on CartPole.
//!
//! Conventions: a rollout is a list of steps in time order; `dones[t]` is true when the episode
//! terminated with step `t`, so step `t + 1` (if any) starts a new episode and nothing flows
//! back across that boundary. Losses take `logits` `[n, A]` (the policy network's outputs),
//! integer `actions` `[n]` (`u32` or `i64`) and f32 vectors `[n]`; they return scalars (rank 0)
//! that must be differentiable with respect to `logits` (and `values`). Use
//! `candle_nn::ops::log_softmax` (differentiable), not `softmax_last_dim` (no backward).
// STUB: #![allow(unused_variables, unused_imports, unused_mut)] // remove once you have solved a few

use super::dqn::Mlp;
use super::environments::CartPole;
use candle_core::{Device, Result, Tensor, D};
use candle_nn::ops::log_softmax;
use candle_nn::optim::{AdamW, Optimizer, ParamsAdamW};
use rand::Rng;

/// ## discounted_returns
/// The return of every step within its own episode: `G_t = r_t + γ · G_{t+1}`, where
/// `G_{t+1}` counts as 0 when `dones[t]` (the episode ended) or `t` is the last step (the
/// rollout's unfinished last episode is not bootstrapped here). One backward pass over the
/// rollout.
/// Example: rewards `[1, 1, 1]`, dones `[false, true, false]`, γ = 0.5 → `[1.5, 1, 1]`.
// HINT: Returns are easiest computed backwards with one running sum; at an episode's last step the sum restarts, so nothing flows back from the next episode.
// HINT: Walk t from the end: if dones[t], reset the running sum to 0 first; running = r[t] + γ·running; out[t] = running.
// HINT: for t in (0..rewards.len()).rev() { if dones[t] { running = 0.0; } running = rewards[t] + gamma * running; out[t] = running; }
pub fn discounted_returns(rewards: &[f32], dones: &[bool], gamma: f32) -> Vec<f32> {
    // BEGIN SOLUTION
    let mut out = vec![0f32; rewards.len()];
    let mut running = 0f32;
    for t in (0..rewards.len()).rev() {
        if dones[t] {
            running = 0.0;
        }
        running = rewards[t] + gamma * running;
        out[t] = running;
    }
    out
    // END SOLUTION
}

/// ## gae
/// Generalised advantage estimation (Schulman et al. 2016). `values[t]` is the critic's
/// `V(s_t)` and `last_value` is `V` of the state after the rollout's last step. Backwards
/// from `t = T − 1`, with `V_T = last_value` and `m_t = 1 − dones[t]` (0 at an episode's end):
/// ```text
/// δ_t = r_t + γ · m_t · V_{t+1} − V_t
/// A_t = δ_t + γ · λ · m_t · A_{t+1}          (A_T = 0)
/// ```
/// Return `(advantages, returns)` with `returns[t] = A_t + V_t` (the critic's regression
/// targets). λ = 1 gives `G_t − V_t` with bootstrapping from `last_value`; λ = 0 gives `δ_t`.
// HINT: It is the discounted-returns recursion run on one-step TD errors; an episode's end cuts both the bootstrap from the next value and the recursion, and the rollout's last step bootstraps from the value of the state after it.
// HINT: Backwards: next_v = last_value at t = T − 1, else values[t + 1]; m = 0 if dones[t] else 1; δ = r + γ·m·next_v − v; A = δ + γλ·m·A_next. returns = A + values.
// HINT: let delta = rewards[t] + gamma * next_v * m - values[t]; last = delta + gamma * lam * m * last; adv[t] = last;
pub fn gae(rewards: &[f32], values: &[f32], dones: &[bool], last_value: f32, gamma: f32, lam: f32) -> (Vec<f32>, Vec<f32>) {
    // BEGIN SOLUTION
    let n = rewards.len();
    let mut adv = vec![0f32; n];
    let mut last = 0f32;
    for t in (0..n).rev() {
        let next_v = if t + 1 == n { last_value } else { values[t + 1] };
        let m = if dones[t] { 0.0 } else { 1.0 };
        let delta = rewards[t] + gamma * next_v * m - values[t];
        last = delta + gamma * lam * m * last;
        adv[t] = last;
    }
    let returns = adv.iter().zip(values).map(|(a, v)| a + v).collect();
    (adv, returns)
    // END SOLUTION
}

/// ## reinforce_loss
/// REINFORCE with a baseline: `−mean_i( log π(a_i | s_i) · (G_i − b_i) )`, where
/// `log π(a_i | s_i)` is `log_softmax(logits)[i, actions[i]]`, `returns` are the `G_i` and
/// `baseline` the `b_i` (e.g. a critic's values: detach it, the policy's gradient must not flow
/// into the baseline). Minimising it follows the policy gradient.
// HINT: The loss is minus the mean of each taken action's log-probability times its advantage; the baseline is data, so no gradient may flow into it.
// HINT: log_softmax over the last axis, then pick the taken actions (unsqueeze(1), gather on dim 1, squeeze(1)) to get [n]; advantage = returns − baseline.detach(); multiply, mean_all, neg.
// HINT: let logp = log_softmax(logits, D::Minus1)?.gather(&actions.unsqueeze(1)?, 1)?.squeeze(1)?; (logp * (returns - baseline.detach())?)?.mean_all()?.neg()
pub fn reinforce_loss(logits: &Tensor, actions: &Tensor, returns: &Tensor, baseline: &Tensor) -> Result<Tensor> {
    // BEGIN SOLUTION
    let logp = log_softmax(logits, D::Minus1)?.gather(&actions.unsqueeze(1)?, 1)?.squeeze(1)?;
    let adv = (returns - baseline.detach())?;
    (logp * adv)?.mean_all()?.neg()
    // END SOLUTION
}

/// The parts of the PPO loss (all scalars); `total` is the one to minimise.
pub struct PpoLoss {
    pub total: Tensor,
    pub policy: Tensor,
    pub value: Tensor,
    pub entropy: Tensor,
}

/// ## ppo_loss
/// PPO's loss (Schulman et al. 2017) for a minibatch. With `logp_i = log_softmax(logits)[i, a_i]`
/// and the probability ratio `r_i = exp(logp_i − old_logp_i)` against the policy that collected
/// the data:
/// ```text
/// policy  = −mean( min(r_i · A_i, clip(r_i, 1 − ε, 1 + ε) · A_i) )
/// value   = 0.5 · mean( (values_i − returns_i)² )
/// entropy = mean over i of −Σ_a π(a | s_i) log π(a | s_i)
/// total   = policy + vf_coef · value − ent_coef · entropy
/// ```
/// `advantages`, `old_logp`, `returns` are data (no gradient); `values` `[n]` are the critic's
/// current outputs (gradient flows into them). Example: with `old_logp` equal to the current
/// log-probabilities every ratio is 1 and `policy = −mean(A)`.
// HINT: The ratio compares the current policy with the one that collected the data; taking the smaller of the clipped and unclipped objectives removes any incentive to push the ratio far from 1. Only the current logits and values carry gradients.
// HINT: logp_all = log_softmax(logits); logp = the taken actions' entries (gather); ratio = (logp − old_logp.detach()).exp(); policy = −mean(min(ratio·A, ratio.clamp(1 − ε, 1 + ε)·A)) with Tensor::minimum and A detached; value = 0.5·mean((values − returns.detach())²); entropy = −mean over rows of Σ_a p·log p with p = logp_all.exp(); total = policy + vf_coef·value − ent_coef·entropy.
// HINT: let policy = (&ratio * &adv)?.minimum(&(ratio.clamp(1.0 - clip, 1.0 + clip)? * &adv)?)?.mean_all()?.neg()?; and let entropy = (logp_all.exp()? * &logp_all)?.sum(D::Minus1)?.mean_all()?.neg()?;
#[allow(clippy::too_many_arguments)]
pub fn ppo_loss(
    logits: &Tensor,
    old_logp: &Tensor,
    actions: &Tensor,
    advantages: &Tensor,
    values: &Tensor,
    returns: &Tensor,
    clip: f64,
    vf_coef: f64,
    ent_coef: f64,
) -> Result<PpoLoss> {
    // BEGIN SOLUTION
    let logp_all = log_softmax(logits, D::Minus1)?;
    let logp = logp_all.gather(&actions.unsqueeze(1)?, 1)?.squeeze(1)?;
    let ratio = (logp - old_logp.detach())?.exp()?;
    let adv = advantages.detach();
    let unclipped = (&ratio * &adv)?;
    let clipped = (ratio.clamp(1.0 - clip, 1.0 + clip)? * &adv)?;
    let policy = unclipped.minimum(&clipped)?.mean_all()?.neg()?;
    let value = ((values - returns.detach())?.sqr()?.mean_all()? * 0.5)?;
    let entropy = (logp_all.exp()? * &logp_all)?.sum(D::Minus1)?.mean_all()?.neg()?;
    let total = ((&policy + (&value * vf_coef)?)? - (&entropy * ent_coef)?)?;
    Ok(PpoLoss { total, policy, value, entropy })
    // END SOLUTION
}

/// Sample an index from the probabilities `p` (which sum to 1) with one uniform draw. Given.
pub fn sample_categorical(p: &[f32], rng: &mut impl Rng) -> usize {
    let u: f32 = rng.random();
    let mut acc = 0.0;
    for (i, &pi) in p.iter().enumerate() {
        acc += pi;
        if u < acc {
            return i;
        }
    }
    p.len() - 1
}

/// Hyperparameters of `train_ppo` (the grader passes `PpoConfig::default()`).
#[derive(Clone, Debug)]
pub struct PpoConfig {
    pub total_steps: usize,
    /// Steps per rollout (one environment).
    pub rollout: usize,
    pub epochs: usize,
    pub minibatch: usize,
    pub hidden: usize,
    pub lr: f64,
    pub gamma: f32,
    pub lam: f32,
    pub clip: f64,
    pub vf_coef: f64,
    pub ent_coef: f64,
}

impl Default for PpoConfig {
    fn default() -> Self {
        PpoConfig {
            total_steps: 150_000,
            rollout: 1024,
            epochs: 6,
            minibatch: 128,
            hidden: 64,
            lr: 1e-3,
            gamma: 0.99,
            lam: 0.95,
            clip: 0.2,
            vf_coef: 0.5,
            ent_coef: 0.0,
        }
    }
}

/// What a PPO run returns.
pub struct PpoRun {
    /// The policy network (`[4, hidden, hidden, 2]`, logits).
    pub policy: Mlp,
    /// The return of every finished training episode (sampled actions), in order.
    pub episode_returns: Vec<f32>,
    pub steps: usize,
}

/// ## ppo_cartpole
/// Train PPO on CartPole: a policy `Mlp::new(&[4, hidden, hidden, 2])` (logits) and a critic
/// `Mlp::new(&[4, hidden, hidden, 1])`, one Adam optimiser over both. Repeat: collect `rollout`
/// steps by sampling actions from the policy (`sample_categorical` on the softmax), recording
/// observations, actions, log-probabilities, rewards, `dones` (= terminated) and values; reset
/// on termination or truncation; compute advantages with `gae` (bootstrapping from the value of
/// the state after the rollout); then for `epochs` passes over the rollout in shuffled
/// minibatches, normalise the minibatch's advantages (zero mean, unit standard deviation) and
/// take a step on `ppo_loss`. The grader plays 100 episodes with the **greedy** policy (argmax
/// of the logits) of the returned network and needs a mean return ≥ 475. Stopping early once
/// the recent training episodes all reach 500 is fine. After each rollout,
/// `candlecamp::report(steps - 1, cfg.total_steps, "return", last)` with the last finished
/// episode's return lets the grader show the run live.
// HINT: PPO learns from the data its current policy just collected: record the log-probabilities at acting time and keep them fixed as the old ones, bootstrap the advantages from the state after the rollout, and normalise the advantages per minibatch.
// HINT: Policy [4, h, h, 2] and critic [4, h, h, 1], one AdamW over both var lists. Each iteration: rollout steps of sampling from the softmax (sample_categorical), recording obs, action, log π(a), reward, done = terminated and V(s); reset on terminated or truncated; last_value = the critic on the current state; gae; then epochs passes of shuffled minibatches: index_select the rollout tensors, normalise the advantages, ppo_loss(policy.forward(o), old logp, actions, adv, critic.forward(o).squeeze(1), returns, …) and opt.backward_step(&loss.total).
// HINT: let a = adv_t.index_select(&ix, 0)?; let a = a.broadcast_sub(&a.mean_all()?)?; let a = a.broadcast_div(&(a.sqr()?.mean_all()?.sqrt()? + 1e-8)?)?;
pub fn train_ppo(cfg: &PpoConfig, rng: &mut impl Rng, dev: &Device) -> Result<PpoRun> {
    // BEGIN SOLUTION
    let policy = Mlp::new(&[4, cfg.hidden, cfg.hidden, 2], rng, dev)?;
    let critic = Mlp::new(&[4, cfg.hidden, cfg.hidden, 1], rng, dev)?;
    let mut vars = policy.vars();
    vars.extend(critic.vars());
    let mut opt = AdamW::new(vars, ParamsAdamW { lr: cfg.lr, weight_decay: 0.0, eps: 1e-5, ..Default::default() })?;
    let mut env = CartPole::reset(rng);
    let (mut ep_return, mut returns_log, mut steps) = (0f32, Vec::new(), 0);
    while steps < cfg.total_steps {
        let n = cfg.rollout;
        let (mut obs, mut acts, mut logps, mut rews, mut dones, mut vals) =
            (Vec::with_capacity(n * 4), Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for _ in 0..n {
            let o = env.observation();
            let x = Tensor::from_slice(&o, (1, 4), dev)?;
            let lp = log_softmax(&policy.forward(&x)?, D::Minus1)?.squeeze(0)?.to_vec1::<f32>()?;
            let probs: Vec<f32> = lp.iter().map(|v| v.exp()).collect();
            let a = sample_categorical(&probs, rng);
            let v = critic.forward(&x)?.flatten_all()?.to_vec1::<f32>()?[0];
            let r = env.step(a);
            steps += 1;
            ep_return += r.reward as f32;
            obs.extend_from_slice(&o);
            acts.push(a as u32);
            logps.push(lp[a]);
            rews.push(r.reward as f32);
            dones.push(r.terminated);
            vals.push(v);
            if r.terminated || r.truncated {
                returns_log.push(ep_return);
                ep_return = 0.0;
                env = CartPole::reset(rng);
            }
        }
        // A truncated episode counts as not done (bootstrapped), except across the reset: the
        // value after the rollout is that of the current environment's state.
        candlecamp::report(steps - 1, cfg.total_steps, "return", returns_log.last().copied().unwrap_or(0.0));
        let last_value = critic.forward(&Tensor::from_slice(&env.observation(), (1, 4), dev)?)?.flatten_all()?.to_vec1::<f32>()?[0];
        let (adv, ret) = gae(&rews, &vals, &dones, last_value, cfg.gamma, cfg.lam);
        let obs_t = Tensor::from_vec(obs, (n, 4), dev)?;
        let acts_t = Tensor::from_vec(acts, n, dev)?;
        let logp_t = Tensor::from_vec(logps, n, dev)?;
        let adv_t = Tensor::from_vec(adv, n, dev)?;
        let ret_t = Tensor::from_vec(ret, n, dev)?;
        let mut idx: Vec<u32> = (0..n as u32).collect();
        for _ in 0..cfg.epochs {
            for i in (1..n).rev() {
                idx.swap(i, rng.random_range(0..=i));
            }
            for chunk in idx.chunks(cfg.minibatch) {
                let ix = Tensor::from_slice(chunk, chunk.len(), dev)?;
                let a = adv_t.index_select(&ix, 0)?;
                let a = a.broadcast_sub(&a.mean_all()?)?;
                let std = a.sqr()?.mean_all()?.sqrt()?;
                let a = a.broadcast_div(&(std + 1e-8)?)?;
                let o = obs_t.index_select(&ix, 0)?;
                let loss = ppo_loss(
                    &policy.forward(&o)?,
                    &logp_t.index_select(&ix, 0)?,
                    &acts_t.index_select(&ix, 0)?,
                    &a,
                    &critic.forward(&o)?.squeeze(1)?,
                    &ret_t.index_select(&ix, 0)?,
                    cfg.clip,
                    cfg.vf_coef,
                    cfg.ent_coef,
                )?;
                opt.backward_step(&loss.total)?;
            }
        }
        let recent = &returns_log[returns_log.len().saturating_sub(20)..];
        if recent.len() == 20 && recent.iter().all(|&r| r >= 500.0) {
            break;
        }
    }
    Ok(PpoRun { policy, episode_returns: returns_log, steps })
    // END SOLUTION
}
