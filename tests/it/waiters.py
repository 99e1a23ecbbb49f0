"""Drives the Proton mock with boto3: the waiters a Proton program uses, and
the typed exceptions it catches. Run by tests/it/mock.rs as
`python3 waiters.py ENDPOINT_URL`; prints one JSON object of observations on
stdout and exits non-zero with a message on the first surprise."""

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
# The mock's lifecycles are short; poll every second instead of every 2-5 s.
FAST = {"Delay": 1, "MaxAttempts": 30}
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

print(json.dumps(seen))
