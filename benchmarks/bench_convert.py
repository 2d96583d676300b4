#!/usr/bin/env python
"""Wall time of `python convert.py` on the full 248 MB YOLOv3 (random weights, official layout).

Runs the real script as a user would, several times, and prints the median against the
10 s target. Run from the repository root:  python benchmarks/bench_convert.py [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from helpers import write_random_weights  # noqa: E402
from yolo3.darknet import load_cfg  # noqa: E402

TARGET_SECONDS = 10.0


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, cwd=REPO, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        weights = write_random_weights(tmp / "yolov3.weights", load_cfg(REPO / "cfg/yolov3.cfg"))
        rows = []
        for label, flags, output in [("full model .h5", [], "yolo.h5"),
                                     ("weights only .h5 (-w)", ["-w"], "yolo_weights.h5")]:
            command = [sys.executable, "convert.py", *flags, "cfg/yolov3.cfg", str(weights),
                       str(tmp / output)]
            times = [timed(command) for _ in range(args.runs)]
            rows.append((label, statistics.median(times), min(times), max(times)))
    print(f"convert.py, yolov3 (248,007,048-byte weights), {args.runs} runs each")
    print(f"{'output':<24}{'median s':>10}{'min s':>8}{'max s':>8}{'median/target':>15}")
    for label, median, low, high in rows:
        print(f"{label:<24}{median:>10.2f}{low:>8.2f}{high:>8.2f}{median / TARGET_SECONDS:>15.2f}")
    return 0 if all(row[1] <= TARGET_SECONDS for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
