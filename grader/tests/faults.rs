//! Planted faults (grader/src/suites/faults.rs): each must get its own status, none may count as
//! a pass, and none may disturb the result of the control exercise graded beside it.

use serde_json::Value;
use std::collections::HashMap;
use std::process::Command;

fn grader(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_grader")).args(args).env("NO_COLOR", "1").output().expect("run grader");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

fn grade_json(args: &[&str]) -> (i32, Value) {
    let mut all = vec!["grade"];
    all.extend_from_slice(args);
    all.push("--json");
    let (code, stdout, stderr) = grader(&all);
    let doc = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("grader printed no JSON ({e}):\n{stdout}\n{stderr}"));
    (code, doc)
}

fn by_id(doc: &Value) -> HashMap<String, (String, String)> {
    doc["exercises"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let id = e["id"].as_str().unwrap().trim_start_matches("faults.drill.").to_string();
            (id, (e["status"].as_str().unwrap().to_string(), e["detail"].as_str().unwrap_or("").to_string()))
        })
        .collect()
}

#[test]
fn every_fault_gets_its_status_and_none_passes() {
    let (code, doc) = grade_json(&["faults", "--jobs", "2"]);
    let r = by_id(&doc);
    let expect = [
        ("control", "passed", ""),
        ("todo", "not_started", "todo!()"),
        ("panics", "failed", "index out of bounds"),
        ("endless", "timed_out", "still running"),
        ("stack_overflow", "crashed", "stack overflow"),
        ("aborts", "crashed", "aborted"),
        ("exits_zero", "crashed", "exited"),
        ("huge_alloc", "crashed", "out of memory"),
        ("nan", "failed", "NaN at [1]"),
        ("wrong_shape", "failed", "shape is [1, 3], expected [3]"),
        ("wrong_dtype", "failed", "dtype is F64, expected F32"),
        ("fake_pass", "crashed", "exited"),
        ("thread_panic", "failed", "worker"),
        ("returns_err", "failed", "returned an error"),
        ("jitter", "failed", "1 of 3 element(s) differ"),
    ];
    assert_eq!(r.len(), expect.len(), "{r:#?}");
    for (id, status, detail) in expect {
        let (got, d) = &r[id];
        assert_eq!(got, status, "{id}: {d}");
        assert!(d.contains(detail), "{id}: detail {d:?} lacks {detail:?}");
    }
    assert_eq!(doc["summary"]["passed"], 1, "only the control passes");
    assert_eq!(code, 1, "a run with failures exits 1");
    // What the fake printed is shown as the learner's output, not taken as a verdict.
    let fake = doc["exercises"].as_array().unwrap().iter().find(|e| e["id"] == "faults.drill.fake_pass").unwrap();
    assert!(fake["output"].as_str().unwrap_or("").contains("passed"));
}

#[test]
fn the_control_alone_gets_the_same_result() {
    let (code, doc) = grade_json(&["faults", "control"]);
    assert_eq!(by_id(&doc)["control"].0, "passed");
    assert_eq!(code, 0, "all selected passed → exit 0");
}

/// `--compare-cpu` on a CPU-only build grades twice on the CPU: a deterministic exercise agrees
/// with itself, one whose values change from process to process is listed with its worst value,
/// and a disagreement makes the run fail.
#[test]
fn the_parity_report_finds_values_that_differ_between_runs() {
    let (code, doc) = grade_json(&["faults", "control", "--compare-cpu"]);
    assert_eq!(doc["parity"], serde_json::json!([]), "{doc}");
    assert_eq!(code, 0);
    let (code, doc) = grade_json(&["faults", "jitter", "--compare-cpu"]);
    let lines = doc["parity"].as_array().unwrap();
    assert_eq!(lines.len(), 1, "{doc}");
    let line = lines[0].as_str().unwrap();
    assert!(line.starts_with("faults.drill.jitter: drill: 1 of 3 value(s) differ") && line.contains("flat index 2"), "{line}");
    assert_eq!(code, 1);
    // The table says so too.
    let (code, out, _) = grader(&["grade", "faults", "control", "--compare-cpu"]);
    assert!(out.contains("parity: cpu and cpu agree on all 1 exercise(s)"), "{out}");
    assert_eq!(code, 0);
}

#[test]
fn usage_errors_exit_2_with_suggestions() {
    let (code, _, err) = grader(&["grade", "wek1"]);
    assert_eq!(code, 2);
    assert!(err.contains("did you mean week1"), "{err}");
    let (code, _, err) = grader(&["grade", "week1", "cumsun"]);
    assert_eq!(code, 2);
    assert!(err.contains("did you mean week1.arrays.cumsum"), "{err}");
    let (code, _, err) = grader(&["hint", "week1.arrays.outr"]);
    assert_eq!(code, 2);
    assert!(err.contains("week1.arrays.outer"), "{err}");
    let (code, _, err) = grader(&["grade", "week1", "--device", "tpu"]);
    assert_eq!(code, 2);
    assert!(err.contains("use cpu or cuda"), "{err}");
}

#[cfg(not(feature = "cuda"))]
#[test]
fn cuda_without_the_feature_is_a_clear_error() {
    let (code, _, err) = grader(&["grade", "week1", "--device", "cuda"]);
    assert_eq!(code, 2);
    assert!(err.contains("--features cuda"), "{err}");
}

#[test]
fn hint_and_list_name_the_book_page() {
    // --all: every level, whatever this checkout's .candlecamp/state says was seen already.
    let (code, out, _) = grader(&["hint", "week1.arrays.cumsum", "--all"]);
    assert_eq!(code, 0);
    // The source page, or the built one once `just book` ran (book/candlecamp.toml's book-url empty).
    assert!((out.contains("book/src/week1/arrays.md#cumsum") || out.contains("book/build/week1/arrays.html#cumsum")) && out.contains("triu"), "{out}");
    let (code, out, _) = grader(&["list", "week1"]);
    assert_eq!(code, 0);
    assert!(out.contains("week1.arrays.einsum") && !out.contains("faults"), "{out}");
}

/// A corrupted fixture is the grader's problem, not the learner's: status "error", naming the
/// file and the command that remakes it.
#[test]
fn a_corrupted_fixture_is_an_error_that_names_the_fix() {
    let real = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let root = std::env::temp_dir().join(format!("candlecamp-fixture-test-{}", std::process::id()));
    let fx = root.join("fixtures/week1");
    std::fs::create_dir_all(&fx).unwrap();
    std::fs::copy(real.join("fixtures/MANIFEST"), root.join("fixtures/MANIFEST")).unwrap();
    std::fs::create_dir_all(root.join("weeks/week1/src")).unwrap();
    std::fs::copy(real.join("weeks/week1/src/arrays.rs"), root.join("weeks/week1/src/arrays.rs")).unwrap();
    let mut bytes = std::fs::read(real.join("fixtures/week1/arrays.safetensors")).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(fx.join("arrays.safetensors"), bytes).unwrap();
    let out =
        Command::new(env!("CARGO_BIN_EXE_grader")).args(["grade", "week1", "week1.arrays.cumsum", "--json"]).env("CANDLECAMP_ROOT", &root).output().unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let ex = &doc["exercises"][0];
    let detail = ex["detail"].as_str().unwrap_or("");
    assert_eq!(ex["status"], "error", "{detail}");
    assert!(detail.contains("fixtures/week1/arrays.safetensors") && detail.contains("corrupted") && detail.contains("just fixtures"), "{detail}");
    std::fs::remove_file(fx.join("arrays.safetensors")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_grader")).args(["grade", "week1", "cumsum", "--json"]).env("CANDLECAMP_ROOT", &root).output().unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(doc["exercises"][0]["detail"].as_str().unwrap_or("").contains("missing"), "{doc}");
    std::fs::remove_dir_all(&root).unwrap();
}
