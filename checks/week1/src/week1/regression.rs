//! Checks for week1 day "regression": the linear-algebra and gradient pieces against PyTorch
//! (fixtures/gen/week1_regression.py), softmax regression trained on MNIST judged by held-out
//! accuracy (computed here, not by the learner's code).

use crate::cases::FixtureFile;
use crate::check::{ensure, Fail, Learner};
use crate::compare::{close, exact, Tol};
use crate::registry::{Day, Exercise};
use crate::subject::week1::regression as rg;
use candle_core::{DType, Tensor};
use rand::SeedableRng;

const FX: FixtureFile = FixtureFile::new("week1/regression.safetensors");

/// f64 linear algebra on well-conditioned systems (condition numbers below ~10): elimination
/// and PyTorch's LU differ by a few ulps of f64 per step (observed 1.1e-16); 1e-10 leaves room for any
/// correct order of operations while a wrong pivot or a sign slip is off by O(1).
const F64: Tol = Tol { abs: 1e-10, rel: 1e-10 };
/// The normal equations square the condition number (lstsq in PyTorch uses QR instead), and
/// the fixtures' XᵀX have condition numbers up to ~10: errors below 1e-15 observed; 1e-9 is ample.
const NORMAL_EQ: Tol = Tol { abs: 1e-9, rel: 1e-9 };
/// Gradient descent in f32 over up to 100 steps: each step's matmuls round differently from
/// PyTorch's by a few ulps and the differences carry over (gradient descent on a convex
/// quadratic damps them rather than amplifying them): observed ≤ 4.8e-7 here.
const GD: Tol = Tol { abs: 2e-5, rel: 2e-5 };

/// Accuracy of `argmax(x · w + b)` against the labels, computed here from plain vectors.
fn accuracy(x: &Tensor, labels: &Tensor, w: &Tensor, b: &Tensor) -> Result<f64, Fail> {
    let logits = x.matmul(w).grader()?.broadcast_add(b).grader()?.to_dtype(DType::F32).grader()?.to_vec2::<f32>().grader()?;
    let labels = labels.to_vec1::<u32>().grader()?;
    let right =
        logits.iter().zip(&labels).filter(|(row, &y)| row.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).map(|(i, _)| i as u32) == Some(y)).count();
    Ok(right as f64 / labels.len() as f64)
}

const DAY: Day = Day::new("week1", "regression", "src/regression.rs");

pub fn exercises() -> Vec<Exercise> {
    vec![
        DAY.exercise("solve", "Gaussian elimination with partial pivoting")
            .pace(3, 60)
            .function("solve")
            .forbid(&["linalg", "inverse"])
            .check("vs torch.linalg.solve", |ctx| {
                for c in FX.cases(ctx, "solve")? {
                    close(&c.label(), &rg::solve(&c.t("a")?, &c.t("b")?).learner()?, &c.out()?, F64)?;
                }
                Ok(())
            })
            .check("a · x = b", |ctx| {
                for c in FX.cases(ctx, "solve")? {
                    let (a, b) = (c.t("a")?, c.t("b")?);
                    let x = rg::solve(&a, &b).learner()?;
                    crate::check::shape_is("solve(a, b)", &x, b.dims())?;
                    close(
                        &format!("a · solve(a, b) for {}", c.label()),
                        &a.matmul(&x.unsqueeze(1).on_learner()?).on_learner()?.squeeze(1).on_learner()?,
                        &b,
                        F64,
                    )?;
                }
                Ok(())
            }),
        DAY.exercise("linear_closed_form", "least squares by the normal equations").pace(2, 20).function("linear_closed_form").check(
            "vs torch.linalg.lstsq",
            |ctx| {
                for c in FX.cases(ctx, "linear_closed_form")? {
                    close(&c.label(), &rg::linear_closed_form(&c.t("x")?, &c.t("y")?).learner()?, &c.out()?, NORMAL_EQ)?;
                }
                Ok(())
            },
        ),
        DAY.exercise("linear_gd", "gradient descent on the mean squared error").pace(3, 40).function("linear_gd").check(
            "parameters and loss curve vs torch",
            |ctx| {
                for c in FX.cases(ctx, "linear_gd")? {
                    let (theta, losses) = rg::linear_gd(&c.t("x")?, &c.t("y")?, c.f("lr")?, c.n("steps")?).learner()?;
                    close(&format!("losses of {}", c.label()), &losses, &c.t("losses")?, GD)?;
                    close(&format!("θ = [w, b] of {}", c.label()), &theta, &c.out()?, GD)?;
                }
                Ok(())
            },
        ),
        DAY.exercise("cross_entropy", "cross-entropy, computed stably")
            .pace(2, 20)
            .function("cross_entropy")
            .forbid(&["candle_nn::loss", "candle_nn::ops", "log_softmax"])
            .check("vs torch (F.cross_entropy)", |ctx| {
                for c in FX.cases(ctx, "cross_entropy")? {
                    let labels = c.t("labels")?.to_dtype(DType::U32).grader()?;
                    let got = rg::cross_entropy(&c.t("logits")?, &labels).learner()?;
                    close(&c.label(), &got, &c.out()?, Tol::F32)?;
                }
                Ok(())
            }),
        DAY.exercise("softmax_regression_grad", "softmax regression gradients by hand")
            .pace(3, 40)
            .function("softmax_regression_grad")
            .forbid(&["backward", "Var::"])
            .check("vs torch autograd", |ctx| {
                for c in FX.cases(ctx, "softmax_regression_grad")? {
                    let labels = c.t("labels")?.to_dtype(DType::U32).grader()?;
                    let (dw, db) = rg::softmax_regression_grad(&c.t("x")?, &labels, &c.t("w")?, &c.t("b")?).learner()?;
                    close(&format!("dw of {}", c.label()), &dw, &c.out()?, Tol::F32)?;
                    close(&format!("db of {}", c.label()), &db, &c.t("db")?, Tol::F32)?;
                }
                Ok(())
            })
            .check("weights · 300 (logits in the hundreds): finite, vs the gradient computed here in f64", |ctx| {
                // Only a softmax shifted by the row maximum survives these logits in f32.
                let c = FX.cases(ctx, "softmax_regression_grad")?.into_iter().next().ok_or_else(|| Fail::Fixture("no softmax_regression_grad case".into()))?;
                let (x, w, b) = (c.t("x")?, (c.t("w")? * 300.0).grader()?, c.t("b")?);
                let labels = c.t("labels")?.to_dtype(DType::U32).grader()?;
                let logits = x.matmul(&w).grader()?.broadcast_add(&b).grader()?;
                let g = crate::independent::xent_grad(&logits, &labels)?;
                let (dw, db) = rg::softmax_regression_grad(&x, &labels, &w, &b).learner()?;
                // Sums of n ≤ 64 products of O(1) values: f32 rounding ~1e-6 of the largest terms.
                close("dw (w · 300)", &dw, &crate::independent::t_matmul(&x, &g)?, Tol { abs: 1e-5, rel: 1e-4 })?;
                close("db (w · 300)", &db, &g.sum(0).grader()?, Tol { abs: 1e-5, rel: 1e-4 })
            }),
        DAY.exercise("predict", "class predictions").pace(1, 10).function("predict").check("argmax of the logits", |ctx| {
            for c in FX.cases(ctx, "softmax_regression_grad")? {
                let (x, w, b) = (c.t("x")?, c.t("w")?, c.t("b")?);
                let got = rg::predict(&x, &w, &b).learner()?;
                let logits = x.matmul(&w).grader()?.broadcast_add(&b).grader()?.to_vec2::<f32>().grader()?;
                let want: Vec<u32> = logits.iter().map(|r| r.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).unwrap().0 as u32).collect();
                exact(&c.label(), &got, &Tensor::new(want, &ctx.device).on_learner()?)?;
            }
            Ok(())
        }),
        DAY.exercise("train_softmax_regression", "softmax regression on MNIST (≥ 90 % held out)")
            .pace(3, 45)
            .function("train_softmax_regression")
            .timeout(std::time::Duration::from_secs(40))
            .check("one epoch of one full batch from zero: w = −lr·dw and b = −lr·db at p = 1/10, vs the gradient in f64", |ctx| {
                // From zero weights every class has probability 1/10, so the first gradient is
                // (1/10 − onehot) / B through xᵀ and the column sums; one batch of all 50 images
                // makes the shuffle irrelevant.
                let m = crate::data::mnist(&ctx.device)?;
                let (x, y) = (m.train_images.narrow(0, 0, 50).grader()?, m.train_labels.narrow(0, 0, 50).grader()?);
                let lr = 0.5;
                let (w, b) = rg::train_softmax_regression(&x, &y, 1, 50, lr, &mut rand_chacha::ChaCha8Rng::seed_from_u64(0)).learner()?;
                let (xv, yv) = (crate::compare::to_f64(&x)?, crate::compare::to_f64(&y)?);
                let (n, d) = (50usize, 784usize);
                let mut dw = vec![0f64; d * 10];
                let mut db = [0f64; 10];
                for r in 0..n {
                    for c in 0..10 {
                        let g = (0.1 - f64::from(u8::from(yv[r] as usize == c))) / n as f64;
                        db[c] += g;
                        for k in 0..d {
                            dw[k * 10 + c] += xv[r * d + k] * g;
                        }
                    }
                }
                let want_w = Tensor::new(dw.iter().map(|g| (-lr * g) as f32).collect::<Vec<_>>(), &ctx.device).grader()?.reshape((d, 10)).grader()?;
                let want_b = Tensor::new(db.iter().map(|g| (-lr * g) as f32).collect::<Vec<_>>(), &ctx.device).grader()?;
                close("w after one step", &w, &want_w, Tol { abs: 1e-6, rel: 1e-4 })?;
                close("b after one step", &b, &want_b, Tol { abs: 1e-6, rel: 1e-4 })
            })
            .check("held-out accuracy ≥ 90 %", |ctx| {
                let m = crate::data::mnist(&ctx.device)?;
                let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
                let (w, b) = rg::train_softmax_regression(&m.train_images, &m.train_labels, 5, 100, 0.5, &mut rng).learner()?;
                crate::check::shape_is("w", &w, &[784, 10])?;
                crate::check::shape_is("b", &b, &[10])?;
                let acc = accuracy(&m.test_images, &m.test_labels, &w, &b)?;
                let train_acc = accuracy(&m.train_images, &m.train_labels, &w, &b)?;
                ctx.note(format!("held-out accuracy {:.2} % (training {:.2} %); {}", 100.0 * acc, 100.0 * train_acc, m.split));
                ensure(acc >= 0.90, || {
                    format!(
                        "held-out accuracy is {:.2} % (training {:.2} %), needs ≥ 90 % ({}; 5 epochs, batch 100, lr 0.5)",
                        100.0 * acc,
                        100.0 * train_acc,
                        m.split
                    )
                })
            }),
    ]
}
