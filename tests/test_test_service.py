"""test_service.py, as a user runs it against the local inference server: prints the
detections, writes the annotated image, keeps the key to itself; every failure is one
line and writes nothing."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from PIL import Image

from helpers import REPO, SAMPLE, assert_one_line_error, tree_bytes, user_env
from yolo3.serving.local import free_port

KEY = "s3cr3t-endpoint-key-0123456789"


def run_client(*args, url=None, cwd=REPO):
    env = {**user_env(), "WEBSERVICE_KEY": KEY}
    if url:
        env["SCORING_URI"] = url
    return subprocess.run([sys.executable, str(REPO / "test_service.py"), *args],
                          capture_output=True, text=True, cwd=cwd, env=env, timeout=120)


def other_json_server() -> str:
    """A loopback HTTP server that answers every POST with 200 and JSON that is not
    detections (for one request, in a thread): its address."""
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"predictions": []}')

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.handle_request, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}/score"


def test_detections_printed_and_drawn(tmp_path, scoring_server):
    url, _ = scoring_server
    output = tmp_path / "found.jpg"
    result = run_client("--image", str(SAMPLE), "--output", str(output), url=url)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert sorted(line.split()[0] for line in lines[:-1]) == ["cat", "cup", "person"]
    assert lines[-1].startswith("3 objects (yolo-tiny.onnx)")
    assert Image.open(output).size == Image.open(SAMPLE).size
    assert KEY not in result.stdout + result.stderr
    result = run_client("--image", str(SAMPLE), "--output", str(tmp_path / "strict.jpg"),
                        "--score", "0.95", "--url", url)
    assert result.returncode == 0 and result.stdout.count("\n") == 2  # the cat only


@pytest.mark.parametrize("case, phrases", [
    ("bad-score", ["answered 400", "score must lie between 0 and 1"]),
    ("nobody-there", ["cannot reach"]),
    ("wrong-path", ["answered 405"]),
    ("not-scoring", ["did not answer with detections"]),
    ("not-an-image", ["not a readable image"]),
    ("overwrite", ["refusing to write"]),
    ("ftp", ["--url must be an http(s) address"]),
])
def test_failures_are_one_line_and_write_nothing(tmp_path, scoring_server, case, phrases):
    url, _ = scoring_server
    (tmp_path / "bad.jpg").write_bytes(b"not a picture")
    image, output, flags = SAMPLE, tmp_path / "out.jpg", []
    if case == "bad-score":
        flags = ["--score", "5"]
    elif case == "nobody-there":
        url = f"http://127.0.0.1:{free_port()}/score"
    elif case == "wrong-path":
        url = url.rsplit("/", 1)[0] + "/"
    elif case == "not-scoring":
        url = other_json_server()
    elif case == "not-an-image":
        image = tmp_path / "bad.jpg"
    elif case == "overwrite":
        image = output = tmp_path / "bad.jpg"
    elif case == "ftp":
        url = "ftp://example.org/score"
    before = tree_bytes(tmp_path)
    result = run_client("--image", str(image), "--output", str(output), "--url", url, *flags)
    message = assert_one_line_error(result, *phrases)
    assert KEY not in message and KEY not in result.stdout
    assert tree_bytes(tmp_path) == before
    assert not os.path.exists(output) or output == image


@pytest.mark.parametrize("behaviour, flags, phrases", [
    ("echo-key", [], ["answered 401", "***"]),
    ("html-500", [], ["answered 500: an HTML page: 502 Bad Gateway"]),
    ("redirect", [], ["redirected to another site"]),
    ("trickle", ["--timeout", "3"], ["did not answer in full within 3 s"]),
    ("null-detections", [], ["did not answer with detections"]),
    ("no-keys", [], ["malformed detection 0"]),
    ("string-box", [], ["box must be four finite numbers"]),
    ("huge-class-id", [], ["class_id must be a whole number"]),
    ("score", ["--timeout", "-1"], ["--timeout must be a positive number"]),
    ("score", ["--timeout", "nan"], ["--timeout must be a positive number"]),
    ("score", ["--timeout", "0"], ["--timeout must be a positive number"]),
    ("score", ["--output", "found.txt"], ["an image file must end in one of"]),
])
def test_hostile_endpoints_are_one_line_without_secrets(tmp_path, behaviour, flags, phrases):
    """Through the script as a user runs it: the key (and credentials or a key in the
    address) never printed, never sent to another site, nothing written."""
    from hostile_endpoint import HostileEndpoint

    with HostileEndpoint() as server, HostileEndpoint() as elsewhere:
        server.redirect_to = elsewhere.url()
        port = server.server.server_address[1]
        url = f"http://bob:hunter2pw@127.0.0.1:{port}/{behaviour}?code=querykey42"
        before = tree_bytes(tmp_path)
        result = run_client("--image", str(SAMPLE), "--output", str(tmp_path / "out.jpg"),
                            *flags, url=url, cwd=tmp_path)
        assert elsewhere.seen == []
    message = assert_one_line_error(result, *phrases)
    for secret in (KEY, "hunter2pw", "querykey42"):
        assert secret not in result.stdout + result.stderr, message
    assert tree_bytes(tmp_path) == before


def test_output_format_follows_its_suffix(tmp_path):
    from hostile_endpoint import HostileEndpoint

    with HostileEndpoint() as server:
        for name, magic in [("found.png", b"\x89PNG"), ("found.jpg", b"\xff\xd8"),
                            ("found.bmp", b"BM")]:
            result = run_client("--image", str(SAMPLE), "--output", str(tmp_path / name),
                                url=server.url())
            assert result.returncode == 0, result.stderr
            assert (tmp_path / name).read_bytes().startswith(magic)
            assert "1 objects (hostile)" in result.stdout
