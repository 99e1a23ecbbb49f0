//! `conform` and `scenario` against a small fake Proton written here (client
//! token creates with a driven clock), in-process and over HTTP, faithful
//! and with one rule broken, so the check is shown to pass and to fail.

use crate::support::{binary, repo_root};
use http::{Method, StatusCode};
use proton_vcr::cassette::{self, LoadedCassette};
use proton_vcr::conformance::report::{self, TextOptions};
use proton_vcr::conformance::{
    AdminUrls, ConformOptions, Deviations, InProcessTarget, NormalizeRules, Outcome, Report,
    Silent, UrlTarget, conform,
};
use proton_vcr::{AwsError, Handler, Limits, Origin, Request, Response, Server};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

// ---------------------------------------------------------------- the fake

/// The rule a fake breaks on purpose.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flaw {
    None,
    /// A retry with the same client token and parameters creates again.
    CreatesAgainOnRetry,
    /// Template versions take ten hours to register.
    SlowRegistration,
}

/// Proton's client-token creates for template versions and environment
/// account connections, with a clock driven by the run. Its account,
/// region, ids and timestamps all differ from the recordings on purpose.
struct FakeProton {
    flaw: Flaw,
    clock_ms: AtomicU64,
    state: Mutex<FakeState>,
}

#[derive(Default)]
struct FakeState {
    /// template name -> versions (major numbers from 1), each (created_ms, description).
    versions: HashMap<String, Vec<(u64, Option<String>)>>,
    /// client token -> (parameters, the resource's key).
    tokens: HashMap<String, (Value, String)>,
    /// connection id -> the connection.
    connections: HashMap<String, Value>,
}

const REGION: &str = "eu-west-1";
const ACCOUNT: &str = "111122223333";
const NS: &str = "com.amazonaws.proton.v20200720#";

impl FakeProton {
    fn new(flaw: Flaw) -> Self {
        Self {
            flaw,
            clock_ms: AtomicU64::new(0),
            state: Mutex::new(FakeState::default()),
        }
    }

    fn reset(&self) {
        *self.state.lock().unwrap() = FakeState::default();
        self.clock_ms.store(0, Ordering::SeqCst);
    }

    fn set_clock_ms(&self, ms: u64) {
        self.clock_ms.store(ms, Ordering::SeqCst);
    }

    fn epoch(ms: u64) -> Value {
        json!(1_800_000_000.0 + ms as f64 / 1000.0)
    }

    fn registration_ms(&self) -> u64 {
        if self.flaw == Flaw::SlowRegistration {
            36_000_000
        } else {
            4_000
        }
    }

    fn version_view(
        &self,
        name: &str,
        major: usize,
        created: u64,
        description: &Option<String>,
    ) -> Value {
        let now = self.clock_ms.load(Ordering::SeqCst);
        let ready = created + self.registration_ms();
        let (status, modified) = if now >= ready {
            ("DRAFT", ready)
        } else {
            ("REGISTRATION_IN_PROGRESS", created)
        };
        let mut version = json!({
            "arn": format!("arn:aws:proton:{REGION}:{ACCOUNT}:environment-template/{name}:{major}.0"),
            "createdAt": Self::epoch(created),
            "lastModifiedAt": Self::epoch(modified),
            "majorVersion": major.to_string(),
            "minorVersion": "0",
            "status": status,
            "templateName": name,
        });
        if let Some(description) = description {
            version["description"] = json!(description);
        }
        json!({ "environmentTemplateVersion": version })
    }

    fn answer(&self, request: &Request) -> Response {
        let path = request.uri.path();
        if request.method == Method::POST && path == "/__mock/reset" {
            self.reset();
            return Response::json(StatusCode::OK, &json!({}));
        }
        if request.method == Method::POST && path == "/__mock/clock" {
            let ms = request
                .json_body()
                .and_then(|b| b["set_ms"].as_u64())
                .unwrap_or(0);
            self.set_clock_ms(ms);
            return Response::json(StatusCode::OK, &json!({}));
        }
        let operation = request
            .amz_target()
            .and_then(|t| t.split('.').nth(1))
            .unwrap_or("")
            .to_string();
        let input = request.json_body().unwrap_or(json!({}));
        let result = match operation.as_str() {
            "CreateEnvironmentTemplateVersion" => self.create_version(&input),
            "GetEnvironmentTemplateVersion" => self.get_version(&input),
            "CreateEnvironmentAccountConnection" => self.create_connection(&input),
            "GetEnvironmentAccountConnection" => self.get_connection(&input),
            other => Err(error(
                "UnknownOperationException",
                &format!("no operation {other}"),
            )),
        };
        match result {
            Ok(body) => Response::json(StatusCode::OK, &body),
            Err(error) => error.to_response(),
        }
    }

    /// The resource a client token already made, or `None` when it is new.
    fn retry(&self, state: &FakeState, input: &Value) -> Result<Option<String>, AwsError> {
        let token = input["clientToken"].as_str().unwrap_or("");
        let params = without_token(input);
        match state.tokens.get(token) {
            Some((seen, _)) if *seen != params => Err(error(
                "ValidationException",
                "Idempotent parameter mismatch",
            )),
            Some((_, key)) if self.flaw != Flaw::CreatesAgainOnRetry => Ok(Some(key.clone())),
            _ => Ok(None),
        }
    }

    fn remember(state: &mut FakeState, input: &Value, key: String) {
        let params = without_token(input);
        let token = input["clientToken"].as_str().unwrap_or("").to_string();
        state.tokens.entry(token).or_insert((params, key));
    }

    fn create_version(&self, input: &Value) -> Result<Value, AwsError> {
        let mut state = self.state.lock().unwrap();
        let name = input["templateName"].as_str().unwrap_or("").to_string();
        let major = match self.retry(&state, input)? {
            Some(key) => key.parse::<usize>().unwrap(),
            None => {
                let description = input["description"].as_str().map(str::to_string);
                let versions = state.versions.entry(name.clone()).or_default();
                versions.push((self.clock_ms.load(Ordering::SeqCst), description));
                let major = versions.len();
                Self::remember(&mut state, input, major.to_string());
                major
            }
        };
        let (created, description) = state.versions[&name][major - 1].clone();
        Ok(self.version_view(&name, major, created, &description))
    }

    fn get_version(&self, input: &Value) -> Result<Value, AwsError> {
        let state = self.state.lock().unwrap();
        let name = input["templateName"].as_str().unwrap_or("");
        let major: usize = input["majorVersion"]
            .as_str()
            .and_then(|m| m.parse().ok())
            .unwrap_or(0);
        match state
            .versions
            .get(name)
            .and_then(|v| v.get(major.wrapping_sub(1)))
        {
            Some((created, description)) => {
                Ok(self.version_view(name, major, *created, description))
            }
            None => Err(error(
                "ResourceNotFoundException",
                "The requested environment template version does not exist",
            )),
        }
    }

    fn create_connection(&self, input: &Value) -> Result<Value, AwsError> {
        let mut state = self.state.lock().unwrap();
        let id = match self.retry(&state, input)? {
            Some(id) => id,
            None => {
                let id = uuid::Uuid::new_v4().to_string();
                let now = Self::epoch(self.clock_ms.load(Ordering::SeqCst));
                let role = input["roleArn"].as_str().unwrap_or("");
                // The connection lives in the account of the role it uses.
                let account = role.split(':').nth(4).unwrap_or(ACCOUNT);
                let connection = json!({
                    "arn": format!("arn:aws:proton:{REGION}:{account}:environment-account-connection/{id}"),
                    "environmentAccountId": account,
                    "environmentName": input["environmentName"],
                    "id": id,
                    "lastModifiedAt": now,
                    "managementAccountId": input["managementAccountId"],
                    "requestedAt": now,
                    "roleArn": role,
                    "status": "PENDING",
                });
                state.connections.insert(id.clone(), connection);
                Self::remember(&mut state, input, id.clone());
                id
            }
        };
        Ok(json!({ "environmentAccountConnection": state.connections[&id] }))
    }

    fn get_connection(&self, input: &Value) -> Result<Value, AwsError> {
        let state = self.state.lock().unwrap();
        match state.connections.get(input["id"].as_str().unwrap_or("")) {
            Some(connection) => Ok(json!({ "environmentAccountConnection": connection })),
            None => Err(error(
                "ResourceNotFoundException",
                "The requested environment account connection does not exist",
            )),
        }
    }
}

fn without_token(input: &Value) -> Value {
    let mut params = input.clone();
    if let Some(members) = params.as_object_mut() {
        members.remove("clientToken");
    }
    params
}

fn error(code: &str, message: &str) -> AwsError {
    AwsError::new(Origin::Client, format!("{NS}{code}"), message)
}

impl Handler for FakeProton {
    fn handle(&self, request: Request) -> impl Future<Output = Response> + Send {
        let response = self.answer(&request);
        async move { response }
    }
}

fn in_process(flaw: Flaw) -> InProcessTarget<FakeProton> {
    InProcessTarget::with_hooks(
        "fake Proton (in-process)",
        Arc::new(FakeProton::new(flaw)),
        FakeProton::reset,
        FakeProton::set_clock_ms,
    )
}

// ------------------------------------------------------- the recordings

fn call(elapsed_ms: u64, operation: &str, input: Value, status: u16, output: Value) -> Value {
    json!({
        "elapsed_ms": elapsed_ms,
        "request": {
            "method": "POST", "uri": "/",
            "headers": {"content-type": "application/x-amz-json-1.0", "x-amz-target": format!("AwsProton20200720.{operation}")},
            "body": {"json": input}
        },
        "response": {
            "status": status,
            "headers": {"content-type": "application/x-amz-json-1.0", "x-amzn-requestid": "7d3c1f8e-5d5f-4f43-a7b5-3a0d0b7f9a11"},
            "body": {"json": output}
        }
    })
}

/// Marks interaction `index` as deciding `rule` for `operation` by `paths`.
fn mark_rule(cassette: &mut Value, index: usize, rule: &str, operation: &str, paths: &[&str]) {
    cassette["interactions"][index]["expect"] = json!({
        "cite": {"status": "https://docs.aws.amazon.com/proton/latest/APIReference/Welcome.html"},
        "rule": {"id": rule, "operation": operation, "role": "under-test", "paths": paths},
    });
}

fn documented(name: &str, interactions: Vec<Value>) -> Value {
    json!({
        "format": "proton-vcr.cassette/1",
        "name": name,
        "provenance": {"kind": "documented", "sources": ["https://docs.aws.amazon.com/proton/latest/APIReference/Welcome.html"]},
        "interactions": interactions,
    })
}

const ETV_SAME: &str = "client-token-create/CreateEnvironmentTemplateVersion--same-parameters";
const EAC_SAME: &str = "client-token-create/CreateEnvironmentAccountConnection--same-parameters";
const ETV_DIFFERENT: &str =
    "client-token-create/CreateEnvironmentTemplateVersion--different-parameters";
const WAITER: &str = "waiter/GetEnvironmentTemplateVersion--registration";

fn version(name: &str, major: &str, status: &str, created: f64, modified: f64) -> Value {
    json!({"environmentTemplateVersion": {
        "arn": format!("arn:aws:proton:us-east-1:123456789012:environment-template/{name}:{major}.0"),
        "createdAt": created, "lastModifiedAt": modified,
        "majorVersion": major, "minorVersion": "0", "status": status, "templateName": name,
    }})
}

fn etv_input(name: &str, token: &str) -> Value {
    json!({"templateName": name, "clientToken": token, "source": {"s3": {"bucket": "proton-templates", "key": format!("{name}.tar.gz")}}})
}

fn get_etv(name: &str) -> Value {
    json!({"templateName": name, "majorVersion": "1", "minorVersion": "0"})
}

/// The recordings, keyed by name: as a real service would have answered
/// (its own account, region, ids and times).
fn recordings() -> Vec<(String, Value)> {
    let t0 = 1_700_000_000.123;
    let pending = |c| version("fargate-env", "1", "REGISTRATION_IN_PROGRESS", c, c);
    let mut etv_same = documented(
        ETV_SAME,
        vec![
            call(
                0,
                "CreateEnvironmentTemplateVersion",
                etv_input("fargate-env", "tok-1"),
                200,
                pending(t0),
            ),
            call(
                2_000,
                "GetEnvironmentTemplateVersion",
                get_etv("fargate-env"),
                200,
                pending(t0),
            ),
            call(
                4_000,
                "GetEnvironmentTemplateVersion",
                get_etv("fargate-env"),
                200,
                pending(t0),
            ),
            call(
                8_000,
                "GetEnvironmentTemplateVersion",
                get_etv("fargate-env"),
                200,
                version("fargate-env", "1", "DRAFT", t0, t0 + 7.5),
            ),
            call(
                9_000,
                "CreateEnvironmentTemplateVersion",
                etv_input("fargate-env", "tok-1"),
                200,
                version("fargate-env", "1", "DRAFT", t0, t0 + 7.5),
            ),
        ],
    );
    let id = "5b1e0a52-2c8f-4f0e-9a43-0c6f2f8d9e11";
    let connection = json!({"environmentAccountConnection": {
        "arn": format!("arn:aws:proton:us-east-1:123456789012:environment-account-connection/{id}"),
        "environmentAccountId": "123456789012", "environmentName": "prod", "id": id,
        "lastModifiedAt": 1_700_000_100.5, "managementAccountId": "210987654321",
        "requestedAt": 1_700_000_100.5, "roleArn": "arn:aws:iam::123456789012:role/proton-env", "status": "PENDING",
    }});
    let eac_input = json!({"clientToken": "tok-2", "environmentName": "prod", "managementAccountId": "210987654321", "roleArn": "arn:aws:iam::123456789012:role/proton-env"});
    let mut eac_same = documented(
        EAC_SAME,
        vec![
            call(
                0,
                "CreateEnvironmentAccountConnection",
                eac_input.clone(),
                200,
                connection.clone(),
            ),
            call(
                1_000,
                "CreateEnvironmentAccountConnection",
                eac_input,
                200,
                connection.clone(),
            ),
            call(
                2_000,
                "GetEnvironmentAccountConnection",
                json!({"id": id}),
                200,
                connection,
            ),
        ],
    );
    let mut first = etv_input("lambda-env", "tok-3");
    first["description"] = json!("first");
    let mut second = first.clone();
    second["description"] = json!("second");
    let mut created = version("lambda-env", "1", "REGISTRATION_IN_PROGRESS", t0, t0);
    created["environmentTemplateVersion"]["description"] = json!("first");
    let mut etv_different = documented(
        ETV_DIFFERENT,
        vec![
            call(0, "CreateEnvironmentTemplateVersion", first, 200, created),
            call(
                1_000,
                "CreateEnvironmentTemplateVersion",
                second,
                400,
                json!({
                    "__type": format!("{NS}ValidationException"),
                    "message": "Client token tok-3 was already used with different parameters",
                }),
            ),
        ],
    );
    mark_rule(
        &mut etv_same,
        4,
        "client-token-create/same-parameters",
        "CreateEnvironmentTemplateVersion",
        &[
            "status",
            "error",
            "$.environmentTemplateVersion.arn",
            "$.environmentTemplateVersion.createdAt",
        ],
    );
    mark_rule(
        &mut eac_same,
        1,
        "client-token-create/same-parameters",
        "CreateEnvironmentAccountConnection",
        &["status", "error", "$.environmentAccountConnection.id"],
    );
    mark_rule(
        &mut etv_different,
        1,
        "client-token-create/different-parameters",
        "CreateEnvironmentTemplateVersion",
        &["status", "error"],
    );
    vec![
        (ETV_SAME.to_string(), etv_same),
        (EAC_SAME.to_string(), eac_same),
        (ETV_DIFFERENT.to_string(), etv_different),
    ]
}

/// A waiter that saw the registration finish sooner than the fake does.
fn waiter_recording() -> Value {
    let t0 = 1_700_000_000.0;
    let pending = version("fargate-env", "1", "REGISTRATION_IN_PROGRESS", t0, t0);
    let mut interactions = vec![call(
        0,
        "CreateEnvironmentTemplateVersion",
        etv_input("fargate-env", "tok-9"),
        200,
        pending.clone(),
    )];
    for k in 0..5 {
        interactions.push(call(
            1_000 + 500 * k,
            "GetEnvironmentTemplateVersion",
            get_etv("fargate-env"),
            200,
            pending.clone(),
        ));
    }
    interactions.push(call(
        3_500,
        "GetEnvironmentTemplateVersion",
        get_etv("fargate-env"),
        200,
        version("fargate-env", "1", "DRAFT", t0, t0 + 3.4),
    ));
    documented(WAITER, interactions)
}

/// Cassettes as they would be loaded from `cassettes/test/`, so reports
/// name stable paths.
fn loaded(recordings: &[(String, Value)]) -> Vec<LoadedCassette> {
    recordings
        .iter()
        .map(|(name, value)| {
            let path = PathBuf::from(format!("cassettes/test/{name}.json"));
            let cassette = cassette::parse(&path, value.to_string().as_bytes()).unwrap();
            LoadedCassette { path, cassette }
        })
        .collect()
}

const DEVIATIONS: &str = r#"{"format": "proton-vcr.deviations/2", "deviations": [
  {"cassette": "client-token-create/CreateEnvironmentTemplateVersion--different-parameters", "steps": [2],
   "kind": "value", "paths": ["$.message"], "reason": "no public text for this ValidationException; the mock's wording is kept", "date": "2026-11-24"},
  {"cassette": "client-token-create/CreateEnvironmentTemplateVersion--different-parameters", "steps": "all",
   "every_step": "every answer of the fake", "kind": "value", "paths": ["content-type"], "reason": "once thought to differ", "date": "2026-11-20"},
  {"cassette": "client-token-create/CreateService--resource-modified", "steps": [3],
   "kind": "value", "paths": ["$.message"], "reason": "not part of the tests' run", "date": "2026-11-24"}
]}"#;

fn deviations() -> Deviations {
    Deviations::parse(
        Path::new("conformance/deviations.json"),
        DEVIATIONS.as_bytes(),
    )
    .unwrap()
}

fn options() -> ConformOptions {
    ConformOptions {
        rules: NormalizeRules::proton(),
        today: "2026-11-24".to_string(),
        ..ConformOptions::default()
    }
}

async fn run_in_process(
    flaw: Flaw,
    recordings: &[(String, Value)],
    options: &ConformOptions,
) -> Report {
    let target = in_process(flaw);
    let mut deviations = deviations();
    conform(
        &loaded(recordings),
        &target,
        &mut deviations,
        options,
        &mut Silent,
    )
    .await
    .unwrap()
}

fn step<'r>(
    report: &'r Report,
    cassette: &str,
    first: usize,
) -> &'r proton_vcr::conformance::StepReport {
    report
        .cassettes
        .iter()
        .find(|c| c.name == cassette)
        .and_then(|c| c.steps.iter().find(|s| s.first == first))
        .unwrap_or_else(|| panic!("no step {first} in {cassette}"))
}

// ------------------------------------------------------------ the tests

#[tokio::test]
async fn a_faithful_target_conforms_with_accepted_and_stale_deviations() {
    let report = run_in_process(Flaw::None, &recordings(), &options()).await;
    assert!(
        report.conforms(),
        "{}",
        report::text(&report, &TextOptions::default())
    );
    // The waiter loop of steps 2-4 saw the same two states, in fewer polls.
    let waiter = step(&report, ETV_SAME, 2);
    assert_eq!((waiter.last, waiter.outcome), (4, Outcome::Conforms));
    // The retry's message differs and is accepted.
    let accepted = step(&report, ETV_DIFFERENT, 2);
    assert_eq!(accepted.outcome, Outcome::Accepted);
    assert_eq!(accepted.differences[0].path, "$.message");
    // Listed but not seen: stale; listed for a cassette not run: unchecked.
    assert_eq!(report.stale.len(), 1);
    assert_eq!(report.stale[0].paths, ["content-type"]);
    assert_eq!(report.unchecked_deviations, 1);
    insta::assert_snapshot!(
        "conform_faithful_text",
        report::text(&report, &TextOptions::default())
    );
}

#[tokio::test]
async fn a_target_that_creates_again_on_retry_differs_at_the_step_and_path() {
    let suggest = ConformOptions {
        suggest_deviations: true,
        ..options()
    };
    let report = run_in_process(Flaw::CreatesAgainOnRetry, &recordings(), &suggest).await;
    assert!(!report.conforms());
    let retry = step(&report, EAC_SAME, 2);
    assert_eq!(retry.outcome, Outcome::Differs);
    let paths: Vec<&str> = retry.differences.iter().map(|d| d.path.as_str()).collect();
    assert!(
        paths.contains(&"$.environmentAccountConnection.id"),
        "{paths:?}"
    );
    let id = retry
        .differences
        .iter()
        .find(|d| d.path == "$.environmentAccountConnection.id")
        .unwrap();
    assert_eq!(
        (id.recorded.clone(), id.target.clone(), id.kind),
        (
            Some(json!("<id:1>")),
            Some(json!("<id:target-1>")),
            proton_vcr::conformance::DiffKind::Identity
        )
    );
    assert!(id.breaks_rule, "the id decides the rule");
    let rules = report.rules();
    let broken: Vec<(&str, &str)> = rules
        .iter()
        .filter(|r| r.verdict == proton_vcr::conformance::Verdict::Broken)
        .map(|r| (r.id.as_str(), r.operation.as_str()))
        .collect();
    assert_eq!(
        broken,
        [
            (
                "client-token-create/same-parameters",
                "CreateEnvironmentTemplateVersion"
            ),
            (
                "client-token-create/same-parameters",
                "CreateEnvironmentAccountConnection"
            )
        ]
    );
    // The Get after it names the recorded id; the fake's first id is sent in
    // its place, so the first connection is found and that step conforms.
    assert_eq!(step(&report, EAC_SAME, 3).outcome, Outcome::Conforms);
    let text = report::text(&report, &TextOptions::default());
    assert!(
        text.contains(&format!(
            "{EAC_SAME} step 2: $.environmentAccountConnection.id (identity across steps)"
        )),
        "{text}"
    );
    assert!(text.contains(r#"{"cassette": "client-token-create/CreateEnvironmentAccountConnection--same-parameters", "steps": [2], "kind": "value", "paths": ["#), "{text}");
    insta::assert_snapshot!("conform_creates_again_text", text);
    insta::assert_snapshot!("conform_creates_again_json", report::json(&report));
    insta::assert_snapshot!("conform_creates_again_junit", report::junit(&report));
    insta::assert_snapshot!("conform_creates_again_html", report::html(&report));
}

#[tokio::test]
async fn waiter_loops_compare_distinct_states_not_poll_counts() {
    let recordings = vec![(WAITER.to_string(), waiter_recording())];
    let report = run_in_process(Flaw::None, &recordings, &options()).await;
    let waiter = step(&report, WAITER, 2);
    assert_eq!(waiter.outcome, Outcome::Conforms, "{}", waiter.diff);
    let polls = waiter.waiter.as_ref().unwrap();
    assert_eq!(waiter.last, 7);
    // The fake registers at 4 s, the recording saw DRAFT at 3.5 s: one more poll.
    assert_eq!((polls.polls_recorded, polls.polls_sent), (6, 7));
    assert_eq!(
        polls.target_states,
        ["200 REGISTRATION_IN_PROGRESS", "200 DRAFT"]
    );

    let slow = ConformOptions {
        max_extra_polls: 5,
        ..options()
    };
    let report = run_in_process(Flaw::SlowRegistration, &recordings, &slow).await;
    let waiter = step(&report, WAITER, 2);
    assert_eq!(waiter.outcome, Outcome::Differs);
    assert_eq!(waiter.differences[0].path, "states");
    let polls = waiter.waiter.as_ref().unwrap();
    assert_eq!(polls.polls_sent, 11);
    assert_eq!(polls.target_states, ["200 REGISTRATION_IN_PROGRESS"]);
}

#[tokio::test]
async fn junit_parses_as_xml_and_html_is_one_self_contained_page() {
    let report = run_in_process(Flaw::CreatesAgainOnRetry, &recordings(), &options()).await;
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("conform.xml");
    std::fs::write(&junit, report::junit(&report)).unwrap();
    let parsed = std::process::Command::new("python3")
        .arg("-c")
        .arg("import sys, xml.etree.ElementTree as E; r = E.parse(sys.argv[1]).getroot(); print(r.get('failures'), len(r.findall('.//testcase')), len(r.findall('.//failure')))")
        .arg(&junit)
        .output()
        .expect("python3 runs");
    assert!(
        parsed.status.success(),
        "{}",
        String::from_utf8_lossy(&parsed.stderr)
    );
    let counts = report.counts();
    let rules = report.rules();
    let broken = rules
        .iter()
        .filter(|r| r.verdict == proton_vcr::conformance::Verdict::Broken)
        .count();
    assert_eq!(
        String::from_utf8_lossy(&parsed.stdout).trim(),
        format!(
            "{} {} {}",
            counts.differs + broken,
            counts.total() + rules.len(),
            counts.differs + broken
        )
    );

    let html = report::html(&report);
    assert!(html.starts_with("<!DOCTYPE html>"));
    for external in ["src=\"http", "<link", "<script", "url(", "@import"] {
        assert!(
            !html.contains(external),
            "the page loads something from outside: {external}"
        );
    }
    assert!(html.contains("<table class=\"matrix\">"));
    assert!(
        html.contains("<details id=\"c2-s2\" open>"),
        "the failing step is expandable and open"
    );
    assert!(html.contains("$.environmentAccountConnection.id"));
}

#[tokio::test]
async fn two_hundred_cassettes_of_retries_and_reads_all_conform_in_process() {
    // 200 cassettes of 30 steps: a create, then retries and reads. How fast
    // this runs is measured by the benchmark (`bench/run`, BENCHMARKS.md).
    let t0 = 1_700_000_000.0;
    let pending = version("fargate-env", "1", "REGISTRATION_IN_PROGRESS", t0, t0);
    let recordings: Vec<(String, Value)> = (0..200)
        .map(|n| {
            let mut interactions = Vec::new();
            for k in 0..15 {
                interactions.push(call(
                    k * 10,
                    "CreateEnvironmentTemplateVersion",
                    etv_input("fargate-env", "tok"),
                    200,
                    pending.clone(),
                ));
                interactions.push(call(
                    k * 10 + 5,
                    "GetEnvironmentAccountConnection",
                    json!({"id": format!("missing-{k}")}),
                    400,
                    json!({
                        "__type": format!("{NS}ResourceNotFoundException"),
                        "message": "The requested environment account connection does not exist",
                    }),
                ));
            }
            let name = format!("load/cassette-{n:03}");
            (name.clone(), documented(&name, interactions))
        })
        .collect();
    let cassettes = loaded(&recordings);
    let target = in_process(Flaw::None);
    let report = conform(
        &cassettes,
        &target,
        &mut Deviations::default(),
        &options(),
        &mut Silent,
    )
    .await
    .unwrap();
    assert!(
        report.conforms(),
        "{}",
        report::text(&report, &TextOptions::default())
    );
    assert_eq!(report.cassettes.len(), 200);
    for cassette in &report.cassettes {
        assert_eq!(cassette.interactions, 30, "{}", cassette.name);
        let compared: usize = cassette.steps.iter().map(|s| s.last - s.first + 1).sum();
        assert_eq!(
            compared, 30,
            "every interaction is compared: {}",
            cassette.name
        );
    }
}

// ------------------------------------------------- the binary, over HTTP

struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    fn new() -> Self {
        let scratch = Self {
            dir: tempfile::tempdir().unwrap(),
        };
        for (name, value) in recordings() {
            let path = scratch.path(&format!("cassettes/{name}.json"));
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, serde_json::to_vec_pretty(&value).unwrap()).unwrap();
        }
        std::fs::write(scratch.path("deviations.json"), DEVIATIONS).unwrap();
        scratch
    }

    fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }
}

async fn serve(flaw: Flaw) -> Server {
    Server::bind(
        "127.0.0.1:0".parse().unwrap(),
        Arc::new(FakeProton::new(flaw)),
        Limits::default(),
    )
    .await
    .unwrap()
}

async fn proton_vcr(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(binary())
            .args(&args)
            .env("RUST_LOG", "warn")
            .env("SOURCE_DATE_EPOCH", "1795478400")
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

fn conform_args(scratch: &Scratch, url: &str, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = vec![
        "conform".into(),
        scratch.path("cassettes").display().to_string(),
        "--target".into(),
        url.into(),
        "--target-admin".into(),
        "mock".into(),
        "--deviations".into(),
        scratch.path("deviations.json").display().to_string(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

#[tokio::test(flavor = "multi_thread")]
async fn the_binary_exits_0_on_a_faithful_url_target_and_writes_every_report() {
    let scratch = Scratch::new();
    let server = serve(Flaw::None).await;
    let reports = |f: &str| {
        scratch
            .path(&format!("out/conform.{f}"))
            .display()
            .to_string()
    };
    let output = proton_vcr(conform_args(
        &scratch,
        &server.url(),
        &[
            "--report",
            &format!("json={}", reports("json")),
            "--report",
            &format!("junit={}", reports("xml")),
            "--report",
            &format!("html={}", reports("html")),
        ],
    ))
    .await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("CONFORMS: 0 of 3 tested rules broken"),
        "{stdout}"
    );
    assert!(stdout.contains("Stale deviations"), "{stdout}");
    let json: Value = serde_json::from_slice(&std::fs::read(reports("json")).unwrap()).unwrap();
    assert_eq!(json["conforms"], json!(true));
    assert_eq!(json["summary"]["accepted"], json!(1));
    assert!(
        std::fs::read_to_string(reports("xml"))
            .unwrap()
            .contains("<testsuites")
    );
    assert!(
        std::fs::read_to_string(reports("html"))
            .unwrap()
            .contains("<table class=\"matrix\">")
    );

    // The stale deviation only fails the run when asked to.
    let output = proton_vcr(conform_args(&scratch, &server.url(), &["--fail-on-stale"])).await;
    assert_eq!(output.status.code(), Some(3));
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_binary_exits_1_naming_cassette_step_and_path_when_a_rule_is_broken() {
    let scratch = Scratch::new();
    let server = serve(Flaw::CreatesAgainOnRetry).await;
    let output = proton_vcr(conform_args(
        &scratch,
        &server.url(),
        &["--report", "json=-", "--suggest-deviations"],
    ))
    .await;
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let json: Value = serde_json::from_slice(&output.stdout).unwrap();
    let new = &json["new_deviations"];
    let entry = new
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["cassette"] == json!(EAC_SAME))
        .unwrap_or_else(|| panic!("{new}"));
    assert_eq!(entry["steps"], json!([2]));
    assert_eq!(json["verdict"], json!("rule-broken"));
    let rule = json["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| {
            r["operation"] == json!("CreateEnvironmentAccountConnection")
                && r["rule"] == json!("client-token-create/same-parameters")
        })
        .unwrap();
    assert_eq!(rule["verdict"], json!("broken"));
    assert!(
        rule["breaks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|b| b["path"] == json!("$.environmentAccountConnection.id")
                && b["kind"] == json!("identity"))
    );
    assert_eq!(
        entry["date"],
        json!("2026-11-24"),
        "the date of SOURCE_DATE_EPOCH"
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_exits_2_and_names_the_file() {
    let scratch = Scratch::new();
    let broken = scratch.path("cassettes/broken.json");
    std::fs::write(
        &broken,
        "{\"format\": \"proton-vcr.cassette/1\", \"name\": ",
    )
    .unwrap();
    let output = proton_vcr(conform_args(&scratch, "http://127.0.0.1:9", &[])).await;
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("broken.json:1:"), "{stderr}");

    std::fs::remove_file(&broken).unwrap();
    let output = proton_vcr(conform_args(
        &scratch,
        "http://127.0.0.1:9",
        &["--report", "pdf=out.pdf"],
    ))
    .await;
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("unknown report format `pdf`"));

    let output = proton_vcr(conform_args(&scratch, "ftp://example.com", &[])).await;
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("not an http:// or https:// URL"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_url_target_is_reset_and_clocked_through_its_admin_urls() {
    let server = serve(Flaw::None).await;
    let target = UrlTarget::new(&server.url(), AdminUrls::builtin_mock(&server.url())).unwrap();
    let mut deviations = deviations();
    let report = conform(
        &loaded(&recordings()),
        &target,
        &mut deviations,
        &options(),
        &mut Silent,
    )
    .await
    .unwrap();
    assert!(
        report.conforms(),
        "{}",
        report::text(&report, &TextOptions::default())
    );
    assert!(report.notes.is_empty(), "{:?}", report.notes);

    // Without a reset, the second run of a cassette meets the first run's
    // resources and the report says the state carried over.
    let bare = UrlTarget::new(&server.url(), AdminUrls::default()).unwrap();
    let options = ConformOptions {
        timeline: proton_vcr::conformance::Timeline::Compressed,
        ..options()
    };
    let report = conform(
        &loaded(&recordings()),
        &bare,
        &mut Deviations::default(),
        &options,
        &mut Silent,
    )
    .await
    .unwrap();
    assert!(!report.conforms());
    assert!(
        report.notes.iter().any(|n| n.contains("no reset")),
        "{:?}",
        report.notes
    );
    server.shutdown().await;
}

// -------------------------------------------------------------- scenarios

fn scenario_file(dir: &Path, name: &str, steps: Value) -> PathBuf {
    let path = dir.join(format!("{name}.json"));
    let scenario = json!({
        "format": "proton-vcr.scenario/1", "name": name, "group": "client-token-create",
        "operation": "CreateEnvironmentTemplateVersion", "rule": name.rsplit("--").next().unwrap(),
        "summary": "test", "sources": [], "steps": steps,
    });
    std::fs::write(&path, serde_json::to_vec_pretty(&scenario).unwrap()).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread")]
async fn scenario_run_sends_calls_polls_and_waits_and_checks_expected_errors() {
    let dir = tempfile::tempdir().unwrap();
    let good = scenario_file(
        dir.path(),
        "CreateEnvironmentTemplateVersion--different-parameters",
        json!([
            {"call": "CreateEnvironmentTemplateVersion", "input": etv_input("fargate-env", "tok-1")},
            {"call": "GetEnvironmentTemplateVersion", "input": get_etv("fargate-env"),
             "until": {"path": "environmentTemplateVersion.status", "in": ["DRAFT", "PUBLISHED"]}, "poll_ms": 1000, "timeout_ms": 60000},
            {"wait_ms": 28_860_000, "note": "eight hours and a minute: free with a clock"},
            {"call": "CreateEnvironmentTemplateVersion", "input": etv_input("other-env", "tok-1"), "expect_error": "ValidationException"},
        ]),
    );
    let bad = scenario_file(
        dir.path(),
        "CreateEnvironmentTemplateVersion--same-parameters",
        json!([
            {"call": "CreateEnvironmentTemplateVersion", "input": etv_input("fargate-env", "tok-1")},
            {"call": "CreateEnvironmentTemplateVersion", "input": etv_input("fargate-env", "tok-1"), "expect_error": "ConflictException"},
        ]),
    );
    let server = serve(Flaw::None).await;
    let run = |path: &Path| {
        vec![
            "scenario".to_string(),
            "run".into(),
            "--endpoint".into(),
            server.url(),
            "--target-admin".into(),
            "mock".into(),
            path.display().to_string(),
        ]
    };
    let started = std::time::Instant::now();
    let output = proton_vcr(run(&good)).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains(
            "ok    CreateEnvironmentTemplateVersion--different-parameters (4 steps, 7 calls)"
        ),
        "{stdout}"
    );
    assert!(
        started.elapsed().as_secs() < 30,
        "waits must move the clock, not take real time"
    );

    let output = proton_vcr(run(&bad)).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("!! step 2: CreateEnvironmentTemplateVersion: expected ConflictException, got 200 (success)"), "{stdout}");

    let output = proton_vcr(vec![
        "scenario".into(),
        "list".into(),
        dir.path().display().to_string(),
    ])
    .await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0));
    assert!(stdout.starts_with("GROUP "), "{stdout}");
    assert!(
        stdout.contains(
            "client-token-create  CreateEnvironmentTemplateVersion  different-parameters      4"
        ),
        "{stdout}"
    );
    assert!(stdout.contains("2 scenarios"), "{stdout}");
    server.shutdown().await;
}

#[test]
fn shipped_deviations_parse_and_name_shipped_cassette_steps() {
    let path = repo_root().join("conformance/deviations.json");
    let deviations = Deviations::load(&path).unwrap_or_else(|e| panic!("{e}"));
    assert!(!deviations.entries.is_empty());
    let cassettes = repo_root().join("cassettes");
    if cassettes.is_dir() {
        let cassettes = cassette::load(&cassettes).unwrap_or_else(|e| panic!("{e}"));
        for deviation in &deviations.entries {
            let cassette = cassettes
                .iter()
                .find(|c| c.cassette.name == deviation.cassette)
                .unwrap_or_else(|| {
                    panic!("{}: no shipped cassette is named so", deviation.cassette)
                });
            match &deviation.steps {
                proton_vcr::conformance::StepRef::Steps(list) => {
                    for n in list {
                        assert!(
                            *n <= cassette.cassette.interactions.len(),
                            "{}: no step {n}",
                            deviation.cassette
                        );
                    }
                }
                proton_vcr::conformance::StepRef::All => assert!(
                    deviation.every_step.is_some(),
                    "{}: \"all\" without a reason for every step",
                    deviation.cassette
                ),
            }
        }
    }
    let scenarios = repo_root().join("conformance/scenarios");
    if scenarios.is_dir() {
        proton_vcr::conformance::scenario::load(&scenarios).unwrap_or_else(|e| panic!("{e}"));
    }
}

#[tokio::test]
async fn names_longer_than_any_column_are_reported_in_full() {
    // A cassette name and a rule name come from files: longer than a
    // format width may be, they run past their columns.
    let long_name = "n".repeat(70_000);
    let long_rule = format!("client-token-create/{}", "r".repeat(70_000));
    let mut cassette = documented(
        &long_name,
        vec![call(
            0,
            "GetEnvironmentTemplateVersion",
            get_etv("fargate-env"),
            200,
            version("fargate-env", "1", "REGISTERED", 1.0, 1.0),
        )],
    );
    mark_rule(
        &mut cassette,
        0,
        &long_rule,
        "GetEnvironmentTemplateVersion",
        &["$.environmentTemplateVersion.status"],
    );
    let report = run_in_process(
        Flaw::None,
        &[(format!("{long_name}.json"), cassette)],
        &options(),
    )
    .await;
    let text = report::text(&report, &TextOptions::default());
    assert!(text.contains(&long_name), "the cassette's name is shown");
    assert!(
        text.contains(&"r".repeat(70_000)),
        "the rule's name is shown"
    );
}
