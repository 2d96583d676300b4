"""yolo3.azure.job and azureml_driver.py, offline: the job objects, dry runs, local runs."""

from __future__ import annotations

import json
import shutil

import pytest
import yaml

import azureml_driver
from helpers import REPO, run_script
from yolo3.azure.job import JobSettings, build_snapshot, v1_run_config, v2_job
from yolo3.azure.submit import _need_account, submit_v1, submit_v2
from yolo3.errors import YoloError

FORWARDED = ["--experiment-name", "cars", "--gpu-num", "2", "--class-path", "custom_classes.txt",
             "--data-dir", "Traffic-PascalVOC-export", "--num-clusters", "6", "--ds-name",
             "trafficstore", "--bs", "4", "--lr", "0.002", "--epochs", "12", "--nodes", "2"]


def test_v2_dry_run_is_a_loadable_job_with_every_setting(tmp_path):
    from azure.ai.ml import load_job

    result = run_script("azureml_driver.py", "--dry-run", *FORWARDED)
    assert result.returncode == 0, result.stderr
    spec = yaml.safe_load(result.stdout)  # nothing but the YAML on stdout
    (tmp_path / "job.yml").write_text(result.stdout)
    job = load_job(tmp_path / "job.yml")
    assert job.experiment_name == "cars" and job.environment_variables == {
        "TF_USE_LEGACY_KERAS": "0"}
    inputs = spec["inputs"]
    assert inputs["data"] == {"mode": "ro_mount", "type": "uri_folder",
                              "path": "azureml://datastores/trafficstore/paths/"}
    assert {k: inputs[k] for k in ("gpu_num", "class_path", "data_dir", "num_clusters",
                                   "batch_size", "learning_rate", "epochs")} == {
        "gpu_num": 2, "class_path": "custom_classes.txt", "data_dir": "Traffic-PascalVOC-export",
        "num_clusters": 6, "batch_size": 4, "learning_rate": 0.002, "epochs": 12}
    for name in ("data_dir", "num_clusters", "batch_size", "learning_rate", "epochs",
                 "gpu_num", "class_path"):
        assert f"--{name} ${{{{inputs.{name}}}}}" in job.command
    assert spec["distribution"]["worker_count"] == 2 and spec["resources"]["instance_count"] == 2
    assert spec["compute"] == "azureml:gpu-cluster"
    assert "tensorflow[and-cuda]>=2.21,<2.22" in spec["environment"]["conda_file"][
        "dependencies"][2]["pip"]


def test_v1_run_config_carries_the_same_arguments_and_environment(tmp_path):
    settings = azureml_driver.job_settings(azureml_driver.parse_args(FORWARDED))
    code = build_snapshot(tmp_path / "snapshot")
    config = v1_run_config(settings, code, "DATA")
    args = dict(zip(config.arguments[::2], config.arguments[1::2]))
    assert args == {"--data_path": "DATA", "--data_dir": "Traffic-PascalVOC-export",
                    "--num_clusters": 6, "--batch_size": 4, "--learning_rate": 0.002,
                    "--epochs": 12, "--gpu_num": 2, "--input_size": 416,
                    "--class_path": "custom_classes.txt", "--output_dir": "outputs"}
    v2 = v2_job(settings, code)
    assert {f"--{k}": v for k, v in v2.inputs.items() if k != "data"}.keys() == \
        {k for k in args if k not in ("--data_path", "--output_dir")}
    env = config.run_config.environment
    assert env.docker.base_image == v2.environment.image
    assert config.run_config.environment_variables == {"TF_USE_LEGACY_KERAS": "0"}
    assert config.run_config.node_count == 2 and config.script == "train_azureml.py"
    result = run_script("azureml_driver.py", "--dry-run", "--sdk", "v1", *FORWARDED)
    assert json.loads(result.stdout)["arguments"][:2] == [
        "--data_path", "azureml://datastores/trafficstore/paths/Traffic-PascalVOC-export"]


def test_snapshot_holds_the_code_and_no_secret(tmp_path):
    source = tmp_path / "repo"
    for folder in ("project", "yolo3", "cfg"):
        shutil.copytree(REPO / folder, source / folder,
                        ignore=shutil.ignore_patterns("__pycache__"))
    for secret in ("myenvs.txt", "config.json", ".env", "outputs/trained_model.h5",
                   "data/img.jpg"):
        (source / "project" / secret).parent.mkdir(parents=True, exist_ok=True)
        (source / "project" / secret).write_text("secret")
    code = build_snapshot(tmp_path / "snapshot", source)
    names = {p.relative_to(code).as_posix() for p in code.rglob("*")}
    assert {"train_azureml.py", "yolo3/training/run.py", "cfg/yolov3.cfg", ".amlignore"} <= names
    assert not {n for n in names if n.split("/")[0] in ("myenvs.txt", "config.json", ".env",
                                                         "outputs", "data")}


@pytest.mark.parametrize("submit", [submit_v2, submit_v1])
def test_missing_workspace_config_is_one_clear_line(tmp_path, submit):
    settings = JobSettings(workspace_config=str(tmp_path / "config.json"))
    with pytest.raises(YoloError, match="no workspace config at .*config.json: download"):
        submit(settings, tmp_path)


def test_driver_reports_missing_config_and_storage(tmp_path):
    result = run_script("azureml_driver.py", "--workspace-config", str(tmp_path / "c.json"))
    assert result.returncode == 1 and len(result.stderr.strip().splitlines()) == 1
    assert "no workspace config" in result.stderr
    with pytest.raises(YoloError, match="no storage account is set"):
        _need_account(JobSettings(storage_account=None))


def test_local_run_trains_and_downloads(tmp_path, shapes_export):
    result = run_script("azureml_driver.py", "--local", str(shapes_export), "--data-dir", "data",
                        "--num-clusters", "6", "--epochs", "1", "--bs", "8", "--input-size",
                        "96", "--download-dir", str(tmp_path / "downloaded"), timeout=400)
    assert result.returncode == 0, result.stderr[-3000:]
    downloaded = tmp_path / "downloaded"
    for name in ("trained_model.h5", "custom_anchors.txt", "classes.txt", "metrics.json"):
        assert (downloaded / name).is_file(), name


def test_the_recipe_and_map_every_reach_the_job():
    args = azureml_driver.parse_args([*FORWARDED, "--recipe", "keras-yolo3",
                                      "--map-every", "5"])
    settings = azureml_driver.job_settings(args)
    code_args = v1_run_config(settings, REPO / "project", "DATA").arguments
    args_map = dict(zip(code_args[::2], code_args[1::2]))
    assert args_map["--recipe"] == "keras-yolo3" and args_map["--map_every"] == 5
    assert v2_job(settings, REPO / "project").inputs["recipe"] == "keras-yolo3"
    # the default recipe is the script's own default: nothing to forward
    plain = azureml_driver.job_settings(azureml_driver.parse_args(FORWARDED))
    assert "--recipe" not in v1_run_config(plain, REPO / "project", "DATA").arguments
    with pytest.raises(YoloError, match="recipe"):
        azureml_driver.job_settings(azureml_driver.parse_args([*FORWARDED, "--recipe",
                                                               "yolov9"]))
