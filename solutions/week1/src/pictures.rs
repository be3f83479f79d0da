//! # Pictures
//!
//! Two ways to make an image from tensors, both fully batched (one tensor expression for all
//! pixels, no loop over pixels):
//!
//! - a **coordinate MLP**: a tiny network maps each pixel's coordinates to a colour; the image
//!   is the network evaluated on the grid of all pixel coordinates;
//! - a **ray tracer**: one ray per pixel from a camera at the origin, intersected with every
//!   segment / triangle of a scene at once by solving small linear systems with Cramer's rule.
//!
//! The grader writes your images as PNG files under `target/candlecamp/week1/` and prints the
//! paths. Values are f32; booleans are returned as `u8` tensors (1 = true), as candle has no
//! bool dtype.
// STUB: #![allow(unused_variables, unused_imports)] // remove once you have solved a few

use candle_core::{DType, Device, Result, Tensor, D};

/// ## coordinate_grid
/// The coordinates of every pixel of an `h × w` image as rows of a `[h · w, 2]` f32 tensor, in
/// row-major pixel order (pixel `(i, j)` is row `i · w + j`). Row `i · w + j` is `(y_i, x_j)`
/// where `y = linspace(−1, 1, h)` and `x = linspace(−1, 1, w)` (for a size of 1, the single
/// value is −1, as in `torch.linspace`). Rules: `arange` and broadcasting, no loops over
/// pixels.
// HINT: Every pixel pairs one y (its row) with one x (its column): put the ys along one axis and the xs along the other, let broadcasting form every pair, then flatten the grid in row-major order.
// HINT: ys = linspace(−1, 1, h) as an [h, 1] column and xs = linspace(−1, 1, w) as a [1, w] row, both broadcast_as (h, w); Tensor::stack them on a new last axis ([h, w, 2]) and reshape to [h·w, 2]. linspace(−1, 1, n) is −1 + 2·i/(n − 1) from an arange, except for n = 1, which would divide by zero: that one value is −1.
// HINT: Tensor::stack(&[ys.unsqueeze(1)?.broadcast_as((h, w))?, xs.unsqueeze(0)?.broadcast_as((h, w))?], 2)?.reshape((h * w, 2))
pub fn coordinate_grid(h: usize, w: usize, dev: &Device) -> Result<Tensor> {
    // BEGIN SOLUTION
    let ys = linspace(h, dev)?.unsqueeze(1)?.broadcast_as((h, w))?;
    let xs = linspace(w, dev)?.unsqueeze(0)?.broadcast_as((h, w))?;
    Tensor::stack(&[ys, xs], 2)?.reshape((h * w, 2))
    // END SOLUTION
}

// BEGIN SOLUTION ONLY
/// `linspace(-1, 1, n)` as torch computes it: the first half from the start, the second half
/// backwards from the end (so the last value is exactly 1).
fn linspace(n: usize, dev: &Device) -> Result<Tensor> {
    if n == 1 {
        return Tensor::new(&[-1f32], dev);
    }
    let step = 2.0 / (n - 1) as f32;
    let half = n / 2;
    let v: Vec<f32> = (0..n).map(|i| if i < half { -1.0 + step * i as f32 } else { 1.0 - step * (n - 1 - i) as f32 }).collect();
    Tensor::from_vec(v, n, dev)
}
// END SOLUTION

/// The weights of a coordinate MLP, in PyTorch's `nn.Linear` layout (`weight: [out, in]`,
/// `bias: [out]`): `Linear(2, h) → sin → Linear(h, h) → sin → Linear(h, 3) → sigmoid`.
pub struct CoordMlp {
    pub w1: Tensor,
    pub b1: Tensor,
    pub w2: Tensor,
    pub b2: Tensor,
    pub w3: Tensor,
    pub b3: Tensor,
}

impl CoordMlp {
    /// ## coord_mlp
    /// Colours `[n, 3]` in (0, 1) for coordinates `[n, 2]`: `sigmoid(sin(sin(c W1ᵀ + b1) W2ᵀ + b2) W3ᵀ + b3)`.
    /// (Periodic activations let a small network draw fine detail — compare ReLU, whose images
    /// are piecewise linear.) Rules: no `candle_nn`.
    // HINT: Each nn.Linear is a product with the transposed weight plus the bias; the network applies a sine after the first two and a sigmoid after the last. render is then this network evaluated on every pixel's coordinates.
    // HINT: lin(x, w, b) = x.matmul(&w.t()?)?.broadcast_add(b); h = sin(lin(coords, w1, b1)); h = sin(lin(h, w2, b2)); colours = sigmoid(lin(h, w3, b3)), with sigmoid(z) = 1/(1 + exp(−z)) from neg, exp, + 1 and recip (no candle_nn). render: forward on coordinate_grid(h, w, device), reshaped to (h, w, 3).
    // HINT: (z.neg()?.exp()? + 1.0)?.recip() for the sigmoid, and self.forward(&coordinate_grid(h, w, self.w1.device())?)?.reshape((h, w, 3)) for render
    pub fn forward(&self, coords: &Tensor) -> Result<Tensor> {
        // BEGIN SOLUTION
        let lin = |x: &Tensor, w: &Tensor, b: &Tensor| x.matmul(&w.t()?)?.broadcast_add(b);
        let h = lin(coords, &self.w1, &self.b1)?.sin()?;
        let h = lin(&h, &self.w2, &self.b2)?.sin()?;
        let z = lin(&h, &self.w3, &self.b3)?;
        (z.neg()?.exp()? + 1.0)?.recip()
        // END SOLUTION
    }

    /// ## render
    /// The `h × w` image `[h, w, 3]`: `forward` on `coordinate_grid(h, w)`, reshaped.
    pub fn render(&self, h: usize, w: usize) -> Result<Tensor> {
        // BEGIN SOLUTION
        self.forward(&coordinate_grid(h, w, self.w1.device())?)?.reshape((h, w, 3))
        // END SOLUTION
    }
}

/// ## make_rays_2d
/// A pinhole camera at the origin looking along +x: `ny · nz` rays as `[ny · nz, 2, 3]`, ray
/// `k = i · nz + j` is `[origin, direction]` with origin `(0, 0, 0)` and direction
/// `(1, y_i, z_j)`, `y = linspace(−ylim, ylim, ny)`, `z = linspace(−zlim, zlim, nz)` (a single
/// value is `−limit`, as in torch).
// HINT: Every ray starts at the origin; only the directions differ, (1, y, z) for each pixel of the ny × nz grid. It is the coordinate grid again, with a column of ones in front and an origin for each ray.
// HINT: ys = ylim·linspace(−1, 1, ny) as an [ny, 1] column and zs = zlim·linspace(−1, 1, nz) as a [1, nz] row (a single value is −limit), both broadcast to (ny, nz) and reshaped to [ny·nz]; directions = Tensor::stack of [ones, ys, zs] on axis 1 ([n, 3]); origins = zeros_like(directions); stacking origins and directions on axis 1 gives [n, 2, 3].
// HINT: let dir = Tensor::stack(&[Tensor::ones(n, DType::F32, dev)?, ys, zs], 1)?; Tensor::stack(&[dir.zeros_like()?, dir], 1)
pub fn make_rays_2d(ny: usize, nz: usize, ylim: f32, zlim: f32, dev: &Device) -> Result<Tensor> {
    // BEGIN SOLUTION
    let n = ny * nz;
    let ys = (linspace(ny, dev)? * ylim as f64)?.unsqueeze(1)?.broadcast_as((ny, nz))?.reshape(n)?;
    let zs = (linspace(nz, dev)? * zlim as f64)?.unsqueeze(0)?.broadcast_as((ny, nz))?.reshape(n)?;
    let dir = Tensor::stack(&[Tensor::ones(n, DType::F32, dev)?, ys, zs], 1)?;
    Tensor::stack(&[dir.zeros_like()?, dir], 1)
    // END SOLUTION
}

// BEGIN SOLUTION ONLY
/// Component `k` (0, 1 or 2) of the last axis.
fn comp(t: &Tensor, k: usize) -> Result<Tensor> {
    t.narrow(D::Minus1, k, 1)?.squeeze(D::Minus1)
}

/// Cross product along the last axis (size 3), broadcasting.
fn cross(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    let (a0, a1, a2) = (comp(a, 0)?, comp(a, 1)?, comp(a, 2)?);
    let (b0, b1, b2) = (comp(b, 0)?, comp(b, 1)?, comp(b, 2)?);
    let c0 = (a1.broadcast_mul(&b2)? - a2.broadcast_mul(&b1)?)?;
    let c1 = (a2.broadcast_mul(&b0)? - a0.broadcast_mul(&b2)?)?;
    let c2 = (a0.broadcast_mul(&b1)? - a1.broadcast_mul(&b0)?)?;
    Tensor::stack(&[c0, c1, c2], D::Minus1)
}

fn dot(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    a.broadcast_mul(b)?.sum(D::Minus1)
}

/// For rays `[nr, 2, 3]` and triangles `[nt, 3, 3]`: `(hit [nr, nt] u8, s [nr, nt])` where the
/// ray meets the triangle's plane at `O + s D`.
fn ray_triangle(rays: &Tensor, tris: &Tensor) -> Result<(Tensor, Tensor)> {
    let o = rays.narrow(1, 0, 1)?.squeeze(1)?.unsqueeze(1)?; // [nr, 1, 3]
    let d = rays.narrow(1, 1, 1)?.squeeze(1)?.unsqueeze(1)?; // [nr, 1, 3]
    let a = tris.narrow(1, 0, 1)?.squeeze(1)?.unsqueeze(0)?; // [1, nt, 3]
    let e1 = (tris.narrow(1, 1, 1)?.squeeze(1)? - tris.narrow(1, 0, 1)?.squeeze(1)?)?.unsqueeze(0)?;
    let e2 = (tris.narrow(1, 2, 1)?.squeeze(1)? - tris.narrow(1, 0, 1)?.squeeze(1)?)?.unsqueeze(0)?;
    let t = o.broadcast_sub(&a)?; // [nr, nt, 3]
    let m0 = d.neg()?;
    // Cramer's rule for [-D, e1, e2] (s, u, v)ᵀ = O − A.
    let e1xe2 = cross(&e1, &e2)?; // [1, nt, 3]
    let det = dot(&m0, &e1xe2)?; // [nr, nt]
    let s = dot(&t, &e1xe2)?.div(&det)?;
    let u = dot(&m0, &cross(&t, &e2)?)?.div(&det)?;
    let v = dot(&m0, &cross(&e1, &t)?)?.div(&det)?;
    let ok = det.abs()?.gt(1e-12)?;
    let inside = s.ge(0.0)?.mul(&u.ge(0.0)?)?.mul(&v.ge(0.0)?)?.mul(&(&u + &v)?.le(1.0)?)?;
    Ok((ok.mul(&inside)?, s))
}
// END SOLUTION

/// ## intersect_segments
/// Rays in the plane against line segments: for each ray (`rays: [nr, 2, 3]`, only the x and y
/// coordinates count), 1 if it hits *any* of the segments (`segments: [ns, 2, 3]`, endpoints
/// `L1`, `L2`), else 0, as `[nr]` u8. A ray `O + u D` meets the segment `L1 + v (L2 − L1)`
/// where `[D | L1 − L2] · (u, v)ᵀ = L1 − O` (a 2 × 2 system); it is a hit when the system has a
/// solution (determinant ≠ 0: parallel lines never hit) with `u ≥ 0` and `0 ≤ v ≤ 1`. Solve all
/// `nr × ns` systems at once by Cramer's rule: for `[[a, b], [c, d]] · (u, v) = (e, f)`,
/// `det = ad − bc`, `u = (ed − bf) / det`, `v = (af − ec) / det`. No loops over rays.
// HINT: All ray–segment pairs at once: give every ray quantity the shape [nr, 1] and every segment quantity [1, ns], and each formula of Cramer's rule broadcasts to the [nr, ns] table. A ray hits if any segment in its row is hit.
// HINT: Pull out the x and y of O, D, L1 and L2 with narrow and squeeze (ray values unsqueezed to [nr, 1], segment values to [1, ns]). The system's columns are D and L1 − L2, its right-hand side is L1 − O: det = dx·by − dy·bx, u = (ex·by − ey·bx)/det, v = (dx·ey − dy·ex)/det. hit = (|det| > 1e-9)·(u ≥ 0)·(v ≥ 0)·(v ≤ 1), multiplying the u8 masks; the max over axis 1 is 'any'.
// HINT: let hit = det.abs()?.gt(1e-9)?.mul(&u.ge(0.0)?)?.mul(&v.ge(0.0)?)?.mul(&v.le(1.0)?)?; hit.max(1)
pub fn intersect_segments(rays: &Tensor, segments: &Tensor) -> Result<Tensor> {
    // BEGIN SOLUTION
    let xy = |t: &Tensor, k: usize, c: usize| t.narrow(1, k, 1)?.squeeze(1)?.narrow(1, c, 1)?.squeeze(1);
    let (ox, oy, dx, dy) = (xy(rays, 0, 0)?.unsqueeze(1)?, xy(rays, 0, 1)?.unsqueeze(1)?, xy(rays, 1, 0)?.unsqueeze(1)?, xy(rays, 1, 1)?.unsqueeze(1)?);
    let (l1x, l1y, l2x, l2y) =
        (xy(segments, 0, 0)?.unsqueeze(0)?, xy(segments, 0, 1)?.unsqueeze(0)?, xy(segments, 1, 0)?.unsqueeze(0)?, xy(segments, 1, 1)?.unsqueeze(0)?);
    let (bx, by) = ((&l1x - &l2x)?, (&l1y - &l2y)?); // second column
    let (ex, ey) = (l1x.broadcast_sub(&ox)?, l1y.broadcast_sub(&oy)?); // right-hand side
    let det = (dx.broadcast_mul(&by)? - dy.broadcast_mul(&bx)?)?;
    let u = (ex.broadcast_mul(&by)? - ey.broadcast_mul(&bx)?)?.div(&det)?;
    let v = (dx.broadcast_mul(&ey)? - dy.broadcast_mul(&ex)?)?.div(&det)?;
    let hit = det.abs()?.gt(1e-9)?.mul(&u.ge(0.0)?)?.mul(&v.ge(0.0)?)?.mul(&v.le(1.0)?)?;
    hit.max(1)
    // END SOLUTION
}

/// ## intersect_triangle
/// Rays in space against one triangle `[3, 3]` (corners `A`, `B`, `C`): `[nr]` u8, 1 where the
/// ray hits. The ray `O + s D` meets the triangle's plane at `A + u (B − A) + v (C − A)`, i.e.
/// `[−D | B − A | C − A] · (s, u, v)ᵀ = O − A`; a hit needs a non-zero determinant, `s ≥ 0`,
/// `u ≥ 0`, `v ≥ 0` and `u + v ≤ 1`. Solve by Cramer's rule with scalar triple products
/// (`det[a | b | c] = a · (b × c)`): write a batched `cross` from `narrow`/`stack`.
// HINT: Three unknowns (s, u, v) and a 3 × 3 system per ray: Cramer's rule again, with each determinant written as a scalar triple product. The ray test is s ≥ 0, not s ≥ 1: a direction's length is arbitrary.
// HINT: With e1 = B − A, e2 = C − A, T = O − A: det = (−D)·(e1×e2), s = T·(e1×e2)/det, u = (−D)·(T×e2)/det, v = (−D)·(e1×T)/det. Write a batched cross from the three components (narrow and squeeze on the last axis) stacked back on the last axis, and dot as broadcast_mul then sum over the last axis. hit = (|det| > a tiny number)·(s ≥ 0)·(u ≥ 0)·(v ≥ 0)·(u + v ≤ 1), as u8.
// HINT: cross(a, b): with ai = a.narrow(D::Minus1, i, 1)?.squeeze(D::Minus1)?, c0 = (a1.broadcast_mul(&b2)? - a2.broadcast_mul(&b1)?)?, c1 = a2·b0 − a0·b2, c2 = a0·b1 − a1·b0, then Tensor::stack(&[c0, c1, c2], D::Minus1)
pub fn intersect_triangle(rays: &Tensor, triangle: &Tensor) -> Result<Tensor> {
    // BEGIN SOLUTION
    let (hit, _) = ray_triangle(rays, &triangle.unsqueeze(0)?)?;
    hit.squeeze(1)
    // END SOLUTION
}

/// ## raytrace_mesh
/// The distance from the camera to the nearest triangle of a mesh along each ray:
/// `rays: [nr, 2, 3]`, `triangles: [nt, 3, 3]` → `[nr]` f32, `s · |D|` for the smallest `s`
/// among the triangles the ray hits, `+∞` where it hits none. Rules: all `nr × nt` pairs at
/// once (`where_cond` with an `∞` tensor for misses, then `min` over triangles).
// HINT: Solve every ray against every triangle at once, then keep each ray's nearest hit. Misses must not win the minimum, so give them infinity.
// HINT: Do intersect_triangle's computation with rays shaped [nr, 1, 3] and the triangles' corners [1, nt, 3], so that det, s, u, v and the hit mask are [nr, nt]; distance = s·|D|, with |D| the square root of the direction's summed squares ([nr, 1]); where_cond(hit, distance, a +∞ tensor of the same shape), then min over axis 1.
// HINT: hit.where_cond(&dist, &Tensor::full(f32::INFINITY, dist.shape(), dist.device())?)?.min(1)
pub fn raytrace_mesh(rays: &Tensor, triangles: &Tensor) -> Result<Tensor> {
    // BEGIN SOLUTION
    let (hit, s) = ray_triangle(rays, triangles)?;
    let len = rays.narrow(1, 1, 1)?.squeeze(1)?.sqr()?.sum_keepdim(1)?.sqrt()?; // [nr, 1]
    let dist = s.broadcast_mul(&len)?;
    let inf = Tensor::full(f32::INFINITY, dist.shape(), dist.device())?;
    hit.where_cond(&dist, &inf)?.min(1)
    // END SOLUTION
}
