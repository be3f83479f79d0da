//! `just serve`: your char-GPT behind a local HTTP server (127.0.0.1 only).
//!
//! - `GET /`: a small page to try it;
//! - `GET /book/…`: the course book from `book/build` (`just book`), so that its "Your model,
//!   live" page, which a browser will not run from a file on disk, can be read at
//!   `http://127.0.0.1:8080/book/week3/live.html`;
//! - `GET /health`: `{"ok": true, "streams": N}`, N the generations running now;
//! - `POST /generate` `{"prompt", "n", "temperature", "top_k", "top_p", "seed"}`: the base
//!   model continues the prompt, one server-sent event per character;
//! - `POST /chat` `{"instruction", …}`: the instruction-tuned model answers after week 3's
//!   chat template, up to its newline.
//!
//! Bad input is a 4xx with `{"error": "..."}` that says what to change.

use crate::{Engine, Settings};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::sse::{Event, Sse};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::convert::Infallible;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// The most characters one request may ask for.
pub const MAX_CHARS: usize = 2000;

/// The two models, or why each cannot be used.
pub struct Models {
    pub base: Result<Arc<Engine>, String>,
    pub sft: Result<Arc<Engine>, String>,
    /// The built book served under `/book/` (`None`: not served).
    pub book: Option<std::path::PathBuf>,
    streams: AtomicUsize,
}

impl Models {
    /// The models week 3 saves in `dir` (`target/candlecamp/week3`): `chargpt.safetensors`
    /// (the baby GPT) and `sft.safetensors` (its instruction-tuned copy), each with its JSON.
    pub fn from_dir(dir: &Path) -> Models {
        let open = |file: &str, target: &str| {
            let path = dir.join(file);
            if !path.exists() {
                return Err(format!("{} was not found: `just grade week3 {target} --long` makes it", path.display()));
            }
            Engine::open(&path).map(Arc::new)
        };
        Models { base: open("chargpt.safetensors", "baby_gpt"), sft: open("sft.safetensors", "sft"), book: None, streams: AtomicUsize::new(0) }
    }

    /// Serve the built book in `dir` under `/book/` too.
    pub fn with_book(mut self, dir: std::path::PathBuf) -> Models {
        self.book = Some(dir);
        self
    }
}

/// The server's routes over `models`.
pub fn app(models: Arc<Models>) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/health", get(health))
        .route("/generate", post(generate))
        .route("/chat", post(chat))
        .route("/book", get(|| async { axum::response::Redirect::permanent("/book/") }))
        .route("/book/", get(book))
        .route("/book/{*path}", get(book))
        .fallback(|| async {
            error(StatusCode::NOT_FOUND, "no such page: GET / for the page, POST /generate or POST /chat with a JSON body, GET /book/ for the book")
        })
        .method_not_allowed_fallback(|| async {
            error(StatusCode::METHOD_NOT_ALLOWED, "use POST with a JSON body for /generate and /chat, GET for / and /book/")
        })
        .with_state(models)
}

/// Serve `app` on `listener` until the process ends.
pub async fn serve(listener: tokio::net::TcpListener, models: Arc<Models>) -> std::io::Result<()> {
    axum::serve(listener, app(models)).await
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(serde_json::json!({ "error": message.into() }))).into_response()
}

async fn page() -> Html<&'static str> {
    Html(include_str!("page.html"))
}

async fn health(State(m): State<Arc<Models>>) -> Json<serde_json::Value> {
    Json(serde_json::json!({
        "ok": true,
        "streams": m.streams.load(Ordering::SeqCst),
        "base": m.base.as_ref().map(|_| "loaded").unwrap_or_else(|e| e),
        "sft": m.sft.as_ref().map(|_| "loaded").unwrap_or_else(|e| e),
    }))
}

/// A file of the built book (`index.html` for a folder).
async fn book(State(m): State<Arc<Models>>, path: Option<axum::extract::Path<String>>) -> Response {
    let Some(root) = &m.book else { return error(StatusCode::NOT_FOUND, "this server does not serve the book") };
    let rel = path.map(|p| p.0).unwrap_or_default();
    // Only plain names: no way out of the book's folder.
    if rel.split('/').any(|c| c == ".." || c.starts_with('.') || c.contains('\\')) {
        return error(StatusCode::BAD_REQUEST, format!("not a page of the book: {rel}"));
    }
    let mut file = root.join(&rel);
    if rel.is_empty() || rel.ends_with('/') || file.is_dir() {
        file = file.join("index.html");
    }
    let Ok(bytes) = tokio::fs::read(&file).await else {
        let why = if root.join("index.html").exists() {
            format!("the book has no {rel}")
        } else {
            format!("the book is not built in {}: run `just book`", root.display())
        };
        return error(StatusCode::NOT_FOUND, why);
    };
    let kind = match file.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript",
        "css" => "text/css",
        "json" => "application/json",
        "wasm" => "application/wasm",
        "png" => "image/png",
        "svg" => "image/svg+xml",
        "woff2" => "font/woff2",
        "woff" => "font/woff",
        "ttf" => "font/ttf",
        "ico" => "image/x-icon",
        _ => "application/octet-stream",
    };
    ([(axum::http::header::CONTENT_TYPE, kind)], bytes).into_response()
}

/// The settings a request may give beside its text.
const FIELDS: [&str; 5] = ["n", "temperature", "top_k", "top_p", "seed"];

/// A request's body: what to generate and how.
struct Request {
    text: String,
    n: usize,
    settings: Settings,
    seed: u64,
}

/// The request in `body`, or why it is a bad request.
fn parse(body: &Bytes, text_key: &str, default_n: usize, default_top_k: u64) -> Result<Request, String> {
    let v: serde_json::Value = serde_json::from_slice(body).map_err(|e| format!("the body is not JSON: {e}"))?;
    let obj = v.as_object().ok_or("the body must be a JSON object")?;
    // A misspelt field would otherwise be ignored without a word.
    if let Some(k) = obj.keys().find(|k| *k != text_key && !FIELDS.contains(&k.as_str())) {
        let known: Vec<String> = std::iter::once(text_key).chain(FIELDS).map(|f| format!("\"{f}\"")).collect();
        return Err(format!("unknown field \"{k}\": the fields are {}", known.join(", ")));
    }
    let text = v[text_key].as_str().ok_or_else(|| format!("give \"{text_key}\": a string"))?.to_string();
    if text.is_empty() {
        return Err(format!("the {text_key} is empty"));
    }
    let num = |k: &str| -> Result<Option<f64>, String> {
        match &v[k] {
            serde_json::Value::Null => Ok(None),
            x => x.as_f64().map(Some).ok_or_else(|| format!("\"{k}\" must be a number, not {x}")),
        }
    };
    let int = |k: &str| -> Result<Option<u64>, String> {
        match &v[k] {
            serde_json::Value::Null => Ok(None),
            x => x.as_u64().map(Some).ok_or_else(|| format!("\"{k}\" must be a whole number, not {x}")),
        }
    };
    let n = int("n")?.map_or(default_n, |n| n as usize);
    if n == 0 || n > MAX_CHARS {
        return Err(format!("\"n\" must be between 1 and {MAX_CHARS}, not {n}"));
    }
    let temperature = num("temperature")?.unwrap_or(0.8);
    if !(temperature > 0.0 && temperature.is_finite()) {
        return Err(format!("\"temperature\" must be above 0, not {temperature} (for the most likely character every time, use \"top_k\": 1)"));
    }
    let top_p = num("top_p")?.unwrap_or(1.0);
    if !(top_p > 0.0 && top_p <= 1.0) {
        return Err(format!("\"top_p\" must be in (0, 1], not {top_p}"));
    }
    let top_k = int("top_k")?.unwrap_or(default_top_k) as usize;
    Ok(Request { text, n, settings: Settings { temperature, top_k, top_p }, seed: int("seed")?.unwrap_or(0) })
}

/// The ids of `prompt` for `engine`, or what is wrong with it.
fn prompt_ids(engine: &Engine, prompt: &str, what: &str) -> Result<Vec<u32>, String> {
    // (An empty text never gets here: `parse` refuses it.)
    let n = prompt.chars().count();
    if n > engine.block_size() {
        return Err(format!("the {what} has {n} characters; the model reads at most {} (its block_size)", engine.block_size()));
    }
    engine.encode(prompt).map_err(|e| format!("the {what} has characters {e}"))
}

async fn generate(State(m): State<Arc<Models>>, body: Bytes) -> Response {
    let engine = match &m.base {
        Ok(e) => e.clone(),
        Err(why) => return error(StatusCode::NOT_FOUND, format!("no model to generate with: {why}")),
    };
    let req = match parse(&body, "prompt", 200, 0) {
        Ok(r) => r,
        Err(why) => return error(StatusCode::BAD_REQUEST, why),
    };
    match prompt_ids(&engine, &req.text, "prompt") {
        Ok(ids) => stream(m.clone(), engine, ids, req, None),
        Err(why) => error(StatusCode::BAD_REQUEST, why),
    }
}

async fn chat(State(m): State<Arc<Models>>, body: Bytes) -> Response {
    let engine = match &m.sft {
        Ok(e) => e.clone(),
        Err(why) => return error(StatusCode::NOT_FOUND, format!("no instruction-tuned model: {why}")),
    };
    // Greedy unless asked otherwise (top_k 1): the tuned model's answers are what it learned.
    let req = match parse(&body, "instruction", 40, 1) {
        Ok(r) => r,
        Err(why) => return error(StatusCode::BAD_REQUEST, why),
    };
    let prompt = crate::chat_prompt(&req.text);
    match prompt_ids(&engine, &prompt, "instruction with its chat template") {
        Ok(ids) => {
            let newline = engine.vocab.chars.binary_search(&'\n').ok().map(|i| i as u32);
            stream(m.clone(), engine, ids, req, newline)
        }
        Err(why) => error(StatusCode::BAD_REQUEST, why),
    }
}

/// Counts a running generation until it is dropped.
struct Running(Arc<Models>);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.streams.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Generate on a blocking thread, one event per character; stop at `stop` (not sent), after
/// `n` characters, or as soon as the client has gone.
fn stream(m: Arc<Models>, engine: Arc<Engine>, ids: Vec<u32>, req: Request, stop: Option<u32>) -> Response {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Event, Infallible>>(8);
    m.streams.fetch_add(1, Ordering::SeqCst);
    let running = Running(m);
    tokio::task::spawn_blocking(move || {
        let _running = running;
        let mut rng = ChaCha8Rng::seed_from_u64(req.seed);
        let mut sent = 0usize;
        let mut gone = false;
        let result = engine.generate(&ids, req.n, &req.settings, &mut rng, |id| {
            if Some(id) == stop {
                return false;
            }
            let text = engine.decode(&[id]);
            gone = tx.blocking_send(Ok(Event::default().data(serde_json::json!({ "text": text }).to_string()))).is_err();
            sent += 1;
            !gone
        });
        if gone {
            return;
        }
        let last = match result {
            Ok(_) => Event::default().event("done").data(serde_json::json!({ "chars": sent }).to_string()),
            Err(e) => Event::default().event("error").data(serde_json::json!({ "error": e }).to_string()),
        };
        let _ = tx.blocking_send(Ok(last));
    });
    Sse::new(tokio_stream::wrappers::ReceiverStream::new(rx)).into_response()
}
