//! The reference solutions a learner's copy carries for `grader solution`: every exercise's
//! items (its function, or its type's items) from `solutions/`, as gzip-compressed JSON that
//! `grader dist` writes into the copy's `grader/solutions.bin`, which the grader compiles in
//! (`include_bytes!`). This repository's own `grader/solutions.bin` is empty: instructors read
//! `solutions/` directly. `grader dist --no-solutions` leaves it empty (graded courses).

use anyhow::Context;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::Path;

/// The bundle compiled into this grader (empty in the instructors' repository and in a copy
/// made with `--no-solutions`).
static BUNDLE: &[u8] = include_bytes!("../solutions.bin");

/// What `grader solution` shows of `ex`, read from `root/solutions/`: its own code (see
/// `regions`). An error when the file has no code of `ex`'s own (a long target that runs
/// earlier exercises).
pub fn from_solutions(root: &Path, week_dir: &str, ex: &crate::registry::Exercise) -> anyhow::Result<String> {
    let path = root.join("solutions").join(week_dir).join(ex.file);
    let src = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let week = crate::registry::find_week(ex.week()).ok_or_else(|| anyhow::anyhow!("no week {}", ex.week()))?;
    let all: Vec<crate::registry::Exercise> = week.exercises().into_iter().filter(|e| e.file == ex.file).collect();
    let exs: Vec<crate::regions::Ex> = all.iter().map(|e| crate::regions::Ex { name: e.id.rsplit('.').next().unwrap_or(e.id), function: e.function }).collect();
    let me = all.iter().position(|e| e.id == ex.id).ok_or_else(|| anyhow::anyhow!("{} is not an exercise of {}", ex.id, ex.file))?;
    crate::regions::shown(&src, &exs, me)
        .with_context(|| path.display().to_string())?
        .ok_or_else(|| anyhow::anyhow!("{} has no code of its own in {}", ex.id, ex.file))
}

/// Every visible exercise's reference items, gzip-compressed JSON.
pub fn build(root: &Path) -> anyhow::Result<Vec<u8>> {
    let mut all = BTreeMap::new();
    for w in crate::registry::weeks().iter().filter(|w| !w.hidden) {
        for ex in w.exercises() {
            // An exercise with no item of its own (a long training target that runs your
            // earlier code, the pretrained models) has nothing to show.
            if let Ok(text) = from_solutions(root, w.dir, &ex) {
                all.insert(ex.id.to_string(), text);
            }
        }
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&serde_json::to_vec(&all)?)?;
    Ok(gz.finish()?)
}

/// Whether this grader carries solutions.
pub fn carried() -> bool {
    !BUNDLE.is_empty()
}

/// The reference solution of `id` from the compiled-in bundle.
pub fn lookup(id: &str) -> Option<String> {
    if BUNDLE.is_empty() {
        return None;
    }
    let mut json = Vec::new();
    flate2::read::GzDecoder::new(BUNDLE).read_to_end(&mut json).ok()?;
    let all: BTreeMap<String, String> = serde_json::from_slice(&json).ok()?;
    all.get(id).cloned()
}
