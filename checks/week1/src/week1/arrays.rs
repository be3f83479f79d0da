//! Checks for week1 day "arrays": each puzzle against PyTorch's output on the fixture cases
//! (fixtures/gen/week1_arrays.py), plus a property check where the puzzle has one.

use crate::cases::FixtureFile;
use crate::check::{ensure, shape_is, Fail, Learner};
use crate::compare::{close, close_with, exact, scalar_close, Candidate, Tol};
use crate::registry::{Day, Exercise};
use crate::subject::week1::arrays as a;
use candle_core::{DType, Tensor, D};

const FX: FixtureFile = FixtureFile::new("week1/arrays.safetensors");

/// Values computed through sums and matmuls may round differently from PyTorch's kernels by a
/// few f32 ulps; copies and integer results must be exact.
const ROUNDING: Tol = Tol::F32;

const DAY: Day = Day::new("week1", "arrays", "src/arrays.rs");

pub fn exercises() -> Vec<Exercise> {
    vec![
        DAY.exercise("ones", "a vector of ones from arange")
            .pace(1, 10)
            .function("ones")
            .forbid(&["ones("])
            .check("vs torch", |ctx| FX.vs_torch(ctx, "ones", Tol::EXACT, |c| a::ones(c.n("n")?, &ctx.device).learner())),
        DAY.exercise("sum", "sum as a dot product")
            .pace(1, 10)
            .function("sum")
            .forbid(&[".sum(", "sum_all", "sum_keepdim"])
            .check("vs torch", |ctx| FX.vs_torch(ctx, "sum", ROUNDING, |c| a::sum(&c.t("a")?).learner())),
        DAY.exercise("outer", "outer product by broadcasting")
            .pace(1, 10)
            .function("outer")
            .forbid(&["matmul"])
            .check("vs torch", |ctx| FX.vs_torch(ctx, "outer", Tol::EXACT, |c| a::outer(&c.t("a")?, &c.t("b")?).learner())),
        DAY.exercise("diag", "the diagonal of a matrix")
            .pace(1, 10)
            .function("diag")
            .forbid(&["eye("])
            .check("vs torch", |ctx| FX.vs_torch(ctx, "diag", ROUNDING, |c| a::diag(&c.t("a")?).learner())),
        DAY.exercise("eye", "the identity matrix")
            .pace(1, 10)
            .function("eye")
            .forbid(&["eye("])
            .check("vs torch", |ctx| FX.vs_torch(ctx, "eye", Tol::EXACT, |c| a::eye(c.n("n")?, &ctx.device).learner()))
            .check("eye(n) @ x == x", |ctx| {
                let x = FX.open(ctx)?.get("diag.2.a")?;
                let n = x.dim(0).grader()?;
                let e = a::eye(n, &ctx.device).learner()?;
                shape_is("eye(7)", &e, &[n, n])?;
                close("eye(7).matmul(x)", &e.matmul(&x).on_learner()?, &x, ROUNDING)
            }),
        DAY.exercise("triu", "upper-triangular ones")
            .pace(1, 10)
            .function("triu")
            .forbid(&["triu2", "tril2"])
            .check("vs torch", |ctx| FX.vs_torch(ctx, "triu", Tol::EXACT, |c| a::triu(c.n("n")?, &ctx.device).learner())),
        DAY.exercise("cumsum", "running sum with a triangular matmul")
            .pace(1, 10)
            .function("cumsum")
            .forbid(&["cumsum("])
            .check("vs torch", |ctx| FX.vs_torch(ctx, "cumsum", ROUNDING, |c| a::cumsum(&c.t("a")?).learner()))
            .check("last element equals the sum", |ctx| {
                let x = FX.open(ctx)?.get("cumsum.2.a")?;
                let got = a::cumsum(&x).learner()?;
                let n = got.dim(0).map_err(|e| Fail::Mismatch(format!("cumsum returned no vector: {e}")))?;
                let last = got.get(n - 1).and_then(|t| t.to_dtype(DType::F64)).and_then(|t| t.to_scalar::<f64>());
                let last = last.map_err(|e| Fail::Mismatch(format!("cumsum result: {e}")))?;
                scalar_close(
                    "cumsum(a)[n-1] vs a.sum_all()",
                    last,
                    x.sum_all().on_learner()?.to_dtype(DType::F64).on_learner()?.to_scalar().on_learner()?,
                    ROUNDING,
                )
            }),
        DAY.exercise("diff", "differences of neighbours")
            .pace(1, 10)
            .function("diff")
            .check("vs torch", |ctx| FX.vs_torch(ctx, "diff", ROUNDING, |c| a::diff(&c.t("a")?).learner())),
        DAY.exercise("vstack", "stack two rows with where_cond")
            .pace(2, 15)
            .function("vstack")
            .forbid(&["stack(", "cat("])
            .check("vs torch", |ctx| FX.vs_torch(ctx, "vstack", Tol::EXACT, |c| a::vstack(&c.t("a")?, &c.t("b")?).learner())),
        DAY.exercise("roll", "rotate left by one")
            .pace(2, 15)
            .function("roll")
            .forbid(&["roll("])
            .check("vs torch", |ctx| {
                FX.vs_torch_with(
                    ctx,
                    "roll",
                    Tol::EXACT,
                    |c| a::roll(&c.t("a")?).learner(),
                    |c, _| {
                        // The other direction: out[i] = a[i − 1].
                        let x = c.t("a")?;
                        let n = x.dim(0).grader()?;
                        let right = Tensor::cat(&[&x.narrow(0, n - 1, 1).grader()?, &x.narrow(0, 0, n - 1).grader()?], 0).grader()?;
                        Ok(vec![Candidate {
                            description: "a roll to the right (out[i] = a[i − 1]); this one rotates left: out[i] = a[i + 1]", tensor: right
                        }])
                    },
                )
            })
            .check("n rolls give the input back", |ctx| {
                let x = FX.open(ctx)?.get("roll.2.a")?;
                let mut y = x.clone();
                for _ in 0..x.dim(0).grader()? {
                    y = a::roll(&y).learner()?;
                }
                close("roll applied n times", &y, &x, Tol::EXACT)
            }),
        DAY.exercise("flip", "reverse a vector")
            .pace(1, 10)
            .function("flip")
            .forbid(&["flip("])
            .check("vs torch", |ctx| FX.vs_torch(ctx, "flip", Tol::EXACT, |c| a::flip(&c.t("a")?).learner()))
            .check("flip(flip(a)) == a", |ctx| {
                let x = FX.open(ctx)?.get("flip.1.a")?;
                close("flip twice", &a::flip(&a::flip(&x).learner()?).learner()?, &x, Tol::EXACT)
            }),
        DAY.exercise("compress", "pack the kept values to the front")
            .pace(2, 20)
            .function("compress")
            .check("vs torch", |ctx| FX.vs_torch(ctx, "compress", ROUNDING, |c| a::compress(&c.t("g")?, &c.t("v")?, c.n("len")?).learner())),
        DAY.exercise("pad_to", "cut or zero-pad to a length")
            .pace(2, 15)
            .function("pad_to")
            .forbid(&["pad_with_zeros"])
            .check("vs torch", |ctx| FX.vs_torch(ctx, "pad_to", ROUNDING, |c| a::pad_to(&c.t("a")?, c.n("len")?).learner())),
        DAY.exercise("sequence_mask", "mask positions past each length")
            .pace(1, 10)
            .function("sequence_mask")
            .check("vs torch", |ctx| FX.vs_torch(ctx, "sequence_mask", Tol::EXACT, |c| a::sequence_mask(&c.t("values")?, &c.t("lengths")?).learner())),
        DAY.exercise("bincount", "count occurrences")
            .pace(1, 10)
            .function("bincount")
            .check("vs torch", |ctx| FX.vs_torch(ctx, "bincount", Tol::EXACT, |c| a::bincount(&c.t("a")?, c.n("len")?).learner()))
            .check("counts add up to n", |ctx| {
                let x = FX.open(ctx)?.get("bincount.1.a")?;
                let total = a::bincount(&x, 9).learner()?.to_dtype(DType::F64).on_learner()?.sum_all().on_learner()?.to_scalar::<f64>().on_learner()?;
                scalar_close("bincount(a, 9).sum()", total, x.dim(0).on_learner()? as f64, Tol::EXACT)
            }),
        DAY.exercise("scatter_add", "sum values into buckets")
            .pace(1, 10)
            .function("scatter_add")
            .forbid(&["scatter_add", "index_add"])
            .check("vs torch", |ctx| FX.vs_torch(ctx, "scatter_add", ROUNDING, |c| a::scatter_add(&c.t("values")?, &c.t("link")?, c.n("len")?).learner())),
        DAY.exercise("flatten", "flatten by indexing")
            .pace(2, 20)
            .function("flatten")
            .forbid(&["reshape", "flatten"])
            .check("vs torch", |ctx| FX.vs_torch(ctx, "flatten", Tol::EXACT, |c| a::flatten(&c.t("a")?).learner())),
        DAY.exercise("linspace", "evenly spaced values").pace(1, 10).function("linspace").check("vs torch", |ctx| {
            FX.vs_torch(ctx, "linspace", ROUNDING, |c| a::linspace(c.f("start")? as f32, c.f("end")? as f32, c.n("n")?, &ctx.device).learner())
        }),
        DAY.exercise("heaviside", "the step function")
            .pace(1, 10)
            .function("heaviside")
            .check("vs torch", |ctx| FX.vs_torch(ctx, "heaviside", Tol::EXACT, |c| a::heaviside(&c.t("a")?, &c.t("b")?).learner())),
        DAY.exercise("repeat", "copies as rows")
            .pace(1, 10)
            .function("repeat")
            .forbid(&["repeat("])
            .check("vs torch", |ctx| FX.vs_torch(ctx, "repeat", Tol::EXACT, |c| a::repeat(&c.t("a")?, c.n("d")?).learner())),
        DAY.exercise("bucketize", "which bucket each value falls in")
            .pace(1, 10)
            .function("bucketize")
            .check("vs torch", |ctx| FX.vs_torch(ctx, "bucketize", Tol::EXACT, |c| a::bucketize(&c.t("v")?, &c.t("boundaries")?).learner())),
        DAY.exercise("gather_rows", "one element per row with gather")
            .pace(1, 10)
            .function("gather_rows")
            .check("vs torch", |ctx| FX.vs_torch(ctx, "gather_rows", Tol::EXACT, |c| a::gather_rows(&c.t("a")?, &c.t("idx")?).learner())),
        DAY.exercise("select_rows", "rows by index (an embedding lookup)")
            .pace(1, 10)
            .function("select_rows")
            .check("vs torch", |ctx| FX.vs_torch(ctx, "select_rows", Tol::EXACT, |c| a::select_rows(&c.t("a")?, &c.t("rows")?).learner())),
        DAY.exercise("place", "write values at positions (scatter)")
            .pace(1, 10)
            .function("place")
            .check("vs torch", |ctx| FX.vs_torch(ctx, "place", Tol::EXACT, |c| a::place(&c.t("values")?, &c.t("at")?, c.n("len")?).learner())),
        DAY.exercise("one_hot", "one-hot rows")
            .pace(1, 10)
            .function("one_hot")
            .forbid(&["one_hot("])
            .check("vs torch", |ctx| FX.vs_torch(ctx, "one_hot", Tol::EXACT, |c| a::one_hot(&c.t("idx")?, c.n("classes")?).learner())),
        DAY.exercise("masked_fill", "masked_fill with where_cond").pace(1, 10).function("masked_fill").check("vs torch", |ctx| {
            FX.vs_torch(ctx, "masked_fill", Tol::EXACT, |c| a::masked_fill(&c.t("a")?, &c.t("mask")?, c.f("value")? as f32).learner())
        }),
        DAY.exercise("softmax", "a numerically stable softmax")
            .pace(1, 10)
            .function("softmax")
            .forbid(&["softmax"])
            .check("vs torch", |ctx| {
                for c in FX.cases(ctx, "softmax")? {
                    let x = c.t("a")?;
                    let got = a::softmax(&x).learner()?;
                    let wrong_axis =
                        Candidate { description: "the softmax over dimension 0 (the wrong axis)", tensor: candle_nn::ops::softmax(&x, 0).grader()? };
                    close_with(&c.label(), &got, &c.out()?, ROUNDING, &[wrong_axis])?;
                }
                Ok(())
            })
            .check("rows sum to one; shifting a row changes nothing", |ctx| {
                let x = FX.open(ctx)?.get("softmax.0.a")?;
                let p = a::softmax(&x).learner()?;
                shape_is("softmax(a)", &p, x.dims())?;
                let rows = p.sum(D::Minus1).on_learner()?;
                close("softmax(a).sum(-1)", &rows, &Tensor::ones(rows.shape(), DType::F32, &ctx.device).on_learner()?, ROUNDING)?;
                close("softmax(a + 5) vs softmax(a)", &a::softmax(&(&x + 5.0).on_learner()?).learner()?, &p, ROUNDING)
            })
            .check("logits in the hundreds (a · 300): finite, vs a softmax computed here in f64", |ctx| {
                // exp overflows f32 above 88.7: only the shift by the row maximum keeps these
                // finite (a shift the other way, by + max, overflows at once).
                let x = (FX.open(ctx)?.get("softmax.0.a")? * 300.0).grader()?;
                close("softmax(300 · a)", &a::softmax(&x).learner()?, &crate::independent::softmax_last(&x)?, ROUNDING)
            }),
        DAY.exercise("standardize", "zero mean, unit variance rows")
            .pace(2, 15)
            .function("standardize")
            .check("vs torch", |ctx| {
                FX.vs_torch_with(
                    ctx,
                    "standardize",
                    ROUNDING,
                    |c| a::standardize(&c.t("a")?).learner(),
                    |c, _| {
                        // The sample variance (divide by m − 1) in place of the population's.
                        let x = c.t("a")?;
                        let m = *x.dims().last().unwrap_or(&1) as f64;
                        let unbiased = crate::independent::standardize_last(&x, 1e-5)?;
                        let scale = ((m - 1.0) / m).sqrt();
                        Ok(vec![Candidate {
                            description: "the unbiased (sample) variance, dividing by m − 1: use the population variance, dividing by m",
                            tensor: (unbiased * scale).grader()?,
                        }])
                    },
                )
            })
            .check("nearly constant rows (variance far below eps), vs the definition in f64", |ctx| {
                // Variance ≈ 8e-8 ≪ 1e-5: the output is decided by eps (and √(var − eps) is
                // NaN). f32 deviations of values near 1 carry ~1e-7 rounding, ~3e-5 after the
                // division by √eps: 1e-4 absolute leaves 3× headroom; a missing or misplaced
                // eps is off by 0.1 or NaN.
                let x = crate::independent::nearly_constant(3, 4, 0.0, 1e-3, &ctx.device)?;
                close(
                    "standardize(nearly constant rows)",
                    &a::standardize(&x).learner()?,
                    &crate::independent::standardize_last(&x, 1e-5)?,
                    Tol { abs: 1e-4, rel: 0.0 },
                )
            }),
        DAY.exercise("topk_mask", "mask of each row's k largest")
            .pace(1, 10)
            .function("topk_mask")
            .forbid(&["topk"])
            .check("vs torch", |ctx| FX.vs_torch(ctx, "topk_mask", Tol::EXACT, |c| a::topk_mask(&c.t("a")?, c.n("k")?).learner()))
            .check("k entries per row", |ctx| {
                let x = FX.open(ctx)?.get("topk_mask.1.a")?;
                let m = a::topk_mask(&x, 3).learner()?;
                shape_is("topk_mask(a, 3)", &m, x.dims())?;
                let m = m.to_dtype(DType::F32).on_learner()?.sum(1).on_learner()?;
                close("topk_mask(a, 3).sum(1)", &m, &Tensor::full(3f32, x.dim(0).on_learner()?, &ctx.device).on_learner()?, Tol::EXACT)
            }),
        DAY.exercise("batched_matmul", "batched matmul by broadcasting")
            .pace(1, 10)
            .function("batched_matmul")
            .forbid(&["matmul"])
            .check("vs torch", |ctx| FX.vs_torch(ctx, "batched_matmul", ROUNDING, |c| a::batched_matmul(&c.t("x")?, &c.t("y")?).learner())),
        DAY.exercise("pairwise_distances", "all pairwise Euclidean distances").pace(1, 10).function("pairwise_distances").check("vs torch", |ctx| {
            FX.vs_torch_with(
                ctx,
                "pairwise_distances",
                ROUNDING,
                |c| a::pairwise_distances(&c.t("x")?, &c.t("y")?).learner(),
                |_, want| {
                    Ok(vec![Candidate { description: "the squared distances: take the square root of the summed squares", tensor: want.sqr().grader()? }])
                },
            )
        }),
        DAY.exercise("two_sum", "two-sum without loops")
            .pace(2, 25)
            .function("two_sum")
            .check("vs torch", |ctx| {
                FX.vs_torch(ctx, "two_sum", Tol::EXACT, |c| {
                    let target = c.f("target")? as i64;
                    a::two_sum(&c.t("nums")?, target).learner()
                })
            })
            .check("the pair adds up and i < j", |ctx| {
                for c in FX.cases(ctx, "two_sum")? {
                    let nums = c.t("nums")?;
                    let target = c.f("target")? as i64;
                    let ij = a::two_sum(&nums, target)
                        .learner()?
                        .to_dtype(DType::I64)
                        .learner()?
                        .to_vec1::<i64>()
                        .map_err(|e| Fail::Mismatch(format!("two_sum: {e}")))?;
                    let v = nums.to_vec1::<i64>().grader()?;
                    let ok = ij.len() == 2 && ij[0] >= 0 && ij[0] < ij[1] && (ij[1] as usize) < v.len() && v[ij[0] as usize] + v[ij[1] as usize] == target;
                    ensure(ok, || format!("{}: indices {ij:?} do not pick a pair i < j adding to {target}", c.label()))?;
                }
                Ok(())
            }),
        DAY.exercise("einsum", "a small einsum")
            .pace(3, 90)
            .function("einsum")
            .check("vs torch", |ctx| {
                let specs = ctx.json("week1/arrays.json")?;
                let specs = specs["einsum_specs"].as_array().cloned().unwrap_or_default();
                let cs = FX.cases(ctx, "einsum")?;
                ensure(specs.len() == cs.len(), || format!("week1/arrays.json lists {} specs for {} cases", specs.len(), cs.len()))?;
                for (spec, c) in specs.iter().zip(cs) {
                    let spec = spec.as_str().unwrap_or_default();
                    let mut ops = Vec::new();
                    while let Ok(t) = c.t(&format!("x{}", ops.len())) {
                        ops.push(t);
                    }
                    let refs: Vec<&Tensor> = ops.iter().collect();
                    let got = a::einsum(spec, &refs).learner()?;
                    close(&format!("einsum({spec:?}, …) [fixture case {}]", c.k), &got, &c.out()?, ROUNDING)?;
                }
                Ok(())
            })
            .check("agrees with matmul and transpose", |ctx| {
                let fx = FX.open(ctx)?;
                let (x, y) = (fx.get("einsum.0.x0")?, fx.get("einsum.0.x1")?);
                close("einsum(\"ij,jk->ik\") vs candle matmul", &a::einsum("ij,jk->ik", &[&x, &y]).learner()?, &x.matmul(&y).on_learner()?, ROUNDING)?;
                exact("einsum(\"ij->ji\") vs candle t()", &a::einsum("ij->ji", &[&x]).learner()?, &x.t().on_learner()?.contiguous().on_learner()?)
            })
            .check("a letter repeated inside a 3-axis operand (iij->j, iji->ij, jii->) vs sums in f64", |ctx| {
                let (n, m) = (3usize, 2usize);
                let v: Vec<f32> = (0..n * n * m).map(|k| ((k as f32) * 0.7).sin()).collect();
                for (spec, shape) in [("iij->j", (n, n, m)), ("iji->ij", (n, m, n)), ("jii->", (m, n, n))] {
                    let t = Tensor::from_vec(v.clone(), shape, &ctx.device).grader()?;
                    let at = |a: usize, b: usize, c: usize| v[(a * shape.1 + b) * shape.2 + c] as f64;
                    let want: Vec<f64> = match spec {
                        "iij->j" => (0..m).map(|j| (0..n).map(|i| at(i, i, j)).sum()).collect(),
                        "iji->ij" => (0..n).flat_map(|i| (0..m).map(move |j| (i, j))).map(|(i, j)| at(i, j, i)).collect(),
                        _ => vec![(0..m).map(|j| (0..n).map(|i| at(j, i, i)).sum::<f64>()).sum()],
                    };
                    let got = a::einsum(spec, &[&t]).learner()?;
                    let want = Tensor::new(want.iter().map(|x| *x as f32).collect::<Vec<_>>(), &ctx.device).grader()?.reshape(got.shape()).on_learner()?;
                    close(&format!("einsum({spec:?}, x {shape:?})"), &got, &want, ROUNDING)?;
                }
                Ok(())
            }),
    ]
}
