//! Checks for week5 day "feature_vis": jitter, total variation, the regularised objective (and
//! their gradients) and 20 steps of activation maximisation against torch on the trained
//! week-5 CNN (fixtures/gen/week5_feature_vis.py); then, by properties, that the regularisers
//! make smoother pictures that still excite their unit, with the pictures for the book.

use super::adversarial::model;
use crate::cases::FixtureFile;
use crate::check::{ensure, Fail, Learner};
use crate::compare::{close, close_with, Candidate, Tol};
use crate::registry::{Day, Exercise};
use crate::subject::week5::feature_vis as fv;
use candle_core::{Tensor, Var};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const FX: FixtureFile = FixtureFile::new("week5/feature_vis.safetensors");

/// A shift moves values without arithmetic: they must be equal.
const MOVE: Tol = Tol::EXACT;

/// Sums of up to 2 × 1,512 squared differences of values in [0, 1], and the CNN's activations
/// (sums of ≤ 784 products): f32 rounding in another order, relative 1e-5.
const SUM: Tol = Tol { abs: 1e-5, rel: 1e-5 };

/// Twenty steps of gradient ascent through the CNN. Most pixels end clamped at 0 or 1, where
/// candle and torch agree exactly; the blurred case differs by at most 1.2e-7 on the CPU
/// (AMD EPYC, AVX2). The clamp is continuous, so rounding is not amplified; 1e-4 leaves room
/// for other CPUs and CUDA, while a wrong sign, step or blur moves pixels by 1e-2 or more.
const STEPS: Tol = Tol { abs: 1e-4, rel: 1e-4 };

fn target(kind: usize, index: usize) -> fv::Target {
    if kind == 0 {
        fv::Target::Channel(index)
    } else {
        fv::Target::Class(index)
    }
}

const DAY: Day = Day::new("week5", "feature_vis", "src/feature_vis.rs");

pub fn exercises() -> Vec<Exercise> {
    vec![
        DAY.exercise("jitter", "shift an image with wrap-around").pace(2, 20).function("jitter")
            .check("vs torch.roll, and the gradient flows back", |ctx| {
                for c in FX.cases(ctx, "jitter")? {
                    let (x, dy, dx) = (c.t("x")?, c.values("dy")?[0] as i64, c.values("dx")?[0] as i64);
                    let got = fv::jitter(&x, dy, dx).learner()?;
                    let b = x.dim(0).grader()?;
                    let roll = |a: i64, bb: i64| -> Result<Tensor, Fail> {
                        x.reshape((b, 28, 28)).grader()?.roll(a as i32, 1).grader()?.roll(bb as i32, 2).grader()?.reshape((b, 784)).grader()
                    };
                    let back = Candidate { description: "the image shifted the other way: output pixel (r, c) is input pixel (r − dy, c − dx)", tensor: roll(-dy, -dx)? };
                    let swapped = Candidate { description: "dy and dx swapped: dy moves rows (the first image axis), dx columns", tensor: roll(dx, dy)? };
                    close_with(&c.label(), &got, &c.out()?, MOVE, &[back, swapped])?;
                }
                let c = &FX.cases(ctx, "jitter")?[1];
                let v = Var::from_tensor(&c.t("x")?).grader()?;
                let w = Tensor::rand(0f32, 1f32, (1, 784), &ctx.device).grader()?;
                let y = fv::jitter(v.as_tensor(), 2, -3).learner()?;
                let grads = (y * &w).on_learner()?.sum_all().on_learner()?.backward().learner()?;
                let g = grads.get(v.as_tensor()).cloned().ok_or_else(|| Fail::Mismatch("no gradient flows back through jitter: build it from narrow and cat (no copy through Vec<f32>)".into()))?;
                let want = w.reshape((1, 28, 28)).grader()?.roll(-2, 1).grader()?.roll(3, 2).grader()?.reshape((1, 784)).grader()?;
                close("the gradient of Σ w · jitter(x, 2, −3) with respect to x (w shifted back)", &g, &want, MOVE)
            }),
        DAY.exercise("total_variation", "a frequency penalty: squared differences of neighbours").pace(1, 15).function("total_variation")
            .check("vs torch (value and gradient)", |ctx| {
                for c in FX.cases(ctx, "tv")? {
                    let x = c.t("x")?;
                    let v = Var::from_tensor(&x).grader()?;
                    let got = fv::total_variation(v.as_tensor()).learner()?;
                    let b = x.dim(0).grader()?;
                    let im = x.reshape((b, 28, 28)).grader()?;
                    let d1 = (im.narrow(1, 1, 27).grader()? - im.narrow(1, 0, 27).grader()?).grader()?;
                    let d2 = (im.narrow(2, 1, 27).grader()? - im.narrow(2, 0, 27).grader()?).grader()?;
                    let abs = Candidate { description: "the sum of absolute differences (TV with |·|): this penalty squares them", tensor: (d1.abs().grader()?.sum_all().grader()? + d2.abs().grader()?.sum_all().grader()?).grader()? };
                    let one_axis = Candidate { description: "the vertical neighbours only: add the horizontal ones", tensor: d1.sqr().grader()?.sum_all().grader()? };
                    close_with(&c.label(), &got, &c.out()?, SUM, &[abs, one_axis])?;
                    let grads = got.backward().learner()?;
                    let g = grads.get(v.as_tensor()).cloned().ok_or_else(|| Fail::Mismatch("no gradient reached x".into()))?;
                    close(&format!("d TV / d x, {}", c.label()), &g, &c.t("grad")?, SUM)?;
                }
                Ok(())
            }),
        DAY.exercise("objective", "the activation to maximise, minus the penalties").pace(2, 20).function("objective")
            .check("vs torch (value and gradient; channels and classes)", |ctx| {
                let cnn = model(ctx)?;
                for c in FX.cases(ctx, "objective")? {
                    let x = c.t("x")?;
                    let reg = fv::Regularisers { l2: c.f("l2")?, tv: c.f("tv")?, blur: 0.0 };
                    let v = Var::from_tensor(&x).grader()?;
                    let tg = target(c.n("kind")?, c.n("index")?);
                    let got = fv::objective(&cnn, v.as_tensor(), tg, &reg).learner()?;
                    let penalties = ((x.sqr().grader()?.sum_all().grader()? * reg.l2).grader()? + (fv_tv(&x)? * reg.tv).grader()?).grader()?;
                    let plus = Candidate { description: "the penalties added: they must be subtracted, so that maximising keeps the image small and smooth", tensor: (c.out()? + (&penalties * 2.0).grader()?).grader()? };
                    close_with(&c.label(), &got, &c.out()?, SUM, &[plus])?;
                    let grads = got.backward().learner()?;
                    let g = grads.get(v.as_tensor()).cloned().ok_or_else(|| Fail::Mismatch("no gradient reached the image: the objective must be built from x by tensor operations".into()))?;
                    close(&format!("d objective / d x, {}", c.label()), &g, &c.t("grad")?, SUM)?;
                }
                Ok(())
            }),
        DAY.exercise("visualise", "activation maximisation with jitter, L2, TV and blur").pace(2, 30).function("visualise")
            .timeout(std::time::Duration::from_secs(60))
            .check("20 steps vs torch (no regulariser; L2 and TV; everything and blur)", |ctx| {
                let cnn = model(ctx)?;
                for c in FX.cases(ctx, "visualise")? {
                    let reg = fv::Regularisers { l2: c.f("l2")?, tv: c.f("tv")?, blur: c.f("blur")? };
                    let tg = target(c.n("kind")?, c.n("index")?);
                    let shifts: Vec<(i64, i64)> = c.t("shifts")?.to_vec2::<i64>().grader()?.iter().map(|r| (r[0], r[1])).collect();
                    let x0 = c.t("x0")?;
                    let got = fv::visualise(&cnn, &x0, tg, &reg, c.f("lr")?, &shifts).learner()?;
                    if let (Ok(before), Ok(after)) = (fv::objective(&cnn, &x0, tg, &reg), fv::objective(&cnn, &got, tg, &reg)) {
                        let (b, a) = (before.to_scalar::<f32>().on_learner()?, after.to_scalar::<f32>().on_learner()?);
                        ensure(a > b || !b.is_finite(), || format!("{}: the objective fell from {b:.4} to {a:.4} over 20 steps: ascent adds lr · gradient", c.label()))?;
                    }
                    close(&c.label(), &got, &c.out()?, STEPS)?;
                }
                Ok(())
            })
            .check("the regularisers smooth the pictures, which still excite their units (pictures for the book)", |ctx| {
                let cnn = model(ctx)?;
                let mut rng = ChaCha8Rng::seed_from_u64(3);
                let x0 = Tensor::from_vec((0..784).map(|_| 0.5 + 0.5 * (rng.random::<f32>() - 0.5)).collect::<Vec<f32>>(), (1, 784), &ctx.device).grader()?;
                let moving: Vec<(i64, i64)> = (0..60).map(|_| (rng.random_range(-2..=2), rng.random_range(-2..=2))).collect();
                // A channel that is 0 everywhere on the start image has no gradient to climb:
                // the first 8 channels alive on it are drawn.
                let start = cnn.features(&x0).grader()?.mean((2, 3)).grader()?.flatten_all().grader()?.to_vec1::<f32>().grader()?;
                let alive: Vec<usize> = (0..start.len()).filter(|&c| start[c] > 0.0).take(8).collect();
                ensure(alive.len() >= 4, || format!("only {} of the CNN's 16 channels respond to the start image", alive.len()))?;
                let classes: Vec<fv::Target> = (0..10).map(fv::Target::Class).collect();
                let channels: Vec<fv::Target> = alive.iter().map(|&c| fv::Target::Channel(c)).collect();
                // (targets, step size, the regularisers, the picture): logits move ~40 times
                // faster per pixel than a channel's mean, hence the step sizes.
                let runs = [
                    (classes, 0.05, fv::Regularisers { l2: 0.005, tv: 0.02, blur: 0.5 }, "week5/feature_vis_classes.png"),
                    (channels, 2.0, fv::Regularisers { l2: 0.0005, tv: 0.002, blur: 0.3 }, "week5/feature_vis_channels.png"),
                ];
                for (targets, lr, all, picture) in runs {
                    let none = fv::Regularisers { l2: 0.0, tv: 0.0, blur: 0.0 };
                    let (mut rows_none, mut rows_all) = (Vec::new(), Vec::new());
                    let (mut tv_none, mut tv_all) = (0.0, 0.0);
                    for &tg in &targets {
                        let a = fv::visualise(&cnn, &x0, tg, &none, lr, &vec![(0, 0); 60]).learner()?;
                        let b = fv::visualise(&cnn, &x0, tg, &all, lr, &moving).learner()?;
                        // The unit's activation and the regularised objective, by the grader.
                        let act = |x: &Tensor| -> Result<f32, Fail> {
                            let t = match tg {
                                fv::Target::Channel(c) => cnn.features(x).learner()?.narrow(1, c, 1).on_learner()?,
                                fv::Target::Class(k) => cnn.forward(x).learner()?.narrow(1, k, 1).on_learner()?,
                            };
                            t.mean_all().on_learner()?.to_scalar::<f32>().on_learner()
                        };
                        let reg_obj = |x: &Tensor| -> Result<f32, Fail> {
                            let pen = x.sqr().grader()?.sum_all().grader()?.to_scalar::<f32>().grader()? as f64 * all.l2 + fv_tv(x)?.to_scalar::<f32>().grader()? as f64 * all.tv;
                            Ok(act(x)? - pen as f32)
                        };
                        let (a0, aa) = (act(&x0)?, act(&a)?);
                        ensure(aa > a0, || format!("{tg:?}: activation {a0:.4} at the start, {aa:.4} after 60 plain steps: it should rise"))?;
                        let (r0, rb) = (reg_obj(&x0)?, reg_obj(&b)?);
                        ensure(rb > r0, || format!("{tg:?}: the regularised objective {r0:.4} at the start, {rb:.4} after 60 regularised steps: it should rise"))?;
                        tv_none += fv_tv(&a)?.to_scalar::<f32>().grader()? as f64;
                        tv_all += fv_tv(&b)?.to_scalar::<f32>().grader()? as f64;
                        rows_none.push(a.reshape((28, 28)).grader()?);
                        rows_all.push(b.reshape((28, 28)).grader()?);
                    }
                    ctx.note(format!("{}: total variation {tv_none:.1} without regularisers, {tv_all:.1} with L2, TV, jitter and blur", if picture.contains("classes") { "the ten classes" } else { "channels" }));
                    let grid = Tensor::cat(&[Tensor::cat(&rows_none, 1).grader()?, Tensor::cat(&rows_all, 1).grader()?], 0).grader()?;
                    crate::picture::heatmap(&ctx.artefact(picture)?, &grid, 4)?;
                    ensure(tv_all < 0.5 * tv_none, || format!("the regularised pictures' total variation {tv_all:.1} is not below half the plain ones' {tv_none:.1}: are the penalties subtracted, and the blur applied after each step?"))?;
                }
                Ok(())
            }),
    ]
}

/// The squared total variation, by the grader.
fn fv_tv(x: &Tensor) -> Result<Tensor, Fail> {
    let b = x.dim(0).grader()?;
    let im = x.reshape((b, 28, 28)).grader()?;
    let d1 = (im.narrow(1, 1, 27).grader()? - im.narrow(1, 0, 27).grader()?).grader()?.sqr().grader()?.sum_all().grader()?;
    let d2 = (im.narrow(2, 1, 27).grader()? - im.narrow(2, 0, 27).grader()?).grader()?.sqr().grader()?.sum_all().grader()?;
    (d1 + d2).grader()
}
