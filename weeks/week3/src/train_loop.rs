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
#![allow(unused_variables, unused_imports, unused_mut, dead_code)] // remove once you have solved a few

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
pub fn parse_config(text: &str, overrides: &[&str]) -> std::result::Result<Config, String> {
    todo!()
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
pub struct Loader {}

impl Loader {
    pub fn new(data: Vec<u32>, block: usize, batch: usize, seed: u64, start: Position) -> Loader {
        todo!()
    }

    /// The position of the batch `next_batch` returns next.
    pub fn position(&self) -> Position {
        todo!()
    }

    pub fn next_batch(&mut self) -> Batch {
        todo!()
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
}

impl<T: Send + 'static> Prefetch<T> {
    pub fn new(depth: usize, mut produce: impl FnMut() -> Option<T> + Send + 'static) -> Prefetch<T> {
        todo!()
    }
}

/// `next` returns the items in order, then `None` once the producer has finished.
impl<T> Iterator for Prefetch<T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        todo!()
    }
}

impl<T> Drop for Prefetch<T> {
    fn drop(&mut self) {
        todo!()
    }
}

/// ## dropout
/// Inverted dropout in training mode: each element of `x` is zeroed with probability `p` and
/// the survivors are scaled by `1/(1 − p)`, so the expected value of every element is
/// unchanged (and evaluation needs no rescaling: the model simply skips dropout there). The
/// mask draws one `rng.random::<f32>()` per element in row-major order and keeps the element
/// when the draw is `≥ p` (drawing from the train loop's RNG is what lets a resumed run draw
/// the same masks). `0 ≤ p < 1`; differentiable with respect to `x`.
pub fn dropout(x: &Tensor, p: f64, rng: &mut ChaCha8Rng) -> Result<Tensor> {
    todo!()
}

/// ## lr_at
/// The learning rate of step `step` (counting from 0), nanoGPT's schedule: a linear warmup
/// `lr · (step + 1) / (warmup_steps + 1)` for `step < warmup_steps`, then a cosine from `lr`
/// down to `min_lr` over the steps up to `max_steps`:
/// `min_lr + ½ (1 + cos(π · r)) · (lr − min_lr)` with `r = (step − warmup) / (max_steps −
/// warmup)`, and `min_lr` for every step beyond `max_steps`.
pub fn lr_at(step: usize, cfg: &Config) -> f64 {
    todo!()
}

/// ## clip_grad_norm
/// Global-norm gradient clipping as `torch.nn.utils.clip_grad_norm_` does it: the total norm
/// is `sqrt(Σ over every tensor of Σ g²)`; when it exceeds `max_norm` every gradient is
/// multiplied by `max_norm / (total + 1e-6)` (all by the same factor, so the direction of the
/// update is kept), otherwise they are returned unchanged. Returns the clipped gradients and
/// the total norm *before* clipping (the number worth logging).
pub fn clip_grad_norm(grads: &[Tensor], max_norm: f64) -> Result<(Vec<Tensor>, f64)> {
    todo!()
}

/// ## accumulate
/// Gradient accumulation: the gradients of one big batch computed in `k = micro.len()`
/// micro-batches of equal size, for when the big batch does not fit in memory. Each
/// micro-batch `(x, y)` contributes `model.loss(x, y, train, rng) / k` and its gradients;
/// summed over the micro-batches they equal the gradients of the mean loss over the big
/// batch. Returns that mean loss and the gradients in the order of `model.vars()` (a variable
/// the loss does not reach gets zeros).
pub fn accumulate(model: &dyn Model, micro: &[(Tensor, Tensor)], train: bool, rng: &mut ChaCha8Rng) -> Result<(f32, Vec<Tensor>)> {
    todo!()
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
}

impl AdamW {
    pub fn new(vars: Vec<(String, Var)>, weight_decay: f64) -> Result<AdamW> {
        todo!()
    }

    /// Whether the variable decays (rank ≥ 2).
    pub fn decays(var: &Var) -> bool {
        todo!()
    }

    pub fn step(&mut self, grads: &[Tensor], lr: f64) -> Result<()> {
        todo!()
    }

    pub fn state(&self) -> Result<BTreeMap<String, Tensor>> {
        todo!()
    }

    pub fn load_state(&mut self, state: &BTreeMap<String, Tensor>) -> Result<()> {
        todo!()
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
    pub fn append(&self, record: &Record) -> Result<()> {
        todo!()
    }

    pub fn read(path: &Path) -> Result<Vec<Record>> {
        todo!()
    }
}

/// The `"sha256"` entry of a checkpoint's metadata: the hex SHA-256 of every tensor's name and
/// raw bytes (`safetensors::View::data`, little-endian as stored), in name order.
pub fn checkpoint_digest(tensors: &BTreeMap<String, Tensor>) -> Result<String> {
    todo!()
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
    pub fn save(&self, path: &Path) -> Result<()> {
        todo!()
    }

    pub fn load(path: &Path, device: &Device) -> Result<Checkpoint> {
        todo!()
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
pub fn train(cfg: &Config, model: &dyn Model, data: &[u32], run_dir: &Path) -> Result<Vec<f32>> {
    todo!()
}
