//! "Pour mon territoire" (`/territoire/{code}`): for a commune, a
//! département or a région, the initiatives not yet deployed there, ranked
//! by evidence with the reasons in words, and what the territory's own
//! initiatives could bring elsewhere. `/territoire` asks for the territory.
//! The ranking is `crate::trust::suggest` (rule in `specs/trust.md`).

use essaim_protocol::Territory;
use essaim_protocol::vocab::{Lang, Stage, Theme};
use maud::{Markup, html};
use warp::http::StatusCode;
use warp::reply::Response;

use super::initiative::view;
use super::{Ctx, Nav, blocking, internal_error};
use crate::node::Node;
use crate::trust::suggest::{Suggestion, TerritoryReport, reasons_text};

/// `GET /territoire`: a form (or `?code=` to go to a territory's page).
pub(super) async fn index(ctx: &Ctx) -> Response {
    if let Some(code) = ctx.param("code").map(str::trim).filter(|c| !c.is_empty()) {
        return match Territory::parse(code) {
            Ok(t) if t != Territory::NATIONAL => ctx.redirect(&format!("/territoire/{t}")),
            _ => form_page(ctx, StatusCode::BAD_REQUEST, Some(code)),
        };
    }
    form_page(ctx, StatusCode::OK, None)
}

fn form(ctx: &Ctx, value: &str) -> Markup {
    html! {
        form #territory-form method="get" action="/territoire" {
            div.field {
                label for="territory-code" { (ctx.t("Votre territoire", "Your territory")) }
                span.hint #territory-hint { (ctx.t(
                    "Un code de région (reg:84), de département (dep:69) ou de commune (com:69123).",
                    "A région (reg:84), département (dep:69) or commune (com:69123) code.",
                )) }
                input #territory-code type="text" name="code" value=(value) required spellcheck="false"
                    aria-describedby="territory-hint";
            }
            div.actions { button type="submit" { (ctx.t("Voir les suggestions", "See the suggestions")) } }
        }
    }
}

fn form_page(ctx: &Ctx, status: StatusCode, bad: Option<&str>) -> Response {
    let title = ctx.t("Pour mon territoire", "For my territory");
    let body = html! {
        div.form-page {
            h1 { (title) }
            p.lead { (ctx.t(
                "Quelles solutions éprouvées ailleurs pourraient marcher chez vous ? Choisissez un territoire : Essaim classe les initiatives qui n'y sont pas encore, selon les preuves qu'elles apportent.",
                "Which solutions proven elsewhere could work where you are? Choose a territory: Essaim ranks the initiatives not there yet by the evidence they bring.",
            )) }
            @if let Some(bad) = bad {
                p.error role="alert" { "« " (bad) " » " (ctx.t(
                    "n'est pas un code de territoire : écrivez reg:84, dep:69 ou com:69123.",
                    "is not a territory code: write reg:84, dep:69 or com:69123.",
                )) }
            }
            (form(ctx, bad.unwrap_or("")))
        }
    };
    ctx.page(status, title, Nav::Territory, body)
}

/// One ranked initiative.
fn card(ctx: &Ctx, rank: usize, s: &Suggestion, id_prefix: &str) -> Markup {
    let short = s.short.clone();
    let href = match short.split_once('/') {
        Some((hub, slug)) => format!("/i/{hub}/{slug}"),
        None => "/".to_owned(),
    };
    let stage = Stage::from_code(&s.stage).map_or(s.stage.as_str(), |st| st.label(ctx.lang));
    html! {
        li.suggestion id=(format!("{id_prefix}-{rank}")) data-score=(s.score) data-address=(s.address) {
            h3 {
                span.rank { (rank) ". " }
                a href=(href) { (s.name) }
                " " span.score { "(" (s.score) " " (ctx.t("points", "points")) ")" }
            }
            p.meta {
                @if !s.hub_name.is_empty() { (s.hub_name) " · " }
                span.chip { (stage) }
                @for theme in &s.themes {
                    @if let Some(t) = Theme::from_code(theme) { " " span.chip.theme { (t.label(ctx.lang)) } }
                }
            }
            @if !s.reasons.is_empty() {
                p.reasons { (reasons_text(s, ctx.lang)) }
                details.score-detail {
                    summary { (ctx.t("Détail du score", "Score detail")) }
                    ul {
                        @for r in &s.reasons {
                            li data-code=(r.code) { (match ctx.lang { Lang::Fr => &r.fr, Lang::En => &r.en }) " : " (r.points) }
                        }
                    }
                }
            }
        }
    }
}

/// `GET /territoire/{code}`.
pub(super) async fn page(node: &Node, ctx: &Ctx, code: &str) -> Response {
    let territory = match Territory::parse(code) {
        Ok(t) if t != Territory::NATIONAL => t,
        _ => return form_page(ctx, StatusCode::NOT_FOUND, Some(code)),
    };
    let worker = node.clone();
    let report: Option<TerritoryReport> = blocking(move || {
        crate::web::api::territory_report(&worker, &territory).map_err(|e| e.to_string())
    })
    .await;
    let Some(report) = report else {
        return internal_error(ctx);
    };
    let title = format!("{} {}", ctx.t("Pour", "For"), report.name);
    let highlighted = view::departement_codes([&territory]);
    let body = html! {
        article.territory-page {
            header.record-head {
                p.kicker { (ctx.t("Pour mon territoire", "For my territory")) " · " code { (report.territory) } }
                h1 { (report.name) }
                p.lead { (ctx.t(
                    "Les initiatives qui ne sont pas encore déployées ici, classées selon les preuves qu'elles apportent : labels des hubs de confiance, essaimages déjà réussis, impact mesuré, maturité, adéquation aux thèmes des hubs du territoire, financements.",
                    "The initiatives not yet deployed here, ranked by the evidence they bring: labels from trusted hubs, replications already done, measured impact, maturity, fit with the themes of the territory's hubs, funding.",
                )) }
            }
            div.territories-layout {
                div {
                    section #suggestions aria-labelledby="h-suggestions" {
                        h2 #h-suggestions { (ctx.t("Solutions à essaimer ici", "Solutions to replicate here")) " (" (report.suggestions.len()) "/" (report.candidates) ")" }
                        @if report.suggestions.is_empty() {
                            p.muted { (ctx.t("Aucune initiative à suggérer : toutes y sont déjà, ou ce nœud n'en connaît pas encore.", "No initiative to suggest: all are already there, or this node knows none yet.")) }
                        } @else {
                            ol.suggestions {
                                @for (i, s) in report.suggestions.iter().enumerate() { (card(ctx, i + 1, s, "suggestion")) }
                            }
                        }
                    }
                    section #local aria-labelledby="h-local" {
                        h2 #h-local { (ctx.t("Nées ici, à faire connaître ailleurs", "Born here, to share elsewhere")) }
                        @if report.local.is_empty() {
                            p.muted { (ctx.t("Ce nœud ne connaît pas d'initiative née sur ce territoire.", "This node knows no initiative born in this territory.")) }
                        } @else {
                            ol.suggestions {
                                @for (i, s) in report.local.iter().enumerate() { (card(ctx, i + 1, s, "local")) }
                            }
                        }
                    }
                }
                aside.mini-map-box {
                    (super::map::mini_map(ctx, &highlighted))
                    @if !report.themes_of_interest.is_empty() {
                        h2 { (ctx.t("Thèmes des hubs du territoire", "Themes of the territory's hubs")) }
                        ul.chips {
                            @for theme in &report.themes_of_interest {
                                @if let Some(t) = Theme::from_code(theme) { li { span.chip.theme { (t.label(ctx.lang)) } } }
                            }
                        }
                    }
                    p.muted { (ctx.t(
                        "Le calcul du classement est décrit dans specs/trust.md ; chaque point a sa raison ci-contre.",
                        "The ranking rule is described in specs/trust.md; every point has its reason alongside.",
                    )) }
                    (form(ctx, &report.territory))
                }
            }
        }
    };
    ctx.page(StatusCode::OK, &title, Nav::Territory, body)
}
