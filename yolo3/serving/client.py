"""The client side of a scoring endpoint: one POST, bounded and discreet.

An endpoint's key and any credentials in its address are secrets: they travel only to
the origin (scheme, host, port) the user named and never appear in a message. The whole
exchange — connecting, sending, every byte of the answer — has one deadline, and the
answer is checked against the shape ``deploy/score.py`` produces before anyone draws it.
TensorFlow-free.
"""

from __future__ import annotations

import base64
import contextlib
import html
import json
import math
import re
import threading
import urllib.error
import urllib.parse
import urllib.request

from yolo3.errors import YoloError
from yolo3.numbers import finite_number, whole_number

MAX_ANSWER_BYTES = 16 * 2**20  # 100 boxes per class × 80 classes is about 1.5 MB of JSON
MAX_CLASS_ID = 65_535  # far above any detector's class count; keeps drawing bounded
MAX_REDIRECTS = 5
REDIRECT_CODES = (301, 302, 303, 307, 308)


class Endpoint:
    """A scoring address and the credentials for it.

    ``url``: as the user wrote it (else YoloError "must be an http(s) address...", for
    the caller to prefix with where it came from); ``user:password@`` in it is taken out
    of the address and sent as HTTP Basic credentials (as curl does), unless ``key``
    (sent as a Bearer token) is given. ``shown`` is the address safe to print: no
    credentials, no query.
    """

    def __init__(self, url: str, key: str | None = None):
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise YoloError(f"must be an http(s) address, not {_shown(parts)!r}")
        try:
            parts.port  # noqa: B018  (raises for a port that is not a number)
        except ValueError:
            raise YoloError(f"has no valid port: {_shown(parts)}") from None
        query_values = [v for _, v in urllib.parse.parse_qsl(parts.query)]
        self.secrets = [s for s in (key, parts.password, parts.username, parts.query,
                                    *query_values) if s]
        self.authorization = None
        if key:
            self.authorization = f"Bearer {key}"
        elif parts.username is not None:
            pair = f"{urllib.parse.unquote(parts.username)}:" \
                   f"{urllib.parse.unquote(parts.password or '')}"
            self.authorization = "Basic " + base64.b64encode(pair.encode()).decode()
            self.secrets.append(self.authorization.split()[1])
        self.url = urllib.parse.urlunsplit((parts.scheme, _netloc(parts), parts.path or "/",
                                            parts.query, ""))
        self.origin = _origin(self.url)
        self.shown = _shown(urllib.parse.urlsplit(self.url))

    def redact(self, text: str) -> str:
        """``text`` with every secret of this endpoint replaced by ``***``."""
        for secret in sorted(self.secrets, key=len, reverse=True):
            for form in {secret, urllib.parse.quote(secret, safe=""),
                         urllib.parse.unquote(secret)}:
                if len(form) >= 3:
                    text = text.replace(form, "***")
        return text

    def with_query(self, settings: dict) -> str:
        """The address with ``settings`` added to its query string."""
        if not settings:
            return self.url
        extra = urllib.parse.urlencode(settings)
        return self.url + ("&" if urllib.parse.urlsplit(self.url).query else "?") + extra


def _netloc(parts: urllib.parse.SplitResult) -> str:
    """host[:port] without credentials (an IPv6 host in brackets; a bad port left out)."""
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    with contextlib.suppress(ValueError):
        if parts.port is not None:
            host += f":{parts.port}"
    return host


def _shown(parts: urllib.parse.SplitResult) -> str:
    return f"{parts.scheme}://{_netloc(parts)}{parts.path}" + ("?…" if parts.query else "")


def _origin(url: str) -> tuple[str, str, int]:
    parts = urllib.parse.urlsplit(url)
    default = 443 if parts.scheme == "https" else 80
    return parts.scheme, (parts.hostname or "").lower(), parts.port or default


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """Every 3xx comes back as an HTTPError, for :func:`post` to judge."""

    def redirect_request(self, *args, **kwargs):
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


def post(endpoint: Endpoint, data: bytes, timeout: float, settings: dict | None = None) -> dict:
    """The endpoint's JSON answer to ``data`` (an encoded image), read within ``timeout``
    seconds in all. YoloError (one line, no secret) for anything else."""
    if not (math.isfinite(timeout) and timeout > 0):
        raise YoloError(f"the timeout must be a positive number of seconds, not {timeout}")
    outcome: dict = {}

    def exchange():
        try:
            outcome["answer"] = _exchange(endpoint, data, timeout, settings or {})
        except YoloError as error:
            outcome["error"] = error
        except Exception as error:  # reported in the caller's thread, redacted
            outcome["error"] = YoloError(f"cannot reach {endpoint.shown}: {error}")

    worker = threading.Thread(target=exchange, daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():  # a server that trickles its answer keeps only a daemon thread
        raise YoloError(f"{endpoint.shown} did not answer in full within {timeout:g} s "
                        "(--timeout)")
    if "error" in outcome:
        raise YoloError(endpoint.redact(str(outcome["error"]))) from None
    return outcome["answer"]


def _exchange(endpoint: Endpoint, data: bytes, timeout: float, settings: dict) -> dict:
    url = endpoint.with_query(settings)
    for _ in range(MAX_REDIRECTS + 1):
        headers = {"Content-Type": "application/octet-stream"}
        if endpoint.authorization:
            headers["Authorization"] = endpoint.authorization
        request = urllib.request.Request(url, data=data, headers=headers, method="POST")
        try:
            with _OPENER.open(request, timeout=timeout) as answer:
                return _answer_json(endpoint, answer)
        except urllib.error.HTTPError as error:
            if error.code not in REDIRECT_CODES:
                raise YoloError(_refusal(error)) from None
            target = urllib.parse.urljoin(url, error.headers.get("Location") or "")
            if _origin(target) != endpoint.origin or not target.startswith("http"):
                raise YoloError(
                    f"{endpoint.shown} redirected to another site "
                    f"({_shown(urllib.parse.urlsplit(target))}); its key is not sent there: "
                    "name that address with --url if you trust it") from None
            url = target
        except (urllib.error.URLError, OSError, ValueError) as error:
            reason = getattr(error, "reason", error)
            raise YoloError(f"cannot reach {endpoint.shown}: {reason}") from None
    raise YoloError(f"{endpoint.shown} redirected more than {MAX_REDIRECTS} times")


def _answer_json(endpoint: Endpoint, answer) -> dict:
    body = answer.read(MAX_ANSWER_BYTES + 1)
    if len(body) > MAX_ANSWER_BYTES:
        raise YoloError(f"{endpoint.shown} answered with more than "
                        f"{MAX_ANSWER_BYTES // 2**20} MB; a scoring answer is far smaller")
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        raise YoloError(f"{endpoint.shown} did not answer with JSON: is it this project's "
                        "scoring endpoint?") from None


def _refusal(error: urllib.error.HTTPError) -> str:
    """One line for an HTTP error answer: this project's ``{"error": ...}``, an HTML
    page's title, or the first line of whatever text came."""
    raw = b""
    with contextlib.suppress(Exception):  # an answer cut short still has its status
        raw = error.read(64 * 1024)
    text = raw.decode(errors="replace").strip()
    detail = ""
    with contextlib.suppress(ValueError, AttributeError, RecursionError):
        found = json.loads(text)
        found = found.get("error", found.get("message", "")) if isinstance(found, dict) else ""
        detail = found if isinstance(found, str) else json.dumps(found)[:200]
    if not detail and re.match(r"(?is)\s*(<!doctype|<html|<\?xml)", text):
        title = re.search(r"(?is)<title[^>]*>(.*?)</title>", text)
        detail = html.unescape(title.group(1)) if title else ""
        detail = f"an HTML page{': ' + detail if detail.strip() else ''}"
    elif not detail and text:
        detail = text
    detail = " ".join(detail.split())[:300] or (error.reason or "")
    hint = " (set WEBSERVICE_KEY)" if error.code in (401, 403) else ""
    return f"the endpoint answered {error.code}{hint}: {detail}"


def detections_from(answer, shown: str) -> list[dict]:
    """The detections of an answer, each checked: ``{"class_id": int in
    [0, MAX_CLASS_ID], "class_name": str, "score": finite number, "box": four finite
    numbers [x_min, y_min, x_max, y_max]}``, one name per class id. YoloError naming the
    first problem otherwise."""
    found = answer.get("detections") if isinstance(answer, dict) else None
    if not isinstance(found, list):
        raise YoloError(f"{shown} did not answer with detections: is it this "
                        "project's scoring endpoint?")
    names: dict[int, str] = {}
    for index, detection in enumerate(found):
        problem = _detection_problem(detection)
        if problem:
            raise YoloError(f"{shown} answered with a malformed detection {index}: {problem}")
        known = names.setdefault(detection["class_id"], detection["class_name"])
        if known != detection["class_name"]:
            raise YoloError(f"{shown} answered with class {detection['class_id']} named both "
                            f"{known!r} and {detection['class_name']!r}")
    return found


def _detection_problem(detection) -> str | None:
    if not isinstance(detection, dict):
        return "not an object"
    missing = [k for k in ("class_id", "class_name", "score", "box") if k not in detection]
    if missing:
        return f"no {missing[0]!r}"
    class_id, box = detection["class_id"], detection["box"]
    if not whole_number(class_id) or not 0 <= class_id <= MAX_CLASS_ID:
        return f"class_id must be a whole number from 0 to {MAX_CLASS_ID}"
    if not isinstance(detection["class_name"], str):
        return "class_name must be text"
    if not _finite(detection["score"]):
        return "score must be a finite number"
    if not isinstance(box, list) or len(box) != 4 or not all(map(_finite, box)):
        return "box must be four finite numbers"
    return None


def _finite(value) -> bool:
    return finite_number(value) and abs(value) < 1e9  # pixels, scores: far below
