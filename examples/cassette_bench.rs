//! Cassette load time, peak memory and matching cost as a cassette grows.
//!
//! Part of the benchmark (`bench/run`). For each size it writes a cassette of
//! realistic Proton traffic (gets, lists, creates with a client token and
//! their retries, waiter polls), then measures in a fresh child process, so
//! that each size's peak memory is its own:
//! - `load_ms`: `cassette::load` (read, parse, convert);
//! - `index_ms`: `Matcher::new` (what `replay` does before it listens);
//! - `load_cpu_ms`, `index_cpu_ms`: the CPU time of the same steps, which a
//!   busy machine does not inflate;
//! - `peak_kib`: the child's peak resident memory above what it held before
//!   loading, to compare with the file's size (`load_peak_kib`: the same,
//!   after loading but before indexing; `held_kib`: what stays resident);
//! - `match_ns`: the cost of answering one request with `Matcher::answer`,
//!   over requests spread evenly through the cassette; it should not grow
//!   with the cassette;
//! - `match_one_ns`: the same for one request answered over and over (its
//!   data stays in the CPU's caches), which shows the matching work alone;
//! - `python_json_load_ms`: Python's `json.load` of the same file (the best
//!   of three), measured beside it: the yardstick for `load_ms + index_ms`.
//!
//! ```text
//! cargo run --release --example cassette_bench -- --sizes 1000,10000,100000
//! ```
//! Prints one JSON object on stdout. `--dir FOLDER --keep` keeps the
//! cassettes (and reuses them on the next run), for profiling
//! `cassette_bench measure FOLDER/cassette-100000.json` alone.

use proton_vcr::cassette::{
    self, Body, Cassette, Headers, Interaction, Provenance, RecordedRequest, RecordedResponse,
};
use proton_vcr::matcher::{MatchOptions, Matcher, Repeats};
use proton_vcr::{Request, proton_token_paths};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

const TARGET: &str = "AwsProton20200720";
/// Requests timed per size; spread evenly through the cassette.
const SAMPLES: usize = 1_000;
/// Timed passes over the samples; the fastest is kept (the least disturbed).
const PASSES: usize = 5;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("measure") => match args.get(1) {
            Some(path) => measure(Path::new(path)).map(|v| println!("{v}")),
            None => Err("usage: cassette_bench measure FILE".into()),
        },
        _ => run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("cassette_bench: {error}");
            ExitCode::from(2)
        }
    }
}

fn run(args: &[String]) -> Result<(), String> {
    let mut sizes = vec![1_000, 10_000, 100_000];
    let mut dir = None;
    let mut keep = false;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--sizes" => {
                sizes = it
                    .next()
                    .ok_or("--sizes needs a list, e.g. 1000,10000")?
                    .split(',')
                    .map(|s| s.parse().map_err(|e| format!("--sizes: `{s}`: {e}")))
                    .collect::<Result<_, String>>()?;
            }
            "--dir" => dir = Some(PathBuf::from(it.next().ok_or("--dir needs a folder")?)),
            "--keep" => keep = true,
            other => {
                return Err(format!(
                    "unknown argument `{other}`; use --sizes N,N,..., --dir FOLDER and --keep"
                ));
            }
        }
    }
    let scratch;
    let dir = match dir {
        Some(dir) => dir,
        None => {
            scratch = tempfile::tempdir().map_err(|e| format!("temp dir: {e}"))?;
            scratch.path().to_path_buf()
        }
    };
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let exe = std::env::current_exe().map_err(|e| format!("own path: {e}"))?;
    let mut results = Vec::new();
    for size in sizes {
        let path = dir.join(format!("cassette-{size}.json"));
        if !(keep && path.exists()) {
            let bytes = cassette::to_bytes(&generate(size));
            std::fs::write(&path, &bytes).map_err(|e| format!("{}: {e}", path.display()))?;
        }
        let file_bytes = std::fs::metadata(&path)
            .map_err(|e| format!("{}: {e}", path.display()))?
            .len();
        let output = Command::new(&exe)
            .arg("measure")
            .arg(&path)
            .output()
            .map_err(|e| format!("cannot start {}: {e}", exe.display()))?;
        if !output.status.success() {
            return Err(format!(
                "measuring {size} interactions failed: {}",
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        let mut measured: Value = serde_json::from_slice(&output.stdout)
            .map_err(|e| format!("child printed no JSON: {e}"))?;
        measured["interactions"] = json!(size);
        measured["file_bytes"] = json!(file_bytes);
        measured["python_json_load_ms"] = json!(python_json_load_ms(&path)?);
        results.push(measured);
        if !keep {
            let _ = std::fs::remove_file(&path);
        }
    }
    println!("{}", json!({ "cassettes": results }));
    Ok(())
}

/// How long Python's `json.load` takes to read the same file (the best of
/// three), measured in this run beside the load it is compared with.
fn python_json_load_ms(path: &Path) -> Result<f64, String> {
    let script = "import json, sys, time\nbest = None\nfor _ in range(3):\n    t = time.perf_counter()\n    with open(sys.argv[1], 'rb') as f:\n        json.load(f)\n    d = time.perf_counter() - t\n    best = d if best is None else min(best, d)\nprint(best * 1000)\n";
    let output = Command::new("python3")
        .args(["-c", script])
        .arg(path)
        .output()
        .map_err(|e| format!("cannot run python3: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "python3 json.load failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .map_err(|e| format!("python3 printed no time: {e}"))
}

fn measure(path: &Path) -> Result<Value, String> {
    let before = status_kib("VmRSS")?;
    let cpu_started = cpu_ns();
    let started = Instant::now();
    let loaded = cassette::load(path).map_err(|e| e.to_string())?;
    let load = started.elapsed();
    let load_cpu = cpu_ns() - cpu_started;
    let after_load = status_kib("VmHWM")?;
    let cpu_started = cpu_ns();
    let started = Instant::now();
    let options = MatchOptions {
        tokens: proton_token_paths(),
        repeats: Repeats::Last,
        ..MatchOptions::default()
    };
    let mut matcher = Matcher::new(loaded, options);
    let index = started.elapsed();
    let index_cpu = cpu_ns() - cpu_started;
    let peak = status_kib("VmHWM")?;
    let held = status_kib("VmRSS")?;

    let interactions = &matcher
        .cassettes()
        .first()
        .ok_or("no cassette loaded")?
        .cassette
        .interactions;
    // Evenly spread, and shifted so that every kind of call in the
    // generator's cycle of ten is sampled whatever the step.
    let step = (interactions.len() / SAMPLES).max(1);
    let requests: Vec<Request> = (0..SAMPLES.min(interactions.len()))
        .filter_map(|k| interactions.get(k * step + k % step.min(10)))
        .map(|i| i.request.to_exchange())
        .collect::<Result<_, _>>()?;
    let one = interactions
        .get(interactions.len() / 2)
        .ok_or("an empty cassette")?
        .request
        .to_exchange()?;
    let mut best = Duration::MAX;
    for _ in 0..PASSES {
        matcher.rewind();
        let started = Instant::now();
        for request in &requests {
            if matcher.answer(request).is_err() {
                return Err(format!("a recorded request missed: {}", request.uri));
            }
        }
        best = best.min(started.elapsed());
    }
    let mut best_one = Duration::MAX;
    for _ in 0..PASSES {
        matcher.rewind();
        let started = Instant::now();
        for _ in 0..SAMPLES {
            if matcher.answer(&one).is_err() {
                return Err(format!("a recorded request missed: {}", one.uri));
            }
        }
        best_one = best_one.min(started.elapsed());
    }
    Ok(json!({
        "load_ms": load.as_secs_f64() * 1e3,
        "index_ms": index.as_secs_f64() * 1e3,
        "load_cpu_ms": load_cpu as f64 / 1e6,
        "index_cpu_ms": index_cpu as f64 / 1e6,
        "peak_kib": peak.saturating_sub(before),
        "load_peak_kib": after_load.saturating_sub(before),
        "held_kib": held.saturating_sub(before),
        "match_ns": best.as_nanos() as f64 / requests.len() as f64,
        "match_samples": requests.len(),
        "match_one_ns": best_one.as_nanos() as f64 / SAMPLES as f64,
    }))
}

/// CPU time this thread has run, in nanoseconds: on a busy machine it shows
/// the work apart from the waiting.
fn cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// A field of /proc/self/status, in KiB.
fn status_kib(field: &str) -> Result<u64, String> {
    let status = std::fs::read_to_string("/proc/self/status")
        .map_err(|e| format!("/proc/self/status (Linux only): {e}"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| format!("no {field} in /proc/self/status"))
}

/// A cassette of `size` interactions shaped like a Proton user's traffic.
fn generate(size: usize) -> Cassette {
    let interactions = (0..size)
        .map(|i| {
            let (operation, request, response) = exchange(i);
            Interaction {
                elapsed_ms: i as u64 * 40,
                endpoint: None,
                expect: None,
                note: None,
                request: RecordedRequest {
                    method: "POST".into(),
                    uri: "/".into(),
                    headers: headers(&[
                        ("content-type", "application/x-amz-json-1.0"),
                        ("x-amz-target", &format!("{TARGET}.{operation}")),
                    ]),
                    body: Body::from_json(&request),
                },
                response: RecordedResponse {
                    status: 200,
                    headers: headers(&[
                        ("content-type", "application/x-amz-json-1.0"),
                        ("x-amzn-requestid", &uuid(i as u64 * 7 + 1)),
                    ]),
                    body: Body::from_json(&response),
                },
            }
        })
        .collect();
    Cassette {
        name: format!("bench/{size}"),
        provenance: Provenance::recorded(
            "https://proton.us-east-1.amazonaws.com",
            "proton",
            "us-east-1",
            "2026-05-01T12:00:00.000Z".into(),
        ),
        interactions,
    }
}

fn headers(pairs: &[(&str, &str)]) -> Headers {
    let mut headers = Headers::default();
    for (name, value) in pairs {
        headers.append(name, value.to_string());
    }
    headers
}

/// Interaction `i`: gets and lists, a create with a client token followed by
/// its retry, and a waiter polling the new version twice.
fn exchange(i: usize) -> (&'static str, Value, Value) {
    let at = 1_795_478_400.0 + i as f64 * 0.04;
    let group = i / 10;
    match i % 10 {
        0..=3 => {
            let name = format!("env-{i}");
            (
                "GetEnvironment",
                json!({ "name": name }),
                json!({ "environment": environment(&name, at) }),
            )
        }
        4 | 5 => {
            let service = format!("svc-{i}");
            let instances: Vec<Value> = (0..3)
                .map(|n| {
                    json!({
                        "arn": format!("arn:aws:proton:us-east-1:123456789012:service/{service}/service-instance/inst-{n}"),
                        "createdAt": at,
                        "deploymentStatus": "SUCCEEDED",
                        "environmentName": format!("env-{n}"),
                        "lastDeploymentAttemptedAt": at,
                        "lastDeploymentSucceededAt": at,
                        "name": format!("inst-{n}"),
                        "serviceName": service,
                        "templateMajorVersion": "1",
                        "templateMinorVersion": "0",
                        "templateName": "fargate-svc",
                    })
                })
                .collect();
            (
                "ListServiceInstances",
                json!({ "serviceName": service, "maxResults": 10 }),
                json!({ "serviceInstances": instances }),
            )
        }
        6 | 7 => {
            let template = format!("tmpl-{group}");
            (
                "CreateEnvironmentTemplateVersion",
                json!({
                    "clientToken": uuid(group as u64),
                    "description": "DynamoDB table and REST API",
                    "source": { "s3": {
                        "bucket": "proton-templates-123456789012-us-east-1",
                        "key": format!("{template}/v1.tar.gz"),
                    }},
                    "templateName": template,
                }),
                json!({ "environmentTemplateVersion": version(&template, at, "REGISTRATION_IN_PROGRESS") }),
            )
        }
        n => {
            let template = format!("tmpl-{group}");
            let status = if n == 8 {
                "REGISTRATION_IN_PROGRESS"
            } else {
                "DRAFT"
            };
            (
                "GetEnvironmentTemplateVersion",
                json!({ "majorVersion": "1", "minorVersion": "0", "templateName": template }),
                json!({ "environmentTemplateVersion": version(&template, at, status) }),
            )
        }
    }
}

fn environment(name: &str, at: f64) -> Value {
    json!({
        "arn": format!("arn:aws:proton:us-east-1:123456789012:environment/{name}"),
        "createdAt": at,
        "deploymentStatus": "SUCCEEDED",
        "description": "Shared VPC and ECS cluster",
        "lastDeploymentAttemptedAt": at,
        "lastDeploymentSucceededAt": at,
        "name": name,
        "protonServiceRoleArn": "arn:aws:iam::123456789012:role/ProtonServiceRole",
        "spec": "proton: EnvironmentSpec\nspec:\n  vpc_cidr: 10.0.0.0/16\n  public_subnet_one_cidr: 10.0.0.0/24\n  public_subnet_two_cidr: 10.0.1.0/24\n",
        "templateMajorVersion": "1",
        "templateMinorVersion": "0",
        "templateName": "fargate-env",
    })
}

fn version(template: &str, at: f64, status: &str) -> Value {
    json!({
        "arn": format!("arn:aws:proton:us-east-1:123456789012:environment-template/{template}:1.0"),
        "createdAt": at,
        "description": "DynamoDB table and REST API",
        "lastModifiedAt": at,
        "majorVersion": "1",
        "minorVersion": "0",
        "status": status,
        "templateName": template,
    })
}

/// A UUID-shaped identifier that is the same on every run.
fn uuid(n: u64) -> String {
    let h = n.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03;
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        h >> 32,
        (h >> 16) & 0xffff,
        h & 0xfff,
        (h >> 20) & 0xfff,
        h.rotate_left(17) & 0xffff_ffff_ffff
    )
}
