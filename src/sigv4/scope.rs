//! Which region and signing name a request is signed for.
//!
//! The client's own credential scope (`Credential=AKID/DATE/REGION/SERVICE/
//! aws4_request`) comes first: the SDK that built the request knows the
//! signing name, which often differs from the endpoint's first label
//! (`email` is signed as `ses`, `monitoring` as `monitoring`, `api.ecr` as
//! `ecr`). Guessing from the host alone is the most reported bug of existing
//! signing proxies, so the host is the last resort.

/// A SigV4 credential scope without its date: what a signature is for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scope {
    pub region: String,
    pub service: String,
}

/// The parts of a client's `Authorization: AWS4-HMAC-SHA256 ...` header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientSignature {
    pub access_key_id: String,
    /// `YYYYMMDD`.
    pub date: String,
    pub scope: Scope,
    /// Lower-case header names, in the order the client listed them.
    pub signed_headers: Vec<String>,
    pub signature: String,
}

impl ClientSignature {
    /// Parses an `Authorization` header value; `Err` says what is wrong.
    pub fn parse(authorization: &str) -> Result<Self, String> {
        let rest = authorization
            .strip_prefix("AWS4-HMAC-SHA256")
            .ok_or("the Authorization header is not an AWS4-HMAC-SHA256 signature")?;
        let mut credential = None;
        let mut signed_headers = None;
        let mut signature = None;
        for part in rest.split(',') {
            let Some((key, value)) = part.trim().split_once('=') else {
                continue;
            };
            match key.trim() {
                "Credential" => credential = Some(value.trim()),
                "SignedHeaders" => signed_headers = Some(value.trim()),
                "Signature" => signature = Some(value.trim()),
                _ => {}
            }
        }
        let credential = credential.ok_or("the Authorization header has no Credential=")?;
        let (access_key_id, date, scope) = parse_credential(credential)?;
        let signed_headers = signed_headers
            .ok_or("the Authorization header has no SignedHeaders=")?
            .split(';')
            .map(|h| h.trim().to_ascii_lowercase())
            .filter(|h| !h.is_empty())
            .collect();
        let signature = signature
            .ok_or("the Authorization header has no Signature=")?
            .to_string();
        Ok(Self {
            access_key_id,
            date,
            scope,
            signed_headers,
            signature,
        })
    }
}

/// `AKID/YYYYMMDD/REGION/SERVICE/aws4_request` (also the decoded value of a
/// presigned URL's `X-Amz-Credential`).
pub fn parse_credential(credential: &str) -> Result<(String, String, Scope), String> {
    let parts: Vec<&str> = credential.split('/').collect();
    match parts.as_slice() {
        [akid, date, region, service, "aws4_request"]
            if !akid.is_empty() && date.len() == 8 && !region.is_empty() && !service.is_empty() =>
        {
            Ok((
                (*akid).to_string(),
                (*date).to_string(),
                Scope {
                    region: (*region).to_string(),
                    service: (*service).to_string(),
                },
            ))
        }
        _ => Err(format!(
            "the credential scope `{}` is not AKID/YYYYMMDD/REGION/SERVICE/aws4_request",
            credential.split('/').skip(1).collect::<Vec<_>>().join("/")
        )),
    }
}

/// Guesses the scope from an endpoint host, for requests that carry no
/// scope of their own. Knows the common shapes:
/// `<service>.<region>.amazonaws.com[.cn]`, `<service>.<region>.api.aws`,
/// FIPS endpoints, the global endpoints (IAM, STS, Route 53, ...), S3's
/// virtual-hosted buckets, and the endpoint prefixes whose signing name
/// differs.
pub fn scope_from_host(host: &str) -> Option<Scope> {
    let host = host.to_ascii_lowercase();
    let host = host.rsplit_once(':').map_or(host.as_str(), |(h, port)| {
        if port.chars().all(|c| c.is_ascii_digit()) {
            h
        } else {
            host.as_str()
        }
    });
    let (labels, china) = if let Some(rest) = host.strip_suffix(".amazonaws.com.cn") {
        (rest, true)
    } else if let Some(rest) = host.strip_suffix(".amazonaws.com") {
        (rest, false)
    } else if let Some(rest) = host.strip_suffix(".api.aws") {
        (rest, false)
    } else {
        return None;
    };
    let labels: Vec<&str> = labels.split('.').collect();
    let global_region = if china { "cn-north-1" } else { "us-east-1" };
    let scope = |service: &str, region: &str| Scope {
        service: signing_name(service).to_string(),
        region: region.to_string(),
    };
    // Legacy S3 shape: s3-<region>.amazonaws.com.
    if let [single] = labels.as_slice() {
        if let Some(region) = single.strip_prefix("s3-").filter(|r| looks_like_region(r)) {
            return Some(scope("s3", region));
        }
    }
    match labels.as_slice() {
        // Global endpoints: iam.amazonaws.com, sts.amazonaws.com, ...
        [service] => Some(scope(service.trim_end_matches("-fips"), global_region)),
        [region, "queue"] => Some(scope("sqs", region)),
        // S3 dual-stack and virtual-hosted buckets: ...s3.<region>, ...s3.dualstack.<region>.
        [.., "s3", "dualstack", region] | [.., "s3", region] if looks_like_region(region) => {
            Some(scope("s3", region))
        }
        // <id>.execute-api.<region>
        [.., "execute-api", region] => Some(scope("execute-api", region)),
        // <service>.<region> and two-label prefixes such as api.ecr.<region>
        // or runtime.sagemaker.<region>; a dual-stack label may precede the region.
        [.., service, "dualstack", region] | [.., service, region] if looks_like_region(region) => {
            let prefix = labels
                .iter()
                .position(|l| l == service)
                .map(|i| labels[..=i].join("."))
                .unwrap_or_else(|| (*service).to_string());
            Some(scope(prefix.trim_end_matches("-fips"), region))
        }
        // <region>.<service>: a few old endpoints put the region first.
        [region, service] if looks_like_region(region) => Some(scope(service, region)),
        _ => None,
    }
}

/// The signing name of an endpoint prefix, where they differ.
fn signing_name(prefix: &str) -> &str {
    match prefix {
        "email" => "ses",
        "api.ecr" | "ecr" => "ecr",
        "runtime.sagemaker" | "api.sagemaker" => "sagemaker",
        "streams.dynamodb" => "dynamodb",
        "data.iot" => "iotdata",
        "runtime.lex" | "models.lex" => "lex",
        "api.pricing" => "pricing",
        "data.mediastore" => "mediastore",
        "queue" => "sqs",
        other => other.rsplit('.').next().unwrap_or(other),
    }
}

/// `us-east-1`, `eu-central-2`, `us-gov-west-1`, `cn-north-1`, `ap-southeast-5`, ...
fn looks_like_region(label: &str) -> bool {
    let parts: Vec<&str> = label.split('-').collect();
    parts.len() >= 3
        && parts
            .first()
            .is_some_and(|p| p.len() == 2 && p.chars().all(|c| c.is_ascii_lowercase()))
        && parts
            .last()
            .is_some_and(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(host: &str) -> Option<(String, String)> {
        scope_from_host(host).map(|s| (s.service, s.region))
    }

    fn pair(service: &str, region: &str) -> Option<(String, String)> {
        Some((service.to_string(), region.to_string()))
    }

    #[test]
    fn parses_the_client_authorization_header() {
        let auth = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260501/eu-west-1/proton/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=abc123";
        let parsed = ClientSignature::parse(auth).unwrap();
        assert_eq!(parsed.access_key_id, "AKIDEXAMPLE");
        assert_eq!(parsed.date, "20260501");
        assert_eq!(
            parsed.scope,
            Scope {
                region: "eu-west-1".into(),
                service: "proton".into()
            }
        );
        assert_eq!(
            parsed.signed_headers,
            ["content-type", "host", "x-amz-date", "x-amz-target"]
        );
        assert_eq!(parsed.signature, "abc123");
    }

    #[test]
    fn rejects_malformed_authorization_headers_with_a_reason() {
        assert!(
            ClientSignature::parse("Basic dXNlcjpwYXNz")
                .unwrap_err()
                .contains("AWS4-HMAC-SHA256")
        );
        let no_scope = "AWS4-HMAC-SHA256 Credential=AKID/20260501/aws4_request, SignedHeaders=host, Signature=00";
        assert!(
            ClientSignature::parse(no_scope)
                .unwrap_err()
                .contains("REGION/SERVICE")
        );
        let no_signature = "AWS4-HMAC-SHA256 Credential=AKID/20260501/us-east-1/sts/aws4_request, SignedHeaders=host";
        assert!(
            ClientSignature::parse(no_signature)
                .unwrap_err()
                .contains("Signature=")
        );
    }

    #[test]
    fn the_scope_error_does_not_repeat_the_access_key_id() {
        let error = parse_credential("AKIASECRETLOOKING/2026/x").unwrap_err();
        assert!(!error.contains("AKIASECRETLOOKING"), "{error}");
    }

    #[test]
    fn guesses_scopes_from_common_hosts() {
        assert_eq!(
            scope("proton.us-east-1.amazonaws.com"),
            pair("proton", "us-east-1")
        );
        assert_eq!(
            scope("proton.eu-west-1.amazonaws.com:443"),
            pair("proton", "eu-west-1")
        );
        assert_eq!(scope("sts.amazonaws.com"), pair("sts", "us-east-1"));
        assert_eq!(scope("iam.amazonaws.com.cn"), pair("iam", "cn-north-1"));
        assert_eq!(
            scope("sqs.ap-southeast-2.amazonaws.com"),
            pair("sqs", "ap-southeast-2")
        );
        assert_eq!(
            scope("email.us-west-2.amazonaws.com"),
            pair("ses", "us-west-2")
        );
        assert_eq!(
            scope("api.ecr.eu-central-1.amazonaws.com"),
            pair("ecr", "eu-central-1")
        );
        assert_eq!(
            scope("runtime.sagemaker.us-east-2.amazonaws.com"),
            pair("sagemaker", "us-east-2")
        );
        assert_eq!(
            scope("kms-fips.us-gov-west-1.amazonaws.com"),
            pair("kms", "us-gov-west-1")
        );
        assert_eq!(
            scope("my-bucket.s3.us-west-2.amazonaws.com"),
            pair("s3", "us-west-2")
        );
        assert_eq!(
            scope("s3.dualstack.eu-west-1.amazonaws.com"),
            pair("s3", "eu-west-1")
        );
        assert_eq!(
            scope("abc123.execute-api.us-east-1.amazonaws.com"),
            pair("execute-api", "us-east-1")
        );
        assert_eq!(
            scope("lambda.us-east-1.api.aws"),
            pair("lambda", "us-east-1")
        );
        assert_eq!(
            scope("refactor-spaces.us-east-1.amazonaws.com"),
            pair("refactor-spaces", "us-east-1")
        );
    }

    #[test]
    fn knows_nothing_about_other_hosts() {
        assert_eq!(scope("localhost:4566"), None);
        assert_eq!(scope("127.0.0.1"), None);
        assert_eq!(scope("example.com"), None);
    }
}
