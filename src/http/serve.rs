//! The one serve loop, shared by replay, record and the mock: a TCP listener,
//! hyper-util's auto (HTTP/1.1 + h2c) connection builder, a [`Handler`] that
//! sees only buffered [`Request`]s, and a graceful shutdown.
//!
//! Reading the body happens here, once, under a size limit; a body over the
//! limit gets an AWS-shaped 413 instead of a dropped connection. A client that
//! takes too long to send its headers or its body is cut off so it cannot
//! hold a slot: hyper times the headers of HTTP/1 requests, but not the
//! bytes before it knows the protocol, so the loop also closes a connection
//! whose first request has not arrived in time.

use super::error::{AwsError, Origin};
use super::exchange::{Request, Response};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Something that answers buffered requests. Implementations never see hyper
/// types, so they can be called directly in tests without a socket.
pub trait Handler: Send + Sync + 'static {
    fn handle(&self, request: Request) -> impl Future<Output = Response> + Send;
}

/// Limits applied to every connection.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// How long a client may take to send a request's headers.
    pub header_read_timeout: Duration,
    /// How long a client may take to send a request's body, once its headers
    /// are in.
    pub body_read_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: 16 * 1024 * 1024,
            header_read_timeout: Duration::from_secs(30),
            body_read_timeout: Duration::from_secs(60),
        }
    }
}

/// A running server. Dropping it stops accepting and ends the loop.
#[derive(Debug)]
pub struct Server {
    local_addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl Server {
    /// Binds `addr` and serves `handler` on a background task.
    pub async fn bind<H: Handler>(
        addr: SocketAddr,
        handler: Arc<H>,
        limits: Limits,
    ) -> std::io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        Self::from_listener(listener, handler, limits)
    }

    /// Serves on a listener that is already bound.
    pub fn from_listener<H: Handler>(
        listener: TcpListener,
        handler: Arc<H>,
        limits: Limits,
    ) -> std::io::Result<Self> {
        let local_addr = listener.local_addr()?;
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(accept_loop(listener, handler, limits, stopped));
        Ok(Self {
            local_addr,
            stop,
            task: Some(task),
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// `http://HOST:PORT`, ready for `--endpoint-url`.
    pub fn url(&self) -> String {
        format!("http://{}", self.local_addr)
    }

    /// Stops accepting, lets requests in flight finish (up to ten seconds),
    /// then returns.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

async fn accept_loop<H: Handler>(
    listener: TcpListener,
    handler: Arc<H>,
    limits: Limits,
    mut stopped: watch::Receiver<bool>,
) {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    builder.http2().timer(TokioTimer::new());
    let builder = Arc::new(builder);
    let graceful = GracefulShutdown::new();
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: wait, don't spin.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = stopped.changed() => break,
        };
        let _ = stream.set_nodelay(true);
        let handler = handler.clone();
        let first_request = Arc::new(AtomicBool::new(false));
        let service = service_fn({
            let first_request = first_request.clone();
            move |request: hyper::Request<Incoming>| {
                first_request.store(true, Ordering::Relaxed);
                let handler = handler.clone();
                async move { Ok::<_, Infallible>(serve_one(&*handler, request, limits).await) }
            }
        });
        let connection = builder
            .serve_connection(TokioIo::new(stream), service)
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            tokio::pin!(connection);
            let ended = tokio::select! {
                ended = &mut connection => ended,
                () = tokio::time::sleep(limits.header_read_timeout) => {
                    if !first_request.load(Ordering::Relaxed) {
                        tracing::debug!(%peer, "no request within the header read timeout; closing");
                        return;
                    }
                    connection.await
                }
            };
            if let Err(error) = ended {
                tracing::debug!(%peer, %error, "connection ended with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(Duration::from_secs(10), graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after 10 s; closing them");
    }
}

async fn serve_one<H: Handler>(
    handler: &H,
    request: hyper::Request<Incoming>,
    limits: Limits,
) -> hyper::Response<Full<Bytes>> {
    let response = match buffer(request, limits).await {
        Ok(request) => handler.handle(request).await,
        Err(error) => error.to_response(),
    };
    into_hyper(response)
}

/// Reads the whole body once, under the size limit and the body timeout.
pub async fn buffer(
    request: hyper::Request<Incoming>,
    limits: Limits,
) -> Result<Request, AwsError> {
    let max = limits.max_body_bytes;
    let (parts, body) = request.into_parts();
    let too_large = || {
        AwsError::new(
            Origin::TooLarge,
            "RequestEntityTooLargeException",
            format!("request body is larger than the limit of {max} bytes"),
        )
    };
    let declared = parts
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return Err(too_large());
    }
    let collect = tokio::time::timeout(limits.body_read_timeout, Limited::new(body, max).collect());
    let Ok(collected) = collect.await else {
        return Err(AwsError::new(
            Origin::Client,
            "RequestTimeoutException",
            format!(
                "the request body did not arrive within {} s of its headers; send it whole and promptly",
                limits.body_read_timeout.as_secs_f64()
            ),
        ));
    };
    let body = match collected {
        Ok(collected) => collected.to_bytes(),
        Err(error) if error.is::<http_body_util::LengthLimitError>() => return Err(too_large()),
        Err(error) => {
            return Err(AwsError::new(
                Origin::Client,
                "SerializationException",
                format!("could not read the request body: {error}"),
            ));
        }
    };
    let mut headers = parts.headers;
    let uri = origin_form_of_http2(parts.version, &parts.method, parts.uri, &mut headers);
    Ok(Request {
        method: parts.method,
        uri,
        headers,
        body,
    })
}

/// HTTP/2 carries the target as `:scheme`, `:authority` and `:path`, which
/// hyper joins into an absolute URI; this turns it back into what HTTP/1
/// sends (a path and a Host header), so an absolute URI always means the
/// client sent the absolute form and handlers can refuse it. CONNECT keeps
/// its authority-form URI.
fn origin_form_of_http2(
    version: http::Version,
    method: &http::Method,
    uri: http::Uri,
    headers: &mut http::HeaderMap,
) -> http::Uri {
    if version != http::Version::HTTP_2 || method == http::Method::CONNECT {
        return uri;
    }
    let Some(path) = uri.path_and_query().cloned() else {
        return uri;
    };
    // Left absolute (and so refused) if the path cannot stand alone.
    let Ok(origin_form) = http::Uri::from_parts({
        let mut parts = http::uri::Parts::default();
        parts.path_and_query = Some(path);
        parts
    }) else {
        return uri;
    };
    if let Some(authority) = uri.authority() {
        if !headers.contains_key(http::header::HOST) {
            if let Ok(value) = http::HeaderValue::from_str(authority.as_str()) {
                headers.insert(http::header::HOST, value);
            }
        }
    }
    origin_form
}

fn into_hyper(response: Response) -> hyper::Response<Full<Bytes>> {
    let mut out = hyper::Response::new(Full::new(response.body));
    *out.status_mut() = response.status;
    *out.headers_mut() = response.headers;
    out
}
