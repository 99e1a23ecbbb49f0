//! Helpers shared by every integration test: real AWS clients pointed at a
//! local endpoint, and scratch cassettes.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Dummy credentials: clients must sign with something, nothing checks them.
pub const DUMMY_AKID: &str = "AKIDDUMMYCLIENT00000";
pub const DUMMY_SECRET: &str = "dummy-client-secret-not-used";

/// A Rust SDK Proton client for `endpoint`, with dummy credentials, the
/// SDK's retries and an HTTP client built on the ring TLS provider.
pub fn proton_client(endpoint: &str) -> aws_sdk_proton::Client {
    proton_client_with(endpoint, DUMMY_AKID, DUMMY_SECRET, Retries::Standard)
}

/// Whether a test's SDK client retries.
#[derive(Clone, Copy)]
pub enum Retries {
    /// The SDK's standard retries.
    Standard,
    /// One attempt: the test sees the first answer (a retry would hide it).
    Off,
}

/// A Rust SDK Proton client for `endpoint` that signs with `akid` and
/// `secret`.
pub fn proton_client_with(
    endpoint: &str,
    akid: &str,
    secret: &str,
    retries: Retries,
) -> aws_sdk_proton::Client {
    use aws_sdk_proton::config::retry::RetryConfig;
    use aws_sdk_proton::config::{BehaviorVersion, Credentials, Region};
    use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https();
    let config = aws_sdk_proton::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(akid, secret, None, None, "test"))
        .endpoint_url(endpoint)
        .http_client(http);
    let config = match retries {
        Retries::Standard => config,
        Retries::Off => config.retry_config(RetryConfig::disabled()),
    };
    aws_sdk_proton::Client::from_conf(config.build())
}

/// Runs the AWS CLI (`aws ARGS... --endpoint-url endpoint`) with dummy
/// credentials and no user configuration.
pub fn aws_cli(endpoint: &str, args: &[&str]) -> Output {
    let home = tempfile::tempdir().expect("temp dir");
    Command::new("aws")
        .args(args)
        .args(["--endpoint-url", endpoint, "--output", "json"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .env("AWS_ACCESS_KEY_ID", DUMMY_AKID)
        .env("AWS_SECRET_ACCESS_KEY", DUMMY_SECRET)
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_CONFIG_FILE", home.path().join("config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            home.path().join("credentials"),
        )
        .env("AWS_MAX_ATTEMPTS", "1")
        .env("AWS_RETRY_MODE", "standard")
        .output()
        .expect("the AWS CLI (`aws`) must be installed: .ci/run installs it with pip")
}

/// The CLI's stdout parsed as JSON; panics with its stderr when it failed.
pub fn cli_json(output: &Output) -> serde_json::Value {
    assert!(
        output.status.success(),
        "aws failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "aws printed no JSON ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

/// Writes `cassette` as a file in `dir` and returns its path.
pub fn write_cassette(dir: &Path, name: &str, cassette: &serde_json::Value) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_vec_pretty(cassette).unwrap()).unwrap();
    path
}

/// The repository root (for shipped cassettes and scenarios).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Path of the built `proton-vcr` binary.
pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_proton-vcr"))
}

/// Sends one plain HTTP/1.1 request; returns (status, body).
pub async fn http(
    base: &str,
    method: &str,
    path_and_query: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, Vec<u8>) {
    use http_body_util::{BodyExt, Full};
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Full<bytes::Bytes>>();
    let mut request = hyper::Request::builder()
        .method(method)
        .uri(format!("{base}{path_and_query}"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request
        .body(Full::new(bytes::Bytes::copy_from_slice(body)))
        .unwrap();
    let response = client
        .request(request)
        .await
        .expect("request reaches the server");
    let status = response.status().as_u16();
    let body = response
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    (status, body)
}

/// A child process (a server, an upstream) killed and reaped when dropped,
/// so a test that fails leaves nothing running.
pub struct Process(pub std::process::Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl std::ops::Deref for Process {
    type Target = std::process::Child;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl std::ops::DerefMut for Process {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

/// Lines of JSON, one object a line (the logs the Python upstreams write);
/// nothing when the file is not there yet.
pub fn json_lines(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{}: {e}: {line}", path.display()))
        })
        .collect()
}

/// The URL a server announces on the first line of its piped stdout
/// (`listening on URL`: proton-vcr and the Python upstreams alike); panics
/// with `context()` (its stderr, say) when the line says something else or
/// the server exited first.
pub fn announced_url(child: &mut std::process::Child, context: impl FnOnce() -> String) -> String {
    use std::io::BufRead;
    let stdout = child.stdout.as_mut().expect("stdout is piped");
    let mut line = String::new();
    std::io::BufReader::new(stdout)
        .read_line(&mut line)
        .unwrap_or_else(|e| panic!("reading the server's first line: {e}"));
    match line.trim().strip_prefix("listening on ") {
        Some(url) => url.to_string(),
        None => panic!(
            "the first line should announce the address, not {line:?} (empty: the server exited): {}",
            context()
        ),
    }
}

/// Starts `proton-vcr ARGS...` (a server command given `--listen 127.0.0.1:0`)
/// and returns it with the URL from its first stdout line.
pub fn spawn_server(args: &[&str]) -> (std::process::Child, String) {
    let mut child = Command::new(binary())
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("the proton-vcr binary starts");
    let url = announced_url(&mut child, String::new);
    (child, url)
}

/// Runs `python3 tests/it/SCRIPT ARGS...` off the async runtime, asserts it
/// succeeded (panicking with its stderr) and returns its stdout as JSON.
pub async fn python_script_json(script: &str, args: &[&str]) -> serde_json::Value {
    let path = repo_root().join("tests/it").join(script);
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let output = tokio::task::spawn_blocking(move || {
        Command::new("python3")
            .arg(path)
            .args(args)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        output.status.success(),
        "{script} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// Milliseconds in a second and an hour, for moving a mock's manual clock.
pub const SECOND_MS: u64 = 1_000;
pub const HOUR_MS: u64 = 3_600_000;

/// Mock settings with a manual clock.
pub fn manual_config() -> proton_vcr::MockConfig {
    proton_vcr::MockConfig {
        clock: proton_vcr::ClockMode::Manual,
        ..proton_vcr::MockConfig::default()
    }
}

/// Starts a mock server with `config` (on 127.0.0.1, port 0, by default).
pub async fn start(config: proton_vcr::MockConfig) -> proton_vcr::MockServer {
    proton_vcr::MockServer::start(config).await.unwrap()
}

/// A mock on a manual clock: lifecycles (2 s each) move only when a test jumps.
pub async fn manual() -> proton_vcr::MockServer {
    start(manual_config()).await
}

/// Calls the mock in-process, as the conformance runner does: one AWS JSON
/// request straight to its handler; returns (status, body).
pub async fn call(
    mock: &proton_vcr::Mock,
    operation: &str,
    input: serde_json::Value,
) -> (u16, serde_json::Value) {
    use proton_vcr::Handler;
    let mut request = proton_vcr::Request::new(http::Method::POST, "/").unwrap();
    request.headers.insert(
        "content-type",
        "application/x-amz-json-1.0".parse().unwrap(),
    );
    request.headers.insert(
        "x-amz-target",
        format!("AwsProton20200720.{operation}").parse().unwrap(),
    );
    request.body = input.to_string().into();
    let response = mock.handle(request).await;
    (response.status.as_u16(), response.json_body().unwrap())
}

/// A mock on a manual clock and a Rust SDK Proton client pointed at it.
pub async fn manual_client() -> (proton_vcr::MockServer, aws_sdk_proton::Client) {
    let server = manual().await;
    let client = proton_client(&server.url());
    (server, client)
}

use aws_sdk_proton::types::{
    CompatibleEnvironmentTemplateInput, S3ObjectSource, TemplateVersionSourceInput,
    TemplateVersionStatus,
};

/// Specs for the Proton fixtures: an environment, and a service with a
/// pipeline and instance `web-dev` in environment `dev`.
pub const ENV_SPEC: &str = "proton: EnvironmentSpec\nspec:\n  vpc_cidr: 10.0.0.0/16\n";
pub const SERVICE_SPEC: &str = "proton: ServiceSpec\npipeline:\n  image: nginx\ninstances:\n  - name: web-dev\n    environment: dev\n    spec:\n      port: 80\n";

/// A template version source: object `key` in S3 bucket `bucket`.
pub fn s3_source(bucket: &str, key: &str) -> TemplateVersionSourceInput {
    TemplateVersionSourceInput::S3(
        S3ObjectSource::builder()
            .bucket(bucket)
            .key(key)
            .build()
            .unwrap(),
    )
}

/// The template version source the Proton fixtures register.
pub fn source() -> TemplateVersionSourceInput {
    s3_source("templates-bucket", "bundle.tar.gz")
}

/// An environment template with version 1.0 registered and published.
pub async fn published_env_template(
    server: &proton_vcr::MockServer,
    client: &aws_sdk_proton::Client,
    name: &str,
) {
    client
        .create_environment_template()
        .name(name)
        .send()
        .await
        .unwrap();
    client
        .create_environment_template_version()
        .template_name(name)
        .source(source())
        .send()
        .await
        .unwrap();
    server.mock().advance_clock_ms(2 * SECOND_MS);
    client
        .update_environment_template_version()
        .template_name(name)
        .major_version("1")
        .minor_version("0")
        .status(TemplateVersionStatus::Published)
        .send()
        .await
        .unwrap();
}

/// A service template with version 1.0 (compatible with `env_template` 1) published.
pub async fn published_service_template(
    server: &proton_vcr::MockServer,
    client: &aws_sdk_proton::Client,
    name: &str,
    env_template: &str,
) {
    client
        .create_service_template()
        .name(name)
        .send()
        .await
        .unwrap();
    client
        .create_service_template_version()
        .template_name(name)
        .source(source())
        .compatible_environment_templates(
            CompatibleEnvironmentTemplateInput::builder()
                .template_name(env_template)
                .major_version("1")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    server.mock().advance_clock_ms(2 * SECOND_MS);
    client
        .update_service_template_version()
        .template_name(name)
        .major_version("1")
        .minor_version("0")
        .status(TemplateVersionStatus::Published)
        .send()
        .await
        .unwrap();
}

/// Environment `name` from version 1 of `template`, with `ENV_SPEC`.
pub async fn create_env(client: &aws_sdk_proton::Client, name: &str, template: &str) {
    client
        .create_environment()
        .name(name)
        .template_name(template)
        .template_major_version("1")
        .spec(ENV_SPEC)
        .send()
        .await
        .unwrap();
}
