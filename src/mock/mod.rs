//! AWS Proton, emulated: a stateful mock with the documented idempotency
//! semantics, for tests and for the conformance suite.
//!
//! ```text
//! request ──> [signature] ──> admin (/__mock/...) or router ──> model validation
//!         ──> lock state, settle at the mock's now ──> operation ──> AWS-shaped response
//! ```
//!
//! - [`router`] reads the AWS JSON 1.0 envelope; [`crate::model`] validates
//!   the input against the service model; [`ops`] runs the operation on the
//!   pure [`state`]; [`errors`] is the one place errors become AWS answers.
//! - Time is the mock's own [`clock`]: lifecycles (registration, deployment,
//!   deletion) and client-token expiry are computed from it when a request
//!   arrives, never by timers, so the admin API can jump it.
//! - One mutex guards the clock and the state: concurrent retries with the
//!   same client token or the same name create exactly one resource.
//!   Before validation the state may also be locked for a moment to ask
//!   for the memory the operation reads first ([`ops::prefetch`], hints
//!   only), so that waiting for it overlaps the validation.
//!
//! [`Mock`] is a [`Handler`]: call it in-process, or serve it with
//! [`MockServer`]. docs/mock.md lists what is emulated and every assumption.

mod admin;
mod bundles;
mod clock;
mod errors;
mod faults;
mod history;
mod ops;
mod router;
mod server;
mod state;

pub use bundles::{BundleMap, parse_mapping as parse_bundle_mapping};
pub use clock::{ClockMode, MANUAL_EPOCH_MS};
pub use errors::IDEMPOTENT_PARAMETER_MISMATCH;
pub use faults::{CallError, FailurePoint};
pub use ops::{DOCUMENTED_OMISSIONS, EMULATED_OPERATIONS, documented_omission};
pub use server::MockServer;

use crate::http::{Handler, Limits, Request, Response};
use crate::model::{Model, ValidationKind};
use crate::sigv4::ClientKey;
use clock::Clock;
use errors::MockError;
use http::StatusCode;
use serde_json::{Value, json};
use state::State;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// How long the mock's lifecycles take, on the mock's clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Durations {
    /// A template version: REGISTRATION_IN_PROGRESS, then DRAFT.
    pub template_registration: Duration,
    /// An environment deployment: IN_PROGRESS, then SUCCEEDED.
    pub environment_deployment: Duration,
    /// A service: CREATE_IN_PROGRESS (or UPDATE_IN_PROGRESS), then ACTIVE;
    /// its service instances and pipeline deploy in the same time.
    pub service_creation: Duration,
    /// An environment or service: DELETE_IN_PROGRESS, then gone.
    pub deletion: Duration,
}

impl Durations {
    /// Every lifecycle takes `duration`.
    pub fn all(duration: Duration) -> Self {
        Self {
            template_registration: duration,
            environment_deployment: duration,
            service_creation: duration,
            deletion: duration,
        }
    }
}

impl Default for Durations {
    /// Two seconds each: short enough for waiters to finish quickly.
    fn default() -> Self {
        Self::all(Duration::from_secs(2))
    }
}

/// Everything that shapes the mock's behaviour.
#[derive(Clone, Debug)]
pub struct MockConfig {
    /// Region in ARNs (default `us-east-1`).
    pub region: String,
    /// Account in ARNs (default `123456789012`).
    pub account_id: String,
    pub clock: ClockMode,
    pub durations: Durations,
    /// How long a retried idempotent delete returns the deleted resource's
    /// metadata; `{}` after that (default one hour).
    pub tombstone_retention: Duration,
    /// How long a client token is remembered (default eight hours).
    pub token_expiry: Duration,
    /// When set, every AWS request must carry a SigV4 signature made with
    /// this access key id and secret key.
    pub verify_signatures: Option<ClientKey>,
    /// Template bundles: `s3://bucket/key` -> a local `.tar.gz` or folder
    /// that registration reads (more can be added through the admin API).
    pub bundles: BundleMap,
    /// Where [`MockServer`] listens (default `127.0.0.1:0`, a free port).
    pub listen: SocketAddr,
    /// Allow a `listen` address beyond loopback: anyone who reaches the mock
    /// can read and reset its state.
    pub allow_remote: bool,
    /// The serve loop's body size and timeout limits.
    pub limits: Limits,
}

impl Default for MockConfig {
    fn default() -> Self {
        Self {
            region: "us-east-1".to_string(),
            account_id: "123456789012".to_string(),
            clock: ClockMode::Real,
            durations: Durations::default(),
            tombstone_retention: Duration::from_secs(3600),
            token_expiry: Duration::from_secs(8 * 3600),
            verify_signatures: None,
            bundles: BundleMap::default(),
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            allow_remote: false,
            limits: Limits::default(),
        }
    }
}

struct Inner {
    clock: Clock,
    state: State,
}

/// The emulator. All state sits behind one mutex.
pub struct Mock {
    config: MockConfig,
    inner: Mutex<Inner>,
    /// The configured bundle mappings plus those added through the admin API.
    bundles: Mutex<BundleMap>,
    request_ids: RequestIds,
}

/// `x-amzn-RequestId`s: UUIDs (version 4 in form) that never repeat within
/// a mock, made without a system call per answer. Only the seed is random:
/// a request id identifies an answer, it guards nothing.
struct RequestIds {
    seed: [u64; 2],
    next: AtomicU64,
}

impl RequestIds {
    fn new() -> Self {
        let seed = uuid::Uuid::new_v4().as_u64_pair();
        Self {
            seed: [seed.0, seed.1],
            next: AtomicU64::new(0),
        }
    }

    /// The next id, hyphenated, lower case.
    fn next<'b>(&self, buffer: &'b mut [u8]) -> &'b str {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        // splitmix64's finaliser is a bijection, so distinct counters give
        // distinct halves.
        let mix = |seed: u64| {
            let mut z = seed.wrapping_add(n.wrapping_mul(0x9e37_79b9_7f4a_7c15));
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        };
        let bits = (u128::from(mix(self.seed[0])) << 64) | u128::from(mix(self.seed[1]));
        uuid::Builder::from_random_bytes(bits.to_be_bytes())
            .into_uuid()
            .hyphenated()
            .encode_lower(buffer)
    }
}

impl Mock {
    pub fn new(config: MockConfig) -> Self {
        let inner = Inner {
            clock: Clock::new(config.clock),
            state: State::default(),
        };
        Self {
            bundles: Mutex::new(config.bundles.clone()),
            config,
            inner: Mutex::new(inner),
            request_ids: RequestIds::new(),
        }
    }

    pub fn config(&self) -> &MockConfig {
        &self.config
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // State is only changed by whole operations that cannot panic halfway
        // on input, so a poisoned lock still guards consistent state.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Forgets every resource, token and tombstone; the clock goes back to its start.
    pub fn reset(&self) {
        let mut inner = self.lock();
        inner.clock = Clock::new(self.config.clock);
        inner.state = State::default();
        *self.bundles_lock() = self.config.bundles.clone();
    }

    fn bundles_lock(&self) -> MutexGuard<'_, BundleMap> {
        self.bundles
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Maps `s3://bucket/key` to a local `.tar.gz` or folder: registering a
    /// template version from that object reads it. `Err` says what is wrong
    /// with the URI.
    pub fn map_bundle(
        &self,
        s3_uri: &str,
        path: impl Into<std::path::PathBuf>,
    ) -> Result<(), String> {
        bundles::check_uri(s3_uri)?;
        self.bundles_lock().insert(s3_uri.to_string(), path.into());
        Ok(())
    }

    /// The bundle a template version registration names, read, when its
    /// S3 object is mapped (file IO, before the state is locked).
    fn read_bundle(&self, operation: &str, input: &Value) -> Option<bundles::BundleRead> {
        let kind = match operation {
            "CreateEnvironmentTemplateVersion" => state::TemplateKind::Environment,
            "CreateServiceTemplateVersion" => state::TemplateKind::Service,
            _ => return None,
        };
        let s3 = input.get("source")?.get("s3")?;
        let (bucket, key) = (s3.get("bucket")?.as_str()?, s3.get("key")?.as_str()?);
        let path = self.bundles_lock().get(bucket, key)?.to_path_buf();
        Some(bundles::read(&path, kind))
    }

    /// Moves the clock to `ms_since_start` milliseconds after its start.
    /// The clock only moves forwards: an earlier instant leaves it as it is.
    pub fn set_clock_ms(&self, ms_since_start: u64) {
        self.lock().clock.set_ms(ms_since_start);
    }

    pub fn advance_clock_ms(&self, ms: u64) {
        self.lock().clock.advance_ms(ms);
    }

    /// Milliseconds since the clock's start.
    pub fn clock_ms(&self) -> u64 {
        self.lock().clock.elapsed_ms()
    }

    /// `{"clock_ms": .., "now_epoch_ms": ..}`.
    pub fn clock_json(&self) -> Value {
        let inner = self.lock();
        json!({"clock_ms": inner.clock.elapsed_ms(), "now_epoch_ms": inner.clock.now_epoch_ms()})
    }

    /// Every resource, as the operations would return it, with the clock.
    pub fn state_json(&self) -> Value {
        let mut inner = self.lock();
        let now = inner.clock.now_epoch_ms();
        inner.state.settle(now);
        let mut out = ops::dump(&inner.state);
        out["clock_ms"] = inner.clock.elapsed_ms().into();
        out["now_epoch_ms"] = now.into();
        out
    }

    /// Makes the next registration, deployment or delete of the resource at
    /// `arn` fail with `message` (for a registration, `arn` is a template
    /// version's, or a template's for its next version).
    pub fn fail_next(&self, arn: &str, point: FailurePoint, message: &str) {
        self.lock()
            .state
            .faults
            .fail_next(arn.to_string(), point, message.to_string());
    }

    /// Makes the next `count` calls of `operation` answer `error`; refused
    /// (with the reason) when the model does not declare that error for
    /// that operation, since no client expects it there.
    pub fn fail_calls(
        &self,
        operation: &str,
        error: CallError,
        count: u32,
        message: Option<&str>,
    ) -> Result<(), String> {
        let declared = Model::proton().operation_errors(operation);
        if !declared.contains(&error.code()) {
            return Err(format!(
                "{operation} {}; the model declares {} for it",
                if Model::proton().has_operation(operation) {
                    format!("does not declare {}", error.code())
                } else {
                    "is not an operation of AWS Proton".to_string()
                },
                declared.join(", ")
            ));
        }
        self.lock().state.faults.fail_calls(
            operation.to_string(),
            error,
            count,
            message.map(str::to_string),
        );
        Ok(())
    }

    /// Sets the outputs of the current deployment of the resource at `arn`;
    /// false when no deployable resource has that ARN.
    pub fn set_outputs(&self, arn: &str, outputs: &Value) -> bool {
        let mut inner = self.lock();
        let now = inner.clock.now_epoch_ms();
        inner.state.settle(now);
        ops::deployments::set_outputs(&mut inner.state, arn, outputs)
    }

    /// Sets what ListXProvisionedResources answers for the resource at `arn`.
    pub fn set_provisioned_resources(&self, arn: &str, resources: Vec<Value>) {
        self.lock()
            .state
            .provisioned_resources
            .insert(arn.to_string(), resources);
    }

    /// Under `--verify-signatures`, whether `request` is signed with the key.
    fn verify(&self, request: &Request) -> Result<(), MockError> {
        if let Some(key) = &self.config.verify_signatures {
            crate::sigv4::verify_request(request, &key.access_key_id, &key.secret_access_key)
                .map_err(MockError::from_signature)?;
        }
        Ok(())
    }

    fn answer(&self, request: &Request) -> Result<ops::Output, MockError> {
        self.verify(request)?;
        let (operation, input) = router::decode(request)?;
        // The state's lines the operation reads first are asked for now, so
        // that the waits for them overlap the validation below.
        if let Some(prefetch) = ops::prefetch(operation, &input) {
            prefetch(&self.lock().state);
        }
        let model = Model::proton();
        if !model.has_operation(operation) {
            return Err(MockError::UnknownOperation(format!(
                "{operation} is not an operation of AWS Proton"
            )));
        }
        model
            .validate_input(operation, &input)
            .map_err(|error| match error.kind {
                // A body that does not fit the shapes' types is unreadable
                // to AWS's JSON front end, not a constraint violation.
                ValidationKind::Serialization => {
                    MockError::Serialization(validation_message(&error))
                }
                ValidationKind::UnknownOperation => {
                    MockError::UnknownOperation(validation_message(&error))
                }
                ValidationKind::Constraint => MockError::Validation(validation_message(&error)),
            })?;
        let bundle = self.read_bundle(operation, &input);
        let mut inner = self.lock();
        let now = inner.clock.now_epoch_ms();
        inner.state.settle(now);
        if let Some((error, message)) = inner.state.faults.take_call(operation) {
            return Err(match error {
                CallError::Throttling => {
                    MockError::Throttling(message.unwrap_or_else(|| "Rate exceeded".to_string()))
                }
                CallError::ServiceQuotaExceeded => {
                    MockError::ServiceQuotaExceeded(message.unwrap_or_else(|| {
                        format!("{operation} would exceed a service quota of this account")
                    }))
                }
            });
        }
        let ctx = ops::Ctx {
            now,
            config: &self.config,
            bundle: bundle.as_ref(),
        };
        ops::dispatch(operation, &mut inner.state, &ctx, &input)
            .unwrap_or_else(|| Err(MockError::NotEmulated(operation.to_string())))
    }
}

/// AWS names the member in a ValidationException's message.
fn validation_message(error: &crate::model::ValidationError) -> String {
    if error.message.contains(&error.member) {
        error.message.clone()
    } else {
        format!("{}: {}", error.member, error.message)
    }
}

impl Handler for Mock {
    async fn handle(&self, request: Request) -> Response {
        if request.uri.path().starts_with(admin::PREFIX) {
            // The admin routes reset state and move the clock: under
            // --verify-signatures they need a signature like any call.
            if let Err(error) = self.verify(&request) {
                return error.to_aws().to_response();
            }
            return admin::handle(self, &request);
        }
        let mut buffer = uuid::Uuid::encode_buffer();
        let request_id = self.request_ids.next(&mut buffer);
        match self.answer(&request) {
            Ok(output) => {
                let mut response = match output {
                    ops::Output::Tree(tree) => Response::json(StatusCode::OK, &tree),
                    ops::Output::Text(text) => Response::json_text(StatusCode::OK, text),
                };
                response.set_header("x-amzn-requestid", request_id);
                response
            }
            Err(error) => error.to_aws().to_response_with_id(request_id),
        }
    }
}
