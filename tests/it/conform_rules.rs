//! The rule verdicts against targets built here: the built-in mock wrapped so
//! that a retried create starts a new deployment, a static stub made from
//! the reference cassettes' example answers (the kind a mapping set of a
//! generic HTTP mock gives), and a target that answers exactly what the
//! documented outputs show. Also: every shipped scenario runs as written
//! against the built-in mock, and the references trace every assertion.

use crate::support::repo_root;
use proton_vcr::cassette::{self, LoadedCassette};
use proton_vcr::conformance::report::{self, TextOptions};
use proton_vcr::conformance::scenario::{self, run_scenario};
use proton_vcr::conformance::{
    AdminUrls, ConformOptions, Deviations, DiffKind, InProcessTarget, Report, RunVerdict, Silent,
    Timeline, UrlTarget, Verdict, conform,
};
use proton_vcr::mock::{ClockMode, Mock, MockConfig};
use proton_vcr::{Handler, MatchOptions, ReplayServer, Request, Response};
use serde_json::{Value, json};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;
use std::sync::Mutex;

fn references() -> Vec<LoadedCassette> {
    cassette::load(&repo_root().join("cassettes/proton")).unwrap()
}

fn named(name: &str) -> Vec<LoadedCassette> {
    references()
        .into_iter()
        .filter(|c| c.cassette.name == name)
        .collect()
}

/// The shipped deviations, named as in the repository (reports print the name).
fn shipped_deviations() -> Deviations {
    let bytes = std::fs::read(repo_root().join("conformance/deviations.json")).unwrap();
    Deviations::parse(Path::new("conformance/deviations.json"), &bytes).unwrap()
}

fn options() -> ConformOptions {
    ConformOptions {
        today: "2026-12-01".to_string(),
        ..ConformOptions::default()
    }
}

fn manual_mock() -> Mock {
    Mock::new(MockConfig {
        clock: ClockMode::Manual,
        ..MockConfig::default()
    })
}

fn broken_rules(report: &Report) -> BTreeSet<(String, String)> {
    report
        .rules()
        .into_iter()
        .filter(|r| r.verdict == Verdict::Broken)
        .map(|r| (r.id, r.operation))
        .collect()
}

// ------------------------------------------ a retried create deploys again

/// The built-in mock, except that a retried CreateEnvironment answers with a
/// new deployment id, as a mock that starts a second deployment would.
struct NewDeploymentOnRetry {
    mock: Mock,
    seen: Mutex<HashSet<String>>,
}

impl Handler for NewDeploymentOnRetry {
    async fn handle(&self, request: Request) -> Response {
        let create = request.header("x-amz-target") == Some("AwsProton20200720.CreateEnvironment");
        let body = String::from_utf8_lossy(&request.body).to_string();
        let mut response = self.mock.handle(request).await;
        if !create || !response.status.is_success() {
            return response;
        }
        let retry = !self.seen.lock().unwrap().insert(body);
        if let Ok(mut answer) = serde_json::from_slice::<Value>(&response.body) {
            let deployment = if retry {
                "a2c4e6f8-1b3d-4f5a-8c7e-9d0b2a4c6e81"
            } else {
                "5e7a9c1b-3d5f-4a6c-8e0b-2d4f6a8c0e13"
            };
            let first = answer["environment"]["lastAttemptedDeploymentId"].clone();
            if retry || first.is_null() {
                answer["environment"]["lastAttemptedDeploymentId"] = json!(deployment);
            }
            response.body = answer.to_string().into();
        }
        response
    }
}

#[tokio::test]
async fn conform_fails_for_a_mock_that_starts_a_new_deployment_on_a_retried_create() {
    let cassettes = named("idempotent-create/create-environment--same-parameters");
    assert_eq!(cassettes.len(), 1);
    let target = InProcessTarget::with_hooks(
        "mock that deploys again on a retried create",
        Arc::new(NewDeploymentOnRetry {
            mock: manual_mock(),
            seen: Mutex::new(HashSet::new()),
        }),
        |w: &NewDeploymentOnRetry| {
            w.mock.reset();
            w.seen.lock().unwrap().clear();
        },
        |w: &NewDeploymentOnRetry, ms| w.mock.set_clock_ms(ms),
    );
    // Even a deviation accepting any value there cannot hide it: identity
    // across steps is never accepted.
    let mut deviations = Deviations::parse(
        Path::new("lenient.json"),
        br#"{"format": "proton-vcr.deviations/2", "deviations": [
          {"cassette": "idempotent-create/create-environment--same-parameters", "steps": "all",
           "every_step": "tried on purpose", "kind": "value",
           "paths": ["$.environment.lastAttemptedDeploymentId"], "reason": "lenient", "date": "2026-12-01"}]}"#,
    )
    .unwrap();
    let report = conform(
        &cassettes,
        &target,
        &mut deviations,
        &options(),
        &mut Silent,
    )
    .await
    .unwrap();
    assert_eq!(
        broken_rules(&report),
        BTreeSet::from([(
            "idempotent-create/same-parameters".to_string(),
            "CreateEnvironment".to_string()
        )]),
        "{}",
        report::text(&report, &TextOptions::default())
    );
    let rule = report
        .rules()
        .into_iter()
        .find(|r| r.verdict == Verdict::Broken)
        .unwrap();
    assert!(
        rule.breaks
            .iter()
            .any(|(_, d)| d.path == "$.environment.lastAttemptedDeploymentId"
                && d.kind == DiffKind::Identity
                && d.accepted.is_none()),
        "{:?}",
        rule.breaks
    );
    assert_eq!(report.run_verdict(), RunVerdict::RuleBroken);

    // The unaltered mock holds the same rule on the same cassette.
    let target = InProcessTarget::with_hooks(
        "built-in mock",
        Arc::new(manual_mock()),
        |m: &Mock| m.reset(),
        |m: &Mock, ms| m.set_clock_ms(ms),
    );
    let report = conform(
        &cassettes,
        &target,
        &mut shipped_deviations(),
        &options(),
        &mut Silent,
    )
    .await
    .unwrap();
    assert!(broken_rules(&report).is_empty());
}

// ------------------------------------------------------- a static stub

/// Answers every operation with the first successful answer the reference
/// cassettes show for it, whatever the request: no state, no errors.
struct StaticStub {
    answers: HashMap<String, Value>,
}

impl StaticStub {
    fn from_references(cassettes: &[LoadedCassette]) -> Self {
        let mut answers = HashMap::new();
        for interaction in cassettes.iter().flat_map(|c| &c.cassette.interactions) {
            let Some(target) = interaction.request.headers.get("x-amz-target") else {
                continue;
            };
            if interaction.response.status != 200 {
                continue;
            }
            let body = interaction
                .response
                .to_exchange()
                .json_body()
                .unwrap_or(Value::Null);
            answers.entry(target.to_string()).or_insert(body);
        }
        Self { answers }
    }
}

impl Handler for StaticStub {
    async fn handle(&self, request: Request) -> Response {
        let target = request.header("x-amz-target").unwrap_or_default();
        match self.answers.get(target) {
            Some(body) => Response::json(http::StatusCode::OK, body),
            None => Response::json(
                http::StatusCode::NOT_FOUND,
                &json!({"message": "no mapping"}),
            ),
        }
    }
}

#[tokio::test]
async fn a_static_stub_gets_a_short_report_naming_exactly_the_rules_it_breaks() {
    // The references of the idempotency rules (the user guide's flows, which
    // test no rule of the contract, are left out).
    let cassettes: Vec<LoadedCassette> = references()
        .into_iter()
        .filter(|c| !c.cassette.name.starts_with("user-guide-flow/"))
        .collect();
    let stub = StaticStub::from_references(&cassettes);
    let target = InProcessTarget::new("static stub", Arc::new(stub));
    let options = ConformOptions {
        timeline: Timeline::Compressed,
        ..options()
    };
    let report = conform(
        &cassettes,
        &target,
        &mut shipped_deviations(),
        &options,
        &mut Silent,
    )
    .await
    .unwrap();
    // A stub answers a retry as it answered the original, so it keeps the
    // rules whose test is "the same answer again" and whose check reads a
    // list holding the one resource; it breaks every rule that needs an
    // error, a new resource, a changed state or an empty answer.
    let holds: BTreeSet<(String, String)> = [
        (
            "client-token-create/same-parameters",
            "CreateEnvironmentTemplateVersion",
        ),
        (
            "client-token-create/same-parameters",
            "CreateServiceTemplateVersion",
        ),
        (
            "client-token-create/same-parameters",
            "CreateEnvironmentAccountConnection",
        ),
        (
            "idempotent-create/same-parameters",
            "CreateEnvironmentTemplate",
        ),
        ("idempotent-create/same-parameters", "CreateServiceTemplate"),
        (
            "client-token-model/same-parameters",
            "CreateServiceInstance",
        ),
        (
            "client-token-model/same-parameters",
            "UpdateServiceInstance",
        ),
    ]
    .into_iter()
    .map(|(r, o)| (r.to_string(), o.to_string()))
    .collect();
    let all: BTreeSet<(String, String)> = report
        .rules()
        .into_iter()
        .map(|r| (r.id, r.operation))
        .collect();
    assert_eq!(all.len(), 42);
    // A stub copied from the references lacks the members they leave open
    // (present with any value), so the component rules, decided by such
    // members, break too.
    let expected: BTreeSet<_> = all.difference(&holds).cloned().collect();
    let text = report::text(&report, &TextOptions::default());
    assert_eq!(broken_rules(&report), expected, "{text}");
    assert!(
        report
            .rules()
            .iter()
            .all(|r| r.verdict != Verdict::NotTested),
        "{text}"
    );

    let lines = text.lines().count();
    assert!(lines <= 300, "{lines} lines:\n{text}");
    let table = text.find("Rules of the contract").unwrap();
    assert!(
        text[..table].lines().all(|l| l.is_empty()
            || l.starts_with("proton-vcr conform:")
            || l.starts_with("accepted deviations from")
            || l.starts_with("note: ")),
        "only the run's header comes before the rule table:\n{text}"
    );
    assert!(text.contains("never reached 200 DRAFT after"), "{text}");
    assert!(!text.contains("Ready-to-paste"), "entries only when asked");
    assert!(
        !text.contains("\"reason\": \"REPLACE"),
        "entries only when asked"
    );
    insta::assert_snapshot!("conform_static_stub_text", text);
}

// ------------------------------------------- the documented outputs, exactly

#[tokio::test(flavor = "multi_thread")]
async fn a_target_that_answers_the_documented_outputs_conforms_on_every_field() {
    // Each reference cassette is served by a replay of itself: answers that
    // copy the documented outputs, generated values and all.
    for mut loaded in references() {
        // Where the evidence asks for a member with any value, the documented
        // output has one the reference cannot know: the copy shows one too,
        // the same one wherever the reference asks for the same value.
        let mut bodies: Vec<Option<Value>> = Vec::new();
        for (n, interaction) in loaded.cassette.interactions.iter_mut().enumerate() {
            let paths = interaction
                .expect
                .as_ref()
                .and_then(|e| e.get("paths"))
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            let mut body = interaction.response.body.json();
            if let Some(body) = body.as_mut() {
                for (path, spec) in paths {
                    if spec["presence"] != json!("required") {
                        continue;
                    }
                    let earlier = spec["same_as"]
                        .as_u64()
                        .and_then(|step| bodies.get(step as usize - 1).cloned().flatten())
                        .and_then(|b| lookup(&b, &path));
                    let value =
                        earlier.unwrap_or_else(|| json!(format!("documented value {n} at {path}")));
                    insert(body, &path, value);
                }
                interaction.response.body = proton_vcr::cassette::Body::from_json(body);
            }
            bodies.push(body);
        }
        let mut config = proton_vcr::ReplayConfig::new(
            vec![loaded.clone()],
            MatchOptions {
                tokens: proton_vcr::proton_token_paths(),
                ..Default::default()
            },
        );
        config.admin_listen = Some("127.0.0.1:0".parse().unwrap());
        let server = ReplayServer::start(config).await.unwrap();
        let url = server.url();
        let admin = server.admin_url().unwrap();
        let target = UrlTarget::new(
            &url,
            AdminUrls {
                reset: Some(format!("{admin}/__vcr/rewind")),
                clock: None,
            },
        )
        .unwrap();
        let options = ConformOptions {
            timeline: Timeline::Compressed,
            ..options()
        };
        let report = conform(
            std::slice::from_ref(&loaded),
            &target,
            &mut Deviations::default(),
            &options,
            &mut Silent,
        )
        .await
        .unwrap();
        assert_eq!(
            report.run_verdict(),
            RunVerdict::Conforms,
            "{}",
            report::text(&report, &TextOptions::default())
        );
        server.shutdown().await;
    }
}

fn path_steps(path: &str) -> Vec<String> {
    path.trim_start_matches('$')
        .replace('[', ".[")
        .split('.')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// The value at a `$.a.b[0].c` path.
fn lookup(body: &Value, path: &str) -> Option<Value> {
    let mut node = body;
    for step in path_steps(path) {
        node = match step.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            Some(index) => node.get(index.parse::<usize>().ok()?)?,
            None => node.get(step.as_str())?,
        };
    }
    Some(node.clone())
}

/// Sets the member at a `$.a.b[0].c` path to `value`, when its parent is there.
fn insert(body: &mut Value, path: &str, value: Value) {
    let steps: Vec<String> = path
        .trim_start_matches('$')
        .replace('[', ".[")
        .split('.')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    let Some((last, parents)) = steps.split_last() else {
        return;
    };
    let mut node = body;
    for step in parents {
        let next = match step.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            Some(index) => index.parse::<usize>().ok().and_then(|i| node.get_mut(i)),
            None => node.get_mut(step.as_str()),
        };
        match next {
            Some(next) => node = next,
            None => return,
        }
    }
    if let Some(members) = node.as_object_mut() {
        members.insert(last.clone(), value);
    }
}

// ------------------------------------------------------------- scenarios

#[tokio::test]
async fn every_shipped_scenario_runs_as_written_against_the_built_in_mock() {
    let scenarios = scenario::load(&repo_root().join("conformance/scenarios")).unwrap();
    assert_eq!(scenarios.len(), references().len());
    let target = InProcessTarget::with_hooks(
        "built-in mock",
        Arc::new(manual_mock()),
        |m: &Mock| m.reset(),
        |m: &Mock, ms| m.set_clock_ms(ms),
    );
    let mut failed = Vec::new();
    for scenario in &scenarios {
        assert!(
            scenario.steps.iter().any(|s| matches!(
                s,
                scenario::ScenarioStep::Call(c) if c.rule.as_deref() == Some("under-test")
            )),
            "{}: no rule-under-test step",
            scenario.name
        );
        let run = run_scenario(scenario, &target, &mut Silent).await.unwrap();
        if !run.passed() {
            failed.push(format!("{}: {:?}", scenario.name, run.steps.last()));
        }
    }
    assert!(failed.is_empty(), "{failed:#?}");
}

// ------------------------------------------------------------ references

#[test]
fn every_reference_assertion_cites_its_source_and_the_files_are_current() {
    for args in [
        vec!["conformance/reference/check.py"],
        vec!["conformance/reference/build.py", "--check"],
    ] {
        let output = std::process::Command::new("python3")
            .current_dir(repo_root())
            .args(&args)
            .output()
            .expect("python3 runs");
        assert!(
            output.status.success(),
            "{args:?}:\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

// ------------------------------------------------------------ https targets

/// A CA, and a certificate for 127.0.0.1 it signed (PEM: CA, cert, key).
fn test_pki() -> (String, String, String) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "conform target test CA");
    let ca = ca.self_signed(&ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_string()])
        .unwrap()
        .signed_by(&key, &ca, &ca_key)
        .unwrap();
    (ca.pem(), leaf.pem(), key.serialize_pem())
}

/// Terminates TLS on 127.0.0.1 and pipes each connection to `backend`.
async fn tls_front(cert: &str, key: &str, backend: std::net::SocketAddr) -> std::net::SocketAddr {
    let certs: Vec<_> = rustls_pemfile::certs(&mut cert.as_bytes())
        .collect::<Result<_, _>>()
        .unwrap();
    let key = rustls_pemfile::private_key(&mut key.as_bytes())
        .unwrap()
        .unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(socket).await else {
                    return;
                };
                if let Ok(mut plain) = tokio::net::TcpStream::connect(backend).await {
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
                }
            });
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread")]
async fn an_https_target_is_checked_with_its_ca_and_refused_without_it() {
    let mock = proton_vcr::MockServer::start(MockConfig {
        clock: ClockMode::Manual,
        ..MockConfig::default()
    })
    .await
    .unwrap();
    let (ca, cert, key) = test_pki();
    let front = tls_front(&cert, &key, mock.local_addr()).await;
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca).unwrap();
    let url = format!("https://127.0.0.1:{}", front.port());
    let cassette = repo_root().join(
        "cassettes/proton/idempotent-create/create-environment-template--same-parameters.json",
    );
    let run = |extra: Vec<String>| {
        let url = url.clone();
        let cassette = cassette.clone();
        async move {
            tokio::task::spawn_blocking(move || {
                std::process::Command::new(crate::support::binary())
                    .current_dir(repo_root())
                    .arg("conform")
                    .arg(&cassette)
                    .args([
                        "--target",
                        &url,
                        "--target-admin",
                        "mock",
                        "--report",
                        "json=-",
                    ])
                    .args(extra)
                    .output()
                    .unwrap()
            })
            .await
            .unwrap()
        }
    };

    let output = run(vec!["--target-ca".into(), ca_file.display().to_string()]).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    let report: Value =
        serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"));
    assert_eq!(report["target"], json!(url));
    let rule = report["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| {
            r["rule"] == json!("idempotent-create/same-parameters")
                && r["operation"] == json!("CreateEnvironmentTemplate")
        })
        .unwrap();
    assert_eq!(rule["verdict"], json!("holds"), "{report}");
    assert!(
        matches!(output.status.code(), Some(0 | 3)),
        "{:?} {stderr}",
        output.status
    );

    // Without the CA the certificate is not trusted, and the error says what to pass.
    let output = run(Vec::new()).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--target-ca"), "{stderr}");
    assert!(
        !stderr.contains("--upstream"),
        "names a recorder flag: {stderr}"
    );
    assert!(stderr.to_lowercase().contains("certificate"), "{stderr}");

    // A CA file for a plain http:// target is a mistake, said so.
    let output = std::process::Command::new(crate::support::binary())
        .current_dir(repo_root())
        .arg("conform")
        .arg(&cassette)
        .args(["--target", &mock.url(), "--target-ca"])
        .arg(&ca_file)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("only applies to an https://"));
}
