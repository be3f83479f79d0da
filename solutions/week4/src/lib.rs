//! candlecamp week 4: reinforcement learning.
//!
//! One module per day. Read the doc comment of each function, replace its `todo!()`, and run
//! `just grade week4` (or `cargo grade week4`) to see which exercises pass.

pub mod environments;
pub mod dqn;
pub mod policy_gradients;
pub mod lm_rl;
pub mod dpo;
pub mod self_play;
