"""The guards every tool's files pass through.

- Outputs are written atomically: a temporary ``.partial-<pid>-<token>-<name>`` beside the
  target, renamed over it only when complete, so a failed or interrupted run leaves any
  earlier file as it was. Temporary files are removed on errors, Ctrl-C and SIGTERM
  (:func:`yolo3.cli.run` turns SIGTERM into an exception); one left by a killed process
  (SIGKILL, power loss) is removed by the next write of the same target.
- An output that resolves to one of the run's inputs (the same file or folder, through
  links) is refused before any work: :func:`refuse_overwriting_inputs`.
- Text inputs (training lists, class files, anchors, JSON, image sets, cfgs) are read by
  :func:`read_text`: UTF-8, UTF-8 with a BOM, or UTF-16/32 with a BOM (what Windows
  PowerShell's ``>`` writes); anything else is one error naming the file.
"""

from __future__ import annotations

import codecs
import hashlib
import os
import re
import secrets
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from yolo3.errors import YoloError

_PARTIAL = re.compile(r"^\.partial-(\d+)-[0-9a-f]{8}-(.+)$")
# longest BOM first: UTF-32-LE's BOM starts with UTF-16-LE's
_BOMS = [(codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"),
         (codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"),
         (codecs.BOM_UTF16_BE, "utf-16-be")]


def read_text(path: str | Path) -> str:
    """The text of a user's file, in whichever of the encodings above it was saved."""
    path = Path(path)
    data = path.read_bytes()
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data[len(bom):].decode(encoding)
            except UnicodeDecodeError as error:
                raise YoloError(f"{path}: not valid {encoding.upper()} text despite its byte "
                                f"order mark (byte {error.start})") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        bad = data[error.start:error.start + 1].hex()
        raise YoloError(f"{path}: not UTF-8 text (byte 0x{bad} at offset {error.start}); save "
                        "it as UTF-8 (or UTF-16 with a byte order mark)") from None


def read_json(path: str | Path, kind: str = "JSON"):
    """The JSON document in a user's file (any encoding :func:`read_text` reads); invalid
    JSON is one error saying the file is not a ``kind``.

    orjson parses it where installed (a 5,000-image detections file: 0.8 s against the
    standard library's 1.3 s); what orjson refuses (NaN, numbers beyond a double, lone
    surrogates) the standard library reads, so the checks after reading word the
    problem. One difference remains: orjson reads an integer beyond 64 bits as a float,
    which no field this project reads accepts as an integer either way.
    """
    import json

    text = read_text(path)
    try:
        import orjson
    except ImportError:  # the serving environment does without
        orjson = None
    if orjson is not None:
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise YoloError(f"{path}: not {kind} ({error})") from None


def same_location(a: str | Path, b: str | Path) -> bool:
    """Whether two paths name the same file or folder (links and ``..`` resolved)."""
    a, b = Path(a), Path(b)
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return a.resolve() == b.resolve()


def refuse_overwriting_inputs(outputs: Iterable[str | Path | None],
                              inputs: Iterable[str | Path | None]) -> None:
    """YoloError when an output would replace an input (file or folder, through links)."""
    inputs = [Path(p) for p in inputs if p is not None]
    for output in filter(None, outputs):
        for source in inputs:
            if same_location(output, source):
                raise YoloError(f"refusing to write {output}: it is the input {source}; "
                                "choose another output")


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
    tmp = path.parent / f".partial-{os.getpid()}-{secrets.token_hex(4)}-{path.name}"
    _touch(path, tmp)
    _remove_abandoned(path)
    try:
        yield tmp
        os.replace(tmp, path)
    except OSError as error:
        raise YoloError(f"cannot write {path}: {_reason(error)}") from None
    finally:
        tmp.unlink(missing_ok=True)


def _reason(error: OSError) -> str:
    import errno

    if error.errno == errno.ENOSPC:
        return "no space left on the device"
    return error.strerror or str(error).splitlines()[0]


def _remove_abandoned(path: Path) -> None:
    """Temporary files of ``path`` left by processes that no longer run."""
    for name in _abandoned(path.parent).pop(path.name, []):
        (path.parent / name).unlink(missing_ok=True)


_ABANDONED: dict[Path, dict[str, list[str]]] = {}


def _abandoned(folder: Path) -> dict[str, list[str]]:
    """{target name: its abandoned temporary files} in ``folder``, listed once per process
    (a run writing thousands of files into one folder must not list it thousands of
    times; files this process leaves are cleaned by itself)."""
    key = folder.absolute()
    if key not in _ABANDONED:
        found: dict[str, list[str]] = {}
        try:
            names = [e.name for e in os.scandir(folder) if e.name.startswith(".partial-")]
        except OSError:
            names = []
        for name in names:
            match = _PARTIAL.match(name)
            if match and not _running(int(match.group(1))):
                found.setdefault(match.group(2), []).append(name)
        _ABANDONED[key] = found
    return _ABANDONED[key]


def _running(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, but another user's
        return True
    return True


def check_writable(path: str | Path) -> None:
    """Fail now, with a clear message, if ``path`` could not be written later.

    Leaves nothing behind: folders it had to create for the probe are removed again.
    """
    path = Path(path)
    if path.is_dir():
        raise YoloError(f"cannot write {path}: it is a directory")
    missing = [p for p in path.parents if not p.exists()]
    probe = path.parent / f".probe-{secrets.token_hex(4)}-{path.name}"
    _touch(path, probe)
    probe.unlink()
    for folder in missing:  # deepest first
        folder.rmdir()


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


def file_digest(path: str | Path, chunk: int = 4 << 20) -> int:
    """A 64-bit digest of a file's bytes (BLAKE2b): the same photo gives the same number
    wherever it is stored (a training machine's mount, a laptop)."""
    digest = hashlib.blake2b(digest_size=8)
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return int.from_bytes(digest.digest(), "little")


@contextmanager
def exclusive(lock_path: str | Path) -> Iterator[None]:
    """Holds an exclusive lock on ``lock_path`` (created if need be) for the block, so two
    processes setting up the same thing (an environment, a tool) take turns. POSIX
    ``flock``; where there is none (Windows) the block runs unlocked."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    Path(lock_path).parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
