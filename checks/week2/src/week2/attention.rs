//! Checks for week2 day "attention": each exercise against PyTorch on the fixture cases
//! (fixtures/gen/week2_attention.py): `F.scaled_dot_product_attention`, `F.bilinear`,
//! `nn.MultiheadAttention`, and the textbook formulas evaluated in torch.

use crate::cases::FixtureFile;
use crate::check::Learner;
use crate::compare::{close, close_with, exact, Candidate, Tol};
use crate::registry::{Day, Exercise};
use crate::subject::week2::attention as at;
use candle_core::D;

const FX: FixtureFile = FixtureFile::new("week2/attention.safetensors");

/// Softmax-weighted sums of ≤ 16 products of N(0, 1) values: summation order differs from
/// PyTorch's fused kernel by a few ulps (measured ≤ 1.8e-7 abs on O(1) outputs); 1e-5 abs + rel
/// (Tol::F32) leaves >10× headroom, while a missing 1/sqrt(d) or a softmax over the wrong axis is off by O(0.1).
const ATT: Tol = Tol::F32;
/// Scores and projections: sums of up to 16 products of N(0, 1) entries, magnitudes up to ~10;
/// matmul blocking differs from PyTorch's by a few ulps of those sums (measured ≤ 9.6e-7 abs,
/// 2.7e-7 rel on values near 4).
const SUMS: Tol = Tol { abs: 1e-5, rel: 1e-5 };
/// Sinusoids: the fixture computes in f64 and rounds to f32 (the reference, also in f64, is
/// bit-identical). A learner computing in f32 loses ~ulp(49 rad) ≈ 4e-6 in the largest angles;
/// 2e-5 abs allows that, while a swapped sin/cos or a wrong frequency is off by O(1).
const SIN: Tol = Tol { abs: 2e-5, rel: 0.0 };

const DAY: Day = Day::new("week2", "attention", "src/attention.rs");

const NO_SDPA: &[&str] = &["sdpa", "softmax_last_dim"];

pub fn exercises() -> Vec<Exercise> {
    vec![
        DAY.exercise("scaled_dot_product", "scaled dot-product attention with a mask").pace(2, 25).function("scaled_dot_product").forbid(NO_SDPA).check(
            "vs torch (F.scaled_dot_product_attention)",
            |ctx| {
                for c in FX.cases(ctx, "scaled_dot_product")? {
                    let (q, k, v, mask) = (c.t("q")?, c.t("k")?, c.t("v")?, c.opt("mask")?);
                    let got = at::scaled_dot_product(&q, &k, &v, mask.as_ref()).learner()?;
                    let unscaled = if mask.is_none() {
                        let s = q.matmul(&k.transpose(D::Minus2, D::Minus1).grader()?.contiguous().grader()?).grader()?;
                        vec![Candidate {
                            description: "attention without the 1/sqrt(d) scale",
                            tensor: candle_nn::ops::softmax(&s, D::Minus1).grader()?.matmul(&v).grader()?,
                        }]
                    } else {
                        vec![]
                    };
                    close_with(&c.label(), &got, &c.out()?, ATT, &unscaled)?;
                }
                Ok(())
            },
        ),
        DAY.exercise("causal_mask", "the causal mask").pace(1, 10).function("causal_mask").check("vs torch (ones(t, t).tril())", |ctx| {
            for c in FX.cases(ctx, "causal_mask")? {
                let got = at::causal_mask(c.n("t")?, &ctx.device).learner()?;
                exact(&c.label(), &got, &c.out()?)?;
            }
            Ok(())
        }),
        DAY.exercise("padding_mask", "the padding mask of a right-padded batch")
            .pace(1, 10)
            .function("padding_mask")
            .check("vs torch (arange(t) < lengths[:, None])", |ctx| {
                FX.vs_torch(ctx, "padding_mask", Tol::EXACT, |c| at::padding_mask(&c.t("lengths")?, c.n("t")?).learner())
            }),
        DAY.exercise("additive_scores", "additive (Bahdanau) scores")
            .pace(1, 10)
            .function("additive_scores")
            .check("vs torch (v · tanh(W_q q + W_k k))", |ctx| {
                FX.vs_torch(ctx, "additive_scores", SUMS, |c| at::additive_scores(&c.t("q")?, &c.t("k")?, &c.t("w_q")?, &c.t("w_k")?, &c.t("v")?).learner())
            }),
        DAY.exercise("bilinear_scores", "bilinear (Luong general) scores")
            .pace(1, 10)
            .function("bilinear_scores")
            .check("vs torch (F.bilinear on every pair)", |ctx| {
                FX.vs_torch(ctx, "bilinear_scores", SUMS, |c| at::bilinear_scores(&c.t("q")?, &c.t("k")?, &c.t("w")?).learner())
            }),
        DAY.exercise("split_heads", "heads as a batch axis")
            .pace(1, 10)
            .function("split_heads")
            .check("vs torch (x.view(b, t, h, d).transpose(1, 2))", |ctx| {
                FX.vs_torch(ctx, "split_heads", Tol::EXACT, |c| at::split_heads(&c.t("x")?, c.n("heads")?).learner())
            })
            .check("merge_heads(split_heads(x)) == x", |ctx| {
                for c in FX.cases(ctx, "split_heads")? {
                    let x = c.t("x")?;
                    exact(&c.label(), &at::merge_heads(&at::split_heads(&x, c.n("heads")?).learner()?).learner()?, &x)?;
                }
                Ok(())
            }),
        DAY.exercise("multi_head_attention", "multi-head self-attention (nn.MultiheadAttention)")
            .pace(3, 50)
            .function("multi_head_attention")
            .forbid(NO_SDPA)
            .check("vs torch (nn.MultiheadAttention, batch_first; padding and causal cases)", |ctx| {
                FX.vs_torch(ctx, "multi_head_attention", SUMS, |c| {
                    let mask = c.opt("mask")?;
                    at::multi_head_attention(
                        &c.t("x")?,
                        &c.t("in_proj_weight")?,
                        &c.t("in_proj_bias")?,
                        &c.t("out_proj_weight")?,
                        &c.t("out_proj_bias")?,
                        c.n("heads")?,
                        mask.as_ref(),
                        c.n("causal")? == 1,
                    )
                    .learner()
                })
            }),
        DAY.exercise("sinusoidal_positions", "sinusoidal positional encoding").pace(2, 20).function("sinusoidal_positions").check(
            "vs torch (the formula of Vaswani et al.); picture: target/candlecamp/week2/sinusoidal_positions.png",
            |ctx| {
                let mut last = None;
                for c in FX.cases(ctx, "sinusoidal_positions")? {
                    let got = at::sinusoidal_positions(c.n("t")?, c.n("d")?, &ctx.device).learner()?;
                    close(&c.label(), &got, &c.out()?, SIN)?;
                    if c.n("t")? == 50 {
                        last = Some(got);
                    }
                }
                // positions down, features across: the wavelengths grow to the right
                match last {
                    Some(pe) => super::picture(ctx, "sinusoidal_positions", &pe, 6),
                    None => Ok(()),
                }
            },
        ),
    ]
}
