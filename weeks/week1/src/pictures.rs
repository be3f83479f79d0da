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
#![allow(unused_variables, unused_imports)] // remove once you have solved a few

use candle_core::{DType, Device, Result, Tensor, D};

/// ## coordinate_grid
/// The coordinates of every pixel of an `h × w` image as rows of a `[h · w, 2]` f32 tensor, in
/// row-major pixel order (pixel `(i, j)` is row `i · w + j`). Row `i · w + j` is `(y_i, x_j)`
/// where `y = linspace(−1, 1, h)` and `x = linspace(−1, 1, w)` (for a size of 1, the single
/// value is −1, as in `torch.linspace`). Rules: `arange` and broadcasting, no loops over
/// pixels.
pub fn coordinate_grid(h: usize, w: usize, dev: &Device) -> Result<Tensor> {
    todo!()
}

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
    pub fn forward(&self, coords: &Tensor) -> Result<Tensor> {
        todo!()
    }

    /// ## render
    /// The `h × w` image `[h, w, 3]`: `forward` on `coordinate_grid(h, w)`, reshaped.
    pub fn render(&self, h: usize, w: usize) -> Result<Tensor> {
        todo!()
    }
}

/// ## make_rays_2d
/// A pinhole camera at the origin looking along +x: `ny · nz` rays as `[ny · nz, 2, 3]`, ray
/// `k = i · nz + j` is `[origin, direction]` with origin `(0, 0, 0)` and direction
/// `(1, y_i, z_j)`, `y = linspace(−ylim, ylim, ny)`, `z = linspace(−zlim, zlim, nz)` (a single
/// value is `−limit`, as in torch).
pub fn make_rays_2d(ny: usize, nz: usize, ylim: f32, zlim: f32, dev: &Device) -> Result<Tensor> {
    todo!()
}

/// ## intersect_segments
/// Rays in the plane against line segments: for each ray (`rays: [nr, 2, 3]`, only the x and y
/// coordinates count), 1 if it hits *any* of the segments (`segments: [ns, 2, 3]`, endpoints
/// `L1`, `L2`), else 0, as `[nr]` u8. A ray `O + u D` meets the segment `L1 + v (L2 − L1)`
/// where `[D | L1 − L2] · (u, v)ᵀ = L1 − O` (a 2 × 2 system); it is a hit when the system has a
/// solution (determinant ≠ 0: parallel lines never hit) with `u ≥ 0` and `0 ≤ v ≤ 1`. Solve all
/// `nr × ns` systems at once by Cramer's rule: for `[[a, b], [c, d]] · (u, v) = (e, f)`,
/// `det = ad − bc`, `u = (ed − bf) / det`, `v = (af − ec) / det`. No loops over rays.
pub fn intersect_segments(rays: &Tensor, segments: &Tensor) -> Result<Tensor> {
    todo!()
}

/// ## intersect_triangle
/// Rays in space against one triangle `[3, 3]` (corners `A`, `B`, `C`): `[nr]` u8, 1 where the
/// ray hits. The ray `O + s D` meets the triangle's plane at `A + u (B − A) + v (C − A)`, i.e.
/// `[−D | B − A | C − A] · (s, u, v)ᵀ = O − A`; a hit needs a non-zero determinant, `s ≥ 0`,
/// `u ≥ 0`, `v ≥ 0` and `u + v ≤ 1`. Solve by Cramer's rule with scalar triple products
/// (`det[a | b | c] = a · (b × c)`): write a batched `cross` from `narrow`/`stack`.
pub fn intersect_triangle(rays: &Tensor, triangle: &Tensor) -> Result<Tensor> {
    todo!()
}

/// ## raytrace_mesh
/// The distance from the camera to the nearest triangle of a mesh along each ray:
/// `rays: [nr, 2, 3]`, `triangles: [nt, 3, 3]` → `[nr]` f32, `s · |D|` for the smallest `s`
/// among the triangles the ray hits, `+∞` where it hits none. Rules: all `nr × nt` pairs at
/// once (`where_cond` with an `∞` tensor for misses, then `min` over triangles).
pub fn raytrace_mesh(rays: &Tensor, triangles: &Tensor) -> Result<Tensor> {
    todo!()
}
