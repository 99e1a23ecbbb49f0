//! Deployments: how every resource starts one ([`start`]), the history
//! operations (GetDeployment, ListDeployments, DeleteDeployment), outputs
//! and provisioned resources, and NotifyResourceDeploymentStatusChange, with
//! which self-managed provisioning ends a deployment.

use super::Detail;
use super::{
    Ctx, Members, MockError, Obj, list_output, opt_str, page_start, paginate, req_str, timestamp,
    version_number, wrap,
};
use crate::mock::clock::Millis;
use crate::mock::faults::FailurePoint;
use crate::mock::history::{
    DeploymentRecord, DeploymentStatus, DeploymentTarget, Listing, NewDeployment, TargetKind,
};
use crate::mock::state::{Deployment, DeploymentId, Due, Settled, State};
use serde_json::{Map, Value};

/// Starts a deployment of `target` that ends at `until` (`None`: when
/// self-managed provisioning notifies). `previous` is the resource's current
/// deployment for a redeploy, `None` for a new resource. Consumes a failure
/// injected for the target's next deployment, records the deployment in the
/// history and returns the resource's new [`Deployment`].
pub fn start(
    state: &mut State,
    ctx: &Ctx,
    target: DeploymentTarget,
    target_state: Value,
    previous: Option<&Deployment>,
    until: Option<Millis>,
) -> Deployment {
    let mut buffer = uuid::Uuid::encode_buffer();
    let id: &str = uuid::Uuid::new_v4().hyphenated().encode_lower(&mut buffer);
    let inline_id = DeploymentId::new(id);
    let (kind, environment, service, instance, component) = (
        target.kind,
        target.environment_name.to_string(),
        target.service_name.as_deref().map(str::to_string),
        target.service_instance_name.as_deref().map(str::to_string),
        target.component_name.as_deref().map(str::to_string),
    );
    let mut deployment = match previous {
        Some(previous) => {
            let mut d = previous.clone();
            d.restart(ctx.now, until, inline_id);
            d
        }
        None => Deployment::start(ctx.now, until, inline_id),
    };
    deployment.failure = state.faults.take(&target.arn, FailurePoint::Deployment);
    state.deployments.start(
        NewDeployment {
            id: inline_id,
            arn: ctx.arn(&format!("deployment/{id}")).into(),
            target,
            target_state,
            last_succeeded_id: previous.and_then(|p| p.succeeded_id),
            last_attempted_id: previous.map(|p| p.attempted_id),
        },
        ctx.now,
    );
    if let Some(until) = until {
        match kind {
            TargetKind::Environment => state.schedule_for(until, Due::Environment(environment)),
            TargetKind::ServicePipeline => {
                state.schedule_for(until, Due::Pipeline(service.unwrap_or_default()))
            }
            TargetKind::ServiceInstance => state.schedule_for(
                until,
                Due::Instance(service.unwrap_or_default(), instance.unwrap_or_default()),
            ),
            TargetKind::Component => {
                state.schedule_for(until, Due::Component(component.unwrap_or_default()))
            }
        }
    }
    deployment
}

/// `{templateName, templateMajorVersion, templateMinorVersion, spec?}`: the
/// state every resource kind deploys.
pub fn template_state(name: &str, major: u64, minor: u64, spec: Option<&str>) -> Obj {
    Obj::new()
        .opt("spec", spec)
        .num("templateMajorVersion", major)
        .num("templateMinorVersion", minor)
        .str("templateName", name)
}

fn render(d: &DeploymentRecord, detail: Detail) -> Value {
    let summary = detail == Detail::Summary;
    let t = &d.target;
    let mut out = Obj::new()
        .str("arn", &d.arn)
        .opt_value("completedAt", d.completed_at.map(timestamp).as_ref())
        .opt("componentName", t.component_name.as_deref())
        .time("createdAt", d.created_at)
        .str("deploymentStatus", d.status.as_str());
    if !summary {
        out = out.opt("deploymentStatusMessage", d.status_message.as_deref());
    }
    out = out
        .str("environmentName", &t.environment_name)
        .str("id", &d.id);
    if !summary {
        out = out.opt_value("initialState", d.initial_state.as_deref());
    }
    out = out
        .opt("lastAttemptedDeploymentId", d.last_attempted_id.as_deref())
        .time("lastModifiedAt", d.last_modified_at)
        .opt("lastSucceededDeploymentId", d.last_succeeded_id.as_deref())
        .opt("serviceInstanceName", t.service_instance_name.as_deref())
        .opt("serviceName", t.service_name.as_deref())
        .str("targetArn", &t.arn)
        .time("targetResourceCreatedAt", t.created_at)
        .str("targetResourceType", t.kind.as_str());
    if !summary {
        out = out.value("targetState", Value::clone(&d.target_state));
    }
    out.build()
}

fn not_found(ctx: &Ctx, id: &str) -> MockError {
    MockError::not_found("deployment", ctx.arn(&format!("deployment/{id}")))
}

/// Whether `d` matches the name filters of GetDeployment and ListDeployments.
fn matches(d: &DeploymentRecord, input: &Value) -> bool {
    let t = &d.target;
    let is = |member: &str, value: Option<&str>| {
        opt_str(input, member).is_none_or(|wanted| value == Some(wanted))
    };
    is("environmentName", Some(t.environment_name.as_str()))
        && is("serviceName", t.service_name.as_deref())
        && is("serviceInstanceName", t.service_instance_name.as_deref())
        && is("componentName", t.component_name.as_deref())
}

pub fn get(state: &State, ctx: &Ctx, input: &Value) -> Result<Value, MockError> {
    let id = req_str(input, "id")?;
    let record = state
        .deployments
        .get(id)
        .filter(|d| matches(d, input))
        .ok_or_else(|| not_found(ctx, id))?;
    Ok(wrap("deployment", render(record, Detail::Full)))
}

/// Newest first.
pub fn list(state: &State, input: &Value) -> Result<Value, MockError> {
    if opt_str(input, "serviceInstanceName").is_some() && opt_str(input, "serviceName").is_none() {
        return Err(MockError::Validation(
            "serviceInstanceName needs serviceName: a service instance is named within its service"
                .into(),
        ));
    }
    let listing = listing(input);
    let start = page_start(input)?;
    let items = state
        .deployments
        .listing(&listing, start.as_deref())
        .filter(|(_, d)| matches(d, input));
    Ok(list_output(
        "deployments",
        paginate(input, items, |d| render(d, Detail::Summary))?,
    ))
}

/// Asks for the index slot where ListDeployments of `input` finds its listing.
pub fn prefetch_listing(state: &State, input: &Value) {
    state.deployments.prefetch_listing(&listing(input));
}

/// The narrowest listing the input's filters name; the other filters are
/// checked on its records.
fn listing(input: &Value) -> Listing<'_> {
    let name = |member| opt_str(input, member);
    match (
        name("componentName"),
        name("serviceName"),
        name("serviceInstanceName"),
        name("environmentName"),
    ) {
        (Some(component), ..) => Listing::Component(component),
        (None, Some(service), Some(instance), _) => Listing::ServiceInstance(service, instance),
        (None, Some(service), None, _) => Listing::Service(service),
        (None, None, _, Some(environment)) => Listing::Environment(environment),
        (None, None, _, None) => Listing::All,
    }
}

/// A deployment can be deleted once it ended and no resource names it as its
/// last attempted or last succeeded deployment.
pub fn delete(state: &mut State, ctx: &Ctx, input: &Value) -> Result<Value, MockError> {
    let id = req_str(input, "id")?;
    let record = state
        .deployments
        .get(id)
        .ok_or_else(|| not_found(ctx, id))?;
    // DeleteDeployment declares no ConflictException: a deployment that
    // cannot go is a ValidationException.
    if record.status == DeploymentStatus::InProgress {
        return Err(MockError::Validation(format!(
            "The deployment {id} is IN_PROGRESS; wait until it ends or cancel it before deleting it"
        )));
    }
    let current = state
        .deployments
        .of_target(record.target.name())
        .last()
        .is_some_and(|latest| latest.id.as_str() == id);
    let succeeded = current_deployment(state, &record.target.arn)
        .is_some_and(|d| d.succeeded_id.as_deref() == Some(id) || d.attempted_id.as_str() == id);
    if current || succeeded {
        return Err(MockError::Validation(format!(
            "The deployment {id} is the current deployment of {}; only earlier deployments can be deleted",
            record.target.arn
        )));
    }
    let output = wrap("deployment", render(record, Detail::Full));
    state.deployments.remove(id);
    Ok(output)
}

/// The current deployment of the resource at `arn`.
pub fn current_deployment<'s>(state: &'s State, arn: &str) -> Option<&'s Deployment> {
    match ResourceRef::parse(arn)? {
        ResourceRef::Environment(name) => state.environments.get(name).map(|e| &e.deployment),
        ResourceRef::ServiceInstance(service, name) => {
            state.instances.get(service, name).map(|i| &i.deployment)
        }
        ResourceRef::ServicePipeline(service) => state
            .services
            .get(service)?
            .pipeline
            .as_ref()
            .filter(|p| p.arn == arn)
            .map(|p| &p.deployment),
        ResourceRef::Component(name) => state.components.get(name).map(|c| &c.deployment),
    }
}

fn current_deployment_mut<'s>(state: &'s mut State, arn: &str) -> Option<&'s mut Deployment> {
    match ResourceRef::parse(arn)? {
        ResourceRef::Environment(name) => {
            state.environments.get_mut(name).map(|e| &mut e.deployment)
        }
        ResourceRef::ServiceInstance(service, name) => state
            .instances
            .get_mut(service, name)
            .map(|i| &mut i.deployment),
        ResourceRef::ServicePipeline(service) => state
            .services
            .get_mut(service)?
            .pipeline
            .as_mut()
            .filter(|p| p.arn == arn)
            .map(|p| &mut p.deployment),
        ResourceRef::Component(name) => state.components.get_mut(name).map(|c| &mut c.deployment),
    }
}

/// A deployable resource, from its ARN.
enum ResourceRef<'a> {
    Environment(&'a str),
    ServiceInstance(&'a str, &'a str),
    ServicePipeline(&'a str),
    Component(&'a str),
}

impl<'a> ResourceRef<'a> {
    fn parse(arn: &'a str) -> Option<Self> {
        // arn:aws:proton:<region>:<account>:<resource>
        let resource = arn.splitn(6, ':').nth(5)?;
        let parts: Vec<&str> = resource.split('/').collect();
        match parts.as_slice() {
            ["environment", name] => Some(Self::Environment(name)),
            ["service", service, "service-instance", name] => {
                Some(Self::ServiceInstance(service, name))
            }
            ["service", service, "pipeline", _] => Some(Self::ServicePipeline(service)),
            ["component", name] => Some(Self::Component(name)),
            _ => None,
        }
    }
}

/// `outputs` as `[{key, valueString}]`, whatever the input held.
fn outputs_of(input: &Value) -> Vec<Value> {
    input
        .get("outputs")
        .and_then(Value::as_array)
        .map(|outputs| {
            outputs
                .iter()
                .filter_map(|o| {
                    let key = opt_str(o, "key")?;
                    let mut out = Map::new();
                    out.insert("key".into(), key.into());
                    if let Some(value) = opt_str(o, "valueString") {
                        out.insert("valueString".into(), value.into());
                    }
                    Some(Value::Object(out))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// NotifyResourceDeploymentStatusChange: self-managed provisioning (or a
/// CodeBuild provisioning step) reports outputs and the end of the
/// resource's current deployment.
pub fn notify(state: &mut State, ctx: &Ctx, input: &Value) -> Result<Value, MockError> {
    let arn = req_str(input, "resourceArn")?;
    let deployment =
        current_deployment(state, arn).ok_or_else(|| MockError::not_found("resource", arn))?;
    let id = deployment.attempted_id.to_string();
    if let Some(given) = opt_str(input, "deploymentId") {
        if given != id {
            return Err(MockError::Validation(format!(
                "The deployment {given} is not the current deployment of {arn} ({id}); notify the current one"
            )));
        }
    }
    let status = match opt_str(input, "status") {
        Some("SUCCEEDED") => Some(DeploymentStatus::Succeeded),
        Some("FAILED") => Some(DeploymentStatus::Failed),
        _ => None,
    };
    if status.is_some() && !deployment.phase.in_progress() {
        return Err(MockError::Conflict(format!(
            "The deployment {id} of {arn} is {}, not IN_PROGRESS; there is nothing to notify",
            deployment.phase.deployment_status()
        )));
    }
    if input.get("outputs").is_some() {
        if let Some(record) = state.deployments.get_mut(&id) {
            record.outputs = outputs_of(input);
        }
    }
    if let Some(status) = status {
        let message = opt_str(input, "statusMessage").map(str::to_string);
        let settled = current_deployment_mut(state, arn)
            .map(|d| d.end(status, message, ctx.now))
            .unwrap_or(Settled::Nothing);
        settled.record_in(&mut state.deployments);
    }
    Ok(Value::Object(Map::new()))
}

/// The outputs of deployment `deployment_id` of the resource at `arn`, or of
/// its current deployment.
pub fn outputs(
    state: &State,
    ctx: &Ctx,
    arn: &str,
    deployment: &Deployment,
    input: &Value,
) -> Result<Value, MockError> {
    let id = opt_str(input, "deploymentId").unwrap_or(&deployment.attempted_id);
    let record = state
        .deployments
        .get(id)
        .filter(|d| d.target.arn == arn)
        .ok_or_else(|| not_found(ctx, id))?;
    Ok(single_page("outputs", record.outputs.clone(), input))
}

/// The provisioned resources set for `arn` through the admin API.
pub fn provisioned_resources(state: &State, arn: &str, input: &Value) -> Value {
    let resources = state
        .provisioned_resources
        .get(arn)
        .cloned()
        .unwrap_or_default();
    single_page("provisionedResources", resources, input)
}

/// Outputs and provisioned resources fit in one page: a nextToken (the
/// model's `EmptyNextToken`) gives the empty rest.
fn single_page(member: &str, items: Vec<Value>, input: &Value) -> Value {
    let items = if opt_str(input, "nextToken").is_some_and(|t| !t.is_empty()) {
        Vec::new()
    } else {
        items
    };
    list_output(member, (items, None))
}

/// Sets the outputs of the current deployment of the resource at `arn`
/// (admin API); false when there is no such resource.
pub fn set_outputs(state: &mut State, arn: &str, outputs: &Value) -> bool {
    let Some(id) = current_deployment(state, arn).map(|d| d.attempted_id) else {
        return false;
    };
    if let Some(record) = state.deployments.get_mut(&id) {
        record.outputs = outputs_of(&serde_json::json!({ "outputs": outputs }));
    }
    true
}

/// The major and minor version a redeploy of `deploymentType` moves to,
/// before resolving: `None` for NONE.
pub fn requested_version(
    input: &Value,
    current: (u64, u64),
) -> Result<Option<(String, Option<String>)>, MockError> {
    let deployment_type = req_str(input, "deploymentType")?;
    let major = opt_str(input, "templateMajorVersion");
    let minor = opt_str(input, "templateMinorVersion");
    Ok(match deployment_type {
        "NONE" => None,
        "CURRENT_VERSION" => {
            if major.is_some() || minor.is_some() {
                return Err(MockError::Validation(
                    "deploymentType CURRENT_VERSION keeps the version in use; leave out templateMajorVersion and templateMinorVersion".into(),
                ));
            }
            Some((current.0.to_string(), Some(current.1.to_string())))
        }
        "MINOR_VERSION" => {
            if major.is_some_and(|m| version_number(m) != Some(current.0)) {
                return Err(MockError::Validation(format!(
                    "deploymentType MINOR_VERSION stays in major version {}; use MAJOR_VERSION to change it",
                    current.0
                )));
            }
            Some((current.0.to_string(), minor.map(str::to_string)))
        }
        _ => {
            let major = major.map(str::to_string);
            if major
                .as_deref()
                .and_then(version_number)
                .is_some_and(|m| m <= current.0)
            {
                return Err(MockError::Validation(format!(
                    "deploymentType MAJOR_VERSION moves to a major version higher than {}",
                    current.0
                )));
            }
            // Without a major version: the recommended one, resolved by the caller.
            Some((major.unwrap_or_default(), minor.map(str::to_string)))
        }
    })
}

/// Every deployment record, oldest first, for the state dump.
pub fn dump(state: &State) -> Value {
    let mut records: Vec<&DeploymentRecord> = state.deployments.all().collect();
    records.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    Value::Array(
        records
            .into_iter()
            .map(|d| render(d, Detail::Full))
            .collect(),
    )
}
