//! This node's page (`/node`): who it is (its hub), what it holds (store
//! and index counts, how far the index lags), the peers it is connected to
//! and how its last synchronisations went, and the place where mirror jobs
//! will show once mirroring exists. The data directory's path is shown to
//! the operator only.

use std::collections::HashMap;

use essaim_protocol::{Body, HubId};
use maud::{Markup, html};
use warp::http::StatusCode;
use warp::reply::Response;

use super::initiative::view::{self, grouped};
use super::{Ctx, Nav, blocking, internal_error};
use crate::node::Node;
use crate::p2p::{PeerInfo, SyncStatus, SyncSummary};
use crate::store::Counts;

/// What the federation layer says, when the node runs it.
struct Federation {
    status: SyncStatus,
    peers: Vec<PeerInfo>,
    names: HashMap<HubId, String>,
}

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
        let mirrors = store.mirrors(None, None).map_err(|e| e.to_string())?;
        Ok((counts, worker.index().num_docs(), name, mirrors))
    })
    .await;
    let Some((counts, docs, name, mirrors)) = loaded else {
        return internal_error(ctx);
    };
    let federation = match node.p2p() {
        Some(p2p) => {
            let status = p2p.status(node).await;
            let peers = p2p.peers();
            let hubs: Vec<HubId> = peers
                .iter()
                .filter_map(|p| p.hub.as_deref().and_then(|h| HubId::parse_lenient(h).ok()))
                .collect();
            let worker = node.clone();
            let names =
                blocking(move || view::hub_names(worker.store(), hubs).map_err(|e| e.to_string()))
                    .await
                    .unwrap_or_default();
            Some(Federation {
                status,
                peers,
                names,
            })
        }
        None => None,
    };
    let title = ctx.t("Ce nœud", "This node");
    let body = render(
        node,
        ctx,
        &counts,
        docs,
        name.as_deref(),
        federation.as_ref(),
        super::node_mirrors::section(ctx, node, &mirrors),
    );
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
    counts: &Counts,
    docs: u64,
    name: Option<&str>,
    federation: Option<&Federation>,
    mirrors: Markup,
) -> Markup {
    let title = ctx.t("Ce nœud", "This node");
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
                    dt { (ctx.t("Confiance", "Trust")) }
                    dd #trust-mode {
                        (match config.trust_mode {
                            crate::config::TrustMode::Open => ctx.t("mode ouvert (quotas par hub)", "open mode (quotas per hub)"),
                            crate::config::TrustMode::WebOfTrust => ctx.t("toile de confiance", "web of trust"),
                        })
                        " · " a href="/trust" { (ctx.t("hubs suivis, bloqués, quarantaine (opérateur)", "followed, blocked hubs, quarantine (operator)")) }
                    }
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
                h2 #h-peers { (ctx.t("Pairs", "Peers")) }
                (peers(ctx, federation, &config.bootstrap))
            }
            section #sync aria-labelledby="h-sync" {
                h2 #h-sync { (ctx.t("Synchronisation", "Sync")) }
                (sync(ctx, federation))
            }
            (mirrors)
            p.api-link { a href="/api/v1/status" { (ctx.t("Le même état en JSON", "The same state as JSON")) } }
        }
    }
}

/// The connected peers, or why there are none.
fn peers(
    ctx: &Ctx,
    federation: Option<&Federation>,
    bootstrap: &[impl std::fmt::Display],
) -> Markup {
    let lang = ctx.lang;
    html! {
        @match federation {
            None => p { (ctx.t(
                "La fédération ne tourne pas : ce nœud a été ouvert sans `essaim run`.",
                "Federation is not running: this node was opened without `essaim run`.",
            )) },
            Some(f) => {
                dl.facts {
                    dt { (ctx.t("Identité libp2p", "libp2p identity")) }
                    dd { code #peer-id { (f.status.peer_id) } }
                    dt { (ctx.t("Écoute sur", "Listening on")) }
                    dd {
                        @if f.status.listen.is_empty() { (ctx.t("(pas encore)", "(not yet)")) }
                        @for address in &f.status.listen { code { (address) } " " }
                    }
                }
                @if f.peers.is_empty() {
                    p #no-peers { (ctx.t(
                        "Aucun pair connecté pour l'instant : le nœud réessaie ses pairs de démarrage et ceux qu'il connaît, de plus en plus espacés.",
                        "No peer connected yet: the node keeps retrying its bootstrap peers and the ones it knows, less and less often.",
                    )) }
                } @else {
                    div.table-scroll tabindex="0" role="region" aria-label=(ctx.t("Pairs connectés", "Connected peers")) {
                        table.data #peer-table {
                            thead { tr {
                                th scope="col" { (ctx.t("Hub", "Hub")) }
                                th scope="col" { (ctx.t("Adresse", "Address")) }
                                th scope="col" { (ctx.t("Latence", "Latency")) }
                                th scope="col" { (ctx.t("Dernière synchronisation", "Last sync")) }
                            } }
                            tbody {
                                @for peer in &f.peers {
                                    tr.peer {
                                        td {
                                            @match peer.hub.as_deref().and_then(|h| HubId::parse_lenient(h).ok()) {
                                                Some(hub) => (view::hub_link(ctx, &f.names, &hub)),
                                                None => code { (view::abbreviated(&peer.peer_id)) },
                                            }
                                        }
                                        td { @if let Some(address) = peer.addresses.first() { code { (address) } } }
                                        td { @if let Some(ms) = peer.latency_ms { (format!("{ms:.1} ms")) } @else { "—" } }
                                        td { @match &peer.last_sync {
                                            Some(summary) => (sync_line(ctx, summary)),
                                            None => (ctx.t("pas encore", "not yet")),
                                        } }
                                    }
                                }
                            }
                        }
                    }
                    p.muted { (grouped(lang, f.peers.len() as u64)) " " (ctx.t("pair(s) connecté(s)", "connected peer(s)")) }
                }
            }
        }
        @if !bootstrap.is_empty() {
            p { (ctx.t("Pairs de démarrage configurés :", "Configured bootstrap peers:")) }
            ul.plain { @for peer in bootstrap { li { code { (peer.to_string()) } } } }
        }
    }
}

/// The catalogue's fingerprint and the last synchronisation.
fn sync(ctx: &Ctx, federation: Option<&Federation>) -> Markup {
    let lang = ctx.lang;
    html! {
        @if let Some(f) = federation {
            p { (ctx.t(
                "Deux nœuds qui ont la même empreinte ont exactement les mêmes versions courantes des enregistrements. À chaque connexion, puis régulièrement, ils comparent leurs ensembles et échangent seulement ce qui manque.",
                "Two nodes with the same fingerprint hold exactly the same current versions of the records. On every connection, then regularly, they compare their sets and exchange only what is missing.",
            )) }
            dl.facts {
                dt { (ctx.t("Empreinte des têtes", "Head-set digest")) }
                dd { code #digest title=(f.status.digest) { (view::abbreviated(&f.status.digest)) } }
                dt { (ctx.t("Enregistrements courants", "Current records")) }
                dd { (grouped(lang, f.status.heads as u64)) }
                dt { (ctx.t("Synchronisations depuis le démarrage", "Syncs since start-up")) }
                dd { (grouped(lang, f.status.syncs)) }
                dt { (ctx.t("La dernière", "The last one")) }
                dd #last-sync { @match &f.status.last_sync {
                    Some(summary) => (sync_line(ctx, summary)),
                    None => (ctx.t("pas encore", "not yet")),
                } }
                dt { (ctx.t("Joignable depuis l'extérieur", "Reachable from outside")) }
                dd #reachability { (match f.status.reachability.as_str() {
                    "public" => ctx.t("oui", "yes"),
                    "private" => ctx.t("non (derrière un NAT ou un pare-feu)", "no (behind NAT or a firewall)"),
                    _ => ctx.t("pas encore établi", "not established yet"),
                }) }
                @if !f.status.relays.is_empty() {
                    dt { (ctx.t("Relais", "Relays")) }
                    dd #relays { ul.plain { @for relay in &f.status.relays {
                        li {
                            code { (relay.address) } " — "
                            @if relay.reserved {
                                (ctx.t("place réservée : les hubs joignent ce nœud par ce relais", "slot reserved: hubs reach this node through this relay"))
                            } @else {
                                (ctx.t("réservation en cours", "reserving"))
                            }
                        }
                    } } }
                }
            }
        }
    }
}

/// One synchronisation in words.
fn sync_line(ctx: &Ctx, s: &SyncSummary) -> Markup {
    let lang = ctx.lang;
    html! {
        (view::datetime(ctx, s.at)) " — "
        @if s.ok {
            span.status.status-valid { (ctx.t("réussie", "succeeded")) }
            " · " (grouped(lang, s.fetched)) (ctx.t(" reçus, ", " received, "))
            (grouped(lang, s.pushed)) (ctx.t(" envoyés, ", " sent, "))
            (grouped(lang, s.bytes_sent + s.bytes_received)) (ctx.t(" octets", " bytes"))
        } @else {
            span.status.status-expired { (ctx.t("échouée", "failed")) }
            @if let Some(error) = &s.error { " : " (error) }
        }
    }
}
