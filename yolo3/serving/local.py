"""Microsoft's inference server (``azmlinfsrv``, what Azure ML online endpoints run) on this
machine, with deploy/score.py and a model folder: the same scoring locally as on Azure.

The server lives in its own virtual environment (requirements-serve.txt): its package pins
opentelemetry 1.33, which conflicts with azure-ai-ml, and the served runtime needs no
TensorFlow. :func:`serving_environment` creates it on first use.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from yolo3.errors import YoloError
from yolo3.files import exclusive

REPO = Path(__file__).resolve().parents[2]
SCORE_SCRIPT = REPO / "deploy" / "score.py"
SERVE_REQUIREMENTS = REPO / "requirements-serve.txt"
SERVE_VENV = REPO / ".venv-serve"


def serving_environment(venv: Path = SERVE_VENV, log=print) -> Path:
    """The serving virtual environment's bin folder, created (pip install -r
    requirements-serve.txt, a minute or two) when it has no azmlinfsrv yet."""
    bin_dir = venv / "bin"
    if (bin_dir / "azmlinfsrv").exists():
        return bin_dir
    # two processes (two test workers, two deployments) must not build it at once
    with exclusive(venv.parent / f".{venv.name}.lock"):
        if (bin_dir / "azmlinfsrv").exists():  # the other one built it meanwhile
            return bin_dir
        _create_serving_environment(venv, bin_dir, log)
    return bin_dir


def _create_serving_environment(venv: Path, bin_dir: Path, log) -> None:
    log(f"Creating the serving environment {venv} (requirements-serve.txt)...")
    shutil.rmtree(venv, ignore_errors=True)
    try:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True,
                       capture_output=True)
        subprocess.run([str(bin_dir / "python"), "-m", "pip", "install", "-q", "-r",
                        str(SERVE_REQUIREMENTS)], check=True, capture_output=True,
                       timeout=1800)
    except subprocess.CalledProcessError as error:
        lines = (error.stderr or b"").decode(errors="replace").strip().splitlines()
        raise YoloError("could not create the serving environment: "
                        f"{lines[-1] if lines else error}") from None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# azmlinfsrv itself, but listening on the loopback interface alone: the server binds
# DEFAULT_HOST (0.0.0.0, every interface) and offers no flag for it
LOOPBACK_ONLY = ("import sys; import azureml_inference_server_http.amlserver as server; "
                 "server.DEFAULT_HOST = '127.0.0.1'; sys.argv[0] = 'azmlinfsrv'; "
                 "sys.exit(server.run())")


class LocalServer:
    """``with LocalServer(model_dir) as server:`` azmlinfsrv serving deploy/score.py on a
    loopback port; ``server.url`` is its /score address, ``server.pid`` the gunicorn
    master's. ``log_path``: where the server's output goes (a file beside the model
    folder by default)."""

    def __init__(self, model_dir: Path, port: int | None = None, workers: int = 1,
                 log_path: Path | None = None, environment: dict | None = None,
                 startup_seconds: float = 120):
        self.model_dir = Path(model_dir)
        self.port = port or free_port()
        self.workers = workers
        self.log_path = Path(log_path or self.model_dir.parent / "azmlinfsrv.log")
        self.environment = environment or {}
        self.startup_seconds = startup_seconds
        self.process = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/score"

    @property
    def pid(self) -> int:
        return self.process.pid

    def __enter__(self) -> LocalServer:
        bin_dir = serving_environment()
        self._log = self.log_path.open("w")
        env = {**os.environ, **self.environment, "AZUREML_MODEL_DIR": str(self.model_dir)}
        env.pop("PYTHONPATH", None)  # the serving environment's own packages only
        self.process = subprocess.Popen(
            [str(bin_dir / "python"), "-c", LOOPBACK_ONLY, "--entry_script", str(SCORE_SCRIPT),
             "--model_dir", str(self.model_dir), "--port", str(self.port),
             "--health_port", str(free_port()), "--worker_count", str(self.workers)],
            stdout=self._log, stderr=subprocess.STDOUT, cwd=self.log_path.parent, env=env)
        deadline = time.monotonic() + self.startup_seconds
        while not self._healthy():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.__exit__()
                raise YoloError(f"the local inference server did not start: {self._why()}")
            time.sleep(0.3)
        return self

    def _why(self) -> str:
        """The scoring script's own one-line error from the server's log, else where the
        log is."""
        lines = self.log_path.read_text(errors="replace").splitlines()
        ours = [line.split("YoloError: ", 1)[1] for line in lines if "YoloError: " in line]
        return ours[-1] if ours else f"see {self.log_path}"

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/", timeout=2) as answer:
                return answer.status == 200
        except OSError:
            return False

    def __exit__(self, *exc) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if getattr(self, "_log", None):
            self._log.close()
