"""A model as TFLite (LiteRT): the whole detection graph, TFLite builtin ops only, so
``ai-edge-litert``'s interpreter runs it without the Flex delegate (phones, edge boxes,
servers without TensorFlow).

The TensorFlow detector's own graph (yolo3.inference.detector.Detector) for a batch of
one image, with its NMS built from TFLite builtins
(yolo3.inference.postprocess.single_image_non_max_suppression). Signature
``serving_default``: the ONNX export's inputs (``images`` uint8 (1, h, w, 3) letterboxed
as inference does, ``letterboxes`` float32 (1, 6), ``score_threshold``,
``iou_threshold``) and outputs (``boxes`` (1, K, 4) in original-image pixels, ``scores``,
``classes``, ``counts``). The metadata (yolo3.export.metadata) is the model's ``yolo3``
metadata entry. ``float16``: weights stored in float16 (half the file; CPU kernels
compute in float32).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from yolo3.defaults import NmsSettings
from yolo3.errors import YoloError
from yolo3.export.metadata import DETECTION, DETECTION_OUTPUTS, KEY, ExportInfo
from yolo3.files import atomic_output

TFLITE_SUFFIX = ".tflite"


def export_tflite(loaded, output: Path, input_hw: tuple[int, int], nms: NmsSettings,
                  source: str = "", float16: bool = False) -> ExportInfo:
    """Write ``loaded`` (a yolo3.inference.detector.LoadedModel) to ``output`` as TFLite,
    atomically; returns the metadata it carries."""
    from yolo3.export.onnx import EXPORT_MAX_PER_CLASS, export_info

    graph_nms = replace(nms, max_per_class=max(nms.max_per_class, EXPORT_MAX_PER_CLASS))
    flatbuffer = _convert(loaded, input_hw, graph_nms, float16)
    info = export_info(loaded, input_hw, nms, DETECTION, source)
    if float16:
        info = replace(info, extra={**info.extra, "quantization": {"kind": "fp16"}})
    with atomic_output(Path(output)) as tmp:
        tmp.write_bytes(finish(flatbuffer, info.to_json().encode(), DETECTION_OUTPUTS))
    return info


def _convert(loaded, input_hw: tuple[int, int], nms: NmsSettings, float16: bool) -> bytes:
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
    if float16:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    from yolo3.cli import parked_stderr

    try:
        with parked_stderr():  # MLIR's notices about TensorFlow's graph
            return converter.convert()
    except Exception as error:  # the converter raises its own ConverterError
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error)
        raise YoloError(f"the TFLite converter failed: {first}") from None


def finish(flatbuffer: bytes, text: bytes, output_names=(), key: str = KEY) -> bytes:
    """``flatbuffer`` with ``text`` as its metadata entry ``key`` (replacing one) and its
    signature's outputs named ``output_names`` in order (the converter names a frozen
    function's outputs output_0, output_1, …)."""
    from ai_edge_litert import schema_py_generated as schema
    from ai_edge_litert.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model_from_bytearray(bytearray(flatbuffer))
    for signature in model.signatureDefs or []:
        by_index = {_name(o.name): o for o in signature.outputs}
        for i, name in enumerate(output_names):
            by_index[f"output_{i}"].name = name
    buffer = schema.BufferT()
    buffer.data = list(text)
    model.buffers.append(buffer)
    entry = schema.MetadataT()
    entry.name, entry.buffer = key, len(model.buffers) - 1
    model.metadata = [m for m in (model.metadata or []) if _name(m.name) != key] + [entry]
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


def read_metadata(flatbuffer: bytes, key: str = KEY) -> str | None:
    """The metadata entry ``key`` of a TFLite flatbuffer, or None. TensorFlow-free."""
    from ai_edge_litert import schema_py_generated as schema

    model = schema.Model.GetRootAs(flatbuffer, 0)
    for i in range(model.MetadataLength()):
        entry = model.Metadata(i)
        if _name(entry.Name()) == key:
            data = model.Buffers(entry.Buffer()).DataAsNumpy()
            empty = isinstance(data, int)  # flatbuffers' answer for an absent vector
            return "" if empty else bytes(data).decode("utf-8", errors="replace")
    return None


def _name(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
