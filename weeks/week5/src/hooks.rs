//! # Hooks, induction heads and activation patching
//!
//! To ask *how* a model computes something you need to read its activations and change them
//! while it runs. A *hook* is a named point in the forward pass where an activation can be
//! recorded (a cache) or replaced (an edit). With hooks you can:
//!
//! - split the logits into the contributions of each head (*direct logit attribution*);
//! - look at attention patterns to find heads with a job: a *previous-token head* attends to the
//!   position before, an *induction head* to the token after the current token's earlier
//!   occurrence, and together they continue a repeated sequence (Olsson et al. 2022);
//! - *patch*: run a corrupted input, paste in one activation from the clean run, and see how
//!   much of the clean behaviour comes back (Meng et al. 2022; Wang et al. 2022);
//! - *ablate* a head (zero its output) and compare its total effect, everything downstream
//!   recomputed, with its direct effect on the logits (McGrath et al. 2023, "the Hydra effect").
//!
//! The model (given weights, trained by `fixtures/gen/week5_hooks.py`) is a 2-layer
//! attention-only transformer, with 4 heads of 16 dimensions per layer, d_model 64, a
//! vocabulary of 64 (token 0 is BOS) and 25 positions, and no layer norms, MLPs or biases. It
//! was trained on repeated random sequences, which only induction can predict.
#![allow(unused_variables, unused_imports, unused_mut, dead_code)] // remove once you have solved a few

use candle_core::{Result, Tensor, D};
use std::collections::BTreeMap;

pub const LAYERS: usize = 2;
pub const HEADS: usize = 4;
pub const D_HEAD: usize = 16;

/// A hook's edit: the activation in, its replacement out.
pub type Edit<'a> = Box<dyn Fn(&Tensor) -> Result<Tensor> + 'a>;

/// Named hook points (given). The forward pass hands each activation to [`Hooks::point`] under
/// its name and continues with what comes back:
///
/// | name | shape | what |
/// |---|---|---|
/// | `embed` | `[b, t, 64]` | `W_E[tokens]` |
/// | `pos` | `[t, 64]` | `W_pos[..t]` |
/// | `blocks.<l>.resid_pre` | `[b, t, 64]` | the residual stream entering layer `l` |
/// | `blocks.<l>.attn.pattern` | `[b, 4, t, t]` | each head's attention (rows: queries) |
/// | `blocks.<l>.attn.head_out` | `[b, 4, t, 64]` | each head's output, after `W_O` |
/// | `resid_final` | `[b, t, 64]` | the residual stream before `W_U` |
#[derive(Default)]
pub struct Hooks<'a> {
    /// Every activation after its edit, by name, when recording.
    pub cache: BTreeMap<String, Tensor>,
    record: bool,
    edits: BTreeMap<String, Edit<'a>>,
}

impl<'a> Hooks<'a> {
    /// No recording, no edits.
    pub fn none() -> Hooks<'a> {
        Hooks::default()
    }

    /// Record every activation into `cache`.
    pub fn recording() -> Hooks<'a> {
        Hooks { record: true, ..Hooks::default() }
    }

    /// Replace the activation called `name` by `f(activation)`.
    pub fn edit(mut self, name: &str, f: impl Fn(&Tensor) -> Result<Tensor> + 'a) -> Hooks<'a> {
        self.edits.insert(name.to_string(), Box::new(f));
        self
    }

    /// The hook point `name`: apply its edit (if any), record the result (if recording), and
    /// return it for the forward pass to continue with.
    pub fn point(&mut self, name: &str, t: Tensor) -> Result<Tensor> {
        let t = match self.edits.get(name) {
            Some(f) => f(&t)?,
            None => t,
        };
        if self.record {
            self.cache.insert(name.to_string(), t.clone());
        }
        Ok(t)
    }
}

/// The attention-only transformer (given weights, by the fixture's names): `W_E` `[64, 64]`,
/// `W_pos` `[25, 64]`, `blocks.<l>.W_Q`, `W_K`, `W_V` `[4, 64, 16]` (one `[64, 16]` map per
/// head), `blocks.<l>.W_O` `[4, 16, 64]`, `W_U` `[64, 64]`.
pub struct AttnOnly {
    pub weights: BTreeMap<String, Tensor>,
}

impl AttnOnly {
    pub fn w(&self, name: &str) -> Result<&Tensor> {
        self.weights.get(name).ok_or_else(|| candle_core::Error::Msg(format!("the model has no {name}")))
    }

    /// ## run_with_hooks
    /// The logits `[b, t, 64]` of tokens `[b, t]` (u32), handing every activation in the table
    /// of [`Hooks`] to `hooks.point` and continuing with what it returns. The residual stream
    /// starts as `embed + pos`; each layer `l` takes `resid_pre`, computes per head `q = resid
    /// W_Q[h]`, `k`, `v` likewise, the causal pattern `softmax(q kᵀ / 4)` (positions after the
    /// query masked with −∞), `z = pattern v` and `head_out = z W_O[h]`, and adds the sum of
    /// the heads' outputs to the stream; the logits are `resid_final W_U`.
    pub fn run(&self, tokens: &Tensor, hooks: &mut Hooks) -> Result<Tensor> {
        todo!()
    }
}

/// ## direct_logit_attribution
/// With no layer norm, the final residual stream is exactly the sum of its components: the
/// token embedding, the position embedding and the 8 heads' outputs. So the logit of token `v`
/// at position `p` is the sum of each component at `p` dotted with column `v` of `W_U`. Return
/// each component's share of the logit of the *actual next token* (`tokens[:, p + 1]`) at
/// positions `p = 0..t−1`: `[b, 2 + 8, t − 1]`, components in the order embed, pos, then the
/// heads layer by layer (`0.0, 0.1, …, 1.3`). `cache` is a recording run's.
pub fn direct_logit_attribution(model: &AttnOnly, cache: &BTreeMap<String, Tensor>, tokens: &Tensor) -> Result<Tensor> {
    todo!()
}

/// ## head_scores
/// Two scores per head, `[2, 4]` each, from a recording run's attention patterns on sequences
/// of BOS + `half` random tokens + the same `half` again (length `2·half + 1`):
/// - previous-token score: the mean attention from position `i` to `i − 1`, over `i = 1..t`
///   and the batch;
/// - induction score: the mean attention from position `i` to `i − half + 1` (the token after
///   the first occurrence of the current token), over `i = half + 1..t` and the batch.
pub fn head_scores(cache: &BTreeMap<String, Tensor>, half: usize) -> Result<(Tensor, Tensor)> {
    todo!()
}

/// A number computed from a run's logits (the checks pass a logit difference or an induction
/// metric).
pub type Metric<'a> = &'a dyn Fn(&Tensor) -> Result<f64>;

/// The residual-stream hook points patching visits, in order.
pub const STREAM: [&str; 3] = ["blocks.0.resid_pre", "blocks.1.resid_pre", "resid_final"];

/// ## patch_residual
/// Activation patching over the residual stream: record the `clean` run; then for each point
/// of [`STREAM`] and each position `p`, run `corrupt` with that point's activation at position
/// `p` (all of the batch) replaced by the clean run's, and report `(metric(patched) −
/// metric(corrupt)) / (metric(clean) − metric(corrupt))`: 1 where that single activation
/// restores the clean behaviour, 0 where it does nothing. `[3, t]`.
pub fn patch_residual(model: &AttnOnly, clean: &Tensor, corrupt: &Tensor, metric: Metric) -> Result<Tensor> {
    todo!()
}

/// ## ablation_effects
/// For every head `(l, h)`, `[2, 4]` each:
/// - its *direct* effect: `metric` of the logits with that head's output removed from the
///   final residual stream only (`(resid_final − head_out[l, h]) W_U`), minus `metric` of the
///   clean logits;
/// - its *total* effect: `metric` of a run whose hook zeroes that head's output (so later
///   layers see the change), minus `metric` of the clean logits.
///
/// Where the two differ, later heads responded to the ablation: they lost an input they
/// needed (composition), or made up for the loss (self-repair, the Hydra effect).
pub fn ablation_effects(model: &AttnOnly, tokens: &Tensor, metric: Metric) -> Result<(Tensor, Tensor)> {
    todo!()
}
