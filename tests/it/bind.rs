//! Replaying a suite that names every resource with `uuid4()`: the suite in
//! `bind_suite/` (pytest and boto3 over SQS, DynamoDB, S3, SNS and Secrets
//! Manager) is recorded through the recorder into moto server, then run again
//! against a replay of that cassette with no flags, offline: each run sends
//! names no recording holds, and every test still passes. Requests that
//! really differ still miss, and say why.

use crate::support;
use crate::support::Process;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A child process killed when dropped.
/// `moto_server` on a free loopback port, and its URL.
fn moto() -> (Process, String) {
    let mut child = Command::new("moto_server")
        .args(["-H", "127.0.0.1", "-p", "0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("moto server (`moto_server`) must be installed: scripts/test installs it with pip");
    let stderr = child.stderr.take().expect("stderr is piped");
    let mut lines = BufReader::new(stderr).lines();
    let url = loop {
        let line = lines
            .next()
            .and_then(Result::ok)
            .expect("moto server announces its address");
        if let Some(at) = line.find("http://127.0.0.1:") {
            break line[at..].trim().to_string();
        }
    };
    // Keep draining its log so it never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    (Process(child), url)
}

/// The recorder in front of `upstream`, with the region only in the
/// standard configuration (AWS_REGION) and no --region or --service.
fn recorder(upstream: &str, cassette: &Path, home: &Path) -> (Process, String) {
    let mut child = Command::new(support::binary())
        .args(["record", "--listen", "127.0.0.1:0", "--upstream", upstream])
        .arg("--cassette")
        .arg(cassette)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("AWS_ACCESS_KEY_ID", "AKIDMOTORECORDER0000")
        .env("AWS_SECRET_ACCESS_KEY", "moto-recorder-secret-0000")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_CONFIG_FILE", home.join("config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", home.join("credentials"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the proton-vcr binary starts");
    let url = support::announced_url(&mut child, || "(the recorder)".into());
    (Process(child), url)
}

fn suite_dir() -> PathBuf {
    support::repo_root().join("tests/it/bind_suite")
}

/// Runs the pytest suite against `endpoint`: (passed, failed, output).
fn pytest(endpoint: &str) -> (usize, usize, String) {
    let output = Command::new("python3")
        .args([
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-o",
            "addopts=",
        ])
        .arg(suite_dir())
        .env("BIND_SUITE_ENDPOINT", endpoint)
        .output()
        .expect("python3 with pytest must be installed: scripts/test installs it with pip");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let count = |word: &str| {
        regex::Regex::new(&format!(r"(\d+) {word}"))
            .unwrap()
            .captures_iter(&text)
            .last()
            .map_or(0, |c| c[1].parse().unwrap())
    };
    (count("passed"), count("failed") + count("error"), text)
}

fn negatives(endpoint: &str, mode: &str) -> serde_json::Value {
    let output = Command::new("python3")
        .arg(suite_dir().join("negatives.py"))
        .arg(mode)
        .env("BIND_SUITE_ENDPOINT", endpoint)
        .output()
        .expect("python3 with boto3 runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "negatives.py printed no JSON ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn a_suite_naming_resources_with_uuid4_replays_offline_with_no_flags() {
    let dir = tempfile::tempdir().unwrap();
    let cassette = dir.path().join("suite.json");
    let (moto, moto_url) = moto();
    let (recording, recorder_url) = recorder(&moto_url, &cassette, dir.path());

    // An emulator's own route, unsigned: forwarded with the region from
    // AWS_REGION and no service to sign for.
    let (status, body) = support::http(&recorder_url, "POST", "/moto-api/reset", &[], b"").await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));

    let (direct, direct_failed, log) = pytest(&recorder_url);
    assert_eq!(direct_failed, 0, "the suite passes against moto: {log}");
    assert!(direct >= 14, "{log}");
    let recorded = negatives(&recorder_url, "record");
    assert!(
        recorded.as_object().unwrap().values().all(|v| v == "ok"),
        "{recorded}"
    );
    drop(recording);
    drop(moto);

    let (mut replay, replay_url) = support::spawn_server(&[
        "replay",
        "--listen",
        "127.0.0.1:0",
        "--cassette",
        cassette.to_str().unwrap(),
    ]);
    let (replayed, failed, log) = pytest(&replay_url);
    assert_eq!((replayed, failed), (direct, 0), "{log}");

    // What really differs still misses, and says why.
    let replayed = negatives(&replay_url, "replay");
    assert_eq!(replayed["create_table"], "ok", "{replayed}");
    assert_eq!(replayed["put_first"], "ok", "{replayed}");
    let reused = replayed["put_second"].as_str().unwrap();
    assert!(
        reused.contains("ReplayMiss") || reused.contains("proton-vcr replay"),
        "{reused}"
    );
    assert!(
        reused.contains("a binding of the values the client chose was considered and refused")
            && reused.contains("is already bound to recorded")
            && !reused.contains("--token-path"),
        "{reused}"
    );
    let fixed = replayed["fixed_queue"].as_str().unwrap();
    assert!(fixed.contains("differs at $.QueueName"), "{fixed}");
    assert!(!fixed.contains("binding"), "{fixed}");
    let _ = replay.kill();
    let _ = replay.wait();
}
