//! The mock's deployments, driven by the Rust SDK: history that agrees with
//! the resources, service instances and pipelines on their own, the
//! guardrails Proton documents, failures injected through the admin API
//! (with the SDK's retries), and self-managed provisioning.

use crate::support::{
    ENV_SPEC, SECOND_MS, SERVICE_SPEC, create_env, http, manual, manual_client, proton_client,
    published_env_template, published_service_template, source,
};
use aws_sdk_proton::error::ProvideErrorMetadata;
use aws_sdk_proton::types::{
    DeploymentStatus, DeploymentUpdateType, ListServiceInstancesFilter,
    ListServiceInstancesFilterBy, ListServiceInstancesSortBy, Output, ServiceStatus, SortOrder,
    TemplateVersionStatus,
};
use proton_vcr::MockServer;
use proton_vcr::mock::{CallError, FailurePoint};
use serde_json::json;

const ACCOUNT: &str = "arn:aws:proton:us-east-1:123456789012";

fn spec_with(instances: &[(&str, &str)]) -> String {
    let mut spec = "proton: ServiceSpec\npipeline:\n  image: nginx\ninstances:\n".to_string();
    for (name, environment) in instances {
        spec.push_str(&format!(
            "  - name: {name}\n    environment: {environment}\n    spec:\n      port: 80\n"
        ));
    }
    spec
}

/// Templates published, environment `dev` deployed, service `web` (with a
/// pipeline and instance `web-dev`) active.
async fn service_ready(server: &MockServer) -> aws_sdk_proton::Client {
    let client = proton_client(&server.url());
    published_env_template(server, &client, "env-tpl").await;
    published_service_template(server, &client, "svc-tpl", "env-tpl").await;
    create_env(&client, "dev", "env-tpl").await;
    server.mock().advance_clock_ms(2 * SECOND_MS);
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
    client
}

/// The names of the instances a ListServiceInstances page lists, in order.
fn instance_names(
    page: &aws_sdk_proton::operation::list_service_instances::ListServiceInstancesOutput,
) -> Vec<String> {
    page.service_instances()
        .iter()
        .map(|i| i.name().to_string())
        .collect()
}

fn code<E: ProvideErrorMetadata>(error: &E) -> (String, String) {
    (
        error.code().unwrap_or_default().to_string(),
        error.message().unwrap_or_default().to_string(),
    )
}

#[tokio::test]
async fn deployment_history_agrees_with_the_resources() {
    let server = manual().await;
    let client = service_ready(&server).await;
    let environment = client.get_environment().name("dev").send().await.unwrap();
    let environment = environment.environment().unwrap();
    let deployment = client
        .get_deployment()
        .id(environment.last_succeeded_deployment_id().unwrap())
        .send()
        .await
        .unwrap();
    let deployment = deployment.deployment().unwrap();
    assert_eq!(deployment.target_arn(), environment.arn());
    assert_eq!(deployment.deployment_status(), &DeploymentStatus::Succeeded);
    assert_eq!(deployment.target_resource_type().as_str(), "ENVIRONMENT");
    assert!(deployment.completed_at().is_some());
    let state = deployment.target_state().unwrap();
    assert_eq!(state.as_environment().unwrap().spec(), Some(ENV_SPEC));

    let first = client
        .get_service_instance()
        .service_name("web")
        .name("web-dev")
        .send()
        .await
        .unwrap()
        .service_instance
        .unwrap();
    assert_eq!(first.deployment_status(), &DeploymentStatus::Succeeded);
    client
        .update_service_instance()
        .service_name("web")
        .name("web-dev")
        .deployment_type(DeploymentUpdateType::CurrentVersion)
        .spec(SERVICE_SPEC.replace("80", "8080"))
        .send()
        .await
        .unwrap();
    let busy = client
        .update_service_instance()
        .service_name("web")
        .name("web-dev")
        .deployment_type(DeploymentUpdateType::CurrentVersion)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(busy.is_conflict_exception(), "{busy:?}");
    server.mock().advance_clock_ms(2 * SECOND_MS);
    let second = client
        .get_service_instance()
        .service_name("web")
        .name("web-dev")
        .send()
        .await
        .unwrap()
        .service_instance
        .unwrap();
    assert_ne!(
        second.last_succeeded_deployment_id(),
        first.last_succeeded_deployment_id()
    );
    assert_eq!(
        second.last_attempted_deployment_id(),
        second.last_succeeded_deployment_id()
    );

    let listed = client
        .list_deployments()
        .service_name("web")
        .service_instance_name("web-dev")
        .send()
        .await
        .unwrap();
    let ids: Vec<&str> = listed.deployments().iter().map(|d| d.id()).collect();
    let expected = [
        second.last_succeeded_deployment_id().unwrap(),
        first.last_succeeded_deployment_id().unwrap(),
    ];
    assert_eq!(ids, expected, "newest first");
    let latest = client.get_deployment().id(ids[0]).send().await.unwrap();
    let latest = latest.deployment().unwrap();
    let earlier = client.get_deployment().id(ids[1]).send().await.unwrap();
    let earlier = earlier.deployment().unwrap();
    assert_eq!(latest.initial_state(), earlier.target_state());
    assert_eq!(latest.last_succeeded_deployment_id(), Some(ids[1]));
    let instance_state = latest
        .target_state()
        .unwrap()
        .as_service_instance()
        .unwrap();
    assert!(instance_state.spec().contains("8080"));
    assert_eq!(
        instance_state.last_successful_environment_deployment_id(),
        environment.last_succeeded_deployment_id()
    );

    let everything = client.list_deployments().send().await.unwrap();
    assert_eq!(
        everything.deployments().len(),
        4,
        "environment, pipeline, instance twice"
    );
    let current = client
        .delete_deployment()
        .id(ids[0])
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(current.is_validation_exception(), "{current:?}");
    client.delete_deployment().id(ids[1]).send().await.unwrap();
    let gone = client
        .get_deployment()
        .id(ids[1])
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(gone.is_resource_not_found_exception(), "{gone:?}");
}

#[tokio::test]
async fn service_instances_and_pipelines_live_on_their_own() {
    let server = manual().await;
    let client = service_ready(&server).await;
    create_env(&client, "prod", "env-tpl").await;
    server.mock().advance_clock_ms(2 * SECOND_MS);
    let create = || {
        client
            .create_service_instance()
            .service_name("web")
            .name("web-prod")
            .client_token("token-1")
            .spec(spec_with(&[("web-prod", "prod")]))
    };
    let created = create().send().await.unwrap().service_instance.unwrap();
    assert_eq!(created.environment_name(), "prod");
    assert_eq!(created.deployment_status(), &DeploymentStatus::InProgress);
    let retried = create().send().await.unwrap().service_instance.unwrap();
    assert_eq!(
        retried.last_attempted_deployment_id(),
        created.last_attempted_deployment_id(),
        "a retry with the same token creates nothing"
    );
    let cancelled = client
        .cancel_service_instance_deployment()
        .service_name("web")
        .service_instance_name("web-prod")
        .send()
        .await
        .unwrap()
        .service_instance
        .unwrap();
    assert_eq!(cancelled.deployment_status(), &DeploymentStatus::Cancelled);
    let record = client
        .get_deployment()
        .id(created.last_attempted_deployment_id().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(
        record.deployment().unwrap().deployment_status(),
        &DeploymentStatus::Cancelled
    );
    let again = client
        .cancel_service_instance_deployment()
        .service_name("web")
        .service_instance_name("web-prod")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(again.is_conflict_exception(), "{again:?}");

    let pipeline = client
        .update_service_pipeline()
        .service_name("web")
        .spec(SERVICE_SPEC)
        .deployment_type(DeploymentUpdateType::CurrentVersion)
        .send()
        .await
        .unwrap()
        .pipeline
        .unwrap();
    assert_eq!(pipeline.deployment_status(), &DeploymentStatus::InProgress);
    server.mock().advance_clock_ms(2 * SECOND_MS);
    let service = client.get_service().name("web").send().await.unwrap();
    let pipeline = service.service().unwrap().pipeline().unwrap();
    assert_eq!(pipeline.deployment_status(), &DeploymentStatus::Succeeded);

    // Outputs and provisioned resources a test sets through the admin API.
    let instance_arn = format!("{ACCOUNT}:service/web/service-instance/web-dev");
    let (status, _) = http(
        &server.url(),
        "POST",
        "/__mock/outputs",
        &[],
        json!({"resourceArn": instance_arn, "outputs": [{"key": "url", "valueString": "https://web.example"}]}).to_string().as_bytes(),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = http(
        &server.url(),
        "POST",
        "/__mock/provisioned-resources",
        &[],
        json!({"resourceArn": instance_arn, "provisionedResources": [{"name": "stack", "identifier": "arn:aws:cloudformation:us-east-1:123456789012:stack/web/1", "provisioningEngine": "CLOUDFORMATION"}]}).to_string().as_bytes(),
    )
    .await;
    assert_eq!(status, 200);
    let outputs = client
        .list_service_instance_outputs()
        .service_name("web")
        .service_instance_name("web-dev")
        .send()
        .await
        .unwrap();
    assert_eq!(
        outputs.outputs(),
        [Output::builder()
            .key("url")
            .value_string("https://web.example")
            .build()]
    );
    let resources = client
        .list_service_instance_provisioned_resources()
        .service_name("web")
        .service_instance_name("web-dev")
        .send()
        .await
        .unwrap();
    assert_eq!(resources.provisioned_resources()[0].name(), Some("stack"));
    let pipeline_outputs = client
        .list_service_pipeline_outputs()
        .service_name("web")
        .send()
        .await
        .unwrap();
    assert!(pipeline_outputs.outputs().is_empty());
}

#[tokio::test]
async fn update_service_adds_and_deletes_the_instances_of_its_spec() {
    let server = manual().await;
    let client = service_ready(&server).await;
    create_env(&client, "prod", "env-tpl").await;
    server.mock().advance_clock_ms(2 * SECOND_MS);
    let updated = client
        .update_service()
        .name("web")
        .spec(spec_with(&[("web-prod", "prod")]))
        .send()
        .await
        .unwrap();
    assert_eq!(
        updated.service().unwrap().status(),
        &ServiceStatus::UpdateInProgress
    );
    let dropped = client
        .get_service_instance()
        .service_name("web")
        .name("web-dev")
        .send()
        .await
        .unwrap()
        .service_instance
        .unwrap();
    assert_eq!(
        dropped.deployment_status(),
        &DeploymentStatus::DeleteInProgress
    );
    server.mock().advance_clock_ms(2 * SECOND_MS);
    let names = instance_names(
        &client
            .list_service_instances()
            .service_name("web")
            .send()
            .await
            .unwrap(),
    );
    assert_eq!(names, ["web-prod"]);
    let service = client.get_service().name("web").send().await.unwrap();
    assert_eq!(service.service().unwrap().status(), &ServiceStatus::Active);
    // Its environment is free again.
    client
        .delete_environment()
        .name("dev")
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn list_service_instances_filters_and_sorts() {
    let server = manual().await;
    let client = service_ready(&server).await;
    create_env(&client, "prod", "env-tpl").await;
    server.mock().advance_clock_ms(2 * SECOND_MS);
    for name in ["api-prod", "zz-prod"] {
        client
            .create_service_instance()
            .service_name("web")
            .name(name)
            .spec(spec_with(&[(name, "prod")]))
            .send()
            .await
            .unwrap();
        server.mock().advance_clock_ms(SECOND_MS);
    }
    let list = |filters: Vec<(ListServiceInstancesFilterBy, &str)>,
                sort: Option<(ListServiceInstancesSortBy, SortOrder)>| {
        let mut request = client.list_service_instances();
        for (key, value) in filters {
            request = request.filters(
                ListServiceInstancesFilter::builder()
                    .key(key)
                    .value(value)
                    .build(),
            );
        }
        if let Some((by, order)) = sort {
            request = request.sort_by(by).sort_order(order);
        }
        async move { instance_names(&request.send().await.unwrap()) }
    };
    assert_eq!(list(vec![], None).await, ["api-prod", "web-dev", "zz-prod"]);
    assert_eq!(
        list(
            vec![(ListServiceInstancesFilterBy::EnvironmentName, "prod")],
            None
        )
        .await,
        ["api-prod", "zz-prod"]
    );
    assert_eq!(
        list(
            vec![
                (ListServiceInstancesFilterBy::EnvironmentName, "prod"),
                (
                    ListServiceInstancesFilterBy::DeploymentStatus,
                    "IN_PROGRESS"
                ),
            ],
            None
        )
        .await,
        ["zz-prod"],
        "api-prod finished deploying one second ago"
    );
    assert_eq!(
        list(
            vec![(
                ListServiceInstancesFilterBy::CreatedAtAfter,
                "2026-01-01T00:00:08Z"
            )],
            None
        )
        .await,
        ["api-prod", "zz-prod"]
    );
    assert_eq!(
        list(
            vec![],
            Some((ListServiceInstancesSortBy::CreatedAt, SortOrder::Descending))
        )
        .await,
        ["zz-prod", "api-prod", "web-dev"]
    );
    assert_eq!(
        list(
            vec![],
            Some((
                ListServiceInstancesSortBy::EnvironmentName,
                SortOrder::Ascending
            ))
        )
        .await,
        ["web-dev", "api-prod", "zz-prod"]
    );
    // The status of each instance's deployed template version.
    assert_eq!(
        list(
            vec![(
                ListServiceInstancesFilterBy::DeployedTemplateVersionStatus,
                "PUBLISHED"
            )],
            None
        )
        .await,
        ["api-prod", "web-dev", "zz-prod"]
    );
    assert!(
        list(
            vec![(
                ListServiceInstancesFilterBy::DeployedTemplateVersionStatus,
                "DRAFT"
            )],
            None
        )
        .await
        .is_empty()
    );
    // One service's instances, and a service that does not exist.
    let of_service =
        |service: &'static str| client.list_service_instances().service_name(service).send();
    let names = instance_names(&of_service("web").await.unwrap());
    assert_eq!(names, ["api-prod", "web-dev", "zz-prod"]);
    let missing = of_service("no-such-service")
        .await
        .unwrap_err()
        .into_service_error();
    assert!(missing.is_resource_not_found_exception(), "{missing:?}");
    let bad = client
        .list_service_instances()
        .filters(
            ListServiceInstancesFilter::builder()
                .key(ListServiceInstancesFilterBy::CreatedAtBefore)
                .value("yesterday")
                .build(),
        )
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(bad.is_validation_exception(), "{bad:?}");
}

#[tokio::test]
async fn guardrails_answer_as_proton_documents() {
    let (server, client) = manual_client().await;
    published_env_template(&server, &client, "env-tpl").await;
    published_service_template(&server, &client, "svc-tpl", "env-tpl").await;

    // An instance in an environment that does not exist.
    let error = client
        .create_service()
        .name("web")
        .template_name("svc-tpl")
        .template_major_version("1")
        .spec(SERVICE_SPEC)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(error.is_resource_not_found_exception(), "{error:?}");
    assert_eq!(
        code(&error).1,
        format!("The requested environment does not exist: {ACCOUNT}:environment/dev")
    );

    // A spec that does not read as YAML.
    create_env(&client, "dev", "env-tpl").await;
    let error = client
        .create_service()
        .name("web")
        .template_name("svc-tpl")
        .template_major_version("1")
        .spec("proton: ServiceSpec\n\tinstances: [")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(error.is_validation_exception(), "{error:?}");
    assert!(code(&error).1.contains("line 2"), "{error:?}");

    // UpdateService while the service is being created.
    client
        .create_service()
        .name("web")
        .template_name("svc-tpl")
        .template_major_version("1")
        .spec(SERVICE_SPEC)
        .send()
        .await
        .unwrap();
    let error = client
        .update_service()
        .name("web")
        .spec(SERVICE_SPEC)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(error.is_conflict_exception(), "{error:?}");
    assert!(code(&error).1.contains("CREATE_IN_PROGRESS"), "{error:?}");
    server.mock().advance_clock_ms(2 * SECOND_MS);

    // Versions something is deployed on stay.
    let error = client
        .delete_environment_template_version()
        .template_name("env-tpl")
        .major_version("1")
        .minor_version("0")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(error.is_conflict_exception(), "{error:?}");
    assert!(code(&error).1.contains("environment dev"), "{error:?}");
    let error = client
        .delete_service_template_version()
        .template_name("svc-tpl")
        .major_version("1")
        .minor_version("0")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(error.is_conflict_exception(), "{error:?}");

    // The recommended version goes last.
    client
        .create_environment_template_version()
        .template_name("env-tpl")
        .major_version("1")
        .source(source())
        .send()
        .await
        .unwrap();
    server.mock().advance_clock_ms(2 * SECOND_MS);
    client
        .update_environment_template_version()
        .template_name("env-tpl")
        .major_version("1")
        .minor_version("1")
        .status(TemplateVersionStatus::Published)
        .send()
        .await
        .unwrap();
    client
        .update_environment()
        .name("dev")
        .deployment_type(DeploymentUpdateType::MinorVersion)
        .send()
        .await
        .unwrap();
    server.mock().advance_clock_ms(2 * SECOND_MS);
    let error = client
        .delete_environment_template_version()
        .template_name("env-tpl")
        .major_version("1")
        .minor_version("1")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(error.is_conflict_exception(), "{error:?}");
    client
        .delete_environment_template_version()
        .template_name("env-tpl")
        .major_version("1")
        .minor_version("0")
        .send()
        .await
        .expect("1.0 is neither recommended nor in use once dev moved to 1.1");

    // An environment with service instances stays.
    let error = client
        .delete_environment()
        .name("dev")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(error.is_conflict_exception(), "{error:?}");
    assert!(code(&error).1.contains("web/web-dev"), "{error:?}");
}

#[tokio::test]
async fn injected_failures_end_in_the_failed_states() {
    let server = manual().await;
    let mock = server.mock();
    let client = proton_client(&server.url());
    client
        .create_environment_template()
        .name("bad-tpl")
        .send()
        .await
        .unwrap();
    mock.fail_next(
        &format!("{ACCOUNT}:environment-template/bad-tpl"),
        FailurePoint::Registration,
        "schema.yaml: not a valid schema",
    );
    client
        .create_environment_template_version()
        .template_name("bad-tpl")
        .source(source())
        .send()
        .await
        .unwrap();
    mock.advance_clock_ms(2 * SECOND_MS);
    let version = client
        .get_environment_template_version()
        .template_name("bad-tpl")
        .major_version("1")
        .minor_version("0")
        .send()
        .await
        .unwrap();
    let version = version.environment_template_version().unwrap();
    assert_eq!(version.status(), &TemplateVersionStatus::RegistrationFailed);
    assert_eq!(
        version.status_message(),
        Some("schema.yaml: not a valid schema")
    );

    let client = service_ready(&server).await;
    let env_arn = format!("{ACCOUNT}:environment/dev");
    mock.fail_next(&env_arn, FailurePoint::Deployment, "VPC limit reached");
    client
        .update_environment()
        .name("dev")
        .deployment_type(DeploymentUpdateType::CurrentVersion)
        .send()
        .await
        .unwrap();
    mock.advance_clock_ms(2 * SECOND_MS);
    let environment = client.get_environment().name("dev").send().await.unwrap();
    let environment = environment.environment().unwrap();
    assert_eq!(environment.deployment_status(), &DeploymentStatus::Failed);
    assert_eq!(
        environment.deployment_status_message(),
        Some("VPC limit reached")
    );
    let record = client
        .get_deployment()
        .id(environment.last_attempted_deployment_id().unwrap())
        .send()
        .await
        .unwrap();
    let record = record.deployment().unwrap();
    assert_eq!(record.deployment_status(), &DeploymentStatus::Failed);
    assert_eq!(
        record.deployment_status_message(),
        Some("VPC limit reached")
    );
    assert_ne!(
        environment.last_attempted_deployment_id(),
        environment.last_succeeded_deployment_id()
    );

    let instance_arn = format!("{ACCOUNT}:service/api/service-instance/web-dev");
    mock.fail_next(&instance_arn, FailurePoint::Deployment, "image not found");
    client
        .create_service()
        .name("api")
        .template_name("svc-tpl")
        .template_major_version("1")
        .spec(SERVICE_SPEC)
        .send()
        .await
        .unwrap();
    mock.advance_clock_ms(2 * SECOND_MS);
    let service = client.get_service().name("api").send().await.unwrap();
    let service = service.service().unwrap();
    assert_eq!(service.status(), &ServiceStatus::CreateFailed);
    assert_eq!(service.status_message(), Some("image not found"));

    mock.fail_next(
        &format!("{ACCOUNT}:service/web"),
        FailurePoint::Delete,
        "stack deletion failed",
    );
    client.delete_service().name("web").send().await.unwrap();
    mock.advance_clock_ms(2 * SECOND_MS);
    let service = client.get_service().name("web").send().await.unwrap();
    assert_eq!(
        service.service().unwrap().status(),
        &ServiceStatus::DeleteFailed
    );
    client.delete_service().name("web").send().await.unwrap();
    mock.advance_clock_ms(2 * SECOND_MS);
    let gone = client
        .get_service()
        .name("web")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(
        gone.is_resource_not_found_exception(),
        "a second delete succeeds"
    );
}

#[tokio::test]
async fn throttling_is_retried_and_quota_errors_are_not() {
    use aws_sdk_proton::config::retry::RetryConfig;
    use std::time::Duration;
    let server = manual().await;
    let plain = proton_client(&server.url());
    let config = plain
        .config()
        .to_builder()
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(3)
                .with_initial_backoff(Duration::from_millis(5)),
        )
        .build();
    let client = aws_sdk_proton::Client::from_conf(config);
    let mock = server.mock();

    mock.fail_calls("ListEnvironments", CallError::Throttling, 2, None)
        .unwrap();
    client
        .list_environments()
        .send()
        .await
        .expect("two throttled attempts, the third succeeds");

    mock.fail_calls("ListEnvironments", CallError::Throttling, 4, None)
        .unwrap();
    assert!(
        mock.fail_calls("ListEnvironments", CallError::ServiceQuotaExceeded, 1, None)
            .is_err(),
        "ListEnvironments declares no quota error"
    );
    let error = client
        .list_environments()
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert_eq!(
        code(&error),
        ("ThrottlingException".into(), "Rate exceeded".into())
    );
    client
        .list_environments()
        .send()
        .await
        .expect("three attempts used three of the four; the next call is retried past the last");

    mock.fail_calls(
        "CreateEnvironmentTemplate",
        CallError::ServiceQuotaExceeded,
        1,
        Some("You have reached the limit of 100 environment templates"),
    )
    .unwrap();
    let error = client
        .create_environment_template()
        .name("env-tpl")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(error.is_service_quota_exceeded_exception(), "{error:?}");
    client
        .create_environment_template()
        .name("env-tpl")
        .send()
        .await
        .expect("the quota error was not retried, so the next call is the first to pass");
}

#[tokio::test]
async fn self_managed_provisioning_waits_for_notify() {
    let (server, client) = manual_client().await;
    client
        .create_environment_template()
        .name("tf-env")
        .provisioning(aws_sdk_proton::types::Provisioning::CustomerManaged)
        .send()
        .await
        .unwrap();
    client
        .create_environment_template_version()
        .template_name("tf-env")
        .source(source())
        .send()
        .await
        .unwrap();
    server.mock().advance_clock_ms(2 * SECOND_MS);
    client
        .create_environment()
        .name("pr-environment")
        .template_name("tf-env")
        .template_major_version("1")
        .spec(ENV_SPEC)
        .provisioning_repository(
            aws_sdk_proton::types::RepositoryBranchInput::builder()
                .provider(aws_sdk_proton::types::RepositoryProvider::Github)
                .name("org/infra")
                .branch("main")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    server.mock().advance_clock_ms(3_600 * SECOND_MS);
    let environment = client
        .get_environment()
        .name("pr-environment")
        .send()
        .await
        .unwrap();
    let environment = environment.environment().unwrap();
    assert_eq!(
        environment.deployment_status(),
        &DeploymentStatus::InProgress
    );

    let arn = environment.arn();
    let mismatch = client
        .notify_resource_deployment_status_change()
        .resource_arn(arn)
        .deployment_id("00000000-0000-4000-8000-000000000000")
        .status(aws_sdk_proton::types::ResourceDeploymentStatus::Succeeded)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(mismatch.is_validation_exception(), "{mismatch:?}");
    client
        .notify_resource_deployment_status_change()
        .resource_arn(arn)
        .status(aws_sdk_proton::types::ResourceDeploymentStatus::Succeeded)
        .outputs(
            Output::builder()
                .key("vpc_id")
                .value_string("vpc-123")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let environment = client
        .get_environment()
        .name("pr-environment")
        .send()
        .await
        .unwrap();
    let environment = environment.environment().unwrap();
    assert_eq!(
        environment.deployment_status(),
        &DeploymentStatus::Succeeded
    );
    let outputs = client
        .list_environment_outputs()
        .environment_name("pr-environment")
        .send()
        .await
        .unwrap();
    assert_eq!(outputs.outputs()[0].value_string(), Some("vpc-123"));
    let late = client
        .notify_resource_deployment_status_change()
        .resource_arn(arn)
        .status(aws_sdk_proton::types::ResourceDeploymentStatus::Failed)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(late.is_conflict_exception(), "{late:?}");
}
