//! The in-memory cassette: what the matcher, the recorder and the conformance
//! runner work on. Converted to and from the on-disk format in `format.rs`.

use crate::http::{Request, Response};
use base64::Engine;
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use serde_json::Value;
use std::borrow::Cow;
use std::fmt;
use std::path::PathBuf;

/// A named, ordered list of request/response exchanges.
#[derive(Clone, Debug, PartialEq)]
pub struct Cassette {
    pub name: String,
    pub provenance: Provenance,
    pub interactions: Vec<Interaction>,
}

/// Where a cassette's content comes from.
#[derive(Clone, Debug, PartialEq)]
pub struct Provenance {
    /// `recorded` (captured from a live endpoint) or `documented` (written
    /// from published documentation, with `sources`).
    pub kind: String,
    pub endpoint: Option<String>,
    pub service: Option<String>,
    pub region: Option<String>,
    pub recorded_at: Option<String>,
    pub tool: Option<String>,
    pub sources: Vec<String>,
}

/// One request and the response it got.
#[derive(Clone, Debug, PartialEq)]
pub struct Interaction {
    /// Milliseconds from the cassette's first request to this one.
    pub elapsed_ms: u64,
    /// The endpoint that answered (`https://dynamodb.us-east-1.amazonaws.com`),
    /// when recorded: one cassette may hold calls to several services.
    pub endpoint: Option<String>,
    /// What a conformance check may assume about the response, kept as
    /// written (`conformance::expect` reads it); every other reader ignores it.
    pub expect: Option<Value>,
    pub note: Option<String>,
    pub request: RecordedRequest,
    pub response: RecordedResponse,
}

#[derive(Clone, Debug, PartialEq)]
pub struct RecordedRequest {
    pub method: String,
    /// Path and query, as sent.
    pub uri: String,
    pub headers: Headers,
    pub body: Body,
}

#[derive(Clone, Debug, PartialEq)]
pub struct RecordedResponse {
    pub status: u16,
    pub headers: Headers,
    pub body: Body,
}

/// Header names lower-case and sorted; a repeated header's values in the
/// order they were sent. Every name and value is held in one string, with
/// where each ends beside it: a cassette holds two of these per interaction,
/// and a hundred thousand interactions of a handful of headers each would
/// otherwise be a million small allocations.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Headers {
    /// Each pair's name, then its value, one after the other.
    text: Box<str>,
    /// Where each pair's name and value end in `text`.
    ends: Box<[(u32, u32)]>,
}

/// The values of one header, in the order they were sent.
#[derive(Clone)]
pub struct HeaderValues<'a> {
    headers: &'a Headers,
    pairs: std::ops::Range<usize>,
}

/// A message body: exactly the bytes sent, shared cheaply (`Bytes`). JSON
/// is parsed on demand, never kept as a tree: a large cassette holds one
/// compact copy of each body. How a body is spelled in a file is decided
/// when it is written (see `cassette::format`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Body(Bytes);

impl Provenance {
    pub fn recorded(endpoint: &str, service: &str, region: &str, recorded_at: String) -> Self {
        Self {
            kind: "recorded".into(),
            endpoint: Some(endpoint.into()),
            service: Some(service.into()),
            region: Some(region.into()),
            recorded_at: Some(recorded_at),
            tool: Some(concat!("proton-vcr ", env!("CARGO_PKG_VERSION")).into()),
            sources: Vec::new(),
        }
    }
}

impl Headers {
    /// Headers from `(name, value)` pairs in any order: names lower-cased,
    /// a repeated name's values kept in the order given.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut pairs: Vec<(Cow<'a, str>, &'a str)> =
            pairs.into_iter().map(|(n, v)| (lower(n), v)).collect();
        // Stable: a repeated name keeps its values' order. A cassette file
        // lists them sorted already.
        if !pairs.is_sorted_by(|a, b| a.0 <= b.0) {
            pairs.sort_by(|a, b| a.0.cmp(&b.0));
        }
        let mut text = String::with_capacity(pairs.iter().map(|(n, v)| n.len() + v.len()).sum());
        let mut ends = Vec::with_capacity(pairs.len());
        for (name, value) in pairs {
            // Offsets are 32-bit: a pair that would take the text past
            // 4 GiB is left out (no request or cassette file holds that much).
            let Ok(name_end) = u32::try_from(text.len() + name.len()) else {
                continue;
            };
            let Ok(value_end) = u32::try_from(name_end as usize + value.len()) else {
                continue;
            };
            text.push_str(&name);
            text.push_str(value);
            ends.push((name_end, value_end));
        }
        Self {
            text: text.into_boxed_str(),
            ends: ends.into_boxed_slice(),
        }
    }

    /// Every `(name, value)` pair: names sorted, a repeated name's values
    /// in the order they were sent.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        (0..self.ends.len()).map(|i| self.pair(i))
    }

    fn pair(&self, i: usize) -> (&str, &str) {
        let start = match i {
            0 => 0,
            _ => self.ends[i - 1].1 as usize,
        };
        let (name_end, value_end) = self.ends[i];
        (
            &self.text[start..name_end as usize],
            &self.text[name_end as usize..value_end as usize],
        )
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    pub fn append(&mut self, name: &str, value: String) {
        let name = lower(name);
        *self = Self::from_pairs(self.iter().chain([(&*name, value.as_str())]));
    }

    pub fn remove(&mut self, name: &str) {
        let name = lower(name);
        if self.iter().any(|(n, _)| n == name) {
            *self = Self::from_pairs(self.iter().filter(|(n, _)| *n != name));
        }
    }

    /// The first value of a header.
    pub fn get(&self, name: &str) -> Option<&str> {
        // Names are stored lower-case and sorted; a caller's spelling must
        // not matter.
        let name = lower(name);
        let first = self.first_at_or_after(&name);
        (first < self.ends.len())
            .then(|| self.pair(first))
            .filter(|(n, _)| *n == name)
            .map(|(_, v)| v)
    }

    /// The first pair whose name is not before `name` (binary search).
    fn first_at_or_after(&self, name: &str) -> usize {
        let (mut low, mut high) = (0, self.ends.len());
        while low < high {
            let mid = low + (high - low) / 2;
            if self.pair(mid).0 < name {
                low = mid + 1;
            } else {
                high = mid;
            }
        }
        low
    }

    /// Each name once, with its values.
    pub fn iter_grouped(&self) -> impl Iterator<Item = (&str, HeaderValues<'_>)> {
        let mut i = 0;
        std::iter::from_fn(move || {
            let (name, _) = (i < self.ends.len()).then(|| self.pair(i))?;
            let start = i;
            while i < self.ends.len() && self.pair(i).0 == name {
                i += 1;
            }
            Some((
                name,
                HeaderValues {
                    headers: self,
                    pairs: start..i,
                },
            ))
        })
    }

    /// Copies `headers`, leaving out the names in `skip` (lower-case).
    /// Values are kept as UTF-8 text (S3 metadata may hold any); a value
    /// that is not UTF-8 cannot be written as text and is left out, with a
    /// warning that names its header.
    pub fn from_http(headers: &HeaderMap, skip: &[&str]) -> Self {
        Self::from_pairs(headers.iter().filter_map(|(name, value)| {
            if skip.contains(&name.as_str()) {
                return None;
            }
            match std::str::from_utf8(value.as_bytes()) {
                Ok(text) => Some((name.as_str(), text)),
                Err(_) => {
                    tracing::warn!(
                        header = name.as_str(),
                        "a header value that is not UTF-8 is not recorded"
                    );
                    None
                }
            }
        }))
    }

    /// The headers as HTTP carries them. A loaded cassette holds only
    /// headers HTTP can carry, at most `MAX_HEADER_VALUES` of them (see
    /// `format::servable`); a header map built otherwise that cannot be
    /// sent loses what cannot, rather than failing the answer.
    pub fn to_http(&self) -> HeaderMap {
        let mut out = HeaderMap::try_with_capacity(self.len()).unwrap_or_default();
        for (name, values) in self.iter_grouped() {
            let Ok(name) = HeaderName::from_bytes(name.as_bytes()) else {
                continue;
            };
            for value in values {
                if let Ok(value) = HeaderValue::from_str(value) {
                    if out.try_append(name.clone(), value).is_err() {
                        return out;
                    }
                }
            }
        }
        out
    }
}

/// `name` lower-case, copied only when it is not already.
fn lower(name: &str) -> Cow<'_, str> {
    if name.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(name.to_ascii_lowercase())
    } else {
        Cow::Borrowed(name)
    }
}

impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<'a> HeaderValues<'a> {
    pub fn first(&self) -> Option<&'a str> {
        self.clone().next()
    }
}

impl<'a> Iterator for HeaderValues<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let i = self.pairs.next()?;
        Some(self.headers.pair(i).1)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.pairs.size_hint()
    }
}

impl ExactSizeIterator for HeaderValues<'_> {}

impl Body {
    pub fn new(bytes: impl Into<Bytes>) -> Self {
        Self(bytes.into())
    }

    /// A copy of `bytes`.
    pub fn from_bytes(bytes: &[u8]) -> Self {
        Self(Bytes::copy_from_slice(bytes))
    }

    /// The compact JSON text of `value` (what a documented v1 cassette means).
    pub fn from_json(value: &Value) -> Self {
        Self(Bytes::from(value.to_string()))
    }

    /// The exact bytes.
    pub fn bytes(&self) -> &Bytes {
        &self.0
    }

    /// The bytes to send: a cheap shared handle, never a re-serialisation.
    pub fn to_bytes(&self) -> Bytes {
        self.0.clone()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The body parsed as JSON, when it is JSON; parsed on every call.
    pub fn json(&self) -> Option<Value> {
        if self.0.is_empty() {
            return None;
        }
        serde_json::from_slice(&self.0).ok()
    }

    /// The body as text, when it is UTF-8.
    pub fn text(&self) -> Option<&str> {
        std::str::from_utf8(&self.0).ok()
    }

    /// Text form for logs and diffs: JSON pretty-printed, text as it is,
    /// anything else as base64.
    pub fn describe(&self) -> String {
        if let Some(value) = self.json() {
            return serde_json::to_string_pretty(&value).unwrap_or_default();
        }
        match self.text() {
            Some(text) => text.to_string(),
            None => base64::engine::general_purpose::STANDARD.encode(&self.0),
        }
    }
}

impl From<&str> for Body {
    fn from(text: &str) -> Self {
        Self::from_bytes(text.as_bytes())
    }
}

/// Headers that belong to signing or transport: never recorded, never matched.
pub const TRANSPORT_HEADERS: &[&str] = &[
    "authorization",
    "x-amz-date",
    "x-amz-security-token",
    "x-amz-content-sha256",
    "user-agent",
    "x-amz-user-agent",
    "amz-sdk-invocation-id",
    "amz-sdk-request",
    "host",
    "content-length",
    "connection",
    "transfer-encoding",
    "accept-encoding",
    "expect",
    "cookie",
    "keep-alive",
];

/// Response headers that describe the transport, not the answer.
pub const RESPONSE_TRANSPORT_HEADERS: &[&str] = &[
    "content-length",
    "connection",
    "transfer-encoding",
    "keep-alive",
    "date",
    "set-cookie",
];

impl RecordedRequest {
    pub fn from_exchange(request: &Request) -> Self {
        let uri = request
            .uri
            .path_and_query()
            .map(|pq| pq.as_str().to_string())
            .unwrap_or_else(|| "/".to_string());
        Self {
            method: request.method.as_str().to_string(),
            uri,
            headers: Headers::from_http(&request.headers, TRANSPORT_HEADERS),
            body: Body::new(request.body.clone()),
        }
    }

    /// The request as a client would send it (for conformance runs).
    pub fn to_exchange(&self) -> Result<Request, String> {
        let method = http::Method::from_bytes(self.method.as_bytes())
            .map_err(|_| format!("`{}` is not an HTTP method", self.method))?;
        let uri = self
            .uri
            .parse()
            .map_err(|e| format!("`{}` is not a request target ({e})", self.uri))?;
        Ok(Request {
            method,
            uri,
            headers: self.headers.to_http(),
            body: self.body.to_bytes(),
        })
    }
}

impl RecordedResponse {
    pub fn from_exchange(response: &Response) -> Self {
        let mut headers = Headers::from_http(&response.headers, RESPONSE_TRANSPORT_HEADERS);
        // With no body (a HEAD answer), Content-Length describes the
        // resource, not this message: it is part of the answer.
        if response.body.is_empty() {
            if let Some(length) = response.header("content-length") {
                headers.append("content-length", length.to_string());
            }
        }
        Self {
            status: response.status.as_u16(),
            headers,
            body: Body::new(response.body.clone()),
        }
    }

    pub fn to_exchange(&self) -> Response {
        Response {
            status: StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            headers: self.headers.to_http(),
            body: self.body.to_bytes(),
        }
    }
}

/// A cassette with the file it came from.
#[derive(Clone, Debug)]
pub struct LoadedCassette {
    pub path: PathBuf,
    pub cassette: Cassette,
}

#[cfg(test)]
mod tests {

    #[test]
    fn recorded_header_values_keep_utf8_text() {
        let mut map = http::HeaderMap::new();
        map.append(
            "x-amz-meta-b",
            http::HeaderValue::from_bytes("café".as_bytes()).unwrap(),
        );
        map.append(
            "x-latin",
            http::HeaderValue::from_bytes(b"caf\xe9").unwrap(),
        );
        map.append("x-plain", http::HeaderValue::from_static("v"));
        let headers = Headers::from_http(&map, &[]);
        assert_eq!(headers.get("x-amz-meta-b"), Some("café"));
        assert_eq!(headers.get("x-plain"), Some("v"));
        // Not text: left out (and logged by name).
        assert_eq!(headers.get("x-latin"), None);
        // And sent back as they came.
        assert_eq!(
            headers.to_http().get("x-amz-meta-b").unwrap().as_bytes(),
            "café".as_bytes()
        );
    }
    use super::Headers;

    #[test]
    fn header_names_are_looked_up_in_any_case() {
        let mut headers = Headers::default();
        headers.append("X-Amz-CRC32", "1".into());
        assert_eq!(headers.get("x-amz-crc32"), Some("1"));
        assert_eq!(headers.get("X-AMZ-CRC32"), Some("1"));
        headers.remove("X-Amz-Crc32");
        assert_eq!(headers.get("x-amz-crc32"), None);
    }

    #[test]
    fn a_repeated_header_gives_its_first_value_wherever_it_sorts() {
        let headers = Headers::from_pairs([
            ("x-b", "2"),
            ("Content-Type", "text/plain"),
            ("x-a", "1"),
            ("x-b", "3"),
            ("accept", "*/*"),
        ]);
        assert_eq!(headers.get("accept"), Some("*/*"));
        assert_eq!(headers.get("content-type"), Some("text/plain"));
        assert_eq!(headers.get("x-a"), Some("1"));
        assert_eq!(headers.get("X-B"), Some("2"));
        for absent in ["", "a", "x-", "x-c", "zzz", "content"] {
            assert_eq!(headers.get(absent), None, "{absent}");
        }
        assert_eq!(Headers::default().get("x-a"), None);
    }
}
