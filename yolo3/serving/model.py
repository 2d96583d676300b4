"""The model a scoring script serves: found in the folder Azure ML mounts
(``AZUREML_MODEL_DIR``), opened in the runtime its file needs. TensorFlow-free for ONNX
and TFLite exports.
"""

from __future__ import annotations

from pathlib import Path

from yolo3.errors import YoloError
from yolo3.formats import FORMATS, KERAS, format_of

# what a model folder is searched for, in the table's order (TensorFlow-free formats first)
SERVED = tuple(fmt for fmt in FORMATS if fmt.served)
MODEL_FILE_VARIABLE = "YOLO3_MODEL_FILE"  # names the file where a folder holds several


def find_model(model_dir: Path, name: str | None = None) -> Path:
    """The export to serve under ``model_dir`` (searched recursively: Azure ML mounts a
    registered folder or file beneath it): the file ``name`` if given, else the only file
    or folder of the first served format (yolo3.formats) found there — .onnx, then
    .tflite, then a SavedModel folder (served where TensorFlow is installed). YoloError
    saying what was found otherwise."""
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise YoloError(f"the model folder {model_dir} does not exist (AZUREML_MODEL_DIR)")
    if name:
        matches = sorted(model_dir.rglob(Path(name).name))
        if not matches:
            raise YoloError(f"no file {name} under the model folder ({MODEL_FILE_VARIABLE})")
        if not any(fmt.holds(matches[0]) for fmt in SERVED):
            raise YoloError(f"{MODEL_FILE_VARIABLE} names {matches[0].name}, which is not "
                            f"a served export ({_served_kinds()}){_export_hint(matches[0])}")
        return matches[0]
    paths = list(model_dir.rglob("*"))  # one walk of the folder for every format
    for fmt in SERVED:
        found = sorted({_candidate(p, fmt) for p in paths} - {None})
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            kind = fmt.suffixes[0] + " files" if fmt.suffixes else f"{fmt.label} folders"
            raise YoloError(f"{len(found)} {kind} under the model folder: name one with "
                            f"{MODEL_FILE_VARIABLE}")
    keras = [p for p in paths if p.suffix in KERAS.suffixes]
    raise YoloError(f"no {_served_kinds()} export under the model folder"
                    f"{_export_hint(keras[0]) if keras else ''}")


def open_served(path: Path):
    """The detector ``deploy/score.py`` serves for ``path``, opened exactly as its
    ``init()`` does (the export's own classes, anchors, size and NMS settings; no
    TensorFlow for ONNX and TFLite). ``deploy_to_azureml.py`` calls it before any
    deployment, so what cannot be served is refused here rather than at start-up."""
    from yolo3.inference.runtime import open_detector

    fmt = format_of(path)
    if not fmt.served:
        raise YoloError(f"{path} is not a served export ({_served_kinds()})"
                        f"{_export_hint(Path(path))}")
    return open_detector(path)


def _served_kinds() -> str:
    kinds = [fmt.suffixes[0] if fmt.suffixes else fmt.label for fmt in SERVED]
    return f"{', '.join(kinds[:-1])} or {kinds[-1]}"


def _export_hint(path: Path) -> str:
    if path.suffix not in KERAS.suffixes:
        return ""
    return (f" (found {path.name}: export it with export.py, the served runtime has no "
            "TensorFlow)")


def _candidate(path: Path, fmt) -> Path | None:
    """``path`` when it is a served ``fmt`` export (a file, or a folder format's folder)."""
    if fmt.folder_marker is not None:
        return path.parent if path.name == fmt.folder_marker and fmt.holds(path.parent) \
            else None
    return path if path.is_file() and fmt.holds(path) else None
