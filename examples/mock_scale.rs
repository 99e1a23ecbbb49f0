//! The mock's cost per call as its state grows: the same calls timed
//! against a mock holding 10 template versions and 10 service instances,
//! then 10,000 of each (instances 10 to a service, so that a service and its
//! spec are the same size at both sizes).
//!
//! Calls go through `Mock::handle` in-process (no socket), so what is timed
//! is the mock's own work: routing, validation, settling and the operation.
//! Time is the thread's CPU time (Linux's /proc/thread-self/schedstat, wall
//! time elsewhere), which a busy machine does not inflate. For each
//! operation it prints the median of the per-call times of several passes,
//! at each size, and the ratio large/small (flat is about 1). Lists ask for
//! pages of 10, so both sizes render the same number of items.
//!
//! ```text
//! cargo run --release --example mock_scale -- --sizes 10,10000
//! ```
//! Prints one JSON object on stdout.

use proton_vcr::{ClockMode, Handler, Mock, MockConfig, Request};
use serde_json::{Value, json};
use std::process::ExitCode;
use std::time::Instant;

/// Calls timed per operation and pass.
const CALLS: usize = 2_000;
const PASSES: usize = 5;
const INSTANCES_PER_SERVICE: usize = 10;

async fn call(mock: &Mock, operation: &str, input: &Value) -> Value {
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
    let response = mock.handle(request).await;
    let body = response.json_body().unwrap_or(Value::Null);
    assert_eq!(response.status.as_u16(), 200, "{operation} {input}: {body}");
    body
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

/// Nanoseconds of CPU this thread has used (wall-clock nanoseconds since
/// the first call where the kernel does not say).
fn cpu_ns() -> u128 {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|text| text.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| START.get_or_init(Instant::now).elapsed().as_nanos())
}

/// Median nanoseconds per call of `make(i)` over the passes.
async fn time(
    mock: &Mock,
    operation: &str,
    make: impl Fn(usize) -> Value,
    between: impl Fn(&Mock),
) -> f64 {
    let inputs: Vec<Value> = (0..CALLS).map(&make).collect();
    let mut per_call = Vec::new();
    for _ in 0..PASSES {
        let started = cpu_ns();
        for input in &inputs {
            call(mock, operation, input).await;
            between(mock);
        }
        per_call.push((cpu_ns() - started) as f64 / CALLS as f64);
    }
    per_call.sort_by(f64::total_cmp);
    per_call[PASSES / 2]
}

async fn measure(size: usize) -> Value {
    let mock = populated(size).await;
    let services = size.div_ceil(INSTANCES_PER_SERVICE);
    let instance = |i: usize| {
        let n = (i * 7919) % size;
        (format!("s{}", n / INSTANCES_PER_SERVICE), format!("i{n}"))
    };
    let nothing = |_: &Mock| {};
    let mut out = serde_json::Map::new();
    out.insert(
        "GetEnvironmentTemplate".into(),
        time(
            &mock,
            "GetEnvironmentTemplate",
            |_| json!({"name": "env-tpl"}),
            nothing,
        )
        .await
        .into(),
    );
    out.insert("GetEnvironmentTemplateVersion".into(), time(&mock, "GetEnvironmentTemplateVersion", |i| json!({"templateName": "env-tpl", "majorVersion": "1", "minorVersion": ((i * 7919) % size).to_string()}), nothing).await.into());
    out.insert(
        "ListEnvironmentTemplateVersions".into(),
        time(
            &mock,
            "ListEnvironmentTemplateVersions",
            |_| json!({"templateName": "env-tpl", "maxResults": 10}),
            nothing,
        )
        .await
        .into(),
    );
    out.insert(
        "GetServiceInstance".into(),
        time(
            &mock,
            "GetServiceInstance",
            |i| {
                let (s, n) = instance(i);
                json!({"serviceName": s, "name": n})
            },
            nothing,
        )
        .await
        .into(),
    );
    out.insert(
        "ListServiceInstances (one service)".into(),
        time(
            &mock,
            "ListServiceInstances",
            |i| json!({"serviceName": format!("s{}", i % services), "maxResults": 10}),
            nothing,
        )
        .await
        .into(),
    );
    out.insert(
        "GetService".into(),
        time(
            &mock,
            "GetService",
            |i| json!({"name": format!("s{}", i % services)}),
            nothing,
        )
        .await
        .into(),
    );
    // A deployment per call, each settled (the clock jumps past it) before the next.
    out.insert(
        "UpdateServiceInstance (deploy and settle)".into(),
        time(
            &mock,
            "UpdateServiceInstance",
            |i| {
                let (s, n) = instance(i);
                json!({"serviceName": s, "name": n, "deploymentType": "CURRENT_VERSION"})
            },
            |mock| mock.advance_clock_ms(3_000),
        )
        .await
        .into(),
    );
    Value::Object(out)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let sizes: Vec<usize> = match args.iter().position(|a| a == "--sizes") {
        Some(at) => match args
            .get(at + 1)
            .map(|list| list.split(',').map(str::parse).collect())
        {
            Some(Ok(sizes)) => sizes,
            _ => {
                eprintln!(
                    "mock_scale: --sizes takes a comma-separated list of whole numbers, e.g. 10,10000"
                );
                return ExitCode::from(2);
            }
        },
        None => vec![10, 10_000],
    };
    let mut by_size = serde_json::Map::new();
    for size in &sizes {
        by_size.insert(size.to_string(), measure(*size).await);
    }
    let mut ratios = serde_json::Map::new();
    if let (Some(small), Some(large)) = (sizes.first(), sizes.last()) {
        if let (Some(Value::Object(a)), Some(Value::Object(b))) = (
            by_size.get(&small.to_string()),
            by_size.get(&large.to_string()),
        ) {
            for (operation, small_ns) in a {
                if let (Some(s), Some(l)) =
                    (small_ns.as_f64(), b.get(operation).and_then(Value::as_f64))
                {
                    ratios.insert(operation.clone(), json!((l / s * 100.0).round() / 100.0));
                }
            }
        }
    }
    println!(
        "{}",
        json!({"ns_per_call": by_size, "ratio_large_over_small": ratios})
    );
    ExitCode::SUCCESS
}
