"""yolo3.boxes: converters round-trip, cells clip to the grid, and the IoUs agree with
plain arithmetic."""

from __future__ import annotations

import numpy as np

from yolo3.boxes import (
    box_iou,
    cxcywh_to_xyxy,
    normalised_cxcywh,
    responsible_cells,
    shape_iou,
    xyxy_to_cxcywh,
)


def test_converters_round_trip():
    boxes = np.array([[10, 20, 50, 100], [0, 0, 416, 416]], np.float32)
    assert xyxy_to_cxcywh(boxes).tolist() == [[30, 60, 40, 80], [208, 208, 416, 416]]
    np.testing.assert_allclose(cxcywh_to_xyxy(xyxy_to_cxcywh(boxes)), boxes)
    np.testing.assert_allclose(normalised_cxcywh(boxes, (200, 400)),
                               [[0.075, 0.3, 0.1, 0.4], [0.52, 1.04, 1.04, 2.08]])


def test_responsible_cells_clip_to_the_grid():
    cells = responsible_cells(np.array([[0.0, 0.0], [0.51, 0.99], [1.0, 1.0]]), (13, 26))
    assert cells.tolist() == [[0, 0], [13, 12], [25, 12]]


def test_ious():
    assert shape_iou(np.array([[10.0, 10.0]]), np.array([[10.0, 10.0], [20.0, 5.0]])).tolist() \
        == [[1.0, 50 / 150]]
    np.testing.assert_allclose(box_iou(np.array([[0.0, 0, 10, 10]]),
                                       np.array([[5.0, 5, 15, 15], [20, 20, 30, 30]])),
                               [[25 / 175, 0.0]])
