//! `grader reset ID`: put one exercise's stub back, after a timestamped backup of the file.
//!
//! Where the pristine stub comes from: in the instructor's repository it is generated from
//! `solutions/` (the same transformation as `grader stubs`); a learner's copy has no
//! `solutions/`, so `grader dist` ships the generated stubs under `.candlecamp/stubs/<week>/…`
//! and reset reads them there.
//!
//! What is restored: only the exercise's code, found by name in both the stub and the learner's
//! file (comments and string literals are skipped while matching braces):
//! 1. a type named after the id's last part (`week1.modules.batchnorm2d` → `BatchNorm2d`,
//!    matched ignoring case and `_`): its `struct` and every `impl` block of it that the stub has;
//! 2. otherwise the exercise's function (`Exercise::function`), or a `fn` named like the id's
//!    last part: that one function, signature to closing brace.
//!
//! 3. otherwise the section of the file whose doc comment has the heading `## <name>` (every
//!    exercise's doc starts with one): the items after it, up to the next heading.
//!
//! When none is found, or the name is ambiguous, reset changes nothing and says so;
//! `--file` then restores the whole file (after the same backup). Everything else in the file,
//! and every other file, stays as it was.

use crate::registry::Exercise;
use crate::source::code_mask;
use anyhow::{anyhow, bail, Context};
use std::path::{Path, PathBuf};

/// A top-level or nested item: its byte span (whole lines) and first line.
#[derive(Debug, Clone)]
struct Item {
    start: usize,
    end: usize,
    header: String,
}

fn line_start(src: &str, i: usize) -> usize {
    src[..i].rfind('\n').map(|p| p + 1).unwrap_or(0)
}

fn line_end(src: &str, i: usize) -> usize {
    src[i..].find('\n').map(|p| i + p + 1).unwrap_or(src.len())
}

/// From `from`, the item's end: the end of the line of the `}` matching the first `{` (or of
/// the first `;` when that comes first: a unit struct, a declaration without a body).
fn item_end(src: &str, mask: &[bool], from: usize) -> Option<(usize, bool)> {
    let b = src.as_bytes();
    let mut depth = 0usize;
    let mut paren = 0usize;
    for i in from..b.len() {
        if !mask[i] {
            continue;
        }
        match b[i] {
            b'(' | b'[' => paren += 1,
            b')' | b']' => paren = paren.saturating_sub(1),
            b';' if depth == 0 && paren == 0 => return Some((line_end(src, i), false)),
            b'{' => depth += 1,
            b'}' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some((line_end(src, i), true));
                }
            }
            _ => {}
        }
    }
    None
}

/// Positions where the keyword `kw` starts as a whole word in code.
fn keyword_at(src: &str, mask: &[bool], kw: &str) -> Vec<usize> {
    let b = src.as_bytes();
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(p) = src[from..].find(kw) {
        let i = from + p;
        from = i + kw.len();
        let before_ok = i == 0 || !word(b[i - 1]);
        let after_ok = from < b.len() && !word(b[from]);
        if before_ok && after_ok && mask[i] {
            out.push(i);
        }
    }
    out
}

fn ident_after(src: &str, i: usize) -> &str {
    let rest = src[i..].trim_start();
    let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(rest.len());
    &rest[..end]
}

/// Functions named `name` that have a body.
fn fns(src: &str, mask: &[bool], name: &str) -> Vec<Item> {
    keyword_at(src, mask, "fn")
        .into_iter()
        .filter(|&i| ident_after(src, i + 2) == name)
        .filter_map(|i| {
            let start = line_start(src, i);
            let (end, body) = item_end(src, mask, i)?;
            body.then(|| Item { start, end, header: src[start..line_end(src, i)].trim().to_string() })
        })
        .collect()
}

/// Strip generics: `Foo<T>` → `Foo`, `<T> Foo<T>` → `Foo`.
fn type_name(s: &str) -> String {
    let mut depth = 0;
    let mut out = String::new();
    for c in s.chars() {
        match c {
            '<' => depth += 1,
            '>' => depth -= 1,
            c if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out.trim().to_string()
}

/// The struct (or enum) and the impl blocks of the type whose name, lower-cased without `_`,
/// is `key`.
fn type_items(src: &str, mask: &[bool], key: &str) -> Vec<Item> {
    let norm = |s: &str| s.to_lowercase().replace('_', "");
    let mut out = Vec::new();
    for kw in ["struct", "enum"] {
        for i in keyword_at(src, mask, kw) {
            if norm(ident_after(src, i + kw.len())) == key {
                let start = line_start(src, i);
                if let Some((end, _)) = item_end(src, mask, i) {
                    out.push(Item { start, end, header: src[start..line_end(src, i)].trim().to_string() });
                }
            }
        }
    }
    for i in keyword_at(src, mask, "impl") {
        let Some(brace) = src[i..].find('{').map(|p| i + p) else { continue };
        let head = &src[i + 4..brace];
        // `impl<T> Trait for Type<T> where …` → `Type`
        let head = head.split(" where ").next().unwrap_or(head);
        let self_ty = match head.rsplit_once(" for ") {
            Some((_, t)) => t,
            None => head,
        };
        let self_ty = type_name(self_ty);
        if norm(self_ty.rsplit("::").next().unwrap_or(&self_ty)) == key {
            let start = line_start(src, i);
            if let Some((end, true)) = item_end(src, mask, i) {
                out.push(Item { start, end, header: src[start..line_end(src, i)].trim().to_string() });
            }
        }
    }
    out.sort_by_key(|it| it.start);
    out
}

/// The items of the section whose doc comment has the heading `## name` (every exercise's doc
/// starts with one): from the first item after the heading, each following item at the same
/// indentation, up to the next `## ` heading or the end of the enclosing block.
fn heading_items(src: &str, mask: &[bool], name: &str) -> Vec<Item> {
    let pat = format!("## {name}");
    let is_heading = |t: &str| (t.starts_with("///") || t.starts_with("//!")) && t.trim_start_matches('/').trim_start_matches('!').trim().starts_with("## ");
    let mut lines = Vec::new();
    let mut off = 0;
    for line in src.split_inclusive('\n') {
        lines.push((off, line));
        off += line.len();
    }
    let Some(first) = lines.iter().position(|(_, l)| {
        let t = l.trim();
        is_heading(t) && t.trim_start_matches('/').trim_start_matches('!').trim() == pat
    }) else {
        return Vec::new();
    };
    let indent = |l: &str| l.len() - l.trim_start().len();
    let level = indent(lines[first].1);
    let mut out = Vec::new();
    let mut k = first + 1;
    while k < lines.len() {
        let (at, line) = lines[k];
        let t = line.trim();
        if t.is_empty() || (t.starts_with("//") && !is_heading(t)) || t.starts_with("#[") {
            k += 1;
            continue;
        }
        if is_heading(t) || indent(line) < level {
            break;
        }
        let code_at = at + indent(line);
        let Some((end, _)) = item_end(src, mask, code_at) else { break };
        out.push(Item { start: at, end, header: t.to_string() });
        while k < lines.len() && lines[k].0 < end {
            k += 1;
        }
    }
    out
}

/// A function with a body: its name, the type of the `impl` block it sits in (if any), and
/// its byte span (its line to the end of its closing brace's line).
#[derive(Debug, Clone, PartialEq)]
pub struct FnItem {
    pub name: String,
    pub self_ty: Option<String>,
    pub start: usize,
    pub end: usize,
    /// The byte of the body's opening brace (what follows is the body, signature excluded).
    pub body: usize,
}

impl FnItem {
    /// `Type::name`, or `name` outside an impl block.
    pub fn path(&self) -> String {
        match &self.self_ty {
            Some(t) => format!("{t}::{}", self.name),
            None => self.name.clone(),
        }
    }
}

/// Every function with a body in `src`, in order, with the impl block's type around it.
pub fn fn_items(src: &str) -> Vec<FnItem> {
    let mask = code_mask(src);
    let impls: Vec<(usize, usize, String)> = keyword_at(src, &mask, "impl")
        .into_iter()
        .filter_map(|i| {
            let brace = src[i..].find('{').map(|p| i + p)?;
            let head = &src[i + 4..brace];
            let head = head.split(" where ").next().unwrap_or(head);
            let ty = match head.rsplit_once(" for ") {
                Some((_, t)) => t,
                None => head,
            };
            let ty = type_name(ty);
            let ty = ty.rsplit("::").next().unwrap_or(&ty).trim().to_string();
            let (end, _) = item_end(src, &mask, i)?;
            Some((i, end, ty))
        })
        .collect();
    keyword_at(src, &mask, "fn")
        .into_iter()
        .filter_map(|i| {
            let (end, body) = item_end(src, &mask, i)?;
            if !body {
                return None;
            }
            let self_ty = impls.iter().filter(|(s, e, _)| *s < i && end <= *e).min_by_key(|(s, e, _)| e - s).map(|(_, _, t)| t.clone());
            let body = (i..end).find(|&k| mask[k] && src.as_bytes()[k] == b'{')?;
            Some(FnItem { name: ident_after(src, i + 2).to_string(), self_ty, start: line_start(src, i), end, body })
        })
        .collect()
}

/// The end of the item whose first code is at byte `from` (the end of the line of its closing
/// brace or `;`).
pub(crate) fn item_end_from(src: &str, mask: &[bool], from: usize) -> Option<usize> {
    item_end(src, mask, from).map(|(end, _)| end)
}

/// Every span that may hold exercise `ex_name`'s code, whichever way reset would find it: its
/// type's struct and impl blocks, the functions named like it or like its `function` (of
/// `Type::method`, the method), and the items of its `## name` section.
pub(crate) fn candidate_spans(src: &str, ex_name: &str, function: Option<&str>) -> Vec<(usize, usize)> {
    let mask = code_mask(src);
    let key = ex_name.to_lowercase().replace('_', "");
    let mut out: Vec<(usize, usize)> = type_items(src, &mask, &key).iter().map(|it| (it.start, it.end)).collect();
    for name in function.map(|f| f.rsplit("::").next().unwrap_or(f)).into_iter().chain([ex_name]) {
        out.extend(fns(src, &mask, name).iter().map(|it| (it.start, it.end)));
    }
    out.extend(heading_items(src, &mask, ex_name).iter().map(|it| (it.start, it.end)));
    out.sort();
    out.dedup();
    out
}

/// What reset restores for an exercise, found in `src`: a type's items, or one function.
fn locate(src: &str, ex_name: &str, function: Option<&str>) -> anyhow::Result<(String, Vec<Item>)> {
    let mask = code_mask(src);
    let key = ex_name.to_lowercase().replace('_', "");
    let items = type_items(src, &mask, &key);
    if !items.is_empty() {
        let name = items.iter().find_map(|it| it.header.split_whitespace().skip_while(|w| *w != "struct" && *w != "enum").nth(1)).unwrap_or(ex_name);
        let name = name.trim_end_matches([';', '{', '(']).to_string();
        return Ok((format!("type {name} ({} item(s))", items.len()), items));
    }
    for name in function.into_iter().chain([ex_name]) {
        let found = fns(src, &mask, name);
        match found.len() {
            0 => continue,
            1 => return Ok((format!("fn {name}"), found)),
            n => bail!("{n} functions are named {name}, so reset cannot tell which is the exercise's"),
        }
    }
    let items = heading_items(src, &mask, ex_name);
    if !items.is_empty() {
        return Ok((format!("the `## {ex_name}` section ({} item(s))", items.len()), items));
    }
    Err(anyhow!("found no type or function named {ex_name}{}, nor a `## {ex_name}` section", function.map(|f| format!(" or {f}")).unwrap_or_default()))
}

/// Where exercise `ex_name` starts in `src` and what it says: the 1-based line of its first item
/// and its doc comment (the `/// ## name` section, markers stripped), as `grader next` shows
/// them. `None` when the file has neither the heading nor an item reset would find.
pub fn where_is(src: &str, ex_name: &str, function: Option<&str>) -> Option<(usize, String)> {
    let lines: Vec<&str> = src.lines().collect();
    let heading = format!("## {ex_name}");
    if let Some(h) = lines.iter().position(|l| l.trim().strip_prefix("///").is_some_and(|t| t.trim() == heading)) {
        let mut k = h;
        let mut doc = Vec::new();
        while k < lines.len() && lines[k].trim().starts_with("///") {
            doc.push(lines[k].trim().trim_start_matches("///").strip_prefix(' ').unwrap_or(lines[k].trim().trim_start_matches("///")).to_string());
            k += 1;
        }
        while k < lines.len() && (lines[k].trim().starts_with("#[") || lines[k].trim().starts_with("//")) {
            k += 1;
        }
        return Some((k + 1, doc.join("\n")));
    }
    let (_, items) = locate(src, ex_name, function).ok()?;
    let first = items.first()?;
    Some((src[..first.start].matches('\n').count() + 1, String::new()))
}

/// The text of the items that make up exercise `ex_name` in `src` (its function, or its type's
/// items), as `grader solution` prints them from a reference file.
pub fn item_texts(src: &str, ex_name: &str, function: Option<&str>) -> anyhow::Result<Vec<String>> {
    let (_, items) = locate(src, ex_name, function)?;
    Ok(items.iter().map(|it| src[it.start..it.end].to_string()).collect())
}

/// Which of `exercises` (each its name and function, as `reset` finds them) has an item that
/// spans byte `at` of `src`: the exercise a compiler error sits in.
pub fn exercise_at(src: &str, exercises: &[(&str, Option<&str>)], at: usize) -> Option<usize> {
    exercises.iter().position(|(name, f)| locate(src, name, *f).is_ok_and(|(_, items)| items.iter().any(|it| it.start <= at && at < it.end)))
}

/// The learner's text with the exercise's items replaced by the stub's. Items are matched by
/// their first line; an item the learner added (an extra `impl`) is left alone.
pub fn restore(stub: &str, learner: &str, ex_name: &str, function: Option<&str>) -> anyhow::Result<(String, String)> {
    let (what, want) = locate(stub, ex_name, function).context("in the stub")?;
    let (_, have) = locate(learner, ex_name, function).context("in your file")?;
    let mut pairs = Vec::new();
    for w in &want {
        let h = have.iter().find(|h| h.header == w.header).ok_or_else(|| anyhow!("your file has no `{}` (renamed or deleted?)", w.header))?;
        pairs.push((h.clone(), &stub[w.start..w.end]));
    }
    pairs.sort_by_key(|(h, _)| std::cmp::Reverse(h.start));
    let mut out = learner.to_string();
    for (h, text) in pairs {
        out.replace_range(h.start..h.end, text);
    }
    Ok((what, out))
}

/// The pristine stub text of a week file (`src/arrays.rs` of week dir `week1`).
pub fn pristine_stub(root: &Path, week_dir: &str, file: &str) -> anyhow::Result<(String, String)> {
    let sol = root.join("solutions").join(week_dir).join(file);
    if sol.is_file() {
        let text = std::fs::read_to_string(&sol).with_context(|| format!("{}", sol.display()))?;
        return Ok((crate::stubs::transform(&text, &sol.display().to_string())?, format!("generated from solutions/{week_dir}/{file}")));
    }
    let shipped = root.join(STUBS_DIR).join(week_dir).join(file);
    match std::fs::read_to_string(&shipped) {
        Ok(t) => Ok((t, format!("{STUBS_DIR}/{week_dir}/{file}"))),
        Err(e) => Err(anyhow!("no pristine stub: neither solutions/{week_dir}/{file} nor {} ({e})", shipped.display())),
    }
}

/// Where `grader dist` ships the pristine stubs in a learner's copy.
pub const STUBS_DIR: &str = ".candlecamp/stubs";
/// Where reset keeps the learner's files before it changes them.
pub const BACKUP_DIR: &str = ".candlecamp/backups";

/// `YYYYMMDD-HHMMSS` in UTC.
pub fn timestamp(t: std::time::SystemTime) -> String {
    let secs = t.duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0) as i64;
    let (days, rem) = (secs.div_euclid(86400), secs.rem_euclid(86400));
    // Howard Hinnant's civil-from-days.
    let z = days + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
    format!("{y:04}{m:02}{d:02}-{:02}{:02}{:02}", rem / 3600, rem % 3600 / 60, rem % 60)
}

pub struct Outcome {
    pub file: PathBuf,
    pub what: String,
    /// None: the code already was the stub; nothing written.
    pub backup: Option<PathBuf>,
}

/// Reset exercise `ex` of week dir `week_dir` under `root` (the learner's `weeks/`).
pub fn run(root: &Path, week_dir: &str, ex: &Exercise, whole_file: bool) -> anyhow::Result<Outcome> {
    let rel = format!("weeks/{week_dir}/{}", ex.file);
    let path = root.join(&rel);
    let learner = std::fs::read_to_string(&path).with_context(|| format!("cannot read {rel}"))?;
    let (stub, _) = pristine_stub(root, week_dir, ex.file)?;
    let name = ex.id.rsplit('.').next().unwrap_or(ex.id);
    let (what, new) = if whole_file {
        (format!("the whole file {rel}"), stub)
    } else {
        let (what, new) =
            restore(&stub, &learner, name, ex.function).map_err(|e| anyhow!("{rel}: {e}; `grader reset {} --file` restores the whole file", ex.id))?;
        (format!("{what} in {rel}"), new)
    };
    if new == learner {
        return Ok(Outcome { file: path, what, backup: None });
    }
    let stamp = timestamp(std::time::SystemTime::now());
    let dir = root.join(BACKUP_DIR).join(format!("weeks/{week_dir}")).join(Path::new(ex.file).parent().unwrap_or(Path::new("")));
    std::fs::create_dir_all(&dir).with_context(|| format!("{}", dir.display()))?;
    let base = Path::new(ex.file).file_name().unwrap().to_string_lossy().to_string();
    let mut backup = dir.join(format!("{base}.{stamp}"));
    let mut k = 1;
    while backup.exists() {
        backup = dir.join(format!("{base}.{stamp}-{k}"));
        k += 1;
    }
    std::fs::write(&backup, &learner).with_context(|| format!("backup {}", backup.display()))?;
    std::fs::write(&path, &new).with_context(|| format!("cannot write {rel}"))?;
    Ok(Outcome { file: path, what, backup: Some(backup) })
}

#[cfg(test)]
mod tests {
    use super::*;

    const STUB: &str = r#"use x::y;

/// Doc of a.
pub fn a(x: &str) -> Result<u32> {
    todo!()
}

/// Doc of b.
pub fn b<'a>(x: &'a str) -> Result<&'a str> {
    todo!()
}

pub struct Lin {
    w: u32,
}

impl Lin {
    pub fn new() -> Lin {
        todo!()
    }
}

impl Layer for Lin {
    fn forward(&self) -> u32 {
        todo!()
    }
}
"#;

    fn learner() -> String {
        STUB.replacen(
            "pub fn a(x: &str) -> Result<u32> {\n    todo!()\n}",
            "pub fn a(x: &str) -> Result<u32> {\n    let s = \"}}{\"; // a } in a comment\n    let c = '{';\n    /* { */\n    Ok(s.len() as u32 + c as u32)\n}",
            1,
        )
        .replacen(
            "pub fn b<'a>(x: &'a str) -> Result<&'a str> {\n    todo!()\n}",
            "pub fn b<'a>(x: &'a str) -> Result<&'a str> {\n    if x.is_empty() { return Ok(r#\"{\"#) }\n    Ok(x)\n}",
            1,
        )
        .replacen(
            "        todo!()\n    }\n}\n\nimpl Layer",
            "        Lin { w: 1 }\n    }\n}\n\nimpl std::fmt::Debug for Lin {\n    fn fmt(&self) {}\n}\n\nimpl Layer",
            1,
        )
        .replacen("    fn forward(&self) -> u32 {\n        todo!()", "    fn forward(&self) -> u32 {\n        self.w * 2", 1)
    }

    #[test]
    fn restores_one_function_and_nothing_else() {
        let l = learner();
        let (what, out) = restore(STUB, &l, "a", Some("a")).unwrap();
        assert_eq!(what, "fn a");
        let expect =
            l.replacen("    let s = \"}}{\"; // a } in a comment\n    let c = '{';\n    /* { */\n    Ok(s.len() as u32 + c as u32)\n", "    todo!()\n", 1);
        assert_eq!(out, expect);
        // b (with lifetimes and a raw string holding a brace) too
        let (_, out) = restore(STUB, &l, "b", None).unwrap();
        assert_eq!(out, l.replacen("    if x.is_empty() { return Ok(r#\"{\"#) }\n    Ok(x)\n", "    todo!()\n", 1));
    }

    #[test]
    fn restores_a_type_and_keeps_the_learners_extra_impl() {
        let l = learner();
        let (what, out) = restore(STUB, &l, "lin", None).unwrap();
        assert_eq!(what, "type Lin (3 item(s))");
        assert!(out.contains("impl std::fmt::Debug for Lin {\n    fn fmt(&self) {}\n}"), "{out}");
        assert!(!out.contains("Lin { w: 1 }") && !out.contains("self.w * 2"), "{out}");
        assert!(out.contains("Ok(s.len() as u32 + c as u32)"), "fn a must stay the learner's");
        assert!(out.contains("    if x.is_empty() { return Ok(r#\"{\"#) }"), "fn b must stay the learner's");
        assert_eq!(out.matches("todo!()").count(), 2, "{out}");
    }

    #[test]
    fn refuses_what_it_cannot_find() {
        assert!(format!("{:#}", restore(STUB, &learner(), "nothing_here", None).unwrap_err()).contains("no type or function named nothing_here"));
        let two = format!("{STUB}\nimpl Other {{\n    fn forward(&self) {{}}\n}}\n");
        assert!(format!("{:#}", restore(&two, &two, "x", Some("forward")).unwrap_err()).contains("2 functions are named forward"));
        let gone = learner().replace("pub fn a(", "pub fn renamed(");
        assert!(format!("{:#}", restore(STUB, &gone, "a", None).unwrap_err()).contains("in your file"));
    }

    #[test]
    fn timestamps() {
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_795_130_096);
        assert_eq!(timestamp(t), "20261119-231456");
        assert_eq!(timestamp(std::time::UNIX_EPOCH), "19700101-000000");
    }

    /// Every exercise reset can locate in the real stubs is found in the same place in the
    /// stub itself (a no-op), and the ones it cannot are few and reported, not guessed.
    #[test]
    fn real_stubs_locate() {
        let root = crate::root();
        let (mut located, mut unlocated) = (Vec::new(), Vec::new());
        for w in crate::registry::weeks().iter().filter(|w| !w.hidden) {
            for e in w.exercises() {
                let Ok(text) = std::fs::read_to_string(root.join("weeks").join(w.dir).join(e.file)) else { continue };
                let name = e.id.rsplit('.').next().unwrap();
                match restore(&text, &text, name, e.function) {
                    Ok((what, out)) => {
                        assert_eq!(out, text, "{}", e.id);
                        located.push(format!("{} → {what}", e.id));
                    }
                    Err(err) => unlocated.push(format!("{}: {err}", e.id)),
                }
            }
        }
        eprintln!("reset locates:\n  {}\nreset needs --file for:\n  {}", located.join("\n  "), unlocated.join("\n  "));
        // Most exercises are one function or one type; the rest (a long variant of another
        // exercise, a group of layers) are few.
        assert!(unlocated.len() * 20 <= located.len() + unlocated.len(), "reset cannot locate {} exercises", unlocated.len());
    }
}
