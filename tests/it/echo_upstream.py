#!/usr/bin/env python3
"""An upstream that echoes the session token it was signed with, encoded.

The path picks the encoding of the echo: /url (percent-encoded), /base64,
/gzip (the whole body gzipped), /base64-gzip; any other path answers
without the token. Prints `listening on http://127.0.0.1:PORT` first.
"""

import base64
import gzip
import http.server
import json
import sys
import urllib.parse


class Echo(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        token = self.headers.get("X-Amz-Security-Token", "")
        path = self.path.split("?")[0]
        if path == "/url":
            body = json.dumps({"echo": urllib.parse.quote(token, safe="")}).encode()
        elif path == "/base64":
            body = json.dumps({"echo": base64.b64encode(token.encode()).decode()}).encode()
        elif path == "/gzip":
            body = gzip.compress(json.dumps({"echo": token}).encode())
        elif path == "/base64-gzip":
            packed = base64.b64encode(gzip.compress(token.encode())).decode()
            body = json.dumps({"echo": packed}).encode()
        else:
            body = b'{"echo": "nothing"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def main():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    print(f"listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
