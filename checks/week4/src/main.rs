//! week4's checks, in a program of their own. It links week4's learner crate (or, with
//! `--features reference`, the reference solutions in `solutions/week4`) and no other week's
//! code, so a half-finished week elsewhere cannot stop it from building. The `grader` launcher
//! builds it with cargo and runs it; see `grader/src/launch.rs`.

pub use grader::{bench, cases, check, compare, data, fixtures, hub, parity, picture, registry, report, stats};
pub use grader::{make_device, root};

pub mod subject;
pub mod week4;

fn linked() -> registry::Linked {
    registry::Linked { week: "week4", exercises: week4::exercises, benches: week4::benches }
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
