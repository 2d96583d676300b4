#!/usr/bin/env python
"""Data speed: k-means on 1,000,000 boxes, voc_annotation.py on 10,000 XMLs; with
--pipeline, the training input pipeline.

Default: the median of several runs against each target (5 s and 10 s on the 2-core
reference machine). Run from the repository root:  python benchmarks/bench_data.py

--pipeline: images/s of yolo3.data.pipeline.make_dataset on the raccoon photos' training
split (../shared/datasets/raccoon, 160 images; skipped, saying so, where it is absent) at
416, batch 16, for both recipes (modern: mosaic; keras-yolo3: its jitter), on one core
(`taskset -c 0`, tf.data's threads) and on every core (tf.data's threads; and one worker
process per core, --workers), each rate after one epoch of warm-up (the images then come
from memory, as from the second epoch of a run). With --ultralytics-python (or
$ULTRALYTICS_PYTHON) naming the Python of a venv where ultralytics is installed, its
training dataloader (mosaic, workers 0) is measured on the same images, one core,
alternating with ours; medians of --runs. Targets: one core, modern ≥ 1.0× Ultralytics;
every core (workers) ≥ 1.7× our one-core rate (2-core reference machine).
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


RACCOON = REPO.parent / "shared" / "datasets" / "raccoon"
PIPELINE_SIZE, PIPELINE_BATCH, PIPELINE_BATCHES = 416, 16, 40


def raccoon_split(split: str) -> list:
    """The raccoon photos of ``split`` ("train" or "test") as annotations, class 0."""
    from yolo3.data.annotations import Annotation
    from yolo3.data.voc import read_voc_xml

    annotations = []
    for stem in (RACCOON / f"{split}.txt").read_text().split():
        record = read_voc_xml(RACCOON / "annotations" / f"{stem}.xml")
        boxes = np.array([[*o.box, 0] for o in record.objects], np.int64).reshape(-1, 5)
        annotations.append(Annotation(str(RACCOON / "images" / f"{stem}.jpg"), boxes))
    return annotations


def measure_pipeline(recipe: str, workers: int) -> float:
    """images/s of our training pipeline (this process, whatever cores it may use)."""
    import time

    from yolo3.data.pipeline import make_dataset
    from yolo3.training.recipes import RECIPES
    from yolo3.training.setup import model_config

    annotations = raccoon_split("train")
    chosen = RECIPES[recipe]
    anchors = np.array([[10, 14], [23, 27], [37, 58], [81, 82], [135, 169], [344, 319]], float)
    size = (PIPELINE_SIZE, PIPELINE_SIZE)
    config = model_config("tiny", 1, anchors, chosen.scale_x_y, size)
    data = make_dataset(annotations, config, size, PIPELINE_BATCH, training=True, seed=0,
                        assignment=chosen.assignment, policy=chosen.augmentation(30),
                        workers=workers)
    batches = iter(data)
    for _ in range(len(annotations) // PIPELINE_BATCH):  # one epoch: the cache fills
        next(batches)
    start = time.perf_counter()
    for _ in range(PIPELINE_BATCHES):
        next(batches)
    return PIPELINE_BATCHES * PIPELINE_BATCH / (time.perf_counter() - start)


def rate(command: list[str], one_core: bool) -> float:
    """The images/s a measuring command prints last, run on core 0 alone or on all."""
    prefix = ["taskset", "-c", "0"] if one_core else []
    result = subprocess.run(prefix + command, capture_output=True, text=True, cwd=REPO)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command[:3])} failed:\n{result.stderr[-2000:]}")
    return float(result.stdout.split()[-1])


def pipeline(runs: int, peer_python: str | None) -> int:
    if not RACCOON.is_dir():
        print(f"skipped: the raccoon photos are not at {RACCOON}")
        return 0
    cores = len(os.sched_getaffinity(0))
    ours = {recipe: [sys.executable, str(Path(__file__).resolve()), "--measure", recipe]
            for recipe in ("modern", "keras-yolo3")}
    rows: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as work:
        peer = ([peer_python, str(REPO / "benchmarks" / "peer_ultralytics_loader.py"),
                 str(RACCOON), work, str(PIPELINE_SIZE), str(PIPELINE_BATCH),
                 str(PIPELINE_BATCHES)] if peer_python else None)
        for _ in range(runs):  # alternating, so drifts in the machine hit all alike
            for recipe, command in ours.items():
                rows.setdefault(f"ours, {recipe}, 1 core", []).append(rate(command, True))
                if peer and recipe == "modern":
                    rows.setdefault("Ultralytics 8 dataloader, 1 core", []).append(
                        rate(peer, True))
                rows.setdefault(f"ours, {recipe}, {cores} cores, threads", []).append(
                    rate(command, False))
                rows.setdefault(f"ours, {recipe}, {cores} cores, {cores} workers", []).append(
                    rate([*command, "--workers", str(cores)], False))
    medians = {name: statistics.median(values) for name, values in rows.items()}
    print(f"raccoon training split, {PIPELINE_SIZE}, batch {PIPELINE_BATCH}; images/s, "
          f"median of {runs}")
    print(f"{'measure':<44}{'median':>9}{'min':>9}{'max':>9}")
    for name, values in rows.items():
        print(f"{name:<44}{medians[name]:>9.1f}{min(values):>9.1f}{max(values):>9.1f}")
    one = medians["ours, modern, 1 core"]
    every = medians[f"ours, modern, {cores} cores, {cores} workers"]
    ok = every / one >= 1.7
    print(f"modern, {cores} cores ({cores} workers) / 1 core: {every / one:.2f} "
          "(target ≥ 1.7)")
    if peer:
        versus = one / medians["Ultralytics 8 dataloader, 1 core"]
        ok &= versus >= 1.0
        print(f"modern, 1 core, ours / Ultralytics: {versus:.2f} (target ≥ 1.0)")
    else:
        print("(Ultralytics not measured: give --ultralytics-python or $ULTRALYTICS_PYTHON)")
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--pipeline", action="store_true",
                        help="the training input pipeline's images/s (see above)")
    parser.add_argument("--ultralytics-python", default=os.environ.get("ULTRALYTICS_PYTHON"),
                        help="the Python of a venv with ultralytics, to measure it alongside")
    parser.add_argument("--measure", choices=("modern", "keras-yolo3"), help=argparse.SUPPRESS)
    parser.add_argument("--workers", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:  # one measurement, in a process of its own (see pipeline)
        print(f"{measure_pipeline(args.measure, args.workers):.1f}")
        sys.stdout.flush()
        os._exit(0)  # tf.data's threads need not be waited for
    if args.pipeline:
        return pipeline(args.runs, args.ultralytics_python)
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
