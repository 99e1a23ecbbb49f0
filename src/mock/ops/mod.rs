//! The emulated operations, one file per resource family. An operation takes
//! the validated JSON input and the state (already settled at `now`) and
//! returns the JSON output or a [`MockError`]; it does no IO. The idempotency
//! rules shared by several families live here: client-token creates,
//! idempotent creates by name, and delete retries answered from tombstones.
//! [`dispatch`] also applies two rules that cross families: components
//! guard the deletion of what they are attached to, and a manual change to
//! a service synced from Git raises a service sync blocker.
//! [`prefetch`] runs before validation and changes nothing: it asks for
//! the memory an operation reads first.

mod account;
mod components;
mod connections;
pub mod deployments;
mod environments;
mod iac;
mod output;
mod repositories;
mod services;
mod spec;
mod sync;
mod tags;
mod templates;

use super::MockConfig;
use super::clock::Millis;
use super::errors::MockError;
use super::state::{Creation, State, Table, Target, TemplateKind, TokenRecord};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};
use std::ops::Bound;
use std::time::Duration;

pub use output::{Members, Obj, Output, list_output, list_text, timestamp, wrap, wrap_text};

/// What an operation knows besides its input and the state.
pub struct Ctx<'a> {
    pub now: Millis,
    pub config: &'a MockConfig,
    /// For a template version registered from a mapped S3 bundle: its
    /// schema, or why it cannot register.
    pub bundle: Option<&'a super::bundles::BundleRead>,
}

impl Ctx<'_> {
    /// `arn:aws:proton:<region>:<account>:<resource>`.
    pub fn arn(&self, resource: &str) -> String {
        format!(
            "arn:aws:proton:{}:{}:{resource}",
            self.config.region, self.config.account_id
        )
    }

    /// The instant `duration` from now.
    pub fn after(&self, duration: Duration) -> Millis {
        self.now
            .saturating_add(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX))
    }
}

/// Members the service model marks required that AWS's documented outputs
/// leave out, and so the mock leaves out too: (operation, JSON path). The
/// model's output check reports them as missing; SDKs accept the answers.
/// Sources: AWS Proton user guide, "Create an environment"
/// (create-environment output) and "Create a service", "Edit a service",
/// "Delete a service" (create-service, update-service, delete-service
/// outputs).
pub const DOCUMENTED_OMISSIONS: &[(&str, &str)] = &[
    (
        "CreateEnvironment",
        "$.environment.lastDeploymentSucceededAt",
    ),
    ("CreateEnvironment", "$.environment.templateMajorVersion"),
    ("CreateEnvironment", "$.environment.templateMinorVersion"),
    ("CreateService", "$.service.spec"),
    ("UpdateService", "$.service.spec"),
    ("DeleteService", "$.service.spec"),
];

/// Whether an output-check problem is a documented omission of `operation`.
pub fn documented_omission(operation: &str, problem: &str) -> bool {
    problem
        .strip_suffix(": missing required member")
        .is_some_and(|path| DOCUMENTED_OMISSIONS.contains(&(operation, path)))
}

/// Every operation the mock answers; any other operation of the model gets
/// `NotImplementedException`.
pub const EMULATED_OPERATIONS: &[&str] = &[
    "CreateEnvironmentTemplate",
    "GetEnvironmentTemplate",
    "ListEnvironmentTemplates",
    "UpdateEnvironmentTemplate",
    "DeleteEnvironmentTemplate",
    "CreateEnvironmentTemplateVersion",
    "GetEnvironmentTemplateVersion",
    "ListEnvironmentTemplateVersions",
    "UpdateEnvironmentTemplateVersion",
    "DeleteEnvironmentTemplateVersion",
    "CreateServiceTemplate",
    "GetServiceTemplate",
    "ListServiceTemplates",
    "UpdateServiceTemplate",
    "DeleteServiceTemplate",
    "CreateServiceTemplateVersion",
    "GetServiceTemplateVersion",
    "ListServiceTemplateVersions",
    "UpdateServiceTemplateVersion",
    "DeleteServiceTemplateVersion",
    "CreateEnvironment",
    "GetEnvironment",
    "ListEnvironments",
    "UpdateEnvironment",
    "DeleteEnvironment",
    "CreateService",
    "GetService",
    "ListServices",
    "UpdateService",
    "DeleteService",
    "GetServiceInstance",
    "ListServiceInstances",
    "CreateServiceInstance",
    "UpdateServiceInstance",
    "CancelServiceInstanceDeployment",
    "ListServiceInstanceOutputs",
    "ListServiceInstanceProvisionedResources",
    "UpdateServicePipeline",
    "CancelServicePipelineDeployment",
    "ListServicePipelineOutputs",
    "ListServicePipelineProvisionedResources",
    "CancelEnvironmentDeployment",
    "ListEnvironmentOutputs",
    "ListEnvironmentProvisionedResources",
    "GetDeployment",
    "ListDeployments",
    "DeleteDeployment",
    "NotifyResourceDeploymentStatusChange",
    "CreateEnvironmentAccountConnection",
    "AcceptEnvironmentAccountConnection",
    "RejectEnvironmentAccountConnection",
    "GetEnvironmentAccountConnection",
    "ListEnvironmentAccountConnections",
    "UpdateEnvironmentAccountConnection",
    "DeleteEnvironmentAccountConnection",
    "TagResource",
    "UntagResource",
    "ListTagsForResource",
    // components, repositories, sync configs, account
    "CreateComponent",
    "GetComponent",
    "ListComponents",
    "UpdateComponent",
    "DeleteComponent",
    "CancelComponentDeployment",
    "ListComponentOutputs",
    "ListComponentProvisionedResources",
    "CreateRepository",
    "GetRepository",
    "ListRepositories",
    "DeleteRepository",
    "GetRepositorySyncStatus",
    "ListRepositorySyncDefinitions",
    "CreateTemplateSyncConfig",
    "GetTemplateSyncConfig",
    "UpdateTemplateSyncConfig",
    "DeleteTemplateSyncConfig",
    "GetTemplateSyncStatus",
    "CreateServiceSyncConfig",
    "GetServiceSyncConfig",
    "UpdateServiceSyncConfig",
    "DeleteServiceSyncConfig",
    "GetServiceSyncBlockerSummary",
    "UpdateServiceSyncBlocker",
    "GetServiceInstanceSyncStatus",
    "GetAccountSettings",
    "UpdateAccountSettings",
    "GetResourcesSummary",
];

/// What asks for the lines of the state that `operation` on `input` reads
/// first ([`crate::mock::state::warm`]), for the operations whose first
/// reads are cold when the state holds thousands of resources; `None` for
/// the others, so that they do not lock the state for it. Hints only:
/// nothing is read or changed that a client can observe.
pub fn prefetch<'a>(operation: &str, input: &'a Value) -> Option<impl FnOnce(&State) + 'a> {
    let warm: fn(&State, &Value) = match operation {
        "UpdateServiceInstance" => services::prefetch_instance,
        "GetServiceInstance" => |state, input| {
            services::prefetch_instance_slot(state, input);
        },
        "ListDeployments" => deployments::prefetch_listing,
        "GetEnvironmentTemplateVersion" => |state, input| {
            templates::prefetch_version(TemplateKind::Environment, state, input);
        },
        "GetServiceTemplateVersion" => |state, input| {
            templates::prefetch_version(TemplateKind::Service, state, input);
        },
        _ => return None,
    };
    Some(move |state: &State| warm(state, input))
}

/// Runs `operation`; `None` when the mock does not emulate it.
pub fn dispatch(
    operation: &str,
    state: &mut State,
    ctx: &Ctx,
    input: &Value,
) -> Option<Result<Output, MockError>> {
    if let Err(error) = components::guard(operation, state, input) {
        return Some(Err(error));
    }
    // The answers written straight to text; the others are trees.
    let result = match operation {
        "GetServiceInstance" => services::get_instance(state, ctx, input).map(Output::Text),
        "UpdateServiceInstance" => services::update_instance(state, ctx, input).map(Output::Text),
        "CancelServiceInstanceDeployment" => {
            services::cancel_instance(state, ctx, input).map(Output::Text)
        }
        "ListServiceInstances" => services::list_instances(state, ctx, input).map(Output::Text),
        _ => tree(operation, state, ctx, input)?.map(Output::Tree),
    };
    if result.is_ok() {
        sync::after_manual_change(operation, state, ctx, input);
    }
    Some(result)
}

/// The operations whose answers are built as trees.
fn tree(
    operation: &str,
    state: &mut State,
    ctx: &Ctx,
    input: &Value,
) -> Option<Result<Value, MockError>> {
    use TemplateKind::{Environment as Env, Service as Svc};
    Some(match operation {
        "CreateEnvironmentTemplate" => templates::create(Env, state, ctx, input),
        "GetEnvironmentTemplate" => templates::get(Env, state, ctx, input),
        "ListEnvironmentTemplates" => templates::list(Env, state, input),
        "UpdateEnvironmentTemplate" => templates::update(Env, state, ctx, input),
        "DeleteEnvironmentTemplate" => templates::delete(Env, state, ctx, input),
        "CreateEnvironmentTemplateVersion" => {
            templates::create_version(Env, "CreateEnvironmentTemplateVersion", state, ctx, input)
        }
        "GetEnvironmentTemplateVersion" => templates::get_version(Env, state, ctx, input),
        "ListEnvironmentTemplateVersions" => templates::list_versions(Env, state, ctx, input),
        "UpdateEnvironmentTemplateVersion" => templates::update_version(Env, state, ctx, input),
        "DeleteEnvironmentTemplateVersion" => templates::delete_version(Env, state, ctx, input),
        "CreateServiceTemplate" => templates::create(Svc, state, ctx, input),
        "GetServiceTemplate" => templates::get(Svc, state, ctx, input),
        "ListServiceTemplates" => templates::list(Svc, state, input),
        "UpdateServiceTemplate" => templates::update(Svc, state, ctx, input),
        "DeleteServiceTemplate" => templates::delete(Svc, state, ctx, input),
        "CreateServiceTemplateVersion" => {
            templates::create_version(Svc, "CreateServiceTemplateVersion", state, ctx, input)
        }
        "GetServiceTemplateVersion" => templates::get_version(Svc, state, ctx, input),
        "ListServiceTemplateVersions" => templates::list_versions(Svc, state, ctx, input),
        "UpdateServiceTemplateVersion" => templates::update_version(Svc, state, ctx, input),
        "DeleteServiceTemplateVersion" => templates::delete_version(Svc, state, ctx, input),
        "CreateEnvironment" => environments::create(state, ctx, input),
        "GetEnvironment" => environments::get(state, ctx, input),
        "ListEnvironments" => environments::list(state, input),
        "UpdateEnvironment" => environments::update(state, ctx, input),
        "DeleteEnvironment" => environments::delete(state, ctx, input),
        "CreateService" => services::create(state, ctx, input),
        "GetService" => services::get(state, ctx, input),
        "ListServices" => services::list(state, input),
        "UpdateService" => services::update(state, ctx, input),
        "DeleteService" => services::delete(state, ctx, input),
        "CreateServiceInstance" => services::create_instance(state, ctx, input),
        "ListServiceInstanceOutputs" => services::list_instance_outputs(state, ctx, input),
        "ListServiceInstanceProvisionedResources" => {
            services::list_instance_provisioned_resources(state, ctx, input)
        }
        "UpdateServicePipeline" => services::update_pipeline(state, ctx, input),
        "CancelServicePipelineDeployment" => services::cancel_pipeline(state, ctx, input),
        "ListServicePipelineOutputs" => services::list_pipeline_outputs(state, ctx, input),
        "ListServicePipelineProvisionedResources" => {
            services::list_pipeline_provisioned_resources(state, ctx, input)
        }
        "CancelEnvironmentDeployment" => environments::cancel(state, ctx, input),
        "ListEnvironmentOutputs" => environments::list_outputs(state, ctx, input),
        "ListEnvironmentProvisionedResources" => {
            environments::list_provisioned_resources(state, ctx, input)
        }
        "GetDeployment" => deployments::get(state, ctx, input),
        "ListDeployments" => deployments::list(state, input),
        "DeleteDeployment" => deployments::delete(state, ctx, input),
        "NotifyResourceDeploymentStatusChange" => deployments::notify(state, ctx, input),
        "CreateEnvironmentAccountConnection" => connections::create(state, ctx, input),
        "AcceptEnvironmentAccountConnection" => connections::accept(state, ctx, input),
        "RejectEnvironmentAccountConnection" => connections::reject(state, ctx, input),
        "GetEnvironmentAccountConnection" => connections::get(state, ctx, input),
        "ListEnvironmentAccountConnections" => connections::list(state, ctx, input),
        "UpdateEnvironmentAccountConnection" => connections::update(state, ctx, input),
        "DeleteEnvironmentAccountConnection" => connections::delete(state, ctx, input),
        "TagResource" => tags::tag(state, ctx, input),
        "UntagResource" => tags::untag(state, ctx, input),
        "ListTagsForResource" => tags::list(state, ctx, input),
        // components, repositories, sync configs, account
        "CreateComponent" => components::create(state, ctx, input),
        "GetComponent" => components::get(state, ctx, input),
        "ListComponents" => components::list(state, input),
        "UpdateComponent" => components::update(state, ctx, input),
        "DeleteComponent" => components::delete(state, ctx, input),
        "CancelComponentDeployment" => components::cancel(state, ctx, input),
        "ListComponentOutputs" => components::list_outputs(state, ctx, input),
        "ListComponentProvisionedResources" => {
            components::list_provisioned_resources(state, ctx, input)
        }
        "CreateRepository" => repositories::create(state, ctx, input),
        "GetRepository" => repositories::get(state, ctx, input),
        "ListRepositories" => repositories::list(state, input),
        "DeleteRepository" => repositories::delete(state, ctx, input),
        "GetRepositorySyncStatus" => repositories::sync_status(state, ctx, input),
        "ListRepositorySyncDefinitions" => repositories::sync_definitions(state, input),
        "CreateTemplateSyncConfig" => sync::create_template(state, ctx, input),
        "GetTemplateSyncConfig" => sync::get_template(state, ctx, input),
        "UpdateTemplateSyncConfig" => sync::update_template(state, ctx, input),
        "DeleteTemplateSyncConfig" => sync::delete_template(state, ctx, input),
        "GetTemplateSyncStatus" => sync::template_status(state, ctx, input),
        "CreateServiceSyncConfig" => sync::create_service(state, ctx, input),
        "GetServiceSyncConfig" => sync::get_service(state, ctx, input),
        "UpdateServiceSyncConfig" => sync::update_service(state, ctx, input),
        "DeleteServiceSyncConfig" => sync::delete_service(state, ctx, input),
        "GetServiceSyncBlockerSummary" => sync::blocker_summary(state, ctx, input),
        "UpdateServiceSyncBlocker" => sync::update_blocker(state, ctx, input),
        "GetServiceInstanceSyncStatus" => sync::instance_status(state, ctx, input),
        "GetAccountSettings" => account::get(state),
        "UpdateAccountSettings" => account::update(state, input),
        "GetResourcesSummary" => account::summary(state),
        _ => return None,
    })
}

/// The whole state as readable JSON, in the operations' own output shapes.
pub fn dump(state: &State) -> Value {
    let mut out = Map::new();
    out.insert(
        "environmentTemplates".into(),
        templates::dump(TemplateKind::Environment, state),
    );
    out.insert(
        "serviceTemplates".into(),
        templates::dump(TemplateKind::Service, state),
    );
    out.insert("environments".into(), environments::dump(state));
    out.insert("services".into(), services::dump(state));
    out.insert(
        "environmentAccountConnections".into(),
        connections::dump(state),
    );
    out.insert("deployments".into(), deployments::dump(state));
    out.insert("components".into(), components::dump(state));
    out.insert("repositories".into(), repositories::dump(state));
    out.insert("sync".into(), sync::dump(state));
    out.insert("accountSettings".into(), account::render(state));
    out.insert("tags".into(), tags::dump(state));
    out.insert("clientTokens".into(), state.token_count().into());
    out.insert("tombstones".into(), state.tombstone_count().into());
    Value::Object(out)
}

// ---- idempotency rules shared by the families ----

/// A create with a client token (seed 000, "Idempotent create APIs with a
/// client token"): the same token and parameters answer what the token made,
/// as it is now; different parameters are a mismatch; once that resource is
/// gone, or the token expired, the request creates anew.
pub fn with_client_token(
    state: &mut State,
    ctx: &Ctx,
    operation: &'static str,
    input: &Value,
    existing: impl Fn(&State, &Target) -> Option<Value>,
    create: impl FnOnce(&mut State) -> Result<(Target, Value), MockError>,
) -> Result<Value, MockError> {
    let Some(token) = opt_str(input, "clientToken").filter(|t| !t.is_empty()) else {
        return create(state).map(|(_, output)| output);
    };
    if let Some(record) = state.token(operation, token) {
        if !same_except(&record.params, input, "clientToken") {
            return Err(MockError::IdempotentParameterMismatch);
        }
        if let Some(output) = existing(state, &record.target) {
            return Ok(output);
        }
    }
    let (target, output) = create(state)?;
    let record = TokenRecord {
        params: without(input, "clientToken"),
        target,
        expires_at: ctx.after(ctx.config.token_expiry),
    };
    state.remember_token(operation, token.to_string(), record);
    Ok(output)
}

/// A create retried by name (seed 000, "Idempotent create APIs"): different
/// parameters are a mismatch (checked first); a resource modified since, or
/// being deleted, conflicts; otherwise the retry answers the resource as it is.
pub fn retry_create(
    creation: &Creation,
    input: &Value,
    what: &str,
    busy: bool,
) -> Result<(), MockError> {
    if creation.params != *input {
        return Err(MockError::IdempotentParameterMismatch);
    }
    if creation.modified {
        return Err(MockError::Conflict(format!(
            "{what} was modified after it was created, so a retried create cannot return it; use Get to read it"
        )));
    }
    if busy {
        return Err(MockError::Conflict(format!("{what} is being deleted")));
    }
    Ok(())
}

/// The answer to a delete of something that is not there: the deleted
/// resource's answer within the tombstone retention window, `{}` after it or
/// once an asynchronous delete completed, ResourceNotFound if it never existed.
pub fn deleted_answer(
    state: &State,
    ctx: &Ctx,
    kind: &'static str,
    arn: String,
) -> Result<Value, MockError> {
    let Some(tombstone) = state.tombstone(&arn) else {
        return Err(MockError::not_found(kind, arn));
    };
    let retention = u64::try_from(ctx.config.tombstone_retention.as_millis()).unwrap_or(u64::MAX);
    Ok(match &tombstone.answer {
        Some(answer) if ctx.now < tombstone.deleted_at.saturating_add(retention) => answer.clone(),
        _ => Value::Object(Map::new()),
    })
}

// ---- reading input ----

pub fn opt_str<'a>(input: &'a Value, member: &str) -> Option<&'a str> {
    input.get(member).and_then(Value::as_str)
}

pub fn opt_string(input: &Value, member: &str) -> Option<String> {
    opt_str(input, member).map(str::to_string)
}

/// A required string member. The model's validation normally catches its
/// absence first; this keeps the mock safe without it.
pub fn req_str<'a>(input: &'a Value, member: &str) -> Result<&'a str, MockError> {
    opt_str(input, member).ok_or_else(|| {
        MockError::Validation(format!(
            "1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null"
        ))
    })
}

/// A template version number (`"1"`, `"12"`) as a number; `None` when it is
/// not one (such a version cannot exist).
pub fn version_number(text: &str) -> Option<u64> {
    text.parse().ok()
}

/// The input without `member` (the "parameters" a retry is compared on).
pub fn without(input: &Value, member: &str) -> Value {
    match input {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, _)| k.as_str() != member)
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Whether `params` equals `without(input, member)`, without building it.
pub fn same_except(params: &Value, input: &Value, member: &str) -> bool {
    match (params, input) {
        (Value::Object(params), Value::Object(input)) => {
            let others = input.len() - usize::from(input.contains_key(member));
            params.len() == others
                && input
                    .iter()
                    .filter(|(k, _)| k.as_str() != member)
                    .all(|(k, v)| params.get(k) == Some(v))
        }
        _ => *params == without(input, member),
    }
}

/// `tags: [{key, value}]` from a create request.
pub fn input_tags(input: &Value) -> Vec<(String, String)> {
    input
        .get("tags")
        .and_then(Value::as_array)
        .map(|tags| {
            tags.iter()
                .filter_map(|t| Some((opt_string(t, "key")?, opt_string(t, "value")?)))
                .collect()
        })
        .unwrap_or_default()
}

/// Stores the tags a create request carried.
pub fn tag_new(state: &mut State, arn: &str, input: &Value) {
    let tags = input_tags(input);
    if !tags.is_empty() {
        state.tags.entry(arn.to_string()).or_default().extend(tags);
    }
}

/// How much of a resource an answer shows.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    /// Get, Create, Update, Delete: every member.
    Full,
    /// A list entry (the model's `...Summary` shapes).
    Summary,
}

// ---- pagination ----

/// One page of `items` (sorted by key) after the input's `nextToken`, at
/// most `maxResults` (default and ceiling 100) long, and the token of the
/// next page. The token is the next item's key, encoded so that clients
/// treat it as opaque.
pub fn paginate<K: AsRef<str>, T>(
    input: &Value,
    items: impl Iterator<Item = (K, T)>,
    render: impl Fn(T) -> Value,
) -> Result<(Vec<Value>, Option<String>), MockError> {
    let (page, next) = page(input, items)?;
    Ok((page.into_iter().map(render).collect(), next))
}

/// The items of the page [`paginate`] renders, and the next page's token.
pub fn page<K: AsRef<str>, T>(
    input: &Value,
    items: impl Iterator<Item = (K, T)>,
) -> Result<(Vec<T>, Option<String>), MockError> {
    let max = input
        .get("maxResults")
        .and_then(Value::as_u64)
        .unwrap_or(100)
        .clamp(1, 100) as usize;
    let start = page_start(input)?;
    let mut page = Vec::with_capacity(max.min(16));
    for (key, item) in items {
        let key = key.as_ref();
        if start.as_deref().is_some_and(|start| key < start) {
            continue;
        }
        if page.len() == max {
            return Ok((page, Some(URL_SAFE_NO_PAD.encode(key))));
        }
        page.push(item);
    }
    Ok((page, None))
}

/// The key of the item at `index` of a sorted list: its position,
/// zero-padded to twelve digits so that keys sort as text.
pub struct PositionKey([u8; 12]);

impl PositionKey {
    pub fn new(mut index: usize) -> Self {
        let mut digits = [b'0'; 12];
        for digit in digits.iter_mut().rev() {
            *digit = b'0' + (index % 10) as u8;
            index /= 10;
        }
        Self(digits)
    }
}

impl AsRef<str> for PositionKey {
    fn as_ref(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

/// The key of the first item of the page the input's `nextToken` asks for.
pub fn page_start(input: &Value) -> Result<Option<String>, MockError> {
    let Some(token) = opt_str(input, "nextToken") else {
        return Ok(None);
    };
    URL_SAFE_NO_PAD
        .decode(token)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .map(Some)
        .ok_or_else(|| {
            MockError::Validation(format!(
                "The nextToken '{token}' is not one this endpoint returned; start over without it"
            ))
        })
}

/// The entries of a map keyed by name from the page's first key on, so
/// that a page costs its own length, not the map's.
pub fn from_start<'m, T>(
    map: &'m Table<String, T>,
    start: Option<&str>,
) -> impl Iterator<Item = (&'m String, &'m T)> {
    let from = start.map_or(Bound::Unbounded, Bound::Included);
    map.range::<str, _>((from, Bound::Unbounded))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_listed_operation_is_dispatched_and_no_other() {
        let config = MockConfig::default();
        let ctx = Ctx {
            now: 0,
            config: &config,
            bundle: None,
        };
        for operation in EMULATED_OPERATIONS {
            let mut state = State::default();
            assert!(
                dispatch(operation, &mut state, &ctx, &json!({})).is_some(),
                "{operation}"
            );
        }
        assert!(dispatch("NoSuchOperation", &mut State::default(), &ctx, &json!({})).is_none());
    }

    #[test]
    fn pages_follow_each_other_without_gaps_or_repeats() {
        let items = || (0..7).map(|i| (format!("k{i}"), i));
        let mut input = json!({"maxResults": 3});
        let mut seen = Vec::new();
        loop {
            let (page, next) = paginate(&input, items(), |i| json!(i)).unwrap();
            seen.extend(page);
            match next {
                Some(token) => input["nextToken"] = json!(token),
                None => break,
            }
        }
        assert_eq!(seen, (0..7).map(|i| json!(i)).collect::<Vec<_>>());
        let bad = paginate(&json!({"nextToken": "!!"}), items(), |i| json!(i));
        assert!(matches!(bad, Err(MockError::Validation(_))));
    }

    #[test]
    fn parameters_compare_as_if_the_member_were_removed() {
        let stored = json!({"a": 1, "b": {"c": [2]}});
        for (input, same) in [
            (json!({"a": 1, "b": {"c": [2]}, "clientToken": "t"}), true),
            (json!({"a": 1, "b": {"c": [2]}}), true),
            (json!({"a": 1, "b": {"c": [3]}, "clientToken": "t"}), false),
            (json!({"a": 1, "clientToken": "t"}), false),
            (json!({"a": 1, "b": {"c": [2]}, "d": 0}), false),
        ] {
            assert_eq!(same_except(&stored, &input, "clientToken"), same, "{input}");
            assert_eq!(same, stored == without(&input, "clientToken"), "{input}");
        }
    }

    #[test]
    fn timestamps_are_seconds_with_milliseconds() {
        assert_eq!(timestamp(1_605_135_765_336).to_string(), "1605135765.336");
    }
}
