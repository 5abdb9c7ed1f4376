//! The JSON views of mirrors that the API, the UI and the CLI show:
//! every mirror with its running fetch, a summary for the node's status,
//! and the per-repository block of an initiative page.

use essaim_protocol::record::Initiative;
use serde_json::{Value, json};

use super::{MirrorKey, fallback_urls, row_json};
use crate::node::Node;
use crate::store::{MirrorRow, MirrorState, StoreError};

/// Every mirror of this node, with the fetches running now.
pub async fn mirrors_json(node: &Node) -> Result<Value, StoreError> {
    let worker = node.clone();
    let rows = tokio::task::spawn_blocking(move || worker.store().mirrors(None, None))
        .await
        .unwrap_or_else(|_| Ok(Vec::new()))?;
    let running = node.mirrors().running();
    let mirrors: Vec<Value> = rows
        .iter()
        .map(|row| {
            let mut v = row_json(row);
            let key = MirrorKey::of(row);
            v["running"] = running
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, p)| serde_json::to_value(p).unwrap_or_default())
                .unwrap_or(Value::Null);
            v
        })
        .collect();
    Ok(json!({
        "enabled": node.mirrors().enabled(),
        "summary": summary(&rows, running.len()),
        "mirrors": mirrors,
    }))
}

/// Counts per state, pins missing, fetches running.
pub fn summary(rows: &[MirrorRow], running: usize) -> Value {
    let count = |s: MirrorState| rows.iter().filter(|r| r.state == s).count();
    json!({
        "total": rows.len(),
        "ok": count(MirrorState::Ok),
        "pending": count(MirrorState::Pending),
        "failed": count(MirrorState::Failed),
        "too_large": count(MirrorState::TooLarge),
        "refused": count(MirrorState::Refused),
        "pin_missing": rows.iter().filter(|r| r.pin_ok == Some(false)).count(),
        "running": running,
        "bytes": rows.iter().map(|r| r.size).sum::<u64>(),
    })
}

/// The node status's `mirrors` block.
pub async fn status_json(node: &Node) -> Value {
    let worker = node.clone();
    let rows = tokio::task::spawn_blocking(move || worker.store().mirrors(None, None))
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default();
    let mut v = summary(&rows, node.mirrors().running().len());
    v["enabled"] = Value::Bool(node.mirrors().enabled());
    v["pins_missing"] = rows
        .iter()
        .filter(|r| r.pin_ok == Some(false))
        .map(|r| Value::String(format!("{}/{}/{}", r.hub, r.slug, r.repo)))
        .collect();
    v
}

/// For each repository of an initiative: the record's entry, the origin's
/// status, this node's mirror, and the other hubs that may serve it.
pub async fn repositories_json(node: &Node, initiative: &Initiative) -> Vec<Value> {
    let hub = initiative.author.short();
    let slug = initiative.slug.to_string();
    let worker = node.clone();
    let (h, s) = (hub.clone(), slug.clone());
    let rows = tokio::task::spawn_blocking(move || worker.store().mirrors(Some(&h), Some(&s)))
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default();
    let mut out = Vec::new();
    for repository in &initiative.repositories {
        let key = MirrorKey {
            hub: hub.clone(),
            slug: slug.clone(),
            repo: repository.name.to_string(),
        };
        let row = rows.iter().find(|r| r.repo == key.repo);
        let origin = match row.and_then(|r| r.origin_ok) {
            None => "unknown",
            Some(true) => "ok",
            Some(false) if row.is_some_and(|r| r.state == MirrorState::Refused) => "refused",
            Some(false) => "unreachable",
        };
        out.push(json!({
            "name": repository.name,
            "url": repository.url,
            "licence": repository.licence,
            "commit": repository.commit,
            "origin": origin,
            "mirror": row.map(row_json),
            "other_hubs": fallback_urls(node, &key).await,
        }));
    }
    out
}
