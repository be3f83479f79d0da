//! Week 1: tensors, convolutions, optimisers. One file per day.

use crate::registry::Exercise;

pub mod arrays;
pub mod autograd;
mod bench;
pub mod convolutions;
pub mod diagnostics;
pub mod modules;
pub mod optimisers;
pub mod pictures;
pub mod regression;
pub mod resnet;
pub mod training;

pub fn exercises() -> Vec<Exercise> {
    let mut v = Vec::new();
    v.extend(arrays::exercises());
    v.extend(regression::exercises());
    v.extend(pictures::exercises());
    v.extend(convolutions::exercises());
    v.extend(modules::exercises());
    v.extend(resnet::exercises());
    v.extend(autograd::exercises());
    v.extend(optimisers::exercises());
    v.extend(training::exercises());
    v.extend(diagnostics::exercises());
    v
}

pub fn benches() -> Vec<crate::bench::Bench> {
    bench::benches()
}
