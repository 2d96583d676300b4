"""Microsoft's inference server (``azmlinfsrv``, what Azure ML online endpoints run) on this
machine, with deploy/score.py and a model folder: the same scoring locally as on Azure.

The server lives in its own virtual environment (requirements-serve.txt): its package pins
opentelemetry 1.33, which conflicts with azure-ai-ml, and the served runtime needs no
TensorFlow. :func:`serving_environment` creates it on first use.
"""

from __future__ import annotations

import os
import re
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


LOOPBACK = "127.0.0.1"
# azmlinfsrv itself, listening on the host given as its first argument: the server binds
# DEFAULT_HOST (0.0.0.0, every interface) and offers no flag for it
ON_HOST = ("import sys; import azureml_inference_server_http.amlserver as server; "
           "server.DEFAULT_HOST = sys.argv.pop(1); sys.argv[0] = 'azmlinfsrv'; "
           "sys.exit(server.run())")
# gunicorn's threaded worker: a client that sends half a request and waits holds one
# thread, not the worker (the sync worker serves one connection at a time). deploy/score.py
# runs one inference at a time per worker; reading and decoding requests overlap.
THREADED = "--worker-class gthread --threads 8"
# the last line of a Python traceback in the server's log: the reason a start failed
_ERROR_LINE = re.compile(r"^(?:[A-Za-z_][\w.]*\.)?[A-Z]\w*(?:Error|Exception|Exit): .+$")


def port_problem(host: str, port: int) -> str | None:
    """Why the server could not listen on ``host``:``port`` (in use, not this machine's
    address), or None."""
    if not 1 <= port <= 65535:
        return f"the port must be from 1 to 65535, not {port}"
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        try:
            probe.bind((host, port))
        except OSError as error:
            return f"cannot listen on {host}:{port}: {error.strerror or error}"
    return None


class LocalServer:
    """``with LocalServer(model_dir) as server:`` azmlinfsrv serving deploy/score.py on a
    loopback port (``host`` for another interface); ``server.url`` is its /score address,
    ``server.pid`` the gunicorn master's. ``log_path``: where the server's output goes (a
    file beside the model folder by default); it is kept after the server stops."""

    def __init__(self, model_dir: Path, port: int | None = None, workers: int = 1,
                 log_path: Path | None = None, environment: dict | None = None,
                 startup_seconds: float = 120, host: str = LOOPBACK):
        self.model_dir = Path(model_dir)
        self.host = host
        self.port = port or free_port()
        self.workers = workers
        self.log_path = Path(log_path or self.model_dir.parent / "azmlinfsrv.log")
        self.environment = environment or {}
        self.startup_seconds = startup_seconds
        self.process = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/score"

    @property
    def pid(self) -> int:
        return self.process.pid

    def __enter__(self) -> LocalServer:
        problem = port_problem(self.host, self.port)
        if problem:
            raise YoloError(f"the local inference server cannot start: {problem}")
        bin_dir = serving_environment()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("w")
        env = {"GUNICORN_CMD_ARGS": THREADED, **os.environ, **self.environment,
               "AZUREML_MODEL_DIR": str(self.model_dir)}
        env.pop("PYTHONPATH", None)  # the serving environment's own packages only
        self.process = subprocess.Popen(
            [str(bin_dir / "python"), "-c", ON_HOST, self.host,
             "--entry_script", str(SCORE_SCRIPT),
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
        """The scoring script's own one-line error from the server's log, else the first
        exception a traceback there ends with, and where the whole log is."""
        lines = self.log_path.read_text(errors="replace").splitlines()
        ours = [line.split("YoloError: ", 1)[1] for line in lines if "YoloError: " in line]
        if ours:
            return ours[-1]
        errors = [line.strip() for line in lines if _ERROR_LINE.match(line.strip())]
        return f"{errors[0] + ' ' if errors else ''}(the server's log: {self.log_path})"

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(self.url.rsplit("/", 1)[0] + "/", timeout=2) as answer:
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
