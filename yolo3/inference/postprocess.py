"""From raw head outputs to boxes: decode (yolo3.decode, shared with the losses), undo the
letterbox, non-maximum suppression.

score = sigmoid(t_objectness) · sigmoid(t_class) (independent sigmoids, keras-yolo3's),
followed by per-class NMS keeping at most ``max_per_class`` boxes per class.
"""

from __future__ import annotations

import tensorflow as tf

from yolo3.decode import decode_head  # noqa: F401  (part of this module's interface)
from yolo3.defaults import MAX_BOXES_PER_IMAGE, NmsSettings
from yolo3.images import Letterbox


def undo_letterbox(boxes: tf.Tensor, letterboxes: tf.Tensor) -> tf.Tensor:
    """Map boxes from network-input pixels back to original-image pixels, clipped.

    boxes: (B, N, 4) [x_min, y_min, x_max, y_max]; letterboxes: (B, 6) rows packed by
    images.Letterbox.as_array, in the order of Letterbox.PACKED.
    """
    column = {name: i for i, name in enumerate(Letterbox.PACKED)}

    def pair(x_name: str, y_name: str):  # (B, 1, 4): the x, y pair for both corners
        order = [column[x_name], column[y_name]] * 2
        return tf.gather(letterboxes, order, axis=1)[:, None, :]

    scale, offset = pair("scale_x", "scale_y"), pair("offset_x", "offset_y")
    limit = pair("image_w", "image_h")
    return tf.clip_by_value((boxes - offset) / scale, 0.0, limit)


def non_max_suppression(boxes: tf.Tensor, scores: tf.Tensor, settings: NmsSettings
                        ) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor]:
    """Per-class (or class-agnostic) NMS over a batch.

    boxes: (B, N, 4); scores: (B, N, C). Returns boxes (B, K, 4), scores (B, K),
    class ids (B, K) int32 and valid counts (B,), padded to K rows, best scores first;
    K = min(max_per_class × C, MAX_BOXES_PER_IMAGE) (max_per_class, class-agnostic).
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
        max_total_size=min(settings.max_per_class * num_classes, MAX_BOXES_PER_IMAGE),
        iou_threshold=settings.iou,
        score_threshold=settings.score, pad_per_class=False, clip_boxes=False)
    return kept_boxes, kept_scores, tf.cast(kept_classes, tf.int32), count


BUILTIN_NMS_CANDIDATES = 2000  # (box, class) pairs the single-image NMS considers


def single_image_non_max_suppression(boxes: tf.Tensor, scores: tf.Tensor,
                                     settings: NmsSettings,
                                     candidates: int = BUILTIN_NMS_CANDIDATES
                                     ) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor]:
    """:func:`non_max_suppression` for a batch of one image, from ops every runtime has
    built in (TFLite's TOPK_V2, GATHER and NON_MAX_SUPPRESSION_V4: no Flex delegate).

    The ``candidates`` best (box, class) pairs go through one NMS, each box shifted by its
    class id times a span longer than any coordinate, so boxes of different classes never
    overlap: per-class NMS in a single pass (class-agnostic: the best class of the
    ``candidates`` best boxes, unshifted). Boxes must lie in [0, ∞), as undo_letterbox's do.

    boxes: (1, N, 4); scores: (1, N, C). Returns boxes (1, K, 4), scores (1, K), class ids
    (1, K) int32 and the valid count (1,), K = min(candidates, N·C, MAX_BOXES_PER_IMAGE),
    best scores first;
    rows past the count repeat the first. Per-class limits are the caller's to apply.
    """
    boxes, scores = boxes[0], scores[0]
    num_boxes, num_classes = boxes.shape[0], scores.shape[-1]
    if settings.class_agnostic:
        best = tf.reduce_max(scores, axis=-1)
        limit = min(candidates, num_boxes)
        top_scores, picks = tf.math.top_k(best, limit)
        classes = tf.gather(tf.argmax(scores, axis=-1, output_type=tf.int32), picks)
        picked = tf.gather(boxes, picks)
        shifted = picked
    else:
        limit = min(candidates, num_boxes * num_classes)
        top_scores, picks = tf.math.top_k(tf.reshape(scores, [-1]), limit)
        classes = picks % num_classes
        picked = tf.gather(boxes, picks // num_classes)
        span = tf.reduce_max(picked) + 1.0
        shifted = picked + tf.cast(classes, tf.float32)[:, None] * span
    keep, count = tf.raw_ops.NonMaxSuppressionV4(
        boxes=shifted, scores=top_scores, max_output_size=min(limit, MAX_BOXES_PER_IMAGE),
        iou_threshold=settings.iou, score_threshold=settings.score,
        pad_to_max_output_size=True)
    return (tf.gather(picked, keep)[None], tf.gather(top_scores, keep)[None],
            tf.gather(classes, keep)[None], count[None])
