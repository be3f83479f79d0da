//! The course's ops library: operations a learner has already written once, as library calls
//! for the exercises that come after, the way nanoGPT calls `F.layer_norm` once you know what a
//! layer norm is. Each op computes what the candle operations it names compute, keeps a
//! backward pass, and on the CPU in f32 does it in one fused pass each way (on candle's worker
//! threads); off the CPU, or in another dtype, it runs those candle operations. The book's
//! "fastops" page lists each op, what it equals, and from which day a learner may use it; the
//! exercise that teaches a concept forbids the op that would do its whole job.
//!
//! - [`conv2d`]: `x.conv2d(w, padding, stride, 1, 1)`. candle's CPU convolution computes its
//!   input gradient with a direct loop, many times slower than its matrix products; this one
//!   runs every pass as gemm: a direct product per kernel row at stride 1 with many
//!   channels, im2col one cache-sized slab at a time otherwise.
//! - [`max_pool2d`]: torch's `F.max_pool2d`, padding with `−∞`, the gradient to each window's
//!   first maximum.
//! - [`add_channel_bias`]: a convolution's bias, `y + b.reshape((1, c, 1, 1))`.
//! - [`relu`] and [`gelu_erf`]: the activations, each one pass each way.
//! - [`layer_norm`], [`softmax_last_dim`] and [`cross_entropy`]: row-wise, one pass over each
//!   row instead of a chain of small operations (and, for a gain's or bias's gradient, one
//!   parallel sum of rows instead of candle's one-element-at-a-time reduction over broadcast
//!   dimensions).
//! - [`linear`] (`x · wᵀ + b`, torch's `F.linear`) and [`matmul_bias`] (`x · w + b`, GPT-2's
//!   `Conv1D`): the product in gemm on candle's worker threads, added into rows that start as
//!   the bias: one node in the graph instead of a product and a bias add.
//!
//! Every parallel loop runs on candle's own worker threads (see `par`).

mod conv;
mod fused;
mod matmul;
mod par;
mod pool;
pub use conv::conv2d;
pub use fused::{cross_entropy, gelu_erf, layer_norm, linear, record_softmaxes, relu, softmax_last_dim};
pub use matmul::matmul_bias;
pub use pool::{add_channel_bias, max_pool2d};

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{DType, Tensor};
    use candle_core::{Device, Var};
    use rand::{Rng, SeedableRng};

    fn randn(rng: &mut rand_chacha::ChaCha8Rng, shape: &[usize]) -> Tensor {
        let n = shape.iter().product();
        let v: Vec<f32> = (0..n).map(|_| rng.random_range(-1.0f32..1.0)).collect();
        Tensor::from_vec(v, shape, &Device::Cpu).unwrap()
    }

    fn max_diff(a: &Tensor, b: &Tensor) -> f32 {
        assert_eq!(a.dims(), b.dims());
        (a - b).unwrap().abs().unwrap().flatten_all().unwrap().max(0).unwrap().to_scalar::<f32>().unwrap()
    }

    /// Values and both gradients against candle's own conv2d (itself checked against torch by
    /// week 1's fixtures), over strides, paddings, kernels wider than tall, and odd sizes.
    #[test]
    fn conv2d_matches_candle_forward_and_backward() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
        let cases = [
            // (b, c, h, w, c_out, kh, kw, stride, padding)
            (2, 3, 9, 7, 4, 3, 3, 1, 1),
            (1, 1, 28, 28, 8, 3, 3, 2, 1),
            (3, 2, 8, 8, 5, 3, 3, 2, 0),
            (2, 4, 7, 10, 3, 2, 5, 1, 2),
            (1, 3, 11, 11, 2, 7, 7, 2, 3),
            (2, 5, 6, 6, 4, 1, 1, 1, 0),
            (2, 5, 6, 6, 4, 1, 1, 2, 0),
            (1, 2, 5, 5, 3, 5, 5, 3, 0),
            (1, 2, 3, 3, 2, 3, 3, 1, 2),
            // Several slabs (conv's SLAB is 2^20 floats of im2col): two images per slab, the
            // last slab shorter; strips of output rows within one image, with stride 2.
            (5, 16, 50, 50, 3, 3, 3, 1, 1),
            (2, 64, 61, 61, 2, 5, 5, 2, 2),
            (1, 64, 60, 60, 2, 5, 5, 1, 2),
            // The forward pass at stride 1 without im2col (at least 32 channels and 512 output
            // positions): a 3×3 kernel, and a kernel wider than tall with padding past half the
            // kernel (its gradients through im2col: few output channels, a kernel not square).
            (2, 32, 48, 50, 3, 3, 3, 1, 1),
            (1, 40, 50, 47, 5, 2, 4, 1, 3),
            // The input gradient as a convolution too (at least 32 output channels, a square
            // kernel: padding 1, 0, and 2 for a 5×5 one, a 1×1 kernel), and the weight gradient
            // without im2col (at least 32 channels and 4 images; 9 images: groups of 2, the last
            // one short). One image, and stride 2, keep im2col for the weight gradient.
            (4, 32, 48, 48, 32, 3, 3, 1, 1),
            (4, 40, 50, 45, 33, 3, 3, 1, 0),
            (5, 32, 46, 47, 36, 5, 5, 1, 2),
            (4, 32, 48, 48, 32, 1, 1, 1, 0),
            (9, 32, 12, 11, 32, 3, 3, 1, 1),
            (1, 32, 48, 48, 32, 3, 3, 1, 1),
            (2, 32, 30, 30, 16, 3, 3, 2, 1),
        ];
        for (b, c, h, w, co, kh, kw, s, p) in cases {
            let x = Var::from_tensor(&randn(&mut rng, &[b, c, h, w])).unwrap();
            let k = Var::from_tensor(&randn(&mut rng, &[co, c, kh, kw])).unwrap();
            let slow = x.conv2d(&k, p, s, 1, 1).unwrap();
            let up = randn(&mut rng, slow.dims());
            let fast = conv2d(&x, &k, p, s).unwrap();
            let case = format!("b{b} c{c} {h}×{w} → {co}, {kh}×{kw}, stride {s}, padding {p}");
            assert!(fast.is_contiguous(), "{case}");
            // Relative to the largest value: with c·kh·kw up to 1,600 terms a sum, the two
            // summation orders differ by f32 rounding that grows with the values (3·10⁻⁵ at
            // |y| ≈ 50); a wrong index or a missed term is off by O(1).
            let tol = |t: &Tensor| 1e-6 * t.abs().unwrap().flatten_all().unwrap().max(0).unwrap().to_scalar::<f32>().unwrap().max(10.0);
            assert!(max_diff(&fast, &slow) < tol(&slow), "{case}: forward differs by {}", max_diff(&fast, &slow));
            let gs = (slow * &up).unwrap().sum_all().unwrap().backward().unwrap();
            let gf = (fast * &up).unwrap().sum_all().unwrap().backward().unwrap();
            for (name, v) in [("input", &x), ("weight", &k)] {
                let (a, e) = (gf.get(v).unwrap(), gs.get(v).unwrap());
                assert!(max_diff(a, e) < 10.0 * tol(e), "{case}: {name} gradient differs by {}", max_diff(a, e));
            }
        }
    }

    #[test]
    fn other_dtypes_and_non_contiguous_inputs_still_work() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2);
        let x = randn(&mut rng, &[2, 3, 8, 6]).transpose(2, 3).unwrap();
        let k = randn(&mut rng, &[4, 3, 3, 3]);
        assert!(max_diff(&conv2d(&x, &k, 1, 1).unwrap(), &x.conv2d(&k, 1, 1, 1, 1).unwrap()) < 1e-5);
        let (x64, k64) = (x.to_dtype(DType::F64).unwrap(), k.to_dtype(DType::F64).unwrap());
        assert_eq!(conv2d(&x64, &k64, 1, 1).unwrap().dtype(), DType::F64);
    }
}
