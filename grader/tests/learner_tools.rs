//! The learner's tools on real files: `grader dist` (no solution code in the copy, refuses a
//! non-empty folder), `grader reset` (one exercise's stub back, a backup, nothing else touched)
//! and `grader watch` (a save regrades, Ctrl-C quits cleanly).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_grader");

fn repo() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/..")).canonicalize().unwrap()
}

fn temp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("candlecamp-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Every file under `dir` with its bytes.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    fn walk(d: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
        for e in std::fs::read_dir(d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else {
                out.push((p.clone(), std::fs::read(&p).unwrap()));
            }
        }
    }
    walk(dir, &mut out);
    out.sort();
    out
}

#[test]
fn dist_ships_no_solution_code_and_refuses_a_full_folder() {
    let root = repo();
    if !root.join("solutions").is_dir() {
        return; // this is a learner copy already
    }
    let regions = grader::dist::solution_regions(&root, 24).unwrap();
    let lines: usize = regions.iter().map(|r| r.lines.len()).sum();
    assert!(regions.len() > 50 && lines > 200, "only {} regions, {lines} distinctive lines found: is the scan broken?", regions.len());
    let base = temp("dist");
    let copy = base.join("copy");
    let out = Command::new(BIN).args(["dist"]).arg(&copy).env("NO_COLOR", "1").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!copy.join("solutions").exists());
    let leaks = grader::dist::leaks(&copy, &regions);
    assert!(
        leaks.is_empty(),
        "solution code in the learner copy:\n{}",
        leaks.iter().map(|(f, o, l)| format!("{f}: the body at {o}: {l:?}")).collect::<Vec<_>>().join("\n")
    );
    // The scan can fail: a solution body planted in a copied file is found.
    let body = regions.iter().find(|r| r.lines.len() >= 3).unwrap();
    let planted = copy.join("weeks/week1/src/arrays.rs");
    let mut text = std::fs::read_to_string(&planted).unwrap();
    for l in &body.lines {
        text.push_str(&format!("\n    {l}"));
    }
    std::fs::write(&planted, text).unwrap();
    let found = grader::dist::leaks(&copy, &regions);
    assert!(found.iter().any(|(f, o, _)| f == "weeks/week1/src/arrays.rs" && *o == body.origin), "{found:?}");
    // reset's pristine stubs are shipped, equal to weeks/.
    for w in std::fs::read_dir(root.join("weeks")).unwrap().flatten() {
        let name = w.file_name();
        let lib = PathBuf::from(&name).join("src/lib.rs");
        assert_eq!(
            std::fs::read(copy.join(".candlecamp/stubs").join(&lib)).unwrap(),
            std::fs::read(root.join("weeks").join(&lib)).unwrap(),
            "{}",
            lib.display()
        );
    }
    // A second dist into the now non-empty folder is refused, and changes nothing.
    let before = snapshot(&copy);
    let out = Command::new(BIN).args(["dist"]).arg(&copy).env("NO_COLOR", "1").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not empty; pass --force"));
    assert!(snapshot(&copy) == before, "a refused dist wrote files");
    std::fs::remove_dir_all(&base).unwrap();
}

/// A learner copy's layout (weeks/ and the shipped stubs, no solutions/) in a temp folder.
fn learner_root(name: &str) -> PathBuf {
    let root = repo();
    let t = temp(name);
    // The pristine stub (generated from solutions/, or shipped in a learner copy), not weeks/,
    // which may hold a learner's work.
    let (stub, _) = grader::reset::pristine_stub(&root, "week1", "src/arrays.rs").unwrap();
    std::fs::create_dir_all(t.join("weeks/week1/src")).unwrap();
    std::fs::create_dir_all(t.join(".candlecamp/stubs/week1/src")).unwrap();
    std::fs::write(t.join(".candlecamp/stubs/week1/src/arrays.rs"), &stub).unwrap();
    std::fs::write(t.join("weeks/week1/src/arrays.rs"), &stub).unwrap();
    std::fs::write(t.join("weeks/week1/src/other.rs"), "// another file of the learner's\n").unwrap();
    t
}

/// Replace the body of `fn name` (its single `todo!()`) in `text`.
fn fill(text: &str, name: &str, body: &str) -> String {
    let at = text.find(&format!("pub fn {name}(")).unwrap_or_else(|| panic!("no fn {name}"));
    let todo = at + text[at..].find("todo!()").unwrap();
    format!("{}{body}{}", &text[..todo], &text[todo + "todo!()".len()..])
}

#[test]
fn reset_restores_one_stub_after_a_backup() {
    let t = learner_root("reset");
    let file = t.join("weeks/week1/src/arrays.rs");
    let stub = std::fs::read_to_string(&file).unwrap();
    let mine = fill(&fill(&stub, "cumsum", "let x = \"}\"; // my { attempt\n    a.cumsum(0)"), "diff", "my_diff(a)");
    std::fs::write(&file, &mine).unwrap();
    let before = snapshot(&t);
    let out = Command::new(BIN).args(["reset", "week1.arrays.cumsum"]).env("CANDLECAMP_ROOT", &t).env("NO_COLOR", "1").output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("restored the stub of fn cumsum in weeks/week1/src/arrays.rs"), "{stdout}");
    // The file: cumsum is the stub again, diff is still the learner's, all else byte-identical.
    assert_eq!(std::fs::read_to_string(&file).unwrap(), fill(&stub, "diff", "my_diff(a)"));
    // The backup holds the learner's version; no other file changed or appeared.
    let after = snapshot(&t);
    let backups: Vec<_> = after.iter().filter(|(p, _)| p.starts_with(t.join(".candlecamp/backups"))).collect();
    assert_eq!(backups.len(), 1, "{backups:?}");
    let name = backups[0].0.file_name().unwrap().to_string_lossy().to_string();
    assert!(name.starts_with("arrays.rs.20") && name.len() == "arrays.rs.YYYYMMDD-HHMMSS".len(), "{name}");
    assert_eq!(backups[0].1, mine.as_bytes());
    let others = |s: &[(PathBuf, Vec<u8>)]| s.iter().filter(|(p, _)| *p != file && !p.starts_with(t.join(".candlecamp/backups"))).cloned().collect::<Vec<_>>();
    assert!(others(&after) == others(&before), "reset touched another file");
    // Again: nothing to do, no second backup.
    let out = Command::new(BIN).args(["reset", "week1.arrays.cumsum"]).env("CANDLECAMP_ROOT", &t).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("already the stub"));
    assert_eq!(snapshot(&t).len(), after.len());
    // An unknown id is a usage error with a suggestion.
    let out = Command::new(BIN).args(["reset", "week1.arrays.cumsun"]).env("CANDLECAMP_ROOT", &t).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("did you mean week1.arrays.cumsum"));
    std::fs::remove_dir_all(&t).unwrap();
}

#[test]
fn watch_regrades_a_saved_file_and_quits_on_ctrl_c() {
    let t = learner_root("watch");
    let mut child = Command::new(BIN)
        .args(["watch", "week1", "--debounce", "0.2", "--grader-bin", BIN])
        .env("CANDLECAMP_ROOT", &t)
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel::<String>();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    // What watch printed since the last call, up to and including `what`.
    let mut seen = String::new();
    let mut wait_for = |what: &str, secs: u64| -> String {
        let end = Instant::now() + Duration::from_secs(secs);
        while !seen.contains(what) {
            let left = end.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(l) => {
                    seen.push_str(&l);
                    seen.push('\n');
                }
                Err(_) => panic!("watch never printed {what:?}; it printed:\n{seen}"),
            }
        }
        std::mem::take(&mut seen)
    };
    wait_for("watching weeks/week1", 20);
    // A save of arrays.rs regrades exactly the arrays exercises.
    let file = t.join("weeks/week1/src/arrays.rs");
    let mut text = std::fs::read_to_string(&file).unwrap();
    text.push_str("// saved\n");
    std::fs::write(&file, text).unwrap();
    wait_for("src/arrays.rs changed → regrading", 20);
    let out = wait_for("watching weeks/week1", 60);
    assert!(out.contains("candlecamp · week1"), "no regrade ran:\n{out}");
    assert!(out.contains("week1.arrays.cumsum"), "{out}");
    assert!(!out.contains("week1.regression."), "a file's save regrades only its exercises:\n{out}");
    assert!(out.lines().any(|l| l.starts_with("week1: ") && l.contains(" passed")), "no progress line:\n{out}");
    // Reading a file is not saving it (the build and the grader's source rules read them): no
    // regrade follows, neither from the regrade itself nor from a reader.
    let _ = std::fs::read_to_string(&file).unwrap();
    let _ = std::fs::read_to_string(t.join("weeks/week1/src/other.rs")).unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let quiet = rx.try_iter().collect::<Vec<_>>().join("\n");
    assert!(!quiet.contains("regrading"), "watch regraded files nobody saved:\n{quiet}");
    // Ctrl-C: a clean exit.
    // SAFETY: signalling the child we spawned.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGINT);
    }
    let end = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < end, "watch did not quit on SIGINT");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(0));
    wait_for("watch: stopped", 5);
    std::fs::remove_dir_all(&t).unwrap();
}
