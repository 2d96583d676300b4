"""The YOLOv3 loss, keras-yolo3's maths made numerically safe.

Per head, with t the raw prediction, y the target (yolo3.data.targets) and m its objectness:
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

import tensorflow as tf

from yolo3.darknet import DarknetConfig, Yolo
from yolo3.decode import HeadGeometry, pairwise_iou_cxcywh

TERMS = ("xy", "wh", "confidence", "class")


def _bce(labels, logits):
    return tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits)


def head_loss(target: tf.Tensor, raw: tf.Tensor, true_boxes: tf.Tensor, layer: Yolo,
              input_hw: tuple[int, int]) -> dict[str, tf.Tensor]:
    """The four terms for one head, each summed over the batch (not yet divided by it).

    target: (B, gh, gw, A, 5 + C); raw: (B, gh, gw, A * (5 + C)); true_boxes: (B, T, 4)
    normalised [x, y, w, h], zero rows for padding; ``layer``: the head's [yolo] layer
    (anchors, decode and ignore_thresh).
    """
    raw = tf.cast(raw, tf.float32)
    head = HeadGeometry.for_layer(raw, layer, input_hw)
    feats = head.split(raw)
    mask = target[..., 4:5]
    pred_xy, pred_wh = head.decode(feats, max_log_size=10.0)
    true_offset, true_wh = head.encode(target[..., 0:2], target[..., 2:4])
    scale = 2.0 - target[..., 2:3] * target[..., 3:4]

    predicted = tf.reshape(tf.concat([pred_xy, pred_wh], -1), [tf.shape(pred_xy)[0], -1, 4])
    best_iou = tf.reduce_max(pairwise_iou_cxcywh(predicted, true_boxes), axis=-1)
    ignore = tf.reshape(tf.cast(best_iou < layer.ignore_thresh, tf.float32), tf.shape(mask))

    xy = mask * scale * _bce(tf.clip_by_value(true_offset, 0.0, 1.0), feats[..., 0:2])
    wh = mask * scale * 0.5 * tf.square(true_wh - feats[..., 2:4])
    confidence = (mask * _bce(mask, feats[..., 4:5])
                  + (1 - mask) * _bce(mask, feats[..., 4:5]) * ignore)
    classes = mask * _bce(target[..., 5:], feats[..., 5:])
    return {"xy": tf.reduce_sum(xy), "wh": tf.reduce_sum(wh),
            "confidence": tf.reduce_sum(confidence), "class": tf.reduce_sum(classes)}


def yolo_loss(targets, outputs, config: DarknetConfig, input_hw: tuple[int, int]
              ) -> tuple[tf.Tensor, dict[str, tf.Tensor]]:
    """Total loss and its four terms, each divided by the batch size.

    targets: (head targets..., true_boxes) as yolo3.data.pipeline makes them; outputs: the model's
    raw heads in cfg order.
    """
    *head_targets, true_boxes = targets
    batch = tf.cast(tf.shape(true_boxes)[0], tf.float32)
    terms = dict.fromkeys(TERMS, tf.constant(0.0))
    for target, raw, head in zip(head_targets, outputs, config.heads):
        for name, value in head_loss(target, raw, true_boxes, head, input_hw).items():
            terms[name] = terms[name] + value / batch
    return tf.add_n(list(terms.values())), terms
