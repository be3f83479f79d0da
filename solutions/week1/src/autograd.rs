//! # Day: autograd on tensors
//!
//! A tiny reverse-mode automatic differentiation engine over candle tensors, written without
//! candle's own autograd. A forward computation is recorded as a graph of nodes (each holds its
//! value and the operation that made it from its parents); `backward` walks the graph from the
//! output back to the inputs and applies, for every operation, its **backward function**: given
//! the gradient of the final result with respect to the operation's output (`grad_out`, same
//! shape as the output), it returns the gradient with respect to each input (same shape as that
//! input). That is a vector-Jacobian product; no Jacobian is ever built.
//!
//! Rules for the whole day: no `Var`, no `.backward(` — candle's autograd is what you are
//! rebuilding (the grader checks your source). Values are f32; make new tensors on the device
//! of the inputs. Loop over nodes in Rust, never over tensor elements.
//!
//! Broadcasting is the thread through the day: when a forward op broadcast an input of shape
//! `[3, 1]` to `[2, 3, 4]`, every copy of an input element contributed to the output, so its
//! gradient is the **sum** of the output gradients over the copies. `unbroadcast` does that sum
//! and every binary op's backward ends with it.
// STUB: #![allow(unused_variables, unused_imports, unused_mut)] // remove once you have solved a few

use candle_core::{Result, Tensor};

/// ## unbroadcast
/// Sum `grad` (the gradient of a broadcast result) back down to `shape`, the shape of the input
/// before broadcasting. Broadcasting (numpy / PyTorch rules) first prepends size-1 axes until
/// the ranks match, then stretches size-1 axes; undo it in reverse: sum over the leading
/// `grad.rank() - shape.len()` axes (dropping them), then sum with keepdim over every axis where
/// `shape` has 1 and `grad` does not. `shape` may be `[]` (a scalar: sum everything).
/// Example: `grad: [2, 3, 4]`, `shape = [3, 1]` → sum over axis 0 (→ `[3, 4]`), then over axis 1
/// with keepdim → `[3, 1]`. When `grad` already has `shape`, return it unchanged.
// HINT: Broadcasting copied each input element many times, and the gradient of a copied element is the sum over its copies. Undo the two steps of broadcasting in reverse: first the axes that were prepended, then the size-1 axes that were stretched.
// HINT: extra = grad.rank() − shape.len(); sum over axes 0..extra (sum drops them); then collect the axes i where shape[i] is 1 but the gradient's size there is not, and sum_keepdim over them so they stay as size 1. A scalar shape [] sums everything; a gradient already of the right shape comes back unchanged.
// HINT: if extra > 0 { g = g.sum((0..extra).collect::<Vec<_>>())? } let ones: Vec<usize> = shape.iter().enumerate().filter(|&(i, &s)| s == 1 && g.dims()[i] != 1).map(|(i, _)| i).collect(); if !ones.is_empty() { g = g.sum_keepdim(ones)? }
pub fn unbroadcast(grad: &Tensor, shape: &[usize]) -> Result<Tensor> {
    // BEGIN SOLUTION
    let extra = grad.rank().checked_sub(shape.len()).ok_or_else(|| candle_core::Error::Msg(format!("cannot unbroadcast {:?} to {shape:?}", grad.dims())))?;
    let mut g = grad.clone();
    if extra > 0 {
        g = g.sum((0..extra).collect::<Vec<_>>())?;
    }
    let ones: Vec<usize> = shape.iter().enumerate().filter(|&(i, &s)| s == 1 && g.dims()[i] != 1).map(|(i, _)| i).collect();
    if !ones.is_empty() {
        g = g.sum_keepdim(ones)?;
    }
    Ok(g)
    // END SOLUTION
}

/// ## log_back
/// Backward of `y = ln(x)` (element-wise): `dL/dx = grad_out / x`. Shapes: all equal.
// HINT: The derivative of the natural log at x is one over x; the chain rule multiplies it by the incoming gradient.
// HINT: dL/dx = grad_out · (1/x), which is grad_out divided by x element-wise; the shapes are equal, so no broadcasting and no unbroadcast.
// HINT: grad_out / x
pub fn log_back(grad_out: &Tensor, x: &Tensor) -> Result<Tensor> {
    // BEGIN SOLUTION
    grad_out / x
    // END SOLUTION
}

/// ## exp_back
/// Backward of `y = exp(x)` (element-wise), given the forward *output* `y` (not `x`): since
/// `d exp(x)/dx = exp(x)`, `dL/dx = grad_out · y`. Reusing the saved output instead of
/// recomputing `exp` is what real frameworks do. Shapes: all equal.
// HINT: exp is its own derivative, and you are handed the forward output, which already is exp(x): do not exponentiate it again.
// HINT: Multiply the incoming gradient by the saved output, element-wise; the shapes are equal.
// HINT: grad_out * y
pub fn exp_back(grad_out: &Tensor, y: &Tensor) -> Result<Tensor> {
    // BEGIN SOLUTION
    grad_out * y
    // END SOLUTION
}

/// ## add_back
/// Backward of `out = a + b` with broadcasting (`a.broadcast_add(&b)`): each input receives
/// `grad_out`, unbroadcast to its own shape. Returns `(dL/da, dL/db)` with shapes
/// `a_shape` and `b_shape`.
/// Example: `a: [2, 3]`, `b: [3]`, `grad_out: [2, 3]` → `dL/da = grad_out`,
/// `dL/db = grad_out` summed over axis 0.
// HINT: An addition passes its gradient through unchanged to both inputs; the only work is undoing the broadcast, separately for each input.
// HINT: Call your unbroadcast on grad_out twice, once with a_shape and once with b_shape, and return the pair in that order.
// HINT: Ok((unbroadcast(grad_out, a_shape)?, unbroadcast(grad_out, b_shape)?))
pub fn add_back(grad_out: &Tensor, a_shape: &[usize], b_shape: &[usize]) -> Result<(Tensor, Tensor)> {
    // BEGIN SOLUTION
    Ok((unbroadcast(grad_out, a_shape)?, unbroadcast(grad_out, b_shape)?))
    // END SOLUTION
}

/// ## mul_back
/// Backward of `out = a · b` (element-wise, with broadcasting: `a.broadcast_mul(&b)`):
/// `dL/da = unbroadcast(grad_out · b, shape of a)` and `dL/db = unbroadcast(grad_out · a, shape of b)`
/// (the products broadcast to the output's shape). Returns `(dL/da, dL/db)`.
// HINT: For a product, each input's gradient is the incoming gradient times the other input; then undo the broadcast for each input.
// HINT: dL/da = grad_out broadcast_mul b, unbroadcast to a's dims; dL/db = grad_out broadcast_mul a, unbroadcast to b's dims. The products have the output's shape, which is why the unbroadcast is needed.
// HINT: let ga = unbroadcast(&grad_out.broadcast_mul(b)?, a.dims())?; let gb = unbroadcast(&grad_out.broadcast_mul(a)?, b.dims())?;
pub fn mul_back(grad_out: &Tensor, a: &Tensor, b: &Tensor) -> Result<(Tensor, Tensor)> {
    // BEGIN SOLUTION
    let ga = unbroadcast(&grad_out.broadcast_mul(b)?, a.dims())?;
    let gb = unbroadcast(&grad_out.broadcast_mul(a)?, b.dims())?;
    Ok((ga, gb))
    // END SOLUTION
}

/// ## matmul_back
/// Backward of `out = a.broadcast_matmul(&b)`, `a: [..., m, k]`, `b: [..., k, n]` (rank ≥ 2;
/// batch axes broadcast as in `torch.matmul`), `out: [..., m, n]`:
/// `dL/da = grad_out · bᵀ` and `dL/db = aᵀ · grad_out` (transposes of the last two axes,
/// batched matmuls), each unbroadcast to its input's shape, because an `a: [m, k]` used against
/// a batch of `b`s contributed to every batch element.
/// Example: `a: [3, 4]`, `b: [2, 4, 5]`, `grad_out: [2, 3, 5]` → `grad_out · bᵀ: [2, 3, 4]`,
/// summed over the batch → `[3, 4]`.
// HINT: Let the shapes guide you: the gradient for a must be [m, k] and is made from grad_out [m, n] and b [k, n], and only one product of those has that shape. A matrix used against a whole batch then collects gradient from every batch element.
// HINT: dL/da = grad_out · bᵀ and dL/db = aᵀ · grad_out, both with broadcast_matmul, where t() swaps the last two axes; the results carry the broadcast batch shape, so unbroadcast each to its input's dims.
// HINT: let ga = grad_out.broadcast_matmul(&b.t()?)?; let gb = a.t()?.broadcast_matmul(grad_out)?; then unbroadcast(&ga, a.dims())? and unbroadcast(&gb, b.dims())?
pub fn matmul_back(grad_out: &Tensor, a: &Tensor, b: &Tensor) -> Result<(Tensor, Tensor)> {
    // BEGIN SOLUTION
    let ga = grad_out.broadcast_matmul(&b.t()?)?;
    let gb = a.t()?.broadcast_matmul(grad_out)?;
    Ok((unbroadcast(&ga, a.dims())?, unbroadcast(&gb, b.dims())?))
    // END SOLUTION
}

/// ## sum_back
/// Backward of `out = x.sum(dims)` (or `x.sum_keepdim(dims)` when `keepdim`), where `x` has
/// shape `x_shape` and `dims` lists distinct axes in any order: every element of `x` that was
/// summed into an output element receives that element's gradient, so `dL/dx` is `grad_out`
/// copied along the summed axes. Without keepdim the summed axes are gone from `grad_out`:
/// put them back as size-1 axes (`unsqueeze`, in increasing axis order), then `broadcast_as`.
/// Example: `x: [2, 3, 4]`, `dims = [2, 0]`, no keepdim → `grad_out: [3]` becomes `[1, 3, 1]`,
/// then `[2, 3, 4]`.
// HINT: Every summed element contributed to its output element with weight one, so its gradient is that output's gradient, copied back along the summed axes.
// HINT: Without keepdim the summed axes are missing from grad_out: sort dims and unsqueeze each axis in increasing order (each insertion then lands at its own index), which restores the input's rank with 1s there; then broadcast_as(x_shape) and contiguous. With keepdim, broadcast_as straight away.
// HINT: let mut d = dims.to_vec(); d.sort_unstable(); for axis in d { g = g.unsqueeze(axis)? } then g.broadcast_as(x_shape)?.contiguous()
pub fn sum_back(grad_out: &Tensor, x_shape: &[usize], dims: &[usize], keepdim: bool) -> Result<Tensor> {
    // BEGIN SOLUTION
    let mut g = grad_out.clone();
    if !keepdim {
        let mut d = dims.to_vec();
        d.sort_unstable();
        for axis in d {
            g = g.unsqueeze(axis)?;
        }
    }
    g.broadcast_as(x_shape)?.contiguous()
    // END SOLUTION
}

/// ## index_back
/// Backward of `out = x.index_select(indices, 0)`: rows of `x: x_shape` (first axis, size
/// `x_shape[0]`) picked by the i64 vector `indices: [n]`, so `out` and `grad_out` are
/// `[n, x_shape[1..]...]`. Row `i` of `dL/dx` is the sum of the rows of `grad_out` whose index
/// is `i` — an index that appears twice receives both gradients, and an unpicked row gets zero.
/// Returns a tensor of shape `x_shape`. `index_add` is allowed (it accumulates repeats).
/// Example: `x_shape = [3]`, `indices = [2, 0, 2]`, `grad_out = [1, 10, 100]` → `[10, 0, 101]`.
// HINT: Each output row came from one row of x, so its gradient flows back to that row: a row picked twice receives both gradients and a row never picked receives zero. That is an accumulating scatter.
// HINT: Start from zeros of x_shape (grad_out's dtype and device) and index_add grad_out into it along dim 0 at indices: index_add adds, so repeated indices accumulate.
// HINT: Tensor::zeros(x_shape, grad_out.dtype(), grad_out.device())?.index_add(indices, grad_out, 0)
pub fn index_back(grad_out: &Tensor, indices: &Tensor, x_shape: &[usize]) -> Result<Tensor> {
    // BEGIN SOLUTION
    Tensor::zeros(x_shape, grad_out.dtype(), grad_out.device())?.index_add(indices, grad_out, 0)
    // END SOLUTION
}

/// ## maximum_back
/// Backward of `out = a.broadcast_maximum(&b)` (element-wise maximum with broadcasting). The
/// larger input gets the gradient; on a **tie** PyTorch splits it: each side gets
/// `grad_out / 2` (match that). Compare the inputs broadcast to the output shape, build the
/// weights (`1` where a > b, `0.5` where equal, `0` otherwise for `a`; the mirror for `b`),
/// multiply by `grad_out`, unbroadcast each to its input's shape. Returns `(dL/da, dL/db)`.
/// Example: `a = [1, 5, 2]`, `b = [3, 5, 0]`, `grad_out = [1, 1, 1]` → `([0, 0.5, 1], [1, 0.5, 0])`.
// HINT: The gradient goes to whichever input was larger, and on a tie PyTorch gives each side half: write both as weights of 0, 0.5 or 1, then undo the broadcast.
// HINT: broadcast_as a and b to grad_out's dims; gt, lt and eq give u8 masks, so convert them to grad_out's dtype. weight_a = (a > b) + 0.5·(a == b), weight_b = (a < b) + 0.5·(a == b); multiply each by grad_out and unbroadcast it to its input's dims.
// HINT: let eq = (ab.eq(&bb)?.to_dtype(dt)? * 0.5)?; let wa = (ab.gt(&bb)?.to_dtype(dt)? + &eq)?; let wb = (ab.lt(&bb)?.to_dtype(dt)? + &eq)?;
pub fn maximum_back(grad_out: &Tensor, a: &Tensor, b: &Tensor) -> Result<(Tensor, Tensor)> {
    // BEGIN SOLUTION
    let shape = grad_out.dims();
    let (ab, bb) = (a.broadcast_as(shape)?, b.broadcast_as(shape)?);
    let dt = grad_out.dtype();
    let eq = (ab.eq(&bb)?.to_dtype(dt)? * 0.5)?;
    let wa = (ab.gt(&bb)?.to_dtype(dt)? + &eq)?;
    let wb = (ab.lt(&bb)?.to_dtype(dt)? + &eq)?;
    Ok((unbroadcast(&(grad_out * wa)?, a.dims())?, unbroadcast(&(grad_out * wb)?, b.dims())?))
    // END SOLUTION
}

/// ## relu_back
/// Backward of `y = relu(x) = max(x, 0)`: `dL/dx = grad_out` where `x > 0` and `0` elsewhere —
/// **including `x = 0`**, PyTorch's choice (the derivative is undefined there; candle's own
/// autograd picks 1 instead, so the two differ exactly at zero). Shapes: all equal.
// HINT: The gradient passes where the input was positive and stops elsewhere, and at exactly zero PyTorch passes nothing: the comparison must be strict.
// HINT: Build the mask x > 0 (strict: gt, not ge), convert it from u8 to grad_out's dtype, and multiply grad_out by it.
// HINT: grad_out * x.gt(0.0)?.to_dtype(grad_out.dtype())?
pub fn relu_back(grad_out: &Tensor, x: &Tensor) -> Result<Tensor> {
    // BEGIN SOLUTION
    grad_out * x.gt(0.0)?.to_dtype(grad_out.dtype())?
    // END SOLUTION
}

/// ## topological_sort
/// The evaluation order of the nodes `root` depends on. `parents[i]` lists the nodes node `i`
/// was computed from (it may list the same parent twice, as in `x · x`; leaves have none).
/// Return every node reachable from `root` by following parent links (including `root`) exactly
/// once, ordered so that **every node comes after all of its parents** — leaves first, `root`
/// last. Nodes that `root` does not depend on are left out. The graph has no cycles, but node
/// numbers need not be in any order (a parent may have a larger number than its child).
/// One way: depth-first search from `root`; append a node after all its parents are appended
/// (post-order), skipping nodes already visited. Graphs in the checks have up to 2000 nodes in a
/// chain: recursion is fine, an explicit stack is more robust.
/// Example: `parents = [[], [0], [0, 1], []]`, `root = 2` → `[0, 1, 2]` (node 3 is unreachable).
// HINT: A node may be emitted only after everything it was computed from: a depth-first search that emits each node after its parents (post-order), and never visits a node twice, gives exactly that order.
// HINT: Keep a seen vector and the output list. From root, handle all of a node's unseen parents before pushing the node itself; skip nodes already seen (a parent may be listed twice, as in x · x). The checks include a 2000-node chain: recursion works, an explicit stack of (node, expanded) pairs is safer.
// HINT: while let Some((n, expanded)) = stack.pop() { if expanded { order.push(n); continue } if seen[n] { continue } seen[n] = true; stack.push((n, true)); for &p in parents[n].iter().rev() { if !seen[p] { stack.push((p, false)) } } }
pub fn topological_sort(parents: &[Vec<usize>], root: usize) -> Vec<usize> {
    // BEGIN SOLUTION
    let mut order = Vec::new();
    let mut seen = vec![false; parents.len()];
    // (node, parents pushed yet?)
    let mut stack = vec![(root, false)];
    while let Some((n, expanded)) = stack.pop() {
        if expanded {
            order.push(n);
            continue;
        }
        if seen[n] {
            continue;
        }
        seen[n] = true;
        stack.push((n, true));
        for &p in parents[n].iter().rev() {
            if !seen[p] {
                stack.push((p, false));
            }
        }
    }
    order
    // END SOLUTION
}

/// How a node was computed: the operation and its parents (indices of earlier nodes).
#[derive(Clone, Debug)]
pub enum Op {
    /// An input: nothing to propagate further.
    Leaf,
    Log(usize),
    Exp(usize),
    /// `a.broadcast_add(b)`
    Add(usize, usize),
    /// `a.broadcast_mul(b)`
    Mul(usize, usize),
    /// `a.broadcast_matmul(b)`
    Matmul(usize, usize),
    /// `x.sum(dims)` or `x.sum_keepdim(dims)`
    Sum {
        x: usize,
        dims: Vec<usize>,
        keepdim: bool,
    },
    /// `x.index_select(indices, 0)`, `indices` an i64 vector
    Index {
        x: usize,
        indices: Tensor,
    },
    /// `a.broadcast_maximum(b)`
    Maximum(usize, usize),
    Relu(usize),
}

impl Op {
    /// The parents, in argument order (a parent used twice appears twice).
    pub fn parents(&self) -> Vec<usize> {
        match self {
            Op::Leaf => vec![],
            Op::Log(x) | Op::Exp(x) | Op::Relu(x) | Op::Sum { x, .. } | Op::Index { x, .. } => vec![*x],
            Op::Add(a, b) | Op::Mul(a, b) | Op::Matmul(a, b) | Op::Maximum(a, b) => vec![*a, *b],
        }
    }
}

/// One recorded value and how it was made.
#[derive(Clone, Debug)]
pub struct Node {
    pub value: Tensor,
    pub op: Op,
}

/// A computation graph kept as an **arena**: the graph owns every node in one `Vec`, and nodes
/// refer to their parents by index (`usize`), not by pointer. In Rust this sidesteps shared
/// ownership of a DAG (a node used by two children would need `Rc<RefCell<…>>` and care against
/// cycles): the `Vec` is the single owner, indices are plain `Copy` data, gradients live in a
/// second `Vec` indexed the same way, and the borrow checker stays out of the way. The builder
/// methods run the forward operation with candle and return the new node's index.
#[derive(Clone, Debug, Default)]
pub struct Graph {
    pub nodes: Vec<Node>,
}

impl Graph {
    pub fn new() -> Graph {
        Graph { nodes: Vec::new() }
    }
    fn push(&mut self, value: Tensor, op: Op) -> usize {
        self.nodes.push(Node { value, op });
        self.nodes.len() - 1
    }
    pub fn value(&self, id: usize) -> &Tensor {
        &self.nodes[id].value
    }
    pub fn leaf(&mut self, value: Tensor) -> usize {
        self.push(value, Op::Leaf)
    }
    pub fn log(&mut self, x: usize) -> Result<usize> {
        let v = self.value(x).log()?;
        Ok(self.push(v, Op::Log(x)))
    }
    pub fn exp(&mut self, x: usize) -> Result<usize> {
        let v = self.value(x).exp()?;
        Ok(self.push(v, Op::Exp(x)))
    }
    pub fn add(&mut self, a: usize, b: usize) -> Result<usize> {
        let v = self.value(a).broadcast_add(self.value(b))?;
        Ok(self.push(v, Op::Add(a, b)))
    }
    pub fn mul(&mut self, a: usize, b: usize) -> Result<usize> {
        let v = self.value(a).broadcast_mul(self.value(b))?;
        Ok(self.push(v, Op::Mul(a, b)))
    }
    pub fn matmul(&mut self, a: usize, b: usize) -> Result<usize> {
        let v = self.value(a).broadcast_matmul(self.value(b))?;
        Ok(self.push(v, Op::Matmul(a, b)))
    }
    pub fn sum(&mut self, x: usize, dims: &[usize], keepdim: bool) -> Result<usize> {
        let v = if keepdim { self.value(x).sum_keepdim(dims.to_vec())? } else { self.value(x).sum(dims.to_vec())? };
        Ok(self.push(v, Op::Sum { x, dims: dims.to_vec(), keepdim }))
    }
    pub fn index(&mut self, x: usize, indices: &Tensor) -> Result<usize> {
        let v = self.value(x).index_select(indices, 0)?;
        Ok(self.push(v, Op::Index { x, indices: indices.clone() }))
    }
    pub fn maximum(&mut self, a: usize, b: usize) -> Result<usize> {
        let v = self.value(a).broadcast_maximum(self.value(b))?;
        Ok(self.push(v, Op::Maximum(a, b)))
    }
    pub fn relu(&mut self, x: usize) -> Result<usize> {
        let v = self.value(x).relu()?;
        Ok(self.push(v, Op::Relu(x)))
    }
    /// `parents()[i]` = the parents of node `i` (the input of `topological_sort`).
    pub fn parents(&self) -> Vec<Vec<usize>> {
        self.nodes.iter().map(|n| n.op.parents()).collect()
    }

    /// ## backward
    /// Reverse-mode differentiation from node `root`: returns one entry per node of the graph,
    /// `Some(dL/d node)` (same shape as the node's value) for every node `root` depends on,
    /// with `L` = the sum of all elements of `root` (so the seed, the gradient of `root` with
    /// respect to itself, is a tensor of ones shaped like `root`'s value), and `None` for nodes
    /// `root` does not depend on.
    /// Recipe: `topological_sort(&self.parents(), root)`, then walk that order **backwards**
    /// (root first): by then a node has received the gradient from every child, so it is
    /// complete; hand it to the node's backward function (`log_back`, `mul_back`, …) and
    /// **add** each result into the parent's entry (`None` → `Some(g)`, `Some(acc)` →
    /// `Some(acc + g)`): a node used by two children, or twice by one (`x · x`), sums the
    /// contributions. Leaves have nothing to propagate. This uses every function above: do
    /// them first (a `todo!()` reached in one of them reports this exercise as not started).
    // HINT: Visit the nodes in reverse topological order, root first: when you reach a node, every child has already added its share, so its gradient is complete and can be passed on to its parents.
    // HINT: grads = vec![None; number of nodes]; seed grads[root] with ones_like of the root's value; for id in topological_sort(&self.parents(), root), reversed: take grads[id] (skip None), match the node's op, call its backward function (Exp passes the node's own value as y), and add each result into its parent's entry.
    // HINT: for (p, gp) in contributions { grads[p] = Some(match grads[p].take() { None => gp, Some(acc) => (acc + gp)? }) } — adding, never overwriting, is what makes x · x and shared nodes right.
    pub fn backward(&self, root: usize) -> Result<Vec<Option<Tensor>>> {
        // BEGIN SOLUTION
        let mut grads: Vec<Option<Tensor>> = vec![None; self.nodes.len()];
        grads[root] = Some(self.value(root).ones_like()?);
        for id in topological_sort(&self.parents(), root).into_iter().rev() {
            let Some(g) = grads[id].clone() else { continue };
            let v = |i: usize| self.value(i);
            let contributions: Vec<(usize, Tensor)> = match &self.nodes[id].op {
                Op::Leaf => vec![],
                Op::Log(x) => vec![(*x, log_back(&g, v(*x))?)],
                Op::Exp(x) => vec![(*x, exp_back(&g, v(id))?)],
                Op::Relu(x) => vec![(*x, relu_back(&g, v(*x))?)],
                Op::Add(a, b) => {
                    let (ga, gb) = add_back(&g, v(*a).dims(), v(*b).dims())?;
                    vec![(*a, ga), (*b, gb)]
                }
                Op::Mul(a, b) => {
                    let (ga, gb) = mul_back(&g, v(*a), v(*b))?;
                    vec![(*a, ga), (*b, gb)]
                }
                Op::Matmul(a, b) => {
                    let (ga, gb) = matmul_back(&g, v(*a), v(*b))?;
                    vec![(*a, ga), (*b, gb)]
                }
                Op::Maximum(a, b) => {
                    let (ga, gb) = maximum_back(&g, v(*a), v(*b))?;
                    vec![(*a, ga), (*b, gb)]
                }
                Op::Sum { x, dims, keepdim } => vec![(*x, sum_back(&g, v(*x).dims(), dims, *keepdim)?)],
                Op::Index { x, indices } => vec![(*x, index_back(&g, indices, v(*x).dims())?)],
            };
            for (p, gp) in contributions {
                grads[p] = Some(match grads[p].take() {
                    None => gp,
                    Some(acc) => (acc + gp)?,
                });
            }
        }
        Ok(grads)
        // END SOLUTION
    }
}
