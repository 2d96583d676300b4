"""yolo3.data.annotations: the one parser and writer of training-list lines."""

from __future__ import annotations

import numpy as np
import pytest

from yolo3.data.annotations import (
    Annotation,
    check_boxes,
    format_line,
    parse_line,
    read_lines,
    write_lines,
)
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


@pytest.mark.parametrize("line, message", [
    ("img.jpg 1,2,nan,4,0", "malformed box '1,2,nan,4,0'"),
    ("img.jpg 1,2,3,4,0 junk", "'junk' after the boxes is not a box"),
    ("img.jpg 1,2,3,4,0 1,2,x,4,0 5,5,6,6,0", "'1,2,x,4,0' after the boxes is not a box"),
    ("img.jpg 10,20,30,40", "malformed box '10,20,30,40'"),
])
def test_tokens_that_would_become_part_of_the_path(line, message):
    with pytest.raises(YoloError, match=message):
        parse_line(line, "list.txt:3")
    assert parse_line("my, photo.jpg").path == "my, photo.jpg"  # commas in names are fine


def test_check_boxes():
    good = Annotation("a.jpg", np.array([[1, 2, 3, 4, 1]]))
    check_boxes([good, Annotation("b.jpg", np.zeros((0, 5)))], num_classes=2)
    with pytest.raises(YoloError, match="a.jpg: class id 1 is beyond the 1 classes"):
        check_boxes([good], num_classes=1, source="list.txt")
    with pytest.raises(YoloError, match="c.jpg: box 5,2,3,4,0 has no area"):
        check_boxes([Annotation("c.jpg", np.array([[5, 2, 3, 4, 0]]))])
