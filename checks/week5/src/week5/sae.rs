//! Checks for week5 day "sparse_autoencoders": the SAE's forward pass, loss and gradients,
//! decoder normalisation, dead-latent resampling, five training steps and a 1,000-step run's
//! FVU, L0 and dead fraction, against torch on the same activations and weights
//! (fixtures/gen/week5_sae.py); as independent properties, unit decoder rows and a sparse code
//! that still reconstructs.

use crate::cases::FixtureFile;
use crate::check::{ensure, CheckResult, Ctx, Fail, Learner};
use crate::compare::{close, to_f64, Tol};
use crate::registry::{Day, Exercise};
use crate::subject::week5::sae as sa;
use candle_core::{Tensor, Var};

const FX: FixtureFile = FixtureFile::new("week5/sae.safetensors");

const DAY: Day = Day::new("week5", "sparse_autoencoders", "src/sae.rs");

const L1: f64 = 1.5;

/// An SAE from the fixture's tensors `<prefix>w_enc`, ….
fn sae(ctx: &Ctx, prefix: &str) -> Result<sa::Sae, Fail> {
    let fx = FX.open(ctx)?;
    let v = |n: &str| -> Result<Var, Fail> { Var::from_tensor(&fx.get(&format!("{prefix}{n}"))?).grader() };
    Ok(sa::Sae { w_enc: v("w_enc")?, b_enc: v("b_enc")?, w_dec: v("w_dec")?, b_dec: v("b_dec")? })
}

fn same(what: &str, s: &sa::Sae, ctx: &Ctx, prefix: &str, tol: Tol) -> CheckResult {
    let fx = FX.open(ctx)?;
    for (n, v) in [("w_enc", &s.w_enc), ("b_enc", &s.b_enc), ("w_dec", &s.w_dec), ("b_dec", &s.b_dec)] {
        close(&format!("{what}: {n} vs torch"), v.as_tensor(), &fx.get(&format!("{prefix}{n}"))?, tol)?;
    }
    Ok(())
}

/// The residual stream entering layer 1 at every letter of the 2,000 training names, through
/// the learner's forward pass (checked on the hooks day): `[12199, 64]`.
fn activations(ctx: &Ctx) -> Result<Tensor, Fail> {
    let m = super::steering::model(ctx)?;
    let tok = super::steering::names(ctx, "train")?;
    let act = super::hooks::recorded(&m, &tok, "blocks.1.resid_pre")?;
    let rows = tok.to_vec2::<u32>().grader()?;
    let mut parts = Vec::new();
    for (b, r) in rows.iter().enumerate() {
        let len = r[1..].iter().take_while(|&&c| c != 0).count();
        parts.push(act.get(b).grader()?.narrow(0, 1, len).grader()?);
    }
    Tensor::cat(&parts, 0).grader()
}

fn forward(ctx: &Ctx) -> CheckResult {
    let fx = FX.open(ctx)?;
    let s = sae(ctx, "")?;
    let x = fx.get("x")?;
    let (x_hat, f) = s.forward(&x).learner()?;
    close("latents f [31, 256] vs torch", &f, &fx.get("f")?, Tol::new(1e-5, 1e-4))?;
    close("reconstruction x̂ [31, 64] vs torch", &x_hat, &fx.get("x_hat")?, Tol::new(1e-4, 1e-4))?;
    let loss = sa::sae_loss(&x, &x_hat, &f, L1).learner()?;
    close("loss (λ = 1.5) vs torch", &loss.reshape(1).grader()?, &fx.get("loss")?, Tol::new(1e-4, 1e-5))?;
    let g = loss.backward().on_learner()?;
    for (n, v) in [("w_enc", &s.w_enc), ("b_enc", &s.b_enc), ("w_dec", &s.w_dec), ("b_dec", &s.b_dec)] {
        let got = g.get(v.as_tensor()).ok_or_else(|| Fail::Mismatch(format!("no gradient reached {n}")))?;
        close(&format!("∂loss/∂{n} vs torch"), got, &fx.get(&format!("grad.{n}"))?, Tol::new(1e-4, 1e-4))?;
    }
    Ok(())
}

fn normalise(ctx: &Ctx) -> CheckResult {
    let fx = FX.open(ctx)?;
    let s = sae(ctx, "")?;
    s.w_dec.set(&(fx.get("w_dec")? * 1.7).grader()?).grader()?;
    sa::normalise_decoder(&s).learner()?;
    close("W_dec (scaled by 1.7) after normalising vs torch", s.w_dec.as_tensor(), &fx.get("normalised.w_dec")?, Tol::new(1e-6, 1e-5))?;
    let norms = to_f64(&s.w_dec.as_tensor().sqr().grader()?.sum(1).grader()?)?;
    ensure(norms.iter().all(|n| (n - 1.0).abs() < 1e-5), || "a row of W_dec does not have unit length after normalising".into())
}

fn resample(ctx: &Ctx) -> CheckResult {
    let fx = FX.open(ctx)?;
    let s = sae(ctx, "")?;
    let dead: Vec<usize> = to_f64(&fx.get("dead")?)?.iter().map(|&v| v as usize).collect();
    sa::resample_dead(&s, &fx.get("x")?, &dead).learner()?;
    same(&format!("after resampling latents {dead:?}"), &s, ctx, "resampled.", Tol::new(1e-6, 1e-5))?;
    // Independent: every row competes. Scale row 0 by 5 so that it is the worst reconstructed
    // (the grader checks that it is), and latent 7 must take its error direction.
    let s = sae(ctx, "")?;
    let x = fx.get("x")?;
    let x = Tensor::cat(&[(x.narrow(0, 0, 1).grader()? * 5.0).grader()?, x.narrow(0, 1, x.dim(0).grader()? - 1).grader()?], 0).grader()?;
    let (x_hat, _) = s.forward(&x).learner()?;
    let err = (&x - &x_hat).grader()?;
    let e2 = to_f64(&err.sqr().grader()?.sum(1).grader()?)?;
    ensure(e2.iter().skip(1).all(|&v| v < e2[0]), || "(row 0 scaled by 5 should be the worst reconstructed)".into())?;
    sa::resample_dead(&s, &x, &[7]).learner()?;
    let e0 = err.get(0).grader()?;
    let unit = e0.broadcast_div(&e0.sqr().grader()?.sum_all().grader()?.sqrt().grader()?).grader()?;
    close(
        "W_dec[7] after resampling it on a batch whose row 0 is worst vs row 0's error direction",
        &s.w_dec.as_tensor().get(7).grader()?,
        &unit,
        Tol::new(1e-6, 1e-5),
    )
}

fn train(ctx: &Ctx) -> CheckResult {
    let fx = FX.open(ctx)?;
    let x = activations(ctx)?;
    ensure(x.dims() == [12199, 64], || format!("(activations {:?}, expected [12199, 64])", x.dims()))?;
    let s = sae(ctx, "")?;
    sa::train_sae(&s, &x, L1, 3e-3, 5).learner()?;
    // Five Adam steps: updates of lr = 3e-3 per step, computed from gradients within 1e-4.
    same("after 5 training steps", &s, ctx, "train.", Tol::new(2e-4, 1e-3))?;
    // The statistics, before any training: FVU and L0 vs torch; and with 10 latents that cannot
    // fire, a dead fraction of exactly 10 / 256.
    let s = sae(ctx, "")?;
    let st = sa::train_sae(&s, &x, L1, 3e-3, 0).learner()?;
    let init = to_f64(&fx.get("init.stats")?)?;
    ensure((st.fvu - init[0]).abs() < 1e-4 && (st.l0 - init[1]).abs() < 1e-3 && st.dead == init[2], || {
        format!("the untrained SAE: FVU {:.5}, L0 {:.3}, dead {:.4}; torch {:.5}, {:.3}, {:.4}", st.fvu, st.l0, st.dead, init[0], init[1], init[2])
    })?;
    let silenced: Vec<f32> = (0..256).map(|j| if j < 10 { -100.0 } else { -0.1 }).collect();
    s.b_enc.set(&Tensor::new(silenced.clone(), &ctx.device).grader()?).grader()?;
    let st = sa::train_sae(&s, &x, L1, 3e-3, 0).learner()?;
    ensure((st.dead - 10.0 / 256.0).abs() < 1e-9, || {
        format!("with latents 0..10 unable to fire the dead fraction is {:.5}, expected 10/256 = {:.5}", st.dead, 10.0 / 256.0)
    })?;
    // The resampling schedule, independently: latents 0..10 start with b_enc = −100, so they
    // can never fire (their gradients are exactly 0 and Adam leaves them where they are). After
    // exactly 200 steps they, and only they, must just have been resampled: b_enc exactly 0
    // and unit decoder rows.
    let s = sae(ctx, "")?;
    s.b_enc.set(&Tensor::new(silenced, &ctx.device).grader()?).grader()?;
    sa::train_sae(&s, &x, L1, 3e-3, 200).learner()?;
    let b = to_f64(s.b_enc.as_tensor())?;
    let zero: Vec<usize> = (0..256).filter(|&j| b[j] == 0.0).collect();
    ensure(zero == (0..10).collect::<Vec<_>>(), || {
        format!("after 200 steps from an SAE whose latents 0..10 cannot fire, the latents with b_enc exactly 0 (just resampled) are {zero:?}; expected exactly 0..10 (dead ones resampled after step 200, alive ones not)")
    })?;
    // "Fired" means above 0, however little: with a learning rate of 0 nothing moves, latents
    // 10..20 output exactly 0.5 on every row (zero encoder columns, bias 0.5), and after 200
    // steps only the silenced 0..10 are resampled.
    let s = sae(ctx, "")?;
    let w = s.w_enc.as_tensor().to_vec2::<f32>().grader()?;
    let w: Vec<Vec<f32>> = w.into_iter().map(|row| row.into_iter().enumerate().map(|(j, v)| if (10..20).contains(&j) { 0.0 } else { v }).collect()).collect();
    s.w_enc.set(&Tensor::new(w, &ctx.device).grader()?).grader()?;
    let b: Vec<f32> = (0..256)
        .map(|j| {
            if j < 10 {
                -100.0
            } else if j < 20 {
                0.5
            } else {
                -0.1
            }
        })
        .collect();
    s.b_enc.set(&Tensor::new(b, &ctx.device).grader()?).grader()?;
    sa::train_sae(&s, &x, L1, 0.0, 200).learner()?;
    let b = to_f64(s.b_enc.as_tensor())?;
    let zero: Vec<usize> = (0..256).filter(|&j| b[j] == 0.0).collect();
    ensure(zero == (0..10).collect::<Vec<_>>(), || {
        format!("with lr 0, latents 0..10 silenced and 10..20 outputting 0.5 everywhere, 200 steps resampled {zero:?}; expected exactly 0..10 (a latent fires when it is above 0)")
    })?;
    let s = sae(ctx, "")?;
    let stats = sa::train_sae(&s, &x, L1, 3e-3, 1000).learner()?;
    let want = to_f64(&fx.get("train.stats")?)?;
    // 1,000 steps in f32 drift from torch's path; the summary statistics do not move much:
    // torch FVU 0.142, L0 15.8, dead 0.
    ensure((stats.fvu - want[0]).abs() < 0.02 && (stats.l0 - want[1]).abs() < 2.0 && (stats.dead - want[2]).abs() < 0.02, || {
        format!("after 1,000 steps: FVU {:.3}, L0 {:.1}, dead {:.3}; torch {:.3}, {:.1}, {:.3}", stats.fvu, stats.l0, stats.dead, want[0], want[1], want[2])
    })?;
    // Independent: sparse (a quarter of the 64 dimensions at most) and still reconstructing.
    ensure(stats.l0 < 16.0 * 1.25 && stats.fvu < 0.25, || {
        format!("L0 {:.1} and FVU {:.3}: the code should be sparse (L0 < 20) and reconstruct (FVU < 0.25)", stats.l0, stats.fvu)
    })?;
    ctx.note(format!("after 1,000 steps on 12,199 activations: FVU {:.3}, L0 {:.1} of 256 latents, dead {:.1} %", stats.fvu, stats.l0, 100.0 * stats.dead));
    Ok(())
}

pub fn exercises() -> Vec<Exercise> {
    vec![
        DAY.exercise("sae_forward", "the SAE's forward pass and loss")
            .pace(1, 20)
            .function("forward")
            .check("latents, reconstruction, loss and gradients vs torch", forward),
        DAY.exercise("normalise_decoder", "unit-length decoder rows").pace(1, 5).function("normalise_decoder").check("vs torch; unit rows", normalise),
        DAY.exercise("resample_dead", "resampling dead latents").pace(2, 25).function("resample_dead").check("six latents resampled vs torch", resample),
        DAY.exercise("train_sae", "training an SAE")
            .pace(2, 30)
            .function("train_sae")
            .timeout(std::time::Duration::from_secs(30))
            .check("5 steps vs torch; FVU, L0 and dead latents after 1,000 steps", train),
    ]
}
