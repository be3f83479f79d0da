//! Week 3: training transformers. One file per day.

use crate::check::{Fail, Learner};
use crate::registry::Exercise;
use crate::subject::week3::train_loop as tl;

pub mod adapters;
pub mod analysis;
pub mod chargpt;
pub mod distillation;
pub mod instruct;
pub mod lora;
pub mod pretrained;
pub mod qlora;
pub mod quantisation;
pub mod search;
pub mod train_loop;

pub fn exercises() -> Vec<Exercise> {
    let mut v = Vec::new();
    v.extend(train_loop::exercises());
    v.extend(chargpt::exercises());
    v.extend(search::exercises());
    v.extend(analysis::exercises());
    v.extend(lora::exercises());
    v.extend(adapters::exercises());
    v.extend(quantisation::exercises());
    v.extend(qlora::exercises());
    v.extend(distillation::exercises());
    v.extend(instruct::exercises());
    v.extend(pretrained::exercises());
    v
}

pub fn benches() -> Vec<crate::bench::Bench> {
    chargpt::benches()
}

/// The helper processes this week's checks start (a training run to kill, search workers):
/// when this program was started as one, run it and return its exit code.
pub fn child_entry() -> Option<std::process::ExitCode> {
    train_loop::child_entry().or_else(search::worker_entry)
}

/// The gradient of each named variable, in order (what an optimiser step takes); a variable
/// that no gradient reached is the learner's mismatch, named.
pub(crate) fn grads_of(grads: &candle_core::backprop::GradStore, vars: &[(String, candle_core::Var)]) -> Result<Vec<candle_core::Tensor>, Fail> {
    vars.iter().map(|(n, v)| grads.get(v.as_tensor()).cloned().ok_or_else(|| Fail::Mismatch(format!("no gradient reached {n}")))).collect()
}

/// Every value of `tensors`, on the host: a snapshot to compare bit for bit after training (a
/// frozen base must not move).
pub(crate) fn snapshot<'a>(tensors: impl IntoIterator<Item = &'a candle_core::Tensor>) -> Result<Vec<Vec<f32>>, Fail> {
    tensors.into_iter().map(|t| t.flatten_all().and_then(|t| t.to_vec1::<f32>())).collect::<Result<_, _>>().grader()
}

/// A config the grader wrote, read with the `Config` type's own serde derive (given code), not
/// with the learner's `parse_config`: a mistake there is the config exercise's, not every
/// check's that needs a config.
pub(crate) fn config(text: &str) -> Result<tl::Config, Fail> {
    toml::from_str(text).map_err(|e| Fail::Internal(format!("the grader's config does not parse: {e}")))
}

/// The first `n` characters of Tiny Shakespeare (all of it for `usize::MAX`) as ids of their
/// sorted character set, and that set.
pub(crate) fn shakespeare(n: usize) -> Result<(Vec<u32>, Vec<char>), Fail> {
    let text: String = crate::data::text(&crate::data::TINY_SHAKESPEARE)?.chars().take(n).collect();
    let chars: Vec<char> = text.chars().collect::<std::collections::BTreeSet<char>>().into_iter().collect();
    let ids = text.chars().map(|c| chars.binary_search(&c).unwrap_or(0) as u32).collect();
    Ok((ids, chars))
}
