"""Detection with an ONNX file written by export.py, in ONNX Runtime, without TensorFlow.

The file holds the whole detection graph (yolo3.export.onnx) and its metadata
(yolo3.export_contract): classes, input size and NMS defaults come from it (or, for a
detection graph that lost its metadata, from --classes_path). Letterboxing
and the result dicts are the TensorFlow detector's own (yolo3.inference.base).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from yolo3.defaults import NmsSettings
from yolo3.errors import YoloError, first_line
from yolo3.export_contract import DETECTION_OUTPUTS, KEY, ExportInfo
from yolo3.inference.base import DetectorBase


def open_session(path: Path, spinning: bool = True):
    """An ONNX Runtime CPU session; YoloError for files it cannot load. ``spinning``
    False: idle worker threads sleep at once instead of spinning for the next call
    (for several sessions or processes sharing few cores)."""
    try:
        import onnxruntime
    except ImportError:
        raise YoloError("running .onnx models needs onnxruntime: pip install onnxruntime"
                        ) from None
    if not Path(path).is_file():
        raise YoloError(f"{path}: no such model file")
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3  # errors only: its warnings are not the user's business
    if not spinning:
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        return onnxruntime.InferenceSession(str(path), options,
                                            providers=["CPUExecutionProvider"])
    except Exception as error:  # onnxruntime raises its own Fail/InvalidGraph types
        raise YoloError(f"{path} is not a readable ONNX model ({first_line(error)})") from None


class OnnxDetector(DetectorBase):
    """The detector API (yolo3.inference.base) over an exported detection graph.

    ``input_size`` must be the exported one (None: take it); ``nms`` None: the file's
    defaults. Its max_per_class may be at most the export's; class_agnostic must match.
    ``spinning``: see :func:`open_session`.
    """

    def __init__(self, path: str | Path, input_size=None, nms: NmsSettings | None = None,
                 spinning: bool = True, classes_path=None, anchors_path=None):
        path = Path(path)
        self.session = open_session(path, spinning)
        info = ExportInfo.from_file(
            self.session.get_modelmeta().custom_metadata_map.get(KEY), str(path),
            classes_path, anchors_path,
            inputs={i.name: i.shape for i in self.session.get_inputs()},
            outputs=[o.name for o in self.session.get_outputs()])
        self.init_from_export(info, str(path), input_size, nms)

    def run(self, arrays: np.ndarray, letterboxes: np.ndarray):
        outputs = self.session.run(list(DETECTION_OUTPUTS), self.graph_inputs(arrays,
                                                                              letterboxes))
        return self.within_class_limit(*outputs)
