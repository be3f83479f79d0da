//! Checks for week5 day "attribution": saliency, input × gradient, SmoothGrad, the quadrature
//! rules and integrated gradients against captum 0.9 on the week-5 MNIST CNN and on a small
//! attention classifier of names (fixtures/gen/week5_attribution.py); completeness (attributions
//! add up to f(x) − f(baseline)) and its convergence as the number of points grows, as
//! properties; the letters the names classifier's attributions point at, as a property.

use crate::cases::FixtureFile;
use crate::check::{ensure, CheckResult, Ctx, Fail, Learner};
use crate::compare::{close, to_f64, Tol};
use crate::registry::{Day, Exercise};
use crate::subject::week5::attribution as at;
use candle_core::{DType, Tensor};
use std::collections::BTreeMap;

const FX: FixtureFile = FixtureFile::new("week5/attribution.safetensors");

const DAY: Day = Day::new("week5", "attribution", "src/attribution.rs");

/// Gradients of the CNN at one input: f32 convolutions summed in another order than torch's.
/// Values are up to ~5 (logit per pixel); 1e-5 absolute plus 1e-4 relative.
const GRAD: Tol = Tol { abs: 1e-5, rel: 1e-4 };

fn cnn_batch(ctx: &Ctx) -> Result<(crate::subject::week5::adversarial::Cnn, Tensor, Tensor), Fail> {
    let m = super::adversarial::model(ctx)?;
    let (x, y) = super::adversarial::batch(ctx)?;
    Ok((m, x, y))
}

fn saliency(ctx: &Ctx) -> CheckResult {
    let fx = FX.open(ctx)?;
    let (m, x, y) = cnn_batch(ctx)?;
    let f = at::class_logit(&m, &y);
    let g = at::gradient(&f, &x).learner()?;
    close("gradient of each image's true-class logit vs captum Saliency(abs=False)", &g, &fx.get("grad")?, GRAD)?;
    let s = at::saliency(&f, &x).learner()?;
    close("saliency vs captum Saliency", &s, &fx.get("saliency")?, GRAD)?;
    // Row i's gradient is score i's alone: the gradient of image 0's logit on its own batch of one.
    let y0 = y.narrow(0, 0, 1).grader()?;
    let f0 = at::class_logit(&m, &y0);
    let g0 = at::gradient(&f0, &x.narrow(0, 0, 1).grader()?).learner()?;
    close("the gradient of image 0 alone vs row 0 of the batch's", &g0, &g.narrow(0, 0, 1).grader()?, GRAD)
}

fn input_x_gradient(ctx: &Ctx) -> CheckResult {
    let fx = FX.open(ctx)?;
    let (m, x, y) = cnn_batch(ctx)?;
    let f = at::class_logit(&m, &y);
    let grad_alone = crate::compare::Candidate { description: "the gradient alone: multiply it by the input, element by element", tensor: fx.get("grad")? };
    crate::compare::close_with("input × gradient vs captum InputXGradient", &at::input_x_gradient(&f, &x).learner()?, &fx.get("ixg")?, GRAD, &[grad_alone])?;
    // A linear score without bias: x ⊙ ∇ adds up to the score itself (an independent property).
    let w = fx.get("grad")?.narrow(0, 0, 1).grader()?;
    let lin = move |z: &Tensor| -> candle_core::Result<Tensor> { z.broadcast_mul(&w)?.sum(1) };
    let a = at::input_x_gradient(&lin, &x).learner()?;
    close("for a linear score w·x, input × gradient summed per image vs the score", &a.sum(1).grader()?, &lin(&x).grader()?, Tol::new(1e-5, 1e-5))
}

fn smoothgrad(ctx: &Ctx) -> CheckResult {
    let fx = FX.open(ctx)?;
    let (m, x, y) = cnn_batch(ctx)?;
    let f = at::class_logit(&m, &y);
    let noise = fx.get("sg.noise")?;
    let got = at::smoothgrad(&f, &x, &noise).learner()?;
    // The mean of 8 saliencies, each at a noisy point: a pixel near a ReLU's kink can flip its
    // gradient between torch and candle only if a pre-activation rounds across 0; none does here.
    close("SmoothGrad (8 samples of the noise captum drew, σ 0.15) vs captum NoiseTunnel(Saliency)", &got, &fx.get("sg")?, GRAD)?;
    // Zero noise: SmoothGrad is saliency, whatever the number of samples (a sum instead of a mean fails).
    let zero = Tensor::zeros((3, 16, 784), DType::F32, &ctx.device).grader()?;
    close("SmoothGrad with 3 samples of zero noise vs saliency", &at::smoothgrad(&f, &x, &zero).learner()?, &fx.get("saliency")?, GRAD)?;
    // The picture: digits over their saliency and their SmoothGrad.
    let rows = [x.narrow(0, 0, 8).grader()?, fx.get("saliency")?.narrow(0, 0, 8).grader()?, got.narrow(0, 0, 8).grader()?];
    let tiles: Vec<Tensor> = rows.iter().map(strip).collect::<Result<_, _>>()?;
    let png = ctx.artefact("week5/smoothgrad.png")?;
    crate::picture::heatmap(&png, &Tensor::cat(&tiles, 0).grader()?, 4)?;
    ctx.note(format!("pictures: {} (rows: 8 digits, their saliency, their SmoothGrad)", png.display()));
    Ok(())
}

/// Images `[k, 784]` side by side as one `[28, 28·k]` field, each scaled to its own max |value|.
fn strip(t: &Tensor) -> Result<Tensor, Fail> {
    let k = t.dim(0).grader()?;
    let m = t.abs().grader()?.max_keepdim(1).grader()?.clamp(1e-12f32, f32::MAX).grader()?;
    let t = t.broadcast_div(&m).grader()?;
    t.reshape((k, 28, 28)).grader()?.transpose(0, 1).grader()?.reshape((28, 28 * k)).grader()
}

const RULES: [(at::Rule, &str); 5] = [
    (at::Rule::RiemannLeft, "riemann_left"),
    (at::Rule::RiemannRight, "riemann_right"),
    (at::Rule::RiemannMiddle, "riemann_middle"),
    (at::Rule::RiemannTrapezoid, "riemann_trapezoid"),
    (at::Rule::GaussLegendre, "gausslegendre"),
];

fn quadrature(ctx: &Ctx) -> CheckResult {
    let fx = FX.open(ctx)?;
    for (rule, name) in RULES {
        for n in [2usize, 5, 50] {
            let (a, w) = at::quadrature(rule, n);
            let (wa, ww) = (fx.values(&format!("quad.{name}.{n}.alpha"))?, fx.values(&format!("quad.{name}.{n}.weight"))?);
            ensure(a.len() == n && w.len() == n, || format!("{name} with n = {n}: {} points and {} weights, expected {n} of each", a.len(), w.len()))?;
            // captum builds Riemann points with torch.linspace in f32 (1e-7); numpy's
            // Gauss–Legendre is f64, and Newton's method to 1e-15 matches it to ~1e-15.
            let tol = if rule == at::Rule::GaussLegendre { 1e-12 } else { 1e-6 };
            for (what, got, want) in [("points α", &a, &wa), ("weights w", &w, &ww)] {
                let worst = (0..n).map(|i| (got[i] - want[i]).abs()).fold(0.0, f64::max);
                ensure(worst <= tol, || {
                    let i = (0..n).find(|&i| (got[i] - want[i]).abs() > tol).unwrap_or(0);
                    format!("{name} with n = {n}: {what}[{i}] = {:.12}, captum's {:.12} (worst error {worst:.1e})", got[i], want[i])
                })?;
            }
        }
    }
    // Gauss–Legendre with 5 points integrates t⁹ exactly (degree ≤ 2n − 1): ∫₀¹ t⁹ dt = 1/10.
    let (a, w) = at::quadrature(at::Rule::GaussLegendre, 5);
    let s: f64 = a.iter().zip(&w).map(|(a, w)| w * a.powi(9)).sum();
    ensure((s - 0.1).abs() < 1e-12, || format!("Gauss–Legendre with 5 points gives ∫₀¹ t⁹ dt = {s:.15}, not 0.1"))
}

/// |delta| / |f(x) − f(b)| per image, and its largest value.
fn worst_gap(delta: &Tensor, f: at::Score, x: &Tensor, b: &Tensor) -> Result<f64, Fail> {
    let d = to_f64(delta)?;
    let span = to_f64(&(f(x).grader()? - f(b).grader()?).grader()?)?;
    Ok(d.iter().zip(&span).map(|(d, s)| d.abs() / s.abs()).fold(0.0, f64::max))
}

fn integrated(ctx: &Ctx) -> CheckResult {
    let fx = FX.open(ctx)?;
    let (m, x, y) = cnn_batch(ctx)?;
    let f = at::class_logit(&m, &y);
    let zero = x.zeros_like().grader()?;
    let gray = fx.get("ig.trap50.baseline")?;
    // Fifty gradients summed; each within GRAD of torch's.
    let tol = Tol::new(1e-5, 2e-4);
    let gl = at::integrated_gradients(&f, &x, &zero, 50, at::Rule::GaussLegendre).learner()?;
    close("IG, black baseline, Gauss–Legendre 50 vs captum", &gl, &fx.get("ig.gl50")?, tol)?;
    let tr = at::integrated_gradients(&f, &x, &gray, 50, at::Rule::RiemannTrapezoid).learner()?;
    close("IG, gray (0.5) baseline, trapezoid 50 vs captum", &tr, &fx.get("ig.trap50")?, tol)?;
    let dgl = at::convergence_delta(&f, &x, &zero, &gl).learner()?;
    close("convergence delta of the Gauss–Legendre run vs captum's", &dgl, &fx.get("ig.delta.gl50")?, Tol::new(1e-4, 1e-3))?;
    let dtr = at::convergence_delta(&f, &x, &gray, &tr).learner()?;
    close("convergence delta of the trapezoid run vs captum's", &dtr, &fx.get("ig.delta.trap50")?, Tol::new(1e-4, 1e-3))?;
    // Completeness, from the gray baseline (the black one starts where most ReLUs are off, and
    // its error falls unevenly: 6 % at 50 points, 0.3 % at 512, in captum too): every image's
    // attributions add up to f(x) − f(b) within 1 % at 50 Gauss–Legendre points (captum: 0.23 %),
    // and the worst error shrinks from 8 to 32 to 128 points (captum: 1.6 %, 0.25 %, 0.07 %).
    let mut gaps = Vec::new();
    for n in [8usize, 32, 50, 128] {
        let a = at::integrated_gradients(&f, &x, &gray, n, at::Rule::GaussLegendre).learner()?;
        let d = at::convergence_delta(&f, &x, &gray, &a).learner()?;
        gaps.push(worst_gap(&d, &f, &x, &gray)?);
    }
    ensure(gaps[2] <= 0.01, || {
        format!("with 50 Gauss–Legendre points an image's attributions miss f(x) − f(baseline) by {:.2} %, more than 1 %", 100.0 * gaps[2])
    })?;
    ensure(gaps[3] < gaps[1] && gaps[1] < gaps[0], || format!("the completeness error should shrink with more points; 8, 32, 128 points: {:.3?}", gaps))?;
    // The picture: digits and their attributions (red for, blue against the true class).
    let png = ctx.artefact("week5/integrated_gradients.png")?;
    let digits = strip(&x.narrow(0, 0, 8).grader()?)?;
    let ig = strip(&gl.narrow(0, 0, 8).grader()?)?;
    crate::picture::signed_heatmap(&png, &Tensor::cat(&[&digits, &ig], 0).grader()?, 4)?;
    ctx.note(format!(
        "completeness error (worst of 16 images, gray baseline, Gauss–Legendre) at 8, 32, 50, 128 points: {:.3} %, {:.3} %, {:.3} %, {:.3} %; picture: {}",
        100.0 * gaps[0],
        100.0 * gaps[1],
        100.0 * gaps[2],
        100.0 * gaps[3],
        png.display()
    ));
    Ok(())
}

fn names_model(ctx: &Ctx) -> Result<at::Names, Fail> {
    let fx = FX.open(ctx)?;
    let mut weights = BTreeMap::new();
    for k in fx.names_with_prefix("names.") {
        let short = k.trim_start_matches("names.");
        if !["tokens", "score", "ig", "acc"].contains(&short) {
            weights.insert(short.to_string(), fx.get(&k)?);
        }
    }
    Ok(at::Names { weights })
}

fn tokens(ctx: &Ctx) -> CheckResult {
    let fx = FX.open(ctx)?;
    let model = names_model(ctx)?;
    let toks = fx.get("names.tokens")?.to_dtype(DType::U32).grader()?;
    // The given classifier, against torch, before anything of the learner's runs.
    close(
        "(the given names classifier's score vs torch's)",
        &model.score(&model.embed(&toks).grader()?).grader()?,
        &fx.get("names.score")?,
        Tol::new(1e-3, 1e-4),
    )?;
    let got = at::token_attributions(&model, &toks, 32).learner()?;
    // Scores reach ±30 and one letter carries most of it; 32 gradients summed.
    close("token attributions (IG on the embeddings, Gauss–Legendre 32) vs captum", &got, &fx.get("names.ig")?, Tol::new(1e-3, 1e-3))?;
    // Property: in each of the 16 names with an x or a z, the most attributed letter is one.
    let a = to_f64(&got)?;
    let t = to_f64(&toks)?;
    let word = |i: usize| -> String { (0..15).map(|j| t[i * 15 + j] as u8).take_while(|&c| c > 0).map(|c| (b'a' + c - 1) as char).collect() };
    let mut lines = Vec::new();
    for i in 0..16 {
        let row = &a[i * 15..(i + 1) * 15];
        let top = (0..15).fold(0, |b, j| if row[j] > row[b] { j } else { b });
        let c = t[i * 15 + top] as u8;
        ensure(c == 24 || c == 26, || {
            format!("\"{}\": the most attributed position is {top} ({:?}), not an x or a z", word(i), if c == 0 { '.' } else { (b'a' + c - 1) as char })
        })?;
        if i < 4 {
            let w = word(i);
            lines.push(w.chars().enumerate().map(|(j, ch)| format!("{ch}{:+.1}", row[j])).collect::<Vec<_>>().join(" "));
        }
    }
    ctx.note(format!("attributions of the score \"contains x or z\" per letter: {}", lines.join(" | ")));
    Ok(())
}

pub fn exercises() -> Vec<Exercise> {
    vec![
        DAY.exercise("saliency", "the input gradient and its size")
            .pace(1, 15)
            .function("gradient")
            .check("the gradient and saliency of 16 digits' true-class logits vs captum; rows independent", saliency),
        DAY.exercise("input_x_gradient", "input times gradient")
            .pace(1, 5)
            .function("input_x_gradient")
            .check("vs captum; complete for a linear score", input_x_gradient),
        DAY.exercise("smoothgrad", "saliency averaged over noisy copies")
            .pace(1, 10)
            .function("smoothgrad")
            .check("vs captum's NoiseTunnel with the noise it drew; zero noise gives saliency", smoothgrad),
        DAY.exercise("quadrature", "Riemann and Gauss–Legendre points and weights")
            .pace(2, 30)
            .function("quadrature")
            .check("all five rules at 2, 5 and 50 points vs captum; Gauss–Legendre exact on t⁹", quadrature),
        DAY.exercise("integrated_gradients", "integrated gradients and their completeness")
            .pace(2, 25)
            .function("integrated_gradients")
            // 8 + 32 + 50 + 128 + 100 gradient passes over 16 images.
            .timeout(std::time::Duration::from_secs(30))
            .check("two baselines and two rules vs captum; the convergence delta; completeness within 1 % and shrinking", integrated),
        DAY.exercise("token_attributions", "integrated gradients through token embeddings")
            .pace(1, 15)
            .function("token_attributions")
            .check("32 names vs captum; the top letter of every x/z name is an x or a z", tokens),
    ]
}

/// The attribution day's benchmark, against `bench/week5.py`: integrated gradients on the week-5
/// CNN (random weights), 16 images, 32 points of the midpoint rule: 32 forward and backward
/// passes of the CNN, as the reference's `integrated_gradients` runs them one point at a time.
pub fn benches() -> Vec<crate::bench::Bench> {
    vec![crate::bench::Bench {
        id: "week5.attribution.integrated_gradients",
        about: "integrated gradients on the week-5 MNIST CNN (random weights): 16 images, 32 midpoints, one forward and backward pass each (library: fastops::conv2d, add_channel_bias, relu, in the given CNN)",
        setup: ig_bench,
    }]
}

fn ig_bench(dev: &candle_core::Device) -> candle_core::Result<crate::bench::Iteration> {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
    let mut randn = |shape: &[usize], scale: f32| {
        let v: Vec<f32> = (0..shape.iter().product::<usize>()).map(|_| rng.random_range(-scale..scale)).collect();
        Tensor::from_vec(v, shape, dev)
    };
    let mut weights = BTreeMap::new();
    for (name, shape, scale) in [
        ("conv1.weight", &[8, 1, 3, 3][..], 1.0 / 3.0),
        ("conv1.bias", &[8][..], 1.0 / 3.0),
        ("conv2.weight", &[16, 8, 3, 3][..], 1.0 / 72f32.sqrt()),
        ("conv2.bias", &[16][..], 1.0 / 72f32.sqrt()),
        ("fc.weight", &[10, 784][..], 1.0 / 28.0),
        ("fc.bias", &[10][..], 1.0 / 28.0),
    ] {
        weights.insert(name.to_string(), randn(shape, scale)?);
    }
    let model = crate::subject::week5::adversarial::Cnn { weights };
    let x = randn(&[16, 784], 1.0)?.abs()?;
    let target = Tensor::from_vec((0..16u32).map(|i| i % 10).collect::<Vec<_>>(), 16, dev)?;
    let baseline = x.zeros_like()?;
    Ok(Box::new(move || {
        let f = at::class_logit(&model, &target);
        at::integrated_gradients(&f, &x, &baseline, 32, at::Rule::RiemannMiddle).map(drop)
    }))
}
