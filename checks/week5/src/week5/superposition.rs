//! Checks for week5 day "superposition": the toy model's forward pass and loss against torch
//! (fixtures/gen/week5_superposition.py), the feature sampler against a replay of the stated
//! random stream and against its distribution, training against the grader's replay of the
//! stated recipe for 20 steps, and the geometry that training must find
//! (independent properties of the learned directions: all five features in two dimensions at
//! high sparsity, spread as a regular pentagon; only the two most important when dense).

use crate::cases::FixtureFile;
use crate::check::{ensure, CheckResult, Ctx, Fail, Learner};
use crate::compare::{close, scalar_close, Tol};
use crate::registry::{Day, Exercise};
use crate::subject::week5::superposition as sp;
use candle_core::{Tensor, Var};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const FX: FixtureFile = FixtureFile::new("week5/superposition.safetensors");

const DAY: Day = Day::new("week5", "superposition", "src/superposition.rs");

const CASES: [&str; 2] = ["small", "large"];

fn fixture_model(ctx: &Ctx, case: &str) -> Result<sp::ToyModel, Fail> {
    let fx = FX.open(ctx)?;
    Ok(sp::ToyModel { w: Var::from_tensor(&fx.get(&format!("{case}.w"))?).grader()?, b: Var::from_tensor(&fx.get(&format!("{case}.b"))?).grader()? })
}

fn forward(ctx: &Ctx) -> CheckResult {
    let fx = FX.open(ctx)?;
    for case in CASES {
        let m = fixture_model(ctx, case)?;
        let out = m.forward(&fx.get(&format!("{case}.x"))?).learner()?;
        // Two small matmuls of f32 values below 2.
        close(&format!("{case}: the reconstruction"), &out, &fx.get(&format!("{case}.out"))?, Tol::new(1e-6, 1e-5))?;
        // The gradient through the learner's forward and the grader's own loss.
        let (x, imp) = (fx.get(&format!("{case}.x"))?, fx.get(&format!("{case}.importance"))?);
        let loss = (&x - &out).grader()?.sqr().grader()?.broadcast_mul(&imp).grader()?.sum(1).grader()?.mean_all().grader()?;
        let g = loss.backward().on_learner()?;
        for (what, v, key) in [("W", &m.w, "grad_w"), ("b", &m.b, "grad_b")] {
            let got = g.get(v.as_tensor()).ok_or_else(|| Fail::Mismatch(format!("{case}: no gradient reached {what}")))?;
            close(&format!("{case}: d loss / d {what}"), got, &fx.get(&format!("{case}.{key}"))?, Tol::new(1e-6, 1e-4))?;
        }
    }
    Ok(())
}

fn loss(ctx: &Ctx) -> CheckResult {
    let fx = FX.open(ctx)?;
    for case in CASES {
        let out = Var::from_tensor(&fx.get(&format!("{case}.out"))?).grader()?;
        let l = sp::toy_loss(out.as_tensor(), &fx.get(&format!("{case}.x"))?, &fx.get(&format!("{case}.importance"))?).learner()?;
        ensure(l.dims().is_empty(), || format!("{case}: the loss has shape {:?}, expected a scalar", l.dims()))?;
        scalar_close(&format!("{case}: loss"), l.to_scalar::<f32>().on_learner()? as f64, fx.f64(&format!("{case}.loss"))?, Tol::new(1e-6, 1e-5))?;
        let g = l.backward().on_learner()?;
        let got = g.get(out.as_tensor()).ok_or_else(|| Fail::Mismatch(format!("{case}: no gradient reached the reconstruction")))?;
        close(&format!("{case}: d loss / d out"), got, &fx.get(&format!("{case}.grad_out"))?, Tol::new(1e-7, 1e-4))?;
    }
    Ok(())
}

fn features(ctx: &Ctx) -> CheckResult {
    // The stated stream, replayed by the grader.
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let got = sp::feature_batch(8, 6, 0.6, &mut rng, &ctx.device).learner()?;
    ensure(got.dims() == [8, 6], || format!("a batch of 8 × 6 has shape {:?}", got.dims()))?;
    let mut replay = ChaCha8Rng::seed_from_u64(3);
    let want: Vec<f32> = (0..48).map(|_| if replay.random::<f32>() < 0.6 { 0.0 } else { replay.random::<f32>() }).collect();
    close("feature_batch(8, 6, 0.6) from seed 3 vs the stated draws", &got, &Tensor::from_vec(want, (8, 6), &ctx.device).grader()?, Tol::new(0.0, 0.0))?;
    ensure(rng.random::<u64>() == replay.random::<u64>(), || {
        "after the batch the generator is not where the stated draws leave it (one draw per zero, two per non-zero)".into()
    })?;
    // The distribution, at three sparsities.
    for s in [0.0, 0.7, 0.95] {
        let x = sp::feature_batch(1000, 20, s, &mut ChaCha8Rng::seed_from_u64(7), &ctx.device).learner()?;
        let v = crate::compare::to_f64(&x)?;
        let n = v.len() as f64;
        let zeros = v.iter().filter(|&&a| a == 0.0).count() as f64;
        // Binomial count of zeros: 5 standard deviations (plus one for s = 0).
        let sd = (n * s * (1.0 - s)).sqrt();
        ensure((zeros - n * s).abs() <= 5.0 * sd + 1.0, || {
            format!("sparsity {s}: {zeros} of {n} entries are zero, expected {:.0} ± {:.0}", n * s, 5.0 * sd + 1.0)
        })?;
        let live: Vec<f64> = v.iter().copied().filter(|&a| a != 0.0).collect();
        ensure(live.iter().all(|&a| (0.0..1.0).contains(&a)), || format!("sparsity {s}: a non-zero feature lies outside [0, 1)"))?;
        let mean = live.iter().sum::<f64>() / live.len() as f64;
        // Uniform on [0, 1): sd 1/√12 per value; 5 standard errors of the mean.
        let se = 5.0 / (12.0 * live.len() as f64).sqrt();
        ensure((mean - 0.5).abs() <= se, || format!("sparsity {s}: the non-zero features average {mean:.4}, expected 0.5 ± {se:.4} (uniform in [0, 1))"))?;
    }
    Ok(())
}

/// Each feature's direction (a column of `W`) as (x, y), and its length.
fn columns(m: &sp::ToyModel) -> Result<Vec<(f32, f32)>, Fail> {
    let w = m.w.as_tensor().to_vec2::<f32>().on_learner()?;
    ensure(w.len() == 2, || format!("W has {} rows, expected m = 2", w.len()))?;
    Ok((0..w[0].len()).map(|i| (w[0][i], w[1][i])).collect())
}

/// The grader's own replay of `feature_batch`'s stated draws.
fn replay_batch(batch: usize, n: usize, sparsity: f64, rng: &mut ChaCha8Rng, dev: &candle_core::Device) -> Result<Tensor, Fail> {
    let v: Vec<f32> = (0..batch * n).map(|_| if rng.random::<f32>() < sparsity as f32 { 0.0 } else { rng.random::<f32>() }).collect();
    Tensor::from_vec(v, (batch, n), dev).grader()
}

/// 20 steps of the stated recipe, replayed by the grader (the given initialisation, its own
/// batches and loss, candle's AdamW), against the learner's `train_toy` with the same seed.
fn recipe(ctx: &Ctx) -> CheckResult {
    let cfg = sp::ToyConfig { n: 6, m: 3, sparsity: 0.5, importance: vec![1.0, 0.8, 0.6, 0.5, 0.4, 0.3], steps: 20, lr: 3e-3 };
    let got = sp::train_toy(&cfg, &mut ChaCha8Rng::seed_from_u64(5), &ctx.device).learner()?;
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let want = sp::ToyModel::new(cfg.n, cfg.m, &mut rng, &ctx.device).grader()?;
    let imp = Tensor::from_slice(&cfg.importance, cfg.n, &ctx.device).grader()?;
    // candle's defaults but for the learning rate and no weight decay (its default is 0.01).
    let params = candle_nn::ParamsAdamW { weight_decay: 0.0, lr: cfg.lr, ..candle_nn::ParamsAdamW::default() };
    let mut opt = <candle_nn::AdamW as candle_nn::Optimizer>::new(vec![want.w.clone(), want.b.clone()], params).grader()?;
    for _ in 0..cfg.steps {
        let x = replay_batch(1024, cfg.n, cfg.sparsity, &mut rng, &ctx.device)?;
        let w = want.w.as_tensor();
        let out = x.matmul(&w.t().grader()?).grader()?.matmul(w).grader()?.broadcast_add(want.b.as_tensor()).grader()?.relu().grader()?;
        let loss = (&x - &out).grader()?.sqr().grader()?.broadcast_mul(&imp).grader()?.sum(1).grader()?.mean_all().grader()?;
        candle_nn::Optimizer::backward_step(&mut opt, &loss).grader()?;
    }
    // The same arithmetic in the same order: only summation-order rounding may differ.
    close("W after 20 steps (n 6, m 3, sparsity 0.5, lr 3e-3) vs the stated recipe", got.w.as_tensor(), want.w.as_tensor(), Tol::new(1e-5, 1e-4))?;
    close("b after 20 steps vs the stated recipe", got.b.as_tensor(), want.b.as_tensor(), Tol::new(1e-5, 1e-4))
}

fn geometry(ctx: &Ctx) -> CheckResult {
    // Sparse: every feature kept, as a regular pentagon.
    let sparse = sp::train_toy(
        &sp::ToyConfig { n: 5, m: 2, sparsity: 0.9, importance: vec![1.0; 5], steps: 2000, lr: 1e-2 },
        &mut ChaCha8Rng::seed_from_u64(0),
        &ctx.device,
    )
    .learner()?;
    let cols = columns(&sparse)?;
    let png = ctx.artefact("week5/superposition_sparse.png")?;
    crate::picture::arrows(&png, &cols, 240)?;
    let norms: Vec<f32> = cols.iter().map(|(x, y)| x.hypot(*y)).collect();
    // torch reaches lengths 1.09–1.12 with these settings; a dropped feature is below 0.1.
    ensure(norms.iter().all(|&l| (0.8..1.4).contains(&l)), || {
        format!("sparsity 0.9: feature lengths {norms:.2?}; all five should be represented, each of length about 1.1")
    })?;
    let mut angles: Vec<f32> = cols.iter().map(|(x, y)| y.atan2(*x).to_degrees()).collect();
    angles.sort_by(f32::total_cmp);
    let gaps: Vec<f32> = (0..5).map(|i| if i < 4 { angles[i + 1] - angles[i] } else { angles[0] + 360.0 - angles[4] }).collect();
    // A regular pentagon has gaps of 72°; torch's run has 71–73°.
    ensure(gaps.iter().all(|g| (g - 72.0).abs() <= 12.0), || {
        format!("sparsity 0.9: the angles between neighbouring features are {gaps:.0?}°; a pentagon has 72° each (picture: {})", png.display())
    })?;

    // Dense: only the two most important features kept.
    let imp: Vec<f32> = (0..5).map(|i| 0.9f32.powi(i)).collect();
    let dense =
        sp::train_toy(&sp::ToyConfig { n: 5, m: 2, sparsity: 0.0, importance: imp, steps: 2000, lr: 1e-2 }, &mut ChaCha8Rng::seed_from_u64(0), &ctx.device)
            .learner()?;
    let cols = columns(&dense)?;
    crate::picture::arrows(&ctx.artefact("week5/superposition_dense.png")?, &cols, 240)?;
    let norms: Vec<f32> = cols.iter().map(|(x, y)| x.hypot(*y)).collect();
    // torch: lengths 1.00, 1.00, then 0.02 and below.
    ensure(norms[0] > 0.8 && norms[1] > 0.8 && norms[2..].iter().all(|&l| l < 0.3), || {
        format!("dense features: lengths {norms:.2?}; the two most important should be kept (about 1) and the other three dropped (near 0)")
    })?;
    ctx.note(format!("pentagon: gaps {gaps:.0?}°; pictures in {}", png.parent().map(|p| p.display().to_string()).unwrap_or_default()));
    Ok(())
}

pub fn exercises() -> Vec<Exercise> {
    vec![
        DAY.exercise("toy_forward", "the toy model: compress with W, read back with Wᵀ and a ReLU")
            .pace(1, 10)
            .function("ToyModel::forward")
            .check("reconstruction and gradients vs torch (5 in 2, and 20 in 5)", forward),
        DAY.exercise("toy_loss", "the importance-weighted reconstruction error").pace(1, 10).function("toy_loss").check("value and gradient vs torch", loss),
        DAY.exercise("feature_batch", "sparse synthetic features")
            .pace(1, 10)
            .function("feature_batch")
            .check("the stated random draws, and the distribution at sparsity 0, 0.7 and 0.95", features),
        DAY.exercise("train_toy", "train it: a pentagon when features are sparse, two features when dense")
            .pace(2, 20)
            .function("train_toy")
            .check("20 steps equal the stated recipe (initialisation, batches, loss, AdamW) replayed by the grader", recipe)
            .check("5 features in 2 dimensions: all five at 72° from each other at sparsity 0.9; only the two most important when dense", geometry),
    ]
}
