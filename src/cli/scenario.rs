//! `proton-vcr scenario`: list the idempotency scenarios and run them
//! against an endpoint.

use super::conform::AdminArgs;
use crate::conformance::scenario::{self, Scenario, run_scenario};
use crate::conformance::{TerminalProgress, UrlTarget};
use anyhow::Context;
use clap::{Args, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// List the idempotency scenarios, or run them against an endpoint
///
/// A scenario (conformance/scenarios/<group>/<operation-kebab>--<rule>.json)
/// is one rule of the idempotency contract written as calls, polls and waits.
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct ScenarioArgs {
    #[command(subcommand)]
    pub command: ScenarioCommand,
}

#[derive(Debug, Subcommand)]
pub enum ScenarioCommand {
    /// List scenarios: group, operation, rule, steps and file.
    List(ListArgs),
    Run(RunArgs),
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Scenario files, or folders whose *.json files are all listed. Default: conformance/scenarios/.
    #[arg(value_name = "SCENARIO|DIR")]
    pub scenarios: Vec<PathBuf>,
}

/// Run scenarios against an endpoint and check each step goes as written
///
/// Scenarios run in order; each stops at its first step that does not go as
/// written: a call that fails unexpectedly, an expected error that does not
/// come, a poll that times out.
///
/// Waits and polls take real time unless the endpoint has a clock
/// (--clock-url, or --target-admin mock for `proton-vcr mock`); a progress
/// line on a terminal shows what is being waited for.
///
/// Exit status: 0 every scenario went as written, 1 some did not, 2 bad input.
///
/// Example:
///   proton-vcr scenario run --endpoint http://127.0.0.1:4750 --target-admin mock
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct RunArgs {
    /// The http:// endpoint to send the calls to (a mock, or a recording proxy).
    #[arg(long, value_name = "URL")]
    pub endpoint: String,

    #[command(flatten)]
    pub admin: AdminArgs,

    /// Scenario files, or folders whose *.json files are all run. Default: conformance/scenarios/.
    #[arg(value_name = "SCENARIO|DIR")]
    pub scenarios: Vec<PathBuf>,
}

const DEFAULT_SCENARIOS: &str = "conformance/scenarios";

pub async fn run(args: ScenarioArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        ScenarioCommand::List(args) => list(args),
        ScenarioCommand::Run(args) => run_all(args).await,
    }
}

fn load(paths: &[PathBuf]) -> anyhow::Result<Vec<Scenario>> {
    if paths.is_empty() {
        return scenario::load(DEFAULT_SCENARIOS.as_ref()).with_context(|| {
            format!("no scenarios named, and {DEFAULT_SCENARIOS}/ cannot be read: run from the repository root or name scenario files or folders")
        });
    }
    let mut all = Vec::new();
    for path in paths {
        all.extend(scenario::load(path)?);
    }
    Ok(all)
}

fn list(args: ListArgs) -> anyhow::Result<ExitCode> {
    let scenarios = load(&args.scenarios)?;
    let width = |f: &dyn Fn(&Scenario) -> usize, title: &str| {
        scenarios.iter().map(f).max().unwrap_or(0).max(title.len())
    };
    let g = width(&|s| s.group.len(), "GROUP");
    let o = width(&|s| s.operation.len(), "OPERATION");
    let r = width(&|s| s.rule.len(), "RULE");
    println!(
        "{:<g$}  {:<o$}  {:<r$}  {:>5}  FILE",
        "GROUP", "OPERATION", "RULE", "STEPS"
    );
    for s in &scenarios {
        println!(
            "{:<g$}  {:<o$}  {:<r$}  {:>5}  {}",
            s.group,
            s.operation,
            s.rule,
            s.steps.len(),
            s.path.display()
        );
    }
    println!(
        "{} scenario{}",
        scenarios.len(),
        if scenarios.len() == 1 { "" } else { "s" }
    );
    Ok(ExitCode::SUCCESS)
}

async fn run_all(args: RunArgs) -> anyhow::Result<ExitCode> {
    let scenarios = load(&args.scenarios)?;
    let target = UrlTarget::new(&args.endpoint, args.admin.urls(&args.endpoint))
        .map_err(anyhow::Error::msg)
        .context("--endpoint")?;
    let mut progress = TerminalProgress::for_stderr();
    progress.begin(scenarios.iter().map(|s| s.steps.len()).sum());
    let mut failed = 0;
    for scenario in &scenarios {
        let run = run_scenario(scenario, &target, progress.as_mut())
            .await
            .with_context(|| {
                format!(
                    "{}: the endpoint's admin URL failed",
                    scenario.path.display()
                )
            })?;
        progress.finish();
        let calls: usize = run.steps.iter().map(|s| s.calls).sum();
        if run.passed() {
            println!(
                "ok    {} ({} steps, {calls} calls)",
                scenario.name,
                run.steps.len()
            );
            continue;
        }
        failed += 1;
        println!("FAIL  {} ({})", scenario.name, scenario.path.display());
        for step in &run.steps {
            let mark = if step.ok { "ok" } else { "!!" };
            println!(
                "      {mark} step {}: {}: {}",
                step.step, step.label, step.result
            );
        }
    }
    println!(
        "{} scenario{}: {} went as written, {failed} did not",
        scenarios.len(),
        if scenarios.len() == 1 { "" } else { "s" },
        scenarios.len() - failed
    );
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
