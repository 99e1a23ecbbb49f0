//! S3 virtual-hosted addressing: a request for `BUCKET.localhost:PORT/KEY`
//! is the path-style request `/BUCKET/KEY`. The proxy matches, records and
//! forwards the path-style form, so the bucket survives whatever host the
//! request is sent on, and replay answers either style.
//!
//! The same holds for an upstream whose host names a bucket
//! (`--upstream https://BUCKET.s3.REGION.amazonaws.com`, or
//! `http://BUCKET.localhost:PORT` for a local stand-in): a client's `/KEY`
//! is matched and recorded as `/BUCKET/KEY`, and sent to that host as
//! `/KEY` again.

use crate::http::Request;
use crate::sigv4::{QueryAuth, client_scope};

/// The path-style form of an S3 request whose Host names its bucket as a
/// label before `localhost`; `None` for any other request.
pub fn path_style(request: &Request) -> Option<Request> {
    let host = request
        .headers
        .get(http::header::HOST)
        .and_then(|v| v.to_str().ok())?;
    // Every request comes here: the port is found by its byte.
    let name = match host.bytes().rposition(|b| b == b':') {
        Some(colon) if host.as_bytes()[colon + 1..].iter().all(u8::is_ascii_digit) => {
            &host[..colon]
        }
        _ => host,
    };
    let bucket = localhost_bucket(name)?;
    let query = request.uri.query().unwrap_or("");
    let s3 = match client_scope(request) {
        Some(scope) => scope.service == "s3",
        // SigV2 presigned URLs carry no scope; only S3 uses them.
        None => QueryAuth::of(query).is_signing_param("AWSAccessKeyId"),
    };
    if !s3 {
        return None;
    }
    in_bucket(request, bucket)
}

/// The bucket label before `.localhost` (in any case) in a host name, when
/// it is a valid bucket name.
fn localhost_bucket(name: &str) -> Option<&str> {
    let at = name.len().checked_sub(".localhost".len())?;
    let (bucket, suffix) = (name.get(..at)?, name.get(at..)?);
    (suffix.eq_ignore_ascii_case(".localhost") && is_bucket_name(bucket)).then_some(bucket)
}

/// The bucket an upstream's host names: `BUCKET.s3.amazonaws.com`,
/// `BUCKET.s3.REGION.amazonaws.com` (also `s3-REGION`, `s3.dualstack`,
/// `s3-accelerate`, `s3-fips` and the other partitions' suffixes), or
/// `BUCKET.localhost`. Access points and S3 Express hosts name no bucket.
pub fn upstream_bucket(host: &str) -> Option<String> {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    if let Some(bucket) = localhost_bucket(&host) {
        return Some(bucket.to_string());
    }
    let aws = crate::services::facts()
        .partitions()
        .iter()
        .any(|p| host.ends_with(&format!(".{}", p.dns_suffix)));
    if !aws {
        return None;
    }
    let labels: Vec<&str> = host.split('.').collect();
    let at = labels.iter().rposition(|label| is_s3_label(label))?;
    let bucket = labels[..at].join(".");
    is_bucket_name(&bucket).then_some(bucket)
}

/// The label that starts an S3 endpoint host after the bucket.
fn is_s3_label(label: &str) -> bool {
    match label.strip_prefix("s3-") {
        None => label == "s3",
        Some("accelerate" | "fips" | "external-1") => true,
        Some(region) => {
            let parts: Vec<&str> = region.split('-').collect();
            parts.len() >= 3
                && parts[..parts.len() - 1]
                    .iter()
                    .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
                && parts[parts.len() - 1].bytes().all(|b| b.is_ascii_digit())
        }
    }
}

/// `request` addressed to `bucket` path-style: `/KEY` becomes
/// `/BUCKET/KEY`, `/` becomes `/BUCKET`.
pub fn in_bucket(request: &Request, bucket: &str) -> Option<Request> {
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

/// The inverse of [`in_bucket`]: the target to send to a host that names
/// `bucket`, or `None` when `uri` is not in that bucket.
pub fn within_bucket(uri: &http::Uri, bucket: &str) -> Option<http::Uri> {
    let rest = uri.path().strip_prefix('/')?.strip_prefix(bucket)?;
    let path = match rest {
        "" => "/",
        rest if rest.starts_with('/') => rest,
        _ => return None,
    };
    let target = match uri.query() {
        Some(query) => format!("{path}?{query}"),
        None => path.to_string(),
    };
    target.parse().ok()
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

    #[test]
    fn an_upstream_host_can_name_a_bucket() {
        for (host, bucket) in [
            ("photos.s3.us-east-1.amazonaws.com", Some("photos")),
            ("photos.s3.amazonaws.com", Some("photos")),
            (
                "my.dotted.bucket.s3.eu-west-1.amazonaws.com",
                Some("my.dotted.bucket"),
            ),
            ("photos.s3-us-west-2.amazonaws.com", Some("photos")),
            (
                "photos.s3.dualstack.us-east-1.amazonaws.com",
                Some("photos"),
            ),
            ("photos.s3-accelerate.amazonaws.com", Some("photos")),
            ("photos.s3.cn-north-1.amazonaws.com.cn", Some("photos")),
            ("PHOTOS.S3.US-EAST-1.AMAZONAWS.COM.", Some("photos")),
            ("photos.localhost", Some("photos")),
            ("s3.us-east-1.amazonaws.com", None),
            ("s3.amazonaws.com", None),
            ("dynamodb.us-east-1.amazonaws.com", None),
            (
                "ap-123456789012.s3-accesspoint.us-east-1.amazonaws.com",
                None,
            ),
            ("photos.s3.example.com", None),
            ("localhost", None),
            ("127.0.0.1", None),
        ] {
            assert_eq!(upstream_bucket(host).as_deref(), bucket, "{host}");
        }
    }

    #[test]
    fn a_bucket_upstream_path_goes_into_the_bucket_and_back() {
        let uri = |target: &str| -> Option<String> {
            let request = Request::new(Method::GET, target).unwrap();
            let inside = in_bucket(&request, "photos")?;
            assert_eq!(
                within_bucket(&inside.uri, "photos").map(|u| u.to_string()),
                Some(target.to_string())
            );
            Some(inside.uri.to_string())
        };
        assert_eq!(
            uri("/cat.jpg?versionId=1"),
            Some("/photos/cat.jpg?versionId=1".into())
        );
        assert_eq!(uri("/?list-type=2"), Some("/photos?list-type=2".into()));
        let parsed = |t: &str| t.parse::<http::Uri>().unwrap();
        assert_eq!(within_bucket(&parsed("/other/k"), "photos"), None);
        assert_eq!(within_bucket(&parsed("/photosx/k"), "photos"), None);
    }
}
