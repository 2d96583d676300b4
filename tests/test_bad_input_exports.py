"""Bad input, exports: a file whose metadata is damaged or describes another graph, or that
is no model at all, is one line naming the file and the field — through yolo_video.py,
evaluate.py and deploy_to_azureml.py alike (ONNX Runtime and OpenVINO read the same
metadata); nothing is written, no input changes. The SavedModel case is in test_export."""

from __future__ import annotations

import json

import pytest

from helpers import REPO, SAMPLE, assert_one_line_error, run_script, tree_bytes

COCO = str(REPO / "model_data" / "coco_classes.txt")
DAMAGES = {
    "size-of-another-graph": ({"input_size": [320, 320]}, "disagrees with its graph"),
    "size-as-text": ({"input_size": "416"}, "'input_size' must be list"),
    "size-zero": ({"input_size": [0, 0]}, "'input_size' [0, 0]"),
    "ragged-anchors": ({"anchors": [[10, 14], [23]]}, "'anchors' must be"),
    "nms-without-keys": ({"nms": {}}, "'nms' needs 'score'"),
    "raw-heads": ({"graph": "raw"}, "holds only the raw head outputs"),
}


def damaged_export(tmp_path, tiny_onnx, case: str):
    import onnx

    model = onnx.load(str(tiny_onnx))
    if case == "not-a-model":
        path = tmp_path / "junk.onnx"
        path.write_bytes(bytes(range(256)) * 40)
        return path, "not a readable ONNX model"
    if case == "no-metadata":
        del model.metadata_props[:]
        phrase = "carries no yolo3 metadata"
    else:
        change, phrase = DAMAGES[case]
        entry = next(p for p in model.metadata_props if p.key == "yolo3")
        entry.value = json.dumps({**json.loads(entry.value), **change})
    path = tmp_path / f"{case}.onnx"
    onnx.save(model, str(path))
    return path, phrase


CASES = [*DAMAGES, "not-a-model"]


@pytest.mark.parametrize("case", CASES)
def test_yolo_video(tmp_path, tiny_onnx, case):
    model, phrase = damaged_export(tmp_path, tiny_onnx, case)
    before = tree_bytes(tmp_path)
    result = run_script("yolo_video.py", "--model_path", str(model), "--image", "--input",
                        str(SAMPLE), "--output", str(tmp_path / "out.jpg"),
                        "--json", str(tmp_path / "found.json"))
    assert_one_line_error(result, str(model), phrase)
    assert tree_bytes(tmp_path) == before


@pytest.mark.parametrize("case", CASES)
def test_evaluate(tmp_path, tiny_onnx, case):
    model, phrase = damaged_export(tmp_path, tiny_onnx, case)
    listing = tmp_path / "list.txt"
    listing.write_text(f"{SAMPLE} 30,513,332,744,15\n")
    before = tree_bytes(tmp_path)
    result = run_script("evaluate.py", "--annot_file", str(listing), "--classes_path", COCO,
                        "--model_path", str(model), "--output_dir", str(tmp_path / "eval"))
    assert_one_line_error(result, str(model), phrase)
    assert tree_bytes(tmp_path) == before


@pytest.mark.parametrize("case", [*CASES, "no-metadata"])
def test_deploy_dry_run_opens_the_model_as_the_endpoint_will(tmp_path, tiny_onnx, case):
    """score.py's init() would refuse each of these at start-up on Azure: --dry-run (and
    every other mode) refuses it first, printing no YAML."""
    model, phrase = damaged_export(tmp_path, tiny_onnx, case)
    before = tree_bytes(tmp_path)
    result = run_script("deploy_to_azureml.py", "--model", str(model), "--dry-run",
                        cwd=tmp_path)
    assert_one_line_error(result, phrase)
    assert result.stdout == "" and tree_bytes(tmp_path) == before
