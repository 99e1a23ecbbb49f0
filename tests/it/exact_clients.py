"""DynamoDB and S3 calls through boto3, printing what the client saw as JSON.

Usage: exact_clients.py ENDPOINT fixed|moto

boto3 checks DynamoDB's x-amz-crc32 and S3's x-amz-checksum-crc32 against
the bytes it receives, so a byte changed anywhere on the way is an error
here. Retries are off: a checksum error is reported once, not retried.
"""

import base64
import json
import sys

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

endpoint, mode = sys.argv[1], sys.argv[2]
config = Config(
    retries={"max_attempts": 1, "mode": "standard"},
    s3={"addressing_style": "path"},
    request_checksum_calculation="when_required",
    response_checksum_validation="when_supported",
)
session = boto3.session.Session(
    aws_access_key_id="AKIDDUMMYCLIENT00000",
    aws_secret_access_key="dummy-client-secret-not-used",
    region_name="us-east-1",
)
ddb = session.client("dynamodb", endpoint_url=endpoint, config=config)
s3 = session.client("s3", endpoint_url=endpoint, config=config)

OBJECTS = {
    "json": b'{"b": 1,  "a": [1.0E2, 3]}',
    "compact-json": b'{"z":1.50,"a":"\\u00e9"}',
    "number": b"1e3\n",
    "big": b"123456789012345678901234567890",
    "invalid-utf8": b"\xff\xfeabc\xc3",
    "binary": bytes(range(256)),
    "empty": b"",
}

seen = {}
if mode == "moto":
    ddb.create_table(
        TableName="t",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.put_item(
        TableName="t",
        Item={
            "id": {"S": "a"},
            "big": {"N": "123456789012345678901234567890"},
            "ratio": {"N": "1.712345678123E9"},
            "text": {"S": "caf\u00e9 \u2603"},
        },
    )
    s3.create_bucket(Bucket="bkt")
    for key, body in OBJECTS.items():
        s3.put_object(Bucket="bkt", Key=key, Body=body)

item = ddb.get_item(TableName="t", Key={"id": {"S": "a"}})
seen["item"] = item["Item"]
try:
    ddb.put_item(
        TableName="t",
        Item={"id": {"S": "a"}},
        ConditionExpression="attribute_not_exists(id)",
    )
    seen["conditional"] = "no error"
except ClientError as error:
    seen["conditional"] = error.response["Error"]["Code"]

seen["objects"] = {}
for key in OBJECTS:
    got = s3.get_object(Bucket="bkt", Key=key)
    seen["objects"][key] = base64.b64encode(got["Body"].read()).decode()
head = s3.head_object(Bucket="bkt", Key="binary")
seen["head"] = {"ContentLength": head["ContentLength"], "ETag": head["ETag"]}
print(json.dumps(seen, sort_keys=True))
