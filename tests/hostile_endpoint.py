"""A loopback HTTP server that answers scoring requests the way a broken, hostile or
misconfigured endpoint would, for the client's tests. Each path is one behaviour; every
request's headers are recorded so tests can see what a client sent where."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

GOOD = {"detections": [{"class_id": 2, "class_name": "cat", "score": 0.9,
                        "box": [10.0, 20.0, 200.0, 300.0]}],
        "image_size": [640, 424], "model": "hostile"}


class HostileEndpoint:
    """``with HostileEndpoint() as server:`` — ``server.url(path)``; ``server.seen``:
    [(path, headers dict)] of every request; ``server.redirect_to``: where /redirect
    points (another server's URL)."""

    def __init__(self):
        self.seen: list[tuple[str, dict]] = []
        self.redirect_to = ""
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # a client that turned the POST into a GET on a redirect
                owner.seen.append((self.path, dict(self.headers)))
                owner.answer(self, self.path.split("?")[0].strip("/"))

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                self.rfile.read(length)
                owner.seen.append((self.path, dict(self.headers)))
                owner.answer(self, self.path.split("?")[0].strip("/"))

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True

    def url(self, path: str = "score") -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/{path}"

    def __enter__(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def answer(self, handler, behaviour: str) -> None:  # noqa: C901  (a table of cases)
        def send(code: int, body: bytes, content_type="application/json", headers=()):
            handler.send_response(code)
            handler.send_header("Content-Type", content_type)
            handler.send_header("Content-Length", str(len(body)))
            for name, value in headers:
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(body)

        def send_json(value, code=200):
            send(code, json.dumps(value).encode())

        auth = handler.headers.get("Authorization", "")
        if behaviour == "score":
            send_json(GOOD)
        elif behaviour == "echo-key":  # a gateway that quotes the request in its error
            send_json({"error": f"invalid token in header 'Authorization: {auth}'"}, 401)
        elif behaviour == "echo-query":
            send(404, f"no route for {handler.path}".encode(), "text/plain")
        elif behaviour == "redirect":  # 302: what urllib would follow, header and all
            send(302, b"", headers=[("Location", self.redirect_to)])
        elif behaviour == "redirect-here":
            send(308, b"", headers=[("Location", "/score")])
        elif behaviour == "redirect-loop":
            send(307, b"", headers=[("Location", "/redirect-loop")])
        elif behaviour == "html-500":
            send(500, b"<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>"
                      b"<body><h1>Bad Gateway</h1></body></html>", "text/html")
        elif behaviour == "trickle":  # one byte a second, never finishing in time
            handler.send_response(200)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", "1000")
            handler.end_headers()
            for _ in range(60):
                try:
                    handler.wfile.write(b" ")
                    handler.wfile.flush()
                except OSError:
                    return
                time.sleep(1)
        elif behaviour == "huge":
            send(200, b"[" + b"0," * (9 * 2**20) + b"0]")
        elif behaviour == "nested":
            send(200, b"[" * 100_000 + b"]" * 100_000)
        elif behaviour == "null-detections":
            send_json({"detections": None})
        elif behaviour == "no-keys":
            send_json({"detections": [{}]})
        elif behaviour == "string-box":
            send_json({"detections": [{**GOOD["detections"][0], "box": ["a", "b", "c", "d"]}]})
        elif behaviour == "huge-class-id":
            send_json({"detections": [{**GOOD["detections"][0], "class_id": 10**9}]})
        elif behaviour == "two-names":
            send_json({"detections": [GOOD["detections"][0],
                                      {**GOOD["detections"][0], "class_name": "dog"}]})
        elif behaviour == "nan-score":
            send(200, json.dumps({"detections": [{**GOOD["detections"][0], "score": "x"}]})
                 .replace('"x"', "NaN").encode())
        else:
            send(404, b"unknown behaviour", "text/plain")
