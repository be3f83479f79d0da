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
#![allow(unused_variables, unused_imports, unused_mut, dead_code)] // remove once you have solved a few

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
pub fn lora_init(model: &impl Weighted, targets: &[&str], r: usize, alpha: f64, rng: &mut ChaCha8Rng) -> Result<Lora> {
    todo!()
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
    pub fn apply<M: Weighted>(&self, base: &M) -> Result<M> {
        todo!()
    }

    /// ## merge
    /// A plain model (new variables, `base` untouched) whose adapted weights are
    /// `W + scale() · B · A`: the fine-tuned model at the cost of the original. [`Lora::unmerge`]
    /// is the inverse: from a merged model, a plain model with `W' − scale() · B · A`.
    pub fn merge(&self, base: &CharGpt) -> Result<CharGpt> {
        todo!()
    }

    /// The inverse of [`Lora::merge`] (part of exercise `merge`).
    pub fn unmerge(&self, merged: &CharGpt) -> Result<CharGpt> {
        todo!()
    }
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
