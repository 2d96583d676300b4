"""Image mode of yolo_video.py: many files in, annotated images and a JSON report out."""

from __future__ import annotations

import glob
import json
import sys
from pathlib import Path

from yolo3.errors import YoloError
from yolo3.files import atomic_output, write_text_atomic
from yolo3.images import IMAGE_SUFFIXES, draw_detections, load_image


def expand_inputs(spec: str) -> list[Path]:
    """A file, a folder (its images, sorted) or a glob pattern → image paths."""
    path = Path(spec)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise YoloError(f"{spec}: no images in this folder")
        return files
    if path.is_file():
        return [path]
    if glob.has_magic(spec):
        files = sorted(Path(p) for p in glob.glob(spec, recursive=True) if Path(p).is_file())
        if not files:
            raise YoloError(f"{spec}: no files match")
        return files
    raise YoloError(f"{spec}: no such file or folder")


def output_paths(inputs: list[Path], output: str | None) -> list[Path]:
    """Where each annotated image goes.

    No --output: ``<name>_out<ext>`` beside each input. An --output with an image
    extension, for a single input: that file. Otherwise --output is a folder.
    """
    if output is None:
        return [p.with_name(f"{p.stem}_out{p.suffix}") for p in inputs]
    out = Path(output)
    if len(inputs) == 1 and out.suffix.lower() in IMAGE_SUFFIXES and not out.is_dir():
        return [out]
    if out.exists() and not out.is_dir():
        raise YoloError(f"{output}: several images need an output folder, not a file")
    names = [p.name for p in inputs]
    if len(set(names)) != len(names):  # same names from different folders of a glob
        return [out / f"{i:05d}_{p.name}" for i, p in enumerate(inputs)]
    return [out / name for name in names]


def _save(image, path: Path) -> None:
    with atomic_output(path) as tmp:
        image.save(tmp, format=_format_for(path))


def _format_for(path: Path) -> str:
    suffix = path.suffix.lower()
    return {".jpg": "JPEG", ".jpeg": "JPEG", ".tif": "TIFF", ".pgm": "PPM"}.get(
        suffix, suffix.lstrip(".").upper() or "PNG")


def detect_images(yolo, input_spec: str, output: str | None, json_path: str | None,
                  batch_size: int = 8) -> int:
    """Annotate every image of ``input_spec``; 1 if any image failed, else 0."""
    from tqdm import tqdm

    inputs = expand_inputs(input_spec)
    targets = output_paths(inputs, output)
    report: dict[str, list[dict]] = {}
    failed: list[str] = []
    found = 0
    target_of = dict(zip(inputs, targets))
    with tqdm(total=len(inputs), unit="image", disable=len(inputs) < 2, file=sys.stderr) as bar:
        for path, image, result in yolo.detector.detect_files(inputs, batch_size):
            bar.update(1)
            if image is None:
                tqdm.write(f"skipped: {result}", file=sys.stderr)
                failed.append(str(path))
                continue
            report[str(path)] = result
            found += len(result)
            try:
                _save(draw_detections(image, result, len(yolo.class_names)), target_of[path])
            except (YoloError, OSError, ValueError) as error:
                tqdm.write(f"cannot save {target_of[path]}: {error}", file=sys.stderr)
                failed.append(str(path))
    if json_path:
        write_text_atomic(json_path, json.dumps(report, indent=1) + "\n")
    done = len(inputs) - len(failed)
    print(f"Found {found} objects in {done} of {len(inputs)} images"
          + (f"; {len(failed)} failed: {', '.join(failed)}" if failed else "") + ".")
    return 1 if failed else 0


def interactive(yolo, stream) -> int:
    """keras-yolo3's prompt loop: a file name per line, results saved as ``<name>_out``."""
    while True:
        print("Input image filename:", end=" ", flush=True)
        line = stream.readline()
        if not line:
            print()
            return 0
        name = line.strip()
        if not name:
            continue
        try:
            image = load_image(name)
        except YoloError as error:
            print(f"Open Error! Try again! ({error})", file=sys.stderr)
            continue
        detections = yolo.detect(image)
        target = output_paths([Path(name)], None)[0]
        _save(draw_detections(image, detections, len(yolo.class_names)), target)
        summary = ", ".join(f"{d['class_name']} {d['score']:.2f}" for d in detections)
        print(f"Found {len(detections)} objects ({summary or 'none'}); saved {target}")
