"""The training input pipeline on tf.data: annotation lines → images and targets.

Each element is ``(images, targets)``: images (B, h, w, 3) uint8 — the trainer divides
by 255 on the device that runs the model, so a quarter of the bytes cross to it —;
targets a tuple of one array per head (B, grid_h, grid_w, anchors, 5 + classes) — see
yolo3.data.targets — followed by the image's boxes (B, max_boxes, 4) as normalised
[x, y, w, h] for the loss's ignore mask.

Batches are made by yolo3.data.examples (reading once per image when the images fit in
memory, yolo3.data.cache; augmentation by the recipe's policy, yolo3.data.policies; target
building), a whole batch per call: in parallel map calls on tf.data's threads, or, with
``workers``, in that many processes (yolo3.data.workers) — the same batches either way.
Batches are prefetched so the model does not wait for data.
"""

from __future__ import annotations

import tensorflow as tf

from yolo3.darknet import DarknetConfig
from yolo3.data.annotations import Annotation
from yolo3.data.cache import should_cache
from yolo3.data.examples import MAX_BOXES, BatchMaker
from yolo3.data.policies import KERAS_YOLO3, LETTERBOX, AugmentationPolicy
from yolo3.data.targets import BEST_ANCHOR, Assignment

__all__ = ["MAX_BOXES", "make_dataset"]


def make_dataset(annotations: list[Annotation], config: DarknetConfig,
                 input_hw: tuple[int, int], batch_size: int, training: bool, seed: int = 0,
                 first_epoch: int = 0, assignment: Assignment = BEST_ANCHOR,
                 policy: AugmentationPolicy = KERAS_YOLO3, cache: str = "auto",
                 workers: int = 0) -> tf.data.Dataset:
    """Batches of (images, targets).

    Training data is endless (give ``fit`` its steps per epoch): every epoch has its own
    order and augmentations, both derived from ``seed`` and the epoch number, so a run
    resumed at ``first_epoch`` sees what the uninterrupted run would have seen.
    ``policy``: how training examples are made and augmented (yolo3.data.policies).
    Validation data is one pass, letterboxed like inference, in file order.
    ``cache``: keep the decoded images in memory — auto, ram or none (yolo3.data.cache).
    ``workers``: training batches made by that many processes (yolo3.data.workers; they
    end with the dataset); 0: by tf.data's threads in this process.
    """
    if not annotations:
        raise ValueError("no annotations to build a dataset from")
    annotations = list(annotations)
    count = len(annotations)
    if not training:  # validation: letterboxed, on threads
        policy, workers = LETTERBOX, 0
    cached = should_cache(cache, count, input_hw, policy.cache_scale, copies=max(1, workers))
    maker = BatchMaker(annotations, config, input_hw, training, seed, assignment, policy,
                       cached)
    if workers:
        from yolo3.data.workers import WorkerPool

        make_batch = WorkerPool(maker, workers, batch_size)
    else:
        make_batch = maker
    shapes = maker.shapes(None)

    def load_tf(indices, epochs):
        values = tf.numpy_function(make_batch, [indices, epochs],
                                   [tf.as_dtype(dtype) for _, dtype in shapes], stateful=False)
        for value, (shape, _) in zip(values, shapes):
            value.set_shape(shape)
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
    # with worker processes, as many calls as workers: the threads only wait for them
    dataset = dataset.map(load_tf, num_parallel_calls=workers or tf.data.AUTOTUNE,
                          deterministic=True)
    options = tf.data.Options()
    # several training machines (MultiWorkerMirrored) split the batches between them (there
    # are no files to split)
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    dataset = dataset.with_options(options)
    return dataset.prefetch(tf.data.AUTOTUNE)
