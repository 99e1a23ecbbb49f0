"""Requests that really differ from a recording, for the replay tests.

`python3 negatives.py record` makes the calls a recording holds: a queue
with a fixed name, and a table with two items under two generated keys.
`python3 negatives.py replay` then makes calls that differ: another fixed
name, and one generated key reused where the recording had two. It prints
one JSON line: each call's outcome (`ok`, or the error message).
"""

import json
import os
import sys
import uuid

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError


def client(service):
    return boto3.client(
        service,
        endpoint_url=os.environ["BIND_SUITE_ENDPOINT"],
        region_name="us-east-1",
        aws_access_key_id="AKIDBINDSUITE0000000",
        aws_secret_access_key="bind-suite-dummy-secret",
        config=Config(retries={"max_attempts": 1, "mode": "standard"}),
    )


def outcome(call):
    try:
        call()
        return "ok"
    except ClientError as error:
        return error.response["Error"].get("Message", str(error))


def main(mode):
    sqs, ddb = client("sqs"), client("dynamodb")
    table = f"negatives-{uuid.uuid4()}"
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    if mode == "replay":
        second = first
    queue = "fixed-queue-name" if mode == "record" else "other-queue-name"
    results = {
        "create_table": outcome(
            lambda: ddb.create_table(
                TableName=table,
                KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
            )
        ),
        "put_first": outcome(
            lambda: ddb.put_item(
                TableName=table, Item={"id": {"S": first}, "n": {"N": "1"}}
            )
        ),
        "put_second": outcome(
            lambda: ddb.put_item(
                TableName=table, Item={"id": {"S": second}, "n": {"N": "2"}}
            )
        ),
        "fixed_queue": outcome(lambda: sqs.create_queue(QueueName=queue)),
    }
    print(json.dumps(results))


if __name__ == "__main__":
    main(sys.argv[1])
