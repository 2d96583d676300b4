"""The run's results per epoch: one row each in ``results.csv`` (epoch counted from 1, as
the console counts), drawn as panels in ``results.png``.

Columns: ``epoch``; each loss term and the total, on training (``train/<term>_loss``,
``train/loss``) and validation images (``val/...``); the validation ``precision`` and
``recall`` (at evaluate.py's score threshold), ``mAP50`` and ``mAP50-95`` (blank in
epochs without a mAP pass: ``--map_every``); the learning rate ``lr`` at the epoch's end;
``seconds`` of training and validation loss, and ``eval_seconds`` of the mAP pass. MLflow
and Azure ML receive the same names (callbacks.MetricsReporter).
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import keras

from yolo3.files import write_text_atomic

RESULTS_CSV, RESULTS_PNG = "results.csv", "results.png"
METRICS = ("precision", "recall", "mAP50", "mAP50-95")
# results column → the key Keras' logs hold it under (loss terms: see columns())
LOG_KEYS = {"precision": "val_precision", "recall": "val_recall", "mAP50": "val_map50",
            "mAP50-95": "val_map50_95", "lr": "learning_rate", "seconds": "epoch_seconds",
            "eval_seconds": "eval_seconds", "train/loss": "loss", "val/loss": "val_loss"}


def columns(terms: tuple[str, ...], validation: bool) -> list[str]:
    """The results columns of a run whose loss has ``terms``, with or without
    validation images."""
    losses = [*(f"{term}_loss" for term in terms), "loss"]
    out = ["epoch", *(f"train/{name}" for name in losses)]
    if validation:
        out += [*(f"val/{name}" for name in losses), *METRICS]
    return [*out, "lr", "seconds", *(["eval_seconds"] if validation else [])]


def log_key(column: str) -> str:
    if column in LOG_KEYS:
        return LOG_KEYS[column]
    split, name = column.split("/", 1)
    return name if split == "train" else f"val_{name}"


def row_of(logs: dict, epoch: int, names: list[str]) -> dict[str, float | None]:
    """The results row of 0-based ``epoch`` from Keras' ``logs`` (None: not measured)."""
    row: dict[str, float | None] = {"epoch": epoch + 1}
    for column in names[1:]:
        value = logs.get(log_key(column))
        row[column] = None if value is None else float(value)
    return row


def format_row(row: dict, names: list[str]) -> str:
    cells = []
    for column in names:
        value = row.get(column)
        cells.append("" if value is None else str(int(value)) if column == "epoch"
                     else f"{value:.6g}")
    return ",".join(cells) + "\n"


def read_results(path: Path) -> list[dict[str, float | None]]:
    """The rows of a results.csv (blank cells None); [] when there is none."""
    if not path.is_file():
        return []
    rows = []
    for raw in csv.DictReader(io.StringIO(path.read_text())):
        try:
            rows.append({k: (float(v) if v not in ("", None) else None)
                         for k, v in raw.items() if k is not None})
        except ValueError:
            continue  # a damaged row: left out
    return [r for r in rows if r.get("epoch") is not None]


class ResultsLog(keras.callbacks.Callback):
    """Appends each epoch's row to results.csv (rewritten whole, atomically). A resumed
    run keeps the rows of the epochs its checkpoint holds and follows on from them."""

    def __init__(self, path: Path, names: list[str], epochs_done: int = 0):
        super().__init__()
        self.path, self.names = path, names
        kept = [r for r in read_results(path) if r["epoch"] <= epochs_done] if epochs_done \
            else []
        self.text = ",".join(names) + "\n" + "".join(format_row(r, names) for r in kept)
        write_text_atomic(path, self.text)

    def on_epoch_end(self, epoch, logs=None):
        self.text += format_row(row_of(logs or {}, epoch, self.names), self.names)
        write_text_atomic(self.path, self.text)


# how an epoch's validation mAPs rank it (ultralytics' weights): mostly mAP50-95, so of two
# epochs that find as much, the one with tighter boxes is kept
FITNESS_WEIGHTS = {"mAP50": 0.1, "mAP50-95": 0.9}


def fitness(map50: float, map50_95: float) -> float:
    """One number that ranks epochs by their validation mAPs (FITNESS_WEIGHTS)."""
    return FITNESS_WEIGHTS["mAP50"] * map50 + FITNESS_WEIGHTS["mAP50-95"] * map50_95


def best_fitness(path: Path) -> float:
    """The best :func:`fitness` in a results.csv so far (-1 when no mAP was measured)."""
    return max((fitness(r["mAP50"], r["mAP50-95"] or 0.0) for r in read_results(path)
                if r.get("mAP50") is not None), default=-1.0)


def plot_results(rows: list[dict[str, float | None]], png_path: Path) -> None:
    """results.png from :func:`read_results`' rows: a panel per loss term (training and
    validation) and per metric, and the learning rate, against the epoch."""
    from matplotlib.ticker import MaxNLocator

    from yolo3.figures import pyplot, save_figure

    if not rows:
        return
    names = [c for c in rows[0] if c not in ("epoch", "seconds", "eval_seconds")]
    losses = [c.split("/", 1)[1] for c in names if c.startswith("train/")]
    panels = [*losses, *(m for m in METRICS if m in names), "lr"]
    plt = pyplot()
    across = min(5, len(panels))
    down = math.ceil(len(panels) / across)
    figure, grid = plt.subplots(down, across, figsize=(3.6 * across, 3.0 * down),
                                squeeze=False)
    epochs = [r["epoch"] for r in rows]
    for axes in grid.flat[len(panels):]:
        axes.axis("off")
    for axes, panel in zip(grid.flat, panels):
        series = ([(f"train/{panel}", "train"), (f"val/{panel}", "val")] if panel in losses
                  else [(panel, None)])
        for column, label in series:
            points = [(e, r.get(column)) for e, r in zip(epochs, rows)
                      if r.get(column) is not None]
            if points:
                axes.plot(*zip(*points), marker="." if len(points) < 40 else None,
                          label=label)
        axes.set_title(panel.replace("_loss", " loss"), fontsize=10)
        axes.set_xlabel("epoch", fontsize=8)
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.tick_params(labelsize=8)
        axes.grid(alpha=0.3)
        if axes.get_legend_handles_labels()[0]:
            axes.legend(fontsize=7)
    figure.tight_layout()
    save_figure(figure, png_path)
