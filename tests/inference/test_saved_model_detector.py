"""yolo3.inference.saved_model_detector: exported SavedModel folders behind the detector
API, their settings checked against the export."""

from __future__ import annotations

import shutil

import pytest
from PIL import Image

from helpers import SAMPLE
from yolo3.defaults import NmsSettings
from yolo3.errors import YoloError
from yolo3.export.saved_model import export_saved_model
from yolo3.export_contract import SAVED_MODEL_METADATA
from yolo3.inference.detector import Detector, open_model
from yolo3.inference.runtime import open_detector
from yolo3.inference.saved_model_detector import SavedModelDetector, is_saved_model


@pytest.fixture(scope="module")
def exported(tmp_path_factory, tiny_model):
    folder = tmp_path_factory.mktemp("saved") / "tiny"
    export_saved_model(open_model(tiny_model), folder, (320, 320), NmsSettings())
    return folder


def test_detections_equal_the_keras_detector(exported, tiny_model):
    assert is_saved_model(exported) and not is_saved_model(tiny_model)
    detector = open_detector(exported, nms=NmsSettings(score=0.1, max_per_class=2))
    assert isinstance(detector, SavedModelDetector) and detector.input_size == (320, 320)
    image = Image.open(SAMPLE)
    expected = Detector(open_model(tiny_model), (320, 320),
                        NmsSettings(score=0.1, max_per_class=2)).detect(image)
    found = detector.detect(image)
    assert [d["class_id"] for d in found] == [d["class_id"] for d in expected]
    for a, b in zip(found, expected):
        assert abs(a["score"] - b["score"]) <= 1e-3


def test_what_the_export_cannot_do_is_refused(exported, tmp_path):
    with pytest.raises(YoloError, match="exported for 320x320"):
        SavedModelDetector(exported, (416, 416))
    with pytest.raises(YoloError, match="class_agnostic"):
        SavedModelDetector(exported, nms=NmsSettings(class_agnostic=True))
    copy = tmp_path / "copy"
    shutil.copytree(exported, copy)
    (copy / SAVED_MODEL_METADATA).unlink()
    with pytest.raises(YoloError, match="carries no yolo3 metadata"):
        SavedModelDetector(copy)
