//! S3 virtual-hosted addressing: a request for `BUCKET.localhost:PORT/KEY`
//! is the path-style request `/BUCKET/KEY`. The proxy matches, records and
//! forwards the path-style form, so the bucket survives whatever host the
//! request is sent on, and replay answers either style.

use crate::http::Request;
use crate::sigv4::{QueryAuth, client_scope};

/// The path-style form of an S3 request whose Host names its bucket as a
/// label before `localhost`; `None` for any other request.
pub fn path_style(request: &Request) -> Option<Request> {
    let host = request.header("host")?;
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    };
    let bucket = name
        .get(..name.len().checked_sub(".localhost".len())?)
        .filter(|_| name.to_ascii_lowercase().ends_with(".localhost"))?;
    if !is_bucket_name(bucket) {
        return None;
    }
    let query = request.uri.query().unwrap_or("");
    let s3 = match client_scope(request) {
        Some(scope) => scope.service == "s3",
        // SigV2 presigned URLs carry no scope; only S3 uses them.
        None => QueryAuth::of(query).is_signing_param("AWSAccessKeyId"),
    };
    if !s3 {
        return None;
    }
    let path = match request.uri.path() {
        "/" | "" => format!("/{bucket}"),
        path => format!("/{bucket}{path}"),
    };
    let target = match request.uri.query() {
        Some(query) => format!("{path}?{query}"),
        None => path,
    };
    let mut out = request.clone();
    out.uri = target.parse().ok()?;
    Some(out)
}

/// S3's rules for a bucket name in a host: 3 to 63 of `[a-z0-9.-]`,
/// starting and ending with a letter or digit.
fn is_bucket_name(name: &str) -> bool {
    (3..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::Method;

    fn request(host: &str, target: &str, service: &str) -> Request {
        let mut request = Request::new(Method::GET, target).unwrap();
        request.headers.insert("host", host.parse().unwrap());
        let auth = format!(
            "AWS4-HMAC-SHA256 Credential=AKID/20260501/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=00"
        );
        request
            .headers
            .insert("authorization", auth.parse().unwrap());
        request
    }

    #[test]
    fn a_bucket_in_the_host_moves_into_the_path() {
        let uri = |host: &str, target: &str| {
            path_style(&request(host, target, "s3")).map(|r| r.uri.to_string())
        };
        assert_eq!(
            uri("photos.localhost:4751", "/2026/cat.jpg?versionId=1"),
            Some("/photos/2026/cat.jpg?versionId=1".into())
        );
        assert_eq!(
            uri("photos.localhost:4751", "/?list-type=2"),
            Some("/photos?list-type=2".into())
        );
        assert_eq!(
            uri("my.dotted.bucket.localhost", "/k"),
            Some("/my.dotted.bucket/k".into())
        );
        assert_eq!(uri("localhost:4751", "/photos/k"), None);
        assert_eq!(uri("127.0.0.1:4751", "/photos/k"), None);
        assert_eq!(uri("x.localhost", "/k"), None, "too short for a bucket");
        assert_eq!(uri("Bad_Name.localhost", "/k"), None);
        assert!(path_style(&request("photos.localhost", "/k", "sqs")).is_none());
    }
}
