//! `proton-vcr mock`.

use super::{ServeArgs, default_listen};
use clap::Args;
use proton_vcr::ClientKey;
use proton_vcr::mock::{BundleMap, ClockMode, Durations, MockConfig, MockServer};
use std::process::ExitCode;
use std::time::Duration;

/// Run the AWS Proton emulator, with Proton's documented idempotency rules
///
/// A stateful mock for tests and offline work.
///
/// It emulates every operation of AWS Proton: templates and their versions,
/// environments, services with their pipelines and service instances,
/// deployments and their history, components, repositories, sync configs,
/// environment account connections, account settings, the resources summary
/// and tags. The admin
/// routes (/__mock/...) move its clock and inject failures. Lifecycles run on the mock's
/// clock (registration, deployment and deletion take 2 s each by default), so
/// waiters finish quickly. Everything is in memory and gone when it stops.
///
/// Point a client at it:
///   aws proton list-environment-templates --endpoint-url http://127.0.0.1:4752
///   AWS_ENDPOINT_URL_PROTON=http://127.0.0.1:4752 your-program
/// Any credentials do, unless --verify-signatures is given.
///
/// Admin routes (outside the AWS routes):
///   POST /__mock/reset                            forget everything, clock back to its start
///   GET  /__mock/state                            every resource, as JSON
///   GET  /__mock/clock                            {"clock_ms": .., "now_epoch_ms": ..}
///   POST /__mock/clock  {"advance_ms": N}         jump the clock forwards (e.g. past token expiry)
///   POST /__mock/clock  {"set_ms": N}             move it to N ms after its start (forwards only)
///   POST /__mock/bundles {"s3": "s3://b/k", "path": P}  registration from s3://b/k reads bundle P
///
/// docs/mock.md lists every assumption the mock makes about real Proton.
#[derive(Debug, Args)]
#[command(
    verbatim_doc_comment,
    mut_arg("listen", default_listen("127.0.0.1:4752"))
)]
pub struct MockArgs {
    #[command(flatten)]
    pub serve: ServeArgs,

    /// Accept connections from other hosts (anyone who reaches the mock can
    /// reset it and move its clock; combine with --verify-signatures).
    #[arg(long)]
    pub allow_remote: bool,

    /// Region used in ARNs.
    #[arg(long, value_name = "REGION", default_value = "us-east-1")]
    pub region: String,

    /// Account id used in ARNs (12 digits).
    #[arg(long, value_name = "ID", default_value = "123456789012", value_parser = parse_account)]
    pub account_id: String,

    /// Time the mock's clock keeps: `real` follows real time (plus admin jumps);
    /// `manual` starts at 2026-01-01T00:00:00Z and moves only through /__mock/clock.
    #[arg(long, value_enum, default_value_t = Clock::Real)]
    pub clock: Clock,

    /// Every lifecycle's duration in milliseconds; the flags below override it per lifecycle.
    #[arg(long, value_name = "MS", default_value_t = 2000)]
    pub durations: u64,

    /// Template version registration (REGISTRATION_IN_PROGRESS -> DRAFT), in ms.
    #[arg(long, value_name = "MS")]
    pub registration_ms: Option<u64>,

    /// Environment deployment (IN_PROGRESS -> SUCCEEDED), in ms.
    #[arg(long, value_name = "MS")]
    pub environment_deployment_ms: Option<u64>,

    /// Service creation or update, with its instances and pipeline (CREATE_IN_PROGRESS -> ACTIVE), in ms.
    #[arg(long, value_name = "MS")]
    pub service_creation_ms: Option<u64>,

    /// Environment and service deletion (DELETE_IN_PROGRESS -> gone), in ms.
    #[arg(long, value_name = "MS")]
    pub deletion_ms: Option<u64>,

    /// How long a retried delete still returns the deleted resource (then `{}`), in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 3600)]
    pub tombstone_retention_secs: u64,

    /// How long a client token is remembered, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 8 * 3600)]
    pub token_expiry_secs: u64,

    /// Require SigV4 signatures made with this access key id and secret key;
    /// wrong or missing signatures get the errors AWS sends.
    #[arg(long, value_name = "AKID:SECRET", value_parser = ClientKey::parse)]
    pub verify_signatures: Option<ClientKey>,

    /// Map an S3 template bundle to a local `.tar.gz` or folder
    /// (`s3://bucket/key=PATH`, repeatable): registering a template version
    /// from that object reads its schema, and a malformed bundle fails
    /// registration. Unmapped objects are not read.
    #[arg(long = "bundle", value_name = "S3_URI=PATH", value_parser = parse_bundle)]
    pub bundles: Vec<(String, std::path::PathBuf)>,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Clock {
    Real,
    Manual,
}

fn parse_account(text: &str) -> Result<String, String> {
    if text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit()) {
        Ok(text.to_string())
    } else {
        Err(format!(
            "'{text}' is not an AWS account id: it must be 12 digits"
        ))
    }
}

fn parse_bundle(text: &str) -> Result<(String, std::path::PathBuf), String> {
    proton_vcr::mock::parse_bundle_mapping(text)
}

impl MockArgs {
    pub fn config(&self) -> MockConfig {
        let ms = |flag: Option<u64>| Duration::from_millis(flag.unwrap_or(self.durations));
        MockConfig {
            region: self.region.clone(),
            account_id: self.account_id.clone(),
            clock: match self.clock {
                Clock::Real => ClockMode::Real,
                Clock::Manual => ClockMode::Manual,
            },
            durations: Durations {
                template_registration: ms(self.registration_ms),
                environment_deployment: ms(self.environment_deployment_ms),
                service_creation: ms(self.service_creation_ms),
                deletion: ms(self.deletion_ms),
            },
            tombstone_retention: Duration::from_secs(self.tombstone_retention_secs),
            token_expiry: Duration::from_secs(self.token_expiry_secs),
            verify_signatures: self.verify_signatures.clone(),
            bundles: {
                let mut map = BundleMap::default();
                for (uri, path) in &self.bundles {
                    map.insert(uri.clone(), path.clone());
                }
                map
            },
            listen: self.serve.listen,
            allow_remote: self.allow_remote,
            limits: self.serve.limits(),
        }
    }
}

pub async fn run(args: MockArgs) -> anyhow::Result<ExitCode> {
    let stop = super::shutdown_signal();
    let server = MockServer::start(args.config())
        .await
        .map_err(super::cannot_listen)?;
    super::announce(&server.url());
    tracing::info!(region = %args.region, account = %args.account_id, "AWS Proton mock ready");
    stop.await;
    server.shutdown().await;
    Ok(ExitCode::SUCCESS)
}
