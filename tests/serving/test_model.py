"""yolo3.serving.model: which export a model folder serves."""

from __future__ import annotations

import pytest

from yolo3.errors import YoloError
from yolo3.serving.model import find_model


def test_the_only_export_is_found_onnx_first(tmp_path):
    (tmp_path / "m" / "1").mkdir(parents=True)
    (tmp_path / "m" / "1" / "det.tflite").write_bytes(b"t")
    assert find_model(tmp_path).name == "det.tflite"
    (tmp_path / "m" / "det.onnx").write_bytes(b"o")
    assert find_model(tmp_path).name == "det.onnx"  # TensorFlow-free ONNX first
    assert find_model(tmp_path, "det.tflite").name == "det.tflite"


def test_a_saved_model_folder_comes_last(tmp_path):
    (tmp_path / "m" / "exported").mkdir(parents=True)
    (tmp_path / "m" / "exported" / "saved_model.pb").write_bytes(b"s")
    assert find_model(tmp_path) == tmp_path / "m" / "exported"
    (tmp_path / "m" / "det.onnx").write_bytes(b"o")
    assert find_model(tmp_path).name == "det.onnx"


@pytest.mark.parametrize("files, name, phrase", [
    ([], None, "no .onnx, .tflite or SavedModel export"),
    (["trained_model.h5"], None, "export it with export.py"),
    (["a.onnx", "b/b.onnx"], None, "2 .onnx files"),
    (["a.onnx"], "other.onnx", "no file other.onnx"),
])
def test_what_cannot_be_served_is_one_line(tmp_path, files, name, phrase):
    for file in files:
        (tmp_path / file).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / file).write_bytes(b"x")
    with pytest.raises(YoloError, match=phrase):
        find_model(tmp_path, name)
    with pytest.raises(YoloError, match="does not exist"):
        find_model(tmp_path / "missing")
