#!/usr/bin/env python
"""The local inference server (azmlinfsrv with deploy/score.py, what Azure ML endpoints
run) under load, against the same model called in-process, measured in one run:

1. 200 requests (the sample JPEG, raw bytes) from 8 concurrent clients: errors, p50/p95
   latency, throughput, and the server's memory (RSS of gunicorn and its workers) before
   and after — bounded, not growing with requests.
2. The same 200 detections in this process from 8 threads (decode the JPEG bytes, detect
   through the same ONNX file in ONNX Runtime): throughput. Target: the server's
   throughput ≥ 0.8× the in-process one (the server adds little).
The two alternate in two rounds each; medians of the rounds.

Run from the repository root:  python benchmarks/bench_serve.py [--requests 200]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from helpers import SAMPLE  # noqa: E402
from yolo3.defaults import NmsSettings  # noqa: E402
from yolo3.download import fetch  # noqa: E402
from yolo3.serving.local import LocalServer  # noqa: E402

CLIENTS = 8


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and its descendants, MB (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":", 1) for line in status.read_text().splitlines()
                          if ":" in line)
        except OSError:
            continue
        children.setdefault(int(fields["PPid"]), []).append(int(fields["Pid"]))
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        stack.extend(children.get(current, []))
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def served(url: str, body: bytes, requests: int) -> tuple[float, list[float], int]:
    """(seconds, latencies in ms, errors) of ``requests`` POSTs from CLIENTS threads."""
    def one(_):
        start = time.perf_counter()
        request = urllib.request.Request(url, data=body, method="POST",
                                         headers={"Content-Type": "image/jpeg"})
        try:
            with urllib.request.urlopen(request, timeout=120) as answer:
                ok = answer.status == 200 and b'"detections"' in answer.read()
        except OSError:
            ok = False
        return (time.perf_counter() - start) * 1000, ok

    start = time.perf_counter()
    with ThreadPoolExecutor(CLIENTS) as pool:
        results = list(pool.map(one, range(requests)))
    return time.perf_counter() - start, [r[0] for r in results], sum(not r[1] for r in results)


def in_process(detector, body: bytes, requests: int) -> float:
    from yolo3.images import decode_image

    def one(_):
        return detector.detect(decode_image(body))

    start = time.perf_counter()
    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(one, range(requests)))
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    from yolo3.export.onnx import export_onnx
    from yolo3.inference.detector import open_model
    from yolo3.inference.onnx_detector import OnnxDetector
    from yolo3.model.convert import darknet_to_keras

    body = SAMPLE.read_bytes()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        models = folder / "models"
        models.mkdir()
        darknet_to_keras(REPO / "cfg/yolov3-tiny.cfg", fetch("yolov3-tiny", progress=False),
                         folder / "tiny.h5", log=lambda *a: None)
        export_onnx(open_model(folder / "tiny.h5"), models / "yolov3-tiny.onnx", (416, 416),
                    NmsSettings(), source="tiny.h5")
        detector = OnnxDetector(models / "yolov3-tiny.onnx", spinning=False)
        with LocalServer(models) as server:
            served(server.url, body, CLIENTS)  # warm-up
            in_process(detector, body, CLIENTS)
            memory_before = tree_rss_mb(server.pid)
            server_rounds, local_rounds, latencies, errors = [], [], [], 0
            for _ in range(2):
                seconds, times, failed = served(server.url, body, args.requests)
                server_rounds.append(args.requests / seconds)
                latencies += times
                errors += failed
                local_rounds.append(args.requests / in_process(detector, body, args.requests))
            memory_after = tree_rss_mb(server.pid)
    served_rate, local_rate = statistics.median(server_rounds), statistics.median(local_rounds)
    latencies.sort()
    p50, p95 = latencies[len(latencies) // 2], latencies[int(len(latencies) * 0.95)]
    ratio = served_rate / local_rate
    print(f"yolov3-tiny-416 ONNX, {args.requests} requests × 2 rounds, {CLIENTS} clients")
    print(f"server: {errors} errors, p50 {p50:.0f} ms, p95 {p95:.0f} ms, "
          f"{served_rate:.1f} requests/s; memory {memory_before:.0f} → {memory_after:.0f} MB")
    print(f"in-process, {CLIENTS} threads: {local_rate:.1f} detections/s; "
          f"server/in-process {ratio:.2f} (target ≥ 0.8)")
    grew = memory_after > 1.2 * memory_before + 50
    return 0 if errors == 0 and ratio >= 0.8 and not grew else 1


if __name__ == "__main__":
    sys.exit(main())
