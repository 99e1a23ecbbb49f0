//! Targets: what a conformance run (or a scenario run) sends requests to.
//!
//! A [`Target`] answers requests and may offer two hooks: a reset (fresh
//! state per cassette) and a clock (moved to each step's `elapsed_ms`, so an
//! 8-hour token expiry replays in milliseconds). Two kinds exist:
//! - [`InProcessTarget`]: any [`Handler`] called directly, no socket; the
//!   built-in mock is one, with its reset and clock as hooks;
//! - [`UrlTarget`]: any HTTP or HTTPS endpoint (another mock, an emulator, a
//!   recording proxy), with optional admin URLs for the two hooks.

use crate::http::{Handler, Request, Response, Upstream, UpstreamFlags, UpstreamOptions};
use bytes::Bytes;
use http::{HeaderValue, Method};
use std::fmt;
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;

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

/// Any HTTP or HTTPS endpoint. HTTPS goes through the same client as the
/// record proxy's upstream (rustls, Mozilla's roots plus an optional CA
/// file), so a target with a private or self-signed certificate is checked
/// with its CA given (`--target-ca`).
pub struct UrlTarget {
    label: String,
    base: http::Uri,
    admin: AdminUrls,
    client: Upstream,
}

impl UrlTarget {
    /// A target at `base` (`http://host:port` or `https://host:port`,
    /// optionally with a path prefix), trusting the public roots.
    pub fn new(base: &str, admin: AdminUrls) -> Result<Self, String> {
        Self::with_ca(base, admin, None)
    }

    /// A target whose certificate is also checked against the CA
    /// certificates in the PEM file `ca`.
    pub fn with_ca(base: &str, admin: AdminUrls, ca: Option<&Path>) -> Result<Self, String> {
        let uri = check_url(base)?;
        for url in [&admin.reset, &admin.clock].into_iter().flatten() {
            check_url(url)?;
        }
        if ca.is_some() && uri.scheme_str() != Some("https") {
            return Err(format!(
                "`{base}`: a CA file (--target-ca) only applies to an https:// target"
            ));
        }
        let client = Upstream::new(UpstreamOptions {
            ca_file: ca.map(Path::to_path_buf),
            flags: UpstreamFlags::TARGET,
            ..UpstreamOptions::default()
        })
        .map_err(|e| e.to_string())?;
        Ok(Self {
            label: base.trim_end_matches('/').to_string(),
            base: uri,
            admin,
            client,
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
        let scheme = self.base.scheme_str().unwrap_or("http");
        format!("{scheme}://{authority}{prefix}{path_and_query}")
            .parse()
            .map_err(|e| format!("cannot build the request URL: {e}"))
    }

    async fn exchange(
        &self,
        action: &'static str,
        request: Request,
    ) -> Result<Response, TargetError> {
        self.client.send(request).await.map_err(|e| TargetError {
            action,
            message: e.to_string(),
        })
    }

    async fn admin_post(
        &self,
        action: &'static str,
        url: &str,
        body: String,
    ) -> Result<(), TargetError> {
        let bad = |e: String| TargetError {
            action,
            message: format!("bad admin URL {url}: {e}"),
        };
        let mut request = Request::new(Method::POST, url).map_err(|e| bad(e.to_string()))?;
        request
            .headers
            .insert("content-type", HeaderValue::from_static("application/json"));
        request.body = Bytes::from(body);
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

    fn send(&self, mut request: Request) -> TargetFuture<'_, Response> {
        Box::pin(async move {
            request.uri = self.url_for(&request).map_err(|message| TargetError {
                action: "send",
                message,
            })?;
            self.exchange("send", request).await
        })
    }
}

fn check_url(url: &str) -> Result<http::Uri, String> {
    let uri: http::Uri = url
        .parse()
        .map_err(|e| format!("`{url}` is not a URL ({e}); write e.g. http://127.0.0.1:4566"))?;
    match uri.scheme_str() {
        Some("http" | "https") if uri.authority().is_some() => Ok(uri),
        _ => Err(format!(
            "`{url}` is not an http:// or https:// URL with a host (e.g. http://127.0.0.1:4566)"
        )),
    }
}
