//! Keeps the search index in line with the store.
//!
//! The index holds one document per initiative head, enriched with what
//! other records say about it: its hub's name (from the hub record), the
//! labels currently granted to it and the territories where other hubs state
//! it was replicated (from endorsement heads). [`catch_up`] applies every
//! head that changed after the index's watermark, commits, and moves the
//! watermark: the same code serves start-up after a crash (a few changes),
//! the live node (batches every few hundred milliseconds) and `essaim
//! reindex` (from zero).

use std::collections::BTreeSet;

use essaim_protocol::record::Subject;
use essaim_protocol::vocab::EndorsementType;
use essaim_protocol::{Address, Body, Kind};

use crate::index::{IndexError, InitiativeDoc, SearchIndex};
use crate::store::{Store, StoreError, StoredRecord};

/// Heads read from the store per step.
const BATCH: usize = 2_000;

/// Why the index could not be brought up to date.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum IndexerError {
    /// Reading the store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Writing the index failed.
    #[error(transparent)]
    Index(#[from] IndexError),
}

/// Apply every head changed after the index's watermark; returns the new
/// watermark. `progress(done, total)` is called after each batch, with the
/// total number of changes to apply.
pub fn catch_up(
    store: &Store,
    index: &SearchIndex,
    now: u64,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<u64, IndexerError> {
    let start = index.watermark();
    let last = store.last_change()?;
    let total = last.saturating_sub(start);
    let mut since = start;
    loop {
        let heads = store.heads_since(since, BATCH)?;
        let Some(newest) = heads.last().map(|h| h.change) else {
            break;
        };
        let mut affected = BTreeSet::new();
        for head in &heads {
            affected_initiatives(store, head, newest, &mut affected)?;
        }
        for address in &affected {
            apply(store, index, address, now)?;
        }
        since = newest;
        index.commit(since)?;
        progress(since - start, total.max(since - start));
    }
    Ok(since)
}

/// Recompute the documents of these initiatives now and commit, keeping the
/// watermark (records that left the store, and mirrored READMEs, are
/// invisible to [`catch_up`]).
pub fn refresh(
    store: &Store,
    index: &SearchIndex,
    addresses: &BTreeSet<Address>,
    now: u64,
) -> Result<(), IndexerError> {
    for address in addresses {
        apply(store, index, address, now)?;
    }
    index.commit(index.watermark())?;
    Ok(())
}

/// The initiatives whose document depends on this head. Initiatives whose
/// own head changed after `until` are left out: their own batch applies them
/// (so a rebuild does not index a hub's initiatives twice).
fn affected_initiatives(
    store: &Store,
    head: &StoredRecord,
    until: u64,
    affected: &mut BTreeSet<Address>,
) -> Result<(), StoreError> {
    let address = head.record.address();
    match address.kind {
        Kind::Initiative => {
            affected.insert(address);
        }
        Kind::Endorsement => {
            if let Body::Endorsement(e) = head.record.body()
                && let Subject::Initiative(subject) = &e.subject
            {
                affected.insert(subject.clone());
            }
        }
        Kind::Hub => {
            // The hub's name appears in each of its initiatives' documents.
            let mut since = 0;
            loop {
                let page = store.heads_of_kind(
                    Kind::Initiative,
                    Some(&address.author),
                    since,
                    until,
                    BATCH,
                )?;
                let Some(last) = page.last().map(|h| h.change) else {
                    break;
                };
                affected.extend(page.iter().map(|h| h.record.address()));
                since = last;
            }
        }
        Kind::Retraction => {}
    }
    Ok(())
}

/// Index the head at `address`, or remove it when it is gone or retracted.
fn apply(
    store: &Store,
    index: &SearchIndex,
    address: &Address,
    now: u64,
) -> Result<(), IndexerError> {
    match store.head(address)? {
        Some(head) if matches!(head.record.body(), Body::Initiative(_)) => {
            let doc = initiative_doc(store, &head, now)?;
            index.upsert(&doc)?;
        }
        _ => index.remove(&address.to_string())?,
    }
    Ok(())
}

/// The search document of an initiative head.
pub fn initiative_doc(
    store: &Store,
    head: &StoredRecord,
    now: u64,
) -> Result<InitiativeDoc, StoreError> {
    let Body::Initiative(initiative) = head.record.body() else {
        return Ok(InitiativeDoc::default());
    };
    let address = head.record.address();
    let hub_address = Address {
        author: initiative.author,
        kind: Kind::Hub,
        slug: "profile".parse().expect("`profile` is a valid slug"),
    };
    let hub_name = match store.head(&hub_address)?.map(|h| h.record.body().clone()) {
        Some(Body::Hub(hub)) => hub.name,
        _ => String::new(),
    };
    let mut territories = vec![initiative.origin];
    territories.extend(initiative.territories.iter().copied());
    let mut labels = Vec::new();
    let mut labellers = Vec::new();
    for endorsement in store.endorsements_of(&address.to_string())? {
        let Body::Endorsement(e) = endorsement.record.body() else {
            continue;
        };
        if e.revoked || e.valid_until.is_some_and(|until| until <= now) {
            continue;
        }
        match e.endorsement {
            EndorsementType::Label => {
                labels.extend(e.label.clone());
                labellers.push(e.author.to_string());
            }
            EndorsementType::Replication => territories.extend(e.territory),
            _ => {}
        }
    }
    territories.sort();
    territories.dedup();
    labels.sort();
    labels.dedup();
    labellers.sort();
    labellers.dedup();
    let mut licences: Vec<String> = initiative
        .repositories
        .iter()
        .map(|r| r.licence.to_string())
        .collect();
    licences.sort();
    licences.dedup();
    let text = |map: &essaim_protocol::record::LangMap| {
        map.iter()
            .map(|(lang, text)| (lang.to_string(), text.clone()))
            .collect()
    };
    Ok(InitiativeDoc {
        address: address.to_string(),
        hub: initiative.author.to_string(),
        hub_name,
        slug: initiative.slug.to_string(),
        name: initiative.name.clone(),
        summary: text(&initiative.summary),
        description: initiative
            .description
            .iter()
            .map(|(lang, markdown)| (lang.to_string(), plain_text(markdown)))
            .collect(),
        extra_text: store.mirror_docs(
            &initiative.author.short(),
            initiative.slug.as_str(),
            crate::mirror::repo::DOC_TEXT_MAX,
        )?,
        themes: initiative
            .themes
            .iter()
            .map(|t| t.code().to_owned())
            .collect(),
        territories,
        stage: initiative.stage.code().to_owned(),
        licences,
        labels,
        labellers,
        created: initiative.created,
        seq: initiative.seq,
    })
}

/// The words of a Markdown text without its markup (`## `, `**`, link
/// targets…): what is indexed and what snippets quote. Blocks are separated
/// by a blank line, link text is kept, code is kept as text.
pub fn plain_text(markdown: &str) -> String {
    use pulldown_cmark::{Event, Parser, TagEnd};
    let mut out = String::with_capacity(markdown.len());
    for event in Parser::new(markdown) {
        match event {
            Event::Text(text) | Event::Code(text) | Event::Html(text) | Event::InlineHtml(text) => {
                out.push_str(&text)
            }
            Event::SoftBreak | Event::HardBreak => out.push(' '),
            Event::End(
                TagEnd::Paragraph
                | TagEnd::Heading(_)
                | TagEnd::Item
                | TagEnd::CodeBlock
                | TagEnd::BlockQuote(_)
                | TagEnd::TableRow,
            ) => out.push_str("\n\n"),
            Event::End(TagEnd::TableCell) => out.push(' '),
            _ => {}
        }
    }
    out.truncate(out.trim_end().len());
    out
}

#[cfg(test)]
mod tests {
    use super::plain_text;

    #[test]
    fn markdown_markup_is_not_indexed() {
        assert_eq!(
            plain_text(
                "## La démarche\n\nUn **atelier** [vélo](https://x.org) `code`\nsuite\n\n- un\n- deux"
            ),
            "La démarche\n\nUn atelier vélo code suite\n\nun\n\ndeux"
        );
        assert_eq!(plain_text("<b>gras</b> & co"), "<b>gras</b> & co");
        assert_eq!(plain_text(""), "");
    }
}
