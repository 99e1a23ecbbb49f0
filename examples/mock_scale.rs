//! The mock's cost per call as its state grows: the same calls timed
//! against a mock holding 10 template versions and 10 service instances,
//! then 10,000 of each (instances 10 to a service, so that a service and its
//! spec are the same size at both sizes).
//!
//! Calls go through `Mock::handle` in-process (no socket), so what is timed
//! is the mock's own work: routing, validation, settling, the operation and
//! writing its answer. Requests are built before the clock starts (and
//! read back into the caches, untimed, a batch at a time, as a server
//! would hold a request it just read) and answers are not parsed (only
//! their status is checked).
//! Time is the thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`), which a busy
//! machine does not inflate. Passes alternate
//! between the sizes, so a disturbance weighs on each alike. For each
//! operation it prints the median of the per-call times of the passes at
//! each size, and the ratio largest/smallest (flat is about 1). Lists ask
//! for pages of 10, so every size renders the same number of items.
//! `bench/run` runs it as its `mock-scale` section.
//!
//! ```text
//! cargo run --release --example mock_scale -- --sizes 10,10000 [--calls 2000] [--passes 5] [--only TEXT]
//! ```
//! `--only` times just the operations whose label contains TEXT (to profile one).
//! Prints one JSON object on stdout.

use proton_vcr::{ClockMode, Handler, Mock, MockConfig, Request};
use serde_json::{Value, json};
use std::process::ExitCode;
use std::time::Instant;

const INSTANCES_PER_SERVICE: usize = 10;

fn request(operation: &str, input: &Value) -> Request {
    let mut request = Request::new(http::Method::POST, "/").expect("a request to /");
    request.headers.insert(
        "content-type",
        http::HeaderValue::from_static("application/x-amz-json-1.0"),
    );
    request.headers.insert(
        "x-amz-target",
        format!("AwsProton20200720.{operation}")
            .parse()
            .expect("an operation name is a header value"),
    );
    request.body = input.to_string().into();
    request
}

/// Panics (the benchmark is void) unless the mock answered 200.
fn expect_ok(operation: &str, input: &Value, response: &proton_vcr::Response) {
    if response.status.as_u16() != 200 {
        let body = response.json_body().unwrap_or(Value::Null);
        panic!("{operation} {input}: {body}");
    }
}

async fn call(mock: &Mock, operation: &str, input: &Value) {
    let response = mock.handle(request(operation, input)).await;
    expect_ok(operation, input, &response);
}

fn service_spec(first: usize, count: usize) -> String {
    let mut spec = "proton: ServiceSpec\npipeline:\n  image: nginx\ninstances:\n".to_string();
    for i in first..first + count {
        spec.push_str(&format!("  - name: i{i}\n    environment: env\n"));
    }
    spec
}

/// A mock holding `size` environment template versions and `size` service
/// instances, everything settled.
async fn populated(size: usize) -> Mock {
    let mock = Mock::new(MockConfig {
        clock: ClockMode::Manual,
        ..MockConfig::default()
    });
    let source = json!({"s3": {"bucket": "bench-templates", "key": "env.tar.gz"}});
    for (operation, kind) in [
        ("CreateEnvironmentTemplate", "env-tpl"),
        ("CreateServiceTemplate", "svc-tpl"),
    ] {
        call(&mock, operation, &json!({"name": kind})).await;
    }
    for i in 0..size {
        // Versions 1.0 .. 1.(size-1): one major, so every version is a minor of it.
        let major = if i == 0 {
            json!({})
        } else {
            json!({"majorVersion": "1"})
        };
        let mut input = json!({"templateName": "env-tpl", "source": source});
        input
            .as_object_mut()
            .unwrap()
            .extend(major.as_object().unwrap().clone());
        call(&mock, "CreateEnvironmentTemplateVersion", &input).await;
    }
    call(&mock, "CreateServiceTemplateVersion", &json!({"templateName": "svc-tpl", "source": source, "compatibleEnvironmentTemplates": [{"templateName": "env-tpl", "majorVersion": "1"}]})).await;
    mock.advance_clock_ms(10_000);
    for (operation, template) in [
        ("UpdateEnvironmentTemplateVersion", "env-tpl"),
        ("UpdateServiceTemplateVersion", "svc-tpl"),
    ] {
        call(&mock, operation, &json!({"templateName": template, "majorVersion": "1", "minorVersion": "0", "status": "PUBLISHED"})).await;
    }
    call(&mock, "CreateEnvironment", &json!({"name": "env", "templateName": "env-tpl", "templateMajorVersion": "1", "templateMinorVersion": "0", "spec": "proton: EnvironmentSpec\n"})).await;
    mock.advance_clock_ms(10_000);
    let mut first = 0;
    while first < size {
        let count = INSTANCES_PER_SERVICE.min(size - first);
        call(&mock, "CreateService", &json!({"name": format!("s{}", first / INSTANCES_PER_SERVICE), "templateName": "svc-tpl", "templateMajorVersion": "1", "spec": service_spec(first, count)})).await;
        first += count;
    }
    mock.advance_clock_ms(10_000);
    mock
}

/// Nanoseconds of CPU this thread has used, to the nanosecond (the
/// scheduler's own account, /proc's schedstat, moves a tick at a time);
/// wall-clock nanoseconds since the first call where there is no such clock.
fn cpu_ns() -> u128 {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid timespec for the call to write.
    match unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) } {
        0 => {
            u128::try_from(now.tv_sec).unwrap_or(0) * 1_000_000_000
                + u128::try_from(now.tv_nsec).unwrap_or(0)
        }
        _ => START.get_or_init(Instant::now).elapsed().as_nanos(),
    }
}

/// How many calls each pass times, and how many passes.
#[derive(Clone, Copy)]
struct Plan {
    calls: usize,
    passes: usize,
}

/// One timed operation: its name in the results, the operation it calls,
/// the input of call `i` at a size, and what happens after each call.
struct Probe {
    label: &'static str,
    operation: &'static str,
    input: fn(usize, usize) -> Value,
    between: fn(&Mock),
}

/// The service and instance call `i` names: spread over all of them, as
/// calls from many tests would be.
fn instance(i: usize, size: usize) -> (String, String) {
    let n = (i * 7919) % size;
    (format!("s{}", n / INSTANCES_PER_SERVICE), format!("i{n}"))
}

fn service(i: usize, size: usize) -> String {
    format!("s{}", i % size.div_ceil(INSTANCES_PER_SERVICE))
}

fn nothing(_: &Mock) {}

const PROBES: &[Probe] = &[
    Probe {
        label: "GetEnvironmentTemplate",
        operation: "GetEnvironmentTemplate",
        input: |_, _| json!({"name": "env-tpl"}),
        between: nothing,
    },
    Probe {
        label: "GetEnvironmentTemplateVersion",
        operation: "GetEnvironmentTemplateVersion",
        input: |i, size| json!({"templateName": "env-tpl", "majorVersion": "1", "minorVersion": ((i * 7919) % size).to_string()}),
        between: nothing,
    },
    Probe {
        label: "ListEnvironmentTemplateVersions (page of 10)",
        operation: "ListEnvironmentTemplateVersions",
        input: |_, _| json!({"templateName": "env-tpl", "maxResults": 10}),
        between: nothing,
    },
    Probe {
        label: "GetServiceInstance",
        operation: "GetServiceInstance",
        input: |i, size| {
            let (s, n) = instance(i, size);
            json!({"serviceName": s, "name": n})
        },
        between: nothing,
    },
    Probe {
        label: "ListServiceInstances (one service, page of 10)",
        operation: "ListServiceInstances",
        input: |i, size| json!({"serviceName": service(i, size), "maxResults": 10}),
        between: nothing,
    },
    Probe {
        label: "GetService",
        operation: "GetService",
        input: |i, size| json!({"name": service(i, size)}),
        between: nothing,
    },
    // The same resource at every call: what is left of the growth above once
    // the calls stop reaching into memory the caches do not hold.
    Probe {
        label: "GetService (the same one each call)",
        operation: "GetService",
        input: |_, _| json!({"name": "s0"}),
        between: nothing,
    },
    Probe {
        label: "GetServiceInstance (the same one each call)",
        operation: "GetServiceInstance",
        input: |_, _| json!({"serviceName": "s0", "name": "i0"}),
        between: nothing,
    },
    // The history holds a deployment of every instance and pipeline.
    Probe {
        label: "ListDeployments (page of 10)",
        operation: "ListDeployments",
        input: |_, _| json!({"maxResults": 10}),
        between: nothing,
    },
    Probe {
        label: "ListDeployments (one service instance, page of 10)",
        operation: "ListDeployments",
        input: |i, size| {
            let (s, n) = instance(i, size);
            json!({"serviceName": s, "serviceInstanceName": n, "maxResults": 10})
        },
        between: nothing,
    },
    // A deployment per call, each settled (the clock jumps past it) before the next.
    Probe {
        label: "UpdateServiceInstance (deploy, then settle)",
        operation: "UpdateServiceInstance",
        input: |i, size| {
            let (s, n) = instance(i, size);
            json!({"serviceName": s, "name": n, "deploymentType": "CURRENT_VERSION"})
        },
        between: |mock| mock.advance_clock_ms(3_000),
    },
];

/// How many requests are read back into the caches at a time, just
/// before they are sent. Built before the pass, the requests sit in memory
/// the whole pass, and the calls against the large mock, each reading cold
/// state, push them out of the caches where the small mock does not: the
/// large size would pay for reading its own requests back, which a server
/// (handed a request it just read) never does. Reading a batch's bytes
/// (untimed) before sending it puts that right without allocating between
/// calls, which would change what the allocator hands the mock.
const BATCH: usize = 50;

/// Reads every byte of `request` that the mock reads.
fn read_back(request: &Request) -> usize {
    let mut sum =
        request.uri.path().len() + request.body.iter().map(|b| usize::from(*b)).sum::<usize>();
    for (name, value) in &request.headers {
        sum += name.as_str().len()
            + value
                .as_bytes()
                .iter()
                .map(|b| usize::from(*b))
                .sum::<usize>();
    }
    std::hint::black_box(sum)
}

/// Nanoseconds per call of one pass of `probe` against a mock of `size`.
/// Only `Mock::handle` and what happens between calls are timed: requests
/// are built before, read back a batch at a time, and an answer's body is
/// read only if it is not a 200.
async fn pass(mock: &Mock, size: usize, probe: &Probe, plan: Plan) -> f64 {
    let inputs: Vec<Value> = (0..plan.calls).map(|i| (probe.input)(i, size)).collect();
    let mut requests = inputs
        .iter()
        .map(|input| request(probe.operation, input))
        .collect::<Vec<_>>()
        .into_iter();
    let mut failed = None;
    let mut elapsed = 0;
    let mut at = 0;
    while !requests.as_slice().is_empty() {
        let batch = requests.len().min(BATCH);
        for request in &requests.as_slice()[..batch] {
            read_back(request);
        }
        let started = cpu_ns();
        for request in requests.by_ref().take(batch) {
            let response = mock.handle(request).await;
            if failed.is_none() && response.status.as_u16() != 200 {
                failed = Some((at, response));
            }
            at += 1;
            (probe.between)(mock);
        }
        elapsed += cpu_ns() - started;
    }
    if let Some((at, response)) = failed {
        expect_ok(probe.operation, &inputs[at], &response);
    }
    elapsed as f64 / plan.calls as f64
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// The whole numbers after `flag`, comma-separated; `default` without it.
fn numbers(args: &[String], flag: &str, default: &[usize]) -> Result<Vec<usize>, String> {
    let Some(at) = args.iter().position(|a| a == flag) else {
        return Ok(default.to_vec());
    };
    args.get(at + 1)
        .and_then(|list| {
            list.split(',')
                .map(|n| n.parse().ok().filter(|n| *n > 0))
                .collect::<Option<Vec<usize>>>()
        })
        .ok_or_else(|| {
            format!("{flag} takes whole numbers above 0, comma-separated (e.g. --sizes 10,10000)")
        })
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let parsed = numbers(&args, "--sizes", &[10, 10_000]).and_then(|sizes| {
        let one = |flag: &str, default: usize| match numbers(&args, flag, &[default])?[..] {
            [n] => Ok(n),
            _ => Err(format!("{flag} takes one whole number above 0")),
        };
        Ok((sizes, one("--calls", 2_000)?, one("--passes", 5)?))
    });
    let (sizes, calls, passes) = match parsed {
        Ok(parsed) => parsed,
        Err(message) => {
            eprintln!("mock_scale: {message}");
            return ExitCode::from(2);
        }
    };
    let plan = Plan { calls, passes };
    let only = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|at| args.get(at + 1));
    let probes: Vec<&Probe> = PROBES
        .iter()
        .filter(|p| only.is_none_or(|only| p.label.contains(only.as_str())))
        .collect();
    let mut mocks = Vec::new();
    for size in &sizes {
        mocks.push((*size, populated(*size).await));
    }
    let mut by_size = vec![serde_json::Map::new(); sizes.len()];
    for probe in &probes {
        let mut times = vec![Vec::new(); sizes.len()];
        for _ in 0..plan.passes {
            for (at, (size, mock)) in mocks.iter().enumerate() {
                times[at].push(pass(mock, *size, probe, plan).await);
            }
        }
        for (at, times) in times.into_iter().enumerate() {
            by_size[at].insert(probe.label.into(), median(times).into());
        }
    }
    let mut ratios = serde_json::Map::new();
    if let (Some(small), Some(large)) = (by_size.first(), by_size.last()) {
        for (label, small_ns) in small {
            if let (Some(s), Some(l)) =
                (small_ns.as_f64(), large.get(label).and_then(Value::as_f64))
            {
                ratios.insert(label.clone(), json!((l / s * 100.0).round() / 100.0));
            }
        }
    }
    let ns_per_call: serde_json::Map<String, Value> = sizes
        .iter()
        .zip(by_size)
        .map(|(size, times)| (size.to_string(), Value::Object(times)))
        .collect();
    println!(
        "{}",
        json!({
            "sizes": sizes,
            "calls": plan.calls,
            "passes": plan.passes,
            "operations": probes.iter().map(|p| p.label).collect::<Vec<_>>(),
            "ns_per_call": ns_per_call,
            "ratio_large_over_small": ratios,
        })
    );
    ExitCode::SUCCESS
}
