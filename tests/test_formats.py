"""yolo3.formats: the one table of model formats, and what reads it — export.py's checks,
the runtime a file opens in, the --runtime help of both scripts, the served formats and
the README's table."""

from __future__ import annotations

import subprocess
import sys

import pytest

from helpers import REPO
from yolo3.formats import (
    BY_NAME,
    EXPORTED,
    FORMATS,
    KERAS,
    RUNTIMES,
    ExportOptions,
    export_format_of,
    exports_allowing,
    format_of,
    markdown_table,
    runtime_help,
    served_without_tensorflow,
)


def test_every_row_names_modules_that_exist():
    for fmt in FORMATS:
        for runtime, _ in fmt.detectors:
            assert runtime in RUNTIMES
            assert callable(fmt.opener(runtime)), (fmt.name, runtime)
        if fmt.exported:
            assert callable(fmt.writer()), fmt.name
        assert set(fmt.quantizations) <= {"fp16", "int8"}
    assert {r for fmt in FORMATS for r in fmt.runtimes} == set(RUNTIMES)


def test_a_file_is_known_by_its_suffix_a_folder_by_its_marker(tmp_path):
    assert format_of("x.ONNX") is BY_NAME["onnx"] and format_of("m.TFLite").name == "tflite"
    assert format_of("trained_model.h5") is KERAS and format_of("yolo.weights.h5") is KERAS
    folder = tmp_path / "exported"
    folder.mkdir()
    assert format_of(folder) is KERAS  # not a SavedModel until it holds one
    (folder / "saved_model.pb").write_bytes(b"")
    assert format_of(folder).name == "saved_model"
    assert [export_format_of(n).name for n in ("a.onnx", "b.tflite", "folder")] == [
        "onnx", "tflite", "saved_model"]
    assert export_format_of("a.h5") is None and export_format_of("a.tfl") is None


def test_what_is_served_and_deployed():
    assert [fmt.name for fmt in served_without_tensorflow()] == ["onnx", "tflite"]
    assert [fmt.name for fmt in EXPORTED] == ["onnx", "tflite", "saved_model"]
    assert exports_allowing("raw") == "ONNX" and exports_allowing("int8") == "ONNX and TFLite"


def test_options_describe_their_precision():
    assert ExportOptions().precision() == ""
    assert ExportOptions(quantize="fp16").precision() == ", fp16"
    assert ExportOptions(quantize="int8", calibration=[1, 2]).precision() == \
        ", int8, calibrated on 2 images"


def test_runtime_help_follows_the_table():
    text = runtime_help("the model")
    assert text.startswith("what runs the model (default: onnxruntime for .onnx, litert")
    assert "also openvino for .onnx" in text


@pytest.mark.parametrize("script", ["yolo_video.py", "evaluate.py"])
def test_both_scripts_share_one_runtime_argument(script):
    result = subprocess.run([sys.executable, script, "--help"], cwd=REPO, capture_output=True,
                            text=True, timeout=120)
    help_text = " ".join(result.stdout.split())
    assert "{" + ",".join(RUNTIMES) + "}" in help_text
    assert " ".join(runtime_help("x").split()[3:]) in help_text


def test_the_readme_table_is_the_table():
    table = markdown_table()
    assert table in (REPO / "README.md").read_text(), f"README.md's table should read:\n{table}"
