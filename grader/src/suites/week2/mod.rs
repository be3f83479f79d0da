//! Week 2: transformers. One file per day.

use crate::registry::Exercise;

pub mod sampling;
pub mod tokenizers;

pub fn exercises() -> Vec<Exercise> {
    let mut v = Vec::new();
    v.extend(tokenizers::exercises());
    v.extend(sampling::exercises());
    v
}

pub fn benches() -> Vec<crate::bench::Bench> {
    let mut v = Vec::new();
    v.extend(tokenizers::benches());
    v.extend(sampling::benches());
    v
}
