//! Environment and service templates and their versions. The two families
//! differ only in a few members (`provisioning` or `pipelineProvisioning`;
//! compatible environment templates on service versions), so one set of
//! functions serves both, told apart by [`TemplateKind`].
//!
//! Versions register (REGISTRATION_IN_PROGRESS, then DRAFT after the
//! configured duration), can be published, and the highest published one is
//! the template's recommended version.

use super::Detail;
use super::{
    Ctx, Members, MockError, Obj, deleted_answer, from_start, list_output, opt_str, opt_string,
    page_start, paginate, req_str, retry_create, tag_new, version_number, with_client_token, wrap,
};
use crate::mock::faults::FailurePoint;
use crate::mock::state::{
    Creation, Due, ServicePart, State, Target, Template, TemplateKind, TemplateVersion,
    VersionStatus, VersionUser,
};
use serde_json::Value;

fn member(kind: TemplateKind) -> &'static str {
    match kind {
        TemplateKind::Environment => "environmentTemplate",
        TemplateKind::Service => "serviceTemplate",
    }
}

fn version_member(kind: TemplateKind) -> &'static str {
    match kind {
        TemplateKind::Environment => "environmentTemplateVersion",
        TemplateKind::Service => "serviceTemplateVersion",
    }
}

fn provisioning_member(kind: TemplateKind) -> &'static str {
    match kind {
        TemplateKind::Environment => "provisioning",
        TemplateKind::Service => "pipelineProvisioning",
    }
}

pub fn template_arn(kind: TemplateKind, ctx: &Ctx, name: &str) -> String {
    ctx.arn(&format!("{}/{name}", kind.arn_type()))
}

fn render(kind: TemplateKind, t: &Template, detail: Detail) -> Value {
    let summary = detail == Detail::Summary;
    let recommended = t
        .recommended_version()
        .map(|(major, minor)| format!("{major}.{minor}"));
    Obj::new()
        .str("arn", &t.arn)
        .time("createdAt", t.created_at)
        .opt("description", t.description.as_deref())
        .opt("displayName", t.display_name.as_deref())
        .opt(
            "encryptionKey",
            if summary {
                None
            } else {
                t.encryption_key.as_deref()
            },
        )
        .time("lastModifiedAt", t.last_modified_at)
        .str("name", &t.name)
        .opt(provisioning_member(kind), t.provisioning.as_deref())
        .opt("recommendedVersion", recommended.as_deref())
        .build()
}

pub fn render_version(
    kind: TemplateKind,
    t: &Template,
    v: &TemplateVersion,
    detail: Detail,
) -> Value {
    let summary = detail == Detail::Summary;
    let full = !summary && kind == TemplateKind::Service;
    let mut out = Obj::new().value("arn", Value::String(v.arn(&t.arn)));
    if full {
        out = out.value(
            "compatibleEnvironmentTemplates",
            v.compatible_environment_templates
                .clone()
                .unwrap_or(Value::Array(Vec::new())),
        );
    }
    out = out
        .time("createdAt", v.created_at)
        .opt("description", v.description.as_deref())
        .time("lastModifiedAt", v.last_modified_at)
        .num("majorVersion", v.major)
        .num("minorVersion", v.minor);
    // The documented get-environment-template-version outputs (user guide
    // "Register and publish templates" and "View template data") show a
    // DRAFT 1.0, in a major version with nothing published yet, with
    // recommendedMinorVersion "0": its own minor version.
    let draft_own =
        (kind == TemplateKind::Environment && !summary && v.status == VersionStatus::Draft)
            .then_some(v.minor);
    if let Some(minor) = t.recommended_minor(v.major).or(draft_own) {
        out = out.num("recommendedMinorVersion", minor);
    }
    out = out.str("status", v.status.as_str());
    // AWS's examples show an empty statusMessage on every registered version.
    if v.status != VersionStatus::RegistrationInProgress {
        out = out.str("statusMessage", v.status_message.as_deref().unwrap_or(""));
    }
    // Registration reads the bundle's schema.
    if !summary && v.status != VersionStatus::RegistrationInProgress {
        out = out.opt("schema", v.schema.as_deref());
    }
    if full {
        out = out.opt_value(
            "supportedComponentSources",
            v.supported_component_sources.as_ref(),
        );
    }
    out.str("templateName", &t.name).build()
}

fn not_found(kind: TemplateKind, ctx: &Ctx, name: &str) -> MockError {
    MockError::not_found(kind.noun(), template_arn(kind, ctx, name))
}

/// The template named `name`, or the ResourceNotFound AWS answers.
fn find<'s>(
    kind: TemplateKind,
    state: &'s State,
    ctx: &Ctx,
    name: &str,
) -> Result<&'s Template, MockError> {
    state
        .templates(kind)
        .get(name)
        .ok_or_else(|| not_found(kind, ctx, name))
}

pub fn create(
    kind: TemplateKind,
    state: &mut State,
    ctx: &Ctx,
    input: &Value,
) -> Result<Value, MockError> {
    let name = req_str(input, "name")?;
    if let Some(existing) = state.templates(kind).get(name) {
        retry_create(
            &existing.creation,
            input,
            &format!("The {} {name}", kind.noun()),
            false,
        )?;
        return Ok(wrap(member(kind), render(kind, existing, Detail::Full)));
    }
    let template = Template {
        name: name.to_string(),
        arn: template_arn(kind, ctx, name),
        created_at: ctx.now,
        last_modified_at: ctx.now,
        description: opt_string(input, "description"),
        display_name: opt_string(input, "displayName"),
        encryption_key: opt_string(input, "encryptionKey"),
        provisioning: opt_string(input, provisioning_member(kind)),
        creation: Creation::new(input.clone()),
        versions: Default::default(),
        published: Default::default(),
    };
    let output = wrap(member(kind), render(kind, &template, Detail::Full));
    state.revive(&template.arn);
    tag_new(state, &template.arn, input);
    state.templates_mut(kind).insert(name.to_string(), template);
    Ok(output)
}

pub fn get(
    kind: TemplateKind,
    state: &State,
    ctx: &Ctx,
    input: &Value,
) -> Result<Value, MockError> {
    let name = req_str(input, "name")?;
    let template = find(kind, state, ctx, name)?;
    Ok(wrap(member(kind), render(kind, template, Detail::Full)))
}

pub fn list(kind: TemplateKind, state: &State, input: &Value) -> Result<Value, MockError> {
    let start = page_start(input)?;
    let items =
        from_start(state.templates(kind), start.as_deref()).map(|(name, t)| (name.clone(), t));
    Ok(list_output(
        "templates",
        paginate(input, items, |t| render(kind, t, Detail::Summary))?,
    ))
}

pub fn update(
    kind: TemplateKind,
    state: &mut State,
    ctx: &Ctx,
    input: &Value,
) -> Result<Value, MockError> {
    let name = req_str(input, "name")?;
    let template = state
        .templates_mut(kind)
        .get_mut(name)
        .ok_or_else(|| not_found(kind, ctx, name))?;
    if let Some(description) = opt_string(input, "description") {
        template.description = Some(description);
    }
    if let Some(display_name) = opt_string(input, "displayName") {
        template.display_name = Some(display_name);
    }
    template.last_modified_at = ctx.now;
    template.creation.modified = true;
    Ok(wrap(member(kind), render(kind, template, Detail::Full)))
}

pub fn delete(
    kind: TemplateKind,
    state: &mut State,
    ctx: &Ctx,
    input: &Value,
) -> Result<Value, MockError> {
    let name = req_str(input, "name")?;
    let Some(template) = state.templates(kind).get(name) else {
        return deleted_answer(state, ctx, kind.noun(), template_arn(kind, ctx, name));
    };
    if let Some((major, minor)) = template.versions.keys().next() {
        return Err(MockError::Conflict(format!(
            "The {} {name} still has versions (e.g. {major}.{minor}); delete its versions first",
            kind.noun()
        )));
    }
    let output = wrap(member(kind), render(kind, template, Detail::Full));
    if let Some(template) = state.templates_mut(kind).remove(name) {
        state.forget(template.arn, ctx.now, Some(output.clone()));
    }
    Ok(output)
}

/// A template version as a request names it.
struct VersionRef<'a> {
    template: &'a str,
    /// `None` when the numbers are not numbers: no such version can exist.
    key: Option<(u64, u64)>,
    /// Built from the text as sent, for messages.
    arn: String,
}

fn version_ref<'a>(
    kind: TemplateKind,
    ctx: &Ctx,
    input: &'a Value,
) -> Result<VersionRef<'a>, MockError> {
    let template = req_str(input, "templateName")?;
    let major = req_str(input, "majorVersion")?;
    let minor = req_str(input, "minorVersion")?;
    Ok(VersionRef {
        template,
        key: version_number(major).zip(version_number(minor)),
        arn: sent_version_arn(kind, ctx, template, major, minor),
    })
}

/// The ARN of a version as a request names it, for messages.
fn sent_version_arn(
    kind: TemplateKind,
    ctx: &Ctx,
    template: &str,
    major: &str,
    minor: &str,
) -> String {
    format!("{}:{major}.{minor}", template_arn(kind, ctx, template))
}

fn existing_version(kind: TemplateKind, state: &State, target: &Target) -> Option<Value> {
    let Target::TemplateVersion(k, name, major, minor) = target else {
        return None;
    };
    if *k != kind {
        return None;
    }
    let template = state.templates(kind).get(name)?;
    let version = template.versions.get(&(*major, *minor))?;
    Some(wrap(
        version_member(kind),
        render_version(kind, template, version, Detail::Full),
    ))
}

pub fn create_version(
    kind: TemplateKind,
    operation: &'static str,
    state: &mut State,
    ctx: &Ctx,
    input: &Value,
) -> Result<Value, MockError> {
    let name = req_str(input, "templateName")?;
    with_client_token(
        state,
        ctx,
        operation,
        input,
        |state, target| existing_version(kind, state, target),
        |state| {
            let template = state
                .templates_mut(kind)
                .get_mut(name)
                .ok_or_else(|| not_found(kind, ctx, name))?;
            let (major, minor) = next_version(kind, template, name, input)?;
            let registered_at = ctx.after(ctx.config.durations.template_registration);
            let version = TemplateVersion {
                major,
                minor,
                created_at: ctx.now,
                last_modified_at: ctx.now,
                description: opt_string(input, "description"),
                status: VersionStatus::RegistrationInProgress,
                registered_at,
                status_message: None,
                failure: None,
                compatible_environment_templates: input
                    .get("compatibleEnvironmentTemplates")
                    .cloned(),
                supported_component_sources: input.get("supportedComponentSources").cloned(),
                schema: ctx.bundle.and_then(|read| read.as_ref().ok().cloned()),
            };
            let output = wrap(
                version_member(kind),
                render_version(kind, template, &version, Detail::Full),
            );
            let arn = version.arn(&template.arn);
            let template_arn = template.arn.clone();
            template.versions.insert((major, minor), version);
            // A failure injected for this version, or for the template's
            // next registration.
            let failure = state
                .faults
                .take(&arn, FailurePoint::Registration)
                .or_else(|| state.faults.take(&template_arn, FailurePoint::Registration))
                // A mapped bundle Proton could not register.
                .or_else(|| ctx.bundle.and_then(|read| read.as_ref().err().cloned()));
            if let Some(version) = state
                .templates_mut(kind)
                .get_mut(name)
                .and_then(|t| t.versions.get_mut(&(major, minor)))
            {
                version.failure = failure;
            }
            state.schedule_for(
                registered_at,
                Due::Version(kind, name.to_string(), major, minor),
            );
            state.revive(&arn);
            tag_new(state, &arn, input);
            Ok((
                Target::TemplateVersion(kind, name.to_string(), major, minor),
                output,
            ))
        },
    )
}

/// The number a new version gets: the next minor version of the
/// `majorVersion` asked for, or else the first minor version of the next
/// major version.
fn next_version(
    kind: TemplateKind,
    template: &Template,
    name: &str,
    input: &Value,
) -> Result<(u64, u64), MockError> {
    let exhausted = || {
        MockError::Validation(format!(
            "The {} {name} has no version number left after the highest one",
            kind.noun()
        ))
    };
    let version = match opt_str(input, "majorVersion") {
        Some(text) => {
            let major = version_number(text).ok_or_else(|| {
                MockError::Validation(format!("majorVersion '{text}' is not a version number"))
            })?;
            let minor = match template
                .versions
                .range((major, 0)..=(major, u64::MAX))
                .next_back()
            {
                Some(((_, minor), _)) => minor.checked_add(1).ok_or_else(exhausted)?,
                None => 0,
            };
            (major, minor)
        }
        None => match template.versions.keys().next_back() {
            Some((major, _)) => (major.checked_add(1).ok_or_else(exhausted)?, 0),
            None => (1, 0),
        },
    };
    Ok(version)
}

/// Asks for the index slot where GetXTemplateVersion of `input` finds the
/// version (the template itself, one of few, is read to find its index).
pub fn prefetch_version(kind: TemplateKind, state: &State, input: &Value) {
    let (Some(name), Some(major), Some(minor)) = (
        opt_str(input, "templateName"),
        opt_str(input, "majorVersion"),
        opt_str(input, "minorVersion"),
    ) else {
        return;
    };
    if let (Some(template), Some(key)) = (
        state.templates(kind).get(name),
        version_number(major).zip(version_number(minor)),
    ) {
        template.versions.prefetch(&key);
    }
}

pub fn get_version(
    kind: TemplateKind,
    state: &State,
    ctx: &Ctx,
    input: &Value,
) -> Result<Value, MockError> {
    let name = req_str(input, "templateName")?;
    let major = req_str(input, "majorVersion")?;
    let minor = req_str(input, "minorVersion")?;
    let key = version_number(major).zip(version_number(minor));
    // The version's index line is asked for first: it arrives while the
    // message text is built, and the lookup after finds it.
    let template = state.templates(kind).get(name);
    let prefetched = template.zip(key).map(|(t, key)| t.versions.prefetch(&key));
    let arn = sent_version_arn(kind, ctx, name, major, minor);
    let found = template
        .zip(key)
        .zip(prefetched)
        .and_then(|((t, key), prefetched)| Some((t, t.versions.get_prefetched(&key, prefetched)?)));
    let (template, version) =
        found.ok_or_else(|| MockError::not_found(kind.version_noun(), arn))?;
    version.warm();
    Ok(wrap(
        version_member(kind),
        render_version(kind, template, version, Detail::Full),
    ))
}

pub fn list_versions(
    kind: TemplateKind,
    state: &State,
    ctx: &Ctx,
    input: &Value,
) -> Result<Value, MockError> {
    let name = req_str(input, "templateName")?;
    let template = find(kind, state, ctx, name)?;
    let major = match opt_str(input, "majorVersion") {
        Some(text) => match version_number(text) {
            Some(major) => Some(major),
            None => return Ok(list_output("templateVersions", (Vec::new(), None))),
        },
        None => None,
    };
    // The page's first version, from the token's `major.minor` key.
    let first = page_start(input)?
        .and_then(|key| {
            let (major, minor) = key.split_once('.')?;
            Some((major.parse::<u64>().ok()?, minor.parse::<u64>().ok()?))
        })
        .unwrap_or((0, 0));
    let first = major.map_or(first, |major| first.max((major, 0)));
    let items = template
        .versions
        .range(first..)
        .take_while(|((m, _), _)| major.is_none_or(|major| *m == major))
        .map(|((major, minor), v)| (format!("{major:020}.{minor:020}"), v));
    let page = paginate(input, items, |v| {
        render_version(kind, template, v, Detail::Summary)
    })?;
    Ok(list_output("templateVersions", page))
}

pub fn update_version(
    kind: TemplateKind,
    state: &mut State,
    ctx: &Ctx,
    input: &Value,
) -> Result<Value, MockError> {
    let VersionRef {
        template: name,
        key,
        arn,
    } = version_ref(kind, ctx, input)?;
    let not_found = || MockError::not_found(kind.version_noun(), arn.clone());
    let template = state
        .templates_mut(kind)
        .get_mut(name)
        .ok_or_else(not_found)?;
    let version = key
        .and_then(|key| template.versions.get_mut(&key))
        .ok_or_else(not_found)?;
    let mut new_status = None;
    if let Some(status) = opt_str(input, "status") {
        let status = match status {
            "DRAFT" => VersionStatus::Draft,
            "PUBLISHED" => VersionStatus::Published,
            other => {
                return Err(MockError::Validation(format!(
                    "status can be set to DRAFT or PUBLISHED, not {other}"
                )));
            }
        };
        if version.status == VersionStatus::RegistrationInProgress {
            return Err(MockError::Conflict(format!(
                "The {} {arn} is still registering; wait until it is DRAFT",
                kind.version_noun()
            )));
        }
        if version.status == VersionStatus::RegistrationFailed {
            return Err(MockError::Conflict(format!(
                "The {} {arn} failed to register; create a new version instead",
                kind.version_noun()
            )));
        }
        new_status = Some(status);
    }
    if let Some(description) = opt_string(input, "description") {
        version.description = Some(description);
    }
    if kind == TemplateKind::Service {
        if let Some(compatible) = input.get("compatibleEnvironmentTemplates") {
            version.compatible_environment_templates = Some(compatible.clone());
        }
        if let Some(sources) = input.get("supportedComponentSources") {
            version.supported_component_sources = Some(sources.clone());
        }
    }
    version.last_modified_at = ctx.now;
    let (major, minor) = (version.major, version.minor);
    if let Some(status) = new_status {
        template.set_status((major, minor), status);
    }
    let template = &*template;
    let version = template
        .versions
        .get(&(major, minor))
        .ok_or_else(not_found)?;
    Ok(wrap(
        version_member(kind),
        render_version(kind, template, version, Detail::Full),
    ))
}

pub fn delete_version(
    kind: TemplateKind,
    state: &mut State,
    ctx: &Ctx,
    input: &Value,
) -> Result<Value, MockError> {
    let VersionRef {
        template: name,
        key,
        arn,
    } = version_ref(kind, ctx, input)?;
    let found = state
        .templates(kind)
        .get(name)
        .zip(key)
        .and_then(|(t, key)| Some((t, t.versions.get(&key)?)));
    let Some((template, version)) = found else {
        return deleted_answer(state, ctx, kind.version_noun(), arn);
    };
    check_version_deletable(kind, state, template, version)?;
    let output = wrap(
        version_member(kind),
        render_version(kind, template, version, Detail::Full),
    );
    let removed = state
        .templates_mut(kind)
        .get_mut(name)
        .zip(key)
        .and_then(|(t, key)| Some(t.remove_version(key)?.arn(&t.arn)));
    if let Some(arn) = removed {
        state.forget(arn, ctx.now, Some(output.clone()));
    }
    Ok(output)
}

/// Every template of `kind` with all its versions, for the state dump.
pub fn dump(kind: TemplateKind, state: &State) -> Value {
    Value::Array(
        state
            .templates(kind)
            .values()
            .map(|t| {
                let mut out = render(kind, t, Detail::Full);
                let versions = t
                    .versions
                    .values()
                    .map(|v| render_version(kind, t, v, Detail::Full))
                    .collect();
                out["versions"] = Value::Array(versions);
                out
            })
            .collect(),
    )
}

/// The template version an environment or service is deployed from:
/// `templateMinorVersion` when given, else the recommended (highest
/// published) minor version of the major version, else its highest minor.
pub fn resolve_version(
    kind: TemplateKind,
    state: &State,
    ctx: &Ctx,
    name: &str,
    major: &str,
    minor: Option<&str>,
) -> Result<(u64, u64), MockError> {
    let template = find(kind, state, ctx, name)?;
    let arn = |version: String| format!("{}:{version}", template.arn);
    let missing = |version: String| MockError::not_found(kind.version_noun(), arn(version));
    let major_number = version_number(major).ok_or_else(|| missing(major.to_string()))?;
    let key = match minor {
        Some(minor) => version_number(minor)
            .map(|minor| (major_number, minor))
            .filter(|key| template.versions.contains_key(key))
            .ok_or_else(|| missing(format!("{major}.{minor}"))),
        None => template
            .recommended_minor(major_number)
            .or_else(|| {
                template
                    .versions
                    .range((major_number, 0)..=(major_number, u64::MAX))
                    .next_back()
                    .map(|((_, minor), _)| *minor)
            })
            .map(|minor| (major_number, minor))
            .ok_or_else(|| missing(major.to_string())),
    }?;
    if template
        .versions
        .get(&key)
        .is_some_and(|v| v.status == VersionStatus::RegistrationFailed)
    {
        return Err(MockError::Validation(format!(
            "The {} {} failed to register and cannot be deployed; use another version",
            kind.version_noun(),
            arn(format!("{}.{}", key.0, key.1))
        )));
    }
    Ok(key)
}

/// The version a redeploy moves to, from [`super::deployments::requested_version`]:
/// an empty major means the template's recommended version.
pub fn resolve_redeploy(
    kind: TemplateKind,
    state: &State,
    ctx: &Ctx,
    name: &str,
    (major, minor): (String, Option<String>),
) -> Result<(u64, u64), MockError> {
    if major.is_empty() {
        let template = find(kind, state, ctx, name)?;
        let (major, minor) = template.recommended_version().ok_or_else(|| {
            MockError::Validation(format!(
                "The {} {name} has no published version to move to; publish one or name templateMajorVersion",
                kind.noun()
            ))
        })?;
        return resolve_version(
            kind,
            state,
            ctx,
            name,
            &major.to_string(),
            Some(&minor.to_string()),
        );
    }
    resolve_version(kind, state, ctx, name, &major, minor.as_deref())
}

/// The API Reference's rules for DeleteEnvironmentTemplateVersion and
/// DeleteServiceTemplateVersion, and the user guide's "Delete templates": a
/// version something is deployed on stays; the recommended version (of the
/// template, or the recommended minor of its major) goes only when it is
/// the last of its kind.
fn check_version_deletable(
    kind: TemplateKind,
    state: &State,
    template: &Template,
    version: &TemplateVersion,
) -> Result<(), MockError> {
    let key = (version.major, version.minor);
    let user = state
        .version_user(kind, &template.name, key)
        .map(|user| match user {
            VersionUser::Environment(name) => format!("environment {name}"),
            VersionUser::Service(service, ServicePart::Instance(name)) => {
                format!("service instance {name} of service {service}")
            }
            VersionUser::Service(service, ServicePart::Pipeline) => {
                format!("the pipeline of service {service}")
            }
        });
    if let Some(user) = user {
        return Err(MockError::Conflict(format!(
            "The {} {} is in use by {user}; move it to another version or delete it first",
            kind.version_noun(),
            version.arn(&template.arn)
        )));
    }
    let others_in_major = template
        .versions
        .range((key.0, 0)..=(key.0, u64::MAX))
        .take(2)
        .count()
        > 1;
    if template.recommended_version() == Some(key) && template.versions.len() > 1 {
        return Err(MockError::Conflict(format!(
            "The {} {} is the recommended version and other versions exist; delete them first, or publish a higher version",
            kind.version_noun(),
            version.arn(&template.arn)
        )));
    }
    if version.status == VersionStatus::Published
        && template.recommended_minor(key.0) == Some(key.1)
        && others_in_major
    {
        return Err(MockError::Conflict(format!(
            "The {} {} is the recommended minor version of major version {} and other minor versions exist; delete them first",
            kind.version_noun(),
            version.arn(&template.arn),
            key.0
        )));
    }
    Ok(())
}
