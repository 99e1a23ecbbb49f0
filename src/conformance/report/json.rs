//! The JSON report (`proton-vcr.conform-report/1`): the report's own serde
//! types, so the in-memory report can change without breaking readers.

use super::{Report, StepReport, Waiter};
use crate::conformance::compare::Difference;
use crate::conformance::deviations::DeviationV1;
use serde::Serialize;
use serde_json::Value;

pub const REPORT_FORMAT_V1: &str = "proton-vcr.conform-report/1";

#[derive(Serialize)]
struct ReportV1<'a> {
    format: &'static str,
    target: &'a str,
    conforms: bool,
    summary: SummaryV1,
    notes: &'a [String],
    deviations_file: Option<&'a str>,
    cassettes: Vec<CassetteV1<'a>>,
    stale_deviations: Vec<DeviationV1>,
    unchecked_deviations: usize,
    new_deviations: Vec<DeviationV1>,
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
    differences: Vec<DifferenceV1<'a>>,
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
        format: REPORT_FORMAT_V1,
        target: &report.target,
        conforms: report.conforms(),
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
        stale_deviations: report.stale.iter().map(DeviationV1::from_model).collect(),
        unchecked_deviations: report.unchecked_deviations,
        new_deviations: report
            .new_deviations()
            .iter()
            .map(DeviationV1::from_model)
            .collect(),
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
        differences: step.differences.iter().map(difference).collect(),
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
        state: difference.state,
        recorded: &difference.recorded,
        target: &difference.target,
        accepted: difference.accepted.as_deref(),
    }
}
