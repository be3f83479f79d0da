//! # ResNet
//!
//! ResNet-18 (He et al., 2015) assembled from your day-"modules" layers, loading a torchvision
//! `state_dict` (saved as safetensors) and matching torchvision's logits.
//!
//! torchvision's names: `conv1`, `bn1`, then `layer1` … `layer4`, each two `BasicBlock`s
//! (`layer2.0`, `layer2.1`, …) with `conv1`, `bn1`, `conv2`, `bn2` and, where the block changes
//! the shape, `downsample.0` (a 1×1 convolution, no bias) and `downsample.1` (a BatchNorm), then
//! `fc`. Every convolution has no bias; BatchNorms use `eps = 1e-5`, `momentum = 0.1`.
// STUB: #![allow(unused_variables, unused_imports, dead_code)] // remove once you have solved a few

use super::modules::{AdaptiveAvgPool2d, BatchNorm2d, Conv2d, Layer, Linear, MaxPool2d, Relu};
use candle_core::{Result, Tensor};
use candle_nn::VarBuilder;

/// ## basic_block
/// torchvision's `BasicBlock(in, out, stride)`:
/// `relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))` where `conv1` is 3×3 with `stride` and
/// padding 1, `conv2` is 3×3 with stride 1 and padding 1, and the shortcut is `x` itself unless
/// `stride ≠ 1` or `in ≠ out`, when it is `downsample.1(downsample.0(x))` (a 1×1 convolution
/// with `stride`, then a BatchNorm) so that the shapes agree.
// HINT: Two 3 × 3 convolutions, each followed by a BatchNorm, with a ReLU between them and another after adding the shortcut. The shortcut needs its own 1 × 1 convolution and BatchNorm exactly when the stride or the width changes; otherwise it is the input itself.
// HINT: load: conv1 = Conv2d::load(vb.pp("conv1"), in, out, 3, stride, 1, false), bn1 = BatchNorm2d::load(vb.pp("bn1"), out, 0.1, 1e-5), conv2 (out → out, 3, stride 1, padding 1, no bias), bn2; when stride ≠ 1 or in ≠ out, downsample.0 = a Conv2d (in → out, kernel 1, stride, padding 0, no bias) and downsample.1 = a BatchNorm2d. forward: relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut), passing train to every layer. parameters and buffers: the children's, prefixed conv1., bn1., conv2., bn2., downsample.0., downsample.1.
// HINT: let shortcut = match &self.downsample { Some((conv, bn)) => bn.forward(&conv.forward(x, train)?, train)?, None => x.clone() }; Relu.forward(&(h + shortcut)?, train)
pub struct BasicBlock {
    pub conv1: Conv2d,
    pub bn1: BatchNorm2d,
    pub conv2: Conv2d,
    pub bn2: BatchNorm2d,
    pub downsample: Option<(Conv2d, BatchNorm2d)>,
}

impl BasicBlock {
    pub fn load(vb: VarBuilder, inputs: usize, outputs: usize, stride: usize) -> Result<BasicBlock> {
        // BEGIN SOLUTION
        let bn = |name: &str| BatchNorm2d::load(vb.pp(name), outputs, 0.1, 1e-5);
        let downsample = if stride != 1 || inputs != outputs {
            Some((Conv2d::load(vb.pp("downsample.0"), inputs, outputs, 1, stride, 0, false)?, bn("downsample.1")?))
        } else {
            None
        };
        Ok(BasicBlock {
            conv1: Conv2d::load(vb.pp("conv1"), inputs, outputs, 3, stride, 1, false)?,
            bn1: bn("bn1")?,
            conv2: Conv2d::load(vb.pp("conv2"), outputs, outputs, 3, 1, 1, false)?,
            bn2: bn("bn2")?,
            downsample,
        })
        // END SOLUTION
    }
}

impl Layer for BasicBlock {
    fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        // BEGIN SOLUTION
        let h = Relu.forward(&self.bn1.forward(&self.conv1.forward(x, train)?, train)?, train)?;
        let h = self.bn2.forward(&self.conv2.forward(&h, train)?, train)?;
        let shortcut = match &self.downsample {
            Some((conv, bn)) => bn.forward(&conv.forward(x, train)?, train)?,
            None => x.clone(),
        };
        Relu.forward(&(h + shortcut)?, train)
        // END SOLUTION
    }
    fn parameters(&self, prefix: &str) -> Vec<(String, Tensor)> {
        // BEGIN SOLUTION
        let mut v = self.conv1.parameters(&format!("{prefix}conv1."));
        v.extend(self.bn1.parameters(&format!("{prefix}bn1.")));
        v.extend(self.conv2.parameters(&format!("{prefix}conv2.")));
        v.extend(self.bn2.parameters(&format!("{prefix}bn2.")));
        if let Some((c, b)) = &self.downsample {
            v.extend(c.parameters(&format!("{prefix}downsample.0.")));
            v.extend(b.parameters(&format!("{prefix}downsample.1.")));
        }
        v
        // END SOLUTION
    }
    fn buffers(&self, prefix: &str) -> Vec<(String, Tensor)> {
        // BEGIN SOLUTION
        let mut v = self.bn1.buffers(&format!("{prefix}bn1."));
        v.extend(self.bn2.buffers(&format!("{prefix}bn2.")));
        if let Some((_, b)) = &self.downsample {
            v.extend(b.buffers(&format!("{prefix}downsample.1.")));
        }
        v
        // END SOLUTION
    }
}

// HINT(resnet_train): In training mode every BatchNorm normalises with the batch's own statistics and updates its running ones: there is nothing new to write if the train flag reaches every layer, the shortcut's BatchNorm included.
// HINT(resnet_train): Check that every forward passes its train argument on (ResNet to its stem and to each block, BasicBlock to its convolutions, BatchNorms and downsample) rather than a fixed false, and that your BatchNorm2d's training branch normalises with the biased batch variance and puts the unbiased one into running_var, with momentum 0.1.
// HINT(resnet_train): forward(x, true) must reach every BatchNorm with train = true: self.bn1.forward(&self.conv1.forward(x, train)?, train)? and the same train for bn2 and downsample.1; a hard-coded false anywhere leaves that BatchNorm on its running statistics.
/// ## resnet
/// torchvision's ResNet with `BasicBlock` and `[2, 2, 2, 2]` blocks (ResNet-18) at channel
/// widths `widths` (ResNet-18 proper: `[64, 128, 256, 512]`; the check uses a quarter of that):
/// `conv1` (7×7, stride 2, padding 3, 3 → widths[0]), `bn1`, ReLU, max-pool (3×3, stride 2,
/// padding 1), `layer1` … `layer4` (the first block of layers 2–4 has stride 2 and a
/// downsample), global average pooling to 1×1, flatten, `fc` (widths[3] → classes). Input
/// `[n, 3, h, w]`, output logits `[n, classes]`.
// HINT: A stem (a large strided convolution, BatchNorm, ReLU, max-pool), four stages of two blocks, then global average pooling and a linear layer. Only the first block of stages 2 to 4 changes the stride and the width, and every name follows torchvision's.
// HINT: load: conv1 = Conv2d::load(vb.pp("conv1"), 3, widths[0], 7, 2, 3, false), bn1 = BatchNorm2d::load(vb.pp("bn1"), widths[0], 0.1, 1e-5); stage i under vb.pp(format!("layer{}", i + 1)) with blocks "0" (previous width → widths[i], stride 1 for the first stage, else 2) and "1" (widths[i] → widths[i], stride 1); fc = Linear::load(vb.pp("fc"), widths[3], classes, true). forward: conv1 → bn1 → relu → MaxPool2d { kernel 3, stride 2, padding 1 } → the blocks → AdaptiveAvgPool2d { size (1, 1) } → flatten_from(1) → fc. parameters and buffers prefixed conv1., bn1., layer{i}.{j}., fc.
// HINT: for (i, &w) in widths.iter().enumerate() { let stride = if i == 0 { 1 } else { 2 }; let vbl = vb.pp(format!("layer{}", i + 1)); layers.push(vec![BasicBlock::load(vbl.pp("0"), inputs, w, stride)?, BasicBlock::load(vbl.pp("1"), w, w, 1)?]); inputs = w; }
pub struct ResNet {
    pub conv1: Conv2d,
    pub bn1: BatchNorm2d,
    pub layers: Vec<Vec<BasicBlock>>,
    pub fc: Linear,
}

impl ResNet {
    pub fn load(vb: VarBuilder, widths: [usize; 4], classes: usize) -> Result<ResNet> {
        // BEGIN SOLUTION
        let mut layers = Vec::new();
        let mut inputs = widths[0];
        for (i, &w) in widths.iter().enumerate() {
            let stride = if i == 0 { 1 } else { 2 };
            let vbl = vb.pp(format!("layer{}", i + 1));
            layers.push(vec![BasicBlock::load(vbl.pp("0"), inputs, w, stride)?, BasicBlock::load(vbl.pp("1"), w, w, 1)?]);
            inputs = w;
        }
        Ok(ResNet {
            conv1: Conv2d::load(vb.pp("conv1"), 3, widths[0], 7, 2, 3, false)?,
            bn1: BatchNorm2d::load(vb.pp("bn1"), widths[0], 0.1, 1e-5)?,
            layers,
            fc: Linear::load(vb.pp("fc"), widths[3], classes, true)?,
        })
        // END SOLUTION
    }
}

impl Layer for ResNet {
    fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        // BEGIN SOLUTION
        let h = Relu.forward(&self.bn1.forward(&self.conv1.forward(x, train)?, train)?, train)?;
        let mut h = MaxPool2d { kernel: 3, stride: 2, padding: 1 }.forward(&h, train)?;
        for layer in &self.layers {
            for block in layer {
                h = block.forward(&h, train)?;
            }
        }
        let h = AdaptiveAvgPool2d { size: (1, 1) }.forward(&h, train)?.flatten_from(1)?;
        self.fc.forward(&h, train)
        // END SOLUTION
    }
    fn parameters(&self, prefix: &str) -> Vec<(String, Tensor)> {
        // BEGIN SOLUTION
        let mut v = self.conv1.parameters(&format!("{prefix}conv1."));
        v.extend(self.bn1.parameters(&format!("{prefix}bn1.")));
        for (i, layer) in self.layers.iter().enumerate() {
            for (j, b) in layer.iter().enumerate() {
                v.extend(b.parameters(&format!("{prefix}layer{}.{j}.", i + 1)));
            }
        }
        v.extend(self.fc.parameters(&format!("{prefix}fc.")));
        v
        // END SOLUTION
    }
    fn buffers(&self, prefix: &str) -> Vec<(String, Tensor)> {
        // BEGIN SOLUTION
        let mut v = self.bn1.buffers(&format!("{prefix}bn1."));
        for (i, layer) in self.layers.iter().enumerate() {
            for (j, b) in layer.iter().enumerate() {
                v.extend(b.buffers(&format!("{prefix}layer{}.{j}.", i + 1)));
            }
        }
        v
        // END SOLUTION
    }
}
