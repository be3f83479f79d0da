//! The book (`book/`, an mdBook): where an exercise's page is, and the scan behind the
//! registry ↔ book consistency test.
//!
//! An exercise's page is `Exercise::page`, relative to `book/src/` (`week1/arrays.md#cumsum`).
//! People are pointed at it as
//! - `$CANDLECAMP_BOOK_URL/week1/arrays.html#cumsum` when that variable is set (the published
//!   book, e.g. `https://example.org/candlecamp`), else
//! - the `book-url` key in `book/candlecamp.toml` when it is not empty (mdBook rejects unknown
//!   tables in `book.toml`), else
//! - the local file `book/build/week1/arrays.html#cumsum` when the book was built (`just book`),
//! - and otherwise the page's source `book/src/week1/arrays.md#cumsum` (the section's heading id).

use anyhow::Context;
use std::collections::BTreeMap;
use std::path::Path;

/// `week1/arrays.md#cumsum` → `week1/arrays.html#cumsum`
pub fn html_page(page: &str) -> String {
    let (file, anchor) = page.split_once('#').unwrap_or((page, ""));
    let html = file.strip_suffix(".md").map(|f| format!("{f}.html")).unwrap_or_else(|| file.to_string());
    if anchor.is_empty() {
        html
    } else {
        format!("{html}#{anchor}")
    }
}

/// The published book's base URL: `CANDLECAMP_BOOK_URL`, else `book-url` in book/candlecamp.toml.
pub fn base_url(root: &Path) -> Option<String> {
    if let Some(u) = std::env::var("CANDLECAMP_BOOK_URL").ok().filter(|u| !u.trim().is_empty()) {
        return Some(u.trim().trim_end_matches('/').to_string());
    }
    let toml = std::fs::read_to_string(root.join("book/candlecamp.toml")).ok()?;
    for line in toml.lines() {
        let t = line.trim();
        if t.starts_with('[') {
            break; // only top-level keys
        }
        if let Some((k, v)) = t.split_once('=') {
            if k.trim() == "book-url" {
                let v = v.trim().trim_matches('"').trim().trim_end_matches('/');
                return (!v.is_empty()).then(|| v.to_string());
            }
        }
    }
    None
}

/// Where to read an exercise's page (see the module comment for the order).
pub fn page_location(root: &Path, page: &str) -> String {
    if let Some(base) = base_url(root) {
        return format!("{base}/{}", html_page(page));
    }
    let html = html_page(page);
    let file = html.split('#').next().unwrap_or("");
    if root.join("book/build").join(file).is_file() {
        return format!("book/build/{html}");
    }
    format!("book/src/{page}")
}

/// Every `weekN.day.name` written in `text` (letters, digits and `_` in each part).
pub fn ids_in(text: &str) -> Vec<String> {
    let b = text.as_bytes();
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(off) = text[i..].find("week") {
        let start = i + off;
        i = start + 4;
        if start > 0 && (word(b[start - 1]) || b[start - 1] == b'.') {
            continue;
        }
        // week digits
        let mut j = start + 4;
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
        if j == start + 4 {
            continue;
        }
        // two more dot-separated words
        let mut parts = 0;
        while parts < 2 && j < b.len() && b[j] == b'.' {
            let k0 = j + 1;
            let mut k = k0;
            while k < b.len() && word(b[k]) {
                k += 1;
            }
            if k == k0 {
                break;
            }
            j = k;
            parts += 1;
        }
        if parts == 2 && !(j + 1 < b.len() && b[j] == b'.' && word(b[j + 1])) {
            out.push(text[start..j].to_string());
            i = j;
        }
    }
    out
}

/// The pages linked from `book/src/SUMMARY.md`, in order (paths relative to `book/src`).
pub fn summary_pages(root: &Path) -> anyhow::Result<Vec<String>> {
    let path = root.join("book/src/SUMMARY.md");
    let text = std::fs::read_to_string(&path).with_context(|| format!("{}", path.display()))?;
    let mut pages = Vec::new();
    for line in text.lines() {
        let mut rest = line;
        while let Some(p) = rest.find("](") {
            let after = &rest[p + 2..];
            let Some(end) = after.find(')') else { break };
            let target = after[..end].trim();
            if target.ends_with(".md") {
                pages.push(target.trim_start_matches("./").to_string());
            }
            rest = &after[end..];
        }
    }
    Ok(pages)
}

/// Every markdown file under `book/src` (relative paths), with its text.
pub fn pages(root: &Path) -> anyhow::Result<BTreeMap<String, String>> {
    fn walk(dir: &Path, base: &Path, out: &mut BTreeMap<String, String>) -> anyhow::Result<()> {
        for e in std::fs::read_dir(dir).with_context(|| format!("{}", dir.display()))?.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, base, out)?;
            } else if p.extension().is_some_and(|x| x == "md") {
                let rel = p.strip_prefix(base).unwrap().to_string_lossy().replace('\\', "/");
                out.insert(rel, std::fs::read_to_string(&p).with_context(|| format!("{}", p.display()))?);
            }
        }
        Ok(())
    }
    let mut out = BTreeMap::new();
    let src = root.join("book/src");
    walk(&src, &src, &mut out)?;
    Ok(out)
}

/// The heading ids mdBook gives a page's headings (`## cumsum` → `cumsum`): lower case,
/// spaces to `-`, other punctuation but `-` and `_` dropped.
pub fn heading_ids(text: &str) -> Vec<String> {
    let mut fenced = false;
    let mut out = Vec::new();
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced || !line.starts_with('#') {
            continue;
        }
        let title = line.trim_start_matches('#').trim().replace('`', "");
        let id: String = title
            .to_lowercase()
            .chars()
            .filter_map(|c| match c {
                ' ' => Some('-'),
                c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
                _ => None,
            })
            .collect();
        out.push(id);
    }
    out
}

/// Everything wrong between the registry (`ids`: exercise id → page) and the book: pages that
/// are missing or not in SUMMARY.md, missing headings, ids not named on their page or named on
/// another week page, and ids on any page that nothing registers (`known` lists the other ids
/// a page may name, such as benchmarks). Week pages are the pages under `book/src/weekN/`.
pub fn problems(root: &Path, ids: &[(String, String)], known: &[String]) -> anyhow::Result<Vec<String>> {
    let pages = pages(root)?;
    let summary = summary_pages(root)?;
    let mut problems = Vec::new();
    for s in &summary {
        if !pages.contains_key(s) {
            problems.push(format!("SUMMARY.md links {s}, which does not exist"));
        }
    }
    let is_week_page = |p: &str| p.split('/').next().is_some_and(|d| d.starts_with("week") && p.contains('/'));
    for p in pages.keys() {
        if p != "SUMMARY.md" && !summary.contains(p) {
            problems.push(format!("book/src/{p} is not linked from SUMMARY.md, so the book never shows it"));
        }
    }
    for (id, page) in ids {
        let (file, anchor) = page.split_once('#').unwrap_or((page, ""));
        let Some(text) = pages.get(file) else {
            problems.push(format!("{id}: its page book/src/{file} does not exist"));
            continue;
        };
        if !anchor.is_empty() && !heading_ids(text).iter().any(|h| h == anchor) {
            problems.push(format!("{id}: book/src/{file} has no heading `## {anchor}`"));
        }
        if !ids_in(text).iter().any(|x| x == id) {
            problems.push(format!("{id}: its page book/src/{file} does not name the id"));
        }
        for (other, t) in &pages {
            if other != file && is_week_page(other) && ids_in(t).iter().any(|x| x == id) {
                problems.push(format!("{id}: named on book/src/{other} too; an exercise belongs to exactly one page ({file})"));
            }
        }
    }
    for (p, t) in &pages {
        let mut seen = Vec::new();
        for x in ids_in(t) {
            if !seen.contains(&x) && !ids.iter().any(|(id, _)| *id == x) && !known.contains(&x) {
                problems.push(format!("book/src/{p} names {x}, which the grader does not register"));
            }
            seen.push(x);
        }
    }
    Ok(problems)
}

/// The line under an exercise's heading that shows its pace, e.g. `*Difficulty ★★☆ · about 25
/// minutes.*`.
pub fn pace_line(difficulty: u8, minutes: u32) -> String {
    let stars = format!("{}{}", "★".repeat(difficulty as usize), "☆".repeat(3usize.saturating_sub(difficulty as usize)));
    format!("*Difficulty {stars} · about {minutes} minutes.*")
}

/// Whether `line` is a Markdown heading (any level) whose text is `anchor`.
fn is_heading(line: &str, anchor: &str) -> bool {
    line.starts_with('#') && line.trim_start_matches('#').trim() == anchor
}

/// Pages whose exercise headings do not show the registered pace on the line after the
/// heading (a blank line between them is allowed).
pub fn pace_problems(root: &Path, exercises: &[crate::registry::Exercise]) -> anyhow::Result<Vec<String>> {
    let pages = pages(root)?;
    let mut out = Vec::new();
    for e in exercises {
        let (file, anchor) = e.page.split_once('#').unwrap_or((&e.page, ""));
        let Some(text) = pages.get(file) else { continue };
        let lines: Vec<&str> = text.lines().collect();
        let Some(h) = lines.iter().position(|l| is_heading(l, anchor)) else { continue };
        let want = pace_line(e.difficulty, e.minutes);
        let got = lines[h + 1..].iter().find(|l| !l.trim().is_empty()).map(|l| l.trim()).unwrap_or("");
        if got != want {
            out.push(format!(
                "{}: book/src/{file} shows {got:?} under its heading `{anchor}`, the registry says {want:?} (`just registry` then `just book-pace`)",
                e.id
            ));
        }
    }
    Ok(out)
}

/// Write the registered pace under every exercise heading of the book (replacing an old pace
/// line): `grader book-pace`, after a pace changes.
pub fn write_pace(root: &Path, exercises: &[crate::registry::Exercise]) -> anyhow::Result<usize> {
    let mut changed = 0;
    let mut by_file: BTreeMap<&str, Vec<&crate::registry::Exercise>> = BTreeMap::new();
    for e in exercises {
        by_file.entry(e.page.split('#').next().unwrap_or("")).or_default().push(e);
    }
    for (file, exs) in by_file {
        let path = root.join("book/src").join(file);
        let Ok(text) = std::fs::read_to_string(&path) else { continue };
        let mut lines: Vec<String> = text.lines().map(String::from).collect();
        for e in exs {
            let anchor = e.page.split_once('#').map(|(_, a)| a).unwrap_or("");
            let Some(h) = lines.iter().position(|l| is_heading(l, anchor)) else { continue };
            let want = pace_line(e.difficulty, e.minutes);
            // The pace line sits after one blank line; replace an old one.
            let k = h + 2;
            if k < lines.len() && lines[k].starts_with("*Difficulty ") {
                lines[k] = want;
            } else {
                lines.insert(h + 1, String::new());
                lines.insert(h + 2, want);
            }
        }
        let new = lines.join("\n") + "\n";
        if new != text {
            std::fs::write(&path, new).with_context(|| format!("cannot write {}", path.display()))?;
            changed += 1;
        }
    }
    Ok(changed)
}

/// The registry's side: (id, page) of every exercise of every visible week.
pub fn registered() -> Vec<(String, String)> {
    crate::registry::weeks().iter().filter(|w| !w.hidden).flat_map(|w| w.exercises().into_iter().map(|e| (e.id.to_string(), e.page.clone()))).collect()
}

/// Ids of benchmarks (`grader bench`), which a page may name without them being exercises.
pub fn bench_ids() -> Vec<String> {
    crate::registry::weeks().iter().flat_map(|w| w.bench_ids()).collect()
}

/// A copy of the book in `stage` (its `book.toml` and `src/`) where every picture the learner's
/// own grades drew (`target/candlecamp/<week>/<name>.png`, the same name as the reference's
/// `../images/<week>/<name>.png`) is shown beside the reference's: what `just book` builds in a
/// learner's copy. The number of pictures paired.
pub fn stage(root: &Path, stage: &Path) -> anyhow::Result<usize> {
    use anyhow::Context;
    let _ = std::fs::remove_dir_all(stage);
    let (src, out) = (root.join("book/src"), stage.join("src"));
    fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(to)?;
        for e in std::fs::read_dir(from)?.flatten() {
            let p = e.path();
            if p.is_dir() {
                copy_dir(&p, &to.join(e.file_name()))?;
            } else {
                std::fs::copy(&p, to.join(e.file_name()))?;
            }
        }
        Ok(())
    }
    copy_dir(&src, &out).with_context(|| format!("copying {} to {}", src.display(), out.display()))?;
    std::fs::copy(root.join("book/book.toml"), stage.join("book.toml")).context("book.toml")?;
    let mut paired = 0;
    let mut pages = Vec::new();
    fn md_files(d: &Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                md_files(&p, out);
            } else if p.extension().is_some_and(|x| x == "md") {
                out.push(p);
            }
        }
    }
    md_files(&out, &mut pages);
    for page in pages {
        let text = std::fs::read_to_string(&page)?;
        let mut changed = false;
        let lines: Vec<String> = text
            .lines()
            .map(|line| {
                let t = line.trim();
                let picture = t.strip_prefix("![").and_then(|r| r.split_once("](../images/")).and_then(|(alt, rest)| rest.strip_suffix(')').map(|f| (alt, f)));
                let Some((alt, rel)) = picture else { return line.to_string() };
                let yours = root.join("target/candlecamp").join(rel);
                if !yours.is_file() {
                    return line.to_string();
                }
                let copy = out.join("images/yours").join(rel);
                if std::fs::create_dir_all(copy.parent().unwrap()).and_then(|_| std::fs::copy(&yours, &copy)).is_err() {
                    return line.to_string();
                }
                changed = true;
                paired += 1;
                format!(
                    "<div style=\"display: flex; gap: 1em; flex-wrap: wrap\">\n<figure><img src=\"../images/{rel}\" alt=\"{alt} (the reference)\"><figcaption>the reference</figcaption></figure>\n<figure><img src=\"../images/yours/{rel}\" alt=\"{alt} (yours)\"><figcaption>yours, from your last grade</figcaption></figure>\n</div>"
                )
            })
            .collect();
        if changed {
            std::fs::write(&page, lines.join("\n") + "\n")?;
        }
    }
    Ok(paired)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_ids_in_prose() {
        let t = "`week1.arrays.cumsum`: see week2.gpt2.attention. Not week1/arrays.md, week1_x.py, \
                 xweek1.a.b, week1.a, nor week1.a.b.c; but (week10.day_2.name_3).";
        assert_eq!(ids_in(t), vec!["week1.arrays.cumsum", "week2.gpt2.attention", "week10.day_2.name_3"]);
    }

    #[test]
    fn html_pages_and_locations() {
        assert_eq!(html_page("week1/arrays.md#cumsum"), "week1/arrays.html#cumsum");
        assert_eq!(html_page("setup.md"), "setup.html");
        let dir = std::env::temp_dir().join(format!("candlecamp-book-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("book/build/week1")).unwrap();
        // No URL configured and no build: the source page.
        std::fs::write(dir.join("book/candlecamp.toml"), "# comment\nbook-url = \"\"\n").unwrap();
        if std::env::var_os("CANDLECAMP_BOOK_URL").is_none() {
            assert_eq!(page_location(&dir, "week1/a.md#x"), "book/src/week1/a.md#x");
            std::fs::write(dir.join("book/build/week1/a.html"), "").unwrap();
            assert_eq!(page_location(&dir, "week1/a.md#x"), "book/build/week1/a.html#x");
            std::fs::write(dir.join("book/candlecamp.toml"), "book-url = \"https://example.org/cc/\"\n").unwrap();
            assert_eq!(page_location(&dir, "week1/a.md#x"), "https://example.org/cc/week1/a.html#x");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn heading_ids_follow_mdbook() {
        assert_eq!(heading_ids("# Arrays\n## cumsum\n```\n# not a heading\n```\n## `batch_norm2d` again"), vec!["arrays", "cumsum", "batch_norm2d-again"]);
    }

    /// A fake book with every kind of inconsistency is caught, one problem each.
    #[test]
    fn consistency_scan_finds_each_problem() {
        let dir = std::env::temp_dir().join(format!("candlecamp-bookscan-{}", std::process::id()));
        let src = dir.join("book/src");
        std::fs::create_dir_all(src.join("week9")).unwrap();
        std::fs::write(src.join("SUMMARY.md"), "[Intro](intro.md)\n- [A](week9/a.md)\n- [Gone](week9/gone.md)\n").unwrap();
        std::fs::write(src.join("intro.md"), "Try week9.a.one or week9.a.ghost.\n").unwrap();
        std::fs::write(src.join("week9/a.md"), "## one\n`week9.a.one`\n## two\nno id here; but week9.b.three\n").unwrap();
        std::fs::write(src.join("week9/b.md"), "## three\n`week9.b.three`\n").unwrap();
        let ids = vec![
            ("week9.a.one".to_string(), "week9/a.md#one".to_string()),
            ("week9.a.two".to_string(), "week9/a.md#two".to_string()),
            ("week9.b.three".to_string(), "week9/b.md#three".to_string()),
            ("week9.c.four".to_string(), "week9/c.md#four".to_string()),
        ];
        let p = problems(&dir, &ids, &[]).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        let expect = [
            "links week9/gone.md, which does not exist",
            "book/src/week9/b.md is not linked from SUMMARY.md",
            "week9.a.two: its page book/src/week9/a.md does not name the id",
            "week9.b.three: named on book/src/week9/a.md too",
            "week9.c.four: its page book/src/week9/c.md does not exist",
            "book/src/intro.md names week9.a.ghost, which the grader does not register",
        ];
        for e in expect {
            assert!(p.iter().any(|x| x.contains(e)), "missing {e:?} in {p:#?}");
        }
        assert_eq!(p.len(), expect.len(), "{p:#?}");
    }
}
