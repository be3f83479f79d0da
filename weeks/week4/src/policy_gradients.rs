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
#![allow(unused_variables, unused_imports, unused_mut)] // remove once you have solved a few

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
pub fn discounted_returns(rewards: &[f32], dones: &[bool], gamma: f32) -> Vec<f32> {
    todo!()
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
pub fn gae(rewards: &[f32], values: &[f32], dones: &[bool], last_value: f32, gamma: f32, lam: f32) -> (Vec<f32>, Vec<f32>) {
    todo!()
}

/// ## reinforce_loss
/// REINFORCE with a baseline: `−mean_i( log π(a_i | s_i) · (G_i − b_i) )`, where
/// `log π(a_i | s_i)` is `log_softmax(logits)[i, actions[i]]`, `returns` are the `G_i` and
/// `baseline` the `b_i` (e.g. a critic's values: detach it, the policy's gradient must not flow
/// into the baseline). Minimising it follows the policy gradient.
pub fn reinforce_loss(logits: &Tensor, actions: &Tensor, returns: &Tensor, baseline: &Tensor) -> Result<Tensor> {
    todo!()
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
    todo!()
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
pub fn train_ppo(cfg: &PpoConfig, rng: &mut impl Rng, dev: &Device) -> Result<PpoRun> {
    todo!()
}
