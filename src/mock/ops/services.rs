//! Services, with the pipeline and service instances their spec asks for.
//! A service is CREATE_IN_PROGRESS, then ACTIVE after the configured
//! duration, its instances and pipeline deploying alongside; UpdateService
//! with a new spec adds the instances it names and deletes those it dropped
//! (UPDATE_IN_PROGRESS, then ACTIVE); DeleteService is asynchronous
//! (DELETE_IN_PROGRESS, then gone with its instances). Instances and the
//! pipeline are also created, updated and cancelled on their own, and list
//! their outputs and provisioned resources.

use super::Detail;
use super::environments::self_managed;
use super::spec;
use super::templates::{resolve_redeploy, resolve_version};
use super::{
    Ctx, Members, MockError, Obj, PositionKey, deleted_answer, deployments, from_start,
    list_output, list_text, opt_str, opt_string, page, page_start, paginate, req_str, retry_create,
    same_except, tag_new, with_client_token, without, wrap, wrap_text,
};
use crate::mock::clock::Millis;
use crate::mock::faults::FailurePoint;
use crate::mock::history::{DeploymentStatus, DeploymentTarget, TargetKind, TargetName};
use crate::mock::state::{
    Creation, Deployment, Due, Pipeline, Service, ServiceInstance, ServicePart, ServiceStatus,
    State, Target, TemplateKind, VersionStatus, VersionUser,
};
use serde_json::Value;
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::sync::Arc;

fn arn(ctx: &Ctx, name: &str) -> String {
    ctx.arn(&format!("service/{name}"))
}

fn not_found(ctx: &Ctx, name: &str) -> MockError {
    MockError::not_found("service", arn(ctx, name))
}

fn instance_arn(service_arn: &str, name: &str) -> String {
    format!("{service_arn}/service-instance/{name}")
}

fn instance_not_found(ctx: &Ctx, service: &str, name: &str) -> MockError {
    MockError::not_found("service instance", instance_arn(&arn(ctx, service), name))
}

fn render_deployment(out: Obj, d: &Deployment, detail: Detail) -> Obj {
    let summary = detail == Detail::Summary;
    out.str("deploymentStatus", d.phase.deployment_status())
        .opt(
            "deploymentStatusMessage",
            d.status_message.as_deref().filter(|_| !summary),
        )
        .str("lastAttemptedDeploymentId", &d.attempted_id)
        .time("lastDeploymentAttemptedAt", d.attempted_at)
        .time("lastDeploymentSucceededAt", d.succeeded_at)
        .opt("lastSucceededDeploymentId", d.succeeded_id.as_deref())
}

fn render_pipeline(p: &Pipeline) -> Value {
    let out = Obj::new()
        .str("arn", &p.arn)
        .time("createdAt", p.created_at);
    render_deployment(out, &p.deployment, Detail::Full)
        .str("spec", &p.spec)
        .num("templateMajorVersion", p.template_major)
        .num("templateMinorVersion", p.template_minor)
        .str("templateName", &p.template_name)
        .build()
}

/// How much of a service or service instance an answer shows.
#[derive(Clone, Copy, PartialEq, Eq)]
enum View {
    /// List entries (ServiceSummary, ServiceInstanceSummary).
    Summary,
    /// Create, Update and Delete: the documented answers carry no `spec`.
    Answer,
    /// Get (and the state dump): everything, `spec` included.
    Full,
}

fn render(s: &Service, view: View) -> Value {
    let full = view != View::Summary;
    Obj::new()
        .str("arn", &s.arn)
        .opt("branchName", s.branch_name.as_deref().filter(|_| full))
        .time("createdAt", s.created_at)
        .opt("description", s.description.as_deref())
        .time("lastModifiedAt", s.last_modified_at)
        .str("name", &s.name)
        .opt_value(
            "pipeline",
            s.pipeline
                .as_ref()
                .filter(|_| full)
                .map(render_pipeline)
                .as_ref(),
        )
        .opt(
            "repositoryConnectionArn",
            s.repository_connection_arn.as_deref().filter(|_| full),
        )
        .opt("repositoryId", s.repository_id.as_deref().filter(|_| full))
        .opt("spec", Some(s.spec.as_str()).filter(|_| view == View::Full))
        .str("status", s.status.as_str())
        .opt("statusMessage", s.status_message.as_deref())
        .str("templateName", &s.template_name)
        .build()
}

fn render_instance(service: &str, i: &ServiceInstance, view: View) -> Value {
    instance_members(Obj::new(), service, i, view).build()
}

/// A service instance's members, in the order a tree sorts them (which
/// interleaves the deployment's members with the instance's own).
fn instance_members<M: Members>(out: M, service: &str, i: &ServiceInstance, view: View) -> M {
    let summary = view == View::Summary;
    let d = &i.deployment;
    let token = i.last_client_token.as_ref().filter(|_| !summary);
    out.str("arn", &i.arn)
        .time("createdAt", i.created_at)
        .str("deploymentStatus", d.phase.deployment_status())
        .opt(
            "deploymentStatusMessage",
            d.status_message.as_deref().filter(|_| !summary),
        )
        .str("environmentName", &i.environment_name)
        .str("lastAttemptedDeploymentId", &d.attempted_id)
        .opt(
            "lastClientRequestToken",
            token.map(|(token, _)| token.as_str()),
        )
        .time("lastDeploymentAttemptedAt", d.attempted_at)
        .time("lastDeploymentSucceededAt", d.succeeded_at)
        .opt("lastSucceededDeploymentId", d.succeeded_id.as_deref())
        .str("name", &i.name)
        .str("serviceName", service)
        .opt("spec", Some(&*i.spec).filter(|_| view == View::Full))
        .num("templateMajorVersion", i.template_major)
        .num("templateMinorVersion", i.template_minor)
        .str("templateName", &i.template_name)
}

fn read_spec(text: &str) -> Result<spec::ServiceSpec, MockError> {
    spec::parse(text).map_err(|problem| {
        MockError::Validation(format!("The service spec is not usable: {problem}"))
    })
}

/// Instances can only be deployed to environments that exist and are not
/// being deleted.
fn check_environments<'a>(
    state: &State,
    ctx: &Ctx,
    mut names: impl Iterator<Item = &'a str>,
) -> Result<(), MockError> {
    names.try_for_each(|name| match state.environments.get(name) {
        None => Err(MockError::not_found(
            "environment",
            ctx.arn(&format!("environment/{name}")),
        )),
        Some(e) if e.deployment.phase.deleting() => Err(MockError::Conflict(format!(
            "The environment {name} is being deleted; service instances cannot be deployed to it"
        ))),
        Some(_) => Ok(()),
    })
}

fn instance_target(service: &str, i: &ServiceInstance) -> DeploymentTarget {
    DeploymentTarget {
        kind: TargetKind::ServiceInstance,
        arn: i.arn.as_str().into(),
        created_at: i.created_at,
        environment_name: i.environment_name.as_str().into(),
        service_name: Some(service.into()),
        service_instance_name: Some(i.name.as_str().into()),
        component_name: None,
    }
}

/// The `DeploymentState` of an instance, with the environment and pipeline
/// deployments it builds on.
fn instance_state(state: &State, service: &Service, i: &ServiceInstance) -> Value {
    let environment = state
        .environments
        .get(i.environment_name.as_str())
        .and_then(|e| e.deployment.succeeded_id.as_deref());
    let pipeline = service
        .pipeline
        .as_ref()
        .and_then(|p| p.deployment.succeeded_id.as_deref());
    let inner = deployments::template_state(
        &i.template_name,
        i.template_major,
        i.template_minor,
        Some(&*i.spec),
    )
    .opt("lastSuccessfulEnvironmentDeploymentId", environment)
    .opt("lastSuccessfulServicePipelineDeploymentId", pipeline)
    .build();
    wrap("serviceInstance", inner)
}

fn pipeline_target(state: &State, service: &Service, p: &Pipeline) -> DeploymentTarget {
    DeploymentTarget {
        kind: TargetKind::ServicePipeline,
        arn: p.arn.as_str().into(),
        created_at: p.created_at,
        // A pipeline belongs to no environment; the model requires one.
        environment_name: state
            .instances
            .of(&service.name)
            .next()
            .map(|i| i.environment_name.as_str().into())
            .unwrap_or_default(),
        service_name: Some(service.name.as_str().into()),
        service_instance_name: None,
        component_name: None,
    }
}

fn pipeline_state(p: &Pipeline) -> Value {
    wrap(
        "servicePipeline",
        deployments::template_state(
            &p.template_name,
            p.template_major,
            p.template_minor,
            Some(&p.spec),
        )
        .build(),
    )
}

/// When an instance's deployment started now ends: never by itself in a
/// self-managed environment.
fn instance_end(state: &State, ctx: &Ctx, environment: &str) -> Option<Millis> {
    (!self_managed(state, environment)).then(|| ctx.after(ctx.config.durations.service_creation))
}

/// Starts the deployment of the instance `name` of `service` (first or
/// next, `previous`) and stores it.
fn deploy_instance(state: &mut State, ctx: &Ctx, service: &str, name: &str, first: bool) {
    let Some(s) = state.services.get(service) else {
        return;
    };
    let Some(i) = state.instances.get(service, name) else {
        return;
    };
    let target = instance_target(service, i);
    let target_state = instance_state(state, s, i);
    let previous = (!first).then(|| i.deployment.clone());
    let until = instance_end(state, ctx, &i.environment_name);
    let deployment = deployments::start(state, ctx, target, target_state, previous.as_ref(), until);
    if let Some(i) = state.instances.get_mut(service, name) {
        i.deployment = deployment;
    }
}

fn deploy_pipeline(state: &mut State, ctx: &Ctx, service: &str, first: bool) {
    let Some(s) = state.services.get(service) else {
        return;
    };
    let Some(p) = s.pipeline.as_ref() else {
        return;
    };
    let target = pipeline_target(state, s, p);
    let target_state = pipeline_state(p);
    let previous = (!first).then(|| p.deployment.clone());
    let until = Some(ctx.after(ctx.config.durations.service_creation));
    let deployment = deployments::start(state, ctx, target, target_state, previous.as_ref(), until);
    if let Some(p) = state
        .services
        .get_mut(service)
        .and_then(|s| s.pipeline.as_mut())
    {
        p.deployment = deployment;
    }
}

/// A new instance of `service`, not yet deployed.
fn new_instance(
    service: &Service,
    ctx: &Ctx,
    name: &str,
    environment: &str,
    spec: Arc<str>,
    (major, minor): (u64, u64),
) -> ServiceInstance {
    ServiceInstance {
        name: name.into(),
        arn: instance_arn(&service.arn, name).into(),
        created_at: ctx.now,
        environment_name: environment.into(),
        spec,
        template_name: service.template_name.as_str().into(),
        template_major: major,
        template_minor: minor,
        deployment: Deployment::start(ctx.now, None, Default::default()),
        last_client_token: None,
    }
}

/// Adds the instances of `spec` that the service does not have yet and
/// starts their deployments.
fn add_instances(state: &mut State, ctx: &Ctx, name: &str, spec: &spec::ServiceSpec) {
    let Some(service) = state.services.get(name) else {
        return;
    };
    let mut added = Vec::new();
    // The instances made here share one copy of the spec.
    let mut shared: Option<Arc<str>> = None;
    for (instance, environment) in &spec.instances {
        if state.instances.contains(name, instance) {
            continue;
        }
        let version = (service.template_major, service.template_minor);
        let spec = Arc::clone(shared.get_or_insert_with(|| service.spec.as_str().into()));
        let new = new_instance(service, ctx, instance, environment, spec, version);
        state.instances.insert(name, new);
        added.push(instance.clone());
    }
    let (template, version) = (
        service.template_name.clone(),
        (service.template_major, service.template_minor),
    );
    for instance in added {
        state.use_version(
            TemplateKind::Service,
            &template,
            version,
            VersionUser::Service(name.to_string(), ServicePart::Instance(instance.clone())),
        );
        let arn = instance_arn(&arn(ctx, name), &instance);
        state.revive(&arn);
        deploy_instance(state, ctx, name, &instance, true);
    }
}

pub fn create(state: &mut State, ctx: &Ctx, input: &Value) -> Result<Value, MockError> {
    let name = req_str(input, "name")?;
    if let Some(existing) = state.services.get(name) {
        let busy = existing.deleting();
        retry_create(
            &existing.creation,
            input,
            &format!("The service {name}"),
            busy,
        )?;
        return Ok(wrap("service", render(existing, View::Answer)));
    }
    let template_name = req_str(input, "templateName")?;
    let (major, minor) = resolve_version(
        TemplateKind::Service,
        state,
        ctx,
        template_name,
        req_str(input, "templateMajorVersion")?,
        opt_str(input, "templateMinorVersion"),
    )?;
    let spec_text = req_str(input, "spec")?;
    let spec = read_spec(spec_text)?;
    check_environments(state, ctx, spec.instances.iter().map(|(_, e)| e.as_str()))?;
    let customer_managed_pipeline = state
        .templates(TemplateKind::Service)
        .get(template_name)
        .and_then(|t| t.provisioning.as_deref())
        == Some("CUSTOMER_MANAGED");
    let until = ctx.after(ctx.config.durations.service_creation);
    let service_arn = arn(ctx, name);
    let pipeline = (spec.pipeline && !customer_managed_pipeline).then(|| Pipeline {
        arn: format!("{service_arn}/pipeline/{}", uuid::Uuid::new_v4()),
        created_at: ctx.now,
        spec: spec_text.to_string(),
        template_name: template_name.to_string(),
        template_major: major,
        template_minor: minor,
        deployment: Deployment::start(ctx.now, None, Default::default()),
    });
    let failure = state.faults.take(&service_arn, FailurePoint::Deployment);
    let service = Service {
        name: name.to_string(),
        arn: service_arn,
        created_at: ctx.now,
        last_modified_at: ctx.now,
        description: opt_string(input, "description"),
        spec: spec_text.to_string(),
        template_name: template_name.to_string(),
        template_major: major,
        template_minor: minor,
        branch_name: opt_string(input, "branchName"),
        repository_connection_arn: opt_string(input, "repositoryConnectionArn"),
        repository_id: opt_string(input, "repositoryId"),
        status: ServiceStatus::CreateInProgress { until },
        status_message: None,
        failure,
        failed_deployment: None,
        pipeline,
        creation: Creation::new(input.clone()),
    };
    state.schedule_for(until, Due::Service(name.to_string()));
    state.revive(&service.arn);
    tag_new(state, &service.arn, input);
    if service.pipeline.is_some() {
        state.use_version(
            TemplateKind::Service,
            template_name,
            (major, minor),
            VersionUser::Service(name.to_string(), ServicePart::Pipeline),
        );
    }
    state.services.insert(name.to_string(), service);
    add_instances(state, ctx, name, &spec);
    deploy_pipeline(state, ctx, name, true);
    service_answer(state, ctx, name, View::Answer)
}

fn service_answer(state: &State, ctx: &Ctx, name: &str, view: View) -> Result<Value, MockError> {
    let service = state
        .services
        .get(name)
        .ok_or_else(|| not_found(ctx, name))?;
    service.warm();
    Ok(wrap("service", render(service, view)))
}

pub fn get(state: &State, ctx: &Ctx, input: &Value) -> Result<Value, MockError> {
    service_answer(state, ctx, req_str(input, "name")?, View::Full)
}

pub fn list(state: &State, input: &Value) -> Result<Value, MockError> {
    let start = page_start(input)?;
    let items = from_start(&state.services, start.as_deref()).map(|(name, s)| (name.clone(), s));
    Ok(list_output(
        "services",
        paginate(input, items, |s| render(s, View::Summary))?,
    ))
}

/// A service whose create, update or delete is under way cannot change.
fn check_settled(service: &Service) -> Result<(), MockError> {
    match service.status {
        ServiceStatus::CreateInProgress { .. }
        | ServiceStatus::UpdateInProgress { .. }
        | ServiceStatus::DeleteInProgress { .. } => Err(MockError::Conflict(format!(
            "The service {} is {}; wait until it is ACTIVE",
            service.name,
            service.status.as_str()
        ))),
        _ => Ok(()),
    }
}

pub fn update(state: &mut State, ctx: &Ctx, input: &Value) -> Result<Value, MockError> {
    let name = req_str(input, "name")?;
    let spec = opt_str(input, "spec")
        .map(|text| read_spec(text).map(|parsed| (text, parsed)))
        .transpose()?;
    let service = state
        .services
        .get(name)
        .ok_or_else(|| not_found(ctx, name))?;
    check_settled(service)?;
    if let Some((_, parsed)) = &spec {
        let new = parsed
            .instances
            .iter()
            .filter(|(i, _)| !state.instances.contains(name, i))
            .map(|(_, e)| e.as_str());
        check_environments(state, ctx, new)?;
    }
    let until = ctx.after(ctx.config.durations.service_creation);
    let delete_until = ctx.after(ctx.config.durations.deletion);
    let service_arn = service.arn.clone();
    let failure = spec
        .as_ref()
        .and_then(|_| state.faults.take(&service_arn, FailurePoint::Deployment));
    let Some(service) = state.services.get_mut(name) else {
        return Err(not_found(ctx, name));
    };
    if let Some(description) = opt_string(input, "description") {
        service.description = Some(description);
    }
    service.last_modified_at = ctx.now;
    service.creation.modified = true;
    let Some((text, parsed)) = spec else {
        return Ok(wrap("service", render(service, View::Answer)));
    };
    service.spec = text.to_string();
    service.status = ServiceStatus::UpdateInProgress { until };
    service.status_message = None;
    service.failure = failure;
    // Instances the new spec no longer names are deleted.
    let dropped: Vec<String> = state
        .instances
        .of(name)
        .map(|i| i.name.as_str())
        .filter(|i| !parsed.instances.iter().any(|(n, _)| n == *i))
        .map(str::to_string)
        .collect();
    let mut delete_failures = Vec::new();
    for instance in &dropped {
        let arn = instance_arn(&service_arn, instance);
        delete_failures.push(state.faults.take(&arn, FailurePoint::Delete));
    }
    let Some(service) = state.services.get_mut(name) else {
        return Err(not_found(ctx, name));
    };
    service.failed_deployment = None;
    for (instance, failure) in dropped.iter().zip(delete_failures) {
        if let Some(i) = state.instances.get_mut(name, instance) {
            i.deployment.start_delete(delete_until, failure);
        }
    }
    state.schedule_for(until, Due::Service(name.to_string()));
    for instance in dropped {
        state.schedule_for(delete_until, Due::Instance(name.to_string(), instance));
    }
    add_instances(state, ctx, name, &parsed);
    service_answer(state, ctx, name, View::Answer)
}

pub fn delete(state: &mut State, ctx: &Ctx, input: &Value) -> Result<Value, MockError> {
    let name = req_str(input, "name")?;
    let until = ctx.after(ctx.config.durations.deletion);
    let Some(service) = state.services.get(name) else {
        return deleted_answer(state, ctx, "service", arn(ctx, name));
    };
    if service.deleting() {
        return Ok(wrap("service", render(service, View::Answer)));
    }
    let failure = state.faults.take(&arn(ctx, name), FailurePoint::Delete);
    let Some(service) = state.services.get_mut(name) else {
        return Err(not_found(ctx, name));
    };
    service.status = ServiceStatus::DeleteInProgress { until };
    service.status_message = None;
    service.failure = failure;
    service.last_modified_at = ctx.now;
    state.instances.for_each_of_mut(name, |instance| {
        instance.deployment.start_delete(until, None)
    });
    if let Some(pipeline) = service.pipeline.as_mut() {
        pipeline.deployment.start_delete(until, None);
    }
    let output = wrap("service", render(service, View::Answer));
    state.schedule_for(until, Due::Service(name.to_string()));
    Ok(output)
}

/// The instance `name` of `service`: one lookup in the state-wide table
/// (an instance is there only while its service is); the service is
/// looked up only to tell which of the two is missing.
fn find_instance<'s>(
    state: &'s State,
    ctx: &Ctx,
    service: &str,
    name: &str,
) -> Result<&'s ServiceInstance, MockError> {
    if let Some(i) = state.instances.get(service, name) {
        i.warm();
        return Ok(i);
    }
    if !state.services.contains_key(service) {
        return Err(not_found(ctx, service));
    }
    Err(instance_not_found(ctx, service, name))
}

fn instance_answer(
    state: &State,
    ctx: &Ctx,
    service: &str,
    name: &str,
    view: View,
) -> Result<Value, MockError> {
    let i = find_instance(state, ctx, service, name)?;
    Ok(wrap("serviceInstance", render_instance(service, i, view)))
}

/// [`instance_answer`] written as text ([`super::output`]).
fn instance_text(
    state: &State,
    ctx: &Ctx,
    service: &str,
    name: &str,
    view: View,
) -> Result<Vec<u8>, MockError> {
    let i = find_instance(state, ctx, service, name)?;
    let capacity = 512 + if view == View::Full { i.spec.len() } else { 0 };
    Ok(wrap_text("serviceInstance", capacity, |out| {
        instance_members(out, service, i, view)
    }))
}

pub fn get_instance(state: &State, ctx: &Ctx, input: &Value) -> Result<Vec<u8>, MockError> {
    instance_text(
        state,
        ctx,
        req_str(input, "serviceName")?,
        req_str(input, "name")?,
        View::Full,
    )
}

/// CreateServiceInstance: the spec names the instance and its environment
/// in `instances`, as a service spec does.
pub fn create_instance(state: &mut State, ctx: &Ctx, input: &Value) -> Result<Value, MockError> {
    let service_name = req_str(input, "serviceName")?;
    let name = req_str(input, "name")?;
    with_client_token(
        state,
        ctx,
        "CreateServiceInstance",
        input,
        |state, target| match target {
            Target::ServiceInstance(service, instance) => {
                instance_answer(state, ctx, service, instance, View::Answer).ok()
            }
            _ => None,
        },
        |state| {
            let service = state
                .services
                .get(service_name)
                .ok_or_else(|| not_found(ctx, service_name))?;
            check_settled(service)?;
            if state.instances.contains(service_name, name) {
                return Err(MockError::Conflict(format!(
                    "The service {service_name} already has a service instance {name}; update it with UpdateServiceInstance"
                )));
            }
            let spec_text = req_str(input, "spec")?;
            let parsed = read_spec(spec_text)?;
            let environment = parsed
                .instances
                .iter()
                .find(|(instance, _)| instance == name)
                .map(|(_, e)| e.clone())
                .ok_or_else(|| {
                    MockError::Validation(format!(
                        "The spec names no instance {name} under instances; add `- name: {name}` with its `environment`"
                    ))
                })?;
            check_environments(state, ctx, std::iter::once(environment.as_str()))?;
            let template = service.template_name.clone();
            let major = opt_str(input, "templateMajorVersion")
                .map(str::to_string)
                .unwrap_or_else(|| service.template_major.to_string());
            let version = resolve_version(
                TemplateKind::Service,
                state,
                ctx,
                &template,
                &major,
                opt_str(input, "templateMinorVersion"),
            )?;
            let Some(service) = state.services.get(service_name) else {
                return Err(not_found(ctx, service_name));
            };
            let instance =
                new_instance(service, ctx, name, &environment, spec_text.into(), version);
            let arn = instance.arn.to_string();
            state.instances.insert(service_name, instance);
            state.use_version(
                TemplateKind::Service,
                &template,
                version,
                VersionUser::Service(
                    service_name.to_string(),
                    ServicePart::Instance(name.to_string()),
                ),
            );
            state.revive(&arn);
            tag_new(state, &arn, input);
            deploy_instance(state, ctx, service_name, name, true);
            let output = instance_answer(state, ctx, service_name, name, View::Answer)?;
            Ok((
                Target::ServiceInstance(service_name.to_string(), name.to_string()),
                output,
            ))
        },
    )
}

/// Asks for the index slots an UpdateServiceInstance of `input` reads
/// first: the instance's, its service's and its deployments'.
pub fn prefetch_instance(state: &State, input: &Value) {
    if let Some((service, name)) = prefetch_instance_slot(state, input) {
        state.services.prefetch(service);
        state
            .deployments
            .prefetch(TargetName::ServiceInstance(service, name));
    }
}

/// Asks for the index slot a GetServiceInstance of `input` reads first;
/// the service's and the instance's names, when the input has both.
pub fn prefetch_instance_slot<'a>(state: &State, input: &'a Value) -> Option<(&'a str, &'a str)> {
    let (service, name) = (opt_str(input, "serviceName")?, opt_str(input, "name")?);
    state.instances.prefetch(service, name);
    Some((service, name))
}

/// UpdateServiceInstance, in the four modes of `deploymentType`. A retry
/// with the instance's last client token and the same parameters answers
/// the instance without deploying again.
pub fn update_instance(state: &mut State, ctx: &Ctx, input: &Value) -> Result<Vec<u8>, MockError> {
    let service_name = req_str(input, "serviceName")?;
    let name = req_str(input, "name")?;
    // What a deployment reads besides the instance (whose index slots
    // `prefetch_instance` asked for), asked for now so that the waits
    // overlap the instance's own and the checks below.
    state
        .deployments
        .warm(TargetName::ServiceInstance(service_name, name));
    let _ = state.services.get(service_name);
    let i = find_instance(state, ctx, service_name, name)?;
    state.deployments.prefetch_id(&i.deployment.attempted_id);
    let token = opt_str(input, "clientToken").filter(|t| !t.is_empty());
    if let (Some(token), Some((last, last_params))) = (token, &i.last_client_token) {
        if token == last {
            if !same_except(last_params, input, "clientToken") {
                return Err(MockError::IdempotentParameterMismatch);
            }
            return instance_text(state, ctx, service_name, name, View::Answer);
        }
    }
    if i.deployment.phase.in_progress() {
        return Err(MockError::Conflict(format!(
            "The service instance {name} of service {service_name} has a deployment IN_PROGRESS; wait until it ends or cancel it with CancelServiceInstanceDeployment"
        )));
    }
    if i.deployment.phase.deleting() {
        return Err(MockError::Conflict(format!(
            "The service instance {name} of service {service_name} is being deleted"
        )));
    }
    let requested = deployments::requested_version(input, (i.template_major, i.template_minor))?;
    let template = i.template_name.to_string();
    let version = requested
        .map(|r| resolve_redeploy(TemplateKind::Service, state, ctx, &template, r))
        .transpose()?;
    if let Some(spec) = opt_str(input, "spec") {
        read_spec(spec)?;
    }
    let Some(i) = state.instances.get_mut(service_name, name) else {
        return Err(instance_not_found(ctx, service_name, name));
    };
    if let Some(token) = token {
        i.last_client_token = Some((token.to_string(), without(input, "clientToken")));
    }
    if let Some((major, minor)) = version {
        if let Some(spec) = opt_str(input, "spec") {
            i.spec = spec.into();
        }
        let old_version = (i.template_major, i.template_minor);
        i.template_major = major;
        i.template_minor = minor;
        state.move_version_user(
            TemplateKind::Service,
            &template,
            old_version,
            (major, minor),
            VersionUser::Service(
                service_name.to_string(),
                ServicePart::Instance(name.to_string()),
            ),
        );
        deploy_instance(state, ctx, service_name, name, false);
    }
    instance_text(state, ctx, service_name, name, View::Answer)
}

pub fn cancel_instance(state: &mut State, ctx: &Ctx, input: &Value) -> Result<Vec<u8>, MockError> {
    let service_name = req_str(input, "serviceName")?;
    let name = req_str(input, "serviceInstanceName")?;
    let Some(i) = state.instances.get_mut(service_name, name) else {
        find_instance(state, ctx, service_name, name)?;
        return Err(instance_not_found(ctx, service_name, name));
    };
    if !i.deployment.phase.in_progress() {
        return Err(MockError::Conflict(format!(
            "The service instance {name} of service {service_name} has no deployment IN_PROGRESS to cancel (deploymentStatus {})",
            i.deployment.phase.deployment_status()
        )));
    }
    let settled = i.deployment.end(DeploymentStatus::Cancelled, None, ctx.now);
    settled.record_in(&mut state.deployments);
    instance_text(state, ctx, service_name, name, View::Full)
}

pub fn list_instance_outputs(state: &State, ctx: &Ctx, input: &Value) -> Result<Value, MockError> {
    let i = find_instance(
        state,
        ctx,
        req_str(input, "serviceName")?,
        req_str(input, "serviceInstanceName")?,
    )?;
    deployments::outputs(state, ctx, &i.arn, &i.deployment, input)
}

pub fn list_instance_provisioned_resources(
    state: &State,
    ctx: &Ctx,
    input: &Value,
) -> Result<Value, MockError> {
    let i = find_instance(
        state,
        ctx,
        req_str(input, "serviceName")?,
        req_str(input, "serviceInstanceName")?,
    )?;
    Ok(deployments::provisioned_resources(state, &i.arn, input))
}

fn find_pipeline<'s>(
    state: &'s State,
    ctx: &Ctx,
    service: &str,
) -> Result<(&'s Service, &'s Pipeline), MockError> {
    let s = state
        .services
        .get(service)
        .ok_or_else(|| not_found(ctx, service))?;
    let p = s
        .pipeline
        .as_ref()
        .ok_or_else(|| MockError::not_found("service pipeline", format!("{}/pipeline", s.arn)))?;
    Ok((s, p))
}

fn pipeline_answer(state: &State, ctx: &Ctx, service: &str) -> Result<Value, MockError> {
    let (_, p) = find_pipeline(state, ctx, service)?;
    Ok(wrap("pipeline", render_pipeline(p)))
}

pub fn update_pipeline(state: &mut State, ctx: &Ctx, input: &Value) -> Result<Value, MockError> {
    let service_name = req_str(input, "serviceName")?;
    let (_, p) = find_pipeline(state, ctx, service_name)?;
    if p.deployment.phase.in_progress() || p.deployment.phase.deleting() {
        return Err(MockError::Conflict(format!(
            "The pipeline of service {service_name} is {}; wait until it ends or cancel it with CancelServicePipelineDeployment",
            p.deployment.phase.deployment_status()
        )));
    }
    let requested = deployments::requested_version(input, (p.template_major, p.template_minor))?;
    let template = p.template_name.clone();
    let version = requested
        .map(|r| resolve_redeploy(TemplateKind::Service, state, ctx, &template, r))
        .transpose()?;
    let spec = req_str(input, "spec")?;
    read_spec(spec)?;
    let Some(p) = state
        .services
        .get_mut(service_name)
        .and_then(|s| s.pipeline.as_mut())
    else {
        return Err(not_found(ctx, service_name));
    };
    if let Some((major, minor)) = version {
        p.spec = spec.to_string();
        let old_version = (p.template_major, p.template_minor);
        p.template_major = major;
        p.template_minor = minor;
        state.move_version_user(
            TemplateKind::Service,
            &template,
            old_version,
            (major, minor),
            VersionUser::Service(service_name.to_string(), ServicePart::Pipeline),
        );
        deploy_pipeline(state, ctx, service_name, false);
    }
    pipeline_answer(state, ctx, service_name)
}

pub fn cancel_pipeline(state: &mut State, ctx: &Ctx, input: &Value) -> Result<Value, MockError> {
    let service_name = req_str(input, "serviceName")?;
    find_pipeline(state, ctx, service_name)?;
    let Some(p) = state
        .services
        .get_mut(service_name)
        .and_then(|s| s.pipeline.as_mut())
    else {
        return Err(not_found(ctx, service_name));
    };
    if !p.deployment.phase.in_progress() {
        return Err(MockError::Conflict(format!(
            "The pipeline of service {service_name} has no deployment IN_PROGRESS to cancel (deploymentStatus {})",
            p.deployment.phase.deployment_status()
        )));
    }
    let settled = p.deployment.end(DeploymentStatus::Cancelled, None, ctx.now);
    settled.record_in(&mut state.deployments);
    pipeline_answer(state, ctx, service_name)
}

pub fn list_pipeline_outputs(state: &State, ctx: &Ctx, input: &Value) -> Result<Value, MockError> {
    let (_, p) = find_pipeline(state, ctx, req_str(input, "serviceName")?)?;
    deployments::outputs(state, ctx, &p.arn, &p.deployment, input)
}

pub fn list_pipeline_provisioned_resources(
    state: &State,
    ctx: &Ctx,
    input: &Value,
) -> Result<Value, MockError> {
    let (_, p) = find_pipeline(state, ctx, req_str(input, "serviceName")?)?;
    Ok(deployments::provisioned_resources(state, &p.arn, input))
}

/// A service instance as ListServiceInstances filters and sorts it.
struct Row<'s> {
    service: &'s str,
    instance: &'s ServiceInstance,
    state: &'s State,
}

impl Row<'_> {
    /// The status of the template version deployed, looked up only when a
    /// filter or the sort asks for it.
    fn version_status(&self) -> Option<VersionStatus> {
        let i = self.instance;
        self.state
            .templates(TemplateKind::Service)
            .get(i.template_name.as_str())
            .and_then(|t| t.versions.get(&(i.template_major, i.template_minor)))
            .map(|v| v.status)
    }

    fn field(&self, key: &str) -> Option<String> {
        let i = self.instance;
        Some(match key {
            "name" => i.name.to_string(),
            "deploymentStatus" => i.deployment.phase.deployment_status().to_string(),
            "templateName" => i.template_name.to_string(),
            "serviceName" => self.service.to_string(),
            "environmentName" => i.environment_name.to_string(),
            "deployedTemplateVersionStatus" => self.version_status()?.as_str().to_string(),
            _ => return None,
        })
    }

    fn time(&self, key: &str) -> Millis {
        match key {
            "lastDeploymentAttemptedAt" => self.instance.deployment.attempted_at,
            _ => self.instance.created_at,
        }
    }

    fn passes(&self, key: &str, value: &str) -> Result<bool, MockError> {
        let instant = |value: &str| {
            parse_instant(value).ok_or_else(|| {
                MockError::Validation(format!(
                    "The filter {key} needs a time: epoch seconds or an ISO 8601 UTC time such as 2026-01-01T00:00:00Z, not {value}"
                ))
            })
        };
        Ok(match key {
            "lastDeploymentAttemptedAtBefore" => {
                self.time("lastDeploymentAttemptedAt") < instant(value)?
            }
            "lastDeploymentAttemptedAtAfter" => {
                self.time("lastDeploymentAttemptedAt") > instant(value)?
            }
            "createdAtBefore" => self.time("createdAt") < instant(value)?,
            "createdAtAfter" => self.time("createdAt") > instant(value)?,
            _ => self.field(key).as_deref() == Some(value),
        })
    }
}

/// Epoch seconds (`1767225600.5`) or `YYYY-MM-DDTHH:MM:SS[.fff]Z`, in ms.
fn parse_instant(text: &str) -> Option<Millis> {
    if let Ok(seconds) = text.parse::<f64>() {
        return (seconds.is_finite() && seconds >= 0.0)
            .then(|| (seconds * 1000.0).round() as Millis);
    }
    let text = text.strip_suffix('Z')?;
    let (date, time) = text.split_once('T')?;
    let mut d = date.splitn(3, '-').map(|p| p.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let (hms, fraction) = time.split_once('.').unwrap_or((time, "0"));
    let mut t = hms.splitn(3, ':').map(|p| p.parse::<i64>().ok());
    let (h, min, s) = (t.next()??, t.next()??, t.next()??);
    if !(1..=12).contains(&m) || !(1..=31).contains(&day) || h > 23 || min > 59 || s > 60 {
        return None;
    }
    let ms: i64 = format!("{fraction:0<3}").get(..3)?.parse().ok()?;
    let days = crate::calendar::days_from_civil(y, m, day);
    let total = ((days * 24 + h) * 60 + min) * 60 + s;
    Millis::try_from(total * 1000 + ms).ok()
}

/// ListServiceInstances: `filters` (the same key more than once: any of the
/// values; different keys: all of them), `sortBy` and `sortOrder`.
pub fn list_instances(state: &State, ctx: &Ctx, input: &Value) -> Result<Vec<u8>, MockError> {
    let only = opt_str(input, "serviceName");
    let mut filters: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for filter in input
        .get("filters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let (Some(key), Some(value)) = (opt_str(filter, "key"), opt_str(filter, "value")) {
            filters.entry(key).or_default().push(value);
        }
    }
    let mut rows = Vec::new();
    // One service is looked up, not found by a walk over all of them.
    let services: Box<dyn Iterator<Item = &str>> = match only {
        Some(service) => Box::new(std::iter::once(service)),
        None => Box::new(state.services.keys().map(String::as_str)),
    };
    for service in services {
        let instances: Vec<&ServiceInstance> = state.instances.of(service).collect();
        // A service's instances are held only while it is: the service is
        // looked up only when it has none, to tell none from no such service.
        if instances.is_empty() && only.is_some() && !state.services.contains_key(service) {
            return Err(not_found(ctx, service));
        }
        for instance in &instances {
            instance.warm_summary();
        }
        for instance in instances {
            let row = Row {
                service,
                instance,
                state,
            };
            let mut keep = true;
            for (key, values) in &filters {
                let mut any = false;
                for value in values {
                    any |= row.passes(key, value)?;
                }
                keep &= any;
            }
            if keep {
                rows.push(row);
            }
        }
    }
    let descending = opt_str(input, "sortOrder") == Some("DESCENDING");
    if let Some(sort_by) = opt_str(input, "sortBy") {
        rows.sort_by(|a, b| {
            let order = match sort_by {
                "lastDeploymentAttemptedAt" | "createdAt" => a.time(sort_by).cmp(&b.time(sort_by)),
                _ => a.field(sort_by).cmp(&b.field(sort_by)),
            };
            // Ties keep the default order (service, then instance name).
            if descending { order.reverse() } else { order }.then(Ordering::Equal)
        });
    } else if descending {
        rows.reverse();
    }
    let items = rows
        .into_iter()
        .enumerate()
        .map(|(index, row)| (PositionKey::new(index), row));
    let page = page(input, items)?;
    // Written as text: the answer allocates no memory per member.
    Ok(list_text("serviceInstances", page, 512, |out, row| {
        instance_members(out, row.service, row.instance, View::Summary)
    }))
}

pub fn dump(state: &State) -> Value {
    Value::Array(
        state
            .services
            .values()
            .map(|s| {
                let mut out = render(s, View::Full);
                let instances = state
                    .instances
                    .of(&s.name)
                    .map(|i| render_instance(&s.name, i, View::Full))
                    .collect();
                out["serviceInstances"] = Value::Array(instances);
                out
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mock::state::{DeploymentId, Phase};

    /// Instances whose members take every branch of the rendering: in place
    /// and allocated names, text that needs escaping, optional members
    /// present and absent.
    fn instances() -> Vec<ServiceInstance> {
        let long = "an-instance-name-longer-than-twenty-two-bytes";
        let mut failed = Deployment::start(1_767_225_600_123, Some(5), DeploymentId::new("d-1"));
        failed.phase = Phase::Failed;
        failed.status_message = Some("quote \" back \\ line\n tab\t é 😀 \u{1}".into());
        failed.succeeded_id = Some(DeploymentId::new("5b0c1e39-2f0e-4c1a-9d1b-1d2a3b4c5d6e"));
        let mut done = Deployment::start(0, None, DeploymentId::default());
        done.phase = Phase::Succeeded;
        [
            ("i", "env", None, failed),
            (
                long,
                "an-environment-name-that-is-long",
                Some("tok\"en"),
                done,
            ),
        ]
        .into_iter()
        .map(|(name, environment, token, deployment)| ServiceInstance {
            name: name.into(),
            arn: format!("arn:aws:proton:us-east-1:123456789012:service/s/service-instance/{name}")
                .into(),
            created_at: 1_700_000_000_001,
            environment_name: environment.into(),
            spec: "proton: ServiceSpec\ninstances:\n  - name: \"i\"\n".into(),
            template_name: "tpl".into(),
            template_major: 12,
            template_minor: 0,
            deployment,
            last_client_token: token.map(|t| (t.to_string(), Value::Null)),
        })
        .collect()
    }

    #[test]
    fn instances_written_as_text_are_the_bytes_of_their_trees() {
        for i in instances() {
            for view in [View::Summary, View::Answer, View::Full] {
                let tree = wrap("serviceInstance", render_instance("s", &i, view));
                let text = wrap_text("serviceInstance", 0, |out| {
                    instance_members(out, "s", &i, view)
                });
                assert_eq!(
                    String::from_utf8_lossy(&text),
                    serde_json::to_string(&tree).unwrap_or_default()
                );
            }
        }
        let all = instances();
        let page = (
            all.iter().collect::<Vec<_>>(),
            Some("MDAwMDAwMDAwMDAy".to_string()),
        );
        let tree = list_output(
            "serviceInstances",
            (
                page.0
                    .iter()
                    .map(|i| render_instance("s", i, View::Summary))
                    .collect(),
                page.1.clone(),
            ),
        );
        let text = list_text("serviceInstances", page, 0, |out, i| {
            instance_members(out, "s", i, View::Summary)
        });
        assert_eq!(
            String::from_utf8_lossy(&text),
            serde_json::to_string(&tree).unwrap_or_default()
        );
    }
}
