"""yolo3.coco: COCO instances JSON → training lines."""

from __future__ import annotations

import json

import pytest
from PIL import Image
from test_voc import FIXTURES

from yolo3.coco import convert_coco
from yolo3.errors import YoloError

DATUMARO = FIXTURES / "openvinotoolkit__datumaro/tests/assets/coco_dataset/coco_instances"
MMDET = FIXTURES / "open-mmlab__mmdetection/tests/data/coco_sample.json"


def test_category_id_gaps_and_crowd_regions():
    lines, names, report = convert_coco(DATUMARO / "annotations/instances_val.json",
                                        DATUMARO / "images/val")
    assert names == ["a", "b", "c"]  # ids 1, 2, 4 → 0, 1, 2
    assert [a.to_line() for a in lines] == [f"{DATUMARO}/images/val/b.jpg 0,0,1,2,0"]
    assert report.counts == {"crowd regions dropped": 1}
    lines, _, _ = convert_coco(DATUMARO / "annotations/instances_train.json",
                               DATUMARO / "images/train")
    assert [a.to_line() for a in lines] == [f"{DATUMARO}/images/train/a.jpg 2,2,5,3,1"]


def test_images_without_annotations_are_negatives(tmp_path):
    for name in ("fake1.jpg", "fake2.jpg", "fake3.jpg"):
        Image.new("RGB", (800, 800)).save(tmp_path / name)
    lines, names, report = convert_coco(MMDET, tmp_path)
    assert names == ["bus", "car"]
    assert [a.to_line().replace(f"{tmp_path}/", "") for a in lines] == [
        "fake1.jpg 0,0,20,20,0 0,0,20,20,1", "fake2.jpg 0,0,20,20,0", "fake3.jpg"]
    assert not report.counts


def test_missing_images_and_bad_json(tmp_path):
    lines, _, report = convert_coco(MMDET, tmp_path)
    assert lines == [] and report.counts == {"images not found": 3}
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"images": []}))
    with pytest.raises(YoloError, match="not a COCO instances file"):
        convert_coco(bad, tmp_path)
