//! Checks for week0 day "micrograd": random expression graphs (fixtures/gen/week0_micrograd.py)
//! rebuilt with the learner's `Value` operations, values and gradients compared with PyTorch
//! autograd in float64; the neuron and MLP against an independent f64 forward pass; training the
//! four-point toy set.

use crate::cases::FixtureFile;
use crate::check::{ensure, CheckResult, Ctx, Fail, Learner};
use crate::compare::{close, scalar_close, to_f64, Tol};
use crate::registry::{Day, Exercise};
use crate::subject::week0::micrograd::{train_step, Mlp, Neuron, Op, Value};
use candle_core::{Device, Tensor};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const FX: FixtureFile = FixtureFile::new("week0/micrograd.safetensors");

/// Both sides compute the same f64 operations in the same order; only `exp`, `tanh` and `powf`
/// may differ in the last ulp between Rust's libm and PyTorch's kernels, and chain rule products
/// over ~30 nodes amplify that to ~1e-14 relative. 1e-9 leaves ample room while any real mistake
/// (a wrong local derivative, an overwritten instead of accumulated gradient) is off by O(1).
const F64: Tol = Tol { abs: 1e-9, rel: 1e-9 };

const DAY: Day = Day::new("week0", "micrograd", "src/micrograd.rs");

/// Opcodes of the fixture's op lists.
const LEAF: i64 = 0;

/// Rebuild a fixture graph with the learner's operations: every node, in creation order.
fn build(ops: &[Vec<f64>]) -> Result<Vec<Value>, Fail> {
    let mut nodes: Vec<Value> = Vec::with_capacity(ops.len());
    for (i, row) in ops.iter().enumerate() {
        let (op, a, b, k) = (row[0] as i64, row[1] as usize, row[2] as usize, row[3]);
        if op != LEAF && (a >= i || b >= i) {
            return Err(Fail::Fixture(format!("{FX}: node {i} reads a later node; {}", crate::fixtures::REMAKE)));
        }
        let v = match op {
            0 => Value::new(k),
            1 => nodes[a].add(&nodes[b]),
            2 => nodes[a].sub(&nodes[b]),
            3 => nodes[a].mul(&nodes[b]),
            4 => nodes[a].div(&nodes[b]),
            5 => nodes[a].pow(k),
            6 => nodes[a].exp(),
            7 => nodes[a].tanh(),
            8 => nodes[a].relu(),
            _ => return Err(Fail::Fixture(format!("{FX}: unknown opcode {op}; {}", crate::fixtures::REMAKE))),
        };
        nodes.push(v);
    }
    Ok(nodes)
}

const OP_NAMES: [&str; 9] = ["leaf", "add", "sub", "mul", "div", "pow", "exp", "tanh", "relu"];

struct Graph {
    label: String,
    ops: Vec<Vec<f64>>,
    data: Tensor,
    grad: Tensor,
}

fn graphs(ctx: &Ctx, name: &str) -> Result<Vec<Graph>, Fail> {
    let fx = FX.open(ctx)?;
    let n = fx.names_with_prefix(&format!("{name}.")).iter().filter(|k| k.ends_with(".ops")).count();
    if n == 0 {
        return Err(Fail::Fixture(format!("{FX} has no {name} graphs; {}", crate::fixtures::REMAKE)));
    }
    (0..n)
        .map(|g| {
            let ops = fx.get(&format!("{name}.{g}.ops"))?.to_device(&Device::Cpu).grader()?.to_vec2::<f64>().grader()?;
            Ok(Graph {
                label: format!("{name}.{g} ({} nodes)", ops.len()),
                ops,
                data: fx.get(&format!("{name}.{g}.data"))?,
                grad: fx.get(&format!("{name}.{g}.grad"))?,
            })
        })
        .collect()
}

fn values(nodes: &[Value], dev: &Device) -> Result<Tensor, Fail> {
    Tensor::new(nodes.iter().map(|v| v.data()).collect::<Vec<f64>>(), dev).grader()
}

fn grads(nodes: &[Value], dev: &Device) -> Result<Tensor, Fail> {
    Tensor::new(nodes.iter().map(|v| v.grad()).collect::<Vec<f64>>(), dev).grader()
}

/// Values: the first node whose value is wrong names its operation.
fn check_values(ctx: &Ctx, name: &str) -> CheckResult {
    for g in graphs(ctx, name)? {
        let nodes = build(&g.ops)?;
        let want = to_f64(&g.data)?;
        for (i, (v, w)) in nodes.iter().zip(&want).enumerate() {
            let op = OP_NAMES.get(g.ops[i][0] as usize).copied().unwrap_or("?");
            scalar_close(&format!("{}: node {i} ({op})", g.label), v.data(), *w, F64)?;
            ensure(g.ops[i][0] == 0.0 || v.op() != Op::Leaf, || {
                format!("{}: node {i} ({op}) was recorded as a leaf: pass the op and children to Value::from_op", g.label)
            })?;
        }
        close(&g.label, &values(&nodes, &ctx.device)?, &g.data, F64)?;
    }
    Ok(())
}

/// Gradients after `backward()` on the last node, with a diagnosis for overwritten gradients.
fn check_grads(ctx: &Ctx, name: &str) -> CheckResult {
    for g in graphs(ctx, name)? {
        let nodes = build(&g.ops)?;
        nodes.last().expect("graphs are not empty").backward();
        let got = grads(&nodes, &ctx.device)?;
        if let Err(Fail::Mismatch(m)) = close(&format!("{}: gradients", g.label), &got, &g.grad, F64) {
            let want = to_f64(&g.grad)?;
            let gv = to_f64(&got)?;
            // Which wrong nodes are used more than once?
            // Uses of node i as an operand (a + a counts twice).
            let uses = |i: usize| {
                g.ops.iter().filter(|r| r[0] != 0.0).map(|r| (r[1] as usize == i) as usize + (r[0] < 5.0 && r[2] as usize == i) as usize).sum::<usize>()
            };
            let bad: Vec<usize> = (0..want.len()).filter(|&i| (gv[i] - want[i]).abs() > 1e-9 + 1e-9 * want[i].abs()).collect();
            let diag = if bad.iter().any(|&i| uses(i) > 1) {
                "\n  diagnosis: nodes used more than once have wrong gradients: add each use's contribution (`grad += …`), never assign"
            } else {
                ""
            };
            return Err(Fail::Mismatch(format!("{m}{diag}")));
        }
    }
    Ok(())
}

/// f64 forward of a neuron from the numbers in its parameters (independent of the learner's ops).
fn neuron_value(n: &Neuron, x: &[f64]) -> f64 {
    let s = n.b.data() + n.w.iter().zip(x).map(|(w, x)| w.data() * x).sum::<f64>();
    if n.nonlin {
        s.tanh()
    } else {
        s
    }
}

fn mlp_value(m: &Mlp, x: &[f64]) -> Vec<f64> {
    let mut h = x.to_vec();
    for l in &m.layers {
        h = l.neurons.iter().map(|n| neuron_value(n, &h)).collect();
    }
    h
}

fn toy() -> (Vec<Vec<f64>>, Vec<f64>) {
    (vec![vec![2.0, 3.0, -1.0], vec![3.0, -1.0, 0.5], vec![0.5, 1.0, 1.0], vec![1.0, 1.0, -1.0]], vec![1.0, -1.0, -1.0, 1.0])
}

fn toy_loss(m: &Mlp) -> f64 {
    let (xs, ys) = toy();
    xs.iter().zip(&ys).map(|(x, y)| (mlp_value(m, x)[0] - y).powi(2)).sum()
}

/// A forward pass on leaves: the grader's own evaluation must agree with the learner's graph.
fn vals(x: &[f64]) -> Vec<Value> {
    x.iter().map(|&v| Value::new(v)).collect()
}

pub fn exercises() -> Vec<Exercise> {
    vec![
        DAY.exercise("ops", "Value: + − × ÷ pow exp tanh relu").pace(2, 25)
            .check("values vs torch (float64) on 40 random graphs", |ctx| check_values(ctx, "graph"))
            .check("values of the reused-node graphs", |ctx| check_values(ctx, "reuse")),
        DAY.exercise("backward", "backward(): topological order and the chain rule").pace(3, 90)
            .check("gradients vs torch autograd (float64) on 40 random graphs", |ctx| check_grads(ctx, "graph"))
            .check("relu at exactly 0 passes no gradient (PyTorch's convention), at 0.5 all of it", |_| {
                for (x, want) in [(0.0, 0.0), (0.5, 1.0), (-0.5, 0.0)] {
                    let a = Value::new(x);
                    a.relu().backward();
                    scalar_close(&format!("d relu(a) / da at a = {x}"), a.grad(), want, F64)?;
                }
                Ok(())
            }),
        DAY.exercise("reuse", "gradients accumulate over every use of a node").pace(1, 10)
            .check("a + a, a * a, a*a + a and longer graphs vs torch", |ctx| check_grads(ctx, "reuse"))
            .check("a leaf shared by two outputs collects both gradients (backward does not reset)", |_| {
                let a = Value::new(0.7);
                let b = a.mul(&a);
                b.backward();
                let c = a.tanh();
                c.backward();
                // d(a·a)/da + d(tanh a)/da, from the two backward() calls.
                let want = 2.0 * 0.7 + (1.0 - 0.7f64.tanh().powi(2));
                scalar_close("a.grad after (a*a).backward() then tanh(a).backward()", a.grad(), want, F64)
            })
            .check("backward() twice on the same output doubles every gradient, leaves and inner nodes", |_| {
                // e = a·a + a at a = 3: ∂e/∂a = 7, so 14 after two calls. An inner node that
                // propagates its grad from the last call too (m = a·a holds 1, then 2) gives 20.
                let a = Value::new(3.0);
                let m = a.mul(&a);
                let e = m.add(&a);
                e.backward();
                e.backward();
                scalar_close("a.grad after two e.backward() (e = a·a + a, a = 3)", a.grad(), 14.0, F64)?;
                scalar_close("(a·a).grad after two e.backward()", m.grad(), 2.0, F64)?;
                // A longer graph with reuse: two calls give twice what one call gives, node by node.
                let build = || {
                    let (x, y) = (Value::new(0.3), Value::new(-1.2));
                    let h = x.mul(&y).add(&x).tanh();
                    let z = h.mul(&h).add(&h.mul(&x)).exp();
                    (vec![x, y, h], z)
                };
                let (once, z1) = build();
                z1.backward();
                let (twice, z2) = build();
                z2.backward();
                z2.backward();
                for (k, (o, t)) in once.iter().zip(&twice).enumerate() {
                    scalar_close(&format!("{} grad after two calls (z = exp(h·h + h·x), h = tanh(x·y + x))", ["x", "y", "h"][k]), t.grad(), 2.0 * o.grad(), F64)?;
                }
                Ok(())
            }),
        DAY.exercise("neuron", "a neuron: weights from the generator, tanh(w·x + b)").pace(3, 40)
            .check("parameters are the generator's draws, weights then bias", |_| {
                let n = Neuron::new(3, true, &mut ChaCha8Rng::seed_from_u64(7));
                let mut rng = ChaCha8Rng::seed_from_u64(7);
                let want: Vec<f64> = (0..4).map(|_| rng.random_range(-1.0..1.0)).collect();
                let got: Vec<f64> = n.parameters().iter().map(|p| p.data()).collect();
                ensure(got == want, || format!("Neuron::new(3, true, ChaCha8Rng::seed_from_u64(7)).parameters() = {got:?}, expected the draws {want:?} (3 weights, then the bias)"))?;
                ensure(n.parameters()[3].same(&n.b), || "parameters() must return handles of the neuron's own nodes (clone the Values), not new Values".into())
            })
            .check("forward equals tanh(b + Σ w·x) (with and without tanh)", |_| {
                let mut rng = ChaCha8Rng::seed_from_u64(3);
                for nonlin in [true, false] {
                    let n = Neuron::new(4, nonlin, &mut rng);
                    let x = [0.5, -1.5, 2.0, 0.25];
                    scalar_close(&format!("Neuron(nonlin={nonlin}).forward({x:?})"), n.forward(&vals(&x)).data(), neuron_value(&n, &x), Tol { abs: 1e-12, rel: 1e-12 })?;
                }
                Ok(())
            }),
        DAY.exercise("mlp", "Layer and Mlp").pace(2, 35)
            .check("Mlp::new(3, &[4, 4, 1]) has 41 parameters in layers of 4, 4, 1 neurons", |_| {
                let m = Mlp::new(3, &[4, 4, 1], &mut ChaCha8Rng::seed_from_u64(0));
                let sizes: Vec<usize> = m.layers.iter().map(|l| l.neurons.len()).collect();
                ensure(sizes == [4, 4, 1], || format!("layer sizes {sizes:?}, expected [4, 4, 1]"))?;
                let fan_in: Vec<usize> = m.layers.iter().map(|l| l.neurons[0].w.len()).collect();
                ensure(fan_in == [3, 4, 4], || format!("inputs per neuron {fan_in:?}, expected [3, 4, 4]"))?;
                ensure(m.parameters().len() == 41, || format!("{} parameters, expected 41", m.parameters().len()))
            })
            .check("forward equals an independent f64 evaluation of the same weights", |_| {
                let m = Mlp::new(3, &[4, 4, 1], &mut ChaCha8Rng::seed_from_u64(0));
                for x in toy().0 {
                    let out = m.forward(&vals(&x));
                    ensure(out.len() == 1, || format!("forward returned {} outputs, expected 1", out.len()))?;
                    scalar_close(&format!("mlp.forward({x:?})"), out[0].data(), mlp_value(&m, &x)[0], Tol { abs: 1e-12, rel: 1e-12 })?;
                }
                Ok(())
            }),
        DAY.exercise("train_step", "train the four-point toy set to loss < 0.01").pace(3, 40)
            .check("the first step's loss and update match finite differences", |_| {
                let m = Mlp::new(3, &[4, 4, 1], &mut ChaCha8Rng::seed_from_u64(1337));
                let before: Vec<f64> = m.parameters().iter().map(|p| p.data()).collect();
                let want_loss = toy_loss(&m);
                // Central differences of the grader's own f64 forward: error O(h²) ≈ 1e-10.
                let h = 1e-5;
                let mut fd = Vec::new();
                for p in m.parameters() {
                    let x = p.data();
                    p.set_data(x + h);
                    let up = toy_loss(&m);
                    p.set_data(x - h);
                    let down = toy_loss(&m);
                    p.set_data(x);
                    fd.push((up - down) / (2.0 * h));
                }
                let (xs, ys) = toy();
                let loss = train_step(&m, &xs, &ys, 0.1);
                scalar_close("loss returned by the first train_step", loss, want_loss, Tol { abs: 1e-12, rel: 1e-12 })?;
                for (i, (p, (b, g))) in m.parameters().iter().zip(before.iter().zip(&fd)).enumerate() {
                    // Finite differences are accurate to ~1e-9 here; the update is lr · grad.
                    scalar_close(&format!("parameter {i} after one step (lr 0.1)"), p.data(), b - 0.1 * g, Tol { abs: 1e-7, rel: 1e-7 })?;
                }
                Ok(())
            })
            .check("a step starts from zero gradients, whatever the parameters held before", |_| {
                // Two models from the same seed; one carries stale gradients (1000 on every
                // parameter, left by an earlier backward). train_step must zero them first, so
                // both make exactly the same update; one that does not moves by 100 more.
                let fresh = Mlp::new(3, &[4, 4, 1], &mut ChaCha8Rng::seed_from_u64(7));
                let stale = Mlp::new(3, &[4, 4, 1], &mut ChaCha8Rng::seed_from_u64(7));
                for p in stale.parameters() {
                    p.mul(&Value::new(1000.0)).backward();
                }
                let (xs, ys) = toy();
                train_step(&fresh, &xs, &ys, 0.1);
                train_step(&stale, &xs, &ys, 0.1);
                for (i, (a, b)) in fresh.parameters().iter().zip(stale.parameters()).enumerate() {
                    scalar_close(&format!("parameter {i} after a step from stale gradients vs from zero"), b.data(), a.data(), Tol { abs: 1e-12, rel: 1e-12 })?;
                }
                Ok(())
            })
            .check("loss < 0.01 within 200 steps at lr 0.1 (and the grads are zeroed each step)", |_| {
                let m = Mlp::new(3, &[4, 4, 1], &mut ChaCha8Rng::seed_from_u64(1337));
                let (xs, ys) = toy();
                let mut last = f64::INFINITY;
                for _ in 0..200 {
                    last = train_step(&m, &xs, &ys, 0.1);
                    if toy_loss(&m) < 0.01 {
                        return Ok(());
                    }
                }
                Err(Fail::Mismatch(format!("after 200 steps the loss is {:.4} (last step's loss {last:.4}), expected < 0.01; if it blows up or stalls, check that every step starts from zero gradients", toy_loss(&m))))
            }),
    ]
}
