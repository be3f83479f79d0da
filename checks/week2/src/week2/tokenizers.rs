//! Checks for week2 day "tokenizers". Three independent references:
//! - the outputs of Hugging Face `tokenizers` (Python) on the test texts, stored in
//!   `fixtures/week2/tokenizers/expected.json` by `fixtures/gen/week2_tokenizers.py`;
//! - the Hugging Face `tokenizers` crate (Rust, the library behind the Python package), built
//!   here from the same vocabulary files, on Tiny Shakespeare (`just data`);
//! - GPT-2's real encoding: `tiktoken-rs` and its `r50k_base` ranks, on all of Tiny Shakespeare.
//!
//! Token ids are integers: every comparison is exact, and a failure names the first difference
//! with its context and counts the mismatches.

use crate::check::{ensure, CheckResult, Ctx, Fail};
use crate::registry::{Day, Exercise};
use crate::subject::week2::tokenizers as tk;
use ::tokenizers::models::bpe::BPE;
use ::tokenizers::models::wordpiece::WordPiece as HfWordPiece;
use ::tokenizers::normalizers::BertNormalizer;
use ::tokenizers::pre_tokenizers::bert::BertPreTokenizer;
use ::tokenizers::pre_tokenizers::byte_level::ByteLevel;
use ::tokenizers::{Model, Normalizer, OffsetReferential, OffsetType, PreTokenizedString, PreTokenizer, Tokenizer};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Duration;

const DIR: &str = "week2/tokenizers";
const EXPECTED: &str = "week2/tokenizers/expected.json";

const DAY: Day = Day::new("week2", "tokenizers", "src/tokenizers.rs");

/// Learner code in these exercises returns plain values, not `Result`: a wrong answer is a
/// mismatch, a panic a crash (the runner reports it), and `todo!()` "not started".
fn fx_path(name: &str) -> Result<String, Fail> {
    let p = crate::check::fixture_path(&format!("{DIR}/{name}"))?;
    Ok(p.to_string_lossy().into_owned())
}

fn shakespeare() -> Result<String, Fail> {
    Ok(crate::data::text(&crate::data::TINY_SHAKESPEARE)?)
}

/// The part of Tiny Shakespeare the word-level checks use: the whole text goes through the
/// `encode` checks; 200,000 characters keep the others near a second in a debug build.
fn shakespeare_start() -> Result<String, Fail> {
    Ok(shakespeare()?.chars().take(200_000).collect())
}

struct Case {
    text: String,
    bert_words: Vec<String>,
    bert_ids: Vec<u32>,
    gpt2_pieces: Vec<String>,
    bpe_ids: Vec<u32>,
}

fn strings(v: &serde_json::Value) -> Vec<String> {
    v.as_array().map(|a| a.iter().map(|x| x.as_str().unwrap_or_default().to_string()).collect()).unwrap_or_default()
}

fn ids(v: &serde_json::Value) -> Vec<u32> {
    v.as_array().map(|a| a.iter().map(|x| x.as_u64().unwrap_or(u64::MAX) as u32).collect()).unwrap_or_default()
}

fn cases(ctx: &Ctx) -> Result<Vec<Case>, Fail> {
    let j = ctx.json(EXPECTED)?;
    let cs = j["cases"].as_array().ok_or_else(|| Fail::Fixture(format!("{EXPECTED} has no cases; {}", crate::fixtures::REMAKE)))?;
    Ok(cs
        .iter()
        .map(|c| Case {
            text: c["text"].as_str().unwrap_or_default().to_string(),
            bert_words: strings(&c["bert_words"]),
            bert_ids: ids(&c["bert_ids"]),
            gpt2_pieces: strings(&c["gpt2_pieces"]),
            bpe_ids: ids(&c["bpe_ids"]),
        })
        .collect())
}

fn short(s: &str) -> String {
    let t: String = s.chars().take(60).collect();
    if t.len() < s.len() {
        format!("{t:?}…")
    } else {
        format!("{t:?}")
    }
}

/// Exact comparison of two sequences: the number of mismatching positions, the first one with
/// a few neighbours on each side, and a note when only the lengths differ.
fn same_seq<T: PartialEq + std::fmt::Debug>(label: &str, got: &[T], want: &[T]) -> CheckResult {
    if got == want {
        return Ok(());
    }
    let first = got.iter().zip(want).position(|(a, b)| a != b).unwrap_or(got.len().min(want.len()));
    let mismatches = got.iter().zip(want).filter(|(a, b)| a != b).count() + got.len().abs_diff(want.len());
    let ctx_of = |v: &[T]| format!("{:?}", &v[first.saturating_sub(3)..(first + 4).min(v.len())]);
    Err(Fail::Mismatch(format!(
        "{label}: {} item(s), expected {}; first difference at index {first}: got …{}…, expected …{}… ({mismatches} mismatching position(s))",
        got.len(),
        want.len(),
        ctx_of(got),
        ctx_of(want)
    )))
}

fn hf_bert() -> Result<Tokenizer, Fail> {
    let wp = HfWordPiece::from_file(&fx_path("wordpiece-vocab.txt")?)
        .unk_token("[UNK]".into())
        .build()
        .map_err(|e| Fail::Internal(format!("tokenizers WordPiece: {e}")))?;
    let mut t = Tokenizer::new(wp);
    t.with_normalizer(Some(BertNormalizer::default())).map_err(|e| Fail::Internal(e.to_string()))?;
    t.with_pre_tokenizer(Some(BertPreTokenizer));
    Ok(t)
}

fn hf_bpe() -> Result<Tokenizer, Fail> {
    let bpe = BPE::from_file(&fx_path("bpe-vocab.json")?, &fx_path("bpe-merges.txt")?).build().map_err(|e| Fail::Internal(format!("tokenizers BPE: {e}")))?;
    let mut t = Tokenizer::new(bpe);
    t.with_pre_tokenizer(Some(ByteLevel::default().add_prefix_space(false)));
    t.with_decoder(Some(ByteLevel::default()));
    Ok(t)
}

fn hf_ids(t: &Tokenizer, text: &str) -> Result<Vec<u32>, Fail> {
    Ok(t.encode(text, false).map_err(|e| Fail::Internal(format!("tokenizers encode: {e}")))?.get_ids().to_vec())
}

/// BERT words of `text` by the crate's normaliser + pre-tokeniser.
fn hf_bert_words(text: &str) -> Result<Vec<String>, Fail> {
    let mut pts = PreTokenizedString::from(text);
    let norm = BertNormalizer::default();
    pts.normalize(|n| norm.normalize(n)).map_err(|e| Fail::Internal(e.to_string()))?;
    BertPreTokenizer.pre_tokenize(&mut pts).map_err(|e| Fail::Internal(e.to_string()))?;
    Ok(pts.get_splits(OffsetReferential::Normalized, OffsetType::Byte).into_iter().map(|(s, _, _)| s.to_string()).collect())
}

/// GPT-2 pieces of `text` by the crate's ByteLevel pre-tokeniser (as slices of the original).
fn hf_gpt2_pieces(text: &str) -> Result<Vec<String>, Fail> {
    let mut pts = PreTokenizedString::from(text);
    ByteLevel::default().add_prefix_space(false).pre_tokenize(&mut pts).map_err(|e| Fail::Internal(e.to_string()))?;
    Ok(pts.get_splits(OffsetReferential::Original, OffsetType::Byte).into_iter().map(|(_, (a, b), _)| text[a..b].to_string()).collect())
}

fn wordpiece(ctx: &Ctx) -> Result<tk::WordPiece, Fail> {
    let _ = ctx;
    let text = crate::check::fixture_text(&format!("{DIR}/wordpiece-vocab.txt"))?;
    let lines: Vec<String> = text.lines().map(str::to_string).collect();
    Ok(tk::WordPiece::from_lines(&lines))
}

/// A byte-level BPE's vocabulary (token → id) and its merges in order.
type VocabMerges = (HashMap<String, u32>, Vec<(String, String)>);

fn vocab_and_merges() -> Result<VocabMerges, Fail> {
    let v = crate::check::fixture_text(&format!("{DIR}/bpe-vocab.json"))?;
    let vocab: HashMap<String, u32> = serde_json::from_str(&v).map_err(|e| Fail::Fixture(format!("bpe-vocab.json: {e}")))?;
    let m = crate::check::fixture_text(&format!("{DIR}/bpe-merges.txt"))?;
    let merges = m.lines().filter(|l| !l.starts_with("#version")).filter_map(|l| l.split_once(' ')).map(|(a, b)| (a.to_string(), b.to_string())).collect();
    Ok((vocab, merges))
}

fn bpe() -> Result<tk::Bpe, Fail> {
    let (vocab, merges) = vocab_and_merges()?;
    Ok(tk::Bpe::new(vocab, &merges))
}

/// Random strings that stress a byte-level tokenizer: ASCII words, whitespace runs, digits,
/// contractions, accented and non-Latin letters, CJK, emoji (4-byte UTF-8), combining marks and
/// control characters.
fn random_text(rng: &mut ChaCha8Rng) -> String {
    const PARTS: &[&str] = &[
        " ", "  ", "\n", "\t", "   \n", "'s", "'ll", "n't", "0", "42", "3.14", "the", "Hello", "WORLD", "é", "ß", "Ω", "ж", "ע", "ب", "न", "東", "京", "한",
        "🙂", "🚀", "👍🏽", "\u{301}", "\u{0}", "\u{7f}", "!", "?!", "...", "—", "«", "\u{feff}", "\u{200d}",
    ];
    let n = rng.random_range(1..40);
    let mut s = String::new();
    for _ in 0..n {
        if rng.random_bool(0.3) {
            let c = match rng.random_range(0..4) {
                0 => rng.random_range(0x20u32..0x7f),
                1 => rng.random_range(0xa0u32..0x800),
                2 => rng.random_range(0x800u32..0xd800),
                _ => rng.random_range(0x10000u32..0x1fa00),
            };
            s.push(char::from_u32(c).unwrap_or('?'));
        } else {
            s.push_str(PARTS[rng.random_range(0..PARTS.len())]);
        }
    }
    s
}

/// Run `f` and turn a panic into a mismatch that names the input (used where a learner's
/// function might index out of bounds on an unusual string; `todo!()` still propagates so that
/// an untouched stub reads "not started").
fn no_panic<T>(what: &str, f: impl FnOnce() -> T) -> Result<T, Fail> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(v) => Ok(v),
        Err(e) => {
            let msg = e.downcast_ref::<String>().cloned().or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_default();
            if msg.contains("not yet implemented") {
                std::panic::resume_unwind(e);
            }
            Err(Fail::Mismatch(format!("{what}: your code panicked: {msg}")))
        }
    }
}

/// GPT-2's real tokenizer from the `r50k_base` ranks that ship inside the `tiktoken-rs` crate:
/// the 50,256 ordinary tokens (rank = GPT-2 id; `<|endoftext|>` is left out), written with the
/// fixture's bytes-to-unicode table, and merges derived from the ranks as `transformers`
/// converts tiktoken files (every split of a token into two tokens, ordered by the token's
/// rank, then the parts' ranks): merging the pair of lowest rank first is then exactly
/// tiktoken's rule of merging the pair whose concatenation has the lowest rank.
fn gpt2_real(ctx: &Ctx) -> Result<(VocabMerges, tiktoken_rs::CoreBPE), Fail> {
    let core = tiktoken_rs::r50k_base().map_err(|e| Fail::Internal(format!("tiktoken-rs r50k_base: {e}")))?;
    let j = ctx.json(EXPECTED)?;
    let table: Vec<char> = strings(&j["bytes_to_unicode"]).iter().filter_map(|s| s.chars().next()).collect();
    ensure(table.len() == 256, || format!("{EXPECTED}: bytes_to_unicode has {} entries", table.len()))?;
    let text = |b: &[u8]| -> String { b.iter().map(|&x| table[x as usize]).collect() };
    let mut tokens: Vec<Vec<u8>> = Vec::with_capacity(50256);
    for r in 0..50256u32 {
        tokens.push(core.decode_bytes(&[r]).map_err(|e| Fail::Internal(format!("tiktoken-rs rank {r}: {e:?}")))?);
    }
    let rank: HashMap<&[u8], u32> = tokens.iter().enumerate().map(|(i, t)| (t.as_slice(), i as u32)).collect();
    let mut merges = Vec::new();
    for t in &tokens {
        if t.len() < 2 {
            continue;
        }
        let mut local: Vec<(u32, u32, usize)> = (1..t.len()).filter_map(|i| Some((*rank.get(&t[..i])?, *rank.get(&t[i..])?, i))).collect();
        local.sort();
        merges.extend(local.into_iter().map(|(_, _, i)| (text(&t[..i]), text(&t[i..]))));
    }
    let vocab = tokens.iter().enumerate().map(|(i, t)| (text(t), i as u32)).collect();
    Ok(((vocab, merges), core))
}

pub fn exercises() -> Vec<Exercise> {
    vec![
        DAY.exercise("basic_tokenizer", "BERT's basic tokenizer: clean, CJK, accents, lowercase, punctuation")
            .pace(3, 90)
            .function("basic_tokenize")
            .check("vs HF tokenizers (Python) on the multilingual test texts", |ctx| {
                for c in cases(ctx)? {
                    same_seq(&format!("basic_tokenize({})", short(&c.text)), &no_panic(&short(&c.text), || tk::basic_tokenize(&c.text))?, &c.bert_words)?;
                }
                Ok(())
            })
            .check("vs the HF tokenizers crate on the first 200,000 characters of Tiny Shakespeare", |_| {
                tk::basic_tokenize("a"); // an untouched stub stops here ("not started"), even without data/
                let text = shakespeare_start()?;
                same_seq("basic_tokenize(Tiny Shakespeare)", &tk::basic_tokenize(&text), &hf_bert_words(&text)?)
            })
            .check("every Unicode space separator (no-break, thin, ideographic, …) splits words, as in the HF tokenizers crate", |_| {
                let text = "to\u{00A0}be or\u{2009}not\u{3000}to\u{202F}be:\u{2003}that\tis the\u{205F}question\u{2028}whether\u{2029}tis";
                same_seq(&format!("basic_tokenize({text:?})"), &tk::basic_tokenize(text), &hf_bert_words(text)?)
            }),
        DAY.exercise("wordpiece", "WordPiece: greedy longest match with ## continuations").pace(3, 80).function("WordPiece::tokenize_word").check(
            "vs the HF tokenizers crate's WordPiece on every word of the test texts",
            |ctx| {
                let wp = wordpiece(ctx)?;
                let hf =
                    HfWordPiece::from_file(&fx_path("wordpiece-vocab.txt")?).unk_token("[UNK]".into()).build().map_err(|e| Fail::Internal(e.to_string()))?;
                let mut words: Vec<String> = cases(ctx)?.into_iter().flat_map(|c| c.bert_words).collect();
                // over-long words: exactly at the limit (split), one over (one [UNK])
                words.push("ab".repeat(50));
                words.push(format!("{}c", "ab".repeat(50)));
                for w in words {
                    let want: Vec<u32> = hf.tokenize(&w).map_err(|e| Fail::Internal(e.to_string()))?.iter().map(|t| t.id).collect();
                    same_seq(&format!("tokenize_word({})", short(&w)), &no_panic(&short(&w), || wp.tokenize_word(&w))?, &want)?;
                }
                Ok(())
            },
        ),
        DAY.exercise("bert_encode", "BERT ids of a text")
            .pace(1, 10)
            .function("WordPiece::encode")
            .check("vs HF tokenizers (Python) on the multilingual test texts", |ctx| {
                let wp = wordpiece(ctx)?;
                for c in cases(ctx)? {
                    same_seq(&format!("encode({})", short(&c.text)), &no_panic(&short(&c.text), || wp.encode(&c.text))?, &c.bert_ids)?;
                }
                Ok(())
            })
            .check("vs the HF tokenizers crate on the first 400,000 characters of Tiny Shakespeare", |ctx| {
                let wp = wordpiece(ctx)?;
                wp.encode("a"); // an untouched stub stops here ("not started"), even without data/
                let text: String = shakespeare()?.chars().take(400_000).collect();
                same_seq("encode(Tiny Shakespeare)", &wp.encode(&text), &hf_ids(&hf_bert()?, &text)?)
            })
            .timeout(Duration::from_secs(30)), // 400 kB through the learner's debug-mode normaliser: 2-4 s here, more on a busy machine
        DAY.exercise("bytes_to_unicode", "GPT-2's byte ↔ printable character table").pace(3, 50).function("bytes_to_unicode").check(
            "vs transformers' bytes_to_unicode",
            |ctx| {
                let j = ctx.json(EXPECTED)?;
                let want: Vec<char> = strings(&j["bytes_to_unicode"]).iter().filter_map(|s| s.chars().next()).collect();
                ensure(want.len() == 256, || format!("{EXPECTED}: bytes_to_unicode has {} entries; {}", want.len(), crate::fixtures::REMAKE))?;
                same_seq("bytes_to_unicode()", &tk::bytes_to_unicode(), &want)
            },
        ),
        DAY.exercise("gpt2_pretokenize", "GPT-2's pre-tokenisation regex")
            .pace(1, 10)
            .function("gpt2_pretokenize")
            .check("vs HF tokenizers (Python) on the test texts", |ctx| {
                for c in cases(ctx)? {
                    let got: Vec<String> = no_panic(&short(&c.text), || tk::gpt2_pretokenize(&c.text).into_iter().map(str::to_string).collect())?;
                    same_seq(&format!("gpt2_pretokenize({})", short(&c.text)), &got, &c.gpt2_pieces)?;
                }
                Ok(())
            })
            .check("vs the HF tokenizers crate's ByteLevel on the first 200,000 characters of Tiny Shakespeare and 300 random strings", |_| {
                tk::gpt2_pretokenize("a"); // an untouched stub stops here ("not started"), even without data/
                let text = shakespeare_start()?;
                let got: Vec<String> = tk::gpt2_pretokenize(&text).into_iter().map(str::to_string).collect();
                same_seq("gpt2_pretokenize(Tiny Shakespeare)", &got, &hf_gpt2_pieces(&text)?)?;
                let mut rng = ChaCha8Rng::seed_from_u64(2);
                for _ in 0..300 {
                    let s = random_text(&mut rng);
                    let got: Vec<String> = no_panic(&short(&s), || tk::gpt2_pretokenize(&s).into_iter().map(str::to_string).collect())?;
                    same_seq(&format!("gpt2_pretokenize({})", short(&s)), &got, &hf_gpt2_pieces(&s)?)?;
                }
                Ok(())
            }),
        DAY.exercise("bpe_merge", "the BPE merge loop").pace(3, 50).function("merge_word").check(
            "vs the HF tokenizers crate's BPE on every piece of the test texts and of Tiny Shakespeare's first 20,000 pieces",
            |ctx| {
                let b = bpe()?;
                let (vocab, merges) = vocab_and_merges()?;
                let hf = BPE::builder()
                    .vocab_and_merges(vocab.into_iter().collect::<::tokenizers::models::bpe::Vocab>(), merges)
                    .build()
                    .map_err(|e| Fail::Internal(e.to_string()))?;
                let text = shakespeare()?;
                let mut pieces: Vec<String> = cases(ctx)?.into_iter().flat_map(|c| c.gpt2_pieces).collect();
                pieces.extend(hf_gpt2_pieces(&text)?.into_iter().take(20_000));
                for p in pieces {
                    let mapped: String = p.bytes().map(|x| b.tokens[b.byte_ids[x as usize] as usize].clone()).collect();
                    let want: Vec<u32> = hf.tokenize(&mapped).map_err(|e| Fail::Internal(e.to_string()))?.iter().map(|t| t.id).collect();
                    let bytes: Vec<u32> = p.bytes().map(|x| b.byte_ids[x as usize]).collect();
                    same_seq(&format!("merge_word(bytes of {})", short(&p)), &no_panic(&short(&p), || b.merge_word(&bytes))?, &want)?;
                }
                Ok(())
            },
        ),
        DAY.exercise("bpe_encode", "byte-level BPE encoding")
            .pace(3, 40)
            .function("Bpe::encode")
            .check("vs HF tokenizers (Python) on the test texts", |ctx| {
                let b = bpe()?;
                for c in cases(ctx)? {
                    same_seq(&format!("encode({})", short(&c.text)), &no_panic(&short(&c.text), || b.encode(&c.text))?, &c.bpe_ids)?;
                }
                Ok(())
            })
            .check("vs the HF tokenizers crate on the first 400,000 characters of Tiny Shakespeare and 300 random strings", |_| {
                let b = bpe()?;
                let hf = hf_bpe()?;
                let text: String = shakespeare()?.chars().take(400_000).collect();
                same_seq("encode(Tiny Shakespeare)", &b.encode(&text), &hf_ids(&hf, &text)?)?;
                let mut rng = ChaCha8Rng::seed_from_u64(3);
                for _ in 0..300 {
                    let s = random_text(&mut rng);
                    same_seq(&format!("encode({})", short(&s)), &no_panic(&short(&s), || b.encode(&s))?, &hf_ids(&hf, &s)?)?;
                }
                Ok(())
            })
            .check("with GPT-2's real vocabulary: ids equal tiktoken's GPT-2 encoding (r50k_base) on the test texts and Tiny Shakespeare", |ctx| {
                let ((vocab, merges), core) = gpt2_real(ctx)?;
                let b = tk::Bpe::new(vocab, &merges);
                for c in cases(ctx)? {
                    same_seq(&format!("GPT-2 encode({})", short(&c.text)), &no_panic(&short(&c.text), || b.encode(&c.text))?, &core.encode_ordinary(&c.text))?;
                }
                let text = shakespeare()?;
                same_seq("GPT-2 encode(Tiny Shakespeare)", &b.encode(&text), &core.encode_ordinary(&text))
            })
            .timeout(Duration::from_secs(40)), // 1.5 MB through the learner's debug-mode merge loop and a 50k-token vocabulary to build: 6-14 s here
        DAY.exercise("bpe_decode", "byte-level BPE decoding")
            .pace(1, 10)
            .function("decode")
            .check("decodes transformers' ids of the test texts back to the texts", |ctx| {
                let b = bpe()?;
                for c in cases(ctx)? {
                    let got = no_panic(&short(&c.text), || b.decode(&c.bpe_ids))?;
                    ensure(got == c.text, || format!("decode(ids of {}) = {}", short(&c.text), short(&got)))?;
                }
                Ok(())
            })
            .check("decode(HF encode(s)) == s for 500 random UTF-8 strings, and a cut character becomes U+FFFD", |_| {
                let b = bpe()?;
                let hf = hf_bpe()?;
                let mut rng = ChaCha8Rng::seed_from_u64(4);
                for _ in 0..500 {
                    let s = random_text(&mut rng);
                    let got = no_panic(&short(&s), || b.decode(&hf_ids(&hf, &s).unwrap_or_default()))?;
                    ensure(got == s, || format!("decode(encode({})) = {}", short(&s), short(&got)))?;
                }
                // "🙂" is 4 bytes; its first byte alone is not UTF-8
                let first = b.byte_ids["🙂".as_bytes()[0] as usize];
                let got = no_panic("decode([first byte of 🙂])", || b.decode(&[first]))?;
                ensure(got == "\u{fffd}", || format!("decode([first byte of 🙂]) = {got:?}, expected \"\\u{{fffd}}\" (from_utf8_lossy)"))
            }),
        DAY.exercise("bpe_train", "training a byte-level BPE (HF BpeTrainer's rules)")
            .pace(3, 90)
            .function("train_bpe")
            .check("merges equal HF BpeTrainer's on the start of Tiny Shakespeare; compression reported", |ctx| {
                let j = ctx.json(EXPECTED)?;
                let chars = j["train"]["chars"].as_u64().unwrap_or(0) as usize;
                let vocab_size = j["train"]["vocab_size"].as_u64().unwrap_or(0) as usize;
                let want: Vec<(String, String)> = j["train"]["merges"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .map(|m| {
                                let p = strings(m);
                                (p.first().cloned().unwrap_or_default(), p.get(1).cloned().unwrap_or_default())
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                ensure(chars > 0 && !want.is_empty(), || format!("{EXPECTED} has no training reference; {}", crate::fixtures::REMAKE))?;
                tk::train_bpe("a a", 257); // an untouched stub stops here ("not started"), even without data/
                let text: String = shakespeare()?.chars().take(chars).collect();
                let got = tk::train_bpe(&text, vocab_size);
                same_seq(&format!("train_bpe(first {chars} chars of Tiny Shakespeare, vocab {vocab_size})"), &got, &want)?;
                // compression: bytes per token of the training text under the learned merges
                let mut alphabet: Vec<char> = tk::bytes_to_unicode();
                alphabet.sort();
                let mut vocab: HashMap<String, u32> = alphabet.iter().enumerate().map(|(i, c)| (c.to_string(), i as u32)).collect();
                for (a, b) in &got {
                    let n = vocab.len() as u32;
                    vocab.insert(format!("{a}{b}"), n);
                }
                let hf = BPE::builder()
                    .vocab_and_merges(vocab.into_iter().collect::<::tokenizers::models::bpe::Vocab>(), got.clone())
                    .build()
                    .map_err(|e| Fail::Internal(e.to_string()))?;
                let mut t = Tokenizer::new(hf);
                t.with_pre_tokenizer(Some(ByteLevel::default().add_prefix_space(false)));
                let n = hf_ids(&t, &text)?.len();
                let report = format!(
                    "train_bpe: {} merges on {} bytes of Tiny Shakespeare; encoding that text takes {n} tokens: {:.3} bytes per token (1.0 without merges)\n",
                    got.len(),
                    text.len(),
                    text.len() as f64 / n as f64
                );
                let _ = std::fs::create_dir_all(&ctx.out_dir);
                let _ = std::fs::write(ctx.out_dir.join("week2-bpe-train.txt"), &report);
                Ok(())
            })
            .timeout(Duration::from_secs(30)), // 200 merges, each recounting every distinct piece, in the learner's debug build: 5-7 s here
    ]
}

// ------------------------------------------------------------------------------------------------
// Benchmarks: BPE encoding throughput on Tiny Shakespeare (1.1 MB), ours vs the HF crate
// ------------------------------------------------------------------------------------------------

fn bench_err(e: impl std::fmt::Display) -> candle_core::Error {
    candle_core::Error::Msg(e.to_string())
}

fn fail_err(f: Fail) -> candle_core::Error {
    candle_core::Error::Msg(format!("{f:?}"))
}

pub fn benches() -> Vec<crate::bench::Bench> {
    use crate::bench::{Bench, Iteration};
    vec![
        Bench {
            id: "week2.bpe.ours",
            about: "Bpe::encode of Tiny Shakespeare (1.1 MB; MB/s = 1.115 / seconds)",
            setup: |_| -> candle_core::Result<Iteration> {
                let b = bpe().map_err(fail_err)?;
                let text = shakespeare().map_err(fail_err)?;
                Ok(Box::new(move || {
                    std::hint::black_box(b.encode(&text));
                    Ok(())
                }))
            },
        },
        Bench {
            id: "week2.bpe.ours_gpt2",
            about: "Bpe::encode with GPT-2's real vocabulary (from tiktoken-rs' r50k_base) on the same text",
            setup: |_| -> candle_core::Result<Iteration> {
                let ctx = Ctx::new(candle_core::Device::Cpu, false);
                let ((vocab, merges), _) = gpt2_real(&ctx).map_err(fail_err)?;
                let b = tk::Bpe::new(vocab, &merges);
                let text = shakespeare().map_err(fail_err)?;
                Ok(Box::new(move || {
                    std::hint::black_box(b.encode(&text));
                    Ok(())
                }))
            },
        },
        Bench {
            id: "week2.bpe.tiktoken",
            about: "tiktoken-rs r50k_base (GPT-2) encode_ordinary on the same text",
            setup: |_| -> candle_core::Result<Iteration> {
                let core = tiktoken_rs::r50k_base().map_err(bench_err)?;
                let text = shakespeare().map_err(fail_err)?;
                Ok(Box::new(move || {
                    std::hint::black_box(core.encode_ordinary(&text));
                    Ok(())
                }))
            },
        },
        Bench {
            id: "week2.bpe.hf_tokenizers",
            about: "the HF tokenizers crate (BPE + ByteLevel, same files) on the same text, no special tokens",
            setup: |_| -> candle_core::Result<Iteration> {
                let t = hf_bpe().map_err(fail_err)?;
                let text = shakespeare().map_err(fail_err)?;
                Ok(Box::new(move || {
                    std::hint::black_box(t.encode(text.as_str(), false).map_err(bench_err)?);
                    Ok(())
                }))
            },
        },
    ]
}
