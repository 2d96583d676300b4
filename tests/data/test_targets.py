"""yolo3.data.targets: keras-yolo3's anchor assignment and the modern ratio-and-neighbours
rule, each against the rule written out plainly."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import CFG
from yolo3.darknet import load_cfg, with_classes
from yolo3.data.targets import (
    RATIO_AND_NEIGHBOURS,
    build_targets,
    head_grids,
    padded_boxes,
)


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


def reference_slots(box, config, input_hw, ratio=4.0):
    """The modern rule for one box written out plainly: {(head, row, col, slot)}."""
    x0, y0, x1, y1 = box[:4]
    w, h = x1 - x0, y1 - y0
    cx, cy = (x0 + x1) / 2 / input_hw[1], (y0 + y1) / 2 / input_hw[0]
    slots = set()
    for index, head in enumerate(config.heads):
        gh, gw = input_hw[0] // head.stride, input_hw[1] // head.stride
        col, row = min(int(cx * gw), gw - 1), min(int(cy * gh), gh - 1)
        for slot, anchor in enumerate(head.mask):
            aw, ah = config.anchors[anchor]
            if max(w / aw, aw / w, h / ah, ah / h) >= ratio:
                continue
            slots.add((index, row, col, slot))
            fx, fy = cx * gw - col, cy * gh - row
            across = col - 1 if fx < 0.5 else col + 1
            down = row - 1 if fy < 0.5 else row + 1
            if 0 <= across < gw:
                slots.add((index, row, across, slot))
            if 0 <= down < gh:
                slots.add((index, down, col, slot))
    return slots


def positive_slots(targets):
    return {(h, *map(int, where)) for h, t in enumerate(targets)
            for where in np.argwhere(t[..., 4] == 1)}


@pytest.mark.parametrize("box", [[200, 90, 300, 170, 2], [10, 10, 20, 23, 0],
                                 [0, 0, 40, 40, 1], [380, 390, 416, 416, 1],
                                 [100, 100, 133, 260, 0]])
def test_ratio_and_neighbour_assignment_matches_the_rule(box):
    config = with_classes(load_cfg(CFG / "yolov3.cfg"), 3)
    targets = build_targets(np.array([box]), config, (416, 416),
                            assignment=RATIO_AND_NEIGHBOURS)
    expected = reference_slots(np.array(box, np.float32), config, (416, 416))
    assert positive_slots(targets) == expected
    assert len(expected) > 3  # several anchors and cells, where keras-yolo3's rule has one
    for h, row, col, slot in expected:  # each slot holds the box itself and its class
        np.testing.assert_allclose(targets[h][row, col, slot, :4],
                                   [(box[0] + box[2]) / 832, (box[1] + box[3]) / 832,
                                    (box[2] - box[0]) / 416, (box[3] - box[1]) / 416],
                                   rtol=1e-6)
        assert targets[h][row, col, slot, 5:].tolist() == np.eye(3)[box[4]].tolist()


def test_a_box_no_anchor_fits_still_gets_its_best_anchor():
    config = with_classes(load_cfg(CFG / "yolov3-tiny.cfg"), 1)  # anchors up to 344x319
    targets = build_targets(np.array([[0, 100, 416, 104, 0]]), config, (416, 416),
                            assignment=RATIO_AND_NEIGHBOURS)  # 416x4: 4x from every anchor
    assert sum(t[..., 4].sum() for t in targets) >= 1


def test_centre_cells_beat_neighbours_and_small_boxes_beat_large():
    config = with_classes(load_cfg(CFG / "yolov3-tiny.cfg"), 2)
    grid = 416 // 32
    # box A centred in cell (row 5, col 5), left half; box B centred in cell (5, 4)
    a = [5 * 32 + 2, 5 * 32 + 2, 5 * 32 + 26, 5 * 32 + 26, 0]
    b = [4 * 32 + 4, 5 * 32 + 4, 4 * 32 + 28, 5 * 32 + 28, 1]
    for order in ([a, b], [b, a]):
        targets = build_targets(np.array(order), config, (416, 416),
                                assignment=RATIO_AND_NEIGHBOURS)
        coarse = next(t for t, h in zip(targets, config.heads) if h.stride == 32)
        assert coarse.shape[0] == grid
        # A's left neighbour is B's centre cell: B keeps it, whatever the order
        for slot in np.flatnonzero(coarse[5, 4, :, 4]):
            assert coarse[5, 4, slot, 6] == 1
        for slot in np.flatnonzero(coarse[5, 5, :, 4]):
            assert coarse[5, 5, slot, 5] == 1
    small, large = [100, 100, 130, 130, 0], [90, 90, 140, 140, 1]  # same centre
    shared = (reference_slots(np.array(small, np.float32), config, (416, 416))
              & reference_slots(np.array(large, np.float32), config, (416, 416)))
    assert shared
    for order in ([small, large], [large, small]):
        targets = build_targets(np.array(order), config, (416, 416),
                                assignment=RATIO_AND_NEIGHBOURS)
        for h, row, col, slot in shared:
            assert targets[h][row, col, slot, 2] * 416 == pytest.approx(30)
