"""yolo3.data.examples: examples and batches as NumPy arrays, and the warnings about
images that do not decode."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import CFG
from yolo3.darknet import load_cfg, with_classes
from yolo3.data.annotations import Annotation
from yolo3.data.examples import (
    DROPPED,
    MAX_BOXES,
    SALVAGED,
    BatchMaker,
    DecodeProblems,
    example,
)
from yolo3.data.policies import MosaicThenSingle
from yolo3.data.targets import RATIO_AND_NEIGHBOURS


@pytest.fixture
def fresh_problems():
    DecodeProblems.reset()
    yield DecodeProblems
    DecodeProblems.reset()


def tiny(classes: int = 2):
    return with_classes(load_cfg(CFG / "yolov3-tiny.cfg"), classes)


def test_an_image_broken_mid_run_becomes_a_blank_negative(tmp_path, capsys, fresh_problems):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff junk")
    pixels, *targets, boxes = example(Annotation(str(broken), np.array([[1, 1, 9, 9, 0]])),
                                      tiny(), (64, 64), np.random.default_rng(0))
    assert pixels.shape == (64, 64, 3) and all(t[..., 4].sum() == 0 for t in targets)
    assert not boxes.any()
    assert "broken.jpg" in capsys.readouterr().err
    assert DecodeProblems.counts() == {"images_salvaged": 0, "images_dropped": 1}


def test_each_problem_is_warned_about_once_or_collected(capsys, fresh_problems):
    for _ in range(3):
        DecodeProblems.report(SALVAGED, "a.jpg", "a.jpg: cut short")
    DecodeProblems.report(DROPPED, "a.jpg", "a.jpg: unreadable")
    assert capsys.readouterr().err.splitlines() == ["warning: a.jpg: cut short",
                                                   "warning: a.jpg: unreadable"]
    DecodeProblems.sink = []
    try:
        DecodeProblems.report(DROPPED, "b.jpg", "b.jpg: unreadable")
        assert DecodeProblems.sink == [(DROPPED, "b.jpg", "b.jpg: unreadable")]
    finally:
        DecodeProblems.sink = None
    assert capsys.readouterr().err == ""  # a worker's problems are the main process's to tell
    assert DecodeProblems.counts() == {"images_salvaged": 1, "images_dropped": 1}


def test_a_batch_is_its_examples_and_written_where_asked(shapes_export):
    from yolo3.data.voc import convert_export

    per_set, classes, _ = convert_export(shapes_export / "data", ["train"], None,
                                         progress=False)
    annotations = per_set["train"]
    maker = BatchMaker(annotations, tiny(len(classes)), (96, 128), training=True, seed=3,
                       assignment=RATIO_AND_NEIGHBOURS, policy=MosaicThenSingle(1),
                       cache=True)
    batch = maker([0, 5, 2], [0, 0, 1])
    assert [(a.shape, a.dtype) for a in batch] == [
        ((3, *shape[1:]), dtype) for shape, dtype in maker.shapes(3)]
    assert [a.shape for a in batch][1:] == [(3, 3, 4, 3, 8), (3, 6, 8, 3, 8), (3, MAX_BOXES, 4)]
    for position, (index, epoch) in enumerate([(0, 0), (5, 0), (2, 1)]):
        alone = maker.example(index, epoch)
        for column, array in zip(batch, alone):
            np.testing.assert_array_equal(column[position], array)
    out = [np.full(shape, 7, dtype) for shape, dtype in maker.shapes(5)]
    written = maker([0, 5, 2], [0, 0, 1], out=out)
    for made, room, expected in zip(written, out, batch):
        assert np.shares_memory(made, room)
        np.testing.assert_array_equal(made, expected)
        assert (room[3:] == 7).all()  # beyond the batch: untouched
    again = BatchMaker(**maker.arguments)([0, 5, 2], [0, 0, 1])  # rebuilt, as a worker does
    for column, expected in zip(again, batch):
        np.testing.assert_array_equal(column, expected)
