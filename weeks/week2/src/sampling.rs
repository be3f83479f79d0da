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
#![allow(unused_variables, unused_imports, dead_code)] // remove once you have solved a few

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
pub fn greedy(logits: &Tensor) -> Result<Tensor> {
    todo!()
}

/// ## temperature
/// `logits / t` (`TemperatureLogitsWarper`): `t < 1` sharpens the distribution, `t > 1`
/// flattens it, `t → 0` approaches greedy. `t > 0`.
pub fn apply_temperature(logits: &Tensor, t: f64) -> Result<Tensor> {
    todo!()
}

/// ## top_k
/// Keep, in every row of `logits: [b, vocab]`, the entries at least as large as the row's
/// `k`-th largest value (so ties with it survive, as in `TopKLogitsWarper`); set the others to
/// `-inf`. `1 ≤ k ≤ vocab`. candle has no `topk`: sort each row (`sort_last_dim(false)`),
/// take the `k`-th value as a threshold column, compare with broadcasting, `where_cond`.
/// Example: `[[1, 3, 2, 0]]`, `k = 2` → `[[-inf, 3, 2, -inf]]`.
pub fn top_k_filter(logits: &Tensor, k: usize) -> Result<Tensor> {
    todo!()
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
pub fn top_p_filter(logits: &Tensor, p: f64) -> Result<Tensor> {
    todo!()
}

/// ## repetition_penalty
/// CTRL's repetition penalty (`RepetitionPenaltyLogitsProcessor`): for every token that occurs
/// in the row's `history: [b, n]` (u32 token ids, repeats allowed), a positive logit is divided
/// by `penalty` and a negative one multiplied by it; other logits are unchanged. `penalty > 1`
/// discourages repeats. No element loops: count the tokens into a `[b, vocab]` tensor
/// (`scatter_add` of ones), then `where_cond`.
pub fn repetition_penalty(logits: &Tensor, history: &Tensor, penalty: f64) -> Result<Tensor> {
    todo!()
}

/// ## frequency_penalty
/// OpenAI's frequency penalty: `logits - alpha * count`, where `count[b, v]` is how many times
/// token `v` occurs in `history[b]` (`history: [b, n]` u32). Unlike the repetition penalty it
/// grows with every repeat.
pub fn frequency_penalty(logits: &Tensor, history: &Tensor, alpha: f64) -> Result<Tensor> {
    todo!()
}

/// ## sample
/// Draw one token from `softmax(logits)`, `logits: [vocab]` (entries may be `-inf`: they are
/// never drawn), by inverting the cumulative distribution: draw `u` uniform in `[0, 1)` with
/// `rng.random::<f64>()` (exactly one draw per call), and return the first index whose running
/// probability sum exceeds `u` (the last index with probability > 0 if rounding leaves `u`
/// above the total). Compute the softmax stably (subtract the maximum). The same seed gives the
/// same tokens.
pub fn sample(logits: &Tensor, rng: &mut ChaCha8Rng) -> Result<u32> {
    todo!()
}

/// ## mix_contexts
/// Sample from a pair of contexts (classifier-free / contrastive guidance): given the next-token
/// logits of the same position under a prompt (`cond`) and under a second context (`uncond`,
/// e.g. the prompt without an instruction), both `[b, vocab]`, return
/// `log_softmax(cond) + weight · (log_softmax(cond) − log_softmax(uncond))`.
/// `weight = 0` is plain sampling from `cond`; larger weights push towards tokens that the
/// prompt makes *more* likely than the other context does. The result is used as logits.
pub fn mix_contexts(cond: &Tensor, uncond: &Tensor, weight: f64) -> Result<Tensor> {
    todo!()
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
pub fn causal_mask(t_new: usize, t_total: usize, dev: &Device) -> Result<Tensor> {
    todo!()
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
    pub fn append(&mut self, layer: usize, k: &Tensor, v: &Tensor) -> Result<(Tensor, Tensor)> {
        todo!()
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
pub fn generate_greedy(model: &Gpt2, prompt: &[u32], max_new_tokens: usize, dev: &Device) -> Result<Vec<u32>> {
    todo!()
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
pub fn beam_search(model: &dyn Fn(&Tensor) -> Result<Tensor>, prompt: &[u32], num_beams: usize, max_new_tokens: usize, dev: &Device) -> Result<Vec<u32>> {
    todo!()
}

/// ## score_continuations
/// Score many candidate continuations of one shared prefix ("… and that was" → " bad",
/// " good", …): return `[n]` f32, the total log-probability `Σ_j log p(cands[i, j] | prefix,
/// cands[i, ..j])` of each row of `cands: [n, L]` (u32) after `prefix` (non-empty). Run the
/// prefix **once** (batch 1, `model.next_logits` with a cache); its last logits score every
/// candidate's first token; then `cache.repeat_batch(n)` and one batched pass
/// (`model.forward_with`) over `cands[:, ..L-1]` gives the logits for the remaining tokens. Equals scoring every `prefix + candidate` from scratch, with the
/// prefix's work done once instead of `n` times.
pub fn score_continuations(model: &Gpt2, prefix: &[u32], cands: &Tensor) -> Result<Tensor> {
    todo!()
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
pub fn generate_batch(
    model: &Gpt2,
    prompts: &[Vec<u32>],
    max_new_tokens: usize,
    temperature: Option<f64>,
    pad_id: u32,
    rngs: &mut [ChaCha8Rng],
    dev: &Device,
) -> Result<Vec<Vec<u32>>> {
    todo!()
}
