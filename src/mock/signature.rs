//! Optional SigV4 verification (`--verify-signatures AKID:SECRET`): the mock
//! rebuilds the canonical request from the headers the client says it signed,
//! derives the signing key with `aws-sigv4` for the date, region and service
//! of the credential scope, and compares signatures. It checks only what the
//! signature covers; it does not reject old `X-Amz-Date`s, because the mock's
//! clock may be anywhere. Answers follow AWS's JSON front end:
//! MissingAuthenticationTokenException, UnrecognizedClientException,
//! InvalidSignatureException.

use super::errors::MockError;
use crate::http::Request;
use sha2::{Digest, Sha256};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// The parts of an `Authorization: AWS4-HMAC-SHA256 ...` header.
struct Authorization<'a> {
    access_key: &'a str,
    date: &'a str,
    region: &'a str,
    service: &'a str,
    signed_headers: &'a str,
    signature: &'a str,
}

fn parse(header: &str) -> Option<Authorization<'_>> {
    let rest = header.strip_prefix(ALGORITHM)?.trim_start();
    let (mut credential, mut signed_headers, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let (key, value) = part.trim().split_once('=')?;
        match key {
            "Credential" => credential = Some(value),
            "SignedHeaders" => signed_headers = Some(value),
            "Signature" => signature = Some(value),
            _ => {}
        }
    }
    let mut scope = credential?.split('/');
    let authorization = Authorization {
        access_key: scope.next()?,
        date: scope.next()?,
        region: scope.next()?,
        service: scope.next()?,
        signed_headers: signed_headers?,
        signature: signature?,
    };
    (scope.next()? == "aws4_request").then_some(authorization)
}

/// Checks the request's signature against `access_key` and `secret`.
pub fn verify(request: &Request, access_key: &str, secret: &str) -> Result<(), MockError> {
    let Some(header) = request.header("authorization") else {
        return Err(MockError::MissingAuthenticationToken(
            "Missing Authentication Token".into(),
        ));
    };
    let auth = parse(header).ok_or_else(|| {
        MockError::InvalidSignature(format!(
            "Authorization header is not a SigV4 header ({ALGORITHM} Credential=.../aws4_request, SignedHeaders=..., Signature=...)"
        ))
    })?;
    if auth.access_key != access_key {
        return Err(MockError::UnrecognizedClient(
            "The security token included in the request is invalid.".into(),
        ));
    }
    let amz_date = request.header("x-amz-date").ok_or_else(|| {
        MockError::InvalidSignature("the signed request has no X-Amz-Date header".into())
    })?;
    let time = scope_date(auth.date).ok_or_else(|| {
        MockError::InvalidSignature(format!(
            "credential scope date '{}' is not YYYYMMDD",
            auth.date
        ))
    })?;
    let canonical = canonical_request(request, auth.signed_headers);
    let string_to_sign = format!(
        "{ALGORITHM}\n{amz_date}\n{}/{}/{}/aws4_request\n{}",
        auth.date,
        auth.region,
        auth.service,
        hex(&Sha256::digest(canonical.as_bytes()))
    );
    let key = aws_sigv4::sign::v4::generate_signing_key(secret, time, auth.region, auth.service);
    let expected = aws_sigv4::sign::v4::calculate_signature(key, string_to_sign.as_bytes());
    if expected != auth.signature {
        return Err(MockError::InvalidSignature(
            "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.".into(),
        ));
    }
    Ok(())
}

fn canonical_request(request: &Request, signed_headers: &str) -> String {
    let path = request.uri.path();
    let path = if path.is_empty() {
        "/".to_string()
    } else {
        encode(path, false)
    };
    let mut query: Vec<&str> = request
        .uri
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .collect();
    query.sort_unstable();
    let mut out = format!("{}\n{path}\n{}\n", request.method, query.join("&"));
    for name in signed_headers.split(';') {
        let values: Vec<String> = request
            .headers
            .get_all(name)
            .iter()
            .map(|v| {
                String::from_utf8_lossy(v.as_bytes())
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        out.push_str(name);
        out.push(':');
        out.push_str(&values.join(","));
        out.push('\n');
    }
    let payload = match request.header("x-amz-content-sha256") {
        Some(hash) => hash.to_string(),
        None => hex(&Sha256::digest(&request.body)),
    };
    out.push('\n');
    out.push_str(signed_headers);
    out.push('\n');
    out.push_str(&payload);
    out
}

/// SigV4's URI encoding of a path that clients already encoded once
/// (services other than S3 sign the path encoded twice).
fn encode(text: &str, encode_slash: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(byte as char)
            }
            b'/' if !encode_slash => out.push('/'),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Midnight UTC of a `YYYYMMDD` date.
fn scope_date(date: &str) -> Option<SystemTime> {
    if date.len() != 8 || !date.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let year: i64 = date.get(0..4)?.parse().ok()?;
    let month: i64 = date.get(4..6)?.parse().ok()?;
    let day: i64 = date.get(6..8)?.parse().ok()?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || year < 1970 {
        return None;
    }
    // Days from civil (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(UNIX_EPOCH + Duration::from_secs(u64::try_from(days).ok()? * 86_400))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_dates_are_midnight_utc() {
        let t = scope_date("20260101").unwrap();
        assert_eq!(
            t.duration_since(UNIX_EPOCH).unwrap().as_secs(),
            1_767_225_600
        );
        assert!(scope_date("2026011").is_none());
        assert!(scope_date("20261301").is_none());
    }

    #[test]
    fn a_malformed_authorization_header_is_rejected_not_panicked_on() {
        assert!(parse("AWS4-HMAC-SHA256 Credential=a/b").is_none());
        assert!(parse("Basic xyz").is_none());
        assert!(parse("AWS4-HMAC-SHA256 Credential=AK/20260101/us-east-1/proton/aws4_request, SignedHeaders=host, Signature=ab").is_some());
    }
}
