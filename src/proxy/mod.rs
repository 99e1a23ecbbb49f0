//! Record and replay as phases of one request pipeline.
//!
//! ```text
//! request ──> gate (origin form, no browser) ──> replay ──hit──> response
//!                                      │miss
//!                                      ├── no forward phase ──> ReplayMissException (400)
//!                                      └── forward: check client key ──> strip client signature
//!                                            ──> re-sign ──> upstream ──transport failure──> 502
//!                                            ──> record (file written) ──> response
//! ```
//! Each phase is optional and does nothing when absent: `replay` has only
//! the replay phase, `record` the forward and record phases, `replay
//! --on-miss record` all of them.
//!
//! The gate runs first for every request (see `gate`). The admin API
//! (`admin`) is not a phase: it has a listener of its own, so no AWS path
//! can reach it.

mod addressing;
pub mod admin;
pub mod forward;
pub mod gate;
pub mod record;
pub mod replay;

use crate::cassette::LoadedCassette;
use crate::cassette::RecordedRequest;
use crate::http::{AwsError, Handler, Limits, ListenError, Origin, Request, Response, Server};
use crate::matcher::{MatchOptions, Matcher};
use crate::sigv4::decode_streaming;
use forward::Forward;
pub use gate::Access;
use gate::Gate;
use record::Record;
use replay::{Replay, miss_error};
use std::net::SocketAddr;
use std::sync::Arc;

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
}

impl Handler for Proxy {
    async fn handle(&self, request: Request) -> Response {
        if let Err(error) = self.gate.check(&request) {
            tracing::warn!(method = %request.method, target = %request.uri, "refused: {}", error.message);
            return error.to_response_for(&request);
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
        // A bucket in the Host (`bucket.localhost`), or in the upstream's
        // host, makes the request path-style: the bucket is matched and
        // recorded whatever host names it.
        let bucket = self.forward.as_ref().and_then(Forward::upstream_bucket);
        let sent = meant.as_ref().unwrap_or(&request);
        let meant = match addressing::path_style(sent)
            .or_else(|| bucket.and_then(|bucket| addressing::in_bucket(sent, bucket)))
        {
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
    admin: Option<Server>,
    proxy: Arc<Proxy>,
}

impl ReplayServer {
    /// Serves `config.cassettes` on `config.listen`; a non-loopback address
    /// needs `config.access.allow_remote`.
    pub async fn start(config: ReplayConfig) -> Result<Self, ListenError> {
        let listeners = Listeners {
            listen: config.listen,
            admin_listen: config.admin_listen,
            access: config.access,
            limits: config.limits,
        };
        listeners.check("the replay server answers anyone who reaches it with your cassettes")?;
        let gate = Gate::new(listeners.access.clone(), listeners.listen.ip());
        let matcher = Matcher::new(config.cassettes, config.options);
        let proxy = Arc::new(Proxy::replay_only(matcher, gate));
        let (server, admin) = listeners.bind(proxy.clone()).await?;
        Ok(Self {
            server,
            admin,
            proxy,
        })
    }

    pub fn url(&self) -> String {
        self.server.url()
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// The admin API's `http://HOST:PORT`, when it has one.
    pub fn admin_url(&self) -> Option<String> {
        self.admin.as_ref().map(Server::url)
    }

    /// Starts the replay over: every interaction unused, no token bound.
    pub fn rewind(&self) {
        if let Some(replay) = &self.proxy.replay {
            replay.rewind();
        }
    }

    pub async fn shutdown(self) {
        if let Some(admin) = self.admin {
            admin.shutdown().await;
        }
        self.server.shutdown().await;
    }
}

/// Everything a replay server needs; `ReplayConfig::new` fills in the rest.
#[derive(Clone, Debug)]
pub struct ReplayConfig {
    /// The cassettes served, in order.
    pub cassettes: Vec<LoadedCassette>,
    pub options: MatchOptions,
    /// The AWS listener (default `127.0.0.1:0`, a free port).
    pub listen: SocketAddr,
    /// Where the admin API listens; `None` (the default): nowhere.
    pub admin_listen: Option<SocketAddr>,
    /// Who may reach the server: beyond loopback (`allow_remote`), browsers.
    pub access: Access,
    pub limits: Limits,
}

impl ReplayConfig {
    pub fn new(cassettes: Vec<LoadedCassette>, options: MatchOptions) -> Self {
        Self {
            cassettes,
            options,
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            admin_listen: None,
            access: Access::default(),
            limits: Limits::default(),
        }
    }
}

/// Where a proxy listens, and who may reach it.
#[derive(Clone, Debug)]
struct Listeners {
    /// The AWS listener.
    listen: SocketAddr,
    /// The admin API's own listener; `None`: no admin API.
    admin_listen: Option<SocketAddr>,
    access: Access,
    limits: Limits,
}

impl Listeners {
    /// Refuses non-loopback addresses without `--allow-remote`; `why` says
    /// what an outsider could do.
    fn check(&self, why: &str) -> Result<(), ListenError> {
        self.access.check_listen(self.listen, why)?;
        if let Some(admin) = self.admin_listen {
            self.access.check_listen(
                admin,
                "anyone who reaches the admin API can rewind the replay",
            )?;
        }
        Ok(())
    }

    /// Binds the AWS listener, then the admin one.
    async fn bind(&self, proxy: Arc<Proxy>) -> Result<(Server, Option<Server>), ListenError> {
        let server = Server::bind(self.listen, proxy.clone(), self.limits)
            .await
            .map_err(|e| ListenError::Bind(self.listen, e))?;
        let admin = match self.admin_listen {
            Some(addr) => {
                let gate = Gate::new(self.access.clone(), addr.ip());
                let admin = Arc::new(admin::Admin::new(proxy, gate));
                Some(
                    Server::bind(addr, admin, self.limits)
                        .await
                        .map_err(|e| ListenError::Bind(addr, e))?,
                )
            }
            None => None,
        };
        Ok((server, admin))
    }
}
