//! The command line: each flag is defined once, with its help, in the file of
//! its subcommand (the flags every server shares in [`ServeArgs`]); raw
//! arguments become a `Config` for the library. This is the binary's edge,
//! where errors become messages and exit codes; clap's types stay here.

mod cassette;
mod conform;
mod mock;
mod record;
mod replay;
mod scenario;

use clap::{Args, Parser, Subcommand};
use proton_vcr::{Limits, ListenError};
use std::net::SocketAddr;
use std::process::ExitCode;

/// Record real AWS traffic, replay it offline, emulate AWS Proton, and check
/// how faithful a mock is.
///
/// Quick start:
///   proton-vcr conform
///       check the built-in Proton mock against the reference cassettes
///   proton-vcr mock
///       run the Proton emulator; then: aws proton ... --endpoint-url URL
///   proton-vcr replay --cassette cassettes/
///       serve recorded traffic offline
///   proton-vcr record --profile NAME --cassette out.json
///       record real traffic through a re-signing proxy
///
/// Every command's --help explains it with examples.
///
/// Logs go to stderr; set RUST_LOG (e.g. RUST_LOG=proton_vcr=debug) for more.
#[derive(Debug, Parser)]
#[command(
    name = "proton-vcr",
    version,
    verbatim_doc_comment,
    max_term_width = 100
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    Conform(conform::ConformArgs),
    Mock(mock::MockArgs),
    Replay(replay::ReplayArgs),
    Record(record::RecordArgs),
    Scenario(scenario::ScenarioArgs),
    Cassette(cassette::CassetteArgs),
}

/// Runs the parsed command line. Errors are bad input (exit 2) unless a
/// command decides otherwise.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    if matches!(
        cli.command,
        Command::Replay(_) | Command::Record(_) | Command::Mock(_)
    ) {
        proton_vcr::raise_open_file_limit();
    }
    match cli.command {
        Command::Replay(args) => replay::run(args).await,
        Command::Record(args) => record::run(args).await,
        Command::Cassette(args) => cassette::run(args).await,
        Command::Conform(args) => conform::run(args).await,
        Command::Scenario(args) => scenario::run(args).await,
        Command::Mock(args) => mock::run(args).await,
    }
}

/// Where a server listens and how much it takes in: `replay`, `record` and
/// `mock` flatten this, each giving `--listen` its own default with
/// [`default_listen`].
#[derive(Clone, Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free port. Binds loopback unless --allow-remote.
    #[arg(long, value_name = "ADDR")]
    pub listen: SocketAddr,

    /// Largest request body accepted, in bytes; larger ones get an AWS-shaped 413.
    #[arg(long, value_name = "BYTES", default_value_t = Limits::default().max_body_bytes)]
    pub max_body_bytes: usize,

    /// Request body bytes held at once across all connections; past it,
    /// requests get a 503 SlowDown (which SDKs retry).
    #[arg(long, value_name = "BYTES", default_value_t = Limits::default().max_buffered_bytes)]
    pub max_buffered_bytes: usize,
}

/// Gives a command's `--listen` its default address, e.g.
/// `#[command(mut_arg("listen", default_listen("127.0.0.1:4750")))]`.
pub fn default_listen(addr: &'static str) -> impl FnOnce(clap::Arg) -> clap::Arg {
    move |arg| arg.default_value(addr).required(false)
}

impl ServeArgs {
    pub fn limits(&self) -> Limits {
        Limits {
            max_body_bytes: self.max_body_bytes,
            max_buffered_bytes: self.max_buffered_bytes,
            ..Limits::default()
        }
    }
}

/// A server that did not start listening, with what to try when the port is taken.
pub(crate) fn cannot_listen(error: ListenError) -> anyhow::Error {
    match error {
        ListenError::Bind(..) => {
            anyhow::anyhow!("{error} (is the port in use? try --listen 127.0.0.1:0)")
        }
        ListenError::Refused(_) => anyhow::Error::new(error),
    }
}

/// Prints the `listening on` line first on stdout, flushed, so scripts can
/// read the address when they bind port 0.
pub(crate) fn announce(url: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "listening on {url}");
    let _ = out.flush();
}

/// Prints where the admin API listens, as the second stdout line.
pub(crate) fn announce_admin(url: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "admin listening on {url}");
    let _ = out.flush();
}

/// Listens for Ctrl-C and SIGTERM from the moment it is called; the future
/// ends at the first. Call it before announcing an address, so that a signal
/// sent as soon as the address is seen is never lost.
pub(crate) fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).ok();
        let mut interrupt = signal(SignalKind::interrupt()).ok();
        async move {
            let term = async {
                match &mut term {
                    Some(signal) => signal.recv().await,
                    None => std::future::pending().await,
                }
            };
            let interrupt = async {
                match &mut interrupt {
                    Some(signal) => signal.recv().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = term => {},
                _ = interrupt => {},
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listen_of(args: &[&str]) -> SocketAddr {
        let cli = Cli::try_parse_from(args).unwrap();
        match cli.command {
            Command::Replay(args) => args.serve.listen,
            Command::Record(args) => args.serve.listen,
            Command::Mock(args) => args.serve.listen,
            other => panic!("not a server: {other:?}"),
        }
    }

    #[test]
    fn each_server_listens_on_its_own_default_port_and_takes_listen() {
        assert_eq!(listen_of(&["proton-vcr", "replay"]).port(), 4750);
        assert_eq!(
            listen_of(&["proton-vcr", "record", "-c", "c.json"]).port(),
            4751
        );
        assert_eq!(listen_of(&["proton-vcr", "mock"]).port(), 4752);
        let given = listen_of(&["proton-vcr", "mock", "--listen", "127.0.0.1:0"]);
        assert_eq!(given, SocketAddr::from(([127, 0, 0, 1], 0)));
    }

    #[test]
    fn the_recorder_routes_by_scope_unless_an_upstream_is_pinned() {
        let upstream_of = |extra: &[&str]| {
            let mut args = vec!["proton-vcr", "record", "-c", "c.json"];
            args.extend_from_slice(extra);
            match Cli::try_parse_from(args).unwrap().command {
                Command::Record(args) => args.forward.into_config("c.json".into()).upstream,
                other => panic!("not record: {other:?}"),
            }
        };
        assert_eq!(upstream_of(&[]), None);
        assert_eq!(upstream_of(&["--upstream", "aws"]), None);
        assert_eq!(
            upstream_of(&["--upstream", "http://127.0.0.1:4566"]).as_deref(),
            Some("http://127.0.0.1:4566")
        );
    }

    #[test]
    fn every_command_line_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
