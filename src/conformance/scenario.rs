//! Scenario definitions (`conformance/scenarios/<group>/<operation-kebab>--<rule>.json`)
//! and a runner that drives them against a target, so that a recording
//! proxy in front of an endpoint can turn each into a cassette.
//!
//! A scenario is a list of steps:
//! - a call: `{"call": "CreateEnvironmentTemplate", "input": {...}}`, sent as
//!   awsJson 1.0 (`x-amz-target: AwsProton20200720.<call>`); it must succeed
//!   unless it says `"expect_error": "ValidationException"`;
//! - a poll: a call with `"until": {"path": "environmentTemplateVersion.status", "in": ["DRAFT"]}`,
//!   repeated every `poll_ms` until the value at `path` is one of `in`, or
//!   `timeout_ms` has passed;
//! - a wait: `{"wait_ms": 28860000}`.
//!
//! A call may capture what the target generated: `"captures": [{"path":
//! "environmentAccountConnection.id", "written": "5b1e..."}]` takes the
//! target's value at `path` (dotted) and puts it in place of `written` in the
//! inputs of later steps (whole values, and inside strings of 16 characters
//! or more), so a delete names the resource the target created. A call that
//! is the scenario's rule under test (or a check of it) says so with
//! `"rule": "under-test"` (or `"check"`).
//!
//! Time is the target's when it has a clock (a wait moves the clock and
//! costs nothing), real time otherwise, shown on the progress display.

use super::progress::{Progress, human_duration, wait_with_progress};
use super::target::{Target, TargetError};
use crate::http::{Request, Response};
use http::{HeaderValue, Method};
use serde::Deserialize;
use serde_json::Value;
use std::fmt;
use std::path::{Path, PathBuf};

pub const SCENARIO_FORMAT_V1: &str = "proton-vcr.scenario/1";

/// Poll every 2 s when a step does not say (the Proton waiters' delay).
const DEFAULT_POLL_MS: u64 = 2_000;
/// Give up polling after 10 min when a step does not say.
const DEFAULT_TIMEOUT_MS: u64 = 600_000;

/// One scenario: an idempotency rule of one operation, as a list of steps.
#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    pub path: PathBuf,
    pub name: String,
    pub group: String,
    pub operation: String,
    pub rule: String,
    pub summary: String,
    pub sources: Vec<String>,
    pub steps: Vec<ScenarioStep>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ScenarioStep {
    Call(Call),
    Wait { ms: u64, note: Option<String> },
}

#[derive(Clone, Debug, PartialEq)]
pub struct Call {
    pub operation: String,
    pub input: Value,
    pub note: Option<String>,
    pub until: Option<Until>,
    pub poll_ms: u64,
    pub timeout_ms: u64,
    /// The short error code the call must fail with.
    pub expect_error: Option<String>,
    /// Generated values to follow in later inputs.
    pub captures: Vec<Capture>,
    /// `under-test` or `check` when the call decides the scenario's rule.
    pub rule: Option<String>,
}

/// A value the target generates, written as `written` in later inputs.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Capture {
    pub path: String,
    pub written: String,
}

/// Poll until the member at `path` (dotted, from the output root) holds one of `one_of`.
#[derive(Clone, Debug, PartialEq)]
pub struct Until {
    pub path: String,
    pub one_of: Vec<Value>,
}

/// A scenario file that cannot be used.
#[derive(Debug)]
pub struct ScenarioError {
    pub path: PathBuf,
    pub message: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.message)
    }
}

impl std::error::Error for ScenarioError {}

#[derive(Deserialize)]
struct ScenarioV1 {
    format: String,
    name: String,
    #[serde(default)]
    group: String,
    #[serde(default)]
    operation: String,
    #[serde(default)]
    rule: String,
    #[serde(default)]
    summary: String,
    #[serde(default)]
    sources: Vec<String>,
    steps: Vec<StepV1>,
}

#[derive(Deserialize)]
struct StepV1 {
    call: Option<String>,
    input: Option<Value>,
    note: Option<String>,
    until: Option<UntilV1>,
    poll_ms: Option<u64>,
    timeout_ms: Option<u64>,
    expect_error: Option<String>,
    wait_ms: Option<u64>,
    #[serde(default)]
    captures: Vec<Capture>,
    rule: Option<String>,
}

#[derive(Deserialize)]
struct UntilV1 {
    path: String,
    #[serde(rename = "in")]
    one_of: Vec<Value>,
}

/// Parses one scenario file's bytes; `path` names it in errors.
pub fn parse(path: &Path, bytes: &[u8]) -> Result<Scenario, ScenarioError> {
    let error = |message: String| ScenarioError {
        path: path.to_path_buf(),
        message,
    };
    let file: ScenarioV1 = serde_json::from_slice(bytes).map_err(|e| {
        error(format!(
            "not a scenario: {e} (see docs/conformance.md for the format)"
        ))
    })?;
    if file.format != SCENARIO_FORMAT_V1 {
        return Err(error(format!(
            "unknown scenario format {:?}; this proton-vcr reads {SCENARIO_FORMAT_V1:?}",
            file.format
        )));
    }
    let mut steps = Vec::with_capacity(file.steps.len());
    for (i, step) in file.steps.into_iter().enumerate() {
        let at = |message: &str| error(format!("steps[{i}]: {message}"));
        let step = match (step.call, step.wait_ms) {
            (Some(operation), None) => {
                if operation.is_empty() || !operation.chars().all(|c| c.is_ascii_alphanumeric()) {
                    return Err(at(&format!("{operation:?} is not an operation name")));
                }
                let input = step
                    .input
                    .unwrap_or_else(|| Value::Object(Default::default()));
                if !input.is_object() {
                    return Err(at("\"input\" must be a JSON object"));
                }
                if step.until.as_ref().is_some_and(|u| u.one_of.is_empty()) {
                    return Err(at(
                        "\"until\".\"in\" is empty: list the values that end the poll",
                    ));
                }
                ScenarioStep::Call(Call {
                    operation,
                    input,
                    note: step.note,
                    until: step.until.map(|u| Until {
                        path: u.path,
                        one_of: u.one_of,
                    }),
                    poll_ms: step.poll_ms.unwrap_or(DEFAULT_POLL_MS).max(1),
                    timeout_ms: step.timeout_ms.unwrap_or(DEFAULT_TIMEOUT_MS),
                    expect_error: step.expect_error,
                    captures: step.captures,
                    rule: step.rule,
                })
            }
            (None, Some(ms)) => ScenarioStep::Wait {
                ms,
                note: step.note,
            },
            _ => return Err(at("a step has either \"call\" or \"wait_ms\"")),
        };
        steps.push(step);
    }
    Ok(Scenario {
        path: path.to_path_buf(),
        name: file.name,
        group: file.group,
        operation: file.operation,
        rule: file.rule,
        summary: file.summary,
        sources: file.sources,
        steps,
    })
}

/// Loads a scenario file, or every `*.json` below a folder, sorted by path.
pub fn load(path: &Path) -> Result<Vec<Scenario>, ScenarioError> {
    let error = |path: &Path, message: String| ScenarioError {
        path: path.to_path_buf(),
        message,
    };
    let files =
        crate::files::json_files(path, "scenario").map_err(|e| error(&e.path, e.message))?;
    if files.is_empty() {
        return Err(error(path, "the folder holds no *.json scenario".into()));
    }
    files
        .iter()
        .map(|file| {
            let bytes =
                std::fs::read(file).map_err(|e| error(file, format!("cannot read: {e}")))?;
            parse(file, &bytes)
        })
        .collect()
}

/// What happened at one step of a scenario run.
#[derive(Clone, Debug, PartialEq)]
pub struct StepRun {
    /// From 1.
    pub step: usize,
    /// `CreateEnvironmentTemplate` or `wait 8h 1m`.
    pub label: String,
    /// Requests sent (more than one for a poll).
    pub calls: usize,
    /// `200`, `400 ValidationException`, or what went wrong.
    pub result: String,
    pub ok: bool,
}

/// A scenario's run: its steps up to the first that went wrong.
#[derive(Clone, Debug, PartialEq)]
pub struct ScenarioRun {
    pub steps: Vec<StepRun>,
}

impl ScenarioRun {
    pub fn passed(&self) -> bool {
        self.steps.iter().all(|s| s.ok)
    }
}

/// Runs `scenario` against `target`: a fresh state if the target can reset,
/// each step in order, stopping at the first that does not go as written.
/// Only a failing reset or clock is an error; a target that does not answer
/// is a failed step.
pub async fn run_scenario(
    scenario: &Scenario,
    target: &dyn Target,
    progress: &mut dyn Progress,
) -> Result<ScenarioRun, TargetError> {
    if target.can_reset() {
        target.reset().await?;
    }
    let mut clock = Clock {
        target,
        elapsed_ms: 0,
    };
    if target.has_clock() {
        target.set_clock_ms(0).await?;
    }
    let mut steps = Vec::with_capacity(scenario.steps.len());
    let mut ids = Captured::default();
    for (i, step) in scenario.steps.iter().enumerate() {
        let run = match step {
            ScenarioStep::Wait { ms, .. } => {
                let label = format!("wait {}", human_duration(*ms));
                clock.advance(*ms, &scenario.name, progress).await?;
                StepRun {
                    step: i + 1,
                    label,
                    calls: 0,
                    result: "waited".into(),
                    ok: true,
                }
            }
            ScenarioStep::Call(call) => {
                let (run, output) = run_call(i + 1, call, &ids, &mut clock, progress).await?;
                if run.ok {
                    ids.learn(&call.captures, &output);
                }
                run
            }
        };
        progress.step(&format!("{}: {}", scenario.name, run.label));
        let ok = run.ok;
        steps.push(run);
        if !ok {
            break;
        }
    }
    Ok(ScenarioRun { steps })
}

struct Clock<'a> {
    target: &'a dyn Target,
    elapsed_ms: u64,
}

impl Clock<'_> {
    async fn advance(
        &mut self,
        ms: u64,
        label: &str,
        progress: &mut dyn Progress,
    ) -> Result<(), TargetError> {
        self.elapsed_ms = self.elapsed_ms.saturating_add(ms);
        if self.target.has_clock() {
            self.target.set_clock_ms(self.elapsed_ms).await
        } else {
            wait_with_progress(ms, label, progress).await;
            Ok(())
        }
    }
}

/// Values the target generated, by how the scenario writes them.
#[derive(Debug, Default)]
struct Captured {
    pairs: Vec<(String, String)>,
}

/// Shorter values are only replaced whole, never inside a string.
const MIN_EMBEDDED: usize = 16;

impl Captured {
    fn learn(&mut self, captures: &[Capture], output: &Value) {
        for capture in captures {
            if let Some(Value::String(value)) = lookup(output, &capture.path) {
                if *value != capture.written {
                    self.pairs.retain(|(w, _)| *w != capture.written);
                    self.pairs.push((capture.written.clone(), value.clone()));
                }
            }
        }
    }

    fn apply(&self, value: &Value) -> Value {
        match value {
            Value::String(text) => Value::String(self.replace(text)),
            Value::Array(items) => Value::Array(items.iter().map(|v| self.apply(v)).collect()),
            Value::Object(members) => Value::Object(
                members
                    .iter()
                    .map(|(k, v)| (k.clone(), self.apply(v)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    fn replace(&self, text: &str) -> String {
        if let Some((_, actual)) = self.pairs.iter().find(|(w, _)| w == text) {
            return actual.clone();
        }
        let mut out = text.to_string();
        for (written, actual) in &self.pairs {
            if written.len() >= MIN_EMBEDDED {
                out = out.replace(written.as_str(), actual);
            }
        }
        out
    }
}

async fn run_call(
    step: usize,
    call: &Call,
    ids: &Captured,
    clock: &mut Clock<'_>,
    progress: &mut dyn Progress,
) -> Result<(StepRun, Value), TargetError> {
    let mut run = StepRun {
        step,
        label: call.operation.clone(),
        calls: 0,
        result: String::new(),
        ok: false,
    };
    let request = aws_json_request(&call.operation, &ids.apply(&call.input))?;
    let mut waited = 0;
    loop {
        run.calls += 1;
        let response = match clock.target.send(request.clone()).await {
            Ok(response) => response,
            Err(error) => {
                run.result = format!("no answer: {}", error.message);
                return Ok((run, Value::Null));
            }
        };
        let error = error_code(&response);
        run.result = match &error {
            Some(code) => format!("{} {code}", response.status.as_u16()),
            None => response.status.as_u16().to_string(),
        };
        match (&call.expect_error, &error) {
            (Some(expected), Some(code)) if expected == code => {
                run.ok = true;
                return Ok((run, Value::Null));
            }
            (Some(expected), _) => {
                run.result = format!(
                    "expected {expected}, got {}",
                    describe(&response, error.as_deref())
                );
                return Ok((run, Value::Null));
            }
            (None, Some(_)) => {
                run.result = format!("failed: {}", describe(&response, error.as_deref()));
                return Ok((run, Value::Null));
            }
            (None, None) => {}
        }
        let output = response.json_body().unwrap_or(Value::Null);
        let Some(until) = &call.until else {
            run.ok = true;
            return Ok((run, output));
        };
        let found = lookup(&output, &until.path);
        if found.is_some_and(|v| until.one_of.contains(v)) {
            run.ok = true;
            run.result = format!("{} after {} poll(s)", run.result, run.calls);
            return Ok((run, output));
        }
        if waited >= call.timeout_ms {
            run.result = format!(
                "{} is {} after {}; expected one of {}",
                until.path,
                found.map_or("absent".to_string(), Value::to_string),
                human_duration(waited),
                Value::Array(until.one_of.clone())
            );
            return Ok((run, Value::Null));
        }
        waited = waited.saturating_add(call.poll_ms);
        clock
            .advance(call.poll_ms, &call.operation, progress)
            .await?;
    }
}

/// The awsJson 1.0 request for a call.
fn aws_json_request(operation: &str, input: &Value) -> Result<Request, TargetError> {
    let fail = |message: String| TargetError {
        action: "send",
        message,
    };
    let mut request = Request::new(Method::POST, "/").map_err(|e| fail(e.to_string()))?;
    let prefix = crate::model::Model::proton().target_prefix();
    let target = HeaderValue::from_str(&format!("{prefix}.{operation}"))
        .map_err(|e| fail(format!("bad operation name {operation:?}: {e}")))?;
    request.headers.insert(
        "content-type",
        HeaderValue::from_static(crate::http::exchange::AWS_JSON_1_0),
    );
    request.headers.insert("x-amz-target", target);
    request.body = input.to_string().into();
    Ok(request)
}

fn error_code(response: &Response) -> Option<String> {
    if response.status.is_success() {
        return None;
    }
    let from_body = response
        .json_body()
        .and_then(|b| b.get("__type").and_then(Value::as_str).map(str::to_string));
    let code = from_body
        .or_else(|| response.header("x-amzn-errortype").map(str::to_string))
        .unwrap_or_else(|| format!("HTTP {}", response.status.as_u16()));
    // botocore's reading: the text after the last `#`, before any `:`.
    let short = code.rsplit('#').next().unwrap_or(&code);
    Some(short.split(':').next().unwrap_or(short).to_string())
}

fn describe(response: &Response, error: Option<&str>) -> String {
    let status = response.status.as_u16();
    match error {
        Some(code) => {
            let message = response
                .json_body()
                .and_then(|b| {
                    ["message", "Message"]
                        .iter()
                        .find_map(|k| b.get(*k).and_then(Value::as_str).map(str::to_string))
                })
                .unwrap_or_default();
            format!("{status} {code}: {message}")
        }
        None => format!("{status} (success)"),
    }
}

/// The value at a dotted path (`a.b`, `$.a.b`, `items.0.status`).
fn lookup<'v>(value: &'v Value, path: &str) -> Option<&'v Value> {
    let path = path.strip_prefix("$.").unwrap_or(path);
    path.split('.')
        .try_fold(value, |current, key| match current {
            Value::Object(members) => members.get(key),
            Value::Array(items) => key.parse::<usize>().ok().and_then(|i| items.get(i)),
            _ => None,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_calls_polls_waits_and_expected_errors() {
        let text = json!({
            "format": "proton-vcr.scenario/1", "name": "g/Op--rule", "group": "g", "operation": "Op",
            "rule": "rule", "summary": "s", "sources": ["https://example.com"],
            "steps": [
                {"call": "CreateEnvironmentTemplate", "input": {"name": "t"}},
                {"call": "GetEnvironmentTemplateVersion", "input": {}, "until": {"path": "v.status", "in": ["DRAFT"]}, "poll_ms": 5000},
                {"wait_ms": 28860000, "note": "token expires"},
                {"call": "CreateEnvironmentTemplate", "input": {"name": "t"}, "expect_error": "ValidationException"}
            ]
        });
        let scenario = parse(Path::new("s.json"), text.to_string().as_bytes()).unwrap();
        assert_eq!(scenario.steps.len(), 4);
        let ScenarioStep::Call(poll) = &scenario.steps[1] else {
            panic!("a call")
        };
        assert_eq!((poll.poll_ms, poll.timeout_ms), (5000, DEFAULT_TIMEOUT_MS));
        assert_eq!(
            scenario.steps[2],
            ScenarioStep::Wait {
                ms: 28_860_000,
                note: Some("token expires".into())
            }
        );
    }

    #[test]
    fn rejects_steps_that_are_neither_call_nor_wait() {
        let text =
            json!({"format": "proton-vcr.scenario/1", "name": "n", "steps": [{"note": "?"}]});
        let error = parse(Path::new("s.json"), text.to_string().as_bytes()).unwrap_err();
        assert!(error.to_string().contains("steps[0]"), "{error}");
        let text = json!({"format": "proton-vcr.scenario/2", "name": "n", "steps": []});
        assert!(parse(Path::new("s.json"), text.to_string().as_bytes()).is_err());
    }

    #[test]
    fn dotted_lookup() {
        let v = json!({"a": {"items": [{"s": "X"}]}});
        assert_eq!(lookup(&v, "a.items.0.s"), Some(&json!("X")));
        assert_eq!(lookup(&v, "$.a.items.0.s"), Some(&json!("X")));
        assert_eq!(lookup(&v, "a.nope"), None);
    }
}
