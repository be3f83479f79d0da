//! The library ops each exercise must not call: the exercise that teaches a concept writes it
//! out, so the op of `fastops`, `candle_nn` or candle's own tensor methods that would do its
//! whole job is refused there (by name, by a `use … as` alias, through a module alias or a
//! glob import, and in the helpers the learner's code calls). The exercises after it may call
//! the op: the book's "fastops" page says from which day.
//!
//! An op is a path (`fastops::layer_norm`, `candle_nn::ops::softmax_last_dim`, a type such as
//! `candle_nn::LayerNorm`) or a method (`.relu(`).

use crate::source::code_only;

const SOFTMAX: &[&str] = &["candle_nn::ops::softmax", "candle_nn::ops::softmax_last_dim", "candle_nn::ops::log_softmax", "fastops::softmax_last_dim"];
const CROSS_ENTROPY: &[&str] = &["candle_nn::loss::cross_entropy", "candle_nn::loss::nll", "fastops::cross_entropy"];
const LAYER_NORM: &[&str] = &[
    "candle_nn::LayerNorm",
    "candle_nn::layer_norm",
    "candle_nn::ops::layer_norm",
    "candle_nn::ops::layer_norm_slow",
    "candle_nn::ops::rms_norm",
    "candle_nn::RmsNorm",
    "fastops::layer_norm",
];
const BATCH_NORM: &[&str] = &["candle_nn::BatchNorm", "candle_nn::batch_norm"];
const GROUP_NORM: &[&str] = &["candle_nn::GroupNorm", "candle_nn::group_norm"];
const LINEAR: &[&str] =
    &["candle_nn::Linear", "candle_nn::linear", "candle_nn::linear_no_bias", "candle_nn::linear_b", "fastops::linear", "fastops::matmul_bias"];
const CONV: &[&str] = &[
    "candle_nn::Conv1d",
    "candle_nn::Conv2d",
    "candle_nn::conv1d",
    "candle_nn::conv2d",
    "fastops::conv2d",
    ".conv1d(",
    ".conv2d(",
    ".conv_transpose1d(",
    ".conv_transpose2d(",
];
const POOL: &[&str] = &[".max_pool2d(", ".max_pool2d_with_stride(", ".avg_pool2d(", ".avg_pool2d_with_stride(", "fastops::max_pool2d"];
const RELU: &[&str] = &[".relu(", "candle_nn::Activation", "candle_nn::ops::relu", "fastops::relu"];
const GELU: &[&str] = &[".gelu(", ".gelu_erf(", "candle_nn::Activation", "fastops::gelu_erf"];
/// candle's fused attention kernels, which have no backward pass.
const FUSED_ATTENTION: &[&str] = &["candle_nn::ops::sdpa", "candle_nn::ops::softmax_last_dim"];
const DROPOUT: &[&str] = &["candle_nn::Dropout", "candle_nn::ops::dropout"];
const OPTIMISERS: &[&str] = &["candle_nn::optim", "candle_nn::AdamW", "candle_nn::SGD", "candle_nn::ParamsAdamW"];
/// candle's own shift with wrap-around.
const ROLL: &[&str] = &[".roll("];
const RNN: &[&str] = &["candle_nn::rnn", "candle_nn::LSTM", "candle_nn::GRU", "candle_nn::lstm", "candle_nn::gru", "candle_nn::RNN"];

/// The one table: exercise id → the groups of ops that would do its job.
const TABLE: &[(&str, &[&[&str]])] = &[
    ("week0.neural_bigram.softmax", &[SOFTMAX]),
    ("week0.neural_bigram.loss", &[SOFTMAX, CROSS_ENTROPY]),
    ("week0.mlp.cross_entropy", &[SOFTMAX, CROSS_ENTROPY]),
    ("week0.mlp.batchnorm", &[BATCH_NORM]),
    ("week0.backprop.cross_entropy_backward", &[SOFTMAX, CROSS_ENTROPY]),
    ("week0.wavenet.batchnorm_nd", &[BATCH_NORM]),
    ("week1.arrays.softmax", &[SOFTMAX]),
    ("week1.regression.cross_entropy", &[SOFTMAX, CROSS_ENTROPY]),
    ("week1.convolutions.conv2d_single", &[CONV]),
    ("week1.convolutions.conv1d_minimal", &[CONV]),
    ("week1.convolutions.conv1d", &[CONV]),
    ("week1.convolutions.conv2d_minimal", &[CONV]),
    ("week1.convolutions.conv2d", &[CONV]),
    ("week1.convolutions.maxpool2d", &[POOL]),
    ("week1.convolutions.avgpool2d", &[POOL]),
    ("week1.convolutions.adaptive_avgpool2d", &[POOL]),
    ("week1.modules.linear", &[LINEAR]),
    ("week1.modules.conv2d", &[&["candle_nn::Conv2d", "candle_nn::conv2d", "fastops::add_channel_bias"]]),
    ("week1.modules.batchnorm2d", &[BATCH_NORM]),
    ("week1.modules.groupnorm", &[GROUP_NORM]),
    ("week1.modules.relu", &[RELU]),
    ("week1.optimisers.sgd", &[OPTIMISERS]),
    ("week1.optimisers.rmsprop", &[OPTIMISERS]),
    ("week1.optimisers.adam", &[OPTIMISERS]),
    ("week1.optimisers.adamw", &[OPTIMISERS]),
    ("week2.sequence.rnn_cell", &[RNN]),
    ("week2.sequence.lstm_cell", &[RNN]),
    ("week2.sequence.gru_cell", &[RNN]),
    ("week2.sequence.rnn", &[RNN]),
    ("week2.sequence.lstm", &[RNN]),
    ("week2.sequence.gru", &[RNN]),
    ("week2.attention.scaled_dot_product", &[FUSED_ATTENTION]),
    ("week2.attention.multi_head_attention", &[FUSED_ATTENTION]),
    ("week2.gpt2.layer_norm", &[LAYER_NORM]),
    ("week2.gpt2.gelu_new", &[GELU]),
    ("week2.gpt2.attention", &[FUSED_ATTENTION]),
    ("week2.gpt2.lm_loss", &[CROSS_ENTROPY]),
    ("week2.bert.attention", &[FUSED_ATTENTION]),
    ("week2.deberta.attention", &[FUSED_ATTENTION]),
    ("week3.train_loop.dropout", &[DROPOUT]),
    ("week3.train_loop.adamw", &[OPTIMISERS]),
    ("week3.instruct.masked_loss", &[CROSS_ENTROPY]),
    ("week5.feature_vis.jitter", &[ROLL]),
];

/// The library ops exercise `id` must not call.
pub fn library_ops(id: &str) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = TABLE.iter().filter(|(e, _)| *e == id).flat_map(|(_, groups)| groups.iter().flat_map(|g| g.iter().copied())).collect();
    out.sort();
    out.dedup();
    out
}

/// Every exercise id the table names (a test checks each exists).
pub fn table_ids() -> impl Iterator<Item = &'static str> {
    TABLE.iter().map(|(id, _)| *id)
}

/// A `use` of the file: the path it brings in and the name it is known by here (`None` for a
/// glob, `use a::b::*`).
#[derive(Debug, Clone, PartialEq)]
struct Import {
    path: String,
    name: Option<String>,
}

/// The imports of `code` (comments and literals already blanked), `use a::{b, c as d}` and
/// nested groups included.
fn imports(code: &str) -> Vec<Import> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(i) = find_word(rest, "use") {
        let after = &rest[i + 3..];
        let Some(end) = after.find(';') else { break };
        let tree: String = after[..end].chars().filter(|c| !c.is_whitespace()).collect();
        expand("", &tree, &mut out);
        rest = &after[end..];
    }
    out
}

/// `prefix` + one use tree (`a::b`, `a::b as c`-without-spaces as `a::basc` is avoided by the
/// caller keeping ` as ` — see `imports`).
fn expand(prefix: &str, tree: &str, out: &mut Vec<Import>) {
    let join = |p: &str, s: &str| if p.is_empty() { s.to_string() } else { format!("{p}::{s}") };
    if let Some(open) = tree.find('{') {
        let head = tree[..open].trim_end_matches("::");
        let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
        let base = join(prefix, head);
        let mut depth = 0;
        let mut start = 0;
        for (i, c) in inner.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    expand(&base, &inner[start..i], out);
                    start = i + 1;
                }
                _ => {}
            }
        }
        expand(&base, &inner[start..], out);
        return;
    }
    if tree.is_empty() {
        return;
    }
    if let Some(glob) = tree.strip_suffix("*") {
        out.push(Import { path: join(prefix, glob.trim_end_matches("::")), name: None });
        return;
    }
    // Whitespace was removed: `x as y` became `xasy`; the caller marks ` as ` with `@`.
    let (path, name) = match tree.split_once('@') {
        Some((p, n)) => (p, n.to_string()),
        None => (tree, tree.rsplit("::").next().unwrap_or(tree).to_string()),
    };
    let path = if path == "self" { prefix.to_string() } else { join(prefix, path) };
    let name = if tree == "self" { prefix.rsplit("::").next().unwrap_or(prefix).to_string() } else { name };
    out.push(Import { path, name: Some(name) });
}

/// The first position of `word` in `s` as a whole word.
fn find_word(s: &str, word: &str) -> Option<usize> {
    let b = s.as_bytes();
    let is_word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let mut from = 0;
    while let Some(p) = s[from..].find(word) {
        let i = from + p;
        let end = i + word.len();
        if (i == 0 || !is_word(b[i - 1])) && (end >= b.len() || !is_word(b[end])) {
            return Some(i);
        }
        from = end;
    }
    None
}

/// The paths written in `code`, as `a::b::c` strings (each maximal path once per occurrence),
/// and the bare identifiers.
fn paths(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let chars: Vec<char> = code.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let starts = (c.is_alphabetic() || c == '_') && (i == 0 || !(chars[i - 1].is_alphanumeric() || chars[i - 1] == '_' || chars[i - 1] == '.'));
        if !starts {
            i += 1;
            continue;
        }
        let mut j = i;
        let mut s = String::new();
        loop {
            while j < chars.len() && (chars[j].is_alphanumeric() || chars[j] == '_') {
                s.push(chars[j]);
                j += 1;
            }
            if j + 2 < chars.len() && chars[j] == ':' && chars[j + 1] == ':' && (chars[j + 2].is_alphabetic() || chars[j + 2] == '_') {
                s.push_str("::");
                j += 2;
            } else {
                break;
            }
        }
        out.push(s);
        i = j;
    }
    out
}

/// Whether the code `body` of a file whose whole code is `file` calls `op`; the way it is
/// written when it does (the op itself, or the alias it goes by).
pub fn calls(file: &str, body: &str, op: &str) -> Option<String> {
    let body = code_only(body);
    if op.starts_with('.') {
        return body.contains(op).then(|| op.trim_end_matches('(').to_string());
    }
    let file = code_only(file).replace(" as ", "@");
    let imports = imports(&file);
    for written in paths(&body) {
        // Each way the written path can resolve: as it stands, or through an import of its
        // first segment.
        let first = written.split("::").next().unwrap_or(&written).to_string();
        let rest = written.strip_prefix(&first).unwrap_or("");
        let mut full = vec![written.clone()];
        for imp in &imports {
            match &imp.name {
                Some(n) if *n == first => full.push(format!("{}{rest}", imp.path)),
                None => full.push(format!("{}::{written}", imp.path)),
                _ => {}
            }
        }
        // A type's associated items (`candle_nn::LayerNorm::new`) are the type's.
        if full.iter().any(|f| f == op || f.starts_with(&format!("{op}::"))) {
            return Some(if written == op || written.starts_with(&format!("{op}::")) { op.to_string() } else { format!("{op} (as `{written}`)") });
        }
    }
    None
}

/// The rules of an exercise on the learner's source `src`: a puzzle's forbidden names
/// (`puzzle`, substrings such as `.cumsum(`) and the library `ops` that would do its whole job,
/// read in the bodies of the functions `code` names (`Type::name` or `name`) and of every
/// helper of the learner's own (a function the pristine `stub` does not have) that they call;
/// comments and strings are skipped. `Err` says what was found (`{file}` stands for the file).
pub fn verdict(src: &str, stub: Option<&str>, code: &[String], puzzle: &[&str], ops: &[&str]) -> Result<(), String> {
    use crate::reset::{fn_items, FnItem};
    let fns = fn_items(src);
    let given: std::collections::HashSet<String> = stub.map(|s| fn_items(s).iter().map(|f| f.path()).collect()).unwrap_or_default();
    let matches = |f: &FnItem, p: &str| f.path() == p || (!p.contains("::") && f.name == p && f.self_ty.is_none());
    let mut chosen: Vec<&FnItem> = fns.iter().filter(|f| code.iter().any(|p| matches(f, p))).collect();
    if chosen.is_empty() {
        return Err(format!("no function {} found in {{file}}", code.join(" or ")));
    }
    // The learner's own helpers that the code calls, and those they call.
    loop {
        let text: String = chosen.iter().map(|f| &src[f.start..f.end]).collect();
        let words: std::collections::HashSet<&str> = text.split(|c: char| !(c.is_alphanumeric() || c == '_')).collect();
        let more: Vec<&FnItem> =
            fns.iter().filter(|f| !given.contains(&f.path()) && words.contains(f.name.as_str()) && !chosen.iter().any(|c| c.start == f.start)).collect();
        if more.is_empty() {
            break;
        }
        chosen.extend(more);
    }
    // The bodies only: a signature naming the function (`fn ones(`) is not a use of it.
    let body: String = chosen.iter().map(|f| format!("{}\n", &src[f.body..f.end])).collect();
    let code_text = code_only(&body);
    let what = chosen.first().map(|f| f.path()).unwrap_or_default();
    let found: Vec<&str> = puzzle.iter().copied().filter(|f| code_text.contains(f)).collect();
    let library: Vec<String> = ops.iter().filter_map(|op| calls(src, &body, op)).collect();
    let mut why = Vec::new();
    if !library.is_empty() {
        why.push(format!(
            "`{what}` calls {}, which does this exercise's whole job: write it out with candle's operations (the exercises after this one may call it)",
            library.join(", ")
        ));
    }
    if !found.is_empty() {
        why.push(format!("`{what}` uses {}, which this puzzle's rules forbid (see its doc comment)", found.join(", ")));
    }
    if !why.is_empty() {
        return Err(why.join("; "));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_op_is_found_by_name_alias_module_and_glob() {
        let body = "fn f(x: &Tensor) -> Result<Tensor> { fastops::layer_norm(x, w, b, 1e-5) }";
        assert_eq!(calls(body, body, "fastops::layer_norm").as_deref(), Some("fastops::layer_norm"));
        let file = "use fastops::layer_norm as fused_layer_norm;\nfn f(x: &Tensor) -> Result<Tensor> { fused_layer_norm(x, w, b, 1e-5) }";
        assert!(calls(file, &file[44..], "fastops::layer_norm").unwrap().contains("fused_layer_norm"));
        let file = "use fastops::{relu, layer_norm as ln};\nfn f() { ln(x) }";
        assert!(calls(file, "fn f() { ln(x) }", "fastops::layer_norm").is_some());
        assert!(calls(file, "fn f() { ln(x) }", "fastops::relu").is_none());
        let file = "use candle_nn::ops;\nfn f() { ops::softmax_last_dim(&x) }";
        assert!(calls(file, "fn f() { ops::softmax_last_dim(&x) }", "candle_nn::ops::softmax_last_dim").is_some());
        let file = "use candle_nn::ops::*;\nfn f() { softmax_last_dim(&x) }";
        assert!(calls(file, "fn f() { softmax_last_dim(&x) }", "candle_nn::ops::softmax_last_dim").is_some());
        let file = "use fastops as fo;\nfn f() { fo::relu(&x) }";
        assert!(calls(file, "fn f() { fo::relu(&x) }", "fastops::relu").is_some());
        let body = "fn f() { candle_nn::LayerNorm::new(w, b, 1e-5) }";
        assert!(calls(body, body, "candle_nn::LayerNorm").is_some());
        assert!(calls("fn f() { x.relu() }", "fn f() { x.relu() }", ".relu(").is_some());
    }

    #[test]
    fn other_code_is_not_an_op() {
        // A comment, a string, the learner's own function of the same name, a longer name.
        let body =
            "fn layer_norm(x: &Tensor) { // fastops::layer_norm would do\n let s = \"fastops::layer_norm\"; layer_norm_slow2(x); fastops::layer_norms(x) }";
        assert!(calls(body, body, "fastops::layer_norm").is_none());
        assert!(calls("fn f() { ops::softmax(&x, D::Minus1) }", "fn f() { ops::softmax(&x, D::Minus1) }", "candle_nn::ops::softmax_last_dim").is_none());
        assert!(calls("use candle_nn::ops;\nfn f() { ops::softmax(&x, 1) }", "fn f() { ops::softmax(&x, 1) }", "candle_nn::ops::softmax_last_dim").is_none());
        assert!(calls("fn f() { x.maximum(0.0) }", "fn f() { x.maximum(0.0) }", ".relu(").is_none());
    }
}
