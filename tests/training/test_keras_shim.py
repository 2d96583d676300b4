"""yolo3.training.keras_shim: the private Keras hooks it overrides still exist with the
signatures it relies on. A failure here after a Keras upgrade means: revisit the shim (the
two-worker test in test_training.py shows whether training still works)."""

from __future__ import annotations

import inspect

import keras

from yolo3.training.keras_shim import PRIVATE_HOOKS, TESTED_KERAS, MultiWorkerFixes
from yolo3.training.trainer import YoloTrainer


def test_the_private_hooks_are_still_there():
    for hook in PRIVATE_HOOKS:
        assert callable(getattr(keras.Model, hook, None)), (hook, keras.__version__)
    parameters = inspect.signature(keras.Model._maybe_symbolic_build).parameters
    assert list(parameters) == ["self", "iterator", "data_batch"], keras.__version__
    assert "data_batch" in inspect.signature(keras.Model._symbolic_build).parameters


def test_the_shim_sits_before_keras_model():
    order = YoloTrainer.__mro__
    assert order.index(MultiWorkerFixes) < order.index(keras.Model)


def test_keras_is_the_version_the_shim_was_written_for():
    assert keras.__version__.startswith(TESTED_KERAS), (
        f"Keras {keras.__version__}: check yolo3/training/keras_shim.py against it, then "
        "update TESTED_KERAS")
