//! Week 1 benchmarks (`grader bench week1`; the PyTorch side is bench/week1.py): the day-
//! "convolutions" conv2d (im2col + one matmul) against the same gathers and matmul in PyTorch,
//! candle's conv2d kernel (a baseline: the reference no longer calls it) and the reference's
//! `fastops::conv2d` against `F.conv2d` (forward, and forward with backward), the ResNet-18
//! forward at full width against torchvision's, and one training step of the MNIST CNN against
//! the same network in PyTorch.

use crate::bench::{Bench, Iteration};
use crate::subject::week1::modules::Layer;
use crate::subject::week1::{convolutions as cv, resnet as rn, training as tr};
use candle_core::{DType, Device, Result, Tensor};
use rand::SeedableRng;

fn randn(shape: &[usize], dev: &Device) -> Result<Tensor> {
    Tensor::randn(0f32, 1.0, shape, dev)
}

/// A ResNet-18 with random weights at full width (`64 … 512`), 1000 classes, like
/// `torchvision.models.resnet18()`.
fn resnet18(dev: &Device) -> Result<rn::ResNet> {
    let varmap = candle_nn::VarMap::new();
    let vb = candle_nn::VarBuilder::from_varmap(&varmap, DType::F32, dev);
    rn::ResNet::load(vb, [64, 128, 256, 512], 1000)
}

fn resnet_forward(dev: &Device, batch: usize) -> Result<Iteration> {
    let model = resnet18(dev)?;
    let x = randn(&[batch, 3, 224, 224], dev)?;
    Ok(Box::new(move || model.forward(&x, false).map(drop)))
}

/// `sum(conv2d(x, w) · up)` and its gradients with respect to `x` and `w`.
fn conv_backward(dev: &Device, fast: bool) -> Result<Iteration> {
    let x = candle_core::Var::from_tensor(&randn(&[8, 64, 56, 56], dev)?)?;
    let w = candle_core::Var::from_tensor(&randn(&[64, 64, 3, 3], dev)?)?;
    let up = randn(&[8, 64, 56, 56], dev)?;
    Ok(Box::new(move || {
        let y = if fast { fastops::conv2d(&x, &w, 1, 1)? } else { x.conv2d(&w, 1, 1, 1, 1)? };
        (y * &up)?.sum_all()?.backward().map(drop)
    }))
}

pub fn benches() -> Vec<Bench> {
    vec![
        Bench {
            id: "week1.conv2d.im2col",
            about: "day-convolutions conv2d (im2col + matmul), x [8, 64, 56, 56], 64 → 64, 3×3, padding 1; PyTorch runs the same gathers and matmul",
            setup: |dev| {
                let (x, w) = (randn(&[8, 64, 56, 56], dev)?, randn(&[64, 64, 3, 3], dev)?);
                Ok(Box::new(move || cv::conv2d(&x, &w, None, (1, 1), (1, 1), (1, 1)).map(drop)))
            },
        },
        Bench {
            id: "week1.conv2d.candle",
            about: "BASELINE candle's Tensor::conv2d kernel, same shapes",
            setup: |dev| {
                let (x, w) = (randn(&[8, 64, 56, 56], dev)?, randn(&[64, 64, 3, 3], dev)?);
                Ok(Box::new(move || x.conv2d(&w, 1, 1, 1, 1).map(drop)))
            },
        },
        Bench {
            id: "week1.conv2d.fastops",
            about: "LIBRARY fastops::conv2d (at stride 1 one gemm per kernel row over the image channels-last, no im2col), same shapes",
            setup: |dev| {
                let (x, w) = (randn(&[8, 64, 56, 56], dev)?, randn(&[64, 64, 3, 3], dev)?);
                Ok(Box::new(move || fastops::conv2d(&x, &w, 1, 1).map(drop)))
            },
        },
        Bench {
            id: "week1.conv2d.backward_candle",
            about: "BASELINE candle's conv2d, forward and backward (input and weight gradients), same shapes",
            setup: |dev| conv_backward(dev, false),
        },
        Bench {
            id: "week1.conv2d.backward_fastops",
            about: "LIBRARY fastops::conv2d, forward and backward, same shapes",
            setup: |dev| conv_backward(dev, true),
        },
        Bench {
            id: "week1.resnet18.forward_b1",
            about: "ResNet-18 (full width) forward, eval, [1, 3, 224, 224] (library: fastops::conv2d, max_pool2d)",
            setup: |dev| resnet_forward(dev, 1),
        },
        Bench {
            id: "week1.resnet18.forward_b8",
            about: "ResNet-18 (full width) forward, eval, [8, 3, 224, 224] (library: fastops::conv2d, max_pool2d)",
            setup: |dev| resnet_forward(dev, 8),
        },
        Bench {
            id: "week1.cnn.train_step",
            about: "one SGD step of the MNIST CNN (forward, backward, update), batch 32 (library: fastops::conv2d, max_pool2d)",
            setup: |dev| {
                let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
                let model = tr::SimpleCnn::new(&mut rng, dev)?;
                let images = Tensor::rand(0f32, 1.0, (256, 784), dev)?;
                let labels = Tensor::from_vec((0..256u32).map(|i| i % 10).collect::<Vec<_>>(), 256, dev)?;
                Ok(Box::new(move || tr::train_cnn(&model, &images, &labels, 1, 32, 0.01, &mut rng).map(drop)))
            },
        },
    ]
}
