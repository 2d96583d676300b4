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
# a token with the shape of a box (five comma-separated fields) that is not a valid one:
# left in the path it would silently become part of the file name
_BOXLIKE = re.compile(r"^[^,\s]*(?:,[^,\s]*){4}$")


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
    rest = path.split()[1:]
    for i, token in enumerate(rest):
        if re.fullmatch(_BOX, token):  # a good box followed by something that is not one
            after = next(t for t in rest[i + 1:] if not re.fullmatch(_BOX, t))
            raise YoloError(f"{where}: {after!r} after the boxes is not a box (expected "
                            "x_min,y_min,x_max,y_max,class_id as integers)")
        if _BOXLIKE.match(token) or (i == len(rest) - 1 and not tokens
                                     and re.fullmatch(r"[-\d.,]*,[-\d.,]*", token)):
            raise YoloError(f"{where}: malformed box {token!r} (expected x_min,y_min,x_max,"
                            "y_max,class_id as integers)")
    return Annotation(path, boxes)


def read_lines(path: str | Path) -> list[Annotation]:
    """Every non-blank line of a training list (UTF-8, or UTF-16 with a byte order mark)."""
    from yolo3.files import read_text

    path = Path(path)
    return [parse_line(line, f"{path}:{number}")
            for number, line in enumerate(read_text(path).splitlines(), start=1)
            if line.strip()]


def check_boxes(annotations: list[Annotation], num_classes: int | None = None,
                source: str = "the list") -> None:
    """YoloError naming the first box no tool can use: one without area (x_max ≤ x_min or
    y_max ≤ y_min) or, given ``num_classes``, one whose class id has no class name."""
    for annotation in annotations:
        boxes = annotation.boxes
        if not boxes.size:
            continue
        flat = (boxes[:, 2] <= boxes[:, 0]) | (boxes[:, 3] <= boxes[:, 1])
        if flat.any():
            box = ",".join(str(int(v)) for v in boxes[flat.argmax()])
            raise YoloError(f"{source}: {annotation.path}: box {box} has no area "
                            "(x_max ≤ x_min or y_max ≤ y_min)")
        if num_classes is not None and boxes[:, 4].max() >= num_classes:
            raise YoloError(f"{source}: {annotation.path}: class id {int(boxes[:, 4].max())} "
                            f"is beyond the {num_classes} classes of the classes file")


def write_lines(path: str | Path, annotations: list[Annotation]) -> None:
    from yolo3.files import write_text_atomic

    text = "".join(a.to_line() + "\n" for a in annotations)
    write_text_atomic(path, text)
