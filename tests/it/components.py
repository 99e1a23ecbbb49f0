"""Drives the Proton mock's components, repositories, sync configs and
account settings with boto3, as a Proton program would: the component
waiters, typed exceptions, paginators. Run by tests/it/mock_components.rs as
`python3 components.py ENDPOINT_URL`; prints one JSON object of observations
on stdout and exits non-zero with a message on the first surprise."""

import json
import sys

import boto3
from botocore.config import Config

url = sys.argv[1]
proton = boto3.client(
    "proton",
    endpoint_url=url,
    region_name="us-east-1",
    aws_access_key_id="AKIDDUMMYCLIENT00000",
    aws_secret_access_key="dummy-client-secret-not-used",
    config=Config(retries={"max_attempts": 1}),
)
# The mock's lifecycles are short; poll every second instead of every 5 s.
FAST = {"Delay": 1, "MaxAttempts": 30}
SOURCE = {"s3": {"bucket": "templates-bucket", "key": "bundle.tar.gz"}}
ROLE = "arn:aws:iam::123456789012:role/proton"
CONNECTION = "arn:aws:codestar-connections:us-east-1:123456789012:connection/abc"
SPEC = """proton: ServiceSpec
instances:
  - name: "web-dev"
    environment: "dev"
    spec:
      port: 80
"""
MANIFEST = """infrastructure:
  templates:
    - file: cloudformation.yaml
      rendering_engine: jinja
      template_language: cloudformation
"""
TEMPLATE = """Resources:
  Queue:
    Type: AWS::SQS::Queue
Outputs:
  QueueUrl:
    Value: !Ref Queue
"""
seen = {}


def expect_error(exception, call, **kwargs):
    try:
        call(**kwargs)
    except exception as error:
        return error.response["Error"]["Code"]
    sys.exit(f"{call.__name__} did not raise {exception.__name__}")


# Templates, synced from a linked repository as the CLI tutorial does it.
proton.create_repository(
    name="myrepos/templates", provider="GITHUB", connectionArn=CONNECTION
)
proton.create_environment_template(name="env-tpl")
proton.create_template_sync_config(
    templateName="env-tpl",
    templateType="ENVIRONMENT",
    repositoryName="myrepos/templates",
    repositoryProvider="GITHUB",
    branch="main",
)
proton.get_waiter("environment_template_version_registered").wait(
    templateName="env-tpl", majorVersion="1", minorVersion="0", WaiterConfig=FAST
)
proton.update_environment_template_version(
    templateName="env-tpl", majorVersion="1", minorVersion="0", status="PUBLISHED"
)
proton.create_service_template(name="svc-tpl")
proton.create_service_template_version(
    templateName="svc-tpl",
    source=SOURCE,
    compatibleEnvironmentTemplates=[{"templateName": "env-tpl", "majorVersion": "1"}],
    supportedComponentSources=["DIRECTLY_DEFINED"],
)
proton.get_waiter("service_template_version_registered").wait(
    templateName="svc-tpl", majorVersion="1", minorVersion="0", WaiterConfig=FAST
)
proton.update_service_template_version(
    templateName="svc-tpl", majorVersion="1", minorVersion="0", status="PUBLISHED"
)
proton.create_environment(
    name="dev",
    templateName="env-tpl",
    templateMajorVersion="1",
    spec="proton: EnvironmentSpec\n",
    protonServiceRoleArn=ROLE,
    componentRoleArn=ROLE,
)
proton.get_waiter("environment_deployed").wait(name="dev", WaiterConfig=FAST)
proton.create_service(
    name="web", templateName="svc-tpl", templateMajorVersion="1", spec=SPEC
)
proton.get_waiter("service_created").wait(name="web", WaiterConfig=FAST)

# A component attached to the instance; boto3 fills the client token.
created = proton.create_component(
    name="queue",
    serviceName="web",
    serviceInstanceName="web-dev",
    manifest=MANIFEST,
    templateFile=TEMPLATE,
)["component"]
seen["created_status"] = created["deploymentStatus"]
seen["token_filled"] = len(created.get("lastClientRequestToken", "")) > 0
proton.get_waiter("component_deployed").wait(name="queue", WaiterConfig=FAST)
deployed = proton.get_component(name="queue")["component"]
seen["deployed_status"] = deployed["deploymentStatus"]
seen["succeeded_is_attempted"] = (
    deployed["lastSucceededDeploymentId"] == deployed["lastAttemptedDeploymentId"]
)
seen["outputs"] = [
    o["key"]
    for page in proton.get_paginator("list_component_outputs").paginate(
        componentName="queue"
    )
    for o in page["outputs"]
]
seen["resources"] = [
    (r["name"], r["provisioningEngine"])
    for page in proton.get_paginator("list_component_provisioned_resources").paginate(
        componentName="queue"
    )
    for r in page["provisionedResources"]
]
seen["listed_for_instance"] = [
    c["name"]
    for c in proton.list_components(serviceName="web", serviceInstanceName="web-dev")[
        "components"
    ]
]
seen["attached_delete"] = expect_error(
    proton.exceptions.ConflictException, proton.delete_component, name="queue"
)
proton.update_component(
    name="queue",
    deploymentType="CURRENT_VERSION",
    serviceName="",
    serviceInstanceName="",
)
proton.get_waiter("component_deployed").wait(name="queue", WaiterConfig=FAST)
seen["deleting_status"] = proton.delete_component(name="queue")["component"][
    "deploymentStatus"
]
proton.get_waiter("component_deleted").wait(name="queue", WaiterConfig=FAST)
seen["deleted"] = expect_error(
    proton.exceptions.ResourceNotFoundException, proton.get_component, name="queue"
)

# Service sync and its blockers.
proton.create_service_sync_config(
    serviceName="web",
    repositoryName="myrepos/templates",
    repositoryProvider="GITHUB",
    branch="main",
    filePath="proton-ops.yaml",
)
proton.update_service(name="web", spec=SPEC)
blockers = proton.get_service_sync_blocker_summary(serviceName="web")[
    "serviceSyncBlockerSummary"
]["latestBlockers"]
seen["blockers"] = [b["status"] for b in blockers]
resolved = proton.update_service_sync_blocker(
    id=blockers[0]["id"], resolvedReason="pushed to Git"
)
seen["resolved"] = resolved["serviceSyncBlocker"]["status"]
seen["instance_sync"] = proton.get_service_instance_sync_status(
    serviceName="web", serviceInstanceName="web-dev"
)["latestSync"]["status"]
seen["repository_sync"] = proton.get_repository_sync_status(
    repositoryName="myrepos/templates",
    repositoryProvider="GITHUB",
    branch="main",
    syncType="TEMPLATE_SYNC",
)["latestSync"]["status"]
seen["definitions"] = [
    d["target"]
    for d in proton.list_repository_sync_definitions(
        repositoryName="myrepos/templates",
        repositoryProvider="GITHUB",
        syncType="SERVICE_SYNC",
    )["syncDefinitions"]
]
seen["repository_in_use"] = expect_error(
    proton.exceptions.ConflictException,
    proton.delete_repository,
    name="myrepos/templates",
    provider="GITHUB",
)
seen["repositories"] = [
    r["arn"]
    for page in proton.get_paginator("list_repositories").paginate()
    for r in page["repositories"]
]

# Account settings and the summary.
proton.update_account_settings(pipelineCodebuildRoleArn=ROLE)
seen["settings"] = proton.get_account_settings()["accountSettings"]
counts = proton.get_resources_summary()["counts"]
seen["counts"] = {k: v["total"] for k, v in counts.items()}

print(json.dumps(seen))
