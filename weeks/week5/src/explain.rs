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
#![allow(unused_variables, unused_imports, unused_mut, dead_code)] // remove once you have solved a few

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
pub fn attention_rollout(patterns: &[Tensor]) -> Result<Tensor> {
    todo!()
}

/// ## pattern_gradients
/// Run `model` on `tokens` and return, for each layer, its attention pattern and the gradient
/// of `score(logits)` summed over the batch with respect to that pattern (both `[b, heads, t,
/// t]`). The pattern is computed from weights that are not variables, so nothing would track
/// its gradient: use an edit on `blocks.<l>.attn.pattern` that swaps the pattern for a fresh
/// `Var` holding the same values (and keeps the Var where you can find it after the run).
pub fn pattern_gradients(model: &AttnOnly, tokens: &Tensor, score: Score) -> Result<Vec<(Tensor, Tensor)>> {
    todo!()
}

/// ## chefer_relevance
/// Chefer et al.'s relevance `[b, t, t]` from each layer's (pattern, gradient), layer 0
/// first: `R = I`; per layer `Ā = mean over heads of max(∇A ⊙ A, 0)` and `R ← R + Ā R`.
pub fn chefer_relevance(layers: &[(Tensor, Tensor)]) -> Result<Tensor> {
    todo!()
}

/// ## deletion_curve
/// The deletion test: `score` of the run `[b, t + 1]` after removing the first `k` positions
/// of each sequence's `order` (`order[i]` lists sequence `i`'s positions), for `k = 0..=t`.
/// "Removing" a position sets its token embedding to zero with an edit on `embed`; its
/// position embedding stays.
pub fn deletion_curve(model: &AttnOnly, tokens: &Tensor, order: &[Vec<usize>], score: Score) -> Result<Tensor> {
    todo!()
}
