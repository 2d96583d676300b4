"""yolo3.export_contract: the JSON round trip, and files that are not ours or are damaged."""

from __future__ import annotations

import json

import pytest

from yolo3.errors import YoloError
from yolo3.export_contract import DETECTION, FORMAT_VERSION, OUTPUTS, RAW, ExportInfo


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


def test_a_detection_graph_without_metadata_takes_the_files_given(tmp_path):
    """As export.py writes every detection graph: up to EXPORT_MAX_PER_CLASS boxes per
    class, so evaluation (100 per class) runs a stripped file too; the input size comes
    from the graph's images input."""
    from yolo3.export_contract import DETECTION_INPUTS, DETECTION_OUTPUTS, EXPORT_MAX_PER_CLASS

    classes = tmp_path / "classes.txt"
    classes.write_text("a\nb\n")
    inputs = {"images": [1, 320, 416, 3], "letterboxes": [1, 6], "score_threshold": [],
              "iou_threshold": []}
    assert list(inputs) == list(DETECTION_INPUTS)
    made = ExportInfo.from_file(None, "x.tflite", classes, inputs=inputs,
                                outputs=DETECTION_OUTPUTS)
    assert made.class_names == ["a", "b"] and made.input_size == (320, 416)
    assert made.max_per_class_ceiling == EXPORT_MAX_PER_CLASS == 100
    with pytest.raises(YoloError, match="give --classes_path"):
        ExportInfo.from_file(None, "x.tflite", inputs=inputs, outputs=DETECTION_OUTPUTS)
    with pytest.raises(YoloError, match="not a detection graph"):
        ExportInfo.from_file(None, "x.tflite", classes, inputs={"input": [1, 416, 416, 3]},
                             outputs=["conv_15"])


@pytest.mark.parametrize("change, phrase", [
    ({"input_size": "416"}, "'input_size' must be list, not str"),
    ({"input_size": [0, 0]}, "positive multiples of 32"),
    ({"input_size": [416]}, "give two numbers"),
    ({"input_size": [8192, 8192]}, "at most 4096"),
    ({"anchors": [[10.0, 14.0], [23.0]]}, "'anchors' must be [width, height] pairs"),
    ({"anchors": [[10.0, -1], [23.0, 27.0]]}, "'anchors' must be [width, height] pairs"),
    ({"anchors": [[10.0, 10**400], [23.0, 27.0]]}, "'anchors' must be [width, height] pairs"),
    ({"masks": [[2], [0]]}, "'masks' must be lists of anchor indices from 0 to 1"),
    ({"masks": [["1"], [0]]}, "'masks' must be lists of anchor indices"),
    ({"scale_x_y": [2.0]}, "'scale_x_y' must hold one positive number per head"),
    ({"nms": {}}, "'nms' needs 'score'"),
    ({"nms": {"score": 0.3, "iou": 0.45}}, "'nms' needs 'max_per_class'"),
    ({"nms": {"score": 0.3, "iou": 0.45, "max_per_class": 10}}, "'class_agnostic'"),
    ({"nms": {"score": "high", "iou": 0.45, "max_per_class": 1, "class_agnostic": False}},
     "'nms' needs 'score' between 0 and 1"),
    ({"class_names": []}, "'class_names' must be a non-empty list"),
    ({"class_names": [1, 2]}, "'class_names' must be a non-empty list"),
    ({"graph": "other"}, "'graph' must be"),
    ({"letter_box": "yes"}, "'letter_box' must be bool"),
    ({"graph_max_per_class": -1}, "must not be negative"),
    ({"surprise": 1}, "unknown field 'surprise'"),
])
def test_damaged_fields_are_named(change, phrase):
    values = {**json.loads(info().to_json()), **change}
    with pytest.raises(YoloError) as refused:
        ExportInfo.from_json(json.dumps(values), "f.onnx")
    assert str(refused.value).startswith("f.onnx: its yolo3 metadata is damaged: ")
    assert phrase in str(refused.value)


@pytest.mark.parametrize("text", ["[]", "null", "[" * 100_000, '"text"'])
def test_metadata_that_is_not_an_object(text):
    with pytest.raises(YoloError, match="f.onnx: its yolo3 metadata is damaged"):
        ExportInfo.from_json(text, "f.onnx")


@pytest.mark.parametrize("shape, ok", [
    ([1, 320, 416, 3], True), (["N", 320, 416, 3], True), ([None, None, None, 3], True),
    ([-1, 320, 416, 3], True), ([1, 416, 416, 3], False), ([1, 320, 320, 3], False),
    ([1, 320, 416], False), (None, False),
])
def test_the_graph_input_must_fit_the_metadata(shape, ok):
    if ok:
        info().check_graph_input("f.onnx", shape)
    else:
        with pytest.raises(YoloError, match="f.onnx: its"):
            info().check_graph_input("f.onnx", shape)
