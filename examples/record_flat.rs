//! Whether recording costs the same at the 10,000th exchange as at the
//! first, and what one flush to disk costs here.
//!
//! Part of the benchmark (`bench/run`). Sends `--count` awsJson calls one
//! after another over one connection to a recording proxy (`URL`), timing
//! each, and prints one JSON object:
//! - `first_rps`: calls per second over the first 1,000;
//! - `late_rps`: calls per second over calls 10,000 to 11,000 (the last
//!   1,000 when `--count` is smaller; below 2,000 calls, the two halves);
//! - `first_p50_us`, `late_p50_us`: the median call in each window;
//! - `fsync_us`: the median time to append 1 KiB to a file and `fdatasync`
//!   it, in the folder `--dir` (where the cassette is written), and
//!   `fsync_mean_us` the mean (a shared disk's slow flushes show there);
//! - `fsync_in_place_us`, `fsync_in_place_mean_us`: the same, writing over
//!   a file zero-filled beforehand instead of appending, as the recording
//!   journal does (the flush then has no file size to commit).
//!
//! Every answer waits for one flush, and on a shared disk the flush time
//! changes by more than ten times from one second to the next, so two
//! windows timed minutes apart compare the disk more than the recorder.
//! With `--fresh URL2`, a second recorder that has recorded nothing yet,
//! the late window is timed call for call in turn with the first 1,000
//! calls to URL2: `first_rps` is then URL2's, both windows see the same
//! disk, and `sequential_first_rps` is URL's own first 1,000.
//!
//! ```text
//! record_flat http://127.0.0.1:PORT [--fresh http://127.0.0.1:PORT2] --count 11000 --dir bench/out
//! ```
//! The call is `BENCH_TARGET` with the body `BENCH_BODY`, as in the wrk runs.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use serde_json::json;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

const WINDOW: usize = 1_000;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("record_flat: {error}");
            ExitCode::from(2)
        }
    }
}

async fn run() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .ok_or("usage: record_flat URL [--fresh URL2] --count N --dir FOLDER")?;
    let mut count = 11_000usize;
    let mut dir = PathBuf::from(".");
    let mut fresh = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--count" => {
                count = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .ok_or("--count needs a number")?;
            }
            "--dir" => dir = PathBuf::from(args.next().ok_or("--dir needs a folder")?),
            "--fresh" => fresh = Some(args.next().ok_or("--fresh needs a URL")?),
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    if count < 2 {
        return Err("--count must be at least 2".into());
    }
    // Shorter runs (bench/run --tiny) compare their two halves.
    let window = WINDOW.min(count / 2);
    let late_start = if count >= 11_000 {
        10_000
    } else {
        count - window
    };
    let caller = Caller::new()?;
    let mut took = Vec::with_capacity(count);
    for i in 0..late_start {
        took.push(caller.call(&url, i).await?);
    }
    let mut fresh_took = Vec::with_capacity(window);
    for i in late_start..late_start + window {
        took.push(caller.call(&url, i).await?);
        if let Some(fresh) = &fresh {
            fresh_took.push(caller.call(fresh, i - late_start).await?);
        }
    }
    let rps =
        |calls: &[Duration]| calls.len() as f64 / calls.iter().sum::<Duration>().as_secs_f64();
    let p50_us = |calls: &[Duration]| {
        let mut calls = calls.to_vec();
        calls.sort();
        calls[calls.len() / 2].as_secs_f64() * 1e6
    };
    // The first window: the fresh recorder's when there is one.
    let first_calls = if fresh.is_some() {
        &fresh_took[..]
    } else {
        &took[..window]
    };
    let (append_median, append_mean) = flush_us(&dir, false)?;
    let (in_place_median, in_place_mean) = flush_us(&dir, true)?;
    println!(
        "{}",
        json!({
            "count": count,
            "first_rps": rps(first_calls),
            "sequential_first_rps": rps(&took[..window]),
            "paired": fresh.is_some(),
            "late_rps": rps(&took[late_start..late_start + window]),
            "first_p50_us": p50_us(first_calls),
            "late_p50_us": p50_us(&took[late_start..late_start + window]),
            "late_from": late_start,
            "window": window,
            "fsync_us": append_median,
            "fsync_mean_us": append_mean,
            "fsync_in_place_us": in_place_median,
            "fsync_in_place_mean_us": in_place_mean,
        })
    );
    Ok(())
}

/// Sends the benchmark's call over one kept-alive connection per server.
struct Caller {
    client: hyper_util::client::legacy::Client<
        hyper_util::client::legacy::connect::HttpConnector,
        Full<Bytes>,
    >,
    target: String,
    body: Bytes,
}

impl Caller {
    fn new() -> Result<Self, String> {
        let target = std::env::var("BENCH_TARGET").map_err(|_| "BENCH_TARGET is not set")?;
        let body = std::env::var("BENCH_BODY").map_err(|_| "BENCH_BODY is not set")?;
        let client =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .pool_max_idle_per_host(1)
                .build_http::<Full<Bytes>>();
        Ok(Self {
            client,
            target,
            body: Bytes::from(body),
        })
    }

    /// Call number `i` to `url`; how long its answer took.
    async fn call(&self, url: &str, i: usize) -> Result<Duration, String> {
        let request = hyper::Request::post(url)
            .header("content-type", "application/x-amz-json-1.0")
            .header("x-amz-target", self.target.as_str())
            .body(Full::new(self.body.clone()))
            .map_err(|e| e.to_string())?;
        let started = Instant::now();
        let response = self
            .client
            .request(request)
            .await
            .map_err(|e| format!("{url} call {i}: {e}"))?;
        let status = response.status();
        response
            .into_body()
            .collect()
            .await
            .map_err(|e| format!("{url} call {i}: {e}"))?;
        if !status.is_success() {
            return Err(format!("{url} call {i} answered {status}"));
        }
        Ok(started.elapsed())
    }
}

/// The median and mean time of 200 writes of 1 KiB, each followed by
/// `fdatasync`: appended to a file (`in_place` false), or written over a
/// file zero-filled and flushed beforehand, as the recording journal does.
fn flush_us(dir: &std::path::Path, in_place: bool) -> Result<(f64, f64), String> {
    use std::os::unix::fs::FileExt;
    const WRITES: usize = 200;
    let path = dir.join(format!(".record-flat-{}.probe", std::process::id()));
    let fail = |e: std::io::Error| format!("{}: {e}", path.display());
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .append(!in_place)
        .write(in_place)
        .create_new(true)
        .open(&path)
        .map_err(fail)?;
    let block = [b'x'; 1024];
    let result = (|| {
        if in_place {
            file.write_all(&vec![0; WRITES * block.len()])?;
            file.sync_all()?;
        }
        let mut times = Vec::with_capacity(WRITES);
        for i in 0..WRITES {
            let started = Instant::now();
            if in_place {
                file.write_all_at(&block, (i * block.len()) as u64)?;
            } else {
                file.write_all(&block)?;
            }
            file.sync_data()?;
            times.push(started.elapsed());
        }
        Ok(times)
    })();
    let _ = std::fs::remove_file(&path);
    let mut times = result.map_err(fail)?;
    times.sort();
    let mean = times.iter().sum::<Duration>() / WRITES as u32;
    Ok((
        times[WRITES / 2].as_secs_f64() * 1e6,
        mean.as_secs_f64() * 1e6,
    ))
}
