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
// STUB: #![allow(unused_variables, unused_imports, dead_code)] // remove once you have solved a few

use fancy_regex::Regex;
use std::collections::HashMap;
use std::sync::OnceLock;
use unicode_categories::UnicodeCategories;
use unicode_normalization_alignments::UnicodeNormalization;

// ------------------------------------------------------------------------------------------------
// BERT: basic tokenizer + WordPiece
// ------------------------------------------------------------------------------------------------

// BEGIN SOLUTION ONLY
fn is_bert_whitespace(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r') || c.is_whitespace()
}

fn is_bert_control(c: char) -> bool {
    !matches!(c, '\t' | '\n' | '\r') && c.is_other()
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x4E00..=0x9FFF | 0x3400..=0x4DBF | 0x20000..=0x2A6DF | 0x2A700..=0x2B73F
        | 0x2B740..=0x2B81F | 0x2B920..=0x2CEAF | 0xF900..=0xFAFF | 0x2F800..=0x2FA1F)
}

fn is_bert_punctuation(c: char) -> bool {
    c.is_ascii_punctuation() || c.is_punctuation()
}
// END SOLUTION

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
// HINT: Order matters: clean and space out the CJK ideographs first, then strip accents (decompose, drop the marks), then lowercase one character at a time, and only then split: whitespace just ends a word, and every punctuation character is a word of its own.
// HINT: Build the normalised string: skip '\0', U+FFFD and control characters (is_other() except \t \n \r); any whitespace → ' '; push ' ', c, ' ' around a CJK ideograph (the doc's code-point ranges); then s.nfd() (keep the char of each pair), filter out is_mark_nonspacing(), flat_map(char::to_lowercase); finally walk the chars: whitespace ends the current word; punctuation (is_ascii_punctuation() or is_punctuation()) ends it and is pushed as a word of its own.
// HINT: `let stripped: String = norm.as_str().nfd().map(|(c, _)| c).filter(|c| !c.is_mark_nonspacing()).collect(); let lower: String = stripped.chars().flat_map(char::to_lowercase).collect();`
pub fn basic_tokenize(text: &str) -> Vec<String> {
    // BEGIN SOLUTION
    let mut norm = String::with_capacity(text.len());
    for c in text.chars() {
        if c == '\0' || c == '\u{fffd}' || is_bert_control(c) {
            continue;
        }
        let c = if is_bert_whitespace(c) { ' ' } else { c };
        if is_cjk(c) {
            norm.push(' ');
            norm.push(c);
            norm.push(' ');
        } else {
            norm.push(c);
        }
    }
    let stripped: String = norm.as_str().nfd().map(|(c, _)| c).filter(|c| !c.is_mark_nonspacing()).collect();
    let lower: String = stripped.chars().flat_map(char::to_lowercase).collect();
    let mut words = Vec::new();
    let mut cur = String::new();
    for c in lower.chars() {
        if c.is_whitespace() {
            if !cur.is_empty() {
                words.push(std::mem::take(&mut cur));
            }
        } else if is_bert_punctuation(c) {
            if !cur.is_empty() {
                words.push(std::mem::take(&mut cur));
            }
            words.push(c.to_string());
        } else {
            cur.push(c);
        }
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    words
    // END SOLUTION
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
    // HINT: Greedy longest match: at each point take the longest piece in the vocabulary (with the ## prefix after the first piece); if at some point nothing matches, the whole word becomes a single unknown token, even if earlier pieces matched. Cut only at character boundaries, never inside a multi-byte character.
    // HINT: Check the length limit (in chars) first. Collect the char boundaries of the word (char_indices after the first, plus word.len()); from start = 0, try ends from the longest down, prefixing "##" when start > 0, and look the piece up in self.vocab; on a match push its id and continue from its end; no match at some start → vec![self.unk_id] for the whole word.
    // HINT: `for &end in ends.iter().rev().take_while(|&&e| e > start) { let piece = if start > 0 { format!("##{}", &word[start..end]) } else { word[start..end].to_string() }; if let Some(&id) = self.vocab.get(&piece) { found = Some((id, end)); break; } }` and, when found is None, `return vec![self.unk_id]`.
    pub fn tokenize_word(&self, word: &str) -> Vec<u32> {
        // BEGIN SOLUTION
        if word.chars().count() > self.max_input_chars_per_word {
            return vec![self.unk_id];
        }
        let mut ends: Vec<usize> = word.char_indices().map(|(i, _)| i).skip(1).collect();
        ends.push(word.len());
        let mut out = Vec::new();
        let mut start = 0;
        let mut piece = String::new();
        while start < word.len() {
            let mut found = None;
            for &end in ends.iter().rev().take_while(|&&e| e > start) {
                piece.clear();
                if start > 0 {
                    piece.push_str("##");
                }
                piece.push_str(&word[start..end]);
                if let Some(&id) = self.vocab.get(&piece) {
                    found = Some((id, end));
                    break;
                }
            }
            match found {
                Some((id, end)) => {
                    out.push(id);
                    start = end;
                }
                None => return vec![self.unk_id],
            }
        }
        out
        // END SOLUTION
    }

    /// ## bert_encode
    /// The ids of a whole text: `basic_tokenize`, then `tokenize_word` on every word,
    /// concatenated. No `[CLS]` / `[SEP]` (what `tokenizer.encode(text, add_special_tokens=False)`
    /// gives).
    // HINT: No new logic: the words of the basic tokenizer, each split by WordPiece, all the pieces in order, and no special tokens at either end.
    // HINT: basic_tokenize(text), then every word through self.tokenize_word, the ids concatenated (iter, flat_map, collect).
    // HINT: `basic_tokenize(text).iter().flat_map(|w| self.tokenize_word(w)).collect()`
    pub fn encode(&self, text: &str) -> Vec<u32> {
        // BEGIN SOLUTION
        basic_tokenize(text).iter().flat_map(|w| self.tokenize_word(w)).collect()
        // END SOLUTION
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
// HINT: Printable bytes keep their own code point; the other bytes, in increasing order, take the code points from 256 upwards, one each. So the space byte is not 256 + 32: count only the non-printable bytes before it.
// HINT: Walk b = 0..256 with a counter starting at 256: b in 33..=126, 161..=172 or 174..=255 → char::from_u32(b); otherwise char::from_u32(counter), then increment the counter. Collect the 256 chars.
// HINT: Inside `(0..256u32).map(|b| …)`: `if printable(b) { char::from_u32(b).unwrap() } else { let c = char::from_u32(next).unwrap(); next += 1; c }`
pub fn bytes_to_unicode() -> Vec<char> {
    // BEGIN SOLUTION
    let printable = |b: u32| (33..=126).contains(&b) || (161..=172).contains(&b) || (174..=255).contains(&b);
    let mut next = 256u32;
    (0..256u32)
        .map(|b| {
            if printable(b) {
                char::from_u32(b).unwrap()
            } else {
                let c = char::from_u32(next).unwrap();
                next += 1;
                c
            }
        })
        .collect()
    // END SOLUTION
}

/// GPT-2's pre-tokenisation pattern (given): contractions, an optional space followed by letters,
/// by digits, or by other symbols, then whitespace. `\s+(?!\S)` takes a whitespace run except
/// its last character when a word follows, so that the word keeps its leading space.
pub const GPT2_PATTERN: &str = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

// BEGIN SOLUTION ONLY
fn gpt2_regex() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(GPT2_PATTERN).expect("GPT-2 pattern"))
}
// END SOLUTION

/// ## gpt2_pretokenize
/// Split `text` into GPT-2's pre-tokens: the successive matches of [`GPT2_PATTERN`] (compile it
/// once, e.g. in a `std::sync::OnceLock<fancy_regex::Regex>`; `find_iter` gives the matches,
/// each a `Result`). The pieces are slices of `text` and together they are all of it.
/// BPE merges never cross a piece boundary.
/// Example: `"Hello  world's 42!"` → `["Hello", " ", " world", "'s", " 42", "!"]`.
// HINT: The pattern is given: the pieces are simply its successive matches, in order, and together they cover the whole text. Compile the pattern once, not on every call.
// HINT: A static OnceLock<Regex> initialised with Regex::new(GPT2_PATTERN); find_iter(text) yields a Result per match; keep each match's as_str() (a slice of text) and collect.
// HINT: `static RE: OnceLock<Regex> = OnceLock::new(); RE.get_or_init(|| Regex::new(GPT2_PATTERN).unwrap()).find_iter(text).map(|m| m.unwrap().as_str()).collect()`
pub fn gpt2_pretokenize(text: &str) -> Vec<&str> {
    // BEGIN SOLUTION
    gpt2_regex().find_iter(text).filter_map(|m| m.ok()).map(|m| m.as_str()).collect()
    // END SOLUTION
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
    // HINT: The lowest-ranked merge available anywhere in the word goes first, not the leftmost pair; and one round merges every occurrence of that pair, left to right without overlap, before you look for the next best pair.
    // HINT: loop: among ids.windows(2) find the pair with the smallest rank in self.merges (min over (rank, pair, merged id)); none → return the ids; otherwise rebuild the vector left to right, replacing each occurrence of that pair by its merged id and skipping both of its parts.
    // HINT: `let best = ids.windows(2).filter_map(|w| self.merges.get(&(w[0], w[1])).map(|&(rank, new)| (rank, (w[0], w[1]), new))).min();` then a while loop that pushes new and steps 2 when `(ids[i], ids[i + 1]) == pair`, else pushes ids[i] and steps 1.
    pub fn merge_word(&self, ids: &[u32]) -> Vec<u32> {
        // BEGIN SOLUTION
        let mut ids = ids.to_vec();
        loop {
            let best = ids.windows(2).filter_map(|w| self.merges.get(&(w[0], w[1])).map(|&(rank, new)| (rank, (w[0], w[1]), new))).min();
            let Some((_, pair, new)) = best else { return ids };
            let mut out = Vec::with_capacity(ids.len());
            let mut i = 0;
            while i < ids.len() {
                if i + 1 < ids.len() && (ids[i], ids[i + 1]) == pair {
                    out.push(new);
                    i += 2;
                } else {
                    out.push(ids[i]);
                    i += 1;
                }
            }
            ids = out;
        }
        // END SOLUTION
    }

    /// ## bpe_encode
    /// Encode a text: `gpt2_pretokenize`, then for every piece map its UTF-8 bytes to their
    /// one-byte token ids (`byte_ids`) and `merge_word`; concatenate. No special tokens.
    /// Every string can be encoded: the 256 byte tokens are in every byte-level vocabulary.
    /// Optional, for speed: pieces repeat a lot in real text (`" the"`), so remember the ids of
    /// the pieces already merged during this call (a `HashMap<&str, Vec<u32>>`).
    // HINT: Work on bytes, not characters: each pre-token's UTF-8 bytes start as one-byte tokens, and merges never cross from one pre-token into the next.
    // HINT: For each piece of gpt2_pretokenize(text): map piece.bytes() through self.byte_ids, merge_word, extend the output. Optionally remember the ids of pieces already merged in a HashMap<&str, Vec<u32>>.
    // HINT: `let bytes: Vec<u32> = piece.bytes().map(|b| self.byte_ids[b as usize]).collect(); out.extend_from_slice(&self.merge_word(&bytes));`
    pub fn encode(&self, text: &str) -> Vec<u32> {
        // BEGIN SOLUTION
        let mut out = Vec::with_capacity(text.len() / 3);
        let mut seen: HashMap<&str, Vec<u32>> = HashMap::new();
        let mut buf = Vec::new();
        for piece in gpt2_pretokenize(text) {
            if let Some(ids) = seen.get(piece) {
                out.extend_from_slice(ids);
                continue;
            }
            buf.clear();
            buf.extend(piece.bytes().map(|b| self.byte_ids[b as usize]));
            let ids = self.merge_word(&buf);
            out.extend_from_slice(&ids);
            seen.insert(piece, ids);
        }
        out
        // END SOLUTION
    }

    /// ## bpe_decode
    /// The text of a list of ids: concatenate the tokens' strings, map every character back to
    /// its byte (`byte_of`) and read the bytes as UTF-8, replacing invalid sequences by U+FFFD
    /// (`String::from_utf8_lossy`: a list of ids cut inside a character is not valid UTF-8).
    /// `decode(&encode(s)) == s` for every string `s`.
    // HINT: Decode the bytes of all the tokens together, not token by token: a character of several bytes can be split across tokens, and only the whole byte string is valid UTF-8 (an incomplete character becomes the replacement character).
    // HINT: ids → self.tokens[id] strings → their chars → self.byte_of[&c] bytes, all in one Vec<u8>; then String::from_utf8_lossy on it, into_owned.
    // HINT: `let bytes: Vec<u8> = ids.iter().flat_map(|&i| self.tokens[i as usize].chars()).map(|c| self.byte_of[&c]).collect(); String::from_utf8_lossy(&bytes).into_owned()`
    pub fn decode(&self, ids: &[u32]) -> String {
        // BEGIN SOLUTION
        let bytes: Vec<u8> = ids.iter().flat_map(|&i| self.tokens[i as usize].chars()).map(|c| self.byte_of[&c]).collect();
        String::from_utf8_lossy(&bytes).into_owned()
        // END SOLUTION
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
// HINT: The initial ids follow the code points of the 256 byte characters in sorted order, not the byte values, and a tie between equally frequent pairs goes to the smallest (left id, right id): both decide which merges you learn, so follow them exactly.
// HINT: Count the distinct pieces once (HashMap<&str, u64>) and keep each as a Vec<u32> of ids with its count; alphabet = bytes_to_unicode() sorted, id = index in that order. Per merge: count adjacent pairs weighted by the piece counts; pick the highest count, ties by the smallest (left, right); push (tokens[l], tokens[r]) to the merges and their concatenation to the tokens (the next id); rewrite every piece left to right without overlap. Stop at vocab_size tokens or when no pair is left.
// HINT: `let Some((&pair, _)) = pairs.iter().max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0))) else { break };` (the reversed comparison of the pairs makes the smaller (left, right) win a tie).
pub fn train_bpe(text: &str, vocab_size: usize) -> Vec<(String, String)> {
    // BEGIN SOLUTION
    let table = bytes_to_unicode();
    let mut alphabet: Vec<char> = table.clone();
    alphabet.sort();
    let mut tokens: Vec<String> = alphabet.iter().map(|c| c.to_string()).collect();
    let id_of_char: HashMap<char, u32> = alphabet.iter().enumerate().map(|(i, &c)| (c, i as u32)).collect();
    let mut counts: HashMap<&str, u64> = HashMap::new();
    for piece in gpt2_pretokenize(text) {
        *counts.entry(piece).or_default() += 1;
    }
    let mut words: Vec<(Vec<u32>, u64)> = counts.into_iter().map(|(p, n)| (p.bytes().map(|b| id_of_char[&table[b as usize]]).collect(), n)).collect();
    let mut merges = Vec::new();
    while tokens.len() < vocab_size {
        let mut pairs: HashMap<(u32, u32), u64> = HashMap::new();
        for (w, n) in &words {
            for p in w.windows(2) {
                *pairs.entry((p[0], p[1])).or_default() += n;
            }
        }
        let Some((&pair, _)) = pairs.iter().max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0))) else { break };
        let new = tokens.len() as u32;
        merges.push((tokens[pair.0 as usize].clone(), tokens[pair.1 as usize].clone()));
        tokens.push(format!("{}{}", tokens[pair.0 as usize], tokens[pair.1 as usize]));
        for (w, _) in words.iter_mut() {
            if w.len() < 2 {
                continue;
            }
            let mut out = Vec::with_capacity(w.len());
            let mut i = 0;
            while i < w.len() {
                if i + 1 < w.len() && (w[i], w[i + 1]) == pair {
                    out.push(new);
                    i += 2;
                } else {
                    out.push(w[i]);
                    i += 1;
                }
            }
            *w = out;
        }
    }
    merges
    // END SOLUTION
}
