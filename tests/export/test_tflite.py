"""yolo3.export.tflite through export.py: the detection graph as TFLite gives the Keras
detector's detections in LiteRT's interpreter (which has no Flex delegate), from builtin
ops only; the metadata travels inside the file; fp16 halves it."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from helpers import (
    EXPORT_PARITY_NMS,
    SAMPLE,
    assert_export_matches_keras,
    assert_same_detections,
    run_script,
)
from yolo3.export.metadata import DETECTION, ExportInfo
from yolo3.export.tflite import finish, read_metadata
from yolo3.inference.detector import open_model
from yolo3.inference.tflite_detector import TfliteDetector


def operators(path) -> list[str]:
    """The builtin names of a TFLite file's operators (CUSTOM for anything else)."""
    from ai_edge_litert import schema_py_generated as schema

    names = {value: name for name, value in vars(schema.BuiltinOperator).items()
             if not name.startswith("_")}
    model = schema.Model.GetRootAs(path.read_bytes(), 0)
    codes = [model.OperatorCodes(i) for i in range(model.OperatorCodesLength())]
    return [names[max(code.BuiltinCode(), code.DeprecatedBuiltinCode())] for code in codes]


@pytest.mark.parametrize("nms", EXPORT_PARITY_NMS)
def test_detection_graph_matches_the_keras_detector(tiny_model, tiny_tflite, nms):
    assert_export_matches_keras(lambda nms: TfliteDetector(tiny_tflite, nms=nms), tiny_model,
                                **nms)


def test_builtin_operators_only(tiny_tflite):
    found = set(operators(tiny_tflite))
    assert "CUSTOM" not in found and not any(name.startswith("FLEX") for name in found)
    assert {"CONV_2D", "NON_MAX_SUPPRESSION_V4", "TOPK_V2"} <= found


def test_the_file_carries_its_metadata(tiny_model, tiny_tflite):
    info = ExportInfo.from_json(read_metadata(tiny_tflite.read_bytes()), "tflite")
    loaded = open_model(tiny_model)
    assert info.graph == DETECTION and info.input_size == (416, 416)
    assert info.class_names == loaded.class_names
    assert info.anchors == loaded.config.anchors.tolist()
    assert info.cfg == loaded.config.text and info.source == tiny_model.name
    rewritten = finish(tiny_tflite.read_bytes(), b'{"changed": 1}')  # one entry, replaced
    assert json.loads(read_metadata(rewritten)) == {"changed": 1}
    assert read_metadata(rewritten, "other") is None


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
    info = ExportInfo.from_json(read_metadata(half.read_bytes()), str(half))
    assert info.extra["quantization"] == {"kind": "fp16"}
    image = Image.open(SAMPLE)
    assert_same_detections(TfliteDetector(half).detect(image),
                           TfliteDetector(tiny_tflite).detect(image), 1e-2)
