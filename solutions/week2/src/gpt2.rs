//! # GPT-2 from the Hugging Face weights
//!
//! Rebuild `transformers`' `GPT2LMHeadModel` piece by piece, load its weights (a
//! `model.safetensors` written by `save_pretrained`) through a `VarBuilder` under Hugging Face's
//! parameter names, and match its hidden states, logits, loss, every gradient and three AdamW
//! steps. The fixture model (`fixtures/week2/gpt2/`) is a tiny random GPT-2: 2 layers, 4 heads,
//! `n_embd` 64, vocabulary 1000, 64 positions.
//!
//! Parameter names (prefix `transformer.`; the head `lm_head` is *tied*: it reuses `wte.weight`
//! and the file has no `lm_head.weight`):
//! `wte.weight [vocab, d]`, `wpe.weight [n_positions, d]`, `h.{i}.ln_1.{weight,bias}`,
//! `h.{i}.attn.c_attn.{weight [d, 3d], bias [3d]}`, `h.{i}.attn.c_proj.{weight [d, d], bias}`,
//! `h.{i}.ln_2.*`, `h.{i}.mlp.c_fc.{weight [d, 4d], bias}`, `h.{i}.mlp.c_proj.{weight [4d, d], bias}`,
//! `ln_f.{weight,bias}`.
//!
//! **GPT-2's linear layers are `Conv1D` modules whose weight is stored `[in, out]`**, the
//! transpose of `candle_nn::Linear`'s `[out, in]`: compute `x · W + b` (a `broadcast_matmul`
//! with the weight as stored), not `candle_nn::linear`.
//!
//! Rules for the day: gradients are checked, so everything must be differentiable. candle-nn's
//! fused kernels have no backward pass and silently drop gradients: do not use
//! `candle_nn::LayerNorm`/`layer_norm`, `ops::softmax_last_dim` or `ops::sdpa`; use your own
//! `layer_norm` and `candle_nn::ops::softmax(x, D::Minus1)` / `ops::log_softmax`.
//!
//! Attention masks (`mask` arguments) are `[batch, seq]` tensors of any numeric dtype with 1 for
//! a real token and 0 for padding, as the tokenizer returns them. Masked scores get
//! `f32::MIN` added (what `transformers` adds), never `-inf`: a row whose every key is masked
//! must stay finite.
// STUB: #![allow(unused_variables, unused_imports, dead_code)] // remove once you have solved a few

use super::sampling::{causal_mask, KvCache};
use candle_core::{DType, Device, Module, Result, Tensor, D};
use candle_nn::VarBuilder;
use std::path::Path;

/// The hyper-parameters of a GPT-2, as in its `config.json` (provided).
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    pub vocab_size: usize,
    pub n_positions: usize,
    pub n_embd: usize,
    pub n_layer: usize,
    pub n_head: usize,
    pub layer_norm_epsilon: f64,
}

impl Config {
    /// Read the fields above from a Hugging Face `config.json` (provided).
    pub fn from_json(text: &str) -> Result<Config> {
        let v: serde_json::Value = serde_json::from_str(text).map_err(candle_core::Error::wrap)?;
        let n = |k: &str| v[k].as_u64().map(|x| x as usize).ok_or_else(|| candle_core::Error::Msg(format!("config.json: no integer {k}")));
        Ok(Config {
            vocab_size: n("vocab_size")?,
            n_positions: n("n_positions")?,
            n_embd: n("n_embd")?,
            n_layer: n("n_layer")?,
            n_head: n("n_head")?,
            layer_norm_epsilon: v["layer_norm_epsilon"].as_f64().unwrap_or(1e-5),
        })
    }

    /// The shape of GPT-2 small (124M parameters).
    pub fn gpt2_small() -> Config {
        Config { vocab_size: 50257, n_positions: 1024, n_embd: 768, n_layer: 12, n_head: 12, layer_norm_epsilon: 1e-5 }
    }
}

/// A `VarBuilder` over a Hugging Face `model.safetensors` that also finds a tensor under the
/// other spellings checkpoints use (provided): without the `transformer.` prefix (files saved
/// from `GPT2Model`), and `LayerNorm.gamma` / `LayerNorm.beta` for `LayerNorm.weight` / `.bias`
/// (older BERT checkpoints).
pub fn hf_var_builder(path: &Path, dev: &Device) -> Result<VarBuilder<'static>> {
    // SAFETY: the file is not modified while it is mapped.
    let st = unsafe { candle_core::safetensors::MmapedSafetensors::new(path)? };
    let names: std::collections::HashSet<String> = st.tensors().into_iter().map(|(n, _)| n).collect();
    // SAFETY: as above.
    let vb = unsafe { VarBuilder::from_mmaped_safetensors(&[path], DType::F32, dev)? };
    Ok(vb.rename_f(move |name: &str| {
        let renamed = name.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta");
        let stripped = name.strip_prefix("transformer.").unwrap_or(name).to_string();
        [name.to_string(), renamed, stripped].into_iter().find(|n| names.contains(n)).unwrap_or_else(|| name.to_string())
    }))
}

/// ## layer_norm
/// Layer normalisation over the last axis, written with tensor operations so that it has a
/// backward pass: `y = (x - mean) / sqrt(var + eps) * weight + bias`, where `mean` and `var`
/// (the *biased* variance, divided by `n`) are taken over the last axis of `x: [..., n]`;
/// `weight`, `bias: [n]`. Same shape out. No `candle_nn::LayerNorm` or `ops::layer_norm`.
/// Example: `x = [1, 2, 3]`, weight 1, bias 0, eps 0 → `[-1.2247, 0, 1.2247]`.
// HINT: Layer norm normalises each position's vector on its own: take the mean and the variance over the last (feature) axis only, divide by n rather than n − 1, and keep eps inside the square root. Built from ordinary tensor operations it gets a backward pass for free.
// HINT: mean = x.mean_keepdim(D::Minus1); xc = x.broadcast_sub(&mean); var = xc.sqr().mean_keepdim(D::Minus1) (the biased variance); xn = xc.broadcast_div(&(var + eps).sqrt()); then broadcast_mul the weight and broadcast_add the bias (both [n]).
// HINT: `let xn = xc.broadcast_div(&(var + eps)?.sqrt()?)?; xn.broadcast_mul(weight)?.broadcast_add(bias)`
pub fn layer_norm(x: &Tensor, weight: &Tensor, bias: &Tensor, eps: f64) -> Result<Tensor> {
    // BEGIN SOLUTION
    let mean = x.mean_keepdim(D::Minus1)?;
    let xc = x.broadcast_sub(&mean)?;
    let var = xc.sqr()?.mean_keepdim(D::Minus1)?;
    let xn = xc.broadcast_div(&(var + eps)?.sqrt()?)?;
    xn.broadcast_mul(weight)?.broadcast_add(bias)
    // END SOLUTION
}

/// ## gelu_new
/// GPT-2's activation, the tanh approximation of GELU (`gelu_new` in `transformers`):
/// `0.5 · x · (1 + tanh(sqrt(2/π) · (x + 0.044715 · x³)))`, element-wise. Not the exact erf
/// form (`gelu_erf`), which differs by up to ~1e-3. Example: `gelu_new(1.0) ≈ 0.841192`.
// HINT: It is the tanh approximation: half of x times one plus the tanh of a scaled sum of x and a small multiple of its cube, element by element, with the square root of 2 over pi as the scale. The exact erf form is off by up to about 1e-3, which the check sees.
// HINT: inner = (x + 0.044715 · x³) · sqrt(2/π), with x.powf(3.0) (or x.sqr() times x) and tensor-by-f64 arithmetic; then ((tanh(inner) + 1) · x) · 0.5.
// HINT: `let inner = ((x + (x.powf(3.0)? * 0.044715)?)? * (2.0 / std::f64::consts::PI).sqrt())?; ((inner.tanh()? + 1.0)? * x)? * 0.5`
pub fn gelu_new(x: &Tensor) -> Result<Tensor> {
    // BEGIN SOLUTION
    let inner = ((x + (x.powf(3.0)? * 0.044715)?)? * (2.0 / std::f64::consts::PI).sqrt())?;
    ((inner.tanh()? + 1.0)? * x)? * 0.5
    // END SOLUTION
}

/// A layer norm's parameters, loaded from `vb` (`weight`, `bias`: `[n]`) (provided).
#[derive(Clone, Debug)]
pub struct LayerNorm {
    pub weight: Tensor,
    pub bias: Tensor,
    pub eps: f64,
}

impl LayerNorm {
    pub fn load(vb: VarBuilder, n: usize, eps: f64) -> Result<LayerNorm> {
        Ok(LayerNorm { weight: vb.get(n, "weight")?, bias: vb.get(n, "bias")?, eps })
    }
}

impl Module for LayerNorm {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        layer_norm(x, &self.weight, &self.bias, self.eps)
    }
}

/// GPT-2's `Conv1D`: `y = x · weight + bias` with `weight: [in, out]` as stored (provided).
#[derive(Clone, Debug)]
pub struct Conv1D {
    pub weight: Tensor,
    pub bias: Tensor,
}

impl Conv1D {
    pub fn load(vb: VarBuilder, d_in: usize, d_out: usize) -> Result<Conv1D> {
        Ok(Conv1D { weight: vb.get((d_in, d_out), "weight")?, bias: vb.get(d_out, "bias")? })
    }
}

impl Module for Conv1D {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        // `x.broadcast_matmul(&self.weight)?.broadcast_add(&self.bias)`, as one op of the
        // course's library (a linear layer, week 1's, with the weight stored [in, out]).
        fastops::matmul_bias(x, &self.weight, &self.bias)
    }
}

/// The additive mask for scores `[b, h, t, t]`: 0 where query `i` may read key `j`, `f32::MIN`
/// where `j > i` (the future) or key `j` is padding (`mask[b, j] == 0`). Shape `[b or 1, 1, t, t]`
/// (provided; you may use it or write your own).
pub fn additive_mask(t: usize, mask: Option<&Tensor>, dev: &Device) -> Result<Tensor> {
    let i = Tensor::arange(0u32, t as u32, dev)?;
    let future = i.unsqueeze(0)?.broadcast_gt(&i.unsqueeze(1)?)?; // [t, t]: key j > query i
    let mut blocked = future.unsqueeze(0)?.unsqueeze(0)?; // [1, 1, t, t]
    if let Some(m) = mask {
        let pad = m.to_dtype(DType::F32)?.eq(0f64)?.unsqueeze(1)?.unsqueeze(1)?; // [b, 1, 1, t]
        blocked = blocked.broadcast_maximum(&pad)?;
    }
    let zeros = Tensor::zeros(blocked.shape(), DType::F32, dev)?;
    let mins = Tensor::full(f32::MIN, blocked.shape(), dev)?;
    blocked.where_cond(&mins, &zeros)
}

/// ## attention
/// GPT-2's causal multi-head self-attention (`h.{i}.attn`). `load(vb, cfg)` reads
/// `c_attn` (`weight [d, 3d]`, `bias [3d]`) and `c_proj` (`[d, d]`, `[d]`) from `vb`, which is
/// already at `transformer.h.{i}.attn`. `forward(x: [b, t, d], mask)`:
/// 1. `qkv = x · W_attn + b_attn` (`[b, t, 3d]`), split into `q, k, v` (in that order) of `[b, t, d]`;
/// 2. heads as a batch axis: each becomes `[b, n_head, t, d / n_head]`;
/// 3. scores `q kᵀ / sqrt(d / n_head)` (`[b, h, t, t]`), plus the additive causal/padding mask
///    (see [`additive_mask`]), softmax over the keys (`ops::softmax`, not `softmax_last_dim`);
/// 4. weights · v, heads merged back to `[b, t, d]`, then `c_proj`.
///
/// Output `[b, t, d]`. No `ops::sdpa`, no `softmax_last_dim`.
// HINT: GPT-2's weights are stored [in, out]: multiply by them as they are, no transpose. One projection gives q, k and v side by side along the features, and the scale is the square root of the head size, not of the model width.
// HINT: load: Conv1D::load(vb.pp("c_attn"), d, 3d) and Conv1D::load(vb.pp("c_proj"), d, d), and keep cfg.n_head. forward: qkv = c_attn.forward(x), [b, t, 3d]; q, k, v = qkv.narrow(2, i·d, d) for i = 0, 1, 2, each reshaped (b, t, h, d/h), transpose(1, 2), contiguous; scores = q.matmul(k.t()) / sqrt(d/h), broadcast_add additive_mask(t, mask, dev); candle_nn::ops::softmax(.., D::Minus1); · v; transpose(1, 2), reshape (b, t, d); c_proj.
// HINT: `let heads = |i: usize| qkv.narrow(2, i * d, d)?.reshape((b, t, self.n_head, hd))?.transpose(1, 2)?.contiguous();` then `let scores = (q.matmul(&k.t()?)? / (hd as f64).sqrt())?.broadcast_add(&additive_mask(t, mask, x.device())?)?;`
#[derive(Clone, Debug)]
pub struct Attention {
    // BEGIN SOLUTION ONLY
    c_attn: Conv1D,
    c_proj: Conv1D,
    n_head: usize,
    // END SOLUTION
}

impl Attention {
    pub fn load(vb: VarBuilder, cfg: &Config) -> Result<Attention> {
        // BEGIN SOLUTION
        let d = cfg.n_embd;
        Ok(Attention { c_attn: Conv1D::load(vb.pp("c_attn"), d, 3 * d)?, c_proj: Conv1D::load(vb.pp("c_proj"), d, d)?, n_head: cfg.n_head })
        // END SOLUTION
    }

    pub fn forward(&self, x: &Tensor, mask: Option<&Tensor>) -> Result<Tensor> {
        // BEGIN SOLUTION
        let (b, t, d) = x.dims3()?;
        let hd = d / self.n_head;
        let qkv = self.c_attn.forward(x)?;
        let heads = |i: usize| qkv.narrow(2, i * d, d)?.reshape((b, t, self.n_head, hd))?.transpose(1, 2)?.contiguous();
        let (q, k, v) = (heads(0)?, heads(1)?, heads(2)?);
        let scores = (q.matmul(&k.t()?)? / (hd as f64).sqrt())?;
        let scores = scores.broadcast_add(&additive_mask(t, mask, x.device())?)?;
        let w = candle_nn::ops::softmax(&scores, D::Minus1)?;
        let y = w.matmul(&v)?.transpose(1, 2)?.reshape((b, t, d))?;
        self.c_proj.forward(&y)
        // END SOLUTION
    }

    /// ## cached_attention
    /// *(An exercise of the sampling day: do it after `week2.sampling.kv_cache`.)* The same
    /// attention for incremental decoding. `x: [b, t_new, d]` holds only the **new** positions;
    /// compute their `q, k, v` (`[b, n_head, t_new, d / n_head]`) as in `forward`, then, when a
    /// cache is given, `let (k, v) = cache.append(layer, &k, &v)?` so that `k, v` hold every
    /// position so far (`[b, n_head, t_total, d / n_head]`), and let the `t_new` queries attend
    /// to all of them: scores `[b, h, t_new, t_total]`, plus `bias`, softmax over the keys, · v.
    /// `bias` is the additive mask, `[b or 1, 1, t_new, t_total]` (0 = may attend, `-inf` or
    /// `f32::MIN` = may not); [`Gpt2::forward_with`] builds it from `causal_mask` and the key
    /// mask. Without a cache (`None`) `t_total = t_new`, and this is exactly `forward` with
    /// `bias = additive_mask(t, mask)`: once it works, `forward` can call it (write attention
    /// once). Output `[b, t_new, d]`.
    // HINT: Only the new positions make queries, but they attend to every key so far: append the new keys and values to the cache before computing the scores, and let the given bias do all of the masking.
    // HINT: q, k, v of the new positions exactly as in forward ([b, h, t_new, hd]); with a cache, replace k and v by what append(layer, &k, &v) returns ([b, h, t_total, hd]); scores = q.matmul(k.t()) / sqrt(hd) is [b, h, t_new, t_total]; broadcast_add the bias; candle_nn::ops::softmax over D::Minus1; · v; transpose(1, 2), reshape (b, t_new, d); c_proj. Then forward can be forward_cached(x, &additive_mask(t, mask, dev)?, None, 0).
    // HINT: `let (k, v) = match cache { Some(c) => c.append(layer, &k, &v)?, None => (k, v) };` followed by `let scores = (q.matmul(&k.t()?)? / (hd as f64).sqrt())?.broadcast_add(bias)?;`
    pub fn forward_cached(&self, x: &Tensor, bias: &Tensor, cache: Option<&mut KvCache>, layer: usize) -> Result<Tensor> {
        // BEGIN SOLUTION
        let (b, t, d) = x.dims3()?;
        let hd = d / self.n_head;
        let qkv = self.c_attn.forward(x)?;
        let split = |i: usize| qkv.narrow(2, i * d, d)?.reshape((b, t, self.n_head, hd))?.transpose(1, 2)?.contiguous();
        let (q, k, v) = (split(0)?, split(1)?, split(2)?);
        let (k, v) = match cache {
            Some(c) => c.append(layer, &k, &v)?,
            None => (k, v),
        };
        let scores = (q.matmul(&k.t()?)? / (hd as f64).sqrt())?;
        let scores = scores.broadcast_add(bias)?;
        let w = candle_nn::ops::softmax(&scores, D::Minus1)?;
        let y = w.matmul(&v)?.transpose(1, 2)?.reshape((b, t, d))?;
        self.c_proj.forward(&y)
        // END SOLUTION
    }
}

/// ## mlp
/// GPT-2's feed-forward block (`h.{i}.mlp`): `c_proj(gelu_new(c_fc(x)))` with `c_fc: [d, 4d]`
/// and `c_proj: [4d, d]` (both `Conv1D`, weights `[in, out]`). `x: [b, t, d]` → `[b, t, d]`.
// HINT: Two linear layers around the activation, both in GPT-2's [in, out] layout: the first widens to four times the model width, the second brings it back; in between comes GPT-2's tanh GELU, the one you just wrote.
// HINT: load: Conv1D::load(vb.pp("c_fc"), d, 4d) and Conv1D::load(vb.pp("c_proj"), 4d, d) (the provided Conv1D computes x · W + b with the weight as stored); forward: c_fc, gelu_new, c_proj.
// HINT: `self.c_proj.forward(&gelu_new(&self.c_fc.forward(x)?)?)`
#[derive(Clone, Debug)]
pub struct Mlp {
    // BEGIN SOLUTION ONLY
    c_fc: Conv1D,
    c_proj: Conv1D,
    // END SOLUTION
}

impl Mlp {
    pub fn load(vb: VarBuilder, cfg: &Config) -> Result<Mlp> {
        // BEGIN SOLUTION
        let d = cfg.n_embd;
        Ok(Mlp { c_fc: Conv1D::load(vb.pp("c_fc"), d, 4 * d)?, c_proj: Conv1D::load(vb.pp("c_proj"), 4 * d, d)? })
        // END SOLUTION
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        // BEGIN SOLUTION
        self.c_proj.forward(&gelu_new(&self.c_fc.forward(x)?)?)
        // END SOLUTION
    }
}

/// ## block
/// One pre-norm transformer block (`transformer.h.{i}`):
/// `x = x + attn(ln_1(x), mask)`, then `x = x + mlp(ln_2(x))`. `[b, t, d]` → `[b, t, d]`.
// HINT: GPT-2 is pre-norm: each sub-layer reads a layer-normed copy of x and its output is added to the un-normed x (the residual); nothing is normed after the addition.
// HINT: load: LayerNorm::load(vb.pp("ln_1"), n_embd, layer_norm_epsilon), Attention::load(vb.pp("attn"), cfg), ln_2 likewise, Mlp::load(vb.pp("mlp"), cfg); forward: x = x + attn(ln_1(x), mask), then x + mlp(ln_2(x)).
// HINT: `let x = (x + self.attn.forward(&self.ln_1.forward(x)?, mask)?)?; &x + self.mlp.forward(&self.ln_2.forward(&x)?)?`
#[derive(Clone, Debug)]
pub struct Block {
    // BEGIN SOLUTION ONLY
    ln_1: LayerNorm,
    attn: Attention,
    ln_2: LayerNorm,
    mlp: Mlp,
    // END SOLUTION
}

impl Block {
    pub fn load(vb: VarBuilder, cfg: &Config) -> Result<Block> {
        // BEGIN SOLUTION
        let (d, eps) = (cfg.n_embd, cfg.layer_norm_epsilon);
        Ok(Block {
            ln_1: LayerNorm::load(vb.pp("ln_1"), d, eps)?,
            attn: Attention::load(vb.pp("attn"), cfg)?,
            ln_2: LayerNorm::load(vb.pp("ln_2"), d, eps)?,
            mlp: Mlp::load(vb.pp("mlp"), cfg)?,
        })
        // END SOLUTION
    }

    pub fn forward(&self, x: &Tensor, mask: Option<&Tensor>) -> Result<Tensor> {
        // BEGIN SOLUTION
        let x = (x + self.attn.forward(&self.ln_1.forward(x)?, mask)?)?;
        &x + self.mlp.forward(&self.ln_2.forward(&x)?)?
        // END SOLUTION
    }

    /// *(Part of the sampling day's `week2.sampling.cached_model`.)* `forward` with the
    /// attention's cached path: `x = x + attn.forward_cached(ln_1(x), bias, cache, layer)`, then
    /// `x = x + mlp(ln_2(x))`. `x: [b, t_new, d]`, `bias` and `cache` as in
    /// [`Attention::forward_cached`].
    pub fn forward_with_cache(&self, x: &Tensor, bias: &Tensor, cache: Option<&mut KvCache>, layer: usize) -> Result<Tensor> {
        // BEGIN SOLUTION(cached_model)
        let x = (x + self.attn.forward_cached(&self.ln_1.forward(x)?, bias, cache, layer)?)?;
        &x + self.mlp.forward(&self.ln_2.forward(&x)?)?
        // END SOLUTION
    }
}

// HINT(pretrained): There is nothing new to write: the real GPT-2 small goes through your own load and forward. If only this check fails, look for what the tiny fixture model cannot show.
// HINT(pretrained): Gpt2::from_dir calls your load. If the logits differ only here, check what the tiny model cannot show: n_positions 1024, n_head 12 (d_head 64), and that names without the transformer. prefix resolve (hf_var_builder maps them for you).
// HINT(pretrained): Take every size from the config: cfg.n_head, cfg.n_embd, cfg.n_positions, cfg.vocab_size and cfg.layer_norm_epsilon in load, and d / n_head for the head size in the attention; a number written in for the tiny model (4 heads, 64 wide) passes every other check and fails here.
/// ## model
/// The whole `GPT2LMHeadModel`. `load(vb, cfg)` takes `vb` at the file's root (names start with
/// `transformer.`). For token ids `ids: [b, t]` (u32 or i64, `t ≤ n_positions`):
/// `h₀ = wte[ids] + wpe[0..t]`, then every block in order, then `ln_f`, then the tied head
/// `logits = ln_f(h) · wteᵀ` (`[b, t, vocab]`). `hidden_states` returns
/// `[h₀, h₁, …, h_L]`: the embeddings and the output of each block (no `ln_f`), `L + 1` tensors
/// of `[b, t, d]`. `forward_masked` takes the attention mask of a right-padded batch; `forward`
/// is `forward_masked(ids, None)`.
// HINT: The head has no weights of its own: it reuses the token embedding matrix, transposed (tied). Position embeddings are looked up by position 0 to t − 1, not by token id, and the hidden states stop before the final layer norm.
// HINT: load: vb.pp("transformer"); vb.get((vocab_size, d), "wte.weight") and vb.get((n_positions, d), "wpe.weight"); Block::load(vb.pp(format!("h.{i}")), cfg) for every layer; ln_f. hidden_states: h₀ = wte.index_select(&ids.flatten_all()?, 0) reshaped to [b, t, d], broadcast_add wpe.narrow(0, 0, t); push h₀, then every block's output. forward_masked: ln_f of the last hidden state, then the head (broadcast_matmul with wte.t(); there is no lm_head.weight in the file).
// HINT: `let h0 = self.wte.index_select(&ids.flatten_all()?, 0)?.reshape((b, t, d))?.broadcast_add(&self.wpe.narrow(0, 0, t)?)?;` and the head `self.ln_f.forward(&h)?.broadcast_matmul(&self.wte.t()?)`.
#[derive(Clone, Debug)]
pub struct Gpt2 {
    pub cfg: Config,
    // BEGIN SOLUTION ONLY
    wte: Tensor,
    wpe: Tensor,
    blocks: Vec<Block>,
    ln_f: LayerNorm,
    // END SOLUTION
}

impl Gpt2 {
    pub fn load(vb: VarBuilder, cfg: &Config) -> Result<Gpt2> {
        // BEGIN SOLUTION
        let vb = vb.pp("transformer");
        let d = cfg.n_embd;
        let blocks = (0..cfg.n_layer).map(|i| Block::load(vb.pp(format!("h.{i}")), cfg)).collect::<Result<Vec<_>>>()?;
        Ok(Gpt2 {
            cfg: cfg.clone(),
            wte: vb.get((cfg.vocab_size, d), "wte.weight")?,
            wpe: vb.get((cfg.n_positions, d), "wpe.weight")?,
            blocks,
            ln_f: LayerNorm::load(vb.pp("ln_f"), d, cfg.layer_norm_epsilon)?,
        })
        // END SOLUTION
    }

    /// Load `config.json` and `model.safetensors` from a Hugging Face model directory
    /// (provided: it calls your `load`). The weights are memory-mapped constants; for training
    /// build the model on a `VarMap` instead (see the `train_step` exercise). Files saved from
    /// `GPT2Model` (like the Hub's `gpt2`) have no `transformer.` prefix: [`hf_var_builder`]
    /// maps the names.
    pub fn from_dir(dir: &Path, dev: &Device) -> Result<Gpt2> {
        let text = std::fs::read_to_string(dir.join("config.json"))?;
        let cfg = Config::from_json(&text)?;
        Gpt2::load(hf_var_builder(&dir.join("model.safetensors"), dev)?, &cfg)
    }

    pub fn hidden_states(&self, ids: &Tensor, mask: Option<&Tensor>) -> Result<Vec<Tensor>> {
        // BEGIN SOLUTION
        let (b, t) = ids.dims2()?;
        let tok = self.wte.index_select(&ids.flatten_all()?, 0)?.reshape((b, t, self.cfg.n_embd))?;
        let mut h = tok.broadcast_add(&self.wpe.narrow(0, 0, t)?)?;
        let mut out = vec![h.clone()];
        for blk in &self.blocks {
            h = blk.forward(&h, mask)?;
            out.push(h.clone());
        }
        Ok(out)
        // END SOLUTION
    }

    pub fn forward_masked(&self, ids: &Tensor, mask: Option<&Tensor>) -> Result<Tensor> {
        // BEGIN SOLUTION
        let hs = self.hidden_states(ids, mask)?;
        let h = self.ln_f.forward(hs.last().expect("at least the embeddings"))?;
        // The tied head: h · wteᵀ, [b, t, vocab].
        h.broadcast_matmul(&self.wte.t()?)
        // END SOLUTION
    }

    pub fn forward(&self, ids: &Tensor) -> Result<Tensor> {
        self.forward_masked(ids, None)
    }

    /// ## cached_model
    /// *(An exercise of the sampling day: do it after `week2.sampling.cached_attention`.)*
    /// The model for generation, with a [`KvCache`], position ids and a key mask. `ids: [b, t]`
    /// (u32) are the tokens *after* the `c = cache.len()` cached positions (`c = 0` without a
    /// cache); their keys and values are appended to the cache, one `layer` index per block.
    /// Returns the logits `[b, t, vocab]` of the new positions.
    /// - position ids: `positions: [b, t]` (u32) when given, else `c, c + 1, …, c + t - 1` for
    ///   every row: `h₀ = wte[ids] + wpe[positions]`;
    /// - the additive mask `[b or 1, 1, t, c + t]`: `causal_mask(t, c + t)` (the sampling day's
    ///   exercise) plus, when `key_mask: [b, c + t]` (any numeric dtype, 1 = real token,
    ///   0 = padding) is given, `f32::MIN` on every padding key;
    /// - every block's `forward_with_cache` with that mask, then `ln_f` and the tied head, as in
    ///   `forward`.
    ///
    /// Feeding a sequence whole, or in pieces with one cache, gives the same logits as
    /// `forward`. Example: `forward_with(ids[.., ..5], None, None, Some(&mut cache))` then
    /// `forward_with(ids[.., 5..], None, None, Some(&mut cache))` are `forward(ids)` split at 5.
    // HINT: Read how many positions the cache holds before the first block runs: the first layer's append changes that count, and both the default position ids and the width of the mask depend on it.
    // HINT: c = cache.len() (0 without a cache); positions: wpe.index_select of the flattened position ids, reshaped to [b, t, d], when given, else wpe.narrow(0, c, t); h₀ = wte[ids] + that; bias = causal_mask(t, c + t, dev) reshaped to [1, 1, t, c + t], plus f32::MIN where key_mask == 0 (key_mask to f32, eq(0), where_cond, unsqueezed to [b, 1, 1, c + t]); every block's forward_with_cache(&h, &bias, cache.as_deref_mut(), l) (Block::forward_with_cache is forward with attn.forward_cached); ln_f; the tied head. next_logits: narrow(1, t − 1, 1) after ln_f, then the head and squeeze(1).
    // HINT: `let mut bias = causal_mask(t, c + t, dev)?.reshape((1, 1, t, c + t))?;` and, with the cache taken as `mut cache: Option<&mut KvCache>`, `for (l, blk) in self.blocks.iter().enumerate() { h = blk.forward_with_cache(&h, &bias, cache.as_deref_mut(), l)?; }`
    pub fn forward_with(&self, ids: &Tensor, positions: Option<&Tensor>, key_mask: Option<&Tensor>, cache: Option<&mut KvCache>) -> Result<Tensor> {
        // BEGIN SOLUTION
        let h = self.final_hidden(ids, positions, key_mask, cache)?;
        h.broadcast_matmul(&self.wte.t()?)
        // END SOLUTION
    }

    /// *(Part of `week2.sampling.cached_model`.)* The logits of the **last** position only,
    /// `[b, vocab]`: what generation needs (`forward_with(ids, None, None, cache)`'s last
    /// position). Apply `ln_f` and the head to that one position only: the head (`d × vocab`)
    /// holds a third of GPT-2 small's weights, and the logits of the other positions would be
    /// thrown away.
    pub fn next_logits(&self, ids: &Tensor, cache: Option<&mut KvCache>) -> Result<Tensor> {
        // BEGIN SOLUTION
        let h = self.final_hidden(ids, None, None, cache)?;
        let t = h.dim(1)?;
        h.narrow(1, t - 1, 1)?.broadcast_matmul(&self.wte.t()?)?.squeeze(1)
        // END SOLUTION
    }

    // BEGIN SOLUTION ONLY(cached_model)
    /// `ln_f` of the last block's output for the new positions (see `forward_with`).
    fn final_hidden(&self, ids: &Tensor, positions: Option<&Tensor>, key_mask: Option<&Tensor>, mut cache: Option<&mut KvCache>) -> Result<Tensor> {
        let (b, t) = ids.dims2()?;
        let dev = ids.device();
        let (d, c) = (self.cfg.n_embd, cache.as_ref().map_or(0, |c| c.len()));
        let pos = match positions {
            Some(p) => self.wpe.index_select(&p.flatten_all()?, 0)?.reshape((b, t, d))?,
            None => self.wpe.narrow(0, c, t)?.unsqueeze(0)?,
        };
        let mut h = self.wte.index_select(&ids.flatten_all()?, 0)?.reshape((b, t, d))?.broadcast_add(&pos)?;
        let mut bias = causal_mask(t, c + t, dev)?.reshape((1, 1, t, c + t))?;
        if let Some(km) = key_mask {
            let pad = km.to_dtype(DType::F32)?.eq(0f64)?; // [b, c + t]
            let zeros = Tensor::zeros(pad.shape(), DType::F32, dev)?;
            let pad = pad.where_cond(&Tensor::full(f32::MIN, pad.shape(), dev)?, &zeros)?;
            bias = bias.broadcast_add(&pad.unsqueeze(1)?.unsqueeze(1)?)?; // [b, 1, t, c + t]
        }
        for (l, blk) in self.blocks.iter().enumerate() {
            h = blk.forward_with_cache(&h, &bias, cache.as_deref_mut(), l)?;
        }
        self.ln_f.forward(&h)
    }

    // END SOLUTION
}

/// ## lm_loss
/// The language-modelling loss of `GPT2LMHeadModel(ids, labels=labels)`: position `i` predicts
/// token `i + 1`, so drop the last position of `logits: [b, t, vocab]` and the first of
/// `labels: [b, t]` (i64, or the u32 ids themselves as `train_step` passes them: convert them
/// to i64 first), then the mean cross-entropy `-log softmax(logits)[label]` over every
/// remaining position whose label is not `-100` (padding). Returns a scalar (rank 0) f32.
/// Use `ops::log_softmax` and `gather`; it must be differentiable.
// HINT: Position i predicts token i + 1, so the logits lose their last position and the labels their first; positions labelled -100 count neither in the sum nor in the number you divide by.
// HINT: logits.narrow(1, 0, t − 1) reshaped to [b·(t − 1), vocab]; labels.narrow(1, 1, t − 1) flattened and to_dtype(I64) (train_step passes the u32 ids as labels); keep = labels.ne(-100); replace -100 by 0 with where_cond so that gather gets a valid index; candle_nn::ops::log_softmax over D::Minus1; gather the label column; loss = −sum(logp · keep) / sum(keep), rank 0.
// HINT: `let picked = logp.gather(&safe.unsqueeze(1)?, 1)?.squeeze(1)?;` then `(picked * &w)?.sum_all()?.neg()?.broadcast_div(&w.sum_all()?)`, with w = keep as f32.
pub fn lm_loss(logits: &Tensor, labels: &Tensor) -> Result<Tensor> {
    // BEGIN SOLUTION
    let (b, t, v) = logits.dims3()?;
    let lg = logits.narrow(1, 0, t - 1)?.reshape((b * (t - 1), v))?;
    let lb = labels.narrow(1, 1, t - 1)?.flatten_all()?.to_dtype(DType::I64)?;
    let keep = lb.ne(-100i64)?;
    let safe = keep.where_cond(&lb, &lb.zeros_like()?)?;
    let logp = candle_nn::ops::log_softmax(&lg, D::Minus1)?;
    let picked = logp.gather(&safe.unsqueeze(1)?, 1)?.squeeze(1)?;
    let w = keep.to_dtype(DType::F32)?;
    let n = w.sum_all()?;
    (picked * &w)?.sum_all()?.neg()?.broadcast_div(&n)
    // END SOLUTION
}

/// ## train_step
/// One step of training, as a PyTorch loop does it: `logits = model.forward(ids)`,
/// `loss = lm_loss(logits, ids)` (labels = the ids), then `opt.backward_step(&loss)`. Return the
/// loss *before* the step as an f32. The model must have been built on the optimiser's
/// variables (`VarBuilder::from_varmap`), and every parameter must receive its gradient.
// HINT: Nothing new to build: the forward pass, your loss with the ids as their own labels, one optimiser step. If a parameter gets no gradient, the culprit is in your forward pass (a fused kernel without a backward pass, or a detached tensor), not here.
// HINT: logits = model.forward(ids); loss = lm_loss(&logits, ids); opt.backward_step(&loss) (bring candle_nn::Optimizer into scope); return loss.to_scalar::<f32>(): the loss tensor was computed before the step, so reading it afterwards still gives the loss before the step.
// HINT: `let loss = lm_loss(&model.forward(ids)?, ids)?; opt.backward_step(&loss)?; loss.to_scalar::<f32>()`
pub fn train_step(model: &Gpt2, opt: &mut candle_nn::AdamW, ids: &Tensor) -> Result<f32> {
    // BEGIN SOLUTION
    use candle_nn::Optimizer;
    let loss = lm_loss(&model.forward(ids)?, ids)?;
    opt.backward_step(&loss)?;
    loss.to_scalar::<f32>()
    // END SOLUTION
}

/// ## drop_in
/// Train for `steps` steps on a stream of token ids, the way a plain PyTorch loop over a
/// dataset of fixed-length windows does. At step `s`, row `j` of the batch `[batch, block]` is
/// `stream[o .. o + block]` with `o = ((s · batch + j) · block) mod (stream.len() − block)`, so
/// consecutive windows are read in order and the stream wraps around. Each step is one
/// `train_step` on that batch (a `u32` tensor on `dev`). Return the loss before each step.
/// The grader trains its fixture GPT-2 this way for 200 steps and compares your losses, step
/// by step, with those of transformers' `GPT2LMHeadModel` trained by torch on the same batches
/// from the same weights: if your model is a faithful drop-in replacement, the curves agree.
// HINT: The model and the optimiser step are done; what is left is cutting the right windows out of the stream at every step and keeping the losses in order. A window that starts at the wrong offset trains on different text, and the curves drift apart within a few steps.
// HINT: For each step s: for each row j compute o from the formula, copy stream[o..o + block] into one Vec<u32>; after all rows, Tensor::from_vec(rows, (batch, block), dev) is the batch; push train_step(model, opt, &ids)? onto the losses.
// HINT: let o = ((s * batch + j) * block) % (stream.len() - block); rows.extend_from_slice(&stream[o..o + block]);
pub fn train_on_stream(model: &Gpt2, opt: &mut candle_nn::AdamW, stream: &[u32], steps: usize, batch: usize, block: usize, dev: &Device) -> Result<Vec<f32>> {
    // BEGIN SOLUTION
    let span = stream.len() - block;
    let mut losses = Vec::with_capacity(steps);
    for s in 0..steps {
        let mut rows = Vec::with_capacity(batch * block);
        for j in 0..batch {
            let o = ((s * batch + j) * block) % span;
            rows.extend_from_slice(&stream[o..o + block]);
        }
        let ids = Tensor::from_vec(rows, (batch, block), dev)?;
        losses.push(train_step(model, opt, &ids)?);
    }
    Ok(losses)
    // END SOLUTION
}
