//! Every Proton resource the mock holds, and how time moves them. Pure: no IO,
//! no clock reads, no randomness; whatever depends on time takes `now`
//! (milliseconds since the Unix epoch), and generated ids come from the caller.
//!
//! Lifecycles are lazy: a resource stores when its current phase ends, and
//! [`State::settle`] applies every transition that is due at `now` before a
//! request reads or changes anything. A queue ordered by due time keeps that
//! a single comparison when nothing is due, and the work proportional to
//! what is due, not to what is held.
//!
//! Besides the resources, the state remembers what idempotency needs: client
//! tokens (with the parameters they were first sent with, until they expire)
//! and tombstones of deleted resources (so a retried delete can succeed).

mod components;
mod instances;
mod repositories;
mod table;
mod text;
pub mod warm;

pub use components::Component;
pub use instances::Instances;
pub use repositories::{
    Linked, Repository, RepositoryKey, ServiceSyncConfig, SyncBlocker, TemplateSyncConfig,
};
pub use table::{HashTable, Prefetched, Table};
pub(crate) use table::{ProbeSlot, free_slot, place_slot, regrow, warm_home};
pub use text::{Arn, Name, Text};

use super::clock::Millis;
use super::faults::Faults;
use super::history::{DeploymentStatus, Deployments, TargetName};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

/// Environment or service: their templates and versions behave alike.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TemplateKind {
    Environment,
    Service,
}

impl TemplateKind {
    /// The ARN resource type, e.g. `environment-template`.
    pub fn arn_type(self) -> &'static str {
        match self {
            Self::Environment => "environment-template",
            Self::Service => "service-template",
        }
    }

    /// As AWS words it in messages.
    pub fn noun(self) -> &'static str {
        match self {
            Self::Environment => "environment template",
            Self::Service => "service template",
        }
    }

    pub fn version_noun(self) -> &'static str {
        match self {
            Self::Environment => "environment template version",
            Self::Service => "service template version",
        }
    }

    fn index(self) -> usize {
        match self {
            Self::Environment => 0,
            Self::Service => 1,
        }
    }
}

/// How a resource made by an idempotent create came to be: what a retry is
/// compared with.
#[derive(Clone, Debug)]
pub struct Creation {
    /// The create request's body, without any client token.
    pub params: Value,
    /// Set by the resource's Update operation: a retried create then conflicts.
    pub modified: bool,
}

impl Creation {
    pub fn new(params: Value) -> Self {
        Self {
            params,
            modified: false,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Template {
    pub name: String,
    pub arn: String,
    pub created_at: Millis,
    pub last_modified_at: Millis,
    pub description: Option<String>,
    pub display_name: Option<String>,
    pub encryption_key: Option<String>,
    /// `provisioning` (environment) or `pipelineProvisioning` (service).
    pub provisioning: Option<String>,
    pub creation: Creation,
    /// By (major, minor).
    pub versions: Table<(u64, u64), TemplateVersion>,
    /// The keys of the `PUBLISHED` versions, so that the recommended version
    /// is found without scanning; kept by [`Template::set_status`] and
    /// [`Template::remove_version`].
    pub published: BTreeSet<(u64, u64)>,
}

impl Template {
    /// The highest published version, which Proton recommends.
    pub fn recommended_version(&self) -> Option<(u64, u64)> {
        self.published.last().copied()
    }

    /// The highest published minor version of `major`.
    pub fn recommended_minor(&self, major: u64) -> Option<u64> {
        self.published
            .range((major, 0)..=(major, u64::MAX))
            .next_back()
            .map(|(_, minor)| *minor)
    }

    /// Sets a version's status, keeping the published index.
    pub fn set_status(&mut self, key: (u64, u64), status: VersionStatus) {
        if let Some(version) = self.versions.get_mut(&key) {
            version.status = status;
            if status == VersionStatus::Published {
                self.published.insert(key);
            } else {
                self.published.remove(&key);
            }
        }
    }

    pub fn remove_version(&mut self, key: (u64, u64)) -> Option<TemplateVersion> {
        self.published.remove(&key);
        self.versions.remove(&key)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VersionStatus {
    RegistrationInProgress,
    RegistrationFailed,
    Draft,
    Published,
}

impl VersionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RegistrationInProgress => "REGISTRATION_IN_PROGRESS",
            Self::RegistrationFailed => "REGISTRATION_FAILED",
            Self::Draft => "DRAFT",
            Self::Published => "PUBLISHED",
        }
    }
}

#[derive(Clone, Debug)]
pub struct TemplateVersion {
    pub major: u64,
    pub minor: u64,
    pub created_at: Millis,
    pub last_modified_at: Millis,
    pub description: Option<String>,
    pub status: VersionStatus,
    /// When REGISTRATION_IN_PROGRESS turns into DRAFT (or REGISTRATION_FAILED).
    pub registered_at: Millis,
    /// `statusMessage` once registration failed.
    pub status_message: Option<String>,
    /// A registration failure injected through the admin API.
    pub failure: Option<String>,
    /// Service template versions only.
    pub compatible_environment_templates: Option<Value>,
    pub supported_component_sources: Option<Value>,
    /// The bundle's `schema/schema.yaml`, when its S3 object is mapped.
    pub schema: Option<String>,
}

impl TemplateVersion {
    /// The version's ARN: its template's ARN, then `:major.minor`. Made
    /// when asked for, not stored, so that an answer about a version one of
    /// thousands reads no allocation of its own for it.
    pub fn arn(&self, template_arn: &str) -> String {
        let (mut major, mut minor) = ([0u8; 20], [0u8; 20]);
        let (major, minor) = (
            digits(self.major, &mut major),
            digits(self.minor, &mut minor),
        );
        let mut arn = String::with_capacity(template_arn.len() + 2 + major.len() + minor.len());
        arn.push_str(template_arn);
        arn.push(':');
        arn.push_str(major);
        arn.push('.');
        arn.push_str(minor);
        arn
    }

    /// Starts loading what an answer about the version reads ([`warm`]).
    pub fn warm(&self) {
        for text in [&self.description, &self.status_message, &self.schema] {
            warm::opt(text.as_deref());
        }
    }
}

/// `n` in decimal, written at the end of `buffer` (without the formatting
/// machinery, which costs more than the rest of a version's ARN).
pub(super) fn digits(mut n: u64, buffer: &mut [u8; 20]) -> &str {
    let mut at = buffer.len();
    loop {
        at -= 1;
        buffer[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    std::str::from_utf8(&buffer[at..]).unwrap_or_default()
}

/// Where a deployment (of an environment, a pipeline or a service instance) is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// `until: None` for self-managed provisioning: the deployment waits for
    /// NotifyResourceDeploymentStatusChange.
    InProgress {
        until: Option<Millis>,
    },
    Succeeded,
    Failed,
    Cancelled,
    DeleteInProgress {
        until: Millis,
    },
    DeleteFailed,
}

impl Phase {
    pub fn deployment_status(self) -> &'static str {
        match self {
            Self::InProgress { .. } => "IN_PROGRESS",
            Self::Succeeded => "SUCCEEDED",
            Self::Failed => "FAILED",
            Self::Cancelled => "CANCELLED",
            Self::DeleteInProgress { .. } => "DELETE_IN_PROGRESS",
            Self::DeleteFailed => "DELETE_FAILED",
        }
    }

    pub fn due(self) -> Option<Millis> {
        match self {
            Self::InProgress { until } => until,
            Self::DeleteInProgress { until } => Some(until),
            _ => None,
        }
    }

    pub fn in_progress(self) -> bool {
        matches!(self, Self::InProgress { .. })
    }

    pub fn deleting(self) -> bool {
        matches!(self, Self::DeleteInProgress { .. })
    }
}

/// What settling a [`Deployment`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Settled {
    Nothing,
    /// The attempt ended at `at` with `status` (SUCCEEDED or FAILED).
    Deployed {
        id: DeploymentId,
        status: DeploymentStatus,
        message: Option<String>,
        at: Millis,
    },
    /// The delete completed: the resource is gone.
    Gone,
    /// The delete failed (injected): the resource stays, DELETE_FAILED.
    DeleteFailed,
}

impl Settled {
    /// Closes the history's record of a deployment that ended.
    pub fn record_in(&self, deployments: &mut Deployments) {
        if let Settled::Deployed {
            id,
            status,
            message,
            at,
        } = self
        {
            deployments.finish(*id, *status, message.clone(), *at);
        }
    }
}

/// A deployment's id (a UUID) held inline, so that a resource's
/// `last*DeploymentId`s are read with the resource, not from allocations of
/// their own elsewhere.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DeploymentId {
    bytes: [u8; 36],
    len: u8,
}

impl DeploymentId {
    /// The id `text`: a UUID, 36 characters (longer text, which the mock
    /// never makes, is cut at a character boundary).
    pub fn new(text: &str) -> Self {
        let mut end = text.len().min(36);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let mut bytes = [0; 36];
        bytes[..end].copy_from_slice(&text.as_bytes()[..end]);
        Self {
            bytes,
            len: end as u8,
        }
    }

    /// The id `text` exactly: `None` when it is too long to be one.
    pub fn exact(text: &str) -> Option<Self> {
        (text.len() <= 36).then(|| Self::new(text))
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or_default()
    }
}

impl Default for DeploymentId {
    /// The empty id of a resource not deployed yet.
    fn default() -> Self {
        Self {
            bytes: [0; 36],
            len: 0,
        }
    }
}

impl std::fmt::Display for DeploymentId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::ops::Deref for DeploymentId {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl std::fmt::Debug for DeploymentId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.as_str().fmt(f)
    }
}

/// A resource's current deployment, as its `deploymentStatus` and
/// `last*Deployment*` members show it. The history of its deployments is in
/// [`super::history::Deployments`], under the same ids.
#[derive(Clone, Debug)]
pub struct Deployment {
    pub phase: Phase,
    pub attempted_at: Millis,
    /// When the last successful deployment was attempted: AWS's examples
    /// show it equal to `lastDeploymentAttemptedAt` after a success. The
    /// model requires it even before any success; until then it holds the
    /// creation time.
    pub succeeded_at: Millis,
    pub attempted_id: DeploymentId,
    pub succeeded_id: Option<DeploymentId>,
    /// `deploymentStatusMessage`: why the last attempt (or delete) failed.
    pub status_message: Option<String>,
    /// A failure injected through the admin API: the current attempt (or
    /// delete) ends FAILED (DELETE_FAILED) with this message when it is due.
    pub failure: Option<String>,
}

impl Deployment {
    /// A deployment attempted at `now` that ends at `until` (`None`: when
    /// self-managed provisioning notifies).
    pub fn start(now: Millis, until: Option<Millis>, id: DeploymentId) -> Self {
        Self {
            phase: Phase::InProgress { until },
            attempted_at: now,
            succeeded_at: now,
            attempted_id: id,
            succeeded_id: None,
            status_message: None,
            failure: None,
        }
    }

    /// A new attempt on an existing deployment.
    pub fn restart(&mut self, now: Millis, until: Option<Millis>, id: DeploymentId) {
        self.phase = Phase::InProgress { until };
        self.attempted_at = now;
        self.attempted_id = id;
        self.status_message = None;
        self.failure = None;
    }

    /// Ends the current attempt at `at` with `status` (SUCCEEDED, FAILED or
    /// CANCELLED) and returns what the history must record.
    pub fn end(
        &mut self,
        status: DeploymentStatus,
        message: Option<String>,
        at: Millis,
    ) -> Settled {
        self.phase = match status {
            DeploymentStatus::Succeeded => {
                self.succeeded_at = self.attempted_at;
                self.succeeded_id = Some(self.attempted_id);
                Phase::Succeeded
            }
            DeploymentStatus::Cancelled => Phase::Cancelled,
            DeploymentStatus::Failed | DeploymentStatus::InProgress => Phase::Failed,
        };
        self.status_message.clone_from(&message);
        Settled::Deployed {
            id: self.attempted_id,
            status,
            message,
            at,
        }
    }

    /// Starts deleting the resource; the delete ends at `until`.
    pub fn start_delete(&mut self, until: Millis, failure: Option<String>) {
        self.phase = Phase::DeleteInProgress { until };
        self.status_message = None;
        self.failure = failure;
    }

    /// Applies what is due at `now`.
    pub fn settle(&mut self, now: Millis) -> Settled {
        match self.phase {
            Phase::InProgress { until: Some(until) } if until <= now => match self.failure.take() {
                Some(message) => self.end(DeploymentStatus::Failed, Some(message), until),
                None => self.end(DeploymentStatus::Succeeded, None, until),
            },
            Phase::DeleteInProgress { until } if until <= now => match self.failure.take() {
                Some(message) => {
                    self.phase = Phase::DeleteFailed;
                    self.status_message = Some(message);
                    Settled::DeleteFailed
                }
                None => Settled::Gone,
            },
            _ => Settled::Nothing,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Environment {
    pub name: String,
    pub arn: String,
    pub created_at: Millis,
    pub description: Option<String>,
    pub spec: Option<String>,
    pub template_name: String,
    pub template_major: u64,
    pub template_minor: u64,
    pub proton_service_role_arn: Option<String>,
    pub codebuild_role_arn: Option<String>,
    pub component_role_arn: Option<String>,
    pub environment_account_connection_id: Option<String>,
    pub environment_account_id: Option<String>,
    pub provisioning: Option<String>,
    /// Already in its output shape (`RepositoryBranch`).
    pub provisioning_repository: Option<Value>,
    pub deployment: Deployment,
    pub creation: Creation,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServiceStatus {
    CreateInProgress { until: Millis },
    UpdateInProgress { until: Millis },
    Active,
    CreateFailed,
    UpdateFailed,
    DeleteInProgress { until: Millis },
    DeleteFailed,
}

impl ServiceStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CreateInProgress { .. } => "CREATE_IN_PROGRESS",
            Self::UpdateInProgress { .. } => "UPDATE_IN_PROGRESS",
            Self::Active => "ACTIVE",
            Self::CreateFailed => "CREATE_FAILED",
            Self::UpdateFailed => "UPDATE_FAILED",
            Self::DeleteInProgress { .. } => "DELETE_IN_PROGRESS",
            Self::DeleteFailed => "DELETE_FAILED",
        }
    }

    fn due(self) -> Option<Millis> {
        match self {
            Self::CreateInProgress { until }
            | Self::UpdateInProgress { until }
            | Self::DeleteInProgress { until } => Some(until),
            _ => None,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Service {
    pub name: String,
    pub arn: String,
    pub created_at: Millis,
    pub last_modified_at: Millis,
    pub description: Option<String>,
    pub spec: String,
    pub template_name: String,
    pub template_major: u64,
    pub template_minor: u64,
    pub branch_name: Option<String>,
    pub repository_connection_arn: Option<String>,
    pub repository_id: Option<String>,
    pub status: ServiceStatus,
    /// `statusMessage`: why the service's create, update or delete failed.
    pub status_message: Option<String>,
    /// A failure injected through the admin API for the service's next
    /// create, update (`deployment`) or delete.
    pub failure: Option<String>,
    /// Why a deployment of one of its instances or its pipeline failed
    /// while the service was being created or updated: the create or update
    /// fails with it when it ends.
    pub failed_deployment: Option<String>,
    pub pipeline: Option<Pipeline>,
    pub creation: Creation,
}

impl Service {
    /// Starts loading what an answer about the service reads ([`warm`]).
    pub fn warm(&self) {
        for text in [&self.name, &self.arn, &self.spec, &self.template_name] {
            warm::text(text);
        }
        for text in [
            &self.description,
            &self.branch_name,
            &self.repository_connection_arn,
            &self.repository_id,
            &self.status_message,
        ] {
            warm::opt(text.as_deref());
        }
        if let Some(pipeline) = &self.pipeline {
            for text in [&pipeline.arn, &pipeline.spec, &pipeline.template_name] {
                warm::text(text);
            }
            warm::opt(pipeline.deployment.status_message.as_deref());
        }
    }

    pub fn deleting(&self) -> bool {
        matches!(self.status, ServiceStatus::DeleteInProgress { .. })
    }

    /// A deployment of one of its instances or its pipeline failed: the
    /// service's create or update under way fails too (with the first
    /// such message).
    fn deployment_failed(&mut self, message: Option<String>) {
        if matches!(
            self.status,
            ServiceStatus::CreateInProgress { .. } | ServiceStatus::UpdateInProgress { .. }
        ) && self.failed_deployment.is_none()
        {
            self.failed_deployment = message;
        }
    }
}

#[derive(Clone, Debug)]
pub struct Pipeline {
    pub arn: String,
    pub created_at: Millis,
    pub spec: String,
    pub template_name: String,
    pub template_major: u64,
    pub template_minor: u64,
    pub deployment: Deployment,
}

/// Its ARN and names are held in place (`Text`) and its spec is shared
/// with the instances made from the same service spec, so that an answer
/// about it reads its own lines and, at most, one text beyond them.
#[derive(Clone, Debug)]
pub struct ServiceInstance {
    pub name: Name,
    pub arn: Arn,
    pub created_at: Millis,
    pub environment_name: Name,
    pub spec: Arc<str>,
    pub template_name: Name,
    pub template_major: u64,
    pub template_minor: u64,
    pub deployment: Deployment,
    /// `lastClientRequestToken`, with the UpdateServiceInstance parameters
    /// it came with (a retry with both answers without redeploying).
    pub last_client_token: Option<(String, Value)>,
}

impl ServiceInstance {
    /// Starts loading what an answer about the instance reads ([`warm`]).
    pub fn warm(&self) {
        self.warm_summary();
        warm::text(&self.spec);
        warm::opt(self.deployment.status_message.as_deref());
        warm::opt(
            self.last_client_token
                .as_ref()
                .map(|(token, _)| token.as_str()),
        );
    }

    /// Starts loading what a list entry of the instance reads: its own
    /// lines (several, read all over by the answer), then its strings.
    pub fn warm_summary(&self) {
        warm::value(self);
        self.arn.warm();
        for text in [&self.name, &self.environment_name, &self.template_name] {
            text.warm();
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnectionStatus {
    Pending,
    Connected,
    Rejected,
}

impl ConnectionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Connected => "CONNECTED",
            Self::Rejected => "REJECTED",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Connection {
    pub id: String,
    pub arn: String,
    pub environment_name: String,
    pub environment_account_id: String,
    pub management_account_id: String,
    pub role_arn: String,
    pub codebuild_role_arn: Option<String>,
    pub component_role_arn: Option<String>,
    pub status: ConnectionStatus,
    pub requested_at: Millis,
    pub last_modified_at: Millis,
}

/// What a client token was first used to create.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    TemplateVersion(TemplateKind, String, u64, u64),
    Connection(String),
    /// (service, instance).
    ServiceInstance(String, String),
    /// A component by name, and the deployment the request started.
    Component(String, String),
}

#[derive(Clone, Debug)]
pub struct TokenRecord {
    /// The request body without the token.
    pub params: Value,
    pub target: Target,
    pub expires_at: Millis,
}

/// What is left of a deleted resource.
#[derive(Clone, Debug)]
pub struct Tombstone {
    pub deleted_at: Millis,
    /// The delete's answer, returned to retries within the retention window;
    /// `None` for asynchronous deletes, whose completed retries answer `{}`.
    pub answer: Option<Value>,
}

/// Something that changes by itself at an instant: what [`State::settle`]
/// looks at then, and nothing else.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Due {
    /// A template version's registration ends.
    Version(TemplateKind, String, u64, u64),
    /// An environment's deployment or delete ends.
    Environment(String),
    /// A service instance's deployment, or its delete (dropped from the
    /// spec), ends: (service, instance). Ordered before `Service`, so that
    /// at one instant the service sees how its instances' deployments ended.
    Instance(String, String),
    /// A service pipeline's deployment ends.
    Pipeline(String),
    /// A service's create, update or delete ends.
    Service(String),
    /// A component's deployment or delete ends.
    Component(String),
    /// A client token expires.
    Token(&'static str, String),
}

/// A resource deployed on a template version. Ordered as the refusal to
/// delete such a version picks the one it names: environments by name;
/// services by name, a service's instances (by name) before its pipeline.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum VersionUser {
    Environment(String),
    Service(String, ServicePart),
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ServicePart {
    Instance(String),
    Pipeline,
}

/// A template version: its kind, its template's name, (major, minor).
type VersionKey = (TemplateKind, String, u64, u64);

/// All of the mock's resources, for one account in one region.
#[derive(Debug, Default)]
pub struct State {
    templates: [Table<String, Template>; 2],
    pub environments: Table<String, Environment>,
    pub services: Table<String, Service>,
    /// Every service's instances, by service and instance name.
    pub instances: Instances,
    /// By id.
    pub connections: BTreeMap<String, Connection>,
    /// By resource ARN.
    pub tags: HashMap<String, BTreeMap<String, String>>,
    /// By name.
    pub components: Table<String, Component>,
    /// Linked repositories, sync configs, account settings.
    pub linked: Linked,
    /// By operation, then client token.
    tokens: HashMap<&'static str, HashMap<String, TokenRecord>>,
    /// By ARN. Kept after the retention window (as "deleted, `{}`") so that a
    /// delete of something that never existed can still be told apart.
    tombstones: HashMap<String, Tombstone>,
    /// Every deployment's record, for GetDeployment and ListDeployments.
    pub deployments: Deployments,
    /// Failures the admin API injected.
    pub faults: Faults,
    /// `ProvisionedResource`s by resource ARN, set through the admin API.
    pub provisioned_resources: HashMap<String, Vec<Value>>,
    /// What changes by itself, by when: settling costs what is due, not
    /// what is held.
    queue: BTreeSet<(Millis, Due)>,
    /// What is deployed on each template version, so that deleting one
    /// checks its own users instead of every resource.
    version_users: HashMap<VersionKey, BTreeSet<VersionUser>>,
}

impl State {
    pub fn templates(&self, kind: TemplateKind) -> &Table<String, Template> {
        &self.templates[kind.index()]
    }

    pub fn templates_mut(&mut self, kind: TemplateKind) -> &mut Table<String, Template> {
        &mut self.templates[kind.index()]
    }

    /// Records that `user` is deployed on `template` `version` of `kind`.
    pub fn use_version(
        &mut self,
        kind: TemplateKind,
        template: &str,
        (major, minor): (u64, u64),
        user: VersionUser,
    ) {
        self.version_users
            .entry((kind, template.to_string(), major, minor))
            .or_default()
            .insert(user);
    }

    /// Records that `user` is no longer deployed on `template` `version`.
    pub fn unuse_version(
        &mut self,
        kind: TemplateKind,
        template: &str,
        (major, minor): (u64, u64),
        user: &VersionUser,
    ) {
        let key = (kind, template.to_string(), major, minor);
        if let Some(users) = self.version_users.get_mut(&key) {
            users.remove(user);
            if users.is_empty() {
                self.version_users.remove(&key);
            }
        }
    }

    /// `user` moved from version `from` of `template` to `to`.
    pub fn move_version_user(
        &mut self,
        kind: TemplateKind,
        template: &str,
        from: (u64, u64),
        to: (u64, u64),
        user: VersionUser,
    ) {
        if from != to {
            self.unuse_version(kind, template, from, &user);
            self.use_version(kind, template, to, user);
        }
    }

    /// The first (in [`VersionUser`] order) of the resources deployed on
    /// `template` `version`, if any is.
    pub fn version_user(
        &self,
        kind: TemplateKind,
        template: &str,
        (major, minor): (u64, u64),
    ) -> Option<&VersionUser> {
        self.version_users
            .get(&(kind, template.to_string(), major, minor))?
            .first()
    }

    /// Records that `what` changes by itself at `at`.
    pub fn schedule_for(&mut self, at: Millis, what: Due) {
        self.queue.insert((at, what));
    }

    /// Applies every transition due at `now`: registrations finish,
    /// deployments succeed, deletions complete, client tokens expire. Only
    /// what the queue says is due is looked at.
    pub fn settle(&mut self, now: Millis) {
        while self.queue.first().is_some_and(|(at, _)| *at <= now) {
            if let Some((_, due)) = self.queue.pop_first() {
                self.settle_one(due, now);
            }
        }
    }

    fn settle_one(&mut self, due: Due, now: Millis) {
        match due {
            Due::Version(kind, name, major, minor) => {
                let Some(version) = self.templates[kind.index()]
                    .get_mut(&name)
                    .and_then(|t| t.versions.get_mut(&(major, minor)))
                else {
                    return;
                };
                if version.status != VersionStatus::RegistrationInProgress {
                    return;
                }
                if version.registered_at > now {
                    let at = version.registered_at;
                    self.schedule_for(at, Due::Version(kind, name, major, minor));
                    return;
                }
                match version.failure.take() {
                    Some(message) => {
                        version.status = VersionStatus::RegistrationFailed;
                        version.status_message = Some(message);
                    }
                    None => version.status = VersionStatus::Draft,
                }
            }
            Due::Token(operation, token) => {
                let Some(tokens) = self.tokens.get_mut(operation) else {
                    return;
                };
                match tokens.get(&token).map(|record| record.expires_at) {
                    Some(at) if at <= now => {
                        tokens.remove(&token);
                    }
                    Some(at) => self.schedule_for(at, Due::Token(operation, token)),
                    None => {}
                }
            }
            Due::Environment(name) => self.settle_environment(name, now),
            Due::Instance(service, name) => self.settle_instance(service, name, now),
            Due::Pipeline(service) => self.settle_pipeline(service, now),
            Due::Service(name) => self.settle_service(name, now),
            Due::Component(name) => self.settle_component(name, now),
        }
    }

    fn settle_environment(&mut self, name: String, now: Millis) {
        let Some(environment) = self.environments.get_mut(&name) else {
            return;
        };
        let settled = environment.deployment.settle(now);
        settled.record_in(&mut self.deployments);
        if settled == Settled::Gone {
            if let Some(environment) = self.environments.remove(&name) {
                self.unuse_version(
                    TemplateKind::Environment,
                    &environment.template_name,
                    (environment.template_major, environment.template_minor),
                    &VersionUser::Environment(environment.name.clone()),
                );
                self.deployments
                    .forget_target(TargetName::Environment(&environment.name));
                self.forget(environment.arn, now, None);
            }
        } else if let Some(at) = environment.deployment.phase.due() {
            self.schedule_for(at, Due::Environment(name));
        }
    }

    /// Settles one instance of a service, and nothing else of it: a
    /// deployment that ends touches only its own instance.
    fn settle_instance(&mut self, service_name: String, name: String, now: Millis) {
        let Some(service) = self.services.get_mut(&service_name) else {
            return;
        };
        let Some(instance) = self.instances.get_mut(&service_name, &name) else {
            return;
        };
        let settled = instance.deployment.settle(now);
        let due = instance.deployment.phase.due();
        match settled {
            // Deleted with its service, which the service's own settling does.
            Settled::Gone if service.deleting() => return,
            // An instance the spec dropped, deleted on its own.
            Settled::Gone => {
                if let Some(instance) = self.instances.remove(&service_name, &name) {
                    self.unuse_version(
                        TemplateKind::Service,
                        &instance.template_name,
                        (instance.template_major, instance.template_minor),
                        &VersionUser::Service(service_name.clone(), ServicePart::Instance(name)),
                    );
                    self.deployments
                        .forget_target(TargetName::ServiceInstance(&service_name, &instance.name));
                    self.forget(instance.arn.to_string(), now, None);
                }
                return;
            }
            settled => part_settled(service, &mut self.deployments, settled),
        }
        if let Some(at) = due {
            self.schedule_for(at, Due::Instance(service_name, name));
        }
    }

    fn settle_pipeline(&mut self, service_name: String, now: Millis) {
        let Some(service) = self.services.get_mut(&service_name) else {
            return;
        };
        let Some(pipeline) = service.pipeline.as_mut() else {
            return;
        };
        let settled = pipeline.deployment.settle(now);
        let due = pipeline.deployment.phase.due();
        match settled {
            Settled::Gone => return,
            settled => part_settled(service, &mut self.deployments, settled),
        }
        if let Some(at) = due {
            self.schedule_for(at, Due::Pipeline(service_name));
        }
    }

    fn settle_service(&mut self, name: String, now: Millis) {
        let Some(service) = self.services.get_mut(&name) else {
            return;
        };
        let failed = service.failed_deployment.take();
        let (gone, due) = settle_service_status(service, &mut self.instances, now, failed);
        if gone {
            self.drop_service(&name, now);
        } else if let Some(at) = due {
            self.schedule_for(at, Due::Service(name));
        }
    }

    /// Forgets a deleted service: its instances' tags and deployment
    /// targets, its pipeline's, and the service itself.
    fn drop_service(&mut self, name: &str, now: Millis) {
        if let Some(service) = self.services.remove(name) {
            for instance in self.instances.remove_service(name) {
                self.unuse_version(
                    TemplateKind::Service,
                    &instance.template_name,
                    (instance.template_major, instance.template_minor),
                    &VersionUser::Service(
                        name.to_string(),
                        ServicePart::Instance(instance.name.to_string()),
                    ),
                );
                self.tags.remove(instance.arn.as_str());
                self.deployments
                    .forget_target(TargetName::ServiceInstance(name, &instance.name));
            }
            if let Some(pipeline) = &service.pipeline {
                self.unuse_version(
                    TemplateKind::Service,
                    &pipeline.template_name,
                    (pipeline.template_major, pipeline.template_minor),
                    &VersionUser::Service(name.to_string(), ServicePart::Pipeline),
                );
                self.deployments
                    .forget_target(TargetName::ServicePipeline(name));
            }
            self.forget(service.arn, now, None);
        }
    }

    /// Records that the resource `arn` was deleted at `now`, with the answer
    /// that retries get within the retention window; drops its tags.
    pub fn forget(&mut self, arn: String, now: Millis, answer: Option<Value>) {
        self.tags.remove(&arn);
        self.tombstones.insert(
            arn,
            Tombstone {
                deleted_at: now,
                answer,
            },
        );
    }

    /// A resource was created at `arn`: a delete retry for an earlier one
    /// with that ARN now deletes the new one instead.
    pub fn revive(&mut self, arn: &str) {
        self.tombstones.remove(arn);
    }

    pub fn tombstone(&self, arn: &str) -> Option<&Tombstone> {
        self.tombstones.get(arn)
    }

    /// What `token` was first used for by `operation`, unless it expired
    /// (expired tokens are dropped by `settle`).
    pub fn token(&self, operation: &'static str, token: &str) -> Option<&TokenRecord> {
        self.tokens.get(operation)?.get(token)
    }

    pub fn remember_token(&mut self, operation: &'static str, token: String, record: TokenRecord) {
        self.schedule_for(record.expires_at, Due::Token(operation, token.clone()));
        self.tokens
            .entry(operation)
            .or_default()
            .insert(token, record);
    }

    pub fn token_count(&self) -> usize {
        self.tokens.values().map(HashMap::len).sum()
    }

    pub fn tombstone_count(&self) -> usize {
        self.tombstones.len()
    }
}

/// A service's own status once its deadline has passed: deleted (gone),
/// failed, or active. A deployment of one of its instances or its pipeline
/// that failed (`failed`) fails the service's create or update. Returns
/// whether the service is gone, and when it is next due.
fn settle_service_status(
    service: &mut Service,
    instances: &mut Instances,
    now: Millis,
    failed: Option<String>,
) -> (bool, Option<Millis>) {
    match service.status {
        ServiceStatus::DeleteInProgress { until } if until <= now => {
            if let Some(message) = service.failure.take() {
                service.status = ServiceStatus::DeleteFailed;
                service.status_message = Some(message);
                service.last_modified_at = until;
                instances.for_each_of_mut(&service.name, |instance| {
                    instance.deployment.phase = Phase::DeleteFailed;
                });
                if let Some(pipeline) = service.pipeline.as_mut() {
                    pipeline.deployment.phase = Phase::DeleteFailed;
                }
            } else {
                return (true, None);
            }
        }
        ServiceStatus::CreateInProgress { until } | ServiceStatus::UpdateInProgress { until }
            if until <= now =>
        {
            let creating = matches!(service.status, ServiceStatus::CreateInProgress { .. });
            // AWS's examples show an active service modified when it
            // became active, after its creation.
            service.last_modified_at = until;
            match service.failure.take().or(failed) {
                Some(message) => {
                    service.status = if creating {
                        ServiceStatus::CreateFailed
                    } else {
                        ServiceStatus::UpdateFailed
                    };
                    service.status_message = Some(message);
                }
                None => service.status = ServiceStatus::Active,
            }
        }
        status => return (false, status.due()),
    }
    (false, None)
}

/// A service part (an instance or the pipeline) whose deployment settled:
/// an ended deployment closes its record, and a failure is kept on the
/// service until the service's own create or update ends.
fn part_settled(service: &mut Service, deployments: &mut Deployments, settled: Settled) {
    if let Settled::Deployed {
        status: DeploymentStatus::Failed,
        message,
        ..
    } = &settled
    {
        service.deployment_failed(message.clone());
    }
    settled.record_in(deployments);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn version(registered_at: Millis) -> TemplateVersion {
        TemplateVersion {
            major: 1,
            minor: 0,
            created_at: 0,
            last_modified_at: 0,
            description: None,
            status: VersionStatus::RegistrationInProgress,
            registered_at,
            status_message: None,
            failure: None,
            compatible_environment_templates: None,
            supported_component_sources: None,
            schema: None,
        }
    }

    fn template() -> Template {
        Template {
            name: "t".into(),
            arn: "arn:t".into(),
            created_at: 0,
            last_modified_at: 0,
            description: None,
            display_name: None,
            encryption_key: None,
            provisioning: None,
            creation: Creation::new(json!({})),
            versions: Table::default(),
            published: BTreeSet::new(),
        }
    }

    #[test]
    fn registration_finishes_when_its_time_comes_and_not_before() {
        let mut state = State::default();
        let mut t = template();
        t.versions.insert((1, 0), version(2_000));
        state
            .templates_mut(TemplateKind::Environment)
            .insert("t".into(), t);
        state.schedule_for(
            2_000,
            Due::Version(TemplateKind::Environment, "t".into(), 1, 0),
        );
        let status = |s: &State| {
            s.templates(TemplateKind::Environment)
                .get("t")
                .unwrap()
                .versions
                .get(&(1, 0))
                .unwrap()
                .status
        };
        state.settle(1_999);
        assert_eq!(status(&state), VersionStatus::RegistrationInProgress);
        state.settle(2_000);
        assert_eq!(status(&state), VersionStatus::Draft);
        assert!(state.queue.is_empty());
    }

    #[test]
    fn a_versions_arn_is_its_templates_then_its_numbers() {
        let mut v = version(0);
        for (major, minor) in [(1, 0), (10, 12), (0, u64::MAX)] {
            v.major = major;
            v.minor = minor;
            assert_eq!(v.arn("arn:t"), format!("arn:t:{major}.{minor}"));
        }
    }

    #[test]
    fn tokens_expire_at_their_instant() {
        let mut state = State::default();
        let record = TokenRecord {
            params: json!({}),
            target: Target::Connection("c".into()),
            expires_at: 10,
        };
        state.remember_token("Op", "tok".into(), record);
        state.settle(9);
        assert!(state.token("Op", "tok").is_some());
        state.settle(10);
        assert!(state.token("Op", "tok").is_none());
    }

    #[test]
    fn recommended_version_is_the_highest_published() {
        let mut t = template();
        for (major, minor, status) in [
            (1, 0, VersionStatus::Published),
            (1, 1, VersionStatus::Draft),
            (2, 0, VersionStatus::Published),
            (2, 1, VersionStatus::Published),
            (3, 0, VersionStatus::Draft),
        ] {
            let mut v = version(0);
            v.major = major;
            v.minor = minor;
            t.versions.insert((major, minor), v);
            t.set_status((major, minor), status);
        }
        assert_eq!(t.recommended_version(), Some((2, 1)));
        assert_eq!(t.recommended_minor(1), Some(0));
        assert_eq!(t.recommended_minor(3), None);
    }
}
