"""A model as TFLite (LiteRT): the whole detection graph, TFLite builtin ops only, so
``ai-edge-litert``'s interpreter runs it without the Flex delegate (phones, edge boxes,
servers without TensorFlow).

The TensorFlow detector's own graph (yolo3.inference.detector.Detector) for a batch of
one image, with its NMS built from TFLite builtins
(yolo3.inference.postprocess.single_image_non_max_suppression). Signature
``serving_default``: the ONNX export's inputs (``images`` uint8 (1, h, w, 3) letterboxed
as inference does, ``letterboxes`` float32 (1, 6), ``score_threshold``,
``iou_threshold``) and outputs (``boxes`` (1, K, 4) in original-image pixels, ``scores``,
``classes``, ``counts``). The metadata (yolo3.export_contract) is the model's ``yolo3``
metadata entry. ``float16``: weights stored in float16 (half the file; CPU kernels
compute in float32).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from yolo3.defaults import NmsSettings
from yolo3.errors import YoloError, first_line
from yolo3.export_contract import (
    DETECTION,
    DETECTION_OUTPUTS,
    EXPORT_MAX_PER_CLASS,
    KEY,
    ExportInfo,
    flatbuffer_text,
)
from yolo3.files import atomic_output
from yolo3.formats import FP16, ExportOptions


def export_tflite(loaded, output: Path, input_hw: tuple[int, int], nms: NmsSettings,
                  source: str = "", float16: bool = False,
                  calibration: list[tuple] | None = None,
                  calibration_source: str = "") -> ExportInfo:
    """Write ``loaded`` (a yolo3.inference.detector.LoadedModel) to ``output`` as TFLite,
    atomically; returns the metadata it carries. ``calibration``: (images, letterboxes)
    batches of one image as DetectorBase.prepare makes them — the network is then
    quantized to int8 (see :func:`_quantize_int8`)."""
    from yolo3.export.onnx import export_info

    graph_nms = replace(nms, max_per_class=max(nms.max_per_class, EXPORT_MAX_PER_CLASS))
    converter = _converter(loaded, input_hw, graph_nms)
    info = export_info(loaded, input_hw, nms, DETECTION, source)
    if calibration is not None:
        flatbuffer = _quantize_int8(converter, _run(converter.convert), calibration, nms)
        info = replace(info, extra={**info.extra, "quantization": {
            "kind": "int8", "images": len(calibration), "calibration": calibration_source}})
    else:
        if float16:
            import tensorflow as tf

            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter.target_spec.supported_types = [tf.float16]
            info = replace(info, extra={**info.extra, "quantization": {"kind": "fp16"}})
        flatbuffer = _run(converter.convert)
    with atomic_output(Path(output)) as tmp:
        tmp.write_bytes(finish(flatbuffer, info.to_json().encode(), DETECTION_OUTPUTS))
    return info


def write(loaded, output: Path, input_hw: tuple[int, int], nms: NmsSettings,
          options: ExportOptions) -> str:
    """export.py's TFLite export (yolo3.formats): :func:`export_tflite` with ``options``'
    quantization; returns the line export.py prints."""
    info = export_tflite(loaded, output, input_hw, nms, source=options.source,
                         float16=options.quantize == FP16, calibration=options.calibration,
                         calibration_source=options.calibration_source)
    return (f"Wrote {output} (detection graph, one image per call, TFLite builtins"
            f"{options.precision()}, {input_hw[0]}x{input_hw[1]}, "
            f"{len(info.class_names)} classes).")


def _converter(loaded, input_hw: tuple[int, int], nms: NmsSettings):
    """A TFLite converter over the detector's single-image graph, builtin ops only."""
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2,
    )

    from yolo3.inference.detector import Detector, detection_signature

    detector = Detector(loaded, input_hw, nms, single_image_nms=True)
    signature = [tf.TensorSpec((1, *spec.shape[1:]), spec.dtype, name=spec.name)
                 if spec.shape.rank else spec for spec in detection_signature(input_hw)]
    function = tf.function(detector._detect_graph,
                           input_signature=signature).get_concrete_function()
    # frozen first: Keras variables would otherwise stay resource variables, which the
    # converter leaves uninitialised (a file without weights)
    converter = tf.lite.TFLiteConverter.from_concrete_functions(
        [convert_variables_to_constants_v2(function)], tf.Module())
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    return converter


def _run(convert) -> bytes:
    """``convert()``, a conversion, with MLIR's notices, the calibration interpreter's
    deprecation warning and absl's per-layer log kept off the terminal."""
    import warnings

    from absl import logging as absl_logging

    from yolo3.cli import parked_stderr

    level = absl_logging.get_verbosity()
    try:
        with parked_stderr(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            absl_logging.set_verbosity(absl_logging.ERROR)
            return bytes(convert())
    except Exception as error:  # the converter raises its own ConverterError
        raise YoloError(f"the TFLite converter failed: {first_line(error)}") from None
    finally:
        absl_logging.set_verbosity(level)


def _quantize_int8(converter, float_model: bytes, calibration: list[tuple],
                   nms: NmsSettings) -> bytes:
    """The graph with the network's convolutions in int8 (XNNPACK's integer kernels):
    weights per channel, activations per tensor, ranges from ``calibration``. As for ONNX
    (yolo3.export.quantize), only ops that feed a convolution are quantized, and not the
    head convolutions (their raw outputs are box offsets in cells); decode, letterbox
    undoing and NMS stay float32: quantized, their ranges depend on image sizes."""
    import numpy as np
    import tensorflow as tf

    def batches():
        for images, letterboxes in calibration:
            yield {"images": np.ascontiguousarray(images, np.uint8),
                   "letterboxes": np.ascontiguousarray(letterboxes, np.float32),
                   "score_threshold": np.float32(nms.score),
                   "iou_threshold": np.float32(nms.iou)}

    float_ops, float_types = ops_outside_the_network(float_model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = batches
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8,
                                           tf.lite.OpsSet.TFLITE_BUILTINS]
    options = tf.lite.experimental.QuantizationDebugOptions(
        denylisted_ops=float_types, denylisted_nodes=float_ops)
    # the debugger is TensorFlow's public way to keep chosen ops in float
    return _run(lambda: tf.lite.experimental.QuantizationDebugger(
        converter=converter, debug_dataset=batches,
        debug_options=options).get_nondebug_quantized_model())


def ops_outside_the_network(flatbuffer: bytes) -> tuple[list[str], list[str]]:
    """(the output names of a float TFLite graph's ops that int8 must leave in float —
    all but the convolutions and the ops feeding them, and the head convolutions, whose
    outputs reach no other convolution —, the op types found only among them)."""
    from ai_edge_litert import schema_py_generated as schema

    model = schema.Model.GetRootAs(flatbuffer, 0)
    graph = model.Subgraphs(0)
    ops = [graph.Operators(i) for i in range(graph.OperatorsLength())]
    kinds = operator_kinds(flatbuffer)
    inputs = [[t for t in op.InputsAsNumpy().tolist() if t >= 0] for op in ops]
    outputs = [op.OutputsAsNumpy().tolist() for op in ops]
    producer = {t: i for i, outs in enumerate(outputs) for t in outs}
    consumers: dict[int, list[int]] = {}
    for i, ins in enumerate(inputs):
        for t in ins:
            consumers.setdefault(t, []).append(i)
    convolutions = [i for i, kind in enumerate(kinds) if kind == "CONV_2D"]
    network, stack = set(), list(convolutions)
    while stack:  # backwards from every convolution
        i = stack.pop()
        if i not in network:
            network.add(i)
            stack.extend(producer[t] for t in inputs[i] if t in producer)

    def reaches_a_convolution(start: int) -> bool:
        seen, stack = set(), list(outputs[start])
        while stack:
            for i in consumers.get(stack.pop(), []):
                if kinds[i] == "CONV_2D":
                    return True
                if i not in seen:
                    seen.add(i)
                    stack.extend(outputs[i])
        return False

    heads = {i for i in convolutions if not reaches_a_convolution(i)}
    outside = [i for i in range(len(ops)) if i not in network or i in heads]
    inside_types = {kinds[i] for i in range(len(ops)) if i not in outside}
    tensor_name = [graph.Tensors(outputs[i][0]).Name().decode() for i in outside]
    return tensor_name, sorted({kinds[i] for i in outside} - inside_types)


def operator_kinds(flatbuffer: bytes) -> list[str]:
    """The builtin name (CONV_2D, …; CUSTOM for anything else) of each operator of a TFLite
    flatbuffer's main graph, in order. TensorFlow-free."""
    from ai_edge_litert import schema_py_generated as schema

    names = {value: name for name, value in vars(schema.BuiltinOperator).items()
             if not name.startswith("_")}
    model = schema.Model.GetRootAs(flatbuffer, 0)
    codes = [model.OperatorCodes(i) for i in range(model.OperatorCodesLength())]
    graph = model.Subgraphs(0)
    return [names[max(codes[op.OpcodeIndex()].BuiltinCode(),
                      codes[op.OpcodeIndex()].DeprecatedBuiltinCode())]
            for op in (graph.Operators(i) for i in range(graph.OperatorsLength()))]


def finish(flatbuffer: bytes, text: bytes, output_names=(), key: str = KEY) -> bytes:
    """``flatbuffer`` with ``text`` as its metadata entry ``key`` (replacing one) and its
    signature's outputs named ``output_names`` in order (the converter names a frozen
    function's outputs output_0, output_1, …)."""
    from ai_edge_litert import schema_py_generated as schema
    from ai_edge_litert.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model_from_bytearray(bytearray(flatbuffer))
    for signature in model.signatureDefs or []:
        by_index = {flatbuffer_text(o.name): o for o in signature.outputs}
        for i, name in enumerate(output_names):
            by_index[f"output_{i}"].name = name
    buffer = schema.BufferT()
    buffer.data = list(text)
    model.buffers.append(buffer)
    entry = schema.MetadataT()
    entry.name, entry.buffer = key, len(model.buffers) - 1
    model.metadata = [m for m in (model.metadata or []) if flatbuffer_text(m.name) != key] + [entry]
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))
