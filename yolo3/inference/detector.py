"""Detection: a model, its anchors and classes, and one compiled graph from pixels to boxes.

    image → letterbox (PIL, bicubic) → model → decode → undo letterbox → NMS → detections

Each detection is a dict ``{"class_id": int, "class_name": str, "score": float,
"box": [x_min, y_min, x_max, y_max]}`` in original-image pixels, best scores first.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, replace
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from yolo3.classfiles import MODEL_DATA, read_anchors, read_class_names
from yolo3.darknet import DarknetConfig, standard_config, with_classes
from yolo3.decode import decode_layer, probabilities
from yolo3.defaults import DEFAULT_INPUT_SIZE, NmsSettings
from yolo3.errors import YoloError
from yolo3.export_contract import DETECTION_INPUTS
from yolo3.images import Letterbox
from yolo3.inference.base import DetectorBase, check_input_size
from yolo3.inference.postprocess import (
    non_max_suppression,
    single_image_non_max_suppression,
    undo_letterbox,
)
from yolo3.model.build import build_model, fold_batchnorm
from yolo3.model.files import is_full_model, load_keras2_weights, load_model, read_metadata

DEFAULT_ANCHORS = MODEL_DATA / "yolo_anchors.txt"
DEFAULT_CLASSES = MODEL_DATA / "coco_classes.txt"
PIXEL_SCALE = 1 / 255  # networks read RGB in [0, 1]


@dataclass
class LoadedModel:
    """A Keras model with the cfg that describes its heads and the names of its classes."""

    model: keras.Model
    config: DarknetConfig
    class_names: list[str]
    input_size: tuple[int, int] | None = None  # (height, width) it was trained at, if known


def _standard_config(num_anchors: int) -> DarknetConfig:
    """keras-yolo3's rule: 6 anchors mean YOLOv3-tiny, 9 the full YOLOv3."""
    sizes = {9: "full", 6: "tiny"}
    if num_anchors not in sizes:
        raise YoloError(f"{num_anchors} anchors: a model without a stored cfg needs 9 "
                        "(YOLOv3) or 6 (YOLOv3-tiny)")
    return standard_config(sizes[num_anchors])


def open_model(model_path: str | Path, anchors_path: str | Path | None = None,
               classes_path: str | Path | None = None) -> LoadedModel:
    """Open any model file users have, with anchors and classes from wherever they are.

    Files written by this project carry their cfg and class names; ``anchors_path`` and
    ``classes_path`` override them. Files from elsewhere (keras-yolo3's Keras 2
    ``trained_weights_final.h5`` or ``yolo.h5``) need both, defaulting to
    ``model_data/yolo_anchors.txt`` and ``model_data/coco_classes.txt``.
    """
    model_path = Path(model_path)
    if not model_path.is_file():
        raise YoloError(f"{model_path}: no such model file")
    metadata = read_metadata(model_path)
    anchors = read_anchors(anchors_path) if anchors_path else None
    names = read_class_names(classes_path) if classes_path else None
    if metadata is not None:
        config = metadata.config()
        model, _ = load_model(model_path, config=None if is_full_model(model_path) else config)
        names = names or metadata.class_names
    else:
        anchors = read_anchors(DEFAULT_ANCHORS) if anchors is None else anchors
        names = names or read_class_names(DEFAULT_CLASSES)
        config = with_classes(_standard_config(len(anchors)), len(names), anchors)
        model = build_model(config)
        load_keras2_weights(model, config, model_path)
    if anchors is not None and len(anchors) != len(config.anchors):
        raise YoloError(f"{anchors_path} has {len(anchors)} anchors; the model was built for "
                        f"{len(config.anchors)}")
    if anchors is not None:
        config = with_classes(config, config.num_classes, anchors)
    if names is None:
        if config.num_classes != 80:
            raise YoloError(f"{model_path} names no classes: give the classes file "
                            f"({config.num_classes} names)")
        names = read_class_names(DEFAULT_CLASSES)
    _check_outputs(model, config, names, model_path)
    return LoadedModel(model, config, names,
                       metadata.input_size if metadata is not None else None)


def open_keras_detector(model_path: str | Path, input_size=None,
                        nms: NmsSettings | None = None, classes_path=None,
                        anchors_path=None) -> Detector:
    """The TensorFlow detector for a Keras model file (yolo3.formats' opener of Keras
    files): :func:`open_model`, at ``input_size`` (None: :func:`own_input_size`); a size
    other than the one the model was trained at is allowed, with a note on stderr."""
    loaded = open_model(model_path, anchors_path=anchors_path, classes_path=classes_path)
    own = own_input_size(loaded)
    if input_size is not None and loaded.input_size and tuple(input_size) != own:
        print(f"note: {Path(model_path).name} was trained at {own[0]}x{own[1]}; running it "
              f"at {input_size[0]}x{input_size[1]}", file=sys.stderr)
    return Detector(loaded, tuple(input_size) if input_size else own, nms)


def own_input_size(loaded: LoadedModel) -> tuple[int, int]:
    """The size a model runs at unless told otherwise: the one it was trained at, else
    the default (converted Darknet models, keras-yolo3's files)."""
    return tuple(loaded.input_size or (DEFAULT_INPUT_SIZE, DEFAULT_INPUT_SIZE))


def _check_outputs(model: keras.Model, config: DarknetConfig, names: list[str],
                   model_path: Path) -> None:
    if len(names) != config.num_classes:
        raise YoloError(f"{len(names)} class names for a model with {config.num_classes} "
                        "classes")
    channels = [int(o.shape[-1]) for o in model.outputs]
    wanted = [len(head.mask) * (config.num_classes + 5) for head in config.heads]
    if channels != wanted:
        raise YoloError(f"{model_path} outputs {channels} channels but {len(config.anchors)} "
                        f"anchors and {config.num_classes} classes need {wanted}: the model "
                        "does not match the anchors or classes")


class Detector(DetectorBase):
    """Runs a YOLOv3 model on PIL images through one compiled TensorFlow graph.

    ``input_size`` is the network input (height, width), multiples of 32. The graph has a
    fixed signature (any batch size, this input size; the NMS thresholds are inputs), so it
    is traced once; yolo3.export writes the same graph to other formats.
    ``single_image_nms``: NMS from ops every runtime has built in, for batches of one image
    (postprocess.single_image_non_max_suppression; the TFLite export's graph).
    """

    def __init__(self, loaded: LoadedModel,
                 input_size: tuple[int, int] = (DEFAULT_INPUT_SIZE, DEFAULT_INPUT_SIZE),
                 nms: NmsSettings | None = None, fold: bool = True,
                 single_image_nms: bool = False):
        height, width = check_input_size(input_size)
        super().__init__(loaded.class_names, (height, width), nms or NmsSettings(),
                         loaded.config.anchors, loaded.config.letter_box)
        self.config = loaded.config
        foldable = fold and _has_darknet_names(loaded.model, loaded.config)
        # a folded model takes pixel values 0..255 (the 1/255 rides in its first kernel:
        # one pass over the image less); an unfolded one takes them / 255
        self.model = (fold_batchnorm(loaded.model, loaded.config, self.input_size,
                                     input_scale=PIXEL_SCALE) if foldable else loaded.model)
        self.takes_pixels = foldable
        self._single_image = single_image_nms
        self._suppress = (single_image_non_max_suppression if single_image_nms
                          else non_max_suppression)
        self._graph = tf.function(self._detect_graph,
                                  input_signature=detection_signature(self.input_size))
        self._thresholds = (tf.constant(self.nms.score, tf.float32),
                            tf.constant(self.nms.iou, tf.float32))

    def _detect_graph(self, images, letterboxes, score, iou):
        """uint8 images (B, h, w, 3) and their Letterbox rows (B, 6), NMS score and IoU
        thresholds → boxes (B, K, 4) xyxy in original-image pixels, scores (B, K), class
        ids (B, K) int32, counts (B,)."""
        pixels = tf.cast(images, tf.float32)
        if not self.takes_pixels:
            pixels = pixels / 255.0
        outputs = self.model(pixels, training=False)
        outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
        decoded = [decode_layer(raw, head, self.input_size)
                   for raw, head in zip(outputs, self.config.heads)]
        boxes, objectness, class_outputs = (tf.concat(part, axis=1) for part in zip(*decoded))
        if not self._single_image:
            # score = objectness × class ≤ objectness: rows whose objectness is at most the
            # threshold in every image cannot pass it, so the class product, the NMS and
            # its glue see only the others (a few dozen of yolov3-tiny's 2,535 at 0.3)
            rows = tf.where(tf.reduce_any(objectness[..., 0] > score, axis=0))[:, 0]
            boxes, objectness, class_outputs = (tf.gather(t, rows, axis=1) for t in (
                boxes, objectness, class_outputs))
        scores = objectness * probabilities(class_outputs, self.config.new_coords)
        boxes = undo_letterbox(boxes, letterboxes)
        return self._suppress(boxes, scores, replace(self.nms, score=score, iou=iou))

    def run(self, arrays: np.ndarray, letterboxes: np.ndarray):
        outputs = self._graph(tf.constant(arrays), tf.constant(letterboxes), *self._thresholds)
        return [t.numpy() for t in outputs]


def detection_signature(input_hw: tuple[int, int]) -> list[tf.TensorSpec]:
    """The detection graph's inputs (see Detector._detect_graph), named DETECTION_INPUTS."""
    images, letterboxes, score, iou = DETECTION_INPUTS
    return [tf.TensorSpec((None, *input_hw, 3), tf.uint8, name=images),
            tf.TensorSpec((None, len(Letterbox.PACKED)), tf.float32, name=letterboxes),
            tf.TensorSpec((), tf.float32, name=score),
            tf.TensorSpec((), tf.float32, name=iou)]


def _has_darknet_names(model: keras.Model, config: DarknetConfig) -> bool:
    names = {layer.name for layer in model.layers}
    return all(conv.name in names for conv in config.convs)
