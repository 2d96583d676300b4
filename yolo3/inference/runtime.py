"""Open a detector for any model file, choosing the runtime from the file's format
(yolo3.formats): ONNX files run in ONNX Runtime (or OpenVINO, when asked and installed)
and TFLite files in LiteRT, without importing TensorFlow; SavedModel folders and Keras
files (.h5, .keras, keras-yolo3's) in TensorFlow."""

from __future__ import annotations

from pathlib import Path

from yolo3.defaults import NmsSettings
from yolo3.errors import YoloError
from yolo3.formats import BY_NAME, TENSORFLOW, format_of


def is_onnx(model_path: str | Path) -> bool:
    return BY_NAME["onnx"].holds(model_path)


def is_tflite(model_path: str | Path) -> bool:
    return BY_NAME["tflite"].holds(model_path)


def is_exported(model_path: str | Path) -> bool:
    """An export.py file or folder: it carries its own input size, classes and anchors."""
    return format_of(model_path).exported


def runtimes_for(model_path: str | Path) -> tuple[str, ...]:
    """The runtimes that can run ``model_path``, the default first."""
    return format_of(model_path).runtimes


def open_detector(model_path: str | Path, input_size=None, nms: NmsSettings | None = None,
                  anchors_path=None, classes_path=None, runtime: str | None = None):
    """A detector (yolo3.inference.base.DetectorBase) for ``model_path``.

    ``input_size`` None: the exported size for exported files, the default for Keras
    files. ``anchors_path``/``classes_path``: for Keras files without them and ONNX or
    TFLite detection graphs without metadata; files that carry theirs must agree with them.
    ``runtime``: one of :func:`runtimes_for` (None: the first).
    """
    fmt = format_of(model_path)
    if runtime is not None and runtime not in fmt.runtimes:
        raise YoloError(f"{model_path} runs in {' or '.join(fmt.runtimes)}, not {runtime}")
    runtime = runtime or fmt.runtimes[0]
    if runtime == TENSORFLOW:
        from yolo3.cli import quiet_tensorflow

        quiet_tensorflow()  # before TensorFlow's first import, which the detector brings
    return fmt.opener(runtime)(model_path, input_size, nms, classes_path=classes_path,
                               anchors_path=anchors_path)
