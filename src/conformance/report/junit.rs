//! The JUnit XML report, for CI systems: first a `rules` test suite with a
//! test case per rule of the contract and operation (broken: `<failure>`
//! naming what broke it; not tested: `<skipped>`), then one test suite per
//! cassette, one test case per step. A difference is a `<failure>` carrying the unified
//! diff, a target that did not answer an `<error>`, a step not run
//! `<skipped>`; accepted deviations pass and say so in `<system-out>`.

use super::{Outcome, Report, StepReport, Verdict, short};
use crate::conformance::rules::describe;
use std::fmt::Write;

/// The report as JUnit XML.
pub fn junit(report: &Report) -> String {
    let counts = report.counts();
    let rules = report.rules();
    let rule_count = |v: Verdict| rules.iter().filter(|r| r.verdict == v).count();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"proton-vcr conform\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\">",
        counts.total() + rules.len(),
        counts.differs + rule_count(Verdict::Broken),
        counts.failed,
        counts.not_run + rule_count(Verdict::NotTested)
    );
    let _ = writeln!(
        out,
        "  <testsuite name=\"rules\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\">",
        rules.len(),
        rule_count(Verdict::Broken),
        rule_count(Verdict::NotTested)
    );
    for rule in &rules {
        let _ = write!(
            out,
            "    <testcase classname=\"rules.{}\" name=\"{}\"",
            escape(&rule.id),
            escape(&rule.operation)
        );
        match rule.verdict {
            Verdict::Holds => out.push_str("/>\n"),
            Verdict::NotTested => {
                out.push_str(">\n      <skipped message=\"not tested\"/>\n    </testcase>\n")
            }
            Verdict::Broken => {
                let mut text = String::new();
                for (place, d) in &rule.breaks {
                    let _ = writeln!(
                        text,
                        "{place}: {} ({}): recorded {}, target {}",
                        d.path,
                        d.kind.describe(),
                        short(&d.recorded, 200),
                        short(&d.target, 200)
                    );
                }
                for place in &rule.unanswered {
                    let _ = writeln!(text, "{place}: no answer, or not run");
                }
                let _ = writeln!(
                    out,
                    ">\n      <failure type=\"rule-broken\" message=\"{}\">{}</failure>\n    </testcase>",
                    escape(describe(&rule.id).unwrap_or("rule broken")),
                    escape(&text)
                );
            }
        }
    }
    out.push_str("  </testsuite>\n");
    for cassette in &report.cassettes {
        let count = |o: Outcome| cassette.steps.iter().filter(|s| s.outcome == o).count();
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" file=\"{}\">",
            escape(&cassette.name),
            cassette.steps.len(),
            count(Outcome::Differs),
            count(Outcome::Failed),
            count(Outcome::NotRun),
            escape(&cassette.path)
        );
        for step in &cassette.steps {
            test_case(&cassette.name, step, &mut out);
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

fn test_case(cassette: &str, step: &StepReport, out: &mut String) {
    let _ = write!(
        out,
        "    <testcase classname=\"{}\" name=\"{}\"",
        escape(cassette),
        escape(&format!("{}: {}", step.label(), step.operation))
    );
    match step.outcome {
        Outcome::Conforms => out.push_str("/>\n"),
        Outcome::Accepted => {
            out.push_str(">\n      <system-out>");
            for difference in &step.differences {
                let _ = writeln!(
                    out,
                    "{}",
                    escape(&format!(
                        "accepted deviation at {}: {}",
                        difference.path,
                        difference.accepted.as_deref().unwrap_or_default()
                    ))
                );
            }
            out.push_str("</system-out>\n    </testcase>\n");
        }
        Outcome::Differs => {
            let paths = step.new_paths().join(", ");
            let _ = writeln!(
                out,
                ">\n      <failure type=\"differs\" message=\"{}\">{}</failure>\n    </testcase>",
                escape(&format!("differs at {paths}")),
                escape(&step.diff)
            );
        }
        Outcome::Failed => {
            let _ = writeln!(
                out,
                ">\n      <error type=\"no-answer\" message=\"{}\"/>\n    </testcase>",
                escape(step.failure.as_deref().unwrap_or_default())
            );
        }
        Outcome::NotRun => {
            let _ = writeln!(
                out,
                ">\n      <skipped message=\"{}\"/>\n    </testcase>",
                escape(step.failure.as_deref().unwrap_or_default())
            );
        }
    }
}

/// Escapes text for an attribute or element, dropping characters XML 1.0
/// cannot hold at all.
pub(super) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}
