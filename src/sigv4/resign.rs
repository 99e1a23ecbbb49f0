//! Re-signing: remove the client's signature, sign again with the real
//! credentials for the upstream host.
//!
//! The client signed for the proxy's address with throw-away credentials;
//! every trace of that (the four signing headers, and a presigned URL's
//! `X-Amz-*` query parameters) is removed, Host becomes the upstream's, and
//! the request is signed in the headers over the exact bytes that will be
//! sent.

use super::chunked::{ChunkSigner, Streaming, StreamingKind};
use super::credentials::{CredentialsError, Keyring};
use super::scope::{ClientSignature, Scope, parse_credential};
use crate::form;
use crate::http::Request;
use aws_sigv4::http_request::{
    PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SigningInstructions,
    SigningSettings, UriPathNormalizationMode, sign,
};
use aws_sigv4::sign::v4;
use http::header::{HOST, HeaderName, HeaderValue};
use std::fmt;
use std::time::SystemTime;

/// The headers a SigV4 client adds to sign a request.
pub const SIGNING_HEADERS: &[&str] = &[
    "authorization",
    "x-amz-date",
    "x-amz-security-token",
    "x-amz-content-sha256",
];

/// The query parameters of a presigned URL.
pub const PRESIGN_PARAMS: &[&str] = &[
    "x-amz-algorithm",
    "x-amz-credential",
    "x-amz-date",
    "x-amz-expires",
    "x-amz-signedheaders",
    "x-amz-signature",
    "x-amz-security-token",
];

/// The query parameters of a SigV2 presigned URL (S3's `AWSAccessKeyId`,
/// `Signature`, `Expires`): signing parameters only when the first two are
/// both there, since `Expires` alone may mean something else.
const SIGV2_PARAMS: &[&str] = &["AWSAccessKeyId", "Signature", "Expires"];

/// Which query parameters of `query` sign the request (SigV4 or SigV2 query
/// auth): they change on every presign and never reach the upstream or a
/// cassette.
pub struct QueryAuth {
    sigv2: bool,
}

impl QueryAuth {
    pub fn of(query: &str) -> Self {
        let pairs = form::pairs(query);
        let has = |name: &str| pairs.iter().any(|(k, _)| k == name);
        Self {
            sigv2: has("AWSAccessKeyId") && has("Signature"),
        }
    }

    /// Whether the (decoded) query key `key` is a signing parameter.
    pub fn is_signing_param(&self, key: &str) -> bool {
        PRESIGN_PARAMS.iter().any(|p| key.eq_ignore_ascii_case(p))
            || (self.sigv2 && SIGV2_PARAMS.contains(&key))
    }
}

/// A request with the client's signature removed.
#[derive(Clone, Debug)]
pub struct Unsigned {
    /// Origin-form URI (path and query), no signing header.
    pub request: Request,
    /// The scope the client signed for, if it signed.
    pub client_scope: Option<Scope>,
    /// The client sent `X-Amz-Content-SHA256` (S3 and Glacier require it), so
    /// the re-signed request carries one too.
    pub payload_header: bool,
    /// The client sent the body as aws-chunked; `request.body` is then the
    /// decoded payload, framed (and chunk-signed) again when signing.
    pub streaming: Option<Streaming>,
}

/// Removes every client signing header and presigned-URL parameter.
pub fn strip_client_signature(request: &Request) -> Unsigned {
    let query = request.uri.query().unwrap_or("");
    let payload_header = request.headers.contains_key("x-amz-content-sha256");

    let mut out = request.clone();
    for name in SIGNING_HEADERS {
        out.headers.remove(*name);
    }
    let auth = QueryAuth::of(query);
    let kept: Vec<&str> = query
        .split('&')
        .filter(|segment| !segment.is_empty())
        .filter(|segment| {
            let key = form::pairs(segment)
                .into_iter()
                .next()
                .map(|(k, _)| k)
                .unwrap_or_default();
            !auth.is_signing_param(&key)
        })
        .collect();
    let path = request.uri.path();
    let target = if kept.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{}", kept.join("&"))
    };
    // Whole segments of a valid path and query form a valid one again; the
    // result is origin-form even when the client sent an absolute URI.
    if let Ok(uri) = target.parse() {
        out.uri = uri;
    }
    Unsigned {
        request: out,
        client_scope: client_scope(request),
        payload_header,
        streaming: None,
    }
}

/// The scope a client signed `request` for: its `Authorization` header's,
/// else a presigned URL's `X-Amz-Credential`.
pub fn client_scope(request: &Request) -> Option<Scope> {
    let header_scope = request
        .header("authorization")
        .and_then(|auth| ClientSignature::parse(auth).ok())
        .map(|sig| sig.scope);
    header_scope.or_else(|| {
        form::pairs(request.uri.query().unwrap_or(""))
            .into_iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("x-amz-credential"))
            .and_then(|(_, v)| parse_credential(&v).ok())
            .map(|(_, _, scope)| scope)
    })
}

/// Why a request could not be signed.
#[derive(Debug)]
pub enum SignError {
    Credentials(CredentialsError),
    /// The request cannot be expressed for signing (e.g. a header value that
    /// is not text, or a URI without a host).
    Request(String),
}

impl fmt::Display for SignError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SignError::Credentials(e) => write!(f, "{e}"),
            SignError::Request(message) => write!(f, "cannot sign the request: {message}"),
        }
    }
}

impl std::error::Error for SignError {}

/// A request signed for the upstream.
#[derive(Debug)]
pub struct Signed {
    pub request: Request,
    /// The account of the credentials, when the provider knows it (SSO and
    /// some others do): a redaction hint.
    pub account_id: Option<String>,
}

/// Signs requests with the real credentials. Hands out signed requests and
/// answers "is a secret in these bytes", never the credentials.
pub struct Signer {
    keyring: Keyring,
}

impl Signer {
    pub fn new(keyring: Keyring) -> Self {
        Self { keyring }
    }

    /// See [`Keyring::region`].
    pub fn region(&self) -> Option<&str> {
        self.keyring.region()
    }

    /// Signs `unsigned`, whose URI must already be the absolute upstream URI,
    /// for `scope`. Host is set from that URI.
    pub async fn sign(&self, unsigned: Unsigned, scope: &Scope) -> Result<Signed, SignError> {
        let identity = self
            .keyring
            .credentials()
            .await
            .map_err(SignError::Credentials)?;
        let account_id = identity
            .data::<aws_credential_types::Credentials>()
            .and_then(|creds| creds.account_id())
            .map(|a| a.as_str().to_string());
        let mut request = unsigned.request;
        let host = host_header(&request.uri).ok_or_else(|| {
            SignError::Request(format!("the upstream URI `{}` has no host", request.uri))
        })?;
        let host = HeaderValue::from_str(&host)
            .map_err(|_| SignError::Request(format!("`{host}` is not a valid Host header")))?;
        request.headers.insert(HOST, host);

        let streaming = unsigned.streaming;
        let trailers = match &streaming {
            Some(streaming) => streaming
                .frame_headers(&mut request)
                .map_err(SignError::Request)?,
            None => Vec::new(),
        };
        let mut settings = settings_for(&scope.service);
        // S3 wants the payload hash in a header with header auth, also for
        // a request the client presigned (which carried none).
        if unsigned.payload_header || streaming.is_some() || is_s3(&scope.service) {
            settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
        }
        let time = SystemTime::now();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&scope.region)
            .name(&scope.service)
            .time(time)
            .settings(settings)
            .build()
            .map_err(|e| SignError::Request(e.to_string()))?
            .into();
        let body = match streaming.as_ref().map(|s| s.kind) {
            None => SignableBody::Bytes(&request.body),
            Some(StreamingKind::UnsignedTrailer) => SignableBody::StreamingUnsignedPayloadTrailer,
            Some(kind) => SignableBody::Precomputed(kind.content_sha256().to_string()),
        };
        // Headers that are not text cannot be signed; they still travel.
        let headers: Vec<(&str, &str)> = request
            .headers
            .iter()
            .filter_map(|(name, value)| value.to_str().ok().map(|v| (name.as_str(), v)))
            .collect();
        let uri = request.uri.to_string();
        let signable =
            SignableRequest::new(request.method.as_str(), uri, headers.into_iter(), body)
                .map_err(|e| SignError::Request(e.to_string()))?;
        let (instructions, seed_signature) = sign(signable, &params)
            .map_err(|e| SignError::Request(e.to_string()))?
            .into_parts();
        let amz_date = apply(instructions, &mut request)?;
        if let Some(streaming) = &streaming {
            let secret = identity
                .data::<aws_credential_types::Credentials>()
                .map(|c| c.secret_access_key())
                .ok_or_else(|| SignError::Request("the credentials have no secret key".into()))?;
            let signing_key = v4::generate_signing_key(secret, time, &scope.region, &scope.service);
            let chain_scope = format!(
                "{}/{}/{}/aws4_request",
                amz_date.get(..8).unwrap_or_default(),
                scope.region,
                scope.service
            );
            let signer = (streaming.kind != StreamingKind::UnsignedTrailer).then(|| ChunkSigner {
                signing_key: signing_key.as_ref(),
                amz_date: &amz_date,
                scope: &chain_scope,
                previous: seed_signature.clone(),
            });
            request.body = streaming.encode(&request.body, &trailers, signer).into();
        }
        Ok(Signed {
            request,
            account_id,
        })
    }
}

/// Puts the signer's headers on `request`, marked sensitive; returns the
/// `X-Amz-Date` it signed with.
fn apply(instructions: SigningInstructions, request: &mut Request) -> Result<String, SignError> {
    let (headers, _params) = instructions.into_parts();
    let mut amz_date = String::new();
    for header in headers {
        if header.name() == "x-amz-date" {
            amz_date = header.value().to_string();
        }
        let name = HeaderName::from_static(header.name());
        let mut value = HeaderValue::from_str(header.value()).map_err(|_| {
            SignError::Request(format!(
                "the signer produced an invalid `{}` header",
                header.name()
            ))
        })?;
        // Sensitive values are shown as `Sensitive` by any HTTP-level debug log.
        value.set_sensitive(true);
        request.headers.insert(name, value);
    }
    Ok(amz_date)
}

impl crate::cassette::SecretScan for Signer {
    fn find_secret(&self, bytes: &[u8]) -> Option<&'static str> {
        self.keyring.find_secret(bytes)
    }

    fn shortest_secret(&self) -> usize {
        self.keyring.shortest_secret()
    }

    fn secret_bytes(&self) -> crate::cassette::ByteSet {
        self.keyring.secret_bytes()
    }
}

fn is_s3(service: &str) -> bool {
    matches!(service, "s3" | "s3-outposts" | "s3express")
}

/// S3 signs the path as sent; every other service normalises and
/// double-encodes it.
pub(super) fn settings_for(service: &str) -> SigningSettings {
    let mut settings = SigningSettings::default();
    if is_s3(service) {
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    }
    settings
}

/// `host[:port]`, without the scheme's default port (what HTTP clients send).
fn host_header(uri: &http::Uri) -> Option<String> {
    let host = uri.host()?;
    let default_port = match uri.scheme_str() {
        Some("https") => Some(443),
        Some("http") => Some(80),
        _ => None,
    };
    Some(match uri.port_u16() {
        Some(port) if Some(port) != default_port => format!("{host}:{port}"),
        _ => host.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sigv4::credentials::{CredentialSource, StaticCredentials};
    use http::Method;

    fn client_request() -> Request {
        let mut request = Request::new(
            Method::GET,
            "/things?b=2&X-Amz-Credential=AKIDDUMMY%2F20260501%2Fus-west-2%2Fsqs%2Faws4_request&X-Amz-Signature=ff&a=1",
        )
        .unwrap();
        for (name, value) in [
            ("host", "127.0.0.1:4751"),
            (
                "authorization",
                "AWS4-HMAC-SHA256 Credential=AKIDDUMMY/20260501/eu-west-1/proton/aws4_request, SignedHeaders=host;x-amz-date, Signature=00",
            ),
            ("x-amz-date", "20260501T120000Z"),
            ("x-amz-security-token", "dummy-token"),
            ("x-amz-content-sha256", "UNSIGNED-PAYLOAD"),
            ("x-amz-target", "AwsProton20200720.ListEnvironments"),
        ] {
            request.headers.insert(name, value.parse().unwrap());
        }
        request
    }

    #[test]
    fn strips_every_client_signing_trace() {
        let unsigned = strip_client_signature(&client_request());
        for name in SIGNING_HEADERS {
            assert!(!unsigned.request.headers.contains_key(*name), "{name} kept");
        }
        assert_eq!(unsigned.request.uri.to_string(), "/things?b=2&a=1");
        assert_eq!(
            unsigned.request.header("x-amz-target"),
            Some("AwsProton20200720.ListEnvironments")
        );
        assert_eq!(
            unsigned.client_scope,
            Some(Scope {
                region: "eu-west-1".into(),
                service: "proton".into()
            }),
            "the Authorization scope wins over the query's"
        );
        assert!(unsigned.payload_header);
    }

    #[test]
    fn sigv2_query_signatures_are_stripped_but_a_lone_expires_is_not() {
        let request = Request::new(
            Method::GET,
            "/bucket/key?AWSAccessKeyId=AKIDDUMMY&Signature=abc%2B%3D&Expires=1700000000&versionId=3",
        )
        .unwrap();
        let unsigned = strip_client_signature(&request);
        assert_eq!(unsigned.request.uri.to_string(), "/bucket/key?versionId=3");
        let request = Request::new(Method::GET, "/things?Expires=5&Signature=x").unwrap();
        let unsigned = strip_client_signature(&request);
        assert_eq!(
            unsigned.request.uri.to_string(),
            "/things?Expires=5&Signature=x"
        );
    }

    #[test]
    fn a_presigned_url_gives_its_scope() {
        let mut request = client_request();
        request.headers.remove("authorization");
        let unsigned = strip_client_signature(&request);
        assert_eq!(
            unsigned.client_scope,
            Some(Scope {
                region: "us-west-2".into(),
                service: "sqs".into()
            })
        );
    }

    #[test]
    fn host_headers_leave_out_default_ports() {
        let host = |uri: &str| host_header(&uri.parse().unwrap());
        assert_eq!(
            host("https://proton.us-east-1.amazonaws.com:443/"),
            Some("proton.us-east-1.amazonaws.com".into())
        );
        assert_eq!(
            host("http://127.0.0.1:4566/"),
            Some("127.0.0.1:4566".into())
        );
        assert_eq!(host("/relative"), None);
    }

    #[tokio::test]
    async fn signs_for_the_upstream_host_and_the_given_scope() {
        let keyring = Keyring::load(
            &CredentialSource::Static(StaticCredentials {
                access_key_id: "AKIAREAL000000000000".into(),
                secret_access_key: "real-secret".into(),
                session_token: Some("real-token".into()),
            }),
            None,
        )
        .await
        .unwrap();
        let signer = Signer::new(keyring);
        let mut unsigned = strip_client_signature(&client_request());
        unsigned.request.uri = "https://proton.eu-west-1.amazonaws.com/things?b=2&a=1"
            .parse()
            .unwrap();
        let scope = Scope {
            region: "eu-west-1".into(),
            service: "proton".into(),
        };
        let signed = signer.sign(unsigned, &scope).await.unwrap().request;
        assert_eq!(
            signed.header("host"),
            Some("proton.eu-west-1.amazonaws.com")
        );
        let auth = ClientSignature::parse(signed.header("authorization").unwrap()).unwrap();
        assert_eq!(auth.access_key_id, "AKIAREAL000000000000");
        assert_eq!(auth.scope, scope);
        assert!(auth.signed_headers.contains(&"x-amz-target".to_string()));
        assert!(
            auth.signed_headers
                .contains(&"x-amz-content-sha256".to_string())
        );
        assert_eq!(signed.header("x-amz-security-token"), Some("real-token"));
        assert_ne!(
            signed.header("x-amz-content-sha256"),
            Some("UNSIGNED-PAYLOAD")
        );
    }
}
