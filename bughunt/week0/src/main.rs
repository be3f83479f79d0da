//! The bug hunt's runner for week 0: loads names.txt, trains the patient (src/patient.rs)
//! with the probe watching, measures it on held-out names, and writes what the probe saw as
//! JSON for `grader bughunt` to draw. Usage: `bughunt-week0 OUT.json`.

mod patient;
#[allow(dead_code)]
#[path = "../../probe.rs"]
mod probe;
mod subject;

use candle_core::{Device, Tensor};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn main() -> anyhow::Result<()> {
    let out = std::env::args().nth(1).ok_or_else(|| anyhow::anyhow!("usage: bughunt-week0 OUT.json"))?;
    let dev = Device::Cpu;
    let mut words = grader::data::lines(&grader::data::NAMES)?;
    words.retain(|w| !w.is_empty());
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    words.shuffle(&mut rng);
    let cut = words.len() * 9 / 10;
    let build = |w: &[String]| subject::week0::mlp::build_dataset(w, patient::BLOCK, &dev);
    let (x, y) = build(&words[..cut])?;
    let (ex, ey) = build(&words[cut..])?;
    let mut probe = probe::Probe::new(patient::STEPS, 25);
    let mut model = patient::train(&x, &y, &mut probe, &mut rng)?;
    let (eval_loss, _) = probe::measure(&patient::evaluate(&mut model, &ex, &mut rng)?, &ey)?;
    let n = ex.dim(0)?;
    let sub = Tensor::arange(0u32, n as u32, &dev)?;
    let (train_loss, _) = probe::measure(&patient::evaluate(&mut model, &x.index_select(&sub, 0)?, &mut rng)?, &y.index_select(&sub, 0)?)?;
    probe.result("eval.loss", eval_loss);
    probe.result("train.loss", train_loss);
    probe.result("gap", eval_loss - train_loss);
    probe.result("uniform", (27f64).ln());
    std::fs::write(&out, probe.json())?;
    Ok(())
}
