"""Detection: a model, its anchors and classes, and one compiled graph from pixels to boxes.

    image → letterbox (PIL, bicubic) → model → decode → undo letterbox → NMS → detections

Each detection is a dict ``{"class_id": int, "class_name": str, "score": float,
"box": [x_min, y_min, x_max, y_max]}`` in original-image pixels, best scores first.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from PIL import Image

from yolo3.boxes import decode_head
from yolo3.darknet import DarknetConfig, standard_config, with_classes
from yolo3.data.classfiles import MODEL_DATA, read_anchors, read_class_names
from yolo3.defaults import DEFAULT_INPUT_SIZE, NmsSettings
from yolo3.errors import YoloError
from yolo3.inference.images import letterbox, to_rgb
from yolo3.inference.postprocess import non_max_suppression, undo_letterbox
from yolo3.model.build import build_model, fold_batchnorm
from yolo3.model.files import is_full_model, load_keras2_weights, load_model, read_metadata

DEFAULT_ANCHORS = MODEL_DATA / "yolo_anchors.txt"
DEFAULT_CLASSES = MODEL_DATA / "coco_classes.txt"


@dataclass
class LoadedModel:
    """A Keras model with the cfg that describes its heads and the names of its classes."""

    model: keras.Model
    config: DarknetConfig
    class_names: list[str]


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
    return LoadedModel(model, config, names)


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


class Detector:
    """Runs a YOLOv3 model on PIL images through one compiled TensorFlow graph.

    ``input_size`` is the network input (height, width), multiples of 32. The graph has a
    fixed signature (any batch size, this input size), so it is traced once.
    """

    def __init__(self, loaded: LoadedModel,
                 input_size: tuple[int, int] = (DEFAULT_INPUT_SIZE, DEFAULT_INPUT_SIZE),
                 nms: NmsSettings | None = None, fold: bool = True):
        height, width = input_size
        if height % 32 or width % 32 or height <= 0 or width <= 0:
            raise YoloError(f"model_image_size {height}x{width}: both must be positive "
                            "multiples of 32")
        self.config = loaded.config
        self.class_names = loaded.class_names
        self.input_size = (height, width)
        self.nms = nms or NmsSettings()
        foldable = fold and _has_darknet_names(loaded.model, loaded.config)
        self.model = (fold_batchnorm(loaded.model, loaded.config, self.input_size) if foldable
                      else loaded.model)
        self._graph = tf.function(self._detect_graph, input_signature=[
            tf.TensorSpec((None, height, width, 3), tf.uint8),
            tf.TensorSpec((None, 6), tf.float32)])

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def _detect_graph(self, images, letterboxes):
        outputs = self.model(tf.cast(images, tf.float32) / 255.0, training=False)
        outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
        decoded = [decode_head(raw, head.layer_anchors, self.config.num_classes,
                               self.input_size, head.scale_x_y)
                   for raw, head in zip(outputs, self.config.heads)]
        boxes = tf.concat([d[0] for d in decoded], axis=1)
        scores = tf.concat([d[1] for d in decoded], axis=1)
        boxes = undo_letterbox(boxes, letterboxes)
        return non_max_suppression(boxes, scores, self.nms)

    def prepare(self, images: list[Image.Image | np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Letterbox a batch: (B, h, w, 3) uint8 and (B, 6) geometry rows (Letterbox.PACKED).

        Images are PIL images of any mode, or RGB uint8 arrays (h, w, 3).
        """
        rgb = [image if isinstance(image, np.ndarray) else to_rgb(image) for image in images]
        arrays, boxes = zip(*(letterbox(image, self.input_size) for image in rgb))
        return np.stack(arrays), np.stack([geometry.as_array() for geometry in boxes])

    def detect_prepared(self, arrays: np.ndarray, letterboxes: np.ndarray) -> list[list[dict]]:
        boxes, scores, classes, counts = self._graph(tf.constant(arrays),
                                                     tf.constant(letterboxes))
        boxes, scores, classes, counts = (t.numpy() for t in (boxes, scores, classes, counts))
        return [[{"class_id": int(c), "class_name": self.class_names[int(c)],
                  "score": float(s), "box": [float(v) for v in b]}
                 for b, s, c in zip(boxes[i, :n], scores[i, :n], classes[i, :n])]
                for i, n in enumerate(counts)]

    def detect_batch(self, images: list[Image.Image | np.ndarray]) -> list[list[dict]]:
        """Detections for each image (see the module doc for the format)."""
        if not images:
            return []
        return self.detect_prepared(*self.prepare(images))

    def detect_files(self, paths: list, batch_size: int = 8):
        """Read and detect files in batches of ``batch_size``, in order.

        Yields (path, image, detections) for each readable file and (path, None, reason)
        for the others, so one broken file never stops the rest.
        """
        from yolo3.inference.images import load_image

        for start in range(0, len(paths), batch_size):
            chunk = paths[start:start + batch_size]
            images, errors = [], []
            for path in chunk:
                try:
                    images.append(load_image(path))
                    errors.append(None)
                except YoloError as error:
                    images.append(None)
                    errors.append(str(error))
            found = iter(self.detect_batch([image for image in images if image is not None]))
            for path, image, error in zip(chunk, images, errors):
                yield (path, image, next(found)) if image is not None else (path, None, error)

    def detect(self, image: Image.Image | np.ndarray) -> list[dict]:
        return self.detect_batch([image])[0]


def _has_darknet_names(model: keras.Model, config: DarknetConfig) -> bool:
    names = {layer.name for layer in model.layers}
    return all(conv.name in names for conv in config.convs)
