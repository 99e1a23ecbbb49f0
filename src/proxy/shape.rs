//! Which protocol the proxy's own errors (a replay miss, a refusal, an
//! upstream failure) are answered in: the protocol of the service the
//! request is for, found from its SigV4 scope in the service facts table,
//! else guessed from its content type.

use crate::http::{AwsError, ErrorShape, Request, Response};
use crate::services::{Protocol, RequestLine, facts};
use crate::sigv4::client_scope;

/// `error` as the answer to `request`, in the protocol its client parses.
pub fn answer(error: &AwsError, request: &Request) -> Response {
    error.to_response_in(error_shape(request), request)
}

/// The error shape `request`'s client parses.
pub fn error_shape(request: &Request) -> ErrorShape {
    let by_content_type = ErrorShape::by_content_type(request);
    let scope = client_scope(request);
    let service = facts().service_of(
        scope.as_ref().map(|s| s.service.as_str()),
        RequestLine::of(request),
    );
    let Some(service) = service else {
        return by_content_type;
    };
    // Only query clients send forms: an older SQS client speaks query to a
    // service whose model now says JSON.
    let form = by_content_type == ErrorShape::Query;
    if form && service.protocols.contains(&Protocol::Ec2) {
        return ErrorShape::Ec2;
    }
    if form
        && (service.protocols.contains(&Protocol::Query) || service.protocol() == Protocol::Json)
    {
        return ErrorShape::Query;
    }
    match service.protocol() {
        Protocol::RestXml if service.name == "s3" => ErrorShape::S3,
        Protocol::RestXml => ErrorShape::RestXml,
        Protocol::Query => ErrorShape::Query,
        Protocol::Ec2 => ErrorShape::Ec2,
        Protocol::Json | Protocol::RestJson | Protocol::RpcV2Cbor => ErrorShape::Json,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::Method;

    fn signed(method: Method, uri: &str, service: &str, content_type: Option<&str>) -> Request {
        let mut request = Request::new(method, uri).unwrap();
        request.headers.insert(
            "authorization",
            format!(
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=00"
            )
            .parse()
            .unwrap(),
        );
        if let Some(content_type) = content_type {
            request
                .headers
                .insert("content-type", content_type.parse().unwrap());
        }
        request
    }

    const FORM: Option<&str> = Some("application/x-www-form-urlencoded; charset=utf-8");

    #[test]
    fn each_protocol_gets_its_shape() {
        let cases = [
            (
                signed(Method::GET, "/bucket/key", "s3", None),
                ErrorShape::S3,
            ),
            (
                signed(Method::GET, "/2013-04-01/hostedzone", "route53", None),
                ErrorShape::RestXml,
            ),
            (signed(Method::POST, "/", "ec2", FORM), ErrorShape::Ec2),
            (signed(Method::POST, "/", "sts", FORM), ErrorShape::Query),
            (signed(Method::POST, "/", "sqs", FORM), ErrorShape::Query),
            (
                signed(
                    Method::POST,
                    "/",
                    "dynamodb",
                    Some("application/x-amz-json-1.0"),
                ),
                ErrorShape::Json,
            ),
            (
                signed(Method::GET, "/2015-03-31/functions/", "lambda", None),
                ErrorShape::Json,
            ),
        ];
        for (request, shape) in cases {
            assert_eq!(
                error_shape(&request),
                shape,
                "{} {}",
                request.method,
                request.uri
            );
        }
    }

    #[test]
    fn a_presigned_url_counts_like_a_signed_header() {
        let request = Request::new(
            Method::GET,
            "/bucket/key?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20260101%2Fus-east-1%2Fs3%2Faws4_request",
        )
        .unwrap();
        assert_eq!(error_shape(&request), ErrorShape::S3);
    }

    #[test]
    fn an_unknown_service_falls_back_to_the_content_type() {
        let form = signed(Method::POST, "/", "nosuchservice", FORM);
        assert_eq!(error_shape(&form), ErrorShape::Query);
        let unsigned = Request::new(Method::POST, "/").unwrap();
        assert_eq!(error_shape(&unsigned), ErrorShape::Json);
    }
}
