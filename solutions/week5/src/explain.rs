//! # Transformer explainability: attention rollout and gradient-weighted relevance
//!
//! Attention patterns say where each position reads from, one layer at a time. To explain one
//! output in terms of the input tokens, the layers' patterns must be combined. *Attention
//! rollout* (Abnar & Zuidema 2020) multiplies them, each averaged over heads and mixed half
//! and half with the identity (the residual connection): `Â = ½ mean_h A + ½ I`, rollout
//! `= Â_{L−1} ⋯ Â₀`. Rollout ignores what the heads write and whether it matters for the
//! output. Chefer, Gur & Wolf (2021, "Generic attention-model explainability") weight each
//! head's pattern by the gradient of the output with respect to it and keep only positive
//! contributions: `Ā = mean_h (∇A ⊙ A)⁺`, then `R ← R + Ā R` layer by layer from `R = I`.
//!
//! A relevance map is only as good as what it predicts. The *deletion test* removes tokens in
//! order of relevance and watches the score fall: a faithful map makes it fall faster than a
//! random order does.
//!
//! The model is the attention-only transformer of the hooks day (your `AttnOnly::run` and
//! `Hooks`), on repeated sequences; the output explained is the logit of the token it should
//! predict at position 23.
// STUB: #![allow(unused_variables, unused_imports, unused_mut, dead_code)] // remove once you have solved a few

use super::hooks::{AttnOnly, Hooks, LAYERS};
use candle_core::{Result, Tensor, Var, D};
use std::cell::RefCell;
use std::collections::BTreeMap;

/// A score of a run's logits: one number per sequence, `[b]`.
pub type Score<'a> = &'a dyn Fn(&Tensor) -> Result<Tensor>;

/// ## attention_rollout
/// The rollout `[b, t, t]` of per-layer patterns `[b, heads, t, t]` (layer 0 first): `Â =
/// ½ mean over heads + ½ I` per layer, multiplied with later layers on the left. Row `i` says
/// how much of position `i`'s final state traces back to each input position.
// HINT: Average each layer's pattern over its heads, mix it half and half with the identity to account for the residual connection, and multiply the layers together with the later layer on the left, starting from the identity.
// HINT: eye = Tensor::eye(t, dtype, device); r = eye broadcast to [b, t, t] (contiguous); for each layer's pattern a [b, heads, t, t], in order: Â = 0.5 · a.mean(1) + 0.5 · eye (broadcast_add), then r = Â · r (matmul).
// HINT: let hat = ((a.mean(1)? * 0.5)?.broadcast_add(&(&eye * 0.5)?))?; r = hat.matmul(&r)?;
pub fn attention_rollout(patterns: &[Tensor]) -> Result<Tensor> {
    // BEGIN SOLUTION
    let (b, _, t, _) = patterns[0].dims4()?;
    let eye = Tensor::eye(t, patterns[0].dtype(), patterns[0].device())?;
    let mut r = eye.broadcast_as((b, t, t))?.contiguous()?;
    for a in patterns {
        let hat = ((a.mean(1)? * 0.5)?.broadcast_add(&(&eye * 0.5)?))?;
        r = hat.matmul(&r)?;
    }
    Ok(r)
    // END SOLUTION
}

/// ## pattern_gradients
/// Run `model` on `tokens` and return, for each layer, its attention pattern and the gradient
/// of `score(logits)` summed over the batch with respect to that pattern (both `[b, heads, t,
/// t]`). The pattern is computed from weights that are not variables, so nothing would track
/// its gradient: use an edit on `blocks.<l>.attn.pattern` that swaps the pattern for a fresh
/// `Var` holding the same values (and keeps the Var where you can find it after the run).
// HINT: A gradient can be read only for a variable, and the pattern is computed from plain weights: at its hook, swap it for a fresh variable holding the same values, remember each one, and after one backward pass read the gradient of each.
// HINT: A RefCell<BTreeMap<usize, Var>> shared by the edits; for each layer l an edit on blocks.{l}.attn.pattern that makes Var::from_tensor(a), stores it under l and returns its tensor; run the model, drop the hooks (they borrow the map), backward on score(&logits).sum_all(), and return per layer (the Var's tensor detached, grads.get of it).
// HINT: let vars = &vars; hooks = hooks.edit(&format!("blocks.{l}.attn.pattern"), move |a: &Tensor| { let v = Var::from_tensor(a)?; let t = v.as_tensor().clone(); vars.borrow_mut().insert(l, v); Ok(t) });
pub fn pattern_gradients(model: &AttnOnly, tokens: &Tensor, score: Score) -> Result<Vec<(Tensor, Tensor)>> {
    // BEGIN SOLUTION
    let vars: RefCell<BTreeMap<usize, Var>> = RefCell::new(BTreeMap::new());
    let mut hooks = Hooks::none();
    for l in 0..LAYERS {
        let vars = &vars;
        hooks = hooks.edit(&format!("blocks.{l}.attn.pattern"), move |a: &Tensor| {
            let v = Var::from_tensor(a)?;
            let t = v.as_tensor().clone();
            vars.borrow_mut().insert(l, v);
            Ok(t)
        });
    }
    let logits = model.run(tokens, &mut hooks)?;
    drop(hooks);
    let grads = score(&logits)?.sum_all()?.backward()?;
    let vars = vars.into_inner();
    (0..LAYERS)
        .map(|l| {
            let v = vars.get(&l).ok_or_else(|| candle_core::Error::Msg(format!("layer {l}'s pattern never reached its hook")))?;
            let g = grads.get(v.as_tensor()).cloned().ok_or_else(|| candle_core::Error::Msg(format!("no gradient reached layer {l}'s pattern")))?;
            Ok((v.as_tensor().detach(), g))
        })
        .collect()
    // END SOLUTION
}

/// ## chefer_relevance
/// Chefer et al.'s relevance `[b, t, t]` from each layer's (pattern, gradient), layer 0
/// first: `R = I`; per layer `Ā = mean over heads of max(∇A ⊙ A, 0)` and `R ← R + Ā R`.
// HINT: Weight each head's attention by its gradient, keep only the positive part, average over the heads, and accumulate layer by layer: relevance starts as the identity, and each layer adds its own mixing applied to what came before.
// HINT: r = the identity broadcast to [b, t, t]; for each (a, g) in layer order: Ā = relu(g ⊙ a) averaged over dimension 1 (the heads) → [b, t, t]; r = r + Ā · r (matmul).
// HINT: let abar = (g * a)?.relu()?.mean(1)?; r = (&r + abar.matmul(&r)?)?;
pub fn chefer_relevance(layers: &[(Tensor, Tensor)]) -> Result<Tensor> {
    // BEGIN SOLUTION
    let (b, _, t, _) = layers[0].0.dims4()?;
    let eye = Tensor::eye(t, layers[0].0.dtype(), layers[0].0.device())?;
    let mut r = eye.broadcast_as((b, t, t))?.contiguous()?;
    for (a, g) in layers {
        let abar = (g * a)?.relu()?.mean(1)?;
        r = (&r + abar.matmul(&r)?)?;
    }
    Ok(r)
    // END SOLUTION
}

/// ## deletion_curve
/// The deletion test: `score` of the run `[b, t + 1]` after removing the first `k` positions
/// of each sequence's `order` (`order[i]` lists sequence `i`'s positions), for `k = 0..=t`.
/// "Removing" a position sets its token embedding to zero with an edit on `embed`; its
/// position embedding stays.
// HINT: Remove tokens by zeroing their embeddings through an edit on the token embeddings (their positions stay), with one full run per number of removed tokens, from none to all, each sequence following its own order.
// HINT: For k in 0..=t: a keep mask of b·t ones with 0 at order[i][..k] for each sequence i, as a [b, t, 1] tensor; run with Hooks::none().edit("embed", move |e| e.broadcast_mul(&mask)); the score ([b]) is column k; stack the t + 1 columns along the last dimension → [b, t + 1].
// HINT: let mut hooks = Hooks::none().edit("embed", move |e: &Tensor| e.broadcast_mul(&mask)); cols.push(score(&model.run(tokens, &mut hooks)?)?); … Tensor::stack(&cols, D::Minus1)
pub fn deletion_curve(model: &AttnOnly, tokens: &Tensor, order: &[Vec<usize>], score: Score) -> Result<Tensor> {
    // BEGIN SOLUTION
    let (b, t) = tokens.dims2()?;
    let mut cols = Vec::with_capacity(t + 1);
    for k in 0..=t {
        let mut keep = vec![1f32; b * t];
        for (i, o) in order.iter().enumerate() {
            for &p in &o[..k] {
                keep[i * t + p] = 0.0;
            }
        }
        let mask = Tensor::from_vec(keep, (b, t, 1), tokens.device())?;
        let mut hooks = Hooks::none().edit("embed", move |e: &Tensor| e.broadcast_mul(&mask));
        cols.push(score(&model.run(tokens, &mut hooks)?)?);
    }
    Tensor::stack(&cols, D::Minus1)
    // END SOLUTION
}
