//! Given helpers (not exercises): the 27-character alphabet and seeded random tensors.
//!
//! The alphabet is `.` (index 0: the start and end marker) followed by `a`..`z` (1..26).

use candle_core::{Device, Result, Tensor};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// Size of the alphabet: `.` plus 26 letters.
pub const VOCAB: usize = 27;

/// Index of a character: `.` → 0, `a` → 1, …, `z` → 26. Panics on anything else.
pub fn stoi(c: char) -> usize {
    match c {
        '.' => 0,
        'a'..='z' => c as usize - 'a' as usize + 1,
        _ => panic!("character {c:?} is not in the alphabet"),
    }
}

/// The character of an index: 0 → `.`, 1 → `a`, …, 26 → `z`.
pub fn itos(i: usize) -> char {
    assert!(i < VOCAB, "index {i} is not in the alphabet");
    if i == 0 {
        '.'
    } else {
        (b'a' + (i - 1) as u8) as char
    }
}

/// One standard normal draw (Box–Muller) from `rng`.
pub fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = 1.0 - rng.random::<f64>(); // (0, 1]: ln is finite
    let u2: f64 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// An f32 tensor of the given shape with independent N(0, std²) entries drawn from `rng`.
pub fn randn(rng: &mut ChaCha8Rng, shape: &[usize], std: f64, dev: &Device) -> Result<Tensor> {
    let n: usize = shape.iter().product();
    let v: Vec<f32> = (0..n).map(|_| (normal(rng) * std) as f32).collect();
    Tensor::from_vec(v, shape, dev)
}

/// An f32 tensor of the given shape with independent uniform entries in `[lo, hi)` from `rng`.
pub fn rand_uniform(rng: &mut ChaCha8Rng, shape: &[usize], lo: f64, hi: f64, dev: &Device) -> Result<Tensor> {
    let n: usize = shape.iter().product();
    let v: Vec<f32> = (0..n).map(|_| (lo + (hi - lo) * rng.random::<f64>()) as f32).collect();
    Tensor::from_vec(v, shape, dev)
}
