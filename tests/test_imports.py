"""Heavy imports only where a model runs: data-only commands never load TensorFlow, and
importing the package's modules has no side effects on the process."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

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


# The sub-packages lowest first: each may import the package's core (its top-level
# modules) and the sub-packages before it, never a later one. Deferred imports inside
# functions count too: a knot hidden in a function is still a knot.
LAYERS = ("darknet", "model", "data", "inference", "export", "evaluation", "training",
          "serving", "azure")
ROOT_SCRIPTS = tuple(sorted(p.stem for p in REPO.glob("*.py")))


def upward_imports(package: Path) -> list[str]:
    """Every import in ``package`` that goes against LAYERS, or from the core into a
    sub-package, or to one of the repository's root scripts: 'module -> imported' each."""
    rank = {name: i for i, name in enumerate(LAYERS)}
    found = []
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(package.parent).with_suffix("").parts
        module = ".".join(parts)
        layer = parts[1] if len(parts) > 2 else None  # None: the core
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                # "from yolo3 import data" imports a sub-package by its alias' name
                targets = ([f"{node.module}.{alias.name}" for alias in node.names]
                           if node.module == package.name else [node.module])
            else:
                continue
            for target in targets:
                pieces = target.split(".")
                if pieces[0] in ROOT_SCRIPTS:
                    found.append(f"{module} -> {target} (a root script)")
                if pieces[0] != package.name or len(pieces) < 2 or pieces[1] not in rank:
                    continue
                if pieces[1] == layer:
                    continue
                if layer is None or rank[pieces[1]] > rank[layer]:
                    found.append(f"{module} -> {target}")
    return found


def test_sub_packages_import_only_downward():
    assert upward_imports(REPO / "yolo3") == []
    assert {p.name for p in (REPO / "yolo3").iterdir() if (p / "__init__.py").is_file()} \
        == set(LAYERS)


def test_the_layer_walk_finds_upward_imports(tmp_path):
    package = tmp_path / "yolo3"
    for layer in ("data", "inference"):
        (package / layer).mkdir(parents=True)
        (package / layer / "__init__.py").write_text("")
    (package / "images.py").write_text("def f():\n    from yolo3.data import pipeline\n")
    (package / "data" / "x.py").write_text("from yolo3.inference.images import letterbox\n")
    (package / "inference" / "y.py").write_text("import yolo3.data.x\nfrom yolo3 import images\n")
    (package / "data" / "z.py").write_text("from yolo3 import inference\n")
    (package / "boxes.py").write_text("import yolo\n")
    assert upward_imports(package) == ["yolo3.boxes -> yolo (a root script)",
                                       "yolo3.data.x -> yolo3.inference.images",
                                       "yolo3.data.z -> yolo3.inference",
                                       "yolo3.images -> yolo3.data"]
