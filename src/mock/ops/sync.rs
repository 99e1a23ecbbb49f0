//! Template sync configs and service sync configs, with service sync
//! blockers. The mock reads no repository: creating (or updating) a config
//! stands for a sync that succeeded at that instant, at a generated commit.
//! As the user guide's CLI tutorial describes, creating a template sync
//! config for a template without versions registers its version 1.0.

use super::repositories::linked;
use super::templates;
use super::{Ctx, Members, MockError, Obj, opt_str, opt_string, req_str, timestamp, wrap};
use crate::mock::state::{
    RepositoryKey, ServiceSyncConfig, State, SyncBlocker, TemplateKind, TemplateSyncConfig,
};
use serde_json::{Map, Value, json};

fn kind(input: &Value) -> Result<TemplateKind, MockError> {
    match req_str(input, "templateType")? {
        "SERVICE" => Ok(TemplateKind::Service),
        _ => Ok(TemplateKind::Environment),
    }
}

fn type_name(kind: TemplateKind) -> &'static str {
    match kind {
        TemplateKind::Environment => "ENVIRONMENT",
        TemplateKind::Service => "SERVICE",
    }
}

fn repository_key(input: &Value) -> Result<RepositoryKey, MockError> {
    Ok((
        req_str(input, "repositoryProvider")?.to_string(),
        req_str(input, "repositoryName")?.to_string(),
    ))
}

/// A commit id for a sync the mock stands in for: 40 hex digits, like Git's.
fn commit() -> String {
    let a = uuid::Uuid::new_v4().simple().to_string();
    let b = uuid::Uuid::new_v4().simple().to_string();
    format!("{a}{}", &b[..8])
}

fn empty() -> Value {
    Value::Object(Map::new())
}

// ---- template sync configs ----

fn render_template(c: &TemplateSyncConfig) -> Value {
    Obj::new()
        .str("branch", &c.branch)
        .str("repositoryName", &c.repository.1)
        .str("repositoryProvider", &c.repository.0)
        .opt("subdirectory", c.subdirectory.as_deref())
        .str("templateName", &c.template_name)
        .str("templateType", type_name(c.kind))
        .build()
}

fn template_not_found(kind: TemplateKind, ctx: &Ctx, name: &str) -> MockError {
    MockError::not_found(
        "template sync config",
        templates::template_arn(kind, ctx, name),
    )
}

pub fn create_template(state: &mut State, ctx: &Ctx, input: &Value) -> Result<Value, MockError> {
    let kind = kind(input)?;
    let name = req_str(input, "templateName")?;
    let repository = repository_key(input)?;
    let Some(template) = state.templates(kind).get(name) else {
        return Err(MockError::Validation(format!(
            "The {} {name} does not exist; create it before syncing it",
            kind.noun()
        )));
    };
    let first = template.versions.is_empty();
    linked(state, &repository)?;
    if state
        .linked
        .template_syncs
        .contains_key(&(kind, name.to_string()))
    {
        return Err(MockError::Conflict(format!(
            "The {} {name} already has a template sync configuration; update or delete it",
            kind.noun()
        )));
    }
    let config = TemplateSyncConfig {
        kind,
        template_name: name.to_string(),
        repository,
        branch: req_str(input, "branch")?.to_string(),
        subdirectory: opt_string(input, "subdirectory"),
        synced_at: ctx.now,
        sha: commit(),
    };
    if first {
        let operation = match kind {
            TemplateKind::Environment => "CreateEnvironmentTemplateVersion",
            TemplateKind::Service => "CreateServiceTemplateVersion",
        };
        let version = json!({"templateName": name, "majorVersion": "1"});
        templates::create_version(kind, operation, state, ctx, &version)?;
    }
    let out = wrap("templateSyncConfig", render_template(&config));
    state
        .linked
        .template_syncs
        .insert((kind, name.to_string()), config);
    Ok(out)
}

pub fn get_template(state: &State, ctx: &Ctx, input: &Value) -> Result<Value, MockError> {
    let kind = kind(input)?;
    let name = req_str(input, "templateName")?;
    if !state.templates(kind).contains_key(name) {
        return Err(MockError::not_found(
            kind.noun(),
            templates::template_arn(kind, ctx, name),
        ));
    }
    Ok(state
        .linked
        .template_syncs
        .get(&(kind, name.to_string()))
        .map_or_else(empty, |c| wrap("templateSyncConfig", render_template(c))))
}

pub fn update_template(state: &mut State, ctx: &Ctx, input: &Value) -> Result<Value, MockError> {
    let kind = kind(input)?;
    let name = req_str(input, "templateName")?;
    let repository = repository_key(input)?;
    linked(state, &repository)?;
    let config = state
        .linked
        .template_syncs
        .get_mut(&(kind, name.to_string()))
        .ok_or_else(|| template_not_found(kind, ctx, name))?;
    config.repository = repository;
    config.branch = req_str(input, "branch")?.to_string();
    config.subdirectory = opt_string(input, "subdirectory");
    config.synced_at = ctx.now;
    config.sha = commit();
    Ok(wrap("templateSyncConfig", render_template(config)))
}

pub fn delete_template(state: &mut State, ctx: &Ctx, input: &Value) -> Result<Value, MockError> {
    let kind = kind(input)?;
    let name = req_str(input, "templateName")?;
    let config = state
        .linked
        .template_syncs
        .remove(&(kind, name.to_string()))
        .ok_or_else(|| template_not_found(kind, ctx, name))?;
    Ok(wrap("templateSyncConfig", render_template(&config)))
}

fn revision(repository: &RepositoryKey, branch: &str, directory: &str, sha: &str) -> Value {
    Obj::new()
        .str("branch", branch)
        .str("directory", directory)
        .str("repositoryName", &repository.1)
        .str("repositoryProvider", &repository.0)
        .str("sha", sha)
        .build()
}

/// A sync that succeeded at `at`, from `revision` to `target`.
fn attempt(revision: &Value, target: &str, at: u64) -> Value {
    Obj::new()
        .value("events", json!([]))
        .value("initialRevision", revision.clone())
        .value("startedAt", timestamp(at))
        .str("status", "SUCCEEDED")
        .str("target", target)
        .value("targetRevision", revision.clone())
        .build()
}

/// The last sync of a template's major version: the desired state is the
/// config's branch and directory; the sync succeeded when the config was
/// last written, if the template has that major version.
pub fn template_status(state: &State, ctx: &Ctx, input: &Value) -> Result<Value, MockError> {
    let kind = kind(input)?;
    let name = req_str(input, "templateName")?;
    let major = req_str(input, "templateVersion")?;
    let config = state
        .linked
        .template_syncs
        .get(&(kind, name.to_string()))
        .ok_or_else(|| template_not_found(kind, ctx, name))?;
    let directory = config
        .subdirectory
        .clone()
        .unwrap_or_else(|| name.to_string());
    let desired = revision(&config.repository, &config.branch, &directory, &config.sha);
    let has_major = super::version_number(major).is_some_and(|major| {
        state.templates(kind).get(name).is_some_and(|t| {
            t.versions
                .range((major, 0)..=(major, u64::MAX))
                .next()
                .is_some()
        })
    });
    let mut out = Obj::new().value("desiredState", desired.clone());
    if has_major {
        let synced = attempt(&desired, name, config.synced_at);
        out = out
            .value("latestSuccessfulSync", synced.clone())
            .value("latestSync", synced);
    }
    Ok(out.build())
}

// ---- service sync configs ----

fn render_service(c: &ServiceSyncConfig) -> Value {
    Obj::new()
        .str("branch", &c.branch)
        .str("filePath", &c.file_path)
        .str("repositoryName", &c.repository.1)
        .str("repositoryProvider", &c.repository.0)
        .str("serviceName", &c.service_name)
        .build()
}

fn service_arn(ctx: &Ctx, name: &str) -> String {
    ctx.arn(&format!("service/{name}"))
}

fn service_exists(state: &State, ctx: &Ctx, name: &str) -> Result<(), MockError> {
    if state.services.contains_key(name) {
        Ok(())
    } else {
        Err(MockError::not_found("service", service_arn(ctx, name)))
    }
}

fn service_config_not_found(ctx: &Ctx, name: &str) -> MockError {
    MockError::not_found("service sync config", service_arn(ctx, name))
}

pub fn create_service(state: &mut State, ctx: &Ctx, input: &Value) -> Result<Value, MockError> {
    let name = req_str(input, "serviceName")?;
    let repository = repository_key(input)?;
    if !state.services.contains_key(name) {
        return Err(MockError::Validation(format!(
            "The service {name} does not exist; create it before syncing it"
        )));
    }
    linked(state, &repository)?;
    if state.linked.service_syncs.contains_key(name) {
        return Err(MockError::Conflict(format!(
            "The service {name} already has a service sync configuration; update or delete it"
        )));
    }
    let config = ServiceSyncConfig {
        service_name: name.to_string(),
        repository,
        branch: req_str(input, "branch")?.to_string(),
        file_path: req_str(input, "filePath")?.to_string(),
        synced_at: ctx.now,
        sha: commit(),
    };
    let out = wrap("serviceSyncConfig", render_service(&config));
    state.linked.service_syncs.insert(name.to_string(), config);
    Ok(out)
}

pub fn get_service(state: &State, ctx: &Ctx, input: &Value) -> Result<Value, MockError> {
    let name = req_str(input, "serviceName")?;
    service_exists(state, ctx, name)?;
    Ok(state
        .linked
        .service_syncs
        .get(name)
        .map_or_else(empty, |c| wrap("serviceSyncConfig", render_service(c))))
}

pub fn update_service(state: &mut State, ctx: &Ctx, input: &Value) -> Result<Value, MockError> {
    let name = req_str(input, "serviceName")?;
    let repository = repository_key(input)?;
    linked(state, &repository)?;
    let config = state
        .linked
        .service_syncs
        .get_mut(name)
        .ok_or_else(|| service_config_not_found(ctx, name))?;
    config.repository = repository;
    config.branch = req_str(input, "branch")?.to_string();
    config.file_path = req_str(input, "filePath")?.to_string();
    config.synced_at = ctx.now;
    config.sha = commit();
    Ok(wrap("serviceSyncConfig", render_service(config)))
}

pub fn delete_service(state: &mut State, ctx: &Ctx, input: &Value) -> Result<Value, MockError> {
    let name = req_str(input, "serviceName")?;
    let config = state
        .linked
        .service_syncs
        .remove(name)
        .ok_or_else(|| service_config_not_found(ctx, name))?;
    Ok(wrap("serviceSyncConfig", render_service(&config)))
}

/// Records that a service (or one of its instances) was changed by hand
/// while it is synced from Git: the user guide's service sync blocker.
/// Nothing happens when the service has no service sync config.
pub fn block(state: &mut State, ctx: &Ctx, service: &str, instance: Option<&str>, reason: &str) {
    if !state.linked.service_syncs.contains_key(service) {
        return;
    }
    let id = uuid::Uuid::new_v4().to_string();
    let mut contexts = vec![json!({"key": "serviceName", "value": service})];
    if let Some(instance) = instance {
        contexts.push(json!({"key": "serviceInstanceName", "value": instance}));
    }
    state.linked.blockers.insert(
        id.clone(),
        SyncBlocker {
            id,
            service_name: service.to_string(),
            service_instance_name: instance.map(str::to_string),
            created_at: ctx.now,
            created_reason: reason.to_string(),
            contexts,
            resolved: None,
        },
    );
}

fn render_blocker(b: &SyncBlocker) -> Value {
    let mut out = Obj::new()
        .value("contexts", Value::Array(b.contexts.clone()))
        .time("createdAt", b.created_at)
        .str("createdReason", &b.created_reason)
        .str("id", &b.id);
    if let Some((at, reason)) = &b.resolved {
        out = out.time("resolvedAt", *at).str("resolvedReason", reason);
    }
    out.str(
        "status",
        if b.resolved.is_some() {
            "RESOLVED"
        } else {
            "ACTIVE"
        },
    )
    .str("type", "AUTOMATED")
    .build()
}

fn instance_exists(
    state: &State,
    ctx: &Ctx,
    service: &str,
    instance: &str,
) -> Result<(), MockError> {
    let found = state
        .services
        .get(service)
        .ok_or_else(|| MockError::not_found("service", service_arn(ctx, service)))?;
    if state.instances.contains(service, instance) {
        Ok(())
    } else {
        Err(MockError::not_found(
            "service instance",
            format!("{}/service-instance/{instance}", found.arn),
        ))
    }
}

/// The blockers on the service itself (only `serviceName` given) or on one
/// instance, oldest first.
pub fn blocker_summary(state: &State, ctx: &Ctx, input: &Value) -> Result<Value, MockError> {
    let service = req_str(input, "serviceName")?;
    let instance = opt_str(input, "serviceInstanceName");
    match instance {
        Some(instance) => instance_exists(state, ctx, service, instance)?,
        None => service_exists(state, ctx, service)?,
    }
    let mut blockers: Vec<&SyncBlocker> = state
        .linked
        .blockers
        .values()
        .filter(|b| b.service_name == service && b.service_instance_name.as_deref() == instance)
        .collect();
    blockers.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    let summary = Obj::new()
        .value(
            "latestBlockers",
            Value::Array(blockers.into_iter().map(render_blocker).collect()),
        )
        .opt("serviceInstanceName", instance)
        .str("serviceName", service)
        .build();
    Ok(wrap("serviceSyncBlockerSummary", summary))
}

pub fn update_blocker(state: &mut State, ctx: &Ctx, input: &Value) -> Result<Value, MockError> {
    let id = req_str(input, "id")?;
    let reason = req_str(input, "resolvedReason")?;
    let blocker = state.linked.blockers.get_mut(id).ok_or_else(|| {
        MockError::not_found("service sync blocker", format!("service sync blocker {id}"))
    })?;
    if blocker.resolved.is_some() {
        return Err(MockError::Conflict(format!(
            "The service sync blocker {id} is already RESOLVED"
        )));
    }
    blocker.resolved = Some((ctx.now, reason.to_string()));
    Ok(Obj::new()
        .opt(
            "serviceInstanceName",
            blocker.service_instance_name.as_deref(),
        )
        .str("serviceName", &blocker.service_name)
        .value("serviceSyncBlocker", render_blocker(blocker))
        .build())
}

/// A synced instance's last sync: the spec file's directory on the config's
/// branch, synced when the config was last written. `{}` when the service
/// is not synced from Git.
pub fn instance_status(state: &State, ctx: &Ctx, input: &Value) -> Result<Value, MockError> {
    let service = req_str(input, "serviceName")?;
    let instance = req_str(input, "serviceInstanceName")?;
    instance_exists(state, ctx, service, instance)?;
    let Some(config) = state.linked.service_syncs.get(service) else {
        return Ok(empty());
    };
    let directory = match config.file_path.rsplit_once('/') {
        Some((dir, _)) if !dir.is_empty() => dir.to_string(),
        _ => ".".to_string(),
    };
    let desired = revision(&config.repository, &config.branch, &directory, &config.sha);
    let synced = attempt(&desired, instance, config.synced_at);
    Ok(Obj::new()
        .value("desiredState", desired)
        .value("latestSuccessfulSync", synced.clone())
        .value("latestSync", synced)
        .build())
}

pub fn dump(state: &State) -> Value {
    json!({
        "templateSyncConfigs": state.linked.template_syncs.values().map(render_template).collect::<Vec<_>>(),
        "serviceSyncConfigs": state.linked.service_syncs.values().map(render_service).collect::<Vec<_>>(),
        "serviceSyncBlockers": state.linked.blockers.values().map(render_blocker).collect::<Vec<_>>(),
    })
}

/// The service sync blockers a successful request creates: a service
/// instance created or updated by hand blocks that instance; a service
/// whose spec is updated by hand (which can remove instances) blocks the
/// service. Only services with a service sync config are blocked.
pub fn after_manual_change(operation: &str, state: &mut State, ctx: &Ctx, input: &Value) {
    let (service, instance) = match operation {
        "CreateServiceInstance" | "UpdateServiceInstance" => {
            match (opt_str(input, "serviceName"), opt_str(input, "name")) {
                (Some(service), Some(instance)) => (service, Some(instance)),
                _ => return,
            }
        }
        "UpdateService" if input.get("spec").is_some() => match opt_str(input, "name") {
            Some(service) => (service, None),
            None => return,
        },
        _ => return,
    };
    let reason = format!("{operation} was called outside service sync");
    block(state, ctx, service, instance, &reason);
}
