//! Checks for week1 day "pictures": a coordinate MLP's image and batched ray tracing against
//! PyTorch (fixtures/gen/week1_pictures.py); the images are written as PNGs.

use crate::cases::{Case, FixtureFile};
use crate::check::{ensure, CheckResult, Ctx, Fail, Learner};
use crate::compare::{close, exact, Tol};
use crate::registry::{Day, Exercise};
use crate::subject::week1::pictures as pc;
use candle_core::{DType, Tensor};

const FX: FixtureFile = FixtureFile::new("week1/pictures.safetensors");

/// Three f32 layers with sin activations of arguments up to ~30: a few ulps of rounding in
/// the matmuls stay ~1e-7 after sin and sigmoid (observed 1.8e-7). Colours are shown with
/// 8 bits (steps of 0.004), so 1e-5 is far below anything visible, while a wrong layout
/// (weight not transposed, x and y swapped) changes whole colours.
const IMAGE: Tol = Tol { abs: 1e-5, rel: 1e-5 };
/// Distances from Cramer's rule in f32 vs PyTorch's float64 solve: observed 7.2e-7 absolute
/// (2.7e-7 relative) on distances of ~3.
const DIST: Tol = Tol { abs: 1e-4, rel: 1e-4 };

fn mlp(c: &Case) -> Result<pc::CoordMlp, Fail> {
    Ok(pc::CoordMlp { w1: c.t("w1")?, b1: c.t("b1")?, w2: c.t("w2")?, b2: c.t("b2")?, w3: c.t("w3")?, b3: c.t("b3")? })
}

/// Zero the entries the fixture marks ambiguous (hit/miss within rounding of a boundary), in
/// the learner's result and in the expected one alike.
fn mask(t: &Tensor, ambiguous: &Tensor) -> Result<Tensor, Fail> {
    ambiguous.where_cond(&t.zeros_like().grader()?, t).grader()
}

fn hits_vs_torch(ctx: &Ctx, name: &'static str, f: impl Fn(&Case) -> Result<Tensor, Fail>) -> CheckResult {
    for c in FX.cases(ctx, name)? {
        let got = f(&c)?;
        crate::check::shape_is(&c.label(), &got, c.out()?.dims())?;
        let amb = c.t("ambiguous")?;
        exact(
            &format!("{} (u8: 1 = hit; rays within 1e-4 of an edge are not compared)", c.label()),
            &mask(&got.to_dtype(DType::U8).learner()?, &amb)?,
            &mask(&c.out()?, &amb)?,
        )?;
    }
    Ok(())
}

const DAY: Day = Day::new("week1", "pictures", "src/pictures.rs");

pub fn exercises() -> Vec<Exercise> {
    vec![
        DAY.exercise("coordinate_grid", "the coordinates of every pixel").pace(2, 35).function("coordinate_grid").check(
            "vs torch (meshgrid of linspace)",
            |ctx| {
                for c in FX.cases(ctx, "coordinate_grid")? {
                    close(&c.label(), &pc::coordinate_grid(c.n("h")?, c.n("w")?, &ctx.device).learner()?, &c.out()?, Tol::F32)?;
                }
                Ok(())
            },
        ),
        DAY.exercise("coord_mlp", "a coordinate MLP's image").pace(2, 20).function("coord_mlp").function("forward").check("image vs torch", |ctx| {
            for c in FX.cases(ctx, "coord_mlp")? {
                let (h, w) = (c.n("h")?, c.n("w")?);
                let img = mlp(&c)?.render(h, w).learner()?;
                close(&c.label(), &img, &c.out()?, IMAGE)?;
                if h > 10 {
                    crate::picture::rgb(&ctx.artefact("week1/coord_mlp.png")?, &img, 3)?;
                }
            }
            Ok(())
        }),
        DAY.exercise("make_rays_2d", "one ray per pixel").pace(3, 90).function("make_rays_2d").check("vs torch", |ctx| {
            for c in FX.cases(ctx, "make_rays_2d")? {
                let got = pc::make_rays_2d(c.n("ny")?, c.n("nz")?, c.f("ylim")? as f32, c.f("zlim")? as f32, &ctx.device).learner()?;
                close(&c.label(), &got, &c.out()?, Tol::F32)?;
            }
            Ok(())
        }),
        DAY.exercise("intersect_segments", "rays against segments, all at once")
            .pace(2, 30)
            .function("intersect_segments")
            .check("vs torch (float64 solve)", |ctx| {
                hits_vs_torch(ctx, "intersect_segments", |c| pc::intersect_segments(&c.t("rays")?, &c.t("segments")?).learner())
            })
            .check("moving rays and segments together changes no hit (origins away from 0)", |ctx| {
                // The fixture's rays all start at the origin, where O drops out of L1 − O; a
                // translation by (0.7, −1.3, 0) of every origin and endpoint keeps each hit.
                hits_vs_torch(ctx, "intersect_segments", |c| {
                    let shift = Tensor::new(&[[[0.7f32, -1.3, 0.0], [0.0, 0.0, 0.0]]], &ctx.device).grader()?;
                    let both = Tensor::new(&[[[0.7f32, -1.3, 0.0], [0.7, -1.3, 0.0]]], &ctx.device).grader()?;
                    let rays = c.t("rays")?.broadcast_add(&shift).grader()?;
                    let segments = c.t("segments")?.broadcast_add(&both).grader()?;
                    pc::intersect_segments(&rays, &segments).learner()
                })
            })
            .check("reversed rays, and rays among segments on every side, vs Cramer's rule in f64", |ctx| {
                // The fixture's segments lie ahead of its rays (u > 0): reversed rays, and rays
                // from scattered origins, are where the test u ≥ 0 decides. Rays within 1e-4 of
                // an ambiguous case (an endpoint, u = 0, a nearly parallel segment) are skipped.
                let compare = |label: &str, rays: &Tensor, segs: &Tensor| -> CheckResult {
                    let got = crate::compare::to_f64(&pc::intersect_segments(rays, segs).learner()?)?;
                    let (r, s) = (crate::compare::to_f64(rays)?, crate::compare::to_f64(segs)?);
                    let (nr, ns) = (rays.dim(0).grader()?, segs.dim(0).grader()?);
                    ensure(got.len() == nr, || format!("{label}: {} values for {nr} rays", got.len()))?;
                    for i in 0..nr {
                        let (ox, oy, dx, dy) = (r[i * 6], r[i * 6 + 1], r[i * 6 + 3], r[i * 6 + 4]);
                        let (mut hit, mut ambiguous) = (false, false);
                        for k in 0..ns {
                            let (l1x, l1y, l2x, l2y) = (s[k * 6], s[k * 6 + 1], s[k * 6 + 3], s[k * 6 + 4]);
                            let (bx, by, ex, ey) = (l1x - l2x, l1y - l2y, l1x - ox, l1y - oy);
                            let det = dx * by - dy * bx;
                            if det.abs() < 1e-4 {
                                ambiguous |= det.abs() > 1e-12;
                                continue;
                            }
                            let (u, v) = ((ex * by - ey * bx) / det, (dx * ey - dy * ex) / det);
                            ambiguous |= u.abs() < 1e-4 || v.abs() < 1e-4 || (v - 1.0).abs() < 1e-4;
                            hit |= u >= 0.0 && (0.0..=1.0).contains(&v);
                        }
                        if !ambiguous {
                            ensure((got[i] != 0.0) == hit, || {
                                format!(
                                    "{label}, ray {i} (origin ({ox:.3}, {oy:.3}), direction ({dx:.3}, {dy:.3})): you say {}, Cramer's rule says {}",
                                    got[i] != 0.0,
                                    hit
                                )
                            })?;
                        }
                    }
                    Ok(())
                };
                for c in FX.cases(ctx, "intersect_segments")? {
                    let flip = Tensor::new(&[[[1f32], [-1.0]]], &ctx.device).grader()?;
                    compare(&format!("{} with reversed rays", c.label()), &c.t("rays")?.broadcast_mul(&flip).grader()?, &c.t("segments")?)?;
                }
                // 60 rays from scattered origins among 8 segments, from a fixed sequence.
                let mut seed = 12345u64;
                let mut next = || {
                    seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    ((seed >> 33) as f64 / (1u64 << 31) as f64) * 4.0 - 2.0
                };
                let rays: Vec<f32> = (0..60).flat_map(|_| [next(), next(), 0.0, next(), next(), 0.0]).map(|x| x as f32).collect();
                let segs: Vec<f32> = (0..8).flat_map(|_| [next(), next(), 0.0, next(), next(), 0.0]).map(|x| x as f32).collect();
                compare(
                    "60 scattered rays, 8 segments",
                    &Tensor::from_vec(rays, (60, 2, 3), &ctx.device).grader()?,
                    &Tensor::from_vec(segs, (8, 2, 3), &ctx.device).grader()?,
                )
            }),
        DAY.exercise("intersect_triangle", "rays against a triangle (Möller–Trumbore)")
            .pace(1, 10)
            .function("intersect_triangle")
            .check("vs torch (float64 solve)", |ctx| {
                hits_vs_torch(ctx, "intersect_triangle", |c| pc::intersect_triangle(&c.t("rays")?, &c.t("triangle")?).learner())
            })
            .check("directions 10× longer change no hit (the triangle then lies at s < 1)", |ctx| {
                // A hit needs s ≥ 0, not s ≥ 1: with the fixture's unit-scale directions the
                // triangle lies at s > 1 and both tests agree; scaled directions tell them apart.
                hits_vs_torch(ctx, "intersect_triangle", |c| {
                    let scale = Tensor::new(&[[[1f32], [10.0]]], &ctx.device).grader()?;
                    pc::intersect_triangle(&c.t("rays")?.broadcast_mul(&scale).grader()?, &c.t("triangle")?).learner()
                })
            }),
        DAY.exercise("raytrace_mesh", "a depth image of a mesh")
            .pace(2, 20)
            .function("raytrace_mesh")
            .check("distances vs torch", |ctx| {
                for c in FX.cases(ctx, "raytrace_mesh")? {
                    let got = pc::raytrace_mesh(&c.t("rays")?, &c.t("triangles")?).learner()?;
                    crate::check::shape_is(&c.label(), &got, c.out()?.dims())?;
                    let amb = c.t("ambiguous")?;
                    close(
                        &format!("{} (+inf = no hit; rays within 1e-4 of an edge are not compared)", c.label()),
                        &mask(&got, &amb)?,
                        &mask(&c.out()?, &amb)?,
                        DIST,
                    )?;
                }
                Ok(())
            })
            .check("picture of the torus", |ctx| {
                let fx = FX.open(ctx)?;
                let tris = fx.get("raytrace_mesh.1.triangles")?;
                let n = 96;
                let rays = pc::make_rays_2d(n, n, 0.6, 0.6, &ctx.device).learner()?;
                let dist = pc::raytrace_mesh(&rays, &tris).learner()?.reshape((n, n)).on_learner()?;
                // Nearer is brighter: the heatmap maps the largest value to yellow.
                crate::picture::heatmap(&ctx.artefact("week1/torus_depth.png")?, &dist.neg().on_learner()?, 3)
            }),
    ]
}
