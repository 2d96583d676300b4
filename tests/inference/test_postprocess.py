"""yolo3.inference.postprocess: decoding, letterbox undo and NMS against plain NumPy."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from helpers import sigmoid
from yolo3.inference.postprocess import (
    NmsSettings,
    decode_head,
    non_max_suppression,
    single_image_non_max_suppression,
    undo_letterbox,
)


def test_decode_head_matches_the_formula():
    rng = np.random.default_rng(0)
    anchors = np.array([[10, 14], [23, 27], [37, 58]], np.float32)
    raw = rng.normal(size=(2, 4, 6, 3 * 7)).astype(np.float32)  # 2 classes
    boxes, scores = (t.numpy() for t in decode_head(tf.constant(raw), anchors, 2, (128, 192)))
    assert boxes.shape == (2, 4 * 6 * 3, 4) and scores.shape == (2, 72, 2)
    feats = raw.reshape(2, 4, 6, 3, 7)
    b, row, col, a = 1, 2, 5, 1
    t = feats[b, row, col, a]
    cx = (sigmoid(t[0]) + col) / 6 * 192
    cy = (sigmoid(t[1]) + row) / 4 * 128
    w, h = np.exp(t[2]) * 23, np.exp(t[3]) * 27
    flat = (row * 6 + col) * 3 + a
    np.testing.assert_allclose(boxes[b, flat], [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2],
                               rtol=1e-5)
    np.testing.assert_allclose(scores[b, flat], sigmoid(t[4]) * sigmoid(t[5:]), rtol=1e-5)


def test_undo_letterbox_maps_back_and_clips():
    # a 640x480 image letterboxed to 416x416: scale 0.65, offset (0, 52)
    rows = tf.constant([[0.65, 0.65, 0, 52, 640, 480]], tf.float32)
    boxes = tf.constant([[[65, 117, 130, 182], [-10, 0, 500, 500]]], tf.float32)
    mapped = undo_letterbox(boxes, rows).numpy()[0]
    np.testing.assert_allclose(mapped[0], [100, 100, 200, 200], rtol=1e-5)
    np.testing.assert_allclose(mapped[1], [0, 0, 640, 480])


def boxes_and_scores():
    boxes = np.array([[[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60], [0, 0, 10, 10]]],
                     np.float32)
    scores = np.array([[[0.9, 0.0], [0.8, 0.7], [0.6, 0.0], [0.0, 0.5]]], np.float32)
    return tf.constant(boxes), tf.constant(scores)


def run(settings, suppress=non_max_suppression):
    boxes, scores, classes, count = suppress(*boxes_and_scores(), settings)
    n = int(count[0])
    return boxes.numpy()[0, :n], [round(float(v), 2) for v in scores.numpy()[0, :n]], \
        classes.numpy()[0, :n].tolist()


BOTH = pytest.mark.parametrize("suppress", [non_max_suppression,
                                             single_image_non_max_suppression])


@BOTH
def test_per_class_nms_keeps_overlaps_of_other_classes(suppress):
    _, scores, classes = run(NmsSettings(score=0.3, iou=0.45), suppress)
    assert sorted(zip(classes, scores)) == [
        (0, 0.6), (0, 0.9), (1, 0.7)]  # class 1's 0.5 box overlaps its 0.7 box


@BOTH
def test_class_agnostic_nms_suppresses_across_classes(suppress):
    _, scores, classes = run(NmsSettings(score=0.3, iou=0.45, class_agnostic=True), suppress)
    assert sorted(zip(classes, scores)) == [(0, 0.6), (0, 0.9)]


@BOTH
def test_score_threshold_and_cap(suppress):
    _, scores, _ = run(NmsSettings(score=0.65, iou=0.45), suppress)
    assert sorted(scores) == [0.7, 0.9]
    if suppress is single_image_non_max_suppression:
        return  # per-class caps are the caller's (runtimes cut each class's list)
    _, scores, classes = run(NmsSettings(score=0.3, iou=0.99, max_per_class=1))
    assert sorted(zip(classes, scores)) == [(0, 0.9), (1, 0.7)]


@pytest.mark.parametrize("agnostic", [False, True])
def test_single_image_nms_equals_tensorflows_combined_nms(agnostic):
    """The TFLite graph's NMS (one pass over class-shifted boxes) against TensorFlow's
    per-class NMS, on 600 crowded boxes of 4 classes at two thresholds."""
    rng = np.random.default_rng(5)
    corners = rng.uniform(0, 300, (1, 600, 2))
    sizes = rng.uniform(10, 80, (1, 600, 2))
    boxes = tf.constant(np.concatenate([corners, corners + sizes], -1), tf.float32)
    scores = tf.constant(rng.uniform(0, 1, (1, 600, 4)) ** 3, tf.float32)
    for settings in (NmsSettings(0.3, 0.45, 600, agnostic), NmsSettings(0.05, 0.6, 600, agnostic)):
        theirs = non_max_suppression(boxes, scores, settings)
        ours = single_image_non_max_suppression(boxes, scores, settings)
        n = int(theirs[3][0])
        assert int(ours[3][0]) == n > 20
        for a, b in zip(ours[:3], theirs[:3]):
            np.testing.assert_allclose(a.numpy()[0, :n], b.numpy()[0, :n], rtol=1e-6)


@BOTH
def test_an_image_yields_at_most_max_boxes_per_image(suppress):
    from yolo3.defaults import MAX_BOXES_PER_IMAGE

    corners = np.stack(np.meshgrid(np.arange(40) * 20.0, np.arange(40) * 20.0), -1)
    corners = corners.reshape(1, -1, 2)  # 1,600 disjoint boxes
    boxes = tf.constant(np.concatenate([corners, corners + 10], -1), tf.float32)
    scores = tf.constant(np.linspace(0.9, 0.5, 1600)[None, :, None], tf.float32)
    found = suppress(boxes, scores, NmsSettings(score=0.3, iou=0.45, max_per_class=2000))
    assert int(found[3][0]) == MAX_BOXES_PER_IMAGE == 1000
    np.testing.assert_allclose(found[1].numpy()[0, :3], [0.9, 0.9 - 0.4 / 1599,
                                                         0.9 - 0.8 / 1599], rtol=1e-6)
