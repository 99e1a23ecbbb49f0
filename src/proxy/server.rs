//! The servers of the proxy pipeline: [`ReplayServer`] (the replay phase
//! alone) and [`RecordServer`] (forward and record, after replay under
//! `--on-miss record`), their configurations, and the listeners they share
//! (the AWS one and the optional admin one, behind the same gate).

use super::Proxy;
use super::admin::Admin;
use super::forward::{Forward, Route};
use super::gate::{Access, Gate};
use super::record::Record;
use super::replay::Replay;
use crate::cassette::{
    self, AccountRedaction, Cassette, CassetteError, CassetteWriter, LoadedCassette, Provenance,
    SecretScan, WriteMode, WriterOptions,
};
use crate::http::{Limits, ListenError, Server, Upstream, UpstreamError, UpstreamOptions};
use crate::matcher::{MatchOptions, Matcher};
use crate::sigv4::{
    ClientKey, ClientKeyVerifier, CredentialSource, CredentialsError, Keyring, Signer,
};
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

/// A replay server running in this process: start it, point a client at
/// [`ReplayServer::url`], stop it by dropping it or with `shutdown`.
pub struct ReplayServer {
    bound: Bound,
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
        let gate = listeners.gate(listeners.listen);
        let matcher = Matcher::new(config.cassettes, config.options);
        let proxy = Arc::new(Proxy::replay_only(matcher, gate));
        let bound = listeners.bind(proxy.clone()).await?;
        Ok(Self { bound, proxy })
    }

    pub fn url(&self) -> String {
        self.bound.server.url()
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.bound.server.local_addr()
    }

    /// The admin API's `http://HOST:PORT`, when it has one.
    pub fn admin_url(&self) -> Option<String> {
        self.bound.admin.as_ref().map(Server::url)
    }

    /// Starts the replay over: every interaction unused, no token bound.
    pub fn rewind(&self) {
        if let Some(replay) = self.proxy.replay() {
            replay.rewind();
        }
    }

    pub async fn shutdown(self) {
        self.bound.shutdown().await;
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

    /// The gate of a listener on `addr`.
    fn gate(&self, addr: SocketAddr) -> Gate {
        Gate::new(self.access.clone(), addr.ip())
    }

    /// Binds the AWS listener, then the admin one.
    async fn bind(&self, proxy: Arc<Proxy>) -> Result<Bound, ListenError> {
        let server = Server::bind(self.listen, proxy.clone(), self.limits)
            .await
            .map_err(|e| ListenError::Bind(self.listen, e))?;
        let admin = match self.admin_listen {
            Some(addr) => {
                let admin = Arc::new(Admin::new(proxy, self.gate(addr)));
                Some(
                    Server::bind(addr, admin, self.limits)
                        .await
                        .map_err(|e| ListenError::Bind(addr, e))?,
                )
            }
            None => None,
        };
        Ok(Bound { server, admin })
    }
}

/// A server's listeners once bound: the AWS one and the admin one.
struct Bound {
    server: Server,
    admin: Option<Server>,
}

impl Bound {
    /// Stops the admin listener, then the AWS one.
    async fn shutdown(self) {
        if let Some(admin) = self.admin {
            admin.shutdown().await;
        }
        self.server.shutdown().await;
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
    /// `https://host[:port]` sends every request there; `None` routes each
    /// request to the regional endpoint of the service and region it is
    /// signed for.
    pub upstream: Option<String>,
    /// For tests against a local emulator: with routing by scope, send every
    /// request to this loopback URL after the endpoint lookup.
    pub route_override: Option<String>,
    pub upstream_options: UpstreamOptions,
    pub credentials: CredentialSource,
    /// Signing region and name for requests that carry no SigV4 scope (the
    /// client's own scope always wins).
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
    bound: Bound,
    proxy: Arc<Proxy>,
    upstream: String,
    cassette: PathBuf,
}

impl RecordServer {
    /// Checks the configuration, loads the credentials, opens the cassette,
    /// then listens on `config.listen`.
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
        let forward = forward_phase(&config, signer.clone())?;
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
        let scan: Arc<dyn SecretScan> = signer;
        let writer = CassetteWriter::open(
            &config.cassette,
            fresh_cassette(&config, &forward),
            WriterOptions {
                mode,
                scan,
                redaction,
            },
        )
        .map_err(RecordError::Cassette)?;
        let upstream = forward.base();
        let gate = listeners.gate(config.listen);
        let proxy = Arc::new(Proxy::recording(gate, replay, forward, Record::new(writer)));
        let bound = listeners
            .bind(proxy.clone())
            .await
            .map_err(RecordError::Listen)?;
        tracing::info!(upstream = %upstream, cassette = %config.cassette.display(), "recording");
        Ok(Self {
            bound,
            proxy,
            upstream,
            cassette: config.cassette,
        })
    }

    /// `http://HOST:PORT`, ready for `--endpoint-url`.
    pub fn url(&self) -> String {
        self.bound.server.url()
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.bound.server.local_addr()
    }

    /// The admin API's `http://HOST:PORT`, when it has one.
    pub fn admin_url(&self) -> Option<String> {
        self.bound.admin.as_ref().map(Server::url)
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
        self.bound.shutdown().await;
        self.proxy.close().await;
    }
}

/// The forward phase `config` describes: where requests go and how they are
/// signed. Refuses a plain-text upstream beyond loopback unless allowed.
fn forward_phase(config: &RecordConfig, signer: Arc<Signer>) -> Result<Forward, RecordError> {
    let route = Route::new(config.upstream.as_deref(), config.route_override.as_deref())
        .map_err(RecordError::Config)?;
    let upstream = Upstream::new(config.upstream_options.clone()).map_err(RecordError::Upstream)?;
    // The standard configuration's region (AWS_REGION, the profile's)
    // serves when --region is not given.
    let region = config
        .region
        .clone()
        .or_else(|| signer.region().map(str::to_string));
    let forward = Forward::new(
        upstream,
        route,
        signer,
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
    Ok(forward)
}

/// The cassette a new recording starts as: named, with where it was recorded.
fn fresh_cassette(config: &RecordConfig, forward: &Forward) -> Cassette {
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
    Cassette {
        name,
        provenance,
        interactions: Vec::new(),
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
