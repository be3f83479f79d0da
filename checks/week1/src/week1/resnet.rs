//! Checks for week1 day "resnet": a torchvision ResNet (BasicBlock, [2, 2, 2, 2], reduced width)
//! loaded from its state_dict, against torchvision's outputs (fixtures/gen/week1_modules.py).

use crate::check::{ensure, Ctx, Fail, Learner};
use crate::compare::{close, Tol};
use crate::registry::{Day, Exercise};
use crate::subject::week1::modules::{Layer, Linear};
use crate::subject::week1::resnet as rn;
use candle_core::{DType, Tensor};

const STATE: &str = "week1/resnet.safetensors";
const IO: &str = "week1/resnet_io.safetensors";
const WIDTHS: [usize; 4] = [16, 32, 64, 128];

/// Twenty convolutions deep, each a sum of up to 1,152 products, with BatchNorms in between:
/// f32 rounding differs from PyTorch's kernels at every layer; observed ≤ 3.7e-6 on logits of
/// size ~1 and 6.7e-6 on block outputs of size ~10. A wrong stride, padding, missing ReLU or shortcut changes logits by O(0.1).
const DEEP: Tol = Tol { abs: 1e-4, rel: 1e-4 };

fn load(ctx: &Ctx) -> Result<rn::ResNet, Fail> {
    rn::ResNet::load(ctx.fixture(STATE)?.var_builder()?, WIDTHS, 10).learner()
}

const DAY: Day = Day::new("week1", "resnet", "src/resnet.rs");

pub fn exercises() -> Vec<Exercise> {
    vec![
        DAY.exercise("basic_block", "a residual block")
            .pace(3, 90)
            .check("layer2.0 (with downsample) vs torchvision, eval", |ctx| {
                let vb = ctx.fixture(STATE)?.var_builder()?;
                let io = ctx.fixture(IO)?;
                let block = rn::BasicBlock::load(vb.pp("layer2.0"), 16, 32, 2).learner()?;
                close("layer2.0(x)", &block.forward(&io.get("block_in")?, false).learner()?, &io.get("block_out")?, DEEP)
            })
            .check("layer1.0 (identity shortcut) has no downsample", |ctx| {
                let vb = ctx.fixture(STATE)?.var_builder()?;
                let block = rn::BasicBlock::load(vb.pp("layer1.0"), 16, 16, 1).learner()?;
                ensure(block.downsample.is_none(), || "layer1.0 keeps the shape (16 → 16, stride 1): its shortcut is the identity".into())
            })
            .check("a downsample exactly when the stride or the width changes (either one alone too)", |ctx| {
                // ResNet-18 only changes both at once; the rule is "stride ≠ 1 or in ≠ out".
                for (inputs, outputs, stride, want) in [(4, 8, 1, true), (4, 4, 2, true), (4, 8, 2, true), (4, 4, 1, false)] {
                    let vm = candle_nn::VarMap::new();
                    let vb = candle_nn::VarBuilder::from_varmap(&vm, candle_core::DType::F32, &ctx.device);
                    let block = rn::BasicBlock::load(vb, inputs, outputs, stride).learner()?;
                    ensure(block.downsample.is_some() == want, || {
                        format!("BasicBlock({inputs} → {outputs}, stride {stride}): downsample {}, expected {}", block.downsample.is_some(), want)
                    })?;
                }
                Ok(())
            }),
        DAY.exercise("resnet", "ResNet-18 (reduced width) vs torchvision, eval")
            .pace(3, 90)
            .timeout(std::time::Duration::from_secs(30))
            .check("logits vs torchvision (eval mode)", |ctx| {
                let io = ctx.fixture(IO)?;
                let x = io.get("x")?;
                let model = load(ctx)?;
                let Err(Fail::Mismatch(whole)) = close("resnet(x) logits, eval", &model.forward(&x, false).learner()?, &io.get("logits_eval")?, DEEP) else {
                    return Ok(());
                };
                // Where it first goes wrong: your model cut after the stem (k = 0) or after stage
                // k, with an identity `fc`, so that your forward returns the average-pooled
                // features there, against torchvision's. A forward that cannot run cut short
                // (one that indexes four stages, say) gets the whole model's report alone.
                for k in 0..WIDTHS.len() {
                    let m = load(ctx)?;
                    let width = if k == 0 { WIDTHS[0] } else { WIDTHS[k - 1] };
                    let fc = Linear {
                        weight: Tensor::eye(width, DType::F32, &ctx.device).grader()?,
                        bias: Some(Tensor::zeros(width, DType::F32, &ctx.device).grader()?),
                    };
                    let cut = rn::ResNet { conv1: m.conv1, bn1: m.bn1, layers: m.layers.into_iter().take(k).collect(), fc };
                    let Ok(Ok(got)) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| cut.forward(&x, false))) else { break };
                    let what = if k == 0 {
                        "the stem (conv1, bn1, ReLU, max-pool)".to_string()
                    } else {
                        format!("layer{k} (everything before it matches torchvision's)")
                    };
                    if let Err(Fail::Mismatch(first)) =
                        close(&format!("first difference at the output of {what}, average-pooled"), &got, &io.get(&format!("depth.{k}.features"))?, DEEP)
                    {
                        return Err(Fail::Mismatch(format!("{first}\n{whole}")));
                    }
                }
                Err(Fail::Mismatch(whole))
            })
            .check("every BatchNorm has torchvision's eps 1e-5 and momentum 0.1 (the module doc)", |ctx| {
                // In eval mode with the fixture's running variances (≈ 1) a different eps moves
                // the logits by less than any tolerance: read the layers' settings instead.
                let model = load(ctx)?;
                let mut bns = vec![("bn1".to_string(), &model.bn1)];
                for (l, layer) in model.layers.iter().enumerate() {
                    for (k, b) in layer.iter().enumerate() {
                        bns.push((format!("layer{}.{k}.bn1", l + 1), &b.bn1));
                        bns.push((format!("layer{}.{k}.bn2", l + 1), &b.bn2));
                        if let Some((_, d)) = &b.downsample {
                            bns.push((format!("layer{}.{k}.downsample.1", l + 1), d));
                        }
                    }
                }
                for (name, bn) in bns {
                    ensure(bn.eps == 1e-5 && bn.momentum == 0.1, || {
                        format!("{name}: eps {} and momentum {}, torchvision's BatchNorm2d uses 1e-5 and 0.1", bn.eps, bn.momentum)
                    })?;
                }
                Ok(())
            })
            .check("parameter and buffer names are torchvision's", |ctx| {
                let model = load(ctx)?;
                let state = ctx.fixture(STATE)?;
                let mut ours: Vec<String> = model.parameters("").into_iter().chain(model.buffers("")).map(|(n, _)| n).collect();
                ours.sort();
                let theirs: Vec<String> = state.names_with_prefix("").into_iter().filter(|n| !n.ends_with("num_batches_tracked")).collect();
                let missing: Vec<&String> = theirs.iter().filter(|n| !ours.contains(n)).collect();
                let extra: Vec<&String> = ours.iter().filter(|n| !theirs.contains(n)).collect();
                ensure(missing.is_empty() && extra.is_empty(), || {
                    format!("names missing from parameters()+buffers(): {missing:?}; names torchvision does not have: {extra:?}")
                })
            }),
        DAY.exercise("resnet_train", "ResNet-18 in training mode: batch statistics").pace(1, 10).timeout(std::time::Duration::from_secs(30)).check(
            "logits and running statistics vs torchvision (train mode)",
            |ctx| {
                let model = load(ctx)?;
                let io = ctx.fixture(IO)?;
                close("resnet(x) logits, train", &model.forward(&io.get("x")?, true).learner()?, &io.get("logits_train")?, DEEP)?;
                for (name, t) in model.buffers("") {
                    close(&format!("{name} after one training forward"), &t, &io.get(&format!("after_train.{name}"))?, DEEP)?;
                }
                Ok(())
            },
        ),
    ]
}
