//! The parent side: one child process per exercise, a time limit each, N at a time.

use crate::registry::Exercise;
use crate::report::{fold, ChildReport, ExerciseReport, Status};
use std::hash::{BuildHasher, RandomState};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Clone)]
pub struct Options {
    pub device: String,
    pub long: bool,
    pub jobs: usize,
    /// Multiplies every exercise's time limit (slow machines, debuggers).
    pub timeout_scale: f64,
    /// Keep what the checks compared (`--compare-cpu`): the name of this pass, `device` or `cpu`.
    pub record: Option<&'static str>,
    /// How a long target's live line is shown (step, loss, time so far and left).
    pub live: crate::live::Mode,
}

/// Grade `exercises`, calling `on_done(index, report)` as each finishes (from worker threads).
pub fn grade(exercises: &[Exercise], opts: &Options, on_done: &(dyn Fn(usize, &ExerciseReport) + Sync)) -> Vec<ExerciseReport> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<ExerciseReport>>> = Mutex::new(vec![None; exercises.len()]);
    let jobs = opts.jobs.clamp(1, exercises.len().max(1));
    // The children divide the cores and the memory by the number that really run side by side:
    // one exercise graded alone (a long target, `grade week5 robust_training`) gets every core,
    // not the share it would have beside a second one that is not there.
    let opts = &Options { jobs, ..opts.clone() };
    let scratch = scratch_dir();
    std::thread::scope(|s| {
        for _ in 0..jobs {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(ex) = exercises.get(i) else { break };
                let r = run_one(ex, opts, &scratch.join(i.to_string()));
                on_done(i, &r);
                results.lock().unwrap()[i] = Some(r);
            });
        }
    });
    let _ = std::fs::remove_dir_all(&scratch);
    results.into_inner().unwrap().into_iter().map(|r| r.expect("every exercise graded")).collect()
}

fn scratch_dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("candlecamp-{}-{:x}", std::process::id(), RandomState::new().hash_one(0u8)));
    let _ = std::fs::create_dir_all(&d);
    d
}

fn nonce() -> String {
    let s = RandomState::new();
    format!("{:016x}{:016x}", s.hash_one(1u8), s.hash_one(2u8))
}

/// Run one exercise in a child process and turn whatever happened into a report.
pub fn run_one(ex: &Exercise, opts: &Options, dir: &Path) -> ExerciseReport {
    let start = Instant::now();
    let mut report = ExerciseReport::of(ex, Status::Error, None);
    let _ = std::fs::create_dir_all(dir);
    let (result_path, out_path, err_path) = (dir.join("result.json"), dir.join("stdout"), dir.join("stderr"));
    let progress_path = dir.join("progress");
    let nonce = nonce();
    let spawn = || -> std::io::Result<std::process::Child> {
        let mut cmd = Command::new(std::env::current_exe()?);
        cmd.arg("__child").arg(ex.id).arg("--device").arg(&opts.device);
        if opts.long {
            cmd.arg("--long");
        }
        // Exercises graded side by side share the memory: each may use its part of 80 % of it
        // (at least 4 GiB), so that one that leaks stops with "out of memory" instead of
        // starving the others and the machine.
        if std::env::var_os("CANDLECAMP_MEM_LIMIT").is_none() {
            let share = crate::child::physical_memory() / 10 * 8 / opts.jobs.max(1) as u64;
            cmd.env("CANDLECAMP_MEM_LIMIT", share.max(4 << 30).to_string());
        }
        // Unless the person running the grader chose a thread count (`pin_thread_count` sets
        // the variable in this process, so its presence alone says nothing).
        if !crate::threads_set_by_user() {
            let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
            cmd.env("RAYON_NUM_THREADS", (cores / opts.jobs.max(1)).max(1).to_string());
        }
        // candle errors and runtime aborts carry backtraces when RUST_BACKTRACE is set: far too
        // much for a report, which names the panic location anyway.
        cmd.env("RUST_LIB_BACKTRACE", "0")
            .env("RUST_BACKTRACE", "0")
            .env(crate::parity::ENV, opts.record.unwrap_or("0"))
            .env("CANDLECAMP_RESULT", &result_path)
            .env("CANDLECAMP_NONCE", &nonce)
            .env(candlecamp::PROGRESS_ENV, &progress_path)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&out_path)?)
            .stderr(std::fs::File::create(&err_path)?)
            // Own process group, so a timeout kills anything the exercise started too.
            .process_group(0);
        // If the grader itself dies (Ctrl-C, `grader watch` stopping it), take the exercise
        // with it: its own process group does not get the terminal's SIGINT.
        #[cfg(target_os = "linux")]
        // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        cmd.spawn()
    };
    let mut child = match spawn() {
        Ok(c) => c,
        Err(e) => {
            report.detail = Some(format!("could not start the exercise process: {e}"));
            return report;
        }
    };
    let limit = ex.timeout.mul_f64(opts.timeout_scale.max(0.01));
    let mut nap = Duration::from_millis(1);
    // A long target gets a live line once it has run a moment.
    let mut live: Option<crate::live::Line> = None;
    let mut redrawn = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(st)) => break Some(st),
            Ok(None) if start.elapsed() >= limit => break None,
            Ok(None) => {
                std::thread::sleep(nap);
                nap = (nap * 2).min(Duration::from_millis(20));
                if ex.long && opts.live != crate::live::Mode::Off && redrawn.elapsed() >= Duration::from_millis(500) {
                    redrawn = Instant::now();
                    live.get_or_insert_with(|| crate::live::Line::start(ex.id, &progress_path, opts.live, start)).tick();
                }
            }
            Err(_) => break None,
        }
    };
    if let Some(l) = live {
        l.finish();
    }
    // Kill the whole group: on timeout the child itself, and always any stray grandchildren.
    // SAFETY: killpg with the group id we created; ESRCH (nothing left) is harmless.
    unsafe {
        libc::killpg(child.id() as libc::pid_t, libc::SIGKILL);
    }
    let status = match status {
        Some(st) => Some(st),
        None => {
            let _ = child.wait();
            None
        }
    };
    report.seconds = start.elapsed().as_secs_f64();
    let stdout = read_tail(&out_path);
    let stderr = read_tail(&err_path);
    let parsed: Option<ChildReport> =
        std::fs::read(&result_path).ok().and_then(|b| serde_json::from_slice::<ChildReport>(&b).ok()).filter(|r| r.nonce == nonce && r.id == ex.id);
    match (status, parsed) {
        (None, _) => {
            report.status = Status::TimedOut;
            report.detail = Some(format!(
                "still running after {:.1}s, so it was stopped (an endless loop, or far too slow: work on whole tensors, not element by element)",
                limit.as_secs_f64()
            ));
        }
        (Some(st), Some(child_report)) if st.success() => {
            let (s, d) = fold(&child_report.checks);
            report.status = s;
            report.detail = d;
            report.checks = child_report.checks;
            report.notes = child_report.notes;
            report.records = child_report.records;
        }
        (Some(st), _) => {
            report.status = Status::Crashed;
            let full = std::fs::read(&err_path).map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default();
            report.detail = Some(crash_reason(st, &full));
        }
    }
    if report.status != Status::Passed && report.status != Status::NotStarted {
        let both = [stdout, stderr].into_iter().filter(|s| !s.trim().is_empty()).collect::<Vec<_>>().join("\n");
        if !both.trim().is_empty() {
            report.output = Some(both);
        }
    }
    let _ = std::fs::remove_dir_all(dir);
    report
}

fn crash_reason(st: std::process::ExitStatus, stderr: &str) -> String {
    if let Some(sig) = st.signal() {
        if stderr.contains("has overflowed its stack") {
            return "stack overflow: unbounded recursion? (the process was aborted)".into();
        }
        if let Some(line) = stderr.lines().find(|l| l.contains("memory allocation of")) {
            return format!("out of memory: {} (the process was aborted)", line.trim());
        }
        return match sig {
            libc::SIGABRT => "aborted (std::process::abort, or a fatal runtime error)".into(),
            libc::SIGSEGV => "segmentation fault".into(),
            libc::SIGBUS => "bus error".into(),
            libc::SIGFPE => "arithmetic exception".into(),
            libc::SIGKILL => "killed (by the system: out of memory?)".into(),
            s => format!("killed by signal {s}"),
        };
    }
    match st.code() {
        Some(0) => "the process exited (status 0) before its checks finished: std::process::exit in your code? Only a result written by the grader after the checks counts.".into(),
        Some(c) => format!("the process exited with status {c} before its checks finished (std::process::exit in your code?)"),
        None => "the process ended abnormally".into(),
    }
}

/// The last lines of a captured output file (what the learner's code printed).
fn read_tail(path: &Path) -> String {
    const MAX_BYTES: usize = 4000;
    const MAX_LINES: usize = 20;
    let bytes = std::fs::read(path).unwrap_or_default();
    let cut = bytes.len().saturating_sub(MAX_BYTES);
    let text = String::from_utf8_lossy(&bytes[cut..]);
    let lines: Vec<&str> = text.lines().collect();
    let skip = lines.len().saturating_sub(MAX_LINES);
    let mut s = lines[skip..].join("\n");
    if skip > 0 || cut > 0 {
        s = format!("… (earlier output cut)\n{s}");
    }
    s
}
