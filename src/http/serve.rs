//! The one serve loop, shared by replay, record and the mock: a TCP listener,
//! hyper-util's auto (HTTP/1.1 + h2c) connection builder, a [`Handler`] that
//! sees only buffered [`Request`]s, and a graceful shutdown.
//!
//! Reading the body happens here, once, under a size limit; a body over the
//! limit gets an AWS-shaped 413 instead of a dropped connection. A client that
//! takes too long to send its headers or its body is cut off so it cannot
//! hold a slot: the loop closes any connection (HTTP/1 or HTTP/2) that has no
//! request in flight and has had none for the header read timeout. That one
//! watch per connection covers slow headers, the bytes before the protocol
//! is known and idle connections alike, so hyper's own HTTP/1 header timer,
//! which would arm and disarm a timer for every request, is off.
//!
//! A stop lets the requests in flight finish: each connection is told to
//! close once idle, and the loop waits up to ten seconds for all of them.
//! The stop wakes every connection's task itself (`Open`), so a request
//! polls no signal shared by all connections, and the idle timer is polled
//! again only once it has fired: what a connection's task does on each wake
//! is poll hyper's connection and load one flag.
//!
//! The request bytes buffered at once, across every connection, are capped
//! (`max_buffered_bytes`): a request that would go over gets an AWS-shaped
//! 503 `SlowDown` at once rather than memory growing with each stalled
//! upload. A client may half-close its side after sending a request and
//! still gets the answer.

use super::error::{AwsError, Origin};
use super::exchange::{Request, Response};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Body as _, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

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
    /// Request body bytes held at once across all connections; past it,
    /// requests get a 503 `SlowDown`.
    pub max_buffered_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: 16 * 1024 * 1024,
            header_read_timeout: Duration::from_secs(30),
            body_read_timeout: Duration::from_secs(60),
            max_buffered_bytes: 128 * 1024 * 1024,
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
        // The connection watch below times headers (see the module docs).
        .header_read_timeout(None)
        .half_close(true);
    builder.http2().timer(TokioTimer::new());
    let budget = Arc::new(Budget::new(limits.max_buffered_bytes));
    let builder = Arc::new(builder);
    let open = Arc::new(Open::default());
    let mut number: u64 = 0;
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
        // What every request on this connection needs, behind one pointer:
        // a request clones this connection's own `Arc` (its count stays in
        // one core's cache) instead of three shared by every connection.
        let link = Arc::new(Link {
            handler: handler.clone(),
            budget: budget.clone(),
            activity: Activity::new(),
        });
        let service = service_fn({
            let link = link.clone();
            move |request: hyper::Request<Incoming>| {
                // Counted as hyper hands the request over, not when its future
                // first runs (HTTP/2 runs it on a task of its own), so the idle
                // watch never takes a request that has arrived for none.
                let in_flight = InFlight::begin(link.clone());
                async move {
                    let link = &in_flight.0;
                    let response = serve_one(&*link.handler, request, limits, &link.budget).await;
                    drop(in_flight);
                    Ok::<_, Infallible>(response)
                }
            }
        });
        let connection = builder
            .serve_connection(TokioIo::new(stream), service)
            .into_owned();
        number += 1;
        // Counted now, not when the task first runs, so a stop that comes
        // first still waits for it.
        let opened = open.opened(number);
        tokio::spawn(async move {
            let idle = limits.header_read_timeout;
            let shut_down = auto::Connection::graceful_shutdown;
            match watched(connection, shut_down, &opened, &link.activity, idle).await {
                Some(Ok(())) => {}
                Some(Err(error)) => {
                    tracing::debug!(%peer, %error, "connection ended with an error");
                }
                None => {
                    tracing::debug!(%peer, "no request in flight or arriving for the header read timeout; closing");
                }
            }
        });
    }
    drop(listener);
    open.stop();
    if tokio::time::timeout(Duration::from_secs(10), open.all_ended())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after 10 s; closing them");
    }
}

/// Serves `connection` to its end, or `None` once it has had no request in
/// flight for `idle` (it is then dropped, which closes it); shuts it down
/// gracefully when the server stops.
///
/// Every wake of the task polls this, so it polls only the connection: the
/// stop is one atomic load (the stop wakes each task itself, see [`Open`]),
/// and the idle timer, which keeps the task's waker from its last poll, is
/// polled again only once it has fired.
async fn watched<C: Future>(
    connection: C,
    shut_down: impl Fn(Pin<&mut C>),
    opened: &Opened,
    activity: &Activity,
    idle: Duration,
) -> Option<C::Output> {
    let mut connection = pin!(connection);
    let mut timer = pin!(tokio::time::sleep_until(activity.idle_deadline(idle)));
    let mut timer_polled = false;
    let mut stopping = false;
    let mut waker: Option<Waker> = None;
    std::future::poll_fn(|cx| {
        loop {
            if let Poll::Ready(ended) = connection.as_mut().poll(cx) {
                return Poll::Ready(Some(ended));
            }
            if !stopping {
                if !waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                    opened.wake_at_stop(cx.waker());
                    waker = Some(cx.waker().clone());
                }
                if opened.stopping() {
                    stopping = true;
                    shut_down(connection.as_mut());
                    continue;
                }
            }
            if !timer_polled || timer.is_elapsed() {
                if timer.as_mut().poll(cx).is_ready() {
                    if activity.idle_for(idle) {
                        return Poll::Ready(None);
                    }
                    timer.as_mut().reset(activity.idle_deadline(idle));
                    timer_polled = false;
                    continue;
                }
                timer_polled = true;
            }
            return Poll::Pending;
        }
    })
    .await
}

/// The connections being served. A stop must reach each of them; a signal
/// that every connection polls would be polled on every request (and a
/// `watch` or `Notify` takes a lock shared by all connections to be polled),
/// so instead each connection's task is woken by the stop itself.
#[derive(Default)]
struct Open {
    stopping: AtomicBool,
    /// Each connection's task by its number, to wake at a stop.
    tasks: Mutex<HashMap<u64, Waker>>,
    /// Connections accepted and not yet ended.
    live: AtomicUsize,
    /// Told when `live` falls to zero.
    all_ended: Notify,
}

/// One connection counted in [`Open`] until dropped.
struct Opened {
    open: Arc<Open>,
    number: u64,
}

impl Open {
    fn opened(self: &Arc<Self>, number: u64) -> Opened {
        self.live.fetch_add(1, Ordering::SeqCst);
        Opened {
            open: self.clone(),
            number,
        }
    }

    /// Marks the stop, then wakes every task: one that registers its waker
    /// after this takes the lock sees the mark.
    fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        for waker in self.lock().values() {
            waker.wake_by_ref();
        }
    }

    async fn all_ended(&self) {
        loop {
            let told = self.all_ended.notified();
            if self.live.load(Ordering::SeqCst) == 0 {
                return;
            }
            told.await;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Waker>> {
        self.tasks.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Opened {
    fn wake_at_stop(&self, waker: &Waker) {
        self.open.lock().insert(self.number, waker.clone());
    }

    fn stopping(&self) -> bool {
        self.open.stopping.load(Ordering::SeqCst)
    }
}

impl Drop for Opened {
    fn drop(&mut self) {
        self.open.lock().remove(&self.number);
        if self.open.live.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.open.all_ended.notify_one();
        }
    }
}

/// Raises the soft limit on open files to the hard limit, so a server under
/// many connections runs out of neither sockets nor files before the system
/// says it must.
#[cfg(unix)]
pub fn raise_open_file_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read or write the struct passed,
    // which lives on this stack frame for the whole call.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0
        || limit.rlim_cur >= limit.rlim_max
    {
        return;
    }
    let old = limit.rlim_cur;
    limit.rlim_cur = limit.rlim_max;
    // SAFETY: as above.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } == 0 {
        tracing::debug!(
            old,
            new = limit.rlim_cur,
            "raised the open file limit to its hard limit"
        );
    }
}

#[cfg(not(unix))]
pub fn raise_open_file_limit() {}

/// Request body bytes held at once across every connection. Only ever
/// taken without waiting (over the limit is a 503 at once), so a counter
/// is enough: taking and giving back are one atomic operation each, with no
/// lock on the path of every request.
struct Budget {
    held: AtomicUsize,
    max: usize,
}

/// Bytes taken from a [`Budget`], given back when dropped.
struct Held<'a> {
    budget: &'a Budget,
    bytes: usize,
}

impl Budget {
    fn new(max: usize) -> Self {
        Self {
            held: AtomicUsize::new(0),
            max,
        }
    }

    /// Takes `bytes` into `held`, unless that would go over the limit.
    fn take<'a>(&'a self, bytes: usize, held: &mut Option<Held<'a>>) -> Result<(), AwsError> {
        self.held
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |now| {
                now.checked_add(bytes).filter(|after| *after <= self.max)
            })
            .map_err(|_| slow_down(self.max))?;
        held.get_or_insert(Held {
            budget: self,
            bytes: 0,
        })
        .bytes += bytes;
        Ok(())
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        self.budget.held.fetch_sub(self.bytes, Ordering::AcqRel);
    }
}

/// One connection's share of the server: the handler, the body budget, and
/// the connection's own activity.
struct Link<H> {
    handler: Arc<H>,
    budget: Arc<Budget>,
    activity: Activity,
}

/// Requests in flight on one connection, and when the last one ended.
/// Atomics only: every request marks its start and end here.
struct Activity {
    in_flight: AtomicUsize,
    /// When the connection was accepted; `last` counts from it.
    born: Instant,
    /// Nanoseconds from `born` to the end of the last request.
    last: AtomicU64,
}

/// Marks a request in flight on its connection until dropped (also when
/// hyper drops the request's future, as when an HTTP/2 stream is reset).
struct InFlight<H>(Arc<Link<H>>);

impl<H> InFlight<H> {
    fn begin(link: Arc<Link<H>>) -> Self {
        link.activity.in_flight.fetch_add(1, Ordering::SeqCst);
        Self(link)
    }
}

impl<H> Drop for InFlight<H> {
    fn drop(&mut self) {
        self.0.activity.end();
    }
}

impl Activity {
    fn new() -> Self {
        Self {
            in_flight: AtomicUsize::new(0),
            born: Instant::now(),
            last: AtomicU64::new(0),
        }
    }

    fn last(&self) -> Instant {
        self.born + Duration::from_nanos(self.last.load(Ordering::SeqCst))
    }

    /// When the connection may next be idle for `idle`.
    fn idle_deadline(&self, idle: Duration) -> Instant {
        if self.in_flight.load(Ordering::SeqCst) > 0 {
            return Instant::now() + idle;
        }
        self.last() + idle
    }

    fn idle_for(&self, idle: Duration) -> bool {
        self.in_flight.load(Ordering::SeqCst) == 0 && self.last().elapsed() >= idle
    }

    /// A request in flight ended: the connection is idle from now if it
    /// was the last.
    fn end(&self) {
        let since_born = self.born.elapsed().as_nanos();
        self.last.fetch_max(
            u64::try_from(since_born).unwrap_or(u64::MAX),
            Ordering::SeqCst,
        );
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn serve_one<H: Handler>(
    handler: &H,
    request: hyper::Request<Incoming>,
    limits: Limits,
    budget: &Budget,
) -> hyper::Response<Full<Bytes>> {
    let response = match buffer(request, limits, budget).await {
        // The permits stay held until the request is answered: the handler
        // holds its body until then.
        Ok((request, _permits)) => handler.handle(request).await,
        Err(error) => error.to_response(),
    };
    into_hyper(response)
}

fn slow_down(max: usize) -> AwsError {
    AwsError::new(
        Origin::Busy,
        "SlowDown",
        format!(
            "proton-vcr is holding {max} bytes of request bodies at once, its limit; retry shortly"
        ),
    )
}

/// Reads the whole body once, under the size limit and the body timeout,
/// taking from `budget` every byte held.
async fn buffer<'a>(
    request: hyper::Request<Incoming>,
    limits: Limits,
    budget: &'a Budget,
) -> Result<(Request, Option<Held<'a>>), AwsError> {
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
    let mut held: Option<Held<'a>> = None;
    // A declared length is reserved whole before any of it is read.
    let reserved = declared.map_or(0, |n| usize::try_from(n).unwrap_or(usize::MAX));
    budget.take(reserved, &mut held)?;
    let collected = {
        let collect = async {
            let mut body = Limited::new(body, max);
            // A body that comes in one frame is kept as it came, uncopied.
            let mut first = Bytes::new();
            let mut joined: Option<bytes::BytesMut> = None;
            while let Some(frame) = body.frame().await {
                let Ok(data) = frame?.into_data() else {
                    continue;
                };
                let len = joined.as_ref().map_or(first.len(), |j| j.len());
                let beyond = (len + data.len()).saturating_sub(reserved.max(len));
                if beyond > 0 {
                    budget
                        .take(beyond, &mut held)
                        .map_err(|e| -> Box<dyn std::error::Error + Send + Sync> { Box::new(e) })?;
                }
                match &mut joined {
                    Some(joined) => joined.extend_from_slice(&data),
                    None if first.is_empty() => first = data,
                    None => {
                        let mut both = bytes::BytesMut::with_capacity(len + data.len());
                        both.extend_from_slice(&first);
                        both.extend_from_slice(&data);
                        joined = Some(both);
                    }
                }
                // A body whose length is known ends with its last byte: no
                // poll to hear that there is nothing more.
                if body.is_end_stream() {
                    break;
                }
            }
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(
                joined.map_or(first, bytes::BytesMut::freeze),
            )
        };
        // A body that is already in (most are, read with their headers)
        // is taken on the first poll, before any timer is made.
        let mut collect = pin!(collect);
        let first = std::future::poll_fn(|cx| Poll::Ready(collect.as_mut().poll(cx))).await;
        match first {
            Poll::Ready(collected) => collected,
            Poll::Pending => match tokio::time::timeout(limits.body_read_timeout, collect).await {
                Ok(collected) => collected,
                Err(_) => {
                    return Err(AwsError::new(
                        Origin::Client,
                        "RequestTimeoutException",
                        format!(
                            "the request body did not arrive within {} s of its headers; send it whole and promptly",
                            limits.body_read_timeout.as_secs_f64()
                        ),
                    ));
                }
            },
        }
    };
    let body = match collected {
        Ok(body) => body,
        Err(error) if error.is::<http_body_util::LengthLimitError>() => return Err(too_large()),
        Err(error) if error.is::<AwsError>() => {
            return Err(slow_down(limits.max_buffered_bytes));
        }
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
    Ok((
        Request {
            method: parts.method,
            uri,
            headers,
            body,
        },
        held,
    ))
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A connection that ends only once asked to shut down.
    struct UntilShutDown(Arc<AtomicBool>);

    impl Future for UntilShutDown {
        type Output = ();

        fn poll(self: Pin<&mut Self>, _: &mut std::task::Context<'_>) -> Poll<()> {
            if self.0.load(Ordering::SeqCst) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        }
    }

    #[tokio::test]
    async fn a_stop_reaches_a_waiting_connection_and_is_waited_for() {
        let open = Arc::new(Open::default());
        let asked = Arc::new(AtomicBool::new(false));
        let opened = open.opened(1);
        let connection = tokio::spawn({
            let asked = asked.clone();
            async move {
                let activity = Activity::new();
                let shut_down = |c: Pin<&mut UntilShutDown>| c.0.store(true, Ordering::SeqCst);
                let idle = Duration::from_secs(3600);
                watched(UntilShutDown(asked), shut_down, &opened, &activity, idle).await
            }
        });
        // The connection's task has run and is waiting on its connection.
        while open.lock().is_empty() {
            tokio::task::yield_now().await;
        }
        assert!(!asked.load(Ordering::SeqCst));
        open.stop();
        // Nothing but the stop wakes the task: without it these would wait
        // for an hour.
        let ended = tokio::time::timeout(Duration::from_secs(60), connection).await;
        assert_eq!(ended.ok().and_then(Result::ok), Some(Some(())));
        assert!(asked.load(Ordering::SeqCst), "shut down gracefully");
        tokio::time::timeout(Duration::from_secs(60), open.all_ended())
            .await
            .expect("the stop waits for every connection and no longer");
        assert!(open.lock().is_empty());
    }

    #[tokio::test]
    async fn a_connection_accepted_before_a_stop_but_not_yet_run_is_stopped_too() {
        let open = Arc::new(Open::default());
        let opened = open.opened(1);
        open.stop();
        let asked = Arc::new(AtomicBool::new(false));
        let activity = Activity::new();
        let shut_down = |c: Pin<&mut UntilShutDown>| c.0.store(true, Ordering::SeqCst);
        let idle = Duration::from_secs(3600);
        let ended = tokio::time::timeout(
            Duration::from_secs(60),
            watched(
                UntilShutDown(asked.clone()),
                shut_down,
                &opened,
                &activity,
                idle,
            ),
        )
        .await;
        assert_eq!(ended.ok(), Some(Some(())));
        drop(opened);
        tokio::time::timeout(Duration::from_secs(60), open.all_ended())
            .await
            .expect("no connection is left");
    }

    #[test]
    fn the_budget_refuses_past_its_limit_and_gets_back_what_is_dropped() {
        let budget = Budget::new(100);
        let mut first = None;
        budget.take(60, &mut first).unwrap();
        budget.take(30, &mut first).unwrap();
        let mut second = None;
        let refused = budget.take(11, &mut second).unwrap_err();
        assert_eq!(refused.code, "SlowDown");
        assert!(second.is_none(), "nothing is held after a refusal");
        budget.take(10, &mut second).unwrap();
        drop(first);
        let mut third = None;
        budget.take(90, &mut third).unwrap();
        assert!(budget.take(1, &mut third).is_err());
        drop((second, third));
        assert_eq!(budget.held.load(Ordering::Acquire), 0);
    }
}
