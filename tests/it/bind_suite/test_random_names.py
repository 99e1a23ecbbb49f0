"""Tests that name every resource with uuid4, as many real suites do: each
run sends names, ids and bodies no earlier run sent."""

import hashlib
import json
import uuid

import pytest


def name(prefix):
    return f"{prefix}-{uuid.uuid4()}"


# SQS: queue names and the queue URLs that carry them.


def test_sqs_queue_url_holds_the_chosen_name(client):
    sqs = client("sqs")
    queue = name("queue")
    url = sqs.create_queue(QueueName=queue)["QueueUrl"]
    assert url.endswith("/" + queue)
    assert sqs.get_queue_url(QueueName=queue)["QueueUrl"] == url
    sqs.delete_queue(QueueUrl=url)


def test_sqs_message_round_trip(client):
    sqs = client("sqs")
    url = sqs.create_queue(QueueName=name("messages"))["QueueUrl"]
    body = f"hello {uuid.uuid4()}"
    sqs.send_message(QueueUrl=url, MessageBody=body)
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1)["Messages"]
    assert [m["Body"] for m in messages] == [body]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=messages[0]["ReceiptHandle"])
    sqs.delete_queue(QueueUrl=url)


def test_sqs_batch_entry_ids(client):
    sqs = client("sqs")
    url = sqs.create_queue(QueueName=name("batch"))["QueueUrl"]
    ids = [uuid.uuid4().hex for _ in range(3)]
    answer = sqs.send_message_batch(
        QueueUrl=url,
        Entries=[{"Id": i, "MessageBody": f"body-{i}"} for i in ids],
    )
    assert sorted(e["Id"] for e in answer["Successful"]) == sorted(ids)
    sqs.delete_queue(QueueUrl=url)


def test_sqs_fifo_deduplication_id(client):
    sqs = client("sqs")
    queue = name("fifo") + ".fifo"
    url = sqs.create_queue(
        QueueName=queue, Attributes={"FifoQueue": "true"}
    )["QueueUrl"]
    sent = sqs.send_message(
        QueueUrl=url,
        MessageBody="ordered",
        MessageGroupId="group",
        MessageDeduplicationId=str(uuid.uuid4()),
    )
    assert sent["MessageId"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    assert attributes["Attributes"]["QueueArn"].endswith(":" + queue)
    sqs.delete_queue(QueueUrl=url)


def test_sqs_list_queues_by_prefix(client):
    sqs = client("sqs")
    prefix = f"listed-{uuid.uuid4().hex[:12]}"
    urls = [sqs.create_queue(QueueName=f"{prefix}-{n}")["QueueUrl"] for n in range(2)]
    listed = sqs.list_queues(QueueNamePrefix=prefix)["QueueUrls"]
    assert sorted(listed) == sorted(urls)
    for url in urls:
        sqs.delete_queue(QueueUrl=url)


# DynamoDB: table names and item keys.


def test_dynamodb_table_and_items(client):
    ddb = client("dynamodb")
    table = name("table")
    created = ddb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    assert created["TableDescription"]["TableArn"].endswith("/" + table)
    key = str(uuid.uuid4())
    ddb.put_item(TableName=table, Item={"id": {"S": key}, "n": {"N": "1"}})
    item = ddb.get_item(TableName=table, Key={"id": {"S": key}})["Item"]
    assert item["id"]["S"] == key
    assert ddb.describe_table(TableName=table)["Table"]["TableName"] == table
    ddb.delete_table(TableName=table)


def test_dynamodb_query_by_generated_key(client):
    ddb = client("dynamodb")
    table = name("query")
    ddb.create_table(
        TableName=table,
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    pk = uuid.uuid4().hex
    for sk in ("a", "b"):
        ddb.put_item(TableName=table, Item={"pk": {"S": pk}, "sk": {"S": sk}})
    found = ddb.query(
        TableName=table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": pk}},
    )
    assert [i["sk"]["S"] for i in found["Items"]] == ["a", "b"]
    assert all(i["pk"]["S"] == pk for i in found["Items"])
    ddb.delete_table(TableName=table)


# S3: bucket names and object keys in the path.


def test_s3_bucket_and_key_names(client):
    s3 = client("s3")
    bucket = f"bucket-{uuid.uuid4()}"
    key = f"folder/{uuid.uuid4()}.txt"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key=key, Body=b"payload")
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == b"payload"
    listed = s3.list_objects_v2(Bucket=bucket)["Contents"]
    assert [o["Key"] for o in listed] == [key]
    s3.delete_object(Bucket=bucket, Key=key)
    s3.delete_bucket(Bucket=bucket)


def test_s3_object_body_names_itself(client):
    s3 = client("s3")
    bucket = f"self-{uuid.uuid4().hex}"
    key = uuid.uuid4().hex
    body = f"I am {key}".encode()
    etag = f'"{hashlib.md5(body).hexdigest()}"'
    s3.create_bucket(Bucket=bucket)
    assert s3.put_object(Bucket=bucket, Key=key, Body=body)["ETag"] == etag
    got = s3.get_object(Bucket=bucket, Key=key)
    assert got["Body"].read() == body
    assert got["ETag"] == etag
    assert [o["ETag"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == [etag]
    s3.delete_object(Bucket=bucket, Key=key)
    s3.delete_bucket(Bucket=bucket)


def test_s3_list_buckets_shows_the_new_bucket(client):
    s3 = client("s3")
    bucket = f"listed-{uuid.uuid4()}"
    s3.create_bucket(Bucket=bucket)
    assert bucket in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    s3.delete_bucket(Bucket=bucket)


# SNS: topic names and the ARNs that carry them.


def test_sns_topic_arn_holds_the_chosen_name(client):
    sns = client("sns")
    topic = name("topic")
    arn = sns.create_topic(Name=topic)["TopicArn"]
    assert arn.endswith(":" + topic)
    attributes = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
    assert attributes["TopicArn"] == arn
    sns.delete_topic(TopicArn=arn)


def test_sns_publish_to_a_subscribed_queue(client):
    sns = client("sns")
    sqs = client("sqs")
    arn = sns.create_topic(Name=name("fanout"))["TopicArn"]
    url = sqs.create_queue(QueueName=name("subscriber"))["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    sub = sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue_arn)
    assert sub["SubscriptionArn"].startswith(arn + ":")
    text = f"news {uuid.uuid4()}"
    sns.publish(TopicArn=arn, Message=text)
    received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1)["Messages"]
    assert json.loads(received[0]["Body"])["Message"] == text
    sns.delete_topic(TopicArn=arn)
    sqs.delete_queue(QueueUrl=url)


# Secrets Manager: secret names and values.


def test_secretsmanager_secret_round_trip(client):
    sm = client("secretsmanager")
    secret = name("secret")
    value = uuid.uuid4().hex
    created = sm.create_secret(Name=secret, SecretString=value)
    assert created["Name"] == secret
    assert f":secret:{secret}-" in created["ARN"]
    got = sm.get_secret_value(SecretId=secret)
    # The recorder writes secret values as placeholders, so replay cannot
    # give the value back; the name and ARN it can.
    assert got["Name"] == secret
    assert got["ARN"] == created["ARN"]
    sm.delete_secret(SecretId=created["ARN"], ForceDeleteWithoutRecovery=True)


@pytest.mark.parametrize("count", [2])
def test_secretsmanager_list_by_name_filter(client, count):
    sm = client("secretsmanager")
    prefix = f"filtered-{uuid.uuid4().hex[:16]}"
    arns = [
        sm.create_secret(Name=f"{prefix}-{n}", SecretString="x")["ARN"]
        for n in range(count)
    ]
    listed = sm.list_secrets(Filters=[{"Key": "name", "Values": [prefix]}])
    assert sorted(s["ARN"] for s in listed["SecretList"]) == sorted(arns)
    for arn in arns:
        sm.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)
