"""yolo3.data.targets: keras-yolo3's anchor assignment."""

from __future__ import annotations

import numpy as np

from helpers import CFG
from yolo3.darknet import load_cfg, with_classes
from yolo3.data.targets import build_targets, head_grids, padded_boxes


def test_strides_and_grids():
    assert load_cfg(CFG / "yolov3.cfg").head_strides == [32, 16, 8]
    assert load_cfg(CFG / "yolov3-spp.cfg").head_strides == [32, 16, 8]
    tiny = load_cfg(CFG / "yolov3-tiny.cfg")
    assert head_grids(tiny, (320, 416)) == [(10, 13), (20, 26)]


def test_a_box_lands_in_its_cell_and_best_anchor():
    config = with_classes(load_cfg(CFG / "yolov3.cfg"), 3)
    # 100x80 box centred at (250, 130) on 416x416: best shape match is anchor 6 (116,90)
    targets = build_targets(np.array([[200, 90, 300, 170, 2]]), config, (416, 416))
    assert [t.shape for t in targets] == [(13, 13, 3, 8), (26, 26, 3, 8), (52, 52, 3, 8)]
    where = np.argwhere(targets[0][..., 4] == 1)
    assert where.tolist() == [[130 * 13 // 416, 250 * 13 // 416, 0]]  # row 4, col 7, slot 0
    np.testing.assert_allclose(targets[0][4, 7, 0, :4], [250 / 416, 130 / 416, 100 / 416,
                                                         80 / 416], rtol=1e-6)
    assert targets[0][4, 7, 0, 5:].tolist() == [0, 0, 1]
    assert targets[1][..., 4].sum() == 0 and targets[2][..., 4].sum() == 0


def test_small_boxes_go_to_the_fine_head_and_empty_rows_are_ignored():
    config = with_classes(load_cfg(CFG / "yolov3.cfg"), 1)
    targets = build_targets(np.array([[10, 10, 20, 23, 0], [0, 0, 0, 0, 0]]), config,
                                      (416, 416))
    assert targets[2][..., 4].sum() == 1 and targets[0][..., 4].sum() == 0
    # centre (15, 16.5) at stride 8: row 2, column 1, anchor 0 (10,13)
    assert np.argwhere(targets[2][..., 4] == 1).tolist() == [[2, 1, 0]]


def test_tiny_masks_decide_which_heads_learn():
    tiny = with_classes(load_cfg(CFG / "yolov3-tiny.cfg"), 1)  # masks 3,4,5 / 1,2,3
    targets = build_targets(np.array([[0, 0, 81, 82, 0]]), tiny, (416, 416))  # anchor 3
    assert targets[0][..., 4].sum() == 1 and targets[1][..., 4].sum() == 1  # both, as upstream
    targets = build_targets(np.array([[0, 0, 10, 14, 0]]), tiny, (416, 416))  # anchor 0
    assert targets[0][..., 4].sum() == 0 and targets[1][..., 4].sum() == 0


def test_padded_boxes():
    boxes = padded_boxes(np.array([[0, 0, 208, 104, 1]]), (416, 416), 3)
    np.testing.assert_allclose(boxes, [[0.25, 0.125, 0.5, 0.25], [0, 0, 0, 0], [0, 0, 0, 0]])
