//! The recording proxy end to end. Clients (the Rust SDK, the AWS CLI, raw
//! HTTP) sign with dummy credentials; the proxy re-signs with canary
//! credentials and forwards to a local HTTPS upstream (`sigv4_upstream.py`)
//! that accepts a request only if botocore's own SigV4 implementation
//! computes the same signature. Every cassette written is checked, byte for
//! byte, for the canary credentials.

use crate::support::Process;
use crate::support::{self, DUMMY_AKID, DUMMY_SECRET, Retries, proton_client_with};
use aws_sdk_proton::error::ProvideErrorMetadata;
use http::Method;
use proton_vcr::cassette::{self, Cassette, load_file};
use proton_vcr::{
    ClientKey, CredentialSource, ListenError, MatchOptions, RecordConfig, RecordError,
    RecordServer, ReplayConfig, ReplayServer, Request, Response, StaticCredentials, TokenPath,
    Upstream, UpstreamOptions, WriteMode,
};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tempfile::TempDir;

const CANARY_AKID: &str = "AKIACANARY0000000042";
const CANARY_SECRET: &str = "canary/Secret+Key=0123456789abcdefghijk";
const CANARY_TOKEN: &str = "IQoJb3JpZ2luX2VjEcanary//session+token==";
/// The account the test upstream puts in its ARNs.
const REAL_ACCOUNT: &str = "111122223333";

fn canary() -> CredentialSource {
    CredentialSource::Static(StaticCredentials {
        access_key_id: CANARY_AKID.into(),
        secret_access_key: CANARY_SECRET.into(),
        session_token: Some(CANARY_TOKEN.into()),
    })
}

/// A scratch folder, a test CA, and the botocore-checked HTTPS upstream
/// expecting the canary credentials.
struct Fixture {
    dir: TempDir,
    ca: PathBuf,
    upstream: PyUpstream,
}

struct PyUpstream {
    /// Held for its drop, which stops the upstream.
    _process: Process,
    url: String,
    log: PathBuf,
}

impl Fixture {
    fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let (ca, cert, key) = make_certificates(dir.path());
        let log = dir.path().join("upstream.log");
        let script = support::repo_root().join("tests/it/sigv4_upstream.py");
        let mut child = Command::new("python3")
            .arg(&script)
            .arg("--cert")
            .arg(&cert)
            .arg("--key")
            .arg(&key)
            .arg("--log")
            .arg(&log)
            .env("UPSTREAM_ACCESS_KEY_ID", CANARY_AKID)
            .env("UPSTREAM_SECRET_ACCESS_KEY", CANARY_SECRET)
            .env("UPSTREAM_SESSION_TOKEN", CANARY_TOKEN)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 with botocore must be installed: .ci/run installs it with pip");
        let url = support::announced_url(&mut child, || "(the python upstream)".into());
        Self {
            dir,
            ca,
            upstream: PyUpstream {
                _process: Process(child),
                url,
                log,
            },
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A recording of `cassette` through the upstream with the canary credentials.
    fn config(&self, cassette: &str) -> RecordConfig {
        let mut config = RecordConfig::new(self.path(cassette), canary());
        config.upstream = Some(self.upstream.url.clone());
        config.upstream_options.ca_file = Some(self.ca.clone());
        config.listen = "127.0.0.1:0".parse().unwrap();
        config
    }

    /// `host:port` of the upstream.
    fn upstream_host(&self) -> &str {
        self.upstream.url.trim_start_matches("https://")
    }
}

impl PyUpstream {
    /// One JSON object per request received, in arrival order.
    fn log(&self) -> Vec<serde_json::Value> {
        support::json_lines(&self.log)
    }
}

/// Writes a CA and a certificate for 127.0.0.1 and localhost signed by it.
fn make_certificates(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    };
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "proton-vcr test CA");
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let mut params =
        CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).unwrap();
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let cert = params.signed_by(&key, &ca, &ca_key).unwrap();
    let paths = (
        dir.join("ca.pem"),
        dir.join("cert.pem"),
        dir.join("key.pem"),
    );
    std::fs::write(&paths.0, ca.pem()).unwrap();
    std::fs::write(&paths.1, cert.pem()).unwrap();
    std::fs::write(&paths.2, key.serialize_pem()).unwrap();
    paths
}

/// The region and service each recorded answer says the upstream saw signed
/// (the Python upstream echoes them in `x-test-signed-scope`).
fn signed_scopes(cassette: &Cassette) -> Vec<String> {
    cassette
        .interactions
        .iter()
        .map(|i| {
            i.response
                .headers
                .get("x-test-signed-scope")
                .unwrap_or_default()
                .to_string()
        })
        .collect()
}

/// Sends a hand-made request to `base` (`http://HOST:PORT`).
async fn raw(base: &str, headers: &[(&'static str, &str)], body: &str) -> Response {
    let mut request = Request::new(Method::POST, &format!("{base}/")).unwrap();
    for (name, value) in headers {
        request.headers.insert(*name, value.parse().unwrap());
    }
    request.body = body.to_string().into();
    Upstream::new(UpstreamOptions::default())
        .unwrap()
        .send(request)
        .await
        .unwrap()
}

fn get_template_headers() -> Vec<(&'static str, &'static str)> {
    vec![
        ("content-type", "application/x-amz-json-1.0"),
        ("x-amz-target", "AwsProton20200720.GetEnvironmentTemplate"),
    ]
}

/// The cassette file's bytes hold none of the canary credentials, in any form.
fn assert_no_canary(path: &Path) -> Cassette {
    let bytes = std::fs::read(path).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    for secret in [
        CANARY_AKID,
        CANARY_SECRET,
        CANARY_TOKEN,
        "canary%2FSecret",
        "canary/Secret",
        "IQoJb3JpZ2lu",
    ] {
        assert!(
            !text.contains(secret),
            "{} holds a canary credential ({secret})",
            path.display()
        );
    }
    for header in [
        "\"authorization\"",
        "\"x-amz-security-token\"",
        "\"cookie\"",
    ] {
        assert!(
            !text.contains(header),
            "{} holds a {header} header",
            path.display()
        );
    }
    load_file(path).unwrap().cassette
}

fn template_name(value: &cassette::Body) -> Option<String> {
    let json = value.json()?;
    json.get("name")
        .or_else(|| json.pointer("/environmentTemplate/name"))
        .and_then(|n| n.as_str())
        .map(str::to_string)
}

fn names(cassette: &Cassette) -> Vec<String> {
    cassette
        .interactions
        .iter()
        .map(|i| template_name(&i.request.body).unwrap_or_default())
        .collect()
}

async fn aws_cli(endpoint: &str, args: &[&str]) -> std::process::Output {
    let endpoint = endpoint.to_string();
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        support::aws_cli(&endpoint, &args)
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resigned_requests_pass_an_independent_botocore_check() {
    let fx = Fixture::start();
    let mut config = fx.config("resigned.json");
    // Only for requests without a scope of their own: the clients' scope wins.
    config.region = Some("eu-west-1".into());
    config.service = Some("proton".into());
    // A Host allowed by name still never chooses the destination.
    config.access.allowed_hosts = vec!["evil.example.com".into()];
    let server = RecordServer::start(config).await.unwrap();
    let client = proton_client_with(&server.url(), DUMMY_AKID, DUMMY_SECRET, Retries::Off);

    let got = client
        .get_environment_template()
        .name("t-sdk")
        .send()
        .await
        .unwrap();
    assert_eq!(got.environment_template().map(|t| t.name()), Some("t-sdk"));
    client.list_environment_templates().send().await.unwrap();
    let cli = aws_cli(
        &server.url(),
        &["proton", "get-environment-template", "--name", "t-cli"],
    )
    .await;
    assert_eq!(
        support::cli_json(&cli)["environmentTemplate"]["name"],
        "t-cli"
    );
    // Unsigned and naming another host: still signed for, and sent to, the upstream only.
    let mut headers = get_template_headers();
    headers.push(("host", "evil.example.com"));
    let answer = raw(&server.url(), &headers, r#"{"name":"t-raw"}"#).await;
    assert_eq!(
        answer.status,
        200,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    assert_eq!(answer.header("x-test-host"), Some(fx.upstream_host()));
    assert_eq!(
        answer.header("x-test-signed-scope"),
        Some("eu-west-1/proton")
    );
    server.shutdown().await;

    let log = fx.upstream.log();
    assert_eq!(log.len(), 4, "{log:?}");
    assert!(log.iter().all(|r| r["verified"] == true), "{log:?}");
    let cassette = assert_no_canary(&fx.path("resigned.json"));
    assert_eq!(cassette.interactions.len(), 4);
    let scopes = signed_scopes(&cassette);
    assert_eq!(
        scopes,
        [
            "us-east-1/proton",
            "us-east-1/proton",
            "us-east-1/proton",
            "eu-west-1/proton"
        ]
    );
    assert!(
        cassette
            .interactions
            .iter()
            .all(|i| i.response.headers.get("x-test-host") == Some(fx.upstream_host()))
    );
    assert_eq!(
        cassette.provenance.endpoint.as_deref(),
        Some(fx.upstream.url.as_str())
    );
    assert_eq!(cassette.provenance.region.as_deref(), Some("eu-west-1"));
    assert_eq!(cassette.provenance.kind, "recorded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_upstream_rejects_a_wrong_signature_and_its_403_is_recorded() {
    let fx = Fixture::start();
    let mut config = fx.config("wrong-key.json");
    config.credentials = CredentialSource::Static(StaticCredentials {
        access_key_id: CANARY_AKID.into(),
        secret_access_key: "not-the-canary-secret".into(),
        session_token: Some(CANARY_TOKEN.into()),
    });
    let server = RecordServer::start(config).await.unwrap();
    let error = proton_client_with(&server.url(), DUMMY_AKID, DUMMY_SECRET, Retries::Off)
        .get_environment_template()
        .name("t1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error.code(), Some("InvalidSignatureException"), "{error:?}");
    server.shutdown().await;

    assert_eq!(fx.upstream.log()[0]["verified"], false);
    let cassette = assert_no_canary(&fx.path("wrong-key.json"));
    assert_eq!(cassette.interactions.len(), 1);
    assert_eq!(cassette.interactions[0].response.status, 403);
    let text = std::fs::read_to_string(fx.path("wrong-key.json")).unwrap();
    assert!(!text.contains("not-the-canary-secret"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_holding_a_secret_is_withheld_and_not_recorded() {
    let fx = Fixture::start();
    let server = RecordServer::start(fx.config("withheld.json"))
        .await
        .unwrap();
    let client = proton_client_with(&server.url(), DUMMY_AKID, DUMMY_SECRET, Retries::Off);
    // The upstream echoes the Authorization it received: the canary key id.
    let error = client
        .get_environment_template()
        .name("echo-authorization")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error.code(), Some("RecordingRefusedException"), "{error:?}");
    assert!(
        error
            .message()
            .unwrap_or_default()
            .contains("the access key id in use"),
        "{error:?}"
    );
    client
        .get_environment_template()
        .name("after")
        .send()
        .await
        .unwrap();
    server.shutdown().await;

    let cassette = assert_no_canary(&fx.path("withheld.json"));
    assert_eq!(names(&cassette), ["after"]);
}

/// Runs the binary with the canary credentials in its environment (the
/// standard chain's first source).
struct VcrProcess {
    child: Process,
    url: String,
    stderr: PathBuf,
}

impl VcrProcess {
    fn spawn(fx: &Fixture, args: &[&str]) -> Self {
        Self::spawn_command(fx, vcr_command(fx, args))
    }

    fn spawn_command(fx: &Fixture, mut command: Command) -> Self {
        let stderr = fx.path(&format!("stderr-{}.log", uuid::Uuid::new_v4()));
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .unwrap();
        let url = support::announced_url(&mut child, || {
            std::fs::read_to_string(&stderr).unwrap_or_default()
        });
        Self {
            child: Process(child),
            url,
            stderr,
        }
    }

    fn terminate(&mut self) -> std::process::ExitStatus {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        wait_with_timeout(&mut self.child, Duration::from_secs(20))
    }
}

/// The process's log holds none of the canary credentials.
fn assert_log_clean(process: &VcrProcess) {
    let log = std::fs::read_to_string(&process.stderr).unwrap();
    for secret in [CANARY_AKID, CANARY_SECRET, CANARY_TOKEN] {
        assert!(
            !log.contains(secret),
            "the log holds a canary credential ({secret})"
        );
    }
}

fn vcr_command(fx: &Fixture, args: &[&str]) -> Command {
    let mut command = clean_command(fx, args, &fx.path("no-credentials"));
    command
        .env("AWS_ACCESS_KEY_ID", CANARY_AKID)
        .env("AWS_SECRET_ACCESS_KEY", CANARY_SECRET)
        .env("AWS_SESSION_TOKEN", CANARY_TOKEN);
    command
}

/// The binary with the canary credentials only in a shared credentials
/// file, as profile `recorder`.
fn vcr_command_with_profile(fx: &Fixture, args: &[&str]) -> Command {
    let credentials = fx.path("credentials");
    std::fs::write(
        &credentials,
        format!("[recorder]\naws_access_key_id = {CANARY_AKID}\naws_secret_access_key = {CANARY_SECRET}\naws_session_token = {CANARY_TOKEN}\n"),
    )
    .unwrap();
    clean_command(fx, args, &credentials)
}

fn clean_command(fx: &Fixture, args: &[&str], credentials: &Path) -> Command {
    let mut command = Command::new(support::binary());
    command
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", fx.dir.path())
        .env("AWS_CONFIG_FILE", fx.path("no-config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", credentials)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("RUST_LOG", "info");
    command
}

fn wait_with_timeout(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(
            start.elapsed() < limit,
            "proton-vcr did not exit within {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn record_args<'a>(fx: &'a Fixture, cassette: &'a str) -> Vec<&'a str> {
    vec![
        "record",
        "--cassette",
        cassette,
        "--upstream",
        &fx.upstream.url,
        "--upstream-ca",
        fx.ca.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_keeps_every_answered_exchange_in_a_loadable_cassette() {
    let fx = Fixture::start();
    let cassette = fx.path("killed.json");
    let cassette_arg = cassette.to_str().unwrap().to_string();
    let mut proxy = VcrProcess::spawn(&fx, &record_args(&fx, &cassette_arg));
    let client = proton_client_with(&proxy.url, DUMMY_AKID, DUMMY_SECRET, Retries::Off);
    let sent: Vec<String> = (0..10).map(|i| format!("k{i}")).collect();
    for name in &sent {
        client
            .get_environment_template()
            .name(name)
            .send()
            .await
            .unwrap();
    }
    proxy.child.kill().unwrap();
    proxy.child.wait().unwrap();
    assert_log_clean(&proxy);

    assert_eq!(names(&assert_no_canary(&cassette)), sent);
    let stray: Vec<_> = std::fs::read_dir(fx.dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(stray.is_empty(), "temporary files left: {stray:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_flushes_and_exits_zero_recording_with_a_profile() {
    let fx = Fixture::start();
    let cassette = fx.path("terminated.json");
    let cassette_arg = cassette.to_str().unwrap().to_string();
    let mut args = record_args(&fx, &cassette_arg);
    args.extend(["--profile", "recorder"]);
    let mut proxy = VcrProcess::spawn_command(&fx, vcr_command_with_profile(&fx, &args));
    let client = proton_client_with(&proxy.url, DUMMY_AKID, DUMMY_SECRET, Retries::Off);
    for name in ["a", "b", "c"] {
        client
            .get_environment_template()
            .name(name)
            .send()
            .await
            .unwrap();
    }
    let status = proxy.terminate();
    assert!(
        status.success(),
        "{status:?}: {}",
        std::fs::read_to_string(&proxy.stderr).unwrap()
    );
    assert_eq!(names(&assert_no_canary(&cassette)), ["a", "b", "c"]);
    assert_log_clean(&proxy);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_clients_are_all_recorded_whole() {
    let fx = Fixture::start();
    let server = RecordServer::start(fx.config("parallel.json"))
        .await
        .unwrap();
    let client = proton_client_with(&server.url(), DUMMY_AKID, DUMMY_SECRET, Retries::Off);
    let started = Instant::now();
    let calls: Vec<_> = (0..32)
        .map(|i| {
            let client = client.clone();
            tokio::spawn(async move {
                client
                    .get_environment_template()
                    .name(format!("p{i:02}"))
                    .send()
                    .await
            })
        })
        .collect();
    for call in calls {
        call.await.unwrap().unwrap();
    }
    eprintln!(
        "32 parallel recorded exchanges took {:?}",
        started.elapsed()
    );
    server.shutdown().await;

    let cassette = assert_no_canary(&fx.path("parallel.json"));
    assert_eq!(cassette.interactions.len(), 32);
    for interaction in &cassette.interactions {
        assert_eq!(
            template_name(&interaction.request.body),
            template_name(&interaction.response.body)
        );
    }
    let mut recorded = names(&cassette);
    recorded.sort();
    recorded.dedup();
    assert_eq!(recorded.len(), 32);
    let elapsed: Vec<u64> = cassette.interactions.iter().map(|i| i.elapsed_ms).collect();
    assert!(elapsed.windows(2).all(|w| w[0] <= w[1]), "{elapsed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interactions_are_ordered_by_request_start_not_completion() {
    let fx = Fixture::start();
    let server = RecordServer::start(fx.config("ordered.json"))
        .await
        .unwrap();
    let client = proton_client_with(&server.url(), DUMMY_AKID, DUMMY_SECRET, Retries::Off);
    let slow = {
        let client = client.clone();
        tokio::spawn(async move {
            client
                .get_environment_template()
                .name("sleep-600")
                .send()
                .await
        })
    };
    // Wait until the slow request has reached the upstream, so it surely started first.
    let deadline = Instant::now() + Duration::from_secs(10);
    while fx.upstream.log().is_empty() {
        assert!(
            Instant::now() < deadline,
            "the slow request never reached the upstream"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    client
        .get_environment_template()
        .name("quick")
        .send()
        .await
        .unwrap();
    assert!(
        !slow.is_finished(),
        "the slow request must still be in flight"
    );
    slow.await.unwrap().unwrap();
    server.shutdown().await;

    let cassette = assert_no_canary(&fx.path("ordered.json"));
    assert_eq!(names(&cassette), ["sleep-600", "quick"]);
    assert!(cassette.interactions[0].elapsed_ms <= cassette.interactions[1].elapsed_ms);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_protocols_record_then_replay_to_the_aws_cli() {
    let fx = Fixture::start();
    let server = RecordServer::start(fx.config("protocols.json"))
        .await
        .unwrap();
    let calls: [&[&str]; 3] = [
        &["proton", "get-environment-template", "--name", "web"],
        &[
            "migration-hub-refactor-spaces",
            "create-service",
            "--environment-identifier",
            "env-abcdefghij",
            "--application-identifier",
            "app-abcdefghij",
            "--name",
            "orders",
            "--endpoint-type",
            "URL",
            "--url-endpoint",
            "Url=https://orders.example.com",
        ],
        &["sts", "get-caller-identity"],
    ];
    let mut recorded_outputs = Vec::new();
    for args in calls {
        recorded_outputs.push(support::cli_json(&aws_cli(&server.url(), args).await));
    }
    server.shutdown().await;

    let path = fx.path("protocols.json");
    let cassette = assert_no_canary(&path);
    let scopes = signed_scopes(&cassette);
    assert_eq!(
        scopes,
        [
            "us-east-1/proton",
            "us-east-1/refactor-spaces",
            "us-east-1/sts"
        ]
    );
    let [json, rest, query] = &cassette.interactions[..] else {
        panic!("three interactions expected")
    };
    assert_eq!(
        json.request.headers.get("x-amz-target"),
        Some("AwsProton20200720.GetEnvironmentTemplate")
    );
    assert_eq!(
        rest.request.uri,
        "/environments/env-abcdefghij/applications/app-abcdefghij/services"
    );
    assert!(
        rest.request
            .body
            .json()
            .is_some_and(|b| b.get("ClientToken").is_some())
    );
    assert!(
        query
            .request
            .body
            .describe()
            .contains("Action=GetCallerIdentity")
    );

    let mut tokens = proton_vcr::proton_token_paths();
    tokens.push(TokenPath::parse("ClientToken").unwrap());
    let replay = ReplayServer::start(ReplayConfig::new(
        cassette::load(&path).unwrap(),
        MatchOptions {
            tokens,
            ..Default::default()
        },
    ))
    .await
    .unwrap();
    for (args, recorded) in calls.iter().zip(&recorded_outputs) {
        let replayed = support::cli_json(&aws_cli(&replay.url(), args).await);
        assert_eq!(&replayed, recorded, "{args:?}");
    }
    replay.shutdown().await;
    assert_eq!(
        fx.upstream.log().len(),
        3,
        "the replay must not reach the upstream"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transport_failures_answer_502_naming_the_cause_and_record_nothing() {
    let fx = Fixture::start();
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let mut refused = fx.config("refused.json");
    refused.upstream = Some(format!("http://{closed}"));
    let mut unknown_ca = fx.config("unknown-ca.json");
    unknown_ca.upstream_options.ca_file = None;
    let mut slow = fx.config("slow.json");
    slow.upstream_options.timeout = Duration::from_millis(300);
    let cases = [
        (refused, "t", "connection refused"),
        (unknown_ca, "t", "TLS handshake failed"),
        (slow, "sleep-3000", "timed out"),
    ];
    for (config, name, cause) in cases {
        let path = config.cassette.clone();
        let server = RecordServer::start(config).await.unwrap();
        let error = proton_client_with(&server.url(), DUMMY_AKID, DUMMY_SECRET, Retries::Off)
            .get_environment_template()
            .name(name)
            .send()
            .await
            .unwrap_err();
        let raw = error.raw_response().map(|r| r.status().as_u16());
        assert_eq!(raw, Some(502), "{error:?}");
        assert_eq!(error.code(), Some("UpstreamUnreachable"), "{error:?}");
        assert!(
            error.message().unwrap_or_default().contains(cause),
            "{cause}: {error:?}"
        );
        server.shutdown().await;
        assert!(
            assert_no_canary(&path).interactions.is_empty(),
            "{cause}: recorded anyway"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mode_new_refuses_an_existing_cassette() {
    let fx = Fixture::start();
    let path = fx.path("existing.json");
    std::fs::write(&path, "keep me").unwrap();
    let error = RecordServer::start(fx.config("existing.json"))
        .await
        .err()
        .unwrap();
    assert!(matches!(error, RecordError::Cassette(_)), "{error}");
    assert!(error.to_string().contains("--mode append"), "{error}");

    let path_arg = path.to_str().unwrap().to_string();
    let output = vcr_command(&fx, &record_args(&fx, &path_arg))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("already exists"));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "keep me");

    let mut overwrite = fx.config("existing.json");
    overwrite.mode = WriteMode::Overwrite;
    RecordServer::start(overwrite)
        .await
        .unwrap()
        .shutdown()
        .await;
    assert!(load_file(&path).unwrap().cassette.interactions.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redact_account_id_rewrites_arns_in_the_cassette_only() {
    let fx = Fixture::start();
    let mut config = fx.config("redacted.json");
    config.redact_account_id = Some("123456789012".into());
    let server = RecordServer::start(config).await.unwrap();
    let got = proton_client_with(&server.url(), DUMMY_AKID, DUMMY_SECRET, Retries::Off)
        .get_environment_template()
        .name("r1")
        .send()
        .await
        .unwrap();
    let arn = got
        .environment_template()
        .map(|t| t.arn().to_string())
        .unwrap_or_default();
    assert!(
        arn.contains(REAL_ACCOUNT),
        "the client gets the real answer: {arn}"
    );
    let cli = aws_cli(&server.url(), &["sts", "get-caller-identity"]).await;
    assert_eq!(support::cli_json(&cli)["Account"], REAL_ACCOUNT);
    server.shutdown().await;

    let path = fx.path("redacted.json");
    assert_no_canary(&path);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains(REAL_ACCOUNT), "{text}");
    assert!(
        text.contains("arn:aws:proton:us-east-1:123456789012:environment-template/r1"),
        "{text}"
    );
    assert!(text.contains("<Account>123456789012</Account>"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listening_beyond_loopback_needs_allow_remote() {
    let fx = Fixture::start();
    let mut config = fx.config("remote.json");
    config.listen = "0.0.0.0:0".parse().unwrap();
    let error = RecordServer::start(config).await.err().unwrap();
    assert!(
        matches!(error, RecordError::Listen(ListenError::Refused(_))),
        "{error}"
    );
    assert!(error.to_string().contains("--allow-remote"), "{error}");
    assert!(
        !fx.path("remote.json").exists(),
        "nothing is written before the checks pass"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_key_lets_only_its_holders_through() {
    let fx = Fixture::start();
    let mut config = fx.config("keyed.json");
    config.client_key = Some(ClientKey::parse(&format!("{DUMMY_AKID}:{DUMMY_SECRET}")).unwrap());
    let server = RecordServer::start(config).await.unwrap();

    proton_client_with(&server.url(), DUMMY_AKID, DUMMY_SECRET, Retries::Off)
        .get_environment_template()
        .name("holder")
        .send()
        .await
        .unwrap();
    let error = proton_client_with(&server.url(), DUMMY_AKID, "a-guessed-secret", Retries::Off)
        .get_environment_template()
        .name("intruder")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error.code(), Some("InvalidSignatureException"), "{error:?}");
    assert_eq!(error.raw_response().map(|r| r.status().as_u16()), Some(403));
    let unsigned = raw(
        &server.url(),
        &get_template_headers(),
        r#"{"name":"anonymous"}"#,
    )
    .await;
    assert_eq!(unsigned.status, 403);
    assert!(String::from_utf8_lossy(&unsigned.body).contains("not signed"));
    server.shutdown().await;

    assert_eq!(
        fx.upstream.log().len(),
        1,
        "only the key holder reached the upstream"
    );
    assert_eq!(names(&assert_no_canary(&fx.path("keyed.json"))), ["holder"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_on_miss_record_appends_what_the_cassette_lacks() {
    let fx = Fixture::start();
    let path = fx.path("episodes.json");
    let server = RecordServer::start(fx.config("episodes.json"))
        .await
        .unwrap();
    proton_client_with(&server.url(), DUMMY_AKID, DUMMY_SECRET, Retries::Off)
        .get_environment_template()
        .name("seen")
        .send()
        .await
        .unwrap();
    server.shutdown().await;
    assert_eq!(fx.upstream.log().len(), 1);

    let path_arg = path.to_str().unwrap().to_string();
    let args = [
        "replay",
        "--cassette",
        &path_arg,
        "--on-miss",
        "record",
        "--upstream",
        &fx.upstream.url,
        "--upstream-ca",
        fx.ca.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
    ];
    let mut proxy = VcrProcess::spawn(&fx, &args);
    let client = proton_client_with(&proxy.url, DUMMY_AKID, DUMMY_SECRET, Retries::Off);
    client
        .get_environment_template()
        .name("seen")
        .send()
        .await
        .unwrap();
    assert_eq!(
        fx.upstream.log().len(),
        1,
        "a recorded request is replayed, not forwarded"
    );
    client
        .get_environment_template()
        .name("new")
        .send()
        .await
        .unwrap();
    assert_eq!(fx.upstream.log().len(), 2, "a miss is forwarded");
    assert!(proxy.terminate().success());
    assert_log_clean(&proxy);

    assert_eq!(names(&assert_no_canary(&path)), ["seen", "new"]);

    let folder = fx.dir.path().to_str().unwrap().to_string();
    let mut folder_args = args;
    folder_args[2] = &folder;
    let output = vcr_command(&fx, &folder_args).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("is a folder"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test]
async fn the_default_upstream_routes_each_request_by_its_scope() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = RecordConfig::new(dir.path().join("default.json"), canary());
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.region = Some("eu-west-3".into());
    let server = RecordServer::start(config).await.unwrap();
    assert!(
        server.upstream().starts_with("aws ("),
        "{}",
        server.upstream()
    );
    server.shutdown().await;
    let cassette = load_file(&dir.path().join("default.json"))
        .unwrap()
        .cassette;
    assert_eq!(cassette.name, "default");
    assert_eq!(cassette.provenance.region.as_deref(), Some("eu-west-3"));

    let mut no_region = RecordConfig::new(dir.path().join("nowhere.json"), canary());
    no_region.listen = "127.0.0.1:0".parse().unwrap();
    let server = RecordServer::start(no_region).await.unwrap();
    server.shutdown().await;
}
