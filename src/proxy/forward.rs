//! The forward phase: check the client (optional local key), strip its
//! signature, sign again with the real credentials, and send the request to
//! the one configured upstream.
//!
//! Not an open proxy: the destination is always the configured upstream
//! (the client's Host header and any absolute request URI are ignored), and
//! with a client key only clients that hold it are let through.

use crate::http::upstream::HOP_BY_HOP;
use crate::http::{AwsError, Origin, Request, Response, Upstream};
use crate::sigv4::{
    ClientKey, Scope, SignError, Signer, Streaming, scope_from_host, strip_client_signature,
    verify_request,
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
        let target = format!("{}{}", self.base, recorded.uri);
        unsigned.request.uri = target.parse().map_err(|e| {
            AwsError::new(
                Origin::Client,
                "InvalidRequest",
                format!("proton-vcr cannot forward to `{target}`: {e}"),
            )
        })?;
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

fn is_form(request: &Request) -> bool {
    request
        .header("content-type")
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"))
}
