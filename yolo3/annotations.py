"""The training-list line format, shared by every tool that reads or writes it.

One line per image:

    <image path> x_min,y_min,x_max,y_max,class_id x_min,y_min,x_max,y_max,class_id ...

Coordinates are integer pixels of the original image (xyxy), class_id is the 0-based
index into the classes file. An image without boxes is its path alone (a negative
sample). This is keras-yolo3's format; one extension: the path may contain spaces,
because the path is everything before the trailing box tokens (keras-yolo3 split the line
on whitespace, so such lines need this reader). Paths cannot contain line breaks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from yolo3.errors import YoloError

_BOX = r"-?\d+,-?\d+,-?\d+,-?\d+,\d+"
_LINE = re.compile(rf"^(?P<path>.*?)(?P<boxes>(?:\s+{_BOX})*)\s*$")


@dataclass
class Annotation:
    """One image and its boxes: (N, 5) int64 rows of x_min, y_min, x_max, y_max, class_id."""

    path: str
    boxes: np.ndarray

    def to_line(self) -> str:
        return format_line(self.path, self.boxes)


def format_line(path: str, boxes: np.ndarray | list) -> str:
    if "\n" in path or "\r" in path or not path.strip() or path != path.strip():
        raise YoloError(f"{path!r}: an image path in a training list cannot contain line "
                        "breaks or start or end with spaces")
    boxes = np.asarray(boxes, dtype=np.int64).reshape(-1, 5)
    return " ".join([path] + [",".join(str(int(v)) for v in box) for box in boxes])


def parse_line(line: str, where: str = "line") -> Annotation:
    """Parse one training-list line (see the module doc)."""
    match = _LINE.match(line.rstrip("\r\n"))
    path = match.group("path").strip() if match else ""
    if not path:
        raise YoloError(f"{where}: no image path in {line.strip()!r}")
    tokens = match.group("boxes").split()
    boxes = np.array([[int(v) for v in token.split(",")] for token in tokens],
                     dtype=np.int64).reshape(-1, 5)
    if path.split()[-1].count(",") >= 4 and re.fullmatch(r"[-\d.,]+", path.split()[-1]):
        raise YoloError(f"{where}: malformed box {path.split()[-1]!r} (expected "
                        "x_min,y_min,x_max,y_max,class_id as integers)")
    return Annotation(path, boxes)


def read_lines(path: str | Path) -> list[Annotation]:
    """Every non-blank line of a training list."""
    path = Path(path)
    annotations = []
    with open(path, encoding="utf-8-sig") as f:
        for number, line in enumerate(f, start=1):
            if line.strip():
                annotations.append(parse_line(line, f"{path}:{number}"))
    return annotations


def write_lines(path: str | Path, annotations: list[Annotation]) -> None:
    from yolo3.files import write_text_atomic

    text = "".join(a.to_line() + "\n" for a in annotations)
    write_text_atomic(path, text)
