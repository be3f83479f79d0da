//! One module per week; each contributes a `Week` to `WEEKS`.

use crate::bench::Bench;
use crate::registry::Week;

pub mod faults;
pub mod week0;
pub mod week1;
pub mod week2;
pub mod week4;

pub static WEEKS: &[Week] = &[
    Week { name: "week0", title: "from zero: autograd and language models", dir: "week0", hidden: false, exercises: week0::exercises },
    Week { name: "week1", title: "tensors, convolutions, optimisers", dir: "week1", hidden: false, exercises: week1::exercises },
    Week { name: "week2", title: "transformers", dir: "week2", hidden: false, exercises: week2::exercises },
    Week { name: "week4", title: "reinforcement learning", dir: "week4", hidden: false, exercises: week4::exercises },
    Week { name: "faults", title: "the grader's own fault drills", dir: "../grader", hidden: true, exercises: faults::exercises },
];

/// Every week's benchmarks (`grader bench`).
pub fn benches() -> Vec<Bench> {
    let mut v = Vec::new();
    v.extend(week1::benches());
    v.extend(week2::benches());
    v.extend(week4::benches());
    v
}
