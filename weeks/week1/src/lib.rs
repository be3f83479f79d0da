//! candlecamp week 1: tensors, convolutions, optimisers.
//!
//! One module per day. Read the doc comment of each function, replace its `todo!()`, and run
//! `just grade week1` (or `cargo grade week1`) to see which exercises pass.

pub mod arrays;
pub mod autograd;
pub mod convolutions;
pub mod diagnostics;
pub mod modules;
pub mod optimisers;
pub mod pictures;
pub mod regression;
pub mod resnet;
pub mod training;

/// Where this crate was compiled (given): the grader checks that it grades this checkout's code
/// even when several checkouts share one `CARGO_TARGET_DIR`.
pub const BUILT_FROM: &str = env!("CARGO_MANIFEST_DIR");
