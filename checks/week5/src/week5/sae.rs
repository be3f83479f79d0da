//! Checks for week5 day "sparse_autoencoders": the SAE's forward pass, loss and gradients,
//! decoder normalisation, dead-latent resampling, five training steps and a 1,000-step run's
//! FVU, L0 and dead fraction, against torch on the same activations and weights
//! (fixtures/gen/week5_sae.py); as independent properties, unit decoder rows and a sparse code
//! that still reconstructs.

use crate::cases::FixtureFile;
use crate::check::{ensure, CheckResult, Ctx, Fail, Learner};
use crate::compare::{close, to_f64, Tol};
use crate::registry::{Day, Exercise};
use crate::subject::week5::hooks as hk;
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
    let mut rec = hk::Hooks::recording();
    m.run(&tok, &mut rec).learner()?;
    let act = rec.cache.get("blocks.1.resid_pre").ok_or_else(|| Fail::Mismatch("your run recorded nothing at blocks.1.resid_pre".into()))?;
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
    close("latents f [32, 256] vs torch", &f, &fx.get("f")?, Tol::new(1e-5, 1e-4))?;
    close("reconstruction x̂ [32, 64] vs torch", &x_hat, &fx.get("x_hat")?, Tol::new(1e-4, 1e-4))?;
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
    same(&format!("after resampling latents {dead:?}"), &s, ctx, "resampled.", Tol::new(1e-6, 1e-5))
}

fn train(ctx: &Ctx) -> CheckResult {
    let fx = FX.open(ctx)?;
    let x = activations(ctx)?;
    ensure(x.dims() == [12199, 64], || format!("(activations {:?}, expected [12199, 64])", x.dims()))?;
    let s = sae(ctx, "")?;
    sa::train_sae(&s, &x, L1, 3e-3, 5).learner()?;
    // Five Adam steps: updates of lr = 3e-3 per step, computed from gradients within 1e-4.
    same("after 5 training steps", &s, ctx, "train.", Tol::new(2e-4, 1e-3))?;
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
