"""A Proton program in the style of the serverless sample templates (an
environment with a table and an API, a Lambda service with a pipeline):
bundles made with `tar -czf` of a folder, registered from S3 (mapped to the
archives by the mock's admin API), an environment, a service with a pipeline
and two instances, an instance update, outputs, the deployment history and
a component. Run by tests/it/mock_bundles.rs as
`python3 bundle_workflow.py ENDPOINT_URL WORK_DIR`; prints one JSON object of
observations and exits non-zero on the first surprise."""

import json
import pathlib
import sys
import tarfile
import urllib.request

import boto3
from botocore.config import Config

url, work = sys.argv[1], pathlib.Path(sys.argv[2])
proton = boto3.client(
    "proton",
    endpoint_url=url,
    region_name="us-east-1",
    aws_access_key_id="AKIDDUMMYCLIENT00000",
    aws_secret_access_key="dummy-client-secret-not-used",
    config=Config(retries={"max_attempts": 1}),
)
FAST = {"Delay": 1, "MaxAttempts": 30}
ROLE = "arn:aws:iam::123456789012:role/proton"
MANIFEST = "infrastructure:\n  templates:\n    - file: cloudformation.yaml\n      rendering_engine: jinja\n      template_language: cloudformation\n"
BUNDLES = {
    "environment": {
        "schema/schema.yaml": 'schema:\n  format:\n    openapi: "3.0.0"\n  environment_input_type: "ServerlessEnvironmentInput"\n  types:\n    ServerlessEnvironmentInput:\n      type: object\n      properties:\n        table_name:\n          type: string\n',
        "infrastructure/manifest.yaml": MANIFEST,
        "infrastructure/cloudformation.yaml": "Resources:\n  Table:\n    Type: AWS::DynamoDB::Table\n  Api:\n    Type: AWS::ApiGateway::RestApi\n",
    },
    "lambda-service": {
        "schema/schema.yaml": 'schema:\n  format:\n    openapi: "3.0.0"\n  service_input_type: "LambdaServiceInput"\n  pipeline_input_type: "PipelineInput"\n  types:\n    LambdaServiceInput:\n      type: object\n      properties:\n        handler:\n          type: string\n    PipelineInput:\n      type: object\n',
        "instance_infrastructure/manifest.yaml": MANIFEST,
        "instance_infrastructure/cloudformation.yaml": "Resources:\n  Handler:\n    Type: AWS::Lambda::Function\n",
        "pipeline_infrastructure/manifest.yaml": MANIFEST,
        "pipeline_infrastructure/cloudformation.yaml": "Resources:\n  Pipeline:\n    Type: AWS::CodePipeline::Pipeline\n",
    },
}
seen = {}


def admin(route, body):
    request = urllib.request.Request(
        f"{url}/__mock/{route}", data=json.dumps(body).encode(), method="POST"
    )
    with urllib.request.urlopen(request) as answer:
        return json.load(answer)


# tar -czf my-proton-environment-template.tar.gz environment/ (and the service).
for folder, files in BUNDLES.items():
    for name, text in files.items():
        path = work / folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    archive = work / f"{folder}.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(work / folder, arcname=folder)
    admin("bundles", {"s3": f"s3://proton-templates/{folder}.tar.gz", "path": str(archive)})

proton.create_environment_template(name="serverless-env", displayName="Serverless")
proton.create_environment_template_version(
    templateName="serverless-env",
    source={"s3": {"bucket": "proton-templates", "key": "environment.tar.gz"}},
)
proton.get_waiter("environment_template_version_registered").wait(
    templateName="serverless-env", majorVersion="1", minorVersion="0", WaiterConfig=FAST
)
version = proton.get_environment_template_version(
    templateName="serverless-env", majorVersion="1", minorVersion="0"
)["environmentTemplateVersion"]
seen["env_schema_input"] = "ServerlessEnvironmentInput" in version["schema"]
proton.update_environment_template_version(
    templateName="serverless-env", majorVersion="1", minorVersion="0", status="PUBLISHED"
)
proton.create_service_template(name="lambda-service")
proton.create_service_template_version(
    templateName="lambda-service",
    source={"s3": {"bucket": "proton-templates", "key": "lambda-service.tar.gz"}},
    compatibleEnvironmentTemplates=[{"templateName": "serverless-env", "majorVersion": "1"}],
    supportedComponentSources=["DIRECTLY_DEFINED"],
)
proton.get_waiter("service_template_version_registered").wait(
    templateName="lambda-service", majorVersion="1", minorVersion="0", WaiterConfig=FAST
)
proton.update_service_template_version(
    templateName="lambda-service", majorVersion="1", minorVersion="0", status="PUBLISHED"
)

proton.create_environment(
    name="dev",
    templateName="serverless-env",
    templateMajorVersion="1",
    spec="proton: EnvironmentSpec\nspec:\n  table_name: items\n",
    protonServiceRoleArn=ROLE,
    componentRoleArn=ROLE,
)
proton.get_waiter("environment_deployed").wait(name="dev", WaiterConfig=FAST)
spec = """proton: ServiceSpec
pipeline:
  unit_test_command: "make test"
instances:
  - name: "items-api"
    environment: "dev"
    spec:
      handler: "items.handler"
  - name: "orders-api"
    environment: "dev"
    spec:
      handler: "orders.handler"
"""
proton.create_service(
    name="handlers",
    templateName="lambda-service",
    templateMajorVersion="1",
    spec=spec,
    repositoryConnectionArn="arn:aws:codestar-connections:us-east-1:123456789012:connection/abc",
    repositoryId="me/handlers",
    branchName="main",
)
proton.get_waiter("service_created").wait(name="handlers", WaiterConfig=FAST)
seen["instances"] = sorted(
    i["name"] for i in proton.list_service_instances(serviceName="handlers")["serviceInstances"]
)
seen["pipeline"] = proton.get_service(name="handlers")["service"]["pipeline"]["deploymentStatus"]

# An instance update, and the outputs its stack reports.
proton.update_service_instance(
    serviceName="handlers",
    name="items-api",
    deploymentType="CURRENT_VERSION",
    spec=spec.replace("items.handler", "items.v2"),
)
proton.get_waiter("service_instance_deployed").wait(
    serviceName="handlers", name="items-api", WaiterConfig=FAST
)
instance = proton.get_service_instance(serviceName="handlers", name="items-api")[
    "serviceInstance"
]
admin(
    "outputs",
    {"resourceArn": instance["arn"], "outputs": [{"key": "ApiUrl", "valueString": "https://items.example"}]},
)
seen["outputs"] = proton.list_service_instance_outputs(
    serviceName="handlers", serviceInstanceName="items-api"
)["outputs"]
history = proton.list_deployments(serviceName="handlers", serviceInstanceName="items-api")[
    "deployments"
]
seen["instance_deployments"] = len(history)
seen["history_agrees"] = history[0]["id"] == instance["lastSucceededDeploymentId"]

# A component the developer attaches to one instance.
proton.create_component(
    name="items-queue",
    serviceName="handlers",
    serviceInstanceName="items-api",
    manifest=MANIFEST,
    templateFile="Resources:\n  Queue:\n    Type: AWS::SQS::Queue\nOutputs:\n  QueueUrl:\n    Value: !Ref Queue\n",
)
proton.get_waiter("component_deployed").wait(name="items-queue", WaiterConfig=FAST)
component = proton.get_component(name="items-queue")["component"]
seen["component_env"] = component["environmentName"]
seen["component_deployments"] = [
    d["targetResourceType"]
    for d in proton.list_deployments(componentName="items-queue")["deployments"]
]
seen["summary"] = {
    k: v["total"] for k, v in proton.get_resources_summary()["counts"].items()
}
print(json.dumps(seen))
