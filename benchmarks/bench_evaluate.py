#!/usr/bin/env python
"""Scoring speed: 5,000 images × 100 detections, 20 classes.

Two measures, medians of --runs: yolo3.evaluation.report.evaluate in this process (VOC AP
per class, COCO AP, P/R/F1, the confusion matrix; target ≤ 10 s), and evaluate.py
--detections from the command line as a user runs it (reading the detections file, the
metrics, metrics.json and the pictures; target ≤ 6 s on the 2-core reference machine).

Run from the repository root:  python benchmarks/bench_evaluate.py [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from yolo3.data.annotations import Annotation  # noqa: E402
from yolo3.evaluation.report import evaluate  # noqa: E402

TARGET_SECONDS = 10.0
COMMAND_TARGET_SECONDS = 6.0


def synthetic(images: int, per_image: int, classes: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    annotations, detections = [], {}
    for i in range(images):
        g = int(rng.integers(1, 8))
        xy = rng.uniform(0, 500, (g, 2))
        gt = np.concatenate([xy, xy + rng.uniform(8, 200, (g, 2))], 1).round()
        gt_classes = rng.integers(0, classes, g)
        path = f"images/{i:05d}.jpg"
        annotations.append(Annotation(path, np.column_stack([gt, gt_classes]).astype(np.int64)))
        source = rng.integers(0, g, per_image)
        boxes = gt[source] + rng.normal(0, 10, (per_image, 4))
        boxes[:, 2:] = np.maximum(boxes[:, 2:], boxes[:, :2] + 1)
        det_classes = np.where(rng.random(per_image) < 0.7, gt_classes[source],
                               rng.integers(0, classes, per_image))
        detections[path] = [{"class_id": int(c), "score": float(s), "box": b.tolist()}
                            for b, s, c in zip(boxes, rng.random(per_image), det_classes)]
    return annotations, detections


def command_line_times(annotations, detections, names, runs: int) -> list[float]:
    """Seconds for evaluate.py --detections on the report written out as files."""
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "list.txt").write_text("".join(
            a.path + "".join(" " + ",".join(str(int(v)) for v in box) for box in a.boxes)
            + "\n" for a in annotations))
        (tmp / "classes.txt").write_text("\n".join(names) + "\n")
        (tmp / "detections.json").write_text(json.dumps(detections))
        times = []
        for run in range(runs):
            command = [sys.executable, str(REPO / "evaluate.py"), "--annot_file", "list.txt",
                       "--classes_path", "classes.txt", "--detections", "detections.json",
                       "--output_dir", f"report{run}", "--quiet"]
            start = time.perf_counter()
            subprocess.run(command, cwd=tmp, check=True, stdout=subprocess.DEVNULL)
            times.append(time.perf_counter() - start)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    annotations, detections = synthetic(5000, 100, 20)
    names = [f"class{i}" for i in range(20)]
    times = []
    for _ in range(args.runs):
        start = time.perf_counter()
        metrics, _ = evaluate(annotations, detections, names)
        times.append(time.perf_counter() - start)
    rows = [("evaluate(), 5,000 images x 100 det., 20 cl.", times, TARGET_SECONDS),
            ("evaluate.py --detections, same, command line",
             command_line_times(annotations, detections, names, args.runs),
             COMMAND_TARGET_SECONDS)]
    print(f"{'measure':<46}{'median s':>10}{'min s':>8}{'max s':>8}{'median/target':>15}")
    for name, values, target in rows:
        median = statistics.median(values)
        print(f"{name:<46}{median:>10.2f}{min(values):>8.2f}{max(values):>8.2f}"
              f"{median / target:>15.2f}")
    print(f"(mAP@0.5 {metrics['voc_map50']:.4f}, COCO AP {metrics['coco_map']:.4f})")
    return 0 if all(statistics.median(v) <= t for _, v, t in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
