//! The forward phase: check the client (optional local key), strip its
//! signature, sign again with the real credentials, and send the request to
//! its upstream.
//!
//! Where a request goes is a [`Route`]: the one configured upstream, or (the
//! default) the regional endpoint of the service and region in the client's
//! own SigV4 scope, looked up in the service facts table, so one recorder
//! serves a whole application. Not an open proxy either way: the client's
//! Host header and any absolute target are never used, a routed request can
//! only reach a host built from the table (or, for tests, the one loopback
//! address of `--route-override`), [`Target::uri`] builds the destination
//! from parts (never by joining text), and the destination is checked once
//! more just before sending. With a client key only clients that hold it get
//! through.
//!
//! A request the client did not sign is signed for the region and signing
//! name the flags or a pinned upstream's host give (the region also comes
//! from the standard AWS configuration); when no signing name is known (an
//! emulator's own routes, such as a reset call), it goes unsigned, as the
//! client sent it, and only to a pinned upstream.

use crate::http::upstream::HOP_BY_HOP;
use crate::http::{AwsError, Origin, Request, Response, Upstream};
use crate::services::{RequestLine, facts};
use crate::sigv4::{
    ClientKeyVerifier, Scope, SignError, Signer, Streaming, scope_from_host, strip_client_signature,
};
use http::uri::{Authority, PathAndQuery, Scheme};
use http::{HeaderName, Uri};
use std::sync::Arc;

/// Request headers that must not reach the upstream as the client sent them.
/// `accept-encoding` goes so answers come back uncompressed and cassettes
/// stay readable.
const NOT_FORWARDED: &[HeaderName] = &[http::header::ACCEPT_ENCODING];

/// One destination: scheme, authority and a base path.
#[derive(Clone, Debug)]
pub struct Target {
    scheme: Scheme,
    /// Host and port, without the scheme's default port.
    authority: Authority,
    /// The URL's path without its trailing slash (often empty).
    base_path: String,
}

impl Target {
    /// Parses `http(s)://host[:port][/base]`; `what` names the setting in errors.
    pub fn parse(url: &str, what: &str) -> Result<Self, String> {
        let uri: Uri = url
            .parse()
            .map_err(|e| format!("{what} `{url}` is not a URL ({e})"))?;
        let scheme = match uri.scheme_str() {
            Some(scheme @ ("http" | "https")) => scheme,
            _ => {
                return Err(format!(
                    "{what} `{url}` must start with https:// (or http:// for a local emulator)"
                ));
            }
        };
        let host = uri
            .host()
            .ok_or_else(|| format!("{what} `{url}` has no host"))?;
        if uri.query().is_some() {
            return Err(format!("{what} `{url}` must not have a query"));
        }
        let default_port = if scheme == "https" { 443 } else { 80 };
        let authority = match uri.port_u16() {
            Some(port) if port != default_port => format!("{host}:{port}"),
            _ => host.to_string(),
        };
        Ok(Self {
            scheme: scheme.parse().map_err(|e| format!("{what} `{url}`: {e}"))?,
            authority: authority
                .parse()
                .map_err(|e| format!("{what} `{url}` has an invalid host ({e})"))?,
            base_path: uri.path().trim_end_matches('/').to_string(),
        })
    }

    /// `https://HOST` for a host taken from the facts table.
    fn https(host: &str) -> Result<Self, String> {
        Ok(Self {
            scheme: Scheme::HTTPS,
            authority: host
                .parse()
                .map_err(|e| format!("the endpoint host `{host}` is invalid ({e})"))?,
            base_path: String::new(),
        })
    }

    /// `scheme://authority/base`, for messages and provenance.
    pub fn base(&self) -> String {
        format!("{}://{}{}", self.scheme, self.authority, self.base_path)
    }

    fn host(&self) -> &str {
        self.authority.host()
    }

    fn is_loopback(&self) -> bool {
        let host = self.host().to_ascii_lowercase();
        let ip = host.trim_start_matches('[').trim_end_matches(']');
        host == "localhost"
            || host.ends_with(".localhost")
            || ip
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    }
}

/// Where requests are sent.
#[derive(Clone, Debug)]
pub enum Route {
    /// Every request to one upstream (`--upstream URL`).
    Fixed(Target),
    /// Each request to the regional endpoint of the service and region it
    /// is signed for, from the facts table (`--upstream aws`, the default).
    /// `loopback` sends every such request to one loopback address instead,
    /// after the table lookup (an emulator standing in for every service).
    ByScope { loopback: Option<Target> },
}

impl Route {
    /// The route for a pinned upstream URL (`None`: by scope) and
    /// `--route-override`, which must be a loopback address.
    pub fn new(upstream: Option<&str>, route_override: Option<&str>) -> Result<Self, String> {
        match (upstream, route_override) {
            (Some(url), None) => Ok(Route::Fixed(Target::parse(url, "--upstream")?)),
            (Some(_), Some(_)) => Err(
                "--route-override applies to --upstream aws (routing by SigV4 scope); drop one of them".into(),
            ),
            (None, None) => Ok(Route::ByScope { loopback: None }),
            (None, Some(url)) => {
                let target = Target::parse(url, "--route-override")?;
                if !target.is_loopback() {
                    return Err(format!(
                        "--route-override `{url}` must be a loopback address (127.0.0.1, [::1] or localhost): it stands in for every AWS endpoint, so it may only be a local emulator"
                    ));
                }
                Ok(Route::ByScope {
                    loopback: Some(target),
                })
            }
        }
    }
}

/// Where requests go and how they are signed.
pub struct Forward {
    upstream: Upstream,
    route: Route,
    /// What the upstream host name says about region and service.
    host_scope: Option<Scope>,
    /// The bucket the upstream host names (`BUCKET.s3.REGION.amazonaws.com`):
    /// requests are matched and recorded path-style, sent without it.
    bucket: Option<String>,
    signer: Arc<Signer>,
    /// `--region` / `--service`, used when the client sent no scope.
    region: Option<String>,
    service: Option<String>,
    client_key: Option<ClientKeyVerifier>,
}

/// A request answered by the upstream.
pub struct Forwarded {
    /// The request as recorded: the client's, without its signature.
    pub request: Request,
    pub response: Response,
    /// What the request was signed for; `None` when it went unsigned.
    pub scope: Option<Scope>,
    pub account_id: Option<String>,
    /// The endpoint the request was for: the fixed upstream, or the one the
    /// facts table gave (also when `--route-override` sent it elsewhere).
    pub endpoint: String,
}

impl Forward {
    /// Builds the phase.
    pub fn new(
        upstream: Upstream,
        route: Route,
        signer: Arc<Signer>,
        region: Option<String>,
        service: Option<String>,
        client_key: Option<ClientKeyVerifier>,
    ) -> Self {
        let (host_scope, bucket) = match &route {
            Route::Fixed(target) => (
                scope_from_host(target.host()),
                super::addressing::upstream_bucket(target.host()),
            ),
            Route::ByScope { .. } => (None, None),
        };
        Self {
            upstream,
            route,
            host_scope,
            bucket,
            signer,
            region,
            service,
            client_key,
        }
    }

    /// The upstream as configured, normalised; for routing by scope, a
    /// description of it.
    pub fn base(&self) -> String {
        match &self.route {
            Route::Fixed(target) => target.base(),
            Route::ByScope { loopback: None } => {
                "aws (each request to its service's regional endpoint)".into()
            }
            Route::ByScope {
                loopback: Some(target),
            } => format!(
                "aws (each request routed by its service's endpoint, all sent to {})",
                target.base()
            ),
        }
    }

    /// The bucket the upstream's host names, if it names one.
    pub fn upstream_bucket(&self) -> Option<&str> {
        self.bucket.as_deref()
    }

    /// The target `meant` is sent to: its own, or for an upstream that names
    /// a bucket, without that bucket (which the host already says).
    fn upstream_target(&self, meant: &Uri) -> Result<Uri, AwsError> {
        let Some(bucket) = &self.bucket else {
            return Ok(meant.clone());
        };
        super::addressing::within_bucket(meant, bucket).ok_or_else(|| {
            AwsError::new(
                Origin::Client,
                "InvalidRequest",
                format!(
                    "proton-vcr: `{}` is not in the bucket `{bucket}` that the upstream's host names; address this bucket, or pin the S3 endpoint without a bucket as --upstream",
                    meant.path()
                ),
            )
        })
    }

    /// True when signed requests would cross a network in clear text: an
    /// `http://` upstream that is not on this machine.
    pub fn plaintext_beyond_loopback(&self) -> bool {
        match &self.route {
            Route::Fixed(target) => target.scheme != Scheme::HTTPS && !target.is_loopback(),
            Route::ByScope { .. } => false,
        }
    }

    /// The scope a request with no SigV4 scope of its own is signed for, if
    /// the flags and the upstream host tell.
    pub fn fallback_scope(&self) -> Option<Scope> {
        let guessed = self.host_scope.as_ref();
        Some(Scope {
            region: self
                .region
                .clone()
                .or_else(|| guessed.map(|s| s.region.clone()))?,
            service: self
                .service
                .clone()
                .or_else(|| guessed.map(|s| s.service.clone()))?,
        })
    }

    /// Forwards `meant`: the request as sent, or for an aws-chunked upload
    /// its decoded form, with `streaming` saying how to frame it again. The
    /// client key is checked on `sent`, the bytes the client signed.
    pub async fn forward(
        &self,
        sent: &Request,
        meant: &Request,
        streaming: Option<Streaming>,
    ) -> Result<Forwarded, AwsError> {
        let request = sent;
        if let Some(key) = &self.client_key {
            if let Err(reason) = key.verify(request) {
                tracing::warn!(method = %request.method, path = request.uri.path(), "rejected a client: {reason}");
                return Err(AwsError::new(
                    Origin::Forbidden,
                    if crate::form::is_form(request.header("content-type")) {
                        "SignatureDoesNotMatch"
                    } else {
                        "InvalidSignatureException"
                    },
                    format!("proton-vcr: {reason}"),
                ));
            }
        }
        let mut unsigned = strip_client_signature(meant);
        unsigned.streaming = streaming;
        for name in HOP_BY_HOP.iter().chain(NOT_FORWARDED) {
            unsigned.request.headers.remove(name);
        }
        let scope = unsigned
            .client_scope
            .clone()
            .or_else(|| self.fallback_scope());
        let recorded = unsigned.request.clone();
        let (outgoing, scope, account_id, endpoint) = match scope {
            Some(scope) => {
                let (target, endpoint, scope) = self.destination(&recorded, scope)?;
                unsigned.request.uri = target.uri(&self.upstream_target(&recorded.uri)?)?;
                let signed = self
                    .signer
                    .sign(unsigned, &scope)
                    .await
                    .map_err(sign_error)?;
                target.check_destination(&signed.request)?;
                (signed.request, Some(scope), signed.account_id, endpoint)
            }
            None => {
                let target = self.unsigned_target()?;
                tracing::info!(
                    method = %request.method,
                    path = request.uri.path(),
                    "forwarding unsigned: the client did not sign, and neither --service nor the upstream host names a service to sign for"
                );
                let mut outgoing = unsigned.request;
                outgoing.uri = target.uri(&self.upstream_target(&recorded.uri)?)?;
                let host =
                    http::HeaderValue::from_str(target.authority.as_str()).map_err(|_| {
                        sign_error(SignError::Request(format!(
                            "`{}` is not a valid Host header",
                            target.authority
                        )))
                    })?;
                outgoing.headers.insert(http::header::HOST, host);
                target.check_destination(&outgoing)?;
                (outgoing, None, None, target.base())
            }
        };
        let response = self.upstream.send(outgoing).await.map_err(|e| {
            tracing::warn!(method = %request.method, path = request.uri.path(), "not recorded: {e}");
            e.to_aws_error()
        })?;
        Ok(Forwarded {
            request: recorded,
            response,
            scope,
            account_id,
            endpoint,
        })
    }

    /// Where a request the client did not sign may go, unsigned: only a
    /// pinned upstream, and only when no signing name is known for it (an
    /// emulator's own routes, such as a reset call). Anything else is
    /// refused, saying what is missing.
    fn unsigned_target(&self) -> Result<&Target, AwsError> {
        let missing = |message: String| {
            AwsError::new(
                Origin::Client,
                "MissingAuthenticationTokenException",
                message,
            )
        };
        if let Some(service) = self
            .service
            .as_ref()
            .or(self.host_scope.as_ref().map(|s| &s.service))
        {
            return Err(missing(format!(
                "proton-vcr cannot sign this unsigned request for {service}: no region is known; start the proxy with --region, or set AWS_REGION or a profile region"
            )));
        }
        match &self.route {
            Route::Fixed(target) => Ok(target),
            Route::ByScope { .. } => Err(missing(
                "proton-vcr cannot route this request: it has no SigV4 signature, so neither its service nor its region is known; sign the request, or start the proxy with --upstream URL (and --region/--service to sign for)".to_string(),
            )),
        }
    }

    /// Where `request`, signed for `scope`, goes: its target, the endpoint
    /// to record, and the scope to sign for (a global service's endpoint
    /// names the region it signs in).
    fn destination(
        &self,
        request: &Request,
        scope: Scope,
    ) -> Result<(Target, String, Scope), AwsError> {
        let loopback = match &self.route {
            Route::Fixed(target) => return Ok((target.clone(), target.base(), scope)),
            Route::ByScope { loopback } => loopback,
        };
        let endpoint = facts()
            .endpoint_for_request(&scope.service, &scope.region, RequestLine::of(request))
            .map_err(|e| {
                AwsError::new(
                    Origin::Client,
                    "UnknownEndpoint",
                    format!("proton-vcr cannot route this request: {e}"),
                )
            })?;
        let target = match loopback {
            Some(target) => target.clone(),
            None => Target::https(&endpoint.host).map_err(|e| {
                AwsError::new(
                    Origin::Internal,
                    "InternalFailure",
                    format!("proton-vcr: {e}"),
                )
            })?,
        };
        let scope = Scope {
            region: endpoint.signing_region,
            service: scope.service,
        };
        Ok((target, endpoint.url, scope))
    }
}

fn sign_error(error: SignError) -> AwsError {
    match error {
        SignError::Credentials(e) => {
            tracing::error!("{e}");
            AwsError::new(
                Origin::Internal,
                "ProxyCredentialsException",
                format!("proton-vcr has no usable AWS credentials: {e}"),
            )
        }
        SignError::Request(message) => AwsError::new(
            Origin::Client,
            "InvalidRequest",
            format!("proton-vcr: {message}"),
        ),
    }
}

impl Target {
    /// The absolute URI a client's origin-form target is sent to: this
    /// target's scheme and authority, the base path, then the client's path
    /// and query. Anything but a path is refused.
    pub fn uri(&self, client_target: &Uri) -> Result<Uri, AwsError> {
        if client_target.scheme().is_some()
            || client_target.authority().is_some()
            || !client_target.path().starts_with('/')
        {
            return Err(super::gate::refused(format!(
                "proton-vcr forwards only a path and query, not `{client_target}`"
            )));
        }
        let path = match client_target.query() {
            Some(query) => format!("{}{}?{query}", self.base_path, client_target.path()),
            None => format!("{}{}", self.base_path, client_target.path()),
        };
        let path = PathAndQuery::try_from(path).map_err(|e| {
            AwsError::new(
                Origin::Client,
                "InvalidRequest",
                format!("proton-vcr cannot forward the path `{client_target}`: {e}"),
            )
        })?;
        Uri::builder()
            .scheme(self.scheme.clone())
            .authority(self.authority.clone())
            .path_and_query(path)
            .build()
            .map_err(|e| {
                AwsError::new(
                    Origin::Client,
                    "InvalidRequest",
                    format!("proton-vcr cannot forward `{client_target}`: {e}"),
                )
            })
    }

    /// The last check before a signed request leaves: its scheme, authority
    /// and Host are this target's.
    fn check_destination(&self, request: &Request) -> Result<(), AwsError> {
        let uri = &request.uri;
        let host_ok = request
            .header("host")
            .is_some_and(|host| host.eq_ignore_ascii_case(self.authority.as_str()));
        if uri.scheme() == Some(&self.scheme) && uri.authority() == Some(&self.authority) && host_ok
        {
            return Ok(());
        }
        let base = self.base();
        tracing::error!(destination = %super::gate::logged_target(uri), upstream = %base, "refused to send a signed request anywhere but the upstream");
        Err(AwsError::new(
            Origin::Internal,
            "InternalFailure",
            format!(
                "proton-vcr refused to send a signed request to `{}`, which is not the upstream {base}",
                super::gate::logged_target(uri)
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::UpstreamOptions;
    use crate::sigv4::{CredentialSource, Keyring, StaticCredentials};

    async fn forward(route: Route) -> Forward {
        let keyring = Keyring::load(
            &CredentialSource::Static(StaticCredentials {
                access_key_id: "AKIAREAL000000000000".into(),
                secret_access_key: "real-secret".into(),
                session_token: None,
            }),
            None,
        )
        .await
        .unwrap();
        Forward::new(
            Upstream::new(UpstreamOptions::default()).unwrap(),
            route,
            Arc::new(Signer::new(keyring)),
            None,
            None,
            None,
        )
    }

    fn scope(service: &str, region: &str) -> Scope {
        Scope {
            service: service.into(),
            region: region.into(),
        }
    }

    #[tokio::test]
    async fn an_upstream_naming_a_bucket_gets_paths_within_it_only() {
        let route = |url: &str| Route::new(Some(url), None).unwrap();
        let bucket = forward(route("https://photos.s3.us-east-1.amazonaws.com")).await;
        assert_eq!(bucket.upstream_bucket(), Some("photos"));
        let target = |f: &Forward, uri: &str| {
            f.upstream_target(&uri.parse().unwrap())
                .map(|u| u.to_string())
                .map_err(|e| e.message)
        };
        assert_eq!(
            target(&bucket, "/photos/cat.jpg?versionId=1"),
            Ok("/cat.jpg?versionId=1".into())
        );
        assert_eq!(target(&bucket, "/photos"), Ok("/".into()));
        let refused = target(&bucket, "/videos/clip.mp4").unwrap_err();
        assert!(refused.contains("`photos`"), "{refused}");
        // Without a bucket in its host, the path goes as it is.
        let plain = forward(route("https://s3.us-east-1.amazonaws.com")).await;
        assert_eq!(plain.upstream_bucket(), None);
        assert_eq!(
            target(&plain, "/videos/clip.mp4"),
            Ok("/videos/clip.mp4".into())
        );
    }

    #[tokio::test]
    async fn an_unsigned_request_goes_only_to_a_pinned_upstream_that_names_no_service() {
        // Routing by scope: with no signature there is no scope to route by.
        let by_scope = forward(Route::new(None, None).unwrap()).await;
        let refused = by_scope.unsigned_target().unwrap_err();
        assert_eq!(refused.code, "MissingAuthenticationTokenException");
        assert!(
            refused.message.contains("--upstream"),
            "{}",
            refused.message
        );
        // A pinned emulator whose host names no service: forwarded unsigned.
        let pinned = forward(Route::new(Some("http://127.0.0.1:5000"), None).unwrap()).await;
        assert_eq!(
            pinned.unsigned_target().unwrap().base(),
            "http://127.0.0.1:5000"
        );
        // A pinned AWS host names its service: signing it needs a region.
        let aws = forward(Route::new(Some("https://sqs.amazonaws.com"), None).unwrap()).await;
        let refused = aws.unsigned_target().unwrap_err();
        assert!(refused.message.contains("--region"), "{}", refused.message);
    }

    #[tokio::test]
    async fn routing_by_scope_reaches_only_hosts_from_the_table() {
        let forward = forward(Route::new(None, None).unwrap()).await;
        let request = Request::new(http::Method::POST, "/").unwrap();
        let (target, endpoint, signed_for) = forward
            .destination(&request, scope("proton", "eu-west-3"))
            .unwrap();
        assert_eq!(target.base(), "https://proton.eu-west-3.amazonaws.com");
        assert_eq!(endpoint, "https://proton.eu-west-3.amazonaws.com");
        assert_eq!(signed_for, scope("proton", "eu-west-3"));
        // IAM is global: one host, signed for us-east-1 whatever the client said.
        let (target, _, signed_for) = forward
            .destination(&request, scope("iam", "eu-west-1"))
            .unwrap();
        assert_eq!(target.base(), "https://iam.amazonaws.com");
        assert_eq!(signed_for.region, "us-east-1");
        for (service, region) in [
            ("evil.example.com", "us-east-1"),
            ("sqs", "x.example.com:443/"),
            ("sqs", "not-a-region"),
        ] {
            assert!(
                forward
                    .destination(&request, scope(service, region))
                    .is_err(),
                "{service} in {region} was routed"
            );
        }
    }

    #[tokio::test]
    async fn the_override_keeps_the_lookup_and_must_be_loopback() {
        let forward = forward(Route::new(None, Some("http://127.0.0.1:5000")).unwrap()).await;
        let request = Request::new(http::Method::POST, "/").unwrap();
        let (target, endpoint, _) = forward
            .destination(&request, scope("sqs", "us-west-2"))
            .unwrap();
        assert_eq!(target.base(), "http://127.0.0.1:5000");
        assert_eq!(endpoint, "https://sqs.us-west-2.amazonaws.com");
        assert!(
            forward
                .destination(&request, scope("nosuchservice", "us-west-2"))
                .is_err()
        );
        for remote in [
            "http://10.0.0.1:5000",
            "https://example.com",
            "http://127.0.0.1.example.com",
        ] {
            assert!(Route::new(None, Some(remote)).is_err(), "{remote} accepted");
        }
        assert!(
            Route::new(
                Some("https://sqs.us-east-1.amazonaws.com"),
                Some("http://127.0.0.1:1")
            )
            .is_err()
        );
    }
}
