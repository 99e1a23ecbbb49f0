#!/usr/bin/env python3
"""boto3 scenarios that the integration tests record and replay.

Usage: boto_scenarios.py ENDPOINT SCENARIO ACCESS_KEY_ID SECRET

Prints one JSON document: what each call returned (dates as strings, bytes
as base64, ResponseMetadata dropped). boto3 fills in every idempotency
token itself, so each run sends fresh ones.
"""

import base64
import datetime
import json
import sys

import boto3
from botocore.config import Config

SECRET_STRING = "correct-horse-battery-staple-4711"
PARAMETER_VALUE = "p@ss word/with+symbols=="
PLAINTEXT = b"kms plaintext that must not be recorded"


def plain(value):
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode()
    if hasattr(value, "read"):
        return base64.b64encode(value.read()).decode()
    return value


def tokens(client):
    ddb = client("dynamodb")
    out = {}
    out["create_table"] = ddb.create_table(
        TableName="orders",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )["TableDescription"]["TableName"]
    items = [{"Put": {"TableName": "orders", "Item": {"id": {"S": f"o-{i}"}}}} for i in range(2)]
    out["transact"] = ddb.transact_write_items(TransactItems=items)
    out["get"] = ddb.get_item(TableName="orders", Key={"id": {"S": "o-1"}})
    sm = client("secretsmanager")
    created = sm.create_secret(Name="app/db", SecretString="first")
    out["create_secret"] = {"Name": created["Name"], "VersionId": created["VersionId"]}
    put = sm.put_secret_value(SecretId="app/db", SecretString="second")
    out["put_secret_value"] = {"VersionId": put["VersionId"]}
    return out


def secrets(client):
    out = {}
    sts = client("sts")
    out["assume_role"] = sts.assume_role(
        RoleArn="arn:aws:iam::123456789012:role/deployer", RoleSessionName="ci"
    )["Credentials"]
    out["session_token"] = sts.get_session_token()["Credentials"]
    iam = client("iam")
    iam.create_user(UserName="alice")
    key = iam.create_access_key(UserName="alice")["AccessKey"]
    out["access_key"] = key
    # The id a replayed CreateAccessKey gave back must find the recorded call.
    iam.delete_access_key(UserName="alice", AccessKeyId=key["AccessKeyId"])
    sm = client("secretsmanager")
    sm.create_secret(Name="api", SecretString=SECRET_STRING)
    out["secret"] = sm.get_secret_value(SecretId="api")
    ssm = client("ssm")
    ssm.put_parameter(Name="/app/pw", Value=PARAMETER_VALUE, Type="SecureString")
    out["parameter"] = ssm.get_parameter(Name="/app/pw", WithDecryption=True)["Parameter"]
    kms = client("kms")
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    blob = kms.encrypt(KeyId=key_id, Plaintext=PLAINTEXT)["CiphertextBlob"]
    out["decrypt"] = kms.decrypt(CiphertextBlob=blob)
    return out


def main():
    endpoint, scenario, akid, secret = sys.argv[1:5]
    session = boto3.session.Session(
        aws_access_key_id=akid, aws_secret_access_key=secret, region_name="us-east-1"
    )
    config = Config(retries={"max_attempts": 1, "mode": "standard"})

    def client(name):
        return session.client(name, endpoint_url=endpoint, config=config)

    result = {"tokens": tokens, "secrets": secrets}[scenario](client)
    print(json.dumps(plain(result), sort_keys=True))


if __name__ == "__main__":
    main()
