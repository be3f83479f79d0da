//! # Day: sampling
//!
//! A language model gives logits for the next token; a *decoding strategy* turns them into
//! text. Today: the logits processors of Hugging Face `generate` (temperature, top-k, top-p,
//! repetition and frequency penalties), sampling with a seeded RNG, greedy decoding with a
//! **KV cache**, beam search, mixing two contexts' predictions, and scoring many continuations
//! of one shared prefix with a single cached prefix pass.
//!
//! Logits are f32 tensors `[batch, vocab]` (one row per sequence); "filtered" logits keep the
//! surviving entries unchanged and set the others to `f32::NEG_INFINITY`, as transformers'
//! logits warpers do, so that a softmax gives them probability 0. The grader compares your
//! filtered logits with transformers' processors on the same fixed logits
//! (`fixtures/gen/week2_sampling.py`) and checks samples with a chi-square test.
//!
//! The model for generation is **your GPT-2 of the gpt2 day** ([`Gpt2`], loaded with
//! `Gpt2::from_dir`). Today you make it fast: [`causal_mask`] and [`KvCache::append`] here, then
//! its cached path in `src/gpt2.rs` (`Attention::forward_cached`, then `Block::forward_with_cache`,
//! `Gpt2::forward_with` and `Gpt2::next_logits`), which the generation functions below call.
//! Samplers that only need logits take any `Fn(&Tensor) -> Result<Tensor>`.
// STUB: #![allow(unused_variables, unused_imports, dead_code)] // remove once you have solved a few

use super::gpt2::Gpt2;
use candle_core::{DType, Device, IndexOp, Result, Tensor, D};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

// ------------------------------------------------------------------------------------------------
// Logits processors
// ------------------------------------------------------------------------------------------------

/// ## greedy
/// The most likely next token of every row: `logits: [b, vocab]` → `[b]` u32 indices of the
/// maximum (`torch.argmax(logits, -1)`). Example: `[[0.1, 2.0, -1.0]]` → `[1]`.
// HINT: The most likely token is the index of the largest logit in each row: reduce over the vocabulary axis (the last one), not over the batch.
// HINT: argmax over D::Minus1 returns the indices as u32 already, shape [b]; no conversion needed.
// HINT: `logits.argmax(D::Minus1)`
pub fn greedy(logits: &Tensor) -> Result<Tensor> {
    // BEGIN SOLUTION
    logits.argmax(D::Minus1)
    // END SOLUTION
}

/// ## temperature
/// `logits / t` (`TemperatureLogitsWarper`): `t < 1` sharpens the distribution, `t > 1`
/// flattens it, `t → 0` approaches greedy. `t > 0`.
// HINT: Temperature is a plain division of every logit by t; nothing is normalised here, the softmax comes later.
// HINT: Divide the tensor by the f64 scalar t (candle implements a tensor divided by an f64 as an affine op).
// HINT: `logits / t`
pub fn apply_temperature(logits: &Tensor, t: f64) -> Result<Tensor> {
    // BEGIN SOLUTION
    logits / t
    // END SOLUTION
}

/// ## top_k
/// Keep, in every row of `logits: [b, vocab]`, the entries at least as large as the row's
/// `k`-th largest value (so ties with it survive, as in `TopKLogitsWarper`); set the others to
/// `-inf`. `1 ≤ k ≤ vocab`. candle has no `topk`: sort each row (`sort_last_dim(false)`),
/// take the `k`-th value as a threshold column, compare with broadcasting, `where_cond`.
/// Example: `[[1, 3, 2, 0]]`, `k = 2` → `[[-inf, 3, 2, -inf]]`.
// HINT: The threshold is the k-th largest value of each row, and everything at least that large survives, ties included; the rest become minus infinity, not zero.
// HINT: Sort each row in descending order with sort_last_dim(false); the k-th value is sorted.narrow(D::Minus1, k − 1, 1), a [b, 1] column; keep = logits.broadcast_ge(&threshold); where_cond(logits, a tensor of -inf of the same shape).
// HINT: `let keep = logits.broadcast_ge(&sorted.narrow(D::Minus1, k - 1, 1)?)?; keep.where_cond(logits, &logits.ones_like()?.affine(0.0, f64::NEG_INFINITY)?)`
pub fn top_k_filter(logits: &Tensor, k: usize) -> Result<Tensor> {
    // BEGIN SOLUTION
    let (sorted, _) = logits.sort_last_dim(false)?;
    let threshold = sorted.narrow(D::Minus1, k - 1, 1)?;
    let keep = logits.broadcast_ge(&threshold)?;
    keep.where_cond(logits, &logits.ones_like()?.affine(0.0, f64::NEG_INFINITY)?)
    // END SOLUTION
}

/// ## top_p
/// Nucleus filtering (`TopPLogitsWarper`, `min_tokens_to_keep = 1`): sort each row's
/// probabilities (softmax of the logits) in *increasing* order, take their running sum, and
/// remove every token whose running sum is `≤ 1 - p`; the most probable token is always kept.
/// In words: keep the most probable tokens until their total probability reaches `p`. Removed
/// entries become `-inf`, kept ones keep their logit. `0 < p ≤ 1`.
/// Hint: the number of removed tokens `r` (per row) makes the `r`-th smallest logit the
/// threshold: `logits >= threshold` are kept. `cumsum` and `gather` are allowed.
/// Example: probabilities `[0.5, 0.3, 0.2]`, `p = 0.6`: in increasing order `0.2, 0.3, 0.5`,
/// running sums `0.2, 0.5, 1.0`; only `0.2 ≤ 0.4`, so the 0.2 token is removed and the other
/// two (total 0.8 ≥ 0.6) are kept.
// HINT: Work from the least probable token upwards: remove tokens while their running total stays at or below 1 − p, and never remove the most probable one (so p = 0 keeps exactly the top token). Counting the removed tokens of a row gives you a threshold logit.
// HINT: sort_last_dim(true) (ascending); probabilities = softmax of the sorted logits over the last axis; cumsum(D::Minus1); r = (cum ≤ 1 − p) as U32 summed per row (sum_keepdim), capped at vocab − 1 with minimum; threshold = sorted.gather(&r, D::Minus1), the r-th smallest logit; keep logits ≥ threshold (broadcast_ge), the others -inf.
// HINT: `let removed = cum.le(1.0 - p)?.to_dtype(DType::U32)?.sum_keepdim(D::Minus1)?; let removed = removed.minimum(&Tensor::full((vocab - 1) as u32, removed.shape(), logits.device())?)?; let threshold = sorted.gather(&removed, D::Minus1)?;`
pub fn top_p_filter(logits: &Tensor, p: f64) -> Result<Tensor> {
    // BEGIN SOLUTION
    let (sorted, _) = logits.sort_last_dim(true)?;
    let probs = candle_nn::ops::softmax_last_dim(&sorted)?;
    let cum = probs.cumsum(D::Minus1)?;
    let vocab = logits.dim(D::Minus1)?;
    let removed = cum.le(1.0 - p)?.to_dtype(DType::U32)?.sum_keepdim(D::Minus1)?;
    let removed = removed.minimum(&Tensor::full((vocab - 1) as u32, removed.shape(), logits.device())?)?;
    let threshold = sorted.gather(&removed, D::Minus1)?;
    let keep = logits.broadcast_ge(&threshold)?;
    keep.where_cond(logits, &logits.ones_like()?.affine(0.0, f64::NEG_INFINITY)?)
    // END SOLUTION
}

// BEGIN SOLUTION ONLY
/// `[b, vocab]` f32 counts of every token in `history: [b, n]`.
fn token_counts(history: &Tensor, vocab: usize) -> Result<Tensor> {
    let (b, n) = history.dims2()?;
    let zeros = Tensor::zeros((b, vocab), DType::F32, history.device())?;
    zeros.scatter_add(&history.to_dtype(DType::U32)?, &Tensor::ones((b, n), DType::F32, history.device())?, 1)
}
// END SOLUTION

/// ## repetition_penalty
/// CTRL's repetition penalty (`RepetitionPenaltyLogitsProcessor`): for every token that occurs
/// in the row's `history: [b, n]` (u32 token ids, repeats allowed), a positive logit is divided
/// by `penalty` and a negative one multiplied by it; other logits are unchanged. `penalty > 1`
/// discourages repeats. No element loops: count the tokens into a `[b, vocab]` tensor
/// (`scatter_add` of ones), then `where_cond`.
// HINT: Whether a token occurred matters, not how often; and the sign decides the direction: a negative logit is multiplied by the penalty and a non-negative one divided, both pushing it down. Count with one scatter, no element loops.
// HINT: counts = a zero [b, vocab] f32 tensor, scatter_add(history (u32), ones [b, n], 1); seen = counts.gt(0.0); penalised = logits.lt(0.0).where_cond(logits · penalty, logits / penalty); seen.where_cond(penalised, logits).
// HINT: `let penalised = logits.lt(0.0)?.where_cond(&(logits * penalty)?, &(logits / penalty)?)?; seen.where_cond(&penalised, logits)`
pub fn repetition_penalty(logits: &Tensor, history: &Tensor, penalty: f64) -> Result<Tensor> {
    // BEGIN SOLUTION
    let seen = token_counts(history, logits.dim(D::Minus1)?)?.gt(0.0)?;
    let penalised = logits.lt(0.0)?.where_cond(&(logits * penalty)?, &(logits / penalty)?)?;
    seen.where_cond(&penalised, logits)
    // END SOLUTION
}

/// ## frequency_penalty
/// OpenAI's frequency penalty: `logits - alpha * count`, where `count[b, v]` is how many times
/// token `v` occurs in `history[b]` (`history: [b, n]` u32). Unlike the repetition penalty it
/// grows with every repeat.
// HINT: Here every occurrence counts: subtract alpha times the number of times each token appears in the row's history. One scatter of ones counts them all, without loops.
// HINT: counts = Tensor::zeros((b, vocab), DType::F32, dev).scatter_add(&history, &Tensor::ones((b, n), DType::F32, dev), 1), [b, vocab]; then logits − counts · alpha.
// HINT: `logits - (Tensor::zeros((b, vocab), DType::F32, dev)?.scatter_add(history, &Tensor::ones((b, n), DType::F32, dev)?, 1)? * alpha)?`
pub fn frequency_penalty(logits: &Tensor, history: &Tensor, alpha: f64) -> Result<Tensor> {
    // BEGIN SOLUTION
    logits - (token_counts(history, logits.dim(D::Minus1)?)? * alpha)?
    // END SOLUTION
}

/// ## sample
/// Draw one token from `softmax(logits)`, `logits: [vocab]` (entries may be `-inf`: they are
/// never drawn), by inverting the cumulative distribution: draw `u` uniform in `[0, 1)` with
/// `rng.random::<f64>()` (exactly one draw per call), and return the first index whose running
/// probability sum exceeds `u` (the last index with probability > 0 if rounding leaves `u`
/// above the total). Compute the softmax stably (subtract the maximum). The same seed gives the
/// same tokens.
// HINT: Inverse-CDF sampling takes exactly one uniform draw per call: walk the probabilities in order, adding them up, and stop at the first index whose running sum exceeds the draw. A token of probability 0 (a minus-infinity logit) must never be returned, not even when rounding leaves the draw above the total.
// HINT: probs = candle_nn::ops::softmax(logits, D::Minus1) (it subtracts the maximum for you), to_vec1::<f32>(); u = rng.random::<f64>(); accumulate in f64, skipping entries with p = 0 and remembering the last index with p > 0 as the fallback.
// HINT: `for (i, &p) in probs.iter().enumerate() { if p > 0.0 { last = i; acc += p as f64; if acc > u { return Ok(i as u32); } } } Ok(last as u32)`
pub fn sample(logits: &Tensor, rng: &mut ChaCha8Rng) -> Result<u32> {
    // BEGIN SOLUTION
    let probs = candle_nn::ops::softmax_last_dim(&logits.to_dtype(DType::F32)?.unsqueeze(0)?)?.squeeze(0)?.to_vec1::<f32>()?;
    let u: f64 = rng.random();
    let mut acc = 0f64;
    let mut last = 0;
    for (i, &p) in probs.iter().enumerate() {
        if p > 0.0 {
            last = i;
            acc += p as f64;
            if acc > u {
                return Ok(i as u32);
            }
        }
    }
    Ok(last as u32)
    // END SOLUTION
}

/// ## mix_contexts
/// Sample from a pair of contexts (classifier-free / contrastive guidance): given the next-token
/// logits of the same position under a prompt (`cond`) and under a second context (`uncond`,
/// e.g. the prompt without an instruction), both `[b, vocab]`, return
/// `log_softmax(cond) + weight · (log_softmax(cond) − log_softmax(uncond))`.
/// `weight = 0` is plain sampling from `cond`; larger weights push towards tokens that the
/// prompt makes *more* likely than the other context does. The result is used as logits.
// HINT: Combine log-probabilities, not raw logits: normalise each context's logits first, so that their difference measures how much more likely the prompt makes each token.
// HINT: candle_nn::ops::log_softmax(x, D::Minus1) for cond and for uncond; then c + weight · (c − u).
// HINT: `&c + ((&c - &u)? * weight)?`
pub fn mix_contexts(cond: &Tensor, uncond: &Tensor, weight: f64) -> Result<Tensor> {
    // BEGIN SOLUTION
    let c = candle_nn::ops::log_softmax(cond, D::Minus1)?;
    let u = candle_nn::ops::log_softmax(uncond, D::Minus1)?;
    &c + ((&c - &u)? * weight)?
    // END SOLUTION
}

// ------------------------------------------------------------------------------------------------
// The KV cache (the model's cached path is in src/gpt2.rs)
// ------------------------------------------------------------------------------------------------

/// ## causal_mask
/// The additive attention mask when `t_new` new queries attend to `t_total` keys, the first
/// `t_total - t_new` of which come from the cache: query `i` sits at absolute position
/// `t_total - t_new + i` and may see keys `0 ..= t_total - t_new + i`. Return `[t_new, t_total]`
/// f32 with `0.0` where attention is allowed and `-inf` elsewhere. Without a cache
/// (`t_new == t_total`) this is the usual upper-triangular `-inf` mask; for one new token it is
/// all zeros. Build it from `arange` and broadcasting (no element loops).
// HINT: The new queries sit at the end of the sequence: query i's absolute position is the number of cached positions plus i, and it may see every key up to and including that position. The result is additive, in f32: 0 where allowed, minus infinity where not.
// HINT: offset = t_total − t_new; q = arange(offset, offset + t_new) as a [t_new, 1] column, k = arange(0, t_total) as a [1, t_total] row; allowed = k.broadcast_le(&q); allowed.where_cond(zeros, a tensor of -inf), both f32 [t_new, t_total].
// HINT: `let zeros = Tensor::zeros((t_new, t_total), DType::F32, dev)?; k.broadcast_le(&q)?.where_cond(&zeros, &zeros.affine(0.0, f64::NEG_INFINITY)?)`
pub fn causal_mask(t_new: usize, t_total: usize, dev: &Device) -> Result<Tensor> {
    // BEGIN SOLUTION
    let offset = (t_total - t_new) as u32;
    let q = Tensor::arange(offset, offset + t_new as u32, dev)?.unsqueeze(1)?;
    let k = Tensor::arange(0u32, t_total as u32, dev)?.unsqueeze(0)?;
    let allowed = k.broadcast_le(&q)?;
    let zeros = Tensor::zeros((t_new, t_total), DType::F32, dev)?;
    allowed.where_cond(&zeros, &zeros.affine(0.0, f64::NEG_INFINITY)?)
    // END SOLUTION
}

/// The keys and values every attention layer has computed so far: `layers[l]` is `None` before
/// the first forward pass, then `(k, v)`, each `[batch, heads, positions, head_dim]`.
pub struct KvCache {
    pub layers: Vec<Option<(Tensor, Tensor)>>,
}

impl KvCache {
    /// An empty cache for `n_layer` layers (given).
    pub fn new(n_layer: usize) -> KvCache {
        KvCache { layers: vec![None; n_layer] }
    }

    /// Number of cached positions (0 when empty) (given).
    pub fn len(&self) -> usize {
        self.layers.first().and_then(|l| l.as_ref()).map_or(0, |(k, _)| k.dim(2).unwrap_or(0))
    }

    /// Whether nothing is cached yet (given).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The same cache repeated `n` times along the batch axis (given): a prefix computed once
    /// for batch 1 serves `n` continuations.
    pub fn repeat_batch(&self, n: usize) -> Result<KvCache> {
        let layers = self
            .layers
            .iter()
            .map(|l| match l {
                Some((k, v)) => Ok(Some((k.repeat((n, 1, 1, 1))?, v.repeat((n, 1, 1, 1))?))),
                None => Ok(None),
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(KvCache { layers })
    }

    /// ## kv_cache
    /// Called by every attention layer `layer` of your cached GPT-2
    /// (`Attention::forward_cached` in `src/gpt2.rs`, the next exercise) with the keys and values
    /// of the *new* positions (`k`, `v`: `[batch, heads, t_new, head_dim]`): store them after
    /// the cached ones (concatenate along the positions axis, 2) and return all keys and values
    /// so far, `[batch, heads, t_cached + t_new, head_dim]` each. The first call for a layer
    /// just stores and returns its inputs. With this and [`causal_mask`], feeding a sequence one
    /// token at a time gives the same logits as feeding it whole, at a fraction of the work:
    /// every step computes attention for one query instead of all of them.
    // HINT: Concatenate along the positions axis (2), old positions first, and store the result back in the layer's slot: returning the concatenation without keeping it loses it at the next call.
    // HINT: match &self.layers[layer]: Some((ck, cv)) → Tensor::cat(&[ck, k], 2) and the same for v; None → clones of k and v; then self.layers[layer] = Some((k.clone(), v.clone())) and return (k, v).
    // HINT: `let (k, v) = match &self.layers[layer] { Some((ck, cv)) => (Tensor::cat(&[ck, k], 2)?, Tensor::cat(&[cv, v], 2)?), None => (k.clone(), v.clone()) }; self.layers[layer] = Some((k.clone(), v.clone()));`
    pub fn append(&mut self, layer: usize, k: &Tensor, v: &Tensor) -> Result<(Tensor, Tensor)> {
        // BEGIN SOLUTION
        let (k, v) = match &self.layers[layer] {
            Some((ck, cv)) => (Tensor::cat(&[ck, k], 2)?, Tensor::cat(&[cv, v], 2)?),
            None => (k.clone(), v.clone()),
        };
        self.layers[layer] = Some((k.clone(), v.clone()));
        Ok((k, v))
        // END SOLUTION
    }
}

// ------------------------------------------------------------------------------------------------
// Generation
// ------------------------------------------------------------------------------------------------

/// ## generate_greedy
/// Greedy decoding with the KV cache: run the whole prompt once through
/// `model.next_logits(.., Some(&mut cache))` (ids on `dev`), then feed only the newest token
/// (`[1, 1]`) at every step, always appending the argmax of the last position's logits. Return
/// the prompt followed by `max_new_tokens` new tokens (what `generate(do_sample=False)`
/// returns). `prompt` is not empty.
// HINT: The prompt goes through the model once; after that each step feeds only the newest token, because the cache already holds the keys and values of everything before it.
// HINT: cache = KvCache::new(model.cfg.n_layer); input = the prompt as [1, t] (Tensor::new(prompt, dev), unsqueeze(0)); max_new_tokens times: logits = model.next_logits(&input, Some(&mut cache)) ([1, vocab]), next = its argmax, push it, input = the one token as [1, 1]. Needs your cached_model.
// HINT: `let next = model.next_logits(&input, Some(&mut cache))?.argmax(D::Minus1)?.to_vec1::<u32>()?[0]; out.push(next); input = Tensor::new(&[next], dev)?.unsqueeze(0)?;`
pub fn generate_greedy(model: &Gpt2, prompt: &[u32], max_new_tokens: usize, dev: &Device) -> Result<Vec<u32>> {
    // BEGIN SOLUTION
    let dev = dev.clone();
    let mut cache = KvCache::new(model.cfg.n_layer);
    let mut out = prompt.to_vec();
    let mut input = Tensor::new(prompt, &dev)?.unsqueeze(0)?;
    for _ in 0..max_new_tokens {
        let logits = model.next_logits(&input, Some(&mut cache))?;
        let next = logits.argmax(D::Minus1)?.to_vec1::<u32>()?[0];
        out.push(next);
        input = Tensor::new(&[next], &dev)?.unsqueeze(0)?;
    }
    Ok(out)
    // END SOLUTION
}

/// ## beam_search
/// Beam search without sampling (`generate(num_beams=…, do_sample=False)`, no end-of-text
/// token): keep the `num_beams` partial sequences with the highest total log-probability.
/// Start with one beam, the prompt, of score 0. At every step run `model` on all beams at once
/// (`ids: [beams, t]` u32 → logits `[beams, t, vocab]`; use the last position), add each beam's
/// score to its `log_softmax`, and keep the `num_beams` best (beam, token) extensions over all
/// beams (fewer only if there are fewer candidates). After `max_new_tokens` steps return the
/// best beam, prompt included. `model` recomputes the whole sequence each time (no cache), so
/// any function from ids to logits works.
// HINT: Beams compete on their total log-probability across all beams, not within each beam: collect every (beam, token) extension, rank them all together, and keep the best num_beams. The first step starts from a single beam.
// HINT: Keep Vec<(tokens, score)>, starting with (prompt, 0.0); each step: the beams as one [beams, t] u32 tensor, one model call, the logits of the last position [beams, vocab], log_softmax (to_vec2, in f64), every (beam, token) scored beam score + log-prob, sorted descending (total_cmp), the first num_beams kept, each new beam its parent's tokens plus the token. Return the best beam.
// HINT: `cands.sort_by(|a, b| b.0.total_cmp(&a.0)); beams = cands.into_iter().take(num_beams).map(|(s, bi, tok)| { let mut seq = beams[bi].0.clone(); seq.push(tok); (seq, s) }).collect();`
pub fn beam_search(model: &dyn Fn(&Tensor) -> Result<Tensor>, prompt: &[u32], num_beams: usize, max_new_tokens: usize, dev: &Device) -> Result<Vec<u32>> {
    // BEGIN SOLUTION
    let mut beams: Vec<(Vec<u32>, f64)> = vec![(prompt.to_vec(), 0.0)];
    for _ in 0..max_new_tokens {
        let t = beams[0].0.len();
        let flat: Vec<u32> = beams.iter().flat_map(|(s, _)| s.iter().copied()).collect();
        let ids = Tensor::from_vec(flat, (beams.len(), t), dev)?;
        let logits = model(&ids)?.i((.., t - 1, ..))?.contiguous()?;
        let lp = candle_nn::ops::log_softmax(&logits.to_dtype(DType::F64)?, D::Minus1)?.to_vec2::<f64>()?;
        let mut cands: Vec<(f64, usize, u32)> = Vec::new();
        for (bi, row) in lp.iter().enumerate() {
            for (tok, &l) in row.iter().enumerate() {
                cands.push((beams[bi].1 + l, bi, tok as u32));
            }
        }
        cands.sort_by(|a, b| b.0.total_cmp(&a.0));
        beams = cands
            .into_iter()
            .take(num_beams)
            .map(|(s, bi, tok)| {
                let mut seq = beams[bi].0.clone();
                seq.push(tok);
                (seq, s)
            })
            .collect();
    }
    Ok(beams.into_iter().next().map(|(s, _)| s).unwrap_or_default())
    // END SOLUTION
}

/// ## score_continuations
/// Score many candidate continuations of one shared prefix ("… and that was" → " bad",
/// " good", …): return `[n]` f32, the total log-probability `Σ_j log p(cands[i, j] | prefix,
/// cands[i, ..j])` of each row of `cands: [n, L]` (u32) after `prefix` (non-empty). Run the
/// prefix **once** (batch 1, `model.next_logits` with a cache); its last logits score every
/// candidate's first token; then `cache.repeat_batch(n)` and one batched pass
/// (`model.forward_with`) over `cands[:, ..L-1]` gives the logits for the remaining tokens. Equals scoring every `prefix + candidate` from scratch, with the
/// prefix's work done once instead of `n` times.
// HINT: A candidate's first token is predicted by the prefix's last position, not by the candidate; each later token is predicted by the candidate position just before it, so the candidate's last token is never fed in.
// HINT: cache = KvCache::new(n_layer); first = model.next_logits(prefix as [1, p], Some(&mut cache)), [1, V], repeated to [n, 1, V]; if L > 1: repeated = cache.repeat_batch(n), rest = model.forward_with(cands.narrow(1, 0, L − 1) (contiguous), None, None, Some(&mut repeated)), [n, L − 1, V], cat on axis 1 → [n, L, V]; log_softmax over D::Minus1; gather the candidates' ids (unsqueeze(2)) on axis 2; squeeze and sum over axis 1.
// HINT: `let logits = Tensor::cat(&[&first.unsqueeze(1)?.repeat((n, 1, 1))?, &rest], 1)?;` then `candle_nn::ops::log_softmax(&logits, D::Minus1)?.gather(&cands.unsqueeze(2)?.contiguous()?, 2)?.squeeze(2)?.sum(1)`.
pub fn score_continuations(model: &Gpt2, prefix: &[u32], cands: &Tensor) -> Result<Tensor> {
    // BEGIN SOLUTION
    let dev = cands.device();
    let (n, l) = cands.dims2()?;
    let mut cache = KvCache::new(model.cfg.n_layer);
    let first = model.next_logits(&Tensor::new(prefix, dev)?.unsqueeze(0)?, Some(&mut cache))?; // [1, V]
    let mut logits = first.unsqueeze(1)?.repeat((n, 1, 1))?; // [n, 1, V]
    if l > 1 {
        let mut cache = cache.repeat_batch(n)?;
        let rest = model.forward_with(&cands.narrow(1, 0, l - 1)?.contiguous()?, None, None, Some(&mut cache))?; // [n, L-1, V]
        logits = Tensor::cat(&[&logits, &rest], 1)?;
    }
    let lp = candle_nn::ops::log_softmax(&logits, D::Minus1)?;
    lp.gather(&cands.to_dtype(DType::U32)?.unsqueeze(2)?.contiguous()?, 2)?.squeeze(2)?.sum(1)
    // END SOLUTION
}

/// ## generate_batch
/// Generate for several prompts of different lengths at once, with the KV cache. Batched rows
/// must have equal length, so **left-pad** the prompts with `pad_id` to the longest one (padding
/// on the left keeps every row's last token in the last column, where the next token is read).
/// Then make sure padding changes nothing:
/// - a key mask `[b, t_total]` (u32: 1 for real tokens, 0 for padding) passed to
///   [`Gpt2::forward_with`] so that no query attends to a pad; it grows by a column of ones
///   with every generated token;
/// - position ids `[b, t]` (u32) counting real tokens only: row `i`'s first real token is
///   position 0 whatever its padding (give pads position 0); each new token's position is its
///   row's number of real tokens so far.
///
/// At every step, for each row: `temperature = None` takes the argmax of the last position's
/// logits; `Some(t)` samples with [`sample`] from `logits / t` using `rngs[i]` (one RNG per row,
/// one draw per row per step, so that row `i` sees the same random numbers as when generated
/// alone). Return each row's prompt (without padding) followed by its `max_new_tokens` tokens.
/// The result equals generating every prompt alone. All tensors on `dev`.
// HINT: Pad on the left, then make the padding invisible twice over: a key mask so that no query reads a pad, and position ids that count real tokens only, so that each row's first real token is position 0. Each row samples with its own random generator.
// HINT: Left-pad every prompt to the longest: ids (pad_id), key mask (0 for pads, 1 for tokens) and positions (0 for pads, then 0, 1, … per row), all u32 [b, t]; cache = KvCache::new(n_layer); each step: logits = model.forward_with(&input, Some(&positions), Some(&key_mask), Some(&mut cache)); the last position, [b, vocab]; per row the argmax, or sample(&apply_temperature(&row, t), &mut rngs[i]); the next input is the new tokens as [b, 1], positions [b, 1] each row's real length so far, and the key mask gets a column of ones (cat on axis 1).
// HINT: `positions = Tensor::from_vec(lens.clone(), (b, 1), &dev)?; lens.iter_mut().for_each(|l| *l += 1); key_mask = Tensor::cat(&[&key_mask, &Tensor::ones((b, 1), DType::U32, &dev)?], 1)?;`
pub fn generate_batch(
    model: &Gpt2,
    prompts: &[Vec<u32>],
    max_new_tokens: usize,
    temperature: Option<f64>,
    pad_id: u32,
    rngs: &mut [ChaCha8Rng],
    dev: &Device,
) -> Result<Vec<Vec<u32>>> {
    // BEGIN SOLUTION
    let dev = dev.clone();
    let b = prompts.len();
    let t = prompts.iter().map(Vec::len).max().unwrap_or(0);
    let mut ids = Vec::with_capacity(b * t);
    let mut mask = Vec::with_capacity(b * t);
    let mut pos = Vec::with_capacity(b * t);
    for p in prompts {
        let pad = t - p.len();
        ids.extend(std::iter::repeat_n(pad_id, pad).chain(p.iter().copied()));
        mask.extend(std::iter::repeat_n(0u32, pad).chain(std::iter::repeat_n(1u32, p.len())));
        pos.extend(std::iter::repeat_n(0u32, pad).chain(0..p.len() as u32));
    }
    let mut key_mask = Tensor::from_vec(mask, (b, t), &dev)?;
    let mut input = Tensor::from_vec(ids, (b, t), &dev)?;
    let mut positions = Tensor::from_vec(pos, (b, t), &dev)?;
    let mut lens: Vec<u32> = prompts.iter().map(|p| p.len() as u32).collect();
    let mut out: Vec<Vec<u32>> = prompts.to_vec();
    let mut cache = KvCache::new(model.cfg.n_layer);
    for _ in 0..max_new_tokens {
        let logits = model.forward_with(&input, Some(&positions), Some(&key_mask), Some(&mut cache))?;
        let last = logits.i((.., logits.dim(1)? - 1, ..))?.contiguous()?; // [b, V]
        let mut next = Vec::with_capacity(b);
        for i in 0..b {
            let row = last.i(i)?;
            let tok = match temperature {
                None => row.argmax(D::Minus1)?.to_scalar::<u32>()?,
                Some(temp) => sample(&apply_temperature(&row, temp)?, &mut rngs[i])?,
            };
            out[i].push(tok);
            next.push(tok);
        }
        input = Tensor::from_vec(next, (b, 1), &dev)?;
        positions = Tensor::from_vec(lens.clone(), (b, 1), &dev)?;
        lens.iter_mut().for_each(|l| *l += 1);
        key_mask = Tensor::cat(&[&key_mask, &Tensor::ones((b, 1), DType::U32, &dev)?], 1)?;
    }
    Ok(out)
    // END SOLUTION
}
