//! Replay with real clients: the Rust SDK and the AWS CLI generate their own
//! client tokens, retries replay through token binding, and a miss is a
//! readable error naming the closest candidate and the differing paths.

use crate::support::{self, aws_cli, cli_json, proton_client};
use proton_vcr::{MatchOptions, Repeats, ReplayConfig, ReplayServer, cassette};
use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;

const TARGET: &str = "AwsProton20200720.CreateEnvironmentTemplateVersion";

fn version(minor: &str, status: &str) -> Value {
    json!({"environmentTemplateVersion": {
        "arn": format!("arn:aws:proton:us-east-1:123456789012:environment-template/serverless-env:1.{minor}"),
        "createdAt": 1795046400.123,
        "lastModifiedAt": 1795046400.123,
        "majorVersion": "1",
        "minorVersion": minor,
        "status": status,
        "templateName": "serverless-env"
    }})
}

fn interaction(elapsed_ms: u64, target: &str, body: Value, status: u16, response: Value) -> Value {
    json!({
        "elapsed_ms": elapsed_ms,
        "request": {
            "method": "POST",
            "uri": "/",
            "headers": {"content-type": "application/x-amz-json-1.0", "x-amz-target": target},
            "body": {"json": body}
        },
        "response": {
            "status": status,
            "headers": {"content-type": "application/x-amz-json-1.0", "x-amzn-requestid": "0f6b1c4e-3c1a-4bde-9f5e-6d0f1d2a7b10"},
            "body": {"json": response}
        }
    })
}

fn create_body(token: &str) -> Value {
    json!({"clientToken": token, "majorVersion": "1", "source": {"s3": {"bucket": "proton-templates", "key": "env.tar.gz"}}, "templateName": "serverless-env"})
}

/// A client-token retry as AWS documents it: the first call and its retry
/// (same token) answer version 1.0; a call with another token created 1.1.
fn client_token_retry_cassette() -> Value {
    json!({
        "format": "proton-vcr.cassette/1",
        "name": "replay-test/client-token-retry",
        "provenance": {"kind": "documented", "sources": ["https://docs.aws.amazon.com/proton/latest/APIReference/Welcome.html"]},
        "interactions": [
            interaction(0, TARGET, create_body("6e0c2f57-recorded-token-1"), 200, version("0", "REGISTRATION_IN_PROGRESS")),
            interaction(400, TARGET, create_body("6e0c2f57-recorded-token-1"), 200, version("0", "REGISTRATION_IN_PROGRESS")),
            interaction(900, TARGET, create_body("a81d9c30-recorded-token-2"), 200, version("1", "REGISTRATION_IN_PROGRESS")),
            interaction(1500, "AwsProton20200720.GetEnvironmentTemplateVersion",
                json!({"majorVersion": "1", "minorVersion": "0", "templateName": "serverless-env"}), 200, version("0", "REGISTRATION_IN_PROGRESS")),
            interaction(31500, "AwsProton20200720.GetEnvironmentTemplateVersion",
                json!({"majorVersion": "1", "minorVersion": "0", "templateName": "serverless-env"}), 200, version("0", "DRAFT")),
        ]
    })
}

async fn start(dir: &Path, cassette: &Value, repeats: Repeats) -> ReplayServer {
    let path = support::write_cassette(dir, "retry.json", cassette);
    let cassettes = cassette::load(&path).expect("test cassette loads");
    let options = MatchOptions {
        tokens: proton_vcr::proton_token_paths(),
        repeats,
        ..Default::default()
    };
    ReplayServer::start(ReplayConfig::new(cassettes, options))
        .await
        .expect("replay server starts")
}

fn s3_source() -> aws_sdk_proton::types::TemplateVersionSourceInput {
    aws_sdk_proton::types::TemplateVersionSourceInput::S3(
        aws_sdk_proton::types::S3ObjectSource::builder()
            .bucket("proton-templates")
            .key("env.tar.gz")
            .build()
            .unwrap(),
    )
}

#[tokio::test]
async fn rust_sdk_with_its_own_tokens_gets_first_call_then_new_token_call() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), &client_token_retry_cassette(), Repeats::Last).await;
    let client = proton_client(&server.url());
    let create = || {
        client
            .create_environment_template_version()
            .template_name("serverless-env")
            .major_version("1")
            .source(s3_source())
    };
    // No client token given: the SDK generates a fresh UUID for each call.
    let first = create().send().await.expect("first create replays");
    let v = first.environment_template_version().unwrap();
    assert_eq!((v.major_version(), v.minor_version()), ("1", "0"));
    let second = create()
        .send()
        .await
        .expect("a new token takes the recorded call with a new token");
    assert_eq!(
        second
            .environment_template_version()
            .unwrap()
            .minor_version(),
        "1"
    );
    // Both recorded tokens are bound now: a third fresh token has nothing left.
    let third = create()
        .send()
        .await
        .expect_err("no recorded call is left for a third token");
    let message = format!("{}", aws_sdk_proton::error::DisplayErrorContext(&third));
    assert!(message.contains("ReplayMissException"), "{message}");
    assert!(message.contains("idempotency token"), "{message}");
}

#[tokio::test]
async fn rust_sdk_retry_with_the_same_token_gets_the_recorded_retry() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), &client_token_retry_cassette(), Repeats::Strict).await;
    let client = proton_client(&server.url());
    let create = |token: &str| {
        client
            .create_environment_template_version()
            .template_name("serverless-env")
            .major_version("1")
            .source(s3_source())
            .client_token(token)
    };
    for _ in 0..2 {
        let out = create("live-token-A")
            .send()
            .await
            .expect("call and retry replay");
        assert_eq!(
            out.environment_template_version().unwrap().minor_version(),
            "0"
        );
    }
    // With --repeats strict a third use of token A is a miss naming why.
    let err = create("live-token-A")
        .send()
        .await
        .expect_err("strict: used up");
    let message = format!("{}", aws_sdk_proton::error::DisplayErrorContext(&err));
    assert!(message.contains("already used"), "{message}");
    let out = create("live-token-B")
        .send()
        .await
        .expect("new token, new recorded call");
    assert_eq!(
        out.environment_template_version().unwrap().minor_version(),
        "1"
    );
}

#[tokio::test]
async fn aws_cli_generates_tokens_retries_and_polls() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), &client_token_retry_cassette(), Repeats::Last).await;
    let url = server.url();
    let create = |extra: &[&str]| {
        let mut args = vec![
            "proton",
            "create-environment-template-version",
            "--template-name",
            "serverless-env",
            "--major-version",
            "1",
            "--source",
            "s3={bucket=proton-templates,key=env.tar.gz}",
        ];
        args.extend_from_slice(extra);
        let url = url.clone();
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        tokio::task::spawn_blocking(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            aws_cli(&url, &args)
        })
    };
    // The CLI fills clientToken with its own UUID.
    let out = cli_json(&create(&[]).await.unwrap());
    assert_eq!(out["environmentTemplateVersion"]["minorVersion"], "0");
    // An explicit token: first call takes the other recorded token, its retry the same answer.
    let out = cli_json(&create(&["--client-token", "cli-token"]).await.unwrap());
    assert_eq!(out["environmentTemplateVersion"]["minorVersion"], "1");
    let out = cli_json(&create(&["--client-token", "cli-token"]).await.unwrap());
    assert_eq!(out["environmentTemplateVersion"]["minorVersion"], "1");
    // A waiter-style poll: recorded answers in order, then the last one again.
    let get = |url: String| {
        tokio::task::spawn_blocking(move || {
            aws_cli(
                &url,
                &[
                    "proton",
                    "get-environment-template-version",
                    "--template-name",
                    "serverless-env",
                    "--major-version",
                    "1",
                    "--minor-version",
                    "0",
                ],
            )
        })
    };
    let statuses: Vec<Value> = futures_statuses(get, &url, 3).await;
    assert_eq!(statuses, ["REGISTRATION_IN_PROGRESS", "DRAFT", "DRAFT"]);
}

async fn futures_statuses<F>(get: F, url: &str, n: usize) -> Vec<Value>
where
    F: Fn(String) -> tokio::task::JoinHandle<std::process::Output>,
{
    let mut out = Vec::new();
    for _ in 0..n {
        let json = cli_json(&get(url.to_string()).await.unwrap());
        out.push(json["environmentTemplateVersion"]["status"].clone());
    }
    out
}

#[tokio::test]
async fn a_miss_names_the_closest_candidate_and_paths_in_the_cli_and_sdk() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), &client_token_retry_cassette(), Repeats::Last).await;
    let url = server.url();
    let output = tokio::task::spawn_blocking(move || {
        aws_cli(
            &url,
            &[
                "proton",
                "create-environment-template-version",
                "--template-name",
                "serverless-env",
                "--major-version",
                "1",
                "--source",
                "s3={bucket=proton-templates,key=other.tar.gz}",
            ],
        )
    })
    .await
    .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("An error occurred (ReplayMissException)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("interaction 0 of cassette 'replay-test/client-token-retry'"),
        "{stderr}"
    );
    assert!(stderr.contains("$.source.s3.key"), "{stderr}");

    let client = proton_client(&server.url());
    let err = client
        .create_environment_template_version()
        .template_name("other-template")
        .major_version("1")
        .source(s3_source())
        .send()
        .await
        .expect_err("a different template is a miss");
    let meta = aws_sdk_proton::error::ProvideErrorMetadata::meta(&err);
    assert_eq!(meta.code(), Some("ReplayMissException"));
    assert!(
        meta.message()
            .unwrap_or_default()
            .contains("$.templateName"),
        "{meta:?}"
    );
}

#[tokio::test]
async fn an_operation_the_cassette_lacks_lists_what_it_holds() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), &client_token_retry_cassette(), Repeats::Last).await;
    let err = proton_client(&server.url())
        .list_environments()
        .send()
        .await
        .expect_err("not recorded");
    let message = aws_sdk_proton::error::ProvideErrorMetadata::message(&err)
        .unwrap_or_default()
        .to_string();
    assert!(
        message.contains("no recorded interaction for AwsProton20200720.ListEnvironments"),
        "{message}"
    );
    assert!(
        message.contains("AwsProton20200720.CreateEnvironmentTemplateVersion"),
        "{message}"
    );
}

#[tokio::test]
async fn rewind_starts_the_replay_over() {
    let dir = tempfile::tempdir().unwrap();
    let path = support::write_cassette(dir.path(), "retry.json", &client_token_retry_cassette());
    let mut config = ReplayConfig::new(
        cassette::load(&path).unwrap(),
        MatchOptions {
            tokens: proton_vcr::proton_token_paths(),
            repeats: Repeats::Strict,
            ..Default::default()
        },
    );
    config.admin_listen = Some("127.0.0.1:0".parse().unwrap());
    let server = ReplayServer::start(config).await.unwrap();
    let client = proton_client(&server.url());
    let get = || {
        client
            .get_environment_template_version()
            .template_name("serverless-env")
            .major_version("1")
            .minor_version("0")
            .send()
    };
    let status = |out: aws_sdk_proton::operation::get_environment_template_version::GetEnvironmentTemplateVersionOutput| {
        out.environment_template_version().unwrap().status().as_str().to_string()
    };
    assert_eq!(status(get().await.unwrap()), "REGISTRATION_IN_PROGRESS");
    assert_eq!(status(get().await.unwrap()), "DRAFT");
    assert!(get().await.is_err(), "strict: both polls used");
    let admin = server.admin_url().expect("an admin listener");
    let response = support::http(&admin, "POST", "/__vcr/rewind", &[], b"").await;
    assert_eq!(response.0, 200);
    assert_eq!(status(get().await.unwrap()), "REGISTRATION_IN_PROGRESS");
}

/// A restJson cassette: method, path, query (in any order) and JSON body.
#[tokio::test]
async fn rest_json_matches_method_path_query_and_body() {
    let dir = tempfile::tempdir().unwrap();
    let cassette = json!({
        "format": "proton-vcr.cassette/1",
        "name": "rest/refactor-spaces",
        "provenance": {"kind": "documented", "sources": []},
        "interactions": [{
            "elapsed_ms": 0,
            "request": {"method": "POST", "uri": "/environments/env-1/applications/app-1/services?dryRun=false&b=2",
                "headers": {"content-type": "application/json"},
                "body": {"json": {"Name": "orders", "EndpointType": "LAMBDA", "ClientToken": "rec-token"}}},
            "response": {"status": 200, "headers": {"content-type": "application/json"}, "body": {"json": {"ServiceId": "svc-123"}}}
        }]
    });
    let path = support::write_cassette(dir.path(), "rest.json", &cassette);
    let options = MatchOptions {
        tokens: vec![proton_vcr::TokenPath::parse("ClientToken").unwrap()],
        repeats: Repeats::Strict,
        ..Default::default()
    };
    let server = ReplayServer::start(ReplayConfig::new(cassette::load(&path).unwrap(), options))
        .await
        .unwrap();
    let headers = [
        ("content-type", "application/json"),
        ("authorization", "AWS4-HMAC-SHA256 Credential=x/y"),
    ];
    let miss = support::http(
        &server.url(),
        "POST",
        "/environments/env-1/applications/app-2/services?b=2&dryRun=false",
        &headers,
        br#"{"EndpointType":"LAMBDA","Name":"orders","ClientToken":"live"}"#,
    )
    .await;
    assert_eq!(miss.0, 400, "another path is a miss");
    let hit = support::http(
        &server.url(),
        "POST",
        "/environments/env-1/applications/app-1/services?b=2&dryRun=false",
        &headers,
        br#"{ "EndpointType": "LAMBDA", "Name": "orders", "ClientToken": "live" }"#,
    )
    .await;
    assert_eq!(hit.0, 200, "{}", String::from_utf8_lossy(&hit.1));
    assert_eq!(
        serde_json::from_slice::<Value>(&hit.1).unwrap(),
        json!({"ServiceId": "svc-123"})
    );
}

#[test]
fn the_binary_prints_its_address_first_and_serves() {
    let dir = tempfile::tempdir().unwrap();
    let path = support::write_cassette(dir.path(), "retry.json", &client_token_retry_cassette());
    let path = path.to_string_lossy();
    let (mut child, url) =
        support::spawn_server(&["replay", "--listen", "127.0.0.1:0", "--cassette", &path]);
    let out = cli_json(&aws_cli(
        &url,
        &[
            "proton",
            "get-environment-template-version",
            "--template-name",
            "serverless-env",
            "--major-version",
            "1",
            "--minor-version",
            "0",
        ],
    ));
    child.kill().unwrap();
    let _ = child.wait();
    assert_eq!(
        out["environmentTemplateVersion"]["status"],
        "REGISTRATION_IN_PROGRESS"
    );
}

#[test]
fn bad_cassettes_are_named_with_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let good = support::write_cassette(dir.path(), "a-good.json", &client_token_retry_cassette());
    let _ = good;
    std::fs::write(
        dir.path().join("b-truncated.json"),
        "{\n  \"format\": \"proton-vcr.cassette/1\",\n  \"name\": \"x\",\n",
    )
    .unwrap();
    let output = Command::new(support::binary())
        .args(["replay", "--listen", "127.0.0.1:0", "--cassette"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("b-truncated.json:4:"), "{stderr}");
    assert!(stderr.contains("truncated"), "{stderr}");

    std::fs::remove_file(dir.path().join("b-truncated.json")).unwrap();
    let mut future = client_token_retry_cassette();
    future["format"] = json!("proton-vcr.cassette/9");
    support::write_cassette(dir.path(), "c-future.json", &future);
    let output = Command::new(support::binary())
        .args(["replay", "--listen", "127.0.0.1:0", "--cassette"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("c-future.json"), "{stderr}");
    assert!(
        stderr.contains("unknown cassette format \"proton-vcr.cassette/9\""),
        "{stderr}"
    );
}

#[test]
fn saving_an_unchanged_cassette_gives_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let path = support::write_cassette(dir.path(), "retry.json", &client_token_retry_cassette());
    let loaded = cassette::load_file(&path).unwrap();
    let canonical = cassette::to_bytes(&loaded.cassette);
    let again = cassette::parse(&path, &canonical).unwrap();
    assert_eq!(cassette::to_bytes(&again), canonical);
    let text = String::from_utf8(canonical).unwrap();
    assert!(text.ends_with("}\n"));
    assert!(
        text.contains("\n  \"format\": \"proton-vcr.cassette/2\",\n"),
        "two-space indent, sorted keys"
    );
    // Every shipped cassette in format 2 is already canonical (format 1
    // ones are checked by the upgrade tests).
    let shipped = support::repo_root().join("cassettes");
    if shipped.exists() {
        for c in cassette::load(&shipped).unwrap() {
            let bytes = std::fs::read(&c.path).unwrap();
            let (_, version) = cassette::parse_versioned(&c.path, &bytes).unwrap();
            if version == cassette::Version::V1 {
                continue;
            }
            assert_eq!(
                cassette::to_bytes(&c.cassette),
                bytes,
                "{} is not canonical",
                c.path.display()
            );
        }
    }
}
