//! # Adapters, prompt tuning and prefix tuning
//!
//! LoRA changes weights. Three older ways to fine-tune a frozen model change what flows through
//! it instead, each training a few thousand numbers:
//!
//! - **Bottleneck adapters** (Houlsby et al. 2019) insert a small residual MLP after each
//!   attention and each feed-forward sublayer: `z + up(gelu(down(z)))`, with `down` `[m, C]`
//!   and `up` `[C, m]` for a bottleneck `m` much smaller than `C`. With `up` at zero the adapter
//!   is the identity, so training starts from the pretrained model.
//! - **Prompt tuning** (Lester et al. 2021) learns `p` input embeddings, a *soft prompt*,
//!   placed before the real tokens. Nothing inside the model changes; it is steered by inputs
//!   no vocabulary character could produce.
//! - **Prefix tuning** (Li & Liang 2021) learns, for every layer, `p` keys and values that each
//!   attention sees before the real tokens' own: a KV cache the model never computed.
//!
//! Each is checked against Hugging Face `peft` (prompt and prefix tuning, on transformers'
//! GPT-2 carrying your fixture GPT's weights) or, for the adapters, which `peft` does not
//! implement, against a torch version written from the paper. None uses dropout here.
//!
//! The base model is frozen: no gradient may reach it. [`frozen`] (given) makes a copy whose
//! weights are detached and which has no variables; run your forward pass, or read weights, on
//! that copy.
// STUB: #![allow(unused_variables, unused_imports, unused_mut, dead_code)] // remove once you have solved a few

use super::chargpt::{CharGpt, GptConfig};
use super::model::Model;
use candle_core::{DType, Device, Result, Tensor, Var, D};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;

/// A copy of `base` whose weights are detached from its variables and which has no variables
/// of its own (given): its forward pass sends no gradient into `base`.
pub fn frozen(base: &CharGpt) -> CharGpt {
    let weights = base.weights.iter().map(|(k, v)| (k.clone(), v.detach())).collect();
    CharGpt { cfg: base.cfg, vars: BTreeMap::new(), weights }
}

fn uniform(shape: &[usize], bound: f64, rng: &mut ChaCha8Rng, dev: &Device) -> Result<Var> {
    let v: Vec<f32> = (0..shape.iter().product()).map(|_| rng.random_range(-bound..bound) as f32).collect();
    Var::from_tensor(&Tensor::from_vec(v, shape, dev)?)
}

/// What the three methods share (given): trainable variables, and a forward pass that runs a
/// frozen base model with them. [`Tuned`] trains any of them with your `train`.
pub trait Peft {
    /// The method's trainable variables, named.
    fn vars(&self) -> Vec<(String, Var)>;
    /// Logits `[b, T, V]` of the base model modified by the method, for ids `x` `[b, T]`.
    fn logits(&self, base: &CharGpt, x: &Tensor) -> Result<Tensor>;
}

/// A frozen base model with a method's variables (given): a [`Model`] whose variables are only
/// the method's, so the train loop of this week fine-tunes it.
pub struct Tuned<'a, P: Peft> {
    pub base: &'a CharGpt,
    pub method: &'a P,
}

impl<P: Peft> Model for Tuned<'_, P> {
    fn vars(&self) -> Vec<(String, Var)> {
        self.method.vars()
    }

    fn loss(&self, x: &Tensor, y: &Tensor, _train: bool, _rng: &mut ChaCha8Rng) -> Result<Tensor> {
        let logits = self.method.logits(self.base, x)?;
        candle_nn::loss::cross_entropy(&logits.reshape(((), self.base.cfg.vocab))?, &y.flatten_all()?)
    }
}

/// Houlsby bottleneck adapters: two per block, after the attention and after the MLP.
pub struct Houlsby {
    /// The bottleneck width `m`.
    pub bottleneck: usize,
    /// `transformer.h.{i}.{attn,mlp}.adapter.{down,up}.{weight,bias}` → variable: `down.weight`
    /// `[m, C]`, `down.bias` `[m]`, `up.weight` `[C, m]`, `up.bias` `[C]`.
    pub vars: BTreeMap<String, Var>,
}

impl Houlsby {
    /// Adapters for a model of config `cfg` (given): `down` as torch's `nn.Linear` initialises
    /// it (weight and bias uniform in ±1/√C), `up` zero, so that each adapter starts as the
    /// identity.
    pub fn new(cfg: &GptConfig, bottleneck: usize, rng: &mut ChaCha8Rng, dev: &Device) -> Result<Houlsby> {
        let (c, m) = (cfg.n_embd, bottleneck);
        let bound = 1.0 / (c as f64).sqrt();
        let mut vars = BTreeMap::new();
        for i in 0..cfg.n_layer {
            for part in ["attn", "mlp"] {
                let p = format!("transformer.h.{i}.{part}.adapter");
                vars.insert(format!("{p}.down.weight"), uniform(&[m, c], bound, rng, dev)?);
                vars.insert(format!("{p}.down.bias"), uniform(&[m], bound, rng, dev)?);
                vars.insert(format!("{p}.up.weight"), Var::zeros((c, m), DType::F32, dev)?);
                vars.insert(format!("{p}.up.bias"), Var::zeros(c, DType::F32, dev)?);
            }
        }
        Ok(Houlsby { bottleneck, vars })
    }

    /// An adapter variable's tensor by name (given).
    pub fn get(&self, name: &str) -> Result<&Tensor> {
        self.vars.get(name).map(|v| v.as_tensor()).ok_or_else(|| candle_core::Error::Msg(format!("no adapter variable {name}")))
    }

    /// ## houlsby
    /// Logits `[b, T, V]` of `base` (frozen, evaluation mode, no dropout) with the adapters:
    /// your forward pass, except that the output `z` of every block's `attn.c_proj` and of
    /// every `mlp.c_proj` becomes `z + up(gelu(down(z)))` (exact GELU; `down` and `up` are
    /// linear layers with the block's adapter weights `transformer.h.{i}.attn.adapter.*` and
    /// `transformer.h.{i}.mlp.adapter.*`) before it is added to the residual stream.
    // HINT: The adapter is a small residual MLP that starts as the identity (its up projection is zero); it sits on each sublayer's output, after c_proj and before the residual addition, and the base is used through a frozen copy so that no gradient reaches it.
    // HINT: Write a forward over frozen(base) in evaluation mode (no dropout), the same as your CharGpt::forward, plus one helper adapt(z, prefix) = z + linear(gelu_erf(linear(z, prefix.adapter.down)), prefix.adapter.up) that reads the adapter weights with self.get; apply it to the output of attn.c_proj with prefix transformer.h.{i}.attn and to the output of mlp.c_proj with transformer.h.{i}.mlp, each before its residual addition. Keep every op differentiable (the softmax too), since the gradient must reach the adapters.
    // HINT: let adapt = |z: Tensor, n: &str| -> Result<Tensor> { let hidden = lin(&z, g("down.weight")?, g("down.bias")?)?.gelu_erf()?; z + lin(&hidden, g("up.weight")?, g("up.bias")?)? }; (g(k) = self.get(&format!("{n}.adapter.{k}"))) then hs = (&hs + adapt(linear(&y, &format!("{n}.attn.c_proj"))?, &format!("{n}.attn"))?)?; and the same for the MLP.
    pub fn forward(&self, base: &CharGpt, x: &Tensor) -> Result<Tensor> {
        // BEGIN SOLUTION
        forward_with(&frozen(base), x, Some(self), None)
        // END SOLUTION
    }
}

impl Peft for Houlsby {
    fn vars(&self) -> Vec<(String, Var)> {
        self.vars.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }

    fn logits(&self, base: &CharGpt, x: &Tensor) -> Result<Tensor> {
        self.forward(base, x)
    }
}

/// A soft prompt: `p` trainable input embeddings.
pub struct SoftPrompt {
    /// `[p, C]`: the embeddings placed before the real tokens' embeddings.
    pub embedding: Var,
}

impl SoftPrompt {
    /// A soft prompt of `p` embeddings copied from the token embeddings of `p` characters drawn
    /// uniformly from the vocabulary (given; Lester et al. found this better than random
    /// values).
    pub fn new(base: &CharGpt, p: usize, rng: &mut ChaCha8Rng) -> Result<SoftPrompt> {
        let ids: Vec<u32> = (0..p).map(|_| rng.random_range(0..base.cfg.vocab as u32)).collect();
        let wte = base.w("transformer.wte.weight")?;
        let rows = wte.embedding(&Tensor::new(ids, wte.device())?)?;
        Ok(SoftPrompt { embedding: Var::from_tensor(&rows.detach())? })
    }

    /// ## prompt_tuning
    /// Logits `[b, T, V]` of the real tokens when `base` (frozen, no dropout) reads the `p`
    /// soft-prompt embeddings followed by the token embeddings of `x` `[b, T]`, at positions
    /// `0..p+T` (an error when `p + T > block_size`): the model's outputs at the prompt's own
    /// positions are dropped.
    // HINT: The soft prompt is just p extra input embeddings placed before the tokens: the frozen model reads them like any other, the tokens move to positions p onwards, and only the tokens' own logits are returned.
    // HINT: Reuse your forward without copying it: give frozen(base) p extra vocabulary rows (cfg.vocab + p; wte = Tensor::cat of wte and the prompt's embedding along 0), prepend the ids V..V+p to every row of x, run forward in evaluation mode, and keep positions p.. and the first V columns of the logits (the extra columns come from the tied head). Refuse p + T > block_size with an error.
    // HINT: let prompt = Tensor::arange(v as u32, (v + p) as u32, x.device())?.unsqueeze(0)?.broadcast_as((b, p))?; let ids = Tensor::cat(&[&prompt, x], 1)?; m.forward(&ids, false, &mut rng)?.narrow(1, p, t)?.narrow(2, 0, v)
    pub fn forward(&self, base: &CharGpt, x: &Tensor) -> Result<Tensor> {
        // BEGIN SOLUTION
        let (b, t) = x.dims2()?;
        let p = self.embedding.dim(0)?;
        let v = base.cfg.vocab;
        if p + t > base.cfg.block_size {
            candle_core::bail!("{p} prompt embeddings and {t} tokens do not fit in {} positions", base.cfg.block_size);
        }
        let mut m = frozen(base);
        m.cfg.vocab = v + p;
        let wte = Tensor::cat(&[m.w("transformer.wte.weight")?, self.embedding.as_tensor()], 0)?;
        m.weights.insert("transformer.wte.weight".into(), wte);
        let prompt = Tensor::arange(v as u32, (v + p) as u32, x.device())?.unsqueeze(0)?.broadcast_as((b, p))?;
        let ids = Tensor::cat(&[&prompt, x], 1)?;
        let mut rng = <ChaCha8Rng as rand::SeedableRng>::seed_from_u64(0);
        m.forward(&ids, false, &mut rng)?.narrow(1, p, t)?.narrow(2, 0, v)
        // END SOLUTION
    }
}

impl Peft for SoftPrompt {
    fn vars(&self) -> Vec<(String, Var)> {
        vec![("prompt.embedding".into(), self.embedding.clone())]
    }

    fn logits(&self, base: &CharGpt, x: &Tensor) -> Result<Tensor> {
        self.forward(base, x)
    }
}

/// Prefix tuning: `p` trainable keys and values for every layer.
pub struct Prefix {
    /// Per layer, `[p, C]`: the prefix's keys, split into heads as `c_attn`'s keys are.
    pub keys: Vec<Var>,
    /// Per layer, `[p, C]`: the prefix's values.
    pub values: Vec<Var>,
}

impl Prefix {
    /// A prefix of `p` entries per layer, keys and values uniform in ±1 (given; peft draws them
    /// from N(0, 1)).
    pub fn new(cfg: &GptConfig, p: usize, rng: &mut ChaCha8Rng, dev: &Device) -> Result<Prefix> {
        let (mut keys, mut values) = (Vec::new(), Vec::new());
        for _ in 0..cfg.n_layer {
            keys.push(uniform(&[p, cfg.n_embd], 1.0, rng, dev)?);
            values.push(uniform(&[p, cfg.n_embd], 1.0, rng, dev)?);
        }
        Ok(Prefix { keys, values })
    }

    /// ## prefix_tuning
    /// Logits `[b, T, V]` of `base` (frozen, no dropout) for `x` `[b, T]` with the prefix: in
    /// layer `i` the attention's keys and values are `keys[i]` and `values[i]` followed by the
    /// tokens' own, every token attends to all `p` prefix entries and to the tokens up to
    /// itself, and the tokens take positions `p..p+T`, where transformers places tokens that
    /// follow a KV cache of `p` entries (an error when `p + T > block_size`).
    // HINT: A prefix is a KV cache the model never computed: in every layer the keys and values get p learned entries in front of the tokens' own, every token may attend to all of them, and the tokens sit at positions p onwards, as they would after a cache of length p.
    // HINT: Copy your forward over frozen(base) in evaluation mode. Positions: wpe.narrow(0, p, T). In each layer, after c_attn and before splitting into heads: k = Tensor::cat of keys[i] broadcast to [b, p, C] and the tokens' k along dimension 1, the same for v (the queries stay [b, T, C]); split the heads with the key length p + T. The mask is [T, p + T]: −∞ where column j > row i + p. Refuse p + T > block_size.
    // HINT: k = Tensor::cat(&[&pr.keys[i].as_tensor().unsqueeze(0)?.broadcast_as((b, p, c))?, &k], 1)?; and the mask: (0..t * (p + t)).map(|j| if j % (p + t) > j / (p + t) + p { f32::NEG_INFINITY } else { 0.0 })
    pub fn forward(&self, base: &CharGpt, x: &Tensor) -> Result<Tensor> {
        // BEGIN SOLUTION
        forward_with(&frozen(base), x, None, Some(self))
        // END SOLUTION
    }
}

impl Peft for Prefix {
    fn vars(&self) -> Vec<(String, Var)> {
        let mut v = Vec::new();
        for (i, (k, val)) in self.keys.iter().zip(&self.values).enumerate() {
            v.push((format!("prefix.key.{i}"), k.clone()));
            v.push((format!("prefix.value.{i}"), val.clone()));
        }
        v
    }

    fn logits(&self, base: &CharGpt, x: &Tensor) -> Result<Tensor> {
        self.forward(base, x)
    }
}

// BEGIN SOLUTION ONLY
/// The GPT's forward pass in evaluation mode, with adapters after each sublayer and/or a
/// prefix of keys and values in each attention.
fn forward_with(m: &CharGpt, x: &Tensor, adapters: Option<&Houlsby>, prefix: Option<&Prefix>) -> Result<Tensor> {
    let cfg = m.cfg;
    let (b, t) = x.dims2()?;
    let (c, h) = (cfg.n_embd, cfg.n_head);
    let d = c / h;
    let p = match prefix {
        Some(pr) => pr.keys[0].dim(0)?,
        None => 0,
    };
    if p + t > cfg.block_size {
        candle_core::bail!("a prefix of {p} and {t} tokens do not fit in {} positions", cfg.block_size);
    }
    let lin = |x: &Tensor, w: &Tensor, bias: &Tensor| -> Result<Tensor> { x.broadcast_matmul(&w.t()?)?.broadcast_add(bias) };
    let linear = |x: &Tensor, n: &str| -> Result<Tensor> { lin(x, m.w(&format!("{n}.weight"))?, m.w(&format!("{n}.bias"))?) };
    let norm = |x: &Tensor, n: &str| -> Result<Tensor> {
        let xc = x.broadcast_sub(&x.mean_keepdim(D::Minus1)?)?;
        let var = xc.sqr()?.mean_keepdim(D::Minus1)?;
        xc.broadcast_div(&(var + 1e-5)?.sqrt()?)?.broadcast_mul(m.w(&format!("{n}.weight"))?)?.broadcast_add(m.w(&format!("{n}.bias"))?)
    };
    let adapt = |z: Tensor, n: &str| -> Result<Tensor> {
        let Some(a) = adapters else { return Ok(z) };
        let g = |k: &str| a.get(&format!("{n}.adapter.{k}"));
        let hidden = lin(&z, g("down.weight")?, g("down.bias")?)?.gelu_erf()?;
        z + lin(&hidden, g("up.weight")?, g("up.bias")?)?
    };
    let wte = m.w("transformer.wte.weight")?;
    let pos = m.w("transformer.wpe.weight")?.narrow(0, p, t)?;
    let mut hs = wte.embedding(&x.flatten_all()?)?.reshape((b, t, c))?.broadcast_add(&pos)?;
    let mask: Vec<f32> = (0..t * (p + t)).map(|k| if k % (p + t) > k / (p + t) + p { f32::NEG_INFINITY } else { 0.0 }).collect();
    let mask = Tensor::from_vec(mask, (t, p + t), x.device())?;
    for i in 0..cfg.n_layer {
        let n = format!("transformer.h.{i}");
        let qkv = linear(&norm(&hs, &format!("{n}.ln_1"))?, &format!("{n}.attn.c_attn"))?;
        let (mut k, mut v) = (qkv.narrow(2, c, c)?, qkv.narrow(2, 2 * c, c)?);
        if let Some(pr) = prefix {
            k = Tensor::cat(&[&pr.keys[i].as_tensor().unsqueeze(0)?.broadcast_as((b, p, c))?, &k], 1)?;
            v = Tensor::cat(&[&pr.values[i].as_tensor().unsqueeze(0)?.broadcast_as((b, p, c))?, &v], 1)?;
        }
        let heads = |z: &Tensor| -> Result<Tensor> { z.reshape((b, z.dim(1)?, h, d))?.transpose(1, 2)?.contiguous() };
        let (q, k, v) = (heads(&qkv.narrow(2, 0, c)?)?, heads(&k)?, heads(&v)?);
        let att = (q.matmul(&k.t()?.contiguous()?)? / (d as f64).sqrt())?.broadcast_add(&mask)?;
        let att = candle_nn::ops::softmax(&att, D::Minus1)?;
        let y = att.matmul(&v)?.transpose(1, 2)?.reshape((b, t, c))?;
        hs = (&hs + adapt(linear(&y, &format!("{n}.attn.c_proj"))?, &format!("{n}.attn"))?)?;
        let f = linear(&norm(&hs, &format!("{n}.ln_2"))?, &format!("{n}.mlp.c_fc"))?.gelu_erf()?;
        hs = (&hs + adapt(linear(&f, &format!("{n}.mlp.c_proj"))?, &format!("{n}.mlp"))?)?;
    }
    norm(&hs, "transformer.ln_f")?.broadcast_matmul(&wte.t()?)
}
// END SOLUTION
