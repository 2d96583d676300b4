"""Bad input, class 2: no wrong result is reported as success.

Evaluation fails when no detection matches a listed image and matches across working
folders; out-of-range class ids and unreadable image sets fail; corrupted weights do not
convert silently.
"""

from __future__ import annotations

import json
import shutil

import numpy as np

from helpers import (
    CFG,
    REPO,
    SAMPLE,
    assert_one_line_error,
    partial_files,
    run_script,
    tree_bytes,
)
from yolo3.darknet import DarknetHeader, load_cfg

COCO = str(REPO / "model_data" / "coco_classes.txt")
CAT = "30,513,332,744,15"  # the cat in the sample collage (COCO id 15)


def evaluate(tmp_path, *args, cwd=None):
    return run_script("evaluate.py", "--classes_path", COCO, "--output_dir",
                      str(tmp_path / "eval"), *args, cwd=cwd or tmp_path)


def detections_file(tmp_path, tiny_model, cwd, spec):
    report = tmp_path / "detections.json"
    result = run_script("yolo_video.py", "--model_path", str(tiny_model), "--image", "--input",
                        spec, "--output", str(tmp_path / "annotated"), "--json", str(report),
                        "--score", "0.001", cwd=cwd)
    assert result.returncode == 0, result.stderr
    return report


def test_detections_match_from_any_working_folder(tmp_path, tiny_model):
    data = tmp_path / "project" / "data"
    data.mkdir(parents=True)
    shutil.copy(SAMPLE, data / "sample.jpg")
    # detection run from inside the data folder, with a relative input
    report = detections_file(tmp_path, tiny_model, data, "sample.jpg")
    annot = tmp_path / "project" / "val_list.txt"
    annot.write_text(f"data/sample.jpg {CAT}\n")  # relative to project/
    for cwd in (tmp_path / "project", tmp_path, REPO):
        result = evaluate(tmp_path, "--annot_file", str(annot), "--detections", str(report),
                          cwd=cwd)
        assert result.returncode == 0, result.stderr
        metrics = json.loads((tmp_path / "eval" / "metrics.json").read_text())
        assert metrics["per_class_ap50"]["cat"] == 1.0, cwd


def test_old_relative_reports_match_by_image_root_or_tail(tmp_path, tiny_model):
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(SAMPLE, data / "sample.jpg")
    shutil.copy(SAMPLE, data / "other.jpg")
    annot = tmp_path / "val_list.txt"
    annot.write_text(f"data/sample.jpg {CAT}\ndata/other.jpg {CAT}\n")
    dets = {"sample.jpg": [{"class_id": 15, "class_name": "cat", "score": 0.9,
                            "box": [30, 513, 332, 744]}]}
    report = tmp_path / "relative.json"
    report.write_text(json.dumps(dets))  # written relative to data/, as keras-yolo3 tools did
    result = evaluate(tmp_path, "--annot_file", str(annot), "--detections", str(report),
                      "--image_root", str(tmp_path), cwd=REPO)
    assert result.returncode == 0, result.stderr
    warning = [line for line in result.stderr.splitlines() if line.startswith("warning")]
    assert warning == ["warning: 1 of 2 listed images have no entry in the detections and "
                       "count as detecting nothing (e.g. data/other.jpg)"]
    metrics = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert metrics["recall"] == 0.5


def test_no_listed_image_in_the_detections_fails(tmp_path):
    annot = tmp_path / "val_list.txt"
    annot.write_text(f"{SAMPLE} {CAT}\n")
    report = tmp_path / "detections.json"
    report.write_text(json.dumps({"elsewhere/photo.jpg": []}))
    result = evaluate(tmp_path, "--annot_file", str(annot), "--detections", str(report))
    assert_one_line_error(result, "no listed image has an entry in the detections",
                          "--image_root")
    assert not (tmp_path / "eval").exists()


def test_class_ids_beyond_the_classes_fail(tmp_path):
    annot = tmp_path / "val_list.txt"
    annot.write_text(f"{SAMPLE} 30,513,332,744,80\n")
    report = tmp_path / "detections.json"
    report.write_text(json.dumps({str(SAMPLE): []}))
    result = evaluate(tmp_path, "--annot_file", str(annot), "--detections", str(report))
    assert_one_line_error(result, "class id 80 is beyond the 80 classes")
    annot.write_text(f"{SAMPLE} {CAT}\n")
    report.write_text(json.dumps({str(SAMPLE): [{"class_id": 91, "score": 0.5,
                                                 "box": [1, 2, 3, 4]}]}))
    result = evaluate(tmp_path, "--annot_file", str(annot), "--detections", str(report))
    assert_one_line_error(result, "class id 91", "do not belong together")


def test_every_image_missing_fails(tmp_path, tiny_model):
    annot = tmp_path / "val_list.txt"
    annot.write_text(f"gone/a.jpg {CAT}\ngone/b.jpg\n")
    result = evaluate(tmp_path, "--annot_file", str(annot), "--model_path", str(tiny_model),
                      "--quiet")
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert lines[-1].startswith("evaluate.py: error: none of the 2 images of")
    assert not (tmp_path / "eval").exists()


def random_weights_file(path, nan: bool):
    config = load_cfg(CFG / "yolov3-tiny.cfg")
    rng = np.random.default_rng(0)
    if nan:  # random bytes: every bit pattern, NaNs included
        floats = rng.integers(0, 2**32, config.num_floats(), dtype=np.uint32).view(np.float32)
    else:
        floats = rng.normal(0, 0.1, config.num_floats()).astype(np.float32)
    path.write_bytes(DarknetHeader(0, 2, 0, 0).to_bytes() + floats.astype("<f4").tobytes())
    return path


def test_garbage_weights_do_not_convert(tmp_path):
    weights = random_weights_file(tmp_path / "garbage.weights", nan=True)
    out = tmp_path / "m.h5"
    result = run_script("convert.py", str(CFG / "yolov3-tiny.cfg"), str(weights), str(out))
    line = assert_one_line_error(result, "NaN or infinite values", "--allow_nonfinite")
    assert "garbage.weights holds" in line and not out.exists()
    assert not partial_files(tmp_path)
    result = run_script("convert.py", "--allow_nonfinite", str(CFG / "yolov3-tiny.cfg"),
                        str(weights), str(out))
    assert result.returncode == 0 and out.is_file()
    assert "WARNING:" in result.stderr and "converting anyway" in result.stderr


def test_training_that_diverges_fails_and_writes_no_model(tmp_path, shapes_export):
    from yolo3.errors import YoloError
    from yolo3.training import TrainSettings, train

    out = tmp_path / "out"
    before = tree_bytes(shapes_export)
    settings = TrainSettings(output_dir=out, data_path=shapes_export, data_dir="data",
                             num_clusters=6, input_size=64, batch_size=8, epochs=2,
                             learning_rate=1e30, log=lambda *a: None)
    try:
        train(settings)
    except YoloError as error:
        assert "training diverged" in str(error) and "no model written" in str(error)
    else:
        raise AssertionError("a diverged run reported success")
    assert not (out / "trained_model.h5").exists() and not (out / "metrics.json").exists()
    assert tree_bytes(shapes_export) == before


def test_learning_rate_nan_is_refused(tmp_path):
    result = run_script("project/train_azureml.py", "--learning_rate", "nan", "--output_dir",
                        str(tmp_path / "o"))
    assert_one_line_error(result, "--learning_rate", "finite number above 0", code=2)
