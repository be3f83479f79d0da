//! candlecamp week 5: interpretability and robustness.
//!
//! One module per day. Read the doc comment of each function, replace its `todo!()`, and run
//! `just grade week5` (or `cargo grade week5`) to see which exercises pass.

pub mod active_learning;
pub mod adversarial;
pub mod attribution;
pub mod explain;
pub mod feature_vis;
pub mod hooks;
pub mod memorisation;
pub mod probes;
pub mod sae;
pub mod steering;
pub mod superposition;

/// Where this crate was compiled (given): the grader checks that it grades this checkout's code
/// even when several checkouts share one `CARGO_TARGET_DIR`.
pub const BUILT_FROM: &str = env!("CARGO_MANIFEST_DIR");
