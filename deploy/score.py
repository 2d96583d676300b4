"""Scoring script for an Azure ML managed online endpoint, and for Microsoft's local
inference server (``azmlinfsrv``, the same server the endpoint runs):

    azmlinfsrv --entry_script deploy/score.py --model_dir FOLDER_WITH_EXPORT

``init()`` opens the export under ``AZUREML_MODEL_DIR`` (yolo3.serving.model: the .onnx
file, else the .tflite file, else a SavedModel folder; ``YOLO3_MODEL_FILE`` names one) —
no TensorFlow in the serving environment for the first two. ``run()`` takes raw image
bytes (``Content-Type: image/...``) or JSON ``{"image": "<base64>"}`` (or upstream's
``"data"``), optional ``score``, ``iou``, ``max_per_class`` (JSON fields or query
parameters), and answers
``{"detections": [...], "image_size": [w, h], "model": ...}``. A malformed request gets
HTTP 400 and ``{"error": "<one line>"}``; an unexpected failure HTTP 500 with a generic
message (the details go to the server's log, never to the client); the worker stays up.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]  # the snapshot root, which holds yolo3/
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from azureml_inference_server_http.api.aml_request import rawhttp  # noqa: E402
from azureml_inference_server_http.api.aml_response import AMLResponse  # noqa: E402

logger = logging.getLogger("azmlinfsrv.score")
served = {}  # filled by init(): detector, model name, per-class ceiling
# the server's threads share one detector: requests are read and decoded side by side,
# the model runs one at a time (TFLite's interpreter is not thread-safe)
inference = threading.Lock()


def init():
    from yolo3.serving.model import MODEL_FILE_VARIABLE, find_model, open_served

    path = find_model(Path(os.environ.get("AZUREML_MODEL_DIR", ".")),
                      os.environ.get(MODEL_FILE_VARIABLE))
    detector = open_served(path)
    served.update(detector=detector, model=path.name,
                  ceiling=detector.info.max_per_class_ceiling)
    logger.info("serving %s (%d classes, %dx%d)", path.name, detector.num_classes,
                *detector.input_size)


@rawhttp
def run(request):
    from yolo3.errors import YoloError
    from yolo3.serving.request import BadRequest, parse_request, response

    try:
        detector = served["detector"]
        parsed = parse_request(request.get_data(cache=False),
                               request.headers.get("Content-Type", ""),
                               request.args.to_dict(), detector.nms, served["ceiling"])
        with inference:
            found = detector.with_nms(parsed.nms).detect(parsed.image)
        return AMLResponse(response(found, parsed.image, served["model"]), 200,
                           json_str=True)
    except (BadRequest, YoloError) as error:
        return AMLResponse({"error": str(error)}, 400, json_str=True)
    except Exception:  # logged for the operator; the client learns nothing internal
        logger.exception("scoring failed")
        return AMLResponse({"error": "the model failed on this request"}, 500,
                           json_str=True)
