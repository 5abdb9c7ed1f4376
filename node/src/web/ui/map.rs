//! The map page (`/map`): départements coloured by number of initiatives.

use warp::http::StatusCode;
use warp::reply::Response;

use super::{Ctx, Nav};
use crate::node::Node;

/// `GET /map`.
pub(super) async fn page(_node: &Node, ctx: &Ctx) -> Response {
    ctx.page(
        StatusCode::OK,
        ctx.t("Carte", "Map"),
        Nav::Map,
        maud::html! { h1 { (ctx.t("Carte", "Map")) } },
    )
}
