//! Week 1: tensors, convolutions, optimisers. One file per day.

use crate::registry::Exercise;

pub mod arrays;
pub mod convolutions;
pub mod autograd;
pub mod optimisers;

pub fn exercises() -> Vec<Exercise> {
    let mut v = Vec::new();
    v.extend(arrays::exercises());
    v.extend(convolutions::exercises());
    v.extend(autograd::exercises());
    v.extend(optimisers::exercises());
    v
}

pub fn benches() -> Vec<crate::bench::Bench> {
    Vec::new()
}
