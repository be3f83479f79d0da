//! Checks for week3 day "quantisation": blockwise absmax codes, NF4's 16 levels, NF4 codes and
//! double-quantised scales against an independent numpy/scipy implementation written from the
//! QLoRA paper (fixtures/gen/week3_quantisation.py), round-trip bounds on the grader's own
//! random data, NF4 against int4 on normal weights, and bits per weight measured from what the
//! learner stores.

use crate::cases::{Case, FixtureFile};
use crate::check::{ensure, CheckResult, Fail};
use crate::registry::{Day, Exercise};
use crate::subject::week3::quantisation as qz;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const FX: FixtureFile = FixtureFile::new("week3/quantisation.safetensors");

const DAY: Day = Day::new("week3", "quantisation", "src/quantisation.rs");

fn floats(c: &Case, arg: &str) -> Result<Vec<f32>, Fail> {
    Ok(c.values(arg)?.into_iter().map(|v| v as f32).collect())
}

/// The first index where two sequences differ, for a report.
fn first_diff<T: PartialEq + std::fmt::Debug>(what: &str, got: &[T], want: &[T], block: usize) -> CheckResult {
    ensure(got.len() == want.len(), || format!("{what}: {} entries, expected {}", got.len(), want.len()))?;
    match got.iter().zip(want).position(|(a, b)| a != b) {
        None => Ok(()),
        Some(i) => Err(Fail::Mismatch(format!(
            "{what}: entry {i} (block {}) is {:?}, expected {:?}; {} of {} entries differ",
            i / block,
            got[i],
            want[i],
            got.iter().zip(want).filter(|(a, b)| a != b).count(),
            got.len()
        ))),
    }
}

/// Equal within `tol` (absolute + relative), element by element.
fn near(what: &str, got: &[f32], want: &[f32], abs: f32, rel: f32) -> CheckResult {
    ensure(got.len() == want.len(), || format!("{what}: {} values, expected {}", got.len(), want.len()))?;
    for (i, (a, b)) in got.iter().zip(want).enumerate() {
        ensure((a - b).abs() <= abs + rel * b.abs(), || format!("{what}: value {i} is {a}, expected {b}"))?;
    }
    Ok(())
}

/// Random test vectors of the grader's own: normal values at several scales, with a block of
/// zeros, a block of one sign, a block whose absmax is exactly 1, and a short last block.
fn grader_vectors(block: usize) -> Vec<Vec<f32>> {
    let mut rng = ChaCha8Rng::seed_from_u64(31);
    let mut normal = |n: usize, scale: f32| -> Vec<f32> {
        (0..n)
            .map(|_| {
                let (u1, u2): (f32, f32) = (rng.random::<f32>().max(1e-12), rng.random());
                (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos() * scale
            })
            .collect()
    };
    let mut a = normal(5 * block + 3, 0.02);
    a[block..2 * block].iter_mut().for_each(|x| *x = 0.0);
    a[2 * block..3 * block].iter_mut().for_each(|x| *x = x.abs());
    // A block whose absmax is exactly 1 (a scale of 1 must not be taken for the zero block's).
    a[3 * block + 5] = -1.0;
    vec![a, normal(3 * block, 40.0), normal(block / 2 + 1, 1.0)]
}

pub fn exercises() -> Vec<Exercise> {
    vec![
        DAY.exercise("absmax", "blockwise absmax quantisation (int8, int4)")
            .pace(2, 25)
            .function("absmax_quantise")
            .check("codes, scales and dequantised values vs numpy (five sizes, int8 and int4, a zero block)", |ctx| {
                for c in FX.cases(ctx, "absmax")? {
                    let (w, block, bits) = (floats(&c, "w")?, c.n("block")?, c.n("bits")? as u32);
                    let q = qz::absmax_quantise(&w, block, bits);
                    ensure(q.bits == bits && q.block == block, || format!("{}: the result says bits {} and block {}", c.label(), q.bits, q.block))?;
                    first_diff(&format!("{}: scales", c.label()), &q.scales, &floats(&c, "scales")?, 1)?;
                    let want: Vec<i8> = floats(&c, "codes")?.iter().map(|&v| v as i8).collect();
                    first_diff(&format!("{}: codes (round(w / s · L), halves away from zero)", c.label()), &q.codes, &want, block)?;
                    // The same three f32 operations in the same order: equal up to an ulp.
                    near(&format!("{}: dequantised", c.label()), &q.dequantise(), &floats(&c, "out")?, 0.0, 2e-7)?;
                }
                Ok(())
            })
            .check("round trip within half a step of each block, on the grader's vectors", |_| {
                for bits in [8u32, 4, 3] {
                    let l = ((1 << (bits - 1)) - 1) as f32;
                    for w in grader_vectors(64) {
                        let q = qz::absmax_quantise(&w, 64, bits);
                        let back = q.dequantise();
                        ensure(back.len() == w.len(), || format!("{bits} bits: {} values back from {}", back.len(), w.len()))?;
                        for (i, (x, y)) in w.iter().zip(&back).enumerate() {
                            let s = w[i / 64 * 64..(i / 64 * 64 + 64).min(w.len())].iter().fold(0f32, |m, v| m.max(v.abs()));
                            let bound = s / l / 2.0 * (1.0 + 1e-5);
                            ensure((x - y).abs() <= bound, || {
                                format!("{bits} bits, {} values: value {i} = {x} came back as {y}, more than half a step ({}) away", w.len(), s / l / 2.0)
                            })?;
                        }
                    }
                }
                Ok(())
            }),
        DAY.exercise("nf4_code", "NormalFloat4's 16 levels from normal quantiles").pace(2, 25).function("nf4_code").check(
            "vs scipy's norm.ppf derivation; ascending from −1 to 1 with an exact 0",
            |ctx| {
                let got = qz::nf4_code();
                let c = FX.cases(ctx, "nf4_code")?.remove(0);
                ensure(got.windows(2).all(|p| p[0] < p[1]), || format!("the levels are not strictly ascending: {got:?}"))?;
                ensure(got[0] == -1.0 && got[15] == 1.0 && got[7] == 0.0, || {
                    format!("levels 0, 7 and 15 are {}, {}, {}: expected −1, exactly 0, and 1 (divide by the largest)", got[0], got[7], got[15])
                })?;
                // f64 quantiles rounded to f32 once: a bisection or scipy's ppf may differ in the last bit.
                near("the 16 levels", &got, &floats(&c, "out")?, 0.0, 1e-6)
            },
        ),
        DAY.exercise("nf4", "NF4 quantisation: nearest levels, packed two per byte")
            .pace(2, 30)
            .function("quantise_nf4")
            .check("packed bytes, absmax and dequantised values vs numpy (a short last block, a zero block, odd length)", |ctx| {
                for c in FX.cases(ctx, "nf4")? {
                    let (w, block) = (floats(&c, "w")?, c.n("block")?);
                    let q = qz::quantise_nf4(&w, block);
                    ensure(q.len == w.len() && q.block == block, || format!("{}: the result says len {} and block {}", c.label(), q.len, q.block))?;
                    first_diff(&format!("{}: absmax", c.label()), &q.absmax, &floats(&c, "absmax")?, 1)?;
                    let want: Vec<u8> = floats(&c, "packed")?.iter().map(|&v| v as u8).collect();
                    first_diff(&format!("{}: packed bytes (value 2j in the high nibble)", c.label()), &q.packed, &want, block.div_ceil(2))?;
                    near(&format!("{}: dequantised", c.label()), &q.dequantise(), &floats(&c, "out")?, 0.0, 1e-6)?;
                }
                Ok(())
            })
            .check("every code is a nearest level, on the grader's vectors", |ctx| {
                let code = floats(&FX.cases(ctx, "nf4_code")?.remove(0), "out")?;
                for w in grader_vectors(64) {
                    let q = qz::quantise_nf4(&w, 64);
                    let back = q.dequantise();
                    ensure(back.len() == w.len(), || format!("{} values back from {}", back.len(), w.len()))?;
                    for (i, x) in w.iter().enumerate() {
                        let s = q.absmax.get(i / 64).copied().unwrap_or(f32::NAN);
                        let r = if s == 0.0 { 0.0 } else { x / s };
                        let best = code.iter().map(|c| (r - c).abs()).fold(f32::INFINITY, f32::min);
                        let mine = (back[i] / if s == 0.0 { 1.0 } else { s } - r).abs();
                        ensure(mine <= best + 1e-6, || {
                            format!("{} values: value {i} = {x} (block absmax {s}) came back as {}, not the nearest level", w.len(), back[i])
                        })?;
                    }
                }
                Ok(())
            })
            .check("NF4 reconstructs normal weights better than int4 absmax (same block, same bits)", |ctx| {
                let c = FX.cases(ctx, "cmp")?.remove(0);
                let w = floats(&c, "w")?;
                let want = c.values("out")?;
                let rmse = |back: &[f32]| (back.iter().zip(&w).map(|(a, b)| ((a - b) as f64).powi(2)).sum::<f64>() / w.len() as f64).sqrt();
                let nf4 = rmse(&qz::quantise_nf4(&w, 64).dequantise());
                let int4 = rmse(&qz::absmax_quantise(&w, 64, 4).dequantise());
                ctx.note(format!("RMSE on 65,536 draws of N(0, 1), blocks of 64: NF4 {nf4:.5}, int4 absmax {int4:.5} (numpy: {:.5}, {:.5})", want[0], want[1]));
                crate::compare::scalar_close("NF4's RMSE", nf4, want[0], crate::compare::Tol::new(1e-6, 1e-4))?;
                crate::compare::scalar_close("int4's RMSE", int4, want[1], crate::compare::Tol::new(1e-6, 1e-4))?;
                ensure(nf4 < int4, || format!("NF4's RMSE {nf4:.5} is not below int4's {int4:.5}"))
            }),
        DAY.exercise("double_quant", "double quantisation of the block scales: ≈ 4.13 bits per weight").pace(2, 25).function("double_quantise").check(
            "offset, 8-bit scale codes and dequantised values vs numpy; bits per weight from what is stored",
            |ctx| {
                for c in FX.cases(ctx, "dq")? {
                    let (w, block, block2) = (floats(&c, "w")?, c.n("block")?, c.n("block2")?);
                    let q = qz::quantise_nf4(&w, block);
                    let plain = q.dequantise();
                    let d = qz::double_quantise(&q, block2);
                    ensure(d.nf4.packed == q.packed, || format!("{}: the double-quantised result changed the 4-bit codes", c.label()))?;
                    ensure(d.nf4.absmax.is_empty(), || format!("{}: the f32 absmax values are still stored ({} of them)", c.label(), d.nf4.absmax.len()))?;
                    ensure(d.scales.bits == 8 && d.scales.block == block2, || {
                        format!("{}: scales quantised with {} bits in blocks of {}", c.label(), d.scales.bits, d.scales.block)
                    })?;
                    first_diff(&format!("{}: offset (the mean of the scales, summed in order)", c.label()), &[d.offset], &floats(&c, "offset")?, 1)?;
                    let want: Vec<i8> = floats(&c, "codes")?.iter().map(|&v| v as i8).collect();
                    first_diff(&format!("{}: 8-bit codes of the centred scales", c.label()), &d.scales.codes, &want, block2)?;
                    let back = d.dequantise();
                    near(&format!("{}: dequantised", c.label()), &back, &floats(&c, "out")?, 0.0, 1e-6)?;
                    let n = w.len() as f64;
                    let bits = (8 * d.nf4.packed.len() + 8 * d.scales.codes.len() + 32 * d.scales.scales.len() + 32) as f64 / n;
                    let nf4_bits = (8 * q.packed.len() + 32 * q.absmax.len()) as f64 / n;
                    let drift = back.iter().zip(&plain).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
                    ctx.note(format!(
                        "{} weights: NF4 {nf4_bits:.3} bits per weight, with double quantisation {bits:.3}; largest change from the f32 scales {drift:.2e}",
                        w.len()
                    ));
                    if block == 64 && block2 == 256 {
                        ensure(bits < 4.14, || format!("{bits:.3} bits per weight stored, QLoRA's layout gives about 4.13"))?;
                    }
                }
                Ok(())
            },
        ),
    ]
}
