//! Pictures for people: tensors written as PNG files under `target/candlecamp/`.

use crate::check::Fail;
use candle_core::Tensor;
use std::path::Path;

/// The values to draw, read on the host (a picture is drawn from the learner's result: an error
/// reading it is that result's, reported as a mismatch by `to_f64`).
fn values(t: &Tensor) -> Result<Vec<f32>, Fail> {
    Ok(crate::compare::to_f64(t)?.into_iter().map(|x| x as f32).collect())
}

/// Write `img` as a PNG at `path`, making its folder.
pub fn save(path: &Path, img: image::RgbImage) -> Result<(), Fail> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Fail::Internal(format!("cannot create {}: {e}", dir.display())))?;
    }
    img.save(path).map_err(|e| Fail::Internal(format!("cannot write {}: {e}", path.display())))
}

/// 2-D vectors drawn as arrows from the centre of a `size`-pixel square (the longest reaching
/// 45 % of the width), on light axes, each in a colour of its own: e.g. a toy model's feature
/// directions.
pub fn arrows(path: &Path, vectors: &[(f32, f32)], size: u32) -> Result<(), Fail> {
    const COLOURS: [[u8; 3]; 8] =
        [[31, 119, 180], [255, 127, 14], [44, 160, 44], [214, 39, 40], [148, 103, 189], [140, 86, 75], [227, 119, 194], [127, 127, 127]];
    let mut img = image::RgbImage::from_pixel(size, size, image::Rgb([255, 255, 255]));
    let c = size as f32 / 2.0;
    for k in 0..size {
        img.put_pixel(k, size / 2, image::Rgb([220, 220, 220]));
        img.put_pixel(size / 2, k, image::Rgb([220, 220, 220]));
    }
    let put = |img: &mut image::RgbImage, x: i64, y: i64, colour: image::Rgb<u8>| {
        if x >= 0 && y >= 0 && (x as u32) < size && (y as u32) < size {
            img.put_pixel(x as u32, y as u32, colour);
        }
    };
    let longest = vectors.iter().map(|(x, y)| x.hypot(*y)).fold(0f32, f32::max).max(1e-12);
    let scale = 0.45 * size as f32 / longest;
    for (i, (x, y)) in vectors.iter().enumerate() {
        let colour = image::Rgb(COLOURS[i % COLOURS.len()]);
        let steps = (x.hypot(*y) * scale).ceil().max(1.0) as usize * 2;
        for s in 0..=steps {
            let f = s as f32 / steps as f32;
            let (px, py) = (c + f * x * scale, c - f * y * scale);
            for (dx, dy) in [(0.0, 0.0), (1.0, 0.0), (0.0, 1.0)] {
                put(&mut img, (px + dx) as i64, (py + dy) as i64, colour);
            }
        }
        let (tx, ty) = ((c + x * scale) as i64, (c - y * scale) as i64);
        for dx in -3..=3i64 {
            for dy in -3..=3i64 {
                put(&mut img, tx + dx, ty + dy, colour);
            }
        }
    }
    save(path, img)
}

/// An `[h, w, 3]` image with values in [0, 1] (clamped), scaled up `zoom` times.
pub fn rgb(path: &Path, t: &Tensor, zoom: u32) -> Result<(), Fail> {
    let (h, w, c) = t.dims3().map_err(|e| Fail::Mismatch(format!("picture {}: {e}", path.display())))?;
    if c != 3 {
        return Err(Fail::Mismatch(format!("picture {}: expected 3 channels, found {c}", path.display())));
    }
    let v = values(t)?;
    let img = image::RgbImage::from_fn(w as u32 * zoom, h as u32 * zoom, |x, y| {
        let k = ((y / zoom) as usize * w + (x / zoom) as usize) * 3;
        let px = |i: usize| (v[k + i].clamp(0.0, 1.0) * 255.0).round() as u8;
        image::Rgb([px(0), px(1), px(2)])
    });
    save(path, img)
}

/// An `[h, w]` field of numbers as a heatmap (dark blue = smallest finite value, yellow =
/// largest; non-finite values black), scaled up `zoom` times.
pub fn heatmap(path: &Path, t: &Tensor, zoom: u32) -> Result<(), Fail> {
    let (h, w) = t.dims2().map_err(|e| Fail::Mismatch(format!("picture {}: {e}", path.display())))?;
    let v = values(t)?;
    let finite = v.iter().copied().filter(|x| x.is_finite());
    let (lo, hi) = finite.fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), x| (a.min(x), b.max(x)));
    let span = if hi > lo { hi - lo } else { 1.0 };
    let img = image::RgbImage::from_fn(w as u32 * zoom, h as u32 * zoom, |x, y| {
        let val = v[(y / zoom) as usize * w + (x / zoom) as usize];
        if !val.is_finite() {
            return image::Rgb([0, 0, 0]);
        }
        image::Rgb(ramp((val - lo) / span))
    });
    save(path, img)
}

/// An `[h, w]` field of signed numbers, symmetric around 0: blue for −max|value|, white for 0,
/// red for +max|value| (non-finite values black), scaled up `zoom` times. For similarities,
/// encodings, anything whose sign matters.
pub fn signed_heatmap(path: &Path, t: &Tensor, zoom: u32) -> Result<(), Fail> {
    let (h, w) = t.dims2().map_err(|e| Fail::Mismatch(format!("picture {}: {e}", path.display())))?;
    let v = values(t)?;
    let m = v.iter().filter(|x| x.is_finite()).fold(0f32, |a, x| a.max(x.abs())).max(f32::MIN_POSITIVE);
    let img = image::RgbImage::from_fn(w as u32 * zoom, h as u32 * zoom, |x, y| {
        let val = v[(y / zoom) as usize * w + (x / zoom) as usize];
        if !val.is_finite() {
            return image::Rgb([0, 0, 0]);
        }
        image::Rgb(diverging(0.5 + 0.5 * val / m))
    });
    save(path, img)
}

/// Blue (t = 0) → white (0.5) → red (1).
fn diverging(t: f32) -> [u8; 3] {
    let t = t.clamp(0.0, 1.0);
    let (blue, white, red) = ([33.0, 102.0, 172.0], [247.0, 247.0, 247.0], [178.0, 24.0, 43.0]);
    let (a, b, f) = if t < 0.5 { (blue, white, t * 2.0) } else { (white, red, t * 2.0 - 1.0) };
    [0, 1, 2].map(|i| (a[i] + (b[i] - a[i]) * f).round() as u8)
}

/// A blue → green → yellow colour ramp for t in [0, 1].
fn ramp(t: f32) -> [u8; 3] {
    let t = t.clamp(0.0, 1.0);
    let stops = [[40.0, 30.0, 110.0], [30.0, 150.0, 140.0], [250.0, 230.0, 40.0]];
    let (a, b, f) = if t < 0.5 { (stops[0], stops[1], t * 2.0) } else { (stops[1], stops[2], t * 2.0 - 1.0) };
    [0, 1, 2].map(|i| (a[i] + (b[i] - a[i]) * f) as u8)
}

/// A line chart of one or more series (same x axis: their index), each in its own colour, on a
/// white `width × height` canvas with a light frame. For loss curves.
pub fn lines(path: &Path, series: &[&[f32]], width: u32, height: u32) -> Result<(), Fail> {
    let mut img = image::RgbImage::from_pixel(width, height, image::Rgb([255, 255, 255]));
    let all = series.iter().flat_map(|s| s.iter().copied()).filter(|x| x.is_finite());
    let (lo, hi) = all.fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), x| (a.min(x), b.max(x)));
    let span = if hi > lo { hi - lo } else { 1.0 };
    let m = 8u32;
    for x in m..width - m {
        img.put_pixel(x, height - m, image::Rgb([200, 200, 200]));
    }
    for y in m..height - m {
        img.put_pixel(m, y, image::Rgb([200, 200, 200]));
    }
    let colours = [[31, 119, 180], [214, 39, 40], [44, 160, 44], [148, 103, 189]];
    for (k, s) in series.iter().enumerate() {
        let n = s.len().max(2) - 1;
        let pt = |i: usize| {
            let x = m as f32 + (width - 2 * m) as f32 * i as f32 / n as f32;
            let y = (height - m) as f32 - (height - 2 * m) as f32 * (s[i] - lo) / span;
            (x, y)
        };
        for i in 1..s.len() {
            if !(s[i - 1].is_finite() && s[i].is_finite()) {
                continue;
            }
            let ((x0, y0), (x1, y1)) = (pt(i - 1), pt(i));
            let steps = ((x1 - x0).abs().max((y1 - y0).abs()).ceil() as usize).max(1);
            for j in 0..=steps {
                let f = j as f32 / steps as f32;
                let (x, y) = (x0 + (x1 - x0) * f, y0 + (y1 - y0) * f);
                if x >= 0.0 && y >= 0.0 && (x as u32) < width && (y as u32) < height {
                    img.put_pixel(x as u32, y as u32, image::Rgb(colours[k % colours.len()]));
                }
            }
        }
    }
    save(path, img)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diverging_is_white_at_zero_and_signed_at_the_ends() {
        assert_eq!(diverging(0.5), [247, 247, 247]);
        let (lo, hi) = (diverging(0.0), diverging(1.0));
        assert!(lo[2] > lo[0] && hi[0] > hi[2], "{lo:?} {hi:?}");
    }

    #[test]
    fn pictures_have_the_zoomed_size() {
        let dir = std::env::temp_dir().join(format!("candlecamp-picture-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let t = Tensor::new(&[[-1f32, 0.0, 2.0], [f32::NAN, 1.0, 0.5]], &candle_core::Device::Cpu).unwrap();
        for (name, f) in [("s.png", signed_heatmap as fn(&Path, &Tensor, u32) -> Result<(), Fail>), ("h.png", heatmap)] {
            f(&dir.join(name), &t, 4).unwrap();
            let img = image::open(dir.join(name)).unwrap();
            assert_eq!((img.width(), img.height()), (12, 8));
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
