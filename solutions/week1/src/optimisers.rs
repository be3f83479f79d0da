//! # Day: optimisers and learning-rate schedules
//!
//! The update rules of `torch.optim`, exactly as PyTorch implements them, and the learning-rate
//! schedules of `torch.optim.lr_scheduler`. The grader runs your optimiser for 10–15 steps on a
//! 2-D test function and on a small MLP, computing the gradients itself (with candle's
//! autograd), and compares every intermediate parameter value with PyTorch's trajectory.
//!
//! The interface, shared by every optimiser: `new(hyperparameters)` makes an optimiser with
//! empty state (given); `step(&mut self, params, grads)` is the exercise. `params` is a slice of
//! plain tensors, one per parameter tensor of the model, which `step` **replaces** with their
//! updated values (`params[i] = new_value`); `grads[i]` is the gradient of the loss with
//! respect to `params[i]` (same shape). The same `params` slice, in the same order, is passed at
//! every step, so per-parameter state (momentum buffers, running averages) can live in a `Vec`
//! indexed like `params`, created on the first step. Plain tensors instead of `Var`s keep the
//! optimiser independent of how the gradients were computed.
//!
//! **Detach what you keep.** A gradient from candle's `backward` (and a parameter that came out
//! of a forward pass) still references the graph that computed it. State built from it and
//! kept across steps (a momentum buffer, `params[i]` itself) would keep every step's graph
//! alive, and memory grows with every step of a long training run. Start each step with
//! `p.detach()` and `g.detach()`.
//!
//! Rules: no `candle_nn::optim` (the grader checks your source). Hyperparameters are `f64`;
//! `tensor * 0.9`, `tensor + 1e-8`, `(a * 0.9)? + (b * 0.1)?` and `affine(mul, add)` mix them
//! with f32 tensors. Follow the order of operations given: f32 rounding makes other orders
//! differ slightly, and the trajectories are compared closely.
// STUB: #![allow(unused_variables, unused_imports, unused_mut)] // remove once you have solved a few

use candle_core::{Result, Tensor};

/// Stochastic gradient descent as `torch.optim.SGD(params, lr, momentum, dampening=0,
/// weight_decay, nesterov)`.
pub struct Sgd {
    pub lr: f64,
    pub momentum: f64,
    pub weight_decay: f64,
    pub nesterov: bool,
    /// Momentum buffers, one per parameter (empty until the first step).
    pub buf: Vec<Tensor>,
}

impl Sgd {
    pub fn new(lr: f64, momentum: f64, weight_decay: f64, nesterov: bool) -> Sgd {
        Sgd { lr, momentum, weight_decay, nesterov, buf: Vec::new() }
    }

    /// ## sgd
    /// One step of `torch.optim.SGD` (dampening 0). For each parameter `p` with gradient `g`:
    /// ```text
    /// g ← g + weight_decay · p                 (only if weight_decay ≠ 0: L2 regularisation)
    /// if momentum ≠ 0:
    ///     b ← g                  on the first step (the buffer starts as the gradient, not 0)
    ///     b ← momentum · b + g   afterwards
    ///     g ← g + momentum · b   if nesterov, else g ← b
    /// p ← p − lr · g
    /// ```
    /// Example: lr 0.1, momentum 0.9, gradients 1 then 1: the first step moves `p` by −0.1,
    /// the second by −0.19 (b = 0.9 · 1 + 1).
    // HINT: Follow the doc's pseudocode line by line, per parameter, and watch two details: the momentum buffer starts as the first gradient itself, not as zeros, and each parameter is replaced by a new tensor. Detach what you keep across steps.
    // HINT: first = self.buf.is_empty(), once before the loop. For each i: p = params[i].detach(), g = grads[i].detach(); if weight_decay ≠ 0, g = g + weight_decay·p; if momentum ≠ 0: b = g on the first step (push it into self.buf), else b = momentum·buf[i] + g (store it back); then g = g + momentum·b with nesterov, else g = b. Finally params[i] = p − lr·g.
    // HINT: let b = if first { g.clone() } else { ((&self.buf[i] * self.momentum)? + &g)? }; … g = if self.nesterov { (g + (b * self.momentum)?)? } else { b }; *p = (&*p - (g * self.lr)?)?;
    pub fn step(&mut self, params: &mut [Tensor], grads: &[Tensor]) -> Result<()> {
        // BEGIN SOLUTION
        let first = self.buf.is_empty();
        for (i, (p, g)) in params.iter_mut().zip(grads).enumerate() {
            // Detached: the state kept across steps must not hold the graphs that made it.
            *p = p.detach();
            let mut g = g.detach();
            if self.weight_decay != 0.0 {
                g = (g + (&*p * self.weight_decay)?)?;
            }
            if self.momentum != 0.0 {
                let b = if first { g.clone() } else { ((&self.buf[i] * self.momentum)? + &g)? };
                if first {
                    self.buf.push(b.clone());
                } else {
                    self.buf[i] = b.clone();
                }
                g = if self.nesterov { (g + (b * self.momentum)?)? } else { b };
            }
            *p = (&*p - (g * self.lr)?)?;
        }
        Ok(())
        // END SOLUTION
    }
}

/// RMSprop as `torch.optim.RMSprop(params, lr, alpha, eps, weight_decay, momentum,
/// centered=False)`.
pub struct RmsProp {
    pub lr: f64,
    pub alpha: f64,
    pub eps: f64,
    pub weight_decay: f64,
    pub momentum: f64,
    /// Running averages of the squared gradient, one per parameter (start at zero).
    pub square_avg: Vec<Tensor>,
    /// Momentum buffers (start at zero; used only when momentum > 0).
    pub buf: Vec<Tensor>,
}

impl RmsProp {
    pub fn new(lr: f64, alpha: f64, eps: f64, weight_decay: f64, momentum: f64) -> RmsProp {
        RmsProp { lr, alpha, eps, weight_decay, momentum, square_avg: Vec::new(), buf: Vec::new() }
    }

    /// ## rmsprop
    /// One step of `torch.optim.RMSprop` (not centered). For each parameter `p`, gradient `g`,
    /// with `v` (square average) and `b` (momentum buffer) starting at **zero**:
    /// ```text
    /// g ← g + weight_decay · p                 (only if weight_decay ≠ 0)
    /// v ← alpha · v + (1 − alpha) · g²
    /// d ← sqrt(v) + eps                        (eps outside the square root)
    /// if momentum > 0:  b ← momentum · b + g / d;   p ← p − lr · b
    /// else:             p ← p − lr · g / d
    /// ```
    /// On the first step `v = (1 − alpha) · g²`, so with alpha 0.99 the first update is about
    /// `lr · 10 · sign(g)`: RMSprop starts fast, unlike Adam.
    // HINT: Two running quantities per parameter, both starting at zero: the square average and the momentum buffer. The epsilon is added after the square root, not inside it.
    // HINT: On the first step fill square_avg and buf with zeros_like of each parameter. Per parameter (detached): weight decay as in SGD; v = alpha·v + (1 − alpha)·g²; d = sqrt(v) + eps; with momentum > 0, b = momentum·b + g/d and p = p − lr·b, otherwise p = p − lr·g/d. Store v (and b) back.
    // HINT: let v = ((&self.square_avg[i] * self.alpha)? + (g.sqr()? * (1.0 - self.alpha))?)?; let d = (v.sqrt()? + self.eps)?;
    pub fn step(&mut self, params: &mut [Tensor], grads: &[Tensor]) -> Result<()> {
        // BEGIN SOLUTION
        if self.square_avg.is_empty() {
            self.square_avg = params.iter().map(|p| p.zeros_like()).collect::<Result<_>>()?;
            self.buf = params.iter().map(|p| p.zeros_like()).collect::<Result<_>>()?;
        }
        for (i, (p, g)) in params.iter_mut().zip(grads).enumerate() {
            // Detached: the state kept across steps must not hold the graphs that made it.
            *p = p.detach();
            let mut g = g.detach();
            if self.weight_decay != 0.0 {
                g = (g + (&*p * self.weight_decay)?)?;
            }
            let v = ((&self.square_avg[i] * self.alpha)? + (g.sqr()? * (1.0 - self.alpha))?)?;
            let d = (v.sqrt()? + self.eps)?;
            self.square_avg[i] = v;
            if self.momentum > 0.0 {
                let b = ((&self.buf[i] * self.momentum)? + (g / d)?)?;
                *p = (&*p - (&b * self.lr)?)?;
                self.buf[i] = b;
            } else {
                *p = (&*p - ((g / d)? * self.lr)?)?;
            }
        }
        Ok(())
        // END SOLUTION
    }
}

/// Adam as `torch.optim.Adam(params, lr, betas=(beta1, beta2), eps, weight_decay,
/// amsgrad=False)`; with `decoupled = true` it is `torch.optim.AdamW` (same hyperparameters).
pub struct Adam {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub weight_decay: f64,
    /// AdamW's decoupled weight decay instead of Adam's L2 term.
    pub decoupled: bool,
    /// Number of steps taken so far (0 before the first).
    pub t: i32,
    /// First and second moment estimates, one per parameter (start at zero).
    pub m: Vec<Tensor>,
    pub v: Vec<Tensor>,
}

impl Adam {
    /// `torch.optim.Adam`: weight decay is an L2 term added to the gradient.
    pub fn new(lr: f64, beta1: f64, beta2: f64, eps: f64, weight_decay: f64) -> Adam {
        Adam { lr, beta1, beta2, eps, weight_decay, decoupled: false, t: 0, m: Vec::new(), v: Vec::new() }
    }

    /// `torch.optim.AdamW`: weight decay shrinks the parameter directly (decoupled).
    pub fn adamw(lr: f64, beta1: f64, beta2: f64, eps: f64, weight_decay: f64) -> Adam {
        Adam { decoupled: true, ..Adam::new(lr, beta1, beta2, eps, weight_decay) }
    }

    /// ## adam
    /// One step of `torch.optim.Adam` (`decoupled == false`; the `adamw` exercise adds the other
    /// branch). With `t` the step count *after* incrementing (1 on the first step) and `m`, `v`
    /// starting at zero, for each parameter `p` with gradient `g`:
    /// ```text
    /// g ← g + weight_decay · p                 (Adam, only if weight_decay ≠ 0)
    /// m ← beta1 · m + (1 − beta1) · g
    /// v ← beta2 · v + (1 − beta2) · g²
    /// p ← p − (lr / (1 − beta1ᵗ)) · m / (sqrt(v) / sqrt(1 − beta2ᵗ) + eps)
    /// ```
    /// The bias corrections `1 − betaᵗ` undo the pull towards the zero initial `m` and `v`: on
    /// the first step `m / (1 − beta1) = g` and `sqrt(v / (1 − beta2)) = |g|`, so every
    /// coordinate moves by about `lr`.
    ///
    /// ## adamw
    /// `decoupled == true`: `torch.optim.AdamW`. Weight decay no longer touches the gradient
    /// (and so is not rescaled by the adaptive denominator); instead, at the start of the step,
    /// ```text
    /// p ← p · (1 − lr · weight_decay)
    /// ```
    /// and then the Adam update above with the unmodified `g`. (Loshchilov & Hutter, "Decoupled
    /// weight decay regularization".)
    // HINT(adam): Two moment estimates per parameter start at zero, and the step counter counts steps, not parameters. The bias corrections use that counter, in the exact places the doc's formula puts them: the trajectories are compared closely.
    // HINT(adam): On the first step create m and v as zeros_like of each parameter; increment self.t once per step; per parameter (detached): g = g + weight_decay·p when weight_decay ≠ 0; m = beta1·m + (1 − beta1)·g; v = beta2·v + (1 − beta2)·g²; denom = sqrt(v)/sqrt(1 − beta2ᵗ) + eps; p = p − (lr/(1 − beta1ᵗ))·m/denom; store m and v. f64's powi gives betaᵗ.
    // HINT(adam): let denom = ((v.sqrt()? / (1.0 - self.beta2.powi(self.t)).sqrt())? + self.eps)?; *p = (&*p - ((&m / denom)? * (self.lr / (1.0 - self.beta1.powi(self.t))))?)?;
    // HINT(adamw): AdamW moves weight decay out of the gradient: it shrinks the parameter itself before the usual Adam update, so the decay is not rescaled by the adaptive denominator.
    // HINT(adamw): The same step as Adam; when self.decoupled (and weight_decay ≠ 0), multiply p by (1 − lr·weight_decay) at the start and do not add weight_decay·p to g. Everything after that is Adam's update with the unmodified gradient.
    // HINT(adamw): if self.weight_decay != 0.0 { if self.decoupled { *p = (&*p * (1.0 - self.lr * self.weight_decay))? } else { g = (g + (&*p * self.weight_decay)?)? } }
    pub fn step(&mut self, params: &mut [Tensor], grads: &[Tensor]) -> Result<()> {
        // BEGIN SOLUTION(adam, adamw)
        if self.m.is_empty() {
            self.m = params.iter().map(|p| p.zeros_like()).collect::<Result<_>>()?;
            self.v = params.iter().map(|p| p.zeros_like()).collect::<Result<_>>()?;
        }
        self.t += 1;
        let bc1 = 1.0 - self.beta1.powi(self.t);
        let bc2 = 1.0 - self.beta2.powi(self.t);
        for (i, (p, g)) in params.iter_mut().zip(grads).enumerate() {
            // Detached: the state kept across steps must not hold the graphs that made it.
            *p = p.detach();
            let mut g = g.detach();
            if self.weight_decay != 0.0 {
                if self.decoupled {
                    *p = (&*p * (1.0 - self.lr * self.weight_decay))?;
                } else {
                    g = (g + (&*p * self.weight_decay)?)?;
                }
            }
            let m = ((&self.m[i] * self.beta1)? + (&g * (1.0 - self.beta1))?)?;
            let v = ((&self.v[i] * self.beta2)? + (g.sqr()? * (1.0 - self.beta2))?)?;
            let denom = ((v.sqrt()? / bc2.sqrt())? + self.eps)?;
            *p = (&*p - ((&m / denom)? * (self.lr / bc1))?)?;
            self.m[i] = m;
            self.v[i] = v;
        }
        Ok(())
        // END SOLUTION
    }
}

/// ## step_lr
/// `torch.optim.lr_scheduler.StepLR(step_size, gamma)`: the learning rate after `t` scheduler
/// steps (t = 0 before any): `base_lr · gamma^⌊t / step_size⌋`.
/// Example: base 0.1, step_size 3, gamma 0.5 → 0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, …
// HINT: The rate is multiplied by gamma once every step_size steps: count how many whole periods have passed.
// HINT: The integer division t / step_size counts the decays; raise gamma to that power (powi takes an i32) and multiply base_lr by it.
// HINT: base_lr * gamma.powi((t / step_size) as i32)
pub fn step_lr(base_lr: f64, step_size: usize, gamma: f64, t: usize) -> f64 {
    // BEGIN SOLUTION
    base_lr * gamma.powi((t / step_size) as i32)
    // END SOLUTION
}

/// ## cosine_lr
/// `torch.optim.lr_scheduler.CosineAnnealingLR(T_max, eta_min)` for `0 ≤ t ≤ t_max`: half a
/// cosine from `base_lr` down to `eta_min`,
/// `eta_min + (base_lr − eta_min) · (1 + cos(π · t / t_max)) / 2`.
/// Example: base 1, eta_min 0, t_max 4 → 1, 0.854, 0.5, 0.146, 0.
// HINT: Half a cosine period over t_max steps: the cosine goes from 1 to −1, so (1 + cos)/2 goes from 1 to 0 and scales the distance between base_lr and eta_min.
// HINT: Compute in f64: angle = π·t/t_max (std::f64::consts::PI); lr = eta_min + (base_lr − eta_min)·(1 + cos(angle))/2.
// HINT: eta_min + (base_lr - eta_min) * (1.0 + (std::f64::consts::PI * t as f64 / t_max as f64).cos()) / 2.0
pub fn cosine_lr(base_lr: f64, eta_min: f64, t_max: usize, t: usize) -> f64 {
    // BEGIN SOLUTION
    eta_min + (base_lr - eta_min) * (1.0 + (std::f64::consts::PI * t as f64 / t_max as f64).cos()) / 2.0
    // END SOLUTION
}

/// ## linear_warmup
/// `torch.optim.lr_scheduler.LinearLR(start_factor, end_factor=1.0, total_iters=warmup)`: the
/// factor on `base_lr` rises linearly from `start_factor` at `t = 0` to 1 at `t = warmup`
/// and stays 1 afterwards: `base_lr · (start_factor + (1 − start_factor) · min(t, warmup) / warmup)`.
/// Example: base 1, start_factor 0.25, warmup 3 → 0.25, 0.5, 0.75, 1, 1, …
// HINT: The factor rises along a straight line from start_factor to 1 over the warmup steps, then stays at 1: clamp the step before using it.
// HINT: factor = start_factor + (1 − start_factor)·min(t, warmup)/warmup, in f64; multiply base_lr by it.
// HINT: base_lr * (start_factor + (1.0 - start_factor) * t.min(warmup) as f64 / warmup as f64)
pub fn linear_warmup(base_lr: f64, start_factor: f64, warmup: usize, t: usize) -> f64 {
    // BEGIN SOLUTION
    base_lr * (start_factor + (1.0 - start_factor) * t.min(warmup) as f64 / warmup as f64)
    // END SOLUTION
}

/// ## warmup_cosine
/// Linear warmup, then cosine decay — the usual transformer schedule, as PyTorch's
/// `SequentialLR([LinearLR(start_factor, total_iters=warmup), CosineAnnealingLR(T_max=total − warmup,
/// eta_min)], milestones=[warmup])`: for `t < warmup` it is `linear_warmup(base_lr,
/// start_factor, warmup, t)`; from `t = warmup` to `t = total` it is
/// `cosine_lr(base_lr, eta_min, total − warmup, t − warmup)` (the cosine restarts its clock at the
/// milestone). Call your two functions.
// HINT: Two schedules glued at the milestone: before it the warmup, from it on the cosine, whose clock starts again from zero at the milestone.
// HINT: If t < warmup, return linear_warmup(base_lr, start_factor, warmup, t); otherwise the cosine over total − warmup steps, at time t − warmup.
// HINT: if t < warmup { linear_warmup(base_lr, start_factor, warmup, t) } else { cosine_lr(base_lr, eta_min, total - warmup, t - warmup) }
pub fn warmup_cosine(base_lr: f64, start_factor: f64, warmup: usize, total: usize, eta_min: f64, t: usize) -> f64 {
    // BEGIN SOLUTION
    if t < warmup {
        linear_warmup(base_lr, start_factor, warmup, t)
    } else {
        cosine_lr(base_lr, eta_min, total - warmup, t - warmup)
    }
    // END SOLUTION
}
