//! Directly defined components (the user guide's "AWS Proton components"):
//! created in an environment that has a component role, attached to a
//! service instance whose service template version supports
//! `DIRECTLY_DEFINED` sources, or detached. A deployment is IN_PROGRESS,
//! then SUCCEEDED after the environment deployment duration; a cancelled one
//! is CANCELLING, then CANCELLED; a delete is DELETE_IN_PROGRESS, then gone.
//! CreateComponent and UpdateComponent follow the client-token rules.

use super::iac;
use super::{
    Ctx, MockError, Obj, deleted_answer, list_output, opt_str, opt_string, paginate, req_str,
    tag_new, with_client_token, wrap,
};
use crate::mock::faults::FailurePoint;
use crate::mock::state::{Component, ComponentStatus, State, Target, TemplateKind};
use serde_json::Value;

const CREATE: &str = "CreateComponent";
const UPDATE: &str = "UpdateComponent";

fn arn(ctx: &Ctx, name: &str) -> String {
    ctx.arn(&format!("component/{name}"))
}

fn not_found(ctx: &Ctx, name: &str) -> MockError {
    MockError::not_found("component", arn(ctx, name))
}

fn render(c: &Component, summary: bool) -> Value {
    let full = !summary;
    let (service, instance) = match &c.attachment {
        Some((service, instance)) => (Some(service.as_str()), Some(instance.as_str())),
        None => (None, None),
    };
    let mut out = Obj::new()
        .str("arn", &c.arn)
        .time("createdAt", c.created_at)
        .str("deploymentStatus", c.status.as_str())
        .opt("deploymentStatusMessage", c.status_message.as_deref())
        .opt("description", c.description.as_deref().filter(|_| full))
        .str("environmentName", &c.environment_name)
        .str("lastAttemptedDeploymentId", &c.attempted_id)
        .opt(
            "lastClientRequestToken",
            c.last_client_request_token.as_deref().filter(|_| full),
        )
        .time("lastDeploymentAttemptedAt", c.attempted_at);
    if let Some(at) = c.succeeded_at {
        out = out.time("lastDeploymentSucceededAt", at);
    }
    out.time("lastModifiedAt", c.last_modified_at)
        .opt("lastSucceededDeploymentId", c.succeeded_id.as_deref())
        .str("name", &c.name)
        .opt("serviceInstanceName", instance)
        .opt("serviceName", service)
        .opt("serviceSpec", c.service_spec.as_deref().filter(|_| full))
        .build()
}

fn output(c: &Component) -> Value {
    wrap("component", render(c, false))
}

fn find<'a>(state: &'a State, ctx: &Ctx, name: &str) -> Result<&'a Component, MockError> {
    state
        .components
        .get(name)
        .ok_or_else(|| not_found(ctx, name))
}

fn find_mut<'a>(
    state: &'a mut State,
    ctx: &Ctx,
    name: &str,
) -> Result<&'a mut Component, MockError> {
    state
        .components
        .get_mut(name)
        .ok_or_else(|| not_found(ctx, name))
}

/// The service instance a request names (`serviceName` and
/// `serviceInstanceName`): `Some(None)` when both are empty (detach, in
/// UpdateComponent), `None` when both are absent.
fn requested_attachment(input: &Value) -> Result<Option<Option<(String, String)>>, MockError> {
    match (
        opt_str(input, "serviceName"),
        opt_str(input, "serviceInstanceName"),
    ) {
        (None, None) => Ok(None),
        (Some(""), Some("")) => Ok(Some(None)),
        (Some(service), Some(instance)) if !service.is_empty() && !instance.is_empty() => {
            Ok(Some(Some((service.to_string(), instance.to_string()))))
        }
        _ => Err(MockError::Validation(
            "Specify both serviceName and serviceInstanceName, or neither of them".to_string(),
        )),
    }
}

/// The environment of the service instance a component is attached to,
/// once the instance's template version allows directly defined components.
fn attachable(
    state: &State,
    ctx: &Ctx,
    service_name: &str,
    instance_name: &str,
) -> Result<String, MockError> {
    let service = state.services.get(service_name).ok_or_else(|| {
        MockError::not_found("service", ctx.arn(&format!("service/{service_name}")))
    })?;
    let instance = service.instances.get(instance_name).ok_or_else(|| {
        MockError::not_found(
            "service instance",
            format!("{}/service-instance/{instance_name}", service.arn),
        )
    })?;
    let supported = state
        .templates(TemplateKind::Service)
        .get(&instance.template_name)
        .and_then(|t| {
            t.versions
                .get(&(instance.template_major, instance.template_minor))
        })
        .and_then(|v| v.supported_component_sources.as_ref())
        .and_then(Value::as_array)
        .is_some_and(|sources| sources.iter().any(|s| s == "DIRECTLY_DEFINED"));
    if !supported {
        return Err(MockError::Validation(format!(
            "The service instance {instance_name} of service {service_name} runs service template {}:{}.{}, whose supportedComponentSources does not include DIRECTLY_DEFINED; components cannot be attached to it",
            instance.template_name, instance.template_major, instance.template_minor
        )));
    }
    Ok(instance.environment_name.clone())
}

/// An environment components can be provisioned in: it exists and has a
/// component role (self-managed environments need none).
fn component_environment(state: &State, ctx: &Ctx, name: &str) -> Result<(), MockError> {
    let environment = state.environments.get(name).ok_or_else(|| {
        MockError::not_found("environment", ctx.arn(&format!("environment/{name}")))
    })?;
    if environment.component_role_arn.is_none() && environment.provisioning_repository.is_none() {
        return Err(MockError::Validation(format!(
            "The environment {name} has no componentRoleArn, so directly defined components cannot be provisioned in it; set one with UpdateEnvironment"
        )));
    }
    Ok(())
}

/// The component a client token made, as it is now.
fn existing(state: &State, target: &Target) -> Option<Value> {
    match target {
        Target::Component(name, _) => state.components.get(name).map(output),
        _ => None,
    }
}

pub fn create(state: &mut State, ctx: &Ctx, input: &Value) -> Result<Value, MockError> {
    let name = req_str(input, "name")?;
    let manifest = req_str(input, "manifest")?;
    let template_file = req_str(input, "templateFile")?;
    with_client_token(state, ctx, CREATE, input, existing, |state| {
        if state.components.contains_key(name) {
            return Err(MockError::Conflict(format!(
                "A component named {name} already exists"
            )));
        }
        let attachment = match requested_attachment(input)? {
            Some(Some(pair)) => Some(pair),
            Some(None) => {
                return Err(MockError::Validation(
                    "serviceName and serviceInstanceName cannot be empty in CreateComponent; leave both out to create a detached component".to_string(),
                ));
            }
            None => None,
        };
        let environment_name = match (&attachment, opt_str(input, "environmentName")) {
            (Some((service, instance)), given) => {
                let environment = attachable(state, ctx, service, instance)?;
                if given.is_some_and(|given| given != environment) {
                    return Err(MockError::Validation(format!(
                        "The service instance {instance} is in environment {environment}, not {}",
                        given.unwrap_or_default()
                    )));
                }
                environment
            }
            (None, Some(environment)) => environment.to_string(),
            (None, None) => {
                return Err(MockError::Validation(
                    "Specify environmentName for a component that is not attached to a service instance".to_string(),
                ));
            }
        };
        if attachment.is_none() && input.get("serviceSpec").is_some() {
            return Err(MockError::Validation(
                "serviceSpec can only be set on a component attached to a service instance"
                    .to_string(),
            ));
        }
        component_environment(state, ctx, &environment_name)?;
        let until = ctx.after(ctx.config.durations.environment_deployment);
        let deployment_id = uuid::Uuid::new_v4().to_string();
        let component = Component {
            name: name.to_string(),
            arn: arn(ctx, name),
            created_at: ctx.now,
            last_modified_at: ctx.now,
            description: opt_string(input, "description"),
            environment_name,
            attachment,
            service_spec: opt_string(input, "serviceSpec"),
            template_file: template_file.to_string(),
            manifest: manifest.to_string(),
            last_client_request_token: opt_string(input, "clientToken"),
            status: ComponentStatus::InProgress { until },
            status_message: None,
            attempted_at: ctx.now,
            succeeded_at: None,
            attempted_id: deployment_id.clone(),
            succeeded_id: None,
            fail_next: state.faults.take(&arn(ctx, name), FailurePoint::Deployment),
        };
        let out = output(&component);
        state.schedule(until);
        state.revive(&component.arn);
        tag_new(state, &component.arn, input);
        state.components.insert(name.to_string(), component);
        Ok((Target::Component(name.to_string(), deployment_id), out))
    })
}

pub fn get(state: &State, ctx: &Ctx, input: &Value) -> Result<Value, MockError> {
    find(state, ctx, req_str(input, "name")?).map(output)
}

pub fn list(state: &State, input: &Value) -> Result<Value, MockError> {
    let environment = opt_str(input, "environmentName");
    let service = opt_str(input, "serviceName");
    let instance = opt_str(input, "serviceInstanceName");
    if instance.is_some() && service.is_none() {
        return Err(MockError::Validation(
            "serviceInstanceName needs serviceName: a service instance is named within its service"
                .to_string(),
        ));
    }
    let items = state
        .components
        .iter()
        .filter(|(_, c)| environment.is_none_or(|e| c.environment_name == e))
        .filter(|(_, c)| {
            let attached = c.attachment.as_ref();
            service.is_none_or(|s| attached.is_some_and(|(cs, _)| cs == s))
                && instance.is_none_or(|i| attached.is_some_and(|(_, ci)| ci == i))
        })
        .map(|(name, c)| (name.clone(), c));
    Ok(list_output(
        "components",
        paginate(input, items, |c| render(c, true))?,
    ))
}

pub fn update(state: &mut State, ctx: &Ctx, input: &Value) -> Result<Value, MockError> {
    let name = req_str(input, "name")?;
    let deployment_type = req_str(input, "deploymentType")?;
    with_client_token(state, ctx, UPDATE, input, existing, |state| {
        let current = find(state, ctx, name)?;
        if current.status.busy() {
            return Err(MockError::Conflict(format!(
                "The component {name} is {}; wait until its deployment ends",
                current.status.as_str()
            )));
        }
        if let Some((service, instance)) = &current.attachment {
            let instance_busy = state
                .services
                .get(service)
                .and_then(|s| s.instances.get(instance))
                .is_some_and(|i| i.deployment.phase.deployment_status() == "IN_PROGRESS");
            if instance_busy {
                return Err(MockError::Conflict(format!(
                    "The service instance {instance} the component {name} is attached to is being deployed; wait until its deployment ends"
                )));
            }
        }
        let requested = requested_attachment(input)?;
        let attachment = match (deployment_type, &requested) {
            ("NONE", _) => {
                let others = [
                    "serviceName",
                    "serviceInstanceName",
                    "serviceSpec",
                    "templateFile",
                ];
                if let Some(member) = others.iter().find(|m| input.get(**m).is_some()) {
                    return Err(MockError::Validation(format!(
                        "deploymentType NONE only updates the description; {member} needs deploymentType CURRENT_VERSION"
                    )));
                }
                current.attachment.clone()
            }
            (_, None) => current.attachment.clone(),
            (_, Some(None)) => None,
            (_, Some(Some((service, instance)))) => {
                if let Some((cs, ci)) = &current.attachment {
                    if cs != service || ci != instance {
                        return Err(MockError::Conflict(format!(
                            "The component {name} is attached to service instance {ci} of service {cs}; detach it (empty serviceName and serviceInstanceName) before attaching it to another"
                        )));
                    }
                } else {
                    let environment = attachable(state, ctx, service, instance)?;
                    if environment != current.environment_name {
                        return Err(MockError::Validation(format!(
                            "The service instance {instance} is in environment {environment}, but the component {name} is in environment {}",
                            current.environment_name
                        )));
                    }
                }
                Some((service.clone(), instance.clone()))
            }
        };
        let spec = opt_string(input, "serviceSpec");
        if attachment.is_none() && spec.is_some() {
            return Err(MockError::Validation(
                "serviceSpec can only be set on a component attached to a service instance"
                    .to_string(),
            ));
        }
        let until = ctx.after(ctx.config.durations.environment_deployment);
        let failure = (deployment_type != "NONE")
            .then(|| state.faults.take(&arn(ctx, name), FailurePoint::Deployment))
            .flatten();
        let component = find_mut(state, ctx, name)?;
        if let Some(description) = opt_string(input, "description") {
            component.description = Some(description);
        }
        component.last_modified_at = ctx.now;
        component.last_client_request_token = opt_string(input, "clientToken");
        let redeploy = deployment_type != "NONE";
        if redeploy {
            if attachment.is_none() {
                component.service_spec = None;
            }
            component.attachment = attachment;
            if let Some(spec) = spec {
                component.service_spec = Some(spec);
            }
            if let Some(file) = opt_string(input, "templateFile") {
                component.template_file = file;
            }
            component.deploy(ctx.now, until, uuid::Uuid::new_v4().to_string());
            component.fail_next = failure;
        }
        let deployment_id = component.attempted_id.clone();
        let out = output(component);
        if redeploy {
            state.schedule(until);
        }
        Ok((Target::Component(name.to_string(), deployment_id), out))
    })
}

pub fn delete(state: &mut State, ctx: &Ctx, input: &Value) -> Result<Value, MockError> {
    let name = req_str(input, "name")?;
    let until = ctx.after(ctx.config.durations.deletion);
    let Some(component) = state.components.get_mut(name) else {
        return deleted_answer(state, ctx, "component", arn(ctx, name));
    };
    match component.status {
        ComponentStatus::DeleteInProgress { .. } => return Ok(output(component)),
        ComponentStatus::InProgress { .. } | ComponentStatus::Cancelling { .. } => {
            return Err(MockError::Conflict(format!(
                "The component {name} is {}; wait until its deployment ends",
                component.status.as_str()
            )));
        }
        _ => {}
    }
    if let Some((service, instance)) = &component.attachment {
        return Err(MockError::Conflict(format!(
            "The component {name} is attached to service instance {instance} of service {service}; detach it with UpdateComponent before deleting it"
        )));
    }
    let failure = state.faults.take(&arn(ctx, name), FailurePoint::Delete);
    let Some(component) = state.components.get_mut(name) else {
        return Err(MockError::not_found("component", arn(ctx, name)));
    };
    component.fail_next = failure;
    component.status = ComponentStatus::DeleteInProgress { until };
    component.status_message = None;
    component.last_modified_at = ctx.now;
    let out = output(component);
    state.schedule(until);
    Ok(out)
}

pub fn cancel(state: &mut State, ctx: &Ctx, input: &Value) -> Result<Value, MockError> {
    let name = req_str(input, "componentName")?;
    let until = ctx.after(ctx.config.durations.environment_deployment);
    let component = find_mut(state, ctx, name)?;
    if !matches!(component.status, ComponentStatus::InProgress { .. }) {
        return Err(MockError::Conflict(format!(
            "The component {name} is {}; only a deployment IN_PROGRESS can be cancelled",
            component.status.as_str()
        )));
    }
    component.status = ComponentStatus::Cancelling { until };
    component.last_modified_at = ctx.now;
    let out = output(component);
    state.schedule(until);
    Ok(out)
}

/// The deployment a request asks about must be one of the component's.
fn check_deployment(c: &Component, ctx: &Ctx, input: &Value) -> Result<(), MockError> {
    match opt_str(input, "deploymentId") {
        Some(id) if id != c.attempted_id && c.succeeded_id.as_deref() != Some(id) => Err(
            MockError::not_found("deployment", ctx.arn(&format!("deployment/{id}"))),
        ),
        _ => Ok(()),
    }
}

/// Whether the component's infrastructure exists: a deployment succeeded.
fn provisioned(c: &Component) -> bool {
    c.succeeded_id.is_some()
}

pub fn list_outputs(state: &State, ctx: &Ctx, input: &Value) -> Result<Value, MockError> {
    let component = find(state, ctx, req_str(input, "componentName")?)?;
    check_deployment(component, ctx, input)?;
    let mut keys = if provisioned(component) {
        iac::outputs(&component.template_file)
    } else {
        Vec::new()
    };
    keys.sort();
    keys.dedup();
    let items = keys.into_iter().map(|key| (key.clone(), key));
    let page = paginate(input, items, |key| Obj::new().str("key", &key).build())?;
    Ok(list_output("outputs", page))
}

pub fn list_provisioned_resources(
    state: &State,
    ctx: &Ctx,
    input: &Value,
) -> Result<Value, MockError> {
    let component = find(state, ctx, req_str(input, "componentName")?)?;
    let mut names = if provisioned(component) {
        iac::resources(&component.template_file)
    } else {
        Vec::new()
    };
    names.sort();
    names.dedup();
    let engine = iac::engine(&component.manifest);
    let items = names.into_iter().map(|name| (name.clone(), name));
    let page = paginate(input, items, |name| {
        Obj::new()
            .str("identifier", &format!("{}-{name}", component.name))
            .str("name", &name)
            .str("provisioningEngine", engine)
            .build()
    })?;
    Ok(list_output("provisionedResources", page))
}

pub fn dump(state: &State) -> Value {
    Value::Array(
        state
            .components
            .values()
            .map(|c| render(c, false))
            .collect(),
    )
}
