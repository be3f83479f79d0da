//! The child process: runs one exercise's checks and writes a structured result.
//!
//! The parent trusts nothing but the result file named in `CANDLECAMP_RESULT`, which must carry
//! the nonce from `CANDLECAMP_NONCE`; it is written only after every check ran. Anything the
//! learner's code does meanwhile (print "passed", call `process::exit(0)`, abort, overflow its
//! stack) leaves no valid result behind, and the parent reads that as a crash.

use crate::check::{Ctx, Fail};
use crate::registry::{self, Exercise};
use crate::report::{CheckReport, ChildReport, Status};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Mutex;
use std::thread::ThreadId;

struct PanicRecord {
    thread: ThreadId,
    thread_name: String,
    message: String,
    location: String,
}

static PANICS: Mutex<Vec<PanicRecord>> = Mutex::new(Vec::new());

fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "(a panic with a non-string payload)".into());
        let location = info.location().map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column())).unwrap_or_default();
        let t = std::thread::current();
        let rec = PanicRecord { thread: t.id(), thread_name: t.name().unwrap_or("unnamed").to_string(), message, location };
        // A poisoned lock still holds the data; never panic inside the hook.
        let mut v = PANICS.lock().unwrap_or_else(|e| e.into_inner());
        v.push(rec);
    }));
}

/// Where a `todo!()` was reached: in the exercise's own code ("reached todo!() at …"), or in a
/// helper that is another exercise of the week ("calls triu (week1.arrays.triu), which is
/// still todo!() at …: solve that one first").
fn todo_detail(ex: &Exercise, location: &str) -> String {
    let plain = format!("reached todo!() at {location}");
    let mut parts = location.rsplitn(3, ':');
    let (Some(_col), Some(line), Some(file)) = (parts.next(), parts.next(), parts.next()) else { return plain };
    let Ok(line) = line.parse::<usize>() else { return plain };
    let Some(week) = registry::find_week(ex.week()) else { return plain };
    let Ok(src) = std::fs::read_to_string(crate::root().join(file)) else { return plain };
    let at: usize = src.split_inclusive('\n').take(line.saturating_sub(1)).map(str::len).sum();
    let mine: Vec<Exercise> = week.exercises().into_iter().filter(|e| crate::subject::learner_file(e) == file).collect();
    // The function the todo!() sits in, and the exercise whose code it is (by the functions that
    // hold each exercise's code; this exercise first, when it is its own).
    let around = crate::reset::fn_items(&src).into_iter().filter(|f| f.start <= at && at < f.end).min_by_key(|f| f.end - f.start);
    if let Some(f) = around {
        let path = f.path();
        let holds = |e: &Exercise| crate::registry::code_of(e).iter().any(|p| *p == path || (!p.contains("::") && f.self_ty.is_none() && *p == f.name));
        if mine.iter().any(|e| e.id == ex.id && holds(e)) {
            return plain;
        }
        if let Some(other) = mine.iter().find(|e| holds(e)) {
            return format!("calls {path} ({}), which is still todo!() at {location}: solve that one first", other.id);
        }
    }
    let names: Vec<(&str, Option<&str>)> = mine.iter().map(|e| (e.id.rsplit('.').next().unwrap_or(""), e.function)).collect();
    match crate::reset::exercise_at(&src, &names, at).map(|k| &mine[k]) {
        Some(other) if other.id != ex.id => {
            let name = other.function.unwrap_or(names[mine.iter().position(|e| e.id == other.id).unwrap_or(0)].0);
            format!("calls {name} ({}), which is still todo!() at {location}: solve that one first", other.id)
        }
        _ => plain,
    }
}

fn is_todo(message: &str) -> bool {
    message.starts_with("not yet implemented") || message.starts_with("not implemented")
}

/// Limit the address space on the CPU so that a runaway allocation fails fast and cleanly
/// (Rust aborts with "memory allocation of N bytes failed") instead of swapping the machine.
/// Not on CUDA: the driver reserves far more virtual memory than it uses.
fn limit_memory() {
    let bytes: u64 = std::env::var("CANDLECAMP_MEM_LIMIT").ok().and_then(|v| v.parse().ok()).unwrap_or_else(physical_memory);
    let lim = libc::rlimit { rlim_cur: bytes as libc::rlim_t, rlim_max: bytes as libc::rlim_t };
    // SAFETY: setrlimit reads a valid struct; failure only leaves the limit unset.
    unsafe {
        libc::setrlimit(libc::RLIMIT_AS, &lim);
    }
}

/// The machine's physical memory in bytes (16 GiB when it cannot be read).
pub fn physical_memory() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let (pages, size) = unsafe { (libc::sysconf(libc::_SC_PHYS_PAGES), libc::sysconf(libc::_SC_PAGESIZE)) };
    if pages > 0 && size > 0 {
        pages as u64 * size as u64
    } else {
        16 << 30
    }
}

pub fn run(id: &str, device: &str, long: bool) -> ! {
    let result_path = std::env::var("CANDLECAMP_RESULT").unwrap_or_default();
    let nonce = std::env::var("CANDLECAMP_NONCE").unwrap_or_default();
    if device == "cpu" {
        limit_memory();
    } else if std::env::var_os("RUST_LIB_BACKTRACE").is_none() {
        // candle then attaches a backtrace to its errors (not to panics), from which
        // `check::describe` names the failing operation and the learner's line for errors
        // that only a GPU raises (a missing kernel, a layout CUDA's matmul refuses). Set before
        // any candle call: std reads the variable once.
        std::env::set_var("RUST_LIB_BACKTRACE", "1");
    }
    install_panic_hook();
    crate::parity::init_from_env();
    let (checks, notes) = match registry::find_exercise(id) {
        None => (vec![CheckReport { name: "setup".into(), status: Status::Error, detail: Some(format!("unknown exercise {id}")) }], Vec::new()),
        Some((week, ex)) => match crate::make_device(device) {
            Err(e) => (vec![CheckReport { name: "setup".into(), status: Status::Error, detail: Some(e.to_string()) }], Vec::new()),
            Ok(dev) => {
                let ctx = Ctx::new(dev, long);
                (run_checks(week.dir, &ex, &ctx), ctx.notes())
            }
        },
    };
    let (records, dropped) = crate::parity::take();
    let mut notes = notes;
    if dropped > 0 {
        notes.push(format!("parity: {dropped} comparison(s) too large to record were not compared across devices"));
    }
    let report = ChildReport { nonce, id: id.to_string(), checks, notes, records };
    let json = serde_json::to_vec(&report).expect("serialising a report");
    if std::fs::write(&result_path, json).is_err() {
        std::process::exit(3);
    }
    std::process::exit(0)
}

fn run_checks(week_dir: &str, ex: &Exercise, ctx: &Ctx) -> Vec<CheckReport> {
    let mut out = Vec::new();
    if !ex.forbidden.is_empty() || !crate::forbid::library_ops(ex.id).is_empty() {
        out.push(rules_check(week_dir, ex));
    }
    let me = std::thread::current().id();
    for check in &ex.checks {
        let before = PANICS.lock().unwrap_or_else(|e| e.into_inner()).len();
        let result = catch_unwind(AssertUnwindSafe(|| (check.run)(ctx)));
        let panics = PANICS.lock().unwrap_or_else(|e| e.into_inner());
        let new = &panics[before..];
        let main_panic = new.iter().rev().find(|p| p.thread == me);
        let other_panic = new.iter().find(|p| p.thread != me);
        let (status, detail) = match (result, main_panic, other_panic) {
            (Err(_), Some(p), _) | (Ok(_), _, Some(p)) if is_todo(&p.message) => (Status::NotStarted, Some(todo_detail(ex, &p.location))),
            (Err(_), Some(p), _) => (Status::Failed, Some(with_device_diagnosis(format!("panicked at {}: {}", p.location, p.message)))),
            (Err(_), None, _) => (Status::Failed, Some("panicked (no message was recorded)".into())),
            (Ok(_), _, Some(p)) => {
                (Status::Failed, Some(format!("a thread your code spawned (\"{}\") panicked at {}: {}", p.thread_name, p.location, p.message)))
            }
            (Ok(Ok(())), _, None) => (Status::Passed, None),
            (Ok(Err(f)), _, None) => match f {
                Fail::Mismatch(m) | Fail::LearnerError(m) => (Status::Failed, Some(m)),
                Fail::Fixture(m) => (Status::Error, Some(m)),
                Fail::Internal(m) => (Status::Error, Some(m)),
                Fail::Skipped(m) => (Status::Skipped, Some(m)),
            },
        };
        out.push(CheckReport { name: check.name.to_string(), status, detail });
    }
    out
}

/// A panic message (an `unwrap` of a candle error, say) with the diagnosis `describe` gives
/// returned errors, where one applies.
fn with_device_diagnosis(message: String) -> String {
    match crate::check::diagnose_device_error(&message, None) {
        Some(d) => format!("{message}\n  {d}"),
        None => message,
    }
}

/// The rules of an exercise, checked on the learner's source: a puzzle's forbidden names
/// (`Exercise::forbidden`, e.g. `.cumsum(` in the cumsum puzzle), and the library ops that would
/// do the exercise's whole job (`forbid`'s table). Read in the functions that hold its code
/// (`registry::code_of`) and in every helper of the learner's own that they call; comments and
/// strings are skipped.
fn rules_check(week_dir: &str, ex: &Exercise) -> CheckReport {
    let path = crate::subject::source_dir(week_dir).join(ex.file);
    let name = "rules".to_string();
    let Ok(src) = std::fs::read_to_string(&path) else {
        return CheckReport { name, status: Status::Error, detail: Some(format!("cannot read {}", path.display())) };
    };
    let mut code = crate::registry::code_of(ex);
    if code.is_empty() {
        code.extend(ex.function.map(String::from));
    }
    let stub = crate::reset::pristine_stub(&crate::root(), week_dir, ex.file).map(|(s, _)| s).ok();
    match crate::forbid::verdict(&src, stub.as_deref(), &code, ex.forbidden, &crate::forbid::library_ops(ex.id)) {
        Ok(()) => CheckReport { name, status: Status::Passed, detail: None },
        Err(why) => CheckReport { name, status: Status::Failed, detail: Some(why.replace("{file}", &path.display().to_string())) },
    }
}
