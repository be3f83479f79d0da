//! # Day: tokenizers
//!
//! Text becomes integer ids before a transformer sees it. Today you write the two tokenizers
//! behind BERT and GPT-2, and train a byte-level BPE vocabulary yourself. The grader compares
//! every id with Hugging Face `tokenizers` run on the same vocabulary files (made by
//! `fixtures/gen/week2_tokenizers.py`: a WordPiece and a byte-level BPE vocabulary trained on
//! Tiny Shakespeare), on test texts with accents, CJK, emoji, punctuation runs, whitespace runs,
//! contractions, numbers and over-long words, and on Tiny Shakespeare itself.
//!
//! No tensors today: plain Rust strings, vectors and hash maps. Three crates are available:
//! `fancy_regex` (regular expressions with look-ahead; `\p{L}` and `\p{N}` are Unicode letters
//! and numbers), `unicode_categories` (`c.is_punctuation()`, `c.is_other()`,
//! `c.is_mark_nonspacing()` after `use unicode_categories::UnicodeCategories`) and
//! `unicode_normalization_alignments` (`s.nfd()` after
//! `use unicode_normalization_alignments::UnicodeNormalization`; it yields `(char, isize)` pairs:
//! keep the char). Using the `tokenizers` crate itself is of course not allowed.
#![allow(unused_variables, unused_imports, dead_code)] // remove once you have solved a few

use fancy_regex::Regex;
use std::collections::HashMap;
use std::sync::OnceLock;
use unicode_categories::UnicodeCategories;
use unicode_normalization_alignments::UnicodeNormalization;

// ------------------------------------------------------------------------------------------------
// BERT: basic tokenizer + WordPiece
// ------------------------------------------------------------------------------------------------

/// ## basic_tokenizer
/// BERT's "basic tokenizer" (uncased): normalise `text`, then split it into words. In order:
/// 1. **clean**: drop U+0000, U+FFFD and control characters (Unicode category `C*`, i.e.
///    `c.is_other()`, except `\t`, `\n`, `\r`); turn every whitespace character (`\t`, `\n`,
///    `\r` or `char::is_whitespace`) into a plain space;
/// 2. **CJK**: put a space before and after every CJK ideograph (code points in
///    `4E00–9FFF, 3400–4DBF, 20000–2A6DF, 2A700–2B73F, 2B740–2B81F, 2B920–2CEAF, F900–FAFF,
///    2F800–2FA1F`), so each becomes a word of its own (kana and hangul are not in these blocks);
/// 3. **strip accents**: decompose to NFD and drop non-spacing marks (category `Mn`): `é` → `e`;
/// 4. **lowercase** character by character (`char::to_lowercase`, not `str::to_lowercase`, which
///    treats a final Greek sigma specially);
/// 5. **split**: on whitespace (which disappears), and around punctuation (ASCII punctuation or
///    Unicode category `P*`): every punctuation character is a word of its own.
///
/// Example: `"Héllo,  WORLD!! 東京"` → `["hello", ",", "world", "!", "!", "東", "京"]`.
pub fn basic_tokenize(text: &str) -> Vec<String> {
    todo!()
}

/// A WordPiece vocabulary: token → id (the line number in `vocab.txt`, from 0), the id of
/// `[UNK]`, and the longest word (in characters) that is split at all.
pub struct WordPiece {
    pub vocab: HashMap<String, u32>,
    pub unk_id: u32,
    pub max_input_chars_per_word: usize,
}

impl WordPiece {
    /// The vocabulary from the lines of a `vocab.txt` (given, not an exercise). It must contain
    /// `[UNK]`; words longer than 100 characters become `[UNK]` (BERT's limit).
    pub fn from_lines(tokens: &[String]) -> WordPiece {
        let vocab: HashMap<String, u32> = tokens.iter().enumerate().map(|(i, t)| (t.clone(), i as u32)).collect();
        let unk_id = *vocab.get("[UNK]").expect("the vocabulary has no [UNK]");
        WordPiece { vocab, unk_id, max_input_chars_per_word: 100 }
    }

    /// ## wordpiece
    /// Split one word (already normalised, no spaces) into WordPiece ids by greedy longest match:
    /// from the start, take the longest prefix that is in the vocabulary; then, from where it
    /// ended, the longest piece that is in the vocabulary *with `##` in front* (`"##ing"`), and so
    /// on. If at some point no piece matches, the whole word is `[[UNK]]` (one id, even if a
    /// prefix had matched). A word of more than `max_input_chars_per_word` characters is
    /// `[[UNK]]` too. Pieces end on character boundaries: never slice a `str` inside a UTF-8
    /// sequence (`str::char_indices` gives the boundaries).
    /// Example (vocab `un, ##aff, ##able, ##a`): `"unaffable"` → ids of `["un", "##aff", "##able"]`.
    pub fn tokenize_word(&self, word: &str) -> Vec<u32> {
        todo!()
    }

    /// ## bert_encode
    /// The ids of a whole text: `basic_tokenize`, then `tokenize_word` on every word,
    /// concatenated. No `[CLS]` / `[SEP]` (what `tokenizer.encode(text, add_special_tokens=False)`
    /// gives).
    pub fn encode(&self, text: &str) -> Vec<u32> {
        todo!()
    }
}

// ------------------------------------------------------------------------------------------------
// GPT-2: byte-level BPE
// ------------------------------------------------------------------------------------------------

/// ## bytes_to_unicode
/// GPT-2's table from the 256 byte values to 256 printable characters, so that any byte string
/// is a string of visible characters (vocabulary files are text). Bytes that are already
/// printable and not whitespace map to themselves: `'!'..='~'` (33–126), `'¡'..='¬'` (161–172)
/// and `'®'..='ÿ'` (174–255). The other 68 bytes (0–32, 127–160, 173), in increasing order, map
/// to U+0100, U+0101, …: byte 0 → `'Ā'`, byte 32 (space) → `'Ġ'` (U+0120), byte 10 (newline) →
/// `'Ċ'`. Return the table indexed by byte value (a `Vec` of 256 chars).
pub fn bytes_to_unicode() -> Vec<char> {
    todo!()
}

/// GPT-2's pre-tokenisation pattern (given): contractions, an optional space followed by letters,
/// by digits, or by other symbols, then whitespace. `\s+(?!\S)` takes a whitespace run except
/// its last character when a word follows, so that the word keeps its leading space.
pub const GPT2_PATTERN: &str = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

/// ## gpt2_pretokenize
/// Split `text` into GPT-2's pre-tokens: the successive matches of [`GPT2_PATTERN`] (compile it
/// once, e.g. in a `std::sync::OnceLock<fancy_regex::Regex>`; `find_iter` gives the matches,
/// each a `Result`). The pieces are slices of `text` and together they are all of it.
/// BPE merges never cross a piece boundary.
/// Example: `"Hello  world's 42!"` → `["Hello", " ", " world", "'s", " 42", "!"]`.
pub fn gpt2_pretokenize(text: &str) -> Vec<&str> {
    todo!()
}

/// A byte-level BPE vocabulary (given, not an exercise): `vocab` maps each token (a string of
/// `bytes_to_unicode` characters) to its id and `tokens` is the reverse; `merges` maps a pair of
/// ids that may be merged to `(rank, id of the merged token)`; rank 0 is the first merge learned
/// (line 1 of `merges.txt`) and the lowest rank is applied first; `byte_ids[b]` is the id of the
/// one-byte token of byte `b` and `byte_of` the reverse table from characters to bytes.
pub struct Bpe {
    pub vocab: HashMap<String, u32>,
    pub tokens: Vec<String>,
    pub merges: HashMap<(u32, u32), (u32, u32)>,
    pub byte_ids: Vec<u32>,
    pub byte_of: HashMap<char, u8>,
}

impl Bpe {
    /// Build from `vocab.json`'s map and `merges.txt`'s pairs (in file order). Uses your
    /// `bytes_to_unicode`, so solve that first. Panics when a merge's parts or result, or a byte,
    /// is missing from the vocabulary.
    pub fn new(vocab: HashMap<String, u32>, merges: &[(String, String)]) -> Bpe {
        let n = vocab.values().map(|&i| i as usize + 1).max().unwrap_or(0);
        let mut tokens = vec![String::new(); n];
        for (t, &i) in &vocab {
            tokens[i as usize] = t.clone();
        }
        let id = |t: &str| *vocab.get(t).unwrap_or_else(|| panic!("{t:?} is not in the vocabulary"));
        let merges = merges.iter().enumerate().map(|(rank, (a, b))| ((id(a), id(b)), (rank as u32, id(&format!("{a}{b}"))))).collect();
        let table = bytes_to_unicode();
        let byte_ids = table.iter().map(|c| id(&c.to_string())).collect();
        let byte_of = table.iter().enumerate().map(|(b, &c)| (c, b as u8)).collect();
        Bpe { vocab, tokens, merges, byte_ids, byte_of }
    }

    /// ## bpe_merge
    /// The merge loop on one pre-token, given as the ids of its bytes: among all adjacent pairs
    /// that have a merge, find the one with the lowest rank; replace every occurrence of that
    /// pair, left to right without overlap (`a a a` with merge `(a, a)` → `aa a`), by the merged
    /// id; repeat until no adjacent pair has a merge. Return the final ids.
    /// Example (merges `h e` rank 0, `l l` rank 1, `he ll` rank 2): bytes of `"hello"` →
    /// `[h, e, l, l, o]` → `[he, l, l, o]` → `[he, ll, o]` → `[hell, o]`.
    pub fn merge_word(&self, ids: &[u32]) -> Vec<u32> {
        todo!()
    }

    /// ## bpe_encode
    /// Encode a text: `gpt2_pretokenize`, then for every piece map its UTF-8 bytes to their
    /// one-byte token ids (`byte_ids`) and `merge_word`; concatenate. No special tokens.
    /// Every string can be encoded: the 256 byte tokens are in every byte-level vocabulary.
    /// Optional, for speed: pieces repeat a lot in real text (`" the"`), so remember the ids of
    /// the pieces already merged during this call (a `HashMap<&str, Vec<u32>>`).
    pub fn encode(&self, text: &str) -> Vec<u32> {
        todo!()
    }

    /// ## bpe_decode
    /// The text of a list of ids: concatenate the tokens' strings, map every character back to
    /// its byte (`byte_of`) and read the bytes as UTF-8, replacing invalid sequences by U+FFFD
    /// (`String::from_utf8_lossy`: a list of ids cut inside a character is not valid UTF-8).
    /// `decode(&encode(s)) == s` for every string `s`.
    pub fn decode(&self, ids: &[u32]) -> String {
        todo!()
    }
}

/// ## bpe_train
/// Learn byte-level BPE merges from `text` until the vocabulary has `vocab_size` tokens
/// (`vocab_size - 256` merges, fewer if no pair is left), the way Hugging Face's `BpeTrainer`
/// does with the GPT-2 pre-tokeniser, so that your merges equal its merges:
/// 1. split `text` with `gpt2_pretokenize` and count how often each distinct piece occurs;
///    write each piece as its bytes' `bytes_to_unicode` characters;
/// 2. the initial vocabulary is the 256 byte characters **sorted by code point**, with ids
///    0..256 in that order (so `'!'` is id 0, not byte 0);
/// 3. repeat: count every adjacent pair of tokens over all pieces (a piece seen n times counts
///    n times); take the most frequent pair, breaking ties by the smallest `(left id, right id)`;
///    the merged token (the two strings concatenated) gets the next id; replace the pair in
///    every piece (left to right, no overlap). Stop when no pair occurs.
///
/// Return the merges in order, as pairs of token strings (the lines of `merges.txt`).
pub fn train_bpe(text: &str, vocab_size: usize) -> Vec<(String, String)> {
    todo!()
}
