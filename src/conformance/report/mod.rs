//! The outcome of a conformance run, and its renderings: text for people at a
//! terminal, JSON for machines, JUnit XML for CI, one self-contained HTML
//! page to share. Every rendering is a pure function of the [`Report`] and
//! is deterministic (no times, no absolute paths it was not given).

mod html;
mod json;
mod junit;
mod text;

pub use html::html;
pub use json::json;
pub use junit::junit;
pub use text::{MAX_COLUMN, TextOptions, text};

use super::compare::{DiffKind, Difference};
use super::deviations::{Deviation, DeviationKind, StepRef};
use super::expect::RuleMark;
use super::rules::groups;
use serde_json::Value;
use std::collections::BTreeMap;

/// Everything a run found.
#[derive(Clone, Debug)]
pub struct Report {
    /// How the target is named, e.g. `built-in mock` or its URL.
    pub target: String,
    /// Where accepted deviations were read from, and where new ones go.
    pub deviations_file: Option<String>,
    /// The date put in ready-to-paste deviation entries.
    pub today: String,
    /// Facts about the run a reader needs to trust it (e.g. no reset).
    pub notes: Vec<String>,
    pub cassettes: Vec<CassetteReport>,
    /// Accepted deviations (only their unused paths) that no longer happen.
    pub stale: Vec<Deviation>,
    /// Accepted deviations for cassettes that were not part of this run.
    pub unchecked_deviations: usize,
    /// Whether reports print ready-to-paste deviation entries.
    pub suggest_deviations: bool,
}

/// What a run says about one rule of the contract for one operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verdict {
    Holds,
    Broken,
    NotTested,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Holds => "holds",
            Verdict::Broken => "BROKEN",
            Verdict::NotTested => "not tested",
        }
    }

    /// For machines (JSON): lower-case, one word.
    pub fn key(self) -> &'static str {
        match self {
            Verdict::Holds => "holds",
            Verdict::Broken => "broken",
            Verdict::NotTested => "not-tested",
        }
    }
}

/// The verdict of a rule for an operation, with what decided it.
#[derive(Clone, Debug)]
pub struct RuleVerdict {
    /// `<group>/<rule>`.
    pub id: String,
    pub operation: String,
    pub verdict: Verdict,
    /// The steps that decide it, as `cassette step N`.
    pub steps: Vec<String>,
    /// Each difference that breaks it: where, and the difference.
    pub breaks: Vec<(String, Difference)>,
    /// Rule steps the target did not answer or that were not run.
    pub unanswered: Vec<String>,
}

/// Differences that break no rule, grouped: the same operation, path and
/// kind, wherever it happened.
#[derive(Clone, Debug)]
pub struct CollateralGroup {
    pub operation: String,
    pub path: String,
    pub kind: DiffKind,
    /// The most frequent (recorded, target) pair, and how many pairs differ.
    pub recorded: Option<Value>,
    pub target: Option<Value>,
    pub variants: usize,
    /// `cassette step N`, in run order.
    pub places: Vec<String>,
}

/// How often a (recorded, target) pair of values was seen.
type ValuePair = (usize, Option<Value>, Option<Value>);

/// How a run ends, for the exit status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunVerdict {
    /// Every rule holds and nothing else differs (or only as accepted).
    Conforms,
    /// Every tested rule holds; other (collateral) differences remain.
    CollateralOnly,
    /// A rule of the contract is broken, or the target did not answer.
    RuleBroken,
}

#[derive(Clone, Debug)]
pub struct CassetteReport {
    pub name: String,
    /// The file, as it was named to the run.
    pub path: String,
    pub interactions: usize,
    pub steps: Vec<StepReport>,
}

/// One compared step: a single interaction, or a waiter loop folded into one.
#[derive(Clone, Debug)]
pub struct StepReport {
    /// The first and last interaction, numbered from 1.
    pub first: usize,
    pub last: usize,
    /// The operation, e.g. `CreateEnvironmentTemplateVersion`.
    pub operation: String,
    pub note: Option<String>,
    pub waiter: Option<Waiter>,
    pub outcome: Outcome,
    pub differences: Vec<Difference>,
    /// A unified diff of the recorded and target renderings; empty when equal.
    pub diff: String,
    /// Why the step could not be run.
    pub failure: Option<String>,
    /// The rule of the contract this step decides, if any.
    pub rule: Option<RuleMark>,
}

/// How a waiter loop went on each side.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Waiter {
    pub polls_recorded: usize,
    pub polls_sent: usize,
    /// One summary per distinct state, e.g. `200 REGISTRATION_IN_PROGRESS`.
    pub recorded_states: Vec<String>,
    pub target_states: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    Conforms,
    /// Every difference is an accepted deviation.
    Accepted,
    Differs,
    /// The target did not answer.
    Failed,
    /// Not run because an earlier step of the cassette failed.
    NotRun,
}

/// Every outcome, best first, as legends list them.
pub const ALL_OUTCOMES: [Outcome; 5] = [
    Outcome::Conforms,
    Outcome::Accepted,
    Outcome::Differs,
    Outcome::Failed,
    Outcome::NotRun,
];

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Conforms => "conforms",
            Outcome::Accepted => "accepted",
            Outcome::Differs => "differs",
            Outcome::Failed => "failed",
            Outcome::NotRun => "not-run",
        }
    }

    /// What the outcome means, for legends.
    pub fn describe(self) -> &'static str {
        match self {
            Outcome::Conforms => "conforms",
            Outcome::Accepted => "accepted deviation",
            Outcome::Differs => "differs",
            Outcome::Failed => "no answer",
            Outcome::NotRun => "not run",
        }
    }

    /// The one-character cell of the summary matrix.
    pub fn symbol(self) -> char {
        match self {
            Outcome::Conforms => '.',
            Outcome::Accepted => '~',
            Outcome::Differs => 'X',
            Outcome::Failed => '!',
            Outcome::NotRun => '-',
        }
    }

    pub fn is_ok(self) -> bool {
        matches!(self, Outcome::Conforms | Outcome::Accepted)
    }
}

/// Steps per outcome.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub conforms: usize,
    pub accepted: usize,
    pub differs: usize,
    pub failed: usize,
    pub not_run: usize,
}

impl Counts {
    pub fn total(&self) -> usize {
        self.conforms + self.accepted + self.differs + self.failed + self.not_run
    }
}

impl StepReport {
    /// `step 3` or `steps 3-7`.
    pub fn label(&self) -> String {
        if self.first == self.last {
            format!("step {}", self.first)
        } else {
            format!("steps {}-{}", self.first, self.last)
        }
    }

    /// The paths that differ and are not accepted, each once, in order.
    pub fn new_paths(&self) -> Vec<String> {
        let mut paths: Vec<String> = Vec::new();
        for difference in self.differences.iter().filter(|d| d.accepted.is_none()) {
            if !paths.contains(&difference.path) {
                paths.push(difference.path.clone());
            }
        }
        paths
    }
}

impl CassetteReport {
    pub fn outcome(&self) -> Outcome {
        self.steps
            .iter()
            .map(|s| s.outcome)
            .max()
            .unwrap_or(Outcome::Conforms)
    }
}

impl Report {
    pub fn counts(&self) -> Counts {
        let mut counts = Counts::default();
        for step in self.cassettes.iter().flat_map(|c| &c.steps) {
            match step.outcome {
                Outcome::Conforms => counts.conforms += 1,
                Outcome::Accepted => counts.accepted += 1,
                Outcome::Differs => counts.differs += 1,
                Outcome::Failed => counts.failed += 1,
                Outcome::NotRun => counts.not_run += 1,
            }
        }
        counts
    }

    /// True when every step conforms or differs only as accepted.
    pub fn conforms(&self) -> bool {
        self.cassettes
            .iter()
            .flat_map(|c| &c.steps)
            .all(|s| s.outcome.is_ok())
    }

    /// A ready-to-paste deviation entry for each step and kind with new
    /// differences (identity differences have none: they cannot be accepted).
    pub fn new_deviations(&self) -> Vec<Deviation> {
        let mut out = Vec::new();
        for cassette in &self.cassettes {
            for step in cassette
                .steps
                .iter()
                .filter(|s| s.outcome == Outcome::Differs)
            {
                let mut by_kind: BTreeMap<DeviationKind, Vec<String>> = BTreeMap::new();
                for d in step.differences.iter().filter(|d| d.accepted.is_none()) {
                    if let Some(kind) = DeviationKind::of(d.kind) {
                        let paths = by_kind.entry(kind).or_default();
                        if !paths.contains(&d.path) {
                            paths.push(d.path.clone());
                        }
                    }
                }
                for (kind, paths) in by_kind {
                    out.push(Deviation {
                        cassette: cassette.name.clone(),
                        steps: StepRef::Steps(vec![step.first]),
                        every_step: None,
                        kind,
                        paths,
                        reason: NEW_REASON.to_string(),
                        date: self.today.clone(),
                    });
                }
            }
        }
        out
    }

    /// The verdict of every rule of the contract for each of its operations
    /// (in the contract's order), then of rules the cassettes name that the
    /// contract does not list.
    pub fn rules(&self) -> Vec<RuleVerdict> {
        let mut order: Vec<(String, String)> = Vec::new();
        for group in groups() {
            for (rule, _) in group.rules {
                for operation in group.operations {
                    order.push((format!("{}/{rule}", group.id), operation.to_string()));
                }
            }
        }
        for step in self.cassettes.iter().flat_map(|c| &c.steps) {
            if let Some(rule) = &step.rule {
                let key = (rule.id.clone(), rule.operation.clone());
                if !order.contains(&key) {
                    order.push(key);
                }
            }
        }
        order
            .into_iter()
            .map(|(id, operation)| self.rule_verdict(id, operation))
            .collect()
    }

    fn rule_verdict(&self, id: String, operation: String) -> RuleVerdict {
        let mut verdict = RuleVerdict {
            id,
            operation,
            verdict: Verdict::NotTested,
            steps: Vec::new(),
            breaks: Vec::new(),
            unanswered: Vec::new(),
        };
        let mut failed = false;
        for cassette in &self.cassettes {
            for step in &cassette.steps {
                let Some(rule) = &step.rule else { continue };
                if rule.id != verdict.id || rule.operation != verdict.operation {
                    continue;
                }
                let place = format!("{} {}", cassette.name, step.label());
                match step.outcome {
                    Outcome::Failed => {
                        failed = true;
                        verdict.unanswered.push(place.clone());
                    }
                    Outcome::NotRun => verdict.unanswered.push(place.clone()),
                    _ => {}
                }
                for d in step.differences.iter().filter(|d| d.breaks_rule) {
                    verdict.breaks.push((place.clone(), d.clone()));
                }
                verdict.steps.push(place);
            }
        }
        verdict.verdict = if !verdict.breaks.is_empty() || failed {
            Verdict::Broken
        } else if verdict.steps.is_empty() || !verdict.unanswered.is_empty() {
            Verdict::NotTested
        } else {
            Verdict::Holds
        };
        verdict
    }

    /// Differences that are not accepted and break no rule, grouped.
    pub fn collateral(&self) -> Vec<CollateralGroup> {
        let mut groups: Vec<CollateralGroup> = Vec::new();
        let mut pairs: Vec<BTreeMap<String, ValuePair>> = Vec::new();
        for cassette in &self.cassettes {
            for step in &cassette.steps {
                for d in step
                    .differences
                    .iter()
                    .filter(|d| d.accepted.is_none() && !d.breaks_rule)
                {
                    let place = format!("{} {}", cassette.name, step.label());
                    let index = match groups.iter().position(|g| {
                        g.operation == step.operation && g.path == d.path && g.kind == d.kind
                    }) {
                        Some(i) => i,
                        None => {
                            groups.push(CollateralGroup {
                                operation: step.operation.clone(),
                                path: d.path.clone(),
                                kind: d.kind,
                                recorded: None,
                                target: None,
                                variants: 0,
                                places: Vec::new(),
                            });
                            pairs.push(BTreeMap::new());
                            groups.len() - 1
                        }
                    };
                    if !groups[index].places.contains(&place) {
                        groups[index].places.push(place);
                    }
                    let key = format!("{:?}\u{1f}{:?}", d.recorded, d.target);
                    let entry = pairs[index].entry(key).or_insert((
                        0,
                        d.recorded.clone(),
                        d.target.clone(),
                    ));
                    entry.0 += 1;
                }
            }
        }
        for (group, pairs) in groups.iter_mut().zip(pairs) {
            group.variants = pairs.len();
            if let Some((_, recorded, target)) =
                pairs.into_values().max_by_key(|(count, _, _)| *count)
            {
                group.recorded = recorded;
                group.target = target;
            }
        }
        groups
    }

    /// How the run ends: a broken rule (or a step without answer) first,
    /// then collateral differences.
    pub fn run_verdict(&self) -> RunVerdict {
        let no_answer = self
            .cassettes
            .iter()
            .flat_map(|c| &c.steps)
            .any(|s| s.outcome == Outcome::Failed);
        if no_answer || self.rules().iter().any(|r| r.verdict == Verdict::Broken) {
            RunVerdict::RuleBroken
        } else if self.conforms() {
            RunVerdict::Conforms
        } else {
            RunVerdict::CollateralOnly
        }
    }

    /// The widest step number, for the summary matrix.
    pub fn max_steps(&self) -> usize {
        self.cassettes
            .iter()
            .map(|c| c.interactions)
            .max()
            .unwrap_or(0)
    }
}

/// The reason put in a ready-to-paste entry, for the person to replace.
pub const NEW_REASON: &str = "REPLACE: why this difference is acceptable, and the evidence";

/// A value as one short line: JSON, cut at `max` characters.
pub fn short(value: &Option<Value>, max: usize) -> String {
    match value {
        Some(value) => cut(&value.to_string(), max),
        None => "(absent)".to_string(),
    }
}

/// Cuts the middle out of a long text: ends tell ARNs and paths apart.
fn cut(text: &str, max: usize) -> String {
    let count = text.chars().count();
    if count <= max {
        return text.to_string();
    }
    let head = max.saturating_sub(3) / 2;
    let tail = max.saturating_sub(3) - head;
    let start: String = text.chars().take(head).collect();
    let end: String = text.chars().skip(count - tail).collect();
    format!("{start}...{end}")
}

/// The matrix cells of a cassette: one per interaction, a waiter loop's
/// outcome on each of its polls; `None` past the cassette's end.
pub fn matrix_row(cassette: &CassetteReport, width: usize) -> Vec<Option<(Outcome, &StepReport)>> {
    let mut cells = vec![None; width];
    for step in &cassette.steps {
        for n in step.first..=step.last {
            if let Some(cell) = cells.get_mut(n.saturating_sub(1)) {
                *cell = Some((step.outcome, step));
            }
        }
    }
    cells
}
