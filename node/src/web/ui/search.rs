//! The search page (`/`): the search box, results with highlighted snippets,
//! facets to combine and remove, sort, pages, and what to try when nothing
//! matches. With `partial=1` only `#results-region` is sent: the script
//! (`assets/app.js`) swaps it in as the visitor types.
//!
//! One index search per request and no store read per hit (the time budget
//! is 10 ms a keystroke): hub names come from the hits, and from one read of
//! the hubs' profiles when a facet names a hub not seen yet (at most every
//! [`HUB_NAMES_REFRESH`]).

pub(super) mod params;

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use essaim_protocol::vocab::{Stage, Theme, WELL_KNOWN_LABELS};
use essaim_protocol::{Body, Kind, Territory};
use maud::{Markup, PreEscaped, html};
use warp::http::StatusCode;
use warp::reply::Response;

use self::params::{Facet, MAX_PAGE, PER_PAGE, SearchParams};
use super::{Ctx, Lang, Nav, blocking, internal_error};
use crate::index::{FacetCount, Hit, SearchResponse, Sort, TerritoryCount, TerritoryLevel};
use crate::node::Node;

/// Facet values shown at once; the rest are behind "more".
const SHOWN_VALUES: usize = 8;
/// How often, at most, the hubs' profiles are read again for a name.
const HUB_NAMES_REFRESH: Duration = Duration::from_secs(30);

/// Hub names by hub id, learnt from hits and hub profiles.
struct HubNames {
    names: BTreeMap<String, String>,
    read_at: Option<Instant>,
}

static HUB_NAMES: Mutex<HubNames> = Mutex::new(HubNames {
    names: BTreeMap::new(),
    read_at: None,
});

/// The names of the hubs in the response (hits and hub facet), by id.
/// Runs on a blocking thread: it may read the hubs' profiles.
fn hub_names(node: &Node, response: &SearchResponse) -> HashMap<String, String> {
    let mut cache = match HUB_NAMES.lock() {
        Ok(cache) => cache,
        Err(poisoned) => poisoned.into_inner(),
    };
    for hit in &response.hits {
        if !hit.hub_name.is_empty() {
            cache.names.insert(hit.hub.clone(), hit.hub_name.clone());
        }
    }
    let missing = response
        .facets
        .hub
        .iter()
        .chain(&response.facets.labelled_by)
        .any(|h| !cache.names.contains_key(&h.value));
    if missing
        && cache
            .read_at
            .is_none_or(|at| at.elapsed() > HUB_NAMES_REFRESH)
    {
        cache.read_at = Some(Instant::now());
        match node
            .store()
            .heads_of_kind(Kind::Hub, None, 0, u64::MAX, 10_000)
        {
            Ok(heads) => {
                for head in heads {
                    if let Body::Hub(hub) = head.record.body() {
                        cache.names.insert(hub.author.to_string(), hub.name.clone());
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "hub names for the search page"),
        }
    }
    response
        .hits
        .iter()
        .map(|h| h.hub.as_str())
        .chain(response.facets.hub.iter().map(|h| h.value.as_str()))
        .chain(response.facets.labelled_by.iter().map(|h| h.value.as_str()))
        .filter_map(|id| Some((id.to_owned(), cache.names.get(id)?.clone())))
        .collect()
}

/// What one render needs beyond the context.
struct View<'a> {
    ctx: &'a Ctx,
    params: &'a SearchParams,
    response: &'a SearchResponse,
    hubs: &'a HashMap<String, String>,
}

/// A hub id shortened for people when its name is unknown.
fn short_hub(id: &str) -> String {
    let bare = id.strip_prefix("did:key:").unwrap_or(id);
    let head: String = bare.chars().take(10).collect();
    if bare.chars().count() > 10 {
        format!("{head}…")
    } else {
        head
    }
}

/// A filter's value for people, in the page's language (a hub by the
/// name last seen for it, without reading the store).
pub(super) fn value_label(lang: Lang, facet: Facet, value: &str) -> String {
    match facet {
        Facet::Theme => Theme::from_code(value).map_or(value, |t| t.label(lang)),
        Facet::Stage => Stage::from_code(value).map_or(value, |s| s.label(lang)),
        Facet::Territory => Territory::parse(value).map_or(value, |t| t.name()),
        Facet::Hub | Facet::LabelledBy => {
            let cache = match HUB_NAMES.lock() {
                Ok(cache) => cache,
                Err(poisoned) => poisoned.into_inner(),
            };
            return cache
                .names
                .get(value)
                .filter(|n| !n.is_empty())
                .cloned()
                .unwrap_or_else(|| short_hub(value));
        }
        Facet::Label => WELL_KNOWN_LABELS
            .iter()
            .find(|(fr, _)| *fr == value)
            .map_or(value, |(fr, en)| match lang {
                Lang::Fr => fr,
                Lang::En => en,
            }),
        Facet::Licence => value,
    }
    .to_owned()
}

impl View<'_> {
    fn t<'s>(&self, fr: &'s str, en: &'s str) -> &'s str {
        self.ctx.t(fr, en)
    }

    fn lang(&self) -> Lang {
        self.ctx.lang
    }

    fn hub_name(&self, id: &str) -> String {
        self.hubs
            .get(id)
            .filter(|n| !n.is_empty())
            .cloned()
            .unwrap_or_else(|| short_hub(id))
    }

    /// A facet value for people, in the page's language.
    fn value_label(&self, facet: Facet, value: &str) -> String {
        match facet {
            Facet::Hub | Facet::LabelledBy => self.hub_name(value),
            _ => value_label(self.lang(), facet, value),
        }
    }

    /// The page's title: the query, or what the catalogue is.
    fn title(&self) -> String {
        if self.params.q.is_empty() {
            self.t("Rechercher une solution", "Find a solution")
                .to_owned()
        } else {
            format!(
                "{}{}{}",
                self.t("Recherche « ", "Search for “"),
                self.params.q,
                self.t(" »", "”")
            )
        }
    }

    fn pages(&self) -> usize {
        self.response.total.div_ceil(PER_PAGE).clamp(1, MAX_PAGE)
    }

    /// `#results-region`: everything that changes with the query.
    fn region(&self) -> Markup {
        let total = self.response.total;
        html! {
            div #results-region data-title=(format!("{} — Essaim", self.title())) {
                @if !self.params.problems.is_empty() {
                    div.notice #query-problems role="status" {
                        ul {
                            @for problem in &self.params.problems {
                                li { (problem.message(self.lang())) }
                            }
                        }
                    }
                }
                @if self.params.is_browsing() {
                    (self.intro())
                }
                div.results-head {
                    p #total data-total=(total) {
                        @if self.params.is_browsing() {
                            strong { (total) } " "
                            (self.t("initiatives au catalogue, les plus récentes d'abord", "initiatives in the catalogue, newest first"))
                        } @else {
                            strong { (total) } " "
                            @match total {
                                0 => (self.t("initiative trouvée", "initiatives found")),
                                1 => (self.t("initiative trouvée", "initiative found")),
                                _ => (self.t("initiatives trouvées", "initiatives found")),
                            }
                        }
                        @if self.pages() > 1 {
                            " · " (self.t("page", "page")) " " (self.params.page) " / " (self.pages())
                        }
                    }
                    span.head-links {
                        @if total > 0 {
                            a.to-facets href="#facets" { (self.t("Affiner", "Refine")) }
                            " "
                        }
                        @if total > 0 && !self.params.is_browsing() {
                            a.on-map href=(self.params.map_href()) { (self.t("Voir sur la carte", "See on the map")) }
                        }
                    }
                }
                (self.active_filters())
                @if total > 0 && !self.response.all_words {
                    p.notice.partial-match { (self.t(
                        "Aucune initiative ne contient tous vos mots : voici celles qui en contiennent une partie.",
                        "No initiative has all your words: here are those with some of them.",
                    )) }
                }
                div.results-layout {
                    div.results-main {
                        @if total == 0 {
                            (self.no_results())
                        } @else {
                            h2.visually-hidden #results-title { (self.t("Résultats", "Results")) }
                            ol #results aria-labelledby="results-title" {
                                @for hit in &self.response.hits { (self.card(hit)) }
                            }
                            @if self.response.hits.is_empty() {
                                p.notice { (self.t("Cette page est au-delà des résultats.", "This page is past the results.")) " "
                                    a href=(self.params.with_page(1)) { (self.t("Revenir à la première page", "Back to the first page")) } }
                            }
                            (self.pagination())
                        }
                    }
                    @if total > 0 {
                        (self.facets())
                    }
                }
            }
        }
    }

    /// When nothing is asked yet: what the list below is.
    fn intro(&self) -> Markup {
        html! {
            div.intro {
                h2 { (self.t("Les dernières initiatives publiées", "The latest initiatives")) }
                p {
                    (self.t("Parcourez-les, filtrez par thème ou territoire, ou ", "Browse them, filter by theme or territory, or "))
                    a href="/map" { (self.t("cherchez sur la carte", "look on the map")) }
                    "."
                }
            }
        }
    }

    fn active_filters(&self) -> Markup {
        html! {
            div #active-filters aria-label=(self.t("Filtres appliqués", "Applied filters")) role="group" {
                @if !self.params.filters.is_empty() {
                    span.active-title { (self.t("Filtres :", "Filters:")) }
                    ul {
                        @for (facet, value) in &self.params.filters {
                            li {
                                a.active-filter href=(self.params.without_filter(*facet, value))
                                    data-facet=(facet.param()) data-value=(value) {
                                    span.visually-hidden { (self.t("Retirer le filtre ", "Remove the filter ")) }
                                    (facet.title(self.lang())) (self.t(" : ", ": ")) (self.value_label(*facet, value))
                                    span.remove aria-hidden="true" { " ×" }
                                }
                            }
                        }
                        @if self.params.filters.len() > 1 {
                            li { a.clear-filters href=(self.params.without_filters()) { (self.t("Tout retirer", "Remove all")) } }
                        }
                    }
                }
            }
        }
    }

    fn card(&self, hit: &Hit) -> Markup {
        let hub = hit.hub.strip_prefix("did:key:").unwrap_or(&hit.hub);
        let href = format!("/i/{hub}/{}", hit.slug);
        html! {
            li.result {
                h3.result-title {
                    a.result-link href=(href) { (PreEscaped(&hit.name_highlighted)) }
                }
                p.result-meta {
                    span.result-hub { (self.hub_name(&hit.hub)) }
                    @if let Some(stage) = Stage::from_code(&hit.stage) {
                        " · "
                        span.result-stage { span.visually-hidden { (self.t("Stade : ", "Stage: ")) } (stage.label(self.lang())) }
                    }
                }
                @if !hit.snippet.is_empty() {
                    p.snippet { (PreEscaped(&hit.snippet)) }
                }
                @if !hit.themes.is_empty() {
                    ul.themes aria-label=(self.t("Thèmes", "Themes")) {
                        @for theme in &hit.themes {
                            li.chip { (self.value_label(Facet::Theme, theme)) }
                        }
                    }
                }
                @if !hit.labels.is_empty() {
                    ul.result-labels aria-label=(self.t("Labels", "Labels")) {
                        @for label in &hit.labels {
                            li.badge-label { (label) }
                        }
                    }
                }
            }
        }
    }

    fn pagination(&self) -> Markup {
        let pages = self.pages();
        let page = self.params.page;
        html! {
            @if pages > 1 {
                nav.pagination aria-label=(self.t("Pages de résultats", "Result pages")) {
                    @if page > 1 {
                        a rel="prev" href=(self.params.with_page(page - 1)) { "← " (self.t("Précédente", "Previous")) }
                    }
                    span.page-of { (self.t("page", "page")) " " (page) " " (self.t("sur", "of")) " " (pages) }
                    @if page < pages {
                        a rel="next" href=(self.params.with_page(page + 1)) { (self.t("Suivante", "Next")) " →" }
                    }
                }
            }
        }
    }

    /// The empty state: what to try.
    fn no_results(&self) -> Markup {
        let words: Vec<&str> = self.params.q.split_whitespace().collect();
        html! {
            div #no-results {
                h2 { (self.t("Aucune initiative ne correspond", "No initiative matches")) }
                ul.suggestions {
                    @if !words.is_empty() {
                        li { (self.t("Vérifiez l'orthographe des mots.", "Check the spelling of the words.")) }
                    }
                    @if words.len() > 1 {
                        li {
                            (self.t("Essayez moins de mots : ", "Try fewer words: "))
                            @for (i, word) in words.iter().take(4).enumerate() {
                                @if i > 0 { ", " }
                                a href=(self.params.with_q(word)) { (self.t("« ", "“")) (word) (self.t(" »", "”")) }
                            }
                            "."
                        }
                    }
                    @if !self.params.filters.is_empty() {
                        li {
                            (self.t("Retirez un filtre : ", "Remove a filter: "))
                            @for (i, (facet, value)) in self.params.filters.iter().enumerate() {
                                @if i > 0 { ", " }
                                a href=(self.params.without_filter(*facet, value)) {
                                    (facet.title(self.lang())) (self.t(" : ", ": ")) (self.value_label(*facet, value))
                                }
                            }
                            @if self.params.filters.len() > 1 {
                                " — " a href=(self.params.without_filters()) { (self.t("ou tous", "or all of them")) }
                            }
                            "."
                        }
                    }
                    @if !self.params.q.is_empty() {
                        li { a href="/" { (self.t("Voir tout le catalogue", "See the whole catalogue")) } }
                    }
                    li { (self.t("Parcourez les thèmes :", "Browse the themes:")) }
                }
                ul.browse-themes {
                    @for theme in Theme::ALL {
                        li { a.chip href=(format!("/?theme={}", theme.code())) { (theme.label(self.lang())) } }
                    }
                }
            }
        }
    }

    fn facets(&self) -> Markup {
        let f = &self.response.facets;
        let territory: Vec<&TerritoryCount> = f.territory.iter().collect();
        html! {
            nav #facets aria-labelledby="facets-title" {
                h2 #facets-title { (self.t("Affiner la recherche", "Refine the search")) }
                (self.facet(Facet::Theme, &f.theme))
                (self.territory_facet(&territory))
                (self.facet(Facet::Stage, &f.stage))
                (self.facet(Facet::Licence, &f.licence))
                (self.facet(Facet::Hub, &f.hub))
                (self.facet(Facet::Label, &f.label))
                (self.facet(Facet::LabelledBy, &f.labelled_by))
            }
        }
    }

    /// One value of a facet: adds the filter, or removes it when applied.
    fn facet_value(&self, facet: Facet, value: &str, count: u64) -> Markup {
        let label = self.value_label(facet, value);
        html! {
            li {
                @if self.params.has_filter(facet, value) {
                    a.facet-value.active href=(self.params.without_filter(facet, value))
                        data-value=(value) aria-current="true" {
                        span.facet-label { (label) }
                        span.count { (count) }
                        span.visually-hidden { (self.t(" (appliqué ; retirer)", " (applied; remove)")) }
                    }
                } @else {
                    a.facet-value href=(self.params.with_filter(facet, value)) data-value=(value) {
                        span.facet-label { (label) }
                        span.count { (count) span.visually-hidden { " initiatives" } }
                    }
                }
            }
        }
    }

    /// A list of values, the first [`SHOWN_VALUES`] (and the applied ones)
    /// shown, the rest behind "more".
    fn value_list(&self, facet: Facet, values: &[(&str, u64)]) -> Markup {
        let (shown, rest): (Vec<_>, Vec<_>) = values
            .iter()
            .enumerate()
            .partition(|(i, (v, _))| *i < SHOWN_VALUES || self.params.has_filter(facet, v));
        html! {
            ul.facet-values {
                @for (_, (value, count)) in &shown { (self.facet_value(facet, value, *count)) }
            }
            @if !rest.is_empty() {
                details.facet-more {
                    summary { (self.t("Voir plus", "Show more")) " (" (rest.len()) ")" }
                    ul.facet-values {
                        @for (_, (value, count)) in &rest { (self.facet_value(facet, value, *count)) }
                    }
                }
            }
        }
    }

    fn facet(&self, facet: Facet, counts: &[FacetCount]) -> Markup {
        let values: Vec<(&str, u64)> = counts.iter().map(|c| (c.value.as_str(), c.count)).collect();
        html! {
            @if !values.is_empty() {
                section.facet data-facet=(facet.param()) aria-labelledby=(format!("facet-{}", facet.param())) {
                    h3 #(format!("facet-{}", facet.param())) { (facet.title(self.lang())) }
                    (self.value_list(facet, &values))
                }
            }
        }
    }

    /// Territories: régions, then départements.
    fn territory_facet(&self, counts: &[&TerritoryCount]) -> Markup {
        let level = |level: TerritoryLevel| -> Vec<(&str, u64)> {
            counts
                .iter()
                .filter(|t| t.level == level)
                .map(|t| (t.value.as_str(), t.count))
                .collect()
        };
        let regions = level(TerritoryLevel::Region);
        let departements = level(TerritoryLevel::Departement);
        html! {
            @if !regions.is_empty() || !departements.is_empty() {
                section.facet data-facet="territory" aria-labelledby="facet-territory" {
                    h3 #facet-territory { (Facet::Territory.title(self.lang())) }
                    @if !regions.is_empty() {
                        h4 { (self.t("Régions", "Regions")) }
                        (self.value_list(Facet::Territory, &regions))
                    }
                    @if !departements.is_empty() {
                        h4 { (self.t("Départements", "Départements")) }
                        (self.value_list(Facet::Territory, &departements))
                    }
                }
            }
        }
    }

    /// The search form; its `select#sort` and button work without script.
    fn form(&self) -> Markup {
        let sort = self.params.sort;
        html! {
            form #search role="search" method="get" action="/" {
                label for="q" { (self.t("Rechercher une solution", "Search for a solution")) }
                div.search-row {
                    input #q type="search" name="q" value=(self.params.q)
                        placeholder=(self.t("ex. épicerie solidaire, covoiturage rural, réemploi…", "e.g. community grocery, rural car-sharing, reuse…"))
                        autocomplete="off" spellcheck="false" maxlength="500"
                        aria-describedby="search-status";
                    button type="submit" { (self.t("Rechercher", "Search")) }
                }
                @for (facet, value) in &self.params.filters {
                    input type="hidden" name=(facet.param()) value=(value);
                }
                div.search-options {
                    label for="sort" { (self.t("Trier par", "Sort by")) }
                    select #sort name="sort" {
                        option value="relevance" selected[sort == Sort::Relevance] { (self.t("Pertinence", "Relevance")) }
                        option value="newest" selected[sort == Sort::Newest] { (self.t("Les plus récentes", "Newest")) }
                    }
                }
                p #search-status.visually-hidden aria-live="polite" {}
            }
        }
    }

    fn page(&self) -> Markup {
        html! {
            div.search-hero {
                h1 { (self.t(
                    "Trouvez une solution qui a fait ses preuves ailleurs, et essaimez-la chez vous",
                    "Find a solution that has proven itself elsewhere, and replicate it where you are",
                )) }
                // Said once, to the newcomer; a shared search link goes
                // straight to its results.
                @if self.params.is_browsing() {
                    p.hero-lead { (self.t(
                        "Épiceries solidaires, tiers-lieux, mobilité rurale, insertion… Essaim rassemble des initiatives de l'économie sociale et solidaire qui marchent, avec leurs outils libres, leurs résultats et qui les soutient.",
                        "Community groceries, third places, rural mobility, work integration… Essaim gathers social and solidarity economy initiatives that work, with their open-source tools, their results and who backs them.",
                    )) }
                }
                (self.form())
            }
            (self.region())
        }
    }
}

/// `GET /` (and `GET /?…&partial=1` for the script).
pub(super) async fn page(node: &Node, ctx: &Ctx) -> Response {
    let params = SearchParams::parse(&ctx.query);
    let request = params.request();
    let worker = node.clone();
    let found = blocking(move || {
        let response = worker.index().search(&request).map_err(|e| e.to_string())?;
        let hubs = hub_names(&worker, &response);
        Ok((response, hubs))
    })
    .await;
    let Some((response, hubs)) = found else {
        return internal_error(ctx);
    };
    let view = View {
        ctx,
        params: &params,
        response: &response,
        hubs: &hubs,
    };
    if ctx.param("partial").is_some() {
        return ctx.fragment(view.region());
    }
    ctx.page(StatusCode::OK, &view.title(), Nav::Search, view.page())
}
