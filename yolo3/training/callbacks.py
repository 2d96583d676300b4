"""Callbacks of a training run: learning rate in the logs, the divergence guard, resume
state, and metrics to MLflow / Azure ML v1."""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path

import keras
import numpy as np

from yolo3.files import atomic_output, write_text_atomic
from yolo3.training.results import fitness, row_of


def save_weights_atomic(model: keras.Model, path: Path) -> None:
    with atomic_output(path) as tmp:
        tmp.unlink()  # Keras refuses to write over the placeholder
        model.save_weights(tmp)


def current_lr(model: keras.Model) -> float:
    return float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))


class LearningRateLogger(keras.callbacks.Callback):
    """Puts the epoch's learning rate and its seconds (training and validation loss) into
    the logs, so the CSV log has them for every epoch."""

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = current_lr(self.model)
            logs["epoch_seconds"] = time.perf_counter() - self.started


class NonFiniteGuard(keras.callbacks.Callback):
    """Stops training at the first batch whose loss is NaN or infinite, and remembers it:
    a diverged run must fail, not save a model of NaNs as if it were good."""

    def __init__(self):
        super().__init__()
        self.epoch = 0
        self.tripped: int | None = None  # the epoch (1-based) where the loss went non-finite

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not np.isfinite(float(loss)):
            self.tripped = self.epoch + 1
            self.model.stop_training = True


OPTIMIZER_STATE = "optimizer.npz"  # the optimizer's variables, in its own order
LAST = "last.weights.h5"  # the network's weights alone: the optimizer's are OPTIMIZER_STATE


class StateSaver(keras.callbacks.Callback):
    """After each epoch, for resume: the network's last weights, the optimizer's state
    (step count, moments, averaged weights) and {epoch, learning_rate, best score}. Each
    tensor is stored once (the network's weights are not repeated inside the optimizer's
    file, nor the optimizer inside the weights file).

    Placed where the raw (not averaged) weights are in the model, it writes the tensors
    beside their final names; :meth:`committer` — a callback placed after the epoch's
    results row is written — moves them into place and writes state.json last, so a run
    stopped at any point resumes from one consistent epoch."""

    def __init__(self, folder: Path, monitor: str, best: float | None,
                 identity: dict | None = None):
        super().__init__()
        self.folder = folder
        self.monitor = monitor
        self.best = best
        self.identity = identity or {}  # what the run trains (outputs.run_identity)
        self.pending: dict | None = None

    def _pending(self, name: str) -> Path:
        return self.folder / f".pending.{name}"

    def on_epoch_end(self, epoch, logs=None):
        self.pending = None
        if not all(np.isfinite(float(v)) for v in (logs or {}).values()):
            return  # a diverged epoch is no state to resume from
        value = (logs or {}).get(self.monitor)
        if value is not None and (self.best is None or value < self.best):
            self.best = float(value)
        save_weights_atomic(self.model.body, self._pending(LAST))
        with atomic_output(self._pending(OPTIMIZER_STATE)) as tmp, open(tmp, "wb") as f:
            np.savez(f, *[keras.ops.convert_to_numpy(v) for v in self.model.optimizer.variables])
        self.pending = {"epoch": epoch + 1, "learning_rate": current_lr(self.model),
                        "best": self.best, "monitor": self.monitor, "run": self.identity}

    def commit(self) -> None:
        if self.pending is None:
            return
        for name in (LAST, OPTIMIZER_STATE):
            os.replace(self._pending(name), self.folder / name)
        write_text_atomic(self.folder / "state.json", json.dumps(self.pending) + "\n")
        self.pending = None

    def committer(self) -> keras.callbacks.Callback:
        saver = self

        class Commit(keras.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                saver.commit()

        return Commit()


class BestByLoss(keras.callbacks.Callback):
    """Saves the network's weights to ``path`` whenever ``monitor`` reaches a new low
    (below ``threshold``, a resumed run's best so far)."""

    def __init__(self, path: Path, monitor: str, threshold: float | None):
        super().__init__()
        self.path, self.monitor = path, monitor
        self.best = math.inf if threshold is None else threshold

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is not None and np.isfinite(value) and value < self.best:
            self.best = float(value)
            save_weights_atomic(self.model.body, self.path)


class MetricsReporter(keras.callbacks.Callback):
    """Epoch metrics to MLflow when a tracking URI is set (Azure ML v2 sets one) and to
    the Azure ML v1 run when one is active, under results.csv's column names."""

    def __init__(self, names: list[str], log=print):
        super().__init__()
        self.names = names
        self.mlflow = self.run = None
        if os.environ.get("MLFLOW_TRACKING_URI"):
            try:
                import mlflow

                self.mlflow = mlflow
            except ImportError:
                log("note: MLFLOW_TRACKING_URI is set but mlflow is not installed")
        try:
            from azureml.core import Run

            run = Run.get_context()
            self.run = None if run.id.startswith("OfflineRun") else run
        except ImportError:
            pass

    def on_epoch_end(self, epoch, logs=None):
        for name, value in row_of(logs or {}, epoch, self.names).items():
            if value is None or name == "epoch":
                continue
            if self.mlflow is not None:
                self.mlflow.log_metric(name, float(value), step=epoch + 1)  # as results.csv counts
            if self.run is not None:
                self.run.log(name, float(value))

    def final(self, metrics: dict) -> None:
        for key in ("voc_map50", "coco_map", "ap50"):
            if self.mlflow is not None:
                self.mlflow.log_metric(key, float(metrics[key]))
            if self.run is not None:
                self.run.log(key, float(metrics[key]))


class MapEvaluator(keras.callbacks.Callback):
    """Every ``every`` epochs (and after the last), evaluate.py's metrics of the weights
    the checkpoints keep (the averaged ones in the modern recipe) on the validation
    images, into the epoch's logs: ``val_precision``, ``val_recall``, ``val_map50``,
    ``val_map50_95`` and ``eval_seconds`` (so results.csv, MLflow, Azure ML and the epoch
    line have them). With ``best_path``, the network's weights of the best epoch so far by
    yolo3.training.results.fitness (above ``best``, a resumed run's) are saved there."""

    def __init__(self, every: int, evaluate_now, best: float = -1.0,
                 best_path: Path | None = None):
        super().__init__()
        self.every, self.evaluate_now = every, evaluate_now
        self.best, self.best_path = best, best_path

    def on_epoch_end(self, epoch, logs=None):
        last = epoch + 1 == self.params.get("epochs")
        if (epoch + 1) % self.every and not last:
            return
        started = time.perf_counter()
        metrics = self.evaluate_now()
        if logs is not None:
            logs.update(val_precision=metrics["precision"], val_recall=metrics["recall"],
                        val_map50=metrics["voc_map50"], val_map50_95=metrics["coco_map"],
                        eval_seconds=time.perf_counter() - started)
        score = fitness(metrics["voc_map50"], metrics["coco_map"])
        if self.best_path is not None and score > self.best:
            self.best = score
            save_weights_atomic(self.model.body, self.best_path)
