// One app calling DynamoDB (TransactWriteItems with the SDK's own client
// token), S3 and SQS through the single endpoint in AWS_ENDPOINT_URL.
// Usage: AWS_ENDPOINT_URL=http://127.0.0.1:PORT node app.mjs; prints JSON.
import { DynamoDBClient, CreateTableCommand, TransactWriteItemsCommand, GetItemCommand } from "@aws-sdk/client-dynamodb";
import { S3Client, CreateBucketCommand, PutObjectCommand, GetObjectCommand } from "@aws-sdk/client-s3";
import { SQSClient, CreateQueueCommand, SendMessageCommand, ReceiveMessageCommand } from "@aws-sdk/client-sqs";

const common = { region: "us-east-1", maxAttempts: 1 };
const dynamodb = new DynamoDBClient(common);
const s3 = new S3Client({ ...common, forcePathStyle: true });
// The SQS client sends to the host of a QueueUrl by default, which would
// bypass the recorder; keep it on the configured endpoint.
const sqs = new SQSClient({ ...common, useQueueUrlAsEndpoint: false });

await dynamodb.send(new CreateTableCommand({
  TableName: "js-orders",
  KeySchema: [{ AttributeName: "id", KeyType: "HASH" }],
  AttributeDefinitions: [{ AttributeName: "id", AttributeType: "S" }],
  BillingMode: "PAY_PER_REQUEST",
}));
await dynamodb.send(new TransactWriteItemsCommand({
  TransactItems: [{ Put: { TableName: "js-orders", Item: { id: { S: "7" }, total: { N: "70" } } } }],
}));
const item = (await dynamodb.send(new GetItemCommand({ TableName: "js-orders", Key: { id: { S: "7" } } }))).Item;
await s3.send(new CreateBucketCommand({ Bucket: "js-receipts" }));
await s3.send(new PutObjectCommand({ Bucket: "js-receipts", Key: "order-7.txt", Body: "total 70" }));
const receipt = await (await s3.send(new GetObjectCommand({ Bucket: "js-receipts", Key: "order-7.txt" }))).Body.transformToString();
const queue = (await sqs.send(new CreateQueueCommand({ QueueName: "js-shipping" }))).QueueUrl;
await sqs.send(new SendMessageCommand({ QueueUrl: queue, MessageBody: "ship order 7" }));
const messages = (await sqs.send(new ReceiveMessageCommand({ QueueUrl: queue, MaxNumberOfMessages: 1 }))).Messages ?? [];
console.log(JSON.stringify({ item_total: item.total.N, receipt, message: messages[0]?.Body ?? null }));
