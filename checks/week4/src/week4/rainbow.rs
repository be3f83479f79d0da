//! Checks for week4 day "rainbow": double-DQN targets, dueling heads (with gradients), n-step
//! targets, importance weights and the prioritised loss against torch
//! (fixtures/gen/week4_rainbow.py); the sum tree and stratified sampling by their defining
//! properties (the grader's own prefix scan, exact strata, a chi-square test against the
//! priorities); and (`--long`) CartPole solved with all of it, beside plain DQN.

use super::{argmax, cartpole_returns, grad_of};
use crate::cases::FixtureFile;
use crate::check::{ensure, Fail, Learner};
use crate::compare::{close, close_with, Candidate, Tol};
use crate::registry::{Day, Exercise};
use crate::subject::week4::{dqn as dq, rainbow as rb};
use candle_core::{Tensor, Var, D};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::time::Duration;

const FX: FixtureFile = FixtureFile::new("week4/rainbow.safetensors");

/// A handful of f32 operations on values of order 1–10 (a gather, a product, a sum of ≤ 5
/// discounted terms, a mean of ≤ 10): a few ulps apart from torch's order of evaluation.
const TOL: Tol = Tol::F32;

/// Priorities for the tree checks: some zero, the rest spread over three orders of magnitude.
fn priorities(n: usize, seed: u64) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n).map(|i| if i % 7 == 3 { 0.0 } else { 10f64.powf(rng.random_range(-1.5..1.5)) }).collect()
}

/// The first slot whose running sum exceeds `mass`, by a plain scan (the grader's own), and
/// how close `mass` sits to a running-sum boundary.
fn scan(p: &[f64], mass: f64) -> (usize, f64) {
    let (mut run, mut gap) = (0.0, f64::INFINITY);
    let mut found = None;
    for (i, &v) in p.iter().enumerate() {
        run += v;
        gap = gap.min((run - mass).abs());
        if found.is_none() && mass < run && v > 0.0 {
            found = Some(i);
        }
    }
    (found.unwrap_or_else(|| p.iter().rposition(|&v| v > 0.0).unwrap_or(0)), gap)
}

const DAY: Day = Day::new("week4", "rainbow", "src/rainbow.rs");

pub fn exercises() -> Vec<Exercise> {
    vec![
        DAY.exercise("double_target", "double DQN: the online network chooses, the target network values").pace(2, 20).function("double_target")
            .check("vs torch", |ctx| {
                for c in FX.cases(ctx, "double_target")? {
                    let (r, on, tg, d, g) = (c.t("rewards")?, c.t("next_q_online")?, c.t("next_q_target")?, c.t("dones")?, c.f("gamma")?);
                    let got = rb::double_target(&r, &on, &tg, &d, g).learner()?;
                    let with = |best: Tensor| -> Result<Tensor, Fail> { (&r + (best * d.affine(-1.0, 1.0).grader()?).grader()?.affine(g, 0.0).grader()?).grader() };
                    let no_mask = Candidate { description: "the target without the (1 − done) mask: a terminal transition has no next state to bootstrap from", tensor: (&r + (on_choice(&on, &tg)? * g).grader()?).grader()? };
                    let plain = Candidate { description: "plain DQN's target: the max of the target network's values (the online network must choose the action)", tensor: with(tg.max(D::Minus1).grader()?)? };
                    let online = Candidate { description: "the online network's own max: the target network must value the chosen action", tensor: with(on.max(D::Minus1).grader()?)? };
                    let swapped = Candidate {
                        description: "the networks' roles swapped: the target network chose and the online one valued",
                        tensor: with(on.gather(&tg.argmax_keepdim(D::Minus1).grader()?, D::Minus1).grader()?.squeeze(D::Minus1).grader()?)?,
                    };
                    close_with(&c.label(), &got, &c.out()?, TOL, &[plain, online, swapped, no_mask])?;
                }
                Ok(())
            }),
        DAY.exercise("dueling", "dueling heads: Q = V + A − mean A").pace(1, 15).function("dueling_q")
            .check("vs torch (value, and the gradients of both heads)", |ctx| {
                for c in FX.cases(ctx, "dueling")? {
                    let (v, a, w) = (Var::from_tensor(&c.t("value")?).grader()?, Var::from_tensor(&c.t("advantage")?).grader()?, c.t("weight")?);
                    let got = rb::dueling_q(v.as_tensor(), a.as_tensor()).learner()?;
                    let (vt, at) = (v.as_tensor(), a.as_tensor());
                    let no_mean = Candidate { description: "V + A without subtracting the mean advantage", tensor: vt.broadcast_add(at).grader()? };
                    let max = Candidate { description: "V + A − max A: the original paper's first variant; the mean is what torch's reference (and Rainbow) use", tensor: vt.broadcast_add(&at.broadcast_sub(&at.max_keepdim(1).grader()?).grader()?).grader()? };
                    close_with(&c.label(), &got, &c.out()?, TOL, &[no_mean, max])?;
                    let loss = (&got * &w).on_learner()?.sum_all().on_learner()?;
                    let grads = loss.backward().learner()?;
                    for (name, var, want) in [("value", &v, "grad_value"), ("advantage", &a, "grad_advantage")] {
                        let g = grads.get(var.as_tensor()).cloned().ok_or_else(|| Fail::Mismatch(format!("no gradient reached the {name} head: the result is not connected to it")))?;
                        close(&format!("d sum(Q · w) / d {name}, {}", c.label()), &g, &c.t(want)?, TOL)?;
                    }
                }
                Ok(())
            }),
        DAY.exercise("n_step", "n-step targets that stop at the end of an episode").pace(2, 30).function("n_step_target")
            .check("vs torch", |ctx| {
                for c in FX.cases(ctx, "n_step")? {
                    let (r, d, boot, g) = (c.t("rewards")?, c.t("dones")?, c.t("bootstrap")?, c.f("gamma")?);
                    let got = rb::n_step_target(&r, &d, &boot, g).learner()?;
                    let n = r.dim(1).grader()?;
                    let discounts = Tensor::new((0..n).map(|k| g.powi(k as i32) as f32).collect::<Vec<_>>(), r.device()).grader()?;
                    let summed = r.broadcast_mul(&discounts).grader()?.sum(1).grader()?;
                    let ignore_dones = Candidate { description: "every reward of the window and the bootstrap counted even after a done: a done ends the episode", tensor: (&summed + (&boot * g.powi(n as i32)).grader()?).grader()? };
                    let short_boot = Candidate {
                        description: "the bootstrap discounted by γ^(n−1): the state it values is n steps away, so γ^n",
                        tensor: (&summed + (&boot * g.powi(n as i32 - 1)).grader()?).grader()?,
                    };
                    let early = Candidate {
                        description: "the n-step target without the reward of the step that ends the episode: a done at step k ends the episode after reward k, which still counts",
                        tensor: early_stop(&r, &d, &boot, g)?,
                    };
                    close_with(&c.label(), &got, &c.out()?, TOL, &[ignore_dones, short_boot, early])?;
                }
                Ok(())
            }),
        DAY.exercise("sum_tree", "a sum tree: set a priority, find where a mass falls").pace(3, 45).function("set")
            .check("every sum above a slot follows its changes", |_ctx| {
                for (cap, seed) in [(1usize, 0u64), (5, 1), (16, 2), (100, 3)] {
                    let mut tree = rb::SumTree::new(cap);
                    let mut p = vec![0.0; cap];
                    let mut rng = ChaCha8Rng::seed_from_u64(seed);
                    for round in 0..3 * cap + 2 {
                        let i = rng.random_range(0..cap);
                        let v = if round % 5 == 4 { 0.0 } else { priorities(1, seed * 1000 + round as u64)[0] };
                        tree.set(i, v);
                        p[i] = v;
                    }
                    let want: f64 = p.iter().sum();
                    // Sums of ≤ 100 values below 32: rounding in another order stays far below 1e-9.
                    ensure((tree.total() - want).abs() <= 1e-9 * want.max(1.0), || format!("capacity {cap}: total() = {} after {} sets, but the priorities sum to {want}", tree.total(), 3 * cap + 2))?;
                    for (i, &v) in p.iter().enumerate() {
                        ensure(tree.priority(i) == v, || format!("capacity {cap}: slot {i} holds {}, but it was last set to {v}", tree.priority(i)))?;
                    }
                    for k in 1..tree.leaves {
                        let (node, kids) = (tree.nodes[k], tree.nodes[2 * k] + tree.nodes[2 * k + 1]);
                        ensure((node - kids).abs() <= 1e-9 * want.max(1.0), || format!("capacity {cap}: node {k} holds {node}, but its children (nodes {} and {}) sum to {kids}: every node on the way from a slot to the root must be updated", 2 * k, 2 * k + 1))?;
                    }
                }
                Ok(())
            })
            .check("find agrees with a plain prefix scan", |_ctx| {
                for (cap, seed) in [(1usize, 10u64), (6, 11), (64, 12), (333, 13)] {
                    let mut tree = rb::SumTree::new(cap);
                    let p = priorities(cap, seed).into_iter().enumerate().map(|(i, v)| if cap == 1 && i == 0 { 2.5 } else { v }).collect::<Vec<_>>();
                    for (i, &v) in p.iter().enumerate() {
                        tree.set(i, v);
                    }
                    let total: f64 = p.iter().sum();
                    let mut rng = ChaCha8Rng::seed_from_u64(seed);
                    for _ in 0..2000 {
                        let mass = rng.random::<f64>() * total;
                        let (want, gap) = scan(&p, mass);
                        // Within 1e-9 of a boundary, another order of summation may pick the
                        // neighbour: those masses are skipped.
                        if gap < 1e-9 * total {
                            continue;
                        }
                        let got = tree.find(mass);
                        ensure(got == want, || {
                            let below: f64 = p[..want].iter().sum();
                            format!("capacity {cap}: find({mass:.6}) = {got}, expected slot {want} (its priorities run from {below:.6} to {:.6}; slot {got} holds {:?})", below + p[want], p.get(got))
                        })?;
                    }
                }
                Ok(())
            })
            .check("never a slot of priority 0, even at the total", |_ctx| {
                for (cap, live) in [(8usize, vec![0usize]), (8, vec![7]), (13, vec![3, 4]), (40, vec![39])] {
                    let mut tree = rb::SumTree::new(cap);
                    for &i in &live {
                        tree.set(i, 0.3);
                    }
                    let total = tree.total();
                    for mass in [0.0, total * 0.5, total * (1.0 - 1e-12), total, total * (1.0 + 1e-12)] {
                        let got = tree.find(mass);
                        ensure(live.contains(&got), || format!("capacity {cap} with priority only at slots {live:?}: find({mass}) = {got}, a slot of priority 0 (total {total}); step right only into a subtree whose sum is positive"))?;
                    }
                }
                Ok(())
            }),
        DAY.exercise("prioritised_sampling", "stratified sampling in proportion to priority").pace(2, 20).function("sample_prioritised")
            .check("one draw per stratum (equal priorities, n = slots: every slot once, in order)", |_ctx| {
                let mut tree = rb::SumTree::new(12);
                for i in 0..12 {
                    tree.set(i, 1.0);
                }
                let got = rb::sample_prioritised(&tree, 12, &mut ChaCha8Rng::seed_from_u64(5));
                ensure(got == (0..12).collect::<Vec<_>>(), || format!("12 draws over 12 equal priorities gave {got:?}: stratified sampling draws one mass inside each of 12 equal segments, so slot j comes from segment j"))
            })
            .check("frequencies follow the priorities (chi-square)", |ctx| {
                let p = priorities(23, 6);
                let mut tree = rb::SumTree::new(23);
                for (i, &v) in p.iter().enumerate() {
                    tree.set(i, v);
                }
                let mut counts = vec![0u64; 23];
                let mut rng = ChaCha8Rng::seed_from_u64(7);
                let (rounds, n) = (400, 64);
                for _ in 0..rounds {
                    let got = rb::sample_prioritised(&tree, n, &mut rng);
                    ensure(got.len() == n, || format!("asked for {n} slots, got {}", got.len()))?;
                    for i in got {
                        ensure(i < 23, || format!("slot {i} drawn from a tree of 23 slots"))?;
                        counts[i] += 1;
                    }
                }
                // Stratified draws vary less than independent ones, so the chi-square statistic is,
                // if anything, smaller; the bound is the independent test's, at a false-alarm rate of 1e-6.
                let (stat, df, pv) = crate::stats::chi_square(&counts, &p);
                let total: f64 = p.iter().sum();
                let draws = (rounds * n) as f32;
                let observed: Vec<f32> = counts.iter().map(|&c| c as f32 / draws).collect();
                let expected: Vec<f32> = p.iter().map(|&v| (v / total) as f32).collect();
                let path = ctx.artefact("week4/prioritised_sampling.png")?;
                crate::picture::lines(&path, &[&expected, &observed], 480, 200)?;
                ctx.note(format!("chi-square {stat:.1} ({df} degrees of freedom, p = {pv:.2e}, needs ≥ 1e-6); the picture: each slot's share of the priority (blue) and of the draws (red)"));
                ensure(pv >= 1e-6, || format!("counts per slot {counts:?} over {} draws against priorities {:?}: chi-square {stat:.1}, p = {pv:.1e} < 1e-6", rounds * n, p.iter().map(|v| (v * 100.0).round() / 100.0).collect::<Vec<_>>()))
            }),
        DAY.exercise("importance_weights", "importance weights (N·P)^−β, normalised by the largest").pace(1, 15).function("importance_weights")
            .check("vs torch", |ctx| {
                for c in FX.cases(ctx, "importance")? {
                    let (p, size, beta) = (c.t("probs")?, c.f("size")?, c.f("beta")?);
                    let got = rb::importance_weights(&p, size as usize, beta).learner()?;
                    let raw = (&p * size).grader()?.powf(-beta).grader()?;
                    let unnormalised = Candidate { description: "(N·P)^−β without dividing by the batch's largest weight", tensor: raw.clone() };
                    let pos = (&p * size).grader()?.powf(beta).grader()?;
                    let sign = Candidate { description: "(N·P)^β: the exponent is −β (a transition drawn more often than 1/N gets a smaller weight)", tensor: pos.broadcast_div(&pos.max_keepdim(0).grader()?).grader()? };
                    close_with(&c.label(), &got, &c.out()?, TOL, &[unnormalised, sign])?;
                }
                Ok(())
            }),
        DAY.exercise("per_loss", "the importance-weighted Huber loss and new priorities").pace(2, 20).function("per_loss")
            .check("vs torch (loss, its gradient, the TD errors)", |ctx| {
                for c in FX.cases(ctx, "per_loss")? {
                    let (q, a, y, w) = (c.t("q")?, c.t("actions")?, c.t("targets")?, c.t("weights")?);
                    let x = Var::from_tensor(&q).grader()?;
                    let (loss, td) = rb::per_loss(x.as_tensor(), &a, &y, &w).learner()?;
                    let picked = q.gather(&a.unsqueeze(1).grader()?, 1).grader()?.squeeze(1).grader()?;
                    let unweighted = Candidate { description: "the plain DQN loss: each sample's Huber cost must be multiplied by its importance weight", tensor: dq_huber(&picked, &y)?.mean_all().grader()? };
                    let mse = Candidate { description: "a weighted half squared error: the cost is Huber's (linear beyond |d| = 1)", tensor: ((&picked - &y).grader()?.sqr().grader()? * 0.5).grader()?.mul(&w).grader()?.mean_all().grader()? };
                    close_with(&c.label(), &loss, &c.out()?, TOL, &[unweighted, mse])?;
                    close(&format!("d loss / d q, {}", c.label()), &grad_of(&loss, &x, "q")?, &c.t("grad")?, TOL)?;
                    close(&format!("TD errors |q[a] − y|, {}", c.label()), &td, &c.t("td")?, TOL)?;
                }
                Ok(())
            })
            .check("gradients reach q only; the TD errors carry none", |ctx| {
                let c = &FX.cases(ctx, "per_loss")?[1];
                let (q, y, w) = (Var::from_tensor(&c.t("q")?).grader()?, Var::from_tensor(&c.t("targets")?).grader()?, Var::from_tensor(&c.t("weights")?).grader()?);
                let (loss, td) = rb::per_loss(q.as_tensor(), &c.t("actions")?, y.as_tensor(), w.as_tensor()).learner()?;
                let grads = loss.backward().learner()?;
                for (name, v) in [("targets", &y), ("weights", &w)] {
                    let leak = match grads.get(v.as_tensor()) {
                        Some(g) => g.abs().grader()?.sum_all().grader()?.to_scalar::<f32>().grader()?,
                        None => 0.0,
                    };
                    ensure(leak == 0.0, || format!("the {name} received a gradient (|g| summed = {leak}): they are fixed inputs, detach them"))?;
                }
                let through = td.sum_all().on_learner()?.backward().map(|g| g.get(q.as_tensor()).is_some()).unwrap_or(false);
                ensure(!through, || "the TD errors carry a gradient back to q: return them detached (they only set priorities)".into())
            }),
        DAY.exercise("rainbow_cartpole", "Rainbow-lite solves CartPole (long)").pace(3, 90).function("train_rainbow")
            .long()
            .timeout(Duration::from_secs(2400))
            .check("greedy mean return ≥ 475 over 100 episodes; steps beside plain DQN's", |ctx| {
                let start = std::time::Instant::now();
                let run = rb::train_rainbow(&rb::RainbowConfig::default(), &mut ChaCha8Rng::seed_from_u64(0), &ctx.device).learner()?;
                let secs = start.elapsed().as_secs_f64();
                let rets = cartpole_returns(100, 1234, |o| {
                    let q = run.net.forward(&Tensor::from_slice(o, (1, 4), &ctx.device).on_learner()?).learner()?.flatten_all().on_learner()?.to_vec1::<f32>().on_learner()?;
                    Ok(argmax(&q) == 1)
                })?;
                let mean = rets.iter().sum::<f32>() / rets.len() as f32;
                ctx.note(format!("Rainbow-lite: {} environment steps, {} training episodes, {secs:.0}s; greedy mean return {mean:.1} over 100 episodes", run.steps, run.episode_returns.len()));
                // Plain DQN from the same week on the same seed, for comparison only: its own
                // exercise grades it.
                let start = std::time::Instant::now();
                let dqn = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| dq::train_dqn(&dq::DqnConfig::default(), &mut ChaCha8Rng::seed_from_u64(0), &ctx.device)));
                match dqn {
                    Ok(Ok(d)) => {
                        ctx.note(format!("plain DQN (week4.dqn.dqn_cartpole, same seed): {} environment steps, {:.0}s", d.steps, start.elapsed().as_secs_f64()));
                        let path = ctx.artefact("week4/rainbow_vs_dqn.png")?;
                        let (a, b) = (by_step(&run.episode_returns), by_step(&d.episode_returns));
                        let len = a.len().max(b.len());
                        let pad = |mut v: Vec<f32>| {
                            v.resize(len, f32::NAN);
                            v
                        };
                        crate::picture::lines(&path, &[&pad(a), &pad(b)], 560, 240)?;
                        ctx.note("the picture: training returns against environment steps, Rainbow-lite (blue) and plain DQN (red)");
                    }
                    _ => ctx.note("plain DQN (week4.dqn.dqn_cartpole) did not run, so there is nothing to compare with yet"),
                }
                ensure(mean >= 475.0, || format!("greedy mean return {mean:.1} over 100 episodes, needs ≥ 475"))
            }),
    ]
}

/// `next_q_target[i, argmax_a next_q_online[i, a]]`, by the grader.
fn on_choice(online: &Tensor, target: &Tensor) -> Result<Tensor, Fail> {
    target.gather(&online.argmax_keepdim(D::Minus1).grader()?, D::Minus1).grader()?.squeeze(D::Minus1).grader()
}

/// The n-step target with each done applied before its own reward (the classic slip), by the
/// grader on the host.
fn early_stop(r: &Tensor, d: &Tensor, boot: &Tensor, g: f64) -> Result<Tensor, Fail> {
    let (rv, dv, bv) = (r.to_vec2::<f32>().grader()?, d.to_vec2::<f32>().grader()?, boot.to_vec1::<f32>().grader()?);
    let out: Vec<f32> = rv
        .iter()
        .zip(&dv)
        .zip(&bv)
        .map(|((rs, ds), &b)| {
            let (mut total, mut alive) = (0f64, 1f64);
            for (k, (&rk, &dk)) in rs.iter().zip(ds).enumerate() {
                alive *= 1.0 - dk as f64;
                total += alive * g.powi(k as i32) * rk as f64;
            }
            (total + alive * g.powi(rs.len() as i32) * b as f64) as f32
        })
        .collect();
    Tensor::new(out, r.device()).grader()
}

/// Each sample's Huber cost (δ = 1), by the grader.
fn dq_huber(a: &Tensor, b: &Tensor) -> Result<Tensor, Fail> {
    let d = (a - b).grader()?.abs().grader()?;
    let m = d.minimum(1.0).grader()?;
    ((m.sqr().grader()? * 0.5).grader()? + (&d - &m).grader()?).grader()
}

/// The return of the last finished episode at every 250th environment step (a CartPole
/// episode's return is its length, so the steps are the running sum of the returns).
fn by_step(returns: &[f32]) -> Vec<f32> {
    let (mut out, mut step, mut last) = (Vec::new(), 0f32, f32::NAN);
    for &r in returns {
        let end = step + r;
        while (out.len() as f32 + 1.0) * 250.0 <= end {
            out.push(last);
        }
        last = r;
        step = end;
    }
    out
}
