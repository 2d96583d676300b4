"""YOLO box maths in NumPy: named box converters, the IoUs of boxes and of box shapes,
and the cell that holds a centre (training targets, anchors, evaluation). The decode of a
[yolo] head and the IoUs of tensors are yolo3.decode (TensorFlow).

Box forms, named in every signature:
- ``xyxy``: [x_min, y_min, x_max, y_max] (pixels unless said otherwise);
- ``cxcywh``: [centre_x, centre_y, width, height];
- *normalised*: divided by the network input's width and height (0..1);
- *shape*: [width, height] only, as if every box shared its top-left corner.
NumPy only: data-only tools (kmeans.py, voc_annotation.py) never load TensorFlow.
"""

from __future__ import annotations

import numpy as np

EPSILON = 1e-9


# ----------------------------------------------------------------------------------------
# converters (NumPy)


def xyxy_to_cxcywh(boxes: np.ndarray) -> np.ndarray:
    """(..., 4) xyxy → (..., 4) cxcywh, same units."""
    boxes = np.asarray(boxes, np.float32)
    return np.concatenate([(boxes[..., 0:2] + boxes[..., 2:4]) / 2,
                           boxes[..., 2:4] - boxes[..., 0:2]], axis=-1)


def cxcywh_to_xyxy(boxes: np.ndarray) -> np.ndarray:
    """(..., 4) cxcywh → (..., 4) xyxy, same units."""
    boxes = np.asarray(boxes, np.float32)
    return np.concatenate([boxes[..., 0:2] - boxes[..., 2:4] / 2,
                           boxes[..., 0:2] + boxes[..., 2:4] / 2], axis=-1)


def normalised_cxcywh(boxes_xyxy: np.ndarray, input_hw: tuple[int, int]) -> np.ndarray:
    """(N, 4) xyxy in network-input pixels → (N, 4) cxcywh normalised to the input."""
    height, width = input_hw
    return xyxy_to_cxcywh(boxes_xyxy) / np.array([width, height, width, height], np.float32)


# ----------------------------------------------------------------------------------------
# IoUs (NumPy)


def shape_iou(shapes: np.ndarray, anchors: np.ndarray) -> np.ndarray:
    """IoU of box shapes (N, 2) with anchor shapes (K, 2), corner-aligned: (N, K).
    (Anchor assignment in the targets, and k-means.)"""
    inter = (np.minimum(shapes[:, None, 0], anchors[None, :, 0])
             * np.minimum(shapes[:, None, 1], anchors[None, :, 1]))
    areas = shapes[:, 0] * shapes[:, 1]
    return inter / (areas[:, None] + (anchors[:, 0] * anchors[:, 1])[None, :] - inter)


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of xyxy boxes a (N, 4) with b (M, 4): (N, M). (Evaluation's matching.)"""
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=2)
    area_a = np.prod(a[:, 2:] - a[:, :2], axis=1)
    area_b = np.prod(b[:, 2:] - b[:, :2], axis=1)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


# ----------------------------------------------------------------------------------------
# encode: boxes → the cell and anchor slot that predicts them (NumPy, for the targets)


def responsible_cells(centres: np.ndarray, grid_hw: tuple[int, int]) -> np.ndarray:
    """(N, 2) integer (column, row) of the cell holding each normalised centre (N, 2)."""
    grid_h, grid_w = grid_hw
    cols = np.minimum((centres[:, 0] * grid_w).astype(np.int64), grid_w - 1)
    rows = np.minimum((centres[:, 1] * grid_h).astype(np.int64), grid_h - 1)
    return np.stack([cols, rows], axis=1)
