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
// HINT: Every name contributes its length plus one pairs, because it is framed by the marker at both ends; count into a flat buffer of 27 × 27 numbers and make the tensor once at the end, not cell by cell.
// HINT: Frame each name as [0] + its stoi indices + [0], loop over consecutive pairs (windows(2)) and add 1 at a·27 + b in a vec![0f32; 27 * 27]; finish with Tensor::from_vec(v, (27, 27), dev).
// HINT: let mut v = vec![0]; v.extend(w.chars().map(stoi)); v.push(0); for p in v.windows(2) { n[p[0] * VOCAB + p[1]] += 1.0; }
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
// HINT: Each row must be divided by its own sum, so the row sums have to keep a trailing axis of size one to broadcast against the rows; add the smoothing constant to every count before summing.
// HINT: Add k to every count (tensor + f64), sum over the last axis with sum_keepdim(D::Minus1), which gives [27, 1] (or [27, 27, 1] for trigrams), and divide with broadcast_div.
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
// HINT: Only one probability per pair matters, the one of the character that actually came next; gather them all at once from the flattened matrix, then average their negative logarithms.
// HINT: Frame each name as for the counts; collect a·27 + b for every pair as u32, make a tensor of them and index_select them from probs.flatten_all() along axis 0, then log, mean_all, neg and to_scalar::<f32>().
// HINT: let idx = Tensor::from_vec(idx, n, probs.device())?; probs.flatten_all()?.index_select(&idx, 0)?.log()?.neg()?.mean_all()?.to_scalar::<f32>()
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
// HINT: Walk along the row adding up probabilities and stop at the first index where the running total exceeds u; to sample a name, start from the marker's row and use one uniform number per character, the final marker included.
// HINT: sample_index: accumulate the row in f64 and return the first j with cdf > u; if rounding leaves none, the last index with a non-zero probability (rposition). sample_names: to_vec2 the probabilities once, then per name ix = 0; loop { ix = sample_index(&rows[ix], next u); if ix == 0 break; push itos(ix) }; running out of numbers is a candle_core::Error::Msg. sample_names_rng is the same with rng.random::<f64>().
// HINT: let mut cdf = 0f64; for (j, &p) in row.iter().enumerate() { cdf += p as f64; if cdf > u { return j; } } row.iter().rposition(|&p| p > 0.0).unwrap_or(0)
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
// HINT: A trigram model is a bigram model whose context is two characters: frame each name with two start markers (and still one end marker) and index the counts by the pair of previous characters.
// HINT: Frame with two start markers: [0, 0] + indices + [0]; count windows(3) at (a·27 + b)·27 + c into a Vec of 27³ zeros and make a [27, 27, 27] tensor. trigram_nll is bigram_nll with the three-part flat index.
// HINT: for p in v.windows(3) { n[(p[0] * VOCAB + p[1]) * VOCAB + p[2]] += 1.0; } and, for the NLL, idx.push(((p[0] * VOCAB + p[1]) * VOCAB + p[2]) as u32).
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
// HINT: Shuffle a copy before cutting (the input order is not random), let the given generator do the shuffling so that the same seed repeats the split, and cut at the integer positions 8n/10 and 9n/10.
// HINT: Copy the words into a Vec (to_vec), shuffle it with SliceRandom's shuffle and rng, compute n1 = 8 * n / 10 and n2 = 9 * n / 10, then slice or split_off into the three parts.
// HINT: let mut w = words.to_vec(); w.shuffle(rng); let test = w.split_off(n2); let dev = w.split_off(n1); (w, dev, test) — split off the tail first, so that n1 still indexes what remains.
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
// HINT: Count once on the training names; for each smoothing strength only the normalisation changes. Score each on the dev names and keep the first strength with the smallest dev loss.
// HINT: counts = trigram_counts(train); for each k in ks push trigram_nll(dev, bigram_probs(counts, k)); then find the index of the smallest loss, keeping the earlier one on ties, and return (ks[best], losses).
// HINT: let mut best = 0; for i in 1..losses.len() { if losses[i] < losses[best] { best = i; } } Ok((ks[best], losses))
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
