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
use tantivy::fastfield::FacetReader;
use tantivy::{DocId, Score, SegmentOrdinal, SegmentReader};

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
    counts: [HashMap<String, u64>; 6],
}

/// The collector; see the module documentation.
pub(super) struct FacetsCollector;

pub(super) struct FacetsSegmentCollector {
    reader: FacetReader,
    counts: Vec<u32>,
    docs: u64,
}

impl Collector for FacetsCollector {
    type Fruit = Tally;
    type Child = FacetsSegmentCollector;

    fn for_segment(
        &self,
        _segment: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<FacetsSegmentCollector> {
        let reader = reader.facet_reader(FIELD)?;
        Ok(FacetsSegmentCollector {
            counts: vec![0; reader.num_facets()],
            reader,
            docs: 0,
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
        // Values are distinct per document (deduplicated when indexing).
        for ord in self.reader.facet_ords(doc) {
            if let Some(c) = usize::try_from(ord)
                .ok()
                .and_then(|o| self.counts.get_mut(o))
            {
                *c += 1;
            }
        }
    }

    fn harvest(self) -> Tally {
        let mut tally = Tally {
            docs: self.docs,
            ..Tally::default()
        };
        let mut bytes = Vec::new();
        for (ord, n) in self.counts.iter().enumerate().filter(|(_, n)| **n > 0) {
            bytes.clear();
            let found = self
                .reader
                .facet_dict()
                .ord_to_term(ord as u64, &mut bytes)
                .unwrap_or(false);
            let Some((kind, rest)) = found
                .then(|| std::str::from_utf8(&bytes).ok())
                .flatten()
                .and_then(|path| path.split_once('\0'))
            else {
                continue;
            };
            let Some(i) = FacetKind::from_step(kind)
                .and_then(|k| FacetKind::ALL.iter().position(|a| *a == k))
            else {
                continue;
            };
            *tally.counts[i].entry(rest.to_owned()).or_insert(0) += u64::from(*n);
        }
        tally
    }
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
    pub(super) fn into_facets(self) -> Facets {
        let [theme, territory, stage, licence, hub, label] = &self.counts;
        Facets {
            theme: top(theme, MAX_FACET_VALUES),
            territory: territories(territory),
            stage: top(stage, MAX_FACET_VALUES),
            licence: top(licence, MAX_FACET_VALUES),
            hub: top(hub, MAX_FACET_VALUES),
            label: top(label, MAX_FACET_VALUES),
        }
    }
}
