"""Detection with a TFLite file written by export.py, in LiteRT's interpreter
(``ai-edge-litert``, XNNPACK on the CPU), without TensorFlow: the same graph, metadata and
detection dicts as the other detectors.

The exported graph takes one image at a time (TFLite's NMS is per image); batches run
image by image.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from yolo3.defaults import NmsSettings
from yolo3.errors import YoloError, first_line
from yolo3.export_contract import (
    DETECTION_INPUTS,
    DETECTION_OUTPUTS,
    ExportInfo,
    read_tflite_metadata,
)
from yolo3.inference.base import DetectorBase


def open_interpreter(path: Path, threads: int | None = None):
    """A LiteRT interpreter over ``path`` (all cores unless ``threads``); YoloError for
    files it cannot load."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        raise YoloError("running .tflite models needs LiteRT: pip install ai-edge-litert"
                        ) from None
    if not Path(path).is_file():
        raise YoloError(f"{path}: no such model file")
    try:
        interpreter = Interpreter(model_path=str(path), num_threads=threads or os.cpu_count())
    except (ValueError, RuntimeError) as error:
        raise YoloError(f"{path} is not a readable TFLite model ({first_line(error)})") from None
    return interpreter


class TfliteDetector(DetectorBase):
    """The detector API (yolo3.inference.base) over an exported TFLite detection graph.

    Settings as OnnxDetector's: ``input_size`` must be the exported one (None: take it);
    ``nms`` None: the file's defaults.
    """

    def __init__(self, path: str | Path, input_size=None, nms: NmsSettings | None = None,
                 threads: int | None = None, classes_path=None, anchors_path=None):
        path = Path(path)
        interpreter = open_interpreter(path, threads)
        signatures = interpreter.get_signature_list()
        if len(signatures) != 1:
            raise YoloError(f"{path} is not a detection graph export.py writes "
                            f"({len(signatures)} signatures): export it with export.py")
        key, names = next(iter(signatures.items()))
        self.runner = interpreter.get_signature_runner(key)
        details = self.runner.get_input_details()
        # signatures list their inputs and outputs by name; the detection graph's order
        # is DETECTION_INPUTS / DETECTION_OUTPUTS
        inputs = _in_order(names["inputs"], DETECTION_INPUTS)
        info = ExportInfo.from_file(
            read_tflite_metadata(path.read_bytes()), str(path), classes_path, anchors_path,
            inputs={name: [int(v) for v in details[name]["shape"]] for name in inputs},
            outputs=_in_order(names["outputs"], DETECTION_OUTPUTS))
        self.init_from_export(info, str(path), input_size, nms)
        # the first call applies the XNNPACK delegate, which announces itself on stderr
        from yolo3.cli import parked_stderr

        height, width = self.input_size
        with parked_stderr():
            self.run(np.full((1, height, width, 3), 128, np.uint8),
                     np.array([[1, 1, 0, 0, width, height]], np.float32))

    def run(self, arrays: np.ndarray, letterboxes: np.ndarray):
        rows = [self.runner(**self.graph_inputs(arrays[i:i + 1], letterboxes[i:i + 1]))
                for i in range(len(arrays))]
        return self.within_class_limit(*[np.concatenate([row[name] for row in rows])
                                         for name in DETECTION_OUTPUTS])


def _in_order(names, order) -> list[str]:
    """``names`` in ``order`` when they are its names, else as given."""
    return list(order) if set(names) == set(order) else list(names)
