//! # Fine-tuning a real pretrained model: MiniLM
//!
//! Everything so far this week was trained from scratch on Tiny Shakespeare. Fine-tuning
//! methods were invented for models that somebody else pretrained on far more text. Here that
//! model is `sentence-transformers/all-MiniLM-L6-v2`: a 6-layer BERT, 384 wide, distilled and
//! trained to map sentences to vectors, which week 2 graded your BERT against. `just data` puts
//! it in the HF cache or `data/minilm/model/`.
//!
//! Two exercises bring it into this week: [`MiniLm::hidden`] is your week-2 BERT again, now
//! reading named weights as week 3's GPT does (so that your LoRA of the `lora` day adapts it
//! unchanged), and [`mean_pool`] turns its token vectors into one sentence vector, as
//! sentence-transformers does. The long check then asks the question this week has been
//! building to: on a small labelled task, does fine-tuning with LoRA beat the cheapest
//! baseline, a linear classifier trained on the frozen model's sentence vectors?
#![allow(unused_variables, unused_imports, unused_mut, dead_code)] // remove once you have solved a few

use super::lora::{Lora, Weighted};
use candle_core::{DType, Device, Result, Tensor, Var, D};
use std::collections::BTreeMap;
use std::path::Path;

/// A BERT's sizes, from its Hugging Face `config.json` (given).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BertSizes {
    pub hidden: usize,
    pub heads: usize,
    pub layers: usize,
    /// The layer norms' epsilon (`layer_norm_eps`; 1e-12 for BERT).
    pub eps: f64,
}

impl BertSizes {
    /// Read `hidden_size`, `num_attention_heads`, `num_hidden_layers` and `layer_norm_eps`.
    pub fn from_json(text: &str) -> Result<BertSizes> {
        let v: serde_json::Value = serde_json::from_str(text).map_err(|e| candle_core::Error::Msg(format!("config.json: {e}")))?;
        let n = |k: &str| v[k].as_u64().map(|x| x as usize).ok_or_else(|| candle_core::Error::Msg(format!("config.json has no {k}")));
        Ok(BertSizes {
            hidden: n("hidden_size")?,
            heads: n("num_attention_heads")?,
            layers: n("num_hidden_layers")?,
            eps: v["layer_norm_eps"].as_f64().unwrap_or(1e-12),
        })
    }
}

/// A BERT encoder (`BertModel` without its pooler) with weights by Hugging Face's names, without
/// any `bert.` prefix: `embeddings.{word,position,token_type}_embeddings.weight`,
/// `embeddings.LayerNorm.{weight,bias}`, and for each layer `i`, under `encoder.layer.{i}.`:
/// `attention.self.{query,key,value}.{weight,bias}`, `attention.output.dense.{weight,bias}`,
/// `attention.output.LayerNorm.{weight,bias}`, `intermediate.dense.{weight,bias}`,
/// `output.dense.{weight,bias}`, `output.LayerNorm.{weight,bias}`. Linear weights are
/// `[out, in]`.
pub struct MiniLm {
    pub sizes: BertSizes,
    /// Every weight the forward pass reads (`w` reads them).
    pub weights: BTreeMap<String, Tensor>,
    /// The trainable variables: none for a loaded (frozen) model; the adapters of a LoRA model.
    pub vars: BTreeMap<String, Var>,
}

impl MiniLm {
    /// A frozen model from a Hugging Face folder: `config.json` and `model.safetensors`, float
    /// tensors only, a `bert.` prefix dropped (given).
    pub fn load(dir: &Path, dev: &Device) -> Result<MiniLm> {
        let sizes = BertSizes::from_json(&std::fs::read_to_string(dir.join("config.json"))?)?;
        let mut weights = BTreeMap::new();
        for (name, t) in candle_core::safetensors::load(dir.join("model.safetensors"), dev)? {
            if t.dtype().is_float() {
                weights.insert(name.strip_prefix("bert.").unwrap_or(&name).to_string(), t.to_dtype(DType::F32)?);
            }
        }
        Ok(MiniLm { sizes, weights, vars: BTreeMap::new() })
    }

    /// A weight by name (given).
    pub fn w(&self, name: &str) -> Result<&Tensor> {
        self.weights.get(name).ok_or_else(|| candle_core::Error::Msg(format!("the model has no {name}")))
    }

    /// ## bert_hidden
    /// The last hidden state `[b, t, hidden]` for token ids `ids` and token types `types`
    /// `[b, t]` (u32) and `mask` `[b, t]` (f32: 1 for a token, 0 for padding): your week-2 BERT,
    /// reading its weights with `w`, without dropout. Embeddings: word + position (`0..t`) +
    /// token type, then `embeddings.LayerNorm`. Each layer: self-attention with `heads` heads of
    /// `hidden / heads`, scores scaled by `1/√head_dim`, padded keys masked out;
    /// `attention.output.LayerNorm(x + attention.output.dense(attention))`; then
    /// `output.LayerNorm(a + output.dense(gelu(intermediate.dense(a))))` with the exact (erf)
    /// GELU. Layer norms use `sizes.eps` and must be differentiable (write them).
    pub fn hidden(&self, ids: &Tensor, types: &Tensor, mask: &Tensor) -> Result<Tensor> {
        todo!()
    }
}

impl Weighted for MiniLm {
    fn weights(&self) -> &BTreeMap<String, Tensor> {
        &self.weights
    }

    fn rebuild(&self, weights: BTreeMap<String, Tensor>, vars: BTreeMap<String, Var>) -> MiniLm {
        MiniLm { sizes: self.sizes, weights, vars }
    }
}

/// ## mean_pool
/// One vector per sentence, as sentence-transformers pools all-MiniLM-L6-v2: the mean of
/// `hidden` `[b, t, h]` over the positions where `mask` `[b, t]` (f32) is 1 → `[b, h]`.
/// Padding must not count, in the sum or in the divisor.
pub fn mean_pool(hidden: &Tensor, mask: &Tensor) -> Result<Tensor> {
    todo!()
}

/// A sentence classifier (given): MiniLM (LoRA-adapted when `lora` is given), [`mean_pool`],
/// and a linear head `[classes, hidden]`.
pub struct Classifier<'a> {
    pub base: &'a MiniLm,
    pub lora: Option<&'a Lora>,
    pub head_w: Var,
    pub head_b: Var,
}

impl<'a> Classifier<'a> {
    /// A head of zeros for `classes` classes.
    pub fn new(base: &'a MiniLm, lora: Option<&'a Lora>, classes: usize) -> Result<Classifier<'a>> {
        let dev = base.w("embeddings.word_embeddings.weight")?.device().clone();
        Ok(Classifier { base, lora, head_w: Var::zeros((classes, base.sizes.hidden), DType::F32, &dev)?, head_b: Var::zeros(classes, DType::F32, &dev)? })
    }

    /// The trainable variables: the adapters (if any), then the head.
    pub fn vars(&self) -> Vec<(String, Var)> {
        let mut v = self.lora.map(|l| l.vars()).unwrap_or_default();
        v.push(("head.weight".into(), self.head_w.clone()));
        v.push(("head.bias".into(), self.head_b.clone()));
        v
    }

    /// The head on sentence vectors `[b, hidden]`.
    pub fn head(&self, pooled: &Tensor) -> Result<Tensor> {
        pooled.broadcast_matmul(&self.head_w.as_tensor().t()?)?.broadcast_add(self.head_b.as_tensor())
    }

    /// Class logits `[b, classes]` for a batch.
    pub fn logits(&self, ids: &Tensor, types: &Tensor, mask: &Tensor) -> Result<Tensor> {
        let hidden = match self.lora {
            Some(l) => l.apply(self.base)?.hidden(ids, types, mask)?,
            None => self.base.hidden(ids, types, mask)?,
        };
        self.head(&mean_pool(&hidden, mask)?)
    }
}
