"""More of what real suites do with generated values: tags, batches,
conditional writes, copies, versions, and names built from timestamps and
random numbers."""

import random
import secrets
import time
import uuid

import pytest
from botocore.exceptions import ClientError


def stamp(prefix):
    return f"{prefix}-{time.time_ns()}"


# SQS


def test_sqs_tags_and_visibility(client):
    sqs = client("sqs")
    url = sqs.create_queue(QueueName=stamp("tagged"))["QueueUrl"]
    owner = str(uuid.uuid4())
    sqs.tag_queue(QueueUrl=url, Tags={"owner": owner})
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"owner": owner}
    sqs.send_message(QueueUrl=url, MessageBody=owner)
    message = sqs.receive_message(QueueUrl=url)["Messages"][0]
    assert message["Body"] == owner
    sqs.change_message_visibility(
        QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
    )
    sqs.delete_queue(QueueUrl=url)


def test_sqs_delete_message_batch(client):
    sqs = client("sqs")
    url = sqs.create_queue(QueueName=f"q{random.randint(10**9, 10**10 - 1)}")["QueueUrl"]
    for n in range(2):
        sqs.send_message(QueueUrl=url, MessageBody=f"m{n}")
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    entries = [
        {"Id": secrets.token_hex(8), "ReceiptHandle": m["ReceiptHandle"]}
        for m in messages
    ]
    deleted = sqs.delete_message_batch(QueueUrl=url, Entries=entries)
    assert sorted(d["Id"] for d in deleted["Successful"]) == sorted(
        e["Id"] for e in entries
    )
    sqs.delete_queue(QueueUrl=url)


def test_sqs_message_attributes(client):
    sqs = client("sqs")
    url = sqs.create_queue(QueueName=f"attrs-{uuid.uuid4().hex[:10]}")["QueueUrl"]
    trace = str(uuid.uuid4())
    sqs.send_message(
        QueueUrl=url,
        MessageBody="with attributes",
        MessageAttributes={"trace": {"DataType": "String", "StringValue": trace}},
    )
    message = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"])[
        "Messages"
    ][0]
    assert message["MessageAttributes"]["trace"]["StringValue"] == trace
    sqs.delete_queue(QueueUrl=url)


# DynamoDB


def make_table(ddb, name):
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


def test_dynamodb_update_item_returns_new_values(client):
    ddb = client("dynamodb")
    table = f"update-{uuid.uuid4()}"
    make_table(ddb, table)
    key = {"id": {"S": uuid.uuid4().hex}}
    ddb.put_item(TableName=table, Item={**key, "count": {"N": "1"}})
    updated = ddb.update_item(
        TableName=table,
        Key=key,
        UpdateExpression="SET #c = #c + :one",
        ExpressionAttributeNames={"#c": "count"},
        ExpressionAttributeValues={":one": {"N": "1"}},
        ReturnValues="ALL_NEW",
    )
    assert updated["Attributes"]["count"]["N"] == "2"
    assert updated["Attributes"]["id"] == key["id"]
    ddb.delete_table(TableName=table)


def test_dynamodb_conditional_put_fails_on_existing_key(client):
    ddb = client("dynamodb")
    table = f"cond-{uuid.uuid4()}"
    make_table(ddb, table)
    item = {"id": {"S": str(uuid.uuid4())}}
    ddb.put_item(TableName=table, Item=item)
    with pytest.raises(ClientError) as failed:
        ddb.put_item(
            TableName=table, Item=item, ConditionExpression="attribute_not_exists(id)"
        )
    assert failed.value.response["Error"]["Code"] == "ConditionalCheckFailedException"
    ddb.delete_table(TableName=table)


def test_dynamodb_batch_write_and_scan(client):
    ddb = client("dynamodb")
    table = f"batch-{uuid.uuid4()}"
    make_table(ddb, table)
    ids = sorted(str(uuid.uuid4()) for _ in range(3))
    ddb.batch_write_item(
        RequestItems={table: [{"PutRequest": {"Item": {"id": {"S": i}}}} for i in ids]}
    )
    scanned = ddb.scan(TableName=table)["Items"]
    assert sorted(i["id"]["S"] for i in scanned) == ids
    assert table in ddb.list_tables()["TableNames"]
    ddb.delete_table(TableName=table)


def test_dynamodb_transaction_with_client_token(client):
    ddb = client("dynamodb")
    table = f"txn-{uuid.uuid4()}"
    make_table(ddb, table)
    key = str(uuid.uuid4())
    ddb.transact_write_items(
        TransactItems=[{"Put": {"TableName": table, "Item": {"id": {"S": key}}}}]
    )
    assert ddb.get_item(TableName=table, Key={"id": {"S": key}})["Item"]["id"]["S"] == key
    ddb.delete_table(TableName=table)


# S3


def test_s3_copy_and_head(client):
    s3 = client("s3")
    bucket = f"copy-{uuid.uuid4()}"
    source, target = f"src-{uuid.uuid4()}", f"dst-{uuid.uuid4()}"
    s3.create_bucket(Bucket=bucket)
    put = s3.put_object(Bucket=bucket, Key=source, Body=b"copied")
    s3.copy_object(Bucket=bucket, Key=target, CopySource={"Bucket": bucket, "Key": source})
    assert s3.head_object(Bucket=bucket, Key=target)["ETag"] == put["ETag"]
    with pytest.raises(ClientError) as missing:
        s3.head_object(Bucket=bucket, Key=f"missing-{uuid.uuid4()}")
    assert missing.value.response["Error"]["Code"] == "404"
    for key in (source, target):
        s3.delete_object(Bucket=bucket, Key=key)
    s3.delete_bucket(Bucket=bucket)


def test_s3_tagging_and_prefix_listing(client):
    s3 = client("s3")
    bucket = f"tags-{secrets.token_hex(10)}"
    prefix = f"run-{uuid.uuid4()}/"
    s3.create_bucket(Bucket=bucket)
    keys = [f"{prefix}{n}.json" for n in range(2)]
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=b"{}")
    owner = uuid.uuid4().hex
    s3.put_object_tagging(
        Bucket=bucket, Key=keys[0], Tagging={"TagSet": [{"Key": "owner", "Value": owner}]}
    )
    tags = s3.get_object_tagging(Bucket=bucket, Key=keys[0])["TagSet"]
    assert tags == [{"Key": "owner", "Value": owner}]
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=prefix)["Contents"]
    assert [o["Key"] for o in listed] == keys
    s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys]})
    s3.delete_bucket(Bucket=bucket)


# SNS


def test_sns_tags_and_subscriptions(client):
    sns = client("sns")
    arn = sns.create_topic(Name=stamp("tagged-topic"))["TopicArn"]
    team = str(uuid.uuid4())
    sns.tag_resource(ResourceArn=arn, Tags=[{"Key": "team", "Value": team}])
    tags = sns.list_tags_for_resource(ResourceArn=arn)["Tags"]
    assert tags == [{"Key": "team", "Value": team}]
    endpoint = f"https://example.com/{uuid.uuid4()}"
    sns.subscribe(TopicArn=arn, Protocol="https", Endpoint=endpoint)
    subscriptions = sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"]
    assert [s["Endpoint"] for s in subscriptions] == [endpoint]
    sns.delete_topic(TopicArn=arn)


def test_sns_fifo_topic_publish(client):
    sns = client("sns")
    arn = sns.create_topic(
        Name=f"fifo-{uuid.uuid4().hex}.fifo",
        Attributes={"FifoTopic": "true", "ContentBasedDeduplication": "false"},
    )["TopicArn"]
    published = sns.publish(
        TopicArn=arn,
        Message="ordered",
        MessageGroupId="group",
        MessageDeduplicationId=str(uuid.uuid4()),
    )
    assert published["MessageId"]
    sns.delete_topic(TopicArn=arn)


# Secrets Manager


def test_secretsmanager_versions(client):
    sm = client("secretsmanager")
    name = f"versions-{secrets.token_hex(6)}"
    sm.create_secret(Name=name, SecretString="v1")
    second = sm.put_secret_value(SecretId=name, SecretString=f"v2-{uuid.uuid4()}")
    current = sm.get_secret_value(SecretId=name)
    assert current["VersionId"] == second["VersionId"]
    ids = [v["VersionId"] for v in sm.list_secret_version_ids(SecretId=name)["Versions"]]
    assert second["VersionId"] in ids
    sm.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)


def test_secretsmanager_update_description(client):
    sm = client("secretsmanager")
    name = f"described-{uuid.uuid4()}"
    sm.create_secret(Name=name, SecretString="x")
    description = f"owned by {uuid.uuid4()}"
    sm.update_secret(SecretId=name, Description=description)
    assert sm.describe_secret(SecretId=name)["Description"] == description
    sm.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
