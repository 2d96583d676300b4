"""yolo3.serving.local: the inference server on this machine; a scoring script that cannot
start says why in one line (the details stay in the server's log)."""

from __future__ import annotations

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
