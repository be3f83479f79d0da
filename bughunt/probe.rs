//! The bug hunt's instruments: what a training run records for `grader bughunt` to draw. The
//! patient's training loop hands the probe its loss, its learning rate, the activations of
//! each layer, each parameter's gradient, and the parameters before and after the update;
//! the probe keeps the numbers the week-1 diagnostics day taught (activation mean and spread,
//! the share of saturated tanh or dead ReLU units, gradient spread, the update-to-weight
//! ratio) and a sample of values for the histograms, and writes them as one JSON file.
//!
//! You do not need to read this file to hunt: the bugs are never planted here.

use candle_core::{DType, Result, Tensor, D};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// What a layer's activations are, which decides the share the probe counts.
#[derive(Clone, Copy, PartialEq)]
pub enum Kind {
    /// Saturated: |x| > 0.97.
    Tanh,
    /// Dead: a unit (a feature, or a convolution's channel) that is ≤ 0 for every example
    /// of the batch.
    Relu,
    /// Peaky: a row of attention weights whose largest weight is above 0.9.
    Softmax,
    /// No share is counted (the share is the fraction of |x| > 3).
    Plain,
}

/// Each layer's activations of one forward pass, in order: a name, what it is, the values.
pub type Acts = Vec<(&'static str, Kind, Tensor)>;

#[derive(Default)]
struct Series {
    steps: Vec<usize>,
    a: Vec<f64>,
    b: Vec<f64>,
    c: Vec<f64>,
    hist_steps: Vec<usize>,
    samples: Vec<Vec<f32>>,
}

pub struct Probe {
    pub steps: usize,
    every: usize,
    loss: Vec<f64>,
    lr: Vec<f64>,
    acts: BTreeMap<String, (Kind, usize, Series)>,
    params: BTreeMap<String, (usize, Series)>,
    before: Vec<(String, Tensor)>,
    summary: BTreeMap<String, f64>,
    text: BTreeMap<String, String>,
}

const SAMPLES: usize = 1500;

/// Up to `SAMPLES` values of `t`, evenly strided, for a histogram.
fn sample(t: &Tensor) -> Result<Vec<f32>> {
    let v = t.flatten_all()?.to_dtype(DType::F32)?.to_vec1::<f32>()?;
    let stride = v.len().div_ceil(SAMPLES).max(1);
    Ok(v.into_iter().step_by(stride).collect())
}

fn mean_std(t: &Tensor) -> Result<(f64, f64)> {
    let v = t.flatten_all()?.to_dtype(DType::F64)?.to_vec1::<f64>()?;
    let n = v.len().max(1) as f64;
    let m = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1.0).max(1.0);
    Ok((m, var.sqrt()))
}

impl Probe {
    /// A probe for a run of `steps` steps that records the layers every `every` steps.
    pub fn new(steps: usize, every: usize) -> Probe {
        Probe {
            steps,
            every,
            loss: Vec::new(),
            lr: Vec::new(),
            acts: BTreeMap::new(),
            params: BTreeMap::new(),
            before: Vec::new(),
            summary: BTreeMap::new(),
            text: BTreeMap::new(),
        }
    }

    fn watching(&self, step: usize) -> bool {
        step.is_multiple_of(self.every) || step + 1 == self.steps
    }

    fn histogram_step(&self, step: usize) -> bool {
        let last = self.steps - 1;
        step == 0 || step + 1 == self.steps || [last / 3, 2 * last / 3].iter().any(|&s| self.watching(step) && step <= s && s < step + self.every)
    }

    /// Record one training step: the loss, the learning rate, every layer's activations (in
    /// the order of the forward pass) and every parameter's gradient (`(name, parameter,
    /// gradient)`); the parameters are kept to compare after the update (see [`Probe::updated`]).
    pub fn record(&mut self, step: usize, lr: f64, loss: &Tensor, acts: &[(&str, Kind, Tensor)], params: &[(&str, Tensor, Option<Tensor>)]) -> Result<()> {
        let l = loss.to_dtype(DType::F64)?.to_scalar::<f64>()?;
        self.loss.push(l);
        self.lr.push(lr);
        self.before.clear();
        if !self.watching(step) {
            return Ok(());
        }
        let hist = self.histogram_step(step);
        let n = self.acts.len();
        for (name, kind, t) in acts {
            let (mean, std) = mean_std(t)?;
            let share = match kind {
                Kind::Tanh => t.abs()?.gt(0.97)?.to_dtype(DType::F32)?.mean_all()?.to_scalar::<f32>()? as f64,
                Kind::Relu => {
                    // A unit is a feature of a dense layer, a channel of a convolution.
                    let units = if t.rank() == 4 { t.transpose(0, 1)?.flatten_from(1)? } else { t.flatten_from(1)?.t()? };
                    let alive = units.gt(0.0)?.to_dtype(DType::F32)?.max(1)?;
                    1.0 - alive.mean_all()?.to_scalar::<f32>()? as f64
                }
                Kind::Softmax => t.max(D::Minus1)?.gt(0.9)?.to_dtype(DType::F32)?.mean_all()?.to_scalar::<f32>()? as f64,
                Kind::Plain => t.abs()?.gt(3.0)?.to_dtype(DType::F32)?.mean_all()?.to_scalar::<f32>()? as f64,
            };
            let order = self.acts.get(*name).map(|e| e.1).unwrap_or(n + self.acts.len());
            let e = self.acts.entry(name.to_string()).or_insert((*kind, order, Series::default()));
            e.2.steps.push(step);
            e.2.a.push(mean);
            e.2.b.push(std);
            e.2.c.push(share);
            if hist {
                e.2.hist_steps.push(step);
                e.2.samples.push(sample(t)?);
            }
        }
        let n = self.params.len();
        for (k, (name, p, g)) in params.iter().enumerate() {
            let order = self.params.get(*name).map(|e| e.0).unwrap_or(n + k);
            let e = self.params.entry(name.to_string()).or_insert((order, Series::default()));
            e.1.steps.push(step);
            let g_std = match g {
                Some(g) => g.sqr()?.mean_all()?.to_dtype(DType::F64)?.to_scalar::<f64>()?.sqrt(),
                None => 0.0,
            };
            e.1.a.push(g_std);
            if hist {
                e.1.hist_steps.push(step);
                e.1.samples.push(match g {
                    Some(g) => sample(g)?,
                    None => Vec::new(),
                });
            }
            self.before.push((name.to_string(), p.copy()?));
        }
        Ok(())
    }

    /// After the optimiser's step: each parameter's update-to-weight ratio, log10 of
    /// std(update) / std(weight) (`None` when a parameter did not move at all).
    pub fn updated(&mut self, params: &[(&str, Tensor)]) -> Result<()> {
        for (name, before) in std::mem::take(&mut self.before) {
            let Some((_, now)) = params.iter().find(|(n, _)| *n == name) else { continue };
            let (_, du) = mean_std(&(now - &before)?)?;
            let (_, w) = mean_std(&before)?;
            let ratio = if du > 0.0 && w > 0.0 { (du / w).log10() } else { f64::NAN };
            if let Some(e) = self.params.get_mut(&name) {
                e.1.b.push(ratio);
            }
        }
        Ok(())
    }

    /// A number of the run's end (evaluation loss, accuracy…), shown in the report.
    pub fn result(&mut self, name: &str, value: f64) {
        self.summary.insert(name.to_string(), value);
    }

    /// A text of the run's end (a sample of generated text).
    pub fn note(&mut self, name: &str, value: String) {
        self.text.insert(name.to_string(), value);
    }

    /// The run as JSON, with the summary numbers the hunt compares with a healthy run.
    pub fn json(&self) -> String {
        let num = |v: f64| if v.is_finite() { format!("{v:.6e}") } else { "null".into() };
        let list = |v: &[f64]| v.iter().map(|&x| num(x)).collect::<Vec<_>>().join(",");
        let ints = |v: &[usize]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(",");
        let samples =
            |v: &[Vec<f32>]| v.iter().map(|s| format!("[{}]", s.iter().map(|&x| num(x as f64)).collect::<Vec<_>>().join(","))).collect::<Vec<_>>().join(",");
        let mut summary = self.summary.clone();
        let n = self.loss.len();
        summary.insert("loss.first".into(), self.loss.first().copied().unwrap_or(f64::NAN));
        let head = &self.loss[..n.min(10)];
        summary.insert("loss.start".into(), head.iter().sum::<f64>() / head.len().max(1) as f64);
        let tail = &self.loss[n - (n / 10).max(1)..];
        summary.insert("loss.end".into(), tail.iter().sum::<f64>() / tail.len() as f64);
        summary.insert("lr.end".into(), self.lr.last().copied().unwrap_or(f64::NAN));
        let late = |xs: &[f64]| {
            let t = &xs[xs.len() / 2..];
            let f: Vec<f64> = t.iter().copied().filter(|x| x.is_finite()).collect();
            if f.is_empty() {
                -99.0
            } else {
                f.iter().sum::<f64>() / f.len() as f64
            }
        };
        let first = |xs: &[f64]| xs.first().copied().filter(|x| x.is_finite()).unwrap_or(-99.0);
        for (name, (_, _, s)) in &self.acts {
            summary.insert(format!("mean.{name}"), late(&s.a));
            summary.insert(format!("std.{name}"), late(&s.b));
            summary.insert(format!("std.{name}@start"), first(&s.b));
            summary.insert(format!("share.{name}"), late(&s.c));
            summary.insert(format!("share.{name}@start"), first(&s.c));
        }
        for (name, (_, s)) in &self.params {
            summary.insert(format!("grad.{name}"), late(&s.a));
            summary.insert(format!("ratio.{name}"), late(&s.b));
            summary.insert(format!("ratio.{name}@start"), first(&s.b));
        }
        let mut out = String::from("{\n");
        let _ = writeln!(out, "\"loss\": [{}],\n\"lr\": [{}],", list(&self.loss), list(&self.lr));
        let mut acts: Vec<_> = self.acts.iter().collect();
        acts.sort_by_key(|(_, (_, order, _))| *order);
        let a: Vec<String> = acts
            .iter()
            .map(|(name, (kind, _, s))| {
                let kind = match kind {
                    Kind::Tanh => "tanh",
                    Kind::Relu => "relu",
                    Kind::Softmax => "softmax",
                    Kind::Plain => "plain",
                };
                format!(
                    "{{\"name\": {name:?}, \"kind\": \"{kind}\", \"steps\": [{}], \"mean\": [{}], \"std\": [{}], \"share\": [{}], \"hist_steps\": [{}], \"samples\": [{}]}}",
                    ints(&s.steps),
                    list(&s.a),
                    list(&s.b),
                    list(&s.c),
                    ints(&s.hist_steps),
                    samples(&s.samples)
                )
            })
            .collect();
        let _ = writeln!(out, "\"layers\": [\n{}\n],", a.join(",\n"));
        let mut params: Vec<_> = self.params.iter().collect();
        params.sort_by_key(|(_, (order, _))| *order);
        let p: Vec<String> = params
            .iter()
            .map(|(name, (_, s))| {
                format!(
                    "{{\"name\": {name:?}, \"steps\": [{}], \"grad\": [{}], \"ratio\": [{}], \"hist_steps\": [{}], \"samples\": [{}]}}",
                    ints(&s.steps),
                    list(&s.a),
                    list(&s.b),
                    ints(&s.hist_steps),
                    samples(&s.samples)
                )
            })
            .collect();
        let _ = writeln!(out, "\"params\": [\n{}\n],", p.join(",\n"));
        let text: Vec<String> = self.text.iter().map(|(k, v)| format!("{k:?}: {v:?}")).collect();
        let _ = writeln!(out, "\"text\": {{{}}},", text.join(", "));
        let s: Vec<String> = summary.iter().map(|(k, v)| format!("{k:?}: {}", num(*v))).collect();
        let _ = writeln!(out, "\"summary\": {{{}}}\n}}", s.join(", "));
        out
    }
}

/// Cross-entropy computed the way the probe measures every run (not the patient's own loss):
/// the mean negative log-likelihood of `targets` under `logits: [N, V]`, and the accuracy.
pub fn measure(logits: &Tensor, targets: &Tensor) -> Result<(f64, f64)> {
    let logits = logits.to_dtype(DType::F32)?;
    let loss = candle_nn::loss::cross_entropy(&logits, targets)?.to_scalar::<f32>()? as f64;
    let hits = logits.argmax(D::Minus1)?.eq(targets)?.to_dtype(DType::F32)?.mean_all()?.to_scalar::<f32>()? as f64;
    Ok((loss, hits))
}
