"""The modern recipe's optimisation: warm-up then cosine learning rate, and a moving
average of the weights whose decay ramps up.

The learning rate climbs linearly over the warm-up steps (fresh heads and batch-norm
statistics see small steps first), then follows half a cosine down to ``FINAL_FRACTION`` of
its peak at the run's last step. The schedule counts the run's steps, not a stage's:
each stage compiles a new optimizer whose step count starts at 0, so it is given the
step its stage starts at.

The average (Polyak / "EMA" weights, as ultralytics keeps them) uses
    decay(step) = decay_max · (1 − exp(−step / ramp))
so early on it follows the weights closely and later averages over more steps.
ultralytics' constants (decay_max 0.9999, ramp 2000) suit runs of tens of thousands of
steps; a shorter run would average almost nothing (or freeze the average early), so
both scale with the run: the average spans about its last tenth (1 / (1 − decay_max)
steps) and ramps up over a tenth of it. Keras' optimizers keep it (``use_ema``), which
makes it part of the optimizer's state (saved for resume) and lets
keras.callbacks.SwapEMAWeights evaluate and checkpoint the averaged weights; only its
decay is replaced here.
"""

from __future__ import annotations

import math

import keras
from keras import ops

FINAL_FRACTION = 0.01
DECAY = 0.9999
RAMP_STEPS = 2000
WARMUP_EPOCHS, MIN_WARMUP_STEPS = 3, 100
WEIGHT_DECAY = 5e-4  # on convolution kernels only
NO_WEIGHT_DECAY = ["bias", "gamma", "beta"]


class WarmupCosine(keras.optimizers.schedules.LearningRateSchedule):
    """Learning rate at optimizer step ``step`` of a stage that starts at run step
    ``first_step`` (see the module doc)."""

    def __init__(self, peak: float, total_steps: int, warmup_steps: int,
                 first_step: int = 0):
        self.peak, self.total_steps = float(peak), max(1, int(total_steps))
        self.warmup_steps = max(1, min(int(warmup_steps), self.total_steps))
        self.first_step = int(first_step)

    def __call__(self, step):
        step = ops.cast(step, "float32") + self.first_step
        warm = self.peak * (step + 1) / self.warmup_steps
        span = max(1, self.total_steps - self.warmup_steps)
        progress = ops.clip((step - self.warmup_steps) / span, 0.0, 1.0)
        cosine = self.peak * (FINAL_FRACTION + (1 - FINAL_FRACTION) * 0.5
                              * (1 + ops.cos(math.pi * progress)))
        return ops.where(step < self.warmup_steps, warm, cosine)

    def get_config(self):
        return {"peak": self.peak, "total_steps": self.total_steps,
                "warmup_steps": self.warmup_steps, "first_step": self.first_step}


def warmup_steps(steps_per_epoch: int, total_steps: int) -> int:
    """ultralytics' rule: three epochs or 100 steps, whichever is longer, at most half the
    run."""
    return min(max(WARMUP_EPOCHS * steps_per_epoch, MIN_WARMUP_STEPS), total_steps // 2)


def average_decay(total_steps: int) -> tuple[float, int]:
    """(decay_max, ramp steps) of the weight average for a run of ``total_steps``."""
    tenth = max(1, total_steps // 10)
    return min(DECAY, 1 - 1 / max(tenth, 2)), min(RAMP_STEPS, tenth)


class _RampedAverage:
    """Replaces the fixed ``ema_momentum`` of a Keras optimizer by the ramped decay."""

    ramp = RAMP_STEPS

    def _update_model_variables_moving_average(self, trainable_variables):
        step = ops.cast(self.iterations, "float32")
        decay = self.ema_momentum * (1.0 - ops.exp(-step / float(self.ramp)))
        for variable, average in zip(trainable_variables,
                                     self._model_variables_moving_average):
            if average is not None:
                rate = ops.cast(decay, variable.dtype)
                average.assign(rate * average + (1 - rate) * variable)


class AveragedAdamW(_RampedAverage, keras.optimizers.AdamW):
    """AdamW keeping the ramped moving average of the weights."""


def modern_optimizer(learning_rate, total_steps: int) -> keras.optimizers.Optimizer:
    """AdamW with decay on kernels only and the averaged weights (see the module doc)."""
    decay, ramp = average_decay(total_steps)
    optimizer = AveragedAdamW(learning_rate=learning_rate, weight_decay=WEIGHT_DECAY,
                              use_ema=True, ema_momentum=decay)
    optimizer.exclude_from_weight_decay(var_names=NO_WEIGHT_DECAY)
    optimizer.ramp = ramp
    return optimizer
