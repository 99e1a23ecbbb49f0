//! Running cassettes against a target.
//!
//! For each cassette: reset the target, then send every recorded request in
//! order, exactly as recorded, except that ids the target generated replace
//! the recorded ones in later requests (a delete must name the resource the
//! target created). Before each step the target's clock is moved to the
//! step's `elapsed_ms`; a target without a clock is given real time, or none
//! at all when the timeline is compressed.
//!
//! Consecutive identical read requests (`Get*`, `List*`, `Describe*`, or an
//! HTTP GET) are a waiter loop: both sides are reduced to the sequence of
//! distinct states they went through. When the target is slower than the
//! recording, the loop keeps polling, up to a limit, until the target
//! reaches the recorded final state.

use super::compare::{Difference, Observed, ObservedBody, STATES_PATH, compare, unified_diff};
use super::deviations::Deviations;
use super::expect::{StepExpect, decides};
use super::normalize::{ID_KIND, NormalizeRules, Normalizer};
use super::progress::{Progress, wait_with_progress};
use super::report::{CassetteReport, Outcome, Report, StepReport, Waiter};
use super::target::{Target, TargetError};
use crate::cassette::{Interaction, LoadedCassette, RecordedRequest};
use crate::http::Request;
use serde_json::Value;
use std::collections::HashMap;
use std::fmt;
use std::ops::Range;
use std::time::{Duration, Instant};

/// How a run follows the recorded timeline on a target without a clock.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Timeline {
    /// Wait in real time until each step's `elapsed_ms`.
    #[default]
    Follow,
    /// Send every step at once (time-dependent steps will likely differ).
    Compressed,
}

/// How a run is done.
#[derive(Clone, Debug)]
pub struct ConformOptions {
    pub rules: NormalizeRules,
    pub timeline: Timeline,
    /// Polls a waiter loop may add after the recorded ones.
    pub max_extra_polls: usize,
    /// The date put in ready-to-paste deviation entries (`YYYY-MM-DD`).
    pub today: String,
    /// Whether reports print ready-to-paste deviation entries.
    pub suggest_deviations: bool,
}

impl Default for ConformOptions {
    fn default() -> Self {
        Self {
            rules: NormalizeRules::proton(),
            timeline: Timeline::Follow,
            max_extra_polls: 150,
            today: super::deviations::today(),
            suggest_deviations: false,
        }
    }
}

/// Why a run could not be completed.
#[derive(Debug)]
pub enum RunError {
    /// A recorded request cannot be sent as it is written.
    Input {
        cassette: String,
        step: usize,
        message: String,
    },
    /// The target's reset or clock failed: the run cannot be trusted.
    Target {
        cassette: String,
        error: TargetError,
    },
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::Input {
                cassette,
                step,
                message,
            } => {
                write!(
                    f,
                    "{cassette}: step {step}: the recorded request cannot be sent: {message}"
                )
            }
            RunError::Target { cassette, error } => {
                write!(f, "{cassette}: the target's {error}")
            }
        }
    }
}

impl std::error::Error for RunError {}

/// Runs every cassette against `target` and reports what differs.
/// `deviations` accepts known differences and learns which ones are stale.
pub async fn conform(
    cassettes: &[LoadedCassette],
    target: &dyn Target,
    deviations: &mut Deviations,
    options: &ConformOptions,
    progress: &mut dyn Progress,
) -> Result<Report, RunError> {
    let prepared = prepare(cassettes)?;
    let expects = read_expects(cassettes)?;
    progress.begin(
        cassettes
            .iter()
            .map(|c| c.cassette.interactions.len())
            .sum(),
    );
    let mut reports = Vec::with_capacity(cassettes.len());
    for ((loaded, requests), expects) in cassettes.iter().zip(&prepared).zip(&expects) {
        let mut run = CassetteRun {
            loaded,
            requests,
            expects,
            target_bodies: HashMap::new(),
            target,
            options,
            progress: &mut *progress,
            recorded_side: Normalizer::new(&options.rules),
            target_side: Normalizer::guided(&options.rules),
            ids: IdBindings::default(),
            started: Instant::now(),
        };
        let mut steps = match run.run().await {
            Ok(steps) => steps,
            Err(error) => {
                progress.finish();
                return Err(RunError::Target {
                    cassette: loaded.cassette.name.clone(),
                    error,
                });
            }
        };
        for step in &mut steps {
            judge(step, &loaded.cassette.name, deviations);
        }
        reports.push(CassetteReport {
            name: loaded.cassette.name.clone(),
            path: loaded.path.display().to_string(),
            interactions: loaded.cassette.interactions.len(),
            steps,
        });
    }
    progress.finish();
    let ran = |name: &str| cassettes.iter().any(|c| c.cassette.name == name);
    let mut notes = Vec::new();
    if !target.can_reset() && cassettes.len() > 1 {
        notes.push(
            "the target offers no reset: each cassette ran on the state the previous ones left"
                .to_string(),
        );
    }
    if !target.has_clock() && options.timeline == Timeline::Compressed {
        notes.push(
            "the timeline was compressed (the target has no clock): time-dependent steps may differ"
                .to_string(),
        );
    }
    Ok(Report {
        target: target.label().to_string(),
        deviations_file: deviations.source.as_ref().map(|p| p.display().to_string()),
        today: options.today.clone(),
        notes,
        cassettes: reports,
        stale: deviations.stale(&ran),
        unchecked_deviations: deviations.unchecked(&ran),
        suggest_deviations: options.suggest_deviations,
    })
}

/// Converts every recorded request once, so bad input stops the run before
/// anything is sent.
fn prepare(cassettes: &[LoadedCassette]) -> Result<Vec<Vec<Request>>, RunError> {
    cassettes
        .iter()
        .map(|loaded| {
            loaded
                .cassette
                .interactions
                .iter()
                .enumerate()
                .map(|(i, interaction)| {
                    interaction
                        .request
                        .to_exchange()
                        .map_err(|message| RunError::Input {
                            cassette: format!(
                                "{} ({})",
                                loaded.cassette.name,
                                loaded.path.display()
                            ),
                            step: i + 1,
                            message,
                        })
                })
                .collect()
        })
        .collect()
}

/// Reads every interaction's `expect` block once, so a bad one stops the run
/// before anything is sent.
fn read_expects(cassettes: &[LoadedCassette]) -> Result<Vec<Vec<StepExpect>>, RunError> {
    cassettes
        .iter()
        .map(|loaded| {
            loaded
                .cassette
                .interactions
                .iter()
                .enumerate()
                .map(|(i, interaction)| match &interaction.expect {
                    None => Ok(StepExpect::default()),
                    Some(block) => StepExpect::parse(block).map_err(|message| RunError::Input {
                        cassette: format!("{} ({})", loaded.cassette.name, loaded.path.display()),
                        step: i + 1,
                        message,
                    }),
                })
                .collect()
        })
        .collect()
}

fn judge(step: &mut StepReport, cassette: &str, deviations: &mut Deviations) {
    if matches!(step.outcome, Outcome::Failed | Outcome::NotRun) {
        return;
    }
    for difference in &mut step.differences {
        difference.accepted = deviations.accept(cassette, step.first, step.last, difference);
        difference.breaks_rule = difference.accepted.is_none()
            && step
                .rule
                .as_ref()
                .is_some_and(|rule| decides(&rule.paths, &difference.path));
    }
    step.outcome = if step.differences.is_empty() {
        Outcome::Conforms
    } else if step.differences.iter().all(|d| d.accepted.is_some()) {
        Outcome::Accepted
    } else {
        Outcome::Differs
    };
}

struct CassetteRun<'a, 'r> {
    loaded: &'a LoadedCassette,
    requests: &'a [Request],
    expects: &'a [StepExpect],
    /// The target's normalised body at each step number, for identity checks.
    target_bodies: HashMap<usize, Value>,
    target: &'a dyn Target,
    options: &'r ConformOptions,
    progress: &'a mut dyn Progress,
    recorded_side: Normalizer<'r>,
    target_side: Normalizer<'r>,
    ids: IdBindings,
    started: Instant,
}

/// The distinct states of a waiter, recorded and on the target, and the
/// interaction each recorded state was first seen at.
struct States<'a> {
    recorded: &'a [Observed],
    origins: &'a [usize],
    target: &'a [Observed],
}

impl CassetteRun<'_, '_> {
    async fn run(&mut self) -> Result<Vec<StepReport>, TargetError> {
        if self.target.can_reset() {
            self.target.reset().await?;
        }
        self.started = Instant::now();
        let interactions = &self.loaded.cassette.interactions;
        let mut steps = Vec::new();
        let mut failed = false;
        for range in group_steps(interactions) {
            let step = if failed {
                not_run(interactions, range)
            } else if range.len() == 1 {
                self.single(range.start).await?
            } else {
                self.waiter(range).await?
            };
            failed |= step.outcome == Outcome::Failed;
            steps.push(step);
        }
        Ok(steps)
    }

    async fn single(&mut self, index: usize) -> Result<StepReport, TargetError> {
        let all = &self.loaded.cassette.interactions;
        let Some(interaction) = all.get(index) else {
            return Ok(not_run(all, index..index + 1));
        };
        let mut step = new_step(interaction, index..index + 1);
        step.rule = self.expects.get(index).and_then(|e| e.rule.clone());
        let recorded = Observed::from_recorded(&interaction.response, &mut self.recorded_side);
        self.move_clock(interaction.elapsed_ms, &step.operation)
            .await?;
        let sent = self.send(index).await;
        self.progress.step(&self.loaded.cassette.name);
        let response = match sent {
            Ok(response) => response,
            Err(error) => return Ok(failed(step, error)),
        };
        let target = Observed::from_response(&response, &mut self.target_side, Some(&recorded));
        compare(&recorded, &target, None, &mut step.differences);
        let expect = self.expects.get(index).cloned().unwrap_or_default();
        let body = json_body(&target);
        expect.apply(body, None, &mut step.differences, &|n| {
            self.target_bodies.get(&n).cloned()
        });
        if let Some(body) = body {
            self.target_bodies.insert(index + 1, body.clone());
        }
        if !step.differences.is_empty() {
            let (mut left, mut right) = (String::new(), String::new());
            recorded.render(&mut left);
            target.render(&mut right);
            step.diff = unified_diff(&left, &right);
        }
        self.ids.update(&self.recorded_side, &self.target_side);
        Ok(step)
    }

    async fn waiter(&mut self, range: Range<usize>) -> Result<StepReport, TargetError> {
        let all = &self.loaded.cassette.interactions;
        let interactions = all.get(range.clone()).unwrap_or_default();
        let Some(first) = interactions.first() else {
            return Ok(not_run(all, range));
        };
        let mut step = new_step(first, range.clone());
        let recorded: Vec<Observed> = interactions
            .iter()
            .map(|i| Observed::from_recorded(&i.response, &mut self.recorded_side))
            .collect();
        let (recorded_states, origins) = distinct_with_origins(recorded, range.start);
        let mut seen = Vec::with_capacity(interactions.len());
        for (index, interaction) in range.clone().zip(interactions) {
            self.move_clock(interaction.elapsed_ms, &step.operation)
                .await?;
            let polled = self.poll(index, &recorded_states, &mut seen).await;
            self.progress.step(&self.loaded.cassette.name);
            if let Err(error) = polled {
                return Ok(failed(step, error));
            }
        }
        let final_state = recorded_states.last().map(Observed::summary);
        let interval = poll_interval(interactions);
        let mut elapsed = interactions.last().map_or(0, |i| i.elapsed_ms);
        let mut extra = 0;
        while extra < self.options.max_extra_polls
            && seen.last().map(Observed::summary) != final_state
        {
            extra += 1;
            elapsed = elapsed.saturating_add(interval);
            self.move_clock(elapsed, &step.operation).await?;
            if let Err(error) = self.poll(range.start, &recorded_states, &mut seen).await {
                return Ok(failed(step, error));
            }
        }
        let polls_sent = seen.len();
        let reached = seen.last().map(Observed::summary) == final_state;
        let target_states = distinct(seen);
        if let Some(last) = target_states.last().and_then(json_body) {
            self.target_bodies.insert(range.end, last.clone());
        }
        let states = States {
            recorded: &recorded_states,
            origins: &origins,
            target: &target_states,
        };
        step.differences = self.compare_states(states, reached, polls_sent, range.start);
        if !step.differences.is_empty() {
            step.diff = unified_diff(
                &render_states(&recorded_states),
                &render_states(&target_states),
            );
        }
        step.waiter = Some(Waiter {
            polls_recorded: interactions.len(),
            polls_sent,
            recorded_states: recorded_states.iter().map(Observed::summary).collect(),
            target_states: target_states.iter().map(Observed::summary).collect(),
        });
        self.ids.update(&self.recorded_side, &self.target_side);
        Ok(step)
    }

    /// Sends interaction `index` (again) and observes the answer, read in the
    /// light of the recorded state at the same position.
    async fn poll(
        &mut self,
        index: usize,
        recorded_states: &[Observed],
        seen: &mut Vec<Observed>,
    ) -> Result<(), TargetError> {
        let response = self.send(index).await?;
        let guide = recorded_states.get(seen.len()).or(recorded_states.last());
        seen.push(Observed::from_response(
            &response,
            &mut self.target_side,
            guide,
        ));
        Ok(())
    }

    /// The differences between the distinct states a waiter saw recorded and
    /// on the target: the final state never reached, the states one by one
    /// (each with the `expect` of the interaction it was first seen at), or
    /// the sequences when they differ in length.
    fn compare_states(
        &self,
        states: States<'_>,
        reached: bool,
        polls_sent: usize,
        first: usize,
    ) -> Vec<Difference> {
        let final_state = states.recorded.last().map(Observed::summary);
        if !reached {
            let answered: Vec<String> = states.target.iter().map(Observed::summary).collect();
            return vec![Difference::new(
                STATES_PATH,
                None,
                final_state.clone().map(Value::String),
                Some(Value::String(format!(
                    "never reached {} after {polls_sent} polls (answered: {})",
                    final_state.as_deref().unwrap_or("the recorded state"),
                    answered.join(" -> ")
                ))),
            )];
        }
        if states.recorded.len() != states.target.len() {
            return vec![Difference::new(
                STATES_PATH,
                None,
                Some(summaries(states.recorded)),
                Some(summaries(states.target)),
            )];
        }
        let mut differences = Vec::new();
        for (k, (r, t)) in states.recorded.iter().zip(states.target).enumerate() {
            let mut found = Vec::new();
            compare(r, t, Some(k + 1), &mut found);
            let origin = states.origins.get(k).copied().unwrap_or(first);
            let expect = self.expects.get(origin).cloned().unwrap_or_default();
            expect.apply(json_body(t), Some(k + 1), &mut found, &|n| {
                self.target_bodies.get(&n).cloned()
            });
            differences.extend(found);
        }
        differences
    }

    async fn send(&self, index: usize) -> Result<crate::http::Response, TargetError> {
        let Some(request) = self.requests.get(index) else {
            return Err(TargetError {
                action: "send",
                message: format!("no prepared request for step {}", index + 1),
            });
        };
        self.target.send(self.ids.apply(request)).await
    }

    async fn move_clock(&mut self, elapsed_ms: u64, operation: &str) -> Result<(), TargetError> {
        if self.target.has_clock() {
            return self.target.set_clock_ms(elapsed_ms).await;
        }
        if self.options.timeline == Timeline::Follow {
            let due = self.started + Duration::from_millis(elapsed_ms);
            let now = Instant::now();
            if due > now {
                let ms = (due - now).as_millis() as u64;
                wait_with_progress(ms, operation, &mut *self.progress).await;
            }
        }
        Ok(())
    }
}

fn new_step(interaction: &Interaction, range: Range<usize>) -> StepReport {
    StepReport {
        first: range.start + 1,
        last: range.end,
        operation: operation(&interaction.request),
        note: interaction.note.clone(),
        waiter: None,
        outcome: Outcome::Conforms,
        differences: Vec::new(),
        diff: String::new(),
        failure: None,
        rule: None,
    }
}

fn failed(mut step: StepReport, error: TargetError) -> StepReport {
    step.outcome = Outcome::Failed;
    step.failure = Some(format!("the target did not answer: {}", error.message));
    step
}

fn not_run(interactions: &[Interaction], range: Range<usize>) -> StepReport {
    let operation = interactions
        .get(range.start)
        .map(|i| operation(&i.request))
        .unwrap_or_default();
    StepReport {
        first: range.start + 1,
        last: range.end,
        operation,
        note: None,
        waiter: None,
        outcome: Outcome::NotRun,
        differences: Vec::new(),
        diff: String::new(),
        failure: Some("not run: an earlier step of this cassette failed".to_string()),
        rule: interactions
            .get(range.start)
            .and_then(|i| i.expect.as_ref())
            .and_then(|e| StepExpect::parse(e).ok())
            .and_then(|e| e.rule),
    }
}

/// `CreateEnvironment` for awsJson, `GET /path` otherwise.
pub fn operation(request: &RecordedRequest) -> String {
    let label = crate::matcher::operation_label(request);
    match request.headers.get("x-amz-target") {
        Some(_) => label.rsplit('.').next().unwrap_or(&label).to_string(),
        None => label,
    }
}

fn is_read(request: &RecordedRequest) -> bool {
    match request.headers.get("x-amz-target") {
        Some(target) => {
            let op = target.rsplit('.').next().unwrap_or(target);
            ["Get", "List", "Describe"]
                .iter()
                .any(|p| op.starts_with(p))
        }
        None => matches!(request.method.as_str(), "GET" | "HEAD"),
    }
}

/// Steps as ranges of interactions: one each, except consecutive identical
/// reads, which are one waiter loop.
pub fn group_steps(interactions: &[Interaction]) -> Vec<Range<usize>> {
    let mut groups = Vec::new();
    let mut start = 0;
    while let Some(first) = interactions.get(start) {
        let mut end = start + 1;
        if is_read(&first.request) {
            while interactions
                .get(end)
                .is_some_and(|i| i.request == first.request)
            {
                end += 1;
            }
        }
        groups.push(start..end);
        start = end;
    }
    groups
}

/// The recorded interval between the last two polls; a waiter's usual
/// 2 s when the recording does not tell.
fn poll_interval(polls: &[Interaction]) -> u64 {
    match polls {
        [.., a, b] if b.elapsed_ms > a.elapsed_ms => b.elapsed_ms - a.elapsed_ms,
        _ => 2_000,
    }
}

fn json_body(observed: &Observed) -> Option<&Value> {
    match &observed.body {
        ObservedBody::Json(value) => Some(value),
        _ => None,
    }
}

/// The distinct states, each with the interaction index it first appeared at.
fn distinct_with_origins(states: Vec<Observed>, first: usize) -> (Vec<Observed>, Vec<usize>) {
    let mut out: Vec<Observed> = Vec::with_capacity(states.len());
    let mut origins = Vec::with_capacity(states.len());
    for (i, state) in states.into_iter().enumerate() {
        if out.last() != Some(&state) {
            out.push(state);
            origins.push(first + i);
        }
    }
    (out, origins)
}

fn distinct(states: Vec<Observed>) -> Vec<Observed> {
    let mut out: Vec<Observed> = Vec::with_capacity(states.len());
    for state in states {
        if out.last() != Some(&state) {
            out.push(state);
        }
    }
    out
}

fn summaries(states: &[Observed]) -> Value {
    Value::Array(states.iter().map(|s| Value::String(s.summary())).collect())
}

fn render_states(states: &[Observed]) -> String {
    let mut out = String::new();
    for (k, state) in states.iter().enumerate() {
        out.push_str(&format!("== state {} of {} ==\n", k + 1, states.len()));
        state.render(&mut out);
    }
    out
}

/// Recorded ids paired with the ids the target generated in their place,
/// by placeholder number: ids that the normaliser paired are the same resource.
#[derive(Debug, Default)]
struct IdBindings {
    pairs: HashMap<String, String>,
}

/// Shorter ids are only replaced as whole values, never inside a string.
const MIN_EMBEDDED_ID: usize = 16;

impl IdBindings {
    fn update(&mut self, recorded: &Normalizer<'_>, target: &Normalizer<'_>) {
        for n in 1..=recorded.highest(ID_KIND) {
            if let (Some(a), Some(b)) = (recorded.original(ID_KIND, n), target.original(ID_KIND, n))
            {
                if a != b {
                    self.pairs.insert(a.to_string(), b.to_string());
                }
            }
        }
    }

    fn apply(&self, request: &Request) -> Request {
        let mut request = request.clone();
        if self.pairs.is_empty() {
            return request;
        }
        if let Ok(mut body) = serde_json::from_slice::<Value>(&request.body) {
            if self.rewrite(&mut body) {
                request.body = body.to_string().into();
            }
        }
        let uri = request.uri.to_string();
        let rewritten = self.replace_in(&uri);
        if rewritten != uri {
            if let Ok(uri) = rewritten.parse() {
                request.uri = uri;
            }
        }
        request
    }

    fn rewrite(&self, value: &mut Value) -> bool {
        match value {
            Value::String(text) => {
                let replaced = self.replace_in(text);
                let changed = replaced != *text;
                *text = replaced;
                changed
            }
            Value::Array(items) => items.iter_mut().fold(false, |c, v| self.rewrite(v) | c),
            Value::Object(members) => members.values_mut().fold(false, |c, v| self.rewrite(v) | c),
            _ => false,
        }
    }

    fn replace_in(&self, text: &str) -> String {
        if let Some(target) = self.pairs.get(text) {
            return target.clone();
        }
        let mut out = text.to_string();
        for (recorded, target) in &self.pairs {
            if recorded.len() >= MIN_EMBEDDED_ID && out.contains(recorded.as_str()) {
                out = out.replace(recorded.as_str(), target);
            }
        }
        out
    }
}
