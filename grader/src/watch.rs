//! `grader watch WEEK`: regrade on every save.
//!
//! Watches the week's crate (`weeks/WEEK`, or `solutions/WEEK` in reference mode) with `notify`
//! through `notify-debouncer-mini` (a burst of events from one save becomes one change). notify
//! also reports files being *opened* (inotify's IN_OPEN), and the build and the grader's source
//! rules read the files, so an event alone would regrade forever: a file counts as saved only
//! when its modification time or size changed since last seen. For each save it maps the saved files to the exercises whose `Exercise::file` they are (a file
//! no exercise names, such as `lib.rs`, regrades the whole week), clears the screen, and
//! regrades those with a fresh grader: `cargo run -p grader -- grade WEEK --ids …`, whose
//! launcher rebuilds the week's checks program (the learner's code is compiled into it) and
//! reports a compile error as the compiler's first error with its file:line. Then it prints the week's progress line from the merged last
//! results (`grader list` reads the same file). Ctrl-C (SIGINT) or SIGTERM stops the regrade in
//! progress and quits with status 0.

use crate::registry::{Exercise, Week};
use crate::report::{paint, ExerciseReport, Status, BOLD, DIM};
use notify_debouncer_mini::{new_debouncer, notify::RecursiveMode, DebounceEventResult};
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

/// The exercises of `all` written in the changed files (paths relative to the week crate);
/// every non-long exercise when a changed file belongs to none (a shared module).
pub fn affected<'a>(all: &'a [Exercise], changed: &[String]) -> Vec<&'a Exercise> {
    let mut out: Vec<&Exercise> = Vec::new();
    for c in changed {
        let mine: Vec<&Exercise> = all.iter().filter(|e| e.file == c && !e.long).collect();
        if mine.is_empty() && !all.iter().any(|e| e.file == c) {
            return all.iter().filter(|e| !e.long).collect();
        }
        for e in mine {
            if !out.iter().any(|o| o.id == e.id) {
                out.push(e);
            }
        }
    }
    out
}

/// "17/42 passed · 3 failed · 22 not started" over the whole week, from the last results.
fn progress(w: &Week) -> String {
    let all = w.exercises();
    let last: Vec<ExerciseReport> = std::fs::read(crate::cli::last_results_path(w.name)).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default();
    let status = |id: &str| last.iter().find(|r| r.id == id).map(|r| r.status);
    let count = |s: Status| all.iter().filter(|e| status(e.id) == Some(s)).count();
    let graded = all.iter().filter(|e| status(e.id).is_some()).count();
    let mut parts = vec![format!("{}/{} passed", count(Status::Passed), all.len())];
    for (s, what) in [
        (Status::Failed, "failed"),
        (Status::NotStarted, "not started"),
        (Status::TimedOut, "timed out"),
        (Status::Crashed, "crashed"),
        (Status::Error, "error"),
    ] {
        let n = count(s);
        if n > 0 {
            parts.push(format!("{n} {what}"));
        }
    }
    if graded < all.len() {
        parts.push(format!("{} not graded yet", all.len() - graded));
    }
    format!("{}: {}", w.name, parts.join(" · "))
}

/// (modification time, size) of every `.rs` file under `dir`.
fn fingerprints(dir: &Path) -> HashMap<PathBuf, (Option<SystemTime>, u64)> {
    let mut out = HashMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.insert(p.clone(), fingerprint(&p));
            }
        }
    }
    out
}

fn fingerprint(p: &Path) -> (Option<SystemTime>, u64) {
    match std::fs::metadata(p) {
        Ok(m) => (m.modified().ok(), m.len()),
        Err(_) => (None, 0),
    }
}

/// Run one regrade; false when it was interrupted.
fn regrade(w: &Week, ids: &[&str], grader_bin: Option<&Path>) -> bool {
    let mut cmd = match grader_bin {
        Some(bin) => Command::new(bin),
        None => {
            let mut c = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
            c.current_dir(crate::root()).args(["run", "-q", "-p", "grader"]);
            if crate::subject::REFERENCE {
                c.args(["--features", "reference"]);
            }
            c.arg("--");
            c
        }
    };
    cmd.args(["grade", w.name, "--ids", &ids.join(",")]);
    // Its own process group: Ctrl-C reaches only the watcher, which stops the regrade itself.
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            println!("watch: cannot start the grader: {e}");
            return true;
        }
    };
    loop {
        if STOP.load(Ordering::SeqCst) {
            // SAFETY: signalling the process group we created.
            unsafe {
                libc::killpg(child.id() as libc::pid_t, libc::SIGINT);
            }
            for _ in 0..20 {
                if let Ok(Some(_)) = child.try_wait() {
                    return false;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            // SAFETY: as above.
            unsafe {
                libc::killpg(child.id() as libc::pid_t, libc::SIGKILL);
            }
            let _ = child.wait();
            return false;
        }
        match child.try_wait() {
            Ok(Some(_)) | Err(_) => return true,
            Ok(None) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

pub fn run(w: &'static Week, debounce: f64, grader_bin: Option<&Path>) -> ExitCode {
    // SAFETY: installing a handler that only stores to an atomic.
    unsafe {
        libc::signal(libc::SIGINT, on_signal as *const () as libc::sighandler_t);
        libc::signal(libc::SIGTERM, on_signal as *const () as libc::sighandler_t);
    }
    let dir = crate::subject::source_dir(w.dir);
    let all = w.exercises();
    let (tx, rx) = std::sync::mpsc::channel::<DebounceEventResult>();
    let mut debouncer = match new_debouncer(Duration::from_secs_f64(debounce.max(0.01)), tx) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("watch: cannot watch files: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Err(e) = debouncer.watcher().watch(&dir, RecursiveMode::Recursive) {
        eprintln!("watch: cannot watch {}: {e}", dir.display());
        return ExitCode::FAILURE;
    }
    let shown = dir.strip_prefix(crate::root()).unwrap_or(&dir).display().to_string();
    let waiting = || {
        println!("\n{}", paint(BOLD, &progress(w)));
        if let Some((_, e, _)) = crate::cli::next_unfinished(&[w]) {
            println!("next unfinished: {} — {} ({})", e.id, e.title, crate::subject::learner_file(&e));
        }
        println!("{}", paint(DIM, &format!("watching {shown} — save a file to regrade its exercises; Ctrl-C quits")));
        let _ = std::io::stdout().flush();
    };
    let mut seen = fingerprints(&dir);
    waiting();
    while !STOP.load(Ordering::SeqCst) {
        let events = match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(Ok(events)) => events,
            Ok(Err(e)) => {
                println!("watch: {e}");
                continue;
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => continue,
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
        };
        let mut changed: Vec<String> = events
            .iter()
            .map(|e| &e.path)
            .filter(|p| p.extension().is_some_and(|x| x == "rs"))
            .filter(|p| {
                // Saved (or created, or deleted) since last seen; not merely opened.
                let now = fingerprint(p);
                seen.insert(p.to_path_buf(), now) != Some(now)
            })
            .filter_map(|p| rel(&dir, p))
            .collect();
        changed.sort();
        changed.dedup();
        if changed.is_empty() {
            continue;
        }
        let exs = affected(&all, &changed);
        if exs.is_empty() {
            continue;
        }
        print!("\x1b[2J\x1b[H");
        println!("{} {} changed → regrading {} exercise(s)", paint(BOLD, &format!("watch · {}", w.name)), changed.join(", "), exs.len());
        let _ = std::io::stdout().flush();
        let ids: Vec<&str> = exs.iter().map(|e| e.id).collect();
        if !regrade(w, &ids, grader_bin) {
            break;
        }
        waiting();
    }
    println!("\nwatch: stopped");
    ExitCode::SUCCESS
}

/// `path` relative to the week crate, `/`-separated (notify reports absolute, maybe
/// canonical, paths).
fn rel(dir: &Path, path: &Path) -> Option<String> {
    let canon_dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    let p: PathBuf = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    let r = p.strip_prefix(&canon_dir).or_else(|_| path.strip_prefix(dir)).ok()?;
    Some(r.to_string_lossy().replace('\\', "/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_map_to_their_exercises() {
        let all = vec![
            Exercise::new("w.a.one", "t", "src/a.rs"),
            Exercise::new("w.a.two", "t", "src/a.rs"),
            Exercise::new("w.a.slow", "t", "src/a.rs").long(),
            Exercise::new("w.b.three", "t", "src/b.rs"),
        ];
        let ids = |v: Vec<&Exercise>| v.iter().map(|e| e.id).collect::<Vec<_>>();
        assert_eq!(ids(affected(&all, &["src/a.rs".into()])), ["w.a.one", "w.a.two"]);
        assert_eq!(ids(affected(&all, &["src/b.rs".into(), "src/a.rs".into()])), ["w.b.three", "w.a.one", "w.a.two"]);
        assert_eq!(ids(affected(&all, &["src/lib.rs".into()])), ["w.a.one", "w.a.two", "w.b.three"]);
    }
}
