//! Whether recording costs the same at the 10,000th exchange as at the
//! first, and what one flush to disk costs here.
//!
//! Part of the benchmark (`bench/run`). Sends `--count` awsJson calls one
//! after another over one connection to a recording proxy (`URL`), timing
//! each, and prints one JSON object:
//! - `first_rps`: calls per second over the first 1,000;
//! - `late_rps`: calls per second over calls 10,000 to 11,000 (the last
//!   1,000 when `--count` is smaller; below 2,000 calls, the two halves);
//! - `fsync_us`: the median time to append 1 KiB to a file and `fdatasync`
//!   it, in the folder `--dir` (where the cassette is written), and
//!   `fsync_mean_us` the mean (a shared disk's slow flushes show there);
//! - `fsync_in_place_us`, `fsync_in_place_mean_us`: the same, writing over
//!   a file zero-filled beforehand instead of appending, as the recording
//!   journal does (the flush then has no file size to commit).
//!
//! ```text
//! record_flat http://127.0.0.1:PORT --count 11000 --dir bench/out
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
        .ok_or("usage: record_flat URL --count N --dir FOLDER")?;
    let mut count = 11_000usize;
    let mut dir = PathBuf::from(".");
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--count" => {
                count = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .ok_or("--count needs a number")?;
            }
            "--dir" => dir = PathBuf::from(args.next().ok_or("--dir needs a folder")?),
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    if count < 2 {
        return Err("--count must be at least 2".into());
    }
    // Shorter runs (bench/run --tiny) compare their two halves.
    let window = WINDOW.min(count / 2);
    let target = std::env::var("BENCH_TARGET").map_err(|_| "BENCH_TARGET is not set")?;
    let body = std::env::var("BENCH_BODY").map_err(|_| "BENCH_BODY is not set")?;
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .pool_max_idle_per_host(1)
        .build_http::<Full<Bytes>>();
    let mut took = Vec::with_capacity(count);
    for i in 0..count {
        let request = hyper::Request::post(url.as_str())
            .header("content-type", "application/x-amz-json-1.0")
            .header("x-amz-target", target.as_str())
            .body(Full::new(Bytes::from(body.clone())))
            .map_err(|e| e.to_string())?;
        let started = Instant::now();
        let response = client
            .request(request)
            .await
            .map_err(|e| format!("call {i}: {e}"))?;
        let status = response.status();
        response
            .into_body()
            .collect()
            .await
            .map_err(|e| format!("call {i}: {e}"))?;
        if !status.is_success() {
            return Err(format!("call {i} answered {status}"));
        }
        took.push(started.elapsed());
    }
    let rps =
        |calls: &[Duration]| calls.len() as f64 / calls.iter().sum::<Duration>().as_secs_f64();
    let late_start = if count >= 11_000 {
        10_000
    } else {
        count - window
    };
    let (append_median, append_mean) = flush_us(&dir, false)?;
    let (in_place_median, in_place_mean) = flush_us(&dir, true)?;
    println!(
        "{}",
        json!({
            "count": count,
            "first_rps": rps(&took[..window]),
            "late_rps": rps(&took[late_start..late_start + window]),
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
