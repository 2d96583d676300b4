"""evaluate.py end to end: model mode and detections mode write the same metrics."""

from __future__ import annotations

import json

from helpers import REPO, SAMPLE, run_script
from helpers import SAMPLE_GT_LINE as GT_LINE


def test_model_and_detections_modes(tmp_path, tiny_model):
    annot = tmp_path / "val_list.txt"
    annot.write_text(GT_LINE)
    classes = str(REPO / "model_data" / "coco_classes.txt")
    result = run_script("evaluate.py", "--annot_file", str(annot), "--classes_path", classes,
                        "--model_path", str(tiny_model), "--output_dir", str(tmp_path / "m"))
    assert result.returncode == 0, result.stderr
    assert "mAP@0.5 (VOC)" in result.stdout and "Traceback" not in result.stderr
    by_model = json.loads((tmp_path / "m" / "metrics.json").read_text())
    assert by_model["voc_map50"] == 1.0 and by_model["per_class_ap50"]["cat"] == 1.0
    assert (tmp_path / "m" / "pr_curves.png").stat().st_size > 1000

    detections = tmp_path / "detections.json"
    result = run_script("yolo_video.py", "--model_path", str(tiny_model), "--image", "--input",
                        str(SAMPLE), "--output", str(tmp_path / "out.jpg"), "--json",
                        str(detections), "--score", "0.001", "--max_per_class", "100")
    assert result.returncode == 0, result.stderr
    result = run_script("evaluate.py", "--annot_file", str(annot), "--classes_path", classes,
                        "--detections", str(detections), "--output_dir", str(tmp_path / "d"))
    assert result.returncode == 0, result.stderr
    by_file = json.loads((tmp_path / "d" / "metrics.json").read_text())
    for key in ("voc_map50", "coco_map", "ap50", "ap75"):
        assert abs(by_file[key] - by_model[key]) < 1e-6, key


def test_bad_inputs(tmp_path):
    annot = tmp_path / "val_list.txt"
    annot.write_text(GT_LINE)
    classes = str(REPO / "model_data" / "coco_classes.txt")
    result = run_script("evaluate.py", "--annot_file", str(annot), "--classes_path", classes,
                        "--output_dir", str(tmp_path / "o"))
    assert result.returncode == 2 and "one of the arguments" in result.stderr
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    result = run_script("evaluate.py", "--annot_file", str(annot), "--classes_path", classes,
                        "--detections", str(bad), "--output_dir", str(tmp_path / "o"))
    assert result.returncode == 1 and "not a detections file" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and not (tmp_path / "o").exists()
