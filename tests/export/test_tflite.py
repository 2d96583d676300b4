"""yolo3.export.tflite through export.py: the detection graph as TFLite gives the Keras
detector's detections in LiteRT's interpreter (which has no Flex delegate), from builtin
ops only; the metadata travels inside the file; fp16 halves it; int8 keeps the
detections."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from helpers import (
    EXPORT_PARITY_NMS,
    SAMPLE,
    assert_close_detections,
    assert_export_matches_keras,
    assert_same_detections,
    run_script,
)
from yolo3.export.tflite import finish, operator_kinds
from yolo3.export_contract import DETECTION, ExportInfo, read_tflite_metadata
from yolo3.inference.detector import open_model
from yolo3.inference.tflite_detector import TfliteDetector


@pytest.mark.parametrize("nms", EXPORT_PARITY_NMS)
def test_detection_graph_matches_the_keras_detector(tiny_model, tiny_tflite, nms):
    assert_export_matches_keras(lambda nms: TfliteDetector(tiny_tflite, nms=nms), tiny_model,
                                **nms)


def test_builtin_operators_only(tiny_tflite):
    found = set(operator_kinds(tiny_tflite.read_bytes()))
    assert "CUSTOM" not in found and not any(name.startswith("FLEX") for name in found)
    assert {"CONV_2D", "NON_MAX_SUPPRESSION_V4", "TOPK_V2"} <= found


def test_the_file_carries_its_metadata(tiny_model, tiny_tflite):
    info = ExportInfo.from_json(read_tflite_metadata(tiny_tflite.read_bytes()), "tflite")
    loaded = open_model(tiny_model)
    assert info.graph == DETECTION and info.input_size == (416, 416)
    assert info.class_names == loaded.class_names
    assert info.anchors == loaded.config.anchors.tolist()
    assert info.cfg == loaded.config.text and info.source == tiny_model.name
    rewritten = finish(tiny_tflite.read_bytes(), b'{"changed": 1}')  # one entry, replaced
    assert json.loads(read_tflite_metadata(rewritten)) == {"changed": 1}
    assert read_tflite_metadata(rewritten, "other") is None


def test_export_py_writes_tflite_and_fp16(tmp_path, tiny_model, tiny_tflite):
    from ai_edge_litert import schema_py_generated as schema

    plain, half = tmp_path / "tiny.tflite", tmp_path / "tiny-fp16.tflite"
    result = run_script("export.py", str(tiny_model), str(plain))
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert "TFLite builtins, 416x416, 80 classes" in result.stdout
    result = run_script("export.py", str(tiny_model), str(half), "--format", "tflite",
                        "--quantize", "fp16")
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert half.stat().st_size < 0.6 * plain.stat().st_size
    model = schema.Model.GetRootAs(half.read_bytes(), 0)
    graph = model.Subgraphs(0)
    types = {graph.Tensors(i).Type() for i in range(graph.TensorsLength())}
    assert schema.TensorType.FLOAT16 in types
    info = ExportInfo.from_json(read_tflite_metadata(half.read_bytes()), str(half))
    assert info.extra["quantization"] == {"kind": "fp16"}
    image = Image.open(SAMPLE)
    assert_same_detections(TfliteDetector(half).detect(image),
                           TfliteDetector(tiny_tflite).detect(image), 1e-2)


def test_int8_keeps_the_detections(tmp_path, tiny_model, tiny_tflite, calibration):
    """The network's convolutions read int8 weights (XNNPACK's integer kernels) except
    the two heads; decode and NMS stay float32 (no box is rounded to a quantization
    step); detections close to fp32's."""
    import numpy as np
    from ai_edge_litert import schema_py_generated as schema

    int8 = tmp_path / "tiny-int8.tflite"
    result = run_script("export.py", str(tiny_model), str(int8),
                        "--quantize", "int8", "--calibration", str(calibration))
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert "int8, calibrated on 6 images" in result.stdout
    model = schema.Model.GetRootAs(int8.read_bytes(), 0)
    graph = model.Subgraphs(0)
    kinds = operator_kinds(int8.read_bytes())
    kernels = [graph.Tensors(graph.Operators(i).Inputs(1)).Type()
               for i, kind in enumerate(kinds) if kind == "CONV_2D"]
    assert sorted(kernels).count(schema.TensorType.INT8) == 11
    assert kernels.count(schema.TensorType.FLOAT32) == 2  # yolov3-tiny's heads
    info = ExportInfo.from_json(read_tflite_metadata(int8.read_bytes()), str(int8))
    assert info.extra["quantization"] == {"kind": "int8", "images": 6,
                                          "calibration": str(calibration)}
    image = Image.open(SAMPLE)
    fp32 = TfliteDetector(tiny_tflite).detect(image)
    quantized = TfliteDetector(int8).detect(image)
    assert_close_detections(quantized, fp32)
    steps = np.array([d["box"] for d in quantized]) / (832 / 255)
    assert np.abs(steps - np.round(steps)).max() > 0.05  # boxes are not uint8 levels
