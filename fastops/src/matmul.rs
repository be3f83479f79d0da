//! Matrix products in gemm on candle's worker threads: the output split into one piece per
//! thread (by rows or by columns, whichever is longer), each piece one single-threaded gemm.
//! candle's own matmul hands gemm to rayon's pool, whose threads then compete for the cores
//! with candle's spinning workers.

use crate::fused::{f32s, SumRows};
use crate::par::{for_ranges, threads, SyncPtr};
use candle_core::{CpuStorage, CustomOp2, CustomOp3, Layout, Result, Shape, Tensor};

/// A dense f32 matrix operand: its start and its row and column strides, in elements.
#[derive(Clone, Copy)]
pub(crate) struct Mat {
    pub(crate) p: *const f32,
    pub(crate) rs: usize,
    pub(crate) cs: usize,
}

impl Mat {
    fn at(&self, r: usize, c: usize) -> *const f32 {
        // Safety (of the callers): (r, c) lies inside the operand.
        unsafe { self.p.add(r * self.rs + c * self.cs) }
    }
}

/// `C (=|+=) s · A·B` for `A: [m, k]`, `B: [k, n]`, `C: [m, n]`, each a pointer with its row
/// and column strides (in elements), single-threaded.
///
/// # Safety
/// Every element addressed by the shapes and strides must lie inside its buffer, and `c` must
/// not overlap `a`, `b` or memory another thread writes.
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn mm(
    m: usize,
    n: usize,
    k: usize,
    c: *mut f32,
    c_rs: usize,
    accumulate: bool,
    a: *const f32,
    a_rs: usize,
    a_cs: usize,
    b: *const f32,
    b_rs: usize,
    b_cs: usize,
    s: f32,
) {
    // SAFETY: the caller's contract above is gemm's: valid operands for their shapes and
    // strides, and an output that overlaps neither input nor another thread's writes.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c,
            1,
            c_rs as isize,
            accumulate,
            a,
            a_cs as isize,
            a_rs as isize,
            b,
            b_cs as isize,
            b_rs as isize,
            1.0,
            s,
            false,
            false,
            false,
            gemm::Parallelism::None,
        )
    }
}

struct SendMat(Mat);
// SAFETY: a Mat is a read-only view (a pointer, shape and strides) of a buffer that outlives the
// parallel loop it is shared with; no thread writes through it.
unsafe impl Send for SendMat {}
// SAFETY: as for Send.
unsafe impl Sync for SendMat {}

/// `dst[m, n] (+)= a[m, k] · b[k, n]`, with `dst`'s rows `dst_rs` apart and its columns
/// adjacent.
///
/// # Safety
/// Every operand must be valid for its shape and strides, and `dst` must not alias `a` or `b`.
pub(crate) unsafe fn gemm_into((m, n, k): (usize, usize, usize), dst: *mut f32, dst_rs: usize, accumulate: bool, a: Mat, b: Mat) {
    // Pieces of at least 64 rows or columns (a multiple of the AVX-512 kernel's width), one per
    // thread, along the longer side.
    let by_rows = m > n;
    let long = if by_rows { m } else { n };
    let piece = long.div_ceil(threads()).next_multiple_of(16).max(64);
    let dst = SyncPtr::new(dst);
    let (a, b) = (SendMat(a), SendMat(b));
    for_ranges(long.div_ceil(piece), |r| {
        let (a, b) = (&a, &b);
        for i in r {
            let (start, len) = (i * piece, piece.min(long - i * piece));
            let (rows, cols, d, lhs, rhs) = if by_rows { (len, n, start * dst_rs, a.0.at(start, 0), b.0.p) } else { (m, len, start, a.0.p, b.0.at(0, start)) };
            // Safety: this piece of dst is this task's alone; the operands are valid by the
            // caller's contract.
            unsafe { mm(rows, cols, k, dst.at(d), dst_rs, accumulate, lhs, a.0.rs, a.0.cs, rhs, b.0.rs, b.0.cs, 1.0) }
        }
    })
}

/// `op(a) · op(b)` for contiguous f32 `a` and `b`, where `op` transposes when the flag says
/// so. An operand of rank above 2 is a matrix of its rows (`[.., c]` as `[rows, c]`), so a
/// linear layer's `[b, t, d]` input needs no reshape (no extra node in the graph, whose
/// backward would cost a pass over the activations); the output keeps an untransposed `a`'s
/// leading dimensions.
#[derive(Clone, Copy, Debug)]
struct MatMul {
    ta: bool,
    tb: bool,
}

impl MatMul {
    /// The operand as `op(x)`: its (rows, cols) and strides.
    fn operand(x: &[f32], l: &Layout, t: bool) -> Result<(usize, usize, Mat)> {
        let dims = l.dims();
        if dims.len() < 2 {
            candle_core::bail!("fastops-matmul: an operand of rank {} (2 or more expected)", dims.len())
        }
        let c = dims[dims.len() - 1];
        let r = dims[..dims.len() - 1].iter().product::<usize>();
        let p = x.as_ptr();
        Ok(if t { (c, r, Mat { p, rs: 1, cs: c }) } else { (r, c, Mat { p, rs: c, cs: 1 }) })
    }

    /// The output's shape: `[m, n]`, or an untransposed `a`'s leading dimensions and `n`.
    fn out_shape(&self, l1: &Layout, m: usize, n: usize) -> Shape {
        if self.ta {
            return Shape::from((m, n));
        }
        let mut dims = l1.dims().to_vec();
        *dims.last_mut().expect("rank checked by operand") = n;
        Shape::from(dims)
    }
}

impl CustomOp2 for MatMul {
    fn name(&self) -> &'static str {
        "fastops-matmul"
    }

    fn cpu_fwd(&self, s1: &CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout) -> Result<(CpuStorage, Shape)> {
        let (x, y) = (f32s(s1, l1, self.name())?, f32s(s2, l2, self.name())?);
        let ((m, k, a), (k2, n, b)) = (Self::operand(x, l1, self.ta)?, Self::operand(y, l2, self.tb)?);
        if k != k2 {
            candle_core::bail!("fastops-matmul: [{m}, {k}] · [{k2}, {n}]")
        }
        let out = if k > 0 && m > 0 && n > 0 {
            // No zeroing first: gemm writes every element of the output without reading it
            // (`accumulate` false).
            let mut out = Vec::<f32>::with_capacity(m * n);
            // Safety: a and b are the contiguous inputs with their own shapes; out has room for
            // m × n, all of which gemm writes before the length is set.
            unsafe {
                gemm_into((m, n, k), out.as_mut_ptr(), n, false, a, b);
                out.set_len(m * n);
            }
            out
        } else {
            vec![0f32; m * n]
        };
        Ok((CpuStorage::F32(out), self.out_shape(l1, m, n)))
    }

    fn bwd(&self, a: &Tensor, b: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let (ta, tb, dc) = (self.ta, self.tb, grad.contiguous()?);
        // C = op(A)·op(B): d op(A) = dC·op(B)ᵀ and d op(B) = op(A)ᵀ·dC, transposed back where
        // op transposes.
        let da = if ta { b.apply_op2(&dc, MatMul { ta: tb, tb: true })? } else { dc.apply_op2(b, MatMul { ta: false, tb: !tb })? };
        let db = if tb { dc.apply_op2(a, MatMul { ta: true, tb: ta })? } else { a.apply_op2(&dc, MatMul { ta: !ta, tb: false })? };
        // A transposed operand of rank above 2 (only in a product made by a backward pass)
        // gets its gradient as a matrix: give it back its own shape.
        let fit = |g: Tensor, x: &Tensor| if g.dims() == x.dims() { Ok(g) } else { g.reshape(x.shape()) };
        Ok((Some(fit(da, a)?), Some(fit(db, b)?)))
    }
}

/// `a · bᵀ` for `a: [.., m, k]` (its leading dimensions taken as more rows) and 2-D
/// `b: [n, k]` (a linear layer's `x · wᵀ` without a bias), with both gradients, each product
/// one gemm split across candle's worker threads. Off the CPU, for another dtype or a `b`
/// that is not 2-D, it is candle's `broadcast_matmul`.
pub(crate) fn matmul_t(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    if !crate::fused::is_cpu_f32(&[a, b]) || a.rank() < 2 || b.rank() != 2 {
        return a.broadcast_matmul(&b.t()?);
    }
    a.contiguous()?.apply_op2(&b.contiguous()?, MatMul { ta: false, tb: true })
}

/// `x · op(w) + b` in one op, for `x: [.., k]`, `b: [n]` and `w: [n, k]` (transposed: a
/// linear layer's weight) or `[k, n]` (GPT-2's `Conv1D`): each output row starts as the bias and
/// gemm adds the product into it. One node in the graph instead of a product and a bias add,
/// whose backward pass costs candle a zeroed gradient and an addition the size of the output
/// (see the book's speed page).
#[derive(Clone, Copy, Debug)]
struct Linear {
    tw: bool,
}

impl CustomOp3 for Linear {
    fn name(&self) -> &'static str {
        "fastops-linear"
    }

    fn cpu_fwd(&self, s1: &CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout, s3: &CpuStorage, l3: &Layout) -> Result<(CpuStorage, Shape)> {
        let name = self.name();
        let (x, w, bias) = (f32s(s1, l1, name)?, f32s(s2, l2, name)?, f32s(s3, l3, name)?);
        let (m, k, a) = MatMul::operand(x, l1, false)?;
        let (k2, n, b) = MatMul::operand(w, l2, self.tw)?;
        if k != k2 || bias.len() != n {
            candle_core::bail!("{name}: [{m}, {k}] · [{k2}, {n}] + [{}]", bias.len())
        }
        let mut out = vec![0f32; m * n];
        if n > 0 {
            crate::par::rows_mut(&mut out, n, |_, row| row.copy_from_slice(bias));
        }
        if m > 0 && n > 0 && k > 0 {
            // Safety: a and b are the contiguous inputs with their own shapes; out is [m, n].
            unsafe { gemm_into((m, n, k), out.as_mut_ptr(), n, true, a, b) }
        }
        Ok((CpuStorage::F32(out), MatMul { ta: false, tb: self.tw }.out_shape(l1, m, n)))
    }

    fn bwd(&self, x: &Tensor, w: &Tensor, _b: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let dy = grad.contiguous()?;
        // y = x·op(w) + b: dx = dy·op(w)ᵀ; d op(w) = xᵀ·dy, so dw = dyᵀ·x when op transposes;
        // db = the sum of dy's rows.
        let dx = dy.apply_op2(w, MatMul { ta: false, tb: !self.tw })?;
        let dw = if self.tw { dy.apply_op2(x, MatMul { ta: true, tb: false })? } else { x.apply_op2(&dy, MatMul { ta: true, tb: false })? };
        let db = dy.apply_op1_no_bwd(&SumRows)?;
        Ok((Some(dx), Some(dw), Some(db)))
    }
}

/// [`Linear`] on contiguous copies of its inputs; off the CPU, for another dtype, or for ranks
/// it does not take, `broadcast_matmul` and `broadcast_add`.
fn plus_bias(x: &Tensor, w: &Tensor, b: &Tensor, tw: bool) -> Result<Tensor> {
    if !crate::fused::is_cpu_f32(&[x, w, b]) || x.rank() < 2 || w.rank() != 2 || b.rank() != 1 {
        let w = if tw { w.t()? } else { w.clone() };
        return x.broadcast_matmul(&w)?.broadcast_add(b);
    }
    x.contiguous()?.apply_op3(&w.contiguous()?, &b.contiguous()?, Linear { tw })
}

/// `x · wᵀ + b` (a linear layer, `w: [n, k]`) as [`Linear`], for `fastops::linear`.
pub(crate) fn linear_with_bias(x: &Tensor, w: &Tensor, b: &Tensor) -> Result<Tensor> {
    plus_bias(x, w, b, true)
}

/// `x · w + b` for `x: [.., k]` (its leading dimensions taken as more rows), 2-D `w: [k, n]`
/// and `b: [n]` (GPT-2's `Conv1D`), with every gradient: one op whose output rows start as the
/// bias, the product added into them by gemm on candle's worker threads. Off the CPU or for
/// another dtype it is `broadcast_matmul` and `broadcast_add`.
pub fn matmul_bias(x: &Tensor, w: &Tensor, b: &Tensor) -> Result<Tensor> {
    plus_bias(x, w, b, false)
}
