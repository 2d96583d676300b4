#!/usr/bin/env python
"""Inference speed, measured side by side in one run (medians after warm-up).

1. yolov3-tiny-416, real weights: our end-to-end detection of one in-memory image
   (letterbox, forward, decode, NMS) vs ONNX Runtime's forward pass alone on the same
   model (tf2onnx export). Target ratio ≤ 1.15.
2. yolov3-416, random weights in the official layout: our end-to-end detection vs OpenCV
   4.x DNN's forward pass alone. Target ratio ≤ 0.8.
3. yolov3-tiny-416: throughput of a batch of 8 vs one image at a time. Target ≥ 1.2.
4. yolov4-tiny-416 and yolov4-416, random weights in the official layout: our end-to-end
   detection (resized, as their cfgs say) vs OpenCV's forward pass alone. Targets ≤ 1.0
   (tiny) and ≤ 0.8 (full).

Needs onnxruntime and tf2onnx (requirements.txt). Run from the repository root:
    python benchmarks/bench_inference.py [--runs 30]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from yolo3.cli import inference_only_process  # noqa: E402

inference_only_process()  # as yolo_video.py runs: this process never trains

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from helpers import SAMPLE, opencv_head_names, write_random_weights  # noqa: E402
from yolo3.darknet import load_cfg  # noqa: E402
from yolo3.download import fetch  # noqa: E402
from yolo3.images import letterbox  # noqa: E402
from yolo3.inference.detector import Detector, open_model  # noqa: E402
from yolo3.model.convert import darknet_to_keras  # noqa: E402

WARMUP = 5


BLOCK = 5


def side_by_side(runs: int, **candidates) -> dict[str, float]:
    """Median seconds per call; the candidates alternate in blocks of BLOCK calls.

    Alternating spreads the machine's noise over all candidates; blocks keep one
    runtime's idle thread pool (ONNX Runtime spins after each run) from taxing the
    other's every call. The first call of each block is a warm-up and is not counted.
    """
    times: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(WARMUP):
        for call in candidates.values():
            call()
    while min(len(v) for v in times.values()) < runs:
        for name, call in candidates.items():
            call()
            for _ in range(BLOCK):
                start = time.perf_counter()
                call()
                times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def onnx_forward(model):
    import onnxruntime
    import tensorflow as tf
    import tf2onnx

    spec = [tf.TensorSpec((None, 416, 416, 3), tf.float32, name="input")]
    proto, _ = tf2onnx.convert.from_keras(model, input_signature=spec, opset=17)
    session = onnxruntime.InferenceSession(proto.SerializeToString(),
                                           providers=["CPUExecutionProvider"])
    return lambda x: session.run(None, {"input": x})


def opencv_forward(cfg: Path, weights: Path, heads: list[str]):
    net = cv2.dnn.readNetFromDarknet(str(cfg), str(weights))
    net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
    net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)

    def forward(blob):
        net.setInput(blob)
        return net.forward(heads)
    return forward


def darknet_pair(name: str, image: Image.Image, tmp: Path):
    """(our end-to-end detection of ``image``, OpenCV's forward on it, prepared) for
    cfg/<name>.cfg with random weights in the official layout."""
    cfg = REPO / f"cfg/{name}.cfg"
    config = load_cfg(cfg)
    weights = write_random_weights(tmp / f"{name}.weights", config)
    path = tmp / f"{name}.h5"
    darknet_to_keras(cfg, weights, path, log=lambda *a: None)
    detector = Detector(open_model(path))
    canvas, _ = letterbox(image, (416, 416), keep_aspect=config.letter_box)
    blob = np.ascontiguousarray(np.transpose(canvas[None].astype(np.float32) / 255.0,
                                             (0, 3, 1, 2)))
    opencv = opencv_forward(cfg, weights, opencv_head_names(config))
    return (lambda: detector.detect(image)), (lambda: opencv(blob))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    image = Image.open(SAMPLE).convert("RGB")
    canvas, _ = letterbox(image, (416, 416))
    nhwc = canvas[None].astype(np.float32) / 255.0
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        quiet = lambda *a: None  # noqa: E731

        tiny_path = tmp / "tiny.h5"
        darknet_to_keras(REPO / "cfg/yolov3-tiny.cfg", fetch("yolov3-tiny", progress=False),
                         tiny_path, log=quiet)
        tiny = open_model(tiny_path)
        detector = Detector(tiny)
        ort = onnx_forward(tiny.model)
        t = side_by_side(args.runs, ours=lambda: detector.detect(image), ort=lambda: ort(nhwc))
        rows.append(("tiny-416 end-to-end / ORT forward", t["ours"], t["ort"], 1.15, "≤"))

        batch = [image] * 8
        t = side_by_side(max(5, args.runs // 4), one=lambda: [detector.detect(i) for i in batch],
                         eight=lambda: detector.detect_batch(batch))
        rows.append(("tiny-416 batch-8 speed-up (images/s)", t["one"], t["eight"], 1.2, "≥"))

        for name, target in (("yolov3", 0.8), ("yolov4-tiny", 1.0), ("yolov4", 0.8)):
            ours, opencv = darknet_pair(name, image, tmp)
            t = side_by_side(max(5, args.runs // 2), ours=ours, opencv=opencv)
            rows.append((f"{name}-416 end-to-end / OpenCV forward", t["ours"], t["opencv"],
                         target, "≤"))

    print(f"medians of ≥{args.runs} (tiny) / ≥{max(5, args.runs // 2)} (others) runs in "
          f"alternating blocks of {BLOCK}; sample image {image.width}x{image.height}")
    print(f"{'measure':<46}{'ours ms':>9}{'other ms':>10}{'ratio':>8}{'target':>9}")
    ok = True
    for name, ours, other, target, sense in rows:
        if sense == "≥":  # a speed-up: time of 8 single calls over one batch call
            ratio, ours_ms, other_ms = ours / other, ours * 1000 / 8, other * 1000 / 8
        else:
            ratio, ours_ms, other_ms = ours / other, ours * 1000, other * 1000
        passed = ratio <= target if sense == "≤" else ratio >= target
        ok &= passed
        print(f"{name:<46}{ours_ms:>9.1f}{other_ms:>10.1f}{ratio:>8.2f}{sense + str(target):>9}"
              f"{'' if passed else '  (missed)'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
