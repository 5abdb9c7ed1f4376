//! The map page (`/map`): the départements of metropolitan France coloured
//! by how many initiatives act in each, the overseas départements beside it,
//! and the same counts as a table for screen readers; plus the small map of
//! an initiative's départements ([`mini_map`]).
//!
//! The outlines come from `node/assets/france.departments.svg` (Victor
//! Cazanave, svg-maps, CC BY 4.0), embedded and parsed once. Its paths use
//! only relative `m` moves, implicit line-tos and `z`; they are turned into
//! absolute points and written back with fewer decimals (one for the map,
//! none for the mini map), from the rounded absolute points so that
//! rounding never accumulates along an outline. Colours are classes (the
//! CSP forbids `style=`): `c0` for none, `c1`…`c5` by a scale fitted to the
//! largest count ([`Scale`]).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::OnceLock;

use essaim_protocol::Territory;
use maud::{Markup, html};
use warp::http::StatusCode;
use warp::reply::Response;

use super::search::params::SearchParams;
use super::search::value_label;
use super::{Ctx, Nav, blocking, internal_error};
use crate::index::{SearchRequest, TerritoryLevel};
use crate::node::Node;

/// The outlines (metropolitan France, 96 départements).
const SVG: &str = include_str!("../../../assets/france.departments.svg");
/// The SVG's coordinate system.
const VIEW_BOX: &str = "0 0 613 585";
/// The overseas départements, listed beside the map (their codes).
const OVERSEAS: &[&str] = &["971", "972", "973", "974", "976"];
/// The licence of the outlines.
const LICENCE_URL: &str = "https://creativecommons.org/licenses/by/4.0/";
/// The mini map drops outline points closer than this (in the SVG's
/// units, about a third of a pixel each at its size) to the last kept.
const MINI_MAP_STEP: i64 = 3;
/// Number of coloured classes (`c1`…`c5`); `c0` is "none".
const BUCKETS: u64 = 5;

/// A département's outline, ready to draw.
#[derive(Debug)]
struct Outline {
    /// INSEE code (`01`, `2A`, `95`).
    code: String,
    /// Its name (COG; the SVG's label when the COG does not know the code).
    name: String,
    /// Path data with one decimal (the map).
    d: String,
    /// Path data in whole units (the mini map).
    d_coarse: String,
}

/// What is wrong in the embedded SVG (a test checks it parses).
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
enum SvgError {
    /// A `<path>` lacks an attribute.
    #[error("a <path> has no {0} attribute")]
    Missing(&'static str),
    /// Path data with something else than `m`, numbers and `z`.
    #[error("path {id}: unsupported path data near {near:?}")]
    PathData {
        /// The path's id.
        id: String,
        /// Where.
        near: String,
    },
}

/// The outlines, parsed on first use.
fn outlines() -> &'static [Outline] {
    static OUTLINES: OnceLock<Vec<Outline>> = OnceLock::new();
    OUTLINES.get_or_init(|| match parse_svg(SVG) {
        Ok(outlines) => outlines,
        Err(e) => {
            // Embedded at build time and checked by a test: cannot happen
            // in a tested build; draw no map rather than fail the page.
            tracing::error!(error = %e, "the embedded map does not parse");
            Vec::new()
        }
    })
}

/// Every `<path id=… aria-label=… d=…>` of the SVG.
fn parse_svg(svg: &str) -> Result<Vec<Outline>, SvgError> {
    let mut out = Vec::new();
    for element in svg.split("<path").skip(1) {
        let element = element.split("/>").next().unwrap_or(element);
        let id = attribute(element, "id").ok_or(SvgError::Missing("id"))?;
        let label = attribute(element, "aria-label").ok_or(SvgError::Missing("aria-label"))?;
        let d = attribute(element, "d").ok_or(SvgError::Missing("d"))?;
        let rings = parse_path(d).map_err(|near| SvgError::PathData {
            id: id.to_owned(),
            near,
        })?;
        let name = Territory::parse(&format!("dep:{id}"))
            .map(|t| t.name().to_owned())
            .unwrap_or_else(|_| label.to_owned());
        out.push(Outline {
            code: id.to_owned(),
            name,
            d: path_data(&rings, 10.0, 1),
            d_coarse: path_data(&rings, 1.0, MINI_MAP_STEP),
        });
    }
    Ok(out)
}

/// The value of `name="…"` in an element's text.
fn attribute<'a>(element: &'a str, name: &str) -> Option<&'a str> {
    let mut rest = element;
    loop {
        let at = rest.find(name)?;
        let before = rest[..at].chars().last();
        let after = &rest[at + name.len()..];
        rest = after;
        if before.is_some_and(|c| !c.is_whitespace()) {
            continue;
        }
        if let Some(value) = after.trim_start().strip_prefix('=') {
            let value = value.trim_start().strip_prefix('"')?;
            return value.split('"').next();
        }
    }
}

/// Absolute rings of points from path data made of relative `m` moves with
/// implicit line-tos, and `z`. The error says where it stopped.
fn parse_path(d: &str) -> Result<Vec<Vec<(f64, f64)>>, String> {
    let mut rings: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut current = (0.0, 0.0);
    let mut start = (0.0, 0.0);
    let mut ring: Option<Vec<(f64, f64)>> = None;
    let mut tokens = d.split_whitespace().peekable();
    while let Some(token) = tokens.next() {
        match token {
            "m" => {
                if let Some(done) = ring.take() {
                    rings.push(done);
                }
                let pair = tokens.next().ok_or_else(|| "m at the end".to_owned())?;
                let (dx, dy) = pair_of(pair)?;
                current = (current.0 + dx, current.1 + dy);
                start = current;
                ring = Some(vec![current]);
            }
            "z" => {
                if let Some(done) = ring.take() {
                    rings.push(done);
                }
                current = start;
            }
            pair => {
                let (dx, dy) = pair_of(pair)?;
                current = (current.0 + dx, current.1 + dy);
                ring.as_mut()
                    .ok_or_else(|| format!("a point before m: {pair}"))?
                    .push(current);
            }
        }
    }
    if let Some(done) = ring.take() {
        rings.push(done);
    }
    Ok(rings)
}

fn pair_of(token: &str) -> Result<(f64, f64), String> {
    let (x, y) = token.split_once(',').ok_or_else(|| token.to_owned())?;
    match (x.parse::<f64>(), y.parse::<f64>()) {
        (Ok(x), Ok(y)) if x.is_finite() && y.is_finite() => Ok((x, y)),
        _ => Err(token.to_owned()),
    }
}

/// Compact path data: each ring's first point absolute, the next ones
/// relative to the previous *rounded* point (so rounding never drifts),
/// points closer than `min_step` rounded units to the last one kept
/// dropped (but a ring's last). `per_unit` is 10 for one decimal, 1 for
/// none.
fn path_data(rings: &[Vec<(f64, f64)>], per_unit: f64, min_step: i64) -> String {
    let mut out = String::new();
    for ring in rings {
        let mut previous: Option<(i64, i64)> = None;
        let mut lines = 0usize;
        let last = ring.len().saturating_sub(1);
        for (i, (x, y)) in ring.iter().enumerate() {
            let point = ((x * per_unit).round() as i64, (y * per_unit).round() as i64);
            let (command, (a, b)) = match previous {
                None => ("M", point),
                Some(p) if p == point => continue,
                Some(p)
                    if i < last && (point.0 - p.0).abs().max((point.1 - p.1).abs()) < min_step =>
                {
                    continue;
                }
                // `l` once; the next pairs are implied line-tos.
                Some(p) => {
                    lines += 1;
                    let command = if lines == 1 { "l" } else { " " };
                    (command, (point.0 - p.0, point.1 - p.1))
                }
            };
            let _ = write!(
                out,
                "{command}{},{}",
                number(a, per_unit),
                number(b, per_unit)
            );
            previous = Some(point);
        }
        out.push('z');
    }
    out
}

/// `n / per_unit` with at most one decimal, without a leading zero.
fn number(n: i64, per_unit: f64) -> String {
    if per_unit >= 10.0 {
        let sign = if n < 0 { "-" } else { "" };
        let a = n.unsigned_abs();
        match (a / 10, a % 10) {
            (0, 0) => "0".to_owned(),
            (0, f) => format!("{sign}.{f}"),
            (i, 0) => format!("{sign}{i}"),
            (i, f) => format!("{sign}{i}.{f}"),
        }
    } else {
        n.to_string()
    }
}

/// How counts map to the colour classes: `c0` for none, then five ranges up
/// to the largest count, growing geometrically (catalogues are uneven: a
/// few départements hold many initiatives).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Scale {
    /// The upper bound of each class from `c1`, increasing; the last is the
    /// largest count.
    uppers: Vec<u64>,
}

impl Scale {
    /// The scale for counts up to `max`.
    fn new(max: u64) -> Scale {
        let mut uppers: Vec<u64> = Vec::new();
        if max <= BUCKETS {
            uppers.extend(1..=max);
        } else {
            for i in 1..=BUCKETS {
                let bound = (max as f64).powf(i as f64 / BUCKETS as f64).round() as u64;
                let floor = uppers.last().map_or(1, |u| u + 1);
                uppers.push(bound.max(floor).min(max));
            }
            uppers.dedup();
        }
        Scale { uppers }
    }

    /// The class number (0 for none) of a count.
    fn bucket(&self, count: u64) -> usize {
        if count == 0 {
            return 0;
        }
        self.uppers
            .iter()
            .position(|u| count <= *u)
            .map_or(self.uppers.len(), |i| i + 1)
    }

    /// Each class's range of counts, from `c1`.
    fn ranges(&self) -> Vec<(u64, u64)> {
        let mut low = 1;
        self.uppers
            .iter()
            .map(|u| {
                let range = (low, *u);
                low = u + 1;
                range
            })
            .collect()
    }
}

/// "1 initiative", "3 initiatives", "aucune initiative".
fn initiatives(ctx: &Ctx, n: u64) -> String {
    match n {
        0 => ctx.t("aucune initiative", "no initiative").to_owned(),
        1 => "1 initiative".to_owned(),
        n => format!("{n} initiatives"),
    }
}

/// The name of a département code, or the code itself.
fn departement_name(code: &str) -> String {
    Territory::parse(&format!("dep:{code}"))
        .map(|t| t.name().to_owned())
        .unwrap_or_else(|_| code.to_owned())
}

/// Initiatives per département code (bare, `69`) among those the search
/// finds (all of them for an empty search).
async fn counts(node: &Node, params: &SearchParams) -> Option<HashMap<String, u64>> {
    let worker = node.clone();
    let request = SearchRequest {
        limit: 0,
        offset: 0,
        ..params.request()
    };
    blocking(move || {
        let response = worker.index().search(&request).map_err(|e| e.to_string())?;
        Ok(response
            .facets
            .territory
            .into_iter()
            .filter(|t| t.level == TerritoryLevel::Departement)
            .filter_map(|t| Some((t.value.strip_prefix("dep:")?.to_owned(), t.count)))
            .collect())
    })
    .await
}

/// `GET /map`.
pub(super) async fn page(node: &Node, ctx: &Ctx) -> Response {
    // The map of a search (`/map?theme=…`) counts what it finds.
    let params = SearchParams::parse(&ctx.query);
    let Some(counts) = counts(node, &params).await else {
        return internal_error(ctx);
    };
    let count = |code: &str| counts.get(code).copied().unwrap_or(0);
    let scale = Scale::new(counts.values().copied().max().unwrap_or(0));
    let title = ctx.t("Carte des initiatives", "Map of the initiatives");
    let mut table: Vec<(&str, String, u64)> = outlines()
        .iter()
        .map(|o| (o.code.as_str(), o.name.clone(), count(&o.code)))
        .chain(
            OVERSEAS
                .iter()
                .map(|code| (*code, departement_name(code), count(code))),
        )
        .filter(|(_, _, n)| *n > 0)
        .collect();
    table.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.0.cmp(b.0)));
    let body = html! {
        h1 { (title) }
        p.lead { (ctx.t(
            "Chaque département est coloré selon le nombre d'initiatives qui y agissent. Choisissez un département pour voir ses initiatives.",
            "Each département is coloured by the number of initiatives acting there. Choose a département to see its initiatives.",
        )) }
        @if !params.problems.is_empty() {
            div.notice #query-problems role="status" {
                ul { @for problem in &params.problems { li { (problem.message(ctx.lang)) } } }
            }
        }
        @if !params.is_browsing() {
            p.map-search {
                (ctx.t("Initiatives de la recherche ", "Initiatives of the search "))
                @if !params.q.is_empty() {
                    strong { (ctx.t("« ", "“")) (params.q) (ctx.t(" »", "”")) }
                    " "
                }
                @for (i, (facet, value)) in params.filters.iter().enumerate() {
                    @if i > 0 { ", " }
                    span.chip { (facet.title(ctx.lang)) (ctx.t(" : ", ": ")) (value_label(ctx.lang, *facet, value)) }
                }
                " — "
                a href=(params.href()) { (ctx.t("voir la liste", "see the list")) }
                " · "
                a href="/map" { (ctx.t("toute la carte", "the whole map")) }
            }
        }
        div.map-layout {
            figure.map-figure {
                svg #map viewBox=(VIEW_BOX) role="group"
                    aria-labelledby="map-title" xmlns="http://www.w3.org/2000/svg" {
                    title #map-title { (ctx.t(
                        "Carte de France métropolitaine par département",
                        "Map of metropolitan France by département",
                    )) }
                    @for o in outlines() {
                        @let n = count(&o.code);
                        a class=(format!("dep c{}", scale.bucket(n))) data-code=(o.code)
                            href=(params.in_departement(&o.code)) {
                            title { (o.name) " — " (initiatives(ctx, n)) }
                            path d=(o.d) {}
                        }
                    }
                }
                figcaption.map-credit {
                    (ctx.t("Carte : ", "Map: ")) "Victor Cazanave, svg-maps ("
                    a href=(LICENCE_URL) rel="license" { "CC BY 4.0" }
                    ")"
                }
            }
            div.map-side {
                (legend(ctx, &scale))
                h2 #overseas-title { (ctx.t("Outre-mer", "Overseas")) }
                ul #overseas aria-labelledby="overseas-title" {
                    @for code in OVERSEAS {
                        @let n = count(code);
                        li {
                            a class=(format!("dep-chip c{}", scale.bucket(n))) data-code=(code)
                                href=(params.in_departement(code)) {
                                span.dep-name { (departement_name(code)) }
                                " "
                                span.dep-count { (initiatives(ctx, n)) }
                            }
                        }
                    }
                }
            }
        }
        details.map-table {
            summary { (ctx.t("Les chiffres par département", "The figures by département")) }
            @if table.is_empty() {
                p { (ctx.t("Aucune initiative n'est encore rattachée à un département.",
                    "No initiative is tied to a département yet.")) }
            } @else {
                table #map-counts {
                    caption { (ctx.t(
                        "Nombre d'initiatives par département (ceux qui en ont au moins une)",
                        "Number of initiatives by département (those with at least one)",
                    )) }
                    thead { tr {
                        th scope="col" { (ctx.t("Département", "Département")) }
                        th scope="col" { (ctx.t("Initiatives", "Initiatives")) }
                    } }
                    tbody {
                        @for (code, name, n) in &table {
                            tr {
                                th scope="row" { a href=(params.in_departement(code)) { (name) " (" (code) ")" } }
                                td { (n) }
                            }
                        }
                    }
                }
            }
        }
    };
    ctx.page(StatusCode::OK, title, Nav::Map, body)
}

/// The legend: one swatch per class with its range.
fn legend(ctx: &Ctx, scale: &Scale) -> Markup {
    html! {
        div #map-legend {
            h2 #legend-title { (ctx.t("Légende", "Legend")) }
            ul aria-labelledby="legend-title" {
                li { span.swatch.c0 aria-hidden="true" {} (ctx.t("aucune initiative", "no initiative")) }
                @for (i, (low, high)) in scale.ranges().into_iter().enumerate() {
                    li {
                        span class=(format!("swatch c{}", i + 1)) aria-hidden="true" {}
                        @if low == high { (initiatives(ctx, low)) }
                        @else { (low) "–" (initiatives(ctx, high)) }
                    }
                }
            }
        }
    }
}

/// A small map with the given départements (codes like `69`, `2A`, or
/// `dep:69`) highlighted; overseas ones are named below it. Its label
/// names them all, for screen readers.
pub(crate) fn mini_map(ctx: &Ctx, highlighted: &[String]) -> Markup {
    let codes: Vec<&str> = highlighted
        .iter()
        .map(|c| c.strip_prefix("dep:").unwrap_or(c))
        .collect();
    let names: Vec<String> = codes.iter().map(|c| departement_name(c)).collect();
    let label = if names.is_empty() {
        ctx.t(
            "Carte : aucun département indiqué",
            "Map: no département given",
        )
        .to_owned()
    } else {
        format!("{}{}", ctx.t("Carte : ", "Map: "), names.join(", "))
    };
    let overseas: Vec<&str> = codes
        .iter()
        .copied()
        .filter(|c| OVERSEAS.contains(c))
        .collect();
    html! {
        svg.mini-map viewBox=(VIEW_BOX) role="img" aria-label=(label)
            xmlns="http://www.w3.org/2000/svg" {
            @for o in outlines() {
                @if codes.contains(&o.code.as_str()) {
                    path.on d=(o.d_coarse) {}
                } @else {
                    path d=(o.d_coarse) {}
                }
            }
        }
        @if !overseas.is_empty() {
            p.mini-map-overseas {
                (ctx.t("Outre-mer : ", "Overseas: "))
                (overseas.iter().map(|c| departement_name(c)).collect::<Vec<_>>().join(", "))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::Lang;
    use super::*;

    #[test]
    fn the_embedded_map_has_the_96_metropolitan_departements() {
        let outlines = parse_svg(SVG).unwrap();
        assert_eq!(outlines.len(), 96);
        for o in &outlines {
            let t = Territory::parse(&format!("dep:{}", o.code));
            assert!(t.is_ok(), "{} is not a département", o.code);
            assert!(o.d.starts_with('M') && o.d.ends_with('z'), "{}", o.code);
            assert!(o.d_coarse.len() < o.d.len());
        }
        let codes: Vec<&str> = outlines.iter().map(|o| o.code.as_str()).collect();
        for code in ["01", "2A", "2B", "69", "75", "95"] {
            assert!(codes.contains(&code), "{code} missing");
        }
        assert!(!codes.iter().any(|c| c.starts_with("97")));
        let rhone = outlines.iter().find(|o| o.code == "69").unwrap();
        assert_eq!(rhone.name, "Rhône");
    }

    #[test]
    fn paths_become_absolute_and_rounding_does_not_drift() {
        let rings = parse_path("m 10.04,20 1.06,0 0,0 1.06,0 z m 5,5 1,1 z").unwrap();
        assert_eq!(rings.len(), 2);
        assert_eq!(rings[1][0], (15.04, 25.0));
        let d = path_data(&rings, 10.0, 1);
        assert_eq!(d, "M10,20l1.1,0 1.1,0zM15,25l1,1z");
        // Ten steps of .04 are .4 in all, not ten steps rounded to 0.
        let creep = format!("m 0,0{} z", " 0.04,0".repeat(10));
        assert_eq!(
            path_data(&parse_path(&creep).unwrap(), 10.0, 1),
            "M0,0l.1,0 .1,0 .1,0 .1,0z"
        );
        assert_eq!(path_data(&rings, 1.0, 1), "M10,20l1,0 1,0zM15,25l1,1z");
        // The mini map's coarser outline skips close points but ends each ring.
        assert_eq!(path_data(&rings, 1.0, 3), "M10,20l2,0zM15,25l1,1z");
        assert!(parse_path("m 1,1 c 2,2").is_err());
        assert!(parse_path("1,1").is_err());
    }

    #[test]
    fn attributes_are_found_by_whole_name() {
        let element = r#" data-id="x" id="69" aria-label="Rhône" d="m 1,1 z""#;
        assert_eq!(attribute(element, "id"), Some("69"));
        assert_eq!(attribute(element, "aria-label"), Some("Rhône"));
        assert_eq!(attribute(element, "d"), Some("m 1,1 z"));
        assert_eq!(attribute(element, "href"), None);
    }

    fn ctx(lang: Lang) -> Ctx {
        Ctx {
            lang,
            lang_chosen: false,
            path: "/i/x/y".to_owned(),
            query: Vec::new(),
            base_url: "http://127.0.0.1".to_owned(),
            session: None,
            started: std::time::Instant::now(),
        }
    }

    #[test]
    fn the_mini_map_highlights_and_names_its_departements() {
        let codes = ["69".to_owned(), "dep:2A".to_owned(), "974".to_owned()];
        let html = mini_map(&ctx(Lang::Fr), &codes).into_string();
        assert!(html.starts_with(r#"<svg class="mini-map" viewBox="0 0 613 585" role="img""#));
        assert!(html.contains(r#"aria-label="Carte : Rhône, Corse-du-Sud, La Réunion""#));
        assert_eq!(html.matches(r#"<path class="on""#).count(), 2);
        assert_eq!(html.matches("<path").count(), 96);
        assert!(html.contains("Outre-mer : La Réunion"));
        let none = mini_map(&ctx(Lang::En), &[]).into_string();
        assert!(none.contains(r#"aria-label="Map: no département given""#));
        assert!(!none.contains("class=\"on\""));
    }

    #[test]
    fn the_scale_fits_the_largest_count() {
        let small = Scale::new(3);
        assert_eq!(small.ranges(), vec![(1, 1), (2, 2), (3, 3)]);
        assert_eq!(small.bucket(0), 0);
        assert_eq!(small.bucket(3), 3);
        let empty = Scale::new(0);
        assert!(empty.ranges().is_empty());
        assert_eq!(empty.bucket(0), 0);
        let big = Scale::new(1000);
        let ranges = big.ranges();
        assert_eq!(ranges.len(), 5);
        assert_eq!(ranges[0].0, 1);
        assert_eq!(ranges[4].1, 1000);
        for pair in ranges.windows(2) {
            assert_eq!(pair[0].1 + 1, pair[1].0);
        }
        assert_eq!(big.bucket(1), 1);
        assert_eq!(big.bucket(1000), 5);
        assert_eq!(big.bucket(5000), 5);
        let six = Scale::new(6);
        assert_eq!(six.ranges().last().map(|r| r.1), Some(6));
        for n in 1..=6 {
            assert!(six.bucket(n) >= 1 && six.bucket(n) <= 5);
        }
    }
}
