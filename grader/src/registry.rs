//! The registry of exercises. A week adds one file under `suites/` and one line in `suites/mod.rs`.

use crate::check::{CheckResult, Ctx};
use std::time::Duration;

/// Default time limit for one exercise (all of its checks, in one child process).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

pub struct Check {
    pub name: &'static str,
    pub run: fn(&Ctx) -> CheckResult,
}

pub struct Exercise {
    /// `weekN.day.name`
    pub id: &'static str,
    pub title: &'static str,
    /// The learner's file, relative to the week crate (`src/arrays.rs`).
    pub file: &'static str,
    /// The function the learner writes, where there is one (used by source rules).
    pub function: Option<&'static str>,
    /// Book page, relative to `book/src/` (`week1/arrays.md#ones`).
    pub page: String,
    pub hint: &'static str,
    pub checks: Vec<Check>,
    pub timeout: Duration,
    /// Runs only with `--long`.
    pub long: bool,
    /// Runs only with `--pretrained` (needs real model weights: network or a filled HF cache).
    pub pretrained: bool,
    /// Method or function names the exercise's rules forbid in the learner's function body
    /// (e.g. `.cumsum(` for the cumsum puzzle); checked on the source.
    pub forbidden: &'static [&'static str],
}

impl Exercise {
    /// A new exercise; the book page defaults to `<week>/<day>.md#<name>` (mdBook keeps `_` in heading ids).
    pub fn new(id: &'static str, title: &'static str, file: &'static str) -> Exercise {
        let parts: Vec<&str> = id.split('.').collect();
        let page = match parts[..] {
            [w, d, n] => format!("{w}/{d}.md#{n}"),
            _ => String::new(),
        };
        Exercise { id, title, file, function: None, page, hint: "", checks: Vec::new(), timeout: DEFAULT_TIMEOUT, long: false, pretrained: false, forbidden: &[] }
    }
    pub fn function(mut self, f: &'static str) -> Self {
        self.function = Some(f);
        self
    }
    pub fn hint(mut self, h: &'static str) -> Self {
        self.hint = h;
        self
    }
    pub fn check(mut self, name: &'static str, run: fn(&Ctx) -> CheckResult) -> Self {
        self.checks.push(Check { name, run });
        self
    }
    pub fn timeout(mut self, t: Duration) -> Self {
        self.timeout = t;
        self
    }
    pub fn long(mut self) -> Self {
        self.long = true;
        self
    }
    pub fn pretrained(mut self) -> Self {
        self.pretrained = true;
        self
    }
    pub fn forbid(mut self, names: &'static [&'static str]) -> Self {
        self.forbidden = names;
        self
    }
    pub fn week(&self) -> &str {
        self.id.split('.').next().unwrap_or("")
    }
    pub fn day(&self) -> &str {
        self.id.split('.').nth(1).unwrap_or("")
    }
}

pub struct Week {
    pub name: &'static str,
    pub title: &'static str,
    /// Folder of the learner crate under `weeks/` (and of the reference crate under `solutions/`).
    pub dir: &'static str,
    /// Not listed and not graded unless named (the grader's own fault drills).
    pub hidden: bool,
    pub exercises: fn() -> Vec<Exercise>,
}

pub fn weeks() -> &'static [Week] {
    crate::suites::WEEKS
}

pub fn find_week(name: &str) -> Option<&'static Week> {
    weeks().iter().find(|w| w.name == name)
}

/// Every exercise of every week (hidden ones included), for lookup by id.
pub fn find_exercise(id: &str) -> Option<(&'static Week, Exercise)> {
    let week = find_week(id.split('.').next()?)?;
    (week.exercises)().into_iter().find(|e| e.id == id).map(|e| (week, e))
}

/// The closest names to `input` among `options`, for "did you mean".
pub fn suggest<'a>(input: &str, options: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    options
        .into_iter()
        .map(|o| {
            let last = o.rsplit('.').next().unwrap_or(o);
            let score = strsim::jaro_winkler(input, o).max(strsim::jaro_winkler(input, last));
            (score, o)
        })
        .filter(|(s, _)| *s > 0.7)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, o)| o)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_are_unique_well_formed_and_have_checks() {
        let mut seen = HashSet::new();
        for w in weeks() {
            for e in (w.exercises)() {
                assert!(seen.insert(e.id), "duplicate id {}", e.id);
                assert_eq!(e.id.split('.').count(), 3, "{} is not weekN.day.name", e.id);
                assert_eq!(e.week(), w.name, "{} registered under {}", e.id, w.name);
                assert!(!e.checks.is_empty(), "{} has no checks", e.id);
                assert!(!e.title.is_empty() && !e.file.is_empty(), "{} lacks a title or file", e.id);
                if !w.hidden {
                    assert!(!e.hint.is_empty(), "{} has no hint", e.id);
                }
            }
        }
    }

    /// Registry ↔ book, over every visible week: each exercise's page exists, is in SUMMARY.md,
    /// has the exercise's `## name` heading and names its id; no other week page names that id;
    /// no page anywhere names an id the grader does not register (benchmark ids aside).
    #[test]
    fn every_exercise_has_a_book_section() {
        let p = crate::book::problems(&crate::root(), &crate::book::registered(), &crate::book::bench_ids()).unwrap();
        assert!(p.is_empty(), "the book and the registry disagree:\n{}", p.join("\n"));
    }

    #[test]
    fn suggestions() {
        let opts = ["week1.arrays.cumsum", "week1.arrays.outer", "week1.arrays.eye"];
        assert_eq!(suggest("cumsun", opts), Some("week1.arrays.cumsum"));
        assert_eq!(suggest("week1.arrays.outr", opts), Some("week1.arrays.outer"));
        assert_eq!(suggest("zzzzzzzz", opts), None);
    }
}
