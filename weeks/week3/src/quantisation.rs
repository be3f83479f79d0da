//! # Quantisation: absmax, NormalFloat4 and double quantisation
//!
//! A weight stored in f32 costs 32 bits. Fine-tuning a large model on one GPU (QLoRA, Dettmers
//! et al. 2023) keeps the frozen base in 4 bits and trains small adapters in f32 beside it.
//! This day writes the storage formats: values are cut into blocks (64 here), each block keeps
//! one scale, its largest magnitude (*absmax*), and every value becomes a small integer code
//! relative to that scale.
//!
//! - **absmax int8 / int4**: codes evenly spaced in `[−1, 1]`: `L = 2^(bits−1) − 1` steps each
//!   side (127 for int8, 7 for int4).
//! - **NormalFloat4 (NF4)**: trained weights are roughly normal, so evenly spaced codes waste
//!   most of their levels on rare large values. NF4's 16 levels are quantiles of the normal
//!   distribution instead, so each level is used about equally often, with an exact zero.
//! - **double quantisation**: the f32 absmax of every 64 weights costs 0.5 bits per weight by
//!   itself; quantising those scales again to 8 bits (blocks of 256 scales) brings the total to
//!   about 4.13 bits per weight.
//!
//! Plain `Vec<f32>` in and out: this is bit-level work, and the next day turns the result into
//! tensors.
#![allow(unused_variables, unused_imports, unused_mut, dead_code)] // remove once you have solved a few

/// Blockwise absmax quantisation of `len` values.
#[derive(Clone, Debug, PartialEq)]
pub struct Absmax {
    /// Bits per code: codes lie in `−L..=L` with `L = 2^(bits−1) − 1`.
    pub bits: u32,
    /// Values per block (the last block may be shorter).
    pub block: usize,
    /// One code per value.
    pub codes: Vec<i8>,
    /// One scale per block: the block's largest magnitude.
    pub scales: Vec<f32>,
}

/// ## absmax
/// Quantise `w` in blocks of `block` values (the last block holds what is left): the block's
/// scale is `s = max |w_i|` over the block, and each value's code is `round(w_i / s · L)`
/// computed in f32 in that order, with `f32::round` (halves away from zero),
/// `L = 2^(bits−1) − 1`, `bits` from 2 to 8. A block of zeros has scale 0 and codes 0 (no NaN).
/// [`Absmax::dequantise`] gives `code as f32 / L · s` (in that order).
pub fn absmax_quantise(w: &[f32], block: usize, bits: u32) -> Absmax {
    todo!()
}

impl Absmax {
    /// The values back: `code as f32 / L · s` with the scale of the code's block (part of
    /// exercise `absmax`).
    pub fn dequantise(&self) -> Vec<f32> {
        todo!()
    }
}

/// The standard normal distribution's cumulative distribution function Φ (given).
pub fn normal_cdf(x: f64) -> f64 {
    0.5 * libm::erfc(-x / std::f64::consts::SQRT_2)
}

/// Its inverse, the quantile function Φ⁻¹(p) for `0 < p < 1` (given: bisection on
/// [`normal_cdf`] to f64 precision).
pub fn normal_quantile(p: f64) -> f64 {
    let (mut lo, mut hi) = (-40.0f64, 40.0f64);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if normal_cdf(mid) < p {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// ## nf4_code
/// The 16 NF4 levels, ascending, as the QLoRA paper builds them: quantiles of N(0, 1) at evenly
/// spaced probabilities, asymmetric so that 0 is a level. With
/// `δ = ½ · ((1 − 1/30) + (1 − 1/32))` (the paper's offset, ≈ 0.9677): 8 positive levels at
/// the probabilities of `linspace(δ, ½, 9)` without its last point (½), 7 negative levels at
/// minus the quantiles of `linspace(δ, ½, 8)` without its last point, and 0. Divide all 16 by
/// the largest, so that they run from −1 to 1, compute in f64 and return f32. Use the given
/// [`normal_quantile`]. `linspace(a, b, n)` is `a + (b − a) · i / (n − 1)` for `i` in `0..n`.
pub fn nf4_code() -> [f32; 16] {
    todo!()
}

/// NF4 storage of `len` values.
#[derive(Clone, Debug, PartialEq)]
pub struct Nf4 {
    /// Values per block.
    pub block: usize,
    /// Number of values.
    pub len: usize,
    /// Two 4-bit level indices per byte: value `2j` in the high nibble, `2j + 1` in the low one
    /// (a missing last value is 0).
    pub packed: Vec<u8>,
    /// One f32 absmax per block.
    pub absmax: Vec<f32>,
}

/// ## nf4
/// Quantise `w` to NF4 in blocks of `block`: per block `s = max |w_i|`; each value's index is
/// that of the level of `nf4_code()` nearest to `w_i / s` (computed in f32; on a tie the lower
/// index); a block of zeros has absmax 0 and index 7 (the level 0). Pack two indices a byte as
/// [`Nf4::packed`] says. [`Nf4::dequantise`] gives `code[index] · s`.
pub fn quantise_nf4(w: &[f32], block: usize) -> Nf4 {
    todo!()
}

impl Nf4 {
    /// The level index of value `j` (given).
    pub fn index(&self, j: usize) -> usize {
        let byte = self.packed[j / 2];
        (if j.is_multiple_of(2) { byte >> 4 } else { byte & 15 }) as usize
    }

    /// The values back, `code[index] · absmax` of their block (part of exercise `nf4`).
    pub fn dequantise(&self) -> Vec<f32> {
        todo!()
    }

    /// The values back with other block scales (given, e.g. double-quantised ones).
    pub fn dequantise_with(&self, absmax: &[f32]) -> Vec<f32> {
        let code = nf4_code();
        (0..self.len).map(|j| code[self.index(j)] * absmax[j / self.block]).collect()
    }
}

/// NF4 whose block scales are quantised again.
#[derive(Clone, Debug, PartialEq)]
pub struct Nf4Double {
    /// The 4-bit codes and block size (its `absmax` is emptied: the scales live in `scales`).
    pub nf4: Nf4,
    /// The mean of the original scales, subtracted before their quantisation.
    pub offset: f32,
    /// The centred scales, absmax-quantised to 8 bits.
    pub scales: Absmax,
}

/// ## double_quant
/// QLoRA's double quantisation of `q`'s scales: `offset` = their mean (an f32 sum in order,
/// divided by their count), and `scales = absmax_quantise(absmax_i − offset, block2, 8)` (the
/// scales are all positive; centring them uses the code's negative half too). The result keeps
/// `q`'s packed codes and an empty `absmax`. [`Nf4Double::dequantise`] rebuilds each scale as
/// `scales.dequantise()[i] + offset` and then the values as [`Nf4::dequantise_with`] does.
pub fn double_quantise(q: &Nf4, block2: usize) -> Nf4Double {
    todo!()
}

impl Nf4Double {
    /// The values back through the rebuilt scales (part of exercise `double_quant`).
    pub fn dequantise(&self) -> Vec<f32> {
        todo!()
    }
}
