//! Components, linked repositories, sync configs, account settings and the
//! resources summary, driven by the Rust SDK (and in-process for the model
//! shape check). Time moves by jumping the mock's manual clock.

use aws_sdk_proton::error::ProvideErrorMetadata;
use aws_sdk_proton::types::{
    ComponentDeploymentUpdateType, DeploymentStatus, RepositoryBranchInput, RepositoryProvider,
    SyncType, Tag, TemplateType, TemplateVersionStatus,
};
use proton_vcr::model::Model;
use proton_vcr::{ClockMode, Durations, Mock, MockConfig};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::time::Duration;

use crate::support::{SECOND_MS, call, manual, manual_client, start};

/// The operations this file checks against the model's output shapes.
pub const SHAPE_CHECKED: &[&str] = &[
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

const ROLE: &str = "arn:aws:iam::123456789012:role/proton";
const CONNECTION: &str = "arn:aws:codestar-connections:us-east-1:123456789012:connection/a1b2c3d4-5678-90ab-cdef-EXAMPLE11111";
pub const MANIFEST: &str = "infrastructure:\n  templates:\n    - file: cloudformation.yaml\n      rendering_engine: jinja\n      template_language: cloudformation\n";
pub const TEMPLATE: &str = "Resources:\n  Queue:\n    Type: AWS::SQS::Queue\n  Bucket:\n    Type: AWS::S3::Bucket\nOutputs:\n  QueueUrl:\n    Value: !Ref Queue\n";
const SERVICE_SPEC: &str = "proton: ServiceSpec\ninstances:\n  - name: web-dev\n    environment: dev\n    spec:\n      port: 80\n";

async fn ok(mock: &Mock, operation: &str, input: Value) -> Value {
    let (status, output) = call(mock, operation, input).await;
    assert_eq!(status, 200, "{operation}: {output}");
    output
}

/// A published environment template `env-tpl` 1.0; a service template
/// `svc-tpl` 1.0 that accepts directly defined components (`components`
/// false: it does not); environment `dev` with a component role; service
/// `web` with instance `web-dev` in it, all deployed.
async fn world(mock: &Mock, components: bool) {
    let source = json!({"s3": {"bucket": "bundles", "key": "k.tar.gz"}});
    ok(
        mock,
        "CreateEnvironmentTemplate",
        json!({"name": "env-tpl"}),
    )
    .await;
    ok(
        mock,
        "CreateEnvironmentTemplateVersion",
        json!({"templateName": "env-tpl", "source": source}),
    )
    .await;
    ok(mock, "CreateServiceTemplate", json!({"name": "svc-tpl"})).await;
    let mut version = json!({"templateName": "svc-tpl", "source": source,
        "compatibleEnvironmentTemplates": [{"templateName": "env-tpl", "majorVersion": "1"}]});
    if components {
        version["supportedComponentSources"] = json!(["DIRECTLY_DEFINED"]);
    }
    ok(mock, "CreateServiceTemplateVersion", version).await;
    mock.advance_clock_ms(2 * SECOND_MS);
    for template in ["env-tpl", "svc-tpl"] {
        let kind = if template == "env-tpl" {
            "UpdateEnvironmentTemplateVersion"
        } else {
            "UpdateServiceTemplateVersion"
        };
        ok(
            mock,
            kind,
            json!({"templateName": template, "majorVersion": "1", "minorVersion": "0", "status": "PUBLISHED"}),
        )
        .await;
    }
    ok(
        mock,
        "CreateEnvironment",
        json!({"name": "dev", "templateName": "env-tpl", "templateMajorVersion": "1",
            "spec": "proton: EnvironmentSpec\n", "protonServiceRoleArn": ROLE, "componentRoleArn": ROLE}),
    )
    .await;
    ok(
        mock,
        "CreateService",
        json!({"name": "web", "templateName": "svc-tpl", "templateMajorVersion": "1", "spec": SERVICE_SPEC}),
    )
    .await;
    mock.advance_clock_ms(2 * SECOND_MS);
}

fn status(c: &aws_sdk_proton::types::Component) -> &DeploymentStatus {
    c.deployment_status()
}

#[tokio::test]
async fn a_component_deploys_attached_detaches_cancels_and_deletes_on_the_clock() {
    let (server, client) = manual_client().await;
    let mock = server.mock();
    world(mock, true).await;

    let created = client
        .create_component()
        .name("queue")
        .service_name("web")
        .service_instance_name("web-dev")
        .service_spec("proton: ServiceSpec\n")
        .manifest(MANIFEST)
        .template_file(TEMPLATE)
        .client_token("create-1")
        .send()
        .await
        .unwrap();
    let component = created.component().unwrap();
    assert_eq!(status(component), &DeploymentStatus::InProgress);
    assert_eq!(
        component.environment_name(),
        "dev",
        "the instance's environment"
    );
    assert_eq!(component.last_client_request_token(), Some("create-1"));
    assert_eq!(component.last_succeeded_deployment_id(), None);
    assert_eq!(
        component.arn(),
        "arn:aws:proton:us-east-1:123456789012:component/queue"
    );
    let first_deployment = component
        .last_attempted_deployment_id()
        .unwrap()
        .to_string();

    // Nothing is provisioned before the deployment succeeds.
    let outputs = client
        .list_component_outputs()
        .component_name("queue")
        .send()
        .await
        .unwrap();
    assert!(outputs.outputs().is_empty());

    mock.advance_clock_ms(2 * SECOND_MS);
    let got = client.get_component().name("queue").send().await.unwrap();
    let component = got.component().unwrap();
    assert_eq!(status(component), &DeploymentStatus::Succeeded);
    assert_eq!(
        component.last_succeeded_deployment_id(),
        Some(first_deployment.as_str())
    );
    assert_eq!(
        component.last_deployment_succeeded_at(),
        component.last_deployment_attempted_at()
    );

    let outputs = client
        .list_component_outputs()
        .component_name("queue")
        .deployment_id(&first_deployment)
        .send()
        .await
        .unwrap();
    let keys: Vec<_> = outputs.outputs().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys, ["QueueUrl"]);
    let resources = client
        .list_component_provisioned_resources()
        .component_name("queue")
        .send()
        .await
        .unwrap();
    let names: Vec<_> = resources
        .provisioned_resources()
        .iter()
        .map(|r| {
            (
                r.name().unwrap().to_string(),
                r.provisioning_engine().unwrap().as_str().to_string(),
            )
        })
        .collect();
    assert_eq!(
        names,
        [
            ("Bucket".to_string(), "CLOUDFORMATION".to_string()),
            ("Queue".to_string(), "CLOUDFORMATION".to_string())
        ]
    );
    // Outputs the stack reports (set through the admin API) replace the keys.
    let body = json!({"resourceArn": "arn:aws:proton:us-east-1:123456789012:component/queue",
        "outputs": [{"key": "QueueUrl", "valueString": "https://sqs.example/queue"}]});
    let (code, _) = crate::support::http(
        &server.url(),
        "POST",
        "/__mock/outputs",
        &[],
        body.to_string().as_bytes(),
    )
    .await;
    assert_eq!(code, 200);
    let reported = client
        .list_component_outputs()
        .component_name("queue")
        .send()
        .await
        .unwrap();
    assert_eq!(
        reported.outputs()[0].value_string(),
        Some("https://sqs.example/queue")
    );
    let unknown = client
        .list_component_outputs()
        .component_name("queue")
        .deployment_id("00000000-0000-0000-0000-000000000000")
        .send()
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Some("ResourceNotFoundException"));

    // Filters: by environment, by service and instance.
    for (environment, service, count) in [
        (Some("dev"), None, 1),
        (Some("other"), None, 0),
        (None, Some("web"), 1),
        (None, Some("api"), 0),
    ] {
        let listed = client
            .list_components()
            .set_environment_name(environment.map(str::to_string))
            .set_service_name(service.map(str::to_string))
            .send()
            .await
            .unwrap();
        assert_eq!(
            listed.components().len(),
            count,
            "{environment:?} {service:?}"
        );
    }

    // Nor can its service or its environment go while it is there.
    let service = client
        .delete_service()
        .name("web")
        .send()
        .await
        .unwrap_err();
    assert_eq!(service.code(), Some("ConflictException"));
    assert!(service.message().unwrap().contains("queue"), "{service:?}");
    let environment = client
        .delete_environment()
        .name("dev")
        .send()
        .await
        .unwrap_err();
    assert_eq!(environment.code(), Some("ConflictException"));

    // An attached component cannot be deleted.
    let attached = client
        .delete_component()
        .name("queue")
        .send()
        .await
        .unwrap_err();
    assert_eq!(attached.code(), Some("ConflictException"));

    // Detach it: a new deployment.
    let updated = client
        .update_component()
        .name("queue")
        .deployment_type(ComponentDeploymentUpdateType::CurrentVersion)
        .service_name("")
        .service_instance_name("")
        .client_token("detach-1")
        .send()
        .await
        .unwrap();
    let component = updated.component().unwrap();
    assert_eq!(status(component), &DeploymentStatus::InProgress);
    assert_eq!(component.service_name(), None);
    assert_eq!(component.service_spec(), None);
    assert_ne!(
        component.last_attempted_deployment_id(),
        Some(first_deployment.as_str())
    );
    assert_eq!(
        component.last_succeeded_deployment_id(),
        Some(first_deployment.as_str())
    );
    // While it deploys, another update conflicts.
    let busy = client
        .update_component()
        .name("queue")
        .deployment_type(ComponentDeploymentUpdateType::None)
        .description("d")
        .send()
        .await
        .unwrap_err();
    assert_eq!(busy.code(), Some("ConflictException"));

    // Cancel the detaching deployment: CANCELLED, in the history too.
    let detaching = component
        .last_attempted_deployment_id()
        .unwrap()
        .to_string();
    let cancelled = client
        .cancel_component_deployment()
        .component_name("queue")
        .send()
        .await
        .unwrap();
    assert_eq!(
        status(cancelled.component().unwrap()),
        &DeploymentStatus::Cancelled
    );
    let record = client.get_deployment().id(&detaching).send().await.unwrap();
    let record = record.deployment().unwrap();
    assert_eq!(record.deployment_status(), &DeploymentStatus::Cancelled);
    assert_eq!(record.component_name(), Some("queue"));
    assert_eq!(record.target_resource_type().as_str(), "COMPONENT");
    let history = client
        .list_deployments()
        .component_name("queue")
        .send()
        .await
        .unwrap();
    let ids: Vec<_> = history.deployments().iter().map(|d| d.id()).collect();
    assert_eq!(
        ids,
        [detaching.as_str(), first_deployment.as_str()],
        "newest first"
    );
    let again = client
        .cancel_component_deployment()
        .component_name("queue")
        .send()
        .await
        .unwrap_err();
    assert_eq!(again.code(), Some("ConflictException"));

    // A metadata-only update deploys nothing.
    let described = client
        .update_component()
        .name("queue")
        .deployment_type(ComponentDeploymentUpdateType::None)
        .description("queue for web")
        .send()
        .await
        .unwrap();
    let component = described.component().unwrap();
    assert_eq!(status(component), &DeploymentStatus::Cancelled);
    assert_eq!(component.description(), Some("queue for web"));

    // Detached, it deletes: DELETE_IN_PROGRESS, then gone; a retry answers {}.
    let deleting = client
        .delete_component()
        .name("queue")
        .send()
        .await
        .unwrap();
    assert_eq!(
        status(deleting.component().unwrap()),
        &DeploymentStatus::DeleteInProgress
    );
    mock.advance_clock_ms(2 * SECOND_MS);
    let gone = client
        .get_component()
        .name("queue")
        .send()
        .await
        .unwrap_err();
    assert_eq!(gone.code(), Some("ResourceNotFoundException"));
    assert_eq!(
        gone.message(),
        Some(
            "The requested component does not exist: arn:aws:proton:us-east-1:123456789012:component/queue"
        )
    );
    let retry = client
        .delete_component()
        .name("queue")
        .send()
        .await
        .unwrap();
    assert!(retry.component().is_none());
    let never = client
        .delete_component()
        .name("never")
        .send()
        .await
        .unwrap_err();
    assert_eq!(never.code(), Some("ResourceNotFoundException"));
}

#[tokio::test]
async fn component_client_tokens_follow_the_idempotency_rules() {
    let (server, client) = manual_client().await;
    let mock = server.mock();
    world(mock, true).await;
    let create = |token: &'static str, description: &'static str| {
        client
            .create_component()
            .name("cache")
            .environment_name("dev")
            .description(description)
            .manifest(MANIFEST)
            .template_file(TEMPLATE)
            .client_token(token)
            .send()
    };
    let first = create("tok", "a").await.unwrap();
    client
        .tag_resource()
        .resource_arn(first.component().unwrap().arn())
        .tags(Tag::builder().key("k").value("v").build().unwrap())
        .send()
        .await
        .unwrap();
    let retry = create("tok", "a").await.unwrap();
    assert_eq!(
        first.component().unwrap().last_attempted_deployment_id(),
        retry.component().unwrap().last_attempted_deployment_id(),
        "a retry answers the component the token made and deploys nothing"
    );
    let mismatch = create("tok", "b").await.unwrap_err();
    assert_eq!(mismatch.code(), Some("ValidationException"));
    assert_eq!(mismatch.message(), Some("Idempotent parameter mismatch"));
    let other = create("other", "a").await.unwrap_err();
    assert_eq!(other.code(), Some("ConflictException"), "the name is taken");

    mock.advance_clock_ms(2 * SECOND_MS);
    let update = || {
        client
            .update_component()
            .name("cache")
            .deployment_type(ComponentDeploymentUpdateType::CurrentVersion)
            .template_file("Resources:\n  Table:\n    Type: AWS::DynamoDB::Table\n")
            .client_token("upd")
            .send()
    };
    let updated = update().await.unwrap();
    let deployment = updated
        .component()
        .unwrap()
        .last_attempted_deployment_id()
        .map(str::to_string);
    mock.advance_clock_ms(2 * SECOND_MS);
    let retried = update().await.unwrap();
    let component = retried.component().unwrap();
    assert_eq!(
        component.last_attempted_deployment_id().map(str::to_string),
        deployment,
        "an update retried with its token does not deploy again"
    );
    assert_eq!(status(component), &DeploymentStatus::Succeeded);
    assert_eq!(component.last_client_request_token(), Some("upd"));
}

#[tokio::test]
async fn components_need_a_component_role_and_a_template_that_accepts_them() {
    let (server, client) = manual_client().await;
    let mock = server.mock();
    world(mock, false).await;
    let base = || {
        client
            .create_component()
            .name("c")
            .manifest(MANIFEST)
            .template_file(TEMPLATE)
    };
    let unsupported = base()
        .service_name("web")
        .service_instance_name("web-dev")
        .send()
        .await
        .unwrap_err();
    assert_eq!(unsupported.code(), Some("ValidationException"));
    assert!(
        unsupported.message().unwrap().contains("DIRECTLY_DEFINED"),
        "{unsupported:?}"
    );
    let half = base().service_name("web").send().await.unwrap_err();
    assert_eq!(half.code(), Some("ValidationException"));
    let nowhere = base().send().await.unwrap_err();
    assert_eq!(nowhere.code(), Some("ValidationException"));
    let spec_detached = base()
        .environment_name("dev")
        .service_spec("x")
        .send()
        .await
        .unwrap_err();
    assert_eq!(spec_detached.code(), Some("ValidationException"));
    let missing_env = base().environment_name("nope").send().await.unwrap_err();
    assert_eq!(missing_env.code(), Some("ResourceNotFoundException"));
    let missing_instance = base()
        .service_name("web")
        .service_instance_name("nope")
        .send()
        .await
        .unwrap_err();
    assert_eq!(missing_instance.code(), Some("ResourceNotFoundException"));

    // An environment without a component role takes no component.
    ok(
        mock,
        "CreateEnvironment",
        json!({"name": "bare", "templateName": "env-tpl", "templateMajorVersion": "1",
            "spec": "proton: EnvironmentSpec\n", "protonServiceRoleArn": ROLE}),
    )
    .await;
    let no_role = base().environment_name("bare").send().await.unwrap_err();
    assert_eq!(no_role.code(), Some("ValidationException"));
    assert!(no_role.message().unwrap().contains("componentRoleArn"));
    base().environment_name("dev").send().await.unwrap();
}

#[tokio::test]
async fn repositories_link_list_and_unlink_unless_in_use() {
    let (_server, client) = manual_client().await;
    let created = client
        .create_repository()
        .name("myrepos/templates")
        .provider(RepositoryProvider::Github)
        .connection_arn(CONNECTION)
        .encryption_key("arn:aws:kms:us-east-1:123456789012:key/k")
        .tags(Tag::builder().key("team").value("a").build().unwrap())
        .send()
        .await
        .unwrap();
    let repository = created.repository().unwrap();
    assert_eq!(
        repository.arn(),
        "arn:aws:proton:us-east-1:123456789012:repository/github:myrepos/templates"
    );
    let tags = client
        .list_tags_for_resource()
        .resource_arn(repository.arn())
        .send()
        .await
        .unwrap();
    assert_eq!(tags.tags()[0].key(), "team");
    let twice = client
        .create_repository()
        .name("myrepos/templates")
        .provider(RepositoryProvider::Github)
        .connection_arn(CONNECTION)
        .send()
        .await
        .unwrap_err();
    assert_eq!(twice.code(), Some("ConflictException"));
    client
        .create_repository()
        .name("myrepos/envs")
        .provider(RepositoryProvider::Bitbucket)
        .connection_arn(CONNECTION)
        .send()
        .await
        .unwrap();
    let listed = client
        .list_repositories()
        .max_results(1)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.repositories().len(), 1);
    assert_eq!(
        listed.repositories()[0].provider(),
        &RepositoryProvider::Bitbucket
    );
    let rest = client
        .list_repositories()
        .next_token(listed.next_token().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(rest.repositories()[0].name(), "myrepos/templates");
    assert!(rest.next_token().is_none());
    let got = client
        .get_repository()
        .name("myrepos/templates")
        .provider(RepositoryProvider::Github)
        .send()
        .await
        .unwrap();
    assert_eq!(
        got.repository().unwrap().encryption_key(),
        Some("arn:aws:kms:us-east-1:123456789012:key/k")
    );

    // Pipelines provisioned through it: the repository is now in use.
    let settings = client
        .update_account_settings()
        .pipeline_provisioning_repository(
            RepositoryBranchInput::builder()
                .provider(RepositoryProvider::Github)
                .name("myrepos/templates")
                .branch("main")
                .build()
                .unwrap(),
        )
        .pipeline_service_role_arn(ROLE)
        .send()
        .await
        .unwrap();
    let repo = settings
        .account_settings()
        .unwrap()
        .pipeline_provisioning_repository()
        .unwrap();
    assert_eq!(repo.arn(), repository.arn());
    assert_eq!(repo.branch(), "main");
    let in_use = client
        .delete_repository()
        .name("myrepos/templates")
        .provider(RepositoryProvider::Github)
        .send()
        .await
        .unwrap_err();
    assert_eq!(in_use.code(), Some("ConflictException"));

    // Release it: an empty role ARN removes the role too.
    let cleared = client
        .update_account_settings()
        .delete_pipeline_provisioning_repository(true)
        .pipeline_service_role_arn("")
        .send()
        .await
        .unwrap();
    let settings = cleared.account_settings().unwrap();
    assert!(settings.pipeline_provisioning_repository().is_none());
    assert!(settings.pipeline_service_role_arn().is_none());
    let deleted = client
        .delete_repository()
        .name("myrepos/templates")
        .provider(RepositoryProvider::Github)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.repository().unwrap().name(), "myrepos/templates");
    let gone = client
        .get_repository()
        .name("myrepos/templates")
        .provider(RepositoryProvider::Github)
        .send()
        .await
        .unwrap_err();
    assert_eq!(gone.code(), Some("ResourceNotFoundException"));
    let unlinked = client
        .update_account_settings()
        .pipeline_provisioning_repository(
            RepositoryBranchInput::builder()
                .provider(RepositoryProvider::Github)
                .name("myrepos/templates")
                .branch("main")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(unlinked.code(), Some("ValidationException"));
}

#[tokio::test]
async fn a_template_sync_config_registers_version_one_and_reports_its_sync() {
    let (server, client) = manual_client().await;
    let mock = server.mock();
    client
        .create_environment_template()
        .name("fargate-env")
        .send()
        .await
        .unwrap();
    let sync = || {
        client
            .create_template_sync_config()
            .template_name("fargate-env")
            .template_type(TemplateType::Environment)
            .repository_name("myrepos/templates")
            .repository_provider(RepositoryProvider::Github)
            .branch("main")
            .subdirectory("environment-templates/fargate-env")
            .send()
    };
    let unlinked = sync().await.unwrap_err();
    assert_eq!(unlinked.code(), Some("ValidationException"));
    client
        .create_repository()
        .name("myrepos/templates")
        .provider(RepositoryProvider::Github)
        .connection_arn(CONNECTION)
        .send()
        .await
        .unwrap();
    let created = sync().await.unwrap();
    assert_eq!(created.template_sync_config().unwrap().branch(), "main");
    assert_eq!(sync().await.unwrap_err().code(), Some("ConflictException"));

    // Version 1.0 registers, as the CLI tutorial describes.
    let version = || {
        client
            .get_environment_template_version()
            .template_name("fargate-env")
            .major_version("1")
            .minor_version("0")
            .send()
    };
    assert_eq!(
        version()
            .await
            .unwrap()
            .environment_template_version()
            .unwrap()
            .status(),
        &TemplateVersionStatus::RegistrationInProgress
    );
    mock.advance_clock_ms(2 * SECOND_MS);
    assert_eq!(
        version()
            .await
            .unwrap()
            .environment_template_version()
            .unwrap()
            .status(),
        &TemplateVersionStatus::Draft
    );

    let status = client
        .get_template_sync_status()
        .template_name("fargate-env")
        .template_type(TemplateType::Environment)
        .template_version("1")
        .send()
        .await
        .unwrap();
    let desired = status.desired_state().unwrap();
    assert_eq!(desired.directory(), "environment-templates/fargate-env");
    assert_eq!(desired.sha().len(), 40);
    let latest = status.latest_sync().unwrap();
    assert_eq!(latest.target(), "fargate-env");
    assert_eq!(latest.target_revision(), Some(desired));

    let repo_status = client
        .get_repository_sync_status()
        .repository_name("myrepos/templates")
        .repository_provider(RepositoryProvider::Github)
        .branch("main")
        .sync_type(SyncType::TemplateSync)
        .send()
        .await
        .unwrap();
    let events: Vec<_> = repo_status
        .latest_sync()
        .unwrap()
        .events()
        .iter()
        .map(|e| e.r#type().to_string())
        .collect();
    assert_eq!(events, ["CLONE_STARTED", "CONFIG_UPDATED", "STARTING_SYNC"]);
    let definitions = client
        .list_repository_sync_definitions()
        .repository_name("myrepos/templates")
        .repository_provider(RepositoryProvider::Github)
        .sync_type(SyncType::TemplateSync)
        .send()
        .await
        .unwrap();
    assert_eq!(definitions.sync_definitions().len(), 1);
    assert_eq!(definitions.sync_definitions()[0].target(), "fargate-env");

    let updated = client
        .update_template_sync_config()
        .template_name("fargate-env")
        .template_type(TemplateType::Environment)
        .repository_name("myrepos/templates")
        .repository_provider(RepositoryProvider::Github)
        .branch("release")
        .send()
        .await
        .unwrap();
    let config = updated.template_sync_config().unwrap();
    assert_eq!(config.branch(), "release");
    assert_eq!(config.subdirectory(), None);
    let deleted = client
        .delete_template_sync_config()
        .template_name("fargate-env")
        .template_type(TemplateType::Environment)
        .send()
        .await
        .unwrap();
    assert!(deleted.template_sync_config().is_some());
    let none = client
        .get_template_sync_config()
        .template_name("fargate-env")
        .template_type(TemplateType::Environment)
        .send()
        .await
        .unwrap();
    assert!(none.template_sync_config().is_none());
    let again = client
        .delete_template_sync_config()
        .template_name("fargate-env")
        .template_type(TemplateType::Environment)
        .send()
        .await
        .unwrap_err();
    assert_eq!(again.code(), Some("ResourceNotFoundException"));
}

#[tokio::test]
async fn service_sync_blocks_on_manual_changes_until_resolved() {
    let (server, client) = manual_client().await;
    let mock = server.mock();
    world(mock, true).await;
    client
        .create_repository()
        .name("example/proton-sync-service")
        .provider(RepositoryProvider::Github)
        .connection_arn(CONNECTION)
        .send()
        .await
        .unwrap();
    let config = client
        .create_service_sync_config()
        .service_name("web")
        .repository_name("example/proton-sync-service")
        .repository_provider(RepositoryProvider::Github)
        .branch("main")
        .file_path("configuration/proton-ops.yaml")
        .send()
        .await
        .unwrap();
    assert_eq!(
        config.service_sync_config().unwrap().file_path(),
        "configuration/proton-ops.yaml"
    );
    let status = client
        .get_service_instance_sync_status()
        .service_name("web")
        .service_instance_name("web-dev")
        .send()
        .await
        .unwrap();
    assert_eq!(status.desired_state().unwrap().directory(), "configuration");
    assert_eq!(status.latest_sync().unwrap().target(), "web-dev");

    let summary = || {
        client
            .get_service_sync_blocker_summary()
            .service_name("web")
            .send()
    };
    let before = summary().await.unwrap();
    assert!(
        before
            .service_sync_blocker_summary()
            .unwrap()
            .latest_blockers()
            .is_empty()
    );

    // Changing the spec by hand blocks the synced service.
    client
        .update_service()
        .name("web")
        .spec(SERVICE_SPEC)
        .send()
        .await
        .unwrap();
    let blocked = summary().await.unwrap();
    let blockers = blocked
        .service_sync_blocker_summary()
        .unwrap()
        .latest_blockers();
    assert_eq!(blockers.len(), 1);
    assert_eq!(blockers[0].status().as_str(), "ACTIVE");
    assert!(blockers[0].created_reason().contains("UpdateService"));
    let id = blockers[0].id().to_string();

    let resolved = client
        .update_service_sync_blocker()
        .id(&id)
        .resolved_reason("spec pushed to Git")
        .send()
        .await
        .unwrap();
    assert_eq!(resolved.service_name(), "web");
    let blocker = resolved.service_sync_blocker().unwrap();
    assert_eq!(blocker.status().as_str(), "RESOLVED");
    assert_eq!(blocker.resolved_reason(), Some("spec pushed to Git"));
    let twice = client
        .update_service_sync_blocker()
        .id(&id)
        .resolved_reason("again")
        .send()
        .await
        .unwrap_err();
    assert_eq!(twice.code(), Some("ConflictException"));

    client
        .update_service_sync_config()
        .service_name("web")
        .repository_name("example/proton-sync-service")
        .repository_provider(RepositoryProvider::Github)
        .branch("prod")
        .file_path("proton-ops.yaml")
        .send()
        .await
        .unwrap();
    let got = client
        .get_service_sync_config()
        .service_name("web")
        .send()
        .await
        .unwrap();
    assert_eq!(got.service_sync_config().unwrap().branch(), "prod");
    client
        .delete_service_sync_config()
        .service_name("web")
        .send()
        .await
        .unwrap();
    let unsynced = client
        .get_service_instance_sync_status()
        .service_name("web")
        .service_instance_name("web-dev")
        .send()
        .await
        .unwrap();
    assert!(unsynced.latest_sync().is_none());
    // Unsynced, a manual change blocks nothing.
    mock.advance_clock_ms(2 * SECOND_MS);
    client
        .update_service()
        .name("web")
        .spec(SERVICE_SPEC)
        .send()
        .await
        .unwrap();
    let after = summary().await.unwrap();
    assert_eq!(
        after
            .service_sync_blocker_summary()
            .unwrap()
            .latest_blockers()
            .len(),
        1
    );
}

#[tokio::test]
async fn the_resources_summary_counts_what_the_mock_holds() {
    let (server, client) = manual_client().await;
    let mock = server.mock();
    world(mock, true).await;
    let counts =
        |summary: &aws_sdk_proton::operation::get_resources_summary::GetResourcesSummaryOutput| {
            let c = summary.counts().unwrap();
            (
                c.environment_templates().unwrap().total(),
                c.service_templates().unwrap().total(),
                c.environments().unwrap().total(),
                c.services().unwrap().total(),
                c.service_instances().unwrap().total(),
                c.components().unwrap().total(),
            )
        };
    let summary = client.get_resources_summary().send().await.unwrap();
    assert_eq!(counts(&summary), (1, 1, 1, 1, 1, 0));
    let instances = summary.counts().unwrap().service_instances().unwrap();
    assert_eq!(instances.up_to_date(), Some(1));
    assert_eq!(instances.behind_minor(), Some(0));

    // A newer published minor version makes the service and its instance stale.
    ok(
        mock,
        "CreateServiceTemplateVersion",
        json!({"templateName": "svc-tpl", "majorVersion": "1", "source": {"s3": {"bucket": "bundles", "key": "k"}},
            "compatibleEnvironmentTemplates": [{"templateName": "env-tpl", "majorVersion": "1"}]}),
    )
    .await;
    mock.advance_clock_ms(2 * SECOND_MS);
    ok(
        mock,
        "UpdateServiceTemplateVersion",
        json!({"templateName": "svc-tpl", "majorVersion": "1", "minorVersion": "1", "status": "PUBLISHED"}),
    )
    .await;
    ok(
        mock,
        "CreateComponent",
        json!({"name": "c", "environmentName": "dev", "manifest": MANIFEST, "templateFile": TEMPLATE}),
    )
    .await;
    let summary = client.get_resources_summary().send().await.unwrap();
    assert_eq!(counts(&summary), (1, 1, 1, 1, 1, 1));
    let c = summary.counts().unwrap();
    assert_eq!(c.services().unwrap().behind_minor(), Some(1));
    assert_eq!(c.service_instances().unwrap().behind_minor(), Some(1));
    assert_eq!(c.service_instances().unwrap().up_to_date(), Some(0));
    assert_eq!(c.components().unwrap().failed(), Some(0));
}

#[tokio::test]
async fn environment_account_connections_need_no_role_arn() {
    let (_server, client) = manual_client().await;
    let created = client
        .create_environment_account_connection()
        .environment_name("dev")
        .management_account_id("111111111111")
        .codebuild_role_arn(ROLE)
        .send()
        .await
        .unwrap();
    let connection = created.environment_account_connection().unwrap();
    assert_eq!(connection.role_arn(), "");
    assert_eq!(connection.codebuild_role_arn(), Some(ROLE));
}

#[tokio::test]
async fn every_operation_here_answers_in_the_shape_of_the_model() {
    let mock = Mock::new(MockConfig {
        clock: ClockMode::Manual,
        ..MockConfig::default()
    });
    world(&mock, true).await;
    let repo = json!({"repositoryName": "org/repo", "repositoryProvider": "GITHUB"});
    let with = |extra: Value| {
        let mut out = repo.clone();
        for (k, v) in extra.as_object().unwrap() {
            out[k] = v.clone();
        }
        out
    };
    let template_sync = json!({"templateName": "env-tpl", "templateType": "ENVIRONMENT"});
    let steps: Vec<(&str, Value, u64)> = vec![
        (
            "CreateComponent",
            json!({"name": "c", "serviceName": "web", "serviceInstanceName": "web-dev", "manifest": MANIFEST, "templateFile": TEMPLATE, "clientToken": "t"}),
            2 * SECOND_MS,
        ),
        ("GetComponent", json!({"name": "c"}), 0),
        ("ListComponents", json!({}), 0),
        ("ListComponentOutputs", json!({"componentName": "c"}), 0),
        (
            "ListComponentProvisionedResources",
            json!({"componentName": "c"}),
            0,
        ),
        (
            "UpdateComponent",
            json!({"name": "c", "deploymentType": "CURRENT_VERSION", "serviceName": "", "serviceInstanceName": ""}),
            0,
        ),
        (
            "CancelComponentDeployment",
            json!({"componentName": "c"}),
            2 * SECOND_MS,
        ),
        ("DeleteComponent", json!({"name": "c"}), 0),
        (
            "CreateRepository",
            json!({"name": "org/repo", "provider": "GITHUB", "connectionArn": CONNECTION}),
            0,
        ),
        (
            "GetRepository",
            json!({"name": "org/repo", "provider": "GITHUB"}),
            0,
        ),
        ("ListRepositories", json!({}), 0),
        (
            "CreateTemplateSyncConfig",
            with(
                json!({"templateName": "env-tpl", "templateType": "ENVIRONMENT", "branch": "main"}),
            ),
            0,
        ),
        ("GetTemplateSyncConfig", template_sync.clone(), 0),
        (
            "UpdateTemplateSyncConfig",
            with(
                json!({"templateName": "env-tpl", "templateType": "ENVIRONMENT", "branch": "dev", "subdirectory": "t"}),
            ),
            0,
        ),
        (
            "GetTemplateSyncStatus",
            json!({"templateName": "env-tpl", "templateType": "ENVIRONMENT", "templateVersion": "1"}),
            0,
        ),
        (
            "GetRepositorySyncStatus",
            with(json!({"branch": "dev", "syncType": "TEMPLATE_SYNC"})),
            0,
        ),
        (
            "ListRepositorySyncDefinitions",
            with(json!({"syncType": "TEMPLATE_SYNC"})),
            0,
        ),
        (
            "CreateServiceSyncConfig",
            with(json!({"serviceName": "web", "branch": "main", "filePath": "ops.yaml"})),
            0,
        ),
        ("GetServiceSyncConfig", json!({"serviceName": "web"}), 0),
        (
            "UpdateServiceSyncConfig",
            with(json!({"serviceName": "web", "branch": "prod", "filePath": "ops.yaml"})),
            0,
        ),
        (
            "GetServiceInstanceSyncStatus",
            json!({"serviceName": "web", "serviceInstanceName": "web-dev"}),
            0,
        ),
        (
            "GetServiceSyncBlockerSummary",
            json!({"serviceName": "web"}),
            0,
        ),
        ("DeleteServiceSyncConfig", json!({"serviceName": "web"}), 0),
        ("DeleteTemplateSyncConfig", template_sync, 0),
        ("GetAccountSettings", json!({}), 0),
        (
            "UpdateAccountSettings",
            json!({"pipelineServiceRoleArn": ROLE, "pipelineProvisioningRepository": {"provider": "GITHUB", "name": "org/repo", "branch": "main"}}),
            0,
        ),
        ("GetResourcesSummary", json!({}), 0),
        (
            "UpdateAccountSettings",
            json!({"deletePipelineProvisioningRepository": true}),
            0,
        ),
        (
            "DeleteRepository",
            json!({"name": "org/repo", "provider": "GITHUB"}),
            0,
        ),
    ];
    let mut answered = BTreeSet::new();
    let mut problems = Vec::new();
    for (operation, input, advance) in steps {
        let output = ok(&mock, operation, input).await;
        answered.insert(operation);
        problems.extend(
            Model::proton()
                .check_output(operation, &output)
                .into_iter()
                .map(|p| format!("{operation}: {p} in {output}")),
        );
        mock.advance_clock_ms(advance);
    }
    // A blocker to resolve: a manual change to the synced service.
    ok(
        &mock,
        "CreateRepository",
        json!({"name": "org/repo", "provider": "GITHUB", "connectionArn": CONNECTION}),
    )
    .await;
    ok(
        &mock,
        "CreateServiceSyncConfig",
        with(json!({"serviceName": "web", "branch": "main", "filePath": "ops.yaml"})),
    )
    .await;
    ok(
        &mock,
        "UpdateService",
        json!({"name": "web", "spec": SERVICE_SPEC}),
    )
    .await;
    let summary = ok(
        &mock,
        "GetServiceSyncBlockerSummary",
        json!({"serviceName": "web"}),
    )
    .await;
    let id = summary["serviceSyncBlockerSummary"]["latestBlockers"][0]["id"].clone();
    let output = ok(
        &mock,
        "UpdateServiceSyncBlocker",
        json!({"id": id, "resolvedReason": "done"}),
    )
    .await;
    answered.insert("UpdateServiceSyncBlocker");
    problems.extend(Model::proton().check_output("UpdateServiceSyncBlocker", &output));
    assert_eq!(answered, SHAPE_CHECKED.iter().copied().collect());
    assert!(problems.is_empty(), "{problems:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boto3_component_waiters_and_the_families_work_as_a_program_uses_them() {
    let config = MockConfig {
        durations: Durations::all(Duration::from_millis(300)),
        ..MockConfig::default()
    };
    let server = start(config).await;
    let seen = crate::support::python_script_json("components.py", &[&server.url()]).await;
    assert_eq!(
        seen,
        json!({
            "created_status": "IN_PROGRESS",
            "token_filled": true,
            "deployed_status": "SUCCEEDED",
            "succeeded_is_attempted": true,
            "outputs": ["QueueUrl"],
            "resources": [["Queue", "CLOUDFORMATION"]],
            "listed_for_instance": ["queue"],
            "attached_delete": "ConflictException",
            "deleting_status": "DELETE_IN_PROGRESS",
            "deleted": "ResourceNotFoundException",
            "blockers": ["ACTIVE"],
            "resolved": "RESOLVED",
            "instance_sync": "SUCCEEDED",
            "repository_sync": "SUCCEEDED",
            "definitions": ["web"],
            "repository_in_use": "ConflictException",
            "repositories": ["arn:aws:proton:us-east-1:123456789012:repository/github:myrepos/templates"],
            "settings": {"pipelineCodebuildRoleArn": ROLE},
            "counts": {
                "components": 0, "environmentTemplates": 1, "environments": 1, "pipelines": 0,
                "serviceInstances": 1, "serviceTemplates": 1, "services": 1
            },
            "deploy_waiter": true,
            "failed": ["FAILED", "stack rolled back"],
            "delete_waiter": true,
            "summary_failed": 1,
        })
    );
}

/// The CLI tutorial's template sync steps, then a component, with the
/// CLI's own waiters (the clock jumps before each wait, so each passes on
/// its first poll).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_aws_cli_syncs_templates_and_waits_for_components() {
    use crate::support::{aws_cli, cli_json};
    let server = manual().await;
    let mock = server.mock().clone();
    let url = server.url();
    let run = move |args: Vec<String>| {
        let url = url.clone();
        async move {
            tokio::task::spawn_blocking(move || {
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                aws_cli(&url, &args)
            })
            .await
            .unwrap()
        }
    };
    let args = |s: &str| -> Vec<String> { s.split(' ').map(str::to_string).collect() };
    cli_json(&run(args("proton create-repository --name myrepos/templates --provider GITHUB --connection-arn arn:aws:codestar-connections:us-east-1:123456789012:connection/abc")).await);
    cli_json(
        &run(args(
            "proton create-environment-template --name fargate-env --display-name VPC",
        ))
        .await,
    );
    let sync = cli_json(&run(args("proton create-template-sync-config --template-name fargate-env --template-type ENVIRONMENT --repository-name myrepos/templates --repository-provider GITHUB --branch main --subdirectory environment-templates/fargate-env")).await);
    assert_eq!(
        sync["templateSyncConfig"]["subdirectory"],
        "environment-templates/fargate-env"
    );
    mock.advance_clock_ms(2 * SECOND_MS);
    let waited = run(args("proton wait environment-template-version-registered --template-name fargate-env --major-version 1 --minor-version 0")).await;
    assert!(
        waited.status.success(),
        "{}",
        String::from_utf8_lossy(&waited.stderr)
    );
    cli_json(&run(args("proton update-environment-template-version --template-name fargate-env --major-version 1 --minor-version 0 --status PUBLISHED")).await);
    cli_json(&run(args("proton create-environment --name dev --template-name fargate-env --template-major-version 1 --spec proton:EnvironmentSpec --component-role-arn arn:aws:iam::123456789012:role/c")).await);

    let mut create = args("proton create-component --name queue --environment-name dev");
    create.extend([
        "--manifest".into(),
        MANIFEST.into(),
        "--template-file".into(),
        TEMPLATE.into(),
    ]);
    let created = cli_json(&run(create).await);
    assert_eq!(created["component"]["deploymentStatus"], "IN_PROGRESS");
    mock.advance_clock_ms(2 * SECOND_MS);
    let waited = run(args("proton wait component-deployed --name queue")).await;
    assert!(
        waited.status.success(),
        "{}",
        String::from_utf8_lossy(&waited.stderr)
    );
    let deleting = cli_json(&run(args("proton delete-component --name queue")).await);
    assert_eq!(
        deleting["component"]["deploymentStatus"],
        "DELETE_IN_PROGRESS"
    );
    mock.advance_clock_ms(2 * SECOND_MS);
    let waited = run(args("proton wait component-deleted --name queue")).await;
    assert!(
        waited.status.success(),
        "{}",
        String::from_utf8_lossy(&waited.stderr)
    );

    let summary = cli_json(&run(args("proton get-resources-summary")).await);
    assert_eq!(summary["counts"]["components"]["total"], 0);
    assert_eq!(summary["counts"]["environments"]["total"], 1);
    let deleted = cli_json(&run(args("proton delete-template-sync-config --template-name fargate-env --template-type ENVIRONMENT")).await);
    assert_eq!(deleted["templateSyncConfig"]["branch"], "main");
}

/// The Rust SDK's component waiters on both branches; the clock jumps before
/// each wait, so the first poll decides.
#[tokio::test]
async fn rust_sdk_component_waiters_see_success_and_injected_failures() {
    use aws_sdk_proton::client::Waiters;
    use std::time::Duration as Wait;
    let (server, client) = manual_client().await;
    let mock = server.mock();
    world(mock, true).await;
    let create = |name: &'static str| {
        client
            .create_component()
            .name(name)
            .environment_name("dev")
            .manifest(MANIFEST)
            .template_file(TEMPLATE)
            .send()
    };
    create("good").await.unwrap();
    mock.fail_next(
        "arn:aws:proton:us-east-1:123456789012:component/bad",
        proton_vcr::mock::FailurePoint::Deployment,
        "stack rolled back",
    );
    create("bad").await.unwrap();
    mock.advance_clock_ms(2 * SECOND_MS);
    client
        .wait_until_component_deployed()
        .name("good")
        .wait(Wait::from_secs(30))
        .await
        .unwrap();
    let failed = client
        .wait_until_component_deployed()
        .name("bad")
        .wait(Wait::from_secs(30))
        .await
        .unwrap_err();
    assert!(
        matches!(
            failed,
            aws_sdk_proton::waiters::component_deployed::WaitUntilComponentDeployedError::FailureState(_)
        ),
        "{failed:?}"
    );

    mock.fail_next(
        "arn:aws:proton:us-east-1:123456789012:component/bad",
        proton_vcr::mock::FailurePoint::Delete,
        "bucket not empty",
    );
    for name in ["good", "bad"] {
        client.delete_component().name(name).send().await.unwrap();
    }
    mock.advance_clock_ms(2 * SECOND_MS);
    client
        .wait_until_component_deleted()
        .name("good")
        .wait(Wait::from_secs(30))
        .await
        .unwrap();
    let stuck = client
        .wait_until_component_deleted()
        .name("bad")
        .wait(Wait::from_secs(30))
        .await
        .unwrap_err();
    assert!(
        matches!(
            stuck,
            aws_sdk_proton::waiters::component_deleted::WaitUntilComponentDeletedError::FailureState(_)
        ),
        "{stuck:?}"
    );
    let got = client.get_component().name("bad").send().await.unwrap();
    let component = got.component().unwrap();
    assert_eq!(status(component), &DeploymentStatus::DeleteFailed);
    assert_eq!(
        component.deployment_status_message(),
        Some("bucket not empty")
    );
}
