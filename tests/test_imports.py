"""Heavy imports only where a model runs: data-only commands never load TensorFlow, and
importing the package's modules has no side effects on the process."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from helpers import REPO, SAMPLE, user_env

PROBE = """
import json, runpy, sys
sys.argv = {argv!r}
try:
    runpy.run_path({script!r}, run_name="__main__")
except SystemExit:
    pass
print(json.dumps([name in sys.modules for name in ("tensorflow", "keras")]))
"""


def loaded_after(script: str, *args: str, cwd) -> list[bool]:
    code = PROBE.format(argv=[script, *args], script=str(REPO / script))
    result = subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True,
                            text=True, timeout=300, env={**user_env(), "PYTHONPATH": str(REPO)})
    assert result.stdout.strip(), result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture
def data(tmp_path):
    annot = tmp_path / "list.txt"
    annot.write_text(f"{SAMPLE} 30,513,332,744,0\n")
    (tmp_path / "classes.txt").write_text("cat\n")
    (tmp_path / "d.json").write_text(json.dumps({str(SAMPLE): []}))
    (tmp_path / "m.onnx").write_bytes(b"an export")
    return tmp_path


@pytest.mark.parametrize("command", [
    ["kmeans.py", "--annot_file", "list.txt", "--num_clusters", "1", "--out_file", "a.txt"],
    ["evaluate.py", "--annot_file", "list.txt", "--classes_path", "classes.txt",
     "--detections", "d.json", "--output_dir", "eval"],
    ["voc_annotation.py", "--data_dir", "missing"],
    ["azureml_driver.py", "--dry-run"],
    ["deploy_to_azureml.py", "--dry-run", "--model", "m.onnx"],
    ["test_service.py", "--image", str(SAMPLE), "--url", "http://127.0.0.1:9/score"],
])
def test_data_only_commands_never_load_tensorflow(data, command):
    assert loaded_after(*command, cwd=data) == [False, False]


def test_importing_the_package_changes_nothing(tmp_path):
    code = ("import os, sys; before = dict(os.environ); import yolo, yolo3.evaluation, "
            "yolo3.data.annotations, yolo3.data.anchors, yolo3.data.voc, yolo3.data.coco, "
            "yolo3.darknet, yolo3.boxes, yolo3.files, yolo3.azure.job, yolo3.training.settings; "
            "print(dict(os.environ) == before, 'tensorflow' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                            text=True, timeout=120, env=user_env())
    assert result.stdout.split() == ["True", "False"], result.stderr
