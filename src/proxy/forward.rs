//! The forward phase: check the client (optional local key), strip its
//! signature, sign again with the real credentials, and send the request to
//! the one configured upstream.
//!
//! Not an open proxy: the destination is always the configured upstream
//! (the client's Host header and any absolute request URI are ignored), and
//! with a client key only clients that hold it are let through.
//!
//! A request the client did not sign is signed for the region and signing
//! name the flags or the upstream host give (the region also comes from the
//! standard AWS configuration); when no signing name is known (an
//! emulator's own routes, such as a reset call), it is forwarded unsigned,
//! as the client sent it.

use crate::http::upstream::HOP_BY_HOP;
use crate::http::{AwsError, Origin, Request, Response, Upstream};
use crate::sigv4::{
    ClientKey, Scope, SignError, Signer, scope_from_host, strip_client_signature, verify_request,
};
use http::Uri;
use std::sync::Arc;

/// Request headers that must not reach the upstream as the client sent them.
/// `accept-encoding` goes so answers come back uncompressed and cassettes
/// stay readable.
const NOT_FORWARDED: &[&str] = &["accept-encoding"];

/// Where requests go and how they are signed.
pub struct Forward {
    upstream: Upstream,
    /// `scheme://authority` plus an optional base path, no trailing slash.
    base: String,
    /// What the upstream host name says about region and service.
    host_scope: Option<Scope>,
    signer: Arc<Signer>,
    /// `--region` / `--service`, used when the client sent no scope.
    region: Option<String>,
    service: Option<String>,
    client_key: Option<ClientKey>,
}

/// A request answered by the upstream.
pub struct Forwarded {
    /// The request as recorded: the client's, without its signature.
    pub request: Request,
    pub response: Response,
    /// What the request was signed for; `None` when it went unsigned.
    pub scope: Option<Scope>,
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
        client_key: Option<ClientKey>,
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
        let base = format!("{scheme}://{authority}{}", uri.path().trim_end_matches('/'));
        Ok(Self {
            upstream,
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

    pub async fn forward(&self, request: &Request) -> Result<Forwarded, AwsError> {
        if let Some(key) = &self.client_key {
            if let Err(reason) = verify_request(request, &key.access_key_id, &key.secret_access_key)
            {
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
        let mut unsigned = strip_client_signature(request);
        for name in HOP_BY_HOP.iter().chain(NOT_FORWARDED) {
            unsigned.request.headers.remove(*name);
        }
        let scope = unsigned
            .client_scope
            .clone()
            .or_else(|| self.fallback_scope());
        let recorded = unsigned.request.clone();
        let target = format!("{}{}", self.base, recorded.uri);
        unsigned.request.uri = target.parse().map_err(|e| {
            AwsError::new(
                Origin::Client,
                "InvalidRequest",
                format!("proton-vcr cannot forward to `{target}`: {e}"),
            )
        })?;
        if scope.is_none() {
            if let Some(service) = self
                .service
                .as_ref()
                .or(self.host_scope.as_ref().map(|s| &s.service))
            {
                return Err(AwsError::new(
                    Origin::Client,
                    "MissingAuthenticationTokenException",
                    format!(
                        "proton-vcr cannot sign this unsigned request for {service}: no region is known; start the proxy with --region, or set AWS_REGION or a profile region"
                    ),
                ));
            }
        }
        let (outgoing, account_id) = match &scope {
            Some(scope) => {
                let signed = self
                    .signer
                    .sign(unsigned, scope)
                    .await
                    .map_err(sign_error)?;
                (signed.request, signed.account_id)
            }
            None => {
                tracing::info!(
                    method = %request.method,
                    path = request.uri.path(),
                    "forwarding unsigned: the client did not sign, and neither --service nor the upstream host names a service to sign for"
                );
                let mut request = unsigned.request;
                // The HTTP client sets the upstream's.
                request.headers.remove(http::header::HOST);
                (request, None)
            }
        };
        let response = self.upstream.send(&outgoing).await.map_err(|e| {
            tracing::warn!(method = %request.method, path = request.uri.path(), "not recorded: {e}");
            e.to_aws_error()
        })?;
        Ok(Forwarded {
            request: recorded,
            response,
            scope,
            account_id,
        })
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

fn is_form(request: &Request) -> bool {
    request
        .header("content-type")
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"))
}
