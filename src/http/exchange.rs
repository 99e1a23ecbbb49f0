//! The owned, fully buffered request and response that every part of the tool
//! works on. A request is read from the socket once; the matcher, the cassette
//! writer, the signer and the conformance diff all borrow the same value, so no
//! part re-reads or re-parses a body stream.

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use serde_json::Value;

/// A buffered HTTP request.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: Method,
    pub uri: Uri,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// A buffered HTTP response.
#[derive(Clone, Debug)]
pub struct Response {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// The header naming an awsJson operation (`Prefix.Operation`), made once:
/// looking a header up by text parses its name every time.
pub const X_AMZ_TARGET: HeaderName = HeaderName::from_static("x-amz-target");

/// The content type of the AWS JSON 1.0 protocol, used for every JSON answer
/// the tool makes up itself (errors, admin routes, the mock).
pub const AWS_JSON_1_0: &str = "application/x-amz-json-1.0";

impl Request {
    pub fn new(method: Method, uri: &str) -> Result<Self, http::uri::InvalidUri> {
        Ok(Self {
            method,
            uri: uri.parse()?,
            headers: HeaderMap::new(),
            body: Bytes::new(),
        })
    }

    /// A header's value as text, if present and visible ASCII.
    pub fn header(&self, name: &str) -> Option<&str> {
        header_str(&self.headers, name)
    }

    /// The `X-Amz-Target` of an awsJson request (`Prefix.Operation`).
    pub fn amz_target(&self) -> Option<&str> {
        self.headers.get(X_AMZ_TARGET).and_then(|v| v.to_str().ok())
    }

    /// The `Content-Type`, if present and visible ASCII.
    pub fn content_type(&self) -> Option<&str> {
        self.headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
    }

    /// The body parsed as JSON; `None` when empty or not JSON.
    pub fn json_body(&self) -> Option<Value> {
        if self.body.is_empty() {
            return None;
        }
        serde_json::from_slice(&self.body).ok()
    }
}

impl Response {
    pub fn new(status: StatusCode) -> Self {
        Self {
            status,
            headers: HeaderMap::new(),
            body: Bytes::new(),
        }
    }

    /// A JSON answer whose text is already written.
    pub fn json_text(status: StatusCode, text: Vec<u8>) -> Self {
        let mut response = Self::new(status);
        response.set_header("content-type", AWS_JSON_1_0);
        response.body = Bytes::from(text);
        response
    }

    /// A JSON answer with the AWS JSON 1.0 content type.
    pub fn json(status: StatusCode, body: &Value) -> Self {
        let mut response = Self::new(status);
        response.set_header("content-type", AWS_JSON_1_0);
        // Straight into bytes: `to_string` goes through `fmt` a token at a time.
        response.body =
            serde_json::to_vec(body).map_or_else(|_| Bytes::from(body.to_string()), Bytes::from);
        response
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        header_str(&self.headers, name)
    }

    /// Sets a header, replacing any previous value. A value that is not a valid
    /// header value (it cannot come from our own code) is dropped.
    pub fn set_header(&mut self, name: &'static str, value: &str) {
        if let Ok(value) = HeaderValue::from_str(value) {
            self.headers.insert(HeaderName::from_static(name), value);
        }
    }

    pub fn json_body(&self) -> Option<Value> {
        if self.body.is_empty() {
            return None;
        }
        serde_json::from_slice(&self.body).ok()
    }
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}
