//! The record phase, and the recording server that runs the whole pipeline.
//!
//! Every exchange the upstream answered (any status: a real
//! ConflictException is exactly what users want) is written to the cassette
//! before its answer goes back to the client; see `cassette::writer` for
//! why. Transport failures never get here: the forward phase answers them
//! with a 502 and nothing is recorded.

use super::forward::{Forward, Forwarded, Route};
use super::gate::{Access, Gate};
use super::replay::Replay;
use super::{Listeners, Proxy};
use crate::cassette::{
    self, AccountRedaction, Cassette, CassetteError, CassetteWriter, Entry, Interaction,
    Provenance, RecordedRequest, RecordedResponse, SecretScan, StartKey, WriteError, WriteMode,
    WriterOptions,
};
use crate::http::{
    AwsError, Limits, ListenError, Origin, Server, Upstream, UpstreamError, UpstreamOptions,
};
use crate::matcher::{MatchOptions, Matcher};
use crate::sigv4::{
    ClientKey, ClientKeyVerifier, CredentialSource, CredentialsError, Keyring, Signer,
};
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Instant, SystemTime};

/// Writes answered exchanges to the cassette, in request-start order.
pub struct Record {
    writer: CassetteWriter,
    first_start: OnceLock<Instant>,
    seq: AtomicU64,
}

impl Record {
    pub fn new(writer: CassetteWriter) -> Self {
        Self {
            writer,
            first_start: OnceLock::new(),
            seq: AtomicU64::new(0),
        }
    }

    /// Called when a request arrives: its place in the recording.
    pub fn begin(&self) -> StartKey {
        let now = Instant::now();
        let first = *self.first_start.get_or_init(|| now);
        StartKey {
            since_first: now.saturating_duration_since(first),
            seq: self.seq.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// Writes the exchange; `Err` is what the client gets instead of the
    /// answer when it could not be recorded.
    pub async fn record(&self, start: StartKey, forwarded: &Forwarded) -> Result<(), AwsError> {
        let entry = Entry {
            start,
            interaction: Interaction {
                elapsed_ms: 0,
                endpoint: Some(forwarded.endpoint.clone()),
                expect: None,
                note: None,
                request: RecordedRequest::from_exchange(&forwarded.request),
                response: RecordedResponse::from_exchange(&forwarded.response),
            },
            account_hint: forwarded.account_id.clone(),
            scope: forwarded
                .scope
                .as_ref()
                .map(|s| (s.region.clone(), s.service.clone())),
        };
        match self.writer.write(entry).await {
            Ok(()) => Ok(()),
            Err(WriteError::Secret(leak)) => Err(AwsError::new(
                Origin::Internal,
                "RecordingRefusedException",
                format!(
                    "proton-vcr withheld the upstream's answer and recorded nothing: writing this exchange would have put {leak} into {}. The upstream did process the request.",
                    self.writer.path().display()
                ),
            )),
            Err(error) => Err(AwsError::new(
                Origin::Internal,
                "RecordingFailedException",
                format!(
                    "proton-vcr could not record this exchange ({error}); the upstream did process the request"
                ),
            )),
        }
    }

    pub async fn close(&self) {
        self.writer.close().await;
    }
}

/// Everything a recording server needs; `RecordConfig::new` fills in the rest.
#[derive(Clone, Debug)]
pub struct RecordConfig {
    /// The cassette file to write.
    pub cassette: PathBuf,
    /// The cassette's name; defaults to the file name without `.json`.
    pub name: Option<String>,
    pub mode: WriteMode,
    /// `https://host[:port]` sends every request there; `aws` or none (the
    /// default) routes each request to the regional endpoint of the service
    /// and region it is signed for.
    pub upstream: Option<String>,
    /// For tests against a local emulator: with routing by scope, send every
    /// request to this loopback URL after the endpoint lookup.
    pub route_override: Option<String>,
    pub upstream_options: UpstreamOptions,
    pub credentials: CredentialSource,
    /// Signing region and name for requests that carry no SigV4 scope (the
    /// client's own scope always wins); `region` also picks the default upstream.
    pub region: Option<String>,
    pub service: Option<String>,
    /// Replace real account ids with this 12-digit value in the cassette.
    pub redact_account_id: Option<String>,
    /// Only let through clients that sign with this key.
    pub client_key: Option<ClientKey>,
    /// Allow an `http://` upstream beyond loopback: signed requests, session
    /// token included, then cross the network in clear text.
    pub allow_plaintext_upstream: bool,
    /// The AWS listener (default `127.0.0.1:0`, a free port).
    pub listen: SocketAddr,
    /// Who may reach the proxy: beyond loopback (`allow_remote`), browsers.
    pub access: Access,
    /// Where the admin API listens (`--admin-listen`); `None`: nowhere.
    pub admin_listen: Option<SocketAddr>,
    pub limits: Limits,
    /// Answer from the cassette first and record only what it does not
    /// answer (`replay --on-miss record`); the cassette is then appended to.
    pub replay: Option<MatchOptions>,
}

impl RecordConfig {
    pub fn new(cassette: impl Into<PathBuf>, credentials: CredentialSource) -> Self {
        Self {
            cassette: cassette.into(),
            name: None,
            mode: WriteMode::New,
            upstream: None,
            route_override: None,
            upstream_options: UpstreamOptions::default(),
            credentials,
            region: None,
            service: None,
            redact_account_id: None,
            client_key: None,
            allow_plaintext_upstream: false,
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            access: Access::default(),
            admin_listen: None,
            limits: Limits::default(),
            replay: None,
        }
    }
}

/// Why a recording server did not start.
#[derive(Debug)]
pub enum RecordError {
    /// The configuration cannot work; the message says which setting.
    Config(String),
    Credentials(CredentialsError),
    Upstream(UpstreamError),
    Cassette(CassetteError),
    Listen(ListenError),
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordError::Config(message) => f.write_str(message),
            RecordError::Credentials(e) => write!(f, "{e}"),
            RecordError::Upstream(e) => write!(f, "{e}"),
            RecordError::Cassette(e) => write!(f, "{e}"),
            RecordError::Listen(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for RecordError {}

/// A recording proxy running in this process: point clients at
/// [`RecordServer::url`]; [`RecordServer::shutdown`] waits for requests in
/// flight and their writes.
pub struct RecordServer {
    server: Server,
    admin: Option<Server>,
    proxy: Arc<Proxy>,
    upstream: String,
    cassette: PathBuf,
}

impl RecordServer {
    pub async fn start(config: RecordConfig) -> Result<Self, RecordError> {
        let listeners = Listeners {
            listen: config.listen,
            admin_listen: config.admin_listen,
            access: config.access.clone(),
            limits: config.limits,
        };
        listeners
            .check("the recording proxy signs with your real AWS credentials (with --allow-remote, also pass --client-key)")
            .map_err(RecordError::Listen)?;
        if config.access.allow_remote && config.client_key.is_none() {
            tracing::warn!(
                "--allow-remote without --client-key: anyone who can reach {} spends your AWS credentials",
                config.listen
            );
        }
        let redaction = config
            .redact_account_id
            .as_deref()
            .map(AccountRedaction::new)
            .transpose()
            .map_err(|e| RecordError::Config(format!("--redact-account-id: {e}")))?;
        let keyring = Keyring::load(&config.credentials, config.region.as_deref())
            .await
            .map_err(RecordError::Credentials)?;
        let signer = Arc::new(Signer::new(keyring));
        let route = Route::new(config.upstream.as_deref(), config.route_override.as_deref())
            .map_err(RecordError::Config)?;
        let upstream =
            Upstream::new(config.upstream_options.clone()).map_err(RecordError::Upstream)?;
        // The standard configuration's region (AWS_REGION, the profile's)
        // serves when --region is not given.
        let region = config
            .region
            .clone()
            .or_else(|| signer.region().map(str::to_string));
        let forward = Forward::new(
            upstream,
            route,
            signer.clone(),
            region,
            config.service.clone(),
            config.client_key.clone().map(ClientKeyVerifier::new),
        );
        if forward.plaintext_beyond_loopback() {
            if !config.allow_plaintext_upstream {
                return Err(RecordError::Config(format!(
                    "refusing the upstream {}: it is plain http:// on another machine, so your signed requests and session token would cross the network in clear text, readable by anyone on the way; use https://, or pass --allow-plaintext-upstream if that network is yours",
                    forward.base()
                )));
            }
            tracing::warn!(
                upstream = forward.base(),
                "signed requests go to the upstream in clear text (--allow-plaintext-upstream)"
            );
        }

        let replay = match &config.replay {
            Some(options) => Some(Replay::new(Matcher::new(
                replay_cassettes(&config)?,
                options.clone(),
            ))),
            None => None,
        };
        let mode = if replay.is_some() {
            WriteMode::Append
        } else {
            config.mode
        };
        let fallback = forward.fallback_scope();
        let mut provenance = Provenance::recorded(
            &forward.base(),
            "",
            "",
            crate::calendar::rfc3339(SystemTime::now()),
        );
        provenance.service = config
            .service
            .clone()
            .or_else(|| fallback.as_ref().map(|s| s.service.clone()));
        provenance.region = config.region.clone().or_else(|| fallback.map(|s| s.region));
        let name = config.name.clone().unwrap_or_else(|| {
            config.cassette.file_stem().map_or_else(
                || "recording".to_string(),
                |s| s.to_string_lossy().into_owned(),
            )
        });
        let fresh = Cassette {
            name,
            provenance,
            interactions: Vec::new(),
        };
        let scan: Arc<dyn SecretScan> = signer;
        let writer = CassetteWriter::open(
            &config.cassette,
            fresh,
            WriterOptions {
                mode,
                scan,
                redaction,
            },
        )
        .map_err(RecordError::Cassette)?;
        let upstream = forward.base();
        let proxy = Arc::new(Proxy {
            gate: Gate::new(config.access.clone(), config.listen.ip()),
            replay,
            forward: Some(forward),
            record: Some(Record::new(writer)),
        });
        let (server, admin) = listeners
            .bind(proxy.clone())
            .await
            .map_err(RecordError::Listen)?;
        tracing::info!(upstream = %upstream, cassette = %config.cassette.display(), "recording");
        Ok(Self {
            server,
            admin,
            proxy,
            upstream,
            cassette: config.cassette,
        })
    }

    /// `http://HOST:PORT`, ready for `--endpoint-url`.
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

    /// The upstream requests go to.
    pub fn upstream(&self) -> &str {
        &self.upstream
    }

    pub fn cassette(&self) -> &std::path::Path {
        &self.cassette
    }

    /// Stops accepting, lets requests in flight finish and their exchanges
    /// reach the file, then stops the writer.
    pub async fn shutdown(self) {
        if let Some(admin) = self.admin {
            admin.shutdown().await;
        }
        self.server.shutdown().await;
        if let Some(record) = &self.proxy.record {
            record.close().await;
        }
    }
}

/// The cassette `--on-miss record` replays from and appends to: one file,
/// possibly not there yet.
fn replay_cassettes(config: &RecordConfig) -> Result<Vec<cassette::LoadedCassette>, RecordError> {
    if config.cassette.is_dir() {
        return Err(RecordError::Config(format!(
            "{} is a folder: --on-miss record appends to one cassette file; give a file (new interactions go to its end)",
            config.cassette.display()
        )));
    }
    if !config.cassette.exists() {
        return Ok(Vec::new());
    }
    Ok(vec![
        cassette::load_file(&config.cassette).map_err(RecordError::Cassette)?,
    ])
}
