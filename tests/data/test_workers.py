"""yolo3.data.workers: batches made in worker processes are the batches made here; the
workers' warnings, failures and deaths reach the main process as one clear error; nothing
is left behind."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import numpy as np
import pytest

from helpers import CFG
from yolo3.darknet import load_cfg, with_classes
from yolo3.data.annotations import Annotation
from yolo3.data.examples import BatchMaker, DecodeProblems
from yolo3.data.pipeline import make_dataset
from yolo3.data.policies import MosaicThenSingle
from yolo3.data.targets import RATIO_AND_NEIGHBOURS
from yolo3.data.workers import WorkerPool, default_workers
from yolo3.defaults import MAX_DATA_WORKERS
from yolo3.errors import YoloError


def shapes_training_set(shapes_export):
    from yolo3.data.voc import convert_export

    per_set, classes, _ = convert_export(shapes_export / "data", ["train"], None,
                                         progress=False)
    return per_set["train"], with_classes(load_cfg(CFG / "yolov3-tiny.cfg"), len(classes))


def test_workers_make_the_batches_threads_make(shapes_export):
    annotations, config = shapes_training_set(shapes_export)

    def batches(workers, first_epoch):
        data = make_dataset(annotations, config, (64, 96), 4, training=True, seed=5,
                            first_epoch=first_epoch, assignment=RATIO_AND_NEIGHBOURS,
                            policy=MosaicThenSingle(2), workers=workers)
        per_epoch = len(annotations) // 4
        return [(np.asarray(images), [np.asarray(t) for t in targets])
                for images, targets in data.take(2 * per_epoch)]

    for first_epoch in (0, 1):  # mosaics, then single images after the switch
        threads, processes = batches(0, first_epoch), batches(2, first_epoch)
        assert len(threads) == len(processes)
        for (images, targets), (their_images, their_targets) in zip(threads, processes):
            np.testing.assert_array_equal(images, their_images)
            for mine, theirs in zip(targets, their_targets):
                np.testing.assert_array_equal(mine, theirs)


def test_a_pool_makes_short_batches_and_closes_without_a_trace(shapes_export):
    annotations, config = shapes_training_set(shapes_export)
    maker = BatchMaker(annotations, config, (64, 64), training=False, cache=True)
    pool = WorkerPool(maker, 2, batch_size=4)
    try:
        for indices in ([0, 1, 2, 3], [4, 5], [6]):
            made = pool(indices, [0] * len(indices))
            for mine, theirs in zip(made, maker(indices, [0] * len(indices))):
                np.testing.assert_array_equal(mine, theirs)
        made_again = pool([6], [0])  # a copy each time, not a view of the reused slot
        assert not np.shares_memory(made[0], made_again[0])
    finally:
        pool.close()
    assert all(w.process.returncode == 0 for w in pool.workers)
    assert not any(Path(w.path).exists() for w in pool.workers)


def test_images_a_worker_cannot_decode_are_warned_about_once_here(tmp_path, capsys):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff junk")
    config = with_classes(load_cfg(CFG / "yolov3-tiny.cfg"), 1)
    maker = BatchMaker([Annotation(str(broken), np.array([[1, 1, 9, 9, 0]]))], config,
                       (64, 64), training=False, cache=False)
    DecodeProblems.reset()
    pool = WorkerPool(maker, 1, batch_size=2)
    try:
        images, *_ = pool([0, 0], [0, 0])
        pool([0], [1])
    finally:
        pool.close()
    assert (images == 128).all()  # blank grey pictures (letterboxed: not colour-jittered)
    warnings = [line for line in capsys.readouterr().err.splitlines() if "broken.jpg" in line]
    assert len(warnings) == 1 and warnings[0].startswith("warning: ")
    assert DecodeProblems.counts() == {"images_salvaged": 0, "images_dropped": 1}
    DecodeProblems.reset()


def test_a_failing_or_dying_worker_is_one_clear_error(shapes_export):
    annotations, config = shapes_training_set(shapes_export)
    maker = BatchMaker(annotations, config, (64, 64), training=True, cache=False)
    pool = WorkerPool(maker, 1, batch_size=2)
    try:
        with pytest.raises(YoloError, match="failed making a batch:(.|\n)*IndexError"):
            pool([10 ** 6], [0])
        pool([0, 1], [0, 0])  # the worker goes on after a failed batch
        os.kill(pool.workers[0].process.pid, signal.SIGKILL)
        with pytest.raises(YoloError, match=r"was killed \(signal 9\); out of memory\?"):
            pool([0, 1], [0, 0])
    finally:
        pool.close()


def test_default_workers_only_where_a_gpu_trains():
    assert default_workers(accelerated=False) == 0
    assert default_workers(accelerated=True) == min(len(os.sched_getaffinity(0)),
                                                    MAX_DATA_WORKERS)
    with pytest.raises(ValueError, match="at least one worker"):
        WorkerPool(None, 0, 4)


def test_a_worker_never_loads_tensorflow():
    """What a worker imports (yolo3.data.workers and all it needs) leaves TensorFlow out:
    each worker would otherwise take seconds and hundreds of megabytes to start."""
    import subprocess
    import sys

    from helpers import REPO

    code = ("import sys, yolo3.data.workers; "
            "print(any(n in sys.modules for n in ('tensorflow', 'keras')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=REPO, timeout=120)
    assert result.stdout.strip() == "False", result.stderr
