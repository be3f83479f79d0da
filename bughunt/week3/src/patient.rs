//! The patient: a two-layer char-GPT and its training loop, as a course would write them. Your
//! `Vocab` turns Tiny Shakespeare into ids.
//!
//! `just bughunt week3` changes one thing in this file, trains, and shows you the symptoms.
//! Find the line from the pictures, then answer with `just bughunt week3 --line N`, or fix the
//! file and run `just bughunt week3` again.
//!
//! ```text
//! x = wte[ids] + wpe[0..T]                                   [B, T, 48]
//! 2 × { x = x + proj(attention(ln1(x)))    4 causal heads of 12
//!       x = x + fc2(gelu(fc1(ln2(x)))) }   48 → 192 → 48
//! logits = ln_f(x) @ head                                    [B, T, vocab]
//! ```
//!
//! AdamW (no weight decay), a linear warm-up over 20 steps to 3e-3, gradients clipped to norm 1.
//! Linear layers, GELU and the optimiser are library calls (week 3 taught them); the layer norm
//! and the attention are written out.

use crate::probe::{Acts, Kind, Probe};
use candle_core::{DType, Device, Result, Tensor, Var, D};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

pub const BLOCK: usize = 32;
const EMBD: usize = 48;
const HEADS: usize = 4;
const LAYERS: usize = 2;
pub const STEPS: usize = 300;
const BATCH: usize = 16;
const LR: f64 = 3e-3;
const WARMUP: usize = 20;
const DROPOUT: f64 = 0.1;

pub struct Model {
    names: Vec<String>,
    vars: Vec<Var>,
}

impl Model {
    pub fn new(vocab: usize, rng: &mut ChaCha8Rng, dev: &Device) -> Result<Model> {
        let mut m = Model { names: Vec::new(), vars: Vec::new() };
        let mut normal = |shape: &[usize], std: f64| -> Result<Tensor> {
            let n = shape.iter().product::<usize>();
            let v: Vec<f32> = (0..n)
                .map(|_| {
                    // Box–Muller.
                    let (u, w): (f64, f64) = (rng.random::<f64>().max(1e-12), rng.random());
                    ((-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * w).cos() * std) as f32
                })
                .collect();
            Tensor::from_vec(v, shape, dev)
        };
        let add = |m: &mut Model, name: String, t: Tensor| -> Result<()> {
            m.names.push(name);
            m.vars.push(Var::from_tensor(&t)?);
            Ok(())
        };
        add(&mut m, "wte".into(), normal(&[vocab, EMBD], 0.02)?)?;
        add(&mut m, "wpe".into(), normal(&[BLOCK, EMBD], 0.02)?)?;
        for l in 0..LAYERS {
            add(&mut m, format!("ln1.{l}"), Tensor::ones(EMBD, DType::F32, dev)?)?;
            add(&mut m, format!("qkv.{l}"), normal(&[3 * EMBD, EMBD], 0.02)?)?;
            add(&mut m, format!("proj.{l}"), normal(&[EMBD, EMBD], 0.02 / (2.0 * LAYERS as f64).sqrt())?)?;
            add(&mut m, format!("ln2.{l}"), Tensor::ones(EMBD, DType::F32, dev)?)?;
            add(&mut m, format!("fc1.{l}"), normal(&[4 * EMBD, EMBD], 0.02)?)?;
            add(&mut m, format!("fc2.{l}"), normal(&[EMBD, 4 * EMBD], 0.02 / (2.0 * LAYERS as f64).sqrt())?)?;
        }
        add(&mut m, "ln_f".into(), Tensor::ones(EMBD, DType::F32, dev)?)?;
        add(&mut m, "head".into(), normal(&[vocab, EMBD], 0.02)?)?;
        Ok(m)
    }

    fn w(&self, name: &str) -> &Tensor {
        let k = self.names.iter().position(|n| n == name).expect("a parameter of the model");
        self.vars[k].as_tensor()
    }

    /// Every parameter with its name, in the order of the forward pass.
    pub fn named(&self) -> Vec<(&str, Tensor)> {
        self.names.iter().map(String::as_str).zip(self.vars.iter().map(|v| v.as_tensor().clone())).collect()
    }

    /// The logits `[B, T, vocab]` of ids `x: [B, T]`, and each layer's activations (for the
    /// probe). `train`: dropout on the attention weights and on each residual branch.
    pub fn forward(&self, x: &Tensor, train: bool, rng: &mut ChaCha8Rng) -> Result<(Tensor, Acts)> {
        const ATTN: [&str; 2] = ["attention.0", "attention.1"];
        const MLP: [&str; 2] = ["gelu.0", "gelu.1"];
        const RESID: [&str; 2] = ["residual.0", "residual.1"];
        let (b, t) = x.dims2()?;
        let tok = self.w("wte").index_select(&x.flatten_all()?, 0)?.reshape((b, t, EMBD))?;
        let pos = self.w("wpe").narrow(0, 0, t)?;
        let mut h = tok.broadcast_add(&pos)?;
        let mut acts = vec![("embedding", Kind::Plain, h.clone())];
        let drop = |t: &Tensor, rng: &mut ChaCha8Rng| if train { dropout(t, DROPOUT, rng) } else { Ok(t.clone()) };
        let d = EMBD / HEADS;
        for l in 0..LAYERS {
            let a = layer_norm(&h, self.w(&format!("ln1.{l}")))?;
            let qkv = fastops::linear(&a, self.w(&format!("qkv.{l}")), None)?;
            let heads = |k: usize| qkv.narrow(2, k * EMBD, EMBD)?.reshape((b, t, HEADS, d))?.transpose(1, 2)?.contiguous();
            let (q, k, v) = (heads(0)?, heads(1)?, heads(2)?);
            let scores = (q.matmul(&k.t()?)? / (d as f64).sqrt())?;
            let scores = scores.broadcast_add(&causal_mask(t, x.device())?)?;
            let att = candle_nn::ops::softmax(&scores, D::Minus1)?;
            acts.push((ATTN[l], Kind::Softmax, att.clone()));
            let y = drop(&att, rng)?.matmul(&v)?.transpose(1, 2)?.reshape((b, t, EMBD))?;
            h = (h + drop(&fastops::linear(&y, self.w(&format!("proj.{l}")), None)?, rng)?)?;
            let m = fastops::gelu_erf(&fastops::linear(&layer_norm(&h, self.w(&format!("ln2.{l}")))?, self.w(&format!("fc1.{l}")), None)?)?;
            acts.push((MLP[l], Kind::Plain, m.clone()));
            h = (h + drop(&fastops::linear(&m, self.w(&format!("fc2.{l}")), None)?, rng)?)?;
            acts.push((RESID[l], Kind::Plain, h.clone()));
        }
        let logits = fastops::linear(&layer_norm(&h, self.w("ln_f"))?, self.w("head"), None)?;
        acts.push(("logits", Kind::Plain, logits.clone()));
        Ok((logits, acts))
    }
}

/// Layer norm over the features (the last axis) with a gain and no bias.
fn layer_norm(x: &Tensor, gain: &Tensor) -> Result<Tensor> {
    let mean = x.mean_keepdim(D::Minus1)?;
    let centred = x.broadcast_sub(&mean)?;
    let var = centred.sqr()?.mean_keepdim(D::Minus1)?;
    centred.broadcast_div(&(var + 1e-5)?.sqrt()?)?.broadcast_mul(gain)
}

/// `[T, T]`: 0 where query i may look at key j (j ≤ i), −∞ where it may not.
fn causal_mask(t: usize, dev: &Device) -> Result<Tensor> {
    let v: Vec<f32> = (0..t * t).map(|k| if k % t > k / t { f32::NEG_INFINITY } else { 0.0 }).collect();
    Tensor::from_vec(v, (t, t), dev)
}

/// Zero each value with probability `p` and scale the survivors by 1 / (1 - p).
fn dropout(x: &Tensor, p: f64, rng: &mut ChaCha8Rng) -> Result<Tensor> {
    let keep: Vec<f32> = (0..x.elem_count()).map(|_| if rng.random::<f64>() < p { 0.0 } else { (1.0 / (1.0 - p)) as f32 }).collect();
    x * Tensor::from_vec(keep, x.shape(), x.device())?
}

/// The mean cross-entropy of `logits: [B, T, V]` against `targets: [B, T]`.
fn loss_fn(logits: &Tensor, targets: &Tensor) -> Result<Tensor> {
    let v = logits.dim(D::Minus1)?;
    let logp = candle_nn::ops::log_softmax(&logits.reshape(((), v))?, D::Minus1)?;
    logp.gather(&targets.flatten_all()?.unsqueeze(1)?, 1)?.neg()?.mean_all()
}

fn learning_rate(step: usize) -> f64 {
    LR * ((step + 1) as f64 / WARMUP as f64).min(1.0)
}

/// A batch of `BATCH` windows of `data`: the inputs and, one character later, the targets.
fn batch(data: &[u32], rng: &mut ChaCha8Rng, dev: &Device) -> Result<(Tensor, Tensor)> {
    let (mut xs, mut ys) = (Vec::new(), Vec::new());
    for _ in 0..BATCH {
        let i = rng.random_range(0..data.len() - BLOCK - 1);
        xs.extend_from_slice(&data[i..i + BLOCK]);
        ys.extend_from_slice(&data[i + 1..i + BLOCK + 1]);
    }
    Ok((Tensor::from_vec(xs, (BATCH, BLOCK), dev)?, Tensor::from_vec(ys, (BATCH, BLOCK), dev)?))
}

/// Train on the ids `data` for [`STEPS`] steps, telling the probe about every one.
pub fn train(data: &[u32], vocab: usize, probe: &mut Probe, rng: &mut ChaCha8Rng) -> Result<Model> {
    let dev = Device::Cpu;
    let model = Model::new(vocab, rng, &dev)?;
    let mut opt = AdamW::new(model.vars.clone(), ParamsAdamW { lr: LR, weight_decay: 0.0, ..Default::default() })?;
    for step in 0..STEPS {
        let (xb, yb) = batch(data, rng, &dev)?;
        let (logits, acts) = model.forward(&xb, true, rng)?;
        let loss = loss_fn(&logits, &yb)?;
        let mut grads = loss.backward()?;
        // Clip the global gradient norm to 1.
        let mut total = 0.0;
        for v in &model.vars {
            if let Some(g) = grads.get(v) {
                total += g.sqr()?.sum_all()?.to_scalar::<f32>()? as f64;
            }
        }
        let norm = total.sqrt();
        if norm > 1.0 {
            for v in &model.vars {
                if let Some(g) = grads.remove(v) {
                    grads.insert(v, (g * (1.0 / norm))?);
                }
            }
        }
        let lr = learning_rate(step);
        let named: Vec<_> = model.named().into_iter().map(|(n, t)| (n, t.clone(), grads.get(&t).cloned())).collect();
        probe.record(step, lr, &loss, &acts, &named)?;
        opt.set_learning_rate(lr);
        opt.step(&grads)?;
        probe.updated(&model.named())?;
    }
    Ok(model)
}

/// The logits of ids `x: [B, T]` in evaluation mode.
pub fn evaluate(model: &Model, x: &Tensor, rng: &mut ChaCha8Rng) -> Result<Tensor> {
    Ok(model.forward(x, false, rng)?.0)
}
