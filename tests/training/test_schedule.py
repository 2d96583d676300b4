"""yolo3.training.schedule: the warm-up + cosine learning rate, the ramped weight average
and what decays."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest

from yolo3.training.schedule import (
    FINAL_FRACTION,
    WarmupCosine,
    average_decay,
    modern_optimizer,
    warmup_steps,
)


def test_warmup_then_cosine():
    schedule = WarmupCosine(0.01, total_steps=1000, warmup_steps=100)
    rate = [float(schedule(step)) for step in (0, 49, 99, 100, 550, 999, 5000)]
    assert rate[0] == pytest.approx(1e-4) and rate[1] == pytest.approx(5e-3)
    assert rate[2] == pytest.approx(0.01) and rate[3] == pytest.approx(0.01)
    middle = FINAL_FRACTION + (1 - FINAL_FRACTION) * 0.5 * (1 + math.cos(math.pi * 0.5))
    assert rate[4] == pytest.approx(0.01 * middle, rel=1e-5)
    assert rate[5] == pytest.approx(0.01 * FINAL_FRACTION, rel=1e-2)
    assert rate[6] == pytest.approx(0.01 * FINAL_FRACTION)


def test_a_later_stage_continues_the_runs_schedule():
    whole = WarmupCosine(0.01, 1000, 100)
    stage2 = WarmupCosine(0.01, 1000, 100, first_step=300)
    for step in (0, 10, 500):
        assert float(stage2(step)) == pytest.approx(float(whole(step + 300)))


def test_warmup_and_average_lengths():
    assert warmup_steps(18, 720) == 100  # three epochs are fewer than 100 steps
    assert warmup_steps(500, 100_000) == 1500
    assert warmup_steps(18, 60) == 30  # at most half the run
    assert average_decay(720) == (pytest.approx(1 - 1 / 72), 72)
    assert average_decay(10_000_000) == (0.9999, 2000)


def test_the_average_ramps_and_weight_decay_spares_biases_and_batchnorm():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2),
                              keras.layers.BatchNormalization()])
    optimizer = modern_optimizer(1e-2, total_steps=1000)
    model.compile(optimizer=optimizer, loss="mse")
    decays = {v.name: optimizer._use_weight_decay(v) for v in model.trainable_variables}
    assert decays == {"kernel": True, "bias": False, "gamma": False, "beta": False}
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(64, 3)), rng.normal(size=(64, 2))
    kernel = model.layers[0].kernel
    history = []

    class Watch(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            history.append((np.array(kernel.numpy()),
                            np.array(optimizer._model_variables_moving_average[0].numpy())))

    model.fit(x, y, batch_size=8, epochs=3, verbose=0, callbacks=[Watch()])
    # the average is the ramped decay's recursion over the weights after each step
    decay, ramp = average_decay(1000)
    expected = history[0][0]
    for step, (weights, average) in enumerate(history[1:], start=1):
        rate = decay * (1 - math.exp(-step / ramp))
        expected = rate * expected + (1 - rate) * weights
        np.testing.assert_allclose(average, expected, rtol=1e-4, atol=1e-6)
    assert not np.allclose(history[-1][0], history[-1][1])
