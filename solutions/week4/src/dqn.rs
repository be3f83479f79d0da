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
// STUB: #![allow(unused_variables, unused_imports, unused_mut)] // remove once you have solved a few

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
    // HINT: Append until the buffer is full, then overwrite the oldest slot and move the write position on, wrapping around; sampling draws indices with replacement, and every field of a batch row must come from the same transition.
    // HINT: push: if items.len() < capacity push, else items[next] = t and next = (next + 1) % capacity. sample: bail on an empty buffer; n times pick items[rng.random_range(0..len)] and append its state, action (as u32), reward, next_state and done (1.0 or 0.0) to five Vecs; then Tensor::from_vec with shape (n, d) for the two state fields and n for the others.
    // HINT: let t = &self.items[rng.random_range(0..self.items.len())]; s.extend_from_slice(&t.state); a.push(t.action as u32); r.push(t.reward); s2.extend_from_slice(&t.next_state); done.push(if t.done { 1f32 } else { 0.0 });
    pub fn push(&mut self, t: Transition) {
        // BEGIN SOLUTION
        if self.items.len() < self.capacity {
            self.items.push(t);
        } else {
            self.items[self.next] = t;
            self.next = (self.next + 1) % self.capacity;
        }
        // END SOLUTION
    }

    /// A minibatch of `n` transitions drawn uniformly **with replacement** from the stored
    /// ones (each draw: an index from `rng.random_range(0..self.len())`), as tensors on `dev`
    /// (see `Batch`; row `i` of every field comes from the same transition). An error when the
    /// buffer is empty.
    pub fn sample(&self, n: usize, rng: &mut impl Rng, dev: &Device) -> Result<Batch> {
        // BEGIN SOLUTION
        if self.items.is_empty() {
            candle_core::bail!("cannot sample from an empty replay buffer");
        }
        let d = self.items[0].state.len();
        let (mut s, mut a, mut r, mut s2, mut done) =
            (Vec::with_capacity(n * d), Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n * d), Vec::with_capacity(n));
        for _ in 0..n {
            let t = &self.items[rng.random_range(0..self.items.len())];
            s.extend_from_slice(&t.state);
            a.push(t.action as u32);
            r.push(t.reward);
            s2.extend_from_slice(&t.next_state);
            done.push(if t.done { 1f32 } else { 0.0 });
        }
        Ok(Batch {
            states: Tensor::from_vec(s, (n, d), dev)?,
            actions: Tensor::from_vec(a, n, dev)?,
            rewards: Tensor::from_vec(r, n, dev)?,
            next_states: Tensor::from_vec(s2, (n, d), dev)?,
            dones: Tensor::from_vec(done, n, dev)?,
        })
        // END SOLUTION
    }
}

/// ## epsilon_schedule
/// The exploration rate at environment step `step`: a straight line from `start` (at step 0)
/// to `end` (at step `decay_steps`), then constant at `end`.
/// `ε(t) = start + (end − start) · min(t / decay_steps, 1)`.
/// Example: `epsilon(50, 1.0, 0.1, 100)` = 0.55; `epsilon(1000, 1.0, 0.1, 100)` = 0.1.
// HINT: The fraction of the decay that has passed grows linearly from 0 and stops at 1; epsilon moves from start towards end by that fraction.
// HINT: Convert step and decay_steps to f64, take their ratio, cap it with min(1.0) and interpolate between start and end (end − start is negative for a decay, which is fine).
// HINT: let frac = (step as f64 / decay_steps.max(1) as f64).min(1.0); start + (end - start) * frac
pub fn epsilon(step: usize, start: f64, end: f64, decay_steps: usize) -> f64 {
    // BEGIN SOLUTION
    let frac = (step as f64 / decay_steps.max(1) as f64).min(1.0);
    start + (end - start) * frac
    // END SOLUTION
}

/// ## epsilon_greedy
/// Pick an action from the Q-values `q` of one state: with probability `eps` a uniformly random
/// action (`rng.random::<f64>() < eps`, then `rng.random_range(0..q.len())`; the random action
/// may happen to be the greedy one), otherwise the greedy action (the index of the largest
/// value; the first one on ties). So the greedy action's probability is `1 − eps + eps / A`.
// HINT: Draw the explore-or-exploit number first; when exploring every action is equally likely, the greedy one included; when exploiting, ties go to the lowest index.
// HINT: If rng.random::<f64>() < eps return rng.random_range(0..q.len()); otherwise scan q keeping the index of the largest value, replacing it only on a strictly larger value.
// HINT: let mut best = 0; for (i, &v) in q.iter().enumerate() { if v > q[best] { best = i; } } best
pub fn epsilon_greedy(q: &[f32], eps: f64, rng: &mut impl Rng) -> usize {
    // BEGIN SOLUTION
    if rng.random::<f64>() < eps {
        return rng.random_range(0..q.len());
    }
    let mut best = 0;
    for (i, &v) in q.iter().enumerate() {
        if v > q[best] {
            best = i;
        }
    }
    best
    // END SOLUTION
}

/// ## td_target
/// The one-step TD target of Q-learning for a batch: `rewards`, `dones` `[b]` f32 and the
/// target network's Q-values of the next states `next_q` `[b, A]`:
/// `y_i = r_i + γ · (1 − done_i) · max_a next_q[i, a]` → `[b]`. No gradient flows into a target
/// (the caller passes values computed without a graph, or `.detach()`es them).
/// Example: r = [1, 0], next_q = [[0, 2], [5, 3]], dones = [0, 1], γ = 0.9 → [2.8, 0].
// HINT: Bootstrap from the best next action's value, but never across a terminated transition: there the target is the reward alone.
// HINT: next_q.max(D::Minus1) gives [b]; dones.affine(-1.0, 1.0) gives 1 − done; multiply the two, scale by γ and add the rewards.
// HINT: rewards + (next_q.max(D::Minus1)? * dones.affine(-1.0, 1.0)?)?.affine(gamma, 0.0)?
pub fn td_target(rewards: &Tensor, next_q: &Tensor, dones: &Tensor, gamma: f64) -> Result<Tensor> {
    // BEGIN SOLUTION
    let best = next_q.max(D::Minus1)?;
    let not_done = dones.affine(-1.0, 1.0)?;
    rewards + (best * not_done)?.affine(gamma, 0.0)?
    // END SOLUTION
}

/// ## huber
/// `F.huber_loss(pred, target, delta=delta)` (mean reduction) for `pred`, `target` of the same
/// shape: with `d = pred − target`, each element costs `0.5·d²` where `|d| ≤ δ` and
/// `δ·(|d| − 0.5·δ)` elsewhere; the result is the mean, a scalar (rank 0). It must be
/// differentiable with respect to `pred` (the grader compares the gradient with torch's:
/// `d` inside the threshold, `±δ` outside, divided by the number of elements).
/// Hint: with `a = |d|` and `m = min(a, δ)`, the cost is `0.5·m² + δ·(a − m)`.
// HINT: Inside the threshold the cost is quadratic and outside it grows linearly; splitting the absolute error into its part up to the threshold and the excess gives both pieces from one formula, with no element-by-element choice.
// HINT: a = |pred − target| (abs), m = a.minimum(delta); cost = 0.5·m² + delta·(a − m) elementwise; mean_all gives the scalar. The same formula covers both sides of the threshold, so its gradient is right on each.
// HINT: let cost = ((m.sqr()? * 0.5)? + ((a - &m)? * delta)?)?; cost.mean_all()
pub fn huber(pred: &Tensor, target: &Tensor, delta: f64) -> Result<Tensor> {
    // BEGIN SOLUTION
    let a = (pred - target)?.abs()?;
    let m = a.minimum(delta)?;
    let cost = ((m.sqr()? * 0.5)? + ((a - &m)? * delta)?)?;
    cost.mean_all()
    // END SOLUTION
}

/// ## dqn_loss
/// The DQN loss of a batch: `q` `[b, A]` are the online network's Q-values of the batch's
/// states, `actions` `[b]` the actions taken, `targets` `[b]` the TD targets. Pick
/// `q[i, actions[i]]` (`gather` along dim 1), and return `huber(picked, targets, 1.0)`
/// (= `F.smooth_l1_loss`). Gradients flow into `q` only: detach the targets.
// HINT: Only the Q-value of the action actually taken is fitted, and the TD target is a fixed label: no gradient may flow into it.
// HINT: Gather along dim 1 with the actions as a [b, 1] index (unsqueeze(1)), squeeze back to [b], then huber with delta 1 against the detached targets.
// HINT: let picked = q.gather(&actions.unsqueeze(1)?, 1)?.squeeze(1)?; huber(&picked, &targets.detach(), 1.0)
pub fn dqn_loss(q: &Tensor, actions: &Tensor, targets: &Tensor) -> Result<Tensor> {
    // BEGIN SOLUTION
    let picked = q.gather(&actions.unsqueeze(1)?, 1)?.squeeze(1)?;
    huber(&picked, &targets.detach(), 1.0)
    // END SOLUTION
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
// HINT: Write new values into the target's own variables instead of making the target refer to the online network's tensors; with τ = 1 that is a copy, with a small τ a blend.
// HINT: Zip target.vars() with online.vars(); for each pair compute τ·online + (1 − τ)·target as a new tensor from the two as_tensor() values and set it on the target variable with Var::set, which copies the values into the target's own storage.
// HINT: for (t, o) in target.vars().iter().zip(online.vars()) { t.set(&((o.as_tensor() * tau)? + (t.as_tensor() * (1.0 - tau))?)?)?; }
pub fn sync_target(target: &Mlp, online: &Mlp, tau: f64) -> Result<()> {
    // BEGIN SOLUTION
    for (t, o) in target.vars().iter().zip(online.vars()) {
        let new = ((o.as_tensor() * tau)? + (t.as_tensor() * (1.0 - tau))?)?;
        t.set(&new)?;
    }
    Ok(())
    // END SOLUTION
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
// HINT: Most DQN failures are plumbing: the targets must come from the target network and carry no gradient, only terminated (not truncated) transitions count as done, and the target network must actually be synced.
// HINT: Online, target (synced with τ = 1) and a best-so-far network, all Mlp::new(&[4, hidden, hidden, 2]); AdamW over online.vars() with weight decay 0. Each step: epsilon(step, …), act ε-greedily with online.greedy, push the transition with done = terminated, reset on terminated or truncated; from learning_starts on, every train_every steps: sample a batch, next_q = target.forward(next_states).detach(), td_target, dqn_loss on online.forward(states), opt.backward_step; sync_target every target_every steps; every eval_every steps play eval_episodes greedy episodes and copy online into best when the score improves; stop once an evaluation scores 500.
// HINT: let next_q = target.forward(&b.next_states)?.detach(); let y = td_target(&b.rewards, &next_q, &b.dones, cfg.gamma)?; opt.backward_step(&dqn_loss(&online.forward(&b.states)?, &b.actions, &y)?)?;
pub fn train_dqn(cfg: &DqnConfig, rng: &mut impl Rng, dev: &Device) -> Result<DqnRun> {
    // BEGIN SOLUTION
    let sizes = [4, cfg.hidden, cfg.hidden, 2];
    let online = Mlp::new(&sizes, rng, dev)?;
    let target = Mlp::new(&sizes, rng, dev)?;
    sync_target(&target, &online, 1.0)?;
    let best = Mlp::new(&sizes, rng, dev)?;
    sync_target(&best, &online, 1.0)?;
    let mut best_score = f32::NEG_INFINITY;
    let mut opt = AdamW::new(online.vars(), ParamsAdamW { lr: cfg.lr, weight_decay: 0.0, ..Default::default() })?;
    let mut buffer = ReplayBuffer::new(cfg.buffer);
    let mut env = CartPole::reset(rng);
    let mut ep_return = 0f32;
    let mut returns = Vec::new();
    let mut steps = 0;
    for step in 0..cfg.total_steps {
        steps = step + 1;
        let obs = env.observation();
        let eps = epsilon(step, cfg.eps_start, cfg.eps_end, cfg.eps_decay_steps);
        let action = if rng.random::<f64>() < eps { rng.random_range(0..2) } else { online.greedy(&obs)? };
        let r = env.step(action);
        ep_return += r.reward as f32;
        buffer.push(Transition { state: obs.to_vec(), action, reward: r.reward as f32, next_state: env.observation().to_vec(), done: r.terminated });
        if r.terminated || r.truncated {
            returns.push(ep_return);
            ep_return = 0.0;
            env = CartPole::reset(rng);
        }
        if step >= cfg.learning_starts && step % cfg.train_every == 0 {
            let b = buffer.sample(cfg.batch, rng, dev)?;
            let next_q = target.forward(&b.next_states)?.detach();
            let y = td_target(&b.rewards, &next_q, &b.dones, cfg.gamma)?;
            let loss = dqn_loss(&online.forward(&b.states)?, &b.actions, &y)?;
            opt.backward_step(&loss)?;
        }
        if step % cfg.target_every == 0 {
            sync_target(&target, &online, 1.0)?;
        }
        candlecamp::report(step, cfg.total_steps, "return", returns.last().copied().unwrap_or(0.0));
        if step >= cfg.learning_starts && (step + 1) % cfg.eval_every == 0 {
            let score = greedy_return(&online, cfg.eval_episodes, rng)?;
            if score > best_score {
                best_score = score;
                sync_target(&best, &online, 1.0)?;
            }
            if score >= 500.0 {
                break;
            }
        }
    }
    Ok(DqnRun { net: best, episode_returns: returns, steps })
    // END SOLUTION
}

// BEGIN SOLUTION ONLY
// mutants: long targets only
/// Mean return of `episodes` greedy episodes.
fn greedy_return(net: &Mlp, episodes: usize, rng: &mut impl Rng) -> Result<f32> {
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
