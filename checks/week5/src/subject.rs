//! The code under test: the learner's `week5` crate, or with `--features reference` the
//! reference solutions compiled in as a module through a cfg-gated `#[path]` (a learner's copy
//! has no `solutions/`, and Cargo resolves every path dependency, even an optional one; a
//! `#[path]` module is read only when the feature is on). Solution code therefore refers to its
//! own modules with `super::`, never `crate::`.

pub use grader::subject::*;

#[cfg(not(feature = "reference"))]
pub use week5;

#[cfg(feature = "reference")]
#[path = "../../../solutions/week5/src/lib.rs"]
pub mod week5;
