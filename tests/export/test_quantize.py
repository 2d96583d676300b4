"""yolo3.export.quantize through export.py: int8 detection graphs keep the detections and
the mAP of fp32; calibration input is checked."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from helpers import (
    SAMPLE,
    assert_close_detections,
    assert_one_line_error,
    assert_same_detections,
    run_script,
    tree_bytes,
)


def test_int8_keeps_the_detections(tmp_path, tiny_model, tiny_onnx, calibration):
    import onnx

    int8 = tmp_path / "tiny-int8.onnx"
    result = run_script("export.py", str(tiny_model), str(int8), "--quantize", "int8",
                        "--calibration", str(calibration))
    assert result.returncode == 0, result.stderr
    assert "int8, calibrated on 6 images" in result.stdout and result.stderr == ""
    proto = onnx.load(str(int8))
    ops = {node.op_type for node in proto.graph.node}
    assert "QuantizeLinear" in ops and "DequantizeLinear" in ops
    # the heads' raw outputs are box offsets in cells: their convolutions stay float32;
    # the others read int8 weights within ±64, which 255 × 64 × 2 keeps inside int16 (exact
    # on CPUs without VNNI too)
    from onnx import numpy_helper

    from yolo3.export.quantize import head_convolutions

    initializers = {t.name: numpy_helper.to_array(t) for t in proto.graph.initializer}
    producers = {out: node for node in proto.graph.node for out in node.output}
    float_convs, int8_weights = [], []
    for node in proto.graph.node:
        if node.op_type != "Conv":
            continue
        if node.input[1] in initializers:
            float_convs.append(node.name)
        else:
            dequantize = producers[node.input[1]]
            assert dequantize.op_type == "DequantizeLinear"
            int8_weights.append(initializers[dequantize.input[0]])
    assert len(float_convs) == 2 and len(int8_weights) == 11  # tiny: 2 heads, 11 others
    assert sorted(float_convs) == sorted(head_convolutions(onnx.load(str(tiny_onnx)).graph))
    assert all(w.dtype == np.int8 and np.abs(w.astype(int)).max() <= 64 for w in int8_weights)
    info = json.loads({p.key: p.value for p in proto.metadata_props}["yolo3"])
    assert info["extra"]["quantization"] == {"kind": "int8", "images": 6,
                                             "calibration": str(calibration)}

    from yolo3.inference.onnx_detector import OnnxDetector

    image = Image.open(SAMPLE)
    fp32 = OnnxDetector(tiny_onnx).detect(image)
    quantized = OnnxDetector(int8).detect(image)
    assert_close_detections(quantized, fp32)


def test_fp16_keeps_the_detections_within_1e_2(tmp_path, tiny_model, tiny_onnx):
    import onnx

    from yolo3.inference.onnx_detector import OnnxDetector

    half = tmp_path / "tiny-fp16.onnx"
    result = run_script("export.py", str(tiny_model), str(half), "--quantize", "fp16")
    assert result.returncode == 0, result.stderr
    assert "fp16" in result.stdout and result.stderr == ""
    proto = onnx.load(str(half))
    weights = {node.input[1] for node in proto.graph.node if node.op_type == "Conv"}
    kernels = [t for t in proto.graph.initializer if t.name in weights]
    assert kernels and all(t.data_type == onnx.TensorProto.FLOAT16 for t in kernels)
    assert half.stat().st_size < 0.6 * tiny_onnx.stat().st_size
    info = json.loads({p.key: p.value for p in proto.metadata_props}["yolo3"])
    assert info["extra"]["quantization"] == {"kind": "fp16"}
    image = Image.open(SAMPLE)
    assert_same_detections(OnnxDetector(half).detect(image),
                           OnnxDetector(tiny_onnx).detect(image), 1e-2)


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_model):
    """yolov3-tiny fine-tuned on 160 synthetic images (3 classes) for 30 epochs at 160
    (about a minute), and a held-out set of 300 other images listed by voc_annotation.py
    (``heldout_list.txt``): about 0.87 VOC mAP50 there. A weaker model (0.5) made the
    comparison a coin toss: its many near-equal overlapping boxes trade places under any
    perturbation, and 16 validation images move mAP by 0.03 per flipped box."""
    from synthetic import make_dataset
    from yolo3.training import TrainSettings, train

    root = tmp_path_factory.mktemp("trained")
    make_dataset(root / "data", images=160, seed=3)
    out = root / "out"
    train(TrainSettings(output_dir=out, data_path=root, data_dir="data", num_clusters=6,
                        input_size=160, batch_size=8, epochs=30, weights=tiny_model,
                        evaluate=False, log=lambda *a: None))
    make_dataset(root / "heldout", images=300, seed=11, val_every=1)
    result = run_script("voc_annotation.py", "--data_dir", str(root / "heldout"),
                        "--classes_path", str(out / "classes.txt"), "--sets", "val",
                        "--out_dir", str(root / "lists"), "--quiet")
    assert result.returncode == 0, result.stderr
    (root / "lists" / "val_list.txt").rename(out / "heldout_list.txt")
    return out


def test_int8_keeps_the_map_of_a_trained_model(tmp_path, trained):
    """VOC mAP50 on 300 held-out images: int8 (calibrated on the training list), as ONNX
    and as TFLite, within 0.035 of fp32. Training on the CPU is not bitwise repeatable, so
    each run quantizes a slightly different model: over seven runs int8 lost 0.005–0.027
    (ONNX or TFLite, either the larger), which a 0.02 bound failed about half the time."""
    maps = {}
    int8 = ["--quantize", "int8", "--calibration", str(trained / "train_list.txt")]
    for name, flags in (("fp32.onnx", []), ("int8.onnx", int8), ("int8.tflite", int8)):
        exported = tmp_path / name
        result = run_script("export.py", str(trained / "trained_model.h5"), str(exported),
                            "--input_size", "160", *flags)
        assert result.returncode == 0, result.stderr
        result = run_script("evaluate.py", "--annot_file", str(trained / "heldout_list.txt"),
                            "--classes_path", str(trained / "classes.txt"), "--model_path",
                            str(exported), "--output_dir", str(tmp_path / f"eval-{name}"),
                            "--quiet")
        assert result.returncode == 0, result.stderr
        metrics = tmp_path / f"eval-{name}" / "metrics.json"
        maps[name] = json.loads(metrics.read_text())["voc_map50"]
    print("VOC mAP50 on 300 held-out images: " + ", ".join(
        f"{name} {value:.4f}" for name, value in maps.items()))
    assert maps["fp32.onnx"] >= 0.7  # a model that detects, so the comparison means something
    assert abs(maps["int8.onnx"] - maps["fp32.onnx"]) <= 0.035
    assert abs(maps["int8.tflite"] - maps["fp32.onnx"]) <= 0.035


@pytest.mark.parametrize("flags, phrase", [
    (["--quantize", "int8"], "needs --calibration"),
    (["--calibration", "LIST"], "applies to --quantize int8"),
    (["--quantize", "fp16", "--calibration", "LIST"], "applies to --quantize int8"),
    (["--quantize", "int8", "--calibration", "LIST", "--raw"], "not --raw"),
    (["--quantize", "int8", "--calibration", "EMPTY"], "lists no images"),
    (["--quantize", "int8", "--calibration", "BROKEN"], "could be read"),
    (["--quantize", "fp64", "--calibration", "LIST"], "invalid choice"),
])
def test_calibration_problems_are_one_line(tmp_path, tiny_model, calibration, flags, phrase):
    (tmp_path / "empty.txt").write_text("")
    (tmp_path / "bad.jpg").write_bytes(b"not a picture")
    (tmp_path / "broken.txt").write_text(f"{tmp_path / 'bad.jpg'}\n")
    before = tree_bytes(tmp_path)
    names = {"LIST": str(calibration), "EMPTY": str(tmp_path / "empty.txt"),
             "BROKEN": str(tmp_path / "broken.txt")}
    result = run_script("export.py", str(tiny_model), str(tmp_path / "out.onnx"),
                        *[names.get(f, f) for f in flags])
    assert_one_line_error(result, phrase)
    assert tree_bytes(tmp_path) == before
