//! Checks for week4 day "environments": CartPole against gymnasium's own episodes
//! (fixtures/gen/week4_environments.py) and tic-tac-toe's winner and minimax value against every
//! reachable position, solved by an independent Python search.

use crate::cases::FixtureFile;
use crate::check::{ensure, Ctx, Fail, Learner};
use crate::registry::{Day, Exercise};
use crate::subject::week4::environments as env;

const FX: FixtureFile = FixtureFile::new("week4/cartpole.safetensors");
const TTT: &str = "week4/tictactoe.json";

/// gymnasium computes the same f64 formulas in the same order; numpy's sin/cos and Rust's may
/// differ in the last ulp, and the difference stays far below this bound even over the
/// 500-step episode (the balancing controller keeps the dynamics stable; observed max 0 on
/// this machine). A wrong constant, a missing term or the semi-implicit Euler order is off by
/// 1e-4 or more within a few steps.
const STATE_TOL: f64 = 1e-9;

const DAY: Day = Day::new("week4", "environments", "src/environments.rs");

/// A board with its winner and minimax value.
pub(crate) type Position = ([i8; 9], (i8, i8));

/// A fixture position "board winner value" → (board, (winner, value)).
pub(crate) fn parse_position(s: &str) -> Result<Position, Fail> {
    let bad = || Fail::Fixture(format!("{TTT}: cannot read position {s:?}; {}", crate::fixtures::REMAKE));
    let mut parts = s.split(' ');
    let (b, w, v) = (parts.next().ok_or_else(bad)?, parts.next().ok_or_else(bad)?, parts.next().ok_or_else(bad)?);
    let mut board = [0i8; 9];
    for (i, ch) in b.chars().enumerate() {
        if i >= 9 {
            return Err(bad());
        }
        board[i] = match ch {
            'X' => 1,
            'O' => -1,
            '.' => 0,
            _ => return Err(bad()),
        };
    }
    let w = match w {
        "X" => 1,
        "O" => -1,
        "-" => 0,
        _ => return Err(bad()),
    };
    Ok((board, (w, v.parse().map_err(|_| bad())?)))
}

fn positions(ctx: &Ctx) -> Result<Vec<Position>, Fail> {
    let j = ctx.json(TTT)?;
    let list = j["positions"].as_array().ok_or_else(|| Fail::Fixture(format!("{TTT} has no positions; {}", crate::fixtures::REMAKE)))?;
    list.iter().map(|p| parse_position(p.as_str().unwrap_or(""))).collect()
}

fn show(b: &[i8; 9]) -> String {
    b.iter()
        .map(|&c| match c {
            1 => 'X',
            -1 => 'O',
            _ => '.',
        })
        .collect()
}

pub fn exercises() -> Vec<Exercise> {
    vec![
        DAY.exercise("cartpole_step", "CartPole's Euler step")
            .pace(3, 40)
            .function("step")
            .check("gymnasium's CartPole-v1 episodes, step by step", |ctx| {
                let fx = FX.open(ctx)?;
                let mut worst = 0f64;
                for k in 0.. {
                    let key = |a: &str| format!("cartpole.{k}.{a}");
                    if !fx.has(&key("init")) {
                        ensure(k > 0, || format!("{FX} has no cases"))?;
                        break;
                    }
                    let init = fx.host(&key("init"))?.to_vec1::<f64>().grader()?;
                    let actions = fx.values(&key("actions"))?;
                    let states = fx.host(&key("states"))?.to_vec2::<f64>().grader()?;
                    let rewards = fx.host(&key("rewards"))?.to_vec1::<f64>().grader()?;
                    let term = fx.host(&key("terminated"))?.to_vec1::<u8>().grader()?;
                    let trunc = fx.host(&key("truncated"))?.to_vec1::<u8>().grader()?;
                    let mut cp = env::CartPole::new([init[0], init[1], init[2], init[3]]);
                    for (t, &a) in actions.iter().enumerate() {
                        let r = cp.step(a as usize);
                        let label = format!("episode {k} (gymnasium reset(seed={k})), step {} (action {a})", t + 1);
                        for j in 0..4 {
                            let err = (r.state[j] - states[t][j]).abs();
                            worst = worst.max(if err.is_nan() { f64::INFINITY } else { err });
                            ensure(err <= STATE_TOL, || {
                                format!(
                                    "{label}: state is {:?}, gymnasium has {:?} (component {j} = {} differs by {err:.3e})",
                                    r.state,
                                    states[t],
                                    ["x", "x_dot", "theta", "theta_dot"][j]
                                )
                            })?;
                        }
                        ensure(cp.state == r.state, || format!("{label}: self.state {:?} differs from the returned state {:?}", cp.state, r.state))?;
                        ensure(r.reward == rewards[t], || format!("{label}: reward {}, expected {}", r.reward, rewards[t]))?;
                        ensure(r.terminated == (term[t] != 0), || {
                            format!("{label}: terminated = {}, gymnasium says {} (state {:?})", r.terminated, term[t] != 0, states[t])
                        })?;
                        ensure(r.truncated == (trunc[t] != 0), || {
                            format!("{label}: truncated = {}, gymnasium says {} (steps = {})", r.truncated, trunc[t] != 0, cp.steps)
                        })?;
                    }
                }
                ctx.note(format!("largest state difference from gymnasium: {worst:.1e}"));
                Ok(())
            })
            .check("the cart leaving the track ends the episode, on either side, with the pole upright", |_| {
                // x ± τ·ẋ crosses ±2.4 on this step while θ stays 0: gymnasium's episodes above end
                // by the pole's angle, so the track's bounds are tested here.
                for (state, action, side) in [([2.39, 1.0, 0.0, 0.0], 1, "right"), ([-2.39, -1.0, 0.0, 0.0], 0, "left")] {
                    let r = env::CartPole::new(state).step(action);
                    ensure(r.terminated, || {
                        format!(
                            "from {state:?}, action {action}: the cart is at x = {:.3}, past the {side} end of the track (±2.4), but the episode did not end",
                            r.state[0]
                        )
                    })?;
                }
                let r = env::CartPole::new([2.3, 1.0, 0.0, 0.0]).step(1);
                ensure(!r.terminated, || format!("from [2.3, 1, 0, 0]: x = {:.3} is still on the track, yet the episode ended", r.state[0]))
            }),
        DAY.exercise("ttt_winner", "tic-tac-toe: who has three in a line").pace(2, 20).function("winner").check("all 5,478 reachable positions", |ctx| {
            for (b, (w, _)) in positions(ctx)? {
                let got = env::winner(&b);
                ensure(got == w, || format!("winner({}) = {got}, expected {w} (board {b:?}, row-major)", show(&b)))?;
            }
            Ok(())
        }),
        DAY.exercise("ttt_minimax", "tic-tac-toe: perfect-play values").pace(3, 55).function("minimax").check(
            "all 5,478 reachable positions vs a Python minimax",
            |ctx| {
                let all = positions(ctx)?;
                let start = std::time::Instant::now();
                for (b, (_, v)) in all.iter().rev() {
                    let got = env::minimax(b);
                    ensure(got == *v, || format!("minimax({}) = {got}, expected {v} ({} to move)", show(b), if env::to_move(b) == 1 { "X" } else { "O" }))?;
                }
                ctx.note(format!("{} positions in {:.2}s", all.len(), start.elapsed().as_secs_f64()));
                Ok(())
            },
        ),
    ]
}
