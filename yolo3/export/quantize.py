"""int8 static quantization of an exported detection graph (ONNX Runtime's QDQ format).

Convolutions (weights per channel, int8) and the activations between them (uint8) are
quantized, with ranges measured on calibration images letterboxed exactly as inference
letterboxes them; decode, letterbox undoing and NMS stay float32. ONNX Runtime fuses each
quantize → conv → dequantize into an integer convolution (VNNI on this machine's CPUs).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from yolo3.defaults import NmsSettings

QUANTIZED_OPS = ["Conv", "LeakyRelu", "MaxPool", "Concat", "Resize"]


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

    # its advice to run symbolic shape inference first (which needs sympy) changes nothing
    # for these graphs: keep it off the user's terminal
    logging.disable(logging.WARNING)
    try:
        quantize_static(proto, str(output), Batches(), quant_format=QuantFormat.QDQ,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        per_channel=True, op_types_to_quantize=QUANTIZED_OPS)
    finally:
        logging.disable(logging.NOTSET)
