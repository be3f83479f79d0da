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
// STUB: #![allow(unused_variables, unused_imports, unused_mut, dead_code)] // remove once you have solved a few

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
    // HINT: Every activation in the table must pass through its hook point before it is used, and the forward pass must continue with what the hook returns, not with the original: that is what lets an edit change everything downstream.
    // HINT: embed = the rows of W_E for the tokens (index_select), reshaped to [b, t, 64]; pos = W_pos.narrow(0, 0, t); resid = embed + pos. Per layer: the resid_pre point; r = resid.unsqueeze(1) is [b, 1, t, 64], and broadcast_matmul with W_Q [4, 64, 16] gives q [b, 4, t, 16] for all heads at once (k, v likewise); scores = q·kᵀ / 4 plus the causal mask (0, and −∞ above the diagonal) broadcast-added; pattern = candle_nn::ops::softmax over the last dimension, through its point; head_out = (pattern·v).broadcast_matmul(W_O) [b, 4, t, 64], through its point; resid += head_out.sum(1). Then resid_final through its point, and broadcast_matmul with W_U.
    // HINT: let pattern = hooks.point(&format!("blocks.{l}.attn.pattern"), candle_nn::ops::softmax(&scores, D::Minus1)?)?; let out = hooks.point(&format!("blocks.{l}.attn.head_out"), pattern.matmul(&v)?.broadcast_matmul(self.w(&format!("blocks.{l}.W_O"))?)?)?; resid = (resid + out.sum(1)?)?;
    pub fn run(&self, tokens: &Tensor, hooks: &mut Hooks) -> Result<Tensor> {
        // BEGIN SOLUTION
        let (b, t) = tokens.dims2()?;
        let embed = hooks.point("embed", self.w("W_E")?.index_select(&tokens.flatten_all()?, 0)?.reshape((b, t, 64))?)?;
        let pos = hooks.point("pos", self.w("W_pos")?.narrow(0, 0, t)?)?;
        let mut resid = embed.broadcast_add(&pos)?;
        let mask: Vec<f32> = (0..t * t).map(|i| if i % t > i / t { f32::NEG_INFINITY } else { 0.0 }).collect();
        let mask = Tensor::from_vec(mask, (t, t), tokens.device())?;
        for l in 0..LAYERS {
            resid = hooks.point(&format!("blocks.{l}.resid_pre"), resid)?;
            let r = resid.unsqueeze(1)?;
            let q = r.broadcast_matmul(self.w(&format!("blocks.{l}.W_Q"))?)?;
            let k = r.broadcast_matmul(self.w(&format!("blocks.{l}.W_K"))?)?;
            let v = r.broadcast_matmul(self.w(&format!("blocks.{l}.W_V"))?)?;
            let scores = (q.matmul(&k.transpose(2, 3)?)? / (D_HEAD as f64).sqrt())?.broadcast_add(&mask)?;
            let pattern = hooks.point(&format!("blocks.{l}.attn.pattern"), candle_nn::ops::softmax(&scores, D::Minus1)?)?;
            let out = pattern.matmul(&v)?.broadcast_matmul(self.w(&format!("blocks.{l}.W_O"))?)?;
            let out = hooks.point(&format!("blocks.{l}.attn.head_out"), out)?;
            resid = (resid + out.sum(1)?)?;
        }
        let resid = hooks.point("resid_final", resid)?;
        resid.broadcast_matmul(self.w("W_U")?)
        // END SOLUTION
    }
}

/// ## direct_logit_attribution
/// With no layer norm, the final residual stream is exactly the sum of its components: the
/// token embedding, the position embedding and the 8 heads' outputs. So the logit of token `v`
/// at position `p` is the sum of each component at `p` dotted with column `v` of `W_U`. Return
/// each component's share of the logit of the *actual next token* (`tokens[:, p + 1]`) at
/// positions `p = 0..t−1`: `[b, 2 + 8, t − 1]`, components in the order embed, pos, then the
/// heads layer by layer (`0.0, 0.1, …, 1.3`). `cache` is a recording run's.
// HINT: Without layer norms the unembedding is linear, so each component's share of a logit is its own dot product with that token's unembedding column; you need the column of the actual next token at each position, and the last position has no next token.
// HINT: The directions: W_U transposed (contiguous), index_select with tokens[:, 1..] flattened, reshaped to [b, t − 1, 64]. The components [b, t, 64]: embed, pos broadcast to [b, t, 64], then for each layer and head head_out.narrow(1, h, 1).squeeze(1). For each: narrow(1, 0, t − 1), multiply by the directions, sum over the last dimension → [b, t − 1]. Stack the 10 along dimension 1.
// HINT: let dirs = model.w("W_U")?.t()?.contiguous()?.index_select(&next, 0)?.reshape((b, t - 1, 64))?; let parts = comps.iter().map(|c| (c.narrow(1, 0, t - 1)? * &dirs)?.sum(D::Minus1)).collect::<Result<Vec<_>>>()?;
pub fn direct_logit_attribution(model: &AttnOnly, cache: &BTreeMap<String, Tensor>, tokens: &Tensor) -> Result<Tensor> {
    // BEGIN SOLUTION
    let get = |n: &str| cache.get(n).ok_or_else(|| candle_core::Error::Msg(format!("the cache has no {n}")));
    let (b, t) = tokens.dims2()?;
    let next = tokens.narrow(1, 1, t - 1)?.flatten_all()?;
    let dirs = model.w("W_U")?.t()?.contiguous()?.index_select(&next, 0)?.reshape((b, t - 1, 64))?;
    let mut comps = vec![get("embed")?.clone(), get("pos")?.broadcast_as((b, t, 64))?];
    for l in 0..LAYERS {
        let out = get(&format!("blocks.{l}.attn.head_out"))?;
        for h in 0..HEADS {
            comps.push(out.narrow(1, h, 1)?.squeeze(1)?);
        }
    }
    let parts = comps.iter().map(|c| (c.narrow(1, 0, t - 1)? * &dirs)?.sum(D::Minus1)).collect::<Result<Vec<_>>>()?;
    Tensor::stack(&parts, 1)
    // END SOLUTION
}

/// ## head_scores
/// Two scores per head, `[2, 4]` each, from a recording run's attention patterns on sequences
/// of BOS + `half` random tokens + the same `half` again (length `2·half + 1`):
/// - previous-token score: the mean attention from position `i` to `i − 1`, over `i = 1..t`
///   and the batch;
/// - induction score: the mean attention from position `i` to `i − half + 1` (the token after
///   the first occurrence of the current token), over `i = half + 1..t` and the batch.
// HINT: Both scores are averages of single entries of each head's pattern: for the previous-token score the entry one position back, for the induction score the entry just after the current token's earlier occurrence (half − 1 positions back), over the stated queries and the batch.
// HINT: For each layer, the pattern p [b, 4, t, t] from the cache; for a list of (query i, key j) pairs, pick p.narrow(2, i, 1).narrow(3, j, 1) flattened to [b, 4], stack them, and mean over the pairs and the batch → [4]. Previous-token pairs: (i, i − 1) for i in 1..t; induction pairs: (i, i + 1 − half) for i in half + 1..t. Stack the two layers → [2, 4] each.
// HINT: let picked = pairs.iter().map(|&(i, j)| p.narrow(2, i, 1)?.narrow(3, j, 1)?.flatten_from(1)).collect::<Result<Vec<_>>>()?; Tensor::stack(&picked, 0)?.mean(0)?.mean(0)
pub fn head_scores(cache: &BTreeMap<String, Tensor>, half: usize) -> Result<(Tensor, Tensor)> {
    // BEGIN SOLUTION
    let (mut prev, mut ind) = (Vec::new(), Vec::new());
    for l in 0..LAYERS {
        let p = cache.get(&format!("blocks.{l}.attn.pattern")).ok_or_else(|| candle_core::Error::Msg("the cache has no pattern".into()))?;
        let t = p.dim(2)?;
        let mean_at = |pairs: Vec<(usize, usize)>| -> Result<Tensor> {
            let picked = pairs.iter().map(|&(i, j)| p.narrow(2, i, 1)?.narrow(3, j, 1)?.flatten_from(1)).collect::<Result<Vec<_>>>()?;
            Tensor::stack(&picked, 0)?.mean(0)?.mean(0)
        };
        prev.push(mean_at((1..t).map(|i| (i, i - 1)).collect())?);
        ind.push(mean_at((half + 1..t).map(|i| (i, i + 1 - half)).collect())?);
    }
    Ok((Tensor::stack(&prev, 0)?, Tensor::stack(&ind, 0)?))
    // END SOLUTION
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
// HINT: Patch one activation at one position at a time into the corrupted run, from a single recording of the clean run; normalise by the gap between the clean and the corrupted metric, so that 1 means fully restored and 0 means no effect.
// HINT: Record the clean run (Hooks::recording) for m_clean; run corrupt with no hooks for m_corrupt; for each name of STREAM and each position p, an edit on that name replaces position p of the activation (the whole batch) by the clean one; run corrupt with it and store (m − m_corrupt) / (m_clean − m_corrupt). Tensor::new of the rows → [3, t].
// HINT: let edit = move |x: &Tensor| Tensor::cat(&[x.narrow(1, 0, p)?, act.narrow(1, p, 1)?, x.narrow(1, p + 1, t - p - 1)?], 1); (at p = 0 or p = t − 1 one piece has length 0, which narrow allows)
pub fn patch_residual(model: &AttnOnly, clean: &Tensor, corrupt: &Tensor, metric: Metric) -> Result<Tensor> {
    // BEGIN SOLUTION
    let mut rec = Hooks::recording();
    let m_clean = metric(&model.run(clean, &mut rec)?)?;
    let m_corrupt = metric(&model.run(corrupt, &mut Hooks::none())?)?;
    let t = clean.dim(1)?;
    let mut rows = Vec::new();
    for name in STREAM {
        let act = rec.cache.get(name).ok_or_else(|| candle_core::Error::Msg(format!("no {name} recorded")))?;
        let mut row = Vec::with_capacity(t);
        for p in 0..t {
            let edit = move |x: &Tensor| Tensor::cat(&[x.narrow(1, 0, p)?, act.narrow(1, p, 1)?, x.narrow(1, p + 1, t - p - 1)?], 1);
            let mut hooks = Hooks::none().edit(name, edit);
            let m = metric(&model.run(corrupt, &mut hooks)?)?;
            row.push(((m - m_corrupt) / (m_clean - m_corrupt)) as f32);
        }
        rows.push(row);
    }
    Tensor::new(rows, clean.device())
    // END SOLUTION
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
// HINT: The direct effect removes only what the head writes straight into the final stream, recomputing nothing; the total effect zeroes the head during the run so that later layers see it missing. Both are measured against the clean metric of one recording run.
// HINT: Record a clean run: base = metric(logits), and the cache's resid_final and blocks.{l}.attn.head_out. Direct: (resid_final − head_out.narrow(1, h, 1).squeeze(1)).broadcast_matmul(W_U), its metric minus base. Total: a run with an edit on blocks.{l}.attn.head_out that multiplies by a [1, 4, 1, 1] mask (0 at h, 1 elsewhere), its metric minus base. Two [2, 4] tensors.
// HINT: let without = (fin - out.narrow(1, h, 1)?.squeeze(1)?)?.broadcast_matmul(model.w("W_U")?)?; and for the total: let keep = Tensor::from_vec(mask, (1, HEADS, 1, 1), dev)?; Hooks::none().edit(&name, move |x| x.broadcast_mul(&keep))
pub fn ablation_effects(model: &AttnOnly, tokens: &Tensor, metric: Metric) -> Result<(Tensor, Tensor)> {
    // BEGIN SOLUTION
    let mut rec = Hooks::recording();
    let base = metric(&model.run(tokens, &mut rec)?)?;
    let fin = rec.cache.get("resid_final").ok_or_else(|| candle_core::Error::Msg("no resid_final recorded".into()))?;
    let (mut direct, mut total) = (vec![vec![0f32; HEADS]; LAYERS], vec![vec![0f32; HEADS]; LAYERS]);
    for l in 0..LAYERS {
        let name = format!("blocks.{l}.attn.head_out");
        let out = rec.cache.get(&name).ok_or_else(|| candle_core::Error::Msg(format!("no {name} recorded")))?;
        for h in 0..HEADS {
            let without = (fin - out.narrow(1, h, 1)?.squeeze(1)?)?.broadcast_matmul(model.w("W_U")?)?;
            direct[l][h] = (metric(&without)? - base) as f32;
            let keep: Vec<f32> = (0..HEADS).map(|i| if i == h { 0.0 } else { 1.0 }).collect();
            let keep = Tensor::from_vec(keep, (1, HEADS, 1, 1), tokens.device())?;
            let mut hooks = Hooks::none().edit(&name, move |x| x.broadcast_mul(&keep));
            total[l][h] = (metric(&model.run(tokens, &mut hooks)?)? - base) as f32;
        }
    }
    Ok((Tensor::new(direct, tokens.device())?, Tensor::new(total, tokens.device())?))
    // END SOLUTION
}
