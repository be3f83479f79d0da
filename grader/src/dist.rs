//! `grader dist DIR`: a learner's repository, without the reference solutions.

use std::path::Path;
use std::process::Command;

/// Files of the repository (tracked, plus untracked ones git does not ignore), relative paths.
fn repo_files(root: &Path) -> Result<Vec<String>, String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["ls-files", "-z", "--cached", "--others", "--exclude-standard"])
        .output()
        .map_err(|e| format!("dist needs git to list the repository's files: {e}"))?;
    if !out.status.success() {
        return Err(format!("git ls-files failed: {}", String::from_utf8_lossy(&out.stderr)));
    }
    Ok(String::from_utf8_lossy(&out.stdout).split('\0').filter(|s| !s.is_empty()).map(String::from).collect())
}

/// Whether a repository path belongs in the learner's copy.
pub fn shipped(rel: &str) -> bool {
    !(rel.starts_with("solutions/") || rel.starts_with(".ci/") || rel.starts_with("target/"))
}

pub fn run(dir: &Path, force: bool) -> Result<usize, String> {
    let root = crate::root().canonicalize().map_err(|e| e.to_string())?;
    if dir.exists() && std::fs::read_dir(dir).map_err(|e| e.to_string())?.next().is_some() && !force {
        return Err(format!("{} is not empty; pass --force to write into it anyway", dir.display()));
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    if dir.canonicalize().map_err(|e| e.to_string())?.starts_with(&root) {
        return Err("the learner copy must go outside this repository".into());
    }
    let mut n = 0;
    for rel in repo_files(&root)?.into_iter().filter(|r| shipped(r)) {
        let from = root.join(&rel);
        if !from.is_file() {
            continue; // deleted in the work tree but still tracked
        }
        let to = dir.join(&rel);
        std::fs::create_dir_all(to.parent().unwrap()).map_err(|e| e.to_string())?;
        if rel == "Cargo.toml" {
            let text = std::fs::read_to_string(&from).map_err(|e| format!("{rel}: {e}"))?;
            std::fs::write(&to, learner_manifest(&text)?).map_err(|e| format!("{rel}: {e}"))?;
        } else {
            std::fs::copy(&from, &to).map_err(|e| format!("{rel}: {e}"))?;
        }
        n += 1;
    }
    Ok(n)
}

/// The workspace manifest without the `solutions/*` members (Cargo rejects a glob that matches
/// nothing).
pub fn learner_manifest(text: &str) -> Result<String, String> {
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
        return Err("Cargo.toml: no `members = [..., \"solutions/*\"]` line to rewrite for the learner copy".into());
    }
    Ok(out.join("\n") + "\n")
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
