//! # Reinforcement learning for language models
//!
//! A language model is a policy: the state is the text so far, an action is the next token, and
//! a reward arrives when the continuation is finished (e.g. a classifier's score: "how
//! positive is this?"). RLHF-style training (Ziegler et al. 2019, Ouyang et al. 2022) maximises
//! that reward while a per-token KL penalty keeps the policy near the model it started from, so
//! it does not drift into gibberish the reward model happens to like. Guided decoding (FUDGE,
//! Yang & Klein 2021) reaches a similar goal without training: a classifier of *prefixes*
//! reweights the language model's next-token distribution at every step.
//!
//! Shapes: a batch of `b` sampled continuations of `T` tokens each; `logp_*` `[b, T]` are the
//! log-probabilities the policy and the frozen reference model gave the sampled tokens.
// STUB: #![allow(unused_variables, unused_imports, unused_mut)] // remove once you have solved a few

use candle_core::{Result, Tensor, D};
use candle_nn::ops::log_softmax;

/// ## kl_rewards
/// The per-token rewards of KL-penalised RL fine-tuning: every token pays
/// `−β · (log π(x_t) − log π_ref(x_t))` (a one-sample estimate of the KL divergence from the
/// reference model, per token), and the last token of row `i` also receives the sequence's
/// score `scores[i]` (the reward model's output for the whole continuation).
/// `logp_policy`, `logp_ref` `[b, T]`, `scores` `[b]` → `[b, T]`.
/// Example: b = 1, T = 2, logp_policy = [−1, −2], logp_ref = [−1.5, −1], scores = [3], β = 0.1
/// → `[−0.05, 0.1 + 3]`.
pub fn kl_rewards(logp_policy: &Tensor, logp_ref: &Tensor, scores: &Tensor, beta: f64) -> Result<Tensor> {
    // BEGIN SOLUTION
    let (b, t) = logp_policy.dims2()?;
    let kl = ((logp_policy - logp_ref)? * (-beta))?;
    let last = Tensor::cat(&[Tensor::zeros((b, t - 1), kl.dtype(), kl.device())?, scores.reshape((b, 1))?], 1)?;
    kl + last
    // END SOLUTION
}

/// ## fudge
/// FUDGE's next-token distribution. The language model gives logits `lm_logits` `[b, V]` for
/// the next token; a prefix classifier gives, for every candidate token `x`, `attr_logp[i, x] =
/// log p(a | prefix_i + x)`, the log-probability that the text will have the attribute `a` if
/// `x` comes next. Bayes' rule gives `p(x | prefix, a) ∝ p_lm(x | prefix) · p(a | prefix, x)`.
/// As in the paper, only the language model's `top_k` most likely tokens are candidates (the
/// classifier is only run on those): return `[b, V]` log-probabilities that are
/// `log_softmax(lm_logits) + attr_logp` renormalised over the top-k tokens of each row and
/// `−∞` for every other token. Rules: `candle` has no `topk`: use `arg_sort_last_dim` and
/// `narrow`, then build a mask; `where_cond` chooses between a tensor and a `−∞` tensor.
/// Example: V = 3, `top_k` = 2, p_lm = [0.5, 0.3, 0.2], p(a | ·) = [0.2, 0.6, 0.9] → tokens 0
/// and 1 remain, with weights 0.10 and 0.18: probabilities [0.357, 0.643, 0].
pub fn fudge(lm_logits: &Tensor, attr_logp: &Tensor, top_k: usize) -> Result<Tensor> {
    // BEGIN SOLUTION
    let (b, v) = lm_logits.dims2()?;
    let order = lm_logits.arg_sort_last_dim(false)?.narrow(1, 0, top_k)?.contiguous()?;
    let ones = Tensor::ones((b, top_k), candle_core::DType::F32, lm_logits.device())?;
    let keep = Tensor::zeros((b, v), candle_core::DType::F32, lm_logits.device())?.scatter_add(&order, &ones, 1)?;
    let joint = (log_softmax(lm_logits, D::Minus1)? + attr_logp)?;
    let neg_inf = Tensor::full(f32::NEG_INFINITY, (b, v), lm_logits.device())?;
    let masked = keep.ne(0f32)?.where_cond(&joint, &neg_inf)?;
    log_softmax(&masked, D::Minus1)
    // END SOLUTION
}
