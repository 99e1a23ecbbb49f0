//! Environments: deployed from an environment template version
//! (deploymentStatus IN_PROGRESS, then SUCCEEDED after the configured
//! duration), updated by redeploying, and deleted asynchronously
//! (DELETE_IN_PROGRESS, then gone).

use super::templates::resolve_version;
use super::{
    Ctx, MockError, Obj, deleted_answer, list_output, opt_str, opt_string, paginate, req_str,
    retry_create, tag_new, wrap,
};
use crate::mock::state::{
    ConnectionStatus, Creation, Deployment, Environment, Phase, State, TemplateKind,
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
    /// Create, Update and Delete: the documented answers carry no `spec`.
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
        .opt("description", e.description.as_deref())
        .opt(
            "environmentAccountConnectionId",
            e.environment_account_connection_id.as_deref(),
        )
        .opt("environmentAccountId", e.environment_account_id.as_deref())
        .str("lastAttemptedDeploymentId", &d.attempted_id)
        .time("lastDeploymentAttemptedAt", d.attempted_at)
        .time("lastDeploymentSucceededAt", d.succeeded_at)
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
        .num("templateMajorVersion", e.template_major)
        .num("templateMinorVersion", e.template_minor)
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
        let busy = matches!(existing.deployment.phase, Phase::DeleteInProgress { .. });
        retry_create(
            &existing.creation,
            input,
            &format!("The environment {name}"),
            busy,
        )?;
        return Ok(wrap("environment", render(existing, View::Answer)));
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
    let until = ctx.after(ctx.config.durations.environment_deployment);
    let environment = Environment {
        name: name.to_string(),
        arn: arn(ctx, name),
        created_at: ctx.now,
        description: opt_string(input, "description"),
        spec: opt_string(input, "spec"),
        template_name: template_name.to_string(),
        template_major: major,
        template_minor: minor,
        proton_service_role_arn: opt_string(input, "protonServiceRoleArn"),
        codebuild_role_arn: opt_string(input, "codebuildRoleArn"),
        component_role_arn: opt_string(input, "componentRoleArn"),
        environment_account_connection_id: connection_id,
        environment_account_id: account,
        provisioning,
        provisioning_repository: repository(ctx, input),
        deployment: Deployment::start(ctx.now, until, uuid::Uuid::new_v4().to_string()),
        creation: Creation::new(input.clone()),
    };
    let output = wrap("environment", render(&environment, View::Answer));
    state.schedule(until);
    state.revive(&environment.arn);
    tag_new(state, &environment.arn, input);
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
    let items = state
        .environments
        .iter()
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

pub fn update(state: &mut State, ctx: &Ctx, input: &Value) -> Result<Value, MockError> {
    let name = req_str(input, "name")?;
    let deployment_type = req_str(input, "deploymentType")?;
    let current = state
        .environments
        .get(name)
        .ok_or_else(|| MockError::not_found("environment", arn(ctx, name)))?;
    if matches!(current.deployment.phase, Phase::DeleteInProgress { .. }) {
        return Err(MockError::Conflict(format!(
            "The environment {name} is being deleted"
        )));
    }
    let redeploy = deployment_type != "NONE";
    let version = if redeploy {
        let major = opt_str(input, "templateMajorVersion")
            .map(str::to_string)
            .unwrap_or_else(|| current.template_major.to_string());
        let minor = match (opt_str(input, "templateMinorVersion"), deployment_type) {
            (Some(minor), _) => Some(minor.to_string()),
            (None, "MINOR_VERSION" | "MAJOR_VERSION") => None,
            (None, _) => Some(current.template_minor.to_string()),
        };
        let template = current.template_name.clone();
        Some(resolve_version(
            TemplateKind::Environment,
            state,
            ctx,
            &template,
            &major,
            minor.as_deref(),
        )?)
    } else {
        None
    };
    let account = match opt_str(input, "environmentAccountConnectionId") {
        Some(id) => Some((id.to_string(), connected_account(state, ctx, id)?)),
        None => None,
    };
    let until = ctx.after(ctx.config.durations.environment_deployment);
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
    if let Some(repository) = repository(ctx, input) {
        environment.provisioning_repository = Some(repository);
    }
    if let Some((major, minor)) = version {
        if let Some(spec) = opt_string(input, "spec") {
            environment.spec = Some(spec);
        }
        environment.template_major = major;
        environment.template_minor = minor;
        environment
            .deployment
            .restart(ctx.now, until, uuid::Uuid::new_v4().to_string());
    }
    environment.creation.modified = true;
    let output = wrap("environment", render(environment, View::Answer));
    if redeploy {
        state.schedule(until);
    }
    Ok(output)
}

pub fn delete(state: &mut State, ctx: &Ctx, input: &Value) -> Result<Value, MockError> {
    let name = req_str(input, "name")?;
    let until = ctx.after(ctx.config.durations.deletion);
    let Some(environment) = state.environments.get_mut(name) else {
        return deleted_answer(state, ctx, "environment", arn(ctx, name));
    };
    if !matches!(environment.deployment.phase, Phase::DeleteInProgress { .. }) {
        environment.deployment.phase = Phase::DeleteInProgress { until };
        let output = wrap("environment", render(environment, View::Answer));
        state.schedule(until);
        return Ok(output);
    }
    Ok(wrap("environment", render(environment, View::Answer)))
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
