//! Week 5: interpretability and robustness. One file per day.

use crate::registry::Exercise;

pub mod superposition;

pub fn exercises() -> Vec<Exercise> {
    let mut v = Vec::new();
    v.extend(superposition::exercises());
    v
}

pub fn benches() -> Vec<crate::bench::Bench> {
    Vec::new()
}
