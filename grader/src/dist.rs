//! `grader dist DIR`: a learner's repository, without the reference solutions.

use crate::cli::Usage;
use anyhow::{bail, Context};
use std::path::Path;
use std::process::Command;

/// Files of the repository (tracked, plus untracked ones git does not ignore), relative paths.
fn repo_files(root: &Path) -> anyhow::Result<Vec<String>> {
    let out = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["ls-files", "-z", "--cached", "--others", "--exclude-standard"])
        .output()
        .context("dist needs git to list the repository's files")?;
    if !out.status.success() {
        bail!("git ls-files failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(String::from_utf8_lossy(&out.stdout).split('\0').filter(|s| !s.is_empty()).map(String::from).collect())
}

/// Whether a repository path belongs in the learner's copy. `fastops/tests/` compares the fused
/// kernels with the formulas the exercises ask for, written in candle's operations: answers.
/// The snapshot of shown solutions is the reference's text (its test skips a learner copy).
pub fn shipped(rel: &str) -> bool {
    !(rel.starts_with("solutions/")
        || rel.starts_with(".ci/")
        || rel.starts_with("target/")
        || rel.starts_with("fastops/tests/")
        || rel == "grader/tests/snapshots/snapshots__shown_solutions.snap")
}

/// Write the learner's copy into `dir`. A `dir` that is not empty (without `force`) or that lies
/// inside this repository is a [`Usage`] error; everything else that fails is an I/O failure.
pub fn run(dir: &Path, force: bool, with_solutions: bool) -> anyhow::Result<usize> {
    let root = crate::root().canonicalize().with_context(|| crate::root().display().to_string())?;
    if dir.exists() && std::fs::read_dir(dir).with_context(|| dir.display().to_string())?.next().is_some() && !force {
        return Err(Usage(format!("{} is not empty; pass --force to write into it anyway", dir.display())).into());
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    if dir.canonicalize().with_context(|| dir.display().to_string())?.starts_with(&root) {
        return Err(Usage("the learner copy must go outside this repository".into()).into());
    }
    let mut n = 0;
    for rel in repo_files(&root)?.into_iter().filter(|r| shipped(r)) {
        let from = root.join(&rel);
        if !from.is_file() {
            continue; // deleted in the work tree but still tracked
        }
        let to = dir.join(&rel);
        let parent = to.parent().unwrap_or(dir);
        std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
        if rel == "Cargo.toml" {
            let text = std::fs::read_to_string(&from).with_context(|| format!("cannot read {rel}"))?;
            std::fs::write(&to, learner_manifest(&text)?).with_context(|| format!("cannot write {}", to.display()))?;
        } else {
            std::fs::copy(&from, &to).with_context(|| format!("cannot copy {rel} to {}", to.display()))?;
        }
        n += 1;
    }
    // The pristine stubs, for `grader reset` (the copy has no solutions/ to generate them from).
    // A copy of a learner copy has none to generate either: its .candlecamp/stubs was copied above.
    let generated = if root.join("solutions").is_dir() { crate::stubs::generate(&root)? } else { Vec::new() };
    for (_, stub, text) in generated {
        let rel = stub.strip_prefix(root.join("weeks")).with_context(|| format!("{} is not under weeks/", stub.display()))?;
        let to = dir.join(crate::reset::STUBS_DIR).join(rel);
        let parent = to.parent().unwrap_or(dir);
        std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
        std::fs::write(&to, text).with_context(|| format!("cannot write {}", to.display()))?;
        n += 1;
    }
    // The reference solutions, compressed into the grader the copy builds (`grader solution`);
    // empty for --no-solutions. A copy of a copy keeps what its grader carried.
    let bundle = dir.join("grader/solutions.bin");
    if root.join("solutions").is_dir() {
        let bytes = if with_solutions { crate::bundle::build(&root)? } else { Vec::new() };
        std::fs::write(&bundle, bytes).with_context(|| format!("cannot write {}", bundle.display()))?;
    } else if !with_solutions {
        std::fs::write(&bundle, b"").with_context(|| format!("cannot write {}", bundle.display()))?;
    }
    Ok(n)
}

/// The workspace manifest without the `solutions/*` members (Cargo rejects a glob that matches
/// nothing).
pub fn learner_manifest(text: &str) -> anyhow::Result<String> {
    let mut found = false;
    let out: Vec<String> = text
        .lines()
        .map(|line| {
            if line.trim_start().starts_with("members") && line.contains("\"solutions/*\"") {
                found = true;
                line.replace(", \"solutions/*\"", "").replace("\"solutions/*\", ", "").replace("\"solutions/*\"", "")
            } else {
                line.to_string()
            }
        })
        .collect();
    if !found {
        bail!("Cargo.toml: no `members = [..., \"solutions/*\"]` line to rewrite for the learner copy");
    }
    Ok(out.join("\n") + "\n")
}

/// A solution region (`// BEGIN SOLUTION` … `// END SOLUTION`) and its distinctive lines.
#[derive(Debug, Clone)]
pub struct Region {
    /// `solutions/week1/src/arrays.rs:120`
    pub origin: String,
    pub lines: Vec<String>,
}

/// Every solution region of `solutions/**/*.rs` (plain and `ONLY`) with its distinctive lines:
/// code, not comments, at least `min_len` characters once trimmed (shorter ones, like
/// `Ok(out)`, are everywhere).
pub fn solution_regions(root: &Path, min_len: usize) -> anyhow::Result<Vec<Region>> {
    let mut out = Vec::new();
    let mut files = Vec::new();
    fn walk(d: &Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    walk(&root.join("solutions"), &mut files);
    files.sort();
    let texts = files.iter().map(|f| std::fs::read_to_string(f).map(|t| (f, t)).with_context(|| format!("{}", f.display()))).collect::<Result<Vec<_>, _>>()?;
    // Lines that the solutions also have outside their solution regions are given code, which
    // the stubs ship anyway: not distinctive (a helper's `Tensor::from_vec(v, shape, dev)`).
    let mut given = std::collections::HashSet::new();
    for (_, text) in &texts {
        let mut inside = false;
        for line in text.lines() {
            let t = line.trim();
            if t.starts_with("// BEGIN SOLUTION") {
                inside = true;
            } else if t == "// END SOLUTION" {
                inside = false;
            } else if !inside {
                given.insert(t.to_string());
            }
        }
    }
    for (f, text) in texts {
        let rel = f.strip_prefix(root).unwrap_or(f).display().to_string();
        let mut current: Option<Region> = None;
        for (n, line) in text.lines().enumerate() {
            let t = line.trim();
            if t.starts_with("// BEGIN SOLUTION") {
                current = Some(Region { origin: format!("{rel}:{}", n + 1), lines: Vec::new() });
            } else if t == "// END SOLUTION" {
                out.extend(current.take().filter(|r| !r.lines.is_empty()));
            } else if let Some(r) = current.as_mut() {
                // A progress report is what every long target's doc comment asks for, not an answer.
                let boilerplate = t.starts_with("candlecamp::");
                if t.len() >= min_len && !t.starts_with("//") && !boilerplate && !given.contains(t) && !r.lines.iter().any(|l| l == t) {
                    r.lines.push(t.to_string());
                }
            }
        }
    }
    Ok(out)
}

/// Solution regions found in text files under `copy`: (file, region origin, lines found).
/// A region counts as found in a file holding two or more of its distinctive lines (a single
/// line such as `let grads = loss.backward()?;` is an idiom the grader may share), or its only
/// line when it has just one.
pub fn leaks(copy: &Path, regions: &[Region]) -> Vec<(String, String, Vec<String>)> {
    let mut found = Vec::new();
    fn walk(d: &Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                // fastops/ is the course's ops library: off the CPU each op runs the candle
                // operations it equals, which its book page states (a layer norm's among them).
                // Learners use an op only after the exercise that teaches it, whose checks
                // forbid it there.
                if p.file_name().is_some_and(|n| n != "target" && n != ".git" && n != "fastops") {
                    walk(&p, out);
                }
            } else {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    walk(copy, &mut files);
    files.sort();
    for f in files {
        let Ok(text) = std::fs::read_to_string(&f) else { continue }; // binary files
        let have: std::collections::HashSet<&str> = text.lines().map(str::trim).collect();
        for r in regions {
            let hits: Vec<String> = r.lines.iter().filter(|l| have.contains(l.as_str())).cloned().collect();
            if hits.len() >= 2.min(r.lines.len()) && !hits.is_empty() {
                found.push((f.strip_prefix(copy).unwrap_or(&f).display().to_string(), r.origin.clone(), hits));
            }
        }
    }
    found
}
#[cfg(test)]
mod tests {
    #[test]
    fn learner_manifest_drops_solutions() {
        let m = super::learner_manifest("[workspace]\nmembers = [\"grader\", \"weeks/*\", \"solutions/*\"]\n").unwrap();
        assert_eq!(m, "[workspace]\nmembers = [\"grader\", \"weeks/*\"]\n");
    }

    #[test]
    fn solutions_stay_home() {
        assert!(!super::shipped("solutions/week1/src/arrays.rs"));
        assert!(super::shipped("weeks/week1/src/arrays.rs"));
        assert!(super::shipped("grader/src/subject.rs"));
    }
}
