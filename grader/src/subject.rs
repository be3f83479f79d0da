//! Which code is under test: the learner's crates in `weeks/`, or with `--features reference`
//! the reference solutions in `solutions/`. Each week's checks program (`checks/weekN`) brings
//! the code itself (its own `subject` module); this is what the rest of the grader needs to know
//! about it: the mode, and where the files are.

use std::path::PathBuf;

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
