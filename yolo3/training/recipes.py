"""The two training recipes, declared once: what ``--recipe`` chooses.

Both train the same Darknet network (yolo3.model.build); they differ in how:

===================  ================================  ==================================
                     modern (default)                  keras-yolo3
===================  ================================  ==================================
targets              every anchor within 4× of the     the best anchor, the centre cell
                     box's shape, centre cell + 2
                     nearest neighbours
decode (cfg)         ``scale_x_y=2`` in every [yolo]  as the cfg says (1)
loss                 CIoU box, objectness → IoU,        xy BCE, wh squared error,
                     class BCE (training/iou_loss)      objectness with ignore mask
head biases          priors: objectness log(8/cells),  zeros
                     class log(0.6/(C − 0.99))
batch-norm           momentum 0.97 from scratch (the   0.99 (Keras' default, Darknet's)
statistics           statistics inference uses follow
                     the last ~33 steps); 0.99 when
                     fine-tuning
augmentation         mosaic + scale/shift, single      keras-yolo3's jitter, scale,
                     images for the last epochs        flip, HSV
optimizer            AdamW, warm-up + cosine, weight   Adam; stage 2 at a tenth of the
                     decay on kernels, averaged        rate, reduced on plateaus, early
                     weights validated and saved       stopping
frozen stage         3 epochs (fine-tuning)            half the epochs
model kept           best validation fitness (0.1 ·    least validation loss
                     mAP50 + 0.9 · mAP50-95)
===================  ================================  ==================================

Both keep upstream's two stages (``--frozen_epochs`` with ``--freeze_body`` when
fine-tuning from ``--weights``). Each recipe is an object that carries its behaviour
(:class:`Recipe` is keras-yolo3's, :class:`ModernRecipe` overrides it), so the run asks
it rather than branching on its name.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from yolo3.darknet import DarknetConfig
from yolo3.data.targets import BEST_ANCHOR, RATIO_AND_NEIGHBOURS, Assignment

MODERN, KERAS_YOLO3 = "modern", "keras-yolo3"
NAMES = (MODERN, KERAS_YOLO3)
OBJECTS_PER_IMAGE_PRIOR, CLASS_PRIOR = 8.0, 0.6
# BatchNormalization's moving statistics, which validation and inference use: at 0.99 they
# average ~100 steps and keep 0.99^steps of their start (mean 0, variance 1), so on a
# short run from scratch (160 photos, batch 16, 30 epochs: 240 steps) they lagged far
# behind the weights and validation mAP stayed at 0 while training loss fell; 0.97 (as
# ultralytics' 0.03) follows the weights. Pretrained statistics start right, and at 0.97
# they followed batch-16 noise instead: fine-tuned mAP fell (synthetic 0.961 → 0.940,
# raccoon mAP50-95 0.507 → 0.462), so fine-tuning keeps 0.99.
KERAS_BATCHNORM_MOMENTUM, MODERN_BATCHNORM_MOMENTUM = 0.99, 0.97
MOSAIC_OFF_EPOCHS = 10  # the last epochs train on single images (at most a quarter)
FROZEN_EPOCHS = 3  # fine-tuning: the fresh heads learn alone (at most half the epochs)
STAGE2_LR_FACTOR = 0.1  # keras-yolo3's stage 2 after a frozen stage


@dataclass(frozen=True)
class Recipe:
    """A way to train, with its behaviour: what the run (yolo3.training.run) and the
    pipeline ask it — the loss, the augmentation policy, each stage's optimizer, learning
    rate and callbacks, and how the best epoch is kept. This class is keras-yolo3's recipe
    (upstream's behaviour); :class:`ModernRecipe` overrides what it does its own way."""

    name: str
    assignment: Assignment
    scale_x_y: float | None  # written into the trained model's [yolo] sections
    bias_priors: bool
    scratch_batchnorm_momentum: float = KERAS_BATCHNORM_MOMENTUM

    def frozen_epochs(self, epochs: int) -> int:
        """How many of ``epochs`` train with --freeze_body frozen when --frozen_epochs is not
        given (and there are --weights): keras-yolo3's half."""
        return epochs // 2

    def batchnorm_momentum(self, pretrained: bool) -> float:
        """The BatchNormalization momentum of a run from ``pretrained`` weights or not."""
        return KERAS_BATCHNORM_MOMENTUM if pretrained else self.scratch_batchnorm_momentum

    def loss(self):
        """(loss function, its term names)."""
        from yolo3.training.loss import TERMS, yolo_loss

        return yolo_loss, TERMS

    def mosaic_until(self, epochs: int) -> int | None:
        """The epoch (0-based) from which training images are single, not mosaics; None:
        no mosaics."""
        return None

    def augmentation(self, epochs: int):
        """The training examples' policy (yolo3.data.policies) for a run of ``epochs``.
        (Imported here: the settings, and so the Azure driver, read this module and need
        no OpenCV.)"""
        from yolo3.data.policies import KERAS_YOLO3

        return KERAS_YOLO3

    def stage_rates(self, learning_rate: float, frozen_stage: int, start: int,
                    resumed_rate: float | None) -> tuple[float, float]:
        """The learning rate each stage starts at (stage 2 at a tenth after a frozen
        stage), or where an interrupted run had brought it."""
        stage2 = learning_rate * (STAGE2_LR_FACTOR if frozen_stage else 1.0)
        if resumed_rate is not None and start >= frozen_stage:
            stage2 = resumed_rate
        return resumed_rate or learning_rate, stage2

    def optimizer(self, learning_rate: float, first_step: int, run_steps: int,
                  steps_per_epoch: int):
        """(optimizer, learning-rate schedule or None, the rate in words) for a stage."""
        import keras

        return (keras.optimizers.Adam(learning_rate=learning_rate), None,
                f"learning rate {learning_rate:.3g}")

    def stage_callbacks(self, stage: int, monitor: str) -> list:
        """Callbacks of stage ``stage`` (1 or 2) alone: plateau reductions and early
        stopping in stage 2."""
        if stage == 1:
            return []
        import keras

        return [keras.callbacks.ReduceLROnPlateau(monitor=monitor, factor=0.1, patience=3,
                                                  verbose=1),
                keras.callbacks.EarlyStopping(monitor=monitor, min_delta=0, patience=10,
                                              verbose=1)]

    def best_by_loss(self, best_path, monitor: str, threshold: float | None) -> list:
        """The callback that keeps the epoch of least ``monitor`` loss in ``best_path``
        (none where the recipe keeps its best otherwise: :meth:`best_by_map`)."""
        from yolo3.training.callbacks import BestByLoss

        return [BestByLoss(best_path, monitor, threshold)]

    def best_by_map(self, best_path):
        """Where the validation-mAP callback keeps the best epoch's weights, or None."""
        return None

    def averaged_weights(self, callbacks: list, after) -> list:
        """``callbacks`` with what validation and saving of averaged weights need, placed
        right ``after`` the given one (nothing for recipes without averages)."""
        return callbacks


@dataclass(frozen=True)
class ModernRecipe(Recipe):
    """The modern recipe's own behaviour (see the module doc's table)."""

    def loss(self):
        from yolo3.training.iou_loss import TERMS, iou_loss

        return iou_loss, TERMS

    def frozen_epochs(self, epochs: int) -> int:
        # the fresh heads alone for the first epochs of the warm-up; the warm-up's small
        # steps then protect the pretrained layers as the frozen half did, which in
        # ~15 frozen epochs of 30 reached validation mAP50 0.33 (raccoon): half the run
        # lost
        return min(FROZEN_EPOCHS, epochs // 2)

    def mosaic_until(self, epochs: int) -> int:
        return epochs - min(MOSAIC_OFF_EPOCHS, epochs // 4)

    def augmentation(self, epochs: int):
        from yolo3.data.policies import MosaicThenSingle

        return MosaicThenSingle(self.mosaic_until(epochs))

    def stage_rates(self, learning_rate, frozen_stage, start, resumed_rate):
        return learning_rate, learning_rate  # one schedule across both stages

    def optimizer(self, learning_rate, first_step, run_steps, steps_per_epoch):
        from yolo3.training.schedule import WarmupCosine, modern_optimizer, warmup_steps

        schedule = WarmupCosine(learning_rate, run_steps,
                                warmup_steps(steps_per_epoch, run_steps), first_step=first_step)
        if first_step < schedule.warmup_steps:
            words = (f"learning rate {learning_rate:.3g} after {schedule.warmup_steps} warm-up "
                     "steps, cosine decay")
        else:  # a later stage or a resumed run: the one schedule goes on
            words = (f"the cosine decay goes on from step {first_step} "
                     f"(learning rate {float(schedule(0)):.3g})")
        return modern_optimizer(schedule, run_steps), schedule, words

    def stage_callbacks(self, stage, monitor):
        return []

    def best_by_loss(self, best_path, monitor, threshold):
        # its loss is no yardstick across epochs (objectness aims at the IoU, which grows)
        return []

    def best_by_map(self, best_path):
        return best_path

    def averaged_weights(self, callbacks, after):
        # validation and the best checkpoint see the averaged weights; the callback before
        # it keeps the raw ones for resume (the averages are the optimizer's state)
        import keras

        at = callbacks.index(after) + 1
        return [*callbacks[:at], keras.callbacks.SwapEMAWeights(swap_on_epoch=True),
                *callbacks[at:]]


RECIPES = {
    MODERN: ModernRecipe(MODERN, RATIO_AND_NEIGHBOURS, scale_x_y=2.0, bias_priors=True,
                         scratch_batchnorm_momentum=MODERN_BATCHNORM_MOMENTUM),
    KERAS_YOLO3: Recipe(KERAS_YOLO3, BEST_ANCHOR, scale_x_y=None, bias_priors=False),
}


def head_bias_priors(config: DarknetConfig, input_hw: tuple[int, int]) -> list[np.ndarray]:
    """The initial bias of each head convolution, (A · (5 + C),): box terms 0, objectness
    log(8 / cells) (about eight objects per image, spread over the head's cells) and
    classes log(0.6 / (C − 0.99)), so training does not begin by unlearning a confident
    0.5 everywhere."""
    classes = config.num_classes
    out = []
    for head, stride in zip(config.heads, config.head_strides):
        cells = (input_hw[0] // stride) * (input_hw[1] // stride)
        bias = np.zeros((len(head.mask), 5 + classes), np.float32)
        bias[:, 4] = math.log(OBJECTS_PER_IMAGE_PRIOR / cells)
        bias[:, 5:] = math.log(CLASS_PRIOR / (classes - 0.99))
        out.append(bias.reshape(-1))
    return out


def set_batchnorm_momentum(body, momentum: float) -> None:
    """Every BatchNormalization layer of ``body`` updates its moving statistics with
    ``momentum`` (read when the training step is traced, so set it before fit)."""
    import keras

    for layer in body.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = momentum


def set_head_bias_priors(body, config: DarknetConfig, input_hw: tuple[int, int]) -> None:
    """Write :func:`head_bias_priors` into the model's head convolutions."""
    for head, bias in zip(config.heads, head_bias_priors(config, input_hw)):
        layer = body.get_layer(config.layers[head.conv_index].name)
        kernel, _ = layer.get_weights()
        layer.set_weights([kernel, bias])
