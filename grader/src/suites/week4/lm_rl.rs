//! Checks for week4 day "lm_rl": the KL-penalised per-token reward and FUDGE's reweighted
//! next-token distribution against torch (fixtures/gen/week4_lm_rl.py).

use crate::cases::vs_torch;
use crate::check::Learner;
use crate::registry::Exercise;
use crate::subject::week4::lm_rl as lm;
use crate::compare::Tol;

const FX: &str = "week4/lm_rl.safetensors";

macro_rules! ex {
    ($name:ident, $f:expr, $title:expr, $hint:expr) => {
        Exercise::new(concat!("week4.lm_rl.", stringify!($name)), $title, "src/lm_rl.rs").function($f).hint($hint)
    };
}

pub fn exercises() -> Vec<Exercise> {
    vec![
        ex!(kl_rewards, "kl_rewards", "the KL-penalised reward per token", "(logp_policy − logp_ref) · (−β) gives [b, T]; add a [b, T] tensor that is zero except its last column, which is the scores (Tensor::cat of zeros (b, T − 1) and scores.reshape((b, 1)) on dim 1).")
            // A subtraction, a product and one addition in f32: a few ulps.
            .check("vs torch", |ctx| vs_torch(ctx, FX, "kl_rewards", Tol::F32, |c| lm::kl_rewards(&c.t("logp_policy")?, &c.t("logp_ref")?, &c.t("scores")?, c.f("beta")?).learner())),
        ex!(fudge, "fudge", "FUDGE: a prefix classifier reweights the next token", "order = lm_logits.arg_sort_last_dim(false)?.narrow(1, 0, k)?; a keep mask from scatter_add of ones at `order` (or compare each logit with the k-th largest); joint = log_softmax(lm) + attr; where_cond(keep, joint, −∞); log_softmax again.")
            // Two log-softmaxes and a sum over ≤ 27 tokens in f32; −∞ entries must match exactly.
            .check("vs torch (top-k of the LM, renormalised)", |ctx| vs_torch(ctx, FX, "fudge", Tol::F32, |c| lm::fudge(&c.t("lm_logits")?, &c.t("attr_logp")?, c.n("top_k")?).learner())),
    ]
}
