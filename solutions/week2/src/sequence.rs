//! # Sequence models before transformers
//!
//! Three classic ways to model sequences, each checked against an independent reference:
//! word2vec's skip-gram with negative sampling (loss and gradients vs torch autograd, then a
//! short training run whose effect is tested statistically), n-gram language models with add-k,
//! interpolation and Kneser–Ney smoothing (perplexities vs a separate Python implementation in
//! the fixture script), and recurrent networks (RNN, LSTM, GRU cells and whole sequences vs
//! `torch.nn`).
//!
//! Values are f32 tensors; n-gram models work on plain Rust slices of token ids (`u32`) and
//! return `f64`.
// STUB: #![allow(unused_variables, unused_imports, dead_code)] // remove once you have solved a few

use candle_core::{DType, Device, Result, Tensor, Var};
use rand::Rng;
use std::collections::HashMap;

/// ## sgns_loss
/// Skip-gram with negative sampling. `center_emb, context_emb: [V, d]` are the two embedding
/// tables; `centers, contexts: [B]` (i64 / u32) are the positive (center word, context word)
/// pairs and `negatives: [B, K]` the sampled negative context words of each pair. With
/// `v = center_emb[centers]`, `u = context_emb[contexts]`, `n_k = context_emb[negatives[:, k]]`:
/// `loss = −mean_b( log σ(u·v) + Σ_k log σ(−n_k·v) )`, a scalar (rank 0). Compute `log σ(x)`
/// stably as `(x − |x|)/2 − ln(1 + exp(−|x|))` (that is `min(x, 0) − …`, but candle's
/// `minimum` splits the gradient of a tie, which doubles the derivative at x = 0 — exactly
/// where training starts when the context table is zero); it must be differentiable (the
/// gradients of both tables are checked, also at a zero context table).
// HINT: index_select the rows; positive scores (u * v).sum(1); negative scores: n [B, K, d] broadcast_mul v.unsqueeze(1), sum(2); log σ(x) = (x − |x|)/2 − (1 + exp(−|x|)).ln() (not x.minimum(0): candle splits a tie's gradient, wrong at x = 0); mean over the batch, negate.
pub fn sgns_loss(center_emb: &Tensor, context_emb: &Tensor, centers: &Tensor, contexts: &Tensor, negatives: &Tensor) -> Result<Tensor> {
    // BEGIN SOLUTION
    let (b, k) = negatives.dims2()?;
    let d = center_emb.dim(1)?;
    let v = center_emb.index_select(centers, 0)?; // [B, d]
    let u = context_emb.index_select(contexts, 0)?; // [B, d]
    let n = context_emb.index_select(&negatives.flatten_all()?, 0)?.reshape((b, k, d))?;
    let pos = (&u * &v)?.sum(1)?; // [B]
    let neg = n.broadcast_mul(&v.unsqueeze(1)?)?.sum(2)?; // [B, K]
    let total = (log_sigmoid(&pos)? + log_sigmoid(&neg.neg()?)?.sum(1)?)?;
    total.mean_all()?.neg()
    // END SOLUTION
}

// BEGIN SOLUTION ONLY
fn log_sigmoid(x: &Tensor) -> Result<Tensor> {
    let soft = (x.abs()?.neg()?.exp()? + 1.0)?.log()?;
    ((x - x.abs()?)? * 0.5)? - soft
}
// END SOLUTION

/// ## train_sgns
/// Train skip-gram embeddings on `corpus` (token ids `< vocab`) and return the center
/// embeddings `[vocab, dim]`. Initialise the center table uniformly in `±0.5 / dim` and the
/// context table to zeros (both `Var`s, from `rng`), then for `steps` steps: draw `batch`
/// (center, context) pairs — a random position `i` and a random offset `1 ≤ |o| ≤ window` with
/// `i + o` inside the corpus — and `negatives` uniform negative words per pair; take one
/// `candle_nn::AdamW` step (lr `lr`, no weight decay) on `sgns_loss`. All randomness from `rng`,
/// in this order (the grader replays it): the table, `vocab · dim` draws
/// `rng.random_range(-0.5f32..0.5) / dim` row by row; then per pair `i = rng.random_range(0..n)`,
/// `|o| = rng.random_range(1..=window)`, the sign `rng.random::<bool>()` (true: +), a pair whose
/// `i + o` falls outside the corpus dropped and drawn again from `i`, then its negatives, each
/// `rng.random_range(0..vocab)`.
// HINT: Build the batch in plain Vecs (positions and offsets from rng), then Tensor::from_vec; AdamW over [center, context] Vars; opt.backward_step(&sgns_loss(...)).
#[allow(clippy::too_many_arguments)]
pub fn train_sgns(
    corpus: &[u32],
    vocab: usize,
    dim: usize,
    window: usize,
    negatives: usize,
    steps: usize,
    batch: usize,
    lr: f64,
    rng: &mut impl Rng,
    dev: &Device,
) -> Result<Tensor> {
    // BEGIN SOLUTION
    use candle_nn::Optimizer;
    let init: Vec<f32> = (0..vocab * dim).map(|_| rng.random_range(-0.5f32..0.5) / dim as f32).collect();
    let center = Var::from_tensor(&Tensor::from_vec(init, (vocab, dim), dev)?)?;
    let context = Var::zeros((vocab, dim), DType::F32, dev)?;
    let params = candle_nn::ParamsAdamW { lr, weight_decay: 0.0, ..Default::default() };
    let mut opt = candle_nn::AdamW::new(vec![center.clone(), context.clone()], params)?;
    let n = corpus.len();
    for _ in 0..steps {
        let (mut cs, mut os, mut ns) = (Vec::with_capacity(batch), Vec::with_capacity(batch), Vec::with_capacity(batch * negatives));
        while cs.len() < batch {
            let i = rng.random_range(0..n);
            let o = rng.random_range(1..=window) as isize * if rng.random::<bool>() { 1 } else { -1 };
            let j = i as isize + o;
            if j < 0 || j >= n as isize {
                continue;
            }
            cs.push(corpus[i]);
            os.push(corpus[j as usize]);
            for _ in 0..negatives {
                ns.push(rng.random_range(0..vocab as u32));
            }
        }
        let cs = Tensor::from_vec(cs, batch, dev)?;
        let os = Tensor::from_vec(os, batch, dev)?;
        let ns = Tensor::from_vec(ns, (batch, negatives), dev)?;
        let loss = sgns_loss(center.as_tensor(), context.as_tensor(), &cs, &os, &ns)?;
        opt.backward_step(&loss)?;
    }
    Ok(center.as_tensor().detach())
    // END SOLUTION
}

/// Count every n-gram of `seq` (provided): `(counts of n-grams, counts of their (n−1)-gram
/// contexts as contexts)`; a context's count is the number of n-grams it starts.
pub fn ngram_counts(seq: &[u32], n: usize) -> (HashMap<Vec<u32>, usize>, HashMap<Vec<u32>, usize>) {
    let (mut grams, mut ctx) = (HashMap::new(), HashMap::new());
    if seq.len() >= n {
        for w in seq.windows(n) {
            *grams.entry(w.to_vec()).or_insert(0) += 1;
            *ctx.entry(w[..n - 1].to_vec()).or_insert(0) += 1;
        }
    }
    (grams, ctx)
}

/// Perplexity `exp(−mean log p)` of a list of log-probabilities (provided).
pub fn perplexity(logps: &[f64]) -> f64 {
    (-logps.iter().sum::<f64>() / logps.len() as f64).exp()
}

/// ## addk_perplexity
/// Perplexity on `test` of an n-gram model trained on `train` with add-k smoothing:
/// `P(w | h) = (c(h, w) + k) / (c(h) + k · vocab)`, where `h` is the `n − 1` previous tokens,
/// `c(h, w)` the n-gram's count in `train` and `c(h)` the number of n-grams of `train` starting
/// with `h`. Score every test position `i ≥ n − 1` (its context taken from `test`). For `n = 1`
/// the context is empty and `c(h)` is the number of training tokens.
// HINT: ngram_counts(train, n) gives both counts; for each test position i ≥ n − 1 look up &test[i+1−n..=i] and its first n − 1 tokens; sum the logs, then perplexity().
pub fn addk_perplexity(train: &[u32], test: &[u32], vocab: usize, n: usize, k: f64) -> f64 {
    // BEGIN SOLUTION
    let (grams, ctx) = ngram_counts(train, n);
    let lp: Vec<f64> = (n - 1..test.len())
        .map(|i| {
            let g = &test[i + 1 - n..=i];
            let c = *grams.get(g).unwrap_or(&0) as f64;
            let h = *ctx.get(&g[..n - 1]).unwrap_or(&0) as f64;
            ((c + k) / (h + k * vocab as f64)).ln()
        })
        .collect();
    perplexity(&lp)
    // END SOLUTION
}

/// ## interpolated_perplexity
/// Perplexity on `test` (positions `i ≥ 2`) of the linear interpolation of a trigram, a bigram
/// and a unigram model: `P(w | u, v) = λ₀ P₃(w | u, v) + λ₁ P₂(w | v) + λ₂ P₁(w)`, with
/// `lambdas = [λ₀, λ₁, λ₂]` (summing to 1), maximum-likelihood `P₃ = c(u, v, w) / c(u, v)` and
/// `P₂ = c(v, w) / c(v)` (0 when the context never occurs in `train`; `c(h)` counted as in
/// `addk_perplexity`), and the add-one unigram `P₁ = (c(w) + 1) / (N + vocab)`.
// HINT: Three ngram_counts; an ML estimate is 0 when its context was never seen (not NaN); the unigram is add-one: (c(w) + 1) / (N + V).
pub fn interpolated_perplexity(train: &[u32], test: &[u32], vocab: usize, lambdas: [f64; 3]) -> f64 {
    // BEGIN SOLUTION
    let (g3, c3) = ngram_counts(train, 3);
    let (g2, c2) = ngram_counts(train, 2);
    let (g1, _) = ngram_counts(train, 1);
    let ml = |g: &HashMap<Vec<u32>, usize>, c: &HashMap<Vec<u32>, usize>, gram: &[u32]| {
        let h = *c.get(&gram[..gram.len() - 1]).unwrap_or(&0) as f64;
        if h == 0.0 {
            0.0
        } else {
            *g.get(gram).unwrap_or(&0) as f64 / h
        }
    };
    let lp: Vec<f64> = (2..test.len())
        .map(|i| {
            let p3 = ml(&g3, &c3, &test[i - 2..=i]);
            let p2 = ml(&g2, &c2, &test[i - 1..=i]);
            let p1 = (*g1.get(&test[i..=i]).unwrap_or(&0) as f64 + 1.0) / (train.len() + vocab) as f64;
            (lambdas[0] * p3 + lambdas[1] * p2 + lambdas[2] * p1).ln()
        })
        .collect();
    perplexity(&lp)
    // END SOLUTION
}

/// ## kneser_ney_perplexity
/// Perplexity on `test` (positions `i ≥ 1`) of an interpolated Kneser–Ney *bigram* model with
/// discount `d`: `P(w | v) = max(c(v, w) − d, 0) / c(v) + d · N₁₊(v •) / c(v) · P_cont(w)`, where
/// `N₁₊(v •)` is the number of distinct words that follow `v` in `train`, and the continuation
/// probability `P_cont(w) = N₁₊(• w) / N₁₊(• •)` is the number of distinct words that precede
/// `w` over the number of distinct bigram types. When `c(v) = 0`, `P(w | v) = P_cont(w)`.
// HINT: From the bigram counts: followers[v] = #distinct w after v, preceders[w] = #distinct v before w, types = #distinct bigrams. P_cont(w) = preceders[w] / types; the discounted mass d · followers[v] / c(v) goes to P_cont.
pub fn kneser_ney_perplexity(train: &[u32], test: &[u32], d: f64) -> f64 {
    // BEGIN SOLUTION
    let (g2, c2) = ngram_counts(train, 2);
    let mut followers: HashMap<u32, usize> = HashMap::new();
    let mut preceders: HashMap<u32, usize> = HashMap::new();
    for gram in g2.keys() {
        *followers.entry(gram[0]).or_insert(0) += 1;
        *preceders.entry(gram[1]).or_insert(0) += 1;
    }
    let types = g2.len() as f64;
    let lp: Vec<f64> = (1..test.len())
        .map(|i| {
            let (v, w) = (test[i - 1], test[i]);
            let p_cont = *preceders.get(&w).unwrap_or(&0) as f64 / types;
            let cv = *c2.get(&vec![v]).unwrap_or(&0) as f64;
            let p = if cv == 0.0 {
                p_cont
            } else {
                let c = *g2.get(&vec![v, w]).unwrap_or(&0) as f64;
                (c - d).max(0.0) / cv + d * *followers.get(&v).unwrap_or(&0) as f64 / cv * p_cont
            };
            p.ln()
        })
        .collect();
    perplexity(&lp)
    // END SOLUTION
}

/// The weights of one recurrent layer in PyTorch's layout (provided): `w_ih: [G·H, in]`,
/// `w_hh: [G·H, H]`, `b_ih, b_hh: [G·H]`, where `G` is the number of gates (1 for an RNN, 4 for
/// an LSTM, 3 for a GRU), stacked in PyTorch's order.
#[derive(Clone, Debug)]
pub struct RnnWeights {
    pub w_ih: Tensor,
    pub w_hh: Tensor,
    pub b_ih: Tensor,
    pub b_hh: Tensor,
}

// BEGIN SOLUTION ONLY
fn lin(x: &Tensor, w: &Tensor, b: &Tensor) -> Result<Tensor> {
    // x may be a time step sliced out of [b, t, in] (row stride t·in): CUDA's matmul refuses it.
    x.contiguous()?.matmul(&w.t()?)?.broadcast_add(b)
}
// END SOLUTION

/// ## rnn_cell
/// One step of an Elman RNN (`nn.RNNCell`, tanh): `h' = tanh(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh)`,
/// `x: [b, in]`, `h: [b, H]` → `[b, H]`.
///
/// On CUDA: `x` may be a slice of a longer tensor (one time step of `[b, t, in]`, its rows `t·in`
/// apart). candle's CPU `matmul` takes such a layout, its CUDA `matmul` does not ("matmul is
/// only supported for contiguous tensors"): call `.contiguous()` on a sliced operand first.
// HINT: x.matmul(&w_ih.t()?)?.broadcast_add(&b_ih) plus the same for h with w_hh, b_hh; tanh. On CUDA, x.contiguous()? first: the sequence functions pass a sliced time step.
pub fn rnn_cell(x: &Tensor, h: &Tensor, w: &RnnWeights) -> Result<Tensor> {
    // BEGIN SOLUTION
    (lin(x, &w.w_ih, &w.b_ih)? + lin(h, &w.w_hh, &w.b_hh)?)?.tanh()
    // END SOLUTION
}

/// ## lstm_cell
/// One step of `nn.LSTMCell`. The `4H` rows of the weights are the gates in the order
/// input `i`, forget `f`, cell `g`, output `o`: with `z = x W_ihᵀ + b_ih + h W_hhᵀ + b_hh`
/// split in four, `i, f, o = σ(·)`, `g = tanh(·)`, `c' = f ⊙ c + i ⊙ g`, `h' = o ⊙ tanh(c')`.
/// Returns `(h', c')`, each `[b, H]`.
// HINT: z = x W_ihᵀ + b_ih + h W_hhᵀ + b_hh is [b, 4H]; narrow(1, k·H, H) for k = 0..4 gives i, f, g, o (in that order); ops::sigmoid, tanh for g.
pub fn lstm_cell(x: &Tensor, h: &Tensor, c: &Tensor, w: &RnnWeights) -> Result<(Tensor, Tensor)> {
    // BEGIN SOLUTION
    let z = (lin(x, &w.w_ih, &w.b_ih)? + lin(h, &w.w_hh, &w.b_hh)?)?;
    let hs = h.dim(1)?;
    let gate = |k: usize| z.narrow(1, k * hs, hs);
    let (i, f, g, o) = (candle_nn::ops::sigmoid(&gate(0)?)?, candle_nn::ops::sigmoid(&gate(1)?)?, gate(2)?.tanh()?, candle_nn::ops::sigmoid(&gate(3)?)?);
    let c2 = ((f * c)? + (i * g)?)?;
    let h2 = (o * c2.tanh()?)?;
    Ok((h2, c2))
    // END SOLUTION
}

/// ## gru_cell
/// One step of `nn.GRUCell`. The `3H` rows are reset `r`, update `z`, new `n`:
/// `r = σ(x W_irᵀ + b_ir + h W_hrᵀ + b_hr)`, `z = σ(…)` likewise,
/// `n = tanh(x W_inᵀ + b_in + r ⊙ (h W_hnᵀ + b_hn))` (the reset gate multiplies the *projected*
/// hidden state, bias included), `h' = (1 − z) ⊙ n + z ⊙ h`. `[b, H]` out.
// HINT: Project x and h separately ([b, 3H] each); r and z from the sums of their first two thirds; n = tanh(x-part + r ⊙ h-part) for the last third; h' = (1 − z) ⊙ n + z ⊙ h.
pub fn gru_cell(x: &Tensor, h: &Tensor, w: &RnnWeights) -> Result<Tensor> {
    // BEGIN SOLUTION
    let hs = h.dim(1)?;
    let gi = lin(x, &w.w_ih, &w.b_ih)?;
    let gh = lin(h, &w.w_hh, &w.b_hh)?;
    let r = candle_nn::ops::sigmoid(&(gi.narrow(1, 0, hs)? + gh.narrow(1, 0, hs)?)?)?;
    let z = candle_nn::ops::sigmoid(&(gi.narrow(1, hs, hs)? + gh.narrow(1, hs, hs)?)?)?;
    let n = (gi.narrow(1, 2 * hs, hs)? + (r * gh.narrow(1, 2 * hs, hs)?)?)?.tanh()?;
    (z.affine(-1.0, 1.0)? * n)? + (z * h)?
    // END SOLUTION
}

/// ## rnn
/// A whole sequence through one layer, as `nn.RNN(batch_first=True)`: `x: [b, t, in]`,
/// `h0: [b, H]` → `(out: [b, t, H]` (the hidden state after every step), `h_n: [b, H])`. A loop
/// over time calling `rnn_cell`, then `Tensor::stack` on axis 1.
// HINT: for s in 0..t: x.narrow(1, s, 1)?.squeeze(1) → rnn_cell (the slice is not contiguous: CUDA's matmul wants .contiguous()); keep every h; Tensor::stack(&outs, 1).
pub fn rnn(x: &Tensor, h0: &Tensor, w: &RnnWeights) -> Result<(Tensor, Tensor)> {
    // BEGIN SOLUTION
    let t = x.dim(1)?;
    let mut h = h0.clone();
    let mut outs = Vec::with_capacity(t);
    for s in 0..t {
        h = rnn_cell(&x.narrow(1, s, 1)?.squeeze(1)?, &h, w)?;
        outs.push(h.clone());
    }
    Ok((Tensor::stack(&outs, 1)?, h))
    // END SOLUTION
}

/// ## lstm
/// `nn.LSTM(batch_first=True)`, one layer: `x: [b, t, in]`, `h0, c0: [b, H]` →
/// `(out: [b, t, H], h_n, c_n)`.
// HINT: As rnn, carrying (h, c) through lstm_cell.
pub fn lstm(x: &Tensor, h0: &Tensor, c0: &Tensor, w: &RnnWeights) -> Result<(Tensor, Tensor, Tensor)> {
    // BEGIN SOLUTION
    let t = x.dim(1)?;
    let (mut h, mut c) = (h0.clone(), c0.clone());
    let mut outs = Vec::with_capacity(t);
    for s in 0..t {
        (h, c) = lstm_cell(&x.narrow(1, s, 1)?.squeeze(1)?, &h, &c, w)?;
        outs.push(h.clone());
    }
    Ok((Tensor::stack(&outs, 1)?, h, c))
    // END SOLUTION
}

/// ## gru
/// `nn.GRU(batch_first=True)`, one layer: `x: [b, t, in]`, `h0: [b, H]` → `(out: [b, t, H], h_n)`.
// HINT: As rnn, with gru_cell.
pub fn gru(x: &Tensor, h0: &Tensor, w: &RnnWeights) -> Result<(Tensor, Tensor)> {
    // BEGIN SOLUTION
    let t = x.dim(1)?;
    let mut h = h0.clone();
    let mut outs = Vec::with_capacity(t);
    for s in 0..t {
        h = gru_cell(&x.narrow(1, s, 1)?.squeeze(1)?, &h, w)?;
        outs.push(h.clone());
    }
    Ok((Tensor::stack(&outs, 1)?, h))
    // END SOLUTION
}

/// Cosine similarity of rows `a` and `b` of `emb: [V, d]` (provided, for the word2vec check).
pub fn cosine(emb: &Tensor, a: usize, b: usize) -> Result<f32> {
    let x = emb.get(a)?;
    let y = emb.get(b)?;
    let dot = (&x * &y)?.sum_all()?.to_scalar::<f32>()?;
    let nx = x.sqr()?.sum_all()?.sqrt()?.to_scalar::<f32>()?;
    let ny = y.sqr()?.sum_all()?.sqrt()?.to_scalar::<f32>()?;
    Ok(dot / (nx * ny).max(1e-12))
}
