//! `proton-vcr scenario`: list the idempotency scenarios and run them
//! against an endpoint.

use super::conform::AdminArgs;
use super::record::{ForwardArgs, Mode};
use anyhow::Context;
use clap::{Args, Subcommand};
use proton_vcr::RecordServer;
use proton_vcr::conformance::scenario::{self, Scenario, run_scenario};
use proton_vcr::conformance::{TerminalProgress, UrlTarget};
use std::path::{Path, PathBuf};
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
    Record(Box<RecordArgs>),
}

/// Run scenarios through the recording proxy, one cassette per scenario
///
/// Each scenario gets its own recording proxy in front of --upstream (signed
/// with your AWS credentials, as `proton-vcr record` does) and its own
/// cassette: OUT/<group>/<operation>--<rule>.json. Asynchronous steps can
/// wait minutes on a real account; a progress line on a terminal shows what
/// is being waited for. The 8-hour token-expiry scenarios really wait 8 hours
/// unless the endpoint has a clock (--clock-url, --target-admin mock).
///
/// Exit status: 0 every scenario went as written, 1 some did not, 2 bad input.
///
/// Examples:
///   proton-vcr scenario record --profile sandbox --region us-east-1
///   proton-vcr scenario record --upstream http://127.0.0.1:4752 --target-admin mock --out /tmp/rec
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct RecordArgs {
    /// Folder the cassettes are written under.
    #[arg(long, value_name = "DIR", default_value = "cassettes/recorded")]
    pub out: PathBuf,

    /// What to do when a scenario's cassette exists already.
    #[arg(long, value_enum, default_value_t = Mode::New)]
    pub mode: Mode,

    #[command(flatten)]
    pub forward: ForwardArgs,

    #[command(flatten)]
    pub admin: AdminArgs,

    /// Scenario files, or folders whose *.json files are all recorded. Default: conformance/scenarios/.
    #[arg(value_name = "SCENARIO|DIR")]
    pub scenarios: Vec<PathBuf>,
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
        ScenarioCommand::Record(args) => record_all(*args).await,
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
        // Capped as the reports cap theirs: a longer value runs past its
        // column (and a format width past 65,535 is refused).
        scenarios
            .iter()
            .map(f)
            .max()
            .unwrap_or(0)
            .clamp(title.len(), proton_vcr::conformance::report::MAX_COLUMN)
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

/// Where a scenario's cassette goes: `out/<name>.json`, refusing names that
/// would leave `out` (scenario files come from anywhere).
pub(crate) fn cassette_path(out: &Path, name: &str) -> anyhow::Result<PathBuf> {
    let safe = !name.is_empty()
        && name.split('/').all(|part| {
            !part.is_empty()
                && part != "."
                && part != ".."
                && part
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        });
    if !safe {
        anyhow::bail!(
            "scenario name {name:?} cannot name a cassette file: use letters, digits, '-', '_', '.' and '/' between parts, without '..'"
        );
    }
    Ok(out.join(format!("{name}.json")))
}

async fn record_all(args: RecordArgs) -> anyhow::Result<ExitCode> {
    let scenarios = load(&args.scenarios)?;
    let paths = scenarios
        .iter()
        .map(|s| cassette_path(&args.out, &s.name).with_context(|| s.path.display().to_string()))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut progress = TerminalProgress::for_stderr();
    progress.begin(scenarios.iter().map(|s| s.steps.len()).sum());
    let mut failed = 0;
    for (scenario, path) in scenarios.iter().zip(&paths) {
        // A proxy of its own on a free loopback port (the config's default).
        let mut config = args.forward.clone().into_config(path.clone());
        config.mode = args.mode.into();
        config.name = Some(scenario.name.clone());
        let server = RecordServer::start(config)
            .await
            .with_context(|| format!("{}: cannot start the recording proxy", scenario.name))?;
        let admin_base = server.upstream().to_string();
        let target = UrlTarget::new(&server.url(), args.admin.urls(&admin_base))
            .map_err(anyhow::Error::msg)?;
        let run = run_scenario(scenario, &target, progress.as_mut()).await;
        server.shutdown().await;
        let run = run.with_context(|| {
            format!(
                "{}: the endpoint's admin URL failed",
                scenario.path.display()
            )
        })?;
        progress.finish();
        if run.passed() {
            println!("ok    {} -> {}", scenario.name, path.display());
        } else {
            failed += 1;
            println!(
                "FAIL  {} -> {} (recorded up to the failing step)",
                scenario.name,
                path.display()
            );
            for step in run.steps.iter().filter(|s| !s.ok) {
                println!(
                    "      !! step {}: {}: {}",
                    step.step, step.label, step.result
                );
            }
        }
    }
    println!(
        "{} scenario{} recorded under {}: {} went as written, {failed} did not",
        scenarios.len(),
        if scenarios.len() == 1 { "" } else { "s" },
        args.out.display(),
        scenarios.len() - failed
    );
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

async fn run_all(args: RunArgs) -> anyhow::Result<ExitCode> {
    let scenarios = load(&args.scenarios)?;
    let target = UrlTarget::with_ca(
        &args.endpoint,
        args.admin.urls(&args.endpoint),
        args.admin.target_ca.as_deref(),
    )
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

#[cfg(test)]
mod tests {
    use super::cassette_path;
    use std::path::Path;

    #[test]
    fn scenario_names_cannot_escape_the_output_folder() {
        let out = Path::new("out");
        assert_eq!(
            cassette_path(out, "idempotent-create/create-service--same-parameters").unwrap(),
            Path::new("out/idempotent-create/create-service--same-parameters.json")
        );
        for bad in [
            "../x",
            "a/../../x",
            "/etc/passwd",
            "a//b",
            "",
            "a\\b",
            "a/./b",
            "x\0y",
        ] {
            assert!(cassette_path(out, bad).is_err(), "{bad:?} must be refused");
        }
    }
}
