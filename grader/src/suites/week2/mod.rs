//! Week 2: transformers. One file per day.

use crate::registry::Exercise;

pub mod attention;
pub mod bert;
pub mod deberta;
pub mod gpt2;
pub mod sequence;

pub fn exercises() -> Vec<Exercise> {
    let mut v = Vec::new();
    v.extend(sequence::exercises());
    v.extend(attention::exercises());
    v.extend(gpt2::exercises());
    v.extend(bert::exercises());
    v.extend(deberta::exercises());
    v
}

pub fn benches() -> Vec<crate::bench::Bench> {
    let mut v = Vec::new();
    v.extend(gpt2::benches());
    v
}
