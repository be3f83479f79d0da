//! Every exercise has at least three hint levels, from its reference file's `// HINT:` lines:
//! a nudge first (the concept, or the pitfall most learners hit, with no code in it), then the
//! approach (steps, shapes, which candle functions), then the hardest line nearly as code.

use std::path::PathBuf;

fn repo() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/..")).canonicalize().unwrap()
}

/// What in a first-level hint looks like code: a path (`a::b`), a statement's end (`?;`), or a
/// method call (`.name(`).
fn code_in(hint: &str) -> Option<String> {
    if hint.contains("::") {
        return Some("`::`".into());
    }
    if hint.contains("?;") {
        return Some("`?;`".into());
    }
    let b = hint.as_bytes();
    for i in 0..b.len() {
        if b[i] == b'.' && i + 1 < b.len() && (b[i + 1].is_ascii_alphabetic() || b[i + 1] == b'_') {
            let rest = &hint[i + 1..];
            let name_len = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(rest.len());
            if rest[name_len..].starts_with('(') {
                return Some(format!("`.{}(`", &rest[..name_len]));
            }
        }
    }
    None
}

#[test]
fn the_first_level_check_finds_code() {
    assert!(code_in("x.maximum(0.0)").is_some());
    assert!(code_in("use candle_nn::ops").is_some());
    assert!(code_in("let y = f(x)?;").is_some());
    assert!(code_in("Which axis holds the classes? Normalise over that one, not the batch.").is_none());
    assert!(code_in("Remember e.g. the bias").is_none());
}

#[test]
fn every_exercise_has_three_levels_and_a_nudge_first() {
    let root = repo();
    if !root.join("solutions").is_dir() {
        return; // a learner copy: the hints are recorded in checks/registry.json
    }
    let mut problems = Vec::new();
    for w in grader::registry::weeks().iter().filter(|w| !w.hidden) {
        for e in w.exercises() {
            let hints = grader::hints::of(&root, w.dir, &e);
            if hints.len() < 3 {
                problems.push(format!("{}: {} hint level(s), want 3 (a nudge, the approach, nearly the code)", e.id, hints.len()));
                continue;
            }
            if let Some(c) = code_in(&hints[0]) {
                problems.push(format!("{}: the first hint shows code ({c}): make it a nudge in words", e.id));
            }
        }
    }
    assert!(problems.is_empty(), "{} problem(s):\n{}", problems.len(), problems.join("\n"));
}
