//! # LoRA: low-rank adapters
//!
//! Fine-tuning every weight of a large model needs the optimiser state of every weight (two
//! more copies in Adam) and a full copy of the model per task. LoRA (Hu et al. 2021) freezes
//! the pretrained weight `W` `[out, in]` and learns a low-rank change beside it:
//! `W + (α/r) · B · A`, with `A` `[r, in]` and `B` `[out, r]`, `r` much smaller than `in` and
//! `out`. `B` starts at zero, so training starts from the pretrained model exactly; `α/r` keeps
//! the update's size stable when `r` changes. After training, `B · A` can be added into `W`
//! (*merged*): the fine-tuned model runs at the original model's cost.
//!
//! Here the adapters go on your week-3 GPT's linear layers, chosen by name as Hugging Face
//! `peft` chooses them (`target_modules`): `c_attn`, `c_proj` and `c_fc` in every block. The
//! adapted model is a [`CharGpt`] whose `weights` are the computed `W + (α/r)·B·A` and whose
//! `vars` are only the adapters, so your own forward pass and `train` work on it unchanged.
//! (LoRA's optional dropout on the adapter's input needs the unmerged form `x·Wᵀ + (α/r)·
//! x·Aᵀ·Bᵀ`; this course uses peft's default, no dropout, where the two forms are equal.)
// STUB: #![allow(unused_variables, unused_imports, unused_mut, dead_code)] // remove once you have solved a few

use super::chargpt::CharGpt;
use super::model::Model;
use candle_core::{Result, Tensor, Var};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;

/// A model whose forward pass reads named weights (given): week 3's [`CharGpt`], and the
/// MiniLM of the `pretrained` day. LoRA works on any of them.
pub trait Weighted: Sized {
    /// Every weight the forward pass reads, by name.
    fn weights(&self) -> &BTreeMap<String, Tensor>;
    /// The same model reading `weights` and training `vars`.
    fn rebuild(&self, weights: BTreeMap<String, Tensor>, vars: BTreeMap<String, Var>) -> Self;
}

impl Weighted for CharGpt {
    fn weights(&self) -> &BTreeMap<String, Tensor> {
        &self.weights
    }

    fn rebuild(&self, weights: BTreeMap<String, Tensor>, vars: BTreeMap<String, Var>) -> CharGpt {
        CharGpt { cfg: self.cfg, vars, weights }
    }
}

/// LoRA adapters for some of a model's weights.
pub struct Lora {
    /// The rank `r`.
    pub r: usize,
    /// `α`: the update is scaled by `α / r`.
    pub alpha: f64,
    /// Adapted weight name (e.g. `transformer.h.0.attn.c_attn.weight`) → (`A` `[r, in]`,
    /// `B` `[out, r]`).
    pub adapters: BTreeMap<String, (Var, Var)>,
}

/// ## lora_init
/// Adapters for every 2-D weight of `model` whose name ends with `.{t}.weight` for a `t` in
/// `targets` (so `"c_proj"` adapts both `attn.c_proj` and `mlp.c_proj`, and nothing adapts the
/// embeddings). For a weight `[out, in]`: `A` `[r, in]` drawn uniformly from
/// `±1/√in` (torch's `kaiming_uniform_(a = √5)`, as peft initialises it) with
/// `rng.random_range(-bound..bound)` in f32, row by row, weights in name order; `B`
/// `[out, r]` zeros. On the model's device.
// HINT: Choose weights by the end of their name only (so one target adapts that weight in every block) and only 2-D ones; the first matrix gets small random values and the second exactly zero, so the adapted model starts equal to the base; draw the random values in name order, row by row, from the one RNG.
// HINT: Iterate model.weights() (a BTreeMap, so name order); keep a weight when it has rank 2 and its name ends with format!(".{t}.weight") for some target t; with (out, inp) = w.dims2(), A is r·inp draws of rng.random_range(-bound..bound) in f32 with bound = 1/√inp, shaped [r, inp] on w's device, as a Var; B = Var::zeros((out, r), DType::F32, w.device()); insert (A, B) under the weight's name.
// HINT: let bound = 1.0 / (inp as f32).sqrt(); let a: Vec<f32> = (0..r * inp).map(|_| rng.random_range(-bound..bound)).collect(); let a = Var::from_tensor(&Tensor::from_vec(a, (r, inp), w.device())?)?;
pub fn lora_init(model: &impl Weighted, targets: &[&str], r: usize, alpha: f64, rng: &mut ChaCha8Rng) -> Result<Lora> {
    // BEGIN SOLUTION
    let mut adapters = BTreeMap::new();
    for (name, w) in model.weights() {
        if w.rank() != 2 || !targets.iter().any(|t| name.ends_with(&format!(".{t}.weight"))) {
            continue;
        }
        let (out, inp) = w.dims2()?;
        let bound = 1.0 / (inp as f32).sqrt();
        let a: Vec<f32> = (0..r * inp).map(|_| rng.random_range(-bound..bound)).collect();
        let a = Var::from_tensor(&Tensor::from_vec(a, (r, inp), w.device())?)?;
        let b = Var::zeros((out, r), candle_core::DType::F32, w.device())?;
        adapters.insert(name.clone(), (a, b));
    }
    Ok(Lora { r, alpha, adapters })
    // END SOLUTION
}

impl Lora {
    /// The scale `α / r` (given).
    pub fn scale(&self) -> f64 {
        self.alpha / self.r as f64
    }

    /// The adapters as named variables, `{weight}.lora_A` and `{weight}.lora_B` (given).
    pub fn vars(&self) -> Vec<(String, Var)> {
        let mut v = Vec::new();
        for (name, (a, b)) in &self.adapters {
            v.push((format!("{name}.lora_A"), a.clone()));
            v.push((format!("{name}.lora_B"), b.clone()));
        }
        v
    }

    /// ## lora_model
    /// The adapted model: `base` rebuilt ([`Weighted::rebuild`]) with `base`'s weights,
    /// detached (the base is frozen: no gradient may reach any of its weights), except that
    /// each adapted `W` becomes `W + scale() · B · A` (computed from the adapters' tensors, so
    /// that gradients reach `A` and `B`), and with only the adapters as its `vars`, named as
    /// [`Lora::vars`] names them. The sum is computed when the
    /// model is built: build it again after every optimiser step ([`LoraModel`] does).
    // HINT: The base must be cut out of the graph (detached) while the adapters stay in it: build each adapted weight from the adapters' own tensors, so that gradients reach the two small matrices and nothing else.
    // HINT: weights: every base weight from base.weights(), detached, into a new BTreeMap; for each adapter (name, (A, B)), replace that entry by W + scale() · B · A with W the detached weight; vars: self.vars() collected into a BTreeMap; return base.rebuild(weights, vars).
    // HINT: weights.insert(name.clone(), (w + (b.as_tensor().matmul(a.as_tensor())? * self.scale())?)?);
    pub fn apply<M: Weighted>(&self, base: &M) -> Result<M> {
        // BEGIN SOLUTION
        let mut weights: BTreeMap<String, Tensor> = base.weights().iter().map(|(k, v)| (k.clone(), v.detach())).collect();
        for (name, (a, b)) in &self.adapters {
            let w = weights.get(name).ok_or_else(|| candle_core::Error::Msg(format!("the model has no {name}")))?;
            weights.insert(name.clone(), (w + (b.as_tensor().matmul(a.as_tensor())? * self.scale())?)?);
        }
        Ok(base.rebuild(weights, self.vars().into_iter().collect()))
        // END SOLUTION
    }

    /// ## merge
    /// A plain model (new variables, `base` untouched) whose adapted weights are
    /// `W + scale() · B · A`: the fine-tuned model at the cost of the original. [`Lora::unmerge`]
    /// is the inverse: from a merged model, a plain model with `W' − scale() · B · A`.
    // HINT: Merging computes the same sum as the adapted model, but once, into plain new variables, so the result no longer needs the adapters; unmerging is the same with the sign flipped.
    // HINT: Copy every weight of the model, detached, into a BTreeMap<String, Tensor>; add sign · scale() · B · A to each adapted one (+1 to merge, −1 to unmerge); build a fresh model with CharGpt::from_tensors(m.cfg, &map), which makes new variables and leaves the base untouched. One private helper taking the sign serves both.
    // HINT: let delta = (b.as_tensor().matmul(a.as_tensor())? * (sign * self.scale()))?; w.insert(name.clone(), (m.w(name)?.detach() + delta)?); … CharGpt::from_tensors(m.cfg, &w)
    pub fn merge(&self, base: &CharGpt) -> Result<CharGpt> {
        // BEGIN SOLUTION
        self.shifted(base, 1.0)
        // END SOLUTION
    }

    /// The inverse of [`Lora::merge`] (part of exercise `merge`).
    pub fn unmerge(&self, merged: &CharGpt) -> Result<CharGpt> {
        // BEGIN SOLUTION
        self.shifted(merged, -1.0)
        // END SOLUTION
    }

    // BEGIN SOLUTION ONLY
    fn shifted(&self, m: &CharGpt, sign: f64) -> Result<CharGpt> {
        let mut w: BTreeMap<String, Tensor> = m.weights.iter().map(|(k, v)| (k.clone(), v.detach())).collect();
        for (name, (a, b)) in &self.adapters {
            let delta = (b.as_tensor().matmul(a.as_tensor())? * (sign * self.scale()))?;
            w.insert(name.clone(), (m.w(name)?.detach() + delta)?);
        }
        CharGpt::from_tensors(m.cfg, &w)
    }
    // END SOLUTION
}

/// A LoRA model your `train` can train (given): its variables are the adapters, and each loss
/// rebuilds the adapted weights from their current values.
pub struct LoraModel<'a> {
    pub base: &'a CharGpt,
    pub lora: &'a Lora,
}

impl Model for LoraModel<'_> {
    fn vars(&self) -> Vec<(String, Var)> {
        self.lora.vars()
    }

    fn loss(&self, x: &Tensor, y: &Tensor, train: bool, rng: &mut ChaCha8Rng) -> Result<Tensor> {
        self.lora.apply(self.base)?.loss(x, y, train, rng)
    }
}
