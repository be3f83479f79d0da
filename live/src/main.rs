//! `live`: your char-GPT natively.
//!
//! - `live serve [--port 8080] [--dir target/candlecamp/week3]`: the local HTTP server
//!   (`just serve`), on 127.0.0.1 only;
//! - `live greedy --model FILE.safetensors --prompt TEXT --n N [--out FILE.json]`: the greedy
//!   continuation, the prompt's next-character logits, and the time to the first character
//!   and the characters per second (what the book's browser test compares the page with).

use clap::{Parser, Subcommand};
use live::{Engine, Settings};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

#[derive(Parser)]
#[command(about = "Your week-3 char-GPT, natively: a local server, or a greedy run")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the model on 127.0.0.1
    Serve {
        #[arg(long, default_value_t = 8080)]
        port: u16,
        /// Where week 3 saved chargpt.safetensors (and sft.safetensors)
        #[arg(long, default_value = "target/candlecamp/week3")]
        dir: PathBuf,
        /// The built book, served under /book/ (`just book` builds it)
        #[arg(long, default_value = "book/build")]
        book: PathBuf,
    },
    /// Greedy continuation of a prompt, with its logits and timings, as JSON
    Greedy {
        #[arg(long)]
        model: PathBuf,
        #[arg(long)]
        prompt: String,
        #[arg(long, default_value_t = 200)]
        n: usize,
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Serve { port, dir, book } => {
            let models = live::server::Models::from_dir(&dir).with_book(book.clone());
            for (name, m) in [("base model", &models.base), ("instruction-tuned model", &models.sft)] {
                match m {
                    Ok(e) if e.val_loss.is_finite() => println!("serve: {name} loaded (validation loss {:.3})", e.val_loss),
                    Ok(_) => println!("serve: {name} loaded"),
                    Err(why) => println!("serve: no {name}: {why}"),
                }
            }
            let rt = tokio::runtime::Runtime::new()?;
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
                let at = listener.local_addr()?;
                println!("serve: http://{at} (Ctrl-C stops it)");
                if book.join("week3/live.html").exists() {
                    println!("serve: the book, with your model live: http://{at}/book/week3/live.html");
                } else {
                    println!("serve: the book is not built in {} (`just book`), so /book/ has nothing yet", book.display());
                }
                live::server::serve(listener, Arc::new(models)).await
            })?;
        }
        Command::Greedy { model, prompt, n, out } => {
            let engine = Engine::open(&model).map_err(anyhow::Error::msg)?;
            let ids = engine.encode(&prompt).map_err(anyhow::Error::msg)?;
            let logits = engine.next_logits(&ids).map_err(anyhow::Error::msg)?;
            let start = Instant::now();
            let mut first = None;
            let text = engine
                .generate(&ids, n, &Settings::GREEDY, &mut ChaCha8Rng::seed_from_u64(0), |_| {
                    first.get_or_insert_with(|| start.elapsed().as_secs_f64());
                    true
                })
                .map_err(anyhow::Error::msg)?;
            let secs = start.elapsed().as_secs_f64();
            let json = serde_json::json!({
                "prompt": prompt,
                "text": engine.decode(&text),
                "logits": logits,
                "first_char_ms": 1000.0 * first.unwrap_or(secs),
                "chars_per_s": n as f64 / secs,
            });
            match out {
                Some(path) => std::fs::write(&path, json.to_string())?,
                None => println!("{json}"),
            }
        }
    }
    Ok(())
}
