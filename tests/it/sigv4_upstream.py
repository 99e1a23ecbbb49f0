"""A stand-in AWS endpoint for the recording tests, checking SigV4 with botocore.

It serves HTTPS on 127.0.0.1 (a free port) with the certificate and key it is
given, and accepts a request only if its signature is exactly what botocore's
own SigV4Auth computes for the expected credentials, from the request as
received (method, path, query, the headers listed in SignedHeaders, the body)
and its X-Amz-Date. That makes the check independent of aws-sigv4, the
library the proxy signs with. Anything else gets the 403 AWS would send.

Usage: python3 sigv4_upstream.py --cert CERT --key KEY [--log FILE]
Credentials come from UPSTREAM_ACCESS_KEY_ID, UPSTREAM_SECRET_ACCESS_KEY and
UPSTREAM_SESSION_TOKEN (optional). Prints `listening on https://127.0.0.1:PORT`
first, and exits when its stdin closes.

Answers (region and account come from the request's scope and ACCOUNT):
- awsJson1_0 Proton GetEnvironmentTemplate {"name": N}: the template, with
  an ARN; N = "sleep-MS" answers after MS milliseconds; N = "echo-authorization"
  puts the Authorization header it received into displayName.
- awsJson1_0 Proton ListEnvironmentTemplates: no templates.
- restJson1 Refactor Spaces CreateService
  (POST /environments/{env}/applications/{app}/services).
- query STS GetCallerIdentity (form-encoded).
Each answer carries x-test-signed-scope (REGION/SERVICE it verified) and
x-test-host (the Host header it received).
"""

import argparse
import hmac
import json
import os
import re
import ssl
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

ACCOUNT = "111122223333"
AUTH_RE = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request,\s*"
    r"SignedHeaders=([^,]+),\s*Signature=([0-9a-f]{64})$"
)

AKID = os.environ["UPSTREAM_ACCESS_KEY_ID"]
SECRET = os.environ["UPSTREAM_SECRET_ACCESS_KEY"]
TOKEN = os.environ.get("UPSTREAM_SESSION_TOKEN") or None
LOG_LOCK = threading.Lock()


def verify(method, path, headers, body):
    """(region, service) when the signature is right, else raises ValueError."""
    auth = headers.get("Authorization")
    if not auth:
        raise ValueError("Missing Authentication Token")
    match = AUTH_RE.match(auth)
    if not match:
        raise ValueError("Authorization header is malformed")
    akid, date, region, service, signed, signature = match.groups()
    if akid != AKID:
        raise ValueError("The security token included in the request is invalid")
    amz_date = headers.get("X-Amz-Date", "")
    if not amz_date.startswith(date):
        raise ValueError("X-Amz-Date does not match the credential scope date")
    names = signed.split(";")
    for required in ("host", "x-amz-date"):
        if required not in names:
            raise ValueError(f"{required} must be signed")
    if TOKEN is not None:
        if "x-amz-security-token" not in names or headers.get("X-Amz-Security-Token") != TOKEN:
            raise ValueError("The security token included in the request is invalid")
    request = AWSRequest(method=method, url=f"https://{headers.get('Host')}{path}", data=body)
    for name in names:
        values = headers.get_all(name) or []
        if not values:
            raise ValueError(f"signed header {name} is missing")
        request.headers[name] = ",".join(values)
    request.context["timestamp"] = amz_date
    signer = SigV4Auth(Credentials(AKID, SECRET, TOKEN), service, region)
    canonical = signer.canonical_request(request)
    if signer.signed_headers(signer.headers_to_sign(request)) != signed:
        raise ValueError("SignedHeaders cannot be reproduced")
    expected = signer.signature(signer.string_to_sign(request, canonical), request)
    if not hmac.compare_digest(expected, signature):
        raise ValueError(
            "The request signature we calculated does not match the signature you provided."
        )
    return region, service


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    log_file = None

    def log_message(self, *args):
        pass

    def do_GET(self):
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
        form = self.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded")
        target = self.headers.get("X-Amz-Target")
        try:
            region, service = verify(self.command, self.path, self.headers, body)
        except ValueError as error:
            self.log({"path": self.path, "target": target, "verified": False})
            code = "SignatureDoesNotMatch" if form else "InvalidSignatureException"
            return self.error(403, code, str(error), form)
        self.log({"path": self.path, "target": target, "verified": True})
        extra = {"x-test-signed-scope": f"{region}/{service}", "x-test-host": self.headers.get("Host", "")}
        if target:
            return self.aws_json(target, body, region, extra)
        if form:
            return self.query(body, extra)
        match = re.fullmatch(r"/environments/([^/]+)/applications/([^/]+)/services", self.path)
        if self.command == "POST" and match:
            return self.create_service(match.group(1), match.group(2), body, region, extra)
        return self.error(404, "UnknownOperationException", f"no route {self.command} {self.path}", False)

    def aws_json(self, target, body, region, extra):
        payload = json.loads(body or b"{}")
        if target == "AwsProton20200720.ListEnvironmentTemplates":
            return self.send(200, "application/x-amz-json-1.0", json.dumps({"templates": []}), extra)
        if target != "AwsProton20200720.GetEnvironmentTemplate":
            return self.error(400, "UnknownOperationException", f"unknown operation {target}", False)
        name = payload.get("name", "")
        if name.startswith("sleep-"):
            time.sleep(int(name[len("sleep-"):]) / 1000)
        display = self.headers.get("Authorization") if name == "echo-authorization" else f"Template {name}"
        template = {
            "name": name,
            "arn": f"arn:aws:proton:{region}:{ACCOUNT}:environment-template/{name}",
            "createdAt": 1777636800.0,
            "lastModifiedAt": 1777636800.0,
            "displayName": display,
        }
        return self.send(200, "application/x-amz-json-1.0", json.dumps({"environmentTemplate": template}), extra)

    def create_service(self, env, app, body, region, extra):
        payload = json.loads(body or b"{}")
        name = payload.get("Name", "")
        service_id = "svc-" + (name + "0000000000")[:10]
        arn = f"arn:aws:refactor-spaces:{region}:{ACCOUNT}:environment/{env}/application/{app}/service/{service_id}"
        answer = {
            "ServiceId": service_id,
            "Name": name,
            "Arn": arn,
            "OwnerAccountId": ACCOUNT,
            "CreatedByAccountId": ACCOUNT,
            "EnvironmentId": env,
            "ApplicationId": app,
            "EndpointType": payload.get("EndpointType"),
            "UrlEndpoint": payload.get("UrlEndpoint"),
            "State": "CREATING",
            "CreatedTime": 1777636800,
            "LastUpdatedTime": 1777636800,
        }
        return self.send(200, "application/json", json.dumps(answer), extra)

    def query(self, body, extra):
        action = dict(parse_qsl(body.decode())).get("Action")
        if action != "GetCallerIdentity":
            return self.error(400, "InvalidAction", f"unknown action {action}", True)
        xml = (
            '<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
            "<GetCallerIdentityResult>"
            f"<Arn>arn:aws:sts::{ACCOUNT}:assumed-role/recorder/session</Arn>"
            "<UserId>AROAEXAMPLEROLEID:session</UserId>"
            f"<Account>{ACCOUNT}</Account>"
            "</GetCallerIdentityResult>"
            "<ResponseMetadata><RequestId>7e1b1a7a-0000-4000-8000-000000000001</RequestId></ResponseMetadata>"
            "</GetCallerIdentityResponse>"
        )
        return self.send(200, "text/xml", xml, extra)

    def error(self, status, code, message, form):
        if form:
            xml = (
                f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code>"
                f"<Message>{message}</Message></Error><RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
            )
            return self.send(status, "text/xml", xml, {})
        body = json.dumps({"__type": code, "message": message})
        return self.send(status, "application/x-amz-json-1.0", body, {"x-amzn-ErrorType": code})

    def send(self, status, content_type, text, extra):
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        for name, value in extra.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def log(self, record):
        if self.log_file:
            with LOG_LOCK, open(self.log_file, "a") as log:
                log.write(json.dumps(record) + "\n")


class TlsServer(ThreadingHTTPServer):
    daemon_threads = True
    context = None

    def finish_request(self, request, client_address):
        # The handshake runs in the connection's thread, so one slow or
        # failing client cannot stall the others.
        try:
            request = self.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        super().finish_request(request, client_address)

    def handle_error(self, request, client_address):
        pass


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--log")
    args = parser.parse_args()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.cert, args.key)
    Handler.log_file = args.log
    server = TlsServer(("127.0.0.1", 0), Handler)
    server.context = context
    print(f"listening on https://127.0.0.1:{server.server_address[1]}", flush=True)

    def exit_when_stdin_closes():
        sys.stdin.read()
        os._exit(0)

    threading.Thread(target=exit_when_stdin_closes, daemon=True).start()
    server.serve_forever()


if __name__ == "__main__":
    main()
