//! The learner's stubs are generated from the reference solutions, so the two cannot drift.
//!
//! Markers in `solutions/weekN/src/**/*.rs` (each alone on its line):
//! - `// BEGIN SOLUTION` … `// END SOLUTION`: the lines between become one `todo!()` at the
//!   marker's indentation (a function body's solution).
//! - `// BEGIN SOLUTION ONLY` … `// END SOLUTION`: the lines between disappear (helpers,
//!   imports and tests that only the solution needs).
//! - `// STUB: text`: the line becomes `text` in the stub (e.g. an `#![allow(...)]`).
//! - Either BEGIN marker may name the region's exercise, `// BEGIN SOLUTION(cached_model)`,
//!   when it is not the one the code around it belongs to (see `regions`).
//!
//! Everything else is copied, so doc comments and signatures are written once.

use anyhow::{bail, Context};
use std::path::{Path, PathBuf};

pub fn transform(src: &str, origin: &str) -> anyhow::Result<String> {
    let mut out = String::new();
    let mut region: Option<(usize, bool, String)> = None; // (start line, keep a todo, indent)
    let mut drop_blank = false; // a removed region leaves no double blank line behind
    for (n, line) in src.lines().enumerate() {
        let t = line.trim();
        let indent = &line[..line.len() - line.trim_start().len()];
        match (crate::regions::marker(line), &region) {
            (Some(crate::regions::Marker::Begin { .. }), Some((start, _, _))) => {
                bail!("{origin}:{}: nested BEGIN SOLUTION (the region opened on line {} is not closed)", n + 1, start + 1);
            }
            (Some(crate::regions::Marker::Begin { only, .. }), None) => region = Some((n, !only, indent.to_string())),
            (Some(crate::regions::Marker::End), None) => bail!("{origin}:{}: END SOLUTION without BEGIN", n + 1),
            (Some(crate::regions::Marker::End), Some((_, keep, ind))) => {
                if *keep {
                    out.push_str(ind);
                    out.push_str("todo!()\n");
                } else {
                    drop_blank = out.ends_with("\n\n") || out.is_empty();
                }
                region = None;
            }
            (_, Some(_)) => {}
            (_, None) => {
                if std::mem::take(&mut drop_blank) && t.is_empty() {
                    continue;
                }
                if crate::hints::is_marker(line) {
                    // Hints reach the learner through `grader hint`, one level at a time.
                    continue;
                }
                if let Some(rest) = t.strip_prefix("// STUB: ") {
                    out.push_str(indent);
                    out.push_str(rest);
                } else {
                    out.push_str(line);
                }
                out.push('\n');
            }
        }
    }
    if let Some((start, _, _)) = region {
        bail!("{origin}:{}: BEGIN SOLUTION is never closed", start + 1);
    }
    Ok(rustfmt_clean(&out))
}

/// What rustfmt would make of the two shapes a removed region leaves behind (the house style is
/// checked with `cargo fmt --check` on the stubs too): a type whose fields were all
/// solution-only (`struct S {` + `}` → `struct S {}`), blank lines left before a closing brace,
/// and blank lines at the end of the file.
fn rustfmt_clean(s: &str) -> String {
    let lines: Vec<&str> = s.lines().collect();
    let mut out: Vec<String> = Vec::with_capacity(lines.len());
    let mut i = 0;
    while i < lines.len() {
        let (l, next) = (lines[i], lines.get(i + 1).map(|n| n.trim()));
        if l.trim_end().ends_with('{') && next == Some("}") && (l.contains("struct ") || l.contains("enum ")) {
            out.push(format!("{}}}", l.trim_end()));
            i += 2;
            continue;
        }
        if l.trim_start().starts_with('}') {
            while out.last().is_some_and(|p| p.trim().is_empty()) {
                out.pop();
            }
        }
        out.push(l.to_string());
        i += 1;
    }
    while out.last().is_some_and(|l| l.trim().is_empty()) {
        out.pop();
    }
    out.join("\n") + "\n"
}

/// (solution file, stub file, generated text) for every source file of every solution crate.
pub(crate) fn generate(root: &Path) -> anyhow::Result<Vec<(PathBuf, PathBuf, String)>> {
    let sol = root.join("solutions");
    if !sol.is_dir() {
        bail!("solutions/ is not here: this is a learner copy, and the stubs in weeks/ are yours to edit");
    }
    let mut out = Vec::new();
    let mut weeks: Vec<PathBuf> = std::fs::read_dir(&sol)?.flatten().map(|e| e.path()).filter(|p| p.is_dir()).collect();
    weeks.sort();
    for week in weeks {
        let name = week.file_name().unwrap().to_owned();
        let mut files = Vec::new();
        collect_rs(&week.join("src"), &mut files);
        files.sort();
        for f in files {
            let rel = f.strip_prefix(&week).unwrap().to_path_buf();
            let text = std::fs::read_to_string(&f).with_context(|| format!("{}", f.display()))?;
            let stub = transform(&text, &f.display().to_string())?;
            out.push((f, root.join("weeks").join(&name).join(rel), stub));
        }
    }
    Ok(out)
}

fn collect_rs(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            collect_rs(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// `grader stubs`: write the stubs. `--check`: only report drift. Returns the number of
/// files that differ (written, or found stale).
pub fn run(check: bool) -> anyhow::Result<usize> {
    let root = crate::root();
    let mut differ = 0;
    let gen = generate(&root)?;
    for (from, to, text) in &gen {
        let current = std::fs::read_to_string(to).ok();
        if current.as_deref() == Some(text.as_str()) {
            continue;
        }
        differ += 1;
        let show = |p: &Path| p.strip_prefix(&root).unwrap_or(p).display().to_string();
        if check {
            println!("stale stub: {} differs from what {} generates", show(to), show(from));
        } else {
            std::fs::create_dir_all(to.parent().unwrap())?;
            std::fs::write(to, text)?;
            println!("wrote {}", show(to));
        }
    }
    // Stub files with no solution counterpart are drift too.
    let known: std::collections::HashSet<&PathBuf> = gen.iter().map(|(_, to, _)| to).collect();
    let mut stubs = Vec::new();
    for (_, to, _) in &gen {
        if let Some(src) = to.ancestors().find(|a| a.file_name().is_some_and(|n| n == "src")) {
            collect_rs(src, &mut stubs);
        }
    }
    stubs.sort();
    stubs.dedup();
    for s in stubs {
        if !known.contains(&s) {
            differ += 1;
            println!("stub without a solution: {}", s.strip_prefix(&root).unwrap_or(&s).display());
        }
    }
    Ok(differ)
}

#[cfg(test)]
mod tests {
    use super::transform;

    #[test]
    fn regions_become_todo_or_vanish() {
        let src = "// STUB: #![allow(unused)]\n\n// BEGIN SOLUTION ONLY\nuse x::y;\n// END SOLUTION\n\n/// Doc.\npub fn f() -> u32 {\n    // BEGIN SOLUTION\n    let a = 1;\n    a + 1\n    // END SOLUTION\n}\n";
        let out = transform(src, "t.rs").unwrap();
        assert_eq!(out, "#![allow(unused)]\n\n/// Doc.\npub fn f() -> u32 {\n    todo!()\n}\n");
    }

    #[test]
    fn what_a_removed_region_leaves_is_rustfmt_clean() {
        let src = "pub struct S {\n    // BEGIN SOLUTION ONLY\n    x: u32,\n    // END SOLUTION\n}\n\nimpl S {\n    pub fn f() {}\n\n    // BEGIN SOLUTION ONLY\n    fn g() {}\n    // END SOLUTION\n}\n\n// BEGIN SOLUTION ONLY\nfn h() {}\n// END SOLUTION\n";
        assert_eq!(transform(src, "t.rs").unwrap(), "pub struct S {}\n\nimpl S {\n    pub fn f() {}\n}\n");
    }

    #[test]
    fn unbalanced_markers_are_errors() {
        assert!(transform("// BEGIN SOLUTION\n", "t.rs").unwrap_err().to_string().contains("never closed"));
        assert!(transform("// END SOLUTION\n", "t.rs").unwrap_err().to_string().contains("without BEGIN"));
        assert!(transform("// BEGIN SOLUTION\n// BEGIN SOLUTION\n", "t.rs").unwrap_err().to_string().contains("nested"));
    }

    #[test]
    fn committed_stubs_match_the_solutions() {
        if crate::root().join("solutions").is_dir() {
            assert_eq!(super::run(true).unwrap(), 0, "weeks/ drifted from solutions/: run `just stubs`");
        }
    }
}
