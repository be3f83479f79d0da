//! The solution regions of a reference file, whose exercise each belongs to, and what
//! `grader solution` shows of an exercise.
//!
//! Markers (each alone on its line; `grader stubs` turns them into the learner's stubs):
//! - `// BEGIN SOLUTION` … `// END SOLUTION`: a function body's solution (a `todo!()` in the
//!   stub);
//! - `// BEGIN SOLUTION ONLY` … `// END SOLUTION`: code only the solution has (fields, helpers);
//! - either with an exercise's name, `// BEGIN SOLUTION(cached_model)`, when the region belongs
//!   to another exercise than the code around it says (a method that is part of a later
//!   exercise of another day).
//!
//! A region belongs to the exercise named in its marker, else to the exercise of the file with
//! the smallest item around it: its type's struct and impl blocks, its function (by name or by
//! `Exercise::function`), or the items of its `/// ## name` doc section. A `ONLY` region outside
//! every exercise's items is a shared helper, shown with each exercise whose code names it. A
//! body region must belong to an exercise.
//!
//! What `grader solution ID` shows is the exercise's own code only: each item holding one of
//! its regions (of an `impl` block, only the methods that do), other exercises' bodies as
//! `todo!()` and their fields or helpers left out, and the shared helpers it calls. No marker,
//! hint or doc comment is printed.

use crate::source::code_mask;
use anyhow::{anyhow, bail};
use std::collections::BTreeSet;

/// A marker line.
#[derive(Debug, Clone, PartialEq)]
pub enum Marker {
    /// `// BEGIN SOLUTION` (`only: false`) or `// BEGIN SOLUTION ONLY`, with its owner(s) if
    /// named (`adam, adamw` when one function is the code of two exercises).
    Begin {
        only: bool,
        owner: Option<String>,
    },
    End,
}

/// The marker on `line`, if it is one.
pub fn marker(line: &str) -> Option<Marker> {
    let t = line.trim();
    if t == "// END SOLUTION" {
        return Some(Marker::End);
    }
    let rest = t.strip_prefix("// BEGIN SOLUTION")?;
    let (only, rest) = match rest.strip_prefix(" ONLY") {
        Some(r) => (true, r),
        None => (false, rest),
    };
    let owner = match rest {
        "" => None,
        r => Some(r.strip_prefix('(')?.strip_suffix(')')?.trim().to_string()),
    };
    let names_ok = |o: &str| o.split(',').map(str::trim).all(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
    if owner.as_ref().is_some_and(|o| !names_ok(o)) {
        return None;
    }
    Some(Marker::Begin { only, owner })
}

/// One region of a file.
#[derive(Debug, Clone)]
pub struct Region {
    pub only: bool,
    /// The exercise named in the marker, if any.
    pub marked: Option<String>,
    /// Line indices (0-based) of the BEGIN and END markers.
    pub begin: usize,
    pub end: usize,
    /// Byte span from the start of the BEGIN line to the end of the END line.
    pub span: (usize, usize),
    /// The lines between the markers.
    pub text: String,
}

/// Every region of `src`, in order. Nested or unclosed regions are errors.
pub fn parse(src: &str) -> anyhow::Result<Vec<Region>> {
    let mut out = Vec::new();
    let mut open: Option<(usize, usize, bool, Option<String>)> = None;
    let mut at = 0;
    let mut body = String::new();
    for (n, line) in src.split_inclusive('\n').enumerate() {
        let start = at;
        at += line.len();
        match (marker(line), &open) {
            (Some(Marker::Begin { .. }), Some((b, ..))) => bail!("line {}: nested BEGIN SOLUTION (the region opened on line {} is not closed)", n + 1, b + 1),
            (Some(Marker::Begin { only, owner }), None) => {
                open = Some((n, start, only, owner));
                body.clear();
            }
            (Some(Marker::End), None) => bail!("line {}: END SOLUTION without BEGIN", n + 1),
            (Some(Marker::End), Some(_)) => {
                let (begin, from, only, marked) = open.take().expect("open region");
                out.push(Region { only, marked, begin, end: n, span: (from, at), text: std::mem::take(&mut body) });
            }
            (None, Some(_)) => body.push_str(line),
            (None, None) => {}
        }
    }
    if let Some((b, ..)) = open {
        bail!("line {}: BEGIN SOLUTION is never closed", b + 1);
    }
    Ok(out)
}

/// The solution file with its markers, hints and `// STUB:` lines removed: what a learner's
/// file holds once every exercise in it is solved as the reference solves it.
pub fn solved(src: &str) -> String {
    src.lines().filter(|l| marker(l).is_none() && !crate::hints::is_marker(l) && !l.trim().starts_with("// STUB: ")).map(|l| format!("{l}\n")).collect()
}

/// A line for the tools, not the reader: a hint, a `// STUB:` line, or a note to the mutation
/// tool (`// mutants: …`).
fn is_dev_line(line: &str) -> bool {
    let t = line.trim();
    crate::hints::is_marker(line) || t.starts_with("// STUB: ") || t.starts_with("// mutants:")
}

/// An exercise of the file, as the registry has it: its last id part and its function.
#[derive(Debug, Clone, Copy)]
pub struct Ex<'a> {
    pub name: &'a str,
    pub function: Option<&'a str>,
}

/// The owners of each region: indices into `exercises` (one, or those its marker names), or none
/// for a shared helper (a `ONLY` region outside every exercise's items). Errors for a body
/// region that has no owner, or a marker naming an exercise the file does not have.
pub fn owners(src: &str, regions: &[Region], exercises: &[Ex]) -> anyhow::Result<Vec<Vec<usize>>> {
    let spans: Vec<Vec<(usize, usize)>> = exercises.iter().map(|e| crate::reset::candidate_spans(src, e.name, e.function)).collect();
    let line_of = |byte: usize| src[..byte].matches('\n').count() + 1;
    regions
        .iter()
        .map(|r| {
            if let Some(m) = &r.marked {
                return m
                    .split(',')
                    .map(str::trim)
                    .map(|m| {
                        exercises
                            .iter()
                            .position(|e| e.name == m)
                            .ok_or_else(|| anyhow!("line {}: the marker names {m}, which is no exercise of this file", r.begin + 1))
                    })
                    .collect();
            }
            let best =
                spans.iter().enumerate().flat_map(|(i, ss)| ss.iter().filter(|(s, e)| *s <= r.span.0 && r.span.1 <= *e).map(move |(s, e)| (e - s, i))).min();
            match (best, r.only) {
                (Some((_, i)), _) => Ok(vec![i]),
                (None, true) => Ok(Vec::new()),
                (None, false) => Err(anyhow!("line {}: a solution body outside every exercise's items: name its exercise in the marker", line_of(r.span.0))),
            }
        })
        .collect()
}

/// The items of `src[from..to]` (a file, or the inside of an `impl` block), each `(start, end)`
/// from the first line of its attributes or keyword (doc comments excluded) to the end of its
/// last line.
fn items(src: &str, mask: &[bool], from: usize, to: usize) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut at = from;
    let mut pending: Option<usize> = None; // the first attribute line of the next item
    while at < to {
        let line_end = src[at..].find('\n').map(|p| at + p + 1).unwrap_or(src.len()).min(to);
        let line = &src[at..line_end];
        let t = line.trim();
        let first = at + (line.len() - line.trim_start().len());
        if t.is_empty() || (t.starts_with("//") && !mask.get(first).copied().unwrap_or(false)) {
            at = line_end;
            continue;
        }
        if t.starts_with("#[") || t.starts_with("#!") {
            pending.get_or_insert(at);
            at = line_end;
            continue;
        }
        if t == "}" {
            at = line_end;
            continue;
        }
        match crate::reset::item_end_from(src, mask, first) {
            Some(end) if end <= to => {
                out.push((pending.take().unwrap_or(at), end));
                at = end;
            }
            _ => {
                pending = None;
                at = line_end;
            }
        }
    }
    out
}

/// The identifiers of the code in `text` (comments and literals skipped).
fn identifiers(text: &str) -> BTreeSet<String> {
    let code = crate::source::code_only(text);
    code.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| w.chars().next().is_some_and(|c| c.is_alphabetic() || c == '_'))
        .map(String::from)
        .collect()
}

/// The names a helper region defines (functions, constants, statics, types, `use … as x`).
fn defined(text: &str) -> BTreeSet<String> {
    let code = crate::source::code_only(text);
    let mut out = BTreeSet::new();
    let words: Vec<&str> = code.split(|c: char| !(c.is_alphanumeric() || c == '_')).filter(|w| !w.is_empty()).collect();
    for w in words.windows(2) {
        if matches!(w[0], "fn" | "const" | "static" | "struct" | "enum" | "type") {
            out.insert(w[1].to_string());
        }
    }
    // `use a::b::c;` defines `c`, `use a::b as c;` defines `c`.
    for line in code.lines() {
        if let Some(u) = line.trim().strip_prefix("use ") {
            let last = u.trim_end_matches(';').rsplit([':', ' ']).next().unwrap_or("");
            out.insert(last.trim_matches(|c: char| c == '{' || c == '}' || c.is_whitespace()).to_string());
        }
    }
    out
}

/// `src[from..to]` with the regions inside it rendered for exercise `me`: its own regions'
/// lines kept (markers dropped), other exercises' bodies as `todo!()`, their `ONLY` regions
/// dropped, shared helpers dropped (they are shown on their own); doc comments, hints and
/// `// STUB:` lines dropped.
fn render(src: &str, from: usize, to: usize, regions: &[Region], owners: &[Vec<usize>], me: usize) -> String {
    let mut out = String::new();
    let mut at = 0;
    let mut skip: Option<(usize, bool)> = None; // inside a region not shown: (its END line, a body)
    for (n, line) in src.split_inclusive('\n').enumerate() {
        let start = at;
        at += line.len();
        if start < from || start >= to {
            continue;
        }
        if let Some((end, body)) = skip {
            if n == end {
                skip = None;
                if body {
                    let indent = &line[..line.len() - line.trim_start().len()];
                    out.push_str(&format!("{indent}todo!()\n"));
                }
            }
            continue;
        }
        if let Some(Marker::Begin { .. }) = marker(line) {
            if let Some(k) = regions.iter().position(|r| r.begin == n) {
                if !owners[k].contains(&me) {
                    skip = Some((regions[k].end, !regions[k].only));
                }
            }
            continue;
        }
        let t = line.trim();
        if marker(line).is_some() || is_dev_line(line) || t.starts_with("///") || t.starts_with("//!") {
            continue;
        }
        out.push_str(line);
    }
    out
}

/// The functions that hold exercise `exercises[me]`'s code, as `Type::name` or `name`: those
/// around its regions, and those inside its `ONLY` regions (its helpers). The rules check reads
/// these functions in the learner's file.
pub fn owned_functions(src: &str, exercises: &[Ex], me: usize) -> anyhow::Result<Vec<String>> {
    Ok(owned_functions_all(src, exercises)?.swap_remove(me))
}

/// [`owned_functions`] of every exercise of the file, from one reading of it.
pub fn owned_functions_all(src: &str, exercises: &[Ex]) -> anyhow::Result<Vec<Vec<String>>> {
    let regions = parse(src)?;
    let owners = owners(src, &regions, exercises)?;
    let fns = crate::reset::fn_items(src);
    let mut out: Vec<Vec<String>> = vec![Vec::new(); exercises.len()];
    for (k, r) in regions.iter().enumerate() {
        let around = fns.iter().filter(|f| f.start <= r.span.0 && r.span.1 <= f.end).min_by_key(|f| f.end - f.start);
        let mut held: Vec<String> = around.map(|f| f.path()).into_iter().collect();
        if r.only {
            held.extend(fns.iter().filter(|f| r.span.0 <= f.start && f.end <= r.span.1).map(|f| f.path()));
        }
        for &me in &owners[k] {
            out[me].extend(held.iter().cloned());
        }
    }
    for list in &mut out {
        let mut seen = BTreeSet::new();
        list.retain(|p| seen.insert(p.clone()));
    }
    Ok(out)
}

/// What `grader solution` shows of exercise `exercises[me]` of `src`: its items and the shared
/// helpers they call, or None when no region of the file is its (a long target that runs
/// earlier code).
pub fn shown(src: &str, exercises: &[Ex], me: usize) -> anyhow::Result<Option<String>> {
    let regions = parse(src)?;
    let owners = owners(src, &regions, exercises)?;
    let mine: Vec<usize> = (0..regions.len()).filter(|&k| owners[k].contains(&me)).collect();
    if mine.is_empty() {
        return Ok(None);
    }
    let mask = code_mask(src);
    let top = items(src, &mask, 0, src.len());
    // An item holds region k, or lies inside it (a helper or method wrapped in a `ONLY` region).
    let holds = |(s, e): (usize, usize), k: usize| (s <= regions[k].span.0 && regions[k].span.1 <= e) || (regions[k].span.0 <= s && e <= regions[k].span.1);
    // Shared helpers, and the names each defines.
    let helpers: Vec<(usize, BTreeSet<String>)> = (0..regions.len()).filter(|&k| owners[k].is_empty()).map(|k| (k, defined(&regions[k].text))).collect();
    let mut pieces: Vec<(usize, String)> = Vec::new();
    for &item in &top {
        let inside: Vec<usize> = mine.iter().copied().filter(|&k| holds(item, k)).collect();
        if inside.is_empty() {
            continue;
        }
        let head_end = src[item.0..item.1].find('{').map(|p| item.0 + p);
        // An `impl` or `trait` block (its first line after the attributes says so), not a
        // function taking an `impl Trait` argument.
        let is_block = head_end.is_some_and(|h| {
            let first = src[item.0..h].lines().map(str::trim).find(|l| !l.starts_with("#[")).unwrap_or("");
            let first = first.strip_prefix("pub ").unwrap_or(first);
            let first = first.strip_prefix("unsafe ").unwrap_or(first);
            first.starts_with("impl ") || first.starts_with("impl<") || first.starts_with("trait ")
        });
        let text = match head_end.filter(|_| is_block) {
            // An impl block: its first line(s) up to `{`, the members that hold this exercise's
            // regions, the closing brace.
            Some(h) => {
                let body_start = src[h..].find('\n').map(|p| h + p + 1).unwrap_or(item.1);
                let members = items(src, &mask, body_start, item.1);
                let mut t = render(src, item.0, body_start, &regions, &owners, me);
                let chosen: Vec<String> =
                    members.into_iter().filter(|&m| inside.iter().any(|&k| holds(m, k))).map(|m| render(src, m.0, m.1, &regions, &owners, me)).collect();
                t.push_str(&chosen.join("\n"));
                t.push_str("}\n");
                t
            }
            None => render(src, item.0, item.1, &regions, &owners, me),
        };
        pieces.push((item.0, text));
    }
    // The shared helpers the shown code names, and those they name in turn.
    let mut names = identifiers(&pieces.iter().map(|(_, t)| t.as_str()).collect::<String>());
    let mut used = BTreeSet::new();
    loop {
        let new: Vec<usize> = helpers.iter().filter(|(k, defs)| !used.contains(k) && defs.iter().any(|d| names.contains(d))).map(|(k, _)| *k).collect();
        if new.is_empty() {
            break;
        }
        for k in new {
            used.insert(k);
            names.extend(identifiers(&regions[k].text));
        }
    }
    for k in used {
        let text: String = regions[k].text.lines().filter(|l| !l.trim().starts_with("///") && !is_dev_line(l)).map(|l| format!("{l}\n")).collect();
        pieces.push((regions[k].span.0, text));
    }
    pieces.sort_by_key(|(at, _)| *at);
    let text = pieces.into_iter().map(|(_, t)| t.trim_end().to_string()).collect::<Vec<_>>().join("\n\n");
    Ok(Some(text + "\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SRC: &str = "use x::Y;
// BEGIN SOLUTION ONLY
fn helper(a: u32) -> u32 {
    a + 1
}
// END SOLUTION

/// ## attention
/// Doc.
// HINT: nudge
pub struct Attention {
    // BEGIN SOLUTION ONLY
    n: u32,
    // END SOLUTION
}

impl Attention {
    pub fn load() -> Attention {
        // BEGIN SOLUTION
        Attention { n: helper(1) }
        // END SOLUTION
    }

    /// ## cached
    /// Later.
    pub fn cached(&self) -> u32 {
        // BEGIN SOLUTION
        self.n * 2
        // END SOLUTION
    }

    pub fn part(&self) -> u32 {
        // BEGIN SOLUTION(cached)
        self.n * 3
        // END SOLUTION
    }
}

/// ## config
pub struct Config {
    pub a: u32,
}

pub fn parse_config(s: &str) -> Config {
    // BEGIN SOLUTION
    Config { a: s.len() as u32 }
    // END SOLUTION
}
";

    fn exs() -> Vec<Ex<'static>> {
        vec![Ex { name: "attention", function: None }, Ex { name: "cached", function: None }, Ex { name: "config", function: Some("parse_config") }]
    }

    #[test]
    fn markers_name_owners() {
        assert_eq!(marker("  // BEGIN SOLUTION"), Some(Marker::Begin { only: false, owner: None }));
        assert_eq!(marker("// BEGIN SOLUTION ONLY(cached_model)"), Some(Marker::Begin { only: true, owner: Some("cached_model".into()) }));
        assert_eq!(marker("// BEGIN SOLUTION(x y)"), None);
        assert_eq!(marker("// BEGIN SOLUTION(adam, adamw)"), Some(Marker::Begin { only: false, owner: Some("adam, adamw".into()) }));
        assert_eq!(marker("// END SOLUTION"), Some(Marker::End));
        assert_eq!(marker("// BEGIN SOLUTIONS"), None);
    }

    #[test]
    fn each_region_has_the_smallest_owner_around_it() {
        let rs = parse(SRC).unwrap();
        let o = owners(SRC, &rs, &exs()).unwrap();
        // helper (shared), the field, load, cached, part (marked), parse_config
        assert_eq!(o, vec![vec![], vec![0], vec![0], vec![1], vec![1], vec![2]]);
    }

    #[test]
    fn an_exercise_shows_its_own_code_and_the_helpers_it_calls() {
        let a = shown(SRC, &exs(), 0).unwrap().unwrap();
        assert!(a.contains("n: u32,") && a.contains("Attention { n: helper(1) }") && a.contains("fn helper"), "{a}");
        assert!(!a.contains("self.n * 2") && !a.contains("fn cached") && !a.contains("fn part"), "another exercise's method: {a}");
        assert!(!a.contains("BEGIN") && !a.contains("HINT") && !a.contains("///"), "{a}");
        let c = shown(SRC, &exs(), 1).unwrap().unwrap();
        assert!(c.contains("self.n * 2") && c.contains("self.n * 3") && !c.contains("helper(1)") && !c.contains("fn helper"), "{c}");
        assert!(c.starts_with("impl Attention {"), "{c}");
        let p = shown(SRC, &exs(), 2).unwrap().unwrap();
        assert!(p.contains("fn parse_config") && !p.contains("pub struct Config"), "{p}");
    }

    #[test]
    fn solved_files_keep_every_region() {
        let s = solved(SRC);
        assert!(s.contains("fn helper") && s.contains("self.n * 3") && !s.contains("BEGIN") && !s.contains("HINT"));
    }
}
