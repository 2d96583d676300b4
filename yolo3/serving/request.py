"""One scoring request as an endpoint receives it, checked before any model runs.

Two forms, as Azure ML online endpoints pass them to a scoring script:
- raw image bytes with ``Content-Type: image/jpeg`` (png, bmp, gif, tiff, webp,
  ``application/octet-stream``);
- JSON ``{"image": "<base64>"}`` (or upstream's ``{"data": "<base64>"}``).
Optional settings ``score``, ``iou`` (0..1) and ``max_per_class`` (1..the model's ceiling)
come as JSON fields or query parameters. Anything else is a :class:`BadRequest`: one line,
answered with HTTP 400, naming what was wrong and never a path or a traceback.
TensorFlow-free.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, replace

from PIL import Image

from yolo3.defaults import NmsSettings
from yolo3.errors import YoloError

MAX_REQUEST_BYTES = 32 * 2**20  # a 12-megapixel JPEG is about 5 MB; base64 adds a third
IMAGE_FIELDS = ("image", "data")  # "data": upstream's score.py
SETTINGS = ("score", "iou", "max_per_class")
RAW_TYPES = ("image/", "application/octet-stream")


class BadRequest(YoloError):
    """A request the endpoint answers with HTTP 400 and ``{"error": str(self)}``."""


@dataclass(frozen=True)
class ScoringRequest:
    image: Image.Image  # upright 8-bit RGB
    nms: NmsSettings


def parse_request(body: bytes, content_type: str, query: Mapping[str, str],
                  defaults: NmsSettings, max_per_class_ceiling: int) -> ScoringRequest:
    """The image and NMS settings of one request; BadRequest for anything malformed.
    ``defaults``: the model's settings, which the request's own override."""
    if not body:
        raise BadRequest("the request has no body: send an image, or JSON {\"image\": "
                         "\"<base64>\"}")
    if len(body) > MAX_REQUEST_BYTES:
        raise BadRequest(f"the request is {len(body):,} bytes; at most "
                         f"{MAX_REQUEST_BYTES:,} are accepted")
    kind = (content_type or "").split(";")[0].strip().lower()
    unknown = sorted(set(query) - set(SETTINGS))
    if unknown:
        raise BadRequest(f"unknown query parameter {unknown[0]!r}; known: "
                         f"{', '.join(SETTINGS)}")
    settings = dict(query)
    if kind == "application/json" or (not kind and body.lstrip()[:1] == b"{"):
        encoded, fields = _json_image(body)
        settings.update(fields)
        data = _base64(encoded)
    elif kind.startswith(RAW_TYPES):
        data = body
    else:
        raise BadRequest(f"unsupported Content-Type {kind or '(none)'!r}: send image/jpeg, "
                         "image/png, ... or application/json")
    nms = _settings(settings, defaults, max_per_class_ceiling)
    from yolo3.images import decode_image

    try:
        image = decode_image(data, "the image")
    except YoloError as error:
        raise BadRequest(str(error).replace(" (--max_pixels)", "")) from None
    return ScoringRequest(image, nms)


def _json_image(body: bytes) -> tuple[str, dict]:
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        raise BadRequest(f"the body is not valid JSON ({str(error).splitlines()[0]})"
                         ) from None
    except RecursionError:  # the parser stops at Python's recursion limit, cleanly
        raise BadRequest("the JSON body is nested too deeply: send {\"image\": "
                         "\"<base64>\"}") from None
    if not isinstance(document, dict):
        raise BadRequest("the JSON body must be an object: {\"image\": \"<base64>\"}")
    unknown = sorted(set(document) - set(IMAGE_FIELDS) - set(SETTINGS))
    if unknown:
        raise BadRequest(f"unknown field {unknown[0]!r}; known: "
                         f"{', '.join(IMAGE_FIELDS + SETTINGS)}")
    given = [name for name in IMAGE_FIELDS if name in document]
    if len(given) != 1:
        raise BadRequest("give the image once, as \"image\" (or \"data\"): base64 of the "
                         "encoded file" + (", not both" if given else ""))
    encoded = document[given[0]]
    if not isinstance(encoded, str) or not encoded:
        raise BadRequest(f"\"{given[0]}\" must be a non-empty base64 string")
    return encoded, {name: document[name] for name in SETTINGS if name in document}


def _base64(encoded: str) -> bytes:
    if encoded.startswith("data:") and "," in encoded:  # a data URL from a browser
        encoded = encoded.split(",", 1)[1]
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest("the image is not valid base64") from None


def _settings(values: dict, defaults: NmsSettings, ceiling: int) -> NmsSettings:
    changes = {}
    for name in ("score", "iou"):
        if name in values:
            value = _number(name, values[name])
            if not 0.0 <= value <= 1.0:
                raise BadRequest(f"{name} must lie between 0 and 1, not {values[name]}")
            changes[name] = value
    if "max_per_class" in values:
        value = _number("max_per_class", values["max_per_class"])
        if value != int(value) or not 1 <= value <= ceiling:
            raise BadRequest(f"max_per_class must be a whole number from 1 to {ceiling}, "
                             f"not {values['max_per_class']}")
        changes["max_per_class"] = int(value)
    return replace(defaults, **changes)


def _number(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise BadRequest(f"{name} must be a number, not {json.dumps(value)[:40]}")
    try:
        number = float(value)
    except ValueError:
        raise BadRequest(f"{name} must be a number, not {str(value)[:40]!r}") from None
    except OverflowError:  # a JSON integer of hundreds of digits
        raise BadRequest(f"{name} must be a finite number, not {str(value)[:20]}...") from None
    if not math.isfinite(number):
        raise BadRequest(f"{name} must be a finite number")
    return number


def response(detections: list[dict], image: Image.Image, model: str) -> dict:
    """The answer to a good request: ``{"detections": [...], "image_size": [w, h],
    "model": ...}``, detections in the project's format (yolo3.inference.detector)."""
    return {"detections": detections, "image_size": list(image.size), "model": model}
