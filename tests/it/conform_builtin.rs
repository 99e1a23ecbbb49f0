//! The built-in mock against the shipped reference cassettes: the README's
//! main job holds every rule of the contract (and says so by its exit
//! status, collateral differences apart), and the same check fails, at the
//! exact step and path, when one idempotency rule of the mock is broken.

use crate::support::{binary, repo_root};
use proton_vcr::conformance::{
    ConformOptions, Deviations, InProcessTarget, NormalizeRules, Outcome, Silent, Verdict, conform,
};
use proton_vcr::mock::{ClockMode, Mock, MockConfig};
use proton_vcr::{Handler, Request, Response, cassette};
use std::sync::Arc;

/// Exit status 0 (conforms) or 3 (every rule holds, collateral differences
/// remain), as the JSON report's verdict says.
fn assert_rules_hold(code: Option<i32>, report: &serde_json::Value, stdout: &str) {
    let broken: Vec<String> = report["rules"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["verdict"] == serde_json::json!("broken"))
        .map(|r| format!("{} x {}: {}", r["rule"], r["operation"], r["verdict"]))
        .collect();
    assert!(broken.is_empty(), "{broken:?}\n{stdout}");
    let expected = if report["collateral"].as_array().unwrap().is_empty() {
        (Some(0), "conforms")
    } else {
        (Some(3), "collateral-only")
    };
    assert_eq!(
        (code, report["verdict"].as_str().unwrap()),
        expected,
        "{stdout}"
    );
}

#[test]
fn the_main_job_holds_every_rule_and_writes_every_report() {
    let dir = tempfile::tempdir().unwrap();
    let (junit, html, json) = (
        dir.path().join("r.xml"),
        dir.path().join("r.html"),
        dir.path().join("r.json"),
    );
    let output = std::process::Command::new(binary())
        .current_dir(repo_root())
        .arg("conform")
        .arg("--report")
        .arg(format!("junit={}", junit.display()))
        .arg("--report")
        .arg(format!("html={}", html.display()))
        .arg("--report")
        .arg(format!("json={}", json.display()))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.starts_with("proton-vcr conform:") && stdout.contains("\nRules of the contract"),
        "{stdout}"
    );
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_rules_hold(output.status.code(), &report, &stdout);
    assert_eq!(
        report["rules"].as_array().unwrap().len(),
        42 + 22,
        "every rule x operation of the contract and of the models' other tokens, \
         and each operation of the user guide's flows"
    );
    assert_eq!(
        report["cassettes"].as_array().unwrap().len(),
        49,
        "every reference cassette ran"
    );
    assert!(
        std::fs::read_to_string(&junit)
            .unwrap()
            .contains("<testsuites")
    );
    assert!(
        std::fs::read_to_string(&html)
            .unwrap()
            .starts_with("<!DOCTYPE html>")
    );
}

/// The mock with the client-token rule broken: the token is dropped before
/// the mock sees it, so every retry creates a new version.
struct ForgetsClientTokens(Mock);

impl Handler for ForgetsClientTokens {
    async fn handle(&self, mut request: Request) -> Response {
        if let Ok(mut body) = serde_json::from_slice::<serde_json::Value>(&request.body) {
            if let Some(members) = body.as_object_mut() {
                members.remove("clientToken");
            }
            request.body = body.to_string().into();
        }
        self.0.handle(request).await
    }
}

#[tokio::test]
async fn a_broken_client_token_rule_fails_at_the_retry_step_and_path() {
    let name = "client-token-create/create-environment-template-version--same-parameters";
    let path = repo_root().join(format!("cassettes/proton/{name}.json"));
    let cassettes = vec![cassette::load_file(&path).unwrap()];
    let mock = ForgetsClientTokens(Mock::new(MockConfig {
        clock: ClockMode::Manual,
        ..MockConfig::default()
    }));
    let target = InProcessTarget::with_hooks(
        "mock with the client-token rule broken",
        Arc::new(mock),
        |m: &ForgetsClientTokens| m.0.reset(),
        |m: &ForgetsClientTokens, ms| m.0.set_clock_ms(ms),
    );
    let options = ConformOptions {
        rules: NormalizeRules::proton(),
        ..ConformOptions::default()
    };
    let mut deviations =
        Deviations::load(&repo_root().join("conformance/deviations.json")).unwrap();
    let report = conform(&cassettes, &target, &mut deviations, &options, &mut Silent)
        .await
        .unwrap();
    let steps = &report.cassettes[0].steps;
    let first_bad = steps
        .iter()
        .find(|s| s.outcome == Outcome::Differs && s.rule.is_some())
        .expect("the broken rule must make a rule step differ");
    let broken: Vec<(String, String)> = report
        .rules()
        .into_iter()
        .filter(|r| r.verdict == Verdict::Broken)
        .map(|r| (r.id, r.operation))
        .collect();
    assert_eq!(
        broken,
        [(
            "client-token-create/same-parameters".to_string(),
            "CreateEnvironmentTemplateVersion".to_string()
        )]
    );
    let interactions = &cassettes[0].cassette.interactions;
    assert_eq!(first_bad.operation, "CreateEnvironmentTemplateVersion");
    let first_create = interactions
        .iter()
        .position(|i| {
            i.request.headers.get("x-amz-target")
                == Some("AwsProton20200720.CreateEnvironmentTemplateVersion")
        })
        .unwrap();
    assert!(
        first_bad.first > first_create + 1,
        "the original create conforms; its retry is the first difference"
    );
    let paths: Vec<&str> = first_bad
        .differences
        .iter()
        .map(|d| d.path.as_str())
        .collect();
    assert!(
        paths.contains(&"$.environmentTemplateVersion.majorVersion"),
        "{paths:?}"
    );

    // The unbroken mock passes the same cassette.
    let mock = Mock::new(MockConfig {
        clock: ClockMode::Manual,
        ..MockConfig::default()
    });
    let target = InProcessTarget::with_hooks(
        "built-in mock",
        Arc::new(mock),
        |m: &Mock| m.reset(),
        |m: &Mock, ms| m.set_clock_ms(ms),
    );
    let mut deviations =
        Deviations::load(&repo_root().join("conformance/deviations.json")).unwrap();
    let report = conform(&cassettes, &target, &mut deviations, &options, &mut Silent)
        .await
        .unwrap();
    assert!(
        report.rules().iter().all(|r| r.verdict != Verdict::Broken),
        "the unbroken mock holds the rule"
    );
}

#[test]
fn scenario_record_writes_one_clean_cassette_per_scenario_that_then_conforms() {
    const CANARY_KEY: &str = "AKIACANARYSCENARIO01";
    const CANARY_SECRET: &str = "canary/Secret+Scenario0123456789abcdefghij";
    let (mut mock, url) = crate::support::spawn_server(&["mock", "--listen", "127.0.0.1:0"]);
    let out = tempfile::tempdir().unwrap();
    let scenario =
        "conformance/scenarios/idempotent-create/create-environment-template--same-parameters.json";
    let output = std::process::Command::new(binary())
        .current_dir(repo_root())
        .args([
            "scenario",
            "record",
            "--upstream",
            &url,
            "--region",
            "us-east-1",
            "--service",
            "proton",
            "--target-admin",
            "mock",
            "--out",
        ])
        .arg(out.path())
        .arg(scenario)
        .env("AWS_ACCESS_KEY_ID", CANARY_KEY)
        .env("AWS_SECRET_ACCESS_KEY", CANARY_SECRET)
        .env("AWS_CONFIG_FILE", out.path().join("none"))
        .env("AWS_SHARED_CREDENTIALS_FILE", out.path().join("none"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap();
    let _ = mock.kill();
    let _ = mock.wait();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    let written = out
        .path()
        .join("idempotent-create/create-environment-template--same-parameters.json");
    let bytes =
        std::fs::read(&written).unwrap_or_else(|e| panic!("{}: {e}\n{stdout}", written.display()));
    let text = String::from_utf8_lossy(&bytes);
    assert!(
        !text.contains(CANARY_KEY) && !text.contains(CANARY_SECRET),
        "a credential reached the cassette"
    );
    assert!(
        !stderr.contains(CANARY_SECRET) && !stdout.contains(CANARY_SECRET),
        "a credential reached the terminal"
    );
    let recorded = cassette::load_file(&written).unwrap();
    assert_eq!(recorded.cassette.provenance.kind, "recorded");
    let steps = proton_vcr::conformance::scenario::load(&repo_root().join(scenario)).unwrap();
    assert_eq!(
        recorded.cassette.interactions.len(),
        steps[0].steps.len(),
        "one exchange per call"
    );

    // The fresh recording checks out against the mock it came from.
    let check = std::process::Command::new(binary())
        .current_dir(repo_root())
        .arg("conform")
        .arg(&written)
        .output()
        .unwrap();
    assert_eq!(
        check.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
    assert!(String::from_utf8_lossy(&check.stdout).contains("\nCONFORMS"));
}

#[test]
fn outside_a_checkout_the_built_in_reference_cassettes_run() {
    let empty = tempfile::tempdir().unwrap();
    let output = std::process::Command::new(binary())
        .current_dir(empty.path())
        .args(["conform", "--report", "json=r.json"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(empty.path().join("r.json")).unwrap()).unwrap();
    assert_rules_hold(output.status.code(), &report, &stdout);
    let shipped = cassette::load(&repo_root().join("cassettes/proton")).unwrap();
    assert_eq!(report["cassettes"].as_array().unwrap().len(), shipped.len());
}
