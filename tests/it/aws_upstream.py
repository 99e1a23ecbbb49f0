"""A stand-in AWS for the every-service recording tests: moto server behind
an independent SigV4 check.

moto answers every service; in front of it, each request must be signed with
exactly the expected credentials, checked with botocore's own signer from the
request as received, and for aws-chunked uploads every chunk signature and the
trailer signature are checked too (with hmac/hashlib, independently of the
proxy's code). A request that carries a client's presign or SigV2 query
parameters is refused, as AWS refuses two ways of signing at once. Checked
requests go to moto unchanged. moto's own signature check is off: it rejects
correct signatures on some services (API Gateway and Lambda GETs, S3 query
values with `/`).

Usage: python3 aws_upstream.py [--log FILE]
Credentials: UPSTREAM_ACCESS_KEY_ID, UPSTREAM_SECRET_ACCESS_KEY. Prints
`listening on http://127.0.0.1:PORT` first and exits when stdin closes.
The log has one JSON line per request: method, path, host, the announced
x-amz-content-sha256, how many chunk signatures were checked, and whether a
trailer signature was.
"""

import argparse
import hashlib
import hmac
import http.client
import json
import logging
import os
import re
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from moto.server import ThreadedMotoServer

AKID = os.environ["UPSTREAM_ACCESS_KEY_ID"]
SECRET = os.environ["UPSTREAM_SECRET_ACCESS_KEY"]
AUTH_RE = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request,\s*"
    r"SignedHeaders=([^,]+),\s*Signature=([0-9a-f]{64})$"
)
CLIENT_SIGNING_PARAMS = {"x-amz-signature", "x-amz-credential", "signature", "awsaccesskeyid"}
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
LOG_LOCK = threading.Lock()


class Rejected(Exception):
    pass


def hmac_sha256(key, text):
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def signing_key(date, region, service):
    key = hmac_sha256(("AWS4" + SECRET).encode(), date)
    key = hmac_sha256(key, region)
    key = hmac_sha256(key, service)
    return hmac_sha256(key, "aws4_request")


def verify_headers(method, path, headers, body):
    """(date, region, service, signature) when right, else raises Rejected."""
    query = urlsplit(path).query
    for key, _ in parse_qsl(query, keep_blank_values=True):
        if key.lower() in CLIENT_SIGNING_PARAMS:
            raise Rejected(f"only one auth mechanism allowed; the query has {key}")
    auth = headers.get("Authorization")
    if not auth:
        raise Rejected("Missing Authentication Token")
    match = AUTH_RE.match(auth)
    if not match:
        raise Rejected("Authorization header is malformed")
    akid, date, region, service, signed, signature = match.groups()
    if akid != AKID:
        raise Rejected("The security token included in the request is invalid")
    amz_date = headers.get("X-Amz-Date", "")
    if not amz_date.startswith(date):
        raise Rejected("X-Amz-Date does not match the credential scope date")
    names = signed.split(";")
    if "host" not in names:
        raise Rejected("host must be signed")
    content_sha = headers.get("X-Amz-Content-SHA256")
    if content_sha and re.fullmatch(r"[0-9a-f]{64}", content_sha):
        if hashlib.sha256(body).hexdigest() != content_sha:
            raise Rejected("XAmzContentSHA256Mismatch")
    request = AWSRequest(method=method, url=f"http://{headers.get('Host')}{path}", data=body)
    for name in names:
        values = headers.get_all(name) or []
        if not values:
            raise Rejected(f"signed header {name} is missing")
        request.headers[name] = ",".join(v.strip() for v in values)
    request.context["timestamp"] = amz_date
    auth_class = S3SigV4Auth if service == "s3" else SigV4Auth
    signer = auth_class(Credentials(AKID, SECRET), service, region)
    canonical = signer.canonical_request(request)
    expected = signer.signature(signer.string_to_sign(request, canonical), request)
    if not hmac.compare_digest(expected, signature):
        raise Rejected("SignatureDoesNotMatch")
    return amz_date, region, service, signature


def verify_chunks(body, amz_date, region, service, seed, trailer):
    """(chunks checked, trailer checked) for a signed aws-chunked body."""
    key = signing_key(amz_date[:8], region, service)
    scope = f"{amz_date[:8]}/{region}/{service}/aws4_request"
    previous = seed
    rest = body
    checked = 0
    while True:
        line, _, rest = rest.partition(b"\r\n")
        size_text, _, extension = line.decode().partition(";")
        size = int(size_text, 16)
        if not extension.startswith("chunk-signature="):
            raise Rejected("a chunk has no chunk-signature")
        data, rest = rest[:size], rest[size:]
        text = "\n".join(
            ["AWS4-HMAC-SHA256-PAYLOAD", amz_date, scope, previous, EMPTY_SHA256,
             hashlib.sha256(data).hexdigest()]
        )
        expected = hmac.new(key, text.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, extension[len("chunk-signature="):]):
            raise Rejected(f"chunk {checked} signature does not match")
        previous = expected
        checked += 1
        if size == 0:
            break
        if not rest.startswith(b"\r\n"):
            raise Rejected("a chunk is not followed by CRLF")
        rest = rest[2:]
    if not trailer:
        if rest != b"\r\n":
            raise Rejected("bytes after the final chunk")
        return checked, False
    canonical = ""
    signature = None
    for line in rest.split(b"\r\n"):
        if not line:
            continue
        name, _, value = line.decode().partition(":")
        if name == "x-amz-trailer-signature":
            signature = value
        else:
            canonical += f"{name}:{value}\n"
    text = "\n".join(
        ["AWS4-HMAC-SHA256-TRAILER", amz_date, scope, previous,
         hashlib.sha256(canonical.encode()).hexdigest()]
    )
    expected = hmac.new(key, text.encode(), hashlib.sha256).hexdigest()
    if signature is None or not hmac.compare_digest(expected, signature):
        raise Rejected("the trailer signature does not match")
    return checked, True


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    moto = None
    log_file = None

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.handle_any()

    def do_HEAD(self):
        self.handle_any()

    def do_POST(self):
        self.handle_any()

    def do_PUT(self):
        self.handle_any()

    def do_DELETE(self):
        self.handle_any()

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        content_sha = self.headers.get("X-Amz-Content-SHA256")
        entry = {
            "method": self.command,
            "path": self.path,
            "host": self.headers.get("Host"),
            "content_sha256": content_sha,
            "chunks": 0,
            "trailer": False,
        }
        try:
            amz_date, region, service, seed = verify_headers(
                self.command, self.path, self.headers, body
            )
            if content_sha in (
                "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
                "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
            ):
                entry["chunks"], entry["trailer"] = verify_chunks(
                    body, amz_date, region, service, seed, content_sha.endswith("TRAILER")
                )
        except Rejected as e:
            entry["rejected"] = str(e)
            self.log(entry)
            payload = json.dumps({"__type": "SignatureDoesNotMatch", "message": str(e)}).encode()
            self.send_response(403)
            self.send_header("Content-Type", "application/json")
            self.send_header("x-amzn-ErrorType", "SignatureDoesNotMatch")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            return
        self.log(entry)
        host, port = self.moto
        connection = http.client.HTTPConnection(host, port, timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() != "content-length"}
        connection.request(self.command, self.path, body=body, headers=headers)
        response = connection.getresponse()
        answer = response.read()
        self.send_response(response.status)
        for name, value in response.getheaders():
            if name.lower() not in ("content-length", "transfer-encoding", "connection", "server", "date"):
                self.send_header(name, value)
        if self.command == "HEAD":
            self.send_header("Content-Length", response.getheader("Content-Length") or "0")
        else:
            self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(answer)
        connection.close()

    def log(self, entry):
        if self.log_file:
            with LOG_LOCK, open(self.log_file, "a") as f:
                f.write(json.dumps(entry) + "\n")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--log")
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    Handler.moto = moto.get_host_and_port()
    Handler.log_file = args.log
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
    sys.stdin.read()
    server.shutdown()
    moto.stop()


if __name__ == "__main__":
    main()
