//! Checks for week0 day "mlp": the dataset, forward pass, cross-entropy and BatchNorm1d against
//! torch (fixtures/gen/week0_mlp.py); the initialisation by its statistical properties; the
//! long training target (dev loss ≤ 2.2).

use super::{indices, picture_path, pictures, torch_split, FX_MLP as FX};
use crate::check::{ensure, shape_is, Fail, Learner};
use crate::compare::{close, exact, scalar_close, to_f64, Tol};
use crate::registry::{Day, Exercise};
use crate::subject::week0::mlp::{self as m, MlpParams};
use candle_core::{Device, Tensor};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::time::{Duration, Instant};

const DAY: Day = Day::new("week0", "mlp", "src/mlp.rs");

const NO_NN: &[&str] = &["ops::softmax", "ops::log_softmax", "softmax_last_dim", "candle_nn::loss", "BatchNorm", "batch_norm"];

/// Sums of 30 and 64 products of values of order one in f32, in a different order from
/// PyTorch's matmul: errors of a few 1e-6 on logits of magnitude ~5.
const MATMUL: Tol = Tol { abs: 1e-4, rel: 1e-4 };

fn params(ctx: &crate::check::Ctx) -> Result<MlpParams, Fail> {
    let fx = FX.open(ctx)?;
    Ok(MlpParams { c: fx.get("mlp.C")?, w1: fx.get("mlp.W1")?, b1: fx.get("mlp.b1")?, w2: fx.get("mlp.W2")?, b2: fx.get("mlp.b2")? })
}

/// Cross-entropy computed here with candle-nn (independent of the learner's).
fn ce(logits: &Tensor, y: &Tensor) -> candle_core::Result<f64> {
    candle_nn::loss::cross_entropy(logits, y)?.to_dtype(candle_core::DType::F64)?.to_scalar::<f64>()
}

/// The two principal axes of the rows of `c` ([n, d]), by power iteration on the covariance.
fn pca2(c: &[Vec<f32>]) -> Vec<(f32, f32)> {
    let d = c[0].len();
    let n = c.len() as f64;
    let mean: Vec<f64> = (0..d).map(|j| c.iter().map(|r| r[j] as f64).sum::<f64>() / n).collect();
    let x: Vec<Vec<f64>> = c.iter().map(|r| r.iter().zip(&mean).map(|(v, m)| *v as f64 - m).collect()).collect();
    let mut cov = vec![vec![0.0; d]; d];
    for r in &x {
        for i in 0..d {
            for j in 0..d {
                cov[i][j] += r[i] * r[j];
            }
        }
    }
    let mut axes: Vec<Vec<f64>> = Vec::new();
    for a in 0..2 {
        let mut v: Vec<f64> = (0..d).map(|i| 1.0 + (i * (a + 1)) as f64 * 0.1).collect();
        for _ in 0..200 {
            let mut w: Vec<f64> = (0..d).map(|i| (0..d).map(|j| cov[i][j] * v[j]).sum()).collect();
            for ax in &axes {
                let p: f64 = w.iter().zip(ax).map(|(a, b)| a * b).sum();
                w.iter_mut().zip(ax).for_each(|(wi, ai)| *wi -= p * ai);
            }
            let norm = w.iter().map(|v| v * v).sum::<f64>().sqrt().max(1e-300);
            v = w.iter().map(|v| v / norm).collect();
        }
        axes.push(v);
    }
    x.iter().map(|r| (r.iter().zip(&axes[0]).map(|(a, b)| a * b).sum::<f64>() as f32, r.iter().zip(&axes[1]).map(|(a, b)| a * b).sum::<f64>() as f32)).collect()
}

pub fn exercises() -> Vec<Exercise> {
    vec![
        DAY.exercise("dataset", "contexts of block_size characters").pace(2, 35).function("build_dataset").check(
            "the first 20 names, block 3, vs torch",
            |ctx| {
                super::probe(|w| m::build_dataset(w, 3, &ctx.device));
                let words = super::names()?;
                let (x, y) = m::build_dataset(&words[..20], 3, &ctx.device).learner()?;
                exact("X", &x, &indices(ctx, FX, "dataset.x")?)?;
                exact("Y", &y, &indices(ctx, FX, "dataset.y")?)
            },
        ),
        DAY.exercise("forward", "embedding, tanh hidden layer, logits").pace(2, 20).function("mlp_forward").forbid(NO_NN).check(
            "logits vs torch with fixture weights",
            |ctx| {
                let got = m::mlp_forward(&params(ctx)?, &indices(ctx, FX, "mlp.xb")?).learner()?;
                close("mlp_forward(params, xb)", &got, &FX.open(ctx)?.get("mlp.logits")?, MATMUL)
            },
        ),
        DAY.exercise("cross_entropy", "a stable cross-entropy")
            .pace(2, 15)
            .function("cross_entropy")
            .forbid(NO_NN)
            .check("vs F.cross_entropy on the fixture logits", |ctx| {
                let fx = FX.open(ctx)?;
                let got = m::cross_entropy(&fx.get("mlp.logits")?, &indices(ctx, FX, "mlp.yb")?).learner()?;
                close("cross_entropy(logits, yb)", &got, &fx.get("mlp.loss")?, Tol::F32)
            })
            .check("finite for logits ×1000 (no overflow)", |ctx| {
                let fx = FX.open(ctx)?;
                let big = (fx.get("mlp.logits")? * 1000.0).grader()?;
                let y = indices(ctx, FX, "mlp.yb")?;
                let got = m::cross_entropy(&big, &y).learner()?.to_dtype(candle_core::DType::F64).on_learner()?.to_scalar::<f64>().on_learner()?;
                // Both are exact up to f32 rounding of values ~1e4.
                scalar_close("cross_entropy(1000 · logits, yb)", got, ce(&big, &y).on_learner()?, Tol { abs: 1e-1, rel: 1e-4 })
            }),
        DAY.exercise("init", "initial loss ≈ ln 27; Kaiming init")
            .pace(2, 25)
            .function("init_mlp")
            .check("shapes; W1's standard deviation is (5/3)/√fan_in within 5 %", |ctx| {
                let p = m::init_mlp(10, 200, 3, &mut ChaCha8Rng::seed_from_u64(0), &ctx.device).learner()?;
                shape_is("C", &p.c, &[27, 10])?;
                shape_is("W1", &p.w1, &[30, 200])?;
                shape_is("b1", &p.b1, &[200])?;
                shape_is("W2", &p.w2, &[200, 27])?;
                shape_is("b2", &p.b2, &[27])?;
                let std = |t: &Tensor| -> Result<f64, Fail> {
                    let v = to_f64(t)?;
                    let mean = v.iter().sum::<f64>() / v.len() as f64;
                    Ok((v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / v.len() as f64).sqrt())
                };
                // The sample std of n = 6000 normal draws has a relative standard error of
                // 1/√(2n) ≈ 0.9 %: a 5 % band is > 5 standard errors.
                let want = (5.0 / 3.0) / 30f64.sqrt();
                scalar_close("std(W1) (Kaiming: gain 5/3 for tanh, / √fan_in)", std(&p.w1)?, want, Tol { abs: 0.0, rel: 0.05 })?;
                // 5,400 draws: relative standard error ≈ 1 %, band 10 %.
                scalar_close("std(W2)", std(&p.w2)?, 0.01, Tol { abs: 0.0, rel: 0.1 })?;
                // 200 draws: relative standard error ≈ 1/√400 = 5 %, band 25 %.
                scalar_close("std(b1)", std(&p.b1)?, 0.01, Tol { abs: 0.0, rel: 0.25 })?;
                // 270 draws of N(0, 1): relative standard error ≈ 4.3 %, band 25 %.
                scalar_close("std(C) (the embedding table is N(0, 1))", std(&p.c)?, 1.0, Tol { abs: 0.0, rel: 0.25 })?;
                ensure(to_f64(&p.b2)?.iter().all(|&v| v == 0.0), || "b2 must start at zero".into())
            })
            .check("initial loss on 2,000 training examples is ln 27 ± 0.05", |ctx| {
                m::init_mlp(10, 200, 3, &mut ChaCha8Rng::seed_from_u64(0), &ctx.device).learner()?;
                let (train, _, _) = torch_split(ctx)?;
                let (x, y) = m::build_dataset(&train[..400], 3, &ctx.device).learner()?;
                let n = x.dim(0).on_learner()?.min(2000);
                let p = m::init_mlp(10, 200, 3, &mut ChaCha8Rng::seed_from_u64(0), &ctx.device).learner()?;
                let logits = m::mlp_forward(&p, &x.narrow(0, 0, n).on_learner()?).learner()?;
                let loss = ce(&logits, &y.narrow(0, 0, n).on_learner()?).on_learner()?;
                // With W2 ~ N(0, 0.01²) the logits have std ≈ 0.01·√200·E|h| < 0.15, which
                // raises the loss above ln 27 by at most ~var/2 ≈ 0.01: a band of 0.05. An
                // N(0, 1) output layer gives a loss above 10.
                scalar_close("initial loss", loss, 27f64.ln(), Tol { abs: 0.05, rel: 0.0 })
            }),
        DAY.exercise("batchnorm", "BatchNorm1d: training and evaluation mode, running statistics")
            .pace(2, 30)
            .function("batchnorm_train")
            .forbid(NO_NN)
            .check("training mode: output and running statistics vs nn.BatchNorm1d", |ctx| {
                let fx = FX.open(ctx)?;
                let (y, rm, rv) = m::batchnorm_train(
                    &fx.get("bn.x")?,
                    &fx.get("bn.gamma")?,
                    &fx.get("bn.beta")?,
                    &fx.get("bn.running_mean")?,
                    &fx.get("bn.running_var")?,
                    0.1,
                    1e-5,
                )
                .learner()?;
                // Mean and variance of 32 values each, then a division: a few f32 ulps of values ~3.
                close("y (training mode)", &y, &fx.get("bn.y_train")?, Tol { abs: 2e-5, rel: 1e-5 })?;
                close("new running_mean", &rm, &fx.get("bn.new_running_mean")?, Tol::F32)?;
                close("new running_var (unbiased batch variance)", &rv, &fx.get("bn.new_running_var")?, Tol::F32)
            })
            .check("evaluation mode vs nn.BatchNorm1d.eval()", |ctx| {
                let fx = FX.open(ctx)?;
                // The fixture's eval output uses the running statistics after the training-mode step.
                let y = m::batchnorm_eval(
                    &fx.get("bn.x")?,
                    &fx.get("bn.gamma")?,
                    &fx.get("bn.beta")?,
                    &fx.get("bn.new_running_mean")?,
                    &fx.get("bn.new_running_var")?,
                    1e-5,
                )
                .learner()?;
                close("y (eval mode)", &y, &fx.get("bn.y_eval")?, Tol { abs: 2e-5, rel: 1e-5 })
            })
            .check("nearly constant features (variance ≪ eps), both modes, vs BatchNorm in f64", |ctx| {
                // Each feature varies by 1e-3 over the batch (variance ~1e-7): eps = 1e-5 decides
                // the scale, so a wrong eps is off by ~30 % and var − eps has no square root.
                let fx = FX.open(ctx)?;
                let (gamma, beta) = (fx.get("bn.gamma")?, fx.get("bn.beta")?);
                let d = gamma.elem_count();
                let x = crate::independent::nearly_constant_columns(32, d, 1e-3, &ctx.device)?;
                let (y, _, rv) = m::batchnorm_train(&x, &gamma, &beta, &fx.get("bn.running_mean")?, &fx.get("bn.running_var")?, 0.1, 1e-5).learner()?;
                let want = crate::independent::batchnorm_rows(&x, &gamma.flatten_all().grader()?, &beta.flatten_all().grader()?, 1e-5)?;
                // x − mean keeps ~5 digits in f32 here; outputs are O(0.3): 1e-4 absolute.
                close("y (training mode, nearly constant x)", &y, &want, Tol { abs: 1e-4, rel: 0.0 })?;
                // Evaluation with the batch's own mean and (biased) variance as running
                // statistics: the same output, so eps decides it there too.
                let mean = x.mean_keepdim(0).grader()?;
                let var = x.broadcast_sub(&mean).grader()?.sqr().grader()?.mean_keepdim(0).grader()?;
                let (mean, var) = (mean.reshape(rv.shape()).grader()?, var.reshape(rv.shape()).grader()?);
                let y = m::batchnorm_eval(&x, &gamma, &beta, &mean, &var, 1e-5).learner()?;
                close("y (eval mode, running statistics of a nearly constant batch)", &y, &want, Tol { abs: 1e-4, rel: 0.0 })
            }),
        DAY.exercise("train_long", "train the MLP to dev loss ≤ 2.2 (--long)")
            .pace(3, 45)
            .function("train_mlp")
            .long()
            // The reference takes ~2–4 minutes on two shared CPU cores; 15 minutes leaves room
            // for slower learner code and slower machines.
            .timeout(Duration::from_secs(900))
            .check("dev loss ≤ 2.2 (writes target/candlecamp/week0/mlp_embedding.png)", |ctx| {
                let (train, dev, _) = torch_split(ctx)?;
                let tr = m::build_dataset(&train, 3, &ctx.device).learner()?;
                let dv = m::build_dataset(&dev, 3, &ctx.device).learner()?;
                let t0 = Instant::now();
                let (p, reported) = m::train_mlp(&tr, &dv, &mut ChaCha8Rng::seed_from_u64(42)).learner()?;
                let loss = ce(&m::mlp_forward(&p, &dv.0).learner()?, &dv.1).on_learner()?;
                ctx.note(format!("mlp: dev loss {loss:.4} (reported {reported:.4}) in {:.1} s", t0.elapsed().as_secs_f64()));
                let c = p.c.to_device(&Device::Cpu).on_learner()?.to_vec2::<f32>().on_learner()?;
                if c.len() == 27 && c[0].len() >= 2 {
                    let path = picture_path(ctx, "mlp_embedding.png")?;
                    pictures::embedding_scatter(&pca2(&c), &path)?;
                }
                ensure(loss <= 2.2, || format!("dev loss {loss:.4} > 2.2"))
            }),
    ]
}
