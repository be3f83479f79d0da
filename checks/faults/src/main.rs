//! The grader's own fault drills, graded like a week (`grader grade faults`, hidden from `list`):
//! "learner code" that panics, loops, overflows its stack, aborts, exits, allocates 100 GB,
//! fakes a pass... `tests/faults.rs` asserts the status of each.

pub use grader::{check, compare, parity, registry};

pub mod faults;

grader::week_program!(faults, Vec::new);
