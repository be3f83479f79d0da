//! Causal multi-head self-attention as one operation with its backward: from the fused
//! projection `qkv` (queries, keys and values side by side, as GPT-2's `c_attn` makes them) to
//! the heads' outputs already merged, `[.., c]`. In candle's operations this is some twenty
//! nodes per layer (narrows, reshapes, transposes, copies, two batched matmuls, the mask and
//! the softmax), each allocating its output and, in the backward pass, a zeroed gradient it
//! adds into; here the heads are read in place through strides and each (sequence, head) pair
//! runs its three small matrix products in gemm on its own thread.

use crate::fused::{f32s, softmax_grad_in_place, softmax_in_place};
use crate::matmul::mm;
use crate::par::{for_ranges, SyncPtr};
use candle_core::{CpuStorage, CustomOp1, CustomOp2, Layout, Result, Shape, Tensor};

#[derive(Clone, Copy, Debug)]
struct Attention {
    b: usize,
    t: usize,
    h: usize,
}

impl Attention {
    fn c(&self, len: usize) -> Result<usize> {
        let rows = self.b * self.t;
        if rows == 0 || self.h == 0 || !len.is_multiple_of(3 * rows) || !(len / (3 * rows)).is_multiple_of(self.h) {
            candle_core::bail!("fastops attention: {len} elements are not [{} · {}, 3 · c] with c a multiple of {} heads", self.b, self.t, self.h)
        }
        Ok(len / (3 * rows))
    }

    /// The attention weights `P` (`t × t`, zero above the diagonal) of sequence `bi`, head
    /// `hi`, into `p`.
    fn weights(&self, qkv: &[f32], c: usize, bi: usize, hi: usize, p: &mut [f32]) {
        let (t, d) = (self.t, c / self.h);
        let q = qkv[bi * t * 3 * c + hi * d..].as_ptr();
        let k = qkv[bi * t * 3 * c + c + hi * d..].as_ptr();
        // S = Q·Kᵀ / √d: Kᵀ read through K's strides.
        unsafe { mm(t, t, d, p.as_mut_ptr(), t, false, q, 3 * c, 1, k, 1, 3 * c, 1.0 / (d as f32).sqrt()) };
        for (i, row) in p.chunks_mut(t).enumerate() {
            softmax_in_place(&mut row[..=i], 1.0);
            row[i + 1..].fill(0.0);
        }
    }
}

fn out_shape(qkv: &Shape, c: usize) -> Shape {
    let mut dims = qkv.dims().to_vec();
    *dims.last_mut().unwrap() = c;
    Shape::from(dims)
}

impl CustomOp1 for Attention {
    fn name(&self) -> &'static str {
        "fastops-causal-self-attention"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let qkv = f32s(storage, layout, self.name())?;
        let c = self.c(qkv.len())?;
        let (t, d) = (self.t, c / self.h);
        let mut out = vec![0f32; self.b * t * c];
        let y = SyncPtr::new(out.as_mut_ptr());
        for_ranges(self.b * self.h, |range| {
            let mut p = vec![0f32; t * t];
            for bh in range {
                let (bi, hi) = (bh / self.h, bh % self.h);
                self.weights(qkv, c, bi, hi, &mut p);
                let v = qkv[bi * t * 3 * c + 2 * c + hi * d..].as_ptr();
                // Y_h = P·V, written into the head's columns of the merged output (this task's
                // own columns of its own rows).
                unsafe { mm(t, d, t, y.at(bi * t * c + hi * d), c, false, p.as_ptr(), t, 1, v, 3 * c, 1, 1.0) };
            }
        });
        Ok((CpuStorage::F32(out), out_shape(layout.shape(), c)))
    }

    fn bwd(&self, qkv: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        Ok(Some(qkv.apply_op2_no_bwd(&grad.contiguous()?, &AttentionGrad(*self))?))
    }
}

/// `(qkv, dy)` → `dqkv`, recomputing each head's weights.
struct AttentionGrad(Attention);

impl CustomOp2 for AttentionGrad {
    fn name(&self) -> &'static str {
        "fastops-causal-self-attention-grad"
    }

    fn cpu_fwd(&self, s1: &CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout) -> Result<(CpuStorage, Shape)> {
        let a = self.0;
        let (qkv, dy) = (f32s(s1, l1, self.name())?, f32s(s2, l2, self.name())?);
        let c = a.c(qkv.len())?;
        if dy.len() * 3 != qkv.len() {
            candle_core::bail!("{}: a gradient of {} elements for {} inputs", self.name(), dy.len(), qkv.len())
        }
        let (t, d) = (a.t, c / a.h);
        let scale = 1.0 / (d as f32).sqrt();
        let mut out = vec![0f32; qkv.len()];
        let dqkv = SyncPtr::new(out.as_mut_ptr());
        for_ranges(a.b * a.h, |range| {
            let (mut p, mut ds) = (vec![0f32; t * t], vec![0f32; t * t]);
            for bh in range {
                let (bi, hi) = (bh / a.h, bh % a.h);
                a.weights(qkv, c, bi, hi, &mut p);
                let base = bi * t * 3 * c + hi * d;
                let (q, k, v) = (qkv[base..].as_ptr(), qkv[base + c..].as_ptr(), qkv[base + 2 * c..].as_ptr());
                let dyh = dy[bi * t * c + hi * d..].as_ptr();
                // Safety: each (sequence, head) writes only its own columns of its own rows.
                unsafe {
                    // dP = dY·Vᵀ
                    mm(t, t, d, ds.as_mut_ptr(), t, false, dyh, c, 1, v, 1, 3 * c, 1.0);
                    // dS = P ⊙ (dP − rowsum(dP ⊙ P)), times the score scale.
                    for (pr, dr) in p.chunks(t).zip(ds.chunks_mut(t)) {
                        softmax_grad_in_place(pr, dr, scale);
                    }
                    // dQ = dS·K, dK = dSᵀ·Q, dV = Pᵀ·dY.
                    mm(t, d, t, dqkv.at(base), 3 * c, false, ds.as_ptr(), t, 1, k, 3 * c, 1, 1.0);
                    mm(t, d, t, dqkv.at(base + c), 3 * c, false, ds.as_ptr(), 1, t, q, 3 * c, 1, 1.0);
                    mm(t, d, t, dqkv.at(base + 2 * c), 3 * c, false, p.as_ptr(), 1, t, dyh, c, 1, 1.0);
                }
            }
        });
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }
}

/// Causal multi-head self-attention from the fused projection `qkv` — `[b, t, 3c]`, or
/// `[b·t, 3c]` with `b` and `t` given — whose last dimension holds the queries, keys and values
/// side by side, each `n_head` heads of `c / n_head`: per sequence and head,
/// `softmax(Q·Kᵀ/√d + causal mask)·V`, the heads merged back into `c` columns. The output has
/// `qkv`'s shape with `c` for `3c`. Its gradient comes in one pass too. CPU f32 only.
pub fn causal_self_attention(qkv: &Tensor, b: usize, t: usize, n_head: usize) -> Result<Tensor> {
    let a = Attention { b, t, h: n_head };
    a.c(qkv.elem_count())?; // the shape check
    if !(qkv.device().is_cpu() && qkv.dtype() == candle_core::DType::F32) {
        candle_core::bail!("fastops::causal_self_attention: CPU f32 only (see `on_cpu_f32`)")
    }
    qkv.contiguous()?.apply_op1(a)
}
