"""deploy/score.py in Microsoft's own inference server (azmlinfsrv, what Azure ML online
endpoints run), started on a loopback port from the serving environment
(requirements-serve.txt, its own virtual environment, created by yolo3.serving.local on
first use, as the Blob tests install Azurite): the sample's detections over HTTP equal
YOLO.detect's in both request forms; every malformed request gets 400 with a one-line JSON
error and the worker keeps serving; the serving environment has no TensorFlow."""

from __future__ import annotations

import json
import subprocess
import urllib.error
import urllib.request

import pytest

from helpers import REPO, SAMPLE, assert_same_detections
from request_cases import BAD_REQUESTS, JPEG, b64, encoded


@pytest.fixture
def server(scoring_server):
    return scoring_server


def post(url: str, body: bytes, content_type: str, query: str = "") -> tuple[int, dict]:
    request = urllib.request.Request(url + query, data=body, method="POST",
                                     headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_detections_over_http_equal_yolo_detect(server, tiny_onnx):
    from PIL import Image

    from yolo import YOLO

    url, _ = server
    expected = YOLO(model_path=str(tiny_onnx)).detect(Image.open(SAMPLE))
    for body, content_type in ((JPEG, "image/jpeg"),
                               (json.dumps({"image": b64(JPEG)}).encode(), "application/json"),
                               (json.dumps({"data": b64(JPEG)}).encode(), "application/json")):
        status, answer = post(url, body, content_type)
        assert status == 200, answer
        assert answer["image_size"] == [832, 832] and answer["model"] == "yolo-tiny.onnx"
        assert_same_detections(answer["detections"], expected, 1e-5)
    status, answer = post(url, JPEG, "image/jpeg", "?score=0.95")
    assert status == 200 and [d["class_name"] for d in answer["detections"]] == ["cat"]
    status, answer = post(url, json.dumps({"image": b64(JPEG), "max_per_class": 1,
                                           "score": 0.01}).encode(), "application/json")
    classes = [d["class_id"] for d in answer["detections"]]
    assert status == 200 and len(classes) == len(set(classes)) > 3


def test_bad_requests_get_400_and_the_worker_keeps_serving(server):
    url, _ = server
    assert len(BAD_REQUESTS) >= 30
    for body, content_type, query, phrase in BAD_REQUESTS:
        suffix = "?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else ""
        status, answer = post(url, encoded(body, content_type), content_type, suffix)
        assert status == 400, (phrase, answer)
        assert set(answer) == {"error"} and phrase in answer["error"], answer
        assert "\n" not in answer["error"] and "Traceback" not in answer["error"]
        assert str(REPO) not in answer["error"] and "/tmp" not in answer["error"]
    status, answer = post(url, JPEG, "image/jpeg")
    assert status == 200 and len(answer["detections"]) == 3


def test_the_serving_environment_has_no_tensorflow(server):
    _, bin_dir = server
    probe = subprocess.run([str(bin_dir / "python"), "-c", "import tensorflow"],
                           capture_output=True, text=True)
    assert probe.returncode != 0 and "No module named 'tensorflow'" in probe.stderr


def test_an_unexpected_failure_is_500_without_internals(server):
    """run() in the serving environment, with a model that breaks mid-request: HTTP 500,
    a generic JSON message, the details only in the server's log."""
    _, bin_dir = server
    script = f"""
import json, runpy, sys
score = runpy.run_path({str(REPO / "deploy" / "score.py")!r})

class Broken:
    nms = __import__("yolo3.defaults", fromlist=["NmsSettings"]).NmsSettings()
    def with_nms(self, nms):
        return self
    def detect(self, image):
        raise RuntimeError("/secret/path/model.onnx: kernel exploded")

class Request:
    headers = {{"Content-Type": "image/jpeg"}}
    class args:
        @staticmethod
        def to_dict():
            return {{}}
    @staticmethod
    def get_data(cache=False):
        return open({str(SAMPLE)!r}, "rb").read()

score["served"].update(detector=Broken(), model="m.onnx", ceiling=100)
answer = score["run"](Request())
print(answer.status_code, answer.get_data(as_text=True))
"""
    result = subprocess.run([str(bin_dir / "python"), "-c", script], capture_output=True,
                            text=True, timeout=120, cwd=REPO)
    status, body = result.stdout.strip().split(" ", 1)
    assert status == "500", result.stderr
    assert json.loads(body) == {"error": "the model failed on this request"}
    assert "kernel exploded" in result.stderr  # logged for the operator


def test_a_client_holding_a_half_sent_upload_blocks_no_one(server):
    """Two connections that announce a large body, send a little and wait: other clients
    are still answered at once (the threaded worker), and after them too."""
    import socket
    import time
    from urllib.parse import urlparse

    url, _ = server
    address = urlparse(url)
    stalled = []
    for _ in range(2):
        connection = socket.create_connection((address.hostname, address.port), timeout=30)
        connection.sendall(b"POST /score HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\n"
                           b"Content-Length: 1000000\r\n\r\n" + JPEG[:1000])
        stalled.append(connection)
    try:
        time.sleep(0.5)
        start = time.monotonic()
        for _ in range(3):
            status, answer = post(url, JPEG, "image/jpeg")
            assert status == 200 and len(answer["detections"]) == 3
        assert time.monotonic() - start < 20
    finally:
        for connection in stalled:
            connection.close()
    status, _ = post(url, JPEG, "image/jpeg")
    assert status == 200
