//! # A character-level GPT on Tiny Shakespeare
//!
//! The model of week 2, at the size of a laptop: nanoGPT's GPT (learned positions, pre-norm
//! blocks of causal self-attention and a GELU MLP, a final layer norm, and an output layer
//! tied to the token embedding), over the 65 characters of Tiny Shakespeare instead of
//! GPT-2's 50,257 tokens. Bring your week-2 code: the blocks are the same; what is new is
//! dropout (from your `train_loop::dropout`, in training mode only), nanoGPT's parameter
//! names, and a character vocabulary. The train loop of the previous day trains it; the
//! trained model is saved for weeks 4 and 5.
//!
//! Parameter names (as in nanoGPT's `model.py`, so that its checkpoints and the fixtures line
//! up): `transformer.wte.weight` `[V, C]`, `transformer.wpe.weight` `[block, C]`, for each
//! layer `i` `transformer.h.i.ln_1.{weight,bias}`, `.attn.c_attn.{weight [3C, C], bias}`,
//! `.attn.c_proj.{weight [C, C], bias}`, `.ln_2.{weight,bias}`, `.mlp.c_fc.{weight [4C, C],
//! bias}`, `.mlp.c_proj.{weight [C, 4C], bias}`, then `transformer.ln_f.{weight,bias}`. Linear
//! weights are `[out, in]` as in torch; `lm_head` is `wte` itself (weight tying).
// STUB: #![allow(unused_variables, unused_imports, unused_mut, dead_code)] // remove once you have solved a few

use super::model::Model;
use super::train_loop::dropout;
use candle_core::{DType, Device, Result, Tensor, Var};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;

/// A GPT's sizes.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GptConfig {
    pub vocab: usize,
    pub n_layer: usize,
    pub n_head: usize,
    pub n_embd: usize,
    pub block_size: usize,
    pub dropout: f64,
}

/// A character vocabulary: the sorted distinct characters of a text.
#[derive(Clone, Debug, PartialEq)]
pub struct Vocab {
    pub chars: Vec<char>,
}

/// ## vocab
/// The vocabulary of `text` (its distinct characters, sorted), `encode` (each character's
/// index; a character not in the vocabulary is an error naming it) and `decode`.
// HINT: The vocabulary is just the sorted distinct characters, so a character's id is its position in that sorted list, which a binary search finds; a character that is not there must be an error naming it, not a panic.
// HINT: new: collect the text's chars into a Vec, sort, dedup. encode: map each char to the index binary_search finds, turn its Err into a candle_core::Error::Msg naming the character, and collect into Result<Vec<u32>>. decode: look each id up in chars and collect into a String.
// HINT: text.chars().map(|c| self.chars.binary_search(&c).map(|i| i as u32).map_err(|_| candle_core::Error::Msg(format!("character {c:?} is not in the vocabulary")))).collect()
impl Vocab {
    pub fn new(text: &str) -> Vocab {
        // BEGIN SOLUTION
        let mut chars: Vec<char> = text.chars().collect();
        chars.sort_unstable();
        chars.dedup();
        Vocab { chars }
        // END SOLUTION
    }

    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        // BEGIN SOLUTION
        text.chars()
            .map(|c| self.chars.binary_search(&c).map(|i| i as u32).map_err(|_| candle_core::Error::Msg(format!("character {c:?} is not in the vocabulary"))))
            .collect()
        // END SOLUTION
    }

    pub fn decode(&self, ids: &[u32]) -> String {
        // BEGIN SOLUTION
        ids.iter().map(|&i| self.chars.get(i as usize).copied().unwrap_or('?')).collect()
        // END SOLUTION
    }
}

/// nanoGPT's GPT with named variables (see the module's doc for the names).
pub struct CharGpt {
    pub cfg: GptConfig,
    /// Every trainable variable by name.
    pub vars: BTreeMap<String, Var>,
    /// Every weight the forward pass reads, by name (`w` reads them). For a plain model each is
    /// its variable's tensor; a LoRA model (the `lora` day) reads computed weights here while
    /// its variables are only the adapters.
    pub weights: BTreeMap<String, Tensor>,
}

impl CharGpt {
    /// nanoGPT's initialisation (given): every weight matrix and embedding from N(0, 0.02),
    /// the residual projections (`c_proj.weight`) from N(0, 0.02/√(2·n_layer)), biases 0,
    /// layer-norm gains 1; normal draws by Box–Muller from `ChaCha8Rng::seed_from_u64(seed)`,
    /// in the order of the names.
    pub fn new(cfg: GptConfig, seed: u64, dev: &Device) -> Result<CharGpt> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut vars = BTreeMap::new();
        for (name, shape) in Self::shapes(&cfg) {
            let n: usize = shape.iter().product();
            let t = if name.ends_with(".bias") {
                Tensor::zeros(shape.as_slice(), DType::F32, dev)?
            } else if name.contains(".ln_") {
                Tensor::ones(shape.as_slice(), DType::F32, dev)?
            } else {
                let std = if name.ends_with("c_proj.weight") { 0.02 / (2.0 * cfg.n_layer as f64).sqrt() } else { 0.02 };
                let v: Vec<f32> = (0..n)
                    .map(|_| {
                        let (u1, u2): (f64, f64) = (rng.random::<f64>().max(1e-300), rng.random());
                        ((-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos() * std) as f32
                    })
                    .collect();
                Tensor::from_vec(v, shape.as_slice(), dev)?
            };
            vars.insert(name, Var::from_tensor(&t)?);
        }
        Ok(CharGpt::with_vars(cfg, vars))
    }

    /// A plain model whose weights are its variables (given).
    pub fn with_vars(cfg: GptConfig, vars: BTreeMap<String, Var>) -> CharGpt {
        let weights = vars.iter().map(|(k, v)| (k.clone(), v.as_tensor().clone())).collect();
        CharGpt { cfg, vars, weights }
    }

    /// Every variable's name and shape, in name order (given).
    pub fn shapes(cfg: &GptConfig) -> Vec<(String, Vec<usize>)> {
        let c = cfg.n_embd;
        let mut v = vec![("transformer.wte.weight".to_string(), vec![cfg.vocab, c]), ("transformer.wpe.weight".to_string(), vec![cfg.block_size, c])];
        for i in 0..cfg.n_layer {
            let p = format!("transformer.h.{i}");
            for (n, s) in [
                ("ln_1.weight", vec![c]),
                ("ln_1.bias", vec![c]),
                ("attn.c_attn.weight", vec![3 * c, c]),
                ("attn.c_attn.bias", vec![3 * c]),
                ("attn.c_proj.weight", vec![c, c]),
                ("attn.c_proj.bias", vec![c]),
                ("ln_2.weight", vec![c]),
                ("ln_2.bias", vec![c]),
                ("mlp.c_fc.weight", vec![4 * c, c]),
                ("mlp.c_fc.bias", vec![4 * c]),
                ("mlp.c_proj.weight", vec![c, 4 * c]),
                ("mlp.c_proj.bias", vec![c]),
            ] {
                v.push((format!("{p}.{n}"), s));
            }
        }
        v.push(("transformer.ln_f.weight".to_string(), vec![c]));
        v.push(("transformer.ln_f.bias".to_string(), vec![c]));
        v.sort();
        v
    }

    /// A model with the given weights (every name of `shapes`), e.g. a fixture's (given).
    pub fn from_tensors(cfg: GptConfig, tensors: &BTreeMap<String, Tensor>) -> Result<CharGpt> {
        let mut vars = BTreeMap::new();
        for (name, shape) in Self::shapes(&cfg) {
            let t = tensors.get(&name).ok_or_else(|| candle_core::Error::Msg(format!("no {name}")))?;
            if t.dims() != shape.as_slice() {
                candle_core::bail!("{name} has shape {:?}, expected {shape:?}", t.dims());
            }
            vars.insert(name, Var::from_tensor(&t.to_dtype(DType::F32)?)?);
        }
        Ok(CharGpt::with_vars(cfg, vars))
    }

    /// A weight's current value (given).
    pub fn w(&self, name: &str) -> Result<&Tensor> {
        self.weights.get(name).ok_or_else(|| candle_core::Error::Msg(format!("the model has no {name}")))
    }

    /// ## forward
    /// Logits `[b, T, V]` for ids `x` `[b, T]` (u32, `T ≤ block_size`):
    /// `h = drop(wte[x] + wpe[0..T])`; per layer `h = h + drop(attn(ln_1(h)))`,
    /// `h = h + drop(mlp(ln_2(h)))`; `logits = ln_f(h) · wteᵀ`. Attention is causal with
    /// `n_head` heads of `n_embd / n_head`, scaled by `1/√head_dim`, softmax over the keys,
    /// dropout on the attention weights; the MLP is `c_proj(gelu(c_fc(x)))` with the exact (erf)
    /// GELU; layer norms use eps 1e-5.
    ///
    /// You wrote each of these pieces in week 2. Here the ones you have written before come from
    /// the course's ops library, `fastops` (the book's "fastops" page says what each one
    /// equals), which computes the same values with their backward pass in one step each way:
    /// - linear layers: `fastops::linear(x, &w, Some(&b))`, `x · wᵀ + b` for `x` of any rank
    ///   (torch's `F.linear`), and the head as `fastops::linear(&h, wte, None)`;
    /// - layer norms: `fastops::layer_norm(x, &w, &b, 1e-5)`;
    /// - the GELU: `fastops::gelu_erf(x)`;
    /// - the softmax over the keys: `fastops::softmax_last_dim(x)` (differentiable, unlike
    ///   candle's fused `candle_nn::ops::softmax_last_dim`).
    ///
    /// What you write is the model itself: the embeddings, the heads (`[b, T, 3C]` → `q, k, v`
    /// of `[b, H, T, D]`), the causal mask (`−∞` above the diagonal, added to the scaled scores),
    /// the weighted sum of the values, the heads merged back to `[b, T, C]`, and the residual
    /// stream. A training step built this way takes less than half the time of one whose linear
    /// layers are `matmul` + `broadcast_add`.
    ///
    /// Every `drop` is `train_loop::dropout(·, cfg.dropout, rng)` when `train` and
    /// `cfg.dropout > 0`, and the identity otherwise, called in this order: embeddings, then
    /// per layer the attention weights, the attention output, the MLP output.
    // HINT: This is week 2's GPT-2 block again, with nanoGPT's names and torch's [out, in] weights: pre-norm, residual additions, a causal mask, a tied head.
    // HINT: Small closures keep it short: linear(x, prefix) and norm(x, prefix) that read prefix.weight and prefix.bias with self.w and call fastops; drop(x, rng). The mask is a [T, T] tensor (0 on and below the diagonal, −∞ above) built once per call and broadcast_add-ed to the scores [b, H, T, T].
    // HINT: Heads: qkv.narrow(2, k·C, C) for k = 0, 1, 2, each .reshape((b, T, H, D))?.transpose(1, 2)?.contiguous(); scores = (q.matmul(&k.t()?)? * (1/√D))?.broadcast_add(&mask)?; y = softmax·v, then .transpose(1, 2)?.reshape((b, T, C)).
    pub fn forward(&self, x: &Tensor, train: bool, rng: &mut ChaCha8Rng) -> Result<Tensor> {
        // BEGIN SOLUTION
        let cfg = self.cfg;
        let (b, t) = x.dims2()?;
        let (c, nh) = (cfg.n_embd, cfg.n_head);
        let hd = c / nh;
        let drop = |x: Tensor, rng: &mut ChaCha8Rng| if train && cfg.dropout > 0.0 { dropout(&x, cfg.dropout, rng) } else { Ok(x) };
        let linear = |x: &Tensor, p: &str| fastops::linear(x, self.w(&format!("{p}.weight"))?, Some(self.w(&format!("{p}.bias"))?));
        let norm = |x: &Tensor, p: &str| fastops::layer_norm(x, self.w(&format!("{p}.weight"))?, self.w(&format!("{p}.bias"))?, 1e-5);
        // The causal mask: 0 where query i may read key j (j ≤ i), −∞ above the diagonal.
        let mask: Vec<f32> = (0..t * t).map(|k| if k % t > k / t { f32::NEG_INFINITY } else { 0.0 }).collect();
        let mask = Tensor::from_vec(mask, (t, t), x.device())?;
        let wte = self.w("transformer.wte.weight")?;
        let pos = self.w("transformer.wpe.weight")?.narrow(0, 0, t)?;
        let tok = wte.embedding(&x.flatten_all()?)?.reshape((b, t, c))?;
        let mut h = drop(tok.broadcast_add(&pos)?, rng)?;
        for i in 0..cfg.n_layer {
            let p = format!("transformer.h.{i}");
            let qkv = linear(&norm(&h, &format!("{p}.ln_1"))?, &format!("{p}.attn.c_attn"))?;
            let heads = |k: usize| qkv.narrow(2, k * c, c)?.reshape((b, t, nh, hd))?.transpose(1, 2)?.contiguous();
            let (q, k, v) = (heads(0)?, heads(1)?, heads(2)?);
            let scores = (q.matmul(&k.t()?)? * (1.0 / (hd as f64).sqrt()))?.broadcast_add(&mask)?;
            let att = drop(fastops::softmax_last_dim(&scores)?, rng)?;
            let y = att.matmul(&v)?.transpose(1, 2)?.reshape((b, t, c))?;
            h = (&h + drop(linear(&y, &format!("{p}.attn.c_proj"))?, rng)?)?;
            let m = fastops::gelu_erf(&linear(&norm(&h, &format!("{p}.ln_2"))?, &format!("{p}.mlp.c_fc"))?)?;
            h = (&h + drop(linear(&m, &format!("{p}.mlp.c_proj"))?, rng)?)?;
        }
        fastops::linear(&norm(&h, "transformer.ln_f")?, wte, None)
        // END SOLUTION
    }
}

impl Model for CharGpt {
    fn vars(&self) -> Vec<(String, Var)> {
        self.vars.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }

    fn loss(&self, x: &Tensor, y: &Tensor, train: bool, rng: &mut ChaCha8Rng) -> Result<Tensor> {
        let logits = self.forward(x, train, rng)?;
        // candle_nn::loss::cross_entropy's values and gradient over every position, fused into
        // one pass each way (it takes [b, t, vocab] logits as they are: no reshape in the graph).
        fastops::cross_entropy(&logits, y)
    }
}

// HINT(recipe): Nothing new to write: twenty steps of your own train-loop pieces run on your GPT from torch's initial weights and batches, so a failure here points at one of those pieces; find the first number that differs.
// HINT(recipe): The first failing quantity says where to look: a wrong loss before step 0 means forward (or accumulate's division by k); a wrong gradient norm means accumulate or clip_grad_norm; losses right at first that drift later mean lr_at (warmup, cosine) or AdamW (bias corrections, which variables decay, decay applied to the weight before the update). AdamW::new's β2 of 0.95 is used here.
// HINT(recipe): Compare each piece with its formula: lr_at(s) = lr · (s + 1) / (warmup + 1) during warmup; the clip factor (max_norm / (total + 1e-6)).min(1.0); AdamW decays only when var.rank() >= 2, with w · (1 − lr·wd) before w − lr · (m / (1 − 0.9^t)) / (sqrt(v / (1 − β2^t)) + 1e-8).
// HINT(train_chargpt): Nothing new to write: your train runs 300 steps of your GPT on the first 90 % of Tiny Shakespeare, and the check measures the loss on the held-out rest; a loss stuck near the unigram entropy means the model learned only how often each character occurs.
// HINT(train_chargpt): A validation loss near the unigram entropy (≈ 3.3) means the model does not use its context: check the causal mask (−∞ strictly above the diagonal, added to the scaled scores before the softmax), that the position embeddings are added, that the heads are split and merged in the right order, and that the loader's targets are the inputs shifted by one.
// HINT(train_chargpt): The mask is the usual culprit: for a flat index k over T·T, mask[k] = −∞ exactly when k % T > k / T (key after query), as a [T, T] tensor broadcast_add-ed to the scores [b, H, T, T] before softmax_last_dim.
// HINT(baby_gpt): Nothing new to write: a long run of your own loop and GPT at nanoGPT's baby recipe. If it falls short of the bar, the culprit is usually a detail of the recipe rather than of the model: the schedule, the decay groups, or the second beta taken from the config.
// HINT(baby_gpt): Run it with `just grade week3 baby_gpt --long` (minutes on a CPU). If the loss stalls above 2: check that lr_at warms up and then decays to min_lr, that AdamW skips biases and layer-norm gains (rank < 2), that train sets opt.beta2 from cfg.beta2 (0.99 here), that clipping is at 1.0, and that the loader draws a new phase and order every epoch.
// HINT(baby_gpt): In train: let mut opt = AdamW::new(vars.clone(), cfg.weight_decay)?; opt.beta2 = cfg.beta2; and in AdamW::step: if Self::decays(var) { w = (w * (1.0 - lr * self.weight_decay))?; } with decays being var.rank() >= 2.
/// ## sample
/// Generate `n` characters after `prompt` (ids, at least one): repeatedly run the model in
/// evaluation mode on the last `block_size` ids, take the last position's logits divided by
/// `temperature`, and draw the next id from their softmax with one `rng.random::<f32>()`
/// (the first id whose cumulative probability exceeds the draw; the last id if rounding
/// leaves none). Returns the `n` new ids.
// HINT: Only the last block_size ids fit in the model's positions, and only the last position's logits predict the next id; divide them by the temperature before the softmax, and draw exactly one uniform number per new character.
// HINT: Loop n times: the context is the last block_size ids (saturating_sub), as a [1, T] u32 tensor; forward in evaluation mode (train = false); narrow the logits to the last position and flatten to [V]; divide by the temperature; softmax and to_vec1::<f32>(); draw u = rng.random::<f32>() and walk the cumulative sum to the first id whose sum exceeds u (the last id if none does); push it. Return only the new ids.
// HINT: let ctx = &ids[ids.len().saturating_sub(block)..]; let last = (logits.narrow(1, ctx.len() - 1, 1)?.flatten_all()? / temperature)?; then softmax(&last, 0)?.to_vec1::<f32>() and acc += p until acc > u.
pub fn sample(model: &CharGpt, prompt: &[u32], n: usize, temperature: f64, rng: &mut ChaCha8Rng) -> Result<Vec<u32>> {
    // BEGIN SOLUTION
    let mut ids = prompt.to_vec();
    let dev = model.w("transformer.wte.weight")?.device().clone();
    for _ in 0..n {
        let ctx = &ids[ids.len().saturating_sub(model.cfg.block_size)..];
        let x = Tensor::new(ctx, &dev)?.unsqueeze(0)?;
        let logits = model.forward(&x, false, rng)?;
        let last = (logits.narrow(1, ctx.len() - 1, 1)?.flatten_all()? / temperature)?;
        let probs = candle_nn::ops::softmax(&last, 0)?.to_vec1::<f32>()?;
        let u = rng.random::<f32>();
        let mut acc = 0f32;
        let mut next = probs.len() - 1;
        for (i, p) in probs.iter().enumerate() {
            acc += p;
            if acc > u {
                next = i;
                break;
            }
        }
        ids.push(next as u32);
    }
    Ok(ids[prompt.len()..].to_vec())
    // END SOLUTION
}
