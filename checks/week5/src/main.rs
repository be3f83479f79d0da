//! week5's checks, in a program of their own. It links week5's learner crate (or, with
//! `--features reference`, the reference solutions in `solutions/week5`) and no other week's
//! code, so a half-finished week elsewhere cannot stop it from building. The `grader` launcher
//! builds it with cargo and runs it; see `grader/src/launch.rs`.

pub use grader::{bench, cases, check, compare, data, fixtures, hub, independent, parity, picture, registry, report, stats};
pub use grader::{make_device, root};

pub mod subject;
pub mod week5;

grader::week_program!(week5, week5::benches);
