//! A minimal PNG writer for the pictures checks leave under `target/candlecamp/` (heatmaps of
//! matrices: attention patterns, positional encodings, similarity matrices). 8-bit RGB, one
//! zlib stream, no filters: small images only. Uses flate2 (zlib and CRC-32), already a
//! dependency, instead of an image crate.

use flate2::write::ZlibEncoder;
use flate2::{Compression, Crc};
use std::io::Write;
use std::path::Path;

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let mut crc = Crc::new();
    crc.update(kind);
    crc.update(data);
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    out.extend_from_slice(&crc.sum().to_be_bytes());
}

/// Encode `rgb` (`width · height · 3` bytes, row-major) as a PNG file.
pub fn encode_rgb(width: usize, height: usize, rgb: &[u8]) -> std::io::Result<Vec<u8>> {
    assert_eq!(rgb.len(), width * height * 3, "rgb buffer does not match {width}×{height}");
    let mut raw = Vec::with_capacity(height * (1 + width * 3));
    for row in rgb.chunks(width * 3) {
        raw.push(0); // filter: none
        raw.extend_from_slice(row);
    }
    let mut z = ZlibEncoder::new(Vec::new(), Compression::default());
    z.write_all(&raw)?;
    let idat = z.finish()?;
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&(width as u32).to_be_bytes());
    ihdr.extend_from_slice(&(height as u32).to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8 bits, RGB, deflate, no filter, no interlace
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &idat);
    chunk(&mut out, b"IEND", &[]);
    Ok(out)
}

/// A blue → white → red colour for `t` in [0, 1] (0.5 is white: good for signed values).
fn diverging(t: f64) -> [u8; 3] {
    let t = t.clamp(0.0, 1.0);
    let lerp = |a: f64, b: f64, s: f64| (a + (b - a) * s).round() as u8;
    if t < 0.5 {
        let s = t / 0.5;
        [lerp(33.0, 247.0, s), lerp(102.0, 247.0, s), lerp(172.0, 247.0, s)]
    } else {
        let s = (t - 0.5) / 0.5;
        [lerp(247.0, 178.0, s), lerp(247.0, 24.0, s), lerp(247.0, 43.0, s)]
    }
}

/// Write `values` (`rows × cols`, row-major) as a heatmap, each cell `scale × scale` pixels.
/// Colours are symmetric around 0 (blue negative, white 0, red positive) over ±max|value|.
pub fn heatmap(path: &Path, values: &[f32], rows: usize, cols: usize, scale: usize) -> std::io::Result<()> {
    assert_eq!(values.len(), rows * cols);
    let m = values.iter().fold(0f32, |a, v| if v.is_finite() { a.max(v.abs()) } else { a }).max(f32::MIN_POSITIVE) as f64;
    let (w, h) = (cols * scale, rows * scale);
    let mut rgb = vec![0u8; w * h * 3];
    for y in 0..h {
        for x in 0..w {
            let v = values[(y / scale) * cols + x / scale] as f64;
            let c = if v.is_finite() { diverging(0.5 + 0.5 * v / m) } else { [0, 0, 0] };
            rgb[(y * w + x) * 3..(y * w + x) * 3 + 3].copy_from_slice(&c);
        }
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, encode_rgb(w, h, &rgb)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn a_png_has_its_signature_chunks_and_pixels() {
        let rgb: Vec<u8> = (0..2 * 3 * 3).map(|i| i as u8 * 10).collect();
        let png = encode_rgb(2, 3, &rgb).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(&png[12..16], b"IHDR");
        assert_eq!(u32::from_be_bytes(png[16..20].try_into().unwrap()), 2);
        assert_eq!(u32::from_be_bytes(png[20..24].try_into().unwrap()), 3);
        // The IHDR CRC covers the type and the data.
        let mut crc = Crc::new();
        crc.update(&png[12..29]);
        assert_eq!(u32::from_be_bytes(png[29..33].try_into().unwrap()), crc.sum());
        // The IDAT stream inflates to the rows, each behind a 0 filter byte.
        let len = u32::from_be_bytes(png[33..37].try_into().unwrap()) as usize;
        assert_eq!(&png[37..41], b"IDAT");
        let mut raw = Vec::new();
        flate2::read::ZlibDecoder::new(&png[41..41 + len]).read_to_end(&mut raw).unwrap();
        assert_eq!(raw.len(), 3 * (1 + 6));
        assert_eq!(&raw[1..7], &rgb[0..6]);
        assert!(png.ends_with(&[0xae, 0x42, 0x60, 0x82]), "IEND's CRC closes the file");
    }

    #[test]
    fn heatmap_colours_sign_and_size() {
        assert_eq!(diverging(0.5), [247, 247, 247]);
        assert!(diverging(1.0)[0] > diverging(1.0)[2] && diverging(0.0)[2] > diverging(0.0)[0]);
        let p = std::env::temp_dir().join(format!("candlecamp-heatmap-{}.png", std::process::id()));
        heatmap(&p, &[-1.0, 0.0, 1.0, f32::NAN], 2, 2, 3).unwrap();
        let png = std::fs::read(&p).unwrap();
        assert_eq!(u32::from_be_bytes(png[16..20].try_into().unwrap()), 6);
        std::fs::remove_file(&p).unwrap();
    }
}
