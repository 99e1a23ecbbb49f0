"""Secrets Manager calls with client tokens, for the --on-miss record tests.

Usage: python3 secrets_client.py ENDPOINT TOKEN_PREFIX
Creates a secret with ClientRequestToken PREFIX-create, retries that create
with the same token (as an SDK retries after a lost answer), and puts a new
value with PREFIX-put. Prints what came back as JSON.
"""

import json
import sys

import boto3
from botocore.config import Config

endpoint, prefix = sys.argv[1:3]
client = boto3.client("secretsmanager", endpoint_url=endpoint, region_name="us-east-1",
                      config=Config(retries={"max_attempts": 1}))
token = f"{prefix}-create-0000-0000-0000-000000000000"[:36]
first = client.create_secret(Name="db-password", SecretString="hunter2", ClientRequestToken=token)
retry = client.create_secret(Name="db-password", SecretString="hunter2", ClientRequestToken=token)
put = client.put_secret_value(SecretId="db-password", SecretString="hunter3",
                              ClientRequestToken=f"{prefix}-put-00000-0000-0000-000000000000"[:36])
print(json.dumps({
    "arn": first["ARN"],
    "retry_same_arn": retry["ARN"] == first["ARN"],
    "retry_same_version": retry["VersionId"] == first["VersionId"],
    "put_arn": put["ARN"],
}, sort_keys=True))
