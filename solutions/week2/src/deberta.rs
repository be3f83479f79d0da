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
// STUB: #![allow(unused_variables, unused_imports, dead_code)] // remove once you have solved a few

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
// HINT: Near positions (within half the bucket size) keep their value; farther ones are compressed by a logarithm, their sign restored. Compute in f32, and divide by the f32 logarithm rather than multiplying by its reciprocal: at the far end the quotient must be exactly 1, or the ceiling lands one bucket too far.
// HINT: mid = bucket_size / 2; r = rel as f32; abs and sign of r; denom = Tensor::new(((max − 1) / mid) as f32, dev).log(); the log branch on abs.maximum(mid) (avoids ln 0): ((x / mid).log().broadcast_div(&denom) · (mid − 1)).ceil() + mid, times the sign; where_cond(abs.le(mid), r, that); to_dtype(DType::I64).
// HINT: `let logp = ((safe / mid)?.log()?.broadcast_div(&denom)? * (mid - 1.0))?.ceil()?.affine(1.0, mid)?;` then `abs.le(mid)?.where_cond(&r, &(logp * sign)?)?.to_dtype(DType::I64)`.
pub fn log_bucket(rel: &Tensor, bucket_size: usize, max_position: usize) -> Result<Tensor> {
    // BEGIN SOLUTION
    let mid = (bucket_size / 2) as f64;
    let r = rel.to_dtype(DType::F32)?;
    let abs = r.abs()?;
    let sign = r.sign()?;
    // ln((max − 1) / mid) in f32, and a true division: at |rel| = max − 1 the quotient is
    // exactly 1 only if both logarithms are rounded the same way.
    let denom = Tensor::new(((max_position as f64 - 1.0) / mid) as f32, rel.device())?.log()?;
    // for |rel| < mid the log is never used; clamp to avoid ln(0)
    let safe = abs.maximum(mid)?;
    let logp = ((safe / mid)?.log()?.broadcast_div(&denom)? * (mid - 1.0))?.ceil()?.affine(1.0, mid)?;
    let far = (logp * sign)?;
    let near = abs.le(mid)?;
    near.where_cond(&r, &far)?.to_dtype(DType::I64)
    // END SOLUTION
}

/// ## relative_positions
/// The `[q_len, k_len]` i64 matrix `δ(i, j) = i − j`, passed through [`log_bucket`] when
/// `bucket_size` is given (`Some`); `None` gives the raw differences.
/// (`transformers`' `build_relative_position`.)
// HINT: Rows are queries and columns keys, and each entry is the query index minus the key index (i − j, not j − i); bucketing is optional and comes afterwards.
// HINT: A [q_len, 1] column arange(0i64, q_len) minus a [1, k_len] row arange(0i64, k_len) with broadcast_sub; then log_bucket(&rel, b, max_position) when bucket_size is Some(b), the raw differences when None.
// HINT: `let rel = Tensor::arange(0i64, q_len as i64, dev)?.unsqueeze(1)?.broadcast_sub(&Tensor::arange(0i64, k_len as i64, dev)?.unsqueeze(0)?)?;`
pub fn relative_positions(q_len: usize, k_len: usize, bucket_size: Option<usize>, max_position: usize, dev: &Device) -> Result<Tensor> {
    // BEGIN SOLUTION
    let q = Tensor::arange(0i64, q_len as i64, dev)?.unsqueeze(1)?;
    let k = Tensor::arange(0i64, k_len as i64, dev)?.unsqueeze(0)?;
    let rel = q.broadcast_sub(&k)?;
    match bucket_size {
        Some(b) => log_bucket(&rel, b, max_position),
        None => Ok(rel),
    }
    // END SOLUTION
}

// BEGIN SOLUTION ONLY
/// `clamp(sign · rel + span, 0, 2·span − 1)` as u32 indices, broadcast to `[bh, tq, tk]`.
fn span_index(rel: &Tensor, sign: f64, span: usize, bh: usize) -> Result<Tensor> {
    let idx = rel.to_dtype(DType::F64)?.affine(sign, span as f64)?.clamp(0f64, (2 * span - 1) as f64)?.to_dtype(DType::U32)?;
    let (tq, tk) = idx.dims2()?;
    idx.unsqueeze(0)?.broadcast_as((bh, tq, tk))?.contiguous()
}
// END SOLUTION

/// ## c2p
/// The content→position term (before scaling): `c2p[n, i, j] = query[n, i] · pos_key[n, c]` with
/// `c = clamp(rel[i, j] + span, 0, 2·span − 1)`. `query: [bh, t, d]` (batch × heads merged),
/// `pos_key: [bh, 2·span, d]`, `rel: [t, t]` (i64) → `[bh, t, t]`. Compute all `t × 2·span`
/// products with one matmul, then pick column `c` of each row with `gather`.
// HINT: Multiply every query with every position row in one matrix product, then pick, for each (i, j), the column of the clamped relative distance: the clamp sends every distance beyond the span to the first or last row.
// HINT: all = query.matmul(&pos_key.t()?) is [bh, t, 2·span]; the index clamp(rel + span, 0, 2·span − 1), computed in a float or signed dtype (rel can be negative) and then converted to U32, unsqueezed to [1, t, t] and broadcast_as [bh, t, t], contiguous; all.gather(&index, D::Minus1).
// HINT: `let idx = rel.to_dtype(DType::F64)?.affine(1.0, span as f64)?.clamp(0f64, (2 * span - 1) as f64)?.to_dtype(DType::U32)?.unsqueeze(0)?.broadcast_as((bh, t, t))?.contiguous()?;` then `all.gather(&idx, D::Minus1)`.
pub fn c2p(query: &Tensor, pos_key: &Tensor, rel: &Tensor, span: usize) -> Result<Tensor> {
    // BEGIN SOLUTION
    let all = query.matmul(&pos_key.t()?)?; // [bh, t, 2 span]
    all.gather(&span_index(rel, 1.0, span, query.dim(0)?)?, D::Minus1)
    // END SOLUTION
}

/// ## p2c
/// The position→content term (before scaling): `p2c[n, i, j] = key[n, j] · pos_query[n, c]` with
/// `c = clamp(−rel[j, i] + span, 0, 2·span − 1)` (for a symmetric bucketing this is
/// `rel[i, j] + span`). `key: [bh, t, d]`, `pos_query: [bh, 2·span, d]`, `rel: [t, t]` →
/// `[bh, t, t]`. One matmul of the keys with the position queries (`[bh, t_key, 2·span]`), a
/// `gather` with index `clamp(−rel + span)`, then swap the last two axes.
// HINT: The same pattern as c2p with the roles swapped: keys times position queries, an index built from the negated relative position, and a gathered matrix indexed by (key, query), so swap its last two axes at the end.
// HINT: all = key.matmul(&pos_query.t()?) is [bh, t_key, 2·span]; the index clamp(−rel + span, 0, 2·span − 1) as U32, broadcast to [bh, t, t] and contiguous; gather on the last axis; then transpose(1, 2) and contiguous (row j of the gathered matrix belongs to key j).
// HINT: `all.gather(&idx, D::Minus1)?.transpose(1, 2)?.contiguous()`, with idx from `rel.to_dtype(DType::F64)?.affine(-1.0, span as f64)?.clamp(0f64, (2 * span - 1) as f64)?.to_dtype(DType::U32)?`, unsqueezed and broadcast to [bh, t, t].
pub fn p2c(key: &Tensor, pos_query: &Tensor, rel: &Tensor, span: usize) -> Result<Tensor> {
    // BEGIN SOLUTION
    let all = key.matmul(&pos_query.t()?)?; // [bh, t_key, 2 span]
    all.gather(&span_index(rel, -1.0, span, key.dim(0)?)?, D::Minus1)?.transpose(1, 2)?.contiguous()
    // END SOLUTION
}

/// ## rel_embeddings
/// The relative-position table every layer uses: `encoder.rel_embeddings.weight`
/// (`[2 · position_buckets, hidden]`) passed through `encoder.LayerNorm` (eps
/// `layer_norm_eps`). `vb` is at `encoder`.
// HINT: The table is read once and layer-normed, with the config's eps, before any layer uses it; nothing else happens to it here.
// HINT: vb.get((2 · position_buckets, hidden_size), "rel_embeddings.weight"), then LayerNorm::load(vb.pp("LayerNorm"), hidden_size, cfg.layer_norm_eps) and its forward on the table (the provided LayerNorm runs your differentiable layer_norm).
// HINT: `LayerNorm::load(vb.pp("LayerNorm"), cfg.hidden_size, cfg.layer_norm_eps)?.forward(&vb.get((2 * cfg.position_buckets, cfg.hidden_size), "rel_embeddings.weight")?)`
pub fn rel_embeddings(vb: VarBuilder, cfg: &DebertaConfig) -> Result<Tensor> {
    // BEGIN SOLUTION
    let w = vb.get((2 * cfg.position_buckets, cfg.hidden_size), "rel_embeddings.weight")?;
    LayerNorm::load(vb.pp("LayerNorm"), cfg.hidden_size, cfg.layer_norm_eps)?.forward(&w)
    // END SOLUTION
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
// HINT: Three score terms, so the scale is the square root of three times the head size; the position keys and queries come from the same key and query projections (biases included) applied to the relative table; and a padded pair's score is replaced by the minimum f32, not added to.
// HINT: load: candle_nn::linear(d, d, vb.pp("self.query_proj")) (key_proj, value_proj), output.dense, LayerNorm::load(vb.pp("output.LayerNorm"), d, eps); span = position_buckets. forward: q, k, v as [b·h, t, d_h] (reshape (b, t, h, d_h), transpose(1, 2), reshape (b·h, t, d_h)); pos_key = key(rel_emb.narrow(0, 0, 2·span)), pos_query = query(same), each split into heads ([h, 2·span, d_h]) and repeated over the batch to [b·h, 2·span, d_h]; scores = (q·kᵀ + c2p(q, pos_key) + p2c(k, pos_query)) / sqrt(3·d_h), reshaped [b, h, t, t]; the pair mask is mask[i]·mask[j]; where_cond(pair, scores, f32::MIN); candle_nn::ops::softmax over D::Minus1; · v; merge heads; LN(x + dense(ctx)).
// HINT: `let scores = (((q.matmul(&k.t()?)? + c2p(&q, &pk, rel, span)?)? + p2c(&k, &pq, rel, span)?)? / (3.0 * dh as f64).sqrt())?.reshape((b, h, t, t))?;` and, with m the mask as f32, `m.unsqueeze(2)?.broadcast_mul(&m.unsqueeze(1)?)?.unsqueeze(1)?.broadcast_as((b, h, t, t))?.ne(0f64)?.where_cond(&scores, &Tensor::full(f32::MIN, (b, h, t, t), dev)?)?`.
#[derive(Clone, Debug)]
pub struct DisentangledAttention {
    // BEGIN SOLUTION ONLY
    query: Linear,
    key: Linear,
    value: Linear,
    dense: Linear,
    ln: LayerNorm,
    heads: usize,
    span: usize,
    // END SOLUTION
}

impl DisentangledAttention {
    pub fn load(vb: VarBuilder, cfg: &DebertaConfig) -> Result<DisentangledAttention> {
        // BEGIN SOLUTION
        let d = cfg.hidden_size;
        let s = vb.pp("self");
        Ok(DisentangledAttention {
            query: candle_nn::linear(d, d, s.pp("query_proj"))?,
            key: candle_nn::linear(d, d, s.pp("key_proj"))?,
            value: candle_nn::linear(d, d, s.pp("value_proj"))?,
            dense: candle_nn::linear(d, d, vb.pp("output.dense"))?,
            ln: LayerNorm::load(vb.pp("output.LayerNorm"), d, cfg.layer_norm_eps)?,
            heads: cfg.num_attention_heads,
            span: cfg.position_buckets,
        })
        // END SOLUTION
    }

    pub fn forward(&self, x: &Tensor, mask: &Tensor, rel_emb: &Tensor, rel: &Tensor) -> Result<Tensor> {
        // BEGIN SOLUTION
        let (b, t, d) = x.dims3()?;
        let (h, dh) = (self.heads, d / self.heads);
        let heads = |y: Tensor, n: usize, bb: usize| y.reshape((bb, n, h, dh))?.transpose(1, 2)?.reshape((bb * h, n, dh))?.contiguous();
        let q = heads(self.query.forward(x)?, t, b)?;
        let k = heads(self.key.forward(x)?, t, b)?;
        let v = heads(self.value.forward(x)?, t, b)?;
        let r = rel_emb.narrow(0, 0, 2 * self.span)?.unsqueeze(0)?;
        let rep = |y: Tensor| -> Result<Tensor> { heads(y, 2 * self.span, 1)?.repeat((b, 1, 1)) };
        let pk = rep(self.key.forward(&r)?)?;
        let pq = rep(self.query.forward(&r)?)?;
        let scores = ((q.matmul(&k.t()?)? + c2p(&q, &pk, rel, self.span)?)? + p2c(&k, &pq, rel, self.span)?)?;
        let scores = (scores / (3.0 * dh as f64).sqrt())?.reshape((b, h, t, t))?;
        let m = mask.to_dtype(DType::F32)?;
        let pair = m.unsqueeze(2)?.broadcast_mul(&m.unsqueeze(1)?)?.unsqueeze(1)?.broadcast_as((b, h, t, t))?.ne(0f64)?;
        let mins = Tensor::full(f32::MIN, (b, h, t, t), x.device())?;
        let scores = pair.where_cond(&scores, &mins)?;
        let w = candle_nn::ops::softmax(&scores, D::Minus1)?;
        let ctx = w.matmul(&v.reshape((b, h, t, dh))?)?.transpose(1, 2)?.reshape((b, t, d))?;
        self.ln.forward(&(x + self.dense.forward(&ctx)?)?)
        // END SOLUTION
    }
}
