"""Workarounds for Keras 3.15 under MultiWorkerMirroredStrategy, in one place.

Keras (3.15) cannot run ``fit`` under multi-worker MirroredStrategy as shipped: it averages
a whole data batch across replicas to build its metrics (impossible eagerly there), and
averages scalar step results along an axis they lack. :class:`MultiWorkerFixes` overrides
the three hooks involved, two of them private; ``tests/test_keras_shim.py`` fails when a
Keras upgrade changes them, which is the moment to revisit this module.
"""

from __future__ import annotations

import tensorflow as tf

TESTED_KERAS = "3.15"
PRIVATE_HOOKS = ("_maybe_symbolic_build", "_symbolic_build")


class MultiWorkerFixes:
    """Mixed into a keras.Model subclass (before keras.Model)."""

    def _multi_worker(self) -> bool:
        strategy = self.distribute_strategy
        return (isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
                and strategy.extended._num_workers > 1)  # noqa: SLF001

    def _vector_logs(self, logs: dict) -> dict:
        # Keras (3.15) averages multi-worker step results along axis 0, which scalars lack
        if not self._multi_worker():
            return logs
        return {name: tf.reshape(value, [1]) for name, value in logs.items()}

    def train_step(self, data):
        return self._vector_logs(super().train_step(data))

    def test_step(self, data):
        return self._vector_logs(super().test_step(data))

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        # Keras (3.15) averages a whole data batch across replicas here to build its metrics,
        # which MultiWorkerMirroredStrategy cannot do eagerly; one local replica's batch
        # builds them just as well.
        strategy = self.distribute_strategy
        if iterator is None or not isinstance(strategy,
                                              tf.distribute.MultiWorkerMirroredStrategy):
            return super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)
        for _, _, batches in iterator:
            data_batch = tf.nest.map_structure(
                lambda value: strategy.experimental_local_results(value)[0], next(batches))
            break
        with strategy.scope():
            self._symbolic_build(data_batch=data_batch)
