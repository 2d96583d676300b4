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

from yolo3.azure.job import driver_settings  # noqa: E402  (TensorFlow-free)
from yolo3.cli import ArgumentParser, run

# ================================ SETTINGS: edit these ================================
# Every Azure setting (yolo3/azure_job.py) and every training setting the job forwards to
# train_azureml.py (yolo3/training/settings.py) is a key here, with its default; each also
# has a flag (--help lists them). Change the values you need:
SETTINGS = driver_settings()
SETTINGS.update({
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
    "epochs": 60,
})
# =======================================================================================

BUILD = Path(__file__).resolve().parent / ".azureml_build"


def parse_args(argv):
    from yolo3.azure.job import driver_flags

    parser = ArgumentParser(description=__doc__.split("\n\n")[0],
                            formatter_class=argparse.RawDescriptionHelpFormatter,
                            epilog=__doc__.split("\n\n", 1)[1])
    for flags, name, kind, help_text in driver_flags():
        parser.add_argument(*flags, dest=name, type=kind, default=argparse.SUPPRESS,
                            help=f"{help_text} (SETTINGS: {SETTINGS[name]!r})")
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
    from yolo3.azure.job import driver_flags, job_settings_from
    from yolo3.errors import YoloError

    values = dict(SETTINGS)
    values.update({name: value for name, value in vars(args).items() if name in SETTINGS})
    settings = job_settings_from(values)
    flag_of = {name: flags[-1] if len(flags) > 1 else flags[0]
               for flags, name, _, _ in driver_flags()}
    for name, problem in settings.problems().items():
        where = flag_of[name] if name in vars(args) else f"SETTINGS[{name!r}]"
        raise YoloError(f"{where} {problem}")
    return settings


def main(argv=None) -> int:
    from yolo3.azure.job import build_snapshot

    args = parse_args(argv)
    settings = job_settings(args)
    if not args.dry_run and not args.local:
        from yolo3.azure.submit import read_workspace_config

        read_workspace_config(settings)  # before the snapshot and any sign-in
    code = build_snapshot(BUILD / "snapshot")
    if args.local:
        return run_local(settings, code, args.local)
    if args.dry_run:
        sys.stdout.write(dry_run_text(settings, code, args.sdk))
        return 0
    from yolo3.azure import submit as azure_submit

    submit = azure_submit.submit_v2 if args.sdk == "v2" else azure_submit.submit_v1
    submit(settings, code, wait=not args.no_wait, verbose=args.verbose)
    return 0


def dry_run_text(settings, code: Path, sdk: str) -> str:
    """The complete job: v2 as a CommandJob YAML, v1 as the ScriptRunConfig's run config."""
    import contextlib
    import io
    import tempfile

    from yolo3.azure.job import datastore_path, v1_run_config, v2_job

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
