"""Low precision for an exported detection graph: int8 static quantization (ONNX Runtime's
QDQ format) and float16.

The network's convolutions (weights per channel, int8) and the activations between them
(uint8) are quantized, with ranges measured on calibration images letterboxed exactly as inference
letterboxes them; the head convolutions (whose raw outputs become box offsets, multiplied by
the stride), decode, letterbox undoing and NMS stay float32. ONNX Runtime fuses each
quantize → conv → dequantize into an integer convolution (VNNI on this machine's CPUs).

Weights use 7 of their 8 bits (``reduce_range``): CPUs without VNNI multiply uint8 × int8
pairs into saturating int16 sums, so full-range weights give other detections there than on
the machine that measured the file (seen: VOC mAP50 0.527 here, 0.493 on a CI host);
with 7 bits the integer arithmetic is exact on both, and the file means the same everywhere.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from yolo3.defaults import NmsSettings

QUANTIZED_OPS = ["Conv", "LeakyRelu", "MaxPool", "Concat", "Resize"]
FLOAT16_OPS = [*QUANTIZED_OPS, "Add", "Mul", "Tile", "Transpose", "Reshape"]


def quantize_int8(proto, output: Path, calibration: list[tuple], nms: NmsSettings) -> None:
    """Write the int8 form of the detection graph ``proto`` to ``output``; ``calibration``
    holds (uint8 images (B, h, w, 3), letterboxes (B, 6)) batches."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    class Batches(CalibrationDataReader):
        def __init__(self):
            self.batches = iter(calibration)

        def get_next(self):
            batch = next(self.batches, None)
            if batch is None:
                return None
            images, letterboxes = batch
            return {"images": np.ascontiguousarray(images, np.uint8),
                    "letterboxes": np.ascontiguousarray(letterboxes, np.float32),
                    "score_threshold": np.array(nms.score, np.float32),
                    "iou_threshold": np.array(nms.iou, np.float32)}

    # only the network: quantizing the decode's and letterbox undoing's Concat and Mul
    # (whose ranges depend on image sizes) zeroed every box of a model trained in the tests
    heads = set(head_convolutions(proto.graph))
    nodes = [name for name in network_nodes(proto.graph) if name not in heads]
    # its advice to run symbolic shape inference first (which needs sympy) changes nothing
    # for these graphs: keep it off the user's terminal
    logging.disable(logging.WARNING)
    try:
        quantize_static(proto, str(output), Batches(), quant_format=QuantFormat.QDQ,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        per_channel=True, reduce_range=True,
                        op_types_to_quantize=QUANTIZED_OPS,
                        nodes_to_quantize=nodes)
    finally:
        logging.disable(logging.NOTSET)


def network_nodes(graph, kinds=QUANTIZED_OPS) -> list[str]:
    """Names of the nodes of ``kinds`` that feed a convolution or are one: the network,
    without the decode, letterbox undoing and NMS that follow its heads."""
    producers = {output: node for node in graph.node for output in node.output}
    seen: set[str] = set()
    stack = [node for node in graph.node if node.op_type == "Conv"]
    while stack:
        node = stack.pop()
        if node.name in seen:
            continue
        seen.add(node.name)
        stack.extend(producers[name] for name in node.input if name in producers)
    return [node.name for node in graph.node
            if node.name in seen and node.op_type in kinds]


def head_convolutions(graph) -> list[str]:
    """Names of the convolutions whose outputs reach no other convolution: the heads."""
    consumers: dict[str, list] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)

    def feeds_a_convolution(node) -> bool:
        stack, seen = list(node.output), set()
        while stack:
            for consumer in consumers.get(stack.pop(), []):
                if consumer.op_type == "Conv":
                    return True
                if consumer.name not in seen:
                    seen.add(consumer.name)
                    stack.extend(consumer.output)
        return False

    return [node.name for node in graph.node
            if node.op_type == "Conv" and not feeds_a_convolution(node)]


def to_float16(proto):
    """The detection graph ``proto`` with the network's weights and arithmetic in float16
    (half the file; for accelerators with float16 units — CPUs without them emulate it
    and run slower); inputs, outputs, decode and NMS stay float32."""
    from onnxruntime.transformers.float16 import convert_float_to_float16

    network = set(network_nodes(proto.graph, FLOAT16_OPS))
    outside = [node.name for node in proto.graph.node if node.name not in network]
    return convert_float_to_float16(proto, keep_io_types=True, node_block_list=outside)
