"""A model as ONNX: the whole detection graph (the TensorFlow detector's own graph,
converted by tf2onnx) or, with ``raw``, only the network's head outputs.

Detection graph inputs: ``images`` uint8 (B, h, w, 3) letterboxed as inference does,
``letterboxes`` float32 (B, 6) (yolo3.images.Letterbox.PACKED), and the
``score_threshold`` / ``iou_threshold`` scalars; outputs ``boxes``, ``scores``,
``classes``, ``counts`` (see yolo3.export_contract). NMS keeps up to ``max_per_class``
boxes per class; runtimes keep fewer by cutting each class's list (greedy NMS keeps the
same first boxes). Raw graph: ``input`` float32 RGB in [0, 1] → one output per head,
named after its convolution.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from yolo3.defaults import NmsSettings
from yolo3.errors import YoloError
from yolo3.export_contract import (
    DETECTION,
    DETECTION_OUTPUTS,
    EXPORT_MAX_PER_CLASS,
    KEY,
    RAW,
    ExportInfo,
)
from yolo3.files import atomic_output
from yolo3.formats import DEFAULT_OPSET, FP16, ExportOptions


def export_info(loaded, input_hw: tuple[int, int], nms: NmsSettings, graph: str,
                source: str) -> ExportInfo:
    """The metadata of ``loaded`` exported with default settings ``nms``; detection graphs
    keep up to EXPORT_MAX_PER_CLASS boxes per class whatever nms.max_per_class is."""
    config = loaded.config
    return ExportInfo(
        graph=graph, class_names=list(loaded.class_names), input_size=tuple(input_hw),
        anchors=[[float(v) for v in a] for a in config.anchors],
        masks=[list(h.mask) for h in config.heads],
        scale_x_y=[float(h.scale_x_y) for h in config.heads],
        nms={"score": nms.score, "iou": nms.iou, "max_per_class": nms.max_per_class,
             "class_agnostic": nms.class_agnostic},
        source=source, cfg=config.text,
        graph_max_per_class=max(nms.max_per_class, EXPORT_MAX_PER_CLASS),
        letter_box=config.letter_box, new_coords=config.new_coords)


def export_onnx(loaded, output: Path, input_hw: tuple[int, int], nms: NmsSettings,
                raw: bool = False, opset: int = DEFAULT_OPSET, source: str = "",
                calibration: list[tuple] | None = None,
                calibration_source: str = "", float16: bool = False) -> ExportInfo:
    """Write ``loaded`` (a yolo3.inference.detector.LoadedModel) to ``output`` as ONNX,
    atomically; returns the metadata it carries. ``calibration``: (images, letterboxes)
    batches as DetectorBase.prepare makes them — the detection graph's convolutions are
    then quantized to int8; ``float16``: the network in float16 (yolo3.export.quantize)."""
    proto, info = onnx_model(loaded, input_hw, nms, raw, opset, source)
    if calibration is not None:
        from yolo3.export.quantize import quantize_int8

        info = replace(info, extra={**info.extra, "quantization": {
            "kind": "int8", "images": sum(len(batch[0]) for batch in calibration),
            "calibration": calibration_source}})
        _set_metadata(proto, info)
        with atomic_output(Path(output)) as tmp:
            quantize_int8(proto, tmp, calibration, nms)
            check_loads(tmp, output)
        return info
    if float16:
        from yolo3.export.quantize import to_float16

        info = replace(info, extra={**info.extra, "quantization": {"kind": "fp16"}})
        proto = to_float16(proto)
        _set_metadata(proto, info)
    with atomic_output(Path(output)) as tmp:
        tmp.write_bytes(proto.SerializeToString())
        check_loads(tmp, output)
    return info


def check_loads(path: Path, output) -> None:
    """YoloError (and so no file at ``output``) unless ONNX Runtime, what every ONNX
    consumer here runs, opens the written file: an opset or operator it does not support
    is caught before the file is reported as written."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3  # its own warnings are not the user's concern here
    try:
        onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as error:  # ONNX Runtime raises its own exception types
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise YoloError(f"the ONNX file for {output} does not load in ONNX Runtime "
                        f"({first[:300]}); nothing written") from None


def write(loaded, output: Path, input_hw: tuple[int, int], nms: NmsSettings,
          options: ExportOptions) -> str:
    """export.py's ONNX export (yolo3.formats): :func:`export_onnx` with ``options``' raw,
    opset and quantization; returns the line export.py prints."""
    info = export_onnx(loaded, output, input_hw, nms, raw=options.raw,
                       opset=options.opset or DEFAULT_OPSET, source=options.source,
                       calibration=options.calibration,
                       calibration_source=options.calibration_source,
                       float16=options.quantize == FP16)
    what = "raw head outputs" if options.raw else "detection graph"
    return (f"Wrote {output} ({what}{options.precision()}, {input_hw[0]}x{input_hw[1]}, "
            f"{len(info.class_names)} classes).")


def onnx_model(loaded, input_hw: tuple[int, int], nms: NmsSettings, raw: bool, opset: int,
               source: str):
    """The ONNX ModelProto of ``loaded`` and its metadata (see :func:`export_onnx`)."""
    import tensorflow as tf
    import tf2onnx

    from yolo3.inference.detector import Detector, detection_signature
    from yolo3.model.build import fold_batchnorm

    graph_nms = replace(nms, max_per_class=max(nms.max_per_class, EXPORT_MAX_PER_CLASS))
    if raw:  # BatchNorm folded: fewer ops; the input stays RGB in [0, 1]
        model = fold_batchnorm(loaded.model, loaded.config, input_hw)
        function = tf.function(lambda images: model(images, training=False))
        signature = [tf.TensorSpec((None, *input_hw, 3), tf.float32, name="input")]
        names = [loaded.config.layers[h.conv_index].name for h in loaded.config.heads]
    else:
        function = tf.function(Detector(loaded, input_hw, graph_nms)._detect_graph)
        signature = detection_signature(input_hw)
        names = list(DETECTION_OUTPUTS)
    proto, _ = tf2onnx.convert.from_function(function, input_signature=signature,
                                             opset=opset)
    _rename(proto, [i.name for i in proto.graph.input], [s.name for s in signature])
    _rename(proto, [o.name for o in proto.graph.output], names)
    info = export_info(loaded, input_hw, nms, RAW if raw else DETECTION, source)
    _set_metadata(proto, info)
    proto.producer_name = "keras-yolo3 toolkit export.py"
    return proto, info


def _set_metadata(proto, info: ExportInfo) -> None:
    kept = [p for p in proto.metadata_props if p.key != KEY]
    del proto.metadata_props[:]
    proto.metadata_props.extend(kept)
    entry = proto.metadata_props.add()
    entry.key, entry.value = KEY, info.to_json()


def _rename(proto, old: list[str], new: list[str]) -> None:
    """Rename graph inputs or outputs (tf2onnx names them after TensorFlow tensors)."""
    mapping = dict(zip(old, new))
    for value in (*proto.graph.input, *proto.graph.output):
        value.name = mapping.get(value.name, value.name)
    for node in proto.graph.node:
        node.input[:] = [mapping.get(n, n) for n in node.input]
        node.output[:] = [mapping.get(n, n) for n in node.output]
