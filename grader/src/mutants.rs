//! `grader mutants [WEEK] [FILTER]`: are the checks strict enough to reject near-misses?
//!
//! Each mutant changes one thing inside a solution region of `solutions/` (an operator, a
//! comparison, a method for its opposite, an axis, an integer or float literal), in a copy of
//! the workspace; the week's checks program is rebuilt there in reference mode (incrementally:
//! about a second) and the exercises of the mutated file are graded. A mutant is *killed* when
//! one of them no longer passes, *unviable* when it does not compile, and *survives* otherwise.
//! Survivors are printed with file:line and the mutation; a survivor that is truly equivalent
//! (no input could tell it from the original) is listed, with one line of reasoning, in
//! `checks/equivalent-mutants.txt` and skipped. Everything else must be killed.

use crate::registry::Week;
use anyhow::{anyhow, bail, Context};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// The list of equivalent mutants, relative to the repository root.
pub const EQUIVALENT: &str = "checks/equivalent-mutants.txt";

/// One mutation at one place.
#[derive(Clone, Debug, PartialEq)]
pub struct Mutant {
    pub week: &'static str,
    /// The solution file, relative to the repository root.
    pub file: String,
    pub line: usize,
    /// Byte offset of the change in the file.
    pub at: usize,
    pub from: String,
    pub to: String,
    /// The original line, trimmed (what the equivalents list matches on, so that line numbers
    /// may move).
    pub text: String,
    /// The exercise whose code holds the change, when one does (found as `reset` finds it).
    pub exercise: Option<String>,
    /// That exercise runs only with `--long` (a training recipe): the default grade cannot
    /// judge this mutant.
    pub long: bool,
}

impl Mutant {
    pub fn describe(&self) -> String {
        format!("{}:{}: `{}` → `{}` in `{}`", self.file, self.line, self.from.trim(), self.to.trim(), self.text)
    }
    /// The key of this mutant in the equivalents list.
    fn key(&self) -> String {
        format!("{} | {} | {} → {}", self.file, self.text, self.from.trim(), self.to.trim())
    }
}

/// The comment that marks a solution region as code only long targets run.
pub const LONG_ONLY: &str = "// mutants: long targets only";

/// Replacements tried at every code position of a solution region: (from, to).
const SWAPS: &[(&str, &str)] = &[
    (" + ", " - "),
    (" - ", " + "),
    (" * ", " / "),
    (" / ", " * "),
    (" < ", " <= "),
    (" <= ", " < "),
    (" > ", " >= "),
    (" >= ", " > "),
    (" == ", " != "),
    (" != ", " == "),
    (" && ", " || "),
    (" || ", " && "),
    ("broadcast_add(", "broadcast_sub("),
    ("broadcast_sub(", "broadcast_add("),
    ("broadcast_mul(", "broadcast_div("),
    ("broadcast_div(", "broadcast_mul("),
    (".max(", ".min("),
    (".min(", ".max("),
    ("max_keepdim(", "min_keepdim("),
    ("min_keepdim(", "max_keepdim("),
    ("D::Minus1", "D::Minus2"),
    ("D::Minus2", "D::Minus1"),
    (".sqrt()", ".sqr()"),
    (".sqr()", ".sqrt()"),
    (".lt(", ".le("),
    (".gt(", ".ge("),
    (".ge(", ".gt("),
    (".le(", ".lt("),
];

/// Whether byte `at` of `line` is inside the arguments of a `with_capacity(` call.
fn in_capacity(line: &str, at: usize) -> bool {
    let Some(open) = line[..at].rfind("with_capacity(") else { return false };
    let mut depth = 0i32;
    for c in line[open + "with_capacity".len()..at].chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            _ => {}
        }
    }
    depth > 0
}

/// Every mutant of one solution file (its text `src`, path `file` relative to the root).
pub fn of_file(week: &'static str, file: &str, src: &str) -> Vec<Mutant> {
    let mask = crate::source::code_mask(src);
    let code = |from: usize, to: usize| mask[from..to.min(mask.len())].iter().all(|&m| m);
    let mut out = Vec::new();
    let mut offset = 0;
    let mut in_region = false;
    // A helper region marked `// mutants: long targets only` is code that only a long training
    // target runs (the default grade cannot judge it; `--long` does).
    let mut region_long = false;
    for (n, line) in src.split_inclusive('\n').enumerate() {
        let t = line.trim();
        let start = offset;
        offset += line.len();
        if let Some(crate::regions::Marker::Begin { .. }) = crate::regions::marker(t) {
            in_region = true;
            continue;
        }
        if crate::regions::marker(t) == Some(crate::regions::Marker::End) {
            in_region = false;
            region_long = false;
            continue;
        }
        if in_region && t == LONG_ONLY {
            region_long = true;
            continue;
        }
        if !in_region || t.is_empty() || t.starts_with("//") || t.starts_with("use ") || t.starts_with("#[") {
            continue;
        }
        let mut push = |at: usize, from: &str, to: String| {
            // A capacity is a hint to the allocator: no output can depend on it.
            if in_capacity(line, at - start) {
                return;
            }
            out.push(Mutant {
                week,
                file: file.to_string(),
                line: n + 1,
                at,
                from: from.to_string(),
                to,
                text: t.to_string(),
                exercise: None,
                long: region_long,
            });
        };
        for (from, to) in SWAPS {
            let mut k = 0;
            while let Some(i) = line[k..].find(from) {
                let at = start + k + i;
                if code(at, at + from.len()) {
                    push(at, from, to.to_string());
                }
                k += i + from.len();
            }
        }
        // Numeric literals: an integer n becomes n + 1, a float x becomes 2x (0.0 becomes 1.0).
        let b = line.as_bytes();
        let mut i = 0;
        while i < b.len() {
            let starts = b[i].is_ascii_digit() && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_' || b[i - 1] == b'.'));
            if !starts {
                i += 1;
                continue;
            }
            let mut j = i;
            while j < b.len()
                && (b[j].is_ascii_alphanumeric()
                    || b[j] == b'_'
                    || (b[j] == b'.' && j + 1 < b.len() && b[j + 1].is_ascii_digit())
                    || ((b[j] == b'-' || b[j] == b'+') && j > i && (b[j - 1] == b'e' || b[j - 1] == b'E')))
            {
                j += 1;
            }
            let lit = &line[i..j];
            let at = start + i;
            if code(at, start + j) {
                let (digits, suffix) = split_suffix(lit);
                if digits.contains(['.', 'e', 'E']) {
                    if let Ok(x) = digits.parse::<f64>() {
                        push(at, lit, format!("{:?}{suffix}", if x == 0.0 { 1.0 } else { x * 2.0 }));
                    }
                } else if let Ok(v) = digits.replace('_', "").parse::<u64>() {
                    push(at, lit, format!("{}{suffix}", v + 1));
                }
            }
            i = j;
        }
    }
    out
}

/// `1e-5f32` → (`1e-5`, `f32`), `3usize` → (`3`, `usize`).
fn split_suffix(lit: &str) -> (&str, &str) {
    for s in ["f32", "f64", "usize", "isize", "u8", "u16", "u32", "u64", "i8", "i16", "i32", "i64"] {
        if let Some(d) = lit.strip_suffix(s) {
            return (d.trim_end_matches('_'), s);
        }
    }
    (lit, "")
}

/// Every mutant of every solution file of `week`.
pub fn of_week(root: &Path, week: &'static Week) -> anyhow::Result<Vec<Mutant>> {
    let dir = root.join("solutions").join(week.dir).join("src");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .with_context(|| format!("{}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let src = std::fs::read_to_string(&f).with_context(|| format!("{}", f.display()))?;
        let rel = f.strip_prefix(root).unwrap_or(&f).display().to_string();
        let short = rel.trim_start_matches(&format!("solutions/{}/", week.dir)).to_string();
        let mine: Vec<crate::registry::Exercise> = week.exercises().into_iter().filter(|e| e.file == short).collect();
        let names: Vec<(&str, Option<&str>)> = mine.iter().map(|e| (e.id.rsplit('.').next().unwrap_or(""), e.function)).collect();
        for mut m in of_file(week.name, &rel, &src) {
            if let Some(k) = crate::reset::exercise_at(&src, &names, m.at) {
                m.exercise = Some(mine[k].id.to_string());
                m.long = m.long || mine[k].long || mine[k].pretrained;
            }
            out.push(m);
        }
    }
    Ok(out)
}

/// The equivalents list: key → reason.
pub fn equivalents(root: &Path) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(root.join(EQUIVALENT)).unwrap_or_default();
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let (key, reason) = l.rsplit_once(" # ")?;
            Some((key.trim().to_string(), reason.trim().to_string()))
        })
        .collect()
}

pub enum Outcome {
    Killed(String),
    Survived,
    Unviable,
}

/// A throwaway copy of the workspace (the files git tracks or would track, `data/`, and our
/// dependency builds), where mutants are written and built.
pub struct Sandbox {
    pub dir: PathBuf,
}

impl Sandbox {
    pub fn new(root: &Path) -> anyhow::Result<Sandbox> {
        let dir = std::env::temp_dir().join(format!("candlecamp-mutants-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).with_context(|| format!("{}", dir.display()))?;
        let ls = Command::new("git").args(["ls-files", "-co", "--exclude-standard", "-z"]).current_dir(root).output().context("git ls-files")?;
        for rel in ls.stdout.split(|&b| b == 0).filter(|r| !r.is_empty()) {
            let rel = String::from_utf8_lossy(rel).into_owned();
            let (from, to) = (root.join(&rel), dir.join(&rel));
            if from.is_file() {
                std::fs::create_dir_all(to.parent().unwrap())?;
                std::fs::copy(&from, &to).with_context(|| format!("cannot copy {rel}"))?;
            }
        }
        // Data and the dependency builds: `cp -a` keeps the timestamps cargo compares.
        for (what, to) in [("data", dir.clone()), ("target/debug", dir.join("target"))] {
            if root.join(what).is_dir() {
                std::fs::create_dir_all(&to)?;
                let st = Command::new("cp").arg("-a").arg(root.join(what)).arg(&to).status().context("cp")?;
                if !st.success() {
                    bail!("cp -a {what} failed");
                }
            }
        }
        Ok(Sandbox { dir })
    }

    /// Write the mutant, build, grade the exercises of its file, put the file back.
    pub fn try_mutant(&self, m: &Mutant, ids: &[String]) -> anyhow::Result<Outcome> {
        let path = self.dir.join(&m.file);
        let original = std::fs::read_to_string(&path).with_context(|| format!("{}", path.display()))?;
        let mut mutated = original.clone();
        mutated.replace_range(m.at..m.at + m.from.len(), &m.to);
        std::fs::write(&path, &mutated)?;
        let result = self.grade(m.week, ids);
        std::fs::write(&path, &original)?;
        result
    }

    fn grade(&self, week: &'static str, ids: &[String]) -> anyhow::Result<Outcome> {
        let w = crate::registry::find_week(week).context("unknown week")?;
        let exe = match crate::launch::build_program(&self.dir, Some(&self.dir.join("target")), w, true) {
            Ok(exe) => exe,
            Err(crate::launch::BuildError::DoesNotCompile(_)) => return Ok(Outcome::Unviable),
            Err(crate::launch::BuildError::Failed(m)) => bail!(m),
        };
        let out = Command::new(&exe)
            .args(["grade", week, "--json", "--long", "--ids", &ids.join(",")])
            .current_dir(&self.dir)
            .env("CANDLECAMP_ROOT", &self.dir)
            .env("NO_COLOR", "1")
            .output()
            .with_context(|| format!("{}", exe.display()))?;
        let doc: serde_json::Value =
            serde_json::from_slice(&out.stdout).map_err(|e| anyhow!("the grade printed no report ({e}): {}", String::from_utf8_lossy(&out.stderr)))?;
        let failing: Vec<String> = doc["exercises"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|e| e["status"] != "passed")
            .map(|e| format!("{} {}", e["id"].as_str().unwrap_or("?"), e["status"].as_str().unwrap_or("?")))
            .collect();
        Ok(if failing.is_empty() { Outcome::Survived } else { Outcome::Killed(failing.join(", ")) })
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `grader mutants`: run the selected mutants and print what survived. The number of survivors
/// (not in the equivalents list) and the share of viable mutants killed, in percent.
pub fn run(week: Option<&str>, filter: Option<&str>, sample: Option<usize>, seed: u64, list: bool, long: bool) -> anyhow::Result<(usize, f64)> {
    let root = crate::workspace_root();
    if !root.join("solutions").is_dir() {
        bail!("mutants mutate the reference solutions: there is no solutions/ here (a learner's copy)");
    }
    let weeks: Vec<&'static Week> = crate::registry::weeks().iter().filter(|w| !w.hidden && week.is_none_or(|n| n == w.name)).collect();
    if weeks.is_empty() {
        return Err(crate::cli::Usage(format!("there is no week {:?}", week.unwrap_or(""))).into());
    }
    let equivalent = equivalents(&root);
    let mut all = Vec::new();
    for w in &weeks {
        all.extend(of_week(&root, w)?.into_iter().filter(|m| filter.is_none_or(|f| m.file.contains(f) || m.text.contains(f))));
    }
    // The sample is drawn from every mutant, so that listing an equivalent one does not change
    // which others a seed picks; the equivalent and the long-target ones drawn are then skipped.
    if let Some(n) = sample {
        all.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(seed));
        all.truncate(n);
        all.sort_by(|a, b| (&a.file, a.at).cmp(&(&b.file, b.at)));
    }
    let (skipped, todo): (Vec<Mutant>, Vec<Mutant>) = all.into_iter().partition(|m| equivalent.contains_key(&m.key()));
    // Code that only a long target runs (a training recipe) is judged only with --long.
    let (in_long, todo): (Vec<Mutant>, Vec<Mutant>) = todo.into_iter().partition(|m| m.long && !long);
    println!(
        "mutants: {} to run{}, {} listed as equivalent in {EQUIVALENT}, {} in long targets' code (run with --long)",
        todo.len(),
        sample.map(|n| format!(" (a sample of {n}, seed {seed})")).unwrap_or_default(),
        skipped.len(),
        in_long.len()
    );
    if list {
        for m in &todo {
            println!("  {}", m.describe());
        }
        return Ok((0, 100.0));
    }
    println!("mutants: copying the workspace to build mutants in…");
    let sandbox = Sandbox::new(&root)?;
    let start = Instant::now();
    // Per week: (run, killed, unviable, survivors)
    let mut tally: BTreeMap<&str, (usize, usize, usize, Vec<String>)> = BTreeMap::new();
    for (k, m) in todo.iter().enumerate() {
        let w = crate::registry::find_week(m.week).expect("a registered week");
        let file = m.file.trim_start_matches(&format!("solutions/{}/", w.dir)).to_string();
        let ids: Vec<String> = w.exercises().iter().filter(|e| e.file == file && (long || !e.long) && !e.pretrained).map(|e| e.id.to_string()).collect();
        let t = tally.entry(m.week).or_default();
        if ids.is_empty() {
            continue;
        }
        t.0 += 1;
        let outcome = sandbox.try_mutant(m, &ids)?;
        let what = match outcome {
            Outcome::Killed(by) => {
                t.1 += 1;
                format!("killed ({by})")
            }
            Outcome::Unviable => {
                t.2 += 1;
                "unviable (does not compile)".to_string()
            }
            Outcome::Survived => {
                t.3.push(m.describe());
                "SURVIVED".to_string()
            }
        };
        println!("  [{}/{}] {} {what}", k + 1, todo.len(), m.describe());
    }
    println!();
    let (mut survivors, mut all_killed, mut all_viable) = (0, 0, 0);
    for (week, (run, killed, unviable, surv)) in &tally {
        all_killed += killed;
        all_viable += run - unviable;
        let viable = run - unviable;
        let rate = if viable > 0 { 100.0 * *killed as f64 / viable as f64 } else { 100.0 };
        println!("mutants: {week}: {killed} of {viable} viable mutants killed ({rate:.1} %), {unviable} unviable, {} survived", surv.len());
        for s in surv {
            println!("    survived: {s}");
        }
        survivors += surv.len();
    }
    let rate = if all_viable > 0 { 100.0 * all_killed as f64 / all_viable as f64 } else { 100.0 };
    println!(
        "mutants: {all_killed} of {all_viable} killed ({rate:.1} %) in {:.0}s; survivors that are truly equivalent go into {EQUIVALENT} with a reason, the others need a stricter check",
        start.elapsed().as_secs_f64()
    );
    Ok((survivors, rate))
}

#[cfg(test)]
mod tests {
    /// Capacities are not mutated (no output depends on them); what follows the call is.
    #[test]
    fn capacities_are_left_alone() {
        let src = "fn f(b: usize, t: usize) -> Vec<usize> {\n    // BEGIN SOLUTION\n    let mut v = Vec::with_capacity(b * t);\n    v.push(b * t);\n    v\n    // END SOLUTION\n}\n";
        let ms = of_file("week1", "x.rs", src);
        assert!(ms.iter().all(|m| m.line == 4), "{:?}", ms.iter().map(|m| m.describe()).collect::<Vec<_>>());
        assert!(ms.iter().any(|m| m.from.trim() == "*"));
    }

    use super::*;

    #[test]
    fn mutants_are_made_only_in_solution_code() {
        let src = "fn given() { a + b }\n// BEGIN SOLUTION\nlet x = a + 2; // a + b\nlet s = \"a + b\";\nlet y = x.broadcast_sub(&m)?.sum_keepdim(D::Minus1)?;\nlet z = 1e-5f32 * w;\n// END SOLUTION\n";
        let ms = of_file("week1", "s.rs", src);
        let shown: Vec<String> = ms.iter().map(|m| format!("{}:{}→{}", m.line, m.from.trim(), m.to.trim())).collect();
        assert_eq!(shown, ["3:+→-", "3:2→3", "5:broadcast_sub(→broadcast_add(", "5:D::Minus1→D::Minus2", "6:*→/", "6:1e-5f32→2e-5f32"], "{shown:?}");
        // The change lands where it says.
        let m = &ms[0];
        let mut t = src.to_string();
        t.replace_range(m.at..m.at + m.from.len(), &m.to);
        assert!(t.contains("let x = a - 2; // a + b"), "{t}");
    }
}
