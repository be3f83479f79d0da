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

/// One layer of DeBERTa's attention as the grader computes it with one classic mistake each, for
/// the diagnosis of a failing `attention` (never as expected values: those are transformers').
/// `vb` is at `encoder.layer.0.attention`.
fn attention_slips(
    vb: &VarBuilder,
    cfg: &db::DebertaConfig,
    x: &Tensor,
    mask: &Tensor,
    rel_emb: &Tensor,
    rel: &Tensor,
) -> Result<Vec<(&'static str, Tensor)>, Fail> {
    use candle_core::D;
    #[derive(Clone, Copy, PartialEq)]
    enum Slip {
        ScaleWithoutThree,
        NoC2p,
        NoP2c,
        KeyMaskOnly,
        PositionsWithoutBias,
        PositionsSwapped,
        NoResidual,
    }
    let (b, t, d) = x.dims3().grader()?;
    let (h, span) = (cfg.num_attention_heads, cfg.position_buckets);
    let dh = d / h;
    let get = |name: &str, shape: &[usize]| vb.get(shape, name).grader();
    let (wq, bq) = (get("self.query_proj.weight", &[d, d])?, get("self.query_proj.bias", &[d])?);
    let (wk, bk) = (get("self.key_proj.weight", &[d, d])?, get("self.key_proj.bias", &[d])?);
    let (wv, bv) = (get("self.value_proj.weight", &[d, d])?, get("self.value_proj.bias", &[d])?);
    let (wo, bo) = (get("output.dense.weight", &[d, d])?, get("output.dense.bias", &[d])?);
    let (lw, lb) = (get("output.LayerNorm.weight", &[d])?, get("output.LayerNorm.bias", &[d])?);
    let run = |slip: Slip| -> candle_core::Result<Tensor> {
        let lin = |y: &Tensor, w: &Tensor, bias: Option<&Tensor>| -> candle_core::Result<Tensor> {
            let out = y.broadcast_matmul(&w.t()?)?;
            match bias {
                Some(bias) => out.broadcast_add(bias),
                None => Ok(out),
            }
        };
        // [rows, n, d] → [rows·h, n, dh]
        let heads = |y: Tensor| -> candle_core::Result<Tensor> {
            let (rows, n, _) = y.dims3()?;
            y.reshape((rows, n, h, dh))?.transpose(1, 2)?.reshape((rows * h, n, dh))?.contiguous()
        };
        let (q, k, v) = (heads(lin(x, &wq, Some(&bq))?)?, heads(lin(x, &wk, Some(&bk))?)?, heads(lin(x, &wv, Some(&bv))?)?);
        let table = rel_emb.narrow(0, 0, 2 * span)?.unsqueeze(0)?;
        let with_bias = slip != Slip::PositionsWithoutBias;
        let (pk_w, pk_b, pq_w, pq_b) = if slip == Slip::PositionsSwapped { (&wq, &bq, &wk, &bk) } else { (&wk, &bk, &wq, &bq) };
        let pk = heads(lin(&table, pk_w, with_bias.then_some(pk_b))?)?.repeat((b, 1, 1))?;
        let pq = heads(lin(&table, pq_w, with_bias.then_some(pq_b))?)?.repeat((b, 1, 1))?;
        // c2p[n, i, j] = q[n, i] · pk[n, clamp(rel[i, j] + span)]; p2c[n, i, j] = k[n, j] · pq[n, clamp(span − rel[j, i])].
        let rel = rel.to_dtype(DType::F32)?;
        let top = (2 * span - 1) as f64;
        let c2p_idx = (&rel + span as f64)?.clamp(0.0, top)?.to_dtype(DType::U32)?.unsqueeze(0)?.broadcast_as((b * h, t, t))?.contiguous()?;
        let p2c_idx = (rel.affine(-1.0, span as f64))?.clamp(0.0, top)?.to_dtype(DType::U32)?.unsqueeze(0)?.broadcast_as((b * h, t, t))?.contiguous()?;
        let c2p = q.matmul(&pk.t()?)?.gather(&c2p_idx, 2)?;
        let p2c = k.matmul(&pq.t()?)?.gather(&p2c_idx, 2)?.transpose(1, 2)?;
        let mut scores = q.matmul(&k.t()?)?;
        if slip != Slip::NoC2p {
            scores = (scores + c2p)?;
        }
        if slip != Slip::NoP2c {
            scores = (scores + p2c)?;
        }
        let scale = if slip == Slip::ScaleWithoutThree { (dh as f64).sqrt() } else { (3.0 * dh as f64).sqrt() };
        let scores = (scores / scale)?.reshape((b, h, t, t))?;
        let is_token = mask.to_dtype(DType::F32)?;
        let pair = if slip == Slip::KeyMaskOnly {
            is_token.unsqueeze(1)?.broadcast_as((b, t, t))?.contiguous()?
        } else {
            is_token.unsqueeze(2)?.broadcast_mul(&is_token.unsqueeze(1)?)?
        };
        let pair = pair.unsqueeze(1)?.broadcast_as((b, h, t, t))?.ne(0f64)?;
        let scores = pair.where_cond(&scores, &Tensor::full(f32::MIN, (b, h, t, t), x.device())?)?;
        let max = scores.max_keepdim(D::Minus1)?;
        let e = scores.broadcast_sub(&max)?.exp()?;
        let w = e.broadcast_div(&e.sum_keepdim(D::Minus1)?)?;
        let per_head = w.matmul(&v.reshape((b, h, t, dh))?)?;
        let ctx = per_head.transpose(1, 2)?.reshape((b, t, d))?;
        let dense = lin(&ctx, &wo, Some(&bo))?;
        let y = if slip == Slip::NoResidual { dense } else { (x + dense)? };
        let mean = y.mean_keepdim(D::Minus1)?;
        let c = y.broadcast_sub(&mean)?;
        let var = c.sqr()?.mean_keepdim(D::Minus1)?;
        c.broadcast_div(&(var + cfg.layer_norm_eps)?.sqrt()?)?.broadcast_mul(&lw)?.broadcast_add(&lb)
    };
    let slips = [
        (Slip::ScaleWithoutThree, "attention scaled by 1/√d_head: three score terms are added, so DeBERTa divides by √(3·d_head)"),
        (Slip::NoC2p, "attention without the content → position term (c2p)"),
        (Slip::NoP2c, "attention without the position → content term (p2c)"),
        (Slip::KeyMaskOnly, "attention that masks the padded keys only: a pair (i, j) counts only when both i and j are tokens"),
        (Slip::PositionsWithoutBias, "position keys and queries projected without the projections' biases"),
        (Slip::PositionsSwapped, "position keys and queries swapped: pos_key must come from key_proj and pos_query from query_proj"),
        (Slip::NoResidual, "the output sub-layer without its residual: LayerNorm(dense(ctx)) instead of LayerNorm(x + dense(ctx))"),
    ];
    slips.into_iter().map(|(slip, description)| Ok((description, run(slip).grader()?))).collect()
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
                let cfg = config()?;
                for c in FX.cases(ctx, "attention")? {
                    let (x, mask, rel) = (c.t("x")?, c.t("mask")?, c.t("rel")?);
                    let got: Tensor = att.forward(&x, &mask, &rel_emb, &rel).learner()?;
                    let slips = attention_slips(&vb(&ctx.device)?.pp("encoder.layer.0.attention"), &cfg, &x, &mask, &rel_emb, &rel)?;
                    let candidates: Vec<Candidate> = slips.into_iter().map(|(description, tensor)| Candidate { description, tensor }).collect();
                    close_with(&c.label(), &got, &c.out()?, LAYER, &candidates)?;
                }
                Ok(())
            },
        ),
    ]
}
