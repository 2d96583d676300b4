"""Training and validation examples as NumPy arrays, a batch at a time: what the tf.data
pipeline (yolo3.data.pipeline) delivers, made here without TensorFlow so that worker
processes (yolo3.data.workers) can make them too.

A batch is ``(images, *targets, boxes)``: images (B, h, w, 3) uint8; one target array
per head (B, grid_h, grid_w, anchors, 5 + classes) float32 (yolo3.data.targets); boxes
(B, max_boxes, 4) float32, each image's boxes as normalised [x, y, w, h], zero rows after
them. Every example is drawn from (seed, epoch, index) alone, whoever makes it.
"""

from __future__ import annotations

import sys
from typing import ClassVar

import numpy as np

from yolo3.darknet import DarknetConfig
from yolo3.data.annotations import Annotation
from yolo3.data.cache import ImageCache
from yolo3.data.policies import KERAS_YOLO3, LETTERBOX, AugmentationPolicy
from yolo3.data.targets import BEST_ANCHOR, Assignment, build_targets, head_grids, padded_boxes
from yolo3.errors import YoloError
from yolo3.images import load_image_salvaged

MAX_BOXES = 20
SALVAGED, DROPPED = "salvaged", "dropped"


class DecodeProblems:
    """Training images that passed the up-front header check but not a full decode: those
    OpenCV could still read (``salvaged``, trained on as far as they go) and those it
    could not (``dropped``: trained on as blank pictures without boxes). Each is warned
    about once; the run's summary counts them.

    A worker process sets ``sink`` to a list: its problems are collected there instead,
    handed to the main process with the batch and :meth:`report`-ed there."""

    salvaged: ClassVar[set[str]] = set()
    dropped: ClassVar[set[str]] = set()
    sink: ClassVar[list | None] = None

    @classmethod
    def reset(cls) -> None:
        cls.salvaged, cls.dropped = set(), set()

    @classmethod
    def report(cls, kind: str, path: str, message: str) -> None:
        """``kind`` (SALVAGED or DROPPED) happened to ``path``: warn the first time."""
        if cls.sink is not None:
            cls.sink.append((kind, path, message))
            return
        seen = cls.salvaged if kind == SALVAGED else cls.dropped
        if path not in seen:
            seen.add(path)
            print(f"warning: {message}", file=sys.stderr)

    @classmethod
    def counts(cls) -> dict[str, int]:
        return {"images_salvaged": len(cls.salvaged), "images_dropped": len(cls.dropped)}


def read_example(annotation: Annotation, input_hw: tuple[int, int]
                 ) -> tuple[np.ndarray, np.ndarray]:
    """The image (uint8 RGB) and its boxes.

    An image that Pillow cannot finish decoding mid-run (training checks headers up front,
    not every byte) is decoded by OpenCV where it can be (a JPEG cut short), else it
    becomes a grey picture without boxes; either way with a warning, not a stop.
    """
    path = annotation.path
    try:
        image, salvaged = load_image_salvaged(path)
    except YoloError as error:
        DecodeProblems.report(DROPPED, path, f"{error}; used as a blank image")
        return np.full((*input_hw, 3), 128, np.uint8), np.zeros((0, 5), np.int64)
    if salvaged:
        DecodeProblems.report(SALVAGED, path, f"{path}: damaged (cut short?); trained on "
                              "what OpenCV decodes of it")
    return np.asarray(image), annotation.boxes


def example(annotation: Annotation, config: DarknetConfig, input_hw: tuple[int, int],
            rng: np.random.Generator | None, max_boxes: int = MAX_BOXES,
            grids: list[tuple[int, int]] | None = None, assignment: Assignment = BEST_ANCHOR,
            policy: AugmentationPolicy = KERAS_YOLO3, partners: list[Annotation] = (),
            samples: list[tuple[np.ndarray, np.ndarray]] | None = None):
    """One training example as NumPy arrays (the image uint8), made by ``policy`` from
    ``annotation`` and the images ``partners`` (as many as the policy asks for), or from
    their decoded ``samples`` when given (yolo3.data.cache); ``rng`` None means no
    augmentation (the letterbox of inference)."""
    policy = policy if rng is not None else LETTERBOX
    if samples is None:
        samples = [read_example(a, input_hw) for a in (annotation, *partners)]
    pixels, boxes = policy.apply(samples, input_hw, rng)
    boxes = boxes[:max_boxes]
    return (pixels,
            *build_targets(boxes, config, input_hw, grids, assignment),
            padded_boxes(boxes, input_hw, max_boxes))


class BatchMaker:
    """``maker(indices, epochs)`` → one batch (see the module doc) of the examples of
    ``annotations[indices]``, each augmented as in its epoch when ``training`` (order and
    partners are the caller's and the seed's business), letterboxed when not.

    Made from its constructor's arguments alone (:attr:`arguments`), so a worker process
    builds the same maker from them; each maker has its own image cache."""

    def __init__(self, annotations: list[Annotation], config: DarknetConfig,
                 input_hw: tuple[int, int], training: bool, seed: int = 0,
                 assignment: Assignment = BEST_ANCHOR, policy: AugmentationPolicy = KERAS_YOLO3,
                 cache: bool = False):
        self.arguments = dict(annotations=annotations, config=config, input_hw=input_hw,
                              training=training, seed=seed, assignment=assignment,
                              policy=policy, cache=cache)
        self.annotations, self.config, self.input_hw = annotations, config, input_hw
        self.training, self.seed, self.assignment = training, seed, assignment
        self.policy = policy if training else LETTERBOX
        self.grids = head_grids(config, input_hw)
        self.images = ImageCache(lambda a: read_example(a, input_hw), input_hw,
                                 self.policy.cache_scale, self.policy.cache_exact, cache)

    def shapes(self, size: int) -> list[tuple[tuple[int, ...], np.dtype]]:
        """(shape, dtype) of each array of a batch of ``size``."""
        depth = 5 + self.config.num_classes
        heads = [((size, gh, gw, len(head.mask), depth), np.dtype(np.float32))
                 for head, (gh, gw) in zip(self.config.heads, self.grids)]
        return [((size, *self.input_hw, 3), np.dtype(np.uint8)), *heads,
                ((size, MAX_BOXES, 4), np.dtype(np.float32))]

    def example(self, index: int, epoch: int) -> tuple[np.ndarray, ...]:
        annotations, images = self.annotations, self.images
        if not self.training:
            return example(annotations[index], self.config, self.input_hw, None,
                           grids=self.grids, assignment=self.assignment,
                           samples=[images(index, annotations[index])])
        rng = np.random.default_rng([self.seed, epoch, index])
        wanted = self.policy.partners(epoch)
        chosen = ([index, *(int(p) for p in rng.integers(0, len(annotations), wanted))]
                  if wanted else [index])
        return example(annotations[index], self.config, self.input_hw, rng, grids=self.grids,
                       assignment=self.assignment, policy=self.policy,
                       samples=[images(k, annotations[k]) for k in chosen])

    def __call__(self, indices, epochs, out: list[np.ndarray] | None = None
                 ) -> tuple[np.ndarray, ...]:
        """The batch; written into ``out`` (arrays of :meth:`shapes` of at least this
        many examples) when given, and returned as views of it."""
        parts = [self.example(int(i), int(e)) for i, e in zip(indices, epochs)]
        if out is None:
            return tuple(np.stack(column) for column in zip(*parts))
        return tuple(np.stack(column, out=target[:len(parts)])
                     for column, target in zip(zip(*parts), out))
