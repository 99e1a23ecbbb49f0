//! What the recorder's secret checks cost on the benchmark exchange.
//!
//! Runs the checks the recorder runs before writing an exchange (on the
//! interaction's parts, then on its serialised record) `--count` times on
//! the exchange of the `record` benchmark (`bench/cassettes/get-environment.json`,
//! with the headers the recorder keeps), with the benchmark's fake
//! credentials. Meant to be run under callgrind, counting only the checks:
//!
//! ```text
//! cargo build --release --example secret_checks
//! valgrind --tool=callgrind --toggle-collect='*check_interaction*' \
//!   --toggle-collect='*check_bytes*' target/release/examples/secret_checks --count 1000
//! ```
//!
//! The instruction total divided by `--count` is the cost of one exchange
//! (BENCHMARKS.md, "Cheaper secret checks").

use proton_vcr::cassette::{self, ByteSet, SecretScan};
use regex::bytes::RegexSet;
use std::path::Path;
use std::process::ExitCode;

/// The credentials `bench/run` gives the recorder.
const ACCESS_KEY_ID: &str = "AKIDBENCHMARK0000000";
const SECRET_ACCESS_KEY: &str = "benchmark-secret-not-a-real-key";

/// Searches as the signer's keyring does: one regex set of the credentials'
/// forms (these have no byte that percent-encoding changes, so their raw form
/// is every form).
struct Keyring {
    set: RegexSet,
    bytes: ByteSet,
}

impl SecretScan for Keyring {
    fn find_secret(&self, bytes: &[u8]) -> Option<&'static str> {
        self.set.is_match(bytes).then_some("a credential in use")
    }

    fn shortest_secret(&self) -> usize {
        ACCESS_KEY_ID.len()
    }

    fn secret_bytes(&self) -> ByteSet {
        self.bytes
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let count = match args.as_slice() {
        [] => 1000,
        [flag, n] if flag == "--count" => match n.parse::<usize>() {
            Ok(n) => n,
            Err(_) => {
                eprintln!("secret_checks: --count takes a number, not `{n}`");
                return ExitCode::from(2);
            }
        },
        _ => {
            eprintln!("usage: secret_checks [--count N]");
            return ExitCode::from(2);
        }
    };
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/cassettes/get-environment.json");
    let loaded = std::fs::read(&path)
        .map_err(|e| e.to_string())
        .and_then(|bytes| cassette::parse(&path, &bytes).map_err(|e| e.to_string()));
    let mut recording = match loaded {
        Ok(recording) => recording,
        Err(error) => {
            eprintln!("secret_checks: {}: {error}", path.display());
            return ExitCode::FAILURE;
        }
    };
    let Some(interaction) = recording.interactions.first_mut() else {
        eprintln!("secret_checks: {} has no interaction", path.display());
        return ExitCode::FAILURE;
    };
    interaction.note = None;
    let forms: Vec<String> = [ACCESS_KEY_ID, SECRET_ACCESS_KEY]
        .iter()
        .map(|v| regex::escape(v))
        .collect();
    let scan = Keyring {
        set: RegexSet::new(forms).expect("escaped literals compile"),
        bytes: ByteSet::of(ACCESS_KEY_ID.as_bytes())
            .union(ByteSet::of(SECRET_ACCESS_KEY.as_bytes())),
    };
    // The recorder checks a compact record, one line of the journal.
    let record = serde_json::from_slice::<serde_json::Value>(&cassette::to_bytes(&recording))
        .ok()
        .and_then(|value| serde_json::to_vec(&value["interactions"][0]).ok())
        .unwrap_or_default();
    let interaction = &recording.interactions[0];
    let mut clean = 0;
    for _ in 0..count {
        let parts = cassette::check_interaction(interaction, &scan);
        let bytes = cassette::check_bytes(&record, &scan);
        clean += usize::from(parts.is_ok() && bytes.is_ok());
    }
    if clean != count {
        eprintln!("secret_checks: the benchmark exchange was refused as holding a secret");
        return ExitCode::FAILURE;
    }
    println!(
        "{count} exchanges checked, {} bytes of record each",
        record.len()
    );
    ExitCode::SUCCESS
}
