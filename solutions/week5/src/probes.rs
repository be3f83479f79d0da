//! # Linear probes
//!
//! Does a layer's residual stream *know* something? Train a linear classifier (a *probe*) to
//! read it off the activations: if a logistic regression on layer `l`'s vectors predicts the
//! property on held-out data, the information is there, linearly. Accuracy alone can mislead: a
//! probe on 64 dimensions can memorise a lot. Hewitt & Liang (2019) pair each probe with a
//! *control task*, the same samples with labels that are a random function of the token type,
//! learnable only by memorising which token is where. *Selectivity*, accuracy on the task minus
//! accuracy on the control, says how much the probe found rather than memorised.
//!
//! The model is the attention-only transformer of the hooks day, on sequences like those it was
//! trained on (a block of 4 to 12 random tokens repeated). The property: *has the current token
//! appeared before in this sequence?*, which the model needs for induction.
// STUB: #![allow(unused_variables, unused_imports, unused_mut, dead_code)] // remove once you have solved a few

use super::hooks::{AttnOnly, Hooks, STREAM};
use candle_core::{DType, Result, Tensor, Var};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};

/// ## probe_features
/// The activations at hook point `point` (one of the residual-stream points of
/// [`STREAM`]) of a recording run on `tokens` `[b, t]`, positions `1..t` (not BOS), as samples
/// `[b · (t − 1), 64]`, sequence-major.
// HINT: The samples are the recorded activations with the BOS position left out, laid out sequence by sequence: every position of the first sequence, then of the second, and so on.
// HINT: Run the model with Hooks::recording(); take the cache's entry for point ([b, t, 64]); narrow(1, 1, t − 1) drops BOS; reshape to (b · (t − 1), 64), which is sequence-major.
// HINT: act.narrow(1, 1, t - 1)?.reshape((b * (t - 1), act.dim(2)?))
pub fn probe_features(model: &AttnOnly, tokens: &Tensor, point: &str) -> Result<Tensor> {
    // BEGIN SOLUTION
    let (b, t) = tokens.dims2()?;
    let mut hooks = Hooks::recording();
    model.run(tokens, &mut hooks)?;
    let act = hooks.cache.get(point).ok_or_else(|| candle_core::Error::Msg(format!("nothing recorded at {point}")))?;
    act.narrow(1, 1, t - 1)?.reshape((b * (t - 1), act.dim(2)?))
    // END SOLUTION
}

/// ## probe_labels
/// Labels for the samples of [`probe_features`], `[b · (t − 1)]` f32 (0 or 1):
/// `repeat_labels`: 1 when the token at position `i` also stands at some position `1..i`
/// before it (BOS at 0 does not count). `control_labels`: `table[token at i]`.
// HINT: Both label sets line up with the feature rows: one label per position from 1 on, sequence-major. The repeat label looks back only as far as position 1, since the BOS token at 0 is not an earlier occurrence.
// HINT: Read the tokens with to_vec2::<u32>(); for each row r and each i in 1..t: the repeat label is 1.0 when r[1..i] contains r[i], else 0.0; the control label is table[r[i] as usize] as f32. Build 1-D f32 tensors of the b · (t − 1) labels on the tokens' device.
// HINT: let v: Vec<f32> = rows.iter().flat_map(|r| (1..r.len()).map(move |i| if r[1..i].contains(&r[i]) { 1.0 } else { 0.0 })).collect();
pub fn repeat_labels(tokens: &Tensor) -> Result<Tensor> {
    // BEGIN SOLUTION
    let rows = tokens.to_vec2::<u32>()?;
    let v: Vec<f32> = rows.iter().flat_map(|r| (1..r.len()).map(move |i| if r[1..i].contains(&r[i]) { 1.0 } else { 0.0 })).collect();
    let n = v.len();
    Tensor::from_vec(v, n, tokens.device())
    // END SOLUTION
}

/// See [`repeat_labels`].
pub fn control_labels(tokens: &Tensor, table: &[u32]) -> Result<Tensor> {
    // BEGIN SOLUTION
    let rows = tokens.to_vec2::<u32>()?;
    let v: Vec<f32> = rows.iter().flat_map(|r| r[1..].iter().map(|&tok| table[tok as usize] as f32)).collect();
    let n = v.len();
    Tensor::from_vec(v, n, tokens.device())
    // END SOLUTION
}

/// A linear probe: `w` `[d]`, `b` `[1]`; the logit of sample `x` is `x · w + b`.
pub struct Probe {
    pub w: Tensor,
    pub b: Tensor,
}

impl Probe {
    /// Logits `[n]` of samples `x` `[n, d]` (given).
    pub fn logits(&self, x: &Tensor) -> Result<Tensor> {
        x.matmul(&self.w.unsqueeze(1)?)?.squeeze(1)?.broadcast_add(&self.b)
    }

    /// The share of samples whose logit has the sign of their label (logit > 0 means 1) (given).
    pub fn accuracy(&self, x: &Tensor, y: &Tensor) -> Result<f64> {
        let pred = self.logits(x)?.gt(0.0)?.to_dtype(DType::F32)?;
        Ok(pred.eq(y)?.to_dtype(DType::F32)?.mean_all()?.to_scalar::<f32>()? as f64)
    }
}

/// ## train_probe
/// Logistic regression as scikit-learn fits it with `C = c`: minimise the mean binary
/// cross-entropy of `sigmoid(x · w + b)` against `y` plus `‖w‖² / (2 · c · n)` (the bias is not
/// penalised), for samples `x` `[n, d]` and labels `y` `[n]`. Start from zeros and take `steps`
/// full-batch steps of Adam (`lr`, betas 0.9 and 0.999, eps 1e-8, no weight decay: candle's
/// `AdamW` with `weight_decay: 0.0` is Adam). Compute the cross-entropy from the logits in the
/// stable form `max(z, 0) − z y + log(1 + e^(−|z|))`.
// HINT: This is plain logistic regression fitted by Adam: the penalty is on the weights only, divided by 2·C·n to match scikit-learn's scaling, and the binary cross-entropy is computed from the logits in the stable form so that large logits cannot overflow.
// HINT: w = Var::zeros(d), b = Var::zeros(1); candle_nn::AdamW with ParamsAdamW { lr, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.0 } (its default decay is not 0); each step: z = x·w + b ([n]); bce = mean of relu(z) − z·y + log(1 + exp(−|z|)); loss = bce + Σw² / (2 c n); opt.backward_step(&loss). Return a Probe of w and b detached.
// HINT: let bce = ((z.relu()? - (&z * y)?)? + z.abs()?.neg()?.exp()?.affine(1.0, 1.0)?.log()?)?.mean_all()?; let loss = (bce + (w.as_tensor().sqr()?.sum_all()? / (2.0 * c * n as f64))?)?;
pub fn train_probe(x: &Tensor, y: &Tensor, c: f64, lr: f64, steps: usize) -> Result<Probe> {
    // BEGIN SOLUTION
    let (n, d) = x.dims2()?;
    let w = Var::zeros(d, DType::F32, x.device())?;
    let b = Var::zeros(1, DType::F32, x.device())?;
    let params = ParamsAdamW { lr, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.0 };
    let mut opt = AdamW::new(vec![w.clone(), b.clone()], params)?;
    for _ in 0..steps {
        let z = x.matmul(&w.as_tensor().unsqueeze(1)?)?.squeeze(1)?.broadcast_add(b.as_tensor())?;
        let bce = ((z.relu()? - (&z * y)?)? + z.abs()?.neg()?.exp()?.affine(1.0, 1.0)?.log()?)?.mean_all()?;
        let loss = (bce + (w.as_tensor().sqr()?.sum_all()? / (2.0 * c * n as f64))?)?;
        opt.backward_step(&loss)?;
    }
    Ok(Probe { w: w.as_tensor().detach(), b: b.as_tensor().detach() })
    // END SOLUTION
}

/// One row of [`probe_table`]: train and test accuracy of the probe on the task and on the
/// control task.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ProbeRow {
    pub task: (f64, f64),
    pub control: (f64, f64),
}

impl ProbeRow {
    /// Test accuracy on the task minus test accuracy on the control task.
    pub fn selectivity(&self) -> f64 {
        self.task.1 - self.control.1
    }
}

/// ## probe_table
/// For each point of [`STREAM`], in order: features of `tokens`, both label sets (control by
/// `table`), probes trained (`c`, `lr`, `steps` as in [`train_probe`]) on the samples of the
/// first `train` sequences, and their accuracies on those and on the samples of the rest.
// HINT: Split by sequence, not by sample: the samples of the first train sequences train the probe and the rest test it, with the same split for the features and both label sets; the task and the control each get a probe of their own.
// HINT: k = train · (t − 1) rows; compute both label sets once; for each point of STREAM: x = probe_features(model, tokens, point); the first k rows and the remaining n − k rows (narrow along 0), the same for each label set; train_probe on the training part; Probe::accuracy on both parts; push ProbeRow { task: (train, test), control: (train, test) }.
// HINT: let (xtr, xte) = (x.narrow(0, 0, k)?, x.narrow(0, k, n - k)?); let p = train_probe(&xtr, &ytr, c, lr, steps)?; acc[i] = (p.accuracy(&xtr, &ytr)?, p.accuracy(&xte, &yte)?);
pub fn probe_table(model: &AttnOnly, tokens: &Tensor, table: &[u32], train: usize, c: f64, lr: f64, steps: usize) -> Result<Vec<ProbeRow>> {
    // BEGIN SOLUTION
    let k = train * (tokens.dim(1)? - 1);
    let labels = [repeat_labels(tokens)?, control_labels(tokens, table)?];
    let mut rows = Vec::new();
    for point in STREAM {
        let x = probe_features(model, tokens, point)?;
        let n = x.dim(0)?;
        let (xtr, xte) = (x.narrow(0, 0, k)?, x.narrow(0, k, n - k)?);
        let mut acc = [(0.0, 0.0); 2];
        for (i, y) in labels.iter().enumerate() {
            let (ytr, yte) = (y.narrow(0, 0, k)?, y.narrow(0, k, n - k)?);
            let p = train_probe(&xtr, &ytr, c, lr, steps)?;
            acc[i] = (p.accuracy(&xtr, &ytr)?, p.accuracy(&xte, &yte)?);
        }
        rows.push(ProbeRow { task: acc[0], control: acc[1] });
    }
    Ok(rows)
    // END SOLUTION
}
