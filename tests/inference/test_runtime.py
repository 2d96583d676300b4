"""yolo3.inference.runtime: the runtime follows the file."""

from __future__ import annotations

import pytest

from helpers import REPO
from yolo3.defaults import NmsSettings
from yolo3.errors import YoloError
from yolo3.inference.detector import Detector
from yolo3.inference.onnx_detector import OnnxDetector
from yolo3.inference.runtime import is_onnx, is_tflite, open_detector, runtimes_for


def test_the_file_chooses_the_runtime(tiny_model, tiny_onnx):
    assert is_onnx(tiny_onnx) and is_onnx("X.ONNX") and not is_onnx(tiny_model)
    onnx = open_detector(tiny_onnx, nms=NmsSettings(score=0.5))
    assert isinstance(onnx, OnnxDetector) and onnx.nms.score == 0.5
    keras = open_detector(tiny_model, (320, 320))
    assert isinstance(keras, Detector) and keras.input_size == (320, 320)
    assert open_detector(tiny_model).input_size == (416, 416)
    assert onnx.class_names == keras.class_names
    assert onnx.anchors.tolist() == keras.anchors.tolist()


def test_files_beside_an_export_must_agree_with_it(tiny_onnx, tmp_path):
    same = open_detector(tiny_onnx, classes_path=REPO / "model_data/coco_classes.txt",
                         anchors_path=REPO / "model_data/tiny_yolo_anchors.txt")
    assert same.num_classes == 80
    other = tmp_path / "classes.txt"
    other.write_text("cat\ndog\n")
    with pytest.raises(YoloError, match="carries its own 80 classes .* differ from"):
        open_detector(tiny_onnx, classes_path=other)
    with pytest.raises(YoloError, match="carries its own anchors, which differ"):
        open_detector(tiny_onnx, anchors_path=REPO / "model_data/yolo_anchors.txt")


def test_the_runtime_must_be_one_that_runs_the_file(tiny_onnx, tiny_model):
    assert runtimes_for(tiny_onnx) == ("onnxruntime", "openvino")
    assert runtimes_for(tiny_model) == ("tensorflow",)
    with pytest.raises(YoloError, match="runs in tensorflow, not openvino"):
        open_detector(tiny_model, runtime="openvino")
    assert isinstance(open_detector(tiny_onnx, runtime="onnxruntime"), OnnxDetector)


def test_openvino_missing_is_one_clear_line(tiny_onnx, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "openvino", None)  # what an absent package looks like
    with pytest.raises(YoloError, match="needs OpenVINO, which is optional: pip install"):
        open_detector(tiny_onnx, runtime="openvino")


def test_tflite_files_run_in_litert(tiny_tflite, tiny_onnx):
    from yolo3.inference.tflite_detector import TfliteDetector

    assert is_tflite(tiny_tflite) and is_tflite("X.TFLite") and not is_tflite(tiny_onnx)
    assert runtimes_for(tiny_tflite) == ("litert",)
    assert isinstance(open_detector(tiny_tflite), TfliteDetector)
    with pytest.raises(YoloError, match="runs in onnxruntime or openvino, not litert"):
        open_detector(tiny_onnx, runtime="litert")


def stripped_onnx(tiny_onnx, folder):
    import onnx

    proto = onnx.load(str(tiny_onnx))
    del proto.metadata_props[:]
    path = folder / "stripped.onnx"
    onnx.save(proto, str(path))
    return path


@pytest.mark.parametrize("script", ["yolo_video.py", "evaluate.py"])
@pytest.mark.parametrize("case, phrases", [
    ("openvino-for-h5", ["runs in tensorflow, not openvino"]),
    ("litert-for-onnx", ["runs in onnxruntime or openvino, not litert"]),
    ("openvino-missing", ["needs OpenVINO, which is optional"]),
    ("litert-missing", ["needs LiteRT", "pip install ai-edge-litert"]),
    ("stripped-onnx", ["carries no yolo3 metadata", "--classes_path"]),
])
def test_runtime_problems_through_the_scripts_are_one_line(
        tmp_path, tiny_model, tiny_onnx, tiny_tflite, script, case, phrases):
    """As users meet them: the wrong --runtime for a file, an optional runtime that is not
    installed (a package that fails to import stands in for it), an ONNX file whose
    metadata another tool dropped; nothing written."""
    import subprocess
    import sys

    from helpers import SAMPLE, assert_one_line_error, tree_bytes, user_env

    work = tmp_path / "work"
    work.mkdir()
    annot = work / "list.txt"
    annot.write_text(f"{SAMPLE} 30,513,331,744,0\n")
    (work / "classes.txt").write_text("cat\n")
    shims = tmp_path / "shims"
    for package in ("openvino", "ai_edge_litert"):
        (shims / package).mkdir(parents=True)
        (shims / package / "__init__.py").write_text("raise ImportError('not installed')\n")
    model, runtime, env = {
        "openvino-for-h5": (tiny_model, "openvino", {}),
        "litert-for-onnx": (tiny_onnx, "litert", {}),
        "openvino-missing": (tiny_onnx, "openvino", {"PYTHONPATH": str(shims)}),
        "litert-missing": (tiny_tflite, None, {"PYTHONPATH": str(shims)}),
        "stripped-onnx": (stripped_onnx(tiny_onnx, tmp_path), None, {}),
    }[case]
    args = (["--image", "--input", str(SAMPLE), "--output", str(work / "o.jpg")]
            if script == "yolo_video.py" else
            ["--annot_file", str(annot), "--classes_path", str(work / "classes.txt"),
             "--output_dir", str(work / "eval"), "--quiet"])
    if case == "stripped-onnx" and script == "evaluate.py":
        # evaluate.py's --classes_path names the model's classes too: one name for 80
        phrases = ["found class", "only 1 class names were given"]
    args += ["--model_path", str(model)] + (["--runtime", runtime] if runtime else [])
    before = tree_bytes(work)
    result = subprocess.run([sys.executable, str(REPO / script), *args], capture_output=True,
                            text=True, cwd=REPO, timeout=300, env={**user_env(), **env})
    assert_one_line_error(result, *phrases)
    assert tree_bytes(work) == before
