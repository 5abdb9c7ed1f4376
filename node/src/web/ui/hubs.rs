//! The hubs (`/hubs`) and each hub's page (`/hubs/{hub}`): who publishes in
//! the catalogue, where they work, what they published and what they vouch
//! for — the page a visitor reads to decide whom to trust.

use std::collections::HashMap;

use essaim_protocol::record::{Hub, Subject};
use essaim_protocol::{Address, Body, HubId, Kind};
use maud::{Markup, html};
use warp::http::StatusCode;
use warp::reply::Response;

use super::initiative::view::{self, Validity, date, hub_link, pick};
use super::{Ctx, Nav, blocking, internal_error, markdown};
use crate::index::SearchRequest;
use crate::node::Node;
use crate::store::{StoreError, StoredRecord};
use crate::unix_now;

/// Most records of one kind read for a page (the rest is reachable through
/// the search).
const MAX_LISTED: usize = 1_000;

/// A hub in the list.
struct Row {
    id: HubId,
    profile: Hub,
    initiatives: Option<u64>,
    endorsements: u64,
}

/// `GET /hubs`.
pub(super) async fn list(node: &Node, ctx: &Ctx) -> Response {
    let worker = node.clone();
    let rows = blocking(move || load_list(&worker)).await;
    let Some(mut rows) = rows else {
        return internal_error(ctx);
    };
    rows.sort_by_key(|r| r.profile.name.to_lowercase());
    let own = node.hub_id();
    let title = ctx.t("Les hubs", "The hubs");
    let body = html! {
        h1 { (title) }
        p.lead { (ctx.t(
            "Un hub est une organisation — ruche, incubateur, réseau, financeur, collectivité — qui publie des initiatives et signe des soutiens. Chaque hub a sa propre clé : personne d'autre ne peut écrire en son nom.",
            "A hub is an organisation — a hive, an incubator, a network, a funder, a local authority — that publishes initiatives and signs endorsements. Each hub has its own key: nobody else can write in its name.",
        )) }
        p #hub-count { (ctx.t("Ce nœud connaît ", "This node knows ")) strong { (rows.len()) } (ctx.t(" hubs.", " hubs.")) }
        ul.hubs {
            @for row in &rows {
                li.hub {
                    span.hub-kind { (row.profile.hub_kind.label(ctx.lang)) }
                    h2 { a href=(view::hub_path(&row.id)) { (row.profile.name) } }
                    @if row.id == own {
                        p { span.chip { (ctx.t("le hub de ce nœud", "this node's hub")) } }
                    }
                    @if !row.profile.territories.is_empty() {
                        p.hub-territories {
                            @for (i, t) in row.profile.territories.iter().enumerate() {
                                @if i > 0 { ", " }
                                (t.name())
                            }
                        }
                    }
                    p.counts {
                        @if let Some(n) = row.initiatives {
                            (count(ctx, n, ("initiative publiée", "initiatives publiées"), ("initiative published", "initiatives published")))
                            " · "
                        }
                        (count(ctx, row.endorsements, ("soutien signé", "soutiens signés"), ("endorsement signed", "endorsements signed")))
                    }
                }
            }
        }
    };
    ctx.page(StatusCode::OK, title, Nav::Hubs, body)
}

/// `3 initiatives publiées`, with the singular for 0 and 1 in French.
fn count(ctx: &Ctx, n: u64, fr: (&str, &str), en: (&str, &str)) -> String {
    let (one, many) = match ctx.lang {
        essaim_protocol::vocab::Lang::Fr => (n <= 1, fr),
        essaim_protocol::vocab::Lang::En => (n == 1, en),
    };
    format!("{n} {}", if one { many.0 } else { many.1 })
}

fn load_list(node: &Node) -> Result<Vec<Row>, String> {
    let store = node.store();
    let heads = store
        .heads_of_kind(Kind::Hub, None, 0, u64::MAX, 10_000)
        .map_err(|e| e.to_string())?;
    let endorsements = store
        .heads_of_kind(Kind::Endorsement, None, 0, u64::MAX, 100_000)
        .map_err(|e| e.to_string())?;
    let mut issued: HashMap<HubId, u64> = HashMap::new();
    for (_, e) in view::endorsements(&endorsements) {
        *issued.entry(e.author).or_default() += 1;
    }
    // Initiatives per hub: the index's hub facet (the top values only).
    let facets = node
        .index()
        .search(&SearchRequest {
            limit: 0,
            ..SearchRequest::default()
        })
        .map_err(|e| e.to_string())?
        .facets
        .hub;
    let complete = facets.len() < 100;
    let initiatives: HashMap<String, u64> =
        facets.into_iter().map(|f| (f.value, f.count)).collect();
    Ok(heads
        .into_iter()
        .filter_map(|head| match head.record.body() {
            Body::Hub(profile) => {
                let id = profile.author;
                let initiatives = initiatives
                    .get(&id.to_string())
                    .copied()
                    .or(complete.then_some(0));
                Some(Row {
                    id,
                    profile: profile.clone(),
                    initiatives,
                    endorsements: issued.get(&id).copied().unwrap_or(0),
                })
            }
            _ => None,
        })
        .collect())
}

/// What a hub's page shows.
struct HubPage {
    /// Funding statements about each of its initiatives (valid ones), and
    /// what the initiatives seek.
    funding_received: Vec<essaim_protocol::record::Endorsement>,
    funding_sought: u64,
    profile: Option<StoredRecord>,
    initiatives: Vec<StoredRecord>,
    issued: Vec<StoredRecord>,
    received: Vec<StoredRecord>,
    names: HashMap<HubId, String>,
    subjects: HashMap<Address, String>,
}

fn load_hub(node: &Node, hub: HubId) -> Result<HubPage, StoreError> {
    let store = node.store();
    let profile = match view::profile_address(hub) {
        Some(address) => store.head(&address)?,
        None => None,
    };
    let initiatives = store.heads_of_kind(Kind::Initiative, Some(&hub), 0, u64::MAX, MAX_LISTED)?;
    let issued = store.heads_of_kind(Kind::Endorsement, Some(&hub), 0, u64::MAX, MAX_LISTED)?;
    let received = store.endorsements_of(&hub.to_string())?;
    let mut hubs = vec![hub];
    let mut subjects = HashMap::new();
    for (_, e) in view::endorsements(&issued) {
        match &e.subject {
            Subject::Hub(other) => hubs.push(*other),
            Subject::Initiative(address) => {
                hubs.push(address.author);
                if !subjects.contains_key(address)
                    && let Some(head) = store.head(address)?
                    && let Body::Initiative(i) = head.record.body()
                {
                    subjects.insert(address.clone(), i.name.clone());
                }
            }
        }
    }
    hubs.extend(view::endorsements(&received).iter().map(|(_, e)| e.author));
    let now = unix_now();
    let mut funding_received = Vec::new();
    let mut funding_sought = 0u64;
    for head in &initiatives {
        if let Body::Initiative(i) = head.record.body() {
            funding_sought = funding_sought
                .saturating_add(i.needs.as_ref().and_then(|n| n.funding_cents).unwrap_or(0));
            for stored in store.endorsements_of(&head.record.address().to_string())? {
                if let Body::Endorsement(e) = stored.record.body()
                    && e.endorsement == essaim_protocol::vocab::EndorsementType::Funding
                    && Validity::of(e, now) == Validity::Valid
                {
                    hubs.push(e.author);
                    funding_received.push(e.clone());
                }
            }
        }
    }
    let names = view::hub_names(store, hubs)?;
    Ok(HubPage {
        funding_received,
        funding_sought,
        profile,
        initiatives,
        issued,
        received,
        names,
        subjects,
    })
}

/// `GET /hubs/{hub}`.
pub(super) async fn page(node: &Node, ctx: &Ctx, hub: &str) -> Response {
    let Ok(id) = HubId::parse_lenient(hub) else {
        return ctx.error_page(
            StatusCode::BAD_REQUEST,
            ctx.t(
                "Cette adresse ne contient pas un identifiant de hub valide (il commence par z6Mk).",
                "This address does not hold a valid hub id (it starts with z6Mk).",
            ),
        );
    };
    let worker = node.clone();
    let loaded = blocking(move || load_hub(&worker, id).map_err(|e| e.to_string())).await;
    let Some(loaded) = loaded else {
        return internal_error(ctx);
    };
    let profile = loaded.profile.as_ref().map(|p| p.record.body());
    if profile.is_none() && loaded.initiatives.is_empty() && loaded.issued.is_empty() {
        return ctx.error_page(
            StatusCode::NOT_FOUND,
            ctx.t(
                "Ce nœud ne connaît pas ce hub : il n'en a reçu aucun enregistrement.",
                "This node does not know this hub: it has received no record of it.",
            ),
        );
    }
    let (status, title) = match profile {
        Some(Body::Hub(p)) => (StatusCode::OK, p.name.clone()),
        Some(Body::Retraction(_)) => (
            StatusCode::GONE,
            ctx.t("Hub retiré", "Withdrawn hub").to_owned(),
        ),
        _ => (
            StatusCode::OK,
            format!("{} {}", ctx.t("Hub", "Hub"), view::abbreviated(&id.short())),
        ),
    };
    let body = render(node, ctx, id, &title, &loaded);
    ctx.page(status, &title, Nav::Hubs, body)
}

fn render(node: &Node, ctx: &Ctx, id: HubId, title: &str, loaded: &HubPage) -> Markup {
    let now = unix_now();
    let profile = loaded.profile.as_ref().and_then(|p| match p.record.body() {
        Body::Hub(hub) => Some((p, hub)),
        _ => None,
    });
    let retracted = loaded
        .profile
        .as_ref()
        .is_some_and(|p| matches!(p.record.body(), Body::Retraction(_)));
    let initiatives: Vec<_> = loaded
        .initiatives
        .iter()
        .filter_map(|h| match h.record.body() {
            Body::Initiative(i) => Some(i),
            _ => None,
        })
        .collect();
    let issued = view::endorsements(&loaded.issued);
    let received = view::endorsements(&loaded.received);
    html! {
        article.hub-page {
            header.record-head {
                p.kicker {
                    @if let Some((_, hub)) = profile { span.hub-kind { (hub.hub_kind.label(ctx.lang)) } }
                    @else { (ctx.t("Hub", "Hub")) }
                    @if id == node.hub_id() { " " span.chip { (ctx.t("le hub de ce nœud", "this node's hub")) } }
                }
                h1 { (title) }
                @if retracted {
                    p.notice role="status" { (ctx.t("Ce hub a retiré son profil.", "This hub has withdrawn its profile.")) }
                }
                @if profile.is_none() && !retracted {
                    p.notice { (ctx.t("Ce nœud n'a pas reçu le profil de ce hub, seulement certains de ses enregistrements.", "This node has not received this hub's profile, only some of its records.")) }
                }
            }
            div.record-layout {
                div.record-main {
                    @if let Some((_, hub)) = profile {
                        @if let Some((lang, text)) = pick(ctx, &hub.description) {
                            section #about aria-labelledby="h-about" {
                                h2 #h-about { (ctx.t("Présentation", "About")) }
                                div.prose lang=[view::lang_attr(ctx, lang)] { (markdown::render(text)) }
                            }
                        }
                    }
                    section #published aria-labelledby="h-published" {
                        h2 #h-published { (ctx.t("Initiatives publiées", "Published initiatives")) " (" (initiatives.len()) ")" }
                        @if initiatives.is_empty() {
                            p.muted { (ctx.t("Ce hub n'a publié aucune initiative que ce nœud connaisse.", "This hub has published no initiative this node knows of.")) }
                        } @else {
                            ul.initiative-list {
                                @for i in &initiatives {
                                    li {
                                        a href=(format!("/i/{}/{}", id.short(), i.slug)) { strong { (i.name) } }
                                        " " span.chip { (i.stage.label(ctx.lang)) }
                                        @if let Some((lang, summary)) = pick(ctx, &i.summary) {
                                            p lang=[view::lang_attr(ctx, lang)] { (short(summary, 220)) }
                                        }
                                    }
                                }
                            }
                            @if initiatives.len() >= MAX_LISTED {
                                p.notice { (ctx.t("Seules les premières sont listées ici ; la recherche les montre toutes.", "Only the first ones are listed here; the search shows them all.")) }
                            }
                            p { a href=(format!("/?hub={}", id.short())) { (ctx.t("Ses initiatives dans la recherche", "Its initiatives in the search")) } }
                        }
                    }
                    section #vouches aria-labelledby="h-vouches" {
                        h2 #h-vouches { (ctx.t("Ce qu'il soutient", "What it vouches for")) " (" (issued.len()) ")" }
                        @if issued.is_empty() {
                            p.muted { (ctx.t("Ce hub n'a signé aucun soutien.", "This hub has signed no endorsement.")) }
                        } @else {
                            ul.endorsements {
                                @for (_, e) in &issued {
                                    @let validity = Validity::of(e, now);
                                    li.endorsement data-status=(validity.code()) data-type=(e.endorsement.code()) {
                                        p.subject {
                                            strong { (view::subject_link(ctx, &loaded.names, &loaded.subjects, &e.subject)) }
                                        }
                                        p.statement { (view::endorsement_statement(ctx, e)) }
                                        p.meta {
                                            (date(ctx, e.created))
                                            @if let Some(until) = e.valid_until { (ctx.t(", jusqu'au ", ", until ")) (date(ctx, until)) }
                                            " · " span class=(format!("status status-{}", validity.code())) { (validity.label(ctx)) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    @let funds: Vec<&essaim_protocol::record::Endorsement> = issued
                        .iter()
                        .filter(|(_, e)| e.endorsement == essaim_protocol::vocab::EndorsementType::Funding && Validity::of(e, now) == Validity::Valid)
                        .map(|(_, e)| *e)
                        .collect();
                    @if !funds.is_empty() {
                        section #funds aria-labelledby="h-funds" {
                            h2 #h-funds { (ctx.t("Ce qu'il finance", "What it funds")) }
                            ul.funded-list {
                                @for e in &funds {
                                    li {
                                        strong { (view::subject_link(ctx, &loaded.names, &loaded.subjects, &e.subject)) }
                                        " — " (view::euros(ctx.lang, e.amount_cents.unwrap_or(0)))
                                        @if let Some(p) = &e.programme { ", « " (p) " »" }
                                        @if let Some(t) = &e.territory { ", " (view::territory(ctx, t)) }
                                    }
                                }
                            }
                            (super::endorse::funding_table(ctx, &funds, None))
                        }
                    }
                    @if !loaded.funding_received.is_empty() || loaded.funding_sought > 0 {
                        section #initiatives-funding aria-labelledby="h-initiatives-funding" {
                            h2 #h-initiatives-funding { (ctx.t("Besoins et financements de ses initiatives", "Needs and funding of its initiatives")) }
                            @let received: Vec<&essaim_protocol::record::Endorsement> = loaded.funding_received.iter().collect();
                            (super::endorse::funding_table(ctx, &received, (loaded.funding_sought > 0).then_some(loaded.funding_sought)))
                        }
                    }
                    @if !received.is_empty() {
                        section #vouched-for aria-labelledby="h-vouched-for" {
                            h2 #h-vouched-for { (ctx.t("Ceux qui le soutiennent", "Who vouches for it")) " (" (received.len()) ")" }
                            ul.endorsements {
                                @for (_, e) in &received {
                                    @let validity = Validity::of(e, now);
                                    li.endorsement data-status=(validity.code()) data-type=(e.endorsement.code()) {
                                        p.statement { (view::endorsement_statement(ctx, e)) }
                                        p.meta {
                                            (ctx.t("Signé par ", "Signed by ")) (hub_link(ctx, &loaded.names, &e.author))
                                            ", " (date(ctx, e.created))
                                            " · " span class=(format!("status status-{}", validity.code())) { (validity.label(ctx)) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                aside.record-side aria-label=(ctx.t("Profil du hub", "Hub profile")) {
                    section #profile aria-labelledby="h-profile" {
                        h2 #h-profile { (ctx.t("Profil", "Profile")) }
                        dl.facts {
                            @if let Some((_, hub)) = profile {
                                dt { (ctx.t("Type", "Kind")) }
                                dd { (hub.hub_kind.label(ctx.lang)) }
                                dt { (ctx.t("Territoires", "Territories")) }
                                dd {
                                    @if hub.territories.is_empty() { (ctx.t("non précisés", "not given")) }
                                    @else { ul.plain { @for t in &hub.territories { li { (view::territory(ctx, t)) } } } }
                                }
                                @if let Some(website) = &hub.website {
                                    dt { (ctx.t("Site web", "Website")) }
                                    dd { a href=(website.as_str()) { (website) } }
                                }
                                @if let Some(contact) = &hub.contact {
                                    dt { (ctx.t("Contact", "Contact")) }
                                    dd {
                                        @if let Some(name) = &contact.name { (name) br; }
                                        @if let Some(email) = &contact.email { a href=(super::mailto_href(email.as_str())) { (email) } br; }
                                        @if let Some(url) = &contact.url { a href=(url.as_str()) { (ctx.t("Page de contact", "Contact page")) } }
                                    }
                                }
                                @if let Some(endpoints) = &hub.endpoints {
                                    dt { (ctx.t("Son nœud", "Its node")) }
                                    dd #endpoints {
                                        @if let Some(http) = &endpoints.http { a href=(http.as_str()) { (http) } br; }
                                        @for m in &endpoints.multiaddrs { code.multiaddr { (m) } br; }
                                    }
                                }
                            }
                            dt { (ctx.t("Identifiant", "Id")) }
                            dd { code.hub-id { (id.to_string()) } }
                            @if let Some((record, hub)) = profile {
                                dt { (ctx.t("Profil signé le", "Profile signed on")) }
                                dd { (date(ctx, hub.created)) " · " span.verified { (ctx.t("signature vérifiée", "signature verified")) } }
                                dt { (ctx.t("Reçu de", "Received from")) }
                                dd { (view::source_text(ctx, &record.source)) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// At most `max` characters, cut on a word with `…`.
fn short(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let cut: String = text.chars().take(max).collect();
    let cut = cut.rsplit_once(' ').map_or(cut.as_str(), |(a, _)| a);
    format!("{}…", cut.trim_end_matches([',', ';', '.', ' ']))
}
