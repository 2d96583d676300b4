"""yolo3.inference.openvino_detector: the ONNX export in OpenVINO gives the Keras
detector's detections (float32 exactly as ONNX Runtime, bf16 within its precision),
without TensorFlow. OpenVINO is optional for users; the tests install it."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from PIL import Image

from helpers import REPO, SAMPLE, assert_same_detections, user_env
from yolo3.defaults import NmsSettings
from yolo3.errors import YoloError

pytest.importorskip("openvino", reason="OpenVINO is optional: pip install openvino")

from yolo3.inference.openvino_detector import OpenVinoDetector  # noqa: E402


@pytest.fixture(scope="module")
def keras_detections(tiny_model):
    """The Keras detector's detections on the sample, for NMS settings."""
    from yolo3.inference.detector import Detector, open_model

    loaded = open_model(tiny_model)
    return lambda nms: Detector(loaded, nms=nms).detect(Image.open(SAMPLE))


@pytest.mark.parametrize("nms", [NmsSettings(), NmsSettings(score=0.05, iou=0.3)])
def test_float32_gives_the_keras_detections(tiny_onnx, keras_detections, nms):
    image = Image.open(SAMPLE)
    expected = keras_detections(nms)
    assert len(expected) >= 3
    found = OpenVinoDetector(tiny_onnx, nms=nms, precision="f32").detect(image)
    assert_same_detections(found, expected)


def test_the_default_precision_stays_within_bf16s(tiny_onnx, keras_detections):
    image = Image.open(SAMPLE)
    detector = OpenVinoDetector(tiny_onnx)
    assert_same_detections(detector.detect(image), keras_detections(NmsSettings()), 1e-2)
    batch = detector.detect_batch([image, image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)])
    assert len(batch) == 2 and [d["class_name"] for d in batch[0]] == \
        [d["class_name"] for d in detector.detect(image)]


def test_bad_files_and_settings(tmp_path, tiny_onnx):
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"\x08\x07not an onnx model")
    with pytest.raises(YoloError, match="not a readable ONNX model"):
        OpenVinoDetector(broken)
    with pytest.raises(YoloError, match="no such model file"):
        OpenVinoDetector(tmp_path / "missing.onnx")
    with pytest.raises(YoloError, match="precision fp64"):
        OpenVinoDetector(tiny_onnx, precision="fp64")
    with pytest.raises(YoloError, match="exported for 416x416"):
        OpenVinoDetector(tiny_onnx, (320, 320))


def test_yolo_video_runs_it_without_tensorflow(tiny_onnx, tmp_path):
    script = textwrap.dedent(f"""
        import sys
        from PIL import Image
        from yolo import YOLO
        yolo = YOLO(model_path={str(tiny_onnx)!r}, runtime="openvino")
        print(sorted(d["class_name"] for d in yolo.detect(Image.open({str(SAMPLE)!r}))))
        print(sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras")))
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            cwd=REPO, env=user_env(), timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:2] == ["['cat', 'cup', 'person']", "[]"]
    output = tmp_path / "out.jpg"
    run = subprocess.run([sys.executable, str(REPO / "yolo_video.py"), "--image", "--model_path",
                          str(tiny_onnx), "--runtime", "openvino", "--input", str(SAMPLE),
                          "--output", str(output)], capture_output=True, text=True, cwd=REPO,
                         env=user_env(), timeout=120)
    assert run.returncode == 0, run.stderr
    assert output.is_file() and "Found 3 objects" in run.stdout
