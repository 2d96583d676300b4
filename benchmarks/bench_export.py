#!/usr/bin/env python
"""Exported ONNX models against the runtimes' own floor, measured side by side in one run
(rounds alternate between the contenders; medians after warm-up), batch 1:

1. yolov3-tiny-416 (real weights) and yolov3-416 (random weights in the official layout,
   head biases at the training recipe's priors so that, like a trained detector's, few
   boxes pass the score threshold instead of thousands of noise boxes): end-to-end
   detection of the sample as a decoded RGB array (as video frames and cv2 images come)
   through the exported detection graph in ONNX Runtime (letterbox → runtime → boxes),
   against ONNX Runtime's bare fp32 forward of the same network (the --raw export, input
   already letterboxed). Target ratio ≤ 1.05. The low-precision paths end to end against
   the same bare fp32 forward, target ≤ 0.6 for the best: the int8 export (calibrated on
   the sample, its mirror image and its quarters) in ONNX Runtime, and the fp32 export in
   OpenVINO at its default precision (bf16 on CPUs with bf16 units), and the .tflite
   exports (fp32 and int8) in LiteRT. The Keras/TensorFlow detector end to end, for
   reference.
2. Cold start: `yolo_video.py --image` on the sample, process start to exit, with the
   .onnx file vs the .h5 model.

Run from the repository root:  python benchmarks/bench_export.py [--runs 30]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from yolo3.cli import inference_only_process  # noqa: E402

inference_only_process()  # as yolo_video.py runs: this process never trains

import numpy as np  # noqa: E402
import onnxruntime  # noqa: E402
from PIL import Image  # noqa: E402

from helpers import SAMPLE, write_random_weights  # noqa: E402
from yolo3.darknet import load_cfg  # noqa: E402
from yolo3.defaults import NmsSettings  # noqa: E402
from yolo3.download import fetch  # noqa: E402
from yolo3.export.onnx import export_onnx  # noqa: E402
from yolo3.export.tflite import export_tflite  # noqa: E402
from yolo3.images import letterbox  # noqa: E402
from yolo3.inference.base import letterbox_batch  # noqa: E402
from yolo3.inference.detector import Detector, open_model  # noqa: E402
from yolo3.inference.onnx_detector import OnnxDetector  # noqa: E402
from yolo3.inference.openvino_detector import OpenVinoDetector  # noqa: E402
from yolo3.inference.tflite_detector import TfliteDetector  # noqa: E402
from yolo3.model.convert import darknet_to_keras  # noqa: E402
from yolo3.training.recipes import set_head_bias_priors  # noqa: E402

SIZE = (416, 416)


def timed(function, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        out.append((time.perf_counter() - start) * 1000)
    return out


def calibration_batches(image: Image.Image) -> list[tuple]:
    w, h = image.size
    pictures = [image, image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)] + [
        image.crop((x, y, x + w // 2, y + h // 2)) for x in (0, w // 2) for y in (0, h // 2)]
    return [letterbox_batch([picture], SIZE) for picture in pictures]


def compare(model_path: Path, folder: Path, runs: int, priors: bool) -> dict[str, float]:
    loaded = open_model(model_path)
    if priors:
        set_head_bias_priors(loaded.model, loaded.config, SIZE)
    raw, full = folder / f"{model_path.stem}-raw.onnx", folder / f"{model_path.stem}.onnx"
    int8 = folder / f"{model_path.stem}-int8.onnx"
    picture = Image.open(SAMPLE).convert("RGB")
    image = np.asarray(picture)
    export_onnx(loaded, raw, SIZE, NmsSettings(), raw=True)
    export_onnx(loaded, full, SIZE, NmsSettings())
    export_onnx(loaded, int8, SIZE, NmsSettings(), calibration=calibration_batches(picture))
    tflite, tflite_int8 = (folder / f"{model_path.stem}{kind}.tflite" for kind in ("", "-int8"))
    export_tflite(loaded, tflite, SIZE, NmsSettings())
    export_tflite(loaded, tflite_int8, SIZE, NmsSettings(),
                  calibration=calibration_batches(picture))
    canvas, _ = letterbox(image, SIZE)
    pixels = canvas[None].astype(np.float32) / 255.0
    # three sessions share two cores: idle threads must not spin while another runs
    options = onnxruntime.SessionOptions()
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    bare = onnxruntime.InferenceSession(str(raw), options, providers=["CPUExecutionProvider"])
    onnx_detector = OnnxDetector(full, spinning=False)
    int8_detector = OnnxDetector(int8, spinning=False)
    openvino_detector = OpenVinoDetector(full)
    litert_detector, litert_int8_detector = TfliteDetector(tflite), TfliteDetector(tflite_int8)
    contenders = {"onnx bare forward": lambda: bare.run(None, {"input": pixels}),
                  "onnx end to end": lambda: onnx_detector.detect(image),
                  "int8 end to end": lambda: int8_detector.detect(image),
                  "openvino end to end": lambda: openvino_detector.detect(image),
                  "litert end to end": lambda: litert_detector.detect(image),
                  "litert int8 end to end": lambda: litert_int8_detector.detect(image)}
    times = {name: [] for name in contenders}
    for function in contenders.values():
        timed(function, 5)  # warm-up
    for _ in range(5):  # alternate, so drifts in machine speed hit both alike
        for name, function in contenders.items():
            times[name] += timed(function, max(1, runs // 5))
    # TensorFlow last and apart: its idle worker threads slow whatever runs between its
    # calls, which would charge ONNX Runtime for TensorFlow's presence
    keras_detector = Detector(loaded, SIZE)
    timed(lambda: keras_detector.detect(image), 5)
    times["keras end to end"] = timed(lambda: keras_detector.detect(image), runs)
    result = {name: statistics.median(values) for name, values in times.items()}
    result["detections"] = len(onnx_detector.detect(image))
    return result


def cold_start(model: Path, output: Path) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, str(REPO / "yolo_video.py"), "--image", "--model_path",
                    str(model), "--input", str(SAMPLE), "--output", str(output)], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=REPO)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        tiny = folder / "yolov3-tiny.h5"
        darknet_to_keras(REPO / "cfg/yolov3-tiny.cfg", fetch("yolov3-tiny", progress=False),
                         tiny, log=lambda *a: None)
        full = folder / "yolov3.h5"
        weights = write_random_weights(folder / "yolov3.weights",
                                       load_cfg(REPO / "cfg/yolov3.cfg"))
        darknet_to_keras(REPO / "cfg/yolov3.cfg", weights, full, log=lambda *a: None)
        print(f"{'ms, batch 1, medians':<18}{'boxes':>6}{'ort bare':>9}{'ort e2e':>9}"
              f"{'int8 e2e':>9}{'ov e2e':>9}{'lite e2e':>9}{'lite8 e2e':>10}{'keras e2e':>10}"
              f"{'e2e/bare':>9}{'int8/bare':>10}{'ov/bare':>9}{'lite8/bare':>11}")
        for name, path, priors in (("yolov3-tiny-416", tiny, False),
                                   ("yolov3-416", full, True)):
            result = compare(path, folder, args.runs, priors)
            bare = result["onnx bare forward"]
            ratio = result["onnx end to end"] / bare
            int8, openvino, litert_int8 = (result[k] / bare for k in (
                "int8 end to end", "openvino end to end", "litert int8 end to end"))
            ok &= ratio <= 1.05 and min(int8, openvino, litert_int8) <= 0.6
            print(f"{name:<18}{result['detections']:>6}{bare:>9.1f}"
                  f"{result['onnx end to end']:>9.1f}{result['int8 end to end']:>9.1f}"
                  f"{result['openvino end to end']:>9.1f}{result['litert end to end']:>9.1f}"
                  f"{result['litert int8 end to end']:>10.1f}"
                  f"{result['keras end to end']:>10.1f}"
                  f"{ratio:>9.2f}{int8:>10.2f}{openvino:>9.2f}{litert_int8:>11.2f}")
        print("targets: e2e/bare ≤ 1.05; the best of int8/bare, ov/bare and lite8/bare ≤ 0.6 "
              "(ov: OpenVINO at its default precision, bf16 on this CPU; lite: LiteRT with "
              "XNNPACK, the .tflite exports)")
        onnx_file = folder / "yolov3-tiny.onnx"
        starts = {"onnx": [], "h5": []}
        for i in range(3):
            starts["onnx"].append(cold_start(onnx_file, folder / f"cold-onnx-{i}.jpg"))
            starts["h5"].append(cold_start(tiny, folder / f"cold-h5-{i}.jpg"))
        onnx_start, h5_start = (statistics.median(starts[k]) for k in ("onnx", "h5"))
        print(f"cold start, yolo_video.py --image (s, median of 3): .onnx {onnx_start:.2f}, "
              f".h5 {h5_start:.2f} ({onnx_start / h5_start:.2f}×)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
