"""Drives the Proton mock with boto3: all ten waiters, on their success and
their failure branches (failures injected through the mock's admin API), the
typed exceptions a Proton program catches, and botocore's retries on
throttling. Run by tests/it/mock.rs as `python3 waiters.py ENDPOINT_URL`;
prints one JSON object of observations on stdout and exits non-zero with a
message on the first surprise."""

import json
import sys
import urllib.request

import boto3
from botocore.config import Config
from botocore.exceptions import WaiterError

url = sys.argv[1]
proton = boto3.client(
    "proton",
    endpoint_url=url,
    region_name="us-east-1",
    aws_access_key_id="AKIDDUMMYCLIENT00000",
    aws_secret_access_key="dummy-client-secret-not-used",
    config=Config(retries={"max_attempts": 1}),
)
# The mock's lifecycles are short; poll every second instead of every 2-5 s.
FAST = {"Delay": 0.25, "MaxAttempts": 40}
SOURCE = {"s3": {"bucket": "templates-bucket", "key": "bundle.tar.gz"}}
SPEC = """proton: ServiceSpec
pipeline:
  my_sample_pipeline_required_input: "hello"
instances:
  - name: "web-dev"
    environment: "dev"
    spec:
      my_sample_service_instance_required_input: "hi"
"""
seen = {}


def expect_error(exception, call, **kwargs):
    try:
        call(**kwargs)
    except exception as error:
        return error.response["Error"]["Message"]
    sys.exit(f"{call.__name__} did not raise {exception.__name__}")


proton.create_environment_template(name="env-tpl", displayName="VPC")
proton.create_environment_template_version(templateName="env-tpl", source=SOURCE)
proton.get_waiter("environment_template_version_registered").wait(
    templateName="env-tpl", majorVersion="1", minorVersion="0", WaiterConfig=FAST
)
proton.update_environment_template_version(
    templateName="env-tpl", majorVersion="1", minorVersion="0", status="PUBLISHED"
)
seen["env_template_recommended"] = proton.get_environment_template(name="env-tpl")[
    "environmentTemplate"
]["recommendedVersion"]

proton.create_service_template(name="svc-tpl")
proton.create_service_template_version(
    templateName="svc-tpl",
    source=SOURCE,
    compatibleEnvironmentTemplates=[{"templateName": "env-tpl", "majorVersion": "1"}],
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
    spec="proton: EnvironmentSpec\nspec: {}\n",
)
proton.get_waiter("environment_deployed").wait(name="dev", WaiterConfig=FAST)

service = dict(name="web", templateName="svc-tpl", templateMajorVersion="1", spec=SPEC)
seen["created_status"] = proton.create_service(**service)["service"]["status"]
proton.get_waiter("service_created").wait(name="web", WaiterConfig=FAST)
got = proton.get_service(name="web")["service"]
seen["service_status"] = got["status"]
seen["pipeline_status"] = got["pipeline"]["deploymentStatus"]
proton.get_waiter("service_instance_deployed").wait(
    serviceName="web", name="web-dev", WaiterConfig=FAST
)
seen["instance_environment"] = proton.get_service_instance(serviceName="web", name="web-dev")[
    "serviceInstance"
]["environmentName"]

seen["retry_status"] = proton.create_service(**service)["service"]["status"]
seen["mismatch"] = expect_error(
    proton.exceptions.ValidationException,
    proton.create_service,
    **dict(service, description="different"),
)
proton.update_service(name="web", description="changed")
seen["conflict"] = expect_error(proton.exceptions.ConflictException, proton.create_service, **service)

seen["deleting_status"] = proton.delete_service(name="web")["service"]["status"]
proton.get_waiter("service_deleted").wait(name="web", WaiterConfig=FAST)
seen["not_found"] = expect_error(
    proton.exceptions.ResourceNotFoundException, proton.get_service, name="web"
)
seen["delete_retry"] = {k: v for k, v in proton.delete_service(name="web").items() if k != "ResponseMetadata"}



# ---- failure branches: each waiter stops on its documented failure state ----

ARN = "arn:aws:proton:us-east-1:123456789012"


def admin(route, body):
    request = urllib.request.Request(
        url + "/__mock/" + route,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(request) as response:
        return json.load(response)


def fail_next(arn, on, message):
    admin("fail", {"resourceArn": arn, "on": on, "message": message})


def waiter_fails(waiter, **kwargs):
    """The waiter's failure branch: a WaiterError naming the failure state."""
    try:
        proton.get_waiter(waiter).wait(WaiterConfig=FAST, **kwargs)
    except WaiterError as error:
        if "terminal failure" not in str(error):
            sys.exit(f"{waiter} stopped without reaching a failure state: {error}")
        return error.last_response
    sys.exit(f"{waiter} succeeded where it should have failed")


failed = {}
fail_next(f"{ARN}:environment-template/env-tpl", "registration", "bad schema")
proton.create_environment_template_version(templateName="env-tpl", source=SOURCE)
last = waiter_fails(
    "environment_template_version_registered",
    templateName="env-tpl",
    majorVersion="2",
    minorVersion="0",
)
failed["EnvironmentTemplateVersionRegistered"] = last["environmentTemplateVersion"]["status"]
fail_next(f"{ARN}:service-template/svc-tpl", "registration", "bad schema")
proton.create_service_template_version(
    templateName="svc-tpl",
    source=SOURCE,
    compatibleEnvironmentTemplates=[{"templateName": "env-tpl", "majorVersion": "1"}],
)
last = waiter_fails(
    "service_template_version_registered",
    templateName="svc-tpl",
    majorVersion="2",
    minorVersion="0",
)
failed["ServiceTemplateVersionRegistered"] = last["serviceTemplateVersion"]["status"]

fail_next(f"{ARN}:environment/dev", "deployment", "VPC limit reached")
proton.update_environment(name="dev", deploymentType="CURRENT_VERSION")
last = waiter_fails("environment_deployed", name="dev")
failed["EnvironmentDeployed"] = last["environment"]["deploymentStatus"]
proton.update_environment(name="dev", deploymentType="CURRENT_VERSION")
proton.get_waiter("environment_deployed").wait(name="dev", WaiterConfig=FAST)

fail_next(f"{ARN}:service/broken", "deployment", "stack failed")
proton.create_service(**dict(service, name="broken"))
last = waiter_fails("service_created", name="broken")
failed["ServiceCreated"] = last["service"]["status"]

proton.create_service(**dict(service, name="api"))
proton.get_waiter("service_created").wait(name="api", WaiterConfig=FAST)
proton.get_waiter("service_pipeline_deployed").wait(name="api", WaiterConfig=FAST)
fail_next(f"{ARN}:service/api", "deployment", "update failed")
proton.update_service(name="api", spec=SPEC)
last = waiter_fails("service_updated", name="api")
failed["ServiceUpdated"] = last["service"]["status"]
proton.update_service(name="api", spec=SPEC)
proton.get_waiter("service_updated").wait(name="api", WaiterConfig=FAST)

fail_next(f"{ARN}:service/api/service-instance/web-dev", "deployment", "task failed")
proton.update_service_instance(serviceName="api", name="web-dev", deploymentType="CURRENT_VERSION")
last = waiter_fails("service_instance_deployed", serviceName="api", name="web-dev")
failed["ServiceInstanceDeployed"] = last["serviceInstance"]["deploymentStatus"]

pipeline_arn = proton.get_service(name="api")["service"]["pipeline"]["arn"]
fail_next(pipeline_arn, "deployment", "build failed")
proton.update_service_pipeline(serviceName="api", spec=SPEC, deploymentType="CURRENT_VERSION")
last = waiter_fails("service_pipeline_deployed", name="api")
failed["ServicePipelineDeployed"] = last["service"]["pipeline"]["deploymentStatus"]

fail_next(f"{ARN}:service/api", "delete", "stack deletion failed")
proton.delete_service(name="api")
last = waiter_fails("service_deleted", name="api")
failed["ServiceDeleted"] = last["service"]["status"]

# Components need an environment that allows them.
proton.update_environment(
    name="dev",
    deploymentType="NONE",
    componentRoleArn="arn:aws:iam::123456789012:role/components",
)
COMPONENT = dict(
    environmentName="dev",
    manifest="infrastructure:\n  templates:\n    - file: cloudformation.yaml\n      rendering_engine: jinja\n      template_language: cloudformation\n",
    templateFile="Resources: {}\n",
)
proton.create_component(name="cache", **COMPONENT)
proton.get_waiter("component_deployed").wait(name="cache", WaiterConfig=FAST)
fail_next(f"{ARN}:component/broken-cache", "deployment", "template invalid")
proton.create_component(name="broken-cache", **COMPONENT)
last = waiter_fails("component_deployed", name="broken-cache")
failed["ComponentDeployed"] = last["component"]["deploymentStatus"]
fail_next(f"{ARN}:component/cache", "delete", "bucket not empty")
proton.delete_component(name="cache")
last = waiter_fails("component_deleted", name="cache")
failed["ComponentDeleted"] = last["component"]["deploymentStatus"]
proton.delete_component(name="cache")
proton.get_waiter("component_deleted").wait(name="cache", WaiterConfig=FAST)
seen["failed"] = failed

# ---- botocore's retries: throttling is retried, a quota error is not ----

retrying = boto3.client(
    "proton",
    endpoint_url=url,
    region_name="us-east-1",
    aws_access_key_id="AKIDDUMMYCLIENT00000",
    aws_secret_access_key="dummy-client-secret-not-used",
    config=Config(retries={"mode": "standard", "max_attempts": 3}),
)
admin("fail-calls", {"operation": "ListServices", "error": "ThrottlingException", "count": 2})
response = retrying.list_services()
seen["throttled_attempts"] = response["ResponseMetadata"]["RetryAttempts"]
admin(
    "fail-calls",
    {
        "operation": "CreateService",
        "error": "ServiceQuotaExceededException",
        "count": 1,
        "message": "You have reached the limit of 1000 services",
    },
)
seen["quota"] = expect_error(
    retrying.exceptions.ServiceQuotaExceededException,
    retrying.create_service,
    **dict(service, name="one-too-many"),
)

print(json.dumps(seen))
