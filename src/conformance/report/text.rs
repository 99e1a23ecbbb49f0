//! The text report, short enough to read at a terminal whatever the target:
//! the rule table first (every rule of the contract by operation: holds,
//! BROKEN, not tested), then each rule break, then the collateral
//! differences grouped (the same operation, path and kind once, with where
//! it happened), then the step matrix, accepted and stale deviations, the
//! ready-to-paste entries when asked for, and the verdict. Unified diffs are
//! in the JSON, JUnit and HTML reports. Coloured only when asked (the caller
//! knows whether it writes to a terminal).

use super::{ALL_OUTCOMES, Outcome, Report, RuleVerdict, RunVerdict, Verdict, matrix_row, short};
use crate::conformance::deviations::DeviationV2;
use crate::conformance::rules::{CONTRACT_SOURCE, describe, groups};
use std::fmt::Write;

#[derive(Clone, Copy, Debug, Default)]
pub struct TextOptions {
    pub color: bool,
}

/// How many places a collapsed group names before "and N more".
const PLACES_SHOWN: usize = 2;
/// How many characters of a value a line shows.
const VALUE_WIDTH: usize = 70;

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

    fn verdict(&self, verdict: Verdict, text: &str) -> String {
        let code = match verdict {
            Verdict::Holds => "32",
            Verdict::Broken => "31;1",
            Verdict::NotTested => "2",
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
    let rules = report.rules();
    rule_table(&rules, &style, &mut out);
    rule_breaks(&rules, &style, &mut out);
    no_answer(report, &style, &mut out);
    collateral(report, &style, &mut out);
    matrix(report, &style, &mut out);
    accepted(report, &style, &mut out);
    stale(report, &style, &mut out);
    suggestions(report, &style, &mut out);
    verdict(report, &rules, &style, &mut out);
    out
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// The widest a column is padded to: a longer name (cassette names and
/// rule ids come from files) runs past its column rather than widening
/// every line, and a width is never one `format!` refuses.
pub const MAX_COLUMN: usize = 120;

/// The width of the column headed `name`.
fn column(name: &str) -> usize {
    name.len().min(MAX_COLUMN)
}

fn rule_table(rules: &[RuleVerdict], style: &Style, out: &mut String) {
    let _ = writeln!(
        out,
        "{}  ({CONTRACT_SOURCE})",
        style.bold("Rules of the contract")
    );
    let width = rules
        .iter()
        .map(|r| r.operation.len())
        .max()
        .unwrap_or(0)
        .clamp(20, MAX_COLUMN)
        + 4;
    let verdict_of = |id: &str, operation: &str| {
        rules
            .iter()
            .find(|r| r.id == id && r.operation == operation)
            .map(|r| r.verdict)
    };
    let mut groups: Vec<(String, Vec<String>, Vec<String>)> = groups()
        .map(|g| {
            (
                g.id.to_string(),
                g.rules.iter().map(|(r, _)| r.to_string()).collect(),
                g.operations.iter().map(|o| o.to_string()).collect(),
            )
        })
        .collect();
    // Rules the cassettes name beyond the contract, in their own groups.
    for rule in rules {
        let (group, name) = rule.id.split_once('/').unwrap_or(("other", &rule.id));
        let index = match groups.iter().position(|(g, _, _)| g == group) {
            Some(i) => i,
            None => {
                groups.push((group.to_string(), Vec::new(), Vec::new()));
                groups.len() - 1
            }
        };
        let (_, names, operations) = &mut groups[index];
        if !names.iter().any(|n| n == name) {
            names.push(name.to_string());
        }
        if !operations.contains(&rule.operation) {
            operations.push(rule.operation.clone());
        }
    }
    for (group, names, operations) in &groups {
        let _ = write!(out, "{group:<width$}");
        for name in names {
            let _ = write!(out, "{name}  ");
        }
        trim_line(out);
        for operation in operations {
            let _ = write!(out, "  {operation:<w$}", w = width - 2);
            for name in names {
                let cell = match verdict_of(&format!("{group}/{name}"), operation) {
                    Some(v) => style.verdict(v, &format!("{:<w$}", v.as_str(), w = column(name))),
                    None => format!("{:<w$}", "-", w = column(name)),
                };
                let _ = write!(out, "{cell}  ");
            }
            trim_line(out);
        }
    }
    let count = |v: Verdict| rules.iter().filter(|r| r.verdict == v).count();
    let _ = writeln!(
        out,
        "{} hold, {} broken, {} not tested\n",
        count(Verdict::Holds),
        count(Verdict::Broken),
        count(Verdict::NotTested)
    );
}

fn trim_line(out: &mut String) {
    let trimmed = out.trim_end_matches(' ').len();
    out.truncate(trimmed);
    out.push('\n');
}

fn rule_breaks(rules: &[RuleVerdict], style: &Style, out: &mut String) {
    let broken: Vec<_> = rules
        .iter()
        .filter(|r| r.verdict == Verdict::Broken)
        .collect();
    if broken.is_empty() {
        return;
    }
    let _ = writeln!(out, "{}", style.bold("Rule breaks"));
    for rule in broken {
        let _ = writeln!(
            out,
            "{} {} x {}: {}",
            style.verdict(Verdict::Broken, "X"),
            rule.id,
            rule.operation,
            describe(&rule.id).unwrap_or("a rule the cassettes name")
        );
        // One line per step: its breaking paths, separated by `; `.
        let mut places: Vec<(&str, Vec<String>)> = Vec::new();
        for (place, d) in &rule.breaks {
            let state = d.state.map(|k| format!("state {k}: ")).unwrap_or_default();
            let text = format!(
                "{state}{} ({}): recorded {}, target {}",
                d.path,
                d.kind.describe(),
                short(&d.recorded, VALUE_WIDTH),
                short(&d.target, VALUE_WIDTH)
            );
            match places.iter_mut().find(|(p, _)| p == place) {
                Some((_, texts)) => texts.push(text),
                None => places.push((place, vec![text])),
            }
        }
        for (place, texts) in places {
            let _ = writeln!(out, "    {place}: {}", texts.join("; "));
        }
        for place in &rule.unanswered {
            let _ = writeln!(out, "    {place}: no answer, or not run");
        }
    }
    out.push('\n');
}

fn no_answer(report: &Report, style: &Style, out: &mut String) {
    let failed: Vec<_> = report
        .cassettes
        .iter()
        .flat_map(|c| c.steps.iter().map(move |s| (c, s)))
        .filter(|(_, s)| s.outcome == Outcome::Failed)
        .collect();
    if failed.is_empty() {
        return;
    }
    let _ = writeln!(out, "{}", style.bold("Steps without answer"));
    for (cassette, step) in failed {
        let _ = writeln!(
            out,
            "{} {} {}: {}: {}",
            style.outcome(Outcome::Failed, "!"),
            cassette.name,
            step.label(),
            step.operation,
            step.failure.as_deref().unwrap_or_default()
        );
    }
    out.push('\n');
}

fn collateral(report: &Report, style: &Style, out: &mut String) {
    let groups = report.collateral();
    if groups.is_empty() {
        return;
    }
    let total: usize = groups.iter().map(|g| g.places.len()).sum();
    let _ = writeln!(
        out,
        "{}  ({} kind{} of difference at {} step{}; each once, with where it happened)",
        style.bold("Collateral differences"),
        groups.len(),
        plural(groups.len()),
        total,
        plural(total)
    );
    for group in &groups {
        let variants = if group.variants > 1 {
            format!(" (and {} other value pairs)", group.variants - 1)
        } else {
            String::new()
        };
        let shown: Vec<&str> = group
            .places
            .iter()
            .take(PLACES_SHOWN)
            .map(String::as_str)
            .collect();
        let more = group.places.len().saturating_sub(PLACES_SHOWN);
        let tail = if more > 0 {
            format!(", and {more} more")
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "  {} {} ({}): recorded {}, target {}{variants}; at {}{tail}",
            group.operation,
            group.path,
            group.kind.describe(),
            short(&group.recorded, VALUE_WIDTH),
            short(&group.target, VALUE_WIDTH),
            shown.join(", ")
        );
    }
    out.push('\n');
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
    let _ = writeln!(out, "{}  ({})", style.bold("Steps"), legend.join("  "));
    let width = report.max_steps();
    let cell = width.to_string().len() + 1;
    let name_width = report
        .cassettes
        .iter()
        .map(|c| c.name.chars().count())
        .max()
        .unwrap_or(0)
        .clamp("cassette \\ step".len(), MAX_COLUMN);
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
        trim_line(out);
    }
    out.push('\n');
}

fn accepted(report: &Report, style: &Style, out: &mut String) {
    let mut reasons: Vec<(String, usize)> = Vec::new();
    for d in report
        .cassettes
        .iter()
        .flat_map(|c| &c.steps)
        .flat_map(|s| &s.differences)
    {
        if let Some(reason) = &d.accepted {
            match reasons.iter_mut().find(|(r, _)| r == reason) {
                Some((_, n)) => *n += 1,
                None => reasons.push((reason.clone(), 1)),
            }
        }
    }
    if reasons.is_empty() {
        return;
    }
    let _ = writeln!(out, "{}", style.bold("Accepted deviations seen"));
    for (reason, n) in reasons {
        let _ = writeln!(
            out,
            "  {} {n} difference{}: {reason}",
            style.outcome(Outcome::Accepted, "~"),
            plural(n)
        );
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
            let _ = writeln!(out, "  {}", DeviationV2::from_model(deviation).to_line());
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

fn suggestions(report: &Report, style: &Style, out: &mut String) {
    if !report.suggest_deviations {
        return;
    }
    let entries = report.new_deviations();
    if entries.is_empty() {
        return;
    }
    let file = report
        .deviations_file
        .as_deref()
        .unwrap_or("conformance/deviations.json");
    let _ = writeln!(
        out,
        "{}",
        style.bold(&format!(
            "Ready-to-paste deviation entries (for \"deviations\" in {file}; replace each reason with the evidence, keep only those you accept)"
        ))
    );
    for entry in &entries {
        let _ = writeln!(out, "  {}", DeviationV2::from_model(entry).to_line());
    }
    out.push('\n');
}

fn verdict(report: &Report, rules: &[RuleVerdict], style: &Style, out: &mut String) {
    let broken = rules
        .iter()
        .filter(|r| r.verdict == Verdict::Broken)
        .count();
    let tested = rules
        .iter()
        .filter(|r| r.verdict != Verdict::NotTested)
        .count();
    let collateral: usize = report.collateral().iter().map(|g| g.places.len()).sum();
    let c = report.counts();
    let head = match report.run_verdict() {
        RunVerdict::Conforms => style.outcome(Outcome::Conforms, "CONFORMS"),
        RunVerdict::CollateralOnly => style.outcome(Outcome::Accepted, "RULES HOLD"),
        RunVerdict::RuleBroken => style.outcome(Outcome::Differs, "RULES BROKEN"),
    };
    let _ = writeln!(
        out,
        "{head}: {broken} of {tested} tested rule{} broken; {collateral} collateral difference{} at {} of {} step{}",
        plural(tested),
        plural(collateral),
        c.differs + c.failed,
        c.total(),
        plural(c.total())
    );
}
