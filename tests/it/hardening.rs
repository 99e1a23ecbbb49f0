//! Bad input to the replay server: each gets an AWS-shaped answer and the
//! server keeps serving everyone else. Connection-level hardening of the serve
//! loop all servers share is tested once, in `hardening_mock`.

use crate::support;
use proton_vcr::{Limits, MatchOptions, ReplayConfig, ReplayServer, cassette};
use serde_json::{Value, json};

fn one_call_cassette() -> Value {
    json!({
        "format": "proton-vcr.cassette/1",
        "name": "hardening/one-call",
        "provenance": {"kind": "documented", "sources": []},
        "interactions": [{
            "elapsed_ms": 0,
            "request": {"method": "POST", "uri": "/",
                "headers": {"content-type": "application/x-amz-json-1.0", "x-amz-target": "AwsProton20200720.ListEnvironments"},
                "body": {"json": {}}},
            "response": {"status": 200, "headers": {"content-type": "application/x-amz-json-1.0"}, "body": {"json": {"environments": []}}}
        }]
    })
}

async fn replay(limits: Limits) -> (ReplayServer, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let path = support::write_cassette(dir.path(), "one.json", &one_call_cassette());
    let options = MatchOptions {
        tokens: proton_vcr::proton_token_paths(),
        ..Default::default()
    };
    let server = ReplayServer::start(ReplayConfig {
        limits,
        ..ReplayConfig::new(cassette::load(&path).unwrap(), options)
    })
    .await
    .unwrap();
    (server, dir)
}

const JSON_HEADERS: [(&str, &str); 2] = [
    ("content-type", "application/x-amz-json-1.0"),
    ("x-amz-target", "AwsProton20200720.ListEnvironments"),
];

/// The server still answers a good request.
async fn still_serves(url: &str) {
    let (status, body) = support::http(url, "POST", "/", &JSON_HEADERS, b"{}").await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
}

fn aws_error(body: &[u8]) -> (String, String) {
    let value: Value = serde_json::from_slice(body)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(body)));
    (
        value["__type"].as_str().expect("__type").to_string(),
        value["message"].as_str().expect("message").to_string(),
    )
}

#[tokio::test]
async fn a_body_over_the_limit_gets_an_aws_shaped_413() {
    let (server, _dir) = replay(Limits {
        max_body_bytes: 1024,
        ..Limits::default()
    })
    .await;
    let big = vec![b' '; 4096];
    let (status, body) = support::http(&server.url(), "POST", "/", &JSON_HEADERS, &big).await;
    assert_eq!(status, 413);
    let (code, message) = aws_error(&body);
    assert_eq!(code, "RequestEntityTooLargeException");
    assert!(message.contains("1024 bytes"), "{message}");
    still_serves(&server.url()).await;
}

#[tokio::test]
async fn non_json_invalid_utf8_and_deeply_nested_bodies_are_misses_not_crashes() {
    let (server, _dir) = replay(Limits::default()).await;
    let deep = "[".repeat(100_000);
    let bodies: [&[u8]; 3] = [
        b"Action=ListEnvironments",
        &[0xff, 0xfe, 0x00, 0x80],
        deep.as_bytes(),
    ];
    for body in bodies {
        let (status, response) =
            support::http(&server.url(), "POST", "/", &JSON_HEADERS, body).await;
        assert_eq!(status, 400);
        let (code, message) = aws_error(&response);
        assert_eq!(code, "ReplayMissException");
        assert!(
            message.contains("AwsProton20200720.ListEnvironments"),
            "{message}"
        );
    }
    still_serves(&server.url()).await;
}

#[tokio::test]
async fn a_missing_or_repeated_target_is_explained() {
    let (server, _dir) = replay(Limits::default()).await;
    let (status, body) = support::http(
        &server.url(),
        "POST",
        "/",
        &[("content-type", "application/x-amz-json-1.0")],
        b"{}",
    )
    .await;
    assert_eq!(status, 400);
    let (_, message) = aws_error(&body);
    assert!(
        message.contains("no recorded interaction for POST /"),
        "{message}"
    );

    let twice = [
        ("content-type", "application/x-amz-json-1.0"),
        ("x-amz-target", "AwsProton20200720.ListEnvironments"),
        ("x-amz-target", "AwsProton20200720.DeleteEnvironment"),
    ];
    let (status, body) = support::http(&server.url(), "POST", "/", &twice, b"{}").await;
    assert_eq!(status, 400);
    assert_eq!(aws_error(&body).0, "SerializationException");
    still_serves(&server.url()).await;
}

#[tokio::test]
async fn a_query_protocol_miss_is_answered_in_xml() {
    let (server, _dir) = replay(Limits::default()).await;
    let (status, body) = support::http(
        &server.url(),
        "POST",
        "/",
        &[("content-type", "application/x-www-form-urlencoded")],
        b"Action=GetCallerIdentity&Version=2011-06-15",
    )
    .await;
    assert_eq!(status, 400);
    let text = String::from_utf8(body).unwrap();
    assert!(
        text.starts_with(
            "<ErrorResponse><Error><Type>Sender</Type><Code>ReplayMissException</Code>"
        ),
        "{text}"
    );
    assert!(text.contains("Action=GetCallerIdentity"), "{text}");
}

#[test]
fn cassette_check_passes_shipped_cassettes_and_flags_a_planted_key_masked() {
    let clean = std::process::Command::new(support::binary())
        .args(["cassette", "check"])
        .arg(support::repo_root().join("cassettes"))
        .output()
        .unwrap();
    assert_eq!(
        clean.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&clean.stderr)
    );

    let dir = tempfile::tempdir().unwrap();
    let mut leaky = one_call_cassette();
    let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    leaky["interactions"][0]["request"]["headers"]["authorization"] = json!(
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261124/us-east-1/proton/aws4_request"
    );
    leaky["interactions"][0]["response"]["body"]["json"]["secret"] = json!(secret);
    let path = support::write_cassette(dir.path(), "leaky.json", &leaky);
    let found = std::process::Command::new(support::binary())
        .args(["cassette", "check"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(found.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&found.stdout);
    for kind in [
        "access key id",
        "secret access key",
        "authorization header",
        "SigV4 authorization value",
    ] {
        assert!(stdout.contains(kind), "{kind} not reported: {stdout}");
    }
    assert!(stdout.contains(&path.display().to_string()));
    assert!(
        !stdout.contains(secret) && !stdout.contains("AKIAIOSFODNN7EXAMPLE"),
        "findings must be masked: {stdout}"
    );
}
