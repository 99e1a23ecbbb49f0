//! Bad input to the mock: each request gets an AWS-shaped error (`__type`,
//! `message`) that real clients parse, nothing is created, and the mock keeps
//! serving everyone else. The mock runs in the one serve loop, here with small
//! limits so that the limits themselves are exercised; the connection-level
//! checks here (unparseable headers, slow headers, silent connections) stand
//! for every server, which all share that loop.
//!
//! Non-JSON bodies, a wrong Content-Type and unknown or missing targets are
//! also covered, one by one, by `mock::protocol_errors_are_aws_shaped`.

use crate::support;
use aws_sdk_proton::error::ProvideErrorMetadata;
use proton_vcr::{ClockMode, Limits, Mock, MockConfig, Server};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const TARGET_PREFIX: &str = "AwsProton20200720.";

/// A manual-clock mock in the serve loop with `limits`.
async fn serve(limits: Limits) -> (Server, Arc<Mock>) {
    let mock = Arc::new(Mock::new(MockConfig {
        clock: ClockMode::Manual,
        ..MockConfig::default()
    }));
    let server = Server::bind("127.0.0.1:0".parse().unwrap(), mock.clone(), limits)
        .await
        .unwrap();
    (server, mock)
}

fn small_limits() -> Limits {
    Limits {
        max_body_bytes: 2048,
        header_read_timeout: Duration::from_millis(300),
        body_read_timeout: Duration::from_millis(300),
        ..Limits::default()
    }
}

/// Sends `body` to `operation` with the given headers besides the target.
async fn call(url: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, Value) {
    let (status, body) = support::http(url, "POST", "/", headers, body).await;
    let value = serde_json::from_slice(&body)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&body)));
    (status, value)
}

fn json_headers(target: &str) -> [(&'static str, String); 2] {
    [
        ("content-type", "application/x-amz-json-1.0".to_string()),
        ("x-amz-target", format!("{TARGET_PREFIX}{target}")),
    ]
}

/// Asserts an AWS-shaped error whose `__type` ends with `#code` (or is `code`)
/// and whose message contains `says`.
fn assert_aws_error(answer: &(u16, Value), status: u16, code: &str, says: &str) {
    let (got, body) = answer;
    assert_eq!(*got, status, "{body}");
    let kind = body["__type"].as_str().expect("__type is a string");
    assert!(
        kind == code || kind.ends_with(&format!("#{code}")),
        "expected {code}: {body}"
    );
    let message = body["message"].as_str().expect("message is a string");
    assert!(message.contains(says), "expected {says:?} in: {message}");
}

/// A well-formed call through the Rust SDK still succeeds, and the bad
/// requests before it created nothing.
async fn still_serves(url: &str, mock: &Mock) {
    let templates = support::proton_client(url)
        .list_environment_templates()
        .send()
        .await
        .expect("the mock still answers a good request");
    assert!(templates.templates().is_empty());
    assert_eq!(mock.state_json()["environmentTemplates"], json!([]));
}

#[tokio::test]
async fn unreadable_bodies_are_serialization_errors_and_the_mock_keeps_serving() {
    let (server, mock) = serve(Limits::default()).await;
    let url = server.url();
    let headers = json_headers("CreateEnvironmentTemplate");
    let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let over_serde_limit = format!("{{\"name\":\"t\",\"x\":{}", "[".repeat(100_000));
    let cases: [(&str, Vec<u8>, &str); 5] = [
        (
            "form body",
            b"Action=CreateEnvironmentTemplate&name=t".to_vec(),
            "not valid JSON",
        ),
        (
            "a JSON array",
            b"[{\"name\":\"t\"}]".to_vec(),
            "must be a JSON object",
        ),
        (
            "invalid UTF-8 in a string",
            b"{\"name\":\"t\xff\xfe\"}".to_vec(),
            "not valid JSON",
        ),
        (
            "invalid UTF-8 outside JSON",
            vec![0xff, 0xfe, 0x00, 0x80],
            "not valid JSON",
        ),
        (
            "100,000 levels of nesting",
            over_serde_limit.into_bytes(),
            "not valid JSON",
        ),
    ];
    for (what, body, says) in cases {
        let answer = call(&url, &headers, &body).await;
        assert_aws_error(&answer, 400, "SerializationException", says);
        assert!(
            answer.1["message"].as_str().unwrap().len() < 400,
            "{what}: the message does not echo the body back"
        );
    }
    still_serves(&url, &mock).await;
}

#[tokio::test]
async fn json_nested_past_the_depth_limit_is_refused_wherever_it_is() {
    let (server, mock) = serve(Limits::default()).await;
    let url = server.url();
    // Deeper than the model's limit (64) but within the JSON parser's (128),
    // in members the model does not know: only the depth check stops these.
    let deep = format!("{}1{}", "[".repeat(100), "]".repeat(100));
    let cases = [
        (
            "CreateEnvironmentTemplate",
            format!(r#"{{"name":"t","extra":{deep}}}"#),
        ),
        (
            "CreateEnvironmentTemplateVersion",
            format!(
                r#"{{"templateName":"t","source":{{"s3":{{"bucket":"b","key":"k","extra":{deep}}}}}}}"#
            ),
        ),
    ];
    for (operation, body) in cases {
        let headers = json_headers(operation);
        let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let answer = call(&url, &headers, body.as_bytes()).await;
        assert_aws_error(
            &answer,
            400,
            "SerializationException",
            "nests deeper than 64 levels",
        );
    }
    still_serves(&url, &mock).await;
}

#[tokio::test]
async fn content_types_other_than_aws_json_are_refused() {
    let (server, mock) = serve(Limits::default()).await;
    let url = server.url();
    let target = format!("{TARGET_PREFIX}CreateEnvironmentTemplate");
    for content_type in [
        "application/json",
        "application/x-amz-json-1.1",
        "application/x-www-form-urlencoded",
        "text/plain; charset=utf-8",
    ] {
        let headers = [("content-type", content_type), ("x-amz-target", &target)];
        let answer = call(&url, &headers, br#"{"name":"t"}"#).await;
        assert_aws_error(&answer, 400, "SerializationException", content_type);
    }
    let answer = call(&url, &[("x-amz-target", &target)], br#"{"name":"t"}"#).await;
    assert_aws_error(&answer, 400, "SerializationException", "Content-Type ''");
    still_serves(&url, &mock).await;

    // Parameters after the media type are fine, as they are for AWS.
    let headers = [
        ("content-type", "application/x-amz-json-1.0; charset=utf-8"),
        ("x-amz-target", &target),
    ];
    let (status, body) = call(&url, &headers, br#"{"name":"t"}"#).await;
    assert_eq!(status, 200, "{body}");
}

const JSON: (&str, &str) = ("content-type", "application/x-amz-json-1.0");

#[tokio::test]
async fn unknown_and_missing_targets_are_explained() {
    let (server, mock) = serve(Limits::default()).await;
    let url = server.url();
    let cases: [(&[(&str, &str)], &str); 3] = [
        (
            &[JSON, ("x-amz-target", "AwsProton20200720.LaunchRockets")],
            "LaunchRockets is not an operation of AWS Proton",
        ),
        (
            &[JSON, ("x-amz-target", "AwsProton20200720.")],
            "is not an AWS Proton operation",
        ),
        (&[JSON], "no X-Amz-Target header"),
    ];
    for (headers, says) in cases {
        let answer = call(&url, headers, b"{}").await;
        assert_aws_error(&answer, 400, "UnknownOperationException", says);
    }
    still_serves(&url, &mock).await;
}

#[tokio::test]
async fn a_repeated_target_is_refused_instead_of_obeying_the_first() {
    let (server, mock) = serve(Limits::default()).await;
    let headers = [
        JSON,
        ("x-amz-target", "AwsProton20200720.ListEnvironmentTemplates"),
        (
            "x-amz-target",
            "AwsProton20200720.DeleteEnvironmentTemplate",
        ),
    ];
    let answer = call(&server.url(), &headers, br#"{"name":"t"}"#).await;
    assert_aws_error(
        &answer,
        400,
        "SerializationException",
        "X-Amz-Target is sent more than once",
    );
    still_serves(&server.url(), &mock).await;
}

#[tokio::test]
async fn a_non_ascii_target_is_not_reported_as_missing() {
    let (server, mock) = serve(Limits::default()).await;
    let headers = [JSON, ("x-amz-target", "AwsProton20200720.List\u{e9}")];
    let answer = call(&server.url(), &headers, b"{}").await;
    assert_aws_error(
        &answer,
        400,
        "UnknownOperationException",
        "X-Amz-Target is not visible ASCII",
    );
    still_serves(&server.url(), &mock).await;
}

#[tokio::test]
async fn a_body_over_the_limit_is_an_aws_shaped_413_the_sdk_reads() {
    let (server, mock) = serve(small_limits()).await;
    let url = server.url();
    let client = support::proton_client(&url);
    let error = client
        .create_environment_template()
        .name("t")
        .description("d".repeat(4096))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error.code(),
        Some("RequestEntityTooLargeException"),
        "{error:?}"
    );
    assert!(
        error.message().unwrap_or_default().contains("2048 bytes"),
        "{error:?}"
    );
    assert_eq!(error.raw_response().map(|r| r.status().as_u16()), Some(413));

    // Without a Content-Length the limit holds too, while the body streams in.
    let mut stream = TcpStream::connect(server.local_addr()).await.unwrap();
    let head = "POST / HTTP/1.1\r\nhost: x\r\nconnection: close\r\ntransfer-encoding: chunked\r\ncontent-type: application/x-amz-json-1.0\r\nx-amz-target: AwsProton20200720.CreateEnvironmentTemplate\r\n\r\n";
    stream.write_all(head.as_bytes()).await.unwrap();
    let chunk = format!("400\r\n{}\r\n", " ".repeat(0x400));
    for _ in 0..3 {
        if stream.write_all(chunk.as_bytes()).await.is_err() {
            break;
        }
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer)).await;
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    assert!(text.contains("RequestEntityTooLargeException"), "{text}");

    still_serves(&url, &mock).await;
}

#[tokio::test]
async fn invalid_input_from_the_sdk_is_a_typed_validation_exception() {
    let (server, mock) = serve(Limits::default()).await;
    let client = support::proton_client(&server.url());
    for name in ["../../etc/passwd", "t\u{0}", &"x".repeat(101), "名前"] {
        let error = client
            .get_environment_template()
            .name(name)
            .send()
            .await
            .unwrap_err()
            .into_service_error();
        assert!(error.is_validation_exception(), "{name:?}: {error:?}");
        assert!(
            error.message().unwrap_or_default().contains("name"),
            "{error:?}"
        );
    }
    still_serves(&server.url(), &mock).await;
}

#[tokio::test]
async fn unparseable_headers_close_only_that_connection() {
    let (server, mock) = serve(Limits::default()).await;
    for garbage in [
        &b"POST / HTTP/1.1\r\nhost: x\r\nthis is not a header\r\n\r\n"[..],
        b"POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\ncontent-length: 3\r\n\r\n{}",
        b"POST / HTTP/1.1\r\nhost: x\r\nx-amz-target: a\x00b\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
    ] {
        let mut bad = TcpStream::connect(server.local_addr()).await.unwrap();
        bad.write_all(garbage).await.unwrap();
        let mut answer = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(10), bad.read_to_end(&mut answer)).await;
        let text = String::from_utf8_lossy(&answer);
        assert!(
            text.starts_with("HTTP/1.1 400"),
            "{}: {text}",
            String::from_utf8_lossy(garbage)
        );
        still_serves(&server.url(), &mock).await;
    }
}

#[tokio::test]
async fn a_client_too_slow_with_its_headers_is_cut_off_while_others_are_served() {
    let (server, mock) = serve(small_limits()).await;
    // Stopped inside a header line, and after whole lines but before the
    // blank line that ends the headers.
    for partial in [
        &b"POST / HTTP/1.1\r\nhost: x\r\nx-amz-target: AwsProton20200720."[..],
        b"POST / HTTP/1.1\r\nhost: x\r\n",
    ] {
        let mut slow = TcpStream::connect(server.local_addr()).await.unwrap();
        slow.write_all(partial).await.unwrap();
        still_serves(&server.url(), &mock).await;
        let mut rest = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(10), slow.read_to_end(&mut rest)).await;
        assert!(
            read.is_ok(),
            "the mock must close a connection whose headers never finish: {}",
            String::from_utf8_lossy(partial)
        );
        still_serves(&server.url(), &mock).await;
    }
}

#[tokio::test]
async fn a_kept_alive_connection_trickling_its_next_headers_is_cut_off() {
    let (server, mock) = serve(small_limits()).await;
    let mut stream = TcpStream::connect(server.local_addr()).await.unwrap();
    stream
        .write_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let mut first = [0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut first))
        .await
        .expect("the first request is answered")
        .unwrap();
    assert!(
        first[..n].starts_with(b"HTTP/1.1 "),
        "{}",
        String::from_utf8_lossy(&first[..n])
    );
    // The next request's headers, a byte every 50 ms (well within the
    // 300 ms header read timeout between bytes), never finished.
    let next = b"POST / HTTP/1.1\r\nhost: x\r\nx-amz-target: AwsProton20200720.ListEnvironmentTemplates\r\nx-padding: ";
    let mut sent = 0;
    let mut ticks = tokio::time::interval(Duration::from_millis(50));
    let mut rest = [0u8; 64];
    let closed = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            tokio::select! {
                read = stream.read(&mut rest) => {
                    if matches!(read, Ok(0) | Err(_)) {
                        return;
                    }
                }
                _ = ticks.tick() => {
                    let byte = next.get(sent).copied().unwrap_or(b'a');
                    sent += 1;
                    if stream.write_all(&[byte]).await.is_err() {
                        return;
                    }
                }
            }
        }
    })
    .await;
    assert!(
        closed.is_ok(),
        "a connection trickling its next request's headers must be closed; {sent} bytes sent"
    );
    still_serves(&server.url(), &mock).await;
}

#[tokio::test]
async fn a_connection_silent_before_its_first_request_is_closed_in_time() {
    let (server, mock) = serve(small_limits()).await;
    // Nothing, one byte of a request line, and the HTTP/2 preface alone: none
    // lets the server tell (or start) a request, so the header timer of
    // HTTP/1 never starts; these connections were once held forever.
    for first in [&b""[..], b"P", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"] {
        let mut silent = TcpStream::connect(server.local_addr()).await.unwrap();
        silent.write_all(first).await.unwrap();
        let mut rest = Vec::new();
        let read =
            tokio::time::timeout(Duration::from_secs(10), silent.read_to_end(&mut rest)).await;
        assert!(
            read.is_ok(),
            "{:?}: still open after 10 s",
            String::from_utf8_lossy(first)
        );
    }
    still_serves(&server.url(), &mock).await;
}

#[tokio::test]
async fn a_stalled_body_gets_an_aws_shaped_timeout_instead_of_holding_its_slot() {
    let (server, mock) = serve(small_limits()).await;
    let mut stalled = TcpStream::connect(server.local_addr()).await.unwrap();
    stalled
        .write_all(b"POST / HTTP/1.1\r\nhost: x\r\ncontent-type: application/x-amz-json-1.0\r\nx-amz-target: AwsProton20200720.CreateEnvironmentTemplate\r\ncontent-length: 20\r\n\r\n{\"name\"")
        .await
        .unwrap();
    still_serves(&server.url(), &mock).await;
    let mut answer = Vec::new();
    let read =
        tokio::time::timeout(Duration::from_secs(10), stalled.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "still open after 10 s");
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 400"), "{text}");
    let body: Value = serde_json::from_str(text.split("\r\n\r\n").nth(1).unwrap_or("")).unwrap();
    assert_eq!(body["__type"], "RequestTimeoutException", "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("did not arrive within 0.3 s"),
        "{body}"
    );
    still_serves(&server.url(), &mock).await;
}

#[test]
fn a_hostile_cassette_name_stays_text_in_reports_written_only_where_asked() {
    let dir = tempfile::tempdir().unwrap();
    let name = r#"../../<script>alert("x")</script>&]]>"#;
    let cassette = json!({
        "format": "proton-vcr.cassette/1",
        "name": name,
        "provenance": {"kind": "documented", "sources": []},
        "interactions": [{
            "elapsed_ms": 0,
            "request": {"method": "POST", "uri": "/",
                "headers": {"content-type": "application/x-amz-json-1.0", "x-amz-target": "AwsProton20200720.ListEnvironments"},
                "body": {"json": {}}},
            "response": {"status": 200, "headers": {"content-type": "application/x-amz-json-1.0"}, "body": {"json": {"environments": []}}}
        }]
    });
    let file = support::write_cassette(dir.path(), "hostile.json", &cassette);
    let reports = dir.path().join("reports");
    let output = std::process::Command::new(support::binary())
        .arg("conform")
        .arg(&file)
        .arg("--report")
        .arg(format!("html={}", reports.join("r.html").display()))
        .arg("--report")
        .arg(format!("junit={}", reports.join("r.xml").display()))
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut written: Vec<_> = std::fs::read_dir(&reports)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    written.sort();
    assert_eq!(written, ["r.html", "r.xml"]);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    for report in ["r.html", "r.xml"] {
        let text = std::fs::read_to_string(reports.join(report)).unwrap();
        assert!(!text.contains("<script>alert"), "{report}: {text}");
        assert!(text.contains("&lt;script&gt;"), "{report}: {text}");
    }
    let parsed = std::process::Command::new("python3")
        .args([
            "-c",
            "import sys, xml.etree.ElementTree as t; t.parse(sys.argv[1])",
        ])
        .arg(reports.join("r.xml"))
        .output()
        .unwrap();
    assert!(
        parsed.status.success(),
        "the JUnit report is well-formed XML: {}",
        String::from_utf8_lossy(&parsed.stderr)
    );
}

#[test]
fn cassettes_with_missing_fields_or_wrong_types_are_named_with_line_column_and_expectation() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "missing.json",
            "{\n  \"format\": \"proton-vcr.cassette/1\",\n  \"name\": \"m\",\n  \"provenance\": {\"kind\": \"documented\"},\n  \"interactions\": [\n    {\"elapsed_ms\": 0,\n     \"request\": {\"method\": \"POST\", \"uri\": \"/\"},\n     \"response\": {\"headers\": {}}}\n  ]\n}\n",
            "missing.json:8:",
            "missing field `status`",
        ),
        (
            "wrong-type.json",
            "{\n  \"format\": \"proton-vcr.cassette/1\",\n  \"name\": \"w\",\n  \"provenance\": {\"kind\": \"documented\"},\n  \"interactions\": [\n    {\"elapsed_ms\": \"soon\",\n     \"request\": {\"method\": \"POST\", \"uri\": \"/\"},\n     \"response\": {\"status\": 200}}\n  ]\n}\n",
            "wrong-type.json:6:",
            "invalid type: string \"soon\", expected u64",
        ),
    ];
    for (file, text, at, expected) in cases {
        let path = dir.path().join(file);
        std::fs::write(&path, text).unwrap();
        let output = std::process::Command::new(support::binary())
            .arg("conform")
            .arg(&path)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(at), "{file}: {stderr}");
        assert!(stderr.contains(expected), "{file}: {stderr}");
    }
}

#[tokio::test]
async fn the_mock_command_applies_its_body_limit() {
    let (mut child, url) = crate::support::spawn_server(&[
        "mock",
        "--listen",
        "127.0.0.1:0",
        "--max-body-bytes",
        "100",
    ]);
    let headers = [
        ("content-type", "application/x-amz-json-1.0"),
        ("x-amz-target", "AwsProton20200720.ListEnvironments"),
    ];
    let big = format!(r#"{{"nextToken": "{}"}}"#, "x".repeat(200));
    let (status, body) = crate::support::http(&url, "POST", "/", &headers, big.as_bytes()).await;
    let (small, _) = crate::support::http(&url, "POST", "/", &headers, b"{}").await;
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(status, 413, "{}", String::from_utf8_lossy(&body));
    assert!(String::from_utf8_lossy(&body).contains("RequestEntityTooLargeException"));
    assert_eq!(small, 200);
}
