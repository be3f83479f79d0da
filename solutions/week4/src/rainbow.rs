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
// STUB: #![allow(unused_variables, unused_imports, unused_mut)] // remove once you have solved a few

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
// HINT: Two networks, two jobs: the one you train decides which next action is best, and the slowly moving copy says how good that action is. The terminal mask is the same as in the one-step DQN target.
// HINT: argmax_keepdim over the last dim of the online values gives a [b, 1] index; gather the target values with it along the last dim and squeeze to [b]; then r + γ · (1 − done) · that, as in td_target.
// HINT: let chosen = next_q_target.gather(&next_q_online.argmax_keepdim(D::Minus1)?, D::Minus1)?.squeeze(D::Minus1)?;
pub fn double_target(rewards: &Tensor, next_q_online: &Tensor, next_q_target: &Tensor, dones: &Tensor, gamma: f64) -> Result<Tensor> {
    // BEGIN SOLUTION
    let best = next_q_online.argmax_keepdim(D::Minus1)?;
    let chosen = next_q_target.gather(&best, D::Minus1)?.squeeze(D::Minus1)?;
    let not_done = dones.affine(-1.0, 1.0)?;
    rewards + (chosen * not_done)?.affine(gamma, 0.0)?
    // END SOLUTION
}

/// ## dueling
/// Combine a dueling network's two heads: `value` `[b, 1]` (how good the state is) and
/// `advantage` `[b, A]` (how much better each action is than the others) into Q-values
/// `[b, A]`: `Q = V + A − mean_a A`. Subtracting the mean makes the split identifiable (adding
/// a constant to A and removing it from V would otherwise change nothing). It must be
/// differentiable in both inputs: the grader compares both gradients with torch's.
// HINT: Q is the state's value plus how far each action's advantage sits above the average advantage of that state; the average is taken per row, over the actions.
// HINT: mean_keepdim over dim 1 of the advantage gives [b, 1]; broadcast_sub it from the advantage, then broadcast_add the value [b, 1].
// HINT: value.broadcast_add(&advantage.broadcast_sub(&advantage.mean_keepdim(1)?)?)
pub fn dueling_q(value: &Tensor, advantage: &Tensor) -> Result<Tensor> {
    // BEGIN SOLUTION
    let centred = advantage.broadcast_sub(&advantage.mean_keepdim(1)?)?;
    value.broadcast_add(&centred)
    // END SOLUTION
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
// HINT: Walk along the window keeping track of whether the episode was still running when each step began: that step's reward counts (the reward of the step that ends the episode included), everything after it does not, and the bootstrap counts only if no step ended the episode. Each step further away is discounted once more.
// HINT: Keep an `alive` [b] tensor of ones; for k in 0..n: narrow column k of rewards and dones (squeeze to [b]), add γ^k · r_k · alive to the total, then multiply alive by (1 − done_k). Finally add γ^n · alive · bootstrap.
// HINT: total = (total + (r_k * &alive)?.affine(gamma.powi(k as i32), 0.0)?)?; alive = (alive * d_k.affine(-1.0, 1.0)?)?;
pub fn n_step_target(rewards: &Tensor, dones: &Tensor, bootstrap: &Tensor, gamma: f64) -> Result<Tensor> {
    // BEGIN SOLUTION
    let (b, n) = rewards.dims2()?;
    let mut alive = Tensor::ones(b, DType::F32, rewards.device())?;
    let mut total = Tensor::zeros(b, DType::F32, rewards.device())?;
    for k in 0..n {
        let r_k = rewards.narrow(1, k, 1)?.squeeze(1)?;
        let d_k = dones.narrow(1, k, 1)?.squeeze(1)?;
        total = (total + (r_k * &alive)?.affine(gamma.powi(k as i32), 0.0)?)?;
        alive = (alive * d_k.affine(-1.0, 1.0)?)?;
    }
    total + (bootstrap * alive)?.affine(gamma.powi(n as i32), 0.0)?
    // END SOLUTION
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
    // HINT: A slot's priority is counted in every node on the path from its leaf up to the root, and in no other; after changing the leaf, each of those sums has to be redone from its two children (or moved by the change).
    // HINT: set: k = leaves + i; nodes[k] = p; then while k > 1: k /= 2 and nodes[k] = nodes[2k] + nodes[2k + 1]. find: start at the root k = 1 and descend until k ≥ leaves: go left when the mass is below the left child's sum or the right child's sum is 0; otherwise subtract the left sum and go right; the slot is k − leaves.
    // HINT: if mass < self.nodes[2 * k] || self.nodes[2 * k + 1] <= 0.0 { k = 2 * k } else { mass -= self.nodes[2 * k]; k = 2 * k + 1 }
    pub fn set(&mut self, i: usize, p: f64) {
        // BEGIN SOLUTION
        let mut k = self.leaves + i;
        self.nodes[k] = p;
        while k > 1 {
            k /= 2;
            self.nodes[k] = self.nodes[2 * k] + self.nodes[2 * k + 1];
        }
        // END SOLUTION
    }

    /// The slot where cumulative mass `mass` falls, for `0 ≤ mass < total()`: the first slot `i`
    /// with `mass < p_0 + … + p_i`. So a `mass` drawn uniformly from `[0, total)` lands on slot
    /// `i` with probability `p_i / total`. Never return a slot of priority 0: rounding can leave
    /// `mass` a hair above the sum of a subtree, so only step into a right child whose sum is
    /// positive (and a `mass` ≥ `total()` then ends on the last slot with a positive priority).
    pub fn find(&self, mass: f64) -> usize {
        // BEGIN SOLUTION
        let mut mass = mass;
        let mut k = 1;
        while k < self.leaves {
            let left = self.nodes[2 * k];
            if mass < left || self.nodes[2 * k + 1] <= 0.0 {
                k *= 2;
            } else {
                mass -= left;
                k = 2 * k + 1;
            }
        }
        k - self.leaves
        // END SOLUTION
    }
}

/// ## prioritised_sampling
/// Draw `n` slots from `tree` in proportion to their priorities, stratified: split
/// `[0, total)` into `n` equal segments and draw one mass uniformly inside each,
/// `mass_j = (j + u_j) · total / n` with `u_j = rng.random::<f64>()`, then `tree.find(mass_j)`.
/// Stratifying spreads a batch over the whole buffer; each draw still lands on slot `i` with
/// probability `p_i / total` on average.
// HINT: Cut the total priority into as many equal pieces as you need samples and take one random point inside each piece; the tree turns a point into a slot.
// HINT: segment = tree.total() / n; for j in 0..n draw u = rng.random::<f64>(), mass = (j + u) · segment, and push tree.find(mass).
// HINT: (0..n).map(|j| tree.find((j as f64 + rng.random::<f64>()) * segment)).collect()
pub fn sample_prioritised(tree: &SumTree, n: usize, rng: &mut impl Rng) -> Vec<usize> {
    // BEGIN SOLUTION
    let segment = tree.total() / n as f64;
    (0..n).map(|j| tree.find((j as f64 + rng.random::<f64>()) * segment)).collect()
    // END SOLUTION
}

/// ## importance_weights
/// Prioritised replay samples slot `i` with probability `P(i)`, not `1/N`, which biases the
/// gradient. Each sampled transition is weighted by `w_i = (N · P(i))^−β`, and the weights are
/// divided by their largest in the batch so that they only ever scale updates down.
/// `probs` `[b]` are the sampled transitions' `P(i)`, `size` is `N`, the number of stored
/// transitions; `β` grows from about 0.4 towards 1 during training (1 undoes the bias fully).
// HINT: A transition replayed more often than uniform sampling would replay it gets a smaller weight, by a power beta of how much more often; normalise so that the largest weight in the batch is exactly 1.
// HINT: Multiply probs by N, raise to the power −β (powf), and broadcast_div by the batch maximum (max_keepdim over dim 0).
// HINT: let w = (probs * size as f64)?.powf(-beta)?; w.broadcast_div(&w.max_keepdim(0)?)
pub fn importance_weights(probs: &Tensor, size: usize, beta: f64) -> Result<Tensor> {
    // BEGIN SOLUTION
    let w = (probs * size as f64)?.powf(-beta)?;
    w.broadcast_div(&w.max_keepdim(0)?)
    // END SOLUTION
}

/// ## per_loss
/// The prioritised-replay loss of a batch and the new priorities: `q` `[b, A]`, `actions` `[b]`,
/// `targets` `[b]` and importance `weights` `[b]`. Pick `q[i, actions[i]]`, take each sample's
/// Huber cost against its target (δ = 1: `0.5·d²` for `|d| ≤ 1`, `|d| − 0.5` beyond), and
/// return `(mean_i weights_i · cost_i, |picked − targets|)`: the loss, a scalar that gradients
/// flow through into `q` only, and the `[b]` absolute TD errors, without a gradient, from
/// which the caller sets the sampled slots' new priorities.
// HINT: This is the DQN loss with one change: each sample's Huber cost is kept separate (the DQN day's huber averages them, so write the per-sample cost here) and scaled by its weight before the mean. The TD errors you return are for bookkeeping, so they should not carry a gradient.
// HINT: Gather q along dim 1 with actions.unsqueeze(1) and squeeze; d = picked − targets.detach(); a = |d|, m = a.minimum(1.0), cost = 0.5·m² + (a − m); loss = (cost · weights).mean_all(); td = a.detach().
// HINT: let cost = ((m.sqr()? * 0.5)? + (&a - &m)?)?; Ok(((cost * weights)?.mean_all()?, a.detach()))
pub fn per_loss(q: &Tensor, actions: &Tensor, targets: &Tensor, weights: &Tensor) -> Result<(Tensor, Tensor)> {
    // BEGIN SOLUTION
    let picked = q.gather(&actions.unsqueeze(1)?, 1)?.squeeze(1)?;
    let a = (picked - targets.detach())?.abs()?;
    let m = a.minimum(1.0)?;
    let cost = ((m.sqr()? * 0.5)? + (&a - &m)?)?;
    Ok(((cost * weights.detach())?.mean_all()?, a.detach()))
    // END SOLUTION
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
// HINT: Build it in the order of the pieces and check each one's plumbing: windows that straddle two episodes, priorities that are never updated, or a bootstrap that carries a gradient are the usual culprits.
// HINT: Per step: act, push (obs, action, reward, terminated) on a VecDeque; when it holds n_step entries, turn it into a Window and pop the front; on termination do the same for every entry left (padding), on truncation clear it. Training: slots = sample_prioritised(&buf.tree, …); probs = priority / total; weights = importance_weights; stack the windows' fields into tensors; boot = double_target(zeros, online(next).detach(), target(next).detach(), zeros, 1.0); y = n_step_target(rewards, dones, boot, γ); (loss, td) = per_loss; opt.backward_step(&loss); then buf.update(slot, (td + eps)^alpha) for each slot.
// HINT: let boot = double_target(&zeros, &online.forward(&s2)?.detach(), &target.forward(&s2)?.detach(), &zeros, 1.0)?; let y = n_step_target(&r, &d, &boot, cfg.gamma)?;
pub fn train_rainbow(cfg: &RainbowConfig, rng: &mut impl Rng, dev: &Device) -> Result<RainbowRun> {
    // BEGIN SOLUTION
    let n = cfg.n_step;
    let online = DuelingNet::new(4, cfg.hidden, 2, rng, dev)?;
    let target = DuelingNet::new(4, cfg.hidden, 2, rng, dev)?;
    target.sync_from(&online, 1.0)?;
    let best = DuelingNet::new(4, cfg.hidden, 2, rng, dev)?;
    best.sync_from(&online, 1.0)?;
    let mut best_score = f32::NEG_INFINITY;
    let mut opt = AdamW::new(online.vars(), ParamsAdamW { lr: cfg.lr, weight_decay: 0.0, ..Default::default() })?;
    let mut buf = PrioritisedBuffer::new(cfg.buffer);
    let mut queue: VecDeque<(Vec<f32>, usize, f32, bool)> = VecDeque::new();
    let window = |queue: &VecDeque<(Vec<f32>, usize, f32, bool)>, next_state: &[f32]| {
        let (mut rewards, mut dones) = (vec![0f32; n], vec![1f32; n]);
        for (k, (_, _, r, done)) in queue.iter().enumerate() {
            rewards[k] = *r;
            dones[k] = if *done { 1.0 } else { 0.0 };
        }
        Window { state: queue[0].0.clone(), action: queue[0].1, rewards, dones, next_state: next_state.to_vec() }
    };
    let mut env = CartPole::reset(rng);
    let (mut ep_return, mut returns, mut steps) = (0f32, Vec::new(), 0);
    let zeros = Tensor::zeros(cfg.batch, DType::F32, dev)?;
    for step in 0..cfg.total_steps {
        steps = step + 1;
        let obs = env.observation();
        let eps = epsilon(step, cfg.eps_start, cfg.eps_end, cfg.eps_decay_steps);
        let action = if rng.random::<f64>() < eps { rng.random_range(0..2) } else { online.greedy(&obs)? };
        let r = env.step(action);
        ep_return += r.reward as f32;
        queue.push_back((obs.to_vec(), action, r.reward as f32, r.terminated));
        let next_obs = env.observation();
        if queue.len() == n {
            buf.push(window(&queue, &next_obs));
            queue.pop_front();
        }
        if r.terminated {
            while !queue.is_empty() {
                buf.push(window(&queue, &next_obs));
                queue.pop_front();
            }
        }
        if r.terminated || r.truncated {
            queue.clear();
            returns.push(ep_return);
            ep_return = 0.0;
            env = CartPole::reset(rng);
        }
        if step >= cfg.learning_starts && step % cfg.train_every == 0 {
            let slots = sample_prioritised(&buf.tree, cfg.batch, rng);
            let total = buf.tree.total();
            let probs: Vec<f32> = slots.iter().map(|&i| (buf.tree.priority(i) / total) as f32).collect();
            let beta = cfg.beta_start + (1.0 - cfg.beta_start) * (step as f64 / cfg.total_steps as f64).min(1.0);
            let weights = importance_weights(&Tensor::from_vec(probs, cfg.batch, dev)?, buf.len(), beta)?;
            let (mut s, mut a, mut rw, mut dn, mut s2) = (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
            for &i in &slots {
                let w = &buf.items[i];
                s.extend_from_slice(&w.state);
                a.push(w.action as u32);
                rw.extend_from_slice(&w.rewards);
                dn.extend_from_slice(&w.dones);
                s2.extend_from_slice(&w.next_state);
            }
            let b = cfg.batch;
            let s = Tensor::from_vec(s, (b, 4), dev)?;
            let s2 = Tensor::from_vec(s2, (b, 4), dev)?;
            let rw = Tensor::from_vec(rw, (b, n), dev)?;
            let dn = Tensor::from_vec(dn, (b, n), dev)?;
            let a = Tensor::from_vec(a, b, dev)?;
            let boot = double_target(&zeros, &online.forward(&s2)?.detach(), &target.forward(&s2)?.detach(), &zeros, 1.0)?;
            let y = n_step_target(&rw, &dn, &boot, cfg.gamma)?;
            let (loss, td) = per_loss(&online.forward(&s)?, &a, &y, &weights)?;
            opt.backward_step(&loss)?;
            for (&i, e) in slots.iter().zip(td.to_vec1::<f32>()?) {
                buf.update(i, (e as f64 + cfg.priority_eps).powf(cfg.alpha));
            }
        }
        if step % cfg.target_every == 0 {
            target.sync_from(&online, 1.0)?;
        }
        candlecamp::report(step, cfg.total_steps, "return", returns.last().copied().unwrap_or(0.0));
        if step >= cfg.learning_starts && (step + 1) % cfg.eval_every == 0 {
            let score = greedy_return(&online, cfg.eval_episodes, rng)?;
            if score > best_score {
                best_score = score;
                best.sync_from(&online, 1.0)?;
            }
            if score >= 500.0 {
                break;
            }
        }
    }
    Ok(RainbowRun { net: best, episode_returns: returns, steps })
    // END SOLUTION
}

// BEGIN SOLUTION ONLY
// mutants: long targets only
/// Mean return of `episodes` greedy episodes.
fn greedy_return(net: &DuelingNet, episodes: usize, rng: &mut impl Rng) -> Result<f32> {
    let mut total = 0f32;
    for _ in 0..episodes {
        let mut env = CartPole::reset(rng);
        loop {
            let r = env.step(net.greedy(&env.observation())?);
            total += r.reward as f32;
            if r.terminated || r.truncated {
                break;
            }
        }
    }
    Ok(total / episodes as f32)
}
// END SOLUTION
