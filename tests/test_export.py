"""export.py end to end, as a user runs it: export, then detect and evaluate with the file;
bad input is one line and leaves nothing behind."""

from __future__ import annotations

import json

import pytest

from helpers import REPO, SAMPLE, assert_one_line_error, box_iou, run_script, tree_bytes
from helpers import SAMPLE_GT_LINE as GT_LINE


def test_export_then_detect_and_evaluate_with_the_file(tmp_path, tiny_model):
    onnx_path = tmp_path / "tiny.onnx"
    result = run_script("export.py", str(tiny_model), str(onnx_path), "--input_size", "320")
    assert result.returncode == 0, result.stderr
    assert "Wrote" in result.stdout and "320x320, 80 classes" in result.stdout
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".partial")]

    out = tmp_path / "onnx.json"
    result = run_script("yolo_video.py", "--model_path", str(onnx_path), "--image", "--input",
                        str(SAMPLE), "--output", str(tmp_path / "onnx.jpg"), "--json", str(out))
    assert result.returncode == 0, result.stderr
    from yolo import YOLO

    keras_found = YOLO(model_path=str(tiny_model), model_image_size=(320, 320)).detect(
        __import__("PIL.Image").Image.open(SAMPLE))
    assert [d["class_name"] for d in json.loads(out.read_text())[str(SAMPLE)]] == \
        [d["class_name"] for d in keras_found]

    annot = tmp_path / "val_list.txt"
    annot.write_text(GT_LINE)
    classes = str(REPO / "model_data" / "coco_classes.txt")
    metrics = {}
    for name, model in (("keras", tiny_model), ("onnx", onnx_path)):
        size = ["--model_image_size", "320"] if name == "keras" else []
        result = run_script("evaluate.py", "--annot_file", str(annot), "--classes_path",
                            classes, "--model_path", str(model), "--output_dir",
                            str(tmp_path / name), "--quiet", *size)
        assert result.returncode == 0, result.stderr
        metrics[name] = json.loads((tmp_path / name / "metrics.json").read_text())
    for key in ("voc_map50", "coco_map"):
        assert metrics["onnx"][key] == pytest.approx(metrics["keras"][key], abs=1e-3)


@pytest.mark.parametrize("args, phrases", [
    (["MODEL", "out.tfl"], ["unsupported format .tfl", ".onnx", ".tflite"]),
    (["MODEL", "out.onnx", "--format", "tflite"], ["--format tflite writes .tflite",
                                                    "out.onnx is named as ONNX"]),
    (["MODEL", "out", "--format", "onnx"], ["--format onnx writes .onnx"]),
    (["MODEL", "out.tflite", "--raw"], ["apply to ONNX exports"]),
    (["MODEL", "out.tflite", "--opset", "13"], ["apply to ONNX exports"]),
    (["MODEL", "out", "--raw"], ["apply to ONNX exports"]),
    (["MODEL", "EXISTING"], ["already exists"]),
    (["MODEL", "out.onnx", "--opset", "0"], ["--opset"]),
    (["MODEL", "out.onnx", "--opset", "10"], ["--opset must be between 13 and 18, not 10"]),
    (["MODEL", "out.onnx", "--opset", "999"], ["--opset must be between 13 and 18"]),
    (["MODEL", "out.onnx", "--quantize", "int8", "--calibration", "MODEL",
      "--calibration_images", "0"], ["--calibration_images"]),
    (["missing.h5", "out.onnx"], ["missing.h5"]),
    (["MODEL", "MODEL"], ["MODEL"]),
    (["MODEL", "out.onnx", "--input_size", "100"], ["multiples of 32"]),
    (["MODEL", "out.onnx", "--input_size", "32000"], ["at most 4096"]),
    (["MODEL", "out.onnx", "--input_size", "0"], ["positive multiples of 32"]),
    (["existing/assets", "out.onnx"], ["is a folder, not a Keras model file"]),
])
def test_bad_input_is_one_line_and_writes_nothing(tmp_path, tiny_model, args, phrases):
    model = tmp_path / "model.h5"
    model.write_bytes(tiny_model.read_bytes())
    (tmp_path / "existing" / "assets").mkdir(parents=True)  # an earlier export
    before = tree_bytes(tmp_path)
    args = [str(model) if a == "MODEL" else str(tmp_path / "existing") if a == "EXISTING"
            else str(tmp_path / a) if a.startswith(("out", "missing", "existing")) else a
            for a in args]
    result = run_script("export.py", *args)
    assert_one_line_error(result, *[str(model) if p == "MODEL" else p for p in phrases])
    assert tree_bytes(tmp_path) == before


def test_onnx_model_errors_are_one_line(tmp_path, tiny_onnx):
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"garbage")
    result = run_script("yolo_video.py", "--model_path", str(broken), "--image", "--input",
                        str(SAMPLE), "--output", str(tmp_path / "o.jpg"))
    assert_one_line_error(result, "not a readable ONNX model")
    result = run_script("yolo_video.py", "--model_path", str(tiny_onnx), "--image", "--input",
                        str(SAMPLE), "--output", str(tmp_path / "o.jpg"),
                        "--model_image_size", "320")
    assert_one_line_error(result, "exported for 416x416")
    assert not (tmp_path / "o.jpg").exists()
    annot = tmp_path / "val_list.txt"
    annot.write_text(f"{SAMPLE} 30,30,298,390,14\n")  # a person, in VOC's 20 classes
    result = run_script("evaluate.py", "--annot_file", str(annot), "--classes_path",
                        str(REPO / "model_data" / "voc_classes.txt"), "--model_path",
                        str(tiny_onnx), "--output_dir", str(tmp_path / "e"))
    assert_one_line_error(result, "carries its own 80 classes")
    assert not (tmp_path / "e").exists()


def test_saved_model_export_serves_image_bytes_and_runs_behind_yolo(tmp_path, tiny_model):
    import tensorflow as tf

    folder = tmp_path / "tiny_saved_model"
    result = run_script("export.py", str(tiny_model), str(folder))
    assert result.returncode == 0, result.stderr
    assert "Wrote the SavedModel" in result.stdout
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".partial")]
    info = json.loads((folder / "assets.extra" / "yolo3.json").read_text())
    assert info["input_size"] == [416, 416] and len(info["class_names"]) == 80

    served = tf.saved_model.load(str(folder)).signatures["serving_default"]
    out = served(image_bytes=tf.constant([SAMPLE.read_bytes()] * 2))
    count = int(out["counts"][1])

    from PIL import Image

    from yolo import YOLO

    image = Image.open(SAMPLE)
    keras_found = YOLO(model_path=str(tiny_model)).detect(image)
    saved_found = YOLO(model_path=str(folder)).detect(image)
    # the detect signature: the Keras detector's graph on the same letterboxed input
    assert [d["class_id"] for d in saved_found] == [d["class_id"] for d in keras_found]
    for a, b in zip(saved_found, keras_found):
        assert box_iou(a["box"], b["box"]) >= 0.99 and abs(a["score"] - b["score"]) <= 1e-3
    # encoded bytes, letterboxed by TensorFlow's resize kernels: the same objects
    assert count == len(keras_found)
    order = sorted(range(count), key=lambda i: -float(out["scores"][1][i]))
    for i, expected in zip(order, keras_found):
        assert int(out["classes"][1][i]) == expected["class_id"]
        assert box_iou(out["boxes"][1][i].numpy(), expected["box"]) >= 0.95
        assert abs(float(out["scores"][1][i]) - expected["score"]) <= 0.02
    # metadata that lies about the graph, or is damaged, is one line naming file and field
    from yolo3.errors import YoloError

    metadata = folder / "assets.extra" / "yolo3.json"
    for change, phrase in [({"input_size": [320, 320]}, "disagrees with its graph"),
                           ({"nms": {"score": 0.3}}, "'nms' needs 'iou'")]:
        metadata.write_text(json.dumps({**info, **change}))
        with pytest.raises(YoloError, match=phrase):
            YOLO(model_path=str(folder))
