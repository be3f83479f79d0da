//! # BERT from the Hugging Face weights
//!
//! An encoder-only transformer: bidirectional self-attention (no causal mask, only a padding
//! mask), *post-norm* residual blocks, the erf GELU, and a masked-language-model head tied to
//! the word embeddings. Load `transformers`' `BertForMaskedLM` weights
//! (`fixtures/week2/bert/`: 2 layers, 4 heads, hidden 64, intermediate 128, vocabulary 1000)
//! under their Hugging Face names and match every hidden state, the logits, the loss and every
//! gradient; then write the 80/10/10 masking that makes BERT's training data.
//!
//! Parameter names (prefix `bert.`): `embeddings.{word,position,token_type}_embeddings.weight`,
//! `embeddings.LayerNorm.{weight,bias}`, per layer `encoder.layer.{i}.attention.self.{query,key,
//! value}`, `attention.output.dense`, `attention.output.LayerNorm`, `intermediate.dense`,
//! `output.dense`, `output.LayerNorm`. Head: `cls.predictions.transform.dense`,
//! `cls.predictions.transform.LayerNorm`, `cls.predictions.bias [vocab]`; the decoder weight is
//! the word embedding matrix (tied, not in the file). BERT's linear layers are ordinary
//! `[out, in]` `nn.Linear` (unlike GPT-2's Conv1D): `candle_nn::linear` loads them.
//!
//! Rules: gradients are checked, so use your differentiable `super::gpt2::layer_norm` (BERT's
//! eps is `1e-12`) and `ops::softmax(x, D::Minus1)`; no `candle_nn::LayerNorm`,
//! `softmax_last_dim` or `sdpa`. Attention masks are `[b, t]` (1 = token, 0 = padding); masked
//! keys get `f32::MIN` added to their scores.
#![allow(unused_variables, unused_imports, dead_code)] // remove once you have solved a few

use super::gpt2::LayerNorm;
use candle_core::{DType, Device, Module, Result, Tensor, D};
use candle_nn::{Linear, VarBuilder};
use rand::Rng;

/// The hyper-parameters of a BERT, from its `config.json` (provided).
#[derive(Clone, Debug, PartialEq)]
pub struct BertConfig {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub intermediate_size: usize,
    pub max_position_embeddings: usize,
    pub type_vocab_size: usize,
    pub layer_norm_eps: f64,
}

impl BertConfig {
    pub fn from_json(text: &str) -> Result<BertConfig> {
        let v: serde_json::Value = serde_json::from_str(text).map_err(candle_core::Error::wrap)?;
        let n = |k: &str| v[k].as_u64().map(|x| x as usize).ok_or_else(|| candle_core::Error::Msg(format!("config.json: no integer {k}")));
        Ok(BertConfig {
            vocab_size: n("vocab_size")?,
            hidden_size: n("hidden_size")?,
            num_hidden_layers: n("num_hidden_layers")?,
            num_attention_heads: n("num_attention_heads")?,
            intermediate_size: n("intermediate_size")?,
            max_position_embeddings: n("max_position_embeddings")?,
            type_vocab_size: n("type_vocab_size")?,
            layer_norm_eps: v["layer_norm_eps"].as_f64().unwrap_or(1e-12),
        })
    }
}

/// The additive padding mask `[b, 1, 1, t]`: 0 for tokens, `f32::MIN` for padding (provided).
pub fn padding_bias(mask: &Tensor) -> Result<Tensor> {
    let (b, t) = mask.dims2()?;
    let m = mask.to_dtype(DType::F32)?.reshape((b, 1, 1, t))?;
    m.affine(-1.0, 1.0)? * f32::MIN as f64
}

/// ## embeddings
/// `BertEmbeddings`: `LayerNorm(word[ids] + position[0..t] + token_type[types])`, with
/// `ids, types: [b, t]` (u32 or i64) → `[b, t, hidden]`. `load` takes `vb` at
/// `bert.embeddings`.
#[derive(Clone, Debug)]
pub struct BertEmbeddings {}

impl BertEmbeddings {
    pub fn load(vb: VarBuilder, cfg: &BertConfig) -> Result<BertEmbeddings> {
        todo!()
    }

    /// The word embedding matrix `[vocab, hidden]` (the MLM head's decoder reuses it).
    pub fn word_embeddings(&self) -> &Tensor {
        todo!()
    }

    pub fn forward(&self, ids: &Tensor, types: &Tensor) -> Result<Tensor> {
        todo!()
    }
}

/// ## attention
/// `BertAttention` (self-attention and its output sub-layer), `vb` at
/// `bert.encoder.layer.{i}.attention`: `q, k, v = self.{query,key,value}(x)`, heads as a batch
/// axis, `softmax(q kᵀ / sqrt(d_head) + padding_bias(mask)) v`, heads merged, then the
/// post-norm residual `output.LayerNorm(x + output.dense(attn))`. No causal mask: every token
/// sees the whole (unpadded) sequence. `x: [b, t, hidden]`, `mask: [b, t]` → `[b, t, hidden]`.
#[derive(Clone, Debug)]
pub struct BertAttention {}

impl BertAttention {
    pub fn load(vb: VarBuilder, cfg: &BertConfig) -> Result<BertAttention> {
        todo!()
    }

    pub fn forward(&self, x: &Tensor, mask: &Tensor) -> Result<Tensor> {
        todo!()
    }
}

/// ## layer
/// `BertLayer`, `vb` at `bert.encoder.layer.{i}`: `a = attention(x, mask)`, then
/// `output.LayerNorm(a + output.dense(gelu(intermediate.dense(a))))`, with the exact (erf)
/// GELU (`gelu_erf`). `[b, t, hidden]` → `[b, t, hidden]`.
#[derive(Clone, Debug)]
pub struct BertLayer {}

impl BertLayer {
    pub fn load(vb: VarBuilder, cfg: &BertConfig) -> Result<BertLayer> {
        todo!()
    }

    pub fn forward(&self, x: &Tensor, mask: &Tensor) -> Result<Tensor> {
        todo!()
    }
}

/// ## model
/// `BertModel` without the pooler: `load(vb, cfg)` with `vb` at the file's root (it reads
/// `bert.embeddings` and `bert.encoder.layer.{i}`). `hidden_states(ids, types, mask)` returns
/// `[embeddings, output of layer 1, …, output of layer L]` (`L + 1` tensors of `[b, t, hidden]`,
/// what `output_hidden_states=True` gives); `forward` returns the last one.
#[derive(Clone, Debug)]
pub struct Bert {
    pub cfg: BertConfig,
}

impl Bert {
    pub fn load(vb: VarBuilder, cfg: &BertConfig) -> Result<Bert> {
        todo!()
    }

    /// The embeddings module (the MLM head needs the word embeddings).
    pub fn embeddings(&self) -> &BertEmbeddings {
        todo!()
    }

    pub fn hidden_states(&self, ids: &Tensor, types: &Tensor, mask: &Tensor) -> Result<Vec<Tensor>> {
        todo!()
    }

    pub fn forward(&self, ids: &Tensor, types: &Tensor, mask: &Tensor) -> Result<Tensor> {
        Ok(self.hidden_states(ids, types, mask)?.pop().expect("at least the embeddings"))
    }
}

/// ## pooler
/// `BertPooler`: the sentence representation `tanh(h[:, 0] · Wᵀ + b)` from the first ([CLS])
/// position of `hidden: [b, t, d]`, with `weight: [d, d]` (`[out, in]`) and `bias: [d]` →
/// `[b, d]`. On CUDA, make the sliced `h[:, 0]` `.contiguous()` before `matmul` (candle's CUDA
/// `matmul` refuses rows that are `t·d` apart; its CPU `matmul` takes them).
pub fn pooler(hidden: &Tensor, weight: &Tensor, bias: &Tensor) -> Result<Tensor> {
    todo!()
}

/// ## mlm_head
/// `BertForMaskedLM`: the encoder, then the prediction head `cls.predictions`:
/// `transform = LayerNorm(gelu_erf(dense(h)))`, `logits = transform · word_embeddingsᵀ + bias`
/// (`[b, t, vocab]`). `load` takes `vb` at the root. `masked_lm_loss(logits, labels)` is the
/// mean cross-entropy over the positions whose label is not -100 (no shift: BERT predicts the
/// token at its own position); a scalar (rank 0) f32.
#[derive(Clone, Debug)]
pub struct BertForMaskedLM {
    pub bert: Bert,
}

impl BertForMaskedLM {
    pub fn load(vb: VarBuilder, cfg: &BertConfig) -> Result<BertForMaskedLM> {
        todo!()
    }

    pub fn forward(&self, ids: &Tensor, types: &Tensor, mask: &Tensor) -> Result<Tensor> {
        todo!()
    }
}

pub fn masked_lm_loss(logits: &Tensor, labels: &Tensor) -> Result<Tensor> {
    todo!()
}

/// ## mlm_mask
/// BERT's masking of a training sequence. For each position that is not special
/// (`special[i] == false`), draw from `rng`: with probability `prob` (0.15) the position is
/// *selected*. A selected position gets `labels[i] = ids[i]` and its input is replaced by
/// `mask_id` with probability 0.8, by a uniformly random token in `0..vocab` with probability
/// 0.1, and left unchanged with probability 0.1. Every other position keeps its id and gets
/// label -100. Returns `(inputs, labels)`, both of `ids.len()`.
/// Draw with `rng.random::<f64>()` / `rng.random_range(0..vocab)`; the checks test the rule
/// exactly and the proportions statistically (not a particular sequence of draws).
pub fn mlm_mask(ids: &[u32], special: &[bool], prob: f64, mask_id: u32, vocab: u32, rng: &mut impl Rng) -> (Vec<u32>, Vec<i64>) {
    todo!()
}

/// Load `config.json` and `model.safetensors` from a Hugging Face BERT directory (provided;
/// [`super::gpt2::hf_var_builder`] finds older `gamma` / `beta` layer-norm names).
pub fn from_dir(dir: &std::path::Path, dev: &Device) -> Result<BertForMaskedLM> {
    let cfg = BertConfig::from_json(&std::fs::read_to_string(dir.join("config.json"))?)?;
    BertForMaskedLM::load(super::gpt2::hf_var_builder(&dir.join("model.safetensors"), dev)?, &cfg)
}
