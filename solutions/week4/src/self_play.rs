//! # Self-play
//!
//! A value function for tic-tac-toe learned with no teacher: the agent plays both sides against
//! itself and nudges the value of every position it passes towards the value of the position
//! that followed (temporal-difference learning, Sutton 1988; Tesauro's TD-Gammon learned
//! backgammon this way). The values are a table `Board → f32` from X's point of view: `+1` a
//! win for X, `−1` a win for O, `0` a draw. With enough exploration the table approaches the
//! minimax values of `environments::minimax`, and the greedy policy stops losing.
// STUB: #![allow(unused_variables, unused_imports, unused_mut)] // remove once you have solved a few

use super::environments::{is_terminal, legal_moves, play, to_move, winner, Board};
use rand::Rng;
use std::collections::HashMap;

/// Values of positions for X. Given.
#[derive(Clone, Debug, Default)]
pub struct ValueTable {
    pub v: HashMap<Board, f32>,
}

impl ValueTable {
    /// The value of `b`: its winner (`1`, `−1`, or `0` for a draw) when the game is over,
    /// otherwise the stored value, 0 for a position never seen.
    pub fn value(&self, b: &Board) -> f32 {
        if is_terminal(b) {
            winner(b) as f32
        } else {
            self.v.get(b).copied().unwrap_or(0.0)
        }
    }
}

/// ## self_play_move
/// The move the player to move makes in the non-terminal position `b`: with probability `eps`
/// (`rng.random::<f64>() < eps`) a uniformly random legal move (`rng.random_range`),
/// otherwise the greedy move: the legal move whose resulting position (`play(b, i)`) has the
/// largest `table.value` if X is to move, the smallest if O is (the first such move in
/// `legal_moves` order on ties). With a table of exact minimax values the greedy move is always
/// an optimal one.
// HINT: Values are from X's point of view, so X picks the move leading to the highest value and O the lowest; multiplying by the mover's sign turns both into one maximisation. Ties go to the first move.
// HINT: moves = legal_moves(b); if rng.random::<f64>() < eps return moves[rng.random_range(0..moves.len())]; otherwise sign = to_move(b) as f32 and keep the move maximising sign · table.value(&play(b, i)), replacing only on a strictly greater value (start from −∞).
// HINT: for &i in &moves { let v = sign * table.value(&play(b, i)); if v > best_v { best_v = v; best = i; } }
pub fn choose_move(table: &ValueTable, b: &Board, eps: f64, rng: &mut impl Rng) -> usize {
    // BEGIN SOLUTION
    let moves = legal_moves(b);
    if rng.random::<f64>() < eps {
        return moves[rng.random_range(0..moves.len())];
    }
    let sign = to_move(b) as f32;
    let mut best = moves[0];
    let mut best_v = f32::NEG_INFINITY;
    for &i in &moves {
        let v = sign * table.value(&play(b, i));
        if v > best_v {
            best_v = v;
            best = i;
        }
    }
    best
    // END SOLUTION
}

/// ## self_play_train
/// Learn a `ValueTable` by `games` games of self-play from the empty board. In each game both
/// sides move with `choose_move(&table, …, eps, rng)`; after every move from position `s` to
/// `s'` apply the TD(0) update `V(s) ← V(s) + α · (V(s') − V(s))` (with `table.value`, so a
/// finished game's `V(s')` is its result). Keep ε fixed or decay it (e.g. linearly from `eps`
/// to 0.05 over the games): exploration is what lets the table find the opponent's best
/// replies. The grader plays 200 games of your greedy table (ε = 0) against a perfect minimax
/// player that picks at random among its optimal moves (100 as X, 100 as O) and needs at least
/// 95 % of them won or drawn. After each game, `candlecamp::report(g, games, "epsilon", e)`
/// lets the grader show the run live.
// HINT: Every position's value is pulled a little towards the value of the position that followed it, and a finished game's value is its result; exploration, more of it early on, lets the table discover the opponent's best replies.
// HINT: For g in 0..games: e decays linearly from eps towards 0.05; start from the empty board; while not terminal: next = play(s, choose_move(&table, &s, e, rng)), target = table.value(&next), move V(s) towards it by alpha, s = next; report after each game. The grader's main run passes 60,000 games, α = 0.3 and ε = 0.3.
// HINT: let target = table.value(&next); let v = table.v.entry(s).or_insert(0.0); *v += alpha * (target - *v);
pub fn train_self_play(games: usize, alpha: f32, eps: f64, rng: &mut impl Rng) -> ValueTable {
    // BEGIN SOLUTION
    let mut table = ValueTable::default();
    for g in 0..games {
        let e = eps + (0.05 - eps) * (g as f64 / games as f64);
        let mut s: Board = [0; 9];
        while !is_terminal(&s) {
            let next = play(&s, choose_move(&table, &s, e, rng));
            let target = table.value(&next);
            let v = table.v.entry(s).or_insert(0.0);
            *v += alpha * (target - *v);
            s = next;
        }
        candlecamp::report(g, games, "epsilon", e);
    }
    table
    // END SOLUTION
}
