//! The grader's own fault drills, graded like a week (`grader grade faults`, hidden from `list`):
//! "learner code" that panics, loops, overflows its stack, aborts, exits, allocates 100 GB,
//! fakes a pass... `tests/faults.rs` asserts the status of each.

pub use grader::{check, compare, parity, registry};

pub mod faults;

fn linked() -> registry::Linked {
    registry::Linked { week: "faults", exercises: faults::exercises, benches: Vec::new }
}

fn main() -> std::process::ExitCode {
    grader::cli::runner_main(linked())
}

#[cfg(test)]
mod registered {
    /// What this program registers is what checks/registry.json records, and its benchmarks
    /// follow `grader bench`'s rules.
    #[test]
    fn as_recorded() {
        grader::registry::verify(&super::linked()).unwrap();
    }
}
