//! # Superposition: more features than dimensions
//!
//! Interpretability would be easy if every neuron meant one thing. It often does not: a model
//! can store more features than it has dimensions, as long as few of them are active at once,
//! by giving each feature a direction and tolerating a little interference between them. This
//! is *superposition* (Elhage et al. 2022, "Toy Models of Superposition"), and it is why the
//! later days of this week look for directions, not neurons.
//!
//! The toy model makes it visible. `n` features `x` (each zero with probability `sparsity`,
//! otherwise uniform in [0, 1)) are squeezed into `m < n` dimensions by `h = W x` and read back
//! by `x' = ReLU(Wᵀ h + b)`, trained to reconstruct `x` with each feature's error weighted by
//! its importance. With dense features the model keeps the `m` most important ones in
//! orthogonal directions and drops the rest. With sparse ones it keeps all of them: five
//! features in two dimensions form a pentagon.
// STUB: #![allow(unused_variables, unused_imports, unused_mut, dead_code)] // remove once you have solved a few

use candle_core::{DType, Device, Result, Tensor, Var};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// The toy model: `W` `[m, n]` (column `i` is feature `i`'s direction) and `b` `[n]`.
pub struct ToyModel {
    pub w: Var,
    pub b: Var,
}

impl ToyModel {
    /// Xavier-uniform `W` (uniform in ±√(6 / (n + m)), row-major from `rng`), `b` zero
    /// (given).
    pub fn new(n: usize, m: usize, rng: &mut ChaCha8Rng, dev: &Device) -> Result<ToyModel> {
        let bound = (6.0 / (n + m) as f64).sqrt();
        let w: Vec<f32> = (0..m * n).map(|_| rng.random_range(-bound..bound) as f32).collect();
        Ok(ToyModel { w: Var::from_tensor(&Tensor::from_vec(w, (m, n), dev)?)?, b: Var::zeros(n, DType::F32, dev)? })
    }

    /// ## toy_forward
    /// The reconstruction `ReLU(x · Wᵀ · W + b)` `[batch, n]` of a batch `x` `[batch, n]`: each
    /// row is one sample, compressed to `h = x · Wᵀ` `[batch, m]` and read back.
    // HINT: Samples are rows, so compress by multiplying with the transpose of W and read back with W itself; the bias is added after reading back and before the ReLU.
    // HINT: w = self.w.as_tensor() [m, n]; h = x · wᵀ [batch, m]; out = h · w [batch, n]; broadcast_add b [n]; relu.
    // HINT: x.matmul(&w.t()?)?.matmul(w)?.broadcast_add(self.b.as_tensor())?.relu()
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        // BEGIN SOLUTION
        let w = self.w.as_tensor();
        x.matmul(&w.t()?)?.matmul(w)?.broadcast_add(self.b.as_tensor())?.relu()
        // END SOLUTION
    }
}

/// ## toy_loss
/// The importance-weighted reconstruction error: for each sample `Σᵢ importanceᵢ · (xᵢ −
/// outᵢ)²`, averaged over the batch. `out`, `x` `[batch, n]`, `importance` `[n]`; a scalar.
// HINT: Weight each feature's squared error by its importance, add over the features of a sample, then average over the samples (not over every element).
// HINT: (x − out) squared [batch, n]; broadcast_mul by importance [n]; sum over dimension 1 → [batch]; mean_all.
// HINT: (x - out)?.sqr()?.broadcast_mul(importance)?.sum(1)?.mean_all()
pub fn toy_loss(out: &Tensor, x: &Tensor, importance: &Tensor) -> Result<Tensor> {
    // BEGIN SOLUTION
    (x - out)?.sqr()?.broadcast_mul(importance)?.sum(1)?.mean_all()
    // END SOLUTION
}

/// ## feature_batch
/// A batch `[batch, n]` of synthetic features, in row-major order: for each entry draw
/// `u = rng.random::<f32>()`; if `u < sparsity` the entry is 0, otherwise it is a second draw
/// `rng.random::<f32>()` (uniform in [0, 1)).
// HINT: Each entry costs one random draw to decide whether it is zero and, only when it is not, a second draw for its value; the draws happen in exactly that order, entry by entry in row-major order.
// HINT: A Vec<f32> of batch · n entries: for each, if rng.random::<f32>() < sparsity as f32 then 0.0 else rng.random::<f32>(); then Tensor::from_vec(v, (batch, n), dev).
// HINT: let v: Vec<f32> = (0..batch * n).map(|_| if rng.random::<f32>() < sparsity as f32 { 0.0 } else { rng.random::<f32>() }).collect();
pub fn feature_batch(batch: usize, n: usize, sparsity: f64, rng: &mut ChaCha8Rng, dev: &Device) -> Result<Tensor> {
    // BEGIN SOLUTION
    let v: Vec<f32> = (0..batch * n).map(|_| if rng.random::<f32>() < sparsity as f32 { 0.0 } else { rng.random::<f32>() }).collect();
    Tensor::from_vec(v, (batch, n), dev)
    // END SOLUTION
}

/// What [`train_toy`] trains (given): `n` features in `m` dimensions, each zero with
/// probability `sparsity`, their importances (`n` values), and the optimiser's steps and
/// learning rate.
#[derive(Clone, Debug)]
pub struct ToyConfig {
    pub n: usize,
    pub m: usize,
    pub sparsity: f64,
    pub importance: Vec<f32>,
    pub steps: usize,
    pub lr: f64,
}

/// ## train_toy
/// A toy model trained from `ToyModel::new(n, m, rng, dev)`: `steps` steps of
/// `candle_nn::AdamW` (lr `lr`, weight decay 0, other settings its defaults) on fresh batches of
/// 1,024 from `feature_batch(1024, n, sparsity, rng, dev)`, with [`toy_loss`] weighted by
/// `importance`. The same `rng` serves the initialisation and then every batch, in that order.
// HINT: The grader replays the recipe, so the order of the random draws matters: the initialisation takes its draws from the RNG first, then every step draws a fresh batch from the same RNG; and candle's AdamW decays weights by default unless you set its decay to zero.
// HINT: model = ToyModel::new(n, m, rng, dev); the importance as an [n] tensor; candle_nn::AdamW over [w, b] with ParamsAdamW { lr, weight_decay: 0.0, ..Default::default() }; each step: x = feature_batch(1024, n, sparsity, rng, dev), loss = toy_loss(&model.forward(&x), &x, &imp), opt.backward_step(&loss).
// HINT: let params = candle_nn::ParamsAdamW { lr: cfg.lr, weight_decay: 0.0, ..Default::default() }; let mut opt = candle_nn::AdamW::new(vec![model.w.clone(), model.b.clone()], params)?;
pub fn train_toy(cfg: &ToyConfig, rng: &mut ChaCha8Rng, dev: &Device) -> Result<ToyModel> {
    // BEGIN SOLUTION
    use candle_nn::Optimizer;
    let model = ToyModel::new(cfg.n, cfg.m, rng, dev)?;
    let imp = Tensor::from_slice(&cfg.importance, cfg.n, dev)?;
    let params = candle_nn::ParamsAdamW { lr: cfg.lr, weight_decay: 0.0, ..Default::default() };
    let mut opt = candle_nn::AdamW::new(vec![model.w.clone(), model.b.clone()], params)?;
    for _ in 0..cfg.steps {
        let x = feature_batch(1024, cfg.n, cfg.sparsity, rng, dev)?;
        let loss = toy_loss(&model.forward(&x)?, &x, &imp)?;
        opt.backward_step(&loss)?;
    }
    Ok(model)
    // END SOLUTION
}
