//! The JSON report (`proton-vcr.conform-report/2`): the report's own serde
//! types, so the in-memory report can change without breaking readers. It
//! leads with the verdict and the rules (every rule of the contract by
//! operation), then the collateral differences grouped, then every step.

use super::{CollateralGroup, Report, RuleVerdict, RunVerdict, StepReport, Waiter};
use crate::conformance::compare::Difference;
use crate::conformance::deviations::DeviationV2;
use serde::Serialize;
use serde_json::Value;

pub const REPORT_FORMAT: &str = "proton-vcr.conform-report/2";

#[derive(Serialize)]
struct ReportV1<'a> {
    format: &'static str,
    target: &'a str,
    /// `conforms`, `collateral-only` or `rule-broken`, as the exit status says.
    verdict: &'static str,
    conforms: bool,
    rules: Vec<RuleV2>,
    collateral: Vec<CollateralV2>,
    summary: SummaryV1,
    notes: &'a [String],
    deviations_file: Option<&'a str>,
    cassettes: Vec<CassetteV1<'a>>,
    stale_deviations: Vec<DeviationV2>,
    unchecked_deviations: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    new_deviations: Option<Vec<DeviationV2>>,
}

#[derive(Serialize)]
struct RuleV2 {
    rule: String,
    operation: String,
    verdict: &'static str,
    steps: Vec<String>,
    breaks: Vec<BreakV2>,
    unanswered: Vec<String>,
}

#[derive(Serialize)]
struct BreakV2 {
    at: String,
    path: String,
    kind: &'static str,
    recorded: Option<Value>,
    target: Option<Value>,
}

#[derive(Serialize)]
struct CollateralV2 {
    operation: String,
    path: String,
    kind: &'static str,
    recorded: Option<Value>,
    target: Option<Value>,
    value_pairs: usize,
    places: Vec<String>,
}

#[derive(Serialize)]
struct SummaryV1 {
    cassettes: usize,
    steps: usize,
    conforms: usize,
    accepted: usize,
    differs: usize,
    failed: usize,
    not_run: usize,
}

#[derive(Serialize)]
struct CassetteV1<'a> {
    name: &'a str,
    path: &'a str,
    outcome: &'static str,
    steps: Vec<StepV1<'a>>,
}

#[derive(Serialize)]
struct StepV1<'a> {
    step: usize,
    last_step: usize,
    operation: &'a str,
    outcome: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    waiter: Option<WaiterV1<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    failure: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rule: Option<StepRuleV2<'a>>,
    differences: Vec<DifferenceV1<'a>>,
}

#[derive(Serialize)]
struct StepRuleV2<'a> {
    id: &'a str,
    operation: &'a str,
    role: &'static str,
    paths: &'a [String],
}

#[derive(Serialize)]
struct WaiterV1<'a> {
    polls_recorded: usize,
    polls_sent: usize,
    recorded_states: &'a [String],
    target_states: &'a [String],
}

#[derive(Serialize)]
struct DifferenceV1<'a> {
    path: &'a str,
    kind: &'static str,
    breaks_rule: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    state: Option<usize>,
    recorded: &'a Option<Value>,
    target: &'a Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    accepted: Option<&'a str>,
}

/// The report as pretty-printed JSON, with a trailing newline.
pub fn json(report: &Report) -> String {
    let counts = report.counts();
    let value = ReportV1 {
        format: REPORT_FORMAT,
        target: &report.target,
        verdict: match report.run_verdict() {
            RunVerdict::Conforms => "conforms",
            RunVerdict::CollateralOnly => "collateral-only",
            RunVerdict::RuleBroken => "rule-broken",
        },
        conforms: report.conforms(),
        rules: report.rules().into_iter().map(rule).collect(),
        collateral: report.collateral().into_iter().map(collateral).collect(),
        summary: SummaryV1 {
            cassettes: report.cassettes.len(),
            steps: counts.total(),
            conforms: counts.conforms,
            accepted: counts.accepted,
            differs: counts.differs,
            failed: counts.failed,
            not_run: counts.not_run,
        },
        notes: &report.notes,
        deviations_file: report.deviations_file.as_deref(),
        cassettes: report
            .cassettes
            .iter()
            .map(|c| CassetteV1 {
                name: &c.name,
                path: &c.path,
                outcome: c.outcome().as_str(),
                steps: c.steps.iter().map(step).collect(),
            })
            .collect(),
        stale_deviations: report.stale.iter().map(DeviationV2::from_model).collect(),
        unchecked_deviations: report.unchecked_deviations,
        new_deviations: report.suggest_deviations.then(|| {
            report
                .new_deviations()
                .iter()
                .map(DeviationV2::from_model)
                .collect()
        }),
    };
    let mut text = serde_json::to_string_pretty(&value).unwrap_or_default();
    text.push('\n');
    text
}

fn step(step: &StepReport) -> StepV1<'_> {
    StepV1 {
        step: step.first,
        last_step: step.last,
        operation: &step.operation,
        outcome: step.outcome.as_str(),
        note: step.note.as_deref(),
        waiter: step.waiter.as_ref().map(waiter),
        failure: step.failure.as_deref(),
        rule: step.rule.as_ref().map(|r| StepRuleV2 {
            id: &r.id,
            operation: &r.operation,
            role: r.role.as_str(),
            paths: &r.paths,
        }),
        differences: step.differences.iter().map(difference).collect(),
    }
}

fn rule(rule: RuleVerdict) -> RuleV2 {
    RuleV2 {
        verdict: rule.verdict.key(),
        breaks: rule
            .breaks
            .into_iter()
            .map(|(at, d)| BreakV2 {
                at,
                kind: d.kind.as_str(),
                path: d.path,
                recorded: d.recorded,
                target: d.target,
            })
            .collect(),
        rule: rule.id,
        operation: rule.operation,
        steps: rule.steps,
        unanswered: rule.unanswered,
    }
}

fn collateral(group: CollateralGroup) -> CollateralV2 {
    CollateralV2 {
        operation: group.operation,
        kind: group.kind.as_str(),
        path: group.path,
        recorded: group.recorded,
        target: group.target,
        value_pairs: group.variants,
        places: group.places,
    }
}

fn waiter(waiter: &Waiter) -> WaiterV1<'_> {
    WaiterV1 {
        polls_recorded: waiter.polls_recorded,
        polls_sent: waiter.polls_sent,
        recorded_states: &waiter.recorded_states,
        target_states: &waiter.target_states,
    }
}

fn difference(difference: &Difference) -> DifferenceV1<'_> {
    DifferenceV1 {
        path: &difference.path,
        kind: difference.kind.as_str(),
        breaks_rule: difference.breaks_rule,
        state: difference.state,
        recorded: &difference.recorded,
        target: &difference.target,
        accepted: difference.accepted.as_deref(),
    }
}
