"""Training targets: which head, cell and anchor is responsible for each ground-truth box.

keras-yolo3's assignment: a box goes to the anchor whose shape (width, height, both
corner-aligned) overlaps it best among all anchors, in the head whose mask holds that
anchor, at the cell containing the box centre. Two boxes on the same cell and anchor:
the later one wins.
"""

from __future__ import annotations

import numpy as np

from yolo3.boxes import normalised_cxcywh, responsible_cells, shape_iou
from yolo3.darknet import DarknetConfig


def head_grids(config: DarknetConfig, input_hw: tuple[int, int]) -> list[tuple[int, int]]:
    """(grid_h, grid_w) of each head for an input of ``input_hw`` (height, width)."""
    return [(input_hw[0] // s, input_hw[1] // s) for s in config.head_strides]


def build_targets(boxes: np.ndarray, config: DarknetConfig, input_hw: tuple[int, int],
                  grids: list[tuple[int, int]] | None = None) -> list[np.ndarray]:
    """One target array per head, (grid_h, grid_w, anchors, 5 + classes) float32.

    boxes: (N, 5) rows of x_min, y_min, x_max, y_max (network-input pixels) and class id.
    Each responsible slot holds [x, y, w, h] of the box normalised to the input (centre
    and size), objectness 1 and a one-hot class. ``grids`` (from :func:`head_grids`) saves
    walking the cfg for every image.
    """
    num_classes = config.num_classes
    grids = grids or head_grids(config, input_hw)
    targets = [np.zeros((gh, gw, len(head.mask), 5 + num_classes), np.float32)
               for head, (gh, gw) in zip(config.heads, grids)]
    boxes = np.asarray(boxes, np.float32).reshape(-1, 5)
    wh = boxes[:, 2:4] - boxes[:, 0:2]
    boxes = boxes[(wh > 0).all(axis=1)]
    if not len(boxes):
        return targets
    cxcywh = normalised_cxcywh(boxes[:, :4], input_hw)
    best = np.argmax(shape_iou(boxes[:, 2:4] - boxes[:, 0:2], config.anchors), axis=1)
    for target, head, grid in zip(targets, config.heads, grids):
        cells = responsible_cells(cxcywh[:, 0:2], grid)
        for slot, anchor in enumerate(head.mask):
            for b in np.flatnonzero(best == anchor):
                i, j = cells[b]
                target[j, i, slot] = 0
                target[j, i, slot, 0:4] = cxcywh[b]
                target[j, i, slot, 4] = 1
                target[j, i, slot, 5 + int(boxes[b, 4])] = 1
    return targets


def padded_boxes(boxes: np.ndarray, input_hw: tuple[int, int], max_boxes: int) -> np.ndarray:
    """(max_boxes, 4) normalised [x, y, w, h] of the image's boxes, zero rows after them.

    The loss compares every prediction with all of an image's boxes (not only those of
    the same head, as keras-yolo3 did) to decide which predictions to ignore.
    """
    boxes = np.asarray(boxes, np.float32).reshape(-1, 5)[:max_boxes]
    out = np.zeros((max_boxes, 4), np.float32)
    out[:len(boxes)] = normalised_cxcywh(boxes[:, :4], input_hw)
    return out
