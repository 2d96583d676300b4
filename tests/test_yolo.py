"""yolo.py: keras-yolo3's YOLO class API on the real yolov3-tiny model."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from helpers import SAMPLE
from yolo import YOLO
from yolo3.errors import YoloError


def test_defaults_are_keras_yolo3s():
    assert YOLO.get_defaults("model_path") == "model_data/yolo.h5"
    assert YOLO.get_defaults("score") == 0.3 and YOLO.get_defaults("iou") == 0.45
    assert YOLO.get_defaults("model_image_size") == (416, 416)
    assert YOLO.get_defaults("nope") == "Unrecognized attribute name 'nope'"


def test_unknown_options_are_an_error(tiny_model):
    with pytest.raises(YoloError, match="unknown YOLO option\\(s\\): model"):
        YOLO(model=str(tiny_model))


@pytest.mark.parametrize("kwargs, message", [({"score": 1.5}, "between 0 and 1"),
                                             ({"gpu_num": -1}, "gpu_num"),
                                             ({"model_image_size": (400, 416)}, "multiples")])
def test_bad_values(tiny_model, kwargs, message):
    with pytest.raises(YoloError, match=message):
        YOLO(model_path=str(tiny_model), **kwargs)


def test_detect_and_detect_image(tiny_yolo):
    image = Image.open(SAMPLE)
    detections = tiny_yolo.detect(image)
    assert [set(d) for d in detections] == [{"class_id", "class_name", "score", "box"}] * 3
    cat = next(d for d in detections if d["class_name"] == "cat")
    x0, y0, x1, y1 = cat["box"]
    assert 0 <= x0 < x1 <= image.width and image.height / 2 < y1 <= image.height
    annotated = tiny_yolo.detect_image(image)
    assert annotated.size == image.size and annotated.mode == "RGB"
    assert not np.array_equal(np.asarray(annotated), np.asarray(image.convert("RGB")))


def test_higher_score_threshold_drops_weaker_boxes(tiny_model):
    strict = YOLO(model_path=str(tiny_model), score=0.95)
    assert [d["class_name"] for d in strict.detect(Image.open(SAMPLE))] == ["cat"]


def test_any_image_mode(tiny_yolo):
    image = Image.open(SAMPLE)
    for mode in ("L", "RGBA", "CMYK", "P"):
        assert tiny_yolo.detect_image(image.convert(mode)).size == image.size
