//! Environments: deployed from an environment template version
//! (deploymentStatus IN_PROGRESS, then SUCCEEDED after the configured
//! duration), updated by redeploying, and deleted asynchronously
//! (DELETE_IN_PROGRESS, then gone).

use super::templates::{resolve_redeploy, resolve_version};
use super::{
    Ctx, Members, MockError, Obj, deleted_answer, list_output, opt_str, opt_string, paginate,
    req_str, retry_create, tag_new, wrap,
};
use super::{deployments, from_start, page_start, spec};
use crate::mock::faults::FailurePoint;
use crate::mock::history::{DeploymentStatus, DeploymentTarget, TargetKind};
use crate::mock::state::{
    ConnectionStatus, Creation, Due, Environment, State, TemplateKind, VersionUser,
};
use serde_json::Value;

fn arn(ctx: &Ctx, name: &str) -> String {
    ctx.arn(&format!("environment/{name}"))
}

/// How much of an environment an answer shows.
#[derive(Clone, Copy, PartialEq, Eq)]
enum View {
    /// List entries (EnvironmentSummary).
    Summary,
    /// Create: the documented create-environment outputs (AWS Proton user
    /// guide, "Create an environment") carry no `spec`, no
    /// `lastDeploymentSucceededAt` and no template version.
    Created,
    /// Update and Delete: the documented answers carry no `spec`.
    Answer,
    /// Get: everything, `spec` included.
    Full,
}

fn render(e: &Environment, view: View) -> Value {
    let summary = view == View::Summary;
    let d = &e.deployment;
    Obj::new()
        .str("arn", &e.arn)
        .opt(
            "codebuildRoleArn",
            if summary {
                None
            } else {
                e.codebuild_role_arn.as_deref()
            },
        )
        .opt("componentRoleArn", e.component_role_arn.as_deref())
        .time("createdAt", e.created_at)
        .str("deploymentStatus", d.phase.deployment_status())
        .opt(
            "deploymentStatusMessage",
            d.status_message.as_deref().filter(|_| !summary),
        )
        .opt("description", e.description.as_deref())
        .opt(
            "environmentAccountConnectionId",
            e.environment_account_connection_id.as_deref(),
        )
        .opt("environmentAccountId", e.environment_account_id.as_deref())
        .str("lastAttemptedDeploymentId", &d.attempted_id)
        .time("lastDeploymentAttemptedAt", d.attempted_at)
        .when(view != View::Created, |o| {
            o.time("lastDeploymentSucceededAt", d.succeeded_at)
        })
        .opt("lastSucceededDeploymentId", d.succeeded_id.as_deref())
        .str("name", &e.name)
        .opt("protonServiceRoleArn", e.proton_service_role_arn.as_deref())
        .opt("provisioning", e.provisioning.as_deref())
        .opt_value(
            "provisioningRepository",
            if summary {
                None
            } else {
                e.provisioning_repository.as_ref()
            },
        )
        .opt(
            "spec",
            if view == View::Full {
                e.spec.as_deref()
            } else {
                None
            },
        )
        .when(view != View::Created, |o| {
            o.num("templateMajorVersion", e.template_major)
                .num("templateMinorVersion", e.template_minor)
        })
        .str("templateName", &e.template_name)
        .build()
}

/// The environment account an environment is deployed in, through a
/// connection that must be CONNECTED.
fn connected_account(state: &State, ctx: &Ctx, id: &str) -> Result<String, MockError> {
    let connection = state.connections.get(id).ok_or_else(|| {
        MockError::not_found(
            "environment account connection",
            ctx.arn(&format!("environment-account-connection/{id}")),
        )
    })?;
    if connection.status != ConnectionStatus::Connected {
        return Err(MockError::Validation(format!(
            "The environment account connection {id} is {}; accept it before deploying through it",
            connection.status.as_str()
        )));
    }
    Ok(connection.environment_account_id.clone())
}

/// `provisioningRepository` in its output shape, with the repository ARN.
fn repository(ctx: &Ctx, input: &Value) -> Option<Value> {
    let repo = input.get("provisioningRepository")?;
    let provider = opt_str(repo, "provider")?;
    let name = opt_str(repo, "name")?;
    let arn = ctx.arn(&format!(
        "repository/{}:{name}",
        provider.to_ascii_lowercase()
    ));
    Some(
        Obj::new()
            .str("arn", &arn)
            .opt("branch", opt_str(repo, "branch"))
            .str("name", name)
            .str("provider", provider)
            .build(),
    )
}

pub fn create(state: &mut State, ctx: &Ctx, input: &Value) -> Result<Value, MockError> {
    let name = req_str(input, "name")?;
    if let Some(existing) = state.environments.get(name) {
        let busy = existing.deployment.phase.deleting();
        retry_create(
            &existing.creation,
            input,
            &format!("The environment {name}"),
            busy,
        )?;
        return Ok(wrap("environment", render(existing, View::Created)));
    }
    let template_name = req_str(input, "templateName")?;
    let (major, minor) = resolve_version(
        TemplateKind::Environment,
        state,
        ctx,
        template_name,
        req_str(input, "templateMajorVersion")?,
        opt_str(input, "templateMinorVersion"),
    )?;
    let connection_id = opt_string(input, "environmentAccountConnectionId");
    let account = match &connection_id {
        Some(id) => Some(connected_account(state, ctx, id)?),
        None => None,
    };
    let provisioning = state
        .templates(TemplateKind::Environment)
        .get(template_name)
        .and_then(|t| t.provisioning.clone());
    let spec = opt_string(input, "spec");
    if let Some(spec) = &spec {
        spec::check(spec).map_err(|problem| {
            MockError::Validation(format!("The environment spec is not usable: {problem}"))
        })?;
    }
    let environment_arn = arn(ctx, name);
    let provisioning_repository = repository(ctx, input);
    let until = deployment_end(
        ctx,
        provisioning.as_deref(),
        provisioning_repository.is_some(),
    );
    let target_state = environment_state(template_name, major, minor, spec.as_deref());
    let deployment = deployments::start(
        state,
        ctx,
        target(&environment_arn, name, ctx.now),
        target_state,
        None,
        until,
    );
    let environment = Environment {
        name: name.to_string(),
        arn: environment_arn,
        created_at: ctx.now,
        description: opt_string(input, "description"),
        spec,
        template_name: template_name.to_string(),
        template_major: major,
        template_minor: minor,
        proton_service_role_arn: opt_string(input, "protonServiceRoleArn"),
        codebuild_role_arn: opt_string(input, "codebuildRoleArn"),
        component_role_arn: opt_string(input, "componentRoleArn"),
        environment_account_connection_id: connection_id,
        environment_account_id: account,
        provisioning,
        provisioning_repository,
        deployment,
        creation: Creation::new(input.clone()),
    };
    let output = wrap("environment", render(&environment, View::Created));
    state.revive(&environment.arn);
    tag_new(state, &environment.arn, input);
    state.use_version(
        TemplateKind::Environment,
        template_name,
        (major, minor),
        VersionUser::Environment(name.to_string()),
    );
    state.environments.insert(name.to_string(), environment);
    Ok(output)
}

pub fn get(state: &State, ctx: &Ctx, input: &Value) -> Result<Value, MockError> {
    let name = req_str(input, "name")?;
    let environment = state
        .environments
        .get(name)
        .ok_or_else(|| MockError::not_found("environment", arn(ctx, name)))?;
    Ok(wrap("environment", render(environment, View::Full)))
}

pub fn list(state: &State, input: &Value) -> Result<Value, MockError> {
    let filters: Vec<(&str, &str)> = input
        .get("environmentTemplates")
        .and_then(Value::as_array)
        .map(|filters| {
            filters
                .iter()
                .filter_map(|f| Some((opt_str(f, "templateName")?, opt_str(f, "majorVersion")?)))
                .collect()
        })
        .unwrap_or_default();
    let start = page_start(input)?;
    let items = from_start(&state.environments, start.as_deref())
        .filter(|(_, e)| {
            filters.is_empty()
                || filters.iter().any(|(name, major)| {
                    e.template_name == *name && e.template_major.to_string() == *major
                })
        })
        .map(|(name, e)| (name.clone(), e));
    Ok(list_output(
        "environments",
        paginate(input, items, |e| render(e, View::Summary))?,
    ))
}

/// When a deployment started now ends: after the configured duration, or
/// never by itself for self-managed provisioning (a `CUSTOMER_MANAGED`
/// template or a provisioning repository), which waits for
/// NotifyResourceDeploymentStatusChange.
fn deployment_end(ctx: &Ctx, provisioning: Option<&str>, repository: bool) -> Option<u64> {
    (provisioning != Some("CUSTOMER_MANAGED") && !repository)
        .then(|| ctx.after(ctx.config.durations.environment_deployment))
}

/// Whether deployments of the environment `name` are self-managed.
pub fn self_managed(state: &State, name: &str) -> bool {
    state.environments.get(name).is_some_and(|e| {
        e.provisioning.as_deref() == Some("CUSTOMER_MANAGED") || e.provisioning_repository.is_some()
    })
}

fn target(arn: &str, name: &str, created_at: u64) -> DeploymentTarget {
    DeploymentTarget {
        kind: TargetKind::Environment,
        arn: arn.into(),
        created_at,
        environment_name: name.into(),
        service_name: None,
        service_instance_name: None,
        component_name: None,
    }
}

fn environment_state(template: &str, major: u64, minor: u64, spec: Option<&str>) -> Value {
    wrap(
        "environment",
        deployments::template_state(template, major, minor, spec).build(),
    )
}

fn find<'s>(state: &'s State, ctx: &Ctx, name: &str) -> Result<&'s Environment, MockError> {
    state
        .environments
        .get(name)
        .ok_or_else(|| MockError::not_found("environment", arn(ctx, name)))
}

pub fn update(state: &mut State, ctx: &Ctx, input: &Value) -> Result<Value, MockError> {
    let name = req_str(input, "name")?;
    let current = find(state, ctx, name)?;
    if current.deployment.phase.deleting() {
        return Err(MockError::Conflict(format!(
            "The environment {name} is being deleted"
        )));
    }
    if current.deployment.phase.in_progress() {
        return Err(MockError::Conflict(format!(
            "The environment {name} has a deployment IN_PROGRESS; wait until it ends or cancel it with CancelEnvironmentDeployment"
        )));
    }
    let requested =
        deployments::requested_version(input, (current.template_major, current.template_minor))?;
    let template = current.template_name.clone();
    let version = requested
        .map(|requested| {
            resolve_redeploy(TemplateKind::Environment, state, ctx, &template, requested)
        })
        .transpose()?;
    if let Some(spec) = opt_str(input, "spec") {
        spec::check(spec).map_err(|problem| {
            MockError::Validation(format!("The environment spec is not usable: {problem}"))
        })?;
    }
    let account = match opt_str(input, "environmentAccountConnectionId") {
        Some(id) => Some((id.to_string(), connected_account(state, ctx, id)?)),
        None => None,
    };
    let repository = repository(ctx, input);
    let Some(environment) = state.environments.get_mut(name) else {
        return Err(MockError::not_found("environment", arn(ctx, name)));
    };
    for (member, field) in [
        ("description", &mut environment.description),
        (
            "protonServiceRoleArn",
            &mut environment.proton_service_role_arn,
        ),
        ("codebuildRoleArn", &mut environment.codebuild_role_arn),
        ("componentRoleArn", &mut environment.component_role_arn),
    ] {
        if let Some(value) = opt_string(input, member) {
            *field = Some(value);
        }
    }
    if let Some((id, account)) = account {
        environment.environment_account_connection_id = Some(id);
        environment.environment_account_id = Some(account);
    }
    if let Some(repository) = repository {
        environment.provisioning_repository = Some(repository);
    }
    environment.creation.modified = true;
    if let Some((major, minor)) = version {
        if let Some(spec) = opt_string(input, "spec") {
            environment.spec = Some(spec);
        }
        let old_version = (environment.template_major, environment.template_minor);
        environment.template_major = major;
        environment.template_minor = minor;
        let until = deployment_end(
            ctx,
            environment.provisioning.as_deref(),
            environment.provisioning_repository.is_some(),
        );
        let previous = environment.deployment.clone();
        let target = target(&environment.arn, name, environment.created_at);
        let target_state = environment_state(&template, major, minor, environment.spec.as_deref());
        let deployment =
            deployments::start(state, ctx, target, target_state, Some(&previous), until);
        if let Some(environment) = state.environments.get_mut(name) {
            environment.deployment = deployment;
        }
        state.move_version_user(
            TemplateKind::Environment,
            &template,
            old_version,
            (major, minor),
            VersionUser::Environment(name.to_string()),
        );
    }
    let environment = find(state, ctx, name)?;
    Ok(wrap("environment", render(environment, View::Answer)))
}

pub fn delete(state: &mut State, ctx: &Ctx, input: &Value) -> Result<Value, MockError> {
    let name = req_str(input, "name")?;
    let until = ctx.after(ctx.config.durations.deletion);
    let Some(environment) = state.environments.get(name) else {
        return deleted_answer(state, ctx, "environment", arn(ctx, name));
    };
    if environment.deployment.phase.deleting() {
        return Ok(wrap("environment", render(environment, View::Answer)));
    }
    // The user guide: an environment with service instances (or components)
    // deployed to it cannot be deleted.
    let instances: Vec<String> = state
        .services
        .values()
        .flat_map(|s| state.instances.of(&s.name).map(move |i| (s, i)))
        .filter(|(_, i)| i.environment_name == name)
        .map(|(s, i)| format!("{}/{}", s.name, i.name))
        .take(3)
        .collect();
    if !instances.is_empty() {
        return Err(MockError::Conflict(format!(
            "The environment {name} has service instances deployed to it ({}); delete them or their services first",
            instances.join(", ")
        )));
    }
    let arn = environment.arn.clone();
    let failure = state.faults.take(&arn, FailurePoint::Delete);
    let Some(environment) = state.environments.get_mut(name) else {
        return Err(MockError::not_found("environment", arn));
    };
    environment.deployment.start_delete(until, failure);
    let output = wrap("environment", render(environment, View::Answer));
    state.schedule_for(until, Due::Environment(name.to_string()));
    Ok(output)
}

pub fn cancel(state: &mut State, ctx: &Ctx, input: &Value) -> Result<Value, MockError> {
    let name = req_str(input, "environmentName")?;
    let environment = state
        .environments
        .get_mut(name)
        .ok_or_else(|| MockError::not_found("environment", arn(ctx, name)))?;
    if !environment.deployment.phase.in_progress() {
        return Err(MockError::Conflict(format!(
            "The environment {name} has no deployment IN_PROGRESS to cancel (deploymentStatus {})",
            environment.deployment.phase.deployment_status()
        )));
    }
    let settled = environment
        .deployment
        .end(DeploymentStatus::Cancelled, None, ctx.now);
    let output = wrap("environment", render(environment, View::Answer));
    settled.record_in(&mut state.deployments);
    Ok(output)
}

pub fn list_outputs(state: &State, ctx: &Ctx, input: &Value) -> Result<Value, MockError> {
    let name = req_str(input, "environmentName")?;
    let environment = find(state, ctx, name)?;
    deployments::outputs(state, ctx, &environment.arn, &environment.deployment, input)
}

pub fn list_provisioned_resources(
    state: &State,
    ctx: &Ctx,
    input: &Value,
) -> Result<Value, MockError> {
    let name = req_str(input, "environmentName")?;
    let environment = find(state, ctx, name)?;
    Ok(deployments::provisioned_resources(
        state,
        &environment.arn,
        input,
    ))
}

pub fn dump(state: &State) -> Value {
    Value::Array(
        state
            .environments
            .values()
            .map(|e| render(e, View::Full))
            .collect(),
    )
}
