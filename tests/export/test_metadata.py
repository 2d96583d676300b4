"""yolo3.export.metadata: the JSON round trip, and files that are not ours or are damaged."""

from __future__ import annotations

import json

import pytest

from yolo3.errors import YoloError
from yolo3.export.metadata import DETECTION, FORMAT_VERSION, OUTPUTS, RAW, ExportInfo


def info(graph=DETECTION):
    return ExportInfo(graph=graph, class_names=["a", "b"], input_size=(320, 416),
                      anchors=[[10.0, 14.0], [23.0, 27.0]], masks=[[1], [0]],
                      scale_x_y=[2.0, 2.0], nms={"score": 0.3, "iou": 0.45,
                                                 "max_per_class": 100,
                                                 "class_agnostic": False},
                      source="m.h5", cfg="[net]\n")


@pytest.mark.parametrize("graph", [DETECTION, RAW])
def test_round_trip_describes_the_outputs(graph):
    text = info(graph).to_json()
    back = ExportInfo.from_json(text, "f.onnx")
    assert back.input_size == (320, 416) and back.class_names == ["a", "b"]
    assert back.outputs == OUTPUTS[graph] and back.format_version == FORMAT_VERSION
    assert json.loads(text)["letterbox"].startswith("aspect ratio kept")


def test_missing_damaged_and_newer_metadata():
    with pytest.raises(YoloError, match="f.onnx carries no yolo3 metadata"):
        ExportInfo.from_json(None, "f.onnx")
    with pytest.raises(YoloError, match="damaged"):
        ExportInfo.from_json("{not json", "f.onnx")
    with pytest.raises(YoloError, match="damaged"):
        ExportInfo.from_json(json.dumps({"graph": DETECTION}), "f.onnx")
    newer = json.loads(info().to_json())
    newer["format_version"] = FORMAT_VERSION + 1
    with pytest.raises(YoloError, match="newer version"):
        ExportInfo.from_json(json.dumps(newer), "f.onnx")
