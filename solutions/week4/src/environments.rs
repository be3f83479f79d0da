//! # Environments
//!
//! Two worlds for the week's agents, written in plain Rust (no tensors: an environment is a few
//! floating-point formulas or a small board).
//!
//! **CartPole** (Barto, Sutton & Anderson 1983, as in gymnasium's `CartPole-v1`): a cart on a
//! track with a pole hinged on top. The state is `[x, x_dot, theta, theta_dot]` (cart position
//! in metres, its velocity, the pole's angle from upright in radians, its angular velocity),
//! kept in `f64`. Each step the agent pushes the cart left (action 0) or right (action 1) with a
//! force of 10 N for 0.02 s; the reward is 1 for every step, the step that ends the episode
//! included. The grader replays gymnasium's own episodes action by action and compares every
//! state.
//!
//! **Tic-tac-toe**: a board is `[i8; 9]` in row-major order (cell `3·row + col`) holding
//! `1` (X), `-1` (O) or `0` (empty). X moves first, so X is to move when the two counts are
//! equal. A perfect-play solver (minimax) is the opponent the self-play agent must hold to a
//! draw at the end of the week.
// STUB: #![allow(unused_variables, unused_imports, unused_mut)] // remove once you have solved a few

use rand::Rng;

/// gymnasium's constants for CartPole-v1.
pub const GRAVITY: f64 = 9.8;
pub const MASS_CART: f64 = 1.0;
pub const MASS_POLE: f64 = 0.1;
/// Half the pole's length (gymnasium's `length`).
pub const HALF_LENGTH: f64 = 0.5;
pub const FORCE_MAG: f64 = 10.0;
pub const TAU: f64 = 0.02;
/// The episode terminates when |x| > 2.4 …
pub const X_THRESHOLD: f64 = 2.4;
/// … or |theta| > 12° (in radians: 12 · 2π / 360).
pub const THETA_THRESHOLD: f64 = 12.0 * 2.0 * std::f64::consts::PI / 360.0;
/// `CartPole-v1` truncates an episode after this many steps.
pub const MAX_STEPS: usize = 500;

/// What one step returns (gymnasium's `(observation, reward, terminated, truncated)`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepResult {
    pub state: [f64; 4],
    pub reward: f64,
    /// The pole fell or the cart left the track.
    pub terminated: bool,
    /// The step limit was reached without termination.
    pub truncated: bool,
}

/// A CartPole episode in progress.
#[derive(Clone, Debug)]
pub struct CartPole {
    /// `[x, x_dot, theta, theta_dot]`
    pub state: [f64; 4],
    /// Steps taken since the reset.
    pub steps: usize,
}

impl CartPole {
    /// An episode starting in `state`.
    pub fn new(state: [f64; 4]) -> CartPole {
        CartPole { state, steps: 0 }
    }

    /// gymnasium's reset: each of the four state variables uniform in [-0.05, 0.05).
    pub fn reset(rng: &mut impl Rng) -> CartPole {
        let mut s = [0.0; 4];
        for v in &mut s {
            *v = rng.random_range(-0.05..0.05);
        }
        CartPole::new(s)
    }

    /// The state as the f32 observation a network reads.
    pub fn observation(&self) -> [f32; 4] {
        self.state.map(|v| v as f32)
    }

    /// ## cartpole_step
    /// Apply `action` (0: push left with −10 N, 1: push right with +10 N) for one time step,
    /// update `self.state` and `self.steps`, and return the new state with reward 1,
    /// `terminated` and `truncated`. The dynamics (gymnasium's, explicit Euler), with
    /// `F = ±FORCE_MAG`, `m = MASS_POLE`, `M = m + MASS_CART`, `l = HALF_LENGTH`:
    /// ```text
    /// temp      = (F + m·l·θ̇²·sin θ) / M
    /// θ̈         = (g·sin θ − cos θ · temp) / (l · (4/3 − m·cos²θ / M))
    /// ẍ         = temp − m·l·θ̈·cos θ / M
    /// x ← x + τ·ẋ,   ẋ ← ẋ + τ·ẍ,   θ ← θ + τ·θ̇,   θ̇ ← θ̇ + τ·θ̈     (all from the old values)
    /// ```
    /// `terminated` when the new `x` is outside ±2.4 or the new `θ` outside ±12°
    /// (`X_THRESHOLD`, `THETA_THRESHOLD`, strict comparisons); `truncated` when the step count
    /// reaches `MAX_STEPS` (500) and the episode did not terminate. Compute in `f64`, with
    /// `m·l` as one constant and the squares computed first (`m·l·(θ̇²)·sin θ`,
    /// `m·(cos²θ)/M`), as gymnasium does: the grader compares with gymnasium's states to 1e-9,
    /// and a 500-step episode amplifies a different rounding order beyond that.
    /// Example: from `[0, 0, 0, 0]`, action 1 gives `ẍ ≈ 9.7561`, `θ̈ ≈ −14.634`, and the state
    /// after the step is `[0, 0.19512, 0, −0.29268]` (positions move only on the next step).
    // HINT: Compute every new value from the old state (the position moves with the old velocity, so a push shows in the position only one step later) and follow gymnasium's order of operations exactly: the grader compares whole episodes to 1e-9, and a reordered product drifts beyond that.
    // HINT: Destructure the old state; force = ±FORCE_MAG by the action; the total mass M = MASS_POLE + MASS_CART and m·l = MASS_POLE · HALF_LENGTH as constants; temp, then θ̈ (the pole), then ẍ (the cart, which uses θ̈); write all four Euler updates from the old values and add 1 to steps. terminated: the new x outside ±X_THRESHOLD or the new θ outside ±THETA_THRESHOLD (strict comparisons); truncated: steps ≥ MAX_STEPS and not terminated; reward 1.
    // HINT: let temp = (force + pml * (theta_dot * theta_dot) * sin) / total_mass; let theta_acc = (GRAVITY * sin - cos * temp) / (HALF_LENGTH * (4.0 / 3.0 - MASS_POLE * (cos * cos) / total_mass)); let x_acc = temp - pml * theta_acc * cos / total_mass;
    #[allow(clippy::manual_range_contains)] // gymnasium's comparisons, NaN behaviour included
    pub fn step(&mut self, action: usize) -> StepResult {
        // BEGIN SOLUTION
        let [x, x_dot, theta, theta_dot] = self.state;
        let force = if action == 1 { FORCE_MAG } else { -FORCE_MAG };
        let total_mass = MASS_POLE + MASS_CART;
        let pml = MASS_POLE * HALF_LENGTH;
        let (sin, cos) = (theta.sin(), theta.cos());
        let temp = (force + pml * (theta_dot * theta_dot) * sin) / total_mass;
        let theta_acc = (GRAVITY * sin - cos * temp) / (HALF_LENGTH * (4.0 / 3.0 - MASS_POLE * (cos * cos) / total_mass));
        let x_acc = temp - pml * theta_acc * cos / total_mass;
        self.state = [x + TAU * x_dot, x_dot + TAU * x_acc, theta + TAU * theta_dot, theta_dot + TAU * theta_acc];
        self.steps += 1;
        let [x, _, theta, _] = self.state;
        let terminated = x < -X_THRESHOLD || x > X_THRESHOLD || theta < -THETA_THRESHOLD || theta > THETA_THRESHOLD;
        let truncated = !terminated && self.steps >= MAX_STEPS;
        StepResult { state: self.state, reward: 1.0, terminated, truncated }
        // END SOLUTION
    }
}

/// A tic-tac-toe board: row-major, `1` = X, `-1` = O, `0` = empty.
pub type Board = [i8; 9];

/// The eight lines of three cells.
pub const LINES: [[usize; 3]; 8] = [[0, 1, 2], [3, 4, 5], [6, 7, 8], [0, 3, 6], [1, 4, 7], [2, 5, 8], [0, 4, 8], [2, 4, 6]];

/// The player to move: `1` (X) when both have played equally often, else `-1` (O).
pub fn to_move(b: &Board) -> i8 {
    let x = b.iter().filter(|&&c| c == 1).count();
    let o = b.iter().filter(|&&c| c == -1).count();
    if x == o {
        1
    } else {
        -1
    }
}

/// The empty cells, in increasing order.
pub fn legal_moves(b: &Board) -> Vec<usize> {
    (0..9).filter(|&i| b[i] == 0).collect()
}

/// The board after the player to move plays in cell `i` (which must be empty).
pub fn play(b: &Board, i: usize) -> Board {
    let mut n = *b;
    n[i] = to_move(b);
    n
}

/// ## ttt_winner
/// The winner of a position: `1` if X has three in a line (a row, a column or a diagonal, see
/// `LINES`), `-1` if O has, `0` if nobody has (yet, or in a draw). Positions reached by legal
/// play never have two winners.
/// Example: `[1, 1, 1, -1, -1, 0, 0, 0, 0]` → `1`.
// HINT: There are only eight lines of three cells; a line wins when its three cells hold the same mark and that mark is not the empty one.
// HINT: Loop over LINES; for a line whose three cells are equal and non-zero, return that cell's value; return 0 when no line qualifies.
// HINT: for [i, j, k] in LINES { if b[i] != 0 && b[i] == b[j] && b[j] == b[k] { return b[i]; } } 0
pub fn winner(b: &Board) -> i8 {
    // BEGIN SOLUTION
    for [i, j, k] in LINES {
        if b[i] != 0 && b[i] == b[j] && b[j] == b[k] {
            return b[i];
        }
    }
    0
    // END SOLUTION
}

/// Whether the game is over: somebody won or the board is full.
pub fn is_terminal(b: &Board) -> bool {
    winner(b) != 0 || b.iter().all(|&c| c != 0)
}

/// ## ttt_minimax
/// The value of a position under perfect play by both sides, from X's point of view: `1` if X
/// can force a win, `-1` if O can, `0` if best play draws. A finished game is worth its winner
/// (`0` for a full board without one). Otherwise the player to move picks the best child: X
/// maximises, O minimises (`to_move`, `legal_moves`, `play`). A plain recursion over the at
/// most 9! move orders is fast enough from a non-empty board; from the empty board it takes a
/// while in a debug build, so memoise positions in a `HashMap<Board, i8>` (5,478 positions
/// are reachable).
/// Example: the empty board is worth `0` (tic-tac-toe is a draw).
// HINT: A finished game is worth its winner; otherwise a position is worth its best child for whoever is to move (the largest for X, the smallest for O). Remember positions already solved, since many move orders reach the same board.
// HINT: Write an inner recursive function taking the board and a HashMap<Board, i8>: look the board up first; if winner(b) != 0 or the board is full the value is winner(b); otherwise map legal_moves(b) to the value of play(b, i) and take the max if to_move(b) == 1, else the min; insert the value before returning it.
// HINT: let vals = legal_moves(b).into_iter().map(|i| go(&play(b, i), memo)); let v = if to_move(b) == 1 { vals.max().unwrap_or(0) } else { vals.min().unwrap_or(0) }; memo.insert(*b, v);
pub fn minimax(b: &Board) -> i8 {
    // BEGIN SOLUTION
    fn go(b: &Board, memo: &mut std::collections::HashMap<Board, i8>) -> i8 {
        if let Some(&v) = memo.get(b) {
            return v;
        }
        let w = winner(b);
        let v = if w != 0 || b.iter().all(|&c| c != 0) {
            w
        } else {
            let p = to_move(b);
            let vals = legal_moves(b).into_iter().map(|i| go(&play(b, i), memo));
            if p == 1 {
                vals.max().unwrap_or(0)
            } else {
                vals.min().unwrap_or(0)
            }
        };
        memo.insert(*b, v);
        v
    }
    go(b, &mut std::collections::HashMap::new())
    // END SOLUTION
}
