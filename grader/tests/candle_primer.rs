//! The examples of the candle primer (book/src/week1/candle.md), run: each `rust` block of the
//! page is one of the functions below, verbatim, and each states what it prints. A test checks
//! that the page and this file agree, so an example on the page always compiles and is true.

use candle_core::{DType, Device, Tensor, D};

type R = candle_core::Result<()>;

// primer: arange
fn arange() -> R {
    let dev = Device::Cpu;
    let a = Tensor::arange(0u32, 4, &dev)?; // [0, 1, 2, 3], U32: the type of the bounds
    let b = Tensor::arange(0f32, 4., &dev)?; // F32
    let c = Tensor::arange_step(0f32, 1., 0.25, &dev)?; // [0, 0.25, 0.5, 0.75]
    assert_eq!((a.dtype(), b.dtype()), (DType::U32, DType::F32));
    assert_eq!(c.to_vec1::<f32>()?, [0.0, 0.25, 0.5, 0.75]);
    Ok(())
}

// primer: scalars
fn scalars() -> R {
    let x = Tensor::new(&[-1f32, 0., 2.], &Device::Cpu)?;
    let y = ((&x * 2.0)? + 1.0)?; // a scalar on the right: [-1, 1, 5]
    let z = x.affine(2.0, 1.0)?; // the same in one op: x·2 + 1
    let pos = x.gt(0.0)?; // a comparison with a scalar gives a U8 mask: [0, 0, 1]
    assert_eq!(y.to_vec1::<f32>()?, z.to_vec1::<f32>()?);
    assert_eq!(pos.dtype(), DType::U8);
    assert_eq!(pos.to_vec1::<u8>()?, [0, 0, 1]);
    Ok(())
}

// primer: broadcasting
fn broadcasting() -> R {
    let dev = Device::Cpu;
    let col = Tensor::new(&[[1f32], [2.]], &dev)?; // [2, 1]
    let row = Tensor::new(&[10f32, 20., 30.], &dev)?; // [3]
                                                      // `+` wants equal shapes; broadcast_add aligns trailing axes and stretches size-1 ones.
    assert!((&col + &row).is_err());
    let t = col.broadcast_add(&row)?; // [2, 3]: [[11, 21, 31], [12, 22, 32]]
    assert_eq!(t.to_vec2::<f32>()?, [[11., 21., 31.], [12., 22., 32.]]);
    Ok(())
}

// primer: where_cond
fn where_cond() -> R {
    let dev = Device::Cpu;
    let x = Tensor::new(&[[-1f32, 2.], [3., -4.]], &dev)?;
    let mask = x.ge(0.0)?; // U8, [2, 2]
                           // where_cond does not broadcast: both branches must have the mask's shape.
    let zero = Tensor::zeros((), DType::F32, &dev)?.broadcast_as(x.shape())?;
    let relu = mask.where_cond(&x, &zero)?; // [[0, 2], [3, 0]]
    assert_eq!(relu.to_vec2::<f32>()?, [[0., 2.], [3., 0.]]);
    Ok(())
}

// primer: matmul
fn matmul() -> R {
    let dev = Device::Cpu;
    let a = Tensor::ones((2, 3, 4), DType::F32, &dev)?;
    let w = Tensor::ones((4, 5), DType::F32, &dev)?;
    // matmul needs the same batch axes on both sides (and the same dtype):
    assert!(a.matmul(&w).is_err());
    let y = a.broadcast_matmul(&w)?; // [2, 3, 5]
    let v = Tensor::ones(4, DType::F32, &dev)?; // a vector is not a matrix: make it [4, 1]
    let z = a.broadcast_matmul(&v.unsqueeze(1)?)?.squeeze(D::Minus1)?; // [2, 3]
    assert_eq!((y.dims(), z.dims()), (&[2, 3, 5][..], &[2, 3][..]));
    assert!(a.matmul(&a.to_dtype(DType::F64)?.t()?).is_err());
    Ok(())
}

// primer: indices
fn indices() -> R {
    let dev = Device::Cpu;
    let table = Tensor::new(&[[1f32, 1.], [2., 2.], [3., 3.]], &dev)?;
    let idx = Tensor::new(&[2u32, 0, 2], &dev)?; // indices are U32 (or U8 / I64), never F32
    let rows = table.index_select(&idx, 0)?; // [[3, 3], [1, 1], [3, 3]]
    assert!(table.index_select(&idx.to_dtype(DType::F32)?, 0).is_err());
    assert_eq!(rows.to_vec2::<f32>()?, [[3., 3.], [1., 1.], [3., 3.]]);
    Ok(())
}

// primer: integers
fn integers() -> R {
    let dev = Device::Cpu;
    let k = Tensor::arange(0u32, 7, &dev)?;
    // Scalar arithmetic on an integer tensor converts the scalar to the tensor's dtype first:
    // `k / 3.0` is `k × (1/3 as u32)` = `k × 0`. Divide in f32 and floor explicitly:
    let naive = (&k / 3.0)?.to_vec1::<u32>()?; // [0, 0, 0, 0, 0, 0, 0]
    let q = (k.to_dtype(DType::F32)? / 3.0)?.floor()?.to_dtype(DType::U32)?; // [0, 0, 0, 1, 1, 1, 2]
    let r = (&k - (&q * 3.0)?)?; // k % 3: [0, 1, 2, 0, 1, 2, 0]
    assert_eq!(q.to_vec1::<u32>()?, [0, 0, 0, 1, 1, 1, 2]);
    assert_eq!(naive, [0; 7]);
    assert_eq!(r.to_vec1::<u32>()?, [0, 1, 2, 0, 1, 2, 0]);
    Ok(())
}

#[test]
fn every_example_holds() {
    for (name, f) in [
        ("arange", arange as fn() -> R),
        ("scalars", scalars),
        ("broadcasting", broadcasting),
        ("where_cond", where_cond),
        ("matmul", matmul),
        ("indices", indices),
        ("integers", integers),
    ] {
        f().unwrap_or_else(|e| panic!("primer example {name}: {e}"));
    }
}

/// Every `rust` block of the primer page is the body of one function above, line for line.
#[test]
fn the_page_shows_these_examples() {
    let here = include_str!("candle_primer.rs");
    let page = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../book/src/week1/candle.md")).unwrap();
    let mut blocks = 0;
    let mut rest = page.as_str();
    while let Some(start) = rest.find("```rust\n") {
        let body = &rest[start + 8..];
        let end = body.find("```").expect("an unclosed code block");
        let block = &body[..end];
        for line in block.lines().filter(|l| !l.trim().is_empty()) {
            assert!(here.contains(&format!("    {line}")), "book/src/week1/candle.md shows a line that no example runs: {line:?}");
        }
        blocks += 1;
        rest = &body[end + 3..];
    }
    assert_eq!(blocks, 7, "the primer page should show the seven examples");
}
