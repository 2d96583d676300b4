"""What every detector shares, whatever runs the network (TensorFlow, ONNX Runtime):
letterboxing a batch, turning the graph's padded outputs into detection dicts, reading
files in batches. TensorFlow-free.

Each detection is a dict ``{"class_id": int, "class_name": str, "score": float,
"box": [x_min, y_min, x_max, y_max]}`` in original-image pixels, best scores first.
"""

from __future__ import annotations

import copy

import numpy as np
from PIL import Image

from yolo3.defaults import NmsSettings, input_size_problem
from yolo3.errors import YoloError
from yolo3.export_contract import DETECTION, DETECTION_INPUTS
from yolo3.images import letterbox, to_rgb


def letterbox_batch(images: list[Image.Image | np.ndarray], input_hw: tuple[int, int],
                    keep_aspect: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Letterbox a batch: (B, h, w, 3) uint8 and (B, 6) float32 geometry rows
    (Letterbox.PACKED), the inputs of every detection graph. Images are PIL images of any
    mode, or RGB uint8 arrays (h, w, 3). ``keep_aspect`` False resizes them to the input
    (a cfg's ``letter_box=0``)."""
    arrays = np.empty((len(images), *input_hw, 3), np.uint8)  # drawn in place: no stacking
    rows = [letterbox(image if isinstance(image, np.ndarray) else to_rgb(image), input_hw,
                      out=slot, keep_aspect=keep_aspect)[1].as_array()
            for image, slot in zip(images, arrays)]
    return arrays, np.stack(rows)


def check_input_size(input_size) -> tuple[int, int]:
    height, width = (int(v) for v in input_size)
    problem = input_size_problem(height, width)
    if problem:
        raise YoloError(f"model_image_size {height}x{width}: {problem}")
    return height, width


class DetectorBase:
    """A detector over a graph whose :meth:`run` takes letterboxed uint8 images (B, h, w, 3)
    and their Letterbox rows (B, 6) and returns NumPy boxes (B, K, 4) in original-image
    pixels, scores (B, K), class ids (B, K) and valid counts (B,). ``letter_box``: how
    images meet the input (the model's cfg says; False resizes them)."""

    def __init__(self, class_names: list[str], input_size: tuple[int, int],
                 nms: NmsSettings, anchors: np.ndarray, letter_box: bool = True):
        self.class_names = list(class_names)
        self.letter_box = bool(letter_box)
        # (N, 2) width, height in input pixels; none for a detection graph without metadata
        self.anchors = np.asarray(anchors, np.float32).reshape(-1, 2)
        self.input_size = input_size
        self.nms = nms

    def init_from_export(self, info, where: str, input_size, nms: NmsSettings | None) -> None:
        """Classes, anchors, input size and NMS settings from an exported model's metadata
        (yolo3.export_contract.ExportInfo.from_file), checked against what its graph can
        do."""
        if info.graph != DETECTION:
            raise YoloError(f"{where} holds only the raw head outputs (export.py --raw): "
                            "export the detection graph to detect with it")
        if input_size is not None:
            check_input_size(input_size)
        size, nms = info.settings(where, input_size, nms)
        DetectorBase.__init__(self, info.class_names, size, nms, np.array(info.anchors),
                              info.letter_box)
        self.info, self.where = info, where
        self._set_thresholds()

    def _set_thresholds(self) -> None:
        _, _, score, iou = DETECTION_INPUTS
        self.thresholds = {score: np.array(self.nms.score, np.float32),  # once, not per call
                           iou: np.array(self.nms.iou, np.float32)}

    def with_nms(self, nms: NmsSettings) -> DetectorBase:
        """This exported detector, sharing its runtime session, with other NMS settings
        (checked against what the export can do): a served model's per-request settings."""
        if getattr(self, "info", None) is None:
            raise YoloError("per-call NMS settings need an exported model (export.py)")
        if nms == self.nms:
            return self
        _, nms = self.info.settings(self.where, None, nms)
        other = copy.copy(self)
        other.nms = nms
        other._set_thresholds()
        return other

    def within_class_limit(self, boxes, scores, classes, counts):
        """An exported graph's outputs with at most this detector's max_per_class rows of
        each class (the graph keeps up to the export's)."""
        if self.nms.max_per_class < self.info.max_per_class_ceiling and \
                counts.max(initial=0) > self.nms.max_per_class:  # else no class can exceed it
            return cut_per_class(boxes, scores, classes, counts, self.nms.max_per_class)
        return boxes, scores, classes, counts

    def graph_inputs(self, arrays: np.ndarray, letterboxes: np.ndarray) -> dict:
        """The exported detection graph's inputs by name, thresholds from the settings."""
        images, boxes, _, _ = DETECTION_INPUTS
        return {images: np.ascontiguousarray(arrays, np.uint8),
                boxes: np.ascontiguousarray(letterboxes, np.float32), **self.thresholds}

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def run(self, arrays: np.ndarray, letterboxes: np.ndarray):
        raise NotImplementedError

    def prepare(self, images: list[Image.Image | np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """:func:`letterbox_batch` at this detector's input size, the model's way."""
        return letterbox_batch(images, self.input_size, self.letter_box)

    def detect_prepared(self, arrays: np.ndarray, letterboxes: np.ndarray) -> list[list[dict]]:
        boxes, scores, classes, counts = self.run(arrays, np.asarray(letterboxes, np.float32))
        found = [classes[i, :n] for i, n in enumerate(counts)]
        highest = max((int(c.max()) for c in found if len(c)), default=-1)
        if highest >= len(self.class_names):  # a graph without metadata, the wrong names
            raise YoloError(f"the model found class {highest}, but only "
                            f"{len(self.class_names)} class names were given")
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
        from yolo3.images import load_image

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


def cut_per_class(boxes, scores, classes, counts, limit: int):
    """Keep each image's first ``limit`` rows of every class (rows are best-first): for
    graphs exported with a higher per-class limit, greedy NMS keeps the same first rows."""
    out = [np.zeros_like(boxes), np.zeros_like(scores), np.zeros_like(classes)]
    kept = np.zeros_like(counts)
    for i, count in enumerate(counts):
        labels = classes[i, :int(count)]
        order = np.argsort(labels, kind="stable")  # each class's rows, best first
        sorted_labels = labels[order]
        starts = np.searchsorted(sorted_labels, sorted_labels, side="left")
        rank = np.empty(len(labels), np.int64)
        rank[order] = np.arange(len(labels)) - starts  # each row's place within its class
        rows = np.flatnonzero(rank < limit)
        kept[i] = len(rows)
        for target, source in zip(out, (boxes, scores, classes)):
            target[i, :len(rows)] = source[i, rows]
    return (*out, kept)
