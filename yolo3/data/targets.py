"""Training targets: which head, cell and anchor is responsible for each ground-truth box.

Two rules (:class:`Assignment`):
- keras-yolo3's (:data:`BEST_ANCHOR`): a box goes to the anchor whose shape (width,
  height, both corner-aligned) overlaps it best among all anchors, in the head whose mask
  holds that anchor, at the cell containing the box centre. Two boxes on the same cell
  and anchor: the later one wins.
- the modern recipe's (:data:`RATIO_AND_NEIGHBOURS`, as ultralytics' anchor-based YOLOs):
  every anchor, in every head, whose width and height are both within a factor
  ``anchor_ratio`` of the box's (the best anchor when none is), at the centre's cell and
  at the two adjacent cells nearest the centre (one across, one down or up). Three to
  nine times the positives per box; the neighbours' centres lie up to half a cell
  outside, which the decode covers with ``scale_x_y`` 2 (yolo3.boxes). Where two boxes
  claim a slot, a centre cell beats a neighbour and a smaller box beats a larger one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from yolo3.boxes import normalised_cxcywh, responsible_cells, shape_iou
from yolo3.darknet import DarknetConfig


def head_grids(config: DarknetConfig, input_hw: tuple[int, int]) -> list[tuple[int, int]]:
    """(grid_h, grid_w) of each head for an input of ``input_hw`` (height, width)."""
    return [(input_hw[0] // s, input_hw[1] // s) for s in config.head_strides]


@dataclass(frozen=True)
class Assignment:
    """Which slots learn a box (see the module doc)."""

    anchor_ratio: float | None = None  # None: the best-matching anchor only
    neighbours: bool = False  # also the two adjacent cells nearest the centre


BEST_ANCHOR = Assignment()
RATIO_AND_NEIGHBOURS = Assignment(anchor_ratio=4.0, neighbours=True)


def build_targets(boxes: np.ndarray, config: DarknetConfig, input_hw: tuple[int, int],
                  grids: list[tuple[int, int]] | None = None,
                  assignment: Assignment = BEST_ANCHOR) -> list[np.ndarray]:
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
    if assignment != BEST_ANCHOR:
        for j, i, slot, b, target in _ratio_and_neighbour_slots(cxcywh, boxes[:, 2:4]
                                                                - boxes[:, 0:2], config,
                                                                grids, targets, assignment):
            _write(target, j, i, slot, cxcywh[b], int(boxes[b, 4]))
        return targets
    best = np.argmax(shape_iou(boxes[:, 2:4] - boxes[:, 0:2], config.anchors), axis=1)
    for target, head, grid in zip(targets, config.heads, grids):
        cells = responsible_cells(cxcywh[:, 0:2], grid)
        for slot, anchor in enumerate(head.mask):
            for b in np.flatnonzero(best == anchor):
                i, j = cells[b]
                _write(target, j, i, slot, cxcywh[b], int(boxes[b, 4]))
    return targets


def _write(target: np.ndarray, row: int, col: int, slot: int, box: np.ndarray,
           class_id: int) -> None:
    target[row, col, slot] = 0
    target[row, col, slot, 0:4] = box
    target[row, col, slot, 4] = 1
    target[row, col, slot, 5 + class_id] = 1


def _ratio_and_neighbour_slots(cxcywh, shapes, config: DarknetConfig, grids, targets,
                               assignment: Assignment):
    """(row, column, slot, box, target) to write, in the order that makes the right claim
    win: neighbours before centres, larger boxes before smaller."""
    ratios = shapes[:, None, :] / np.asarray(config.anchors, np.float32)[None, :, :]
    worst = np.maximum(ratios, 1 / np.maximum(ratios, 1e-9)).max(axis=2)  # (N, K)
    matched = worst < assignment.anchor_ratio
    unmatched = ~matched.any(axis=1)
    matched[unmatched, np.argmin(worst[unmatched], axis=1)] = True
    writes = []  # (is_centre, -area, row, col, slot, box, head)
    areas = shapes[:, 0] * shapes[:, 1]
    for h, (head, (grid_h, grid_w)) in enumerate(zip(config.heads, grids)):
        centres = cxcywh[:, 0:2] * np.array([grid_w, grid_h], np.float32)
        cells = responsible_cells(cxcywh[:, 0:2], (grid_h, grid_w))
        for slot, anchor in enumerate(head.mask):
            for b in np.flatnonzero(matched[:, anchor]):
                col, row = (int(v) for v in cells[b])
                writes.append((1, -areas[b], row, col, slot, b, h))
                if not assignment.neighbours:
                    continue
                fx, fy = centres[b] - cells[b]
                step_x = -1 if fx < 0.5 else 1
                step_y = -1 if fy < 0.5 else 1
                if 0 <= col + step_x < grid_w:
                    writes.append((0, -areas[b], row, col + step_x, slot, b, h))
                if 0 <= row + step_y < grid_h:
                    writes.append((0, -areas[b], row + step_y, col, slot, b, h))
    writes.sort(key=lambda w: (w[0], w[1]))
    return [(row, col, slot, b, targets[h]) for _, _, row, col, slot, b, h in writes]


def padded_boxes(boxes: np.ndarray, input_hw: tuple[int, int], max_boxes: int) -> np.ndarray:
    """(max_boxes, 4) normalised [x, y, w, h] of the image's boxes, zero rows after them.

    The loss compares every prediction with all of an image's boxes (not only those of
    the same head, as keras-yolo3 did) to decide which predictions to ignore.
    """
    boxes = np.asarray(boxes, np.float32).reshape(-1, 5)[:max_boxes]
    out = np.zeros((max_boxes, 4), np.float32)
    out[:len(boxes)] = normalised_cxcywh(boxes[:, :4], input_hw)
    return out
