//! Checks for week4 day "self_play": greedy move choice from a value table (given the exact
//! minimax values from the grader's own solver, the greedy move must be optimal everywhere),
//! exploration by a chi-square test, and (`--long`) a table learned by self-play that wins or
//! draws ≥ 95 % of 200 games against the grader's perfect player.

use super::{mover, won, Solver};
use crate::check::{ensure, Ctx, Fail};
use crate::registry::{Day, Exercise};
use crate::subject::week4::self_play as sp;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::time::Duration;

const DAY: Day = Day::new("week4", "self_play", "src/self_play.rs");

fn show(b: &[i8; 9]) -> String {
    b.iter()
        .map(|&c| match c {
            1 => 'X',
            -1 => 'O',
            _ => '.',
        })
        .collect()
}

/// Play one game: `agent` moves as `agent_side` (1 = X), the solver picks at random among its
/// optimal moves. Returns the result for the agent: 1 win, 0 draw, −1 loss.
fn game(solver: &Solver, agent_side: i8, rng: &mut ChaCha8Rng, mut agent: impl FnMut(&[i8; 9]) -> usize) -> Result<i8, Fail> {
    let mut b = [0i8; 9];
    loop {
        let w = won(&b);
        if w != 0 || b.iter().all(|&c| c != 0) {
            return Ok(w * agent_side);
        }
        let p = mover(&b);
        let i = if p == agent_side {
            let i = agent(&b);
            ensure(i < 9 && b[i] == 0, || format!("the agent played cell {i} in {}, which is not a legal move", show(&b)))?;
            i
        } else {
            let best = solver.best_moves(&b);
            best[rng.random_range(0..best.len())]
        };
        b[i] = p;
    }
}

pub fn exercises() -> Vec<Exercise> {
    vec![
        DAY.exercise("self_play_move", "greedy (and ε-greedy) moves from a value table")
            .pace(3, 40)
            .function("choose_move")
            .check("with exact minimax values, the greedy move is optimal in every position", |_ctx| {
                let solver = Solver::new();
                let table = sp::ValueTable { v: solver.value.iter().map(|(b, &v)| (*b, v as f32)).collect() };
                let mut rng = ChaCha8Rng::seed_from_u64(0);
                for b in solver.value.keys() {
                    if won(b) != 0 || b.iter().all(|&c| c != 0) {
                        continue;
                    }
                    let i = sp::choose_move(&table, b, 0.0, &mut rng);
                    let best = solver.best_moves(b);
                    ensure(best.contains(&i), || {
                        format!("in {} ({} to move) you chose cell {i}; the optimal moves are {best:?}", show(b), if mover(b) == 1 { "X" } else { "O" })
                    })?;
                }
                Ok(())
            })
            .check("ties go to the first optimal move in legal_moves order", |_ctx| {
                let solver = Solver::new();
                let table = sp::ValueTable { v: solver.value.iter().map(|(b, &v)| (*b, v as f32)).collect() };
                let mut rng = ChaCha8Rng::seed_from_u64(0);
                let mut tied = 0;
                for b in solver.value.keys() {
                    if won(b) != 0 || b.iter().all(|&c| c != 0) {
                        continue;
                    }
                    let best = solver.best_moves(b);
                    if best.len() < 2 {
                        continue;
                    }
                    tied += 1;
                    let i = sp::choose_move(&table, b, 0.0, &mut rng);
                    ensure(i == best[0], || {
                        format!(
                            "in {} the optimal moves {best:?} tie; you chose cell {i}, the first is cell {} (keep a move only if it is strictly better)",
                            show(b),
                            best[0]
                        )
                    })?;
                }
                ensure(tied > 0, || "the solver found no position with tied optimal moves".into())
            })
            .check("ε = 1 plays uniformly among the legal moves (chi-square)", |ctx| {
                let table = sp::ValueTable::default();
                let b: [i8; 9] = [1, 0, -1, 0, 1, 0, 0, 0, 0]; // O to move, 6 empty cells
                let legal = [1usize, 3, 5, 6, 7, 8];
                let mut counts = [0usize; 9];
                let mut rng = ChaCha8Rng::seed_from_u64(1);
                let n = 12_000;
                for _ in 0..n {
                    let i = sp::choose_move(&table, &b, 1.0, &mut rng);
                    ensure(legal.contains(&i), || format!("with eps = 1 you chose cell {i} in {}, not a legal move", show(&b)))?;
                    counts[i] += 1;
                }
                let e = n as f64 / 6.0;
                let stat: f64 = legal.iter().map(|&i| (counts[i] as f64 - e).powi(2) / e).sum();
                // 5 degrees of freedom; 35.9 is the 1 − 1e-6 quantile.
                ctx.note(format!("chi-square {stat:.1} (bound 35.9)"));
                ensure(stat < 35.9, || format!("counts per cell {counts:?}: chi-square {stat:.1} > 35.9, not uniform over the legal moves"))
            }),
        DAY.exercise("self_play_train", "a value table learned by self-play holds the perfect player (long)")
            .pace(3, 45)
            .function("train_self_play")
            .long()
            .timeout(Duration::from_secs(600))
            .check("≥ 95 % of 200 games won or drawn against a perfect player", self_play_vs_solver),
    ]
}

/// Won, drawn and lost games of `table`'s greedy policy against the perfect player (100 as X,
/// 100 as O).
fn against_solver(solver: &Solver, table: &sp::ValueTable) -> Result<(usize, usize, usize), Fail> {
    let mut rng = ChaCha8Rng::seed_from_u64(99);
    let mut agent_rng = ChaCha8Rng::seed_from_u64(7);
    let (mut wins, mut draws, mut losses) = (0, 0, 0);
    for g in 0..200 {
        let side = if g < 100 { 1 } else { -1 };
        match game(solver, side, &mut rng, |b| sp::choose_move(table, b, 0.0, &mut agent_rng))? {
            1 => wins += 1,
            0 => draws += 1,
            _ => losses += 1,
        }
    }
    Ok((wins, draws, losses))
}

fn self_play_vs_solver(ctx: &Ctx) -> Result<(), Fail> {
    let solver = Solver::new();
    // A learning curve: separate runs of increasing length (each with its own ε schedule).
    let mut curve = Vec::new();
    for games in [1_000, 3_000, 10_000, 30_000] {
        let table = sp::train_self_play(games, 0.3, 0.3, &mut ChaCha8Rng::seed_from_u64(0));
        let (w, d, _) = against_solver(&solver, &table)?;
        curve.push((games, (w + d) as f32 / 200.0));
    }
    let games = 60_000;
    let start = std::time::Instant::now();
    let table = sp::train_self_play(games, 0.3, 0.3, &mut ChaCha8Rng::seed_from_u64(0));
    let secs = start.elapsed().as_secs_f64();
    let (wins, draws, losses) = against_solver(&solver, &table)?;
    let ok = (wins + draws) as f64 / 200.0;
    curve.push((games, ok as f32));
    let series: Vec<f32> = curve.iter().map(|c| c.1).collect();
    crate::picture::lines(&ctx.artefact("week4/self_play_curve.png")?, &[&series], 480, 240)?;
    ctx.note(format!(
        "won or drawn against the perfect player after {}",
        curve.iter().map(|(g, f)| format!("{g} games: {:.1} %", 100.0 * f)).collect::<Vec<_>>().join(", ")
    ));
    let exact = solver.value.iter().filter(|(b, v)| table.v.get(*b).is_some_and(|x| x.round() as i8 == **v)).count();
    ctx.note(format!("{games} self-play games in {secs:.1}s; {} positions in the table ({exact} round to their minimax value); against the perfect player: {wins} won, {draws} drawn, {losses} lost", table.v.len()));
    ensure(ok >= 0.95, || format!("won or drew {:.1} % of 200 games against the perfect player, needs ≥ 95 %", 100.0 * ok))
}
