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
pub use text::{TextOptions, text};

use super::compare::Difference;
use super::deviations::{Deviation, StepRef};

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

    /// A ready-to-paste deviation entry for each step with new differences.
    pub fn new_deviations(&self) -> Vec<Deviation> {
        self.cassettes
            .iter()
            .flat_map(|cassette| {
                cassette
                    .steps
                    .iter()
                    .filter(|s| s.outcome == Outcome::Differs)
                    .map(|step| Deviation {
                        cassette: cassette.name.clone(),
                        step: StepRef::Step(step.first),
                        paths: step.new_paths(),
                        reason: NEW_REASON.to_string(),
                        date: self.today.clone(),
                    })
            })
            .collect()
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
