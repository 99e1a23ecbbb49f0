//! Linked repositories (CreateRepository and friends): links to a Git
//! repository through a CodeStar connection, used by template sync, service
//! sync and self-managed provisioning. The mock never reaches the
//! repository: its sync status and sync definitions are derived from the
//! sync configs that name it.

use super::Detail;
use super::{
    Ctx, Members, MockError, Obj, deleted_answer, list_output, paginate, req_str, tag_new,
    timestamp, wrap,
};
use crate::mock::state::{Repository, RepositoryKey, State};
use serde_json::{Map, Value, json};

pub fn arn(ctx: &Ctx, provider: &str, name: &str) -> String {
    ctx.arn(&format!(
        "repository/{}:{name}",
        provider.to_ascii_lowercase()
    ))
}

fn key(input: &Value, provider: &str, name: &str) -> Result<RepositoryKey, MockError> {
    Ok((
        req_str(input, provider)?.to_string(),
        req_str(input, name)?.to_string(),
    ))
}

fn render(r: &Repository, detail: Detail) -> Value {
    let summary = detail == Detail::Summary;
    Obj::new()
        .str("arn", &r.arn)
        .str("connectionArn", &r.connection_arn)
        .opt(
            "encryptionKey",
            r.encryption_key.as_deref().filter(|_| !summary),
        )
        .str("name", &r.name)
        .str("provider", &r.provider)
        .build()
}

fn output(r: &Repository) -> Value {
    wrap("repository", render(r, Detail::Full))
}

/// The linked repository `key`, or a ValidationException saying it must be
/// linked first (the operations that name one do not declare ResourceNotFound).
pub fn linked<'a>(state: &'a State, key: &RepositoryKey) -> Result<&'a Repository, MockError> {
    state.linked.repositories.get(key).ok_or_else(|| {
        MockError::Validation(format!(
            "The repository {} ({}) is not linked to AWS Proton; link it with CreateRepository first",
            key.1, key.0
        ))
    })
}

pub fn create(state: &mut State, ctx: &Ctx, input: &Value) -> Result<Value, MockError> {
    let key = key(input, "provider", "name")?;
    let connection_arn = req_str(input, "connectionArn")?;
    if state.linked.repositories.contains_key(&key) {
        return Err(MockError::Conflict(format!(
            "The repository {} ({}) is already linked",
            key.1, key.0
        )));
    }
    let repository = Repository {
        arn: arn(ctx, &key.0, &key.1),
        provider: key.0.clone(),
        name: key.1.clone(),
        connection_arn: connection_arn.to_string(),
        encryption_key: super::opt_string(input, "encryptionKey"),
    };
    let out = output(&repository);
    state.revive(&repository.arn);
    tag_new(state, &repository.arn, input);
    state.linked.repositories.insert(key, repository);
    Ok(out)
}

pub fn get(state: &State, ctx: &Ctx, input: &Value) -> Result<Value, MockError> {
    let key = key(input, "provider", "name")?;
    state
        .linked
        .repositories
        .get(&key)
        .map(output)
        .ok_or_else(|| MockError::not_found("repository", arn(ctx, &key.0, &key.1)))
}

pub fn list(state: &State, input: &Value) -> Result<Value, MockError> {
    // A space sorts before every character of a provider or a name, so the
    // keys sort in the map's (provider, name) order.
    let items = state
        .linked
        .repositories
        .values()
        .map(|r| (format!("{} {}", r.provider, r.name), r));
    Ok(list_output(
        "repositories",
        paginate(input, items, |r| render(r, Detail::Summary))?,
    ))
}

pub fn delete(state: &mut State, ctx: &Ctx, input: &Value) -> Result<Value, MockError> {
    let key = key(input, "provider", "name")?;
    let Some(repository) = state.linked.repositories.get(&key) else {
        return deleted_answer(state, ctx, "repository", arn(ctx, &key.0, &key.1));
    };
    if let Some(user) = state.linked.in_use(&key) {
        return Err(MockError::Conflict(format!(
            "The repository {} ({}) is used by {user}; remove that first",
            key.1, key.0
        )));
    }
    let out = output(repository);
    let arn = repository.arn.clone();
    state.linked.repositories.remove(&key);
    state.forget(arn, ctx.now, Some(out.clone()));
    Ok(out)
}

/// The last sync of a linked repository's branch: the most recent creation
/// or update of a sync config of `sync_type` that reads it. `{}` when none does.
pub fn sync_status(state: &State, ctx: &Ctx, input: &Value) -> Result<Value, MockError> {
    let key = key(input, "repositoryProvider", "repositoryName")?;
    let branch = req_str(input, "branch")?;
    let sync_type = req_str(input, "syncType")?;
    if !state.linked.repositories.contains_key(&key) {
        return Err(MockError::not_found("repository", arn(ctx, &key.0, &key.1)));
    }
    let latest = syncs(state, &key, sync_type)
        .filter(|s| s.branch == branch)
        .max_by_key(|s| s.synced_at);
    let Some(sync) = latest else {
        return Ok(Value::Object(Map::new()));
    };
    let event = |event: String, kind: &str, external: Option<&str>| {
        Obj::new()
            .str("event", &event)
            .opt("externalId", external)
            .time("time", sync.synced_at)
            .str("type", kind)
            .build()
    };
    let attempt = Obj::new()
        .value(
            "events",
            json!([
                event("Clone started".to_string(), "CLONE_STARTED", None),
                event("Updated configuration".to_string(), "CONFIG_UPDATED", None),
                event(
                    format!("Starting syncs for commit {}", sync.sha),
                    "STARTING_SYNC",
                    Some(sync.sha),
                ),
            ]),
        )
        .value("startedAt", timestamp(sync.synced_at))
        .str("status", "SUCCEEDED")
        .build();
    Ok(wrap("latestSync", attempt))
}

/// What the sync configs of one type read from a repository.
pub struct SyncView<'a> {
    pub branch: &'a str,
    pub directory: String,
    /// The template or service synced.
    pub target: &'a str,
    pub synced_at: u64,
    pub sha: &'a str,
}

fn syncs<'a>(
    state: &'a State,
    key: &'a RepositoryKey,
    sync_type: &str,
) -> Box<dyn Iterator<Item = SyncView<'a>> + 'a> {
    if sync_type == "SERVICE_SYNC" {
        Box::new(
            state
                .linked
                .service_syncs
                .values()
                .filter(move |c| &c.repository == key)
                .map(|c| SyncView {
                    branch: &c.branch,
                    directory: c.file_path.clone(),
                    target: &c.service_name,
                    synced_at: c.synced_at,
                    sha: &c.sha,
                }),
        )
    } else {
        Box::new(
            state
                .linked
                .template_syncs
                .values()
                .filter(move |c| &c.repository == key)
                .map(|c| SyncView {
                    branch: &c.branch,
                    directory: c
                        .subdirectory
                        .clone()
                        .unwrap_or_else(|| c.template_name.clone()),
                    target: &c.template_name,
                    synced_at: c.synced_at,
                    sha: &c.sha,
                }),
        )
    }
}

/// One definition per sync config of `syncType` that reads the repository:
/// the repository is the parent, the template or service the target.
pub fn sync_definitions(state: &State, input: &Value) -> Result<Value, MockError> {
    let key = key(input, "repositoryProvider", "repositoryName")?;
    let sync_type = req_str(input, "syncType")?;
    let mut items: Vec<(String, Value)> = syncs(state, &key, sync_type)
        .map(|s| {
            let definition = Obj::new()
                .str("branch", s.branch)
                .str("directory", &s.directory)
                .str("parent", &key.1)
                .str("target", s.target)
                .build();
            (format!("{} {}", s.target, s.branch), definition)
        })
        .collect();
    items.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(list_output(
        "syncDefinitions",
        paginate(input, items.into_iter(), |d| d)?,
    ))
}

pub fn dump(state: &State) -> Value {
    Value::Array(
        state
            .linked
            .repositories
            .values()
            .map(|r| render(r, Detail::Full))
            .collect(),
    )
}
