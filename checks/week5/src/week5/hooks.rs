//! Checks for week5 day "hooks_and_patching": the hooked forward pass of a 2-layer
//! attention-only transformer against torch forward hooks on the same weights
//! (fixtures/gen/week5_hooks.py): every recorded activation, two edits, direct logit
//! attribution, previous-token and induction scores, residual-stream patching and head
//! ablations; as independent properties, the direct attributions adding up to the logits, and
//! direct and total effects being equal for the last layer's heads (nothing downstream).

use crate::cases::FixtureFile;
use crate::check::{ensure, CheckResult, Ctx, Fail, Learner};
use crate::compare::{close, to_f64, Tol};
use crate::registry::{Day, Exercise};
use crate::subject::week5::hooks as hk;
use candle_core::{DType, Tensor, D};
use std::collections::BTreeMap;

const FX: FixtureFile = FixtureFile::new("week5/hooks.safetensors");

const DAY: Day = Day::new("week5", "hooks_and_patching", "src/hooks.rs");

/// Activations and logits of order 10 after two layers of f32 matmuls summed in another order
/// than torch's.
const ACT: Tol = Tol { abs: 1e-4, rel: 1e-4 };

const HALF: usize = 12;

pub(crate) fn model(ctx: &Ctx) -> Result<hk::AttnOnly, Fail> {
    load_model(ctx, FX)
}

/// An attention-only transformer from the weights (by their names, not the activations stored
/// beside them) of a fixture file: this day's, or the names language model's.
pub(crate) fn load_model(ctx: &Ctx, file: FixtureFile) -> Result<hk::AttnOnly, Fail> {
    let fx = file.open(ctx)?;
    let mut weights = BTreeMap::new();
    let mut names = vec!["W_E".to_string(), "W_pos".to_string(), "W_U".to_string()];
    for l in 0..2 {
        for n in ["W_Q", "W_K", "W_V", "W_O"] {
            names.push(format!("blocks.{l}.{n}"));
        }
    }
    for n in names {
        weights.insert(n.clone(), fx.get(&n)?);
    }
    Ok(hk::AttnOnly { weights })
}

/// The activation at hook point `point` of a recording run of the learner's forward pass.
pub(crate) fn recorded(m: &hk::AttnOnly, tokens: &Tensor, point: &str) -> Result<Tensor, Fail> {
    let mut rec = hk::Hooks::recording();
    m.run(tokens, &mut rec).learner()?;
    rec.cache.remove(point).ok_or_else(|| Fail::Mismatch(format!("your run recorded nothing at {point}: hand it to hooks.point")))
}

fn tokens(ctx: &Ctx, name: &str) -> Result<Tensor, Fail> {
    FX.open(ctx)?.get(name)?.to_dtype(DType::U32).grader()
}

fn points() -> Vec<String> {
    let mut v = vec!["embed".to_string(), "pos".to_string()];
    for l in 0..2 {
        for n in ["resid_pre", "attn.pattern", "attn.head_out"] {
            v.push(format!("blocks.{l}.{n}"));
        }
    }
    v.push("resid_final".into());
    v
}

fn record(ctx: &Ctx) -> Result<(hk::AttnOnly, Tensor, Tensor, BTreeMap<String, Tensor>), Fail> {
    let (m, tok) = (model(ctx)?, tokens(ctx, "tokens")?);
    let mut hooks = hk::Hooks::recording();
    let logits = m.run(&tok, &mut hooks).learner()?;
    Ok((m, tok, logits, hooks.cache))
}

fn run_with_hooks(ctx: &Ctx) -> CheckResult {
    let fx = FX.open(ctx)?;
    let (m, tok, logits, cache) = record(ctx)?;
    // The hook points in the order the forward pass reaches them, before the logits: the first
    // one that differs is where the forward pass goes wrong.
    for name in points() {
        let got = cache.get(&name).ok_or_else(|| Fail::Mismatch(format!("nothing was recorded at the hook point {name}: hand it to hooks.point")))?;
        close(&format!("first difference at {name} (the forward pass before it matches torch's hooks)"), got, &fx.get(&name)?, ACT)?;
    }
    close("logits of 8 repeated sequences vs torch", &logits, &fx.get("logits")?, ACT)?;
    let plain = m.run(&tok, &mut hk::Hooks::none()).learner()?;
    close("logits without hooks vs with recording hooks", &plain, &logits, Tol::EXACT)?;
    // Edits: the forward pass must continue with what the hook returns.
    let keep = Tensor::from_vec(vec![1f32, 1.0, 0.0, 1.0], (1, 4, 1, 1), &ctx.device).grader()?;
    let mut zero = hk::Hooks::none().edit("blocks.1.attn.head_out", move |x| x.broadcast_mul(&keep));
    close("logits with head 1.2's output zeroed by a hook vs torch", &m.run(&tok, &mut zero).learner()?, &fx.get("edited.zero_head.logits")?, ACT)?;
    let t = 25;
    let rows: Vec<f32> = (0..t * t).map(|k| if k % t <= k / t { 1.0 / (k / t + 1) as f32 } else { 0.0 }).collect();
    let uniform = Tensor::from_vec(rows, (1, 1, t, t), &ctx.device).grader()?;
    let mut uni = hk::Hooks::none().edit("blocks.0.attn.pattern", move |x| uniform.broadcast_as(x.shape())?.contiguous());
    close("logits with layer 0's pattern made uniform by a hook vs torch", &m.run(&tok, &mut uni).learner()?, &fx.get("edited.uniform.logits")?, ACT)
}

fn dla(ctx: &Ctx) -> CheckResult {
    let fx = FX.open(ctx)?;
    let (m, tok, logits, cache) = record(ctx)?;
    let got = hk::direct_logit_attribution(&m, &cache, &tok).learner()?;
    let dla_want = fx.get("dla")?;
    // Independent: the 10 components add up to the logit of the next token, as the model computed it.
    let next = tok.narrow(1, 1, 24).grader()?.unsqueeze(2).grader()?;
    let want = logits.narrow(1, 0, 24).grader()?.contiguous().grader()?.gather(&next.contiguous().grader()?, 2).grader()?.squeeze(2).grader()?;
    crate::check::parts(vec![
        ("vs torch", Box::new(|| close("direct logit attribution [8, 10, 24] vs torch", &got, &dla_want, ACT))),
        (
            "completeness",
            Box::new(|| {
                ensure(got.dims() == [8, 10, 24], || format!("shape {:?}, expected [8, 10, 24]", got.dims()))?;
                close("the components summed vs the logit of the actual next token", &got.sum(1).grader()?, &want, ACT)
            }),
        ),
    ])?;
    // Where the second half is predicted, layer 1 carries it: its heads' share of the mean logit.
    let g = to_f64(&got.narrow(2, HALF + 1, 11).grader()?.mean(2).grader()?.mean(0).grader()?)?;
    let layer1: f64 = g[6..10].iter().sum();
    ctx.note(format!(
        "mean direct attribution over positions 13..23 (predicting repeated tokens): embed {:.2}, pos {:.2}, layer-0 heads {:.2?}, layer-1 heads {:.2?} (sum {:.2})",
        g[0],
        g[1],
        &g[2..6],
        &g[6..10],
        layer1
    ));
    Ok(())
}

fn argmax2(t: &Tensor) -> Result<(usize, usize), Fail> {
    let v = to_f64(t)?;
    let i = (0..v.len()).fold(0, |b, i| if v[i] > v[b] { i } else { b });
    Ok((i / 4, i % 4))
}

fn scores(ctx: &Ctx) -> CheckResult {
    let fx = FX.open(ctx)?;
    let (_, _, _, cache) = record(ctx)?;
    let (prev, ind) = hk::head_scores(&cache, HALF).learner()?;
    close("previous-token scores [2, 4] vs torch", &prev, &fx.get("score.prev")?, Tol::new(1e-5, 1e-4))?;
    close("induction scores [2, 4] vs torch", &ind, &fx.get("score.induction")?, Tol::new(1e-5, 1e-4))?;
    // The same heads as the fixture's analysis (margins: 0.18 between the two best previous-token
    // heads, 0.02 between the two best induction heads, far above 1e-4).
    let (pw, iw) = (argmax2(&fx.get("score.prev")?)?, argmax2(&fx.get("score.induction")?)?);
    let (pg, ig) = (argmax2(&prev)?, argmax2(&ind)?);
    ensure(pg == pw && ig == iw, || format!("strongest previous-token head {pg:?} and induction head {ig:?}; the fixture finds {pw:?} and {iw:?}"))?;
    // Independent: induction needs a previous-token head before it, so the first sits in layer 0
    // and the second in layer 1.
    ensure(pg.0 == 0 && ig.0 == 1, || format!("the previous-token head {pg:?} should be in layer 0 and the induction head {ig:?} in layer 1"))?;
    let png = ctx.artefact("week5/induction_pattern.png")?;
    let pat = cache.get("blocks.1.attn.pattern").ok_or_else(|| Fail::Mismatch("no layer-1 pattern".into()))?;
    crate::picture::heatmap(&png, &pat.get(0).grader()?.get(ig.1).grader()?, 12)?;
    ctx.note(format!(
        "strongest previous-token head {}.{} ({:.2}), induction head {}.{} ({:.2}); its pattern on the first sequence: {}",
        pg.0,
        pg.1,
        to_f64(&prev)?[pg.0 * 4 + pg.1],
        ig.0,
        ig.1,
        to_f64(&ind)?[ig.0 * 4 + ig.1],
        png.display()
    ));
    Ok(())
}

fn patching(ctx: &Ctx) -> CheckResult {
    let fx = FX.open(ctx)?;
    let m = model(ctx)?;
    let (clean, corrupt) = (tokens(ctx, "patch.clean")?, tokens(ctx, "patch.corrupt")?);
    let right = clean.narrow(1, 24, 1).grader()?.contiguous().grader()?;
    let wrong = corrupt.narrow(1, 12, 1).grader()?.contiguous().grader()?;
    // The grader's metric: logit[A₁₁] − logit[B] at position 23, averaged over the batch.
    let metric = move |logits: &Tensor| -> candle_core::Result<f64> {
        let at = logits.narrow(1, 23, 1)?.squeeze(1)?.contiguous()?;
        (at.gather(&right, 1)? - at.gather(&wrong, 1)?)?.mean_all()?.to_dtype(DType::F64)?.to_scalar::<f64>()
    };
    let got = hk::patch_residual(&m, &clean, &corrupt, &metric).learner()?;
    // Normalised by a difference of 23 logits.
    close("patching [3, 25] (resid_pre 0, resid_pre 1, resid_final × position) vs torch", &got, &fx.get("patch.result")?, Tol::new(2e-4, 1e-4))?;
    let png = ctx.artefact("week5/patching.png")?;
    crate::picture::heatmap(&png, &got, 24)?;
    let g = to_f64(&got)?;
    ctx.note(format!(
        "restored by one activation: position 12 entering layer 0 {:.2}, entering layer 1 {:.2}, position 13 entering layer 1 {:.2}, position 23 at the end {:.2}; picture: {}",
        g[12],
        g[25 + 12],
        g[25 + 13],
        g[50 + 23],
        png.display()
    ));
    Ok(())
}

fn ablation(ctx: &Ctx) -> CheckResult {
    let fx = FX.open(ctx)?;
    let m = model(ctx)?;
    let tok = tokens(ctx, "tokens")?;
    // The grader's induction metric: the next token's logit minus the mean logit, positions 13..23.
    let next = tok.narrow(1, HALF + 2, 11).grader()?.unsqueeze(2).grader()?.contiguous().grader()?;
    let metric = move |logits: &Tensor| -> candle_core::Result<f64> {
        let lg = logits.narrow(1, HALF + 1, 11)?.contiguous()?;
        let picked = lg.gather(&next, 2)?.squeeze(2)?;
        (picked - lg.mean(D::Minus1)?)?.mean_all()?.to_dtype(DType::F64)?.to_scalar::<f64>()
    };
    let base = metric(&m.run(&tok, &mut hk::Hooks::none()).learner()?).learner()?;
    let want_m = fx.f64("metric")?;
    ensure((base - want_m).abs() < 1e-3, || format!("(the grader's metric on your logits {base:.4} vs torch's {want_m:.4})"))?;
    let (direct, total) = hk::ablation_effects(&m, &tok, &metric).learner()?;
    close("direct effects [2, 4] vs torch", &direct, &fx.get("ablate.direct")?, Tol::new(1e-4, 1e-4))?;
    close("total effects [2, 4] vs torch", &total, &fx.get("ablate.total")?, Tol::new(1e-4, 1e-4))?;
    // Independent: nothing follows layer 1, so its heads' total and direct effects are equal.
    close("layer 1: total effects vs direct effects (nothing downstream)", &total.get(1).grader()?, &direct.get(1).grader()?, Tol::new(1e-4, 1e-4))?;
    let (d, t) = (to_f64(&direct)?, to_f64(&total)?);
    ctx.note(format!(
        "metric {base:.2}; zeroing a layer-0 head: direct {:.2?}, total {:.2?} (layer 1 loses the previous-token input it composes with); a layer-1 head: {:.2?}",
        &d[..4],
        &t[..4],
        &t[4..]
    ));
    Ok(())
}

pub fn exercises() -> Vec<Exercise> {
    vec![
        DAY.exercise("run_with_hooks", "a forward pass with named hook points")
            .pace(2, 40)
            .function("run")
            .check("logits, every hook point's activation and two edits vs torch forward hooks", run_with_hooks),
        DAY.exercise("direct_logit_attribution", "each head's share of the logits")
            .pace(2, 25)
            .function("direct_logit_attribution")
            .check("vs torch; the components add up to the logits", dla),
        DAY.exercise("head_scores", "previous-token and induction heads")
            .pace(1, 20)
            .function("head_scores")
            .check("scores vs torch; the same heads found, in the right layers", scores),
        DAY.exercise("patch_residual", "activation patching over the residual stream")
            .pace(2, 30)
            .function("patch_residual")
            .check("75 patched runs vs torch, with the picture", patching),
        DAY.exercise("ablation_effects", "direct and total effects of ablating each head")
            .pace(2, 25)
            .function("ablation_effects")
            .check("vs torch; direct equals total in the last layer", ablation),
    ]
}
