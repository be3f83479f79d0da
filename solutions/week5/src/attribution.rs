//! # Attribution: which inputs made the model say that?
//!
//! An attribution method gives every input feature (a pixel, a token) a number saying how much
//! it contributed to one output score: a class's logit, a logit difference. The simplest look at
//! the gradient of the score with respect to the input: its size (*saliency*, Simonyan et al.
//! 2014), or the gradient times the input (*input × gradient*). Gradients are noisy and local;
//! *SmoothGrad* (Smilkov et al. 2017) averages saliency over noisy copies of the input, and
//! *integrated gradients* (Sundararajan et al. 2017) integrate the gradient along the straight
//! path from a *baseline* (a black image, zero embeddings) to the input:
//!
//! `IGᵢ(x) = (xᵢ − x'ᵢ) · ∫₀¹ ∂f(x' + α (x − x')) / ∂xᵢ dα`.
//!
//! Its attributions are *complete*: they add up to `f(x) − f(x')`, which says how good a
//! numerical integration was. The integral is approximated by a quadrature rule, `Σₖ wₖ g(αₖ)`;
//! captum (PyTorch's attribution library, which the checks compare with) offers four Riemann
//! rules and Gauss–Legendre, and so will you.
//!
//! The models: the week-5 MNIST CNN of the adversarial day (its logit of the true class), and a
//! small attention classifier of names (given below) that says whether a name contains an `x`
//! or a `z`; its attributions through the token embeddings should point at those letters.
// STUB: #![allow(unused_variables, unused_imports, unused_mut, dead_code)] // remove once you have solved a few

use super::adversarial::Cnn;
use candle_core::{Device, Result, Tensor, Var, D};
use std::collections::BTreeMap;

/// A score function: inputs `[b, …]` to one score per input `[b]`, row `i` of the score
/// depending only on row `i` of the inputs. Every method below explains one.
pub type Score<'a> = &'a dyn Fn(&Tensor) -> Result<Tensor>;

/// The CNN's logit of class `target[i]` for image `i` (given): `[b, 784]` → `[b]`.
pub fn class_logit<'a>(model: &'a Cnn, target: &'a Tensor) -> impl Fn(&Tensor) -> Result<Tensor> + 'a {
    move |x: &Tensor| model.forward(x)?.gather(&target.unsqueeze(1)?, 1)?.squeeze(1)
}

/// ## saliency
/// `gradient`: `∂(Σᵢ f(x)ᵢ) / ∂x`, the same shape as `x` (since row `i` of the score depends
/// only on row `i` of `x`, row `i` of this is the gradient of score `i`). `saliency`: its
/// absolute value, elementwise (captum's `Saliency` with `abs=True`).
// HINT: To differentiate with respect to the input, the input itself must be a variable of the graph: make a fresh one from a detached copy, and add the per-row scores into one scalar so that a single backward pass gives every row's gradient.
// HINT: v = Var::from_tensor(&x.detach()); scores = f(v.as_tensor()); grads = scores.sum_all().backward(); the gradient is grads.get(v.as_tensor()) (an error when it is missing). saliency is the absolute value of gradient(f, x).
// HINT: let grads = f(v.as_tensor())?.sum_all()?.backward()?; grads.get(v.as_tensor()).cloned().ok_or_else(|| candle_core::Error::Msg("no gradient reached the input".into()))
pub fn gradient(f: Score, x: &Tensor) -> Result<Tensor> {
    // BEGIN SOLUTION
    let v = Var::from_tensor(&x.detach())?;
    let grads = f(v.as_tensor())?.sum_all()?.backward()?;
    grads.get(v.as_tensor()).cloned().ok_or_else(|| candle_core::Error::Msg("no gradient reached the input".into()))
    // END SOLUTION
}

/// See [`gradient`].
pub fn saliency(f: Score, x: &Tensor) -> Result<Tensor> {
    // BEGIN SOLUTION
    gradient(f, x)?.abs()
    // END SOLUTION
}

/// ## input_x_gradient
/// `x ⊙ ∇ₓ f`: the gradient, signed, times the input, elementwise (captum's `InputXGradient`).
/// For a linear score with no bias these add up to the score itself.
// HINT: Keep the gradient's sign this time and weight it by the input itself, elementwise: one line on top of the gradient you already wrote.
// HINT: Call gradient(f, x) (not saliency, whose absolute value loses the sign) and multiply it elementwise by x.
// HINT: x * gradient(f, x)?
pub fn input_x_gradient(f: Score, x: &Tensor) -> Result<Tensor> {
    // BEGIN SOLUTION
    x * gradient(f, x)?
    // END SOLUTION
}

/// ## smoothgrad
/// SmoothGrad: the mean over `s` of `saliency(f, x + noise[s])`, for `noise` `[samples, …x's
/// shape]` (in practice Gaussian with a standard deviation of 10–20 % of the input range; the
/// check hands you the noise captum drew, so that the results can be compared).
// HINT: Average the saliency maps of several noisy copies of the input; the noise is handed to you (one slice per sample along its first dimension), so nothing here is random.
// HINT: samples = noise.dim(0); a running sum starting at x.zeros_like(); for s in 0..samples add saliency(f, &(x + noise.get(s))); divide the sum by samples.
// HINT: total = (total + saliency(f, &(x + noise.get(s)?)?)?)?; … total / samples as f64
pub fn smoothgrad(f: Score, x: &Tensor, noise: &Tensor) -> Result<Tensor> {
    // BEGIN SOLUTION
    let samples = noise.dim(0)?;
    let mut total = x.zeros_like()?;
    for s in 0..samples {
        total = (total + saliency(f, &(x + noise.get(s)?)?)?)?;
    }
    total / samples as f64
    // END SOLUTION
}

/// How to place the `n` points `αₖ` of the path integral `∫₀¹ g(α) dα ≈ Σₖ wₖ g(αₖ)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Rule {
    /// `αₖ = k / n`, k = 0..n; every `wₖ = 1 / n`.
    RiemannLeft,
    /// `αₖ = (k + 1) / n`; every `wₖ = 1 / n`.
    RiemannRight,
    /// `αₖ = (k + ½) / n`; every `wₖ = 1 / n`.
    RiemannMiddle,
    /// `n` points evenly from 0 to 1 inclusive, `αₖ = k / (n − 1)`; `wₖ = 1 / n`, halved at the
    /// two ends (captum's weights: they sum to `1 − 1/n`, not 1).
    RiemannTrapezoid,
    /// Gauss–Legendre: the `n` roots `tₖ` of the Legendre polynomial `Pₙ` on [−1, 1] with
    /// weights `2 / ((1 − tₖ²) Pₙ'(tₖ)²)`, moved to [0, 1]: `αₖ = (1 + tₖ) / 2`, `wₖ` halved.
    /// Ascending `α`. Exact for polynomials of degree up to `2n − 1`.
    GaussLegendre,
}

/// ## quadrature
/// The points `αₖ` (ascending) and weights `wₖ` of `rule` with `n` points (`n ≥ 2`), as captum
/// builds them. For Gauss–Legendre find each root by Newton's method on `Pₙ` from the guess
/// `cos(π (k + ¾) / (n + ½))`, evaluating `Pₙ` and `Pₙ'` with the three-term recurrence
/// `(j + 1) Pⱼ₊₁(t) = (2j + 1) t Pⱼ(t) − j Pⱼ₋₁(t)` and `Pₙ'(t) = n (t Pₙ(t) − Pₙ₋₁(t)) /
/// (t² − 1)`; iterate until the step is below 1e-15 (at most 100 times).
// HINT: The four Riemann rules differ only in where the points sit, plus the trapezoid's halved end weights (which is why its weights sum to less than 1); Gauss–Legendre needs the roots of a Legendre polynomial, found by Newton's method, and they come out in descending order unless you reverse them.
// HINT: Riemann: points k/n, (k + 1)/n, (k + ½)/n with weights 1/n; trapezoid: k/(n − 1) with 1/n halved at both ends. Gauss–Legendre: a helper returning (Pₙ(t), Pₙ₋₁(t)) by the recurrence from P₀ = 1, P₁ = t; for each k, Newton from t = cos(π (k + ¾)/(n + ½)) with Pₙ' = n (t Pₙ − Pₙ₋₁)/(t² − 1), at most 100 steps, stopping once |step| < 1e-15; α = (1 + t)/2 and w = 1/((1 − t²) Pₙ'²) (the halving already applied); finally reverse both lists.
// HINT: for _ in 0..100 { let (p, pm) = legendre(t); dp = nf * (t * p - pm) / (t * t - 1.0); let step = p / dp; t -= step; if step.abs() < 1e-15 { break } } a.push((1.0 + t) / 2.0); w.push(1.0 / ((1.0 - t * t) * dp * dp));
pub fn quadrature(rule: Rule, n: usize) -> (Vec<f64>, Vec<f64>) {
    // BEGIN SOLUTION
    let nf = n as f64;
    let even = vec![1.0 / nf; n];
    match rule {
        Rule::RiemannLeft => ((0..n).map(|k| k as f64 / nf).collect(), even),
        Rule::RiemannRight => ((0..n).map(|k| (k + 1) as f64 / nf).collect(), even),
        Rule::RiemannMiddle => ((0..n).map(|k| (k as f64 + 0.5) / nf).collect(), even),
        Rule::RiemannTrapezoid => {
            let mut w = even;
            w[0] /= 2.0;
            w[n - 1] /= 2.0;
            ((0..n).map(|k| k as f64 / (nf - 1.0)).collect(), w)
        }
        Rule::GaussLegendre => {
            // P_n(t) and P_{n-1}(t) by the recurrence.
            let legendre = |t: f64| {
                let (mut p0, mut p1) = (1.0, t);
                for j in 1..n {
                    let p2 = ((2 * j + 1) as f64 * t * p1 - j as f64 * p0) / (j + 1) as f64;
                    p0 = p1;
                    p1 = p2;
                }
                (p1, p0)
            };
            let (mut a, mut w) = (Vec::with_capacity(n), Vec::with_capacity(n));
            for k in 0..n {
                let mut t = (std::f64::consts::PI * (k as f64 + 0.75) / (nf + 0.5)).cos();
                let mut dp = 0.0;
                // Newton converges in a handful of steps from these guesses; the cap keeps a
                // wrong derivative from looping for ever.
                for _ in 0..100 {
                    let (p, pm) = legendre(t);
                    dp = nf * (t * p - pm) / (t * t - 1.0);
                    let step = p / dp;
                    t -= step;
                    if step.abs() < 1e-15 {
                        break;
                    }
                }
                a.push((1.0 + t) / 2.0);
                w.push(1.0 / ((1.0 - t * t) * dp * dp));
            }
            a.reverse();
            w.reverse();
            (a, w)
        }
    }
    // END SOLUTION
}

/// ## integrated_gradients
/// `integrated_gradients`: `(x − baseline) ⊙ Σₖ wₖ ∇f(baseline + αₖ (x − baseline))` with the
/// points and weights of [`quadrature`]`(rule, n)`; the same shape as `x`.
/// `convergence_delta`: how far attributions `[b, …]` are from complete, per input:
/// `Σ attributionsᵢ − (f(x)ᵢ − f(baseline)ᵢ)` `[b]` (captum's convergence delta).
// HINT: The path integral is a weighted sum of gradients at points on the straight line from the baseline to the input; multiply by the input's difference from the baseline once, at the end. The delta checks completeness: each input's attributions should add up to the change in its score.
// HINT: (alphas, weights) = quadrature(rule, n); diff = x − baseline; for each (α, w): point = baseline + α·diff, add w · gradient(f, &point) to a running sum; return diff · sum. convergence_delta: the attributions summed over every dimension but the first (flatten_from(1), then sum(1)) minus (f(x) − f(baseline)).
// HINT: let point = (baseline + (&diff * *a)?)?; total = (total + (gradient(f, &point)? * *w)?)?; … diff * total; and the delta: attributions.flatten_from(1)?.sum(1)? - (f(x)? - f(baseline)?)?
pub fn integrated_gradients(f: Score, x: &Tensor, baseline: &Tensor, n: usize, rule: Rule) -> Result<Tensor> {
    // BEGIN SOLUTION
    let (alphas, weights) = quadrature(rule, n);
    let diff = (x - baseline)?;
    let mut total = x.zeros_like()?;
    for (a, w) in alphas.iter().zip(&weights) {
        let point = (baseline + (&diff * *a)?)?;
        total = (total + (gradient(f, &point)? * *w)?)?;
    }
    diff * total
    // END SOLUTION
}

/// See [`integrated_gradients`].
pub fn convergence_delta(f: Score, x: &Tensor, baseline: &Tensor, attributions: &Tensor) -> Result<Tensor> {
    // BEGIN SOLUTION
    attributions.flatten_from(1)?.sum(1)? - (f(x)? - f(baseline)?)?
    // END SOLUTION
}

/// A small attention classifier of names (given): does the name contain an `x` or a `z`?
/// Tokens are makemore's (`.` = 0 pads, `a`..`z` = 1..26), 15 per name. Token embeddings
/// `tok` `[27, 16]` plus position embeddings `pos` `[15, 16]`; one attention head with a
/// residual, `h + softmax(q kᵀ / 4) v Woᵀ` (`q = h Wqᵀ`, …); the mean over positions;
/// `fc2(relu(fc1(·)))` to two logits. Weights by torch's names (`tok`, `pos`, `q.weight`, …,
/// `fc1.weight`, `fc1.bias`, `fc2.weight`, `fc2.bias`).
pub struct Names {
    pub weights: BTreeMap<String, Tensor>,
}

impl Names {
    fn w(&self, name: &str) -> Result<&Tensor> {
        self.weights.get(name).ok_or_else(|| candle_core::Error::Msg(format!("the names classifier has no {name}")))
    }

    /// A name as 15 tokens (`.`-padded) `[1, 15]`, u32.
    pub fn encode(name: &str, dev: &Device) -> Result<Tensor> {
        let mut t: Vec<u32> = name.bytes().map(|c| (c - b'a' + 1) as u32).collect();
        t.resize(15, 0);
        Tensor::from_vec(t, (1, 15), dev)
    }

    /// The token embeddings `[b, 15, 16]` of tokens `[b, 15]` (positions not yet added).
    pub fn embed(&self, tokens: &Tensor) -> Result<Tensor> {
        let (b, t) = tokens.dims2()?;
        self.w("tok")?.index_select(&tokens.flatten_all()?, 0)?.reshape((b, t, 16))
    }

    /// The attention pattern `[b, 15, 15]` (rows: queries) of token embeddings `e`.
    pub fn attention(&self, e: &Tensor) -> Result<Tensor> {
        let h = e.broadcast_add(self.w("pos")?)?;
        let q = h.broadcast_matmul(&self.w("q.weight")?.t()?)?;
        let k = h.broadcast_matmul(&self.w("k.weight")?.t()?)?;
        // softmax_last_dim is fused and has no backward: the differentiable form.
        candle_nn::ops::softmax(&(q.matmul(&k.transpose(1, 2)?)? / 4.0)?, D::Minus1)
    }

    /// The two logits `[b, 2]` for token embeddings `e` `[b, 15, 16]`.
    pub fn logits(&self, e: &Tensor) -> Result<Tensor> {
        let h = e.broadcast_add(self.w("pos")?)?;
        let v = h.broadcast_matmul(&self.w("v.weight")?.t()?)?;
        let mixed = self.attention(e)?.matmul(&v)?.broadcast_matmul(&self.w("o.weight")?.t()?)?;
        let pooled = (h + mixed)?.mean(1)?;
        let z = pooled.broadcast_matmul(&self.w("fc1.weight")?.t()?)?.broadcast_add(self.w("fc1.bias")?)?.relu()?;
        z.broadcast_matmul(&self.w("fc2.weight")?.t()?)?.broadcast_add(self.w("fc2.bias")?)
    }

    /// The score `logit[1] − logit[0]` `[b]` ("contains x or z" minus "does not").
    pub fn score(&self, e: &Tensor) -> Result<Tensor> {
        let z = self.logits(e)?;
        z.narrow(1, 1, 1)?.squeeze(1)? - z.narrow(1, 0, 1)?.squeeze(1)?
    }
}

/// ## token_attributions
/// Integrated gradients for text: attribute the classifier's [`Names::score`] to its token
/// embeddings (zero embeddings as the baseline; the positions stay), Gauss–Legendre with `n`
/// points, and add each token's attributions over its 16 embedding dimensions: `[b, 15]` for
/// tokens `[b, 15]`. (captum calls this layer integrated gradients on the embedding layer.)
// HINT: Tokens are not continuous, so attribute to the token embeddings instead: integrate from zero embeddings to the real ones (the position embeddings stay, since the model adds them itself), then add up each token's attributions over its embedding dimensions.
// HINT: e = model.embed(tokens) [b, 15, 16]; the score function is a closure taking embeddings to model.score of them; integrated_gradients of it at e, with e.zeros_like() as the baseline, n points and Rule::GaussLegendre; sum over the last dimension → [b, 15].
// HINT: let score = |e: &Tensor| model.score(e); integrated_gradients(&score, &e, &e.zeros_like()?, n, Rule::GaussLegendre)?.sum(D::Minus1)
pub fn token_attributions(model: &Names, tokens: &Tensor, n: usize) -> Result<Tensor> {
    // BEGIN SOLUTION
    let e = model.embed(tokens)?;
    let score = |e: &Tensor| model.score(e);
    integrated_gradients(&score, &e, &e.zeros_like()?, n, Rule::GaussLegendre)?.sum(D::Minus1)
    // END SOLUTION
}
