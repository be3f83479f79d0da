//! # Steering: reading and writing a direction
//!
//! If a model represents a concept as a direction in its residual stream, you can *read* the
//! direction from contrasting examples and *write* it back to change what the model does. This
//! is representation engineering (Zou et al. 2023), and activation steering (Turner et al.
//! 2023). Two readings of a direction from `n` pairs of activations (one with the concept, one
//! without):
//!
//! - the *difference of means*, `mean(pos) − mean(neg)`;
//! - the *PCA reading vector*, the first principal component of the paired differences
//!   `posᵢ − negᵢ` (after centring them), which finds the axis along which the pairs differ
//!   most.
//!
//! Adding `α · v` to the residual stream at every position steers the model; projecting `v` out
//! (`x − (x · v̂) v̂`) tests whether the model *needs* the direction.
//!
//! The model is a names language model with the hooks day's architecture (your `AttnOnly::run`
//! and `Hooks`), trained by `fixtures/gen/week5_names_lm.py`; tokens are `.` = 0 (start and
//! end) and `a`..`z` = 1..26. The concept: *the name ends here*. Positive examples are the
//! activations at a name's last letter (the model's next token should be `.`), negative ones
//! those at an earlier letter of the same name.
#![allow(unused_variables, unused_imports, unused_mut, dead_code)] // remove once you have solved a few

use super::hooks::{AttnOnly, Hooks};
use candle_core::{Result, Tensor, D};

/// ## gather_activations
/// The activations `[n, 64]` at hook point `point` of a recording run on `tokens` `[b, t]`,
/// at the `(sequence, position)` pairs of `at`, in their order.
pub fn gather_activations(model: &AttnOnly, tokens: &Tensor, point: &str, at: &[(usize, usize)]) -> Result<Tensor> {
    todo!()
}

/// ## reading_vectors
/// The difference of means `[d]` of `pos` and `neg` (`[n, d]` each, row `i` of both a pair),
/// and the PCA reading vector `[d]`: the unit-length first principal component of the centred
/// differences `posᵢ − negᵢ`, signed to agree with the difference of means (positive dot
/// product). Find the component by power iteration on `Xᵀ X` (`X` the centred differences):
/// start from the difference of means, normalise after each multiplication, and iterate 500
/// times. (Started there, it already agrees in sign: `dᵀ (XᵀX)ᵏ d ≥ 0`.)
pub fn reading_vectors(pos: &Tensor, neg: &Tensor) -> Result<(Tensor, Tensor)> {
    todo!()
}

/// ## steer
/// The logits of `tokens` with `alpha · v` added to the activation at `point` at every
/// position (`v` `[64]`).
pub fn steer(model: &AttnOnly, tokens: &Tensor, point: &str, v: &Tensor, alpha: f64) -> Result<Tensor> {
    todo!()
}

/// ## project_out
/// The logits of `tokens` with the direction of `v` removed from the activation at `point` at
/// every position: `x − (x · v̂) v̂`, `v̂ = v / ‖v‖`.
pub fn project_out(model: &AttnOnly, tokens: &Tensor, point: &str, v: &Tensor) -> Result<Tensor> {
    todo!()
}
