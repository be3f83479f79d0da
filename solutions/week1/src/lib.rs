//! candlecamp week 1: tensors, convolutions, optimisers.
//!
//! One module per day. Read the doc comment of each function, replace its `todo!()`, and run
//! `just grade week1` (or `cargo grade week1`) to see which exercises pass.

pub mod arrays;
pub mod autograd;
pub mod convolutions;
pub mod modules;
pub mod optimisers;
pub mod pictures;
pub mod regression;
pub mod resnet;
pub mod training;
