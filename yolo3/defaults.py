"""The defaults every tool shares, declared once (TensorFlow-free)."""

from __future__ import annotations

from dataclasses import dataclass

from yolo3.numbers import whole_number

DEFAULT_INPUT_SIZE = 416  # network input, pixels (height = width); a multiple of 32
# the largest side a network input may have: 4096² is 97× 416²; the full YOLOv3's first
# feature map alone is then 2 GB per image in float32, and exports grow past memory beyond
MAX_INPUT_SIZE = 4096


def input_size_problem(height, width) -> str | None:
    """What is wrong with a network input of height × width, or None: both whole multiples
    of 32 from 32 to MAX_INPUT_SIZE."""
    if not (whole_number(height) and whole_number(width)):
        return "height and width must be whole numbers"
    if any(v <= 0 or v % 32 for v in (height, width)):
        return "height and width must be positive multiples of 32"
    if max(height, width) > MAX_INPUT_SIZE:
        return f"height and width must be at most {MAX_INPUT_SIZE}"
    return None


@dataclass(frozen=True)
class NmsSettings:
    """score: minimum objectness × class score; iou: overlap above which the lower-scoring
    box of the same class is dropped; max_per_class: boxes kept per class and image;
    class_agnostic: suppress across classes too. The defaults are keras-yolo3's."""

    score: float = 0.3
    iou: float = 0.45
    max_per_class: int = 20
    class_agnostic: bool = False


# Boxes one image yields at most, whatever max_per_class × classes allows (8,000 for 100 of
# 80 classes): detection graphs sort at most this many rows (a full sort of 8,000 padded
# rows was a tenth of a millisecond per call in ONNX Runtime); COCO's metrics read 100.
MAX_BOXES_PER_IMAGE = 1000

# Evaluation keeps almost everything, so precision-recall curves reach far.
EVAL_NMS = NmsSettings(score=0.001, iou=0.45, max_per_class=100)

# training images decoded once and kept in memory (yolo3.data.cache): --cache's choices,
# and what "auto" lets them take at most
CACHE_CHOICES = ("auto", "ram", "none")
CACHE_BUDGET_BYTES = 4 * 2 ** 30
# --workers' default on GPUs: one data worker process per core, up to this many
# (yolo3.data.workers; Ultralytics caps its dataloader workers at 8 too)
MAX_DATA_WORKERS = 8
