//! The bug hunt's runner for week 3: encodes Tiny Shakespeare with your `Vocab`, trains the
//! patient (src/patient.rs) with the probe watching, measures it on held-out text, lets it
//! write a line, and writes what the probe saw as JSON for `grader bughunt` to draw.
//! Usage: `bughunt-week3 OUT.json`.

mod patient;
#[allow(dead_code)]
#[path = "../../probe.rs"]
mod probe;
mod subject;

use candle_core::{Device, Tensor};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use subject::week3::chargpt::Vocab;

fn main() -> anyhow::Result<()> {
    let out = std::env::args().nth(1).ok_or_else(|| anyhow::anyhow!("usage: bughunt-week3 OUT.json"))?;
    let dev = Device::Cpu;
    let text = grader::data::text(&grader::data::TINY_SHAKESPEARE)?;
    let vocab = Vocab::new(&text);
    let ids = vocab.encode(&text)?;
    let cut = ids.len() * 9 / 10;
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let mut probe = probe::Probe::new(patient::STEPS, 5);
    let model = patient::train(&ids[..cut], vocab.chars.len(), &mut probe, &mut rng)?;
    // 64 windows of each split, the same for every run.
    let windows = |data: &[u32], seed: u64| -> candle_core::Result<(Tensor, Tensor)> {
        let mut r = ChaCha8Rng::seed_from_u64(seed);
        let (mut xs, mut ys) = (Vec::new(), Vec::new());
        for _ in 0..64 {
            let i = r.random_range(0..data.len() - patient::BLOCK - 1);
            xs.extend_from_slice(&data[i..i + patient::BLOCK]);
            ys.extend_from_slice(&data[i + 1..i + patient::BLOCK + 1]);
        }
        Ok((Tensor::from_vec(xs, (64, patient::BLOCK), &dev)?, Tensor::from_vec(ys, 64 * patient::BLOCK, &dev)?))
    };
    let measure = |x: &Tensor, y: &Tensor, rng: &mut ChaCha8Rng| -> anyhow::Result<f64> {
        let logits = patient::evaluate(&model, x, rng)?;
        let v = logits.dim(2)?;
        Ok(probe::measure(&logits.reshape(((), v))?, y)?.0)
    };
    let (ex, ey) = windows(&ids[cut..], 11)?;
    let (tx, ty) = windows(&ids[..cut], 12)?;
    let eval_loss = measure(&ex, &ey, &mut rng)?;
    let train_loss = measure(&tx, &ty, &mut rng)?;
    probe.result("eval.loss", eval_loss);
    probe.result("train.loss", train_loss);
    probe.result("gap", eval_loss - train_loss);
    probe.result("uniform", (vocab.chars.len() as f64).ln());
    // A greedy line from a fixed prompt.
    let mut line = vocab.encode("ROMEO:\n")?;
    for _ in 0..80 {
        let start = line.len().saturating_sub(patient::BLOCK);
        let x = Tensor::new(&line[start..], &dev)?.unsqueeze(0)?;
        let logits = patient::evaluate(&model, &x, &mut rng)?;
        let last = logits.squeeze(0)?.get(line.len() - start - 1)?;
        line.push(last.argmax(0)?.to_scalar::<u32>()?);
    }
    probe.note("sample", vocab.decode(&line));
    std::fs::write(&out, probe.json())?;
    Ok(())
}
