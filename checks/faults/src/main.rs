//! The grader's own fault drills, graded like a week (`grader grade faults`, hidden from `list`):
//! "learner code" that panics, loops, overflows its stack, aborts, exits, allocates 100 GB,
//! fakes a pass... `tests/faults.rs` asserts the status of each.

pub use grader::{check, compare, parity, registry};

pub mod faults;

/// The "learner code" of the drills is this program's own (`week_program!` asks where the
/// code under test was compiled).
pub mod subject {
    pub mod faults {
        pub const BUILT_FROM: &str = env!("CARGO_MANIFEST_DIR");
    }
}

grader::week_program!(faults, Vec::new);
