//! # Diagnostics: is this network healthy?
//!
//! A network can train badly while every line of its code looks right: a weight scale off by a
//! factor of four, a forgotten normalisation. The loss alone rarely says why. Looking inside
//! does (Karpathy's "Building makemore, part 3"): the distribution of each layer's activations
//! and gradients, the fraction of tanh units stuck at ±1, and how big each update is next to
//! the weight it changes. This day builds those numbers, checked against torch on the same
//! deep tanh MLP, and draws them.
//!
//! Conventions: tensors are f32; statistics come back as f64. Compare values with a threshold
//! in the tensor's own dtype, as torch's `x.abs() > t` does (`x.abs()?.gt(t)`: `t` is rounded to
//! f32 first). Compared in f64 instead, the f32 value 0.97 is 0.97000002… and lands above a
//! threshold of 0.97.
// STUB: #![allow(unused_variables, unused_imports, unused_mut, dead_code)] // remove once you have solved a few

use candle_core::{DType, Result, Tensor, Var};

/// ## histogram
/// Counts of the values of `x` (any shape) in `bins` equal bins over `[lo, hi]`, as
/// `torch.histc` counts them: value `v` goes into bin `⌊(v − lo) / (hi − lo) · bins⌋`, a value
/// equal to `hi` into the last bin, and values outside `[lo, hi]` are not counted.
/// Example: `[−1, −0.2, 0.3, 1, 2]` in 2 bins over `[−1, 1]` → `[2, 2]`.
// HINT: Each value's bin is its position between the two edges, as a fraction, times the number of bins, rounded down; the upper edge itself would land one bin too far, and values outside the range are dropped.
// HINT: Read the values to the host (flatten_all, to_vec1::<f32>); for each v in [lo, hi] compute ((v − lo) / (hi − lo) · bins) as an integer and cap it at bins − 1; increment that count.
// HINT: let k = (((v as f64 - lo) / (hi - lo) * bins as f64) as usize).min(bins - 1); counts[k] += 1;
pub fn histogram(x: &Tensor, bins: usize, lo: f64, hi: f64) -> Result<Vec<u64>> {
    // BEGIN SOLUTION
    let mut counts = vec![0u64; bins];
    for v in x.flatten_all()?.to_vec1::<f32>()? {
        let v = v as f64;
        if v < lo || v > hi {
            continue;
        }
        let k = (((v - lo) / (hi - lo) * bins as f64) as usize).min(bins - 1);
        counts[k] += 1;
    }
    Ok(counts)
    // END SOLUTION
}

/// Summary statistics of one tensor.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stats {
    pub mean: f64,
    /// The standard deviation with Bessel's correction (divide by n − 1), as torch's `.std()`.
    pub std: f64,
    /// The fraction of values with `|v| > threshold`.
    pub saturated: f64,
}

/// ## layer_stats
/// The mean, the standard deviation (unbiased: `Σ (v − mean)² / (n − 1)`, square-rooted) and
/// the fraction of values with `|v| > threshold` of all the values of `x`. For a tanh layer
/// with threshold 0.97 the last is the share of units in the flat tails, where the gradient
/// `1 − tanh²` is below 0.06.
// HINT: Three numbers over every value of the tensor: where they sit, how spread they are (torch's default standard deviation divides by n − 1, not n), and how many are beyond the threshold in size.
// HINT: mean_all for the mean; (x − mean)² summed and divided by n − 1 for the variance, then its square root; abs, gt(threshold), to_dtype(F32) and mean_all for the saturated fraction; to_scalar::<f32>() each.
// HINT: let saturated = x.abs()?.gt(threshold)?.to_dtype(DType::F32)?.mean_all()?.to_scalar::<f32>()? as f64;
pub fn layer_stats(x: &Tensor, threshold: f64) -> Result<Stats> {
    // BEGIN SOLUTION
    let n = x.elem_count() as f64;
    let mean = x.mean_all()?;
    let var = x.broadcast_sub(&mean)?.sqr()?.sum_all()?.to_scalar::<f32>()? as f64 / (n - 1.0);
    let saturated = x.abs()?.gt(threshold)?.to_dtype(DType::F32)?.mean_all()?.to_scalar::<f32>()? as f64;
    Ok(Stats { mean: mean.to_scalar::<f32>()? as f64, std: var.sqrt(), saturated })
    // END SOLUTION
}

/// ## dead_units
/// The fraction of units (columns of `x` `[n, units]`) that are saturated for **every** example:
/// `|x[i, u]| > threshold` for all rows `i`. Such a unit passes no gradient for any input in the
/// batch: it has stopped learning (a "dead" tanh unit, the white column of makemore's plot).
// HINT: A unit is dead only if no example at all reaches it in its responsive range; look down each column, not at single values.
// HINT: abs().gt(threshold) gives 1 where saturated; the minimum over dim 0 is 1 exactly for the columns saturated in every row; the mean of those (as F32) is the fraction.
// HINT: x.abs()?.gt(threshold)?.to_dtype(DType::F32)?.min(0)?.mean_all()?.to_scalar::<f32>()
pub fn dead_units(x: &Tensor, threshold: f64) -> Result<f64> {
    // BEGIN SOLUTION
    let all = x.abs()?.gt(threshold)?.to_dtype(DType::F32)?.min(0)?;
    Ok(all.mean_all()?.to_scalar::<f32>()? as f64)
    // END SOLUTION
}

/// ## update_ratio
/// How big a step of plain gradient descent is next to the weight it changes:
/// `log10(std(lr · grad) / std(w))`, both standard deviations unbiased. Around −3 is the rule
/// of thumb for healthy training: each update changes a weight by about a thousandth of its
/// typical size. Much higher and training thrashes; much lower and it crawls.
// HINT: Compare the spread of the update with the spread of the weights it is applied to, on a log scale; the learning rate is part of the update.
// HINT: The unbiased standard deviation of lr · grad over all its values, divided by that of w, then log10.
// HINT: let sd = |t: &Tensor| -> Result<f64> { Ok(layer_stats(t, f64::INFINITY)?.std) }; Ok((sd(&(grad * lr)?)? / sd(w)?).log10())
pub fn update_ratio(w: &Tensor, grad: &Tensor, lr: f64) -> Result<f64> {
    // BEGIN SOLUTION
    let sd = |t: &Tensor| -> Result<f64> { Ok(layer_stats(t, f64::INFINITY)?.std) };
    Ok((sd(&(grad * lr)?)? / sd(w)?).log10())
    // END SOLUTION
}

/// A deep MLP with tanh after every layer but the last (given).
pub struct DeepMlp {
    /// `[out, in]` per layer.
    pub weights: Vec<Var>,
    /// `[out]` per layer.
    pub biases: Vec<Var>,
}

impl DeepMlp {
    /// The tanh outputs of every hidden layer (`[n, width]` each) and the logits. candle keeps
    /// the gradients of variables only (torch's `retain_grad` has no counterpart), so to
    /// measure the gradient at a layer, pass `probes`: one zero `Var` per hidden layer, of that
    /// layer's shape, added to its tanh output. Adding zero changes nothing, and the loss's
    /// gradient with respect to a probe is its gradient with respect to that layer. Pass `&[]`
    /// for no probes.
    pub fn forward_all(&self, x: &Tensor, probes: &[Var]) -> Result<(Vec<Tensor>, Tensor)> {
        let (mut h, mut acts) = (x.clone(), Vec::new());
        for (i, (w, b)) in self.weights.iter().zip(&self.biases).enumerate() {
            h = h.matmul(&w.as_tensor().t()?)?.broadcast_add(b.as_tensor())?;
            if i + 1 < self.weights.len() {
                h = h.tanh()?;
                if let Some(p) = probes.get(i) {
                    h = (h + p.as_tensor())?;
                }
                acts.push(h.clone());
            }
        }
        Ok((acts, h))
    }
}

/// What `diagnose` measures, one entry per hidden layer (per weight for `ratio`).
#[derive(Clone, Debug)]
pub struct Diagnostics {
    /// The tanh outputs' statistics (threshold 0.97).
    pub act: Vec<Stats>,
    /// The statistics of the loss's gradient with respect to each tanh output (threshold
    /// `f64::INFINITY`: no value counts as saturated).
    pub grad: Vec<Stats>,
    /// Each tanh output's `histogram` in 20 bins over [−1, 1].
    pub act_hist: Vec<Vec<u64>>,
    /// The fraction of dead units of each tanh output (threshold 0.97).
    pub dead: Vec<f64>,
    /// `update_ratio` of every weight matrix (not the biases) with `lr`.
    pub ratio: Vec<f64>,
}

/// ## diagnose
/// One forward and backward pass of `model` on `x` `[n, in]` with labels `y` `[n]` (u32) and the
/// mean cross-entropy of the logits (`candle_nn::loss::cross_entropy`, which you wrote in the
/// regression day), and every number above for every hidden layer: see `Diagnostics`. For the
/// gradients at the layers, give `forward_all` a zero probe per hidden layer (`Var::zeros`
/// of shape `[n, width]`, the width being that layer's weight's first dimension) and read each
/// probe's gradient.
// HINT: One backward pass gives every gradient you need, but candle only hands out the gradients of variables: a zero variable added at each layer turns "the gradient at this layer" into "the gradient of this variable".
// HINT: probes: for each hidden layer i (all weights but the last), Var::zeros((n, weights[i] rows), F32, device); (acts, logits) = model.forward_all(x, &probes); loss = cross_entropy(&logits, y); grads = loss.backward(); for each act: layer_stats(act, 0.97), histogram(act, 20, −1, 1), dead_units(act, 0.97), and layer_stats of the probe's gradient with f64::INFINITY; for each weight: update_ratio(w, grads.get(w), lr).
// HINT: let g = grads.get(probes[i].as_tensor()).ok_or_else(|| candle_core::Error::Msg("no gradient reached a layer".into()))?; d.grad.push(layer_stats(g, f64::INFINITY)?);
pub fn diagnose(model: &DeepMlp, x: &Tensor, y: &Tensor, lr: f64) -> Result<Diagnostics> {
    // BEGIN SOLUTION
    let n = x.dim(0)?;
    let hidden = &model.weights[..model.weights.len() - 1];
    let probes = hidden.iter().map(|w| Var::zeros((n, w.dim(0)?), DType::F32, x.device())).collect::<Result<Vec<_>>>()?;
    let (acts, logits) = model.forward_all(x, &probes)?;
    let loss = candle_nn::loss::cross_entropy(&logits, y)?;
    let grads = loss.backward()?;
    let missing = || candle_core::Error::Msg("no gradient reached a layer".into());
    let mut d = Diagnostics { act: Vec::new(), grad: Vec::new(), act_hist: Vec::new(), dead: Vec::new(), ratio: Vec::new() };
    for (act, probe) in acts.iter().zip(&probes) {
        d.act.push(layer_stats(act, 0.97)?);
        d.act_hist.push(histogram(act, 20, -1.0, 1.0)?);
        d.dead.push(dead_units(act, 0.97)?);
        d.grad.push(layer_stats(grads.get(probe.as_tensor()).ok_or_else(missing)?, f64::INFINITY)?);
    }
    for w in &model.weights {
        d.ratio.push(update_ratio(w.as_tensor(), grads.get(w.as_tensor()).ok_or_else(missing)?, lr)?);
    }
    Ok(d)
    // END SOLUTION
}
