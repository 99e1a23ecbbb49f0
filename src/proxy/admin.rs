//! The admin API of replay and record, on a listener of its own
//! (`--admin-listen`), never on the AWS listener.
//!
//! Any path can be an AWS path: an S3 object key `__vcr/status` is sent as
//! `GET /__vcr/status` (virtual-hosted) or `GET /bucket/__vcr/status`, so no
//! prefix on the AWS listener is safe from shadowing a real request. On its
//! own port the admin API cannot collide with anything: the AWS listener
//! replays, forwards and records every path, `/__vcr/...` included, and the
//! admin listener answers only these routes:
//!
//! - `POST /__vcr/rewind`: start the replay over;
//! - `GET /__vcr/status`: how many interactions were used, per cassette.
//!
//! A proxy with no replay phase (`record`) has nothing to rewind or report
//! and says so with a 404 rather than inventing an answer. The admin
//! listener passes the same gate as the AWS one (loopback unless
//! `--allow-remote`, no browser).

use super::Proxy;
use super::gate::Gate;
use crate::http::{Handler, Request, Response};
use http::{Method, StatusCode};
use serde_json::json;
use std::sync::Arc;

/// The prefix of every admin route.
pub const PREFIX: &str = "/__vcr/";

/// The admin API of one proxy.
pub struct Admin {
    proxy: Arc<Proxy>,
    gate: Gate,
}

impl Admin {
    pub fn new(proxy: Arc<Proxy>, gate: Gate) -> Self {
        Self { proxy, gate }
    }

    fn route(&self, request: &Request) -> Response {
        let path = request.uri.path();
        let replay = self.proxy.replay();
        match (&request.method, path.strip_prefix(PREFIX), replay) {
            (&Method::POST, Some("rewind"), Some(replay)) => {
                replay.rewind();
                Response::json(StatusCode::OK, &json!({"rewound": true}))
            }
            (&Method::GET, Some("status"), Some(replay)) => {
                Response::json(StatusCode::OK, &replay.status())
            }
            (&Method::POST, Some("rewind"), None) | (&Method::GET, Some("status"), None) => error(
                StatusCode::NOT_FOUND,
                "this proxy records without replaying: it has no replay to rewind or report",
            ),
            _ => error(
                StatusCode::NOT_FOUND,
                &format!(
                    "no admin route {} {path}; there are POST {PREFIX}rewind and GET {PREFIX}status",
                    request.method
                ),
            ),
        }
    }
}

impl Handler for Admin {
    async fn handle(&self, request: Request) -> Response {
        if let Err(error) = self.gate.check(&request) {
            tracing::warn!(method = %request.method, target = %super::gate::logged_target(&request.uri), "admin: refused: {}", error.message);
            return error.to_response();
        }
        self.route(&request)
    }
}

fn error(status: StatusCode, message: &str) -> Response {
    Response::json(
        status,
        &json!({"__type": "AdminRouteException", "message": message}),
    )
}
