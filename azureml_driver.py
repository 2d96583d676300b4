#!/usr/bin/env python
"""Train on Azure Machine Learning: edit SETTINGS below (or pass flags), then run.

    python azureml_driver.py                          # submit with SDK v2, stream, download
    python azureml_driver.py --dry-run                # print the job as YAML, contact nothing
    python azureml_driver.py --local data_root        # run the job's command on this machine
    python azureml_driver.py --sdk v1                 # the same job through azureml-core

The workspace comes from config.json (download it from the workspace's overview page in
the Azure portal into the folder you run this from, or point --workspace-config at it).
Azure sign-in uses DefaultAzureCredential (az login, a managed identity, environment
variables). The training data is the blob container behind the datastore; when the
datastore does not exist yet it is registered from the storage settings
(STORAGE_ACCOUNT_NAME with STORAGE_ACCOUNT_KEY or STORAGE_SAS_TOKEN, or identity-based).
Only project/ (with the yolo3 package and cfg/) is uploaded; data, outputs and secrets are
kept out by an ignore file.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

from yolo3.cli import ArgumentParser, run

# ================================ SETTINGS: edit these ================================
SETTINGS = {
    "experiment_name": "yolov3-custom",
    "compute_name": "gpu-cluster",            # created (0 to max_nodes nodes) when missing
    "vm_size": "Standard_NC4as_T4_v3",       # one T4 GPU; NC6 (K80) is retired
    "max_nodes": 2,
    "node_count": 1,                          # > 1: multi-node TensorFlow distribution
    "datastore_name": "trainingdata",
    "container": os.environ.get("STORAGE_CONTAINER_NAME_TRAINDATA", "traindata"),
    "storage_account": os.environ.get("STORAGE_ACCOUNT_NAME"),
    "data_dir": "Project-PascalVOC-export",  # the VoTT export folder in the container
    "class_path": None,                       # classes file in project/ (None: discovered)
    "weights": None,                          # pretrained model in project/ (convert.py)
    "num_clusters": 9,                        # 9: YOLOv3, 6: YOLOv3-tiny
    "batch_size": 8,
    "learning_rate": 1e-3,
    "epochs": 60,
    "frozen_epochs": None,                    # None: the first half
    "gpu_num": 0,                             # 0: every GPU of the node
    "input_size": 416,
    "model_name": "keras-yolov3",             # registered model
    "download_dir": "azureml_outputs",        # where the run's outputs are downloaded
    "workspace_config": "config.json",
}
# =======================================================================================

FLAGS = {  # flag → setting; upstream's spellings first
    "--experiment-name": "experiment_name", "--gpu-num": "gpu_num",
    "--class-path": "class_path", "--data-dir": "data_dir", "--num-clusters": "num_clusters",
    "--ds-name": "datastore_name", "--bs": "batch_size", "--lr": "learning_rate",
    "--epochs": "epochs", "--frozen-epochs": "frozen_epochs", "--weights": "weights",
    "--input-size": "input_size", "--compute-name": "compute_name", "--vm-size": "vm_size",
    "--max-nodes": "max_nodes", "--nodes": "node_count", "--container": "container",
    "--storage-account": "storage_account", "--model-name": "model_name",
    "--download-dir": "download_dir", "--workspace-config": "workspace_config",
}
BUILD = Path(__file__).resolve().parent / ".azureml_build"


INTEGERS = {"gpu_num", "num_clusters", "batch_size", "epochs", "frozen_epochs", "input_size",
            "max_nodes", "node_count"}


def parse_args(argv):
    parser = ArgumentParser(description=__doc__.split("\n\n")[0],
                            formatter_class=argparse.RawDescriptionHelpFormatter,
                            epilog=__doc__.split("\n\n", 1)[1])
    for flag, name in FLAGS.items():
        kind = int if name in INTEGERS else float if name == "learning_rate" else str
        parser.add_argument(flag, dest=name, type=kind, default=argparse.SUPPRESS,
                            help=f"default: {SETTINGS[name]!r}")
    parser.add_argument("--sdk", choices=("v2", "v1"), default="v2",
                        help="Azure ML SDK: v2 (azure-ai-ml, default) or v1 (azureml-core)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--dry-run", action="store_true",
                      help="print the job definition (YAML for v2) and contact nothing")
    mode.add_argument("--local", type=Path, metavar="DATA_ROOT",
                      help="run the job's command here, with DATA_ROOT as the mounted data")
    parser.add_argument("--no-wait", action="store_true", help="submit and return")
    parser.add_argument("--verbose", action="store_true",
                        help="show the Azure SDK's own text when signing in fails")
    return parser.parse_args(argv)


def job_settings(args):
    """SETTINGS with the flags given on top; YoloError naming the first impossible one."""
    from yolo3.azure_job import JobSettings
    from yolo3.errors import YoloError

    values = dict(SETTINGS)
    values.update({name: getattr(args, name) for name in FLAGS.values() if hasattr(args, name)})
    settings = JobSettings(**values)
    flag_of = {name: flag for flag, name in FLAGS.items()}
    for name, problem in settings.problems().items():
        where = flag_of[name] if hasattr(args, name) else f"SETTINGS[{name!r}]"
        raise YoloError(f"{where} {problem}")
    return settings


def main(argv=None) -> int:
    from yolo3.azure_job import build_snapshot

    args = parse_args(argv)
    settings = job_settings(args)
    if not args.dry_run and not args.local:
        from yolo3.azure_submit import read_workspace_config

        read_workspace_config(settings)  # before the snapshot and any sign-in
    code = build_snapshot(BUILD / "snapshot")
    if args.local:
        return run_local(settings, code, args.local)
    if args.dry_run:
        sys.stdout.write(dry_run_text(settings, code, args.sdk))
        return 0
    from yolo3 import azure_submit

    submit = azure_submit.submit_v2 if args.sdk == "v2" else azure_submit.submit_v1
    submit(settings, code, wait=not args.no_wait, verbose=args.verbose)
    return 0


def dry_run_text(settings, code: Path, sdk: str) -> str:
    """The complete job: v2 as a CommandJob YAML, v1 as the ScriptRunConfig's run config."""
    import contextlib
    import io
    import tempfile

    from yolo3.azure_job import datastore_path, v1_run_config, v2_job

    with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stdout(io.StringIO()):
        path = Path(tmp) / "job.yml"
        if sdk == "v2":
            v2_job(settings, code).dump(path)
            return path.read_text()
        import json

        config = v1_run_config(settings, code, datastore_path(settings) + settings.data_dir)
        return json.dumps({"source_directory": config.source_directory,
                           "script": config.script, "arguments": config.arguments,
                           "compute_target": config.run_config.target,
                           "environment": config.run_config.environment.name,
                           "base_image": config.run_config.environment.docker.base_image,
                           "environment_variables": config.run_config.environment_variables},
                          indent=1) + "\n"


def run_local(settings, code: Path, data_root: Path) -> int:
    """The job's own command on this machine; outputs end in the download folder."""
    from yolo3.errors import YoloError

    if not data_root.is_dir():
        raise YoloError(f"{data_root}: no such data folder")
    workdir = BUILD / "local_run"
    if workdir.exists():
        shutil.rmtree(workdir)
    shutil.copytree(code, workdir)
    command = [sys.executable, "train_azureml.py",
               *[str(a) for a in settings.arguments(str(data_root.resolve()))]]
    print("Running:", " ".join(command), flush=True)
    result = subprocess.run(command, cwd=workdir)
    if result.returncode:
        raise YoloError(f"the training command failed (exit {result.returncode})")
    target = Path(settings.download_dir)
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(workdir / "outputs", target)
    print(f"Outputs in {target}: trained_model.h5, custom_anchors.txt, classes.txt, "
          "metrics.json, ...")
    return 0


if __name__ == "__main__":
    sys.exit(run(main))
