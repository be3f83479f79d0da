//! candlecamp week 3: training transformers.
//!
//! One module per day. Read the doc comment of each function, replace its `todo!()`, and run
//! `just grade week3` (or `cargo grade week3`) to see which exercises pass. `model` is given:
//! the small language model the train loop trains.

pub mod adapters;
pub mod analysis;
pub mod chargpt;
pub mod distillation;
pub mod instruct;
pub mod lora;
pub mod model;
pub mod pretrained;
pub mod qlora;
pub mod quantisation;
pub mod search;
pub mod train_loop;

/// Where this crate was compiled (given): the grader checks that it grades this checkout's code
/// even when several checkouts share one `CARGO_TARGET_DIR`.
pub const BUILT_FROM: &str = env!("CARGO_MANIFEST_DIR");
