//! Results: what a child reports, what the parent concludes, how it is printed.

use serde::{Deserialize, Serialize};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};

#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Passed,
    Failed,
    NotStarted,
    TimedOut,
    Crashed,
    Skipped,
    /// The week's crate did not compile, so none of its exercises could run (the report shows
    /// the first compiler error).
    DoesNotCompile,
    /// A problem on the grader's side (missing fixture, grader bug): not the learner's fault.
    Error,
}

impl Status {
    pub fn label(self) -> &'static str {
        match self {
            Status::Passed => "passed",
            Status::Failed => "failed",
            Status::NotStarted => "not started",
            Status::TimedOut => "timed out",
            Status::Crashed => "crashed",
            Status::Skipped => "skipped",
            Status::DoesNotCompile => "does not compile",
            Status::Error => "error",
        }
    }
    fn mark(self) -> (&'static str, &'static str) {
        match self {
            Status::Passed => ("✓", GREEN),
            Status::Failed => ("✗", RED),
            Status::NotStarted => ("·", DIM),
            Status::TimedOut => ("⧗", YELLOW),
            Status::Crashed => ("!", RED),
            Status::Skipped => ("-", DIM),
            Status::DoesNotCompile => ("✗", RED),
            Status::Error => ("?", YELLOW),
        }
    }
    /// Severity, for folding several checks into one exercise status.
    fn rank(self) -> u8 {
        match self {
            Status::Passed => 0,
            Status::Skipped => 1,
            Status::NotStarted => 2,
            Status::Failed => 3,
            Status::TimedOut => 4,
            Status::Crashed => 5,
            Status::DoesNotCompile => 6,
            Status::Error => 7,
        }
    }
}

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct CheckReport {
    pub name: String,
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// What a child process writes to its result file.
#[derive(Serialize, Deserialize, Debug)]
pub struct ChildReport {
    pub nonce: String,
    pub id: String,
    pub checks: Vec<CheckReport>,
    /// Lines for the report whatever the outcome: files written for a person to look at,
    /// measured accuracies.
    #[serde(default)]
    pub notes: Vec<String>,
    /// What the checks compared (`--compare-cpu` only; see `parity`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub records: Vec<crate::parity::Record>,
}

/// The parent's verdict on one exercise.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct ExerciseReport {
    pub id: String,
    pub title: String,
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    pub checks: Vec<CheckReport>,
    pub seconds: f64,
    /// The learner's file.
    pub file: String,
    /// The book page (relative to book/src).
    pub page: String,
    /// Tail of what the exercise printed (stdout, then stderr), when it did not pass.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    /// The checks' notes: pictures written, measurements.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// What the checks compared, kept only for `--compare-cpu` and never written out.
    #[serde(skip)]
    pub records: Vec<crate::parity::Record>,
}

impl ExerciseReport {
    /// A report of `ex` with this status and detail, before anything ran.
    pub fn of(ex: &crate::registry::Exercise, status: Status, detail: Option<String>) -> ExerciseReport {
        ExerciseReport {
            id: ex.id.to_string(),
            title: ex.title.to_string(),
            status,
            detail,
            checks: Vec::new(),
            seconds: 0.0,
            file: crate::subject::learner_file(ex),
            page: ex.page.clone(),
            output: None,
            notes: Vec::new(),
            records: Vec::new(),
        }
    }
}

/// Fold check statuses: all passed → passed; otherwise the most severe one, with its detail.
pub fn fold(checks: &[CheckReport]) -> (Status, Option<String>) {
    if checks.is_empty() {
        return (Status::Error, Some("no checks ran".into()));
    }
    // The first of the most severe checks: later checks often fail *because* of the first.
    let top = checks.iter().map(|c| c.status.rank()).max().unwrap();
    let worst = checks.iter().find(|c| c.status.rank() == top).unwrap();
    if worst.status == Status::Passed {
        return (Status::Passed, None);
    }
    let detail = worst.detail.as_ref().map(|d| if checks.len() > 1 { format!("[{}] {d}", worst.name) } else { d.clone() });
    (worst.status, detail)
}

#[derive(Serialize, Deserialize, Default, Debug, Clone, Copy)]
pub struct Summary {
    pub total: usize,
    pub passed: usize,
    pub failed: usize,
    pub not_started: usize,
    pub timed_out: usize,
    pub crashed: usize,
    pub skipped: usize,
    #[serde(default)]
    pub does_not_compile: usize,
    pub error: usize,
}

impl Summary {
    pub fn of(reports: &[ExerciseReport]) -> Summary {
        let mut s = Summary { total: reports.len(), ..Default::default() };
        for r in reports {
            *match r.status {
                Status::Passed => &mut s.passed,
                Status::Failed => &mut s.failed,
                Status::NotStarted => &mut s.not_started,
                Status::TimedOut => &mut s.timed_out,
                Status::Crashed => &mut s.crashed,
                Status::Skipped => &mut s.skipped,
                Status::DoesNotCompile => &mut s.does_not_compile,
                Status::Error => &mut s.error,
            } += 1;
        }
        s
    }
}

#[derive(Serialize, Deserialize, Debug)]
pub struct GradeReport {
    pub week: String,
    /// "learner" or "reference"
    pub mode: String,
    pub device: String,
    pub exercises: Vec<ExerciseReport>,
    pub summary: Summary,
    pub seconds: f64,
    /// `--long` exercises left out of this run.
    pub long_not_run: usize,
    /// `--compare-cpu`: where the device run and the CPU run disagree (empty: full parity).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parity: Option<Vec<String>>,
}

impl GradeReport {
    /// The report of one grade of `week` (its summary counted from `exercises`).
    pub fn new(week: &str, device: &str, exercises: Vec<ExerciseReport>, seconds: f64, long_not_run: usize, parity: Option<Vec<String>>) -> GradeReport {
        let summary = Summary::of(&exercises);
        GradeReport {
            week: week.to_string(),
            mode: crate::subject::mode().to_string(),
            device: device.to_string(),
            exercises,
            summary,
            seconds,
            long_not_run,
            parity,
        }
    }
}

// ---- terminal output ----

static COLOR: AtomicBool = AtomicBool::new(false);
pub const GREEN: &str = "32";
pub const RED: &str = "31";
pub const YELLOW: &str = "33";
pub const DIM: &str = "2";
pub const BOLD: &str = "1";

/// Colours on only for a terminal, and never with NO_COLOR set.
pub fn init_color() {
    let on = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    COLOR.store(on, Ordering::Relaxed);
}

/// Whether the report is coloured (a terminal, and no `NO_COLOR`).
pub fn color() -> bool {
    COLOR.load(Ordering::Relaxed)
}

pub fn paint(code: &str, s: &str) -> String {
    if COLOR.load(Ordering::Relaxed) {
        format!("\x1b[{code}m{s}\x1b[0m")
    } else {
        s.to_string()
    }
}

/// One line (plus indented diagnosis) for an exercise.
pub fn exercise_lines(r: &ExerciseReport, id_width: usize) -> String {
    let (mark, color) = r.status.mark();
    let mut s = format!(
        "  {} {:<w$}  {:<16} {}",
        paint(color, mark),
        r.id,
        paint(color, r.status.label()),
        paint(DIM, &format!("{:.2}s  {}", r.seconds, r.title)),
        w = id_width
    );
    for n in &r.notes {
        s.push_str(&format!("\n      {}", paint(DIM, n)));
    }
    // A stub not started needs no details, unless the todo!() it reached is another exercise's.
    let helper = r.status == Status::NotStarted && r.detail.as_deref().is_some_and(|d| d.contains("calls ") && d.contains("solve that one first"));
    if r.status != Status::Passed && (r.status != Status::NotStarted || helper) {
        if let Some(d) = &r.detail {
            for line in d.lines() {
                s.push_str(&format!("\n      {line}"));
            }
        }
        if r.status != Status::Error && !r.page.is_empty() {
            s.push_str(&format!("\n      {}", paint(DIM, &format!("read {}", crate::book::page_location(&crate::root(), &r.page)))));
        }
        if let Some(out) = &r.output {
            s.push_str(&format!("\n      {}", paint(DIM, "your code printed:")));
            for line in out.lines() {
                s.push_str(&format!("\n      {}", paint(DIM, &format!("| {line}"))));
            }
        }
    }
    s
}

pub fn summary_line(s: &Summary, seconds: f64) -> String {
    let mut parts = vec![format!("{}/{} passed", s.passed, s.total)];
    for (n, what) in [
        (s.failed, "failed"),
        (s.not_started, "not started"),
        (s.timed_out, "timed out"),
        (s.crashed, "crashed"),
        (s.skipped, "skipped"),
        (s.does_not_compile, "do not compile"),
        (s.error, "error"),
    ] {
        if n > 0 {
            parts.push(format!("{n} {what}"));
        }
    }
    parts.push(format!("{seconds:.1}s"));
    parts.join(" · ")
}

/// The report's last line: the first exercise that did not pass, with where to work on it and
/// how to ask for a hint (`book` gives a page's location, `hints` how many hint levels are left),
/// or that everything passed.
pub fn next_step(exercises: &[ExerciseReport], hint_command: &str, book: impl Fn(&str) -> String, hints: impl Fn(&str) -> String) -> String {
    match exercises.iter().find(|r| r.status != Status::Passed) {
        Some(next) => format!(
            "next: {} — {}\n      edit {}\n      read {}  ·  stuck? {hint_command} {}{}",
            next.id,
            next.title,
            next.file,
            book(&next.page),
            next.id,
            hints(&next.id)
        ),
        None => paint(GREEN, "everything selected passed."),
    }
}

/// The body of the report for a week that does not compile: the diagnosis, the compiler's
/// first error, the summary.
pub fn does_not_compile_text(detail: &str, rendered: &str, summary: &Summary, seconds: f64) -> String {
    format!(
        "\n{}\n\n{rendered}\n\n{}\n{}\n",
        paint(RED, &format!("✗ {detail}")),
        paint(BOLD, &summary_line(summary, seconds)),
        paint(DIM, "fix the error above and grade again; other weeks are not affected")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(status: Status, d: &str) -> CheckReport {
        CheckReport { name: "c".into(), status, detail: Some(d.into()) }
    }

    #[test]
    fn a_failing_exercise_names_its_page() {
        let mut r = ExerciseReport {
            id: "week1.arrays.cumsum".into(),
            title: "t".into(),
            status: Status::Failed,
            detail: Some("cumsum(a: [9]) [fixture case 1]: 8 of 9 element(s) differ".into()),
            checks: vec![],
            seconds: 0.1,
            file: "weeks/week1/src/arrays.rs".into(),
            page: "week1/arrays.md#cumsum".into(),
            output: None,
            notes: vec![],
            records: vec![],
        };
        let lines = exercise_lines(&r, 20);
        let read = lines.lines().last().unwrap();
        assert!(read.trim_start().starts_with("read ") && read.contains("week1/arrays."), "{lines}");
        assert!(read.ends_with("#cumsum") || read.ends_with("arrays.md"), "{lines}");
        r.status = Status::NotStarted;
        assert!(!exercise_lines(&r, 20).contains("read "), "a stub that was not started needs no page link");
    }

    #[test]
    fn fold_takes_the_most_severe() {
        assert_eq!(fold(&[c(Status::Passed, "")]).0, Status::Passed);
        assert_eq!(fold(&[c(Status::Passed, ""), c(Status::NotStarted, "")]).0, Status::NotStarted);
        assert_eq!(fold(&[c(Status::NotStarted, ""), c(Status::Failed, "x")]).0, Status::Failed);
        assert_eq!(fold(&[c(Status::Passed, ""), c(Status::Skipped, "")]).0, Status::Skipped);
        assert_eq!(fold(&[]).0, Status::Error);
    }
}
