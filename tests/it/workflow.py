"""A Proton program's whole life against the mock, with boto3, in the style
of the serverless sample templates: an environment (DynamoDB table and API
Gateway) in two stages, a Lambda service with a pipeline and an instance in
each, a new minor template version rolled out to one instance, outputs,
deployment history, a component, a spec that drops an instance, and the
clean-up. Run by tests/it/mock_workflows.rs as
`python3 workflow.py ENDPOINT_URL`; prints one JSON object of observations
and exits non-zero with a message on the first surprise."""

import json
import sys
import time

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
FAST = {"Delay": 0.2, "MaxAttempts": 50}
ROLE = "arn:aws:iam::123456789012:role/ProtonServiceRole"
SOURCE = {"s3": {"bucket": "proton-templates", "key": "my-lambda-service-template.tar.gz"}}
seen = {}


def wait(waiter, **kwargs):
    proton.get_waiter(waiter).wait(WaiterConfig=FAST, **kwargs)


def service_spec(stages):
    spec = 'proton: ServiceSpec\npipeline:\n  unit_test_command: "npm test"\ninstances:\n'
    for stage in stages:
        spec += (
            f'  - name: "crud-handlers-{stage}"\n'
            f'    environment: "serverless-{stage}"\n'
            "    spec:\n"
            '      lambda_memory: 256\n'
        )
    return spec


# Templates: the environment and the Lambda service, version 1.0 published.
proton.create_environment_template(name="serverless-env", displayName="DynamoDB and API Gateway")
proton.create_environment_template_version(
    templateName="serverless-env",
    source={"s3": {"bucket": "proton-templates", "key": "my-proton-environment-template.tar.gz"}},
)
wait("environment_template_version_registered", templateName="serverless-env", majorVersion="1", minorVersion="0")
proton.update_environment_template_version(
    templateName="serverless-env", majorVersion="1", minorVersion="0", status="PUBLISHED"
)
proton.create_service_template(name="lambda-crud-svc", displayName="Lambda CRUD handlers")


def service_version(major=None):
    extra = {"majorVersion": major} if major else {}
    created = proton.create_service_template_version(
        templateName="lambda-crud-svc",
        source=SOURCE,
        compatibleEnvironmentTemplates=[{"templateName": "serverless-env", "majorVersion": "1"}],
        supportedComponentSources=["DIRECTLY_DEFINED"],
        **extra,
    )["serviceTemplateVersion"]
    wait(
        "service_template_version_registered",
        templateName="lambda-crud-svc",
        majorVersion=created["majorVersion"],
        minorVersion=created["minorVersion"],
    )
    proton.update_service_template_version(
        templateName="lambda-crud-svc",
        majorVersion=created["majorVersion"],
        minorVersion=created["minorVersion"],
        status="PUBLISHED",
    )


service_version()

# Two stages of the environment.
for stage in ("dev", "prod"):
    proton.create_environment(
        name=f"serverless-{stage}",
        templateName="serverless-env",
        templateMajorVersion="1",
        protonServiceRoleArn=ROLE,
        componentRoleArn=ROLE,
        spec=f"proton: EnvironmentSpec\nspec:\n  table_name: items-{stage}\n",
    )
for stage in ("dev", "prod"):
    wait("environment_deployed", name=f"serverless-{stage}")

# The service, with its pipeline and an instance per stage.
proton.create_service(
    name="crud-api",
    templateName="lambda-crud-svc",
    templateMajorVersion="1",
    spec=service_spec(["dev", "prod"]),
)
wait("service_created", name="crud-api")
wait("service_pipeline_deployed", name="crud-api")
seen["pipeline_status"] = proton.get_service(name="crud-api")["service"]["pipeline"]["deploymentStatus"]
seen["instances"] = [
    i["name"] for i in proton.list_service_instances(serviceName="crud-api")["serviceInstances"]
]

# Version 1.1 of the service template, rolled out to the dev instance.
service_version(major="1")
proton.update_service_instance(
    serviceName="crud-api", name="crud-handlers-dev", deploymentType="MINOR_VERSION"
)
wait("service_instance_deployed", serviceName="crud-api", name="crud-handlers-dev")
instance = proton.get_service_instance(serviceName="crud-api", name="crud-handlers-dev")["serviceInstance"]
seen["instance_version"] = f'{instance["templateMajorVersion"]}.{instance["templateMinorVersion"]}'
deployments = proton.list_deployments(serviceName="crud-api", serviceInstanceName="crud-handlers-dev")[
    "deployments"
]
seen["instance_deployments"] = [d["deploymentStatus"] for d in deployments]
if deployments[0]["id"] != instance["lastSucceededDeploymentId"]:
    sys.exit("the newest deployment is not the instance's last successful one")
latest = proton.get_deployment(id=deployments[0]["id"])["deployment"]
seen["initial_version"] = latest["initialState"]["serviceInstance"]["templateMinorVersion"]

# The provisioning step reports the stack's outputs.
outputs = [{"key": "FunctionArn", "valueString": "arn:aws:lambda:us-east-1:123456789012:function:crud"}]
proton.notify_resource_deployment_status_change(resourceArn=instance["arn"], outputs=outputs)
seen["outputs"] = proton.list_service_instance_outputs(
    serviceName="crud-api", serviceInstanceName="crud-handlers-dev"
)["outputs"]

# A directly defined component next to the dev instance.
proton.create_component(
    name="items-cache",
    serviceName="crud-api",
    serviceInstanceName="crud-handlers-dev",
    manifest="infrastructure:\n  templates:\n    - file: cloudformation.yaml\n      rendering_engine: jinja\n      template_language: cloudformation\n",
    templateFile="Resources:\n  Cache:\n    Type: AWS::ElastiCache::ServerlessCache\n",
)
wait("component_deployed", name="items-cache")
seen["component"] = proton.get_component(name="items-cache")["component"]["deploymentStatus"]

# The spec drops the prod instance.
proton.update_service(name="crud-api", spec=service_spec(["dev"]))
wait("service_updated", name="crud-api")
seen["after_drop"] = [
    i["name"] for i in proton.list_service_instances(serviceName="crud-api")["serviceInstances"]
]
seen["environment_deployments"] = len(
    proton.list_deployments(environmentName="serverless-prod")["deployments"]
)
seen["summary_services"] = proton.get_resources_summary()["counts"]["services"]["total"]

# Proton's guardrails, as typed exceptions.
guardrails = {}


def refused(exception, call, **kwargs):
    try:
        call(**kwargs)
    except exception as error:
        return error.response["Error"]["Code"]
    sys.exit(f"{call.__name__} was not refused with {exception.__name__}")


guardrails["environment_with_instances"] = refused(
    proton.exceptions.ConflictException, proton.delete_environment, name="serverless-dev"
)
guardrails["version_in_use"] = refused(
    proton.exceptions.ConflictException,
    proton.delete_service_template_version,
    templateName="lambda-crud-svc",
    majorVersion="1",
    minorVersion="1",
)
guardrails["missing_environment"] = refused(
    proton.exceptions.ResourceNotFoundException,
    proton.create_service_instance,
    serviceName="crud-api",
    name="crud-handlers-qa",
    spec='proton: ServiceSpec\ninstances:\n  - name: crud-handlers-qa\n    environment: serverless-qa\n',
)
guardrails["unparsable_spec"] = refused(
    proton.exceptions.ValidationException,
    proton.update_service,
    name="crud-api",
    spec='proton: "ServiceSpec\n',
)
proton.update_service(name="crud-api", spec=service_spec(["dev"]))
guardrails["update_while_updating"] = refused(
    proton.exceptions.ConflictException, proton.update_service, name="crud-api", description="x"
)
wait("service_updated", name="crud-api")
seen["guardrails"] = guardrails

# Clean-up, in the order Proton requires.
proton.update_component(
    name="items-cache", deploymentType="CURRENT_VERSION", serviceName="", serviceInstanceName=""
)
wait("component_deployed", name="items-cache")
proton.delete_component(name="items-cache")
wait("component_deleted", name="items-cache")
proton.delete_service(name="crud-api")
wait("service_deleted", name="crud-api")
for stage in ("dev", "prod"):
    proton.delete_environment(name=f"serverless-{stage}")
for _ in range(100):
    if not proton.list_environments()["environments"]:
        break
    time.sleep(0.1)
for minor in ("0", "1"):  # the recommended version goes last
    proton.delete_service_template_version(
        templateName="lambda-crud-svc", majorVersion="1", minorVersion=minor
    )
proton.delete_service_template(name="lambda-crud-svc")
proton.delete_environment_template_version(
    templateName="serverless-env", majorVersion="1", minorVersion="0"
)
proton.delete_environment_template(name="serverless-env")
seen["cleaned_up"] = not any(
    [
        proton.list_environment_templates()["templates"],
        proton.list_service_templates()["templates"],
        proton.list_environments()["environments"],
        proton.list_services()["services"],
        proton.list_components()["components"],
    ]
)

print(json.dumps(seen))
