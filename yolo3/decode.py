"""A [yolo] head in TensorFlow, in one place: its decode (inference and both losses), the
decode's inverse (the losses' targets), and the IoUs of box tensors (the losses).

Box forms as in yolo3.boxes (xyxy, cxcywh, normalised). The decode is Darknet's [yolo]
layer, so models trained in Darknet, keras-yolo3 or here decode the same:
    centre = (sigmoid(t_xy) · s − (s − 1) / 2 + cell) / grid     (normalised)
    size   = exp(t_wh) · anchor / input_size                     (normalised; anchors in pixels)
where s is the layer's ``scale_x_y`` (1 in YOLOv3 cfgs: keras-yolo3's decode; 2 lets a
cell predict centres up to half a cell beyond its borders, which the modern recipe's
neighbour-cell targets need). Scaled-YOLOv4's ``new_coords=1`` heads end in a logistic
convolution, so their outputs p are probabilities already:
    centre = (p_xy · s − (s − 1) / 2 + cell) / grid,   size = (2 · p_wh)² · anchor / input_size
and objectness and class scores are p as they are (no sigmoid).
A head's settings travel whole: :meth:`HeadGeometry.for_layer` reads them all from the
[yolo] layer, so the detector and the losses cannot decode one head two ways.
"""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

from yolo3.boxes import EPSILON

# ----------------------------------------------------------------------------------------
# decode and its inverse


def _cells(grid_h, grid_w, num_anchors: int, dtype):
    """(column, row) of every cell: a (grid_h, grid_w, A, 2) constant for a static grid
    (exported graphs then carry it instead of ops that rebuild it on every call; full
    size, because ONNX Runtime adds a tensor broadcast over an inner axis about 30× slower
    than one of the same shape), else (grid_h, grid_w, 1, 2)."""
    if isinstance(grid_h, int) and isinstance(grid_w, int):
        cols, rows = np.meshgrid(np.arange(grid_w), np.arange(grid_h))
        cells = np.stack([cols, rows], axis=-1)[:, :, None, :]
        return tf.constant(np.repeat(cells, num_anchors, axis=2), dtype)
    cols = tf.cast(tf.range(grid_w), dtype)
    rows = tf.cast(tf.range(grid_h), dtype)
    return tf.stack(tf.meshgrid(cols, rows), axis=-1)[:, :, None, :]


def _grid_size(raw):
    """(grid_h, grid_w) of raw head outputs: ints where the shape is static, else tensors."""
    height, width = raw.shape[1], raw.shape[2]
    if height is not None and width is not None:
        return int(height), int(width)
    shape = tf.shape(raw)
    return shape[1], shape[2]


class HeadGeometry:
    """A head's grid, cells and anchors for raw outputs (B, grid_h, grid_w, A * (5 + C)).

    Made once per call of the decode or the loss, from the [yolo] layer with
    :meth:`for_layer`; the constructor takes the values one by one (``anchors`` (A, 2) in
    input pixels; ``scale_x_y`` and ``new_coords`` as in the module doc) for tests and
    for formulas stated outside a cfg.
    """

    def __init__(self, raw, anchors: np.ndarray, num_classes: int,
                 input_hw: tuple[int, int], scale_x_y: float = 1.0, new_coords: bool = False):
        import tensorflow as tf

        self.grid_h, self.grid_w = _grid_size(raw)
        self.dtype = raw.dtype
        self.num_anchors, self.num_classes = len(anchors), num_classes
        self.cells = _cells(self.grid_h, self.grid_w, self.num_anchors, raw.dtype)
        self.grid_wh = tf.cast(tf.stack([self.grid_w, self.grid_h]), raw.dtype)
        self.input_wh = tf.constant([input_hw[1], input_hw[0]], raw.dtype)
        self.anchors = tf.constant(anchors, raw.dtype)
        self.scale_x_y = float(scale_x_y)
        self.new_coords = bool(new_coords)
        self._input_wh = np.array([input_hw[1], input_hw[0]], np.float64)
        if self.static:
            self._cell_scale = self.constant(1.0 / np.array([self.grid_w, self.grid_h]))
        else:
            self._cell_scale = 1.0 / self.grid_wh
        self._anchor_scale = self.constant(np.asarray(anchors, np.float64) / self._input_wh)

    @classmethod
    def for_layer(cls, raw, layer, input_hw: tuple[int, int]) -> HeadGeometry:
        """The geometry of a [yolo] ``layer`` (yolo3.darknet.Yolo) for its raw outputs:
        its anchors, classes, ``scale_x_y`` and ``new_coords``, all of them."""
        return cls(raw, layer.layer_anchors, layer.classes, input_hw, layer.scale_x_y,
                   layer.new_coords)

    @property
    def static(self) -> bool:
        return isinstance(self.grid_h, int) and isinstance(self.grid_w, int)

    def constant(self, values):
        """``values`` (..., k) as a constant (grid_h, grid_w, A, k) for a static grid — ONNX
        Runtime multiplies by a tensor broadcast over inner axes several times slower than
        by one of the same shape — else as given."""
        import tensorflow as tf

        values = np.asarray(values, np.float64)
        if self.static:
            values = np.broadcast_to(values, (self.grid_h, self.grid_w, self.num_anchors,
                                              values.shape[-1]))
        return tf.constant(values, self.dtype)

    def split(self, raw):
        """(B, gh, gw, A * (5 + C)) → (B, gh, gw, A, 5 + C) logits [t_xy, t_wh, t_o, t_c]."""
        import tensorflow as tf

        return tf.reshape(raw, [-1, self.grid_h, self.grid_w, self.num_anchors,
                                5 + self.num_classes])

    def decode(self, feats, max_log_size: float | None = None):
        """Logits (B, gh, gw, A, 5 + C) → centres and sizes (B, gh, gw, A, 2), normalised.

        ``max_log_size`` caps t_wh before exp (the loss's guard against overflow)."""
        import tensorflow as tf

        if self.new_coords:  # probabilities already (see the module doc)
            offset = feats[..., 0:2]
            size = tf.square(2.0 * feats[..., 2:4]) * self._anchor_scale
        else:
            t_wh = feats[..., 2:4] if max_log_size is None else tf.minimum(feats[..., 2:4],
                                                                            max_log_size)
            offset = tf.sigmoid(feats[..., 0:2])
            size = tf.exp(t_wh) * self._anchor_scale
        if self.scale_x_y != 1.0:
            offset = offset * self.scale_x_y - (self.scale_x_y - 1.0) / 2
        centre = (offset + self.cells) * self._cell_scale
        return centre, size

    def encode(self, centre, size):
        """The inverse of :meth:`decode` for normalised centres and sizes: the target of
        sigmoid(t_xy) (the offset within the cell when ``scale_x_y`` is 1) and
        log(size / anchor) (the target of t_wh); sizes of 0 (empty slots) encode to 0.
        Logit heads only: the loss trains those."""
        import tensorflow as tf

        if self.new_coords:
            raise ValueError("new_coords heads are not trained here")
        offset = ((centre * self.grid_wh - self.cells) + (self.scale_x_y - 1.0) / 2) \
            / self.scale_x_y
        ratio = size * self.input_wh / self.anchors
        log_size = tf.where(ratio > 0, tf.math.log(tf.maximum(ratio, EPSILON)),
                            tf.zeros_like(ratio))
        return offset, log_size


def decode_layer(raw, layer, input_hw: tuple[int, int]):
    """One [yolo] ``layer``'s boxes, objectness and class outputs, for inference (the
    detector gates rows on objectness before the class product).

    raw: (B, grid_h, grid_w, A * (5 + C)), the layer's head convolution. Returns boxes
    (B, R, 4) xyxy in network-input pixels, objectness (B, R, 1) as probabilities and the
    class outputs (B, R, C) as the head gives them (:func:`probabilities` makes them so),
    R = grid_h · grid_w · A.
    """
    return _decode(raw, HeadGeometry.for_layer(raw, layer, input_hw))


def _decode(raw, head: HeadGeometry):
    feats = head.split(raw)
    centre, size = head.decode(feats)
    boxes = tf.concat([centre - size / 2, centre + size / 2], axis=-1)
    boxes = boxes * head.constant(np.tile(head._input_wh, 2))
    rows = head.grid_h * head.grid_w * head.num_anchors
    return (tf.reshape(boxes, [-1, rows, 4]),
            tf.reshape(probabilities(feats[..., 4:5], head.new_coords), [-1, rows, 1]),
            tf.reshape(feats[..., 5:], [-1, rows, head.num_classes]))


def probabilities(outputs, new_coords: bool = False):
    """A head's objectness or class outputs as probabilities: sigmoid of logits, or as
    they are for new_coords heads (the detector applies it to class outputs after its
    objectness gate, so that the sigmoid runs over the rows that remain)."""
    return outputs if new_coords else tf.sigmoid(outputs)


def decode_head(raw, anchors: np.ndarray, num_classes: int, input_hw: tuple[int, int],
                scale_x_y: float = 1.0, new_coords: bool = False):
    """Boxes and scores of one head given by its values rather than its [yolo] layer.

    raw: (B, grid_h, grid_w, A * (5 + C)); anchors: (A, 2) (w, h) in input pixels;
    ``scale_x_y`` and ``new_coords`` as in the module doc.
    Returns boxes (B, grid_h * grid_w * A, 4) xyxy in network-input pixels, and scores
    (B, grid_h * grid_w * A, C) = objectness × class probability.
    """
    head = HeadGeometry(raw, anchors, num_classes, input_hw, scale_x_y, new_coords)
    boxes, objectness, class_outputs = _decode(raw, head)
    return boxes, objectness * probabilities(class_outputs, new_coords)


# ----------------------------------------------------------------------------------------
# IoUs of box tensors


def pairwise_iou_cxcywh(boxes, truths):
    """IoU of predictions (B, N, 4) with true boxes (B, T, 4), both cxcywh in the same
    units (TensorFlow): (B, N, T). (The loss's ignore test.)"""
    p_min = boxes[..., None, :2] - boxes[..., None, 2:] / 2
    p_max = boxes[..., None, :2] + boxes[..., None, 2:] / 2
    t_min = truths[:, None, :, :2] - truths[:, None, :, 2:] / 2
    t_max = truths[:, None, :, :2] + truths[:, None, :, 2:] / 2
    inter = tf.reduce_prod(tf.maximum(tf.minimum(p_max, t_max) - tf.maximum(p_min, t_min),
                                      0.0), axis=-1)
    union = (tf.reduce_prod(boxes[..., None, 2:], axis=-1)
             + tf.reduce_prod(truths[:, None, :, 2:], axis=-1) - inter)
    return inter / tf.maximum(union, EPSILON)


def iou_cxcywh(a, b, kind: str = "ciou"):
    """Elementwise IoU of boxes a and b (..., 4), both cxcywh in the same units
    (TensorFlow): plain ``"iou"``, ``"giou"`` (minus the share of the enclosing box
    that neither covers) or ``"ciou"`` (minus the squared centre distance over the
    enclosing box's squared diagonal and an aspect-ratio term). Shape (...). (The modern
    recipe's box loss and objectness target.)"""

    a_min, a_max = a[..., 0:2] - a[..., 2:4] / 2, a[..., 0:2] + a[..., 2:4] / 2
    b_min, b_max = b[..., 0:2] - b[..., 2:4] / 2, b[..., 0:2] + b[..., 2:4] / 2
    overlap = tf.maximum(tf.minimum(a_max, b_max) - tf.maximum(a_min, b_min), 0.0)
    inter = overlap[..., 0] * overlap[..., 1]
    union = a[..., 2] * a[..., 3] + b[..., 2] * b[..., 3] - inter
    iou = inter / (union + EPSILON)
    if kind == "iou":
        return iou
    enclosing = tf.maximum(a_max, b_max) - tf.minimum(a_min, b_min)
    if kind == "giou":
        hull = enclosing[..., 0] * enclosing[..., 1] + EPSILON
        return iou - (hull - union) / hull
    if kind != "ciou":
        raise ValueError(f"unknown IoU kind {kind!r}")
    diagonal = tf.reduce_sum(tf.square(enclosing), -1) + EPSILON
    distance = tf.reduce_sum(tf.square(a[..., 0:2] - b[..., 0:2]), -1)
    angle = (tf.atan(b[..., 2] / (b[..., 3] + EPSILON))
             - tf.atan(a[..., 2] / (a[..., 3] + EPSILON)))
    aspect = 4 / math.pi ** 2 * tf.square(angle)
    # the trade-off weight is a constant of the gradient, as the CIoU paper defines it
    alpha = tf.stop_gradient(aspect / (aspect - iou + 1 + EPSILON))
    return iou - distance / diagonal - alpha * aspect
