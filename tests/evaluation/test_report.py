"""yolo3.evaluation.report: the library call training uses, and the report it writes."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

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
    with Image.open(tmp_path / "report" / "pr_curves.png") as picture:
        assert picture.format == "PNG" and picture.width > 300
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


GOOD_DETECTION = {"class_id": 1, "score": 0.5, "box": [1, 2, 30, 40]}


@pytest.mark.parametrize("bad, phrase", [
    ({**GOOD_DETECTION, "class_id": True}, "class_id must be an integer ≥ 0, got True"),
    ({**GOOD_DETECTION, "class_id": -1}, "class_id must be an integer ≥ 0, got -1"),
    ({**GOOD_DETECTION, "class_id": 1.0}, "class_id must be an integer ≥ 0, got 1.0"),
    ({k: v for k, v in GOOD_DETECTION.items() if k != "class_id"},
     "class_id must be an integer ≥ 0, got None"),
    ({**GOOD_DETECTION, "score": float("nan")}, "score must be a finite number, got nan"),
    ({**GOOD_DETECTION, "score": 10**400}, "score must be a finite number"),
    ({**GOOD_DETECTION, "score": False}, "score must be a finite number, got False"),
    ({**GOOD_DETECTION, "score": "0.5"}, "score must be a finite number, got '0.5'"),
    ({**GOOD_DETECTION, "box": [1, 2, 3]}, "box must be 4 finite numbers"),
    ({**GOOD_DETECTION, "box": [1, 2, 3, "4"]}, "box must be 4 finite numbers"),
    ({**GOOD_DETECTION, "box": [1, 2, 3, True]}, "box must be 4 finite numbers"),
    ({**GOOD_DETECTION, "box": [1, 2, 3, float("inf")]}, "box must be 4 finite numbers"),
    ({**GOOD_DETECTION, "box": {"x": 1}}, "box must be 4 finite numbers"),
    ([1, 2], "a detection must be an object"),
    ("text", "a detection must be an object"),
])
def test_the_first_bad_detection_among_many_is_named(tmp_path, bad, phrase):
    """Thousands of good detections and one bad one, anywhere: the same one-line message
    the per-detection check gives (the column-wise check only decides that all are good)."""
    path = tmp_path / "d.json"
    for position in (0, 2999):
        dets = [GOOD_DETECTION] * 3000
        dets[position] = bad
        path.write_text(json.dumps({"a.jpg": [GOOD_DETECTION], "b.jpg": dets}))
        with pytest.raises(YoloError) as refused:
            read_detections_json(path)
        assert f"(b.jpg: {phrase}" in str(refused.value)


def test_many_good_detections_are_read_as_written(tmp_path):
    rng = np.random.default_rng(0)
    data = {f"{i}.jpg": [{"class_id": int(c), "score": float(s), "box": b.tolist()}
                         for c, s, b in zip(rng.integers(0, 5, 50), rng.random(50),
                                            rng.uniform(0, 400, (50, 4)))]
            for i in range(40)}
    data["empty.jpg"] = []
    data["ints.jpg"] = [{"class_id": 0, "score": 1, "box": [1, 2, 3, 4]}]
    path = tmp_path / "d.json"
    path.write_text(json.dumps(data))
    assert read_detections_json(path) == data
