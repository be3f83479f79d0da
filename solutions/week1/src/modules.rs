//! # Modules
//!
//! The layers of `torch.nn`, built from tensor operations, with PyTorch's parameter names so
//! that a PyTorch `state_dict` loads straight into them. Every layer implements [`Layer`]:
//! `forward` (with a `train` flag, which only BatchNorm cares about), and the names of its
//! parameters and buffers, as `named_parameters()` / `named_buffers()` give them in PyTorch.
//!
//! Two ways to make a layer:
//! - `load(vb, …)` reads its tensors from a [`VarBuilder`] (`vb.get(shape, "weight")`; use
//!   `vb.pp("layer1")` to descend into a child), e.g. a PyTorch checkpoint saved as safetensors;
//! - `new(…, rng, dev)` initialises it for training, with trainable tensors (`Var`s: make them
//!   with `Var::from_tensor(&t)?` and keep `var.as_tensor().clone()`, which stays a variable that
//!   candle's autograd tracks and `Var::from_tensor` can update in place).
//!
//! Building on day "convolutions", where you wrote the convolution and the pooling by hand:
//! here `Conv2d` and `MaxPool2d` call the course's ops library for them, `fastops::conv2d` and
//! `fastops::max_pool2d`, which compute what your `conv2d` and `maxpool2d` compute, with a fast
//! backward pass (the book's "fastops" page). `AdaptiveAvgPool2d` calls your
//! `super::convolutions::adaptive_avgpool2d`. Not allowed: `candle_nn`'s layers and
//! `candle_nn::ops` (the point is to write them); `VarBuilder` itself is fine.
// STUB: #![allow(unused_variables, unused_imports, dead_code)] // remove once you have solved a few

use candle_core::{DType, Device, Result, Tensor, Var, D};
use candle_nn::VarBuilder;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// A layer: a forward pass and the names of its tensors.
pub trait Layer: Send + Sync {
    /// Apply the layer. `train` selects training behaviour (batch statistics in BatchNorm).
    fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor>;
    /// The trainable parameters, as `(prefix + name, tensor)` in PyTorch's `named_parameters()`
    /// order and naming (`weight`, `bias`; children as `child.weight`).
    fn parameters(&self, prefix: &str) -> Vec<(String, Tensor)> {
        let _ = prefix;
        Vec::new()
    }
    /// The buffers (not trained: BatchNorm's running statistics), PyTorch's `named_buffers()`
    /// without `num_batches_tracked`.
    fn buffers(&self, prefix: &str) -> Vec<(String, Tensor)> {
        let _ = prefix;
        Vec::new()
    }
}

/// ## kaiming_uniform
/// A `shape` tensor of independent draws from `U(−b, b)` with `b = gain · √(3 / fan_in)`
/// (f32, on `dev`), using `rng` (e.g. `rng.random_range(-b..b)` per element into a `Vec<f32>`).
/// This keeps a layer's output variance at `gain² · Var(input)` whatever its width: the variance
/// of `U(−b, b)` is `b² / 3 = gain² / fan_in`. PyTorch's default for `nn.Linear` and `nn.Conv2d`
/// weights is `gain = 1/√3` (so `b = 1/√fan_in`); for ReLU networks He et al. recommend
/// `gain = √2`. The grader checks the draws statistically: bounds, mean and variance within
/// confidence bands, reproducibility for a seed.
// HINT: Uniform draws on (−b, b) have variance b²/3: choose b so that this equals gain² / fan_in. The rest is one draw per element from the rng you are given, so that a seed reproduces them.
// HINT: b = gain·√(3 / fan_in); n = the product of the shape; draw n values with rng.random_range(-b..b) as f32 into a Vec (from the given rng, not a thread-local one); Tensor::from_vec(v, shape, dev).
// HINT: let b = (gain * (3.0 / fan_in as f64).sqrt()) as f32; let v: Vec<f32> = (0..n).map(|_| rng.random_range(-b..b)).collect(); Tensor::from_vec(v, shape, dev)
pub fn kaiming_uniform(shape: &[usize], fan_in: usize, gain: f64, rng: &mut ChaCha8Rng, dev: &Device) -> Result<Tensor> {
    // BEGIN SOLUTION
    let b = (gain * (3.0 / fan_in as f64).sqrt()) as f32;
    let n: usize = shape.iter().product();
    let v: Vec<f32> = (0..n).map(|_| rng.random_range(-b..b)).collect();
    Tensor::from_vec(v, shape, dev)
    // END SOLUTION
}

// BEGIN SOLUTION ONLY
/// A trainable tensor (a `Var`'s tensor: tracked by autograd, updatable in place).
fn trainable(t: Tensor) -> Result<Tensor> {
    Ok(Var::from_tensor(&t)?.as_tensor().clone())
}

fn named(prefix: &str, items: &[(&str, Option<&Tensor>)]) -> Vec<(String, Tensor)> {
    items.iter().filter_map(|(n, t)| t.map(|t| (format!("{prefix}{n}"), t.clone()))).collect()
}
// END SOLUTION

/// ## linear
/// `nn.Linear`: `y = x · Wᵀ + b` for `x: [..., in]`, `weight: [out, in]`, optional `bias: [out]`.
/// Parameters `weight`, `bias`.
// HINT: PyTorch stores the weight as [out, in], so the forward pass multiplies by its transpose, and the input may have any number of leading axes. Names, shapes and the initialisation all follow PyTorch.
// HINT: load: vb.get((out, in), "weight") and, when bias, vb.get(out, "bias"). new: the weight from kaiming_uniform([out, in], fan_in = inputs, gain 1/√3) and the bias the same way (its bound is then 1/√inputs), each made trainable with Var::from_tensor(&t)?.as_tensor().clone(). forward: broadcast_matmul with the transposed weight, then broadcast_add the bias. parameters: weight first, then bias when there is one, each name prefixed.
// HINT: let y = x.broadcast_matmul(&self.weight.t()?)?; match &self.bias { Some(b) => y.broadcast_add(b), None => Ok(y) } and parameters: vec![(format!("{prefix}weight"), w.clone()), (format!("{prefix}bias"), b.clone())]
pub struct Linear {
    pub weight: Tensor,
    pub bias: Option<Tensor>,
}

impl Linear {
    /// From a checkpoint: `weight` `[out, in]` and, when `bias`, `bias` `[out]`.
    pub fn load(vb: VarBuilder, inputs: usize, outputs: usize, bias: bool) -> Result<Linear> {
        // BEGIN SOLUTION
        let weight = vb.get((outputs, inputs), "weight")?;
        let bias = if bias { Some(vb.get(outputs, "bias")?) } else { None };
        Ok(Linear { weight, bias })
        // END SOLUTION
    }

    /// PyTorch's initialisation, trainable: weight `kaiming_uniform` with `gain = 1/√3` and
    /// `fan_in = inputs`; bias `U(−1/√inputs, 1/√inputs)`.
    pub fn new(inputs: usize, outputs: usize, rng: &mut ChaCha8Rng, dev: &Device) -> Result<Linear> {
        // BEGIN SOLUTION
        let weight = trainable(kaiming_uniform(&[outputs, inputs], inputs, 1.0 / 3f64.sqrt(), rng, dev)?)?;
        let bias = trainable(kaiming_uniform(&[outputs], inputs, 1.0 / 3f64.sqrt(), rng, dev)?)?;
        Ok(Linear { weight, bias: Some(bias) })
        // END SOLUTION
    }
}

impl Layer for Linear {
    fn forward(&self, x: &Tensor, _train: bool) -> Result<Tensor> {
        // BEGIN SOLUTION
        let y = x.broadcast_matmul(&self.weight.t()?)?;
        match &self.bias {
            Some(b) => y.broadcast_add(b),
            None => Ok(y),
        }
        // END SOLUTION
    }
    fn parameters(&self, prefix: &str) -> Vec<(String, Tensor)> {
        // BEGIN SOLUTION
        named(prefix, &[("weight", Some(&self.weight)), ("bias", self.bias.as_ref())])
        // END SOLUTION
    }
}

/// ## conv2d
/// `nn.Conv2d` with square kernels, one stride and one (symmetric) padding for both axes,
/// dilation 1, groups 1: `weight: [out, in, k, k]`, optional `bias: [out]`. The convolution
/// itself is the library's: `fastops::conv2d(x, &self.weight, self.padding, self.stride)`
/// (what candle's `x.conv2d(&w, padding, stride, 1, 1)` computes, with a backward pass several
/// times faster on the CPU). Add the bias yourself, as `[1, out, 1, 1]`.
// HINT: The convolution itself is the library's; yours are the layout (weight [out, in, k, k]), PyTorch's initialisation with the right fan-in, and the bias added once per output channel.
// HINT: load: the weight (out, in, k, k) and, when bias, the bias [out] with vb.get. new: kaiming_uniform with fan_in = inputs·k·k and gain 1/√3 for both weight and bias, made trainable. forward: fastops::conv2d(x, &self.weight, self.padding, self.stride), then broadcast_add the bias reshaped to [1, out, 1, 1]. parameters as in Linear.
// HINT: let y = fastops::conv2d(x, &self.weight, self.padding, self.stride)?; match &self.bias { Some(b) => y.broadcast_add(&b.reshape((1, b.dim(0)?, 1, 1))?), None => Ok(y) }
pub struct Conv2d {
    pub weight: Tensor,
    pub bias: Option<Tensor>,
    pub stride: usize,
    pub padding: usize,
}

impl Conv2d {
    pub fn load(vb: VarBuilder, inputs: usize, outputs: usize, kernel: usize, stride: usize, padding: usize, bias: bool) -> Result<Conv2d> {
        // BEGIN SOLUTION
        let weight = vb.get((outputs, inputs, kernel, kernel), "weight")?;
        let bias = if bias { Some(vb.get(outputs, "bias")?) } else { None };
        Ok(Conv2d { weight, bias, stride, padding })
        // END SOLUTION
    }

    /// PyTorch's initialisation (as `Linear::new`, with `fan_in = inputs · k · k`), trainable,
    /// with a bias.
    pub fn new(inputs: usize, outputs: usize, kernel: usize, stride: usize, padding: usize, rng: &mut ChaCha8Rng, dev: &Device) -> Result<Conv2d> {
        // BEGIN SOLUTION
        let fan_in = inputs * kernel * kernel;
        let weight = trainable(kaiming_uniform(&[outputs, inputs, kernel, kernel], fan_in, 1.0 / 3f64.sqrt(), rng, dev)?)?;
        let bias = trainable(kaiming_uniform(&[outputs], fan_in, 1.0 / 3f64.sqrt(), rng, dev)?)?;
        Ok(Conv2d { weight, bias: Some(bias), stride, padding })
        // END SOLUTION
    }
}

impl Layer for Conv2d {
    fn forward(&self, x: &Tensor, _train: bool) -> Result<Tensor> {
        // BEGIN SOLUTION
        let y = fastops::conv2d(x, &self.weight, self.padding, self.stride)?;
        match &self.bias {
            Some(b) => y.broadcast_add(&b.reshape((1, b.dim(0)?, 1, 1))?),
            None => Ok(y),
        }
        // END SOLUTION
    }
    fn parameters(&self, prefix: &str) -> Vec<(String, Tensor)> {
        // BEGIN SOLUTION
        named(prefix, &[("weight", Some(&self.weight)), ("bias", self.bias.as_ref())])
        // END SOLUTION
    }
}

/// ## batchnorm2d
/// `nn.BatchNorm2d(c, eps, momentum)` on `x: [n, c, h, w]`, per channel:
/// - training: normalise with the batch's mean and *biased* variance over `(n, h, w)`:
///   `y = (x − mean) / √(var + eps) · weight + bias`, and update the running statistics
///   `running = (1 − momentum) · running + momentum · batch_stat`, where the variance that goes
///   into `running_var` is the *unbiased* one (`var · m / (m − 1)`, `m = n · h · w`) — a
///   PyTorch detail that the check catches;
/// - evaluation: normalise with `running_mean` and `running_var`, change nothing.
///
/// The running statistics are buffers that change inside `forward(&self)`: keep them in `Var`s
/// and update them with `Var::set` (a `Var` can be changed through a shared reference). Start
/// values (`new`): mean 0, variance 1, weight 1, bias 0. Parameters `weight`, `bias`; buffers
/// `running_mean`, `running_var`.
// HINT: The statistics are per channel, over the batch and both spatial axes. In training, normalise with the biased variance but store the unbiased one in the running variance; in evaluation, only read the running statistics.
// HINT: train: mean = mean_keepdim over axes 0, 2 and 3 ([1, c, 1, 1]); var = the same mean of (x − mean)², biased; update running = (1 − momentum)·running + momentum·stat with the flattened, detached statistics through Var::set, using var·m/(m − 1) (m = n·h·w) for running_var. eval: running_mean and running_var reshaped to [1, c, 1, 1]. Both: (x − mean)/√(var + eps)·weight + bias, weight and bias as [1, c, 1, 1].
// HINT: self.running_var.set(&((self.running_var.as_tensor() * (1.0 - k))? + (var.flatten_all()?.detach() * (k * m / (m - 1.0)))?)?)?; with k = self.momentum and m = (x.elem_count() / c) as f64
pub struct BatchNorm2d {
    pub weight: Tensor,
    pub bias: Tensor,
    pub running_mean: Var,
    pub running_var: Var,
    pub momentum: f64,
    pub eps: f64,
}

impl BatchNorm2d {
    pub fn load(vb: VarBuilder, channels: usize, momentum: f64, eps: f64) -> Result<BatchNorm2d> {
        // BEGIN SOLUTION
        Ok(BatchNorm2d {
            weight: vb.get(channels, "weight")?,
            bias: vb.get(channels, "bias")?,
            running_mean: Var::from_tensor(&vb.get(channels, "running_mean")?.copy()?)?,
            running_var: Var::from_tensor(&vb.get(channels, "running_var")?.copy()?)?,
            momentum,
            eps,
        })
        // END SOLUTION
    }

    /// Fresh, trainable: weight 1, bias 0, running mean 0, running variance 1.
    pub fn new(channels: usize, momentum: f64, eps: f64, dev: &Device) -> Result<BatchNorm2d> {
        // BEGIN SOLUTION
        Ok(BatchNorm2d {
            weight: trainable(Tensor::ones(channels, DType::F32, dev)?)?,
            bias: trainable(Tensor::zeros(channels, DType::F32, dev)?)?,
            running_mean: Var::zeros(channels, DType::F32, dev)?,
            running_var: Var::ones(channels, DType::F32, dev)?,
            momentum,
            eps,
        })
        // END SOLUTION
    }
}

impl Layer for BatchNorm2d {
    fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        // BEGIN SOLUTION
        let c = x.dim(1)?;
        let per_channel = |t: &Tensor| t.reshape((1, c, 1, 1));
        let (mean, var) = if train {
            let m = (x.elem_count() / c) as f64;
            let mean = x.mean_keepdim(0)?.mean_keepdim(2)?.mean_keepdim(3)?;
            let var = x.broadcast_sub(&mean)?.sqr()?.mean_keepdim(0)?.mean_keepdim(2)?.mean_keepdim(3)?;
            let (bm, bv) = (mean.flatten_all()?.detach(), var.flatten_all()?.detach());
            let k = self.momentum;
            self.running_mean.set(&((self.running_mean.as_tensor() * (1.0 - k))? + (bm * k)?)?)?;
            self.running_var.set(&((self.running_var.as_tensor() * (1.0 - k))? + (bv * (k * m / (m - 1.0)))?)?)?;
            (mean, var)
        } else {
            (per_channel(self.running_mean.as_tensor())?, per_channel(self.running_var.as_tensor())?)
        };
        let xhat = x.broadcast_sub(&mean)?.broadcast_div(&(var + self.eps)?.sqrt()?)?;
        xhat.broadcast_mul(&per_channel(&self.weight)?)?.broadcast_add(&per_channel(&self.bias)?)
        // END SOLUTION
    }
    fn parameters(&self, prefix: &str) -> Vec<(String, Tensor)> {
        // BEGIN SOLUTION
        named(prefix, &[("weight", Some(&self.weight)), ("bias", Some(&self.bias))])
        // END SOLUTION
    }
    fn buffers(&self, prefix: &str) -> Vec<(String, Tensor)> {
        // BEGIN SOLUTION
        named(prefix, &[("running_mean", Some(self.running_mean.as_tensor())), ("running_var", Some(self.running_var.as_tensor()))])
        // END SOLUTION
    }
}

/// ## groupnorm
/// `nn.GroupNorm(groups, c)` on `x: [n, c, h, w]`: split the channels into `groups` groups of
/// `c / groups` consecutive channels; normalise each (sample, group) by its own mean and biased
/// variance over the group's channels and all positions, then scale and shift per *channel*:
/// `y = (x − mean) / √(var + eps) · weight[c] + bias[c]`. No running statistics: the same in
/// training and evaluation. Hint: reshape to `[n, groups, rest]`, normalise over the last axis,
/// reshape back.
// HINT: Each (sample, group) pair is normalised on its own, over its channels and all positions together; the scale and shift are still per channel. So reshape to normalise, and reshape back before scaling.
// HINT: Reshape x to (n, groups, ()) so that each (sample, group) is one row; the mean and biased variance over the last axis with mean_keepdim; normalise with √(var + eps); reshape back to x's dims; multiply by weight and add bias, both reshaped to [1, c, 1, 1].
// HINT: let g = x.reshape((n, self.groups, ()))?; let centred = g.broadcast_sub(&g.mean_keepdim(D::Minus1)?)?; let var = centred.sqr()?.mean_keepdim(D::Minus1)?; let xhat = centred.broadcast_div(&(var + self.eps)?.sqrt()?)?.reshape(x.dims())?;
pub struct GroupNorm {
    pub groups: usize,
    pub weight: Tensor,
    pub bias: Tensor,
    pub eps: f64,
}

impl Layer for GroupNorm {
    fn forward(&self, x: &Tensor, _train: bool) -> Result<Tensor> {
        // BEGIN SOLUTION
        let dims = x.dims().to_vec();
        let (n, c) = (dims[0], dims[1]);
        let g = x.reshape((n, self.groups, ()))?;
        let mean = g.mean_keepdim(D::Minus1)?;
        let centred = g.broadcast_sub(&mean)?;
        let var = centred.sqr()?.mean_keepdim(D::Minus1)?;
        let xhat = centred.broadcast_div(&(var + self.eps)?.sqrt()?)?.reshape(dims)?;
        let per_channel = |t: &Tensor| t.reshape((1, c, 1, 1));
        xhat.broadcast_mul(&per_channel(&self.weight)?)?.broadcast_add(&per_channel(&self.bias)?)
        // END SOLUTION
    }
    fn parameters(&self, prefix: &str) -> Vec<(String, Tensor)> {
        // BEGIN SOLUTION
        named(prefix, &[("weight", Some(&self.weight)), ("bias", Some(&self.bias))])
        // END SOLUTION
    }
}

/// ## relu
/// `nn.ReLU`: `max(x, 0)` element-wise. No parameters.
// HINT: ReLU keeps positive values and replaces the rest with zero: an element-wise maximum against a constant (the ready-made relu method is off limits here).
// HINT: One tensor operation: the element-wise maximum of x and the scalar 0 (maximum accepts a scalar). No parameters, so parameters and buffers keep their defaults.
// HINT: x.maximum(0f64)
pub struct Relu;

impl Layer for Relu {
    fn forward(&self, x: &Tensor, _train: bool) -> Result<Tensor> {
        // BEGIN SOLUTION
        x.maximum(0f64)
        // END SOLUTION
    }
}

/// ## pooling_layers
/// `nn.MaxPool2d(kernel, stride, padding)` (square) and `nn.AdaptiveAvgPool2d((h, w))` as
/// layers. Max pooling is the library's, `fastops::max_pool2d(x, kernel, stride, padding)`:
/// the windows and maxima of your day-"convolutions" `maxpool2d`, padding with `−∞`, and a
/// backward pass that sends each window's gradient to its first maximum, as torch's does (your
/// own `maxpool2d` works too, but trains the week's CNN several times slower). Adaptive
/// average pooling wraps your `super::convolutions::adaptive_avgpool2d`.
// HINT: Both layers are thin wrappers: the work is done by a function you already wrote or one the course's ops library provides; only pass the layer's fields through.
// HINT: MaxPool2d's forward calls fastops::max_pool2d with self.kernel, self.stride and self.padding; AdaptiveAvgPool2d's forward calls your super::convolutions::adaptive_avgpool2d with self.size. Neither has parameters.
// HINT: fastops::max_pool2d(x, self.kernel, self.stride, self.padding) and super::convolutions::adaptive_avgpool2d(x, self.size)
pub struct MaxPool2d {
    pub kernel: usize,
    pub stride: usize,
    pub padding: usize,
}

impl Layer for MaxPool2d {
    fn forward(&self, x: &Tensor, _train: bool) -> Result<Tensor> {
        // BEGIN SOLUTION
        fastops::max_pool2d(x, self.kernel, self.stride, self.padding)
        // END SOLUTION
    }
}

/// See [`MaxPool2d`].
pub struct AdaptiveAvgPool2d {
    pub size: (usize, usize),
}

impl Layer for AdaptiveAvgPool2d {
    fn forward(&self, x: &Tensor, _train: bool) -> Result<Tensor> {
        // BEGIN SOLUTION
        super::convolutions::adaptive_avgpool2d(x, self.size)
        // END SOLUTION
    }
}

/// ## sequential
/// `nn.Sequential`: apply the layers in order. Its parameters and buffers are its children's,
/// prefixed with the child's index: `0.weight`, `0.bias`, `2.weight`, … (a ReLU at index 1 has
/// none, but still takes its index).
// HINT: The forward pass feeds each layer's output to the next. The names are the children's own names prefixed with the child's position in the list, and a layer without parameters still uses up its number.
// HINT: forward: loop over self.layers with x = layer.forward(&x, train)?, passing the train flag on. parameters and buffers: enumerate the layers, ask each for its own with the prefix format!("{prefix}{i}."), and concatenate the lists in order.
// HINT: self.layers.iter().enumerate().flat_map(|(i, l)| l.parameters(&format!("{prefix}{i}."))).collect() (and the same with buffers)
pub struct Sequential {
    pub layers: Vec<Box<dyn Layer>>,
}

impl Layer for Sequential {
    fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        // BEGIN SOLUTION
        let mut x = x.clone();
        for l in &self.layers {
            x = l.forward(&x, train)?;
        }
        Ok(x)
        // END SOLUTION
    }
    fn parameters(&self, prefix: &str) -> Vec<(String, Tensor)> {
        // BEGIN SOLUTION
        self.layers.iter().enumerate().flat_map(|(i, l)| l.parameters(&format!("{prefix}{i}."))).collect()
        // END SOLUTION
    }
    fn buffers(&self, prefix: &str) -> Vec<(String, Tensor)> {
        // BEGIN SOLUTION
        self.layers.iter().enumerate().flat_map(|(i, l)| l.buffers(&format!("{prefix}{i}."))).collect()
        // END SOLUTION
    }
}
