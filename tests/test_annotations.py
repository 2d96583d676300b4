"""yolo3.annotations: the one parser and writer of training-list lines."""

from __future__ import annotations

import numpy as np
import pytest

from yolo3.annotations import Annotation, format_line, parse_line, read_lines, write_lines
from yolo3.errors import YoloError


def test_upstream_lines_round_trip():
    line = "data/JPEGImages/img_0.jpg 345,197,360,209,0 390,206,404,220,1"
    annotation = parse_line(line)
    assert annotation.path == "data/JPEGImages/img_0.jpg"
    assert annotation.boxes.tolist() == [[345, 197, 360, 209, 0], [390, 206, 404, 220, 1]]
    assert annotation.to_line() == line


def test_negative_sample_is_the_path_alone():
    annotation = parse_line("data/empty.jpg\n")
    assert annotation.boxes.shape == (0, 5)
    assert format_line("data/empty.jpg", []) == "data/empty.jpg"


def test_paths_with_spaces_keep_them():
    annotation = parse_line("my photos/beach day.jpg 1,2,30,40,0\r\n")
    assert annotation.path == "my photos/beach day.jpg"
    assert annotation.boxes.tolist() == [[1, 2, 30, 40, 0]]
    assert parse_line(annotation.to_line()).path == annotation.path


@pytest.mark.parametrize("line, message", [
    ("img.jpg 1,2,3,4.5,0", "malformed box"),
    ("   ", "no image path"),
    ("img.jpg 1,2,3,4,-1", "malformed box"),
])
def test_malformed_lines(line, message):
    with pytest.raises(YoloError, match=message):
        parse_line(line, "list.txt:3")


def test_paths_that_would_corrupt_a_line_are_refused():
    with pytest.raises(YoloError, match="line breaks"):
        format_line("bad\nname.jpg", [])


def test_files(tmp_path):
    path = tmp_path / "train_list.txt"
    annotations = [Annotation("a.jpg", np.array([[1, 2, 3, 4, 0]])),
                   Annotation("b c.jpg", np.zeros((0, 5)))]
    write_lines(path, annotations)
    assert path.read_text() == "a.jpg 1,2,3,4,0\nb c.jpg\n"
    path.write_text(path.read_text() + "\n\n")  # blank lines are ignored
    assert [a.path for a in read_lines(path)] == ["a.jpg", "b c.jpg"]
