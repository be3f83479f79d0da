//! The patient: a small MNIST CNN and its training loop, as a course would write them. Your
//! `kaiming_uniform` draws its weights and your `BatchNorm2d` normalises its first layer.
//!
//! `just bughunt week1` changes one thing in this file, trains, and shows you the symptoms.
//! Find the line from the pictures, then answer with `just bughunt week1 --line N`, or fix the
//! file and run `just bughunt week1` again.
//!
//! ```text
//! x [B, 1, 28, 28] → conv1 3×3 (8) → max pool 2 → batch norm → ReLU   [B, 8, 14, 14]
//!                  → conv2 3×3 (16) + bias       → ReLU → max pool 2   [B, 16, 7, 7]
//!                  → flatten [B, 784] → dropout 0.3 → fc [10]
//! ```
//!
//! The convolutions and pooling are `fastops`' (week 1 taught them).
//!
//! SGD with momentum 0.9, batches of 64, the learning rate on a cosine from 0.05 to 0.005.

use crate::probe::{Acts, Kind, Probe};
use crate::subject::week1::modules::{kaiming_uniform, BatchNorm2d, Layer};
use candle_core::{DType, Device, Result, Tensor, Var, D};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

pub const STEPS: usize = 240;
const BATCH: usize = 64;
const DROPOUT: f64 = 0.3;
const LR: f64 = 0.05;
const MOMENTUM: f64 = 0.9;

pub struct Model {
    conv1: Var,
    bn: BatchNorm2d,
    conv2: Var,
    conv2_bias: Var,
    fc: Var,
    fc_bias: Var,
}

impl Model {
    pub fn new(rng: &mut ChaCha8Rng, dev: &Device) -> Result<Model> {
        let relu_gain = 2f64.sqrt();
        Ok(Model {
            conv1: Var::from_tensor(&kaiming_uniform(&[8, 1, 3, 3], 9, relu_gain, rng, dev)?)?,
            bn: BatchNorm2d::new(8, 0.1, 1e-5, dev)?,
            conv2: Var::from_tensor(&kaiming_uniform(&[16, 8, 3, 3], 8 * 9, relu_gain, rng, dev)?)?,
            conv2_bias: Var::zeros(16, DType::F32, dev)?,
            fc: Var::from_tensor(&kaiming_uniform(&[10, 784], 784, 1.0, rng, dev)?)?,
            fc_bias: Var::zeros(10, DType::F32, dev)?,
        })
    }

    /// Every parameter with its name, in the order of the forward pass.
    pub fn named(&self) -> Vec<(&'static str, Tensor)> {
        vec![
            ("conv1", self.conv1.as_tensor().clone()),
            ("bn.weight", self.bn.weight.clone()),
            ("bn.bias", self.bn.bias.clone()),
            ("conv2", self.conv2.as_tensor().clone()),
            ("conv2.bias", self.conv2_bias.as_tensor().clone()),
            ("fc", self.fc.as_tensor().clone()),
            ("fc.bias", self.fc_bias.as_tensor().clone()),
        ]
    }

    /// The logits of images `x: [B, 1, 28, 28]`, and each layer's activations (for the probe).
    /// `train`: batch statistics in the batch norm, and dropout.
    pub fn forward(&self, x: &Tensor, train: bool, rng: &mut ChaCha8Rng) -> Result<(Tensor, Acts)> {
        let c1 = fastops::conv2d(x, self.conv1.as_tensor(), 1, 1)?;
        let p1 = fastops::max_pool2d(&c1, 2, 2, 0)?;
        let a1 = self.bn.forward(&p1, train)?.relu()?;
        let c2 = fastops::conv2d(&a1, self.conv2.as_tensor(), 1, 1)?.broadcast_add(&self.conv2_bias.as_tensor().reshape((1, 16, 1, 1))?)?;
        let a2 = c2.relu()?;
        let flat = fastops::max_pool2d(&a2, 2, 2, 0)?.flatten_from(1)?;
        let dropped = if train { dropout(&flat, DROPOUT, rng)? } else { flat.clone() };
        let logits = dropped.matmul(&self.fc.as_tensor().t()?)?.broadcast_add(self.fc_bias.as_tensor())?;
        Ok((logits.clone(), vec![("conv1", Kind::Plain, c1), ("relu1", Kind::Relu, a1), ("relu2", Kind::Relu, a2), ("logits", Kind::Plain, logits)]))
    }
}

/// Zero each value with probability `p` and scale the survivors by 1 / (1 - p).
fn dropout(x: &Tensor, p: f64, rng: &mut ChaCha8Rng) -> Result<Tensor> {
    let keep: Vec<f32> = (0..x.elem_count()).map(|_| if rng.random::<f64>() < p { 0.0 } else { (1.0 / (1.0 - p)) as f32 }).collect();
    x * Tensor::from_vec(keep, x.shape(), x.device())?
}

/// The mean cross-entropy of `logits: [B, 10]` against `labels: [B]`.
fn loss_fn(logits: &Tensor, labels: &Tensor) -> Result<Tensor> {
    let logp = candle_nn::ops::log_softmax(logits, D::Minus1)?;
    logp.gather(&labels.unsqueeze(1)?, 1)?.neg()?.mean_all()
}

/// Cosine from LR down to LR / 10 over the run.
fn learning_rate(step: usize) -> f64 {
    let progress = step as f64 / STEPS as f64;
    LR * (0.1 + 0.9 * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos()))
}

/// Train on `images: [N, 1, 28, 28]`, `labels: [N]`, telling the probe about every step.
pub fn train(images: &Tensor, labels: &Tensor, probe: &mut Probe, rng: &mut ChaCha8Rng) -> Result<Model> {
    let dev = images.device();
    let model = Model::new(rng, dev)?;
    let n = images.dim(0)?;
    let params: Vec<Tensor> = model.named().into_iter().map(|(_, t)| t).collect();
    let mut velocity: Vec<Tensor> = params.iter().map(|p| p.zeros_like()).collect::<Result<_>>()?;
    for step in 0..STEPS {
        let rows: Vec<u32> = (0..BATCH).map(|_| rng.random_range(0..n) as u32).collect();
        let rows = Tensor::new(rows.as_slice(), dev)?;
        let (xb, yb) = (images.index_select(&rows, 0)?, labels.index_select(&rows, 0)?);
        let (logits, acts) = model.forward(&xb, true, rng)?;
        let loss = loss_fn(&logits, &yb)?;
        let grads = loss.backward()?;
        let lr = learning_rate(step);
        let named: Vec<_> = model.named().into_iter().map(|(name, t)| (name, t.clone(), grads.get(&t).cloned())).collect();
        probe.record(step, lr, &loss, &acts, &named)?;
        for (p, v) in params.iter().zip(velocity.iter_mut()) {
            let Some(g) = grads.get(p) else { continue };
            *v = ((&*v * MOMENTUM)? + g)?;
            let var = Var::from_tensor(p)?;
            var.set(&(p - (&*v * lr)?)?)?;
        }
        probe.updated(&model.named())?;
    }
    Ok(model)
}

/// The logits of `images` in evaluation mode.
pub fn evaluate(model: &Model, images: &Tensor, rng: &mut ChaCha8Rng) -> Result<Tensor> {
    Ok(model.forward(images, false, rng)?.0)
}
