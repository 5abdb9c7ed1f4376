//! The node page's mirrors section: counts per state, the fetches running
//! now with their progress, and the mirrors that need attention (failed,
//! too large, refused, or missing their pinned commit).

use maud::{Markup, html};

use super::Ctx;
use crate::node::Node;
use crate::store::{MirrorRow, MirrorState};

/// Mirrors listed as needing attention, at most.
const ATTENTION_MAX: usize = 20;

pub(super) fn section(ctx: &Ctx, node: &Node, rows: &[MirrorRow]) -> Markup {
    let count = |s: MirrorState| rows.iter().filter(|r| r.state == s).count();
    let running = node.mirrors().running();
    let attention: Vec<&MirrorRow> = rows
        .iter()
        .filter(|r| r.state != MirrorState::Ok || r.pin_ok == Some(false))
        .filter(|r| r.state != MirrorState::Pending)
        .take(ATTENTION_MAX)
        .collect();
    html! {
        section #mirrors aria-labelledby="h-mirrors" {
            h2 #h-mirrors { (ctx.t("Miroirs de code", "Code mirrors")) }
            p { (ctx.t(
                "Ce nœud garde une copie des dépôts de code des initiatives et la sert sous /git/ ; l'état de chaque miroir est aussi sur la page de son initiative et ",
                "This node keeps a copy of the initiatives' code repositories and serves it under /git/; each mirror's state is also on its initiative's page and ",
            )) a href="/api/v1/mirrors" { (ctx.t("en JSON", "as JSON")) } "." }
            @if !node.config().mirror_enabled {
                p.muted { (ctx.t("Miroirs désactivés dans la configuration.", "Mirrors disabled in the configuration.")) }
            }
            ul.stats #mirror-counts {
                li { span.stat-value { (count(MirrorState::Ok)) } span.stat-name { (ctx.t("à jour", "mirrored")) } }
                li { span.stat-value { (count(MirrorState::Pending)) } span.stat-name { (ctx.t("en attente", "pending")) } }
                li { span.stat-value { (count(MirrorState::Failed)) } span.stat-name { (ctx.t("en échec", "failing")) } }
                li { span.stat-value { (count(MirrorState::TooLarge) + count(MirrorState::Refused)) } span.stat-name { (ctx.t("écartés", "skipped")) } }
            }
            @if !running.is_empty() {
                h3 { (ctx.t("En cours", "Running")) }
                ul #mirror-jobs {
                    @for (key, p) in &running {
                        li {
                            code { (key.slug) "/" (key.repo) } " — "
                            (p.phase) " " (p.objects) "/" (p.total) ", " (p.bytes / 1024) " KiB"
                        }
                    }
                }
            }
            @if !attention.is_empty() {
                h3 { (ctx.t("À surveiller", "Needing attention")) }
                ul #mirror-attention {
                    @for row in &attention {
                        li {
                            code { (row.slug) "/" (row.repo) } " — "
                            @if row.pin_ok == Some(false) {
                                strong.pin-missing { (ctx.t("commit garanti absent", "pinned commit missing")) } " "
                            }
                            span.muted { (row.error.as_deref().unwrap_or("")) }
                        }
                    }
                }
            }
        }
    }
}
