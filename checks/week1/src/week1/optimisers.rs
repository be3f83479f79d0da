//! Checks for week1 day "optimisers": parameter trajectories of the learner's optimisers against
//! torch.optim on a 2-D test function and on a small MLP (fixtures/gen/week1_optimisers.py; the
//! gradients are computed here with candle's autograd), learning-rate schedules against
//! torch.optim.lr_scheduler, and the property that a zero learning rate moves nothing.

use crate::cases::{Case, FixtureFile};
use crate::check::{shape_is, CheckResult, Ctx, Fail, Learner};
use crate::compare::{close, close_with, exact, Candidate, Tol};
use crate::registry::{Day, Exercise};
use crate::subject::week1::optimisers as op;
use candle_core::{DType, Tensor, Var};

const FX: FixtureFile = FixtureFile::new("week1/optimisers.safetensors");

/// Trajectories are f32 and compound: each step's gradient is computed by candle (different
/// summation order from PyTorch in the MLP's matmuls and mean), and the small differences feed
/// into the next step; Adam and RMSprop divide by sqrt(v) + eps, which magnifies differences in
/// tiny gradients. Observed worst over all cases (CPU): 3.6e-7 absolute on the test function,
/// 7.0e-7 on the MLP (Adam), parameters of order 0.1–1. 2e-5 + 2e-5·|want| leaves >20× headroom; a
/// wrong rule (a missing bias correction, Nesterov's term, weight decay) moves the trajectory by
/// 1e-3 or more within the first steps.
const TRAJ: Tol = Tol { abs: 2e-5, rel: 2e-5 };
/// Learning rates are f64. PyTorch's schedulers update the rate recursively (multiplying or
/// adding a correction each step) where the exercises use the closed form; the two agree to
/// ~1e-15 relative after 40 steps.
const LR: Tol = Tol { abs: 1e-12, rel: 1e-9 };

/// Which fixture problem a case belongs to.
#[derive(Clone, Copy)]
enum Problem {
    /// f(x, y) = (1 − x)² + 5 (y − x²)², one parameter [2].
    Valley,
    /// Linear(4, 8) → tanh → Linear(8, 3), mean squared error on fixed data.
    Mlp,
}

const MLP_SHAPES: [&[usize]; 4] = [&[8, 4], &[8], &[3, 8], &[3]];

fn f(c: &Case, arg: &str) -> Result<f64, Fail> {
    c.f(arg)
}

/// The loss of the problem at `ps` (tensors of `Var`s or plain tensors).
fn loss(problem: Problem, c: &Case, ps: &[Tensor]) -> Result<Tensor, Fail> {
    Ok(match problem {
        Problem::Valley => {
            let x = ps[0].narrow(0, 0, 1).grader()?;
            let y = ps[0].narrow(0, 1, 1).grader()?;
            let a = x.affine(-1.0, 1.0).grader()?.sqr().grader()?;
            let b = ((y - x.sqr().grader()?).grader()?.sqr().grader()? * 5.0).grader()?;
            (a + b).grader()?.sum_all().grader()?
        }
        Problem::Mlp => {
            let (x, y) = (c.t("x")?, c.t("y")?);
            let h = x.matmul(&ps[0].t().grader()?).grader()?.broadcast_add(&ps[1]).grader()?.tanh().grader()?;
            let out = h.matmul(&ps[2].t().grader()?).grader()?.broadcast_add(&ps[3]).grader()?;
            (out - y).grader()?.sqr().grader()?.mean_all().grader()?
        }
    })
}

/// The initial parameters: row 0 of the expected trajectory, split into the problem's shapes.
fn init(problem: Problem, c: &Case) -> Result<Vec<Tensor>, Fail> {
    let row = c.out()?.get(0).grader()?;
    Ok(match problem {
        Problem::Valley => vec![row],
        Problem::Mlp => {
            let mut at = 0;
            let mut v = Vec::new();
            for s in MLP_SHAPES {
                let n: usize = s.iter().product();
                v.push(row.narrow(0, at, n).grader()?.reshape(s).grader()?);
                at += n;
            }
            v
        }
    })
}

/// One optimiser step on (parameters, gradients).
type StepFn<'a> = dyn FnMut(&mut [Tensor], &[Tensor]) -> candle_core::Result<()> + 'a;

/// Run `steps` optimiser steps from `params`, with gradients from candle's autograd; returns
/// the trajectory `[steps + 1, total parameter count]`.
fn run(problem: Problem, c: &Case, mut params: Vec<Tensor>, steps: usize, step: &mut StepFn) -> Result<Tensor, Fail> {
    let shapes: Vec<Vec<usize>> = params.iter().map(|p| p.dims().to_vec()).collect();
    let flat = |ps: &[Tensor]| -> Result<Tensor, Fail> {
        Tensor::cat(&ps.iter().map(|p| p.flatten_all()).collect::<candle_core::Result<Vec<_>>>().grader()?, 0).grader()
    };
    let mut rows = vec![flat(&params)?];
    for k in 0..steps {
        let vars: Vec<Var> = params.iter().map(Var::from_tensor).collect::<candle_core::Result<_>>().grader()?;
        let ts: Vec<Tensor> = vars.iter().map(|v| v.as_tensor().clone()).collect();
        let store = loss(problem, c, &ts)?.backward().grader()?;
        let grads: Vec<Tensor> = vars
            .iter()
            .enumerate()
            .map(|(i, v)| store.get(v.as_tensor()).cloned().ok_or_else(|| Fail::Internal(format!("no gradient for parameter {i}"))))
            .collect::<Result<_, _>>()?;
        step(&mut params, &grads).learner()?;
        for (i, (p, s)) in params.iter().zip(&shapes).enumerate() {
            shape_is(&format!("parameter {i} after step {}", k + 1), p, s)?;
            if p.dtype() != DType::F32 {
                return Err(Fail::Mismatch(format!("parameter {i} after step {}: dtype {:?}, expected F32", k + 1, p.dtype())));
            }
        }
        rows.push(flat(&params)?);
    }
    Tensor::stack(&rows, 0).grader()
}

/// What each stored wrong trajectory means.
fn describe(what: &str) -> &'static str {
    match what {
        "no_nesterov" => "plain momentum: Nesterov's update uses g + momentum · b, not b",
        "no_weight_decay" => "the trajectory without weight decay: add weight_decay · p to the gradient",
        "no_momentum" => "RMSprop without momentum: with momentum > 0, b ← momentum · b + g / d and p ← p − lr · b",
        "no_bias_correction" => "Adam without bias correction: divide lr by 1 − beta1ᵗ and sqrt(v) by sqrt(1 − beta2ᵗ)",
        "l2" => "Adam's L2 weight decay (added to the gradient); AdamW shrinks p by (1 − lr · weight_decay) instead",
        _ => "a known wrong variant",
    }
}

/// Every case of `name` on `problem`, run with the optimiser `make` builds from the case.
fn trajectories<S>(
    ctx: &Ctx,
    name: &'static str,
    problem: Problem,
    make: impl Fn(&Case) -> Result<S, Fail>,
    step: fn(&mut S, &mut [Tensor], &[Tensor]) -> candle_core::Result<()>,
) -> CheckResult {
    for c in FX.cases(ctx, name)? {
        let want = c.out()?;
        let mut opt = make(&c)?;
        let got = run(problem, &c, init(problem, &c)?, want.dim(0).on_learner()? - 1, &mut |p, g| step(&mut opt, p, g))?;
        let mut cands = Vec::new();
        let prefix = format!("diag.{name}.{}.", c.k);
        for key in c.fx.names_with_prefix(&prefix) {
            cands.push(Candidate { description: describe(&key[prefix.len()..]), tensor: c.fx.get(&key)? });
        }
        let what = match problem {
            Problem::Valley => "[x, y] on f = (1 − x)² + 5(y − x²)²",
            Problem::Mlp => "the MLP's parameters (w1, b1, w2, b2 flattened)",
        };
        close_with(&format!("{what}, row = step: {}", c.label()), &got, &want, TRAJ, &cands)?;
    }
    Ok(())
}

/// With lr = 0 (every other hyperparameter on), three steps must leave the MLP's parameters
/// bit-for-bit unchanged: an independent property of every update rule here.
fn lr_zero_moves_nothing<S>(ctx: &Ctx, opt: S, step: fn(&mut S, &mut [Tensor], &[Tensor]) -> candle_core::Result<()>) -> CheckResult {
    let c = FX.cases(ctx, "sgd_mlp")?.remove(0);
    let start = init(Problem::Mlp, &c)?;
    let mut opt = opt;
    let got = run(Problem::Mlp, &c, start.clone(), 3, &mut |p, g| step(&mut opt, p, g))?;
    let row0 = got.get(0).on_learner()?;
    for k in 1..4 {
        exact(&format!("MLP parameters after step {k} with lr = 0"), &got.get(k).on_learner()?, &row0)?;
    }
    Ok(())
}

/// The rules forbid candle-nn's optimisers anywhere in the file (comments aside).
fn no_candle_optim(_: &Ctx) -> CheckResult {
    let path = crate::subject::source_dir("week1").join("src/optimisers.rs");
    let src = std::fs::read_to_string(&path).map_err(|e| Fail::Internal(format!("cannot read {}: {e}", path.display())))?;
    let code: String = src.lines().map(|l| l.split("//").next().unwrap_or("")).collect::<Vec<_>>().join("\n");
    for bad in ["candle_nn::optim", "ParamsAdamW", "Optimizer"] {
        if code.contains(bad) {
            return Err(Fail::Mismatch(format!("optimisers.rs uses {bad}: the rules forbid candle-nn's optimisers (write the update yourself)")));
        }
    }
    Ok(())
}

fn sgd(c: &Case) -> Result<op::Sgd, Fail> {
    Ok(op::Sgd::new(f(c, "lr")?, f(c, "momentum")?, f(c, "weight_decay")?, c.n("nesterov")? == 1))
}
fn rmsprop(c: &Case) -> Result<op::RmsProp, Fail> {
    Ok(op::RmsProp::new(f(c, "lr")?, f(c, "alpha")?, f(c, "eps")?, f(c, "weight_decay")?, f(c, "momentum")?))
}
fn adam(c: &Case) -> Result<op::Adam, Fail> {
    Ok(op::Adam::new(f(c, "lr")?, f(c, "beta1")?, f(c, "beta2")?, f(c, "eps")?, f(c, "weight_decay")?))
}
fn adamw(c: &Case) -> Result<op::Adam, Fail> {
    Ok(op::Adam::adamw(f(c, "lr")?, f(c, "beta1")?, f(c, "beta2")?, f(c, "eps")?, f(c, "weight_decay")?))
}

/// A schedule against PyTorch's learning rates at t = 0, 1, ….
fn schedule(ctx: &Ctx, name: &'static str, lr_at: impl Fn(&Case, usize) -> Result<f64, Fail>) -> CheckResult {
    for c in FX.cases(ctx, name)? {
        let want = c.out()?;
        let got: Vec<f64> = (0..want.dim(0).grader()?).map(|t| lr_at(&c, t)).collect::<Result<_, _>>()?;
        let got = Tensor::new(got, want.device()).grader()?;
        close(&format!("learning rate at t = 0, 1, …: {}", c.label()), &got, &want, LR)?;
    }
    Ok(())
}

const DAY: Day = Day::new("week1", "optimisers", "src/optimisers.rs");

/// Three steps of an optimiser (`step`) on fixed gradients against `rule(p, g, state)`, its
/// update of one f64 parameter (`state`: three slots of per-parameter state, starting at 0).
fn three_steps(
    ctx: &Ctx,
    what: &str,
    mut step: impl FnMut(&mut [Tensor], &[Tensor]) -> candle_core::Result<()>,
    rule: impl Fn(f64, f64, &mut [f64; 3]) -> f64,
) -> CheckResult {
    let p0 = [0.5f64, -1.5, 2.0];
    let grads = [[0.1f64, -0.2, 0.3], [0.05, 0.1, -0.4], [-0.3, 0.2, 0.1]];
    let dev = &ctx.device;
    let mut params = vec![Tensor::new(&p0.map(|v| v as f32), dev).grader()?];
    let (mut p, mut st) = (p0, [[0f64; 3]; 3]);
    for g in &grads {
        step(&mut params, &[Tensor::new(&g.map(|x| x as f32), dev).grader()?]).learner()?;
        for k in 0..3 {
            p[k] = rule(p[k], g[k], &mut st[k]);
        }
    }
    // Three f32 steps of size ~lr: rounding ~1e-7; a skipped decay or momentum moves p by ~1e-2.
    close(&format!("{what}: parameters after 3 steps"), &params[0], &Tensor::new(&p.map(|x| x as f32), dev).grader()?, Tol { abs: 1e-5, rel: 1e-5 })
}

/// Three steps of Adam (or AdamW) with weight decay exactly 1 (a value where "is there a
/// weight decay?" tests must not misfire), against the update rule in f64.
fn decay_one(ctx: &Ctx, decoupled: bool) -> CheckResult {
    let (lr, b1, b2, eps, wd) = (0.01, 0.9, 0.999, 1e-8, 1.0);
    let mut opt = if decoupled { op::Adam::adamw(lr, b1, b2, eps, wd) } else { op::Adam::new(lr, b1, b2, eps, wd) };
    let what = format!("Adam{}, weight decay 1", if decoupled { "W" } else { "" });
    // State: the two moments, and the step count t.
    three_steps(
        ctx,
        &what,
        |p, g| opt.step(p, g),
        |p, g, st| {
            let (p, g) = if decoupled { (p * (1.0 - lr * wd), g) } else { (p, g + wd * p) };
            st[2] += 1.0;
            let t = st[2] as i32;
            st[0] = b1 * st[0] + (1.0 - b1) * g;
            st[1] = b2 * st[1] + (1.0 - b2) * g * g;
            p - lr / (1.0 - b1.powi(t)) * st[0] / (st[1].sqrt() / (1.0 - b2.powi(t)).sqrt() + eps)
        },
    )
}

pub fn exercises() -> Vec<Exercise> {
    vec![
        DAY.exercise("sgd", "SGD with momentum, Nesterov and weight decay")
            .pace(3, 50)
            .check("no candle-nn optimisers", no_candle_optim)
            .check("15 steps on a 2-D valley vs torch.optim.SGD (5 settings)", |ctx| trajectories(ctx, "sgd", Problem::Valley, sgd, op::Sgd::step))
            .check("12 steps on a small MLP vs torch.optim.SGD (5 settings)", |ctx| trajectories(ctx, "sgd_mlp", Problem::Mlp, sgd, op::Sgd::step))
            .check("lr = 0 leaves the parameters unchanged", |ctx| lr_zero_moves_nothing(ctx, op::Sgd::new(0.0, 0.9, 0.1, true), op::Sgd::step))
            .check("weight decay 1, then momentum 1, three steps each vs SGD in f64", |ctx| {
                for (momentum, wd, nesterov) in [(0.5, 1.0, false), (1.0, 0.0, false), (1.0, 1.0, true)] {
                    let mut opt = op::Sgd::new(0.01, momentum, wd, nesterov);
                    three_steps(
                        ctx,
                        &format!("SGD momentum {momentum}, weight decay {wd}, nesterov {nesterov}"),
                        |p, g| opt.step(p, g),
                        |p, g, st| {
                            let g = g + wd * p;
                            st[0] = if st[1] == 0.0 { g } else { momentum * st[0] + g };
                            st[1] = 1.0;
                            let g = if nesterov { g + momentum * st[0] } else { st[0] };
                            p - 0.01 * g
                        },
                    )?;
                }
                Ok(())
            }),
        DAY.exercise("rmsprop", "RMSprop (with momentum)")
            .pace(3, 60)
            .check("no candle-nn optimisers", no_candle_optim)
            .check("15 steps on a 2-D valley vs torch.optim.RMSprop (3 settings)", |ctx| {
                trajectories(ctx, "rmsprop", Problem::Valley, rmsprop, op::RmsProp::step)
            })
            .check("12 steps on a small MLP vs torch.optim.RMSprop (3 settings)", |ctx| {
                trajectories(ctx, "rmsprop_mlp", Problem::Mlp, rmsprop, op::RmsProp::step)
            })
            .check("lr = 0 leaves the parameters unchanged", |ctx| lr_zero_moves_nothing(ctx, op::RmsProp::new(0.0, 0.9, 1e-8, 0.1, 0.9), op::RmsProp::step))
            .check("weight decay 1, with and without momentum, three steps vs RMSprop in f64", |ctx| {
                for momentum in [0.0, 0.9] {
                    let (lr, alpha, eps, wd) = (0.01, 0.9, 1e-8, 1.0);
                    let mut opt = op::RmsProp::new(lr, alpha, eps, wd, momentum);
                    three_steps(
                        ctx,
                        &format!("RMSprop momentum {momentum}, weight decay 1"),
                        |p, g| opt.step(p, g),
                        |p, g, st| {
                            let g = g + wd * p;
                            st[0] = alpha * st[0] + (1.0 - alpha) * g * g;
                            let d = st[0].sqrt() + eps;
                            if momentum > 0.0 {
                                st[1] = momentum * st[1] + g / d;
                                p - lr * st[1]
                            } else {
                                p - lr * g / d
                            }
                        },
                    )?;
                }
                Ok(())
            }),
        DAY.exercise("adam", "Adam with bias correction")
            .pace(1, 10)
            .check("no candle-nn optimisers", no_candle_optim)
            .check("15 steps on a 2-D valley vs torch.optim.Adam (3 settings)", |ctx| trajectories(ctx, "adam", Problem::Valley, adam, op::Adam::step))
            .check("12 steps on a small MLP vs torch.optim.Adam (3 settings)", |ctx| trajectories(ctx, "adam_mlp", Problem::Mlp, adam, op::Adam::step))
            .check("lr = 0 leaves the parameters unchanged", |ctx| lr_zero_moves_nothing(ctx, op::Adam::new(0.0, 0.9, 0.999, 1e-8, 0.1), op::Adam::step))
            .check("weight decay 1 (the L2 term), three steps vs Adam in f64", |ctx| decay_one(ctx, false)),
        DAY.exercise("adamw", "AdamW: decoupled weight decay")
            .pace(3, 70)
            .check("no candle-nn optimisers", no_candle_optim)
            .check("15 steps on a 2-D valley vs torch.optim.AdamW (3 settings)", |ctx| trajectories(ctx, "adamw", Problem::Valley, adamw, op::Adam::step))
            .check("12 steps on a small MLP vs torch.optim.AdamW (3 settings)", |ctx| trajectories(ctx, "adamw_mlp", Problem::Mlp, adamw, op::Adam::step))
            .check("lr = 0 leaves the parameters unchanged", |ctx| lr_zero_moves_nothing(ctx, op::Adam::adamw(0.0, 0.9, 0.999, 1e-8, 0.5), op::Adam::step))
            .check("weight decay 1 (decoupled), three steps vs AdamW in f64", |ctx| decay_one(ctx, true)),
        DAY.exercise("step_lr", "StepLR: decay by gamma every step_size steps")
            .pace(1, 10)
            .check("vs torch.optim.lr_scheduler.StepLR (4 settings, 30 steps)", |ctx| {
                schedule(ctx, "step_lr", |c, t| Ok(op::step_lr(f(c, "base_lr")?, c.n("step_size")?, f(c, "gamma")?, t)))
            }),
        DAY.exercise("cosine_lr", "cosine annealing").pace(1, 10).check("vs torch.optim.lr_scheduler.CosineAnnealingLR (4 settings, t = 0..=t_max)", |ctx| {
            schedule(ctx, "cosine_lr", |c, t| Ok(op::cosine_lr(f(c, "base_lr")?, f(c, "eta_min")?, c.n("t_max")?, t)))
        }),
        DAY.exercise("linear_warmup", "linear warmup").pace(1, 10).check("vs torch.optim.lr_scheduler.LinearLR (4 settings, 30 steps)", |ctx| {
            schedule(ctx, "linear_warmup", |c, t| Ok(op::linear_warmup(f(c, "base_lr")?, f(c, "start_factor")?, c.n("warmup")?, t)))
        }),
        DAY.exercise("warmup_cosine", "warmup, then cosine decay").pace(2, 20).check(
            "vs torch SequentialLR(LinearLR, CosineAnnealingLR) (3 settings)",
            |ctx| {
                schedule(ctx, "warmup_cosine", |c, t| {
                    Ok(op::warmup_cosine(f(c, "base_lr")?, f(c, "start_factor")?, c.n("warmup")?, c.n("total")?, f(c, "eta_min")?, t))
                })
            },
        ),
    ]
}
