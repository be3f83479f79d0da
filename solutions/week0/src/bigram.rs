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
// STUB: #![allow(unused_variables, unused_imports, dead_code)] // remove once you have solved a few

use super::util::{itos, stoi, VOCAB};
use candle_core::{Device, Result, Tensor, D};
use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

// BEGIN SOLUTION ONLY
/// `context` start markers, the word's indices, one end marker.
fn framed(word: &str, context: usize) -> Vec<usize> {
    let mut v = vec![0; context];
    v.extend(word.chars().map(stoi));
    v.push(0);
    v
}

/// Mean of `-ln probs.flatten()[i]` over the flat indices `idx`.
fn mean_nll(probs: &Tensor, idx: Vec<u32>) -> Result<f32> {
    let flat = probs.flatten_all()?;
    let n = idx.len();
    let idx = Tensor::from_vec(idx, n, flat.device())?;
    flat.index_select(&idx, 0)?.log()?.neg()?.mean_all()?.to_scalar::<f32>()
}
// END SOLUTION

/// ## counts
/// The `[27, 27]` f32 matrix `N` with `N[i, j]` = how often character `j` follows character `i`
/// in the framed names (row 0: first letters, column 0: last letters). Build the counts in a
/// `Vec<f32>` of length 27·27 and make one tensor on `dev` at the end.
/// Example: `["ab"]` gives `N[0, 1] = N[1, 2] = N[2, 0] = 1`, zeros elsewhere.
// HINT: Frame each name as [0] + indices + [0] (stoi), loop over consecutive pairs (windows(2)) and add 1 at a·27 + b in a Vec<f32>; Tensor::from_vec(v, (27, 27), dev).
pub fn bigram_counts(words: &[String], dev: &Device) -> Result<Tensor> {
    // BEGIN SOLUTION
    let mut n = vec![0f32; VOCAB * VOCAB];
    for w in words {
        for p in framed(w, 1).windows(2) {
            n[p[0] * VOCAB + p[1]] += 1.0;
        }
    }
    Tensor::from_vec(n, (VOCAB, VOCAB), dev)
    // END SOLUTION
}

/// ## probs
/// Row-normalised probabilities with add-`k` smoothing: `P[i, j] = (N[i, j] + k) / Σ_j' (N[i, j'] + k)`.
/// Rules: one `sum_keepdim` over the last axis and a broadcasting division (no loop over rows).
/// `k = 0` is the plain maximum-likelihood estimate; `k = 1` gives every pair some probability,
/// so no name in a test set gets probability 0 (infinite NLL). Works for any `[.., n]` shape
/// (the trigram model reuses it on `[27, 27, 27]` counts).
// HINT: let c = (counts + k)?; c.broadcast_div(&c.sum_keepdim(D::Minus1)?) — keepdim keeps [27, 1] so that each row is divided by its own sum.
pub fn bigram_probs(counts: &Tensor, k: f64) -> Result<Tensor> {
    // BEGIN SOLUTION
    let c = (counts + k)?;
    c.broadcast_div(&c.sum_keepdim(D::Minus1)?)
    // END SOLUTION
}

/// ## nll
/// The mean negative log-likelihood of the framed `words` under the bigram model `probs`:
/// `-(1/M) Σ ln P[a, b]` over all `M` pairs `(a, b)`. Rules: collect the flat indices
/// `a·27 + b` in a `Vec<u32>`, gather them from the flattened `probs` with `index_select`, then
/// `log`, `mean_all` on tensors. On the whole of names.txt with `k = 1` this is about 2.45.
// HINT: Collect a·27 + b for every pair as u32, index_select them from probs.flatten_all(), then log, mean_all, neg, to_scalar::<f32>().
pub fn bigram_nll(words: &[String], probs: &Tensor) -> Result<f32> {
    // BEGIN SOLUTION
    let mut idx = Vec::new();
    for w in words {
        for p in framed(w, 1).windows(2) {
            idx.push((p[0] * VOCAB + p[1]) as u32);
        }
    }
    mean_nll(probs, idx)
    // END SOLUTION
}

/// ## sample
/// Sampling by inverse CDF: given the probabilities `row` of one row (27 values) and a uniform
/// number `u ∈ [0, 1)`, return the first index `j` whose cumulative probability
/// `row[0] + … + row[j]` (summed in f64, in order) is greater than `u`; when rounding leaves
/// none, the last index with non-zero probability. Example: `row = [0.5, 0.25, 0.25]`,
/// `u = 0.6` → 1.
// HINT: sample_index: accumulate the row in f64 and return the first j with cdf > u. sample_names: ix = 0; loop { ix = sample_index(&rows[ix], next u); if ix == 0 break; push itos(ix) }.
pub fn sample_index(row: &[f32], u: f64) -> usize {
    // BEGIN SOLUTION
    let mut cdf = 0f64;
    for (j, &p) in row.iter().enumerate() {
        cdf += p as f64;
        if cdf > u {
            return j;
        }
    }
    row.iter().rposition(|&p| p > 0.0).unwrap_or(0)
    // END SOLUTION
}

/// Sample `n` names from the bigram model `probs: [27, 27]`, taking the uniform numbers from
/// `uniforms` in order, one per sampled character (the final `.` included): start in row 0,
/// pick the next index with [`sample_index`], append its character, stop at index 0 (not
/// appended). Returns an error (`candle_core::Error::Msg`) when `uniforms` runs out. Because
/// the randomness is an argument, PyTorch can sample the very same names from the same numbers.
pub fn sample_names(probs: &Tensor, uniforms: &[f64], n: usize) -> Result<Vec<String>> {
    // BEGIN SOLUTION
    let rows = probs.to_vec2::<f32>()?;
    let mut it = uniforms.iter();
    let mut names = Vec::with_capacity(n);
    for _ in 0..n {
        let mut name = String::new();
        let mut ix = 0;
        loop {
            let u = *it.next().ok_or_else(|| candle_core::Error::Msg("ran out of uniform numbers".into()))?;
            ix = sample_index(&rows[ix], u);
            if ix == 0 {
                break;
            }
            name.push(itos(ix));
        }
        names.push(name);
    }
    Ok(names)
    // END SOLUTION
}

/// The same as [`sample_names`] with the uniform numbers drawn from a seeded generator:
/// `rng.random::<f64>()` for each character. The same seed gives the same names.
pub fn sample_names_rng(probs: &Tensor, n: usize, rng: &mut ChaCha8Rng) -> Result<Vec<String>> {
    // BEGIN SOLUTION
    let rows = probs.to_vec2::<f32>()?;
    let mut names = Vec::with_capacity(n);
    for _ in 0..n {
        let mut name = String::new();
        let mut ix = 0;
        loop {
            ix = sample_index(&rows[ix], rng.random::<f64>());
            if ix == 0 {
                break;
            }
            name.push(itos(ix));
        }
        names.push(name);
    }
    Ok(names)
    // END SOLUTION
}

/// ## trigram
/// The trigram model: the next character given the two before it. Frame each name with two
/// start markers and one end marker (`..emma.` gives the triples `..e .em emm mma ma.`) and
/// count into a `[27, 27, 27]` f32 tensor `N[a, b, c]`. Normalise with [`bigram_probs`] (it
/// works on the last axis). A name of length L gives L + 1 triples, as many predictions as the
/// bigram model makes, so the two NLLs are comparable.
// HINT: Frame with two start markers: [0, 0] + indices + [0]; count windows(3) at (a·27 + b)·27 + c. The NLL is bigram_nll's with a three-part flat index.
pub fn trigram_counts(words: &[String], dev: &Device) -> Result<Tensor> {
    // BEGIN SOLUTION
    let mut n = vec![0f32; VOCAB * VOCAB * VOCAB];
    for w in words {
        for p in framed(w, 2).windows(3) {
            n[(p[0] * VOCAB + p[1]) * VOCAB + p[2]] += 1.0;
        }
    }
    Tensor::from_vec(n, (VOCAB, VOCAB, VOCAB), dev)
    // END SOLUTION
}

/// Mean NLL of the framed `words` under the trigram model `probs: [27, 27, 27]` (as
/// [`bigram_nll`], flat index `(a·27 + b)·27 + c`).
pub fn trigram_nll(words: &[String], probs: &Tensor) -> Result<f32> {
    // BEGIN SOLUTION
    let mut idx = Vec::new();
    for w in words {
        for p in framed(w, 2).windows(3) {
            idx.push(((p[0] * VOCAB + p[1]) * VOCAB + p[2]) as u32);
        }
    }
    mean_nll(probs, idx)
    // END SOLUTION
}

/// ## split
/// Shuffle a copy of `words` with `rng` (`SliceRandom::shuffle`), then cut it 80/10/10:
/// `n1 = 8·n/10`, `n2 = 9·n/10` (integer division); train = `[..n1]`, dev = `[n1..n2]`,
/// test = `[n2..]`. The same seed must give the same split.
// HINT: let mut w = words.to_vec(); w.shuffle(rng); then cut at 8n/10 and 9n/10 (split_off or slices).
pub fn split(words: &[String], rng: &mut ChaCha8Rng) -> (Vec<String>, Vec<String>, Vec<String>) {
    // BEGIN SOLUTION
    let mut w = words.to_vec();
    w.shuffle(rng);
    let n = w.len();
    let (n1, n2) = (8 * n / 10, 9 * n / 10);
    let test = w.split_off(n2);
    let dev = w.split_off(n1);
    (w, dev, test)
    // END SOLUTION
}

/// ## smoothing
/// Choose the smoothing strength of the trigram model on held-out data: for each `k` in `ks`,
/// fit the trigram model on `train` with add-`k` smoothing and measure its NLL on `dev`.
/// Return the `k` with the lowest dev NLL (the first on ties) and the dev NLL of every `k`, in
/// the order of `ks`. (Never choose on the training set: there `k = 0` always wins.)
// HINT: counts = trigram_counts(train); for each k: trigram_nll(dev, bigram_probs(counts, k)); keep the smallest (first on ties).
pub fn choose_smoothing(train: &[String], dev: &[String], ks: &[f64], device: &Device) -> Result<(f64, Vec<f32>)> {
    // BEGIN SOLUTION
    let counts = trigram_counts(train, device)?;
    let mut losses = Vec::new();
    for &k in ks {
        losses.push(trigram_nll(dev, &bigram_probs(&counts, k)?)?);
    }
    let mut best = 0;
    for i in 1..losses.len() {
        if losses[i] < losses[best] {
            best = i;
        }
    }
    Ok((ks[best], losses))
    // END SOLUTION
}
