//! `grader drill`: the diagnosis drill. Realistic mistakes, planted one at a time in the
//! reference solutions (in a throwaway copy of the workspace, as `grader mutants` does), each
//! with the text its report must contain: the wrong axis, the missing scale, the first
//! intermediate that differs, the upstream exercise that fails its own check. The share of
//! mistakes whose report names the cause is the measure of the grader's diagnoses; `just test`
//! requires a minimum.
//!
//! The mistakes are in `checks/diagnosis-drill.toml`:
//!
//! ```toml
//! [[drill]]
//! id = "week2.gpt2.attention"          # the exercise whose report must name the cause
//! grade = ["week2.gpt2.attention"]     # the exercises to grade (default: id)
//! file = "solutions/week2/src/gpt2.rs"
//! near = "pub fn forward(&self"        # optional: `from` is looked for after this text
//! from = "…"                           # the reference's text, found exactly once (after `near`)
//! to = "…"                             # the mistake
//! expect = "without the 1/√"           # what the report must say
//! ```

use anyhow::{anyhow, bail, Context};
use serde::Deserialize;
use std::path::Path;
use std::process::Command;

#[derive(Deserialize, Debug, Clone)]
pub struct Mistake {
    pub id: String,
    #[serde(default)]
    pub grade: Vec<String>,
    pub file: String,
    #[serde(default)]
    pub near: Option<String>,
    pub from: String,
    pub to: String,
    pub expect: String,
}

#[derive(Deserialize)]
struct Drill {
    drill: Vec<Mistake>,
}

pub const DRILL: &str = "checks/diagnosis-drill.toml";

pub fn load(root: &Path) -> anyhow::Result<Vec<Mistake>> {
    let path = root.join(DRILL);
    let text = std::fs::read_to_string(&path).with_context(|| path.display().to_string())?;
    Ok(toml::from_str::<Drill>(&text).with_context(|| path.display().to_string())?.drill)
}

/// `src` with the mistake planted: `from` replaced by `to`, where `from` occurs exactly once in
/// code (after `near`, when given; a hint or comment quoting the same text does not count).
pub fn plant(src: &str, m: &Mistake) -> anyhow::Result<String> {
    let base = match &m.near {
        Some(n) => src.find(n.as_str()).ok_or_else(|| anyhow!("{}: {} not found", m.file, n))?,
        None => 0,
    };
    let in_code = |at: usize| {
        let line_start = src[..at].rfind('\n').map(|p| p + 1).unwrap_or(0);
        !src[line_start..at].contains("//")
    };
    let found: Vec<usize> = src[base..].match_indices(m.from.as_str()).map(|(i, _)| base + i).filter(|&i| in_code(i)).collect();
    let at = *found.first().ok_or_else(|| anyhow!("{}: {:?} not found", m.file, m.from))?;
    if m.near.is_none() && found.len() > 1 {
        bail!("{}: {:?} occurs more than once: give `near`", m.file, m.from);
    }
    Ok(format!("{}{}{}", &src[..at], m.to, &src[at + m.from.len()..]))
}

/// Every report text of a grade's JSON for exercise `id`: its detail and its checks' details.
fn report_text(doc: &serde_json::Value, id: &str) -> Option<String> {
    let e = doc["exercises"].as_array()?.iter().find(|e| e["id"] == id)?;
    let mut t = format!("{} {}\n", id, e["status"].as_str().unwrap_or("?"));
    t.push_str(e["detail"].as_str().unwrap_or(""));
    for c in e["checks"].as_array().into_iter().flatten() {
        t.push('\n');
        t.push_str(c["detail"].as_str().unwrap_or(""));
    }
    Some(t)
}

/// Run the drill; the number of mistakes whose report named the cause, and of all.
pub fn run(root: &Path, filter: Option<&str>, show: bool) -> anyhow::Result<(usize, usize)> {
    let all: Vec<Mistake> = load(root)?.into_iter().filter(|m| filter.is_none_or(|f| m.id.contains(f))).collect();
    println!("drill: {} planted mistake(s); copying the workspace to plant them in…", all.len());
    let sandbox = crate::mutants::Sandbox::new(root)?;
    let mut named = 0;
    for (k, m) in all.iter().enumerate() {
        let path = sandbox.dir.join(&m.file);
        let original = std::fs::read_to_string(&path).with_context(|| path.display().to_string())?;
        std::fs::write(&path, plant(&original, m)?)?;
        let week = m.id.split('.').next().unwrap_or("");
        let w = crate::registry::find_week(week).ok_or_else(|| anyhow!("{}: no week {week}", m.id))?;
        let ids = if m.grade.is_empty() { vec![m.id.clone()] } else { m.grade.clone() };
        let text = match crate::launch::build_program(&sandbox.dir, Some(&sandbox.dir.join("target")), w, true) {
            Err(e) => format!("{} does not compile: {e}", m.id),
            Ok(exe) => {
                let out = Command::new(&exe)
                    .args(["grade", week, "--json", "--ids", &ids.join(",")])
                    .current_dir(&sandbox.dir)
                    .env("CANDLECAMP_ROOT", &sandbox.dir)
                    .env("NO_COLOR", "1")
                    .output()
                    .with_context(|| exe.display().to_string())?;
                let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
                report_text(&doc, &m.id).unwrap_or_else(|| format!("no report for {}: {}", m.id, String::from_utf8_lossy(&out.stderr)))
            }
        };
        std::fs::write(&path, &original)?;
        let ok = text.contains(m.expect.as_str());
        named += ok as usize;
        println!("  [{}/{}] {} {}: {}", k + 1, all.len(), if ok { "named" } else { "MISSED" }, m.id, m.to.trim());
        if !ok {
            println!("      expected the report to say: {}", m.expect);
        }
        if !ok || show {
            for line in text.lines().take(8) {
                println!("      | {line}");
            }
        }
    }
    Ok((named, all.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mistake_plants_once_in_the_reference() {
        let root = crate::workspace_root();
        if !root.join("solutions").is_dir() {
            return;
        }
        let all = load(&root).unwrap();
        assert!(all.len() >= 25, "only {} planted mistakes", all.len());
        for m in &all {
            let src = std::fs::read_to_string(root.join(&m.file)).unwrap();
            let planted = plant(&src, m).unwrap_or_else(|e| panic!("{}: {e}", m.id));
            assert_ne!(planted, src, "{}: planting changes nothing", m.id);
            assert!(crate::registry::find_exercise(&m.id).is_some(), "{} is no exercise", m.id);
        }
    }
}
