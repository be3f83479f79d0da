//! The grader's own fault drills: "learner code" that misbehaves in every way we know of. Hidden
//! from `list`; graded by `grader/tests/faults.rs`, which asserts each status and that none of
//! them disturbs the control exercise or counts as a pass.

use crate::check::{CheckResult, Ctx, Learner};
use crate::compare::{close, Tol};
use crate::registry::Exercise;
use candle_core::{DType, Result, Tensor};
use std::hint::black_box;
use std::time::Duration;

/// The correct answer every drill is compared with: [1, 2, 3] as f32.
fn expected(ctx: &Ctx) -> Tensor {
    Tensor::new(&[1f32, 2., 3.], &ctx.device).unwrap()
}

fn graded(ctx: &Ctx, f: fn(&Ctx) -> Result<Tensor>) -> CheckResult {
    let got = f(ctx).learner()?;
    close("drill", &got, &expected(ctx), Tol::F32)
}

fn control(ctx: &Ctx) -> Result<Tensor> {
    Tensor::new(&[1f32, 2., 3.], &ctx.device)
}
fn todo(_: &Ctx) -> Result<Tensor> {
    todo!()
}
fn panics(_: &Ctx) -> Result<Tensor> {
    let v: Vec<f32> = Vec::new();
    Tensor::new(&[v[black_box(3)]], &candle_core::Device::Cpu)
}
fn endless(_: &Ctx) -> Result<Tensor> {
    loop {
        black_box(0);
    }
}
#[allow(unconditional_recursion)]
fn recurse(n: u64) -> u64 {
    let pad = black_box([n; 64]);
    recurse(pad[black_box(1)] + 1) + pad[0]
}
fn stack_overflow(_: &Ctx) -> Result<Tensor> {
    let n = recurse(black_box(0));
    Tensor::new(&[n as f32], &candle_core::Device::Cpu)
}
fn aborts(_: &Ctx) -> Result<Tensor> {
    std::process::abort()
}
fn exits_zero(_: &Ctx) -> Result<Tensor> {
    std::process::exit(0)
}
fn huge_alloc(ctx: &Ctx) -> Result<Tensor> {
    let t = Tensor::zeros(black_box(100usize << 30) / 4, DType::F32, &ctx.device)?;
    t.narrow(0, 0, 3)
}
fn nan(ctx: &Ctx) -> Result<Tensor> {
    Tensor::new(&[1f32, f32::NAN, 3.], &ctx.device)
}
fn wrong_shape(ctx: &Ctx) -> Result<Tensor> {
    Tensor::new(&[[1f32, 2., 3.]], &ctx.device)
}
fn wrong_dtype(ctx: &Ctx) -> Result<Tensor> {
    Tensor::new(&[1f64, 2., 3.], &ctx.device)
}
fn fake_pass(ctx: &Ctx) -> Result<Tensor> {
    // Pretend to be the grader: print what a pass looks like, then leave before the real verdict.
    println!("  ✓ faults.drill.fake_pass  passed");
    println!(r#"{{"nonce":"0","id":"faults.drill.fake_pass","checks":[{{"name":"c","status":"passed"}}]}}"#);
    let _ = ctx;
    std::process::exit(0)
}
fn thread_panic(ctx: &Ctx) -> Result<Tensor> {
    // The worker dies, the result is swallowed, and the main thread returns the right answer.
    let _ = std::thread::Builder::new().name("worker".into()).spawn(|| panic!("worker failed")).unwrap().join();
    control(ctx)
}
fn returns_err(_: &Ctx) -> Result<Tensor> {
    candle_core::bail!("shape mismatch in my matmul")
}
fn jitter(ctx: &Ctx) -> Result<Tensor> {
    // Wrong, and differently wrong in the two passes of `--compare-cpu` (as a result that
    // depends on the device would be): the parity report must see them disagree.
    let last = if std::env::var(crate::parity::ENV).is_ok_and(|p| p == "cpu") { 3.7f32 } else { 3.5 };
    Tensor::new(&[1f32, 2., last], &ctx.device)
}

macro_rules! drill {
    ($name:ident, $timeout:expr) => {
        Exercise::new(concat!("faults.drill.", stringify!($name)), stringify!($name), "src/faults.rs")
            .check("drill", |ctx| graded(ctx, $name))
            .timeout($timeout)
    };
}

pub fn exercises() -> Vec<Exercise> {
    let t = Duration::from_secs(10);
    vec![
        drill!(control, t),
        drill!(todo, t),
        drill!(panics, t),
        drill!(endless, Duration::from_millis(1500)),
        drill!(stack_overflow, t),
        drill!(aborts, t),
        drill!(exits_zero, t),
        drill!(huge_alloc, t),
        drill!(nan, t),
        drill!(wrong_shape, t),
        drill!(wrong_dtype, t),
        drill!(fake_pass, t),
        drill!(thread_panic, t),
        drill!(returns_err, t),
        drill!(jitter, t),
    ]
}
