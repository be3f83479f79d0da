//! Checks for week2 day "bert": every piece of BERT against `transformers`' `BertForMaskedLM`
//! with the same weights (fixtures/gen/week2_bert.py), the gradient of every parameter, and
//! the 80/10/10 masking rule (exactly) and proportions (statistically).

use crate::cases::FixtureFile;
use crate::check::{ensure, fixture_path, fixture_text, Fail, Learner};
use crate::compare::{close, close_with, scalar_close, Candidate, Tol};
use crate::registry::{Day, Exercise};
use crate::subject::week2::bert as bt;
use crate::subject::week2::tokenizers as tk;
use candle_core::{DType, Device};
use candle_nn::{VarBuilder, VarMap};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

const FX: FixtureFile = FixtureFile::new("week2/bert.safetensors");
const MODEL: &str = "week2/bert/model.safetensors";
const CONFIG: &str = "week2/bert/config.json";

/// Layer outputs are layer-normalised (O(1)); sums of ≤ 128 products, summed in a different
/// order from PyTorch's kernels. Measured ≤ 1e-6 abs; 2e-5 leaves >10× headroom, while the
/// tanh GELU instead of erf, a missing mask or a pre-norm block is off by 1e-3 or more.
const LAYER: Tol = Tol { abs: 2e-5, rel: 2e-5 };
/// Gradients span ~1e-9 … 1e-1; relative agreement with an absolute floor for the tiny ones
/// (different summation order through two layer norms per layer). Measured within 1e-3 rel +
/// ~1e-9 abs; a missing gradient path changes entries by 1e-4 or more.
const GRAD: Tol = Tol { abs: 1e-7, rel: 1e-3 };

const DAY: Day = Day::new("week2", "bert", "src/bert.rs");

/// all-MiniLM-L6-v2's hidden states: layer-normalised values of order 1 (up to ~10 in the
/// embeddings) through six real layers of 384-wide sums in another summation order than
/// PyTorch's. The reference is within 4.4e-6 (abs, with 1e-5 relative) over all seven states on
/// the CPU; 5e-5 leaves 10× headroom, while a tanh GELU moves layer 1's output by 2.2e-3 and a
/// missing padding mask by 0.85. (A layer norm's eps of 1e-5 instead of the config's 1e-12 moves
/// these values, of variance ~1, by less than the rounding: no check here can see it.)
const MINILM: Tol = Tol { abs: 5e-5, rel: 5e-5 };
const MINILM_FX: FixtureFile = FixtureFile::new("week2/minilm.safetensors");

fn read(path: &std::path::Path) -> Result<String, Fail> {
    std::fs::read_to_string(path).map_err(|e| Fail::Skipped(format!("{} cannot be read ({e}): run `just data`", path.display())))
}

/// The real model's folder (the HF cache, or what `just data` unpacked) and the fixture of
/// transformers' outputs on it; "skipped" without the model.
fn minilm(ctx: &crate::check::Ctx) -> Result<(std::path::PathBuf, std::rc::Rc<crate::check::Fixture>), Fail> {
    let dir = crate::minilm::local_dir().map_err(Fail::Skipped)?;
    Ok((dir, MINILM_FX.open(ctx)?))
}

fn config() -> Result<bt::BertConfig, Fail> {
    let text = fixture_text(CONFIG)?;
    bt::BertConfig::from_json(&text).map_err(|e| Fail::Internal(format!("{CONFIG}: {e}")))
}

fn vb(dev: &Device) -> Result<VarBuilder<'static>, Fail> {
    // SAFETY: fixture files are not modified while the grader runs.
    Ok(unsafe { VarBuilder::from_mmaped_safetensors(&[fixture_path(MODEL)?], DType::F32, dev).grader()? })
}

/// A fixed corpus for the masking checks: ids 0..998 (never the mask id 999), every 50th
/// position special.
fn corpus(n: usize) -> (Vec<u32>, Vec<bool>) {
    ((0..n).map(|i| ((i * 7919) % 999) as u32).collect(), (0..n).map(|i| i % 50 == 0).collect())
}
const MASK_ID: u32 = 999;
const VOCAB: u32 = 1000;

pub fn exercises() -> Vec<Exercise> {
    vec![
        DAY.exercise("embeddings", "word + position + token-type embeddings, then LayerNorm").pace(3, 50).function("embeddings")
            .check("vs transformers (BertEmbeddings)", |ctx| {
                let emb = bt::BertEmbeddings::load(vb(&ctx.device)?.pp("bert.embeddings"), &config()?).learner()?;
                for c in FX.cases(ctx, "embeddings")? {
                    close(&c.label(), &emb.forward(&c.t("ids")?, &c.t("types")?).learner()?, &c.out()?, LAYER)?;
                }
                Ok(())
            }),
        DAY.exercise("attention", "bidirectional self-attention with a padding mask, post-norm").pace(3, 65).function("attention")
            .check("vs transformers (BertAttention, layer 0; without and with padding)", |ctx| {
                let att = bt::BertAttention::load(vb(&ctx.device)?.pp("bert.encoder.layer.0.attention"), &config()?).learner()?;
                for c in FX.cases(ctx, "attention")? {
                    close(&c.label(), &att.forward(&c.t("x")?, &c.t("mask")?).learner()?, &c.out()?, LAYER)?;
                }
                Ok(())
            }),
        DAY.exercise("layer", "a BERT layer: attention, intermediate, output").pace(3, 40).function("layer")
            .check("vs transformers (BertLayer 0)", |ctx| {
                let l = bt::BertLayer::load(vb(&ctx.device)?.pp("bert.encoder.layer.0"), &config()?).learner()?;
                for c in FX.cases(ctx, "layer")? {
                    close(&c.label(), &l.forward(&c.t("x")?, &c.t("mask")?).learner()?, &c.out()?, LAYER)?;
                }
                Ok(())
            }),
        DAY.exercise("model", "the encoder: every hidden state").pace(3, 40).function("model")
            .function("hidden_states") // what `grader reset` restores (the exercise also writes load)
            .check("hidden states of a padded batch vs transformers (BertModel)", |ctx| {
                let fx = FX.open(ctx)?;
                let m = bt::Bert::load(vb(&ctx.device)?, &config()?).learner()?;
                let hs = m.hidden_states(&fx.get("model.ids")?, &fx.get("model.types")?, &fx.get("model.mask")?).learner()?;
                let n = fx.names_with_prefix("model.hidden.").len();
                ensure(hs.len() == n, || format!("hidden_states returned {} tensors, expected {n} (the embeddings, then one per layer)", hs.len()))?;
                for (i, h) in hs.iter().enumerate() {
                    close(&format!("hidden_states[{i}]"), h, &fx.get(&format!("model.hidden.{i}"))?, LAYER)?;
                }
                Ok(())
            }),
        DAY.exercise("pooler", "the pooler: tanh of a dense layer on [CLS]").pace(1, 10).function("pooler")
            .check("vs torch (tanh(dense(h[:, 0])))", |ctx| {
                let fx = FX.open(ctx)?;
                let h = fx.get("model.hidden.2")?;
                let got = bt::pooler(&h, &fx.get("pooler.weight")?, &fx.get("pooler.bias")?).learner()?;
                let mean = h.mean(1).grader()?.broadcast_matmul(&fx.get("pooler.weight")?.t().grader()?).grader()?.broadcast_add(&fx.get("pooler.bias")?).grader()?.tanh().grader()?;
                close_with("pooler(last hidden state)", &got, &fx.get("pooler.out")?, LAYER, &[Candidate { description: "the pooler applied to the mean over positions instead of the first ([CLS]) position", tensor: mean }])
            }),
        DAY.exercise("mlm_head", "BertForMaskedLM: logits, loss and every gradient").pace(3, 60).function("mlm_head")
            .check("logits and loss vs transformers", |ctx| {
                let fx = FX.open(ctx)?;
                let m = bt::BertForMaskedLM::load(vb(&ctx.device)?, &config()?).learner()?;
                let logits = m.forward(&fx.get("model.ids")?, &fx.get("model.types")?, &fx.get("model.mask")?).learner()?;
                // Logits are dot products of 64 layer-normalised features with embeddings; measured ≤ 1e-6.
                close("logits", &logits, &fx.get("mlm.logits")?, LAYER)?;
                let loss = bt::masked_lm_loss(&logits, &fx.get("mlm.labels")?).learner()?;
                ensure(loss.rank() == 0, || format!("masked_lm_loss returned shape {:?}, expected a scalar", loss.dims()))?;
                // A mean of 4 log-probabilities: f32 rounding only.
                close("masked_lm_loss", &loss, &fx.get("mlm.loss")?, Tol::F32)
            })
            .check("the gradient of every parameter vs transformers", |ctx| {
                let fx = FX.open(ctx)?;
                let mut vm = VarMap::new();
                let m = bt::BertForMaskedLM::load(VarBuilder::from_varmap(&vm, DType::F32, &ctx.device), &config()?).learner()?;
                vm.load(fixture_path(MODEL)?).map_err(|e| Fail::Mismatch(format!("loading the fixture weights into your model's variables failed: {e}")))?;
                let logits = m.forward(&fx.get("model.ids")?, &fx.get("model.types")?, &fx.get("model.mask")?).learner()?;
                let loss = bt::masked_lm_loss(&logits, &fx.get("mlm.labels")?).learner()?;
                let grads = loss.backward().on_learner()?;
                let vars = crate::check::variables(&vm);
                for name in fx.names_with_prefix("grad.") {
                    let p = &name["grad.".len()..];
                    let var = vars.get(p).ok_or_else(|| Fail::Mismatch(format!("your model never asked the VarBuilder for {p}")))?;
                    let got = grads.get(var).ok_or_else(|| Fail::Mismatch(format!("no gradient reached {p}: an operation on its path has no backward pass (candle_nn::LayerNorm, softmax_last_dim, sdpa…) or detaches")))?;
                    close(&format!("d loss / d {p}"), got, &fx.get(&name)?, GRAD)?;
                }
                Ok(())
            }),
        DAY.exercise("mlm_mask", "80/10/10 masking with a seeded RNG").pace(3, 40).function("mlm_mask")
            .check("the rule, exactly (200 000 tokens)", |_ctx| {
                let (ids, special) = corpus(200_000);
                let (inp, lab) = bt::mlm_mask(&ids, &special, 0.15, MASK_ID, VOCAB, &mut ChaCha8Rng::seed_from_u64(1));
                ensure(inp.len() == ids.len() && lab.len() == ids.len(), || format!("returned {} inputs and {} labels for {} ids", inp.len(), lab.len(), ids.len()))?;
                for i in 0..ids.len() {
                    let at = || format!("position {i} (id {}, special {})", ids[i], special[i]);
                    if special[i] {
                        ensure(lab[i] == -100 && inp[i] == ids[i], || format!("{}: special tokens are never selected; got input {}, label {}", at(), inp[i], lab[i]))?;
                    } else if lab[i] == -100 {
                        ensure(inp[i] == ids[i], || format!("{}: not selected (label -100) but the input changed to {}", at(), inp[i]))?;
                    } else {
                        ensure(lab[i] == ids[i] as i64, || format!("{}: a selected position's label must be the original id, got {}", at(), lab[i]))?;
                        ensure(inp[i] < VOCAB, || format!("{}: replacement {} is outside the vocabulary 0..{VOCAB}", at(), inp[i]))?;
                    }
                }
                let (a, _) = bt::mlm_mask(&ids, &special, 0.15, MASK_ID, VOCAB, &mut ChaCha8Rng::seed_from_u64(1));
                let (b, _) = bt::mlm_mask(&ids, &special, 0.15, MASK_ID, VOCAB, &mut ChaCha8Rng::seed_from_u64(2));
                ensure(a == inp, || "the same seed gave a different masking: draw only from the rng you are given".into())?;
                ensure(b != inp, || "seeds 1 and 2 gave the same masking: draw from the rng you are given".into())
            })
            .check("the proportions (15 % selected; 80 / 10 / 10), 5-sigma binomial bands", |_ctx| {
                let (ids, special) = corpus(200_000);
                let (inp, lab) = bt::mlm_mask(&ids, &special, 0.15, MASK_ID, VOCAB, &mut ChaCha8Rng::seed_from_u64(7));
                let eligible = special.iter().filter(|s| !**s).count() as f64;
                let sel: Vec<usize> = (0..ids.len()).filter(|&i| lab[i] != -100).collect();
                let n = sel.len() as f64;
                // Each count is binomial; a correct implementation lands within 5 standard
                // deviations with probability 1 - 6e-7 per proportion (the seed is fixed, so the
                // result is reproducible, but the band is what makes it a fair test).
                let band = |what: &str, count: f64, trials: f64, p: f64| {
                    let sd = (trials * p * (1.0 - p)).sqrt();
                    scalar_close(&format!("{what} ({count} of {trials})"), count, trials * p, Tol::new(5.0 * sd, 0.0))
                };
                band("selected positions", n, eligible, 0.15)?;
                let v = VOCAB as f64;
                let masked = sel.iter().filter(|&&i| inp[i] == MASK_ID).count() as f64;
                let kept = sel.iter().filter(|&&i| inp[i] == ids[i]).count() as f64;
                // A random replacement can hit the mask id or the original token (1/vocab each).
                band("selected → [MASK]", masked, n, 0.8 + 0.1 / v)?;
                band("selected → unchanged", kept, n, 0.1 + 0.1 / v)?;
                band("selected → another random token", n - masked - kept, n, 0.1 * (v - 2.0) / v)?;
                let distinct: std::collections::BTreeSet<u32> = sel.iter().filter(|&&i| inp[i] != MASK_ID && inp[i] != ids[i]).map(|&i| inp[i]).collect();
                // ~2 900 uniform draws from 1 000 ids cover ~940 of them; 800 is far below.
                ensure(distinct.len() > 800, || format!("random replacements use only {} distinct ids: draw uniformly from 0..vocab", distinct.len()))
            })
            .check("40 000 four-token sequences, none special, vocabulary 10: the first position is selected like the others and every id, 0 included, is drawn", |_ctx| {
                let (mut first, mut random) = (0usize, [0usize; 10]);
                let mut rng = ChaCha8Rng::seed_from_u64(11);
                let n = 40_000;
                for s in 0..n {
                    let ids: Vec<u32> = (0..4).map(|k| ((s + k) % 8 + 1) as u32).collect();
                    let (inp, lab) = bt::mlm_mask(&ids, &[false; 4], 0.15, 9, 10, &mut rng);
                    first += usize::from(lab.first() != Some(&-100));
                    for k in 0..4 {
                        if lab.get(k).is_some_and(|l| *l != -100) && inp[k] != 9 && inp[k] != ids[k] {
                            random[inp[k] as usize] += 1;
                        }
                    }
                }
                let sd = (n as f64 * 0.15 * 0.85).sqrt();
                scalar_close(&format!("sequences whose first position was selected ({first} of {n})"), first as f64, n as f64 * 0.15, Tol::new(5.0 * sd, 0.0))?;
                // 24 000 selections, ~2 400 random replacements over 10 ids (minus the mask id
                // and the original): ~300 each, so 50 is > 14 standard deviations below.
                ensure(random[0] > 50, || format!("random replacements per id {random:?}: id 0 is never drawn (draw from 0..vocab)"))
            }),
        DAY.exercise("pretrained", "a real pretrained BERT: all-MiniLM-L6-v2's vocabulary and weights").pace(1, 10).function("pretrained")
            // With `--pretrained`: the model is data that `just data` fetches, not a fixture, and
            // the default grade (CI's included) must not depend on a download.
            .pretrained()
            .check("WordPiece with MiniLM's 30,522-token vocabulary vs transformers' tokenizer on three sentences", |ctx| {
                let (dir, fx) = minilm(ctx)?;
                let lines: Vec<String> = read(&dir.join("vocab.txt"))?.lines().map(str::to_string).collect();
                let wp = tk::WordPiece::from_lines(&lines);
                for k in 0..3 {
                    let bytes: Vec<u8> = fx.get(&format!("text.{k}"))?.to_vec1::<u8>().grader()?;
                    let text = String::from_utf8(bytes).map_err(|e| Fail::Internal(format!("text.{k}: {e}")))?;
                    let want: Vec<u32> = fx.values(&format!("plain.{k}"))?.iter().map(|&v| v as u32).collect();
                    let got = wp.encode(&text);
                    if got != want {
                        let piece = |ids: &[u32]| -> String { ids.iter().map(|&i| lines.get(i as usize).map_or("?", String::as_str)).collect::<Vec<_>>().join(" ") };
                        let at = got.iter().zip(&want).take_while(|(a, b)| a == b).count();
                        return Err(Fail::Mismatch(format!(
                            "{text:?}: your pieces differ from position {at}: got [{}], expected [{}]",
                            piece(&got[at.min(got.len())..(at + 6).min(got.len())]),
                            piece(&want[at.min(want.len())..(at + 6).min(want.len())])
                        )));
                    }
                }
                Ok(())
            })
            .check("every hidden state of all-MiniLM-L6-v2 (6 layers, 384 wide) vs transformers on a padded batch of three", |ctx| {
                let (dir, fx) = minilm(ctx)?;
                let cfg = bt::BertConfig::from_json(&read(&dir.join("config.json"))?).learner()?;
                // SAFETY: the model file is not modified while the grader runs.
                let vb = unsafe { VarBuilder::from_mmaped_safetensors(&[dir.join("model.safetensors")], DType::F32, &ctx.device).grader()? };
                // The file is a BertModel's (`embeddings.…`, `encoder.…`); `load` reads under `bert.`.
                let vb = vb.rename_f(|name: &str| name.strip_prefix("bert.").unwrap_or(name).to_string());
                let model = bt::Bert::load(vb, &cfg).learner()?;
                let ids = |k: &str| -> Result<candle_core::Tensor, Fail> { fx.get(k)?.to_dtype(DType::U32).grader() };
                let hs = model.hidden_states(&ids("ids")?, &ids("types")?, &fx.get("mask")?).learner()?;
                ensure(hs.len() == cfg.num_hidden_layers + 1, || format!("{} hidden states; expected the embeddings and {} layers' outputs", hs.len(), cfg.num_hidden_layers))?;
                for (l, h) in hs.iter().enumerate() {
                    let what = if l == 0 { "the embeddings".to_string() } else { format!("layer {l}'s output") };
                    close(&format!("{what} [3, 23, 384]"), h, &fx.get(&format!("hidden.{l}"))?, MINILM)?;
                }
                Ok(())
            }),
    ]
}
