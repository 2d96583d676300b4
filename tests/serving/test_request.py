"""yolo3.serving.request: both request forms give the image and settings; every malformed
request is one BadRequest line that names the problem and leaks no path."""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image

from helpers import SAMPLE
from request_cases import BAD_REQUESTS, DEFAULTS, JPEG, b64, encoded
from yolo3.defaults import NmsSettings
from yolo3.serving.request import BadRequest, parse_request, response


def parse(body, content_type="application/json", query=None):
    return parse_request(encoded(body, content_type), content_type, query or {}, DEFAULTS,
                         100)


def test_raw_bytes_and_json_give_the_same_image():
    raw = parse(JPEG, "image/jpeg")
    as_json = parse({"image": b64(JPEG)})
    upstream = parse({"data": b64(JPEG)})
    data_url = parse({"image": "data:image/jpeg;base64," + b64(JPEG)})
    reference = Image.open(SAMPLE).convert("RGB")
    for request in (raw, as_json, upstream, data_url):
        assert request.image.mode == "RGB" and request.image.size == reference.size
        assert request.image.tobytes() == raw.image.tobytes()
        assert request.nms == DEFAULTS


def test_settings_from_json_fields_and_query_parameters():
    request = parse({"image": b64(JPEG), "score": 0.5, "iou": "0.3", "max_per_class": 5})
    assert request.nms == NmsSettings(score=0.5, iou=0.3, max_per_class=5)
    request = parse(JPEG, "image/png; charset=binary", {"score": "0.9", "max_per_class": "2"})
    assert request.nms == NmsSettings(score=0.9, max_per_class=2)
    assert parse(JPEG, "application/octet-stream").nms == DEFAULTS


def test_other_image_kinds_become_rgb():
    for mode, fmt in (("L", "PNG"), ("RGBA", "PNG"), ("P", "GIF"), ("CMYK", "JPEG"),
                      ("I;16", "PNG")):
        buffer = io.BytesIO()
        Image.new(mode, (7, 5)).save(buffer, fmt)
        request = parse(buffer.getvalue(), "image/" + fmt.lower())
        assert request.image.mode == "RGB" and request.image.size == (7, 5)


def test_response_carries_the_image_size_and_model():
    image = Image.new("RGB", (640, 480))
    found = [{"class_id": 0, "class_name": "cat", "score": 0.9, "box": [1.0, 2.0, 3.0, 4.0]}]
    assert response(found, image, "m.onnx") == {"detections": found, "image_size": [640, 480],
                                                 "model": "m.onnx"}
    assert json.loads(json.dumps(response([], image, "m")))["detections"] == []


@pytest.mark.parametrize("body, content_type, query, phrase", BAD_REQUESTS)
def test_bad_requests_are_one_line(body, content_type, query, phrase):
    with pytest.raises(BadRequest) as caught:
        parse(body, content_type, query)
    message = str(caught.value)
    assert phrase in message and "\n" not in message
    assert "Traceback" not in message and " at 0x" not in message  # no internals
    assert "/tmp" not in message and str(SAMPLE.parent) not in message  # no paths
