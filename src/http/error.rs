//! AWS-shaped errors: what every client of the tool sees when something is
//! wrong, whichever part of the tool found it.
//!
//! An error is answered in the shape of the protocol the request spoke
//! ([`ErrorShape`]), because each SDK parses errors only in its own:
//!
//! - JSON (awsJson, restJson): the body's `__type` (botocore takes the text
//!   after the last `#`) and `message`, and the `x-amzn-ErrorType` header the
//!   Rust and Go SDKs prefer.
//! - S3: `<Error><Code/><Message/><RequestId/></Error>`; other restXml
//!   services and the query protocol: `<ErrorResponse><Error><Type/><Code/>
//!   <Message/></Error><RequestId/></ErrorResponse>`; EC2:
//!   `<Response><Errors><Error><Code/><Message/></Error></Errors>
//!   <RequestID/></Response>`.
//!
//! Which shape a request gets is decided by the caller, which knows the
//! service ([`ErrorShape::by_content_type`] is the guess for requests of no
//! known service). An answer to `HEAD` has no body in any shape: the status
//! and headers carry it.
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

    /// The error in `shape`, as the answer to `request` (no body for
    /// `HEAD`).
    pub fn to_response_in(&self, shape: ErrorShape, request: &Request) -> Response {
        let mut response = match shape {
            ErrorShape::Json => self.to_response(),
            xml => self.xml_response(xml),
        };
        if request.method == http::Method::HEAD {
            response.body = Default::default();
        }
        response
    }

    pub fn to_response(&self) -> Response {
        self.to_response_with_id(&uuid::Uuid::new_v4().to_string())
    }

    /// The JSON answer, with `request_id` for its `x-amzn-RequestId`.
    pub fn to_response_with_id(&self, request_id: &str) -> Response {
        let body = json!({ "__type": self.code, "message": self.message });
        let mut response = Response::json(self.status(), &body);
        response.set_header("x-amzn-errortype", self.short_code());
        response.set_header("x-amzn-requestid", request_id);
        response
    }

    /// The error as one of the XML shapes (`shape` is not `Json`).
    fn xml_response(&self, shape: ErrorShape) -> Response {
        let request_id = uuid::Uuid::new_v4().to_string();
        let code = xml_escape(self.short_code());
        let message = xml_escape(&self.message);
        let (content_type, request_id_header) = match shape {
            ErrorShape::S3 => ("application/xml", "x-amz-request-id"),
            _ => ("text/xml", "x-amzn-requestid"),
        };
        let body = match shape {
            ErrorShape::S3 => format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message><RequestId>{request_id}</RequestId></Error>"
            ),
            ErrorShape::Ec2 => format!(
                "<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors><RequestID>{request_id}</RequestID></Response>"
            ),
            ErrorShape::RestXml | ErrorShape::Query | ErrorShape::Json => format!(
                "<ErrorResponse><Error><Type>{}</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>",
                if matches!(self.origin, Origin::Client | Origin::Forbidden) {
                    "Sender"
                } else {
                    "Receiver"
                },
            ),
        };
        let mut response = Response::new(self.status());
        response.set_header("content-type", content_type);
        response.set_header(request_id_header, &request_id);
        response.body = body.into();
        response
    }
}

/// The shape of an error answer: one per AWS protocol family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorShape {
    /// awsJson and restJson (and anything of no known protocol).
    Json,
    /// S3's `<Error>` document.
    S3,
    /// restXml services other than S3: `<ErrorResponse>`.
    RestXml,
    /// The query protocol: `<ErrorResponse>`.
    Query,
    /// EC2's `<Response><Errors>` document.
    Ec2,
}

impl ErrorShape {
    /// The shape for a request of no known service: query for a form body,
    /// JSON otherwise.
    pub fn by_content_type(request: &Request) -> Self {
        if crate::form::is_form(request.content_type()) {
            Self::Query
        } else {
            Self::Json
        }
    }
}

impl std::fmt::Display for AwsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.short_code(), self.message)
    }
}

impl std::error::Error for AwsError {}

/// Text as XML character data or attribute value. Characters XML 1.0 cannot
/// hold at all (most control characters) become U+FFFD, so every client's
/// parser accepts the document.
fn xml_escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&apos;"),
            '\t' | '\n' | '\r' => escaped.push(c),
            c if c < ' ' || c == '\u{FFFE}' || c == '\u{FFFF}' => escaped.push('\u{FFFD}'),
            c => escaped.push(c),
        }
    }
    escaped
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

#[cfg(test)]
mod tests {
    use super::*;
    use http::Method;

    fn miss() -> AwsError {
        AwsError::new(
            Origin::Client,
            "com.example#ReplayMissException",
            "no recording of GET /b/<k>?a=1&b=\"2\" it's",
        )
    }

    fn answer(shape: ErrorShape, method: Method) -> (Response, String) {
        let request = Request::new(method, "/b/k").unwrap();
        let response = miss().to_response_in(shape, &request);
        let body = String::from_utf8(response.body.to_vec()).unwrap();
        (response, body)
    }

    const ESCAPED: &str = "no recording of GET /b/&lt;k&gt;?a=1&amp;b=&quot;2&quot; it&apos;s";

    #[test]
    fn s3_gets_an_error_document() {
        let (response, body) = answer(ErrorShape::S3, Method::GET);
        let id = response.header("x-amz-request-id").unwrap();
        assert_eq!(response.status, StatusCode::BAD_REQUEST);
        assert_eq!(response.header("content-type"), Some("application/xml"));
        assert_eq!(
            body,
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>ReplayMissException</Code><Message>{ESCAPED}</Message><RequestId>{id}</RequestId></Error>"
            )
        );
    }

    #[test]
    fn other_rest_xml_and_query_get_an_error_response() {
        for shape in [ErrorShape::RestXml, ErrorShape::Query] {
            let (response, body) = answer(shape, Method::POST);
            let id = response.header("x-amzn-requestid").unwrap();
            assert_eq!(response.header("content-type"), Some("text/xml"));
            assert_eq!(
                body,
                format!(
                    "<ErrorResponse><Error><Type>Sender</Type><Code>ReplayMissException</Code><Message>{ESCAPED}</Message></Error><RequestId>{id}</RequestId></ErrorResponse>"
                )
            );
        }
        let upstream = AwsError::new(Origin::Upstream, "BadGateway", "down");
        let request = Request::new(Method::POST, "/").unwrap();
        let body = upstream.to_response_in(ErrorShape::Query, &request).body;
        assert!(
            String::from_utf8_lossy(&body).contains("<Type>Receiver</Type>"),
            "{body:?}"
        );
    }

    #[test]
    fn ec2_gets_a_response_with_errors() {
        let (response, body) = answer(ErrorShape::Ec2, Method::POST);
        let id = response.header("x-amzn-requestid").unwrap();
        assert_eq!(response.header("content-type"), Some("text/xml"));
        assert_eq!(
            body,
            format!(
                "<Response><Errors><Error><Code>ReplayMissException</Code><Message>{ESCAPED}</Message></Error></Errors><RequestID>{id}</RequestID></Response>"
            )
        );
    }

    #[test]
    fn json_keeps_type_message_and_header() {
        let (response, _) = answer(ErrorShape::Json, Method::POST);
        assert_eq!(
            response.header("x-amzn-errortype"),
            Some("ReplayMissException")
        );
        assert_eq!(
            response.json_body(),
            Some(json!({
                "__type": "com.example#ReplayMissException",
                "message": "no recording of GET /b/<k>?a=1&b=\"2\" it's",
            }))
        );
    }

    #[test]
    fn head_answers_have_no_body_in_any_shape() {
        for shape in [
            ErrorShape::Json,
            ErrorShape::S3,
            ErrorShape::RestXml,
            ErrorShape::Query,
            ErrorShape::Ec2,
        ] {
            let (response, body) = answer(shape, Method::HEAD);
            assert_eq!(response.status, StatusCode::BAD_REQUEST, "{shape:?}");
            assert!(body.is_empty(), "{shape:?}: {body}");
        }
    }

    #[test]
    fn characters_xml_cannot_hold_are_replaced() {
        assert_eq!(
            xml_escape("a\u{0}b\u{1b}c\td\u{FFFF}"),
            "a\u{FFFD}b\u{FFFD}c\td\u{FFFD}"
        );
    }
}
