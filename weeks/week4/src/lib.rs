//! candlecamp week 4: reinforcement learning.
//!
//! One module per day. Read the doc comment of each function, replace its `todo!()`, and run
//! `just grade week4` (or `cargo grade week4`) to see which exercises pass.

pub mod dpo;
pub mod dqn;
pub mod environments;
pub mod lm_rl;
pub mod policy_gradients;
pub mod self_play;
