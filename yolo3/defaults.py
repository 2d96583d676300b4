"""The defaults every tool shares, declared once (TensorFlow-free)."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_INPUT_SIZE = 416  # network input, pixels (height = width); a multiple of 32


@dataclass(frozen=True)
class NmsSettings:
    """score: minimum objectness × class score; iou: overlap above which the lower-scoring
    box of the same class is dropped; max_per_class: boxes kept per class and image;
    class_agnostic: suppress across classes too. The defaults are keras-yolo3's."""

    score: float = 0.3
    iou: float = 0.45
    max_per_class: int = 20
    class_agnostic: bool = False


# Evaluation keeps almost everything, so precision-recall curves reach far.
EVAL_NMS = NmsSettings(score=0.001, iou=0.45, max_per_class=100)
