"""yolo3.inference.onnx_detector and yolo3.inference.runtime: exported files behind the
same API, without TensorFlow; their settings checked against the export."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from helpers import REPO, SAMPLE, detect_in_a_fresh_process
from yolo3.defaults import NmsSettings
from yolo3.errors import YoloError
from yolo3.inference.base import cut_per_class
from yolo3.inference.onnx_detector import OnnxDetector


def test_the_onnx_path_never_imports_tensorflow(tiny_onnx):
    detected, modules, _ = detect_in_a_fresh_process(tiny_onnx)
    assert detected == "['cat', 'cup', 'person'] (416, 416)"
    assert modules == "[]"


def test_yolo_options_reach_the_exported_graph(tiny_onnx, tiny_yolo):
    from yolo import YOLO

    image = Image.open(SAMPLE)
    strict = YOLO(model_path=str(tiny_onnx), score=0.95)
    assert [d["class_name"] for d in strict.detect(image)] == ["cat"]
    assert [d["class_name"] for d in strict.detect_batch([image, image])[1]] == ["cat"]
    annotated = strict.detect_image(image)
    assert annotated.size == image.size
    assert np.asarray(strict.anchors).shape == (6, 2)
    assert strict.anchors.tolist() == tiny_yolo.anchors.tolist()


def test_default_settings_are_the_keras_detectors(tiny_onnx, tiny_model):
    """The graph keeps up to 100 boxes per class; the detector's default keeps what the
    Keras detector keeps (20), so the default results are the same."""
    from yolo3.inference.detector import Detector, open_model

    image = Image.open(SAMPLE)
    loose = NmsSettings(score=0.001)
    exported = OnnxDetector(tiny_onnx, nms=loose).detect(image)
    keras = Detector(open_model(tiny_model), nms=loose).detect(image)
    per_class = np.bincount([d["class_id"] for d in exported])
    assert per_class.max() == loose.max_per_class == 20
    assert [d["class_id"] for d in exported] == [d["class_id"] for d in keras]
    assert OnnxDetector(tiny_onnx).nms == NmsSettings()


def test_cutting_each_class_matches_counting_row_by_row():
    rng = np.random.default_rng(0)
    classes = rng.integers(0, 6, (3, 200)).astype(np.int32)
    scores = np.sort(rng.random((3, 200)).astype(np.float32))[:, ::-1].copy()
    boxes = rng.random((3, 200, 4)).astype(np.float32)
    counts = np.array([200, 57, 0])
    b, s, c, n = cut_per_class(boxes, scores, classes, counts, 7)
    for i, count in enumerate(counts):
        seen, rows = {}, []
        for row in range(count):
            seen[classes[i, row]] = seen.get(classes[i, row], 0) + 1
            if seen[classes[i, row]] <= 7:
                rows.append(row)
        assert n[i] == len(rows)
        assert c[i, :n[i]].tolist() == classes[i, rows].tolist()
        assert b[i, :n[i]].tolist() == boxes[i, rows].tolist()


def test_settings_the_export_cannot_honour_are_refused(tiny_onnx, tiny_model):
    with pytest.raises(YoloError, match="exported for 416x416"):
        OnnxDetector(tiny_onnx, (320, 320))
    with pytest.raises(YoloError, match="class_agnostic"):
        OnnxDetector(tiny_onnx, nms=NmsSettings(class_agnostic=True))
    with pytest.raises(YoloError, match="at most 100"):
        OnnxDetector(tiny_onnx, nms=NmsSettings(max_per_class=500))


def test_files_that_are_not_this_projects_exports(tmp_path, tiny_model):
    import onnx

    from yolo3.export.onnx import export_onnx
    from yolo3.inference.detector import open_model

    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"\x08\x07not an onnx model")
    with pytest.raises(YoloError, match="not a readable ONNX model"):
        OnnxDetector(broken)
    with pytest.raises(YoloError, match="no such model file"):
        OnnxDetector(tmp_path / "missing.onnx")
    raw = tmp_path / "raw.onnx"
    export_onnx(open_model(tiny_model), raw, (416, 416), NmsSettings(), raw=True)
    with pytest.raises(YoloError, match="raw head outputs"):
        OnnxDetector(raw)
    proto = onnx.load(str(raw))
    del proto.metadata_props[:]
    bare = tmp_path / "bare.onnx"
    onnx.save(proto, str(bare))
    with pytest.raises(YoloError, match="no yolo3 metadata and is not a detection graph"):
        OnnxDetector(bare, classes_path=REPO / "model_data/coco_classes.txt")


def test_a_detection_graph_without_metadata_runs_with_a_classes_file(tmp_path, tiny_onnx):
    """Like keras-yolo3's files: the classes come from --classes_path."""
    import onnx

    proto = onnx.load(str(tiny_onnx))
    del proto.metadata_props[:]
    stripped = tmp_path / "stripped.onnx"
    onnx.save(proto, str(stripped))
    with pytest.raises(YoloError, match="no yolo3 metadata: give --classes_path"):
        OnnxDetector(stripped)
    classes = REPO / "model_data/coco_classes.txt"
    image = Image.open(SAMPLE)
    detector = OnnxDetector(stripped, classes_path=classes,
                            anchors_path=REPO / "model_data/tiny_yolo_anchors.txt")
    assert detector.input_size == (416, 416) and detector.anchors.shape == (6, 2)
    assert detector.detect(image) == OnnxDetector(tiny_onnx).detect(image)
    assert OnnxDetector(stripped, classes_path=classes).anchors.shape == (0, 2)


def test_cutting_each_class_keeps_its_best_rows():
    boxes = np.arange(2 * 5 * 4, dtype=np.float32).reshape(2, 5, 4)
    scores = np.array([[0.9, 0.8, 0.7, 0.6, 0.0], [0.5, 0.4, 0, 0, 0]], np.float32)
    classes = np.array([[1, 1, 2, 1, 0], [3, 3, 0, 0, 0]], np.int32)
    counts = np.array([4, 2])
    b, s, c, n = cut_per_class(boxes, scores, classes, counts, 1)
    assert n.tolist() == [2, 1]
    assert c[0, :2].tolist() == [1, 2] and s[0, :2].tolist() == pytest.approx([0.9, 0.7])
    assert b[0, 1].tolist() == boxes[0, 2].tolist() and c[1, 0] == 3
