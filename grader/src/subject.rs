//! The code under test.
//!
//! By default the grader links the learner's crates in `weeks/`. With `--features reference` it
//! compiles the reference solutions in `solutions/` *as modules of the grader itself*, through
//! `#[path]`, instead of depending on them as crates. A learner's copy has no `solutions/`
//! folder: an optional path dependency on it would break `cargo` for everyone (Cargo resolves
//! every path dependency, enabled or not), while a cfg-gated `#[path]` module is only read when
//! the feature is on. Solution code therefore refers to its own modules with `super::`, never
//! `crate::`.

use std::path::PathBuf;

#[cfg(not(feature = "reference"))]
pub use week0;

#[cfg(feature = "reference")]
#[path = "../../solutions/week0/src/lib.rs"]
pub mod week0;

#[cfg(not(feature = "reference"))]
pub use week1;

#[cfg(feature = "reference")]
#[path = "../../solutions/week1/src/lib.rs"]
pub mod week1;

#[cfg(not(feature = "reference"))]
pub use week2;

#[cfg(feature = "reference")]
#[path = "../../solutions/week2/src/lib.rs"]
pub mod week2;

#[cfg(not(feature = "reference"))]
pub use week4;

#[cfg(feature = "reference")]
#[path = "../../solutions/week4/src/lib.rs"]
pub mod week4;

pub const REFERENCE: bool = cfg!(feature = "reference");

pub fn mode() -> &'static str {
    if REFERENCE {
        "reference"
    } else {
        "learner"
    }
}

/// `weeks` or `solutions`: where the code under test lives.
pub fn base() -> &'static str {
    if REFERENCE {
        "solutions"
    } else {
        "weeks"
    }
}

pub fn source_dir(week_dir: &str) -> PathBuf {
    crate::root().join(base()).join(week_dir)
}

/// The file an exercise is written in, relative to the repository root.
pub fn learner_file(ex: &crate::registry::Exercise) -> String {
    let dir = crate::registry::find_week(ex.week()).map(|w| w.dir).unwrap_or("");
    format!("{}/{}/{}", base(), dir, ex.file)
}
