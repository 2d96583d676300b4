"""yolo3.training.recipes: the two recipes' choices, head bias priors in the model, the
mosaic switch-off."""

from __future__ import annotations

import math

import numpy as np
import pytest

from helpers import CFG, sigmoid
from yolo3.darknet import load_cfg, with_classes
from yolo3.data.targets import BEST_ANCHOR, RATIO_AND_NEIGHBOURS
from yolo3.model.build import build_model
from yolo3.training.recipes import (
    KERAS_YOLO3,
    MODERN,
    RECIPES,
    head_bias_priors,
    set_batchnorm_momentum,
    set_head_bias_priors,
)
from yolo3.training.settings import TrainSettings


def test_the_flag_names_every_recipe_and_modern_is_the_default():
    assert TrainSettings().recipe == MODERN
    assert set(RECIPES) == {MODERN, KERAS_YOLO3}
    keras_yolo3 = RECIPES[KERAS_YOLO3]
    assert keras_yolo3.assignment == BEST_ANCHOR and keras_yolo3.scale_x_y is None
    assert not keras_yolo3.bias_priors and keras_yolo3.mosaic_until(40) is None
    from yolo3.training.loss import yolo_loss

    assert keras_yolo3.loss()[0] is yolo_loss
    modern = RECIPES[MODERN]
    assert modern.assignment == RATIO_AND_NEIGHBOURS and modern.scale_x_y == 2.0


@pytest.mark.parametrize("epochs, until", [(40, 30), (20, 15), (100, 90), (3, 3), (1, 1)])
def test_mosaic_stops_for_the_last_epochs(epochs, until):
    assert RECIPES[MODERN].mosaic_until(epochs) == until


def test_bias_priors_follow_the_formulas():
    config = with_classes(load_cfg(CFG / "yolov3.cfg"), 3)
    priors = head_bias_priors(config, (416, 416))
    for bias, stride in zip(priors, (32, 16, 8)):
        per_anchor = bias.reshape(3, 8)
        assert (per_anchor[:, :4] == 0).all()
        np.testing.assert_allclose(per_anchor[:, 4], math.log(8 / (416 // stride) ** 2),
                                   rtol=1e-6)
        np.testing.assert_allclose(per_anchor[:, 5:], math.log(0.6 / 2.01), rtol=1e-6)


def test_a_model_with_priors_starts_with_few_confident_cells():
    config = with_classes(load_cfg(CFG / "yolov3-tiny.cfg"), 4)
    model = build_model(config, (128, 128))
    set_head_bias_priors(model, config, (128, 128))
    outputs = model(np.random.default_rng(0).uniform(0, 1, (2, 128, 128, 3)).astype("float32"))
    for raw in outputs:
        raw = np.asarray(raw).reshape(*raw.shape[:3], 3, 9)
        cells = raw.shape[1] * raw.shape[2]
        # about eight expected objects per image in each head, not half of all slots
        expected = 8 / cells * 3 * cells
        assert sigmoid(raw[..., 4]).sum(axis=(1, 2, 3)).mean() == pytest.approx(expected,
                                                                                 rel=0.5)
        assert sigmoid(raw[..., 5:]).mean() == pytest.approx(0.6 / 3.01, rel=0.3)


def test_batchnorm_statistics_follow_the_recipes_momentum():
    """keras-yolo3 keeps Keras' (and Darknet's) 0.99; the modern recipe 0.97 from scratch
    and 0.99 from pretrained weights; the momentum reaches the moving statistics of a
    model already built (what validation and inference use)."""
    import keras

    assert [RECIPES[KERAS_YOLO3].batchnorm_momentum(p) for p in (False, True)] == [0.99, 0.99]
    assert [RECIPES[MODERN].batchnorm_momentum(p) for p in (False, True)] == [0.97, 0.99]
    body = build_model(with_classes(load_cfg(CFG / "yolov3-tiny.cfg"), 1), (32, 32))
    set_batchnorm_momentum(body, 0.97)
    layer = next(x for x in body.layers if isinstance(x, keras.layers.BatchNormalization))
    assert layer.momentum == 0.97
    batch = np.random.default_rng(0).normal(3.0, 1.0, (2, 4, 4, layer.gamma.shape[0]))
    layer(batch.astype(np.float32), training=True)
    expected = 0.03 * batch.mean(axis=(0, 1, 2))  # from a moving mean of 0
    np.testing.assert_allclose(np.asarray(layer.moving_mean), expected, rtol=1e-4)


def test_each_recipe_carries_its_behaviour(tmp_path):
    """What the run asks a recipe: augmentation policy, stage rates, optimizer and
    schedule, stage callbacks, where the best epoch is kept, averaged weights."""
    import keras

    from yolo3.data.policies import KERAS_YOLO3 as KERAS_YOLO3_POLICY
    from yolo3.data.policies import MosaicThenSingle
    from yolo3.training.schedule import AveragedAdamW, WarmupCosine

    keras_yolo3, modern = RECIPES[KERAS_YOLO3], RECIPES[MODERN]
    assert keras_yolo3.augmentation(40) is KERAS_YOLO3_POLICY
    assert modern.augmentation(40) == MosaicThenSingle(30)

    # keras-yolo3: stage 2 at a tenth after a frozen stage, or where a resumed run was
    assert keras_yolo3.stage_rates(1e-3, 5, 0, None) == pytest.approx((1e-3, 1e-4))
    assert keras_yolo3.stage_rates(1e-3, 0, 0, None) == pytest.approx((1e-3, 1e-3))
    assert keras_yolo3.stage_rates(1e-3, 5, 7, 3e-5) == pytest.approx((3e-5, 3e-5))
    assert modern.stage_rates(1e-3, 5, 7, 3e-5) == (1e-3, 1e-3)  # one schedule throughout

    # the frozen stage when --frozen_epochs is not given: upstream's half; modern 3, at
    # most half
    assert [keras_yolo3.frozen_epochs(n) for n in (60, 30, 5, 1)] == [30, 15, 2, 0]
    assert [modern.frozen_epochs(n) for n in (60, 30, 6, 5, 1)] == [3, 3, 3, 2, 0]

    optimizer, schedule, rate = keras_yolo3.optimizer(2e-3, 0, 100, 10)
    assert isinstance(optimizer, keras.optimizers.Adam) and schedule is None
    assert rate == "learning rate 0.002"
    optimizer, schedule, rate = modern.optimizer(2e-3, 30, 100, 10)
    assert isinstance(optimizer, AveragedAdamW) and isinstance(schedule, WarmupCosine)
    assert schedule.first_step == 30 and "warm-up steps, cosine decay" in rate

    assert modern.stage_callbacks(2, "val_loss") == keras_yolo3.stage_callbacks(1, "loss") == []
    assert [type(c).__name__ for c in keras_yolo3.stage_callbacks(2, "val_loss")] == [
        "ReduceLROnPlateau", "EarlyStopping"]

    best = tmp_path / "best.weights.h5"
    assert [type(c).__name__ for c in keras_yolo3.best_by_loss(best, "val_loss", None)] == [
        "BestByLoss"]
    assert modern.best_by_loss(best, "val_loss", None) == []
    assert (keras_yolo3.best_by_map(best), modern.best_by_map(best)) == (None, best)

    first, second = keras.callbacks.History(), keras.callbacks.History()
    assert keras_yolo3.averaged_weights([first, second], after=first) == [first, second]
    swapped = modern.averaged_weights([first, second], after=first)
    assert [type(c).__name__ for c in swapped] == ["History", "SwapEMAWeights", "History"]
