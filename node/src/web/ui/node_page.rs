//! This node's page (`/node`): identity, counts, peers, sync, mirrors.

use warp::http::StatusCode;
use warp::reply::Response;

use super::{Ctx, Nav};
use crate::node::Node;

/// `GET /node`.
pub(super) async fn page(node: &Node, ctx: &Ctx) -> Response {
    ctx.page(
        StatusCode::OK,
        ctx.t("Ce nœud", "This node"),
        Nav::Node,
        maud::html! { h1 { (ctx.t("Ce nœud", "This node")) } p #identity { (node.hub_id().to_string()) } },
    )
}
