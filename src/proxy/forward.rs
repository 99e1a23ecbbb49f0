//! The forward phase: check the client (optional local key), strip its
//! signature, sign again with the real credentials, and send the request to
//! the one configured upstream.
//!
//! Not an open proxy: the destination is always the configured upstream.
//! [`Forward::upstream_uri`] builds it from the configured scheme and
//! authority and the client's path (never by joining text), refuses a client
//! target that is not a path, and the destination is checked once more just
//! before sending. With a client key only clients that hold it get through.

use crate::http::upstream::HOP_BY_HOP;
use crate::http::{AwsError, Origin, Request, Response, Upstream};
use crate::sigv4::{
    ClientKeyVerifier, Scope, SignError, Signer, Streaming, scope_from_host, strip_client_signature,
};
use http::Uri;
use http::uri::{Authority, PathAndQuery, Scheme};
use std::sync::Arc;

/// Request headers that must not reach the upstream as the client sent them.
/// `accept-encoding` goes so answers come back uncompressed and cassettes
/// stay readable.
const NOT_FORWARDED: &[&str] = &["accept-encoding"];

/// Where requests go and how they are signed.
pub struct Forward {
    upstream: Upstream,
    scheme: Scheme,
    /// Host and port, without the scheme's default port.
    authority: Authority,
    /// The upstream URL's path without its trailing slash (often empty).
    base_path: String,
    /// `scheme://authority` plus the base path, for messages and provenance.
    base: String,
    /// What the upstream host name says about region and service.
    host_scope: Option<Scope>,
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
    pub scope: Scope,
    pub account_id: Option<String>,
}

impl Forward {
    /// Builds the phase; `upstream_url` is `http(s)://host[:port][/base]`.
    pub fn new(
        upstream: Upstream,
        upstream_url: &str,
        signer: Arc<Signer>,
        region: Option<String>,
        service: Option<String>,
        client_key: Option<ClientKeyVerifier>,
    ) -> Result<Self, String> {
        let uri: Uri = upstream_url
            .parse()
            .map_err(|e| format!("--upstream `{upstream_url}` is not a URL ({e})"))?;
        let scheme = match uri.scheme_str() {
            Some(scheme @ ("http" | "https")) => scheme,
            _ => {
                return Err(format!(
                    "--upstream `{upstream_url}` must start with https:// (or http:// for a local emulator)"
                ));
            }
        };
        let host = uri
            .host()
            .ok_or_else(|| format!("--upstream `{upstream_url}` has no host"))?;
        if uri.query().is_some() {
            return Err(format!("--upstream `{upstream_url}` must not have a query"));
        }
        let default_port = if scheme == "https" { 443 } else { 80 };
        let authority = match uri.port_u16() {
            Some(port) if port != default_port => format!("{host}:{port}"),
            _ => host.to_string(),
        };
        let base_path = uri.path().trim_end_matches('/').to_string();
        let base = format!("{scheme}://{authority}{base_path}");
        let authority: Authority = authority
            .parse()
            .map_err(|e| format!("--upstream `{upstream_url}` has an invalid host ({e})"))?;
        let scheme: Scheme = scheme
            .parse()
            .map_err(|e| format!("--upstream `{upstream_url}`: {e}"))?;
        Ok(Self {
            upstream,
            scheme,
            authority,
            base_path,
            base,
            host_scope: scope_from_host(host),
            signer,
            region,
            service,
            client_key,
        })
    }

    /// The upstream as configured, normalised.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// True when signed requests would cross a network in clear text: an
    /// `http://` upstream that is not on this machine.
    pub fn plaintext_beyond_loopback(&self) -> bool {
        if self.scheme != Scheme::HTTP {
            return false;
        }
        let host = self.authority.host().to_ascii_lowercase();
        let ip = host.trim_start_matches('[').trim_end_matches(']');
        let loopback = host == "localhost"
            || host.ends_with(".localhost")
            || ip
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        !loopback
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
                    if is_form(request) {
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
            unsigned.request.headers.remove(*name);
        }
        let scope = unsigned.client_scope.clone().or_else(|| self.fallback_scope()).ok_or_else(|| {
            AwsError::new(
                Origin::Client,
                "MissingAuthenticationTokenException",
                "proton-vcr cannot tell which region and service to sign for: the request has no SigV4 signature and the upstream host names none; sign the request, or start the proxy with --region and --service",
            )
        })?;
        let recorded = unsigned.request.clone();
        unsigned.request.uri = self.upstream_uri(&recorded.uri)?;
        let signed = self
            .signer
            .sign(unsigned, &scope)
            .await
            .map_err(|e| match e {
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
            })?;
        self.check_destination(&signed.request)?;
        let response = self.upstream.send(&signed.request).await.map_err(|e| {
            tracing::warn!(method = %request.method, path = request.uri.path(), "not recorded: {e}");
            e.to_aws_error()
        })?;
        Ok(Forwarded {
            request: recorded,
            response,
            scope,
            account_id: signed.account_id,
        })
    }
}

impl Forward {
    /// The absolute URI a client's origin-form target is sent to: the
    /// configured scheme and authority, the base path, then the client's
    /// path and query. Anything but a path is refused.
    pub fn upstream_uri(&self, client_target: &Uri) -> Result<Uri, AwsError> {
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
    /// and Host are the configured upstream's.
    fn check_destination(&self, request: &Request) -> Result<(), AwsError> {
        let uri = &request.uri;
        let host_ok = request
            .header("host")
            .is_some_and(|host| host.eq_ignore_ascii_case(self.authority.as_str()));
        if uri.scheme() == Some(&self.scheme) && uri.authority() == Some(&self.authority) && host_ok
        {
            return Ok(());
        }
        tracing::error!(destination = %uri, upstream = %self.base, "refused to send a signed request anywhere but the upstream");
        Err(AwsError::new(
            Origin::Internal,
            "InternalFailure",
            format!(
                "proton-vcr refused to send a signed request to `{uri}`, which is not the configured upstream {}",
                self.base
            ),
        ))
    }
}

fn is_form(request: &Request) -> bool {
    request
        .header("content-type")
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"))
}
