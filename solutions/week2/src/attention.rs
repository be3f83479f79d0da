//! # Attention
//!
//! The attention mechanism in its common forms, each compared with PyTorch: scaled dot-product
//! attention with masks (`F.scaled_dot_product_attention`), the older additive (Bahdanau) and
//! bilinear (Luong "general") scores, causal and padding masks, multi-head attention with the
//! heads as a batch axis (`nn.MultiheadAttention`), and sinusoidal positional encodings.
//!
//! Masks are u8 tensors with **1 = may attend (or: a real token)** and 0 = masked. Turn a mask
//! into something you can add to scores with `where_cond`: 0 where allowed, `f32::NEG_INFINITY`
//! (or a very negative number) where masked. Every case here leaves at least one key per query.
//!
//! Rules: no `candle_nn::ops::sdpa`; softmax with `candle_nn::ops::softmax(x, D::Minus1)` (or
//! your own). Values are f32; make new tensors on the inputs' device.
// STUB: #![allow(unused_variables, unused_imports)] // remove once you have solved a few

use candle_core::{DType, Device, Result, Tensor, D};

/// ## scaled_dot_product
/// `softmax(q kᵀ / sqrt(d) + M) v` for `q: [..., tq, d]`, `k: [..., tk, d]`, `v: [..., tk, dv]`
/// (any number of leading batch axes, the same for all three) → `[..., tq, dv]`. `mask`, when
/// given, is u8 `[tq, tk]` or `[..., tq, tk]` (broadcast over the leading axes) with 1 where
/// query `i` may attend to key `j`; `M` is 0 there and `-inf` elsewhere. This is
/// `F.scaled_dot_product_attention(q, k, v, attn_mask=mask.bool())`.
// HINT: Scale the scores by the square root of the queries' feature size, turn the 0 entries of the mask into minus infinity before the softmax (a 2-D mask has to broadcast over the leading axes), and take the softmax over the keys, the last axis.
// HINT: d = q.dim(D::Minus1); scores = q.matmul(kᵀ) / sqrt(d), with kᵀ = k.transpose(D::Minus2, D::Minus1) made contiguous: [..., tq, tk]; with a mask, broadcast_as it to the scores' shape and where_cond(&scores, a tensor full of f32::NEG_INFINITY); candle_nn::ops::softmax(&scores, D::Minus1) (no softmax_last_dim, no sdpa); matmul v.
// HINT: `let scores = (q.matmul(&k.transpose(D::Minus2, D::Minus1)?.contiguous()?)? / d.sqrt())?;` then `m.broadcast_as(scores.shape())?.where_cond(&scores, &Tensor::full(f32::NEG_INFINITY, scores.shape(), scores.device())?)?`.
pub fn scaled_dot_product(q: &Tensor, k: &Tensor, v: &Tensor, mask: Option<&Tensor>) -> Result<Tensor> {
    // BEGIN SOLUTION
    let d = q.dim(D::Minus1)? as f64;
    let mut scores = (q.matmul(&k.transpose(D::Minus2, D::Minus1)?.contiguous()?)? / d.sqrt())?;
    if let Some(m) = mask {
        let m = m.broadcast_as(scores.shape())?;
        let neg = Tensor::full(f32::NEG_INFINITY, scores.shape(), scores.device())?;
        scores = m.where_cond(&scores, &neg)?;
    }
    candle_nn::ops::softmax(&scores, D::Minus1)?.matmul(&v.contiguous()?)
    // END SOLUTION
}

/// ## causal_mask
/// The u8 `[t, t]` mask of a decoder: 1 where key `j ≤ query i` (the past and the present),
/// 0 above the diagonal (the future). `torch.ones(t, t).tril()`. Example `t = 3`:
/// `[[1, 0, 0], [1, 1, 0], [1, 1, 1]]`.
// HINT: Query i may see key j exactly when j is at most i: compare a column of query indices with a row of key indices, without loops. A comparison already gives u8 ones and zeros.
// HINT: i = Tensor::arange(0u32, t as u32, dev); unsqueeze(1) makes the [t, 1] query column and unsqueeze(0) the [1, t] key row; broadcast_ge of the column against the row is the [t, t] u8 mask.
// HINT: `i.unsqueeze(1)?.broadcast_ge(&i.unsqueeze(0)?)`
pub fn causal_mask(t: usize, dev: &Device) -> Result<Tensor> {
    // BEGIN SOLUTION
    let i = Tensor::arange(0u32, t as u32, dev)?;
    i.unsqueeze(1)?.broadcast_ge(&i.unsqueeze(0)?)
    // END SOLUTION
}

/// ## padding_mask
/// The u8 `[b, t]` mask of a right-padded batch: row `r` has `lengths[r]` ones, then zeros.
/// `lengths: [b]` (i64). Example: lengths `[2, 3]`, `t = 3` → `[[1, 1, 0], [1, 1, 1]]`.
/// Build it with `arange` and a broadcast comparison, no loop over the batch.
// HINT: Position p of row r is a real token exactly when p is less than that row's length: one broadcast comparison of a row of positions with a column of lengths, both in the same integer dtype and on the same device.
// HINT: pos = Tensor::arange(0i64, t as i64, lengths.device()) as a [1, t] row (unsqueeze(0)); the lengths as a [b, 1] column (to_dtype(DType::I64), unsqueeze(1)); broadcast_lt gives the [b, t] u8 mask.
// HINT: `Tensor::arange(0i64, t as i64, lengths.device())?.unsqueeze(0)?.broadcast_lt(&lengths.to_dtype(DType::I64)?.unsqueeze(1)?)`
pub fn padding_mask(lengths: &Tensor, t: usize) -> Result<Tensor> {
    // BEGIN SOLUTION
    let pos = Tensor::arange(0i64, t as i64, lengths.device())?.unsqueeze(0)?;
    pos.broadcast_lt(&lengths.to_dtype(DType::I64)?.unsqueeze(1)?)
    // END SOLUTION
}

/// ## additive_scores
/// Bahdanau's additive attention scores `s[b, i, j] = v · tanh(W_q q[b, i] + W_k k[b, j])`, for
/// `q: [b, tq, dq]`, `k: [b, tk, dk]`, `w_q: [h, dq]`, `w_k: [h, dk]`, `v: [h]` → `[b, tq, tk]`.
/// Project both sides first, then broadcast `[b, tq, 1, h] + [b, 1, tk, h]`; no loops.
// HINT: Project every query and every key once, then form all (query, key) pairs by broadcasting over two inserted axes; the sum of the hidden axis with v gives one score per pair. No loops.
// HINT: qp = q.broadcast_matmul(&w_q.t()?) is [b, tq, h] → unsqueeze(2) to [b, tq, 1, h]; kp = k.broadcast_matmul(&w_k.t()?) → unsqueeze(1) to [b, 1, tk, h]; broadcast_add → [b, tq, tk, h]; tanh; broadcast_mul by v ([h]); sum over the last axis → [b, tq, tk].
// HINT: `qp.broadcast_add(&kp)?.tanh()?.broadcast_mul(v)?.sum(D::Minus1)`
pub fn additive_scores(q: &Tensor, k: &Tensor, w_q: &Tensor, w_k: &Tensor, v: &Tensor) -> Result<Tensor> {
    // BEGIN SOLUTION
    let qp = q.broadcast_matmul(&w_q.t()?)?.unsqueeze(2)?; // [b, tq, 1, h]
    let kp = k.broadcast_matmul(&w_k.t()?)?.unsqueeze(1)?; // [b, 1, tk, h]
    qp.broadcast_add(&kp)?.tanh()?.broadcast_mul(v)?.sum(D::Minus1)
    // END SOLUTION
}

/// ## bilinear_scores
/// Luong's "general" (bilinear) scores `s[b, i, j] = q[b, i]ᵀ W k[b, j]` for `q: [b, tq, dq]`,
/// `k: [b, tk, dk]`, `w: [dq, dk]` → `[b, tq, tk]` (what `F.bilinear` computes for every pair).
/// Two matmuls.
// HINT: Group the product as (queries times W) times the transposed keys: the weight has no batch axis, so the first product must broadcast over the batch, and the keys are transposed on their last two axes only.
// HINT: q.broadcast_matmul(w) is [b, tq, dk]; k.transpose(1, 2), made contiguous, is [b, dk, tk]; matmul the two → [b, tq, tk].
// HINT: `q.broadcast_matmul(w)?.matmul(&k.transpose(1, 2)?.contiguous()?)`
pub fn bilinear_scores(q: &Tensor, k: &Tensor, w: &Tensor) -> Result<Tensor> {
    // BEGIN SOLUTION
    q.broadcast_matmul(w)?.matmul(&k.transpose(1, 2)?.contiguous()?)
    // END SOLUTION
}

/// ## split_heads
/// Heads as a batch axis: `x: [b, t, heads · d]` → `[b, heads, t, d]`, where head `h` owns the
/// features `h·d .. (h+1)·d`. (`merge_heads` is the inverse.) A reshape and a transpose; return
/// a contiguous tensor.
// HINT: Reshaping straight to [b, heads, t, d] mixes positions and features: split the last axis into (heads, d) first, then swap the head and time axes.
// HINT: (b, t, hd) = x.dims3(); reshape to (b, t, heads, hd / heads); transpose(1, 2) → [b, heads, t, d]; contiguous() so that later matmuls accept it.
// HINT: `x.reshape((b, t, heads, hd / heads))?.transpose(1, 2)?.contiguous()`
pub fn split_heads(x: &Tensor, heads: usize) -> Result<Tensor> {
    // BEGIN SOLUTION
    let (b, t, hd) = x.dims3()?;
    x.reshape((b, t, heads, hd / heads))?.transpose(1, 2)?.contiguous()
    // END SOLUTION
}

/// `[b, heads, t, d]` → `[b, t, heads · d]`, the inverse of [`split_heads`] (provided).
pub fn merge_heads(x: &Tensor) -> Result<Tensor> {
    let (b, h, t, d) = x.dims4()?;
    x.transpose(1, 2)?.reshape((b, t, h * d))
}

/// ## multi_head_attention
/// Self-attention exactly as `nn.MultiheadAttention(d, heads, batch_first=True)(x, x, x)`:
/// `x: [b, t, d]`; `in_proj_weight: [3d, d]` (rows: the q, k, v projections in that order, each
/// `[d, d]` in `nn.Linear`'s `[out, in]` layout) and `in_proj_bias: [3d]`; `out_proj_weight:
/// [d, d]`, `out_proj_bias: [d]`. Project, `split_heads`, `scaled_dot_product` per head (the
/// scale is `1/sqrt(d / heads)`), `merge_heads`, project out. `mask: [b, t]` (u8, 1 = token)
/// masks padding *keys*; `causal` also masks the future. Output `[b, t, d]`.
// HINT: PyTorch packs the three projections into one [3d, d] weight in its [out, in] layout: project once with the transposed weight, then cut the result into q, k and v along the features. The padding mask concerns keys only, so it must broadcast over heads and queries.
// HINT: qkv = x.broadcast_matmul(&in_proj_weight.t()?) + in_proj_bias (broadcast_add), [b, t, 3d]; q, k, v = qkv.narrow(2, 0 / d / 2d, d), each through split_heads; the allowed mask starts as ones (1, 1, t, t) u8, or causal_mask(t, dev) reshaped to (1, 1, t, t) when causal, times the key mask reshaped to [b, 1, 1, t] (broadcast_mul), broadcast to [b, heads, t, t]; scaled_dot_product (it scales by the head size from q's last axis); merge_heads; the out projection, also [out, in]: transpose it.
// HINT: `let keys = m.to_dtype(DType::U8)?.reshape((b, 1, 1, t))?; allowed = allowed.broadcast_mul(&keys)?;` then `merge_heads(&scaled_dot_product(&q, &k, &v, Some(&allowed.broadcast_as((b, heads, t, t))?.contiguous()?))?)?.broadcast_matmul(&out_proj_weight.t()?)?.broadcast_add(out_proj_bias)`.
#[allow(clippy::too_many_arguments)]
pub fn multi_head_attention(
    x: &Tensor,
    in_proj_weight: &Tensor,
    in_proj_bias: &Tensor,
    out_proj_weight: &Tensor,
    out_proj_bias: &Tensor,
    heads: usize,
    mask: Option<&Tensor>,
    causal: bool,
) -> Result<Tensor> {
    // BEGIN SOLUTION
    let (b, t, d) = x.dims3()?;
    let qkv = x.broadcast_matmul(&in_proj_weight.t()?)?.broadcast_add(in_proj_bias)?;
    let q = split_heads(&qkv.narrow(2, 0, d)?, heads)?;
    let k = split_heads(&qkv.narrow(2, d, d)?, heads)?;
    let v = split_heads(&qkv.narrow(2, 2 * d, d)?, heads)?;
    let dev = x.device();
    let mut allowed = Tensor::ones((1, 1, t, t), DType::U8, dev)?;
    if causal {
        allowed = causal_mask(t, dev)?.reshape((1, 1, t, t))?;
    }
    if let Some(m) = mask {
        let keys = m.to_dtype(DType::U8)?.reshape((b, 1, 1, t))?;
        allowed = allowed.broadcast_mul(&keys)?;
    }
    let allowed = allowed.broadcast_as((b, heads, t, t))?.contiguous()?;
    let y = merge_heads(&scaled_dot_product(&q, &k, &v, Some(&allowed))?)?;
    y.broadcast_matmul(&out_proj_weight.t()?)?.broadcast_add(out_proj_bias)
    // END SOLUTION
}

/// ## sinusoidal_positions
/// The fixed positional encoding of "Attention is all you need": `[t, d]` (d even) with
/// `PE[p, 2i] = sin(p / 10000^(2i/d))` and `PE[p, 2i+1] = cos(p / 10000^(2i/d))`. Build the
/// `[t, d/2]` angle matrix by broadcasting, take `sin` and `cos`, and interleave them (stack on a
/// new last axis, then reshape). f32 on `dev`.
// HINT: Each pair of features shares one frequency, set by the pair's index: the sine goes to the even feature and the cosine to the odd one right after it, interleaved, not all the sines in one half and the cosines in the other.
// HINT: Positions as a [t, 1] column; inverse frequencies exp(−ln(10000) · 2i / d) for 2i in arange_step(0, d, 2), as a [1, d/2] row; their broadcast product is the [t, d/2] angle matrix; Tensor::stack(&[sin, cos], 2) is [t, d/2, 2] and reshape((t, d)) interleaves them. Compute in f64 and convert to f32 at the end.
// HINT: `let inv = ((i / d as f64)? * -(10000f64.ln()))?.exp()?.unsqueeze(0)?;` (i = Tensor::arange_step(0u32, d as u32, 2, dev) as f64), `let ang = pos.broadcast_mul(&inv)?;` then `Tensor::stack(&[ang.sin()?, ang.cos()?], 2)?.reshape((t, d))?.to_dtype(DType::F32)`.
pub fn sinusoidal_positions(t: usize, d: usize, dev: &Device) -> Result<Tensor> {
    // BEGIN SOLUTION
    let pos = Tensor::arange(0u32, t as u32, dev)?.to_dtype(DType::F64)?.unsqueeze(1)?;
    let i = Tensor::arange_step(0u32, d as u32, 2, dev)?.to_dtype(DType::F64)?;
    let inv = ((i / d as f64)? * -(10000f64.ln()))?.exp()?.unsqueeze(0)?;
    let ang = pos.broadcast_mul(&inv)?;
    Tensor::stack(&[ang.sin()?, ang.cos()?], 2)?.reshape((t, d))?.to_dtype(DType::F32)
    // END SOLUTION
}
