//! # Rainbow pieces
//!
//! Plain DQN works, but it overestimates, it wastes most of its replay on transitions it
//! already predicts well, and its one-step targets propagate a reward back one state per
//! update. Hessel et al. (2018) combined six fixes into "Rainbow". This day builds four of them
//! and trains CartPole with the lot:
//!
//! - **double DQN** (van Hasselt et al. 2016): the online network chooses the next action,
//!   the target network values it, so one network's noise is not both chosen and believed;
//! - **dueling heads** (Wang et al. 2016): `Q(s, a) = V(s) + A(s, a) − mean_a' A(s, a')`;
//! - **prioritised replay** (Schaul et al. 2016): transitions are replayed in proportion to
//!   their last TD error (a sum tree makes that O(log n)), and importance weights undo the bias;
//! - **n-step returns**: the target sums n real rewards before it bootstraps.
//!
//! Conventions are week 4's DQN day's: states are f32 rows, actions integer tensors, `dones`
//! f32 tensors of 0. and 1. Randomness comes from the `rng` argument.
#![allow(unused_variables, unused_imports, unused_mut)] // remove once you have solved a few

use super::dqn::{epsilon, sync_target, Mlp};
use super::environments::CartPole;
use candle_core::{DType, Device, Result, Tensor, D};
use candle_nn::optim::{AdamW, Optimizer, ParamsAdamW};
use rand::Rng;
use std::collections::VecDeque;

/// ## double_target
/// The double-DQN target of a batch: `rewards`, `dones` `[b]`; `next_q_online` and
/// `next_q_target` `[b, A]`, the online and the target network's Q-values of the next states.
/// The online network picks the action, `a*_i = argmax_a next_q_online[i, a]`, and the target
/// network scores it: `y_i = r_i + γ · (1 − done_i) · next_q_target[i, a*_i]` → `[b]`.
/// Example: r = [1, 1], online = [[0, 9], [3, 1]], target = [[5, 2], [4, 8]], dones = [0, 0],
/// γ = 0.5 → [2, 3] (plain DQN's max over the target would give [3.5, 5]).
pub fn double_target(rewards: &Tensor, next_q_online: &Tensor, next_q_target: &Tensor, dones: &Tensor, gamma: f64) -> Result<Tensor> {
    todo!()
}

/// ## dueling
/// Combine a dueling network's two heads: `value` `[b, 1]` (how good the state is) and
/// `advantage` `[b, A]` (how much better each action is than the others) into Q-values
/// `[b, A]`: `Q = V + A − mean_a A`. Subtracting the mean makes the split identifiable (adding
/// a constant to A and removing it from V would otherwise change nothing). It must be
/// differentiable in both inputs: the grader compares both gradients with torch's.
pub fn dueling_q(value: &Tensor, advantage: &Tensor) -> Result<Tensor> {
    todo!()
}

/// A dueling Q-network: a shared ReLU layer, then a value head `[hidden → 1]` and an
/// advantage head `[hidden → actions]`, combined by `dueling_q`. Given.
pub struct DuelingNet {
    pub trunk: Mlp,
    pub value: Mlp,
    pub advantage: Mlp,
}

impl DuelingNet {
    pub fn new(obs: usize, hidden: usize, actions: usize, rng: &mut impl Rng, dev: &Device) -> Result<DuelingNet> {
        Ok(DuelingNet {
            trunk: Mlp::new(&[obs, hidden, hidden], rng, dev)?,
            value: Mlp::new(&[hidden, 1], rng, dev)?,
            advantage: Mlp::new(&[hidden, actions], rng, dev)?,
        })
    }

    /// `x: [n, obs]` → Q-values `[n, actions]`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let h = self.trunk.forward(x)?.relu()?;
        dueling_q(&self.value.forward(&h)?, &self.advantage.forward(&h)?)
    }

    /// Every parameter.
    pub fn vars(&self) -> Vec<candle_core::Var> {
        [&self.trunk, &self.value, &self.advantage].iter().flat_map(|m| m.vars()).collect()
    }

    /// `θ_self ← τ·θ_other + (1 − τ)·θ_self`, part by part (week 4's `sync_target`).
    pub fn sync_from(&self, other: &DuelingNet, tau: f64) -> Result<()> {
        sync_target(&self.trunk, &other.trunk, tau)?;
        sync_target(&self.value, &other.value, tau)?;
        sync_target(&self.advantage, &other.advantage, tau)
    }

    /// The action with the largest Q-value for one observation.
    pub fn greedy(&self, obs: &[f32]) -> Result<usize> {
        let x = Tensor::from_slice(obs, (1, obs.len()), self.trunk.weights[0].device())?;
        let q = self.forward(&x)?.squeeze(0)?.to_vec1::<f32>()?;
        Ok(q.iter().enumerate().fold(0, |best, (i, &v)| if v > q[best] { i } else { best }))
    }
}

/// ## n_step
/// The n-step target of a batch of windows: `rewards` and `dones` `[b, n]` hold the next `n`
/// rewards after each (state, action) and whether the episode terminated with that step;
/// `bootstrap` `[b]` is the value of the state `n` steps later (`max_a Q_target`, or a double
/// target's choice). `y_i = Σ_k γ^k · r_i,k` summed up to and including the first step whose
/// done is 1, plus `γ^n · bootstrap_i` only when no step of the window was done → `[b]`.
/// With `n = 1` this is `td_target`. Example: rewards [[1, 1, 1]], dones [[0, 1, 0]],
/// bootstrap [10], γ = 0.5 → 1 + 0.5 = 1.5; with dones [[0, 0, 0]] → 1.75 + 0.125·10 = 3.
pub fn n_step_target(rewards: &Tensor, dones: &Tensor, bootstrap: &Tensor, gamma: f64) -> Result<Tensor> {
    todo!()
}

/// A binary tree of sums over `leaves` slots: each slot holds a priority, each inner node the
/// sum of its two children, the root the total. Changing a priority and finding the slot where
/// a cumulative mass falls both take O(log n). Layout: `nodes[1]` is the root, node `k`'s
/// children are `2k` and `2k + 1`, slot `i` is `nodes[leaves + i]`; `nodes[0]` is unused.
pub struct SumTree {
    /// The number of slots: a power of two, at least the capacity asked for.
    pub leaves: usize,
    pub nodes: Vec<f64>,
}

impl SumTree {
    /// A tree with every priority 0. Given.
    pub fn new(capacity: usize) -> SumTree {
        let leaves = capacity.max(1).next_power_of_two();
        SumTree { leaves, nodes: vec![0.0; 2 * leaves] }
    }

    /// The sum of every priority. Given.
    pub fn total(&self) -> f64 {
        self.nodes[1]
    }

    /// Slot `i`'s priority. Given.
    pub fn priority(&self, i: usize) -> f64 {
        self.nodes[self.leaves + i]
    }

    /// ## sum_tree
    /// Set slot `i`'s priority to `p` (≥ 0) and update every sum above it, up to the root.
    /// `find` below is part of this exercise.
    pub fn set(&mut self, i: usize, p: f64) {
        todo!()
    }

    /// The slot where cumulative mass `mass` falls, for `0 ≤ mass < total()`: the first slot `i`
    /// with `mass < p_0 + … + p_i`. So a `mass` drawn uniformly from `[0, total)` lands on slot
    /// `i` with probability `p_i / total`. Never return a slot of priority 0: rounding can leave
    /// `mass` a hair above the sum of a subtree, so only step into a right child whose sum is
    /// positive (and a `mass` ≥ `total()` then ends on the last slot with a positive priority).
    pub fn find(&self, mass: f64) -> usize {
        todo!()
    }
}

/// ## prioritised_sampling
/// Draw `n` slots from `tree` in proportion to their priorities, stratified: split
/// `[0, total)` into `n` equal segments and draw one mass uniformly inside each,
/// `mass_j = (j + u_j) · total / n` with `u_j = rng.random::<f64>()`, then `tree.find(mass_j)`.
/// Stratifying spreads a batch over the whole buffer; each draw still lands on slot `i` with
/// probability `p_i / total` on average.
pub fn sample_prioritised(tree: &SumTree, n: usize, rng: &mut impl Rng) -> Vec<usize> {
    todo!()
}

/// ## importance_weights
/// Prioritised replay samples slot `i` with probability `P(i)`, not `1/N`, which biases the
/// gradient. Each sampled transition is weighted by `w_i = (N · P(i))^−β`, and the weights are
/// divided by their largest in the batch so that they only ever scale updates down.
/// `probs` `[b]` are the sampled transitions' `P(i)`, `size` is `N`, the number of stored
/// transitions; `β` grows from about 0.4 towards 1 during training (1 undoes the bias fully).
pub fn importance_weights(probs: &Tensor, size: usize, beta: f64) -> Result<Tensor> {
    todo!()
}

/// ## per_loss
/// The prioritised-replay loss of a batch and the new priorities: `q` `[b, A]`, `actions` `[b]`,
/// `targets` `[b]` and importance `weights` `[b]`. Pick `q[i, actions[i]]`, take each sample's
/// Huber cost against its target (δ = 1: `0.5·d²` for `|d| ≤ 1`, `|d| − 0.5` beyond), and
/// return `(mean_i weights_i · cost_i, |picked − targets|)`: the loss, a scalar that gradients
/// flow through into `q` only, and the `[b]` absolute TD errors, without a gradient, from
/// which the caller sets the sampled slots' new priorities.
pub fn per_loss(q: &Tensor, actions: &Tensor, targets: &Tensor, weights: &Tensor) -> Result<(Tensor, Tensor)> {
    todo!()
}

/// One replayed window: the state and action, the next `n` rewards and dones (padded with
/// reward 0 and done 1 after the episode terminated), and the state `n` steps later.
#[derive(Clone, Debug)]
pub struct Window {
    pub state: Vec<f32>,
    pub action: usize,
    pub rewards: Vec<f32>,
    pub dones: Vec<f32>,
    pub next_state: Vec<f32>,
}

/// A ring of `capacity` windows with a `SumTree` of their priorities (slot `i` of the tree is
/// window `items[i]`). Given.
pub struct PrioritisedBuffer {
    pub capacity: usize,
    pub items: Vec<Window>,
    /// Where the next push writes once the ring is full.
    pub next: usize,
    pub tree: SumTree,
    /// The largest priority set so far (as given to `update`, so already raised to α): a new
    /// window gets it, so it is replayed at least once soon.
    pub max_priority: f64,
}

impl PrioritisedBuffer {
    pub fn new(capacity: usize) -> PrioritisedBuffer {
        PrioritisedBuffer { capacity, items: Vec::with_capacity(capacity), next: 0, tree: SumTree::new(capacity), max_priority: 1.0 }
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Store `w` (overwriting the oldest window once full) with the largest priority so far.
    pub fn push(&mut self, w: Window) {
        let slot = if self.items.len() < self.capacity {
            self.items.push(w);
            self.items.len() - 1
        } else {
            let s = self.next;
            self.items[s] = w;
            self.next = (s + 1) % self.capacity;
            s
        };
        self.tree.set(slot, self.max_priority);
    }

    /// Set slot `i`'s priority.
    pub fn update(&mut self, i: usize, priority: f64) {
        self.max_priority = self.max_priority.max(priority);
        self.tree.set(i, priority);
    }
}

/// Hyperparameters of `train_rainbow` (the grader passes `RainbowConfig::default()`).
#[derive(Clone, Debug)]
pub struct RainbowConfig {
    /// Environment steps in all (a ceiling: stop once an evaluation scores 500).
    pub total_steps: usize,
    pub hidden: usize,
    pub lr: f64,
    pub gamma: f64,
    /// Steps per window (the n of n-step returns).
    pub n_step: usize,
    pub buffer: usize,
    pub batch: usize,
    pub learning_starts: usize,
    pub train_every: usize,
    pub target_every: usize,
    pub eps_start: f64,
    pub eps_end: f64,
    pub eps_decay_steps: usize,
    /// Priorities are `(|TD error| + priority_eps)^alpha`.
    pub alpha: f64,
    pub priority_eps: f64,
    /// β grows linearly from `beta_start` to 1 over `total_steps`.
    pub beta_start: f64,
    pub eval_every: usize,
    pub eval_episodes: usize,
}

impl Default for RainbowConfig {
    fn default() -> Self {
        RainbowConfig {
            total_steps: 100_000,
            hidden: 128,
            lr: 1e-3,
            gamma: 0.99,
            n_step: 3,
            buffer: 50_000,
            batch: 64,
            learning_starts: 1_000,
            train_every: 1,
            target_every: 500,
            eps_start: 1.0,
            eps_end: 0.02,
            eps_decay_steps: 10_000,
            alpha: 0.6,
            priority_eps: 1e-3,
            beta_start: 0.4,
            eval_every: 2_500,
            eval_episodes: 10,
        }
    }
}

/// What a training run returns.
pub struct RainbowRun {
    /// The best network found (by the periodic greedy evaluations).
    pub net: DuelingNet,
    /// The (exploring) return of every finished training episode, in order.
    pub episode_returns: Vec<f32>,
    /// Environment steps taken until the run stopped.
    pub steps: usize,
}

/// ## rainbow_cartpole
/// Train a `DuelingNet::new(4, hidden, 2, …)` on CartPole with every piece of this day. It
/// also uses the DQN day's `epsilon` and (through `DuelingNet::sync_from`) `sync_target`:
/// solve those first.
/// - Act ε-greedily (week 4's `epsilon` schedule) and reset the environment when an episode
///   terminates or is truncated.
/// - Windows of `n_step` steps: keep the last `n_step` (state, action, reward, terminated) in a
///   queue. Once it is full, store its oldest entry as a `Window` (the queue's rewards and
///   dones, the current observation as `next_state`) and drop it. When an episode terminates,
///   store every entry left the same way, padded with reward 0 and done 1; on truncation drop
///   them.
/// - Replay: a `PrioritisedBuffer` of `buffer` windows.
/// - From `learning_starts` on, every `train_every` steps: draw `batch` slots with
///   `sample_prioritised`, weight them with `importance_weights` (`P(i)` = priority / total,
///   `N` = windows stored, β from `beta_start` to 1 over `total_steps`), bootstrap with the
///   double-DQN choice (`double_target` with rewards 0, dones 0 and γ = 1 is exactly
///   `Q_target(s', argmax_a Q_online(s', a))`, on values computed without a gradient), make
///   `n_step_target`s, take one Adam step on `per_loss`, and give each sampled slot the
///   priority `(|TD error| + priority_eps)^alpha` (`PrioritisedBuffer::update`).
/// - Hard-sync the target network every `target_every` steps (`DuelingNet::sync_from`, τ = 1).
/// - Every `eval_every` steps play `eval_episodes` greedy episodes, keep a copy of the best
///   network, and stop once an evaluation scores 500.
///
/// The grader plays 100 greedy episodes with the returned network on its own CartPole and needs
/// a mean return ≥ 475. `candlecamp::report(step, cfg.total_steps, "return", last)` with the
/// last finished episode's return shows the run live.
pub fn train_rainbow(cfg: &RainbowConfig, rng: &mut impl Rng, dev: &Device) -> Result<RainbowRun> {
    todo!()
}
