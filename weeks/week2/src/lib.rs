//! candlecamp week 2: transformers.
//!
//! One module per day. Read the doc comment of each function, replace its `todo!()`, and run
//! `just grade week2` (or `cargo grade week2`) to see which exercises pass.

pub mod attention;
pub mod bert;
pub mod deberta;
pub mod gpt2;
pub mod sampling;
pub mod sequence;
pub mod tokenizers;
