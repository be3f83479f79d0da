//! PNG pictures of week 0 (written with the `image` crate): the bigram count heatmap and the
//! 2-D scatter of character embeddings, each cell / point labelled with a tiny bitmap font.

use image::{Rgb, RgbImage};
use std::path::Path;

/// 3×5 bitmaps of `.` and `a`..`z` (rows top to bottom, `#` = ink).
const GLYPHS: [&str; 27] = [
    "...|...|...|...|.#.",
    ".#.|#.#|###|#.#|#.#",
    "##.|#.#|##.|#.#|##.",
    ".##|#..|#..|#..|.##",
    "##.|#.#|#.#|#.#|##.",
    "###|#..|##.|#..|###",
    "###|#..|##.|#..|#..",
    ".##|#..|#.#|#.#|.##",
    "#.#|#.#|###|#.#|#.#",
    "###|.#.|.#.|.#.|###",
    "..#|..#|..#|#.#|.#.",
    "#.#|#.#|##.|#.#|#.#",
    "#..|#..|#..|#..|###",
    "#.#|###|###|#.#|#.#",
    "##.|#.#|#.#|#.#|#.#",
    ".#.|#.#|#.#|#.#|.#.",
    "##.|#.#|##.|#..|#..",
    ".#.|#.#|#.#|##.|.##",
    "##.|#.#|##.|#.#|#.#",
    ".##|#..|.#.|..#|##.",
    "###|.#.|.#.|.#.|.#.",
    "#.#|#.#|#.#|#.#|###",
    "#.#|#.#|#.#|#.#|.#.",
    "#.#|#.#|###|###|#.#",
    "#.#|#.#|.#.|#.#|#.#",
    "#.#|#.#|.#.|.#.|.#.",
    "###|..#|.#.|#..|###",
];

/// Draw character `i` of the alphabet (`.` = 0) with its top-left corner at (x, y), `scale` pixels per dot.
fn glyph(img: &mut RgbImage, i: usize, x: i64, y: i64, scale: i64, color: Rgb<u8>) {
    for (r, row) in GLYPHS[i].split('|').enumerate() {
        for (c, ch) in row.chars().enumerate() {
            if ch != '#' {
                continue;
            }
            for dy in 0..scale {
                for dx in 0..scale {
                    let (px, py) = (x + c as i64 * scale + dx, y + r as i64 * scale + dy);
                    if px >= 0 && py >= 0 && (px as u32) < img.width() && (py as u32) < img.height() {
                        img.put_pixel(px as u32, py as u32, color);
                    }
                }
            }
        }
    }
}

/// The 27×27 count matrix as a heatmap (white → dark blue on a log scale), each cell labelled
/// with its two characters (row = first character, column = second).
pub fn bigram_heatmap(counts: &[f32], path: &Path) -> Result<(), crate::check::Fail> {
    const CELL: i64 = 20;
    let n = 27i64;
    let mut img = RgbImage::from_pixel((n * CELL) as u32, (n * CELL) as u32, Rgb([255, 255, 255]));
    let max = counts.iter().cloned().fold(1.0f32, f32::max).ln_1p();
    for i in 0..n {
        for j in 0..n {
            let v = counts[(i * n + j) as usize].max(0.0).ln_1p() / max;
            let shade = |lo: f32, hi: f32| (hi + (lo - hi) * v) as u8;
            let color = Rgb([shade(20.0, 255.0), shade(60.0, 255.0), shade(140.0, 255.0)]);
            for y in 0..CELL - 1 {
                for x in 0..CELL - 1 {
                    img.put_pixel((j * CELL + x) as u32, (i * CELL + y) as u32, color);
                }
            }
            let ink = if v > 0.5 { Rgb([255, 255, 255]) } else { Rgb([90, 90, 90]) };
            glyph(&mut img, i as usize, j * CELL + 2, i * CELL + 4, 2, ink);
            glyph(&mut img, j as usize, j * CELL + 10, i * CELL + 4, 2, ink);
        }
    }
    crate::picture::save(path, img)
}

/// Points `(x, y)` of the 27 characters, each drawn as its letter, axes scaled to fit.
pub fn embedding_scatter(points: &[(f32, f32)], path: &Path) -> Result<(), crate::check::Fail> {
    const SIZE: i64 = 480;
    const MARGIN: f32 = 30.0;
    let mut img = RgbImage::from_pixel(SIZE as u32, SIZE as u32, Rgb([255, 255, 255]));
    let (mut x0, mut x1, mut y0, mut y1) = (f32::MAX, f32::MIN, f32::MAX, f32::MIN);
    for &(x, y) in points {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(y);
        y1 = y1.max(y);
    }
    let span = |a: f32, b: f32| if b > a { b - a } else { 1.0 };
    let to_px = |v: f32, lo: f32, hi: f32| MARGIN + (v - lo) / span(lo, hi) * (SIZE as f32 - 2.0 * MARGIN);
    for (i, &(x, y)) in points.iter().enumerate().take(27) {
        let (px, py) = (to_px(x, x0, x1) as i64, SIZE - to_px(y, y0, y1) as i64);
        let vowel = matches!(i, 1 | 5 | 9 | 15 | 21);
        let color = if i == 0 {
            Rgb([200, 30, 30])
        } else if vowel {
            Rgb([20, 120, 40])
        } else {
            Rgb([20, 50, 140])
        };
        glyph(&mut img, i, px - 4, py - 7, 3, color);
    }
    crate::picture::save(path, img)
}
