//! # DeBERTa's disentangled attention
//!
//! DeBERTa (v2/v3) adds no position vector to the token embeddings. Instead every attention
//! score gets three terms: content→content (`q_i · k_j`, as in BERT), content→position
//! (`q_i · K_r[δ(i, j)]`: what token `i` looks for at a relative distance) and
//! position→content (`k_j · Q_r[δ(i, j)]`: what token `j` offers to a query at that distance),
//! where `δ(i, j)` is the *bucketed* relative position `i − j` and `K_r, Q_r` are projections of a
//! small table of relative-position embeddings. Compare with `transformers`' `DebertaV2`
//! (`fixtures/week2/deberta/`: 1 layer, 4 heads, hidden 64, 8 position buckets, max relative
//! position 64, shared key/query projections for positions).
//!
//! Integer tensors are i64. Values f32. No `sdpa`, no `softmax_last_dim`.
#![allow(unused_variables, unused_imports, dead_code)] // remove once you have solved a few

use super::gpt2::LayerNorm;
use candle_core::{DType, Device, Module, Result, Tensor, D};
use candle_nn::{Linear, VarBuilder};

/// The attention hyper-parameters of a DeBERTa-v2 `config.json` (provided).
#[derive(Clone, Debug, PartialEq)]
pub struct DebertaConfig {
    pub hidden_size: usize,
    pub num_attention_heads: usize,
    /// `position_buckets` (the attention span is this many buckets on each side).
    pub position_buckets: usize,
    /// `max_relative_positions`, or `max_position_embeddings` when the former is < 1.
    pub max_relative_positions: usize,
    pub layer_norm_eps: f64,
}

impl DebertaConfig {
    pub fn from_json(text: &str) -> Result<DebertaConfig> {
        let v: serde_json::Value = serde_json::from_str(text).map_err(candle_core::Error::wrap)?;
        let n = |k: &str| v[k].as_i64().ok_or_else(|| candle_core::Error::Msg(format!("config.json: no integer {k}")));
        let mrp = n("max_relative_positions")?;
        Ok(DebertaConfig {
            hidden_size: n("hidden_size")? as usize,
            num_attention_heads: n("num_attention_heads")? as usize,
            position_buckets: n("position_buckets")? as usize,
            max_relative_positions: if mrp < 1 { n("max_position_embeddings")? as usize } else { mrp as usize },
            layer_norm_eps: v["layer_norm_eps"].as_f64().unwrap_or(1e-7),
        })
    }
}

/// ## log_bucket
/// DeBERTa's log buckets for relative positions `rel` (i64, any shape). With
/// `mid = bucket_size / 2`: positions with `|rel| ≤ mid` keep their value; farther ones are
/// compressed logarithmically, `sign(rel) · (ceil(ln(|rel| / mid) / ln((max_position − 1) / mid)
/// · (mid − 1)) + mid)`. Compute the logarithms in f32 as PyTorch does, and *divide* by the f32
/// tensor `ln((max_position − 1) / mid)`: at `|rel| = max_position − 1` the quotient must be
/// exactly 1, and multiplying by a rounded reciprocal gives 1.0000001, whose ceiling is one
/// bucket too far. Return i64. Example
/// (bucket 8, max 64): `…, -12 → -6, -6 → -5, -4 → -4, 0 → 0, 5 → 5, 600 → 11`.
pub fn log_bucket(rel: &Tensor, bucket_size: usize, max_position: usize) -> Result<Tensor> {
    todo!()
}

/// ## relative_positions
/// The `[q_len, k_len]` i64 matrix `δ(i, j) = i − j`, passed through [`log_bucket`] when
/// `bucket_size` is given (`Some`); `None` gives the raw differences.
/// (`transformers`' `build_relative_position`.)
pub fn relative_positions(q_len: usize, k_len: usize, bucket_size: Option<usize>, max_position: usize, dev: &Device) -> Result<Tensor> {
    todo!()
}

/// ## c2p
/// The content→position term (before scaling): `c2p[n, i, j] = query[n, i] · pos_key[n, c]` with
/// `c = clamp(rel[i, j] + span, 0, 2·span − 1)`. `query: [bh, t, d]` (batch × heads merged),
/// `pos_key: [bh, 2·span, d]`, `rel: [t, t]` (i64) → `[bh, t, t]`. Compute all `t × 2·span`
/// products with one matmul, then pick column `c` of each row with `gather`.
pub fn c2p(query: &Tensor, pos_key: &Tensor, rel: &Tensor, span: usize) -> Result<Tensor> {
    todo!()
}

/// ## p2c
/// The position→content term (before scaling): `p2c[n, i, j] = key[n, j] · pos_query[n, c]` with
/// `c = clamp(−rel[j, i] + span, 0, 2·span − 1)` (for a symmetric bucketing this is
/// `rel[i, j] + span`). `key: [bh, t, d]`, `pos_query: [bh, 2·span, d]`, `rel: [t, t]` →
/// `[bh, t, t]`. One matmul of the keys with the position queries (`[bh, t_key, 2·span]`), a
/// `gather` with index `clamp(−rel + span)`, then swap the last two axes.
pub fn p2c(key: &Tensor, pos_query: &Tensor, rel: &Tensor, span: usize) -> Result<Tensor> {
    todo!()
}

/// ## rel_embeddings
/// The relative-position table every layer uses: `encoder.rel_embeddings.weight`
/// (`[2 · position_buckets, hidden]`) passed through `encoder.LayerNorm` (eps
/// `layer_norm_eps`). `vb` is at `encoder`.
pub fn rel_embeddings(vb: VarBuilder, cfg: &DebertaConfig) -> Result<Tensor> {
    todo!()
}

/// ## attention
/// `DebertaV2Attention` of one layer (`vb` at `encoder.layer.{i}.attention`): the disentangled
/// self-attention (`self.{query,key,value}_proj`, `[out, in]` linear layers) and its output
/// sub-layer (`output.dense`, `output.LayerNorm`: `LN(x + dense(ctx))`). For `x: [b, t, d]`:
/// 1. `q, k, v` projected and split into heads, merged with the batch: `[b·h, t, d_h]`;
/// 2. the *same* projections (with biases) of `rel_emb: [2·span, d]` give `pos_key =
///    key_proj(rel_emb)` and `pos_query = query_proj(rel_emb)`, each split into heads and
///    repeated over the batch: `[b·h, 2·span, d_h]` (span = `position_buckets`);
/// 3. `scores = (q kᵀ + c2p(q, pos_key) + p2c(k, pos_query)) / sqrt(3 · d_h)` — three terms, so
///    the scale is `sqrt(3 d_h)`;
/// 4. `mask: [b, t]` (1 = token) masks pair `(i, j)` unless *both* are tokens; masked scores are
///    *replaced* by `f32::MIN` (not added); softmax over keys; weights · v; merge heads;
///    output sub-layer.
///
/// `rel: [t, t]` are the bucketed relative positions. Output `[b, t, d]`.
#[derive(Clone, Debug)]
pub struct DisentangledAttention {}

impl DisentangledAttention {
    pub fn load(vb: VarBuilder, cfg: &DebertaConfig) -> Result<DisentangledAttention> {
        todo!()
    }

    pub fn forward(&self, x: &Tensor, mask: &Tensor, rel_emb: &Tensor, rel: &Tensor) -> Result<Tensor> {
        todo!()
    }
}
