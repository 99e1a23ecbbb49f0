//! Whole Proton workflows against the mock, as users ran them against AWS:
//! the user guide's CLI getting-started flow with the AWS CLI, and a
//! serverless environment with a Lambda service in the style of the sample
//! templates, with boto3 (tests/it/workflow.py).

use crate::support::{self, aws_cli, cli_json, http, start};
use proton_vcr::{Durations, MockConfig};
use serde_json::{Value, json};
use std::process::Output;
use std::time::Duration;

const ROLE: &str = "arn:aws:iam::123456789012:role/AWSProtonServiceRole";
const CONNECTION: &str = "arn:aws:codestar-connections:us-east-1:123456789012:connection/a1b2c3d4-5678-90ab-cdef-EXAMPLE11111";

fn succeeded(output: &Output) {
    assert!(
        output.status.success(),
        "aws failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The user guide's "Getting started with the AWS CLI", step by step: sync
/// configs register the templates' first versions, they are published, an
/// environment and a service are deployed with the CLI's waiters, the
/// service instance's outputs are listed, and everything is deleted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_user_guides_cli_getting_started_flow() {
    // Lifecycles end at once, so each CLI waiter succeeds on its first poll.
    let server = start(MockConfig {
        durations: Durations::all(Duration::ZERO),
        ..MockConfig::default()
    })
    .await;
    let url = server.url();
    let dir = tempfile::tempdir().unwrap();
    let env_spec = dir.path().join("env-spec.yaml");
    std::fs::write(
        &env_spec,
        "proton: EnvironmentSpec\nspec:\n  vpc_cidr: 10.0.0.0/16\n  public_subnet_one_cidr: 10.0.0.0/18\n",
    )
    .unwrap();
    let svc_spec = dir.path().join("svc-spec.yaml");
    std::fs::write(
        &svc_spec,
        "proton: ServiceSpec\npipeline:\n  dockerfile: \"Dockerfile\"\n  unit_test_command: \"echo 'add your unit test command here'\"\ninstances:\n  - name: \"load-balanced-fargate-svc-prod\"\n    environment: \"fargate-env-prod\"\n    spec:\n      port: 80\n      desired_count: 1\n      task_size: \"x-small\"\n      scope: \"public\"\n",
    )
    .unwrap();
    let env_spec = format!("file://{}", env_spec.display());
    let svc_spec = format!("file://{}", svc_spec.display());
    let cli = |args: &[&str]| aws_cli(&url, args);

    succeeded(&cli(&[
        "proton",
        "create-repository",
        "--name",
        "your-GitHub-account/your-forked-repo",
        "--provider",
        "GITHUB",
        "--connection-arn",
        CONNECTION,
    ]));
    for (template, kind, display) in [
        ("fargate-env", "ENVIRONMENT", "Public VPC Fargate"),
        (
            "load-balanced-fargate-svc",
            "SERVICE",
            "Load balanced Fargate service",
        ),
    ] {
        let (create, wait, update, subdirectory) = match kind {
            "ENVIRONMENT" => (
                "create-environment-template",
                "environment-template-version-registered",
                "update-environment-template-version",
                "environment-templates/fargate-env",
            ),
            _ => (
                "create-service-template",
                "service-template-version-registered",
                "update-service-template-version",
                "service-templates/load-balanced-fargate-svc",
            ),
        };
        cli_json(&cli(&[
            "proton",
            create,
            "--name",
            template,
            "--display-name",
            display,
        ]));
        cli_json(&cli(&[
            "proton",
            "create-template-sync-config",
            "--template-name",
            template,
            "--template-type",
            kind,
            "--repository-name",
            "your-GitHub-account/your-forked-repo",
            "--repository-provider",
            "GITHUB",
            "--branch",
            "main",
            "--subdirectory",
            subdirectory,
        ]));
        succeeded(&cli(&[
            "proton",
            "wait",
            wait,
            "--template-name",
            template,
            "--major-version",
            "1",
            "--minor-version",
            "0",
        ]));
        let published = cli_json(&cli(&[
            "proton",
            update,
            "--template-name",
            template,
            "--major-version",
            "1",
            "--minor-version",
            "0",
            "--status",
            "PUBLISHED",
        ]));
        let version = published.as_object().unwrap().values().next().unwrap();
        assert_eq!(version["status"], "PUBLISHED");
    }

    let environment = cli_json(&cli(&[
        "proton",
        "create-environment",
        "--name",
        "fargate-env-prod",
        "--template-name",
        "fargate-env",
        "--template-major-version",
        "1",
        "--proton-service-role-arn",
        ROLE,
        "--spec",
        &env_spec,
    ]));
    assert_eq!(
        environment["environment"]["deploymentStatus"],
        "IN_PROGRESS"
    );
    succeeded(&cli(&[
        "proton",
        "wait",
        "environment-deployed",
        "--name",
        "fargate-env-prod",
    ]));

    let service = cli_json(&cli(&[
        "proton",
        "create-service",
        "--name",
        "static-website",
        "--repository-connection-arn",
        CONNECTION,
        "--repository-id",
        "your-GitHub-account/aws-proton-sample-services",
        "--branch-name",
        "main",
        "--template-major-version",
        "1",
        "--template-name",
        "load-balanced-fargate-svc",
        "--spec",
        &svc_spec,
    ]));
    assert_eq!(service["service"]["status"], "CREATE_IN_PROGRESS");
    succeeded(&cli(&[
        "proton",
        "wait",
        "service-created",
        "--name",
        "static-website",
    ]));

    // What the instance's CloudFormation stack would have output.
    let instance_arn = "arn:aws:proton:us-east-1:123456789012:service/static-website/service-instance/load-balanced-fargate-svc-prod";
    let outputs = json!([{"key": "ServiceURL", "valueString": "http://static-website.example"}]);
    let (status, _) = http(
        &url,
        "POST",
        "/__mock/outputs",
        &[],
        json!({"resourceArn": instance_arn, "outputs": outputs})
            .to_string()
            .as_bytes(),
    )
    .await;
    assert_eq!(status, 200);
    let listed = cli_json(&cli(&[
        "proton",
        "list-service-instance-outputs",
        "--service-name",
        "static-website",
        "--service-instance-name",
        "load-balanced-fargate-svc-prod",
    ]));
    assert_eq!(listed, json!({"outputs": outputs}));

    cli_json(&cli(&[
        "proton",
        "delete-service",
        "--name",
        "static-website",
    ]));
    succeeded(&cli(&[
        "proton",
        "wait",
        "service-deleted",
        "--name",
        "static-website",
    ]));
    cli_json(&cli(&[
        "proton",
        "delete-environment",
        "--name",
        "fargate-env-prod",
    ]));
    for (template, kind) in [
        ("load-balanced-fargate-svc", "SERVICE"),
        ("fargate-env", "ENVIRONMENT"),
    ] {
        let (delete_version, delete_template) = match kind {
            "SERVICE" => ("delete-service-template-version", "delete-service-template"),
            _ => (
                "delete-environment-template-version",
                "delete-environment-template",
            ),
        };
        cli_json(&cli(&[
            "proton",
            "delete-template-sync-config",
            "--template-name",
            template,
            "--template-type",
            kind,
        ]));
        // The API deletes a template only once it has no versions.
        cli_json(&cli(&[
            "proton",
            delete_version,
            "--template-name",
            template,
            "--major-version",
            "1",
            "--minor-version",
            "0",
        ]));
        cli_json(&cli(&["proton", delete_template, "--name", template]));
    }
    let state: Value = server.mock().state_json();
    for family in [
        "environmentTemplates",
        "serviceTemplates",
        "environments",
        "services",
    ] {
        assert_eq!(state[family], json!([]), "{family} left behind");
    }
}

/// A serverless environment (DynamoDB table, API Gateway) and a Lambda
/// service with a pipeline and two instances, driven by boto3 through the
/// whole life of a Proton program: see tests/it/workflow.py.
#[tokio::test]
async fn a_serverless_workflow_with_boto3() {
    let server = start(MockConfig {
        durations: Durations::all(Duration::from_millis(300)),
        ..MockConfig::default()
    })
    .await;
    let seen = support::python_script_json("workflow.py", &[&server.url()]).await;
    assert_eq!(
        seen,
        json!({
            "instances": ["crud-handlers-dev", "crud-handlers-prod"],
            "instance_version": "1.1",
            "instance_deployments": ["SUCCEEDED", "SUCCEEDED"],
            "initial_version": "0",
            "outputs": [{"key": "FunctionArn", "valueString": "arn:aws:lambda:us-east-1:123456789012:function:crud"}],
            "pipeline_status": "SUCCEEDED",
            "component": "SUCCEEDED",
            "after_drop": ["crud-handlers-dev"],
            "environment_deployments": 1,
            "summary_services": 1,
            "guardrails": {
                "environment_with_instances": "ConflictException",
                "version_in_use": "ConflictException",
                "missing_environment": "ResourceNotFoundException",
                "unparsable_spec": "ValidationException",
                "update_while_updating": "ConflictException",
            },
            "cleaned_up": true,
        })
    );
}
