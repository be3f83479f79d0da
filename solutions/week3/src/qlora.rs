//! # QLoRA: LoRA over a 4-bit base
//!
//! QLoRA (Dettmers et al. 2023) puts the two previous days together: the frozen base model is
//! stored in NF4 with double-quantised scales (about 4.13 bits per weight instead of 32), each
//! forward pass dequantises it, and LoRA adapters in f32 are the only thing trained. The
//! gradient flows through the dequantised weights into the adapters; the 4-bit codes never
//! change.
//!
//! Here the linear layers LoRA adapts are quantised; the embeddings, biases and layer norms
//! (a few percent of a large model) stay in f32, as in QLoRA.
// STUB: #![allow(unused_variables, unused_imports, unused_mut, dead_code)] // remove once you have solved a few

use super::chargpt::{CharGpt, GptConfig};
use super::quantisation::{double_quantise, quantise_nf4, Nf4Double};
use candle_core::{Device, Result, Tensor};
use std::collections::BTreeMap;

/// A model whose chosen weights are stored in NF4 with double quantisation.
pub struct QuantGpt {
    pub cfg: GptConfig,
    /// Quantised weights by name: the storage and the weight's shape.
    pub quantised: BTreeMap<String, (Nf4Double, Vec<usize>)>,
    /// Every other weight, in f32.
    pub kept: BTreeMap<String, Tensor>,
}

/// ## quantise_model
/// Quantise every weight of `model` whose name ends with `.{t}.weight` for a `t` in `targets`
/// (as `lora_init` chooses them): flattened row-major, `quantise_nf4` in blocks of 64, then
/// `double_quantise` in blocks of 256, with its shape kept beside it. Every other weight is
/// kept as it is (a copy, detached).
// HINT: Pick the same weights LoRA would adapt (2-D, name ending in a target's weight name); quantise those flattened in row-major order and remember their shapes, and keep everything else as a detached copy in f32.
// HINT: For (name, w) in &model.weights: if w.rank() == 2 and some target t has name.ends_with(&format!(".{t}.weight")), v = w.flatten_all()?.to_vec1::<f32>()? and quantised gets (double_quantise(&quantise_nf4(&v, 64), 256), w.dims().to_vec()); otherwise kept gets w.detach().copy()?. Return QuantGpt { cfg: model.cfg, quantised, kept }.
// HINT: quantised.insert(name.clone(), (double_quantise(&quantise_nf4(&w.flatten_all()?.to_vec1::<f32>()?, 64), 256), w.dims().to_vec()));
pub fn quantise_model(model: &CharGpt, targets: &[&str]) -> Result<QuantGpt> {
    // BEGIN SOLUTION
    let (mut quantised, mut kept) = (BTreeMap::new(), BTreeMap::new());
    for (name, w) in &model.weights {
        if w.rank() == 2 && targets.iter().any(|t| name.ends_with(&format!(".{t}.weight"))) {
            let v = w.flatten_all()?.to_vec1::<f32>()?;
            quantised.insert(name.clone(), (double_quantise(&quantise_nf4(&v, 64), 256), w.dims().to_vec()));
        } else {
            kept.insert(name.clone(), w.detach().copy()?);
        }
    }
    Ok(QuantGpt { cfg: model.cfg, quantised, kept })
    // END SOLUTION
}

impl QuantGpt {
    /// ## dequantise_model
    /// A frozen [`CharGpt`] for computing with: no variables, its `weights` the kept ones and
    /// the dequantised ones in their shapes, on `dev`. LoRA's `apply` turns it into the QLoRA
    /// model.
    // HINT: Dequantising gives plain f32 values back: reshape each into its stored shape, put them beside the kept weights, and give the model no variables at all, since the base is frozen.
    // HINT: weights = self.kept.clone(); for each (name, (d, shape)) of self.quantised insert Tensor::from_vec(d.dequantise(), shape.as_slice(), dev); return CharGpt { cfg: self.cfg, vars: BTreeMap::new(), weights } (not with_vars, which would make every weight a variable).
    // HINT: weights.insert(name.clone(), Tensor::from_vec(d.dequantise(), shape.as_slice(), dev)?);
    pub fn dequantise(&self, dev: &Device) -> Result<CharGpt> {
        // BEGIN SOLUTION
        let mut weights = self.kept.clone();
        for (name, (d, shape)) in &self.quantised {
            weights.insert(name.clone(), Tensor::from_vec(d.dequantise(), shape.as_slice(), dev)?);
        }
        Ok(CharGpt { cfg: self.cfg, vars: BTreeMap::new(), weights })
        // END SOLUTION
    }

    /// Bytes of storage (given): per quantised weight its packed codes, 8-bit scale codes, f32
    /// scale-of-scales and f32 offset; 4 bytes per kept value.
    pub fn bytes(&self) -> usize {
        let q: usize = self.quantised.values().map(|(d, _)| d.nf4.packed.len() + d.scales.codes.len() + 4 * d.scales.scales.len() + 4).sum();
        q + self.kept.values().map(|t| 4 * t.elem_count()).sum::<usize>()
    }
}

// HINT(qlora): Nothing new to write: your LoRA adapters sit on your dequantised 4-bit model and your train fine-tunes them; the 4-bit codes of the base must not change.
// HINT(qlora): If the logits differ from peft's, check dequantise_model first (shapes, row-major order, nibble order); if the loss does not fall, check that Lora::apply detaches the base weights but builds W + scale · B · A from the adapters' own tensors, so that the gradient reaches them.
// HINT(qlora): The line of apply that must keep the graph: weights.insert(name.clone(), (w + (b.as_tensor().matmul(a.as_tensor())? * self.scale())?)?) with w the detached base weight, and the model's vars only self.vars().
