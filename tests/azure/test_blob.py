"""yolo3.azure.blob and upload_to_blob.py against a real Blob service (Azurite)."""

from __future__ import annotations

import hashlib
import itertools
import os

import pytest
from azure.storage.blob import BlobServiceClient

from helpers import run_script
from yolo3.azure.blob import redact, resolve_credentials, upload_folder
from yolo3.errors import YoloError

NAMES = itertools.count()


def tree(root):
    files = {"a.txt": b"alpha", "sub/b.bin": os.urandom(3000), "sub/deeper/c d.jpg": b"cd",
             "ünï cödé/名前.txt": "données".encode(), "empty.txt": b""}
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return files


def blobs(azurite, container):
    service = BlobServiceClient.from_connection_string(azurite["connection_string"])
    client = service.get_container_client(container)
    return {b.name: client.download_blob(b.name).readall() for b in client.list_blobs()}


def container_name():
    return f"test{next(NAMES)}"


def test_nested_names_spaces_unicode_and_skip_on_rerun(tmp_path, azurite):
    files = tree(tmp_path)
    creds = resolve_credentials(env={"STORAGE_CONNECTION_STRING": azurite["connection_string"]})
    name = container_name()
    report = upload_folder(creds, name, tmp_path, prefix="raw", progress=False)
    assert sorted(report.uploaded) == sorted(f"raw/{n}" for n in files) and not report.failed
    assert blobs(azurite, name) == {f"raw/{n}": data for n, data in files.items()}
    again = upload_folder(creds, name, tmp_path, prefix="raw", progress=False)
    assert again.uploaded == [] and len(again.skipped) == len(files)
    (tmp_path / "a.txt").write_bytes(b"changed")
    third = upload_folder(creds, name, tmp_path, prefix="raw", progress=False)
    assert third.uploaded == ["raw/a.txt"]
    forced = upload_folder(creds, name, tmp_path, prefix="raw", overwrite=True, progress=False)
    assert len(forced.uploaded) == len(files)


def test_large_file_goes_up_in_blocks(tmp_path, azurite):
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(50 * 1024 * 1024))
    creds = resolve_credentials(azurite["account"], azurite["key"], account_url=azurite["url"],
                                env={})
    name = container_name()
    report = upload_folder(creds, name, tmp_path, progress=False,
                           client_options={"max_single_put_size": 4 << 20,
                                           "max_block_size": 4 << 20})
    assert report.uploaded == ["big.bin"]
    service = BlobServiceClient.from_connection_string(azurite["connection_string"])
    blob = service.get_blob_client(name, "big.bin")
    blocks = blob.get_block_list()[0]
    assert len(blocks) == 13  # 50 MiB in 4 MiB blocks
    assert hashlib.md5(blob.download_blob().readall()).digest() == \
        hashlib.md5(big.read_bytes()).digest()
    assert upload_folder(creds, name, tmp_path, progress=False).skipped == ["big.bin"]


def test_failure_in_the_middle_then_the_next_run_completes(tmp_path, azurite):
    files = tree(tmp_path)
    creds = resolve_credentials(env={"STORAGE_CONNECTION_STRING": azurite["connection_string"]})
    name = container_name()
    service = BlobServiceClient.from_connection_string(azurite["connection_string"])
    client = service.get_container_client(name)

    def flaky(path, blob_name, md5):
        if blob_name.startswith("sub/"):
            raise PermissionError(13, "Permission denied", str(path))  # not retried
        with open(path, "rb") as data:
            client.upload_blob(blob_name, data, overwrite=True)

    report = upload_folder(creds, name, tmp_path, progress=False, upload=flaky)
    assert sorted(report.failed) == ["sub/b.bin", "sub/deeper/c d.jpg"]
    assert len(report.uploaded) == len(files) - 2
    second = upload_folder(creds, name, tmp_path, progress=False)
    assert sorted(second.uploaded) == ["sub/b.bin", "sub/deeper/c d.jpg"]
    assert len(blobs(azurite, name)) == len(files)


def test_transient_errors_are_retried(tmp_path, azurite, monkeypatch):
    from azure.core.exceptions import ServiceRequestError

    (tmp_path / "x.txt").write_text("x")
    creds = resolve_credentials(env={"STORAGE_CONNECTION_STRING": azurite["connection_string"]})
    monkeypatch.setattr("yolo3.azure.blob.time.sleep", lambda s: None)
    calls = []
    name = container_name()
    client = BlobServiceClient.from_connection_string(
        azurite["connection_string"]).get_container_client(name)

    def once_broken(path, blob_name, md5):
        calls.append(blob_name)
        if len(calls) < 3:
            raise ServiceRequestError("connection reset")
        client.upload_blob(blob_name, path.read_bytes(), overwrite=True)

    report = upload_folder(creds, name, tmp_path, progress=False, upload=once_broken)
    assert report.uploaded == ["x.txt"] and len(calls) == 3


def test_cli_never_prints_a_secret(tmp_path, azurite):
    tree(tmp_path / "data")
    env_runs = [
        ["--account", azurite["account"], "--key", azurite["key"], "--account_url",
         azurite["url"]],
        ["--account", azurite["account"], "--sas", "sv=2024&sig=TOPSECRETSIG", "--account_url",
         azurite["url"]],
    ]
    name = container_name()
    first = run_script("upload_to_blob.py", "--dir", str(tmp_path / "data"), "--container",
                       name, *env_runs[0])
    assert first.returncode == 0, first.stderr
    assert "Uploaded 5 files" in first.stdout and "(account key)" in first.stdout
    assert "warning: --key is visible in shell history" in first.stderr
    bad_sas = run_script("upload_to_blob.py", "--dir", str(tmp_path / "data"), "--container",
                         name, *env_runs[1], "--quiet")
    assert bad_sas.returncode == 1  # Azurite refuses the forged token
    for result in (first, bad_sas):
        text = result.stdout + result.stderr
        assert azurite["key"] not in text and "TOPSECRETSIG" not in text
    assert len(bad_sas.stderr.strip().splitlines()) == 2  # the warning and one error line


def test_missing_credentials_and_folder(tmp_path):
    with pytest.raises(YoloError, match="no storage credentials"):
        resolve_credentials(env={})
    with pytest.raises(YoloError, match="needs the account name"):
        resolve_credentials(key="k", env={})
    result = run_script("upload_to_blob.py", "--dir", str(tmp_path / "nope"), "--container",
                        "c", "--account", "a", "--key", "k")
    assert result.returncode == 1 and "no such folder" in result.stderr


def test_redact():
    text = ("error at https://acct.blob.core.windows.net/c/x?sv=1&sig=abc key=SECRET "
            "AccountKey=zzz;")
    cleaned = redact(text, ["SECRET"])
    assert "abc" not in cleaned and "SECRET" not in cleaned and "zzz" not in cleaned
