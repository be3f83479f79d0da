//! Snapshots of what people read: the report line of each status kind, the summary and the
//! "next:" line, the does-not-compile report, `--json`, `grader list`, `grader hint`, and the
//! stub generator's output for a sample solution file. A change to any of them shows up as a
//! snapshot diff to review (`INSTA_UPDATE=always cargo test -p grader --test snapshots`, then
//! read `git diff grader/tests/snapshots`).

use grader::report::{self, CheckReport, ExerciseReport, GradeReport, Status};
use std::path::PathBuf;

/// Book locations are computed against a root with no built book and no base URL, so that
/// every line reads `book/src/...` whatever this checkout has built; the learner's file is
/// `weeks/...` in learner mode and `solutions/...` in reference mode, and is shown as `weeks/`.
fn settings() -> insta::Settings {
    let root = std::env::temp_dir().join("candlecamp-snapshots-root");
    std::fs::create_dir_all(&root).unwrap();
    // SAFETY: every test of this binary sets the same value before reading it.
    unsafe { std::env::set_var("CANDLECAMP_ROOT", &root) };
    let mut s = insta::Settings::clone_current();
    s.add_filter(r"\bsolutions/", "weeks/");
    // The command shown is `just …` where just is on the PATH, `cargo grader …` before.
    s.add_filter(r"\bcargo grader\b", "just");
    s
}

fn ex(id: &str, title: &str, status: Status, detail: Option<&str>) -> ExerciseReport {
    let parts: Vec<&str> = id.split('.').collect();
    ExerciseReport {
        id: id.into(),
        title: title.into(),
        status,
        detail: detail.map(String::from),
        checks: vec![CheckReport { name: "vs torch".into(), status, detail: detail.map(String::from) }],
        seconds: 0.25,
        file: format!("weeks/{}/src/{}.rs", parts[0], parts[1]),
        page: format!("{}/{}.md#{}", parts[0], parts[1], parts[2]),
        output: None,
        notes: Vec::new(),
        records: Vec::new(),
    }
}

/// One exercise of every status, as a grade reports them.
fn every_status() -> Vec<ExerciseReport> {
    let mut with_output = ex(
        "week1.arrays.roll",
        "roll along an axis",
        Status::Crashed,
        Some("your code panicked: index out of bounds: the len is 4 but the index is 4 (src/arrays.rs:88:17)"),
    );
    with_output.output = Some("debug: shifting by 5\ndebug: wrapped to 1".into());
    let mut with_notes = ex("week1.training.train_cnn", "train the CNN", Status::Passed, None);
    with_notes.notes = vec!["held-out accuracy 98.1 % (≥ 97 % needed)".into(), "wrote target/candlecamp/week1/cnn-filters.png".into()];
    vec![
        ex("week1.arrays.cumsum", "cumulative sum without .cumsum()", Status::Passed, None),
        with_notes,
        ex(
            "week1.arrays.diag",
            "the diagonal by indexing",
            Status::Failed,
            Some("[vs torch] diag(a: [4, 4]) [fixture case 2]: shape is [4, 1], expected [4]\n  diagnosis: a trailing axis of size 1: squeeze it"),
        ),
        ex("week1.arrays.flip", "flip along axes", Status::NotStarted, Some("todo!() at src/arrays.rs:61")),
        ex("week1.arrays.bincount", "counting with scatter_add", Status::TimedOut, Some("still running after 10.0s (limit 10s): an endless loop?")),
        with_output,
        ex("week2.gpt2.pretrained", "the real GPT-2 small", Status::Skipped, Some("skipped: needs network or a filled HF cache")),
        ex(
            "week1.modules.linear",
            "nn.Linear",
            Status::DoesNotCompile,
            Some("week1 does not compile: the first of 1 error(s) is at weeks/week1/src/modules.rs:40:9"),
        ),
        ex(
            "week1.arrays.softmax",
            "a stable softmax",
            Status::Error,
            Some("fixture fixtures/week1/arrays.safetensors is missing; remake the fixtures with `just fixtures`"),
        ),
    ]
}

#[test]
fn the_report_of_each_status() {
    settings().bind(|| {
        let rs = every_status();
        let width = rs.iter().map(|r| r.id.len()).max().unwrap();
        let mut text: Vec<String> = rs.iter().map(|r| report::exercise_lines(r, width)).collect();
        let doc = GradeReport::new("week1", "cpu", rs.clone(), 3.25, 2, None);
        text.push(String::new());
        text.push(report::summary_line(&doc.summary, doc.seconds));
        text.push(report::next_step(&doc.exercises, "just hint", |page| format!("book/src/{page}"), |_| " (2 of 3 hints left)".to_string()));
        insta::assert_snapshot!(text.join("\n"));
    });
}

#[test]
fn everything_passed() {
    settings().bind(|| {
        let rs = vec![ex("week0.micrograd.value", "a scalar Value", Status::Passed, None)];
        insta::assert_snapshot!(report::next_step(&rs, "just hint", |page| format!("book/src/{page}"), |_| String::new()));
    });
}

#[test]
fn a_week_that_does_not_compile() {
    settings().bind(|| {
        let rendered = "error[E0308]: mismatched types\n  --> weeks/week1/src/modules.rs:40:9\n   |\n40 |         x\n   |         ^ expected `Result<Tensor>`, found `Tensor`";
        let detail = "week1 does not compile: the first of 1 error(s) is at weeks/week1/src/modules.rs:40:9, in week1.modules.linear (book/src/week1/modules.md#linear)";
        let rs = vec![ex("week1.modules.linear", "nn.Linear", Status::DoesNotCompile, Some(detail))];
        let doc = GradeReport::new("week1", "cpu", rs, 0.8, 0, None);
        insta::assert_snapshot!(report::does_not_compile_text(detail, rendered, &doc.summary, doc.seconds));
    });
}

#[test]
fn the_json_report() {
    settings().bind(|| {
        let mut doc = GradeReport::new("week1", "cpu", every_status(), 3.25, 2, Some(vec![]));
        doc.mode = "learner".into(); // the same snapshot in reference mode
        insta::assert_json_snapshot!(doc);
    });
}

#[test]
fn grader_list() {
    settings().bind(|| {
        let week0 = grader::registry::find_week("week0").unwrap();
        let last = |_: &str| {
            vec![
                ex("week0.micrograd.value", "", Status::Passed, None),
                ex("week0.micrograd.backward", "", Status::Failed, Some("wrong")),
                ex("week0.bigram.counts", "", Status::NotStarted, None),
            ]
        };
        insta::assert_snapshot!(grader::cli::list_text(&[week0], last));
    });
}

#[test]
fn grader_hint() {
    settings().bind(|| {
        let (_, e) = grader::registry::find_exercise("week1.arrays.cumsum").unwrap();
        insta::assert_snapshot!(format!(
            "{}\n---- all levels:\n{}",
            grader::cli::hint_text(&e, "book/src/week1/arrays.md#cumsum", 0..1),
            grader::cli::hint_text(&e, "book/src/week1/arrays.md#cumsum", 0..e.hints.len())
        ));
    });
}

#[test]
fn grader_next() {
    settings().bind(|| {
        // next reads the exercise's file under the root: give the snapshot root a copy of it.
        let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let root = std::path::PathBuf::from(std::env::var_os("CANDLECAMP_ROOT").unwrap());
        for base in ["weeks", "solutions"] {
            let rel = format!("{base}/week1/src/arrays.rs");
            std::fs::create_dir_all(root.join(&rel).parent().unwrap()).unwrap();
            std::fs::copy(here.join("weeks/week1/src/arrays.rs"), root.join(&rel)).unwrap();
        }
        let (w, e) = grader::registry::find_exercise("week1.arrays.cumsum").unwrap();
        let text = grader::cli::next_text(w, &e, Some(Status::Failed));
        // The line number moves with the file; the rest is what a learner reads.
        let text = regex_free_line(&text);
        insta::assert_snapshot!(text);
    });
}

/// `weeks/week1/src/arrays.rs:NN` → `weeks/week1/src/arrays.rs:LINE`.
fn regex_free_line(text: &str) -> String {
    text.lines()
        .map(|l| match l.trim_start().strip_prefix("weeks/week1/src/arrays.rs:") {
            Some(_) => "  weeks/week1/src/arrays.rs:LINE".to_string(),
            None => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn skip_and_solution() {
    settings().bind(|| {
        let (_, e) = grader::registry::find_exercise("week1.arrays.ones").unwrap();
        let text = [
            grader::cli::skip_text(e.id, true, true),
            grader::cli::skip_text(e.id, true, false),
            grader::cli::skip_text(e.id, false, true),
            grader::cli::solution_refused_text(&e),
        ];
        insta::assert_snapshot!(text.join("\n"));
    });
}

/// What `grader solution` prints, exactly, for exercises whose shown code is easy to get wrong:
/// a puzzle with a helper, a type's methods (not another exercise's method in the same impl),
/// a function next to a given type of the same name, another day's method in a type of this
/// one.
#[test]
fn shown_solutions() {
    let root = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/..")).canonicalize().unwrap();
    if !root.join("solutions").is_dir() {
        return; // a learner copy
    }
    settings().bind(|| {
        let mut out = Vec::new();
        for id in ["week1.arrays.eye", "week2.gpt2.attention", "week2.sampling.cached_attention", "week3.train_loop.config"] {
            let (w, e) = grader::registry::find_exercise(id).unwrap();
            let text = grader::bundle::from_solutions(&root, w.dir, &e).unwrap();
            out.push(grader::cli::solution_text(&e, &text));
        }
        insta::assert_snapshot!(out.join("\n\n"));
    });
}

#[test]
fn the_stub_of_a_sample_solution() {
    let src = include_str!("data/sample_solution.rs");
    insta::assert_snapshot!(grader::stubs::transform(src, "sample_solution.rs").unwrap());
}
