//! From the visitor's text to a tantivy query: words, typo budgets, prefix on
//! the last word, and the score tiers that put exact matches first.
//!
//! # Words
//!
//! The text (cut at 500 bytes) is split and folded like the texts were; the
//! first 16 words count. Each is analysed with both stemmers (tantivy's fuzzy
//! queries do not analyse their term). A word of fewer than 5 letters allows
//! no typo, from 5 letters one, from 9 two (Meilisearch's rule, letters as
//! typed), never on the first letter (Meilisearch counts that one double).
//! The last word, unless followed by a separator, may be unfinished: it also
//! matches as a prefix, with the same typo budget.
//!
//! Every word must match somewhere (AND); when no document has them all, any
//! word will do (OR), and [`super::SearchResponse::all_words`] says so.
//!
//! # Ranking
//!
//! tantivy's fuzzy and prefix queries give every match the same constant
//! score, and BM25 alone would let a frequent fuzzy match beat a rare exact
//! one. So each word contributes tiers, far apart, plus BM25 on exact terms:
//!
//! | the word matched… | contribution |
//! |---|---|
//! | exactly (same stem) in some field | [`EXACT_TIER`] + BM25 (the name again, ×[`NAME_BOOST`]) |
//! | as the beginning of a word (last word only) | [`PREFIX_TIER`] |
//! | within its typo budget (word, or prefix) | [`FUZZY_TIER`] per field |
//!
//! With at most 16 words, and BM25 far below [`EXACT_TIER`] / 16, a document
//! with more exactly matched words always ranks first; BM25 orders documents
//! within a tier, prefix and typo tiers order the rest. In the "any word"
//! fallback each matched word adds [`WORD_TIER`]: more words matched first.
//!
//! # Cost
//!
//! A common word's postings are read once: the exact tier rides on the BM25
//! query ([`Shifted`]), and the typo and prefix automata skip the exact term
//! and walk only the terms with the same first letter ([`AutomatonExcept`]).
//! Prefixes of one or two letters, which would expand to thousands of terms,
//! are single terms of the `short_prefixes` field.

use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, ConstScoreQuery, EmptyQuery, Occur, Query, TermQuery,
};
use tantivy::schema::{Facet, IndexRecordOption};
use tantivy::tokenizer::TokenStream;
use tantivy::{Score, Term};

use super::matchers::{AutomatonExcept, Shifted};
use super::schema::{
    Analyzers, FacetKind, Fields, analyse_word, facet_term, flat_facet, territory_facet, truncate,
};
use super::{Filters, IndexError};

/// Longer queries are cut (on a character boundary).
pub(super) const MAX_QUERY_BYTES: usize = 500;
/// Words after the 16th are ignored.
pub(super) const MAX_QUERY_WORDS: usize = 16;
/// More values than this for one filter kind is refused.
pub(super) const MAX_FILTER_VALUES: usize = 100;

/// Added when a word matches exactly (see the module documentation).
pub(super) const EXACT_TIER: Score = 1_000.0;
/// Added when the last word begins a word of the document.
pub(super) const PREFIX_TIER: Score = 0.4;
/// Added per field where a word matches within its typo budget.
pub(super) const FUZZY_TIER: Score = 0.1;
/// Added per word matched, in the "any word" fallback.
pub(super) const WORD_TIER: Score = 20_000.0;
/// Weight of a match in the name, on top of the same match in the text.
pub(super) const NAME_BOOST: Score = 2.0;

/// One word of the query, analysed the way the index analysed the texts.
#[derive(Clone, Debug)]
pub(super) struct QueryWord {
    /// Lower-cased, ASCII-folded (the `words` field's form).
    pub(super) folded: String,
    /// French stem of the folded word.
    pub(super) fr: String,
    /// English stem.
    pub(super) en: String,
    /// Typos allowed: 0 under 5 letters, 1 from 5, 2 from 9 (Meilisearch's rule),
    /// counted on what the visitor typed.
    pub(super) typos: u8,
    /// The last word, not followed by a separator: the visitor may still be
    /// typing it, so it also matches as a prefix.
    pub(super) prefix: bool,
}

/// Typos allowed for a word of `letters` characters (never on its first
/// letter: see `matchers::AutomatonExcept`).
pub(super) fn typo_budget(letters: usize) -> u8 {
    match letters {
        0..=4 => 0,
        5..=8 => 1,
        _ => 2,
    }
}

/// Typos allowed on a stem: the typed word's budget, but no more than the
/// stem's own length allows (stemming shortens words, and "sante" → `sant`
/// with one typo would match `san`, the stem of "sans").
pub(super) fn stem_typos(word_typos: u8, stem: &str) -> u8 {
    word_typos.min(typo_budget(stem.chars().count()))
}

/// Splits and analyses the query text. Never fails: punctuation, symbols and
/// over-long words simply yield no word.
pub(super) fn parse(q: &str, analyzers: &mut Analyzers) -> Vec<QueryWord> {
    let q = truncate(q, MAX_QUERY_BYTES);
    let mut tokens: Vec<(usize, usize, String)> = Vec::new();
    {
        let mut stream = analyzers.words.token_stream(q);
        while stream.advance() && tokens.len() < MAX_QUERY_WORDS {
            let t = stream.token();
            tokens.push((t.offset_from, t.offset_to, t.text.clone()));
        }
    }
    let last = tokens.len().saturating_sub(1);
    let mut words: Vec<QueryWord> = Vec::with_capacity(tokens.len());
    for (i, (from, to, folded)) in tokens.into_iter().enumerate() {
        let typed = &q[from..to];
        let (Some(fr), Some(en)) = (
            analyse_word(&mut analyzers.fr, typed),
            analyse_word(&mut analyzers.en, typed),
        ) else {
            continue;
        };
        let word = QueryWord {
            folded,
            fr,
            en,
            typos: typo_budget(typed.chars().count()),
            prefix: i == last && to == q.len(),
        };
        if let Some(same) = words.iter_mut().find(|w| w.folded == word.folded) {
            same.prefix |= word.prefix;
        } else {
            words.push(word);
        }
    }
    words
}

fn term_query(term: Term) -> Box<dyn Query> {
    Box::new(TermQuery::new(term, IndexRecordOption::WithFreqs))
}

fn boxed(q: impl Query) -> Box<dyn Query> {
    Box::new(q)
}

/// Everything a document may match for one word, with its tiers.
///
/// The exact terms' postings are read once (BM25, shifted by the tier); the
/// typo and prefix automata skip the exact term, whose documents already
/// matched (for a common word, its postings are most of the work).
fn word_query(f: &Fields, w: &QueryWord) -> Box<dyn Query> {
    let fr = |field| Term::from_field_text(field, &w.fr);
    let en = |field| Term::from_field_text(field, &w.en);
    let mut clauses: Vec<Box<dyn Query>> = Vec::with_capacity(4);
    // BM25 on exact stems (the name also counts on its own, boosted), plus
    // the exact tier. The name is in the text fields too. When both stems
    // agree, the English name field would only repeat the French one.
    let mut exact = vec![
        boxed(BoostQuery::new(term_query(fr(f.name_fr)), NAME_BOOST)),
        term_query(fr(f.text_fr)),
        term_query(en(f.text_en)),
    ];
    if w.en != w.fr {
        exact.push(boxed(BoostQuery::new(
            term_query(en(f.name_en)),
            NAME_BOOST,
        )));
    }
    clauses.push(boxed(Shifted::new(
        boxed(BooleanQuery::union(exact)),
        EXACT_TIER,
    )));
    // Stems: FuzzyTermQuery does not analyse its term, so the word was
    // analysed like the texts.
    let stems: Vec<Box<dyn Query>> = [(f.text_fr, &w.fr), (f.text_en, &w.en)]
        .into_iter()
        .filter_map(|(field, stem)| {
            let typos = stem_typos(w.typos, stem);
            (typos > 0).then(|| boxed(AutomatonExcept::new(field, stem, typos, false)))
        })
        .collect();
    if !stems.is_empty() {
        clauses.push(boxed(BoostQuery::new(
            boxed(BooleanQuery::union(stems)),
            FUZZY_TIER,
        )));
    }
    if w.prefix {
        let short = w.folded.chars().count() <= 2;
        clauses.push(match short {
            true => boxed(ConstScoreQuery::new(
                boxed(TermQuery::new(
                    Term::from_field_text(f.short_prefixes, &w.folded),
                    IndexRecordOption::Basic,
                )),
                PREFIX_TIER,
            )),
            false => boxed(BoostQuery::new(
                boxed(AutomatonExcept::new(f.words, &w.folded, 0, true)),
                PREFIX_TIER,
            )),
        });
        if w.typos > 0 {
            clauses.push(boxed(BoostQuery::new(
                boxed(AutomatonExcept::new(f.words, &w.folded, w.typos, true)),
                FUZZY_TIER,
            )));
        }
    }
    boxed(BooleanQuery::union(clauses))
}

/// Whether every word must match, or any.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Mode {
    All,
    Any,
}

/// The text part of the query; `None` when there are no words (then every
/// document matches).
pub(super) fn text_query(f: &Fields, words: &[QueryWord], mode: Mode) -> Option<Box<dyn Query>> {
    if words.is_empty() {
        return None;
    }
    let per_word = words.iter().map(|w| word_query(f, w));
    Some(match mode {
        Mode::All => boxed(BooleanQuery::intersection(per_word.collect())),
        // Each word matched adds its tier: more words matched ranks first.
        Mode::Any => boxed(BooleanQuery::union(
            per_word
                .map(|q| boxed(Shifted::new(q, WORD_TIER)))
                .collect(),
        )),
    })
}

/// The filters, AND across kinds and OR within one; scores nothing.
pub(super) fn filter_query(
    f: &Fields,
    filters: &Filters,
) -> Result<Option<Box<dyn Query>>, IndexError> {
    let flat = |kind, values: &[String]| -> Vec<Facet> {
        values.iter().filter_map(|v| flat_facet(kind, v)).collect()
    };
    // Accept `z6Mk…` as well as `did:key:z6Mk…`, as URLs write hubs.
    let hubs: Vec<String> = filters
        .hubs
        .iter()
        .map(|h| match h.starts_with("did:") {
            true => h.clone(),
            false => format!("did:key:{h}"),
        })
        .collect();
    let labellers: Vec<String> = filters
        .labelled_by
        .iter()
        .map(|h| match h.starts_with("did:") {
            true => h.clone(),
            false => format!("did:key:{h}"),
        })
        .collect();
    let kinds: [(&str, usize, Vec<Facet>); 7] = [
        (
            "themes",
            filters.themes.len(),
            flat(FacetKind::Theme, &filters.themes),
        ),
        (
            "territories",
            filters.territories.len(),
            filters.territories.iter().map(territory_facet).collect(),
        ),
        (
            "stages",
            filters.stages.len(),
            flat(FacetKind::Stage, &filters.stages),
        ),
        (
            "licences",
            filters.licences.len(),
            flat(FacetKind::Licence, &filters.licences),
        ),
        ("hubs", hubs.len(), flat(FacetKind::Hub, &hubs)),
        (
            "labels",
            filters.labels.len(),
            flat(FacetKind::Label, &filters.labels),
        ),
        (
            "labelled_by",
            labellers.len(),
            flat(FacetKind::Labeller, &labellers),
        ),
    ];
    let mut required: Vec<Box<dyn Query>> = Vec::new();
    for (name, wanted, facets) in kinds {
        if wanted > MAX_FILTER_VALUES {
            return Err(IndexError::BadQuery {
                message: format!(
                    "{wanted} values for the {name} filter; at most {MAX_FILTER_VALUES} are allowed"
                ),
            });
        }
        if wanted == 0 {
            continue;
        }
        let terms: Vec<Box<dyn Query>> = facets
            .iter()
            .map(|facet| {
                boxed(TermQuery::new(
                    facet_term(f.facets, facet),
                    IndexRecordOption::Basic,
                ))
            })
            .collect();
        // Only empty values were given: nothing can match them.
        required.push(match terms.is_empty() {
            true => boxed(EmptyQuery),
            false => boxed(BooleanQuery::union(terms)),
        });
    }
    if required.is_empty() {
        return Ok(None);
    }
    Ok(Some(boxed(ConstScoreQuery::new(
        boxed(BooleanQuery::intersection(required)),
        0.0,
    ))))
}

/// Text and filters together.
pub(super) fn combine(
    text: Option<Box<dyn Query>>,
    filter: Option<Box<dyn Query>>,
) -> Box<dyn Query> {
    match (text, filter) {
        (None, None) => boxed(AllQuery),
        (Some(q), None) | (None, Some(q)) => q,
        (Some(t), Some(f)) => boxed(BooleanQuery::new(vec![(Occur::Must, t), (Occur::Must, f)])),
    }
}
