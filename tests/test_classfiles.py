"""yolo3.classfiles: class-name and anchor files, including the ones shipped in model_data/."""

from __future__ import annotations

import numpy as np
import pytest

from yolo3.classfiles import MODEL_DATA, format_anchors, read_anchors, read_class_names
from yolo3.errors import YoloError


def test_shipped_files():
    coco = read_class_names(MODEL_DATA / "coco_classes.txt")
    assert len(coco) == 80 and coco[0] == "person" and coco[-1] == "toothbrush"
    assert "traffic light" in coco
    voc = read_class_names(MODEL_DATA / "voc_classes.txt")
    assert len(voc) == 20 and voc[0] == "aeroplane" and voc[-1] == "tvmonitor"
    anchors = read_anchors(MODEL_DATA / "yolo_anchors.txt")
    assert anchors.shape == (9, 2) and anchors[0].tolist() == [10, 13]
    assert read_anchors(MODEL_DATA / "tiny_yolo_anchors.txt")[-1].tolist() == [344, 319]


def test_blank_lines_and_crlf_are_not_classes(tmp_path):
    path = tmp_path / "classes.txt"
    path.write_bytes(b"\xef\xbb\xbfcar\r\ntrailer_truck\r\n\r\n")
    assert read_class_names(path) == ["car", "trailer_truck"]


@pytest.mark.parametrize("text, message", [("", "no class names"), ("a\nb\na\n", "repeat: a")])
def test_bad_class_files(tmp_path, text, message):
    path = tmp_path / "classes.txt"
    path.write_text(text)
    with pytest.raises(YoloError, match=message):
        read_class_names(path)


def test_anchor_formats(tmp_path):
    path = tmp_path / "anchors.txt"
    path.write_text("36,41, 62,73,  93,105\n")  # upstream writes no newline; either works
    anchors = read_anchors(path)
    np.testing.assert_array_equal(anchors, [[36, 41], [62, 73], [93, 105]])
    assert format_anchors(anchors) == "36,41, 62,73, 93,105"
    assert format_anchors(np.array([[1.5, 2]])) == "1.5,2"


@pytest.mark.parametrize("text", ["", "1,2,3", "a,b", "0,5"])
def test_bad_anchor_files(tmp_path, text):
    path = tmp_path / "anchors.txt"
    path.write_text(text)
    with pytest.raises(YoloError, match="anchors"):
        read_anchors(path)
