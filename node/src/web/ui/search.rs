//! The search page (`/`): the search box, results, facets, sort, pages.

use warp::http::StatusCode;
use warp::reply::Response;

use super::{Ctx, Nav};
use crate::node::Node;

/// `GET /`.
pub(super) async fn page(_node: &Node, ctx: &Ctx) -> Response {
    ctx.page(
        StatusCode::OK,
        ctx.t("Rechercher", "Search"),
        Nav::Search,
        maud::html! { h1 { (ctx.t("Rechercher", "Search")) } },
    )
}
