//! Facts about candle that checks and reference solutions rely on, pinned so that an upgrade
//! that changes them is noticed.

use candle_core::{Device, Tensor, Var};

/// d/dz of `f(z)` at each point, by candle's autograd.
fn grad_at(points: &[f32], f: impl Fn(&Tensor) -> candle_core::Result<Tensor>) -> Vec<f32> {
    let z = Var::new(points, &Device::Cpu).unwrap();
    let g = f(z.as_tensor()).unwrap().sum_all().unwrap().backward().unwrap();
    g.get(&z).unwrap().to_vec1::<f32>().unwrap()
}

/// The usual stable log-sigmoid, `min(z, 0) − log(1 + exp(−|z|))`, has the wrong derivative at
/// exactly z = 0 in candle: `minimum` splits a tie's gradient in half and `abs` takes +1 at 0,
/// so the derivative comes out as 1 instead of σ(0) = 1/2. Zero is where training starts in
/// DPO (policy = reference) and in skip-gram (a zero context table). Writing the minimum as
/// `(z − |z|) / 2` makes the two `abs` terms cancel at 0 whatever sign candle gives |0|.
#[test]
fn log_sigmoid_derivative_at_zero() {
    let naive = grad_at(&[0.0, 1.0, -2.0], |z| z.minimum(0f32)? - (z.abs()?.neg()?.exp()? + 1.0)?.log()?);
    let tie_free = grad_at(&[0.0, 1.0, -2.0], |z| ((z - z.abs()?)? * 0.5)? - (z.abs()?.neg()?.exp()? + 1.0)?.log()?);
    let sigma = |x: f32| 1.0 / (1.0 + x.exp()); // d/dz log σ(z) = σ(−z)
    assert!((naive[0] - 1.0).abs() < 1e-6, "candle's tie rules changed: the naive form now gives {} at 0", naive[0]);
    for (k, z) in [0.0f32, 1.0, -2.0].into_iter().enumerate() {
        approx::assert_abs_diff_eq!(tie_free[k], sigma(z), epsilon = 1e-6);
    }
}
