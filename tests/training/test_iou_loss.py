"""yolo3.training.iou_loss: each term against the formulas in NumPy, the gains and the
per-head balance, and a gradient that pulls an oversized box back."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from helpers import CFG, numpy_iou, sigmoid
from yolo3.darknet import load_cfg, with_classes
from yolo3.data.targets import RATIO_AND_NEIGHBOURS, build_targets, padded_boxes
from yolo3.training.iou_loss import balances, gains, head_terms, iou_loss

INPUT = (64, 96)


def bce(label, logit):
    return np.maximum(logit, 0) - logit * label + np.log1p(np.exp(-np.abs(logit)))


def numpy_terms(target, raw, anchors, scale_x_y):
    """The module doc's formulas, slot by slot."""
    b, gh, gw, a, d = target.shape
    raw = raw.reshape(target.shape).astype(np.float64)
    mask = target[..., 4]
    box_sum, obj_labels, cls_sum = 0.0, np.zeros(mask.shape), 0.0
    for i, row, col, slot in np.ndindex(b, gh, gw, a):
        if not mask[i, row, col, slot]:
            continue
        t = raw[i, row, col, slot]
        cx = (sigmoid(t[0]) * scale_x_y - (scale_x_y - 1) / 2 + col) / gw * INPUT[1]
        cy = (sigmoid(t[1]) * scale_x_y - (scale_x_y - 1) / 2 + row) / gh * INPUT[0]
        w, h = np.exp(t[2:4]) * anchors[slot]
        truth = target[i, row, col, slot, :4] * [INPUT[1], INPUT[0], INPUT[1], INPUT[0]]
        ciou = numpy_iou(np.array([cx, cy, w, h]), truth, "ciou")
        box_sum += 1 - ciou
        obj_labels[i, row, col, slot] = min(max(ciou, 0.0), 1.0)
        cls_sum += bce(target[i, row, col, slot, 5:], t[5:]).sum()
    positives = max(mask.sum(), 1)
    return {"box": box_sum / positives,
            "objectness": bce(obj_labels, raw[..., 4]).mean(),
            "class": cls_sum / (positives * (d - 5))}


@pytest.fixture
def batch():
    config = with_classes(load_cfg(CFG / "yolov3-tiny.cfg"), 3, scale_x_y=2.0)
    boxes = [np.array([[10, 5, 40, 30, 0], [50, 20, 90, 60, 2]]), np.array([[0, 0, 96, 64, 1]])]
    targets = [build_targets(b, config, INPUT, assignment=RATIO_AND_NEIGHBOURS) for b in boxes]
    heads = [np.stack([t[h] for t in targets]) for h in range(len(config.heads))]
    rng = np.random.default_rng(4)
    raws = [rng.normal(0, 0.7, (2, *h.shape[1:3], h.shape[3] * h.shape[4])).astype(np.float32)
            for h in heads]
    truths = np.stack([padded_boxes(b, INPUT, 4) for b in boxes])
    return config, heads, raws, truths


def test_each_term_matches_numpy(batch):
    config, heads, raws, _ = batch
    for target, raw, head in zip(heads, raws, config.heads):
        assert target[..., 4].sum() > 0
        got = head_terms(tf.constant(target), tf.constant(raw), head, INPUT)
        expected = numpy_terms(target, raw, head.layer_anchors, 2.0)
        for name in expected:
            assert float(got[name]) == pytest.approx(expected[name], rel=1e-4), name


def test_total_weighs_the_terms_with_gains_and_balance(batch):
    config, heads, raws, truths = batch
    total, terms = iou_loss((*map(tf.constant, heads), tf.constant(truths)),
                            list(map(tf.constant, raws)), config, INPUT)
    weight = gains(len(config.heads), 3, INPUT)
    balance = balances(config.head_strides)
    expected = dict.fromkeys(("box", "objectness", "class"), 0.0)
    for target, raw, head, b in zip(heads, raws, config.heads, balance):
        values = numpy_terms(target, raw, head.layer_anchors, 2.0)
        values["objectness"] *= b
        for name in expected:
            expected[name] += weight[name] * values[name]
    for name in expected:
        assert float(terms[name]) == pytest.approx(expected[name], rel=1e-4), name
    assert float(total) == pytest.approx(sum(expected.values()), rel=1e-4)


def test_gains_and_balance():
    assert gains(3, 80, (640, 640)) == pytest.approx({"box": 0.05, "objectness": 1.0,
                                                      "class": 0.5})
    tiny = gains(2, 3, (320, 320))
    assert tiny == pytest.approx({"box": 0.075, "objectness": 0.375, "class": 0.028125})
    assert balances([32, 16, 8]) == [0.4, 1.0, 4.0]  # cfg order: coarse head first
    assert balances([32, 16]) == [1.0, 4.0]


def test_no_boxes_trains_objectness_down_only():
    config = with_classes(load_cfg(CFG / "yolov3-tiny.cfg"), 2, scale_x_y=2.0)
    head = config.heads[0]
    target = np.zeros((1, 2, 3, 3, 7), np.float32)
    raw = np.full((1, 2, 3, 21), 0.5, np.float32)
    terms = head_terms(tf.constant(target), tf.constant(raw), head, INPUT)
    assert float(terms["box"]) == 0 and float(terms["class"]) == 0
    assert float(terms["objectness"]) == pytest.approx(bce(0, 0.5), rel=1e-6)


def test_an_oversized_box_still_gets_a_gradient():
    config = with_classes(load_cfg(CFG / "yolov3-tiny.cfg"), 1, scale_x_y=2.0)
    head = config.heads[0]
    target = build_targets(np.array([[30, 20, 60, 44, 0]]), config, INPUT,
                           assignment=RATIO_AND_NEIGHBOURS)[0][None]
    raw = tf.Variable(np.full((1, *target.shape[1:3], 18), 9.0, np.float32))  # exp(9)·anchor
    with tf.GradientTape() as tape:
        loss = head_terms(tf.constant(target), raw, head, INPUT)["box"]
    grad = tape.gradient(loss, raw).numpy().reshape(target.shape[:4] + (6,))
    assert np.isfinite(float(loss))
    positive = target[..., 4] == 1
    # a hard cap (tf.minimum) would leave exactly 0 here: the box could never shrink
    assert (np.abs(grad[..., 2:4][positive]) > 0).all()
