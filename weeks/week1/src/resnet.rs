//! # ResNet
//!
//! ResNet-18 (He et al., 2015) assembled from your day-"modules" layers, loading a torchvision
//! `state_dict` (saved as safetensors) and matching torchvision's logits.
//!
//! torchvision's names: `conv1`, `bn1`, then `layer1` … `layer4`, each two `BasicBlock`s
//! (`layer2.0`, `layer2.1`, …) with `conv1`, `bn1`, `conv2`, `bn2` and, where the block changes
//! the shape, `downsample.0` (a 1×1 convolution, no bias) and `downsample.1` (a BatchNorm), then
//! `fc`. Every convolution has no bias; BatchNorms use `eps = 1e-5`, `momentum = 0.1`.
#![allow(unused_variables, unused_imports, dead_code)] // remove once you have solved a few

use super::modules::{AdaptiveAvgPool2d, BatchNorm2d, Conv2d, Layer, Linear, MaxPool2d, Relu};
use candle_core::{Result, Tensor};
use candle_nn::VarBuilder;

/// ## basic_block
/// torchvision's `BasicBlock(in, out, stride)`:
/// `relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))` where `conv1` is 3×3 with `stride` and
/// padding 1, `conv2` is 3×3 with stride 1 and padding 1, and the shortcut is `x` itself unless
/// `stride ≠ 1` or `in ≠ out`, when it is `downsample.1(downsample.0(x))` (a 1×1 convolution
/// with `stride`, then a BatchNorm) so that the shapes agree.
pub struct BasicBlock {
    pub conv1: Conv2d,
    pub bn1: BatchNorm2d,
    pub conv2: Conv2d,
    pub bn2: BatchNorm2d,
    pub downsample: Option<(Conv2d, BatchNorm2d)>,
}

impl BasicBlock {
    pub fn load(vb: VarBuilder, inputs: usize, outputs: usize, stride: usize) -> Result<BasicBlock> {
        todo!()
    }
}

impl Layer for BasicBlock {
    fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        todo!()
    }
    fn parameters(&self, prefix: &str) -> Vec<(String, Tensor)> {
        todo!()
    }
    fn buffers(&self, prefix: &str) -> Vec<(String, Tensor)> {
        todo!()
    }
}

/// ## resnet
/// torchvision's ResNet with `BasicBlock` and `[2, 2, 2, 2]` blocks (ResNet-18) at channel
/// widths `widths` (ResNet-18 proper: `[64, 128, 256, 512]`; the check uses a quarter of that):
/// `conv1` (7×7, stride 2, padding 3, 3 → widths[0]), `bn1`, ReLU, max-pool (3×3, stride 2,
/// padding 1), `layer1` … `layer4` (the first block of layers 2–4 has stride 2 and a
/// downsample), global average pooling to 1×1, flatten, `fc` (widths[3] → classes). Input
/// `[n, 3, h, w]`, output logits `[n, classes]`.
pub struct ResNet {
    pub conv1: Conv2d,
    pub bn1: BatchNorm2d,
    pub layers: Vec<Vec<BasicBlock>>,
    pub fc: Linear,
}

impl ResNet {
    pub fn load(vb: VarBuilder, widths: [usize; 4], classes: usize) -> Result<ResNet> {
        todo!()
    }
}

impl Layer for ResNet {
    fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        todo!()
    }
    fn parameters(&self, prefix: &str) -> Vec<(String, Tensor)> {
        todo!()
    }
    fn buffers(&self, prefix: &str) -> Vec<(String, Tensor)> {
        todo!()
    }
}
