//! Week 2: transformers. One file per day.

use crate::registry::Exercise;

pub fn exercises() -> Vec<Exercise> {
    Vec::new()
}

pub fn benches() -> Vec<crate::bench::Bench> {
    Vec::new()
}
