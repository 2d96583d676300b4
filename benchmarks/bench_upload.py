#!/usr/bin/env python
"""Upload speed to Azurite: 2,000 files of 10 KB with upload_folder (parallel) vs a plain
one-by-one loop with the same SDK. Target: ≥ 5× faster.

Measured twice: straight to Azurite on loopback, where both sides share the machine's two
cores and each request costs ~1.5 ms of Azurite CPU and ~1 ms of SDK CPU, so no client can
gain much; and through a local proxy that adds 10 ms of round-trip time, as any real
storage endpoint does, which is what parallel uploads are for.

Needs Azurite (npm install --no-save azurite@3.35.0). Run from the repository root:
    python benchmarks/bench_upload.py
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from yolo3.azure.blob import local_files, resolve_credentials, upload_folder  # noqa: E402

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


class DelayProxy:
    """A loopback TCP proxy that delays each chunk by half the round-trip time each way."""

    def __init__(self, target_port: int, rtt: float):
        self.target_port, self.delay = target_port, rtt / 2
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()
        threading.Thread(target=self._run, args=(ready,), daemon=True).start()
        ready.wait()

    def _run(self, ready):
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(asyncio.start_server(self._serve, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        ready.set()
        self.loop.run_forever()

    async def _pipe(self, reader, writer):
        try:
            while data := await reader.read(65536):
                await asyncio.sleep(self.delay)
                writer.write(data)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    async def _serve(self, client_reader, client_writer):
        server_reader, server_writer = await asyncio.open_connection("127.0.0.1",
                                                                     self.target_port)
        await asyncio.gather(self._pipe(client_reader, server_writer),
                             self._pipe(server_reader, client_writer))


def measure(connection: str, folder: Path, tag: str) -> tuple[float, float]:
    creds = resolve_credentials(env={"STORAGE_CONNECTION_STRING": connection})
    sequential_client = creds.client().get_container_client(f"seq{tag}")
    sequential_client.create_container()
    start = time.perf_counter()
    for path, name in local_files(folder):
        with open(path, "rb") as data:
            sequential_client.upload_blob(name, data, overwrite=True)
    sequential = time.perf_counter() - start
    start = time.perf_counter()
    report = upload_folder(creds, f"par{tag}", folder, workers=16, progress=False)
    parallel = time.perf_counter() - start
    assert len(report.uploaded) == len(local_files(folder)) and not report.failed
    return sequential, parallel


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
            rows = [("loopback", *measure(connection, folder, "direct"))]
            port = int(connection.split("127.0.0.1:")[1].split("/")[0])
            proxy = DelayProxy(port, rtt=0.010)
            rows.append(("10 ms round trip (proxy)",
                         *measure(connection.replace(f":{port}/", f":{proxy.port}/"), folder,
                                  "proxied")))
        finally:
            process.terminate()
            process.wait()
    print("2,000 files x 10 KB to Azurite, seconds")
    print(f"{'link':<28}{'one by one':>12}{'16 workers':>12}{'speed-up':>10}{'target':>8}")
    for link, sequential, parallel in rows:
        print(f"{link:<28}{sequential:>12.2f}{parallel:>12.2f}{sequential / parallel:>10.2f}"
              f"{'≥5':>8}")
    return 0 if rows[-1][1] / rows[-1][2] >= 5 else 1


if __name__ == "__main__":
    sys.exit(main())
