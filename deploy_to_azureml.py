#!/usr/bin/env python
"""Deploy an exported detector to an Azure ML managed online endpoint: edit SETTINGS below
(or pass flags), then run.

    python deploy_to_azureml.py --model yolo-tiny.onnx             # register, deploy, route
    python deploy_to_azureml.py --model yolo-tiny.onnx --dry-run   # print the YAML only
    python deploy_to_azureml.py --model yolo-tiny.onnx --local     # the same scoring here
    python deploy_to_azureml.py --job JOB_NAME                     # a training job's model
    python deploy_to_azureml.py --delete                           # remove the endpoint

The model is an export.py file (.onnx, or .tflite): the serving environment
(requirements-serve.txt on Azure's CPU inference image) has no TensorFlow. --job takes the
trained_model.h5 of a finished azureml_driver.py job instead, downloaded and exported here.
The workspace comes from config.json (--workspace-config), sign-in from
DefaultAzureCredential (az login, a managed identity, a service principal's environment
variables). Prints the scoring URI; the key stays in the workspace (az ml online-endpoint
get-credentials, or the portal).
--local starts Microsoft's inference server (azmlinfsrv, what the endpoint runs) on
127.0.0.1 (--host for another address) with the same scoring script and model, until
Ctrl-C; its log stays in .azureml_build/serve/local/. Every mode but --delete first opens
the model exactly as the scoring script will, so what it cannot serve is refused here.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import fields, replace
from pathlib import Path

from yolo3.azure.deploy import DeploySettings
from yolo3.cli import ArgumentParser, run
from yolo3.errors import YoloError

# ================================ SETTINGS: edit these ================================
SETTINGS = {field.name: field.default for field in fields(DeploySettings)}
SETTINGS.update({
    "endpoint_name": "yolov3-custom",       # part of the scoring URI; unique in the region
    "deployment_name": "blue",
    "model": "yolo-tiny.onnx",              # export.py output
    "instance_type": "Standard_DS3_v2",     # CPU; see the endpoint SKU list for others
    "instance_count": 1,
})
# =======================================================================================

BUILD = Path(__file__).resolve().parent / ".azureml_build" / "serve"
LOOPBACK = "127.0.0.1"


def parse_args(argv):
    parser = ArgumentParser(description=__doc__.split("\n\n")[0],
                            formatter_class=argparse.RawDescriptionHelpFormatter,
                            epilog=__doc__.split("\n\n", 1)[1])
    for field in fields(DeploySettings):
        flag = "--" + field.name.replace("_", "-")
        parser.add_argument(flag, dest=field.name, default=argparse.SUPPRESS,
                            type=int if field.type in (int, "int") else str,
                            help=f"(SETTINGS: {SETTINGS[field.name]!r})")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--dry-run", action="store_true",
                      help="print the endpoint and deployment YAML; contact nothing")
    mode.add_argument("--local", action="store_true",
                      help="serve the model with the scoring script here (azmlinfsrv)")
    mode.add_argument("--delete", action="store_true", help="delete the endpoint")
    parser.add_argument("--job", help="deploy the trained model of this finished training "
                                      "job (downloaded and exported to ONNX here)")
    parser.add_argument("--port", type=int, default=5001, help="--local's port (5001)")
    parser.add_argument("--host", default=LOOPBACK,
                        help=f"--local's address ({LOOPBACK}, this machine only; 0.0.0.0 "
                             "for every interface)")
    args = parser.parse_args(argv)
    if not 1 <= args.port <= 65535:
        parser.error(f"--port must be from 1 to 65535, not {args.port}")
    return args


def deploy_settings(args) -> DeploySettings:
    settings = replace(DeploySettings(), **{**SETTINGS, **{
        f.name: getattr(args, f.name) for f in fields(DeploySettings) if hasattr(args, f.name)}})
    problems = settings.problems()
    if args.delete or args.job:  # no model file given: none to check
        problems = {k: v for k, v in problems.items() if k != "model"}
    for name, problem in problems.items():
        where = "--" + name.replace("_", "-") if hasattr(args, name) else f"SETTINGS[{name!r}]"
        raise YoloError(f"{where} {problem}")
    return settings


def main(argv=None) -> int:
    from yolo3.azure import deploy

    args = parse_args(argv)
    if args.job and (args.dry_run or args.local or args.delete):
        raise YoloError("--job needs the workspace: not with --dry-run, --local or --delete")
    settings = deploy_settings(args)
    if not (args.delete or args.job):
        from yolo3.serving.model import open_served

        open_served(Path(settings.model))  # what score.py's init() will do, now
    if args.local:
        return serve_locally(settings, args.host, args.port)
    if not args.dry_run:
        from yolo3.azure.submit import read_workspace_config

        read_workspace_config(settings)  # before any snapshot or sign-in
    if args.delete:
        deploy.delete(settings)
        print(f"Deleted endpoint {settings.endpoint_name}.")
        return 0
    if args.job:
        settings = replace(settings, model=str(deploy.model_from_job(
            settings, args.job, BUILD / "jobs" / args.job)))
    code = deploy.build_snapshot(BUILD / "snapshot")
    if args.dry_run:
        sys.stdout.write(deploy.as_yaml(deploy.endpoint(settings)) + "---\n"
                         + deploy.as_yaml(deploy.deployment(settings, code)))
        return 0
    uri = deploy.deploy(settings, code)
    print(f"Scoring URI: {uri}")
    print(f"Call it: SCORING_URI={uri} WEBSERVICE_KEY=<key> python test_service.py --image "
          f"IMG  (the key: az ml online-endpoint get-credentials -n {settings.endpoint_name})")
    return 0


def serve_locally(settings: DeploySettings, host: str, port: int) -> int:
    import shutil

    from yolo3.serving.local import LocalServer, port_problem
    from yolo3.serving.model import MODEL_FILE_VARIABLE

    problem = port_problem(host, port)
    if problem:
        raise YoloError(f"--host/--port: {problem}")
    name = Path(settings.model).name
    with tempfile.TemporaryDirectory() as tmp:
        models = Path(tmp) / "models"
        models.mkdir()
        shutil.copy(settings.model, models / name)
        log = BUILD / "local" / "azmlinfsrv.log"  # kept: the reason a server stopped
        with LocalServer(models, port=port, host=host, log_path=log,
                         environment={MODEL_FILE_VARIABLE: name}) as server:
            print(f"Serving {name} at {server.url} (Ctrl-C stops; log: {log})", flush=True)
            try:
                while server.process.poll() is None:
                    time.sleep(0.5)
            except KeyboardInterrupt:
                print("Stopped.")
                return 0
    raise YoloError("the local inference server stopped")


if __name__ == "__main__":
    sys.exit(run(main))
