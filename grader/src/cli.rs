//! The command line: `grader grade | watch | list | hint | reset | stubs | fixtures | data | bench | dist`.

use crate::{child, dist, fixtures, make_device, registry, report, root, runner, stubs, subject};
use clap::{Args, Parser, Subcommand};
use registry::{Exercise, Week};
use report::{paint, ExerciseReport, GradeReport, Status, BOLD, DIM};
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

/// What `grade` takes.
#[derive(Args)]
struct GradeArgs {
    /// The week, e.g. week1.
    week: String,
    /// Which exercises: a day (`arrays`: that day's exercises only), an exercise (`cumsum`, or
    /// its whole id), or else any text its id contains (`sum`). Several filters select every
    /// exercise any of them selects.
    filters: Vec<String>,
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
}

#[derive(Subcommand)]
enum Cmd {
    /// Grade a week's exercises (each in its own process, with a time limit).
    Grade(GradeArgs),
    /// List the exercises of a week (or of every week) with their status from the last grade.
    List { week: Option<String> },
    /// Print the next hint of an exercise (hints go from a nudge to nearly the answer; each call
    /// shows one more level), with its file and book page. `--all`: every level.
    Hint {
        id: String,
        #[arg(long)]
        all: bool,
    },
    /// The first exercise you have not passed yet (passing over the ones you skipped): its file
    /// and line, what it asks, where to read about it. `--open` opens it in $EDITOR.
    Next {
        week: Option<String>,
        #[arg(long)]
        open: bool,
    },
    /// Leave an exercise for later: `next` passes over it (it still grades, and still counts as
    /// unfinished).
    Skip { id: String },
    /// Undo `skip`.
    Unskip { id: String },
    /// The reference solution of an exercise, once it has passed in this copy.
    Solution { id: String },
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
    /// Week 3's training dashboard: the metrics.jsonl of one or more run folders as one HTML
    /// page of charts (loss, learning rate, gradient norms, tokens per second) and a PNG of each.
    /// Without folders: every run under target/candlecamp/week3/runs.
    Dashboard {
        runs: Vec<PathBuf>,
        /// The gradient-clipping threshold, to draw the norm after clipping too.
        #[arg(long)]
        clip: Option<f64>,
        /// Where the page goes (default: target/candlecamp/week3/dashboard.html).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Rewrite the page every 2 s until Ctrl-C (the page reloads itself while a run writes).
        #[arg(long)]
        watch: bool,
        /// Open the page in the browser (xdg-open or open).
        #[arg(long)]
        open: bool,
    },
    /// Write each exercise's registered difficulty and minutes under its heading in the book
    /// (instructors, after changing a `.pace(…)`).
    #[command(name = "book-pace")]
    BookPace,
    /// Rewrite checks/registry.json from every week's checks program (instructors, after
    /// adding or renaming an exercise). `--check`: report drift only.
    Registry {
        #[arg(long)]
        check: bool,
    },
    #[command(name = "__registry", hide = true)]
    PrintRegistry,
    /// Mutation testing of the checks (instructors): change one operator, comparison, axis or
    /// literal at a time in the reference solutions, grade, and list the mutants no check kills.
    Mutants {
        /// Only this week.
        week: Option<String>,
        /// Only mutants in files (or on lines) containing this text.
        filter: Option<String>,
        /// Run a random sample of this many mutants (seeded by --seed).
        #[arg(long)]
        sample: Option<usize>,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Only list the mutants.
        #[arg(long)]
        list: bool,
        /// Also mutate the code of the long training targets (and grade them: minutes a mutant).
        #[arg(long)]
        long: bool,
        /// Succeed when at least this percentage of viable mutants is killed (survivors are
        /// still listed); without it any survivor fails the run.
        #[arg(long)]
        min_kill: Option<f64>,
    },
    /// Time benchmarks of the code under test (and compare with PyTorch's timings from `just bench`).
    Bench {
        /// Only benchmarks whose id contains this text.
        filter: Option<String>,
        #[arg(long, default_value = "cpu")]
        device: String,
        /// Seconds of timed runs per benchmark.
        #[arg(long, default_value_t = 2.0)]
        seconds: f64,
        /// (Set by the launcher for each week's program.) Append each timed row's ratio to this
        /// file instead of printing the summary line, which the launcher prints once for all
        /// the weeks.
        #[arg(long, hide = true)]
        summary_to: Option<std::path::PathBuf>,
    },
    /// Fill data/ with the datasets (from ../shared/data, or by download when online).
    Data,
    /// The bug hunt: plant one realistic bug in a model you have built (bughunt/WEEK/src/patient.rs),
    /// train it beside a healthy copy and draw the symptoms; then name the line or fix it.
    /// Weeks: week0 (the MLP), week1 (the CNN), week3 (the char-GPT).
    Bughunt {
        /// week0, week1 or week3 (not needed with --verify).
        week: Option<String>,
        /// Your answer: the line of the patient file that holds the bug (`42` or `patient.rs:42`).
        #[arg(long)]
        line: Option<String>,
        /// Show the bug and put the file back.
        #[arg(long)]
        give_up: bool,
        /// The bugs you have found, with attempts and times.
        #[arg(long)]
        status: bool,
        /// Open the report page in the browser.
        #[arg(long)]
        open: bool,
        /// Plant this bug (instructors).
        #[arg(long, hide = true)]
        bug: Option<String>,
        /// Start without checking that the patient's exercises have passed (tests).
        #[arg(long, hide = true)]
        no_prerequisites: bool,
        /// Instructors: plant every bug in turn and check the signs each is listed with
        /// (`--verify week1`, `--verify mlp.`).
        #[arg(long, hide = true)]
        verify: bool,
    },
    /// The diagnosis drill (instructors): plant each mistake of checks/diagnosis-drill.toml in
    /// a copy of the reference, grade, and count the reports that name the cause.
    Drill {
        /// Only mistakes whose exercise id contains this text.
        filter: Option<String>,
        /// Succeed when at least this percentage named the cause.
        #[arg(long)]
        min: Option<f64>,
        /// Print every report, not only those that missed the cause.
        #[arg(long)]
        show: bool,
    },
    /// The shipped-text lint: what a learner reads (weeks/, fastops/, the README, the book's
    /// learner pages, every exercise's `grader solution`) carries no issue numbers, A/B notes,
    /// mutant remarks, benchmark timings, or hint and solution markers.
    Lint,
    /// Write a learner's copy of the repository (no solutions/) to DIR.
    Dist {
        dir: PathBuf,
        #[arg(long)]
        force: bool,
        /// Leave the reference solutions out (`grader solution` then says so): for graded courses.
        #[arg(long)]
        no_solutions: bool,
    },
    /// (Tests.) Write into the learner copy DIR every week file as the reference solves it: the
    /// solution files without their markers, which is each stub with every exercise's
    /// `grader solution` text in place (the regions a shown solution holds are the file's).
    #[command(name = "__solve-copy", hide = true)]
    SolveCopy { dir: PathBuf },
    /// (`just book` in a learner's copy.) Copy the book into DIR with each picture your grades
    /// drew shown beside the reference's.
    #[command(name = "__book-stage", hide = true)]
    BookStage { dir: PathBuf },
    #[command(name = "__child", hide = true)]
    Child {
        id: String,
        #[arg(long)]
        device: String,
        #[arg(long)]
        long: bool,
    },
}

/// A command line that asks for something that does not exist or cannot be (exit status 2).
/// A command returns it inside its `anyhow::Error` when the fault is in its arguments, not in
/// the files or tools it works with.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Usage(pub String);

/// A command that could not do its work (a missing file, a failed build): exit status 1, with
/// the chain of contexts; a [`Usage`] error inside is a usage error.
fn dashboard_cmd(runs: Vec<PathBuf>, clip: Option<f64>, out: Option<PathBuf>, watch: bool, open: bool) -> ExitCode {
    let root = root();
    let runs = if runs.is_empty() {
        let base = root.join("target/candlecamp/week3/runs");
        let mut found: Vec<PathBuf> =
            std::fs::read_dir(&base).map(|d| d.flatten().map(|e| e.path()).filter(|p| p.join("metrics.jsonl").exists()).collect()).unwrap_or_default();
        found.sort();
        if found.is_empty() {
            eprintln!("dashboard: no runs under {} yet: `just grade week3 train_loop` makes one, or name a folder that holds a metrics.jsonl", base.display());
            return ExitCode::FAILURE;
        }
        found
    } else {
        runs
    };
    let out = out.unwrap_or_else(|| root.join("target/candlecamp/week3/dashboard.html"));
    let mut opened = !open;
    loop {
        match crate::dashboard::write(&runs, &out, clip, watch) {
            Ok(read) => {
                if !opened || !watch {
                    let steps: Vec<String> = read.iter().map(|r| format!("{} ({} steps)", r.name, r.steps.len())).collect();
                    println!("dashboard: {} → {}", steps.join(", "), out.display());
                }
            }
            Err(e) if !watch => return failure("dashboard", e),
            Err(e) => eprintln!("dashboard: {e:#}"),
        }
        if !opened {
            opened = true;
            if !crate::dashboard::open_in_browser(&out) {
                println!("dashboard: open {} in a browser", out.display());
            }
        }
        if !watch {
            return ExitCode::SUCCESS;
        }
        std::thread::sleep(std::time::Duration::from_secs(2));
    }
}

fn failure(what: &str, e: impl Into<anyhow::Error>) -> ExitCode {
    let e = e.into();
    if let Some(u) = e.downcast_ref::<Usage>() {
        return usage_error(u);
    }
    eprintln!("{what}: {e:#}");
    ExitCode::FAILURE
}

/// A command line that asks for something that does not exist: exit status 2.
fn usage_error(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {msg}");
    ExitCode::from(2)
}

/// A device that does not exist or is not built in is a usage error; one that fails to open
/// is a failure.
fn device_error(e: crate::DeviceError) -> ExitCode {
    match e {
        crate::DeviceError::Cuda(_) => failure("device", e),
        _ => usage_error(e),
    }
}

/// The `grader` launcher: links no learner code; `grade` and `bench` build the week's checks
/// program and hand over to it (see `launch`).
pub fn main() -> ExitCode {
    dispatch(None)
}

/// A week's checks program (`checks/weekN`): the same commands, with that week's checks linked.
pub fn runner_main(linked: registry::Linked) -> ExitCode {
    let week = linked.week;
    registry::link(linked);
    dispatch(Some(week))
}

fn dispatch(linked: Option<&'static str>) -> ExitCode {
    // Behave like other Unix tools when the reader goes away (`grader list | head`).
    // SAFETY: restoring the default disposition of SIGPIPE before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    report::init_color();
    match cli.cmd {
        Cmd::Child { id, device, long } => child::run(&id, &device, long),
        Cmd::Grade(a) => {
            let w = match resolve_week(&a.week) {
                Ok(w) => w,
                Err(e) => return usage_error(e),
            };
            if let Err(e) = make_device(&a.device) {
                return device_error(e);
            }
            if let Err(e) = check_expect(a.expect.as_deref()) {
                return usage_error(e);
            }
            match linked {
                Some(l) if l == w.name => grade(w, &a),
                Some(l) => usage_error(format!("this is {l}'s checks program; grade {} with the grader launcher (`cargo grade {}`)", w.name, w.name)),
                None => launch_grade(w, &a),
            }
        }
        Cmd::Registry { check } => match crate::launch::registry(check) {
            Err(e) => failure("registry", e),
            Ok(0) => {
                println!("registry: {} is what the weeks' checks register", registry::RECORDED);
                ExitCode::SUCCESS
            }
            Ok(n) if check => {
                println!("registry: {n} week(s) differ from {}; run `just registry` and commit the result", registry::RECORDED);
                ExitCode::FAILURE
            }
            Ok(n) => {
                println!("registry: rewrote {} ({n} week(s) changed)", registry::RECORDED);
                ExitCode::SUCCESS
            }
        },
        Cmd::Mutants { week, filter, sample, seed, list, long, min_kill } => {
            match crate::mutants::run(week.as_deref(), filter.as_deref(), sample, seed, list, long) {
                Ok((0, _)) => ExitCode::SUCCESS,
                Ok((_, rate)) if min_kill.is_some_and(|m| rate >= m) => ExitCode::SUCCESS,
                Ok(_) => ExitCode::FAILURE,
                Err(e) => failure("mutants", e),
            }
        }
        Cmd::PrintRegistry => match registry::linked_record() {
            Some((_, exercises, benches)) => {
                println!("{}", serde_json::to_string(&(exercises, benches)).expect("serialising the registry"));
                ExitCode::SUCCESS
            }
            None => usage_error("__registry is a command of a week's checks program"),
        },
        Cmd::List { week } => list(week.as_deref()),
        Cmd::Hint { id, all } => hint(&id, all),
        Cmd::Next { week, open } => next(week.as_deref(), open),
        Cmd::Skip { id } => skip(&id, true),
        Cmd::Unskip { id } => skip(&id, false),
        Cmd::Solution { id } => solution(&id),
        Cmd::Lint => lint(),
        Cmd::BookStage { dir } => match crate::book::stage(&root(), &dir) {
            Err(e) => failure("book", e),
            Ok(n) => {
                println!("book: {n} of your pictures shown beside the reference's");
                ExitCode::SUCCESS
            }
        },
        Cmd::Bughunt { week, line, give_up, status, open, bug, no_prerequisites, verify } => {
            if verify {
                return match crate::bughunt::verify(&root(), week.as_deref()) {
                    Err(e) => failure("bughunt", e),
                    Ok((ok, all)) if ok == all => ExitCode::SUCCESS,
                    Ok(_) => ExitCode::FAILURE,
                };
            }
            let Some(week) = week else {
                eprintln!("bughunt: name a week: week0 (the MLP), week1 (the CNN) or week3 (the char-GPT)");
                return ExitCode::FAILURE;
            };
            let o = crate::bughunt::Options { line, give_up, status, bug, open, no_prerequisites };
            match crate::bughunt::command(&root(), &week, &o) {
                Err(e) => failure("bughunt", e),
                Ok(()) => ExitCode::SUCCESS,
            }
        }
        Cmd::Drill { filter, min, show } => match crate::drill::run(&root(), filter.as_deref(), show) {
            Err(e) => failure("drill", e),
            Ok((named, all)) => {
                let pct = 100.0 * named as f64 / all.max(1) as f64;
                println!("drill: {named} of {all} planted mistakes named their cause ({pct:.0} %)");
                if min.is_some_and(|m| pct < m) {
                    ExitCode::FAILURE
                } else {
                    ExitCode::SUCCESS
                }
            }
        },
        Cmd::SolveCopy { dir } => match crate::stubs::generate(&root()) {
            Err(e) => failure("__solve-copy", e),
            Ok(files) => {
                for (sol, stub, _) in &files {
                    let rel = stub.strip_prefix(root()).unwrap_or(stub);
                    let text = std::fs::read_to_string(sol).map(|t| crate::regions::solved(&t));
                    if let Err(e) = text.and_then(|t| std::fs::write(dir.join(rel), t)) {
                        return failure("__solve-copy", anyhow::anyhow!("{}: {e}", rel.display()));
                    }
                }
                println!("solve-copy: {} file(s) of {} solved as the reference solves them", files.len(), dir.display());
                ExitCode::SUCCESS
            }
        },
        Cmd::Reset { id, file } => reset(&id, file),
        Cmd::Watch { week, debounce, grader_bin } => match resolve_week(&week) {
            Ok(w) => crate::watch::run(w, debounce, grader_bin.as_deref()),
            Err(e) => usage_error(e),
        },
        Cmd::Stubs { check } => match stubs::run(check) {
            Err(e) => failure("stubs", e),
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
        Cmd::BookPace => {
            let all: Vec<Exercise> = registry::weeks().iter().filter(|w| !w.hidden).flat_map(|w| w.exercises()).collect();
            match crate::book::write_pace(&root(), &all) {
                Ok(n) => {
                    println!("book-pace: {n} page(s) updated");
                    ExitCode::SUCCESS
                }
                Err(e) => failure("book-pace", e),
            }
        }
        Cmd::Dashboard { runs, clip, out, watch, open } => dashboard_cmd(runs, clip, out, watch, open),
        Cmd::Fixtures => match fixtures::check_all() {
            Err(e) => failure("fixtures", e),
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
        Cmd::Bench { filter, device, seconds, summary_to } if linked.is_some() => match make_device(&device) {
            Err(e) => device_error(e),
            Ok(d) => {
                crate::bench::run(filter.as_deref(), &d, seconds, summary_to.as_deref()).map(|()| ExitCode::SUCCESS).unwrap_or_else(|e| failure("bench", e))
            }
        },
        Cmd::Bench { filter, device, seconds, .. } => launch_bench(filter.as_deref(), &device, seconds),
        Cmd::Data => crate::data::run().map(|()| ExitCode::SUCCESS).unwrap_or_else(|e| failure("data", e)),
        Cmd::Dist { dir, force, no_solutions } => match dist::run(&dir, force, !no_solutions) {
            Ok(n) => {
                let carried = if no_solutions {
                    "no reference solutions at all"
                } else {
                    "the reference solutions only compressed inside the grader, for `grader solution` after a pass"
                };
                println!("dist: wrote {n} files to {} (no solutions/; {carried})", dir.display());
                ExitCode::SUCCESS
            }
            Err(e) => failure("dist", e),
        },
    }
}

fn resolve_week(name: &str) -> Result<&'static Week, Usage> {
    registry::find_week(name).ok_or_else(|| {
        let visible = registry::weeks().iter().filter(|w| !w.hidden).map(|w| w.name);
        Usage(match registry::suggest(name, visible) {
            Some(s) => format!("there is no week {name:?}; did you mean {s}?"),
            None => {
                format!("there is no week {name:?}; weeks: {}", registry::weeks().iter().filter(|w| !w.hidden).map(|w| w.name).collect::<Vec<_>>().join(", "))
            }
        })
    })
}

pub(crate) fn last_results_path(week: &str) -> PathBuf {
    root().join("target/candlecamp").join(format!("last-{}-{week}.json", subject::mode()))
}

/// Whether `filter` selects `e` among the week's exercises `all`: a day name selects that day's
/// exercises only (`attribution`, not `direct_logit_attribution` of another day); an exercise's
/// name or id selects that exercise; anything else, the exercises whose id contains it.
pub fn filter_selects(filter: &str, e: &Exercise, all: &[Exercise]) -> bool {
    let filter = filter.trim_matches('.');
    if all.iter().any(|x| x.day() == filter) {
        return e.day() == filter;
    }
    let name = |x: &Exercise| x.id.rsplit('.').next().unwrap_or(x.id).to_string();
    if all.iter().any(|x| name(x) == filter || x.id == filter) {
        return name(e) == filter || e.id == filter;
    }
    e.id.contains(filter)
}

/// The exercises to grade, and those left out for want of `--long` / `--pretrained`.
type Selected = (Vec<Exercise>, Vec<Exercise>, Vec<Exercise>);

/// The exercises selected to grade, and those left out for want of `--pretrained` / `--long`;
/// a usage error when nothing matches.
fn select(w: &Week, sel: &GradeArgs) -> Result<Selected, Usage> {
    let week = w.name;
    let all = w.exercises();
    let matching: Vec<Exercise> = all
        .iter()
        .filter(|&e| sel.filters.is_empty() || sel.filters.iter().any(|f| filter_selects(f, e, &all)))
        .filter(|e| sel.ids.is_empty() || sel.ids.iter().any(|i| i == e.id))
        .cloned()
        .collect();
    if matching.is_empty() {
        let f = sel.filters.join(" ");
        let ids: Vec<&'static str> = w.exercises().iter().map(|e| e.id).collect();
        return Err(Usage(match registry::suggest(&f, ids) {
            Some(s) => format!("no exercise of {week} matches {f:?}; did you mean {s}?"),
            None => format!("no exercise of {week} matches {f:?}; `grader list {week}` lists them"),
        }));
    }
    let (matching, pretrained_left): (Vec<Exercise>, Vec<Exercise>) = matching.into_iter().partition(|e| sel.pretrained || !e.pretrained);
    let (selected, long_left): (Vec<Exercise>, Vec<Exercise>) = matching.into_iter().partition(|e| sel.long || !e.long);
    Ok((selected, long_left, pretrained_left))
}

fn check_expect(expect: Option<&str>) -> Result<(), Usage> {
    match expect {
        Some(x) if x != "passed" && x != "not-started" => Err(Usage(format!("--expect takes passed or not-started, not {x:?}"))),
        _ => Ok(()),
    }
}

/// The launcher's `grade`: build the week's checks program and become it; when the week does
/// not compile, report that for each selected exercise instead.
fn launch_grade(w: &'static Week, a: &GradeArgs) -> ExitCode {
    let (device, json, expect) = (a.device.as_str(), a.json, a.expect.as_deref());
    let (selected, long_left, _) = match select(w, a) {
        Ok(s) => s,
        Err(e) => return usage_error(e),
    };
    let start = Instant::now();
    let err = match crate::launch::checks_program(w) {
        Ok(exe) => {
            let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
            eprintln!("grader: {}", crate::launch::exec(&exe, &args));
            return ExitCode::FAILURE;
        }
        Err(crate::launch::BuildError::Failed(m)) => {
            eprintln!("grader: {m}");
            return ExitCode::FAILURE;
        }
        Err(crate::launch::BuildError::DoesNotCompile(e)) => e,
    };
    // Where the first error is: the exercise whose code it sits in, when it is in the week's crate.
    let here = err.file.as_deref().and_then(|file| {
        let src = std::fs::read_to_string(crate::workspace_root().join(file)).ok()?;
        let mine: Vec<Exercise> = w.exercises().into_iter().filter(|e| subject::learner_file(e) == file).collect();
        let names: Vec<(&str, Option<&str>)> = mine.iter().map(|e| (e.id.rsplit('.').next().unwrap_or(""), e.function)).collect();
        crate::reset::exercise_at(&src, &names, err.byte).map(|k| mine[k].clone())
    });
    let place = err.file.as_deref().map(|f| format!("{f}:{}:{}", err.line, err.column)).unwrap_or_else(|| "(no file)".into());
    let mut detail = format!("{} does not compile: the first of {} error(s) is at {place}", w.name, err.errors);
    if let Some(e) = &here {
        detail.push_str(&format!(", in {} ({})", e.id, crate::book::page_location(&root(), &e.page)));
    } else if err.file.as_deref().is_some_and(|f| f.starts_with("checks/")) {
        detail.push_str(
            " in the week's checks, which call your functions as their stubs declare them: keep the signatures (names, arguments, return types) of the stubs",
        );
    }
    let reports: Vec<ExerciseReport> = selected.iter().map(|e| ExerciseReport::of(e, Status::DoesNotCompile, Some(detail.clone()))).collect();
    let seconds = start.elapsed().as_secs_f64();
    remember(w.name, &reports);
    let mut doc = GradeReport::new(w.name, device, reports, seconds, long_left.len(), None);
    if json {
        for r in &mut doc.exercises {
            r.output = Some(plain(&err.rendered));
        }
        println!("{}", serde_json::to_string_pretty(&doc).unwrap());
    } else {
        println!(
            "{} {}  {}",
            paint(BOLD, &format!("candlecamp · {}", w.name)),
            w.title,
            paint(DIM, &format!("({} code from {}/{})", subject::mode(), subject::base(), w.dir))
        );
        print!("{}", report::does_not_compile_text(&detail, &err.rendered, &doc.summary, seconds));
    }
    if expect.is_some() {
        for e in &selected {
            eprintln!("expect {}: {} does not compile", expect.unwrap_or(""), e.id);
        }
    }
    ExitCode::FAILURE
}

/// The compiler's rendering without colour codes (for --json).
fn plain(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The launcher's `bench`: each week's checks program that has a matching benchmark, in turn.
fn launch_bench(filter: Option<&str>, device: &str, seconds: f64) -> ExitCode {
    let weeks: Vec<&Week> = registry::weeks().iter().filter(|w| w.bench_ids().iter().any(|b| filter.is_none_or(|f| b.contains(f)))).collect();
    if weeks.is_empty() {
        let all: Vec<String> = registry::weeks().iter().flat_map(|w| w.bench_ids()).collect();
        return usage_error(format!("no benchmark matches {:?}; there are: {}", filter.unwrap_or(""), all.join(", ")));
    }
    let seconds = seconds.to_string();
    let summary = crate::root().join("target/candlecamp/bench-summary.jsonl");
    let _ = std::fs::create_dir_all(summary.parent().expect("a file in a folder"));
    let _ = std::fs::remove_file(&summary);
    let summary_arg = summary.to_string_lossy().into_owned();
    for w in weeks {
        let exe = match crate::launch::checks_program(w) {
            Ok(exe) => exe,
            Err(crate::launch::BuildError::DoesNotCompile(e)) => {
                eprintln!("bench: {} does not compile:\n{}", w.name, e.rendered);
                return ExitCode::FAILURE;
            }
            Err(crate::launch::BuildError::Failed(m)) => {
                eprintln!("bench: {m}");
                return ExitCode::FAILURE;
            }
        };
        let mut args = vec!["bench"];
        args.extend(filter);
        args.extend(["--device", device, "--seconds", &seconds, "--summary-to", &summary_arg]);
        match crate::launch::run(&exe, &args) {
            Ok(s) if s.success() => {}
            Ok(_) => return ExitCode::FAILURE,
            Err(e) => {
                eprintln!("bench: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    if let Some(line) = crate::bench::summary_of_file(&summary) {
        println!("{line}");
    }
    ExitCode::SUCCESS
}

/// A week's checks program's `grade`: run each selected exercise in its own process.
fn grade(w: &'static Week, a: &GradeArgs) -> ExitCode {
    let week = w.name;
    let (device, json, jobs, timeout_scale, compare_cpu, expect) = (a.device.as_str(), a.json, a.jobs, a.timeout_scale, a.compare_cpu, a.expect.as_deref());
    let (selected, long_left, pretrained_left) = match select(w, a) {
        Ok(s) => s,
        Err(e) => return usage_error(e),
    };
    // A fresh copy's first grade fetches the datasets it needs (from the mirror, or online).
    for line in crate::data::prefetch() {
        eprintln!("{line}");
    }
    let long = a.long;
    let jobs = jobs.unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
    let opts = runner::Options {
        device: device.to_string(),
        long,
        jobs,
        timeout_scale,
        record: compare_cpu.then_some("device"),
        live: crate::live::Mode::detect(json),
    };
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
    // Which graded exercise calls which: a failure whose cause is a called exercise that fails
    // its own check says so. What is known of the others: their last results, then this run's.
    let calls = crate::upstream::calls(w, &selected);
    let known: Mutex<std::collections::HashMap<String, Status>> = Mutex::new(last_results(week).into_iter().map(|r| (r.id, r.status)).collect());
    let annotate = |r: &mut ExerciseReport, known: &std::collections::HashMap<String, Status>| {
        if let Some(n) = calls.get(&r.id).and_then(|c| crate::upstream::note(r, c, known)) {
            r.detail = Some(match r.detail.take() {
                Some(d) => format!("{n}\n{d}"),
                None => n,
            });
        }
    };
    // Print results in registry order as soon as every earlier one is done (an exercise's
    // callees come before it, so their results are in when it is printed).
    let printer = Mutex::new((0usize, vec![None::<ExerciseReport>; selected.len()], String::new()));
    let on_done = |i: usize, r: &ExerciseReport| {
        known.lock().unwrap().insert(r.id.clone(), r.status);
        if json {
            return;
        }
        let mut p = printer.lock().unwrap();
        p.1[i] = Some(r.clone());
        while p.0 < selected.len() {
            let k = p.0;
            let Some(mut r) = p.1[k].take() else { break };
            annotate(&mut r, &known.lock().unwrap());
            let line = report::exercise_lines(&r, id_width);
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
    {
        let known = known.lock().unwrap();
        for r in reports.iter_mut() {
            annotate(r, &known);
        }
    }
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
    let doc = GradeReport::new(week, device, reports, seconds, long_left.len(), parity.clone());
    let summary = doc.summary;
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
            Some(d) if d.is_empty() => println!(
                "{}",
                paint(
                    report::GREEN,
                    &format!(
                        "parity: {device} and cpu agree on all {} exercise(s): the same verdicts, and every compared value within its check's tolerance",
                        doc.exercises.len()
                    )
                )
            ),
            Some(d) => {
                println!("{}", paint(report::RED, &format!("parity: {} disagreement(s) between {device} and cpu:", d.len())));
                for line in d {
                    println!("  {line}");
                }
            }
            None => {}
        }
        println!("{}", report::next_step(&doc.exercises, hint_command(), |page| crate::book::page_location(&root(), page), hints_left));
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
    let mut all: Vec<ExerciseReport> = std::fs::read(&path).ok().and_then(|b| serde_json::from_slice::<Vec<ExerciseReport>>(&b).ok()).unwrap_or_default();
    for r in graded {
        match all.iter_mut().find(|o| o.id == r.id) {
            Some(o) => *o = r.clone(),
            None => all.push(r.clone()),
        }
    }
    let _ = std::fs::create_dir_all(path.parent().unwrap());
    let _ = std::fs::write(&path, serde_json::to_vec_pretty(&all).unwrap());
    crate::progress::record_passed(graded.iter().filter(|r| r.status == Status::Passed).map(|r| r.id.as_str()));
}

/// The last recorded status of every exercise of `week`.
fn last_results(week: &str) -> Vec<ExerciseReport> {
    std::fs::read(last_results_path(week)).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default()
}

/// The command a learner types here to run the grader (`just` once setup.sh installed it).
fn command_prefix() -> &'static str {
    if hint_command().starts_with("just") {
        "just"
    } else {
        "cargo grader"
    }
}

fn next(week: Option<&str>, open: bool) -> ExitCode {
    let weeks: Vec<&Week> = match week {
        Some(name) => match resolve_week(name) {
            Ok(w) => vec![w],
            Err(e) => return usage_error(e),
        },
        // The week graded last first (its results file is the newest), then the others in order.
        None => {
            let mut all: Vec<&Week> = registry::weeks().iter().filter(|w| !w.hidden).collect();
            let modified = |w: &&Week| std::fs::metadata(last_results_path(w.name)).and_then(|m| m.modified()).ok();
            if let Some(last) = all.iter().copied().filter(|w| modified(w).is_some()).max_by_key(|w| modified(w)) {
                all.retain(|w| w.name != last.name);
                all.insert(0, last);
            }
            all
        }
    };
    let skipped = crate::progress::skipped();
    if let Some((w, e, status)) = next_unfinished(&weeks) {
        print!("{}", next_text(w, &e, status));
        if open {
            return open_in_editor(&e);
        }
        return ExitCode::SUCCESS;
    }
    if skipped.is_empty() {
        println!("{}", paint(report::GREEN, "every exercise has passed: well done."));
    } else {
        println!(
            "every exercise has passed except the {} you skipped: {} (`grader unskip ID` brings one back)",
            skipped.len(),
            skipped.iter().cloned().collect::<Vec<_>>().join(", ")
        );
    }
    ExitCode::SUCCESS
}

/// The first exercise of `weeks` not passed yet and not skipped, with its last status: short
/// exercises first, the long training targets once every short one has passed.
pub fn next_unfinished<'a>(weeks: &[&'a Week]) -> Option<(&'a Week, Exercise, Option<Status>)> {
    let skipped = crate::progress::skipped();
    for long in [false, true] {
        for w in weeks {
            let last = last_results(w.name);
            for e in w.exercises().into_iter().filter(|e| e.long == long && !e.pretrained) {
                let status = last.iter().find(|r| r.id == e.id).map(|r| r.status);
                if status != Some(Status::Passed) && !skipped.contains(e.id) {
                    return Some((w, e, status));
                }
            }
        }
    }
    None
}

/// What `grader next` prints for exercise `e` of week `w`.
pub fn next_text(w: &Week, e: &Exercise, status: Option<Status>) -> String {
    let file = subject::learner_file(e);
    let name = e.id.rsplit('.').next().unwrap_or(e.id);
    let found = std::fs::read_to_string(root().join(&file)).ok().and_then(|src| crate::reset::where_is(&src, name, e.function));
    let (line, doc) = found.unwrap_or((1, String::new()));
    let status = status.map(|s| s.label()).unwrap_or("not graded yet");
    let mut out = format!("next: {} — {}  ({status})\n  {file}:{line}\n", paint(BOLD, e.id), e.title);
    if !doc.is_empty() {
        out.push('\n');
        for l in doc.lines() {
            if l.is_empty() {
                out.push('\n');
            } else {
                out.push_str(&format!("  {}\n", paint(DIM, l)));
            }
        }
    }
    let p = command_prefix();
    out.push_str(&format!(
        "\n  read   {}\n  grade  {p} grade {} {name}\n  hint   {p} hint {}\n  skip   {p} skip {}\n",
        crate::book::page_location(&root(), &e.page),
        w.name,
        e.id,
        e.id
    ));
    out
}

/// `$EDITOR` at the exercise's line (`+LINE FILE`; VS Code's `-g FILE:LINE`).
fn open_in_editor(e: &Exercise) -> ExitCode {
    let Some(editor) = std::env::var_os("EDITOR").filter(|v| !v.is_empty()) else {
        return usage_error("--open needs $EDITOR (for example EDITOR=vim or EDITOR=\"code --wait\")");
    };
    let file = subject::learner_file(e);
    let name = e.id.rsplit('.').next().unwrap_or(e.id);
    let line = std::fs::read_to_string(root().join(&file)).ok().and_then(|src| crate::reset::where_is(&src, name, e.function)).map(|(l, _)| l).unwrap_or(1);
    let editor = editor.to_string_lossy().to_string();
    let mut words = editor.split_whitespace();
    let program = words.next().unwrap_or("vi");
    let mut cmd = std::process::Command::new(program);
    cmd.args(words);
    let path = root().join(&file);
    if program.ends_with("code") || program.ends_with("codium") {
        cmd.arg("-g").arg(format!("{}:{line}", path.display()));
    } else {
        cmd.arg(format!("+{line}")).arg(&path);
    }
    match cmd.status() {
        Ok(s) if s.success() => ExitCode::SUCCESS,
        Ok(s) => failure("next --open", anyhow::anyhow!("{editor} exited with {s}")),
        Err(err) => failure("next --open", anyhow::anyhow!("cannot run {editor}: {err}")),
    }
}

fn skip(id: &str, on: bool) -> ExitCode {
    if registry::find_exercise(id).filter(|(w, _)| !w.hidden).is_none() {
        return unknown_exercise(id);
    }
    match crate::progress::set_skipped(id, on) {
        Ok(changed) => {
            println!("{}", skip_text(id, on, changed));
            ExitCode::SUCCESS
        }
        Err(e) => failure("skip", anyhow::Error::new(e).context("cannot write .candlecamp/state/skipped")),
    }
}

/// What `grader skip` / `unskip` print (`changed`: whether the choice was new).
pub fn skip_text(id: &str, on: bool, changed: bool) -> String {
    let what = match (on, changed) {
        (true, true) => "skipped: `next` passes over it; it still grades and counts as unfinished",
        (true, false) => "was already skipped",
        (false, true) => "is back: `next` shows it again when it comes up",
        (false, false) => "was not skipped",
    };
    format!("{id} {what}")
}

/// What `grader solution` prints before the exercise has passed.
pub fn solution_refused_text(e: &Exercise) -> String {
    let name = e.id.rsplit('.').next().unwrap_or(e.id);
    format!(
        "{} has not passed in this copy yet: its reference solution is shown once it has (`{} grade {} {name}`; stuck? `{} {}`).",
        e.id,
        command_prefix(),
        e.week(),
        hint_command(),
        e.id
    )
}

/// What `grader solution` prints once the exercise has passed: the reference items `text`.
pub fn solution_text(e: &Exercise, text: &str) -> String {
    format!(
        "{} — the reference solution: its own code, and any helper it calls (compare it with yours in {})\n\n{text}",
        paint(BOLD, e.id),
        subject::learner_file(e)
    )
}

fn solution(id: &str) -> ExitCode {
    let Some((w, e)) = registry::find_exercise(id).filter(|(w, _)| !w.hidden) else {
        return unknown_exercise(id);
    };
    let passed = crate::progress::ever_passed().contains(id) || last_results(w.name).iter().any(|r| r.id == id && r.status == Status::Passed);
    let name = id.rsplit('.').next().unwrap_or(id);
    if !passed {
        println!(
            "{id} has not passed in this copy yet: its reference solution is shown once it has (`{} grade {} {name}`; stuck? `{} {id}`).",
            command_prefix(),
            w.name,
            hint_command()
        );
        return ExitCode::FAILURE;
    }
    let text = if root().join("solutions").is_dir() {
        match crate::bundle::from_solutions(&root(), w.dir, &e) {
            Ok(t) => t,
            Err(_) => {
                println!("{id} has no code of its own to show: it grades what you wrote for the other exercises of its day");
                return ExitCode::SUCCESS;
            }
        }
    } else {
        match crate::bundle::lookup(id) {
            Some(t) => t,
            None if !crate::bundle::carried() => {
                println!("this copy of the course carries no reference solutions (your instructors made it with --no-solutions)");
                return ExitCode::FAILURE;
            }
            None => {
                println!("{id} has no code of its own to show: it grades what you wrote for the other exercises of its day");
                return ExitCode::SUCCESS;
            }
        }
    };
    println!("{}", solution_text(&e, &text));
    ExitCode::SUCCESS
}

fn lint() -> ExitCode {
    let root = root();
    let mut found = crate::lint::scan_tree(&root);
    let mut shown = 0;
    for w in registry::weeks().iter().filter(|w| !w.hidden) {
        for e in w.exercises() {
            let text = if root.join("solutions").is_dir() { crate::bundle::from_solutions(&root, w.dir, &e).ok() } else { crate::bundle::lookup(e.id) };
            if let Some(t) = text {
                shown += 1;
                found.extend(crate::lint::scan_text(&format!("grader solution {}", e.id), &t));
            }
        }
    }
    for f in &found {
        println!("{}:{}: {}", f.place, f.line, f.what);
    }
    if found.is_empty() {
        println!("lint: {} learner file(s) and {shown} shown solution(s) carry no development notes", crate::lint::learner_files(&root).len());
        ExitCode::SUCCESS
    } else {
        println!("lint: {} finding(s) in what a learner reads", found.len());
        ExitCode::FAILURE
    }
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
    let last =
        |week: &str| -> Vec<ExerciseReport> { std::fs::read(last_results_path(week)).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default() };
    print!("{}", list_text(&weeks, last));
    ExitCode::SUCCESS
}

/// What `grader list` prints: each week's exercises with their last status, difficulty and
/// estimated minutes, under a progress bar per week and per day with the time left by estimate
/// (`last` gives a week's last results).
pub fn list_text(weeks: &[&Week], last: impl Fn(&str) -> Vec<ExerciseReport>) -> String {
    let mut out = String::new();
    let skipped = crate::progress::skipped();
    for w in weeks {
        let last = last(w.name);
        let status_of = |id: &str| last.iter().find(|r| r.id == id).map(|r| r.status);
        let exs = w.exercises();
        let passed = |e: &Exercise| status_of(e.id) == Some(Status::Passed);
        let summary = |group: &[&Exercise]| {
            let done = group.iter().filter(|e| passed(e)).count();
            let left: u32 = group.iter().filter(|e| !passed(e)).map(|e| e.minutes).sum();
            format!("{done}/{} passed {} · {} left by estimate", group.len(), bar(done, group.len(), 20), duration(left))
        };
        let all: Vec<&Exercise> = exs.iter().collect();
        out.push_str(&format!("{}\n  {}\n", paint(BOLD, &format!("{} — {}", w.name, w.title)), summary(&all)));
        let width = exs.iter().map(|e| e.id.len()).max().unwrap_or(0);
        let mut days: Vec<&str> = Vec::new();
        for e in &exs {
            if !days.contains(&e.day()) {
                days.push(e.day());
            }
        }
        for day in days {
            let group: Vec<&Exercise> = exs.iter().filter(|e| e.day() == day).collect();
            out.push_str(&format!("\n  {}  {}\n", paint(BOLD, day), summary(&group)));
            for e in group {
                let long = if e.long && !e.title.contains("--long") { " (--long)" } else { "" };
                let skip = if skipped.contains(e.id) { "  [skipped by you]" } else { "" };
                let status = status_of(e.id).map(|s| s.label()).unwrap_or("not graded yet");
                let stars = format!("{}{}", "★".repeat(e.difficulty as usize), "☆".repeat(3usize.saturating_sub(e.difficulty as usize)));
                out.push_str(&format!("    {:<width$}  {:<16} {stars} {:>3} min  {}{long}{skip}\n", e.id, status, e.minutes, e.title));
            }
        }
    }
    out
}

/// A progress bar of `width` cells, `done` of `total` filled.
fn bar(done: usize, total: usize, width: usize) -> String {
    let filled = (done * width + total / 2).checked_div(total).unwrap_or(0);
    format!("{}{}", "█".repeat(filled), "░".repeat(width - filled))
}

/// "about 2 h 05 min" / "about 40 min" / "nothing".
fn duration(minutes: u32) -> String {
    match minutes {
        0 => "nothing".into(),
        m if m < 60 => format!("about {m} min"),
        m => format!("about {} h {:02} min", m / 60, m % 60),
    }
}

fn unknown_exercise(id: &str) -> ExitCode {
    let ids: Vec<&'static str> = registry::weeks().iter().filter(|w| !w.hidden).flat_map(|w| w.exercises().into_iter().map(|e| e.id)).collect();
    usage_error(match registry::suggest(id, ids) {
        Some(s) => format!("no exercise {id:?}; did you mean {s}?"),
        None => format!("no exercise {id:?}; `grader list` shows them all"),
    })
}

fn reset(id: &str, whole_file: bool) -> ExitCode {
    if subject::REFERENCE {
        return usage_error("reset restores a learner's stub in weeks/; run it without --features reference");
    }
    let Some((w, e)) = registry::find_exercise(id).filter(|(w, _)| !w.hidden) else {
        return unknown_exercise(id);
    };
    match crate::reset::run(&root(), w.dir, &e, whole_file) {
        Ok(o) => {
            let file = o.file.strip_prefix(root()).unwrap_or(&o.file).display().to_string();
            match o.backup {
                Some(b) => {
                    println!("reset {id}: restored the stub of {}\n      your version was saved to {}", o.what, b.strip_prefix(root()).unwrap_or(&b).display())
                }
                None => println!("reset {id}: {} is already the stub; {file} is unchanged", o.what),
            }
            ExitCode::SUCCESS
        }
        Err(e) => failure(&format!("reset {id}"), e),
    }
}

/// What hint level `k` (0-based) of `n` is: a nudge first, nearly the code last, the approach
/// between.
fn hint_level(k: usize, n: usize) -> &'static str {
    match k {
        0 => "a nudge",
        k if k + 1 == n => "nearly the code",
        _ => "the approach",
    }
}

/// What `grader hint ID` prints when it shows hint levels `levels` (0-based, in order) of `e`,
/// with its book page at `book`.
pub fn hint_text(e: &Exercise, book: &str, levels: std::ops::Range<usize>) -> String {
    let n = e.hints.len();
    let mut out = format!("{} — {}\n\n", paint(BOLD, e.id), e.title);
    if n == 0 {
        out.push_str("(no hint for this one)\n");
    }
    for k in levels.clone().filter(|&k| k < n) {
        out.push_str(&format!("hint {} of {n} ({}): {}\n", k + 1, hint_level(k, n), e.hints[k]));
    }
    let shown = levels.end.min(n);
    if n > 0 && shown < n {
        out.push_str(&paint(DIM, &format!("({} stronger hint(s) left: ask again, or --all)", n - shown)));
        out.push('\n');
    } else if n > 0 {
        out.push_str(&paint(
            DIM,
            &format!("(that was the last hint; the reference solution unlocks once the exercise passes: `{} solution {}`)", command_prefix(), e.id),
        ));
        out.push('\n');
    }
    out.push_str(&format!("\nfile: {}\nbook: {book}\n", subject::learner_file(e)));
    out
}

fn hint(id: &str, all: bool) -> ExitCode {
    let Some((_, e)) = registry::find_exercise(id) else {
        return unknown_exercise(id);
    };
    let n = e.hints.len();
    let seen = crate::progress::hints_seen(id);
    let levels = if all {
        0..n
    } else {
        let next = seen.min(n.saturating_sub(1));
        next..next + 1
    };
    print!("{}", hint_text(&e, &crate::book::page_location(&root(), &e.page), levels.clone()));
    if levels.end > seen {
        crate::progress::set_hints_seen(id, levels.end.min(n));
    }
    ExitCode::SUCCESS
}

/// "(3 hints)", "(2 of 3 hints left)" or "(all 3 hints seen)" for the report's "stuck?" line.
fn hints_left(id: &str) -> String {
    let n = registry::recorded().weeks.values().flatten().find(|m| m.id == id).map(|m| m.hints.len()).unwrap_or(0);
    let seen = crate::progress::hints_seen(id).min(n);
    match (n, seen) {
        (0, _) => String::new(),
        (n, 0) => format!(" ({n} hint{})", if n == 1 { "" } else { "s" }),
        (n, s) if s < n => format!(" ({} of {n} hints left)", n - s),
        (1, _) => " (its hint seen; --all shows it again)".to_string(),
        (n, _) => format!(" (all {n} hints seen; --all shows them)"),
    }
}
