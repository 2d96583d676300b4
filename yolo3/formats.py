"""The model formats, one row each, read by everything that writes, opens or serves a
model file: export.py's ``--format`` choices, option checks and dispatch; the detector a
file opens with and the runtimes that can run it (``--runtime`` in yolo_video.py and
evaluate.py, yolo3.inference.runtime); what a scoring server looks for in a model folder
and what deploy_to_azureml.py accepts (yolo3.serving.model, yolo3.azure.deploy); and the
README's table of formats (a test holds it to :func:`markdown_table`).

Adding a format: its exporter module (yolo3/export/, a ``write`` function as
:data:`Writer` says), its detector module (yolo3/inference/, a class or function taking
the path and the settings every detector takes), and one row of :data:`FORMATS`.
Modules are named, not imported, so this table stays TensorFlow-free and below the
feature sub-packages that implement it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

# runtimes: what runs a file (yolo_video.py/evaluate.py --runtime, YOLO(runtime=...))
ONNXRUNTIME, OPENVINO, LITERT, TENSORFLOW = "onnxruntime", "openvino", "litert", "tensorflow"
RUNTIMES = (ONNXRUNTIME, OPENVINO, LITERT, TENSORFLOW)

# export options beyond the input size (export.py's flags of the same names)
RAW, OPSET = "raw", "opset"
# the ONNX opsets export.py writes: tf2onnx goes up to 18; below 13 this graph's ops take
# other forms (ONNX Runtime refused opset 7 and 10 files that tf2onnx had written)
ONNX_OPSETS, DEFAULT_OPSET = range(13, 19), 17
FP16, INT8 = "fp16", "int8"


@dataclass(frozen=True)
class ExportOptions:
    """What export.py hands every exporter; each reads those its row allows (the others
    are refused before it runs). ``calibration``: (images, letterboxes) batches for int8."""

    source: str = ""  # the model file's name, recorded in the metadata
    raw: bool = False
    opset: int | None = None
    quantize: str | None = None  # FP16, INT8 or None
    calibration: list | None = None
    calibration_source: str = ""

    def precision(self) -> str:
        """How the network's numbers are stored, for the "Wrote ..." line ('' for fp32)."""
        if self.quantize == INT8:
            images = len(self.calibration or [])
            return f", int8, calibrated on {images} image" + ("s" if images > 1 else "")
        return f", {self.quantize}" if self.quantize else ""


# an exporter module's write(loaded, output, input_hw, nms, options) → what it wrote, in
# words for export.py's "Wrote OUTPUT (...)" line
Writer = Callable[..., str]


@dataclass(frozen=True)
class ModelFormat:
    """One model format. ``suffixes`` name its files (empty: a folder, recognised by
    ``folder_marker`` inside it); ``detectors`` pairs each runtime that runs it with the
    ``module:name`` that opens it, the default first; ``exporter`` is the module whose
    ``write`` export.py calls (None: not written by export.py)."""

    name: str
    label: str  # its usual name, for messages
    what: str  # in words, for help texts and the README
    suffixes: tuple[str, ...]
    detectors: tuple[tuple[str, str], ...]
    exporter: str | None = None
    folder_marker: str | None = None
    served: bool = False  # a scoring server serves it from a model folder
    quantizations: tuple[str, ...] = ()
    export_options: tuple[str, ...] = ()  # of RAW, OPSET

    @property
    def runtimes(self) -> tuple[str, ...]:
        return tuple(runtime for runtime, _ in self.detectors)

    @property
    def needs_tensorflow(self) -> bool:
        return TENSORFLOW in self.runtimes

    @property
    def exported(self) -> bool:
        """Written by export.py: the file carries its own input size, classes, anchors."""
        return self.exporter is not None

    def holds(self, path: str | Path) -> bool:
        path = Path(path)
        if self.folder_marker is not None:
            return path.is_dir() and (path / self.folder_marker).is_file()
        return path.suffix.lower() in self.suffixes

    def opener(self, runtime: str):
        """The detector class or function for ``runtime`` (imported now)."""
        return _resolve(dict(self.detectors)[runtime])

    def writer(self) -> Writer:
        return _resolve(f"{self.exporter}:write")

    def output_name(self) -> str:
        """How export.py's output names it: the suffix, or a folder."""
        return self.suffixes[0] if self.suffixes else "a folder name without a suffix"


FORMATS = (
    ModelFormat("onnx", "ONNX", "ONNX: the detection graph (or --raw heads)", (".onnx",),
                ((ONNXRUNTIME, "yolo3.inference.onnx_detector:OnnxDetector"),
                 (OPENVINO, "yolo3.inference.openvino_detector:OpenVinoDetector")),
                exporter="yolo3.export.onnx", served=True, quantizations=(FP16, INT8),
                export_options=(RAW, OPSET)),
    ModelFormat("tflite", "TFLite", "TFLite: the detection graph from builtin ops",
                (".tflite",),
                ((LITERT, "yolo3.inference.tflite_detector:TfliteDetector"),),
                exporter="yolo3.export.tflite", served=True, quantizations=(FP16, INT8)),
    ModelFormat("saved_model", "SavedModel", "TensorFlow SavedModel folder (TF Serving)", (),
                ((TENSORFLOW, "yolo3.inference.saved_model_detector:SavedModelDetector"),),
                exporter="yolo3.export.saved_model", folder_marker="saved_model.pb",
                served=True),
    ModelFormat("keras", "Keras", "Keras model (convert.py, training, keras-yolo3)",
                (".h5", ".keras"),
                ((TENSORFLOW, "yolo3.inference.detector:open_keras_detector"),)),
)
BY_NAME = {fmt.name: fmt for fmt in FORMATS}
EXPORTED = tuple(fmt for fmt in FORMATS if fmt.exported)
KERAS = BY_NAME["keras"]


def format_of(path: str | Path) -> ModelFormat:
    """The format of a model file or folder; Keras for anything else (keras-yolo3's files
    may carry any name: the Keras loader says what is wrong with them)."""
    return next((fmt for fmt in FORMATS if fmt.holds(path)), KERAS)


def export_format_of(output: str | Path) -> ModelFormat | None:
    """The export format an output name asks for (a name without a suffix: a folder
    format), or None."""
    suffix = Path(output).suffix.lower()
    return next((fmt for fmt in EXPORTED
                 if suffix in fmt.suffixes or (not suffix and not fmt.suffixes)), None)


def exports_allowing(option: str) -> str:
    """The export formats that take an export option or quantization, for messages."""
    return " and ".join(fmt.label for fmt in EXPORTED
                        if option in fmt.export_options + fmt.quantizations)


def served_without_tensorflow() -> tuple[ModelFormat, ...]:
    """What an Azure endpoint serves: its environment has no TensorFlow."""
    return tuple(fmt for fmt in FORMATS if fmt.served and not fmt.needs_tensorflow)


def runtime_help(what: str) -> str:
    """The ``--runtime`` help text: which runtime runs ``what`` by default, per format."""
    defaults = ", ".join(f"{fmt.runtimes[0]} for {_files(fmt)}" for fmt in FORMATS)
    others = ", ".join(f"{runtime} for {_files(fmt)}" for fmt in FORMATS
                       for runtime in fmt.runtimes[1:])
    return (f"what runs {what} (default: {defaults}" + (f"; also {others}" if others else "")
            + ")")


def markdown_table() -> str:
    """The README's table of formats."""
    rows = ["| format | file | runtimes (default first) | export.py | served | quantize |",
            "|---|---|---|---|---|---|"]
    for fmt in FORMATS:
        rows.append(" | ".join([
            f"| {fmt.what}", _files(fmt), ", ".join(fmt.runtimes),
            f"`--format {fmt.name}`" if fmt.exported else "no (its source)",
            ("yes" if not fmt.needs_tensorflow else "where TensorFlow is installed")
            if fmt.served else "no",
            ", ".join(fmt.quantizations) or "no"]) + " |")
    return "\n".join(rows)


def _files(fmt: ModelFormat) -> str:
    return " / ".join(fmt.suffixes) if fmt.suffixes else f"{fmt.name} folders"


def _resolve(reference: str):
    module, _, name = reference.partition(":")
    return getattr(importlib.import_module(module), name)
