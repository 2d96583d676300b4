"""Bad input, class 6: unchecked arguments and file schemas are one line and a non-zero
exit: training flags, COCO JSON, detections JSON, the Azure driver's settings, storage
credentials and sign-in."""

from __future__ import annotations

import json

import pytest

import exports
from helpers import SAMPLE, assert_one_line_error, run_script, tree_bytes, user_env


@pytest.mark.parametrize("flag, value, message", [
    ("--batch_size", "0", "must be at least 1"),
    ("--batch_size", "-1", "must be at least 1"),
    ("--epochs", "0", "must be at least 1"),
    ("--learning_rate", "inf", "finite number above 0"),
    ("--learning_rate", "-0.1", "finite number above 0"),
    ("--input_size", "100", "multiple of 32"),
    ("--frozen_epochs", "-1", "between 0 and --epochs"),
    ("--val_split", "1", "below 1"),
    ("--num_clusters", "5", "invalid choice"),
    ("--gpu_num", "-2", "--gpu_num"),
    ("--recipe", "yolov9", "invalid choice"),
    ("--model_size", "v4-csp", "invalid choice"),
    ("--map_every", "-1", "--map_every"),
    ("--cache", "disk", "invalid choice"),
    ("--workers", "-1", "--workers"),
])
def test_training_flags(tmp_path, flag, value, message):
    result = run_script("project/train_azureml.py", flag, value, "--output_dir",
                        str(tmp_path / "o"))
    assert_one_line_error(result, flag, message, code=2)
    assert not (tmp_path / "o").exists()


def coco_with(tmp_path, change):
    path, images = exports.coco(tmp_path)
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data).replace("NaN_PLACEHOLDER", "NaN"))
    return path, images


COCO_CASES = {
    "missing width": (lambda d: d["images"][0].pop("width"), '"width" must be a number'),
    "width as a string": (lambda d: d["images"][0].update(width="10"), '"width" must be a'),
    "width 0": (lambda d: d["images"][0].update(width=0), '"width" must be above 0'),
    "annotations not a list": (lambda d: d.update(annotations={"1": {}}),
                               '"annotations": expected a list'),
    "category without a name": (lambda d: d["categories"][0].pop("name"),
                                '"name" must be a non-empty string'),
    "NaN in a bbox": (lambda d: d["annotations"][0].update(bbox=[1, 2, "NaN_PLACEHOLDER", 3]),
                      '"bbox" must be 4 numbers'),
    "400-digit bbox": (lambda d: d["annotations"][0].update(bbox=[1, 2, 10**400, 3]),
                       '"bbox" must be 4 numbers'),
    "400-digit width": (lambda d: d["images"][0].update(width=10**400), '"width" must be a'),
    "bbox as text": (lambda d: d["annotations"][0].update(bbox="1,2,3,4"),
                     '"bbox" must be 4 numbers'),
    "unknown category": (lambda d: d["annotations"][0].update(category_id=7),
                         "category_id 7 is not among the categories"),
    "categories missing": (lambda d: d.pop("categories"), '"categories": missing'),
    "not an object": (lambda d: d.clear(), '"categories": missing'),
}


@pytest.mark.parametrize("case", COCO_CASES)
def test_coco_schema(tmp_path, case):
    change, message = COCO_CASES[case]
    path, images = coco_with(tmp_path, change)
    before = tree_bytes(tmp_path)
    result = run_script("voc_annotation.py", "--coco", str(path), "--coco_images", str(images),
                        "--out_dir", str(tmp_path / "p"))
    assert_one_line_error(result, "instances.json", message, "not a COCO instances file")
    assert tree_bytes(tmp_path) == before


@pytest.mark.parametrize("detection, message", [
    ({"class_id": "cat", "score": 0.5, "box": [1, 2, 3, 4]}, "class_id must be an integer"),
    ({"class_id": 0, "score": "high", "box": [1, 2, 3, 4]}, "score must be a finite number"),
    ({"class_id": 0, "score": "NaN", "box": [1, 2, 3, 4]}, "score must be a finite number"),
    ({"class_id": 0, "score": 10**400, "box": [1, 2, 3, 4]}, "score must be a finite number"),
    ({"class_id": 0, "score": 0.5, "box": [1, 2, "NaN", 4]}, "box must be 4 finite numbers"),
    ({"class_id": 0, "score": 0.5, "box": [1, 2, 3]}, "box must be 4 finite numbers"),
    ("just text", "a detection must be an object"),
])
def test_detections_schema(tmp_path, detection, message):
    annot = tmp_path / "val.txt"
    annot.write_text(f"{SAMPLE} 30,513,332,744,0\n")
    classes = tmp_path / "classes.txt"
    classes.write_text("cat\n")
    report = tmp_path / "d.json"
    text = json.dumps({str(SAMPLE): [detection]}).replace('"NaN"', "NaN")
    report.write_text(text)
    result = run_script("evaluate.py", "--annot_file", str(annot), "--classes_path",
                        str(classes), "--detections", str(report), "--output_dir",
                        str(tmp_path / "e"))
    assert_one_line_error(result, "d.json", message)
    assert not (tmp_path / "e").exists()


@pytest.mark.parametrize("flags, message", [
    (["--nodes", "0"], "--nodes is 0; it must be between 1 and the cluster's max_nodes (2)"),
    (["--nodes", "-3"], "--nodes is -3"),
    (["--nodes", "3"], "--nodes is 3; it must be between 1 and the cluster's max_nodes"),
    (["--max-nodes", "0"], "--max-nodes is 0; it must be at least 1"),
    (["--epochs", "0"], "--epochs is 0; it must be at least 1"),
    (["--bs", "0"], "--bs is 0; it must be at least 1"),
    (["--lr", "nan"], "--lr is nan; it must be a finite number above 0"),
    (["--num-clusters", "4"], "--num-clusters is 4; it must be 6 or 9"),
    (["--input-size", "300"], "a positive multiple of 32"),
    (["--frozen-epochs", "99"], "--frozen-epochs is 99; it must be between 0 and --epochs"),
])
def test_driver_settings(flags, message):
    result = run_script("azureml_driver.py", "--dry-run", *flags)
    assert_one_line_error(result, message)
    assert result.stdout == ""  # no YAML for an impossible job


def no_azure_env(tmp_path) -> dict:
    """An environment without any Azure sign-in: no credentials, no CLI token cache."""
    env = {k: v for k, v in user_env().items()
           if not k.startswith(("AZURE_", "STORAGE_", "MSI_", "IDENTITY_"))}
    env["HOME"] = str(tmp_path)  # the Azure CLI and azd keep their tokens under $HOME
    env["AZURE_CONFIG_DIR"] = str(tmp_path / ".azure")
    return env


def run_clean(tmp_path, *args):
    import subprocess
    import sys

    from helpers import REPO

    script, *rest = args
    return subprocess.run([sys.executable, str(REPO / script), *rest], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300, env=no_azure_env(tmp_path))


@pytest.mark.parametrize("content, message", [
    ("{not json", "not JSON"),
    ('{"subscription_id": "s"}', "missing resource_group, workspace_name"),
    ("[1, 2]", "missing subscription_id"),
])
def test_driver_workspace_config(tmp_path, content, message):
    (tmp_path / "config.json").write_text(content)
    result = run_clean(tmp_path, "azureml_driver.py")
    assert_one_line_error(result, "config.json", message, "download config.json again")


@pytest.mark.parametrize("sdk", ["v2", "v1"])
def test_driver_without_sign_in(tmp_path, sdk):
    (tmp_path / "config.json").write_text(json.dumps(
        {"subscription_id": "00000000-0000-0000-0000-000000000000", "resource_group": "rg",
         "workspace_name": "ws"}))
    result = run_clean(tmp_path, "azureml_driver.py", "--sdk", sdk)
    assert_one_line_error(result, "Azure sign-in failed", "az login", "--verbose")
    verbose = run_clean(tmp_path, "azureml_driver.py", "--sdk", sdk, "--verbose")
    assert verbose.returncode == 1 and "Traceback" not in verbose.stderr
    assert len(verbose.stderr.splitlines()) > 1 and "EnvironmentCredential" in verbose.stderr


def test_upload_with_a_garbage_connection_string(tmp_path):
    (tmp_path / "data").mkdir()
    env = no_azure_env(tmp_path)
    env["STORAGE_CONNECTION_STRING"] = "AccountKey=s3cr3t-but-garbage"
    import subprocess
    import sys

    from helpers import REPO

    result = subprocess.run([sys.executable, str(REPO / "upload_to_blob.py"), "--dir",
                             str(tmp_path / "data"), "--container", "raw"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120, env=env)
    assert_one_line_error(result, "STORAGE_CONNECTION_STRING is malformed")
    assert "s3cr3t" not in result.stderr + result.stdout


def test_upload_with_an_account_but_no_sign_in(tmp_path):
    (tmp_path / "data").mkdir()
    result = run_clean(tmp_path, "upload_to_blob.py", "--dir", str(tmp_path / "data"),
                       "--container", "raw", "--account", "nosuchaccount")
    assert_one_line_error(result, "Azure sign-in failed", "az login")  # before any request


@pytest.mark.parametrize("command, message", [
    (["upload_to_blob.py", "--dir", ".", "--container", "c", "--workers", "0"],
     "--workers must be at least 1"),
    (["kmeans.py", "--annot_file", "l.txt", "--max_pixels", "-5"], "--max_pixels"),
    (["evaluate.py", "--annot_file", "l.txt", "--classes_path", "c.txt", "--detections",
      "d.json", "--output_dir", "e", "--max_pixels", "many"], "--max_pixels"),
    (["voc_annotation.py", "--max_pixels", "0"], "--max_pixels"),
    (["project/train_azureml.py", "--max_pixels", "0"], "--max_pixels"),
    (["convert.py", "--to_darknet", "--allow_nonfinite", "m.h5", "o.weights"],
     "apply to Darknet → Keras only"),
])
def test_new_flags_refuse_bad_values(tmp_path, command, message):
    before = tree_bytes(tmp_path)
    result = run_script(*command, cwd=tmp_path)
    assert_one_line_error(result, message, code=2)
    assert tree_bytes(tmp_path) == before
