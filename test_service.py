#!/usr/bin/env python
"""Send an image to a deployed detector (an Azure ML online endpoint, or the local
inference server) and show what it found.

    python test_service.py --image photo.jpg                  # the local server
    SCORING_URI=https://<endpoint>.<region>.inference.ml.azure.com/score \\
    WEBSERVICE_KEY=... python test_service.py --image photo.jpg --output found.jpg

The scoring address comes from --url or SCORING_URI (default: the local server,
http://127.0.0.1:5001/score); the endpoint key only from the WEBSERVICE_KEY environment
variable — never a flag, which would land in shell history. The key, credentials and
query strings in the address are never printed, and the key is sent only to the address's
own site (a redirect elsewhere is refused). Prints the detections and writes the image
with them drawn (--output; its suffix picks the format).
"""

from __future__ import annotations

import math
import os
import sys
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
                        help="the annotated image, in the format its suffix names "
                             "(default: <image>_detections.jpg here)")
    parser.add_argument("--score", type=float, help="the endpoint's score threshold")
    parser.add_argument("--timeout", type=float, default=60,
                        help="seconds for the whole exchange (default 60)")
    args = parser.parse_args(argv)
    if not (math.isfinite(args.timeout) and args.timeout > 0):
        parser.error(f"--timeout must be a positive number of seconds, not {args.timeout}")
    args.output = args.output or Path(f"{args.image.stem}_detections.jpg")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    from yolo3.files import check_writable, refuse_overwriting_inputs
    from yolo3.images import draw_detections, image_format, load_image, save_image
    from yolo3.serving.client import Endpoint, detections_from, post

    try:
        endpoint = Endpoint(args.url, os.environ.get(KEY_VARIABLE))
    except YoloError as error:
        raise YoloError(f"--url {error}") from None
    image_format(args.output)  # a name Pillow can write, before anything is sent
    refuse_overwriting_inputs([args.output], [args.image])
    image = load_image(args.image)  # a readable image before anything is sent
    check_writable(args.output)
    settings = {"score": args.score} if args.score is not None else {}
    answer = post(endpoint, args.image.read_bytes(), args.timeout, settings)
    found = detections_from(answer, endpoint.shown)
    for detection in found:
        box = ", ".join(f"{v:.0f}" for v in detection["box"])
        print(f"{detection['class_name']:<16} {detection['score']:.2f}  [{box}]")
    num_classes = max((d["class_id"] for d in found), default=0) + 1
    save_image(draw_detections(image, found, num_classes), args.output)
    model = answer.get("model")
    print(f"{len(found)} objects ({model if isinstance(model, str) else 'model'}); "
          f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(run(main))
