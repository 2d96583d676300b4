#!/usr/bin/env python
"""Send an image to a deployed detector (an Azure ML online endpoint, or the local
inference server) and show what it found.

    python test_service.py --image photo.jpg                  # the local server
    SCORING_URI=https://<endpoint>.<region>.inference.ml.azure.com/score \\
    WEBSERVICE_KEY=... python test_service.py --image photo.jpg --output found.jpg

The scoring address comes from --url or SCORING_URI (default: the local server,
http://127.0.0.1:5001/score); the endpoint key only from the WEBSERVICE_KEY environment
variable — never a flag, which would land in shell history — and it is never printed.
Prints the detections and writes the image with them drawn (--output).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path

from yolo3.cli import ArgumentParser, run
from yolo3.errors import YoloError

LOCAL_URL = "http://127.0.0.1:5001/score"
KEY_VARIABLE, URL_VARIABLE = "WEBSERVICE_KEY", "SCORING_URI"


def parse_args(argv):
    parser = ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--image", type=Path, required=True, help="the image to send")
    parser.add_argument("--url", default=os.environ.get(URL_VARIABLE, LOCAL_URL),
                        help=f"scoring address (default: ${URL_VARIABLE} or {LOCAL_URL})")
    parser.add_argument("--output", type=Path,
                        help="the annotated image (default: <image>_detections.jpg here)")
    parser.add_argument("--score", type=float, help="the endpoint's score threshold")
    parser.add_argument("--timeout", type=float, default=60, help="seconds (default 60)")
    args = parser.parse_args(argv)
    if not args.url.startswith(("http://", "https://")):
        parser.error(f"--url must be an http(s) address, not {args.url!r}")
    args.output = args.output or Path(f"{args.image.stem}_detections.jpg")
    return args


def score(url: str, data: bytes, key: str | None, timeout: float, query: str = "") -> dict:
    """The endpoint's JSON answer to ``data`` (an encoded image); YoloError with the
    endpoint's own message when it refuses."""
    headers = {"Content-Type": "application/octet-stream"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    request = urllib.request.Request(url + query, data=data, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            body = answer.read()
    except urllib.error.HTTPError as error:
        detail = error.read().decode(errors="replace")
        with contextlib.suppress(ValueError, AttributeError):  # not this project's JSON
            detail = json.loads(detail).get("error", detail)
        hint = f" (set {KEY_VARIABLE})" if error.code in (401, 403) else ""
        raise YoloError(f"the endpoint answered {error.code}{hint}: "
                        f"{str(detail).strip().splitlines()[0] if detail else error.reason}"
                        ) from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise YoloError(f"cannot reach {url}: {reason}") from None
    try:
        answer = json.loads(body)
        answer["detections"]  # noqa: B018  (the shape deploy/score.py answers with)
    except (ValueError, KeyError, TypeError):
        raise YoloError(f"{url} did not answer with detections: is it this project's "
                        "scoring endpoint?") from None
    return answer


def main(argv=None) -> int:
    args = parse_args(argv)
    from yolo3.files import atomic_output, check_writable, refuse_overwriting_inputs
    from yolo3.images import draw_detections, load_image

    refuse_overwriting_inputs([args.output], [args.image])
    image = load_image(args.image)  # a readable image before anything is sent
    check_writable(args.output)
    query = f"?score={args.score}" if args.score is not None else ""
    answer = score(args.url, args.image.read_bytes(), os.environ.get(KEY_VARIABLE),
                   args.timeout, query)
    found = answer["detections"]
    for detection in found:
        box = ", ".join(f"{v:.0f}" for v in detection["box"])
        print(f"{detection['class_name']:<16} {detection['score']:.2f}  [{box}]")
    names = {d["class_id"]: d["class_name"] for d in found}
    annotated = draw_detections(image, found, max(names, default=0) + 1)
    with atomic_output(args.output) as tmp:
        annotated.save(tmp, format="JPEG", quality=92)
    print(f"{len(found)} objects ({answer.get('model', 'model')}); wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(run(main))
