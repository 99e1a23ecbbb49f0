// The calls of s3_client.py's `meaning` scenario from the JS SDK v3, which
// adds what boto3 (set to checksums only when required) does not: a CRC32
// checksum and its algorithm on every upload, a default Content-Type, and
// `x-id` in the query. Then the variants: each call again with one header
// that changes the answer set otherwise (a range, a condition, no checksum
// mode, a copy-source range), each expected to find no recording.
// Usage: node s3_meaning.mjs ENDPOINT [--variants]; prints JSON.
import {
  S3Client, CreateBucketCommand, PutObjectCommand, GetObjectCommand,
  CreateMultipartUploadCommand, UploadPartCopyCommand, AbortMultipartUploadCommand,
} from "@aws-sdk/client-s3";

const [endpoint, flag] = process.argv.slice(2);
const s3 = new S3Client({
  endpoint,
  region: "us-east-1",
  forcePathStyle: true,
  maxAttempts: 1,
  requestChecksumCalculation: "WHEN_SUPPORTED",
  responseChecksumValidation: "WHEN_REQUIRED",
});
const Bucket = "meaning";
const Key = "doc.txt";
const read = async (extra) =>
  (await s3.send(new GetObjectCommand({ Bucket, Key, ...extra }))).Body.transformToString();
const status = async (call) => {
  try {
    await call();
    return 200;
  } catch (e) {
    return e.$metadata?.httpStatusCode ?? 0;
  }
};

await s3.send(new CreateBucketCommand({ Bucket }));
const put = await s3.send(new PutObjectCommand({
  Bucket, Key, Body: "0123456789abcdefghij", Metadata: { purpose: "matching" },
}));
const etag = put.ETag;
const first = await read({ Range: "bytes=0-4" });
const second = await read({ Range: "bytes=5-9" });
const notModified = (await status(() => read({ IfNoneMatch: etag }))) === 304;
const checked = await read({ ChecksumMode: "ENABLED" });
const upload = (await s3.send(new CreateMultipartUploadCommand({ Bucket, Key: "copy.txt" }))).UploadId;
const copyPart = (range) => s3.send(new UploadPartCopyCommand({
  Bucket, Key: "copy.txt", UploadId: upload, PartNumber: 1,
  CopySource: "meaning/doc.txt", CopySourceRange: range,
}));
const part = await copyPart("bytes=0-9");
const result = {
  etag, first, second, not_modified: notModified, checked,
  part_etag: part.CopyPartResult.ETag,
};
if (flag === "--variants") {
  result.variants = {
    range: await status(() => read({ Range: "bytes=10-14" })),
    if_none_match: await status(() => read({ IfNoneMatch: '"other"' })),
    no_checksum_mode: await status(() => read({})),
    copy_source_range: await status(() => copyPart("bytes=10-19")),
  };
}
await s3.send(new AbortMultipartUploadCommand({ Bucket, Key: "copy.txt", UploadId: upload }));
console.log(JSON.stringify(result));
