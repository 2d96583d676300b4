#!/usr/bin/env python
"""Data-preparation speed: k-means on 1,000,000 boxes, voc_annotation.py on 10,000 XMLs.

Prints the median of several runs against each target (5 s and 10 s on the 2-core
reference machine). Run from the repository root:  python benchmarks/bench_data.py
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from yolo3.data.anchors import cluster_anchors  # noqa: E402


def timed(call) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def make_export(root: Path, count: int) -> None:
    """A VoTT-style export of ``count`` images, 1–4 float boxes each, two classes."""
    rng = np.random.default_rng(0)
    for sub in ("Annotations", "JPEGImages", "ImageSets/Main"):
        (root / sub).mkdir(parents=True)
    placeholder = root / "placeholder.jpg"
    Image.new("RGB", (640, 480), (90, 90, 90)).save(placeholder)
    data = placeholder.read_bytes()
    sets = {"train": [], "val": []}
    for i in range(count):
        name = f"img_{i:05d}"
        (root / "JPEGImages" / f"{name}.jpg").write_bytes(data)
        objects = []
        for _ in range(rng.integers(1, 5)):
            x0, y0 = rng.uniform(0, 500), rng.uniform(0, 380)
            x1, y1 = x0 + rng.uniform(5, 140), y0 + rng.uniform(5, 100)
            objects.append(f"<object><name>{'car' if rng.random() < .5 else 'truck'}</name>"
                           f"<difficult>0</difficult><bndbox><xmin>{x0}</xmin><ymin>{y0}</ymin>"
                           f"<xmax>{x1}</xmax><ymax>{y1}</ymax></bndbox></object>")
        (root / "Annotations" / f"{name}.xml").write_text(
            f"<annotation><filename>{name}.jpg</filename><size><width>640</width>"
            f"<height>480</height><depth>3</depth></size>{''.join(objects)}</annotation>")
        sets["val" if i % 5 == 0 else "train"].append(f"{name} 1")
    for set_name, ids in sets.items():
        for cls in ("car", "truck"):
            (root / "ImageSets/Main" / f"{cls}_{set_name}.txt").write_text("\n".join(ids))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    rows = []
    rng = np.random.default_rng(1)
    boxes = np.exp(rng.normal(np.log(60), 0.8, size=(1_000_000, 2))).clip(2, 416)
    times = [timed(lambda: cluster_anchors(boxes, 9, seed=0)) for _ in range(args.runs)]
    rows.append(("kmeans, 1,000,000 boxes, k=9, 10 restarts", times, 5.0))
    with tempfile.TemporaryDirectory() as tmp:
        export = Path(tmp) / "export"
        make_export(export, 10_000)
        command = [sys.executable, str(REPO / "voc_annotation.py"), "--data_dir", str(export),
                   "--out_dir", str(Path(tmp) / "out"), "--quiet"]
        times = [timed(lambda: subprocess.run(command, check=True, stdout=subprocess.DEVNULL))
                 for _ in range(args.runs)]
        rows.append(("voc_annotation.py, 10,000 XML files", times, 10.0))
    print(f"{'measure':<44}{'median s':>10}{'min s':>8}{'max s':>8}{'median/target':>15}")
    for name, values, target in rows:
        median = statistics.median(values)
        print(f"{name:<44}{median:>10.2f}{min(values):>8.2f}{max(values):>8.2f}"
              f"{median / target:>15.2f}")
    return 0 if all(statistics.median(v) <= t for _, v, t in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
