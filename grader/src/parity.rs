//! `grader grade WEEK --device cuda --compare-cpu`: the parity report instructors run before a
//! course. The week is graded twice, on the device and on the CPU, with every exercise process
//! recording what its checks compared (each `compare::close*` call: its label, its tolerance and
//! the values of the learner's side). Then, exercise by exercise, the two runs must agree: the
//! same status, the same comparisons in the same order, and values within each comparison's own
//! tolerance of the CPU's (`|dev - cpu| <= abs + rel·|cpu|`).

use crate::compare::Tol;
use crate::report::{ExerciseReport, Status};
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// The environment variable that turns recording on in an exercise process: the name of the
/// pass (`device` or `cpu`), or `0` for off.
pub const ENV: &str = "CANDLECAMP_RECORD";

/// At most this many values are kept per exercise (the rest of the comparisons are counted, not
/// kept), so that a result file stays a few megabytes.
const MAX_VALUES: usize = 1 << 20;

/// One comparison a check made: what was compared, within what, and the learner-side values.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Record {
    pub label: String,
    pub abs: f64,
    pub rel: f64,
    pub values: Vec<f64>,
}

static ON: AtomicBool = AtomicBool::new(false);
static RECORDS: Mutex<(Vec<Record>, usize)> = Mutex::new((Vec::new(), 0));

/// Called once by the exercise process: record when the parent asked for it.
pub fn init_from_env() {
    ON.store(std::env::var_os(ENV).is_some_and(|v| !v.is_empty() && v != "0"), Ordering::Relaxed);
}

/// Keep one comparison (a no-op unless recording is on).
pub fn record(label: &str, values: &[f64], tol: Tol) {
    if !ON.load(Ordering::Relaxed) {
        return;
    }
    let mut r = RECORDS.lock().unwrap_or_else(|e| e.into_inner());
    let kept: usize = r.0.iter().map(|x| x.values.len()).sum();
    if kept + values.len() > MAX_VALUES {
        r.1 += 1;
        return;
    }
    r.0.push(Record { label: label.to_string(), abs: tol.abs, rel: tol.rel, values: values.to_vec() });
}

/// Everything recorded so far, and how many comparisons were dropped for size.
pub fn take() -> (Vec<Record>, usize) {
    std::mem::take(&mut *RECORDS.lock().unwrap_or_else(|e| e.into_inner()))
}

/// Where the two runs of one exercise disagree.
#[derive(Debug, Clone, PartialEq)]
pub struct Disagreement {
    pub id: String,
    pub what: String,
}

/// Compare the device run with the CPU run, exercise by exercise (matched by id).
pub fn compare(device: &str, on_device: &[ExerciseReport], on_cpu: &[ExerciseReport]) -> Vec<Disagreement> {
    let mut out = Vec::new();
    for d in on_device {
        let Some(c) = on_cpu.iter().find(|c| c.id == d.id) else {
            out.push(Disagreement { id: d.id.clone(), what: "graded on the device only".into() });
            continue;
        };
        if d.status != c.status {
            let why = |r: &ExerciseReport| r.detail.as_deref().map(|s| format!(" ({})", first_line(s))).unwrap_or_default();
            out.push(Disagreement { id: d.id.clone(), what: format!("{device}: {}{}; cpu: {}{}", d.status.label(), why(d), c.status.label(), why(c)) });
            continue;
        }
        if d.status == Status::NotStarted {
            continue;
        }
        out.extend(compare_records(&d.records, &c.records).into_iter().map(|what| Disagreement { id: d.id.clone(), what }));
    }
    out
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

/// The comparisons of one exercise on the device against the same on the CPU.
pub fn compare_records(dev: &[Record], cpu: &[Record]) -> Vec<String> {
    let mut out = Vec::new();
    if dev.len() != cpu.len() {
        out.push(format!("the checks compared {} result(s) on the device and {} on the CPU", dev.len(), cpu.len()));
    }
    for (d, c) in dev.iter().zip(cpu) {
        if d.label != c.label {
            out.push(format!("comparison {:?} on the device where the CPU run made {:?}", d.label, c.label));
            break;
        }
        if d.values.len() != c.values.len() {
            out.push(format!("{}: {} values on the device, {} on the CPU", d.label, d.values.len(), c.values.len()));
            continue;
        }
        let mut bad = 0;
        let mut worst: Option<(usize, f64)> = None;
        for (i, (&a, &b)) in d.values.iter().zip(&c.values).enumerate() {
            let same = if a.is_nan() || b.is_nan() {
                a.is_nan() && b.is_nan()
            } else if a.is_infinite() || b.is_infinite() {
                a == b
            } else {
                (a - b).abs() <= d.abs + d.rel * b.abs()
            };
            if !same {
                bad += 1;
                let err = if (a - b).is_nan() { f64::INFINITY } else { (a - b).abs() };
                if worst.is_none_or(|(_, e)| err > e) {
                    worst = Some((i, err));
                }
            }
        }
        if let Some((i, err)) = worst {
            out.push(format!(
                "{}: {bad} of {} value(s) differ beyond the check's tolerance (abs {:.0e} + rel {:.0e}); worst at flat index {i}: device {}, cpu {} (|Δ| {err:.3e})",
                d.label,
                d.values.len(),
                d.abs,
                d.rel,
                d.values[i],
                c.values[i]
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(label: &str, values: &[f64]) -> Record {
        Record { label: label.into(), abs: 1e-5, rel: 1e-5, values: values.to_vec() }
    }

    #[test]
    fn values_within_the_checks_tolerance_agree() {
        assert!(compare_records(&[rec("y", &[1.0, 2.0 + 1e-6])], &[rec("y", &[1.0, 2.0])]).is_empty());
        assert!(compare_records(&[rec("y", &[f64::NAN])], &[rec("y", &[f64::NAN])]).is_empty());
    }

    #[test]
    fn values_beyond_it_are_named_with_the_worst_element() {
        let d = compare_records(&[rec("logits", &[1.0, 2.5, 3.0])], &[rec("logits", &[1.0, 2.0, 3.0])]);
        assert_eq!(d.len(), 1);
        assert!(d[0].contains("logits: 1 of 3") && d[0].contains("flat index 1"), "{d:?}");
        let d = compare_records(&[rec("x", &[f64::NAN])], &[rec("x", &[0.0])]);
        assert_eq!(d.len(), 1, "NaN on one side only is a disagreement");
    }

    #[test]
    fn different_paths_through_the_checks_disagree() {
        assert_eq!(compare_records(&[rec("a", &[1.0])], &[rec("a", &[1.0]), rec("b", &[1.0])]).len(), 1);
        assert_eq!(compare_records(&[rec("a", &[1.0])], &[rec("b", &[1.0])]).len(), 1);
        assert_eq!(compare_records(&[rec("a", &[1.0])], &[rec("a", &[1.0, 2.0])]).len(), 1);
    }
}
