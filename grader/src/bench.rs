//! `grader bench`: time reference code against PyTorch on the same machine.
//!
//! A week's suite registers benchmarks (`Bench`): a setup function that builds inputs and
//! returns the closure to time. The PyTorch side of the same benchmark (same id, same shapes) is
//! a function in `bench/<week>.py`; `just bench` runs those first (`bench/run_torch.py`, writing
//! `target/candlecamp/bench-torch.json`), then `grader bench`, which prints both times and their
//! ratio (candle / torch: below 1 means candle is faster). Timings are medians over repeated
//! runs after a warm-up; the report says how many. Three kinds of row: a library row times one
//! `fastops` op alone ([`is_library`]; each must stay within 1.5× of PyTorch, the library's
//! guard); a baseline times a dependency's own kernel ([`is_baseline`], no goal); every other
//! row times the course's code as its doc comments direct, the library ops they name included
//! (its `about` lists them). The run ends with one line for all the weeks it ran: the library
//! rows within 1.5×, and the course-code rows within 1.5× and 1.2× of PyTorch.
//! Each week's program adds its candle timings to `target/candlecamp/bench.json`. Nothing here
//! is a test: speed is measured, not asserted.

use anyhow::Context;
use candle_core::Device;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// The closure a benchmark times (one iteration).
pub type Iteration = Box<dyn FnMut() -> candle_core::Result<()>>;

pub struct Bench {
    /// `weekN.topic.case`, the same id as the PyTorch side in `bench/weekN.py`.
    pub id: &'static str,
    pub about: &'static str,
    pub setup: fn(&Device) -> candle_core::Result<Iteration>,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Timing {
    pub id: String,
    pub median_s: f64,
    pub min_s: f64,
    pub runs: usize,
}

/// Run `f` once to warm up, then repeatedly until `budget` has passed (at least `min_runs`
/// times, at most 1000); the median and the minimum.
pub fn time(id: &str, budget: Duration, min_runs: usize, f: &mut dyn FnMut() -> candle_core::Result<()>) -> candle_core::Result<Timing> {
    f()?;
    let start = Instant::now();
    let mut runs = Vec::new();
    while (runs.len() < min_runs || start.elapsed() < budget) && runs.len() < 1000 {
        let t = Instant::now();
        f()?;
        runs.push(t.elapsed().as_secs_f64());
    }
    runs.sort_by(f64::total_cmp);
    Ok(Timing { id: id.to_string(), median_s: runs[runs.len() / 2], min_s: runs[0], runs: runs.len() })
}

/// A benchmark too slow to repeat (its `about` starts with `SLOW`, e.g. minutes a run): `grader
/// bench` times it once, without a warm-up, and only when a filter selects it (never in a plain
/// `just bench`).
pub fn is_slow(b: &Bench) -> bool {
    b.about.starts_with("SLOW")
}

/// A benchmark of a dependency's own kernel rather than of reference code (its `about` starts
/// with `BASELINE`, e.g. candle's `Tensor::conv2d`, which the reference no longer calls): it
/// shows what the reference's kernel gains over it, and it has no speed goal, so the summary
/// line of `grader bench` leaves it out of its count.
pub fn is_baseline(b: &Bench) -> bool {
    b.about.starts_with("BASELINE")
}

/// A benchmark of one `fastops` op alone (its `about` starts with `LIBRARY`): the library's
/// guard is that each stays within 1.5× of PyTorch.
pub fn is_library(b: &Bench) -> bool {
    b.about.starts_with("LIBRARY")
}

/// The summary of a run's rows (those with a PyTorch timing): how many library rows are within
/// 1.5× of PyTorch, and how many course-code rows within 1.5× and 1.2× (baselines not counted).
pub fn summary(rows: &[Ratio]) -> String {
    // Counted as printed (two decimals), so that a row shown as 1.50× counts as within 1.5×.
    let within = |rs: &[f64], r: f64| rs.iter().filter(|&&x| (x * 100.0).round() <= r * 100.0).count();
    let library: Vec<f64> = rows.iter().filter(|r| r.library).map(|r| r.ratio).collect();
    let course: Vec<f64> = rows.iter().filter(|r| !r.library && !r.baseline).map(|r| r.ratio).collect();
    let baselines = rows.iter().filter(|r| r.baseline).count();
    let mut s = format!(
        "bench: {} of {} library benchmarks within 1.5× of PyTorch; course code as the doc comments direct: {} of {} within 1.5×, {} within 1.2×",
        within(&library, 1.5),
        library.len(),
        within(&course, 1.5),
        course.len(),
        within(&course, 1.2)
    );
    if baselines > 0 {
        s.push_str(&format!(" ({baselines} baseline(s) of candle's own kernels not counted)"));
    }
    s
}

/// One timed row with a PyTorch timing, as a week's program appends it to the launcher's
/// summary file (`--summary-to`, one JSON object a line).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq)]
pub struct Ratio {
    pub ratio: f64,
    pub baseline: bool,
    #[serde(default)]
    pub library: bool,
}

/// The summary line of the rows in a `--summary-to` file, if it has any.
pub fn summary_of_file(path: &std::path::Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let rows: Vec<Ratio> = text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    (!rows.is_empty()).then(|| summary(&rows))
}

/// Merges `new` timings into those of `old` (JSON, as `bench.json` holds them): a timing of the
/// same id is replaced, the others kept, so that each week's program adds its own.
fn merge_timings(old: Option<&[u8]>, new: &[Timing]) -> Vec<Timing> {
    let mut all: Vec<Timing> = old.and_then(|b| serde_json::from_slice(b).ok()).unwrap_or_default();
    all.retain(|t| !new.iter().any(|n| n.id == t.id));
    all.extend(new.iter().cloned());
    all
}

/// One run of `f`, no warm-up (for [`is_slow`] benchmarks).
pub fn time_once(id: &str, f: &mut dyn FnMut() -> candle_core::Result<()>) -> candle_core::Result<Timing> {
    let t = Instant::now();
    f()?;
    let s = t.elapsed().as_secs_f64();
    Ok(Timing { id: id.to_string(), median_s: s, min_s: s, runs: 1 })
}

/// The benchmarks `grader bench [filter]` runs: those whose id contains the filter; without a
/// filter every one but the [`is_slow`] ones.
pub fn select(filter: Option<&str>) -> Vec<Bench> {
    let all = all();
    let keep: Vec<&'static str> = select_from(&all, filter).iter().map(|b| b.id).collect();
    all.into_iter().filter(|b| keep.contains(&b.id)).collect()
}

/// [`select`] over a given list.
pub fn select_from<'a>(benches: &'a [Bench], filter: Option<&str>) -> Vec<&'a Bench> {
    benches.iter().filter(|b| filter.is_none_or(|f| b.id.contains(f)) && (filter.is_some() || !is_slow(b))).collect()
}

/// Every benchmark of the week whose checks this program contains.
pub fn all() -> Vec<Bench> {
    crate::registry::linked().map(|l| (l.benches)()).unwrap_or_default()
}

fn torch_timings() -> BTreeMap<String, Timing> {
    let path = crate::root().join("target/candlecamp/bench-torch.json");
    std::fs::read(&path).ok().and_then(|b| serde_json::from_slice::<Vec<Timing>>(&b).ok()).unwrap_or_default().into_iter().map(|t| (t.id.clone(), t)).collect()
}

fn ms(s: f64) -> String {
    format!("{:.3} ms", s * 1e3)
}

/// `grader bench [filter]`: run the matching benchmarks, print candle vs torch.
pub fn run(filter: Option<&str>, device: &Device, seconds: f64, summary_to: Option<&std::path::Path>) -> anyhow::Result<()> {
    let benches = select(filter);
    if benches.is_empty() {
        return Err(crate::cli::Usage(format!(
            "no benchmark matches {:?}; there are: {}",
            filter.unwrap_or(""),
            all().iter().map(|b| b.id).collect::<Vec<_>>().join(", ")
        ))
        .into());
    }
    let torch = torch_timings();
    if torch.is_empty() {
        println!("bench: no PyTorch timings in target/candlecamp/bench-torch.json (run `just bench` to make them); showing candle only");
    }
    println!(
        "bench: {} code ({}), {} thread(s); median of repeated runs after one warm-up",
        crate::subject::mode(),
        if cfg!(debug_assertions) { "grader in the dev profile, candle optimised" } else { "release" },
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
    );
    let width = benches.iter().map(|b| b.id.len()).max().unwrap_or(0);
    println!("{:width$}  {:>12}  {:>12}  {:>7}  about", "id", "candle", "torch", "ratio");
    let mut results = Vec::new();
    let mut rows = Vec::new();
    for b in &benches {
        let mut f = (b.setup)(device).with_context(|| format!("{}: setup failed", b.id))?;
        let t = if is_slow(b) { time_once(b.id, &mut f) } else { time(b.id, Duration::from_secs_f64(seconds), 5, &mut f) }.with_context(|| b.id.to_string())?;
        let (tt, ratio) = match torch.get(b.id) {
            Some(p) => {
                let r = t.median_s / p.median_s;
                rows.push(Ratio { ratio: r, baseline: is_baseline(b), library: is_library(b) });
                (ms(p.median_s), format!("{r:.2}×"))
            }
            None => ("-".into(), "-".into()),
        };
        println!("{:width$}  {:>12}  {:>12}  {:>7}  {} ({} runs)", b.id, ms(t.median_s), tt, ratio, b.about, t.runs);
        results.push(t);
    }
    let out = crate::root().join("target/candlecamp/bench.json");
    let _ = std::fs::create_dir_all(out.parent().unwrap());
    let all = merge_timings(std::fs::read(&out).ok().as_deref(), &results);
    let _ = std::fs::write(&out, serde_json::to_vec_pretty(&all).unwrap());
    println!("bench: candle timings written to {}", out.display());
    match summary_to {
        Some(path) => {
            use std::io::Write;
            let mut f = std::fs::OpenOptions::new().create(true).append(true).open(path).with_context(|| format!("cannot append to {}", path.display()))?;
            for r in &rows {
                writeln!(f, "{}", serde_json::to_string(r)?)?;
            }
        }
        None if !rows.is_empty() => println!("{}", summary(&rows)),
        None => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorded_ids_are_unique_and_named_like_exercises() {
        let mut seen = std::collections::HashSet::new();
        for w in crate::registry::weeks() {
            for b in w.bench_ids() {
                assert!(b.starts_with(w.name) && b.split('.').count() >= 3, "{b} is not {}.topic.case", w.name);
                assert!(seen.insert(b.clone()), "duplicate benchmark {b}");
            }
        }
        assert!(!seen.is_empty(), "checks/registry.json records no benchmarks");
    }

    #[test]
    fn summary_counts_ratios_at_each_goal_inclusively() {
        let rows = |ratios: &[f64], library: &[f64], baselines: usize| -> Vec<Ratio> {
            ratios
                .iter()
                .map(|&ratio| Ratio { ratio, baseline: false, library: false })
                .chain(library.iter().map(|&ratio| Ratio { ratio, baseline: false, library: true }))
                .chain((0..baselines).map(|_| Ratio { ratio: 9.0, baseline: true, library: false }))
                .collect()
        };
        assert_eq!(
            summary(&rows(&[0.5, 1.2, 1.204, 1.206, 1.504, 1.506], &[1.49, 1.51], 2)),
            "bench: 1 of 2 library benchmarks within 1.5× of PyTorch; course code as the doc comments direct: 5 of 6 within 1.5×, 3 within 1.2× (2 baseline(s) of candle's own kernels not counted)"
        );
        assert_eq!(
            summary(&rows(&[2.0], &[], 0)),
            "bench: 0 of 0 library benchmarks within 1.5× of PyTorch; course code as the doc comments direct: 0 of 1 within 1.5×, 0 within 1.2×"
        );
    }

    #[test]
    fn summary_file_counts_every_week_and_leaves_baselines_out() {
        let path = std::env::temp_dir().join(format!("candlecamp-bench-summary-{}.jsonl", std::process::id()));
        assert_eq!(summary_of_file(&path), None, "no file, no line");
        let rows = [
            Ratio { ratio: 1.1, baseline: false, library: false },
            Ratio { ratio: 9.0, baseline: true, library: false },
            Ratio { ratio: 1.4, baseline: false, library: true },
        ];
        std::fs::write(&path, rows.iter().map(|r| serde_json::to_string(r).unwrap() + "\n").collect::<String>()).unwrap();
        let line = summary_of_file(&path);
        std::fs::remove_file(&path).unwrap();
        assert_eq!(
            line.as_deref(),
            Some(
                "bench: 1 of 1 library benchmarks within 1.5× of PyTorch; course code as the doc comments direct: 1 of 1 within 1.5×, 1 within 1.2× (1 baseline(s) of candle's own kernels not counted)"
            )
        );
    }

    #[test]
    fn each_week_adds_its_timings_to_the_others() {
        let t = |id: &str, s: f64| Timing { id: id.into(), median_s: s, min_s: s, runs: 1 };
        let old = serde_json::to_vec(&[t("week1.a.b", 1.0), t("week2.a.b", 2.0)]).unwrap();
        let all = merge_timings(Some(&old), &[t("week2.a.b", 3.0), t("week3.a.b", 4.0)]);
        let got: Vec<(String, f64)> = all.iter().map(|t| (t.id.clone(), t.median_s)).collect();
        assert_eq!(got, [("week1.a.b".to_string(), 1.0), ("week2.a.b".to_string(), 3.0), ("week3.a.b".to_string(), 4.0)]);
        assert_eq!(merge_timings(Some(b"not json"), &[t("week1.a.b", 5.0)]).len(), 1);
    }

    #[test]
    fn one_run_without_warm_up() {
        let t = time_once("x", &mut || Ok(())).unwrap();
        assert_eq!(t.runs, 1);
    }

    #[test]
    fn timing_counts_runs_and_orders_min_below_median() {
        let mut n = 0;
        let t = time("x", Duration::from_millis(5), 7, &mut || {
            n += 1;
            std::thread::sleep(Duration::from_micros(200));
            Ok(())
        })
        .unwrap();
        assert!(t.runs >= 7 && n == t.runs + 1, "{} runs, {n} calls", t.runs);
        assert!(t.min_s <= t.median_s && t.min_s >= 150e-6);
    }
}
