//! The one Rust source scanner: which bytes of a source file are code, and not comments, string
//! or char literals. `reset` matches items with it, the forbidden-API rules read function
//! bodies through it, and `grader mutants` mutates only code with it, so a `//` inside a string
//! literal or a brace inside a comment means the same thing to all three.

/// Which bytes of `src` are code (not comments, strings or char literals).
pub fn code_mask(src: &str) -> Vec<bool> {
    let b = src.as_bytes();
    let n = b.len();
    let mut mask = vec![true; n];
    let mut i = 0;
    let blank = |mask: &mut Vec<bool>, from: usize, to: usize| {
        for m in &mut mask[from..to.min(n)] {
            *m = false;
        }
    };
    while i < n {
        let c = b[i];
        if c == b'/' && i + 1 < n && b[i + 1] == b'/' {
            let end = src[i..].find('\n').map(|e| i + e).unwrap_or(n);
            blank(&mut mask, i, end);
            i = end;
        } else if c == b'/' && i + 1 < n && b[i + 1] == b'*' {
            let (mut depth, mut j) = (1, i + 2);
            while j < n && depth > 0 {
                if b[j] == b'/' && j + 1 < n && b[j + 1] == b'*' {
                    depth += 1;
                    j += 2;
                } else if b[j] == b'*' && j + 1 < n && b[j + 1] == b'/' {
                    depth -= 1;
                    j += 2;
                } else {
                    j += 1;
                }
            }
            blank(&mut mask, i, j);
            i = j;
        } else if (c == b'r' || (c == b'b' && i + 1 < n && b[i + 1] == b'r')) && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_')) && {
            let k = if c == b'b' { i + 2 } else { i + 1 };
            let mut h = k;
            while h < n && b[h] == b'#' {
                h += 1;
            }
            h < n && b[h] == b'"'
        } {
            // raw string r#"…"#
            let k = if c == b'b' { i + 2 } else { i + 1 };
            let mut h = k;
            while b[h] == b'#' {
                h += 1;
            }
            let close = format!("\"{}", "#".repeat(h - k));
            let end = src[h + 1..].find(&close).map(|e| h + 1 + e + close.len()).unwrap_or(n);
            blank(&mut mask, i, end);
            i = end;
        } else if c == b'"' {
            let mut j = i + 1;
            while j < n && b[j] != b'"' {
                j += if b[j] == b'\\' { 2 } else { 1 };
            }
            blank(&mut mask, i, j + 1);
            i = j + 1;
        } else if c == b'\'' {
            // A char literal ('x', '\n', '\u{1F600}', '{') or a lifetime ('a).
            if i + 1 < n && b[i + 1] == b'\\' {
                let end = src[i + 2..].find('\'').map(|e| i + 2 + e + 1).unwrap_or(n);
                blank(&mut mask, i, end);
                i = end;
            } else if let Some(ch) = src[i + 1..].chars().next() {
                let after = i + 1 + ch.len_utf8();
                if after < n && b[after] == b'\'' {
                    blank(&mut mask, i, after + 1);
                    i = after + 1;
                } else {
                    i += 1;
                }
            } else {
                i += 1;
            }
        } else {
            i += 1;
        }
    }
    mask
}

/// `src` with every byte that is not code (comments, strings, char literals) replaced by a space
/// (newlines kept, so line numbers stay).
pub fn code_only(src: &str) -> String {
    let mask = code_mask(src);
    src.char_indices().map(|(i, c)| if mask[i] || c == '\n' { c } else { ' ' }).collect()
}

/// The code of `fn name`'s body (comments and literals blanked), or None.
pub fn function_body(src: &str, name: &str) -> Option<String> {
    let code = code_only(src);
    let pat = format!("fn {name}");
    let mut from = 0;
    let start = loop {
        let i = code[from..].find(&pat)? + from;
        let before_ok = i == 0 || !code[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_');
        let next = code[i + pat.len()..].chars().next()?;
        if before_ok && (next == '(' || next == '<' || next.is_whitespace()) {
            break i;
        }
        from = i + pat.len();
    };
    let open = code[start..].find('{')? + start;
    let mut depth = 0;
    for (k, ch) in code[open..].char_indices() {
        match ch {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(code[open + 1..open + k].to_string());
                }
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_skip_comments_and_literals() {
        let src = "fn cumsum_helper() { 1 }\n/// doc\npub fn cumsum(a: &T) -> R {\n    // a.cumsum(0) is forbidden\n    let url = \"http://x.y/{\";\n    let x = { a.sum(0) };\n    x\n}\n";
        let b = function_body(src, "cumsum").unwrap();
        assert!(b.contains("a.sum(0)") && !b.contains("a.cumsum"), "{b}");
        // The string's `//` and `{` are not code: the body still ends at the right brace.
        assert!(b.trim_end().ends_with('x') && !b.contains("http"), "{b}");
        assert!(function_body(src, "missing").is_none());
        assert!(function_body("fn notcumsum() {}", "cumsum").is_none());
    }
}
