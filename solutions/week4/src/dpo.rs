//! # Direct preference optimisation
//!
//! DPO (Rafailov et al. 2023) trains a policy on pairs "this answer was preferred to that one"
//! without a reward model or RL loop: the KL-regularised RL objective has a closed-form optimum
//! in which the reward is `β · log(π(y | x) / π_ref(y | x))`, and fitting those implicit rewards
//! to the preferences with the Bradley–Terry model is a plain classification loss on
//! log-probabilities.
// STUB: #![allow(unused_variables, unused_imports, unused_mut)] // remove once you have solved a few

use super::lm_rl::CharLm;
use candle_core::{Result, Tensor, D};
use candle_nn::ops::log_softmax;

/// ## seq_logprob
/// The log-probability a model gives whole sequences: `logits` `[b, T, V]` (position `t`
/// predicts `tokens[:, t]`), `tokens` `[b, T]` (integers), `mask` `[b, T]` (1. for tokens that
/// belong to the answer, 0. for the prompt and padding) → `[b]` with
/// `out[i] = Σ_t mask[i, t] · log_softmax(logits[i, t])[tokens[i, t]]`. Differentiable with
/// respect to `logits`.
// HINT: A sequence's log-probability is the sum of its tokens' log-probabilities, counting only the answer's tokens: the mask zeroes the prompt and the padding.
// HINT: log_softmax over the last axis of [b, T, V]; pick each token's entry with gather on dim 2 using tokens.unsqueeze(2), squeeze(2) to [b, T]; multiply by the mask and sum over dim 1.
// HINT: (log_softmax(logits, D::Minus1)?.gather(&tokens.unsqueeze(2)?, 2)?.squeeze(2)? * mask)?.sum(1)
pub fn seq_logprob(logits: &Tensor, tokens: &Tensor, mask: &Tensor) -> Result<Tensor> {
    // BEGIN SOLUTION
    let lp = log_softmax(logits, D::Minus1)?.gather(&tokens.unsqueeze(2)?, 2)?.squeeze(2)?;
    (lp * mask)?.sum(1)
    // END SOLUTION
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
/// stably: `log σ(z) = (z − |z|)/2 − log(1 + exp(−|z|))` (that is `min(z, 0) − …`, but written
/// without `minimum`, whose gradient candle splits at a tie: at z = 0, where every pair starts
/// because the policy is a copy of the reference, the derivative must be exactly 1/2).
/// Its gradient pushes `π_w` up and `π_l` down with weight `β · σ(r_l − r_w)`: pairs the model
/// already ranks right barely move.
// HINT: Each answer's implicit reward is β times how much more the policy likes it than the reference does; the loss is the logistic loss on the difference of the two rewards, and its log-sigmoid must stay finite for large margins and have slope exactly one half at zero.
// HINT: r_w = β(π_w − ref_w.detach()), r_l = β(π_l − ref_l.detach()), z = r_w − r_l; log σ(z) = (z − |z|)/2 − log(1 + exp(−|z|)) with abs, neg, exp, + 1.0 and log (not z.minimum(0): candle splits a tie's gradient, and every pair starts at z = 0); loss = −mean_all; return the two reward tensors with it.
// HINT: let log_sig = (((&z - z.abs()?)? * 0.5)? - (z.abs()?.neg()?.exp()? + 1.0)?.log()?)?; let loss = log_sig.mean_all()?.neg()?;
pub fn dpo_loss(policy_chosen: &Tensor, policy_rejected: &Tensor, ref_chosen: &Tensor, ref_rejected: &Tensor, beta: f64) -> Result<DpoOutput> {
    // BEGIN SOLUTION
    let chosen_rewards = ((policy_chosen - ref_chosen.detach())? * beta)?;
    let rejected_rewards = ((policy_rejected - ref_rejected.detach())? * beta)?;
    let z = (&chosen_rewards - &rejected_rewards)?;
    let log_sig = (((&z - z.abs()?)? * 0.5)? - (z.abs()?.neg()?.exp()? + 1.0)?.log()?)?;
    let loss = log_sig.mean_all()?.neg()?;
    Ok(DpoOutput { loss, chosen_rewards, rejected_rewards })
    // END SOLUTION
}

/// A preference pair for `dpo_train`: a prompt (at least `lm_rl::CONTEXT` ids) and two answers
/// of the same length, the first preferred.
pub struct Pair {
    pub prompt: Vec<u32>,
    pub chosen: Vec<u32>,
    pub rejected: Vec<u32>,
}

/// ## dpo_train
/// A short DPO run on the character language model of `lm_rl`: `policy` (updated in place)
/// starts as a copy of the frozen `reference`. Each of `steps` full-batch Adam steps (`lr`):
/// the sequence log-probabilities of every pair's chosen and rejected answers under both
/// models (`CharMlp::token_logps`, summed over the answer), then `dpo_loss` with `beta` and a
/// step on its loss. Return the mean implicit-reward margin `mean(r_w − r_l)` of every step
/// (computed before the step, so the first entry is 0). The grader needs the margin to grow to
/// at least 1 on the training pairs, and reports how often held-out pairs are ranked right.
// HINT: The reference's log-probabilities never change, so compute them once; each step recomputes the policy's, records the margin before the optimiser moves, and Adam runs without weight decay.
// HINT: Collect the prompts, chosen and rejected id lists; ref_c = reference.token_logps(prompts, chosen).sum(1).detach(), ref_r likewise; AdamW over policy.vars() with weight_decay 0.0. Per step: the policy's sums for chosen and rejected, dpo_loss, push mean(chosen_rewards − rejected_rewards) as f32 before opt.backward_step(&out.loss).
// HINT: margins.push((out.chosen_rewards - out.rejected_rewards)?.mean_all()?.to_scalar::<f32>()?); opt.backward_step(&out.loss)?;
pub fn dpo_train(policy: &super::lm_rl::CharMlp, reference: &super::lm_rl::CharMlp, pairs: &[Pair], steps: usize, beta: f64, lr: f64) -> Result<Vec<f32>> {
    // BEGIN SOLUTION
    use candle_nn::optim::{AdamW, Optimizer, ParamsAdamW};
    let prompts: Vec<Vec<u32>> = pairs.iter().map(|p| p.prompt.clone()).collect();
    let chosen: Vec<Vec<u32>> = pairs.iter().map(|p| p.chosen.clone()).collect();
    let rejected: Vec<Vec<u32>> = pairs.iter().map(|p| p.rejected.clone()).collect();
    let ref_c = reference.token_logps(&prompts, &chosen)?.sum(1)?.detach();
    let ref_r = reference.token_logps(&prompts, &rejected)?.sum(1)?.detach();
    let mut opt = AdamW::new(policy.vars(), ParamsAdamW { lr, weight_decay: 0.0, ..Default::default() })?;
    let mut margins = Vec::with_capacity(steps);
    for _ in 0..steps {
        let pc = policy.token_logps(&prompts, &chosen)?.sum(1)?;
        let pr = policy.token_logps(&prompts, &rejected)?.sum(1)?;
        let out = dpo_loss(&pc, &pr, &ref_c, &ref_r, beta)?;
        margins.push((out.chosen_rewards - out.rejected_rewards)?.mean_all()?.to_scalar::<f32>()?);
        opt.backward_step(&out.loss)?;
    }
    Ok(margins)
    // END SOLUTION
}
