//! Hints, written beside the code they help with: in a reference solution file, the comment
//! lines `// HINT: …` between an exercise's doc comment and its item, one line per level, from
//! a gentle nudge to nearly the answer; an exercise with no item of its own (a long training
//! target, the pretrained models) has `// HINT(name): …` lines anywhere in its file. The stub
//! generator leaves them out of the learner's stubs; `grader registry` copies them into
//! `checks/registry.json`, which `grader hint` reads one level at a time.

use std::path::Path;

/// The hints of exercise `name` in the solution source `src`, in order.
pub fn in_source(src: &str, name: &str) -> Vec<String> {
    let named = format!("// HINT({name}):");
    let mut out: Vec<String> = src.lines().filter_map(|l| l.trim().strip_prefix(named.as_str()).map(|h| h.trim().to_string())).collect();
    if !out.is_empty() {
        return out;
    }
    let heading = format!("## {name}");
    let lines: Vec<&str> = src.lines().collect();
    let Some(h) = lines.iter().position(|l| l.trim().strip_prefix("///").is_some_and(|t| t.trim() == heading)) else { return out };
    let mut k = h;
    while k < lines.len() && lines[k].trim().starts_with("///") {
        k += 1;
    }
    while k < lines.len() {
        match lines[k].trim().strip_prefix("// HINT:") {
            Some(hint) => out.push(hint.trim().to_string()),
            None => break,
        }
        k += 1;
    }
    out
}

/// The hints of `ex` from `root/solutions/<week_dir>/<file>` (none when the file is not there).
pub fn of(root: &Path, week_dir: &str, ex: &crate::registry::Exercise) -> Vec<String> {
    let path = root.join("solutions").join(week_dir).join(ex.file);
    let name = ex.id.rsplit('.').next().unwrap_or(ex.id);
    std::fs::read_to_string(path).map(|src| in_source(&src, name)).unwrap_or_default()
}

/// Whether a line is a hint marker (the stub generator drops these).
pub fn is_marker(line: &str) -> bool {
    let t = line.trim();
    t.starts_with("// HINT:") || t.starts_with("// HINT(")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_follow_the_doc_or_name_their_exercise() {
        let src =
            "/// ## ones\n/// Doc.\n// HINT: first\n// HINT: second\npub fn ones() {}\n\n// HINT(train): elsewhere\n/// ## two\n/// Doc.\npub fn two() {}\n";
        assert_eq!(in_source(src, "ones"), ["first", "second"]);
        assert_eq!(in_source(src, "train"), ["elsewhere"]);
        assert!(in_source(src, "two").is_empty());
        assert!(is_marker("    // HINT(train): x") && is_marker("// HINT: y") && !is_marker("// HINTS are good"));
    }
}
