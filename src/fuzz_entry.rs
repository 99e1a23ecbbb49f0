//! Entry points for the fuzz targets in `fuzz/` and for the regression test
//! that replays their saved inputs (`tests/it/fuzz_regressions.rs`). Each
//! takes arbitrary bytes and must never panic; the properties it asserts are
//! the ones a crash would reveal.

use crate::cassette;
use crate::http::Request;
use crate::matcher::{MatchOptions, Matcher, Repeats};
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
    };
    let mut matcher = Matcher::new(vec![loaded], options);
    let data = data.get(1..).unwrap_or_default();
    let separator = b"\n---\n";
    let mut rest = data;
    loop {
        let end = rest
            .windows(separator.len())
            .position(|w| w == separator)
            .unwrap_or(rest.len());
        if let Some(request) = request_from(&rest[..end]) {
            if let Err(miss) = matcher.answer(&request) {
                assert!(!miss.reason.is_empty(), "a miss always says why");
            }
        }
        match rest.get(end + separator.len()..) {
            Some(next) if !next.is_empty() => rest = next,
            _ => break,
        }
    }
}
