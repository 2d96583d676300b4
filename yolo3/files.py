"""Writing files so that a failure never leaves a partial output behind."""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from yolo3.errors import YoloError


@contextmanager
def atomic_output(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` only on success.

    The temporary name ends with ``path``'s own name, so suffix checks (Keras wants
    ``.h5``, ``.keras`` or ``.weights.h5``) see the same extension. Missing parent folders
    are created. The temporary file is created at once, so an unwritable destination fails
    before any slow work.
    """
    path = Path(path)
    if path.is_dir():
        raise YoloError(f"cannot write {path}: it is a directory")
    tmp = path.parent / f".partial-{secrets.token_hex(4)}-{path.name}"
    _touch(path, tmp)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def check_writable(path: str | Path) -> None:
    """Fail now, with a clear message, if ``path`` could not be written later."""
    path = Path(path)
    if path.is_dir():
        raise YoloError(f"cannot write {path}: it is a directory")
    probe = path.parent / f".probe-{secrets.token_hex(4)}-{path.name}"
    _touch(path, probe)
    probe.unlink()


def _touch(path: Path, tmp: Path) -> None:
    blocker = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
    if blocker is not None:
        raise YoloError(f"cannot write {path}: {blocker} is a file, not a folder")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.touch()
    except OSError as error:
        raise YoloError(f"cannot write {path}: {error.strerror or error}") from None


def write_bytes_atomic(path: str | Path, data: bytes) -> None:
    with atomic_output(path) as tmp:
        tmp.write_bytes(data)


def write_text_atomic(path: str | Path, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


def file_md5(path: str | Path, chunk: int = 4 << 20) -> bytes:
    """The MD5 digest of a file, read in chunks."""
    digest = hashlib.md5()
    with open(path, "rb") as f:
        while data := f.read(chunk):
            digest.update(data)
    return digest.digest()
