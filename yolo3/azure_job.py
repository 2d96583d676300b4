"""The Azure ML training job: code snapshot, environment, and the job for SDK v2 or v1.

Everything here builds objects offline; azureml_driver.py submits them. The snapshot is
``project/`` plus the ``yolo3`` package and ``cfg/`` that the training script imports,
with an ignore file that keeps data, outputs and secrets out.
"""

from __future__ import annotations

import math
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SCRIPT = "train_azureml.py"
IGNORE = ["outputs/", "logs/", "data/", "checkpoints/", "__pycache__/", "*.pyc", ".env",
          ".env*", "*.env", "myenvs*", "setenvs*", "config.json", ".azureml/", "*.key",
          "*.pem", "*.weights"]
CURATED_IMAGE = "mcr.microsoft.com/azureml/curated/tensorflow-2.16-cuda12:latest"
EXTRA_PACKAGES = ["mlflow", "azureml-mlflow"]


@dataclass
class JobSettings:
    """What the job needs; azureml_driver.py's SETTINGS fill it, flags override."""

    experiment_name: str = "yolov3-custom"
    compute_name: str = "gpu-cluster"
    vm_size: str = "Standard_NC4as_T4_v3"
    max_nodes: int = 2
    node_count: int = 1
    datastore_name: str = "trainingdata"
    container: str = "traindata"
    storage_account: str | None = None
    data_dir: str = "Project-PascalVOC-export"
    class_path: str | None = None
    weights: str | None = None
    num_clusters: int = 9
    batch_size: int = 8
    learning_rate: float = 1e-3
    epochs: int = 60
    frozen_epochs: int | None = None
    gpu_num: int = 0
    input_size: int = 416
    image: str = CURATED_IMAGE
    environment_name: str = "yolov3-keras3"
    model_name: str = "keras-yolov3"
    download_dir: str = "azureml_outputs"
    workspace_config: str = "config.json"
    environment_variables: dict = field(default_factory=lambda: {"TF_USE_LEGACY_KERAS": "0"})

    def problems(self) -> dict[str, str]:
        """Settings no job could run with: {setting name: what it must be}."""
        found = {}

        def need(name: str, ok: bool, rule: str) -> None:
            if not ok:
                found[name] = f"is {getattr(self, name)!r}; it must be {rule}"

        def whole(value) -> bool:
            return isinstance(value, int) and not isinstance(value, bool)

        need("max_nodes", whole(self.max_nodes) and self.max_nodes >= 1, "at least 1")
        need("node_count", whole(self.node_count) and 1 <= self.node_count
             <= (self.max_nodes if whole(self.max_nodes) else 1),
             f"between 1 and the cluster's max_nodes ({self.max_nodes})")
        need("epochs", whole(self.epochs) and self.epochs >= 1, "at least 1")
        need("batch_size", whole(self.batch_size) and self.batch_size >= 1, "at least 1")
        need("learning_rate", isinstance(self.learning_rate, (int, float))
             and math.isfinite(self.learning_rate) and self.learning_rate > 0,
             "a finite number above 0")
        need("num_clusters", self.num_clusters in (6, 9), "6 (YOLOv3-tiny) or 9 (YOLOv3)")
        need("input_size", whole(self.input_size) and self.input_size > 0
             and self.input_size % 32 == 0, "a positive multiple of 32")
        need("gpu_num", whole(self.gpu_num) and self.gpu_num >= 0, "0 (all GPUs) or more")
        need("frozen_epochs", self.frozen_epochs is None or (
            whole(self.frozen_epochs) and whole(self.epochs)
            and 0 <= self.frozen_epochs <= self.epochs), "between 0 and epochs")
        return found

    def script_inputs(self) -> dict:
        """Every setting forwarded to train_azureml.py, by its flag name (data excluded)."""
        values = {"data_dir": self.data_dir, "num_clusters": self.num_clusters,
                  "batch_size": self.batch_size, "learning_rate": self.learning_rate,
                  "epochs": self.epochs, "gpu_num": self.gpu_num, "input_size": self.input_size}
        optional = {"class_path": self.class_path, "weights": self.weights,
                    "frozen_epochs": self.frozen_epochs}
        values.update({k: v for k, v in optional.items() if v is not None})
        return values

    def arguments(self, data_path) -> list:
        """The script's argument list with ``data_path`` as the data location."""
        args = ["--data_path", data_path]
        for name, value in self.script_inputs().items():
            args += [f"--{name}", value]
        return args + ["--output_dir", "outputs"]


def pip_packages() -> list[str]:
    """The training requirements: requirements.txt (TensorFlow with CUDA) plus MLflow."""
    lines = (REPO / "requirements.txt").read_text().splitlines()
    packages = [line.split("#")[0].strip() for line in lines]
    packages = [p for p in packages if p]
    packages = [re.sub(r"^tensorflow(?=[<>=!~ ]|$)", "tensorflow[and-cuda]", p) for p in packages]
    return packages + EXTRA_PACKAGES


def build_snapshot(dest: Path, source: Path = REPO) -> Path:
    """project/ + yolo3/ + cfg/ of ``source`` in ``dest`` (emptied first), with an
    .amlignore; what the ignore patterns match is left out of the copy too."""
    if dest.exists():
        shutil.rmtree(dest)
    ignore = shutil.ignore_patterns(*(p.rstrip("/") for p in IGNORE))
    shutil.copytree(source / "project", dest, ignore=ignore)
    shutil.copytree(source / "yolo3", dest / "yolo3", ignore=ignore)
    shutil.copytree(source / "cfg", dest / "cfg", ignore=ignore)
    (dest / ".amlignore").write_text("\n".join(IGNORE) + "\n")
    return dest


def datastore_path(settings: JobSettings) -> str:
    return f"azureml://datastores/{settings.datastore_name}/paths/"


def v2_job(settings: JobSettings, code: Path):
    """An azure.ai.ml CommandJob running the training script on the cluster."""
    from azure.ai.ml import Input
    from azure.ai.ml.entities import CommandJob, Environment, JobResourceConfiguration

    inputs = {"data": Input(type="uri_folder", path=datastore_path(settings), mode="ro_mount"),
              **settings.script_inputs()}
    command = " ".join(["python", SCRIPT, "--data_path", "${{inputs.data}}"]
                       + [f"--{name} ${{{{inputs.{name}}}}}" for name in inputs if name != "data"]
                       + ["--output_dir", "./outputs"])
    environment = Environment(
        name=settings.environment_name, image=settings.image,
        conda_file={"name": settings.environment_name, "channels": ["conda-forge"],
                    "dependencies": ["python=3.11", "pip", {"pip": pip_packages()}]})
    distribution = None
    if settings.node_count > 1:
        from azure.ai.ml import TensorFlowDistribution

        distribution = TensorFlowDistribution(worker_count=settings.node_count)
    return CommandJob(
        code=str(code), command=command, inputs=inputs, environment=environment,
        compute=settings.compute_name, experiment_name=settings.experiment_name,
        display_name=f"{settings.experiment_name}-train", distribution=distribution,
        resources=JobResourceConfiguration(instance_count=settings.node_count),
        environment_variables=dict(settings.environment_variables))


def v1_run_config(settings: JobSettings, code: Path, data_argument):
    """An azureml-core ScriptRunConfig with the same arguments and environment.

    ``data_argument`` is the mounted dataset (``Dataset.File...as_mount()``) when
    submitting, or any placeholder when only inspecting the configuration.
    """
    from azureml.core import Environment, ScriptRunConfig
    from azureml.core.conda_dependencies import CondaDependencies

    environment = Environment(settings.environment_name)
    environment.docker.base_image = settings.image
    environment.python.conda_dependencies = CondaDependencies.create(
        python_version="3.11", pip_packages=pip_packages())
    config = ScriptRunConfig(source_directory=str(code), script=SCRIPT,
                             arguments=settings.arguments(data_argument),
                             compute_target=settings.compute_name, environment=environment)
    config.run_config.environment_variables = dict(settings.environment_variables)
    if settings.node_count > 1:
        from azureml.core.runconfig import TensorflowConfiguration

        config.distributed_job_config = TensorflowConfiguration(worker_count=settings.node_count)
        config.run_config.node_count = settings.node_count
    return config
