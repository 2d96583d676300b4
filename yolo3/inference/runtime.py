"""Open a detector for any model file, choosing the runtime from the file: ONNX files
(export.py) run in ONNX Runtime (or OpenVINO, when asked and installed) and TFLite files
(export.py) in LiteRT, without importing TensorFlow; SavedModel folders (export.py) and
Keras files (.h5, .keras, keras-yolo3's) in TensorFlow."""

from __future__ import annotations

from pathlib import Path

from yolo3.defaults import NmsSettings
from yolo3.errors import YoloError

ONNX_SUFFIX, TFLITE_SUFFIX = ".onnx", ".tflite"
ONNXRUNTIME, OPENVINO, LITERT, TENSORFLOW = "onnxruntime", "openvino", "litert", "tensorflow"
ONNX_RUNTIMES = (ONNXRUNTIME, OPENVINO)  # OpenVINO is optional: installed separately
RUNTIMES = (*ONNX_RUNTIMES, LITERT, TENSORFLOW)


def is_onnx(model_path: str | Path) -> bool:
    return Path(model_path).suffix.lower() == ONNX_SUFFIX


def is_tflite(model_path: str | Path) -> bool:
    return Path(model_path).suffix.lower() == TFLITE_SUFFIX


def is_exported(model_path: str | Path) -> bool:
    """An export.py file or folder: it carries its own input size, classes and anchors."""
    from yolo3.inference.saved_model_detector import is_saved_model

    return is_onnx(model_path) or is_tflite(model_path) or is_saved_model(model_path)


def runtimes_for(model_path: str | Path) -> tuple[str, ...]:
    """The runtimes that can run ``model_path``, the default first."""
    if is_onnx(model_path):
        return ONNX_RUNTIMES
    return (LITERT,) if is_tflite(model_path) else (TENSORFLOW,)


def open_detector(model_path: str | Path, input_size=None, nms: NmsSettings | None = None,
                  anchors_path=None, classes_path=None, runtime: str | None = None):
    """A detector (yolo3.inference.base.DetectorBase) for ``model_path``.

    ``input_size`` None: the exported size for exported files, the default for Keras
    files. ``anchors_path``/``classes_path``: for Keras files without them and ONNX or
    TFLite detection graphs without metadata; files that carry theirs must agree with them.
    ``runtime``: one of :func:`runtimes_for` (None: the first).
    """
    from yolo3.inference.saved_model_detector import is_saved_model

    choices = runtimes_for(model_path)
    if runtime is not None and runtime not in choices:
        raise YoloError(f"{model_path} runs in {' or '.join(choices)}, not {runtime}")
    runtime = runtime or choices[0]
    if is_saved_model(model_path):
        from yolo3.inference.saved_model_detector import SavedModelDetector

        return SavedModelDetector(model_path, input_size, nms, classes_path=classes_path,
                                  anchors_path=anchors_path)
    if runtime == LITERT:
        from yolo3.inference.tflite_detector import TfliteDetector

        return TfliteDetector(model_path, input_size, nms, classes_path=classes_path,
                              anchors_path=anchors_path)
    if runtime == OPENVINO:
        from yolo3.inference.openvino_detector import OpenVinoDetector

        return OpenVinoDetector(model_path, input_size, nms, classes_path=classes_path,
                                anchors_path=anchors_path)
    if runtime == ONNXRUNTIME:
        from yolo3.inference.onnx_detector import OnnxDetector

        return OnnxDetector(model_path, input_size, nms, classes_path=classes_path,
                            anchors_path=anchors_path)
    from yolo3.cli import quiet_tensorflow

    quiet_tensorflow()  # before TensorFlow's first import, which the detector brings
    from yolo3.defaults import DEFAULT_INPUT_SIZE
    from yolo3.inference.detector import Detector, open_model

    loaded = open_model(model_path, anchors_path=anchors_path, classes_path=classes_path)
    return Detector(loaded, input_size or (DEFAULT_INPUT_SIZE, DEFAULT_INPUT_SIZE), nms)
