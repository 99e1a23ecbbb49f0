//! The `proton-vcr` binary: parse arguments, set up logging, run, and turn
//! the outcome into an exit code. The only place errors become exit codes.
//! The command line (`cli`) is the binary's own and uses only the library's
//! public API.

mod cli;

use clap::Parser;
use cli::{Cli, run};
use std::io::IsTerminal;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // aws-sigv4 traces the canonical request and the signing identity, and
    // aws-config logs loaded credentials at info, with the access key id and
    // session token in them: whatever RUST_LOG says, those never reach a log.
    for quiet in ["aws_sigv4=info", "aws_config=warn"] {
        if let Ok(directive) = quiet.parse() {
            filter = filter.add_directive(directive);
        }
    }
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colour codes only for a terminal: logs kept in files and CI stay readable.
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}
