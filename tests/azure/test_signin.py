"""yolo3.azure.signin: no sign-in is one line at once, with the SDK's text on request."""

from __future__ import annotations

import pytest

from yolo3.azure.signin import STORAGE_SCOPE, signed_in_credential
from yolo3.errors import YoloError


@pytest.fixture
def no_sign_in(tmp_path, monkeypatch):
    import os

    for name in list(os.environ):
        if name.startswith(("AZURE_", "MSI_", "IDENTITY_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("AZURE_CONFIG_DIR", str(tmp_path / ".azure"))


def test_missing_sign_in_says_what_to_do(no_sign_in, capsys):
    with pytest.raises(YoloError) as caught:
        signed_in_credential(STORAGE_SCOPE)
    message = str(caught.value)
    assert message.startswith("Azure sign-in failed: run `az login`")
    assert "AZURE_CLIENT_SECRET" in message and "--verbose" in message
    assert capsys.readouterr().err == ""


def test_verbose_keeps_the_sdk_text(no_sign_in, capsys):
    with pytest.raises(YoloError, match="Azure sign-in failed"):
        signed_in_credential(STORAGE_SCOPE, verbose=True)
    assert "EnvironmentCredential" in capsys.readouterr().err
