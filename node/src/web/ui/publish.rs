//! The operator's pages: login (`/login`), logout, and the publish form
//! (`/publish`).
//!
//! The operator proves who they are once with the operator token (the file
//! `operator.token` in the node's data directory) and gets a session cookie
//! (`HttpOnly; SameSite=Strict`). Every form they post carries the
//! session's CSRF token, checked before anything is done; a POST to
//! `/publish` or `/logout` without a live session is refused before its body
//! is read (see `web::handle`). The login form itself is protected against
//! login CSRF by checking the `Origin` header against the `Host`.
//!
//! The publish form's fields are named by the draft's JSON paths; the form
//! becomes a JSON draft read by [`crate::draft`], exactly like a draft file
//! given to `essaim publish`, so the form and the command line accept the
//! same records and report the same errors.

mod form;

use essaim_protocol::record::Slug;
use essaim_protocol::{Address, Body, Kind};
use maud::{Markup, html};
use warp::http::{HeaderValue, StatusCode, header};
use warp::reply::Response;

use super::initiative::view;
use super::{Ctx, Nav, UiState, blocking, internal_error, session};
use crate::draft::{self, DraftError, Format};
use crate::node::{Node, PublishError};
use crate::web::Request;
use form::{FieldError, Form, Values};

/// Most fields a posted form may have (the publish form has about 150).
const MAX_FORM_FIELDS: usize = 400;
/// Most errors listed for one submission.
const MAX_ERRORS: usize = 16;

/// The local path to go to after logging in (`/publish` unless `next` is
/// another local path).
fn next_path(next: Option<&str>) -> String {
    match next {
        Some(next)
            if next.starts_with('/')
                && !next.starts_with("//")
                && !next.contains('\\')
                && next.len() <= 512
                && next.bytes().all(|b| b.is_ascii_graphic()) =>
        {
            next.to_owned()
        }
        _ => "/publish".to_owned(),
    }
}

/// The pairs of a posted `application/x-www-form-urlencoded` body, or
/// `None` when it has too many fields.
fn form_pairs(request: &Request) -> Option<Values> {
    let pairs: Values = url::form_urlencoded::parse(&request.body)
        .take(MAX_FORM_FIELDS + 1)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    (pairs.len() <= MAX_FORM_FIELDS).then_some(pairs)
}

fn pair<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn too_many_fields(ctx: &Ctx) -> Response {
    ctx.error_page(
        StatusCode::BAD_REQUEST,
        ctx.t(
            "Ce formulaire a trop de champs.",
            "This form has too many fields.",
        ),
    )
}

fn csrf_refused(ctx: &Ctx) -> Response {
    ctx.error_page(
        StatusCode::FORBIDDEN,
        ctx.t(
            "Ce formulaire n'a pas été envoyé depuis une page de ce nœud (jeton anti-falsification absent ou périmé). Rechargez la page et recommencez.",
            "This form was not sent from a page of this node (anti-forgery token missing or stale). Reload the page and try again.",
        ),
    )
}

/// The login page, with an error after a wrong token.
fn login_page(ctx: &Ctx, status: StatusCode, next: &str, error: Option<&str>) -> Response {
    let title = ctx.t("Connexion de l'opérateur", "Operator login");
    let body = html! {
        div.form-page {
            h1 { (title) }
            p.lead { (ctx.t(
                "Publier au nom du hub de ce nœud demande le jeton de l'opérateur.",
                "Publishing in the name of this node's hub needs the operator token.",
            )) }
            @if let Some(error) = error {
                p.error role="alert" #login-error { (error) }
            }
            @if let Some(session) = &ctx.session {
                p.notice {
                    (ctx.t("Vous êtes déjà connecté. ", "You are already logged in. "))
                    a href=(next) { (ctx.t("Continuer", "Continue")) }
                }
                (logout_form(ctx, session))
            }
            form #login method="post" action="/login" {
                input type="hidden" name="next" value=(next);
                div.field {
                    label for="token" { (ctx.t("Jeton de l'opérateur", "Operator token")) }
                    span.hint #token-hint {
                        (ctx.t("Il se trouve dans le fichier ", "It is in the file "))
                        code { "operator.token" }
                        (ctx.t(
                            " du dossier de données du nœud (par défaut ~/.local/share/essaim/). Seul l'opérateur peut le lire.",
                            " in the node's data directory (by default ~/.local/share/essaim/). Only the operator can read it.",
                        ))
                    }
                    input #token type="password" name="token" required autocomplete="current-password"
                        spellcheck="false" aria-describedby="token-hint"
                        aria-invalid=[error.is_some().then_some("true")];
                }
                div.actions {
                    button type="submit" { (ctx.t("Se connecter", "Log in")) }
                }
            }
        }
    };
    ctx.page(status, title, Nav::Publish, body)
}

/// The logout button (a form: logging out changes state).
fn logout_form(ctx: &Ctx, session: &session::Session) -> Markup {
    html! {
        form.logout-form method="post" action="/logout" {
            input type="hidden" name="csrf" value=(session.csrf);
            button.secondary type="submit" { (ctx.t("Se déconnecter", "Log out")) }
        }
    }
}

/// `GET /login`.
pub(super) fn login_form(ctx: &Ctx) -> Response {
    login_page(ctx, StatusCode::OK, &next_path(ctx.param("next")), None)
}

/// Whether a POST comes from a page of this node: its `Origin`, when the
/// browser sends one, names the host the request was sent to.
fn same_origin(request: &Request) -> bool {
    let Some(origin) = request.headers.get(header::ORIGIN) else {
        return true;
    };
    let host = request
        .headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let origin = origin.to_str().unwrap_or("");
    let origin_host = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        .unwrap_or("");
    !host.is_empty() && origin_host.eq_ignore_ascii_case(host)
}

/// `POST /login`.
pub(super) fn login(node: &Node, state: &UiState, ctx: &Ctx, request: &Request) -> Response {
    if !same_origin(request) {
        return ctx.error_page(
            StatusCode::FORBIDDEN,
            ctx.t(
                "La connexion doit venir d'une page de ce nœud.",
                "The login must come from a page of this node.",
            ),
        );
    }
    let Some(pairs) = form_pairs(request) else {
        return too_many_fields(ctx);
    };
    let next = next_path(pair(&pairs, "next"));
    // The token is compared in constant time and kept nowhere.
    let token = pair(&pairs, "token").unwrap_or("").trim();
    if token.is_empty() || !node.is_operator(token) {
        tracing::info!("operator login refused: wrong token");
        return login_page(
            ctx,
            StatusCode::UNAUTHORIZED,
            &next,
            Some(ctx.t(
                "Ce n'est pas le jeton de l'opérateur de ce nœud.",
                "This is not the operator token of this node.",
            )),
        );
    }
    let Some(session) = state.sessions.create() else {
        return internal_error(ctx);
    };
    let mut response = ctx.redirect(&next);
    // No `Secure`: the node serves plain HTTP (on loopback, or behind a
    // reverse proxy that terminates TLS), and cannot tell whether the
    // browser reached it over https; a `Secure` cookie over plain http
    // would never come back. A proxy may add it.
    let cookie = format!(
        "{}={}; HttpOnly; SameSite=Strict; Path=/",
        session::COOKIE,
        session.id
    );
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    tracing::info!("operator logged in");
    response
}

/// `POST /logout`.
pub(super) fn logout(state: &UiState, ctx: &Ctx, request: &Request) -> Response {
    let Some(session) = &ctx.session else {
        return csrf_refused(ctx);
    };
    let Some(pairs) = form_pairs(request) else {
        return too_many_fields(ctx);
    };
    if !session.csrf_matches(pair(&pairs, "csrf").unwrap_or("")) {
        return csrf_refused(ctx);
    }
    state.sessions.remove(&session.id);
    let mut response = ctx.redirect("/");
    let cookie = format!(
        "{}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0",
        session::COOKIE
    );
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// The hub's initiatives, to pick one to edit: (slug, name).
async fn own_initiatives(node: &Node) -> Vec<(String, String)> {
    let worker = node.clone();
    blocking(move || {
        let heads = worker
            .store()
            .heads_of_kind(Kind::Initiative, Some(&worker.hub_id()), 0, u64::MAX, 500)
            .map_err(|e| e.to_string())?;
        Ok(heads
            .iter()
            .filter_map(|h| match h.record.body() {
                Body::Initiative(i) => Some((i.slug.to_string(), i.name.clone())),
                _ => None,
            })
            .collect())
    })
    .await
    .unwrap_or_default()
}

/// The publish page: the form with its values and errors.
async fn form_page(
    node: &Node,
    ctx: &Ctx,
    status: StatusCode,
    values: &Values,
    errors: &[FieldError],
    notice: Option<&str>,
) -> Response {
    let Some(session) = &ctx.session else {
        return ctx.redirect("/login?next=/publish");
    };
    let hub = node.hub_id();
    let names = {
        let worker = node.clone();
        blocking(move || view::hub_names(worker.store(), [hub]).map_err(|e| e.to_string()))
            .await
            .unwrap_or_default()
    };
    let own = own_initiatives(node).await;
    let title = ctx.t("Publier une initiative", "Publish an initiative");
    let fields = Form::new(ctx, values, errors);
    let body = html! {
        div.form-page {
            div.session-bar {
                p {
                    (ctx.t("Connecté comme opérateur du hub ", "Logged in as the operator of the hub "))
                    (view::hub_link(ctx, &names, &hub))
                }
                (logout_form(ctx, session))
            }
            h1 { (title) }
            p.lead { (ctx.t(
                "L'initiative sera signée avec la clé de votre hub, enregistrée sur ce nœud, indexée, puis transmise aux nœuds qui suivent votre hub. Publier de nouveau le même identifiant court la met à jour.",
                "The initiative will be signed with your hub's key, stored on this node, indexed, then passed on to the nodes that follow your hub. Publishing the same short id again updates it.",
            )) }
            @if let Some(notice) = notice { p.notice role="status" { (notice) } }
            @if !own.is_empty() {
                details.edit-list {
                    summary { (ctx.t("Modifier une initiative déjà publiée", "Edit an initiative already published")) " (" (own.len()) ")" }
                    ul {
                        @for (slug, name) in &own {
                            li { a href=(format!("/publish?edit={slug}")) { (name) } }
                        }
                    }
                }
            }
            @if !errors.is_empty() {
                div #form-errors .form-errors role="alert" tabindex="-1" {
                    h2 {
                        @if errors.len() == 1 { (ctx.t("Une erreur empêche la publication :", "One error prevents publishing:")) }
                        @else { (errors.len()) (ctx.t(" erreurs empêchent la publication :", " errors prevent publishing:")) }
                    }
                    ul {
                        @for e in errors {
                            li {
                                @if e.field.is_empty() { (e.message) }
                                @else { a href=(format!("#{}", form::field_id(&e.field))) { (field_label(ctx, &e.field)) } " : " (e.message) }
                            }
                        }
                    }
                }
            }
            form #publish method="post" action="/publish" novalidate {
                input type="hidden" name="csrf" value=(session.csrf);
                (fields.fields())
                div.actions {
                    button type="submit" { (ctx.t("Signer et publier", "Sign and publish")) }
                    a href="/" { (ctx.t("Annuler", "Cancel")) }
                }
            }
        }
    };
    ctx.page(status, title, Nav::Publish, body)
}

/// A field's name for the error summary (its path in the draft).
fn field_label(ctx: &Ctx, field: &str) -> String {
    let simple = match field {
        "slug" => ctx.t("Identifiant court", "Short id"),
        "name" => ctx.t("Nom", "Name"),
        "summary.fr" => ctx.t("Résumé en français", "Summary in French"),
        "summary.en" => ctx.t("Résumé en anglais", "Summary in English"),
        "description.fr" => ctx.t("Description en français", "Description in French"),
        "description.en" => ctx.t("Description en anglais", "Description in English"),
        "themes" => ctx.t("Thèmes", "Themes"),
        "audiences" => ctx.t("Publics", "Audiences"),
        "stage" => ctx.t("Stade", "Stage"),
        "replication.model" => ctx.t("Modèle d'essaimage", "Replication model"),
        "replication.kit" => ctx.t("Kit d'essaimage", "Replication kit"),
        "origin" => ctx.t("Territoire d'origine", "Territory of origin"),
        "territories" => ctx.t("Territoires d'action", "Territories"),
        "website" => ctx.t("Site web", "Website"),
        "carrier.name" => ctx.t("Structure", "Organisation"),
        "carrier.legal_form" => ctx.t("Forme juridique", "Legal form"),
        "carrier.siren" => "SIREN",
        "sdgs" => ctx.t(
            "Objectifs de développement durable",
            "Sustainable Development Goals",
        ),
        "needs.funding_cents" => ctx.t("Financement recherché", "Funding sought"),
        "needs.partners" => ctx.t("Partenaires recherchés", "Partners sought"),
        "needs.territories" => ctx.t("Territoires où essaimer", "Territories to replicate in"),
        _ => "",
    };
    if !simple.is_empty() {
        return simple.to_owned();
    }
    // `repositories[1].url` → "Dépôt 2 (url)".
    let (group, rest) = field.split_once('[').unwrap_or((field, ""));
    let (index, part) = rest.split_once("].").unwrap_or(("0", rest));
    let n = index.parse::<usize>().map_or(1, |i| i + 1);
    let group = match group {
        "repositories" => ctx.t("Dépôt", "Repository"),
        "impact" => ctx.t("Indicateur", "Indicator"),
        "contacts" => ctx.t("Contact", "Contact"),
        other => other,
    };
    let part = match part {
        "name" if group == ctx.t("Dépôt", "Repository") => ctx.t("nom court", "short name"),
        "name" => ctx.t("nom", "name"),
        "url" => ctx.t("adresse", "address"),
        "licence" => ctx.t("licence", "licence"),
        "commit" => ctx.t("commit", "commit"),
        "value" => ctx.t("valeur", "value"),
        "unit" => ctx.t("unité", "unit"),
        "period" => ctx.t("période", "period"),
        "email" => ctx.t("adresse électronique", "e-mail"),
        other => other,
    };
    format!("{group} {n} ({part})")
}

/// `GET /publish`.
pub(super) async fn form(node: &Node, ctx: &Ctx) -> Response {
    if !ctx.is_operator() {
        return match ctx.param("edit") {
            Some(slug) => {
                let next = format!("/publish{}", super::layout::query_string([("edit", slug)]));
                ctx.redirect(&format!(
                    "/login{}",
                    super::layout::query_string([("next", next.as_str())])
                ))
            }
            None => ctx.redirect("/login?next=/publish"),
        };
    }
    let Some(edit) = ctx.param("edit").filter(|s| !s.is_empty()) else {
        return form_page(node, ctx, StatusCode::OK, &Vec::new(), &[], None).await;
    };
    let Ok(slug) = edit.parse::<Slug>() else {
        let notice = ctx.t(
            "Cet identifiant court n'est pas valide ; le formulaire est vide.",
            "This short id is not valid; the form is empty.",
        );
        return form_page(node, ctx, StatusCode::OK, &Vec::new(), &[], Some(notice)).await;
    };
    let address = Address {
        author: node.hub_id(),
        kind: Kind::Initiative,
        slug,
    };
    let worker = node.clone();
    let head = blocking(move || worker.store().head(&address).map_err(|e| e.to_string())).await;
    let Some(head) = head else {
        return internal_error(ctx);
    };
    match head.as_ref().map(|h| h.record.body()) {
        Some(Body::Initiative(initiative)) => {
            let values = form::values_of(ctx, initiative);
            let notice = ctx.t(
                "Vous modifiez la version publiée : publier enregistre une nouvelle version.",
                "You are editing the published version: publishing records a new version.",
            );
            form_page(node, ctx, StatusCode::OK, &values, &[], Some(notice)).await
        }
        _ => {
            let values = vec![("slug".to_owned(), edit.to_owned())];
            let notice = ctx.t(
                "Votre hub n'a pas (ou plus) d'initiative avec cet identifiant : publier en créera une.",
                "Your hub has no (or no longer an) initiative with this short id: publishing will create one.",
            );
            form_page(node, ctx, StatusCode::OK, &values, &[], Some(notice)).await
        }
    }
}

/// `POST /publish`.
pub(super) async fn submit(node: &Node, ctx: &Ctx, request: &Request) -> Response {
    let Some(session) = &ctx.session else {
        return csrf_refused(ctx);
    };
    let Some(pairs) = form_pairs(request) else {
        return too_many_fields(ctx);
    };
    if !session.csrf_matches(pair(&pairs, "csrf").unwrap_or("")) {
        return csrf_refused(ctx);
    }
    let values: Values = pairs.into_iter().filter(|(k, _)| k != "csrf").collect();
    let (text, mut rows, mut errors) = form::draft(ctx, &values);
    let now = crate::unix_now();
    let seq = crate::unix_now_ms();
    let parse = |text: &str| draft::parse_with_seq(text, Format::Json, &node.hub_id(), now, seq);
    let body = match parse(&text) {
        Ok(body) if errors.is_empty() => body,
        first => {
            // Read the draft again without each faulty part, to show every
            // error at once rather than one per submission.
            let mut outcome = first;
            let mut draft_value: serde_json::Value =
                serde_json::from_str(&text).unwrap_or_default();
            for _ in 0..MAX_ERRORS {
                match outcome {
                    Ok(_) => break,
                    Err(DraftError::Record(e)) => {
                        let field = e
                            .field()
                            .and_then(|p| form::form_field(p, &rows))
                            .unwrap_or_default();
                        // A field that already has an error keeps its first.
                        if field.is_empty() || !errors.iter().any(|x| x.field == field) {
                            errors.push(FieldError {
                                field,
                                message: form::message(ctx, &e),
                            });
                        }
                        // Each turn takes something out (or puts a valid
                        // stand-in in); MAX_ERRORS bounds the turns.
                        if !form::set_aside(&mut draft_value, &e, &mut rows) {
                            break;
                        }
                        outcome = parse(&draft_value.to_string());
                    }
                    Err(other) => {
                        errors.push(FieldError {
                            field: String::new(),
                            message: other.to_string(),
                        });
                        break;
                    }
                }
            }
            return form_page(
                node,
                ctx,
                StatusCode::UNPROCESSABLE_ENTITY,
                &values,
                &errors,
                None,
            )
            .await;
        }
    };
    let slug = body.slug().to_string();
    match node.publish(body).await {
        Ok((record, _)) => {
            tracing::info!(id = %record.id(), %slug, "published from the web form");
            ctx.redirect(&format!("/i/{}/{slug}?published=1", node.hub_id().short()))
        }
        Err(PublishError::Record(e)) => {
            let field = e
                .field()
                .and_then(|p| form::form_field(p, &rows))
                .unwrap_or_default();
            errors.push(FieldError {
                field,
                message: form::message(ctx, &e),
            });
            form_page(
                node,
                ctx,
                StatusCode::UNPROCESSABLE_ENTITY,
                &values,
                &errors,
                None,
            )
            .await
        }
        Err(e) => {
            tracing::error!(error = %e, "publishing from the web form failed");
            internal_error(ctx)
        }
    }
}
