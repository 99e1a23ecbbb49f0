"""One application calling DynamoDB, S3 and SQS through a single endpoint
(AWS_ENDPOINT_URL), as an app pointed at one recorder would.

Usage: AWS_ENDPOINT_URL=http://127.0.0.1:PORT python3 app_client.py
Dummy credentials come from the environment. Prints one JSON object with
what the app saw; exits non-zero on any error.
"""

import json

import boto3
from botocore.config import Config

config = Config(region_name="us-east-1", retries={"max_attempts": 1},
                s3={"addressing_style": "path"})
dynamodb = boto3.client("dynamodb", config=config)
s3 = boto3.client("s3", config=config)
sqs = boto3.client("sqs", config=config)

dynamodb.create_table(
    TableName="orders",
    KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
    AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
    BillingMode="PAY_PER_REQUEST",
)
# botocore fills ClientRequestToken with a fresh UUID on every call.
dynamodb.transact_write_items(TransactItems=[
    {"Put": {"TableName": "orders", "Item": {"id": {"S": "1"}, "total": {"N": "30"}}}},
    {"Put": {"TableName": "orders", "Item": {"id": {"S": "2"}, "total": {"N": "12"}}}},
])
item = dynamodb.get_item(TableName="orders", Key={"id": {"S": "2"}})["Item"]
s3.create_bucket(Bucket="receipts")
s3.put_object(Bucket="receipts", Key="order-2.txt", Body=b"total 12")
receipt = s3.get_object(Bucket="receipts", Key="order-2.txt")["Body"].read().decode()
queue = sqs.create_queue(QueueName="shipping")["QueueUrl"]
sqs.send_message(QueueUrl=queue, MessageBody="ship order 2")
messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=1).get("Messages", [])
print(json.dumps({
    "item_total": item["total"]["N"],
    "receipt": receipt,
    "message": messages[0]["Body"] if messages else None,
}, sort_keys=True))
