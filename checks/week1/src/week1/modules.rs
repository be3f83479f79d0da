//! Checks for week1 day "modules": torch.nn layers against PyTorch
//! (fixtures/gen/week1_modules.py), Kaiming initialisation by statistics.

use crate::cases::FixtureFile;
use crate::check::{ensure, shape_is, Ctx, Fail, Learner};
use crate::compare::{close, scalar_close, Tol};
use crate::registry::{Day, Exercise};
use crate::subject::week1::modules::{self as md, Layer};
use candle_core::{DType, Tensor};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

const FX: FixtureFile = FixtureFile::new("week1/modules.safetensors");

/// Sums of up to 36 products (convolutions) or 8 (linear layers) of O(1) values, accumulated in
/// another order than PyTorch's kernels: a few ulps, observed ≤ 1.8e-7.
const SUMS: Tol = Tol { abs: 1e-5, rel: 1e-5 };
/// Normalisations divide by √(var + eps) computed from sums over ≤ 100 values: ≤ 4.8e-7 observed.
const NORM: Tol = Tol { abs: 2e-5, rel: 2e-5 };

fn names(v: &[(String, Tensor)]) -> Vec<String> {
    v.iter().map(|(n, _)| n.clone()).collect()
}

/// Statistical checks of `kaiming_uniform` draws: shape and dtype, every value within the
/// bound, the extremes reach it, and mean and variance within 5 standard errors of the
/// uniform distribution's (a correct implementation fails one of these with probability
/// below 1e-5 for any seed).
fn kaiming_stats(ctx: &Ctx, shape: &[usize], fan_in: usize, gain: f64, seed: u64) -> Result<(), Fail> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let t = md::kaiming_uniform(shape, fan_in, gain, &mut rng, &ctx.device).learner()?;
    let label = format!("kaiming_uniform({shape:?}, fan_in={fan_in}, gain={gain:.4})");
    shape_is(&label, &t, shape)?;
    ensure(t.dtype() == DType::F32, || format!("{label}: dtype {:?}, expected F32", t.dtype()))?;
    let v: Vec<f64> = t.flatten_all().on_learner()?.to_dtype(DType::F64).on_learner()?.to_vec1().on_learner()?;
    let n = v.len() as f64;
    let b = gain * (3.0 / fan_in as f64).sqrt();
    let max = v.iter().fold(0f64, |m, x| m.max(x.abs()));
    ensure(max <= b * (1.0 + 1e-6), || format!("{label}: a value {max:.6} exceeds the bound b = gain·√(3/fan_in) = {b:.6}"))?;
    ensure(max >= 0.99 * b, || {
        format!("{label}: the largest |value| is {max:.6}, but {n} draws from U(−b, b) reach 0.99·b = {:.6} (is b = gain·√(3/fan_in)?)", 0.99 * b)
    })?;
    let mean = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    let (want_var, se_mean, se_var) = (b * b / 3.0, b / (3.0 * n).sqrt(), b * b * (4.0 / 45.0 / n).sqrt());
    ensure((mean).abs() <= 5.0 * se_mean, || format!("{label}: mean {mean:.6}, expected 0 ± {:.6} (5 standard errors)", 5.0 * se_mean))?;
    ensure((var - want_var).abs() <= 5.0 * se_var, || {
        format!("{label}: variance {var:.6}, expected b²/3 = gain²/fan_in = {want_var:.6} ± {:.6} (5 standard errors)", 5.0 * se_var)
    })?;
    Ok(())
}

const DAY: Day = Day::new("week1", "modules", "src/modules.rs");

pub fn exercises() -> Vec<Exercise> {
    vec![
        DAY.exercise("kaiming_uniform", "Kaiming-uniform initialisation")
            .pace(2, 30)
            .check("statistics of 100,000 draws (ReLU gain)", |ctx| kaiming_stats(ctx, &[200, 500], 50, 2f64.sqrt(), 1))
            .check("statistics of 100,000 draws (PyTorch's default gain 1/√3)", |ctx| kaiming_stats(ctx, &[1000, 10, 10], 10, 1.0 / 3f64.sqrt(), 2))
            .check("a seed gives the same draws, another seed others", |ctx| {
                let draw = |seed| md::kaiming_uniform(&[64, 8], 8, 1.0, &mut ChaCha8Rng::seed_from_u64(seed), &ctx.device).learner();
                let (a, b, c) = (draw(7)?, draw(7)?, draw(8)?);
                close("two draws with seed 7", &a, &b, Tol::EXACT)?;
                let same = (a.eq(&c).on_learner()?.to_dtype(DType::F32).on_learner()?.mean_all().on_learner()?.to_scalar::<f32>().on_learner()?) as f64;
                ensure(same < 0.01, || format!("seeds 7 and 8 gave {:.0} % identical values: use the rng you are given", same * 100.0))
            }),
        DAY.exercise("linear", "nn.Linear")
            .pace(2, 35)
            .check("forward vs torch", |ctx| {
                let vb = FX.open(ctx)?.var_builder()?;
                for c in FX.cases(ctx, "linear")? {
                    let (out, inp) = c.t("weight")?.dims2().grader()?;
                    let has_bias = c.opt("bias")?.is_some();
                    let lin = md::Linear::load(vb.pp(format!("linear.{}", c.k)), inp, out, has_bias).learner()?;
                    close(&c.label(), &lin.forward(&c.t("x")?, false).learner()?, &c.out()?, SUMS)?;
                    let want: Vec<String> = if has_bias { vec!["lin.weight".into(), "lin.bias".into()] } else { vec!["lin.weight".into()] };
                    ensure(names(&lin.parameters("lin.")) == want, || {
                        format!("parameters(\"lin.\") names {:?}, expected {want:?}", names(&lin.parameters("lin.")))
                    })?;
                }
                Ok(())
            })
            .check("new: PyTorch's initialisation, trainable", |ctx| {
                let mut rng = ChaCha8Rng::seed_from_u64(3);
                let lin = md::Linear::new(400, 300, &mut rng, &ctx.device).learner()?;
                shape_is("Linear::new(400, 300) weight", &lin.weight, &[300, 400])?;
                let bias = lin.bias.as_ref().ok_or_else(|| Fail::Mismatch("Linear::new made no bias".into()))?;
                shape_is("Linear::new(400, 300) bias", bias, &[300])?;
                for (name, t) in [("weight", &lin.weight), ("bias", bias)] {
                    ensure(t.is_variable(), || format!("the {name} is not trainable: make it with Var::from_tensor and keep var.as_tensor()"))?;
                    let max = t.abs().on_learner()?.max_all().on_learner()?.to_scalar::<f32>().on_learner()? as f64;
                    ensure(max <= 1.0 / 20.0 + 1e-7 && max > 0.9 / 20.0, || {
                        format!("{name}: largest |value| {max:.5}; PyTorch draws from U(±1/√in) = U(±0.05)")
                    })?;
                }
                Ok(())
            }),
        DAY.exercise("conv2d", "nn.Conv2d")
            .pace(3, 40)
            .check("forward vs torch", |ctx| {
                let vb = FX.open(ctx)?.var_builder()?;
                for c in FX.cases(ctx, "conv2d")? {
                    let (out, inp, k, _) = c.t("weight")?.dims4().grader()?;
                    let has_bias = c.opt("bias")?.is_some();
                    let conv = md::Conv2d::load(vb.pp(format!("conv2d.{}", c.k)), inp, out, k, c.n("stride")?, c.n("padding")?, has_bias).learner()?;
                    close(&c.label(), &conv.forward(&c.t("x")?, false).learner()?, &c.out()?, SUMS)?;
                }
                Ok(())
            })
            .check("new: PyTorch's initialisation (fan_in = inputs · k · k), trainable", |ctx| {
                // 4 inputs, 3×3 kernels: fan_in = 36, bound 1/√36 = 1/6. A fan-in without the
                // kernel area (4), or divided by it, moves the bound by 3× or more; with 9,216
                // weight and 256 bias draws the largest |value| misses 0.9 of a correct bound
                // with probability below 1e-11.
                let conv = md::Conv2d::new(4, 256, 3, 1, 1, &mut ChaCha8Rng::seed_from_u64(5), &ctx.device).learner()?;
                shape_is("Conv2d::new(4, 256, 3, …) weight", &conv.weight, &[256, 4, 3, 3])?;
                let bias = conv.bias.as_ref().ok_or_else(|| Fail::Mismatch("Conv2d::new made no bias".into()))?;
                shape_is("Conv2d::new(4, 256, 3, …) bias", bias, &[256])?;
                let bound = 1.0 / 6.0;
                for (name, t) in [("weight", &conv.weight), ("bias", bias)] {
                    ensure(t.is_variable(), || format!("the {name} is not trainable: make it with Var::from_tensor and keep var.as_tensor()"))?;
                    let max = crate::compare::to_f64(t)?.iter().fold(0f64, |m, x| m.max(x.abs()));
                    ensure(max <= bound + 1e-7 && max > 0.9 * bound, || {
                        format!("{name}: largest |value| {max:.5}; PyTorch draws from U(±1/√fan_in) with fan_in = inputs · k · k = 36, i.e. U(±{bound:.5})")
                    })?;
                }
                Ok(())
            }),
        DAY.exercise("batchnorm2d", "nn.BatchNorm2d: train, eval, running statistics")
            .pace(3, 90)
            .check("three training batches then eval, vs torch", |ctx| {
                for c in FX.cases(ctx, "batchnorm2d")? {
                    let (w, b) = (c.t("weight")?, c.t("bias")?);
                    let mut bn = md::BatchNorm2d::new(w.dim(0).on_learner()?, c.f("momentum")?, 1e-5, &ctx.device).learner()?;
                    bn.weight = w;
                    bn.bias = b;
                    for step in 0..3 {
                        let label = format!("{} training batch {step}", c.label());
                        close(&format!("{label}: output"), &bn.forward(&c.t(&format!("x{step}"))?, true).learner()?, &c.t(&format!("out{step}"))?, NORM)?;
                        let bufs = bn.buffers("");
                        ensure(names(&bufs) == ["running_mean", "running_var"], || {
                            format!("buffers(\"\") names {:?}, expected [running_mean, running_var]", names(&bufs))
                        })?;
                        close(&format!("{label}: running_mean"), &bufs[0].1, &c.t(&format!("running_mean{step}"))?, NORM)?;
                        close(&format!("{label}: running_var (PyTorch stores the unbiased variance)"), &bufs[1].1, &c.t(&format!("running_var{step}"))?, NORM)?;
                    }
                    close(&format!("{} eval", c.label()), &bn.forward(&c.t("x_eval")?, false).learner()?, &c.out()?, NORM)?;
                }
                Ok(())
            })
            .check("nearly constant channels (variance ≪ eps) vs BatchNorm in f64", |ctx| {
                // Each channel varies by 1e-3 over batch and positions (variance ~1e-7): eps
                // decides the scale, so a wrong eps is off by ~30 % and var − eps is NaN.
                let (n, c, h, w) = (4, 3, 3, 3);
                let rows = crate::independent::nearly_constant_columns(n * h * w, c, 1e-3, &ctx.device)?;
                let (weight, bias) = (Tensor::new(&[1.5f32, -0.5, 2.0], &ctx.device).grader()?, Tensor::new(&[0.1f32, 0.2, -0.3], &ctx.device).grader()?);
                let want = crate::independent::batchnorm_rows(&rows, &weight, &bias, 1e-5)?;
                let nchw = |t: &Tensor| t.reshape((n, h, w, c))?.permute((0, 3, 1, 2))?.contiguous();
                let mut bn = md::BatchNorm2d::new(c, 0.1, 1e-5, &ctx.device).learner()?;
                bn.weight = weight;
                bn.bias = bias;
                let got = bn.forward(&nchw(&rows).grader()?, true).learner()?;
                // x − mean keeps ~5 digits in f32 here; outputs are O(1): 2e-4 absolute (the reference is
                // off by 1.6e-5; eps doubled moves them by ~30 %).
                close("BatchNorm2d(3) on nearly constant x [4, 3, 3, 3], training", &got, &nchw(&want).grader()?, Tol { abs: 2e-4, rel: 0.0 })
            }),
        DAY.exercise("groupnorm", "nn.GroupNorm")
            .pace(2, 30)
            .check("forward vs torch", |ctx| {
                for c in FX.cases(ctx, "groupnorm")? {
                    let gn = md::GroupNorm { groups: c.n("groups")?, weight: c.t("weight")?, bias: c.t("bias")?, eps: 1e-5 };
                    close(&c.label(), &gn.forward(&c.t("x")?, true).learner()?, &c.out()?, NORM)?;
                }
                Ok(())
            })
            .check("nearly constant groups (variance ≪ eps) vs the definition in f64", |ctx| {
                // Each group of [2, 4, 3, 3] (2 groups of 2 channels) varies by 1e-3: eps decides the
                // scale, so a wrong eps is off by ~30 % and var − eps is NaN.
                let (n, c, h, w, g) = (2, 4, 3, 3, 2);
                let rows = crate::independent::nearly_constant(n * g, c / g * h * w, 0.0, 1e-3, &ctx.device)?;
                let x = rows.reshape((n, c, h, w)).grader()?;
                let want = crate::independent::standardize_last(&rows, 1e-5)?.reshape((n, c, h, w)).grader()?;
                let gn = md::GroupNorm {
                    groups: g,
                    weight: Tensor::ones(c, candle_core::DType::F32, &ctx.device).grader()?,
                    bias: Tensor::zeros(c, candle_core::DType::F32, &ctx.device).grader()?,
                    eps: 1e-5,
                };
                // Values within [0, 2) that differ by ~1e-3 keep ~5 digits in f32; outputs are O(1).
                close("GroupNorm(2 groups) of nearly constant groups", &gn.forward(&x, true).learner()?, &want, Tol { abs: 2e-4, rel: 0.0 })
            }),
        DAY.exercise("relu", "nn.ReLU").pace(1, 10).check("max(x, 0)", |ctx| {
            let x = FX.open(ctx)?.get("groupnorm.0.x")?;
            let got = md::Relu.forward(&x, true).learner()?;
            let want: Vec<f32> = x.flatten_all().grader()?.to_vec1::<f32>().grader()?.into_iter().map(|v| if v > 0.0 { v } else { 0.0 }).collect();
            close("relu(x)", &got, &Tensor::from_vec(want, x.shape(), &ctx.device).on_learner()?, Tol::EXACT)
        }),
        DAY.exercise("pooling_layers", "nn.MaxPool2d and nn.AdaptiveAvgPool2d").pace(1, 10).check(
            "vs torch (the convolutions fixtures with square windows)",
            |ctx| {
                let file = FixtureFile::new("week1/convolutions.safetensors");
                for c in file.cases(ctx, "maxpool2d")? {
                    let (k, s, p) = (c.pair("kernel")?, c.pair("stride")?, c.pair("padding")?);
                    if k.0 != k.1 || s.0 != s.1 || p.0 != p.1 {
                        continue;
                    }
                    let pool = md::MaxPool2d { kernel: k.0, stride: s.0, padding: p.0 };
                    close(&c.label(), &pool.forward(&c.t("x")?, false).learner()?, &c.out()?, Tol::EXACT)?;
                }
                for c in file.cases(ctx, "adaptive_avgpool2d")? {
                    let pool = md::AdaptiveAvgPool2d { size: c.pair("size")? };
                    close(&c.label(), &pool.forward(&c.t("x")?, false).learner()?, &c.out()?, Tol::F32)?;
                }
                Ok(())
            },
        ),
        DAY.exercise("sequential", "nn.Sequential and named parameters").pace(2, 20).check("forward and state_dict names vs torch", |ctx| {
            let fx = FX.open(ctx)?;
            let vb = fx.var_builder()?.pp("sequential.0.state");
            let seq = md::Sequential {
                layers: vec![
                    Box::new(md::Linear::load(vb.pp("0"), 6, 8, true).learner()?),
                    Box::new(md::Relu),
                    Box::new(md::Linear::load(vb.pp("2"), 8, 3, true).learner()?),
                ],
            };
            close(
                "Sequential(Linear(6, 8), ReLU, Linear(8, 3))",
                &seq.forward(&fx.get("sequential.0.x")?, false).learner()?,
                &fx.get("sequential.0.out")?,
                SUMS,
            )?;
            let params = seq.parameters("");
            let want: Vec<String> = ["0.weight", "0.bias", "2.weight", "2.bias"].map(String::from).to_vec();
            ensure(names(&params) == want, || format!("parameters(\"\") gives {:?}; PyTorch's state_dict has {want:?}", names(&params)))?;
            for (name, t) in &params {
                close(&format!("parameter {name}"), t, &fx.get(&format!("sequential.0.state.{name}"))?, Tol::EXACT)?;
            }
            let deeper = md::Sequential { layers: vec![Box::new(md::Relu), Box::new(seq)] };
            let got = names(&deeper.parameters("net."));
            let want: Vec<String> = ["net.1.0.weight", "net.1.0.bias", "net.1.2.weight", "net.1.2.bias"].map(String::from).to_vec();
            ensure(got == want, || format!("a Sequential inside a Sequential: names {got:?}, expected {want:?}"))?;
            scalar_close("number of buffers", deeper.buffers("").len() as f64, 0.0, Tol::EXACT)
        }),
    ]
}
