"""The detection model plus the YOLOv3 loss, trained by Keras' own fit loop."""

from __future__ import annotations

import keras
import tensorflow as tf

from yolo3.darknet import DarknetConfig
from yolo3.training.keras_shim import MultiWorkerFixes
from yolo3.training.loss import TERMS, yolo_loss


class YoloTrainer(MultiWorkerFixes, keras.Model):
    """The detection model plus the YOLOv3 loss, trained with Keras' own fit loop.

    ``fit`` data are (images, (head targets..., true boxes)) batches from yolo3.data.pipeline;
    uint8 images are divided by 255 here (float images are taken as already in [0, 1]).
    ``loss`` (targets, outputs, config, input_hw) → (total, {term: value}) and its term
    names come from the recipe (yolo3.training.recipes); keras-yolo3's by default.
    Overriding compute_loss keeps Keras' train step, so distribution strategies scale the
    loss and gradients as they do for any model.
    """

    def __init__(self, body: keras.Model, config: DarknetConfig, input_hw: tuple[int, int],
                 loss=yolo_loss, terms: tuple[str, ...] = TERMS):
        super().__init__(name="yolo_trainer")
        self.body = body
        self.config = config
        self.input_hw = input_hw
        self.loss_fn, self.terms = loss, terms
        self.term_trackers = [keras.metrics.Mean(name=f"{name}_loss") for name in terms]

    def call(self, images, training=False):
        if images.dtype == tf.uint8:  # the pipeline's pixels: scaled here, on the device
            images = tf.cast(images, tf.float32) / 255.0
        return self.body(images, training=training)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        total, terms = self.loss_fn(y, y_pred, self.config, self.input_hw)
        for tracker, name in zip(self.term_trackers, self.terms):
            tracker.update_state(terms[name])
        if self.losses:
            total = total + tf.add_n(self.losses)
        # Keras sums the replicas' gradients: each replica contributes its share of the mean
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        return total / tf.cast(replicas, total.dtype)

    @property
    def metrics(self):
        return [*super().metrics, *self.term_trackers]
