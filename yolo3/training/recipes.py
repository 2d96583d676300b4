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
augmentation         mosaic + scale/shift, single      keras-yolo3's jitter, scale,
                     images for the last epochs        flip, HSV
optimizer            AdamW, warm-up + cosine, weight   Adam; stage 2 at a tenth of the
                     decay on kernels, averaged        rate, reduced on plateaus, early
                     weights validated and saved       stopping
===================  ================================  ==================================

Both keep upstream's two stages (``--frozen_epochs`` with ``--freeze_body`` when
fine-tuning from ``--weights``).
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
MOSAIC_OFF_EPOCHS = 10  # the last epochs train on single images (at most a quarter)


@dataclass(frozen=True)
class Recipe:
    name: str
    assignment: Assignment
    scale_x_y: float | None  # written into the trained model's [yolo] sections
    bias_priors: bool
    modern_augmentation: bool
    scheduled: bool  # warm-up + cosine and averaged weights; else Adam and plateaus

    def loss(self):
        """(loss function, its term names)."""
        if self.name == MODERN:
            from yolo3.training.iou_loss import TERMS, iou_loss

            return iou_loss, TERMS
        from yolo3.training.loss import TERMS, yolo_loss

        return yolo_loss, TERMS

    def mosaic_until(self, epochs: int) -> int | None:
        """The epoch (0-based) from which training images are single, not mosaics; None:
        keras-yolo3's augmentation throughout."""
        if not self.modern_augmentation:
            return None
        return epochs - min(MOSAIC_OFF_EPOCHS, epochs // 4)


RECIPES = {
    MODERN: Recipe(MODERN, RATIO_AND_NEIGHBOURS, scale_x_y=2.0, bias_priors=True,
                   modern_augmentation=True, scheduled=True),
    KERAS_YOLO3: Recipe(KERAS_YOLO3, BEST_ANCHOR, scale_x_y=None, bias_priors=False,
                        modern_augmentation=False, scheduled=False),
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


def set_head_bias_priors(body, config: DarknetConfig, input_hw: tuple[int, int]) -> None:
    """Write :func:`head_bias_priors` into the model's head convolutions."""
    for head, bias in zip(config.heads, head_bias_priors(config, input_hw)):
        layer = body.get_layer(config.layers[head.conv_index].name)
        kernel, _ = layer.get_weights()
        layer.set_weights([kernel, bias])
