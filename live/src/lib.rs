//! Your char-GPT, live: the model you trained in week 3 ("the baby GPT"), run by your own
//! `CharGpt::forward`, in the browser (compiled to WebAssembly for the book's "Your model,
//! live" page) and natively behind a local HTTP server (`just serve`).
//!
//! [`Engine`] loads the saved weights (safetensors bytes and the JSON of sizes and characters
//! saved beside them), asks your forward pass for the next character's logits, and picks one
//! with [`Settings`]: temperature, top-k and top-p, as week 2's sampling day taught them.
//! [`Engine::attention`] records each head's attention weights during your forward pass, for
//! the page's picture.

// Your week-3 files (with `--features reference`, the course's reference solutions), compiled
// here by path: the char-GPT, and what it uses. The rest of week 3 (the job queue's databases)
// does not build for WebAssembly.
#[cfg(not(feature = "reference"))]
#[allow(dead_code, unused_imports, unused_variables, unused_mut, clippy::all)]
#[path = "../../weeks/week3/src/chargpt.rs"]
pub mod chargpt;
#[cfg(feature = "reference")]
#[allow(dead_code, unused_imports, unused_variables, unused_mut, clippy::all)]
#[path = "../../solutions/week3/src/chargpt.rs"]
pub mod chargpt;
#[cfg(not(feature = "reference"))]
#[allow(dead_code, unused_imports, unused_variables, unused_mut, clippy::all)]
#[path = "../../weeks/week3/src/instruct.rs"]
pub mod instruct;
#[cfg(feature = "reference")]
#[allow(dead_code, unused_imports, unused_variables, unused_mut, clippy::all)]
#[path = "../../solutions/week3/src/instruct.rs"]
pub mod instruct;
#[cfg(not(feature = "reference"))]
#[allow(dead_code, unused_imports, unused_variables, unused_mut, clippy::all)]
#[path = "../../weeks/week3/src/model.rs"]
pub mod model;
#[cfg(feature = "reference")]
#[allow(dead_code, unused_imports, unused_variables, unused_mut, clippy::all)]
#[path = "../../solutions/week3/src/model.rs"]
pub mod model;
#[cfg(not(feature = "reference"))]
#[allow(dead_code, unused_imports, unused_variables, unused_mut, clippy::all)]
#[path = "../../weeks/week3/src/train_loop.rs"]
pub mod train_loop;
#[cfg(feature = "reference")]
#[allow(dead_code, unused_imports, unused_variables, unused_mut, clippy::all)]
#[path = "../../solutions/week3/src/train_loop.rs"]
pub mod train_loop;

#[cfg(target_arch = "wasm32")]
mod web;

use candle_core::{Device, Tensor};
use chargpt::{CharGpt, GptConfig, Vocab};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;

/// What went wrong, in a sentence for the learner.
pub type Result<T> = std::result::Result<T, String>;

/// How the next character is picked.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Settings {
    /// Divides the logits before the softmax; `0` means greedy (the most likely character).
    pub temperature: f64,
    /// Keep only the `top_k` most likely characters (`0`: all of them).
    pub top_k: usize,
    /// Keep the smallest set of most likely characters whose probabilities reach `top_p`
    /// (`1`: all of them).
    pub top_p: f64,
}

impl Settings {
    /// Always the most likely character.
    pub const GREEDY: Settings = Settings { temperature: 0.0, top_k: 0, top_p: 1.0 };

    /// Settings a user typed, or what is wrong with them.
    pub fn checked(temperature: f64, top_k: usize, top_p: f64) -> Result<Settings> {
        if !(temperature.is_finite() && temperature >= 0.0) {
            return Err(format!("temperature must be 0 (greedy) or above, not {temperature}"));
        }
        if !(top_p > 0.0 && top_p <= 1.0) {
            return Err(format!("top_p must be in (0, 1], not {top_p}"));
        }
        Ok(Settings { temperature, top_k, top_p })
    }
}

/// The probabilities a setting leaves: temperature, then top-k, then top-p, renormalised.
/// Greedy settings put all the probability on the first largest logit.
pub fn probabilities(logits: &[f32], s: &Settings) -> Vec<f64> {
    let n = logits.len();
    let mut p = vec![0f64; n];
    if s.temperature == 0.0 {
        let best = (0..n).fold(0, |b, i| if logits[i] > logits[b] { i } else { b });
        p[best] = 1.0;
        return p;
    }
    let max = logits.iter().fold(f32::NEG_INFINITY, |m, &x| m.max(x)) as f64;
    for (q, &l) in p.iter_mut().zip(logits) {
        *q = ((l as f64 - max) / s.temperature).exp();
    }
    // Most likely first; ties in index order, so the result does not depend on the sort.
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| p[b].total_cmp(&p[a]).then(a.cmp(&b)));
    let mut keep = if s.top_k == 0 { n } else { s.top_k.min(n) };
    let total: f64 = p.iter().sum();
    let mut acc = 0.0;
    for (rank, &i) in order.iter().enumerate().take(keep) {
        acc += p[i] / total;
        if acc >= s.top_p {
            keep = rank + 1;
            break;
        }
    }
    for &i in &order[keep..] {
        p[i] = 0.0;
    }
    let kept: f64 = p.iter().sum();
    p.iter_mut().for_each(|q| *q /= kept);
    p
}

/// Draw an index from `p` with one uniform number (the first whose cumulative probability
/// exceeds it; the last with any probability if rounding leaves none).
pub fn draw(p: &[f64], rng: &mut ChaCha8Rng) -> usize {
    let u: f64 = rng.random();
    let mut acc = 0.0;
    for (i, &q) in p.iter().enumerate() {
        acc += q;
        if acc > u && q > 0.0 {
            return i;
        }
    }
    p.iter().rposition(|&q| q > 0.0).unwrap_or(0)
}

/// Attention weights `[layer][head][query][key]`.
pub type Attention = Vec<Vec<Vec<Vec<f32>>>>;

/// A loaded char-GPT and its vocabulary.
pub struct Engine {
    pub model: CharGpt,
    pub vocab: Vocab,
    /// The validation loss saved beside the weights (NaN when the file has none).
    pub val_loss: f64,
}

impl Engine {
    /// A model from safetensors bytes and the JSON saved beside them
    /// (`{"config": {...}, "chars": "..."}`, as week 3's baby GPT writes them).
    pub fn load(weights: &[u8], meta: &str) -> Result<Engine> {
        let meta: serde_json::Value = serde_json::from_str(meta).map_err(|e| format!("the model's JSON does not parse: {e}"))?;
        let mut cfg: GptConfig = serde_json::from_value(meta["config"].clone()).map_err(|e| format!("the model's JSON has no usable config: {e}"))?;
        // Generation runs in evaluation mode.
        cfg.dropout = 0.0;
        let chars: Vec<char> = meta["chars"].as_str().ok_or("the model's JSON has no chars")?.chars().collect();
        if chars.len() != cfg.vocab {
            return Err(format!("the model's JSON lists {} characters for a vocabulary of {}", chars.len(), cfg.vocab));
        }
        let tensors = candle_core::safetensors::load_buffer(weights, &Device::Cpu).map_err(|e| format!("the weights do not load: {e}"))?;
        let tensors: BTreeMap<String, Tensor> = tensors.into_iter().collect();
        let model = CharGpt::from_tensors(cfg, &tensors).map_err(|e| format!("the weights do not fit their config: {e}"))?;
        Ok(Engine { model, vocab: Vocab { chars }, val_loss: meta["val_loss"].as_f64().unwrap_or(f64::NAN) })
    }

    /// A model from `DIR/NAME.safetensors` and `DIR/NAME.json`.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn open(path: &std::path::Path) -> Result<Engine> {
        let weights = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let json = path.with_extension("json");
        let meta = std::fs::read_to_string(&json).map_err(|e| format!("{}: {e}", json.display()))?;
        Engine::load(&weights, &meta)
    }

    pub fn block_size(&self) -> usize {
        self.model.cfg.block_size
    }

    /// The ids of `text`, or an error naming every character outside the vocabulary.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        let mut unknown: Vec<char> = text.chars().filter(|c| self.vocab.chars.binary_search(c).is_err()).collect();
        if !unknown.is_empty() {
            unknown.sort_unstable();
            unknown.dedup();
            let names: Vec<String> = unknown.iter().map(|c| format!("{c:?}")).collect();
            return Err(format!("not in the model's vocabulary: {}", names.join(", ")));
        }
        self.vocab.encode(text).map_err(|e| e.to_string())
    }

    pub fn decode(&self, ids: &[u32]) -> String {
        ids.iter().map(|&i| self.vocab.chars.get(i as usize).copied().unwrap_or('?')).collect()
    }

    /// The next character's logits after `ids` (at least one), from your forward pass on the
    /// last `block_size` of them.
    pub fn next_logits(&self, ids: &[u32]) -> Result<Vec<f32>> {
        if ids.is_empty() {
            return Err("the prompt is empty: give at least one character".into());
        }
        let ctx = &ids[ids.len().saturating_sub(self.block_size())..];
        let x = Tensor::new(ctx, &Device::Cpu).and_then(|t| t.unsqueeze(0)).map_err(|e| e.to_string())?;
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let logits = self.model.forward(&x, false, &mut rng).map_err(|e| format!("your CharGpt::forward: {e}"))?;
        logits
            .narrow(1, ctx.len() - 1, 1)
            .and_then(|l| l.flatten_all())
            .and_then(|l| l.to_vec1::<f32>())
            .map_err(|e| format!("your CharGpt::forward returned logits of shape {:?}: {e}", logits.dims()))
    }

    /// `n` characters after `prompt`, each picked with `settings` and `rng`.
    pub fn generate(&self, prompt: &[u32], n: usize, settings: &Settings, rng: &mut ChaCha8Rng, mut each: impl FnMut(u32) -> bool) -> Result<Vec<u32>> {
        let mut context: Vec<u32> = prompt.into();
        let mut written = Vec::with_capacity(n);
        while written.len() < n {
            let next = draw(&probabilities(&self.next_logits(&context)?, settings), rng) as u32;
            context.push(next);
            written.push(next);
            if !each(next) {
                break;
            }
        }
        Ok(written)
    }

    /// Every head's attention weights over the last `block_size` of `ids`,
    /// `[layer][head][query][key]`, as your forward pass computed them: the outputs of
    /// `fastops::softmax_last_dim` during one forward pass (recorded with
    /// `fastops::record_softmaxes`) that have the attention's shape `[1, heads, T, T]`. Also
    /// returns the next character's logits from that same pass.
    pub fn attention(&self, ids: &[u32]) -> Result<(Attention, Vec<f32>)> {
        let ctx = &ids[ids.len().saturating_sub(self.block_size())..];
        let (logits, seen) = fastops::record_softmaxes(|| self.next_logits(ctx));
        let (nh, t) = (self.model.cfg.n_head, ctx.len());
        let maps: Attention = seen
            .iter()
            .filter(|a| a.dims() == [1, nh, t, t])
            .map(|a| a.squeeze(0).and_then(|a| a.to_vec3::<f32>()).map_err(|e| e.to_string()))
            .collect::<Result<_>>()?;
        if maps.is_empty() {
            return Err(
                "your forward pass computed no attention weights with fastops::softmax_last_dim (as its doc comment directs), so there are none to draw".into(),
            );
        }
        Ok((maps, logits?))
    }

    /// The `k` most likely next characters after `ids` under `settings`' temperature (before
    /// top-k and top-p), most likely first.
    pub fn top(&self, logits: &[f32], temperature: f64, k: usize) -> Vec<(char, f64)> {
        let t = if temperature > 0.0 { temperature } else { 1.0 };
        let p = probabilities(logits, &Settings { temperature: t, top_k: 0, top_p: 1.0 });
        let mut order: Vec<usize> = (0..p.len()).collect();
        order.sort_by(|&a, &b| p[b].total_cmp(&p[a]).then(a.cmp(&b)));
        order.iter().take(k).map(|&i| (self.vocab.chars[i], p[i])).collect()
    }
}

/// The prompt of one chat exchange with the instruction-tuned model (week 3's chat template).
pub fn chat_prompt(instruction: &str) -> String {
    instruct::chat_prompt(instruction)
}

#[cfg(not(target_arch = "wasm32"))]
pub mod server;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greedy_is_the_argmax_and_top_k_one_is_greedy() {
        let l = [0.1f32, 2.0, -1.0, 2.0];
        assert_eq!(probabilities(&l, &Settings::GREEDY), vec![0.0, 1.0, 0.0, 0.0]);
        let p = probabilities(&l, &Settings { temperature: 0.7, top_k: 1, top_p: 1.0 });
        assert_eq!(p, vec![0.0, 1.0, 0.0, 0.0]);
    }

    #[test]
    fn temperature_is_a_softmax_of_scaled_logits() {
        let l = [1.0f32, 2.0, 3.0];
        let p = probabilities(&l, &Settings { temperature: 2.0, top_k: 0, top_p: 1.0 });
        let z: f64 = [0.5f64, 1.0, 1.5].iter().map(|x| x.exp()).sum();
        for (q, x) in p.iter().zip([0.5f64, 1.0, 1.5]) {
            assert!((q - x.exp() / z).abs() < 1e-12);
        }
    }

    #[test]
    fn top_p_keeps_the_smallest_set_reaching_p() {
        // Probabilities 0.5, 0.3, 0.2 (from their logs): top-p 0.6 keeps the first two.
        let l: Vec<f32> = [0.5f32, 0.3, 0.2].iter().map(|p| p.ln()).collect();
        let p = probabilities(&l, &Settings { temperature: 1.0, top_k: 0, top_p: 0.6 });
        assert!((p[0] - 0.625).abs() < 1e-6 && (p[1] - 0.375).abs() < 1e-6 && p[2] == 0.0, "{p:?}");
        let p = probabilities(&l, &Settings { temperature: 1.0, top_k: 0, top_p: 0.5 });
        assert!((p[0] - 1.0).abs() < 1e-6, "{p:?}");
    }

    #[test]
    fn settings_refuse_what_the_server_refuses() {
        assert!(Settings::checked(-0.1, 0, 1.0).is_err());
        assert!(Settings::checked(1.0, 0, 0.0).is_err());
        assert!(Settings::checked(1.0, 0, 1.5).is_err());
        assert!(Settings::checked(1.0, 5, 1.0).is_ok());
    }

    /// The instructor's model, committed for the book.
    #[cfg(feature = "reference")]
    fn instructor() -> Engine {
        Engine::open(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../book/live/chargpt.safetensors")).unwrap()
    }

    #[cfg(feature = "reference")]
    #[test]
    fn the_attention_is_the_forward_passes_own() {
        let e = instructor();
        let ids = e.encode("ROMEO:\nWhat light through yonder window breaks").unwrap();
        let (maps, logits) = e.attention(&ids).unwrap();
        assert_eq!(logits, e.next_logits(&ids).unwrap());
        assert_eq!((maps.len(), maps[0].len(), maps[0][0].len()), (e.model.cfg.n_layer, e.model.cfg.n_head, ids.len()));
        for row in &maps[1][2] {
            assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-4);
        }
        assert_eq!(maps[0][0][0][1], 0.0, "the first character looked ahead");
        // Outside a recording nothing is kept.
        let (_, none) = fastops::record_softmaxes(|| ());
        assert!(none.is_empty());
    }

    #[cfg(feature = "reference")]
    #[test]
    fn unknown_characters_are_named() {
        let e = instructor();
        let err = e.encode("héllo ~").unwrap_err();
        assert!(err.contains("'é'") && err.contains("'~'"), "{err}");
    }

    #[test]
    fn draw_follows_the_probabilities() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let p = [0.25, 0.0, 0.75];
        let mut counts = [0usize; 3];
        for _ in 0..4000 {
            counts[draw(&p, &mut rng)] += 1;
        }
        assert_eq!(counts[1], 0);
        assert!((counts[2] as f64 / 4000.0 - 0.75).abs() < 0.03, "{counts:?}");
    }
}
