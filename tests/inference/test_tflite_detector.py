"""yolo3.inference.tflite_detector: TFLite exports behind the same API in LiteRT, without
TensorFlow; through YOLO, yolo_video.py and evaluate.py as users run them."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from helpers import (
    REPO,
    SAMPLE,
    assert_one_line_error,
    assert_same_detections,
    detect_in_a_fresh_process,
    run_script,
    tree_bytes,
)
from yolo3.defaults import NmsSettings
from yolo3.inference.tflite_detector import TfliteDetector


def test_the_tflite_path_never_imports_tensorflow(tiny_tflite):
    detected, modules, stderr = detect_in_a_fresh_process(tiny_tflite)
    assert stderr == ""  # LiteRT's delegate notice stays off the user's terminal
    assert detected == "['cat', 'cup', 'person'] (416, 416)"
    assert modules == "[]"


def test_batches_run_image_by_image(tiny_tflite):
    detector = TfliteDetector(tiny_tflite, nms=NmsSettings(score=0.2))
    image = Image.open(SAMPLE)
    mirrored = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    batch = detector.detect_batch([image, mirrored, image])
    assert batch[0] == batch[2] == detector.detect(image)
    assert batch[1] == detector.detect(mirrored)
    assert detector.detect_batch([]) == []


def test_yolo_options_reach_the_exported_graph(tiny_tflite):
    from yolo import YOLO

    image = Image.open(SAMPLE)
    strict = YOLO(model_path=str(tiny_tflite), score=0.95)
    assert [d["class_name"] for d in strict.detect(image)] == ["cat"]
    one_each = YOLO(model_path=str(tiny_tflite), score=0.01, max_per_class=1)
    classes = [d["class_id"] for d in one_each.detect(image)]
    assert len(classes) == len(set(classes)) > 3


def test_yolo_video_and_evaluate_run_tflite_files(tmp_path, tiny_model, tiny_tflite):
    """yolo_video.py --image writes the Keras detections; evaluate.py measures what the
    Keras model measures."""
    out = tmp_path / "found.json"
    result = run_script("yolo_video.py", "--model_path", str(tiny_tflite), "--image",
                        "--input", str(SAMPLE), "--output", str(tmp_path / "o.jpg"),
                        "--json", str(out))
    assert result.returncode == 0 and result.stderr == "", result.stderr
    from yolo import YOLO

    keras = YOLO(model_path=str(tiny_model)).detect(Image.open(SAMPLE))
    written = json.loads(out.read_text())
    found = written[0]["detections"] if isinstance(written, list) else next(
        iter(written.values()))
    assert_same_detections(found, keras)

    annot = tmp_path / "val_list.txt"
    annot.write_text(f"{SAMPLE} 30,513,331,744,15 31,32,298,391,0 532,88,706,267,41\n")
    metrics = {}
    for name, model in (("keras", tiny_model), ("tflite", tiny_tflite)):
        result = run_script("evaluate.py", "--annot_file", str(annot), "--classes_path",
                            str(REPO / "model_data" / "coco_classes.txt"), "--model_path",
                            str(model), "--output_dir", str(tmp_path / name), "--quiet",
                            *(["--runtime", "litert"] if name == "tflite" else []))
        assert result.returncode == 0, result.stderr
        metrics[name] = json.loads((tmp_path / name / "metrics.json").read_text())
    assert metrics["keras"]["voc_map50"] > 0.5
    for key in ("voc_map50", "coco_map"):
        assert metrics["tflite"][key] == pytest.approx(metrics["keras"][key], abs=1e-3)


def test_a_tflite_file_without_metadata_runs_with_classes_path(tmp_path, tiny_tflite):
    """Like keras-yolo3's files: a detection graph whose metadata was dropped by another
    tool needs the classes file; without it, one line saying so."""
    from ai_edge_litert.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model_from_bytearray(bytearray(tiny_tflite.read_bytes()))
    model.metadata = [m for m in model.metadata if m.name not in (b"yolo3", "yolo3")]
    stripped = tmp_path / "stripped.tflite"
    stripped.write_bytes(bytes(flatbuffer_utils.convert_object_to_bytearray(model)))
    classes = REPO / "model_data" / "coco_classes.txt"
    image = Image.open(SAMPLE)
    found = TfliteDetector(stripped, classes_path=classes).detect(image)
    assert_same_detections(found, TfliteDetector(tiny_tflite).detect(image))
    result = run_script("yolo_video.py", "--model_path", str(stripped), "--image", "--input",
                        str(SAMPLE), "--output", str(tmp_path / "o.jpg"))
    assert_one_line_error(result, "carries no yolo3 metadata", "--classes_path")


@pytest.mark.parametrize("case, phrases", [
    ("garbage", ["broken.tflite", "not a readable TFLite model"]),
    ("missing", ["missing.tflite", "no such model file"]),
    ("onnxruntime", ["runs in litert, not onnxruntime"]),
    ("size", ["exported for 416x416"]),
])
def test_bad_tflite_input_is_one_line(tmp_path, tiny_tflite, case, phrases):
    broken = tmp_path / "broken.tflite"
    broken.write_bytes(b"TFL3 but not a model")
    model = {"garbage": broken, "missing": tmp_path / "missing.tflite"}.get(case, tiny_tflite)
    extra = {"onnxruntime": ["--runtime", "onnxruntime"],
             "size": ["--model_image_size", "320"]}.get(case, [])
    before = tree_bytes(tmp_path)
    result = run_script("yolo_video.py", "--model_path", str(model), "--image", "--input",
                        str(SAMPLE), "--output", str(tmp_path / "o.jpg"), *extra)
    assert_one_line_error(result, *phrases)
    assert tree_bytes(tmp_path) == before
