//! The bug hunt's runner for week 1: loads MNIST, trains the patient (src/patient.rs) with the
//! probe watching, measures it on held-out images, and writes what the probe saw as JSON for
//! `grader bughunt` to draw. Usage: `bughunt-week1 OUT.json`.

mod patient;
#[allow(dead_code)]
#[path = "../../probe.rs"]
mod probe;
mod subject;

use candle_core::{Device, Tensor};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn main() -> anyhow::Result<()> {
    let out = std::env::args().nth(1).ok_or_else(|| anyhow::anyhow!("usage: bughunt-week1 OUT.json"))?;
    let dev = Device::Cpu;
    let m = grader::data::mnist(&dev)?;
    let images = |t: &Tensor| t.reshape((t.dim(0)?, 1, 28, 28));
    let (x, y) = (images(&m.train_images)?, m.train_labels.clone());
    let (ex, ey) = (images(&m.test_images)?, m.test_labels.clone());
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut probe = probe::Probe::new(patient::STEPS, 5);
    let model = patient::train(&x, &y, &mut probe, &mut rng)?;
    let n = ex.dim(0)?;
    let (eval_loss, eval_acc) = probe::measure(&patient::evaluate(&model, &ex, &mut rng)?, &ey)?;
    let (train_loss, _) = probe::measure(&patient::evaluate(&model, &x.narrow(0, 0, n)?, &mut rng)?, &y.narrow(0, 0, n)?)?;
    probe.result("eval.loss", eval_loss);
    probe.result("eval.acc", eval_acc);
    probe.result("train.loss", train_loss);
    probe.result("gap", eval_loss - train_loss);
    probe.result("uniform", (10f64).ln());
    std::fs::write(&out, probe.json())?;
    Ok(())
}
