"""yolo3.inference.runtime: the runtime follows the file."""

from __future__ import annotations

import pytest

from helpers import REPO
from yolo3.defaults import NmsSettings
from yolo3.errors import YoloError
from yolo3.inference.detector import Detector
from yolo3.inference.onnx_detector import OnnxDetector
from yolo3.inference.runtime import is_onnx, open_detector


def test_the_file_chooses_the_runtime(tiny_model, tiny_onnx):
    assert is_onnx(tiny_onnx) and is_onnx("X.ONNX") and not is_onnx(tiny_model)
    onnx = open_detector(tiny_onnx, nms=NmsSettings(score=0.5))
    assert isinstance(onnx, OnnxDetector) and onnx.nms.score == 0.5
    keras = open_detector(tiny_model, (320, 320))
    assert isinstance(keras, Detector) and keras.input_size == (320, 320)
    assert open_detector(tiny_model).input_size == (416, 416)
    assert onnx.class_names == keras.class_names
    assert onnx.anchors.tolist() == keras.anchors.tolist()


def test_exported_files_carry_their_own_classes(tiny_onnx):
    with pytest.raises(YoloError, match="carries its own anchors and classes"):
        open_detector(tiny_onnx, classes_path=REPO / "model_data/coco_classes.txt")
    with pytest.raises(YoloError, match="carries its own anchors and classes"):
        open_detector(tiny_onnx, anchors_path=REPO / "model_data/tiny_yolo_anchors.txt")
