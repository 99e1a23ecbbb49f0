//! Record and replay as phases of one request pipeline.
//!
//! ```text
//! request ──> gate (origin form, no browser) ──> admin (/__vcr/...) ──> replay ──hit──> response
//!                                      │miss
//!                                      ├── no forward phase ──> ReplayMissException (400)
//!                                      └── forward: check client key ──> strip client signature
//!                                            ──> re-sign ──> upstream ──transport failure──> 502
//!                                            ──> record (file written) ──> response
//! ```
//! Each phase is optional and does nothing when absent: `replay` has only
//! the replay phase, `record` the forward and record phases, `replay
//! --on-miss record` all of them.

mod addressing;
pub mod forward;
pub mod gate;
pub mod record;
pub mod replay;

use crate::cassette::LoadedCassette;
use crate::cassette::RecordedRequest;
use crate::http::{AwsError, Handler, Limits, Origin, Request, Response, Server};
use crate::matcher::{MatchOptions, Matcher};
use crate::sigv4::decode_streaming;
use forward::Forward;
pub use gate::Access;
use gate::Gate;
use http::{Method, StatusCode};
use record::Record;
use replay::{Replay, miss_error};
use serde_json::json;
use std::net::SocketAddr;
use std::sync::Arc;

/// Admin routes live under this prefix, outside every AWS route.
pub const ADMIN_PREFIX: &str = "/__vcr/";

/// The request pipeline: its phases, in order.
pub struct Proxy {
    gate: Gate,
    replay: Option<Replay>,
    forward: Option<Forward>,
    record: Option<Record>,
}

impl Proxy {
    pub fn replay_only(matcher: Matcher, gate: Gate) -> Self {
        Self {
            gate,
            replay: Some(Replay::new(matcher)),
            forward: None,
            record: None,
        }
    }

    fn admin(&self, request: &Request) -> Response {
        let path = request.uri.path();
        match (&request.method, path.strip_prefix(ADMIN_PREFIX)) {
            (&Method::POST, Some("rewind")) => match &self.replay {
                Some(replay) => {
                    replay.rewind();
                    Response::json(StatusCode::OK, &json!({"rewound": true}))
                }
                None => admin_error(
                    StatusCode::NOT_FOUND,
                    "this proxy has no replay phase to rewind",
                ),
            },
            (&Method::GET, Some("status")) => match &self.replay {
                Some(replay) => Response::json(StatusCode::OK, &replay.status()),
                None => Response::json(StatusCode::OK, &json!({})),
            },
            _ => admin_error(
                StatusCode::NOT_FOUND,
                &format!(
                    "no admin route {} {path}; there are POST {ADMIN_PREFIX}rewind and GET {ADMIN_PREFIX}status",
                    request.method
                ),
            ),
        }
    }
}

fn admin_error(status: StatusCode, message: &str) -> Response {
    Response::json(
        status,
        &json!({"__type": "AdminRouteException", "message": message}),
    )
}

impl Handler for Proxy {
    async fn handle(&self, request: Request) -> Response {
        if let Err(error) = self.gate.check(&request) {
            tracing::warn!(method = %request.method, target = %request.uri, "refused: {}", error.message);
            return error.to_response_for(&request);
        }
        if request.uri.path().starts_with(ADMIN_PREFIX) {
            return self.admin(&request);
        }
        if request.headers.get_all("x-amz-target").iter().count() > 1 {
            return AwsError::new(
                Origin::Client,
                "SerializationException",
                "X-Amz-Target is sent more than once; send exactly one",
            )
            .to_response_for(&request);
        }
        let start = self.record.as_ref().map(Record::begin);
        // An aws-chunked upload is matched and recorded as the payload it
        // carries, so chunk sizes and chunk signatures never count.
        let (meant, streaming) = match decode_streaming(&request) {
            Ok(Some((decoded, streaming))) => (Some(decoded), Some(streaming)),
            Ok(None) => (None, None),
            Err(reason) => {
                return AwsError::new(
                    Origin::Client,
                    "InvalidRequest",
                    format!("proton-vcr: {reason}"),
                )
                .to_response_for(&request);
            }
        };
        // A bucket in the Host (`bucket.localhost`) becomes the path-style request.
        let meant = match addressing::path_style(meant.as_ref().unwrap_or(&request)) {
            Some(path_style) => Some(path_style),
            None => meant,
        };
        let meant = meant.as_ref().unwrap_or(&request);
        let miss = match &self.replay {
            Some(replay) => match replay.answer(meant) {
                Ok(response) => return response,
                Err(miss) => Some(miss),
            },
            None => None,
        };
        let Some(forward) = &self.forward else {
            return match &miss {
                Some(miss) => miss_error(miss).to_response_for(&request),
                None => AwsError::new(
                    Origin::Internal,
                    "InternalFailure",
                    "this proxy has no phase that answers requests",
                )
                .to_response_for(&request),
            };
        };
        if let Some(miss) = &miss {
            // A retry of a call the cassette answered (its idempotency token
            // is bound to that call's) gets that answer, as AWS answers a
            // retry; sending it again would record a second, different call.
            if let Some(answer) = &miss.bound_answer {
                tracing::info!(operation = %miss.operation, "a retry of a recorded call; answered from the cassette, not forwarded");
                return answer.as_ref().clone();
            }
            tracing::info!(operation = %miss.operation, "not in the cassette; forwarding to record it");
        }
        let forwarded = match forward.forward(&request, meant, streaming).await {
            Ok(forwarded) => forwarded,
            Err(error) => return error.to_response_for(&request),
        };
        if let (Some(record), Some(start)) = (&self.record, start) {
            if let Err(error) = record.record(start, &forwarded).await {
                return error.to_response_for(&request);
            }
            // Under `--on-miss record`, what was just recorded answers its own
            // retries from now on.
            if let Some(replay) = &self.replay {
                let recorded = RecordedRequest::from_exchange(&forwarded.request);
                replay.with_matcher(|m| {
                    let cassette = m.cassettes().len().saturating_sub(1);
                    m.add_used(cassette, &recorded, forwarded.response.clone());
                });
            }
        }
        forwarded.response
    }
}

/// A replay server running in this process: start it, point a client at
/// [`ReplayServer::url`], stop it by dropping it or with `shutdown`.
pub struct ReplayServer {
    server: Server,
    proxy: Arc<Proxy>,
}

impl ReplayServer {
    /// Serves `cassettes` on `addr` (use `127.0.0.1:0` for a free port),
    /// with the default [`Access`]: loopback, no browser.
    pub async fn start(
        cassettes: Vec<LoadedCassette>,
        options: MatchOptions,
        addr: SocketAddr,
        limits: Limits,
    ) -> std::io::Result<Self> {
        Self::start_with_access(cassettes, options, addr, limits, Access::default()).await
    }

    /// [`ReplayServer::start`] with access rules: a non-loopback `addr`
    /// needs `access.allow_remote`.
    pub async fn start_with_access(
        cassettes: Vec<LoadedCassette>,
        options: MatchOptions,
        addr: SocketAddr,
        limits: Limits,
        access: Access,
    ) -> std::io::Result<Self> {
        access
            .check_listen(
                addr,
                "the replay server reads your cassettes to anyone who asks",
            )
            .map_err(|message| {
                std::io::Error::new(std::io::ErrorKind::PermissionDenied, message)
            })?;
        let gate = Gate::new(access, addr.ip());
        let proxy = Arc::new(Proxy::replay_only(Matcher::new(cassettes, options), gate));
        let server = Server::bind(addr, proxy.clone(), limits).await?;
        Ok(Self { server, proxy })
    }

    pub fn url(&self) -> String {
        self.server.url()
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// Starts the replay over: every interaction unused, no token bound.
    pub fn rewind(&self) {
        if let Some(replay) = &self.proxy.replay {
            replay.rewind();
        }
    }

    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}
