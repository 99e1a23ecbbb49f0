//! The Proton mock, driven by real clients: the Rust SDK, the AWS CLI and
//! boto3 (waiters and typed exceptions). Every idempotency rule of seed 000
//! has a test here that fails if the rule breaks; time moves by jumping the
//! mock's manual clock, never by sleeping.

use crate::support::{
    self, DUMMY_AKID, DUMMY_SECRET, ENV_SPEC, HOUR_MS, Retries, SECOND_MS, SERVICE_SPEC, aws_cli,
    call, cli_json, create_env, manual, manual_client, manual_config, proton_client,
    proton_client_with, published_env_template, published_service_template, source, start,
};
use aws_sdk_proton::error::ProvideErrorMetadata;
use aws_sdk_proton::types::{
    DeploymentStatus, EnvironmentAccountConnectionRequesterAccountType, ServiceStatus,
    TemplateVersionStatus,
};
use proton_vcr::mock::EMULATED_OPERATIONS;
use proton_vcr::model::Model;
use proton_vcr::{Durations, Mock, MockConfig};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn create_version_request(
    client: &aws_sdk_proton::Client,
    template: &str,
    token: &str,
) -> aws_sdk_proton::operation::create_environment_template_version::builders::CreateEnvironmentTemplateVersionFluentBuilder{
    client
        .create_environment_template_version()
        .template_name(template)
        .client_token(token)
        .source(source())
}

/// A raw HTTP/1.1 exchange, for what real clients never send.
struct Raw {
    status: u16,
    headers: String,
    body: Value,
}

async fn raw(url: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Raw {
    let addr = url.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    Raw {
        status: head[9..12].parse().unwrap(),
        headers: head.to_ascii_lowercase(),
        body: serde_json::from_str(body).unwrap_or(Value::Null),
    }
}

async fn aws_json(url: &str, operation: &str, body: &str) -> Raw {
    let target = format!("AwsProton20200720.{operation}");
    raw(
        url,
        "POST",
        "/",
        &[
            ("Content-Type", "application/x-amz-json-1.0"),
            ("X-Amz-Target", &target),
        ],
        body,
    )
    .await
}

// ---- client-token creates ----

#[tokio::test]
async fn client_token_retry_returns_the_original_version_and_creates_nothing() {
    let (server, client) = manual_client().await;
    client
        .create_environment_template()
        .name("env-tpl")
        .send()
        .await
        .unwrap();
    let first = create_version_request(&client, "env-tpl", "token-1")
        .send()
        .await
        .unwrap();
    let first = first.environment_template_version().unwrap();
    assert_eq!(
        first.status(),
        &TemplateVersionStatus::RegistrationInProgress
    );

    server.mock().advance_clock_ms(2 * SECOND_MS);
    let retry = create_version_request(&client, "env-tpl", "token-1")
        .send()
        .await
        .unwrap();
    let retry = retry.environment_template_version().unwrap();
    assert_eq!(
        (retry.arn(), retry.created_at()),
        (first.arn(), first.created_at())
    );
    // The retry shows the resource as it is now.
    assert_eq!(retry.status(), &TemplateVersionStatus::Draft);

    let versions = client
        .list_environment_template_versions()
        .template_name("env-tpl")
        .send()
        .await
        .unwrap();
    assert_eq!(versions.template_versions().len(), 1);
}

#[tokio::test]
async fn client_token_retry_with_different_parameters_is_an_idempotent_parameter_mismatch() {
    let (_server, client) = manual_client().await;
    client
        .create_environment_template()
        .name("env-tpl")
        .send()
        .await
        .unwrap();
    create_version_request(&client, "env-tpl", "token-1")
        .send()
        .await
        .unwrap();
    let error = create_version_request(&client, "env-tpl", "token-1")
        .description("not what the token was first sent with")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(error.is_validation_exception(), "{error:?}");
    assert_eq!(error.message(), Some("Idempotent parameter mismatch"));
}

#[tokio::test]
async fn client_tokens_expire_eight_hours_after_the_request() {
    let (server, client) = manual_client().await;
    client
        .create_environment_template()
        .name("env-tpl")
        .send()
        .await
        .unwrap();
    create_version_request(&client, "env-tpl", "token-1")
        .send()
        .await
        .unwrap();

    server.mock().advance_clock_ms(8 * HOUR_MS - 1);
    let retry = create_version_request(&client, "env-tpl", "token-1")
        .send()
        .await
        .unwrap();
    assert_eq!(
        retry
            .environment_template_version()
            .unwrap()
            .major_version(),
        "1"
    );

    server.mock().advance_clock_ms(1);
    let after = create_version_request(&client, "env-tpl", "token-1")
        .send()
        .await
        .unwrap();
    assert_eq!(
        after
            .environment_template_version()
            .unwrap()
            .major_version(),
        "2"
    );
    let versions = client
        .list_environment_template_versions()
        .template_name("env-tpl")
        .send()
        .await
        .unwrap();
    assert_eq!(versions.template_versions().len(), 2);
}

#[tokio::test]
async fn client_token_retry_after_the_resource_was_deleted_creates_a_new_one() {
    let (_server, client) = manual_client().await;
    let create = || {
        client
            .create_environment_account_connection()
            .client_token("token-1")
            .environment_name("dev")
            .management_account_id("111111111111")
            .role_arn("arn:aws:iam::123456789012:role/proton-env")
    };
    let first = create().send().await.unwrap();
    let first_id = first
        .environment_account_connection()
        .unwrap()
        .id()
        .to_string();
    let retry = create().send().await.unwrap();
    assert_eq!(
        retry.environment_account_connection().unwrap().id(),
        first_id
    );

    client
        .delete_environment_account_connection()
        .id(&first_id)
        .send()
        .await
        .unwrap();
    let again = create().send().await.unwrap();
    let again_id = again.environment_account_connection().unwrap().id();
    assert_ne!(again_id, first_id);
    let connections = client
        .list_environment_account_connections()
        .requested_by(EnvironmentAccountConnectionRequesterAccountType::EnvironmentAccount)
        .send()
        .await
        .unwrap();
    assert_eq!(connections.environment_account_connections().len(), 1);
}

// ---- idempotent creates by name ----

#[tokio::test]
async fn idempotent_create_of_an_unmodified_resource_returns_the_original() {
    let (server, client) = manual_client().await;
    let create = || {
        client
            .create_environment_template()
            .name("env-tpl")
            .display_name("VPC")
    };
    let first = create().send().await.unwrap();
    server.mock().advance_clock_ms(SECOND_MS);
    let retry = create().send().await.unwrap();
    let (first, retry) = (
        first.environment_template().unwrap(),
        retry.environment_template().unwrap(),
    );
    assert_eq!(first.created_at(), retry.created_at());
    assert_eq!(first.last_modified_at(), retry.last_modified_at());
    let templates = client.list_environment_templates().send().await.unwrap();
    assert_eq!(templates.templates().len(), 1);
}

#[tokio::test]
async fn idempotent_create_of_a_modified_resource_is_a_conflict() {
    let (_server, client) = manual_client().await;
    let create = || {
        client
            .create_environment_template()
            .name("env-tpl")
            .display_name("VPC")
    };
    create().send().await.unwrap();
    client
        .update_environment_template()
        .name("env-tpl")
        .description("changed")
        .send()
        .await
        .unwrap();
    let error = create().send().await.unwrap_err().into_service_error();
    assert!(
        matches!(
            error,
            aws_sdk_proton::operation::create_environment_template::CreateEnvironmentTemplateError::ConflictException(_)
        ),
        "{error:?}"
    );
}

#[tokio::test]
async fn idempotent_create_with_different_parameters_is_a_mismatch_even_after_modification() {
    let (_server, client) = manual_client().await;
    client
        .create_environment_template()
        .name("env-tpl")
        .send()
        .await
        .unwrap();
    let differ = || {
        client
            .create_environment_template()
            .name("env-tpl")
            .display_name("other")
    };
    let error = differ().send().await.unwrap_err().into_service_error();
    assert!(error.is_validation_exception(), "{error:?}");
    assert_eq!(error.message(), Some("Idempotent parameter mismatch"));

    // Different parameters are checked before modification.
    client
        .update_environment_template()
        .name("env-tpl")
        .description("changed")
        .send()
        .await
        .unwrap();
    let error = differ().send().await.unwrap_err().into_service_error();
    assert!(error.is_validation_exception(), "{error:?}");
}

#[tokio::test]
async fn idempotent_create_holds_for_environments_and_services() {
    let (server, client) = manual_client().await;
    published_env_template(&server, &client, "env-tpl").await;
    published_service_template(&server, &client, "svc-tpl", "env-tpl").await;
    create_env(&client, "dev", "env-tpl").await;
    server.mock().advance_clock_ms(2 * SECOND_MS);
    let retry = client
        .create_environment()
        .name("dev")
        .template_name("env-tpl")
        .template_major_version("1")
        .spec(ENV_SPEC)
        .send()
        .await
        .unwrap();
    assert_eq!(
        retry.environment().unwrap().deployment_status(),
        &DeploymentStatus::Succeeded
    );

    let create_service = || {
        client
            .create_service()
            .name("web")
            .template_name("svc-tpl")
            .template_major_version("1")
            .spec(SERVICE_SPEC)
    };
    create_service().send().await.unwrap();
    let retry = create_service().send().await.unwrap();
    assert_eq!(
        retry.service().unwrap().status(),
        &ServiceStatus::CreateInProgress
    );
    let error = create_service()
        .description("x")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(error.is_validation_exception(), "{error:?}");
    server.mock().advance_clock_ms(2 * SECOND_MS);
    client
        .update_service()
        .name("web")
        .description("changed")
        .send()
        .await
        .unwrap();
    let error = create_service()
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(error.is_conflict_exception(), "{error:?}");
    assert_eq!(
        client
            .list_services()
            .send()
            .await
            .unwrap()
            .services()
            .len(),
        1
    );
}

// ---- idempotent deletes ----

#[tokio::test]
async fn idempotent_delete_retry_returns_the_metadata_then_an_empty_answer() {
    let (server, client) = manual_client().await;
    client
        .create_environment_template()
        .name("env-tpl")
        .send()
        .await
        .unwrap();
    let deleted = client
        .delete_environment_template()
        .name("env-tpl")
        .send()
        .await
        .unwrap();
    let deleted_arn = deleted.environment_template().unwrap().arn().to_string();

    server.mock().advance_clock_ms(HOUR_MS - 1);
    let retry = client
        .delete_environment_template()
        .name("env-tpl")
        .send()
        .await
        .unwrap();
    assert_eq!(retry.environment_template().unwrap().arn(), deleted_arn);

    server.mock().advance_clock_ms(1);
    let later = client
        .delete_environment_template()
        .name("env-tpl")
        .send()
        .await
        .unwrap();
    assert!(later.environment_template().is_none());

    let error = client
        .get_environment_template()
        .name("env-tpl")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(error.is_resource_not_found_exception(), "{error:?}");
    let never = client
        .delete_environment_template()
        .name("never-existed")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(never.is_resource_not_found_exception(), "{never:?}");
    assert_eq!(
        never.message(),
        Some(
            "The requested environment template does not exist: arn:aws:proton:us-east-1:123456789012:environment-template/never-existed"
        )
    );
}

#[tokio::test]
async fn idempotent_delete_of_versions_and_connections() {
    let (server, client) = manual_client().await;
    client
        .create_environment_template()
        .name("env-tpl")
        .send()
        .await
        .unwrap();
    create_version_request(&client, "env-tpl", "t")
        .send()
        .await
        .unwrap();
    let delete_version = || {
        client
            .delete_environment_template_version()
            .template_name("env-tpl")
            .major_version("1")
            .minor_version("0")
    };
    let first = delete_version().send().await.unwrap();
    let retry = delete_version().send().await.unwrap();
    assert_eq!(
        first.environment_template_version().unwrap().arn(),
        retry.environment_template_version().unwrap().arn()
    );
    let error = client
        .get_environment_template_version()
        .template_name("env-tpl")
        .major_version("1")
        .minor_version("0")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error.message(),
        Some(
            "The requested environment template version does not exist: arn:aws:proton:us-east-1:123456789012:environment-template/env-tpl:1.0"
        )
    );

    let connection = client
        .create_environment_account_connection()
        .environment_name("dev")
        .management_account_id("111111111111")
        .role_arn("arn:aws:iam::123456789012:role/proton-env")
        .send()
        .await
        .unwrap();
    let id = connection
        .environment_account_connection()
        .unwrap()
        .id()
        .to_string();
    client
        .delete_environment_account_connection()
        .id(&id)
        .send()
        .await
        .unwrap();
    let retry = client
        .delete_environment_account_connection()
        .id(&id)
        .send()
        .await
        .unwrap();
    assert_eq!(retry.environment_account_connection().unwrap().id(), id);
    server.mock().advance_clock_ms(HOUR_MS);
    let later = client
        .delete_environment_account_connection()
        .id(&id)
        .send()
        .await
        .unwrap();
    assert!(later.environment_account_connection().is_none());
}

// ---- asynchronous deletes ----

#[tokio::test]
async fn asynchronous_delete_answers_details_while_in_progress_then_nothing() {
    let (server, client) = manual_client().await;
    published_env_template(&server, &client, "env-tpl").await;
    create_env(&client, "dev", "env-tpl").await;
    server.mock().advance_clock_ms(2 * SECOND_MS);

    let deleting = client
        .delete_environment()
        .name("dev")
        .send()
        .await
        .unwrap();
    assert_eq!(
        deleting.environment().unwrap().deployment_status(),
        &DeploymentStatus::DeleteInProgress
    );
    server.mock().advance_clock_ms(SECOND_MS);
    let retry = client
        .delete_environment()
        .name("dev")
        .send()
        .await
        .unwrap();
    assert_eq!(
        retry.environment().unwrap().deployment_status(),
        &DeploymentStatus::DeleteInProgress
    );
    let get = client.get_environment().name("dev").send().await.unwrap();
    assert_eq!(
        get.environment().unwrap().deployment_status(),
        &DeploymentStatus::DeleteInProgress
    );

    // The retry did nothing further: the delete still ends 2 s after it started.
    server.mock().advance_clock_ms(SECOND_MS);
    let error = client
        .get_environment()
        .name("dev")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(error.is_resource_not_found_exception(), "{error:?}");
    let done = client
        .delete_environment()
        .name("dev")
        .send()
        .await
        .unwrap();
    assert!(done.environment().is_none());
    let never = client
        .delete_environment()
        .name("never")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(never.is_resource_not_found_exception(), "{never:?}");
}

#[tokio::test]
async fn asynchronous_service_delete_takes_its_instances_with_it() {
    let (server, client) = manual_client().await;
    published_env_template(&server, &client, "env-tpl").await;
    published_service_template(&server, &client, "svc-tpl", "env-tpl").await;
    create_env(&client, "dev", "env-tpl").await;
    client
        .create_service()
        .name("web")
        .template_name("svc-tpl")
        .template_major_version("1")
        .spec(SERVICE_SPEC)
        .send()
        .await
        .unwrap();
    server.mock().advance_clock_ms(2 * SECOND_MS);
    let deleting = client.delete_service().name("web").send().await.unwrap();
    assert_eq!(
        deleting.service().unwrap().status(),
        &ServiceStatus::DeleteInProgress
    );
    let retry = client.delete_service().name("web").send().await.unwrap();
    assert_eq!(
        retry.service().unwrap().status(),
        &ServiceStatus::DeleteInProgress
    );
    server.mock().advance_clock_ms(2 * SECOND_MS);
    let error = client
        .get_service()
        .name("web")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(error.is_resource_not_found_exception(), "{error:?}");
    assert!(
        client
            .delete_service()
            .name("web")
            .send()
            .await
            .unwrap()
            .service()
            .is_none()
    );
    let instances = client.list_service_instances().send().await.unwrap();
    assert!(instances.service_instances().is_empty());
}

// ---- lifecycles ----

#[tokio::test]
async fn lifecycles_move_with_the_mock_clock() {
    let (server, client) = manual_client().await;
    client
        .create_environment_template()
        .name("env-tpl")
        .send()
        .await
        .unwrap();
    create_version_request(&client, "env-tpl", "t")
        .send()
        .await
        .unwrap();
    let status = || async {
        client
            .get_environment_template_version()
            .template_name("env-tpl")
            .major_version("1")
            .minor_version("0")
            .send()
            .await
            .unwrap()
            .environment_template_version()
            .unwrap()
            .status()
            .clone()
    };
    server.mock().advance_clock_ms(2 * SECOND_MS - 1);
    assert_eq!(
        status().await,
        TemplateVersionStatus::RegistrationInProgress
    );
    server.mock().advance_clock_ms(1);
    assert_eq!(status().await, TemplateVersionStatus::Draft);
    client
        .update_environment_template_version()
        .template_name("env-tpl")
        .major_version("1")
        .minor_version("0")
        .status(TemplateVersionStatus::Published)
        .send()
        .await
        .unwrap();
    let template = client
        .get_environment_template()
        .name("env-tpl")
        .send()
        .await
        .unwrap();
    assert_eq!(
        template
            .environment_template()
            .unwrap()
            .recommended_version(),
        Some("1.0")
    );

    published_service_template(&server, &client, "svc-tpl", "env-tpl").await;
    create_env(&client, "dev", "env-tpl").await;
    let service = client
        .create_service()
        .name("web")
        .template_name("svc-tpl")
        .template_major_version("1")
        .spec(SERVICE_SPEC)
        .send()
        .await
        .unwrap();
    assert_eq!(
        service.service().unwrap().status(),
        &ServiceStatus::CreateInProgress
    );
    let instance = client
        .get_service_instance()
        .service_name("web")
        .name("web-dev")
        .send()
        .await
        .unwrap();
    let instance = instance.service_instance().unwrap();
    assert_eq!(instance.deployment_status(), &DeploymentStatus::InProgress);
    assert_eq!(instance.environment_name(), "dev");

    server.mock().advance_clock_ms(2 * SECOND_MS);
    let env = client.get_environment().name("dev").send().await.unwrap();
    let env = env.environment().unwrap();
    assert_eq!(env.deployment_status(), &DeploymentStatus::Succeeded);
    assert_eq!(
        env.last_succeeded_deployment_id(),
        env.last_attempted_deployment_id()
    );
    let service = client.get_service().name("web").send().await.unwrap();
    let service = service.service().unwrap();
    assert_eq!(service.status(), &ServiceStatus::Active);
    let pipeline = service.pipeline().unwrap();
    assert_eq!(pipeline.deployment_status(), &DeploymentStatus::Succeeded);
    assert!(
        pipeline
            .arn()
            .starts_with("arn:aws:proton:us-east-1:123456789012:service/web/pipeline/")
    );
    let instances = client
        .list_service_instances()
        .service_name("web")
        .send()
        .await
        .unwrap();
    assert_eq!(
        instances.service_instances()[0].deployment_status(),
        &DeploymentStatus::Succeeded
    );
}

// ---- concurrency ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_retries_create_exactly_one_resource() {
    let (server, client) = manual_client().await;
    client
        .create_environment_template()
        .name("env-tpl")
        .send()
        .await
        .unwrap();

    let same_token: Vec<_> = (0..32)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move {
                create_version_request(&client, "env-tpl", "shared-token")
                    .send()
                    .await
            })
        })
        .collect();
    let mut arns = BTreeSet::new();
    for task in same_token {
        let output = task.await.unwrap().unwrap();
        arns.insert(
            output
                .environment_template_version()
                .unwrap()
                .arn()
                .to_string(),
        );
    }
    assert_eq!(arns.len(), 1, "{arns:?}");

    let same_name: Vec<_> = (0..32)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move {
                client
                    .create_environment_template()
                    .name("raced")
                    .send()
                    .await
            })
        })
        .collect();
    let mut created = BTreeSet::new();
    for task in same_name {
        let output = task.await.unwrap().unwrap();
        created.insert(format!(
            "{:?}",
            output.environment_template().unwrap().created_at()
        ));
    }
    assert_eq!(created.len(), 1);

    let state = server.mock().state_json();
    let templates = state["environmentTemplates"].as_array().unwrap();
    assert_eq!(templates.len(), 2);
    assert_eq!(templates[0]["versions"].as_array().unwrap().len(), 1);
}

// ---- pagination ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_paginate_with_next_token_and_max_results() {
    let (server, client) = manual_client().await;
    let names: Vec<String> = (0..7).map(|i| format!("tpl-{i}")).collect();
    for name in &names {
        client
            .create_environment_template()
            .name(name)
            .send()
            .await
            .unwrap();
    }
    let first = client
        .list_environment_templates()
        .max_results(3)
        .send()
        .await
        .unwrap();
    assert_eq!(first.templates().len(), 3);
    let token = first.next_token().unwrap().to_string();
    let second = client
        .list_environment_templates()
        .max_results(3)
        .next_token(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(second.templates()[0].name(), "tpl-3");

    let all: Vec<String> = client
        .list_environment_templates()
        .into_paginator()
        .page_size(2)
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap()
        .iter()
        .map(|t| t.name().to_string())
        .collect();
    assert_eq!(all, names);

    // botocore follows nextToken too: the CLI merges the pages.
    let cli = cli_json(&aws_cli(
        &server.url(),
        &["proton", "list-environment-templates", "--page-size", "2"],
    ));
    let cli_names: Vec<&str> = cli["templates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(cli_names, names);

    let bad = client
        .list_environment_templates()
        .next_token("not a token")
        .send()
        .await
        .unwrap_err();
    assert!(bad.into_service_error().is_validation_exception());
}

// ---- the AWS CLI ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_cli_sees_the_idempotency_rules_and_typed_errors() {
    let server = manual().await;
    let url = server.url();
    let cli = |args: &[&str]| aws_cli(&url, args);
    let stderr =
        |output: &std::process::Output| String::from_utf8_lossy(&output.stderr).to_string();

    let create = [
        "proton",
        "create-environment-template",
        "--name",
        "simple-env",
        "--display-name",
        "VPC",
    ];
    let first = cli_json(&cli(&create));
    let retry = cli_json(&cli(&create));
    assert_eq!(first, retry);
    assert_eq!(
        first["environmentTemplate"]["arn"],
        "arn:aws:proton:us-east-1:123456789012:environment-template/simple-env"
    );
    // The CLI (v1) prints timestamps as received: epoch seconds.
    assert_eq!(
        first["environmentTemplate"]["createdAt"].as_f64(),
        Some(1_767_225_600.0)
    );

    let version = [
        "proton",
        "create-environment-template-version",
        "--template-name",
        "simple-env",
        "--source",
        "s3={bucket=templates-bucket,key=k}",
        "--client-token",
        "cli-token",
    ];
    cli_json(&cli(&version));
    let mut mismatch = version.to_vec();
    mismatch.extend(["--description", "other"]);
    let output = cli(&mismatch);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("An error occurred (ValidationException)"),
        "{}",
        stderr(&output)
    );
    assert!(stderr(&output).contains("Idempotent parameter mismatch"));

    cli_json(&cli(&[
        "proton",
        "update-environment-template",
        "--name",
        "simple-env",
        "--description",
        "x",
    ]));
    let output = cli(&create);
    assert!(
        stderr(&output).contains("An error occurred (ConflictException)"),
        "{}",
        stderr(&output)
    );

    let output = cli(&["proton", "get-environment", "--name", "missing"]);
    assert!(
        stderr(&output).contains("An error occurred (ResourceNotFoundException)"),
        "{}",
        stderr(&output)
    );

    let output = cli(&["proton", "list-components"]);
    assert_eq!(cli_json(&output), json!({"components": []}));
}

// ---- boto3 ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boto3_waiters_finish_and_exceptions_are_typed() {
    let config = MockConfig {
        durations: Durations::all(Duration::from_millis(500)),
        ..MockConfig::default()
    };
    let server = start(config).await;
    let seen = support::python_script_json("waiters.py", &[&server.url()]).await;
    assert_eq!(
        seen,
        json!({
            "env_template_recommended": "1.0",
            "created_status": "CREATE_IN_PROGRESS",
            "service_status": "ACTIVE",
            "pipeline_status": "SUCCEEDED",
            "instance_environment": "dev",
            "retry_status": "ACTIVE",
            "mismatch": "Idempotent parameter mismatch",
            "conflict": seen["conflict"],
            "deleting_status": "DELETE_IN_PROGRESS",
            "not_found": "The requested service does not exist: arn:aws:proton:us-east-1:123456789012:service/web",
            "delete_retry": {},
            "failed": {
                "EnvironmentTemplateVersionRegistered": "REGISTRATION_FAILED",
                "ServiceTemplateVersionRegistered": "REGISTRATION_FAILED",
                "EnvironmentDeployed": "FAILED",
                "ServiceCreated": "CREATE_FAILED",
                "ServiceUpdated": "UPDATE_FAILED",
                "ServiceInstanceDeployed": "FAILED",
                "ServicePipelineDeployed": "FAILED",
                "ServiceDeleted": "DELETE_FAILED",
                "ComponentDeployed": "FAILED",
                "ComponentDeleted": "DELETE_FAILED",
            },
            "throttled_attempts": 2,
            "quota": "You have reached the limit of 1000 services",
        })
    );
}

// ---- the protocol ----

#[tokio::test]
async fn protocol_errors_are_aws_shaped() {
    let server = manual().await;
    let url = server.url();
    let check = |raw: &Raw, code: &str| {
        assert_eq!(raw.status, 400, "{:?}", raw.body);
        assert!(
            raw.body["__type"]
                .as_str()
                .unwrap()
                .ends_with(&format!("#{code}")),
            "{:?}",
            raw.body
        );
        assert!(raw.body["message"].is_string());
        assert!(
            raw.headers
                .contains(&format!("x-amzn-errortype: {}", code.to_ascii_lowercase()))
        );
        assert!(raw.headers.contains("x-amzn-requestid: "));
        assert!(
            raw.headers
                .contains("content-type: application/x-amz-json-1.0")
        );
    };
    check(
        &aws_json(&url, "ListEnvironmentTemplates", "{not json").await,
        "SerializationException",
    );
    check(
        &aws_json(&url, "ListEnvironmentTemplates", "[1]").await,
        "SerializationException",
    );
    let wrong_type = raw(
        &url,
        "POST",
        "/",
        &[
            ("Content-Type", "text/plain"),
            ("X-Amz-Target", "AwsProton20200720.ListEnvironmentTemplates"),
        ],
        "{}",
    )
    .await;
    check(&wrong_type, "SerializationException");
    let other_service = raw(
        &url,
        "POST",
        "/",
        &[
            ("Content-Type", "application/x-amz-json-1.0"),
            ("X-Amz-Target", "DynamoDB_20120810.ListTables"),
        ],
        "{}",
    )
    .await;
    check(&other_service, "UnknownOperationException");
    check(
        &raw(
            &url,
            "POST",
            "/",
            &[("Content-Type", "application/x-amz-json-1.0")],
            "{}",
        )
        .await,
        "UnknownOperationException",
    );

    let not_found = aws_json(&url, "GetEnvironment", r#"{"name":"nope"}"#).await;
    check(&not_found, "ResourceNotFoundException");
    assert_eq!(
        not_found.body,
        json!({
            "__type": "com.amazonaws.proton.v20200720#ResourceNotFoundException",
            "message": "The requested environment does not exist: arn:aws:proton:us-east-1:123456789012:environment/nope"
        })
    );

    let ok = aws_json(&url, "CreateEnvironmentTemplate", r#"{"name":"t"}"#).await;
    assert_eq!(ok.status, 200);
    assert!(ok.headers.contains("x-amzn-requestid: "));
    assert!(
        ok.headers
            .contains("content-type: application/x-amz-json-1.0")
    );
    // Epoch seconds with millisecond precision: 2026-01-01T00:00:00.000Z on the manual clock.
    assert_eq!(
        ok.body["environmentTemplate"]["createdAt"],
        json!(1_767_225_600.0)
    );
}

#[tokio::test]
async fn admin_api_resets_reads_and_moves_the_clock() {
    let server = manual().await;
    let url = server.url();
    let clock = raw(&url, "GET", "/__mock/clock", &[], "").await;
    assert_eq!(
        clock.body,
        json!({"clock_ms": 0, "now_epoch_ms": 1_767_225_600_000u64})
    );
    let advanced = raw(
        &url,
        "POST",
        "/__mock/clock",
        &[],
        r#"{"advance_ms": 1500}"#,
    )
    .await;
    assert_eq!(advanced.body["clock_ms"], 1500);
    let backwards = raw(&url, "POST", "/__mock/clock", &[], r#"{"set_ms": 1000}"#).await;
    assert_eq!(
        backwards.body["clock_ms"], 1500,
        "the clock never goes back"
    );
    let set = raw(
        &url,
        "POST",
        "/__mock/clock",
        &[],
        r#"{"set_ms": 28800000}"#,
    )
    .await;
    assert_eq!(set.body["clock_ms"], 28_800_000);
    assert_eq!(server.mock().clock_ms(), 28_800_000);
    let bad = raw(&url, "POST", "/__mock/clock", &[], r#"{"to": "tomorrow"}"#).await;
    assert_eq!(bad.status, 400);

    aws_json(&url, "CreateServiceTemplate", r#"{"name":"svc"}"#).await;
    let state = raw(&url, "GET", "/__mock/state", &[], "").await;
    assert_eq!(state.body["serviceTemplates"][0]["name"], "svc");
    assert_eq!(state.body["clock_ms"], 28_800_000);

    let reset = raw(&url, "POST", "/__mock/reset", &[], "").await;
    assert_eq!(reset.status, 200);
    let state = raw(&url, "GET", "/__mock/state", &[], "").await;
    assert_eq!(state.body["serviceTemplates"], json!([]));
    assert_eq!(state.body["clock_ms"], 0);

    let unknown = raw(&url, "GET", "/__mock/nothing", &[], "").await;
    assert_eq!(unknown.status, 404);
    assert!(
        unknown.body["message"]
            .as_str()
            .unwrap()
            .contains("/__mock/reset")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signatures_are_verified_when_asked() {
    let config = MockConfig {
        verify_signatures: Some(
            proton_vcr::ClientKey::parse(&format!("{DUMMY_AKID}:{DUMMY_SECRET}")).unwrap(),
        ),
        ..manual_config()
    };
    let server = start(config).await;
    let url = server.url();
    proton_client(&url)
        .list_environment_templates()
        .send()
        .await
        .unwrap();
    cli_json(&aws_cli(&url, &["proton", "list-environment-templates"]));

    let wrong_secret = proton_client_with(&url, DUMMY_AKID, "not-the-secret", Retries::Standard);
    let error = wrong_secret
        .list_environment_templates()
        .send()
        .await
        .unwrap_err();
    assert_eq!(error.code(), Some("InvalidSignatureException"));
    let wrong_key = proton_client_with(
        &url,
        "AKIDSOMEONEELSE00000",
        DUMMY_SECRET,
        Retries::Standard,
    );
    let error = wrong_key
        .list_environment_templates()
        .send()
        .await
        .unwrap_err();
    assert_eq!(error.code(), Some("UnrecognizedClientException"));
    let unsigned = aws_json(&url, "ListEnvironmentTemplates", "{}").await;
    assert_eq!(
        unsigned.body["__type"],
        "com.amazon.coral.service#MissingAuthenticationTokenException"
    );
}

// ---- conformance to the model ----

#[tokio::test]
async fn every_emulated_operation_answers_in_the_shape_of_the_model() {
    let mock = Mock::new(manual_config());
    let env_arn = "arn:aws:proton:us-east-1:123456789012:environment/dev";
    let source = json!({"s3": {"bucket": "templates-bucket", "key": "bundle.tar.gz"}});
    let role = "arn:aws:iam::123456789012:role/proton";
    let version =
        |name: &str| json!({"templateName": name, "majorVersion": "1", "minorVersion": "0"});
    let published = |name: &str| json!({"templateName": name, "majorVersion": "1", "minorVersion": "0", "status": "PUBLISHED"});
    let steps: Vec<(&str, Value, Option<u64>)> = vec![
        (
            "CreateEnvironmentTemplate",
            json!({"name": "env-tpl", "displayName": "VPC", "tags": [{"key": "team", "value": "a"}]}),
            None,
        ),
        ("GetEnvironmentTemplate", json!({"name": "env-tpl"}), None),
        (
            "UpdateEnvironmentTemplate",
            json!({"name": "env-tpl", "description": "d"}),
            None,
        ),
        ("ListEnvironmentTemplates", json!({}), None),
        (
            "CreateEnvironmentTemplateVersion",
            json!({"templateName": "env-tpl", "source": source, "clientToken": "t1"}),
            Some(2_000),
        ),
        ("GetEnvironmentTemplateVersion", version("env-tpl"), None),
        (
            "UpdateEnvironmentTemplateVersion",
            published("env-tpl"),
            None,
        ),
        (
            "ListEnvironmentTemplateVersions",
            json!({"templateName": "env-tpl"}),
            None,
        ),
        ("CreateServiceTemplate", json!({"name": "svc-tpl"}), None),
        ("GetServiceTemplate", json!({"name": "svc-tpl"}), None),
        (
            "UpdateServiceTemplate",
            json!({"name": "svc-tpl", "displayName": "Fargate"}),
            None,
        ),
        ("ListServiceTemplates", json!({}), None),
        (
            "CreateServiceTemplateVersion",
            json!({"templateName": "svc-tpl", "source": source, "clientToken": "t2", "compatibleEnvironmentTemplates": [{"templateName": "env-tpl", "majorVersion": "1"}]}),
            Some(2_000),
        ),
        ("GetServiceTemplateVersion", version("svc-tpl"), None),
        ("UpdateServiceTemplateVersion", published("svc-tpl"), None),
        (
            "ListServiceTemplateVersions",
            json!({"templateName": "svc-tpl"}),
            None,
        ),
        (
            "CreateEnvironmentAccountConnection",
            json!({"environmentName": "dev", "managementAccountId": "111111111111", "roleArn": role, "clientToken": "t3"}),
            None,
        ),
        (
            "CreateEnvironment",
            json!({"name": "dev", "templateName": "env-tpl", "templateMajorVersion": "1", "spec": ENV_SPEC, "protonServiceRoleArn": role}),
            None,
        ),
        ("GetEnvironment", json!({"name": "dev"}), Some(2_000)),
        (
            "UpdateEnvironment",
            json!({"name": "dev", "deploymentType": "CURRENT_VERSION"}),
            None,
        ),
        ("ListEnvironments", json!({}), None),
        (
            "CreateService",
            json!({"name": "web", "templateName": "svc-tpl", "templateMajorVersion": "1", "spec": SERVICE_SPEC}),
            None,
        ),
        ("GetService", json!({"name": "web"}), Some(2_000)),
        ("GetService", json!({"name": "web"}), None),
        (
            "GetServiceInstance",
            json!({"serviceName": "web", "name": "web-dev"}),
            None,
        ),
        ("ListServiceInstances", json!({}), None),
        (
            "UpdateService",
            json!({"name": "web", "description": "d"}),
            None,
        ),
        ("ListServices", json!({}), None),
        (
            "CreateServiceInstance",
            json!({"serviceName": "web", "name": "web-two", "clientToken": "t4", "spec": "proton: ServiceSpec\ninstances:\n  - name: web-two\n    environment: dev\n"}),
            None,
        ),
        (
            "UpdateServiceInstance",
            json!({"serviceName": "web", "name": "web-dev", "deploymentType": "CURRENT_VERSION"}),
            None,
        ),
        (
            "CancelServiceInstanceDeployment",
            json!({"serviceName": "web", "serviceInstanceName": "web-dev"}),
            Some(2_000),
        ),
        (
            "ListServiceInstanceOutputs",
            json!({"serviceName": "web", "serviceInstanceName": "web-two"}),
            None,
        ),
        (
            "ListServiceInstanceProvisionedResources",
            json!({"serviceName": "web", "serviceInstanceName": "web-two"}),
            None,
        ),
        (
            "UpdateServicePipeline",
            json!({"serviceName": "web", "spec": SERVICE_SPEC, "deploymentType": "CURRENT_VERSION"}),
            None,
        ),
        (
            "CancelServicePipelineDeployment",
            json!({"serviceName": "web"}),
            None,
        ),
        (
            "ListServicePipelineOutputs",
            json!({"serviceName": "web"}),
            None,
        ),
        (
            "ListServicePipelineProvisionedResources",
            json!({"serviceName": "web"}),
            None,
        ),
        (
            "UpdateEnvironment",
            json!({"name": "dev", "deploymentType": "CURRENT_VERSION"}),
            None,
        ),
        (
            "NotifyResourceDeploymentStatusChange",
            json!({"resourceArn": env_arn, "outputs": [{"key": "vpc", "valueString": "vpc-1"}]}),
            None,
        ),
        (
            "CancelEnvironmentDeployment",
            json!({"environmentName": "dev"}),
            None,
        ),
        (
            "ListEnvironmentOutputs",
            json!({"environmentName": "dev"}),
            None,
        ),
        (
            "ListEnvironmentProvisionedResources",
            json!({"environmentName": "dev"}),
            None,
        ),
        ("ListDeployments", json!({"environmentName": "dev"}), None),
        ("GetDeployment", json!({"id": "$oldest"}), None),
        ("DeleteDeployment", json!({"id": "$oldest"}), None),
        (
            "TagResource",
            json!({"resourceArn": env_arn, "tags": [{"key": "stage", "value": "dev"}]}),
            None,
        ),
        ("ListTagsForResource", json!({"resourceArn": env_arn}), None),
        (
            "UntagResource",
            json!({"resourceArn": env_arn, "tagKeys": ["stage"]}),
            None,
        ),
        ("DeleteService", json!({"name": "web"}), Some(2_000)),
        ("DeleteService", json!({"name": "web"}), None),
        ("DeleteEnvironment", json!({"name": "dev"}), Some(2_000)),
        ("DeleteEnvironment", json!({"name": "dev"}), None),
        ("DeleteServiceTemplateVersion", version("svc-tpl"), None),
        ("DeleteServiceTemplateVersion", version("svc-tpl"), None),
        ("DeleteServiceTemplate", json!({"name": "svc-tpl"}), None),
        ("DeleteEnvironmentTemplateVersion", version("env-tpl"), None),
        (
            "DeleteEnvironmentTemplate",
            json!({"name": "env-tpl"}),
            None,
        ),
        (
            "DeleteEnvironmentTemplate",
            json!({"name": "env-tpl"}),
            Some(HOUR_MS),
        ),
        (
            "DeleteEnvironmentTemplate",
            json!({"name": "env-tpl"}),
            None,
        ),
    ];
    let mut answered = BTreeSet::new();
    let mut problems = Vec::new();
    let mut omitted = BTreeSet::new();
    let mut connection = String::new();
    let mut run = |operation: &str, output: &Value| {
        answered.insert(operation.to_string());
        for problem in Model::proton().check_output(operation, output) {
            if proton_vcr::mock::documented_omission(operation, &problem) {
                omitted.insert((operation.to_string(), problem));
            } else {
                problems.push(format!("{operation}: {problem} in {output}"));
            }
        }
    };
    let mut oldest = String::new();
    for (operation, mut input, then_advance) in steps {
        if input["id"] == "$oldest" {
            input["id"] = json!(oldest);
        }
        let (status, output) = call(&mock, operation, input).await;
        assert_eq!(status, 200, "{operation}: {output}");
        run(operation, &output);
        if operation == "ListDeployments" {
            // Newest first: the last is the environment's first deployment.
            oldest = output["deployments"]
                .as_array()
                .and_then(|d| d.last())
                .and_then(|d| d["id"].as_str())
                .unwrap()
                .to_string();
        }
        if operation == "CreateEnvironmentAccountConnection" {
            connection = output["environmentAccountConnection"]["id"]
                .as_str()
                .unwrap()
                .to_string();
        }
        if let Some(ms) = then_advance {
            mock.advance_clock_ms(ms);
        }
    }
    let id = json!({"id": connection});
    for operation in [
        "GetEnvironmentAccountConnection",
        "AcceptEnvironmentAccountConnection",
        "UpdateEnvironmentAccountConnection",
        "RejectEnvironmentAccountConnection",
        "DeleteEnvironmentAccountConnection",
    ] {
        let (status, output) = call(&mock, operation, id.clone()).await;
        assert_eq!(status, 200, "{operation}: {output}");
        run(operation, &output);
    }
    let (status, output) = call(
        &mock,
        "ListEnvironmentAccountConnections",
        json!({"requestedBy": "ENVIRONMENT_ACCOUNT"}),
    )
    .await;
    assert_eq!(status, 200);
    run("ListEnvironmentAccountConnections", &output);

    let expected: BTreeSet<String> = EMULATED_OPERATIONS
        .iter()
        .filter(|op| !crate::mock_components::SHAPE_CHECKED.contains(op))
        .map(|op| op.to_string())
        .collect();
    assert_eq!(answered, expected, "every emulated operation is exercised");
    let model: BTreeSet<String> = Model::proton()
        .operation_names()
        .into_iter()
        .map(str::to_string)
        .collect();
    let emulated: BTreeSet<String> = EMULATED_OPERATIONS
        .iter()
        .map(|op| op.to_string())
        .collect();
    assert_eq!(emulated, model, "every operation of the model is emulated");
    assert!(problems.is_empty(), "{problems:#?}");
    // Exactly the documented omissions are left out, each where AWS's
    // documented output leaves it out.
    let documented: BTreeSet<(String, String)> = proton_vcr::mock::DOCUMENTED_OMISSIONS
        .iter()
        .map(|(op, path)| (op.to_string(), format!("{path}: missing required member")))
        .collect();
    assert_eq!(omitted, documented);
}

/// The members of an answer follow AWS's documented outputs where those
/// differ from the model: CreateEnvironment (user guide "Create an
/// environment") and the service and service-instance create, update and
/// delete answers ("Create a service", "Edit a service", "Delete a service",
/// "Update a service instance") leave them out, Get shows them; a DRAFT
/// environment template version shows its own minor as
/// `recommendedMinorVersion` ("Register and publish templates", "View
/// template data").
#[tokio::test]
async fn answers_carry_the_members_the_documented_outputs_show() {
    let mock = Mock::new(manual_config());
    let source = json!({"s3": {"bucket": "templates-bucket", "key": "bundle.tar.gz"}});
    let role = "arn:aws:iam::123456789012:role/proton";
    let ok = |(status, output): (u16, Value)| {
        assert_eq!(status, 200, "{output}");
        output
    };
    let v1_0 = json!({"templateName": "env-tpl", "majorVersion": "1", "minorVersion": "0"});
    let v1_1 = json!({"templateName": "env-tpl", "majorVersion": "1", "minorVersion": "1"});
    ok(call(
        &mock,
        "CreateEnvironmentTemplate",
        json!({"name": "env-tpl"}),
    )
    .await);
    let created = ok(call(
        &mock,
        "CreateEnvironmentTemplateVersion",
        json!({"templateName": "env-tpl", "source": source}),
    )
    .await);
    assert_eq!(
        created["environmentTemplateVersion"].get("recommendedMinorVersion"),
        None,
        "a version still registering shows none: {created}"
    );
    mock.advance_clock_ms(2_000);
    let draft = ok(call(&mock, "GetEnvironmentTemplateVersion", v1_0.clone()).await);
    assert_eq!(draft["environmentTemplateVersion"]["status"], "DRAFT");
    assert_eq!(
        draft["environmentTemplateVersion"]["recommendedMinorVersion"],
        "0"
    );
    ok(call(
        &mock,
        "CreateEnvironmentTemplateVersion",
        json!({"templateName": "env-tpl", "majorVersion": "1", "source": source}),
    )
    .await);
    mock.advance_clock_ms(2_000);
    let draft = ok(call(&mock, "GetEnvironmentTemplateVersion", v1_1.clone()).await);
    assert_eq!(
        draft["environmentTemplateVersion"]["recommendedMinorVersion"],
        "1"
    );
    let mut publish = v1_0.clone();
    publish["status"] = json!("PUBLISHED");
    ok(call(&mock, "UpdateEnvironmentTemplateVersion", publish).await);
    let draft = ok(call(&mock, "GetEnvironmentTemplateVersion", v1_1).await);
    assert_eq!(
        draft["environmentTemplateVersion"]["recommendedMinorVersion"], "0",
        "once a minor is published, it is the recommended one"
    );

    let created = ok(call(
        &mock,
        "CreateEnvironment",
        json!({"name": "dev", "templateName": "env-tpl", "templateMajorVersion": "1", "templateMinorVersion": "0", "spec": ENV_SPEC, "protonServiceRoleArn": role}),
    )
    .await);
    for member in [
        "lastDeploymentSucceededAt",
        "templateMajorVersion",
        "templateMinorVersion",
        "spec",
    ] {
        assert_eq!(
            created["environment"].get(member),
            None,
            "{member}: {created}"
        );
    }
    mock.advance_clock_ms(2_000);
    let got = ok(call(&mock, "GetEnvironment", json!({"name": "dev"})).await);
    assert_eq!(got["environment"]["templateMajorVersion"], "1");
    assert_eq!(got["environment"]["templateMinorVersion"], "0");
    assert!(
        got["environment"]["lastDeploymentSucceededAt"].is_number(),
        "{got}"
    );
    assert_eq!(got["environment"]["spec"], ENV_SPEC);

    ok(call(&mock, "CreateServiceTemplate", json!({"name": "svc-tpl"})).await);
    ok(call(
        &mock,
        "CreateServiceTemplateVersion",
        json!({"templateName": "svc-tpl", "source": source, "compatibleEnvironmentTemplates": [{"templateName": "env-tpl", "majorVersion": "1"}]}),
    )
    .await);
    mock.advance_clock_ms(2_000);
    ok(call(
        &mock,
        "UpdateServiceTemplateVersion",
        json!({"templateName": "svc-tpl", "majorVersion": "1", "minorVersion": "0", "status": "PUBLISHED"}),
    )
    .await);
    let service = |output: &Value| output["service"].get("spec").cloned();
    let instance = |output: &Value| output["serviceInstance"].get("spec").cloned();
    let created = ok(call(
        &mock,
        "CreateService",
        json!({"name": "web", "templateName": "svc-tpl", "templateMajorVersion": "1", "spec": SERVICE_SPEC}),
    )
    .await);
    assert_eq!(service(&created), None, "{created}");
    mock.advance_clock_ms(2_000);
    let got = ok(call(&mock, "GetService", json!({"name": "web"})).await);
    assert_eq!(service(&got), Some(json!(SERVICE_SPEC)));
    let updated = ok(call(
        &mock,
        "UpdateService",
        json!({"name": "web", "description": "d"}),
    )
    .await);
    assert_eq!(service(&updated), None, "{updated}");
    let two = "proton: ServiceSpec\ninstances:\n  - name: web-two\n    environment: dev\n";
    let created = ok(call(
        &mock,
        "CreateServiceInstance",
        json!({"serviceName": "web", "name": "web-two", "spec": two}),
    )
    .await);
    assert_eq!(instance(&created), None, "{created}");
    mock.advance_clock_ms(2_000);
    let got = ok(call(
        &mock,
        "GetServiceInstance",
        json!({"serviceName": "web", "name": "web-two"}),
    )
    .await);
    assert_eq!(instance(&got), Some(json!(two)));
    let updated = ok(call(
        &mock,
        "UpdateServiceInstance",
        json!({"serviceName": "web", "name": "web-two", "deploymentType": "CURRENT_VERSION"}),
    )
    .await);
    assert_eq!(instance(&updated), None, "{updated}");
    let cancelled = ok(call(
        &mock,
        "CancelServiceInstanceDeployment",
        json!({"serviceName": "web", "serviceInstanceName": "web-two"}),
    )
    .await);
    assert_eq!(
        instance(&cancelled),
        Some(json!(two)),
        "the documented cancel output shows it"
    );
    mock.advance_clock_ms(2_000);
    let deleted = ok(call(&mock, "DeleteService", json!({"name": "web"})).await);
    assert_eq!(service(&deleted), None, "{deleted}");
}

// ---- validation (driven by the service model) ----

#[tokio::test]
async fn validation_errors_name_the_member() {
    let server = manual().await;
    let url = server.url();
    let client = proton_client(&url);
    let error = client
        .create_environment_template()
        .name("not a valid name!")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(error.is_validation_exception(), "{error:?}");
    assert!(error.message().unwrap_or("").contains("name"), "{error:?}");

    // A body that does not fit the shapes' types is unreadable, not invalid.
    let answer = aws_json(&url, "CreateEnvironmentTemplate", r#"{"name": 5}"#).await;
    assert_eq!(
        answer.body["__type"],
        "com.amazon.coral.service#SerializationException"
    );
    assert!(
        answer.body["message"]
            .as_str()
            .unwrap_or("")
            .contains("name"),
        "{:?}",
        answer.body
    );

    for (operation, body, member) in [
        (
            "CreateEnvironmentTemplate",
            json!({"name": "x".repeat(101)}),
            "name",
        ),
        (
            "CreateEnvironmentTemplate",
            json!({"name": "t", "provisioning": "BOGUS"}),
            "provisioning",
        ),
        (
            "ListEnvironmentTemplates",
            json!({"maxResults": 0}),
            "maxResults",
        ),
        (
            "CreateEnvironmentTemplateVersion",
            json!({"templateName": "t", "source": {"s3": {"bucket": "bkt", "key": "k"}}, "clientToken": "x".repeat(65)}),
            "clientToken",
        ),
        (
            "CreateEnvironmentTemplateVersion",
            json!({"templateName": "t"}),
            "source",
        ),
    ] {
        let answer = aws_json(&url, operation, &body.to_string()).await;
        assert_eq!(
            answer.body["__type"], "com.amazonaws.proton.v20200720#ValidationException",
            "{operation} {body}"
        );
        let message = answer.body["message"].as_str().unwrap_or("");
        assert!(message.contains(member), "{operation} {body}: {message}");
    }
    assert!(
        server.mock().state_json()["environmentTemplates"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn validation_rejects_targets_that_are_not_proton_operations() {
    let server = manual().await;
    let answer = aws_json(&server.url(), "LaunchRockets", "{}").await;
    assert_eq!(
        answer.body["__type"], "com.amazon.coral.service#UnknownOperationException",
        "{:?}",
        answer.body
    );
}

// ---- the command ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mock_command_announces_its_address_and_stops_on_sigterm() {
    let (mut child, url) =
        support::spawn_server(&["mock", "--listen", "127.0.0.1:0", "--clock", "manual"]);
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let created = cli_json(&aws_cli(
        &url,
        &["proton", "create-service-template", "--name", "svc"],
    ));
    assert_eq!(created["serviceTemplate"]["name"], "svc");

    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the mock did not stop on SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(exit.success(), "{exit:?}");
}

#[tokio::test]
async fn the_highest_version_number_is_refused_not_overflowed() {
    let server = manual().await;
    let url = server.url();
    aws_json(&url, "CreateEnvironmentTemplate", r#"{"name":"t"}"#).await;
    let create = |major: &str| {
        json!({"templateName": "t", "majorVersion": major, "source": {"s3": {"bucket": "bkt", "key": "k"}}})
            .to_string()
    };
    let max = u64::MAX.to_string();
    let first = aws_json(&url, "CreateEnvironmentTemplateVersion", &create(&max)).await;
    assert_eq!(
        first.body["environmentTemplateVersion"]["majorVersion"],
        max.as_str()
    );
    let next_minor = aws_json(&url, "CreateEnvironmentTemplateVersion", &create(&max)).await;
    assert_eq!(
        next_minor.body["environmentTemplateVersion"]["minorVersion"],
        "1"
    );
    let next_major = aws_json(
        &url,
        "CreateEnvironmentTemplateVersion",
        r#"{"templateName":"t","source":{"s3":{"bucket":"bkt","key":"k"}}}"#,
    )
    .await;
    assert_eq!(next_major.status, 400);
    assert_eq!(
        next_major.body["__type"],
        "com.amazonaws.proton.v20200720#ValidationException"
    );
}
