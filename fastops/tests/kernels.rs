//! fastops' kernels against candle's own operations: values, and gradients through a random
//! upstream gradient. These tests spell out the formulas the exercises ask learners to write,
//! so they live here, outside `src/`: `grader dist` does not ship `fastops/tests/`.

use candle_core::{DType, Device, Result, Tensor, Var, D};
use fastops::*;
use rand::{Rng, SeedableRng};

fn softmax_composed(x: &Tensor) -> Result<Tensor> {
    let e = x.broadcast_sub(&x.max_keepdim(D::Minus1)?)?.exp()?;
    e.broadcast_div(&e.sum_keepdim(D::Minus1)?)
}

fn randn(rng: &mut rand_chacha::ChaCha8Rng, shape: &[usize], scale: f32) -> Tensor {
    let n = shape.iter().product();
    let v: Vec<f32> = (0..n).map(|_| rng.random_range(-scale..scale)).collect();
    Tensor::from_vec(v, shape, &Device::Cpu).unwrap()
}

/// The largest difference relative to the reference's largest magnitude (at least 1).
fn rel_diff(a: &Tensor, b: &Tensor) -> f32 {
    assert_eq!(a.dims(), b.dims());
    let m = |t: &Tensor| t.abs().unwrap().flatten_all().unwrap().max(0).unwrap().to_scalar::<f32>().unwrap();
    m(&(a - b).unwrap()) / m(b).max(1.0)
}

/// Runs `fast` and `slow` (candle's own operations) on the same variables with the same
/// upstream gradient, and compares the values and every variable's gradient.
fn agree(vars: &[Var], fast: impl Fn(&[Tensor]) -> Result<Tensor>, slow: impl Fn(&[Tensor]) -> Result<Tensor>, seed: u64, what: &str) {
    let ts: Vec<Tensor> = vars.iter().map(|v| v.as_tensor().clone()).collect();
    let (yf, ys) = (fast(&ts).unwrap(), slow(&ts).unwrap());
    assert!(rel_diff(&yf, &ys) < 1e-5, "{what}: values differ by {}", rel_diff(&yf, &ys));
    // A random upstream gradient, so that every output element's weight differs.
    let up = randn(&mut rand_chacha::ChaCha8Rng::seed_from_u64(seed), ys.dims(), 1.0);
    let (gf, gs) = ((yf * &up).unwrap().sum_all().unwrap().backward().unwrap(), (ys * &up).unwrap().sum_all().unwrap().backward().unwrap());
    for (i, v) in vars.iter().enumerate() {
        let (a, b) = (gf.get(v).unwrap_or_else(|| panic!("{what}: no fast gradient for input {i}")), gs.get(v).unwrap());
        assert!(rel_diff(a, b) < 1e-5, "{what}: gradient of input {i} differs by {}", rel_diff(a, b));
    }
}

#[test]
fn layer_norm_matches_candle() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    for shape in [vec![3, 5, 16], vec![7, 128], vec![2000, 8]] {
        let n = *shape.last().unwrap();
        let x = Var::from_tensor(&(randn(&mut rng, &shape, 2.0) + 0.5).unwrap()).unwrap();
        let w = Var::from_tensor(&randn(&mut rng, &[n], 1.5)).unwrap();
        let b = Var::from_tensor(&randn(&mut rng, &[n], 1.0)).unwrap();
        let slow = |t: &[Tensor]| {
            let mu = t[0].mean_keepdim(D::Minus1)?;
            let xc = t[0].broadcast_sub(&mu)?;
            let var = xc.sqr()?.mean_keepdim(D::Minus1)?;
            xc.broadcast_div(&(var + 1e-5)?.sqrt()?)?.broadcast_mul(&t[1])?.broadcast_add(&t[2])
        };
        agree(&[x, w, b], |t| layer_norm(&t[0], &t[1], &t[2], 1e-5), slow, 2, &format!("layer norm {shape:?}"));
    }
}

#[test]
fn batch_norm_matches_candle() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(16);
    for shape in [vec![64, 4, 12], vec![300, 7], vec![2, 5]] {
        let d = *shape.last().unwrap();
        let x = Var::from_tensor(&(randn(&mut rng, &shape, 2.0) + 0.7).unwrap()).unwrap();
        let w = Var::from_tensor(&randn(&mut rng, &[d], 1.5)).unwrap();
        let b = Var::from_tensor(&randn(&mut rng, &[d], 1.0)).unwrap();
        let slow = |t: &[Tensor]| {
            let flat = t[0].reshape(((), d))?;
            let mean = flat.mean(0)?;
            let var = flat.broadcast_sub(&mean)?.sqr()?.mean(0)?;
            t[0].broadcast_sub(&mean)?.broadcast_div(&(var + 1e-5)?.sqrt()?)?.broadcast_mul(&t[1])?.broadcast_add(&t[2])
        };
        agree(&[x, w, b], |t| batch_norm(&t[0], &t[1], &t[2], 1e-5), slow, 17, &format!("batch norm {shape:?}"));
    }
}

#[test]
fn softmaxes_match_candle() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    for shape in [vec![4, 9], vec![2, 3, 6, 6], vec![2, 5, 8], vec![1, 1, 1]] {
        let x = Var::from_tensor(&randn(&mut rng, &shape, 4.0)).unwrap();
        agree(std::slice::from_ref(&x), |t| softmax_last_dim(&t[0]), |t| softmax_composed(&t[0]), 4, &format!("softmax {shape:?}"));
        if shape.len() >= 2 {
            let (q, k) = (shape[shape.len() - 2], shape[shape.len() - 1]);
            if q <= k {
                let scale = 0.37;
                let slow = move |t: &[Tensor]| {
                    let mask: Vec<f32> = (0..q * k).map(|i| if i % k > i / k + (k - q) { f32::NEG_INFINITY } else { 0.0 }).collect();
                    softmax_composed(&(&t[0] * scale)?.broadcast_add(&Tensor::from_vec(mask, (q, k), &Device::Cpu)?)?)
                };
                agree(std::slice::from_ref(&x), |t| causal_softmax(&t[0], scale), slow, 5, &format!("causal softmax {shape:?}"));
            }
        }
    }
}

/// Rows whose largest entry lies past the last whole block of eight (the kernels take their
/// maximum eight lanes at a time, then the rest), far enough above the others that leaving it
/// out of the maximum overflows `exp`: the softmax and cross-entropy still match candle's.
#[test]
fn softmax_and_cross_entropy_are_stable() {
    let (rows, v) = (3, 13);
    let mut x = vec![0.5f32; rows * v];
    for r in 0..rows {
        x[r * v + 8 + 2 * r] = 300.0;
    }
    let x = Var::from_tensor(&Tensor::from_vec(x, (rows, v), &Device::Cpu).unwrap()).unwrap();
    agree(std::slice::from_ref(&x), |t| softmax_last_dim(&t[0]), |t| softmax_composed(&t[0]), 20, "softmax with a large tail");
    let t = Tensor::from_vec(vec![0u32, 10, 3], rows, &Device::Cpu).unwrap();
    let slow = |ts: &[Tensor]| candle_nn::loss::cross_entropy(&ts[0], &t);
    agree(std::slice::from_ref(&x), |ts| cross_entropy(&ts[0], &t), slow, 21, "cross-entropy with a large tail");
}

/// GELU's erf formula against libm's `erff` over [−6, 6] (through the public `gelu_erf`), and
/// its odd symmetry.
#[test]
fn gelu_erf_formula_is_accurate() {
    let xs: Vec<f32> = (-60_000..=60_000).map(|i| i as f32 * 1e-4).collect();
    let y = gelu_erf(&Tensor::from_vec(xs.clone(), xs.len(), &Device::Cpu).unwrap()).unwrap().to_vec1::<f32>().unwrap();
    // The formula's own error (1.5e-7 in erf) plus f32 rounding: measured 5.1e-7 in erf alone,
    // 6.1e-7 relative to 0.5·|x| in GELU once the product's rounding is added.
    let worst = xs
        .iter()
        .zip(&y)
        .map(|(&x, &g)| (g - 0.5 * x * (1.0 + libm::erff(x * std::f32::consts::FRAC_1_SQRT_2))).abs() / (0.5 * x.abs()).max(1e-3))
        .fold(0f32, f32::max);
    assert!(worst < 1e-6, "erf off by {worst}");
    let pair = gelu_erf(&Tensor::new(&[-0.3f32, 0.3], &Device::Cpu).unwrap()).unwrap().to_vec1::<f32>().unwrap();
    assert!((pair[1] - pair[0] - 0.3).abs() < 1e-7, "gelu(x) − gelu(−x) = x: {pair:?}");
}

#[test]
fn gelus_match_candle() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(6);
    let x = Var::from_tensor(&randn(&mut rng, &[3, 5000], 6.0)).unwrap();
    agree(std::slice::from_ref(&x), |t| gelu_erf(&t[0]), |t| t[0].gelu_erf(), 7, "gelu erf");
    agree(std::slice::from_ref(&x), |t| gelu_tanh(&t[0]), |t| t[0].gelu(), 8, "gelu tanh");
}

#[test]
fn linear_and_bias_match_candle() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
    let x = Var::from_tensor(&randn(&mut rng, &[3, 70, 24], 1.0)).unwrap();
    let w = Var::from_tensor(&randn(&mut rng, &[10, 24], 1.0)).unwrap();
    let b = Var::from_tensor(&randn(&mut rng, &[10], 1.0)).unwrap();
    let slow = |t: &[Tensor]| t[0].broadcast_matmul(&t[1].t()?)?.broadcast_add(&t[2]);
    agree(&[x.clone(), w.clone(), b], |t| linear(&t[0], &t[1], Some(&t[2])), slow, 10, "linear");
    agree(&[x.clone(), w.clone()], |t| linear(&t[0], &t[1], None), |t| t[0].broadcast_matmul(&t[1].t()?), 11, "linear without bias");
    let x2 = Var::from_tensor(&x.as_tensor().reshape((210, 24)).unwrap()).unwrap();
    let b = Var::from_tensor(&randn(&mut rng, &[10], 1.0)).unwrap();
    agree(&[x2, w, b], |t| linear(&t[0], &t[1], Some(&t[2])), slow, 15, "linear on rows");
    // GPT-2's Conv1D: x · w + b with w as [in, out].
    let x = Var::from_tensor(&randn(&mut rng, &[2, 33, 24], 1.0)).unwrap();
    let w = Var::from_tensor(&randn(&mut rng, &[24, 40], 1.0)).unwrap();
    let b = Var::from_tensor(&randn(&mut rng, &[40], 1.0)).unwrap();
    let slow = |t: &[Tensor]| t[0].broadcast_matmul(&t[1])?.broadcast_add(&t[2]);
    agree(&[x, w, b], |t| matmul_bias(&t[0], &t[1], &t[2]), slow, 16, "matmul_bias");
    // Off CPU f32 (here in f64) both fall back to candle's operations, with the weight the
    // right way round.
    let f64s = |shape: &[usize], rng: &mut rand_chacha::ChaCha8Rng| randn(rng, shape, 1.0).to_dtype(DType::F64).unwrap();
    let (x, w, b) = (f64s(&[5, 6], &mut rng), f64s(&[4, 6], &mut rng), f64s(&[4], &mut rng));
    let f32_of = |t: Tensor| t.to_dtype(DType::F32).unwrap();
    let want = f32_of(x.matmul(&w.t().unwrap()).unwrap().broadcast_add(&b).unwrap());
    assert!(rel_diff(&f32_of(linear(&x, &w, Some(&b)).unwrap()), &want) < 1e-6, "linear in f64");
    let wt = w.t().unwrap().contiguous().unwrap();
    assert!(rel_diff(&f32_of(matmul_bias(&x, &wt, &b).unwrap()), &want) < 1e-6, "matmul_bias in f64");
}

#[test]
fn cross_entropy_matches_candle() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(12);
    let (rows, v) = (300, 65);
    let x = Var::from_tensor(&randn(&mut rng, &[rows, v], 5.0)).unwrap();
    let t: Vec<u32> = (0..rows).map(|_| rng.random_range(0..v as u32)).collect();
    let t = Tensor::from_vec(t, rows, &Device::Cpu).unwrap();
    let slow = |ts: &[Tensor]| {
        let logp = ts[0].broadcast_sub(&ts[0].exp()?.sum_keepdim(1)?.log()?)?;
        logp.gather(&t.unsqueeze(1)?, 1)?.mean_all()?.neg()
    };
    agree(std::slice::from_ref(&x), |ts| cross_entropy(&ts[0], &t), slow, 13, "cross-entropy");
    let bad = Tensor::from_vec(vec![v as u32; rows], rows, &Device::Cpu).unwrap();
    assert!(cross_entropy(x.as_tensor(), &bad).is_err(), "a target outside the vocabulary must be an error");
    // Every third row ignored (u32::MAX, as week 3's IGNORE): the mean over the others.
    let ignore = u32::MAX;
    let tv: Vec<u32> = t.to_vec1::<u32>().unwrap().into_iter().enumerate().map(|(i, c)| if i % 3 == 1 { ignore } else { c }).collect();
    let kept: Vec<u32> = (0..rows as u32).filter(|i| i % 3 != 1).collect();
    let tm = Tensor::from_vec(tv, rows, &Device::Cpu).unwrap();
    let kept = Tensor::from_vec(kept, rows - rows / 3, &Device::Cpu).unwrap();
    let slow_kept = |ts: &[Tensor]| {
        let x = ts[0].index_select(&kept, 0)?;
        let logp = x.broadcast_sub(&x.exp()?.sum_keepdim(1)?.log()?)?;
        logp.gather(&t.index_select(&kept, 0)?.unsqueeze(1)?, 1)?.mean_all()?.neg()
    };
    agree(std::slice::from_ref(&x), |ts| cross_entropy_ignoring(&ts[0], &tm, ignore as i64), slow_kept, 18, "cross-entropy ignoring");
    // Logits of rank 3 with targets of rank 2: the same as their rows.
    let (x3, t3) = (Var::from_tensor(&x.as_tensor().reshape((4, 75, v)).unwrap()).unwrap(), t.reshape((4, 75)).unwrap());
    let slow3 = |ts: &[Tensor]| slow(&[ts[0].reshape((rows, v))?]);
    agree(std::slice::from_ref(&x3), |ts| cross_entropy(&ts[0], &t3), slow3, 19, "cross-entropy on [4, 75, v]");
}

/// Values and the input gradient against the same attention in candle's own operations
/// (narrow, reshape, transpose, matmul, an explicit −∞ mask and the exp/sum softmax).
#[test]
fn attention_matches_candle() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(21);
    for (b, t, h, d) in [(2, 5, 3, 4), (3, 64, 4, 32), (1, 1, 2, 8), (2, 17, 1, 6)] {
        let c = h * d;
        let v: Vec<f32> = (0..b * t * 3 * c).map(|_| rng.random_range(-2.0f32..2.0)).collect();
        let x = Var::from_tensor(&Tensor::from_vec(v, (b * t, 3 * c), &Device::Cpu).unwrap()).unwrap();
        let up: Vec<f32> = (0..b * t * c).map(|_| rng.random_range(-1.0f32..1.0)).collect();
        let up = Tensor::from_vec(up, (b * t, c), &Device::Cpu).unwrap();
        let slow = |x: &Tensor| -> Result<Tensor> {
            let x = x.reshape((b, t, 3 * c))?;
            let heads = |k: usize| -> Result<Tensor> { x.narrow(2, k * c, c)?.reshape((b, t, h, d))?.transpose(1, 2)?.contiguous() };
            let (q, k, v) = (heads(0)?, heads(1)?, heads(2)?);
            let mask: Vec<f32> = (0..t * t).map(|i| if i % t > i / t { f32::NEG_INFINITY } else { 0.0 }).collect();
            let s = (q.matmul(&k.t()?.contiguous()?)? / (d as f64).sqrt())?.broadcast_add(&Tensor::from_vec(mask, (t, t), &Device::Cpu)?)?;
            let e = s.broadcast_sub(&s.max_keepdim(D::Minus1)?)?.exp()?;
            let p = e.broadcast_div(&e.sum_keepdim(D::Minus1)?)?;
            p.matmul(&v)?.transpose(1, 2)?.reshape((b * t, c))
        };
        let (yf, ys) = (causal_self_attention(x.as_tensor(), b, t, h).unwrap(), slow(x.as_tensor()).unwrap());
        let diff = |a: &Tensor, b: &Tensor| (a - b).unwrap().abs().unwrap().flatten_all().unwrap().max(0).unwrap().to_scalar::<f32>().unwrap();
        assert!(diff(&yf, &ys) < 1e-5, "values differ by {} for {:?}", diff(&yf, &ys), (b, t, h, d));
        let gf = (yf * &up).unwrap().sum_all().unwrap().backward().unwrap();
        let gs = (ys * &up).unwrap().sum_all().unwrap().backward().unwrap();
        let (gf, gs) = (gf.get(&x).unwrap(), gs.get(&x).unwrap());
        assert!(diff(gf, gs) < 1e-5, "gradients differ by {} for {:?}", diff(gf, gs), (b, t, h, d));
    }
    let three = Tensor::zeros((2, 4, 3 * 6), candle_core::DType::F32, &Device::Cpu).unwrap();
    assert_eq!(causal_self_attention(&three, 2, 4, 3).unwrap().dims(), &[2, 4, 6]);
    assert!(causal_self_attention(&three, 2, 4, 4).is_err(), "6 columns do not split into 4 heads");
}

/// Ten steps against AdamW's formula written out in f64 (torch's AdamW, which week 3's fixtures
/// check), on a shape that is not one chunk.
#[test]
fn adamw_matches_the_formula() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(31);
    let n = 7 * 5000;
    let mut r = |n: usize| (0..n).map(|_| rng.random_range(-1.0f32..1.0)).collect::<Vec<f32>>();
    let w0 = r(n);
    let t = |v: &Vec<f32>| Tensor::from_vec(v.clone(), (n / 7, 7), &Device::Cpu).unwrap();
    let mut fast = (t(&w0), t(&vec![0.0; n]), t(&vec![0.0; n]));
    let (mut w, mut m, mut v): (Vec<f64>, Vec<f64>, Vec<f64>) = (w0.iter().map(|&x| x as f64).collect(), vec![0.0; n], vec![0.0; n]);
    let (lr, b1, b2, eps, wd) = (1e-2, 0.9, 0.99, 1e-8, 0.1);
    for step in 1..=10 {
        let g = r(n);
        let h = AdamWStep { lr, beta1: b1, beta2: b2, eps, weight_decay: wd, t: step };
        fast = adamw_step(&fast.0, &t(&g), &fast.1, &fast.2, h).unwrap();
        let (c1, c2) = (1.0 - b1.powi(step as i32), 1.0 - b2.powi(step as i32));
        for i in 0..n {
            let gi = g[i] as f64;
            m[i] = b1 * m[i] + (1.0 - b1) * gi;
            v[i] = b2 * v[i] + (1.0 - b2) * gi * gi;
            w[i] = w[i] * (1.0 - lr * wd) - lr * (m[i] / c1) / ((v[i] / c2).sqrt() + eps);
        }
    }
    for (a, b) in [(&fast.0, &w), (&fast.1, &m), (&fast.2, &v)] {
        let a = a.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let d = a.iter().zip(b.iter()).map(|(x, y)| (*x as f64 - y).abs()).fold(0f64, f64::max);
        assert!(d < 1e-5, "differs by {d}");
    }
    assert!(
        adamw_step(&fast.0.to_dtype(DType::F64).unwrap(), &fast.0, &fast.1, &fast.2, AdamWStep { lr, beta1: b1, beta2: b2, eps, weight_decay: wd, t: 1 })
            .is_err(),
        "f64 is not served"
    );
}

/// Max pooling as candle operations: pad with a very negative value, gather each kernel
/// offset's strided grid of pixels, stack them and take the maximum.
fn max_pool_composed(x: &Tensor, k: usize, s: usize, p: usize) -> Result<Tensor> {
    let (b, c, h, w) = x.dims4()?;
    let wall = |dims: (usize, usize, usize, usize)| Tensor::full(-1e30f32, dims, x.device());
    let x = Tensor::cat(&[&wall((b, c, p, w))?, x, &wall((b, c, p, w))?], 2)?;
    let x = Tensor::cat(&[&wall((b, c, h + 2 * p, p))?, &x, &wall((b, c, h + 2 * p, p))?], 3)?;
    let (oh, ow) = ((h + 2 * p - k) / s + 1, (w + 2 * p - k) / s + 1);
    let grid = |n: usize, off: usize| Tensor::new((0..n as u32).map(|o| o * s as u32 + off as u32).collect::<Vec<_>>(), x.device());
    let mut windows = Vec::new();
    for ki in 0..k {
        for kj in 0..k {
            windows.push(x.index_select(&grid(oh, ki)?, 2)?.index_select(&grid(ow, kj)?, 3)?);
        }
    }
    Tensor::stack(&windows, 4)?.max(4)
}

#[test]
fn max_pool_matches_candle() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
    // (b, c, h, w, kernel, stride, padding): the MNIST CNN's 2/2/0, the ResNet stem's 3/2/1,
    // odd sizes that leave a remainder, overlapping windows with stride 1, stride 3 (neither of
    // the strides with a loop of their own).
    for (b, c, h, w, k, s, p) in
        [(2, 3, 8, 8, 2, 2, 0), (1, 4, 9, 7, 3, 2, 1), (3, 2, 5, 6, 2, 2, 1), (2, 2, 6, 6, 3, 1, 1), (1, 1, 4, 4, 4, 4, 0), (1, 2, 10, 11, 3, 3, 1)]
    {
        let x = Var::from_tensor(&randn(&mut rng, &[b, c, h, w], 3.0)).unwrap();
        agree(&[x], |t| max_pool2d(&t[0], k, s, p), |t| max_pool_composed(&t[0], k, s, p), 10, &format!("max pool {b}×{c}×{h}×{w}, {k}/{s}/{p}"));
    }
    // Ties: the gradient goes to the first largest entry of each window, as torch's.
    let x = Var::from_tensor(&Tensor::new(&[[[[1f32, 5.0, 5.0, 0.0], [5.0, 2.0, 0.0, 0.0]]]], &Device::Cpu).unwrap()).unwrap();
    let g = max_pool2d(&x, 2, 2, 0).unwrap().sum_all().unwrap().backward().unwrap();
    let dx: Vec<f32> = g.get(&x).unwrap().flatten_all().unwrap().to_vec1().unwrap();
    assert_eq!(dx, [0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
    assert!(max_pool2d(&x.as_tensor().to_dtype(DType::F64).unwrap(), 2, 2, 0).is_err(), "off CPU f32 it refuses");
    // A NaN wins its window wherever it lies in it (torch's max_pool2d propagates NaN), and
    // leaves the other windows alone; an all −∞ window stays −∞.
    let (nan, inf) = (f32::NAN, f32::NEG_INFINITY);
    let x = Tensor::new(&[[[[nan, 1.0, 2.0, inf], [3.0, 4.0, inf, inf], [5.0, 6.0, 7.0, 8.0], [9.0, 1.0, 2.0, nan]]]], &Device::Cpu).unwrap();
    let y: Vec<f32> = max_pool2d(&x, 2, 2, 0).unwrap().flatten_all().unwrap().to_vec1().unwrap();
    assert!(y[0].is_nan() && y[1] == 2.0 && y[2] == 9.0 && y[3].is_nan(), "{y:?}");
    let y: Vec<f32> = max_pool2d(&x, 3, 1, 1).unwrap().flatten_all().unwrap().to_vec1().unwrap();
    let nans: Vec<bool> = y.iter().map(|v| v.is_nan()).collect();
    let expected: Vec<bool> = (0..16).map(|i| (i / 4 <= 1 && i % 4 <= 1) || (i / 4 >= 2 && i % 4 >= 2)).collect();
    assert_eq!(nans, expected, "{y:?}");
    let y: Vec<f32> = max_pool2d(&x.narrow(3, 2, 2).unwrap().narrow(2, 0, 2).unwrap(), 2, 2, 0).unwrap().flatten_all().unwrap().to_vec1().unwrap();
    assert_eq!(y, [2.0]);
    let y: Vec<f32> = max_pool2d(&x.narrow(3, 3, 1).unwrap().narrow(2, 0, 2).unwrap(), 2, 2, 1).unwrap().flatten_all().unwrap().to_vec1().unwrap();
    assert_eq!(y, [inf, inf], "a window of −∞ and padding");
    // Equal values: the first one stays, as in torch (0.0 > −0.0 is false), so the sign of a
    // zero tells which was kept.
    let z = Tensor::new(&[[[[-0.0f32, 0.0], [0.0, 0.0]]]], &Device::Cpu).unwrap();
    let y: Vec<f32> = max_pool2d(&z, 2, 2, 0).unwrap().flatten_all().unwrap().to_vec1().unwrap();
    assert!(y[0] == 0.0 && y[0].is_sign_negative(), "{y:?}");
}

#[test]
fn channel_bias_matches_candle() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
    for (b, c, h, w) in [(2, 3, 5, 4), (1, 8, 1, 1), (5, 2, 7, 9)] {
        let y = Var::from_tensor(&randn(&mut rng, &[b, c, h, w], 2.0)).unwrap();
        let bias = Var::from_tensor(&randn(&mut rng, &[c], 1.0)).unwrap();
        let slow = |t: &[Tensor]| t[0].broadcast_add(&t[1].reshape((1, c, 1, 1))?);
        agree(&[y, bias], |t| add_channel_bias(&t[0], &t[1]), slow, 12, &format!("channel bias {b}×{c}×{h}×{w}"));
    }
}

#[test]
fn channel_affine_matches_candle() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(13);
    for (b, c, h, w) in [(2, 3, 5, 4), (1, 8, 1, 1), (5, 2, 7, 9)] {
        let x = Var::from_tensor(&randn(&mut rng, &[b, c, h, w], 2.0)).unwrap();
        let scale = Var::from_tensor(&randn(&mut rng, &[c], 1.5)).unwrap();
        let shift = Var::from_tensor(&randn(&mut rng, &[c], 1.0)).unwrap();
        let slow = |t: &[Tensor]| t[0].broadcast_mul(&t[1].reshape((1, c, 1, 1))?)?.broadcast_add(&t[2].reshape((1, c, 1, 1))?);
        agree(&[x, scale, shift], |t| channel_affine(&t[0], &t[1], &t[2]), slow, 14, &format!("channel affine {b}×{c}×{h}×{w}"));
    }
}

#[test]
fn matmuls_match_candle() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(15);
    // (m, k, n): split by columns, by rows, one piece, pieces that do not divide evenly.
    for (m, k, n) in [(3, 5, 300), (300, 7, 5), (1, 4, 1), (130, 33, 129), (257, 64, 70)] {
        let a = Var::from_tensor(&randn(&mut rng, &[m, k], 1.0)).unwrap();
        let b = Var::from_tensor(&randn(&mut rng, &[k, n], 1.0)).unwrap();
        let bt = Var::from_tensor(&randn(&mut rng, &[n, k], 1.0)).unwrap();
        agree(&[a.clone(), b], |t| matmul(&t[0], &t[1]), |t| t[0].matmul(&t[1]), 16, &format!("matmul {m}×{k}·{k}×{n}"));
        agree(&[a, bt], |t| matmul_t(&t[0], &t[1]), |t| t[0].matmul(&t[1].t()?), 17, &format!("matmul_t {m}×{k}·({n}×{k})ᵀ"));
    }
    // A left operand of rank 3 or 4: its rows as one matrix, its leading dimensions kept.
    for dims in [vec![3, 70, 24], vec![2, 3, 5, 24]] {
        let a = Var::from_tensor(&randn(&mut rng, &dims, 1.0)).unwrap();
        let b = Var::from_tensor(&randn(&mut rng, &[24, 33], 1.0)).unwrap();
        let bt = Var::from_tensor(&randn(&mut rng, &[33, 24], 1.0)).unwrap();
        agree(&[a.clone(), b], |t| matmul(&t[0], &t[1]), |t| t[0].broadcast_matmul(&t[1]), 18, &format!("matmul {dims:?}·24×33"));
        agree(&[a, bt], |t| matmul_t(&t[0], &t[1]), |t| t[0].broadcast_matmul(&t[1].t()?), 19, &format!("matmul_t {dims:?}·(33×24)ᵀ"));
    }
}

#[test]
fn relu_matches_candle() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(20);
    // 21,000 elements: two of the kernel's chunks, the second short.
    let x = Var::from_tensor(&randn(&mut rng, &[3, 7, 1000], 1.0)).unwrap();
    agree(std::slice::from_ref(&x), |t| relu(&t[0]), |t| t[0].relu(), 20, "relu");
    // At 0 torch passes no gradient (candle's relu passes it); a NaN stays NaN.
    let z = Var::from_tensor(&Tensor::new(&[0f32, -1.0, 2.0], &Device::Cpu).unwrap()).unwrap();
    let g = relu(z.as_tensor()).unwrap().sum_all().unwrap().backward().unwrap();
    assert_eq!(g.get(&z).unwrap().to_vec1::<f32>().unwrap(), [0.0, 0.0, 1.0]);
    assert!(relu(&Tensor::new(&[f32::NAN], &Device::Cpu).unwrap()).unwrap().to_vec1::<f32>().unwrap()[0].is_nan());
}
