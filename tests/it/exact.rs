//! Replay sends the bytes that were recorded: status, header values and
//! body. boto3 and the AWS CLI check DynamoDB's `x-amz-crc32` and S3's
//! `x-amz-checksum-crc32` against the bytes they receive, so any change is
//! a client error. The upstream is either a server in this test that sends
//! fixed bytes (odd JSON spellings, big numbers, invalid UTF-8, binary,
//! empty and HEAD answers), or moto server standing in for AWS.

use crate::support;
use crate::support::Process;
use base64::Engine;
use proton_vcr::cassette::{self, load_file};
use proton_vcr::{
    CredentialSource, Handler, Limits, MatchOptions, RecordConfig, RecordServer, ReplayConfig,
    ReplayServer, Request, Response, Server, StaticCredentials,
};
use serde_json::Value;
use std::path::Path;
use std::sync::Arc;

/// The recorder's credentials; the fixed upstream does not check them.
fn credentials() -> CredentialSource {
    CredentialSource::Static(StaticCredentials {
        access_key_id: "AKIAEXACT00000000001".into(),
        secret_access_key: "exact/Secret+Key=0123456789abcdefghijkl".into(),
        session_token: None,
    })
}

/// GetItem's answer: keys in an order of their own, a number beyond u64,
/// an exponent, escapes, and a double spelled `0.5E0`.
const GET_ITEM: &[u8] = br#"{"Item":{"text":{"S":"caf\u00e9 \u2603"},"id":{"S":"a"},"big":{"N":"123456789012345678901234567890"},"ratio":{"N":"1.712345678123E9"}},"ConsumedCapacity":{"TableName":"t","CapacityUnits":0.5E0}}"#;

/// A modelled error, with white space a re-serialisation would drop.
const CONDITIONAL_FAILED: &[u8] = b"{\"__type\":\"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException\",\n \"message\": \"The conditional request failed\"}";

fn objects() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("json", br#"{"b": 1,  "a": [1.0E2, 3]}"#.to_vec()),
        ("compact-json", br#"{"z":1.50,"a":"\u00e9"}"#.to_vec()),
        ("number", b"1e3\n".to_vec()),
        ("big", b"123456789012345678901234567890".to_vec()),
        ("invalid-utf8", b"\xff\xfeabc\xc3".to_vec()),
        ("binary", (0..=255u8).collect()),
        ("empty", Vec::new()),
    ]
}

/// CRC-32 as zlib computes it (what x-amz-crc32 carries).
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                0xEDB8_8320 ^ (crc >> 1)
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// Answers DynamoDB and S3 calls with fixed bytes and their checksums.
struct FixedUpstream;

impl Handler for FixedUpstream {
    async fn handle(&self, request: Request) -> Response {
        let mut response = Response::new(http::StatusCode::OK);
        let body: Vec<u8> = match (request.amz_target(), request.uri.path()) {
            (Some("DynamoDB_20120810.GetItem"), _) => GET_ITEM.to_vec(),
            (Some("DynamoDB_20120810.PutItem"), _) => {
                response.status = http::StatusCode::BAD_REQUEST;
                CONDITIONAL_FAILED.to_vec()
            }
            (None, path) => {
                let key = path.strip_prefix("/bkt/").unwrap_or_default();
                let Some((_, bytes)) = objects().into_iter().find(|(k, _)| *k == key) else {
                    return Response::new(http::StatusCode::NOT_FOUND);
                };
                response.set_header("etag", &format!("\"{:08x}\"", crc32(&bytes)));
                response.set_header("content-type", "application/octet-stream");
                if request.method == http::Method::HEAD {
                    response.set_header("content-length", &bytes.len().to_string());
                    return response;
                }
                let sum =
                    base64::engine::general_purpose::STANDARD.encode(crc32(&bytes).to_be_bytes());
                response.set_header("x-amz-checksum-crc32", &sum);
                response.body = bytes.into();
                return response;
            }
            _ => return Response::new(http::StatusCode::NOT_FOUND),
        };
        response.set_header("content-type", "application/x-amz-json-1.0");
        response.set_header("x-amz-crc32", &crc32(&body).to_string());
        response.body = body.into();
        response
    }
}

async fn run_clients(endpoint: &str, mode: &str) -> Value {
    support::python_script_json("exact_clients.py", &[endpoint, mode]).await
}

async fn record(upstream: &str, path: &Path, mode: &str) -> Value {
    let mut config = RecordConfig::new(path, credentials());
    config.upstream = Some(upstream.to_string());
    config.listen = "127.0.0.1:0".parse().unwrap();
    let recorder = RecordServer::start(config).await.unwrap();
    let seen = run_clients(&recorder.url(), mode).await;
    recorder.shutdown().await;
    seen
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
async fn boto3_and_the_cli_get_the_recorded_bytes_back_checksums_and_all() {
    let upstream = Server::bind(
        "127.0.0.1:0".parse().unwrap(),
        Arc::new(FixedUpstream),
        Limits::default(),
    )
    .await
    .unwrap();
    let direct = run_clients(&upstream.url(), "fixed").await;
    assert_eq!(
        direct["item"]["big"]["N"], "123456789012345678901234567890",
        "{direct}"
    );
    assert_eq!(direct["conditional"], "ConditionalCheckFailedException");
    for (key, bytes) in objects() {
        let got = base64::engine::general_purpose::STANDARD
            .decode(direct["objects"][key].as_str().unwrap())
            .unwrap();
        assert_eq!(got, bytes, "{key}");
    }
    assert_eq!(direct["head"]["ContentLength"], 256);

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("exact.json");
    assert_eq!(record(&upstream.url(), &path, "fixed").await, direct);

    // Readable where that loses nothing: compact JSON stays JSON, the rest
    // is exact text or base64.
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("\"format\": \"proton-vcr.cassette/2\""));
    assert!(
        text.contains("\"N\": \"123456789012345678901234567890\""),
        "{text}"
    );
    assert!(text.contains("\"CapacityUnits\": 0.5E0"), "{text}");
    assert!(text.contains("\"text\": \"1e3\\n\""), "{text}");

    let replay = replay(&path).await;
    assert_eq!(run_clients(&replay.url(), "fixed").await, direct);

    // Byte for byte on the wire.
    let (status, body) = support::http(
        &replay.url(),
        "POST",
        "/",
        &[
            ("x-amz-target", "DynamoDB_20120810.GetItem"),
            ("content-type", "application/x-amz-json-1.0"),
        ],
        br#"{"Key":{"id":{"S":"a"}},"TableName":"t"}"#,
    )
    .await;
    assert_eq!((status, body.as_slice()), (200, GET_ITEM));
    for (key, bytes) in objects() {
        // boto3 asks for checksums, and that header is part of the match.
        let (status, body) = support::http(
            &replay.url(),
            "GET",
            &format!("/bkt/{key}"),
            &[("x-amz-checksum-mode", "ENABLED")],
            b"",
        )
        .await;
        assert_eq!((status, body), (200, bytes), "{key}");
    }

    // The AWS CLI checks x-amz-crc32 too, and reads HEAD's Content-Length.
    let url = replay.url();
    let (item, head, error) = tokio::task::spawn_blocking(move || {
        (
            support::aws_cli(
                &url,
                &[
                    "dynamodb",
                    "get-item",
                    "--table-name",
                    "t",
                    "--key",
                    r#"{"id":{"S":"a"}}"#,
                ],
            ),
            support::aws_cli(
                &url,
                &["s3api", "head-object", "--bucket", "bkt", "--key", "binary"],
            ),
            support::aws_cli(
                &url,
                &[
                    "dynamodb",
                    "put-item",
                    "--table-name",
                    "t",
                    "--item",
                    r#"{"id":{"S":"a"}}"#,
                    "--condition-expression",
                    "attribute_not_exists(id)",
                ],
            ),
        )
    })
    .await
    .unwrap();
    let item = support::cli_json(&item);
    assert_eq!(item["Item"]["big"]["N"], "123456789012345678901234567890");
    assert_eq!(support::cli_json(&head)["ContentLength"], 256);
    let stderr = String::from_utf8_lossy(&error.stderr);
    assert!(
        stderr.contains("ConditionalCheckFailedException"),
        "a modelled error, not a checksum error: {stderr}"
    );
    replay.shutdown().await;
    upstream.shutdown().await;
}

/// moto server, installed with the test clients, on a free port.
struct Moto {
    /// Held for its drop, which stops the upstream.
    _process: Process,
    url: String,
}

impl Moto {
    fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = std::process::Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("moto_server must be installed: scripts/test installs moto[server]");
        // Dropped (killed and waited for) on every path.
        let moto = Self {
            _process: Process(child),
            url: format!("http://127.0.0.1:{port}"),
        };
        // Ready when it accepts a connection.
        for _ in 0..300 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return moto;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("moto_server did not start on port {port}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recorded_through_the_proxy_into_moto_replays_byte_exact_to_boto3() {
    let moto = tokio::task::spawn_blocking(Moto::start).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("moto.json");
    let recorded = record(&moto.url, &path, "moto").await;
    assert_eq!(
        recorded["item"]["big"]["N"],
        "123456789012345678901234567890"
    );
    assert_eq!(recorded["conditional"], "ConditionalCheckFailedException");
    let loaded = load_file(&path).unwrap().cassette;
    assert!(
        loaded
            .interactions
            .iter()
            .any(|i| i.response.headers.get("x-amz-crc32").is_some()),
        "moto's DynamoDB answers carry x-amz-crc32"
    );
    drop(moto);
    let replay = replay(&path).await;
    assert_eq!(run_clients(&replay.url(), "moto").await, recorded);
    replay.shutdown().await;
}

/// A small seeded generator (xorshift64*): the same cases on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

/// White space, or none (compact spellings are stored as JSON, the rest
/// as text: both must come back exactly).
fn space(rng: &mut Rng, compact: bool) -> &'static str {
    if compact {
        ""
    } else {
        rng.pick(&["", " ", "\n  ", "\t", "\r\n"])
    }
}

/// One JSON value, spelled in one of the many ways JSON allows.
fn json_spelling(rng: &mut Rng, depth: u32, compact: bool, out: &mut String) {
    let kind = if depth > 4 {
        rng.below(4)
    } else {
        rng.below(6)
    };
    match kind {
        0 => out.push_str(rng.pick(&["null", "true", "false"])),
        1 => out.push_str(rng.pick(&[
            "0",
            "-0",
            "-0.0",
            "1e3",
            "1E+3",
            "1.50",
            "0.5E0",
            "1.712345678123E9",
            "123456789012345678901234567890",
            "-98765432109876543210.000001e-7",
            "18446744073709551616",
            "5e-324",
            "1e400",
        ])),
        2 | 3 => {
            out.push('"');
            for _ in 0..rng.below(6) {
                out.push_str(rng.pick(&[
                    "a",
                    "\\u00e9",
                    "é",
                    "\\/",
                    "/",
                    "\\\"",
                    "\\\\",
                    "\\n",
                    "\\ud83d\\ude00",
                    "😀",
                    " ",
                    "\\u0000",
                    "{",
                    ":",
                    ",",
                ]));
            }
            out.push('"');
        }
        4 => {
            out.push('[');
            let n = rng.below(4);
            for i in 0..n {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(space(rng, compact));
                json_spelling(rng, depth + 1, compact, out);
                out.push_str(space(rng, compact));
            }
            out.push(']');
        }
        _ => {
            out.push('{');
            let n = rng.below(4);
            for i in 0..n {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(space(rng, compact));
                // Repeated names and any order: kept as written.
                out.push_str(rng.pick(&["\"b\"", "\"a\"", "\"\\u0061\"", "\"z\"", "\"b\""]));
                out.push_str(space(rng, compact));
                out.push(':');
                out.push_str(space(rng, compact));
                json_spelling(rng, depth + 1, compact, out);
            }
            out.push('}');
        }
    }
}

#[test]
fn arbitrary_bytes_and_json_spellings_round_trip_byte_exact() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut stored_as_json = 0;
    for case in 0..3000 {
        let data: Vec<u8> = match case % 3 {
            0 => (0..rng.below(64)).map(|_| rng.next() as u8).collect(),
            compact => {
                let mut text = String::new();
                json_spelling(&mut rng, 0, compact == 1, &mut text);
                text.into_bytes()
            }
        };
        let outcome = std::panic::catch_unwind(|| proton_vcr::fuzz_entry::body_round_trip(&data));
        assert!(
            outcome.is_ok(),
            "case {case} does not round-trip: {:?}",
            String::from_utf8_lossy(&data)
        );
        if case % 3 == 1 {
            let body = cassette::Body::from_bytes(&data);
            // Compact spellings are kept readable: as JSON, in the file.
            let text = String::from_utf8(cassette::to_bytes(&cassette::Cassette {
                name: "c".into(),
                provenance: cassette::Provenance::recorded(
                    "http://127.0.0.1:1",
                    "s3",
                    "us-east-1",
                    "2026-05-01T12:00:00.000Z".into(),
                ),
                interactions: vec![cassette::Interaction {
                    elapsed_ms: 0,
                    endpoint: None,
                    expect: None,
                    note: None,
                    request: cassette::RecordedRequest {
                        method: "GET".into(),
                        uri: "/".into(),
                        headers: cassette::Headers::default(),
                        body: cassette::Body::default(),
                    },
                    response: cassette::RecordedResponse {
                        status: 200,
                        headers: cassette::Headers::default(),
                        body,
                    },
                }],
            }))
            .unwrap();
            if text.contains("\"json\":") {
                stored_as_json += 1;
            }
        }
    }
    assert!(
        stored_as_json > 900,
        "{stored_as_json} of 1000 compact spellings stored as JSON"
    );
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

#[test]
fn every_shipped_cassette_upgrades_to_format_2_with_the_same_meaning() {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("cassettes");
    copy_tree(&support::repo_root().join("cassettes"), &copy);
    // The benchmark's cassette is shipped in format 1: the upgrade has one to do.
    std::fs::copy(
        support::repo_root().join("bench/cassettes/get-environment.json"),
        copy.join("bench-get-environment.json"),
    )
    .unwrap();
    let before = cassette::load(&copy).unwrap();
    let v1 = before
        .iter()
        .filter(|c| {
            let bytes = std::fs::read(&c.path).unwrap();
            cassette::parse_versioned(&c.path, &bytes).unwrap().1 == cassette::Version::V1
        })
        .count();
    assert!(v1 > 0, "no format-1 cassette to upgrade");

    let upgrade = || upgrade(&copy);
    let first = upgrade();
    let stdout = String::from_utf8_lossy(&first.stdout);
    assert!(
        first.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(
        stdout.contains(&format!(
            "{} file(s): {v1} upgraded from format 1",
            before.len()
        )),
        "{stdout}"
    );

    let after = cassette::load(&copy).unwrap();
    assert_eq!(after.len(), before.len());
    for (old, new) in before.iter().zip(&after) {
        let bytes = std::fs::read(&new.path).unwrap();
        let (_, version) = cassette::parse_versioned(&new.path, &bytes).unwrap();
        assert_eq!(version, cassette::Version::V2, "{}", new.path.display());
        // The same meaning: every field, and every body byte replay sends.
        assert_eq!(old.cassette, new.cassette, "{}", new.path.display());
        for (a, b) in old
            .cassette
            .interactions
            .iter()
            .zip(&new.cassette.interactions)
        {
            assert_eq!(a.response.to_exchange().body, b.response.to_exchange().body);
            assert_eq!(a.request.body.json(), b.request.body.json());
        }
    }

    // Idempotent: a second run changes nothing.
    let snapshot: Vec<Vec<u8>> = after
        .iter()
        .map(|c| std::fs::read(&c.path).unwrap())
        .collect();
    let second = upgrade();
    let stdout = String::from_utf8_lossy(&second.stdout);
    assert!(
        stdout.contains(&format!(
            "0 upgraded from format 1, 0 with a journal folded in, 0 rewritten in canonical form, {} already canonical format 2",
            before.len()
        )),
        "{stdout}"
    );
    let again: Vec<Vec<u8>> = after
        .iter()
        .map(|c| std::fs::read(&c.path).unwrap())
        .collect();
    assert_eq!(snapshot, again);
}

#[test]
fn upgrade_says_whether_a_journal_added_anything() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("c.json");
    std::fs::copy(
        support::repo_root().join("bench/cassettes/get-environment.json"),
        &file,
    )
    .unwrap();
    let upgrade = || upgrade(&file);
    assert!(upgrade().status.success(), "to format 2 first");
    // A journal that extends an earlier version of the file: load ignores
    // it (its exchanges are in the file), and upgrade says so.
    let journal = cassette::journal_path(&file);
    std::fs::write(&journal, "proton-vcr.journal/2 base=1:00000000\n").unwrap();
    let out = upgrade();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains("where it is: it adds no exchange to this file"),
        "{stdout}"
    );
    assert!(stdout.contains("0 with a journal folded in"), "{stdout}");
    // Left for the user to look at: it may hold what another version of
    // the file had.
    assert!(journal.exists());
}

/// `proton-vcr cassette upgrade PATH`, run to its end.
fn upgrade(path: &std::path::Path) -> std::process::Output {
    std::process::Command::new(support::binary())
        .args(["cassette", "upgrade"])
        .arg(path)
        .output()
        .unwrap()
}
