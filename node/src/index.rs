//! The catalogue's search index (tantivy): full-text search over initiative
//! heads with typo tolerance, prefix search-as-you-type, facets, snippets with
//! highlights, and sort by relevance or recency.
//!
//! # Why it exists, and what it is not
//!
//! The store is the source of truth; the index is a cache derived from the
//! heads of initiative addresses and can be rebuilt from the store at any
//! time (`essaim reindex`). Whoever feeds it (the indexing pipeline) turns a
//! head and the endorsements about it into an [`InitiativeDoc`], calls
//! [`SearchIndex::upsert`] / [`SearchIndex::remove`], and makes the changes
//! visible with [`SearchIndex::commit`], passing the last store change applied
//! (the *watermark*), which is saved with the commit: after a restart,
//! [`SearchIndex::watermark`] says where to resume.
//!
//! # Layout
//!
//! | field | analysis | holds |
//! |---|---|---|
//! | `text_fr` | French: simple tokenizer, drop tokens ≥ 40 bytes, lower case, ASCII folding, French stemmer; frequencies | name, French summary and description, repository text, French theme labels, place names (commune to région), hub name |
//! | `text_en` | the same with the English stemmer | name, summaries and descriptions in every other language, repository text, English theme labels |
//! | `name_fr`, `name_en` | as above | the name alone (boosted) |
//! | `words` | folded, not stemmed; documents only | every text above: prefixes (a stem is not a prefix of what people type) |
//! | `short_prefixes` | as is; documents only | the first one and two letters of every word |
//! | `facets` | facet | `/theme/…`, `/territory/FR/reg:84/dep:69/com:69123` (and each level above: where it is deployed, replications included), `/stage/…`, `/licence/…`, `/hub/…`, `/label/…`, `/labeller/<hub id>` |
//! | `created` | fast, stored | sort by date |
//! | `address` | one raw term, stored | the key for replace and remove |
//! | `hub`, `hub_name`, `slug`, `name`, `stage`, `themes`, `labels`, `seq` | stored | hits |
//! | `snippet_source` | stored | summaries, descriptions (French first), repository text: snippets |
//!
//! Query construction and ranking are described in `index/query.rs` (with
//! two custom queries in `index/matchers.rs`), highlighting in
//! `index/highlight.rs`, facet counting in `index/facets.rs`. A change of
//! layout bumps `schema::LAYOUT_VERSION`: an index of another layout opens as
//! [`IndexError::Corrupt`] and is rebuilt.
//!
//! # Concurrency
//!
//! [`SearchIndex`] is `Send + Sync`: searches run concurrently on the current
//! reader; writes go through one `IndexWriter` behind a mutex. Readers reload
//! only after [`SearchIndex::commit`] (`ReloadPolicy::Manual`), so a search
//! right after a commit sees it.

mod facets;
mod highlight;
mod matchers;
mod query;
mod schema;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use essaim_protocol::Territory;
use serde::{Deserialize, Serialize};
use tantivy::collector::TopDocs;
use tantivy::directory::MmapDirectory;
use tantivy::query::{AllQuery, Query};
use tantivy::schema::{Field, Value};
use tantivy::{
    DocAddress, Index, IndexReader, IndexWriter, Order, ReloadPolicy, Searcher, TantivyDocument,
    TantivyError, Term,
};

use self::facets::{FacetsCollector, Tally};
use self::highlight::{Highlighter, StemCache};
use self::query::{Mode, QueryWord};
use self::schema::{Analyzers, Fields, LAYOUT_VERSION};

/// Memory of the index writer, split among its threads (at most three, so
/// that each has the 15 MB tantivy needs).
const WRITER_HEAP_BYTES: usize = 50_000_000;
/// At most this many hits per page.
pub const MAX_LIMIT: usize = 100;
/// Pages start at most this far in.
pub const MAX_OFFSET: usize = 10_000;

/// An initiative as the index sees it: everything the node derives from an
/// initiative head and the endorsements about it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InitiativeDoc {
    /// Full address, `did:key:z…/initiative/slug`: the unique key.
    pub address: String,
    /// The author hub's id, `did:key:z…`.
    pub hub: String,
    /// The author hub's name if known, else empty.
    pub hub_name: String,
    /// The initiative's slug.
    pub slug: String,
    /// The initiative's name.
    pub name: String,
    /// Summary per language code (`fr`, `en`, …).
    pub summary: BTreeMap<String, String>,
    /// Description (markdown) per language code.
    pub description: BTreeMap<String, String>,
    /// Further text, such as the README of mirrored repositories; indexed in
    /// both languages' fields.
    pub extra_text: String,
    /// Theme codes of the controlled vocabulary.
    pub themes: Vec<String>,
    /// Origin, deployments and replications; each counts for its ancestors too.
    pub territories: Vec<Territory>,
    /// Stage code (`emergence`, …, `essaimage`).
    pub stage: String,
    /// SPDX licence expressions of its repositories.
    pub licences: Vec<String>,
    /// Names of the labels currently valid (not revoked, not expired).
    pub labels: Vec<String>,
    /// Hub ids (`did:key:…`) of the issuers of those labels.
    pub labellers: Vec<String>,
    /// Creation time, unix seconds (sort by date).
    pub created: u64,
    /// Sequence number of the indexed head.
    pub seq: u64,
}

/// How hits are ordered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sort {
    /// Best match first; newest first when there is no text to match.
    #[default]
    Relevance,
    /// Newest (`created`) first.
    Newest,
}

/// Restricts results: AND across kinds, OR within a kind. An empty list does
/// not restrict.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filters {
    /// Theme codes.
    pub themes: Vec<String>,
    /// Territories; one matches initiatives anywhere within it (`reg:84`
    /// matches a commune of Auvergne-Rhône-Alpes; `FR` matches every
    /// initiative with a territory).
    pub territories: Vec<Territory>,
    /// Stage codes.
    pub stages: Vec<String>,
    /// SPDX licence expressions, as written in records.
    pub licences: Vec<String>,
    /// Hub ids, with or without the `did:key:` prefix.
    pub hubs: Vec<String>,
    /// Label names.
    pub labels: Vec<String>,
    /// Hub ids of label issuers ("labellisée par"), with or without `did:key:`.
    pub labelled_by: Vec<String>,
}

/// A search.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchRequest {
    /// What the visitor typed; empty for everything. Cut at 500 bytes and
    /// 16 words.
    pub q: String,
    /// Restrictions.
    pub filters: Filters,
    /// Order of hits.
    pub sort: Sort,
    /// Hits per page, at most [`MAX_LIMIT`] (more is cut); 0 for facets only.
    pub limit: usize,
    /// Hits to skip, at most [`MAX_OFFSET`] (more is cut).
    pub offset: usize,
}

impl Default for SearchRequest {
    fn default() -> SearchRequest {
        SearchRequest {
            q: String::new(),
            filters: Filters::default(),
            sort: Sort::Relevance,
            limit: 20,
            offset: 0,
        }
    }
}

/// The answer to a search.
#[derive(Clone, Debug, Serialize)]
pub struct SearchResponse {
    /// Number of matching initiatives (all pages).
    pub total: usize,
    /// Whether every word had to match; `false` when no initiative had them
    /// all and the results match some of them.
    pub all_words: bool,
    /// The requested page.
    pub hits: Vec<Hit>,
    /// Counts for the query and filters.
    pub facets: Facets,
}

/// One matching initiative.
#[derive(Clone, Debug, Serialize)]
pub struct Hit {
    /// Full address.
    pub address: String,
    /// Author hub id.
    pub hub: String,
    /// Author hub name, if known.
    pub hub_name: String,
    /// Slug.
    pub slug: String,
    /// Name, as plain text.
    pub name: String,
    /// Name as HTML: escaped, matched words in `<mark>…</mark>`.
    pub name_highlighted: String,
    /// About 160 characters of the best-matching text as HTML: escaped,
    /// matched words in `<mark>…</mark>`, `…` where cut.
    pub snippet: String,
    /// Relevance, comparable only within one response (0 when sorted by date).
    pub score: f32,
    /// Creation time, unix seconds.
    pub created: u64,
    /// Theme codes.
    pub themes: Vec<String>,
    /// Stage code.
    pub stage: String,
    /// Names of the labels it holds (valid ones, from any hub).
    pub labels: Vec<String>,
}

/// Facet counts for the current query and filters, most frequent first.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Facets {
    /// Per theme code.
    pub theme: Vec<FacetCount>,
    /// Per territory, every level: `FR`, then régions, départements, and the
    /// most frequent communes.
    pub territory: Vec<TerritoryCount>,
    /// Per stage code.
    pub stage: Vec<FacetCount>,
    /// Per licence expression.
    pub licence: Vec<FacetCount>,
    /// Per hub id.
    pub hub: Vec<FacetCount>,
    /// Per label name.
    pub label: Vec<FacetCount>,
    /// Per hub that issued a valid label ("labellisée par").
    pub labelled_by: Vec<FacetCount>,
}

/// A facet value and how many matching initiatives have it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FacetCount {
    /// The value, as filters take it.
    pub value: String,
    /// Matching initiatives with it.
    pub count: u64,
}

/// A territory and how many matching initiatives are within it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TerritoryCount {
    /// The canonical code (`reg:84`, `dep:69`, `com:69123`, `FR`).
    pub value: String,
    /// Its name in the COG (`Lyon`).
    pub name: String,
    /// Its level.
    pub level: TerritoryLevel,
    /// The code of the territory one level up (`dep:69` for Lyon), none for `FR`.
    pub parent: Option<String>,
    /// Matching initiatives within it.
    pub count: u64,
}

/// The level of a [`TerritoryCount`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TerritoryLevel {
    /// The whole country.
    National,
    /// A région.
    Region,
    /// A département.
    Departement,
    /// A commune.
    Commune,
}

/// After a failed write (a full disk…) the writer's indexing threads may
/// have died, and every later write would fail or wait forever: start a new
/// writer from the last commit. What was not committed is dropped; the
/// watermark still says where it was, so the indexer's next attempt
/// applies it again, and succeeds once the cause is gone.
fn back_to_last_commit(writer: &mut IndexWriter, address: Field, e: TantivyError) -> IndexError {
    match writer.rollback() {
        Ok(_) => {
            past_the_committed_opstamp(writer, address);
            tracing::warn!(error = %e, "search index: a write failed; back to its last commit")
        }
        Err(again) => tracing::error!(
            error = %e,
            rollback = %again,
            "search index: a write failed and the writer cannot restart; restart the node"
        ),
    }
    IndexError::Tantivy(e)
}

/// Spend the first operation stamp of a writer just opened (or rolled back)
/// on a delete that matches nothing.
///
/// tantivy 0.27 numbers a new writer's operations from the last commit's
/// opstamp, the very stamp a background merge of committed segments takes
/// as its target, and it applies deletes up to and including the target.
/// When that first operation is a real delete (here every write starts
/// with one: delete-then-add), a merge running before the next commit
/// applies it to some of the merged segments but not to those whose
/// deletes are already at the target, and then never again: the deleted
/// document survives in the merged segment, and the address has two
/// documents. Seen after restarts (the catch-up's first commit starts a
/// merge); `reopening_then_merging_keeps_one_document_per_address` in
/// `node/tests/index.rs` reproduces it.
fn past_the_committed_opstamp(writer: &IndexWriter, address: Field) {
    writer.delete_term(Term::from_field_text(address, ""));
}

/// What went wrong with the search index.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// The index directory cannot be used as it is; it must be rebuilt.
    #[error(
        "the search index at {} is unreadable ({reason}); run `essaim reindex` to rebuild it from the store",
        path.display()
    )]
    Corrupt {
        /// The index directory.
        path: PathBuf,
        /// What was found wrong.
        reason: String,
    },
    /// Another writer holds the index.
    #[error(
        "the search index at {} is in use by another essaim process (same data directory?); stop that process first",
        path.display()
    )]
    Locked {
        /// The index directory.
        path: PathBuf,
    },
    /// The index directory could not be created.
    #[error(
        "cannot create the search index directory {}: {source}; check the data directory's permissions and free space",
        path.display()
    )]
    CreateDir {
        /// The index directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A document cannot be indexed.
    #[error("initiative {address:?} cannot be indexed: {reason}")]
    InvalidDocument {
        /// Its address.
        address: String,
        /// Why.
        reason: String,
    },
    /// The search request is not acceptable.
    #[error("bad search: {message}")]
    BadQuery {
        /// What to change.
        message: String,
    },
    /// A write panicked earlier; the writer is unusable until restart.
    #[error(
        "the search index writer failed earlier; restart the node (the index is rebuilt if needed)"
    )]
    Poisoned,
    /// tantivy failed.
    #[error("search index error: {0}; if it persists, run `essaim reindex`")]
    Tantivy(#[from] TantivyError),
}

impl IndexError {
    /// Whether rebuilding the index from the store is the remedy.
    pub fn needs_rebuild(&self) -> bool {
        matches!(self, IndexError::Corrupt { .. })
    }
}

/// What each commit saves with it (tantivy's commit payload), as JSON.
#[derive(Deserialize)]
struct Payload {
    layout: u64,
    watermark: u64,
}

/// The search index; see the module documentation.
pub struct SearchIndex {
    fields: Fields,
    analyzers: Analyzers,
    writer: Mutex<IndexWriter>,
    reader: IndexReader,
    watermark: AtomicU64,
    stems: StemCache,
    /// Where commit durations go (`/metrics`), once the node set it.
    commit_seconds: std::sync::OnceLock<prometheus_client::metrics::histogram::Histogram>,
}

impl std::fmt::Debug for SearchIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchIndex")
            .field("num_docs", &self.num_docs())
            .field("watermark", &self.watermark())
            .finish_non_exhaustive()
    }
}

impl SearchIndex {
    /// Opens the index in `dir`, creating it (and `dir`) if missing.
    ///
    /// An index that cannot be read, or that another version of essaim laid
    /// out differently, is [`IndexError::Corrupt`]: the caller deletes the
    /// directory and rebuilds from the store.
    pub fn open(dir: &Path) -> Result<SearchIndex, IndexError> {
        let corrupt = |reason: String| IndexError::Corrupt {
            path: dir.to_path_buf(),
            reason,
        };
        std::fs::create_dir_all(dir).map_err(|source| IndexError::CreateDir {
            path: dir.to_path_buf(),
            source,
        })?;
        let directory = MmapDirectory::open(dir).map_err(|e| corrupt(e.to_string()))?;
        let (schema, fields) = schema::build();
        let exists = Index::exists(&directory).map_err(|e| corrupt(e.to_string()))?;
        let index = if exists {
            let index = Index::open(directory).map_err(|e| corrupt(e.to_string()))?;
            if index.schema() != schema {
                return Err(corrupt(
                    "it was built by another version of essaim (different layout)".into(),
                ));
            }
            // Garbage inside a segment file opens and searches without an
            // error, giving wrong answers or a panic later: every file's
            // checksum is checked once here (reading the whole index: about
            // a tenth of a second per 100 MB).
            let damaged = index
                .validate_checksum()
                .map_err(|e| corrupt(e.to_string()))?;
            if !damaged.is_empty() {
                let mut names: Vec<String> =
                    damaged.iter().map(|p| p.display().to_string()).collect();
                names.sort();
                return Err(corrupt(format!(
                    "checksum mismatch in {}",
                    names.join(", ")
                )));
            }
            index
        } else {
            Index::create(directory, schema, Default::default())
                .map_err(|e| corrupt(e.to_string()))?
        };
        // `with_index` does not know the path: put it in.
        SearchIndex::with_index(index, fields).map_err(|e| match e {
            IndexError::Tantivy(e) => corrupt(e.to_string()),
            IndexError::Corrupt { reason, .. } => corrupt(reason),
            IndexError::Locked { .. } => IndexError::Locked {
                path: dir.to_path_buf(),
            },
            other => other,
        })
    }

    /// A fresh index in memory, for tests and benchmarks.
    pub fn open_in_ram() -> Result<SearchIndex, IndexError> {
        let (schema, fields) = schema::build();
        SearchIndex::with_index(Index::create_in_ram(schema), fields)
    }

    fn with_index(index: Index, fields: Fields) -> Result<SearchIndex, IndexError> {
        let analyzers = Analyzers::new();
        analyzers.register(index.tokenizers());
        let watermark = match index.load_metas()?.payload {
            None => 0,
            Some(text) => {
                let payload: Payload =
                    serde_json::from_str(&text).map_err(|e| IndexError::Corrupt {
                        path: PathBuf::new(),
                        reason: format!("commit payload {text:?}: {e}"),
                    })?;
                if payload.layout != LAYOUT_VERSION {
                    return Err(IndexError::Corrupt {
                        path: PathBuf::new(),
                        reason: format!(
                            "layout {} (this version of essaim writes {LAYOUT_VERSION})",
                            payload.layout
                        ),
                    });
                }
                payload.watermark
            }
        };
        let writer = index.writer(WRITER_HEAP_BYTES).map_err(|e| match e {
            TantivyError::LockFailure(..) => IndexError::Locked {
                path: PathBuf::new(),
            },
            e => IndexError::Tantivy(e),
        })?;
        past_the_committed_opstamp(&writer, fields.address);
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(SearchIndex {
            fields,
            analyzers,
            writer: Mutex::new(writer),
            reader,
            watermark: AtomicU64::new(watermark),
            stems: StemCache::default(),
            commit_seconds: std::sync::OnceLock::new(),
        })
    }

    /// Observe the duration of every commit from now on into `histogram`.
    pub fn observe_commits(&self, histogram: prometheus_client::metrics::histogram::Histogram) {
        let _ = self.commit_seconds.set(histogram);
    }

    fn writer(&self) -> Result<MutexGuard<'_, IndexWriter>, IndexError> {
        self.writer.lock().map_err(|_| IndexError::Poisoned)
    }

    /// The last store change applied, as saved by the last [`commit`](Self::commit);
    /// 0 for a new index.
    pub fn watermark(&self) -> u64 {
        self.watermark.load(Ordering::Acquire)
    }

    /// Adds an initiative, replacing the one with the same address.
    /// Visible after the next [`commit`](Self::commit).
    pub fn upsert(&self, doc: &InitiativeDoc) -> Result<(), IndexError> {
        if doc.address.is_empty() {
            return Err(IndexError::InvalidDocument {
                address: String::new(),
                reason: "empty address".into(),
            });
        }
        let mut folder = self.analyzers.words.clone();
        let document = schema::to_document(&self.fields, &mut folder, doc);
        let mut writer = self.writer()?;
        writer.delete_term(self.address_term(&doc.address));
        if let Err(e) = writer.add_document(document) {
            return Err(back_to_last_commit(&mut writer, self.fields.address, e));
        }
        Ok(())
    }

    /// Removes the initiative with this address, if indexed.
    /// Visible after the next [`commit`](Self::commit).
    pub fn remove(&self, address: &str) -> Result<(), IndexError> {
        self.writer()?.delete_term(self.address_term(address));
        Ok(())
    }

    /// Removes every initiative (before a rebuild); what is upserted after
    /// this call stays. Visible after the next [`commit`](Self::commit).
    pub fn clear(&self) -> Result<(), IndexError> {
        self.writer()?.delete_query(Box::new(AllQuery))?;
        Ok(())
    }

    /// Makes every change so far durable and visible, saving `watermark`
    /// (the last store change applied) with it. Costs about 100 ms on disk:
    /// batch changes.
    pub fn commit(&self, watermark: u64) -> Result<(), IndexError> {
        let started = Instant::now();
        let payload = format!(r#"{{"layout":{LAYOUT_VERSION},"watermark":{watermark}}}"#);
        {
            let mut writer = self.writer()?;
            let committed = writer.prepare_commit().and_then(|mut prepared| {
                prepared.set_payload(&payload);
                prepared.commit()
            });
            if let Err(e) = committed {
                return Err(back_to_last_commit(&mut writer, self.fields.address, e));
            }
            self.watermark.store(watermark, Ordering::Release);
        }
        self.reader.reload()?;
        if let Some(histogram) = self.commit_seconds.get() {
            histogram.observe(started.elapsed().as_secs_f64());
        }
        tracing::debug!(
            watermark,
            docs = self.num_docs(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "search index committed"
        );
        Ok(())
    }

    /// Merges every segment into one and makes the result visible: after a
    /// rebuild, fewer segments make every search cheaper (about 10% at
    /// 100,000 initiatives). About a second per 100,000 initiatives here;
    /// searches go on meanwhile, writes wait.
    pub fn merge_segments(&self) -> Result<(), IndexError> {
        {
            let mut writer = self.writer()?;
            let ids = writer.index().searchable_segment_ids()?;
            if ids.len() > 1 {
                writer.merge(&ids).wait()?;
            }
        }
        self.reader.reload()?;
        Ok(())
    }

    /// Waits for background merges to finish and releases the directory
    /// (shutdown). Uncommitted changes are dropped.
    pub fn close(self) -> Result<(), IndexError> {
        let writer = self.writer.into_inner().map_err(|_| IndexError::Poisoned)?;
        writer.wait_merging_threads()?;
        Ok(())
    }

    /// Addresses with more than one live document, with their number and
    /// the segments holding them (`SEGMENTxN`). There should be none: every
    /// write deletes an address's document before adding its new one. Reads
    /// every address of the index: for checks and tests.
    pub fn duplicated_addresses(&self) -> Result<Vec<(String, u32, Vec<String>)>, IndexError> {
        let searcher = self.reader.searcher();
        let mut seen: BTreeMap<Vec<u8>, (u32, Vec<String>)> = BTreeMap::new();
        for reader in searcher.segment_readers() {
            let inverted = reader.inverted_index(self.fields.address)?;
            let alive = reader.alive_bitset();
            let mut terms = inverted.terms().stream().map_err(TantivyError::from)?;
            while terms.advance() {
                let info = terms.value();
                let mut postings = inverted
                    .read_postings_from_terminfo(info, tantivy::schema::IndexRecordOption::Basic)
                    .map_err(TantivyError::from)?;
                let mut live = 0;
                let mut doc = tantivy::DocSet::doc(&postings);
                while doc != tantivy::TERMINATED {
                    if alive.is_none_or(|a| a.is_alive(doc)) {
                        live += 1;
                    }
                    doc = tantivy::DocSet::advance(&mut postings);
                }
                if live > 0 {
                    let entry = seen.entry(terms.key().to_vec()).or_default();
                    entry.0 += live;
                    entry.1.push(format!(
                        "{}x{live}",
                        reader.segment_id().short_uuid_string()
                    ));
                }
            }
        }
        Ok(seen
            .into_iter()
            .filter(|(_, (n, _))| *n > 1)
            .map(|(k, (n, segs))| (String::from_utf8_lossy(&k).into_owned(), n, segs))
            .collect())
    }

    /// Number of initiatives visible to searches.
    pub fn num_docs(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// Number of segments searched (for status pages and benchmarks: each
    /// costs a little per query; background merges lower it, and searches
    /// see merges after the next commit).
    pub fn num_segments(&self) -> usize {
        self.reader.searcher().segment_readers().len()
    }

    fn address_term(&self, address: &str) -> Term {
        Term::from_field_text(self.fields.address, address)
    }

    /// Runs a search. Never panics on user input: over-long queries are cut,
    /// punctuation ignored, `limit` and `offset` capped.
    pub fn search(&self, req: &SearchRequest) -> Result<SearchResponse, IndexError> {
        let searcher = self.reader.searcher();
        let mut analyzers = self.analyzers.clone();
        let words = query::parse(&req.q, &mut analyzers);
        let filter = query::filter_query(&self.fields, &req.filters)?;
        let plan = Plan {
            words: &words,
            filter: filter.as_deref(),
            // Without text, relevance is meaningless: newest first.
            by_date: req.sort == Sort::Newest || words.is_empty(),
            limit: req.limit.min(MAX_LIMIT),
            offset: req.offset.min(MAX_OFFSET),
        };
        let mut mode = Mode::All;
        let mut found = self.run(&searcher, &plan, mode)?;
        if found.tally.docs == 0 && words.len() > 1 {
            mode = Mode::Any;
            found = self.run(&searcher, &plan, mode)?;
        }

        let mut highlighter = Highlighter::new(&words, analyzers, &self.stems);
        let hits = found
            .top
            .into_iter()
            .map(|(score, address)| self.hit(&searcher, &mut highlighter, address, score))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(SearchResponse {
            total: usize::try_from(found.tally.docs).unwrap_or(usize::MAX),
            all_words: mode == Mode::All,
            hits,
            facets: found.tally.into_facets(),
        })
    }

    fn run(&self, searcher: &Searcher, plan: &Plan<'_>, mode: Mode) -> Result<Found, IndexError> {
        let text = query::text_query(&self.fields, plan.words, mode);
        let top = (plan.limit > 0).then(|| TopDocs::with_limit(plan.limit).and_offset(plan.offset));
        if text.is_none() && plan.filter.is_none() {
            // Everything, newest first: facet counts come from the index's
            // statistics, not from reading every document.
            let tally = facets::tally_all(searcher, self.fields.facets)?;
            let top = match top {
                None => Vec::new(),
                Some(top) => {
                    let top = top.order_by_fast_field::<u64>("created", Order::Desc);
                    let hits = searcher.search(&AllQuery, &top)?;
                    hits.into_iter().map(|(_, a)| (0.0, a)).collect()
                }
            };
            return Ok(Found { top, tally });
        }
        let query = query::combine(text, plan.filter.map(|f| f.box_clone()));
        let (top, tally) = match top {
            None => (Vec::new(), searcher.search(&query, &FacetsCollector)?),
            Some(top) if plan.by_date => {
                let top = top.order_by_fast_field::<u64>("created", Order::Desc);
                let (hits, tally) = searcher.search(&query, &(top, FacetsCollector))?;
                (hits.into_iter().map(|(_, a)| (0.0, a)).collect(), tally)
            }
            Some(top) => searcher.search(&query, &(top.order_by_score(), FacetsCollector))?,
        };
        Ok(Found { top, tally })
    }

    fn hit(
        &self,
        searcher: &Searcher,
        highlighter: &mut Highlighter<'_>,
        address: DocAddress,
        score: f32,
    ) -> Result<Hit, IndexError> {
        let doc: TantivyDocument = searcher.doc(address)?;
        let f = &self.fields;
        let text = |field| {
            doc.get_first(field)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_owned()
        };
        let name = text(f.name);
        let sources: Vec<&str> = doc
            .get_all(f.snippet_source)
            .filter_map(|v| v.as_str())
            .collect();
        Ok(Hit {
            address: text(f.address),
            hub: text(f.hub),
            hub_name: text(f.hub_name),
            slug: text(f.slug),
            name_highlighted: highlighter.highlight(&name),
            snippet: highlighter.snippet(sources),
            name,
            score,
            created: doc
                .get_first(f.created)
                .and_then(|v| v.as_u64())
                .unwrap_or(0),
            themes: doc
                .get_all(f.themes)
                .filter_map(|v| v.as_str())
                .map(str::to_owned)
                .collect(),
            stage: text(f.stage),
            labels: doc
                .get_all(f.labels)
                .filter_map(|v| v.as_str())
                .map(str::to_owned)
                .collect(),
        })
    }
}

/// What a search asks, once parsed and bounded.
struct Plan<'a> {
    words: &'a [QueryWord],
    filter: Option<&'a dyn Query>,
    by_date: bool,
    limit: usize,
    offset: usize,
}

/// One run of a query: the page and the facet tally (with the total).
struct Found {
    top: Vec<(f32, DocAddress)>,
    tally: Tally,
}
