//! `grader bughunt WEEK`: the bug hunt. A patient (a model and its training loop, in
//! `bughunt/WEEK/src/patient.rs`, built on the learner's own passed exercises) gets one bug
//! from a curated list (`bughunt/bugs.toml`), written into its file. The grader trains it and
//! a healthy copy, and draws only the symptoms: the loss against the healthy run's, each
//! layer's activations (spread, saturated or dead share, histograms), each parameter's
//! gradient and update-to-weight ratio. The learner names the line (`--line N`), or fixes the
//! file and runs the hunt again; the grader confirms, and records the attempts and the time.
//!
//! Every bug's `signs` are claims about the diagnostics (`share.h1@start > healthy+0.3`: the
//! share of saturated units of layer h1 at the first step is 0.3 above the healthy run's);
//! `grader bughunt --verify` plants each bug, runs it, and checks that its signs hold and that
//! none holds for the healthy run.

use crate::dashboard::escape;
use crate::drill::Mistake;
use anyhow::{anyhow, bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub const BUGS: &str = "bughunt/bugs.toml";

/// The weeks with a patient, the model it is, and the exercises it runs of the learner's.
pub const PATIENTS: &[(&str, &str, &[&str])] = &[
    ("week0", "the MLP language model", &["week0.mlp.dataset", "week0.mlp.batchnorm"]),
    ("week1", "the MNIST CNN", &["week1.modules.kaiming_uniform", "week1.modules.batchnorm2d"]),
    ("week3", "the char-GPT", &["week3.chargpt.vocab"]),
];

#[derive(Deserialize, Debug, Clone)]
pub struct Bug {
    pub id: String,
    pub week: String,
    /// What the bug is, as the learner is told once it is found.
    pub name: String,
    #[serde(default)]
    pub near: Option<String>,
    pub from: String,
    pub to: String,
    /// Which picture shows it, and how.
    pub reveals: String,
    /// Claims about the run's summary numbers, checked by `--verify`.
    pub signs: Vec<String>,
    /// The chart that shows it best: `loss`, `lr`, `std.LAYER`, `share.LAYER`, `hist.LAYER`,
    /// `grad.PARAM`, `ratio.PARAM` (drawn by `--verify` for the book).
    pub picture: String,
}

#[derive(Deserialize)]
struct BugFile {
    bug: Vec<Bug>,
}

pub fn load(root: &Path) -> Result<Vec<Bug>> {
    let path = root.join(BUGS);
    let text = std::fs::read_to_string(&path).with_context(|| path.display().to_string())?;
    Ok(toml::from_str::<BugFile>(&text).with_context(|| path.display().to_string())?.bug)
}

pub fn patient_file(week: &str) -> String {
    format!("bughunt/{week}/src/patient.rs")
}

/// The patient's text with `bug` planted, and the lines (1-based, inclusive) the bug occupies.
pub fn plant(src: &str, week: &str, bug: &Bug) -> Result<(String, (usize, usize))> {
    let m = Mistake {
        id: bug.id.clone(),
        grade: Vec::new(),
        file: patient_file(week),
        near: bug.near.clone(),
        from: bug.from.clone(),
        to: bug.to.clone(),
        expect: String::new(),
    };
    let planted = crate::drill::plant(src, &m)?;
    // The first byte where the texts differ, and the line it is on.
    let at = src.bytes().zip(planted.bytes()).position(|(a, b)| a != b).unwrap_or(src.len().min(planted.len()));
    let first = planted[..at].matches('\n').count() + 1;
    let last = first + bug.to.matches('\n').count().max(bug.from.matches('\n').count());
    Ok((planted, (first, last)))
}

/// A run's numbers, as the patient's runner wrote them.
#[derive(Deserialize, Clone, Default)]
pub struct Run {
    pub loss: Vec<Option<f64>>,
    pub lr: Vec<Option<f64>>,
    pub layers: Vec<Series>,
    pub params: Vec<Series>,
    #[serde(default)]
    pub text: BTreeMap<String, String>,
    pub summary: BTreeMap<String, Option<f64>>,
}

#[derive(Deserialize, Clone, Default)]
pub struct Series {
    pub name: String,
    #[serde(default)]
    pub kind: String,
    pub steps: Vec<usize>,
    #[serde(default)]
    pub std: Vec<Option<f64>>,
    #[serde(default)]
    pub share: Vec<Option<f64>>,
    #[serde(default)]
    pub grad: Vec<Option<f64>>,
    #[serde(default)]
    pub ratio: Vec<Option<f64>>,
    pub hist_steps: Vec<usize>,
    pub samples: Vec<Vec<Option<f64>>>,
}

impl Run {
    pub fn get(&self, metric: &str) -> Option<f64> {
        self.summary.get(metric).copied().flatten()
    }
}

/// Whether `sign` holds for `run`, measured against `healthy`: `METRIC OP RHS`, where OP is
/// `<` or `>` and RHS a number, `healthy`, `healthy+X`, `healthy-X` or `healthy*X`.
pub fn holds(sign: &str, run: &Run, healthy: &Run) -> Result<bool> {
    let parts: Vec<&str> = sign.split_whitespace().collect();
    let [metric, op, rhs] = parts[..] else { bail!("sign {sign:?}: want `METRIC OP VALUE`") };
    let value = run.get(metric).ok_or_else(|| anyhow!("sign {sign:?}: the run has no {metric}"))?;
    let base = healthy.get(metric).ok_or_else(|| anyhow!("sign {sign:?}: the healthy run has no {metric}"))?;
    let bound = if let Some(rest) = rhs.strip_prefix("healthy") {
        let num = |s: &str| s.parse::<f64>().map_err(|_| anyhow!("sign {sign:?}: bad number {s:?}"));
        match rest.chars().next() {
            None => base,
            Some('+') => base + num(&rest[1..])?,
            Some('-') => base - num(&rest[1..])?,
            Some('*') => base * num(&rest[1..])?,
            _ => bail!("sign {sign:?}: bad right-hand side"),
        }
    } else {
        rhs.parse::<f64>().map_err(|_| anyhow!("sign {sign:?}: bad number {rhs:?}"))?
    };
    Ok(match op {
        "<" => value < bound,
        ">" => value > bound,
        _ => bail!("sign {sign:?}: the operator is < or >"),
    })
}

fn state_dir(root: &Path, week: &str) -> PathBuf {
    root.join("target/candlecamp/bughunt").join(week)
}

/// An active hunt.
#[derive(Serialize, Deserialize)]
struct Hunt {
    bug: String,
    started: u64,
    attempts: u32,
    pristine: String,
    planted: String,
}

/// A finished hunt, in `target/candlecamp/bughunt/record.json`.
#[derive(Serialize, Deserialize, Clone)]
struct Found {
    week: String,
    bug: String,
    /// "named the line", "fixed it", or "gave up".
    how: String,
    attempts: u32,
    seconds: u64,
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

fn record_path(root: &Path) -> PathBuf {
    root.join("target/candlecamp/bughunt/record.json")
}

fn read_record(root: &Path) -> Vec<Found> {
    std::fs::read_to_string(record_path(root)).ok().and_then(|t| serde_json::from_str(&t).ok()).unwrap_or_default()
}

fn push_record(root: &Path, f: Found) -> Result<()> {
    let mut all = read_record(root);
    all.push(f);
    std::fs::create_dir_all(record_path(root).parent().unwrap())?;
    std::fs::write(record_path(root), serde_json::to_string_pretty(&all)?)?;
    Ok(())
}

/// Build the week's patient and run it: its numbers, written to `out` too.
pub fn run_patient(root: &Path, week: &str, out: &Path, reference: bool) -> Result<Run> {
    let name = format!("bughunt-{week}");
    let exe = match crate::launch::build_package(root, None, &name, &format!("the {week} patient"), reference) {
        Ok(exe) => exe,
        Err(crate::launch::BuildError::DoesNotCompile(e)) => bail!("{} does not compile:\n{}", patient_file(week), e.rendered),
        Err(crate::launch::BuildError::Failed(e)) => bail!("{e}"),
    };
    if let Some(p) = out.parent() {
        std::fs::create_dir_all(p)?;
    }
    let _ = std::fs::remove_file(out);
    let mut child = std::process::Command::new(&exe)
        .arg(out)
        .current_dir(root)
        .env("CANDLECAMP_ROOT", root)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .with_context(|| exe.display().to_string())?;
    let stderr = child.stderr.take().map(|e| std::thread::spawn(move || std::io::read_to_string(e).unwrap_or_default()));
    let t0 = Instant::now();
    let limit = Duration::from_secs(300);
    let status = loop {
        if let Some(s) = child.try_wait()? {
            break s;
        }
        if t0.elapsed() > limit {
            let _ = child.kill();
            bail!("the patient ran for more than {} s and was stopped", limit.as_secs());
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let err = stderr.and_then(|h| h.join().ok()).unwrap_or_default();
    if !status.success() {
        let tail: Vec<&str> = err.lines().rev().take(12).collect::<Vec<_>>().into_iter().rev().collect();
        bail!("the patient stopped ({status}) before the end of its run:\n{}", tail.join("\n"));
    }
    let text = std::fs::read_to_string(out).with_context(|| format!("the patient wrote no {}", out.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not a run", out.display()))
}

/// Whether `run` is the healthy run again (a fix): the losses agree and no sign of the bug holds.
fn cured(run: &Run, healthy: &Run, bug: &Bug) -> bool {
    let close = |m: &str| match (run.get(m), healthy.get(m)) {
        (Some(a), Some(b)) => (a - b).abs() <= 0.02 + 0.01 * b.abs(),
        (None, None) => true,
        _ => false,
    };
    ["loss.start", "loss.end", "eval.loss", "gap"].iter().all(|m| close(m)) && bug.signs.iter().all(|s| !holds(s, run, healthy).unwrap_or(true))
}

pub struct Options {
    pub line: Option<String>,
    pub give_up: bool,
    pub status: bool,
    pub bug: Option<String>,
    pub open: bool,
    pub no_prerequisites: bool,
}

fn minutes(s: u64) -> String {
    format!("{}:{:02}", s / 60, s % 60)
}

/// `grader bughunt WEEK …`.
pub fn command(root: &Path, week: &str, o: &Options) -> Result<()> {
    let Some((_, model, needs)) = PATIENTS.iter().find(|(w, _, _)| *w == week) else {
        bail!("no bug hunt for {week}: the hunts are {}", PATIENTS.iter().map(|p| p.0).collect::<Vec<_>>().join(", "))
    };
    let bugs: Vec<Bug> = load(root)?.into_iter().filter(|b| b.week == week).collect();
    let dir = state_dir(root, week);
    let hunt_file = dir.join("hunt.json");
    let file = patient_file(week);
    let path = root.join(&file);
    let hunt: Option<Hunt> = std::fs::read_to_string(&hunt_file).ok().and_then(|t| serde_json::from_str(&t).ok());
    let reference = cfg!(feature = "reference");
    if o.status {
        let rec: Vec<Found> = read_record(root).into_iter().filter(|f| f.week == week).collect();
        let found: std::collections::BTreeSet<&str> = rec.iter().filter(|f| f.how != "gave up").map(|f| f.bug.as_str()).collect();
        println!("bughunt {week} ({model}): {} of {} bugs found", found.len(), bugs.len());
        for f in &rec {
            let what = bugs.iter().find(|b| b.id == f.bug).map(|b| b.name.as_str()).unwrap_or(f.bug.as_str());
            println!("  {:<6} {:<15} {:>2} attempt(s)  {what}", minutes(f.seconds), f.how, f.attempts);
        }
        if hunt.is_some() {
            println!("a hunt is under way: `just bughunt {week}` redraws it, `--line N` answers, `--give-up` reveals");
        }
        return Ok(());
    }
    match hunt {
        None => {
            if o.line.is_some() || o.give_up {
                bail!("no hunt is under way in {week}: `just bughunt {week}` starts one");
            }
            if !reference && !o.no_prerequisites {
                let passed = crate::progress::ever_passed();
                let missing: Vec<&&str> = needs.iter().filter(|id| !passed.contains(**id)).collect();
                if !missing.is_empty() {
                    bail!(
                        "the {week} patient runs your {}: pass {} first (`just grade {week}`)",
                        needs.join(", "),
                        missing.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(", ")
                    );
                }
            }
            let pristine = std::fs::read_to_string(&path).with_context(|| path.display().to_string())?;
            let found: std::collections::BTreeSet<String> =
                read_record(root).into_iter().filter(|f| f.week == week && f.how != "gave up").map(|f| f.bug).collect();
            let bug = match &o.bug {
                Some(id) => bugs.iter().find(|b| &b.id == id).ok_or_else(|| anyhow!("no bug {id} in {week}"))?,
                None => {
                    // The book's illustrated bugs come last: their pictures are on the page.
                    let book = std::fs::read_to_string(root.join("book/src/week1/bughunt.md")).unwrap_or_default();
                    let unseen: Vec<&Bug> = bugs.iter().filter(|b| !found.contains(&b.id)).collect();
                    let fresh: Vec<&Bug> = unseen.iter().copied().filter(|b| !book.contains(&format!("bughunt/{}.svg", b.id))).collect();
                    let open = if fresh.is_empty() { unseen } else { fresh };
                    let pool = if open.is_empty() { bugs.iter().collect() } else { open };
                    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.subsec_nanos() as usize).unwrap_or(0);
                    pool[nanos % pool.len()]
                }
            };
            println!("bughunt {week}: training a healthy copy of {model} first (your code, nothing planted)…");
            let healthy = run_patient(root, week, &dir.join("healthy.json"), reference)?;
            let (planted, _) = plant(&pristine, week, bug).with_context(|| {
                format!("{file} is not the course's any more (was it edited outside a hunt?): put it back (`git checkout {file}`, or copy it from a fresh `just dist`) and start again")
            })?;
            std::fs::create_dir_all(&dir)?;
            let h = Hunt { bug: bug.id.clone(), started: now(), attempts: 0, pristine: pristine.clone(), planted: planted.clone() };
            std::fs::write(&hunt_file, serde_json::to_string(&h)?)?;
            std::fs::write(&path, &planted)?;
            println!("bughunt {week}: one bug is now planted in {file}. Training the patient…");
            let run = match run_patient(root, week, &dir.join("patient.json"), reference) {
                Ok(r) => r,
                Err(e) => {
                    std::fs::write(&path, &pristine)?;
                    let _ = std::fs::remove_file(&hunt_file);
                    return Err(e.context(format!("the planted bug {} broke the patient's build or run: the file is put back", bug.id)));
                }
            };
            show(root, week, model, &run, &healthy, o.open)?;
            println!(
                "\nThe bug is somewhere in {file}. Read the pictures first, then the code.\n  just bughunt {week} --line N   name the line\n  (or fix the file) just bughunt {week}   train again and compare with the healthy run\n  just bughunt {week} --give-up  show the bug"
            );
        }
        Some(mut h) => {
            let bug = bugs.iter().find(|b| b.id == h.bug).ok_or_else(|| anyhow!("the hunt's bug {} is no longer in {BUGS}", h.bug))?.clone();
            let (_, (first, last)) = plant(&h.pristine, week, &bug)?;
            let finish = |h: &Hunt, how: &str| -> Result<()> {
                std::fs::write(&path, &h.pristine)?;
                let _ = std::fs::remove_file(&hunt_file);
                let seconds = now().saturating_sub(h.started);
                push_record(root, Found { week: week.into(), bug: h.bug.clone(), how: how.into(), attempts: h.attempts, seconds })?;
                let shown = if first == last { format!("line {first}") } else { format!("lines {first}–{last}") };
                println!("The bug ({shown} of {file}): {}.", bug.name);
                println!("How it shows: {}", bug.reveals);
                println!("  was: {}\n  bug: {}", bug.from.trim(), bug.to.trim());
                println!("{file} is back as it was. {} attempt(s), {}.", h.attempts, minutes(seconds));
                Ok(())
            };
            if o.give_up {
                return finish(&h, "gave up");
            }
            if let Some(line) = &o.line {
                let n: usize = line.rsplit(':').next().unwrap_or(line).trim().parse().map_err(|_| anyhow!("--line wants a line number of {file}, like 42"))?;
                h.attempts += 1;
                if (first.saturating_sub(1)..=last + 1).contains(&n) {
                    println!("Found: line {n} is the bug.");
                    return finish(&h, "named the line");
                }
                std::fs::write(&hunt_file, serde_json::to_string(&h)?)?;
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                let code = text.lines().nth(n.saturating_sub(1)).unwrap_or("").trim();
                println!("Not line {n} ({code:?}): that line is as it should be. Attempt {}; look at the pictures again.", h.attempts);
                return Ok(());
            }
            let now_text = std::fs::read_to_string(&path).with_context(|| path.display().to_string())?;
            let healthy: Run = serde_json::from_str(&std::fs::read_to_string(dir.join("healthy.json"))?)?;
            if now_text == h.planted {
                println!("bughunt {week}: the patient is unchanged; its pictures again.");
                let run: Run = serde_json::from_str(&std::fs::read_to_string(dir.join("patient.json"))?)?;
                return show(root, week, model, &run, &healthy, o.open);
            }
            h.attempts += 1;
            std::fs::write(&hunt_file, serde_json::to_string(&h)?)?;
            println!("bughunt {week}: {file} has changed; training it again (attempt {})…", h.attempts);
            let run = run_patient(root, week, &dir.join("patient.json"), reference)?;
            if cured(&run, &healthy, &bug) {
                println!("Cured: the patient trains as the healthy run does.");
                numbers(&run, &healthy);
                println!();
                return finish(&h, "fixed it");
            }
            show(root, week, model, &run, &healthy, o.open)?;
            println!("\nNot cured yet: the run still differs from the healthy one (attempt {}).", h.attempts);
        }
    }
    Ok(())
}

/// The rows of the losses' table: (summary name, what it is).
const NUMBERS: [(&str, &str); 6] = [
    ("loss.first", "loss at step 0"),
    ("loss.start", "loss, first 10 steps"),
    ("loss.end", "loss, last tenth"),
    ("train.loss", "training rows, eval mode"),
    ("eval.loss", "held-out loss"),
    ("eval.acc", "held-out accuracy"),
];

/// Print the losses of both runs, and what a uniform guess scores.
fn numbers(run: &Run, healthy: &Run) {
    println!("\n{:<26} {:>10} {:>10}", "", "healthy", "patient");
    for (m, what) in NUMBERS {
        if let (Some(a), Some(b)) = (healthy.get(m), run.get(m)) {
            println!("{what:<26} {a:>10.4} {b:>10.4}");
        }
    }
    if let Some(u) = healthy.get("uniform") {
        println!("(a uniform guess over the classes scores ln(classes) = {u:.4})");
    }
}

/// Print the symptoms and write the report page.
fn show(root: &Path, week: &str, model: &str, run: &Run, healthy: &Run, open: bool) -> Result<()> {
    let dir = state_dir(root, week);
    let out = dir.join("report.html");
    write_report(&out, &format!("Bug hunt, {week}: {model}"), run, healthy)?;
    numbers(run, healthy);
    if let (Some(t), Some(h)) = (run.text.get("sample"), healthy.text.get("sample")) {
        println!("\nthe healthy run writes: {:?}", h.chars().take(120).collect::<String>());
        println!("the patient writes:     {:?}", t.chars().take(120).collect::<String>());
    }
    println!("\nthe pictures: {} (beside it, as PNGs: report_loss, report_update_ratio, and report_activations and report_gradients, the histograms a row per layer or parameter)", out.display());
    if open && !crate::dashboard::open_in_browser(&out) {
        println!("bughunt: open {} in a browser", out.display());
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The report: one page of SVG charts, the healthy run in grey beneath the patient's in colour.

const PATIENT: &str = "#d62728";
const HEALTHY: &str = "#9a9a9a";

/// One line of a chart: its colour, whether it is drawn faint, and its points (step, value).
type Line<'a> = (&'a str, bool, Vec<(f64, f64)>);

/// A line chart of `lines`.
fn line_chart(id: &str, caption: &str, lines: &[Line], log_note: &str) -> String {
    let (w, h, m) = (460.0, 200.0, 40.0);
    let pts = lines.iter().flat_map(|l| l.2.iter()).filter(|(x, y)| x.is_finite() && y.is_finite());
    let (mut x0, mut x1, mut y0, mut y1) = (f64::INFINITY, f64::NEG_INFINITY, f64::INFINITY, f64::NEG_INFINITY);
    for &(x, y) in pts {
        (x0, x1, y0, y1) = (x0.min(x), x1.max(x), y0.min(y), y1.max(y));
    }
    if !x0.is_finite() {
        (x0, x1, y0, y1) = (0.0, 1.0, 0.0, 1.0);
    }
    if y1 - y0 < 1e-9 {
        (y0, y1) = (y0 - 0.5, y1 + 0.5);
    }
    let (xs, ys) = ((x1 - x0).max(1e-12), y1 - y0);
    let mut s = String::new();
    let _ = write!(
        s,
        r##"<svg data-chart="{id}" viewBox="0 0 {w} {h}" width="{w}" height="{h}" font-family="sans-serif" xmlns="http://www.w3.org/2000/svg"><rect width="{w}" height="{h}" fill="white"/><rect x="{m}" y="6" width="{}" height="{}" fill="none" stroke="#ccc"/>"##,
        w - m - 6.0,
        h - m - 6.0
    );
    let _ = write!(
        s,
        r##"<text x="2" y="16" font-size="10" fill="#555">{}</text><text x="2" y="{}" font-size="10" fill="#555">{}</text><text x="{m}" y="{}" font-size="10" fill="#555">step {x0}</text><text x="{}" y="{}" font-size="10" fill="#555" text-anchor="end">step {x1}{}</text>"##,
        num(y1),
        h - m,
        num(y0),
        h - m + 13.0,
        w - 6.0,
        h - m + 13.0,
        escape(log_note)
    );
    let _ = write!(s, r##"<text x="{}" y="18" font-size="11" fill="#333">{}</text>"##, m + 6.0, escape(caption));
    for (colour, dashed, p) in lines {
        let points: Vec<String> = p
            .iter()
            .filter(|(_, y)| y.is_finite())
            .map(|&(x, y)| format!("{:.1},{:.1}", m + (x - x0) / xs * (w - m - 6.0), 6.0 + (1.0 - (y - y0) / ys) * (h - m - 6.0)))
            .collect();
        let style = if *dashed { r#" stroke-width="0.7" stroke-opacity="0.35""# } else { r#" stroke-width="1.5""# };
        let _ = write!(s, r#"<polyline fill="none" stroke="{colour}"{style} points="{}"/>"#, points.join(" "));
    }
    s.push_str("</svg>");
    s
}

fn num(v: f64) -> String {
    if v == 0.0 {
        "0".into()
    } else if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else {
        let d = (2 - v.abs().log10().floor() as i32).clamp(0, 6) as usize;
        format!("{v:.d$}")
    }
}

/// The `k`-th recorded samples of the two runs counted on 40 shared bins: (the patient's
/// shares, the healthy run's, the range, the largest share).
fn shared_bins(run: &Series, healthy: Option<&Series>, k: usize) -> (Vec<f64>, Vec<f64>, (f64, f64), f64) {
    let vals = |s: &Series| -> Vec<f64> { s.samples.get(k).map(|v| v.iter().flatten().copied().filter(|x| x.is_finite()).collect()).unwrap_or_default() };
    let a = vals(run);
    let b = healthy.map(vals).unwrap_or_default();
    let (mut lo, mut hi) = a.iter().chain(b.iter()).fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &x| (l.min(x), h.max(x)));
    if !lo.is_finite() {
        (lo, hi) = (-1.0, 1.0);
    }
    if hi - lo < 1e-12 {
        (lo, hi) = (lo - 1e-6, hi + 1e-6);
    }
    let bins = 40;
    let count = |v: &[f64]| {
        let mut c = vec![0.0f64; bins];
        for &x in v {
            let i = (((x - lo) / (hi - lo)) * bins as f64).floor().clamp(0.0, bins as f64 - 1.0) as usize;
            c[i] += 1.0;
        }
        let n = v.len().max(1) as f64;
        c.iter().map(|x| x / n).collect::<Vec<f64>>()
    };
    let (ca, cb) = (count(&a), count(&b));
    let top = ca.iter().chain(cb.iter()).fold(1e-12f64, |m, &x| m.max(x));
    (ca, cb, (lo, hi), top)
}

/// The histograms as one PNG: a row per layer (or parameter) in `rows`, a column per recorded
/// step; grey bars the healthy run, red the patient's outline.
fn histogram_png(path: &Path, rows: &[(&Series, Option<&Series>)]) -> Result<()> {
    let (cw, ch, gap) = (160u32, 56u32, 6u32);
    let cols = rows.iter().map(|(s, _)| s.hist_steps.len()).max().unwrap_or(0).max(1) as u32;
    let (w, h) = (cols * (cw + gap) + gap, rows.len().max(1) as u32 * (ch + gap) + gap);
    let mut img = image::RgbImage::from_pixel(w, h, image::Rgb([255, 255, 255]));
    for (r, (run, healthy)) in rows.iter().enumerate() {
        for k in 0..run.hist_steps.len() {
            let (ca, cb, _, top) = shared_bins(run, *healthy, k);
            let (x0, y0) = (gap + k as u32 * (cw + gap), gap + r as u32 * (ch + gap));
            let bw = cw / ca.len() as u32;
            let height = |v: f64| ((v / top) * (ch - 1) as f64).round() as u32;
            for (i, (&a, &b)) in ca.iter().zip(&cb).enumerate() {
                let (ha, hb) = (height(a), height(b));
                for x in x0 + i as u32 * bw..x0 + (i as u32 + 1) * bw {
                    for y in 0..hb {
                        img.put_pixel(x, y0 + ch - 1 - y, image::Rgb([190, 190, 190]));
                    }
                    img.put_pixel(x, y0 + ch - 1 - ha, image::Rgb([214, 39, 40]));
                }
                // The outline's vertical step to the next bin.
                if let Some(&next) = ca.get(i + 1) {
                    let (p, q) = (ha.min(height(next)), ha.max(height(next)));
                    for y in p..=q {
                        img.put_pixel(x0 + (i as u32 + 1) * bw, y0 + ch - 1 - y, image::Rgb([214, 39, 40]));
                    }
                }
            }
        }
    }
    crate::picture::save(path, img).map_err(|e| anyhow!("{e}"))
}

/// Histograms of the two runs' samples on shared bins, one small chart per recorded step.
fn histograms(id: &str, run: &Series, healthy: Option<&Series>) -> String {
    let mut s = String::from("<div class=\"hists\">");
    for (k, step) in run.hist_steps.iter().enumerate() {
        let (ca, cb, (lo, hi), top) = shared_bins(run, healthy, k);
        let bins = ca.len();
        let (w, h) = (200.0, 90.0);
        let _ = write!(
            s,
            r##"<svg data-hist="{id}" data-step="{step}" x="{}" viewBox="0 0 {w} {}" width="{w}" height="{}" font-family="sans-serif" xmlns="http://www.w3.org/2000/svg"><rect width="{w}" height="{}" fill="white"/>"##,
            k as f64 * (w + 6.0),
            h + 24.0,
            h + 24.0,
            h + 24.0
        );
        let bw = w / bins as f64;
        for (i, v) in cb.iter().enumerate() {
            let _ = write!(
                s,
                r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{HEALTHY}" fill-opacity="0.5"/>"#,
                i as f64 * bw,
                h - v / top * h,
                bw,
                v / top * h
            );
        }
        let path: Vec<String> = ca
            .iter()
            .enumerate()
            .flat_map(|(i, v)| [format!("{:.1},{:.1}", i as f64 * bw, h - v / top * h), format!("{:.1},{:.1}", (i + 1) as f64 * bw, h - v / top * h)])
            .collect();
        let _ = write!(s, r#"<polyline fill="none" stroke="{PATIENT}" stroke-width="1.3" points="{}"/>"#, path.join(" "));
        if lo < 0.0 && hi > 0.0 {
            // Zero, so that a sign (a ReLU's negative half, a one-sided gradient) shows at once.
            let x = -lo / (hi - lo) * w;
            let _ = write!(
                s,
                r##"<line x1="{x:.1}" y1="0" x2="{x:.1}" y2="{h}" stroke="#555" stroke-dasharray="2 2" stroke-width="0.8"/><text x="{x:.1}" y="{}" font-size="9" fill="#555" text-anchor="middle">0</text>"##,
                h + 10.0
            );
        }
        let _ = write!(
            s,
            r##"<text x="0" y="{}" font-size="9" fill="#555">{}</text><text x="{w}" y="{}" font-size="9" fill="#555" text-anchor="end">{}</text><text x="{}" y="{}" font-size="9" fill="#333" text-anchor="middle">step {step}</text></svg>"##,
            h + 10.0,
            num(lo),
            h + 10.0,
            num(hi),
            w / 2.0,
            h + 21.0
        );
    }
    s.push_str("</div>");
    s
}

fn pairs(steps: &[usize], v: &[Option<f64>]) -> Vec<(f64, f64)> {
    steps.iter().zip(v).map(|(&s, y)| (s as f64, y.unwrap_or(f64::NAN))).collect()
}

fn curve(v: &[Option<f64>]) -> Vec<(f64, f64)> {
    v.iter().enumerate().map(|(i, y)| (i as f64, y.unwrap_or(f64::NAN))).collect()
}

/// A per-step series smoothed as the dashboard smooths a loss (β 0.95), as chart points.
fn smooth(v: &[Option<f64>]) -> Vec<(f64, f64)> {
    let xs: Vec<f64> = v.iter().map(|x| x.unwrap_or(f64::NAN)).collect();
    crate::dashboard::smoothed(&xs, 0.95).into_iter().enumerate().map(|(i, y)| (i as f64, y)).collect()
}

/// Points with log10 of their values (no point where a value is not positive).
fn log(v: Vec<(f64, f64)>) -> Vec<(f64, f64)> {
    v.into_iter().map(|(x, y)| (x, if y > 0.0 { y.log10() } else { f64::NAN })).collect()
}

/// One chart of the report, by name (see [`Bug::picture`]), the healthy run beneath the patient.
pub fn picture(name: &str, run: &Run, healthy: &Run) -> Option<String> {
    let (what, target) = name.split_once('.').unwrap_or((name, ""));
    let layer = |r: &Run| r.layers.iter().find(|l| l.name == target).cloned();
    let param = |r: &Run| r.params.iter().find(|l| l.name == target).cloned();
    Some(match what {
        "loss" => {
            // At most 300 points a line: the smoothed curve loses nothing.
            let thin = |v: Vec<(f64, f64)>| {
                let every = v.len().div_ceil(300).max(1);
                v.into_iter().enumerate().filter(|(i, _)| i % every == 0).map(|(_, p)| p).collect::<Vec<_>>()
            };
            line_chart("loss", "training loss, smoothed", &[(HEALTHY, false, thin(smooth(&healthy.loss))), (PATIENT, false, thin(smooth(&run.loss)))], "")
        }
        "lr" => line_chart("lr", "learning rate", &[(HEALTHY, false, curve(&healthy.lr)), (PATIENT, false, curve(&run.lr))], ""),
        "std" | "share" => {
            let (p, h) = (layer(run)?, layer(healthy)?);
            let pick = |s: &Series| if what == "std" { pairs(&s.steps, &s.std) } else { pairs(&s.steps, &s.share) };
            let caption = if what == "std" { format!("{target}: spread") } else { format!("{target}: {}", share_caption(&p.kind)) };
            line_chart(name, &caption, &[(HEALTHY, false, pick(&h)), (PATIENT, false, pick(&p))], "")
        }
        "hist" => {
            let (p, h) = (layer(run)?, layer(healthy)?);
            // One SVG holding the row of histograms.
            let n = p.hist_steps.len() as f64;
            let row = histograms(name, &p, Some(&h));
            let inner = row.trim_start_matches("<div class=\"hists\">").trim_end_matches("</div>");
            format!(r#"<svg viewBox="0 0 {} 114" width="{}" height="114" xmlns="http://www.w3.org/2000/svg">{inner}</svg>"#, n * 206.0, n * 206.0)
        }
        "grad" => {
            let (p, h) = (param(run)?, param(healthy)?);
            line_chart(
                name,
                &format!("{target}: gradient (log10 rms)"),
                &[(HEALTHY, false, log(pairs(&h.steps, &h.grad))), (PATIENT, false, log(pairs(&p.steps, &p.grad)))],
                "",
            )
        }
        "ratio" => {
            let h = param(healthy)?;
            let p = param(run).unwrap_or_default();
            line_chart(
                name,
                &format!("{target}: update-to-weight ratio (log10)"),
                &[(HEALTHY, false, pairs(&h.steps, &h.ratio)), (PATIENT, false, pairs(&p.steps, &p.ratio))],
                "",
            )
        }
        _ => return None,
    })
}

fn share_caption(kind: &str) -> &'static str {
    match kind {
        "tanh" => "share saturated (|x| > 0.97)",
        "relu" => "share of dead units",
        "softmax" => "share of peaky rows (max > 0.9)",
        _ => "share beyond ±3",
    }
}

/// The report page for `run` against `healthy`.
pub fn report_html(title: &str, run: &Run, healthy: &Run) -> String {
    let mut s = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title><style>body{{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1000px}}h2{{font-size:16px;margin-top:26px}}h3{{font-size:13px;margin:12px 0 2px}}.row{{display:flex;flex-wrap:wrap;gap:10px}}.hists{{display:flex;gap:6px}}td{{padding:2px 10px}}</style></head><body>",
        escape(title)
    );
    let _ = write!(
        s,
        "<h1>{}</h1><p><b style=\"color:{HEALTHY}\">■ healthy run</b> (your code, nothing planted) &nbsp; <b style=\"color:{PATIENT}\">■ the patient</b> (one bug planted)</p>",
        escape(title)
    );
    s.push_str("<table><tr><td></td><td>healthy</td><td>patient</td></tr>");
    for (m, what) in NUMBERS {
        if let (Some(a), Some(b)) = (healthy.get(m), run.get(m)) {
            let _ = write!(s, "<tr><td>{what}</td><td>{a:.4}</td><td>{b:.4}</td></tr>");
        }
    }
    s.push_str("</table>");
    if let Some(u) = healthy.get("uniform") {
        let _ = write!(s, "<p>A uniform guess over the classes scores ln(classes) = {u:.4}.</p>");
    }
    if let Some(t) = run.text.get("sample") {
        let _ = write!(
            s,
            "<p>The patient writes (greedy): <code>{}</code><br>The healthy run writes: <code>{}</code></p>",
            escape(t),
            escape(healthy.text.get("sample").map(String::as_str).unwrap_or(""))
        );
    }
    s.push_str("<h2>Loss and learning rate</h2><div class=\"row\">");
    s.push_str(&line_chart(
        "loss",
        "training loss (faint: each step; bold: smoothed)",
        &[(PATIENT, true, curve(&run.loss)), (HEALTHY, false, smooth(&healthy.loss)), (PATIENT, false, smooth(&run.loss))],
        "",
    ));
    s.push_str(&line_chart("lr", "learning rate", &[(HEALTHY, false, curve(&healthy.lr)), (PATIENT, false, curve(&run.lr))], ""));
    s.push_str("</div><h2>Activations, layer by layer</h2><p>Left: the spread (standard deviation). Middle: the share of saturated tanh values (|x| &gt; 0.97), dead ReLU units (≤ 0 for the whole batch), peaky attention rows (largest weight &gt; 0.9), or for a plain layer values beyond ±3. Below: histograms at four steps, on shared bins (grey bars: healthy; red outline: the patient).</p>");
    for l in &run.layers {
        let h = healthy.layers.iter().find(|x| x.name == l.name);
        let _ = write!(s, "<h3>{} ({})</h3><div class=\"row\">", escape(&l.name), escape(&l.kind));
        let hl = |f: fn(&Series) -> &Vec<Option<f64>>| h.map(|h| pairs(&h.steps, f(h))).unwrap_or_default();
        let share = share_caption(&l.kind);
        s.push_str(&line_chart(
            &format!("std-{}", l.name),
            "spread (standard deviation)",
            &[(HEALTHY, false, hl(|x| &x.std)), (PATIENT, false, pairs(&l.steps, &l.std))],
            "",
        ));
        s.push_str(&line_chart(&format!("share-{}", l.name), share, &[(HEALTHY, false, hl(|x| &x.share)), (PATIENT, false, pairs(&l.steps, &l.share))], ""));
        s.push_str("</div>");
        s.push_str(&histograms(&format!("act-{}", l.name), l, h));
    }
    s.push_str("<h2>Parameters: gradients and updates</h2><p>Left: the gradient's root mean square. Middle: log10 of the update-to-weight ratio, std(update) / std(weight) (around −3 is healthy for SGD, Adam's runs higher, about −2; a missing line means the parameter never moved). Below: gradient histograms.</p>");
    for p in &run.params {
        let h = healthy.params.iter().find(|x| x.name == p.name);
        let _ = write!(s, "<h3>{}</h3><div class=\"row\">", escape(&p.name));
        let hl = |f: fn(&Series) -> &Vec<Option<f64>>| h.map(|h| pairs(&h.steps, f(h))).unwrap_or_default();
        s.push_str(&line_chart(
            &format!("grad-{}", p.name),
            "gradient (log10 of its root mean square)",
            &[(HEALTHY, false, log(hl(|x| &x.grad))), (PATIENT, false, log(pairs(&p.steps, &p.grad)))],
            "",
        ));
        s.push_str(&line_chart(
            &format!("ratio-{}", p.name),
            "update-to-weight ratio (log10)",
            &[(HEALTHY, false, hl(|x| &x.ratio)), (PATIENT, false, pairs(&p.steps, &p.ratio))],
            "",
        ));
        s.push_str("</div>");
        s.push_str(&histograms(&format!("grad-{}", p.name), p, h));
    }
    s.push_str("</body></html>\n");
    s
}

pub fn write_report(out: &Path, title: &str, run: &Run, healthy: &Run) -> Result<()> {
    if let Some(p) = out.parent() {
        std::fs::create_dir_all(p)?;
    }
    std::fs::write(out, report_html(title, run, healthy)).with_context(|| out.display().to_string())?;
    // The loss and the update ratios as PNGs beside the page.
    let stem = out.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let png = |name: &str, series: &[Vec<f32>]| -> Result<()> {
        let refs: Vec<&[f32]> = series.iter().map(|v| v.as_slice()).collect();
        crate::picture::lines(&out.with_file_name(format!("{stem}_{name}.png")), &refs, 480, 200).map_err(|e| anyhow!("{e}"))
    };
    let f = |v: &[Option<f64>]| v.iter().map(|x| x.unwrap_or(f64::NAN) as f32).collect::<Vec<f32>>();
    png("loss", &[f(&healthy.loss), f(&run.loss)])?;
    let ratios: Vec<Vec<f32>> = run.params.iter().map(|p| f(&p.ratio)).collect();
    png("update_ratio", &ratios)?;
    for (name, mine, theirs) in [("activations", &run.layers, &healthy.layers), ("gradients", &run.params, &healthy.params)] {
        let rows: Vec<(&Series, Option<&Series>)> = mine.iter().map(|s| (s, theirs.iter().find(|h| h.name == s.name))).collect();
        histogram_png(&out.with_file_name(format!("{stem}_{name}.png")), &rows)?;
    }
    Ok(())
}

/// `grader bughunt --verify`: plant every bug (of `filter`), run, check its signs; the healthy
/// run is run once per week and no sign may hold for it. Returns (bugs whose signs held, all).
pub fn verify(root: &Path, filter: Option<&str>) -> Result<(usize, usize)> {
    let reference = cfg!(feature = "reference");
    let all: Vec<Bug> = load(root)?.into_iter().filter(|b| filter.is_none_or(|f| b.id.contains(f) || b.week == f)).collect();
    let mut ok = 0;
    let tmp = root.join("target/candlecamp/bughunt/verify");
    let mut table = String::from("| bug | what it is | the picture | how it shows | signs (patient vs healthy) |\n|---|---|---|---|---|\n");
    for (week, _, _) in PATIENTS {
        let bugs: Vec<&Bug> = all.iter().filter(|b| b.week == *week).collect();
        if bugs.is_empty() {
            continue;
        }
        let path = root.join(patient_file(week));
        // The patient as it was, kept until the end: a run stopped halfway is put right by the next.
        let kept = tmp.join(format!("{week}-pristine.rs"));
        if let Ok(text) = std::fs::read_to_string(&kept) {
            println!("bughunt --verify {week}: putting back {} as an interrupted run left it", patient_file(week));
            std::fs::write(&path, text)?;
        }
        let pristine = std::fs::read_to_string(&path)?;
        std::fs::create_dir_all(&tmp)?;
        std::fs::write(&kept, &pristine)?;
        println!("bughunt --verify {week}: the healthy run…");
        let healthy = run_patient(root, week, &tmp.join(format!("{week}-healthy.json")), reference)?;
        for b in &bugs {
            let (planted, (first, _)) = plant(&pristine, week, b)?;
            std::fs::write(&path, &planted)?;
            let result = run_patient(root, week, &tmp.join(format!("{}.json", b.id)), reference);
            std::fs::write(&path, &pristine)?;
            let mut problems = Vec::new();
            let mut shown = Vec::new();
            match result {
                Err(e) => problems.push(format!("{e:#}")),
                Ok(run) => {
                    for sign in &b.signs {
                        let metric = sign.split_whitespace().next().unwrap_or("");
                        shown.push(format!(
                            "{metric} {} vs {}",
                            run.get(metric).map(num).unwrap_or("—".into()),
                            healthy.get(metric).map(num).unwrap_or("—".into())
                        ));
                        match (holds(sign, &run, &healthy), holds(sign, &healthy, &healthy)) {
                            (Ok(true), Ok(false)) => {}
                            (Ok(false), _) => problems.push(format!("{sign} does not hold ({})", shown.last().unwrap())),
                            (_, Ok(true)) => problems.push(format!("{sign} holds for the healthy run too")),
                            (Err(e), _) | (_, Err(e)) => problems.push(format!("{e:#}")),
                        }
                    }
                    if b.signs.is_empty() {
                        problems.push("no signs".into());
                    }
                    if cured(&run, &healthy, b) {
                        problems.push("the run counts as cured without a fix".into());
                    }
                    match picture(&b.picture, &run, &healthy) {
                        Some(svg) => std::fs::write(tmp.join(format!("{}.svg", b.id)), format!("{svg}\n"))?,
                        None => problems.push(format!("no picture {:?}", b.picture)),
                    }
                    write_report(&tmp.join(format!("{}.html", b.id)), &format!("{} ({})", b.id, b.name), &run, &healthy)?;
                }
            }
            if problems.is_empty() {
                ok += 1;
                println!("  ok      {} (line {first}): {}", b.id, shown.join("; "));
            } else {
                println!("  FAILED  {} (line {first}): {}", b.id, problems.join("; "));
            }
            let cell = |t: &str| t.replace('|', "\\|");
            let _ = writeln!(table, "| `{}` | {} | `{}` | {} | {} |", b.id, cell(&b.name), b.picture, cell(&b.reveals), shown.join("; "));
        }
        std::fs::write(&path, &pristine)?;
        std::fs::remove_file(&kept)?;
    }
    std::fs::write(tmp.join("table.md"), table)?;
    println!("bughunt --verify: {ok} of {} bugs show their signs (table: {})", all.len(), tmp.join("table.md").display());
    Ok((ok, all.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bug_plants_once_and_each_patient_has_twelve() {
        let root = crate::workspace_root();
        let bugs = load(&root).unwrap();
        for (week, _, _) in PATIENTS {
            let src = std::fs::read_to_string(root.join(patient_file(week))).unwrap();
            let mine: Vec<&Bug> = bugs.iter().filter(|b| b.week == *week).collect();
            assert!(mine.len() >= 12, "{week}: only {} bugs", mine.len());
            for b in mine {
                let (planted, (first, last)) = plant(&src, week, b).unwrap_or_else(|e| panic!("{}: {e}", b.id));
                assert_ne!(planted, src, "{}", b.id);
                assert!(first <= last && last <= planted.lines().count() + 1, "{}", b.id);
                assert!(!b.signs.is_empty(), "{}: no signs", b.id);
            }
        }
        let healthy = Run::default();
        for b in &bugs {
            let (what, _) = b.picture.split_once('.').unwrap_or((&b.picture, ""));
            assert!(["loss", "lr", "std", "share", "hist", "grad", "ratio"].contains(&what), "{}: picture {:?}", b.id, b.picture);
            let _ = picture(&b.picture, &healthy, &healthy);
        }
        let mut ids: Vec<&str> = bugs.iter().map(|b| b.id.as_str()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), bugs.len(), "bug ids repeat");
    }

    #[test]
    fn the_report_draws_a_point_per_step_and_a_histogram_per_recorded_step() {
        let layer = Series {
            name: "h1".into(),
            kind: "tanh".into(),
            steps: vec![0, 5, 9],
            std: vec![Some(0.5), Some(0.6), Some(0.7)],
            share: vec![Some(0.1), Some(0.2), None],
            hist_steps: vec![0, 9],
            samples: vec![vec![Some(-1.0), Some(0.5)], vec![Some(0.2), Some(0.9)]],
            ..Default::default()
        };
        let param = Series {
            name: "W1".into(),
            steps: vec![0, 5, 9],
            grad: vec![Some(0.1); 3],
            ratio: vec![None, Some(-3.0), Some(-2.9)],
            hist_steps: vec![0, 9],
            samples: vec![vec![], vec![]],
            ..Default::default()
        };
        let run = Run {
            loss: (0..10).map(|i| Some(3.0 - 0.1 * i as f64)).collect(),
            lr: vec![Some(0.1); 10],
            layers: vec![layer],
            params: vec![param],
            ..Default::default()
        };
        let page = report_html("t", &run, &run);
        let chart = |id: &str| {
            let at = page.find(&format!("data-chart=\"{id}\"")).unwrap_or_else(|| panic!("no chart {id}"));
            page[at..at + page[at..].find("</svg>").unwrap()].to_string()
        };
        let points = |svg: &str| -> Vec<usize> { svg.split("points=\"").skip(1).map(|p| p[..p.find('"').unwrap()].split_whitespace().count()).collect() };
        assert_eq!(points(&chart("loss")), vec![10, 10, 10], "raw, healthy smoothed, patient smoothed");
        assert_eq!(points(&chart("std-h1")), vec![3, 3]);
        // A missing value (a parameter that did not move) leaves a gap, not a point.
        assert_eq!(points(&chart("share-h1")), vec![2, 2]);
        assert_eq!(points(&chart("ratio-W1")), vec![2, 2]);
        assert_eq!(page.matches("data-hist=\"act-h1\"").count(), 2);
        assert_eq!(page.matches("data-hist=\"grad-W1\"").count(), 2);
        assert!(picture("share.h1", &run, &run).is_some() && picture("ratio.W1", &run, &run).is_some() && picture("hist.nope", &run, &run).is_none());
    }

    #[test]
    fn signs_compare_with_the_healthy_run() {
        let mk = |v: f64| Run { summary: [("m".to_string(), Some(v))].into_iter().collect(), ..Default::default() };
        let (run, healthy) = (mk(3.0), mk(1.0));
        assert!(holds("m > healthy+1.5", &run, &healthy).unwrap());
        assert!(!holds("m > healthy+2.5", &run, &healthy).unwrap());
        assert!(holds("m > healthy*2", &run, &healthy).unwrap());
        assert!(holds("m < 3.5", &run, &healthy).unwrap());
        assert!(!holds("m < healthy-1", &run, &healthy).unwrap());
        assert!(holds("x < 1", &run, &healthy).is_err());
    }
}
