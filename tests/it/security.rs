//! Attacks on the recording proxy, tried the way an attacker would: raw
//! HTTP/1 and HTTP/2 requests aimed at making it spend the credentials
//! somewhere else, or on a browser's behalf. Each test has an upstream
//! stand-in that counts what reaches it and, where the attack names a
//! destination, a second "attacker" listener that must never be contacted.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use proton_vcr::{
    ClientKey, CredentialSource, MatchOptions, RecordConfig, RecordServer, StaticCredentials,
};
use serde_json::Value;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const CANARY_AKID: &str = "AKIACANARY0000000099";
const CANARY_SECRET: &str = "canary/Security+Key=0123456789abcdefgh";
const CLIENT_AKID: &str = "AKIDLOCALCLIENTKEY01";
const CLIENT_SECRET: &str = "local-client-secret";

/// A loopback HTTP/1 listener that counts connections and answers every
/// request `200 {}`.
struct Listener {
    addr: SocketAddr,
    connections: Arc<AtomicUsize>,
}

impl Listener {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let connections = Arc::new(AtomicUsize::new(0));
        let count = connections.clone();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let mut data = Vec::new();
                    let mut buf = [0u8; 4096];
                    // Whatever arrives within a moment, then an answer.
                    while let Ok(Ok(n)) =
                        tokio::time::timeout(Duration::from_millis(200), stream.read(&mut buf))
                            .await
                    {
                        if n == 0 {
                            break;
                        }
                        data.extend_from_slice(&buf[..n]);
                    }
                    let _ = stream
                        .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/x-amz-json-1.0\r\nconnection: close\r\ncontent-length: 2\r\n\r\n{}")
                        .await;
                    let _ = stream.shutdown().await;
                });
            }
        });
        Self { addr, connections }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

fn canary() -> CredentialSource {
    CredentialSource::Static(StaticCredentials {
        access_key_id: CANARY_AKID.into(),
        secret_access_key: CANARY_SECRET.into(),
        session_token: Some("canary-session-token".into()),
    })
}

/// How the recorder under attack is configured.
#[derive(Clone, Copy, Debug)]
enum Setup {
    Record,
    ReplayOnMissRecord,
    ClientKey,
}

async fn recorder(setup: Setup, upstream: &Listener, cassette: &Path) -> RecordServer {
    let mut config = RecordConfig::new(cassette, canary());
    config.upstream = Some(upstream.url());
    config.region = Some("us-east-1".into());
    config.service = Some("proton".into());
    config.listen = "127.0.0.1:0".parse().unwrap();
    match setup {
        Setup::Record => {}
        Setup::ReplayOnMissRecord => config.replay = Some(MatchOptions::default()),
        Setup::ClientKey => {
            config.client_key =
                Some(ClientKey::parse(&format!("{CLIENT_AKID}:{CLIENT_SECRET}")).unwrap())
        }
    }
    RecordServer::start(config).await.unwrap()
}

/// Sends raw bytes and reads the answer until the server closes or goes
/// quiet; returns the status and the body parsed as JSON.
async fn raw(addr: SocketAddr, request: &[u8]) -> (u16, Value) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let Ok(Ok(n)) = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf)).await
        else {
            break;
        };
        if n == 0 {
            break;
        }
        data.extend_from_slice(&buf[..n]);
        if complete(&data) {
            break;
        }
    }
    let text = String::from_utf8_lossy(&data).to_string();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {text:?}"));
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

/// A whole response with a Content-Length is in.
fn complete(data: &[u8]) -> bool {
    let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    let head = String::from_utf8_lossy(&data[..end]).to_ascii_lowercase();
    let length: Option<usize> = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok());
    length.is_some_and(|n| data.len() >= end + 4 + n)
}

/// Signs `method` with the client key the way the proxy checks it: Host,
/// X-Amz-Date, and the URI `http://HOST/PATH`. Returns the signing headers.
fn client_key_headers(method: &str, host: &str, path: &str, body: &[u8]) -> Vec<(String, String)> {
    sign_with_client_key(method, host, path, body, false)
}

/// As [`client_key_headers`]; `unsigned_payload` signs
/// `X-Amz-Content-SHA256: UNSIGNED-PAYLOAD` instead of the body's hash.
fn sign_with_client_key(
    method: &str,
    host: &str,
    path: &str,
    body: &[u8],
    unsigned_payload: bool,
) -> Vec<(String, String)> {
    use aws_credential_types::Credentials;
    use aws_sigv4::http_request::{
        PayloadChecksumKind, SignableBody, SignableRequest, SigningSettings, sign,
    };
    use aws_sigv4::sign::v4;
    use aws_smithy_runtime_api::client::identity::Identity;
    let identity: Identity =
        Credentials::new(CLIENT_AKID, CLIENT_SECRET, None, None, "test").into();
    let mut settings = SigningSettings::default();
    if unsigned_payload {
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    }
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region("us-east-1")
        .name("proton")
        .time(std::time::SystemTime::now())
        .settings(settings)
        .build()
        .unwrap()
        .into();
    let signable = SignableRequest::new(
        method,
        format!("http://{host}{path}"),
        [("host", host)].into_iter(),
        if unsigned_payload {
            SignableBody::UnsignedPayload
        } else {
            SignableBody::Bytes(body)
        },
    )
    .unwrap();
    let (instructions, _) = sign(signable, &params).unwrap().into_parts();
    instructions
        .headers()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

fn head_lines(headers: &[(String, String)]) -> String {
    headers
        .iter()
        .map(|(n, v)| format!("{n}: {v}\r\n"))
        .collect()
}

fn assert_refused(answer: &(u16, Value), what: &str) {
    assert_eq!(answer.0, 403, "{what}: {}", answer.1);
    assert_eq!(answer.1["__type"], "RequestRefusedException", "{what}");
    let message = answer.1["message"].as_str().unwrap_or_default();
    assert!(message.contains("not a forward proxy"), "{what}: {message}");
}

/// A plain awsJson request that the proxy does forward: the control that
/// shows the upstream would have seen the attacks had they passed.
async fn control(server: &RecordServer, setup: Setup) {
    let host = server.local_addr().to_string();
    let body = b"{}";
    let mut headers = vec![
        ("host".to_string(), host.clone()),
        (
            "x-amz-target".to_string(),
            "AwsProton20200720.ListEnvironments".to_string(),
        ),
        (
            "content-type".to_string(),
            "application/x-amz-json-1.0".to_string(),
        ),
    ];
    if matches!(setup, Setup::ClientKey) {
        headers.extend(client_key_headers("POST", &host, "/", body));
    }
    let request = format!(
        "POST / HTTP/1.1\r\n{}content-length: 2\r\nconnection: close\r\n\r\n{{}}",
        head_lines(&headers)
    );
    let answer = raw(server.local_addr(), request.as_bytes()).await;
    assert_eq!(
        answer.0, 200,
        "the control request is forwarded: {}",
        answer.1
    );
}

/// Every request form a forward proxy takes, over HTTP/1.1.
fn http1_attacks(proxy: SocketAddr, attacker: SocketAddr, setup: Setup) -> Vec<(String, Vec<u8>)> {
    let host = proxy.to_string();
    let sign = |method: &str, path: &str| -> String {
        if matches!(setup, Setup::ClientKey) {
            head_lines(&client_key_headers(method, &host, path, b""))
        } else {
            String::new()
        }
    };
    vec![
        (
            "CONNECT @attacker".into(),
            format!(
                "CONNECT @{attacker} HTTP/1.1\r\nhost: {host}\r\n{}\r\n",
                sign("CONNECT", "/")
            )
            .into_bytes(),
        ),
        (
            "CONNECT attacker".into(),
            format!(
                "CONNECT {attacker} HTTP/1.1\r\nhost: {attacker}\r\n{}\r\n",
                sign("CONNECT", "/")
            )
            .into_bytes(),
        ),
        (
            "absolute-form to the attacker".into(),
            format!(
                "POST http://{attacker}/ HTTP/1.1\r\nhost: {host}\r\nx-amz-target: AwsProton20200720.ListEnvironments\r\ncontent-type: application/x-amz-json-1.0\r\ncontent-length: 0\r\nconnection: close\r\n{}\r\n",
                sign("POST", "/")
            )
            .into_bytes(),
        ),
        (
            "OPTIONS *".into(),
            format!(
                "OPTIONS * HTTP/1.1\r\nhost: {host}\r\nconnection: close\r\n{}\r\n",
                sign("OPTIONS", "/")
            )
            .into_bytes(),
        ),
    ]
}

/// Sends one HTTP/2 request (prior knowledge, h2c); returns status and body.
async fn h2(addr: SocketAddr, request: hyper::Request<Full<Bytes>>) -> (u16, Value) {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(stream),
    )
    .await
    .unwrap();
    tokio::spawn(connection);
    let response = sender.send_request(request).await.unwrap();
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

async fn try_every_form(setup: Setup) {
    let upstream = Listener::start().await;
    let attacker = Listener::start().await;
    let dir = tempfile::tempdir().unwrap();
    let cassette = dir.path().join("c.json");
    let server = recorder(setup, &upstream, &cassette).await;
    let proxy = server.local_addr();

    for (what, request) in http1_attacks(proxy, attacker.addr, setup) {
        let answer = raw(proxy, &request).await;
        assert_refused(&answer, &format!("{setup:?}, HTTP/1.1 {what}"));
    }
    let connect = hyper::Request::builder()
        .method("CONNECT")
        .uri(format!("@{}", attacker.addr))
        .body(Full::new(Bytes::new()))
        .unwrap();
    assert_refused(
        &h2(proxy, connect).await,
        &format!("{setup:?}, HTTP/2 CONNECT"),
    );
    let connect = hyper::Request::builder()
        .method("CONNECT")
        .uri(attacker.addr.to_string())
        .body(Full::new(Bytes::new()))
        .unwrap();
    assert_refused(
        &h2(proxy, connect).await,
        &format!("{setup:?}, HTTP/2 CONNECT"),
    );
    assert_eq!(
        attacker.connections(),
        0,
        "{setup:?}: the attacker was contacted"
    );
    assert_eq!(
        upstream.connections(),
        0,
        "{setup:?}: the upstream saw an attack"
    );

    control(&server, setup).await;
    assert_eq!(upstream.connections(), 1, "{setup:?}");
    assert_eq!(attacker.connections(), 0, "{setup:?}");
    server.shutdown().await;
    let recorded = proton_vcr::cassette::load_file(&cassette).unwrap().cassette;
    assert_eq!(
        recorded.interactions.len(),
        1,
        "{setup:?}: only the control request is recorded"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_recorder_refuses_connect_absolute_and_asterisk_forms_over_http1_and_http2() {
    try_every_form(Setup::Record).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_on_miss_record_refuses_connect_absolute_and_asterisk_forms() {
    try_every_form(Setup::ReplayOnMissRecord).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_key_holder_cannot_use_the_recorder_as_a_forward_proxy() {
    try_every_form(Setup::ClientKey).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http2_authority_never_chooses_the_destination() {
    let upstream = Listener::start().await;
    let attacker = Listener::start().await;
    let dir = tempfile::tempdir().unwrap();
    let server = recorder(Setup::Record, &upstream, &dir.path().join("c.json")).await;
    let request = hyper::Request::builder()
        .method("POST")
        .uri(format!("http://{}/", attacker.addr))
        .header("x-amz-target", "AwsProton20200720.ListEnvironments")
        .header("content-type", "application/x-amz-json-1.0")
        .body(Full::new(Bytes::from_static(b"{}")))
        .unwrap();
    let (status, body) = h2(server.local_addr(), request).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(attacker.connections(), 0);
    assert_eq!(upstream.connections(), 1);
    server.shutdown().await;
}

/// One awsJson HTTP/1.1 request with extra headers (Host included).
fn aws_json(headers: &[(&str, &str)]) -> Vec<u8> {
    let lines: String = headers
        .iter()
        .map(|(n, v)| format!("{n}: {v}\r\n"))
        .collect();
    format!(
        "POST / HTTP/1.1\r\n{lines}x-amz-target: AwsProton20200720.ListEnvironments\r\ncontent-type: application/x-amz-json-1.0\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{{}}"
    )
    .into_bytes()
}

fn assert_browser_refused(answer: &(u16, Value), what: &str, flag: &str) {
    assert_eq!(answer.0, 403, "{what}: {}", answer.1);
    assert_eq!(answer.1["__type"], "RequestRefusedException", "{what}");
    let message = answer.1["message"].as_str().unwrap_or_default();
    assert!(message.contains(flag), "{what}: {message}");
}

/// What a page open in a browser can send to a loopback port: a cross-site
/// fetch (Origin), a form post or navigation (Sec-Fetch-*), and a request
/// after DNS rebinding (its own name in Host).
fn browser_requests(proxy: SocketAddr) -> Vec<(&'static str, Vec<u8>, &'static str)> {
    let host = proxy.to_string();
    let rebound = format!("attacker.example:{}", proxy.port());
    vec![
        (
            "cross-site fetch",
            aws_json(&[
                ("host", &host),
                ("origin", "https://attacker.example"),
                ("sec-fetch-site", "cross-site"),
                ("sec-fetch-mode", "cors"),
            ]),
            "--allow-origin",
        ),
        (
            "form post with an opaque origin",
            aws_json(&[("host", &host), ("origin", "null")]),
            "--allow-origin",
        ),
        (
            "fetch metadata without Origin",
            aws_json(&[("host", &host), ("sec-fetch-site", "cross-site")]),
            "--allow-origin",
        ),
        (
            "DNS rebinding",
            aws_json(&[("host", &rebound)]),
            "--allow-host",
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_in_a_browser_cannot_make_the_recorder_spend_the_credentials() {
    let upstream = Listener::start().await;
    let dir = tempfile::tempdir().unwrap();
    let cassette = dir.path().join("c.json");
    for setup in [Setup::Record, Setup::ReplayOnMissRecord] {
        let server = recorder(setup, &upstream, &cassette).await;
        for (what, request, flag) in browser_requests(server.local_addr()) {
            let answer = raw(server.local_addr(), &request).await;
            assert_browser_refused(&answer, &format!("{setup:?}: {what}"), flag);
        }
        assert_eq!(
            upstream.connections(),
            0,
            "{setup:?}: the upstream was called"
        );
        server.shutdown().await;
        let recorded = proton_vcr::cassette::load_file(&cassette).unwrap().cassette;
        assert!(
            recorded.interactions.is_empty(),
            "{setup:?}: something was recorded"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_allowed_origin_is_served_and_others_are_not() {
    let upstream = Listener::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = RecordConfig::new(dir.path().join("c.json"), canary());
    config.upstream = Some(upstream.url());
    config.region = Some("us-east-1".into());
    config.service = Some("proton".into());
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.access.allowed_origins = vec!["http://localhost:3000".into()];
    let server = RecordServer::start(config).await.unwrap();
    let host = server.local_addr().to_string();
    let answer = raw(
        server.local_addr(),
        &aws_json(&[
            ("host", &host),
            ("origin", "http://localhost:3000"),
            ("sec-fetch-site", "same-site"),
        ]),
    )
    .await;
    assert_eq!(answer.0, 200, "{}", answer.1);
    assert_eq!(upstream.connections(), 1);
    let answer = raw(
        server.local_addr(),
        &aws_json(&[("host", &host), ("origin", "http://localhost:3001")]),
    )
    .await;
    assert_browser_refused(&answer, "another origin", "--allow-origin");
    assert_eq!(upstream.connections(), 1);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_in_a_browser_cannot_read_the_replayed_cassettes() {
    let dir = tempfile::tempdir().unwrap();
    let cassette = serde_json::json!({
        "format": "proton-vcr.cassette/1",
        "name": "browser",
        "provenance": {"kind": "documented", "sources": []},
        "interactions": [{
            "elapsed_ms": 0,
            "request": {"method": "POST", "uri": "/",
                "headers": {"x-amz-target": "AwsProton20200720.ListEnvironments", "content-type": "application/x-amz-json-1.0"},
                "body": {"json": {}}},
            "response": {"status": 200, "headers": {"content-type": "application/x-amz-json-1.0"}, "body": {"json": {"environments": []}}}
        }]
    });
    let path = crate::support::write_cassette(dir.path(), "browser.json", &cassette);
    let server = proton_vcr::ReplayServer::start(proton_vcr::ReplayConfig::new(
        proton_vcr::cassette::load(&path).unwrap(),
        MatchOptions::default(),
    ))
    .await
    .unwrap();
    for (what, request, flag) in browser_requests(server.local_addr()) {
        let answer = raw(server.local_addr(), &request).await;
        assert_browser_refused(&answer, what, flag);
    }
    let host = server.local_addr().to_string();
    let answer = raw(server.local_addr(), &aws_json(&[("host", &host)])).await;
    assert_eq!(answer.0, 200, "an AWS client is served: {}", answer.1);
    server.shutdown().await;
}

#[test]
fn replay_and_mock_listen_beyond_loopback_only_with_allow_remote() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &[
            "replay",
            "--cassette",
            "cassettes/proton",
            "--listen",
            "0.0.0.0:0",
        ][..],
        &["mock", "--listen", "0.0.0.0:0"][..],
    ] {
        let output = std::process::Command::new(crate::support::binary())
            .args(args)
            .current_dir(crate::support::repo_root())
            .env("HOME", dir.path())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("--allow-remote"), "{args:?}: {stderr}");
        assert!(output.stdout.is_empty(), "{args:?}: never announced");
    }
}

/// An awsJson request signed with the client key, as raw HTTP/1.1.
fn signed_request(
    proxy: SocketAddr,
    body: &str,
    signed_body: &str,
    unsigned_payload: bool,
) -> Vec<u8> {
    let host = proxy.to_string();
    let signing =
        sign_with_client_key("POST", &host, "/", signed_body.as_bytes(), unsigned_payload);
    format!(
        "POST / HTTP/1.1\r\nhost: {host}\r\n{}x-amz-target: AwsProton20200720.CreateEnvironmentTemplate\r\ncontent-type: application/x-amz-json-1.0\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        head_lines(&signing),
        body.len()
    )
    .into_bytes()
}

fn assert_signature_refused(answer: &(u16, Value), what: &str, says: &str) {
    assert_eq!(answer.0, 403, "{what}: {}", answer.1);
    assert_eq!(answer.1["__type"], "InvalidSignatureException", "{what}");
    let message = answer.1["message"].as_str().unwrap_or_default();
    assert!(message.contains(says), "{what}: {message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sniffed_unsigned_payload_request_cannot_be_sent_with_another_body() {
    let upstream = Listener::start().await;
    let dir = tempfile::tempdir().unwrap();
    let server = recorder(Setup::ClientKey, &upstream, &dir.path().join("c.json")).await;
    let proxy = server.local_addr();
    let original = r#"{"name":"harmless"}"#;
    let sniffed = signed_request(proxy, original, original, true);
    let answer = raw(proxy, &sniffed).await;
    assert_signature_refused(&answer, "the original", "unsigned");
    let swapped = signed_request(proxy, r#"{"name":"attacker-chosen"}"#, original, true);
    let answer = raw(proxy, &swapped).await;
    assert_signature_refused(&answer, "another body", "unsigned");
    assert_eq!(upstream.connections(), 0);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exact_replay_of_a_client_key_request_is_refused() {
    let upstream = Listener::start().await;
    let dir = tempfile::tempdir().unwrap();
    let server = recorder(Setup::ClientKey, &upstream, &dir.path().join("c.json")).await;
    let proxy = server.local_addr();
    let body = r#"{"name":"once"}"#;
    let request = signed_request(proxy, body, body, false);
    let answer = raw(proxy, &request).await;
    assert_eq!(answer.0, 200, "{}", answer.1);
    let answer = raw(proxy, &request).await;
    assert_signature_refused(&answer, "the replay", "already used");
    assert_eq!(
        upstream.connections(),
        1,
        "only the first reached the upstream"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn a_plaintext_upstream_beyond_loopback_needs_an_opt_in() {
    let dir = tempfile::tempdir().unwrap();
    for (upstream, allowed, starts) in [
        ("http://192.0.2.10:4566", false, false),
        ("http://sts.amazonaws.com", false, false),
        ("http://192.0.2.10:4566", true, true),
        ("http://localhost:4566", false, true),
        ("http://127.0.0.1:4566", false, true),
        ("http://[::1]:4566", false, true),
        ("https://192.0.2.10", false, true),
    ] {
        let mut config = RecordConfig::new(dir.path().join("c.json"), canary());
        config.mode = proton_vcr::WriteMode::Overwrite;
        config.upstream = Some(upstream.into());
        config.region = Some("us-east-1".into());
        config.listen = "127.0.0.1:0".parse().unwrap();
        config.allow_plaintext_upstream = allowed;
        match RecordServer::start(config).await {
            Ok(server) => {
                assert!(starts, "{upstream} started without the opt-in");
                server.shutdown().await;
            }
            Err(error) => {
                assert!(!starts, "{upstream}: {error}");
                let message = error.to_string();
                assert!(message.contains("--allow-plaintext-upstream"), "{message}");
                assert!(message.contains("clear text"), "{message}");
            }
        }
    }
}

/// Plain GET over HTTP/1.1 with a loopback Host; returns status and raw body.
async fn get_raw(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut data = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut data)).await;
    let text = String::from_utf8_lossy(&data).to_string();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {text:?}"));
    let body = text
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_string();
    (status, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_s3_key_named_like_an_admin_route_is_replayed_not_shadowed() {
    let dir = tempfile::tempdir().unwrap();
    let cassette = serde_json::json!({
        "format": "proton-vcr.cassette/1",
        "name": "s3-admin-like-key",
        "provenance": {"kind": "documented", "sources": []},
        "interactions": [{
            "elapsed_ms": 0,
            "request": {"method": "GET", "uri": "/__vcr/status", "headers": {}, "body": {"text": ""}},
            "response": {"status": 200, "headers": {"content-type": "text/plain"}, "body": {"text": "the object's bytes"}}
        }]
    });
    let path = crate::support::write_cassette(dir.path(), "s3.json", &cassette);
    let mut config = proton_vcr::ReplayConfig::new(
        proton_vcr::cassette::load(&path).unwrap(),
        MatchOptions::default(),
    );
    config.admin_listen = Some("127.0.0.1:0".parse().unwrap());
    let server = proton_vcr::ReplayServer::start(config).await.unwrap();
    let (status, body) = get_raw(server.local_addr(), "/__vcr/status").await;
    assert_eq!((status, body.as_str()), (200, "the object's bytes"));

    let admin: SocketAddr = server
        .admin_url()
        .unwrap()
        .trim_start_matches("http://")
        .parse()
        .unwrap();
    let (status, body) = get_raw(admin, "/__vcr/status").await;
    assert_eq!(status, 200, "{body}");
    let report: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (report["used"].as_u64(), report["total"].as_u64()),
        (Some(1), Some(1))
    );
    let (status, body) = get_raw(admin, "/bucket/key").await;
    assert_eq!(
        status, 404,
        "the admin listener serves nothing else: {body}"
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_recorder_forwards_an_admin_like_path_and_invents_no_admin_answer() {
    let upstream = Listener::start().await;
    let dir = tempfile::tempdir().unwrap();
    let cassette = dir.path().join("c.json");
    let mut config = RecordConfig::new(&cassette, canary());
    config.upstream = Some(upstream.url());
    config.region = Some("us-east-1".into());
    config.service = Some("s3".into());
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.admin_listen = Some("127.0.0.1:0".parse().unwrap());
    let server = RecordServer::start(config).await.unwrap();
    let (status, body) = get_raw(server.local_addr(), "/__vcr/status").await;
    assert_eq!(
        (status, body.as_str()),
        (200, "{}"),
        "the upstream's answer"
    );
    assert_eq!(upstream.connections(), 1, "forwarded to the upstream");

    let admin: SocketAddr = server
        .admin_url()
        .unwrap()
        .trim_start_matches("http://")
        .parse()
        .unwrap();
    for path in ["/__vcr/status"] {
        let (status, body) = get_raw(admin, path).await;
        assert_eq!(status, 404, "{body}");
        assert!(body.contains("records without replaying"), "{body}");
    }
    assert_eq!(upstream.connections(), 1);
    server.shutdown().await;
    let recorded = proton_vcr::cassette::load_file(&cassette).unwrap().cassette;
    assert_eq!(recorded.interactions.len(), 1);
    assert_eq!(recorded.interactions[0].request.uri, "/__vcr/status");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mock_admin_routes_need_a_signature_under_verify_signatures() {
    let server = proton_vcr::MockServer::start(proton_vcr::MockConfig {
        verify_signatures: Some(
            proton_vcr::ClientKey::parse(&format!("{CLIENT_AKID}:{CLIENT_SECRET}")).unwrap(),
        ),
        clock: proton_vcr::ClockMode::Manual,
        ..Default::default()
    })
    .await
    .unwrap();
    let addr = server.local_addr();
    let before = server.mock().clock_ms();
    let body = r#"{"advance_ms": 3600000}"#;
    let unsigned = format!(
        "POST /__mock/clock HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let answer = raw(addr, unsigned.as_bytes()).await;
    assert_eq!(answer.0, 400, "{}", answer.1);
    assert_eq!(
        answer.1["__type"],
        "com.amazon.coral.service#MissingAuthenticationTokenException"
    );
    assert_eq!(server.mock().clock_ms(), before, "the clock did not move");
    let (status, state) = get_raw(addr, "/__mock/state").await;
    assert_eq!(
        status, 400,
        "reading the state needs a signature too: {state}"
    );

    let host = addr.to_string();
    let signed = format!(
        "POST /__mock/clock HTTP/1.1\r\nhost: {host}\r\n{}content-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        head_lines(&client_key_headers(
            "POST",
            &host,
            "/__mock/clock",
            body.as_bytes()
        )),
        body.len()
    );
    let answer = raw(addr, signed.as_bytes()).await;
    assert_eq!(answer.0, 200, "{}", answer.1);
    assert_eq!(server.mock().clock_ms(), before + 3_600_000);
    server.shutdown().await;
}

/// A mock with short timeouts and a small buffering budget.
async fn small_mock() -> proton_vcr::MockServer {
    proton_vcr::MockServer::start(proton_vcr::MockConfig {
        limits: proton_vcr::Limits {
            max_body_bytes: 64 * 1024,
            max_buffered_bytes: 64 * 1024,
            header_read_timeout: Duration::from_millis(300),
            body_read_timeout: Duration::from_secs(30),
        },
        ..proton_vcr::MockConfig::default()
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_http2_connection_is_closed_like_an_http1_one() {
    let server = small_mock().await;
    let stream = TcpStream::connect(server.local_addr()).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(stream),
    )
    .await
    .unwrap();
    let connection = tokio::spawn(connection);
    let request = hyper::Request::builder()
        .method("GET")
        .uri(format!("http://{}/__mock/clock", server.local_addr()))
        .body(Full::new(Bytes::new()))
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    assert_eq!(response.status(), 200);
    response.into_body().collect().await.unwrap();
    // The server closes the connection once it has been idle for the header
    // read timeout; on a connection kept open forever this times out.
    tokio::time::timeout(Duration::from_secs(10), connection)
        .await
        .expect("the idle HTTP/2 connection was closed by the server")
        .unwrap()
        .ok();
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_half_closes_after_its_request_gets_the_answer() {
    let server = small_mock().await;
    let mut stream = TcpStream::connect(server.local_addr()).await.unwrap();
    let request = format!(
        "GET /__mock/clock HTTP/1.1\r\nhost: {}\r\n\r\n",
        server.local_addr()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    stream.shutdown().await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer))
        .await
        .expect("the server answers or closes")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer:?}");
    assert!(answer.contains("clock_ms"), "{answer:?}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_bytes_held_at_once_are_capped_with_an_aws_shaped_slowdown() {
    let server = small_mock().await;
    let addr = server.local_addr();
    let post = |length: usize, sent: usize| {
        format!(
            "POST / HTTP/1.1\r\nhost: {addr}\r\nx-amz-target: AwsProton20200720.ListEnvironmentTemplates\r\ncontent-type: application/x-amz-json-1.0\r\ncontent-length: {length}\r\nconnection: close\r\n\r\n{}",
            " ".repeat(sent)
        )
    };
    // A stalled upload holding most of the budget.
    let stall = || async {
        let mut stalled = TcpStream::connect(addr).await.unwrap();
        stalled
            .write_all(post(60 * 1024, 1024).as_bytes())
            .await
            .unwrap();
        stalled
    };
    let mut stalled = stall().await;
    let mut refused = None;
    for _ in 0..100 {
        let answer = raw(addr, post(8 * 1024, 8 * 1024).as_bytes()).await;
        if answer.0 == 503 {
            refused = Some(answer);
            break;
        }
        // The stalled request's headers may not have been read yet; or they
        // were read while a probe held its bytes, and the stalled upload was
        // the one refused (it has an answer): start it again.
        if stalled.try_read(&mut [0u8; 1]).is_ok() {
            stalled = stall().await;
        }
        tokio::task::yield_now().await;
    }
    let (status, body) = refused.expect("a request over the budget gets a 503");
    assert_eq!(status, 503);
    assert_eq!(body["__type"], "SlowDown", "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("65536 bytes"),
        "{body}"
    );
    // Once the stalled upload goes, its bytes are free again.
    drop(stalled);
    let mut status = 503;
    for _ in 0..500 {
        status = raw(addr, post(2, 2).as_bytes()).await.0;
        if status != 503 {
            break;
        }
        tokio::task::yield_now().await;
    }
    assert_eq!(status, 200);
    server.shutdown().await;
}

#[test]
fn a_server_raises_its_open_file_limit_to_the_hard_limit() {
    let mut child = std::process::Command::new("bash")
        .arg("-c")
        .arg(r#"ulimit -Sn 256 && exec "$@""#)
        .arg("proton-vcr")
        .arg(crate::support::binary())
        .args(["mock", "--listen", "127.0.0.1:0"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    assert!(line.starts_with("listening on"), "{line}");
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", child.id())).unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let open_files: Vec<&str> = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap()
        .split_whitespace()
        .collect();
    let (soft, hard) = (open_files[3], open_files[4]);
    assert_ne!(
        hard, "256",
        "the hard limit must be above 256 to tell: {limits}"
    );
    assert_eq!(soft, hard, "{limits}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_replay_command_announces_its_admin_listener_on_the_second_line() {
    use std::io::BufRead;
    let mut child = std::process::Command::new(crate::support::binary())
        .args([
            "replay",
            "--cassette",
            "cassettes/proton",
            "--listen",
            "127.0.0.1:0",
            "--admin-listen",
            "127.0.0.1:0",
        ])
        .current_dir(crate::support::repo_root())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let second = lines.next().unwrap().unwrap();
    let url = first
        .strip_prefix("listening on http://")
        .unwrap()
        .to_string();
    let admin = second
        .strip_prefix("admin listening on http://")
        .unwrap_or_else(|| panic!("{second:?}"))
        .to_string();
    assert_ne!(url, admin);
    let (status, body) = get_raw(admin.parse().unwrap(), "/__vcr/status").await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = get_raw(url.parse().unwrap(), "/__vcr/status").await;
    assert_eq!(
        status, 400,
        "a miss on the AWS port, not the admin answer: {body}"
    );
    assert!(body.contains("ReplayMissException"), "{body}");
    let _ = child.kill();
    let _ = child.wait();
}
