//! Checks for week0 day "wavenet": FlattenConsecutive against torch's reshape, the n-d
//! BatchNorm against nn.BatchNorm1d and by its reshape property, the hierarchical forward pass
//! against torch in training and evaluation mode (fixtures/gen/week0_mlp.py, `wn.*`), and the
//! long training target (dev loss ≤ 2.03).

use super::{indices, torch_split, FX_MLP as FX};
use crate::check::{ensure, Ctx, Fail, Learner};
use crate::compare::{close, exact, Tol};
use crate::registry::{Day, Exercise};
use crate::subject::week0::mlp::build_dataset;
use crate::subject::week0::wavenet::{self as wn, Level, WaveNet};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::time::{Duration, Instant};

const DAY: Day = Day::new("week0", "wavenet", "src/wavenet.rs");

const NO_NN: &[&str] = &["BatchNorm", "batch_norm", "candle_nn::loss", "ops::log_softmax"];

/// The fixture's BatchNorm level (`bn.*`: gamma, beta and the running statistics before the
/// training-mode step; `w` is unused by batchnorm_nd).
fn bn_level(fx: &crate::check::Fixture) -> Result<Level, Fail> {
    Ok(Level {
        w: fx.get("bn.gamma")?,
        gamma: fx.get("bn.gamma")?,
        beta: fx.get("bn.beta")?,
        running_mean: fx.get("bn.running_mean")?,
        running_var: fx.get("bn.running_var")?,
    })
}

fn model(ctx: &Ctx) -> Result<WaveNet, Fail> {
    let fx = FX.open(ctx)?;
    let levels = (0..3)
        .map(|i| {
            let g = |n: &str| fx.get(&format!("wn.{i}.{n}"));
            Ok(Level { w: g("W")?, gamma: g("gamma")?, beta: g("beta")?, running_mean: g("running_mean")?, running_var: g("running_var")? })
        })
        .collect::<Result<Vec<_>, Fail>>()?;
    Ok(WaveNet { c: fx.get("wn.C")?, levels, w_out: fx.get("wn.W_out")?, b_out: fx.get("wn.b_out")? })
}

pub fn exercises() -> Vec<Exercise> {
    vec![
        DAY.exercise("flatten_consecutive", "FlattenConsecutive: pairs of positions side by side").pace(2, 20).function("flatten_consecutive").check(
            "n = 2 and n = 8 (the middle axis dropped) vs torch",
            |ctx| {
                let fx = FX.open(ctx)?;
                let x = fx.get("wn.flatten.x")?;
                exact("flatten_consecutive(x [3, 8, 5], 2)", &wn::flatten_consecutive(&x, 2).learner()?, &fx.get("wn.flatten.out2")?)?;
                exact("flatten_consecutive(x [3, 8, 5], 8)", &wn::flatten_consecutive(&x, 8).learner()?, &fx.get("wn.flatten.out8")?)
            },
        ),
        DAY.exercise("batchnorm_nd", "BatchNorm over every axis but the last")
            .pace(2, 30)
            .function("batchnorm_nd")
            .forbid(NO_NN)
            .check("2-D, training and eval mode, vs nn.BatchNorm1d", |ctx| {
                let fx = FX.open(ctx)?;
                let lv = bn_level(&fx)?;
                let x = fx.get("bn.x")?;
                // Means and variances of 32 values: a few f32 ulps of outputs ~3.
                close("batchnorm_nd(x [32, 64], training)", &wn::batchnorm_nd(&x, &lv, true).learner()?, &fx.get("bn.y_train")?, Tol { abs: 2e-5, rel: 1e-5 })?;
                // The fixture's eval output uses the running statistics after the training-mode step.
                let lv = Level { running_mean: fx.get("bn.new_running_mean")?, running_var: fx.get("bn.new_running_var")?, ..lv };
                close("batchnorm_nd(x [32, 64], eval)", &wn::batchnorm_nd(&x, &lv, false).learner()?, &fx.get("bn.y_eval")?, Tol { abs: 2e-5, rel: 1e-5 })
            })
            .check("3-D input [4, 8, 64] equals the 2-D result on [32, 64] (statistics over batch and positions)", |ctx| {
                let fx = FX.open(ctx)?;
                let lv = bn_level(&fx)?;
                let x3 = fx.get("bn.x")?.reshape((4, 8, 64)).grader()?;
                let got = wn::batchnorm_nd(&x3, &lv, true).learner()?;
                ensure(got.dims() == [4, 8, 64], || format!("shape {:?}, expected [4, 8, 64]", got.dims()))?;
                close(
                    "batchnorm_nd(x [4, 8, 64], training) reshaped to [32, 64]",
                    &got.reshape((32, 64)).on_learner()?,
                    &fx.get("bn.y_train")?,
                    Tol { abs: 2e-5, rel: 1e-5 },
                )
            })
            .check("nearly constant features (variance ≪ eps) vs BatchNorm in f64", |ctx| {
                // Each feature varies by 1e-3 over the batch (variance ~1e-7): eps = 1e-5 decides
                // the scale, so a wrong eps is off by ~30 % and var − eps has no square root.
                let fx = FX.open(ctx)?;
                let lv = bn_level(&fx)?;
                let x = crate::independent::nearly_constant_columns(32, 64, 1e-3, &ctx.device)?;
                let want = crate::independent::batchnorm_rows(&x, &lv.gamma, &lv.beta, 1e-5)?;
                // x − mean keeps ~5 digits in f32 here; outputs are O(0.3): 1e-4 absolute (the reference is off by 1.4e-5;
                // eps doubled moves them by ~30 %).
                close("batchnorm_nd(nearly constant x [32, 64], training)", &wn::batchnorm_nd(&x, &lv, true).learner()?, &want, Tol { abs: 1e-4, rel: 0.0 })
            }),
        DAY.exercise("forward", "the hierarchical forward pass")
            .pace(2, 25)
            .function("wavenet_forward")
            .forbid(NO_NN)
            .check("logits vs torch, training mode (batch statistics)", |ctx| {
                let got = wn::wavenet_forward(&model(ctx)?, &indices(ctx, FX, "wn.x")?, true).learner()?;
                // Three levels of f32 matmuls (≤ 32 terms) and normalisations: ~1e-6 errors.
                close("wavenet_forward(x [6, 8], training)", &got, &FX.open(ctx)?.get("wn.logits_train")?, Tol { abs: 1e-4, rel: 1e-4 })
            })
            .check("logits vs torch, evaluation mode (running statistics)", |ctx| {
                let got = wn::wavenet_forward(&model(ctx)?, &indices(ctx, FX, "wn.x")?, false).learner()?;
                close("wavenet_forward(x [6, 8], eval)", &got, &FX.open(ctx)?.get("wn.logits_eval")?, Tol { abs: 1e-4, rel: 1e-4 })
            }),
        DAY.exercise("train_long", "train the WaveNet to dev loss ≤ 2.03 (--long)")
            .pace(3, 45)
            .function("train_wavenet")
            .long()
            // The reference needs several minutes on two shared CPU cores (see the book page);
            // 30 minutes is the ceiling for slower code and machines.
            .timeout(Duration::from_secs(1800))
            .check("dev loss ≤ 2.03 (evaluation mode)", |ctx| {
                let (train, dev, _) = torch_split(ctx)?;
                let tr = build_dataset(&train, 8, &ctx.device).learner()?;
                let dv = build_dataset(&dev, 8, &ctx.device).learner()?;
                let t0 = Instant::now();
                let (m, reported) = wn::train_wavenet(&tr, &dv, &mut ChaCha8Rng::seed_from_u64(42)).learner()?;
                let logits = wn::wavenet_forward(&m, &dv.0, false).learner()?;
                let loss = candle_nn::loss::cross_entropy(&logits, &dv.1).on_learner()?.to_scalar::<f32>().on_learner()?;
                ctx.note(format!("wavenet: dev loss {loss:.4} (reported {reported:.4}) in {:.1} s", t0.elapsed().as_secs_f64()));
                ensure(loss <= 2.03, || format!("dev loss {loss:.4} > 2.03"))
            }),
    ]
}
