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
// STUB: #![allow(unused_variables, unused_imports, unused_mut, dead_code)] // remove once you have solved a few

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
// HINT: Each block is divided by its own largest magnitude, so its values land in [−1, 1] before they are mapped to the integer levels; the order of the operations and the rounding rule are fixed to make the codes bit-exact, and a block of zeros must not divide by zero.
// HINT: L = 2^(bits−1) − 1 as f32; for each chunk of w.chunks(block): s = max |w_i| (a fold from 0), push it to scales, and push each code (w_i / s · L).round() as i8 (0 when s is 0). dequantise: code as f32 / L · scales[i / block].
// HINT: let s = chunk.iter().fold(0f32, |m, x| m.max(x.abs())); codes.extend(chunk.iter().map(|x| if s == 0.0 { 0 } else { (x / s * l).round() as i8 }));
pub fn absmax_quantise(w: &[f32], block: usize, bits: u32) -> Absmax {
    // BEGIN SOLUTION
    let l = ((1i32 << (bits - 1)) - 1) as f32;
    let mut codes = Vec::with_capacity(w.len());
    let mut scales = Vec::with_capacity(w.len().div_ceil(block));
    for chunk in w.chunks(block) {
        let s = chunk.iter().fold(0f32, |m, x| m.max(x.abs()));
        scales.push(s);
        codes.extend(chunk.iter().map(|x| if s == 0.0 { 0 } else { (x / s * l).round() as i8 }));
    }
    Absmax { bits, block, codes, scales }
    // END SOLUTION
}

impl Absmax {
    /// The values back: `code as f32 / L · s` with the scale of the code's block (part of
    /// exercise `absmax`).
    pub fn dequantise(&self) -> Vec<f32> {
        // BEGIN SOLUTION
        let l = ((1i32 << (self.bits - 1)) - 1) as f32;
        self.codes.iter().enumerate().map(|(i, &c)| c as f32 / l * self.scales[i / self.block]).collect()
        // END SOLUTION
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
// HINT: The levels are normal quantiles at evenly spaced probabilities, built separately for the positive side (8 levels) and the negative side (7 levels), plus an exact zero, then scaled so that the largest is 1; the asymmetry is what makes zero a level.
// HINT: δ = ½((1 − 1/30) + (1 − 1/32)); a helper at(n, i) = normal_quantile(δ + (½ − δ) · i / (n − 1)); the positive levels are at(9, i) for i in 0..8, the negative ones −at(8, i) for i in 0..7, and 0.0; sort ascending (total_cmp), divide all by the largest, convert to f32.
// HINT: let at = |n: usize, i: usize| normal_quantile(delta + (0.5 - delta) * i as f64 / (n - 1) as f64); let mut v: Vec<f64> = (0..8).map(|i| at(9, i)).chain((0..7).map(|i| -at(8, i))).chain([0.0]).collect();
pub fn nf4_code() -> [f32; 16] {
    // BEGIN SOLUTION
    let delta = 0.5 * ((1.0 - 1.0 / 30.0) + (1.0 - 1.0 / 32.0));
    let at = |n: usize, i: usize| normal_quantile(delta + (0.5 - delta) * i as f64 / (n - 1) as f64);
    let mut v: Vec<f64> = (0..8).map(|i| at(9, i)).chain((0..7).map(|i| -at(8, i))).chain([0.0]).collect();
    v.sort_by(f64::total_cmp);
    let top = v[15];
    let mut out = [0f32; 16];
    for (o, x) in out.iter_mut().zip(&v) {
        *o = (x / top) as f32;
    }
    out
    // END SOLUTION
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
// HINT: Each value goes to the nearest of the 16 levels after dividing by its block's absmax; a tie goes to the lower index, a block of zeros uses the index of the zero level, and two 4-bit indices share a byte with the even-numbered value in the high nibble.
// HINT: code = nf4_code(); packed = vec![0u8; len.div_ceil(2)]; for each chunk (block b): s = max |w|, pushed to absmax; for each value k: index 7 when s is 0, else the argmin over 0..16 of |w/s − code[i]| (w/s in f32; min_by keeps the first of equal elements, the lower index); j = b·block + k; OR the index into packed[j / 2], shifted left by 4 when j is even. dequantise: dequantise_with(&self.absmax).
// HINT: let idx = (0..16).min_by(|&a, &b| (r - code[a]).abs().total_cmp(&(r - code[b]).abs())).unwrap() as u8; packed[j / 2] |= if j.is_multiple_of(2) { idx << 4 } else { idx };
pub fn quantise_nf4(w: &[f32], block: usize) -> Nf4 {
    // BEGIN SOLUTION
    let code = nf4_code();
    let mut packed = vec![0u8; w.len().div_ceil(2)];
    let mut absmax = Vec::with_capacity(w.len().div_ceil(block));
    for (b, chunk) in w.chunks(block).enumerate() {
        let s = chunk.iter().fold(0f32, |m, x| m.max(x.abs()));
        absmax.push(s);
        for (k, x) in chunk.iter().enumerate() {
            let idx = if s == 0.0 {
                7u8
            } else {
                let r = x / s;
                (0..16).min_by(|&a, &b| (r - code[a]).abs().total_cmp(&(r - code[b]).abs())).unwrap_or(7) as u8
            };
            let j = b * block + k;
            packed[j / 2] |= if j.is_multiple_of(2) { idx << 4 } else { idx };
        }
    }
    Nf4 { block, len: w.len(), packed, absmax }
    // END SOLUTION
}

impl Nf4 {
    /// The level index of value `j` (given).
    pub fn index(&self, j: usize) -> usize {
        let byte = self.packed[j / 2];
        (if j.is_multiple_of(2) { byte >> 4 } else { byte & 15 }) as usize
    }

    /// The values back, `code[index] · absmax` of their block (part of exercise `nf4`).
    pub fn dequantise(&self) -> Vec<f32> {
        // BEGIN SOLUTION
        self.dequantise_with(&self.absmax)
        // END SOLUTION
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
// HINT: The block scales are all positive, so centre them on their mean before quantising them again: then the 8-bit code uses both of its halves, and the mean is stored once, as an offset to add back.
// HINT: offset = the f32 sum of q.absmax in order, divided by their count; centred = each absmax − offset; scales = absmax_quantise(&centred, block2, 8); nf4 = a clone of q with an empty absmax. dequantise: rebuild the scales as scales.dequantise() plus offset each, then nf4.dequantise_with(&absmax).
// HINT: Nf4Double { nf4: Nf4 { absmax: Vec::new(), ..q.clone() }, offset, scales: absmax_quantise(&centred, block2, 8) }
pub fn double_quantise(q: &Nf4, block2: usize) -> Nf4Double {
    // BEGIN SOLUTION
    let offset = q.absmax.iter().sum::<f32>() / q.absmax.len() as f32;
    let centred: Vec<f32> = q.absmax.iter().map(|a| a - offset).collect();
    Nf4Double { nf4: Nf4 { absmax: Vec::new(), ..q.clone() }, offset, scales: absmax_quantise(&centred, block2, 8) }
    // END SOLUTION
}

impl Nf4Double {
    /// The values back through the rebuilt scales (part of exercise `double_quant`).
    pub fn dequantise(&self) -> Vec<f32> {
        // BEGIN SOLUTION
        let absmax: Vec<f32> = self.scales.dequantise().iter().map(|s| s + self.offset).collect();
        self.nf4.dequantise_with(&absmax)
        // END SOLUTION
    }
}
