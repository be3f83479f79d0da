//! Week 3: training transformers. One file per day.

use crate::registry::Exercise;

pub mod analysis;
pub mod chargpt;
pub mod search;
pub mod train_loop;

pub fn exercises() -> Vec<Exercise> {
    let mut v = Vec::new();
    v.extend(train_loop::exercises());
    v.extend(chargpt::exercises());
    v.extend(search::exercises());
    v.extend(analysis::exercises());
    v
}

pub fn benches() -> Vec<crate::bench::Bench> {
    chargpt::benches()
}

/// The helper processes this week's checks start (a training run to kill, search workers):
/// when this program was started as one, run it and return its exit code.
pub fn child_entry() -> Option<std::process::ExitCode> {
    train_loop::child_entry().or_else(search::worker_entry)
}
