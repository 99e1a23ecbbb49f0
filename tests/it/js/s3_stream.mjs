// JS SDK v3 S3 calls for the every-service tests.
// Usage: node s3_stream.mjs ENDPOINT PIECE_SIZE
// Uploads a payload as a stream (the SDK sends it aws-chunked with a
// checksum trailer), reads it back, and prints what it saw as JSON.
import { S3Client, CreateBucketCommand, PutObjectCommand, GetObjectCommand } from "@aws-sdk/client-s3";
import { Readable } from "node:stream";
import { createHash } from "node:crypto";

const [endpoint, pieceText] = process.argv.slice(2);
const piece = Number(pieceText);
const s3 = new S3Client({
  endpoint,
  region: "us-east-1",
  forcePathStyle: true,
  maxAttempts: 1,
});

const payload = Buffer.alloc(150000);
for (let i = 0; i < payload.length; i++) payload[i] = (i * 7919) % 251;

function stream() {
  const pieces = [];
  for (let i = 0; i < payload.length; i += piece) pieces.push(payload.subarray(i, i + piece));
  return Readable.from(pieces);
}

await s3.send(new CreateBucketCommand({ Bucket: "streams" }));
const put = await s3.send(new PutObjectCommand({
  Bucket: "streams",
  Key: "streamed",
  Body: stream(),
  ContentLength: payload.length,
}));
const got = await s3.send(new GetObjectCommand({ Bucket: "streams", Key: "streamed" }));
const bytes = Buffer.from(await got.Body.transformToByteArray());
console.log(JSON.stringify({
  etag: put.ETag,
  same_bytes: Buffer.compare(bytes, payload) === 0,
  length: bytes.length,
  sha256: createHash("sha256").update(bytes).digest("hex"),
}));
