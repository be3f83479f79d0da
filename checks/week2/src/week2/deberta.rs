//! Checks for week2 day "deberta": log buckets, relative positions, the c2p and p2c terms, and
//! the disentangled attention of one layer, against `transformers`' DebertaV2 with the same
//! weights (fixtures/gen/week2_deberta.py).

use crate::cases::FixtureFile;
use crate::check::{fixture_path, fixture_text, Ctx, Fail, Learner};
use crate::compare::{close, close_with, exact, Candidate, Tol};
use crate::registry::{Day, Exercise};
use crate::subject::week2::deberta as db;
use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;

const FX: FixtureFile = FixtureFile::new("week2/deberta.safetensors");
const MODEL: &str = "week2/deberta/model.safetensors";
const CONFIG: &str = "week2/deberta/config.json";

/// c2p / p2c entries are dot products of 16 N(0, 1) pairs, picked by index: only the matmul's
/// summation order differs from PyTorch's bmm (measured ≤ 1e-6 abs on values up to ~15).
const TERMS: Tol = Tol { abs: 1e-5, rel: 1e-5 };
/// The attention layer's output is layer-normalised (O(1)): sums of 64 products through
/// three score terms and a softmax; measured ≤ 1e-6. A term missing, the sqrt(d) instead of the
/// sqrt(3d) scale, or a transposed p2c is off by 1e-2 or more.
const LAYER: Tol = Tol { abs: 2e-5, rel: 2e-5 };

const DAY: Day = Day::new("week2", "deberta", "src/deberta.rs");

/// c2p (or p2c) on raw distances `rel[i, j] = i − j` over `t = 2·span + 3` positions, so that
/// some pairs lie beyond ±span and the clamp decides their row, against the exercise's
/// definition written as loops in f64.
fn edge_check(ctx: &Ctx, p2c: bool) -> Result<(), Fail> {
    let (bh, span, d) = (2usize, 3usize, 4usize);
    let t = 2 * span + 3;
    let dev = &ctx.device;
    let val = |n: usize, salt: f64| -> Vec<f32> { (0..n).map(|k| ((k as f64 * 0.37 + salt).sin()) as f32).collect() };
    let (content, pos) = (val(bh * t * d, 0.1), val(bh * 2 * span * d, 1.3));
    let rel: Vec<i64> = (0..t * t).map(|k| (k / t) as i64 - (k % t) as i64).collect();
    let c = Tensor::from_vec(content.clone(), (bh, t, d), dev).grader()?;
    let pm = Tensor::from_vec(pos.clone(), (bh, 2 * span, d), dev).grader()?;
    let r = Tensor::from_vec(rel.clone(), (t, t), dev).grader()?;
    let got = if p2c { db::p2c(&c, &pm, &r, span) } else { db::c2p(&c, &pm, &r, span) }.learner()?;
    let clamp = |v: i64| v.clamp(0, 2 * span as i64 - 1) as usize;
    let mut want = vec![0f64; bh * t * t];
    for n in 0..bh {
        for i in 0..t {
            for j in 0..t {
                // c2p: query i with position row clamp(rel[i, j] + span); p2c: key j with
                // position row clamp(−rel[j, i] + span).
                let (row, col) = if p2c { (j, clamp(-rel[j * t + i] + span as i64)) } else { (i, clamp(rel[i * t + j] + span as i64)) };
                want[(n * t + i) * t + j] = (0..d).map(|k| content[(n * t + row) * d + k] as f64 * pos[(n * 2 * span + col) * d + k] as f64).sum();
            }
        }
    }
    let want = Tensor::from_vec(want, (bh, t, t), dev).grader()?.to_dtype(DType::F32).grader()?;
    close(&format!("{}(rel = i − j over {t} positions, span {span})", if p2c { "p2c" } else { "c2p" }), &got, &want, TERMS)
}

fn config() -> Result<db::DebertaConfig, Fail> {
    let text = fixture_text(CONFIG)?;
    db::DebertaConfig::from_json(&text).map_err(|e| Fail::Internal(format!("{CONFIG}: {e}")))
}

fn vb(dev: &Device) -> Result<VarBuilder<'static>, Fail> {
    // SAFETY: fixture files are not modified while the grader runs.
    Ok(unsafe { VarBuilder::from_mmaped_safetensors(&[fixture_path(MODEL)?], DType::F32, dev).grader()? })
}

fn signed(c: &crate::cases::Case, arg: &str) -> Result<i64, Fail> {
    Ok(c.f(arg)? as i64)
}

pub fn exercises() -> Vec<Exercise> {
    vec![
        DAY.exercise("log_bucket", "log-bucketed relative positions").pace(2, 30).function("log_bucket").check(
            "vs transformers (make_log_bucket_position), rel in −600..600",
            |ctx| {
                for c in FX.cases(ctx, "log_bucket")? {
                    let got = db::log_bucket(&c.t("rel")?, c.n("bucket_size")?, c.n("max_position")?).learner()?;
                    exact(&c.label(), &got, &c.out()?)?;
                }
                Ok(())
            },
        ),
        DAY.exercise("relative_positions", "the relative position matrix").pace(2, 35).function("relative_positions").check(
            "vs transformers (build_relative_position); picture: target/candlecamp/week2/deberta_relative_positions.png",
            |ctx| {
                for c in FX.cases(ctx, "relative_positions")? {
                    let b = signed(&c, "bucket_size")?;
                    let bucket = if b > 0 { Some(b as usize) } else { None };
                    let got =
                        db::relative_positions(c.n("q_len")?, c.n("k_len")?, bucket, signed(&c, "max_position")?.max(0) as usize, &ctx.device).learner()?;
                    exact(&c.label(), &got, &c.out()?)?;
                    if c.n("q_len")? == 40 {
                        // 40 × 40, 16 buckets: exact near the diagonal, log-compressed far away
                        super::picture(ctx, "deberta_relative_positions", &got, 8)?;
                    }
                }
                Ok(())
            },
        ),
        DAY.exercise("c2p", "content → position scores")
            .pace(1, 10)
            .function("c2p")
            .check("vs the lines of DisentangledSelfAttention (torch.gather)", |ctx| {
                for c in FX.cases(ctx, "c2p")? {
                    let got = db::c2p(&c.t("query")?, &c.t("pos_key")?, &c.t("rel")?, c.n("span")?).learner()?;
                    close(&c.label(), &got, &c.out()?, TERMS)?;
                }
                Ok(())
            })
            .check("distances beyond ±span use the first and last position rows (the clamp), vs the definition in f64", |ctx| edge_check(ctx, false)),
        DAY.exercise("p2c", "position → content scores").pace(1, 10).function("p2c").check(
            "vs the lines of DisentangledSelfAttention (torch.gather, transposed)",
            |ctx| {
                for c in FX.cases(ctx, "p2c")? {
                    let got = db::p2c(&c.t("key")?, &c.t("pos_query")?, &c.t("rel")?, c.n("span")?).learner()?;
                    let untransposed = got.transpose(1, 2).on_learner()?.contiguous().on_learner()?;
                    close_with(
                        &c.label(),
                        &got,
                        &c.out()?,
                        TERMS,
                        &[Candidate { description: "the p2c term without the final transpose", tensor: untransposed }],
                    )?;
                }
                edge_check(ctx, true)?;
                Ok(())
            },
        ),
        DAY.exercise("rel_embeddings", "the layer-normed relative embedding table").pace(1, 10).function("rel_embeddings").check(
            "vs transformers (encoder.get_rel_embedding())",
            |ctx| {
                let got = db::rel_embeddings(vb(&ctx.device)?.pp("encoder"), &config()?).learner()?;
                // A layer norm of 64 values: f32 rounding only.
                close("rel_embeddings", &got, &FX.open(ctx)?.get("rel_embeddings")?, Tol::F32)
            },
        ),
        DAY.exercise("attention", "one layer of disentangled attention").pace(3, 90).function("attention").check(
            "vs transformers (DebertaV2Attention, layer 0; with and without padding)",
            |ctx: &Ctx| {
                let fx = FX.open(ctx)?;
                let att = db::DisentangledAttention::load(vb(&ctx.device)?.pp("encoder.layer.0.attention"), &config()?).learner()?;
                let rel_emb = fx.get("rel_embeddings")?;
                for c in FX.cases(ctx, "attention")? {
                    let got: Tensor = att.forward(&c.t("x")?, &c.t("mask")?, &rel_emb, &c.t("rel")?).learner()?;
                    close(&c.label(), &got, &c.out()?, LAYER)?;
                }
                Ok(())
            },
        ),
    ]
}
