"""Deploying an exported detector to an Azure ML managed online endpoint (SDK v2), built
offline: the endpoint (key auth), and a deployment of deploy/score.py with the model, the
serving environment (requirements-serve.txt on Azure's CPU inference image: no TensorFlow)
and the instance type and count. deploy_to_azureml.py prints them (--dry-run), runs them
here (--local), or creates them in the workspace.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from yolo3.errors import YoloError, first_line
from yolo3.formats import served_without_tensorflow

REPO = Path(__file__).resolve().parents[2]
SCORING_SCRIPT = "deploy/score.py"  # relative to the snapshot, which also holds yolo3/
# Azure's naming rules, matched whole (fullmatch: "$" would let a trailing newline in)
NAME_RULE = re.compile(r"[a-zA-Z][a-zA-Z0-9-]{1,30}[a-zA-Z0-9]")  # endpoints, deployments
ASSET_RULE = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9._-]{0,254}")  # models, environments
INSTANCE_RULE = re.compile(r"[A-Za-z][A-Za-z0-9_]{1,63}")  # e.g. Standard_DS3_v2


@dataclass(frozen=True)
class DeploySettings:
    endpoint_name: str = "yolov3-custom"
    deployment_name: str = "blue"
    model: str = "yolo-tiny.onnx"  # an export.py file (.onnx, .tflite)
    model_name: str = "yolov3-custom-detector"  # the registered model
    instance_type: str = "Standard_DS3_v2"  # 4 vCPUs, 14 GB: a CPU inference size
    instance_count: int = 1
    image: str = "mcr.microsoft.com/azureml/minimal-ubuntu22.04-py311-cpu-inference:latest"
    environment_name: str = "yolov3-serving"
    workspace_config: str = "config.json"

    def problems(self) -> dict[str, str]:
        """Setting name → what is wrong with it (empty when all are usable)."""
        found = {}
        for name in ("endpoint_name", "deployment_name"):
            if not NAME_RULE.fullmatch(getattr(self, name)):
                found[name] = ("must be 3-32 letters, digits or hyphens, starting with a "
                               f"letter, not {getattr(self, name)!r}")
        for name in ("model_name", "environment_name"):
            if not ASSET_RULE.fullmatch(getattr(self, name)):
                found[name] = ("must be 1-255 letters, digits, '.', '_' or '-', starting with "
                               f"a letter or digit, not {getattr(self, name)!r}")
        if not INSTANCE_RULE.fullmatch(self.instance_type):
            found["instance_type"] = ("must be an Azure VM size such as Standard_DS3_v2, not "
                                      f"{self.instance_type!r}")
        if self.instance_count < 1:
            found["instance_count"] = f"must be at least 1, not {self.instance_count}"
        model = Path(self.model)
        deployable = served_without_tensorflow()  # the endpoint's environment has none
        if not any(fmt.holds(model) for fmt in deployable):
            found["model"] = ("must be an export.py file ("
                              + " or ".join(s for fmt in deployable for s in fmt.suffixes)
                              + f"), not {model.name} (export Keras models with export.py "
                              "first)")
        elif not model.is_file():
            found["model"] = f"{model}: no such file"
        return found


def serving_packages() -> list[str]:
    """requirements-serve.txt's packages: the serving environment, here and on Azure."""
    lines = (REPO / "requirements-serve.txt").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def build_snapshot(dest: Path) -> Path:
    """What the deployment uploads as its code: deploy/score.py and the yolo3 package."""
    shutil.rmtree(dest, ignore_errors=True)
    (dest / "deploy").mkdir(parents=True)
    shutil.copy2(REPO / SCORING_SCRIPT, dest / SCORING_SCRIPT)
    shutil.copytree(REPO / "yolo3", dest / "yolo3",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return dest


def endpoint(settings: DeploySettings):
    from azure.ai.ml.entities import ManagedOnlineEndpoint

    return ManagedOnlineEndpoint(name=settings.endpoint_name, auth_mode="key",
                                 description="YOLOv3 object detection (keras-yolo3 toolkit)")


def deployment(settings: DeploySettings, code: Path):
    from azure.ai.ml.entities import (
        CodeConfiguration,
        Environment,
        ManagedOnlineDeployment,
        Model,
    )

    model = Path(settings.model)
    return ManagedOnlineDeployment(
        name=settings.deployment_name, endpoint_name=settings.endpoint_name,
        model=Model(path=str(model.resolve()), name=settings.model_name,
                    type="custom_model", description=f"export.py file {model.name}"),
        environment=Environment(
            name=settings.environment_name, image=settings.image,
            conda_file={"name": settings.environment_name, "channels": ["conda-forge"],
                        "dependencies": ["python=3.11", "pip", {"pip": serving_packages()}]}),
        code_configuration=CodeConfiguration(code=str(code), scoring_script=SCORING_SCRIPT),
        environment_variables={"YOLO3_MODEL_FILE": model.name},
        instance_type=settings.instance_type, instance_count=settings.instance_count)


def as_yaml(entity) -> str:
    """An azure.ai.ml entity as the YAML its load_* function reads."""
    import logging

    import yaml

    # the SDK's schemas announce their experimental parts on every dump: not the user's news
    logging.getLogger("azure.ai.ml._utils._experimental").setLevel(logging.ERROR)

    return yaml.safe_dump(json.loads(json.dumps(entity._to_dict())), sort_keys=False)


def deploy(settings: DeploySettings, code: Path, log=print) -> str:
    """Register the model, create or update the endpoint and the deployment, send it all
    traffic; returns the scoring URI (never the key). YoloError for Azure's refusals."""
    from azure.core.exceptions import AzureError

    client = _client(settings)
    try:
        log(f"Creating or updating endpoint {settings.endpoint_name}...")
        client.online_endpoints.begin_create_or_update(endpoint(settings)).result()
        log(f"Deploying {Path(settings.model).name} as {settings.deployment_name} "
            f"({settings.instance_count} × {settings.instance_type}); this takes minutes...")
        client.online_deployments.begin_create_or_update(deployment(settings, code)).result()
        live = client.online_endpoints.get(settings.endpoint_name)
        live.traffic = {settings.deployment_name: 100}
        client.online_endpoints.begin_create_or_update(live).result()
        return client.online_endpoints.get(settings.endpoint_name).scoring_uri
    except AzureError as error:
        raise YoloError(f"the deployment failed: {first_line(error)}") from None


def model_from_job(settings: DeploySettings, job_name: str, folder: Path, log=print) -> Path:
    """A finished training job's trained_model.h5, downloaded into ``folder`` and exported
    (export.py's detection graph, ONNX, 416×416): the file to deploy."""
    from azure.core.exceptions import AzureError, ResourceNotFoundError

    client = _client(settings)
    log(f"Downloading the outputs of job {job_name}...")
    try:
        client.jobs.download(job_name, download_path=str(folder), all=True)
    except ResourceNotFoundError:
        raise YoloError(f"no job {job_name} in the workspace") from None
    except AzureError as error:
        raise YoloError(f"downloading job {job_name} failed: {first_line(error)}") from None
    found = sorted(folder.rglob("trained_model.h5"))
    if not found:
        raise YoloError(f"job {job_name} has no trained_model.h5 among its outputs: did it "
                        "finish?")
    from yolo3.cli import quiet_tensorflow

    quiet_tensorflow()
    from yolo3.defaults import NmsSettings
    from yolo3.export.onnx import export_onnx
    from yolo3.inference.detector import open_model, own_input_size

    exported = folder / f"{job_name}.onnx"
    loaded = open_model(found[0])
    export_onnx(loaded, exported, own_input_size(loaded), NmsSettings(),
                source=f"job {job_name}: {found[0].name}")  # at the size it was trained at
    log(f"Exported {found[0].name} to {exported.name}")
    return exported


def delete(settings: DeploySettings) -> None:
    from azure.core.exceptions import AzureError, ResourceNotFoundError

    client = _client(settings)
    try:
        client.online_endpoints.begin_delete(name=settings.endpoint_name).result()
    except ResourceNotFoundError:
        raise YoloError(f"no endpoint {settings.endpoint_name} in the workspace") from None
    except AzureError as error:
        raise YoloError(f"deleting {settings.endpoint_name} failed: {first_line(error)}"
                        ) from None


def _client(settings: DeploySettings):
    from azure.ai.ml import MLClient

    from yolo3.azure.signin import MANAGEMENT_SCOPE, signed_in_credential

    credential = signed_in_credential(MANAGEMENT_SCOPE)
    return MLClient.from_config(credential=credential, path=settings.workspace_config)
