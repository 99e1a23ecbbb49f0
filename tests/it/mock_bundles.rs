//! Template bundles: an S3 object mapped to a real `.tar.gz` (built here) or
//! folder is read at registration, through the admin call and the
//! `--bundle` flag; unmapped objects keep the mock's old behaviour.

use crate::support::{self, aws_cli, cli_json, manual, proton_client};
use aws_sdk_proton::types::TemplateVersionStatus;
use proton_vcr::MockConfig;
use std::path::{Path, PathBuf};

pub const ENV_SCHEMA: &str = "schema:\n  format:\n    openapi: \"3.0.0\"\n  environment_input_type: \"PublicEnvironmentInput\"\n  types:\n    PublicEnvironmentInput:\n      type: object\n      properties:\n        vpc_cidr:\n          type: string\n          default: 10.0.0.0/16\n";
const MANIFEST: &str = "infrastructure:\n  templates:\n    - file: cloudformation.yaml\n      rendering_engine: jinja\n      template_language: cloudformation\n";

/// Writes a gzip-compressed tar of `files` (path, contents) under `dir`.
pub fn tar_gz(dir: &Path, name: &str, files: &[(&str, &str)]) -> PathBuf {
    let path = dir.join(name);
    let file = std::fs::File::create(&path).unwrap();
    let encoder = flate2::write::GzEncoder::new(file, flate2::Compression::default());
    let mut builder = tar::Builder::new(encoder);
    for (name, contents) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(contents.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder
            .append_data(&mut header, name, contents.as_bytes())
            .unwrap();
    }
    builder.into_inner().unwrap().finish().unwrap();
    path
}

/// A well-formed environment template bundle, in a top-level folder as
/// `tar czf bundle.tar.gz env-bundle/` makes it.
pub fn environment_bundle(dir: &Path) -> PathBuf {
    tar_gz(
        dir,
        "env.tar.gz",
        &[
            ("env-bundle/schema/schema.yaml", ENV_SCHEMA),
            ("env-bundle/infrastructure/manifest.yaml", MANIFEST),
            (
                "env-bundle/infrastructure/cloudformation.yaml",
                "Resources: {}\n",
            ),
        ],
    )
}

async fn map(url: &str, uri: &str, path: &Path) -> (u16, serde_json::Value) {
    let body = serde_json::json!({"s3": uri, "path": path}).to_string();
    let (status, body) = support::http(url, "POST", "/__mock/bundles", &[], body.as_bytes()).await;
    (status, serde_json::from_slice(&body).unwrap())
}

#[tokio::test]
async fn a_mapped_tar_gz_gives_the_version_its_schema() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = environment_bundle(dir.path());
    let server = manual().await;
    let url = server.url();
    let (status, _) = map(&url, "s3://proton-bundles/env.tar.gz", &bundle).await;
    assert_eq!(status, 200);
    let client = proton_client(&url);
    client
        .create_environment_template()
        .name("env")
        .send()
        .await
        .unwrap();
    for (bucket, key) in [
        ("proton-bundles", "env.tar.gz"),
        ("proton-bundles", "unmapped.tar.gz"),
    ] {
        client
            .create_environment_template_version()
            .template_name("env")
            .source(support::s3_source(bucket, key))
            .send()
            .await
            .unwrap();
    }
    server.mock().advance_clock_ms(2_000);
    let version = |major: &'static str| {
        client
            .get_environment_template_version()
            .template_name("env")
            .major_version(major)
            .minor_version("0")
            .send()
    };
    let mapped = version("1").await.unwrap();
    let mapped = mapped.environment_template_version().unwrap();
    assert_eq!(mapped.status(), &TemplateVersionStatus::Draft);
    assert_eq!(mapped.schema(), Some(ENV_SCHEMA));
    let unmapped = version("2").await.unwrap();
    let unmapped = unmapped.environment_template_version().unwrap();
    assert_eq!(unmapped.status(), &TemplateVersionStatus::Draft);
    assert_eq!(unmapped.schema(), None, "an unmapped object is not read");
    // List entries carry no schema (the summary shape has none).
    let listed = client
        .list_environment_template_versions()
        .template_name("env")
        .send()
        .await
        .unwrap();
    assert_eq!(listed.template_versions().len(), 2);
}

#[tokio::test]
async fn a_folder_can_be_the_bundle_and_bad_mappings_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("svc");
    for (path, contents) in [
        (
            "schema/schema.yaml",
            "schema:\n  format:\n    openapi: \"3.0.0\"\n  service_input_type: \"In\"\n  types:\n    In:\n      type: object\n",
        ),
        ("instance_infrastructure/manifest.yaml", MANIFEST),
    ] {
        let file = root.join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, contents).unwrap();
    }
    let server = manual().await;
    let url = server.url();
    let (status, body) = map(&url, "proton-bundles/svc", &root).await;
    assert_eq!(status, 400);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("s3://BUCKET/KEY"),
        "{body}"
    );
    let (status, _) = support::http(&url, "POST", "/__mock/bundles", &[], b"{}").await;
    assert_eq!(status, 400);
    assert_eq!(map(&url, "s3://proton-bundles/svc", &root).await.0, 200);

    let client = proton_client(&url);
    client
        .create_service_template()
        .name("svc")
        .send()
        .await
        .unwrap();
    client
        .create_service_template_version()
        .template_name("svc")
        .source(support::s3_source("proton-bundles", "svc"))
        .compatible_environment_templates(
            aws_sdk_proton::types::CompatibleEnvironmentTemplateInput::builder()
                .template_name("env")
                .major_version("1")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    server.mock().advance_clock_ms(2_000);
    let got = client
        .get_service_template_version()
        .template_name("svc")
        .major_version("1")
        .minor_version("0")
        .send()
        .await
        .unwrap();
    let version = got.service_template_version().unwrap();
    assert!(version.schema().unwrap().contains("service_input_type"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bundle_flag_maps_an_object_for_the_aws_cli() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = environment_bundle(dir.path());
    let mapping = format!("s3://proton-bundles/env.tar.gz={}", bundle.display());
    let (mut child, url) = support::spawn_server(&[
        "mock",
        "--listen",
        "127.0.0.1:0",
        "--clock",
        "manual",
        "--bundle",
        &mapping,
    ]);
    let cli = |args: Vec<&'static str>| {
        let url = url.clone();
        tokio::task::spawn_blocking(move || aws_cli(&url, &args))
    };
    cli_json(
        &cli(vec![
            "proton",
            "create-environment-template",
            "--name",
            "env",
        ])
        .await
        .unwrap(),
    );
    let created = cli_json(
        &cli(vec![
            "proton",
            "create-environment-template-version",
            "--template-name",
            "env",
            "--source",
            "s3={bucket=proton-bundles,key=env.tar.gz}",
        ])
        .await
        .unwrap(),
    );
    assert!(
        created["environmentTemplateVersion"]["schema"].is_null(),
        "the schema is read by the registration"
    );
    let (status, _) = support::http(
        &url,
        "POST",
        "/__mock/clock",
        &[],
        br#"{"advance_ms": 2000}"#,
    )
    .await;
    assert_eq!(status, 200);
    let got = cli_json(
        &cli(vec![
            "proton",
            "get-environment-template-version",
            "--template-name",
            "env",
            "--major-version",
            "1",
            "--minor-version",
            "0",
        ])
        .await
        .unwrap(),
    );
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(got["environmentTemplateVersion"]["schema"], ENV_SCHEMA);
}

#[tokio::test]
async fn a_malformed_bundle_ends_registration_failed_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let no_schema = tar_gz(
        dir.path(),
        "no-schema.tar.gz",
        &[("infrastructure/manifest.yaml", MANIFEST)],
    );
    let not_gzip = dir.path().join("plain.tar.gz");
    std::fs::write(&not_gzip, "not an archive").unwrap();
    let server = manual().await;
    let url = server.url();
    map(&url, "s3://proton-bundles/no-schema.tar.gz", &no_schema).await;
    map(&url, "s3://proton-bundles/plain.tar.gz", &not_gzip).await;
    let client = proton_client(&url);
    client
        .create_environment_template()
        .name("env")
        .send()
        .await
        .unwrap();
    for key in ["no-schema.tar.gz", "plain.tar.gz"] {
        client
            .create_environment_template_version()
            .template_name("env")
            .source(support::s3_source("proton-bundles", key))
            .send()
            .await
            .unwrap();
    }
    server.mock().advance_clock_ms(2_000);
    for (major, reason) in [
        ("1", "no schema/schema.yaml"),
        ("2", "not a gzip-compressed tar"),
    ] {
        let got = client
            .get_environment_template_version()
            .template_name("env")
            .major_version(major)
            .minor_version("0")
            .send()
            .await
            .unwrap();
        let version = got.environment_template_version().unwrap();
        assert_eq!(version.status(), &TemplateVersionStatus::RegistrationFailed);
        let message = version.status_message().unwrap();
        assert!(message.contains(reason), "{message}");
        assert_eq!(version.schema(), None);
    }
}

/// The serverless sample's workflow, driven by boto3 end to end (see bundle_workflow.py).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boto3_runs_a_sample_template_workflow_from_tar_gz_bundles() {
    let config = MockConfig {
        durations: proton_vcr::Durations::all(std::time::Duration::from_millis(300)),
        ..MockConfig::default()
    };
    let server = support::start(config).await;
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().to_str().unwrap();
    let seen = support::python_script_json("bundle_workflow.py", &[&server.url(), dir]).await;
    assert_eq!(
        seen,
        serde_json::json!({
            "env_schema_input": true,
            "instances": ["items-api", "orders-api"],
            "pipeline": "SUCCEEDED",
            "outputs": [{"key": "ApiUrl", "valueString": "https://items.example"}],
            "instance_deployments": 2,
            "history_agrees": true,
            "component_env": "dev",
            "component_deployments": ["COMPONENT"],
            "summary": {
                "components": 1, "environmentTemplates": 1, "environments": 1, "pipelines": 1,
                "serviceInstances": 2, "serviceTemplates": 1, "services": 1
            },
        })
    );
}
