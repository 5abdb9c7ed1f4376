//! The mirror facts of each repository on an initiative page: whether the
//! origin answers, this node's copy (and whether it holds the pinned
//! commit), and the other hubs that may serve it.

use essaim_protocol::Body;
use essaim_protocol::record::Repository;
use maud::{Markup, html};

use super::super::Ctx;
use super::view::datetime;
use crate::mirror::{MirrorKey, other_hub_urls};
use crate::node::Node;
use crate::store::{MirrorRow, MirrorState, StoreError, StoredRecord};

/// What the page shows, per repository name.
#[derive(Default)]
pub(super) struct Mirrors {
    rows: Vec<MirrorRow>,
    others: Vec<(String, Vec<String>)>,
}

/// Read the mirror rows and other hubs of an initiative head (blocking).
pub(super) fn load(node: &Node, head: &StoredRecord) -> Result<Mirrors, StoreError> {
    let Body::Initiative(initiative) = head.record.body() else {
        return Ok(Mirrors::default());
    };
    let hub = initiative.author.short();
    let slug = initiative.slug.to_string();
    let rows = node.store().mirrors(Some(&hub), Some(&slug))?;
    let others = initiative
        .repositories
        .iter()
        .map(|r| {
            let key = MirrorKey {
                hub: hub.clone(),
                slug: slug.clone(),
                repo: r.name.to_string(),
            };
            (key.repo.clone(), other_hub_urls(node, &key))
        })
        .collect();
    Ok(Mirrors { rows, others })
}

/// `dt`/`dd` pairs for one repository.
pub(super) fn facts(ctx: &Ctx, mirrors: &Mirrors, repo: &Repository) -> Markup {
    let row = mirrors.rows.iter().find(|r| r.repo == repo.name.as_str());
    let others = mirrors
        .others
        .iter()
        .find(|(name, _)| name == repo.name.as_str())
        .map(|(_, urls)| urls.as_slice())
        .unwrap_or_default();
    let origin = match row.map(|r| (r.origin_ok, r.state)) {
        None | Some((None, _)) => ctx.t("pas encore contacté", "not contacted yet"),
        Some((Some(true), _)) => ctx.t("joignable", "reachable"),
        Some((Some(false), MirrorState::Refused)) => ctx.t(
            "refusé par ce nœud (adresse non autorisée)",
            "refused by this node (address not allowed)",
        ),
        Some((Some(false), _)) => ctx.t("injoignable", "unreachable"),
    };
    html! {
        dt { (ctx.t("État de l'origine", "Origin status")) }
        dd.origin-status { (origin) }
        dt { (ctx.t("Copie de ce nœud", "This node's copy")) }
        dd.mirror-status {
            @match row {
                None => { (ctx.t("pas de miroir (miroirs désactivés ?)", "no mirror (mirrors disabled?)")) }
                Some(row) => {
                    span class=(format!("status mirror-{}", state_code(row.state))) { (state_text(ctx, row.state)) }
                    @if let Some(at) = row.last_success {
                        " — " (ctx.t("à jour au ", "up to date as of ")) (datetime(ctx, at))
                    }
                    @if let Some(head) = &row.head {
                        " — HEAD " code { (head.get(..12).unwrap_or(head)) }
                    }
                    @match row.pin_ok {
                        Some(true) => { " — " span.status.status-valid.pin-ok { (ctx.t("commit garanti présent", "pinned commit present")) } }
                        Some(false) => { " — " strong.status.status-expired.pin-missing { (ctx.t("commit garanti ABSENT", "pinned commit MISSING")) } }
                        None => {}
                    }
                    @if let Some(error) = &row.error {
                        br; span.muted.mirror-error { (error) }
                    }
                }
            }
        }
        @if !others.is_empty() {
            dt { (ctx.t("Aussi servi par", "Also served by")) }
            dd.other-hubs {
                ul { @for url in others { li { code { (url) } } } }
            }
        }
    }
}

fn state_code(state: MirrorState) -> &'static str {
    match state {
        MirrorState::Pending => "pending",
        MirrorState::Ok => "ok",
        MirrorState::Failed => "failed",
        MirrorState::TooLarge => "too-large",
        MirrorState::Refused => "refused",
    }
}

fn state_text(ctx: &Ctx, state: MirrorState) -> &'static str {
    match state {
        MirrorState::Pending => ctx.t("en attente", "pending"),
        MirrorState::Ok => ctx.t("à jour", "mirrored"),
        MirrorState::Failed => ctx.t("échec de la dernière mise à jour", "last refresh failed"),
        MirrorState::TooLarge => ctx.t("trop gros pour ce nœud", "too large for this node"),
        MirrorState::Refused => ctx.t("adresse refusée", "address refused"),
    }
}
