//! The admin API, outside every AWS route (AWS requests are `POST /`):
//!
//! - `POST /__mock/reset`: forget everything; the clock goes back to its start.
//! - `GET /__mock/state`: every resource, as the operations return them.
//! - `GET /__mock/clock`: `{"clock_ms": .., "now_epoch_ms": ..}`.
//! - `POST /__mock/clock` with `{"set_ms": N}` (N ms after the start; only
//!   forwards) or `{"advance_ms": N}`: moves the clock, answers as GET.
//! - `POST /__mock/fail` with `{"resourceArn", "on": "registration" |
//!   "deployment" | "delete", "message"}`: that step of the resource fails next.
//! - `POST /__mock/fail-calls` with `{"operation", "error":
//!   "ThrottlingException" | "ServiceQuotaExceededException", "count", "message"?}`.
//! - `POST /__mock/outputs` with `{"resourceArn", "outputs": [{key, valueString}]}`.
//! - `POST /__mock/provisioned-resources` with `{"resourceArn",
//!   "provisionedResources": [{name, identifier, provisioningEngine}]}`.
//! - `POST /__mock/bundles` with `{"s3": "s3://bucket/key", "path": "..."}`:
//!   registering a template version from that S3 object reads the local
//!   `.tar.gz` or folder at `path`.

use super::{CallError, FailurePoint, Mock};
use crate::http::{Request, Response};
use http::{Method, StatusCode};
use serde_json::{Value, json};

pub const PREFIX: &str = "/__mock/";

const ROUTES: &str = "POST /__mock/reset, GET /__mock/state, GET /__mock/clock, POST /__mock/clock {\"set_ms\": N} or {\"advance_ms\": N}, POST /__mock/fail, POST /__mock/fail-calls, POST /__mock/outputs, POST /__mock/provisioned-resources, POST /__mock/bundles {\"s3\": \"s3://BUCKET/KEY\", \"path\": PATH}";

pub fn handle(mock: &Mock, request: &Request) -> Response {
    let route = request.uri.path().strip_prefix(PREFIX).unwrap_or("");
    match (&request.method, route) {
        (&Method::POST, "reset") => {
            mock.reset();
            ok(&json!({"reset": true}))
        }
        (&Method::GET, "state") => ok(&mock.state_json()),
        (&Method::GET, "clock") => ok(&mock.clock_json()),
        (&Method::POST, "clock") => set_clock(mock, request),
        (&Method::POST, "fail") => fail_next(mock, request),
        (&Method::POST, "fail-calls") => fail_calls(mock, request),
        (&Method::POST, "outputs") => set_outputs(mock, request),
        (&Method::POST, "provisioned-resources") => set_provisioned_resources(mock, request),
        (&Method::POST, "bundles") => map_bundle(mock, request),
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

/// Moves the mock's clock: `{"set_ms": N}` or `{"advance_ms": N}`.
fn set_clock(mock: &Mock, request: &Request) -> Response {
    let body = body(request);
    let number = |key: &str| body.get(key).and_then(Value::as_u64);
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

/// Makes a resource's next registration, deployment or delete fail.
fn fail_next(mock: &Mock, request: &Request) -> Response {
    let body = body(request);
    let text = |key: &str| body.get(key).and_then(Value::as_str);
    let point = text("on").and_then(FailurePoint::parse);
    match (text("resourceArn"), point) {
        (Some(arn), Some(point)) => {
            let message = text("message").unwrap_or("Injected failure");
            mock.fail_next(arn, point, message);
            ok(&json!({"resourceArn": arn, "on": text("on"), "message": message}))
        }
        _ => error(
            StatusCode::BAD_REQUEST,
            "POST /__mock/fail takes {\"resourceArn\": ARN, \"on\": \"registration\" | \"deployment\" | \"delete\", \"message\": TEXT}",
        ),
    }
}

/// Makes the next N calls of an operation throttle or hit a quota.
fn fail_calls(mock: &Mock, request: &Request) -> Response {
    let body = body(request);
    let text = |key: &str| body.get(key).and_then(Value::as_str);
    let count = body
        .get("count")
        .and_then(Value::as_u64)
        .and_then(|n| u32::try_from(n).ok());
    match (
        text("operation"),
        text("error").and_then(CallError::parse),
        count,
    ) {
        (Some(operation), Some(kind), Some(count)) => {
            match mock.fail_calls(operation, kind, count, text("message")) {
                Ok(()) => {
                    ok(&json!({"operation": operation, "error": text("error"), "count": count}))
                }
                Err(reason) => error(StatusCode::BAD_REQUEST, &reason),
            }
        }
        _ => error(
            StatusCode::BAD_REQUEST,
            "POST /__mock/fail-calls takes {\"operation\": NAME, \"error\": \"ThrottlingException\" | \"ServiceQuotaExceededException\", \"count\": N, \"message\": TEXT (optional)}",
        ),
    }
}

/// Sets the outputs of an environment, service instance, pipeline or component.
fn set_outputs(mock: &Mock, request: &Request) -> Response {
    let body = body(request);
    let arn = body.get("resourceArn").and_then(Value::as_str);
    match (arn, body.get("outputs").filter(|o| o.is_array())) {
        (Some(arn), Some(outputs)) => {
            if mock.set_outputs(arn, outputs) {
                ok(&json!({"resourceArn": arn, "outputs": outputs}))
            } else {
                error(
                    StatusCode::NOT_FOUND,
                    &format!(
                        "no environment, service instance, pipeline or component has the ARN {arn}"
                    ),
                )
            }
        }
        _ => error(
            StatusCode::BAD_REQUEST,
            "POST /__mock/outputs takes {\"resourceArn\": ARN, \"outputs\": [{\"key\": K, \"valueString\": V}]}",
        ),
    }
}

/// Sets the provisioned resources a resource lists.
fn set_provisioned_resources(mock: &Mock, request: &Request) -> Response {
    let body = body(request);
    let arn = body.get("resourceArn").and_then(Value::as_str);
    let resources = body.get("provisionedResources").and_then(Value::as_array);
    match (arn, resources) {
        (Some(arn), Some(resources)) => {
            mock.set_provisioned_resources(arn, resources.clone());
            ok(&json!({"resourceArn": arn, "provisionedResources": resources}))
        }
        _ => error(
            StatusCode::BAD_REQUEST,
            "POST /__mock/provisioned-resources takes {\"resourceArn\": ARN, \"provisionedResources\": [{\"name\": N, \"identifier\": ID, \"provisioningEngine\": \"CLOUDFORMATION\" | \"TERRAFORM\"}]}",
        ),
    }
}

/// Maps an `s3://` template bundle location to a local archive or folder.
fn map_bundle(mock: &Mock, request: &Request) -> Response {
    let body = body(request);
    let field = |key: &str| body.get(key).and_then(Value::as_str);
    let usage = "POST /__mock/bundles takes a JSON body {\"s3\": \"s3://BUCKET/KEY\", \"path\": \"/local/bundle.tar.gz or folder\"}";
    let (Some(uri), Some(path)) = (field("s3"), field("path")) else {
        return error(StatusCode::BAD_REQUEST, usage);
    };
    match mock.map_bundle(uri, path) {
        Ok(()) => ok(&json!({"s3": uri, "path": path})),
        Err(problem) => error(StatusCode::BAD_REQUEST, &format!("{problem}; {usage}")),
    }
}

/// The request body as JSON; `null` when it is not JSON.
fn body(request: &Request) -> Value {
    serde_json::from_slice(&request.body).unwrap_or(Value::Null)
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
