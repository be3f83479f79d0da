//! # Day 1: micrograd
//!
//! A scalar automatic-differentiation engine. Every number you compute is a [`Value`]: it
//! remembers its data, the operation that made it and the values it was made from (its
//! children), so after a forward computation the whole expression is a graph. `backward()` walks
//! that graph from the output back to the leaves and fills in `grad` = ∂output/∂node for every
//! node, by the chain rule.
//!
//! **Ownership.** A node can be used by many later nodes (`b = a * a + a` uses `a` three times),
//! and `backward()` has to write into the `grad` of every node it reaches. In Rust that means
//! shared ownership plus interior mutability: a `Value` is an `Rc<RefCell<Node>>`. Cloning a
//! `Value` clones the pointer (the same node), `borrow()` reads it, `borrow_mut()` changes it.
//! The other common design is an arena: all nodes in one `Vec<Node>` and children as indices,
//! which is faster and has no reference counting, but needs the arena passed to every
//! operation. The graph has no cycles (children are always older than their parents), so `Rc`
//! never leaks here. Caution: never hold a `borrow_mut()` of a node while borrowing it again
//! (e.g. in `a.mul(&a)`): `RefCell` panics on that at run time.
//!
//! Everything is `f64`: the grader compares your values and gradients with PyTorch's autograd in
//! float64 on random expression graphs, to 1e-9.
// STUB: #![allow(unused_variables, unused_imports, dead_code)] // remove once you have solved a few

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::cell::RefCell;
use std::collections::HashSet;
use std::rc::Rc;

/// The operation that produced a node (`Leaf` for inputs and parameters).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Op {
    Leaf,
    Add,
    Sub,
    Mul,
    Div,
    /// `x^k` for a constant exponent `k`.
    Pow(f64),
    Exp,
    Tanh,
    Relu,
}

/// One node of the graph.
pub struct Node {
    pub data: f64,
    /// ∂output/∂this node, filled by `backward()` (0 until then).
    pub grad: f64,
    pub op: Op,
    /// The operands, in order (`a - b` has children `[a, b]`).
    pub children: Vec<Value>,
}

/// A shared handle on a node: cloning it does not copy the node.
#[derive(Clone)]
pub struct Value(pub Rc<RefCell<Node>>);

impl Value {
    /// A leaf (an input or a parameter).
    pub fn new(data: f64) -> Value {
        Value::from_op(data, Op::Leaf, vec![])
    }
    /// A node made by `op` from `children` (use this in the operations below).
    pub fn from_op(data: f64, op: Op, children: Vec<Value>) -> Value {
        Value(Rc::new(RefCell::new(Node { data, grad: 0.0, op, children })))
    }
    pub fn data(&self) -> f64 {
        self.0.borrow().data
    }
    pub fn grad(&self) -> f64 {
        self.0.borrow().grad
    }
    pub fn set_data(&self, x: f64) {
        self.0.borrow_mut().data = x;
    }
    pub fn zero_grad(&self) {
        self.0.borrow_mut().grad = 0.0;
    }
    pub fn op(&self) -> Op {
        self.0.borrow().op
    }
    /// Whether two handles point at the same node.
    pub fn same(&self, other: &Value) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }

    /// ## ops
    /// `self + other` as a new node with `Op::Add` and children `[self, other]`. The same for
    /// `sub`, `mul`, `div` (`Op::Div`, children `[self, other]`), `pow` (`Op::Pow(k)`, child
    /// `[self]`), `exp`, `tanh` and `relu` (`max(0, x)`): compute the data, record op and
    /// children with [`Value::from_op`]. Example: `Value::new(2.0).pow(3.0).data() == 8.0`.
    // HINT: Each operation computes its number from the operands' numbers and records how it was made (which operation, and the operands it read), so that backward can walk back through it later; a result recorded as a leaf, or without its operands, cuts the graph.
    // HINT: Read the operands' numbers with data(), compute the result (+, −, ×, ÷, powf, exp, tanh, max with 0.0) and hand it to Value::from_op with the matching Op variant and the operands as children: [self, other] for add, sub, mul and div, [self] for pow, exp, tanh and relu. Cloning a Value copies the handle, not the node.
    // HINT: Value::from_op(self.data() + other.data(), Op::Add, vec![self.clone(), other.clone()]); the one-operand ones look like Value::from_op(self.data().powf(k), Op::Pow(k), vec![self.clone()]).
    pub fn add(&self, other: &Value) -> Value {
        // BEGIN SOLUTION
        Value::from_op(self.data() + other.data(), Op::Add, vec![self.clone(), other.clone()])
        // END SOLUTION
    }
    /// `self - other` (see [`Value::add`]).
    pub fn sub(&self, other: &Value) -> Value {
        // BEGIN SOLUTION
        Value::from_op(self.data() - other.data(), Op::Sub, vec![self.clone(), other.clone()])
        // END SOLUTION
    }
    /// `self * other` (see [`Value::add`]).
    pub fn mul(&self, other: &Value) -> Value {
        // BEGIN SOLUTION
        Value::from_op(self.data() * other.data(), Op::Mul, vec![self.clone(), other.clone()])
        // END SOLUTION
    }
    /// `self / other` (see [`Value::add`]).
    pub fn div(&self, other: &Value) -> Value {
        // BEGIN SOLUTION
        Value::from_op(self.data() / other.data(), Op::Div, vec![self.clone(), other.clone()])
        // END SOLUTION
    }
    /// `self^k` for a constant `k` (`f64::powf`).
    pub fn pow(&self, k: f64) -> Value {
        // BEGIN SOLUTION
        Value::from_op(self.data().powf(k), Op::Pow(k), vec![self.clone()])
        // END SOLUTION
    }
    /// `e^self`.
    pub fn exp(&self) -> Value {
        // BEGIN SOLUTION
        Value::from_op(self.data().exp(), Op::Exp, vec![self.clone()])
        // END SOLUTION
    }
    /// `tanh(self)`.
    pub fn tanh(&self) -> Value {
        // BEGIN SOLUTION
        Value::from_op(self.data().tanh(), Op::Tanh, vec![self.clone()])
        // END SOLUTION
    }
    /// `max(0, self)`.
    pub fn relu(&self) -> Value {
        // BEGIN SOLUTION
        Value::from_op(self.data().max(0.0), Op::Relu, vec![self.clone()])
        // END SOLUTION
    }

    // HINT(reuse): Gradients from different uses of one node must add up, never overwrite each other; and a second call to backward must add only what that call sends, not pass on again what the first call left in the inner nodes.
    // HINT(reuse): a + a gives a the gradient 2, a * a gives 2a: each use adds its share (+=). Copy the children's data into locals before borrow_mut: in a * a both children are the same RefCell. For repeated calls, set every node's current grad aside and zero it before the pass, run the pass from grad 1 at the output, then add the saved values back.
    // HINT(reuse): let before: Vec<f64> = order.iter().map(|v| v.grad()).collect(); zero every node in order, run the pass, then for (v, b) in order.iter().zip(before) { v.0.borrow_mut().grad += b; }
    /// ## backward
    /// Fill `grad` of every node reachable from `self` with ∂self/∂node.
    ///
    /// 1. Order the nodes topologically (a depth-first search that pushes a node after all its
    ///    children; remember visited nodes by `Rc::as_ptr`, since a node can be reached twice).
    /// 2. Put every node's `grad` aside and start this call from 0, set `self.grad = 1`, then
    ///    visit the nodes in reverse order: each node adds its share to its children's grads:
    ///    `Add`: `g`, `g`; `Sub`: `g`, `-g`; `Mul`: `g·b`, `g·a`; `Div`: `g/b`, `-g·a/b²`;
    ///    `Pow(k)`: `g·k·x^(k-1)`; `Exp`: `g·out`; `Tanh`: `g·(1 - out²)`; `Relu`: `g` where
    ///    `x > 0`, else 0.
    /// 3. Add back what each node held before the call.
    ///
    /// **Add, never assign** (`+=`): a node used twice gets a gradient from each use (for
    /// `b = a * a`, ∂b/∂a = 2a, not a). Read the children's data into locals before taking a
    /// `borrow_mut()` (in `a * a` both children are the same `RefCell`).
    ///
    /// Gradients accumulate across calls, as in PyTorch: calling `backward()` twice doubles
    /// every gradient, and callers zero them between training steps. That is why step 2 starts
    /// from 0: a node propagates only what *this* call sent it. Propagating a grad that still
    /// holds the last call's share counts it again (for `e = a·a + a` at `a = 3`, two calls
    /// would give `a.grad = 20` instead of `2 · 7 = 14`).
    // HINT: A node may pass its gradient on only after every node that uses it has sent its share: visit the nodes in reverse topological order, each node once, and add (never assign) into the children's gradients.
    // HINT: Build the topological order with a depth-first search that pushes a node after its children (skip nodes already seen, keyed by Rc::as_ptr in a HashSet). Save every node's grad and zero it, set the output's grad to 1, walk the order in reverse adding g × local derivative to each child's grad, then add the saved grads back. Relu passes the gradient only where x > 0 (at exactly 0 it passes nothing). Copy the node's grad, data, op and a clone of its children out of one borrow() and drop it before you borrow_mut any child.
    // HINT: Per node: let local = match op { Op::Mul => vec![xs[1], xs[0]], Op::Div => vec![1.0 / xs[1], -xs[0] / (xs[1] * xs[1])], Op::Tanh => vec![1.0 - out * out], … }; then for (c, d) in children.iter().zip(local) { c.0.borrow_mut().grad += g * d; }
    pub fn backward(&self) {
        // BEGIN SOLUTION
        let mut order: Vec<Value> = Vec::new();
        let mut seen: HashSet<*const RefCell<Node>> = HashSet::new();
        // Iterative DFS (deep graphs would overflow the stack with recursion).
        let mut stack: Vec<(Value, bool)> = vec![(self.clone(), false)];
        while let Some((v, expanded)) = stack.pop() {
            if expanded {
                order.push(v);
                continue;
            }
            if !seen.insert(Rc::as_ptr(&v.0)) {
                continue;
            }
            stack.push((v.clone(), true));
            for c in v.0.borrow().children.iter().rev() {
                if !seen.contains(&Rc::as_ptr(&c.0)) {
                    stack.push((c.clone(), false));
                }
            }
        }
        let before: Vec<f64> = order.iter().map(|v| v.grad()).collect();
        for v in &order {
            v.zero_grad();
        }
        self.0.borrow_mut().grad = 1.0;
        for v in order.iter().rev() {
            let (g, out, op, children) = {
                let n = v.0.borrow();
                (n.grad, n.data, n.op, n.children.clone())
            };
            let xs: Vec<f64> = children.iter().map(|c| c.data()).collect();
            let local: Vec<f64> = match op {
                Op::Leaf => vec![],
                Op::Add => vec![1.0, 1.0],
                Op::Sub => vec![1.0, -1.0],
                Op::Mul => vec![xs[1], xs[0]],
                Op::Div => vec![1.0 / xs[1], -xs[0] / (xs[1] * xs[1])],
                Op::Pow(k) => vec![k * xs[0].powf(k - 1.0)],
                Op::Exp => vec![out],
                Op::Tanh => vec![1.0 - out * out],
                Op::Relu => vec![if xs[0] > 0.0 { 1.0 } else { 0.0 }],
            };
            for (c, d) in children.iter().zip(local) {
                c.0.borrow_mut().grad += g * d;
            }
        }
        for (v, b) in order.iter().zip(before) {
            v.0.borrow_mut().grad += b;
        }
        // END SOLUTION
    }
}

/// One neuron: `out = tanh(Σ_i w_i x_i + b)` (without the tanh when `nonlin` is false).
pub struct Neuron {
    pub w: Vec<Value>,
    pub b: Value,
    pub nonlin: bool,
}

/// A layer: `nout` neurons that all read the same inputs.
pub struct Layer {
    pub neurons: Vec<Neuron>,
}

/// A multi-layer perceptron: layers applied in order.
pub struct Mlp {
    pub layers: Vec<Layer>,
}

impl Neuron {
    /// ## neuron
    /// A neuron with `nin` weights and a bias, each drawn uniformly from `[-1, 1)` with
    /// `rng.random_range(-1.0..1.0)`, weights first, then the bias.
    // HINT: Draw all the weights first and the bias last, from the one generator, in that order; build the output from Value operations so that backward reaches the weights, and have parameters hand back the neuron's own nodes, not new Values holding the same numbers.
    // HINT: new: nin draws of rng.random_range(-1.0..1.0), each wrapped in Value::new, for w, then one more for b. forward: start from b, add w_i · x_i for each pair in order (zip), then tanh if nonlin. parameters: clone the w vector and push a clone of b.
    // HINT: let mut act = self.b.clone(); for (w, x) in self.w.iter().zip(x) { act = act.add(&w.mul(x)); } then return act.tanh() when self.nonlin, else act.
    pub fn new(nin: usize, nonlin: bool, rng: &mut ChaCha8Rng) -> Neuron {
        // BEGIN SOLUTION
        let w = (0..nin).map(|_| Value::new(rng.random_range(-1.0..1.0))).collect();
        let b = Value::new(rng.random_range(-1.0..1.0));
        Neuron { w, b, nonlin }
        // END SOLUTION
    }
    /// `tanh(Σ_i w_i x_i + b)` as a graph of `Value`s (no tanh when `nonlin` is false).
    /// Start the sum from `b` and add `w_i · x_i` in order.
    pub fn forward(&self, x: &[Value]) -> Value {
        // BEGIN SOLUTION
        let mut act = self.b.clone();
        for (w, x) in self.w.iter().zip(x) {
            act = act.add(&w.mul(x));
        }
        if self.nonlin {
            act.tanh()
        } else {
            act
        }
        // END SOLUTION
    }
    /// The weights, then the bias (clones of the handles, not copies of the numbers).
    pub fn parameters(&self) -> Vec<Value> {
        // BEGIN SOLUTION
        let mut p = self.w.clone();
        p.push(self.b.clone());
        p
        // END SOLUTION
    }
}

impl Layer {
    /// ## mlp
    /// `nout` neurons of `nin` inputs each, made in order with [`Neuron::new`].
    // HINT: A layer is a list of neurons that all read the same inputs; an MLP feeds each layer's outputs to the next, so each layer has as many inputs as the layer before it has neurons (the first has nin), and every layer uses tanh.
    // HINT: Layer::new makes nout neurons with Neuron::new, in order; Mlp::new chains the sizes [nin, nouts…] pairwise (windows(2)); forward feeds each layer's outputs to the next; parameters concatenate neuron by neuron and layer by layer (flat_map).
    // HINT: let mut sizes = vec![nin]; sizes.extend_from_slice(nouts); Mlp { layers: sizes.windows(2).map(|s| Layer::new(s[0], s[1], true, rng)).collect() }
    pub fn new(nin: usize, nout: usize, nonlin: bool, rng: &mut ChaCha8Rng) -> Layer {
        // BEGIN SOLUTION
        Layer { neurons: (0..nout).map(|_| Neuron::new(nin, nonlin, rng)).collect() }
        // END SOLUTION
    }
    /// Every neuron's output, in order.
    pub fn forward(&self, x: &[Value]) -> Vec<Value> {
        // BEGIN SOLUTION
        self.neurons.iter().map(|n| n.forward(x)).collect()
        // END SOLUTION
    }
    /// Every neuron's parameters, neuron by neuron.
    pub fn parameters(&self) -> Vec<Value> {
        // BEGIN SOLUTION
        self.neurons.iter().flat_map(|n| n.parameters()).collect()
        // END SOLUTION
    }
}

impl Mlp {
    /// Layers `nin → nouts[0] → nouts[1] → …`, every one with tanh (as in the lecture: the
    /// toy targets are ±1, inside tanh's range). `Mlp::new(3, &[4, 4, 1], rng)` has
    /// 16 + 20 + 5 = 41 parameters.
    pub fn new(nin: usize, nouts: &[usize], rng: &mut ChaCha8Rng) -> Mlp {
        // BEGIN SOLUTION
        let mut sizes = vec![nin];
        sizes.extend_from_slice(nouts);
        Mlp { layers: sizes.windows(2).map(|s| Layer::new(s[0], s[1], true, rng)).collect() }
        // END SOLUTION
    }
    /// The last layer's outputs.
    pub fn forward(&self, x: &[Value]) -> Vec<Value> {
        // BEGIN SOLUTION
        let mut h = x.to_vec();
        for l in &self.layers {
            h = l.forward(&h);
        }
        h
        // END SOLUTION
    }
    /// Every layer's parameters, layer by layer.
    pub fn parameters(&self) -> Vec<Value> {
        // BEGIN SOLUTION
        self.layers.iter().flat_map(|l| l.parameters()).collect()
        // END SOLUTION
    }
}

/// ## train_step
/// One step of gradient descent on the squared error of a one-output `mlp`:
/// `loss = Σ_k (mlp(xs[k])[0] - ys[k])²`. Zero every parameter's grad, run `backward()` on the
/// loss, then move each parameter: `p.data -= lr · p.grad`. Return the loss *before* the update.
/// The grader calls it on the four-point toy set and expects the loss below 0.01 within 200
/// steps at `lr = 0.1`.
// HINT: Build the whole loss as one graph of Values, clear the gradients left by earlier calls before running backward (the parameters may arrive holding stale ones), and return the loss of this forward pass, from before the parameters move.
// HINT: For each (x, y): wrap x's numbers in Value::new leaves, take the first output of mlp.forward, and add (out − y)² to a running loss with sub, pow(2.0) and add. Then zero_grad every parameter, call loss.backward(), update each parameter and return loss.data().
// HINT: for p in &params { p.set_data(p.data() - lr * p.grad()); } after p.zero_grad() on all of them and loss.backward().
pub fn train_step(mlp: &Mlp, xs: &[Vec<f64>], ys: &[f64], lr: f64) -> f64 {
    // BEGIN SOLUTION
    let mut loss = Value::new(0.0);
    for (x, &y) in xs.iter().zip(ys) {
        let inputs: Vec<Value> = x.iter().map(|&v| Value::new(v)).collect();
        let out = &mlp.forward(&inputs)[0];
        loss = loss.add(&out.sub(&Value::new(y)).pow(2.0));
    }
    let params = mlp.parameters();
    for p in &params {
        p.zero_grad();
    }
    loss.backward();
    for p in &params {
        p.set_data(p.data() - lr * p.grad());
    }
    loss.data()
    // END SOLUTION
}
