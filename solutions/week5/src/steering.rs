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
// STUB: #![allow(unused_variables, unused_imports, unused_mut, dead_code)] // remove once you have solved a few

use super::hooks::{AttnOnly, Hooks};
use candle_core::{Result, Tensor, D};

/// ## gather_activations
/// The activations `[n, 64]` at hook point `point` of a recording run on `tokens` `[b, t]`,
/// at the `(sequence, position)` pairs of `at`, in their order.
// HINT: Record one run and pick single rows out of the recorded activation, one per requested sequence and position, keeping the order you were given.
// HINT: Run with Hooks::recording(); act = the cache's entry for point [b, t, 64]; for each (s, p) of at take act.get(s).get(p) ([64]); Tensor::stack them along 0 → [n, 64].
// HINT: let rows = at.iter().map(|&(s, p)| act.get(s)?.get(p)).collect::<Result<Vec<_>>>()?; Tensor::stack(&rows, 0)
pub fn gather_activations(model: &AttnOnly, tokens: &Tensor, point: &str, at: &[(usize, usize)]) -> Result<Tensor> {
    // BEGIN SOLUTION
    let mut hooks = Hooks::recording();
    model.run(tokens, &mut hooks)?;
    let act = hooks.cache.get(point).ok_or_else(|| candle_core::Error::Msg(format!("nothing recorded at {point}")))?;
    let rows = at.iter().map(|&(s, p)| act.get(s)?.get(p)).collect::<Result<Vec<_>>>()?;
    Tensor::stack(&rows, 0)
    // END SOLUTION
}

/// ## reading_vectors
/// The difference of means `[d]` of `pos` and `neg` (`[n, d]` each, row `i` of both a pair),
/// and the PCA reading vector `[d]`: the unit-length first principal component of the centred
/// differences `posᵢ − negᵢ`, signed to agree with the difference of means (positive dot
/// product). Find the component by power iteration on `Xᵀ X` (`X` the centred differences):
/// start from the difference of means, normalise after each multiplication, and iterate 500
/// times. (Started there, it already agrees in sign: `dᵀ (XᵀX)ᵏ d ≥ 0`.)
// HINT: The difference of means is a subtraction of two averages; the PCA direction is what repeated multiplication by the scatter matrix of the centred differences converges to, when you renormalise after every multiplication and start from the difference of means.
// HINT: diff = pos.mean(0) − neg.mean(0); d = pos − neg, centred by subtracting its mean over rows (mean_keepdim(0), broadcast_sub); c = dᵀ·d [d, d]; v = diff as a [d, 1] column; 500 times: w = c·v, v = w / ‖w‖; return (diff, v squeezed).
// HINT: for _ in 0..500 { let w = c.matmul(&v)?; v = w.broadcast_div(&w.sqr()?.sum_all()?.sqrt()?)?; }
pub fn reading_vectors(pos: &Tensor, neg: &Tensor) -> Result<(Tensor, Tensor)> {
    // BEGIN SOLUTION
    let diff = (pos.mean(0)? - neg.mean(0)?)?;
    let d = (pos - neg)?;
    let x = d.broadcast_sub(&d.mean_keepdim(0)?)?;
    let c = x.t()?.matmul(&x)?;
    let mut v = diff.unsqueeze(1)?;
    for _ in 0..500 {
        let w = c.matmul(&v)?;
        v = w.broadcast_div(&w.sqr()?.sum_all()?.sqrt()?)?;
    }
    Ok((diff, v.squeeze(1)?))
    // END SOLUTION
}

/// ## steer
/// The logits of `tokens` with `alpha · v` added to the activation at `point` at every
/// position (`v` `[64]`).
// HINT: Steering is one edit at one hook point that adds the same scaled vector at every position of every sequence.
// HINT: scaled = v · alpha ([64]); hooks = Hooks::none().edit(point, a closure that broadcast_adds scaled); return model.run(tokens, &mut hooks).
// HINT: let scaled = (v * alpha)?; let mut hooks = Hooks::none().edit(point, move |x: &Tensor| x.broadcast_add(&scaled)); model.run(tokens, &mut hooks)
pub fn steer(model: &AttnOnly, tokens: &Tensor, point: &str, v: &Tensor, alpha: f64) -> Result<Tensor> {
    // BEGIN SOLUTION
    let scaled = (v * alpha)?;
    let mut hooks = Hooks::none().edit(point, move |x: &Tensor| x.broadcast_add(&scaled));
    model.run(tokens, &mut hooks)
    // END SOLUTION
}

/// ## project_out
/// The logits of `tokens` with the direction of `v` removed from the activation at `point` at
/// every position: `x − (x · v̂) v̂`, `v̂ = v / ‖v‖`.
// HINT: Normalise the direction first; then at every position subtract the activation's component along it, which is its dot product with the unit vector, times that unit vector.
// HINT: u = v / ‖v‖; an edit at point computing x − (x · u) u, where x · u is x.broadcast_mul(&u).sum_keepdim(D::Minus1) ([b, t, 1]), broadcast-multiplied by u; run the model with it.
// HINT: move |x: &Tensor| x.broadcast_sub(&x.broadcast_mul(&u)?.sum_keepdim(D::Minus1)?.broadcast_mul(&u)?)
pub fn project_out(model: &AttnOnly, tokens: &Tensor, point: &str, v: &Tensor) -> Result<Tensor> {
    // BEGIN SOLUTION
    let u = v.broadcast_div(&v.sqr()?.sum_all()?.sqrt()?)?;
    let mut hooks = Hooks::none().edit(point, move |x: &Tensor| x.broadcast_sub(&x.broadcast_mul(&u)?.sum_keepdim(D::Minus1)?.broadcast_mul(&u)?));
    model.run(tokens, &mut hooks)
    // END SOLUTION
}
