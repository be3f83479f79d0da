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
// STUB: #![allow(unused_variables, unused_imports, dead_code)] // remove once you have solved a few

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
// HINT: Two rounds of convolution, ReLU and a halving max-pool take 28 × 28 down to 7 × 7 with 16 channels; then flatten and one linear layer. A padding of 1 keeps each 3 × 3 convolution's output the size of its input.
// HINT: new: Conv2d::new(1, 8, 3, 1, 1, rng, dev), Conv2d::new(8, 16, 3, 1, 1, rng, dev), Linear::new(16·7·7, 10, rng, dev). forward: conv → Relu → MaxPool2d { kernel 2, stride 2, padding 0 }, twice, then flatten_from(1) and fc. parameters: the children's, prefixed conv1., conv2., fc.
// HINT: let h = pool.forward(&Relu.forward(&self.conv1.forward(x, train)?, train)?, train)?; the same with conv2; then self.fc.forward(&h.flatten_from(1)?, train)
pub struct SimpleCnn {
    pub conv1: Conv2d,
    pub conv2: Conv2d,
    pub fc: Linear,
}

impl SimpleCnn {
    pub fn new(rng: &mut ChaCha8Rng, dev: &Device) -> Result<SimpleCnn> {
        // BEGIN SOLUTION
        Ok(SimpleCnn {
            conv1: Conv2d::new(1, 8, 3, 1, 1, rng, dev)?,
            conv2: Conv2d::new(8, 16, 3, 1, 1, rng, dev)?,
            fc: Linear::new(16 * 7 * 7, 10, rng, dev)?,
        })
        // END SOLUTION
    }
}

impl Layer for SimpleCnn {
    fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        // BEGIN SOLUTION
        let pool = MaxPool2d { kernel: 2, stride: 2, padding: 0 };
        let h = pool.forward(&Relu.forward(&self.conv1.forward(x, train)?, train)?, train)?;
        let h = pool.forward(&Relu.forward(&self.conv2.forward(&h, train)?, train)?, train)?;
        self.fc.forward(&h.flatten_from(1)?, train)
        // END SOLUTION
    }
    fn parameters(&self, prefix: &str) -> Vec<(String, Tensor)> {
        // BEGIN SOLUTION
        let mut v = self.conv1.parameters(&format!("{prefix}conv1."));
        v.extend(self.conv2.parameters(&format!("{prefix}conv2.")));
        v.extend(self.fc.parameters(&format!("{prefix}fc.")));
        v
        // END SOLUTION
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
// HINT: The update happens in place on the trainable tensors, the momentum buffer holds a detached gradient, and a parameter with no gradient is an error, never a silent zero.
// HINT: For each (p, v) of params zipped with velocity: g = grads.get(p), bail! when it is None; g = g.detach(); the new buffer is g on the first step (None), else momentum·old + g; write p − lr·buffer into p with Var::from_tensor(p)?.set(…); keep the new buffer in the slot.
// HINT: let nv = match v.take() { Some(old) => ((old * momentum)? + &g)?, None => g }; Var::from_tensor(p)?.set(&(p - (&nv * lr)?)?)?; *v = Some(nv);
pub fn sgd_step(params: &[Tensor], grads: &GradStore, velocity: &mut [Option<Tensor>], lr: f64, momentum: f64) -> Result<()> {
    // BEGIN SOLUTION
    for (p, v) in params.iter().zip(velocity.iter_mut()) {
        let Some(g) = grads.get(p) else { candle_core::bail!("a parameter of shape {:?} got no gradient", p.dims()) };
        let g = g.detach();
        let nv = match v.take() {
            Some(old) => ((old * momentum)? + &g)?,
            None => g,
        };
        Var::from_tensor(p)?.set(&(p - (&nv * lr)?)?)?;
        *v = Some(nv);
    }
    Ok(())
    // END SOLUTION
}

// HINT(train_cnn_long): Nothing new to write: this runs your train_cnn for 3,000 steps of 64 and needs 97 % held-out accuracy. If it falls short, the cause is in one of the pieces it uses.
// HINT(train_cnn_long): If it falls short: train_cnn must use the lr it is given and momentum 0.9; sgd_step must add momentum·old + g and update every parameter in place; SimpleCnn must pad its convolutions by 1 and list every parameter; cross_entropy must be the mean over the batch.
// HINT(train_cnn_long): The loop must keep its state across steps: params = model.parameters("") and velocity = vec![None; params.len()] made once before the loop, and sgd_step(&params, &grads, &mut velocity, lr, 0.9)? each step (a fresh velocity every step throws the momentum away).
/// ## train_cnn
/// Train `model` for `steps` steps: each step draws `batch` example indices uniformly at random
/// (with replacement) with `rng`, takes those images (`[batch, 784]` → reshape to
/// `[batch, 1, 28, 28]`) and labels, computes `cross_entropy(model(x), y)` (your day-
/// "regression" function), `backward`, and `sgd_step` with `lr` and momentum 0.9. `images`:
/// `[n, 784]` f32, `labels`: `[n]` u32. Returns the loss of every step.
/// Call `candlecamp::progress(step, steps, loss)` once a step (the step counting from 0, the
/// loss as a number): the grader shows the step, the loss and the time left while it runs.
// HINT: Each step: draw the batch's indices, forward, loss, backward, update. The check recomputes your first step's loss from the same seed, so each step's first use of the given rng must be drawing exactly batch indices, uniformly from 0 to n.
// HINT: params = the tensors of model.parameters(""), collected once; velocity = vec![None; params.len()], kept across steps; per step: batch draws rng.random_range(0..n as u32) into a Tensor; x = images.index_select(&idx, 0) reshaped to (batch, 1, 28, 28); y = labels.index_select(&idx, 0); loss = cross_entropy(&model.forward(&x, true)?, &y); grads = loss.backward(); sgd_step(&params, &grads, &mut velocity, lr, 0.9); push the loss as an f32 and call candlecamp::progress(step, steps, loss).
// HINT: let idx: Vec<u32> = (0..batch).map(|_| rng.random_range(0..n as u32)).collect(); let idx = Tensor::new(idx, images.device())?; let x = images.index_select(&idx, 0)?.reshape((batch, 1, 28, 28))?;
pub fn train_cnn(model: &SimpleCnn, images: &Tensor, labels: &Tensor, steps: usize, batch: usize, lr: f64, rng: &mut ChaCha8Rng) -> Result<Vec<f32>> {
    // BEGIN SOLUTION
    let n = images.dim(0)?;
    let params: Vec<Tensor> = model.parameters("").into_iter().map(|(_, t)| t).collect();
    let mut velocity = vec![None; params.len()];
    let mut losses = Vec::with_capacity(steps);
    for step in 0..steps {
        let idx: Vec<u32> = (0..batch).map(|_| rng.random_range(0..n as u32)).collect();
        let idx = Tensor::new(idx, images.device())?;
        let x = images.index_select(&idx, 0)?.reshape((batch, 1, 28, 28))?;
        let y = labels.index_select(&idx, 0)?;
        let loss = cross_entropy(&model.forward(&x, true)?, &y)?;
        let grads = loss.backward()?;
        sgd_step(&params, &grads, &mut velocity, lr, 0.9)?;
        losses.push(loss.to_dtype(DType::F32)?.to_scalar::<f32>()?);
        candlecamp::progress(step, steps, losses[step]);
    }
    Ok(losses)
    // END SOLUTION
}

/// ## accuracy
/// The fraction of `images` (`[n, 784]`) whose most likely class under `model` is the label,
/// computed in batches of `batch` images (all at once would hold every activation in memory).
// HINT: Count the correct predictions batch by batch and divide by the total at the end; the last batch may be smaller, and evaluation runs with the training flag off.
// HINT: while start < n: len = min(batch, n − start); x = images.narrow(0, start, len) reshaped to (len, 1, 28, 28); pred = argmax over the last axis of model.forward(&x, false); compare it with labels.narrow(0, start, len) (eq), convert to f64, sum_all, and add to a running count; return count / n.
// HINT: right += pred.eq(&labels.narrow(0, start, len)?)?.to_dtype(DType::F64)?.sum_all()?.to_scalar::<f64>()?;
pub fn accuracy(model: &SimpleCnn, images: &Tensor, labels: &Tensor, batch: usize) -> Result<f64> {
    // BEGIN SOLUTION
    let n = images.dim(0)?;
    let mut right = 0f64;
    let mut start = 0;
    while start < n {
        let len = batch.min(n - start);
        let x = images.narrow(0, start, len)?.reshape((len, 1, 28, 28))?;
        let pred = model.forward(&x, false)?.argmax(D::Minus1)?;
        right += pred.eq(&labels.narrow(0, start, len)?)?.to_dtype(DType::F64)?.sum_all()?.to_scalar::<f64>()?;
        start += len;
    }
    Ok(right / n as f64)
    // END SOLUTION
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
// HINT: The gradient of the whole batch's mean loss is the size-weighted sum of the shards' mean-loss gradients: weight each shard by its share of the batch, not by one over the number of workers. Empty shards contribute nothing and need no thread.
// HINT: Shard w gets n/workers rows, plus one for the first n % workers; inside std::thread::scope spawn one closure per non-empty shard: cross_entropy on x.narrow(0, start, len) and y.narrow(0, start, len), backward, and for each parameter grads.get(p) times len/n (a missing gradient is an error); join the handles, then add the workers' lists element by element.
// HINT: params.iter().map(|p| match grads.get(p) { Some(g) => g * (len as f64 / n as f64), None => candle_core::bail!("a parameter got no gradient") }).collect::<Result<Vec<Tensor>>>()
pub fn data_parallel_grads(model: &SimpleCnn, x: &Tensor, y: &Tensor, workers: usize) -> Result<Vec<Tensor>> {
    // BEGIN SOLUTION
    let n = x.dim(0)?;
    let params: Vec<Tensor> = model.parameters("").into_iter().map(|(_, t)| t).collect();
    let mut shards = Vec::new();
    let mut start = 0;
    for w in 0..workers {
        let len = n / workers + usize::from(w < n % workers);
        shards.push((start, len));
        start += len;
    }
    let results: Vec<Result<Vec<Tensor>>> = std::thread::scope(|s| {
        let handles: Vec<_> = shards
            .iter()
            .filter(|(_, len)| *len > 0)
            .map(|&(start, len)| {
                let params = &params;
                s.spawn(move || -> Result<Vec<Tensor>> {
                    let loss = cross_entropy(&model.forward(&x.narrow(0, start, len)?, true)?, &y.narrow(0, start, len)?)?;
                    let grads = loss.backward()?;
                    let weight = len as f64 / n as f64;
                    params
                        .iter()
                        .map(|p| match grads.get(p) {
                            Some(g) => g * weight,
                            None => candle_core::bail!("a parameter of shape {:?} got no gradient", p.dims()),
                        })
                        .collect()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or_else(|_| candle_core::bail!("a worker thread panicked"))).collect()
    });
    let mut total: Option<Vec<Tensor>> = None;
    for r in results {
        let g = r?;
        total = Some(match total {
            None => g,
            Some(t) => t.iter().zip(&g).map(|(a, b)| a + b).collect::<Result<Vec<_>>>()?,
        });
    }
    total.ok_or_else(|| candle_core::Error::Msg("no workers".into()))
    // END SOLUTION
}
