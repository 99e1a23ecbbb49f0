//! `proton-vcr conform`.

use anyhow::Context;
use clap::{Args, ValueEnum};
use proton_vcr::cassette::{self, LoadedCassette};
use proton_vcr::conformance::InProcessTarget;
use proton_vcr::conformance::reference;
use proton_vcr::conformance::report::{self, TextOptions};
use proton_vcr::conformance::{
    AdminUrls, ConformOptions, Deviations, NormalizeRules, RunVerdict, Target, TerminalProgress,
    Timeline, UrlTarget, UserRule, conform, human_duration,
};
use proton_vcr::mock::{ClockMode, Mock, MockConfig};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

/// Check how faithful a mock is against recorded cassettes
///
/// Replays each cassette's requests against the target, normalises both
/// sides, diffs them, and reports. Each cassette starts from a fresh state (when the target can reset) and
/// follows its recorded timeline (the target's clock is moved to each step's
/// elapsed_ms). Generated ids, timestamps, account ids and regions are
/// replaced by placeholders that keep identity (<id:1>, <timestamp:2>), so a
/// retry that returns the original resource is still checked. Consecutive
/// identical Get requests (waiter loops) are compared as the states they saw.
///
/// Each reference cassette tests one rule of Proton's idempotency contract
/// (AWS Proton API Reference, "Ensuring Idempotency") for one operation; the
/// report leads with the verdict of every rule by operation (holds, BROKEN,
/// not tested), then the collateral differences that break no rule.
///
/// Exit status:
///   0  every rule holds and nothing else differs (or only as accepted)
///   1  a rule of the contract is broken, or the target did not answer
///   2  bad input (unreadable cassette, deviations or rules file, bad flags,
///      a target whose reset or clock fails)
///   3  every tested rule holds, but collateral differences remain
///
/// Examples:
///   proton-vcr conform                                  every cassette under cassettes/ against the built-in mock
///   proton-vcr conform cassettes/proton/idempotent-delete --target http://127.0.0.1:4566
///   proton-vcr conform --report junit=out/conform.xml --report html=out/conform.html
///   proton-vcr conform --target https://127.0.0.1:8443 --target-ca ca.pem --target-admin mock
///   proton-vcr conform --suggest-deviations              also print ready-to-paste deviation entries
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct ConformArgs {
    /// Cassette files, or folders whose *.json files (at any depth) are all run.
    /// Default: cassettes/ here, else the reference cassettes built into proton-vcr
    /// (with their accepted deviations).
    #[arg(value_name = "CASSETTE|DIR")]
    pub cassettes: Vec<PathBuf>,

    /// What to check: `mock` (the built-in Proton mock, in-process, with a
    /// driven clock) or the http:// or https:// URL of any other mock or
    /// emulator (--target-ca for a private CA).
    #[arg(long, value_name = "mock|URL", default_value = "mock")]
    pub target: String,

    #[command(flatten)]
    pub admin: AdminArgs,

    /// On a target without a clock, send the steps back to back instead of
    /// waiting in real time for the recorded timeline (steps that depend on
    /// time, such as a token expiring after 8 hours, will then likely differ).
    #[arg(long)]
    pub no_wait: bool,

    /// Accepted deviations (format proton-vcr.deviations/2). The default file
    /// is optional; a file named here must exist.
    #[arg(long, value_name = "FILE")]
    pub deviations: Option<PathBuf>,

    /// Write a report: FORMAT is text, json, junit or html; PATH `-` is
    /// stdout. Repeatable. Without a report to stdout, the text report is
    /// printed there.
    #[arg(long = "report", value_name = "FORMAT=PATH", value_parser = ReportSpec::parse)]
    pub reports: Vec<ReportSpec>,

    /// A normalisation rules file (format proton-vcr.normalize/1) with extra
    /// values to replace by placeholders. Repeatable.
    #[arg(long = "rules", value_name = "FILE")]
    pub rules: Vec<PathBuf>,

    /// An extra normalisation rule, SELECTOR=KIND: a member name
    /// (`deploymentId=id`), a JSON path (`$.environment.spec=spec`, `[*]`
    /// for any item) or a regex between slashes (`/build-[0-9]+/=build`). Repeatable.
    #[arg(long = "normalize", value_name = "SELECTOR=KIND", value_parser = UserRule::parse)]
    pub normalize: Vec<UserRule>,

    /// Colour the text report on stdout.
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    pub color: Color,

    /// Exit 3 (when nothing worse happened) if an accepted deviation no
    /// longer happens.
    #[arg(long)]
    pub fail_on_stale: bool,

    /// Print a ready-to-paste deviation entry for each new difference (text,
    /// JSON and HTML reports). Accept only what the evidence supports.
    #[arg(long)]
    pub suggest_deviations: bool,
}

/// How a URL target is reset and its clock moved; shared by `conform` and
/// `scenario run`.
#[derive(Debug, Args)]
pub struct AdminArgs {
    /// Admin routes the URL target offers: `none`, or `mock` for those of
    /// `proton-vcr mock` (POST /__mock/reset, POST /__mock/clock {"set_ms": N}),
    /// which other emulators may mimic. --reset-url and --clock-url override.
    #[arg(long, value_enum, default_value_t = TargetAdmin::None)]
    pub target_admin: TargetAdmin,

    /// URL the target resets at (POST, empty body); each cassette or scenario
    /// then starts from a fresh state.
    #[arg(long, value_name = "URL")]
    pub reset_url: Option<String>,

    /// URL that sets the target's clock (POST {"set_ms": N}, N ms after the
    /// last reset); the recorded timeline then replays instantly.
    #[arg(long, value_name = "URL")]
    pub clock_url: Option<String>,

    /// PEM file of CA certificates to trust, beside the public roots, for an
    /// https:// target with a private or self-signed certificate.
    #[arg(long, value_name = "FILE")]
    pub target_ca: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TargetAdmin {
    None,
    Mock,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Color {
    Auto,
    Always,
    Never,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportFormat {
    Text,
    Json,
    Junit,
    Html,
}

#[derive(Clone, Debug)]
pub struct ReportSpec {
    pub format: ReportFormat,
    pub path: PathBuf,
}

impl ReportSpec {
    fn parse(text: &str) -> Result<Self, String> {
        let (format, path) = text.split_once('=').ok_or_else(|| {
            format!("`{text}` is not FORMAT=PATH (e.g. junit=out/conform.xml, json=-)")
        })?;
        let format = match format {
            "text" => ReportFormat::Text,
            "json" => ReportFormat::Json,
            "junit" => ReportFormat::Junit,
            "html" => ReportFormat::Html,
            other => {
                return Err(format!(
                    "unknown report format `{other}`; use text, json, junit or html"
                ));
            }
        };
        if path.is_empty() {
            return Err(format!("`{text}` names no file; use `-` for stdout"));
        }
        Ok(Self {
            format,
            path: PathBuf::from(path),
        })
    }

    fn to_stdout(&self) -> bool {
        self.path.as_os_str() == "-"
    }
}

impl AdminArgs {
    pub fn urls(&self, base: &str) -> AdminUrls {
        let mut urls = match self.target_admin {
            TargetAdmin::None => AdminUrls::default(),
            TargetAdmin::Mock => AdminUrls::builtin_mock(base),
        };
        if let Some(url) = &self.reset_url {
            urls.reset = Some(url.clone());
        }
        if let Some(url) = &self.clock_url {
            urls.clock = Some(url.clone());
        }
        urls
    }
}

const DEFAULT_CASSETTES: &str = "cassettes";
const DEFAULT_DEVIATIONS: &str = "conformance/deviations.json";
/// A rule of the contract is broken (or the target did not answer).
const EXIT_RULE_BROKEN: u8 = 1;
/// Every tested rule holds; collateral differences remain.
const EXIT_COLLATERAL: u8 = 3;

pub async fn run(args: ConformArgs) -> anyhow::Result<ExitCode> {
    let builtin = args.cassettes.is_empty() && !Path::new(DEFAULT_CASSETTES).is_dir();
    let cassettes = load_cassettes(&args.cassettes)?;
    let mut deviations = load_deviations(args.deviations.as_deref(), builtin)?;
    let mut rules = NormalizeRules::proton();
    for file in &args.rules {
        rules.add_file(file)?;
    }
    for rule in args.normalize.iter().cloned() {
        rules.add(rule);
    }
    let target = make_target(&args)?;
    let timeline = if args.no_wait {
        Timeline::Compressed
    } else {
        Timeline::Follow
    };
    warn_about_real_time(target.as_ref(), timeline, &cassettes);
    let options = ConformOptions {
        rules,
        timeline,
        suggest_deviations: args.suggest_deviations,
        ..ConformOptions::default()
    };
    let mut progress = TerminalProgress::for_stderr();
    let started = std::time::Instant::now();
    let report = conform(
        &cassettes,
        target.as_ref(),
        &mut deviations,
        &options,
        progress.as_mut(),
    )
    .await?;
    let steps: usize = cassettes
        .iter()
        .map(|c| c.cassette.interactions.len())
        .sum();
    let elapsed = started.elapsed();
    tracing::info!(
        cassettes = cassettes.len(),
        steps,
        elapsed_ms = elapsed.as_millis() as u64,
        "conformance run done against {}",
        report.target
    );
    write_reports(&args, &report)?;
    let stale_fails = args.fail_on_stale && !report.stale.is_empty();
    Ok(match report.run_verdict() {
        RunVerdict::RuleBroken => ExitCode::from(EXIT_RULE_BROKEN),
        RunVerdict::CollateralOnly => ExitCode::from(EXIT_COLLATERAL),
        RunVerdict::Conforms if stale_fails => ExitCode::from(EXIT_COLLATERAL),
        RunVerdict::Conforms => ExitCode::SUCCESS,
    })
}

/// The cassettes named, else `cassettes/` here, else the reference cassettes
/// built into the binary.
fn load_cassettes(paths: &[PathBuf]) -> anyhow::Result<Vec<LoadedCassette>> {
    if paths.is_empty() {
        let default = Path::new(DEFAULT_CASSETTES);
        if !default.is_dir() {
            tracing::info!(
                "no {DEFAULT_CASSETTES}/ folder here: checking the {} reference cassettes built into proton-vcr",
                reference::count()
            );
            return Ok(reference::cassettes()?);
        }
        return Ok(cassette::load(default)?);
    }
    let mut all = Vec::new();
    for path in paths {
        all.extend(cassette::load(path)?);
    }
    Ok(all)
}

/// The deviations file named, else `conformance/deviations.json` here, else
/// (when the built-in reference cassettes run) the built-in deviations.
fn load_deviations(path: Option<&Path>, builtin: bool) -> anyhow::Result<Deviations> {
    match path {
        Some(path) => Ok(Deviations::load(path)?),
        None if Path::new(DEFAULT_DEVIATIONS).is_file() => {
            Ok(Deviations::load(Path::new(DEFAULT_DEVIATIONS))?)
        }
        None if builtin => Ok(reference::deviations()?),
        None => Ok(Deviations::default()),
    }
}

fn make_target(args: &ConformArgs) -> anyhow::Result<Box<dyn Target>> {
    if args.target == "mock" {
        return builtin_mock();
    }
    let target = UrlTarget::with_ca(
        &args.target,
        args.admin.urls(&args.target),
        args.admin.target_ca.as_deref(),
    )
    .map_err(anyhow::Error::msg)
    .context("--target")?;
    Ok(Box::new(target))
}

/// The built-in mock as an in-process target: `InProcessTarget::with_hooks`
/// over the mock with a manual clock, its reset and its clock setter.
fn builtin_mock() -> anyhow::Result<Box<dyn Target>> {
    let mock = Mock::new(MockConfig {
        clock: ClockMode::Manual,
        ..MockConfig::default()
    });
    Ok(Box::new(InProcessTarget::with_hooks(
        "built-in mock",
        Arc::new(mock),
        |mock: &Mock| mock.reset(),
        |mock: &Mock, ms| mock.set_clock_ms(ms),
    )))
}

fn warn_about_real_time(target: &dyn Target, timeline: Timeline, cassettes: &[LoadedCassette]) {
    if target.has_clock() || timeline == Timeline::Compressed {
        return;
    }
    let longest = cassettes
        .iter()
        .filter_map(|c| c.cassette.interactions.last().map(|i| i.elapsed_ms))
        .max()
        .unwrap_or(0);
    let total: u64 = cassettes
        .iter()
        .filter_map(|c| c.cassette.interactions.last().map(|i| i.elapsed_ms))
        .sum();
    if total > 60_000 {
        tracing::warn!(
            "{} has no clock, so the recorded timeline is followed in real time: about {} in all (the longest cassette {}); give --clock-url (or --target-admin mock), or --no-wait to send steps back to back",
            target.label(),
            human_duration(total),
            human_duration(longest)
        );
    }
}

fn write_reports(args: &ConformArgs, report: &report::Report) -> anyhow::Result<()> {
    let color = match args.color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    };
    let render = |format: ReportFormat, color: bool| match format {
        ReportFormat::Text => report::text(report, &TextOptions { color }),
        ReportFormat::Json => report::json(report),
        ReportFormat::Junit => report::junit(report),
        ReportFormat::Html => report::html(report),
    };
    let mut stdout_used = false;
    for spec in &args.reports {
        if spec.to_stdout() {
            print_stdout(&render(spec.format, color))?;
            stdout_used = true;
            continue;
        }
        if let Some(dir) = spec.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| {
                format!("cannot create the folder {} for a report", dir.display())
            })?;
        }
        std::fs::write(&spec.path, render(spec.format, false))
            .with_context(|| format!("cannot write the report {}", spec.path.display()))?;
    }
    if !stdout_used {
        print_stdout(&render(ReportFormat::Text, color))?;
    }
    Ok(())
}

fn print_stdout(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .context("cannot write the report to stdout")
}
