//! What `grader solution` shows, for every exercise of every week: each solution region belongs
//! to exactly one exercise, and an exercise's shown text holds its own regions and nothing
//! of another's (only given code, `todo!()` in place of other exercises' bodies, and shared
//! helpers). Every shown text is written to `target/candlecamp/solutions/<id>.rs` for review.

use std::collections::HashSet;
use std::path::PathBuf;

fn repo() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/..")).canonicalize().unwrap()
}

#[test]
fn each_shown_solution_holds_only_its_exercises_code() {
    let root = repo();
    if !root.join("solutions").is_dir() {
        return; // a learner copy
    }
    let out_dir = root.join("target/candlecamp/solutions");
    let _ = std::fs::create_dir_all(&out_dir);
    let mut problems = Vec::new();
    let mut shown_count = 0;
    for week in grader::registry::weeks().iter().filter(|w| !w.hidden) {
        let exercises = week.exercises();
        let mut files: Vec<&str> = exercises.iter().map(|e| e.file).collect();
        files.sort();
        files.dedup();
        for file in files {
            let path = root.join("solutions").join(week.dir).join(file);
            let src = std::fs::read_to_string(&path).unwrap();
            let stub = grader::stubs::transform(&src, file).unwrap();
            let given: HashSet<&str> = stub.lines().map(str::trim).collect();
            let of_file: Vec<&grader::registry::Exercise> = exercises.iter().filter(|e| e.file == file).collect();
            let exs: Vec<grader::regions::Ex> =
                of_file.iter().map(|e| grader::regions::Ex { name: e.id.rsplit('.').next().unwrap(), function: e.function }).collect();
            let regions = grader::regions::parse(&src).unwrap();
            let owners = match grader::regions::owners(&src, &regions, &exs) {
                Ok(o) => o,
                Err(e) => {
                    problems.push(format!("{}: {e}", path.display()));
                    continue;
                }
            };
            let helper_lines: HashSet<&str> =
                regions.iter().zip(&owners).filter(|(_, o)| o.is_empty()).flat_map(|(r, _)| r.text.lines().map(str::trim)).collect();
            for (me, ex) in of_file.iter().enumerate() {
                let Some(text) = grader::regions::shown(&src, &exs, me).unwrap() else { continue };
                shown_count += 1;
                std::fs::write(out_dir.join(format!("{}.rs", ex.id)), &text).unwrap();
                let own: HashSet<&str> =
                    regions.iter().zip(&owners).filter(|(_, o)| o.contains(&me)).flat_map(|(r, _)| r.text.lines().map(str::trim)).collect();
                for line in text.lines().map(str::trim) {
                    // A type whose fields are all the solution's is `struct S {}` in the stub.
                    let emptied = line.ends_with('{') && given.contains(format!("{line}}}").as_str());
                    if line.is_empty() || line == "todo!()" || emptied || given.contains(line) || own.contains(line) || helper_lines.contains(line) {
                        continue;
                    }
                    problems.push(format!("{}: shows `{line}`, which is neither given code nor its own", ex.id));
                }
                for (k, r) in regions.iter().enumerate() {
                    if owners[k].contains(&me) {
                        let body: Vec<&str> = r.text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with("///")).collect();
                        let shown: Vec<&str> = text.lines().map(str::trim).collect();
                        if !body.iter().all(|l| shown.contains(l)) {
                            problems.push(format!("{}: its region at {}:{} is not all shown", ex.id, path.display(), r.begin + 1));
                        }
                    }
                }
            }
        }
    }
    assert!(shown_count > 250, "only {shown_count} exercises show a solution: is the scan broken?");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
