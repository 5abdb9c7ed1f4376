//! Highlights and snippets that show what matched, typos and prefixes
//! included (tantivy's `SnippetGenerator` only knows exact terms).
//!
//! A stored text is tokenized with offsets by the same analyzers as the index;
//! a token is marked when its stem equals a query word's stem, when it is
//! within the word's typo budget of it (same first letter), or, for the last
//! word, when it starts with what was typed (exactly or within the budget) —
//! the same rules as the query, so what is marked is what made the document
//! match. The snippet is the window of about 160 bytes holding the most
//! distinct query words, French texts first; scanning stops at the first
//! window that holds them all.
//!
//! Stemming is most of the cost, so tokens that cannot match skip it (a
//! stem keeps the first two letters of its word), and stems are cached
//! across searches ([`StemCache`]).
//!
//! The output is HTML: every character of the text is escaped (texts come
//! from untrusted records), only our `<mark>` tags are markup.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use tantivy::tokenizer::{TextAnalyzer, TokenStream};

use super::query::QueryWord;
use super::schema::{Analyzers, analyse_word, truncate};

/// Target length of a snippet, in bytes of the original text (≈ characters
/// for French).
pub(super) const SNIPPET_BYTES: usize = 160;
/// Texts are scanned for matches up to this length (a hit's cost grows
/// with it; a match further in still makes the document a hit).
const MAX_SCANNED_BYTES: usize = 4 * 1024;
/// A text with more matched tokens than this only has its first ones weighed.
const MAX_SPANS: usize = 512;

/// How a token matched; stronger first.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Strength {
    Exact = 3,
    Prefix = 2,
    Fuzzy = 1,
}

/// A matched token: byte range in the text, which query word, how.
#[derive(Clone, Copy, Debug)]
struct Span {
    from: usize,
    to: usize,
    word: usize,
    strength: Strength,
}

/// At most this many words' stems are remembered across searches (a
/// catalogue's vocabulary is far smaller); beyond, the cache starts over.
const MAX_CACHED_STEMS: usize = 200_000;

/// A word's French and English stems.
struct Stems {
    fr: Box<str>,
    en: Box<str>,
}

/// Stems of the words seen in stored texts, shared by all searches:
/// stemming is most of a highlight's cost, and a word's stem never changes.
#[derive(Default)]
pub(super) struct StemCache {
    stems: RwLock<HashMap<Box<str>, Arc<Stems>>>,
}

impl StemCache {
    /// The stems of a token (`typed` as written, `folded` its folded form),
    /// from the cache or computed and remembered.
    fn get(
        &self,
        fr: &mut TextAnalyzer,
        en: &mut TextAnalyzer,
        typed: &str,
        folded: &str,
    ) -> Arc<Stems> {
        if let Some(stems) = self.stems.read().ok().and_then(|m| m.get(folded).cloned()) {
            return stems;
        }
        let stems = Arc::new(Stems {
            fr: analyse_word(fr, typed).unwrap_or_default().into(),
            en: analyse_word(en, typed).unwrap_or_default().into(),
        });
        if let Ok(mut map) = self.stems.write() {
            if map.len() >= MAX_CACHED_STEMS {
                map.clear();
            }
            map.insert(folded.into(), Arc::clone(&stems));
        }
        stems
    }
}

/// The best snippet window so far: its score (distinct words, strength),
/// the text, its matches, and the window's byte range.
struct Candidate<'t> {
    score: (usize, u32),
    text: &'t str,
    spans: Vec<Span>,
    start: usize,
    end: usize,
}

/// Marks tokens of texts against the query words; remembers each distinct
/// token's verdict (texts repeat their words).
pub(super) struct Highlighter<'q> {
    words: Vec<Prepared<'q>>,
    analyzers: Analyzers,
    stems: &'q StemCache,
    verdicts: HashMap<String, Option<(usize, Strength)>>,
}

/// A query word with what matching needs precomputed.
struct Prepared<'q> {
    word: &'q QueryWord,
    /// The shorter stem's length in characters: a token whose stem is more
    /// than the typo budget shorter cannot match.
    min_stem_chars: usize,
}

impl<'q> Highlighter<'q> {
    pub(super) fn new(
        words: &'q [QueryWord],
        analyzers: Analyzers,
        stems: &'q StemCache,
    ) -> Highlighter<'q> {
        Highlighter {
            words: words
                .iter()
                .map(|word| Prepared {
                    word,
                    min_stem_chars: word.fr.chars().count().min(word.en.chars().count()),
                })
                .collect(),
            analyzers,
            stems,
            verdicts: HashMap::new(),
        }
    }

    /// The whole text, escaped, with matched tokens in `<mark>`.
    pub(super) fn highlight(&mut self, text: &str) -> String {
        let text = truncate(text, MAX_SCANNED_BYTES);
        let (spans, _) = self.spans(text, false);
        let mut out = String::with_capacity(text.len() + 16);
        write_marked(&mut out, text, 0, text.len(), &spans);
        out
    }

    /// A window of about [`SNIPPET_BYTES`] around the best cluster of matches
    /// among `texts` (in order of preference), escaped, with `<mark>`; the
    /// beginning of the first non-blank text when nothing matches.
    pub(super) fn snippet<'t>(&mut self, texts: impl IntoIterator<Item = &'t str>) -> String {
        let mut best: Option<Candidate<'t>> = None;
        let mut first: Option<(&str, Vec<(usize, usize)>)> = None;
        for text in texts {
            let text = truncate(text, MAX_SCANNED_BYTES);
            if text.trim().is_empty() {
                continue;
            }
            let (spans, tokens) = self.spans(text, true);
            if spans.is_empty() {
                if first.is_none() {
                    first = Some((text, tokens));
                }
                continue;
            }
            let (score, i, j) = best_window(&spans, self.words.len());
            // Ties go to the earlier text (French summary first).
            let complete = score.0 >= self.words.len();
            if best.as_ref().is_none_or(|b| score > b.score) {
                let (start, end) = window(text, &tokens, spans[i].from, spans[j].to);
                best = Some(Candidate {
                    score,
                    text,
                    spans,
                    start,
                    end,
                });
            }
            // Every word in one window: later texts cannot do better.
            if complete {
                break;
            }
        }
        let mut out = String::with_capacity(SNIPPET_BYTES * 2);
        if let Some(b) = best {
            write_window(&mut out, b.text, b.start, b.end, &b.spans);
        } else if let Some((text, tokens)) = first {
            let end = tokens
                .iter()
                .take_while(|(_, to)| *to <= SNIPPET_BYTES)
                .last()
                .map_or_else(|| truncate(text, SNIPPET_BYTES).len(), |(_, to)| *to);
            write_window(&mut out, text, 0, with_punctuation(text, end), &[]);
        }
        out
    }

    /// Matched spans of `text`, and every token's byte range. With
    /// `until_complete`, stops once a snippet-sized window holds every
    /// query word (reading on just far enough to place the window).
    fn spans(&mut self, text: &str, until_complete: bool) -> (Vec<Span>, Vec<(usize, usize)>) {
        let Analyzers {
            fr,
            en,
            words: folder,
        } = &mut self.analyzers;
        let n_words = self.words.len();
        let mut tokens: Vec<(usize, usize)> = Vec::new();
        let mut spans: Vec<Span> = Vec::new();
        // Spans of the current window, per word, and where it starts.
        let mut in_window = vec![0u32; n_words];
        let (mut distinct, mut first) = (0, 0);
        let mut read_until = usize::MAX;
        let mut stream = folder.token_stream(text);
        while stream.advance() {
            let t = stream.token();
            if t.offset_from > read_until {
                break;
            }
            tokens.push((t.offset_from, t.offset_to));
            if n_words == 0 || spans.len() >= MAX_SPANS || read_until != usize::MAX {
                continue;
            }
            let verdict = match self.verdicts.get(t.text.as_str()) {
                Some(v) => *v,
                None => {
                    let typed = &text[t.offset_from..t.offset_to];
                    let v = judge(&self.words, self.stems, fr, en, typed, &t.text);
                    self.verdicts.insert(t.text.clone(), v);
                    v
                }
            };
            let Some((word, strength)) = verdict else {
                continue;
            };
            spans.push(Span {
                from: t.offset_from,
                to: t.offset_to,
                word,
                strength,
            });
            if !until_complete {
                continue;
            }
            if let Some(c) = in_window.get_mut(word) {
                distinct += usize::from(*c == 0);
                *c += 1;
            }
            while t.offset_to - spans[first].from > SNIPPET_BYTES {
                if let Some(c) = in_window.get_mut(spans[first].word) {
                    *c -= 1;
                    distinct -= usize::from(*c == 0);
                }
                first += 1;
            }
            if distinct == n_words {
                read_until = t.offset_to + SNIPPET_BYTES;
            }
        }
        (spans, tokens)
    }
}

/// Which query word a token matches best, if any. `typed` is the token as
/// written, `folded` its lower-cased, folded form.
fn judge(
    words: &[Prepared<'_>],
    cache: &StemCache,
    fr: &mut TextAnalyzer,
    en: &mut TextAnalyzer,
    typed: &str,
    folded: &str,
) -> Option<(usize, Strength)> {
    // Stemming is the expensive part: only for tokens that could match.
    let folded_chars = folded.chars().count();
    let mut stems: Option<Arc<Stems>> = None;
    let mut best: Option<(usize, Strength)> = None;
    for (i, p) in words.iter().enumerate() {
        let w = p.word;
        let d = usize::from(w.typos);
        // A stem is never longer than its word and keeps its first two
        // letters (Snowball only rewrites suffixes); typos are never on the
        // first letter (as in the query).
        let could = folded_chars + d >= p.min_stem_chars
            && match d {
                0 => same_start(folded, &w.fr, 2) || same_start(folded, &w.en, 2),
                _ => same_start(folded, &w.fr, 1) || same_start(folded, &w.en, 1),
            };
        let mut strength = None;
        if could {
            let stems = stems.get_or_insert_with(|| cache.get(fr, en, typed, folded));
            let (f, e) = (&*stems.fr, &*stems.en);
            if f == w.fr || e == w.en {
                strength = Some(Strength::Exact);
            } else if d > 0 && {
                let (d_fr, d_en) = (
                    usize::from(super::query::stem_typos(w.typos, &w.fr)),
                    usize::from(super::query::stem_typos(w.typos, &w.en)),
                );
                (d_fr > 0 && same_start(f, &w.fr, 1) && within(f, &w.fr, d_fr, false))
                    || (d_en > 0 && same_start(e, &w.en, 1) && within(e, &w.en, d_en, false))
            } {
                strength = Some(Strength::Fuzzy);
            }
        }
        if w.prefix && strength != Some(Strength::Exact) {
            if folded.starts_with(w.folded.as_str()) {
                strength = Some(Strength::Prefix);
            } else if strength.is_none()
                && d > 0
                && same_start(folded, &w.folded, 1)
                && within(&w.folded, folded, d, true)
            {
                strength = Some(Strength::Fuzzy);
            }
        }
        if let Some(s) = strength
            && best.is_none_or(|(_, b)| s > b)
        {
            best = Some((i, s));
        }
    }
    best
}

/// Whether `token` starts with the first `n` letters of `stem` (all of them
/// if the stem is shorter).
fn same_start(token: &str, stem: &str, n: usize) -> bool {
    let k = stem.chars().take(n).count();
    token.chars().take(k).eq(stem.chars().take(k))
}

/// The best run of spans fitting in a snippet: most distinct words, then
/// strongest. Returns (score, first span, last span).
fn best_window(spans: &[Span], n_words: usize) -> ((usize, u32), usize, usize) {
    let mut best = ((0, 0), 0, 0);
    let mut seen = vec![0u32; n_words.max(1)];
    for i in 0..spans.len() {
        seen.iter_mut().for_each(|s| *s = 0);
        let (mut distinct, mut strength) = (0usize, 0u32);
        for (j, span) in spans.iter().enumerate().skip(i) {
            if span.to - spans[i].from > SNIPPET_BYTES {
                break;
            }
            if let Some(slot) = seen.get_mut(span.word) {
                if *slot == 0 {
                    distinct += 1;
                }
                *slot += 1;
            }
            strength += span.strength as u32;
            if (distinct, strength) > best.0 {
                best = ((distinct, strength), i, j);
            }
        }
    }
    best
}

/// Widens `[from, to)` to about [`SNIPPET_BYTES`], centred, on token
/// boundaries.
fn window(text: &str, tokens: &[(usize, usize)], from: usize, to: usize) -> (usize, usize) {
    let slack = SNIPPET_BYTES.saturating_sub(to - from);
    let mut start = from.saturating_sub(slack / 2);
    let mut end = (start + (to - from) + slack).min(text.len());
    if end - start < SNIPPET_BYTES {
        start = end.saturating_sub(SNIPPET_BYTES);
    }
    start = tokens
        .iter()
        .map(|(f, _)| *f)
        .find(|f| *f >= start)
        .unwrap_or(from)
        .min(from);
    end = tokens
        .iter()
        .map(|(_, t)| *t)
        .take_while(|t| *t <= end)
        .last()
        .unwrap_or(to)
        .max(to);
    (start, with_punctuation(text, end))
}

/// Moves `end` past the punctuation right after it (a final full stop or
/// closing bracket belongs to the snippet).
fn with_punctuation(text: &str, end: usize) -> usize {
    let tail = &text[end..];
    let n: usize = tail
        .chars()
        .take(3)
        .take_while(|c| !c.is_whitespace() && !c.is_alphanumeric())
        .map(char::len_utf8)
        .sum();
    end + n
}

/// `text[start..end]` with ellipses where it was cut.
fn write_window(out: &mut String, text: &str, start: usize, end: usize, spans: &[Span]) {
    if !text[..start].trim().is_empty() {
        out.push('…');
    }
    write_marked(out, text, start, end, spans);
    if !text[end..].trim().is_empty() {
        out.push('…');
    }
}

/// Escapes `text[start..end]`, wrapping the spans inside it in `<mark>`.
fn write_marked(out: &mut String, text: &str, start: usize, end: usize, spans: &[Span]) {
    let mut at = start;
    for span in spans.iter().filter(|s| s.from >= start && s.to <= end) {
        escape_into(out, &text[at..span.from]);
        out.push_str("<mark>");
        escape_into(out, &text[span.from..span.to]);
        out.push_str("</mark>");
        at = span.to;
    }
    escape_into(out, &text[at..end]);
}

/// HTML-escapes `s` into `out`, collapsing runs of whitespace (descriptions
/// are markdown with newlines; a snippet is one line).
pub(super) fn escape_into(out: &mut String, s: &str) {
    let mut in_space = false;
    for c in s.chars() {
        if c.is_whitespace() {
            if !in_space {
                out.push(' ');
            }
            in_space = true;
            continue;
        }
        in_space = false;
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
}

/// Longest word compared, in characters (tokens have fewer than 40 bytes).
const MAX_CHARS: usize = 48;

/// The characters of `s` on the stack; `None` if there are too many.
fn chars(s: &str) -> Option<([char; MAX_CHARS], usize)> {
    let mut buf = ['\0'; MAX_CHARS];
    let mut n = 0;
    for c in s.chars() {
        *buf.get_mut(n)? = c;
        n += 1;
    }
    Some((buf, n))
}

/// Whether the optimal-string-alignment distance (a transposition costs
/// one, as in the index's Levenshtein automata) between `a` and `b` is at
/// most `max`; with `prefix`, between `a` and the closest prefix of `b` (what
/// a prefix automaton accepts). Only the diagonal band that can stay within
/// `max` is computed, without allocating.
fn within(a: &str, b: &str, max: usize, prefix: bool) -> bool {
    const INF: usize = usize::MAX / 4;
    let (Some((a, n)), Some((b, m))) = (chars(a), chars(b)) else {
        return false;
    };
    if n == 0 || m == 0 {
        return false;
    }
    // A prefix of `b` longer than `a` by more than `max` is too far.
    let m = if prefix { m.min(n + max) } else { m };
    if !prefix && n.abs_diff(m) > max {
        return false;
    }
    // Three rolling rows; only the band |i - j| <= max is written, and the
    // cells just outside it that the next rows read are kept at INF.
    let mut rows = [[INF; MAX_CHARS + 2]; 3];
    for (j, cell) in rows[0].iter_mut().enumerate().take(m.min(max) + 1) {
        *cell = j;
    }
    let (mut lo, mut hi) = (0, m.min(max));
    for i in 1..=n {
        let (cur, prev, prev2) = (i % 3, (i - 1) % 3, (i + 1) % 3);
        lo = i.saturating_sub(max);
        hi = (i + max).min(m);
        let mut row_min = INF;
        if lo == 0 {
            rows[cur][0] = i;
            row_min = i;
        } else {
            rows[cur][lo - 1] = INF;
        }
        for j in lo.max(1)..=hi {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (rows[prev][j] + 1)
                .min(rows[cur][j - 1] + 1)
                .min(rows[prev][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(rows[prev2][j - 2] + 1);
            }
            rows[cur][j] = d;
            row_min = row_min.min(d);
        }
        rows[cur][hi + 1] = INF;
        // Rows never get better than the previous one's best, and a
        // transposition two rows down costs at least this row's best.
        if row_min > max {
            return false;
        }
    }
    let last = &rows[n % 3];
    if prefix {
        last[lo..=hi].iter().any(|d| *d <= max)
    } else {
        last[m] <= max
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert!(within("solidair", "solidair", 0, false));
        assert!(within("solidair", "solidiar", 1, false)); // transposition
        assert!(!within("solidair", "sloidiar", 1, false));
        assert!(within("solidair", "sloidiar", 2, false));
        assert!(!within("velo", "velu", 0, false));
        assert!(within("epiceri", "epicer", 1, false));
        assert!(within("epicer", "epiceri", 1, false));
        assert!(!within("abc", "xyz", 2, false));
        assert!(within("élan", "elan", 1, false));
        assert!(within("solidai", "solidaire", 0, true));
        assert!(within("soldai", "solidaire", 1, true));
        assert!(within("sodilai", "solidaire", 2, true));
        assert!(!within("xolxai", "solidaire", 1, true));
        assert!(!within("solidaire", "solid", 1, true));
        assert!(!within(&"a".repeat(60), &"a".repeat(60), 2, false));
    }

    /// Full-matrix optimal string alignment distance, and its best-prefix variant.
    fn naive(a: &[char], b: &[char]) -> (usize, usize) {
        let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
        for (i, row) in d.iter_mut().enumerate() {
            row[0] = i;
        }
        for (j, cell) in d[0].iter_mut().enumerate() {
            *cell = j;
        }
        for i in 1..=a.len() {
            for j in 1..=b.len() {
                let cost = usize::from(a[i - 1] != b[j - 1]);
                let mut v = (d[i - 1][j] + 1)
                    .min(d[i][j - 1] + 1)
                    .min(d[i - 1][j - 1] + cost);
                if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                    v = v.min(d[i - 2][j - 2] + 1);
                }
                d[i][j] = v;
            }
        }
        let full = d[a.len()][b.len()];
        let prefix = d[a.len()].iter().copied().min().unwrap_or(usize::MAX);
        (full, prefix)
    }

    #[test]
    fn banded_distance_agrees_with_the_full_matrix() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let alphabet = ['a', 'b', 'c', 'é'];
        for _ in 0..20_000 {
            let mut word = |max_len: u64| -> String {
                let len = 1 + next() % max_len;
                (0..len)
                    .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                    .collect()
            };
            let (a, b) = (word(7), word(9));
            let (ac, bc): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
            let (full, prefix) = naive(&ac, &bc);
            for max in 0..=2 {
                assert_eq!(within(&a, &b, max, false), full <= max, "{a} {b} {max}");
                assert_eq!(
                    within(&a, &b, max, true),
                    prefix <= max,
                    "{a} {b} {max} prefix"
                );
            }
        }
    }

    #[test]
    fn escaping() {
        let mut out = String::new();
        escape_into(&mut out, "<script>\"a\" & 'b'\n\n c</script>");
        assert_eq!(
            out,
            "&lt;script&gt;&quot;a&quot; &amp; &#39;b&#39; c&lt;/script&gt;"
        );
    }
}
