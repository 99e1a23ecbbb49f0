"""boto3 and hand-built S3 calls for the every-service tests.

Usage: python3 s3_client.py ENDPOINT SCENARIO [--chunk N]
Dummy credentials come from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY. Prints
one JSON object with what the scenario observed; exits non-zero on any
unexpected answer.

Scenarios:
- chunks: uploads one payload three ways as aws-chunked bodies built by
  hand (signed chunks, signed chunks with a signed CRC32 trailer, unsigned
  chunks with a trailer), each chunk signature made from botocore's seed
  signature, then reads every object back.
- transfer: put, head, list, copy (conditional), two ranged GETs of one
  object, and a 3 MB upload_file/download_file (s3transfer: multipart
  upload, parallel ranged GETs); prints digests of what came back.
- virtual: virtual-hosted addressing against http://localhost:PORT
  (`BUCKET.localhost` resolves to loopback, as systemd-resolved and
  browsers make it): create a bucket, put, get and list.
- presign: presigned PUT and GET URLs from boto3, SigV4 (`s3v4`) and SigV2
  (`s3`, boto3's default for presigning in us-east-1), sent with urllib.
- meaning: the calls js/s3_meaning.mjs makes (two ranged GETs, a
  conditional GET, one with checksum mode, a ranged UploadPartCopy), from
  boto3 set to send checksums only when required.
- bucket-endpoint: hand-signed requests that treat ENDPOINT as a bucket's
  own endpoint (paths are keys): create it, put, get, list.
- bucket-read-path, bucket-read-virtual: boto3 reads what bucket-endpoint
  wrote, addressing bucket `upbucket` path-style or virtual-hosted.
"""

import argparse
import base64
import hashlib
import hmac
import http.client
import json
import os
import random
import re
import sys
import urllib.request
import zlib
from urllib.parse import urlsplit

import boto3
from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

REGION = "us-east-1"
BUCKET = "chunked"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


def client(endpoint, signature_version=None, addressing_style="path", **config):
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=REGION,
        config=Config(
            s3={"addressing_style": addressing_style},
            retries={"max_attempts": 1},
            signature_version=signature_version,
            **config,
        ),
    )


def payload():
    rng = random.Random(7)
    return rng.randbytes(20_000)


def hmac_sha256(key, text):
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def put_chunked(endpoint, key, data, mode, chunk):
    akid = os.environ["AWS_ACCESS_KEY_ID"]
    secret = os.environ["AWS_SECRET_ACCESS_KEY"]
    content_sha = {
        "signed": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
        "signed-trailer": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
        "unsigned-trailer": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
    }[mode]
    trailer = mode != "signed"
    headers = {
        "Content-Encoding": "aws-chunked",
        "X-Amz-Content-SHA256": content_sha,
        "X-Amz-Decoded-Content-Length": str(len(data)),
        "Content-Type": "application/octet-stream",
    }
    if trailer:
        headers["X-Amz-Trailer"] = "x-amz-checksum-crc32"
    request = AWSRequest(method="PUT", url=f"{endpoint}/{BUCKET}/{key}", headers=headers)
    SigV4Auth(Credentials(akid, secret), "s3", REGION).add_auth(request)
    seed = request.headers["Authorization"].rsplit("Signature=", 1)[1]
    amz_date = request.headers["X-Amz-Date"]
    scope = f"{amz_date[:8]}/{REGION}/s3/aws4_request"
    signing = hmac_sha256(("AWS4" + secret).encode(), amz_date[:8])
    for part in (REGION, "s3", "aws4_request"):
        signing = hmac_sha256(signing, part)
    previous = seed
    wire = bytearray()
    pieces = [data[i:i + chunk] for i in range(0, len(data), chunk)] + [b""]
    for piece in pieces:
        if mode == "unsigned-trailer":
            wire += f"{len(piece):x}\r\n".encode()
        else:
            text = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", amz_date, scope, previous,
                              EMPTY_SHA256, hashlib.sha256(piece).hexdigest()])
            previous = hmac.new(signing, text.encode(), hashlib.sha256).hexdigest()
            wire += f"{len(piece):x};chunk-signature={previous}\r\n".encode()
        if piece:
            wire += piece + b"\r\n"
    if trailer:
        checksum = base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
        canonical = f"x-amz-checksum-crc32:{checksum}\n"
        wire += canonical.replace("\n", "\r\n").encode()
        if mode == "signed-trailer":
            text = "\n".join(["AWS4-HMAC-SHA256-TRAILER", amz_date, scope, previous,
                              hashlib.sha256(canonical.encode()).hexdigest()])
            signature = hmac.new(signing, text.encode(), hashlib.sha256).hexdigest()
            wire += f"x-amz-trailer-signature:{signature}\r\n".encode()
    wire += b"\r\n"
    sent = dict(request.headers.items())
    sent["Content-Length"] = str(len(wire))
    response, answer = send_raw(endpoint, "PUT", f"/{BUCKET}/{key}", bytes(wire), sent)
    if response.status != 200:
        sys.exit(f"PUT {key} ({mode}) answered {response.status}: {answer[:400]!r}")
    return response.getheader("ETag")


def send_raw(endpoint, method, target, body, headers):
    """Sends bytes as they are (no client library in between); returns the
    response and its body."""
    url = urlsplit(endpoint)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
    connection.request(method, target, body=body, headers=headers)
    response = connection.getresponse()
    data = response.read()
    connection.close()
    return response, data


def chunks(endpoint, chunk):
    s3 = client(endpoint)
    s3.create_bucket(Bucket=BUCKET)
    data = payload()
    result = {}
    for mode in ("signed", "signed-trailer", "unsigned-trailer"):
        etag = put_chunked(endpoint, mode, data, mode, chunk)
        body = s3.get_object(Bucket=BUCKET, Key=mode)["Body"].read()
        result[mode] = {"etag": etag, "same_bytes": body == data, "length": len(body)}
    return result


def send(url, method, data=None):
    request = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/octet-stream")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as e:
        sys.exit(f"{method} {url} answered {e.code}: {e.read()[:400]!r}")


def presign(endpoint):
    client(endpoint).create_bucket(Bucket="presigned")
    data = payload()[:3000]
    result = {}
    for version in ("s3v4", "s3"):
        s3 = client(endpoint, version)
        params = {"Bucket": "presigned", "Key": version}
        put_url = s3.generate_presigned_url("put_object", Params=params, ExpiresIn=900)
        get_url = s3.generate_presigned_url("get_object", Params=params, ExpiresIn=900)
        put_status, _ = send(put_url, "PUT", data)
        get_status, body = send(get_url, "GET")
        result[version] = {
            "put": put_status,
            "get": get_status,
            "same_bytes": body == data,
            "query": sorted(k.split("=")[0] for k in urlsplit(get_url).query.split("&")),
        }
    return result


def transfer(endpoint, workdir):
    from boto3.s3.transfer import TransferConfig

    s3 = client(endpoint)
    s3.create_bucket(Bucket="transfer")
    small = payload()[:100]
    s3.put_object(Bucket="transfer", Key="small", Body=small)
    head = s3.head_object(Bucket="transfer", Key="small")
    listed = [o["Key"] for o in s3.list_objects_v2(Bucket="transfer")["Contents"]]
    etag = head["ETag"]
    s3.copy_object(Bucket="transfer", Key="copy", CopySource="transfer/small",
                   CopySourceIfMatch=etag)
    first = s3.get_object(Bucket="transfer", Key="copy", Range="bytes=0-9")["Body"].read()
    second = s3.get_object(Bucket="transfer", Key="copy", Range="bytes=10-19")["Body"].read()
    big = random.Random(11).randbytes(3 * 1024 * 1024 + 123)
    source = os.path.join(workdir, "big.bin")
    target = os.path.join(workdir, "big.out")
    with open(source, "wb") as f:
        f.write(big)
    config = TransferConfig(multipart_threshold=1024 * 1024, multipart_chunksize=1024 * 1024,
                            max_concurrency=4)
    s3.upload_file(source, "transfer", "big", Config=config)
    s3.download_file("transfer", "big", target, Config=config)
    with open(target, "rb") as f:
        downloaded = f.read()
    return {
        "head_length": head["ContentLength"],
        "listed": listed,
        "first_range": first == small[0:10],
        "second_range": second == small[10:20],
        "download_same_bytes": downloaded == big,
        "download_sha256": hashlib.sha256(downloaded).hexdigest(),
    }


def virtual_client(endpoint, **config):
    import socket

    resolve = socket.getaddrinfo

    def loopback_subdomains(host, *args, **kwargs):
        if isinstance(host, str) and host.endswith(".localhost"):
            host = "127.0.0.1"
        return resolve(host, *args, **kwargs)

    socket.getaddrinfo = loopback_subdomains
    port = urlsplit(endpoint).port
    return client(f"http://localhost:{port}", addressing_style="virtual", **config)


def virtual(endpoint):
    s3 = virtual_client(endpoint)
    s3.create_bucket(Bucket="vhost-bucket")
    s3.put_object(Bucket="vhost-bucket", Key="notes/a.txt", Body=b"virtual")
    body = s3.get_object(Bucket="vhost-bucket", Key="notes/a.txt")["Body"].read()
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="vhost-bucket")["Contents"]]
    return {"body": body.decode(), "keys": keys}


MEANING_BODY = b"0123456789abcdefghij"


def meaning(endpoint):
    s3 = client(
        endpoint,
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    s3.create_bucket(Bucket="meaning")
    put = s3.put_object(
        Bucket="meaning", Key="doc.txt", Body=MEANING_BODY, Metadata={"purpose": "matching"}
    )
    etag = put["ETag"]

    def read(**kwargs):
        return s3.get_object(Bucket="meaning", Key="doc.txt", **kwargs)["Body"].read().decode()

    first = read(Range="bytes=0-4")
    second = read(Range="bytes=5-9")
    try:
        s3.get_object(Bucket="meaning", Key="doc.txt", IfNoneMatch=etag)
        not_modified = False
    except ClientError as e:
        not_modified = e.response["ResponseMetadata"]["HTTPStatusCode"] == 304
    checked = read(ChecksumMode="ENABLED")
    upload = s3.create_multipart_upload(Bucket="meaning", Key="copy.txt")["UploadId"]
    part = s3.upload_part_copy(
        Bucket="meaning",
        Key="copy.txt",
        UploadId=upload,
        PartNumber=1,
        CopySource="meaning/doc.txt",
        CopySourceRange="bytes=0-9",
    )
    s3.abort_multipart_upload(Bucket="meaning", Key="copy.txt", UploadId=upload)
    return {
        "etag": etag,
        "first": first,
        "second": second,
        "not_modified": not_modified,
        "checked": checked,
        "part_etag": part["CopyPartResult"]["ETag"],
    }


def signed(endpoint, method, path, body=b""):
    credentials = Credentials(os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"])
    request = AWSRequest(method=method, url=endpoint + path, data=body)
    S3SigV4Auth(credentials, "s3", REGION).add_auth(request)
    prepared = request.prepare()
    parts = urlsplit(prepared.url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    response, data = send_raw(endpoint, method, target, body, dict(prepared.headers))
    if response.status >= 300:
        sys.exit(f"{method} {path} answered {response.status}: {data[:400]!r}")
    return data


def bucket_endpoint(endpoint):
    signed(endpoint, "PUT", "/")
    signed(endpoint, "PUT", "/notes/a.txt", b"bucket endpoint")
    body = signed(endpoint, "GET", "/notes/a.txt")
    listing = signed(endpoint, "GET", "/?list-type=2").decode()
    return {"body": body.decode(), "keys": re.findall(r"<Key>([^<]*)</Key>", listing)}


# The hand-signed GET asked for no checksums back.
PLAIN_GET = {"response_checksum_validation": "when_required"}


def bucket_read(s3):
    body = s3.get_object(Bucket="upbucket", Key="notes/a.txt")["Body"].read()
    return {"body": body.decode()}


def miss(endpoint):
    """What boto3 makes of a replay miss: GetObject and HeadObject of a key
    the cassette does not hold."""
    s3 = client(endpoint)
    result = {}
    for name, call in [("get", s3.get_object), ("head", s3.head_object)]:
        try:
            call(Bucket="kept", Key="missing.txt")
            result[name] = {"succeeded": True}
        except ClientError as error:
            result[name] = {
                "code": error.response["Error"]["Code"],
                "message": error.response["Error"].get("Message", ""),
                "status": error.response["ResponseMetadata"]["HTTPStatusCode"],
            }
    return result


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("endpoint")
    parser.add_argument("scenario")
    parser.add_argument("--chunk", type=int, default=8192)
    parser.add_argument("--workdir", default=".")
    args = parser.parse_args()
    if args.scenario == "chunks":
        result = chunks(args.endpoint, args.chunk)
    elif args.scenario == "transfer":
        result = transfer(args.endpoint, args.workdir)
    elif args.scenario == "virtual":
        result = virtual(args.endpoint)
    elif args.scenario == "presign":
        result = presign(args.endpoint)
    elif args.scenario == "meaning":
        result = meaning(args.endpoint)
    elif args.scenario == "miss":
        result = miss(args.endpoint)
    elif args.scenario == "bucket-endpoint":
        result = bucket_endpoint(args.endpoint)
    elif args.scenario == "bucket-read-path":
        result = bucket_read(client(args.endpoint, **PLAIN_GET))
    elif args.scenario == "bucket-read-virtual":
        result = bucket_read(virtual_client(args.endpoint, **PLAIN_GET))
    else:
        sys.exit(f"unknown scenario {args.scenario}")
    print(json.dumps(result, sort_keys=True))


if __name__ == "__main__":
    main()
