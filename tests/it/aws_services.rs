//! Services other than Proton, recorded through the proxy into moto's server
//! (standing in for AWS) with boto3, then replayed offline with fresh
//! credentials and fresh client tokens: token binding from the service
//! facts, and the secrets services hand out replaced by placeholders.

use crate::support;
use crate::support::Process;
use proton_vcr::cassette::{self, secrets};
use proton_vcr::{
    CredentialSource, MatchOptions, RecordConfig, RecordServer, ReplayConfig, ReplayServer,
    StaticCredentials,
};
use serde_json::Value;
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const RECORD_AKID: &str = "AKIAIOSFODNN7CANARY1";
const RECORD_SECRET: &str = "moto/record+Secret=0123456789abcdefghijk";
const RECORD_TOKEN: &str = "IQoJb3JpZ2luX2VjEmoto//canary+session+token==";

fn recording_credentials() -> CredentialSource {
    CredentialSource::Static(StaticCredentials {
        access_key_id: RECORD_AKID.into(),
        secret_access_key: RECORD_SECRET.into(),
        session_token: Some(RECORD_TOKEN.into()),
    })
}

/// moto's server on a free loopback port, ready to answer.
fn moto() -> (Process, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let child = Command::new("moto_server")
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("moto_server must be installed: scripts/test installs moto[server] with pip");
    let process = Process(child);
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "moto_server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    (process, format!("http://127.0.0.1:{port}"))
}

/// Runs a scenario of `boto_scenarios.py` and returns what it printed.
async fn boto(endpoint: &str, scenario: &str, akid: &str, secret: &str) -> Value {
    let script = support::repo_root().join("tests/it/boto_scenarios.py");
    let args = [
        script.display().to_string(),
        endpoint.to_string(),
        scenario.to_string(),
        akid.to_string(),
        secret.to_string(),
    ];
    let output = tokio::task::spawn_blocking(move || {
        Command::new("python3")
            .args(&args)
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .env_remove("AWS_PROFILE")
            .output()
            .expect("python3 with boto3 must be installed")
    })
    .await
    .unwrap();
    assert!(
        output.status.success(),
        "{scenario} against {endpoint} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

fn record_config(dir: &Path, cassette: &str, upstream: &str) -> RecordConfig {
    let mut config = RecordConfig::new(dir.join(cassette), recording_credentials());
    config.upstream = Some(upstream.to_string());
    config.listen = "127.0.0.1:0".parse().unwrap();
    config
}

async fn replay(path: &Path) -> ReplayServer {
    ReplayServer::start(ReplayConfig::new(
        cassette::load(path).unwrap(),
        MatchOptions::default(),
    ))
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdk_generated_client_tokens_replay_without_token_paths() {
    let (_moto, upstream) = moto();
    let dir = tempfile::tempdir().unwrap();
    let server = RecordServer::start(record_config(dir.path(), "tokens.json", &upstream))
        .await
        .unwrap();
    let recorded = boto(&server.url(), "tokens", "AKIDRECORDRUN0000001", "dummy").await;
    server.shutdown().await;
    let path = dir.path().join("tokens.json");
    let cassette = cassette::load_file(&path).unwrap();
    let token_of = |target: &str| {
        cassette
            .cassette
            .interactions
            .iter()
            .find(|i| i.request.headers.get("x-amz-target") == Some(target))
            .and_then(|i| i.request.body.json())
            .and_then(|b| b["ClientRequestToken"].as_str().map(str::to_string))
    };
    // boto3 generated the tokens (a fresh UUID per call and per run).
    for target in [
        "DynamoDB_20120810.TransactWriteItems",
        "secretsmanager.CreateSecret",
        "secretsmanager.PutSecretValue",
    ] {
        assert!(token_of(target).is_some_and(|t| t.len() == 36), "{target}");
    }

    // Fresh credentials; boto3 generates fresh tokens; no --token-path.
    let replay = replay(&path).await;
    let replayed = boto(&replay.url(), "tokens", "AKIDREPLAYRUN0000002", "other").await;
    replay.shutdown().await;
    assert_eq!(replayed, recorded);
}

/// The values in `output` that are secrets the services handed out.
fn handed_out_secrets(output: &Value) -> Vec<String> {
    let mut found = Vec::new();
    for (call, member) in [
        ("assume_role", "AccessKeyId"),
        ("assume_role", "SecretAccessKey"),
        ("assume_role", "SessionToken"),
        ("session_token", "SecretAccessKey"),
        ("session_token", "SessionToken"),
        ("access_key", "AccessKeyId"),
        ("access_key", "SecretAccessKey"),
        ("secret", "SecretString"),
        ("parameter", "Value"),
        ("decrypt", "Plaintext"),
    ] {
        let value = output[call][member]
            .as_str()
            .unwrap_or_else(|| panic!("{call}.{member} in {output}"));
        found.push(value.to_string());
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_services_hand_out_are_recorded_as_placeholders_that_replay() {
    let (_moto, upstream) = moto();
    let dir = tempfile::tempdir().unwrap();
    let server = RecordServer::start(record_config(dir.path(), "secrets.json", &upstream))
        .await
        .unwrap();
    let live = boto(&server.url(), "secrets", "AKIDRECORDRUN0000001", "dummy").await;
    server.shutdown().await;
    let path = dir.path().join("secrets.json");
    let bytes = std::fs::read_to_string(&path).unwrap();
    let mut secrets_live = handed_out_secrets(&live);
    // What the scenario itself put in: the secret string, the parameter, the
    // plaintext (as sent: base64 in the KMS request).
    secrets_live.push("correct-horse-battery-staple-4711".into());
    secrets_live.push("p@ss word/with+symbols==".into());
    for secret in &secrets_live {
        assert!(
            !bytes.contains(secret.as_str()),
            "the cassette holds a secret ({}...)",
            &secret[..6.min(secret.len())]
        );
    }
    assert!(
        secrets::scan(&bytes).is_empty(),
        "{:?}",
        secrets::scan(&bytes)
    );

    let replay = replay(&path).await;
    let replayed = boto(&replay.url(), "secrets", "AKIDREPLAYRUN0000002", "other").await;
    replay.shutdown().await;
    for call in ["assume_role", "session_token", "access_key"] {
        let akid = replayed[call]["AccessKeyId"].as_str().unwrap();
        let secret = replayed[call]["SecretAccessKey"].as_str().unwrap();
        assert_eq!(akid.len(), 20, "{akid}");
        assert!(
            akid.starts_with("ASIA") || akid.starts_with("AKIA"),
            "{akid}"
        );
        assert!(!cassette::looks_like_access_key_id(akid), "{akid}");
        assert_eq!(secret.len(), 40, "{secret}");
        assert!(cassette::is_placeholder(secret), "{secret}");
    }
    assert!(
        replayed["assume_role"]["SessionToken"]
            .as_str()
            .is_some_and(cassette::is_placeholder)
    );
    // Expiration and the rest of the answer are as recorded.
    assert_eq!(
        replayed["assume_role"]["Expiration"],
        live["assume_role"]["Expiration"]
    );
    assert!(
        replayed["secret"]["SecretString"]
            .as_str()
            .is_some_and(|s| s.starts_with("REDACTED-SecretString-"))
    );
    assert_eq!(replayed["secret"]["Name"], live["secret"]["Name"]);
    assert!(
        replayed["parameter"]["Value"]
            .as_str()
            .is_some_and(cassette::is_placeholder)
    );
    assert!(
        replayed["decrypt"]["Plaintext"]
            .as_str()
            .is_some_and(cassette::is_placeholder),
        "{}",
        replayed["decrypt"]
    );
}

/// The echo upstream of `echo_upstream.py`.
fn echo_upstream() -> (Process, String) {
    let script = support::repo_root().join("tests/it/echo_upstream.py");
    let mut child = Command::new("python3")
        .arg(script)
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 must be installed");
    let url = support::announced_url(&mut child, || "(the echo upstream)".into());
    (Process(child), url)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_token_echoed_encoded_is_refused() {
    let (_echo, upstream) = echo_upstream();
    let dir = tempfile::tempdir().unwrap();
    let mut config = record_config(dir.path(), "echo.json", &upstream);
    config.region = Some("us-east-1".into());
    config.service = Some("execute-api".into());
    let server = RecordServer::start(config).await.unwrap();
    for encoding in ["/url", "/base64", "/gzip", "/base64-gzip"] {
        let (status, body) = support::http(&server.url(), "POST", encoding, &[], b"{}").await;
        let body = String::from_utf8_lossy(&body);
        assert_eq!(status, 500, "{encoding}: {body}");
        assert!(
            body.contains("RecordingRefusedException") && body.contains("session token"),
            "{encoding}: {body}"
        );
    }
    let (status, _) = support::http(&server.url(), "POST", "/plain", &[], b"{}").await;
    assert_eq!(status, 200);
    server.shutdown().await;
    let cassette = cassette::load_file(&dir.path().join("echo.json")).unwrap();
    let uris: Vec<&str> = cassette
        .cassette
        .interactions
        .iter()
        .map(|i| i.request.uri.as_str())
        .collect();
    assert_eq!(uris, ["/plain"]);
}

#[test]
fn cassette_check_flags_verbatim_secrets_and_cassette_redact_clears_them() {
    let sts_xml = "<AssumeRoleResponse><AssumeRoleResult><Credentials><AccessKeyId>ASIAQWERTYUIOPASDFGH</AccessKeyId><SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY</SecretAccessKey><SessionToken>FwoGZXIvYXdzEJr//////////wEaDEexampletoken</SessionToken><Expiration>2026-12-01T16:00:00Z</Expiration></Credentials></AssumeRoleResult></AssumeRoleResponse>";
    let leaky = serde_json::json!({
        "format": "proton-vcr.cassette/1",
        "name": "leaky",
        "provenance": {"kind": "documented", "sources": []},
        "interactions": [
            {"elapsed_ms": 0,
             "request": {"method": "POST", "uri": "/",
                "headers": {"content-type": "application/x-amz-json-1.1", "x-amz-target": "secretsmanager.GetSecretValue"},
                "body": {"json": {"SecretId": "api"}}},
             "response": {"status": 200, "headers": {"content-type": "application/x-amz-json-1.1"},
                "body": {"json": {"Name": "api", "SecretString": "correct-horse-battery-staple"}}}},
            {"elapsed_ms": 1,
             "request": {"method": "POST", "uri": "/",
                "headers": {"content-type": "application/x-www-form-urlencoded; charset=utf-8"},
                "body": {"text": "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fr&RoleSessionName=s"}},
             "response": {"status": 200, "headers": {"content-type": "text/xml"}, "body": {"text": sts_xml}}},
            {"elapsed_ms": 2,
             "request": {"method": "GET", "uri": "/bucket/key",
                "headers": {"x-amz-server-side-encryption-customer-key": "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE=",
                            "x-api-key": "k-123456"},
                },
             "response": {"status": 200, "headers": {}}}
        ]
    });
    let dir = tempfile::tempdir().unwrap();
    let path = support::write_cassette(dir.path(), "leaky.json", &leaky);
    let check = || {
        Command::new(support::binary())
            .args(["cassette", "check"])
            .arg(&path)
            .output()
            .unwrap()
    };
    let found = check();
    assert_eq!(found.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&found.stdout);
    for kind in [
        "secret member",
        "SSE-C key header",
        "API key header",
        "access key id",
        "secret access key",
    ] {
        assert!(stdout.contains(kind), "{kind} not reported: {stdout}");
    }
    assert!(!stdout.contains("correct-horse"), "{stdout}");
    let advice = String::from_utf8_lossy(&found.stderr);
    assert!(advice.contains("proton-vcr cassette redact"), "{advice}");

    // The advice holds: redact, and the check passes.
    let redact = Command::new(support::binary())
        .args(["cassette", "redact"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        redact.status.success(),
        "{}",
        String::from_utf8_lossy(&redact.stderr)
    );
    let after = check();
    assert_eq!(
        after.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&after.stdout)
    );
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains("correct-horse") && !text.contains("x-api-key"));
    assert!(text.contains("2026-12-01T16:00:00Z"), "the rest is kept");
}
