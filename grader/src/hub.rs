//! Real model weights from the Hugging Face Hub, for the `--pretrained` checks.
//!
//! Files are looked up in the HF cache first (the layout `huggingface_hub` and hf-hub share:
//! `<cache>/models--<owner>--<name>/{refs/main, snapshots/<commit>/<file>}`), and only when one
//! is missing downloaded through hf-hub (with a progress bar, into the same cache). hf-hub does
//! not read `HF_HUB_OFFLINE`; we do: when it is set (or `CANDLECAMP_OFFLINE`, which the test
//! suite sets) nothing is downloaded and a missing file is an error the check turns into
//! "skipped". The cache is `HF_HUB_CACHE`, else `$HF_HOME/hub`, else
//! `~/.cache/huggingface/hub`; `HF_ENDPOINT` overrides the server.

use hf_hub::api::sync::ApiBuilder;
use hf_hub::{Cache, Repo};
use std::path::{Path, PathBuf};

/// The HF cache directory (see the module doc).
pub fn cache_dir() -> PathBuf {
    if let Some(p) = std::env::var_os("HF_HUB_CACHE") {
        return PathBuf::from(p);
    }
    Cache::from_env().path().clone()
}

fn truthy(var: &str) -> bool {
    std::env::var(var).map(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on")).unwrap_or(false)
}

/// Whether downloads are forbidden (`HF_HUB_OFFLINE` or `CANDLECAMP_OFFLINE`).
pub fn offline() -> bool {
    truthy("HF_HUB_OFFLINE") || truthy("CANDLECAMP_OFFLINE")
}

/// Why a model's files could not be had.
#[derive(Debug, thiserror::Error)]
pub enum HubError {
    #[error("{repo} ({files}) is not in the HF cache at {} and downloads are off (HF_HUB_OFFLINE / CANDLECAMP_OFFLINE)", cache.display())]
    Offline { repo: String, files: String, cache: PathBuf },
    #[error("cannot start hf-hub: {0}")]
    Start(hf_hub::api::sync::ApiError),
    #[error("downloading {file} failed: {cause}")]
    Download { file: String, cause: hf_hub::api::sync::ApiError },
    #[error("{0}: no files asked for")]
    NoFiles(String),
}

/// The snapshot directory of `repo` in `cache` if every one of `files` is there.
pub fn cached(cache: &Path, repo: &str, files: &[&str]) -> Option<PathBuf> {
    let c = Cache::new(cache.to_path_buf()).repo(Repo::model(repo.to_string()));
    let mut dir = None;
    for f in files {
        let p = c.get(f)?;
        dir = p.parent().map(Path::to_path_buf);
    }
    dir
}

/// The directory holding `files` of model `repo`: from `cache`, or (unless `offline`) downloaded
/// into it from `endpoint` (default huggingface.co). The error says what is missing and why.
pub fn resolve_in(cache: &Path, repo: &str, files: &[&str], offline: bool, endpoint: Option<String>) -> Result<PathBuf, HubError> {
    if let Some(dir) = cached(cache, repo, files) {
        return Ok(dir);
    }
    if offline {
        return Err(HubError::Offline { repo: repo.to_string(), files: files.join(", "), cache: cache.to_path_buf() });
    }
    let mut builder = ApiBuilder::from_cache(Cache::new(cache.to_path_buf())).with_progress(true);
    if let Some(e) = endpoint {
        builder = builder.with_endpoint(e);
    }
    let api = builder.build().map_err(HubError::Start)?;
    let model = api.model(repo.to_string());
    let mut dir = None;
    for f in files {
        let p = model.get(f).map_err(|cause| HubError::Download { file: format!("{repo}/{f}"), cause })?;
        dir = p.parent().map(Path::to_path_buf);
    }
    dir.ok_or_else(|| HubError::NoFiles(repo.to_string()))
}

/// [`resolve_in`] with the cache, offline switch and endpoint from the environment.
pub fn model_dir(repo: &str, files: &[&str]) -> Result<PathBuf, HubError> {
    resolve_in(&cache_dir(), repo, files, offline(), std::env::var("HF_ENDPOINT").ok())
}

/// Write `files` (name, source path) into `cache` in the HF layout as revision `main` =
/// `commit` of model `repo` (for tests, and for filling a cache by hand from local copies).
pub fn fill_cache(cache: &Path, repo: &str, commit: &str, files: &[(&str, &Path)]) -> std::io::Result<PathBuf> {
    let base = cache.join(format!("models--{}", repo.replace('/', "--")));
    std::fs::create_dir_all(base.join("refs"))?;
    std::fs::write(base.join("refs/main"), commit)?;
    let snap = base.join("snapshots").join(commit);
    std::fs::create_dir_all(&snap)?;
    for (name, src) in files {
        std::fs::copy(src, snap.join(name))?;
    }
    Ok(snap)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{DType, Device};

    fn temp(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("candlecamp-hub-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn fixture(rel: &str) -> PathBuf {
        crate::fixtures::verified_path(rel).unwrap()
    }

    #[test]
    fn a_filled_cache_is_used_without_network() {
        let cache = temp("filled");
        let (cfg, st) = (fixture("week2/gpt2/config.json"), fixture("week2/gpt2/model.safetensors"));
        fill_cache(&cache, "openai-community/gpt2", "0123abcd", &[("config.json", &cfg), ("model.safetensors", &st)]).unwrap();
        // offline = true: a lookup that tried the network would fail instead of returning.
        let dir = resolve_in(&cache, "openai-community/gpt2", &["config.json", "model.safetensors"], true, None).unwrap();
        assert!(dir.ends_with("models--openai-community--gpt2/snapshots/0123abcd"), "{}", dir.display());
        assert_eq!(std::fs::read(dir.join("model.safetensors")).unwrap(), std::fs::read(&st).unwrap());
        // The resolved directory loads like the fixture: config and weights under HF names.
        let text = std::fs::read_to_string(dir.join("config.json")).unwrap();
        let c: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!((&c["n_layer"], &c["n_head"], &c["n_embd"], &c["vocab_size"]), (&2.into(), &4.into(), &64.into(), &1000.into()));
        let vb = unsafe { candle_nn::VarBuilder::from_mmaped_safetensors(&[dir.join("model.safetensors")], DType::F32, &Device::Cpu).unwrap() };
        assert_eq!(vb.get((1000, 64), "transformer.wte.weight").unwrap().dims(), &[1000, 64]);
        std::fs::remove_dir_all(&cache).unwrap();
    }

    #[test]
    fn offline_and_missing_is_an_error_that_says_so() {
        let cache = temp("partial");
        let cfg = fixture("week2/bert/config.json");
        fill_cache(&cache, "bert-base-uncased", "feed", &[("config.json", &cfg)]).unwrap();
        assert!(cached(&cache, "bert-base-uncased", &["config.json"]).is_some());
        let err = resolve_in(&cache, "bert-base-uncased", &["config.json", "model.safetensors"], true, None).unwrap_err().to_string();
        assert!(err.contains("not in the HF cache") && err.contains("HF_HUB_OFFLINE"), "{err}");
        let err = resolve_in(&cache, "gpt2", &["config.json"], true, None).unwrap_err().to_string();
        assert!(err.contains("gpt2"), "{err}");
        std::fs::remove_dir_all(&cache).unwrap();
    }

    #[test]
    fn an_unreachable_server_is_an_error_not_a_hang() {
        // A loopback port nothing listens on: the download fails at once, with the file named.
        let cache = temp("unreachable");
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let err = resolve_in(&cache, "gpt2", &["config.json"], false, Some(format!("http://127.0.0.1:{port}"))).unwrap_err().to_string();
        assert!(err.contains("gpt2/config.json"), "{err}");
        std::fs::remove_dir_all(&cache).unwrap();
    }
}
