//! Directly defined components (the user guide's "AWS Proton components"):
//! created in an environment that has a component role, attached to a
//! service instance whose service template version supports
//! `DIRECTLY_DEFINED` sources, or detached. A deployment is IN_PROGRESS,
//! then SUCCEEDED (or an injected FAILED) after the environment deployment
//! duration, recorded in the deployment history with the other resources';
//! a cancelled one is CANCELLED; a delete is DELETE_IN_PROGRESS, then gone
//! (or an injected DELETE_FAILED). CreateComponent and UpdateComponent
//! follow the client-token rules.

use super::Detail;
use super::deployments;
use super::iac;
use super::{
    Ctx, Members, MockError, Obj, deleted_answer, list_output, opt_str, opt_string, paginate,
    req_str, tag_new, with_client_token, wrap,
};
use crate::mock::faults::FailurePoint;
use crate::mock::history::{DeploymentStatus, DeploymentTarget, TargetKind};
use crate::mock::state::{Component, Deployment, Due, Name, State, Target, TemplateKind};
use serde_json::Value;

const CREATE: &str = "CreateComponent";
const UPDATE: &str = "UpdateComponent";

fn arn(ctx: &Ctx, name: &str) -> String {
    ctx.arn(&format!("component/{name}"))
}

fn not_found(ctx: &Ctx, name: &str) -> MockError {
    MockError::not_found("component", arn(ctx, name))
}

fn render(c: &Component, detail: Detail) -> Value {
    let summary = detail == Detail::Summary;
    let full = !summary;
    let (service, instance) = match &c.attachment {
        Some((service, instance)) => (Some(service.as_str()), Some(instance.as_str())),
        None => (None, None),
    };
    let d = &c.deployment;
    let mut out = Obj::new()
        .str("arn", &c.arn)
        .time("createdAt", c.created_at)
        .str("deploymentStatus", d.phase.deployment_status())
        .opt("deploymentStatusMessage", d.status_message.as_deref())
        .opt("description", c.description.as_deref().filter(|_| full))
        .str("environmentName", &c.environment_name)
        .str("lastAttemptedDeploymentId", &d.attempted_id)
        .opt(
            "lastClientRequestToken",
            c.last_client_request_token.as_deref().filter(|_| full),
        )
        .time("lastDeploymentAttemptedAt", d.attempted_at);
    // The member is optional here: absent until a deployment succeeded.
    if d.succeeded_id.is_some() {
        out = out.time("lastDeploymentSucceededAt", d.succeeded_at);
    }
    out.time("lastModifiedAt", c.last_modified_at)
        .opt("lastSucceededDeploymentId", d.succeeded_id.as_deref())
        .str("name", &c.name)
        .opt("serviceInstanceName", instance)
        .opt("serviceName", service)
        .opt("serviceSpec", c.service_spec.as_deref().filter(|_| full))
        .build()
}

fn output(c: &Component) -> Value {
    wrap("component", render(c, Detail::Full))
}

/// Starts a deployment of the component as `c` describes it (`previous`:
/// its current deployment, for a redeploy), recorded in the history.
fn deploy(
    state: &mut State,
    ctx: &Ctx,
    c: &Component,
    previous: Option<&Deployment>,
) -> Deployment {
    let (service, instance) = match &c.attachment {
        Some((service, instance)) => (Some(service.clone()), Some(instance.clone())),
        None => (None, None),
    };
    let target = DeploymentTarget {
        kind: TargetKind::Component,
        arn: c.arn.as_str().into(),
        created_at: c.created_at,
        environment_name: c.environment_name.as_str().into(),
        service_name: service.as_deref().map(Name::from),
        service_instance_name: instance.as_deref().map(Name::from),
        component_name: Some(c.name.as_str().into()),
    };
    let target_state = wrap(
        "component",
        Obj::new()
            .opt("serviceInstanceName", instance.as_deref())
            .opt("serviceName", service.as_deref())
            .opt("serviceSpec", c.service_spec.as_deref())
            .str("templateFile", &c.template_file)
            .build(),
    );
    let until = ctx.after(ctx.config.durations.environment_deployment);
    deployments::start(state, ctx, target, target_state, previous, Some(until))
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
    let instance = state
        .instances
        .get(service_name, instance_name)
        .ok_or_else(|| {
            MockError::not_found(
                "service instance",
                format!("{}/service-instance/{instance_name}", service.arn),
            )
        })?;
    let supported = state
        .templates(TemplateKind::Service)
        .get(instance.template_name.as_str())
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
    Ok(instance.environment_name.to_string())
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
        let arn = arn(ctx, name);
        let mut component = Component {
            name: name.to_string(),
            arn: arn.clone(),
            created_at: ctx.now,
            last_modified_at: ctx.now,
            description: opt_string(input, "description"),
            environment_name,
            attachment,
            service_spec: opt_string(input, "serviceSpec"),
            template_file: template_file.to_string(),
            manifest: manifest.to_string(),
            last_client_request_token: opt_string(input, "clientToken"),
            deployment: Deployment::start(ctx.now, None, Default::default()),
        };
        // A resource created anew is not the one a retried delete removed.
        state.revive(&arn);
        component.deployment = deploy(state, ctx, &component, None);
        let deployment_id = component.deployment.attempted_id.to_string();
        let out = output(&component);
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
        paginate(input, items, |c| render(c, Detail::Summary))?,
    ))
}

pub fn update(state: &mut State, ctx: &Ctx, input: &Value) -> Result<Value, MockError> {
    let name = req_str(input, "name")?;
    let deployment_type = req_str(input, "deploymentType")?;
    with_client_token(state, ctx, UPDATE, input, existing, |state| {
        let current = find(state, ctx, name)?;
        let phase = current.deployment.phase;
        if phase.in_progress() || phase.deleting() {
            return Err(MockError::Conflict(format!(
                "The component {name} is {}; wait until it ends",
                phase.deployment_status()
            )));
        }
        if let Some((service, instance)) = &current.attachment {
            let instance_busy = state
                .instances
                .get(service, instance)
                .is_some_and(|i| i.deployment.phase.in_progress());
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
        let component = find_mut(state, ctx, name)?;
        if let Some(description) = opt_string(input, "description") {
            component.description = Some(description);
        }
        component.last_modified_at = ctx.now;
        component.last_client_request_token = opt_string(input, "clientToken");
        if deployment_type != "NONE" {
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
            let snapshot = component.clone();
            let next = deploy(state, ctx, &snapshot, Some(&snapshot.deployment));
            find_mut(state, ctx, name)?.deployment = next;
        }
        let component = find(state, ctx, name)?;
        let deployment_id = component.deployment.attempted_id.to_string();
        let out = output(component);
        Ok((Target::Component(name.to_string(), deployment_id), out))
    })
}

pub fn delete(state: &mut State, ctx: &Ctx, input: &Value) -> Result<Value, MockError> {
    let name = req_str(input, "name")?;
    let until = ctx.after(ctx.config.durations.deletion);
    let Some(component) = state.components.get(name) else {
        return deleted_answer(state, ctx, "component", arn(ctx, name));
    };
    let phase = component.deployment.phase;
    if phase.deleting() {
        return Ok(output(component));
    }
    if phase.in_progress() {
        return Err(MockError::Conflict(format!(
            "The component {name} is IN_PROGRESS; wait until its deployment ends"
        )));
    }
    if let Some((service, instance)) = &component.attachment {
        return Err(MockError::Conflict(format!(
            "The component {name} is attached to service instance {instance} of service {service}; detach it with UpdateComponent before deleting it"
        )));
    }
    let failure = state.faults.take(&component.arn, FailurePoint::Delete);
    let component = find_mut(state, ctx, name)?;
    component.deployment.start_delete(until, failure);
    component.last_modified_at = ctx.now;
    let out = output(component);
    state.schedule_for(until, Due::Component(name.to_string()));
    Ok(out)
}

pub fn cancel(state: &mut State, ctx: &Ctx, input: &Value) -> Result<Value, MockError> {
    let name = req_str(input, "componentName")?;
    let component = find_mut(state, ctx, name)?;
    if !component.deployment.phase.in_progress() {
        return Err(MockError::Conflict(format!(
            "The component {name} is {}; only a deployment IN_PROGRESS can be cancelled",
            component.deployment.phase.deployment_status()
        )));
    }
    let settled = component
        .deployment
        .end(DeploymentStatus::Cancelled, None, ctx.now);
    component.last_modified_at = ctx.now;
    let out = output(component);
    settled.record_in(&mut state.deployments);
    Ok(out)
}

/// ListComponentOutputs: the outputs of the asked (or current) deployment,
/// as NotifyResourceDeploymentStatusChange or the admin API set them; when
/// none were set, the keys of the template's outputs once it succeeded.
pub fn list_outputs(state: &State, ctx: &Ctx, input: &Value) -> Result<Value, MockError> {
    let component = find(state, ctx, req_str(input, "componentName")?)?;
    let id = opt_str(input, "deploymentId").unwrap_or(&component.deployment.attempted_id);
    let record = state
        .deployments
        .get(id)
        .filter(|d| d.target.arn == component.arn)
        .ok_or_else(|| MockError::not_found("deployment", ctx.arn(&format!("deployment/{id}"))))?;
    if !record.outputs.is_empty() {
        return deployments::outputs(state, ctx, &component.arn, &component.deployment, input);
    }
    let mut keys = if record.status == DeploymentStatus::Succeeded {
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

/// ListComponentProvisionedResources: what the admin API set, else the
/// template's resources once a deployment succeeded.
pub fn list_provisioned_resources(
    state: &State,
    ctx: &Ctx,
    input: &Value,
) -> Result<Value, MockError> {
    let component = find(state, ctx, req_str(input, "componentName")?)?;
    if state.provisioned_resources.contains_key(&component.arn) {
        return Ok(deployments::provisioned_resources(
            state,
            &component.arn,
            input,
        ));
    }
    let mut names = if component.deployment.succeeded_id.is_some() {
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

/// What components forbid of other resources (user guide, "Component
/// states"): deleting a service while a component is attached to one of its
/// instances, or an environment while components are in it.
pub fn guard(operation: &str, state: &State, input: &Value) -> Result<(), MockError> {
    let name = opt_str(input, "name");
    let blocking = match (operation, name) {
        ("DeleteService", Some(service)) => state.components.values().find(|c| {
            c.attachment
                .as_ref()
                .is_some_and(|(attached, _)| attached == service)
        }),
        ("DeleteEnvironment", Some(environment)) => state
            .components
            .values()
            .find(|c| c.environment_name == environment),
        _ => None,
    };
    match blocking {
        Some(component) => Err(MockError::Conflict(format!(
            "The component {} is {} {}; {} it first",
            component.name,
            if operation == "DeleteService" {
                "attached to an instance of service"
            } else {
                "in environment"
            },
            name.unwrap_or_default(),
            if operation == "DeleteService" {
                "detach"
            } else {
                "delete"
            },
        ))),
        None => Ok(()),
    }
}

pub fn dump(state: &State) -> Value {
    Value::Array(
        state
            .components
            .values()
            .map(|c| render(c, Detail::Full))
            .collect(),
    )
}
