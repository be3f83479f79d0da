//! The shipped-text lint: what a learner reads (the stubs and their doc comments, the ops
//! library they call, the book's learner pages, the README, and what `grader solution` prints)
//! teaches the course and says nothing about its development: no issue numbers, A/B notes,
//! mutant remarks, benchmark timings, or hint and solution markers. The instructor pages
//! (`book/src/instructor.md`, the speed page) are where those go.

use std::path::{Path, PathBuf};

/// One finding: where, and what was found.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub place: String,
    pub line: usize,
    pub what: String,
}

/// The book pages a learner does not need (development notes and measurements live there).
pub const INSTRUCTOR_PAGES: &[&str] = &["book/src/instructor.md", "book/src/speed.md"];

/// What in `line` the lint refuses, if anything.
pub fn refused(line: &str) -> Option<String> {
    let lower = line.to_lowercase();
    let words: Vec<&str> = lower.split(|c: char| !c.is_alphanumeric()).collect();
    if let Some(i) = lower.find("issue ") {
        if lower[i + 6..].starts_with(|c: char| c.is_ascii_digit()) {
            return Some("an issue number".into());
        }
    }
    if line.contains("A/B") {
        return Some("an A/B note".into());
    }
    if words.iter().any(|w| w.starts_with("mutant")) {
        return Some("a mutation-testing remark".into());
    }
    if line.contains("HINT(") || line.contains("// HINT:") {
        return Some("a hint marker".into());
    }
    if line.contains("BEGIN SOLUTION") || line.contains("END SOLUTION") {
        return Some("a solution marker".into());
    }
    if line.contains("GFLOP") {
        return Some("a benchmark figure (GFLOP/s)".into());
    }
    // A timing: a number followed by ms, µs or ns.
    let chars: Vec<char> = line.chars().collect();
    for (i, c) in chars.iter().enumerate() {
        if !c.is_ascii_digit() || chars.get(i + 1).is_some_and(|d| d.is_ascii_digit() || *d == '.') {
            continue;
        }
        let mut j = i + 1;
        while chars.get(j) == Some(&' ') {
            j += 1;
        }
        let unit: String = chars[j..].iter().take_while(|c| c.is_alphabetic()).collect();
        if matches!(unit.as_str(), "ms" | "µs" | "us" | "ns") {
            return Some(format!(
                "a benchmark timing ({}{unit})",
                chars[..=i].iter().rev().take_while(|c| c.is_ascii_digit() || **c == '.').collect::<String>().chars().rev().collect::<String>()
            ));
        }
    }
    None
}

/// The findings in `text`, attributed to `place`.
pub fn scan_text(place: &str, text: &str) -> Vec<Finding> {
    text.lines().enumerate().filter_map(|(n, l)| refused(l).map(|what| Finding { place: place.to_string(), line: n + 1, what })).collect()
}

/// The files of `root` a learner reads: `weeks/`, `fastops/src/`, `candlecamp/src/`, `bughunt/`, `live/`, the README, and the book's
/// pages but the instructor ones.
pub fn learner_files(root: &Path) -> Vec<PathBuf> {
    fn walk(d: &Path, exts: &[&str], out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                if p.file_name().is_some_and(|n| n != "target" && n != "build" && n != "images" && n != "node_modules") {
                    walk(&p, exts, out);
                }
            } else if p.extension().is_some_and(|x| exts.iter().any(|e| x == *e)) {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(&root.join("weeks"), &["rs", "toml"], &mut out);
    walk(&root.join("fastops/src"), &["rs"], &mut out);
    walk(&root.join("candlecamp/src"), &["rs"], &mut out);
    walk(&root.join("bughunt"), &["rs", "toml"], &mut out);
    walk(&root.join("live"), &["rs", "toml", "html"], &mut out);
    walk(&root.join("book/src"), &["md"], &mut out);
    out.push(root.join("README.md"));
    out.retain(|p| !INSTRUCTOR_PAGES.iter().any(|i| p.ends_with(i)));
    out.sort();
    out
}

/// The findings in every learner file of `root`.
pub fn scan_tree(root: &Path) -> Vec<Finding> {
    let mut out = Vec::new();
    for f in learner_files(root) {
        if let Ok(text) = std::fs::read_to_string(&f) {
            let place = f.strip_prefix(root).unwrap_or(&f).display().to_string();
            // The README's instructor section is for instructors.
            let text = if place == "README.md" { text.split("## For instructors").next().unwrap_or("").to_string() } else { text };
            out.extend(scan_text(&place, &text));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn development_talk_is_found_and_teaching_is_not() {
        for bad in [
            "// The reference runs fastops' fused kernel (issue 15).",
            "old and new run alternately (A/B), 3 times",
            "// mutants: long targets only",
            "// HINT: x.maximum(0.0)",
            "// BEGIN SOLUTION",
            "gemm runs at 170 GFLOP/s here",
            "a step took 48 ms",
            "14 µs a call",
            "1.5ms per token",
        ] {
            assert!(refused(bad).is_some(), "{bad}");
        }
        for ok in ["| `a / b` | 1/b | −a/b² |", "about 80 seconds on two CPU cores", "a 3×3 kernel, stride 2", "the issue of tied weights", "items: 5 msgs"]
        {
            assert_eq!(refused(ok), None, "{ok}");
        }
    }
}
