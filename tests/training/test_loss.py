"""yolo3.loss: each term against NumPy, the no-ground-truth contract, degenerate boxes."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from helpers import CFG, sigmoid
from yolo3.darknet import Yolo, load_cfg, with_classes
from yolo3.data.targets import build_targets, padded_boxes
from yolo3.training.loss import head_loss, yolo_loss

INPUT = (64, 64)
ANCHORS = np.array([[10.0, 14.0], [23.0, 27.0], [37.0, 58.0]], np.float32)
LAYER = Yolo(index=1, line=1, inputs=(0,), out_channels=21, stride=32, mask=(0, 1, 2),
             anchors=tuple(map(tuple, ANCHORS.tolist())), classes=2, ignore_thresh=0.5)


def bce(label, logit):
    return np.maximum(logit, 0) - logit * label + np.log1p(np.exp(-np.abs(logit)))


def numpy_head_loss(target, raw, true_boxes, anchors, ignore_thresh):
    """keras-yolo3's formulas in NumPy, with every image box in the ignore test."""
    b, gh, gw, a, d = target.shape
    raw = raw.reshape(target.shape).astype(np.float64)
    col, row = np.meshgrid(np.arange(gw), np.arange(gh))
    cell = np.stack([col, row], -1)[:, :, None, :]
    mask = target[..., 4:5]
    pred_xy = (sigmoid(raw[..., :2]) + cell) / [gw, gh]
    pred_wh = np.exp(raw[..., 2:4]) * anchors / [INPUT[1], INPUT[0]]
    true_xy = target[..., :2] * [gw, gh] - cell
    with np.errstate(divide="ignore"):
        true_wh = np.where(mask > 0, np.log(np.maximum(
            target[..., 2:4] * [INPUT[1], INPUT[0]] / anchors, 1e-9)), 0)
    scale = 2 - target[..., 2:3] * target[..., 3:4]
    ignore = np.ones_like(mask)
    for i in range(b):
        for j, k, s in np.ndindex(gh, gw, a):
            px, py = pred_xy[i, j, k, s]
            pw, ph = pred_wh[i, j, k, s]
            best = 0.0
            for tx, ty, tw, th in true_boxes[i]:
                iw = max(0, min(px + pw / 2, tx + tw / 2) - max(px - pw / 2, tx - tw / 2))
                ih = max(0, min(py + ph / 2, ty + th / 2) - max(py - ph / 2, ty - th / 2))
                union = pw * ph + tw * th - iw * ih
                best = max(best, iw * ih / union if union > 0 else 0)
            ignore[i, j, k, s] = best < ignore_thresh
    return {
        "xy": np.sum(mask * scale * bce(np.clip(true_xy, 0, 1), raw[..., :2])),
        "wh": np.sum(mask * scale * 0.5 * (true_wh - raw[..., 2:4]) ** 2),
        "confidence": np.sum(mask * bce(mask, raw[..., 4:5])
                             + (1 - mask) * bce(mask, raw[..., 4:5]) * ignore),
        "class": np.sum(mask * bce(target[..., 5:], raw[..., 5:])),
    }


def random_case(seed, boxes_per_image=2):
    rng = np.random.default_rng(seed)
    config = with_classes(load_cfg(CFG / "yolov3-tiny.cfg"), 2, np.array(
        [[10, 14], [23, 27], [37, 58], [8, 8], [12, 30], [50, 40]]))
    targets, truths = [], []
    for _ in range(2):
        xy = rng.uniform(0, 40, (boxes_per_image, 2))
        boxes = np.column_stack([xy, xy + rng.uniform(6, 24, (boxes_per_image, 2)),
                                 rng.integers(0, 2, boxes_per_image)])
        targets.append(build_targets(boxes, config, INPUT)[1])  # the 4x4... second head
        truths.append(padded_boxes(boxes, INPUT, 5))
    target = np.stack(targets)
    raw = rng.normal(0, 1.5, (*target.shape[:3], 3 * 7)).astype(np.float32)
    return target, raw, np.stack(truths), config.heads[1]


@pytest.mark.parametrize("seed", range(4))
def test_each_term_matches_numpy(seed):
    target, raw, truths, head = random_case(seed)
    assert head.ignore_thresh == 0.7
    ours = head_loss(tf.constant(target), tf.constant(raw), tf.constant(truths), head, INPUT)
    theirs = numpy_head_loss(target, raw, truths, head.layer_anchors, 0.7)
    for name in ("xy", "wh", "confidence", "class"):
        assert float(ours[name]) == pytest.approx(theirs[name], rel=1e-4, abs=1e-4), name
    assert float(ours["xy"]) > 0 and float(ours["class"]) > 0


def test_without_ground_truth_only_objectness_counts():
    config = with_classes(load_cfg(CFG / "yolov3-tiny.cfg"), 2)
    targets = [np.zeros((2, 2, 2, 3, 7), np.float32), np.zeros((2, 4, 4, 3, 7), np.float32)]
    raws = [np.random.default_rng(1).normal(size=(2, g, g, 21)).astype(np.float32)
            for g in (2, 4)]
    total, terms = yolo_loss([*map(tf.constant, targets), tf.zeros((2, 5, 4))],
                             list(map(tf.constant, raws)), config, INPUT)
    assert float(terms["xy"]) == float(terms["wh"]) == float(terms["class"]) == 0.0
    assert float(terms["confidence"]) > 0
    assert float(total) == pytest.approx(float(terms["confidence"]))


def test_degenerate_boxes_and_extreme_logits_stay_finite():
    target = np.zeros((1, 2, 2, 3, 7), np.float32)
    target[0, 0, 0, 0, :5] = [0.1, 0.1, 0.0, 0.0, 1.0]  # zero width and height
    raw = np.full((1, 2, 2, 21), 80.0, np.float32)  # exp(80) would overflow float32
    terms = head_loss(tf.constant(target), tf.constant(raw),
                      tf.constant([[[0.1, 0.1, 0.0, 0.0]]], tf.float32), LAYER, INPUT)
    assert all(np.isfinite(float(v)) for v in terms.values())
