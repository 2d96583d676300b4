"""yolo3.export.quantize through export.py: int8 detection graphs keep the detections and
the mAP of fp32; calibration input is checked."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from helpers import REPO, SAMPLE, assert_one_line_error, box_iou, run_script, tree_bytes
from helpers import SAMPLE_GT_LINE as GT_LINE


@pytest.fixture(scope="module")
def calibration(tmp_path_factory):
    """Six pictures: the sample, its mirror image and its four quarters."""
    folder = tmp_path_factory.mktemp("calibration")
    image = Image.open(SAMPLE).convert("RGB")
    w, h = image.size
    pictures = [image, image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)] + [
        image.crop((x, y, x + w // 2, y + h // 2)) for x in (0, w // 2) for y in (0, h // 2)]
    lines = []
    for i, picture in enumerate(pictures):
        path = folder / f"{i}.jpg"
        picture.save(path, quality=95)
        lines.append(f"{path}\n")
    listing = folder / "calibration.txt"
    listing.write_text("".join(lines))
    return listing


def test_int8_keeps_the_detections_and_the_map(tmp_path, tiny_model, tiny_onnx, calibration):
    import onnx

    int8 = tmp_path / "tiny-int8.onnx"
    result = run_script("export.py", str(tiny_model), str(int8), "--quantize", "int8",
                        "--calibration", str(calibration))
    assert result.returncode == 0, result.stderr
    assert "int8, calibrated on 6 images" in result.stdout and result.stderr == ""
    proto = onnx.load(str(int8))
    ops = {node.op_type for node in proto.graph.node}
    assert "QuantizeLinear" in ops and "DequantizeLinear" in ops
    info = json.loads({p.key: p.value for p in proto.metadata_props}["yolo3"])
    assert info["extra"]["quantization"] == {"kind": "int8", "images": 6,
                                             "calibration": str(calibration)}

    from yolo3.inference.onnx_detector import OnnxDetector

    image = Image.open(SAMPLE)
    fp32 = OnnxDetector(tiny_onnx).detect(image)
    quantized = OnnxDetector(int8).detect(image)
    assert [d["class_id"] for d in quantized] == [d["class_id"] for d in fp32]
    for a, b in zip(quantized, fp32):
        assert box_iou(a["box"], b["box"]) >= 0.9 and abs(a["score"] - b["score"]) <= 0.05

    annot = tmp_path / "val_list.txt"
    annot.write_text(GT_LINE)
    maps = {}
    for name, model in (("fp32", tiny_onnx), ("int8", int8)):
        result = run_script("evaluate.py", "--annot_file", str(annot), "--classes_path",
                            str(REPO / "model_data/coco_classes.txt"), "--model_path",
                            str(model), "--output_dir", str(tmp_path / name), "--quiet")
        assert result.returncode == 0, result.stderr
        maps[name] = json.loads((tmp_path / name / "metrics.json").read_text())
    print({name: m["voc_map50"] for name, m in maps.items()})
    assert abs(maps["int8"]["voc_map50"] - maps["fp32"]["voc_map50"]) <= 0.02


@pytest.mark.parametrize("flags, phrase", [
    (["--quantize", "int8"], "needs --calibration"),
    (["--calibration", "LIST"], "applies to --quantize int8"),
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
