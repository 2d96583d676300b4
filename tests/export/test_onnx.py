"""yolo3.export.onnx: the exported detection graph gives the Keras detector's detections
in ONNX Runtime; the raw export equals the Keras heads, in ONNX Runtime and OpenCV DNN;
the metadata travels inside the file."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from helpers import (
    EXPORT_PARITY_NMS,
    SAMPLE,
    assert_export_matches_keras,
    assert_same_detections,
    relative_error,
)
from yolo3.defaults import NmsSettings
from yolo3.export.onnx import export_onnx
from yolo3.export_contract import DETECTION, KEY, RAW, ExportInfo
from yolo3.images import letterbox
from yolo3.inference.detector import Detector, open_model
from yolo3.inference.onnx_detector import OnnxDetector


@pytest.mark.parametrize("nms", EXPORT_PARITY_NMS)
def test_detection_graph_matches_the_keras_detector(tiny_model, tiny_onnx, nms):
    assert_export_matches_keras(lambda nms: OnnxDetector(tiny_onnx, nms=nms), tiny_model,
                                **nms)


def test_the_file_carries_its_metadata(tiny_model, tiny_onnx):
    import onnx

    proto = onnx.load(str(tiny_onnx))
    entries = {p.key: p.value for p in proto.metadata_props}
    info = ExportInfo.from_json(entries[KEY], "test")
    loaded = open_model(tiny_model)
    assert info.graph == DETECTION and info.class_names == loaded.class_names
    assert info.input_size == (416, 416) and info.source == tiny_model.name
    assert info.anchors == loaded.config.anchors.tolist()
    assert info.masks == [list(h.mask) for h in loaded.config.heads] == [[3, 4, 5], [1, 2, 3]]
    assert info.scale_x_y == [1.0, 1.0]
    assert info.cfg == loaded.config.text
    assert [i.name for i in proto.graph.input] == ["images", "letterboxes", "score_threshold",
                                                   "iou_threshold"]
    assert [o.name for o in proto.graph.output] == ["boxes", "scores", "classes", "counts"]
    detector = OnnxDetector(tiny_onnx)
    assert detector.nms == NmsSettings(0.3, 0.45, 20, False)
    assert info.graph_max_per_class == 100
    assert detector.input_size == (416, 416) and detector.num_classes == 80


def test_raw_export_equals_the_keras_heads_in_onnxruntime_and_opencv(tmp_path, tiny_model):
    import cv2
    import onnxruntime

    loaded = open_model(tiny_model)
    path = tmp_path / "raw.onnx"
    info = export_onnx(loaded, path, (416, 416), NmsSettings(), raw=True)
    assert info.graph == RAW
    canvas, _ = letterbox(Image.open(SAMPLE).convert("RGB"), (416, 416))
    pixels = canvas[None].astype(np.float32) / 255.0
    expected = [np.asarray(h) for h in loaded.model(pixels)]
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [o.name for o in session.get_outputs()] == ["conv_15", "conv_22"]
    for got, want in zip(session.run(None, {"input": pixels}), expected):
        assert relative_error(got, want) <= 1e-4
    net = cv2.dnn.readNetFromONNX(str(path))
    net.setInput(pixels)
    for got, want in zip(net.forward(["conv_15", "conv_22"]), expected):
        assert relative_error(got, want) <= 1e-4


def test_a_trained_model_with_scale_x_y_exports_its_decode(tmp_path, tiny_model):
    """Exported models decode as the cfg says: scale_x_y 2 (the modern recipe) included."""
    from yolo3.darknet import with_classes
    from yolo3.inference.detector import LoadedModel
    from yolo3.model.build import build_model

    base = open_model(tiny_model)
    config = with_classes(base.config, 80, scale_x_y=2.0)
    model = build_model(config, (416, 416))
    model.set_weights(base.model.get_weights())
    loaded = LoadedModel(model, config, base.class_names)
    path = tmp_path / "scaled.onnx"
    info = export_onnx(loaded, path, (416, 416), NmsSettings())
    assert info.scale_x_y == [2.0, 2.0]
    image = Image.open(SAMPLE)
    nms = NmsSettings(score=0.2)
    assert_same_detections(OnnxDetector(path, nms=nms).detect(image),
                           Detector(loaded, (416, 416), nms).detect(image))


def test_a_file_onnx_runtime_cannot_open_is_not_written(tmp_path, tiny_onnx, monkeypatch):
    """A graph ONNX Runtime refuses (here: an opset it does not know) never lands at the
    output, and an earlier file there stays."""
    import onnx

    from yolo3.errors import YoloError
    from yolo3.export import onnx as onnx_export

    proto = onnx.load(str(tiny_onnx))
    info = ExportInfo.from_json(next(p.value for p in proto.metadata_props if p.key == KEY),
                                "tiny")
    for entry in proto.opset_import:
        if entry.domain in ("", "ai.onnx"):
            entry.version = 99
    monkeypatch.setattr(onnx_export, "onnx_model", lambda *args: (proto, info))
    output = tmp_path / "out.onnx"
    output.write_bytes(b"an earlier export")
    with pytest.raises(YoloError, match="does not load in ONNX Runtime.*nothing written"):
        export_onnx(None, output, (416, 416), NmsSettings())
    assert output.read_bytes() == b"an earlier export"
    assert [p.name for p in tmp_path.iterdir()] == ["out.onnx"]
