"""The YOLOv3 loss, keras-yolo3's maths made numerically safe.

Per head, with t the raw prediction, y the target (yolo3.targets) and m its objectness:
    xy    = m · (2 − w·h) · BCE(y_xy · grid − cell, t_xy)            (offset within the cell)
    wh    = m · (2 − w·h) · ½ (log(y_wh · input / anchor) − t_wh)²
    conf  = m · BCE(1, t_o) + (1 − m) · BCE(0, t_o) · ignore
    class = m · BCE(y_class, t_class)
where w·h is the box's area relative to the input (small boxes weigh up to 2×) and
``ignore`` is 0 for predictions whose box already overlaps a ground-truth box of the image
by more than ``ignore_thresh`` (0.5 for YOLOv3, 0.7 for tiny, from the cfg). keras-yolo3
compared only with the boxes assigned to the same head; here every box of the image
counts. Each term is summed and divided by the batch size; the loss is their sum over
heads. Degenerate boxes cannot produce NaN: logs and divisions are guarded.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from yolo3.darknet import DarknetConfig

EPSILON = 1e-9
TERMS = ("xy", "wh", "confidence", "class")


def _bce(labels, logits):
    return tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits)


def _pairwise_iou(boxes: tf.Tensor, truths: tf.Tensor) -> tf.Tensor:
    """IoU of predictions (B, N, 4) with true boxes (B, T, 4), both [x, y, w, h]: (B, N, T)."""
    p_min, p_max = boxes[..., None, :2] - boxes[..., None, 2:] / 2, \
        boxes[..., None, :2] + boxes[..., None, 2:] / 2
    t_min, t_max = truths[:, None, :, :2] - truths[:, None, :, 2:] / 2, \
        truths[:, None, :, :2] + truths[:, None, :, 2:] / 2
    inter = tf.reduce_prod(tf.maximum(tf.minimum(p_max, t_max) - tf.maximum(p_min, t_min),
                                      0.0), axis=-1)
    union = (tf.reduce_prod(boxes[..., None, 2:], axis=-1)
             + tf.reduce_prod(truths[:, None, :, 2:], axis=-1) - inter)
    return inter / tf.maximum(union, EPSILON)


def head_loss(target: tf.Tensor, raw: tf.Tensor, true_boxes: tf.Tensor, anchors: np.ndarray,
              input_hw: tuple[int, int], ignore_thresh: float) -> dict[str, tf.Tensor]:
    """The four terms for one head, each summed over the batch (not yet divided by it).

    target: (B, gh, gw, A, 5 + C); raw: (B, gh, gw, A * (5 + C)); true_boxes: (B, T, 4)
    normalised [x, y, w, h], zero rows for padding; anchors (A, 2) in input pixels.
    """
    raw = tf.cast(raw, tf.float32)
    shape = tf.shape(target)
    batch, grid_h, grid_w = shape[0], shape[1], shape[2]
    raw = tf.reshape(raw, tf.shape(target))
    cols = tf.cast(tf.range(grid_w), tf.float32)
    rows = tf.cast(tf.range(grid_h), tf.float32)
    cell = tf.stack(tf.meshgrid(cols, rows), axis=-1)[:, :, None, :]  # (gh, gw, 1, 2)
    grid_wh = tf.cast(tf.stack([grid_w, grid_h]), tf.float32)
    input_wh = tf.constant([input_hw[1], input_hw[0]], tf.float32)
    anchors = tf.constant(anchors, tf.float32)

    mask = target[..., 4:5]
    pred_xy = (tf.sigmoid(raw[..., 0:2]) + cell) / grid_wh
    pred_wh = tf.exp(tf.minimum(raw[..., 2:4], 10.0)) * anchors / input_wh

    true_offset = target[..., 0:2] * grid_wh - cell
    ratio = target[..., 2:4] * input_wh / anchors
    true_wh = tf.where(mask > 0, tf.math.log(tf.maximum(ratio, EPSILON)), tf.zeros_like(ratio))
    scale = 2.0 - target[..., 2:3] * target[..., 3:4]

    predicted = tf.reshape(tf.concat([pred_xy, pred_wh], -1), [batch, -1, 4])
    best_iou = tf.reduce_max(_pairwise_iou(predicted, true_boxes), axis=-1)
    ignore = tf.reshape(tf.cast(best_iou < ignore_thresh, tf.float32), tf.shape(mask))

    xy = mask * scale * _bce(tf.clip_by_value(true_offset, 0.0, 1.0), raw[..., 0:2])
    wh = mask * scale * 0.5 * tf.square(true_wh - raw[..., 2:4])
    confidence = (mask * _bce(mask, raw[..., 4:5])
                  + (1 - mask) * _bce(mask, raw[..., 4:5]) * ignore)
    classes = mask * _bce(target[..., 5:], raw[..., 5:])
    return {"xy": tf.reduce_sum(xy), "wh": tf.reduce_sum(wh),
            "confidence": tf.reduce_sum(confidence), "class": tf.reduce_sum(classes)}


def yolo_loss(targets, outputs, config: DarknetConfig, input_hw: tuple[int, int]
              ) -> tuple[tf.Tensor, dict[str, tf.Tensor]]:
    """Total loss and its four terms, each divided by the batch size.

    targets: (head targets..., true_boxes) as yolo3.data makes them; outputs: the model's
    raw heads in cfg order.
    """
    *head_targets, true_boxes = targets
    batch = tf.cast(tf.shape(true_boxes)[0], tf.float32)
    terms = dict.fromkeys(TERMS, tf.constant(0.0))
    for target, raw, head in zip(head_targets, outputs, config.heads):
        for name, value in head_loss(target, raw, true_boxes, head.layer_anchors, input_hw,
                                     head.ignore_thresh).items():
            terms[name] = terms[name] + value / batch
    return tf.add_n(list(terms.values())), terms
