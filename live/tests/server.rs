//! `just serve` from outside: a real HTTP client (ureq, over TCP on 127.0.0.1) against the
//! server running the reference char-GPT and its instruction-tuned copy (the instructor's
//! models in book/live/). Every bad input gets a 4xx with a JSON error that says what is
//! wrong; twenty clients at once are all served; a client that hangs up mid-stream leaves the
//! server healthy and its generation stopped.
#![cfg(feature = "reference")]

use live::server::Models;
use live::{Engine, Settings};
use rand::SeedableRng;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn book_live() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../book/live")
}

/// Start a server over `dir` on a free port; its address.
fn start(dir: &Path) -> String {
    let models = Arc::new(Models::from_dir(dir));
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            live::server::serve(listener, models).await.unwrap();
        });
    });
    format!("http://{}", rx.recv().unwrap())
}

/// A POST's status and body (4xx included).
fn post(url: &str, body: &str) -> (u16, String) {
    match ureq::post(url).set("content-type", "application/json").send_string(body) {
        Ok(r) => (r.status(), r.into_string().unwrap()),
        Err(ureq::Error::Status(code, r)) => (code, r.into_string().unwrap()),
        Err(e) => panic!("{url}: {e}"),
    }
}

/// The error message of a 4xx JSON answer.
fn refused(url: &str, body: &str, status: u16) -> String {
    let (code, text) = post(url, body);
    assert_eq!(code, status, "{body} → {code} {text}");
    let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{body} → not JSON ({e}): {text}"));
    v["error"].as_str().unwrap_or_else(|| panic!("{body} → no \"error\": {text}")).to_string()
}

/// The characters of a stream and whether it ended with `done`.
fn events(text: &str) -> (String, bool) {
    let mut out = String::new();
    let mut done = false;
    for block in text.split("\n\n").filter(|b| !b.trim().is_empty()) {
        let data = block.lines().find_map(|l| l.strip_prefix("data: ")).expect("an event without data");
        let v: serde_json::Value = serde_json::from_str(data).unwrap();
        if block.starts_with("event: done") {
            done = true;
        } else {
            assert!(!block.starts_with("event: error"), "{data}");
            out.push_str(v["text"].as_str().unwrap());
        }
    }
    (out, done)
}

fn health(base: &str) -> serde_json::Value {
    serde_json::from_str(&ureq::get(&format!("{base}/health")).call().unwrap().into_string().unwrap()).unwrap()
}

/// A folder with the instructor's models under the names week 3 saves them by.
fn models_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("candlecamp-serve-{test}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for f in ["chargpt.safetensors", "chargpt.json", "sft.safetensors", "sft.json"] {
        std::fs::copy(book_live().join(f), dir.join(f)).unwrap();
    }
    dir
}

#[test]
fn a_missing_model_is_a_404_naming_the_target_that_makes_it() {
    let empty = std::env::temp_dir().join(format!("candlecamp-serve-empty-{}", std::process::id()));
    std::fs::create_dir_all(&empty).unwrap();
    let base = start(&empty);
    let e = refused(&format!("{base}/generate"), r#"{"prompt": "ROMEO:"}"#, 404);
    assert!(e.contains("chargpt.safetensors") && e.contains("just grade week3 baby_gpt --long"), "{e}");
    let e = refused(&format!("{base}/chat"), r#"{"instruction": "upper: rome"}"#, 404);
    assert!(e.contains("sft.safetensors") && e.contains("just grade week3 sft --long"), "{e}");
    assert_eq!(health(&base)["ok"], true);
}

#[test]
fn bad_input_is_a_400_saying_what_to_change() {
    let base = start(&models_dir("a"));
    let g = format!("{base}/generate");
    let long = "a".repeat(65);
    let e = refused(&g, &format!(r#"{{"prompt": "{long}"}}"#), 400);
    assert!(e.contains("65 characters") && e.contains("at most 64"), "{e}");
    let e = refused(&g, r#"{"prompt": "héllo ~ wörld"}"#, 400);
    assert!(e.contains("'é'") && e.contains("'~'") && e.contains("'ö'"), "{e}");
    for t in ["0", "-0.5"] {
        let e = refused(&g, &format!(r#"{{"prompt": "ROMEO:", "temperature": {t}}}"#), 400);
        assert!(e.contains("temperature") && e.contains("above 0"), "{e}");
    }
    for p in ["0", "1.5", "-0.2"] {
        let e = refused(&g, &format!(r#"{{"prompt": "ROMEO:", "top_p": {p}}}"#), 400);
        assert!(e.contains("top_p") && e.contains("(0, 1]"), "{e}");
    }
    assert!(refused(&g, "ROMEO:", 400).contains("not JSON"));
    assert!(refused(&g, r#"{"text": "ROMEO:"}"#, 400).contains("\"prompt\""));
    assert!(refused(&g, r#"{"prompt": ""}"#, 400).contains("empty"));
    // The chat template's own characters count towards the context.
    let e = refused(&format!("{base}/chat"), &format!(r#"{{"instruction": "upper: {}"}}"#, "a".repeat(50)), 400);
    assert!(e.contains("at most 64"), "{e}");
    let e = refused(&format!("{base}/chat"), r#"{"instruction": "upper: r~me"}"#, 400);
    assert!(e.contains("'~'"), "{e}");
    assert!(refused(&format!("{base}/chat"), r#"{"instruction": ""}"#, 400).contains("empty"));
    // A misspelt setting is named, not ignored.
    let e = refused(&g, r#"{"prompt": "ROMEO:", "temprature": 0.5}"#, 400);
    assert!(e.contains("\"temprature\"") && e.contains("\"temperature\""), "{e}");
    assert!(refused(&g, r#"["ROMEO:"]"#, 400).contains("JSON object"));
    let e = refused(&g, r#"{"prompt": "ROMEO:", "n": 0}"#, 400);
    assert!(e.contains("between 1 and"), "{e}");
    // The wrong method or page is a JSON error too.
    match ureq::get(&g).call() {
        Err(ureq::Error::Status(405, r)) => assert!(r.into_string().unwrap().contains("use POST")),
        other => panic!("GET /generate: {other:?}"),
    }
    match ureq::get(&format!("{base}/nope")).call() {
        Err(ureq::Error::Status(404, r)) => assert!(r.into_string().unwrap().contains("\"error\"")),
        other => panic!("GET /nope: {other:?}"),
    }
    assert_eq!(health(&base)["ok"], true);
}

#[test]
fn generate_streams_what_the_model_writes_and_chat_answers() {
    let dir = models_dir("b");
    let base = start(&dir);
    let (code, text) = post(&format!("{base}/generate"), r#"{"prompt": "ROMEO:\n", "n": 60, "top_k": 1}"#);
    assert_eq!(code, 200);
    let (out, done) = events(&text);
    assert!(done, "no done event: {text}");
    // top_k 1 is greedy: the same characters as the model run here directly.
    let engine = Engine::open(&dir.join("chargpt.safetensors")).unwrap();
    let ids = engine.encode("ROMEO:\n").unwrap();
    let want = engine.generate(&ids, 60, &Settings::GREEDY, &mut rand_chacha::ChaCha8Rng::seed_from_u64(0), |_| true).unwrap();
    assert_eq!(out, engine.decode(&want));
    // Sampling depends on the seed, and the same seed writes the same text.
    let a = events(&post(&format!("{base}/generate"), r#"{"prompt": "ROMEO:\n", "n": 80, "seed": 1}"#).1).0;
    let b = events(&post(&format!("{base}/generate"), r#"{"prompt": "ROMEO:\n", "n": 80, "seed": 2}"#).1).0;
    let a2 = events(&post(&format!("{base}/generate"), r#"{"prompt": "ROMEO:\n", "n": 80, "seed": 1}"#).1).0;
    assert_eq!(a.chars().count(), 80);
    assert_ne!(a, b);
    assert_eq!(a, a2);
    let (answer, done) = events(&post(&format!("{base}/chat"), r#"{"instruction": "upper: rome"}"#).1);
    assert!(done);
    assert_eq!(answer, "ROME");
    let (answer, _) = events(&post(&format!("{base}/chat"), r#"{"instruction": "reverse: king"}"#).1);
    assert_eq!(answer, "gnik");
    assert!(ureq::get(&base).call().unwrap().into_string().unwrap().contains("/generate"));
}

#[test]
fn the_book_is_served_and_nothing_outside_it() {
    let dir = std::env::temp_dir().join(format!("candlecamp-serve-book-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("book/week3")).unwrap();
    std::fs::write(dir.join("book/index.html"), "<h1>the book</h1>").unwrap();
    std::fs::write(dir.join("book/week3/live.html"), "<h1>live</h1>").unwrap();
    std::fs::write(dir.join("secret.txt"), "not for the web").unwrap();
    let models = Arc::new(Models::from_dir(&dir).with_book(dir.join("book")));
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        tokio::runtime::Runtime::new().unwrap().block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            live::server::serve(listener, models).await.unwrap();
        });
    });
    let base = format!("http://{}", rx.recv().unwrap());
    let r = ureq::get(&format!("{base}/book/week3/live.html")).call().unwrap();
    assert_eq!(r.content_type(), "text/html");
    assert_eq!(r.into_string().unwrap(), "<h1>live</h1>");
    assert_eq!(ureq::get(&format!("{base}/book")).call().unwrap().into_string().unwrap(), "<h1>the book</h1>");
    for path in ["/book/%2e%2e/secret.txt", "/book/..%2fsecret.txt", "/book/week3/nothing.html"] {
        match ureq::get(&format!("{base}{path}")).call() {
            Err(ureq::Error::Status(400 | 404, r)) => assert!(!r.into_string().unwrap().contains("not for the web")),
            other => panic!("{path}: {other:?}"),
        }
    }
}

#[test]
fn twenty_clients_at_once_and_a_hang_up_leave_the_server_healthy() {
    let base = start(&models_dir("c"));
    let start_all = Instant::now();
    let clients: Vec<_> = (0..20)
        .map(|i| {
            let url = format!("{base}/generate");
            std::thread::spawn(move || post(&url, &format!(r#"{{"prompt": "ROMEO:\n", "n": 40, "seed": {i}}}"#)))
        })
        .collect();
    for (i, c) in clients.into_iter().enumerate() {
        let (code, text) = c.join().unwrap();
        assert_eq!(code, 200, "client {i}: {text}");
        let (out, done) = events(&text);
        assert!(done && out.chars().count() == 40, "client {i}: {} characters, done {done}", out.chars().count());
    }
    eprintln!("20 clients × 40 characters in {:.1} s", start_all.elapsed().as_secs_f64());

    // A client reads a few characters of a long stream and hangs up.
    let r = ureq::post(&format!("{base}/generate")).set("content-type", "application/json").send_string(r#"{"prompt": "ROMEO:\n", "n": 2000}"#).unwrap();
    let mut reader = BufReader::new(r.into_reader());
    let mut line = String::new();
    for _ in 0..6 {
        line.clear();
        reader.read_line(&mut line).unwrap();
    }
    assert_eq!(health(&base)["streams"], 1, "the long stream is not running");
    drop(reader);
    // Its generation stops (long before 2,000 characters), and the server answers as before.
    let t = Instant::now();
    while health(&base)["streams"] != 0 {
        assert!(t.elapsed() < Duration::from_secs(20), "the generation went on after its client hung up");
        std::thread::sleep(Duration::from_millis(50));
    }
    let (code, text) = post(&format!("{base}/generate"), r#"{"prompt": "JULIET:\n", "n": 10}"#);
    assert_eq!(code, 200);
    assert!(events(&text).1);
}
