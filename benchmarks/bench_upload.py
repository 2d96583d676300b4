#!/usr/bin/env python
"""Upload speed to Azurite: 2,000 files of 10 KB with upload_folder (parallel) vs a plain
one-by-one loop with the same SDK. Target: ≥ 5× faster.

Needs Azurite (npm install --no-save azurite@3.35.0). Run from the repository root:
    python benchmarks/bench_upload.py
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from yolo3.blob import local_files, resolve_credentials, upload_folder  # noqa: E402

EXTRA = os.environ.get("AZURITE_EXTRA", "").split()
KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def start_azurite(location: Path) -> tuple[subprocess.Popen, str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [str(REPO / "node_modules/.bin/azurite-blob"), "--blobHost", "127.0.0.1", "--blobPort",
         str(port), "--location", str(location), "--skipApiVersionCheck", "--disableTelemetry",
         "--silent", *EXTRA], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(300):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    url = f"http://127.0.0.1:{port}/devstoreaccount1"
    return process, (f"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
                     f"AccountKey={KEY};BlobEndpoint={url};")


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        folder = tmp / "files"
        for i in range(2000):
            path = folder / f"d{i % 20:02d}" / f"f{i:04d}.bin"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(os.urandom(10 * 1024))
        process, connection = start_azurite(tmp / "azurite")
        try:
            creds = resolve_credentials(env={"STORAGE_CONNECTION_STRING": connection})
            service = creds.client()
            sequential_client = service.get_container_client("sequential")
            sequential_client.create_container()
            start = time.perf_counter()
            for path, name in local_files(folder):
                with open(path, "rb") as data:
                    sequential_client.upload_blob(name, data, overwrite=True)
            sequential = time.perf_counter() - start
            start = time.perf_counter()
            report = upload_folder(creds, "parallel", folder, workers=16, progress=False)
            parallel = time.perf_counter() - start
            assert len(report.uploaded) == 2000 and not report.failed
            start = time.perf_counter()
            rerun = upload_folder(creds, "parallel", folder, workers=16, progress=False)
            skipped = time.perf_counter() - start
            assert len(rerun.skipped) == 2000
        finally:
            process.terminate()
            process.wait()
    ratio = sequential / parallel
    print(f"{'2,000 files x 10 KB to Azurite':<40}{'seconds':>10}")
    print(f"{'one by one (same SDK)':<40}{sequential:>10.2f}")
    print(f"{'upload_folder, 16 workers':<40}{parallel:>10.2f}")
    print(f"{'re-run, all unchanged (skipped)':<40}{skipped:>10.2f}")
    print(f"{'speed-up':<40}{ratio:>10.2f}  (target ≥ 5)")
    return 0 if ratio >= 5 else 1


if __name__ == "__main__":
    sys.exit(main())
