"""Detection with an ONNX file written by export.py, in OpenVINO (optional: installed
separately), without TensorFlow: the same graph, metadata and results as OnnxDetector.

OpenVINO's CPU plugin computes in bfloat16 by default on CPUs with bf16 units (AVX512-BF16
or AMX): about 0.55× ONNX Runtime's fp32 time on this project's benchmark machine, scores
within about 1e-2. ``precision="f32"`` asks for float32 throughout.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from yolo3.defaults import NmsSettings
from yolo3.errors import YoloError
from yolo3.export_contract import DETECTION_OUTPUTS, KEY, ExportInfo
from yolo3.inference.base import DetectorBase

PRECISIONS = ("bf16", "f32")


def _import_openvino():
    try:
        import openvino
    except ImportError:
        raise YoloError("--runtime openvino needs OpenVINO, which is optional: "
                        "pip install openvino") from None
    return openvino


def _pixels_as_float_input(model, openvino):
    """Make the uint8 ``images`` input a float32 parameter fed through OpenVINO's own
    uint8 preprocessing. Read as exported (uint8 → Convert), its low-precision passes take
    the Convert for a dequantization and leave the first convolution's bias unfused:
    measured 1.3 ms of 9 on yolov3-tiny-416."""
    from openvino import preprocess

    images = next(p for p in model.get_parameters()
                  if "images" in p.output(0).get_names())
    consumers = list(images.output(0).get_target_inputs())
    convert = consumers[0].get_node() if len(consumers) == 1 else None
    if convert is None or convert.get_type_name() != "Convert" or \
            convert.get_output_element_type(0) != openvino.Type.f32:
        return model
    floats = openvino.opset13.parameter(images.get_partial_shape(), openvino.Type.f32)
    for target in list(convert.output(0).get_target_inputs()):
        target.replace_source_output(floats.output(0))
    floats.output(0).get_tensor().set_names({"images"})
    others = [p for p in model.get_parameters() if p is not images]
    rebuilt = openvino.Model(model.get_results(), [floats, *others], model.get_friendly_name())
    steps = preprocess.PrePostProcessor(rebuilt)
    steps.input("images").tensor().set_element_type(openvino.Type.u8)
    return steps.build()


class OpenVinoDetector(DetectorBase):
    """The detector API over an exported detection graph, run by OpenVINO on the CPU.

    Settings as OnnxDetector's; ``precision`` None: the CPU plugin's default (bf16 where
    the CPU has bf16 units, else f32), or one of PRECISIONS.
    """

    def __init__(self, path: str | Path, input_size=None, nms: NmsSettings | None = None,
                 precision: str | None = None, classes_path=None, anchors_path=None):
        openvino = _import_openvino()
        path = Path(path)
        if not path.is_file():
            raise YoloError(f"{path}: no such model file")
        core = openvino.Core()
        try:
            model = core.read_model(str(path))
        except Exception as error:  # OpenVINO raises RuntimeError and its own types
            first = (str(error).strip().splitlines() or [type(error).__name__])[0]
            raise YoloError(f"{path} is not a readable ONNX model ({first[:200]})") from None
        text = (model.get_rt_info(["framework", KEY]).astype(str)
                if model.has_rt_info(["framework", KEY]) else None)
        inputs = {p.output(0).get_any_name(): [d.get_length() if d.is_static else None
                                               for d in p.get_partial_shape()]
                  for p in model.get_parameters()}
        info = ExportInfo.from_file(text, str(path), classes_path, anchors_path,
                                    inputs=inputs,
                                    outputs=[o.get_any_name() for o in model.outputs])
        self.init_from_export(info, str(path), input_size, nms)
        config = {"PERFORMANCE_HINT": "LATENCY"}
        if precision is not None:
            if precision not in PRECISIONS:
                raise YoloError(f"precision {precision}: one of {', '.join(PRECISIONS)}")
            config["INFERENCE_PRECISION_HINT"] = precision
        compiled = core.compile_model(_pixels_as_float_input(model, openvino), "CPU", config)
        self.request = compiled.create_infer_request()
        self.outputs = [compiled.output(name) for name in DETECTION_OUTPUTS]

    def run(self, arrays: np.ndarray, letterboxes: np.ndarray):
        results = self.request.infer(self.graph_inputs(arrays, letterboxes))
        boxes, scores, classes, counts = (np.array(results[o]) for o in self.outputs)
        return self.within_class_limit(boxes, scores, classes.astype(np.int32),
                                       counts.astype(np.int32))
