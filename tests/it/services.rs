//! Recording services other than Proton, and replaying them offline.
//!
//! The upstream is moto server behind `aws_upstream.py`, which accepts a
//! request only when botocore's signer (and, for signed chunks, an
//! independent hmac check of every chunk and trailer signature) agrees it was
//! signed with the test key. Clients sign with dummy keys; each scenario is
//! recorded, then replayed with other dummy keys and, where it applies,
//! other chunk sizes.

use crate::support;
use crate::support::Process;
use proton_vcr::cassette::{self, load_file};
use proton_vcr::{
    CredentialSource, MatchOptions, RecordConfig, RecordServer, ReplayConfig, ReplayServer,
    StaticCredentials,
};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use tempfile::TempDir;

const UPSTREAM_AKID: &str = "AKIAUPSTREAM00000042";
const UPSTREAM_SECRET: &str = "upstream/Secret+Key=0123456789abcdefghij";

/// A scratch folder and moto behind the signature check.
struct Upstream {
    dir: TempDir,
    /// Held for its drop, which stops the upstream.
    _process: Process,
    url: String,
    log: PathBuf,
}

impl Upstream {
    fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("upstream.log");
        let mut child = Command::new("python3")
            .arg(support::repo_root().join("tests/it/aws_upstream.py"))
            .arg("--log")
            .arg(&log)
            .env("UPSTREAM_ACCESS_KEY_ID", UPSTREAM_AKID)
            .env("UPSTREAM_SECRET_ACCESS_KEY", UPSTREAM_SECRET)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 with moto[server] must be installed: scripts/test installs it");
        let url = support::announced_url(&mut child, || "(the moto upstream)".into());
        Self {
            dir,
            _process: Process(child),
            url,
            log,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn record_config(&self, cassette: &str) -> RecordConfig {
        let mut config = RecordConfig::new(
            self.path(cassette),
            CredentialSource::Static(StaticCredentials {
                access_key_id: UPSTREAM_AKID.into(),
                secret_access_key: UPSTREAM_SECRET.into(),
                session_token: None,
            }),
        );
        config.upstream = Some(self.url.clone());
        config.listen = "127.0.0.1:0".parse().unwrap();
        config
    }

    /// A recorder writing `cassette`, proxying to this upstream.
    async fn recorder(&self, cassette: &str) -> RecordServer {
        RecordServer::start(self.record_config(cassette))
            .await
            .unwrap()
    }

    /// A recorder writing `cassette` that routes by scope (no fixed
    /// upstream), with every routed request overridden to this upstream.
    async fn scope_recorder(&self, cassette: &str) -> RecordServer {
        let mut config = self.record_config(cassette);
        config.upstream = None;
        config.route_override = Some(self.url.clone());
        RecordServer::start(config).await.unwrap()
    }

    /// One JSON object per request the upstream received.
    fn log(&self) -> Vec<serde_json::Value> {
        support::json_lines(&self.log)
    }
}

/// Runs a Python client script from tests/it with dummy credentials; its
/// stdout is JSON.
fn python(script: &str, args: &[&str], akid: &str) -> serde_json::Value {
    let output = Command::new("python3")
        .arg(support::repo_root().join("tests/it").join(script))
        .args(args)
        .env("AWS_ACCESS_KEY_ID", akid)
        .env("AWS_SECRET_ACCESS_KEY", "dummy-secret-of-the-client")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_PROFILE")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{script} {args:?} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

async fn replay(cassette: &Path) -> ReplayServer {
    ReplayServer::start(ReplayConfig::new(
        cassette::load(cassette).unwrap(),
        MatchOptions::default(),
    ))
    .await
    .unwrap()
}

/// Replays `cassette` to the Python client `script` (URL first, then
/// `args`) under other keys and asserts it sees exactly what was recorded.
async fn replays_the_same(
    upstream: &Upstream,
    cassette: &str,
    script: &str,
    args: &[&str],
    recorded: &serde_json::Value,
) {
    let replay = replay(&upstream.path(cassette)).await;
    let url = replay.url();
    let mut all = vec![url.as_str()];
    all.extend_from_slice(args);
    let replayed = python(script, &all, "AKIDCLIENTTWO0000000");
    assert_eq!(&replayed, recorded);
    replay.shutdown().await;
}

/// Signed chunks (with and without a signed trailer) and unsigned chunks
/// with a trailer reach S3 as the exact bytes, are recorded as the decoded
/// payload, and replay with other chunk sizes.
#[tokio::test(flavor = "multi_thread")]
async fn streaming_uploads_arrive_intact_and_replay_across_chunk_sizes() {
    let upstream = Upstream::start();
    let server = upstream.recorder("chunks.json").await;
    let recorded = python(
        "s3_client.py",
        &[&server.url(), "chunks", "--chunk", "8192"],
        "AKIDCLIENTONE0000000",
    );
    server.shutdown().await;
    for mode in ["signed", "signed-trailer", "unsigned-trailer"] {
        assert_eq!(recorded[mode]["same_bytes"], true, "{mode}: {recorded}");
        assert_eq!(recorded[mode]["length"], 20_000, "{mode}");
    }

    // The upstream checked the real key's chunk chain: 20000 bytes in
    // 8192-byte chunks is three chunks and the final empty one.
    let puts: Vec<_> = upstream
        .log()
        .into_iter()
        .filter(|e| e["method"] == "PUT" && e["path"] != "/chunked")
        .collect();
    assert_eq!(puts.len(), 3, "{puts:?}");
    for put in &puts {
        assert!(put.get("rejected").is_none(), "{put}");
    }
    assert_eq!(
        puts[0]["content_sha256"],
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
    );
    assert_eq!(puts[0]["chunks"], 4);
    assert_eq!(
        puts[1]["content_sha256"],
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
    );
    assert_eq!(puts[1]["trailer"], true);
    assert_eq!(
        puts[2]["content_sha256"],
        "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
    );

    // Recorded as the payload, the checksum trailer as a header, no framing.
    let cassette = load_file(&upstream.path("chunks.json")).unwrap().cassette;
    let uploads: Vec<_> = cassette
        .interactions
        .iter()
        .filter(|i| i.request.method == "PUT" && i.request.uri != "/chunked")
        .collect();
    assert_eq!(uploads.len(), 3);
    for upload in &uploads {
        let body = upload.request.body.to_bytes();
        assert_eq!(body.len(), 20_000, "{}", upload.request.uri);
        assert!(!body.windows(16).any(|w| w == b"chunk-signature="));
        assert!(upload.request.headers.get("content-encoding").is_none());
        assert!(
            upload.request.body.text().is_none(),
            "random bytes stay bytes"
        );
    }
    assert!(
        uploads[1]
            .request
            .headers
            .get("x-amz-checksum-crc32")
            .is_some()
    );
    assert!(
        uploads[2]
            .request
            .headers
            .get("x-amz-checksum-crc32")
            .is_some()
    );

    replays_the_same(
        &upstream,
        "chunks.json",
        "s3_client.py",
        &["chunks", "--chunk", "5000"],
        &recorded,
    )
    .await;
}

/// Runs a JS SDK v3 script from tests/it/js (its packages are installed
/// there by scripts/test) with dummy credentials; its stdout is JSON.
fn node(script: &str, args: &[&str], akid: &str) -> serde_json::Value {
    node_with(script, args, akid, None)
}

fn node_with(
    script: &str,
    args: &[&str],
    akid: &str,
    endpoint_url: Option<&str>,
) -> serde_json::Value {
    let mut command = Command::new("node");
    if let Some(url) = endpoint_url {
        command.env("AWS_ENDPOINT_URL", url);
    }
    let output = command
        .arg(support::repo_root().join("tests/it/js").join(script))
        .args(args)
        .env("AWS_ACCESS_KEY_ID", akid)
        .env("AWS_SECRET_ACCESS_KEY", "dummy-secret-of-the-client")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_PROFILE")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .output()
        .expect("node must be installed; scripts/test installs the JS SDK");
    assert!(
        output.status.success(),
        "{script} {args:?} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// The JS SDK v3 sends a streamed PutObject as unsigned aws-chunked with a
/// checksum trailer; S3 stores the payload, and replay matches a stream cut
/// into other pieces.
#[tokio::test(flavor = "multi_thread")]
async fn js_sdk_streamed_uploads_arrive_intact_and_replay() {
    let upstream = Upstream::start();
    let server = upstream.recorder("js.json").await;
    let recorded = node(
        "s3_stream.mjs",
        &[&server.url(), "65536"],
        "AKIDCLIENTONE0000000",
    );
    server.shutdown().await;
    assert_eq!(recorded["same_bytes"], true, "{recorded}");
    assert_eq!(recorded["length"], 150_000);
    let log = upstream.log();
    let put = log
        .iter()
        .find(|e| {
            e["method"] == "PUT"
                && e["path"]
                    .as_str()
                    .is_some_and(|p| p.starts_with("/streams/streamed"))
        })
        .unwrap_or_else(|| panic!("the upload reached the upstream: {log:?}"));
    assert!(put.get("rejected").is_none(), "{put}");
    assert_eq!(put["content_sha256"], "STREAMING-UNSIGNED-PAYLOAD-TRAILER");

    let replay = replay(&upstream.path("js.json")).await;
    let replayed = node(
        "s3_stream.mjs",
        &[&replay.url(), "10000"],
        "AKIDCLIENTTWO0000000",
    );
    assert_eq!(replayed, recorded);
    replay.shutdown().await;
}

/// Presigned URLs (SigV4 and SigV2 query auth) are re-signed in headers,
/// reach S3 without the client's signature parameters, are recorded without
/// them, and replay answers URLs presigned afresh.
#[tokio::test(flavor = "multi_thread")]
async fn presigned_urls_record_without_signatures_and_replay_fresh_ones() {
    let upstream = Upstream::start();
    let mut config = upstream.record_config("presign.json");
    // SigV2 carries no scope: the flags give it.
    config.region = Some("us-east-1".into());
    config.service = Some("s3".into());
    let server = RecordServer::start(config).await.unwrap();
    let recorded = python(
        "s3_client.py",
        &[&server.url(), "presign"],
        "AKIDCLIENTONE0000000",
    );
    server.shutdown().await;
    for version in ["s3v4", "s3"] {
        assert_eq!(recorded[version]["put"], 200, "{recorded}");
        assert_eq!(recorded[version]["get"], 200, "{recorded}");
        assert_eq!(recorded[version]["same_bytes"], true, "{recorded}");
    }
    assert!(
        recorded["s3v4"]["query"]
            .to_string()
            .contains("X-Amz-Signature")
    );
    assert!(
        recorded["s3"]["query"]
            .to_string()
            .contains("AWSAccessKeyId")
    );
    for entry in upstream.log() {
        assert!(entry.get("rejected").is_none(), "{entry}");
    }

    let text = std::fs::read_to_string(upstream.path("presign.json")).unwrap();
    for param in [
        "X-Amz-Signature",
        "X-Amz-Credential",
        "AWSAccessKeyId",
        "Signature=",
        "Expires=",
        "AKIDCLIENTONE",
    ] {
        assert!(!text.contains(param), "the cassette holds {param}");
    }

    replays_the_same(
        &upstream,
        "presign.json",
        "s3_client.py",
        &["presign"],
        &recorded,
    )
    .await;
}

/// S3 with boto3: put, head, list, a conditional copy, two ranged GETs of one
/// object, and s3transfer's multipart upload and parallel ranged download
/// of a 3 MB object; replayed, every range gets its own bytes.
#[tokio::test(flavor = "multi_thread")]
async fn s3_transfers_record_and_replay_with_ranges() {
    let upstream = Upstream::start();
    let server = upstream.recorder("transfer.json").await;
    let work = tempfile::tempdir().unwrap();
    let workdir = work.path().to_str().unwrap();
    let recorded = python(
        "s3_client.py",
        &[&server.url(), "transfer", "--workdir", workdir],
        "AKIDCLIENTONE0000000",
    );
    server.shutdown().await;
    for check in ["first_range", "second_range", "download_same_bytes"] {
        assert_eq!(recorded[check], true, "{check}: {recorded}");
    }
    assert_eq!(recorded["head_length"], 100);
    for entry in upstream.log() {
        assert!(entry.get("rejected").is_none(), "{entry}");
    }
    let cassette = load_file(&upstream.path("transfer.json")).unwrap().cassette;
    let ranged = cassette
        .interactions
        .iter()
        .filter(|i| i.request.method == "GET" && i.request.headers.get("range").is_some())
        .count();
    assert!(ranged >= 6, "two ranged GETs and four parts: {ranged}");

    replays_the_same(
        &upstream,
        "transfer.json",
        "s3_client.py",
        &["transfer", "--workdir", workdir],
        &recorded,
    )
    .await;
}

/// One recorder for a whole app: with routing by scope (the default), each
/// request goes to its own service's endpoint from the facts table; here
/// `route_override` sends them all to the local stand-in after that lookup.
/// Each interaction records its endpoint, and the app replays with fresh
/// dummy keys and fresh client tokens.
#[tokio::test(flavor = "multi_thread")]
async fn one_recorder_serves_dynamodb_s3_and_sqs_by_scope() {
    let upstream = Upstream::start();
    let server = upstream.scope_recorder("app.json").await;
    assert!(
        server.upstream().starts_with("aws"),
        "{}",
        server.upstream()
    );
    let recorded = app(&server.url(), "AKIDCLIENTONE0000000");
    server.shutdown().await;
    assert_eq!(
        recorded,
        serde_json::json!({"item_total": "12", "receipt": "total 12", "message": "ship order 2"})
    );
    for entry in upstream.log() {
        assert!(entry.get("rejected").is_none(), "{entry}");
    }
    let cassette = load_file(&upstream.path("app.json")).unwrap().cassette;
    let mut endpoints: Vec<&str> = cassette
        .interactions
        .iter()
        .filter_map(|i| i.endpoint.as_deref())
        .collect();
    assert_eq!(endpoints.len(), cassette.interactions.len());
    endpoints.sort();
    endpoints.dedup();
    assert_eq!(
        endpoints,
        [
            "https://dynamodb.us-east-1.amazonaws.com",
            "https://s3.us-east-1.amazonaws.com",
            "https://sqs.us-east-1.amazonaws.com",
        ]
    );

    let replay = ReplayServer::start(ReplayConfig::new(
        cassette::load(&upstream.path("app.json")).unwrap(),
        MatchOptions {
            tokens: vec![proton_vcr::TokenPath::parse("ClientRequestToken").unwrap()],
            ..MatchOptions::default()
        },
    ))
    .await
    .unwrap();
    assert_eq!(app(&replay.url(), "AKIDCLIENTTWO0000000"), recorded);
    replay.shutdown().await;
}

/// A request signed for a service the table does not know is refused, and
/// nothing reaches the upstream: routing never follows the client's word.
#[tokio::test(flavor = "multi_thread")]
async fn routing_by_scope_refuses_unknown_services_and_remote_overrides() {
    let upstream = Upstream::start();
    let server = upstream.scope_recorder("refused.json").await;
    let (status, body) = support::http(
        &server.url(),
        "GET",
        "/",
        &[(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=AKIDCLIENTONE0000000/20260501/us-east-1/evil.example.com/aws4_request, SignedHeaders=host;x-amz-date, Signature=00",
        ), ("x-amz-date", "20260501T120000Z")],
        b"",
    )
    .await;
    server.shutdown().await;
    assert_eq!(status, 400, "{}", String::from_utf8_lossy(&body));
    assert!(String::from_utf8_lossy(&body).contains("evil.example.com"));
    assert!(upstream.log().is_empty(), "{:?}", upstream.log());

    let mut remote = upstream.record_config("remote.json");
    remote.upstream = None;
    remote.route_override = Some("http://192.0.2.10:5000".into());
    let error = RecordServer::start(remote).await.err().unwrap();
    assert!(error.to_string().contains("loopback"), "{error}");
}

/// Runs app_client.py with AWS_ENDPOINT_URL pointing at `endpoint`.
fn app(endpoint: &str, akid: &str) -> serde_json::Value {
    let output = Command::new("python3")
        .arg(support::repo_root().join("tests/it/app_client.py"))
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", akid)
        .env("AWS_SECRET_ACCESS_KEY", "dummy-secret-of-the-client")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_PROFILE")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "app_client.py failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// `--on-miss record` never sends upstream a call the cassette already
/// answered: a retry with a bound client token gets the recorded answer
/// (moto would answer ResourceExistsException), and a later replay with
/// fresh tokens binds them to the recorded ones.
#[tokio::test(flavor = "multi_thread")]
async fn on_miss_record_answers_token_retries_from_the_cassette() {
    let upstream = Upstream::start();
    let mut config = upstream.record_config("secrets.json");
    config.region = Some("us-east-1".into());
    config.replay = Some(MatchOptions {
        repeats: proton_vcr::Repeats::Strict,
        ..MatchOptions::default()
    });
    let server = RecordServer::start(config).await.unwrap();
    let recorded = python(
        "secrets_client.py",
        &[&server.url(), "aaaaaaaa"],
        "AKIDCLIENTONE0000000",
    );
    server.shutdown().await;
    assert_eq!(recorded["retry_same_arn"], true, "{recorded}");
    assert_eq!(recorded["retry_same_version"], true, "{recorded}");
    let creates = upstream
        .log()
        .into_iter()
        .filter(|e| e["method"] == "POST")
        .count();
    assert_eq!(creates, 2, "one create and one put reached the upstream");
    let cassette = load_file(&upstream.path("secrets.json")).unwrap().cassette;
    assert_eq!(cassette.interactions.len(), 2);

    replays_the_same(
        &upstream,
        "secrets.json",
        "secrets_client.py",
        &["bbbbbbbb"],
        &recorded,
    )
    .await;
}

/// Virtual-hosted S3 (`bucket.localhost:PORT`) keeps its bucket: the proxy
/// records and forwards the path-style request, and replay answers it.
#[tokio::test(flavor = "multi_thread")]
async fn virtual_hosted_buckets_keep_their_bucket() {
    let upstream = Upstream::start();
    let server = upstream.recorder("vhost.json").await;
    let recorded = python(
        "s3_client.py",
        &[&server.url(), "virtual"],
        "AKIDCLIENTONE0000000",
    );
    server.shutdown().await;
    assert_eq!(
        recorded,
        serde_json::json!({"body": "virtual", "keys": ["notes/a.txt"]})
    );
    let paths: Vec<String> = upstream
        .log()
        .iter()
        .map(|e| e["path"].as_str().unwrap_or("").to_string())
        .collect();
    assert!(
        !paths.is_empty() && paths.iter().all(|p| p.starts_with("/vhost-bucket")),
        "{paths:?}"
    );
    let cassette = load_file(&upstream.path("vhost.json")).unwrap().cassette;
    assert!(
        cassette
            .interactions
            .iter()
            .any(|i| i.request.uri == "/vhost-bucket/notes/a.txt"),
    );

    replays_the_same(
        &upstream,
        "vhost.json",
        "s3_client.py",
        &["virtual"],
        &recorded,
    )
    .await;
}

/// The same one-recorder app with the JS SDK v3: DynamoDB (the SDK fills
/// TransactWriteItems' ClientRequestToken itself), S3 and SQS through
/// AWS_ENDPOINT_URL, replayed with fresh keys and a fresh token.
#[tokio::test(flavor = "multi_thread")]
async fn js_sdk_app_uses_one_recorder_for_three_services() {
    let upstream = Upstream::start();
    let server = upstream.scope_recorder("js-app.json").await;
    let recorded = node_with("app.mjs", &[], "AKIDCLIENTONE0000000", Some(&server.url()));
    server.shutdown().await;
    assert_eq!(
        recorded,
        serde_json::json!({"item_total": "70", "receipt": "total 70", "message": "ship order 7"})
    );
    for entry in upstream.log() {
        assert!(entry.get("rejected").is_none(), "{entry}");
    }
    let replay = replay(&upstream.path("js-app.json")).await;
    let replayed = node_with("app.mjs", &[], "AKIDCLIENTTWO0000000", Some(&replay.url()));
    assert_eq!(replayed, recorded);
    replay.shutdown().await;
}

/// Runs the AWS CLI against `endpoint` with dummy keys and a config that
/// makes `aws s3 cp` use 1 MiB multipart parts and ranged parallel GETs.
fn aws_s3(endpoint: &str, akid: &str, dir: &Path, args: &[&str]) {
    let config = dir.join("config");
    std::fs::write(
        &config,
        "[default]\nregion = us-east-1\ns3 =\n  multipart_threshold = 1MB\n  multipart_chunksize = 1MB\n  addressing_style = path\n",
    )
    .unwrap();
    let output = Command::new("aws")
        .args(args)
        .args(["--endpoint-url", endpoint, "--cli-read-timeout", "300"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("AWS_ACCESS_KEY_ID", akid)
        .env("AWS_SECRET_ACCESS_KEY", "dummy-secret-of-the-client")
        .env("AWS_CONFIG_FILE", &config)
        .env("AWS_SHARED_CREDENTIALS_FILE", dir.join("credentials"))
        .env("AWS_MAX_ATTEMPTS", "1")
        .output()
        .expect("the AWS CLI (`aws`) must be installed: scripts/test installs it with pip");
    assert!(
        output.status.success(),
        "aws {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The AWS CLI's `aws s3 cp` both ways (multipart upload, parallel ranged
/// download) through the recorder, then replayed with other keys.
#[tokio::test(flavor = "multi_thread")]
async fn aws_cli_s3_copies_record_and_replay() {
    let upstream = Upstream::start();
    let server = upstream.recorder("cli.json").await;
    let work = tempfile::tempdir().unwrap();
    let source = work.path().join("big.bin");
    let data: Vec<u8> = (0..3 * 1024 * 1024 + 77u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&source, &data).unwrap();
    let (src, out) = (
        source.to_str().unwrap().to_string(),
        work.path().join("out.bin").to_str().unwrap().to_string(),
    );
    let run = |endpoint: String, akid: &'static str| {
        let (src, out, dir) = (src.clone(), out.clone(), work.path().to_path_buf());
        move || {
            aws_s3(&endpoint, akid, &dir, &["s3", "mb", "s3://cli-bucket"]);
            aws_s3(
                &endpoint,
                akid,
                &dir,
                &["s3", "cp", &src, "s3://cli-bucket/big.bin"],
            );
            aws_s3(
                &endpoint,
                akid,
                &dir,
                &["s3", "cp", "s3://cli-bucket/big.bin", &out],
            );
        }
    };
    tokio::task::spawn_blocking(run(server.url(), "AKIDCLIENTONE0000000"))
        .await
        .unwrap();
    server.shutdown().await;
    assert_eq!(std::fs::read(&out).unwrap(), data);
    for entry in upstream.log() {
        assert!(entry.get("rejected").is_none(), "{entry}");
    }
    std::fs::remove_file(&out).unwrap();

    let replay = replay(&upstream.path("cli.json")).await;
    tokio::task::spawn_blocking(run(replay.url(), "AKIDCLIENTTWO0000000"))
        .await
        .unwrap();
    assert_eq!(std::fs::read(&out).unwrap(), data);
    replay.shutdown().await;
}

/// Matching compares the headers the S3 model binds to what a call asks
/// (ranges, conditions, checksum mode, copy-source ranges) and not those a
/// client adds its own way: boto3 (checksums only when required) and the
/// JS SDK v3 (a CRC32 checksum and its algorithm on every upload, a default
/// Content-Type, `x-id`) replay each other's recordings, while a call that
/// differs only in one header that changes the answer finds no recording.
#[tokio::test(flavor = "multi_thread")]
async fn headers_that_change_the_answer_match_across_clients() {
    let upstream = Upstream::start();
    let server = upstream.recorder("boto-meaning.json").await;
    let recorded = python(
        "s3_client.py",
        &[&server.url(), "meaning"],
        "AKIDCLIENTONE0000000",
    );
    server.shutdown().await;
    assert_eq!(recorded["first"], "01234", "{recorded}");
    assert_eq!(recorded["second"], "56789");
    assert_eq!(recorded["not_modified"], true);
    assert_eq!(recorded["checked"], "0123456789abcdefghij");
    for entry in upstream.log() {
        assert!(entry.get("rejected").is_none(), "{entry}");
    }
    // A second bucket of the same name cannot be created: record the JS
    // SDK's calls into a fresh upstream.
    let js_upstream = Upstream::start();
    let server = js_upstream.recorder("js-meaning.json").await;
    let js_recorded = node("s3_meaning.mjs", &[&server.url()], "AKIDCLIENTONE0000000");
    server.shutdown().await;
    assert_eq!(js_recorded, recorded, "moto answers both clients alike");

    // The two clients really do send different headers for the same upload.
    let upload_headers = |path: &Path| {
        let cassette = load_file(path).unwrap().cassette;
        let put = cassette
            .interactions
            .into_iter()
            .find(|i| i.request.method == "PUT" && i.request.uri.starts_with("/meaning/doc.txt"))
            .expect("the upload was recorded");
        ["x-amz-sdk-checksum-algorithm", "x-amz-checksum-crc32"]
            .map(|name| put.request.headers.get(name).map(str::to_string))
    };
    assert_eq!(
        upload_headers(&upstream.path("boto-meaning.json")),
        [None, None]
    );
    assert!(
        upload_headers(&js_upstream.path("js-meaning.json"))
            .iter()
            .all(Option::is_some)
    );

    // boto3's recording answers the JS SDK; a call differing only in a
    // header that changes the answer finds none.
    let replay = replay(&upstream.path("boto-meaning.json")).await;
    let mut replayed = node(
        "s3_meaning.mjs",
        &[&replay.url(), "--variants"],
        "AKIDCLIENTTWO0000000",
    );
    replay.shutdown().await;
    let variants = replayed
        .as_object_mut()
        .and_then(|o| o.remove("variants"))
        .unwrap();
    assert_eq!(replayed, recorded);
    assert_eq!(
        variants,
        serde_json::json!({"range": 400, "if_none_match": 400, "no_checksum_mode": 400, "copy_source_range": 400})
    );
    // And the JS SDK's recording answers boto3.
    replays_the_same(
        &js_upstream,
        "js-meaning.json",
        "s3_client.py",
        &["meaning"],
        &recorded,
    )
    .await;
}

/// An upstream whose host names a bucket (here `upbucket.localhost:PORT`,
/// standing in for `upbucket.s3.REGION.amazonaws.com`): clients address
/// it as the bucket's own endpoint (paths are keys), the upstream gets the
/// requests as sent, and the cassette holds them path-style with the
/// bucket, so path-style and virtual-hosted clients replay them.
#[tokio::test(flavor = "multi_thread")]
async fn a_bucket_upstream_records_its_bucket_in_each_interaction() {
    let upstream = Upstream::start();
    let port = upstream.url.rsplit(':').next().unwrap().to_string();
    let mut config = upstream.record_config("bucket.json");
    config.upstream = Some(format!("http://upbucket.localhost:{port}"));
    let server = RecordServer::start(config).await.unwrap();
    let recorded = python(
        "s3_client.py",
        &[&server.url(), "bucket-endpoint"],
        "AKIDCLIENTONE0000000",
    );
    server.shutdown().await;
    assert_eq!(
        recorded,
        serde_json::json!({"body": "bucket endpoint", "keys": ["notes/a.txt"]})
    );
    let log = upstream.log();
    assert_eq!(log.len(), 4, "{log:?}");
    for entry in &log {
        assert!(entry.get("rejected").is_none(), "{entry}");
        assert_eq!(
            entry["host"],
            format!("upbucket.localhost:{port}"),
            "{entry}"
        );
        let path = entry["path"].as_str().unwrap();
        assert!(
            !path.starts_with("/upbucket"),
            "sent as the client sent it: {path}"
        );
    }
    let cassette = load_file(&upstream.path("bucket.json")).unwrap().cassette;
    let uris: Vec<&str> = cassette
        .interactions
        .iter()
        .map(|i| i.request.uri.as_str())
        .collect();
    assert_eq!(
        uris,
        [
            "/upbucket",
            "/upbucket/notes/a.txt",
            "/upbucket/notes/a.txt",
            "/upbucket?list-type=2"
        ]
    );

    for style in ["bucket-read-path", "bucket-read-virtual"] {
        replays_the_same(
            &upstream,
            "bucket.json",
            "s3_client.py",
            &[style],
            &serde_json::json!({"body": "bucket endpoint"}),
        )
        .await;
    }
}

/// A replay miss reaches S3 clients as an S3 error document: boto3 and the
/// JS SDK v3 show the miss's code and message, not a parse failure; a HEAD
/// miss is its status alone, as S3 answers HEAD.
#[tokio::test(flavor = "multi_thread")]
async fn s3_clients_read_a_replay_miss_as_an_s3_error() {
    let dir = tempfile::tempdir().unwrap();
    let cassette = serde_json::json!({
        "format": "proton-vcr.cassette/1",
        "name": "s3/one-object",
        "provenance": {"kind": "documented", "sources": []},
        "interactions": [{
            "elapsed_ms": 0,
            "request": {"method": "GET", "uri": "/kept/kept.txt", "headers": {}},
            "response": {"status": 200, "headers": {"content-type": "text/plain"}, "body": {"text": "kept"}}
        }]
    });
    let path = support::write_cassette(dir.path(), "s3.json", &cassette);
    let server = replay(&path).await;
    let url = server.url();
    let miss = "proton-vcr replay: no recorded interaction for GET /kept/missing.txt";

    let boto = python("s3_client.py", &[&url, "miss"], "AKIDCLIENTONE0000000");
    assert_eq!(boto["get"]["code"], "ReplayMissException", "{boto}");
    assert_eq!(boto["get"]["status"], 400, "{boto}");
    let message = boto["get"]["message"].as_str().unwrap_or_default();
    assert!(message.starts_with(miss), "{boto}");
    assert!(message.contains("GET /kept/kept.txt"), "{boto}");
    assert_eq!(boto["head"]["status"], 400, "{boto}");

    let js = node("s3_miss.mjs", &[&url], "AKIDCLIENTONE0000000");
    assert_eq!(js["get"]["name"], "ReplayMissException", "{js}");
    assert_eq!(js["get"]["message"], boto["get"]["message"], "{js}");
    assert_eq!(js["get"]["status"], 400, "{js}");
    assert_eq!(js["head"]["status"], 400, "{js}");
    server.shutdown().await;
}
