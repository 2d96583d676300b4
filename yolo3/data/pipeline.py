"""The training input pipeline on tf.data: annotation lines → images and targets.

Each element is ``(images, targets)``: images (B, h, w, 3) uint8 — the trainer divides
by 255 on the device that runs the model, so a quarter of the bytes cross to it —;
targets a tuple of one array per head (B, grid_h, grid_w, anchors, 5 + classes) — see
yolo3.data.targets — followed by the image's boxes (B, max_boxes, 4) as normalised
[x, y, w, h] for the loss's ignore mask.

Reading (yolo3.images.load_image_salvaged: any mode, EXIF) happens once per image when
the images fit in memory (yolo3.data.cache); augmentation (the recipe's policy,
yolo3.data.policies; OpenCV, which releases the GIL) and target building run in parallel
map calls, and batches are prefetched so the model does not wait for data.
"""

from __future__ import annotations

import sys

import numpy as np
import tensorflow as tf

from yolo3.darknet import DarknetConfig
from yolo3.data.annotations import Annotation
from yolo3.data.cache import ImageCache, should_cache
from yolo3.data.policies import KERAS_YOLO3, LETTERBOX, AugmentationPolicy
from yolo3.data.targets import BEST_ANCHOR, Assignment, build_targets, head_grids, padded_boxes
from yolo3.errors import YoloError
from yolo3.images import load_image_salvaged

MAX_BOXES = 20


class DecodeProblems:
    """Training images that passed the up-front header check but not a full decode: those
    OpenCV could still read (``salvaged``, trained on as far as they go) and those it
    could not (``dropped``: trained on as blank pictures without boxes). Each is warned
    about once; the run's summary counts them."""

    salvaged: set[str] = set()
    dropped: set[str] = set()

    @classmethod
    def reset(cls) -> None:
        cls.salvaged, cls.dropped = set(), set()

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
        if path not in DecodeProblems.dropped:
            DecodeProblems.dropped.add(path)
            print(f"warning: {error}; used as a blank image", file=sys.stderr)
        return np.full((*input_hw, 3), 128, np.uint8), np.zeros((0, 5), np.int64)
    if salvaged and path not in DecodeProblems.salvaged:
        DecodeProblems.salvaged.add(path)
        print(f"warning: {path}: damaged (cut short?); trained on what OpenCV decodes of it",
              file=sys.stderr)
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


def make_dataset(annotations: list[Annotation], config: DarknetConfig,
                 input_hw: tuple[int, int], batch_size: int, training: bool, seed: int = 0,
                 first_epoch: int = 0, assignment: Assignment = BEST_ANCHOR,
                 policy: AugmentationPolicy = KERAS_YOLO3, cache: str = "auto"
                 ) -> tf.data.Dataset:
    """Batches of (images, targets).

    Training data is endless (give ``fit`` its steps per epoch): every epoch has its own
    order and augmentations, both derived from ``seed`` and the epoch number, so a run
    resumed at ``first_epoch`` sees what the uninterrupted run would have seen.
    ``policy``: how training examples are made and augmented (yolo3.data.policies).
    Validation data is one pass, letterboxed like inference, in file order.
    ``cache``: keep the decoded images in memory — auto, ram or none (yolo3.data.cache).
    """
    if not annotations:
        raise ValueError("no annotations to build a dataset from")
    annotations = list(annotations)
    grids = head_grids(config, input_hw)
    depth = 5 + config.num_classes
    height, width = input_hw
    count = len(annotations)
    if not training:
        policy = LETTERBOX
    images = ImageCache(lambda a: read_example(a, input_hw), input_hw, policy.cache_scale,
                        policy.cache_exact,
                        should_cache(cache, count, input_hw, policy.cache_scale))

    def load(index, epoch):
        i = int(index)
        if not training:
            return example(annotations[i], config, input_hw, None, grids=grids,
                           assignment=assignment, samples=[images(i, annotations[i])])
        rng = np.random.default_rng([seed, int(epoch), i])
        wanted = policy.partners(int(epoch))
        chosen = [i, *(int(p) for p in rng.integers(0, count, wanted))] if wanted else [i]
        return example(annotations[i], config, input_hw, rng, grids=grids,
                       assignment=assignment, policy=policy,
                       samples=[images(k, annotations[k]) for k in chosen])

    def load_batch(indices, epochs):
        """Examples of a whole batch in one call: tf.data's per-element work costs
        about as much as an example's augmentation."""
        parts = [load(i, e) for i, e in zip(indices, epochs)]
        return tuple(np.stack(column) for column in zip(*parts))

    out_types = [tf.uint8] + [tf.float32] * (len(grids) + 1)

    def load_tf(indices, epochs):
        values = tf.numpy_function(load_batch, [indices, epochs], out_types, stateful=False)
        values[0].set_shape((None, height, width, 3))
        for tensor, (gh, gw), head in zip(values[1:-1], grids, config.heads):
            tensor.set_shape((None, gh, gw, len(head.mask), depth))
        values[-1].set_shape((None, MAX_BOXES, 4))
        return values[0], tuple(values[1:])

    def epoch_order(epoch):
        order = tf.random.experimental.stateless_shuffle(
            tf.range(count, dtype=tf.int64), seed=tf.stack([tf.constant(seed, tf.int64), epoch]))
        return tf.data.Dataset.from_tensor_slices(order).map(lambda i: (i, epoch))

    if training:
        dataset = tf.data.Dataset.counter(start=first_epoch).flat_map(epoch_order)
    else:
        dataset = tf.data.Dataset.range(count).map(lambda i: (i, tf.constant(0, tf.int64)))
    # batches of (index, epoch) pairs, then each batch made in one call, several at once
    dataset = dataset.batch(batch_size, drop_remainder=training)
    dataset = dataset.map(load_tf, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    options = tf.data.Options()
    # several workers split the batches between them (there are no files to split)
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    dataset = dataset.with_options(options)
    return dataset.prefetch(tf.data.AUTOTUNE)
