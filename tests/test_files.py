"""yolo3.files: outputs appear whole or not at all."""

from __future__ import annotations

import pytest

from yolo3.errors import YoloError
from yolo3.files import atomic_output, check_writable, write_text_atomic


def test_success_renames_into_place(tmp_path):
    target = tmp_path / "sub" / "out.weights.h5"
    with atomic_output(target) as tmp:
        assert tmp.name.endswith("out.weights.h5") and tmp.exists()
        tmp.write_text("data")
    assert target.read_text() == "data"
    assert [p.name for p in target.parent.iterdir()] == ["out.weights.h5"]


def test_failure_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_output(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("crash mid-write")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_unwritable_destinations(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(YoloError, match="is a file, not a folder"):
        check_writable(tmp_path / "file" / "out.h5")
    with pytest.raises(YoloError, match="it is a directory"):
        write_text_atomic(tmp_path, "x")
