"""Training images decoded once: kept in memory, resized to the size augmentation draws
them at, so an epoch (and a mosaic's three partners) never decodes a file again.

An image is stored resized to fit ``scale`` × the network input (aspect kept), its boxes
scaled with it. The mosaic recipe and validation draw every image at exactly the
letterbox's size (scale 1, ``exact``): the cache holds that very resize, smaller images
enlarged too, so examples are the same with and without the cache and no image is
resized again. keras-yolo3's augmentation draws images at up to twice the input (scale 2,
not exact): larger images are cached shrunk to that, smaller ones as they are.

Whether to cache (``--cache``): ``ram`` always, ``none`` never, ``auto`` (default) when
the images at most take :data:`CACHE_BUDGET_BYTES` (counted as if each filled the
``scale`` × input square: no file is opened to decide), in all: each data worker process
(yolo3.data.workers) keeps a cache of its own.
"""

from __future__ import annotations

import numpy as np

from yolo3.data.annotations import Annotation
from yolo3.defaults import CACHE_BUDGET_BYTES, CACHE_CHOICES
from yolo3.images import Letterbox, resize


def cache_bytes(count: int, input_hw: tuple[int, int], scale: float) -> int:
    """The most ``count`` cached images can take (uint8 RGB, each within the square)."""
    return count * int(np.ceil(input_hw[0] * scale)) * int(np.ceil(input_hw[1] * scale)) * 3


def should_cache(choice: str, count: int, input_hw: tuple[int, int], scale: float,
                 copies: int = 1) -> bool:
    """Whether ``--cache choice`` caches these images, held ``copies`` times (once per
    data worker; see the module doc)."""
    if choice not in CACHE_CHOICES:
        raise ValueError(f"cache must be one of {', '.join(CACHE_CHOICES)}, got {choice!r}")
    if choice == "auto":
        return cache_bytes(count, input_hw, scale) * copies <= CACHE_BUDGET_BYTES
    return choice == "ram"


def fitted(image: np.ndarray, boxes: np.ndarray, fit_hw: tuple[int, int], exact: bool
           ) -> tuple[np.ndarray, np.ndarray]:
    """``image`` (uint8 (h, w, 3)) resized to fit ``fit_hw`` (height, width) as the
    letterbox resizes it — unless it already fits and ``exact`` is False —; ``boxes``
    (N, 5) float32 scaled along."""
    height, width = image.shape[:2]
    boxes = np.asarray(boxes, np.float32).reshape(-1, 5)
    geometry = Letterbox((width, height), (fit_hw[1], fit_hw[0]))
    if geometry.resized_size == (width, height) or (
            not exact and width <= fit_hw[1] and height <= fit_hw[0]):
        return image, boxes
    scale_x, scale_y = geometry.scale
    boxes = boxes.copy()
    boxes[:, [0, 2]] *= scale_x
    boxes[:, [1, 3]] *= scale_y
    return resize(np.ascontiguousarray(image), geometry.resized_size), boxes


class ImageCache:
    """``cache(index, annotation)`` → (uint8 image, boxes) of the ``index``-th training
    image: from memory after the first time when caching, else straight from ``read``
    (yolo3.data.examples.read_example), as without a cache.

    The cache fills as images are first asked for, from any of tf.data's threads (a dict
    entry is set whole; two threads that race decode the same image twice, no harm)."""

    def __init__(self, read, input_hw: tuple[int, int], scale: float, exact: bool,
                 enabled: bool):
        self.read, self.exact, self.enabled = read, exact, enabled
        self.fit_hw = (int(np.ceil(input_hw[0] * scale)), int(np.ceil(input_hw[1] * scale)))
        self.images: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def __call__(self, index: int, annotation: Annotation) -> tuple[np.ndarray, np.ndarray]:
        if not self.enabled:
            return self.read(annotation)
        found = self.images.get(index)
        if found is None:
            found = self.images[index] = fitted(*self.read(annotation), self.fit_hw,
                                                self.exact)
        return found
