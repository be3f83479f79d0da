//! Week 2: transformers. One file per day.

use crate::registry::Exercise;

pub mod attention;
pub mod bert;
pub mod deberta;
pub mod gpt2;
pub mod sampling;
pub mod sequence;
pub mod tokenizers;

/// Write a 2-D tensor as a signed heatmap `target/candlecamp/week2/<name>.png` (blue negative,
/// white 0, red positive; for the book and the curious); `scale` pixels per cell.
pub(crate) fn picture(ctx: &crate::check::Ctx, name: &str, t: &candle_core::Tensor, scale: usize) -> crate::check::CheckResult {
    crate::picture::signed_heatmap(&ctx.artefact(&format!("week2/{name}.png"))?, t, scale as u32)
}

pub fn exercises() -> Vec<Exercise> {
    let mut v = Vec::new();
    v.extend(sequence::exercises());
    v.extend(attention::exercises());
    v.extend(gpt2::exercises());
    v.extend(bert::exercises());
    v.extend(deberta::exercises());
    v.extend(tokenizers::exercises());
    v.extend(sampling::exercises());
    v
}

pub fn benches() -> Vec<crate::bench::Bench> {
    let mut v = Vec::new();
    v.extend(gpt2::benches());
    v.extend(tokenizers::benches());
    v.extend(sampling::benches());
    v
}
