//! The operator's trust page (`/trust`): the node's mode, the hubs it
//! follows, trusts through labels, or blocks, and the quarantine with a
//! decision for each hub waiting. Every change is a small form carrying the
//! session's CSRF token (the same mechanism as `/publish`); the page is the
//! operator's only, like the publish form.

use maud::{Markup, html};
use serde_json::Value;
use warp::http::StatusCode;
use warp::reply::Response;

use super::initiative::view::{self, abbreviated, date};
use super::{Ctx, Nav, blocking, internal_error};
use crate::node::Node;
use crate::web::Request;

/// The pairs of a posted form (at most a few fields here).
fn form_pairs(request: &Request) -> Vec<(String, String)> {
    url::form_urlencoded::parse(&request.body)
        .take(16)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn pair<'a>(pairs: &'a [(String, String)], name: &str) -> &'a str {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.as_str())
}

/// A one-button form acting on a hub.
fn action_button(csrf: &str, hub: &str, action: &str, label: &str, secondary: bool) -> Markup {
    html! {
        form.inline-form method="post" action="/trust" {
            input type="hidden" name="csrf" value=(csrf);
            input type="hidden" name="hub" value=(hub);
            input type="hidden" name="action" value=(action);
            @if secondary {
                button.secondary type="submit" data-action=(action) { (label) }
            } @else {
                button type="submit" data-action=(action) { (label) }
            }
        }
    }
}

fn hub_cell(ctx: &Ctx, entry: &Value) -> Markup {
    let id = entry["hub"].as_str().unwrap_or("");
    let short = id.strip_prefix("did:key:").unwrap_or(id);
    html! {
        a.hub-link href=(format!("/hubs/{short}")) {
            @match entry["name"].as_str() {
                Some(name) => (name),
                None => { (ctx.t("hub ", "hub ")) code { (abbreviated(short)) } },
            }
        }
        " " code.hub-id title=(id) { (abbreviated(short)) }
    }
}

fn list(value: &Value, key: &str) -> Vec<Value> {
    value[key].as_array().cloned().unwrap_or_default()
}

/// `GET /trust`.
pub(super) async fn page(node: &Node, ctx: &Ctx) -> Response {
    let Some(session) = &ctx.session else {
        return ctx.redirect("/login?next=/trust");
    };
    let worker = node.clone();
    let Some(state) =
        blocking(move || crate::web::api::trust_json(&worker).map_err(|e| e.to_string())).await
    else {
        return internal_error(ctx);
    };
    let csrf = session.csrf.as_str();
    let policy = &state["policy"];
    let open = policy["mode"] == "open";
    let title = ctx.t("Confiance", "Trust");
    let quarantine = list(&state, "quarantine");
    let trusted: Vec<Value> = list(&state, "trusted")
        .into_iter()
        .filter(|t| t["depth"].as_u64().unwrap_or(0) > 0)
        .collect();
    let body = html! {
        div.form-page.trust-page {
            h1 { (title) }
            @if let Some(done) = ctx.param("done") {
                p.notice role="status" #trust-done { (match done {
                    "follow" | "accept" => ctx.t("Hub suivi : ses enregistrements sont admis.", "Hub followed: its records are admitted."),
                    "unfollow" => ctx.t("Vous ne suivez plus ce hub.", "You no longer follow this hub."),
                    "block" | "reject" => ctx.t("Hub bloqué : ses enregistrements sont retirés et ne sont plus relayés.", "Hub blocked: its records are withdrawn and no longer relayed."),
                    _ => ctx.t("Hub débloqué.", "Hub unblocked."),
                }) }
            }
            p.lead #trust-mode {
                @if open {
                    (ctx.t("Ce nœud est en mode ", "This node runs in ")) strong { (ctx.t("ouvert", "open")) } (ctx.t(" : il accepte tout enregistrement valide, dans la limite de ", " mode: it accepts every valid record, within "))
                    (policy["quota_per_hour"]) (ctx.t(" par heure et ", " per hour and "))
                    (policy["quota_total"]) (ctx.t(" au total par hub qu'il ne suit pas.", " in all per hub it does not follow."))
                } @else {
                    (ctx.t("Ce nœud est en mode ", "This node runs in ")) strong { (ctx.t("toile de confiance", "web-of-trust")) } (ctx.t(
                        " : il accepte les enregistrements des hubs que vous suivez et des hubs qu'ils labellisent (jusqu'à ",
                        " mode: it accepts the records of the hubs you follow and of the hubs they label (up to ",
                    )) (policy["depth"]) (ctx.t(" niveaux). Les autres attendent en quarantaine votre décision.", " steps). Others wait in quarantine for your decision."))
                }
            }
            form #trust-form method="post" action="/trust" {
                input type="hidden" name="csrf" value=(csrf);
                div.field {
                    label for="trust-hub" { (ctx.t("Identifiant du hub", "Hub id")) }
                    span.hint #trust-hub-hint { (ctx.t("Il commence par z6Mk ; il figure sur la page du hub.", "It starts with z6Mk; it is on the hub's page.")) }
                    input #trust-hub type="text" name="hub" required spellcheck="false" aria-describedby="trust-hub-hint";
                }
                div.actions {
                    button type="submit" name="action" value="follow" { (ctx.t("Suivre", "Follow")) }
                    button.secondary type="submit" name="action" value="block" { (ctx.t("Bloquer", "Block")) }
                }
            }
            section #quarantine aria-labelledby="h-quarantine" {
                h2 #h-quarantine { (ctx.t("Quarantaine", "Quarantine")) " (" (quarantine.len()) ")" }
                @if quarantine.is_empty() {
                    p.muted { (ctx.t("Aucun enregistrement n'attend de décision.", "No record waits for a decision.")) }
                } @else {
                    p { (ctx.t(
                        "Ces hubs ont envoyé des enregistrements que ce nœud garde de côté : ni indexés, ni relayés. Accepter revient à suivre le hub ; refuser, à le bloquer.",
                        "These hubs sent records this node keeps aside: neither indexed nor relayed. Accepting means following the hub; rejecting, blocking it.",
                    )) }
                    ul.trust-list {
                        @for entry in &quarantine {
                            @let hub = entry["hub"].as_str().unwrap_or("");
                            li data-hub=(hub) {
                                (hub_cell(ctx, entry)) " — " (entry["records"]) " " (ctx.t("enregistrement(s), le dernier le ", "record(s), the last on "))
                                (date(ctx, entry["last_received"].as_u64().unwrap_or(0)))
                                (action_button(csrf, hub, "accept", ctx.t("Accepter (suivre)", "Accept (follow)"), false))
                                (action_button(csrf, hub, "reject", ctx.t("Refuser (bloquer)", "Reject (block)"), true))
                            }
                        }
                    }
                }
            }
            section #followed aria-labelledby="h-followed" {
                h2 #h-followed { (ctx.t("Hubs suivis", "Followed hubs")) }
                @let followed = list(&state, "followed");
                @if followed.is_empty() {
                    p.muted { (ctx.t("Vous ne suivez aucun autre hub.", "You follow no other hub.")) }
                }
                ul.trust-list {
                    @for entry in &followed {
                        @let hub = entry["hub"].as_str().unwrap_or("");
                        li data-hub=(hub) {
                            (hub_cell(ctx, entry))
                            (action_button(csrf, hub, "unfollow", ctx.t("Ne plus suivre", "Unfollow"), true))
                            (action_button(csrf, hub, "block", ctx.t("Bloquer", "Block"), true))
                        }
                    }
                }
            }
            @if !trusted.is_empty() {
                section #trusted aria-labelledby="h-trusted" {
                    h2 #h-trusted { (ctx.t("Hubs de confiance par leurs labels", "Hubs trusted through labels")) }
                    ul.trust-list {
                        @for entry in &trusted {
                            @let hub = entry["hub"].as_str().unwrap_or("");
                            li data-hub=(hub) {
                                (hub_cell(ctx, entry))
                                span.muted { " — " (ctx.t("labellisé par ", "labelled by ")) code { (abbreviated(entry["via"].as_str().unwrap_or("").trim_start_matches("did:key:"))) } }
                                (action_button(csrf, hub, "follow", ctx.t("Suivre", "Follow"), true))
                                (action_button(csrf, hub, "block", ctx.t("Bloquer", "Block"), true))
                            }
                        }
                    }
                }
            }
            section #blocked aria-labelledby="h-blocked" {
                h2 #h-blocked { (ctx.t("Hubs bloqués", "Blocked hubs")) }
                @let blocked = list(&state, "blocked");
                @if blocked.is_empty() {
                    p.muted { (ctx.t("Aucun hub bloqué.", "No blocked hub.")) }
                }
                ul.trust-list {
                    @for entry in &blocked {
                        @let hub = entry["hub"].as_str().unwrap_or("");
                        li data-hub=(hub) {
                            (hub_cell(ctx, entry))
                            (action_button(csrf, hub, "unblock", ctx.t("Débloquer", "Unblock"), true))
                        }
                    }
                }
            }
            p { a href=(view::hub_path(&node.hub_id())) { (ctx.t("La page de votre hub", "Your hub's page")) } }
        }
    };
    ctx.page(StatusCode::OK, title, Nav::Node, body)
}

/// `POST /trust`.
pub(super) async fn submit(node: &Node, ctx: &Ctx, request: &Request) -> Response {
    let Some(session) = &ctx.session else {
        return ctx.redirect("/login?next=/trust");
    };
    let pairs = form_pairs(request);
    if !session.csrf_matches(pair(&pairs, "csrf")) {
        return ctx.error_page(
            StatusCode::FORBIDDEN,
            ctx.t(
                "Ce formulaire n'a pas été envoyé depuis une page de ce nœud (jeton anti-falsification absent ou périmé). Rechargez la page et recommencez.",
                "This form was not sent from a page of this node (anti-forgery token missing or stale). Reload the page and try again.",
            ),
        );
    }
    let action = pair(&pairs, "action").to_owned();
    let hub = pair(&pairs, "hub").to_owned();
    let worker = node.clone();
    let chosen = action.clone();
    let outcome = tokio::task::spawn_blocking(move || {
        crate::web::api::apply_trust_action(&worker, &chosen, &hub)
    })
    .await;
    match outcome {
        Ok(Ok(_)) => ctx.redirect(&format!(
            "/trust{}",
            super::layout::query_string([("done", action.as_str())])
        )),
        Ok(Err((status, _, message))) if status == StatusCode::BAD_REQUEST => {
            ctx.error_page(StatusCode::BAD_REQUEST, &message)
        }
        _ => internal_error(ctx),
    }
}
