//! `proton-vcr record`, and the forwarding flags it shares with
//! `replay --on-miss record`.

use super::{ServeArgs, default_listen};
use clap::{Args, ValueEnum};
use proton_vcr::cassette::{DOCUMENTATION_ACCOUNT_ID, WriteMode};
use proton_vcr::{
    Access, ClientKey, CredentialSource, RecordConfig, RecordError, RecordServer, UpstreamOptions,
};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Record real AWS traffic into a cassette through a re-signing proxy
///
/// Clients sign with any credentials; the proxy removes their signature,
/// signs again with your real credentials (the standard AWS chain, or
/// --profile), forwards to the upstream, answers with the real response, and
/// writes every exchange to the cassette before answering. Secrets never
/// reach the file: signing headers and cookies are dropped, and every write
/// is refused if it would contain the access key id, secret key or session
/// token in use.
///
///   proton-vcr record --profile dev --region us-east-1 --cassette cassettes/env.json
///   aws proton list-environments --endpoint-url http://127.0.0.1:4751
///
/// Any SigV4 service works: by default each request goes to the endpoint of
/// the service and region its client signed for; --upstream URL pins one.
#[derive(Debug, Args)]
#[command(
    verbatim_doc_comment,
    mut_arg("listen", default_listen("127.0.0.1:4751"))
)]
pub struct RecordArgs {
    /// The cassette file to write.
    #[arg(long, short = 'c', value_name = "FILE")]
    pub cassette: PathBuf,

    #[command(flatten)]
    pub serve: ServeArgs,

    /// When the cassette exists: refuse (new), add to its end (append), or replace it (overwrite).
    #[arg(long, value_enum, default_value_t = Mode::New)]
    pub mode: Mode,

    /// The cassette's name; defaults to the file name without `.json`.
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,

    #[command(flatten)]
    pub forward: ForwardArgs,

    #[command(flatten)]
    pub access: AccessArgs,
}

/// What to do with a cassette file that already exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Mode {
    /// Refuse to start if the file exists.
    New,
    /// Keep its interactions and add the new ones after them.
    Append,
    /// Replace it.
    Overwrite,
}

impl From<Mode> for WriteMode {
    fn from(mode: Mode) -> Self {
        match mode {
            Mode::New => WriteMode::New,
            Mode::Append => WriteMode::Append,
            Mode::Overwrite => WriteMode::Overwrite,
        }
    }
}

/// The `--upstream` value that routes each request by its SigV4 scope.
const AWS_ROUTE: &str = "aws";

/// Who may reach a server. Shared by record, replay and (for --allow-remote) mock.
#[derive(Clone, Debug, Args)]
#[command(next_help_heading = "Access")]
pub struct AccessArgs {
    /// Accept connections from other hosts. The recorder spends your credentials:
    /// combine with --client-key.
    #[arg(long)]
    pub allow_remote: bool,

    /// Serve browser requests (an Origin or Sec-Fetch-* header) from this
    /// origin, e.g. http://localhost:3000. Repeatable. Others get a 403.
    #[arg(long = "allow-origin", value_name = "ORIGIN")]
    pub allowed_origins: Vec<String>,

    /// Accept this name in the Host header besides loopback and the listen
    /// address (e.g. the machine's name under --allow-remote). Repeatable.
    #[arg(long = "allow-host", value_name = "NAME")]
    pub allowed_hosts: Vec<String>,

    /// Serve the admin API (POST /__vcr/rewind, GET /__vcr/status) on this
    /// address of its own, so it never shadows an AWS path; port 0 picks one.
    /// The second stdout line says where. Default: no admin API.
    #[arg(long, value_name = "ADDR")]
    pub admin_listen: Option<SocketAddr>,
}

impl AccessArgs {
    pub fn access(&self) -> Access {
        Access {
            allow_remote: self.allow_remote,
            allowed_origins: self.allowed_origins.clone(),
            allowed_hosts: self.allowed_hosts.clone(),
        }
    }

    /// Sets where `config` listens and who may reach it.
    pub fn apply(&self, serve: &ServeArgs, config: &mut RecordConfig) {
        config.listen = serve.listen;
        config.limits = serve.limits();
        config.access = self.access();
        config.admin_listen = self.admin_listen;
    }
}

/// How requests reach AWS and what protects the credentials.
#[derive(Clone, Debug, Args)]
#[command(next_help_heading = "Forwarding to AWS")]
pub struct ForwardArgs {
    /// Where requests go. `aws` (the default): each request to the regional
    /// endpoint of the service and region it is signed for, from the built-in
    /// table of AWS endpoints, so one recorder serves a whole application
    /// (point AWS_ENDPOINT_URL at it). A URL, e.g. https://sqs.eu-west-1.amazonaws.com
    /// or http://localhost:4566: every request goes only there. Either way a
    /// request's Host header never picks the destination.
    #[arg(long, value_name = "URL|aws", default_value = AWS_ROUTE)]
    pub upstream: String,

    /// With `--upstream aws`: send every request to this loopback URL (a local
    /// emulator such as moto) after looking its endpoint up, e.g.
    /// http://127.0.0.1:5000. Requests for services or regions the table
    /// does not know are still refused; only loopback addresses are accepted.
    #[arg(long, value_name = "URL")]
    pub route_override: Option<String>,

    /// Shared-config profile to take credentials from (SSO, assume-role and
    /// credential_process profiles work). Default: the standard chain.
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,

    /// Region to sign for when a request carries no SigV4 scope of its own.
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,

    /// Signing name to use when a request carries no SigV4 scope of its own
    /// and the upstream host does not tell (e.g. a local emulator).
    #[arg(long, value_name = "NAME")]
    pub service: Option<String>,

    /// Allow a plain http:// upstream on another machine (signed requests and
    /// the session token then cross the network in clear text).
    #[arg(long)]
    pub allow_plaintext_upstream: bool,

    /// PEM file of extra CA certificates to trust for the upstream (private or test endpoints).
    #[arg(long, value_name = "PEM")]
    pub upstream_ca: Option<PathBuf>,

    /// Seconds to wait for a connection to the upstream.
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    pub connect_timeout: u64,

    /// Seconds to wait for a whole upstream answer.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub upstream_timeout: u64,

    /// Replace your account id everywhere in the cassette, ARNs included,
    /// with this value (default 123456789012).
    #[arg(long, value_name = "ACCOUNT_ID", num_args = 0..=1, default_missing_value = DOCUMENTATION_ACCOUNT_ID)]
    pub redact_account_id: Option<String>,

    /// Only forward requests signed with this local key (ACCESS_KEY_ID:SECRET);
    /// give the same key to your clients. Others get a 403, and so do an
    /// unsigned payload and a signature used before.
    #[arg(long, value_name = "AKID:SECRET", env = "PROTON_VCR_CLIENT_KEY", hide_env_values = true, value_parser = ClientKey::parse)]
    pub client_key: Option<ClientKey>,
}

impl ForwardArgs {
    /// The configuration these flags describe, writing `cassette`; where
    /// it listens is the config's default until the caller says otherwise.
    pub fn into_config(self, cassette: PathBuf) -> RecordConfig {
        let mut config = RecordConfig::new(
            cassette,
            CredentialSource::Chain {
                profile: self.profile,
            },
        );
        config.upstream = (self.upstream != AWS_ROUTE).then_some(self.upstream);
        config.route_override = self.route_override;
        config.region = self.region;
        config.service = self.service;
        config.upstream_options = UpstreamOptions {
            ca_file: self.upstream_ca,
            connect_timeout: Duration::from_secs(self.connect_timeout),
            timeout: Duration::from_secs(self.upstream_timeout),
            ..UpstreamOptions::default()
        };
        config.redact_account_id = self.redact_account_id;
        config.client_key = self.client_key;
        config.allow_plaintext_upstream = self.allow_plaintext_upstream;
        config
    }
}

pub async fn run(args: RecordArgs) -> anyhow::Result<ExitCode> {
    let mut config = args.forward.into_config(args.cassette);
    args.access.apply(&args.serve, &mut config);
    config.mode = args.mode.into();
    config.name = args.name;
    serve(config).await
}

/// Starts a recording server, announces it, and runs until Ctrl-C or SIGTERM.
pub(crate) async fn serve(config: RecordConfig) -> anyhow::Result<ExitCode> {
    let stop = super::shutdown_signal();
    let server = match RecordServer::start(config).await {
        Ok(server) => server,
        Err(RecordError::Listen(error)) => return Err(super::cannot_listen(error)),
        Err(error) => return Err(error.into()),
    };
    super::announce(&server.url());
    if let Some(admin) = server.admin_url() {
        super::announce_admin(&admin);
    }
    tracing::info!(
        "forwarding to {} and recording into {}; point clients at it with --endpoint-url {}",
        server.upstream(),
        server.cassette().display(),
        server.url()
    );
    stop.await;
    server.shutdown().await;
    Ok(ExitCode::SUCCESS)
}
