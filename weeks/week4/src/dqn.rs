//! # Deep Q-networks
//!
//! Q-learning with a neural network (Mnih et al. 2015): a network `Q(s, ·)` scores every action
//! in a state; acting is ε-greedy; experience goes into a replay buffer, and each gradient step
//! fits `Q(s, a)` on a random minibatch towards the TD target `r + γ · max_a' Q_target(s', a')`
//! computed with a slowly updated copy of the network (the target network), under the Huber
//! loss. Each ingredient is an exercise; the last one assembles them and solves CartPole.
//!
//! Conventions: states are f32 rows; actions are integer tensors (`u32` or `i64`: `gather`
//! takes both); `dones` are f32 tensors of 0. and 1. (1. = the episode terminated at that
//! transition, so nothing after it is bootstrapped). Randomness comes from the `rng` argument.
#![allow(unused_variables, unused_imports, unused_mut)] // remove once you have solved a few

use super::environments::CartPole;
use candle_core::{Device, Result, Tensor, Var, D};
use candle_nn::optim::{AdamW, Optimizer, ParamsAdamW};
use rand::Rng;

/// One step of experience.
#[derive(Clone, Debug, PartialEq)]
pub struct Transition {
    pub state: Vec<f32>,
    pub action: usize,
    pub reward: f32,
    pub next_state: Vec<f32>,
    /// The episode terminated with this step.
    pub done: bool,
}

/// A minibatch as tensors: `states`, `next_states` `[n, d]` f32; `actions` `[n]` u32;
/// `rewards`, `dones` `[n]` f32 (`dones` 1. or 0.).
pub struct Batch {
    pub states: Tensor,
    pub actions: Tensor,
    pub rewards: Tensor,
    pub next_states: Tensor,
    pub dones: Tensor,
}

/// A fixed-size ring of transitions.
pub struct ReplayBuffer {
    pub capacity: usize,
    /// The stored transitions (at most `capacity`).
    pub items: Vec<Transition>,
    /// Where the next push writes once the buffer is full (the oldest transition).
    pub next: usize,
}

impl ReplayBuffer {
    pub fn new(capacity: usize) -> ReplayBuffer {
        ReplayBuffer { capacity, items: Vec::with_capacity(capacity), next: 0 }
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// ## replay_buffer
    /// Store `t`. While the buffer has fewer than `capacity` transitions, append; once full,
    /// overwrite the oldest one (at `self.next`) and advance `self.next`, wrapping around to 0
    /// after `capacity - 1`. So after pushing transitions 0..12 into a buffer of capacity 5 it
    /// holds exactly transitions 7..12 (in some slot order). `sample` below is part of this
    /// exercise.
    pub fn push(&mut self, t: Transition) {
        todo!()
    }

    /// A minibatch of `n` transitions drawn uniformly **with replacement** from the stored
    /// ones (each draw: an index from `rng.random_range(0..self.len())`), as tensors on `dev`
    /// (see `Batch`; row `i` of every field comes from the same transition). An error when the
    /// buffer is empty.
    pub fn sample(&self, n: usize, rng: &mut impl Rng, dev: &Device) -> Result<Batch> {
        todo!()
    }
}

/// ## epsilon_schedule
/// The exploration rate at environment step `step`: a straight line from `start` (at step 0)
/// to `end` (at step `decay_steps`), then constant at `end`.
/// `ε(t) = start + (end − start) · min(t / decay_steps, 1)`.
/// Example: `epsilon(50, 1.0, 0.1, 100)` = 0.55; `epsilon(1000, 1.0, 0.1, 100)` = 0.1.
pub fn epsilon(step: usize, start: f64, end: f64, decay_steps: usize) -> f64 {
    todo!()
}

/// ## epsilon_greedy
/// Pick an action from the Q-values `q` of one state: with probability `eps` a uniformly random
/// action (`rng.random::<f64>() < eps`, then `rng.random_range(0..q.len())`; the random action
/// may happen to be the greedy one), otherwise the greedy action (the index of the largest
/// value; the first one on ties). So the greedy action's probability is `1 − eps + eps / A`.
pub fn epsilon_greedy(q: &[f32], eps: f64, rng: &mut impl Rng) -> usize {
    todo!()
}

/// ## td_target
/// The one-step TD target of Q-learning for a batch: `rewards`, `dones` `[b]` f32 and the
/// target network's Q-values of the next states `next_q` `[b, A]`:
/// `y_i = r_i + γ · (1 − done_i) · max_a next_q[i, a]` → `[b]`. No gradient flows into a target
/// (the caller passes values computed without a graph, or `.detach()`es them).
/// Example: r = [1, 0], next_q = [[0, 2], [5, 3]], dones = [0, 1], γ = 0.9 → [2.8, 0].
pub fn td_target(rewards: &Tensor, next_q: &Tensor, dones: &Tensor, gamma: f64) -> Result<Tensor> {
    todo!()
}

/// ## huber
/// `F.huber_loss(pred, target, delta=delta)` (mean reduction) for `pred`, `target` of the same
/// shape: with `d = pred − target`, each element costs `0.5·d²` where `|d| ≤ δ` and
/// `δ·(|d| − 0.5·δ)` elsewhere; the result is the mean, a scalar (rank 0). It must be
/// differentiable with respect to `pred` (the grader compares the gradient with torch's:
/// `d` inside the threshold, `±δ` outside, divided by the number of elements).
/// Hint: with `a = |d|` and `m = min(a, δ)`, the cost is `0.5·m² + δ·(a − m)`.
pub fn huber(pred: &Tensor, target: &Tensor, delta: f64) -> Result<Tensor> {
    todo!()
}

/// ## dqn_loss
/// The DQN loss of a batch: `q` `[b, A]` are the online network's Q-values of the batch's
/// states, `actions` `[b]` the actions taken, `targets` `[b]` the TD targets. Pick
/// `q[i, actions[i]]` (`gather` along dim 1), and return `huber(picked, targets, 1.0)`
/// (= `F.smooth_l1_loss`). Gradients flow into `q` only: detach the targets.
pub fn dqn_loss(q: &Tensor, actions: &Tensor, targets: &Tensor) -> Result<Tensor> {
    todo!()
}

/// A multilayer perceptron with ReLU between layers (none after the last), its parameters as
/// `Var`s so that gradients reach them. Given.
pub struct Mlp {
    /// `[out, in]` per layer.
    pub weights: Vec<Var>,
    /// `[out]` per layer.
    pub biases: Vec<Var>,
}

impl Mlp {
    /// Layers `sizes[0] → sizes[1] → …`, initialised like `torch.nn.Linear`: weights and
    /// biases uniform in ±1/√fan_in.
    pub fn new(sizes: &[usize], rng: &mut impl Rng, dev: &Device) -> Result<Mlp> {
        let (mut weights, mut biases) = (Vec::new(), Vec::new());
        for w in sizes.windows(2) {
            let (i, o) = (w[0], w[1]);
            let bound = 1.0 / (i as f32).sqrt();
            let mut u = |n: usize| (0..n).map(|_| rng.random_range(-bound..bound)).collect::<Vec<f32>>();
            weights.push(Var::from_tensor(&Tensor::from_vec(u(o * i), (o, i), dev)?)?);
            biases.push(Var::from_tensor(&Tensor::from_vec(u(o), o, dev)?)?);
        }
        Ok(Mlp { weights, biases })
    }

    /// `x: [n, sizes[0]]` → `[n, sizes.last()]`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mut h = x.clone();
        for (k, (w, b)) in self.weights.iter().zip(&self.biases).enumerate() {
            h = h.matmul(&w.as_tensor().t()?)?.broadcast_add(b.as_tensor())?;
            if k + 1 < self.weights.len() {
                h = h.relu()?;
            }
        }
        Ok(h)
    }

    /// Every parameter, weights then biases of each layer in order.
    pub fn vars(&self) -> Vec<Var> {
        self.weights.iter().zip(&self.biases).flat_map(|(w, b)| [w.clone(), b.clone()]).collect()
    }

    /// The action with the largest output for one observation.
    pub fn greedy(&self, obs: &[f32]) -> Result<usize> {
        let x = Tensor::from_slice(obs, (1, obs.len()), &self.weights[0].device().clone())?;
        let q = self.forward(&x)?.squeeze(0)?.to_vec1::<f32>()?;
        Ok(q.iter().enumerate().fold(0, |best, (i, &v)| if v > q[best] { i } else { best }))
    }
}

/// ## target_sync
/// Update the target network's parameters towards the online network's, in place (Polyak
/// averaging): `θ_target ← τ·θ_online + (1 − τ)·θ_target` for every weight and bias
/// (`Var::set`). `τ = 1` is the hard copy of the original DQN (every C steps); a small `τ`
/// every step is the soft update. After the call the target must not share storage with the
/// online network: a later change to `online` must leave `target` alone.
pub fn sync_target(target: &Mlp, online: &Mlp, tau: f64) -> Result<()> {
    todo!()
}

/// Hyperparameters of `train_dqn` (the grader passes `DqnConfig::default()`).
#[derive(Clone, Debug)]
pub struct DqnConfig {
    /// Environment steps in all.
    pub total_steps: usize,
    pub hidden: usize,
    pub lr: f64,
    pub gamma: f64,
    pub buffer: usize,
    pub batch: usize,
    /// Steps of pure exploration before learning starts.
    pub learning_starts: usize,
    /// A gradient step every `train_every` environment steps.
    pub train_every: usize,
    /// Hard target sync every this many environment steps.
    pub target_every: usize,
    pub eps_start: f64,
    pub eps_end: f64,
    pub eps_decay_steps: usize,
    /// Every this many steps, `train_dqn` plays `eval_episodes` greedy episodes and keeps the
    /// best network so far (a training run of DQN oscillates: the last network is not the best).
    pub eval_every: usize,
    pub eval_episodes: usize,
}

impl Default for DqnConfig {
    fn default() -> Self {
        DqnConfig {
            // A ceiling: the reference stops when its greedy evaluation reaches 500 (55,000 steps).
            total_steps: 100_000,
            hidden: 128,
            lr: 1e-3,
            gamma: 0.99,
            buffer: 50_000,
            batch: 64,
            learning_starts: 1_000,
            train_every: 1,
            target_every: 500,
            eps_start: 1.0,
            eps_end: 0.02,
            eps_decay_steps: 15_000,
            eval_every: 2_500,
            // Ten, not five: a five-episode score can pick a network that averages far less over
            // 100 episodes (a run's rounding alone can change which one it picks).
            eval_episodes: 10,
        }
    }
}

/// What a training run returns.
pub struct DqnRun {
    /// The best network found (by the periodic greedy evaluations).
    pub net: Mlp,
    /// The (exploring) return of every finished training episode, in order.
    pub episode_returns: Vec<f32>,
    /// Environment steps taken until the run stopped.
    pub steps: usize,
}

/// ## dqn_cartpole
/// Train a Q-network `Mlp::new(&[4, hidden, hidden, 2])` on CartPole with everything above:
/// ε-greedy acting (`epsilon` schedule), a replay buffer, one Adam step on `dqn_loss` of a
/// sampled batch every `train_every` steps after `learning_starts`, TD targets from a target
/// network synced every `target_every` steps (`τ = 1`). Reset the environment
/// (`CartPole::reset(rng)`) when an episode terminates or is truncated; store
/// `done = terminated` (a truncated episode was not a failure: its last state is still
/// bootstrapped). Every `eval_every` steps, play `eval_episodes` greedy episodes and keep a
/// copy of the best network; you may stop early once an evaluation scores 500 in every
/// episode. The grader then plays 100 greedy episodes with the returned network on its own
/// CartPole and needs a mean return ≥ 475. After each step,
/// `candlecamp::report(step, cfg.total_steps, "return", last)` with the last finished episode's
/// return lets the grader show the run live.
pub fn train_dqn(cfg: &DqnConfig, rng: &mut impl Rng, dev: &Device) -> Result<DqnRun> {
    todo!()
}
