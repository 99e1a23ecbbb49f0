//! Every Proton resource the mock holds, and how time moves them. Pure: no IO,
//! no clock reads, no randomness; whatever depends on time takes `now`
//! (milliseconds since the Unix epoch), and generated ids come from the caller.
//!
//! Lifecycles are lazy: a resource stores when its current phase ends, and
//! [`State::settle`] applies every transition that is due at `now` before a
//! request reads or changes anything. `next_due` keeps that a single
//! comparison when nothing is due.
//!
//! Besides the resources, the state remembers what idempotency needs: client
//! tokens (with the parameters they were first sent with, until they expire)
//! and tombstones of deleted resources (so a retried delete can succeed).

mod components;
mod repositories;

pub use components::{Component, ComponentStatus};
pub use repositories::{
    Linked, Repository, RepositoryKey, ServiceSyncConfig, SyncBlocker, TemplateSyncConfig,
};

use super::clock::Millis;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};

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
    pub versions: BTreeMap<(u64, u64), TemplateVersion>,
}

impl Template {
    /// The highest published version, which Proton recommends.
    pub fn recommended_version(&self) -> Option<(u64, u64)> {
        self.versions
            .iter()
            .rev()
            .find(|(_, v)| v.status == VersionStatus::Published)
            .map(|(k, _)| *k)
    }

    /// The highest published minor version of `major`.
    pub fn recommended_minor(&self, major: u64) -> Option<u64> {
        self.versions
            .range((major, 0)..=(major, u64::MAX))
            .rev()
            .find(|(_, v)| v.status == VersionStatus::Published)
            .map(|((_, minor), _)| *minor)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VersionStatus {
    RegistrationInProgress,
    Draft,
    Published,
}

impl VersionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RegistrationInProgress => "REGISTRATION_IN_PROGRESS",
            Self::Draft => "DRAFT",
            Self::Published => "PUBLISHED",
        }
    }
}

#[derive(Clone, Debug)]
pub struct TemplateVersion {
    pub major: u64,
    pub minor: u64,
    pub arn: String,
    pub created_at: Millis,
    pub last_modified_at: Millis,
    pub description: Option<String>,
    pub status: VersionStatus,
    /// When REGISTRATION_IN_PROGRESS turns into DRAFT.
    pub registered_at: Millis,
    /// Service template versions only.
    pub compatible_environment_templates: Option<Value>,
    pub supported_component_sources: Option<Value>,
}

/// Where a deployment (of an environment, a pipeline or a service instance) is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    InProgress { until: Millis },
    Succeeded,
    DeleteInProgress { until: Millis },
}

impl Phase {
    pub fn deployment_status(self) -> &'static str {
        match self {
            Self::InProgress { .. } => "IN_PROGRESS",
            Self::Succeeded => "SUCCEEDED",
            Self::DeleteInProgress { .. } => "DELETE_IN_PROGRESS",
        }
    }

    fn due(self) -> Option<Millis> {
        match self {
            Self::InProgress { until } | Self::DeleteInProgress { until } => Some(until),
            Self::Succeeded => None,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Deployment {
    pub phase: Phase,
    pub attempted_at: Millis,
    /// When the last successful deployment was attempted: AWS's examples
    /// show it equal to `lastDeploymentAttemptedAt` after a success. The
    /// model requires it even before any success; until then it holds the
    /// creation time.
    pub succeeded_at: Millis,
    pub attempted_id: String,
    pub succeeded_id: Option<String>,
}

impl Deployment {
    /// A deployment attempted at `now` that succeeds at `until`.
    pub fn start(now: Millis, until: Millis, id: String) -> Self {
        Self {
            phase: Phase::InProgress { until },
            attempted_at: now,
            succeeded_at: now,
            attempted_id: id,
            succeeded_id: None,
        }
    }

    /// A new attempt on an existing deployment.
    pub fn restart(&mut self, now: Millis, until: Millis, id: String) {
        self.phase = Phase::InProgress { until };
        self.attempted_at = now;
        self.attempted_id = id;
    }

    /// Applies a due success; returns whether a deletion is due.
    fn settle(&mut self, now: Millis) -> bool {
        match self.phase {
            Phase::InProgress { until } if until <= now => {
                self.phase = Phase::Succeeded;
                self.succeeded_at = self.attempted_at;
                self.succeeded_id = Some(self.attempted_id.clone());
                false
            }
            Phase::DeleteInProgress { until } => until <= now,
            _ => false,
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
    DeleteInProgress { until: Millis },
}

impl ServiceStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CreateInProgress { .. } => "CREATE_IN_PROGRESS",
            Self::UpdateInProgress { .. } => "UPDATE_IN_PROGRESS",
            Self::Active => "ACTIVE",
            Self::DeleteInProgress { .. } => "DELETE_IN_PROGRESS",
        }
    }

    fn due(self) -> Option<Millis> {
        match self {
            Self::CreateInProgress { until }
            | Self::UpdateInProgress { until }
            | Self::DeleteInProgress { until } => Some(until),
            Self::Active => None,
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
    pub pipeline: Option<Pipeline>,
    pub instances: BTreeMap<String, ServiceInstance>,
    pub creation: Creation,
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

#[derive(Clone, Debug)]
pub struct ServiceInstance {
    pub name: String,
    pub arn: String,
    pub created_at: Millis,
    pub environment_name: String,
    pub spec: String,
    pub template_name: String,
    pub template_major: u64,
    pub template_minor: u64,
    pub deployment: Deployment,
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

/// All of the mock's resources, for one account in one region.
#[derive(Debug, Default)]
pub struct State {
    templates: [BTreeMap<String, Template>; 2],
    pub environments: BTreeMap<String, Environment>,
    pub services: BTreeMap<String, Service>,
    /// By id.
    pub connections: BTreeMap<String, Connection>,
    /// By resource ARN.
    pub tags: HashMap<String, BTreeMap<String, String>>,
    /// By name.
    pub components: BTreeMap<String, Component>,
    /// Linked repositories, sync configs, account settings.
    pub linked: Linked,
    /// By operation, then client token.
    tokens: HashMap<&'static str, HashMap<String, TokenRecord>>,
    /// By ARN. Kept after the retention window (as "deleted, `{}`") so that a
    /// delete of something that never existed can still be told apart.
    tombstones: HashMap<String, Tombstone>,
    /// The earliest instant at which something changes by itself.
    next_due: Option<Millis>,
}

impl State {
    pub fn templates(&self, kind: TemplateKind) -> &BTreeMap<String, Template> {
        &self.templates[kind.index()]
    }

    pub fn templates_mut(&mut self, kind: TemplateKind) -> &mut BTreeMap<String, Template> {
        &mut self.templates[kind.index()]
    }

    /// Records that something changes by itself at `due`.
    pub fn schedule(&mut self, due: Millis) {
        self.next_due = Some(self.next_due.map_or(due, |d| d.min(due)));
    }

    /// Applies every transition due at `now`: registrations finish,
    /// deployments succeed, deletions complete, client tokens expire.
    pub fn settle(&mut self, now: Millis) {
        if self.next_due.is_none_or(|due| now < due) {
            return;
        }
        let mut next: Option<Millis> = None;
        let mut later = |due: Option<Millis>| {
            if let Some(due) = due {
                next = Some(next.map_or(due, |n: Millis| n.min(due)));
            }
        };

        for templates in &mut self.templates {
            for version in templates.values_mut().flat_map(|t| t.versions.values_mut()) {
                if version.status == VersionStatus::RegistrationInProgress {
                    if version.registered_at <= now {
                        version.status = VersionStatus::Draft;
                    } else {
                        later(Some(version.registered_at));
                    }
                }
            }
        }

        let mut gone = Vec::new();
        for environment in self.environments.values_mut() {
            if environment.deployment.settle(now) {
                gone.push((environment.name.clone(), environment.arn.clone()));
            } else {
                later(environment.deployment.phase.due());
            }
        }
        for (name, arn) in gone.drain(..) {
            self.environments.remove(&name);
            self.forget(arn, now, None);
        }

        for service in self.services.values_mut() {
            match service.status {
                ServiceStatus::DeleteInProgress { until } if until <= now => {
                    gone.push((service.name.clone(), service.arn.clone()));
                    continue;
                }
                ServiceStatus::CreateInProgress { until }
                | ServiceStatus::UpdateInProgress { until }
                    if until <= now =>
                {
                    // AWS's examples show an active service modified when it
                    // became active, after its creation.
                    service.status = ServiceStatus::Active;
                    service.last_modified_at = until;
                }
                status => later(status.due()),
            }
            for deployment in service
                .instances
                .values_mut()
                .map(|i| &mut i.deployment)
                .chain(service.pipeline.as_mut().map(|p| &mut p.deployment))
            {
                deployment.settle(now);
                later(deployment.phase.due());
            }
        }
        for (name, arn) in gone {
            if let Some(service) = self.services.remove(&name) {
                for instance in service.instances.values() {
                    self.tags.remove(&instance.arn);
                }
            }
            self.forget(arn, now, None);
        }

        later(self.settle_components(now));

        for tokens in self.tokens.values_mut() {
            tokens.retain(|_, record| {
                let live = record.expires_at > now;
                if live {
                    later(Some(record.expires_at));
                }
                live
            });
        }
        self.next_due = next;
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
        self.schedule(record.expires_at);
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn version(registered_at: Millis) -> TemplateVersion {
        TemplateVersion {
            major: 1,
            minor: 0,
            arn: "arn:v".into(),
            created_at: 0,
            last_modified_at: 0,
            description: None,
            status: VersionStatus::RegistrationInProgress,
            registered_at,
            compatible_environment_templates: None,
            supported_component_sources: None,
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
            versions: BTreeMap::new(),
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
        state.schedule(2_000);
        let status =
            |s: &State| s.templates(TemplateKind::Environment)["t"].versions[&(1, 0)].status;
        state.settle(1_999);
        assert_eq!(status(&state), VersionStatus::RegistrationInProgress);
        state.settle(2_000);
        assert_eq!(status(&state), VersionStatus::Draft);
        assert_eq!(state.next_due, None);
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
            v.status = status;
            t.versions.insert((major, minor), v);
        }
        assert_eq!(t.recommended_version(), Some((2, 1)));
        assert_eq!(t.recommended_minor(1), Some(0));
        assert_eq!(t.recommended_minor(3), None);
    }
}
