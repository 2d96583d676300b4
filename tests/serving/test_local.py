"""yolo3.serving.local: the inference server on this machine; a scoring script that cannot
start says why in one line (the details stay in the server's log)."""

from __future__ import annotations

from pathlib import Path

import pytest

from yolo3.errors import YoloError
from yolo3.serving.local import LocalServer


def test_a_server_that_cannot_start_says_why(tmp_path):
    models = tmp_path / "models"
    (models / "run").mkdir(parents=True)
    (models / "run" / "trained_model.h5").write_bytes(b"keras")
    server = LocalServer(models, startup_seconds=60)
    with pytest.raises(YoloError) as caught:
        server.__enter__()
    message = str(caught.value)
    assert "did not start" in message and "export it with export.py" in message
    assert "\n" not in message and (tmp_path / "azmlinfsrv.log").exists()
    assert server.process.poll() is not None  # nothing left running


def test_a_keras_model_named_for_the_server_gets_the_export_hint(tmp_path, tiny_onnx):
    """YOLO3_MODEL_FILE naming a Keras file: the scoring script's own reason, not the
    serving environment's "No module named 'keras'"; the log is kept."""
    models = tmp_path / "models"
    models.mkdir()
    (models / "trained_model.h5").write_bytes(b"keras")
    (models / "yolo-tiny.onnx").write_bytes(tiny_onnx.read_bytes())
    log = tmp_path / "logs" / "azmlinfsrv.log"
    server = LocalServer(models, startup_seconds=60, log_path=log,
                         environment={"YOLO3_MODEL_FILE": "trained_model.h5"})
    with pytest.raises(YoloError, match="not a served export .* export it with export.py"):
        server.__enter__()
    assert log.exists() and "trained_model.h5" in log.read_text()


def test_a_port_in_use_is_named_before_starting(tmp_path):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = LocalServer(tmp_path, port=port)
        with pytest.raises(YoloError, match=f"cannot listen on 127.0.0.1:{port}"):
            server.__enter__()
        assert server.process is None  # nothing was started


def test_why_a_start_failed_is_the_tracebacks_last_line(tmp_path):
    """A failure that is not the scoring script's own (an import in the serving
    environment): the exception line a traceback ends with, and where the log is."""
    log = tmp_path / "azmlinfsrv.log"
    log.write_text("starting\nTraceback (most recent call last):\n  File \"x\", line 1\n"
                   "ModuleNotFoundError: No module named 'keras'\nWorker failed to boot.\n")
    why = LocalServer(tmp_path, log_path=log)._why()
    assert why == f"ModuleNotFoundError: No module named 'keras' (the server's log: {log})"


def listening_addresses(port: int) -> set[str]:
    """The local addresses (hex, as /proc/net/tcp{,6} write them) of sockets listening on
    ``port``."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            local, state = row.split()[1], row.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                found.add(address)
    return found


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(),
                    reason="reads Linux's socket table")
def test_the_server_listens_on_the_loopback_interface_alone(scoring_server):
    """deploy_to_azureml.py --local says 127.0.0.1: no other interface may reach it (the
    inference server's own default binds 0.0.0.0)."""
    from urllib.parse import urlparse

    url, _ = scoring_server
    addresses = listening_addresses(urlparse(url).port)
    assert addresses == {"0100007F"}  # 127.0.0.1, and nothing on 0.0.0.0 or ::
