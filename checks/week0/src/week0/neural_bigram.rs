//! Checks for week0 day "neural_bigram": the training pairs against the count matrix, softmax
//! and the loss (with its gradient) against torch (fixtures/gen/week0_bigram.py), and training
//! to within 0.01 of the counting model's NLL.

use super::{indices, names, FX_BIGRAM as FX};
use crate::check::{ensure, Fail, Learner};
use crate::compare::{close, exact, scalar_close, Tol};
use crate::registry::{Day, Exercise};
use crate::subject::week0::neural_bigram as nb;
use candle_core::{Device, Tensor, Var};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::time::Duration;

const DAY: Day = Day::new("week0", "neural_bigram", "src/neural_bigram.rs");

/// candle-nn's softmax, log-softmax and losses: the day is about writing them.
const NO_NN: &[&str] = &["ops::softmax", "ops::log_softmax", "softmax_last_dim", "candle_nn::loss", "loss::cross_entropy"];

/// The loss, computed here with candle-nn (independent of the learner's code).
fn full_loss(w: &Tensor, xs: &Tensor, ys: &Tensor) -> candle_core::Result<f64> {
    let logits = w.index_select(xs, 0)?;
    candle_nn::loss::cross_entropy(&logits, ys)?.to_dtype(candle_core::DType::F64)?.to_scalar::<f64>()
}

pub fn exercises() -> Vec<Exercise> {
    vec![
        DAY.exercise("pairs", "the training pairs (xs, ys)").pace(2, 30).function("bigram_pairs").check(
            "pair counts equal torch's bigram counts; the first pairs in order",
            |ctx| {
                super::probe(|w| nb::bigram_pairs(w, &ctx.device));
                let words = names()?;
                let (xs, ys) = nb::bigram_pairs(&words, &ctx.device).learner()?;
                ensure(xs.dtype() == candle_core::DType::U32 && ys.dtype() == candle_core::DType::U32, || {
                    format!("dtypes {:?}, {:?}; expected U32 (indices)", xs.dtype(), ys.dtype())
                })?;
                let head_x = indices(ctx, FX, "pairs.head.xs")?;
                let k = head_x.dim(0).grader()?;
                exact("xs[..k] (the first names' pairs)", &xs.narrow(0, 0, k.min(xs.dim(0).on_learner()?)).on_learner()?, &head_x)?;
                exact("ys[..k]", &ys.narrow(0, 0, k.min(ys.dim(0).on_learner()?)).on_learner()?, &indices(ctx, FX, "pairs.head.ys")?)?;
                let (x, y) = (
                    xs.to_device(&Device::Cpu).on_learner()?.to_vec1::<u32>().on_learner()?,
                    ys.to_device(&Device::Cpu).on_learner()?.to_vec1::<u32>().on_learner()?,
                );
                ensure(x.len() == y.len(), || format!("xs has {} entries, ys {}", x.len(), y.len()))?;
                let mut n = vec![0f32; 27 * 27];
                for (a, b) in x.iter().zip(&y) {
                    if *a >= 27 || *b >= 27 {
                        return Err(Fail::Mismatch(format!("index ({a}, {b}) is outside the alphabet")));
                    }
                    n[*a as usize * 27 + *b as usize] += 1.0;
                }
                exact("counts of (xs, ys) pairs", &Tensor::from_vec(n, (27, 27), &ctx.device).grader()?, &FX.open(ctx)?.get("counts")?)
            },
        ),
        DAY.exercise("softmax", "a numerically stable softmax")
            .pace(1, 10)
            .function("softmax")
            .forbid(NO_NN)
            .check("vs torch.softmax (including logits of magnitude 1000)", |ctx| {
                // One exp and one division per element, sums of ≤ 27 terms: a few f32 ulps.
                FX.vs_torch(ctx, "softmax", Tol::F32, |c| nb::softmax(&c.t("x")?).learner())
            })
            .check("rows that span ±1000 (only the row maximum is a safe shift) vs softmax in f64", |ctx| {
                let x = Tensor::new(&[[1000f32, 0.0, -1000.0, 999.0], [-1000.0, -999.0, -998.0, -2000.0], [3.0, 1.0, 0.5, -2.0]], &ctx.device).grader()?;
                let want = crate::independent::softmax_last(&x)?;
                close("softmax of rows spanning ±1000", &nb::softmax(&x).learner()?, &want, Tol::F32)
            }),
        DAY.exercise("loss", "cross-entropy by row indexing, and its gradient")
            .pace(2, 20)
            .function("nll_loss")
            .forbid(NO_NN)
            .check("loss and dloss/dW vs torch autograd", |ctx| {
                let fx = FX.open(ctx)?;
                let w = Var::from_tensor(&fx.get("neural.W")?).grader()?;
                let (xs, ys) = (indices(ctx, FX, "neural.xs")?, indices(ctx, FX, "neural.ys")?);
                let loss = nb::nll_loss(w.as_tensor(), &xs, &ys).learner()?;
                // A mean of ~2,000 log-probabilities in f32.
                close("nll_loss(W, xs, ys) (first 300 names)", &loss, &fx.get("neural.loss")?, Tol { abs: 1e-5, rel: 1e-5 })?;
                let grads = loss.backward().on_learner()?;
                let g = grads
                    .get(w.as_tensor())
                    .ok_or_else(|| Fail::Mismatch("no gradient reached W: the loss must be computed from W with differentiable tensor ops".into()))?;
                // Gradient entries are (p - onehot)/M, magnitudes ~1e-4..1e-2; f32 rounding of
                // the softmax and the sums leaves ~1e-9 absolute error.
                close("dloss/dW", g, &fx.get("neural.grad")?, Tol { abs: 1e-7, rel: 1e-4 })
            })
            .check("W scaled to logits of ±1000 (only the row maximum is a safe shift) vs log-softmax in f64", |ctx| {
                let fx = FX.open(ctx)?;
                let w = (fx.get("neural.W")? * 300.0).grader()?;
                let (xs, ys) = (indices(ctx, FX, "neural.xs")?, indices(ctx, FX, "neural.ys")?);
                let loss = nb::nll_loss(&w, &xs, &ys).learner()?;
                // The grader's loss in f64: ln p[y] = l[y] − max − ln Σ exp(l − max) per row of W
                // (a softmax would underflow to 0 for these logits; its logarithm does not).
                let wv = crate::compare::to_f64(&w)?;
                let logp = |x: usize, y: usize| {
                    let row = &wv[x * 27..x * 27 + 27];
                    let m = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                    row[y] - m - row.iter().map(|l| (l - m).exp()).sum::<f64>().ln()
                };
                let (xv, yv) = (crate::compare::to_f64(&xs)?, crate::compare::to_f64(&ys)?);
                let want = -xv.iter().zip(&yv).map(|(&x, &y)| logp(x as usize, y as usize)).sum::<f64>() / xv.len() as f64;
                // Losses in the hundreds, sums of ~2,000 terms in f32: 1e-4 relative.
                crate::compare::scalar_close(
                    "nll_loss with logits of ±1000",
                    crate::compare::to_f64(&loss)?.first().copied().unwrap_or(f64::NAN),
                    want,
                    Tol { abs: 1e-3, rel: 1e-4 },
                )
            }),
        DAY.exercise("train", "gradient descent to the counting model's loss")
            .pace(3, 45)
            .function("train")
            .forbid(NO_NN)
            // A few hundred full-batch steps over 228,146 pairs take minutes on two shared
            // cores (0.3–0.7 s a step): a long target.
            .long()
            .timeout(Duration::from_secs(900))
            .check("full-data loss within 0.01 of the counting model's NLL (k = 0)", |ctx| {
                let words = names()?;
                // The pairs are built here (not with the learner's bigram_pairs) from torch's counts' framing.
                let (mut x, mut y) = (Vec::new(), Vec::new());
                for w in &words {
                    let mut prev = 0u32;
                    for c in w.chars().map(crate::subject::week0::util::stoi).chain(std::iter::once(0)) {
                        x.push(prev);
                        y.push(c as u32);
                        prev = c as u32;
                    }
                }
                let m = x.len();
                let (xs, ys) = (Tensor::from_vec(x, m, &ctx.device).grader()?, Tensor::from_vec(y, m, &ctx.device).grader()?);
                let (w, losses) = nb::train(&xs, &ys, &mut ChaCha8Rng::seed_from_u64(0)).learner()?;
                ensure(w.dims() == [27, 27], || format!("W has shape {:?}, expected [27, 27]", w.dims()))?;
                let got = full_loss(&w, &xs, &ys).on_learner()?;
                let target = FX.open(ctx)?.f64("nll.k0")?;
                ensure(!losses.is_empty() && losses[0] as f64 > got, || {
                    format!("losses {:?}… do not go down (final {got:.4})", &losses[..losses.len().min(5)])
                })?;
                ctx.note(format!("neural bigram: final loss {got:.4} (counting model {target:.4}) after {} steps", losses.len()));
                scalar_close(&format!("loss after {} steps (counting model {target:.4})", losses.len()), got, target, Tol { abs: 0.01, rel: 0.0 })
            }),
    ]
}
