#!/usr/bin/env python
"""Scoring speed: 5,000 images × 100 detections through yolo3.evaluation.report.evaluate
(VOC AP per class, COCO AP via faster-coco-eval, P/R/F1). Target ≤ 10 s.

Run from the repository root:  python benchmarks/bench_evaluate.py [--runs 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from yolo3.data.annotations import Annotation  # noqa: E402
from yolo3.evaluation.report import evaluate  # noqa: E402

TARGET_SECONDS = 10.0


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
    median = statistics.median(times)
    print(f"{'measure':<46}{'median s':>10}{'min s':>8}{'max s':>8}{'median/target':>15}")
    print(f"{'evaluate 5,000 images x 100 detections, 20 cl.':<46}{median:>10.2f}"
          f"{min(times):>8.2f}{max(times):>8.2f}{median / TARGET_SECONDS:>15.2f}")
    print(f"(mAP@0.5 {metrics['voc_map50']:.4f}, COCO AP {metrics['coco_map']:.4f})")
    return 0 if median <= TARGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
