//! The hubs (`/hubs`) and each hub's page (`/hubs/{hub}`).

use warp::http::StatusCode;
use warp::reply::Response;

use super::{Ctx, Nav};
use crate::node::Node;

/// `GET /hubs`.
pub(super) async fn list(_node: &Node, ctx: &Ctx) -> Response {
    ctx.page(
        StatusCode::OK,
        "Hubs",
        Nav::Hubs,
        maud::html! { h1 { "Hubs" } },
    )
}

/// `GET /hubs/{hub}`.
pub(super) async fn page(_node: &Node, ctx: &Ctx, hub: &str) -> Response {
    ctx.page(StatusCode::OK, hub, Nav::Hubs, maud::html! { h1 { (hub) } })
}
