//! Two small tantivy queries the ranking needs, so that a common word's
//! postings are read once instead of several times.
//!
//! - [`Shifted`] adds a constant to the score of every match of a query: the
//!   exact-match tier rides on the BM25 query instead of repeating its term
//!   queries under a `ConstScoreQuery`.
//! - [`AutomatonExcept`] is `FuzzyTermQuery` (typos, or prefix) minus one
//!   term, and only over the terms that start with the same letter: the
//!   exact term is matched (and scored) elsewhere, and for a common word its
//!   postings dwarf those of the near misses; typos on the first letter are
//!   not tolerated (Meilisearch counts them double), which confines the
//!   automaton to one letter's part of the dictionary instead of all of it.

use std::fmt;
use std::sync::Arc;

use tantivy::query::{
    BitSetDocSet, ConstScorer, DfaWrapper, EnableScoring, Explanation, FuzzyTermQuery, Query,
    Scorer, Weight,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{BitSet, DocId, DocSet, Score, SegmentReader, TERMINATED, TantivyError, Term};

/// `inner`, with `shift` added to the score of each match.
pub(super) struct Shifted {
    inner: Box<dyn Query>,
    shift: Score,
}

impl Shifted {
    pub(super) fn new(inner: Box<dyn Query>, shift: Score) -> Shifted {
        Shifted { inner, shift }
    }
}

impl Clone for Shifted {
    fn clone(&self) -> Shifted {
        Shifted {
            inner: self.inner.box_clone(),
            shift: self.shift,
        }
    }
}

impl fmt::Debug for Shifted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Shifted({:?} + {})", self.inner, self.shift)
    }
}

impl Query for Shifted {
    fn weight(&self, scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        let inner = self.inner.weight(scoring)?;
        if !scoring.is_scoring_enabled() {
            return Ok(inner);
        }
        Ok(Box::new(ShiftedWeight {
            inner,
            shift: self.shift,
        }))
    }

    fn query_terms<'a>(&'a self, visitor: &mut dyn FnMut(&'a Term, bool)) {
        self.inner.query_terms(visitor);
    }
}

struct ShiftedWeight {
    inner: Box<dyn Weight>,
    shift: Score,
}

impl Weight for ShiftedWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        Ok(Box::new(ShiftedScorer {
            inner: self.inner.scorer(reader, boost)?,
            shift: self.shift * boost,
        }))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        let inner = self.inner.explain(reader, doc)?;
        let mut explanation =
            Explanation::new_with_string(format!("+{}", self.shift), inner.value() + self.shift);
        explanation.add_detail(inner);
        Ok(explanation)
    }

    fn count(&self, reader: &SegmentReader) -> tantivy::Result<u32> {
        self.inner.count(reader)
    }
}

struct ShiftedScorer {
    inner: Box<dyn Scorer>,
    shift: Score,
}

impl DocSet for ShiftedScorer {
    fn advance(&mut self) -> DocId {
        self.inner.advance()
    }

    fn seek(&mut self, target: DocId) -> DocId {
        self.inner.seek(target)
    }

    fn doc(&self) -> DocId {
        self.inner.doc()
    }

    fn size_hint(&self) -> u32 {
        self.inner.size_hint()
    }

    fn cost(&self) -> u64 {
        self.inner.cost()
    }
}

impl Scorer for ShiftedScorer {
    fn score(&mut self) -> Score {
        self.inner.score() + self.shift
    }
}

/// The terms of `field` that a Levenshtein automaton (typos, or prefix with
/// typos) accepts among those with the same first letter, except the exact
/// text; every match scores 1 (times the boost).
#[derive(Clone, Debug)]
pub(super) struct AutomatonExcept {
    field: Field,
    text: String,
    distance: u8,
    prefix: bool,
}

impl AutomatonExcept {
    /// Terms other than `text` within `distance` edits of it (or, with
    /// `prefix`, starting with something within `distance` edits of it) and
    /// starting with the same letter. `text` is analysed already.
    pub(super) fn new(field: Field, text: &str, distance: u8, prefix: bool) -> Self {
        AutomatonExcept {
            field,
            text: text.to_owned(),
            distance,
            prefix,
        }
    }
}

impl Query for AutomatonExcept {
    fn weight(&self, _scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        let term = Term::from_field_text(self.field, &self.text);
        let query = match self.prefix {
            true => FuzzyTermQuery::new_prefix(term, self.distance, true),
            false => FuzzyTermQuery::new(term, self.distance, true),
        };
        let first = self
            .text
            .chars()
            .next()
            .map(String::from)
            .unwrap_or_default();
        Ok(Box::new(AutomatonExceptWeight {
            field: self.field,
            automaton: Arc::new(query.automaton()?),
            after_first: prefix_end(first.as_bytes()),
            first: first.into_bytes(),
            except: self.text.clone(),
        }))
    }
}

struct AutomatonExceptWeight {
    field: Field,
    automaton: Arc<DfaWrapper>,
    /// The terms walked are in `first..after_first`.
    first: Vec<u8>,
    after_first: Option<Vec<u8>>,
    except: String,
}

/// The smallest byte string greater than every string starting with `prefix`.
fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

impl Weight for AutomatonExceptWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        let inverted = reader.inverted_index(self.field)?;
        let mut docs = BitSet::with_max_value(reader.max_doc());
        let mut range = inverted.terms().search(&*self.automaton).ge(&self.first);
        if let Some(end) = &self.after_first {
            range = range.lt(end);
        }
        let mut terms = range.into_stream()?;
        while terms.advance() {
            if terms.key() == self.except.as_bytes() {
                continue;
            }
            let mut postings = inverted
                .read_block_postings_from_terminfo(terms.value(), IndexRecordOption::Basic)?;
            loop {
                let block = postings.docs();
                if block.is_empty() {
                    break;
                }
                for &doc in block {
                    docs.insert(doc);
                }
                postings.advance();
            }
        }
        Ok(Box::new(ConstScorer::new(BitSetDocSet::from(docs), boost)))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        let mut scorer = self.scorer(reader, 1.0)?;
        if scorer.seek(doc) == doc && doc != TERMINATED {
            Ok(Explanation::new("AutomatonExcept", 1.0))
        } else {
            Err(TantivyError::InvalidArgument(format!(
                "document {doc} does not match"
            )))
        }
    }
}
