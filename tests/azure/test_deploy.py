"""yolo3.azure.deploy through deploy_to_azureml.py: the endpoint and deployment it builds
offline load with the SDK's own loaders and carry everything; refusals are one line; a
failed deployment is one line; nothing secret is printed; --local serves the same
scoring script."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from helpers import (
    REPO,
    SAMPLE,
    assert_one_line_error,
    interruptible,
    run_script,
    tree_bytes,
    user_env,
)
from yolo3.errors import YoloError


@pytest.fixture
def export(tmp_path, tiny_onnx):
    path = tmp_path / "yolo-tiny.onnx"
    path.write_bytes(tiny_onnx.read_bytes())
    return path


def test_dry_run_yaml_loads_and_carries_everything(tmp_path, export):
    from azure.ai.ml import load_online_deployment, load_online_endpoint

    result = run_script("deploy_to_azureml.py", "--model", str(export), "--dry-run",
                        "--instance-count", "2", "--endpoint-name", "shapes-detector",
                        cwd=tmp_path)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    endpoint_text, deployment_text = result.stdout.split("---\n")
    (tmp_path / "e.yml").write_text(endpoint_text)
    (tmp_path / "d.yml").write_text(deployment_text)
    endpoint = load_online_endpoint(tmp_path / "e.yml")
    deployment = load_online_deployment(tmp_path / "d.yml")
    assert endpoint.name == "shapes-detector" and endpoint.auth_mode == "key"
    assert deployment.endpoint_name == "shapes-detector" and deployment.name == "blue"
    assert Path(deployment.model.path) == export.resolve()
    assert deployment.instance_type == "Standard_DS3_v2" and deployment.instance_count == 2
    assert deployment.code_configuration.scoring_script == "deploy/score.py"
    code = Path(deployment.code_configuration.code)
    assert (code / "deploy" / "score.py").is_file() and (code / "yolo3" / "serving").is_dir()
    assert deployment.environment_variables == {"YOLO3_MODEL_FILE": "yolo-tiny.onnx"}
    packages = deployment.environment.conda_file["dependencies"][-1]["pip"]
    assert any(p.startswith("azureml-inference-server-http") for p in packages)
    assert any(p.startswith("onnxruntime") for p in packages)
    assert not any("tensorflow" in p or "keras" in p for p in packages)
    assert "cpu-inference" in deployment.environment.image


@pytest.mark.parametrize("flags, phrases", [
    (["--model", "EXPORT"], ["no workspace config at config.json"]),
    (["--delete"], ["no workspace config"]),
    (["--model", "trained_model.h5", "--dry-run"], ["--model must be an export.py file"]),
    (["--model", "missing.onnx", "--dry-run"], ["missing.onnx: no such file"]),
    (["--model", "EXPORT", "--endpoint-name", "x", "--dry-run"], ["--endpoint-name must be"]),
    (["--model", "EXPORT", "--instance-count", "0", "--dry-run"], ["at least 1"]),
    (["--model", "EXPORT", "--dry-run", "--local"], ["not allowed with"]),
    (["--model", "EXPORT", "--local", "--port", "70000"], ["--port must be from 1 to 65535"]),
    (["--model", "EXPORT", "--local", "--port", "TAKEN"], ["--host/--port: cannot listen on"]),
    (["--model", "EXPORT", "--local", "--host", "192.0.2.1"], ["cannot listen on 192.0.2.1"]),
])
def test_refusals_are_one_line(tmp_path, export, flags, phrases):
    import socket

    before = tree_bytes(tmp_path)
    with socket.socket() as taken:  # a port another program listens on
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        result = run_script("deploy_to_azureml.py", *[
            str(export) if f == "EXPORT" else port if f == "TAKEN" else f for f in flags],
            cwd=tmp_path)
    assert_one_line_error(result, *phrases)
    assert tree_bytes(tmp_path) == before


class FakeOperation:
    def __init__(self, error=None):
        self.error = error

    def result(self):
        if self.error:
            raise self.error


class FakeClient:
    """What deploy() asks of MLClient; ``fail_deployment``: Azure's refusal to raise;
    ``job_model``: the trained model a finished job's outputs hold (None: no such job)."""

    def __init__(self, fail_deployment=None, job_model=None):
        from types import SimpleNamespace

        self.calls = []
        live = SimpleNamespace(traffic={}, scoring_uri="https://shapes.eastus.inference.ml"
                               ".azure.com/score", primary_key="NEVER-PRINT-THIS-KEY")
        client = self

        class Endpoints:
            def begin_create_or_update(self, entity):
                client.calls.append(("endpoint", entity))
                return FakeOperation()

            def get(self, name):
                return live

        class Deployments:
            def begin_create_or_update(self, entity):
                client.calls.append(("deployment", entity))
                return FakeOperation(fail_deployment)

        class Jobs:
            def download(self, name, download_path, all):
                from azure.core.exceptions import ResourceNotFoundError

                if job_model is None:
                    raise ResourceNotFoundError(f"job {name} not found")
                outputs = Path(download_path) / "artifacts" / "outputs"
                outputs.mkdir(parents=True)
                (outputs / "trained_model.h5").write_bytes(job_model.read_bytes())

        self.online_endpoints, self.online_deployments = Endpoints(), Deployments()
        self.jobs = Jobs()


def test_deploy_prints_the_uri_never_the_key(tmp_path, export, monkeypatch, capsys):
    import deploy_to_azureml
    from yolo3.azure import deploy

    (tmp_path / "config.json").write_text('{"subscription_id": "s", "resource_group": "g", '
                                          '"workspace_name": "w"}')
    client = FakeClient()
    monkeypatch.setattr(deploy, "_client", lambda settings: client)
    monkeypatch.chdir(tmp_path)
    assert deploy_to_azureml.main(["--model", str(export)]) == 0
    out = capsys.readouterr()
    assert "Scoring URI: https://shapes.eastus.inference.ml.azure.com/score" in out.out
    assert "NEVER-PRINT-THIS-KEY" not in out.out + out.err
    kinds = [kind for kind, _ in client.calls]
    assert kinds == ["endpoint", "deployment", "endpoint"]
    assert client.calls[-1][1].traffic == {"blue": 100}


def test_a_failed_deployment_is_one_line(tmp_path, export, monkeypatch):
    from azure.core.exceptions import HttpResponseError

    import deploy_to_azureml
    from yolo3.azure import deploy

    (tmp_path / "config.json").write_text('{"subscription_id": "s", "resource_group": "g", '
                                          '"workspace_name": "w"}')
    refusal = HttpResponseError(message="Not enough quota for Standard_DS3_v2 in eastus.\n"
                                        "Request id: 123")
    monkeypatch.setattr(deploy, "_client", lambda settings: FakeClient(refusal))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(YoloError, match=r"^the deployment failed: Not enough quota for "
                                        r"Standard_DS3_v2 in eastus\.$"):
        deploy_to_azureml.main(["--model", str(export)])


def test_local_serves_the_same_scoring_until_interrupted(tmp_path, export, scoring_server):
    from yolo3.serving.local import free_port

    port = free_port()
    process = subprocess.Popen([sys.executable, str(REPO / "deploy_to_azureml.py"), "--model",
                                str(export), "--local", "--port", str(port)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               cwd=tmp_path, env=user_env(), preexec_fn=interruptible)
    try:
        line = process.stdout.readline()
        assert line.startswith(f"Serving yolo-tiny.onnx at http://127.0.0.1:{port}/score"), \
            line + process.stderr.read()
        request = urllib.request.Request(f"http://127.0.0.1:{port}/score",
                                         data=SAMPLE.read_bytes(), method="POST",
                                         headers={"Content-Type": "image/jpeg"})
        with urllib.request.urlopen(request, timeout=60) as answer:
            assert answer.status == 200 and b'"cat"' in answer.read()
        time.sleep(0.2)
        os.kill(process.pid, signal.SIGINT)
        assert process.wait(timeout=60) == 0
        assert "Stopped." in process.stdout.read()
    finally:
        if process.poll() is None:
            process.kill()


def test_a_training_jobs_model_is_downloaded_exported_and_deployed(tmp_path, tiny_model,
                                                                   monkeypatch, capsys):
    import deploy_to_azureml
    from yolo3.azure import deploy

    (tmp_path / "config.json").write_text('{"subscription_id": "s", "resource_group": "g", '
                                          '"workspace_name": "w"}')
    monkeypatch.setattr(deploy_to_azureml, "BUILD", tmp_path / "build")
    client = FakeClient(job_model=tiny_model)
    monkeypatch.setattr(deploy, "_client", lambda settings: client)
    monkeypatch.chdir(tmp_path)
    assert deploy_to_azureml.main(["--job", "shapes-run-7"]) == 0
    deployed = client.calls[1][1].model.path
    assert Path(deployed).name == "shapes-run-7.onnx" and Path(deployed).is_file()
    from yolo3.inference.onnx_detector import OnnxDetector

    assert OnnxDetector(deployed).info.source == "job shapes-run-7: trained_model.h5"
    assert "Scoring URI:" in capsys.readouterr().out
    with pytest.raises(YoloError, match="^no job gone-run in the workspace$"):
        monkeypatch.setattr(deploy, "_client", lambda settings: FakeClient())
        deploy_to_azureml.main(["--job", "gone-run"])
    with pytest.raises(YoloError, match="--job needs the workspace"):
        deploy_to_azureml.main(["--job", "x", "--dry-run"])


@pytest.mark.parametrize("field, value", [
    ("endpoint_name", "yolov3-custom\n"), ("deployment_name", "blue\n"),
    ("model_name", "detector!"), ("model_name", ""), ("environment_name", ""),
    ("environment_name", "serving env"), ("instance_type", ""), ("instance_type", "   "),
    ("instance_type", "Standard DS3"),
])
def test_names_azure_would_reject_are_refused(tmp_path, field, value):
    """Each setting Azure validates is matched whole: a trailing newline, '!', empty or
    space-filled values are refused before anything is built."""
    from dataclasses import replace

    from yolo3.azure.deploy import DeploySettings

    model = tmp_path / "m.onnx"
    model.write_bytes(b"onnx")
    good = DeploySettings(model=str(model))
    assert good.problems() == {}
    problems = replace(good, **{field: value}).problems()
    assert list(problems) == [field] and repr(value) in problems[field]
