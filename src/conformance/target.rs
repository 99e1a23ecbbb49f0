//! Targets: what a conformance run (or a scenario run) sends requests to.
//!
//! A [`Target`] answers requests and may offer two hooks: a reset (fresh
//! state per cassette) and a clock (moved to each step's `elapsed_ms`, so an
//! 8-hour token expiry replays in milliseconds). Two kinds exist:
//! - [`InProcessTarget`]: any [`Handler`] called directly, no socket; the
//!   built-in mock is one, with its reset and clock as hooks;
//! - [`UrlTarget`]: any HTTP endpoint (another mock, an emulator, a recording
//!   proxy), with optional admin URLs for the two hooks.

use crate::http::{Handler, Request, Response};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// A boxed future, so targets can be chosen at run time.
pub type TargetFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, TargetError>> + Send + 'a>>;

/// What a target answers requests with, and the hooks it offers.
pub trait Target: Send + Sync {
    /// How reports name the target, e.g. `built-in mock` or a URL.
    fn label(&self) -> &str;
    /// True when [`Target::reset`] gives fresh state.
    fn can_reset(&self) -> bool;
    /// True when [`Target::set_clock_ms`] moves the target's clock.
    fn has_clock(&self) -> bool;
    /// Forgets every resource. A no-op when the target cannot reset.
    fn reset(&self) -> TargetFuture<'_, ()>;
    /// Sets the target's clock to `elapsed_ms` after the start of the
    /// current cassette (the start being the last reset). A no-op without a clock.
    fn set_clock_ms(&self, elapsed_ms: u64) -> TargetFuture<'_, ()>;
    /// Sends one request and returns the whole response.
    fn send(&self, request: Request) -> TargetFuture<'_, Response>;
}

/// A target that failed to do what was asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetError {
    /// `reset`, `clock` or `send`.
    pub action: &'static str,
    pub message: String,
}

impl fmt::Display for TargetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} failed: {}", self.action, self.message)
    }
}

impl std::error::Error for TargetError {}

type ResetHook<H> = Box<dyn Fn(&H) + Send + Sync>;
type ClockHook<H> = Box<dyn Fn(&H, u64) + Send + Sync>;

/// A [`Handler`] called in-process.
pub struct InProcessTarget<H> {
    label: String,
    handler: Arc<H>,
    reset: Option<ResetHook<H>>,
    clock: Option<ClockHook<H>>,
}

impl<H: Handler> InProcessTarget<H> {
    /// A handler without reset or clock.
    pub fn new(label: impl Into<String>, handler: Arc<H>) -> Self {
        Self {
            label: label.into(),
            handler,
            reset: None,
            clock: None,
        }
    }

    /// A handler with both hooks: the shape of the built-in mock's adapter
    /// (`|mock| mock.reset()`, `|mock, ms| mock.set_clock_ms(ms)`).
    pub fn with_hooks(
        label: impl Into<String>,
        handler: Arc<H>,
        reset: impl Fn(&H) + Send + Sync + 'static,
        set_clock_ms: impl Fn(&H, u64) + Send + Sync + 'static,
    ) -> Self {
        Self {
            label: label.into(),
            handler,
            reset: Some(Box::new(reset)),
            clock: Some(Box::new(set_clock_ms)),
        }
    }

    pub fn handler(&self) -> &Arc<H> {
        &self.handler
    }
}

impl<H: Handler> Target for InProcessTarget<H> {
    fn label(&self) -> &str {
        &self.label
    }

    fn can_reset(&self) -> bool {
        self.reset.is_some()
    }

    fn has_clock(&self) -> bool {
        self.clock.is_some()
    }

    fn reset(&self) -> TargetFuture<'_, ()> {
        if let Some(reset) = &self.reset {
            reset(&self.handler);
        }
        Box::pin(std::future::ready(Ok(())))
    }

    fn set_clock_ms(&self, elapsed_ms: u64) -> TargetFuture<'_, ()> {
        if let Some(clock) = &self.clock {
            clock(&self.handler, elapsed_ms);
        }
        Box::pin(std::future::ready(Ok(())))
    }

    fn send(&self, request: Request) -> TargetFuture<'_, Response> {
        Box::pin(async move { Ok(self.handler.handle(request).await) })
    }
}

/// The admin URLs a URL target offers for its hooks.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AdminUrls {
    /// `POST` here (empty body) forgets every resource.
    pub reset: Option<String>,
    /// `POST` here with `{"set_ms": N}` sets the clock to N ms after the last reset.
    pub clock: Option<String>,
}

impl AdminUrls {
    /// The admin routes of the built-in mock (`proton-vcr mock`), which
    /// other emulators may mimic: `/__mock/reset` and `/__mock/clock`.
    pub fn builtin_mock(base: &str) -> Self {
        let base = base.trim_end_matches('/');
        Self {
            reset: Some(format!("{base}/__mock/reset")),
            clock: Some(format!("{base}/__mock/clock")),
        }
    }
}

/// Any plain-HTTP endpoint.
pub struct UrlTarget {
    label: String,
    base: http::Uri,
    admin: AdminUrls,
    client: Client<HttpConnector, Full<Bytes>>,
    timeout: Duration,
}

/// The largest response a target may send.
const MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;

impl UrlTarget {
    /// A target at `base` (`http://host:port`, optionally with a path
    /// prefix). Fails on anything but a plain `http://` URL.
    pub fn new(base: &str, admin: AdminUrls) -> Result<Self, String> {
        let uri = check_http_url(base)?;
        for url in [&admin.reset, &admin.clock].into_iter().flatten() {
            check_http_url(url)?;
        }
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(Duration::from_secs(10)));
        Ok(Self {
            label: base.trim_end_matches('/').to_string(),
            base: uri,
            admin,
            client: Client::builder(TokioExecutor::new()).build(connector),
            timeout: Duration::from_secs(60),
        })
    }

    fn url_for(&self, request: &Request) -> Result<http::Uri, String> {
        let prefix = self.base.path().trim_end_matches('/');
        let path_and_query = request.uri.path_and_query().map_or("/", |pq| pq.as_str());
        let authority = self
            .base
            .authority()
            .map(|a| a.as_str())
            .unwrap_or_default();
        format!("http://{authority}{prefix}{path_and_query}")
            .parse()
            .map_err(|e| format!("cannot build the request URL: {e}"))
    }

    async fn exchange(
        &self,
        action: &'static str,
        request: hyper::Request<Full<Bytes>>,
    ) -> Result<Response, TargetError> {
        let fail = |message: String| TargetError { action, message };
        let url = request.uri().to_string();
        let sent = tokio::time::timeout(self.timeout, self.client.request(request))
            .await
            .map_err(|_| {
                fail(format!(
                    "{url} did not answer within {} s",
                    self.timeout.as_secs()
                ))
            })?
            .map_err(|e| fail(format!("cannot reach {url}: {}", error_chain(&e))))?;
        let (parts, body) = sent.into_parts();
        let body = Limited::new(body, MAX_RESPONSE_BYTES)
            .collect()
            .await
            .map_err(|e| fail(format!("cannot read the answer of {url}: {e}")))?
            .to_bytes();
        Ok(Response {
            status: parts.status,
            headers: parts.headers,
            body,
        })
    }

    async fn admin_post(
        &self,
        action: &'static str,
        url: &str,
        body: String,
    ) -> Result<(), TargetError> {
        let request = hyper::Request::post(url)
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| TargetError {
                action,
                message: format!("bad admin URL {url}: {e}"),
            })?;
        let response = self.exchange(action, request).await?;
        if response.status.is_success() {
            return Ok(());
        }
        Err(TargetError {
            action,
            message: format!(
                "POST {url} answered {} {}; check the target's admin URL (--reset-url / --clock-url)",
                response.status,
                String::from_utf8_lossy(&response.body)
                    .chars()
                    .take(200)
                    .collect::<String>()
            ),
        })
    }
}

impl Target for UrlTarget {
    fn label(&self) -> &str {
        &self.label
    }

    fn can_reset(&self) -> bool {
        self.admin.reset.is_some()
    }

    fn has_clock(&self) -> bool {
        self.admin.clock.is_some()
    }

    fn reset(&self) -> TargetFuture<'_, ()> {
        Box::pin(async move {
            match &self.admin.reset {
                Some(url) => self.admin_post("reset", url, String::new()).await,
                None => Ok(()),
            }
        })
    }

    fn set_clock_ms(&self, elapsed_ms: u64) -> TargetFuture<'_, ()> {
        Box::pin(async move {
            match &self.admin.clock {
                Some(url) => {
                    let body = serde_json::json!({ "set_ms": elapsed_ms }).to_string();
                    self.admin_post("clock", url, body).await
                }
                None => Ok(()),
            }
        })
    }

    fn send(&self, request: Request) -> TargetFuture<'_, Response> {
        Box::pin(async move {
            let url = self.url_for(&request).map_err(|message| TargetError {
                action: "send",
                message,
            })?;
            let mut builder = hyper::Request::builder().method(request.method).uri(url);
            if let Some(headers) = builder.headers_mut() {
                *headers = request.headers;
            }
            let outgoing = builder
                .body(Full::new(request.body))
                .map_err(|e| TargetError {
                    action: "send",
                    message: format!("cannot build the request: {e}"),
                })?;
            self.exchange("send", outgoing).await
        })
    }
}

fn check_http_url(url: &str) -> Result<http::Uri, String> {
    let uri: http::Uri = url
        .parse()
        .map_err(|e| format!("`{url}` is not a URL ({e}); write e.g. http://127.0.0.1:4566"))?;
    match uri.scheme_str() {
        Some("http") if uri.authority().is_some() => Ok(uri),
        Some("https") => Err(format!(
            "`{url}`: only plain http:// targets are supported; put a local mock or proxy in front"
        )),
        _ => Err(format!(
            "`{url}` is not an http:// URL with a host (e.g. http://127.0.0.1:4566)"
        )),
    }
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
