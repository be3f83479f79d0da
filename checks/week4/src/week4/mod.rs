//! Week 4: reinforcement learning. One file per day, plus the grader's own helpers: its own
//! CartPole and tic-tac-toe solver (independent of the learner's, so that a trained agent is
//! judged by code the learner did not write), and small conversions.

use crate::check::{CheckResult, Fail, Learner};
use crate::registry::Exercise;
use candle_core::{Tensor, Var};
use rand::Rng;
use std::collections::HashMap;

pub mod dpo;
pub mod dqn;
pub mod environments;
pub mod lm_rl;
pub mod policy_gradients;
pub mod rainbow;
pub mod self_play;

pub fn exercises() -> Vec<Exercise> {
    let mut v = Vec::new();
    v.extend(environments::exercises());
    v.extend(dqn::exercises());
    v.extend(rainbow::exercises());
    v.extend(policy_gradients::exercises());
    v.extend(lm_rl::exercises());
    v.extend(dpo::exercises());
    v.extend(self_play::exercises());
    v
}

pub fn benches() -> Vec<crate::bench::Bench> {
    Vec::new()
}

/// A fixture vector as f32 values.
pub(crate) fn vecf(t: &Tensor) -> Result<Vec<f32>, Fail> {
    Ok(crate::compare::to_f64(t)?.into_iter().map(|v| v as f32).collect())
}

/// A 0./1. fixture vector as booleans.
pub(crate) fn bools(t: &Tensor) -> Result<Vec<bool>, Fail> {
    Ok(crate::compare::to_f64(t)?.into_iter().map(|v| v != 0.0).collect())
}

/// The gradient of `loss` with respect to `x`; a missing gradient fails loudly (never zero).
pub(crate) fn grad_of(loss: &Tensor, x: &Var, what: &str) -> Result<Tensor, Fail> {
    let grads = loss.backward().learner()?;
    grads.get(x.as_tensor()).cloned().ok_or_else(|| {
        Fail::Mismatch(format!(
            "no gradient reached {what}: the result is not connected to it (a detach, a softmax_last_dim, or values rebuilt from Vec<f32>?)"
        ))
    })
}

/// The grader's own CartPole (gymnasium's CartPole-v1 dynamics, written independently of the
/// learner's; `tests::grader_cartpole_matches_gymnasium` checks it against the fixture).
pub(crate) struct Pole {
    pub s: [f64; 4],
    pub t: usize,
}

impl Pole {
    pub fn reset(rng: &mut impl Rng) -> Pole {
        Pole { s: [0.0; 4].map(|_: f64| rng.random_range(-0.05..0.05)), t: 0 }
    }
    /// (terminated, truncated)
    pub fn step(&mut self, push_right: bool) -> (bool, bool) {
        let [x, v, th, w] = self.s;
        let f = if push_right { 10.0 } else { -10.0 };
        let (sn, cs) = th.sin_cos();
        let tmp = (f + 0.05 * (w * w) * sn) / 1.1;
        let acc_th = (9.8 * sn - cs * tmp) / (0.5 * (4.0 / 3.0 - 0.1 * (cs * cs) / 1.1));
        let acc_x = tmp - 0.05 * acc_th * cs / 1.1;
        self.s = [x + 0.02 * v, v + 0.02 * acc_x, th + 0.02 * w, w + 0.02 * acc_th];
        self.t += 1;
        let lim = 12.0 * 2.0 * std::f64::consts::PI / 360.0;
        let term = self.s[0].abs() > 2.4 || self.s[2].abs() > lim;
        (term, !term && self.t >= 500)
    }
    pub fn obs(&self) -> [f32; 4] {
        self.s.map(|v| v as f32)
    }
}

/// Returns of `episodes` CartPole episodes played by `act` (observation → push right?).
pub(crate) fn cartpole_returns(episodes: usize, seed: u64, mut act: impl FnMut(&[f32; 4]) -> Result<bool, Fail>) -> Result<Vec<f32>, Fail> {
    use rand::SeedableRng;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut out = Vec::new();
    for _ in 0..episodes {
        let mut env = Pole::reset(&mut rng);
        let mut ret = 0f32;
        loop {
            let (term, trunc) = env.step(act(&env.obs())?);
            ret += 1.0;
            if term || trunc {
                break;
            }
        }
        out.push(ret);
    }
    Ok(out)
}

/// The index of the largest value (first on ties).
pub(crate) fn argmax(v: &[f32]) -> usize {
    v.iter().enumerate().fold(0, |b, (i, &x)| if x > v[b] { i } else { b })
}

/// The grader's tic-tac-toe solver: minimax values (for X) of every reachable position,
/// written independently of the learner's.
pub(crate) struct Solver {
    pub value: HashMap<[i8; 9], i8>,
}

const LINES: [[usize; 3]; 8] = [[0, 1, 2], [3, 4, 5], [6, 7, 8], [0, 3, 6], [1, 4, 7], [2, 5, 8], [0, 4, 8], [2, 4, 6]];

pub(crate) fn won(b: &[i8; 9]) -> i8 {
    LINES.iter().find(|l| b[l[0]] != 0 && b[l[0]] == b[l[1]] && b[l[1]] == b[l[2]]).map(|l| b[l[0]]).unwrap_or(0)
}

pub(crate) fn mover(b: &[i8; 9]) -> i8 {
    if b.iter().map(|&c| c as i32).sum::<i32>() == 0 {
        1
    } else {
        -1
    }
}

impl Solver {
    pub fn new() -> Solver {
        let mut s = Solver { value: HashMap::new() };
        s.solve([0; 9]);
        s
    }
    fn solve(&mut self, b: [i8; 9]) -> i8 {
        if let Some(&v) = self.value.get(&b) {
            return v;
        }
        let w = won(&b);
        let v = if w != 0 || b.iter().all(|&c| c != 0) {
            w
        } else {
            let p = mover(&b);
            let mut best = -2 * p;
            for i in 0..9 {
                if b[i] == 0 {
                    let mut n = b;
                    n[i] = p;
                    let v = self.solve(n);
                    if (p == 1 && v > best) || (p == -1 && v < best) {
                        best = v;
                    }
                }
            }
            best
        };
        self.value.insert(b, v);
        v
    }
    /// Every optimal move of the player to move.
    pub fn best_moves(&self, b: &[i8; 9]) -> Vec<usize> {
        let p = mover(b);
        let v = self.value[b];
        (0..9)
            .filter(|&i| b[i] == 0)
            .filter(|&i| {
                let mut n = *b;
                n[i] = p;
                self.value[&n] == v
            })
            .collect()
    }
}

/// Fail unless `got` has `want`'s length (before comparing element by element).
pub(crate) fn same_len(label: &str, got: usize, want: usize) -> CheckResult {
    crate::check::ensure(got == want, || format!("{label}: {got} values, expected {want}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Ctx;
    use candle_core::Device;

    #[test]
    fn grader_cartpole_matches_gymnasium() {
        let ctx = Ctx::new(Device::Cpu, false);
        let fx = ctx.fixture("week4/cartpole.safetensors").unwrap();
        for k in 0..6 {
            let init = fx.get(&format!("cartpole.{k}.init")).unwrap().to_vec1::<f64>().unwrap();
            let actions = fx.values(&format!("cartpole.{k}.actions")).unwrap();
            let states = fx.get(&format!("cartpole.{k}.states")).unwrap().to_vec2::<f64>().unwrap();
            let mut env = Pole { s: [init[0], init[1], init[2], init[3]], t: 0 };
            for (t, a) in actions.iter().enumerate() {
                let (term, trunc) = env.step(*a == 1.0);
                for (got, want) in env.s.iter().zip(&states[t]) {
                    assert!((got - want).abs() < 1e-9, "case {k} step {t}");
                }
                assert_eq!(term || trunc, t + 1 == actions.len(), "case {k} step {t}");
            }
        }
    }

    #[test]
    fn grader_solver_matches_fixture() {
        let ctx = Ctx::new(Device::Cpu, false);
        let j = ctx.json("week4/tictactoe.json").unwrap();
        let s = Solver::new();
        let pos = j["positions"].as_array().unwrap();
        assert_eq!(pos.len(), s.value.len());
        for p in pos {
            let (b, v) = super::environments::parse_position(p.as_str().unwrap()).unwrap();
            assert_eq!(s.value[&b], v.1);
        }
    }
}
