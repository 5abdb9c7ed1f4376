//! This node's page (`/node`): who it is (its hub), what it holds (store
//! and index counts, how far the index lags), and the places where peers,
//! synchronisation and mirror jobs will show once federation and mirroring
//! exist. The data directory's path is shown to the operator only.

use essaim_protocol::Body;
use maud::{Markup, html};
use warp::http::StatusCode;
use warp::reply::Response;

use super::initiative::view::{self, grouped};
use super::{Ctx, Nav, blocking, internal_error};
use crate::node::Node;
use crate::store::Counts;

/// `GET /node`.
pub(super) async fn page(node: &Node, ctx: &Ctx) -> Response {
    let worker = node.clone();
    let loaded = blocking(move || {
        let store = worker.store();
        let counts = store.counts().map_err(|e| e.to_string())?;
        let name = match view::profile_address(worker.hub_id()) {
            Some(address) => store
                .head(&address)
                .map_err(|e| e.to_string())?
                .and_then(|h| match h.record.body() {
                    Body::Hub(hub) => Some(hub.name.clone()),
                    _ => None,
                }),
            None => None,
        };
        Ok((counts, worker.index().num_docs(), name))
    })
    .await;
    let Some((counts, docs, name)) = loaded else {
        return internal_error(ctx);
    };
    let title = ctx.t("Ce nœud", "This node");
    let body = render(node, ctx, title, &counts, docs, name.as_deref());
    ctx.page(StatusCode::OK, title, Nav::Node, body)
}

/// `3 j 4 h 12 min` / `3 d 4 h 12 min`.
fn uptime(ctx: &Ctx, secs: u64) -> String {
    let (d, h, m) = (secs / 86_400, secs % 86_400 / 3600, secs % 3600 / 60);
    let day = ctx.t("j", "d");
    match (d, h) {
        (0, 0) => format!("{m} min"),
        (0, _) => format!("{h} h {m} min"),
        _ => format!("{d} {day} {h} h {m} min"),
    }
}

fn render(
    node: &Node,
    ctx: &Ctx,
    title: &str,
    counts: &Counts,
    docs: u64,
    name: Option<&str>,
) -> Markup {
    let watermark = node.indexed();
    let behind = counts.last_change.saturating_sub(watermark);
    let heads = |kind: &str| counts.heads.get(kind).copied().unwrap_or(0);
    let lang = ctx.lang;
    let config = node.config();
    html! {
        div.node-page {
            h1 { (title) }
            p.lead { (ctx.t(
                "Un nœud Essaim garde une copie signée du catalogue et la sert : cette page, la recherche, l'API et, bientôt, le code des initiatives. Il publie au nom d'un hub, le sien.",
                "An Essaim node keeps a signed copy of the catalogue and serves it: these pages, the search, the API and, soon, the initiatives' code. It publishes in the name of one hub, its own.",
            )) }
            section #identity aria-labelledby="h-identity" {
                h2 #h-identity { (ctx.t("Identité", "Identity")) }
                dl.facts {
                    dt { (ctx.t("Hub", "Hub")) }
                    dd {
                        @match name {
                            Some(name) => a href=(view::hub_path(&node.hub_id())) { (name) },
                            None => (ctx.t("(profil non publié)", "(no profile published)")),
                        }
                    }
                    dt { (ctx.t("Identifiant du hub", "Hub id")) }
                    dd { code.hub-id #hub-id { (node.hub_id().to_string()) } }
                    dt { (ctx.t("Version d'Essaim", "Essaim version")) }
                    dd { (env!("CARGO_PKG_VERSION")) }
                    dt { (ctx.t("En marche depuis", "Up for")) }
                    dd { (uptime(ctx, node.uptime().as_secs())) }
                    @if ctx.is_operator() {
                        dt { (ctx.t("Dossier de données", "Data directory")) }
                        dd { code #data-dir { (node.data_dir().root().display()) } " " span.muted { (ctx.t("(visible par l'opérateur seulement)", "(shown to the operator only)")) } }
                    }
                }
            }
            section #counts aria-labelledby="h-counts" {
                h2 #h-counts { (ctx.t("Ce qu'il contient", "What it holds")) }
                ul.stats {
                    li { span.stat-value { (grouped(lang, heads("initiative"))) } span.stat-name { (ctx.t("initiatives", "initiatives")) } }
                    li { span.stat-value { (grouped(lang, heads("hub"))) } span.stat-name { (ctx.t("hubs", "hubs")) } }
                    li { span.stat-value { (grouped(lang, heads("endorsement"))) } span.stat-name { (ctx.t("soutiens", "endorsements")) } }
                    li { span.stat-value { (grouped(lang, heads("retraction"))) } span.stat-name { (ctx.t("retraits", "withdrawals")) } }
                }
                dl.facts {
                    dt { (ctx.t("Enregistrements signés", "Signed records")) }
                    dd #store-records { (grouped(lang, counts.records)) " " span.muted { (ctx.t("(toutes versions)", "(every version)")) } }
                    dt { (ctx.t("Dernier changement", "Last change")) }
                    dd { (grouped(lang, counts.last_change)) }
                    dt { (ctx.t("Documents dans l'index", "Documents in the index")) }
                    dd #index-docs { (grouped(lang, docs)) }
                    dt { (ctx.t("Index à jour jusqu'au changement", "Index up to change")) }
                    dd {
                        (grouped(lang, watermark)) " — "
                        @if behind == 0 {
                            span.status.status-valid { (ctx.t("à jour", "up to date")) }
                        } @else {
                            span.status.status-expired { (behind) (ctx.t(" en attente", " pending")) }
                        }
                    }
                    @if let Some(reason) = node.rebuilt_index() {
                        dt { (ctx.t("Index reconstruit au démarrage", "Index rebuilt at start-up")) }
                        dd { (reason) }
                    }
                }
            }
            section #peers aria-labelledby="h-peers" {
                h2 #h-peers { (ctx.t("Pairs", "Peers")) span.soon { (ctx.t("à venir", "coming")) } }
                p { (ctx.t(
                    "La fédération entre nœuds arrive bientôt : les nœuds auxquels celui-ci est relié s'afficheront ici.",
                    "Federation between nodes is coming: the nodes this one is connected to will show here.",
                )) }
                @if !config.bootstrap.is_empty() {
                    p { (ctx.t("Pairs de démarrage configurés :", "Configured bootstrap peers:")) }
                    ul.plain { @for peer in &config.bootstrap { li { code { (peer) } } } }
                }
            }
            section #sync aria-labelledby="h-sync" {
                h2 #h-sync { (ctx.t("Synchronisation", "Sync")) span.soon { (ctx.t("à venir", "coming")) } }
                p { (ctx.t(
                    "Les échanges d'enregistrements avec les autres nœuds — quand, avec qui, combien — s'afficheront ici avec la fédération.",
                    "Record exchanges with other nodes — when, with whom, how many — will show here with federation.",
                )) }
            }
            section #mirrors aria-labelledby="h-mirrors" {
                h2 #h-mirrors { (ctx.t("Miroirs de code", "Code mirrors")) span.soon { (ctx.t("à venir", "coming")) } }
                p { (ctx.t(
                    "Ce nœud gardera une copie des dépôts de code des initiatives ; l'état de chaque miroir s'affichera ici.",
                    "This node will keep a copy of the initiatives' code repositories; each mirror's state will show here.",
                )) }
                p.muted {
                    @if config.mirror_enabled { (ctx.t("Miroirs activés dans la configuration.", "Mirrors enabled in the configuration.")) }
                    @else { (ctx.t("Miroirs désactivés dans la configuration.", "Mirrors disabled in the configuration.")) }
                }
            }
            p.api-link { a href="/api/v1/status" { (ctx.t("Le même état en JSON", "The same state as JSON")) } }
        }
    }
}
