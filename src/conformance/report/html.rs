//! The HTML report: one self-contained page (inline CSS, no script, no
//! external asset) with the verdict, the rule table (every rule of the
//! contract by operation), the collateral differences grouped, the step
//! matrix, and each difference in a `<details>` element with its paths,
//! kinds and unified diff (and a ready-to-paste deviation entry when asked).

use super::junit::escape;
use super::{ALL_OUTCOMES, Outcome, Report, RunVerdict, StepReport, Verdict, matrix_row, short};
use crate::conformance::deviations::{DeviationV2, StepRef};
use crate::conformance::rules::{CONTRACT_SOURCE, describe};
use std::fmt::Write;

const STYLE: &str = r#"
:root { --ok: #1a7f37; --acc: #9a6700; --bad: #cf222e; --mute: #8c959f; --line: #d0d7de; --bg: #f6f8fa; }
* { box-sizing: border-box; }
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "DejaVu Sans", sans-serif; color: #1f2328; margin: 0; padding: 24px 32px 48px; max-width: 1400px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 28px 0 10px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
code, pre, .mono { font-family: ui-monospace, "SFMono-Regular", "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 13px; }
.meta { color: #57606a; margin: 2px 0; }
.verdict { display: inline-block; padding: 2px 10px; border-radius: 12px; color: #fff; font-weight: 600; margin-right: 8px; }
.verdict.ok { background: var(--ok); } .verdict.bad { background: var(--bad); }
.counts span { margin-right: 14px; }
.notes li { color: #57606a; }
table.matrix { border-collapse: collapse; margin-top: 6px; }
table.matrix th, table.matrix td { border: 1px solid var(--line); padding: 0; text-align: center; }
table.matrix th { background: var(--bg); font-weight: 600; font-size: 12px; min-width: 28px; padding: 2px 4px; }
table.matrix th.name, table.matrix td.name { text-align: left; padding: 3px 10px; white-space: nowrap; font-weight: normal; }
table.matrix td.name a { color: inherit; text-decoration: none; }
table.matrix td a.cell { display: block; width: 28px; height: 24px; line-height: 24px; color: #fff; text-decoration: none; font-weight: 700; }
.c-conforms { background: var(--ok); } .c-accepted { background: #d4a72c; } .c-differs, .c-failed { background: var(--bad); } .c-not-run { background: var(--mute); }
.legend span.cell { display: inline-block; width: 18px; height: 18px; line-height: 18px; text-align: center; color: #fff; font-weight: 700; border-radius: 3px; margin: 0 4px 0 12px; font-size: 12px; }
details { border: 1px solid var(--line); border-radius: 6px; margin: 10px 0; background: #fff; }
details > summary { cursor: pointer; padding: 8px 12px; background: var(--bg); border-radius: 6px; list-style-position: inside; }
details[open] > summary { border-bottom: 1px solid var(--line); border-radius: 6px 6px 0 0; }
details .body { padding: 8px 14px 12px; }
.tag { display: inline-block; font-size: 12px; font-weight: 600; padding: 0 8px; border-radius: 10px; color: #fff; margin-right: 6px; }
table.paths { border-collapse: collapse; width: 100%; margin: 8px 0; table-layout: fixed; }
table.paths th, table.paths td { border: 1px solid var(--line); padding: 4px 8px; text-align: left; vertical-align: top; word-break: break-word; }
table.paths th { background: var(--bg); font-size: 13px; }
table.paths th:first-child { width: 34%; }
table.paths td:first-child { word-break: normal; overflow-wrap: anywhere; }
pre { background: var(--bg); border: 1px solid var(--line); border-radius: 6px; padding: 8px 10px; overflow-x: auto; margin: 8px 0; }
pre.diff span { display: block; white-space: pre; }
pre.diff .add { background: #dafbe1; } pre.diff .del { background: #ffebe9; } pre.diff .hunk { color: #0969da; } pre.diff .file { font-weight: 700; }
pre.paste { white-space: pre-wrap; word-break: break-all; }
.muted { color: #57606a; }
table.rules { border-collapse: collapse; margin: 6px 0; }
table.rules th, table.rules td { border: 1px solid var(--line); padding: 3px 10px; text-align: left; vertical-align: top; }
table.rules th { background: var(--bg); font-size: 13px; }
.v-holds { color: var(--ok); font-weight: 600; } .v-broken { color: var(--bad); font-weight: 700; } .v-not-tested { color: var(--mute); }
"#;

/// The report as one HTML page.
pub fn html(report: &Report) -> String {
    let mut out = String::new();
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    let _ = writeln!(
        out,
        "<title>proton-vcr conform: {}</title>",
        escape(&report.target)
    );
    let _ = writeln!(out, "<style>{STYLE}</style>\n</head>\n<body>");
    header(report, &mut out);
    rules(report, &mut out);
    collateral(report, &mut out);
    matrix(report, &mut out);
    details(report, &mut out);
    stale(report, &mut out);
    out.push_str("</body>\n</html>\n");
    out
}

fn header(report: &Report, out: &mut String) {
    let counts = report.counts();
    let _ = writeln!(out, "<h1>Conformance report</h1>");
    let (class, word) = match report.run_verdict() {
        RunVerdict::Conforms => ("ok", "conforms"),
        RunVerdict::CollateralOnly => ("bad", "rules hold, collateral differences"),
        RunVerdict::RuleBroken => ("bad", "rules broken"),
    };
    let _ = writeln!(
        out,
        "<p class=\"meta\"><span class=\"verdict {class}\">{word}</span>target <code>{}</code> &middot; {} cassette(s), {} step(s)</p>",
        escape(&report.target),
        report.cassettes.len(),
        counts.total()
    );
    let _ = writeln!(
        out,
        "<p class=\"counts\"><span>{} conform</span><span>{} accepted</span><span>{} differ</span><span>{} without answer</span><span>{} not run</span></p>",
        counts.conforms, counts.accepted, counts.differs, counts.failed, counts.not_run
    );
    if let Some(file) = &report.deviations_file {
        let _ = writeln!(
            out,
            "<p class=\"meta\">Accepted deviations from <code>{}</code></p>",
            escape(file)
        );
    }
    if !report.notes.is_empty() {
        out.push_str("<ul class=\"notes\">\n");
        for note in &report.notes {
            let _ = writeln!(out, "<li>{}</li>", escape(note));
        }
        out.push_str("</ul>\n");
    }
}

fn rules(report: &Report, out: &mut String) {
    let _ = writeln!(
        out,
        "<h2>Rules of the contract</h2>\n<p class=\"muted\">{}</p>\n<table class=\"rules\"><tr><th>rule</th><th>operation</th><th>verdict</th><th>what decides it</th></tr>",
        escape(CONTRACT_SOURCE)
    );
    for rule in report.rules() {
        let mut why = String::new();
        for (place, d) in &rule.breaks {
            let _ = write!(
                why,
                "{}: <code>{}</code> ({}): recorded <code>{}</code>, target <code>{}</code><br>",
                escape(place),
                escape(&d.path),
                d.kind.describe(),
                escape(&short(&d.recorded, 120)),
                escape(&short(&d.target, 120))
            );
        }
        for place in &rule.unanswered {
            let _ = write!(why, "{}: no answer, or not run<br>", escape(place));
        }
        if why.is_empty() && rule.verdict == Verdict::Holds {
            why = escape(&rule.steps.join(", "));
        }
        let _ = writeln!(
            out,
            "<tr><td><code>{}</code><br><span class=\"muted\">{}</span></td><td><code>{}</code></td><td class=\"v-{}\">{}</td><td class=\"mono\">{why}</td></tr>",
            escape(&rule.id),
            escape(describe(&rule.id).unwrap_or("")),
            escape(&rule.operation),
            rule.verdict.key(),
            rule.verdict.as_str()
        );
    }
    out.push_str("</table>\n");
}

fn collateral(report: &Report, out: &mut String) {
    let groups = report.collateral();
    if groups.is_empty() {
        return;
    }
    out.push_str("<h2>Collateral differences</h2>\n<p class=\"muted\">Differences that break no rule, each kind once, with where it happened.</p>\n<table class=\"rules\"><tr><th>operation</th><th>path</th><th>kind</th><th>recorded</th><th>target</th><th>where</th></tr>\n");
    for g in groups {
        let _ = writeln!(
            out,
            "<tr><td><code>{}</code></td><td class=\"mono\">{}</td><td>{}</td><td class=\"mono\">{}</td><td class=\"mono\">{}</td><td class=\"mono\">{}</td></tr>",
            escape(&g.operation),
            escape(&g.path),
            g.kind.describe(),
            escape(&short(&g.recorded, 120)),
            escape(&short(&g.target, 120)),
            escape(&g.places.join(", "))
        );
    }
    out.push_str("</table>\n");
}

fn class(outcome: Outcome) -> String {
    format!("c-{}", outcome.as_str())
}

fn anchor(cassette: usize, step: &StepReport) -> String {
    format!("c{}-s{}", cassette + 1, step.first)
}

fn matrix(report: &Report, out: &mut String) {
    out.push_str("<h2>Summary</h2>\n<p class=\"legend muted\">");
    for outcome in ALL_OUTCOMES {
        let _ = write!(
            out,
            "<span class=\"cell {}\">{}</span>{}",
            class(outcome),
            escape(&outcome.symbol().to_string()),
            outcome.describe()
        );
    }
    out.push_str("</p>\n<table class=\"matrix\">\n<tr><th class=\"name\">cassette \\ step</th>");
    let width = report.max_steps();
    for n in 1..=width {
        let _ = write!(out, "<th>{n}</th>");
    }
    out.push_str("</tr>\n");
    for (ci, cassette) in report.cassettes.iter().enumerate() {
        let _ = write!(
            out,
            "<tr><td class=\"name mono\" title=\"{}\">{}</td>",
            escape(&cassette.path),
            escape(&cassette.name)
        );
        for cell in matrix_row(cassette, width) {
            match cell {
                Some((outcome, step)) => {
                    let _ = write!(
                        out,
                        "<td><a class=\"cell {}\" href=\"#{}\" title=\"{}: {} ({})\">{}</a></td>",
                        class(outcome),
                        anchor(ci, step),
                        escape(&step.label()),
                        escape(&step.operation),
                        outcome.as_str(),
                        escape(&outcome.symbol().to_string())
                    );
                }
                None => out.push_str("<td></td>"),
            }
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n");
}

fn details(report: &Report, out: &mut String) {
    let entries = if report.suggest_deviations {
        report.new_deviations()
    } else {
        Vec::new()
    };
    let shown: Vec<_> = report
        .cassettes
        .iter()
        .enumerate()
        .flat_map(|(ci, c)| c.steps.iter().map(move |s| (ci, c, s)))
        .filter(|(_, _, s)| s.outcome != Outcome::Conforms)
        .collect();
    if shown.is_empty() {
        out.push_str("<h2>Differences</h2>\n<p class=\"muted\">None: every step conforms.</p>\n");
        return;
    }
    out.push_str("<h2>Differences</h2>\n");
    for (ci, cassette, step) in shown {
        let open = if matches!(step.outcome, Outcome::Differs | Outcome::Failed) {
            " open"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "<details id=\"{}\"{open}><summary><span class=\"tag {}\">{}</span><code>{}</code>, {}: <b>{}</b></summary>\n<div class=\"body\">",
            anchor(ci, step),
            class(step.outcome),
            step.outcome.as_str(),
            escape(&cassette.name),
            escape(&step.label()),
            escape(&step.operation)
        );
        let _ = writeln!(
            out,
            "<p class=\"muted\">file <code>{}</code></p>",
            escape(&cassette.path)
        );
        if let Some(note) = &step.note {
            let _ = writeln!(out, "<p>{}</p>", escape(note));
        }
        if let Some(failure) = &step.failure {
            let _ = writeln!(out, "<p>{}</p>", escape(failure));
        }
        if let Some(waiter) = &step.waiter {
            let _ = writeln!(
                out,
                "<p>Waiter loop: {} polls recorded, {} sent.<br>Recorded states: <code>{}</code><br>Target states: <code>{}</code></p>",
                waiter.polls_recorded,
                waiter.polls_sent,
                escape(&waiter.recorded_states.join(" → ")),
                escape(&waiter.target_states.join(" → "))
            );
        }
        differences(step, out);
        diff(&step.diff, out);
        let step_ref = StepRef::Steps(vec![step.first]);
        for entry in entries
            .iter()
            .filter(|d| d.cassette == cassette.name && d.steps == step_ref)
        {
            let file = report
                .deviations_file
                .as_deref()
                .unwrap_or("conformance/deviations.json");
            let _ = writeln!(
                out,
                "<p>To accept it, add to <code>\"deviations\"</code> in <code>{}</code>:</p><pre class=\"paste\">{}</pre>",
                escape(file),
                escape(&DeviationV2::from_model(entry).to_line())
            );
        }
        out.push_str("</div></details>\n");
    }
}

/// The paths where a step differs, with both sides' values.
fn differences(step: &StepReport, out: &mut String) {
    if step.differences.is_empty() {
        return;
    }
    out.push_str("<table class=\"paths\"><tr><th>path</th><th>recorded</th><th>target</th></tr>\n");
    for d in &step.differences {
        let path = match d.state {
            Some(k) => format!("state {k}: {}", d.path),
            None => d.path.clone(),
        };
        let accepted = match &d.accepted {
            Some(reason) => format!(
                "<br><span class=\"muted\">accepted: {}</span>",
                escape(reason)
            ),
            None => String::new(),
        };
        let rule = if d.breaks_rule {
            " <b>(breaks the rule)</b>"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "<tr><td class=\"mono\">{} <span class=\"muted\">{}</span>{rule}{accepted}</td><td class=\"mono\">{}</td><td class=\"mono\">{}</td></tr>",
            escape(&path),
            d.kind.describe(),
            value(&d.recorded),
            value(&d.target)
        );
    }
    out.push_str("</table>\n");
}

/// A step's unified diff, coloured line by line.
fn diff(diff: &str, out: &mut String) {
    if diff.is_empty() {
        return;
    }
    out.push_str("<pre class=\"diff\">");
    for line in diff.lines() {
        let class = if line.starts_with("+++") || line.starts_with("---") {
            "file"
        } else if line.starts_with('+') {
            "add"
        } else if line.starts_with('-') {
            "del"
        } else if line.starts_with("@@") {
            "hunk"
        } else {
            "ctx"
        };
        let _ = write!(out, "<span class=\"{class}\">{}</span>", escape(line));
    }
    out.push_str("</pre>\n");
}

fn value(value: &Option<serde_json::Value>) -> String {
    match value {
        Some(v) => escape(&v.to_string()),
        None => "<span class=\"muted\">(absent)</span>".to_string(),
    }
}

fn stale(report: &Report, out: &mut String) {
    if report.stale.is_empty() && report.unchecked_deviations == 0 {
        return;
    }
    out.push_str("<h2>Stale deviations</h2>\n");
    if !report.stale.is_empty() {
        out.push_str("<p>Accepted, but the difference no longer happens: remove these paths.</p>\n<pre class=\"paste\">");
        for deviation in &report.stale {
            let _ = writeln!(
                out,
                "{}",
                escape(&DeviationV2::from_model(deviation).to_line())
            );
        }
        out.push_str("</pre>\n");
    }
    if report.unchecked_deviations > 0 {
        let _ = writeln!(
            out,
            "<p class=\"muted\">{} accepted deviation(s) not checked: their cassettes were not part of this run.</p>",
            report.unchecked_deviations
        );
    }
}
