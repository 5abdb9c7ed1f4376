//! Facet counts for every kind in one pass over the matching documents.
//!
//! tantivy's `FacetCollector` counts one level under given roots; the
//! catalogue needs six kinds and, for territories, every level at once. All
//! facets live in one field (see [`FacetKind`]), and documents store each
//! territory level explicitly (see [`super::schema::to_document`]), so
//! counting the facet ordinals of each matching document gives every count
//! directly — one column read per document. Ordinals become paths once per
//! segment, at the end.

use std::collections::HashMap;

use essaim_protocol::Territory;
use essaim_protocol::territory::Level;
use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::{RowId, StrColumn};
use tantivy::query::{AllQuery, EnableScoring, Query};
use tantivy::schema::Field;
use tantivy::{DocId, Score, Searcher, SegmentOrdinal, SegmentReader, TantivyError};

use super::schema::FacetKind;
use super::{FacetCount, Facets, TerritoryCount, TerritoryLevel};

/// At most this many values are returned per kind (and communes), the most
/// frequent first; régions and départements are always all returned.
pub(super) const MAX_FACET_VALUES: usize = 100;

/// The facet field's name in the schema.
const FIELD: &str = "facets";

/// Counts per kind (in [`FacetKind::ALL`] order), keyed by the path below the
/// kind (steps separated by NUL), plus the number of documents.
#[derive(Default, Debug)]
pub(super) struct Tally {
    pub(super) docs: u64,
    counts: [HashMap<String, u64>; 7],
}

/// The collector; see the module documentation.
pub(super) struct FacetsCollector;

/// Matching documents are buffered and their facet ordinals read in
/// batches (one virtual call per batch instead of one per value).
const BATCH: usize = 512;

pub(super) struct FacetsSegmentCollector {
    column: StrColumn,
    counts: Vec<u32>,
    docs: u64,
    batch: Vec<DocId>,
    batch_docs: Vec<DocId>,
    rows: Vec<RowId>,
    ords: Vec<u64>,
}

impl FacetsSegmentCollector {
    fn flush(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        self.batch_docs.clear();
        self.rows.clear();
        let column = self.column.ords();
        column
            .index
            .docids_to_rowids(&self.batch, &mut self.batch_docs, &mut self.rows);
        self.ords.clear();
        self.ords.resize(self.rows.len(), 0);
        column.values.get_vals(&self.rows, &mut self.ords);
        // Values are distinct per document (deduplicated when indexing).
        for ord in &self.ords {
            if let Some(c) = usize::try_from(*ord)
                .ok()
                .and_then(|o| self.counts.get_mut(o))
            {
                *c += 1;
            }
        }
        self.batch.clear();
    }
}

impl Collector for FacetsCollector {
    type Fruit = Tally;
    type Child = FacetsSegmentCollector;

    fn for_segment(
        &self,
        _segment: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<FacetsSegmentCollector> {
        let column = reader
            .fast_fields()
            .str(FIELD)?
            .ok_or_else(|| TantivyError::SchemaError(format!("no facet column {FIELD:?}")))?;
        Ok(FacetsSegmentCollector {
            counts: vec![0; column.num_terms()],
            column,
            docs: 0,
            batch: Vec::with_capacity(BATCH),
            batch_docs: Vec::new(),
            rows: Vec::new(),
            ords: Vec::new(),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<Tally>) -> tantivy::Result<Tally> {
        let mut total = Tally::default();
        for fruit in fruits {
            total.docs += fruit.docs;
            for (into, from) in total.counts.iter_mut().zip(fruit.counts) {
                for (path, n) in from {
                    *into.entry(path).or_insert(0) += n;
                }
            }
        }
        Ok(total)
    }
}

impl SegmentCollector for FacetsSegmentCollector {
    type Fruit = Tally;

    fn collect(&mut self, doc: DocId, _score: Score) {
        self.docs += 1;
        self.batch.push(doc);
        if self.batch.len() >= BATCH {
            self.flush();
        }
    }

    fn collect_block(&mut self, docs: &[DocId]) {
        for doc in docs {
            self.collect(*doc, 0.0);
        }
    }

    fn harvest(mut self) -> Tally {
        self.flush();
        let mut tally = Tally {
            docs: self.docs,
            ..Tally::default()
        };
        // Name the counted values in one sorted pass over the dictionary
        // (looking each up alone re-reads its block from the start).
        let ords: Vec<u64> = self
            .counts
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .map(|(ord, _)| ord as u64)
            .collect();
        let counts = &self.counts;
        let mut next = 0usize;
        let _ = self
            .column
            .dictionary()
            .sorted_ords_to_term_cb(&ords, |bytes| {
                if let Some(ord) = ords.get(next) {
                    tally.add(bytes, u64::from(counts[*ord as usize]));
                }
                next += 1;
            });
        tally
    }
}

/// The facet counts of every document, and their number, without a query:
/// for a segment without deletions these are the document frequencies of
/// the facet terms (no document is read); others are counted like a search.
pub(super) fn tally_all(searcher: &Searcher, field: Field) -> tantivy::Result<Tally> {
    let mut fruits = Vec::with_capacity(searcher.segment_readers().len());
    for (ord, reader) in searcher.segment_readers().iter().enumerate() {
        if reader.has_deletes() {
            let all = AllQuery.weight(EnableScoring::disabled_from_searcher(searcher))?;
            let segment = SegmentOrdinal::try_from(ord).unwrap_or(SegmentOrdinal::MAX);
            fruits.push(FacetsCollector.collect_segment(all.as_ref(), segment, reader)?);
            continue;
        }
        let mut tally = Tally {
            docs: u64::from(reader.num_docs()),
            ..Tally::default()
        };
        let inverted = reader.inverted_index(field)?;
        let mut terms = inverted.terms().stream()?;
        while terms.advance() {
            tally.add(terms.key(), u64::from(terms.value().doc_freq));
        }
        fruits.push(tally);
    }
    FacetsCollector.merge_fruits(fruits)
}

/// The last step of an encoded facet path (steps are NUL-separated).
fn leaf(path: &str) -> &str {
    path.rsplit('\0').next().unwrap_or(path)
}

/// Most frequent first, then by value; at most `limit`.
fn top(counts: &HashMap<String, u64>, limit: usize) -> Vec<FacetCount> {
    let mut out: Vec<FacetCount> = counts
        .iter()
        .map(|(path, n)| FacetCount {
            value: leaf(path).to_owned(),
            count: *n,
        })
        .collect();
    out.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
    out.truncate(limit);
    out
}

fn territories(counts: &HashMap<String, u64>) -> Vec<TerritoryCount> {
    let mut out: Vec<TerritoryCount> = counts
        .iter()
        .filter_map(|(path, n)| {
            let mut steps = path.rsplit('\0');
            let code = steps.next()?;
            let t = Territory::parse(code).ok()?;
            Some(TerritoryCount {
                value: code.to_owned(),
                name: t.name().to_owned(),
                level: match t.level() {
                    Level::National => TerritoryLevel::National,
                    Level::Region => TerritoryLevel::Region,
                    Level::Departement => TerritoryLevel::Departement,
                    Level::Commune => TerritoryLevel::Commune,
                },
                parent: steps.next().map(str::to_owned),
                count: *n,
            })
        })
        .collect();
    out.sort_by(|a, b| {
        a.level
            .cmp(&b.level)
            .then_with(|| b.count.cmp(&a.count))
            .then_with(|| a.value.cmp(&b.value))
    });
    let mut communes = 0;
    out.retain(|t| {
        if t.level != TerritoryLevel::Commune {
            return true;
        }
        communes += 1;
        communes <= MAX_FACET_VALUES
    });
    out
}

impl Tally {
    /// Counts `n` documents for the facet whose encoded path is `path`
    /// (`kind NUL value…`); the kinds' roots are ignored.
    fn add(&mut self, path: &[u8], n: u64) {
        let Some((kind, rest)) = std::str::from_utf8(path)
            .ok()
            .and_then(|p| p.split_once('\0'))
        else {
            return;
        };
        let Some(i) = FacetKind::ALL.iter().position(|k| k.step() == kind) else {
            return;
        };
        *self.counts[i].entry(rest.to_owned()).or_insert(0) += n;
    }

    pub(super) fn into_facets(self) -> Facets {
        let [theme, territory, stage, licence, hub, label, labeller] = &self.counts;
        Facets {
            theme: top(theme, MAX_FACET_VALUES),
            territory: territories(territory),
            stage: top(stage, MAX_FACET_VALUES),
            licence: top(licence, MAX_FACET_VALUES),
            hub: top(hub, MAX_FACET_VALUES),
            label: top(label, MAX_FACET_VALUES),
            labelled_by: top(labeller, MAX_FACET_VALUES),
        }
    }
}
