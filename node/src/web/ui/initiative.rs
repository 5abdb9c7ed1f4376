//! An initiative's page (`/i/{hub}/{slug}`).

use warp::http::StatusCode;
use warp::reply::Response;

use super::{Ctx, Nav};
use crate::node::Node;

/// `GET /i/{hub}/{slug}`.
pub(super) async fn page(_node: &Node, ctx: &Ctx, _hub: &str, slug: &str) -> Response {
    ctx.page(
        StatusCode::OK,
        slug,
        Nav::Search,
        maud::html! { h1 { (slug) } },
    )
}
