//! # A train loop worth keeping
//!
//! Week 2 trained models with a dozen lines: sample a batch, `backward_step`, print the loss.
//! A loop that researchers keep has more in it, and every piece exists because its absence
//! once cost someone a week: a typed config that refuses a misspelt key (instead of silently
//! training with the default), a data loader that can say exactly where it is (so a resumed
//! run sees the same batches), gradient clipping and accumulation, a learning-rate schedule,
//! weight decay only where it belongs, metrics written as they happen, and checkpoints that
//! hold *everything* the next step depends on, written so that a crash at any moment leaves a
//! good one behind. The day ends with `train`, which puts them together; the grader kills it
//! in the middle of a run, resumes it, and needs the result to equal an uninterrupted run bit
//! for bit.
//!
//! Conventions: tokens are `u32` ids; a model is anything that implements `model::Model`;
//! gradients travel as `Vec<Tensor>` in the order of `Model::vars()`.
// STUB: #![allow(unused_variables, unused_imports, unused_mut, dead_code)] // remove once you have solved a few

use super::model::Model;
use candle_core::{DType, Device, Result, Tensor, Var};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// A training run's configuration. Every field is required; a key the struct does not have is
/// an error (`#[serde(deny_unknown_fields)]`), so a misspelt `learning_rate` cannot silently
/// leave the default in place.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Peak learning rate (after warmup).
    pub lr: f64,
    /// Learning rate at the end of the cosine decay.
    pub min_lr: f64,
    pub warmup_steps: usize,
    /// Optimiser steps in the run (the cosine decays over all of them).
    pub max_steps: usize,
    /// Sequences per micro-batch.
    pub batch_size: usize,
    /// Micro-batches per optimiser step (gradient accumulation).
    pub accumulate: usize,
    /// AdamW's decoupled weight decay, applied to the matrices only (see `AdamW`).
    pub weight_decay: f64,
    /// AdamW's β2: nanoGPT uses 0.95 for GPT-2 and 0.99 for its small character model, whose
    /// batches hold few tokens (a longer average of the squared gradients steadies the steps).
    pub beta2: f64,
    /// Global gradient-norm clip.
    pub grad_clip: f64,
    pub seed: u64,
    /// Save a checkpoint after every this many steps (and after the last).
    pub checkpoint_every: usize,
    pub model: ModelConfig,
}

/// The `[model]` table of a `Config`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// Transformer layers and attention heads (the GPT of the next day; `TinyLm` has none).
    pub n_layer: usize,
    pub n_head: usize,
    /// Characters per training sequence.
    pub block_size: usize,
    pub n_embd: usize,
    pub n_hidden: usize,
    pub dropout: f64,
}

/// ## config
/// Parse a TOML config and apply command-line overrides `key=value` in order (a dotted key
/// reaches into a table: `model.n_embd=64`; the value is read as a TOML value, so `3e-4`,
/// `12`, `true` and `"text"` keep their types, and a bare word that is not a TOML value is a
/// string). Errors are `Err(message)`, and the message names the offending key: a key the
/// config does not have (in the file or in an override), a value of the wrong type, an
/// override without `=`, a file that is not TOML. Serde does the type work: merge the
/// overrides into the parsed `toml::Table`, then deserialise the merged table into `Config`.
// HINT: Let serde do all the type checking: merge the overrides into the parsed TOML table first and only then turn the whole table into a Config, so that an unknown key or a value of the wrong type is reported by the deserialiser, with the key's name.
// HINT: Parse the text into a toml::Table (a parse error becomes the message). For each override: split_once('=') (none is an error), read the value as TOML by parsing the line v = <value> and taking v back out (if that fails, keep the text as a toml::Value::String), split the key on '.', walk down the tables with get_mut (a part that is missing or not a table is an error naming the key) and insert the last part. Finally toml::to_string the merged table and toml::from_str::<Config> it, mapping its error to a String.
// HINT: let value = match format!("v = {}", value.trim()).parse::<toml::Table>() { Ok(mut t) => t.remove("v").unwrap(), Err(_) => toml::Value::String(value.trim().to_string()) }; and at the end toml::from_str::<Config>(&toml::to_string(&table).map_err(|e| e.to_string())?).map_err(|e| format!("invalid config: {e}")) (its error shows the offending key).
pub fn parse_config(text: &str, overrides: &[&str]) -> std::result::Result<Config, String> {
    // BEGIN SOLUTION
    let mut table: toml::Table = text.parse().map_err(|e| format!("the config is not valid TOML: {e}"))?;
    for o in overrides {
        let (key, value) = o.split_once('=').ok_or_else(|| format!("override {o:?} has no '=': write key=value"))?;
        let key = key.trim();
        let value = match format!("v = {}", value.trim()).parse::<toml::Table>() {
            Ok(mut t) => t.remove("v").expect("parsed a table with key v"),
            Err(_) => toml::Value::String(value.trim().to_string()),
        };
        let mut parts: Vec<&str> = key.split('.').collect();
        let last = parts.pop().unwrap_or_default();
        let mut node = &mut table;
        for p in parts {
            node = match node.get_mut(p) {
                Some(toml::Value::Table(t)) => t,
                _ => return Err(format!("unknown key {key:?} in override {o:?}: {p} is not a table of the config")),
            };
        }
        node.insert(last.to_string(), value);
    }
    let merged = toml::to_string(&table).map_err(|e| e.to_string())?;
    toml::from_str::<Config>(&merged).map_err(|e| format!("invalid config: {e}"))
    // END SOLUTION
}

/// Where a `Loader` is: the batch it will return next is batch `batch` of epoch `epoch`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    pub epoch: u64,
    pub batch: usize,
}

/// One batch: `x` and `y` are `batch × block` ids, row-major (`y` is `x` shifted by one
/// character), and `next` the position of the batch after this one.
#[derive(Clone, Debug, PartialEq)]
pub struct Batch {
    pub x: Vec<u32>,
    pub y: Vec<u32>,
    pub next: Position,
}

/// ## loader
/// A seeded, resumable loader of next-character batches. Epoch `e` draws from
/// `ChaCha8Rng::seed_from_u64(seed + e)`: first a phase `shift = rng.random_range(0..block)`,
/// then the order of its windows. The epoch's text starts at `shift` (so that windows do not
/// begin at the same characters every epoch) and is cut into `n = (len − 1 − shift) / block`
/// windows: window `w` is `data[shift + w·block ..][..block]`, its targets the same range one
/// character later. The windows are visited in the order of `(0..n)` shuffled by
/// `SliceRandom::shuffle` with the same RNG, in batches of `batch` consecutive windows of that
/// order (the `n % batch` windows left at the end of an epoch are skipped), then the next epoch
/// starts. `new` starts at `start`; any position a loader has reported can be given back to a
/// new loader, which then returns exactly the batches the old one would have.
///
/// Positions: a batch's `next` is the position right after it, `{ epoch, batch: k + 1 }`, even
/// after the epoch's last whole batch. The rollover happens when that position is read: a
/// `next_batch` (or a new loader) at a batch that would run past the epoch's windows moves to
/// `{ epoch: epoch + 1, batch: 0 }` first and returns that batch, whose `next` is
/// `{ epoch + 1, batch: 1 }`. `position()` reports the position as it stands, before any
/// rollover.
pub struct Loader {
    // BEGIN SOLUTION ONLY
    data: Vec<u32>,
    block: usize,
    batch: usize,
    seed: u64,
    pos: Position,
    order: Vec<usize>,
    // END SOLUTION
}

impl Loader {
    pub fn new(data: Vec<u32>, block: usize, batch: usize, seed: u64, start: Position) -> Loader {
        // BEGIN SOLUTION
        let mut l = Loader { data, block, batch, seed, pos: start, order: Vec::new() };
        l.shuffle();
        l
        // END SOLUTION
    }

    /// The position of the batch `next_batch` returns next.
    pub fn position(&self) -> Position {
        // BEGIN SOLUTION
        self.pos
        // END SOLUTION
    }

    // BEGIN SOLUTION ONLY
    /// The epoch's window starts, in the order it visits them.
    fn shuffle(&mut self) {
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed.wrapping_add(self.pos.epoch));
        let shift = rng.random_range(0..self.block);
        let n = self.data.len().saturating_sub(1 + shift) / self.block;
        let mut order: Vec<usize> = (0..n).collect();
        order.shuffle(&mut rng);
        self.order = order.into_iter().map(|w| shift + w * self.block).collect();
    }
    // END SOLUTION

    // HINT(loader): A loader is a pure function of its seed and its position: rebuild an epoch's order from seed + epoch whenever the epoch changes, so that a new loader given any reported position returns exactly the batches the old one would have.
    // HINT(loader): Keep the epoch's window starts in visiting order (shift + w·block for the shuffled w); starts[batch·k .. batch·(k+1)] make batch k. new builds the order for its start epoch; next_batch first checks whether (k+1)·batch would pass the end of the order and, if so, moves to epoch + 1, batch 0 and rebuilds the order with the new seed; then it copies x = data[start..start + block] and y = data[start + 1..start + block + 1] for each start, advances the batch, and reports the new position as next.
    // HINT(loader): let mut rng = ChaCha8Rng::seed_from_u64(seed + epoch); let shift = rng.random_range(0..block); let n = (data.len() - 1 - shift) / block; let mut order: Vec<usize> = (0..n).collect(); order.shuffle(&mut rng); starts = order.into_iter().map(|w| shift + w * block).collect() (the shift is drawn before the shuffle, from the same RNG).
    pub fn next_batch(&mut self) -> Batch {
        // BEGIN SOLUTION
        if (self.pos.batch + 1) * self.batch > self.order.len() {
            self.pos = Position { epoch: self.pos.epoch + 1, batch: 0 };
            self.shuffle();
            assert!(self.batch <= self.order.len(), "a batch of {} windows is more than the {} windows the text has", self.batch, self.order.len());
        }
        let (mut x, mut y) = (Vec::with_capacity(self.batch * self.block), Vec::with_capacity(self.batch * self.block));
        for &start in &self.order[self.pos.batch * self.batch..(self.pos.batch + 1) * self.batch] {
            x.extend_from_slice(&self.data[start..start + self.block]);
            y.extend_from_slice(&self.data[start + 1..start + self.block + 1]);
        }
        self.pos.batch += 1;
        Batch { x, y, next: self.pos }
        // END SOLUTION
    }
}

/// ## prefetch
/// A background thread that produces items while the consumer works on the previous ones (a
/// data loader's classic speed-up: the next batch is ready when the step ends). `new` spawns a
/// thread that calls `produce` until it returns `None`, sending each item through a channel
/// that holds at most `depth` items (`std::sync::mpsc::sync_channel(depth)`), so a fast
/// producer waits instead of filling memory. A `Prefetch` is an iterator over the items, in
/// order. Dropping a `Prefetch` early must not hang: close the receiving end first (the
/// producer's next `send` then fails and its thread returns), then join the thread.
pub struct Prefetch<T> {
    /// What the channel carries (your fields will mention `T` too).
    pub items: std::marker::PhantomData<T>,
    // BEGIN SOLUTION ONLY
    rx: Option<std::sync::mpsc::Receiver<T>>,
    handle: Option<std::thread::JoinHandle<()>>,
    // END SOLUTION
}

impl<T: Send + 'static> Prefetch<T> {
    // HINT(prefetch): A bounded channel makes the producer wait when the consumer falls behind; shutting down cleanly means the receiving end must be gone before you wait for the thread, or the producer can block for ever on a full channel.
    // HINT(prefetch): In new: std::sync::mpsc::sync_channel(depth), then std::thread::spawn a closure that takes produce and the sender and loops while produce returns Some, stopping when send fails. Keep the receiver and the JoinHandle in Option fields. next: recv on the receiver (an Err means the producer has finished: None). Drop: take the receiver and drop it first, then take the handle and join it.
    // HINT(prefetch): let handle = std::thread::spawn(move || while let Some(item) = produce() { if tx.send(item).is_err() { break } }); and in drop: drop(self.rx.take()); if let Some(h) = self.handle.take() { let _ = h.join(); }
    pub fn new(depth: usize, mut produce: impl FnMut() -> Option<T> + Send + 'static) -> Prefetch<T> {
        // BEGIN SOLUTION
        let (tx, rx) = std::sync::mpsc::sync_channel(depth);
        let handle = std::thread::spawn(move || {
            while let Some(item) = produce() {
                if tx.send(item).is_err() {
                    break;
                }
            }
        });
        Prefetch { items: std::marker::PhantomData, rx: Some(rx), handle: Some(handle) }
        // END SOLUTION
    }
}

/// `next` returns the items in order, then `None` once the producer has finished.
impl<T> Iterator for Prefetch<T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        // BEGIN SOLUTION
        self.rx.as_ref()?.recv().ok()
        // END SOLUTION
    }
}

impl<T> Drop for Prefetch<T> {
    fn drop(&mut self) {
        // BEGIN SOLUTION
        drop(self.rx.take());
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
        // END SOLUTION
    }
}

/// ## dropout
/// Inverted dropout in training mode: each element of `x` is zeroed with probability `p` and
/// the survivors are scaled by `1/(1 − p)`, so the expected value of every element is
/// unchanged (and evaluation needs no rescaling: the model simply skips dropout there). The
/// mask draws one `rng.random::<f32>()` per element in row-major order and keeps the element
/// when the draw is `≥ p` (drawing from the train loop's RNG is what lets a resumed run draw
/// the same masks). `0 ≤ p < 1`; differentiable with respect to `x`.
// HINT: Inverted dropout rescales the survivors at training time so that evaluation needs no change at all; draw exactly one random number per element, in row-major order, from the RNG you are given, so that a resumed run draws the same masks.
// HINT: Build the keep mask on the host: a Vec<f32> of x.elem_count() entries, 1 where rng.random::<f32>() >= p and 0 otherwise; make it a tensor of x's shape on x's device (Tensor::from_vec, then to_dtype(x.dtype())); multiply x by it and by the scalar 1/(1 − p). Plain tensor arithmetic keeps the result differentiable with respect to x.
// HINT: let keep: Vec<f32> = (0..x.elem_count()).map(|_| if rng.random::<f32>() >= p as f32 { 1.0 } else { 0.0 }).collect(); then ((x * Tensor::from_vec(keep, x.shape(), x.device())?.to_dtype(x.dtype())?)? * (1.0 / (1.0 - p))).
pub fn dropout(x: &Tensor, p: f64, rng: &mut ChaCha8Rng) -> Result<Tensor> {
    // BEGIN SOLUTION
    let keep: Vec<f32> = (0..x.elem_count()).map(|_| if rng.random::<f32>() >= p as f32 { 1.0 } else { 0.0 }).collect();
    let mask = Tensor::from_vec(keep, x.shape(), x.device())?.to_dtype(x.dtype())?;
    (x * mask)? * (1.0 / (1.0 - p))
    // END SOLUTION
}

/// ## lr_at
/// The learning rate of step `step` (counting from 0), nanoGPT's schedule: a linear warmup
/// `lr · (step + 1) / (warmup_steps + 1)` for `step < warmup_steps`, then a cosine from `lr`
/// down to `min_lr` over the steps up to `max_steps`:
/// `min_lr + ½ (1 + cos(π · r)) · (lr − min_lr)` with `r = (step − warmup) / (max_steps −
/// warmup)`, and `min_lr` for every step beyond `max_steps`.
// HINT: Three regimes: a linear ramp during warmup, half a cosine from the peak down to the minimum, and the minimum for ever after; watch the off-by-ones (the ramp uses step + 1 over warmup + 1) and divide in floating point, not in integers.
// HINT: Three cases: step < warmup_steps returns lr · (step + 1) / (warmup_steps + 1); step > max_steps returns min_lr; otherwise compute r = (step − warmup_steps) / (max_steps − warmup_steps) as f64 and return min_lr + ½ (1 + cos(π r)) (lr − min_lr).
// HINT: let r = (step - w) as f64 / (m - w) as f64; cfg.min_lr + 0.5 * (1.0 + (std::f64::consts::PI * r).cos()) * (cfg.lr - cfg.min_lr)
pub fn lr_at(step: usize, cfg: &Config) -> f64 {
    // BEGIN SOLUTION
    let (w, m) = (cfg.warmup_steps, cfg.max_steps);
    if step < w {
        return cfg.lr * (step + 1) as f64 / (w + 1) as f64;
    }
    if step > m {
        return cfg.min_lr;
    }
    let r = (step - w) as f64 / (m - w) as f64;
    cfg.min_lr + 0.5 * (1.0 + (std::f64::consts::PI * r).cos()) * (cfg.lr - cfg.min_lr)
    // END SOLUTION
}

/// ## clip_grad_norm
/// Global-norm gradient clipping as `torch.nn.utils.clip_grad_norm_` does it: the total norm
/// is `sqrt(Σ over every tensor of Σ g²)`; when it exceeds `max_norm` every gradient is
/// multiplied by `max_norm / (total + 1e-6)` (all by the same factor, so the direction of the
/// update is kept), otherwise they are returned unchanged. Returns the clipped gradients and
/// the total norm *before* clipping (the number worth logging).
// HINT: The norm is global: one number over every gradient of every variable together, and every gradient is scaled by the same factor so that the update keeps its direction; return the norm measured before clipping.
// HINT: Add up Σ g² of every tensor on the host in f64 (sqr, sum_all, to_scalar per tensor) and take the square root; the factor is max_norm / (total + 1e-6), capped at 1; multiply each gradient by it when it is below 1, otherwise return clones unchanged.
// HINT: sq += g.to_dtype(DType::F64)?.sqr()?.sum_all()?.to_scalar::<f64>()?; … let scale = (max_norm / (total + 1e-6)).min(1.0);
pub fn clip_grad_norm(grads: &[Tensor], max_norm: f64) -> Result<(Vec<Tensor>, f64)> {
    // BEGIN SOLUTION
    let mut sq = 0f64;
    for g in grads {
        sq += g.to_dtype(DType::F64)?.sqr()?.sum_all()?.to_scalar::<f64>()?;
    }
    let total = sq.sqrt();
    let scale = (max_norm / (total + 1e-6)).min(1.0);
    let out = grads.iter().map(|g| if scale < 1.0 { g * scale } else { Ok(g.clone()) }).collect::<Result<Vec<_>>>()?;
    Ok((out, total))
    // END SOLUTION
}

/// ## accumulate
/// Gradient accumulation: the gradients of one big batch computed in `k = micro.len()`
/// micro-batches of equal size, for when the big batch does not fit in memory. Each
/// micro-batch `(x, y)` contributes `model.loss(x, y, train, rng) / k` and its gradients;
/// summed over the micro-batches they equal the gradients of the mean loss over the big
/// batch. Returns that mean loss and the gradients in the order of `model.vars()` (a variable
/// the loss does not reach gets zeros).
// HINT: Scale each micro-batch's loss by 1/k before its backward pass: then the gradients simply add up to the gradient of the big batch's mean loss, and so do the losses.
// HINT: Start one running sum per variable of model.vars() at zeros_like; for each (x, y): loss = model.loss(x, y, train, rng) / k, add its to_scalar::<f32>() to the total, call backward, and add grads.get(var.as_tensor()) into the matching sum when it is there (a variable the loss does not reach keeps its zeros).
// HINT: let loss = (model.loss(x, y, train, rng)? / k)?; let g = loss.backward()?; for (s, (_, v)) in sums.iter_mut().zip(&vars) { if let Some(gv) = g.get(v.as_tensor()) { *s = (&*s + gv)?; } }
pub fn accumulate(model: &dyn Model, micro: &[(Tensor, Tensor)], train: bool, rng: &mut ChaCha8Rng) -> Result<(f32, Vec<Tensor>)> {
    // BEGIN SOLUTION
    let vars = model.vars();
    let k = micro.len() as f64;
    let mut sums: Vec<Tensor> = vars.iter().map(|(_, v)| v.as_tensor().zeros_like()).collect::<Result<_>>()?;
    let mut total = 0f32;
    for (x, y) in micro {
        let loss = (model.loss(x, y, train, rng)? / k)?;
        total += loss.to_scalar::<f32>()?;
        let g = loss.backward()?;
        for (s, (_, v)) in sums.iter_mut().zip(&vars) {
            if let Some(gv) = g.get(v.as_tensor()) {
                *s = (&*s + gv)?;
            }
        }
    }
    Ok((total, sums))
    // END SOLUTION
}

/// ## adamw
/// AdamW (`torch.optim.AdamW`, β1 = 0.9, β2 = `self.beta2` (`new` sets 0.95, as nanoGPT does
/// for GPT-2), eps = 1e-8) with nanoGPT's two
/// parameter groups: variables of rank ≥ 2 (the embedding and the weight matrices) decay,
/// variables of rank < 2 (biases, layer-norm gains) do not; decaying a layer norm's gain
/// towards 0 would fight the normalisation, and a bias has no scale for decay to control.
/// One `step(grads, lr)` with `t` counting from 1:
/// ```text
/// w ← w · (1 − lr · wd)          (decaying variables only)
/// m ← β1 m + (1 − β1) g,   v ← β2 v + (1 − β2) g²
/// w ← w − lr · (m / (1 − β1^t)) / (sqrt(v / (1 − β2^t)) + eps)
/// ```
/// `state` returns everything a resumed run needs to continue exactly: `m.<name>` and
/// `v.<name>` for every variable and `t` (a 1-element f64 tensor), and `load_state` puts it
/// back.
///
/// Store `.detach()`ed tensors in `m` and `v`. A gradient from `backward()` still references
/// the forward pass that made it, so a running average built from it, kept from step to step,
/// would keep every step's whole graph alive: memory grows by a forward pass each step, and
/// the run slows to a crawl as the machine pages the new memory in. The check runs many steps
/// and measures the memory.
pub struct AdamW {
    pub vars: Vec<(String, Var)>,
    pub weight_decay: f64,
    /// β2 of the squared-gradient average (0.95 from `new`; `train` sets the config's).
    pub beta2: f64,
    // BEGIN SOLUTION ONLY
    m: Vec<Tensor>,
    v: Vec<Tensor>,
    t: usize,
    // END SOLUTION
}

impl AdamW {
    pub fn new(vars: Vec<(String, Var)>, weight_decay: f64) -> Result<AdamW> {
        // BEGIN SOLUTION
        let m: Vec<Tensor> = vars.iter().map(|(_, v)| v.as_tensor().zeros_like()).collect::<Result<_>>()?;
        Ok(AdamW { v: m.clone(), m, vars, weight_decay, beta2: 0.95, t: 0 })
        // END SOLUTION
    }

    /// Whether the variable decays (rank ≥ 2).
    pub fn decays(var: &Var) -> bool {
        // BEGIN SOLUTION
        var.rank() >= 2
        // END SOLUTION
    }

    // HINT(adamw): Two things go wrong most often: decaying every variable (only those of rank 2 and more decay, and the decay shrinks the weight itself before the Adam update, it is not added to the gradient), and keeping the gradient's graph alive in the running averages (detach them, or memory grows with every step).
    // HINT(adamw): new: m and v are zeros_like of each variable, t = 0, beta2 0.95; decays is rank >= 2. step: t += 1 and the bias corrections c1 = 1 − 0.9^t, c2 = 1 − β2^t (powi); for each variable i: w = its current tensor, times (1 − lr·wd) when it decays; update m[i] and v[i] (detached); var.set(w − lr · (m[i]/c1) / (sqrt(v[i]/c2) + eps)). state: a BTreeMap with m.<name>, v.<name> and t as a 1-element f64 tensor; load_state reads them back.
    // HINT(adamw): self.m[i] = ((&self.m[i] * b1)? + (g * (1.0 - b1))?)?.detach(); self.v[i] = ((&self.v[i] * b2)? + (g.sqr()? * (1.0 - b2))?)?.detach(); let update = ((&self.m[i] / c1)? / ((&self.v[i] / c2)?.sqrt()? + eps)?)?; var.set(&(w - (update * lr)?)?)?;
    pub fn step(&mut self, grads: &[Tensor], lr: f64) -> Result<()> {
        // BEGIN SOLUTION
        let (b1, b2, eps) = (0.9f64, self.beta2, 1e-8);
        self.t += 1;
        let (c1, c2) = (1.0 - b1.powi(self.t as i32), 1.0 - b2.powi(self.t as i32));
        for (i, ((_, var), g)) in self.vars.iter().zip(grads).enumerate() {
            let mut w = var.as_tensor().clone();
            if Self::decays(var) {
                w = (w * (1.0 - lr * self.weight_decay))?;
            }
            self.m[i] = ((&self.m[i] * b1)? + (g * (1.0 - b1))?)?.detach();
            self.v[i] = ((&self.v[i] * b2)? + (g.sqr()? * (1.0 - b2))?)?.detach();
            let update = ((&self.m[i] / c1)? / ((&self.v[i] / c2)?.sqrt()? + eps)?)?;
            var.set(&(w - (update * lr)?)?)?;
        }
        Ok(())
        // END SOLUTION
    }

    pub fn state(&self) -> Result<BTreeMap<String, Tensor>> {
        // BEGIN SOLUTION
        let mut s = BTreeMap::new();
        for (i, (name, _)) in self.vars.iter().enumerate() {
            s.insert(format!("m.{name}"), self.m[i].clone());
            s.insert(format!("v.{name}"), self.v[i].clone());
        }
        s.insert("t".to_string(), Tensor::new(&[self.t as f64], &Device::Cpu)?);
        Ok(s)
        // END SOLUTION
    }

    // HINT(adamw): load_state: look every key up (a missing one is an error naming it: candle_core::bail! or Error::Msg), move m and v to the variable's device, and copy t back as get("t")?.to_vec1::<f64>()?[0] as usize.
    pub fn load_state(&mut self, state: &BTreeMap<String, Tensor>) -> Result<()> {
        // BEGIN SOLUTION
        let get = |k: &str| state.get(k).cloned().ok_or_else(|| candle_core::Error::Msg(format!("optimiser state has no {k}")));
        for (i, (name, var)) in self.vars.iter().enumerate() {
            self.m[i] = get(&format!("m.{name}"))?.to_device(var.device())?;
            self.v[i] = get(&format!("v.{name}"))?.to_device(var.device())?;
        }
        self.t = get("t")?.to_vec1::<f64>()?[0] as usize;
        Ok(())
        // END SOLUTION
    }
}

/// One line of `metrics.jsonl`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub step: usize,
    pub loss: f64,
    pub lr: f64,
    /// The global gradient norm before clipping.
    pub grad_norm: f64,
    pub tokens_per_s: f64,
    /// The gradient norm of each variable, by name, before clipping (so that the squares add
    /// up to `grad_norm`'s square).
    pub layer_grad_norms: BTreeMap<String, f64>,
}

/// ## metrics
/// Metrics as JSON Lines: one `Record` per line, appended as it happens and flushed, so a
/// crashed run keeps every step it finished and a plot can read the file while the run goes
/// on. `append` opens the file in append mode and writes the line and its `\n` in one
/// `write_all`. `read` returns the records of a file; a process killed mid-write can leave a
/// last line without its `\n`: `read` skips it (a line without its newline was never
/// finished), and any other line that is not a `Record` is an error naming its line number.
pub struct MetricsLog {
    pub path: PathBuf,
}

impl MetricsLog {
    // HINT(metrics): JSON Lines is one complete JSON object per line, and a line is finished only once its newline is written: a reader can tell a half-written last line from a corrupt one by that missing newline.
    // HINT(metrics): append: serde_json::to_string(record) plus "\n", std::fs::OpenOptions::new().create(true).append(true).open(&self.path), then one write_all; map serde errors with candle_core::Error::wrap (io errors convert with ?). read: read_to_string, split('\n'), drop the last piece, parse the others with serde_json::from_str, and report a bad line with the path and its line number counting from 1.
    pub fn append(&self, record: &Record) -> Result<()> {
        // BEGIN SOLUTION
        let mut line = serde_json::to_string(record).map_err(candle_core::Error::wrap)?;
        line.push('\n');
        let mut f = std::fs::OpenOptions::new().create(true).append(true).open(&self.path)?;
        f.write_all(line.as_bytes())?;
        Ok(())
        // END SOLUTION
    }

    // HINT(metrics): let mut lines: Vec<&str> = text.split('\n').collect(); lines.pop(); (the last piece is "" when the file ends with a newline, or the unfinished line: drop it either way) then lines.iter().enumerate().map(|(i, l)| serde_json::from_str(l).map_err(|e| Error::Msg(format!("{}:{}: {e}", path.display(), i + 1)))).collect()
    pub fn read(path: &Path) -> Result<Vec<Record>> {
        // BEGIN SOLUTION
        let text = std::fs::read_to_string(path)?;
        let mut lines: Vec<&str> = text.split('\n').collect();
        lines.pop();
        lines
            .iter()
            .enumerate()
            .map(|(i, l)| serde_json::from_str(l).map_err(|e| candle_core::Error::Msg(format!("{}:{}: not a metrics record: {e}", path.display(), i + 1))))
            .collect()
        // END SOLUTION
    }
}

/// The `"sha256"` entry of a checkpoint's metadata: the hex SHA-256 of every tensor's name and
/// raw bytes (`safetensors::View::data`, little-endian as stored), in name order.
pub fn checkpoint_digest(tensors: &BTreeMap<String, Tensor>) -> Result<String> {
    // BEGIN SOLUTION
    use safetensors::View;
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    for (name, t) in tensors {
        h.update(name.as_bytes());
        h.update(t.data().as_ref());
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
    // END SOLUTION
}

/// ## checkpoint
/// Checkpoints that are safe to crash in. `save` writes the tensors and the metadata (the
/// safetensors header's `__metadata__`, via the `safetensors` crate's `serialize`) plus a
/// metadata entry `"sha256"`: the hex SHA-256 of every tensor's name and raw bytes, in name
/// order. It writes to a temporary file beside `path`, flushes it to disk (`sync_all`), and
/// renames it over `path`: a rename is atomic, so at every moment `path` holds either the old
/// checkpoint or the new one, never half of one. `load` reads a file back on `device` and
/// refuses, with an error, a file that is truncated, is not safetensors, has no `"sha256"`, or
/// whose bytes do not match it (a flipped bit on disk). The `"sha256"` entry is not part of
/// the loaded `meta`.
#[derive(Clone, Debug, Default)]
pub struct Checkpoint {
    pub tensors: BTreeMap<String, Tensor>,
    pub meta: BTreeMap<String, String>,
}

impl Checkpoint {
    // HINT(checkpoint): Crash safety comes from never writing over the good file: write the new checkpoint completely somewhere else, force it to disk, then rename it into place in one atomic step; and when loading, trust nothing until its digest matches.
    // HINT(checkpoint): save: copy self.meta into a HashMap, insert "sha256" = checkpoint_digest(&self.tensors)?, safetensors::serialize(self.tensors.iter(), Some(meta)), write the bytes to a temporary file beside path (e.g. path.with_extension("safetensors.tmp")), sync_all, then std::fs::rename it over path. load: std::fs::read; SafeTensors::read_metadata(&bytes) for the header (an Err here means truncated or not safetensors); take "sha256" out of its metadata (missing: refuse); candle_core::safetensors::load_buffer(&bytes, &Device::Cpu) for the tensors; recompute the digest and compare; then move the tensors to device.
    pub fn save(&self, path: &Path) -> Result<()> {
        // BEGIN SOLUTION
        let mut meta: std::collections::HashMap<String, String> = self.meta.clone().into_iter().collect();
        meta.insert("sha256".into(), checkpoint_digest(&self.tensors)?);
        let bytes = safetensors::serialize(self.tensors.iter(), Some(meta)).map_err(candle_core::Error::wrap)?;
        let tmp = path.with_extension("safetensors.tmp");
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)?;
        Ok(())
        // END SOLUTION
    }

    // HINT(checkpoint): let (_, header) = safetensors::SafeTensors::read_metadata(&bytes).map_err(…)?; let mut meta: BTreeMap<String, String> = header.metadata().clone().unwrap_or_default().into_iter().collect(); let want = meta.remove("sha256").ok_or_else(…)?; … if checkpoint_digest(&tensors)? != want { refuse }
    pub fn load(path: &Path, device: &Device) -> Result<Checkpoint> {
        // BEGIN SOLUTION
        let bytes = std::fs::read(path)?;
        let bad = |why: String| candle_core::Error::Msg(format!("checkpoint {} refused: {why}", path.display()));
        let (_, header) = safetensors::SafeTensors::read_metadata(&bytes).map_err(|e| bad(format!("not a complete safetensors file ({e})")))?;
        let mut meta: BTreeMap<String, String> = header.metadata().clone().unwrap_or_default().into_iter().collect();
        let want = meta.remove("sha256").ok_or_else(|| bad("it has no sha256 entry".into()))?;
        let tensors: BTreeMap<String, Tensor> =
            candle_core::safetensors::load_buffer(&bytes, &Device::Cpu).map_err(|e| bad(e.to_string()))?.into_iter().collect();
        if checkpoint_digest(&tensors)? != want {
            return Err(bad("its tensors do not match their sha256 (corrupted on disk?)".into()));
        }
        let tensors = tensors.into_iter().map(|(k, t)| Ok((k, t.to_device(device)?))).collect::<Result<_>>()?;
        Ok(Checkpoint { tensors, meta })
        // END SOLUTION
    }
}

/// ## train
/// The loop. Trains `model` on the token ids `data` for `cfg.max_steps` optimiser steps,
/// writing into `run_dir` (created if missing):
/// - `metrics.jsonl`: one `Record` per step (`MetricsLog`);
/// - `checkpoint.safetensors`: after every `cfg.checkpoint_every` steps and after the last
///   (`Checkpoint::save`): the model's variables under `model.<name>`, the optimiser's state
///   under `opt.<key>`, and metadata `step` (steps done), `epoch` and `batch` (the loader's
///   position for the next step) and `rng` (the dropout RNG: `get_seed` as hex, `get_stream`
///   and `get_word_pos`, e.g. joined with `:`).
///
/// When `run_dir` already holds a checkpoint, `train` resumes from it: it sets the variables,
/// the optimiser state, the step, the loader position and the RNG, drops the metrics lines
/// of steps at or after the resumed step (the killed run wrote them, the resumed run will
/// again), and continues. A run killed at any moment and resumed must end with exactly the
/// bits of a run never interrupted.
///
/// One step `s`: `lr = lr_at(s)`; `cfg.accumulate` micro-batches of `cfg.batch_size` windows
/// of `cfg.model.block_size` from a `Loader` (seed `cfg.seed`) run in a `Prefetch` thread
/// (depth 2); `accumulate` in training mode with the RNG (`ChaCha8Rng::seed_from_u64(cfg.seed)`
/// at the start); `clip_grad_norm` at `cfg.grad_clip`; `AdamW` (`cfg.weight_decay`, β2
/// `cfg.beta2`) steps; then `candlecamp::progress(s, cfg.max_steps, loss)`, which the grader
/// shows live (the step, the loss, the time left).
/// Returns the losses of the steps this call ran.
// HINT: Resuming exactly means restoring everything a step depends on: the weights, the optimiser's averages and step count, the step number, the data position and the dropout RNG's exact state. The data position to save is that of the last batch a step consumed, not where the prefetching loader has run ahead to.
// HINT: Set up: create run_dir; a MetricsLog; AdamW with opt.beta2 = cfg.beta2; the RNG from cfg.seed. If checkpoint.safetensors exists: load it, set each variable from model.<name>, load_state from the opt.* tensors with the prefix stripped, read step, epoch, batch and rng from the metadata, and rewrite metrics.jsonl keeping only the records with step < the resumed step (with no checkpoint, remove an old metrics file). Then a Loader at that position inside Prefetch::new(2, …); for s in step..max_steps: lr_at, cfg.accumulate batches as (x, y) tensors [batch_size, block_size], accumulate, clip_grad_norm, the per-variable norms, opt.step, append the Record, candlecamp::progress(s, cfg.max_steps, loss); save a checkpoint when s + 1 is a multiple of checkpoint_every or the last step.
// HINT: For each batch the step takes, pos = batch.next, and save that pos as epoch and batch. The RNG round-trips as format!("{seed_hex}:{}:{}", rng.get_stream(), rng.get_word_pos()) and back through ChaCha8Rng::from_seed(seed), set_stream and set_word_pos.
pub fn train(cfg: &Config, model: &dyn Model, data: &[u32], run_dir: &Path) -> Result<Vec<f32>> {
    // BEGIN SOLUTION
    std::fs::create_dir_all(run_dir)?;
    let ckpt_path = run_dir.join("checkpoint.safetensors");
    let log = MetricsLog { path: run_dir.join("metrics.jsonl") };
    let vars = model.vars();
    let dev = vars.first().map(|(_, v)| v.device().clone()).unwrap_or(Device::Cpu);
    let mut opt = AdamW::new(vars.clone(), cfg.weight_decay)?;
    opt.beta2 = cfg.beta2;
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let (mut step, mut pos) = (0usize, Position::default());
    if ckpt_path.exists() {
        let c = Checkpoint::load(&ckpt_path, &dev)?;
        for (name, var) in &vars {
            let t = c.tensors.get(&format!("model.{name}")).ok_or_else(|| candle_core::Error::Msg(format!("checkpoint has no model.{name}")))?;
            var.set(t)?;
        }
        let opt_state = c.tensors.iter().filter_map(|(k, t)| k.strip_prefix("opt.").map(|k| (k.to_string(), t.clone()))).collect();
        opt.load_state(&opt_state)?;
        let num = |k: &str| -> Result<u64> {
            c.meta.get(k).and_then(|v| v.parse().ok()).ok_or_else(|| candle_core::Error::Msg(format!("checkpoint metadata has no number {k}")))
        };
        step = num("step")? as usize;
        pos = Position { epoch: num("epoch")?, batch: num("batch")? as usize };
        let r = c.meta.get("rng").ok_or_else(|| candle_core::Error::Msg("checkpoint metadata has no rng".into()))?;
        rng = parse_rng(r).ok_or_else(|| candle_core::Error::Msg(format!("unreadable rng state {r:?}")))?;
        if log.path.exists() {
            let keep: Vec<Record> = MetricsLog::read(&log.path)?.into_iter().filter(|r| r.step < step).collect();
            std::fs::remove_file(&log.path)?;
            for r in &keep {
                log.append(r)?;
            }
        }
    } else if log.path.exists() {
        std::fs::remove_file(&log.path)?;
    }
    let mut loader = Loader::new(data.to_vec(), cfg.model.block_size, cfg.batch_size, cfg.seed, pos);
    let mut batches = Prefetch::new(2, move || Some(loader.next_batch()));
    let (b, t) = (cfg.batch_size, cfg.model.block_size);
    let mut losses = Vec::new();
    for s in step..cfg.max_steps {
        let start = std::time::Instant::now();
        let lr = lr_at(s, cfg);
        let mut micro = Vec::with_capacity(cfg.accumulate);
        for _ in 0..cfg.accumulate {
            let batch = batches.next().ok_or_else(|| candle_core::Error::Msg("the data loader stopped".into()))?;
            pos = batch.next;
            micro.push((Tensor::from_vec(batch.x, (b, t), &dev)?, Tensor::from_vec(batch.y, (b, t), &dev)?));
        }
        let (loss, grads) = accumulate(model, &micro, true, &mut rng)?;
        let mut layer_grad_norms = BTreeMap::new();
        for ((name, _), g) in vars.iter().zip(&grads) {
            layer_grad_norms.insert(name.clone(), g.to_dtype(DType::F64)?.sqr()?.sum_all()?.sqrt()?.to_scalar::<f64>()?);
        }
        let (grads, norm) = clip_grad_norm(&grads, cfg.grad_clip)?;
        opt.step(&grads, lr)?;
        let tokens = (b * t * cfg.accumulate) as f64;
        log.append(&Record { step: s, loss: loss as f64, lr, grad_norm: norm, tokens_per_s: tokens / start.elapsed().as_secs_f64(), layer_grad_norms })?;
        losses.push(loss);
        candlecamp::progress(s, cfg.max_steps, loss);
        let done = s + 1;
        if done % cfg.checkpoint_every.max(1) == 0 || done == cfg.max_steps {
            let mut c = Checkpoint::default();
            for (name, var) in &vars {
                c.tensors.insert(format!("model.{name}"), var.as_tensor().clone());
            }
            for (k, v) in opt.state()? {
                c.tensors.insert(format!("opt.{k}"), v);
            }
            c.meta.insert("step".into(), done.to_string());
            c.meta.insert("epoch".into(), pos.epoch.to_string());
            c.meta.insert("batch".into(), pos.batch.to_string());
            c.meta.insert("rng".into(), format_rng(&rng));
            c.save(&ckpt_path)?;
        }
    }
    Ok(losses)
    // END SOLUTION
}

// BEGIN SOLUTION ONLY
fn format_rng(rng: &ChaCha8Rng) -> String {
    let seed: String = rng.get_seed().iter().map(|b| format!("{b:02x}")).collect();
    format!("{seed}:{}:{}", rng.get_stream(), rng.get_word_pos())
}

fn parse_rng(s: &str) -> Option<ChaCha8Rng> {
    let mut parts = s.split(':');
    let hex = parts.next()?;
    let mut seed = [0u8; 32];
    for (i, b) in seed.iter_mut().enumerate() {
        *b = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    let mut rng = ChaCha8Rng::from_seed(seed);
    rng.set_stream(parts.next()?.parse().ok()?);
    rng.set_word_pos(parts.next()?.parse().ok()?);
    Some(rng)
}
// END SOLUTION
