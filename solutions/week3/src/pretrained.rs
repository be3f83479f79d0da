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
// STUB: #![allow(unused_variables, unused_imports, unused_mut, dead_code)] // remove once you have solved a few

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
    // HINT: This is your week-2 BERT again, post-norm (each sublayer's output is added to its input and then normalised), reading its weights by name; padding is handled by a large negative bias on the padded keys, and the layer norms are written out so that they are differentiable.
    // HINT: Helpers: linear(x, n) = x.broadcast_matmul(&w(n.weight).t()?)?.broadcast_add(w(n.bias)); norm(x, n) over the last dimension with sizes.eps; lookups with embedding on flattened ids. Embeddings: word + token type + position (arange 0..t), then embeddings.LayerNorm. Per layer: q, k, v reshaped to [b, t, heads, d] and transposed to [b, heads, t, d]; scores = q·kᵀ/√d plus the padding bias (1 − mask) · (−1e9) reshaped to [b, 1, 1, t]; candle_nn::ops::softmax over the keys; merge the heads; a = attention.output.LayerNorm(x + attention.output.dense(att)); x = output.LayerNorm(a + output.dense(gelu_erf(intermediate.dense(a)))).
    // HINT: let bias = ((mask.to_dtype(DType::F32)?.affine(-1.0, 1.0)?) * -1e9)?.reshape((b, 1, 1, t))?; let scores = (q.matmul(&k.t()?.contiguous()?)? / (d as f64).sqrt())?.broadcast_add(&bias)?;
    pub fn hidden(&self, ids: &Tensor, types: &Tensor, mask: &Tensor) -> Result<Tensor> {
        // BEGIN SOLUTION
        let s = self.sizes;
        let (b, t) = ids.dims2()?;
        let (c, h) = (s.hidden, s.heads);
        let d = c / h;
        let linear =
            |x: &Tensor, n: &str| -> Result<Tensor> { x.broadcast_matmul(&self.w(&format!("{n}.weight"))?.t()?)?.broadcast_add(self.w(&format!("{n}.bias"))?) };
        let norm = |x: &Tensor, n: &str| -> Result<Tensor> {
            let xc = x.broadcast_sub(&x.mean_keepdim(D::Minus1)?)?;
            let var = xc.sqr()?.mean_keepdim(D::Minus1)?;
            xc.broadcast_div(&(var + s.eps)?.sqrt()?)?.broadcast_mul(self.w(&format!("{n}.weight"))?)?.broadcast_add(self.w(&format!("{n}.bias"))?)
        };
        let look = |table: &str, idx: &Tensor| -> Result<Tensor> { self.w(table)?.embedding(&idx.flatten_all()?)?.reshape((idx.dim(0)?, idx.dim(1)?, c)) };
        let pos = Tensor::arange(0u32, t as u32, ids.device())?.unsqueeze(0)?;
        let e = (look("embeddings.word_embeddings.weight", ids)? + look("embeddings.token_type_embeddings.weight", types)?)?
            .broadcast_add(&look("embeddings.position_embeddings.weight", &pos)?)?;
        let mut x = norm(&e, "embeddings.LayerNorm")?;
        let bias = ((mask.to_dtype(DType::F32)?.affine(-1.0, 1.0)?) * -1e9)?.reshape((b, 1, 1, t))?;
        for i in 0..s.layers {
            let p = format!("encoder.layer.{i}");
            let heads = |n: &str| -> Result<Tensor> { linear(&x, &format!("{p}.attention.self.{n}"))?.reshape((b, t, h, d))?.transpose(1, 2)?.contiguous() };
            let (q, k, v) = (heads("query")?, heads("key")?, heads("value")?);
            let scores = (q.matmul(&k.t()?.contiguous()?)? / (d as f64).sqrt())?.broadcast_add(&bias)?;
            let att = candle_nn::ops::softmax(&scores, D::Minus1)?.matmul(&v)?.transpose(1, 2)?.reshape((b, t, c))?;
            let a = norm(&(&x + linear(&att, &format!("{p}.attention.output.dense"))?)?, &format!("{p}.attention.output.LayerNorm"))?;
            let f = linear(&linear(&a, &format!("{p}.intermediate.dense"))?.gelu_erf()?, &format!("{p}.output.dense"))?;
            x = norm(&(&a + f)?, &format!("{p}.output.LayerNorm"))?;
        }
        Ok(x)
        // END SOLUTION
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
// HINT: Multiply by the mask before summing, and divide by the number of real tokens rather than by the sequence length, so that padding counts nowhere.
// HINT: m = the mask as f32 unsqueezed to [b, t, 1]; sum hidden · m over dimension 1 → [b, h]; divide by m summed over dimension 1 → [b, 1] (broadcast_div).
// HINT: let m = mask.to_dtype(DType::F32)?.unsqueeze(2)?; hidden.broadcast_mul(&m)?.sum(1)?.broadcast_div(&m.sum(1)?)
pub fn mean_pool(hidden: &Tensor, mask: &Tensor) -> Result<Tensor> {
    // BEGIN SOLUTION
    let m = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
    hidden.broadcast_mul(&m)?.sum(1)?.broadcast_div(&m.sum(1)?)
    // END SOLUTION
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

// HINT(sentiment): Nothing new to write: your BERT, pooling, LoRA and AdamW fine-tune MiniLM with LoRA on its query and value weights, which must beat a linear classifier on the frozen model's sentence vectors; it needs the downloaded model.
// HINT(sentiment): Fetch the model with `just data` first. If LoRA does not beat the frozen classifier, check that Lora::apply keeps the adapters differentiable (built from the adapters' tensors, the base detached), that hidden has no dropout and applies the padding mask, and that mean_pool ignores padding.
// HINT(sentiment): lora_init(&base, &["query", "value"], 8, 16.0, rng) must find the 12 weights encoder.layer.{i}.attention.self.query.weight and .value.weight; in apply each becomes (w.detach() + (b.matmul(a)? * scale)?)?, whose graph reaches A and B.
