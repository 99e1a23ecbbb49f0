// What the JS SDK v3 makes of a replay miss: GetObject and HeadObject of a
// key the cassette does not hold.
// Usage: node s3_miss.mjs ENDPOINT; prints JSON.
import { S3Client, GetObjectCommand, HeadObjectCommand } from "@aws-sdk/client-s3";

const [endpoint] = process.argv.slice(2);
const s3 = new S3Client({ endpoint, region: "us-east-1", forcePathStyle: true, maxAttempts: 1 });
const failure = async (command) => {
  try {
    await s3.send(command);
    return { succeeded: true };
  } catch (e) {
    return { name: e.name, message: e.message, status: e.$metadata?.httpStatusCode ?? 0 };
  }
};
const result = {
  get: await failure(new GetObjectCommand({ Bucket: "kept", Key: "missing.txt" })),
  head: await failure(new HeadObjectCommand({ Bucket: "kept", Key: "missing.txt" })),
};
console.log(JSON.stringify(result));
