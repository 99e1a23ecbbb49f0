"""Writes a proton-vcr cassette as a mitmproxy flow file, for `mitmdump
--server-replay`: the same exchanges, with bodies sent the way proton-vcr
replay sends them (JSON compact).

usage: python mitm_flows.py CASSETTE.json OUT.flows HOST PORT
"""

import base64
import json
import sys
import time

from mitmproxy import connection, http, io


def body_bytes(body):
    if not body:
        return b""
    if "json" in body:
        return json.dumps(body["json"], separators=(",", ":"), ensure_ascii=False).encode()
    if "text" in body:
        return body["text"].encode()
    return base64.b64decode(body["base64"])


def header_pairs(headers):
    for name, value in headers.items():
        for one in value if isinstance(value, list) else [value]:
            yield name.encode(), one.encode()


def main():
    cassette_path, out_path, host, port = sys.argv[1:5]
    port = int(port)
    with open(cassette_path, encoding="utf-8") as f:
        cassette = json.load(f)
    now = time.time()
    with open(out_path, "wb") as out:
        writer = io.FlowWriter(out)
        for interaction in cassette["interactions"]:
            rq, rs = interaction["request"], interaction["response"]
            client = connection.Client(peername=("127.0.0.1", 1), sockname=("127.0.0.1", port), timestamp_start=now)
            server = connection.Server(address=(host, port))
            flow = http.HTTPFlow(client, server)
            content = body_bytes(rq.get("body"))
            flow.request = http.Request(
                host, port, rq["method"].encode(), b"http", host.encode(), rq["uri"].encode(),
                b"HTTP/1.1", http.Headers(list(header_pairs(rq.get("headers", {})))),
                content, None, now, now,
            )
            answer = body_bytes(rs.get("body"))
            # A recorded response carries its length (a cassette leaves it
            # out); without it mitmproxy closes the connection after each answer.
            headers = list(header_pairs(rs.get("headers", {})))
            headers.append((b"content-length", str(len(answer)).encode()))
            flow.response = http.Response(
                b"HTTP/1.1", rs["status"], b"OK", http.Headers(headers), answer, None, now, now,
            )
            writer.add(flow)


if __name__ == "__main__":
    main()
