"""From raw head outputs to boxes: decode, undo the letterbox, non-maximum suppression.

The maths is keras-yolo3's, so models trained there or here decode the same:
    centre = (sigmoid(t_xy) + cell) / grid          (fraction of the network input)
    size   = exp(t_wh) * anchor / input_size        (anchors in input pixels)
    score  = sigmoid(t_objectness) * sigmoid(t_class)   (independent sigmoids)
followed by per-class NMS keeping at most ``max_per_class`` boxes per class.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import tensorflow as tf


def decode_head(raw: tf.Tensor, anchors: np.ndarray, num_classes: int,
                input_hw: tuple[int, int]) -> tuple[tf.Tensor, tf.Tensor]:
    """Decode one head.

    raw: (B, grid_h, grid_w, A * (5 + C)) raw convolution output; anchors: (A, 2) (w, h)
    in input pixels. Returns boxes (B, grid_h * grid_w * A, 4) as [x_min, y_min, x_max,
    y_max] in network-input pixels, and scores (B, grid_h * grid_w * A, C) =
    objectness × class probability.
    """
    num_anchors = len(anchors)
    shape = tf.shape(raw)
    batch, grid_h, grid_w = shape[0], shape[1], shape[2]
    raw = tf.reshape(raw, [batch, grid_h, grid_w, num_anchors, 5 + num_classes])
    cols = tf.cast(tf.range(grid_w), raw.dtype)
    rows = tf.cast(tf.range(grid_h), raw.dtype)
    cell = tf.stack(tf.meshgrid(cols, rows), axis=-1)[None, :, :, None, :]  # (1, h, w, 1, 2)
    grid_wh = tf.cast(tf.stack([grid_w, grid_h]), raw.dtype)
    input_wh = tf.constant([input_hw[1], input_hw[0]], raw.dtype)
    centre = (tf.sigmoid(raw[..., 0:2]) + cell) / grid_wh * input_wh
    size = tf.exp(raw[..., 2:4]) * tf.constant(anchors, raw.dtype)
    boxes = tf.concat([centre - size / 2, centre + size / 2], axis=-1)
    scores = tf.sigmoid(raw[..., 4:5]) * tf.sigmoid(raw[..., 5:])
    return tf.reshape(boxes, [batch, -1, 4]), tf.reshape(scores, [batch, -1, num_classes])


def undo_letterbox(boxes: tf.Tensor, letterboxes: tf.Tensor) -> tf.Tensor:
    """Map boxes from network-input pixels back to original-image pixels, clipped.

    boxes: (B, N, 4) [x_min, y_min, x_max, y_max]; letterboxes: (B, 6) rows of
    (scale_x, scale_y, offset_x, offset_y, image_w, image_h) as images.Letterbox packs them.
    """
    scale = tf.tile(letterboxes[:, None, 0:2], [1, 1, 2])
    offset = tf.tile(letterboxes[:, None, 2:4], [1, 1, 2])
    limit = tf.tile(letterboxes[:, None, 4:6], [1, 1, 2])
    return tf.clip_by_value((boxes - offset) / scale, 0.0, limit)


@dataclass(frozen=True)
class NmsSettings:
    """score: minimum objectness × class score; iou: overlap above which the lower-scoring
    box of the same class is dropped; max_per_class: boxes kept per class and image;
    class_agnostic: suppress across classes too."""

    score: float = 0.3
    iou: float = 0.45
    max_per_class: int = 20
    class_agnostic: bool = False


def non_max_suppression(boxes: tf.Tensor, scores: tf.Tensor, settings: NmsSettings
                        ) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor]:
    """Per-class (or class-agnostic) NMS over a batch.

    boxes: (B, N, 4); scores: (B, N, C). Returns boxes (B, K, 4), scores (B, K),
    class ids (B, K) int32 and valid counts (B,), padded to K rows, best scores first.
    """
    num_classes = scores.shape[-1]
    if settings.class_agnostic:
        best = tf.reduce_max(scores, axis=-1)
        keep, count = tf.image.non_max_suppression_padded(
            boxes, best, settings.max_per_class, iou_threshold=settings.iou,
            score_threshold=settings.score, pad_to_max_output_size=True)
        classes = tf.argmax(scores, axis=-1, output_type=tf.int32)
        return (tf.gather(boxes, keep, batch_dims=1), tf.gather(best, keep, batch_dims=1),
                tf.gather(classes, keep, batch_dims=1), count)
    kept_boxes, kept_scores, kept_classes, count = tf.image.combined_non_max_suppression(
        boxes[:, :, None, :], scores, max_output_size_per_class=settings.max_per_class,
        max_total_size=settings.max_per_class * num_classes, iou_threshold=settings.iou,
        score_threshold=settings.score, pad_per_class=False, clip_boxes=False)
    return kept_boxes, kept_scores, tf.cast(kept_classes, tf.int32), count
