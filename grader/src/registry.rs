//! The registry of exercises.
//!
//! The weeks themselves (names, titles, folders) are listed here, in [`WEEKS`]. Their exercises
//! and checks live in one crate per week, `checks/weekN`, a program that links only that week's
//! learner crate (see `launch.rs`). A week's program registers its exercises with [`Linked`];
//! every other program (the `grader` launcher, which links no learner code at all) reads them
//! from `checks/registry.json`, which the week programs write (`grader registry`) and the test
//! suite keeps current (`grader registry --check`). Those exercises have their metadata (ids,
//! titles, files, hints, time limits) but no checks to run.

use crate::check::{CheckResult, Ctx, Fail};
use serde::{Deserialize, Serialize};
use std::sync::OnceLock;
use std::time::Duration;

/// Default time limit for one exercise (all of its checks, in one child process).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub struct Check {
    pub name: &'static str,
    pub run: fn(&Ctx) -> CheckResult,
}

/// The check of an exercise read from `checks/registry.json`: its code is in another program.
fn not_linked(_: &Ctx) -> CheckResult {
    Err(Fail::Internal("this program does not link the week's checks: grade it through the `grader` launcher".into()))
}

#[derive(Clone)]
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
    /// Hints of increasing strength, from the `// HINT:` lines beside the exercise in its
    /// reference file (see `hints`); filled from `checks/registry.json`, empty in a week's
    /// checks program.
    pub hints: Vec<&'static str>,
    /// How hard it is (1 gentle, 2 some thought, 3 a real problem) and about how many minutes
    /// it takes a learner, for pacing (`grader list`, the book).
    pub difficulty: u8,
    pub minutes: u32,
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
        Exercise {
            id,
            title,
            file,
            function: None,
            page,
            hints: Vec::new(),
            difficulty: 0,
            minutes: 0,
            checks: Vec::new(),
            timeout: DEFAULT_TIMEOUT,
            long: false,
            pretrained: false,
            forbidden: &[],
        }
    }
    pub fn function(mut self, f: &'static str) -> Self {
        self.function = Some(f);
        self
    }
    /// Difficulty (1–3) and the estimated minutes a learner spends on it.
    pub fn pace(mut self, difficulty: u8, minutes: u32) -> Self {
        self.difficulty = difficulty;
        self.minutes = minutes;
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

/// A day of a week, the one place where its exercises' id prefix and file are written:
/// `const DAY: Day = Day::new("week1", "arrays", "src/arrays.rs");` at the top of the day's
/// checks, then `DAY.exercise("cumsum", title).function("cumsum").check(…)` for each
/// exercise (id `week1.arrays.cumsum`, book page `week1/arrays.md#cumsum`).
pub struct Day {
    pub week: &'static str,
    pub day: &'static str,
    /// The learner's file, relative to the week crate.
    pub file: &'static str,
}

impl Day {
    pub const fn new(week: &'static str, day: &'static str, file: &'static str) -> Day {
        Day { week, day, file }
    }

    /// The exercise `name` of this day.
    pub fn exercise(&self, name: &str, title: &'static str) -> Exercise {
        Exercise::new(intern(&format!("{}.{}.{name}", self.week, self.day)), title, self.file)
    }
}

/// One `&'static str` per distinct string (exercise ids are built once per name, however often
/// a week's exercises are listed).
fn intern(s: &str) -> &'static str {
    static SEEN: std::sync::Mutex<Vec<&'static str>> = std::sync::Mutex::new(Vec::new());
    let mut seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(&k) = seen.iter().find(|&&k| k == s) {
        return k;
    }
    let k: &'static str = Box::leak(s.to_string().into_boxed_str());
    seen.push(k);
    k
}

/// A week of the course: its name, title and folder. Its exercises come from its checks
/// program when that is the program running, else from `checks/registry.json`.
pub struct Week {
    pub name: &'static str,
    pub title: &'static str,
    /// Folder of the learner crate under `weeks/` (and of the reference crate under `solutions/`).
    pub dir: &'static str,
    /// Not listed and not graded unless named (the grader's own fault drills).
    pub hidden: bool,
}

/// Every week, in order. A new week adds a line here and a crate `checks/weekN`.
pub static WEEKS: &[Week] = &[
    Week { name: "week0", title: "from zero: autograd and language models", dir: "week0", hidden: false },
    Week { name: "week1", title: "tensors, convolutions, optimisers", dir: "week1", hidden: false },
    Week { name: "week2", title: "transformers", dir: "week2", hidden: false },
    Week { name: "week3", title: "training transformers", dir: "week3", hidden: false },
    Week { name: "week4", title: "reinforcement learning", dir: "week4", hidden: false },
    Week { name: "week5", title: "interpretability and robustness", dir: "week5", hidden: false },
    Week { name: "faults", title: "the grader's own fault drills", dir: "../checks/faults", hidden: true },
];

/// What a week's checks program registers at start: its week, with the real checks.
pub struct Linked {
    pub week: &'static str,
    pub exercises: fn() -> Vec<Exercise>,
    pub benches: fn() -> Vec<crate::bench::Bench>,
}

static LINKED: OnceLock<Linked> = OnceLock::new();

/// Register the week whose checks this program contains (once, at start).
pub fn link(l: Linked) {
    let _ = LINKED.set(l);
}

/// The week whose checks this program contains, if any.
pub fn linked() -> Option<&'static Linked> {
    LINKED.get()
}

impl Week {
    /// The week's exercises: with their checks in the week's own program, else their metadata.
    pub fn exercises(&self) -> Vec<Exercise> {
        match linked() {
            Some(l) if l.week == self.name => (l.exercises)(),
            _ => recorded_exercises().get(self.name).cloned().unwrap_or_default(),
        }
    }

    /// The ids of the week's benchmarks.
    pub fn bench_ids(&self) -> Vec<String> {
        match linked() {
            Some(l) if l.week == self.name => (l.benches)().iter().map(|b| b.id.to_string()).collect(),
            _ => recorded().benches.get(self.name).cloned().unwrap_or_default(),
        }
    }

    /// Whether this program contains the week's checks.
    pub fn is_linked(&self) -> bool {
        linked().is_some_and(|l| l.week == self.name)
    }
}

pub fn weeks() -> &'static [Week] {
    WEEKS
}

pub fn find_week(name: &str) -> Option<&'static Week> {
    weeks().iter().find(|w| w.name == name)
}

/// Every exercise of every week (hidden ones included), for lookup by id.
pub fn find_exercise(id: &str) -> Option<(&'static Week, Exercise)> {
    let week = find_week(id.split('.').next()?)?;
    week.exercises().into_iter().find(|e| e.id == id).map(|e| (week, e))
}

/// An exercise without its check code, as `checks/registry.json` keeps it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ExerciseMeta {
    pub id: String,
    pub title: String,
    pub file: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<String>,
    pub page: String,
    pub hints: Vec<String>,
    #[serde(default)]
    pub difficulty: u8,
    #[serde(default)]
    pub minutes: u32,
    pub checks: Vec<String>,
    pub timeout_s: f64,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub long: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub pretrained: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub forbidden: Vec<String>,
    /// The functions that hold the exercise's code (`Type::name` or `name`), from the solution
    /// regions it owns: where the rules check reads the learner's code.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub code: Vec<String>,
}

/// `checks/registry.json`: every week's exercises and benchmark ids.
#[derive(Serialize, Deserialize, Default, Debug, PartialEq)]
pub struct Recorded {
    pub weeks: std::collections::BTreeMap<String, Vec<ExerciseMeta>>,
    pub benches: std::collections::BTreeMap<String, Vec<String>>,
}

pub const RECORDED: &str = "checks/registry.json";

fn leak(s: &str) -> &'static str {
    Box::leak(s.to_string().into_boxed_str())
}

/// The hints of `e`: from the `// HINT:` lines of its reference file where `solutions/` is
/// here, otherwise (a learner's copy) as recorded.
fn hints_of(e: &Exercise) -> Vec<String> {
    let root = crate::workspace_root();
    if root.join("solutions").is_dir() {
        find_week(e.week()).map(|w| crate::hints::of(&root, w.dir, e)).unwrap_or_default()
    } else {
        recorded().weeks.values().flatten().find(|m| m.id == e.id).map(|m| m.hints.clone()).unwrap_or_default()
    }
}

/// The functions that hold `e`'s code (see [`ExerciseMeta::code`]): from its reference file's
/// regions where `solutions/` is here, otherwise as recorded.
pub fn code_of(e: &Exercise) -> Vec<String> {
    let root = crate::workspace_root();
    if root.join("solutions").is_dir() {
        let Some(w) = find_week(e.week()) else { return Vec::new() };
        // One reading of each reference file per run: every exercise's functions at once.
        type Cache = std::sync::Mutex<std::collections::HashMap<(&'static str, &'static str), std::collections::HashMap<&'static str, Vec<String>>>>;
        static CACHE: std::sync::OnceLock<Cache> = std::sync::OnceLock::new();
        let mut cache = CACHE.get_or_init(Default::default).lock().unwrap_or_else(|p| p.into_inner());
        let of_file = cache.entry((w.dir, e.file)).or_insert_with(|| {
            let Ok(src) = std::fs::read_to_string(root.join("solutions").join(w.dir).join(e.file)) else { return Default::default() };
            let all: Vec<Exercise> = w.exercises().into_iter().filter(|x| x.file == e.file).collect();
            let exs: Vec<crate::regions::Ex> =
                all.iter().map(|x| crate::regions::Ex { name: x.id.rsplit('.').next().unwrap_or(x.id), function: x.function }).collect();
            let lists = crate::regions::owned_functions_all(&src, &exs).unwrap_or_default();
            all.iter().map(|x| x.id).zip(lists).collect()
        });
        of_file.get(e.id).cloned().unwrap_or_default()
    } else {
        recorded().weeks.values().flatten().find(|m| m.id == e.id).map(|m| m.code.clone()).unwrap_or_default()
    }
}

impl ExerciseMeta {
    pub fn of(e: &Exercise) -> ExerciseMeta {
        ExerciseMeta {
            id: e.id.into(),
            title: e.title.into(),
            file: e.file.into(),
            function: e.function.map(String::from),
            page: e.page.clone(),
            hints: hints_of(e),
            difficulty: e.difficulty,
            minutes: e.minutes,
            checks: e.checks.iter().map(|c| c.name.to_string()).collect(),
            timeout_s: e.timeout.as_secs_f64(),
            long: e.long,
            pretrained: e.pretrained,
            forbidden: e.forbidden.iter().map(|s| s.to_string()).collect(),
            code: code_of(e),
        }
    }

    /// An exercise with this metadata, whose checks fail as "not linked" if ever run. The
    /// strings live as long as the program (a command-line tool reads the file once).
    pub fn to_exercise(&self) -> Exercise {
        let forbidden: Vec<&'static str> = self.forbidden.iter().map(|s| leak(s)).collect();
        Exercise {
            id: leak(&self.id),
            title: leak(&self.title),
            file: leak(&self.file),
            function: self.function.as_deref().map(leak),
            page: self.page.clone(),
            hints: self.hints.iter().map(|h| leak(h)).collect(),
            difficulty: self.difficulty,
            minutes: self.minutes,
            checks: self.checks.iter().map(|n| Check { name: leak(n), run: not_linked }).collect(),
            timeout: Duration::from_secs_f64(self.timeout_s),
            long: self.long,
            pretrained: self.pretrained,
            forbidden: Box::leak(forbidden.into_boxed_slice()),
        }
    }
}

/// The recorded registry (read once; empty when the file is missing or unreadable, which
/// `grader registry --check` and the tests report).
pub fn recorded() -> &'static Recorded {
    static R: OnceLock<Recorded> = OnceLock::new();
    R.get_or_init(|| read_recorded(&crate::workspace_root()).unwrap_or_default())
}

/// The recorded exercises of every week, made into `Exercise`s once: their strings are leaked
/// to live as long as the program, so converting them on every call would leak again each time
/// (`grader mutants` lists a week's exercises once per mutant).
fn recorded_exercises() -> &'static std::collections::BTreeMap<String, Vec<Exercise>> {
    static E: OnceLock<std::collections::BTreeMap<String, Vec<Exercise>>> = OnceLock::new();
    E.get_or_init(|| recorded().weeks.iter().map(|(w, v)| (w.clone(), v.iter().map(ExerciseMeta::to_exercise).collect())).collect())
}

/// Why `checks/registry.json` cannot be used, or does not match a week's checks program.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("{}: {cause}", path.display())]
    Read { path: std::path::PathBuf, cause: std::io::Error },
    #[error("{}: {cause}", path.display())]
    Parse { path: std::path::PathBuf, cause: serde_json::Error },
    /// What a week's program registers differs from the record, or breaks a rule.
    #[error("{0}")]
    Drift(String),
}

pub fn read_recorded(root: &std::path::Path) -> Result<Recorded, RegistryError> {
    let path = root.join(RECORDED);
    let text = std::fs::read_to_string(&path).map_err(|cause| RegistryError::Read { path: path.clone(), cause })?;
    serde_json::from_str(&text).map_err(|cause| RegistryError::Parse { path, cause })
}

/// For each week program's tests: what it registers is what `checks/registry.json` records (so
/// the launcher's `list`, `hint` and "does not compile" reports are right), and its benchmarks
/// follow the rules of `grader bench`.
pub fn verify(l: &Linked) -> Result<(), RegistryError> {
    let mine: Vec<ExerciseMeta> = (l.exercises)().iter().map(ExerciseMeta::of).collect();
    let rec = read_recorded(&crate::workspace_root())?;
    if rec.weeks.get(l.week) != Some(&mine) {
        return Err(RegistryError::Drift(format!("{} differs from what {}'s checks register: run `just registry` and commit the result", RECORDED, l.week)));
    }
    let benches = (l.benches)();
    let ids: Vec<String> = benches.iter().map(|b| b.id.to_string()).collect();
    if rec.benches.get(l.week).cloned().unwrap_or_default() != ids {
        return Err(RegistryError::Drift(format!("the benchmarks in {RECORDED} differ from {}'s: run `just registry`", l.week)));
    }
    let mut seen = std::collections::HashSet::new();
    for b in &benches {
        if !seen.insert(b.id) || !b.id.starts_with(l.week) || b.id.split('.').count() < 3 {
            return Err(RegistryError::Drift(format!("benchmark {} is a duplicate or not named {}.topic.case", b.id, l.week)));
        }
    }
    // A plain `grader bench` never runs a SLOW one; naming it does.
    let plain = crate::bench::select_from(&benches, None);
    if let Some(b) = plain.iter().find(|b| crate::bench::is_slow(b)) {
        return Err(RegistryError::Drift(format!("a plain `grader bench` would run the SLOW benchmark {}", b.id)));
    }
    for b in benches.iter().filter(|b| crate::bench::is_slow(b)) {
        if !crate::bench::select_from(&benches, Some(b.id)).iter().any(|s| s.id == b.id) {
            return Err(RegistryError::Drift(format!("{} cannot be run by naming it", b.id)));
        }
    }
    Ok(())
}

/// What a week program writes for `grader registry`: its week's exercises and benchmarks.
pub fn linked_record() -> Option<(String, Vec<ExerciseMeta>, Vec<String>)> {
    let l = linked()?;
    Some((l.week.to_string(), (l.exercises)().iter().map(ExerciseMeta::of).collect(), (l.benches)().iter().map(|b| b.id.to_string()).collect()))
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
            for e in w.exercises() {
                assert!(seen.insert(e.id), "duplicate id {}", e.id);
                assert_eq!(e.id.split('.').count(), 3, "{} is not weekN.day.name", e.id);
                assert_eq!(e.week(), w.name, "{} registered under {}", e.id, w.name);
                assert!(!e.checks.is_empty(), "{} has no checks", e.id);
                assert!(!e.title.is_empty() && !e.file.is_empty(), "{} lacks a title or file", e.id);
                if !w.hidden {
                    assert!(!e.hints.is_empty(), "{} has no hint (a `// HINT:` line after its doc comment in the reference file)", e.id);
                    assert!((1..=3).contains(&e.difficulty) && e.minutes > 0, "{} has no pace: .pace(difficulty 1–3, minutes) in its registration", e.id);
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
        let all: Vec<Exercise> = weeks().iter().filter(|w| !w.hidden).flat_map(|w| w.exercises()).collect();
        let p = crate::book::pace_problems(&crate::root(), &all).unwrap();
        assert!(p.is_empty(), "the book's pace lines and the registry disagree:\n{}", p.join("\n"));
    }

    #[test]
    fn suggestions() {
        let opts = ["week1.arrays.cumsum", "week1.arrays.outer", "week1.arrays.eye"];
        assert_eq!(suggest("cumsun", opts), Some("week1.arrays.cumsum"));
        assert_eq!(suggest("week1.arrays.outr", opts), Some("week1.arrays.outer"));
        assert_eq!(suggest("zzzzzzzz", opts), None);
    }
}
