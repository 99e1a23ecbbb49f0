//! The text report: a scenario-by-step summary matrix first, then each
//! difference with its paths, a unified diff and a ready-to-paste deviation
//! entry, then stale deviations and the verdict. Coloured only when asked
//! (the caller knows whether it writes to a terminal).

use super::{ALL_OUTCOMES, Outcome, Report, StepReport, matrix_row};
use crate::conformance::compare::Difference;
use crate::conformance::deviations::{DeviationV1, StepRef};
use std::fmt::Write;

#[derive(Clone, Copy, Debug, Default)]
pub struct TextOptions {
    pub color: bool,
}

struct Style {
    color: bool,
}

impl Style {
    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    fn bold(&self, text: &str) -> String {
        self.paint("1", text)
    }

    fn outcome(&self, outcome: Outcome, text: &str) -> String {
        let code = match outcome {
            Outcome::Conforms => "32",
            Outcome::Accepted => "33",
            Outcome::Differs | Outcome::Failed => "31;1",
            Outcome::NotRun => "2",
        };
        self.paint(code, text)
    }
}

/// The report as text.
pub fn text(report: &Report, options: &TextOptions) -> String {
    let style = Style {
        color: options.color,
    };
    let mut out = String::new();
    let counts = report.counts();
    let _ = writeln!(
        out,
        "{} {} cassette{}, {} step{} against {}",
        style.bold("proton-vcr conform:"),
        report.cassettes.len(),
        plural(report.cassettes.len()),
        counts.total(),
        plural(counts.total()),
        report.target
    );
    if let Some(file) = &report.deviations_file {
        let _ = writeln!(out, "accepted deviations from {file}");
    }
    for note in &report.notes {
        let _ = writeln!(out, "note: {note}");
    }
    out.push('\n');
    matrix(report, &style, &mut out);
    differences(report, &style, &mut out);
    accepted(report, &style, &mut out);
    stale(report, &style, &mut out);
    verdict(report, &style, &mut out);
    out
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn matrix(report: &Report, style: &Style, out: &mut String) {
    let legend: Vec<String> = ALL_OUTCOMES
        .iter()
        .map(|&o| {
            format!(
                "{} {}",
                style.outcome(o, &o.symbol().to_string()),
                o.describe()
            )
        })
        .collect();
    let _ = writeln!(out, "{}  ({})", style.bold("Summary"), legend.join("  "));
    let width = report.max_steps();
    let cell = width.to_string().len() + 1;
    let name_width = report
        .cassettes
        .iter()
        .map(|c| c.name.chars().count())
        .max()
        .unwrap_or(0)
        .max("cassette \\ step".len());
    let _ = write!(out, "{:<name_width$}", "cassette \\ step");
    for n in 1..=width {
        let _ = write!(out, "{n:>cell$}");
    }
    out.push('\n');
    for cassette in &report.cassettes {
        let _ = write!(out, "{:<name_width$}", cassette.name);
        for entry in matrix_row(cassette, width) {
            let _ = write!(out, "{:>pad$}", "", pad = cell - 1);
            match entry {
                Some((outcome, _)) => {
                    out.push_str(&style.outcome(outcome, &outcome.symbol().to_string()))
                }
                None => out.push(' '),
            }
        }
        let trimmed = out.trim_end_matches(' ').len();
        out.truncate(trimmed);
        out.push('\n');
    }
    out.push('\n');
}

fn step_heading(name: &str, step: &StepReport) -> String {
    let mut heading = format!("{name}, {}: {}", step.label(), step.operation);
    if let Some(waiter) = &step.waiter {
        let _ = write!(
            heading,
            " (waiter loop: {} polls recorded, {} sent)",
            waiter.polls_recorded, waiter.polls_sent
        );
    }
    heading
}

fn differences(report: &Report, style: &Style, out: &mut String) {
    let failing: Vec<_> = report
        .cassettes
        .iter()
        .flat_map(|c| c.steps.iter().map(move |s| (c, s)))
        .filter(|(_, s)| matches!(s.outcome, Outcome::Differs | Outcome::Failed))
        .collect();
    if failing.is_empty() {
        return;
    }
    let _ = writeln!(out, "{}\n", style.bold("Differences"));
    let entries = report.new_deviations();
    for (cassette, step) in failing {
        let symbol = step.outcome.symbol().to_string();
        let _ = writeln!(
            out,
            "{} {}",
            style.outcome(step.outcome, &symbol),
            style.bold(&step_heading(&cassette.name, step))
        );
        let _ = writeln!(out, "  file: {}", cassette.path);
        if let Some(note) = &step.note {
            let _ = writeln!(out, "  note: {note}");
        }
        if let Some(failure) = &step.failure {
            let _ = writeln!(out, "  {failure}");
            out.push('\n');
            continue;
        }
        if let Some(waiter) = &step.waiter {
            let _ = writeln!(
                out,
                "  recorded states: {}",
                waiter.recorded_states.join(" -> ")
            );
            let _ = writeln!(
                out,
                "  target states:   {}",
                waiter.target_states.join(" -> ")
            );
        }
        let _ = writeln!(out, "  differs at:");
        for difference in step.differences.iter().filter(|d| d.accepted.is_none()) {
            let _ = writeln!(out, "    {}", describe(difference));
        }
        for difference in step.differences.iter().filter(|d| d.accepted.is_some()) {
            let _ = writeln!(
                out,
                "    {} (accepted: {})",
                where_(difference),
                difference.accepted.as_deref().unwrap_or_default()
            );
        }
        for line in step.diff.lines() {
            let painted = if line.starts_with("+++") || line.starts_with("---") {
                style.bold(line)
            } else if line.starts_with('+') {
                style.paint("32", line)
            } else if line.starts_with('-') {
                style.paint("31", line)
            } else if line.starts_with("@@") {
                style.paint("36", line)
            } else {
                line.to_string()
            };
            let _ = writeln!(out, "  {painted}");
        }
        let entry = entries
            .iter()
            .find(|d| d.cassette == cassette.name && d.step == StepRef::Step(step.first));
        if let Some(entry) = entry {
            let file = report
                .deviations_file
                .as_deref()
                .unwrap_or("conformance/deviations.json");
            let _ = writeln!(out, "  to accept it, add to \"deviations\" in {file}:");
            let _ = writeln!(out, "    {}", DeviationV1::from_model(entry).to_line());
        }
        out.push('\n');
    }
}

fn where_(difference: &Difference) -> String {
    match difference.state {
        Some(k) => format!("state {k}: {}", difference.path),
        None => difference.path.clone(),
    }
}

fn describe(difference: &Difference) -> String {
    let show = |v: &Option<serde_json::Value>| match v {
        Some(value) => {
            let text = value.to_string();
            if text.chars().count() > 80 {
                format!("{}...", text.chars().take(77).collect::<String>())
            } else {
                text
            }
        }
        None => "(absent)".to_string(),
    };
    format!(
        "{}: recorded {}, target {}",
        where_(difference),
        show(&difference.recorded),
        show(&difference.target)
    )
}

fn accepted(report: &Report, style: &Style, out: &mut String) {
    let steps: Vec<_> = report
        .cassettes
        .iter()
        .flat_map(|c| c.steps.iter().map(move |s| (c, s)))
        .filter(|(_, s)| s.outcome == Outcome::Accepted)
        .collect();
    if steps.is_empty() {
        return;
    }
    let _ = writeln!(out, "{}\n", style.bold("Accepted deviations seen"));
    for (cassette, step) in steps {
        let _ = writeln!(
            out,
            "{} {}",
            style.outcome(Outcome::Accepted, "~"),
            step_heading(&cassette.name, step)
        );
        for difference in &step.differences {
            let _ = writeln!(
                out,
                "    {} ({})",
                where_(difference),
                difference.accepted.as_deref().unwrap_or_default()
            );
        }
    }
    out.push('\n');
}

fn stale(report: &Report, style: &Style, out: &mut String) {
    if report.stale.is_empty() && report.unchecked_deviations == 0 {
        return;
    }
    if !report.stale.is_empty() {
        let _ = writeln!(
            out,
            "{}",
            style.bold("Stale deviations (accepted, but the difference no longer happens; remove these paths)")
        );
        for deviation in &report.stale {
            let _ = writeln!(out, "  {}", DeviationV1::from_model(deviation).to_line());
        }
    }
    if report.unchecked_deviations > 0 {
        let _ = writeln!(
            out,
            "{} accepted deviation{} not checked: {} cassette was not part of this run",
            report.unchecked_deviations,
            plural(report.unchecked_deviations),
            if report.unchecked_deviations == 1 {
                "its"
            } else {
                "their"
            }
        );
    }
    out.push('\n');
}

fn verdict(report: &Report, style: &Style, out: &mut String) {
    let c = report.counts();
    let mut parts = vec![format!("{} conform", c.conforms)];
    if c.accepted > 0 {
        parts.push(format!("{} accepted", c.accepted));
    }
    if c.differs > 0 {
        parts.push(format!("{} differ", c.differs));
    }
    if c.failed > 0 {
        parts.push(format!("{} without answer", c.failed));
    }
    if c.not_run > 0 {
        parts.push(format!("{} not run", c.not_run));
    }
    let verdict = if report.conforms() {
        style.outcome(Outcome::Conforms, "CONFORMS")
    } else {
        style.outcome(Outcome::Differs, "DIFFERS")
    };
    let _ = writeln!(
        out,
        "{verdict}: {} step{}: {}",
        c.total(),
        plural(c.total()),
        parts.join(", ")
    );
}
