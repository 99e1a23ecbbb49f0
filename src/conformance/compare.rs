//! What is compared of a response, and how two of them differ.
//!
//! A response is reduced to what clients act on: the status, the error type
//! (the body's `__type`, else the `x-amzn-errortype` header), the
//! content-type, and the body after normalisation. Differences are named by
//! path: `status`, `error`, `content-type`, or a JSON path into the body
//! (`$.environmentTemplateVersion.arn`). Pure: no IO.

use super::normalize::Normalizer;
use crate::cassette::RecordedResponse;
use crate::http::Response;
use crate::json::diff;
use base64::Engine;
use serde_json::Value;
use std::fmt::Write;

/// The pseudo-path of the HTTP status.
pub const STATUS_PATH: &str = "status";
/// The pseudo-path of the error type.
pub const ERROR_PATH: &str = "error";
/// The pseudo-path of the content-type header.
pub const CONTENT_TYPE_PATH: &str = "content-type";
/// The pseudo-path of a waiter loop's number of distinct states.
pub const STATES_PATH: &str = "states";

/// A response as compared: normalised, the error type lifted out of the body.
#[derive(Clone, Debug, PartialEq)]
pub struct Observed {
    pub status: u16,
    pub error: Option<String>,
    pub content_type: Option<String>,
    pub body: ObservedBody,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ObservedBody {
    Empty,
    Json(Value),
    Text(String),
}

/// What kind of difference a path shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DiffKind {
    /// Both sides have a value, and they differ.
    Value,
    /// The target has a member (or item) the recording does not.
    Extra,
    /// The recording has a member (or item) the target does not.
    Missing,
    /// Both values stand for generated values (placeholders), and the target's
    /// is not the one the recording's identity calls for, or a value that
    /// must equal (or differ from) one at an earlier step does not. Never
    /// accepted by a deviation.
    Identity,
}

impl DiffKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DiffKind::Value => "value",
            DiffKind::Extra => "extra",
            DiffKind::Missing => "missing",
            DiffKind::Identity => "identity",
        }
    }

    /// How reports say it.
    pub fn describe(self) -> &'static str {
        match self {
            DiffKind::Value => "value differs",
            DiffKind::Extra => "extra member",
            DiffKind::Missing => "missing member",
            DiffKind::Identity => "identity across steps",
        }
    }

    /// The kind of a difference between two (normalised) values.
    pub fn of(recorded: Option<&Value>, target: Option<&Value>) -> Self {
        match (recorded, target) {
            (None, _) => DiffKind::Extra,
            (_, None) => DiffKind::Missing,
            (Some(Value::String(r)), Some(Value::String(t)))
                if is_placeholder(r) && is_placeholder(t) =>
            {
                DiffKind::Identity
            }
            _ => DiffKind::Value,
        }
    }
}

/// `<id:1>`, `<timestamp:target-2>`, `<timestamp:3> (text)`: a value the
/// normaliser replaced to keep its identity.
fn is_placeholder(text: &str) -> bool {
    let text = text.strip_suffix(" (text)").unwrap_or(text);
    text.starts_with('<') && text.ends_with('>') && text.contains(':') && !text.contains(' ')
}

/// One place where the target answered differently from the recording.
#[derive(Clone, Debug, PartialEq)]
pub struct Difference {
    /// `status`, `error`, `content-type`, `states`, or a JSON path from `$`.
    pub path: String,
    pub kind: DiffKind,
    /// For a waiter loop: which distinct state (1-based) differs.
    pub state: Option<usize>,
    /// The normalised recorded value; `None` when absent.
    pub recorded: Option<Value>,
    /// The normalised target value; `None` when absent.
    pub target: Option<Value>,
    /// The reason of the accepted deviation that covers it, if any.
    pub accepted: Option<String>,
    /// The step tests a rule of the contract and this path decides it.
    pub breaks_rule: bool,
}

impl Difference {
    pub fn new(
        path: impl Into<String>,
        state: Option<usize>,
        recorded: Option<Value>,
        target: Option<Value>,
    ) -> Self {
        Self {
            kind: DiffKind::of(recorded.as_ref(), target.as_ref()),
            path: path.into(),
            state,
            recorded,
            target,
            accepted: None,
            breaks_rule: false,
        }
    }
}

impl ObservedBody {
    /// JSON when the bytes parse as JSON, else text (binary as base64).
    fn of_bytes(bytes: &[u8]) -> Self {
        if bytes.is_empty() {
            ObservedBody::Empty
        } else if let Ok(value) = serde_json::from_slice::<Value>(bytes) {
            ObservedBody::Json(value)
        } else {
            match std::str::from_utf8(bytes) {
                Ok(text) => ObservedBody::Text(text.to_string()),
                Err(_) => {
                    ObservedBody::Text(base64::engine::general_purpose::STANDARD.encode(bytes))
                }
            }
        }
    }
}

impl Observed {
    pub fn from_recorded(response: &RecordedResponse, side: &mut Normalizer<'_>) -> Self {
        let body = ObservedBody::of_bytes(response.body.bytes());
        Self::build(
            response.status,
            response.headers.get("content-type"),
            response.headers.get("x-amzn-errortype"),
            body,
            side,
            None,
        )
    }

    /// The target's answer, normalised after `guide` (the recorded answer it
    /// is compared with) so that values pair up by where they occur.
    pub fn from_response(
        response: &Response,
        side: &mut Normalizer<'_>,
        guide: Option<&Observed>,
    ) -> Self {
        let body = ObservedBody::of_bytes(&response.body);
        Self::build(
            response.status.as_u16(),
            response.header("content-type"),
            response.header("x-amzn-errortype"),
            body,
            side,
            guide,
        )
    }

    fn build(
        status: u16,
        content_type: Option<&str>,
        error_header: Option<&str>,
        body: ObservedBody,
        side: &mut Normalizer<'_>,
        guide: Option<&Observed>,
    ) -> Self {
        let guide = guide.and_then(|g| match &g.body {
            ObservedBody::Json(value) => Some(value),
            _ => None,
        });
        let (error, body) = match body {
            ObservedBody::Json(mut value) => {
                let from_body = value
                    .as_object_mut()
                    .and_then(|members| members.remove("__type"))
                    .and_then(|t| t.as_str().map(str::to_string));
                (
                    from_body,
                    ObservedBody::Json(side.normalize_guided(&value, guide)),
                )
            }
            other => (None, other),
        };
        // The header names the error when the body does not: an error is an
        // error however it is spelt, but only a 4xx/5xx answer has one.
        let error = error.or_else(|| {
            (status >= 400)
                .then(|| error_header.map(str::to_string))
                .flatten()
        });
        Self {
            status,
            error,
            content_type: content_type.map(str::to_string),
            body,
        }
    }

    /// The text shown in unified diffs.
    pub fn render(&self, out: &mut String) {
        let _ = writeln!(out, "status: {}", self.status);
        if let Some(error) = &self.error {
            let _ = writeln!(out, "error: {error}");
        }
        let _ = writeln!(
            out,
            "content-type: {}",
            self.content_type.as_deref().unwrap_or("(none)")
        );
        match &self.body {
            ObservedBody::Empty => out.push_str("(empty body)\n"),
            ObservedBody::Json(value) => {
                out.push_str(&serde_json::to_string_pretty(value).unwrap_or_default());
                out.push('\n');
            }
            ObservedBody::Text(text) => {
                out.push_str(text);
                out.push('\n');
            }
        }
    }

    /// A short label for the state, e.g. for a waiter: the status and the
    /// first `status`-like member found.
    pub fn summary(&self) -> String {
        if let Some(error) = &self.error {
            return format!(
                "{} {}",
                self.status,
                error.rsplit('#').next().unwrap_or(error)
            );
        }
        match &self.body {
            ObservedBody::Json(value) => match find_status(value) {
                Some(status) => format!("{} {status}", self.status),
                None => self.status.to_string(),
            },
            _ => self.status.to_string(),
        }
    }
}

fn find_status(value: &Value) -> Option<&str> {
    match value {
        Value::Object(members) => {
            for key in ["status", "deploymentStatus"] {
                if let Some(Value::String(s)) = members.get(key) {
                    return Some(s);
                }
            }
            members.values().find_map(find_status)
        }
        _ => None,
    }
}

/// Every difference between a recorded and a target response.
pub fn compare(
    recorded: &Observed,
    target: &Observed,
    state: Option<usize>,
    out: &mut Vec<Difference>,
) {
    let scalar = |path: &str, r: Option<Value>, t: Option<Value>, out: &mut Vec<Difference>| {
        if r != t {
            out.push(Difference::new(path, state, r, t));
        }
    };
    scalar(
        STATUS_PATH,
        Some(Value::from(recorded.status)),
        Some(Value::from(target.status)),
        out,
    );
    scalar(
        ERROR_PATH,
        recorded.error.clone().map(Value::String),
        target.error.clone().map(Value::String),
        out,
    );
    scalar(
        CONTENT_TYPE_PATH,
        recorded.content_type.clone().map(Value::String),
        target.content_type.clone().map(Value::String),
        out,
    );
    match (&recorded.body, &target.body) {
        (ObservedBody::Json(r), ObservedBody::Json(t)) => {
            walk(r, t, state, out);
        }
        (r, t) if r == t => {}
        (r, t) => out.push(Difference::new("$", state, body_value(r), body_value(t))),
    }
}

fn body_value(body: &ObservedBody) -> Option<Value> {
    match body {
        ObservedBody::Empty => None,
        ObservedBody::Json(value) => Some(value.clone()),
        ObservedBody::Text(text) => Some(Value::String(text.clone())),
    }
}

fn walk(r: &Value, t: &Value, state: Option<usize>, out: &mut Vec<Difference>) {
    out.extend(
        diff(r, t)
            .into_iter()
            .map(|d| Difference::new(d.path, state, d.left.cloned(), d.right.cloned())),
    );
}

/// A unified diff of two renderings, `recorded` against `target`.
pub fn unified_diff(recorded: &str, target: &str) -> String {
    similar::TextDiff::from_lines(recorded, target)
        .unified_diff()
        .context_radius(3)
        .header("recorded", "target")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conformance::normalize::NormalizeRules;
    use bytes::Bytes;
    use http::StatusCode;
    use serde_json::json;

    fn observed(status: u16, body: Value) -> Observed {
        let rules = NormalizeRules::default();
        let mut side = Normalizer::new(&rules);
        let mut response = Response::json(StatusCode::from_u16(status).unwrap(), &body);
        response.body = Bytes::from(body.to_string());
        Observed::from_response(&response, &mut side, None)
    }

    #[test]
    fn error_type_is_lifted_out_of_the_body_and_compared_once() {
        let r = observed(
            400,
            json!({"__type": "ns#ValidationException", "message": "m"}),
        );
        let t = observed(
            400,
            json!({"__type": "ns#ConflictException", "message": "m"}),
        );
        let mut out = Vec::new();
        compare(&r, &t, None, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].path, "error");
        assert_eq!(out[0].target, Some(json!("ns#ConflictException")));
    }

    #[test]
    fn body_paths_name_members_and_items_on_one_side_only() {
        let r = observed(200, json!({"a": {"b": 1, "c": [1]}, "gone": true}));
        let t = observed(200, json!({"a": {"b": 2, "c": [1, 2]}}));
        let mut out = Vec::new();
        compare(&r, &t, Some(2), &mut out);
        let paths: Vec<_> = out.iter().map(|d| (d.path.as_str(), d.state)).collect();
        assert_eq!(
            paths,
            [
                ("$.a.b", Some(2)),
                ("$.a.c[1]", Some(2)),
                ("$.gone", Some(2))
            ]
        );
        assert_eq!(out[2].target, None);
    }

    #[test]
    fn empty_body_differs_from_an_empty_object() {
        let r = observed(200, json!({}));
        let mut t = r.clone();
        t.body = ObservedBody::Empty;
        let mut out = Vec::new();
        compare(&r, &t, None, &mut out);
        assert_eq!(out[0].path, "$");
    }
}
