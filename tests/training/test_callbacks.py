"""yolo3.training.callbacks: the validation-mAP callback and the epoch it keeps."""

import keras
import numpy as np
import pytest

from yolo3.training.callbacks import MapEvaluator


class Trainer:
    """What the callback reads from the model fit trains: its ``body``."""

    def __init__(self):
        self.body = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])


@pytest.mark.parametrize("every", [1, 2])
def test_the_best_epoch_by_fitness_is_kept(tmp_path, every):
    """Each measured epoch's mAPs go into the logs; the weights kept are those of the
    epoch with the best 0.1 · mAP50 + 0.9 · mAP50-95 — here the second, though the first
    has the higher mAP50 — and a resumed run's best so far must be beaten."""
    measured = iter([(0.97, 0.45), (0.95, 0.50), (0.99, 0.40), (0.90, 0.46)])
    seen = []

    def evaluate_now():
        map50, map50_95 = next(measured)
        seen.append(map50)
        return {"precision": 0.8, "recall": 0.9, "voc_map50": map50, "coco_map": map50_95}

    trainer, best = Trainer(), tmp_path / "best.weights.h5"
    callback = MapEvaluator(every, evaluate_now, best_path=best)
    callback.set_model(trainer)
    callback.set_params({"epochs": 4})
    kept_kernel = None
    for epoch in range(4):
        kernel = np.full((2, 1), float(epoch), "float32")
        trainer.body.layers[0].kernel.assign(kernel)
        logs = {}
        callback.on_epoch_end(epoch, logs)
        if logs and logs["val_map50"] == 0.95:
            kept_kernel = kernel
    if every == 1:
        assert seen == [0.97, 0.95, 0.99, 0.90]
    else:  # epochs 2 and 4 (the last)
        assert seen == [0.97, 0.95]
    loaded = Trainer()
    loaded.body.load_weights(best)
    np.testing.assert_array_equal(loaded.body.layers[0].kernel.numpy(), kept_kernel)


def test_a_resumed_run_keeps_its_best_until_beaten(tmp_path):
    trainer, best = Trainer(), tmp_path / "best.weights.h5"
    callback = MapEvaluator(1, lambda: {"precision": 1, "recall": 1, "voc_map50": 0.9,
                                        "coco_map": 0.4}, best=0.5, best_path=best)
    callback.set_model(trainer)
    callback.set_params({"epochs": 1})
    callback.on_epoch_end(0, {})
    assert not best.exists()  # 0.1 · 0.9 + 0.9 · 0.4 = 0.45 < 0.5
