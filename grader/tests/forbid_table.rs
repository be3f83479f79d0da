//! The table of library ops each exercise must not call (`grader::forbid`): every exercise it
//! names exists, its reference calls none of them, and each op planted in the reference's
//! code (by its path, through a `use … as` alias, and inside a helper of the learner's own)
//! fails the rules check with a message naming the op.

use std::path::PathBuf;

fn repo() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/..")).canonicalize().unwrap()
}

/// `src` with `text` inserted at the start of the body of the first function `code` names.
fn plant(src: &str, code: &[String], text: &str) -> String {
    let f = grader::reset::fn_items(src).into_iter().find(|f| code.iter().any(|p| f.path() == *p || f.name == *p)).expect("the exercise's function");
    format!("{}{{ {text}\n{}", &src[..f.body], &src[f.body + 1..])
}

#[test]
fn every_library_op_of_the_table_is_refused_where_it_is_taught() {
    let root = repo();
    if !root.join("solutions").is_dir() {
        return; // a learner copy
    }
    let mut planted = 0;
    for id in grader::forbid::table_ids() {
        let (w, e) = grader::registry::find_exercise(id).unwrap_or_else(|| panic!("the table names {id}, which is no exercise"));
        let src = std::fs::read_to_string(root.join("solutions").join(w.dir).join(e.file)).unwrap();
        let stub = grader::stubs::transform(&src, e.file).unwrap();
        let code = grader::registry::code_of(&e);
        assert!(!code.is_empty(), "{id}: no function holds its code");
        let ops = grader::forbid::library_ops(id);
        let verdict = |s: &str| grader::forbid::verdict(s, Some(&stub), &code, e.forbidden, &ops);
        assert_eq!(verdict(&src), Ok(()), "{id}: the reference breaks its own rules");
        for op in &ops {
            let name = op.trim_start_matches('.').trim_end_matches('(').rsplit("::").next().unwrap();
            let mut ways = Vec::new();
            if op.starts_with('.') {
                ways.push(("a method call", plant(&src, &code, &format!("let _ = planted{op});"))));
            } else {
                ways.push(("its path", plant(&src, &code, &format!("let _ = {op};"))));
                let aliased = plant(&src, &code, "let _ = planted_alias;");
                ways.push(("an alias", format!("use {op} as planted_alias;\n{aliased}")));
                let helper = plant(&src, &code, "planted_helper();");
                ways.push(("a helper of its own", format!("{helper}\nfn planted_helper() {{\n    let _ = {op};\n}}\n")));
            }
            for (how, text) in ways {
                match verdict(&text) {
                    Err(why) if why.contains(name) => planted += 1,
                    other => panic!("{id}: {op} planted through {how} was not refused by name: {other:?}"),
                }
            }
        }
    }
    assert!(planted > 200, "only {planted} plants: is the table empty?");
}
