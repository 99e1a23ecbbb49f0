//! AWS-shaped errors: what every client of the tool sees when something is
//! wrong, whichever part of the tool found it.
//!
//! AWS JSON clients read the error code from the body's `__type` (botocore
//! takes the text after the last `#`) and the text from `message`; the Rust and
//! Go SDKs prefer the `x-amzn-ErrorType` header. Both are always sent, so the
//! AWS CLI, boto3 and the SDKs all print the error readably.
//!
//! Where an error came from decides its status, here and nowhere else.

use super::exchange::{Request, Response};
use http::StatusCode;
use serde_json::json;

/// Who is at fault, which decides the HTTP status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// The request cannot be served as sent (400).
    Client,
    /// The client is not allowed through, e.g. a bad signature (403).
    Forbidden,
    /// The request body is larger than the configured limit (413).
    TooLarge,
    /// The server holds as much as it may at once; retry later (503).
    Busy,
    /// The upstream could not be reached or answered garbage (502).
    Upstream,
    /// The tool itself failed, e.g. a cassette could not be written (500).
    Internal,
}

/// An error answered to a client in the shape AWS uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AwsError {
    pub origin: Origin,
    /// The error code, e.g. `ValidationException`, possibly namespaced
    /// (`com.amazonaws.proton.v20200720#ValidationException`).
    pub code: String,
    pub message: String,
}

impl AwsError {
    pub fn new(origin: Origin, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            origin,
            code: code.into(),
            message: message.into(),
        }
    }

    pub fn status(&self) -> StatusCode {
        match self.origin {
            Origin::Client => StatusCode::BAD_REQUEST,
            Origin::Forbidden => StatusCode::FORBIDDEN,
            Origin::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Origin::Busy => StatusCode::SERVICE_UNAVAILABLE,
            Origin::Upstream => StatusCode::BAD_GATEWAY,
            Origin::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The code without any namespace, as clients show it.
    pub fn short_code(&self) -> &str {
        self.code.rsplit('#').next().unwrap_or(&self.code)
    }

    /// The error in the protocol the request used: XML for the query
    /// protocol (form-encoded bodies), JSON otherwise.
    pub fn to_response_for(&self, request: &Request) -> Response {
        if !crate::form::is_form(request.header("content-type")) {
            return self.to_response();
        }
        let request_id = uuid::Uuid::new_v4().to_string();
        let body = format!(
            "<ErrorResponse><Error><Type>{}</Type><Code>{}</Code><Message>{}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>",
            if matches!(self.origin, Origin::Client | Origin::Forbidden) {
                "Sender"
            } else {
                "Receiver"
            },
            xml_escape(self.short_code()),
            xml_escape(&self.message),
        );
        let mut response = Response::new(self.status());
        response.set_header("content-type", "text/xml");
        response.set_header("x-amzn-requestid", &request_id);
        response.body = body.into();
        response
    }

    pub fn to_response(&self) -> Response {
        let body = json!({ "__type": self.code, "message": self.message });
        let mut response = Response::json(self.status(), &body);
        response.set_header("x-amzn-errortype", self.short_code());
        response.set_header("x-amzn-requestid", &uuid::Uuid::new_v4().to_string());
        response
    }
}

impl std::fmt::Display for AwsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.short_code(), self.message)
    }
}

impl std::error::Error for AwsError {}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// An error and its causes on one line, each cause once: transport and
/// credential errors nest deeply and repeat themselves.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
