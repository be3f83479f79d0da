//! The launcher: why one week's code can never stop another's.
//!
//! The `grader` binary links no learner code. Each week's checks are a program of their own,
//! `checks/weekN` (binary `checks-weekN`), which links `weeks/weekN` (or, with `--features
//! reference`, `solutions/weekN`) and no other week's crate. `grader grade weekN …` builds that
//! one program with cargo and then becomes it (`exec`, same arguments), so a type error in
//! week 1 cannot stop week 0 from building or grading. When the graded week itself does not
//! compile, the launcher reads cargo's JSON messages, and the report names the first compiler
//! error with its file and line and the exercise it sits in; every exercise of the week gets
//! the status "does not compile".
//!
//! What the launcher needs to know about exercises without building them (ids for that report,
//! `list`, `hint`, `reset`, `watch`) it reads from `checks/registry.json` (see `registry`).
//!
//! `CANDLECAMP_CHECKS_DIR` names a folder of prebuilt `checks-weekN` programs to run instead of
//! building (the test suite, which builds them all beforehand).

use crate::registry::Week;
use anyhow::{bail, Context};
use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The first error of a build that failed, as the compiler reported it.
#[derive(Debug, Clone)]
pub struct CompileError {
    /// The file of the error's primary span, relative to the workspace root.
    pub file: Option<String>,
    pub line: usize,
    pub column: usize,
    /// Byte offset of the span in the file (to find the exercise it sits in).
    pub byte: usize,
    /// The message as the compiler prints it (with the source lines and carets).
    pub rendered: String,
    /// How many errors the build reported in all.
    pub errors: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The code did not compile: the learner's (or, in reference mode, the solution's).
    #[error("the code does not compile: {}", .0.rendered)]
    DoesNotCompile(CompileError),
    /// Cargo could not run, or failed without a compiler error (a missing dependency offline…).
    #[error("{0}")]
    Failed(String),
}

/// The package and binary name of a week's checks program.
pub fn program_name(week: &Week) -> String {
    format!("checks-{}", week.name)
}

/// Build week `week`'s checks program (unless `CANDLECAMP_CHECKS_DIR` has it) and return its path.
pub fn checks_program(week: &Week) -> Result<PathBuf, BuildError> {
    if let Some(dir) = std::env::var_os("CANDLECAMP_CHECKS_DIR") {
        let exe = PathBuf::from(dir).join(program_name(week));
        return if exe.is_file() { Ok(exe) } else { Err(BuildError::Failed(format!("CANDLECAMP_CHECKS_DIR has no {}", exe.display()))) };
    }
    build_program(&crate::workspace_root(), None, week, crate::subject::REFERENCE)
}

/// Build a week's checks program in the workspace at `root` (with `target` as its target folder
/// when given), in reference mode or not. When the program cargo hands back was built from
/// another checkout's sources (several checkouts sharing one `CARGO_TARGET_DIR`: cargo names
/// a workspace's own crates the same in every checkout, and judges freshness by file times),
/// the workspace's own crates are cleaned from the target folder and built again from this one.
pub fn build_program(root: &std::path::Path, target: Option<&std::path::Path>, week: &Week, reference: bool) -> Result<PathBuf, BuildError> {
    let exe = build_once(root, target, week, reference)?;
    let Some(foreign) = foreign_sources(root, &exe) else { return Ok(exe) };
    eprintln!("grader: {} was built from {} (a shared CARGO_TARGET_DIR); building it from this checkout", exe.display(), foreign.display());
    let mut clean = cargo(root, target);
    clean.arg("clean").arg("--quiet").arg("--manifest-path").arg(root.join("Cargo.toml"));
    for p in ["grader", "fastops", "candlecamp", week.dir, &program_name(week)] {
        clean.args(["-p", p]);
    }
    if root.join("solutions").join(week.dir).is_dir() {
        clean.args(["-p", &format!("{}-solution", week.dir)]);
    }
    if !cfg!(debug_assertions) {
        clean.arg("--release");
    }
    let _ = clean.stdout(Stdio::null()).stderr(Stdio::null()).status();
    let exe = build_once(root, target, week, reference)?;
    match foreign_sources(root, &exe) {
        None => Ok(exe),
        Some(f) => Err(BuildError::Failed(format!("{} is still built from {} after a clean rebuild", exe.display(), f.display()))),
    }
}

/// Where a built week program's code was compiled, when that is outside `root`: it prints the
/// folders of its week crate, its checks crate and the grader (`__built-from`). cargo names a
/// workspace's own crates alike in every checkout and records their sources relative to the
/// package, so a program built in another checkout looks fresh here: its dep-info names this
/// checkout's files.
fn foreign_sources(root: &std::path::Path, exe: &std::path::Path) -> Option<PathBuf> {
    let out = Command::new(exe).arg("__built-from").stdin(Stdio::null()).stderr(Stdio::null()).output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    text.lines().map(PathBuf::from).find(|dir| {
        let d = dir.canonicalize().unwrap_or_else(|_| dir.clone());
        !d.starts_with(&root)
    })
}

/// A cargo command for the workspace at `root`, with `target` as its target folder when given,
/// and without the variables `cargo run` set for the grader's own package.
fn cargo(root: &std::path::Path, target: Option<&std::path::Path>) -> Command {
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(root);
    if let Some(t) = target {
        cmd.env("CARGO_TARGET_DIR", t);
    }
    // `cargo run` gave this program the variables it sets for the package it runs
    // (CARGO_MANIFEST_DIR, CARGO_PKG_NAME, …). Passed on, they reach build scripts that watch
    // them (ring's does), which would then rebuild on every call and slow each grade by a
    // minute. The nested build must see the environment a plain `cargo build` sees.
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy();
        if k == "CARGO_MANIFEST_DIR"
            || k == "CARGO_MANIFEST_PATH"
            || k.starts_with("CARGO_PKG_")
            || k == "CARGO_BIN_NAME"
            || k == "CARGO_CRATE_NAME"
            || k == "CARGO_PRIMARY_PACKAGE"
            || k == "CARGO_MANIFEST_LINKS"
            || k == "CARGO_RUSTC_CURRENT_DIR"
        {
            cmd.env_remove(k.as_ref());
        }
    }
    cmd
}

/// One `cargo build` of the week's checks program; the program's path.
fn build_once(root: &std::path::Path, target: Option<&std::path::Path>, week: &Week, reference: bool) -> Result<PathBuf, BuildError> {
    build_package(root, target, &program_name(week), &format!("{} and its checks", week.name), reference)
}

/// One `cargo build` of the workspace's program `name` (`what` names it while it compiles);
/// the program's path.
pub fn build_package(root: &std::path::Path, target: Option<&std::path::Path>, name: &str, what: &str, reference: bool) -> Result<PathBuf, BuildError> {
    let name = name.to_string();
    let mut cmd = cargo(root, target);
    cmd.arg("build").arg("--quiet").arg("-p").arg(&name).arg("--manifest-path").arg(root.join("Cargo.toml"));
    cmd.arg(if crate::report::color() { "--message-format=json-diagnostic-rendered-ansi" } else { "--message-format=json" });
    if reference {
        cmd.args(["--features", "reference"]);
    }
    if cfg!(feature = "cuda") {
        cmd.args(["--features", "cuda"]);
    }
    if !cfg!(debug_assertions) {
        cmd.arg("--release");
    }
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).stdin(Stdio::null());
    let mut child = cmd.spawn().map_err(|e| BuildError::Failed(format!("cannot run cargo to build {name}: {e}")))?;
    // A first build takes a while: say what is happening once it has taken more than 2 s.
    let done = Arc::new(AtomicBool::new(false));
    {
        let (done, what) = (done.clone(), what.to_string());
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_secs(2));
            if !done.load(Ordering::SeqCst) {
                eprintln!("grader: compiling {what}…");
            }
        });
    }
    let stderr = child.stderr.take().map(|e| std::thread::spawn(move || std::io::read_to_string(e).unwrap_or_default()));
    let mut exe = None;
    let mut first: Option<CompileError> = None;
    let mut errors = 0;
    for line in BufReader::new(child.stdout.take().expect("piped stdout")).lines().map_while(Result::ok) {
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(&line) else { continue };
        match msg["reason"].as_str() {
            Some("compiler-artifact") if msg["target"]["name"] == name.as_str() => {
                exe = msg["executable"].as_str().map(PathBuf::from).or(exe);
            }
            Some("compiler-message") if msg["message"]["level"] == "error" => {
                if let Some(e) = compile_error(&msg["message"]) {
                    errors += 1;
                    first.get_or_insert(e);
                }
            }
            _ => {}
        }
    }
    let status = child.wait().map_err(|e| BuildError::Failed(format!("cargo: {e}")))?;
    done.store(true, Ordering::SeqCst);
    let stderr = stderr.and_then(|h| h.join().ok()).unwrap_or_default();
    match (status.success(), exe, first) {
        (true, Some(exe), _) => Ok(exe),
        (false, _, Some(mut e)) => {
            e.errors = errors;
            Err(BuildError::DoesNotCompile(e))
        }
        (true, None, _) => Err(BuildError::Failed(format!("cargo built {name} but named no executable"))),
        (false, _, None) => Err(BuildError::Failed(format!("cargo could not build {name}:\n{}", stderr.trim_end()))),
    }
}

/// A compiler error message from cargo's JSON (`None` for the "aborting due to" summary, which
/// has no span).
fn compile_error(m: &serde_json::Value) -> Option<CompileError> {
    let spans = m["spans"].as_array()?;
    let span = spans.iter().find(|s| s["is_primary"] == true).or(spans.first())?;
    Some(CompileError {
        file: span["file_name"].as_str().map(String::from),
        line: span["line_start"].as_u64().unwrap_or(0) as usize,
        column: span["column_start"].as_u64().unwrap_or(0) as usize,
        byte: span["byte_start"].as_u64().unwrap_or(0) as usize,
        rendered: m["rendered"].as_str().or(m["message"].as_str()).unwrap_or("").trim_end().to_string(),
        errors: 1,
    })
}

/// The week's checks program `exe`, with mimalloc (its Rust allocator, see `lib.rs`) told never
/// to give freed memory back to the system (`MIMALLOC_PURGE_DELAY=-1`, unless already set). By
/// default mimalloc does so 10 ms after a free, and the next training step faults the pages in
/// again, zeroed: GPT-2 small's loss and backward took about 790 ms that way against 640 ms
/// (alternate runs, three each). A week program (one grade, one benchmark run) keeps its peak
/// memory until it exits.
fn week_program(exe: &PathBuf) -> Command {
    let mut cmd = Command::new(exe);
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        cmd.env("MIMALLOC_PURGE_DELAY", "-1");
    }
    cmd
}

/// Become the week's checks program, with this program's arguments (never returns on success).
pub fn exec(exe: &PathBuf, args: &[OsString]) -> String {
    use std::os::unix::process::CommandExt;
    let err = week_program(exe).args(args).exec();
    format!("cannot run {}: {err}", exe.display())
}

/// Run the week's checks program with `args`, waiting for it; its exit status.
pub fn run(exe: &PathBuf, args: &[&str]) -> anyhow::Result<std::process::ExitStatus> {
    week_program(exe).args(args).status().with_context(|| format!("cannot run {}", exe.display()))
}

/// What the week's checks program registers, as `checks/registry.json` keeps it.
pub fn record_of(week: &Week) -> anyhow::Result<(Vec<crate::registry::ExerciseMeta>, Vec<String>)> {
    let exe = checks_program(week).with_context(|| format!("building {}'s checks", week.name))?;
    let out = Command::new(&exe).arg("__registry").output().with_context(|| format!("cannot run {}", exe.display()))?;
    if !out.status.success() {
        bail!("{} __registry failed: {}", exe.display(), String::from_utf8_lossy(&out.stderr));
    }
    serde_json::from_slice(&out.stdout).with_context(|| format!("{} __registry printed no registry", exe.display()))
}

/// `grader registry [--check]`: write (or compare with) `checks/registry.json`, from every
/// week's checks program. The number of weeks whose record changed (or differs).
pub fn registry(check: bool) -> anyhow::Result<usize> {
    let mut rec = crate::registry::Recorded::default();
    for w in crate::registry::weeks() {
        let (exercises, benches) = record_of(w)?;
        rec.weeks.insert(w.name.to_string(), exercises);
        if !benches.is_empty() {
            rec.benches.insert(w.name.to_string(), benches);
        }
    }
    let root = crate::workspace_root();
    let old = crate::registry::read_recorded(&root).unwrap_or_default();
    let changed = crate::registry::weeks()
        .iter()
        .filter(|w| old.weeks.get(w.name) != rec.weeks.get(w.name) || old.benches.get(w.name) != rec.benches.get(w.name))
        .count();
    if !check && changed > 0 {
        let path = root.join(crate::registry::RECORDED);
        let text = serde_json::to_string_pretty(&rec)? + "\n";
        std::fs::write(&path, text).with_context(|| format!("{}", path.display()))?;
    }
    Ok(changed)
}
