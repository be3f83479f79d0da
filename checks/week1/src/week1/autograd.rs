//! Checks for week1 day "autograd": every backward function against torch.autograd's
//! vector-Jacobian products on the fixture cases (fixtures/gen/week1_autograd.py), the
//! topological sort against its defining properties on seeded random DAGs, and the whole
//! engine against torch on seeded random graphs and against candle's own autograd (`Var`).

use crate::cases::{Case, FixtureFile};
use crate::check::{ensure, CheckResult, Ctx, Fail, Learner};
use crate::compare::{close, close_with, Candidate, Tol};
use crate::registry::{Day, Exercise};
use crate::subject::week1::autograd as ag;
use candle_core::{DType, Tensor, Var};

const FX: FixtureFile = FixtureFile::new("week1/autograd.safetensors");
const GRAPHS_JSON: &str = "week1/autograd_graphs.json";
const GRAPHS: &str = "week1/autograd_graphs.safetensors";

/// A backward function is one or two element-wise ops, a sum or a matmul of N(0, 1) values of at
/// most a few dozen terms: it rounds like PyTorch up to a few f32 ulps (observed: ≤ 4.8e-7).
const VJP: Tol = Tol::F32;
/// A whole random graph chains up to ten ops (exp, log, matmuls, sums) with values up to 50 and
/// gradients up to a few hundred, and candle and PyTorch add partial sums in different orders:
/// observed up to 4.8e-6 absolute / 1.6e-6 relative (graph 15, CPU). 1e-4 + 1e-4·|want| keeps
/// >20× headroom; a wrong rule in any op is off by far more (0.1 or more).
const GRAPH: Tol = Tol { abs: 1e-4, rel: 1e-4 };

/// A shape stored as an int64 vector (empty for a scalar).
fn shape(c: &Case, arg: &str) -> Result<Vec<usize>, Fail> {
    Ok(c.values(arg)?.into_iter().map(|x| x as usize).collect())
}

const DAY: Day = Day::new("week1", "autograd", "src/autograd.rs");

/// Candle's autograd is what the day rebuilds.
const NO_AUTOGRAD: &[&str] = &[".backward(", "Var::", "GradStore"];

/// Compare a pair of gradients (first input against `out`, second against `want_b`).
fn pair_vs_torch(c: &Case, got: (Tensor, Tensor), tol: Tol, cands_a: &[Candidate], cands_b: &[Candidate]) -> CheckResult {
    close_with(&format!("dL/da, {}", c.label()), &got.0, &c.out()?, tol, cands_a)?;
    close_with(&format!("dL/db, {}", c.label()), &got.1, &c.t("want_b")?, tol, cands_b)
}

pub fn exercises() -> Vec<Exercise> {
    vec![
        DAY.exercise("unbroadcast", "sum a broadcast gradient back to the input's shape").pace(2, 30).function("unbroadcast").forbid(NO_AUTOGRAD).check(
            "vs torch (gradient of x.expand)",
            |ctx| {
                for c in FX.cases(ctx, "unbroadcast")? {
                    let got = ag::unbroadcast(&c.t("grad")?, &shape(&c, "shape")?).learner()?;
                    close(&c.label(), &got, &c.out()?, VJP)?;
                }
                Ok(())
            },
        ),
        DAY.exercise("log_back", "backward of log").pace(1, 10).function("log_back").forbid(NO_AUTOGRAD).check("vs torch", |ctx| {
            for c in FX.cases(ctx, "log_back")? {
                let (g, x) = (c.t("grad")?, c.t("x")?);
                let got = ag::log_back(&g, &x).learner()?;
                close_with(
                    &c.label(),
                    &got,
                    &c.out()?,
                    VJP,
                    &[Candidate { description: "grad_out · x (multiplied instead of divided)", tensor: (&g * &x).on_learner()? }],
                )?;
            }
            Ok(())
        }),
        DAY.exercise("exp_back", "backward of exp, from the saved output").pace(1, 10).function("exp_back").forbid(NO_AUTOGRAD).check("vs torch", |ctx| {
            for c in FX.cases(ctx, "exp_back")? {
                let (g, y) = (c.t("grad")?, c.t("y")?);
                let got = ag::exp_back(&g, &y).learner()?;
                close_with(
                    &c.label(),
                    &got,
                    &c.out()?,
                    VJP,
                    &[Candidate {
                        description: "grad_out · exp(y): y is the output exp(x) already, do not exponentiate it again",
                        tensor: (&g * y.exp().on_learner()?).on_learner()?,
                    }],
                )?;
            }
            Ok(())
        }),
        DAY.exercise("add_back", "backward of a broadcasting add").pace(1, 10).function("add_back").forbid(NO_AUTOGRAD).check(
            "vs torch (with broadcasting)",
            |ctx| {
                for c in FX.cases(ctx, "add_back")? {
                    let got = ag::add_back(&c.t("grad")?, &shape(&c, "a_shape")?, &shape(&c, "b_shape")?).learner()?;
                    pair_vs_torch(&c, got, VJP, &[], &[])?;
                }
                Ok(())
            },
        ),
        DAY.exercise("mul_back", "backward of a broadcasting multiply").pace(1, 10).function("mul_back").forbid(NO_AUTOGRAD).check(
            "vs torch (with broadcasting)",
            |ctx| {
                for c in FX.cases(ctx, "mul_back")? {
                    let (g, a, b) = (c.t("grad")?, c.t("a")?, c.t("b")?);
                    let got = ag::mul_back(&g, &a, &b).learner()?;
                    let swapped_a = swapped(&g, &a, &a)?;
                    let swapped_b = swapped(&g, &b, &b)?;
                    pair_vs_torch(
                        &c,
                        got,
                        VJP,
                        &[Candidate { description: "grad_out · a: multiply by the other input (b)", tensor: swapped_a }],
                        &[Candidate { description: "grad_out · b: multiply by the other input (a)", tensor: swapped_b }],
                    )?;
                }
                Ok(())
            },
        ),
        DAY.exercise("matmul_back", "backward of a (batched, broadcasting) matmul").pace(1, 10).function("matmul_back").forbid(NO_AUTOGRAD).check(
            "vs torch (2-D, batched, broadcast batch axes)",
            |ctx| {
                for c in FX.cases(ctx, "matmul_back")? {
                    let got = ag::matmul_back(&c.t("grad")?, &c.t("a")?, &c.t("b")?).learner()?;
                    pair_vs_torch(&c, got, VJP, &[], &[])?;
                }
                Ok(())
            },
        ),
        DAY.exercise("sum_back", "backward of sum over some axes").pace(2, 30).function("sum_back").forbid(NO_AUTOGRAD).check(
            "vs torch (dims in any order, keepdim or not)",
            |ctx| {
                for c in FX.cases(ctx, "sum_back")? {
                    let dims = shape(&c, "dims")?;
                    let got = ag::sum_back(&c.t("grad")?, &shape(&c, "x_shape")?, &dims, c.n("keepdim")? == 1).learner()?;
                    close(&c.label(), &got, &c.out()?, VJP)?;
                }
                Ok(())
            },
        ),
        DAY.exercise("index_back", "backward of row indexing (repeats accumulate)").pace(1, 10).function("index_back").forbid(NO_AUTOGRAD).check(
            "vs torch (x[indices] with repeated and unpicked rows)",
            |ctx| {
                for c in FX.cases(ctx, "index_back")? {
                    let got = ag::index_back(&c.t("grad")?, &c.t("indices")?, &shape(&c, "x_shape")?).learner()?;
                    close(&c.label(), &got, &c.out()?, VJP)?;
                }
                Ok(())
            },
        ),
        DAY.exercise("maximum_back", "backward of maximum (ties split the gradient)").pace(2, 20).function("maximum_back").forbid(NO_AUTOGRAD).check(
            "vs torch (rounded inputs: many ties; with broadcasting)",
            |ctx| {
                for c in FX.cases(ctx, "maximum_back")? {
                    let (g, a, b) = (c.t("grad")?, c.t("a")?, c.t("b")?);
                    let got = ag::maximum_back(&g, &a, &b).learner()?;
                    let (ta, tb) = ties_full(&g, &a, &b)?;
                    pair_vs_torch(
                        &c,
                        got,
                        VJP,
                        &[Candidate { description: "the whole gradient to both inputs on ties; PyTorch gives each half", tensor: ta }],
                        &[Candidate { description: "the whole gradient to both inputs on ties; PyTorch gives each half", tensor: tb }],
                    )?;
                }
                Ok(())
            },
        ),
        DAY.exercise("relu_back", "backward of relu (zero at x = 0)").pace(1, 10).function("relu_back").forbid(NO_AUTOGRAD).check(
            "vs torch (inputs with exact zeros)",
            |ctx| {
                for c in FX.cases(ctx, "relu_back")? {
                    let (g, x) = (c.t("grad")?, c.t("x")?);
                    let got = ag::relu_back(&g, &x).learner()?;
                    let ge = (&g * x.ge(0.0).grader()?.to_dtype(g.dtype()).grader()?).grader()?;
                    close_with(
                        &c.label(),
                        &got,
                        &c.out()?,
                        VJP,
                        &[Candidate { description: "a gradient of 1 at x = 0 (x >= 0; candle's rule): PyTorch passes none at exactly 0 (x > 0)", tensor: ge }],
                    )?;
                }
                Ok(())
            },
        ),
        DAY.exercise("topological_sort", "order the graph: parents before children")
            .pace(3, 55)
            .function("topological_sort")
            .forbid(NO_AUTOGRAD)
            .check("the doc example", |_| {
                let parents = vec![vec![], vec![0], vec![0, 1], vec![]];
                let got = ag::topological_sort(&parents, 2);
                ensure(got == vec![0, 1, 2], || format!("topological_sort([[], [0], [0, 1], []], 2) = {got:?}, expected [0, 1, 2]"))
            })
            .check("random DAGs with shuffled numbering: each reachable node once, after its parents", |_| {
                let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
                for case in 0..40 {
                    let n = 2 + rng.below(60);
                    let (parents, root) = random_dag(&mut rng, n);
                    let got = ag::topological_sort(&parents, root);
                    valid_order(&format!("random DAG {case} ({n} nodes, root {root})"), &parents, root, &got)?;
                }
                Ok(())
            })
            .check("a 2000-node lattice (each node uses the previous two, one of them twice)", |_| {
                // Node numbers run backwards: node n-1 is a leaf, node 0 the root.
                let n = 2000;
                let parents: Vec<Vec<usize>> = (0..n)
                    .map(|i| {
                        if i + 2 < n {
                            vec![i + 1, i + 2, i + 1]
                        } else if i + 1 < n {
                            vec![i + 1]
                        } else {
                            vec![]
                        }
                    })
                    .collect();
                let got = ag::topological_sort(&parents, 0);
                valid_order("lattice of 2000 nodes", &parents, 0, &got)
            }),
        DAY.exercise("backward", "the backward pass over a graph")
            .pace(3, 90)
            .function("backward")
            .forbid(NO_AUTOGRAD)
            .check("x · x + exp(x): a node used twice and by two children (vs candle's autograd)", |ctx| {
                let x = Tensor::new(&[0.5f32, -1.0, 2.0], &ctx.device).grader()?;
                let mut g = ag::Graph::new();
                let a = g.leaf(x.clone());
                let sq = g.mul(a, a).learner()?;
                let e = g.exp(a).learner()?;
                let s = g.add(sq, e).learner()?;
                let root = g.sum(s, &[0], false).learner()?;
                let grads = g.backward(root).learner()?;
                let want = candle_grads(&g, root)?;
                let got = grads.get(a).cloned().flatten().ok_or_else(|| Fail::Mismatch("backward: the leaf x got no gradient (None)".into()))?;
                close("dL/dx for L = sum(x·x + exp(x))", &got, &want[a], GRAPH)
            })
            .check("16 seeded random graphs vs torch (every leaf; None for leaves the root does not use)", |ctx| {
                let specs = ctx.json(GRAPHS_JSON)?;
                let fx = ctx.fixture(GRAPHS)?;
                for (gi, spec) in graph_specs(&specs)?.iter().enumerate() {
                    let (g, root) = build(ctx, spec, gi)?;
                    let grads = g.backward(root).learner()?;
                    ensure(grads.len() == g.nodes.len(), || format!("graph {gi}: backward returned {} entries for {} nodes", grads.len(), g.nodes.len()))?;
                    for (k, node) in g.nodes.iter().enumerate() {
                        if !matches!(node.op, ag::Op::Leaf) {
                            continue;
                        }
                        let key = format!("graph.{gi}.grad.{k}");
                        let label = format!("random graph {gi} ({}), gradient of leaf {k}", describe(spec));
                        match (&grads[k], fx.has(&key)) {
                            (Some(got), true) => close(&label, got, &fx.get(&key)?, GRAPH)?,
                            (None, true) => return Err(Fail::Mismatch(format!("{label}: None, but the root depends on it"))),
                            (Some(_), false) => return Err(Fail::Mismatch(format!("{label}: the root does not depend on this leaf, expected None"))),
                            (None, false) => {}
                        }
                    }
                }
                Ok(())
            })
            .check("equals candle's own autograd (Var + backward) on the graphs without ties", |ctx| {
                let specs = ctx.json(GRAPHS_JSON)?;
                let mut compared = 0;
                for (gi, spec) in graph_specs(&specs)?.iter().enumerate() {
                    if spec.get("ties").and_then(|t| t.as_bool()).unwrap_or(true) {
                        continue; // relu at 0 / maximum ties: candle and PyTorch pick different gradients
                    }
                    let (g, root) = build(ctx, spec, gi)?;
                    let grads = g.backward(root).learner()?;
                    let want = candle_grads(&g, root)?;
                    for (k, node) in g.nodes.iter().enumerate() {
                        if let (ag::Op::Leaf, Some(got)) = (&node.op, grads.get(k).cloned().flatten()) {
                            close(&format!("random graph {gi}, leaf {k} vs candle autograd"), &got, &want[k], GRAPH)?;
                            compared += 1;
                        }
                    }
                }
                ensure(compared > 0, || "no graph without ties was compared (fixture problem)".into())
            }),
    ]
}

/// `grad * other`, unbroadcast to the shape of `like` (the mul_back mix-up: the same input twice).
fn swapped(g: &Tensor, same: &Tensor, like: &Tensor) -> Result<Tensor, Fail> {
    let t = g.broadcast_mul(same).grader()?;
    sum_to(&t, like.dims()).grader()
}

/// The gradients if ties gave the whole gradient to both sides.
fn ties_full(g: &Tensor, a: &Tensor, b: &Tensor) -> Result<(Tensor, Tensor), Fail> {
    let s = g.dims();
    let (ab, bb) = (a.broadcast_as(s).grader()?, b.broadcast_as(s).grader()?);
    let wa = ab.ge(&bb).grader()?.to_dtype(g.dtype()).grader()?;
    let wb = ab.le(&bb).grader()?.to_dtype(g.dtype()).grader()?;
    Ok((sum_to(&(g * wa).grader()?, a.dims()).grader()?, sum_to(&(g * wb).grader()?, b.dims()).grader()?))
}

/// The grader's own unbroadcast (for diagnoses only).
fn sum_to(t: &Tensor, shape: &[usize]) -> candle_core::Result<Tensor> {
    let mut t = t.clone();
    while t.rank() > shape.len() {
        t = t.sum(0)?;
    }
    for (i, &s) in shape.iter().enumerate() {
        if s == 1 && t.dim(i)? != 1 {
            t = t.sum_keepdim(i)?;
        }
    }
    Ok(t)
}

/// A small deterministic generator for the random DAGs (xorshift64).
struct XorShift(u64);
impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// A random DAG on `n` nodes whose numbering is a random permutation of a topological order;
/// some nodes are unreachable from the root, some parents repeat.
fn random_dag(rng: &mut XorShift, n: usize) -> (Vec<Vec<usize>>, usize) {
    let mut perm: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        perm.swap(i, rng.below(i + 1));
    }
    // Node at topological position i may use nodes at positions < i.
    let mut parents = vec![Vec::new(); n];
    for i in 1..n {
        let k = rng.below(4);
        for _ in 0..k {
            let j = rng.below(i);
            parents[perm[i]].push(perm[j]);
        }
    }
    let root = perm[n - 1 - rng.below(n.min(3))];
    (parents, root)
}

/// Every node reachable from root exactly once, each after all of its parents.
fn valid_order(label: &str, parents: &[Vec<usize>], root: usize, order: &[usize]) -> CheckResult {
    let n = parents.len();
    let mut reach = vec![false; n];
    let mut stack = vec![root];
    while let Some(v) = stack.pop() {
        if !std::mem::replace(&mut reach[v], true) {
            stack.extend(parents[v].iter().copied());
        }
    }
    let mut pos = vec![usize::MAX; n];
    for (i, &v) in order.iter().enumerate() {
        ensure(v < n, || format!("{label}: node {v} does not exist"))?;
        ensure(pos[v] == usize::MAX, || format!("{label}: node {v} appears twice (positions {} and {i})", pos[v]))?;
        ensure(reach[v], || format!("{label}: node {v} is listed but the root does not depend on it"))?;
        pos[v] = i;
    }
    let missing: Vec<usize> = (0..n).filter(|&v| reach[v] && pos[v] == usize::MAX).collect();
    ensure(missing.is_empty(), || format!("{label}: {} reachable node(s) missing, e.g. {:?}", missing.len(), &missing[..missing.len().min(5)]))?;
    for &v in order {
        for &p in &parents[v] {
            ensure(pos[p] < pos[v], || {
                format!("{label}: node {v} comes at position {} but its parent {p} only at {} (parents must come first)", pos[v], pos[p])
            })?;
        }
    }
    ensure(order.last() == Some(&root), || format!("{label}: the root {root} must come last"))
}

fn graph_specs(v: &serde_json::Value) -> Result<&Vec<serde_json::Value>, Fail> {
    v.as_array().ok_or_else(|| Fail::Fixture(format!("{GRAPHS_JSON} is not a list; {}", crate::fixtures::REMAKE)))
}

fn bad(msg: &str) -> Fail {
    Fail::Fixture(format!("{GRAPHS_JSON}: {msg}; {}", crate::fixtures::REMAKE))
}

fn usizes(v: &serde_json::Value, key: &str) -> Result<Vec<usize>, Fail> {
    v.get(key)
        .and_then(|a| a.as_array())
        .ok_or_else(|| bad(&format!("a node lacks {key}")))?
        .iter()
        .map(|x| x.as_u64().map(|x| x as usize).ok_or_else(|| bad("not an index")))
        .collect()
}

/// "leaf leaf mul sum …": the op sequence, for reports.
fn describe(spec: &serde_json::Value) -> String {
    let ops: Vec<&str> = spec["nodes"].as_array().map(|a| a.iter().filter_map(|n| n["op"].as_str()).filter(|o| *o != "leaf").collect()).unwrap_or_default();
    ops.join(" → ")
}

/// Build fixture graph `gi` with the learner's `Graph` (its forward builders are given code).
fn build(ctx: &Ctx, spec: &serde_json::Value, gi: usize) -> Result<(ag::Graph, usize), Fail> {
    let fx = ctx.fixture(GRAPHS)?;
    let nodes = spec.get("nodes").and_then(|n| n.as_array()).ok_or_else(|| bad("a graph has no nodes"))?;
    let mut g = ag::Graph::new();
    for (k, n) in nodes.iter().enumerate() {
        let op = n.get("op").and_then(|o| o.as_str()).ok_or_else(|| bad("a node has no op"))?;
        let args = if op == "leaf" { vec![] } else { usizes(n, "args")? };
        let id = match op {
            "leaf" => g.leaf(fx.get(&format!("graph.{gi}.leaf.{k}"))?),
            "log" => g.log(args[0]).learner()?,
            "exp" => g.exp(args[0]).learner()?,
            "relu" => g.relu(args[0]).learner()?,
            "add" => g.add(args[0], args[1]).learner()?,
            "mul" => g.mul(args[0], args[1]).learner()?,
            "matmul" => g.matmul(args[0], args[1]).learner()?,
            "maximum" => g.maximum(args[0], args[1]).learner()?,
            "sum" => g.sum(args[0], &usizes(n, "dims")?, n.get("keepdim").and_then(|b| b.as_bool()).unwrap_or(false)).learner()?,
            "index" => {
                let idx: Vec<i64> = usizes(n, "indices")?.into_iter().map(|i| i as i64).collect();
                g.index(args[0], &Tensor::new(idx, &ctx.device).on_learner()?).learner()?
            }
            other => return Err(bad(&format!("unknown op {other}"))),
        };
        if id != k {
            return Err(Fail::Internal(format!("Graph builders returned node {id} for node {k}")));
        }
    }
    Ok((g, nodes.len() - 1))
}

/// The same graph through candle's autograd: every node recomputed from `Var` leaves with the
/// differentiable candle ops, then `backward()`. Returns each node's gradient (zeros if none).
fn candle_grads(g: &ag::Graph, root: usize) -> Result<Vec<Tensor>, Fail> {
    let mut vals: Vec<Tensor> = Vec::new();
    let mut vars: Vec<Option<Var>> = Vec::new();
    for node in &g.nodes {
        let v = |i: usize| &vals[i];
        let (t, var) = match &node.op {
            ag::Op::Leaf => {
                let var = Var::from_tensor(&node.value.to_dtype(DType::F32).on_learner()?).on_learner()?;
                (var.as_tensor().clone(), Some(var))
            }
            ag::Op::Log(x) => (v(*x).log().on_learner()?, None),
            ag::Op::Exp(x) => (v(*x).exp().on_learner()?, None),
            ag::Op::Relu(x) => (v(*x).relu().on_learner()?, None),
            ag::Op::Add(a, b) => (v(*a).broadcast_add(v(*b)).on_learner()?, None),
            ag::Op::Mul(a, b) => (v(*a).broadcast_mul(v(*b)).on_learner()?, None),
            ag::Op::Matmul(a, b) => (v(*a).broadcast_matmul(v(*b)).on_learner()?, None),
            ag::Op::Maximum(a, b) => (v(*a).broadcast_maximum(v(*b)).on_learner()?, None),
            ag::Op::Sum { x, dims, keepdim } => {
                (if *keepdim { v(*x).sum_keepdim(dims.clone()).on_learner()? } else { v(*x).sum(dims.clone()).on_learner()? }, None)
            }
            ag::Op::Index { x, indices } => (v(*x).index_select(indices, 0).on_learner()?, None),
        };
        vals.push(t);
        vars.push(var);
    }
    let store = vals[root].sum_all().grader()?.backward().grader()?;
    let mut out = Vec::new();
    for (k, var) in vars.iter().enumerate() {
        out.push(match var.as_ref().and_then(|v| store.get(v.as_tensor()).cloned()) {
            Some(t) => t,
            None => vals[k].zeros_like().on_learner()?,
        });
    }
    Ok(out)
}
