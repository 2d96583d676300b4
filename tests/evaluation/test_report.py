"""yolo3.evaluation.report: the library call training uses, and the report it writes."""

from __future__ import annotations

import json

import numpy as np
import pytest

from helpers import SAMPLE
from yolo3.data.annotations import Annotation
from yolo3.errors import YoloError
from yolo3.evaluation.report import (
    EVAL_NMS,
    detect_annotations,
    evaluate,
    format_table,
    match_paths,
    read_detections_json,
    write_report,
)
from yolo3.inference.detector import Detector, open_model

SAMPLE_GT = np.array([[30, 30, 298, 390, 0], [530, 88, 706, 268, 41], [30, 513, 331, 745, 15]])


def test_model_on_the_sample_image(tmp_path, tiny_model):
    detector = Detector(open_model(tiny_model), nms=EVAL_NMS)
    annotations = [Annotation(str(SAMPLE), SAMPLE_GT),
                   Annotation(str(tmp_path / "missing.jpg"), np.zeros((0, 5)))]
    detections, unreadable = detect_annotations(detector, annotations, progress=False)
    assert unreadable == [str(tmp_path / "missing.jpg")]
    names = [f"c{i}" for i in range(80)]
    metrics, voc = evaluate(annotations[:1], detections, names)
    assert metrics["voc_map50"] == pytest.approx(1.0)
    assert set(metrics["per_class_ap50"]) == {"c0", "c15", "c41"}
    assert metrics["ap50"] == pytest.approx(1.0) and 0.5 < metrics["coco_map"] <= 1.0
    assert metrics["recall"] == 1.0 and metrics["precision"] == 1.0
    assert len(metrics["classes_without_ground_truth"]) == 77
    write_report(metrics, voc, names, tmp_path / "report")
    saved = json.loads((tmp_path / "report" / "metrics.json").read_text())
    assert {"voc_map50", "per_class_ap50", "coco_map", "ap50", "ap75"} <= set(saved)
    assert sorted(p.name for p in (tmp_path / "report" / "pr_curves").iterdir()) == [
        "000_c0.png", "015_c15.png", "041_c41.png"]
    assert "mAP@0.5 (VOC)" in format_table(metrics)


def test_images_without_ground_truth_count_their_false_positives():
    annotations = [Annotation("a.jpg", np.array([[0, 0, 10, 10, 0]])),
                   Annotation("b.jpg", np.zeros((0, 5)))]
    hit = {"class_id": 0, "class_name": "x", "score": 0.9, "box": [0, 0, 10, 10]}
    miss = dict(hit, score=0.95)
    metrics, _ = evaluate(annotations, {"a.jpg": [hit], "b.jpg": [miss]}, ["x"])
    assert metrics["images_without_ground_truth"] == 1
    assert metrics["voc_map50"] == pytest.approx(0.5)
    assert metrics["precision"] == 0.5


def test_class_ids_beyond_the_classes_file():
    with pytest.raises(YoloError, match="class id 3 is not among the 2 classes"):
        evaluate([Annotation("a.jpg", np.array([[0, 0, 1, 1, 3]]))], {}, ["a", "b"])


def test_detections_files(tmp_path):
    path = tmp_path / "d.json"
    path.write_text(json.dumps({"./x.jpg": [{"class_id": 0, "score": 0.5, "box": [1, 2, 3, 4]}]}))
    detections = read_detections_json(path)
    matched = match_paths([Annotation(str((tmp_path / "x.jpg").resolve()), np.zeros((0, 5)))],
                          {str(tmp_path / "x.jpg"): detections["./x.jpg"]})
    assert list(matched.values())[0][0]["score"] == 0.5
    path.write_text(json.dumps({"x.jpg": [{"class_id": 0, "box": [1, 2, 3]}]}))
    with pytest.raises(YoloError, match="not a detections file"):
        read_detections_json(path)
