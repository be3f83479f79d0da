//! The command line: `grader grade | watch | list | hint | reset | stubs | fixtures | data | bench | dist`.

use crate::{child, dist, fixtures, make_device, registry, report, root, runner, stubs, subject};
use clap::{Parser, Subcommand};
use registry::{Exercise, Week};
use report::{paint, ExerciseReport, GradeReport, Status, Summary, BOLD, DIM};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::Instant;

#[derive(Parser)]
#[command(name = "grader", version, about = "Grades candlecamp exercises against PyTorch / transformers reference outputs")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Grade a week's exercises (each in its own process, with a time limit).
    Grade {
        /// The week, e.g. week1.
        week: String,
        /// Only exercises whose id contains this text (e.g. `cumsum` or `week1.arrays`).
        filter: Option<String>,
        /// Where tensors live: cpu, or cuda (needs a build with `--features cuda`).
        #[arg(long, default_value = "cpu")]
        device: String,
        /// Print one JSON document instead of the table.
        #[arg(long)]
        json: bool,
        /// Also run the long training targets (minutes each).
        #[arg(long)]
        long: bool,
        /// Also run the checks against real pretrained weights (downloads through hf-hub, or
        /// reads the HF cache; honours HF_HUB_OFFLINE).
        #[arg(long)]
        pretrained: bool,
        /// Exercises graded at once (default: the number of cores).
        #[arg(long, short)]
        jobs: Option<usize>,
        /// Multiply every time limit by this factor.
        #[arg(long, default_value_t = 1.0)]
        timeout_scale: f64,
        /// Grade on the CPU as well and list every exercise whose verdict, or whose compared
        /// numbers (within each check's tolerance), differ between the two devices: the parity
        /// report to run before teaching on GPUs (`--device cuda --compare-cpu`).
        #[arg(long)]
        compare_cpu: bool,
        /// For CI: succeed only if every exercise has this status (`passed` or `not-started`).
        #[arg(long, hide = true)]
        expect: Option<String>,
        /// Only these exercises (comma-separated ids; `grader watch` uses it).
        #[arg(long, hide = true, value_delimiter = ',')]
        ids: Vec<String>,
    },
    /// List the exercises of a week (or of every week) with their status from the last grade.
    List { week: Option<String> },
    /// Print the hint and the book page of an exercise.
    Hint { id: String },
    /// Put one exercise's stub back (only its function or type), after a timestamped backup of
    /// your file in .candlecamp/backups/.
    Reset {
        id: String,
        /// Restore the exercise's whole file instead (also backed up first).
        #[arg(long)]
        file: bool,
    },
    /// Regrade on every save: watches the week's sources and regrades the exercises of the file
    /// you changed. Ctrl-C quits.
    Watch {
        week: String,
        /// Seconds of quiet after a change before regrading.
        #[arg(long, default_value_t = 0.3)]
        debounce: f64,
        /// Run this grader binary instead of rebuilding with cargo (tests).
        #[arg(long, hide = true)]
        grader_bin: Option<PathBuf>,
    },
    /// Regenerate the learner stubs in weeks/ from solutions/ (instructors). `--check`: report drift only.
    Stubs {
        #[arg(long)]
        check: bool,
    },
    /// Verify every fixture against fixtures/MANIFEST (regenerate them with `just fixtures`).
    Fixtures,
    /// Time benchmarks of the code under test (and compare with PyTorch's timings from `just bench`).
    Bench {
        /// Only benchmarks whose id contains this text.
        filter: Option<String>,
        #[arg(long, default_value = "cpu")]
        device: String,
        /// Seconds of timed runs per benchmark.
        #[arg(long, default_value_t = 2.0)]
        seconds: f64,
    },
    /// Fill data/ with the datasets (from ../shared/data, or by download when online).
    Data,
    /// Write a learner's copy of the repository (no solutions/) to DIR.
    Dist {
        dir: PathBuf,
        #[arg(long)]
        force: bool,
    },
    #[command(name = "__child", hide = true)]
    Child {
        id: String,
        #[arg(long)]
        device: String,
        #[arg(long)]
        long: bool,
    },
}

fn usage_error(msg: String) -> ExitCode {
    eprintln!("error: {msg}");
    ExitCode::from(2)
}

pub fn main() -> ExitCode {
    // Behave like other Unix tools when the reader goes away (`grader list | head`).
    // SAFETY: restoring the default disposition of SIGPIPE before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    report::init_color();
    match cli.cmd {
        Cmd::Child { id, device, long } => child::run(&id, &device, long),
        Cmd::Grade { week, filter, device, json, long, pretrained, jobs, timeout_scale, compare_cpu, expect, ids } => {
            grade(&week, filter.as_deref(), &ids, &device, json, long, pretrained, jobs, timeout_scale, compare_cpu, expect.as_deref())
        }
        Cmd::List { week } => list(week.as_deref()),
        Cmd::Hint { id } => hint(&id),
        Cmd::Reset { id, file } => reset(&id, file),
        Cmd::Watch { week, debounce, grader_bin } => match resolve_week(&week) {
            Ok(w) => crate::watch::run(w, debounce, grader_bin.as_deref()),
            Err(e) => usage_error(e),
        },
        Cmd::Stubs { check } => match stubs::run(check) {
            Err(e) => usage_error(e),
            Ok(0) => {
                println!("stubs: weeks/ is what solutions/ generates");
                ExitCode::SUCCESS
            }
            Ok(n) if check => {
                println!("stubs: {n} file(s) drifted; run `just stubs` and commit the result");
                ExitCode::FAILURE
            }
            Ok(n) => {
                println!("stubs: wrote {n} file(s)");
                ExitCode::SUCCESS
            }
        },
        Cmd::Fixtures => match fixtures::check_all() {
            Err(e) => usage_error(e),
            Ok((n, bytes, problems)) if problems.is_empty() => {
                println!("fixtures: {n} file(s), {:.2} MB, all match fixtures/MANIFEST", bytes as f64 / 1e6);
                ExitCode::SUCCESS
            }
            Ok((_, _, problems)) => {
                for p in &problems {
                    println!("fixtures: {p}");
                }
                println!("fixtures: {} problem(s); {}", problems.len(), fixtures::REMAKE);
                ExitCode::FAILURE
            }
        },
        Cmd::Bench { filter, device, seconds } => match make_device(&device).and_then(|d| crate::bench::run(filter.as_deref(), &d, seconds)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => usage_error(e),
        },
        Cmd::Data => match crate::data::run() {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("data: {e}");
                ExitCode::FAILURE
            }
        },
        Cmd::Dist { dir, force } => match dist::run(&dir, force) {
            Ok(n) => {
                println!("dist: wrote {n} files to {} (no solutions/)", dir.display());
                ExitCode::SUCCESS
            }
            Err(e) => usage_error(e),
        },
    }
}

fn resolve_week(name: &str) -> Result<&'static Week, String> {
    registry::find_week(name).ok_or_else(|| {
        let visible = registry::weeks().iter().filter(|w| !w.hidden).map(|w| w.name);
        match registry::suggest(name, visible) {
            Some(s) => format!("there is no week {name:?}; did you mean {s}?"),
            None => format!(
                "there is no week {name:?}; weeks: {}",
                registry::weeks().iter().filter(|w| !w.hidden).map(|w| w.name).collect::<Vec<_>>().join(", ")
            ),
        }
    })
}

pub(crate) fn last_results_path(week: &str) -> PathBuf {
    root().join("target/candlecamp").join(format!("last-{}-{week}.json", subject::mode()))
}

#[allow(clippy::too_many_arguments)]
fn grade(week: &str, filter: Option<&str>, ids: &[String], device: &str, json: bool, long: bool, pretrained: bool, jobs: Option<usize>, timeout_scale: f64, compare_cpu: bool, expect: Option<&str>) -> ExitCode {
    let w = match resolve_week(week) {
        Ok(w) => w,
        Err(e) => return usage_error(e),
    };
    if let Err(e) = make_device(device) {
        return usage_error(e);
    }
    if let Some(x) = expect {
        if x != "passed" && x != "not-started" {
            return usage_error(format!("--expect takes passed or not-started, not {x:?}"));
        }
    }
    let all = (w.exercises)();
    let matching: Vec<Exercise> = all.into_iter().filter(|e| filter.is_none_or(|f| e.id.contains(f)) && (ids.is_empty() || ids.iter().any(|i| i == e.id))).collect();
    if matching.is_empty() {
        let f = filter.unwrap_or("");
        let ids: Vec<&'static str> = (w.exercises)().iter().map(|e| e.id).collect();
        return usage_error(match registry::suggest(f, ids) {
            Some(s) => format!("no exercise of {week} matches {f:?}; did you mean {s}?"),
            None => format!("no exercise of {week} matches {f:?}; `grader list {week}` lists them"),
        });
    }
    let (matching, pretrained_left): (Vec<Exercise>, Vec<Exercise>) = matching.into_iter().partition(|e| pretrained || !e.pretrained);
    let (selected, long_left): (Vec<Exercise>, Vec<Exercise>) = matching.into_iter().partition(|e| long || !e.long);
    let jobs = jobs.unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
    let opts = runner::Options { device: device.to_string(), long, jobs, timeout_scale, record: compare_cpu.then_some("device") };
    let id_width = selected.iter().map(|e| e.id.len()).max().unwrap_or(0);
    let start = Instant::now();

    if !json {
        println!(
            "{} {}  {}",
            paint(BOLD, &format!("candlecamp · {week}")),
            w.title,
            paint(DIM, &format!("({} code from {}/{}, {device}, {jobs} at a time)", subject::mode(), subject::base(), w.dir))
        );
    }
    // Print results in registry order as soon as every earlier one is done.
    let printer = Mutex::new((0usize, vec![None::<String>; selected.len()], String::new()));
    let on_done = |i: usize, r: &ExerciseReport| {
        if json {
            return;
        }
        let mut p = printer.lock().unwrap();
        p.1[i] = Some(report::exercise_lines(r, id_width));
        while p.0 < selected.len() {
            let k = p.0;
            let Some(line) = p.1[k].take() else { break };
            let day = selected[k].day().to_string();
            if p.2 != day {
                println!("\n{}", paint(BOLD, &day));
                p.2 = day;
            }
            println!("{line}");
            p.0 += 1;
        }
        let _ = std::io::stdout().flush();
    };
    let mut reports = runner::grade(&selected, &opts, &on_done);
    let parity = compare_cpu.then(|| {
        if !json {
            println!("\n{}", paint(DIM, &format!("parity: grading the same {} exercise(s) on the CPU…", selected.len())));
        }
        let cpu_opts = runner::Options { device: "cpu".into(), record: Some("cpu"), ..opts };
        let on_cpu = runner::grade(&selected, &cpu_opts, &|_, _| {});
        crate::parity::compare(device, &reports, &on_cpu).into_iter().map(|d| format!("{}: {}", d.id, d.what)).collect::<Vec<_>>()
    });
    for r in &mut reports {
        r.records = Vec::new();
    }
    let seconds = start.elapsed().as_secs_f64();
    let summary = Summary::of(&reports);
    let doc = GradeReport {
        week: week.to_string(),
        mode: subject::mode().to_string(),
        device: device.to_string(),
        exercises: reports,
        summary,
        seconds,
        long_not_run: long_left.len(),
        parity: parity.clone(),
    };
    remember(week, &doc.exercises);
    if json {
        println!("{}", serde_json::to_string_pretty(&doc).unwrap());
    } else {
        println!("\n{}", paint(BOLD, &report::summary_line(&summary, seconds)));
        if !long_left.is_empty() {
            println!("{}", paint(DIM, &format!("{} long exercise(s) not run: add --long", long_left.len())));
        }
        if !pretrained_left.is_empty() {
            println!("{}", paint(DIM, &format!("{} exercise(s) with pretrained weights not run: add --pretrained", pretrained_left.len())));
        }
        match &parity {
            Some(d) if d.is_empty() => println!("{}", paint(report::GREEN, &format!("parity: {device} and cpu agree on all {} exercise(s): the same verdicts, and every compared value within its check's tolerance", doc.exercises.len()))),
            Some(d) => {
                println!("{}", paint(report::RED, &format!("parity: {} disagreement(s) between {device} and cpu:", d.len())));
                for line in d {
                    println!("  {line}");
                }
            }
            None => {}
        }
        if let Some(next) = doc.exercises.iter().find(|r| r.status != Status::Passed) {
            println!(
                "next: {} — {}\n      edit {}\n      read {}  ·  stuck? {} {}",
                next.id,
                next.title,
                next.file,
                crate::book::page_location(&root(), &next.page),
                hint_command(),
                next.id
            );
        } else {
            println!("{}", paint(report::GREEN, "everything selected passed."));
        }
    }
    if parity.as_ref().is_some_and(|d| !d.is_empty()) {
        return ExitCode::FAILURE;
    }
    match expect {
        Some("passed") => expectation(&doc, Status::Passed),
        Some(_) => expectation(&doc, Status::NotStarted),
        None if summary.passed == summary.total => ExitCode::SUCCESS,
        None => ExitCode::FAILURE,
    }
}

/// The hint command a learner can type here: `just hint` once setup.sh installed just, else the
/// cargo alias that works on a fresh machine (`grader` itself is not on their PATH).
fn hint_command() -> &'static str {
    let on_path = |name: &str| std::env::var_os("PATH").is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(name).is_file()));
    if on_path("just") {
        "just hint"
    } else {
        "cargo grader hint"
    }
}

/// Merge this run's results into the week's last-results file, which `list` reads.
fn remember(week: &str, graded: &[ExerciseReport]) {
    let path = last_results_path(week);
    let mut all: Vec<ExerciseReport> = std::fs::read(&path)
        .ok()
        .and_then(|b| serde_json::from_slice::<Vec<ExerciseReport>>(&b).ok())
        .unwrap_or_default();
    for r in graded {
        match all.iter_mut().find(|o| o.id == r.id) {
            Some(o) => *o = r.clone(),
            None => all.push(r.clone()),
        }
    }
    let _ = std::fs::create_dir_all(path.parent().unwrap());
    let _ = std::fs::write(&path, serde_json::to_vec_pretty(&all).unwrap());
}

/// `--expect`: every exercise must have `want` (CI: the reference passes, the stubs are untouched).
fn expectation(doc: &GradeReport, want: Status) -> ExitCode {
    let off: Vec<&ExerciseReport> = doc.exercises.iter().filter(|r| r.status != want).collect();
    for r in &off {
        eprintln!("expect {}: {} is {} ({})", want.label(), r.id, r.status.label(), r.detail.as_deref().unwrap_or(""));
    }
    println!("expect {}: {} passed, {} failed", want.label(), doc.exercises.len() - off.len(), off.len());
    if off.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn list(week: Option<&str>) -> ExitCode {
    let weeks: Vec<&Week> = match week {
        Some(name) => match resolve_week(name) {
            Ok(w) => vec![w],
            Err(e) => return usage_error(e),
        },
        None => registry::weeks().iter().filter(|w| !w.hidden).collect(),
    };
    for w in weeks {
        let last: Vec<ExerciseReport> = std::fs::read(last_results_path(w.name)).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default();
        let status_of = |id: &str| last.iter().find(|r| r.id == id).map(|r| r.status.label()).unwrap_or("not graded yet");
        println!("{}", paint(BOLD, &format!("{} — {}", w.name, w.title)));
        let exs = (w.exercises)();
        let width = exs.iter().map(|e| e.id.len()).max().unwrap_or(0);
        for e in &exs {
            let long = if e.long { " (long)" } else { "" };
            println!("  {:<width$}  {:<14} {}{long}", e.id, status_of(e.id), e.title);
        }
    }
    ExitCode::SUCCESS
}

fn unknown_exercise(id: &str) -> ExitCode {
    let ids: Vec<&'static str> = registry::weeks().iter().filter(|w| !w.hidden).flat_map(|w| (w.exercises)().into_iter().map(|e| e.id)).collect();
    usage_error(match registry::suggest(id, ids) {
        Some(s) => format!("no exercise {id:?}; did you mean {s}?"),
        None => format!("no exercise {id:?}; `grader list` shows them all"),
    })
}

fn reset(id: &str, whole_file: bool) -> ExitCode {
    if subject::REFERENCE {
        return usage_error("reset restores a learner's stub in weeks/; run it without --features reference".into());
    }
    let Some((w, e)) = registry::find_exercise(id).filter(|(w, _)| !w.hidden) else {
        return unknown_exercise(id);
    };
    match crate::reset::run(&root(), w.dir, &e, whole_file) {
        Ok(o) => {
            let file = o.file.strip_prefix(root()).unwrap_or(&o.file).display().to_string();
            match o.backup {
                Some(b) => println!(
                    "reset {id}: restored the stub of {}\n      your version was saved to {}",
                    o.what,
                    b.strip_prefix(root()).unwrap_or(&b).display()
                ),
                None => println!("reset {id}: {} is already the stub; {file} is unchanged", o.what),
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("reset {id}: {e}");
            ExitCode::FAILURE
        }
    }
}

fn hint(id: &str) -> ExitCode {
    match registry::find_exercise(id) {
        Some((_, e)) => {
            println!("{} — {}\n", paint(BOLD, e.id), e.title);
            println!("{}\n", if e.hint.is_empty() { "(no hint for this one)" } else { e.hint });
            println!("file: {}\nbook: {}", subject::learner_file(&e), crate::book::page_location(&root(), &e.page));
            ExitCode::SUCCESS
        }
        None => unknown_exercise(id),
    }
}
