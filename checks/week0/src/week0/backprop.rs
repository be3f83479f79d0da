//! Checks for week0 day "backprop": each hand-written backward function against PyTorch
//! autograd's gradients of the MLP-with-BatchNorm forward pass on one batch
//! (fixtures/gen/week0_mlp.py, `bp.*`; `bp.d.<name>` is d loss / d name).

use super::{indices, FX_MLP as FX};
use crate::check::{CheckResult, Ctx, Learner};
use crate::compare::{close, Tol};
use crate::registry::{Day, Exercise};
use crate::subject::week0::backprop::{self as bp, MlpBn};
use candle_core::{DType, Device, Tensor, Var};

/// Gradients of a mean loss over a batch of 32 are small (1e-5 … 1e-1) and are sums of up to 64
/// f32 products computed in another order than autograd's: errors up to ~1e-8 absolute and
/// ~1e-5 relative. abs 1e-6 + rel 1e-4 is loose for those, yet a missing 1/B, a transpose, a
/// dropped term of the batchnorm formula or a lost repeated index are off by > 10 %.
const GRAD: Tol = Tol { abs: 1e-6, rel: 1e-4 };

/// Near-constant features: x − mean keeps ~5 significant digits in f32 (values up to 1 that
/// differ by ~1e-4) and 1/sqrt(var + eps) amplifies the gradients ~300×: the reference is off by
/// up to 1.3e-4 relative (dW2; it passes at rel 2e-4). rel 1e-3 still separates eps from 2·eps
/// (~30 %) and from −eps (NaN).
const NEAR_CONSTANT: Tol = Tol { abs: 1e-6, rel: 1e-3 };

const NO_AUTOGRAD: &[&str] = &[".backward(", "candle_nn::"];

const DAY: Day = Day::new("week0", "backprop", "src/backprop.rs");

fn t(ctx: &Ctx, name: &str) -> Result<Tensor, crate::check::Fail> {
    FX.open(ctx)?.get(&format!("bp.{name}"))
}

fn grads(ctx: &Ctx, pairs: &[(&str, &Tensor)]) -> CheckResult {
    for (name, got) in pairs {
        close(&format!("d{name}"), got, &t(ctx, &format!("d.{name}"))?, GRAD)?;
    }
    Ok(())
}

/// Every parameter's gradient of the module doc's forward pass (BatchNorm eps 1e-5, mean
/// cross-entropy) by candle's autograd, in f64 on the CPU: the grader's own forward pass, not the
/// learner's.
fn autograd_reference(p: &MlpBn, x: &Tensor, y: &Tensor) -> candle_core::Result<MlpBn> {
    let cpu = Device::Cpu;
    let var = |t: &Tensor| Var::from_tensor(&t.to_device(&cpu)?.to_dtype(DType::F64)?);
    let (c, w1, b1, gamma, beta, w2, b2) = (var(&p.c)?, var(&p.w1)?, var(&p.b1)?, var(&p.gamma)?, var(&p.beta)?, var(&p.w2)?, var(&p.b2)?);
    let (x, y) = (x.to_device(&cpu)?, y.to_device(&cpu)?);
    let b = x.dim(0)?;
    let emb = c.index_select(&x.flatten_all()?, 0)?.reshape((b, ()))?;
    let hprebn = emb.matmul(&w1)?.broadcast_add(&b1)?;
    let diff = hprebn.broadcast_sub(&hprebn.mean_keepdim(0)?)?;
    let var_b = diff.sqr()?.mean_keepdim(0)?;
    let h = diff.broadcast_div(&(var_b + 1e-5)?.sqrt()?)?.broadcast_mul(&gamma)?.broadcast_add(&beta)?.tanh()?;
    let logits = h.matmul(&w2)?.broadcast_add(&b2)?;
    let loss = candle_nn::loss::cross_entropy(&logits, &y)?;
    let g = loss.backward()?;
    let grad = |v: &Var| g.get(v).cloned().ok_or_else(|| candle_core::Error::Msg("autograd reference: a parameter got no gradient".into()));
    Ok(MlpBn { c: grad(&c)?, w1: grad(&w1)?, b1: grad(&b1)?, gamma: grad(&gamma)?, beta: grad(&beta)?, w2: grad(&w2)?, b2: grad(&b2)? })
}

pub fn exercises() -> Vec<Exercise> {
    vec![
        DAY.exercise("cross_entropy_backward", "cross-entropy: dlogits = (softmax − one-hot) / B")
            .pace(2, 20)
            .function("cross_entropy_backward")
            .forbid(NO_AUTOGRAD)
            .check("dlogits vs torch autograd", |ctx| {
                let got = bp::cross_entropy_backward(&t(ctx, "logits")?, &indices(ctx, FX, "bp.yb")?).learner()?;
                grads(ctx, &[("logits", &got)])
            })
            .check("logits in the hundreds (the fixture's · 100): finite, vs (softmax − one-hot) / B computed here in f64", |ctx| {
                // exp overflows f32 above 88.7: only subtracting the row maximum keeps it finite.
                let (logits, y) = ((t(ctx, "logits")? * 100.0).grader()?, indices(ctx, FX, "bp.yb")?);
                close(
                    "cross_entropy_backward(100 · logits, y)",
                    &bp::cross_entropy_backward(&logits, &y).learner()?,
                    &crate::independent::xent_grad(&logits, &y)?,
                    Tol { abs: 1e-6, rel: 1e-4 },
                )
            }),
        DAY.exercise("cross_entropy_steps", "cross-entropy step by step: every intermediate's gradient")
            .pace(3, 80)
            .function("cross_entropy_steps")
            .forbid(NO_AUTOGRAD)
            .check("each step's gradient vs torch autograd (retain_grad)", |ctx| {
                let g = bp::cross_entropy_steps(&t(ctx, "logits")?, &indices(ctx, FX, "bp.yb")?).learner()?;
                let fx = FX.open(ctx)?;
                for (name, got) in [
                    ("logprobs", &g.logprobs),
                    ("probs", &g.probs),
                    ("counts_sum_inv", &g.counts_sum_inv),
                    ("counts_sum", &g.counts_sum),
                    ("counts", &g.counts),
                    ("norm_logits", &g.norm_logits),
                    ("logit_maxes", &g.logit_maxes),
                    ("logits", &g.logits),
                ] {
                    // dprobs = dlogprobs / probs reaches ~1/(B·p) ≈ 1e2 for improbable targets:
                    // the relative part of GRAD covers it; dlogit_maxes is ~1e-9 on both sides.
                    close(&format!("d{name}"), got, &fx.get(&format!("ce.d.{name}"))?, GRAD)?;
                }
                Ok(())
            }),
        DAY.exercise("linear_backward", "a linear layer: dx, dW, db").pace(2, 15).function("linear_backward").forbid(NO_AUTOGRAD).check(
            "the output layer (h @ W2 + b2): dh, dW2, db2 vs torch",
            |ctx| {
                let (dh, dw, db) = bp::linear_backward(&t(ctx, "h")?, &t(ctx, "W2")?, &t(ctx, "d.logits")?).learner()?;
                grads(ctx, &[("h", &dh), ("W2", &dw), ("b2", &db)])
            },
        ),
        DAY.exercise("tanh_backward", "tanh: (1 − h²) · dh").pace(1, 10).function("tanh_backward").forbid(NO_AUTOGRAD).check("dhpreact vs torch", |ctx| {
            let got = bp::tanh_backward(&t(ctx, "h")?, &t(ctx, "d.h")?).learner()?;
            grads(ctx, &[("hpreact", &got)])
        }),
        DAY.exercise("batchnorm_backward", "batchnorm: the fused backward formula")
            .pace(2, 35)
            .function("batchnorm_backward")
            .forbid(NO_AUTOGRAD)
            .check("dhprebn, dgamma, dbeta vs torch", |ctx| {
                let (dx, dg, db) = bp::batchnorm_backward(&t(ctx, "hprebn")?, &t(ctx, "gamma")?, &t(ctx, "d.hpreact")?, 1e-5).learner()?;
                grads(ctx, &[("hprebn", &dx), ("gamma", &dg), ("beta", &db)])
            })
            .check("nearly constant features (variance ≪ eps) vs the chain rule in f64", |ctx| {
                // Each feature varies by 1e-3 over the batch (variance ~1e-7): eps = 1e-5
                // decides the scale, where var − eps has no square root and a dropped eps
                // divides by ~0.
                let gamma = t(ctx, "gamma")?;
                let dy = t(ctx, "d.hpreact")?;
                let (n, d) = dy.dims2().grader()?;
                let x = crate::independent::nearly_constant_columns(n, d, 1e-3, &ctx.device)?;
                let (dx, dg, db) = bp::batchnorm_backward(&x, &gamma, &dy, 1e-5).learner()?;
                let (wx, wg, wb) = crate::independent::batchnorm_rows_backward(&x, &gamma.flatten_all().grader()?, &dy, 1e-5)?;
                close("dhprebn", &dx, &wx, NEAR_CONSTANT)?;
                close("dgamma", &dg.flatten_all().on_learner()?, &wg, NEAR_CONSTANT)?;
                close("dbeta", &db.flatten_all().on_learner()?, &wb, NEAR_CONSTANT)
            }),
        DAY.exercise("batchnorm_steps", "batchnorm step by step: every intermediate's gradient")
            .pace(3, 40)
            .function("batchnorm_steps")
            .forbid(NO_AUTOGRAD)
            .check("each step's gradient vs torch autograd (retain_grad)", |ctx| {
                let g = bp::batchnorm_steps(&t(ctx, "hprebn")?, &t(ctx, "gamma")?, &t(ctx, "d.hpreact")?, 1e-5).learner()?;
                let fx = FX.open(ctx)?;
                for (name, got) in [
                    ("bnraw", &g.bnraw),
                    ("bnvar_inv", &g.bnvar_inv),
                    ("bnvar", &g.bnvar),
                    ("bndiff2", &g.bndiff2),
                    ("bndiff", &g.bndiff),
                    ("bnmeani", &g.bnmeani),
                    ("hprebn", &g.hprebn),
                ] {
                    // dbnmeani is ~0 up to rounding (the batch-mean gradient cancels): GRAD's
                    // absolute part covers it.
                    close(&format!("d{name}"), got, &fx.get(&format!("bn_steps.d.{name}"))?, GRAD)?;
                }
                Ok(())
            })
            .check("nearly constant features (variance ≪ eps): dhprebn vs the chain rule in f64", |ctx| {
                let gamma = t(ctx, "gamma")?;
                let dy = t(ctx, "d.hpreact")?;
                let (n, d) = dy.dims2().grader()?;
                let x = crate::independent::nearly_constant_columns(n, d, 1e-3, &ctx.device)?;
                let g = bp::batchnorm_steps(&x, &gamma, &dy, 1e-5).learner()?;
                let (want, _, _) = crate::independent::batchnorm_rows_backward(&x, &gamma.flatten_all().grader()?, &dy, 1e-5)?;
                close("dhprebn", &g.hprebn, &want, NEAR_CONSTANT)
            }),
        DAY.exercise("embedding_backward", "embedding: scatter-add into the table").pace(1, 10).function("embedding_backward").forbid(NO_AUTOGRAD).check(
            "dC vs torch",
            |ctx| {
                let got = bp::embedding_backward(&indices(ctx, FX, "bp.xb")?, &t(ctx, "d.emb")?, 27).learner()?;
                grads(ctx, &[("C", &got)])
            },
        ),
        DAY.exercise("full_backward", "the whole backward pass")
            .pace(3, 50)
            .function("full_backward")
            .forbid(NO_AUTOGRAD)
            .check("every parameter's gradient vs torch autograd", |ctx| {
                let p = MlpBn {
                    c: t(ctx, "C")?,
                    w1: t(ctx, "W1")?,
                    b1: t(ctx, "b1")?,
                    gamma: t(ctx, "gamma")?,
                    beta: t(ctx, "beta")?,
                    w2: t(ctx, "W2")?,
                    b2: t(ctx, "b2")?,
                };
                let g = bp::full_backward(&p, &indices(ctx, FX, "bp.xb")?, &indices(ctx, FX, "bp.yb")?).learner()?;
                grads(ctx, &[("W2", &g.w2), ("b2", &g.b2), ("gamma", &g.gamma), ("beta", &g.beta), ("W1", &g.w1), ("C", &g.c)])?;
                // b1's true gradient is zero up to rounding (BatchNorm subtracts the batch mean):
                // compare it absolutely.
                close("db1 (≈ 0: BatchNorm removes b1's effect)", &g.b1, &t(ctx, "d.b1")?, Tol { abs: 1e-6, rel: 0.0 })
            })
            .check("W1 scaled by 1e-4 (hidden pre-activations nearly constant: eps decides) vs autograd in f64", |ctx| {
                let p = MlpBn {
                    c: t(ctx, "C")?,
                    w1: (t(ctx, "W1")? * 1e-4).grader()?,
                    b1: t(ctx, "b1")?,
                    gamma: t(ctx, "gamma")?,
                    beta: t(ctx, "beta")?,
                    w2: t(ctx, "W2")?,
                    b2: t(ctx, "b2")?,
                };
                let (x, y) = (indices(ctx, FX, "bp.xb")?, indices(ctx, FX, "bp.yb")?);
                let g = bp::full_backward(&p, &x, &y).learner()?;
                let want = autograd_reference(&p, &x, &y).grader()?;
                for (name, got, want) in [
                    ("W2", &g.w2, &want.w2),
                    ("b2", &g.b2, &want.b2),
                    ("gamma", &g.gamma, &want.gamma),
                    ("beta", &g.beta, &want.beta),
                    ("W1", &g.w1, &want.w1),
                    ("C", &g.c, &want.c),
                ] {
                    close(&format!("d{name}"), &got.to_dtype(DType::F64).on_learner()?, want, NEAR_CONSTANT)?;
                }
                Ok(())
            }),
    ]
}
