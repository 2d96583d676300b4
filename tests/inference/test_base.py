"""yolo3.inference.base: what every detector shares, on a stand-in graph: letterboxed
batches in, padded outputs to detection dicts, files in batches with broken ones named."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from yolo3.defaults import NmsSettings
from yolo3.errors import YoloError
from yolo3.inference.base import DetectorBase, check_input_size


class Recorder(DetectorBase):
    """Returns one box per image whose score is the image's mean pixel value."""

    def __init__(self):
        super().__init__(["a", "b"], (64, 96), NmsSettings(), np.ones((6, 2)))
        self.calls = []

    def run(self, arrays, letterboxes):
        self.calls.append((arrays.shape, letterboxes.shape, letterboxes.dtype))
        batch = len(arrays)
        boxes = np.tile(np.array([[[1, 2, 3, 4], [0, 0, 0, 0]]], np.float32), (batch, 1, 1))
        scores = np.zeros((batch, 2), np.float32)
        scores[:, 0] = arrays.reshape(batch, -1).mean(axis=1) / 255
        classes = np.ones((batch, 2), np.int32)
        return boxes, scores, classes, np.ones(batch, np.int64)


def test_batches_become_detection_dicts():
    detector = Recorder()
    white = Image.new("RGB", (200, 100), (255, 255, 255))
    grey = np.full((50, 50, 3), 128, np.uint8)
    found = detector.detect_batch([white, grey, white.convert("L")])
    assert detector.calls == [((3, 64, 96, 3), (3, 6), np.float32)]
    assert [len(d) for d in found] == [1, 1, 1]
    first = found[0][0]
    assert (first["class_id"], first["class_name"], first["box"]) == (1, "b", [1, 2, 3, 4])
    assert isinstance(first["score"], float) and 0.5 < first["score"] < 1
    assert found[0][0]["score"] > found[1][0]["score"]  # white letterboxed on grey > grey
    assert detector.detect_batch([]) == [] and detector.num_classes == 2
    assert detector.detect(grey)[0]["class_name"] == "b"


def test_files_in_batches_keep_going_past_broken_ones(tmp_path):
    good = tmp_path / "good.png"
    Image.new("RGB", (40, 30), (10, 20, 30)).save(good)
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"nope")
    detector = Recorder()
    results = list(detector.detect_files([good, bad, good], batch_size=2))
    assert [r[0] for r in results] == [good, bad, good]
    assert results[1][1] is None and "bad.jpg" in results[1][2]
    assert len(results[0][2]) == 1 and len(detector.calls) == 2


@pytest.mark.parametrize("size", [(100, 416), (0, 32), (-32, 64)])
def test_input_sizes_must_be_multiples_of_32(size):
    with pytest.raises(YoloError, match="multiples of 32"):
        check_input_size(size)
    assert check_input_size(("320", 608)) == (320, 608)


def test_with_nms_shares_the_session_and_checks_the_export(tiny_onnx, tiny_model):
    from helpers import SAMPLE
    from yolo3.inference.detector import Detector, open_model
    from yolo3.inference.onnx_detector import OnnxDetector

    detector = OnnxDetector(tiny_onnx)
    image = Image.open(SAMPLE)
    strict = detector.with_nms(NmsSettings(score=0.95))
    assert strict.session is detector.session and detector.nms == NmsSettings()
    assert [d["class_name"] for d in strict.detect(image)] == ["cat"]
    assert len(detector.detect(image)) == 3  # the original keeps its settings
    one = detector.with_nms(NmsSettings(score=0.01, max_per_class=1)).detect(image)
    assert len({d["class_id"] for d in one}) == len(one) > 3
    assert detector.with_nms(NmsSettings()) is detector
    with pytest.raises(YoloError, match="keeps at most 100 boxes per class"):
        detector.with_nms(NmsSettings(max_per_class=101))
    with pytest.raises(YoloError, match="need an exported model"):
        Detector(open_model(tiny_model)).with_nms(NmsSettings(score=0.5))
