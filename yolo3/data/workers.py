"""Worker processes that make training batches (``--workers N``), so that augmentation
scales with cores: tf.data's threads share one GIL, and the Python between OpenCV calls
(~40 % of a mosaic example) held two cores to ~1.45× one core's rate.

Each worker is ``python -m yolo3.data.workers`` (not multiprocessing: its spawn would
import the training script, TensorFlow with it, in every worker) holding its own
:class:`~yolo3.data.examples.BatchMaker` — and image cache — built from the main
process's. A batch is asked for over the worker's stdin as (indices, epochs) and written
by the worker into a memory-mapped slot it shares with the main process; the reply (over
its stdout) carries only the batch size and any images it could not fully decode, which
the main process warns about and counts once (yolo3.data.examples.DecodeProblems).
Examples depend on (seed, epoch, index) alone, so batches are the same whichever worker
makes them, and the same as without workers.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import pickle
import queue
import signal
import subprocess
import sys
import tempfile
import traceback
import weakref
from pathlib import Path

import numpy as np

from yolo3.data.examples import BatchMaker, DecodeProblems
from yolo3.defaults import MAX_DATA_WORKERS
from yolo3.errors import YoloError

_ALIGN = 64
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])


def default_workers(accelerated: bool) -> int:
    """``--workers``' default: one per usable core (at most MAX_DATA_WORKERS) when a GPU
    trains; none on CPUs, where the model needs the cores and threads suffice."""
    if not accelerated:
        return 0
    return min(len(os.sched_getaffinity(0)), MAX_DATA_WORKERS)


def _offsets(shapes) -> tuple[list[int], int]:
    """Where each array of a batch starts in a slot, and the slot's size (bytes)."""
    offsets, end = [], 0
    for shape, dtype in shapes:
        offsets.append(end)
        end += -(-int(np.prod(shape)) * dtype.itemsize // _ALIGN) * _ALIGN
    return offsets, max(end, _ALIGN)


def _views(buffer, shapes) -> list[np.ndarray]:
    offsets, _ = _offsets(shapes)
    return [np.ndarray(shape, dtype, buffer=buffer, offset=offset)
            for (shape, dtype), offset in zip(shapes, offsets)]


def _slot_folder() -> str | None:
    """RAM-backed /dev/shm where there is one (Linux), else the temporary folder."""
    return "/dev/shm" if os.access("/dev/shm", os.W_OK) else None


class _Worker:
    """One worker process and its slot."""

    def __init__(self, arguments: dict, batch_size: int, shapes):
        _, size = _offsets(shapes)
        descriptor, self.path = tempfile.mkstemp(prefix="yolo3-batch-", dir=_slot_folder())
        try:
            os.ftruncate(descriptor, size)
            self.buffer = mmap.mmap(descriptor, size)
        finally:
            os.close(descriptor)
        self.views = _views(self.buffer, shapes)
        environment = dict(os.environ)
        environment["PYTHONPATH"] = os.pathsep.join(
            p for p in (_PACKAGE_ROOT, environment.get("PYTHONPATH")) if p)
        self.process = subprocess.Popen(
            [sys.executable, "-m", __name__, self.path], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, env=environment)
        self._send((arguments, batch_size))
        self.started = False

    def _send(self, message) -> None:
        try:
            pickle.dump(message, self.process.stdin, protocol=pickle.HIGHEST_PROTOCOL)
            self.process.stdin.flush()
        except (BrokenPipeError, OSError):
            self._stopped()

    def _receive(self):
        try:
            return pickle.load(self.process.stdout)
        except (EOFError, pickle.UnpicklingError, OSError):
            self._stopped()

    def _stopped(self):
        try:
            code = self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            code = None
        how = (f"was killed (signal {-code})" if code is not None and code < 0
               else f"stopped (exit code {code})")
        raise YoloError(f"a data worker process {how}; out of memory? Try fewer --workers "
                        "or --cache none")

    def make(self, indices, epochs) -> tuple[np.ndarray, ...]:
        if not self.started:
            self._receive()  # "ready": the worker has built its maker and mapped the slot
            self.started = True
        self._send((np.asarray(indices), np.asarray(epochs)))
        status, payload = self._receive()
        if status == "error":
            raise YoloError(f"a data worker failed making a batch:\n{payload}")
        size, problems = payload
        for problem in problems:
            DecodeProblems.report(*problem)
        return tuple(np.array(view[:size]) for view in self.views)


def _close(workers: list[_Worker]) -> None:
    for worker in workers:
        with contextlib.suppress(OSError):  # a worker already gone
            worker.process.stdin.close()  # the worker ends at the end of its input
    for worker in workers:
        try:
            worker.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            worker.process.kill()
            worker.process.wait()
        worker.process.stdout.close()
        Path(worker.path).unlink(missing_ok=True)  # a worker that never started


class WorkerPool:
    """``pool(indices, epochs)`` → the batch ``maker(indices, epochs)`` would make, made
    by one of ``workers`` processes; callable from several threads at once (each call
    takes a free worker, waiting for one when all are busy). Batches hold at most
    ``batch_size`` examples. The processes end with :meth:`close`, when the pool is
    garbage-collected, or when this process ends."""

    def __init__(self, maker: BatchMaker, workers: int, batch_size: int):
        if workers < 1:
            raise ValueError(f"a worker pool needs at least one worker, got {workers}")
        shapes = maker.shapes(batch_size)
        self.workers = [_Worker(maker.arguments, batch_size, shapes) for _ in range(workers)]
        self._idle: queue.Queue[_Worker] = queue.Queue()
        for worker in self.workers:
            self._idle.put(worker)
        self._finalizer = weakref.finalize(self, _close, self.workers)

    def __call__(self, indices, epochs) -> tuple[np.ndarray, ...]:
        worker = self._idle.get()
        try:
            return worker.make(indices, epochs)
        finally:
            self._idle.put(worker)

    def close(self) -> None:
        self._finalizer()


def serve(path: str, requests, replies) -> None:
    """A worker's life: build the maker, map the slot, then make batches until the
    requests end."""
    arguments, batch_size = pickle.load(requests)
    maker = BatchMaker(**arguments)
    with open(path, "r+b") as slot:
        buffer = mmap.mmap(slot.fileno(), 0)
    os.unlink(path)  # mapped by both processes now: nothing is left behind, however they end
    views = _views(buffer, maker.shapes(batch_size))
    DecodeProblems.sink = []

    def reply(message) -> None:
        pickle.dump(message, replies, protocol=pickle.HIGHEST_PROTOCOL)
        replies.flush()

    reply("ready")
    while True:
        try:
            indices, epochs = pickle.load(requests)
        except EOFError:
            return
        try:
            maker(indices, epochs, out=views)
            reply(("ok", (len(indices), list(DecodeProblems.sink))))
        except Exception:  # noqa: BLE001 -- reported to the main process, which stops
            reply(("error", traceback.format_exc()))
        DecodeProblems.sink.clear()


def main() -> None:
    import cv2

    cv2.setNumThreads(1)  # the workers are the parallelism
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the main process's to handle
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # a stray print cannot garble replies
    serve(sys.argv[1], sys.stdin.buffer, replies)


if __name__ == "__main__":
    main()
