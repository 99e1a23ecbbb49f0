//! Linked repositories and what uses them: template sync configs, service
//! sync configs with their sync blockers, repository sync attempts, and the
//! account settings (whose pipeline repository is a linked one).

use super::{Millis, TemplateKind};
use serde_json::Value;
use std::collections::BTreeMap;

/// A repository is named by its provider (`GITHUB`, ...) and its name.
pub type RepositoryKey = (String, String);

#[derive(Clone, Debug)]
pub struct Repository {
    pub provider: String,
    pub name: String,
    pub arn: String,
    pub connection_arn: String,
    pub encryption_key: Option<String>,
}

#[derive(Clone, Debug)]
pub struct TemplateSyncConfig {
    pub kind: TemplateKind,
    pub template_name: String,
    pub repository: RepositoryKey,
    pub branch: String,
    pub subdirectory: Option<String>,
    /// When the configuration was created or last updated: the last sync.
    pub synced_at: Millis,
    /// The commit the last sync read (a generated 40-hex-digit id).
    pub sha: String,
}

#[derive(Clone, Debug)]
pub struct ServiceSyncConfig {
    pub service_name: String,
    pub repository: RepositoryKey,
    pub branch: String,
    pub file_path: String,
    pub synced_at: Millis,
    pub sha: String,
}

#[derive(Clone, Debug)]
pub struct SyncBlocker {
    pub id: String,
    pub service_name: String,
    /// `None`: the blocker is on the whole service.
    pub service_instance_name: Option<String>,
    pub created_at: Millis,
    pub created_reason: String,
    /// Already in their output shape (`SyncBlockerContext`).
    pub contexts: Vec<Value>,
    pub resolved: Option<(Millis, String)>,
}

/// The account-wide settings for pipelines.
#[derive(Clone, Debug, Default)]
pub struct AccountSettings {
    pub pipeline_service_role_arn: Option<String>,
    pub pipeline_codebuild_role_arn: Option<String>,
    /// The linked repository and branch pipelines are provisioned through.
    pub pipeline_provisioning_repository: Option<(RepositoryKey, String)>,
}

/// Everything about repositories the state holds.
#[derive(Debug, Default)]
pub struct Linked {
    pub repositories: BTreeMap<RepositoryKey, Repository>,
    /// By (template type, template name).
    pub template_syncs: BTreeMap<(TemplateKind, String), TemplateSyncConfig>,
    /// By service name.
    pub service_syncs: BTreeMap<String, ServiceSyncConfig>,
    /// By id.
    pub blockers: BTreeMap<String, SyncBlocker>,
    pub account: AccountSettings,
}

impl Linked {
    /// Whether anything still uses the repository (a sync config or the
    /// account's pipeline repository).
    pub fn in_use(&self, key: &RepositoryKey) -> Option<String> {
        if let Some(config) = self.template_syncs.values().find(|c| &c.repository == key) {
            return Some(format!(
                "the template sync configuration of {} {}",
                config.kind.noun(),
                config.template_name
            ));
        }
        if let Some(config) = self.service_syncs.values().find(|c| &c.repository == key) {
            return Some(format!(
                "the service sync configuration of service {}",
                config.service_name
            ));
        }
        if self
            .account
            .pipeline_provisioning_repository
            .as_ref()
            .is_some_and(|(k, _)| k == key)
        {
            return Some("the account settings' pipeline provisioning repository".to_string());
        }
        None
    }
}
