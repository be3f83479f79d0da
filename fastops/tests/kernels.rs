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
fn softmaxes_match_candle() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    for shape in [vec![4, 9], vec![2, 3, 6, 6], vec![2, 5, 8], vec![1, 1, 1]] {
        let x = Var::from_tensor(&randn(&mut rng, &shape, 4.0)).unwrap();
        agree(std::slice::from_ref(&x), |t| softmax_last_dim(&t[0]), |t| softmax_composed(&t[0]), 4, &format!("softmax {shape:?}"));
    }
    // A causal mask of −∞ added to the scores (the char-GPT's attention): the masked entries
    // get probability 0 and no gradient.
    let (q, k) = (6, 6);
    let mask: Vec<f32> = (0..q * k).map(|i| if i % k > i / k { f32::NEG_INFINITY } else { 0.0 }).collect();
    let mask = Tensor::from_vec(mask, (q, k), &Device::Cpu).unwrap();
    let x = Var::from_tensor(&randn(&mut rng, &[2, 3, q, k], 4.0)).unwrap();
    agree(
        std::slice::from_ref(&x),
        |t| softmax_last_dim(&t[0].broadcast_add(&mask)?),
        |t| softmax_composed(&t[0].broadcast_add(&mask)?),
        5,
        "softmax over a causal mask",
    );
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
    // Without a bias, the product alone split across the threads: by columns, by rows, one
    // piece, pieces that do not divide evenly; and a left operand of rank 4.
    for dims in [vec![3, 300], vec![300, 7], vec![1, 4], vec![130, 33], vec![257, 64], vec![2, 3, 5, 24]] {
        let k = *dims.last().unwrap();
        for n in [1, 5, 129] {
            let a = Var::from_tensor(&randn(&mut rng, &dims, 1.0)).unwrap();
            let bt = Var::from_tensor(&randn(&mut rng, &[n, k], 1.0)).unwrap();
            agree(&[a, bt], |t| linear(&t[0], &t[1], None), |t| t[0].broadcast_matmul(&t[1].t()?), 17, &format!("linear {dims:?}·({n}×{k})ᵀ"));
        }
    }
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
    // Logits of rank 3 with targets of rank 2: the same as their rows.
    let (x3, t3) = (Var::from_tensor(&x.as_tensor().reshape((4, 75, v)).unwrap()).unwrap(), t.reshape((4, 75)).unwrap());
    let slow3 = |ts: &[Tensor]| slow(&[ts[0].reshape((rows, v))?]);
    agree(std::slice::from_ref(&x3), |ts| cross_entropy(&ts[0], &t3), slow3, 19, "cross-entropy on [4, 75, v]");
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

/// Off the CPU, or in another dtype, every op runs the candle operations it equals: here in
/// f64, whose values and gradients must match the fused f32 kernels' (each checked against
/// those operations above).
#[test]
fn every_op_falls_back_to_candle_operations() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(40);
    type Op = Box<dyn Fn(&[Tensor]) -> Result<Tensor>>;
    let cases: Vec<(&str, Vec<Vec<usize>>, Op)> = vec![
        ("conv2d", vec![vec![2, 3, 7, 9], vec![4, 3, 3, 3]], Box::new(|t| conv2d(&t[0], &t[1], 1, 2))),
        ("max_pool2d", vec![vec![2, 3, 7, 6]], Box::new(|t| max_pool2d(&t[0], 3, 2, 1))),
        ("add_channel_bias", vec![vec![2, 3, 4, 5], vec![3]], Box::new(|t| add_channel_bias(&t[0], &t[1]))),
        ("relu", vec![vec![4, 9]], Box::new(|t| relu(&t[0]))),
        ("gelu_erf", vec![vec![4, 9]], Box::new(|t| gelu_erf(&t[0]))),
        ("layer_norm", vec![vec![3, 4, 9], vec![9], vec![9]], Box::new(|t| layer_norm(&t[0], &t[1], &t[2], 1e-5))),
        ("softmax_last_dim", vec![vec![3, 4, 9]], Box::new(|t| softmax_last_dim(&t[0]))),
        ("linear", vec![vec![3, 4, 9], vec![5, 9], vec![5]], Box::new(|t| linear(&t[0], &t[1], Some(&t[2])))),
        ("linear without a bias", vec![vec![3, 4, 9], vec![5, 9]], Box::new(|t| linear(&t[0], &t[1], None))),
        ("matmul_bias", vec![vec![3, 4, 9], vec![9, 5], vec![5]], Box::new(|t| matmul_bias(&t[0], &t[1], &t[2]))),
    ];
    for (name, shapes, op) in cases {
        let x32: Vec<Tensor> = shapes.iter().map(|s| randn(&mut rng, s, 2.0)).collect();
        let up = |y: &Tensor| randn(&mut rand_chacha::ChaCha8Rng::seed_from_u64(41), y.dims(), 1.0);
        let run = |dtype: DType| -> (Tensor, Vec<Tensor>) {
            let vars: Vec<Var> = x32.iter().map(|t| Var::from_tensor(&t.to_dtype(dtype).unwrap()).unwrap()).collect();
            let ts: Vec<Tensor> = vars.iter().map(|v| v.as_tensor().clone()).collect();
            let y = op(&ts).unwrap();
            assert_eq!(y.dtype(), dtype, "{name}: the result keeps the input's dtype");
            let g = (&y * up(&y).to_dtype(dtype).unwrap()).unwrap().sum_all().unwrap().backward().unwrap();
            let to32 = |t: &Tensor| t.to_dtype(DType::F32).unwrap();
            (to32(&y), vars.iter().map(|v| to32(g.get(v).unwrap_or_else(|| panic!("{name}: no gradient in {dtype:?}")))).collect())
        };
        let ((y32, g32), (y64, g64)) = (run(DType::F32), run(DType::F64));
        assert!(rel_diff(&y64, &y32) < 1e-5, "{name}: f64 values differ by {}", rel_diff(&y64, &y32));
        for (i, (a, b)) in g64.iter().zip(&g32).enumerate() {
            assert!(rel_diff(a, b) < 1e-4, "{name}: f64 gradient of input {i} differs by {}", rel_diff(a, b));
        }
    }
    // cross_entropy's targets are not differentiable: values and the logits' gradient.
    let x = randn(&mut rng, &[6, 11], 3.0);
    let t = Tensor::new(&[0u32, 3, 10, 2, 2, 7], &Device::Cpu).unwrap();
    let ce = |dtype: DType| {
        let v = Var::from_tensor(&x.to_dtype(dtype).unwrap()).unwrap();
        let y = cross_entropy(v.as_tensor(), &t).unwrap();
        let g = y.backward().unwrap().get(&v).unwrap().to_dtype(DType::F32).unwrap();
        (y.to_dtype(DType::F32).unwrap(), g)
    };
    let ((y32, g32), (y64, g64)) = (ce(DType::F32), ce(DType::F64));
    assert!(rel_diff(&y64, &y32) < 1e-5 && rel_diff(&g64, &g32) < 1e-5, "cross_entropy in f64");
}
