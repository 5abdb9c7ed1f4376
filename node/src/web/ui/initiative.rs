//! An initiative's page (`/i/{hub}/{slug}`): every field of the record in
//! readable form, who vouches for it, and where the record came from.
//!
//! Everything on it comes from signed records of possibly hostile hubs: the
//! texts reach the page through maud's escaping, the description through the
//! sanitising Markdown renderer, URLs only when they are `http(s)` (the
//! protocol refuses any other in `WebUrl` fields), and the JSON-LD with
//! `<`, `>` and `&` escaped so that no text can close its `<script>`.

mod mirrors;
pub(crate) mod view;

use std::collections::HashMap;

use essaim_protocol::record::{Initiative, Repository, Slug};
use essaim_protocol::vocab::{EndorsementType, ReplicationModel, Stage};
use essaim_protocol::{Address, Body, HubId, Kind, Territory};
use maud::{Markup, PreEscaped, html};
use serde_json::{Value, json};
use warp::http::StatusCode;
use warp::reply::Response;

use super::{Ctx, Nav, blocking, internal_error, markdown};
use crate::node::Node;
use crate::store::StoredRecord;
use crate::unix_now;
use view::{Validity, date, datetime, euros, hub_link, number, pick};

/// What the page needs from the store.
struct Loaded {
    head: StoredRecord,
    history: Vec<StoredRecord>,
    endorsements: Vec<StoredRecord>,
    /// Names of the author and of every endorsement's issuer.
    names: HashMap<HubId, String>,
    /// This node's mirrors of the repositories, and the other hubs serving them.
    mirrors: mirrors::Mirrors,
}

/// `GET /i/{hub}/{slug}`.
pub(super) async fn page(node: &Node, ctx: &Ctx, hub: &str, slug: &str) -> Response {
    let Ok(author) = HubId::parse_lenient(hub) else {
        return ctx.error_page(
            StatusCode::BAD_REQUEST,
            ctx.t(
                "Cette adresse ne contient pas un identifiant de hub valide (il commence par z6Mk).",
                "This address does not hold a valid hub id (it starts with z6Mk).",
            ),
        );
    };
    let not_found = || {
        ctx.error_page(
            StatusCode::NOT_FOUND,
            ctx.t(
                "Ce nœud ne connaît pas d'initiative à cette adresse. Elle n'existe pas, ou ce nœud ne l'a pas encore reçue.",
                "This node knows no initiative at this address. It does not exist, or this node has not received it yet.",
            ),
        )
    };
    let Ok(slug) = slug.parse::<Slug>() else {
        return not_found();
    };
    let address = Address {
        author,
        kind: Kind::Initiative,
        slug,
    };
    let worker = node.clone();
    let wanted = address.clone();
    let loaded = blocking(move || load(&worker, &wanted).map_err(|e| e.to_string())).await;
    let Some(loaded) = loaded else {
        return internal_error(ctx);
    };
    let Some(loaded) = loaded else {
        return not_found();
    };
    match loaded.head.record.body() {
        Body::Initiative(initiative) => {
            let body = render(node, ctx, &address, initiative, &loaded);
            ctx.page(StatusCode::OK, &initiative.name, Nav::Search, body)
        }
        Body::Retraction(retraction) => {
            let name = loaded
                .history
                .iter()
                .rev()
                .find_map(|h| match h.record.body() {
                    Body::Initiative(i) => Some(i.name.clone()),
                    _ => None,
                })
                .unwrap_or_else(|| address.slug.to_string());
            let body = html! {
                h1 { (name) }
                p.notice role="status" #retracted {
                    (ctx.t("Cette initiative a été retirée par son hub, ", "This initiative was withdrawn by its hub, "))
                    (hub_link(ctx, &loaded.names, &address.author))
                    (ctx.t(", le ", ", on "))
                    (date(ctx, retraction.created)) "."
                }
                @if let Some(reason) = &retraction.reason {
                    p { (ctx.t("Raison donnée : ", "Reason given: ")) q { (reason) } }
                }
                p { a href="/" { (ctx.t("Chercher d'autres initiatives", "Search for other initiatives")) } }
                (provenance(ctx, &address, &loaded))
            };
            ctx.page(StatusCode::GONE, &name, Nav::Search, body)
        }
        _ => not_found(),
    }
}

fn load(node: &Node, address: &Address) -> Result<Option<Loaded>, crate::store::StoreError> {
    let store = node.store();
    let Some(head) = store.head(address)? else {
        return Ok(None);
    };
    let history = store.history(address)?;
    let endorsements = store.endorsements_of(&address.to_string())?;
    let hubs = std::iter::once(address.author).chain(
        endorsements
            .iter()
            .map(|e| *e.record.body().author())
            .collect::<Vec<_>>(),
    );
    let names = view::hub_names(store, hubs)?;
    let mirrors = mirrors::load(node, &head)?;
    Ok(Some(Loaded {
        mirrors,
        head,
        history,
        endorsements,
        names,
    }))
}

/// The stage in words: what it means for the initiative.
fn stage_explained(ctx: &Ctx, stage: Stage) -> &'static str {
    match stage {
        Stage::Emergence => ctx.t(
            "L'idée prend forme : l'équipe se constitue et teste ses premières hypothèses.",
            "The idea is taking shape: the team is forming and testing its first assumptions.",
        ),
        Stage::Experimentation => ctx.t(
            "Une première version fonctionne à petite échelle, sur un territoire pilote.",
            "A first version runs at small scale, on a pilot territory.",
        ),
        Stage::Evaluation => ctx.t(
            "L'initiative mesure ses résultats et son impact pour savoir ce qui marche.",
            "The initiative is measuring its results and impact to learn what works.",
        ),
        Stage::Consolidation => ctx.t(
            "Le modèle a fait ses preuves et se stabilise : financement, équipe, organisation.",
            "The model has proven itself and is settling: funding, team, organisation.",
        ),
        Stage::Essaimage => ctx.t(
            "L'initiative se reproduit déjà sur d'autres territoires.",
            "The initiative is already being replicated in other territories.",
        ),
    }
}

/// The replication model in words.
fn model_explained(ctx: &Ctx, model: ReplicationModel) -> &'static str {
    match model {
        ReplicationModel::Souple => ctx.t(
            "D'autres reprennent librement la démarche et les outils, avec l'appui de l'équipe d'origine.",
            "Others freely take up the approach and the tools, with support from the original team.",
        ),
        ReplicationModel::Franchise => ctx.t(
            "Des structures indépendantes reproduisent le modèle sous une marque commune, avec un contrat et un accompagnement.",
            "Independent organisations replicate the model under a shared brand, with a contract and support.",
        ),
        ReplicationModel::Centralisee => ctx.t(
            "La structure d'origine ouvre elle-même de nouvelles antennes.",
            "The original organisation opens new branches itself.",
        ),
        ReplicationModel::Dissemination => ctx.t(
            "Le savoir-faire est documenté et diffusé ; chacun l'adapte, sans lien formel.",
            "The know-how is documented and shared; anyone adapts it, with no formal tie.",
        ),
    }
}

/// The 17 UN Sustainable Development Goals, French and English.
pub(crate) const SDGS: [(&str, &str); 17] = [
    ("Pas de pauvreté", "No poverty"),
    ("Faim « zéro »", "Zero hunger"),
    ("Bonne santé et bien-être", "Good health and well-being"),
    ("Éducation de qualité", "Quality education"),
    ("Égalité entre les sexes", "Gender equality"),
    ("Eau propre et assainissement", "Clean water and sanitation"),
    (
        "Énergie propre et d'un coût abordable",
        "Affordable and clean energy",
    ),
    (
        "Travail décent et croissance économique",
        "Decent work and economic growth",
    ),
    (
        "Industrie, innovation et infrastructure",
        "Industry, innovation and infrastructure",
    ),
    ("Inégalités réduites", "Reduced inequalities"),
    (
        "Villes et communautés durables",
        "Sustainable cities and communities",
    ),
    (
        "Consommation et production responsables",
        "Responsible consumption and production",
    ),
    (
        "Mesures relatives à la lutte contre les changements climatiques",
        "Climate action",
    ),
    ("Vie aquatique", "Life below water"),
    ("Vie terrestre", "Life on land"),
    (
        "Paix, justice et institutions efficaces",
        "Peace, justice and strong institutions",
    ),
    (
        "Partenariats pour la réalisation des objectifs",
        "Partnerships for the goals",
    ),
];

/// The clone command for a repository, through this node's mirror.
pub(crate) fn clone_command(ctx: &Ctx, address: &Address, repo: &Repository) -> String {
    format!(
        "git clone {}/git/{}/{}/{}.git",
        ctx.base_url,
        address.author.short(),
        address.slug,
        repo.name
    )
}

fn render(
    node: &Node,
    ctx: &Ctx,
    address: &Address,
    initiative: &Initiative,
    loaded: &Loaded,
) -> Markup {
    let now = unix_now();
    let endorsements = view::endorsements(&loaded.endorsements);
    let labels: Vec<_> = endorsements
        .iter()
        .filter(|(_, e)| {
            e.endorsement == EndorsementType::Label && Validity::of(e, now) == Validity::Valid
        })
        .collect();
    let replications: Vec<(&HubId, &Territory)> = endorsements
        .iter()
        .filter(|(_, e)| {
            e.endorsement == EndorsementType::Replication && Validity::of(e, now) == Validity::Valid
        })
        .filter_map(|(_, e)| e.territory.as_ref().map(|t| (&e.author, t)))
        .collect();
    let summary = pick(ctx, &initiative.summary);
    let description = pick(ctx, &initiative.description);
    let own = address.author == node.hub_id() && ctx.is_operator();
    let fundings: Vec<&essaim_protocol::record::Endorsement> = endorsements
        .iter()
        .filter(|(_, e)| {
            e.endorsement == EndorsementType::Funding && Validity::of(e, now) == Validity::Valid
        })
        .map(|(_, e)| *e)
        .collect();
    let mut timeline: Vec<_> = endorsements
        .iter()
        .filter(|(_, e)| {
            e.endorsement == EndorsementType::Replication && Validity::of(e, now) == Validity::Valid
        })
        .map(|(_, e)| *e)
        .collect();
    timeline.sort_by_key(|e| e.created);
    let born = loaded
        .history
        .first()
        .map_or(initiative.created, |h| h.record.body().created());
    let map_territories: Vec<&Territory> = std::iter::once(&initiative.origin)
        .chain(&initiative.territories)
        .chain(replications.iter().map(|(_, t)| *t))
        .collect();
    html! {
        @if ctx.param("published") == Some("1") {
            div #flash .flash role="status" {
                strong { (ctx.t("Publiée.", "Published.")) }
                " "
                (ctx.t(
                    "L'initiative est signée par votre hub, enregistrée et indexée ; les nœuds qui suivent ce hub la recevront.",
                    "The initiative is signed by your hub, stored and indexed; the nodes that follow this hub will receive it.",
                ))
            }
        }
        article.initiative {
            header.record-head {
                p.kicker {
                    (ctx.t("Initiative publiée par ", "Initiative published by "))
                    (hub_link(ctx, &loaded.names, &address.author))
                }
                h1 { (initiative.name) }
                @if let Some((lang, text)) = summary {
                    p.lead lang=[view::lang_attr(ctx, lang)] { (text) }
                }
                ul.key-facts aria-label=(ctx.t("En bref", "At a glance")) {
                    li {
                        span.fact-name { (ctx.t("Où", "Where")) }
                        a href="#territories" {
                            (initiative.origin.name())
                            @let others = initiative.territories.iter().filter(|t| **t != initiative.origin).count() + replications.len();
                            @if others > 0 {
                                (match (ctx.lang, others) {
                                    (essaim_protocol::vocab::Lang::Fr, 1) => " et 1 autre territoire".to_owned(),
                                    (essaim_protocol::vocab::Lang::Fr, n) => format!(" et {n} autres territoires"),
                                    (essaim_protocol::vocab::Lang::En, 1) => " and 1 other territory".to_owned(),
                                    (essaim_protocol::vocab::Lang::En, n) => format!(" and {n} other territories"),
                                })
                            }
                        }
                    }
                    li {
                        span.fact-name { (ctx.t("Stade", "Stage")) }
                        a href="#stage" { (initiative.stage.label(ctx.lang)) }
                    }
                    li {
                        span.fact-name { (ctx.t("Soutiens", "Endorsements")) }
                        a href="#endorsements" {
                            (endorsements.len())
                            @if !labels.is_empty() {
                                (ctx.t(" dont ", " (")) (labels.len()) " " (if labels.len() == 1 { ctx.t("label", "label") } else { ctx.t("labels", "labels") })
                                (ctx.t("", ")"))
                            }
                        }
                    }
                    li {
                        span.fact-name { (ctx.t("Code", "Code")) }
                        a href="#repositories" {
                            @if initiative.repositories.is_empty() { (ctx.t("aucun dépôt", "no repository")) }
                            @else {
                                (initiative.repositories.len()) " " (if initiative.repositories.len() == 1 { ctx.t("dépôt libre", "open repository") } else { ctx.t("dépôts libres", "open repositories") })
                            }
                        }
                    }
                }
                ul.chips aria-label=(ctx.t("Thèmes", "Themes")) {
                    @for theme in &initiative.themes {
                        li { a.chip.theme href=(format!("/?theme={}", theme.code())) { (theme.label(ctx.lang)) } }
                    }
                }
                @if !labels.is_empty() {
                    p.head-labels {
                        @for (_, e) in &labels {
                            @if let Some(label) = &e.label {
                                span.badge-label { (view::label_name(ctx, label)) } " "
                            }
                        }
                    }
                }
                @if own {
                    p { a.button.secondary href=(format!("/publish?edit={}", address.slug)) {
                        (ctx.t("Modifier cette initiative", "Edit this initiative"))
                    } }
                }
            }
            div.record-layout {
                div.record-main {
                    section #description aria-labelledby="h-description" {
                        h2 #h-description { (ctx.t("Description", "Description")) }
                        @match description {
                            Some((lang, text)) => div.prose lang=[view::lang_attr(ctx, lang)] { (markdown::render(text)) },
                            None => p.muted { (ctx.t("Pas de description détaillée.", "No detailed description.")) },
                        }
                        @if !initiative.audiences.is_empty() {
                            h3 { (ctx.t("Pour qui", "For whom")) }
                            ul.chips {
                                @for audience in &initiative.audiences {
                                    li { span.chip { (audience.label(ctx.lang)) } }
                                }
                            }
                        }
                        @if !initiative.sdgs.is_empty() {
                            h3 { (ctx.t("Objectifs de développement durable", "Sustainable Development Goals")) }
                            ul.sdgs {
                                @for sdg in &initiative.sdgs {
                                    @let (fr, en) = SDGS[usize::from(sdg.number()).saturating_sub(1).min(16)];
                                    li { span.sdg-number { (sdg.number()) } " " (ctx.t(fr, en)) }
                                }
                            }
                        }
                    }
                    section #stage aria-labelledby="h-stage" {
                        h2 #h-stage { (ctx.t("Stade et essaimage", "Stage and replication")) }
                        ol.stages aria-label=(ctx.t("Les stades d'une initiative", "The stages of an initiative")) {
                            @for stage in Stage::ALL {
                                @if *stage == initiative.stage {
                                    li.current aria-current="step" { (stage.label(ctx.lang)) }
                                } @else {
                                    li { (stage.label(ctx.lang)) }
                                }
                            }
                        }
                        p {
                            strong { (initiative.stage.label(ctx.lang)) } " — "
                            (stage_explained(ctx, initiative.stage))
                        }
                        @match &initiative.replication {
                            Some(replication) => {
                                p #replication {
                                    (ctx.t("Modèle d'essaimage : ", "Replication model: "))
                                    strong { (replication.model.label(ctx.lang)) } ". "
                                    (model_explained(ctx, replication.model))
                                }
                                @if let Some(kit) = &replication.kit {
                                    p { a.kit href=(kit.as_str()) { (ctx.t("Le kit d'essaimage", "The replication kit")) } }
                                }
                            }
                            None => p.muted { (ctx.t("Le modèle d'essaimage n'est pas indiqué.", "No replication model is given.")) },
                        }
                    }
                    section #territories aria-labelledby="h-territories" {
                        h2 #h-territories { (ctx.t("Où elle agit", "Where it runs")) }
                        div.territories-layout {
                            div {
                                dl.facts {
                                    dt { (ctx.t("Née à", "Born in")) }
                                    dd { (view::territory(ctx, &initiative.origin)) }
                                    dt { (ctx.t("Territoires d'action", "Territories")) }
                                    dd {
                                        @if initiative.territories.is_empty() {
                                            (ctx.t("non précisés", "not given"))
                                        } @else {
                                            ul.plain {
                                                @for t in &initiative.territories { li { (view::territory(ctx, t)) } }
                                            }
                                        }
                                    }
                                    @if !replications.is_empty() {
                                        dt { (ctx.t("Essaimée à", "Replicated in")) }
                                        dd {
                                            ul.plain {
                                                @for (by, t) in &replications {
                                                    li {
                                                        (view::territory(ctx, t)) " "
                                                        span.muted { (ctx.t("(attesté par ", "(attested by ")) (hub_link(ctx, &loaded.names, by)) ")" }
                                                    }
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                            div.mini-map-box {
                                (super::map::mini_map(ctx, &view::departement_codes(map_territories)))
                            }
                        }
                        h3 #h-timeline { (ctx.t("Chronologie de l'essaimage", "Replication timeline")) }
                        ol #timeline .timeline aria-labelledby="h-timeline" {
                            li {
                                (view::date(ctx, born)) " — " (ctx.t("publiée, née à ", "published, born in ")) (view::territory(ctx, &initiative.origin))
                            }
                            @for e in &timeline {
                                li.replication {
                                    (view::date(ctx, e.created)) " — "
                                    @if let Some(t) = &e.territory { (ctx.t("essaimée à ", "replicated in ")) (view::territory(ctx, t)) }
                                    @if let Some(carrier) = &e.carrier { (ctx.t(", portée par ", ", carried by ")) (carrier) }
                                    " " span.muted { (ctx.t("(attesté par ", "(attested by ")) (hub_link(ctx, &loaded.names, &e.author)) ")" }
                                }
                            }
                        }
                    }
                    section #impact aria-labelledby="h-impact" {
                        h2 #h-impact { (ctx.t("Impact mesuré", "Measured impact")) }
                        @if initiative.impact.is_empty() {
                            p.muted { (ctx.t("Aucun indicateur d'impact publié.", "No impact indicator published.")) }
                        } @else {
                            div.table-scroll role="region" aria-label=(ctx.t("Tableau des indicateurs d'impact", "Table of impact indicators")) tabindex="0" {
                                table.data {
                                    thead { tr {
                                        th scope="col" { (ctx.t("Indicateur", "Indicator")) }
                                        th scope="col" { (ctx.t("Valeur", "Value")) }
                                        th scope="col" { (ctx.t("Période", "Period")) }
                                    } }
                                    tbody {
                                        @for indicator in &initiative.impact {
                                            tr {
                                                th scope="row" { (indicator.name) }
                                                td.num { (number(ctx.lang, indicator.value)) " " (indicator.unit) }
                                                td { (indicator.period.as_deref().unwrap_or("—")) }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    section #needs aria-labelledby="h-needs" {
                        h2 #h-needs { (ctx.t("Ses besoins", "What it needs")) }
                        @match &initiative.needs {
                            None => p.muted { (ctx.t("Aucun besoin exprimé.", "No needs stated.")) },
                            Some(needs) => dl.facts {
                                @if let Some(cents) = needs.funding_cents {
                                    dt { (ctx.t("Financement recherché", "Funding sought")) }
                                    dd.amount { (euros(ctx.lang, cents)) }
                                }
                                @if !needs.partners.is_empty() {
                                    dt { (ctx.t("Partenaires recherchés", "Partners sought")) }
                                    dd { ul.plain { @for p in &needs.partners { li { (p) } } } }
                                }
                                @if !needs.territories.is_empty() {
                                    dt { (ctx.t("Territoires où essaimer", "Territories to replicate in")) }
                                    dd { ul.plain { @for t in &needs.territories { li { (view::territory(ctx, t)) } } } }
                                }
                            },
                        }
                    }
                    section #funding aria-labelledby="h-funding" {
                        h2 #h-funding { (ctx.t("Financements", "Funding")) }
                        (super::endorse::funding_table(ctx, &fundings, initiative.needs.as_ref().and_then(|n| n.funding_cents)))
                    }
                    section #repositories aria-labelledby="h-repositories" {
                        h2 #h-repositories { (ctx.t("Code source", "Source code")) }
                        @if initiative.repositories.is_empty() {
                            p.muted { (ctx.t("Pas de dépôt de code publié.", "No code repository published.")) }
                        } @else {
                            p { (ctx.t(
                                "Ce nœud garde une copie de chaque dépôt : vous pouvez le cloner d'ici, même si son hébergement d'origine disparaît.",
                                "This node keeps a copy of every repository: you can clone it from here, even if its original host goes away.",
                            )) }
                            ul.repositories {
                                @for repo in &initiative.repositories {
                                    li.repository {
                                        h3 { (repo.name) }
                                        p.clone-label { (ctx.t("Cloner depuis ce nœud :", "Clone from this node:")) }
                                        pre.clone { code.clone-command { (clone_command(ctx, address, repo)) } }
                                        dl.facts {
                                            dt { (ctx.t("Licence", "Licence")) }
                                            dd { code { (repo.licence) } }
                                            dt { (ctx.t("Dépôt d'origine", "Original repository")) }
                                            dd { a.origin-url href=(repo.url.as_str()) { (repo.url) } }
                                            @if let Some(commit) = &repo.commit {
                                                dt { (ctx.t("Commit garanti", "Pinned commit")) }
                                                dd { code.commit { (commit) } }
                                            }
                                            (mirrors::facts(ctx, &loaded.mirrors, repo))
                                        }
                                    }
                                }
                            }
                        }
                    }
                    section #labels aria-labelledby="h-labels" {
                        h2 #h-labels { (ctx.t("Labels", "Labels")) }
                        @if labels.is_empty() {
                            p.muted { (ctx.t("Aucun label en cours de validité.", "No label currently valid.")) }
                        } @else {
                            ul.labels {
                                @for (record, e) in &labels {
                                    li.label {
                                        span.badge-label { (view::label_name(ctx, e.label.as_deref().unwrap_or(""))) }
                                        " "
                                        span.by { (ctx.t("décerné par ", "awarded by ")) (hub_link(ctx, &loaded.names, &e.author)) }
                                        ", " (date(ctx, e.created))
                                        @if let Some(until) = e.valid_until {
                                            span.until { (ctx.t(" — valable jusqu'au ", " — valid until ")) (date(ctx, until)) }
                                        }
                                        (signed_mark(ctx, record))
                                    }
                                }
                            }
                        }
                    }
                    section #endorsements aria-labelledby="h-endorsements" {
                        h2 #h-endorsements { (ctx.t("Soutiens et attestations", "Endorsements")) }
                        @if endorsements.is_empty() {
                            p.muted { (ctx.t("Aucun hub n'a encore signé de soutien à cette initiative.", "No hub has signed an endorsement of this initiative yet.")) }
                        } @else {
                            p { (ctx.t(
                                "Chaque soutien est un enregistrement signé par le hub qui l'émet : un label, un essaimage constaté, un financement ou une recommandation.",
                                "Each endorsement is a record signed by the hub that issues it: a label, an observed replication, funding, or a recommendation.",
                            )) }
                            ul.endorsements {
                                @for (record, e) in &endorsements {
                                    @let validity = Validity::of(e, now);
                                    li.endorsement data-status=(validity.code()) data-type=(e.endorsement.code()) {
                                        p.statement { (view::endorsement_statement(ctx, e)) }
                                        p.meta {
                                            (ctx.t("Signé par ", "Signed by ")) (hub_link(ctx, &loaded.names, &e.author))
                                            ", " (date(ctx, e.created))
                                            @if let Some(until) = e.valid_until {
                                                (ctx.t(", jusqu'au ", ", until ")) (date(ctx, until))
                                            }
                                            " · "
                                            span class=(format!("status status-{}", validity.code())) { (validity.label(ctx)) }
                                            (signed_mark(ctx, record))
                                        }
                                        @if ctx.is_operator() && e.author == node.hub_id() && validity != Validity::Revoked {
                                            (super::endorse::revoke_button(ctx, &record.record.address()))
                                        }
                                    }
                                }
                            }
                        }
                    }
                    @if ctx.is_operator() { (super::endorse::form(ctx, address)) }
                }
                aside.record-side aria-label=(ctx.t("Contacts et provenance", "Contacts and provenance")) {
                    section #carrier aria-labelledby="h-carrier" {
                        h2 #h-carrier { (ctx.t("Qui la porte", "Who carries it")) }
                        @match &initiative.carrier {
                            None => p.muted { (ctx.t("Structure porteuse non indiquée.", "Carrying organisation not given.")) },
                            Some(carrier) => dl.facts {
                                dt { (ctx.t("Structure", "Organisation")) }
                                dd { (carrier.name) }
                                @if let Some(form) = carrier.legal_form {
                                    dt { (ctx.t("Forme juridique", "Legal form")) }
                                    dd { (form.label(ctx.lang)) }
                                }
                                @if let Some(siren) = &carrier.siren {
                                    dt { "SIREN" }
                                    dd { code.siren { (siren) } }
                                }
                            },
                        }
                        @if let Some(website) = &initiative.website {
                            p.website { a href=(website.as_str()) { (ctx.t("Site web", "Website")) span.visually-hidden { " " (initiative.name) } } }
                        }
                        @if !initiative.contacts.is_empty() {
                            h3 { (ctx.t("Contacts", "Contacts")) }
                            ul.contacts.plain {
                                @for contact in &initiative.contacts {
                                    li {
                                        @if let Some(name) = &contact.name { span.contact-name { (name) } br; }
                                        @if let Some(email) = &contact.email {
                                            a href=(super::mailto_href(email.as_str())) { (email) } br;
                                        }
                                        @if let Some(url) = &contact.url {
                                            a href=(url.as_str()) { (ctx.t("Page de contact", "Contact page")) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    (provenance(ctx, address, loaded))
                }
            }
        }
        (json_ld(ctx, address, initiative, &loaded.names))
    }
}

/// "Signature verified", with the record's id in a tooltip-free way (the
/// id is the proof one can check with the API).
fn signed_mark(ctx: &Ctx, record: &StoredRecord) -> Markup {
    html! {
        " · "
        span.verified title=(format!("{} {}", ctx.t("Enregistrement", "Record"), record.record.id())) {
            (ctx.t("signature vérifiée", "signature verified"))
        }
    }
}

/// Where the record comes from: its id, its author, the signature, this
/// node's copy, and the versions it knows.
fn provenance(ctx: &Ctx, address: &Address, loaded: &Loaded) -> Markup {
    let head = &loaded.head;
    html! {
        section #provenance aria-labelledby="h-provenance" {
            h2 #h-provenance { (ctx.t("Provenance", "Provenance")) }
            dl.facts {
                dt { (ctx.t("Enregistrement", "Record")) }
                dd { code.record-id { (head.record.id()) } }
                dt { (ctx.t("Hub auteur", "Author hub")) }
                dd {
                    (hub_link(ctx, &loaded.names, &address.author)) br;
                    code.hub-id { (address.author.to_string()) }
                }
                dt { (ctx.t("Signature", "Signature")) }
                dd.signature {
                    span.verified { (ctx.t("signature vérifiée", "signature verified")) }
                    " "
                    span.muted { (ctx.t(
                        "(Ed25519, par la clé du hub auteur, vérifiée par ce nœud à la réception)",
                        "(Ed25519, by the author hub's key, checked by this node on receipt)",
                    )) }
                }
                dt { (ctx.t("Reçu de", "Received from")) }
                dd #received-from { (view::source_text(ctx, &head.source)) }
                dt { (ctx.t("Reçu le", "Received on")) }
                dd { (datetime(ctx, head.received_at)) }
                dt { (ctx.t("Version", "Version")) }
                dd {
                    (ctx.t("signée le ", "signed on ")) (datetime(ctx, head.record.body().created()))
                    " " span.muted { "(seq " (head.record.body().seq()) ")" }
                }
            }
            h3 #h-history { (ctx.t("Historique des versions", "Version history")) }
            ol #history .versions reversed aria-labelledby="h-history" {
                @for version in loaded.history.iter().rev() {
                    @let body = version.record.body();
                    @let id = version.record.id().to_string();
                    li data-seq=(body.seq()) {
                        (datetime(ctx, body.created()))
                        @if body.kind() == Kind::Retraction { " " span.status.status-revoked { (ctx.t("retrait", "withdrawal")) } }
                        @if version.record.id() == head.record.id() { " " span.current { (ctx.t("(actuelle)", "(current)")) } }
                        br;
                        span.muted { "seq " (body.seq()) " · " }
                        code.version-id title=(id) { (view::abbreviated(&id)) }
                    }
                }
            }
            p.api-link {
                a href=(format!("/api/v1/initiatives/{}/{}", address.author.short(), address.slug)) {
                    (ctx.t("L'enregistrement signé, en JSON", "The signed record, as JSON"))
                }
            }
        }
    }
}

/// schema.org JSON-LD, with `<`, `>` and `&` escaped (and the line
/// separators JavaScript once refused), so that no text can end the script.
fn json_ld(
    ctx: &Ctx,
    address: &Address,
    initiative: &Initiative,
    names: &HashMap<HubId, String>,
) -> Markup {
    let url = format!("{}{}", ctx.base_url, view::initiative_path(address));
    let mut value = json!({
        "@context": "https://schema.org",
        "@type": if initiative.repositories.is_empty() { "CreativeWork" } else { "SoftwareSourceCode" },
        "@id": url,
        "name": initiative.name,
        "url": url,
        "identifier": address.to_string(),
        "dateModified": view::iso_datetime(initiative.created),
        "inLanguage": initiative.summary.keys().map(|k| k.as_str()).collect::<Vec<_>>(),
        "keywords": initiative.themes.iter().map(|t| t.label(ctx.lang)).collect::<Vec<_>>(),
        "areaServed": std::iter::once(&initiative.origin).chain(&initiative.territories)
            .map(|t| json!({"@type": "AdministrativeArea", "name": t.name(), "identifier": t.to_string()}))
            .collect::<Vec<_>>(),
    });
    if let Some((_, summary)) = pick(ctx, &initiative.summary) {
        value["description"] = json!(summary);
    }
    if let Some(name) = names.get(&address.author) {
        value["publisher"] = json!({"@type": "Organization", "name": name, "identifier": address.author.to_string()});
    }
    if let Some(carrier) = &initiative.carrier {
        value["creator"] = json!({"@type": "Organization", "name": carrier.name});
    }
    if let Some(website) = &initiative.website {
        value["sameAs"] = json!(website.as_str());
    }
    if !initiative.repositories.is_empty() {
        let repos: Vec<Value> = initiative
            .repositories
            .iter()
            .map(|r| json!(r.url.as_str()))
            .collect();
        value["codeRepository"] = if repos.len() == 1 {
            repos[0].clone()
        } else {
            Value::Array(repos)
        };
        let licences: Vec<Value> = initiative
            .repositories
            .iter()
            .map(|r| json!(licence_url(r.licence.as_str())))
            .collect();
        value["license"] = if licences.len() == 1 {
            licences[0].clone()
        } else {
            Value::Array(licences)
        };
    }
    html! {
        script type="application/ld+json" { (PreEscaped(script_safe_json(&value))) }
    }
}

/// An SPDX id's page, or the expression itself when it combines several.
fn licence_url(licence: &str) -> String {
    if licence
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-.+".contains(&b))
    {
        format!(
            "https://spdx.org/licenses/{}.html",
            licence.trim_end_matches('+')
        )
    } else {
        licence.to_owned()
    }
}

/// JSON that can sit inside a `<script>` element.
pub(crate) fn script_safe_json(value: &Value) -> String {
    let text = serde_json::to_string(value).unwrap_or_else(|_| "{}".to_owned());
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_in_a_script_cannot_close_it() {
        let out = script_safe_json(&json!({"name": "</script><script>alert(1)</script> & <!--"}));
        assert!(
            !out.contains('<') && !out.contains('>') && !out.contains('&'),
            "{out}"
        );
        let back: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(back["name"], "</script><script>alert(1)</script> & <!--");
    }

    #[test]
    fn licence_urls() {
        assert_eq!(
            licence_url("AGPL-3.0-or-later"),
            "https://spdx.org/licenses/AGPL-3.0-or-later.html"
        );
        assert_eq!(licence_url("MIT OR Apache-2.0"), "MIT OR Apache-2.0");
    }
}
