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
#![allow(unused_variables, unused_imports, unused_mut, dead_code)] // remove once you have solved a few

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
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        todo!()
    }
}

/// ## toy_loss
/// The importance-weighted reconstruction error: for each sample `Σᵢ importanceᵢ · (xᵢ −
/// outᵢ)²`, averaged over the batch. `out`, `x` `[batch, n]`, `importance` `[n]`; a scalar.
pub fn toy_loss(out: &Tensor, x: &Tensor, importance: &Tensor) -> Result<Tensor> {
    todo!()
}

/// ## feature_batch
/// A batch `[batch, n]` of synthetic features, in row-major order: for each entry draw
/// `u = rng.random::<f32>()`; if `u < sparsity` the entry is 0, otherwise it is a second draw
/// `rng.random::<f32>()` (uniform in [0, 1)).
pub fn feature_batch(batch: usize, n: usize, sparsity: f64, rng: &mut ChaCha8Rng, dev: &Device) -> Result<Tensor> {
    todo!()
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
pub fn train_toy(cfg: &ToyConfig, rng: &mut ChaCha8Rng, dev: &Device) -> Result<ToyModel> {
    todo!()
}
