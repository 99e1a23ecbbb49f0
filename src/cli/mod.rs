//! The command line: each flag is defined once, with its help, in the file of
//! its subcommand; raw arguments become a `Config` for the library. This is
//! the binary's edge, where errors become messages and exit codes.

mod cassette;
mod conform;
mod mock;
mod record;
mod replay;
mod scenario;

use clap::{Parser, Subcommand};
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
        crate::http::raise_open_file_limit();
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
