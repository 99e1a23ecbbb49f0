"""Writes a proton-vcr cassette as WireMock stub mappings (a `mappings/`
folder for `--root-dir`): each request matched the way an AWS-aware user
would write it by hand (method, URL, X-Amz-Target, body as JSON), answered
with the recorded status, headers and body.

Repeated requests answer with the first recording: WireMock needs scenarios
for sequences, which the benchmark's one-interaction cassette does not use.

usage: python3 wiremock_stubs.py CASSETTE.json ROOT_DIR
"""

import base64
import json
import os
import sys


def main():
    cassette_path, root = sys.argv[1:3]
    with open(cassette_path, encoding="utf-8") as f:
        cassette = json.load(f)
    mappings = os.path.join(root, "mappings")
    os.makedirs(mappings, exist_ok=True)
    for n, interaction in enumerate(cassette["interactions"]):
        rq, rs = interaction["request"], interaction["response"]
        request = {"method": rq["method"], "url": rq["uri"]}
        target = rq.get("headers", {}).get("x-amz-target")
        if target:
            request["headers"] = {"X-Amz-Target": {"equalTo": target}}
        body = rq.get("body") or {}
        if "json" in body:
            request["bodyPatterns"] = [{"equalToJson": body["json"]}]
        elif "text" in body:
            request["bodyPatterns"] = [{"equalTo": body["text"]}]
        response = {"status": rs["status"], "headers": rs.get("headers", {})}
        body = rs.get("body") or {}
        if "json" in body:
            response["body"] = json.dumps(body["json"], separators=(",", ":"), ensure_ascii=False)
        elif "text" in body:
            response["body"] = body["text"]
        elif "base64" in body:
            response["base64Body"] = body["base64"]
        stub = {"priority": n + 1, "request": request, "response": response}
        with open(os.path.join(mappings, f"{n:06d}.json"), "w", encoding="utf-8") as out:
            json.dump(stub, out, indent=2)


if __name__ == "__main__":
    main()
