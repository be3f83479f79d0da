//! candlecamp week 5: interpretability and robustness.
//!
//! One module per day. Read the doc comment of each function, replace its `todo!()`, and run
//! `just grade week5` (or `cargo grade week5`) to see which exercises pass.

pub mod adversarial;
pub mod attribution;
pub mod explain;
pub mod hooks;
pub mod memorisation;
pub mod probes;
pub mod sae;
pub mod steering;
pub mod superposition;
