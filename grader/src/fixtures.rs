//! Fixture files and their manifest.
//!
//! `fixtures/MANIFEST` has one line per fixture file: `<sha256>  <path under fixtures/>  <script>`,
//! written by `fixtures/gen/run_all.py`. The grader refuses a fixture whose hash differs, and says
//! how to remake it.

use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub const REMAKE: &str = "remake the fixtures with `just fixtures` (PyTorch in a local venv), or restore them with `git checkout fixtures/`";

/// Why a fixture cannot be used. Never the learner's fault: a check reports it as `error`
/// with the way to remake the fixtures.
#[derive(Debug, thiserror::Error)]
pub enum FixtureError {
    #[error("cannot read {}: {cause}; {REMAKE}", path.display())]
    Manifest { path: PathBuf, cause: std::io::Error },
    #[error("fixtures/MANIFEST line {line}: expected `sha256 path script`, found {text:?}")]
    ManifestLine { line: usize, text: String },
    #[error("fixture {rel} is not listed in fixtures/MANIFEST; {REMAKE}")]
    NotListed { rel: String },
    #[error("fixture fixtures/{rel} is missing ({cause}); it is made by {script}; {REMAKE}")]
    Missing { rel: String, script: String, cause: std::io::Error },
    #[error("fixture fixtures/{rel} is corrupted or stale (sha256 {sha}, MANIFEST says {want}); it is made by {script}; {REMAKE}")]
    Stale { rel: String, sha: String, want: String, script: String },
}

pub struct Entry {
    pub sha256: String,
    pub script: String,
}

pub fn dir() -> PathBuf {
    crate::root().join("fixtures")
}

pub fn manifest() -> Result<BTreeMap<String, Entry>, FixtureError> {
    let path = dir().join("MANIFEST");
    let text = std::fs::read_to_string(&path).map_err(|cause| FixtureError::Manifest { path: path.clone(), cause })?;
    let mut out = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let parts: Vec<&str> = line.split_whitespace().collect();
        let [sha, rel, script] = parts[..] else {
            return Err(FixtureError::ManifestLine { line: n + 1, text: line.to_string() });
        };
        out.insert(rel.to_string(), Entry { sha256: sha.to_string(), script: script.to_string() });
    }
    Ok(out)
}

pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    let bytes = std::fs::read(path)?;
    Ok(format!("{:x}", Sha256::digest(&bytes)))
}

/// The path of fixture `rel` after checking it is listed in the manifest and its bytes match.
pub fn verified_path(rel: &str) -> Result<PathBuf, FixtureError> {
    let m = manifest()?;
    let entry = m.get(rel).ok_or_else(|| FixtureError::NotListed { rel: rel.to_string() })?;
    let path = dir().join(rel);
    let sha = sha256_file(&path).map_err(|cause| FixtureError::Missing { rel: rel.to_string(), script: entry.script.clone(), cause })?;
    if sha != entry.sha256 {
        return Err(FixtureError::Stale { rel: rel.to_string(), sha, want: entry.sha256.clone(), script: entry.script.clone() });
    }
    Ok(path)
}

/// Every problem with the fixture tree: missing, mismatched or unlisted files, missing scripts.
pub fn check_all() -> Result<(usize, u64, Vec<String>), FixtureError> {
    let m = manifest()?;
    let mut problems = Vec::new();
    let mut bytes = 0u64;
    for (rel, e) in &m {
        let path = dir().join(rel);
        match sha256_file(&path) {
            Err(err) => problems.push(format!("{rel}: missing ({err})")),
            Ok(sha) if sha != e.sha256 => problems.push(format!("{rel}: sha256 {sha} but MANIFEST says {}", e.sha256)),
            Ok(_) => bytes += std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0),
        }
        if !dir().join("gen").join(&e.script).is_file() {
            problems.push(format!("{rel}: its script fixtures/gen/{} does not exist", e.script));
        }
    }
    let mut files = Vec::new();
    walk(&dir(), &mut files);
    for f in files {
        let rel = f.strip_prefix(dir()).unwrap().to_string_lossy().replace('\\', "/");
        if rel.starts_with("gen/") || rel == "MANIFEST" || rel.ends_with(".md") {
            continue;
        }
        if !m.contains_key(&rel) {
            problems.push(format!("{rel}: not listed in MANIFEST (every fixture must be made by a script in fixtures/gen)"));
        }
    }
    Ok((m.len(), bytes, problems))
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            let name = e.file_name();
            if name != "gen" && name != ".venv" && name != "__pycache__" {
                walk(&p, out);
            }
        } else {
            out.push(p);
        }
    }
}
