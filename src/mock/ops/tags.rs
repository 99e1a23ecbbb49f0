//! Tags on any resource the mock holds, addressed by ARN.

use super::{
    Ctx, Members, MockError, Obj, input_tags, list_output, paginate, req_str, version_number,
};
use crate::mock::state::{State, TemplateKind};
use serde_json::{Map, Value};

/// Whether `arn` names a resource that exists now.
fn exists(state: &State, ctx: &Ctx, arn: &str) -> bool {
    let Some(resource) = arn.strip_prefix(&ctx.arn("")) else {
        return false;
    };
    let (kind, rest) = resource.split_once('/').unwrap_or((resource, ""));
    let template = |kind: TemplateKind| {
        let (name, version) = rest
            .split_once(':')
            .map_or((rest, None), |(n, v)| (n, Some(v)));
        let Some(template) = state.templates(kind).get(name) else {
            return false;
        };
        match version {
            None => true,
            Some(version) => version
                .split_once('.')
                .and_then(|(major, minor)| Some((version_number(major)?, version_number(minor)?)))
                .is_some_and(|key| template.versions.contains_key(&key)),
        }
    };
    match kind {
        "environment-template" => template(TemplateKind::Environment),
        "service-template" => template(TemplateKind::Service),
        "environment" => state.environments.contains_key(rest),
        "environment-account-connection" => state.connections.contains_key(rest),
        "component" => state.components.contains_key(rest),
        "repository" => state.linked.repositories.values().any(|r| r.arn == arn),
        "service" => {
            let mut parts = rest.split('/');
            let service = parts.next().and_then(|name| state.services.get(name));
            match (service, parts.next(), parts.next(), parts.next()) {
                (Some(_), None, _, _) => true,
                (Some(s), Some("service-instance"), Some(name), None) => {
                    state.instances.contains(&s.name, name)
                }
                (Some(s), Some("pipeline"), Some(_), None) => {
                    s.pipeline.as_ref().is_some_and(|p| p.arn == arn)
                }
                _ => false,
            }
        }
        _ => false,
    }
}

fn resource_arn<'a>(state: &State, ctx: &Ctx, input: &'a Value) -> Result<&'a str, MockError> {
    let arn = req_str(input, "resourceArn")?;
    if exists(state, ctx, arn) {
        Ok(arn)
    } else {
        Err(MockError::not_found("resource", arn))
    }
}

pub fn tag(state: &mut State, ctx: &Ctx, input: &Value) -> Result<Value, MockError> {
    let arn = resource_arn(state, ctx, input)?;
    state
        .tags
        .entry(arn.to_string())
        .or_default()
        .extend(input_tags(input));
    Ok(Value::Object(Map::new()))
}

pub fn untag(state: &mut State, ctx: &Ctx, input: &Value) -> Result<Value, MockError> {
    let arn = resource_arn(state, ctx, input)?;
    if let Some(tags) = state.tags.get_mut(arn) {
        for key in input
            .get("tagKeys")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(key) = key.as_str() {
                tags.remove(key);
            }
        }
    }
    Ok(Value::Object(Map::new()))
}

pub fn list(state: &State, ctx: &Ctx, input: &Value) -> Result<Value, MockError> {
    let arn = resource_arn(state, ctx, input)?;
    let items = state
        .tags
        .get(arn)
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), (k, v)));
    let page = paginate(input, items, |(k, v)| {
        Obj::new().str("key", k).str("value", v).build()
    })?;
    Ok(list_output("tags", page))
}

pub fn dump(state: &State) -> Value {
    let mut arns: Vec<_> = state
        .tags
        .iter()
        .filter(|(_, tags)| !tags.is_empty())
        .collect();
    arns.sort_by(|a, b| a.0.cmp(b.0));
    Value::Object(
        arns.into_iter()
            .map(|(arn, tags)| {
                let tags = tags
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                    .collect();
                (arn.clone(), Value::Object(tags))
            })
            .collect(),
    )
}
