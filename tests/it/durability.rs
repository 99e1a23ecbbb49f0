//! Recording survives SIGKILL, and cassette files are handled safely: one
//! recorder per cassette, no FIFO or device read as a cassette, one
//! symbolic-link policy for every command.

use crate::support;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use proton_vcr::cassette::{self, load_file};
use proton_vcr::{Handler, Limits, Request, Response, Server};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Answers every call at once with a small JSON body.
struct QuickUpstream;

impl Handler for QuickUpstream {
    async fn handle(&self, request: Request) -> Response {
        let mut response = Response::new(http::StatusCode::OK);
        response.set_header("content-type", "application/x-amz-json-1.0");
        response.body = request.body;
        response
    }
}

/// An upstream on 127.0.0.1 that answers every call at once.
async fn quick_upstream() -> Server {
    Server::bind(
        "127.0.0.1:0".parse().unwrap(),
        Arc::new(QuickUpstream),
        Limits::default(),
    )
    .await
    .unwrap()
}

fn recorder_command(home: &Path, upstream: &str, cassette: &Path, mode: &str) -> Command {
    let mut command = Command::new(support::binary());
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("AWS_CONFIG_FILE", home.join("no-config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", home.join("no-credentials"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ACCESS_KEY_ID", "AKIADURABLE000000001")
        .env(
            "AWS_SECRET_ACCESS_KEY",
            "durable/Secret+Key=0123456789abcdefghij",
        )
        .args(["record", "--cassette"])
        .arg(cassette)
        .args(["--mode", mode, "--upstream", upstream])
        .args(["--region", "us-east-1", "--service", "proton"])
        .args(["--listen", "127.0.0.1:0"]);
    command
}

/// Starts a recorder and returns it with its URL.
fn start_recorder(mut command: Command) -> (Child, String) {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let url = support::announced_url(&mut child, String::new);
    (child, url)
}

fn request_names(path: &Path) -> Vec<String> {
    load_file(path)
        .unwrap()
        .cassette
        .interactions
        .iter()
        .filter_map(|i| i.request.body.json()?["name"].as_str().map(str::to_string))
        .collect()
}

fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_a_10k_exchange_recording_loses_no_answered_exchange() {
    const ANSWERED: usize = 10_000;
    const CONNECTIONS: usize = 8;
    let upstream = quick_upstream().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("killed.json");
    let (mut recorder, url) =
        start_recorder(recorder_command(dir.path(), &upstream.url(), &path, "new"));

    let answered = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut tasks = Vec::new();
    for connection in 0..CONNECTIONS {
        let (answered, url) = (answered.clone(), url.clone());
        tasks.push(tokio::spawn(async move {
            let client =
                hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                    .build_http::<Full<Bytes>>();
            for i in 0.. {
                let name = format!("c{connection}-{i}");
                let request = hyper::Request::post(url.as_str())
                    .header("content-type", "application/x-amz-json-1.0")
                    .header("x-amz-target", "AwsProton20200720.GetEnvironmentTemplate")
                    .body(Full::new(Bytes::from(format!(r#"{{"name":"{name}"}}"#))))
                    .unwrap();
                let Ok(response) = client.request(request).await else {
                    return;
                };
                let ok = response.status() == 200;
                if response.into_body().collect().await.is_err() {
                    return;
                }
                if ok {
                    answered.lock().unwrap().push(name);
                }
            }
        }));
    }
    let start = Instant::now();
    while answered.lock().unwrap().len() < ANSWERED {
        assert!(start.elapsed() < Duration::from_secs(300), "too slow");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // SIGKILL, with requests in flight on every connection.
    recorder.kill().unwrap();
    recorder.wait().unwrap();
    for task in tasks {
        task.await.unwrap();
    }
    let answered = answered.lock().unwrap().clone();
    assert!(answered.len() >= ANSWERED);

    // Every load sees the journal's exchanges: all answered ones are there.
    let recorded: HashSet<String> = request_names(&path).into_iter().collect();
    let lost: Vec<&String> = answered.iter().filter(|n| !recorded.contains(*n)).collect();
    assert!(
        lost.is_empty(),
        "{} answered exchanges lost: {lost:?}",
        lost.len()
    );

    // The next recorder folds the journal in; what the kill left goes.
    let (mut next, _) = start_recorder(recorder_command(
        dir.path(),
        &upstream.url(),
        &path,
        "append",
    ));
    // SAFETY: sends SIGTERM to the child this test started.
    unsafe { libc::kill(next.id() as i32, libc::SIGTERM) };
    assert!(next.wait().unwrap().success());
    assert_eq!(listing(dir.path()), ["killed.json"]);
    let folded: HashSet<String> = request_names(&path).into_iter().collect();
    assert_eq!(folded, recorded);
    upstream.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_recorder_of_one_cassette_fails_at_once_naming_the_first() {
    let upstream = quick_upstream().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.json");
    let (mut first, _) =
        start_recorder(recorder_command(dir.path(), &upstream.url(), &path, "new"));
    let second = recorder_command(dir.path(), &upstream.url(), &path, "append")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("is being recorded by another process"),
        "{stderr}"
    );
    assert!(stderr.contains(&format!("pid {}", first.id())), "{stderr}");
    assert!(second.stdout.is_empty(), "never announced an address");
    first.kill().unwrap();
    first.wait().unwrap();
    upstream.shutdown().await;
}

/// Runs `proton-vcr ARGS`, failing the test if it has not exited within 20 s.
fn run_bounded(args: &[&std::ffi::OsStr]) -> std::process::Output {
    let mut child = Command::new(support::binary())
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("proton-vcr {args:?} hangs");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn a_fifo_or_device_named_as_a_cassette_is_refused_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo.json");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    for target in [fifo.as_path(), Path::new("/dev/zero")] {
        for command in [&["cassette", "check"][..], &["conform"][..]] {
            let mut args: Vec<&std::ffi::OsStr> = command.iter().map(|a| a.as_ref()).collect();
            args.push(target.as_os_str());
            let output = run_bounded(&args);
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert_eq!(output.status.code(), Some(2), "{command:?}: {stderr}");
            assert!(
                stderr.contains("is not a regular file"),
                "{command:?}: {stderr}"
            );
        }
    }
}

fn write_cassette(path: &Path) {
    std::fs::write(
        path,
        r#"{"format": "proton-vcr.cassette/2", "name": "n", "provenance": {"kind": "documented"}, "interactions": []}"#,
    )
    .unwrap();
}

#[test]
fn replay_and_check_follow_the_same_symbolic_links_and_stop_at_loops() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("cassettes");
    std::fs::create_dir_all(root.join("sub")).unwrap();
    write_cassette(&root.join("sub/real.json"));
    let outside = dir.path().join("outside.json");
    write_cassette(&outside);
    std::os::unix::fs::symlink(&outside, root.join("linked.json")).unwrap();
    std::os::unix::fs::symlink(&root, root.join("sub/loop")).unwrap();

    let files: Vec<PathBuf> = cassette::cassette_files(&root).unwrap();
    assert_eq!(files.len(), 2, "{files:?}");
    // Replay loads exactly these; check scans exactly these.
    assert_eq!(cassette::load(&root).unwrap().len(), 2);
    let output = run_bounded(&["cassette".as_ref(), "check".as_ref(), root.as_os_str()]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("2 file(s) scanned"), "{stderr}");
}
