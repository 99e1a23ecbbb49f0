//! `proton-vcr replay`.

use super::record::{AccessArgs, ForwardArgs};
use super::{ServeArgs, default_listen};
use clap::{Args, ValueEnum};
use proton_vcr::cassette;
use proton_vcr::matcher::{BindMode, MatchOptions, Repeats};
use proton_vcr::{ReplayConfig, ReplayServer, TokenPath};
use std::path::PathBuf;
use std::process::ExitCode;

/// Serve recorded AWS traffic offline, matching requests the way AWS reads them
///
/// Requests are matched by operation (X-Amz-Target) and JSON body for awsJson
/// services, by method, path, query and body for the others. Signing and
/// transport headers never count. Idempotency tokens (those every AWS
/// service's model names, plus any --token-path) are bound one to one: the
/// first time a live token meets a recorded one they are paired for the rest
/// of the replay, so SDK retries with fresh random tokens still replay.
///
/// Values the client chose that look generated (uuid4() names, random hex
/// ids, timestamps in keys) are bound the same way (--bind auto, the
/// default): a request that differs from a recorded one only at such values
/// binds each live value to the recorded one it replaces, later requests
/// carrying the live value (queue URLs, ARNs, S3 paths) follow the binding,
/// and answers carry the live value where the recording has the recorded one.
///
/// Point a client at it:
///   aws proton list-environments --endpoint-url http://127.0.0.1:4750
///   AWS_ENDPOINT_URL_PROTON=http://127.0.0.1:4750 your-program
///
/// Admin routes, on their own listener (--admin-listen 127.0.0.1:0, so they
/// never shadow an AWS path): POST /__vcr/rewind starts the replay over;
/// GET /__vcr/status shows how many interactions were used.
///
/// With --on-miss record (and the forwarding flags of `record`), what the
/// cassette does not answer is forwarded to AWS and appended to it:
///   proton-vcr replay --cassette cassettes/env.json --on-miss record --profile dev --region us-east-1
#[derive(Debug, Args)]
#[command(
    verbatim_doc_comment,
    mut_arg("listen", default_listen("127.0.0.1:4750"))
)]
pub struct ReplayArgs {
    /// A cassette file, or a folder whose *.json files are all served.
    #[arg(long, short = 'c', value_name = "PATH", default_value = "cassettes")]
    pub cassette: PathBuf,

    #[command(flatten)]
    pub serve: ServeArgs,

    /// When every recorded answer to a request has been used: answer the last one again, or miss.
    #[arg(long, value_enum, default_value_t = Repeat::Last)]
    pub repeats: Repeat,

    /// An extra JSON member holding an idempotency token, matched by binding:
    /// `clientToken`, `$.outer.token` or `Operation:$.token`. Repeatable.
    #[arg(long = "token-path", value_name = "PATH", value_parser = TokenPath::parse)]
    pub token_paths: Vec<TokenPath>,

    /// Which values match by binding: generated values the client chose and
    /// idempotency tokens (auto), idempotency tokens only (tokens), or none.
    #[arg(long, value_enum, default_value_t = Bind::Auto)]
    pub bind: Bind,

    /// What a request the cassette does not answer gets: an error (fail), or
    /// forwarded to AWS and appended to the cassette file (record).
    #[arg(long, value_enum, default_value_t = OnMiss::Fail)]
    pub on_miss: OnMiss,

    #[command(flatten)]
    pub forward: ForwardArgs,

    #[command(flatten)]
    pub access: AccessArgs,
}

/// What to do when every recorded answer to a request has been used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Repeat {
    /// Keep answering with the last recorded answer (waiters keep polling).
    Last,
    /// Treat it as a miss.
    Strict,
}

impl From<Repeat> for Repeats {
    fn from(repeat: Repeat) -> Self {
        match repeat {
            Repeat::Last => Repeats::Last,
            Repeat::Strict => Repeats::Strict,
        }
    }
}

/// Which values replay binds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Bind {
    /// Idempotency tokens, and generated-looking values the recording shows
    /// the client chose (resource names, ids, keys, message bodies).
    Auto,
    /// Only the idempotency-token members (the service model's and
    /// `--token-path`): every other value must match literally.
    Tokens,
    /// Nothing: every value, tokens included, must match literally.
    None,
}

impl From<Bind> for BindMode {
    fn from(bind: Bind) -> Self {
        match bind {
            Bind::Auto => BindMode::Auto,
            Bind::Tokens => BindMode::Tokens,
            Bind::None => BindMode::None,
        }
    }
}

/// What happens to a request no cassette answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OnMiss {
    /// Answer a ReplayMissException that says why.
    Fail,
    /// Forward it with re-signing and record it (VCR's "new episodes").
    Record,
}

pub async fn run(args: ReplayArgs) -> anyhow::Result<ExitCode> {
    let mut tokens = proton_vcr::proton_token_paths();
    tokens.extend(args.token_paths);
    let options = MatchOptions {
        tokens,
        repeats: args.repeats.into(),
        bind: args.bind.into(),
    };
    if args.on_miss == OnMiss::Record {
        let mut config = args.forward.into_config(args.cassette);
        args.access.apply(&args.serve, &mut config);
        config.replay = Some(options);
        return super::record::serve(config).await;
    }
    let cassettes = cassette::load(&args.cassette)?;
    let interactions: usize = cassettes
        .iter()
        .map(|c| c.cassette.interactions.len())
        .sum();
    let count = cassettes.len();
    let mut config = ReplayConfig::new(cassettes, options);
    config.listen = args.serve.listen;
    config.admin_listen = args.access.admin_listen;
    config.access = args.access.access();
    config.limits = args.serve.limits();
    let stop = super::shutdown_signal();
    let server = ReplayServer::start(config)
        .await
        .map_err(super::cannot_listen)?;
    super::announce(&server.url());
    if let Some(admin) = server.admin_url() {
        super::announce_admin(&admin);
    }
    tracing::info!(
        cassettes = count,
        interactions,
        "replaying {}",
        args.cassette.display()
    );
    stop.await;
    server.shutdown().await;
    Ok(ExitCode::SUCCESS)
}
