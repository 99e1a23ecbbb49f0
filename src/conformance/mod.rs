//! Conformance: is a mock faithful? Each cassette's requests are replayed
//! against a target, both sides' answers are normalised, diffed, narrowed by
//! what the cassette says the evidence leaves open (`expect`), judged
//! against the accepted deviations, and reported, rules first: the steps a
//! cassette marks as deciding a rule of the idempotency contract (`rules`)
//! give each rule and operation a verdict; every other difference is
//! collateral.
//!
//! ```text
//! cassette ──> run (reset, clock, send, waiter loops) ──> target (mock | URL)
//!                 │ recorded response        │ target response
//!                 └──> normalize ──> compare <┘──> expect ──> deviations ──> report/{text,json,junit,html}
//! ```
//!
//! `scenario` is the other direction: it drives the scenario definitions in
//! `conformance/scenarios/` against an endpoint, so they can be recorded.
//! IO happens at the edges only: `run` talks to the target, `scenario` reads
//! its files and talks to an endpoint, and two loaders read the files a user
//! names (`NormalizeRules::add_file`, `Deviations::load`); `today` reads the
//! clock (or `SOURCE_DATE_EPOCH`). Normalising, comparing, judging against
//! deviations and writing reports work on values in memory and do no IO.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use proton_vcr::conformance::{self, AdminUrls, ConformOptions, Deviations, Silent, UrlTarget};
//!
//! let cassettes = proton_vcr::cassette::load("cassettes".as_ref())?;
//! let target = UrlTarget::new("http://127.0.0.1:4566", AdminUrls::default())?;
//! let mut deviations = Deviations::default();
//! let report = conformance::conform(&cassettes, &target, &mut deviations, &ConformOptions::default(), &mut Silent).await?;
//! print!("{}", conformance::report::text(&report, &Default::default()));
//! # Ok(()) }
//! ```

mod compare;
mod deviations;
pub mod expect;
mod normalize;
mod progress;
pub mod reference;
pub mod report;
pub mod rules;
mod run;
pub mod scenario;
mod target;

pub use compare::{DiffKind, Difference, Observed, ObservedBody};
pub use deviations::{
    DEVIATIONS_FORMAT, Deviation, DeviationKind, Deviations, DeviationsError, StepRef, today,
};
pub use normalize::{JsonPathPattern, NormalizeRules, Normalizer, RuleError, UserRule};
pub use progress::{Progress, Silent, TerminalProgress, human_duration};
pub use report::{
    CassetteReport, CollateralGroup, Outcome, Report, RuleVerdict, RunVerdict, StepReport, Verdict,
    Waiter,
};
pub use run::{ConformOptions, RunError, Timeline, conform, group_steps};
pub use target::{AdminUrls, InProcessTarget, Target, TargetError, TargetFuture, UrlTarget};
