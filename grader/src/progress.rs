//! What a learner's copy remembers between grades, under `.candlecamp/state/` (git-ignored):
//! the exercises the learner chose to skip (`grader skip`, respected by `grader next`) and every
//! exercise that has passed at least once in this copy (which unlocks `grader solution`).
//! Plain text, one id a line, so that a person can read and edit it.

use std::collections::BTreeSet;
use std::path::PathBuf;

fn dir() -> PathBuf {
    crate::root().join(".candlecamp/state")
}

fn file(name: &str) -> PathBuf {
    dir().join(name)
}

fn read(name: &str) -> BTreeSet<String> {
    std::fs::read_to_string(file(name))
        .map(|t| t.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).map(String::from).collect())
        .unwrap_or_default()
}

fn write(name: &str, ids: &BTreeSet<String>, about: &str) -> std::io::Result<()> {
    std::fs::create_dir_all(dir())?;
    let mut text = format!("# {about}\n");
    for id in ids {
        text.push_str(id);
        text.push('\n');
    }
    let tmp = file(&format!("{name}.partial"));
    std::fs::write(&tmp, text)?;
    std::fs::rename(tmp, file(name))
}

/// The exercises the learner skipped.
pub fn skipped() -> BTreeSet<String> {
    read("skipped")
}

/// Mark `id` skipped (or not). Returns whether anything changed.
pub fn set_skipped(id: &str, skip: bool) -> std::io::Result<bool> {
    let mut s = skipped();
    let changed = if skip { s.insert(id.to_string()) } else { s.remove(id) };
    if changed {
        write("skipped", &s, "exercises you chose to skip (grader skip / unskip); they still grade and count as unfinished")?;
    }
    Ok(changed)
}

fn passed_file() -> String {
    format!("passed-{}", crate::subject::mode())
}

/// Every exercise that has passed at least once in this copy (in this mode).
pub fn ever_passed() -> BTreeSet<String> {
    read(&passed_file())
}

/// Add `ids` to the exercises that have passed.
pub fn record_passed<'a>(ids: impl IntoIterator<Item = &'a str>) {
    let mut s = ever_passed();
    let before = s.len();
    s.extend(ids.into_iter().map(String::from));
    if s.len() != before {
        let _ = write(&passed_file(), &s, "exercises that have passed at least once in this copy (unlocks grader solution)");
    }
}

/// How many of `id`'s hint levels the learner has seen (`grader hint` shows the next one).
pub fn hints_seen(id: &str) -> usize {
    read("hints-seen").iter().filter_map(|l| l.split_once(' ')).find(|(i, _)| *i == id).and_then(|(_, n)| n.parse().ok()).unwrap_or(0)
}

/// Record that `n` of `id`'s hint levels have been seen.
pub fn set_hints_seen(id: &str, n: usize) {
    let mut all: BTreeSet<String> = read("hints-seen").into_iter().filter(|l| l.split_once(' ').is_none_or(|(i, _)| i != id)).collect();
    all.insert(format!("{id} {n}"));
    let _ = write("hints-seen", &all, "how many hint levels of each exercise grader hint has shown");
}
