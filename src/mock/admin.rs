//! The admin API, outside every AWS route (AWS requests are `POST /`):
//!
//! - `POST /__mock/reset`: forget everything; the clock goes back to its start.
//! - `GET /__mock/state`: every resource, as the operations return them.
//! - `GET /__mock/clock`: `{"clock_ms": .., "now_epoch_ms": ..}`.
//! - `POST /__mock/clock` with `{"set_ms": N}` (N ms after the start; only
//!   forwards) or `{"advance_ms": N}`: moves the clock, answers as GET.
//! - `POST /__mock/bundles` with `{"s3": "s3://bucket/key", "path": "..."}`:
//!   registering a template version from that S3 object reads the local
//!   `.tar.gz` or folder at `path`.

use super::Mock;
use crate::http::{Request, Response};
use http::{Method, StatusCode};
use serde_json::{Value, json};

pub const PREFIX: &str = "/__mock/";

const ROUTES: &str = "POST /__mock/reset, GET /__mock/state, GET /__mock/clock, POST /__mock/clock {\"set_ms\": N} or {\"advance_ms\": N}, POST /__mock/bundles {\"s3\": \"s3://BUCKET/KEY\", \"path\": PATH}";

pub fn handle(mock: &Mock, request: &Request) -> Response {
    let route = request.uri.path().strip_prefix(PREFIX).unwrap_or("");
    match (&request.method, route) {
        (&Method::POST, "reset") => {
            mock.reset();
            ok(&json!({"reset": true}))
        }
        (&Method::GET, "state") => ok(&mock.state_json()),
        (&Method::GET, "clock") => ok(&mock.clock_json()),
        (&Method::POST, "clock") => {
            let body: Option<Value> = serde_json::from_slice(&request.body).ok();
            let number = |key: &str| {
                body.as_ref()
                    .and_then(|b| b.get(key))
                    .and_then(Value::as_u64)
            };
            match (number("set_ms"), number("advance_ms")) {
                (Some(ms), None) => mock.set_clock_ms(ms),
                (None, Some(ms)) => mock.advance_clock_ms(ms),
                _ => {
                    return error(
                        StatusCode::BAD_REQUEST,
                        "POST /__mock/clock takes a JSON body with one of {\"set_ms\": N} or {\"advance_ms\": N}, N a whole number of milliseconds",
                    );
                }
            }
            ok(&mock.clock_json())
        }
        (&Method::POST, "bundles") => {
            let body: Option<Value> = serde_json::from_slice(&request.body).ok();
            let field = |key: &str| {
                body.as_ref()
                    .and_then(|b| b.get(key))
                    .and_then(Value::as_str)
            };
            let usage = "POST /__mock/bundles takes a JSON body {\"s3\": \"s3://BUCKET/KEY\", \"path\": \"/local/bundle.tar.gz or folder\"}";
            let (Some(uri), Some(path)) = (field("s3"), field("path")) else {
                return error(StatusCode::BAD_REQUEST, usage);
            };
            match mock.map_bundle(uri, path) {
                Ok(()) => ok(&json!({"s3": uri, "path": path})),
                Err(problem) => error(StatusCode::BAD_REQUEST, &format!("{problem}; {usage}")),
            }
        }
        _ => error(
            StatusCode::NOT_FOUND,
            &format!(
                "no admin route {} {}; the routes are {ROUTES}",
                request.method,
                request.uri.path()
            ),
        ),
    }
}

fn ok(body: &Value) -> Response {
    Response::json(StatusCode::OK, body)
}

fn error(status: StatusCode, message: &str) -> Response {
    Response::json(
        status,
        &json!({"__type": "AdminRouteException", "message": message}),
    )
}
