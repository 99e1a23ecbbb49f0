//! Environment account connections: requested from the environment account
//! (PENDING), accepted (CONNECTED) or rejected (REJECTED) by the management
//! account, updated, and deleted synchronously. The mock is one account, so
//! the environment account is always the mock's own.

use super::Detail;
use super::{
    Ctx, Members, MockError, Obj, deleted_answer, list_output, opt_str, opt_string, paginate,
    req_str, tag_new, with_client_token, wrap,
};
use crate::mock::state::{Connection, ConnectionStatus, State, Target};
use serde_json::Value;

const OPERATION: &str = "CreateEnvironmentAccountConnection";

fn arn(ctx: &Ctx, id: &str) -> String {
    ctx.arn(&format!("environment-account-connection/{id}"))
}

fn render(c: &Connection, detail: Detail) -> Value {
    let summary = detail == Detail::Summary;
    Obj::new()
        .str("arn", &c.arn)
        .opt(
            "codebuildRoleArn",
            c.codebuild_role_arn.as_deref().filter(|_| !summary),
        )
        .opt("componentRoleArn", c.component_role_arn.as_deref())
        .str("environmentAccountId", &c.environment_account_id)
        .str("environmentName", &c.environment_name)
        .str("id", &c.id)
        .time("lastModifiedAt", c.last_modified_at)
        .str("managementAccountId", &c.management_account_id)
        .time("requestedAt", c.requested_at)
        .str("roleArn", &c.role_arn)
        .str("status", c.status.as_str())
        .build()
}

fn output(c: &Connection) -> Value {
    wrap("environmentAccountConnection", render(c, Detail::Full))
}

fn find<'a>(
    state: &'a mut State,
    ctx: &Ctx,
    input: &Value,
) -> Result<&'a mut Connection, MockError> {
    let id = req_str(input, "id")?;
    state
        .connections
        .get_mut(id)
        .ok_or_else(|| MockError::not_found("environment account connection", arn(ctx, id)))
}

pub fn create(state: &mut State, ctx: &Ctx, input: &Value) -> Result<Value, MockError> {
    let environment_name = req_str(input, "environmentName")?;
    let management_account_id = req_str(input, "managementAccountId")?;
    // Optional in the model (a connection used only for CodeBuild or for
    // components needs no role); the output requires it, so it reads "".
    let role_arn = opt_str(input, "roleArn").unwrap_or_default();
    with_client_token(
        state,
        ctx,
        OPERATION,
        input,
        |state, target| match target {
            Target::Connection(id) => state.connections.get(id).map(output),
            _ => None,
        },
        |state| {
            let id = uuid::Uuid::new_v4().to_string();
            let connection = Connection {
                arn: arn(ctx, &id),
                id: id.clone(),
                environment_name: environment_name.to_string(),
                environment_account_id: ctx.config.account_id.clone(),
                management_account_id: management_account_id.to_string(),
                role_arn: role_arn.to_string(),
                codebuild_role_arn: opt_string(input, "codebuildRoleArn"),
                component_role_arn: opt_string(input, "componentRoleArn"),
                status: ConnectionStatus::Pending,
                requested_at: ctx.now,
                last_modified_at: ctx.now,
            };
            let out = output(&connection);
            tag_new(state, &connection.arn, input);
            state.connections.insert(id.clone(), connection);
            Ok((Target::Connection(id), out))
        },
    )
}

/// Moves a connection to `to`; allowed from the states in `from`, and a
/// no-op when it is already there.
fn transition(
    state: &mut State,
    ctx: &Ctx,
    input: &Value,
    to: ConnectionStatus,
    from: &[ConnectionStatus],
) -> Result<Value, MockError> {
    let connection = find(state, ctx, input)?;
    if connection.status != to {
        if !from.contains(&connection.status) {
            return Err(MockError::Conflict(format!(
                "The environment account connection {} is {} and cannot become {}",
                connection.id,
                connection.status.as_str(),
                to.as_str()
            )));
        }
        connection.status = to;
        connection.last_modified_at = ctx.now;
    }
    Ok(output(connection))
}

pub fn accept(state: &mut State, ctx: &Ctx, input: &Value) -> Result<Value, MockError> {
    transition(
        state,
        ctx,
        input,
        ConnectionStatus::Connected,
        &[ConnectionStatus::Pending],
    )
}

pub fn reject(state: &mut State, ctx: &Ctx, input: &Value) -> Result<Value, MockError> {
    transition(
        state,
        ctx,
        input,
        ConnectionStatus::Rejected,
        &[ConnectionStatus::Pending, ConnectionStatus::Connected],
    )
}

pub fn get(state: &mut State, ctx: &Ctx, input: &Value) -> Result<Value, MockError> {
    find(state, ctx, input).map(|c| output(c))
}

pub fn list(state: &State, ctx: &Ctx, input: &Value) -> Result<Value, MockError> {
    let requested_by = req_str(input, "requestedBy")?;
    let account = ctx.config.account_id.as_str();
    let environment = opt_str(input, "environmentName");
    let statuses: Option<Vec<&str>> = input
        .get("statuses")
        .and_then(Value::as_array)
        .map(|s| s.iter().filter_map(Value::as_str).collect());
    // Oldest first (ids are random, so id order would be arbitrary); the
    // zero-padded request time keeps the keys sorted for pagination.
    let mut items: Vec<_> = state
        .connections
        .values()
        .filter(|c| match requested_by {
            "MANAGEMENT_ACCOUNT" => c.management_account_id == account,
            _ => c.environment_account_id == account,
        })
        .filter(|c| environment.is_none_or(|name| c.environment_name == name))
        .filter(|c| {
            statuses
                .as_ref()
                .is_none_or(|s| s.contains(&c.status.as_str()))
        })
        .map(|c| (format!("{:020}/{}", c.requested_at, c.id), c))
        .collect();
    items.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(list_output(
        "environmentAccountConnections",
        paginate(input, items.into_iter(), |c| render(c, Detail::Summary))?,
    ))
}

pub fn update(state: &mut State, ctx: &Ctx, input: &Value) -> Result<Value, MockError> {
    let connection = find(state, ctx, input)?;
    if let Some(role_arn) = opt_string(input, "roleArn") {
        connection.role_arn = role_arn;
    }
    for (member, field) in [
        ("codebuildRoleArn", &mut connection.codebuild_role_arn),
        ("componentRoleArn", &mut connection.component_role_arn),
    ] {
        if let Some(value) = opt_string(input, member) {
            *field = Some(value);
        }
    }
    connection.last_modified_at = ctx.now;
    Ok(output(connection))
}

pub fn delete(state: &mut State, ctx: &Ctx, input: &Value) -> Result<Value, MockError> {
    let id = req_str(input, "id")?;
    let Some(connection) = state.connections.remove(id) else {
        return deleted_answer(state, ctx, "environment account connection", arn(ctx, id));
    };
    let out = output(&connection);
    state.forget(connection.arn, ctx.now, Some(out.clone()));
    Ok(out)
}

pub fn dump(state: &State) -> Value {
    Value::Array(
        state
            .connections
            .values()
            .map(|c| render(c, Detail::Full))
            .collect(),
    )
}
