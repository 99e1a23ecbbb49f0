//! Faults around the recording proxy that `record.rs` does not inject: an
//! upstream that breaks off mid-answer, a cassette folder that stops being
//! writable, a full disk, and names that might be taken for paths. Each
//! failure is a clear AWS-shaped error to the client and a line on the
//! terminal; what was recorded before stays intact, and the proxy keeps
//! recording afterwards.
//!
//! The upstream here is a plain-HTTP stand-in on loopback that misbehaves on
//! cue; signing and TLS are covered against botocore in `record.rs`.

use crate::support::Process;
use crate::support::{self, DUMMY_AKID, DUMMY_SECRET, Retries, proton_client_with};
use aws_sdk_proton::error::ProvideErrorMetadata;
use proton_vcr::cassette::{Cassette, load_file};
use proton_vcr::{CredentialSource, RecordConfig, RecordServer, StaticCredentials};
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const CANARY_AKID: &str = "AKIACANARY0000000077";
const CANARY_SECRET: &str = "canary/Hardening+Key=0123456789abcdefgh";

/// How the stand-in upstream treats the next request.
#[derive(Clone, Copy, Debug)]
enum Fault {
    /// Headers and part of the body, then a TCP reset.
    ResetMidBody,
    /// Reads the request, then resets without a byte of answer.
    ResetBeforeAnswer,
    /// Reads the request, then closes cleanly without an answer.
    CloseBeforeAnswer,
    /// Half a status line, then a clean close.
    TruncatedHead,
    /// Answers in something that is not HTTP.
    NotHttp,
}

/// A plain-HTTP upstream on loopback: faults are used up in order; with none
/// left it answers 200 with an environment template named after the
/// request's `name`, echoing the request body.
struct FlakyUpstream {
    url: String,
    faults: Arc<Mutex<VecDeque<Fault>>>,
    received: Arc<Mutex<usize>>,
}

impl FlakyUpstream {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let faults = Arc::new(Mutex::new(VecDeque::new()));
        let received = Arc::new(Mutex::new(0));
        let (f, r) = (faults.clone(), received.clone());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let fault = f.lock().unwrap().pop_front();
                let received = r.clone();
                tokio::spawn(async move {
                    if let Some(body) = read_request(&stream).await {
                        *received.lock().unwrap() += 1;
                        answer(stream, fault, &body).await;
                    }
                });
            }
        });
        Self {
            url,
            faults,
            received,
        }
    }

    fn fail_next(&self, faults: &[Fault]) {
        self.faults.lock().unwrap().extend(faults);
    }

    fn received(&self) -> usize {
        *self.received.lock().unwrap()
    }
}

/// Reads one request's head and body; returns the body.
async fn read_request(stream: &TcpStream) -> Option<Vec<u8>> {
    let mut data = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        stream.readable().await.ok()?;
        match stream.try_read(&mut buf) {
            Ok(0) => return None,
            Ok(n) => data.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(_) => return None,
        }
        let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&data[..end]).to_ascii_lowercase();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        if data.len() >= end + 4 + length {
            return Some(data[end + 4..end + 4 + length].to_vec());
        }
    }
}

async fn answer(mut stream: TcpStream, fault: Option<Fault>, body: &[u8]) {
    let reset = |stream: TcpStream| {
        stream.set_zero_linger().unwrap();
        drop(stream);
    };
    match fault {
        Some(Fault::ResetMidBody) => {
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/x-amz-json-1.0\r\ncontent-length: 400\r\n\r\n{\"environmentTemplate\":{\"na")
                .await;
            let _ = stream.flush().await;
            tokio::time::sleep(Duration::from_millis(50)).await;
            reset(stream);
        }
        Some(Fault::ResetBeforeAnswer) => reset(stream),
        Some(Fault::CloseBeforeAnswer) => drop(stream),
        Some(Fault::TruncatedHead) => {
            let _ = stream.write_all(b"HTTP/1.1 20").await;
            let _ = stream.shutdown().await;
        }
        Some(Fault::NotHttp) => {
            let _ = stream.write_all(b"SSH-2.0-OpenSSH_9.6\r\n").await;
            let _ = stream.shutdown().await;
        }
        None => {
            let input: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
            let name = input["name"].as_str().unwrap_or("unnamed");
            let output = json!({
                "environmentTemplate": {
                    "arn": format!("arn:aws:proton:us-east-1:111122223333:environment-template/{name}"),
                    "name": name,
                    "createdAt": 1_777_636_800.0,
                    "lastModifiedAt": 1_777_636_800.0,
                },
                "echo": input,
            })
            .to_string();
            let response = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/x-amz-json-1.0\r\nx-amzn-requestid: {}\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{output}",
                uuid::Uuid::new_v4(),
                output.len()
            );
            let _ = stream.write_all(response.as_bytes()).await;
            let _ = stream.shutdown().await;
            // Wait for the proxy to close first, so no reset can cut the answer short.
            let mut rest = Vec::new();
            let _ =
                tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut rest)).await;
        }
    }
}

fn canary() -> CredentialSource {
    CredentialSource::Static(StaticCredentials {
        access_key_id: CANARY_AKID.into(),
        secret_access_key: CANARY_SECRET.into(),
        session_token: None,
    })
}

async fn get(client: &aws_sdk_proton::Client, name: &str) {
    let got = client
        .get_environment_template()
        .name(name)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{name}: {e:?}"));
    assert_eq!(got.environment_template().map(|t| t.name()), Some(name));
}

/// The `name` of every recorded request, in order.
fn recorded_names(cassette: &Cassette) -> Vec<String> {
    cassette
        .interactions
        .iter()
        .map(|i| {
            i.request
                .body
                .json()
                .and_then(|b| b["name"].as_str().map(str::to_string))
                .unwrap_or_default()
        })
        .collect()
}

fn load_clean(path: &Path) -> Cassette {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(
        !text.contains(CANARY_AKID) && !text.contains(CANARY_SECRET),
        "{} holds the canary credentials",
        path.display()
    );
    load_file(path).unwrap().cassette
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upstream_breaking_off_mid_answer_is_a_502_naming_the_cause_and_nothing_is_recorded() {
    let upstream = FlakyUpstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("flaky.json");
    let mut config = RecordConfig::new(&path, canary());
    config.upstream = Some(upstream.url.clone());
    config.listen = "127.0.0.1:0".parse().unwrap();
    let server = RecordServer::start(config).await.unwrap();
    let client = proton_client_with(&server.url(), DUMMY_AKID, DUMMY_SECRET, Retries::Off);

    get(&client, "before").await;
    let cases = [
        (Fault::ResetMidBody, "reset or closed before a full answer"),
        (
            Fault::ResetBeforeAnswer,
            "reset or closed before a full answer",
        ),
        (
            Fault::CloseBeforeAnswer,
            "reset or closed before a full answer",
        ),
        (Fault::TruncatedHead, "reset or closed before a full answer"),
        (Fault::NotHttp, "did not answer in HTTP"),
    ];
    for (fault, cause) in cases {
        upstream.fail_next(&[fault]);
        let error = client
            .get_environment_template()
            .name(format!("{fault:?}"))
            .send()
            .await
            .unwrap_err();
        assert_eq!(
            error.raw_response().map(|r| r.status().as_u16()),
            Some(502),
            "{fault:?}: {error:?}"
        );
        assert_eq!(error.code(), Some("UpstreamUnreachable"), "{error:?}");
        let message = error.message().unwrap_or_default();
        assert!(message.contains(cause), "{fault:?}: {message}");
        assert!(message.contains(&upstream.url), "{fault:?}: {message}");
        get(&client, &format!("after-{fault:?}")).await;
    }
    server.shutdown().await;

    assert_eq!(upstream.received(), 1 + 2 * cases.len());
    assert_eq!(
        recorded_names(&load_clean(&path)),
        [
            "before",
            "after-ResetMidBody",
            "after-ResetBeforeAnswer",
            "after-CloseBeforeAnswer",
            "after-TruncatedHead",
            "after-NotHttp"
        ]
    );
}

#[tokio::test]
async fn a_cassette_name_is_a_label_not_a_path() {
    let upstream = FlakyUpstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    let inside = dir.path().join("inside");
    let path = inside.join("named.json");
    let mut config = RecordConfig::new(&path, canary());
    config.upstream = Some(upstream.url.clone());
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.name = Some("../../escaped/../../../tmp/x".into());
    let server = RecordServer::start(config).await.unwrap();
    get(
        &proton_client_with(&server.url(), DUMMY_AKID, DUMMY_SECRET, Retries::Off),
        "t",
    )
    .await;
    server.shutdown().await;

    assert_eq!(
        load_clean(&path).name,
        "../../escaped/../../../tmp/x",
        "kept as written, as a label"
    );
    let everything: Vec<PathBuf> = walk(dir.path());
    assert_eq!(everything, [inside, path]);
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        found.push(path.clone());
        if path.is_dir() {
            found.extend(walk(&path));
        }
    }
    found.sort();
    found
}

#[test]
fn scenario_names_cannot_leave_the_output_folder() {
    let dir = tempfile::tempdir().unwrap();
    let escaped = format!("escaped-{}", uuid::Uuid::new_v4());
    let scenario = json!({
        "format": "proton-vcr.scenario/1",
        "name": format!("../../{escaped}"),
        "steps": [{"call": "ListEnvironmentTemplates", "input": {}}]
    });
    let file = support::write_cassette(dir.path(), "scenario.json", &scenario);
    let out = dir.path().join("a/out");
    let output = clean_command(dir.path(), support::binary())
        .args(["scenario", "record", "--out"])
        .arg(&out)
        .args(["--upstream", "http://127.0.0.1:9", "--region", "us-east-1"])
        .arg(&file)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("cannot name a cassette file"), "{stderr}");
    assert!(stderr.contains("scenario.json"), "names the file: {stderr}");
    assert!(!out.exists());
    assert!(!dir.path().join(format!("{escaped}.json")).exists());
    assert_eq!(walk(dir.path()), [file]);
}

/// The binary with the canary credentials as its only AWS configuration.
fn clean_command(home: &Path, program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut command = Command::new(program);
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("AWS_CONFIG_FILE", home.join("no-config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", home.join("no-credentials"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ACCESS_KEY_ID", CANARY_AKID)
        .env("AWS_SECRET_ACCESS_KEY", CANARY_SECRET)
        .env("RUST_LOG", "info");
    command
}

/// `proton-vcr record` in a child process; its stderr is collected as it comes.
struct Recorder {
    child: Process,
    url: String,
    stderr: Arc<Mutex<String>>,
}

impl Recorder {
    fn spawn(mut command: Command) -> Self {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut pipe = child.stderr.take().unwrap();
        let sink = stderr.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        let url = support::announced_url(&mut child, || stderr.lock().unwrap().clone());
        Self {
            child: Process(child),
            url,
            stderr,
        }
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits (up to ten seconds) until the log holds `text`.
    fn wait_for_log(&self, text: &str) {
        let start = Instant::now();
        while !self.stderr().contains(text) {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "the terminal never said {text:?}: {}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM, then waits for a clean exit.
    fn stop(&mut self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let start = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(start.elapsed() < Duration::from_secs(20), "no exit");
            std::thread::sleep(Duration::from_millis(20));
        };
        assert!(status.success(), "{status}: {}", self.stderr());
    }
}

fn record_args(upstream: &FlakyUpstream, cassette: &Path) -> Vec<String> {
    [
        "record",
        "--cassette",
        cassette.to_str().unwrap(),
        "--upstream",
        &upstream.url,
        "--region",
        "us-east-1",
        "--service",
        "proton",
        "--listen",
        "127.0.0.1:0",
    ]
    .map(str::to_string)
    .to_vec()
}

/// Sends `{"name": name, "padding": "..."}` unsigned; returns (status, body).
async fn send(url: &str, name: &str, padding: usize) -> (u16, Value) {
    let body = json!({"name": name, "padding": "p".repeat(padding)}).to_string();
    let (status, answer) = support::http(
        url,
        "POST",
        "/",
        &[
            ("content-type", "application/x-amz-json-1.0"),
            ("x-amz-target", "AwsProton20200720.GetEnvironmentTemplate"),
        ],
        body.as_bytes(),
    )
    .await;
    let value = serde_json::from_slice(&answer).unwrap_or_else(|e| {
        panic!(
            "{name}: not JSON ({e}): {}",
            String::from_utf8_lossy(&answer)
        )
    });
    (status, value)
}

fn assert_recording_failed(answer: &(u16, Value), path: &Path, cause: &str) {
    let (status, body) = answer;
    assert_eq!(*status, 500, "{body}");
    assert_eq!(body["__type"], "RecordingFailedException", "{body}");
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains(&path.display().to_string()),
        "names the cassette: {message}"
    );
    assert!(message.contains(cause), "says why ({cause}): {message}");
    assert!(
        message.contains("the upstream did process the request"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cassette_folder_moved_during_recording_loses_nothing() {
    let upstream = FlakyUpstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("cassettes");
    let moved = dir.path().join("cassettes-moved");
    let path = folder.join("session.json");
    let mut command = clean_command(dir.path(), support::binary());
    command.args(record_args(&upstream, &path));
    let mut recorder = Recorder::spawn(command);

    for name in ["one", "two"] {
        assert_eq!(send(&recorder.url, name, 0).await.0, 200);
    }
    // A regular file now stands where the folder was; the recording's
    // journal is open, and moved with its folder.
    std::fs::rename(&folder, &moved).unwrap();
    std::fs::write(&folder, "not a folder").unwrap();
    assert_eq!(send(&recorder.url, "moved", 0).await.0, 200);
    assert_eq!(
        recorded_names(&load_clean(&moved.join("session.json"))),
        ["one", "two", "moved"],
        "answered exchanges are on disk, in the moved folder's journal"
    );

    std::fs::remove_file(&folder).unwrap();
    std::fs::rename(&moved, &folder).unwrap();
    assert_eq!(send(&recorder.url, "three", 0).await.0, 200);
    recorder.stop();
    assert_eq!(
        recorded_names(&load_clean(&path)),
        ["one", "two", "moved", "three"]
    );
    assert_eq!(walk(&folder), [path], "no temporary file is left");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_fails_the_exchange_loudly_and_keeps_what_was_recorded() {
    let upstream = FlakyUpstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("full.json");
    // The shell caps the size of any file the recorder writes at 24 KiB, as a
    // full disk would, and ignores SIGXFSZ so the write fails instead of
    // killing the process (the cap and the ignored signal survive `exec`).
    let mut command = clean_command(dir.path(), "bash");
    command
        .arg("-c")
        .arg(r#"trap '' XFSZ; ulimit -f 24; exec "$@""#)
        .arg("proton-vcr")
        .arg(support::binary())
        .args(record_args(&upstream, &path));
    let mut recorder = Recorder::spawn(command);

    // Each exchange holds about 8 KiB (request and echoed answer): two fit.
    for name in ["one", "two"] {
        assert_eq!(send(&recorder.url, name, 4000).await.0, 200);
    }
    let answer = send(&recorder.url, "too-big", 4000).await;
    assert_recording_failed(&answer, &path, "File too large");
    recorder.wait_for_log("File too large");
    assert_eq!(recorded_names(&load_clean(&path)), ["one", "two"]);

    // A small exchange still fits: the proxy kept serving and recording.
    assert_eq!(send(&recorder.url, "small", 0).await.0, 200);
    recorder.stop();
    assert_eq!(recorded_names(&load_clean(&path)), ["one", "two", "small"]);
    assert_eq!(walk(dir.path()), [path], "no temporary file is left");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_that_are_not_a_terminal_carry_no_colour_codes() {
    let upstream = FlakyUpstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut command = clean_command(dir.path(), support::binary());
    command.args(record_args(&upstream, &dir.path().join("c.json")));
    let mut recorder = Recorder::spawn(command);
    recorder.wait_for_log("recording");
    recorder.stop();
    let log = recorder.stderr();
    assert!(!log.contains('\x1b'), "{log:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cassette_that_cannot_be_written_stops_the_start_with_the_reason() {
    let upstream = FlakyUpstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("a-file");
    std::fs::write(&blocker, "in the way").unwrap();
    let path = blocker.join("c.json");
    let output = clean_command(dir.path(), support::binary())
        .args(record_args(&upstream, &path))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(&path.display().to_string()), "{stderr}");
    assert!(stderr.contains("cannot write the cassette"), "{stderr}");
    assert!(output.stdout.is_empty(), "never announced an address");
    assert_eq!(std::fs::read_to_string(&blocker).unwrap(), "in the way");
}
