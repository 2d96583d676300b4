"""Session-wide fixtures: real yolov3-tiny weights and random weights in official layouts."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402

from helpers import CFG, SAMPLE, write_random_weights  # noqa: E402
from yolo3.darknet import load_cfg  # noqa: E402

# Test modules that run azureml_driver.py or deploy_to_azureml.py: each rebuilds the code
# snapshot in the checkout's .azureml_build/, so they share one test worker.
SNAPSHOT_BUILDERS = {"test_bad_input_arguments.py", "test_imports.py", "test_train_azureml.py",
                     "test_deploy.py", "test_job.py", "test_bad_input_exports.py",
                     "test_local.py"}


def pytest_collection_modifyitems(config, items):
    """With pytest-xdist (pyproject's addopts: two workers, --dist loadgroup): each test
    module runs whole on one worker (its module fixtures are built once), and the modules
    that rebuild the Azure code snapshots on the same one."""
    for item in items:
        name = item.path.name
        group = "azureml-snapshots" if name in SNAPSHOT_BUILDERS else str(item.path)
        item.add_marker(pytest.mark.xdist_group(group))


@pytest.fixture(scope="session")
def tiny_weights():
    """The real yolov3-tiny.weights (MD5-verified, cached outside the repo)."""
    from yolo3.download import fetch

    return fetch("yolov3-tiny", progress=False)


@pytest.fixture(scope="session")
def random_weights(tmp_path_factory):
    """random_weights("yolov3") → path of seeded random weights for cfg/yolov3.cfg."""
    made = {}

    def make(name: str, classes: int | None = None):
        key = (name, classes)
        if key not in made:
            path = tmp_path_factory.mktemp("weights") / f"{name}-{classes or 'cfg'}.weights"
            made[key] = write_random_weights(path, load_cfg(CFG / f"{name}.cfg"), classes=classes)
        return made[key]

    return make


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory, tiny_weights):
    """The real yolov3-tiny converted by convert.py's code: a full .h5 with metadata."""
    from yolo3.model.convert import darknet_to_keras

    path = tmp_path_factory.mktemp("models") / "yolo-tiny.h5"
    darknet_to_keras(CFG / "yolov3-tiny.cfg", tiny_weights, path, log=lambda *a: None)
    return path


@pytest.fixture(scope="session")
def tiny_yolo(tiny_model):
    from yolo import YOLO

    return YOLO(model_path=str(tiny_model))


@pytest.fixture(scope="session")
def tiny_onnx(tmp_path_factory, tiny_model):
    """The real yolov3-tiny exported by export.py's code: the detection graph as ONNX."""
    from yolo3.defaults import NmsSettings
    from yolo3.export.onnx import export_onnx
    from yolo3.inference.detector import open_model

    path = tmp_path_factory.mktemp("exports") / "yolo-tiny.onnx"
    export_onnx(open_model(tiny_model), path, (416, 416), NmsSettings(), source=tiny_model.name)
    return path


@pytest.fixture(scope="session")
def tiny_tflite(tmp_path_factory, tiny_model):
    """The real yolov3-tiny exported by export.py's code: the detection graph as TFLite."""
    from yolo3.defaults import NmsSettings
    from yolo3.export.tflite import export_tflite
    from yolo3.inference.detector import open_model

    path = tmp_path_factory.mktemp("exports") / "yolo-tiny.tflite"
    export_tflite(open_model(tiny_model), path, (416, 416), NmsSettings(),
                  source=tiny_model.name)
    return path


@pytest.fixture(scope="session")
def calibration(tmp_path_factory):
    """A training-list file of six pictures: the sample, its mirror image and its four
    quarters (int8 calibration)."""
    from PIL import Image

    folder = tmp_path_factory.mktemp("calibration")
    image = Image.open(SAMPLE).convert("RGB")
    w, h = image.size
    pictures = [image, image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)] + [
        image.crop((x, y, x + w // 2, y + h // 2)) for x in (0, w // 2) for y in (0, h // 2)]
    lines = []
    for i, picture in enumerate(pictures):
        path = folder / f"{i}.jpg"
        picture.save(path, quality=95)
        lines.append(f"{path}\n")
    listing = folder / "calibration.txt"
    listing.write_text("".join(lines))
    return listing


@pytest.fixture(scope="session")
def scoring_server(tmp_path_factory, tiny_onnx):
    """azmlinfsrv serving deploy/score.py with the real yolov3-tiny ONNX export on a
    loopback port: (its /score address, the serving environment's bin folder)."""
    import shutil

    from yolo3.serving.local import LocalServer, serving_environment

    models = tmp_path_factory.mktemp("azureml-models")
    shutil.copy(tiny_onnx, models / "yolo-tiny.onnx")
    with LocalServer(models) as running:
        yield running.url, serving_environment()


@pytest.fixture(scope="session")
def shapes_export(tmp_path_factory):
    """A 40-image synthetic VoTT-style export (3 classes) under <tmp>/data."""
    from synthetic import make_dataset

    root = tmp_path_factory.mktemp("shapes")
    make_dataset(root / "data", images=40, seed=3)
    return root


DEV_KEY = ("Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/"
           "KBHBeksoGMGw==")


AZURITE = "azurite@3.35.0"  # the last release for Node 20


def azurite_binary(repo):
    """Azurite's launcher in ``repo``/node_modules, installed with npm on first use; the
    Blob tests skip, saying how to enable them, where Node.js/npm or the registry is
    missing."""

    from yolo3.files import exclusive

    binary = repo / "node_modules" / ".bin" / "azurite-blob"
    if binary.exists():
        return binary
    with exclusive(repo / ".azurite-install.lock"):  # the test workers take turns
        if binary.exists():
            return binary
        return _install_azurite(repo, binary)


def _install_azurite(repo, binary):
    import shutil
    import subprocess

    npm = shutil.which("npm")
    if npm is None:
        pytest.skip(f"the Blob tests need Azurite: install Node.js 20 with npm (then the tests "
                    f"run `npm install --no-save {AZURITE}` themselves)")
    try:
        subprocess.run([npm, "install", "--no-save", "--no-audit", "--no-fund", "--silent",
                        AZURITE], cwd=repo, check=True, capture_output=True, timeout=600)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as error:
        output = getattr(error, "stderr", b"") or b""
        last = output.decode(errors="replace").strip().splitlines()[-1:] or [str(error)]
        pytest.skip(f"the Blob tests need Azurite and `npm install --no-save {AZURITE}` "
                    f"failed ({last[0]}); run it by hand to enable them")
    return binary


@pytest.fixture(scope="session")
def azurite(tmp_path_factory):
    """A real Blob service: Azurite (npm-installed on first use) on a free local port."""
    import socket
    import subprocess
    import time

    from helpers import REPO

    binary = azurite_binary(REPO)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    location = tmp_path_factory.mktemp("azurite")
    process = subprocess.Popen(
        [str(binary), "--blobHost", "127.0.0.1", "--blobPort", str(port), "--location",
         str(location), "--skipApiVersionCheck", "--disableTelemetry", "--silent"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    else:
        process.kill()
        raise RuntimeError("Azurite did not start")
    url = f"http://127.0.0.1:{port}/devstoreaccount1"
    yield {"account": "devstoreaccount1", "key": DEV_KEY, "url": url,
           "connection_string": (f"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
                                 f"AccountKey={DEV_KEY};BlobEndpoint={url};")}
    process.terminate()
    process.wait(timeout=10)
