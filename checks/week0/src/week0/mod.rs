//! Week 0: from zero — autograd and language models. One file per day, plus the helpers they
//! share (the names, PNG pictures, a chi-square test).

use crate::cases::FixtureFile;
use crate::check::{Ctx, Fail};
use crate::registry::Exercise;
use candle_core::{DType, Tensor};

pub mod backprop;
pub mod bigram;
pub mod micrograd;
pub mod mlp;
pub mod neural_bigram;
pub mod pictures;
pub mod wavenet;

/// The bigram / trigram / neural-bigram fixture (fixtures/gen/week0_bigram.py).
pub const FX_BIGRAM: FixtureFile = FixtureFile::new("week0/bigram.safetensors");
/// The MLP / backprop / WaveNet fixture (fixtures/gen/week0_mlp.py).
pub const FX_MLP: FixtureFile = FixtureFile::new("week0/mlp.safetensors");

pub fn exercises() -> Vec<Exercise> {
    let mut v = Vec::new();
    v.extend(micrograd::exercises());
    v.extend(bigram::exercises());
    v.extend(neural_bigram::exercises());
    v.extend(mlp::exercises());
    v.extend(backprop::exercises());
    v.extend(wavenet::exercises());
    v
}

/// The 32,033 names of names.txt (`just data` puts it in data/).
pub fn names() -> Result<Vec<String>, Fail> {
    Ok(crate::data::lines(&crate::data::NAMES)?)
}

/// Run the learner's function on two short names first, then read names.txt: an exercise that
/// is not started reaches its `todo!()` (and is reported "not started") even where `data/` has
/// no names.txt yet (a fresh learner copy before `just data`).
pub fn probe<T>(f: impl FnOnce(&[String]) -> T) {
    let _ = f(&["emma".to_string(), "ab".to_string()]);
}

/// A fixture tensor of integer indices as u32 (PyTorch stores them as int64).
pub fn indices(ctx: &Ctx, file: FixtureFile, name: &str) -> Result<Tensor, Fail> {
    file.open(ctx)?.get_as(name, DType::U32)
}

/// Train, dev and test names.
pub type Split = (Vec<String>, Vec<String>, Vec<String>);

/// The fixed 80/10/10 split of names.txt made by torch (`split.perm` of the bigram fixture):
/// (train, dev, test).
pub fn torch_split(ctx: &Ctx) -> Result<Split, Fail> {
    let words = names()?;
    // Read on the host: the permutation is stored as int32, and candle's CUDA backend has no
    // kernel that converts I32 (book/src/cuda.md).
    let perm = FX_BIGRAM.open(ctx)?.values("split.perm")?;
    if perm.len() != words.len() {
        return Err(Fail::Fixture(format!("split.perm has {} entries, names.txt {} lines; {}", perm.len(), words.len(), crate::fixtures::REMAKE)));
    }
    let shuffled: Vec<String> = perm.iter().map(|&i| words[i as usize].clone()).collect();
    let n = shuffled.len();
    let (n1, n2) = (8 * n / 10, 9 * n / 10);
    Ok((shuffled[..n1].to_vec(), shuffled[n1..n2].to_vec(), shuffled[n2..].to_vec()))
}

/// `weeks/week0/...` pictures go to `target/candlecamp/week0/`.
/// `target/candlecamp/week0/<name>` (its folder made); the report lists it under the exercise.
pub fn picture_path(ctx: &Ctx, name: &str) -> Result<std::path::PathBuf, crate::check::Fail> {
    ctx.artefact(&format!("week0/{name}"))
}
