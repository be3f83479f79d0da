//! # Memorisation
//!
//! A model trained too long on too little data learns its training set by heart, and that
//! shows from the outside. Two ways to see it:
//!
//! - *extraction* (Carlini et al. 2021): sample from the model and count the samples found
//!   verbatim in the training set, against a held-out set of the same size from the same
//!   distribution;
//! - *membership inference* by a loss threshold (Yeom et al. 2018): a training example has a
//!   lower loss than a new one, so "loss below τ" is a guess that the example was trained on.
//!   Sweeping τ traces a ROC curve (true-positive against false-positive rate); its area says
//!   how well membership leaks (0.5: not at all).
//!
//! The model is the names language model of the steering day (your `AttnOnly::run`), trained
//! on only 2,000 names for 6,000 steps: its training loss is 1.39 nats per token, its held-out
//! loss 3.87.
// STUB: #![allow(unused_variables, unused_imports, unused_mut, dead_code)] // remove once you have solved a few

use super::hooks::{AttnOnly, Hooks};
use candle_core::{DType, Device, Result, Tensor, D};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// ## name_losses
/// Each name's mean loss per predicted token `[b]` for names `[b, 25]` (`.` + letters + `.`,
/// padded with 0): the cross-entropy of predicting token `i + 1` from position `i`, for `i` from
/// 0 up to and including the prediction of the closing `.` (a name of `k` letters has `k + 1`
/// predictions).
// HINT: Average each name's loss over its real predictions only: from the start token up to and including the prediction of the closing dot, one more prediction than the name has letters; the padding after it counts nowhere.
// HINT: The logits of positions 0..t − 1 (narrow), log_softmax over the last dimension, gather the next tokens names[:, 1..] (contiguous, unsqueeze(2)) along 2, squeeze, negate → [b, t − 1]; on the host, k = the number of nonzero tokens after BOS in each row and a mask of 1 for i ≤ k; sum(nll · mask, 1) / sum(mask, 1).
// HINT: let k = r[1..].iter().filter(|&&c| c != 0).count(); mask.extend((0..t - 1).map(|i| if i <= k { 1f32 } else { 0.0 }));
pub fn name_losses(model: &AttnOnly, names: &Tensor) -> Result<Tensor> {
    // BEGIN SOLUTION
    let (b, t) = names.dims2()?;
    let logits = model.run(names, &mut Hooks::none())?.narrow(1, 0, t - 1)?;
    let logp = candle_nn::ops::log_softmax(&logits, D::Minus1)?;
    let next = names.narrow(1, 1, t - 1)?.contiguous()?.unsqueeze(2)?;
    let nll = logp.gather(&next, 2)?.squeeze(2)?.neg()?;
    let rows = names.to_vec2::<u32>()?;
    let mut mask = Vec::with_capacity(b * (t - 1));
    for r in &rows {
        let k = r[1..].iter().filter(|&&c| c != 0).count();
        mask.extend((0..t - 1).map(|i| if i <= k { 1f32 } else { 0.0 }));
    }
    let mask = Tensor::from_vec(mask, (b, t - 1), names.device())?;
    (nll * &mask)?.sum(1)? / mask.sum(1)?
    // END SOLUTION
}

/// ## sample_name
/// One name sampled from the model: start from `.` (a `[1, 25]` row of zeros); at step `i`
/// (from 0) take the softmax of the logits at position `i` over the 27 tokens names use (`.`
/// and `a`..`z`, logits 0..27: the other rows of the vocabulary are never used), draw
/// `u = rng.random::<f32>()` and pick the first token whose cumulative probability exceeds `u`
/// (the last token if none does); stop at `.` or after 24 letters. The letters, as a `String`.
// HINT: The model sees a fixed-length row that starts as all start tokens; each step reads only the logits at the current position, restricted to the 27 tokens names use, and draws one uniform number for the inverse-CDF choice; the dot ends the name.
// HINT: toks = vec![0u32; 25]; for i in 0..24: run the model on toks as a [1, 25] tensor; softmax of logits.get(0).get(i).narrow(0, 0, 27), to_vec1::<f32>(); u = rng.random::<f32>(); the first index whose cumulative sum exceeds u (else the last); 0 ends the name; otherwise toks[i + 1] = it and the letter (b'a' + id − 1) is pushed.
// HINT: let probs = candle_nn::ops::softmax_last_dim(&logits.get(0)?.get(i)?.narrow(0, 0, 27)?)?.to_vec1::<f32>()?; let mut acc = 0f32; let mut next = probs.len() - 1; for (c, p) in probs.iter().enumerate() { acc += p; if acc > u { next = c; break } }
pub fn sample_name(model: &AttnOnly, rng: &mut ChaCha8Rng, dev: &Device) -> Result<String> {
    // BEGIN SOLUTION
    let mut toks = vec![0u32; 25];
    let mut name = String::new();
    for i in 0..24 {
        let logits = model.run(&Tensor::from_vec(toks.clone(), (1, 25), dev)?, &mut Hooks::none())?;
        let probs = candle_nn::ops::softmax_last_dim(&logits.get(0)?.get(i)?.narrow(0, 0, 27)?.to_dtype(DType::F32)?)?.to_vec1::<f32>()?;
        let u = rng.random::<f32>();
        let mut acc = 0f32;
        let mut next = probs.len() - 1;
        for (c, p) in probs.iter().enumerate() {
            acc += p;
            if acc > u {
                next = c;
                break;
            }
        }
        if next == 0 {
            break;
        }
        toks[i + 1] = next as u32;
        name.push((b'a' + next as u8 - 1) as char);
    }
    Ok(name)
    // END SOLUTION
}

/// A ROC curve: false- and true-positive rates at every threshold, and the area under it.
#[derive(Clone, Debug, PartialEq)]
pub struct Roc {
    pub fpr: Vec<f64>,
    pub tpr: Vec<f64>,
    pub auc: f64,
}

/// ## roc
/// The ROC curve of the guess "member when score ≥ τ", for `members`' and `others`' scores,
/// as scikit-learn's `roc_curve(drop_intermediate=False)` draws it: a first point (0, 0), then
/// one point per distinct score, from the highest down, each the rates of scores ≥ it; the
/// area by the trapezoid rule over those points.
// HINT: Sweep the threshold from the highest score down: each distinct score adds one point whose rates count everything at or above it, so tied scores are passed together before the point is emitted, and the curve starts at the origin. The grader passes negated losses as scores, so a higher score means a more likely member.
// HINT: Put all (score, is_member) pairs in one list and sort by score, descending (total_cmp); start fpr and tpr at [0.0]; walk the list counting true and false positives, and push (fp / n_others, tp / n_members) whenever the next score differs or the list ends. The area: Σ (x₁ − x₀)(y₀ + y₁)/2 over consecutive points.
// HINT: if i + 1 == all.len() || all[i + 1].0 != s { fpr.push(fp / nn); tpr.push(tp / np); } … let auc = (1..fpr.len()).map(|i| (fpr[i] - fpr[i - 1]) * (tpr[i] + tpr[i - 1]) / 2.0).sum();
pub fn roc(members: &[f32], others: &[f32]) -> Roc {
    // BEGIN SOLUTION
    let mut all: Vec<(f32, bool)> = members.iter().map(|&s| (s, true)).chain(others.iter().map(|&s| (s, false))).collect();
    all.sort_by(|a, b| b.0.total_cmp(&a.0));
    let (np, nn) = (members.len() as f64, others.len() as f64);
    let (mut fpr, mut tpr) = (vec![0.0], vec![0.0]);
    let (mut tp, mut fp) = (0.0, 0.0);
    for (i, &(s, m)) in all.iter().enumerate() {
        if m {
            tp += 1.0;
        } else {
            fp += 1.0;
        }
        if i + 1 == all.len() || all[i + 1].0 != s {
            fpr.push(fp / nn);
            tpr.push(tp / np);
        }
    }
    let auc = (1..fpr.len()).map(|i| (fpr[i] - fpr[i - 1]) * (tpr[i] + tpr[i - 1]) / 2.0).sum();
    Roc { fpr, tpr, auc }
    // END SOLUTION
}
