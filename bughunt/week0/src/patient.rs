//! The patient: week 0's MLP language model and its training loop, as a course would write
//! them. Your `build_dataset`, `batchnorm_train` and `batchnorm_eval` do their parts.
//!
//! `just bughunt week0` changes one thing in this file, trains, and shows you the symptoms.
//! Find the line from the pictures, then answer with `just bughunt week0 --line N`, or fix the
//! file and run `just bughunt week0` again.
//!
//! ```text
//! emb    = C[X] viewed as [B, 3·10]
//! h1     = tanh(emb @ W1 + b1)                        [B, 100]
//! h2     = tanh(batchnorm(h1 @ W2) · gamma + beta)     [B, 100]   (dropout 0.1 while training)
//! logits = h2 @ W3 + b3                                [B, 27]
//! ```
//!
//! Plain SGD on 2 micro-batches of 32 per step (their gradients averaged), learning rate 0.1
//! for the first three quarters of the steps and 0.01 after.

use crate::probe::{Acts, Kind, Probe};
use crate::subject::week0::mlp::{batchnorm_eval, batchnorm_train};
use crate::subject::week0::util::{randn, VOCAB};
use candle_core::{Device, Result, Tensor, Var, D};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

pub const BLOCK: usize = 3;
const EMBD: usize = 10;
const HIDDEN: usize = 100;
pub const STEPS: usize = 1500;
const MICRO: usize = 2;
const BATCH: usize = 32;
const DROPOUT: f64 = 0.1;

pub struct Model {
    c: Var,
    w1: Var,
    b1: Var,
    w2: Var,
    gamma: Var,
    beta: Var,
    w3: Var,
    b3: Var,
    running_mean: Tensor,
    running_var: Tensor,
}

impl Model {
    pub fn new(rng: &mut ChaCha8Rng, dev: &Device) -> Result<Model> {
        let fan_in = (BLOCK * EMBD) as f64;
        let var = |t: Tensor| Var::from_tensor(&t);
        Ok(Model {
            c: var(randn(rng, &[VOCAB, EMBD], 1.0, dev)?)?,
            w1: var(randn(rng, &[BLOCK * EMBD, HIDDEN], (5.0 / 3.0) / fan_in.sqrt(), dev)?)?,
            b1: var(randn(rng, &[HIDDEN], 0.01, dev)?)?,
            w2: var(randn(rng, &[HIDDEN, HIDDEN], (5.0 / 3.0) / (HIDDEN as f64).sqrt(), dev)?)?,
            gamma: var(Tensor::ones(HIDDEN, candle_core::DType::F32, dev)?)?,
            beta: var(Tensor::zeros(HIDDEN, candle_core::DType::F32, dev)?)?,
            w3: var((randn(rng, &[HIDDEN, VOCAB], 1.0 / (HIDDEN as f64).sqrt(), dev)? * 0.1)?)?,
            b3: var(Tensor::zeros(VOCAB, candle_core::DType::F32, dev)?)?,
            running_mean: Tensor::zeros(HIDDEN, candle_core::DType::F32, dev)?,
            running_var: Tensor::ones(HIDDEN, candle_core::DType::F32, dev)?,
        })
    }

    /// Every parameter with its name, in the order of the forward pass.
    pub fn named(&self) -> Vec<(&'static str, &Var)> {
        vec![
            ("C", &self.c),
            ("W1", &self.w1),
            ("b1", &self.b1),
            ("W2", &self.w2),
            ("gamma", &self.gamma),
            ("beta", &self.beta),
            ("W3", &self.w3),
            ("b3", &self.b3),
        ]
    }

    /// The parameters the optimiser updates.
    fn trainable(&self) -> Vec<&Var> {
        vec![&self.c, &self.w1, &self.b1, &self.w2, &self.gamma, &self.beta, &self.w3, &self.b3]
    }

    /// The logits of contexts `x: [B, 3]`, and each layer's activations (for the probe).
    /// `train`: batch statistics (and the running statistics updated) and dropout.
    pub fn forward(&mut self, x: &Tensor, train: bool, rng: &mut ChaCha8Rng) -> Result<(Tensor, Acts)> {
        let b = x.dim(0)?;
        let emb = self.c.as_tensor().index_select(&x.flatten_all()?, 0)?.reshape((b, BLOCK * EMBD))?;
        let h1 = emb.matmul(self.w1.as_tensor())?.broadcast_add(self.b1.as_tensor())?.tanh()?;
        let pre2 = h1.matmul(self.w2.as_tensor())?;
        let norm = if train {
            let (y, mean, var) = batchnorm_train(&pre2, &self.gamma, &self.beta, &self.running_mean, &self.running_var, 0.01, 1e-5)?;
            self.running_mean = mean.detach();
            self.running_var = var.detach();
            y
        } else {
            batchnorm_eval(&pre2, &self.gamma, &self.beta, &self.running_mean, &self.running_var, 1e-5)?
        };
        let h2 = norm.tanh()?;
        let dropped = if train { dropout(&h2, DROPOUT, rng)? } else { h2.clone() };
        let logits = dropped.matmul(self.w3.as_tensor())?.broadcast_add(self.b3.as_tensor())?;
        Ok((logits, vec![("emb", Kind::Plain, emb), ("h1", Kind::Tanh, h1), ("pre2", Kind::Plain, pre2), ("h2", Kind::Tanh, h2)]))
    }
}

/// Zero each value with probability `p` and scale the survivors by 1 / (1 - p).
fn dropout(x: &Tensor, p: f64, rng: &mut ChaCha8Rng) -> Result<Tensor> {
    let keep: Vec<f32> = (0..x.elem_count()).map(|_| if rng.random::<f64>() < p { 0.0 } else { (1.0 / (1.0 - p)) as f32 }).collect();
    x * Tensor::from_vec(keep, x.shape(), x.device())?
}

/// The mean cross-entropy of `logits: [B, 27]` against `targets: [B]`.
fn loss_fn(logits: &Tensor, targets: &Tensor) -> Result<Tensor> {
    let logp = candle_nn::ops::log_softmax(logits, D::Minus1)?;
    logp.gather(&targets.unsqueeze(1)?, 1)?.neg()?.mean_all()
}

fn learning_rate(step: usize) -> f64 {
    if step < STEPS * 3 / 4 {
        0.1
    } else {
        0.01
    }
}

/// Train on `(x, y)` for [`STEPS`] steps, telling the probe about every one.
pub fn train(x: &Tensor, y: &Tensor, probe: &mut Probe, rng: &mut ChaCha8Rng) -> Result<Model> {
    let dev = x.device();
    let mut model = Model::new(rng, dev)?;
    let n = x.dim(0)?;
    let mut sum: Vec<Tensor> = model.trainable().iter().map(|v| v.zeros_like()).collect::<Result<_>>()?;
    for step in 0..STEPS {
        for g in sum.iter_mut() {
            *g = g.zeros_like()?;
        }
        let mut last = None;
        for _ in 0..MICRO {
            let rows: Vec<u32> = (0..BATCH).map(|_| rng.random_range(0..n) as u32).collect();
            let rows = Tensor::new(rows.as_slice(), dev)?;
            let (xb, yb) = (x.index_select(&rows, 0)?, y.index_select(&rows, 0)?);
            let (logits, acts) = model.forward(&xb, true, rng)?;
            let loss = loss_fn(&logits, &yb)?;
            let grads = loss.backward()?;
            for (s, v) in sum.iter_mut().zip(model.trainable()) {
                if let Some(g) = grads.get(v) {
                    *s = (&*s + g)?;
                }
            }
            last = Some((loss, acts));
        }
        let (loss, acts) = last.expect("at least one micro-batch");
        let lr = learning_rate(step);
        let named: Vec<_> = model.named().into_iter().map(|(n, v)| (n, v.as_tensor().clone(), grad_of(&model, &sum, v))).collect();
        probe.record(step, lr, &loss, &acts, &named)?;
        for (v, g) in model.trainable().into_iter().zip(&sum) {
            v.set(&(v.as_tensor() - (g * (lr / MICRO as f64))?)?)?;
        }
        probe.updated(&model.named().into_iter().map(|(n, v)| (n, v.as_tensor().clone())).collect::<Vec<_>>())?;
    }
    Ok(model)
}

/// The accumulated gradient of parameter `v` (`None` for a parameter the optimiser skips).
fn grad_of(model: &Model, sum: &[Tensor], v: &Var) -> Option<Tensor> {
    let k = model.trainable().iter().position(|t| t.as_tensor().id() == v.as_tensor().id())?;
    (&sum[k] / MICRO as f64).ok()
}

/// The logits of `x` in evaluation mode, in batches.
pub fn evaluate(model: &mut Model, x: &Tensor, rng: &mut ChaCha8Rng) -> Result<Tensor> {
    let (logits, _) = model.forward(x, false, rng)?;
    Ok(logits)
}
