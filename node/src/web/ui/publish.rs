//! The operator's pages: login (`/login`), logout, and the publish form
//! (`/publish`).

use warp::http::StatusCode;
use warp::reply::Response;

use super::{Ctx, Nav, UiState};
use crate::node::Node;
use crate::web::Request;

/// `GET /login`.
pub(super) fn login_form(ctx: &Ctx) -> Response {
    ctx.page(
        StatusCode::OK,
        ctx.t("Connexion", "Login"),
        Nav::Publish,
        maud::html! { h1 { (ctx.t("Connexion", "Login")) } },
    )
}

/// `POST /login`.
pub(super) fn login(_node: &Node, _state: &UiState, ctx: &Ctx, _request: &Request) -> Response {
    ctx.redirect("/publish")
}

/// `POST /logout`.
pub(super) fn logout(_state: &UiState, ctx: &Ctx, _request: &Request) -> Response {
    ctx.redirect("/")
}

/// `GET /publish`.
pub(super) async fn form(_node: &Node, ctx: &Ctx) -> Response {
    if !ctx.is_operator() {
        return ctx.redirect("/login?next=/publish");
    }
    ctx.page(
        StatusCode::OK,
        ctx.t("Publier", "Publish"),
        Nav::Publish,
        maud::html! { h1 { (ctx.t("Publier", "Publish")) } },
    )
}

/// `POST /publish`.
pub(super) async fn submit(_node: &Node, ctx: &Ctx, _request: &Request) -> Response {
    ctx.redirect("/publish")
}
