//! # Day 2: the bigram language model (counting)
//!
//! A character-level language model of names: the probability of the next character given
//! the previous one, estimated by counting pairs in `names.txt`. Every name is framed by the
//! marker `.`: `emma` gives the pairs `.e em mm ma a.`. Characters map to indices with
//! [`stoi`] / [`itos`] (`.` → 0, `a` → 1, …, `z` → 26).
//!
//! The grader hands you the names (`&[String]`, lower-case a–z only). Counting may loop over
//! the characters in Rust; the rest is tensor work in f32. The quality of a model is its mean
//! negative log-likelihood (NLL) per predicted character: lower is better, and `ln 27 ≈ 3.30`
//! is what guessing uniformly gets.
#![allow(unused_variables, unused_imports, dead_code)] // remove once you have solved a few

use super::util::{itos, stoi, VOCAB};
use candle_core::{Device, Result, Tensor, D};
use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// ## counts
/// The `[27, 27]` f32 matrix `N` with `N[i, j]` = how often character `j` follows character `i`
/// in the framed names (row 0: first letters, column 0: last letters). Build the counts in a
/// `Vec<f32>` of length 27·27 and make one tensor on `dev` at the end.
/// Example: `["ab"]` gives `N[0, 1] = N[1, 2] = N[2, 0] = 1`, zeros elsewhere.
pub fn bigram_counts(words: &[String], dev: &Device) -> Result<Tensor> {
    todo!()
}

/// ## probs
/// Row-normalised probabilities with add-`k` smoothing: `P[i, j] = (N[i, j] + k) / Σ_j' (N[i, j'] + k)`.
/// Rules: one `sum_keepdim` over the last axis and a broadcasting division (no loop over rows).
/// `k = 0` is the plain maximum-likelihood estimate; `k = 1` gives every pair some probability,
/// so no name in a test set gets probability 0 (infinite NLL). Works for any `[.., n]` shape
/// (the trigram model reuses it on `[27, 27, 27]` counts).
pub fn bigram_probs(counts: &Tensor, k: f64) -> Result<Tensor> {
    todo!()
}

/// ## nll
/// The mean negative log-likelihood of the framed `words` under the bigram model `probs`:
/// `-(1/M) Σ ln P[a, b]` over all `M` pairs `(a, b)`. Rules: collect the flat indices
/// `a·27 + b` in a `Vec<u32>`, gather them from the flattened `probs` with `index_select`, then
/// `log`, `mean_all` on tensors. On the whole of names.txt with `k = 1` this is about 2.45.
pub fn bigram_nll(words: &[String], probs: &Tensor) -> Result<f32> {
    todo!()
}

/// ## sample
/// Sampling by inverse CDF: given the probabilities `row` of one row (27 values) and a uniform
/// number `u ∈ [0, 1)`, return the first index `j` whose cumulative probability
/// `row[0] + … + row[j]` (summed in f64, in order) is greater than `u`; when rounding leaves
/// none, the last index with non-zero probability. Example: `row = [0.5, 0.25, 0.25]`,
/// `u = 0.6` → 1.
pub fn sample_index(row: &[f32], u: f64) -> usize {
    todo!()
}

/// Sample `n` names from the bigram model `probs: [27, 27]`, taking the uniform numbers from
/// `uniforms` in order, one per sampled character (the final `.` included): start in row 0,
/// pick the next index with [`sample_index`], append its character, stop at index 0 (not
/// appended). Returns an error (`candle_core::Error::Msg`) when `uniforms` runs out. Because
/// the randomness is an argument, PyTorch can sample the very same names from the same numbers.
pub fn sample_names(probs: &Tensor, uniforms: &[f64], n: usize) -> Result<Vec<String>> {
    todo!()
}

/// The same as [`sample_names`] with the uniform numbers drawn from a seeded generator:
/// `rng.random::<f64>()` for each character. The same seed gives the same names.
pub fn sample_names_rng(probs: &Tensor, n: usize, rng: &mut ChaCha8Rng) -> Result<Vec<String>> {
    todo!()
}

/// ## trigram
/// The trigram model: the next character given the two before it. Frame each name with two
/// start markers and one end marker (`..emma.` gives the triples `..e .em emm mma ma.`) and
/// count into a `[27, 27, 27]` f32 tensor `N[a, b, c]`. Normalise with [`bigram_probs`] (it
/// works on the last axis). A name of length L gives L + 1 triples, as many predictions as the
/// bigram model makes, so the two NLLs are comparable.
pub fn trigram_counts(words: &[String], dev: &Device) -> Result<Tensor> {
    todo!()
}

/// Mean NLL of the framed `words` under the trigram model `probs: [27, 27, 27]` (as
/// [`bigram_nll`], flat index `(a·27 + b)·27 + c`).
pub fn trigram_nll(words: &[String], probs: &Tensor) -> Result<f32> {
    todo!()
}

/// ## split
/// Shuffle a copy of `words` with `rng` (`SliceRandom::shuffle`), then cut it 80/10/10:
/// `n1 = 8·n/10`, `n2 = 9·n/10` (integer division); train = `[..n1]`, dev = `[n1..n2]`,
/// test = `[n2..]`. The same seed must give the same split.
pub fn split(words: &[String], rng: &mut ChaCha8Rng) -> (Vec<String>, Vec<String>, Vec<String>) {
    todo!()
}

/// ## smoothing
/// Choose the smoothing strength of the trigram model on held-out data: for each `k` in `ks`,
/// fit the trigram model on `train` with add-`k` smoothing and measure its NLL on `dev`.
/// Return the `k` with the lowest dev NLL (the first on ties) and the dev NLL of every `k`, in
/// the order of `ks`. (Never choose on the training set: there `k = 0` always wins.)
pub fn choose_smoothing(train: &[String], dev: &[String], ks: &[f64], device: &Device) -> Result<(f64, Vec<f32>)> {
    todo!()
}
