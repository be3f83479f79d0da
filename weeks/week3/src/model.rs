//! # The model the train loop trains (given)
//!
//! The train loop of this week works with any model that can list its trainable variables and
//! compute a loss: the `Model` trait. `TinyLm` is a small one, given so that the day is about
//! the loop and not the network: a character-level language model that embeds each character,
//! normalises it, and predicts the next character with a one-hidden-layer MLP (so it sees one
//! character of context: a bigram model with a hidden layer). Its hidden layer goes through
//! your `train_loop::dropout` in training mode. Its variables are named as in PyTorch
//! (`wte.weight`, `ln.weight`, `ln.bias`, `fc.weight`, `fc.bias`, `head.weight`, `head.bias`),
//! and the fixtures run the same network in torch.

use candle_core::{DType, Device, Result, Tensor, Var, D};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// What the train loop needs from a model.
pub trait Model {
    /// The trainable variables, named, in a fixed order (the order of gradients everywhere).
    fn vars(&self) -> Vec<(String, Var)>;
    /// The mean cross-entropy of predicting `y` `[b, T]` from `x` `[b, T]` (u32 token ids).
    /// With `train`, dropout is on and draws its masks from `rng`; without, `rng` is unused.
    fn loss(&self, x: &Tensor, y: &Tensor, train: bool, rng: &mut ChaCha8Rng) -> Result<Tensor>;
}

/// The sizes of a `TinyLm`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TinyLmConfig {
    pub vocab: usize,
    pub n_embd: usize,
    pub n_hidden: usize,
    /// Dropout probability on the hidden layer in training mode.
    pub dropout: f64,
}

/// A character-level MLP language model: `head(dropout(gelu(fc(layer_norm(wte[x])))))`.
pub struct TinyLm {
    pub cfg: TinyLmConfig,
    vars: Vec<(String, Var)>,
}

impl TinyLm {
    /// Weights drawn uniformly from `±1/sqrt(fan_in)` (the embedding from `±1`), layer-norm
    /// gain 1 and bias 0, in the order of `vars()`, from `ChaCha8Rng::seed_from_u64(seed)`.
    pub fn new(cfg: TinyLmConfig, seed: u64, dev: &Device) -> Result<TinyLm> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut uniform = |shape: &[usize], bound: f64| -> Result<Tensor> {
            let n: usize = shape.iter().product();
            let v: Vec<f32> = (0..n).map(|_| rng.random_range(-bound..bound) as f32).collect();
            Tensor::from_vec(v, shape, dev)
        };
        let (v, d, h) = (cfg.vocab, cfg.n_embd, cfg.n_hidden);
        let tensors = vec![
            ("wte.weight", uniform(&[v, d], 1.0)?),
            ("ln.weight", Tensor::ones(d, DType::F32, dev)?),
            ("ln.bias", Tensor::zeros(d, DType::F32, dev)?),
            ("fc.weight", uniform(&[h, d], 1.0 / (d as f64).sqrt())?),
            ("fc.bias", uniform(&[h], 1.0 / (d as f64).sqrt())?),
            ("head.weight", uniform(&[v, h], 1.0 / (h as f64).sqrt())?),
            ("head.bias", uniform(&[v], 1.0 / (h as f64).sqrt())?),
        ];
        TinyLm::from_tensors(cfg, tensors)
    }

    /// A model with the given weights (names and shapes as in `vars()`), e.g. a fixture's.
    pub fn from_tensors(cfg: TinyLmConfig, tensors: Vec<(&str, Tensor)>) -> Result<TinyLm> {
        let vars = tensors.into_iter().map(|(n, t)| Ok((n.to_string(), Var::from_tensor(&t.to_dtype(DType::F32)?)?))).collect::<Result<_>>()?;
        Ok(TinyLm { cfg, vars })
    }

    fn get(&self, i: usize) -> &Tensor {
        self.vars[i].1.as_tensor()
    }

    /// Logits `[b, T, vocab]`.
    pub fn forward(&self, x: &Tensor, train: bool, rng: &mut ChaCha8Rng) -> Result<Tensor> {
        let (b, t) = x.dims2()?;
        let e = self.get(0).embedding(&x.flatten_all()?)?;
        let mu = e.mean_keepdim(D::Minus1)?;
        let c = e.broadcast_sub(&mu)?;
        let var = c.sqr()?.mean_keepdim(D::Minus1)?;
        let n = c.broadcast_div(&(var + 1e-5)?.sqrt()?)?.broadcast_mul(self.get(1))?.broadcast_add(self.get(2))?;
        let mut hid = n.matmul(&self.get(3).t()?)?.broadcast_add(self.get(4))?.gelu_erf()?;
        if train && self.cfg.dropout > 0.0 {
            hid = super::train_loop::dropout(&hid, self.cfg.dropout, rng)?;
        }
        let logits = hid.matmul(&self.get(5).t()?)?.broadcast_add(self.get(6))?;
        logits.reshape((b, t, self.cfg.vocab))
    }
}

impl Model for TinyLm {
    fn vars(&self) -> Vec<(String, Var)> {
        self.vars.clone()
    }

    fn loss(&self, x: &Tensor, y: &Tensor, train: bool, rng: &mut ChaCha8Rng) -> Result<Tensor> {
        let logits = self.forward(x, train, rng)?;
        let v = self.cfg.vocab;
        candle_nn::loss::cross_entropy(&logits.reshape(((), v))?, &y.flatten_all()?)
    }
}
