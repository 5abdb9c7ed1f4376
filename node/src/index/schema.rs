//! The index's schema, its analyzers, and how an [`InitiativeDoc`] becomes a
//! tantivy document.
//!
//! Everything that decides what is searchable lives here, so that a change of
//! layout is one bump of [`LAYOUT_VERSION`] (an index written with another
//! layout is treated as corrupt and rebuilt from the store).

use std::collections::BTreeSet;

use essaim_protocol::Territory;
use essaim_protocol::vocab::{Lang, Theme};
use tantivy::schema::{
    FAST, Facet, FacetOptions, Field, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing,
    TextOptions,
};
use tantivy::tokenizer::{
    AsciiFoldingFilter, Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer,
    TextAnalyzer, TokenStream, TokenizerManager, WhitespaceTokenizer,
};
use tantivy::{TantivyDocument, Term};

use super::InitiativeDoc;

/// Version of the layout below (fields, analyzers, facet paths), written
/// into every commit's payload.
pub(super) const LAYOUT_VERSION: u64 = 4;

/// Tokens of this many bytes or more are dropped (same rule as tantivy's
/// default analyzer): they are identifiers or garbage, not words.
pub(super) const MAX_TOKEN_BYTES: usize = 40;

/// Text of mirrored repositories indexed per initiative, at most (a README
/// is far smaller; this bounds the writer's memory for a pathological one).
const MAX_EXTRA_INDEXED_BYTES: usize = 256 * 1024;

/// Text kept per stored value for snippets; matches further in are still
/// found by the index, the snippet then shows the beginning.
pub(super) const MAX_STORED_TEXT_BYTES: usize = 16 * 1024;

const FR: &str = "essaim_fr";
const EN: &str = "essaim_en";
const WORDS: &str = "essaim_words";
const RAW_WORDS: &str = "essaim_raw_words";

/// `SimpleTokenizer → RemoveLongFilter(40) → LowerCaser → AsciiFoldingFilter`,
/// then the language's stemmer if any.
fn analyzer(stemmer: Option<Language>) -> TextAnalyzer {
    let folded = TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(MAX_TOKEN_BYTES))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter);
    match stemmer {
        Some(language) => folded.filter(Stemmer::new(language)).build(),
        None => folded.build(),
    }
}

/// The three analyzers: French and English (folded and stemmed), and plain
/// folded words (for prefixes: a stem is not a prefix of what people type).
/// They tokenize identically, only the terms differ.
#[derive(Clone)]
pub(super) struct Analyzers {
    pub(super) fr: TextAnalyzer,
    pub(super) en: TextAnalyzer,
    pub(super) words: TextAnalyzer,
}

impl Analyzers {
    pub(super) fn new() -> Analyzers {
        Analyzers {
            fr: analyzer(Some(Language::French)),
            en: analyzer(Some(Language::English)),
            words: analyzer(None),
        }
    }

    /// Registers the analyzers under the names the schema uses. Must run after
    /// every open: tantivy does not persist custom tokenizers.
    pub(super) fn register(&self, manager: &TokenizerManager) {
        manager.register(FR, self.fr.clone());
        manager.register(EN, self.en.clone());
        manager.register(WORDS, self.words.clone());
        manager.register(
            RAW_WORDS,
            TextAnalyzer::from(WhitespaceTokenizer::default()),
        );
    }
}

/// Analyses one word with `analyzer`; `None` unless it is exactly one token.
pub(super) fn analyse_word(analyzer: &mut TextAnalyzer, word: &str) -> Option<String> {
    let mut stream = analyzer.token_stream(word);
    let mut out = None;
    while stream.advance() {
        if out.is_some() {
            return None;
        }
        out = Some(stream.token().text.clone());
    }
    out.filter(|t: &String| !t.is_empty())
}

/// The facet kinds. All live in one facet field, under a first step naming
/// the kind (`/theme/alimentation`, `/territory/FR/reg:84/dep:69`): one
/// column to read per matching document when counting, instead of six.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum FacetKind {
    Theme,
    Territory,
    Stage,
    Licence,
    Hub,
    Label,
    Labeller,
}

impl FacetKind {
    pub(super) const ALL: [FacetKind; 7] = [
        FacetKind::Theme,
        FacetKind::Territory,
        FacetKind::Stage,
        FacetKind::Licence,
        FacetKind::Hub,
        FacetKind::Label,
        FacetKind::Labeller,
    ];

    /// The first step of this kind's facet paths.
    pub(super) fn step(self) -> &'static str {
        match self {
            FacetKind::Theme => "theme",
            FacetKind::Territory => "territory",
            FacetKind::Stage => "stage",
            FacetKind::Licence => "licence",
            FacetKind::Hub => "hub",
            FacetKind::Label => "label",
            FacetKind::Labeller => "labeller",
        }
    }
}

/// The schema's fields.
#[derive(Clone)]
pub(super) struct Fields {
    /// Full address, one raw term: the key for delete-then-add.
    pub(super) address: Field,
    pub(super) hub: Field,
    pub(super) hub_name: Field,
    pub(super) slug: Field,
    pub(super) name: Field,
    pub(super) stage: Field,
    pub(super) themes: Field,
    /// Stored only: the names of the labels the initiative holds (for hits).
    pub(super) labels: Field,
    pub(super) seq: Field,
    /// Creation time, fast (sort by date) and stored.
    pub(super) created: Field,
    /// The name alone, for the name boost.
    pub(super) name_fr: Field,
    pub(super) name_en: Field,
    /// Name, texts, theme labels, places, hub name: what BM25 and typo
    /// tolerance run on.
    pub(super) text_fr: Field,
    pub(super) text_en: Field,
    /// Every text, folded but not stemmed, documents only: prefixes.
    pub(super) words: Field,
    /// The first one and two letters of every word of `words`: a prefix of
    /// one or two letters is one term here, where it would be thousands of
    /// terms of `words`.
    pub(super) short_prefixes: Field,
    /// Stored only: summaries then descriptions then repository text, French
    /// first, for snippets.
    pub(super) snippet_source: Field,
    /// Every facet, under its kind (see [`FacetKind`]).
    pub(super) facets: Field,
}

fn indexed(tokenizer: &str, option: IndexRecordOption) -> TextOptions {
    TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(tokenizer)
            .set_index_option(option),
    )
}

/// Builds the schema; the same code always builds the same schema, which is
/// how [`super::SearchIndex::open`] recognises an index of another layout.
pub(super) fn build() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let stored = TextOptions::default().set_stored();
    let fields = Fields {
        address: b.add_text_field("address", STRING | STORED),
        hub: b.add_text_field("hub", stored.clone()),
        hub_name: b.add_text_field("hub_name", stored.clone()),
        slug: b.add_text_field("slug", stored.clone()),
        name: b.add_text_field("name", stored.clone()),
        stage: b.add_text_field("stage", stored.clone()),
        themes: b.add_text_field("themes", stored.clone()),
        labels: b.add_text_field("labels", stored.clone()),
        seq: b.add_u64_field("seq", STORED),
        created: b.add_u64_field("created", FAST | STORED),
        name_fr: b.add_text_field("name_fr", indexed(FR, IndexRecordOption::WithFreqs)),
        name_en: b.add_text_field("name_en", indexed(EN, IndexRecordOption::WithFreqs)),
        text_fr: b.add_text_field("text_fr", indexed(FR, IndexRecordOption::WithFreqs)),
        text_en: b.add_text_field("text_en", indexed(EN, IndexRecordOption::WithFreqs)),
        words: b.add_text_field("words", indexed(WORDS, IndexRecordOption::Basic)),
        short_prefixes: b.add_text_field(
            "short_prefixes",
            indexed(RAW_WORDS, IndexRecordOption::Basic),
        ),
        snippet_source: b.add_text_field("snippet_source", stored),
        facets: b.add_facet_field("facets", FacetOptions::default()),
    };
    (b.build(), fields)
}

/// `/<kind>/<value>`; `None` for an empty value (the kind's root would
/// match everything of the kind). NUL is tantivy's path separator.
pub(super) fn flat_facet(kind: FacetKind, value: &str) -> Option<Facet> {
    let clean: String = value.chars().filter(|c| *c != '\0').collect();
    (!clean.is_empty()).then(|| Facet::from_path([kind.step(), clean.as_str()]))
}

/// `/territory/FR/reg:84/dep:69/com:69123` for Lyon: the path from the
/// root, so that a term query on `/territory/FR/reg:84` matches every
/// initiative within the région.
pub(super) fn territory_facet(t: &Territory) -> Facet {
    let mut path: Vec<String> = t.ancestors().map(|a| a.to_string()).collect();
    path.push(FacetKind::Territory.step().to_owned());
    path.reverse();
    Facet::from_path(path)
}

pub(super) fn facet_term(field: Field, facet: &Facet) -> Term {
    Term::from_facet(field, facet)
}

/// Cuts `s` to at most `max` bytes, on a character boundary.
pub(super) fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// The first one and two letters of each word of `texts`, separated by
/// spaces (indexed by a whitespace tokenizer: they are analysed already).
fn short_prefixes<'t>(folder: &mut TextAnalyzer, texts: impl Iterator<Item = &'t str>) -> String {
    let mut prefixes: BTreeSet<String> = BTreeSet::new();
    for text in texts {
        let mut stream = folder.token_stream(text);
        while stream.advance() {
            let word = &stream.token().text;
            for (end, c) in word.char_indices().take(2) {
                let prefix = &word[..end + c.len_utf8()];
                if !prefix.contains(char::is_whitespace) && !prefixes.contains(prefix) {
                    prefixes.insert(prefix.to_owned());
                }
            }
        }
    }
    let mut out = String::with_capacity(prefixes.len() * 3);
    for p in prefixes {
        out.push_str(&p);
        out.push(' ');
    }
    out
}

/// The tantivy document for an initiative; `folder` is the `words` analyzer.
pub(super) fn to_document(
    f: &Fields,
    folder: &mut TextAnalyzer,
    doc: &InitiativeDoc,
) -> TantivyDocument {
    let mut d = TantivyDocument::new();
    d.add_text(f.address, &doc.address);
    d.add_text(f.hub, &doc.hub);
    d.add_text(f.hub_name, &doc.hub_name);
    d.add_text(f.slug, &doc.slug);
    d.add_text(f.name, &doc.name);
    d.add_text(f.stage, &doc.stage);
    for theme in &doc.themes {
        d.add_text(f.themes, theme);
    }
    for label in &doc.labels {
        d.add_text(f.labels, label);
    }
    d.add_u64(f.seq, doc.seq);
    d.add_u64(f.created, doc.created);

    d.add_text(f.name_fr, &doc.name);
    d.add_text(f.name_en, &doc.name);

    let extra = truncate(&doc.extra_text, MAX_EXTRA_INDEXED_BYTES);
    // French texts in the French field, every other language in the English one.
    let mut text_fr: Vec<&str> = vec![&doc.name];
    let mut text_en: Vec<&str> = vec![&doc.name];
    for map in [&doc.summary, &doc.description] {
        for (lang, text) in map {
            match lang.as_str() {
                "fr" => text_fr.push(text),
                _ => text_en.push(text),
            }
        }
    }
    text_fr.push(extra);
    text_en.push(extra);
    for code in &doc.themes {
        if let Some(theme) = Theme::from_code(code) {
            text_fr.push(theme.label(Lang::Fr));
            text_en.push(theme.label(Lang::En));
        }
    }
    // Places and the hub's name: "épicerie lyon" should find Lyon's épiceries.
    let places: BTreeSet<&'static str> = doc
        .territories
        .iter()
        .flat_map(|t| t.ancestors())
        .filter(|t| *t != Territory::NATIONAL)
        .map(|t| t.name())
        .collect();
    text_fr.extend(places.iter().copied());
    text_fr.push(&doc.hub_name);

    for text in text_fr.iter().filter(|t| !t.is_empty()) {
        d.add_text(f.text_fr, text);
    }
    for text in text_en.iter().filter(|t| !t.is_empty()) {
        d.add_text(f.text_en, text);
    }
    let words: BTreeSet<&str> = text_fr.iter().chain(text_en.iter()).copied().collect();
    for text in words.iter().filter(|t| !t.is_empty()) {
        d.add_text(f.words, text);
    }
    d.add_text(
        f.short_prefixes,
        short_prefixes(folder, words.iter().copied()),
    );

    // Snippet sources: French first (the UI's default language).
    for map in [&doc.summary, &doc.description] {
        let fr = map.get("fr").into_iter();
        let others = map
            .iter()
            .filter(|(l, _)| l.as_str() != "fr")
            .map(|(_, t)| t);
        for text in fr.chain(others).filter(|t| !t.trim().is_empty()) {
            d.add_text(f.snippet_source, truncate(text, MAX_STORED_TEXT_BYTES));
        }
    }
    if !extra.trim().is_empty() {
        d.add_text(f.snippet_source, truncate(extra, MAX_STORED_TEXT_BYTES));
    }

    let mut facets: BTreeSet<Facet> = BTreeSet::new();
    let flat = [
        (FacetKind::Theme, &doc.themes[..]),
        (FacetKind::Stage, std::slice::from_ref(&doc.stage)),
        (FacetKind::Licence, &doc.licences[..]),
        (FacetKind::Hub, std::slice::from_ref(&doc.hub)),
        (FacetKind::Label, &doc.labels[..]),
        (FacetKind::Labeller, &doc.labellers[..]),
    ];
    for (kind, values) in flat {
        facets.extend(values.iter().filter_map(|v| flat_facet(kind, v)));
    }
    // Every territory level explicitly, not only the leaves: counting reads
    // the stored values, and an initiative in a commune counts for its
    // département and région (once, however many of its communes they hold).
    facets.extend(
        doc.territories
            .iter()
            .flat_map(|t| t.ancestors())
            .map(|t| territory_facet(&t)),
    );
    for facet in facets {
        d.add_facet(f.facets, facet);
    }
    d
}
