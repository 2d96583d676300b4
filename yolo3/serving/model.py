"""The model a scoring script serves: found in the folder Azure ML mounts
(``AZUREML_MODEL_DIR``), opened in the runtime its file needs. TensorFlow-free for ONNX
and TFLite exports.
"""

from __future__ import annotations

from pathlib import Path

from yolo3.errors import YoloError

# what a model folder is searched for, the TensorFlow-free formats first
SERVED_SUFFIXES = (".onnx", ".tflite")
MODEL_FILE_VARIABLE = "YOLO3_MODEL_FILE"  # names the file where a folder holds several


def find_model(model_dir: Path, name: str | None = None) -> Path:
    """The export to serve under ``model_dir`` (searched recursively: Azure ML mounts a
    registered folder or file beneath it): the file ``name`` if given, else the only
    .onnx file, else the only .tflite file, else the only SavedModel folder (served where
    TensorFlow is installed). YoloError saying what was found otherwise."""
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise YoloError(f"the model folder {model_dir} does not exist (AZUREML_MODEL_DIR)")
    if name:
        matches = sorted(p for p in model_dir.rglob(Path(name).name) if p.is_file())
        if not matches:
            raise YoloError(f"no file {name} under the model folder ({MODEL_FILE_VARIABLE})")
        return matches[0]
    for suffix in SERVED_SUFFIXES:
        found = sorted(p for p in model_dir.rglob(f"*{suffix}") if p.is_file())
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise YoloError(f"{len(found)} {suffix} files under the model folder: name one "
                            f"with {MODEL_FILE_VARIABLE}")
    saved = sorted(p.parent for p in model_dir.rglob("saved_model.pb"))
    if len(saved) == 1:
        return saved[0]
    keras = [p.name for p in model_dir.rglob("*") if p.suffix in (".h5", ".keras")]
    hint = (f" (found {keras[0]}: export it with export.py, the served runtime has no "
            "TensorFlow)") if keras else ""
    raise YoloError(f"no .onnx, .tflite or SavedModel export under the model folder{hint}")
