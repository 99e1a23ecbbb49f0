//! Entry points for the fuzz targets in `fuzz/` and for the regression test
//! that replays their saved inputs (`tests/it/fuzz_regressions.rs`). Each
//! takes arbitrary bytes and must never panic; the properties it asserts are
//! the ones a crash would reveal.

use crate::cassette;
use crate::http::{Handler, Request};
use crate::matcher::{MatchOptions, Matcher, Repeats};
use crate::mock::{ClockMode, Mock, MockConfig};
use crate::model::Model;
use std::path::Path;

/// Parses bytes as a cassette; whatever parses must survive a canonical
/// save and load unchanged.
pub fn cassette_parse(data: &[u8]) {
    let path = Path::new("fuzz-input.json");
    let Ok(parsed) = cassette::parse(path, data) else {
        return;
    };
    let bytes = cassette::to_bytes(&parsed);
    let again = cassette::parse(path, &bytes).expect("canonical bytes parse");
    assert_eq!(
        cassette::to_bytes(&again),
        bytes,
        "canonical form is stable"
    );
}

/// Any bytes, as a request and a response body, survive a canonical save
/// and load byte for byte; the saved form is stable.
pub fn body_round_trip(data: &[u8]) {
    let path = Path::new("fuzz-input.json");
    let body = cassette::Body::from_bytes(data);
    let written = cassette::Cassette {
        name: "round-trip".into(),
        provenance: cassette::Provenance {
            kind: "recorded".into(),
            endpoint: None,
            service: None,
            region: None,
            recorded_at: None,
            tool: None,
            sources: Vec::new(),
        },
        interactions: vec![cassette::Interaction {
            elapsed_ms: 0,
            endpoint: None,
            expect: None,
            note: None,
            request: cassette::RecordedRequest {
                method: "PUT".into(),
                uri: "/".into(),
                headers: cassette::Headers::default(),
                body: body.clone(),
            },
            response: cassette::RecordedResponse {
                status: 200,
                headers: cassette::Headers::default(),
                body,
            },
        }],
    };
    let bytes = cassette::to_bytes(&written);
    let read = cassette::parse(path, &bytes).expect("a written cassette parses");
    let interaction = &read.interactions[0];
    assert_eq!(&interaction.request.body.bytes()[..], data, "request body");
    assert_eq!(
        &interaction.response.body.bytes()[..],
        data,
        "response body"
    );
    assert_eq!(cassette::to_bytes(&read), bytes, "canonical form is stable");
}

/// A request from bytes: first line `METHOD URI`, then `name: value` lines,
/// a blank line, and the body.
fn request_from(data: &[u8]) -> Option<Request> {
    let split = data
        .windows(2)
        .position(|w| w == b"\n\n")
        .unwrap_or(data.len());
    let head = std::str::from_utf8(&data[..split]).ok()?;
    let body = data.get(split + 2..).unwrap_or_default();
    let mut lines = head.lines();
    let (method, uri) = lines.next()?.split_once(' ')?;
    let mut request = Request::new(http::Method::from_bytes(method.as_bytes()).ok()?, uri).ok()?;
    for line in lines {
        let (name, value) = line.split_once(':')?;
        let name = http::HeaderName::from_bytes(name.trim().as_bytes()).ok()?;
        let value = http::HeaderValue::from_str(value.trim()).ok()?;
        request.headers.append(name, value);
    }
    request.body = bytes::Bytes::copy_from_slice(body);
    Some(request)
}

const MATCHER_CASSETTE: &str = r#"{"format": "proton-vcr.cassette/1", "name": "fuzz", "provenance": {"kind": "documented"},
 "interactions": [
  {"elapsed_ms": 0, "request": {"method": "POST", "uri": "/", "headers": {"content-type": "application/x-amz-json-1.0", "x-amz-target": "AwsProton20200720.CreateEnvironmentTemplateVersion"},
   "body": {"json": {"clientToken": "t1", "templateName": "a", "source": {"s3": {"bucket": "b", "key": "k"}}}}},
   "response": {"status": 200, "body": {"json": {"ok": 1}}}},
  {"elapsed_ms": 1, "request": {"method": "POST", "uri": "/", "headers": {"content-type": "application/x-amz-json-1.0", "x-amz-target": "AwsProton20200720.CreateEnvironmentTemplateVersion"},
   "body": {"json": {"clientToken": "t1", "templateName": "a", "source": {"s3": {"bucket": "b", "key": "k"}}}}},
   "response": {"status": 200, "body": {"json": {"ok": 2}}}},
  {"elapsed_ms": 2, "request": {"method": "GET", "uri": "/things?b=2&a=1", "headers": {}},
   "response": {"status": 200, "body": {"text": "x"}}},
  {"elapsed_ms": 3, "request": {"method": "POST", "uri": "/", "headers": {"content-type": "application/x-www-form-urlencoded"}, "body": {"text": "Action=Get&Version=1"}},
   "response": {"status": 200, "body": {"base64": "AAEC"}}}
 ]}"#;

/// Sends a sequence of requests (separated by `\n---\n`) to a matcher over a
/// small fixed cassette; every answer is a hit or an explained miss.
pub fn matcher_answer(data: &[u8]) {
    let path = Path::new("fuzz.json");
    let cassette =
        cassette::parse(path, MATCHER_CASSETTE.as_bytes()).expect("fixed cassette parses");
    let loaded = cassette::LoadedCassette {
        path: path.to_path_buf(),
        cassette,
    };
    let repeats = if data.first().is_some_and(|b| b % 2 == 0) {
        Repeats::Last
    } else {
        Repeats::Strict
    };
    let options = MatchOptions {
        tokens: crate::model::proton_token_paths(),
        repeats,
        bind: crate::matcher::BindMode::Auto,
    };
    let mut matcher = Matcher::new(vec![loaded], options);
    let data = data.get(1..).unwrap_or_default();
    for step in steps(data) {
        if let Some(request) = request_from(step) {
            if let Err(miss) = matcher.answer(&request) {
                assert!(!miss.reason.is_empty(), "a miss always says why");
            }
        }
    }
}

/// The parts of `data` between `\n---\n` separators.
fn steps(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    const SEPARATOR: &[u8] = b"\n---\n";
    let mut rest = Some(data);
    std::iter::from_fn(move || {
        let current = rest?;
        let end = current
            .windows(SEPARATOR.len())
            .position(|w| w == SEPARATOR);
        match end {
            Some(end) => {
                rest = current
                    .get(end + SEPARATOR.len()..)
                    .filter(|r| !r.is_empty());
                current.get(..end)
            }
            None => {
                rest = None;
                Some(current)
            }
        }
    })
}

/// A mock request from bytes: the first line is an operation name (sent as
/// `POST /` with `X-Amz-Target: AwsProton20200720.<name>`) or `METHOD /path`
/// (for the admin routes and wrong routes); the rest is the body.
fn mock_request_from(step: &[u8]) -> Option<(Option<String>, Request)> {
    let newline = step.iter().position(|b| *b == b'\n').unwrap_or(step.len());
    let first = std::str::from_utf8(step.get(..newline)?).ok()?.trim_end();
    let body = step.get(newline + 1..).unwrap_or_default();
    let (operation, mut request) = match first.split_once(' ') {
        Some((method, path)) => (
            None,
            Request::new(http::Method::from_bytes(method.as_bytes()).ok()?, path).ok()?,
        ),
        None => {
            let mut request = Request::new(http::Method::POST, "/").ok()?;
            let target = format!("{}.{first}", Model::proton().target_prefix());
            request
                .headers
                .insert("x-amz-target", http::HeaderValue::from_str(&target).ok()?);
            (Some(first.to_string()), request)
        }
    };
    request.headers.insert(
        "content-type",
        http::HeaderValue::from_static(crate::http::exchange::AWS_JSON_1_0),
    );
    request.body = bytes::Bytes::copy_from_slice(body);
    Some((operation, request))
}

/// Sends a sequence of requests (separated by `\n---\n`) to one mock on a
/// manual clock, so earlier requests shape the state later ones meet. Every
/// answer is a success in the shape of the model's output, or an AWS-shaped
/// client error; the state can always be dumped.
pub fn mock_request(data: &[u8]) {
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread().build() else {
        return;
    };
    let mock = Mock::new(MockConfig {
        clock: ClockMode::Manual,
        ..MockConfig::default()
    });
    let model = Model::proton();
    for step in steps(data) {
        let Some((operation, request)) = mock_request_from(step) else {
            continue;
        };
        let response = runtime.block_on(mock.handle(request));
        let body = response.json_body();
        let status = response.status.as_u16();
        match (status, operation) {
            (200, Some(operation)) => {
                let output = body.expect("a success has a JSON body");
                let mut problems = model.check_output(&operation, &output);
                problems.retain(|p| !crate::mock::documented_omission(&operation, p));
                assert!(
                    problems.is_empty(),
                    "{operation} answered outside its output shape: {problems:?} in {output}"
                );
            }
            (200, None) => assert!(body.is_some_and(|b| b.is_object())),
            (400..=499, operation) => {
                let body = body.expect("an error has a JSON body");
                assert!(
                    body["__type"].is_string() && body["message"].is_string(),
                    "not AWS-shaped: {body}"
                );
                if operation.is_some() {
                    assert!(response.header("x-amzn-errortype").is_some());
                }
            }
            (status, _) => panic!("the mock answered {status}: {body:?}"),
        }
    }
    assert!(mock.state_json().is_object(), "the state can be dumped");
}
