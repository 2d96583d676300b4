"""Submitting the training job to Azure ML (needs a workspace; azureml_driver.py calls it).

SDK v2 (azure-ai-ml): MLClient from config.json, get-or-create the GPU cluster and the blob
datastore, submit the CommandJob, stream its logs, download the outputs, register the
model. SDK v1 (azureml-core): the same through Workspace, ScriptRunConfig and
Experiment.submit.
"""

from __future__ import annotations

import os
from pathlib import Path

from yolo3.azure.job import JobSettings, datastore_path, v1_run_config, v2_job
from yolo3.errors import YoloError

WORKSPACE_KEYS = ("subscription_id", "resource_group", "workspace_name")


def read_workspace_config(settings: JobSettings) -> Path:
    """The workspace's config.json, checked: JSON naming subscription, group, workspace."""
    from yolo3.files import read_json

    path = Path(settings.workspace_config)
    if not path.is_file():
        raise YoloError(f"no workspace config at {path}: download config.json from the Azure "
                        "ML workspace's overview page, or pass --workspace-config")
    try:
        data = read_json(path)
    except YoloError as error:
        raise YoloError(f"{error}; download config.json again from the workspace's overview "
                        "page") from None
    missing = [key for key in WORKSPACE_KEYS
               if not isinstance(data, dict) or not isinstance(data.get(key), str)
               or not data[key].strip()]
    if missing:
        raise YoloError(f"{path}: missing {', '.join(missing)}; download config.json again "
                        "from the workspace's overview page")
    return path


def _storage_secret() -> tuple[str, str] | None:
    if os.environ.get("STORAGE_ACCOUNT_KEY"):
        return "key", os.environ["STORAGE_ACCOUNT_KEY"]
    if os.environ.get("STORAGE_SAS_TOKEN"):
        return "sas", os.environ["STORAGE_SAS_TOKEN"]
    return None


def _need_account(settings: JobSettings) -> str:
    if not settings.storage_account:
        raise YoloError(f"datastore {settings.datastore_name!r} does not exist and no storage "
                        "account is set (STORAGE_ACCOUNT_NAME or --storage-account) to "
                        "register it")
    return settings.storage_account


def submit_v2(settings: JobSettings, code: Path, wait: bool = True,
              verbose: bool = False) -> str:
    from azure.ai.ml import MLClient
    from azure.ai.ml.constants import AssetTypes
    from azure.ai.ml.entities import (
        AccountKeyConfiguration,
        AmlCompute,
        AzureBlobDatastore,
        Model,
        SasTokenConfiguration,
    )
    from azure.core.exceptions import ResourceNotFoundError

    from yolo3.azure.signin import MANAGEMENT_SCOPE, signed_in_credential

    config = read_workspace_config(settings)
    client = MLClient.from_config(credential=signed_in_credential(MANAGEMENT_SCOPE, verbose),
                                  path=str(config))
    try:
        client.compute.get(settings.compute_name)
    except ResourceNotFoundError:
        print(f"Creating compute cluster {settings.compute_name} ({settings.vm_size}, "
              f"0–{settings.max_nodes} nodes)")
        client.compute.begin_create_or_update(AmlCompute(
            name=settings.compute_name, size=settings.vm_size, min_instances=0,
            max_instances=settings.max_nodes, idle_time_before_scale_down=600)).result()
    try:
        client.datastores.get(settings.datastore_name)
    except ResourceNotFoundError:
        secret = _storage_secret()
        credentials = None
        if secret and secret[0] == "key":
            credentials = AccountKeyConfiguration(account_key=secret[1])
        elif secret:
            credentials = SasTokenConfiguration(sas_token=secret[1])
        client.create_or_update(AzureBlobDatastore(
            name=settings.datastore_name, account_name=_need_account(settings),
            container_name=settings.container, credentials=credentials))
    job = client.jobs.create_or_update(v2_job(settings, code))
    print(f"Submitted {job.name}: {job.studio_url}")
    if not wait:
        return job.name
    client.jobs.stream(job.name)
    target = Path(settings.download_dir)
    client.jobs.download(job.name, download_path=str(target), all=True)
    model = client.models.create_or_update(Model(
        path=f"azureml://jobs/{job.name}/outputs/artifacts/paths/outputs/trained_model.h5",
        name=settings.model_name, type=AssetTypes.CUSTOM_MODEL,
        description="Keras YOLOv3 trained by project/train_azureml.py",
        tags={"framework": "keras", "task": "object detection"}))
    print(f"Downloaded the outputs to {target}; registered {model.name}:{model.version}")
    return job.name


def submit_v1(settings: JobSettings, code: Path, wait: bool = True,
              verbose: bool = False) -> str:
    from azureml.core import Dataset, Datastore, Experiment, Workspace
    from azureml.core.compute import AmlCompute, ComputeTarget
    from azureml.exceptions import ComputeTargetException, UserErrorException

    from yolo3.azure.signin import MANAGEMENT_SCOPE, signed_in_credential

    config = read_workspace_config(settings)
    signed_in_credential(MANAGEMENT_SCOPE, verbose)  # azureml-core would prompt instead
    try:
        workspace = Workspace.from_config(path=str(config))
    except UserErrorException as error:
        raise YoloError(f"cannot open the workspace: {str(error).splitlines()[0]}") from None
    try:
        ComputeTarget(workspace=workspace, name=settings.compute_name)
    except ComputeTargetException:
        ComputeTarget.create(workspace, settings.compute_name,
                             AmlCompute.provisioning_configuration(
                                 vm_size=settings.vm_size, min_nodes=0,
                                 max_nodes=settings.max_nodes)).wait_for_completion(True)
    try:
        store = Datastore.get(workspace, settings.datastore_name)
    except Exception:  # noqa: BLE001 - azureml-core raises several types for "not found"
        secret = _storage_secret()
        store = Datastore.register_azure_blob_container(
            workspace, settings.datastore_name, settings.container, _need_account(settings),
            account_key=secret[1] if secret and secret[0] == "key" else None,
            sas_token=secret[1] if secret and secret[0] == "sas" else None)
    data = Dataset.File.from_files(path=(store, "/")).as_mount()
    run = Experiment(workspace, settings.experiment_name).submit(
        v1_run_config(settings, code, data))
    print(f"Submitted {run.id}: {run.get_portal_url()} ({datastore_path(settings)})")
    if not wait:
        return run.id
    run.wait_for_completion(show_output=True)
    run.download_files(prefix="outputs", output_directory=settings.download_dir)
    run.register_model(model_name=settings.model_name, model_path="outputs/trained_model.h5",
                       tags={"framework": "keras", "task": "object detection"})
    return run.id
