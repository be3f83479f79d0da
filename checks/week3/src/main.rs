//! week3's checks, in a program of their own. It links week3's learner crate (or, with
//! `--features reference`, the reference solutions in `solutions/week3`) and no other week's
//! code, so a half-finished week elsewhere cannot stop it from building. The `grader` launcher
//! builds it with cargo and runs it; see `grader/src/launch.rs`.

pub use grader::{bench, cases, check, compare, dashboard, data, fixtures, hub, independent, minilm, parity, picture, registry, report, stats};
pub use grader::{make_device, root};

pub mod subject;
pub mod week3;

grader::week_program!(week3, week3::benches, week3::child_entry);
