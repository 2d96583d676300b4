"""Detection with a SavedModel folder written by export.py, through its ``detect``
signature (the same graph as the TensorFlow detector), letterboxing as inference does."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from yolo3.defaults import NmsSettings
from yolo3.errors import YoloError
from yolo3.export_contract import DETECTION_OUTPUTS, SAVED_MODEL_METADATA, ExportInfo
from yolo3.formats import BY_NAME
from yolo3.inference.base import DetectorBase


def is_saved_model(path: str | Path) -> bool:
    return BY_NAME["saved_model"].holds(path)


class SavedModelDetector(DetectorBase):
    """The detector API over an exported SavedModel (settings as OnnxDetector's)."""

    def __init__(self, path: str | Path, input_size=None, nms: NmsSettings | None = None,
                 classes_path=None, anchors_path=None):
        from yolo3.cli import quiet_tensorflow

        path = Path(path)
        metadata = path / SAVED_MODEL_METADATA
        info = ExportInfo.from_file(metadata.read_text() if metadata.is_file() else None,
                                    str(path), classes_path, anchors_path)
        quiet_tensorflow()
        import tensorflow as tf

        try:
            self.graph = tf.saved_model.load(str(path)).signatures["detect"]
        except (OSError, ValueError, KeyError, tf.errors.OpError) as error:
            first = (str(error).strip().splitlines() or [type(error).__name__])[0]
            raise YoloError(f"{path} is not a readable SavedModel export ({first})") from None
        images = self.graph.structured_input_signature[1].get("images")
        info.check_graph_input(str(path), None if images is None else images.shape.as_list())
        self.init_from_export(info, str(path), input_size, nms)

    def run(self, arrays: np.ndarray, letterboxes: np.ndarray):
        import tensorflow as tf

        out = self.graph(**{name: tf.constant(value) for name, value
                            in self.graph_inputs(arrays, letterboxes).items()})
        boxes, scores, classes, counts = (out[k].numpy() for k in DETECTION_OUTPUTS)
        return self.within_class_limit(boxes, scores, classes, counts)
