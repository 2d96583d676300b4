"""yolo3.inference.runtime: the runtime follows the file."""

from __future__ import annotations

import pytest

from helpers import REPO
from yolo3.defaults import NmsSettings
from yolo3.errors import YoloError
from yolo3.inference.detector import Detector
from yolo3.inference.onnx_detector import OnnxDetector
from yolo3.inference.runtime import is_onnx, open_detector, runtimes_for


def test_the_file_chooses_the_runtime(tiny_model, tiny_onnx):
    assert is_onnx(tiny_onnx) and is_onnx("X.ONNX") and not is_onnx(tiny_model)
    onnx = open_detector(tiny_onnx, nms=NmsSettings(score=0.5))
    assert isinstance(onnx, OnnxDetector) and onnx.nms.score == 0.5
    keras = open_detector(tiny_model, (320, 320))
    assert isinstance(keras, Detector) and keras.input_size == (320, 320)
    assert open_detector(tiny_model).input_size == (416, 416)
    assert onnx.class_names == keras.class_names
    assert onnx.anchors.tolist() == keras.anchors.tolist()


def test_files_beside_an_export_must_agree_with_it(tiny_onnx, tmp_path):
    same = open_detector(tiny_onnx, classes_path=REPO / "model_data/coco_classes.txt",
                         anchors_path=REPO / "model_data/tiny_yolo_anchors.txt")
    assert same.num_classes == 80
    other = tmp_path / "classes.txt"
    other.write_text("cat\ndog\n")
    with pytest.raises(YoloError, match="carries its own 80 classes .* differ from"):
        open_detector(tiny_onnx, classes_path=other)
    with pytest.raises(YoloError, match="carries its own anchors, which differ"):
        open_detector(tiny_onnx, anchors_path=REPO / "model_data/yolo_anchors.txt")


def test_the_runtime_must_be_one_that_runs_the_file(tiny_onnx, tiny_model):
    assert runtimes_for(tiny_onnx) == ("onnxruntime", "openvino")
    assert runtimes_for(tiny_model) == ("tensorflow",)
    with pytest.raises(YoloError, match="runs in tensorflow, not openvino"):
        open_detector(tiny_model, runtime="openvino")
    assert isinstance(open_detector(tiny_onnx, runtime="onnxruntime"), OnnxDetector)


def test_openvino_missing_is_one_clear_line(tiny_onnx, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "openvino", None)  # what an absent package looks like
    with pytest.raises(YoloError, match="needs OpenVINO, which is optional: pip install"):
        open_detector(tiny_onnx, runtime="openvino")
