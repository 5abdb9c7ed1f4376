//! The HTML user interface: server-rendered pages (maud templates, which
//! escape by default), French first, with a little JavaScript that only
//! enhances them (search as you type); every page works without it.
//!
//! Every asset is embedded in the binary and every answer carries a strict
//! Content-Security-Policy: no inline script or style, nothing fetched from
//! another origin. Records come from untrusted hubs, so their text only ever
//! reaches a page through the templates' escaping (or the sanitising
//! Markdown renderer, [`markdown`]).
//!
//! One module per page; this one routes, works out the language and the
//! operator's session ([`Ctx`]), and wraps pages in the common layout with
//! the security headers.

mod assets;
mod endorse;
mod hubs;
mod i18n;
mod initiative;
mod layout;
mod map;
mod markdown;
mod node_mirrors;
mod node_page;
mod publish;
mod search;
mod session;
mod territory;
mod trust;

use std::time::Instant;

use maud::Markup;
use warp::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use warp::reply::Response;

/// The search page's reading of its query pairs, for [`crate::fuzzing`]:
/// the index request, the page's own link (`/?q=…`), and how many
/// parameters were dropped with a message.
pub(crate) fn search_page_params(
    query: &[(String, String)],
) -> (crate::index::SearchRequest, String, usize) {
    let params = search::params::SearchParams::parse(query);
    (params.request(), params.href(), params.problems.len())
}

pub(crate) use i18n::{Lang, LangExt};
pub(crate) use layout::Nav;
pub(crate) use session::{Session, Sessions};

use super::Request;
use crate::node::Node;

/// The Content-Security-Policy of every page.
pub(crate) const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; form-action 'self'; \
     frame-ancestors 'none'; base-uri 'none'";

/// What the UI keeps between requests.
#[derive(Default)]
pub(crate) struct UiState {
    /// Operator sessions (after a login with the operator token).
    pub(crate) sessions: Sessions,
}

/// Whether a path belongs to the UI (everything but the API and `/healthz`).
pub(super) fn is_ui_path(segments: &[String]) -> bool {
    !matches!(
        segments.first().map(String::as_str),
        Some("api" | "healthz")
    )
}

/// Whether a POST to this UI path needs an operator session, checked before
/// the body is read.
pub(super) fn post_needs_session(segments: &[String]) -> bool {
    matches!(
        segments.first().map(String::as_str),
        Some("publish" | "logout" | "trust" | "endorse")
    )
}

/// Whether the request carries a live operator session.
pub(super) fn has_session(state: &UiState, headers: &HeaderMap) -> bool {
    cookie(headers, session::COOKIE).is_some_and(|id| state.sessions.get(id).is_some())
}

/// 403 for an operator's form posted without a session (before its body is read).
pub(super) fn forbidden_without_session() -> Response {
    let mut response =
        Response::new("403: this form needs the operator's session: log in at /login\n".into());
    *response.status_mut() = StatusCode::FORBIDDEN;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    security_headers(&mut response);
    response
}

/// What every page handler gets: the language, the request's place, the
/// operator's session if any.
pub(crate) struct Ctx {
    /// The language of the answer.
    pub(crate) lang: Lang,
    /// Whether the language was chosen by `?lang=` (the answer sets the cookie).
    lang_chosen: bool,
    /// The request's path (as received, percent-encoded).
    pub(crate) path: String,
    /// The request's query pairs, decoded, `lang` removed.
    pub(crate) query: Vec<(String, String)>,
    /// `http://host:port` as the client reached this node (the `Host`
    /// header when it is a plausible host, else the node's own address).
    pub(crate) base_url: String,
    /// The operator's session, when logged in.
    pub(crate) session: Option<Session>,
    started: Instant,
}

impl Ctx {
    /// The French or the English text, by the page's language.
    pub(crate) fn t<'a>(&self, fr: &'a str, en: &'a str) -> &'a str {
        match self.lang {
            Lang::Fr => fr,
            Lang::En => en,
        }
    }

    /// Whether the operator is logged in.
    pub(crate) fn is_operator(&self) -> bool {
        self.session.is_some()
    }

    /// The first value of a query parameter.
    pub(crate) fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A full page: the layout around `body`, with the security headers.
    pub(crate) fn page(&self, status: StatusCode, title: &str, nav: Nav, body: Markup) -> Response {
        let markup = layout::page(self, title, nav, body);
        self.html(status, markup.into_string())
    }

    /// A piece of page (for the JavaScript), with the same headers.
    pub(crate) fn fragment(&self, markup: Markup) -> Response {
        self.html(StatusCode::OK, markup.into_string())
    }

    /// A page that says what went wrong.
    pub(crate) fn error_page(&self, status: StatusCode, message: &str) -> Response {
        let title = match status {
            StatusCode::NOT_FOUND => self.t("Page introuvable", "Page not found"),
            StatusCode::FORBIDDEN => self.t("Action refusée", "Forbidden"),
            StatusCode::UNAUTHORIZED => self.t("Connexion requise", "Login required"),
            StatusCode::BAD_REQUEST => self.t("Requête invalide", "Bad request"),
            _ => self.t("Erreur", "Error"),
        };
        let body = maud::html! {
            h1 { (title) }
            p.error role="alert" { (message) }
            p { a href="/" { (self.t("Retour à la recherche", "Back to the search")) } }
        };
        self.page(status, title, Nav::None, body)
    }

    /// 303 See Other to a local path.
    pub(crate) fn redirect(&self, to: &str) -> Response {
        // Only local paths: never an open redirect.
        let to = if to.starts_with('/') && !to.starts_with("//") && !to.contains('\\') {
            to
        } else {
            "/"
        };
        let mut response = Response::new(Vec::new().into());
        *response.status_mut() = StatusCode::SEE_OTHER;
        if let Ok(value) = HeaderValue::from_str(to) {
            response.headers_mut().insert(header::LOCATION, value);
        }
        self.finish(response)
    }

    fn html(&self, status: StatusCode, body: String) -> Response {
        let mut response = Response::new(body.into());
        *response.status_mut() = status;
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        // Pages of a logged-in operator hold a CSRF token (and the login
        // and publish forms are the operator's): never stored by any cache.
        let private = self.session.is_some()
            || self.path.starts_with("/login")
            || self.path.starts_with("/publish")
            || self.path.starts_with("/trust");
        response.headers_mut().insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static(if private {
                "no-store, private"
            } else {
                "no-cache"
            }),
        );
        response.headers_mut().insert(
            header::VARY,
            HeaderValue::from_static("Accept-Language, Cookie"),
        );
        self.finish(response)
    }

    /// Security headers, the language cookie, and the time spent.
    fn finish(&self, mut response: Response) -> Response {
        security_headers(&mut response);
        if self.lang_chosen {
            let cookie = format!(
                "essaim_lang={}; Path=/; Max-Age=31536000; SameSite=Lax",
                self.lang.code()
            );
            if let Ok(value) = HeaderValue::from_str(&cookie) {
                response.headers_mut().append(header::SET_COOKIE, value);
            }
        }
        let ms = self.started.elapsed().as_secs_f64() * 1_000.0;
        if let Ok(value) = HeaderValue::from_str(&format!("app;dur={ms:.2}")) {
            response.headers_mut().insert("server-timing", value);
        }
        response
    }
}

/// The headers every UI answer carries.
pub(super) fn security_headers(response: &mut Response) {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
}

/// A cookie's value from the request's `Cookie` headers.
pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Build the request's context.
fn context(node: &Node, state: &UiState, request: &Request, path: &str) -> Ctx {
    let started = Instant::now();
    let chosen = request.param("lang").and_then(Lang::from_code);
    let lang = chosen
        .or_else(|| cookie(&request.headers, "essaim_lang").and_then(Lang::from_code))
        .unwrap_or_else(|| {
            Lang::from_accept_language(
                request
                    .headers
                    .get(header::ACCEPT_LANGUAGE)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or(""),
            )
        });
    let session = cookie(&request.headers, session::COOKIE).and_then(|id| state.sessions.get(id));
    Ctx {
        lang,
        lang_chosen: chosen.is_some(),
        path: path.to_owned(),
        query: request
            .query
            .iter()
            .filter(|(k, _)| k != "lang")
            .cloned()
            .collect(),
        base_url: base_url(node, request),
        session,
        started,
    }
}

/// `http://host[:port]` for commands shown to the user (clone URLs): the
/// `Host` the client used when it is a plain host and port, else the
/// node's own HTTP address.
fn base_url(node: &Node, request: &Request) -> String {
    let plausible = |host: &str| {
        !host.is_empty()
            && host.len() <= 255
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b))
    };
    match request
        .headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
    {
        Some(host) if plausible(host) => format!("http://{host}"),
        _ => match crate::node::running_node(node.data_dir()) {
            Some(address) => format!("http://{address}"),
            None => "http://127.0.0.1:8080".to_owned(),
        },
    }
}

/// Answer a UI request. `path` is the raw request path.
pub(super) async fn dispatch(
    node: &Node,
    state: &UiState,
    request: Request,
    path: &str,
) -> Response {
    let ctx = context(node, state, &request, path);
    let segments: Vec<&str> = request.segments.iter().map(String::as_str).collect();
    // HEAD is GET without the body (hyper drops it).
    let method = if request.method == Method::HEAD {
        Method::GET
    } else {
        request.method.clone()
    };
    match (&method, segments.as_slice()) {
        (&Method::GET, []) => search::page(node, &ctx).await,
        (&Method::GET, ["map"]) => map::page(node, &ctx).await,
        (&Method::GET, ["i", hub, slug]) => initiative::page(node, &ctx, hub, slug).await,
        (&Method::GET, ["hubs"]) => hubs::list(node, &ctx).await,
        (&Method::GET, ["hubs", hub]) => hubs::page(node, &ctx, hub).await,
        (&Method::GET, ["node"]) => node_page::page(node, &ctx).await,
        (&Method::GET, ["login"]) => publish::login_form(&ctx),
        (&Method::POST, ["login"]) => publish::login(node, state, &ctx, &request),
        (&Method::POST, ["logout"]) => publish::logout(state, &ctx, &request),
        (&Method::GET, ["publish"]) => publish::form(node, &ctx).await,
        (&Method::POST, ["publish"]) => publish::submit(node, &ctx, &request).await,
        (&Method::GET, ["trust"]) => trust::page(node, &ctx).await,
        (&Method::POST, ["trust"]) => trust::submit(node, &ctx, &request).await,
        (&Method::POST, ["endorse"]) => endorse::submit(node, &ctx, &request).await,
        (&Method::GET, ["territoire"]) => territory::index(&ctx).await,
        (&Method::GET, ["territoire", code]) => territory::page(node, &ctx, code).await,
        (&Method::GET, ["assets", name]) => assets::serve(name),
        (&Method::GET, _) => ctx.error_page(
            StatusCode::NOT_FOUND,
            ctx.t(
                "Cette page n'existe pas sur ce nœud.",
                "This page does not exist on this node.",
            ),
        ),
        _ => {
            let mut response = ctx.error_page(
                StatusCode::METHOD_NOT_ALLOWED,
                ctx.t(
                    "Cette adresse ne répond pas à cette méthode.",
                    "This address does not answer this method.",
                ),
            );
            let allow = match segments.as_slice() {
                ["login" | "publish" | "trust"] => "GET, HEAD, POST",
                ["logout" | "endorse"] => "POST",
                _ => "GET, HEAD",
            };
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static(allow));
            response
        }
    }
}

/// Run blocking store or index work off the async workers; a failure is
/// logged and becomes `None` (the page then says the node failed).
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Option<T> {
    match tokio::task::spawn_blocking(f).await {
        Ok(Ok(value)) => Some(value),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "page failed");
            None
        }
        Err(e) => {
            tracing::error!(error = %e, "page task failed");
            None
        }
    }
}

/// The page for a failure of the node itself (details in the log).
/// The `mailto:` link of a contact address. RFC 6068 reserves `?`, `#`,
/// `%` and `&` in a mailto URL: left as they are, an address such as
/// `a@b.fr?bcc=c@d.fr` would add recipients in the visitor's mail client.
/// They, and any byte outside a plain address's characters, are
/// percent-encoded, so the link opens exactly the address shown.
pub(crate) fn mailto_href(email: &str) -> String {
    let mut href = String::from("mailto:");
    for byte in email.bytes() {
        if byte.is_ascii_alphanumeric() || b"@.-_+!$'*=^`{|}~".contains(&byte) {
            href.push(char::from(byte));
        } else {
            href.push_str(&format!("%{byte:02X}"));
        }
    }
    href
}

pub(crate) fn internal_error(ctx: &Ctx) -> Response {
    ctx.error_page(
        StatusCode::INTERNAL_SERVER_ERROR,
        ctx.t(
            "Le nœud n'a pas pu répondre ; son opérateur trouvera la raison dans son journal.",
            "The node failed to answer; its operator will find the reason in its log.",
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::mailto_href;

    #[test]
    fn a_mailto_link_opens_only_the_address_shown() {
        assert_eq!(mailto_href("contact@ruche.fr"), "mailto:contact@ruche.fr");
        assert_eq!(
            mailto_href("a+b.c@x-y.fr"),
            "mailto:a+b.c@x-y.fr",
            "plain address characters stay"
        );
        // Headers and fragments cannot ride along with the address.
        assert_eq!(
            mailto_href("a@b.fr?bcc=c@d.fr&subject=x#y"),
            "mailto:a@b.fr%3Fbcc=c@d.fr%26subject=x%23y"
        );
        assert_eq!(mailto_href("a%0A@b.fr"), "mailto:a%250A@b.fr");
        assert_eq!(mailto_href("é@b.fr"), "mailto:%C3%A9@b.fr");
    }
}
