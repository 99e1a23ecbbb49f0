//! The upstream client: sends a buffered [`Request`] to a real endpoint and
//! buffers the answer. HTTP/1.1 and HTTP/2 (ALPN) over rustls with the ring
//! provider, pooled connections, Mozilla's roots (webpki-roots) plus any
//! extra CA given for private or test endpoints; plain `http://` too, for
//! local emulators.
//!
//! `localhost` and every `*.localhost` name connect to loopback without a
//! DNS lookup (RFC 6761, as systemd-resolved and browsers do), so a local
//! stand-in for a bucket host (`http://bucket.localhost:PORT`) works on any
//! machine.
//!
//! A failure to get an answer is an [`UpstreamError`] that names the cause
//! (refused, timeout, TLS, reset, DNS), so the client sees a 502 that says
//! what to fix rather than a dropped connection. The flags its hints cite
//! are the caller's ([`UpstreamFlags`]): the recorder's `--upstream-ca`, a
//! conformance target's `--target-ca`.

use super::error::{AwsError, Origin, error_chain};
use super::exchange::{Request, Response};
use bytes::Bytes;
use http::{HeaderMap, HeaderName};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::dns::{GaiResolver, Name};
use hyper_util::rt::{TokioExecutor, TokioTimer};
use std::error::Error as StdError;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Connection-level headers: they describe one hop, never travel on, and
/// must not be signed (HTTP/2 forbids most of them).
/// Held as parsed names: removing by name then parses nothing.
pub static HOP_BY_HOP: [HeaderName; 11] = [
    HeaderName::from_static("connection"),
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
    HeaderName::from_static("proxy-authorization"),
    HeaderName::from_static("proxy-authenticate"),
    HeaderName::from_static("te"),
    HeaderName::from_static("trailer"),
    HeaderName::from_static("transfer-encoding"),
    HeaderName::from_static("upgrade"),
    HeaderName::from_static("expect"),
    HeaderName::from_static("content-length"),
];

/// How the upstream client connects.
#[derive(Clone, Debug)]
pub struct UpstreamOptions {
    /// PEM file of extra CA certificates to trust beside the public roots.
    pub ca_file: Option<PathBuf>,
    pub connect_timeout: Duration,
    /// Whole exchange: connect, send, and read the full answer.
    pub timeout: Duration,
    pub max_response_bytes: usize,
    /// The flags that set these options, cited by error hints.
    pub flags: UpstreamFlags,
}

impl Default for UpstreamOptions {
    fn default() -> Self {
        Self {
            ca_file: None,
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(60),
            max_response_bytes: 64 * 1024 * 1024,
            flags: UpstreamFlags::RECORD,
        }
    }
}

/// The command-line flags an error's hint tells the user to change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UpstreamFlags {
    /// The flag that names the endpoint.
    pub endpoint: &'static str,
    /// The flag that gives extra CA certificates.
    pub ca: &'static str,
    /// The flags that raise the timeouts, when there are any.
    pub timeouts: Option<&'static str>,
}

impl UpstreamFlags {
    /// The recording proxy's (`record`, `replay --on-miss record`).
    pub const RECORD: Self = Self {
        endpoint: "--upstream",
        ca: "--upstream-ca",
        timeouts: Some("--connect-timeout or --upstream-timeout"),
    };
    /// A conformance or scenario run's URL target.
    pub const TARGET: Self = Self {
        endpoint: "--target",
        ca: "--target-ca",
        timeouts: None,
    };
}

/// What went wrong talking to the upstream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpstreamErrorKind {
    /// The options cannot be used (unreadable CA file, relative URI).
    Config,
    Dns,
    Refused,
    Timeout,
    Tls,
    /// The connection was reset or closed before a whole answer came back.
    Reset,
    TooLarge,
    /// The upstream spoke something that is not HTTP.
    Protocol,
}

#[derive(Clone, Debug)]
pub struct UpstreamError {
    pub kind: UpstreamErrorKind,
    /// The upstream `scheme://host:port`.
    pub target: String,
    /// The underlying errors, one line.
    pub detail: String,
    /// The flags the hint cites.
    pub flags: UpstreamFlags,
}

impl fmt::Display for UpstreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let flags = self.flags;
        let (what, hint) = match self.kind {
            UpstreamErrorKind::Config => ("cannot set up the upstream client", String::new()),
            UpstreamErrorKind::Dns => (
                "the host name does not resolve",
                format!("; check {}", flags.endpoint),
            ),
            UpstreamErrorKind::Refused => (
                "connection refused",
                "; is the endpoint up and the port right?".to_string(),
            ),
            UpstreamErrorKind::Timeout => (
                "timed out",
                flags.timeouts.map_or_else(String::new, |timeouts| {
                    format!("; raise {timeouts} if the endpoint is slow")
                }),
            ),
            UpstreamErrorKind::Tls => (
                "the TLS handshake failed",
                format!(
                    "; for a private or test endpoint, pass its CA certificate with {}",
                    flags.ca
                ),
            ),
            UpstreamErrorKind::Reset => (
                "the connection was reset or closed before a full answer",
                String::new(),
            ),
            UpstreamErrorKind::TooLarge => (
                "the answer is larger than the response limit",
                String::new(),
            ),
            UpstreamErrorKind::Protocol => (
                "the upstream did not answer in HTTP",
                "; is it the right port and scheme?".to_string(),
            ),
        };
        write!(f, "{} ({what}: {}){hint}", self.target, self.detail)
    }
}

impl StdError for UpstreamError {}

impl UpstreamError {
    fn new(
        kind: UpstreamErrorKind,
        flags: UpstreamFlags,
        target: impl Into<String>,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            kind,
            target: target.into(),
            detail: detail.into(),
            flags,
        }
    }

    /// The 502 a client sees. Named for what the proxy saw, never as if AWS
    /// had said it.
    pub fn to_aws_error(&self) -> AwsError {
        AwsError::new(
            Origin::Upstream,
            "UpstreamUnreachable",
            format!("proton-vcr could not get an answer from {self}"),
        )
    }
}

type Connector = hyper_rustls::HttpsConnector<HttpConnector<Resolver>>;

/// The system's resolver, except for loopback names (see the module docs).
#[derive(Clone)]
struct Resolver(GaiResolver);

type Resolving = std::pin::Pin<
    Box<dyn Future<Output = std::io::Result<std::vec::IntoIter<std::net::SocketAddr>>> + Send>,
>;

impl tower_service::Service<Name> for Resolver {
    type Response = std::vec::IntoIter<std::net::SocketAddr>;
    type Error = std::io::Error;
    type Future = Resolving;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, name: Name) -> Self::Future {
        let host = name.as_str().trim_end_matches('.').to_ascii_lowercase();
        if host == "localhost" || host.ends_with(".localhost") {
            let loopback = vec![
                std::net::SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, 0)),
                std::net::SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, 0)),
            ];
            return Box::pin(std::future::ready(Ok(loopback.into_iter())));
        }
        let lookup = self.0.call(name);
        Box::pin(async move { Ok(lookup.await?.collect::<Vec<_>>().into_iter()) })
    }
}

/// A pooled HTTP(S) client. Cheap to clone.
#[derive(Clone)]
pub struct Upstream {
    client: Client<Connector, Full<Bytes>>,
    options: Arc<UpstreamOptions>,
}

impl Upstream {
    pub fn new(options: UpstreamOptions) -> Result<Self, UpstreamError> {
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        if let Some(path) = &options.ca_file {
            add_pem_roots(&mut roots, path, options.flags)?;
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| {
                UpstreamError::new(
                    UpstreamErrorKind::Config,
                    options.flags,
                    "TLS",
                    e.to_string(),
                )
            })?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let mut http = HttpConnector::new_with_resolver(Resolver(GaiResolver::new()));
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(options.connect_timeout));
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new())
            .timer(TokioTimer::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(Duration::from_secs(60))
            .build(connector);
        Ok(Self {
            client,
            options: Arc::new(options),
        })
    }

    /// Sends `request`, whose URI must be absolute (`https://host/path`), and
    /// reads the whole answer. Hop-by-hop headers are dropped both ways. The
    /// request is taken whole: its headers and body go out as they are, not
    /// copied.
    pub async fn send(&self, request: Request) -> Result<Response, UpstreamError> {
        let flags = self.options.flags;
        let target = match (request.uri.scheme_str(), request.uri.authority()) {
            (Some(scheme @ ("http" | "https")), Some(authority)) => {
                format!("{scheme}://{authority}")
            }
            _ => {
                return Err(UpstreamError::new(
                    UpstreamErrorKind::Config,
                    flags,
                    request.uri.to_string(),
                    "the upstream URI must be absolute, http:// or https://",
                ));
            }
        };
        let https = request.uri.scheme_str() == Some("https");
        let Request {
            method,
            uri,
            mut headers,
            body,
        } = request;
        remove_hop_by_hop(&mut headers);
        let mut outgoing = hyper::Request::new(Full::new(body));
        *outgoing.method_mut() = method;
        *outgoing.uri_mut() = uri;
        *outgoing.headers_mut() = headers;

        let exchange = async {
            let response = self
                .client
                .request(outgoing)
                .await
                .map_err(|e| classify(&e, e.is_connect() && https, &target, flags))?;
            let (parts, body) = response.into_parts();
            let body = Limited::new(body, self.options.max_response_bytes)
                .collect()
                .await
                .map_err(|e| {
                    if e.is::<http_body_util::LengthLimitError>() {
                        UpstreamError::new(
                            UpstreamErrorKind::TooLarge,
                            flags,
                            target.clone(),
                            format!("over {} bytes", self.options.max_response_bytes),
                        )
                    } else {
                        classify(&*e, false, &target, flags)
                    }
                })?
                .to_bytes();
            let mut headers = parts.headers;
            // A HEAD answer's Content-Length is the resource's size: keep it.
            let length = body
                .is_empty()
                .then(|| headers.get(http::header::CONTENT_LENGTH).cloned())
                .flatten();
            remove_hop_by_hop(&mut headers);
            if let Some(length) = length {
                headers.insert(http::header::CONTENT_LENGTH, length);
            }
            Ok(Response {
                status: parts.status,
                headers,
                body,
            })
        };
        match tokio::time::timeout(self.options.timeout, exchange).await {
            Ok(result) => result,
            Err(_) => Err(UpstreamError::new(
                UpstreamErrorKind::Timeout,
                flags,
                target,
                format!("no full answer within {:?}", self.options.timeout),
            )),
        }
    }
}

fn remove_hop_by_hop(headers: &mut HeaderMap) {
    for name in &HOP_BY_HOP {
        headers.remove(name);
    }
}

fn add_pem_roots(
    roots: &mut rustls::RootCertStore,
    path: &Path,
    flags: UpstreamFlags,
) -> Result<(), UpstreamError> {
    let config_error = |detail: String| {
        UpstreamError::new(
            UpstreamErrorKind::Config,
            flags,
            path.display().to_string(),
            detail,
        )
    };
    let pem =
        std::fs::read(path).map_err(|e| config_error(format!("cannot read the CA file: {e}")))?;
    let mut added = 0;
    for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
        let cert = cert.map_err(|e| config_error(format!("the CA file is not valid PEM: {e}")))?;
        roots.add(cert).map_err(|e| {
            config_error(format!(
                "the CA file holds a certificate rustls cannot use: {e}"
            ))
        })?;
        added += 1;
    }
    if added == 0 {
        return Err(config_error(
            "the CA file holds no `BEGIN CERTIFICATE` block".into(),
        ));
    }
    Ok(())
}

/// Names the cause from the error chain. `handshake` is true when the
/// failure happened while connecting to an https upstream, where anything
/// after TCP is the TLS handshake.
fn classify(
    error: &(dyn StdError + 'static),
    handshake: bool,
    target: &str,
    flags: UpstreamFlags,
) -> UpstreamError {
    let mut kind = None;
    let mut current = Some(error);
    while let Some(e) = current {
        if e.is::<rustls::Error>() {
            kind = Some(UpstreamErrorKind::Tls);
        } else if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if io
                .get_ref()
                .is_some_and(|inner| inner.is::<rustls::Error>())
            {
                kind = Some(UpstreamErrorKind::Tls);
            } else {
                use std::io::ErrorKind as K;
                kind = kind.or(match io.kind() {
                    K::ConnectionRefused => Some(UpstreamErrorKind::Refused),
                    K::TimedOut => Some(UpstreamErrorKind::Timeout),
                    K::ConnectionReset
                    | K::ConnectionAborted
                    | K::BrokenPipe
                    | K::UnexpectedEof => Some(UpstreamErrorKind::Reset),
                    _ => None,
                });
            }
        } else if let Some(hyper) = e.downcast_ref::<hyper::Error>() {
            kind = kind.or(if hyper.is_timeout() {
                Some(UpstreamErrorKind::Timeout)
            } else if hyper.is_parse() {
                Some(UpstreamErrorKind::Protocol)
            } else if hyper.is_incomplete_message() || hyper.is_closed() || hyper.is_canceled() {
                Some(UpstreamErrorKind::Reset)
            } else {
                None
            });
        } else if e.to_string() == "dns error" {
            kind = Some(UpstreamErrorKind::Dns);
        }
        current = e.source();
    }
    let kind = match kind {
        Some(
            found @ (UpstreamErrorKind::Refused
            | UpstreamErrorKind::Timeout
            | UpstreamErrorKind::Dns
            | UpstreamErrorKind::Tls),
        ) => found,
        _ if handshake => UpstreamErrorKind::Tls,
        other => other.unwrap_or(UpstreamErrorKind::Reset),
    };
    UpstreamError::new(kind, flags, target, error_chain(error))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::Method;

    #[tokio::test]
    async fn a_closed_port_is_named_refused() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let upstream = Upstream::new(UpstreamOptions::default()).unwrap();
        let request = Request::new(Method::GET, &format!("http://{addr}/")).unwrap();
        let error = upstream.send(request).await.unwrap_err();
        assert_eq!(error.kind, UpstreamErrorKind::Refused, "{error}");
        assert!(
            error.to_aws_error().message.contains("connection refused"),
            "{error}"
        );
    }

    #[tokio::test]
    async fn a_relative_uri_is_a_config_error() {
        let upstream = Upstream::new(UpstreamOptions::default()).unwrap();
        let error = upstream
            .send(Request::new(Method::GET, "/x").unwrap())
            .await
            .unwrap_err();
        assert_eq!(error.kind, UpstreamErrorKind::Config);
    }

    #[test]
    fn hints_cite_the_callers_flags() {
        let error = |kind, flags| UpstreamError::new(kind, flags, "https://h", "x").to_string();
        let tls = error(UpstreamErrorKind::Tls, UpstreamFlags::TARGET);
        assert!(
            tls.ends_with("pass its CA certificate with --target-ca"),
            "{tls}"
        );
        let dns = error(UpstreamErrorKind::Dns, UpstreamFlags::RECORD);
        assert!(dns.ends_with("; check --upstream"), "{dns}");
        let timeout = error(UpstreamErrorKind::Timeout, UpstreamFlags::TARGET);
        assert_eq!(timeout, "https://h (timed out: x)");
        let timeout = error(UpstreamErrorKind::Timeout, UpstreamFlags::RECORD);
        assert!(
            timeout
                .ends_with("raise --connect-timeout or --upstream-timeout if the endpoint is slow"),
            "{timeout}"
        );
    }

    #[test]
    fn a_ca_file_without_certificates_is_refused_clearly() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, "not a certificate").unwrap();
        let options = UpstreamOptions {
            ca_file: Some(path),
            ..Default::default()
        };
        let error = Upstream::new(options).err().unwrap();
        assert!(error.to_string().contains("BEGIN CERTIFICATE"), "{error}");
    }
}
