"""The small text files in model_data/: class names and anchors.

Class names: one per line, order gives the class id; blank lines are ignored.
Anchors: one line of comma-separated numbers, read as (width, height) pairs in
network-input pixels; written as ``w,h, w,h, ...``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from yolo3.errors import YoloError
from yolo3.files import read_text

MODEL_DATA = Path(__file__).resolve().parents[1] / "model_data"
COCO_CLASSES = MODEL_DATA / "coco_classes.txt"


def read_class_names(path: str | Path) -> list[str]:
    path = Path(path)
    names = [line.strip() for line in read_text(path).splitlines()]
    names = [name for name in names if name]
    if not names:
        raise YoloError(f"{path}: no class names")
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise YoloError(f"{path}: class names repeat: {', '.join(duplicates)}")
    return names


def read_anchors(path: str | Path) -> np.ndarray:
    """Anchors from ``path``, shape (N, 2) float32, (width, height) in input pixels."""
    path = Path(path)
    text = read_text(path).strip().splitlines()
    try:
        values = [float(v) for v in text[0].split(",") if v.strip()] if text else []
    except ValueError:
        raise YoloError(f"{path}: anchors must be comma-separated numbers") from None
    if not values or len(values) % 2 or min(values) <= 0 or not np.isfinite(values).all():
        raise YoloError(f"{path}: anchors must be positive width,height pairs")
    return np.array(values, dtype=np.float32).reshape(-1, 2)


def format_anchors(anchors: np.ndarray) -> str:
    """``w,h, w,h, ...`` with integers where the values are whole."""
    def number(v: float) -> str:
        return str(int(v)) if float(v).is_integer() else f"{v:g}"
    return ", ".join(f"{number(w)},{number(h)}" for w, h in np.asarray(anchors).reshape(-1, 2))
