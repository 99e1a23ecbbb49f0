//! Account-wide settings (the pipeline roles and the pipeline provisioning
//! repository) and the resources summary: counts of what the mock holds,
//! with staleness against each template's recommended version.

use super::repositories::linked;
use super::{Members, MockError, Obj, opt_str, wrap};
use crate::mock::state::{State, Template, TemplateKind};
use serde_json::Value;

/// The settings as GetAccountSettings answers them (the state dump too).
pub fn render(state: &State) -> Value {
    let settings = &state.linked.account;
    let repository = settings
        .pipeline_provisioning_repository
        .as_ref()
        .and_then(|(key, branch)| Some((state.linked.repositories.get(key)?, branch)))
        .map(|(repository, branch)| {
            let (provider, name) = (&repository.provider, &repository.name);
            Obj::new()
                .str("arn", &repository.arn)
                .str("branch", branch)
                .str("name", name)
                .str("provider", provider)
                .build()
        });
    Obj::new()
        .opt(
            "pipelineCodebuildRoleArn",
            settings.pipeline_codebuild_role_arn.as_deref(),
        )
        .opt_value("pipelineProvisioningRepository", repository.as_ref())
        .opt(
            "pipelineServiceRoleArn",
            settings.pipeline_service_role_arn.as_deref(),
        )
        .build()
}

pub fn get(state: &State) -> Result<Value, MockError> {
    Ok(wrap("accountSettings", render(state)))
}

pub fn update(state: &mut State, input: &Value) -> Result<Value, MockError> {
    let delete_repository = input
        .get("deletePipelineProvisioningRepository")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let repository = match input.get("pipelineProvisioningRepository") {
        Some(_) if delete_repository => {
            return Err(MockError::Validation(
                "pipelineProvisioningRepository and deletePipelineProvisioningRepository cannot be used together".to_string(),
            ));
        }
        Some(repository) => {
            let field = |member| opt_str(repository, member).unwrap_or_default().to_string();
            let key = (field("provider"), field("name"));
            linked(state, &key)?;
            Some((key, field("branch")))
        }
        None => None,
    };
    let settings = &mut state.linked.account;
    // An empty string removes a role, as the API reference says.
    for (member, field) in [
        (
            "pipelineServiceRoleArn",
            &mut settings.pipeline_service_role_arn,
        ),
        (
            "pipelineCodebuildRoleArn",
            &mut settings.pipeline_codebuild_role_arn,
        ),
    ] {
        if let Some(value) = opt_str(input, member) {
            *field = (!value.is_empty()).then(|| value.to_string());
        }
    }
    if delete_repository {
        settings.pipeline_provisioning_repository = None;
    } else if repository.is_some() {
        settings.pipeline_provisioning_repository = repository;
    }
    Ok(wrap("accountSettings", render(state)))
}

/// Counts a set of deployed resources against their templates.
#[derive(Default)]
struct Counts {
    total: u64,
    failed: u64,
    up_to_date: u64,
    behind_major: u64,
    behind_minor: u64,
}

impl Counts {
    /// One resource on `major.minor` of `template`, failed or not.
    fn add(&mut self, template: Option<&Template>, major: u64, minor: u64, failed: bool) {
        self.total += 1;
        if failed {
            self.failed += 1;
        }
        match template.and_then(Template::recommended_version) {
            Some((rmajor, _)) if rmajor > major => self.behind_major += 1,
            Some((rmajor, rminor)) if rmajor == major && rminor > minor => self.behind_minor += 1,
            _ => self.up_to_date += 1,
        }
    }

    fn staleness(&self) -> Value {
        Obj::new()
            .value("behindMajor", self.behind_major.into())
            .value("behindMinor", self.behind_minor.into())
            .value("failed", self.failed.into())
            .value("total", self.total.into())
            .value("upToDate", self.up_to_date.into())
            .build()
    }
}

fn total(n: usize) -> Value {
    Obj::new().value("total", n.into()).build()
}

fn is_failed(status: &str) -> bool {
    status.ends_with("FAILED")
}

/// GetResourcesSummary: what the API reference lists for each type (only
/// `total` for templates and environments; `total` and `failed` for
/// components; staleness for services, instances and pipelines).
pub fn summary(state: &State) -> Result<Value, MockError> {
    let service_templates = state.templates(TemplateKind::Service);
    let mut services = Counts::default();
    let mut instances = Counts::default();
    let mut pipelines = Counts::default();
    for service in state.services.values() {
        let template = service_templates.get(&service.template_name);
        services.add(
            template,
            service.template_major,
            service.template_minor,
            is_failed(service.status.as_str()),
        );
        for instance in state.instances.of(&service.name) {
            instances.add(
                service_templates.get(instance.template_name.as_str()),
                instance.template_major,
                instance.template_minor,
                is_failed(instance.deployment.phase.deployment_status()),
            );
        }
        if let Some(pipeline) = &service.pipeline {
            pipelines.add(
                service_templates.get(&pipeline.template_name),
                pipeline.template_major,
                pipeline.template_minor,
                is_failed(pipeline.deployment.phase.deployment_status()),
            );
        }
    }
    let components_failed = state
        .components
        .values()
        .filter(|c| is_failed(c.deployment.phase.deployment_status()))
        .count();
    let counts = Obj::new()
        .value(
            "components",
            Obj::new()
                .value("failed", components_failed.into())
                .value("total", state.components.len().into())
                .build(),
        )
        .value(
            "environmentTemplates",
            total(state.templates(TemplateKind::Environment).len()),
        )
        .value("environments", total(state.environments.len()))
        .value("pipelines", pipelines.staleness())
        .value("serviceInstances", instances.staleness())
        .value("serviceTemplates", total(service_templates.len()))
        .value("services", services.staleness())
        .build();
    Ok(wrap("counts", counts))
}
