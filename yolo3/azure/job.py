"""The Azure ML training job: code snapshot, environment, and the job for SDK v2 or v1.

Everything here builds objects offline; azureml_driver.py submits them. The snapshot is
``project/`` plus the ``yolo3`` package and ``cfg/`` that the training script imports,
with an ignore file that keeps data, outputs and secrets out.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field, fields
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPT = "train_azureml.py"
# Run outputs and data at the snapshot's top level only ("/" anchors them, as in
# .gitignore): the package has a yolo3/data/ of its own. Secrets and caches anywhere.
IGNORE = ["/outputs/", "/logs/", "/data/", "/checkpoints/", "__pycache__/", "*.pyc", ".env",
          ".env*", "*.env", "myenvs*", "setenvs*", "config.json", ".azureml/", "*.key",
          "*.pem", "*.weights"]
CURATED_IMAGE = "mcr.microsoft.com/azureml/curated/tensorflow-2.16-cuda12:latest"
EXTRA_PACKAGES = ["mlflow", "azureml-mlflow"]


def azure_setting(default, flag: str, help: str, **kwargs):
    """A JobSettings field with its azureml_driver.py flag."""
    return field(default=default, metadata={"flag": flag, "help": help}, **kwargs)


@dataclass
class JobSettings:
    """What the job needs; azureml_driver.py's SETTINGS fill it, flags override.

    ``training`` holds the training settings the job forwards to train_azureml.py, by
    their names in yolo3.training.settings (the one declaration of them); those left out
    take that declaration's defaults.
    """

    experiment_name: str = azure_setting("yolov3-custom", "--experiment-name",
                                         "Azure ML experiment")
    compute_name: str = azure_setting("gpu-cluster", "--compute-name",
                                      "cluster, created (0 to max_nodes nodes) when missing")
    vm_size: str = azure_setting("Standard_NC4as_T4_v3", "--vm-size",
                                 "cluster VM size (one T4 GPU; NC6/K80 is retired)")
    max_nodes: int = azure_setting(2, "--max-nodes", "cluster size limit")
    node_count: int = azure_setting(1, "--nodes", "> 1: multi-node TensorFlow distribution")
    datastore_name: str = azure_setting("trainingdata", "--ds-name", "blob datastore")
    container: str = azure_setting("traindata", "--container", "blob container of the data")
    storage_account: str | None = azure_setting(None, "--storage-account",
                                                "storage account behind the datastore")
    model_name: str = azure_setting("keras-yolov3", "--model-name", "registered model")
    download_dir: str = azure_setting("azureml_outputs", "--download-dir",
                                      "where the run's outputs are downloaded")
    workspace_config: str = azure_setting("config.json", "--workspace-config",
                                          "the workspace's config.json")
    training: dict = field(default_factory=dict)
    image: str = CURATED_IMAGE
    environment_name: str = "yolov3-keras3"
    environment_variables: dict = field(default_factory=lambda: {"TF_USE_LEGACY_KERAS": "0"})

    def training_value(self, name: str):
        from yolo3.training.settings import TrainSettings

        default = TrainSettings.__dataclass_fields__[name].default
        return self.training.get(name, default)

    @property
    def data_dir(self) -> str:
        return self.training_value("data_dir")

    def problems(self) -> dict[str, str]:
        """Settings no job could run with: {setting name: what is wrong}."""
        from yolo3.training.settings import problems_of

        found = {}
        whole = isinstance(self.max_nodes, int) and not isinstance(self.max_nodes, bool)
        if not whole or self.max_nodes < 1:
            found["max_nodes"] = f"is {self.max_nodes!r}; it must be at least 1"
        limit = self.max_nodes if whole else 1
        if not isinstance(self.node_count, int) or not 1 <= self.node_count <= limit:
            found["node_count"] = (f"is {self.node_count!r}; it must be between 1 and the "
                                   f"cluster's max_nodes ({self.max_nodes})")
        found.update(problems_of(self.training))
        return found

    def script_inputs(self) -> dict:
        """The training settings forwarded to train_azureml.py, by flag name (data
        excluded): those marked always, and the others where they differ from their
        default."""
        from yolo3.training.settings import ALWAYS, forwarded

        values = {}
        for f in forwarded():
            value = self.training.get(f.name, f.default)
            if value is not None and (f.metadata["forward"] == ALWAYS or value != f.default):
                values[f.name] = str(value) if isinstance(value, Path) else value
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
    anywhere = shutil.ignore_patterns(*(p.rstrip("/") for p in IGNORE if not p.startswith("/")))
    top_level = {p.strip("/") for p in IGNORE if p.startswith("/")}

    def ignore_in_project(folder, names):
        ignored = anywhere(folder, names)
        return ignored | (top_level & set(names) if Path(folder) == source / "project" else set())

    shutil.copytree(source / "project", dest, ignore=ignore_in_project)
    shutil.copytree(source / "yolo3", dest / "yolo3", ignore=anywhere)
    shutil.copytree(source / "cfg", dest / "cfg", ignore=anywhere)
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


def _azure_fields() -> list:
    return [f for f in fields(JobSettings) if "flag" in f.metadata]


def driver_settings() -> dict:
    """azureml_driver.py's SETTINGS with their defaults: every Azure setting and every
    training setting the job forwards."""
    from yolo3.training.settings import forwarded

    values = {f.name: f.default for f in _azure_fields()}
    values.update({f.name: f.default for f in forwarded()})
    return values


def driver_flags() -> list[tuple[tuple[str, ...], str, type, str]]:
    """(flags, setting name, argparse type, help) for each SETTINGS entry; a training
    setting's upstream spelling (``--bs``, ``--lr``, ...) comes last."""
    from yolo3.cli import positive_float, positive_int
    from yolo3.training.settings import forwarded

    plain = {positive_int: int, positive_float: float, int: int, float: float}
    out = [((f.metadata["flag"],), f.name, int if f.type in ("int", int) else str,
            f.metadata["help"]) for f in _azure_fields()]
    for f in forwarded():
        flags = [f"--{f.name.replace('_', '-')}"]
        alias = f.metadata["driver_flag"]
        if alias and alias not in flags:
            flags.append(alias)
        out.append((tuple(flags), f.name, plain.get(f.metadata["parse"], str),
                    f.metadata["help"]))
    return out


def job_settings_from(values: dict) -> JobSettings:
    """JobSettings from SETTINGS-style values: Azure settings by field, the rest training."""
    azure = {f.name for f in _azure_fields()}
    return JobSettings(**{k: v for k, v in values.items() if k in azure},
                       training={k: v for k, v in values.items() if k not in azure})
