"""Augmentation policies, named presets as torchvision's detection references name theirs:
what one training example is made of and how it is augmented. A recipe
(yolo3.training.recipes) names its policy; the pipeline (yolo3.data.pipeline) asks the
policy how many other images an example takes and lets it make the example.

Samples are (image, boxes) pairs: RGB uint8 (h, w, 3) and (N, 5) rows of x_min, y_min,
x_max, y_max in image pixels and class id. ``apply`` returns a uint8
(input_h, input_w, 3) image and the boxes in network-input pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from yolo3.data import augment, mosaic

Sample = tuple[np.ndarray, np.ndarray]


class AugmentationPolicy:
    """A policy: :meth:`partners` and :meth:`apply` (the letterbox of inference here)."""

    name = "letterbox"
    # images are drawn at exactly the letterbox's size: cached at it (yolo3.data.cache)
    cache_scale, cache_exact = 1.0, True

    def partners(self, epoch: int) -> int:
        """How many images besides its own an example of ``epoch`` (0-based) is made of."""
        return 0

    def apply(self, samples: list[Sample], input_hw: tuple[int, int],
              rng: np.random.Generator | None) -> Sample:
        """The example from its own sample and :meth:`partners` others, in that order."""
        image, boxes = samples[0]
        return augment.plain(image, boxes, input_hw)


class KerasYolo3Jitter(AugmentationPolicy):
    """keras-yolo3's: aspect jitter, scale, placement, flip and HSV (yolo3.data.augment)."""

    name = "keras-yolo3"
    cache_scale, cache_exact = 2.0, False  # it draws images at up to twice the input

    def apply(self, samples, input_hw, rng):
        image, boxes = samples[0]
        return augment.random(image, boxes, input_hw, rng)


@dataclass(frozen=True)
class MosaicThenSingle(AugmentationPolicy):
    """The modern recipe's (yolo3.data.mosaic): mosaics of four images in the epochs
    before ``until`` (0-based), single images scaled, shifted, flipped and colour-jittered
    from it on."""

    until: int
    name = "mosaic"

    def partners(self, epoch: int) -> int:
        return 3 if epoch < self.until else 0

    def apply(self, samples, input_hw, rng):
        if len(samples) > 1:
            return mosaic.mosaic(samples, input_hw, rng)
        image, boxes = samples[0]
        return mosaic.single(image, boxes, input_hw, rng)


LETTERBOX = AugmentationPolicy()  # validation: never augmented
KERAS_YOLO3 = KerasYolo3Jitter()
