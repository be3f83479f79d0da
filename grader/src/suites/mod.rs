//! One module per week; each contributes a `Week` to `WEEKS`.

use crate::bench::Bench;
use crate::registry::Week;

pub mod faults;
pub mod week1;
pub mod week4;

pub static WEEKS: &[Week] = &[
    Week { name: "week1", title: "tensors, convolutions, optimisers", dir: "week1", hidden: false, exercises: week1::exercises },
    Week { name: "week4", title: "reinforcement learning", dir: "week4", hidden: false, exercises: week4::exercises },
    Week { name: "faults", title: "the grader's own fault drills", dir: "../grader", hidden: true, exercises: faults::exercises },
];

/// Every week's benchmarks (`grader bench`).
pub fn benches() -> Vec<Bench> {
    let mut v = Vec::new();
    v.extend(week1::benches());
    v.extend(week4::benches());
    v
}
