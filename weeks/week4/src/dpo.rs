//! # Direct preference optimisation
//!
//! DPO (Rafailov et al. 2023) trains a policy on pairs "this answer was preferred to that one"
//! without a reward model or RL loop: the KL-regularised RL objective has a closed-form optimum
//! in which the reward is `β · log(π(y | x) / π_ref(y | x))`, and fitting those implicit rewards
//! to the preferences with the Bradley–Terry model is a plain classification loss on
//! log-probabilities.
#![allow(unused_variables, unused_imports, unused_mut)] // remove once you have solved a few

use candle_core::{Result, Tensor, D};
use candle_nn::ops::log_softmax;

/// ## seq_logprob
/// The log-probability a model gives whole sequences: `logits` `[b, T, V]` (position `t`
/// predicts `tokens[:, t]`), `tokens` `[b, T]` (integers), `mask` `[b, T]` (1. for tokens that
/// belong to the answer, 0. for the prompt and padding) → `[b]` with
/// `out[i] = Σ_t mask[i, t] · log_softmax(logits[i, t])[tokens[i, t]]`. Differentiable with
/// respect to `logits`.
pub fn seq_logprob(logits: &Tensor, tokens: &Tensor, mask: &Tensor) -> Result<Tensor> {
    todo!()
}

/// The DPO loss and the implicit rewards of its pairs.
pub struct DpoOutput {
    /// Scalar (rank 0).
    pub loss: Tensor,
    /// `β · (log π(y_w) − log π_ref(y_w))`, `[b]`.
    pub chosen_rewards: Tensor,
    /// `β · (log π(y_l) − log π_ref(y_l))`, `[b]`.
    pub rejected_rewards: Tensor,
}

/// ## dpo_loss
/// The DPO loss of `b` preference pairs from the sequence log-probabilities of the chosen
/// (`y_w`) and rejected (`y_l`) answers under the policy and the frozen reference model, each
/// `[b]`:
/// ```text
/// loss = −mean_i log σ( β·(π_w − ref_w) − β·(π_l − ref_l) )
/// ```
/// Return it with the two implicit rewards (see `DpoOutput`). Differentiable with respect to
/// the policy's log-probabilities (the reference ones are data: detach them). Compute `log σ`
/// stably: `log σ(z) = −softplus(−z) = min(z, 0) − log(1 + exp(−|z|))`.
/// Its gradient pushes `π_w` up and `π_l` down with weight `β · σ(r_l − r_w)`: pairs the model
/// already ranks right barely move.
pub fn dpo_loss(policy_chosen: &Tensor, policy_rejected: &Tensor, ref_chosen: &Tensor, ref_rejected: &Tensor, beta: f64) -> Result<DpoOutput> {
    todo!()
}
