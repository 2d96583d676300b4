"""yolo3.data.coco: COCO instances JSON → training lines (a written-in-code file, tests/exports.py;
the real ones: test_real_exports.py)."""

from __future__ import annotations

import json

import pytest

import exports
from yolo3.data.coco import convert_coco
from yolo3.errors import YoloError


def test_category_id_gaps_crowd_regions_and_negatives(tmp_path):
    path, images = exports.coco(tmp_path)
    lines, names, report = convert_coco(path, images)
    assert names == ["a", "b", "c"]  # ids 1, 2, 4 → 0, 1, 2, whatever their order in the file
    assert [a.to_line() for a in lines] == [f"{images}/a.jpg 2,2,5,3,1",
                                            f"{images}/b.jpg 0,0,1,2,0", f"{images}/empty.jpg"]
    assert report.counts == {"crowd regions dropped": 1}


def test_missing_images_and_bad_json(tmp_path):
    path, _ = exports.coco(tmp_path)
    lines, _, report = convert_coco(path, tmp_path / "elsewhere")
    assert lines == [] and report.counts == {"images not found": 3}
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"images": []}))
    with pytest.raises(YoloError, match="not a COCO instances file"):
        convert_coco(bad, tmp_path)
