"""Scoring requests shared by the request parser's tests and the served endpoint's: good
ones in both forms, and malformed ones, each with a phrase its one-line answer names."""

from __future__ import annotations

import base64
import json
import struct
import zlib

from helpers import SAMPLE
from yolo3.defaults import NmsSettings
from yolo3.serving.request import MAX_REQUEST_BYTES

DEFAULTS = NmsSettings()
JPEG = SAMPLE.read_bytes()


def encoded(body, content_type: str) -> bytes:
    """JSON documents as bytes; bytes as given."""
    if isinstance(body, (dict, list, str, int, float)) and content_type == "application/json":
        return json.dumps(body).encode()
    return body


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims width × height (a decompression bomb's shape)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))

    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")


TRUNCATED = JPEG[:len(JPEG) // 3]
IMAGE_FIELD = b'{"image": "' + b64(JPEG).encode() + b'"'  # a JSON body's start, unclosed
BAD_REQUESTS = [
    (b"", "image/jpeg", {}, "no body"),
    (b"x" * (MAX_REQUEST_BYTES + 1), "image/jpeg", {}, "at most"),
    (b"not an image", "image/jpeg", {}, "not a readable image"),
    (TRUNCATED, "image/jpeg", {}, "not a readable image"),
    (png_header_only(60000, 60000), "image/png", {}, "larger than the limit"),
    (JPEG, "text/plain", {}, "unsupported Content-Type"),
    (JPEG, "application/xml", {}, "unsupported Content-Type"),
    (JPEG, "", {}, "unsupported Content-Type"),
    (JPEG, "image/jpeg", {"scores": "0.5"}, "unknown query parameter 'scores'"),
    (JPEG, "image/jpeg", {"score": "high"}, "score must be a number"),
    (JPEG, "image/jpeg", {"score": "1.5"}, "between 0 and 1"),
    (JPEG, "image/jpeg", {"iou": "-0.1"}, "between 0 and 1"),
    (JPEG, "image/jpeg", {"score": "nan"}, "finite"),
    (JPEG, "image/jpeg", {"iou": "inf"}, "finite"),
    (JPEG, "image/jpeg", {"max_per_class": "0"}, "from 1 to 100"),
    (JPEG, "image/jpeg", {"max_per_class": "101"}, "from 1 to 100"),
    (JPEG, "image/jpeg", {"max_per_class": "2.5"}, "whole number"),
    (b"{not json", "application/json", {}, "not valid JSON"),
    (b"\xff\xfe{", "application/json", {}, "not valid JSON"),
    ([b64(JPEG)], "application/json", {}, "must be an object"),
    ("just a string", "application/json", {}, "must be an object"),
    (42, "application/json", {}, "must be an object"),
    ({}, "application/json", {}, "give the image once"),
    ({"image": b64(JPEG), "data": b64(JPEG)}, "application/json", {}, "not both"),
    ({"img": b64(JPEG)}, "application/json", {}, "unknown field 'img'"),
    ({"image": None}, "application/json", {}, "non-empty base64 string"),
    ({"image": 12}, "application/json", {}, "non-empty base64 string"),
    ({"image": ""}, "application/json", {}, "non-empty base64 string"),
    ({"image": "@@@not base64@@@"}, "application/json", {}, "not valid base64"),
    ({"image": b64(b"plain text")}, "application/json", {}, "not a readable image"),
    ({"image": b64(TRUNCATED)}, "application/json", {}, "not a readable image"),
    ({"image": b64(JPEG), "score": True}, "application/json", {}, "must be a number"),
    ({"image": b64(JPEG), "score": [0.5]}, "application/json", {}, "must be a number"),
    ({"image": b64(JPEG), "iou": 2}, "application/json", {}, "between 0 and 1"),
    ({"image": b64(JPEG), "max_per_class": -3}, "application/json", {}, "from 1 to 100"),
    ({"image": b64(png_header_only(40000, 40000))}, "application/json", {},
     "larger than the limit"),
    (b'{"image": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "application/json", {},
     "nested too deeply"),
    (IMAGE_FIELD + b', "score": ' + b"9" * 400 + b"}", "application/json", {}, "finite"),
    (IMAGE_FIELD + b', "max_per_class": ' + b"9" * 400 + b"}", "application/json", {},
     "finite"),
    (IMAGE_FIELD + b', "iou": 1e400}', "application/json", {}, "finite"),
    (IMAGE_FIELD + b', "score": ' + b"9" * 5000 + b"}", "application/json", {},
     "not valid JSON"),
    (JPEG, "image/jpeg", {"max_per_class": "9" * 400}, "finite"),
]


