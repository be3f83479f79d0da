//! Week 3: training transformers. One file per day.

use crate::registry::Exercise;

pub mod analysis;
pub mod chargpt;
pub mod train_loop;

pub fn exercises() -> Vec<Exercise> {
    let mut v = Vec::new();
    v.extend(train_loop::exercises());
    v.extend(chargpt::exercises());
    v.extend(analysis::exercises());
    v
}

pub fn benches() -> Vec<crate::bench::Bench> {
    Vec::new()
}
