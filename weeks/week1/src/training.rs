//! # Training
//!
//! A convolutional network trained on MNIST with candle's autograd: the training loop (sample a
//! batch, forward, loss, backward, update), evaluation, and data parallelism by hand — a batch
//! split over worker threads whose gradients are averaged ("all-reduce"), giving exactly the
//! single-worker step. The same code runs on a GPU: the grader passes the device.
//!
//! Gradients: `loss.backward()?` returns a `GradStore`; `grads.get(&param)` is the gradient of a
//! trainable tensor (your `Layer::parameters`, made with `Var::from_tensor`). A parameter that
//! the loss does not depend on has *no* entry: treat that as an error, never as zero. Update a
//! parameter in place with `Var::from_tensor(&param)?.set(&new)?` (for a trainable tensor this
//! wraps the same storage).
#![allow(unused_variables, unused_imports, dead_code)] // remove once you have solved a few

use super::modules::{Conv2d, Layer, Linear, MaxPool2d, Relu};
use super::regression::cross_entropy;
use candle_core::{backprop::GradStore, DType, Device, Result, Tensor, Var, D};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// ## simple_cnn
/// A small CNN for `[n, 1, 28, 28]` images: `conv1` (1 → 8 channels, 3×3, padding 1), ReLU,
/// 2×2 max-pool (stride 2), `conv2` (8 → 16, 3×3, padding 1), ReLU, 2×2 max-pool, flatten to
/// `[n, 16·7·7]`, `fc` (784 → 10). Built with your modules' `new` (trainable, PyTorch's
/// initialisation). Parameters named `conv1.weight`, `conv1.bias`, `conv2.…`, `fc.…`.
pub struct SimpleCnn {
    pub conv1: Conv2d,
    pub conv2: Conv2d,
    pub fc: Linear,
}

impl SimpleCnn {
    pub fn new(rng: &mut ChaCha8Rng, dev: &Device) -> Result<SimpleCnn> {
        todo!()
    }
}

impl Layer for SimpleCnn {
    fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        todo!()
    }
    fn parameters(&self, prefix: &str) -> Vec<(String, Tensor)> {
        todo!()
    }
}

/// ## sgd_step
/// One step of SGD with momentum (PyTorch's rule, dampening 0): for each parameter `p` with
/// gradient `g` (from `grads`), `v ← momentum · v + g` (on the first step `v ← g`), then
/// `p ← p − lr · v`, in place. `velocity` holds one `Option<Tensor>` per parameter (start with
/// `None`s). A parameter without a gradient is an error (`candle_core::bail!`): a silently
/// frozen layer is the hardest bug of all to find. Keep `g.detach()` in the buffer, not `g`: a
/// gradient of a trainable tensor still references the forward graph that produced it, and a
/// momentum buffer built from it would keep every step's graph alive (memory grows each step).
pub fn sgd_step(params: &[Tensor], grads: &GradStore, velocity: &mut [Option<Tensor>], lr: f64, momentum: f64) -> Result<()> {
    todo!()
}

/// ## train_cnn
/// Train `model` for `steps` steps: each step draws `batch` example indices uniformly at random
/// (with replacement) with `rng`, takes those images (`[batch, 784]` → reshape to
/// `[batch, 1, 28, 28]`) and labels, computes `cross_entropy(model(x), y)` (your day-
/// "regression" function), `backward`, and `sgd_step` with `lr` and momentum 0.9. `images`:
/// `[n, 784]` f32, `labels`: `[n]` u32. Returns the loss of every step.
/// Call `candlecamp::progress(step, steps, loss)` once a step (the step counting from 0, the
/// loss as a number): the grader shows the step, the loss and the time left while it runs.
pub fn train_cnn(model: &SimpleCnn, images: &Tensor, labels: &Tensor, steps: usize, batch: usize, lr: f64, rng: &mut ChaCha8Rng) -> Result<Vec<f32>> {
    todo!()
}

/// ## accuracy
/// The fraction of `images` (`[n, 784]`) whose most likely class under `model` is the label,
/// computed in batches of `batch` images (all at once would hold every activation in memory).
pub fn accuracy(model: &SimpleCnn, images: &Tensor, labels: &Tensor, batch: usize) -> Result<f64> {
    todo!()
}

/// ## data_parallel_grads
/// Data parallelism by hand. Split the batch (`x: [n, 1, 28, 28]`, `y: [n]`) into `workers`
/// contiguous shards whose sizes differ by at most one, and compute on one thread per shard
/// (`std::thread::scope`) the gradients of that shard's mean cross-entropy with respect to
/// `model.parameters("")`. Then *all-reduce*: combine the workers' gradients into the gradient
/// of the mean loss over the whole batch. (Careful: shards of different sizes must be weighted
/// by their size, `Σ (nᵢ / n) gᵢ`, not averaged equally; with more workers than examples the
/// extra shards are empty and do no work.) Returns one gradient per parameter, in
/// `parameters("")` order. On a machine with several GPUs each shard would live on its own
/// device; the arithmetic is the same.
pub fn data_parallel_grads(model: &SimpleCnn, x: &Tensor, y: &Tensor, workers: usize) -> Result<Vec<Tensor>> {
    todo!()
}
