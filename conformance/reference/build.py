#!/usr/bin/env python3
"""Build the reference scenarios and cassettes for the AWS Proton idempotency contract.

Every request and response below is written by hand from public documentation:
the "Ensuring Idempotency" section of the AWS Proton API Reference, the action
pages of that reference, the sanitised AWS CLI output shown in the AWS Proton
User Guide, the botocore model (member names, required members, waiters) and the
public GitHub issues named in each file's sources. Nothing here is computed by
an emulator: the helpers only format documented resource shapes so that the same
resource looks the same in every interaction that shows it.

Usage:
    python3 conformance/reference/build.py          # (re)write the files
    python3 conformance/reference/build.py --check  # verify the files are current

Output (paths relative to the repository root):
    conformance/scenarios/<group>/<operation-kebab>--<rule>.json
    cassettes/proton/<group>/<operation-kebab>--<rule>.json
"""

import argparse
import hashlib
import json
import os
import re
import sys
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCENARIO_DIR = os.path.join(ROOT, "conformance", "scenarios")
CASSETTE_DIR = os.path.join(ROOT, "cassettes", "proton")

# --------------------------------------------------------------------------
# Fixed values (see conformance/README.md, "Interpretations")
# --------------------------------------------------------------------------

REGION = "us-east-1"
ACCOUNT = "123456789012"
# Only used by the environment account connection scenarios, where the calling
# account (ACCOUNT) plays the environment account.
MANAGEMENT_ACCOUNT = "111122223333"
ENDPOINT = f"https://proton.{REGION}.amazonaws.com"
RECORDED_AT = "2026-11-24T00:00:00.000Z"
BASE_EPOCH = 1795478400  # 2026-11-24T00:00:00Z; elapsed_ms 0 is this instant
TOOL = "proton-vcr 0.1.0"
CASSETTE_FORMAT = "proton-vcr.cassette/2"  # bodies are the exact bytes: the compact form of the JSON shown
TARGET_PREFIX = "AwsProton20200720"
ERROR_NAMESPACE = "com.amazonaws.proton.v20200720#"
CONTENT_TYPE = "application/x-amz-json-1.0"

POLL_MS = 30000            # no observation may fall between +1 s and +30 s
POLL_TIMEOUT_MS = 600000
ASYNC_DONE_MS = 30000      # an asynchronous transition completes 30 s after it starts
RETRY_GAP_MS = 400         # "immediate" retries: 300-500 ms after the original call
OBSERVE_GAP_MS = 800       # in-progress observations: at most 1000 ms after the action
STEP_GAP_MS = 1000         # ordinary gap between consecutive calls
AFTER_WAIT_GAP_MS = 250
TOKEN_EXPIRY_WAIT_MS = 8 * 3600 * 1000 + 60 * 1000   # 8 h + 1 min
TOMBSTONE_WAIT_MS = 2 * 3600 * 1000                 # twice the 1 h retention window

MISMATCH_MESSAGE = "Idempotent parameter mismatch"

# Realistic inputs: a serverless environment (DynamoDB table + API Gateway REST
# API) and a Lambda service template deployed into it.
ENV_TEMPLATE = "serverless-env"
ENV_TEMPLATE_DISPLAY = "Serverless environment"
ENV_TEMPLATE_DESC = "Shared DynamoDB table and API Gateway REST API for Lambda services"
ENV_TEMPLATE_DESC_UPDATED = "Shared DynamoDB table and API Gateway REST API with access logging"
ENV_TEMPLATE_DESC_OTHER = "DynamoDB table and HTTP API for Lambda services"

SVC_TEMPLATE = "lambda-crud-svc"
SVC_TEMPLATE_DISPLAY = "Lambda CRUD service"
SVC_TEMPLATE_DESC = "Lambda handlers behind the environment's REST API that read and write DynamoDB items"
SVC_TEMPLATE_DESC_UPDATED = "Lambda CRUD handlers with API Gateway proxy integration and DynamoDB access"
SVC_TEMPLATE_DESC_OTHER = "Container service behind an Application Load Balancer"

BUCKET = f"proton-templates-{ACCOUNT}-{REGION}"
ENV_V1_KEY = "serverless-env/serverless-env-v1.tar.gz"
ENV_V2_KEY = "serverless-env/serverless-env-v2.tar.gz"
SVC_V1_KEY = "lambda-crud-svc/lambda-crud-svc-v1.tar.gz"
SVC_V2_KEY = "lambda-crud-svc/lambda-crud-svc-v2.tar.gz"
ENV_V1_DESC = "DynamoDB table and REST API"
ENV_V2_DESC = "DynamoDB table with point-in-time recovery and REST API"
SVC_V1_DESC = "Create, read, update and delete handlers"
SVC_V1_DESC_OTHER = "Create, read, update and delete handlers with X-Ray tracing"
SVC_V2_DESC = "CRUD handlers with X-Ray tracing"

ENV_NAME = "dev-serverless"
ENV_DESC_UPDATED = "Development environment for the orders API"
SVC_NAME = "orders-api"
SVC_DESC = "Orders REST API backed by DynamoDB"
SVC_DESC_UPDATED = "Orders REST API (create, read, update, delete) backed by DynamoDB"
SERVICE_ROLE = f"arn:aws:iam::{ACCOUNT}:role/AWSProtonServiceRole"
CONNECTION_ROLE = f"arn:aws:iam::{ACCOUNT}:role/service-role/proton-dev-serverless-provisioning"
CONNECTION_ROLE_OTHER = f"arn:aws:iam::{ACCOUNT}:role/service-role/proton-dev-serverless-admin"

ENV_SPEC = (
    "proton: EnvironmentSpec\n"
    "spec:\n"
    "  table_name: \"orders\"\n"
    "  table_billing_mode: \"PAY_PER_REQUEST\"\n"
    "  api_stage_name: \"dev\"\n"
)
ENV_SPEC_OTHER = ENV_SPEC.replace("api_stage_name: \"dev\"", "api_stage_name: \"test\"")

SVC_SPEC = (
    "proton: ServiceSpec\n"
    "instances:\n"
    "  - name: \"orders-api-dev\"\n"
    "    environment: \"dev-serverless\"\n"
    "    spec:\n"
    "      lambda_runtime: \"python3.12\"\n"
    "      lambda_memory_size: 256\n"
    "      resource_path: \"orders\"\n"
)
SVC_SPEC_OTHER = SVC_SPEC.replace("lambda_memory_size: 256", "lambda_memory_size: 512")

# The `schema` member of a registered template version is the schema file of the
# template bundle stored at the version's S3 source. These are the schema files
# the scenarios assume the bundles contain.
ENV_V1_SCHEMA = (
    "schema:\n"
    "  format:\n"
    "    openapi: \"3.0.0\"\n"
    "  environment_input_type: \"ServerlessEnvironmentInput\"\n"
    "  types:\n"
    "    ServerlessEnvironmentInput:\n"
    "      type: object\n"
    "      description: \"Inputs for the shared DynamoDB table and REST API\"\n"
    "      properties:\n"
    "        table_name:\n"
    "          type: string\n"
    "          description: \"Name of the DynamoDB table\"\n"
    "        table_billing_mode:\n"
    "          type: string\n"
    "          description: \"DynamoDB billing mode\"\n"
    "          default: \"PAY_PER_REQUEST\"\n"
    "        api_stage_name:\n"
    "          type: string\n"
    "          description: \"API Gateway stage name\"\n"
    "          default: \"dev\"\n"
    "      required:\n"
    "        - table_name\n"
)
ENV_V2_SCHEMA = ENV_V1_SCHEMA.replace(
    "      required:\n",
    "        point_in_time_recovery:\n"
    "          type: boolean\n"
    "          description: \"Enable point-in-time recovery on the table\"\n"
    "          default: true\n"
    "      required:\n",
)
SVC_V1_SCHEMA = (
    "schema:\n"
    "  format:\n"
    "    openapi: \"3.0.0\"\n"
    "  service_input_type: \"LambdaCrudServiceInput\"\n"
    "  types:\n"
    "    LambdaCrudServiceInput:\n"
    "      type: object\n"
    "      description: \"Inputs for the Lambda CRUD handlers\"\n"
    "      properties:\n"
    "        lambda_runtime:\n"
    "          type: string\n"
    "          description: \"Lambda runtime of the handlers\"\n"
    "          default: \"python3.12\"\n"
    "        lambda_memory_size:\n"
    "          type: number\n"
    "          description: \"Memory size of each handler in MB\"\n"
    "          default: 128\n"
    "        resource_path:\n"
    "          type: string\n"
    "          description: \"REST API resource path served by the handlers\"\n"
    "      required:\n"
    "        - resource_path\n"
)
SVC_V2_SCHEMA = SVC_V1_SCHEMA.replace(
    "      required:\n",
    "        tracing_mode:\n"
    "          type: string\n"
    "          description: \"X-Ray tracing mode of the handlers\"\n"
    "          default: \"Active\"\n"
    "      required:\n",
)

COMPATIBLE = [{"majorVersion": "1", "templateName": ENV_TEMPLATE}]

# --------------------------------------------------------------------------
# Sources
# --------------------------------------------------------------------------

API_REF = "https://docs.aws.amazon.com/proton/latest/APIReference"
GUIDE = "https://docs.aws.amazon.com/proton/latest/userguide"
WELCOME = f"{API_REF}/Welcome.html"
BOTOCORE_MODEL = "https://github.com/boto/botocore/blob/develop/botocore/data/proton/2020-07-20/service-2.json"
BOTOCORE_WAITERS = "https://github.com/boto/botocore/blob/develop/botocore/data/proton/2020-07-20/waiters-2.json"
ISSUE_MISMATCH = "https://github.com/aws-samples/aws-proton-cloudformation-sample-templates/issues/58"
ISSUE_ERROR_BODY = "https://github.com/aws/aws-proton-public-roadmap/issues/79"
SMITHY_MODEL = "https://github.com/aws/api-models-aws/blob/main/models/proton/service/2020-07-20/proton-2020-07-20.json"

GUIDE_PAGE = {
    "CreateEnvironmentTemplate": "template-create",
    "CreateEnvironmentTemplateVersion": "template-create",
    "GetEnvironmentTemplateVersion": "template-create",
    "UpdateEnvironmentTemplateVersion": "template-create",
    "CreateServiceTemplate": "template-create",
    "CreateServiceTemplateVersion": "template-create",
    "GetServiceTemplateVersion": "template-create",
    "UpdateServiceTemplateVersion": "template-create",
    "GetEnvironmentTemplate": "template-view",
    "GetServiceTemplate": "template-view",
    "ListEnvironmentTemplates": "template-view",
    "ListServiceTemplates": "template-view",
    "ListEnvironmentTemplateVersions": "template-view",
    "ListServiceTemplateVersions": "template-view",
    "UpdateEnvironmentTemplate": "template-update",
    "UpdateServiceTemplate": "template-update",
    "DeleteEnvironmentTemplate": "template-delete",
    "DeleteEnvironmentTemplateVersion": "template-delete",
    "DeleteServiceTemplate": "template-delete",
    "DeleteServiceTemplateVersion": "template-delete",
    "CreateEnvironment": "ag-create-env",
    "GetEnvironment": "ag-env-view",
    "ListEnvironments": "ag-env-view",
    "UpdateEnvironment": "ag-env-update",
    "DeleteEnvironment": "ag-env-delete",
    "CreateService": "ag-create-svc",
    "GetService": "ag-svc-view",
    "ListServices": "ag-svc-view",
    "UpdateService": "ag-svc-update",
    "DeleteService": "ag-svc-delete",
    "CreateEnvironmentAccountConnection": "ag-env-account-connections",
    "GetEnvironmentAccountConnection": "ag-env-account-connections",
    "ListEnvironmentAccountConnections": "ag-env-account-connections",
    "DeleteEnvironmentAccountConnection": "ag-env-account-connections",
    "CreateServiceInstance": "ag-svc-instance-update",
    "UpdateServiceInstance": "ag-svc-instance-update",
    "GetServiceInstance": "ag-svc-instance-view",
    "ListServiceInstances": "ag-svc-instance-view",
    "CreateComponent": "ag-components",
    "UpdateComponent": "ag-components",
    "GetComponent": "ag-components",
    "ListComponents": "ag-components",
    "ListComponentOutputs": "ag-components",
    "ListComponentProvisionedResources": "ag-components",
    "DeleteComponent": "ag-components",
    "CreateRepository": "ag-create-repo",
    "GetRepository": "ag-repo-view",
    "ListRepositories": "ag-repo-view",
    "DeleteRepository": "ag-repo-delete",
    "CreateTemplateSyncConfig": "create-template-sync",
    "GetTemplateSyncConfig": "view-template-sync",
    "UpdateTemplateSyncConfig": "update-template-sync",
    "DeleteTemplateSyncConfig": "delete-template-sync",
    "CreateServiceSyncConfig": "create-service-sync",
    "GetServiceSyncConfig": "get-service-sync",
    "UpdateServiceSyncConfig": "update-service-sync",
    "DeleteServiceSyncConfig": "delete-service-sync",
    "GetAccountSettings": "ag-works-prov-methods",
    "UpdateAccountSettings": "ag-works-prov-methods",
    "GetResourcesSummary": "monitoring-dashboard",
}

# --------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------


def kebab(operation):
    return re.sub(r"(?<!^)(?=[A-Z])", "-", operation).lower()


def uuid4_from(*parts):
    """A fixed, well-formed UUID v4 derived from the given labels."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))


def ts(ms):
    """JSON timestamp (epoch seconds, millisecond precision) for ms after BASE_EPOCH."""
    seconds, millis = divmod(ms, 1000)
    return float(f"{BASE_EPOCH + seconds}.{millis:03d}")


def canonical(obj):
    return json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def error_body(name, message):
    return {"__type": ERROR_NAMESPACE + name, "message": message}


def arn(resource):
    return f"arn:aws:proton:{REGION}:{ACCOUNT}:{resource}"


ENV_TEMPLATE_ARN = arn(f"environment-template/{ENV_TEMPLATE}")
SVC_TEMPLATE_ARN = arn(f"service-template/{SVC_TEMPLATE}")
ENV_ARN = arn(f"environment/{ENV_NAME}")
SVC_ARN = arn(f"service/{SVC_NAME}")


def env_version_arn(major, minor):
    return f"{ENV_TEMPLATE_ARN}:{major}.{minor}"


def svc_version_arn(major, minor):
    return f"{SVC_TEMPLATE_ARN}:{major}.{minor}"


def connection_arn(cid):
    return arn(f"environment-account-connection/{cid}")


def not_found(kind, resource_arn):
    return ("ResourceNotFoundException", f"The requested {kind} does not exist: {resource_arn}")


# --------------------------------------------------------------------------
# Evidence: what each response path is asserted from
#
# Every interaction carries an `expect` block (see docs/cassette-format.md):
#   cite   JSON path (or `status`, `error`) -> the public source that shows it;
#          every value left in a response is cited, through itself or an
#          ancestor path.
#   paths  JSON path -> what the evidence cannot settle: "presence" required
#          (present with any value; the body holds no value there) or optional
#          (may be absent; when the body holds a value, a present value must
#          equal it), optionally "same_as"/"differs_from" a step number (the
#          value, whatever it is, must equal / differ from the one the target
#          gave at that step), and "why".
#   rule   on the steps that test the seed-000 rule: its id, the operation,
#          the role (under-test or check) and the paths that decide it.
# --------------------------------------------------------------------------


def guide_output(page, command):
    return f"{GUIDE}/{page}.html: {command} output"


def api_ref(op, what="output"):
    return f"{API_REF}/API_{op}.html: {what}"


def model_shape(shape, what="required member"):
    return f"{BOTOCORE_MODEL}: {shape} {what}"


# The documented output each operation's answers follow (members and how
# values relate to the request); None where no output is documented.
OUTPUT_SOURCE = {
    "CreateEnvironmentTemplate": guide_output("template-create", "create-environment-template"),
    "GetEnvironmentTemplate": api_ref("GetEnvironmentTemplate") + "; members as " + guide_output("template-create", "create-environment-template"),
    "UpdateEnvironmentTemplate": api_ref("UpdateEnvironmentTemplate") + "; members as " + guide_output("template-create", "create-environment-template"),
    "DeleteEnvironmentTemplate": guide_output("template-delete", "delete-environment-template"),
    "ListEnvironmentTemplates": guide_output("template-view", "list-environment-templates"),
    "CreateEnvironmentTemplateVersion": guide_output("template-create", "create-environment-template-version"),
    "GetEnvironmentTemplateVersion": guide_output("template-create", "get-environment-template-version") + "; " + guide_output("template-view", "get-environment-template-version"),
    "UpdateEnvironmentTemplateVersion": guide_output("template-create", "update-environment-template-version"),
    "DeleteEnvironmentTemplateVersion": guide_output("template-delete", "delete-environment-template-version"),
    "ListEnvironmentTemplateVersions": model_shape("EnvironmentTemplateVersionSummary") + " (no list output is documented)",
    "CreateServiceTemplate": guide_output("template-create", "create-service-template"),
    "GetServiceTemplate": guide_output("template-view", "get-service-template"),
    "UpdateServiceTemplate": api_ref("UpdateServiceTemplate") + "; members as " + guide_output("template-create", "create-service-template"),
    "DeleteServiceTemplate": api_ref("DeleteServiceTemplate") + "; members as " + guide_output("template-create", "create-service-template"),
    "ListServiceTemplates": model_shape("ServiceTemplateSummary") + " (no list output is documented)",
    "CreateServiceTemplateVersion": guide_output("template-create", "create-service-template-version"),
    "GetServiceTemplateVersion": guide_output("template-create", "get-service-template-version"),
    "UpdateServiceTemplateVersion": guide_output("template-create", "update-service-template-version"),
    "DeleteServiceTemplateVersion": guide_output("template-delete", "delete-service-template-version"),
    "ListServiceTemplateVersions": model_shape("ServiceTemplateVersionSummary") + " (no list output is documented)",
    "CreateEnvironment": guide_output("ag-create-env", "create-environment"),
    "GetEnvironment": guide_output("ag-env-view", "get-environment"),
    "UpdateEnvironment": guide_output("ag-env-update", "update-environment"),
    "DeleteEnvironment": guide_output("ag-env-delete", "delete-environment"),
    "ListEnvironments": model_shape("EnvironmentSummary") + " (no list output is documented)",
    "CreateService": guide_output("ag-create-svc", "create-service"),
    "GetService": guide_output("ag-svc-view", "get-service"),
    "UpdateService": guide_output("ag-svc-update", "update-service"),
    "DeleteService": guide_output("ag-svc-delete", "delete-service"),
    "ListServices": model_shape("ServiceSummary") + " (no list output is documented)",
    "CreateEnvironmentAccountConnection": guide_output("ag-env-account-connections", "create-environment-account-connection"),
    "GetEnvironmentAccountConnection": guide_output("ag-env-account-connections", "get-environment-account-connection"),
    "DeleteEnvironmentAccountConnection": guide_output("ag-env-account-connections", "delete-environment-account-connection"),
    "ListEnvironmentAccountConnections": model_shape("EnvironmentAccountConnectionSummary") + " (no list output is documented)",
    "CreateServiceInstance": model_shape("ServiceInstance") + " (no create-service-instance output is documented); values as "
    + guide_output("ag-svc-instance-update", "update-service-instance"),
    "UpdateServiceInstance": guide_output("ag-svc-instance-update", "update-service-instance"),
    "GetServiceInstance": guide_output("ag-svc-instance-view", "get-service-instance") + "; "
    + guide_output("ag-svc-instance-update", "get-service-instance"),
    "ListServiceInstances": guide_output("ag-svc-instance-view", "list-service-instances") + "; "
    + guide_output("ag-svc-update", "list-service-instances"),
    "CreateComponent": model_shape("Component") + " (no component output is documented)",
    "UpdateComponent": model_shape("Component") + " (no component output is documented)",
    "GetComponent": model_shape("Component") + " (no component output is documented)",
    "ListComponents": model_shape("ComponentSummary") + " (no list output is documented)",
    "ListComponentOutputs": api_ref("ListComponentOutputs"),
    "ListComponentProvisionedResources": api_ref("ListComponentProvisionedResources"),
    "DeleteComponent": model_shape("Component") + " (no component output is documented)",
    "CreateRepository": guide_output("ag-create-repo", "create-repository"),
    "GetRepository": guide_output("ag-repo-view", "get-repository"),
    "ListRepositories": guide_output("ag-repo-view", "list-repositories"),
    "DeleteRepository": guide_output("ag-repo-delete", "delete-repository"),
    "CreateTemplateSyncConfig": guide_output("create-template-sync", "create-template-sync-config"),
    "GetTemplateSyncConfig": guide_output("view-template-sync", "get-template-sync-config"),
    "UpdateTemplateSyncConfig": guide_output("update-template-sync", "update-template-sync-config"),
    "DeleteTemplateSyncConfig": guide_output("delete-template-sync", "delete-template-sync-config"),
    "CreateServiceSyncConfig": guide_output("create-service-sync", "create-service-sync-config"),
    "GetServiceSyncConfig": guide_output("get-service-sync", "get-service-sync-config"),
    "UpdateServiceSyncConfig": guide_output("update-service-sync", "update-service-sync-config"),
    "DeleteServiceSyncConfig": guide_output("delete-service-sync", "delete-service-sync-config"),
    "GetAccountSettings": api_ref("GetAccountSettings") + " (no output is documented)",
    "UpdateAccountSettings": api_ref("UpdateAccountSettings") + " (no output is documented)",
    "GetResourcesSummary": api_ref("GetResourcesSummary") + " (no output is documented)",
}

CITE_STATUS_OK = f"{API_REF}/CommonErrors.html: success is 200 (awsJson1_0)"
CITE_STATUS_ERROR = f"{API_REF}/CommonErrors.html and each action's Errors section: client errors are HTTP 400"
CITE_ERROR_TYPE = f"{ISSUE_ERROR_BODY}: the error body's __type with the com.amazonaws.proton.v20200720# namespace; the error name from the action's Errors section"
CITE_MISMATCH = f"{ISSUE_MISMATCH}: ValidationException text `Idempotent parameter mismatch`"
CITE_NOT_FOUND = f"{ISSUE_ERROR_BODY}: ResourceNotFoundException text `The requested <kind> does not exist: <arn>`"
CITE_RULE = f"{WELCOME}: Ensuring Idempotency"


def leaves(value, path="$"):
    if isinstance(value, dict) and value:
        for key, item in value.items():
            yield from leaves(item, f"{path}.{key}")
    elif isinstance(value, list) and value:
        for i, item in enumerate(value):
            yield from leaves(item, f"{path}[{i}]")
    else:
        yield path


def strip_path(body, path):
    """Removes the member at `path` (a `$.a.b[0].c` path) from `body`, if there."""
    parts = re.findall(r"\.([A-Za-z0-9_]+)|\[(\d+)\]", path[1:])
    node = body
    for i, (key, index) in enumerate(parts):
        last = i == len(parts) - 1
        if key:
            if not isinstance(node, dict) or key not in node:
                return
            if last:
                del node[key]
                return
            node = node[key]
        else:
            n = int(index)
            if not isinstance(node, list) or n >= len(node):
                return
            node = node[n]


# Members whose value is the request's, shown echoed by a documented output of another operation.
ECHOED = {
    "$.service.description": guide_output("ag-svc-update", "update-service") + " and "
    + guide_output("ag-svc-delete", "delete-service") + ": a set description is echoed",
}


def any_value(why, **identity):
    """Present with any value (the body holds none)."""
    return dict({"presence": "required", "why": why}, **identity)


def may_be_absent(why, **identity):
    """May be absent; a present value must equal the body's, when it holds one."""
    return dict({"presence": "optional", "why": why}, **identity)


WHY_DEPLOYMENT_IDS = (
    "The documented outputs predate the deployment-history members, so whether an answer carries "
    "lastAttemptedDeploymentId/lastSucceededDeploymentId is unknown (the botocore model has them, optional); "
    "their values are generated"
)


# --------------------------------------------------------------------------
# Documented resource shapes
#
# Members: those shown by the User Guide's CLI output for the same kind of
# response, plus every member the botocore model marks required. Optional
# members appear only when their value is known (no nulls).
# --------------------------------------------------------------------------


def env_template_doc(created, modified, description=ENV_TEMPLATE_DESC):
    return {
        "arn": ENV_TEMPLATE_ARN,
        "createdAt": ts(created),
        "description": description,
        "displayName": ENV_TEMPLATE_DISPLAY,
        "lastModifiedAt": ts(modified),
        "name": ENV_TEMPLATE,
    }


def svc_template_doc(created, modified, description=SVC_TEMPLATE_DESC):
    return {
        "arn": SVC_TEMPLATE_ARN,
        "createdAt": ts(created),
        "description": description,
        "displayName": SVC_TEMPLATE_DISPLAY,
        "lastModifiedAt": ts(modified),
        "name": SVC_TEMPLATE,
        "pipelineProvisioning": "CUSTOMER_MANAGED",
    }


def _version_doc(resource_arn, template, major, minor, created, modified, status, description,
                 registered, schema, recommended):
    doc = {
        "arn": resource_arn,
        "createdAt": ts(created),
        "description": description,
        "lastModifiedAt": ts(modified),
        "majorVersion": str(major),
        "minorVersion": str(minor),
        "status": status,
        "templateName": template,
    }
    if registered:
        doc["statusMessage"] = ""
    if schema is not None:
        doc["schema"] = schema
    if recommended is not None:
        doc["recommendedMinorVersion"] = recommended
    return doc


WHY_SCHEMA = (
    "The documented get output of a registered version shows schema, the schema file of the template "
    "bundle; its text depends on a bundle the scenario does not upload"
)
WHY_REGISTERED_MODIFIED = (
    "The documented examples disagree on whether registration moves lastModifiedAt "
    "(template-create: unchanged; template-view: moved)"
)
WHY_PUBLISHED_MODIFIED = (
    "The documented update-*-template-version examples disagree on whether publishing moves lastModifiedAt "
    "(environment template: moved; service template: unchanged)"
)
WHY_COMPONENT_DEPLOYED_MODIFIED = "Whether a finished deployment moves a component's lastModifiedAt is not documented"
WHY_SUMMARY_OPTIONAL = "An optional member of the summary shape in the botocore model; no list output is documented"
WHY_RECOMMENDED_DELETE = (
    "The documented get outputs of a DRAFT environment template version show recommendedMinorVersion \"0\"; "
    "the documented delete output (of a PUBLISHED version) leaves it out"
)


def registered_paths(prefix, *, published=False):
    """A version after registration: schema present (value unknown), lastModifiedAt unknown."""
    return {
        f"{prefix}.schema": any_value(WHY_SCHEMA),
        f"{prefix}.lastModifiedAt": any_value(WHY_PUBLISHED_MODIFIED if published else WHY_REGISTERED_MODIFIED),
    }


def version_summary_paths(prefix, *, registered, env):
    out = {
        f"{prefix}.description": may_be_absent(WHY_SUMMARY_OPTIONAL),
    }
    if registered:
        out[f"{prefix}.statusMessage"] = may_be_absent(WHY_SUMMARY_OPTIONAL)
        out[f"{prefix}.lastModifiedAt"] = any_value(WHY_REGISTERED_MODIFIED)
        if env:
            out[f"{prefix}.recommendedMinorVersion"] = may_be_absent(WHY_SUMMARY_OPTIONAL)
    return out


def deleted_version_paths(prefix, *, env):
    out = {f"{prefix}.lastModifiedAt": any_value(WHY_REGISTERED_MODIFIED)}
    if env:
        out[f"{prefix}.recommendedMinorVersion"] = may_be_absent(WHY_RECOMMENDED_DELETE)
    return out


CITE_DRAFT_RECOMMENDED = (
    guide_output("template-create", "get-environment-template-version") + " and "
    + guide_output("template-view", "get-environment-template-version")
    + ": both DRAFT examples show recommendedMinorVersion \"0\""
)


def env_version_doc(major, minor, created, modified, status, description, *, registered=False,
                    schema=None, recommended=None):
    if registered and status == "DRAFT" and recommended is None:
        recommended = str(minor)
    return _version_doc(env_version_arn(major, minor), ENV_TEMPLATE, major, minor, created, modified,
                        status, description, registered, schema, recommended)


def svc_version_doc(major, minor, created, modified, status, description, *, registered=False,
                    schema=None, recommended=None, summary=False):
    doc = _version_doc(svc_version_arn(major, minor), SVC_TEMPLATE, major, minor, created, modified,
                       status, description, registered, schema, recommended)
    if not summary:
        doc["compatibleEnvironmentTemplates"] = [dict(c) for c in COMPATIBLE]
    return doc


def environment_doc(created, status, *, spec=None, description=None, full=True, succeeded=True):
    """An environment answer. `full`: the members the documented get, update and delete outputs
    show; otherwise those of the documented create-environment output (no lastDeploymentSucceededAt,
    templateMajorVersion, templateMinorVersion). `succeeded`: a deployment has succeeded, so
    lastDeploymentSucceededAt is known (the documented get output of a finished environment
    shows it equal to lastDeploymentAttemptedAt)."""
    doc = {
        "arn": ENV_ARN,
        "createdAt": ts(created),
        "deploymentStatus": status,
        "lastDeploymentAttemptedAt": ts(created),
        "name": ENV_NAME,
        "protonServiceRoleArn": SERVICE_ROLE,
        "templateName": ENV_TEMPLATE,
    }
    if full:
        doc["templateMajorVersion"] = "1"
        doc["templateMinorVersion"] = "0"
        if succeeded:
            doc["lastDeploymentSucceededAt"] = ts(created)
    if spec is not None:
        doc["spec"] = spec
    if description is not None:
        doc["description"] = description
    return doc


def env_expect(*, create_step=None, succeeded_step=None, before_success=False, create_shape=False):
    """The environment members the evidence leaves open: the deployment ids (identity to the
    step that started the deployment, and to the step that saw it succeed), and, before the
    first success, lastDeploymentSucceededAt."""
    out = {
        "$.environment.lastAttemptedDeploymentId": may_be_absent(
            WHY_DEPLOYMENT_IDS + "; no new deployment was started since the create, so the same id",
            **({"same_as": create_step} if create_step else {})),
        "$.environment.lastSucceededDeploymentId": may_be_absent(
            WHY_DEPLOYMENT_IDS + "; the succeeded deployment is the create's",
            **({"same_as": succeeded_step} if succeeded_step else {})),
    }
    if before_success and not create_shape:
        out["$.environment.lastDeploymentSucceededAt"] = may_be_absent(
            "No documented output shows an environment before its first deployment succeeded; "
            "the botocore model marks the member required, the documented create output leaves it out")
    return out


def service_doc(created, modified, status, *, description=SVC_DESC, spec=None, summary=False):
    """A service answer. spec only where documented (get-service); the documented create-service,
    update-service and delete-service outputs leave it out."""
    doc = {
        "arn": SVC_ARN,
        "createdAt": ts(created),
        "description": description,
        "lastModifiedAt": ts(modified),
        "name": SVC_NAME,
        "status": status,
        "templateName": SVC_TEMPLATE,
    }
    if spec is not None and not summary:
        doc["spec"] = spec
    return doc


def connection_doc(cid, requested, *, role=CONNECTION_ROLE, status="PENDING"):
    return {
        "arn": connection_arn(cid),
        "environmentAccountId": ACCOUNT,
        "environmentName": ENV_NAME,
        "id": cid,
        "lastModifiedAt": ts(requested),
        "managementAccountId": MANAGEMENT_ACCOUNT,
        "requestedAt": ts(requested),
        "roleArn": role,
        "status": status,
    }



# --------------------------------------------------------------------------
# Scenario builder
# --------------------------------------------------------------------------


class Scenario:
    def __init__(self, group, operation, rule, summary):
        self.group = group
        self.operation = operation
        self.rule = rule
        self.summary = summary
        self.name = f"{group}/{kebab(operation)}--{rule}"
        self.clock = None           # elapsed_ms of the latest interaction
        self.steps = []
        self.interactions = []
        self.operations = []
        self.errors = set()
        self.polls = False
        self.rule_interactions = []

    # time -------------------------------------------------------------
    def _advance(self, gap, at):
        if self.clock is None:
            new = 0 if at is None else at
        elif at is not None:
            new = at
        else:
            new = self.clock + (STEP_GAP_MS if gap is None else gap)
        if self.clock is not None and new < self.clock:
            raise ValueError(f"{self.name}: elapsed_ms would go backwards")
        self.clock = new
        return new

    def server_ms(self, elapsed):
        """Server-side time of a request sent at `elapsed` (network + processing delay)."""
        digest = hashlib.sha256(f"{self.name}\x1f{elapsed}".encode("utf-8")).digest()
        return elapsed + 12 + digest[0] % 48

    # recording ------------------------------------------------------------
    def _record(self, operation, input_, status, body, note, expect=None, cite=None, rule=None):
        if operation not in self.operations:
            self.operations.append(operation)
        index = len(self.interactions)
        paths = dict(expect or {})
        for path, spec in paths.items():
            if spec["presence"] == "required":
                strip_path(body, path)
        cites = {"status": CITE_STATUS_OK if status == 200 else CITE_STATUS_ERROR}
        if status != 200:
            cites["error"] = CITE_ERROR_TYPE
        default = OUTPUT_SOURCE[operation]
        overrides = dict(ECHOED, **(cite or {}))
        for leaf in leaves(body):
            if leaf == "$" and body == {} and "$" not in overrides:
                cites["$"] = CITE_RULE + ": the retry's response is empty"
                continue
            if leaf in ("$.__type",):
                continue
            source = None
            for prefix in sorted(overrides, key=len, reverse=True):
                if leaf == prefix or leaf.startswith(prefix + ".") or leaf.startswith(prefix + "["):
                    source = overrides[prefix]
                    break
            cites[leaf] = source or default
        block = {"cite": cites}
        if paths:
            block["paths"] = paths
        if rule is not None:
            role, rule_paths = rule
            block["rule"] = {
                "id": f"{self.group}/{self.rule}",
                # A flow scenario tests each documented step for its own operation.
                "operation": operation if self.group == GROUP_FLOW else self.operation,
                "role": role,
                "paths": list(rule_paths),
                "source": CITE_RULE,
            }
            self.rule_interactions.append(index + 1)
        response = {
            "status": status,
            "headers": {
                "content-type": CONTENT_TYPE,
                "x-amzn-requestid": uuid4_from(self.name, "request", str(index)),
            },
            "body": {"json": body},
        }
        interaction = {
            "elapsed_ms": self.clock,
            "expect": block,
            "request": {
                "method": "POST",
                "uri": "/",
                "headers": {
                    "content-type": CONTENT_TYPE,
                    "x-amz-target": f"{TARGET_PREFIX}.{operation}",
                },
                "body": {"json": input_},
            },
            "response": response,
        }
        if note:
            interaction["note"] = note
        self.interactions.append(interaction)

    @property
    def last(self):
        """The step number (1-based interaction index) of the latest interaction."""
        return len(self.interactions)

    def call(self, operation, input_, body=None, *, error=None, note, step, gap=None, at=None,
             expect=None, cite=None, rule=None):
        """One request. `body` may be a function of the server time (ms after BASE_EPOCH)."""
        elapsed = self._advance(gap, at)
        now = self.server_ms(elapsed)
        if error is not None:
            name, message = error
            self.errors.add(name)
            status, payload = 400, error_body(name, message)
            cite = dict(cite or {})
            expect = dict(expect or {})
            if name == "ValidationException" and message == MISMATCH_MESSAGE:
                cite.setdefault("$.message", CITE_MISMATCH)
            elif "$.message" in expect:
                pass
            elif name == "ResourceNotFoundException":
                cite.setdefault("$.message", CITE_NOT_FOUND)
            else:
                expect.setdefault("$.message", any_value(
                    f"No public text exists for a {name} from this operation (EVIDENCE.md, Errors): "
                    "a message must be there, its words are unknown"))
        else:
            status, payload = 200, (body(now) if callable(body) else body)
        payload = json.loads(json.dumps(payload))
        self._record(operation, input_, status, payload, note, expect, cite, rule)
        entry = {"call": operation, "input": input_, "note": step}
        if error is not None:
            entry["expect_error"] = error[0]
        if rule is not None:
            entry["rule"] = rule[0]
        self.steps.append(entry)
        return now

    def poll(self, operation, input_, path, values, polls, *, step, rule=None, cite=None):
        """A polling step; `polls` is a list of (at, body, note[, expect[, cite]]) in time order.
        `rule` and `cite` apply to the last poll, the one that satisfies the condition."""
        self.polls = True
        for i, poll in enumerate(polls):
            at, body, note = poll[:3]
            expect = poll[3] if len(poll) > 3 else None
            own = poll[4] if len(poll) > 4 else None
            last = i == len(polls) - 1
            self._advance(None, at)
            self._record(operation, input_, 200, json.loads(json.dumps(body)), note, expect,
                         dict(own or {}, **((cite or {}) if last else {})), rule if last else None)
        self.steps.append({
            "call": operation,
            "input": input_,
            "until": {"path": path, "in": list(values)},
            "poll_ms": POLL_MS,
            "timeout_ms": POLL_TIMEOUT_MS,
            "note": step,
        })
        if rule is not None:
            self.steps[-1]["rule"] = rule[0]

    def wait(self, ms, *, step):
        self.clock += ms
        self.steps.append({"wait_ms": ms, "note": step})

    # output -----------------------------------------------------------------
    def sources(self):
        out = [WELCOME]
        for op in self.operations:
            out.append(f"{API_REF}/API_{op}.html")
        for op in self.operations:
            page = f"{GUIDE}/{GUIDE_PAGE[op]}.html"
            if page not in out:
                out.append(page)
        out.append(BOTOCORE_MODEL)
        if self.group == GROUP_MODEL:
            out.append(SMITHY_MODEL)
        if self.polls:
            out.append(BOTOCORE_WAITERS)
        if "ValidationException" in self.errors:
            out.append(ISSUE_MISMATCH)
        if self.errors:
            out.append(ISSUE_ERROR_BODY)
        return out

    def scenario_json(self):
        return {
            "format": "proton-vcr.scenario/1",
            "name": self.name,
            "group": self.group,
            "operation": self.operation,
            "rule": self.rule,
            "rule_id": f"{self.group}/{self.rule}",
            "summary": self.summary,
            "sources": self.sources(),
            "steps": self.steps,
        }

    def cassette_json(self):
        return {
            "format": CASSETTE_FORMAT,
            "name": self.name,
            "provenance": {
                "kind": "documented",
                "endpoint": ENDPOINT,
                "service": "proton",
                "region": REGION,
                "recorded_at": RECORDED_AT,
                "tool": TOOL,
                "sources": self.sources(),
            },
            "interactions": self.interactions,
        }


# --------------------------------------------------------------------------
# Documented fragments shared by several scenarios
# --------------------------------------------------------------------------

NOTE_VERSION_CREATED = (
    "Members as in the documented create-environment-template-version output: a new version starts "
    "in REGISTRATION_IN_PROGRESS, without schema or statusMessage."
)
NOTE_RECOMMENDED_ENV = (
    "recommendedMinorVersion \"0\" as both documented DRAFT environment template version examples show; "
    "schema is present with a value that depends on the bundle."
)
NOTE_RECOMMENDED_SVC = (
    "No recommendedMinorVersion, as the documented DRAFT service template version examples show; "
    "schema is present with a value that depends on the bundle."
)
NOTE_REGISTERED = (
    "Registration finished: status DRAFT, statusMessage \"\" and schema appear as in the documented "
    "get output; whether registration moves lastModifiedAt the examples disagree on. "
)
NOTE_CONFLICT_TEXT = (
    "The ConflictException message text is unevidenced (no public Proton ConflictException text "
    "exists for this operation); only the error type and status are documented."
)
NOTE_MISMATCH = (
    "Error text `Idempotent parameter mismatch` as reported for CreateEnvironment in "
    "aws-samples/aws-proton-cloudformation-sample-templates#58; status 400 as the API Reference "
    "lists for every client error."
)
NOTE_NOT_FOUND = (
    "Message pattern `The requested <kind> does not exist: <arn>` from the error body quoted in "
    "aws/aws-proton-public-roadmap#79."
)
NOTE_LIST_SHAPE = (
    "No list output for this operation is documented; the items use the summary shape's members "
    "with the values the resource has at this time."
)
NOTE_LIST_ORDER = "The order of the items is unevidenced (oldest first here)."
NOTE_RENUMBER = (
    "Whether Proton reuses the number of a deleted version is undocumented; with 2.0 still present the "
    "next major version is 3 either way."
)
NOTE_TIMESTAMPS_PUBLISH = (
    "Members, and lastModifiedAt moving to the time of the update, as in the documented "
    "update-environment-template-version output."
)


def create_env_template(s, *, step="setup: create the environment template", gap=None, at=None):
    return s.call(
        "CreateEnvironmentTemplate",
        {"description": ENV_TEMPLATE_DESC, "displayName": ENV_TEMPLATE_DISPLAY, "name": ENV_TEMPLATE},
        lambda now: {"environmentTemplate": env_template_doc(now, now)},
        note="Creates the environment template; members as in the documented create-environment-template output.",
        step=step, gap=gap, at=at,
    )


def create_svc_template(s, *, step="setup: create the service template (no service pipeline)", gap=None, at=None):
    return s.call(
        "CreateServiceTemplate",
        {
            "description": SVC_TEMPLATE_DESC,
            "displayName": SVC_TEMPLATE_DISPLAY,
            "name": SVC_TEMPLATE,
            "pipelineProvisioning": "CUSTOMER_MANAGED",
        },
        lambda now: {"serviceTemplate": svc_template_doc(now, now)},
        note=("Creates the service template without a service pipeline; members as in the documented "
              "create-service-template output with pipelineProvisioning CUSTOMER_MANAGED."),
        step=step, gap=gap, at=at,
    )


def env_version_input(token, key=ENV_V1_KEY, description=ENV_V1_DESC):
    return {
        "clientToken": token,
        "description": description,
        "source": {"s3": {"bucket": BUCKET, "key": key}},
        "templateName": ENV_TEMPLATE,
    }


def svc_version_input(token, key=SVC_V1_KEY, description=SVC_V1_DESC):
    return {
        "clientToken": token,
        "compatibleEnvironmentTemplates": [dict(c) for c in COMPATIBLE],
        "description": description,
        "source": {"s3": {"bucket": BUCKET, "key": key}},
        "templateName": SVC_TEMPLATE,
    }


def create_env_version(s, token, major, minor, *, key=ENV_V1_KEY, description=ENV_V1_DESC, note=None,
                       step, gap=None, at=None):
    return s.call(
        "CreateEnvironmentTemplateVersion",
        env_version_input(token, key, description),
        lambda now: {"environmentTemplateVersion": env_version_doc(
            major, minor, now, now, "REGISTRATION_IN_PROGRESS", description)},
        note=note or (f"Omitting majorVersion creates a new major version: {major}.{minor}. " + NOTE_VERSION_CREATED),
        step=step, gap=gap, at=at,
    )


def component_sources(s, body=None, prefix="$.serviceTemplateVersion"):
    """A scenario whose service template version supports directly defined components
    (`s.component_sources`): its request and answers carry supportedComponentSources.
    Returns (expect, cite) for an answer, after adding the member to `body`."""
    if not getattr(s, "component_sources", False):
        return None, None
    if body is not None:
        body["serviceTemplateVersion"]["supportedComponentSources"] = ["DIRECTLY_DEFINED"]
    return ({f"{prefix}.supportedComponentSources": may_be_absent(WHY_SOURCES)},
            {f"{prefix}.supportedComponentSources": CITE_SOURCES})


WHY_SOURCES = (
    "The documented service template version outputs are of versions created without supportedComponentSources; "
    "the botocore model has the member (optional): when present, it is the request's"
)
CITE_SOURCES = api_ref("CreateServiceTemplateVersion", "request supportedComponentSources") + " (the request's value)"


def create_svc_version(s, token, major, minor, *, key=SVC_V1_KEY, description=SVC_V1_DESC, note=None,
                       step, gap=None, at=None):
    input_ = svc_version_input(token, key, description)
    expect, cite = component_sources(s)
    if expect:
        input_["supportedComponentSources"] = ["DIRECTLY_DEFINED"]

    def body(now):
        out = {"serviceTemplateVersion": svc_version_doc(major, minor, now, now, "REGISTRATION_IN_PROGRESS",
                                                         description)}
        component_sources(s, out)
        return out

    return s.call(
        "CreateServiceTemplateVersion",
        input_,
        body, expect=expect, cite=cite,
        note=note or (f"Omitting majorVersion creates a new major version: {major}.{minor}. Members as in the "
                      "documented create-service-template-version output (the guide labels the member "
                      "serviceTemplateMinorVersion; the botocore model names it serviceTemplateVersion)."),
        step=step, gap=gap, at=at,
    )


def poll_env_version(s, create_at, created, major, minor, *, description=ENV_V1_DESC, schema=ENV_V1_SCHEMA,
                     step="wait until the version is registered (the EnvironmentTemplateVersionRegistered waiter's success states)"):
    s.poll(
        "GetEnvironmentTemplateVersion",
        {"majorVersion": str(major), "minorVersion": str(minor), "templateName": ENV_TEMPLATE},
        "environmentTemplateVersion.status", ["DRAFT", "PUBLISHED"],
        [
            (create_at + OBSERVE_GAP_MS,
             {"environmentTemplateVersion": env_version_doc(
                 major, minor, created, created, "REGISTRATION_IN_PROGRESS", description)},
             "First poll, shortly after the create: registration still in progress."),
            (create_at + OBSERVE_GAP_MS + POLL_MS,
             {"environmentTemplateVersion": env_version_doc(
                 major, minor, created, created, "DRAFT", description, registered=True, schema=schema)},
             NOTE_REGISTERED + NOTE_RECOMMENDED_ENV,
             registered_paths("$.environmentTemplateVersion")),
        ],
        step=step,
    )


def poll_svc_version(s, create_at, created, major, minor, *, description=SVC_V1_DESC, schema=SVC_V1_SCHEMA,
                     step="wait until the version is registered (the ServiceTemplateVersionRegistered waiter's success states)"):
    first = {"serviceTemplateVersion": svc_version_doc(
        major, minor, created, created, "REGISTRATION_IN_PROGRESS", description)}
    second = {"serviceTemplateVersion": svc_version_doc(
        major, minor, created, created, "DRAFT", description, registered=True, schema=schema)}
    expect, cite = component_sources(s, first)
    component_sources(s, second)
    s.poll(
        "GetServiceTemplateVersion",
        {"majorVersion": str(major), "minorVersion": str(minor), "templateName": SVC_TEMPLATE},
        "serviceTemplateVersion.status", ["DRAFT", "PUBLISHED"],
        [
            (create_at + OBSERVE_GAP_MS, first,
             "First poll, shortly after the create: registration still in progress.", expect, cite),
            (create_at + OBSERVE_GAP_MS + POLL_MS, second,
             NOTE_REGISTERED + NOTE_RECOMMENDED_SVC,
             dict(registered_paths("$.serviceTemplateVersion"), **(expect or {})), cite),
        ],
        step=step,
    )


def publish_env_version(s, created, *, step="setup: publish version 1.0 so that environments can be created from it"):
    return s.call(
        "UpdateEnvironmentTemplateVersion",
        {"majorVersion": "1", "minorVersion": "0", "status": "PUBLISHED", "templateName": ENV_TEMPLATE},
        lambda now: {"environmentTemplateVersion": env_version_doc(
            1, 0, created, now, "PUBLISHED", ENV_V1_DESC, registered=True, schema=ENV_V1_SCHEMA,
            recommended="0")},
        note=("Publishing the only (so highest) version makes it the recommended one: "
              "recommendedMinorVersion \"0\". " + NOTE_TIMESTAMPS_PUBLISH),
        expect=registered_paths("$.environmentTemplateVersion", published=True),
        step=step,
    )


def publish_svc_version(s, created, *, step="setup: publish version 1.0 so that services can be created from it"):
    expect, cite = component_sources(s)

    def body(now):
        out = {"serviceTemplateVersion": svc_version_doc(
            1, 0, created, now, "PUBLISHED", SVC_V1_DESC, registered=True, schema=SVC_V1_SCHEMA,
            recommended="0")}
        component_sources(s, out)
        return out

    return s.call(
        "UpdateServiceTemplateVersion",
        {"majorVersion": "1", "minorVersion": "0", "status": "PUBLISHED", "templateName": SVC_TEMPLATE},
        body, cite=cite,
        note=("Publishing the only (so highest) version makes it the recommended one: "
              "recommendedMinorVersion \"0\", members as in the documented update-service-template-version "
              "output. lastModifiedAt moves to the time of the update as in the documented environment "
              "template example (the service template example leaves it unchanged; unevidenced which is right)."),
        expect=dict(registered_paths("$.serviceTemplateVersion", published=True), **(expect or {})),
        step=step,
    )


def setup_published_env_template(s):
    """Environment template serverless-env with version 1.0 registered and published."""
    create_env_template(s)
    token = uuid4_from(s.name, "setup-env-version")
    created = create_env_version(s, token, 1, 0, step="setup: register version 1.0 of the environment template")
    create_at = s.clock
    poll_env_version(s, create_at, created, 1, 0,
                     step="setup: wait until version 1.0 is registered (EnvironmentTemplateVersionRegistered waiter's success states)")
    publish_env_version(s, created)


ENV_CREATE_INPUT = {
    "name": ENV_NAME,
    "protonServiceRoleArn": SERVICE_ROLE,
    "spec": ENV_SPEC,
    "templateMajorVersion": "1",
    "templateName": ENV_TEMPLATE,
}


def create_environment(s, *, step, note=None, gap=None, extra=None):
    expect = env_expect(create_shape=True)
    cite = {}
    if extra:
        for member in extra:
            expect[f"$.environment.{member}"] = may_be_absent(
                f"The documented create-environment outputs are of requests without {member}; the botocore model "
                "has the member (optional): when present, it is the request's")
            cite[f"$.environment.{member}"] = api_ref("CreateEnvironment", f"request {member}")
    return s.call(
        "CreateEnvironment", dict(ENV_CREATE_INPUT, **(extra or {})),
        lambda now: {"environment": dict(environment_doc(now, "IN_PROGRESS", full=False), **(extra or {}))},
        expect=expect, cite=cite,
        note=note or ("Creates the environment from the recommended minor version of major version 1 (1.0); "
                      "deployment IN_PROGRESS. Members exactly as in the documented create-environment output "
                      "(no lastDeploymentSucceededAt, templateMajorVersion or templateMinorVersion)."),
        step=step, gap=gap,
    )


def poll_environment(s, create_at, created, *, step, create_step, extra=None):
    """`extra`: request members the create sent beyond the usual ones; a Get may show them."""
    more = {}
    for member in extra or {}:
        more[f"$.environment.{member}"] = may_be_absent(
            f"The documented get-environment outputs are of environments created without {member}; the botocore "
            "model has the member (optional): when present, it is the request's")
    s.poll(
        "GetEnvironment", {"name": ENV_NAME}, "environment.deploymentStatus", ["SUCCEEDED"],
        [
            (create_at + OBSERVE_GAP_MS,
             {"environment": environment_doc(created, "IN_PROGRESS", spec=ENV_SPEC, succeeded=False)},
             "First poll, shortly after the create: deployment still IN_PROGRESS. GetEnvironment shows spec, as in the documented get-environment output.",
             dict(env_expect(create_step=create_step, before_success=True), **more)),
            (create_at + OBSERVE_GAP_MS + POLL_MS,
             {"environment": environment_doc(created, "SUCCEEDED", spec=ENV_SPEC)},
             ("Deployment SUCCEEDED (the EnvironmentDeployed waiter's success state). As in the documented "
              "get-environment output, lastDeploymentSucceededAt equals the deployment's lastDeploymentAttemptedAt."),
             dict(env_expect(create_step=create_step), **more)),
        ],
        step=step,
    )


def setup_environment(s):
    """Published environment template plus environment dev-serverless, deployed."""
    setup_published_env_template(s)
    created = create_environment(s, step="setup: create the environment")
    poll_environment(s, s.clock, created, create_step=s.last,
                     step="setup: wait until the environment is deployed (EnvironmentDeployed waiter's success state)")


def setup_published_svc_template(s):
    create_svc_template(s)
    token = uuid4_from(s.name, "setup-svc-version")
    created = create_svc_version(s, token, 1, 0,
                                 step="setup: register version 1.0 of the service template, compatible with serverless-env 1")
    create_at = s.clock
    poll_svc_version(s, create_at, created, 1, 0,
                     step="setup: wait until version 1.0 is registered (ServiceTemplateVersionRegistered waiter's success states)")
    publish_svc_version(s, created)


SVC_CREATE_INPUT = {
    "description": SVC_DESC,
    "name": SVC_NAME,
    "spec": SVC_SPEC,
    "templateMajorVersion": "1",
    "templateName": SVC_TEMPLATE,
}


def create_service(s, *, step, note=None):
    return s.call(
        "CreateService", dict(SVC_CREATE_INPUT),
        lambda now: {"service": service_doc(now, now, "CREATE_IN_PROGRESS")},
        note=note or ("Creates the service (one instance in dev-serverless, no pipeline): CREATE_IN_PROGRESS. "
                      "Members as in the documented create-service output without a pipeline (no spec), plus "
                      "description, which the documented update-service and delete-service outputs echo."),
        step=step,
    )


def poll_service(s, create_at, created, *, step):
    done = created + ASYNC_DONE_MS
    s.poll(
        "GetService", {"name": SVC_NAME}, "service.status", ["ACTIVE"],
        [
            (create_at + OBSERVE_GAP_MS,
             {"service": service_doc(created, created, "CREATE_IN_PROGRESS", spec=SVC_SPEC)},
             "First poll, shortly after the create: still CREATE_IN_PROGRESS. GetService shows spec, as in the documented get-service output."),
            (create_at + OBSERVE_GAP_MS + POLL_MS,
             {"service": service_doc(created, done, "ACTIVE", spec=SVC_SPEC)},
             ("ACTIVE (the ServiceCreated waiter's success state). As in the documented get-service output, "
              "lastModifiedAt moves when creation completes; the completion time (30 s after the create) "
              "is unevidenced.")),
        ],
        step=step,
    )
    return done


def setup_service(s):
    """Everything up to service orders-api, ACTIVE."""
    setup_environment(s)
    setup_published_svc_template(s)
    created = create_service(s, step="setup: create the service")
    done = poll_service(s, s.clock, created,
                        step="setup: wait until the service is ACTIVE (ServiceCreated waiter's success state)")
    return created, done


def create_connection(s, token, cid, *, role=CONNECTION_ROLE, step, note=None, gap=None, at=None, rule=None):
    now = s.call(
        "CreateEnvironmentAccountConnection",
        {
            "clientToken": token,
            "environmentName": ENV_NAME,
            "managementAccountId": MANAGEMENT_ACCOUNT,
            "roleArn": role,
        },
        lambda now: {"environmentAccountConnection": connection_doc(cid, now, role=role)},
        note=note or ("Creates a connection request from this (environment) account to the management account: "
                      "status PENDING, ARN with the environment account's ID, a new UUID id. Members as in the "
                      "documented create-environment-account-connection output."),
        step=step, gap=gap, at=at, rule=rule,
    )
    # The connection id is generated: later inputs name the one the target made.
    s.steps[-1]["captures"] = [{"path": "environmentAccountConnection.id", "written": cid}]
    return now


LIST_CONNECTIONS_INPUT = {"requestedBy": "ENVIRONMENT_ACCOUNT"}


# --------------------------------------------------------------------------
# Group client-token-create
# --------------------------------------------------------------------------

GROUP_TOKEN = "client-token-create"


def ct_env_version(rule):
    op = "CreateEnvironmentTemplateVersion"
    summaries = {
        "same-parameters": "A retry with the same client token and the same parameters returns the original version 1.0 and creates nothing: the version list still holds one version.",
        "different-parameters": "A retry with the same client token but a different source fails with ValidationException (Idempotent parameter mismatch) and creates nothing.",
        "token-expired": "A retry with the same client token more than 8 hours after the original request creates a new version (2.0) next to the original 1.0.",
        "retry-after-delete": "After the version the token created is deleted, a retry with the same client token creates a new version (3.0, numbered after the remaining 2.0).",
    }
    s = Scenario(GROUP_TOKEN, op, rule, summaries[rule])
    token = uuid4_from(s.name, "client-token")
    create_env_template(s)
    created = create_env_version(s, token, 1, 0, step="the original request, with a fixed client token")
    create_at = s.clock
    first = {"environmentTemplateVersion": env_version_doc(1, 0, created, created, "REGISTRATION_IN_PROGRESS", ENV_V1_DESC)}

    if rule == "same-parameters":
        s.call(op, env_version_input(token), first,
               note=("Same token, same parameters: the original version 1.0 (same ARN and createdAt), no new "
                     "version. Returned as it is now, still REGISTRATION_IN_PROGRESS."),
               rule=("under-test", ["status", "error", "$.environmentTemplateVersion.arn", "$.environmentTemplateVersion.createdAt"]), step="rule under test: retry with the same client token and parameters", gap=RETRY_GAP_MS)
        poll_env_version(s, create_at, created, 1, 0)
        s.call("ListEnvironmentTemplateVersions", {"templateName": ENV_TEMPLATE},
               {"templateVersions": [env_version_doc(1, 0, created, created, "DRAFT", ENV_V1_DESC, registered=True)]},
               note="Only version 1.0 exists: the retry created nothing. " + NOTE_LIST_SHAPE,
               rule=("check", ["status", "$.templateVersions[*].arn"]), expect=version_summary_paths("$.templateVersions[0]", registered=True, env=True), step="check: the template has exactly one version")
    elif rule == "different-parameters":
        s.call(op, env_version_input(token, key=ENV_V2_KEY), error=("ValidationException", MISMATCH_MESSAGE),
               note="Same token, different source.s3.key: rejected. " + NOTE_MISMATCH,
               rule=("under-test", ["status", "error"]), step="rule under test: retry with the same client token but a different template bundle",
               gap=RETRY_GAP_MS)
        s.call("ListEnvironmentTemplateVersions", {"templateName": ENV_TEMPLATE},
               {"templateVersions": [env_version_doc(1, 0, created, created, "REGISTRATION_IN_PROGRESS", ENV_V1_DESC)]},
               note="Only the original version 1.0 exists, still registering. " + NOTE_LIST_SHAPE,
               rule=("check", ["status", "$.templateVersions[*].arn"]), expect=version_summary_paths("$.templateVersions[0]", registered=False, env=True), step="check: the failed retry created no version", at=create_at + OBSERVE_GAP_MS)
    elif rule == "token-expired":
        poll_env_version(s, create_at, created, 1, 0)
        s.wait(TOKEN_EXPIRY_WAIT_MS, step="let the client token expire (8 hours after the request, plus 1 minute)")
        new = s.call(op, env_version_input(token),
                     lambda now: {"environmentTemplateVersion": env_version_doc(
                         2, 0, now, now, "REGISTRATION_IN_PROGRESS", ENV_V1_DESC)},
                     note=("The token has expired, so the same request creates a new resource. As the request has "
                           "no majorVersion it is a new major version, 2.0 (the next major after 1). "
                           + NOTE_VERSION_CREATED),
                     rule=("under-test", ["status", "error", "$.environmentTemplateVersion.arn", "$.environmentTemplateVersion.createdAt"]), step="rule under test: retry with the expired client token and the same parameters",
                     gap=AFTER_WAIT_GAP_MS)
        new_at = s.clock
        s.call("ListEnvironmentTemplateVersions", {"templateName": ENV_TEMPLATE},
               {"templateVersions": [
                   env_version_doc(1, 0, created, created, "DRAFT", ENV_V1_DESC, registered=True),
                   env_version_doc(2, 0, new, new, "REGISTRATION_IN_PROGRESS", ENV_V1_DESC),
               ]},
               note="Two versions now: the original 1.0 and the new 2.0. " + NOTE_LIST_SHAPE + " " + NOTE_LIST_ORDER,
               rule=("check", ["status", "$.templateVersions[*].arn"]), expect=dict(version_summary_paths("$.templateVersions[0]", registered=True, env=True), **version_summary_paths("$.templateVersions[1]", registered=False, env=True)), step="check: the template now has two versions", at=new_at + OBSERVE_GAP_MS)
    elif rule == "retry-after-delete":
        poll_env_version(s, create_at, created, 1, 0)
        other_token = uuid4_from(s.name, "client-token-2")
        other = create_env_version(s, other_token, 2, 0, key=ENV_V2_KEY, description=ENV_V2_DESC,
                                   step="setup: register a second major version (2.0) with another token, so that the numbering of the new resource does not depend on reuse of deleted numbers")
        poll_env_version(s, s.clock, other, 2, 0, description=ENV_V2_DESC, schema=ENV_V2_SCHEMA,
                         step="setup: wait until version 2.0 is registered")
        s.call("DeleteEnvironmentTemplateVersion",
               {"majorVersion": "1", "minorVersion": "0", "templateName": ENV_TEMPLATE},
               {"environmentTemplateVersion": env_version_doc(1, 0, created, created, "DRAFT", ENV_V1_DESC, registered=True)},
               note=("Deletes 1.0 (a DRAFT, not the recommended version; no other minor version of major 1). "
                     "Returns its metadata as in the documented delete-environment-template-version output "
                     "(statusMessage, no schema)."),
               expect=deleted_version_paths("$.environmentTemplateVersion", env=True), step="setup: delete the version the client token created")
        s.call("GetEnvironmentTemplateVersion",
               {"majorVersion": "1", "minorVersion": "0", "templateName": ENV_TEMPLATE},
               error=not_found("environment template version", env_version_arn(1, 0)),
               note="Version 1.0 is gone. " + NOTE_NOT_FOUND,
               step="check: version 1.0 no longer exists", gap=RETRY_GAP_MS)
        new = s.call(op, env_version_input(token),
                     lambda now: {"environmentTemplateVersion": env_version_doc(
                         3, 0, now, now, "REGISTRATION_IN_PROGRESS", ENV_V1_DESC)},
                     note=("The original resource was deleted, so the retry creates a new one: no majorVersion, "
                           "so a new major version after the highest existing one (2), i.e. 3.0. "
                           + NOTE_RENUMBER + " " + NOTE_VERSION_CREATED),
                     rule=("under-test", ["status", "error", "$.environmentTemplateVersion.arn", "$.environmentTemplateVersion.createdAt"]), step="rule under test: retry with the same client token and parameters (token not expired)")
        s.call("ListEnvironmentTemplateVersions", {"templateName": ENV_TEMPLATE},
               {"templateVersions": [
                   env_version_doc(2, 0, other, other, "DRAFT", ENV_V2_DESC, registered=True),
                   env_version_doc(3, 0, new, new, "REGISTRATION_IN_PROGRESS", ENV_V1_DESC),
               ]},
               note="Versions 2.0 and the new 3.0; 1.0 stays deleted. " + NOTE_LIST_SHAPE + " " + NOTE_LIST_ORDER,
               rule=("check", ["status", "$.templateVersions[*].arn"]), expect=dict(version_summary_paths("$.templateVersions[0]", registered=True, env=True), **version_summary_paths("$.templateVersions[1]", registered=False, env=True)), step="check: the retry created a new version", gap=OBSERVE_GAP_MS)
    return s


def ct_svc_version(rule):
    op = "CreateServiceTemplateVersion"
    summaries = {
        "same-parameters": "A retry with the same client token and the same parameters returns the original version 1.0 and creates nothing: the version list still holds one version.",
        "different-parameters": "A retry with the same client token but a different description fails with ValidationException (Idempotent parameter mismatch) and creates nothing.",
        "token-expired": "A retry with the same client token more than 8 hours after the original request creates a new version (2.0) next to the original 1.0.",
        "retry-after-delete": "After the version the token created is deleted, a retry with the same client token creates a new version (3.0, numbered after the remaining 2.0).",
    }
    s = Scenario(GROUP_TOKEN, op, rule, summaries[rule])
    token = uuid4_from(s.name, "client-token")
    setup_published_env_template(s)
    create_svc_template(s)
    created = create_svc_version(s, token, 1, 0, step="the original request, with a fixed client token")
    create_at = s.clock
    first = {"serviceTemplateVersion": svc_version_doc(1, 0, created, created, "REGISTRATION_IN_PROGRESS", SVC_V1_DESC)}

    if rule == "same-parameters":
        s.call(op, svc_version_input(token), first,
               note=("Same token, same parameters: the original version 1.0 (same ARN and createdAt), no new "
                     "version. Returned as it is now, still REGISTRATION_IN_PROGRESS."),
               rule=("under-test", ["status", "error", "$.serviceTemplateVersion.arn", "$.serviceTemplateVersion.createdAt"]), step="rule under test: retry with the same client token and parameters", gap=RETRY_GAP_MS)
        poll_svc_version(s, create_at, created, 1, 0)
        s.call("ListServiceTemplateVersions", {"templateName": SVC_TEMPLATE},
               {"templateVersions": [svc_version_doc(1, 0, created, created, "DRAFT", SVC_V1_DESC, registered=True, summary=True)]},
               note="Only version 1.0 exists: the retry created nothing. " + NOTE_LIST_SHAPE,
               rule=("check", ["status", "$.templateVersions[*].arn"]), expect=version_summary_paths("$.templateVersions[0]", registered=True, env=False), step="check: the template has exactly one version")
    elif rule == "different-parameters":
        s.call(op, svc_version_input(token, description=SVC_V1_DESC_OTHER),
               error=("ValidationException", MISMATCH_MESSAGE),
               note="Same token, different description: rejected. " + NOTE_MISMATCH,
               rule=("under-test", ["status", "error"]), step="rule under test: retry with the same client token but a different description",
               gap=RETRY_GAP_MS)
        s.call("ListServiceTemplateVersions", {"templateName": SVC_TEMPLATE},
               {"templateVersions": [svc_version_doc(1, 0, created, created, "REGISTRATION_IN_PROGRESS", SVC_V1_DESC, summary=True)]},
               note="Only the original version 1.0 exists, still registering. " + NOTE_LIST_SHAPE,
               rule=("check", ["status", "$.templateVersions[*].arn"]), expect=version_summary_paths("$.templateVersions[0]", registered=False, env=False), step="check: the failed retry created no version", at=create_at + OBSERVE_GAP_MS)
    elif rule == "token-expired":
        poll_svc_version(s, create_at, created, 1, 0)
        s.wait(TOKEN_EXPIRY_WAIT_MS, step="let the client token expire (8 hours after the request, plus 1 minute)")
        new = s.call(op, svc_version_input(token),
                     lambda now: {"serviceTemplateVersion": svc_version_doc(
                         2, 0, now, now, "REGISTRATION_IN_PROGRESS", SVC_V1_DESC)},
                     note=("The token has expired, so the same request creates a new resource. As the request has "
                           "no majorVersion it is a new major version, 2.0 (the next major after 1)."),
                     rule=("under-test", ["status", "error", "$.serviceTemplateVersion.arn", "$.serviceTemplateVersion.createdAt"]), step="rule under test: retry with the expired client token and the same parameters",
                     gap=AFTER_WAIT_GAP_MS)
        new_at = s.clock
        s.call("ListServiceTemplateVersions", {"templateName": SVC_TEMPLATE},
               {"templateVersions": [
                   svc_version_doc(1, 0, created, created, "DRAFT", SVC_V1_DESC, registered=True, summary=True),
                   svc_version_doc(2, 0, new, new, "REGISTRATION_IN_PROGRESS", SVC_V1_DESC, summary=True),
               ]},
               note="Two versions now: the original 1.0 and the new 2.0. " + NOTE_LIST_SHAPE + " " + NOTE_LIST_ORDER,
               rule=("check", ["status", "$.templateVersions[*].arn"]), expect=dict(version_summary_paths("$.templateVersions[0]", registered=True, env=False), **version_summary_paths("$.templateVersions[1]", registered=False, env=False)), step="check: the template now has two versions", at=new_at + OBSERVE_GAP_MS)
    elif rule == "retry-after-delete":
        poll_svc_version(s, create_at, created, 1, 0)
        other_token = uuid4_from(s.name, "client-token-2")
        other = create_svc_version(s, other_token, 2, 0, key=SVC_V2_KEY, description=SVC_V2_DESC,
                                   step="setup: register a second major version (2.0) with another token, so that the numbering of the new resource does not depend on reuse of deleted numbers")
        poll_svc_version(s, s.clock, other, 2, 0, description=SVC_V2_DESC, schema=SVC_V2_SCHEMA,
                         step="setup: wait until version 2.0 is registered")
        s.call("DeleteServiceTemplateVersion",
               {"majorVersion": "1", "minorVersion": "0", "templateName": SVC_TEMPLATE},
               {"serviceTemplateVersion": svc_version_doc(1, 0, created, created, "DRAFT", SVC_V1_DESC, registered=True)},
               note=("Deletes 1.0 (a DRAFT, not the recommended version; no other minor version of major 1). "
                     "Returns its metadata as in the documented delete-service-template-version output "
                     "(statusMessage, no schema)."),
               expect=deleted_version_paths("$.serviceTemplateVersion", env=False), step="setup: delete the version the client token created")
        s.call("GetServiceTemplateVersion",
               {"majorVersion": "1", "minorVersion": "0", "templateName": SVC_TEMPLATE},
               error=not_found("service template version", svc_version_arn(1, 0)),
               note="Version 1.0 is gone. " + NOTE_NOT_FOUND + " That issue quotes this very kind of resource.",
               step="check: version 1.0 no longer exists", gap=RETRY_GAP_MS)
        new = s.call(op, svc_version_input(token),
                     lambda now: {"serviceTemplateVersion": svc_version_doc(
                         3, 0, now, now, "REGISTRATION_IN_PROGRESS", SVC_V1_DESC)},
                     note=("The original resource was deleted, so the retry creates a new one: no majorVersion, "
                           "so a new major version after the highest existing one (2), i.e. 3.0. " + NOTE_RENUMBER),
                     rule=("under-test", ["status", "error", "$.serviceTemplateVersion.arn", "$.serviceTemplateVersion.createdAt"]), step="rule under test: retry with the same client token and parameters (token not expired)")
        s.call("ListServiceTemplateVersions", {"templateName": SVC_TEMPLATE},
               {"templateVersions": [
                   svc_version_doc(2, 0, other, other, "DRAFT", SVC_V2_DESC, registered=True, summary=True),
                   svc_version_doc(3, 0, new, new, "REGISTRATION_IN_PROGRESS", SVC_V1_DESC, summary=True),
               ]},
               note="Versions 2.0 and the new 3.0; 1.0 stays deleted. " + NOTE_LIST_SHAPE + " " + NOTE_LIST_ORDER,
               rule=("check", ["status", "$.templateVersions[*].arn"]), expect=dict(version_summary_paths("$.templateVersions[0]", registered=True, env=False), **version_summary_paths("$.templateVersions[1]", registered=False, env=False)), step="check: the retry created a new version", gap=OBSERVE_GAP_MS)
    return s


def ct_connection(rule):
    op = "CreateEnvironmentAccountConnection"
    summaries = {
        "same-parameters": "A retry with the same client token and the same parameters returns the original PENDING connection (same id) and creates nothing: the list still holds one connection.",
        "different-parameters": "A retry with the same client token but a different role fails with ValidationException (Idempotent parameter mismatch) and creates nothing.",
        "token-expired": "A retry with the same client token more than 8 hours after the original request creates a second connection with a new id.",
        "retry-after-delete": "After the connection the token created is deleted, a retry with the same client token creates a new connection with a new id.",
    }
    s = Scenario(GROUP_TOKEN, op, rule, summaries[rule])
    token = uuid4_from(s.name, "client-token")
    cid = uuid4_from(s.name, "connection-1")
    created = create_connection(s, token, cid, step="the original request, with a fixed client token")
    original = {"environmentAccountConnection": connection_doc(cid, created)}
    list_note = (" No list output is documented: the items use the summary shape's members with the values "
                 "the documented get output shows.")

    if rule == "same-parameters":
        s.call(op, {"clientToken": token, "environmentName": ENV_NAME, "managementAccountId": MANAGEMENT_ACCOUNT,
                    "roleArn": CONNECTION_ROLE}, original,
               note="Same token, same parameters: the original connection (same id, requestedAt), no new one.",
               rule=("under-test", ["status", "error", "$.environmentAccountConnection.id", "$.environmentAccountConnection.arn", "$.environmentAccountConnection.requestedAt"]), step="rule under test: retry with the same client token and parameters", gap=RETRY_GAP_MS)
        s.call("ListEnvironmentAccountConnections", dict(LIST_CONNECTIONS_INPUT),
               {"environmentAccountConnections": [connection_doc(cid, created)]},
               note="Exactly one connection requested by this account." + list_note,
               rule=("check", ["status", "$.environmentAccountConnections[*].id", "$.environmentAccountConnections[*].roleArn"]), step="check: the account has exactly one connection", gap=RETRY_GAP_MS)
    elif rule == "different-parameters":
        s.call(op, {"clientToken": token, "environmentName": ENV_NAME, "managementAccountId": MANAGEMENT_ACCOUNT,
                    "roleArn": CONNECTION_ROLE_OTHER},
               error=("ValidationException", MISMATCH_MESSAGE),
               note="Same token, different roleArn: rejected. " + NOTE_MISMATCH,
               rule=("under-test", ["status", "error"]), step="rule under test: retry with the same client token but a different role", gap=RETRY_GAP_MS)
        s.call("ListEnvironmentAccountConnections", dict(LIST_CONNECTIONS_INPUT),
               {"environmentAccountConnections": [connection_doc(cid, created)]},
               note="Only the original connection exists, with the original role." + list_note,
               rule=("check", ["status", "$.environmentAccountConnections[*].id", "$.environmentAccountConnections[*].roleArn"]), step="check: the failed retry created no connection", gap=RETRY_GAP_MS)
    elif rule == "token-expired":
        s.wait(TOKEN_EXPIRY_WAIT_MS, step="let the client token expire (8 hours after the request, plus 1 minute)")
        cid2 = uuid4_from(s.name, "connection-2")
        new = create_connection(s, token, cid2,
                                note=("The token has expired, so the same request creates a new connection: new id "
                                      "and ARN, new requestedAt, PENDING. No documented limit stops a second "
                                      "connection for the same environment name (quota: 5 per environment account)."),
                                rule=("under-test", ["status", "error", "$.environmentAccountConnection.id", "$.environmentAccountConnection.arn", "$.environmentAccountConnection.requestedAt"]), step="rule under test: retry with the expired client token and the same parameters",
                                gap=AFTER_WAIT_GAP_MS)
        s.call("ListEnvironmentAccountConnections", dict(LIST_CONNECTIONS_INPUT),
               {"environmentAccountConnections": [connection_doc(cid, created), connection_doc(cid2, new)]},
               note="Two connections now." + list_note + " " + NOTE_LIST_ORDER,
               rule=("check", ["status", "$.environmentAccountConnections[*].id", "$.environmentAccountConnections[*].roleArn"]), step="check: the account now has two connections", gap=RETRY_GAP_MS)
    elif rule == "retry-after-delete":
        s.call("DeleteEnvironmentAccountConnection", {"id": cid}, original,
               note=("Deletes the PENDING connection from the environment account; returns its metadata as in the "
                     "documented delete-environment-account-connection output (status and lastModifiedAt as before "
                     "the delete)."),
               step="setup: delete the connection the client token created")
        s.call("GetEnvironmentAccountConnection", {"id": cid},
               error=not_found("environment account connection", connection_arn(cid)),
               note=("The connection is gone. " + NOTE_NOT_FOUND + " Naming the connection by ARN rather than id "
                     "is unevidenced."),
               step="check: the connection no longer exists", gap=RETRY_GAP_MS)
        cid2 = uuid4_from(s.name, "connection-2")
        new = create_connection(s, token, cid2,
                                note=("The original connection was deleted, so the retry creates a new one: new id "
                                      "and ARN, new requestedAt, PENDING."),
                                rule=("under-test", ["status", "error", "$.environmentAccountConnection.id", "$.environmentAccountConnection.arn", "$.environmentAccountConnection.requestedAt"]), step="rule under test: retry with the same client token and parameters (token not expired)")
        s.call("ListEnvironmentAccountConnections", dict(LIST_CONNECTIONS_INPUT),
               {"environmentAccountConnections": [connection_doc(cid2, new)]},
               note="Only the new connection exists." + list_note,
               rule=("check", ["status", "$.environmentAccountConnections[*].id", "$.environmentAccountConnections[*].roleArn"]), step="check: only the new connection exists", gap=RETRY_GAP_MS)
    return s


# --------------------------------------------------------------------------
# Group idempotent-create
# --------------------------------------------------------------------------

GROUP_CREATE = "idempotent-create"

ENV_TEMPLATE_INPUT = {"description": ENV_TEMPLATE_DESC, "displayName": ENV_TEMPLATE_DISPLAY, "name": ENV_TEMPLATE}
SVC_TEMPLATE_INPUT = {"description": SVC_TEMPLATE_DESC, "displayName": SVC_TEMPLATE_DISPLAY, "name": SVC_TEMPLATE,
                      "pipelineProvisioning": "CUSTOMER_MANAGED"}


def ic_env_template(rule):
    op = "CreateEnvironmentTemplate"
    summaries = {
        "same-parameters": "Retrying the create of an unmodified environment template returns the original template and creates nothing.",
        "resource-modified": "After the template's description is updated, retrying the original create fails with ConflictException.",
        "different-parameters": "Retrying the create with a different description fails with ValidationException (Idempotent parameter mismatch) and leaves the template unchanged.",
    }
    s = Scenario(GROUP_CREATE, op, rule, summaries[rule])
    created = create_env_template(s, step="the original request")
    original = {"environmentTemplate": env_template_doc(created, created)}
    if rule == "same-parameters":
        s.call(op, dict(ENV_TEMPLATE_INPUT), original,
               note="Unmodified template, same parameters: the original template (same createdAt), nothing created.",
               rule=("under-test", ["status", "error", "$.environmentTemplate.arn", "$.environmentTemplate.createdAt"]),
               step="rule under test: retry with the same parameters", gap=RETRY_GAP_MS)
        s.call("ListEnvironmentTemplates", {},
               {"templates": [env_template_doc(created, created)]},
               note="Exactly one environment template; members as in the documented list-environment-templates output (no recommendedVersion: nothing is published).",
               rule=("check", ["status", "$.templates[*].arn"]),
               step="check: the account has exactly one environment template", gap=RETRY_GAP_MS)
    elif rule == "resource-modified":
        updated = s.call("UpdateEnvironmentTemplate", {"description": ENV_TEMPLATE_DESC_UPDATED, "name": ENV_TEMPLATE},
                         lambda now: {"environmentTemplate": env_template_doc(created, now, ENV_TEMPLATE_DESC_UPDATED)},
                         note="Edits the description; lastModifiedAt moves to the update.",
                         step="setup: modify the template (new description)")
        s.call(op, dict(ENV_TEMPLATE_INPUT),
               error=("ConflictException", f"Environment template {ENV_TEMPLATE} has been modified since it was created"),
               note=("Same parameters as the original create, but the template was modified since: ConflictException, "
                     "status 400. " + NOTE_CONFLICT_TEXT),
               rule=("under-test", ["status", "error"]),
               step="rule under test: retry the original create after the modification", gap=RETRY_GAP_MS)
        s.call("GetEnvironmentTemplate", {"name": ENV_TEMPLATE},
               {"environmentTemplate": env_template_doc(created, updated, ENV_TEMPLATE_DESC_UPDATED)},
               note="The template keeps the updated description: the failed retry changed nothing.",
               rule=("check", ["status", "$.environmentTemplate.description"]),
               step="check: the template is as the update left it", gap=RETRY_GAP_MS)
    elif rule == "different-parameters":
        s.call(op, {"description": ENV_TEMPLATE_DESC_OTHER, "displayName": ENV_TEMPLATE_DISPLAY, "name": ENV_TEMPLATE},
               error=("ValidationException", MISMATCH_MESSAGE),
               note="Same name, different description: rejected. " + NOTE_MISMATCH,
               rule=("under-test", ["status", "error"]),
               step="rule under test: retry with a different description", gap=RETRY_GAP_MS)
        s.call("GetEnvironmentTemplate", {"name": ENV_TEMPLATE}, original,
               note="The template is unchanged.", rule=("check", ["status", "$.environmentTemplate.description"]), step="check: the original template is unchanged", gap=RETRY_GAP_MS)
    return s


def ic_svc_template(rule):
    op = "CreateServiceTemplate"
    summaries = {
        "same-parameters": "Retrying the create of an unmodified service template returns the original template and creates nothing.",
        "resource-modified": "After the template's description is updated, retrying the original create fails with ConflictException.",
        "different-parameters": "Retrying the create with a different description fails with ValidationException (Idempotent parameter mismatch) and leaves the template unchanged.",
    }
    s = Scenario(GROUP_CREATE, op, rule, summaries[rule])
    created = create_svc_template(s, step="the original request")
    original = {"serviceTemplate": svc_template_doc(created, created)}
    if rule == "same-parameters":
        s.call(op, dict(SVC_TEMPLATE_INPUT), original,
               note="Unmodified template, same parameters: the original template (same createdAt), nothing created.",
               rule=("under-test", ["status", "error", "$.serviceTemplate.arn", "$.serviceTemplate.createdAt"]),
               step="rule under test: retry with the same parameters", gap=RETRY_GAP_MS)
        s.call("ListServiceTemplates", {},
               {"templates": [svc_template_doc(created, created)]},
               expect={f"$.templates[0].{m}": may_be_absent(WHY_SUMMARY_OPTIONAL) for m in ("description", "displayName", "pipelineProvisioning")},
               note="Exactly one service template; members as in the environment template list output of the guide (no service template list output is documented).",
               rule=("check", ["status", "$.templates[*].arn"]),
               step="check: the account has exactly one service template", gap=RETRY_GAP_MS)
    elif rule == "resource-modified":
        updated = s.call("UpdateServiceTemplate", {"description": SVC_TEMPLATE_DESC_UPDATED, "name": SVC_TEMPLATE},
                         lambda now: {"serviceTemplate": svc_template_doc(created, now, SVC_TEMPLATE_DESC_UPDATED)},
                         note="Edits the description; lastModifiedAt moves to the update.",
                         step="setup: modify the template (new description)")
        s.call(op, dict(SVC_TEMPLATE_INPUT),
               error=("ConflictException", f"Service template {SVC_TEMPLATE} has been modified since it was created"),
               note=("Same parameters as the original create, but the template was modified since: ConflictException, "
                     "status 400. " + NOTE_CONFLICT_TEXT),
               rule=("under-test", ["status", "error"]),
               step="rule under test: retry the original create after the modification", gap=RETRY_GAP_MS)
        s.call("GetServiceTemplate", {"name": SVC_TEMPLATE},
               {"serviceTemplate": svc_template_doc(created, updated, SVC_TEMPLATE_DESC_UPDATED)},
               note="The template keeps the updated description: the failed retry changed nothing.",
               rule=("check", ["status", "$.serviceTemplate.description"]),
               step="check: the template is as the update left it", gap=RETRY_GAP_MS)
    elif rule == "different-parameters":
        s.call(op, {"description": SVC_TEMPLATE_DESC_OTHER, "displayName": SVC_TEMPLATE_DISPLAY, "name": SVC_TEMPLATE,
                    "pipelineProvisioning": "CUSTOMER_MANAGED"},
               error=("ValidationException", MISMATCH_MESSAGE),
               note="Same name, different description: rejected. " + NOTE_MISMATCH,
               rule=("under-test", ["status", "error"]),
               step="rule under test: retry with a different description", gap=RETRY_GAP_MS)
        s.call("GetServiceTemplate", {"name": SVC_TEMPLATE}, original,
               note="The template is unchanged.", rule=("check", ["status", "$.serviceTemplate.description"]), step="check: the original template is unchanged", gap=RETRY_GAP_MS)
    return s


def ic_environment(rule):
    op = "CreateEnvironment"
    summaries = {
        "same-parameters": "Retrying the create of an unmodified environment returns the original environment, as it is at the time of the retry (IN_PROGRESS, later SUCCEEDED), and creates nothing.",
        "resource-modified": "After the environment's description is updated, retrying the original create fails with ConflictException.",
        "different-parameters": "Retrying the create with a different spec fails with ValidationException (Idempotent parameter mismatch) and leaves the environment unchanged.",
    }
    s = Scenario(GROUP_CREATE, op, rule, summaries[rule])
    setup_published_env_template(s)
    created = create_environment(s, step="the original request")
    create_at = s.clock
    cs = s.last
    rule_retry = ("under-test", ["status", "error", "$.environment.arn", "$.environment.createdAt",
                                 "$.environment.deploymentStatus", "$.environment.lastAttemptedDeploymentId"])
    if rule == "same-parameters":
        s.call(op, dict(ENV_CREATE_INPUT), {"environment": environment_doc(created, "IN_PROGRESS", full=False)},
               expect=env_expect(create_step=cs, create_shape=True), rule=rule_retry,
               note="Unmodified environment, same parameters: the original environment (same createdAt), still IN_PROGRESS; no second deployment.",
               step="rule under test: retry with the same parameters", gap=RETRY_GAP_MS)
        poll_environment(s, create_at, created, create_step=cs, step="wait until the environment is deployed (EnvironmentDeployed waiter's success state)")
        succeeded_step = s.last
        retry_after = dict(env_expect(create_step=cs, succeeded_step=succeeded_step))
        for member in ("lastDeploymentSucceededAt", "templateMajorVersion", "templateMinorVersion"):
            retry_after[f"$.environment.{member}"] = may_be_absent(
                "The documented create-environment output leaves this member out and the documented get "
                "output of a finished environment shows it: which one a retried create's answer follows once "
                "the deployment succeeded is unknown (a present value must be the get output's)")
        s.call(op, dict(ENV_CREATE_INPUT), {"environment": environment_doc(created, "SUCCEEDED")},
               expect=retry_after, rule=rule_retry,
               cite={"$.environment.deploymentStatus": CITE_RULE + ": the result may hold the current creation status",
                     "$.environment.lastDeploymentSucceededAt": OUTPUT_SOURCE["GetEnvironment"],
                     "$.environment.templateMajorVersion": OUTPUT_SOURCE["GetEnvironment"],
                     "$.environment.templateMinorVersion": OUTPUT_SOURCE["GetEnvironment"]},
               note=("A retry after the deployment finished still succeeds and shows the current status, SUCCEEDED: "
                     "the Welcome page says a retry's result may hold updated information such as the current "
                     "creation status, so the finished deployment does not count as a modification."),
               step="rule under test: retry again after the deployment finished", gap=RETRY_GAP_MS)
        s.call("ListEnvironments", {},
               {"environments": [environment_doc(created, "SUCCEEDED")]},
               expect={"$.environments[0].protonServiceRoleArn": may_be_absent(WHY_SUMMARY_OPTIONAL),
                       "$.environments[0].lastAttemptedDeploymentId": may_be_absent(WHY_DEPLOYMENT_IDS, same_as=cs),
                       "$.environments[0].lastSucceededDeploymentId": may_be_absent(WHY_DEPLOYMENT_IDS, same_as=succeeded_step)},
               rule=("check", ["status", "$.environments[*].arn", "$.environments[*].lastAttemptedDeploymentId"]),
               cite={"$.environments[0]": OUTPUT_SOURCE["ListEnvironments"] + "; values as " + OUTPUT_SOURCE["GetEnvironment"]},
               note="Exactly one environment. " + NOTE_LIST_SHAPE,
               step="check: the account has exactly one environment", gap=RETRY_GAP_MS)
    elif rule == "resource-modified":
        poll_environment(s, create_at, created, create_step=cs, step="wait until the environment is deployed (EnvironmentDeployed waiter's success state)")
        succeeded_step = s.last
        s.call("UpdateEnvironment", {"deploymentType": "NONE", "description": ENV_DESC_UPDATED, "name": ENV_NAME},
               {"environment": environment_doc(created, "SUCCEEDED", description=ENV_DESC_UPDATED)},
               expect=env_expect(create_step=cs, succeeded_step=succeeded_step),
               cite={"$.environment.description": api_ref("UpdateEnvironment", "request description, echoed in the environment")},
               note=("deploymentType NONE updates metadata only: no deployment, timestamps unchanged, new description. "
                     "Members as in the documented update-environment output."),
               step="setup: modify the environment (new description, no deployment)")
        s.call(op, dict(ENV_CREATE_INPUT),
               error=("ConflictException", f"Environment {ENV_NAME} has been modified since it was created"),
               note=("Same parameters as the original create, but the environment was modified since: "
                     "ConflictException, status 400. " + NOTE_CONFLICT_TEXT),
               rule=("under-test", ["status", "error"]),
               step="rule under test: retry the original create after the modification", gap=RETRY_GAP_MS)
        s.call("GetEnvironment", {"name": ENV_NAME},
               {"environment": environment_doc(created, "SUCCEEDED", spec=ENV_SPEC, description=ENV_DESC_UPDATED)},
               expect=env_expect(create_step=cs, succeeded_step=succeeded_step),
               rule=("check", ["status", "$.environment.description", "$.environment.lastAttemptedDeploymentId"]),
               cite={"$.environment.description": api_ref("UpdateEnvironment", "request description, echoed in the environment")},
               note="The environment is as the update left it: the failed retry changed nothing.",
               step="check: the environment is as the update left it", gap=RETRY_GAP_MS)
    elif rule == "different-parameters":
        different = dict(ENV_CREATE_INPUT, spec=ENV_SPEC_OTHER)
        s.call(op, different, error=("ValidationException", MISMATCH_MESSAGE),
               note=("Same name, different spec (api_stage_name): rejected. This is the very case of "
                     "aws-samples/aws-proton-cloudformation-sample-templates#58 (CreateEnvironment with an existing "
                     "name and different parameters), which shows the error text `Idempotent parameter mismatch`; "
                     "status 400 as the API Reference lists for every client error."),
               rule=("under-test", ["status", "error"]),
               step="rule under test: retry with a different spec", gap=RETRY_GAP_MS)
        s.call("GetEnvironment", {"name": ENV_NAME},
               {"environment": environment_doc(created, "IN_PROGRESS", spec=ENV_SPEC, succeeded=False)},
               expect=env_expect(create_step=cs, before_success=True),
               rule=("check", ["status", "$.environment.spec", "$.environment.lastAttemptedDeploymentId"]),
               note="The environment keeps the original spec and its first deployment, still IN_PROGRESS.",
               step="check: the original environment is unchanged", at=create_at + OBSERVE_GAP_MS)
    return s


def ic_service(rule):
    op = "CreateService"
    summaries = {
        "same-parameters": "Retrying the create of an unmodified service returns the original service, as it is at the time of the retry (CREATE_IN_PROGRESS, later ACTIVE), and creates nothing.",
        "resource-modified": "After the service's description is updated, retrying the original create fails with ConflictException.",
        "different-parameters": "Retrying the create with a different spec fails with ValidationException (Idempotent parameter mismatch) and leaves the service unchanged.",
    }
    s = Scenario(GROUP_CREATE, op, rule, summaries[rule])
    setup_environment(s)
    setup_published_svc_template(s)
    created = create_service(s, step="the original request")
    create_at = s.clock
    rule_retry = ("under-test", ["status", "error", "$.service.arn", "$.service.createdAt", "$.service.status"])
    if rule == "same-parameters":
        s.call(op, dict(SVC_CREATE_INPUT), {"service": service_doc(created, created, "CREATE_IN_PROGRESS")},
               rule=rule_retry,
               note="Unmodified service, same parameters: the original service (same createdAt), still CREATE_IN_PROGRESS.",
               step="rule under test: retry with the same parameters", gap=RETRY_GAP_MS)
        done = poll_service(s, create_at, created, step="wait until the service is ACTIVE (ServiceCreated waiter's success state)")
        s.call(op, dict(SVC_CREATE_INPUT), {"service": service_doc(created, done, "ACTIVE")},
               rule=rule_retry,
               cite=dict(**{"$.service.status": CITE_RULE + ": the result may hold the current creation status",
                                       "$.service.lastModifiedAt": OUTPUT_SOURCE["GetService"] + ": lastModifiedAt moved when creation completed"}),
               note=("A retry after creation finished still succeeds and shows the current status, ACTIVE: the "
                     "Welcome page says a retry's result may hold updated information such as the current creation "
                     "status, so finishing the creation does not count as a modification."),
               step="rule under test: retry again after the creation finished", gap=RETRY_GAP_MS)
        s.call("ListServices", {},
               {"services": [service_doc(created, done, "ACTIVE", summary=True)]},
               expect={"$.services[0].description": may_be_absent(WHY_SUMMARY_OPTIONAL)},
               rule=("check", ["status", "$.services[*].arn"]),
               cite={"$.services[0]": OUTPUT_SOURCE["ListServices"] + "; values as " + OUTPUT_SOURCE["GetService"]},
               note="Exactly one service. " + NOTE_LIST_SHAPE,
               step="check: the account has exactly one service", gap=RETRY_GAP_MS)
    elif rule == "resource-modified":
        poll_service(s, create_at, created, step="wait until the service is ACTIVE (ServiceCreated waiter's success state)")
        updated = s.call("UpdateService", {"description": SVC_DESC_UPDATED, "name": SVC_NAME},
                         lambda now: {"service": service_doc(created, now, "ACTIVE", description=SVC_DESC_UPDATED)},
                         note=("A description-only update: status stays ACTIVE, lastModifiedAt moves to the update, as "
                               "in the documented update-service output (which has no spec)."),
                         step="setup: modify the service (new description)")
        s.call(op, dict(SVC_CREATE_INPUT),
               error=("ConflictException", f"Service {SVC_NAME} has been modified since it was created"),
               note=("Same parameters as the original create, but the service was modified since: ConflictException, "
                     "status 400. " + NOTE_CONFLICT_TEXT),
               rule=("under-test", ["status", "error"]),
               step="rule under test: retry the original create after the modification", gap=RETRY_GAP_MS)
        s.call("GetService", {"name": SVC_NAME},
               {"service": service_doc(created, updated, "ACTIVE", description=SVC_DESC_UPDATED, spec=SVC_SPEC)},
               rule=("check", ["status", "$.service.description"]),
               cite={"$.service.description": guide_output("ag-svc-update", "update-service") + ": the updated description"},
               note="The service is as the update left it: the failed retry changed nothing.",
               step="check: the service is as the update left it", gap=RETRY_GAP_MS)
    elif rule == "different-parameters":
        s.call(op, dict(SVC_CREATE_INPUT, spec=SVC_SPEC_OTHER), error=("ValidationException", MISMATCH_MESSAGE),
               note="Same name, different spec (lambda_memory_size): rejected. " + NOTE_MISMATCH,
               rule=("under-test", ["status", "error"]),
               step="rule under test: retry with a different spec", gap=RETRY_GAP_MS)
        s.call("GetService", {"name": SVC_NAME},
               {"service": service_doc(created, created, "CREATE_IN_PROGRESS", spec=SVC_SPEC)},
               rule=("check", ["status", "$.service.spec"]),
               note="The service keeps the original spec, still CREATE_IN_PROGRESS.",
               step="check: the original service is unchanged", at=create_at + OBSERVE_GAP_MS)
    return s


# --------------------------------------------------------------------------
# Group idempotent-delete
# --------------------------------------------------------------------------

GROUP_DELETE = "idempotent-delete"
NOTE_TOMBSTONE = (
    "Interpretation: the deleted resource's metadata is kept for a retention window of 1 hour; "
    "within it a retried delete returns that metadata."
)
NOTE_EMPTY = (
    "More than 2 hours after the delete the resource no longer exists in any form: the retry still "
    "succeeds (200) with an empty response, `{}`. Interpretation: the retention window is 1 hour."
)


def _delete_scenario(op, rule, noun, setup, delete_input, deleted_body, get_op, get_input, kind, resource_arn,
                     delete_note, delete_expect=None):
    summaries = {
        "retry-returns-metadata": f"Retrying {op} shortly after it succeeded returns 200 with the deleted {noun}'s metadata, although the {noun} no longer exists.",
        "retry-returns-empty": f"Retrying {op} after the deleted {noun} no longer exists (2 hours later, past the assumed 1-hour retention window) returns 200 with an empty response.",
    }
    s = Scenario(GROUP_DELETE, op, rule, summaries[rule])
    ctx = setup(s)
    body = deleted_body(ctx)
    wrapper = next(iter(body))
    s.call(op, delete_input, body, note=delete_note, step="the original delete", expect=delete_expect)
    if rule == "retry-returns-metadata":
        s.call(op, delete_input, body, expect=delete_expect,
               rule=("under-test", ["status", "error", f"$.{wrapper}.arn"]),
               note=f"Retry shortly after the delete: 200 with the same metadata. " + NOTE_TOMBSTONE,
               step="rule under test: retry the delete", gap=RETRY_GAP_MS)
        s.call(get_op, get_input, error=not_found(kind, resource_arn),
               note=f"The {noun} itself is gone. " + NOTE_NOT_FOUND,
               rule=("check", ["status", "error"]),
               step=f"check: the {noun} no longer exists", gap=RETRY_GAP_MS)
    else:
        s.call(get_op, get_input, error=not_found(kind, resource_arn),
               note=f"The {noun} is gone. " + NOTE_NOT_FOUND,
               step=f"check: the {noun} no longer exists", gap=RETRY_GAP_MS)
        s.wait(TOMBSTONE_WAIT_MS, step="let 2 hours pass (twice the assumed 1-hour retention window)")
        s.call(op, delete_input, {}, note=NOTE_EMPTY, step="rule under test: retry the delete",
               rule=("under-test", ["status", "error", "$"]),
               gap=AFTER_WAIT_GAP_MS)
    return s


def id_env_template(rule):
    def setup(s):
        return create_env_template(s)
    return _delete_scenario(
        "DeleteEnvironmentTemplate", rule, "environment template", setup, {"name": ENV_TEMPLATE},
        lambda created: {"environmentTemplate": env_template_doc(created, created)},
        "GetEnvironmentTemplate", {"name": ENV_TEMPLATE}, "environment template", ENV_TEMPLATE_ARN,
        "Deletes the template (it has no versions). Returns its metadata as in the documented delete-environment-template output.")


def id_env_version(rule):
    def setup(s):
        create_env_template(s)
        token = uuid4_from(s.name, "client-token")
        created = create_env_version(s, token, 1, 0, step="setup: register version 1.0")
        poll_env_version(s, s.clock, created, 1, 0, step="setup: wait until version 1.0 is registered (EnvironmentTemplateVersionRegistered waiter's success states)")
        return created
    return _delete_scenario(
        "DeleteEnvironmentTemplateVersion", rule, "template version", setup,
        {"majorVersion": "1", "minorVersion": "0", "templateName": ENV_TEMPLATE},
        lambda created: {"environmentTemplateVersion": env_version_doc(1, 0, created, created, "DRAFT", ENV_V1_DESC, registered=True)},
        "GetEnvironmentTemplateVersion", {"majorVersion": "1", "minorVersion": "0", "templateName": ENV_TEMPLATE},
        "environment template version", env_version_arn(1, 0),
        ("Deletes 1.0, the only version (DRAFT, so not the recommended one). Returns its metadata as in the "
         "documented delete-environment-template-version output: status as before the delete, statusMessage, no schema."),
        delete_expect=deleted_version_paths("$.environmentTemplateVersion", env=True))


def id_svc_template(rule):
    def setup(s):
        return create_svc_template(s)
    return _delete_scenario(
        "DeleteServiceTemplate", rule, "service template", setup, {"name": SVC_TEMPLATE},
        lambda created: {"serviceTemplate": svc_template_doc(created, created)},
        "GetServiceTemplate", {"name": SVC_TEMPLATE}, "service template", SVC_TEMPLATE_ARN,
        "Deletes the template (it has no versions). Returns its metadata; members as in the documented delete-environment-template output, with pipelineProvisioning.")


def id_svc_version(rule):
    def setup(s):
        setup_published_env_template(s)
        create_svc_template(s)
        token = uuid4_from(s.name, "client-token")
        created = create_svc_version(s, token, 1, 0, step="setup: register version 1.0, compatible with serverless-env 1")
        poll_svc_version(s, s.clock, created, 1, 0, step="setup: wait until version 1.0 is registered (ServiceTemplateVersionRegistered waiter's success states)")
        return created
    return _delete_scenario(
        "DeleteServiceTemplateVersion", rule, "template version", setup,
        {"majorVersion": "1", "minorVersion": "0", "templateName": SVC_TEMPLATE},
        lambda created: {"serviceTemplateVersion": svc_version_doc(1, 0, created, created, "DRAFT", SVC_V1_DESC, registered=True)},
        "GetServiceTemplateVersion", {"majorVersion": "1", "minorVersion": "0", "templateName": SVC_TEMPLATE},
        "service template version", svc_version_arn(1, 0),
        ("Deletes 1.0, the only version (DRAFT, so not the recommended one). Returns its metadata as in the "
         "documented delete-service-template-version output: status as before the delete, statusMessage, "
         "compatibleEnvironmentTemplates, no schema."),
        delete_expect=deleted_version_paths("$.serviceTemplateVersion", env=False))


def id_connection(rule):
    def setup(s):
        token = uuid4_from(s.name, "client-token")
        cid = uuid4_from(s.name, "connection-1")
        requested = create_connection(s, token, cid, step="setup: request a connection to the management account")
        return cid, requested

    # The delete input needs the connection id, derived from the scenario name.
    op = "DeleteEnvironmentAccountConnection"
    name = f"{GROUP_DELETE}/{kebab(op)}--{rule}"
    cid = uuid4_from(name, "connection-1")
    return _delete_scenario(
        op, rule, "connection", setup, {"id": cid},
        lambda ctx: {"environmentAccountConnection": connection_doc(ctx[0], ctx[1])},
        "GetEnvironmentAccountConnection", {"id": cid}, "environment account connection", connection_arn(cid),
        ("Deletes the PENDING connection from the environment account. Returns its metadata as in the documented "
         "delete-environment-account-connection output: status and lastModifiedAt as before the delete."))


# --------------------------------------------------------------------------
# Group async-delete
# --------------------------------------------------------------------------

GROUP_ASYNC = "async-delete"


def ad_environment(rule):
    op = "DeleteEnvironment"
    summaries = {
        "retry-in-progress": "Retrying DeleteEnvironment while the delete is DELETE_IN_PROGRESS returns 200 with the environment's details (DELETE_IN_PROGRESS) and starts nothing new.",
        "retry-after-completion": "After the delete completed (GetEnvironment fails with ResourceNotFoundException), retrying DeleteEnvironment returns 200 with an empty response.",
    }
    s = Scenario(GROUP_ASYNC, op, rule, summaries[rule])
    setup_published_env_template(s)
    created = create_environment(s, step="setup: create the environment")
    cs = s.last
    poll_environment(s, s.clock, created, create_step=cs, step="setup: wait until the environment is deployed (EnvironmentDeployed waiter's success state)")
    succeeded_step = s.last
    deleting = {"environment": environment_doc(created, "DELETE_IN_PROGRESS")}
    ids = env_expect(create_step=cs, succeeded_step=succeeded_step)
    s.call(op, {"name": ENV_NAME}, deleting, expect=ids,
           note=("Starts the delete: DELETE_IN_PROGRESS. Members as in the documented delete-environment output; "
                 "the deployment timestamps stay those of the last deployment."),
           step="the original delete")
    delete_at = s.clock
    if rule == "retry-in-progress":
        s.call(op, {"name": ENV_NAME}, deleting, expect=ids,
               rule=("under-test", ["status", "error", "$.environment.arn", "$.environment.deploymentStatus",
                                    "$.environment.lastAttemptedDeploymentId"]),
               note="Retry while DELETE_IN_PROGRESS: the same details, nothing further done.",
               step="rule under test: retry the delete while it is in progress", gap=RETRY_GAP_MS)
        s.call("GetEnvironment", {"name": ENV_NAME},
               {"environment": environment_doc(created, "DELETE_IN_PROGRESS", spec=ENV_SPEC)},
               expect=ids, rule=("check", ["status", "$.environment.deploymentStatus"]),
               note="The environment is still DELETE_IN_PROGRESS.",
               step="check: the delete is still in progress", at=delete_at + OBSERVE_GAP_MS)
    else:
        s.call("GetEnvironment", {"name": ENV_NAME},
               {"environment": environment_doc(created, "DELETE_IN_PROGRESS", spec=ENV_SPEC)},
               expect=ids,
               note="Shortly after the delete: DELETE_IN_PROGRESS.",
               step="observe the delete in progress", at=delete_at + OBSERVE_GAP_MS)
        s.wait(ASYNC_DONE_MS, step="let the delete finish")
        s.call("GetEnvironment", {"name": ENV_NAME}, error=not_found("environment", ENV_ARN),
               note="The delete completed: the environment no longer exists. " + NOTE_NOT_FOUND,
               step="check: the environment no longer exists", gap=AFTER_WAIT_GAP_MS)
        s.call(op, {"name": ENV_NAME}, {},
               note="Retry after the delete completed: 200 with an empty response, `{}`.",
               rule=("under-test", ["status", "error", "$"]),
               step="rule under test: retry the delete after it completed", gap=RETRY_GAP_MS)
    return s


WHY_SVC_DELETE_TEXT = "Whether DeleteService moves lastModifiedAt is unknown (the documented delete-service output follows an update, so it cannot tell)"


def ad_service(rule):
    op = "DeleteService"
    summaries = {
        "retry-in-progress": "Retrying DeleteService while the delete is DELETE_IN_PROGRESS returns 200 with the service's details (DELETE_IN_PROGRESS) and starts nothing new.",
        "retry-after-completion": "After the delete completed (GetService fails with ResourceNotFoundException, as the ServiceDeleted waiter expects), retrying DeleteService returns 200 with an empty response.",
    }
    s = Scenario(GROUP_ASYNC, op, rule, summaries[rule])
    created, _done = setup_service(s)
    deleted = s.call(op, {"name": SVC_NAME},
           lambda now: {"service": service_doc(created, now, "DELETE_IN_PROGRESS")},
           note=("Starts the delete of the service and its instance: DELETE_IN_PROGRESS. Members as in the "
                 "documented delete-service output without a pipeline or repository (no spec); whether "
                 "lastModifiedAt moves is unknown."),
           expect={"$.service.lastModifiedAt": any_value(WHY_SVC_DELETE_TEXT)},
           step="the original delete")
    delete_at = s.clock
    ds = s.last
    deleting = {"service": service_doc(created, deleted, "DELETE_IN_PROGRESS")}
    getting = {"service": service_doc(created, deleted, "DELETE_IN_PROGRESS", spec=SVC_SPEC)}
    same = {"$.service.lastModifiedAt": any_value(WHY_SVC_DELETE_TEXT + "; nothing happened since the delete", same_as=ds)}
    if rule == "retry-in-progress":
        s.call(op, {"name": SVC_NAME}, deleting, expect=same,
               rule=("under-test", ["status", "error", "$.service.arn", "$.service.status", "$.service.lastModifiedAt"]),
               note="Retry while DELETE_IN_PROGRESS: the same details, nothing further done.",
               step="rule under test: retry the delete while it is in progress", gap=RETRY_GAP_MS)
        s.call("GetService", {"name": SVC_NAME}, getting, expect=same,
               rule=("check", ["status", "$.service.status"]),
               note="The service is still DELETE_IN_PROGRESS.",
               step="check: the delete is still in progress", at=delete_at + OBSERVE_GAP_MS)
    else:
        s.call("GetService", {"name": SVC_NAME}, getting, expect=same,
               note="Shortly after the delete: DELETE_IN_PROGRESS.",
               step="observe the delete in progress", at=delete_at + OBSERVE_GAP_MS)
        s.wait(ASYNC_DONE_MS, step="let the delete finish")
        s.call("GetService", {"name": SVC_NAME}, error=not_found("service", SVC_ARN),
               note=("The delete completed: ResourceNotFoundException, the ServiceDeleted waiter's success "
                     "condition. " + NOTE_NOT_FOUND),
               step="check: the service no longer exists", gap=AFTER_WAIT_GAP_MS)
        s.call(op, {"name": SVC_NAME}, {},
               note="Retry after the delete completed: 200 with an empty response, `{}`.",
               rule=("under-test", ["status", "error", "$"]),
               step="rule under test: retry the delete after it completed", gap=RETRY_GAP_MS)
    return s


# --------------------------------------------------------------------------
# Group client-token-model: operations whose clientToken the models mark as an
# idempotency token, which the Welcome page's lists leave out
# --------------------------------------------------------------------------

GROUP_MODEL = "client-token-model"
CITE_TOKEN_TRAIT = (
    f"{SMITHY_MODEL}: clientToken carries the smithy.api#idempotencyToken trait; "
    f"{WELCOME}: Ensuring Idempotency (a retried request completes without performing any further actions)"
)
INSTANCE = "orders-api-dev"
INSTANCE_NEW = "orders-api-staging"
INSTANCE_SPEC_NEW = (
    "proton: ServiceSpec\n"
    "instances:\n"
    "  - name: \"orders-api-staging\"\n"
    "    environment: \"dev-serverless\"\n"
    "    spec:\n"
    "      lambda_runtime: \"python3.12\"\n"
    "      lambda_memory_size: 256\n"
    "      resource_path: \"orders\"\n"
)
WHY_INSTANCE_CREATED = (
    "When a service's instance was created is not documented to the millisecond (the documented list-service-instances "
    "output of ag-svc-update shows it equal to the service's createdAt, one example)"
)
WHY_INSTANCE_SUCCEEDED = "The time the instance's first deployment succeeded is not documented"
WHY_INSTANCE_ENV = (
    "The documented update-service-instance output shows environmentName as the environment's ARN, the documented "
    "get-service-instance outputs show its name"
)
WHY_INSTANCE_SPEC = (
    "The documented get-service-instance outputs show the whole service spec (every instance), not the instance's "
    "part; which text the instance keeps after an update is not documented"
)
WHY_LAST_TOKEN = (
    "lastClientRequestToken is an optional member of ServiceInstance in the botocore model: when present, it is the "
    "token of the last request"
)


def instance_arn(name):
    return arn(f"service/{SVC_NAME}/service-instance/{name}")


def instance_doc(name, attempted, status, *, spec=None, created=None):
    doc = {
        "arn": instance_arn(name),
        "deploymentStatus": status,
        "lastDeploymentAttemptedAt": ts(attempted),
        "name": name,
        "serviceName": SVC_NAME,
        "templateMajorVersion": "1",
        "templateMinorVersion": "0",
        "templateName": SVC_TEMPLATE,
    }
    if spec is not None:
        doc["spec"] = spec
    if created is not None:
        doc["createdAt"] = ts(created)
    return doc


CITE_NEW_INSTANCE_CREATED = (
    model_shape("ServiceInstance", "member createdAt (when the instance was created)")
    + "; a new resource's first deployment is attempted when it is created, as the documented create-environment "
    "output shows (" + guide_output("ag-create-env", "create-environment") + ")"
)


def instance_paths(prefix, *, step=None, token=None, env_name=True, succeeded=True, spec=False, created=False):
    """What the evidence leaves open about a service instance answer; `step` names the
    answer whose generated values a retry must repeat. `created`: the answer shows a
    new instance, whose createdAt is asserted."""
    same = {"same_as": step} if step else {}
    out = {} if created else {
        f"{prefix}.createdAt": any_value(WHY_INSTANCE_CREATED, **same),
    }
    out.update({
        f"{prefix}.lastAttemptedDeploymentId": may_be_absent(WHY_DEPLOYMENT_IDS, **same),
        f"{prefix}.lastSucceededDeploymentId": may_be_absent(WHY_DEPLOYMENT_IDS, **same),
    })
    if succeeded:
        out[f"{prefix}.lastDeploymentSucceededAt"] = any_value(WHY_INSTANCE_SUCCEEDED, **same)
    else:
        out[f"{prefix}.lastDeploymentSucceededAt"] = may_be_absent(
            "No documented output shows a service instance before its first deployment succeeded; the botocore "
            "model marks the member required", **same)
    if env_name:
        out[f"{prefix}.environmentName"] = any_value(WHY_INSTANCE_ENV, **same)
    if spec:
        out[f"{prefix}.spec"] = any_value(WHY_INSTANCE_SPEC)
    if token:
        out[f"{prefix}.lastClientRequestToken"] = may_be_absent(WHY_LAST_TOKEN)
    return out


def mt_update_instance(rule):
    op = "UpdateServiceInstance"
    s = Scenario(GROUP_MODEL, op, rule,
                 "A retry of UpdateServiceInstance with the same client token and parameters, while the deployment it "
                 "started runs, returns the original answer and starts no second deployment.")
    setup_service(s)
    token = uuid4_from(s.name, "client-token")
    update = {"clientToken": token, "deploymentType": "CURRENT_VERSION", "name": INSTANCE,
              "serviceName": SVC_NAME, "spec": SVC_SPEC}
    updated = s.call(op, dict(update),
                     lambda now: {"serviceInstance": instance_doc(INSTANCE, now, "IN_PROGRESS")},
                     expect=instance_paths("$.serviceInstance", token=token),
                     note=("Redeploys the instance with the same template version (CURRENT_VERSION): IN_PROGRESS, "
                           "lastDeploymentAttemptedAt moves to now, as in the documented update-service-instance output."),
                     step="the original request, with a fixed client token")
    first = s.last
    s.call(op, dict(update), {"serviceInstance": instance_doc(INSTANCE, updated, "IN_PROGRESS")},
           expect=instance_paths("$.serviceInstance", step=first, token=token),
           cite={"$.serviceInstance": CITE_TOKEN_TRAIT + "; members as " + OUTPUT_SOURCE[op]},
           rule=("under-test", ["status", "error", "$.serviceInstance.arn", "$.serviceInstance.lastDeploymentAttemptedAt",
                                "$.serviceInstance.lastAttemptedDeploymentId"]),
           note="Same token, same parameters: the original answer; the deployment it started is the only one.",
           step="rule under test: retry with the same client token and parameters", gap=RETRY_GAP_MS)
    s.call("GetServiceInstance", {"name": INSTANCE, "serviceName": SVC_NAME},
           {"serviceInstance": dict(instance_doc(INSTANCE, updated, "IN_PROGRESS"), environmentName=ENV_NAME)},
           expect=instance_paths("$.serviceInstance", step=first, env_name=False, spec=True, token=token),
           rule=("check", ["status", "$.serviceInstance.deploymentStatus", "$.serviceInstance.lastDeploymentAttemptedAt",
                           "$.serviceInstance.lastAttemptedDeploymentId"]),
           note="One deployment, still IN_PROGRESS, attempted at the original update's time.",
           step="check: the instance runs the one deployment the original update started", gap=RETRY_GAP_MS)
    return s


def mt_create_instance(rule):
    op = "CreateServiceInstance"
    s = Scenario(GROUP_MODEL, op, rule,
                 "A retry of CreateServiceInstance with the same client token and parameters returns the original "
                 "instance and creates nothing: the service still has two instances.")
    setup_service(s)
    token = uuid4_from(s.name, "client-token")
    create = {"clientToken": token, "name": INSTANCE_NEW, "serviceName": SVC_NAME, "spec": INSTANCE_SPEC_NEW}
    created = s.call(op, dict(create),
                     lambda now: {"serviceInstance": instance_doc(INSTANCE_NEW, now, "IN_PROGRESS", created=now)},
                     expect=instance_paths("$.serviceInstance", token=token, succeeded=False, created=True),
                     cite={"$.serviceInstance.createdAt": CITE_NEW_INSTANCE_CREATED},
                     note=("Adds an instance in dev-serverless: its deployment IN_PROGRESS. No create-service-instance "
                           "output is documented: the model's required members, with the values the documented "
                           "update-service-instance output shows for an instance being deployed."),
                     step="the original request, with a fixed client token")
    first = s.last
    s.call(op, dict(create), {"serviceInstance": instance_doc(INSTANCE_NEW, created, "IN_PROGRESS", created=created)},
           expect=instance_paths("$.serviceInstance", step=first, token=token, succeeded=False, created=True),
           cite={"$.serviceInstance": CITE_TOKEN_TRAIT + "; members as " + OUTPUT_SOURCE[op]},
           rule=("under-test", ["status", "error", "$.serviceInstance.arn", "$.serviceInstance.createdAt",
                                "$.serviceInstance.lastDeploymentAttemptedAt", "$.serviceInstance.lastAttemptedDeploymentId"]),
           note="Same token, same parameters: the original instance, nothing created.",
           step="rule under test: retry with the same client token and parameters", gap=RETRY_GAP_MS)
    listed = []
    paths = {}
    for i, (name, doc) in enumerate(((INSTANCE, None), (INSTANCE_NEW, created))):
        prefix = f"$.serviceInstances[{i}]"
        if doc is None:
            item = instance_doc(name, 0, "SUCCEEDED")
            del item["lastDeploymentAttemptedAt"]
            paths[f"{prefix}.lastDeploymentAttemptedAt"] = any_value(WHY_INSTANCE_SUCCEEDED)
            paths.update(instance_paths(prefix, succeeded=True))
        else:
            item = instance_doc(name, created, "IN_PROGRESS", created=created)
            paths.update(instance_paths(prefix, succeeded=False, created=True))
            paths[f"{prefix}.lastAttemptedDeploymentId"] = may_be_absent(WHY_DEPLOYMENT_IDS, same_as=first)
        listed.append(item)
    s.call("ListServiceInstances", {"serviceName": SVC_NAME}, {"serviceInstances": listed},
           expect=paths,
           cite={"$.serviceInstances[1].createdAt": CITE_NEW_INSTANCE_CREATED},
           rule=("check", ["status", "$.serviceInstances[*].arn"]),
           note="Two instances: the service's first and the new one. " + NOTE_LIST_ORDER,
           step="check: the service has exactly two instances", gap=RETRY_GAP_MS)
    return s


COMPONENT = "orders-cache"
COMPONENT_DESC = "Queue that buffers order events for the orders API"
COMPONENT_DESC_UPDATED = "Queue that buffers order events, with a dead-letter queue"
COMPONENT_ROLE = f"arn:aws:iam::{ACCOUNT}:role/service-role/proton-dev-serverless-components"
# The manifest is the user guide's directly defined component example.
COMPONENT_MANIFEST = (
    "infrastructure:\n"
    "  templates:\n"
    "    - file: \"cloudformation.yaml\"\n"
    "      rendering_engine: jinja\n"
    "      template_language: cloudformation\n"
)
COMPONENT_TEMPLATE = (
    "Resources:\n"
    "  OrdersQueue:\n"
    "    Type: AWS::SQS::Queue\n"
    "    Properties:\n"
    "      QueueName: \"{{ environment.name }}-orders\"\n"
)
WHY_COMPONENT_ARN = (
    "No component ARN is shown in the documentation (EVIDENCE.md lists the other resources' ARN forms); "
    "a retry must give the same one"
)
WHY_COMPONENT_DEPLOY_TIME = (
    "lastDeploymentAttemptedAt/lastDeploymentSucceededAt are optional members of Component in the botocore model "
    "and no component output is documented"
)
CITE_NEW_RESOURCE_TIMES = (
    model_shape("Component", "members createdAt and lastModifiedAt")
    + "; a new resource's createdAt and lastModifiedAt are the creation time, as the documented create outputs "
    "show (" + guide_output("template-create", "create-environment-template") + ", "
    + guide_output("ag-create-svc", "create-service") + ")"
)


def component_doc(created, modified, status, description):
    return {
        "createdAt": ts(created),
        "deploymentStatus": status,
        "description": description,
        "environmentName": ENV_NAME,
        "lastModifiedAt": ts(modified),
        "name": COMPONENT,
    }


def component_paths(prefix, *, step=None, deploy_step=None):
    """What the evidence leaves open about a component answer: `step` names the answer
    whose ARN a later one repeats, `deploy_step` the one whose deployment it shows."""
    arn_same = {"same_as": step} if step else {}
    deploy = {"same_as": deploy_step} if deploy_step else {}
    return {
        f"{prefix}.arn": any_value(WHY_COMPONENT_ARN, **arn_same),
        f"{prefix}.lastAttemptedDeploymentId": may_be_absent(WHY_DEPLOYMENT_IDS, **deploy),
        f"{prefix}.lastSucceededDeploymentId": may_be_absent(WHY_DEPLOYMENT_IDS),
        f"{prefix}.lastDeploymentAttemptedAt": may_be_absent(WHY_COMPONENT_DEPLOY_TIME, **deploy),
        f"{prefix}.lastDeploymentSucceededAt": may_be_absent(WHY_COMPONENT_DEPLOY_TIME),
        f"{prefix}.lastClientRequestToken": may_be_absent(
            "lastClientRequestToken is an optional member of Component in the botocore model"),
    }


def setup_component_environment(s):
    """Published environment template, and dev-serverless deployed with a component role."""
    setup_published_env_template(s)
    role = {"componentRoleArn": COMPONENT_ROLE}
    created = create_environment(s, step="setup: create the environment with a component role (directly defined "
                                         "components need one)", extra=role)
    poll_environment(s, s.clock, created, create_step=s.last, extra=role,
                     step="setup: wait until the environment is deployed (EnvironmentDeployed waiter's success state)")


def component_input(token, description=COMPONENT_DESC):
    return {"clientToken": token, "description": description, "environmentName": ENV_NAME,
            "manifest": COMPONENT_MANIFEST, "name": COMPONENT, "templateFile": COMPONENT_TEMPLATE}


def mt_create_component(rule):
    op = "CreateComponent"
    s = Scenario(GROUP_MODEL, op, rule,
                 "A retry of CreateComponent with the same client token and parameters returns the original "
                 "component and creates nothing: the environment still has one component.")
    setup_component_environment(s)
    token = uuid4_from(s.name, "client-token")
    times = {"$.component.createdAt": CITE_NEW_RESOURCE_TIMES, "$.component.lastModifiedAt": CITE_NEW_RESOURCE_TIMES}
    created = s.call(op, component_input(token),
                     lambda now: {"component": component_doc(now, now, "IN_PROGRESS", COMPONENT_DESC)},
                     expect=component_paths("$.component"), cite=times,
                     note=("Creates a directly defined component in dev-serverless (not attached to a service "
                           "instance): its deployment IN_PROGRESS. No component output is documented: the model's "
                           "members, with the request's values."),
                     step="the original request, with a fixed client token")
    first = s.last
    s.call(op, component_input(token), {"component": component_doc(created, created, "IN_PROGRESS", COMPONENT_DESC)},
           expect=component_paths("$.component", step=first, deploy_step=first), cite=times,
           rule=("under-test", ["status", "error", "$.component.arn", "$.component.createdAt",
                                "$.component.lastAttemptedDeploymentId"]),
           note="Same token, same parameters: the original component, nothing created, no second deployment.",
           step="rule under test: retry with the same client token and parameters", gap=RETRY_GAP_MS)
    summary = component_doc(created, created, "IN_PROGRESS", COMPONENT_DESC)
    del summary["description"]
    paths = component_paths("$.components[0]", step=first, deploy_step=first)
    del paths["$.components[0].lastClientRequestToken"]
    s.call("ListComponents", {"environmentName": ENV_NAME}, {"components": [summary]},
           expect=paths,
           rule=("check", ["status", "$.components[*].arn"]),
           note="Exactly one component in the environment. " + NOTE_LIST_SHAPE,
           step="check: the environment has exactly one component", gap=RETRY_GAP_MS)
    return s


def mt_update_component(rule):
    op = "UpdateComponent"
    s = Scenario(GROUP_MODEL, op, rule,
                 "A retry of UpdateComponent with the same client token and parameters, while the deployment it "
                 "started runs, returns the original answer and starts no second deployment.")
    setup_component_environment(s)
    created = s.call("CreateComponent", component_input(uuid4_from(s.name, "setup-token")),
                     lambda now: {"component": component_doc(now, now, "IN_PROGRESS", COMPONENT_DESC)},
                     expect=component_paths("$.component"),
                     cite={"$.component.createdAt": CITE_NEW_RESOURCE_TIMES,
                           "$.component.lastModifiedAt": CITE_NEW_RESOURCE_TIMES},
                     note="Creates the component: its deployment IN_PROGRESS.",
                     step="setup: create the component")
    create_step = s.last
    create_at = s.clock
    s.poll("GetComponent", {"name": COMPONENT}, "component.deploymentStatus", ["SUCCEEDED"],
           [
               (create_at + OBSERVE_GAP_MS,
                {"component": component_doc(created, created, "IN_PROGRESS", COMPONENT_DESC)},
                "First poll, shortly after the create: deployment still IN_PROGRESS.",
                component_paths("$.component", step=create_step, deploy_step=create_step)),
               (create_at + OBSERVE_GAP_MS + POLL_MS,
                {"component": component_doc(created, created, "SUCCEEDED", COMPONENT_DESC)},
                ("Deployment SUCCEEDED (the ComponentDeployed waiter's success state). Whether finishing the "
                 "deployment moves lastModifiedAt is not documented."),
                dict(component_paths("$.component", step=create_step, deploy_step=create_step),
                     **{"$.component.lastModifiedAt": any_value(
                         WHY_COMPONENT_DEPLOYED_MODIFIED)})),
           ],
           step="setup: wait until the component is deployed (ComponentDeployed waiter's success state)")
    token = uuid4_from(s.name, "client-token")
    update = {"clientToken": token, "deploymentType": "CURRENT_VERSION", "description": COMPONENT_DESC_UPDATED,
              "name": COMPONENT}
    updated = s.call(op, dict(update),
                     lambda now: {"component": component_doc(created, now, "IN_PROGRESS", COMPONENT_DESC_UPDATED)},
                     expect=component_paths("$.component", step=create_step),
                     cite={"$.component.lastModifiedAt": api_ref("UpdateComponent", "output component")
                           + "; an update moves lastModifiedAt, as " + guide_output("ag-svc-update", "update-service")
                           + " shows for a service"},
                     note=("Redeploys the component (CURRENT_VERSION) with a new description: IN_PROGRESS, "
                           "lastModifiedAt moves to now."),
                     step="the original request, with a fixed client token")
    first = s.last
    same_modified = {"$.component.lastModifiedAt": any_value(
        "The update's own lastModifiedAt is checked at the update; a retry that did nothing more shows the same",
        same_as=first)}
    s.call(op, dict(update), {"component": component_doc(created, updated, "IN_PROGRESS", COMPONENT_DESC_UPDATED)},
           expect=dict(component_paths("$.component", step=create_step, deploy_step=first), **same_modified),
           cite={"$.component": CITE_TOKEN_TRAIT + "; members as " + OUTPUT_SOURCE[op]},
           rule=("under-test", ["status", "error", "$.component.lastModifiedAt",
                                "$.component.lastAttemptedDeploymentId", "$.component.lastDeploymentAttemptedAt"]),
           note="Same token, same parameters: the original answer; the deployment it started is the only one.",
           step="rule under test: retry with the same client token and parameters", gap=RETRY_GAP_MS)
    s.call("GetComponent", {"name": COMPONENT},
           {"component": component_doc(created, updated, "IN_PROGRESS", COMPONENT_DESC_UPDATED)},
           expect=dict(component_paths("$.component", step=create_step, deploy_step=first), **same_modified),
           rule=("check", ["status", "$.component.deploymentStatus", "$.component.lastModifiedAt",
                           "$.component.lastAttemptedDeploymentId"]),
           note="One deployment, still IN_PROGRESS, started by the original update.",
           step="check: the component runs the one deployment the original update started", gap=RETRY_GAP_MS)
    return s


# --------------------------------------------------------------------------
# Group user-guide-flow: the main flows the User Guide shows for the newer
# resources (repository links, template and service sync configurations,
# directly defined components, account settings, the resources summary). No
# seed-000 rule covers these operations; each step whose answer the
# documentation describes is the test of its own operation.
# --------------------------------------------------------------------------

GROUP_FLOW = "user-guide-flow"
FLOW_RULE = "documented-flow"
CITE_FLOW = f"{GUIDE}/index.html: the User Guide's CLI examples of this flow"

REPO_PROVIDER = "GITHUB"
TEMPLATE_REPO = "acme/proton-templates"
SERVICE_REPO = "acme/orders-api"
CONNECTION_ARN = f"arn:aws:codestar-connections:{REGION}:{ACCOUNT}:connection/" + uuid4_from("codestar-connection")
ENCRYPTION_KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/" + uuid4_from("kms-key")
OPS_FILE = "./configuration/proton-ops.yaml"
PIPELINE_ROLE = f"arn:aws:iam::{ACCOUNT}:role/AWSProtonServiceRole"


def repository_arn(name, provider=REPO_PROVIDER):
    return arn(f"repository/{provider.lower()}:{name}")


CITE_REPO_ARN = (
    guide_output("ag-create-repo", "create-repository") + " and " + guide_output("ag-repo-view", "get-repository")
    + ": the ARN is repository/<provider in lower case>:<name>"
)
CITE_REPO_CONNECTION = (
    guide_output("ag-create-repo", "create-repository") + " shows connectionArn; "
    + model_shape("Repository", "member connectionArn (the connection that connects Proton to the provider account, "
                  "the one the request names)")
)
CITE_REPO_KEY = (
    guide_output("ag-create-repo", "create-repository") + ": the request's encryption key is echoed"
)
WHY_REPO_CONNECTION_LATER = (
    "The documented get-repository, list-repositories and delete-repository outputs leave connectionArn out, the "
    "botocore model marks it required in Repository and RepositorySummary: when present, it is the create's"
)
WHY_REPO_KEY_LATER = (
    "The documented get-repository and delete-repository outputs are of a link created without encryptionKey "
    "(they show none); the botocore model has it optional: when present, it is the create's"
)


def repository_doc(*, full):
    doc = {"arn": repository_arn(TEMPLATE_REPO), "name": TEMPLATE_REPO, "provider": REPO_PROVIDER}
    if full:
        doc["connectionArn"] = CONNECTION_ARN
        doc["encryptionKey"] = ENCRYPTION_KEY
    return doc


def repository_later_paths(prefix, *, key=True):
    out = {f"{prefix}.connectionArn": may_be_absent(WHY_REPO_CONNECTION_LATER)}
    if key:
        out[f"{prefix}.encryptionKey"] = may_be_absent(WHY_REPO_KEY_LATER)
    return out


def create_repository(s, name, *, rule=None, step):
    doc = {"arn": repository_arn(name), "connectionArn": CONNECTION_ARN, "encryptionKey": ENCRYPTION_KEY,
           "name": name, "provider": REPO_PROVIDER}
    return s.call(
        "CreateRepository",
        {"connectionArn": CONNECTION_ARN, "encryptionKey": ENCRYPTION_KEY, "name": name, "provider": REPO_PROVIDER},
        {"repository": doc},
        cite={"$.repository.arn": CITE_REPO_ARN, "$.repository.connectionArn": CITE_REPO_CONNECTION,
              "$.repository.encryptionKey": CITE_REPO_KEY},
        rule=rule,
        note=("Links a GitHub repository through a CodeStar connection, with a customer KMS key: members as in the "
              "documented create-repository output (arn, connectionArn, encryptionKey, name, provider)."),
        step=step,
    )


def flow_rule(*paths, role="under-test"):
    return (role, ["status", "error"] + list(paths))


def flow_scenario(operation, summary):
    return Scenario(GROUP_FLOW, operation, FLOW_RULE, summary)


def uf_repository():
    s = flow_scenario("CreateRepository",
                      "The repository link flow of the User Guide: create (link), get, list and delete a "
                      "repository link, each answer as documented; after the delete the link is gone.")
    create_repository(s, TEMPLATE_REPO, rule=flow_rule("$.repository"),
                      step="under test (CreateRepository): link the repository")
    get = {"name": TEMPLATE_REPO, "provider": REPO_PROVIDER}
    s.call("GetRepository", dict(get), {"repository": repository_doc(full=False)},
           expect=repository_later_paths("$.repository"),
           cite={"$.repository.arn": CITE_REPO_ARN},
           rule=flow_rule("$.repository"),
           note=("Members as in the documented get-repository output (arn, name, provider); connectionArn and "
                 "encryptionKey may be there, with the create's values."),
           step="under test (GetRepository): the link's details")
    s.call("ListRepositories", {}, {"repositories": [repository_doc(full=False)]},
           expect=repository_later_paths("$.repositories[0]", key=False),
           cite={"$.repositories[0].arn": CITE_REPO_ARN},
           rule=flow_rule("$.repositories"),
           note="One linked repository; item members as in the documented list-repositories output.",
           step="under test (ListRepositories): the one link is listed")
    s.call("DeleteRepository", dict(get), {"repository": repository_doc(full=False)},
           expect=repository_later_paths("$.repository"),
           cite={"$.repository.arn": CITE_REPO_ARN},
           rule=flow_rule("$.repository"),
           note="The deleted link's details, members as in the documented delete-repository output.",
           step="under test (DeleteRepository): remove the link")
    s.call("GetRepository", dict(get), error=("ResourceNotFoundException", ""),
           expect={"$.message": any_value(
               "The words of a ResourceNotFoundException for a repository link are not documented")},
           rule=flow_rule(role="check"),
           note=("The link is gone: GetRepository lists ResourceNotFoundException among its errors (API Reference); "
                 "its message text for a repository is unevidenced."),
           step="check: the link no longer exists")
    return s


WHY_SUBDIRECTORY = (
    "The documented create-template-sync-config output shows subdirectory \"templates\" for a request of "
    "\"env-template/\", and the update example likewise another value than requested: what Proton answers for the "
    "requested subdirectory is unknown, but the configuration keeps one"
)
WHY_SYNC_REPO_UPDATE = (
    "The documented update-template-sync-config output shows another repositoryName than the request's "
    "(myrepos/myrepo for myrepos/templates): the request keeps the configuration's repository, so the value is "
    "the one the create answered"
)
WHY_SYNC_DELETE = (
    "The documented delete-template-sync-config output shows only templateName and templateType; the botocore "
    "model marks branch, repositoryName and repositoryProvider required in TemplateSyncConfig: when present, they "
    "are the configuration's"
)
CITE_SYNC_WRAPPER = (
    f"{BOTOCORE_MODEL}: the output member is templateSyncConfig (the User Guide's create, get and update examples "
    "label it templateSyncConfigDetails, which no SDK built from the model would read; its delete example shows "
    "templateSyncConfig)"
)


def template_sync_doc(branch):
    doc = {"branch": branch, "repositoryName": TEMPLATE_REPO, "repositoryProvider": REPO_PROVIDER,
           "templateName": ENV_TEMPLATE, "templateType": "ENVIRONMENT"}
    return doc


def uf_template_sync():
    s = flow_scenario("CreateTemplateSyncConfig",
                      "The template sync flow of the User Guide: with a linked repository and an environment "
                      "template, create, get, update (branch) and delete its template sync configuration, each "
                      "answer as documented.")
    create_repository(s, TEMPLATE_REPO, step="setup: link the templates repository")
    create_env_template(s, step="setup: create the environment template to sync")
    req = {"branch": "main", "repositoryName": TEMPLATE_REPO, "repositoryProvider": REPO_PROVIDER,
           "subdirectory": ENV_TEMPLATE, "templateName": ENV_TEMPLATE, "templateType": "ENVIRONMENT"}
    page_create = guide_output("create-template-sync", "create-template-sync-config")
    s.call("CreateTemplateSyncConfig", dict(req), {"templateSyncConfig": template_sync_doc("main")},
           expect={"$.templateSyncConfig.subdirectory": any_value(WHY_SUBDIRECTORY)},
           cite={"$.templateSyncConfig": page_create + ": the request's branch, repository, template name and type "
                 "echoed; " + CITE_SYNC_WRAPPER},
           rule=flow_rule("$.templateSyncConfig"),
           note=("Members as in the documented create-template-sync-config output; subdirectory is there, its "
                 "text unsettled by the example."),
           step="under test (CreateTemplateSyncConfig): sync the template from branch main")
    created = s.last
    key = {"templateName": ENV_TEMPLATE, "templateType": "ENVIRONMENT"}
    page_get = guide_output("view-template-sync", "get-template-sync-config")
    s.call("GetTemplateSyncConfig", dict(key), {"templateSyncConfig": template_sync_doc("main")},
           expect={"$.templateSyncConfig.subdirectory": any_value(WHY_SUBDIRECTORY, same_as=created)},
           cite={"$.templateSyncConfig": page_get + ": the configuration's members; values as created; "
                 + CITE_SYNC_WRAPPER},
           rule=flow_rule("$.templateSyncConfig"),
           note="The configuration as created; members as in the documented get-template-sync-config output.",
           step="under test (GetTemplateSyncConfig): the configuration")
    page_update = guide_output("update-template-sync", "update-template-sync-config")
    s.call("UpdateTemplateSyncConfig", dict(req, branch="release"),
                     {"templateSyncConfig": {k: v for k, v in template_sync_doc("release").items()
                                             if k != "repositoryName"}},
                     expect={"$.templateSyncConfig.subdirectory": any_value(WHY_SUBDIRECTORY, same_as=created),
                             "$.templateSyncConfig.repositoryName": any_value(WHY_SYNC_REPO_UPDATE, same_as=created)},
                     cite={"$.templateSyncConfig": page_update + ": the new branch, provider, template name and type; "
                           + CITE_SYNC_WRAPPER},
                     rule=flow_rule("$.templateSyncConfig"),
                     note="Moves the configuration to branch release; the answer shows the new branch, as documented.",
                     step="under test (UpdateTemplateSyncConfig): sync from branch release instead")
    s.call("GetTemplateSyncConfig", dict(key), {"templateSyncConfig": template_sync_doc("release")},
           expect={"$.templateSyncConfig.subdirectory": any_value(WHY_SUBDIRECTORY, same_as=created)},
           cite={"$.templateSyncConfig": page_get + "; values as updated; " + CITE_SYNC_WRAPPER},
           rule=flow_rule("$.templateSyncConfig.branch", role="check"),
           note="The update holds: branch release.",
           step="check: the configuration now names branch release")
    page_delete = guide_output("delete-template-sync", "delete-template-sync-config")
    s.call("DeleteTemplateSyncConfig", dict(key), {"templateSyncConfig": template_sync_doc("release")},
           expect={"$.templateSyncConfig.branch": may_be_absent(WHY_SYNC_DELETE),
                   "$.templateSyncConfig.repositoryName": may_be_absent(WHY_SYNC_DELETE),
                   "$.templateSyncConfig.repositoryProvider": may_be_absent(WHY_SYNC_DELETE),
                   "$.templateSyncConfig.subdirectory": may_be_absent(WHY_SYNC_DELETE, same_as=created)},
           cite={"$.templateSyncConfig": page_delete + ": templateName and templateType of the deleted "
                 "configuration; the other members, when present, as it was"},
           rule=flow_rule("$.templateSyncConfig"),
           note=("Members as in the documented delete-template-sync-config output (templateName, templateType); "
                 "the model's other required members may be there with the configuration's values."),
           step="under test (DeleteTemplateSyncConfig): stop syncing the template")
    return s


def service_sync_doc(branch):
    return {"branch": branch, "filePath": OPS_FILE, "repositoryName": SERVICE_REPO,
            "repositoryProvider": REPO_PROVIDER, "serviceName": SVC_NAME}


def uf_service_sync():
    s = flow_scenario("CreateServiceSyncConfig",
                      "The service sync flow of the User Guide: for a service and a linked repository holding its "
                      "Proton Ops file, create, get, update (branch) and delete the service sync configuration, "
                      "each answer as documented.")
    setup_service(s)
    create_repository(s, SERVICE_REPO, step="setup: link the service's repository")
    req = {"branch": "main", "filePath": OPS_FILE, "repositoryName": SERVICE_REPO,
           "repositoryProvider": REPO_PROVIDER, "serviceName": SVC_NAME}
    for op, page, command, input_, branch, step in (
        ("CreateServiceSyncConfig", "create-service-sync", "create-service-sync-config", dict(req), "main",
         "under test (CreateServiceSyncConfig): sync the service from its Proton Ops file on branch main"),
        ("GetServiceSyncConfig", "get-service-sync", "get-service-sync-config", {"serviceName": SVC_NAME}, "main",
         "under test (GetServiceSyncConfig): the configuration"),
        ("UpdateServiceSyncConfig", "update-service-sync", "update-service-sync-config", dict(req, branch="release"),
         "release", "under test (UpdateServiceSyncConfig): sync from branch release instead"),
        ("DeleteServiceSyncConfig", "delete-service-sync", "delete-service-sync-config", {"serviceName": SVC_NAME},
         "release", "under test (DeleteServiceSyncConfig): stop syncing the service"),
    ):
        s.call(op, input_, {"serviceSyncConfig": service_sync_doc(branch)},
               cite={"$.serviceSyncConfig": guide_output(page, command)
                     + ": branch, filePath, repositoryName, repositoryProvider and serviceName of the configuration "
                     "(the request's, as the example echoes them)"},
               rule=flow_rule("$.serviceSyncConfig"),
               note=f"Members as in the documented {command} output; branch {branch}.",
               step=step)
    return s


WHY_COMPONENT_PROVISIONED = (
    "Which provisioned resources a component lists (names and identifiers from the provisioning engine) is not "
    "documented; the member is required in the botocore model"
)
CITE_COMPONENT_OUTPUTS = (
    api_ref("ListComponentOutputs", "outputs, the component's IaC outputs") + "; the component's template file "
    "declares no Outputs, so there are none; " + model_shape("ListComponentOutputsOutput", "member outputs (required)")
)
CITE_COMPONENT_DELETE = (
    api_ref("DeleteComponent", "output, the component being deleted") + "; "
    + f"{BOTOCORE_WAITERS}: ComponentDeleted fails on deploymentStatus DELETE_FAILED and succeeds once GetComponent "
    "answers ResourceNotFoundException, so a delete runs through deploymentStatus; DELETE_IN_PROGRESS as "
    + guide_output("ag-env-delete", "delete-environment") + " shows for the same DeploymentStatus"
)
CITE_COMPONENT_UPDATE_NONE = (
    api_ref("UpdateComponent", "request deploymentType NONE: only the metadata is updated, no deployment")
    + "; an update moves lastModifiedAt, as " + guide_output("ag-svc-update", "update-service") + " shows for a service"
)


def component_gone(s):
    """The end of a component's delete: wait, then GetComponent finds nothing."""
    s.wait(ASYNC_DONE_MS, step="the delete completes")
    s.call("GetComponent", {"name": COMPONENT}, error=("ResourceNotFoundException", ""),
           expect={"$.message": any_value("The words of a ResourceNotFoundException for a component are not documented")},
           rule=flow_rule(role="check"),
           note="Gone: the ComponentDeleted waiter's success state (ResourceNotFoundException).",
           step="check: the component no longer exists (ComponentDeleted waiter's success state)",
           gap=AFTER_WAIT_GAP_MS)


def uf_component():
    s = flow_scenario("CreateComponent",
                      "The directly defined component flow of the User Guide: in an environment with a component "
                      "role, create a component, wait for its deployment, get and list it, list its outputs and "
                      "provisioned resources, update its description without redeploying, and delete it.")
    setup_component_environment(s)
    token = uuid4_from(s.name, "client-token")
    times = {"$.component.createdAt": CITE_NEW_RESOURCE_TIMES, "$.component.lastModifiedAt": CITE_NEW_RESOURCE_TIMES}
    created = s.call("CreateComponent", component_input(token),
                     lambda now: {"component": component_doc(now, now, "IN_PROGRESS", COMPONENT_DESC)},
                     expect=component_paths("$.component"), cite=times,
                     rule=flow_rule("$.component"),
                     note=("Creates a directly defined component (the guide's manifest) in dev-serverless: its "
                           "deployment IN_PROGRESS. No component output is documented: the model's members, with the "
                           "request's values."),
                     step="under test (CreateComponent): create the component")
    create_step = s.last
    create_at = s.clock
    done_paths = dict(component_paths("$.component", step=create_step, deploy_step=create_step),
                      **{"$.component.lastModifiedAt": any_value(
                          WHY_COMPONENT_DEPLOYED_MODIFIED)})
    s.poll("GetComponent", {"name": COMPONENT}, "component.deploymentStatus", ["SUCCEEDED"],
           [
               (create_at + OBSERVE_GAP_MS,
                {"component": component_doc(created, created, "IN_PROGRESS", COMPONENT_DESC)},
                "First poll, shortly after the create: deployment still IN_PROGRESS.",
                component_paths("$.component", step=create_step, deploy_step=create_step)),
               (create_at + OBSERVE_GAP_MS + POLL_MS,
                {"component": component_doc(created, created, "SUCCEEDED", COMPONENT_DESC)},
                "Deployment SUCCEEDED (the ComponentDeployed waiter's success state).",
                done_paths),
           ],
           cite={"$.component.createdAt": CITE_NEW_RESOURCE_TIMES,
                 "$.component.deploymentStatus": f"{BOTOCORE_WAITERS}: ComponentDeployed succeeds on SUCCEEDED"},
           rule=flow_rule("$.component"),
           step="under test (GetComponent): wait until the component is deployed (ComponentDeployed waiter)")
    deployed = s.last
    summary = component_doc(created, created, "SUCCEEDED", COMPONENT_DESC)
    del summary["description"]
    list_paths = component_paths("$.components[0]", step=create_step, deploy_step=create_step)
    del list_paths["$.components[0].lastClientRequestToken"]
    list_paths["$.components[0].lastModifiedAt"] = any_value(
        WHY_COMPONENT_DEPLOYED_MODIFIED, same_as=deployed)
    del summary["lastModifiedAt"]
    s.call("ListComponents", {"environmentName": ENV_NAME}, {"components": [summary]},
           expect=list_paths,
           cite={"$.components[0].createdAt": CITE_NEW_RESOURCE_TIMES},
           rule=flow_rule("$.components"),
           note="The one component of the environment. " + NOTE_LIST_SHAPE,
           step="under test (ListComponents): the environment's components")
    s.call("ListComponentOutputs", {"componentName": COMPONENT}, {"outputs": []},
           cite={"$.outputs": CITE_COMPONENT_OUTPUTS},
           rule=flow_rule("$.outputs"),
           note="The component's template declares no outputs: an empty list.",
           step="under test (ListComponentOutputs): the component's IaC outputs")
    s.call("ListComponentProvisionedResources", {"componentName": COMPONENT}, {},
           expect={"$.provisionedResources": any_value(WHY_COMPONENT_PROVISIONED)},
           cite={"$": api_ref("ListComponentProvisionedResources", "output") + "; only the required member's "
                 "presence is asserted"},
           rule=flow_rule("$.provisionedResources"),
           note="A list of provisioned resources; what it holds depends on the provisioning engine.",
           step="under test (ListComponentProvisionedResources): the component's provisioned resources")
    update_token = uuid4_from(s.name, "update-token")
    s.call("UpdateComponent",
                     {"clientToken": update_token, "deploymentType": "NONE", "description": COMPONENT_DESC_UPDATED,
                      "name": COMPONENT},
                     lambda now: {"component": component_doc(created, now, "SUCCEEDED", COMPONENT_DESC_UPDATED)},
                     expect=component_paths("$.component", step=create_step, deploy_step=create_step),
                     cite={"$.component.createdAt": CITE_NEW_RESOURCE_TIMES,
                           "$.component.lastModifiedAt": CITE_COMPONENT_UPDATE_NONE,
                           "$.component.deploymentStatus": CITE_COMPONENT_UPDATE_NONE},
                     rule=flow_rule("$.component"),
                     note=("Changes the description without redeploying (deploymentType NONE): the deployment stays "
                           "SUCCEEDED and is the create's; lastModifiedAt moves to now."),
                     step="under test (UpdateComponent): a new description, no redeployment")
    delete_paths = component_paths("$.component", step=create_step, deploy_step=create_step)
    delete_paths["$.component.lastModifiedAt"] = any_value(
        "Whether starting a delete moves a component's lastModifiedAt is not documented")
    body = component_doc(created, created, "DELETE_IN_PROGRESS", COMPONENT_DESC_UPDATED)
    s.call("DeleteComponent", {"name": COMPONENT}, {"component": body},
           expect=delete_paths,
           cite={"$.component.createdAt": CITE_NEW_RESOURCE_TIMES,
                 "$.component.deploymentStatus": CITE_COMPONENT_DELETE},
           rule=flow_rule("$.component"),
           note="Starts deleting the detached component: DELETE_IN_PROGRESS.",
           step="under test (DeleteComponent): delete the component")
    component_gone(s)
    return s


WHY_ACCOUNT_UNSET = (
    "No documented output shows account settings; a setting never made may be absent or empty "
    "(the model's RoleArnOrEmptyString allows \"\")"
)
CITE_ACCOUNT_ROLE = (
    api_ref("UpdateAccountSettings", "request pipelineServiceRoleArn and output accountSettings") + "; "
    + f"{GUIDE}/ag-create-svc.html: update-account-settings --pipeline-service-role-arn sets the pipeline role"
)


def account_paths(*, role_open):
    out = {
        "$.accountSettings.pipelineCodebuildRoleArn": may_be_absent(WHY_ACCOUNT_UNSET),
        "$.accountSettings.pipelineProvisioningRepository": may_be_absent(WHY_ACCOUNT_UNSET),
    }
    if role_open:
        out["$.accountSettings"] = may_be_absent(
            "GetAccountSettings's output member is optional in the botocore model and no output is documented")
        out["$.accountSettings.pipelineServiceRoleArn"] = may_be_absent(WHY_ACCOUNT_UNSET)
    return out


def uf_account_settings():
    s = flow_scenario("UpdateAccountSettings",
                      "The account settings the User Guide sets before creating a service with a pipeline: set the "
                      "pipeline service role with UpdateAccountSettings, and GetAccountSettings shows it.")
    s.call("GetAccountSettings", {}, {"accountSettings": {}},
           expect=account_paths(role_open=True),
           cite={"$.accountSettings": api_ref("GetAccountSettings") + "; nothing was set, so no setting is asserted"},
           note="Nothing set yet: the answer may hold no settings, or empty ones.",
           step="setup: the settings before any change")
    s.call("UpdateAccountSettings", {"pipelineServiceRoleArn": PIPELINE_ROLE},
           {"accountSettings": {"pipelineServiceRoleArn": PIPELINE_ROLE}},
           expect=account_paths(role_open=False),
           cite={"$.accountSettings.pipelineServiceRoleArn": CITE_ACCOUNT_ROLE},
           rule=flow_rule("$.accountSettings.pipelineServiceRoleArn"),
           note="Sets the pipeline service role, as the guide does before creating a service with a pipeline.",
           step="under test (UpdateAccountSettings): set the pipeline service role")
    s.call("GetAccountSettings", {}, {"accountSettings": {"pipelineServiceRoleArn": PIPELINE_ROLE}},
           expect=account_paths(role_open=False),
           cite={"$.accountSettings.pipelineServiceRoleArn": CITE_ACCOUNT_ROLE + "; "
                 + api_ref("GetAccountSettings", "output accountSettings")},
           rule=flow_rule("$.accountSettings.pipelineServiceRoleArn"),
           note="The role just set.",
           step="under test (GetAccountSettings): the settings show the role")
    return s


CITE_COUNTS_TOTAL_ONLY = (
    model_shape("CountsSummary", "members environmentTemplates and environments: they \"will only contain total "
                "members\"") + "; " + api_ref("GetResourcesSummary")
)
WHY_COUNTS_NONE = (
    "No resource of this type exists, so every count is 0; whether Proton includes a type it has none of, and which "
    "of the optional counts it shows, is not documented"
)


def uf_resources_summary():
    s = flow_scenario("GetResourcesSummary",
                      "The resources summary after the User Guide's first steps: one environment template and one "
                      "environment created from it, nothing else.")
    setup_environment(s)
    zero = {"behindMajor": 0, "behindMinor": 0, "failed": 0, "total": 0, "upToDate": 0}
    counts = {
        "components": {"failed": 0, "total": 0},
        "environmentTemplates": {"total": 1},
        "environments": {"total": 1},
        "pipelines": dict(zero),
        "serviceInstances": dict(zero),
        "serviceTemplates": {"total": 0},
        "services": dict(zero),
    }
    paths = {}
    for kind in ("components", "pipelines", "serviceInstances", "serviceTemplates", "services"):
        paths[f"$.counts.{kind}"] = may_be_absent(WHY_COUNTS_NONE)
        for member in counts[kind]:
            if member != "total":
                paths[f"$.counts.{kind}.{member}"] = may_be_absent(WHY_COUNTS_NONE)
    s.call("GetResourcesSummary", {}, {"counts": counts},
           expect=paths,
           cite={"$.counts.environmentTemplates": CITE_COUNTS_TOTAL_ONLY + "; one template was created",
                 "$.counts.environments": CITE_COUNTS_TOTAL_ONLY + "; one environment was created",
                 "$.counts.serviceTemplates": model_shape("CountsSummary", "member serviceTemplates (only total)")
                 + "; none exists",
                 "$.counts.components": model_shape("CountsSummary", "member components (only total and failed)")
                 + "; none exists",
                 "$.counts.pipelines": model_shape("ResourceCountsSummary") + "; none exists",
                 "$.counts.serviceInstances": model_shape("ResourceCountsSummary") + "; none exists",
                 "$.counts.services": model_shape("ResourceCountsSummary") + "; none exists"},
           rule=flow_rule("$.counts"),
           note=("Counts as the model documents them: templates and environments only a total; types with no "
                 "resource may be left out."),
           step="under test (GetResourcesSummary): the account's counts")
    return s


CITE_ATTACHED = (
    model_shape("Component", "members serviceName and serviceInstanceName: \"Provided when a component is attached "
                "to a service instance\"") + "; the request's values; "
    + f"{GUIDE}/ag-components-states.html: an attached component is associated with a service instance and an "
    "environment"
)
CITE_ATTACHED_ENV = (
    model_shape("Component", "member environmentName (the environment the component is associated with)")
    + "; the attached service instance's environment, "
    + f"{GUIDE}/ag-components-states.html: an attached component is associated with a service instance and an "
    "environment"
)
CITE_DETACHED = (
    model_shape("UpdateComponentInput", "members serviceName and serviceInstanceName: an empty string detaches "
                "the component") + "; "
    + model_shape("Component", "serviceName and serviceInstanceName are provided when attached, so a detached "
                  "component has neither") + "; " + f"{GUIDE}/ag-components-states.html: detaching removes the "
    "service and service instance names"
)
CITE_REDEPLOY = (
    api_ref("UpdateComponent", "request deploymentType CURRENT_VERSION: the component is deployed") + "; an update "
    "moves lastModifiedAt, as " + guide_output("ag-svc-update", "update-service") + " shows for a service"
)
WHY_DETACH_ANSWER = (
    "Whether the update's own answer already shows the component detached, or the attachment it is leaving, is "
    "not documented"
)


def uf_component_attached():
    s = flow_scenario("UpdateComponent",
                      "The component states of the User Guide: a directly defined component attached to a service "
                      "instance (its service template version supports DIRECTLY_DEFINED), detached with an update "
                      "that empties the service and instance names, then deleted, which a detached component may be.")
    s.component_sources = True
    setup_component_environment(s)
    setup_published_svc_template(s)
    created_svc = create_service(s, step="setup: create the service (instance orders-api-dev in dev-serverless)")
    poll_service(s, s.clock, created_svc,
                 step="setup: wait until the service is ACTIVE (ServiceCreated waiter's success state)")
    token = uuid4_from(s.name, "client-token")
    attach = {"serviceInstanceName": INSTANCE, "serviceName": SVC_NAME}
    request = {"clientToken": token, "description": COMPONENT_DESC, "manifest": COMPONENT_MANIFEST,
               "name": COMPONENT, "templateFile": COMPONENT_TEMPLATE, **attach}
    attached_cite = {"$.component.createdAt": CITE_NEW_RESOURCE_TIMES,
                     "$.component.serviceName": CITE_ATTACHED, "$.component.serviceInstanceName": CITE_ATTACHED,
                     "$.component.environmentName": CITE_ATTACHED_ENV}
    created = s.call("CreateComponent", request,
                     lambda now: {"component": dict(component_doc(now, now, "IN_PROGRESS", COMPONENT_DESC), **attach)},
                     expect=component_paths("$.component"),
                     cite=dict(attached_cite, **{"$.component.lastModifiedAt": CITE_NEW_RESOURCE_TIMES}),
                     rule=flow_rule("$.component"),
                     note=("Creates the component attached to instance orders-api-dev (no environmentName in the "
                           "request: the instance's environment is the component's). Deployment IN_PROGRESS."),
                     step="under test (CreateComponent): create the component attached to the service instance")
    create_step = s.last
    create_at = s.clock
    s.poll("GetComponent", {"name": COMPONENT}, "component.deploymentStatus", ["SUCCEEDED"],
           [
               (create_at + OBSERVE_GAP_MS,
                {"component": dict(component_doc(created, created, "IN_PROGRESS", COMPONENT_DESC), **attach)},
                "First poll, shortly after the create: deployment still IN_PROGRESS.",
                component_paths("$.component", step=create_step, deploy_step=create_step), attached_cite),
               (create_at + OBSERVE_GAP_MS + POLL_MS,
                {"component": dict(component_doc(created, created, "SUCCEEDED", COMPONENT_DESC), **attach)},
                "Deployment SUCCEEDED (the ComponentDeployed waiter's success state); still attached.",
                dict(component_paths("$.component", step=create_step, deploy_step=create_step),
                     **{"$.component.lastModifiedAt": any_value(
                         WHY_COMPONENT_DEPLOYED_MODIFIED)}),
                attached_cite),
           ],
           cite={"$.component.deploymentStatus": f"{BOTOCORE_WAITERS}: ComponentDeployed succeeds on SUCCEEDED"},
           rule=flow_rule("$.component.serviceName", "$.component.serviceInstanceName", role="check"),
           step="check: wait until the attached component is deployed (ComponentDeployed waiter)")
    update_token = uuid4_from(s.name, "update-token")
    detach_paths = dict(component_paths("$.component", step=create_step))
    detach_paths["$.component.serviceName"] = may_be_absent(WHY_DETACH_ANSWER)
    detach_paths["$.component.serviceInstanceName"] = may_be_absent(WHY_DETACH_ANSWER)
    detach_paths["$.component.lastAttemptedDeploymentId"] = may_be_absent(
        WHY_DEPLOYMENT_IDS + "; the update starts a new deployment", differs_from=create_step)
    updated = s.call("UpdateComponent",
                     {"clientToken": update_token, "deploymentType": "CURRENT_VERSION", "name": COMPONENT,
                      "serviceInstanceName": "", "serviceName": ""},
                     lambda now: {"component": component_doc(created, now, "IN_PROGRESS", COMPONENT_DESC)},
                     expect=detach_paths,
                     cite={"$.component.createdAt": CITE_NEW_RESOURCE_TIMES,
                           "$.component.lastModifiedAt": CITE_REDEPLOY,
                           "$.component.deploymentStatus": CITE_REDEPLOY},
                     rule=flow_rule("$.component.deploymentStatus", "$.component.lastModifiedAt"),
                     note=("Detaches the component (empty service and instance names) and redeploys it: "
                           "IN_PROGRESS, lastModifiedAt moves to now."),
                     step="under test (UpdateComponent): detach the component from the service instance")
    update_step = s.last
    update_at = s.clock
    detached_paths = dict(component_paths("$.component", step=create_step))
    detached_paths["$.component.lastAttemptedDeploymentId"] = may_be_absent(
        WHY_DEPLOYMENT_IDS + "; the update started a new deployment", same_as=update_step, differs_from=create_step)
    detached_paths["$.component.lastModifiedAt"] = any_value(
        WHY_COMPONENT_DEPLOYED_MODIFIED)
    s.poll("GetComponent", {"name": COMPONENT}, "component.deploymentStatus", ["SUCCEEDED"],
           [
               (update_at + OBSERVE_GAP_MS,
                {"component": component_doc(created, updated, "IN_PROGRESS", COMPONENT_DESC)},
                "First poll, shortly after the update: the deployment still IN_PROGRESS.",
                dict(detach_paths, **{"$.component.lastAttemptedDeploymentId": may_be_absent(
                    WHY_DEPLOYMENT_IDS, same_as=update_step)}),
                {"$.component.createdAt": CITE_NEW_RESOURCE_TIMES, "$.component.lastModifiedAt": CITE_REDEPLOY}),
               (update_at + OBSERVE_GAP_MS + POLL_MS,
                {"component": component_doc(created, updated, "SUCCEEDED", COMPONENT_DESC)},
                ("Deployed and detached: no serviceName or serviceInstanceName. Source: " + CITE_DETACHED + "."),
                detached_paths,
                {"$.component.createdAt": CITE_NEW_RESOURCE_TIMES}),
           ],
           cite={"$.component.deploymentStatus": f"{BOTOCORE_WAITERS}: ComponentDeployed succeeds on SUCCEEDED"},
           rule=flow_rule("$.component.serviceName", "$.component.serviceInstanceName", role="check"),
           step="check: once redeployed, the component is detached (ComponentDeployed waiter)")
    delete_paths = component_paths("$.component", step=create_step, deploy_step=update_step)
    delete_paths["$.component.lastModifiedAt"] = any_value(
        "Whether starting a delete moves a component's lastModifiedAt is not documented")
    s.call("DeleteComponent", {"name": COMPONENT},
           {"component": component_doc(created, created, "DELETE_IN_PROGRESS", COMPONENT_DESC)},
           expect=delete_paths,
           cite={"$.component.createdAt": CITE_NEW_RESOURCE_TIMES,
                 "$.component.deploymentStatus": CITE_COMPONENT_DELETE + "; "
                 + f"{GUIDE}/ag-components-states.html: a detached component can be deleted",
                 "$.component.environmentName": CITE_ATTACHED_ENV},
           rule=flow_rule("$.component"),
           note="The detached component can be deleted: DELETE_IN_PROGRESS.",
           step="under test (DeleteComponent): delete the detached component")
    component_gone(s)
    return s


# --------------------------------------------------------------------------
# All scenarios
# --------------------------------------------------------------------------


def all_scenarios():
    out = []
    for rule in ("same-parameters", "different-parameters", "token-expired", "retry-after-delete"):
        out += [ct_env_version(rule), ct_svc_version(rule), ct_connection(rule)]
    for rule in ("same-parameters", "resource-modified", "different-parameters"):
        out += [ic_env_template(rule), ic_svc_template(rule), ic_environment(rule), ic_service(rule)]
    for rule in ("retry-returns-metadata", "retry-returns-empty"):
        out += [id_env_template(rule), id_env_version(rule), id_svc_template(rule), id_svc_version(rule),
                id_connection(rule)]
    for rule in ("retry-in-progress", "retry-after-completion"):
        out += [ad_environment(rule), ad_service(rule)]
    out += [mt_create_instance("same-parameters"), mt_update_instance("same-parameters"),
            mt_create_component("same-parameters"), mt_update_component("same-parameters")]
    out += [uf_repository(), uf_template_sync(), uf_service_sync(), uf_component(), uf_component_attached(),
            uf_account_settings(), uf_resources_summary()]
    out.sort(key=lambda s: s.name)
    return out


def rendered_files():
    files = {}
    for s in all_scenarios():
        rel = f"{s.group}/{kebab(s.operation)}--{s.rule}.json"
        files[os.path.join(SCENARIO_DIR, rel)] = canonical(s.scenario_json())
        files[os.path.join(CASSETTE_DIR, rel)] = canonical(s.cassette_json())
    return files


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="verify the files instead of writing them")
    args = parser.parse_args()
    files = rendered_files()
    stale = []
    for path, text in sorted(files.items()):
        current = None
        if os.path.exists(path):
            with open(path, "r", encoding="utf-8") as fh:
                current = fh.read()
        if current == text:
            continue
        if args.check:
            stale.append(path)
        else:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w", encoding="utf-8", newline="\n") as fh:
                fh.write(text)
    extra = []
    for base in (SCENARIO_DIR, CASSETTE_DIR):
        for dirpath, _dirs, names in os.walk(base):
            for n in names:
                p = os.path.join(dirpath, n)
                if n.endswith(".json") and p not in files:
                    extra.append(p)
    for p in sorted(extra):
        print(f"not produced by this script: {os.path.relpath(p, ROOT)}", file=sys.stderr)
    if args.check:
        for p in stale:
            print(f"out of date: {os.path.relpath(p, ROOT)}", file=sys.stderr)
        return 1 if stale or extra else 0
    print(f"{len(files) // 2} scenarios, {len(files)} files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
