"""yolo3.decode: the decode matches its formula, encode inverts it, a head's settings come
whole from its [yolo] layer, and the tensor IoUs agree with plain arithmetic."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from helpers import CFG, numpy_iou, sigmoid
from yolo3.darknet import load_cfg, with_classes
from yolo3.decode import (
    HeadGeometry,
    decode_head,
    decode_layer,
    iou_cxcywh,
    pairwise_iou_cxcywh,
)


def test_decode_matches_the_formula_and_encode_inverts_it():
    rng = np.random.default_rng(0)
    anchors = np.array([[10, 14], [23, 27], [37, 58]], np.float32)
    raw = rng.normal(0, 1, (2, 4, 6, 3 * 7)).astype(np.float32)
    head = HeadGeometry(tf.constant(raw), anchors, 2, (128, 192))
    feats = head.split(tf.constant(raw))
    centre, size = (t.numpy() for t in head.decode(feats))
    t = raw.reshape(2, 4, 6, 3, 7)
    col, row = np.meshgrid(np.arange(6), np.arange(4))
    expected_xy = (sigmoid(t[..., :2]) + np.stack([col, row], -1)[:, :, None]) / [6, 4]
    np.testing.assert_allclose(centre, expected_xy, rtol=1e-5)
    np.testing.assert_allclose(size, np.exp(t[..., 2:4]) * anchors / [192, 128], rtol=1e-5)
    offset, log_size = (x.numpy() for x in head.encode(centre, size))
    np.testing.assert_allclose(offset, sigmoid(t[..., :2]), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(log_size, t[..., 2:4], rtol=1e-4, atol=1e-5)
    _, zero = head.encode(tf.zeros_like(centre), tf.zeros_like(size))
    assert not np.any(zero.numpy())  # empty target slots encode to 0, never -inf


def test_scale_x_y_widens_the_centre_range_and_encode_still_inverts():
    """Darknet's decode: (sigmoid(t) · s − (s − 1) / 2 + cell) / grid."""
    rng = np.random.default_rng(1)
    anchors = np.array([[10, 14], [23, 27]], np.float32)
    raw = rng.normal(0, 2, (1, 3, 5, 2 * 6)).astype(np.float32)
    head = HeadGeometry(tf.constant(raw), anchors, 1, (96, 160), scale_x_y=2.0)
    feats = head.split(tf.constant(raw))
    centre, size = (t.numpy() for t in head.decode(feats))
    t = raw.reshape(1, 3, 5, 2, 6)
    col, row = np.meshgrid(np.arange(5), np.arange(3))
    cells = np.stack([col, row], -1)[:, :, None]
    np.testing.assert_allclose(centre, (sigmoid(t[..., :2]) * 2 - 0.5 + cells) / [5, 3],
                               rtol=1e-5)
    offset, _ = (x.numpy() for x in head.encode(centre, size))
    np.testing.assert_allclose(offset, sigmoid(t[..., :2]), rtol=1e-4, atol=1e-6)
    boxes, _ = decode_head(tf.constant(raw), anchors, 1, (96, 160), scale_x_y=2.0)
    expected_centre = centre.reshape(1, -1, 2) * [160, 96]
    np.testing.assert_allclose((boxes.numpy()[..., :2] + boxes.numpy()[..., 2:]) / 2,
                               expected_centre, rtol=1e-4, atol=1e-3)


def test_pairwise_iou():
    pairwise = pairwise_iou_cxcywh(tf.constant([[[5.0, 5, 10, 10]]]),
                                   tf.constant([[[10.0, 10, 10, 10], [5, 5, 10, 10]]]))
    np.testing.assert_allclose(pairwise.numpy(), [[[25 / 175, 1.0]]], rtol=1e-6)


@pytest.mark.parametrize("kind", ["iou", "giou", "ciou"])
def test_iou_kinds_match_their_papers(kind):
    rng = np.random.default_rng(3)
    a = np.concatenate([rng.uniform(0, 100, (200, 2)), rng.uniform(1, 60, (200, 2))], 1)
    b = np.concatenate([a[:, :2] + rng.normal(0, 20, (200, 2)),
                        rng.uniform(1, 60, (200, 2))], 1)
    b[:5] = a[:5]  # identical boxes: 1 in every kind
    got = iou_cxcywh(tf.constant(a, tf.float32), tf.constant(b, tf.float32), kind).numpy()
    expected = [numpy_iou(x, y, kind) for x, y in zip(a, b)]
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(got[:5], 1.0, atol=1e-5)
    assert got.min() >= -1.0 and got.max() <= 1.0 + 1e-5



def test_a_layer_brings_all_its_settings():
    """YOLOv4-tiny's heads decode with scale_x_y 1.05: the layer's geometry and decode
    carry it without a call site passing it on."""
    config = with_classes(load_cfg(CFG / "yolov4-tiny.cfg"), 2)
    layer = config.heads[0]
    raw = tf.constant(np.random.default_rng(2).normal(0, 2, (1, 3, 4, 21)), tf.float32)
    head = HeadGeometry.for_layer(raw, layer, (96, 128))
    assert (head.scale_x_y, head.new_coords, head.num_classes) == (1.05, False, 2)
    np.testing.assert_allclose(head.anchors.numpy(), layer.layer_anchors)
    boxes, objectness, class_outputs = decode_layer(raw, layer, (96, 128))
    expected, scores = decode_head(raw, layer.layer_anchors, 2, (96, 128), scale_x_y=1.05)
    np.testing.assert_allclose(boxes.numpy(), expected.numpy(), rtol=1e-6)
    np.testing.assert_allclose((objectness * tf.sigmoid(class_outputs)).numpy(),
                               scores.numpy(), rtol=1e-6)
    plain, _ = decode_head(raw, layer.layer_anchors, 2, (96, 128))
    assert not np.allclose(plain.numpy(), boxes.numpy(), atol=1e-2)
