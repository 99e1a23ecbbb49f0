//! Services, with the pipeline and service instances their spec asks for.
//! A service is CREATE_IN_PROGRESS, then ACTIVE after the configured
//! duration, its instances and pipeline deploying alongside; UpdateService
//! with a new spec is UPDATE_IN_PROGRESS, then ACTIVE; DeleteService is
//! asynchronous (DELETE_IN_PROGRESS, then gone with its instances).

use super::spec;
use super::templates::resolve_version;
use super::{
    Ctx, MockError, Obj, deleted_answer, list_output, opt_str, opt_string, paginate, req_str,
    retry_create, tag_new, wrap,
};
use crate::mock::state::{
    Creation, Deployment, Phase, Pipeline, Service, ServiceInstance, ServiceStatus, State,
    TemplateKind,
};
use serde_json::Value;
use std::collections::BTreeMap;

fn arn(ctx: &Ctx, name: &str) -> String {
    ctx.arn(&format!("service/{name}"))
}

fn not_found(ctx: &Ctx, name: &str) -> MockError {
    MockError::not_found("service", arn(ctx, name))
}

fn render_deployment(out: Obj, d: &Deployment) -> Obj {
    out.str("deploymentStatus", d.phase.deployment_status())
        .str("lastAttemptedDeploymentId", &d.attempted_id)
        .time("lastDeploymentAttemptedAt", d.attempted_at)
        .time("lastDeploymentSucceededAt", d.succeeded_at)
        .opt("lastSucceededDeploymentId", d.succeeded_id.as_deref())
}

fn render_pipeline(p: &Pipeline) -> Value {
    let out = Obj::new()
        .str("arn", &p.arn)
        .time("createdAt", p.created_at);
    render_deployment(out, &p.deployment)
        .str("spec", &p.spec)
        .num("templateMajorVersion", p.template_major)
        .num("templateMinorVersion", p.template_minor)
        .str("templateName", &p.template_name)
        .build()
}

fn render(s: &Service, summary: bool) -> Value {
    let full = !summary;
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
        .opt("spec", Some(s.spec.as_str()).filter(|_| full))
        .str("status", s.status.as_str())
        .str("templateName", &s.template_name)
        .build()
}

fn render_instance(s: &Service, i: &ServiceInstance, summary: bool) -> Value {
    let out = Obj::new()
        .str("arn", &i.arn)
        .time("createdAt", i.created_at);
    render_deployment(out, &i.deployment)
        .str("environmentName", &i.environment_name)
        .str("name", &i.name)
        .str("serviceName", &s.name)
        .opt("spec", Some(i.spec.as_str()).filter(|_| !summary))
        .num("templateMajorVersion", i.template_major)
        .num("templateMinorVersion", i.template_minor)
        .str("templateName", &i.template_name)
        .build()
}

fn read_spec(text: &str) -> Result<spec::ServiceSpec, MockError> {
    spec::parse(text).map_err(|problem| {
        MockError::Validation(format!("The service spec is not usable: {problem}"))
    })
}

/// Adds the instances of `spec` that the service does not have yet.
fn add_instances(service: &mut Service, spec: &spec::ServiceSpec, ctx: &Ctx, until: u64) {
    for (name, environment) in &spec.instances {
        if service.instances.contains_key(name) {
            continue;
        }
        let instance = ServiceInstance {
            name: name.clone(),
            arn: format!("{}/service-instance/{name}", service.arn),
            created_at: ctx.now,
            environment_name: environment.clone(),
            spec: service.spec.clone(),
            template_name: service.template_name.clone(),
            template_major: service.template_major,
            template_minor: service.template_minor,
            deployment: Deployment::start(ctx.now, until, uuid::Uuid::new_v4().to_string()),
        };
        service.instances.insert(name.clone(), instance);
    }
}

pub fn create(state: &mut State, ctx: &Ctx, input: &Value) -> Result<Value, MockError> {
    let name = req_str(input, "name")?;
    if let Some(existing) = state.services.get(name) {
        let busy = matches!(existing.status, ServiceStatus::DeleteInProgress { .. });
        retry_create(
            &existing.creation,
            input,
            &format!("The service {name}"),
            busy,
        )?;
        return Ok(wrap("service", render(existing, false)));
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
        deployment: Deployment::start(ctx.now, until, uuid::Uuid::new_v4().to_string()),
    });
    let mut service = Service {
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
        pipeline,
        instances: BTreeMap::new(),
        creation: Creation::new(input.clone()),
    };
    add_instances(&mut service, &spec, ctx, until);
    let output = wrap("service", render(&service, false));
    state.schedule(until);
    state.revive(&service.arn);
    for instance in service.instances.values() {
        state.revive(&instance.arn);
    }
    tag_new(state, &service.arn, input);
    state.services.insert(name.to_string(), service);
    Ok(output)
}

pub fn get(state: &State, ctx: &Ctx, input: &Value) -> Result<Value, MockError> {
    let name = req_str(input, "name")?;
    let service = state
        .services
        .get(name)
        .ok_or_else(|| not_found(ctx, name))?;
    Ok(wrap("service", render(service, false)))
}

pub fn list(state: &State, input: &Value) -> Result<Value, MockError> {
    let items = state.services.iter().map(|(name, s)| (name.clone(), s));
    Ok(list_output(
        "services",
        paginate(input, items, |s| render(s, true))?,
    ))
}

pub fn update(state: &mut State, ctx: &Ctx, input: &Value) -> Result<Value, MockError> {
    let name = req_str(input, "name")?;
    let spec = opt_str(input, "spec")
        .map(|text| read_spec(text).map(|parsed| (text, parsed)))
        .transpose()?;
    let until = ctx.after(ctx.config.durations.service_creation);
    let service = state
        .services
        .get_mut(name)
        .ok_or_else(|| not_found(ctx, name))?;
    if matches!(service.status, ServiceStatus::DeleteInProgress { .. }) {
        return Err(MockError::Conflict(format!(
            "The service {name} is being deleted"
        )));
    }
    if let Some(description) = opt_string(input, "description") {
        service.description = Some(description);
    }
    let redeploy = spec.is_some();
    if let Some((text, parsed)) = spec {
        service.spec = text.to_string();
        add_instances(service, &parsed, ctx, until);
        service.status = ServiceStatus::UpdateInProgress { until };
    }
    service.last_modified_at = ctx.now;
    service.creation.modified = true;
    let output = wrap("service", render(service, false));
    if redeploy {
        state.schedule(until);
    }
    Ok(output)
}

pub fn delete(state: &mut State, ctx: &Ctx, input: &Value) -> Result<Value, MockError> {
    let name = req_str(input, "name")?;
    let until = ctx.after(ctx.config.durations.deletion);
    let Some(service) = state.services.get_mut(name) else {
        return deleted_answer(state, ctx, "service", arn(ctx, name));
    };
    if matches!(service.status, ServiceStatus::DeleteInProgress { .. }) {
        return Ok(wrap("service", render(service, false)));
    }
    service.status = ServiceStatus::DeleteInProgress { until };
    service.last_modified_at = ctx.now;
    for instance in service.instances.values_mut() {
        instance.deployment.phase = Phase::DeleteInProgress { until };
    }
    if let Some(pipeline) = service.pipeline.as_mut() {
        pipeline.deployment.phase = Phase::DeleteInProgress { until };
    }
    let output = wrap("service", render(service, false));
    state.schedule(until);
    Ok(output)
}

pub fn get_instance(state: &State, ctx: &Ctx, input: &Value) -> Result<Value, MockError> {
    let service_name = req_str(input, "serviceName")?;
    let name = req_str(input, "name")?;
    let service = state
        .services
        .get(service_name)
        .ok_or_else(|| not_found(ctx, service_name))?;
    let instance = service.instances.get(name).ok_or_else(|| {
        MockError::not_found(
            "service instance",
            format!("{}/service-instance/{name}", service.arn),
        )
    })?;
    Ok(wrap(
        "serviceInstance",
        render_instance(service, instance, false),
    ))
}

pub fn list_instances(state: &State, ctx: &Ctx, input: &Value) -> Result<Value, MockError> {
    let only = opt_str(input, "serviceName");
    if let Some(name) = only {
        if !state.services.contains_key(name) {
            return Err(not_found(ctx, name));
        }
    }
    let items = state
        .services
        .values()
        .filter(|s| only.is_none_or(|name| s.name == name))
        // A space sorts before every character a name may hold, so the keys
        // sort in iteration order (service, then instance).
        .flat_map(|s| {
            s.instances
                .values()
                .map(move |i| (format!("{} {}", s.name, i.name), (s, i)))
        });
    let page = paginate(input, items, |(s, i)| render_instance(s, i, true))?;
    Ok(list_output("serviceInstances", page))
}

pub fn dump(state: &State) -> Value {
    Value::Array(
        state
            .services
            .values()
            .map(|s| {
                let mut out = render(s, false);
                let instances = s
                    .instances
                    .values()
                    .map(|i| render_instance(s, i, false))
                    .collect();
                out["serviceInstances"] = Value::Array(instances);
                out
            })
            .collect(),
    )
}
