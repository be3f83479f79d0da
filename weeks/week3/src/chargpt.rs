//! # A character-level GPT on Tiny Shakespeare
//!
//! The model of week 2, at the size of a laptop: nanoGPT's GPT (learned positions, pre-norm
//! blocks of causal self-attention and a GELU MLP, a final layer norm, and an output layer
//! tied to the token embedding), over the 65 characters of Tiny Shakespeare instead of
//! GPT-2's 50,257 tokens. Bring your week-2 code: the blocks are the same; what is new is
//! dropout (from your `train_loop::dropout`, in training mode only), nanoGPT's parameter
//! names, and a character vocabulary. The train loop of the previous day trains it; the
//! trained model is saved for weeks 4 and 5.
//!
//! Parameter names (as in nanoGPT's `model.py`, so that its checkpoints and the fixtures line
//! up): `transformer.wte.weight` `[V, C]`, `transformer.wpe.weight` `[block, C]`, for each
//! layer `i` `transformer.h.i.ln_1.{weight,bias}`, `.attn.c_attn.{weight [3C, C], bias}`,
//! `.attn.c_proj.{weight [C, C], bias}`, `.ln_2.{weight,bias}`, `.mlp.c_fc.{weight [4C, C],
//! bias}`, `.mlp.c_proj.{weight [C, 4C], bias}`, then `transformer.ln_f.{weight,bias}`. Linear
//! weights are `[out, in]` as in torch; `lm_head` is `wte` itself (weight tying).
#![allow(unused_variables, unused_imports, unused_mut, dead_code)] // remove once you have solved a few

use super::model::Model;
use super::train_loop::dropout;
use candle_core::{DType, Device, Result, Tensor, Var};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;

/// A GPT's sizes.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GptConfig {
    pub vocab: usize,
    pub n_layer: usize,
    pub n_head: usize,
    pub n_embd: usize,
    pub block_size: usize,
    pub dropout: f64,
}

/// A character vocabulary: the sorted distinct characters of a text.
#[derive(Clone, Debug, PartialEq)]
pub struct Vocab {
    pub chars: Vec<char>,
}

/// ## vocab
/// The vocabulary of `text` (its distinct characters, sorted), `encode` (each character's
/// index; a character not in the vocabulary is an error naming it) and `decode`.
impl Vocab {
    pub fn new(text: &str) -> Vocab {
        todo!()
    }

    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        todo!()
    }

    pub fn decode(&self, ids: &[u32]) -> String {
        todo!()
    }
}

/// nanoGPT's GPT with named variables (see the module's doc for the names).
pub struct CharGpt {
    pub cfg: GptConfig,
    /// Every trainable variable by name.
    pub vars: BTreeMap<String, Var>,
    /// Every weight the forward pass reads, by name (`w` reads them). For a plain model each is
    /// its variable's tensor; a LoRA model (the `lora` day) reads computed weights here while
    /// its variables are only the adapters.
    pub weights: BTreeMap<String, Tensor>,
}

impl CharGpt {
    /// nanoGPT's initialisation (given): every weight matrix and embedding from N(0, 0.02),
    /// the residual projections (`c_proj.weight`) from N(0, 0.02/√(2·n_layer)), biases 0,
    /// layer-norm gains 1; normal draws by Box–Muller from `ChaCha8Rng::seed_from_u64(seed)`,
    /// in the order of the names.
    pub fn new(cfg: GptConfig, seed: u64, dev: &Device) -> Result<CharGpt> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut vars = BTreeMap::new();
        for (name, shape) in Self::shapes(&cfg) {
            let n: usize = shape.iter().product();
            let t = if name.ends_with(".bias") {
                Tensor::zeros(shape.as_slice(), DType::F32, dev)?
            } else if name.contains(".ln_") {
                Tensor::ones(shape.as_slice(), DType::F32, dev)?
            } else {
                let std = if name.ends_with("c_proj.weight") { 0.02 / (2.0 * cfg.n_layer as f64).sqrt() } else { 0.02 };
                let v: Vec<f32> = (0..n)
                    .map(|_| {
                        let (u1, u2): (f64, f64) = (rng.random::<f64>().max(1e-300), rng.random());
                        ((-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos() * std) as f32
                    })
                    .collect();
                Tensor::from_vec(v, shape.as_slice(), dev)?
            };
            vars.insert(name, Var::from_tensor(&t)?);
        }
        Ok(CharGpt::with_vars(cfg, vars))
    }

    /// A plain model whose weights are its variables (given).
    pub fn with_vars(cfg: GptConfig, vars: BTreeMap<String, Var>) -> CharGpt {
        let weights = vars.iter().map(|(k, v)| (k.clone(), v.as_tensor().clone())).collect();
        CharGpt { cfg, vars, weights }
    }

    /// Every variable's name and shape, in name order (given).
    pub fn shapes(cfg: &GptConfig) -> Vec<(String, Vec<usize>)> {
        let c = cfg.n_embd;
        let mut v = vec![("transformer.wte.weight".to_string(), vec![cfg.vocab, c]), ("transformer.wpe.weight".to_string(), vec![cfg.block_size, c])];
        for i in 0..cfg.n_layer {
            let p = format!("transformer.h.{i}");
            for (n, s) in [
                ("ln_1.weight", vec![c]),
                ("ln_1.bias", vec![c]),
                ("attn.c_attn.weight", vec![3 * c, c]),
                ("attn.c_attn.bias", vec![3 * c]),
                ("attn.c_proj.weight", vec![c, c]),
                ("attn.c_proj.bias", vec![c]),
                ("ln_2.weight", vec![c]),
                ("ln_2.bias", vec![c]),
                ("mlp.c_fc.weight", vec![4 * c, c]),
                ("mlp.c_fc.bias", vec![4 * c]),
                ("mlp.c_proj.weight", vec![c, 4 * c]),
                ("mlp.c_proj.bias", vec![c]),
            ] {
                v.push((format!("{p}.{n}"), s));
            }
        }
        v.push(("transformer.ln_f.weight".to_string(), vec![c]));
        v.push(("transformer.ln_f.bias".to_string(), vec![c]));
        v.sort();
        v
    }

    /// A model with the given weights (every name of `shapes`), e.g. a fixture's (given).
    pub fn from_tensors(cfg: GptConfig, tensors: &BTreeMap<String, Tensor>) -> Result<CharGpt> {
        let mut vars = BTreeMap::new();
        for (name, shape) in Self::shapes(&cfg) {
            let t = tensors.get(&name).ok_or_else(|| candle_core::Error::Msg(format!("no {name}")))?;
            if t.dims() != shape.as_slice() {
                candle_core::bail!("{name} has shape {:?}, expected {shape:?}", t.dims());
            }
            vars.insert(name, Var::from_tensor(&t.to_dtype(DType::F32)?)?);
        }
        Ok(CharGpt::with_vars(cfg, vars))
    }

    /// A weight's current value (given).
    pub fn w(&self, name: &str) -> Result<&Tensor> {
        self.weights.get(name).ok_or_else(|| candle_core::Error::Msg(format!("the model has no {name}")))
    }

    /// ## forward
    /// Logits `[b, T, V]` for ids `x` `[b, T]` (u32, `T ≤ block_size`):
    /// `h = drop(wte[x] + wpe[0..T])`; per layer `h = h + drop(attn(ln_1(h)))`,
    /// `h = h + drop(mlp(ln_2(h)))`; `logits = ln_f(h) · wteᵀ`. Attention is causal with
    /// `n_head` heads of `n_embd / n_head`, scaled by `1/√head_dim`, softmax over the keys,
    /// dropout on the attention weights; the MLP is `c_proj(gelu(c_fc(x)))` with the exact (erf)
    /// GELU; layer norms use eps 1e-5.
    ///
    /// You wrote each of these pieces in week 2. Here the ones you have written before come from
    /// the course's ops library, `fastops` (the book's "fastops" page says what each one
    /// equals), which computes the same values with their backward pass in one step each way:
    /// - linear layers: `fastops::linear(x, &w, Some(&b))`, `x · wᵀ + b` for `x` of any rank
    ///   (torch's `F.linear`), and the head as `fastops::linear(&h, wte, None)`;
    /// - layer norms: `fastops::layer_norm(x, &w, &b, 1e-5)`;
    /// - the GELU: `fastops::gelu_erf(x)`;
    /// - the softmax over the keys: `fastops::softmax_last_dim(x)` (differentiable, unlike
    ///   candle's fused `candle_nn::ops::softmax_last_dim`).
    ///
    /// What you write is the model itself: the embeddings, the heads (`[b, T, 3C]` → `q, k, v`
    /// of `[b, H, T, D]`), the causal mask (`−∞` above the diagonal, added to the scaled scores),
    /// the weighted sum of the values, the heads merged back to `[b, T, C]`, and the residual
    /// stream. A training step built this way takes less than half the time of one whose linear
    /// layers are `matmul` + `broadcast_add`.
    ///
    /// Every `drop` is `train_loop::dropout(·, cfg.dropout, rng)` when `train` and
    /// `cfg.dropout > 0`, and the identity otherwise, called in this order: embeddings, then
    /// per layer the attention weights, the attention output, the MLP output.
    pub fn forward(&self, x: &Tensor, train: bool, rng: &mut ChaCha8Rng) -> Result<Tensor> {
        todo!()
    }
}

impl Model for CharGpt {
    fn vars(&self) -> Vec<(String, Var)> {
        self.vars.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }

    fn loss(&self, x: &Tensor, y: &Tensor, train: bool, rng: &mut ChaCha8Rng) -> Result<Tensor> {
        let logits = self.forward(x, train, rng)?;
        // candle_nn::loss::cross_entropy's values and gradient over every position, fused into
        // one pass each way (it takes [b, t, vocab] logits as they are: no reshape in the graph).
        fastops::cross_entropy(&logits, y)
    }
}

/// ## sample
/// Generate `n` characters after `prompt` (ids, at least one): repeatedly run the model in
/// evaluation mode on the last `block_size` ids, take the last position's logits divided by
/// `temperature`, and draw the next id from their softmax with one `rng.random::<f32>()`
/// (the first id whose cumulative probability exceeds the draw; the last id if rounding
/// leaves none). Returns the `n` new ids.
pub fn sample(model: &CharGpt, prompt: &[u32], n: usize, temperature: f64, rng: &mut ChaCha8Rng) -> Result<Vec<u32>> {
    todo!()
}
