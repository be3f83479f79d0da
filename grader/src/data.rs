//! Datasets: where they live, how they get there, and how they are read.
//!
//! Every dataset file has a home in the repository's `data/` folder (git-ignored), a published
//! checksum and the address it is published at. `grader data` (`just data`) fills `data/`:
//! a file already there with the right checksum is kept; otherwise it is copied from a local
//! mirror folder (`CANDLECAMP_DATA_MIRROR`, default `../shared/data` beside the repository: the
//! raw files, exactly as published) or, when neither has it and the network is allowed,
//! downloaded with a progress bar. Whatever arrives is verified before it is moved into place,
//! so a torn download or a wrong file never reaches a loader.
//!
//! The loaders (`names`, `tinyshakespeare`, `mnist`) only read `data/`: checks never touch the
//! network, and a missing file is an error that names `just data`.

use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// How a published file is identified.
#[derive(Clone, Copy, Debug)]
pub enum Checksum {
    Sha256(&'static str),
    /// MNIST's files are published with md5 sums (the original distribution's and torchvision's).
    Md5(&'static str),
}

/// Why a dataset file could not be had or read.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("{kind} is {got}, expected {want}")]
    Checksum { kind: &'static str, got: String, want: String },
    /// Every way of getting a file failed; each attempt's reason, in order.
    #[error("{}", .0.join("; "))]
    Unavailable(Vec<String>),
    #[error("cannot {action} {}: {cause}", path.display())]
    Io { action: &'static str, path: PathBuf, cause: std::io::Error },
    #[error("{0}")]
    Download(String),
    #[error("{rel} ({what}) is not in {} and the grader could not fetch it (not in the mirror {}, and {}): put the file at {}, set CANDLECAMP_DATA_MIRROR to a folder that has it, or download it from {url}", dir.display(), mirror.display(), if *offline { "downloads are off" } else { "the download failed" }, dir.join(rel).display())]
    NotFetched { rel: &'static str, what: &'static str, dir: PathBuf, mirror: PathBuf, offline: bool, url: &'static str },
    #[error("{} is damaged ({cause}): delete it and run `just data`", path.display())]
    Damaged { path: PathBuf, cause: Box<DataError> },
    #[error("{rel} is not UTF-8: {cause}")]
    NotUtf8 { rel: &'static str, cause: std::string::FromUtf8Error },
    /// The bytes are not in the expected format (gzip, IDX, a matching MNIST pair).
    #[error("{0}")]
    Format(String),
    #[error("{required} required file(s) could not be had: {}", missing.join(", "))]
    Missing { required: usize, missing: Vec<&'static str> },
    #[error(transparent)]
    Tensor(#[from] candle_core::Error),
}

fn io<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> DataError + 'a {
    move |cause| DataError::Io { action, path: path.to_path_buf(), cause }
}

impl Checksum {
    pub fn verify(&self, bytes: &[u8]) -> Result<(), DataError> {
        let (kind, want, got) = match self {
            Checksum::Sha256(w) => ("sha256", *w, format!("{:x}", Sha256::digest(bytes))),
            Checksum::Md5(w) => ("md5", *w, format!("{:x}", md5::Md5::digest(bytes))),
        };
        if got == want {
            Ok(())
        } else {
            Err(DataError::Checksum { kind, got, want: want.to_string() })
        }
    }
}

/// One published data file.
#[derive(Clone, Copy, Debug)]
pub struct DataFile {
    /// Path under `data/` (and under the mirror folder).
    pub rel: &'static str,
    pub checksum: Checksum,
    /// Where it is published, tried in order.
    pub urls: &'static [&'static str],
    /// Needed offline: `grader data` fails without it. Optional files (the 60,000 MNIST training
    /// images) are fetched when the network allows and used when present.
    pub required: bool,
    pub what: &'static str,
}

pub const NAMES: DataFile = DataFile {
    rel: "names.txt",
    checksum: Checksum::Sha256("0a30b5557f192f32ab962680889aac5f6fda0f4cecf40a6d0b5694f58ea8cc4d"),
    urls: &["https://raw.githubusercontent.com/karpathy/makemore/master/names.txt"],
    required: true,
    what: "32,033 names (makemore)",
};

pub const TINY_SHAKESPEARE: DataFile = DataFile {
    rel: "tinyshakespeare.txt",
    checksum: Checksum::Sha256("86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"),
    urls: &["https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt"],
    required: true,
    what: "Tiny Shakespeare (char-rnn)",
};

macro_rules! mnist_file {
    ($file:literal, $md5:literal, $required:expr, $what:literal) => {
        DataFile {
            rel: concat!("mnist/", $file),
            checksum: Checksum::Md5($md5),
            urls: &[concat!("https://ossci-datasets.s3.amazonaws.com/mnist/", $file), concat!("http://yann.lecun.com/exdb/mnist/", $file)],
            required: $required,
            what: $what,
        }
    };
}

pub const MNIST_TEST_IMAGES: DataFile = mnist_file!("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3", true, "MNIST test images");
pub const MNIST_TEST_LABELS: DataFile = mnist_file!("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c", true, "MNIST test labels");
pub const MNIST_TRAIN_IMAGES: DataFile = mnist_file!("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873", false, "MNIST training images");
pub const MNIST_TRAIN_LABELS: DataFile = mnist_file!("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432", false, "MNIST training labels");

/// Every file `grader data` knows.
pub const ALL: &[DataFile] = &[NAMES, TINY_SHAKESPEARE, MNIST_TEST_IMAGES, MNIST_TEST_LABELS, MNIST_TRAIN_IMAGES, MNIST_TRAIN_LABELS];

/// The cache folder the loaders read (`CANDLECAMP_DATA`, default `data/` in the repository).
pub fn dir() -> PathBuf {
    std::env::var_os("CANDLECAMP_DATA").map(PathBuf::from).unwrap_or_else(|| crate::root().join("data"))
}

/// The local mirror of published files (`CANDLECAMP_DATA_MIRROR`, default `../shared/data`).
pub fn mirror() -> PathBuf {
    std::env::var_os("CANDLECAMP_DATA_MIRROR").map(PathBuf::from).unwrap_or_else(|| crate::root().join("../shared/data"))
}

/// Whether downloads are allowed: not when `HF_HUB_OFFLINE` or `CANDLECAMP_OFFLINE` is set to
/// something other than 0 / empty.
pub fn offline() -> bool {
    ["HF_HUB_OFFLINE", "CANDLECAMP_OFFLINE"].iter().any(|v| std::env::var(v).is_ok_and(|s| !s.is_empty() && s != "0"))
}

/// Where a file came from, for the report.
#[derive(Debug, PartialEq, Eq)]
pub enum Origin {
    Cached,
    Mirror,
    Downloaded(String),
}

/// Make `file` present and verified under `cache`. Returns where it came from.
pub fn ensure(file: &DataFile, cache: &Path, mirror: &Path, allow_download: bool) -> Result<Origin, DataError> {
    let dest = cache.join(file.rel);
    if let Ok(bytes) = std::fs::read(&dest) {
        if file.checksum.verify(&bytes).is_ok() {
            return Ok(Origin::Cached);
        }
    }
    let mut problems = Vec::new();
    let local = mirror.join(file.rel);
    match std::fs::read(&local) {
        Ok(bytes) => match file.checksum.verify(&bytes) {
            Ok(()) => {
                install(&dest, &bytes)?;
                return Ok(Origin::Mirror);
            }
            Err(e) => problems.push(format!("{} does not match: {e}", local.display())),
        },
        Err(_) => problems.push(format!("not in the local mirror {}", mirror.display())),
    }
    if !allow_download {
        problems.push("downloads are off (HF_HUB_OFFLINE / CANDLECAMP_OFFLINE)".into());
        return Err(DataError::Unavailable(problems));
    }
    for url in file.urls {
        match download(url, file.what) {
            Ok(bytes) => match file.checksum.verify(&bytes) {
                Ok(()) => {
                    install(&dest, &bytes)?;
                    return Ok(Origin::Downloaded(url.to_string()));
                }
                Err(e) => problems.push(format!("{url}: the download does not match: {e}")),
            },
            Err(e) => problems.push(format!("{url}: {e}")),
        }
    }
    Err(DataError::Unavailable(problems))
}

/// Write through a temporary file and rename, so a reader never sees half a file.
pub fn install(dest: &Path, bytes: &[u8]) -> Result<(), DataError> {
    let parent = dest.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(io("create", parent))?;
    let tmp = dest.with_extension("partial");
    std::fs::write(&tmp, bytes).map_err(io("write", &tmp))?;
    std::fs::rename(&tmp, dest).map_err(io("move into place", dest))
}

/// GET `url` with a progress bar on a terminal.
pub fn download(url: &str, what: &str) -> Result<Vec<u8>, DataError> {
    let agent = ureq::AgentBuilder::new().timeout_connect(std::time::Duration::from_secs(15)).timeout_read(std::time::Duration::from_secs(60)).build();
    let resp = agent.get(url).call().map_err(|e| DataError::Download(format!("download failed: {e}")))?;
    let total: Option<u64> = resp.header("Content-Length").and_then(|v| v.parse().ok());
    let bar = match total {
        Some(n) => indicatif::ProgressBar::new(n),
        None => indicatif::ProgressBar::new_spinner(),
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg:30} {bar:30} {bytes}/{total_bytes} {bytes_per_sec}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar.set_message(what.to_string());
    let mut reader = resp.into_reader();
    let mut out = Vec::with_capacity(total.unwrap_or(0) as usize);
    let mut buf = [0u8; 64 * 1024];
    loop {
        let n = reader.read(&mut buf).map_err(|e| DataError::Download(format!("download interrupted: {e}")))?;
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
        bar.inc(n as u64);
    }
    bar.finish_and_clear();
    if let Some(n) = total {
        if out.len() as u64 != n {
            return Err(DataError::Download(format!("download ended after {} of {n} bytes", out.len())));
        }
    }
    Ok(out)
}

/// `grader data`: fill `data/`, one line per file. Fails when a required file could not be had.
pub fn run() -> Result<(), DataError> {
    let (cache, mirror) = (dir(), mirror());
    let allow = !offline();
    let mut missing = Vec::new();
    for f in ALL {
        match ensure(f, &cache, &mirror, allow) {
            Ok(Origin::Cached) => println!("data: {:32} ok (already in {})", f.rel, cache.display()),
            Ok(Origin::Mirror) => println!("data: {:32} copied from {}", f.rel, mirror.display()),
            Ok(Origin::Downloaded(u)) => println!("data: {:32} downloaded from {u}", f.rel),
            Err(e) if f.required => {
                println!("data: {:32} MISSING: {e}", f.rel);
                missing.push(f.rel);
            }
            Err(_) => println!("data: {:32} not available offline (optional: {})", f.rel, f.what),
        }
    }
    match crate::minilm::fetch(&cache, &mirror, allow) {
        Ok(line) => println!("data: {:32} {line}", "minilm (all-MiniLM-L6-v2)"),
        Err(e) => println!("data: {:32} not available (optional: week 2's pretrained BERT; {e})", "minilm (all-MiniLM-L6-v2)"),
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(DataError::Missing { required: missing.len(), missing })
    }
}

/// Before a grade: fetch every required file that is not yet in `data/` (from the mirror, or
/// by download when allowed), so that the first grade of a fresh copy just works. Returns a line
/// per file fetched or still missing; a file that cannot be had is reported again, exactly, by
/// the exercises that read it.
pub fn prefetch() -> Vec<String> {
    let (cache, mirror) = (dir(), mirror());
    let allow = !offline();
    let mut lines = Vec::new();
    for f in ALL.iter().filter(|f| f.required) {
        let present = std::fs::read(cache.join(f.rel)).is_ok_and(|b| f.checksum.verify(&b).is_ok());
        if present {
            continue;
        }
        lines.push(match ensure(f, &cache, &mirror, allow) {
            Ok(Origin::Mirror) => format!("data: {} ({}) copied from {}", f.rel, f.what, mirror.display()),
            Ok(Origin::Downloaded(u)) => format!("data: {} ({}) downloaded from {u}", f.rel, f.what),
            Ok(Origin::Cached) => continue,
            Err(e) => format!("data: {} ({}) could not be fetched: {e}", f.rel, f.what),
        });
    }
    lines
}

/// Read a file of `data/` after checking it, or say how to get it.
pub fn read(file: &DataFile) -> Result<Vec<u8>, DataError> {
    let path = dir().join(file.rel);
    let bytes = std::fs::read(&path).map_err(|_| DataError::NotFetched {
        rel: file.rel,
        what: file.what,
        dir: dir(),
        mirror: mirror(),
        offline: offline(),
        url: file.urls.first().copied().unwrap_or(""),
    })?;
    file.checksum.verify(&bytes).map_err(|e| DataError::Damaged { path: path.clone(), cause: Box::new(e) })?;
    Ok(bytes)
}

/// The lines of a text file of `data/` (names.txt: one name per line).
pub fn lines(file: &DataFile) -> Result<Vec<String>, DataError> {
    let text = text(file)?;
    Ok(text.lines().map(str::to_string).collect())
}

/// The whole text of a file of `data/` (Tiny Shakespeare).
pub fn text(file: &DataFile) -> Result<String, DataError> {
    String::from_utf8(read(file)?).map_err(|cause| DataError::NotUtf8 { rel: file.rel, cause })
}

/// MNIST as tensors: images `[n, 784]` f32 in [0, 1], labels `[n]` u32.
pub struct Mnist {
    pub train_images: candle_core::Tensor,
    pub train_labels: candle_core::Tensor,
    pub test_images: candle_core::Tensor,
    pub test_labels: candle_core::Tensor,
    /// Which split this is, for reports.
    pub split: String,
}

/// Images of the offline split used for training (the first 8,000 of the 10,000 test images);
/// the last 2,000 are held out.
pub const OFFLINE_TRAIN: usize = 8000;

/// Load MNIST from `data/mnist`: the official 60,000 / 10,000 split when the training files are
/// there, otherwise the 10,000 test images split deterministically into the first 8,000 for
/// training and the last 2,000 held out.
pub fn mnist(device: &candle_core::Device) -> Result<Mnist, DataError> {
    let (ti, tl) = (parse_idx(&gunzip(&read(&MNIST_TEST_IMAGES)?)?)?, parse_idx(&gunzip(&read(&MNIST_TEST_LABELS)?)?)?);
    let train = dir().join(MNIST_TRAIN_IMAGES.rel).exists() && dir().join(MNIST_TRAIN_LABELS.rel).exists();
    let tensors = |img: &Idx, lab: &Idx, range: std::ops::Range<usize>| -> Result<(candle_core::Tensor, candle_core::Tensor), DataError> {
        let px = img.dims[1..].iter().product::<usize>();
        let n = range.len();
        let pixels: Vec<f32> = img.data[range.start * px..range.end * px].iter().map(|&b| b as f32 / 255.0).collect();
        let labels: Vec<u32> = lab.data[range].iter().map(|&b| b as u32).collect();
        let x = candle_core::Tensor::from_vec(pixels, (n, px), device)?;
        let y = candle_core::Tensor::from_vec(labels, n, device)?;
        Ok((x, y))
    };
    check_pair(&ti, &tl)?;
    if train {
        let (ri, rl) = (parse_idx(&gunzip(&read(&MNIST_TRAIN_IMAGES)?)?)?, parse_idx(&gunzip(&read(&MNIST_TRAIN_LABELS)?)?)?);
        check_pair(&ri, &rl)?;
        let (train_images, train_labels) = tensors(&ri, &rl, 0..ri.dims[0])?;
        let (test_images, test_labels) = tensors(&ti, &tl, 0..ti.dims[0])?;
        Ok(Mnist { train_images, train_labels, test_images, test_labels, split: "official split: 60,000 training / 10,000 test images".into() })
    } else {
        let n = ti.dims[0];
        let (train_images, train_labels) = tensors(&ti, &tl, 0..OFFLINE_TRAIN.min(n))?;
        let (test_images, test_labels) = tensors(&ti, &tl, OFFLINE_TRAIN.min(n)..n)?;
        Ok(Mnist {
            train_images,
            train_labels,
            test_images,
            test_labels,
            split: format!("offline split of the 10,000 MNIST test images: first {OFFLINE_TRAIN} for training, last {} held out", n - OFFLINE_TRAIN.min(n)),
        })
    }
}

fn check_pair(images: &Idx, labels: &Idx) -> Result<(), DataError> {
    if images.dims.len() != 3 || labels.dims.len() != 1 || images.dims[0] != labels.dims[0] {
        return Err(DataError::Format(format!("MNIST images {:?} and labels {:?} do not belong together", images.dims, labels.dims)));
    }
    Ok(())
}

pub fn gunzip(bytes: &[u8]) -> Result<Vec<u8>, DataError> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes).read_to_end(&mut out).map_err(|e| DataError::Format(format!("not a valid gzip file: {e}")))?;
    Ok(out)
}

/// A parsed IDX file of unsigned bytes (the MNIST format).
#[derive(Debug)]
pub struct Idx {
    pub dims: Vec<usize>,
    pub data: Vec<u8>,
}

/// Parse IDX: two zero bytes, a type byte (0x08 = unsigned byte), the number of dimensions,
/// then each dimension as a big-endian u32, then the data in row-major order.
pub fn parse_idx(bytes: &[u8]) -> Result<Idx, DataError> {
    let bad = |m: String| DataError::Format(m);
    if bytes.len() < 4 || bytes[0] != 0 || bytes[1] != 0 {
        return Err(bad("not an IDX file (bad magic number)".into()));
    }
    if bytes[2] != 0x08 {
        return Err(bad(format!("IDX type 0x{:02x} is not supported (only unsigned bytes, 0x08)", bytes[2])));
    }
    let rank = bytes[3] as usize;
    let header = 4 + 4 * rank;
    if bytes.len() < header {
        return Err(bad("IDX header is truncated".into()));
    }
    let dims: Vec<usize> = (0..rank).map(|i| u32::from_be_bytes(bytes[4 + 4 * i..8 + 4 * i].try_into().unwrap()) as usize).collect();
    let n: usize = dims.iter().product();
    if bytes.len() != header + n {
        return Err(bad(format!("IDX data has {} bytes, the header promises {n}", bytes.len() - header)));
    }
    Ok(Idx { dims, data: bytes[header..].to_vec() })
}

/// Write an IDX file (tests; and the format lesson).
pub fn write_idx(dims: &[usize], data: &[u8], out: &mut impl Write) -> std::io::Result<()> {
    out.write_all(&[0, 0, 0x08, dims.len() as u8])?;
    for &d in dims {
        out.write_all(&(d as u32).to_be_bytes())?;
    }
    out.write_all(data)
}

// ------------------------------------------------------------------------------------------------
// A labelled sentiment set: Tiny Shakespeare's lines, labelled by word lists (weeks 3 and 4).
// ------------------------------------------------------------------------------------------------

/// Words that make a line positive, for [`sentiment_label`].
pub const POSITIVE: &[&str] = &[
    "love",
    "loved",
    "loves",
    "loving",
    "sweet",
    "good",
    "gentle",
    "fair",
    "joy",
    "happy",
    "kind",
    "dear",
    "noble",
    "honour",
    "honest",
    "grace",
    "gracious",
    "blessed",
    "bless",
    "merry",
    "glad",
    "peace",
    "smile",
    "true",
    "heaven",
    "beauty",
    "beautiful",
    "best",
    "friend",
    "friends",
];
/// Words that make a line negative.
pub const NEGATIVE: &[&str] = &[
    "hate", "hated", "death", "dead", "die", "kill", "killed", "murder", "blood", "bloody", "foul", "vile", "false", "traitor", "villain", "grief", "woe",
    "sorrow", "curse", "cursed", "fear", "evil", "wicked", "enemy", "enemies", "poison", "tears", "weep", "war", "sick",
];

/// The rule: more positive than negative words → Some(true), more negative → Some(false).
pub fn sentiment_label(line: &str) -> Option<bool> {
    let lower = line.to_lowercase();
    let words = lower.split(|c: char| !(c.is_ascii_lowercase() || c == '\'')).filter(|w| !w.is_empty());
    let (mut p, mut n) = (0, 0);
    for w in words {
        p += POSITIVE.contains(&w) as i32;
        n += NEGATIVE.contains(&w) as i32;
    }
    (p != n).then_some(p > n)
}

/// Every line of Tiny Shakespeare that [`sentiment_label`] labels, in order, split into training
/// lines and test lines (every fifth).
#[allow(clippy::type_complexity)]
pub fn sentiment_lines() -> Result<(Vec<(String, bool)>, Vec<(String, bool)>), DataError> {
    let text = text(&TINY_SHAKESPEARE)?;
    let all: Vec<(String, bool)> = text.lines().filter(|l| !l.trim().is_empty()).filter_map(|l| sentiment_label(l).map(|y| (l.to_string(), y))).collect();
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for (i, e) in all.into_iter().enumerate() {
        if i % 5 == 4 {
            test.push(e);
        } else {
            train.push(e);
        }
    }
    Ok((train, test))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("candlecamp-data-test-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    /// A one-file HTTP server on loopback: serves `body` to every request, `hits` times.
    fn serve(body: Vec<u8>, hits: usize) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            for stream in listener.incoming().take(hits) {
                let mut s = stream.unwrap();
                let mut req = [0u8; 4096];
                let _ = s.read(&mut req);
                let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
                let _ = s.write_all(head.as_bytes());
                let _ = s.write_all(&body);
            }
        });
        format!("http://{addr}/file")
    }

    fn file_at(url: &'static str, checksum: Checksum) -> DataFile {
        DataFile { rel: "sub/file.bin", checksum, urls: std::slice::from_ref(Box::leak(Box::new(url))), required: true, what: "test file" }
    }

    #[test]
    fn idx_round_trip_and_errors() {
        let mut buf = Vec::new();
        write_idx(&[2, 3], &[1, 2, 3, 4, 5, 6], &mut buf).unwrap();
        let idx = parse_idx(&buf).unwrap();
        assert_eq!(idx.dims, vec![2, 3]);
        assert_eq!(idx.data, vec![1, 2, 3, 4, 5, 6]);
        assert!(parse_idx(&buf[..buf.len() - 1]).unwrap_err().to_string().contains("promises"));
        assert!(parse_idx(&[1, 0, 8, 1]).unwrap_err().to_string().contains("magic"));
    }

    #[test]
    fn checksums_accept_the_right_bytes_only() {
        let sha = Checksum::Sha256("2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
        assert!(sha.verify(b"hello").is_ok());
        assert!(sha.verify(b"hellO").is_err());
        let md5 = Checksum::Md5("5d41402abc4b2a76b9719d911017c592");
        assert!(md5.verify(b"hello").is_ok());
        assert!(md5.verify(b"hell").unwrap_err().to_string().contains("md5"));
    }

    #[test]
    fn mirror_then_cache() {
        let (cache, mirror) = (tmp("mc-cache"), tmp("mc-mirror"));
        let f = file_at("http://127.0.0.1:9/never", Checksum::Md5("5d41402abc4b2a76b9719d911017c592"));
        assert!(ensure(&f, &cache, &mirror, false).unwrap_err().to_string().contains("downloads are off"));
        std::fs::create_dir_all(mirror.join("sub")).unwrap();
        std::fs::write(mirror.join("sub/file.bin"), b"hello").unwrap();
        assert_eq!(ensure(&f, &cache, &mirror, false).unwrap(), Origin::Mirror);
        assert_eq!(ensure(&f, &cache, &mirror, false).unwrap(), Origin::Cached);
        // A damaged cache copy is replaced, never used.
        std::fs::write(cache.join("sub/file.bin"), b"HELLO").unwrap();
        assert_eq!(ensure(&f, &cache, &mirror, false).unwrap(), Origin::Mirror);
        assert_eq!(std::fs::read(cache.join("sub/file.bin")).unwrap(), b"hello");
    }

    #[test]
    fn downloads_are_verified_before_they_land() {
        let (cache, mirror) = (tmp("dl-cache"), tmp("dl-mirror"));
        let good = serve(b"hello".to_vec(), 1);
        let f = file_at(Box::leak(good.into_boxed_str()), Checksum::Md5("5d41402abc4b2a76b9719d911017c592"));
        assert!(matches!(ensure(&f, &cache, &mirror, true).unwrap(), Origin::Downloaded(_)));
        assert_eq!(std::fs::read(cache.join("sub/file.bin")).unwrap(), b"hello");

        let (cache, mirror) = (tmp("dl-cache2"), tmp("dl-mirror2"));
        let bad = serve(b"tampered".to_vec(), 1);
        let f = file_at(Box::leak(bad.into_boxed_str()), Checksum::Md5("5d41402abc4b2a76b9719d911017c592"));
        let err = ensure(&f, &cache, &mirror, true).unwrap_err().to_string();
        assert!(err.contains("does not match"), "{err}");
        assert!(!cache.join("sub/file.bin").exists() && !cache.join("sub/file.partial").exists());
    }
}
