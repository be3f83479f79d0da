//! The browser's side: what the book's "Your model, live" page calls (`wasm-bindgen`).

use crate::{draw, probabilities, Engine, Settings};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::cell::RefCell;
use wasm_bindgen::prelude::*;

thread_local! {
    static PANIC: RefCell<String> = const { RefCell::new(String::new()) };
}

/// Keep a panic's message (a `todo!()` in your forward pass, say) for the page to show.
#[wasm_bindgen(start)]
pub fn start() {
    std::panic::set_hook(Box::new(|info| {
        let msg = info.payload().downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| info.payload().downcast_ref::<String>().cloned()).unwrap_or_default();
        // The week-3 files are compiled from live/src by path: name them from the repository.
        let at = info.location().map(|l| format!(" at {}:{}", l.file().trim_start_matches("live/src/../../"), l.line())).unwrap_or_default();
        PANIC.with(|p| *p.borrow_mut() = format!("{msg}{at}"));
    }));
}

/// The message of the last panic, if any.
#[wasm_bindgen]
pub fn last_panic() -> String {
    PANIC.with(|p| p.borrow().clone())
}

/// The prompt of one exchange with the instruction-tuned model: your week-3 `chat_prompt`.
#[wasm_bindgen]
pub fn chat_prompt(instruction: &str) -> String {
    crate::chat_prompt(instruction)
}

fn js(e: String) -> JsError {
    JsError::new(&e)
}

/// One model and the text it is writing.
#[wasm_bindgen]
pub struct Live {
    engine: Engine,
    ids: Vec<u32>,
    rng: ChaCha8Rng,
    /// The next character's logits for `ids`, once computed.
    next: Option<Vec<f32>>,
}

#[wasm_bindgen]
impl Live {
    /// Load safetensors bytes and the JSON saved beside them.
    #[wasm_bindgen(constructor)]
    pub fn new(weights: &[u8], meta: &str) -> Result<Live, JsError> {
        Ok(Live { engine: Engine::load(weights, meta).map_err(js)?, ids: vec![], rng: ChaCha8Rng::seed_from_u64(0), next: None })
    }

    pub fn block_size(&self) -> usize {
        self.engine.block_size()
    }

    /// The vocabulary, in id order.
    pub fn chars(&self) -> String {
        self.engine.vocab.chars.iter().collect()
    }

    pub fn val_loss(&self) -> f64 {
        self.engine.val_loss
    }

    /// `n_layer`, `n_head`, `n_embd`.
    pub fn sizes(&self) -> Vec<usize> {
        let c = self.engine.model.cfg;
        vec![c.n_layer, c.n_head, c.n_embd]
    }

    /// Start a new text from `prompt`, with the random draws seeded by `seed`.
    pub fn begin(&mut self, prompt: &str, seed: u64) -> Result<(), JsError> {
        let ids = self.engine.encode(prompt).map_err(js)?;
        if ids.is_empty() {
            return Err(js("write at least one character to start from".into()));
        }
        self.ids = ids;
        self.rng = ChaCha8Rng::seed_from_u64(seed);
        self.next = None;
        Ok(())
    }

    /// The text so far (prompt and generated characters).
    pub fn text(&self) -> String {
        self.engine.decode(&self.ids)
    }

    fn logits(&mut self) -> Result<&Vec<f32>, JsError> {
        if self.next.is_none() {
            self.next = Some(self.engine.next_logits(&self.ids).map_err(js)?);
        }
        Ok(self.next.as_ref().expect("just computed"))
    }

    /// Pick the next character (temperature 0: greedy) and append it; returns it.
    pub fn step(&mut self, temperature: f64, top_k: usize, top_p: f64) -> Result<String, JsError> {
        let settings = Settings::checked(temperature, top_k, top_p).map_err(js)?;
        let p = probabilities(self.logits()?, &settings);
        let id = draw(&p, &mut self.rng) as u32;
        self.ids.push(id);
        self.next = None;
        Ok(self.engine.decode(&[id]))
    }

    /// The `k` most likely next characters at `temperature` (1 when 0), as JSON
    /// `[["a", 0.31], …]`, most likely first.
    pub fn top(&mut self, temperature: f64, k: usize) -> Result<String, JsError> {
        let logits = self.logits()?.clone();
        let top: Vec<(String, f64)> = self.engine.top(&logits, temperature, k).into_iter().map(|(c, p)| (c.to_string(), p)).collect();
        serde_json::to_string(&top).map_err(|e| js(e.to_string()))
    }

    /// The next character's logits after `prompt`, from your forward pass.
    pub fn logits_after(&self, prompt: &str) -> Result<Vec<f32>, JsError> {
        let ids = self.engine.encode(prompt).map_err(js)?;
        self.engine.next_logits(&ids).map_err(js)
    }

    /// Each head's attention over the last `block_size` characters, from your forward pass, as
    /// JSON `{"chars": [...], "maps": [layer][head][query][key]}`.
    pub fn attention(&self) -> Result<String, JsError> {
        let window = &self.ids[self.ids.len().saturating_sub(self.engine.block_size())..];
        let (maps, _) = self.engine.attention(window).map_err(js)?;
        let chars: Vec<String> = window.iter().map(|&i| self.engine.decode(&[i])).collect();
        serde_json::to_string(&serde_json::json!({ "chars": chars, "maps": maps })).map_err(|e| js(e.to_string()))
    }
}
