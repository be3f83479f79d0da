//! Which exercise a failing exercise calls that fails its own check. When `block` fails because
//! the `attention` it calls is wrong, the report says so ("calls Attention (week2.gpt2.attention),
//! which fails its own check: fix that first") instead of leaving the learner to debug the
//! block.
//!
//! The calls are read from the learner's source: the functions that hold an exercise's code
//! (`registry::code_of`), signatures included. Exercise Y is called by X when X names one of Y's
//! free functions, or names Y's type and one of Y's methods on it.

use crate::registry::{Exercise, Week};
use crate::report::{ExerciseReport, Status};
use std::collections::{BTreeSet, HashMap};

/// What X calls of Y: Y's id, and how X names it.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub callee: String,
    pub named: String,
}

/// The identifiers of the functions `code` names, in `src`.
fn identifiers_of(src: &str, code: &[String]) -> BTreeSet<String> {
    let fns = crate::reset::fn_items(src);
    let text: String =
        fns.iter().filter(|f| code.iter().any(|p| f.path() == *p || (!p.contains("::") && f.name == *p))).map(|f| &src[f.start..f.end]).collect();
    crate::source::code_only(&text).split(|c: char| !(c.is_alphanumeric() || c == '_')).filter(|w| !w.is_empty()).map(String::from).collect()
}

/// How `words` (X's identifiers) call the exercise whose code is `code`, if they do.
pub fn named_call(words: &BTreeSet<String>, code: &[String]) -> Option<String> {
    for p in code {
        match p.split_once("::") {
            Some((ty, method)) if words.contains(ty) && words.contains(method) => return Some(ty.to_string()),
            None if words.contains(p.as_str()) => return Some(p.clone()),
            _ => {}
        }
    }
    None
}

/// Every exercise of `week` that each of `exercises` calls, read from the sources graded now.
pub fn calls(week: &Week, exercises: &[Exercise]) -> HashMap<String, Vec<Call>> {
    let all = week.exercises();
    let code: HashMap<&str, Vec<String>> = all.iter().map(|e| (e.id, crate::registry::code_of(e))).collect();
    let mut sources: HashMap<&str, String> = HashMap::new();
    let mut out = HashMap::new();
    for x in exercises {
        let src = sources.entry(x.file).or_insert_with(|| std::fs::read_to_string(crate::subject::source_dir(week.dir).join(x.file)).unwrap_or_default());
        let words = identifiers_of(src, code.get(x.id).map(|c| c.as_slice()).unwrap_or(&[]));
        let found: Vec<Call> = all
            .iter()
            .filter(|y| y.id != x.id)
            .filter_map(|y| named_call(&words, code.get(y.id)?).map(|named| Call { callee: y.id.to_string(), named }))
            .collect();
        out.insert(x.id.to_string(), found);
    }
    out
}

/// The note for a failing exercise that calls one failing its own check (`statuses`: what is
/// known of every exercise now: this run's results, else the last recorded ones).
pub fn note(report: &ExerciseReport, calls: &[Call], statuses: &HashMap<String, Status>) -> Option<String> {
    if !matches!(report.status, Status::Failed | Status::Crashed | Status::TimedOut) {
        return None;
    }
    let broken: Vec<String> = calls
        .iter()
        .filter(|c| matches!(statuses.get(&c.callee), Some(Status::Failed | Status::Crashed | Status::TimedOut)))
        .map(|c| format!("calls {} ({}), which fails its own check: fix that first", c.named, c.callee))
        .collect();
    (!broken.is_empty()).then(|| broken.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_type_and_a_method_or_a_function_make_a_call() {
        let src = "impl Block {\n    pub fn load(vb: V) -> Block { Block { attn: Attention::load(vb)? } }\n    pub fn forward(&self, x: &T) -> R { self.attn.forward(x) + layer_norm(x) }\n}\n";
        let words = identifiers_of(src, &["Block::load".into(), "Block::forward".into()]);
        assert_eq!(named_call(&words, &["Attention::load".into(), "Attention::forward".into()]).as_deref(), Some("Attention"));
        assert_eq!(named_call(&words, &["Attention::forward_cached".into()]), None);
        assert_eq!(named_call(&words, &["layer_norm".into()]).as_deref(), Some("layer_norm"));
        assert_eq!(named_call(&words, &["gelu_new".into()]), None);
    }
}
