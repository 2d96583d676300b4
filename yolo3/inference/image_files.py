"""Image mode of yolo_video.py: many files in, annotated images and a JSON report out."""

from __future__ import annotations

import glob
import json
import os
import sys
from pathlib import Path

from yolo3.errors import YoloError
from yolo3.files import (
    check_writable,
    refuse_overwriting_inputs,
    write_text_atomic,
)
from yolo3.images import IMAGE_SUFFIXES, draw_detections, load_image, save_image


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


def without_own_outputs(inputs: list[Path]) -> list[Path]:
    """Drop ``<name>_out<ext>`` files whose ``<name><ext>`` is among the inputs: what an
    earlier run without --output wrote beside them (annotating them again would stack boxes
    on boxes and write ``<name>_out_out<ext>``)."""
    present = set(inputs)
    return [p for p in inputs if not (p.stem.endswith("_out")
                                      and p.with_name(p.stem[:-4] + p.suffix) in present)]


def json_key(path: Path) -> str:
    """How a --json report names an image: its absolute path, so that evaluate.py finds it
    from any working folder."""
    return os.path.abspath(path)


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


def plan_images(input_spec: str, output: str | None, json_path: str | None,
                model_files: tuple = ()) -> dict[Path, Path]:
    """{input image: annotated output}, checked before any model is loaded: no output may
    be an input (an annotated copy never replaces its photo; the report never replaces
    the ``model_files``: model, classes, anchors), and every output folder and the --json
    file must be writable."""
    inputs = expand_inputs(input_spec)
    if output is None:
        inputs = without_own_outputs(inputs)
    targets = output_paths(inputs, output)
    refuse_overwriting_inputs([*targets, output, json_path],
                              [*inputs, input_spec if Path(input_spec).is_dir() else None,
                               *model_files])
    for target in {t.parent: t for t in targets}.values():
        check_writable(target)
    if json_path:
        check_writable(json_path)
    return dict(zip(inputs, targets))


def detect_images(detector, target_of: dict[Path, Path], json_path: str | None,
                  batch_size: int = 8) -> int:
    """Annotate every image of a :func:`plan_images` plan; 1 if any image failed, else 0.

    The --json report is written only when at least one image was read; a run where every
    image fails leaves an earlier report as it was.
    """
    from tqdm import tqdm

    inputs = list(target_of)
    report: dict[str, list[dict]] = {}
    failed: list[str] = []
    found = 0
    with tqdm(total=len(inputs), unit="image", disable=len(inputs) < 2, file=sys.stderr) as bar:
        for path, image, result in detector.detect_files(inputs, batch_size):
            bar.update(1)
            if image is None:
                tqdm.write(f"skipped: {result}", file=sys.stderr)
                failed.append(str(path))
                continue
            report[json_key(path)] = result
            found += len(result)
            try:
                save_image(draw_detections(image, result, detector.num_classes), target_of[path],
                           "PNG")
            except (YoloError, OSError, ValueError) as error:
                tqdm.write(f"cannot save {target_of[path]}: {error}", file=sys.stderr)
                failed.append(str(path))
    if json_path and report:
        write_text_atomic(json_path, json.dumps(report, indent=1) + "\n")
    elif json_path:
        print(f"note: no image was read, {json_path} not written", file=sys.stderr)
    done = len(inputs) - len(failed)
    print(f"Found {found} objects in {done} of {len(inputs)} images"
          + (f"; {len(failed)} failed: {', '.join(failed)}" if failed else "") + ".")
    return 1 if failed else 0


def interactive(detector, stream) -> int:
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
        detections = detector.detect(image)
        target = output_paths([Path(name)], None)[0]
        save_image(draw_detections(image, detections, detector.num_classes), target, "PNG")
        summary = ", ".join(f"{d['class_name']} {d['score']:.2f}" for d in detections)
        print(f"Found {len(detections)} objects ({summary or 'none'}); saved {target}")
