"""The modern recipe's loss: boxes by CIoU, objectness towards the predicted box's IoU.

Per head, with t the raw prediction, y the target (yolo3.data.targets, the ratio-and-
neighbours assignment) and m its objectness mask, P = Σm the head's positives:
    box        = Σ m · (1 − CIoU(decoded box, y_box)) / P
    objectness = balance · mean over all slots of BCE(m · clip(IoU, 0, 1), t_o)
    class      = Σ m · BCE(y_class, t_class) / (P · C)
and the total is Σ_heads (gain_box · box + gain_obj · objectness + gain_class · class).
IoU is the CIoU of the slot's prediction, treated as a constant: a slot learns to say how
well its box fits, so its score ranks boxes for NMS and the mAP. ``balance`` weighs the
finest head most (4, 1, 0.4 from fine to coarse), whose many cells are mostly empty. The
gains are ultralytics' YOLOv5 ones (box 0.05, objectness 1, class 0.5 at 640 pixels, 80
classes and 3 heads) scaled to the input area, class count and head count. Boxes are
compared in input pixels, so the CIoU's aspect term sees true shapes on any input.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from yolo3.darknet import DarknetConfig, Yolo
from yolo3.decode import HeadGeometry, iou_cxcywh

TERMS = ("box", "objectness", "class")
OBJECTNESS_BALANCE = (4.0, 1.0, 0.4, 0.1)  # finest head first
MAX_LOG_SIZE = 4.0  # t_wh cap before exp: boxes at most e⁴ ≈ 55 × their anchor


def gains(num_heads: int, num_classes: int, input_hw: tuple[int, int]) -> dict[str, float]:
    """Each term's weight (see the module doc)."""
    heads = 3 / num_heads
    return {"box": 0.05 * heads,
            "objectness": 1.0 * heads * input_hw[0] * input_hw[1] / 640 ** 2,
            "class": 0.5 * heads * num_classes / 80}


def balances(strides: list[int]) -> list[float]:
    """The objectness weight of each head, given in cfg order by its stride."""
    order = np.argsort(strides, kind="stable")
    out = [0.0] * len(strides)
    for rank, head in enumerate(order):
        out[head] = OBJECTNESS_BALANCE[min(rank, len(OBJECTNESS_BALANCE) - 1)]
    return out


def _bce(labels, logits):
    return tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits)


def head_terms(target: tf.Tensor, raw: tf.Tensor, layer: Yolo,
               input_hw: tuple[int, int]) -> dict[str, tf.Tensor]:
    """The three unweighted terms of one head (objectness without its balance).

    target: (B, gh, gw, A, 5 + C); raw: (B, gh, gw, A * (5 + C)); ``layer``: the head's
    [yolo] layer (anchors and decode).
    """
    raw = tf.cast(raw, tf.float32)
    num_classes = target.shape[-1] - 5
    head = HeadGeometry.for_layer(raw, layer, input_hw)
    feats = head.split(raw)
    mask = target[..., 4]
    # capped in value only: the gradient still pulls an oversized box back
    t_wh = feats[..., 2:4]
    t_wh = t_wh + tf.stop_gradient(tf.minimum(t_wh, MAX_LOG_SIZE) - t_wh)
    centre, size = head.decode(tf.concat([feats[..., 0:2], t_wh], -1))
    pixels = tf.concat([head.input_wh, head.input_wh], 0)
    predicted = tf.concat([centre, size], -1) * pixels
    ciou = iou_cxcywh(predicted, target[..., 0:4] * pixels, "ciou")
    positives = tf.maximum(tf.reduce_sum(mask), 1.0)
    box = tf.reduce_sum(mask * (1.0 - ciou)) / positives
    quality = tf.stop_gradient(tf.clip_by_value(ciou, 0.0, 1.0))
    objectness = tf.reduce_mean(_bce(mask * quality, feats[..., 4]))
    classes = tf.reduce_sum(mask[..., None] * _bce(target[..., 5:], feats[..., 5:])) / (
        positives * num_classes)
    return {"box": box, "objectness": objectness, "class": classes}


def iou_loss(targets, outputs, config: DarknetConfig, input_hw: tuple[int, int]
             ) -> tuple[tf.Tensor, dict[str, tf.Tensor]]:
    """Total loss and its three weighted terms, means over the batch.

    targets: (head targets..., true_boxes) as yolo3.data.pipeline makes them (the true
    boxes are not needed: nothing is ignored); outputs: the raw heads in cfg order.
    """
    *head_targets, _ = targets
    weights = gains(len(config.heads), config.num_classes, input_hw)
    balance = balances(config.head_strides)
    terms = dict.fromkeys(TERMS, tf.constant(0.0))
    for target, raw, head, weight in zip(head_targets, outputs, config.heads, balance):
        values = head_terms(target, raw, head, input_hw)
        values["objectness"] = values["objectness"] * weight
        for name, value in values.items():
            terms[name] = terms[name] + weights[name] * value
    return tf.add_n(list(terms.values())), terms
