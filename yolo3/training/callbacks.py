"""Callbacks of a training run: learning rate in the logs, the divergence guard, resume
state, and metrics to MLflow / Azure ML v1."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import keras
import numpy as np

from yolo3.files import atomic_output, write_text_atomic


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


class StateSaver(keras.callbacks.Callback):
    """After each epoch: last weights, the optimizer's state (step count, moments) and
    {epoch, learning_rate, best score}, for resume."""

    def __init__(self, folder: Path, monitor: str, best: float | None):
        super().__init__()
        self.folder = folder
        self.monitor = monitor
        self.best = best

    def on_epoch_end(self, epoch, logs=None):
        if not all(np.isfinite(float(v)) for v in (logs or {}).values()):
            return  # a diverged epoch is no state to resume from
        value = (logs or {}).get(self.monitor)
        if value is not None and (self.best is None or value < self.best):
            self.best = float(value)
        save_weights_atomic(self.model, self.folder / "last.weights.h5")
        with atomic_output(self.folder / OPTIMIZER_STATE) as tmp, open(tmp, "wb") as f:
            np.savez(f, *[keras.ops.convert_to_numpy(v) for v in self.model.optimizer.variables])
        lr = current_lr(self.model)
        write_text_atomic(self.folder / "state.json", json.dumps(
            {"epoch": epoch + 1, "learning_rate": lr, "best": self.best,
             "monitor": self.monitor}) + "\n")


class MetricsReporter(keras.callbacks.Callback):
    """Epoch metrics to MLflow when a tracking URI is set (Azure ML v2 sets one) and to
    the Azure ML v1 run when one is active; the CSV log is written by CSVLogger."""

    def __init__(self, log=print):
        super().__init__()
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
        for name, value in (logs or {}).items():
            if self.mlflow is not None:
                self.mlflow.log_metric(name, float(value), step=epoch)
            if self.run is not None:
                self.run.log(name, float(value))

    def final(self, metrics: dict) -> None:
        for key in ("voc_map50", "coco_map", "ap50"):
            if self.mlflow is not None:
                self.mlflow.log_metric(key, float(metrics[key]))
            if self.run is not None:
                self.run.log(key, float(metrics[key]))


class MapEvaluator(keras.callbacks.Callback):
    """Every ``every`` epochs (and after the last), the validation mAP as evaluate.py
    computes it, of the weights the checkpoints keep (the averaged ones in the modern
    recipe): into the logs as ``val_map50`` / ``val_coco_map`` (MLflow, Azure ML), the
    run's log, and ``map_log.csv`` (epoch, voc_map50, coco_map, seconds). With
    ``best_path``, the weights of the best mAP so far are saved there (a resumed run
    reads the best so far from ``map_log.csv``)."""

    def __init__(self, every: int, evaluate_now, path: Path, log=print, append=False,
                 best_path: Path | None = None):
        super().__init__()
        self.every, self.evaluate_now, self.path, self.log = every, evaluate_now, path, log
        self.best_path = best_path
        self.text = "epoch,voc_map50,coco_map,seconds\n"
        if append and path.is_file():
            self.text = path.read_text()
        rows = self.text.splitlines()[1:]
        self.best = max((float(row.split(",")[1]) for row in rows), default=-1.0)

    def on_epoch_end(self, epoch, logs=None):
        last = epoch + 1 == self.params.get("epochs")
        if (epoch + 1) % self.every and not last:
            return
        started = time.perf_counter()
        metrics = self.evaluate_now()
        seconds = time.perf_counter() - started
        if logs is not None:
            logs["val_map50"], logs["val_coco_map"] = metrics["voc_map50"], metrics["coco_map"]
        self.text += f"{epoch + 1},{metrics['voc_map50']:.6f},{metrics['coco_map']:.6f}," \
                     f"{seconds:.2f}\n"
        write_text_atomic(self.path, self.text)
        if self.best_path is not None and metrics["voc_map50"] > self.best:
            self.best = metrics["voc_map50"]
            save_weights_atomic(self.model, self.best_path)
        self.log(f"Epoch {epoch + 1}: validation mAP@0.5 {metrics['voc_map50']:.4f}, COCO AP "
                 f"{metrics['coco_map']:.4f} ({seconds:.1f} s)")
