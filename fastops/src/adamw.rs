//! One AdamW update of a parameter in two passes over memory instead of some fifteen candle
//! operations (each a pass, several of them single-threaded scalar affines).

use crate::fused::f32s;
use crate::par::chunks_mut;
use candle_core::{CpuStorage, CustomOp2, CustomOp3, DType, Layout, Result, Shape, Tensor};

/// AdamW's hyperparameters for one step (`t` counts from 1).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamWStep {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    /// The decoupled weight decay applied to this parameter (0 for one that does not decay).
    pub weight_decay: f64,
    pub t: usize,
}

/// Elements per parallel chunk.
const CHUNK: usize = 16384;

/// `(g, m, v)` → `[2, n]`: `β1·m + (1 − β1)·g` and `β2·v + (1 − β2)·g²`.
struct Moments(AdamWStep);

impl CustomOp3 for Moments {
    fn name(&self) -> &'static str {
        "fastops-adamw-moments"
    }

    fn cpu_fwd(&self, s1: &CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout, s3: &CpuStorage, l3: &Layout) -> Result<(CpuStorage, Shape)> {
        let (g, m, v) = (f32s(s1, l1, self.name())?, f32s(s2, l2, self.name())?, f32s(s3, l3, self.name())?);
        let n = g.len();
        if m.len() != n || v.len() != n {
            candle_core::bail!("{}: {n} gradients, {} and {} moments", self.name(), m.len(), v.len())
        }
        let (b1, b2) = (self.0.beta1 as f32, self.0.beta2 as f32);
        let mut out = vec![0f32; 2 * n];
        let (mo, vo) = out.split_at_mut(n);
        chunks_mut(mo, CHUNK, |s, o| {
            for (i, o) in o.iter_mut().enumerate() {
                *o = b1 * m[s + i] + (1.0 - b1) * g[s + i];
            }
        });
        chunks_mut(vo, CHUNK, |s, o| {
            for (i, o) in o.iter_mut().enumerate() {
                *o = b2 * v[s + i] + (1.0 - b2) * g[s + i] * g[s + i];
            }
        });
        Ok((CpuStorage::F32(out), Shape::from((2, n))))
    }
}

/// `(w, [m; v])` → `w·(1 − lr·wd) − lr·(m/c1)/(√(v/c2) + eps)`.
struct Update(AdamWStep);

impl CustomOp2 for Update {
    fn name(&self) -> &'static str {
        "fastops-adamw-update"
    }

    fn cpu_fwd(&self, s1: &CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout) -> Result<(CpuStorage, Shape)> {
        let (w, mv) = (f32s(s1, l1, self.name())?, f32s(s2, l2, self.name())?);
        let n = w.len();
        if mv.len() != 2 * n {
            candle_core::bail!("{}: {n} weights and {} moments", self.name(), mv.len())
        }
        let h = self.0;
        let (c1, c2) = (1.0 - h.beta1.powi(h.t as i32), 1.0 - h.beta2.powi(h.t as i32));
        let (inv_c1, inv_c2, lr, eps, keep) = ((1.0 / c1) as f32, (1.0 / c2) as f32, h.lr as f32, h.eps as f32, (1.0 - h.lr * h.weight_decay) as f32);
        let (m, v) = mv.split_at(n);
        let mut out = vec![0f32; n];
        chunks_mut(&mut out, CHUNK, |s, o| {
            for (i, o) in o.iter_mut().enumerate() {
                let j = s + i;
                *o = w[j] * keep - lr * (m[j] * inv_c1) / ((v[j] * inv_c2).sqrt() + eps);
            }
        });
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }
}

/// One AdamW step (torch's `AdamW`): from the weight `w`, its gradient `g` and the moments
/// `m`, `v`, returns the new `(w, m, v)`:
/// `m ← β1·m + (1 − β1)·g`, `v ← β2·v + (1 − β2)·g²`,
/// `w ← w·(1 − lr·wd) − lr·(m/(1 − β1^t))/(√(v/(1 − β2^t)) + eps)`. No gradient flows through
/// it. CPU f32 only.
pub fn adamw_step(w: &Tensor, g: &Tensor, m: &Tensor, v: &Tensor, h: AdamWStep) -> Result<(Tensor, Tensor, Tensor)> {
    let shape = w.shape();
    if [g, m, v].iter().any(|t| t.shape() != shape) {
        candle_core::bail!("fastops::adamw_step: shapes {:?}, {:?}, {:?}, {:?}", w.dims(), g.dims(), m.dims(), v.dims())
    }
    if ![w, g, m, v].iter().all(|t| t.device().is_cpu() && t.dtype() == DType::F32) {
        candle_core::bail!("fastops::adamw_step: CPU f32 only (see `on_cpu_f32`)")
    }
    let flat = |t: &Tensor| t.contiguous()?.flatten_all()?.detach().contiguous();
    let mv = flat(g)?.apply_op3_no_bwd(&flat(m)?, &flat(v)?, &Moments(h))?;
    let w_new = flat(w)?.apply_op2_no_bwd(&mv, &Update(h))?.reshape(shape)?;
    Ok((w_new, mv.get(0)?.reshape(shape)?, mv.get(1)?.reshape(shape)?))
}
